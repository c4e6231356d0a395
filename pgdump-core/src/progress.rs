//! Typed progress events. Core never prints; callers render these.

use std::sync::Arc;

/// Something that happened during a dump or restore.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Event {
    /// A phase began (`"catalog"`, `"data"`, `"pre-data"`, `"post-data"`, ...).
    Phase {
        /// Name of the phase.
        name: &'static str,
    },
    /// The plan is known: how much work there is.
    Planned {
        /// Number of TOC items.
        items: usize,
        /// Number of data streams.
        streams: usize,
        /// Estimated bytes of data (catalog estimates on dump, archive sizes on restore).
        est_bytes: u64,
    },
    /// A stream of table data started.
    StreamStarted {
        /// The object (`schema.table`), with the part for split tables.
        object: String,
    },
    /// Data moved: `bytes` raw (uncompressed) bytes and `rows` rows since the last event.
    Data {
        /// Raw bytes.
        bytes: u64,
        /// Rows.
        rows: u64,
    },
    /// A stream finished.
    StreamFinished {
        /// The object.
        object: String,
        /// Rows in the stream.
        rows: u64,
        /// Raw bytes in the stream.
        bytes: u64,
    },
    /// A TOC item was restored (or failed, see `error`).
    ItemDone {
        /// Kind and name of the item.
        object: String,
        /// The error, if it failed.
        error: Option<String>,
    },
    /// A warning worth showing.
    Warning {
        /// The message.
        message: String,
    },
}

/// Receives progress events; must be cheap and thread-safe.
pub trait Observer: Send + Sync {
    /// Called for every event, from any thread.
    fn event(&self, event: &Event);
}

/// An observer that ignores everything.
#[derive(Debug, Default, Clone, Copy)]
pub struct Quiet;

impl Observer for Quiet {
    fn event(&self, _: &Event) {}
}

/// Shared observer handle.
pub type SharedObserver = Arc<dyn Observer>;

/// An observer that ignores events.
pub fn quiet() -> SharedObserver {
    Arc::new(Quiet)
}
