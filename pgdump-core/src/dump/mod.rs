//! The dump path: connect → session → snapshot → lock → catalog → graph →
//! TOC → COPY streams → archive → seal.

mod catalog;
pub mod lock;

pub use catalog::{read_catalog, read_in_snapshot, schema_sql, CatalogDump};
