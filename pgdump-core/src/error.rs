//! Errors of pgdump-core.
//!
//! Every variant carries the context a user needs to act: which object, which
//! table, which archive frame. Server errors keep their SQLSTATE reachable via
//! [`CoreError::sqlstate`].

use std::fmt;

/// Result alias for pgdump-core.
pub type Result<T, E = CoreError> = std::result::Result<T, E>;

/// Errors of pgdump-core.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CoreError {
    /// The connection settings are invalid (bad URI, unknown sslmode, unreadable certificate ...).
    #[error("invalid connection settings: {0}")]
    Config(String),

    /// Could not connect to the server.
    #[error("could not connect to {target}: {}", DbMessage(.source))]
    Connect {
        /// Where we tried to connect (host:port/db, never the password).
        target: String,
        /// What went wrong.
        #[source]
        source: tokio_postgres::Error,
    },

    /// A query failed; `context` says what we were doing.
    #[error("{context}: {}", DbMessage(.source))]
    Query {
        /// What we were doing (e.g. "reading tables", "COPY cov_core.orders").
        context: String,
        /// The server or protocol error.
        #[source]
        source: tokio_postgres::Error,
    },

    /// The server is of a version we do not support.
    #[error("unsupported server version {version}: {detail}")]
    UnsupportedServer {
        /// `server_version` as reported.
        version: String,
        /// Why.
        detail: String,
    },

    /// The database holds objects pgdump cannot reproduce yet.
    #[error("the database holds objects pgdump cannot dump yet (use --skip-unsupported to dump without them):\n{}", .objects.join("\n"))]
    Unsupported {
        /// One line per object: kind and identity.
        objects: Vec<String>,
    },

    /// The catalog could not be turned into a consistent dump (e.g. an unbreakable dependency loop).
    #[error("catalog: {0}")]
    Catalog(String),

    /// Options that cannot work together, or a selection that matches nothing.
    #[error("{0}")]
    Usage(String),

    /// The archive is unreadable, corrupt or of an unsupported version.
    #[error("archive: {0}")]
    Format(#[from] pgdump_format::FormatError),

    /// Archive data does not match what the TOC declares (e.g. a COPY frame that does not end on a row).
    #[error("archive data for {object}: {detail}")]
    Data {
        /// The object whose data is bad.
        object: String,
        /// What is wrong.
        detail: String,
    },

    /// An object failed to restore.
    #[error("restoring {object}: {}", DbMessage(.source))]
    Restore {
        /// The object (kind and name).
        object: String,
        /// The server error.
        #[source]
        source: tokio_postgres::Error,
    },

    /// A restore finished with errors (default mode: continue and report).
    #[error("{} item(s) failed to restore", .failures.len())]
    RestoreFailed {
        /// Every failed item with the server's message.
        failures: Vec<String>,
    },

    /// I/O on the archive file or its output.
    #[error("{context}: {source}")]
    Io {
        /// What we were doing.
        context: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },

    /// The operation was cancelled.
    #[error("cancelled")]
    Cancelled,

    /// A restore stopped before its end (an error, a damaged archive, a cancel);
    /// `state` says what the target database holds now.
    #[error("{cause}; {state}")]
    Stopped {
        /// Why it stopped.
        cause: Box<CoreError>,
        /// The state the target was left in.
        state: crate::restore::TargetState,
    },

    /// `--clean` would drop objects that objects outside the archive depend on (or
    /// that cannot be dropped): nothing was dropped.
    #[error("--clean cannot drop what the archive holds without breaking the database:\n{}", .objects.join("\n"))]
    CleanBlocked {
        /// One line per object that could not be dropped, with what depends on it.
        objects: Vec<String>,
    },

    /// A restored database does not match the archive's facts (row counts, content hashes).
    #[error("the restored database does not match the archive:\n{}", .problems.join("\n"))]
    Mismatch {
        /// One line per object that differs.
        problems: Vec<String>,
    },

    /// An internal task failed (a bug, or a panic in a worker).
    #[error("internal error: {0}")]
    Internal(String),
}

impl CoreError {
    /// Wrap a query error with what we were doing.
    pub fn query(context: impl Into<String>, source: tokio_postgres::Error) -> Self {
        CoreError::Query {
            context: context.into(),
            source,
        }
    }

    /// Wrap an I/O error with what we were doing.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        CoreError::Io {
            context: context.into(),
            source,
        }
    }

    /// Was the operation cancelled (by the caller's token or a signal)?
    pub fn is_cancelled(&self) -> bool {
        match self {
            CoreError::Cancelled => true,
            CoreError::Stopped { cause, .. } => cause.is_cancelled(),
            _ => false,
        }
    }

    /// Did the connection to the server end (network, server shutdown or crash)?
    pub fn is_connection_lost(&self) -> bool {
        match self {
            CoreError::Query { source, .. } | CoreError::Restore { source, .. } => {
                connection_lost(source)
            }
            CoreError::Stopped { cause, .. } => cause.is_connection_lost(),
            _ => false,
        }
    }

    /// The SQLSTATE of the server error behind this error, if there is one.
    pub fn sqlstate(&self) -> Option<&str> {
        match self {
            CoreError::Stopped { cause, .. } => cause.sqlstate(),
            CoreError::Query { source, .. }
            | CoreError::Restore { source, .. }
            | CoreError::Connect { source, .. } => source.code().map(|c| c.code()),
            _ => None,
        }
    }
}

/// Did this error end the connection: closed by the network or the server, or the
/// server shutting down or crashing (SQLSTATE class 08, 57P01-57P03)?
pub fn connection_lost(e: &tokio_postgres::Error) -> bool {
    if e.is_closed() {
        return true;
    }
    match e.code() {
        Some(c) => {
            let c = c.code();
            c.starts_with("08") || matches!(c, "57P01" | "57P02" | "57P03")
        }
        // An I/O error under the protocol: the connection is gone.
        None => std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>()),
    }
}

/// Displays a tokio-postgres error with the server's message, detail and hint
/// (tokio-postgres's own Display only says "db error").
pub struct DbMessage<'a>(pub &'a tokio_postgres::Error);

impl fmt::Display for DbMessage<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.as_db_error() {
            Some(db) => {
                write!(f, "{}: {}", db.severity(), db.message())?;
                if let Some(d) = db.detail() {
                    write!(f, " (DETAIL: {d})")?;
                }
                if let Some(h) = db.hint() {
                    write!(f, " (HINT: {h})")?;
                }
                if let Some(w) = db.where_() {
                    write!(f, " (CONTEXT: {w})")?;
                }
                Ok(())
            }
            None => {
                write!(f, "{}", self.0)?;
                let mut src = std::error::Error::source(self.0);
                while let Some(s) = src {
                    write!(f, ": {s}")?;
                    src = s.source();
                }
                Ok(())
            }
        }
    }
}

/// Extension to add context to tokio-postgres results.
pub trait QueryContext<T> {
    /// Attach what we were doing to a query error.
    fn context(self, what: impl FnOnce() -> String) -> Result<T>;
}

impl<T> QueryContext<T> for std::result::Result<T, tokio_postgres::Error> {
    fn context(self, what: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|e| CoreError::query(what(), e))
    }
}
