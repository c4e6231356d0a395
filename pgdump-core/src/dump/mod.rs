//! The dump path: connect → session → snapshot → lock → catalog → graph →
//! TOC → COPY streams → archive → seal.

mod budget;
mod catalog;
mod copy_sink;
pub mod lock;
pub mod output;
pub mod plan;
mod run;
pub mod toc;

pub use catalog::{
    finish_in_snapshot, read_catalog, read_in_snapshot, schema_sql, start_in_snapshot, CatalogDump,
    CatalogStart,
};
pub use output::Output;
pub use run::{dump, DumpSummary};
