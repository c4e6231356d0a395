//! [`FormatError`]: everything that can go wrong reading or writing an archive.
//!
//! Every variant that describes a damaged archive names *what* was damaged
//! (header, TOC, index, footer, or "frame 3 of stream 7") and *where* (byte
//! offset of the record in the archive), so a message can be acted upon.

use std::fmt;

use crate::toc::StreamId;

/// A format version, `major.minor`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FormatVersion {
    /// Incompatible changes bump the major version.
    pub major: u16,
    /// Compatible additions bump the minor version.
    pub minor: u16,
}

impl fmt::Display for FormatVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// Errors of this crate.
#[non_exhaustive]
#[derive(thiserror::Error, Debug)]
pub enum FormatError {
    /// Reading or writing the underlying file, pipe or buffer failed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),

    /// The input does not start with the pgdump archive magic.
    #[error("not a pgdump archive: {detail}")]
    NotAnArchive {
        /// What the input looks like instead.
        detail: String,
    },

    /// The archive was written by a newer (or unknown) version of the format.
    #[error(
        "archive format {found} written by {writer:?} cannot be read by this reader \
         (format {supported}){}",
        unknown_features_note(*unknown_features)
    )]
    UnsupportedVersion {
        /// Version in the archive header.
        found: FormatVersion,
        /// Newest version this reader implements.
        supported: FormatVersion,
        /// Tool string of the writer, from the archive header.
        writer: String,
        /// Required-feature bits this reader does not know (0 when the major version is the problem).
        unknown_features: u64,
    },

    /// The archive ends in the middle of a record.
    #[error("archive truncated: {what} at byte {offset} is incomplete")]
    Truncated {
        /// The record that is cut short.
        what: String,
        /// Byte offset of that record.
        offset: u64,
    },

    /// The archive is a valid prefix without index and footer: its writer never finished
    /// (crashed, killed, or dropped without `finish()`).
    #[error("archive is not sealed: it ends without index and footer (the dump did not finish)")]
    Unsealed,

    /// A checksum did not match: the bytes were damaged.
    #[error("{what} (at byte {offset}): checksum mismatch")]
    Checksum {
        /// What was checked, e.g. "stored payload of frame 3 of stream 7".
        what: String,
        /// Byte offset of the record.
        offset: u64,
        /// The stream, for frame checksums.
        stream: Option<StreamId>,
        /// The frame sequence number, for frame checksums.
        seq: Option<u32>,
    },

    /// A record has valid checksums but inconsistent content, or bytes decode to nonsense.
    #[error("{what} (at byte {offset}): {detail}")]
    Corrupt {
        /// The record.
        what: String,
        /// Byte offset of the record.
        offset: u64,
        /// What is wrong.
        detail: String,
    },

    /// The table of contents is invalid (JSON or cross references).
    #[error("invalid TOC: {0}")]
    Toc(String),

    /// A size exceeds a hard limit of the format.
    #[error("{what} is {value} bytes, over the limit of {limit}")]
    Limit {
        /// What is too large.
        what: String,
        /// Its size.
        value: u64,
        /// The limit.
        limit: u64,
    },

    /// The API was used against its contract (wrong sequence number, unknown stream, ...).
    #[error("invalid use: {0}")]
    Usage(String),
}

fn unknown_features_note(bits: u64) -> String {
    if bits == 0 {
        String::new()
    } else {
        format!("; it requires features unknown to this reader (bits {bits:#x})")
    }
}

/// "frame 3 of stream 7", the way frames are named in messages.
pub(crate) fn frame_name(stream: StreamId, seq: u32) -> String {
    format!("frame {seq} of stream {stream}")
}

impl FormatError {
    pub(crate) fn corrupt(what: impl Into<String>, offset: u64, detail: impl Into<String>) -> Self {
        FormatError::Corrupt {
            what: what.into(),
            offset,
            detail: detail.into(),
        }
    }

    pub(crate) fn truncated(what: impl Into<String>, offset: u64) -> Self {
        FormatError::Truncated {
            what: what.into(),
            offset,
        }
    }

    pub(crate) fn checksum(what: impl Into<String>, offset: u64) -> Self {
        FormatError::Checksum {
            what: what.into(),
            offset,
            stream: None,
            seq: None,
        }
    }

    pub(crate) fn frame_checksum(part: &str, stream: StreamId, seq: u32, offset: u64) -> Self {
        FormatError::Checksum {
            what: format!("{part} of {}", frame_name(stream, seq)),
            offset,
            stream: Some(stream),
            seq: Some(seq),
        }
    }

    /// An arithmetic overflow on offsets or lengths: only a damaged or hostile archive gets here.
    pub(crate) fn overflow(what: impl Into<String>, offset: u64) -> Self {
        FormatError::corrupt(what, offset, "offset or length overflows")
    }

    /// True for errors that mean the bytes of the archive are damaged or incomplete
    /// (as opposed to I/O failures, version mismatches or API misuse).
    pub fn is_damage(&self) -> bool {
        matches!(
            self,
            FormatError::Truncated { .. }
                | FormatError::Unsealed
                | FormatError::Checksum { .. }
                | FormatError::Corrupt { .. }
                | FormatError::Toc(_)
                | FormatError::Limit { .. }
        )
    }
}
