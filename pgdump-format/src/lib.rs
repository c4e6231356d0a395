//! The pgdump archive format. See `FORMAT.md` for the byte layout.
#![deny(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

pub mod toc;

pub use toc::{
    ArchiveInfo, CopyFormat, DataKind, EntryId, Section, SectionField, StreamDecl, StreamId,
    TableData, Toc, TocEntry,
};
