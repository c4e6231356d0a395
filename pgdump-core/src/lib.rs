//! pgdump-core: dump and restore PostgreSQL databases without pg_dump.
//!
//! Dump:  connect → session settings → snapshot (exported once, imported by every
//! worker) → lock tables → read catalogs ([`catalog`]) → object graph and order
//! ([`graph`]) → TOC → COPY each table, big ones split into ranges → frames →
//! archive ([`pgdump_format`]) → seal.
//!
//! Restore: open the archive → verify → plan → pre-data → data frames on N
//! connections → post-data → report.
//!
//! Check ([`check`]): a live database's tables and large objects read again and
//! compared with the rows and content hashes the archive recorded.

pub mod catalog;
pub mod check;
pub mod compare;
pub mod conn;
pub mod copy_data;
pub mod copy_text;
pub mod dump;
pub mod error;
pub mod filter;
pub mod graph;
mod keywords;
pub mod options;
pub mod progress;
pub mod quote;
pub mod restore;
pub mod session;
pub mod snapshot;

pub use conn::ConnConfig;
pub use dump::{dump, DumpSummary, Output};
pub use error::{CoreError, Result};
pub use options::DumpOptions;
pub use restore::{restore, Input, RestoreOptions, RestoreSummary, Target, TargetState};
pub use tokio_util::sync::CancellationToken;

/// Name of this program, used as `application_name` and in archive headers.
pub const TOOL_NAME: &str = "pgdump";
