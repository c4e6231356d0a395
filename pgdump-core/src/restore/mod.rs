//! The restore path: open the archive (file: footer and index, verified first;
//! pipe: frames as they come) → select → plan → prepare the target (a new database,
//! or the drops of `--clean` in a transaction) → pre-data, data and post-data on N
//! connections → privileges → event triggers and refreshes → (with `--replace`)
//! check and swap → report.
//!
//! One module per step: [`source`] and `pipe` (the archive), `target` (databases:
//! create, drop, swap), `clean` (drops in a transaction), `safety` (the safety
//! backup), `engine` (connections and transactions of one run), `workers` (the
//! task loop), `undo` (dropping what a stopped run created), `run` (the whole, by
//! target).

mod clean;
pub mod copy_in;
mod engine;
pub mod options;
mod outcome;
mod pipe;
pub mod plan;
mod run;
mod safety;
pub mod sched;
pub mod script;
pub mod select;
pub mod source;
mod target;
mod undo;
mod workers;

pub use options::{ReplaceOptions, RestoreOptions, Target};
pub use outcome::{Failure, RestoreSummary, TargetState, LARGE_OBJECTS};
pub use run::{database_exists, restore};
pub use source::Input;
