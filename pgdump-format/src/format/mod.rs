//! The on-disk layout: constants and one module per record kind.
//!
//! Everything here is sans-I/O: encoders produce bytes, decoders take byte
//! slices and answer with a value, [`Decoded::Incomplete`] ("give me this many
//! bytes") or an error. The readers in [`crate::read`] and [`crate::stream`]
//! wrap these decoders; so can an async reader. See `FORMAT.md` for the spec.

pub(crate) mod bytes;
pub mod footer;
pub mod frame;
pub mod header;
pub mod index;
pub mod toc_record;

use crate::error::FormatVersion;

/// First 8 bytes of every archive.
pub const MAGIC: [u8; 8] = *b"\x89PGDUMP\n";
/// Last 8 bytes of every sealed archive.
pub const END_MAGIC: [u8; 8] = *b"\x89PGDEND\n";

/// Tag of the TOC record.
pub const TAG_TOC: [u8; 4] = *b"PTOC";
/// Tag of a data frame record.
pub const TAG_FRAME: [u8; 4] = *b"PFRM";
/// Tag of the index record.
pub const TAG_INDEX: [u8; 4] = *b"PIDX";

/// The newest format version this crate writes and reads. The writer writes the smallest
/// version that describes its archive: 1.0 unless a 1.1 feature is declared
/// ([`FORMAT_VERSION_1_0`], [`FEATURE_COLUMNAR_COPY`]).
pub const FORMAT_VERSION: FormatVersion = FormatVersion { major: 1, minor: 1 };

/// Version 1.0: no feature bits. What the writer writes unless asked for a 1.1 feature.
pub const FORMAT_VERSION_1_0: FormatVersion = FormatVersion { major: 1, minor: 0 };

/// Required-feature bit 0 (format 1.1): the archive may hold frames with the columnar
/// binary COPY transform ([`crate::Transform::ColumnarCopy`], [`crate::columnar`]).
pub const FEATURE_COLUMNAR_COPY: u64 = 1 << 0;

/// Required-feature bits this reader implements; any other set bit makes an archive
/// unreadable for this reader.
pub const KNOWN_REQUIRED_FEATURES: u64 = FEATURE_COLUMNAR_COPY;

/// Hard limit of the format on the raw (uncompressed) size of one frame. Frames
/// are normally a few MiB; only a single row larger than the frame size (PostgreSQL
/// values reach 1 GiB) makes a bigger one.
pub const MAX_FRAME_RAW: usize = 1 << 30;

/// Up to this raw size a frame is decompressed into a buffer allocated up front;
/// larger ones grow their buffer with the bytes really produced, so a lying header
/// cannot make a reader allocate more than the data it holds.
pub const EAGER_ALLOC_RAW: usize = 64 << 20;
/// Default target raw size of a frame.
pub const DEFAULT_FRAME_SIZE: usize = 4 << 20;
/// Hard limit on the raw (JSON) and stored size of the TOC.
pub const MAX_TOC_LEN: u64 = 1 << 30;
/// Hard limit on the header length.
pub const MAX_HEADER_LEN: usize = 64 << 10;
/// Hard limit on the writer tool string in the header.
pub const MAX_TOOL_LEN: usize = 1024;

/// Result of a sans-I/O decoder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decoded<T> {
    /// The value, decoded from a prefix of the input whose length the value knows.
    Complete(T),
    /// More input is needed: at least this many bytes in total, counted from the start of the input.
    Incomplete(usize),
}

/// Kinds of record that may follow the TOC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordKind {
    /// A data frame.
    Frame,
    /// The index (followed by the footer).
    Index,
}

/// Which record starts with these 4 bytes, if any.
pub fn record_kind(tag: [u8; 4]) -> Option<RecordKind> {
    match tag {
        TAG_FRAME => Some(RecordKind::Frame),
        TAG_INDEX => Some(RecordKind::Index),
        _ => None,
    }
}

/// Printable form of a 4-byte tag for messages.
pub(crate) fn show_tag(tag: &[u8]) -> String {
    tag.iter()
        .map(|&b| {
            if b.is_ascii_graphic() {
                char::from(b).to_string()
            } else {
                format!("\\x{b:02x}")
            }
        })
        .collect()
}
