//! The pgdump archive format: chunked, checksummed, compressed, single file, designed for
//! parallel restore. `FORMAT.md` in this crate is the specification.
//!
//! ```text
//! header | TOC (JSON, zstd) | frame | frame | ... | index | footer (32 bytes)
//! ```
//!
//! * [`ArchiveWriter`] writes in one pass without seeks (files, pipes, uploads);
//!   frames are encoded on any thread with [`EncodedFrame::encode`].
//! * [`ArchiveReader`] reads at random through footer → index → TOC; `&self`, `Sync`.
//! * [`StreamReader`] reads a pipe front to back and checks the index at the end.
//! * Frames of binary COPY streams can be stored column by column
//!   ([`EncodedFrame::encode_columnar`], [`columnar`], format 1.1): they compress better.
//!
//! ```
//! use pgdump_format::*;
//!
//! let mut toc = Toc::default();
//! toc.entries.push(TocEntry {
//!     id: 1,
//!     kind: "TABLE DATA".into(),
//!     name: "t".into(),
//!     data: Some(TableData { streams: vec![0], ..Default::default() }),
//!     ..Default::default()
//! });
//! toc.streams.push(StreamDecl { id: 0, entry: 1, ..Default::default() });
//!
//! // Write: header and TOC now, frames as they come (encoded on any thread), then seal.
//! let mut w = ArchiveWriter::new(Vec::new(), &toc, WriterOptions::default())?;
//! let rows = b"1\tone\n2\ttwo\n";
//! let frame = EncodedFrame::encode(0, 0, rows, Codec::default(), FrameMeta { rows: 2, content_hash: 0 })?;
//! w.write_frame(&frame)?;
//! let (summary, bytes) = w.finish()?;
//! assert_eq!(summary.rows, 2);
//!
//! // Read at random...
//! let r = ArchiveReader::open(bytes.as_slice())?;
//! let frame = r.read_frame(&r.frames(0)[0])?;
//! assert_eq!(frame.data, rows);
//! r.verify_all()?;
//!
//! // ...or front to back, from a pipe.
//! let mut s = StreamReader::new(bytes.as_slice())?;
//! while let Some(raw) = s.next_frame()? {
//!     assert_eq!(raw.decode()?.data, rows);
//! }
//! # Ok::<(), FormatError>(())
//! ```
//!
//! Every length is checked by a header CRC-32C before use, every payload by its own CRC-32C
//! before any byte is handed out, and decompressed data by a second CRC-32C. Damage is
//! reported as a typed [`FormatError`] naming the record and byte offset; this crate does
//! not panic on any input (`clippy::panic`, `unwrap_used`, `expect_used` and
//! `indexing_slicing` are denied outside tests; lengths use checked arithmetic).
#![cfg_attr(
    not(test),
    deny(
        clippy::panic,
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::indexing_slicing
    )
)]
#![deny(missing_docs)]

pub mod checksum;
pub mod codec;
pub mod columnar;
pub mod error;
pub mod format;
pub mod frame;
pub mod lo;
pub mod read;
pub mod stats;
pub mod stream;
pub mod toc;
pub mod transform;
pub mod write;

pub use codec::{Codec, CodecKind};
pub use error::{FormatError, FormatVersion};
pub use format::footer::Footer;
pub use format::header::HeaderInfo;
pub use format::index::FrameEntry;
pub use format::{
    DEFAULT_FRAME_SIZE, EAGER_ALLOC_RAW, FEATURE_COLUMNAR_COPY, FORMAT_VERSION, FORMAT_VERSION_1_0,
    MAX_FRAME_RAW, MAX_TOC_LEN,
};
pub use frame::{EncodedFrame, Frame, FrameDecoder, FrameEncoder, FrameMeta, RawFrame};
pub use read::{ArchiveReader, FrameLocation, ReadAt};
pub use stats::{StreamStats, Summary, VerifyReport};
pub use stream::StreamReader;
pub use toc::{
    ArchiveInfo, CopyFormat, DataKind, EntryId, Section, SectionField, StreamDecl, StreamId,
    TableData, Toc, TocEntry,
};
pub use transform::Transform;
pub use write::{ArchiveWriter, WriterOptions};
