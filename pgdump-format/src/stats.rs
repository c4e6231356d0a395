//! Statistics the writer records in the index and the readers check.

use crate::error::FormatError;
use crate::toc::StreamId;

/// Statistics of one stream, as stored in the index.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StreamStats {
    /// The stream.
    pub stream: StreamId,
    /// Number of frames.
    pub frames: u64,
    /// Sum of the frames' row counts.
    pub rows: u64,
    /// Sum of the frames' raw lengths.
    pub raw_bytes: u64,
    /// Sum of the frames' stored lengths (payloads only, headers excluded).
    pub stored_bytes: u64,
    /// Wrapping sum of the frames' content hashes: independent of frame order and of how
    /// rows are split into frames, as long as each frame's hash is the wrapping sum of its rows'.
    pub content_hash: u64,
}

impl StreamStats {
    /// Empty statistics for a stream.
    pub fn new(stream: StreamId) -> Self {
        StreamStats {
            stream,
            ..Default::default()
        }
    }

    /// Adds one frame. Fails only on arithmetic overflow (a hostile index).
    pub(crate) fn add(
        &mut self,
        raw_len: u32,
        stored_len: u32,
        rows: u64,
        content_hash: u64,
    ) -> Option<()> {
        self.frames = self.frames.checked_add(1)?;
        self.rows = self.rows.checked_add(rows)?;
        self.raw_bytes = self.raw_bytes.checked_add(raw_len.into())?;
        self.stored_bytes = self.stored_bytes.checked_add(stored_len.into())?;
        self.content_hash = self.content_hash.wrapping_add(content_hash);
        Some(())
    }
}

/// What a finished archive holds; returned by [`crate::ArchiveWriter::finish`] and
/// [`crate::StreamReader::summary`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Number of TOC entries.
    pub entries: usize,
    /// Per-stream statistics, in stream id order (every declared stream, even empty ones).
    pub streams: Vec<StreamStats>,
    /// Total frames.
    pub frames: u64,
    /// Total rows.
    pub rows: u64,
    /// Total raw payload bytes.
    pub raw_bytes: u64,
    /// Total stored payload bytes.
    pub stored_bytes: u64,
    /// Size of the archive file in bytes.
    pub archive_bytes: u64,
}

impl Summary {
    pub(crate) fn new(
        entries: usize,
        streams: Vec<StreamStats>,
        archive_bytes: u64,
    ) -> Result<Self, FormatError> {
        let mut s = Summary {
            entries,
            archive_bytes,
            ..Default::default()
        };
        for st in &streams {
            s.frames = s
                .frames
                .checked_add(st.frames)
                .ok_or_else(|| overflow("frames"))?;
            s.rows = s
                .rows
                .checked_add(st.rows)
                .ok_or_else(|| overflow("rows"))?;
            s.raw_bytes = s
                .raw_bytes
                .checked_add(st.raw_bytes)
                .ok_or_else(|| overflow("raw bytes"))?;
            s.stored_bytes = s
                .stored_bytes
                .checked_add(st.stored_bytes)
                .ok_or_else(|| overflow("stored bytes"))?;
        }
        s.streams = streams;
        Ok(s)
    }
}

fn overflow(what: &str) -> FormatError {
    FormatError::corrupt("index", 0, format!("total {what} overflows"))
}

/// Result of [`crate::ArchiveReader::verify_all`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VerifyReport {
    /// TOC entries.
    pub entries: usize,
    /// Streams.
    pub streams: usize,
    /// Frames read and verified.
    pub frames: u64,
    /// Rows, summed over frames.
    pub rows: u64,
    /// Raw bytes, decompressed and checked.
    pub raw_bytes: u64,
    /// Stored bytes, checked.
    pub stored_bytes: u64,
}
