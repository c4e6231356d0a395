//! The restore path: open the archive (file: footer and index, verified first;
//! pipe: frames as they come) → select → plan → pre-data, data and post-data on
//! N connections → privileges → event triggers and refreshes → report.

pub mod copy_in;
pub mod options;
pub mod plan;
mod run;
pub mod sched;
pub mod script;
pub mod select;

pub use options::RestoreOptions;
pub use run::{restore, Failure, Input, RestoreSummary, LARGE_OBJECTS};
