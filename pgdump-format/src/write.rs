//! [`ArchiveWriter`]: writes an archive in one pass, with no seeks.
//!
//! Header and TOC are written by [`ArchiveWriter::new`], frames as they are appended,
//! index and footer by [`ArchiveWriter::finish`]. Only the index (40 bytes per frame)
//! accumulates in memory. Nothing is done on drop: an unfinished writer leaves an
//! archive without index and footer, which every reader rejects as
//! [`FormatError::Unsealed`].

use std::io::Write;

use crate::checksum::crc32c;
use crate::codec::{Codec, CodecKind, Compressors};
use crate::error::{frame_name, FormatError};
use crate::format::footer::Footer;
use crate::format::header::HeaderInfo;
use crate::format::index::{FrameEntry, Index};
use crate::format::toc_record::TocHeader;
use crate::format::{DEFAULT_FRAME_SIZE, MAX_FRAME_RAW, MAX_TOC_LEN};
use crate::frame::{EncodedFrame, FrameEncoder, FrameMeta};
use crate::stats::{StreamStats, Summary};
use crate::toc::{StreamId, Toc};

/// Codec the TOC is stored with (when it shrinks the JSON).
const TOC_CODEC: Codec = Codec::Zstd { level: 3 };

/// Options of an [`ArchiveWriter`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WriterOptions {
    /// Codec for frames appended with [`ArchiveWriter::write_raw`] (frames encoded by the
    /// caller carry their own).
    pub codec: Codec,
    /// Target raw size of a frame for producers (default 4 MiB). Frames may be larger, up
    /// to the format's hard limit [`MAX_FRAME_RAW`], e.g. for a single huge row.
    pub frame_size: usize,
}

impl Default for WriterOptions {
    fn default() -> Self {
        WriterOptions {
            codec: Codec::default(),
            frame_size: DEFAULT_FRAME_SIZE,
        }
    }
}

impl WriterOptions {
    /// Checks the codec level and the frame size.
    pub fn validate(&self) -> Result<(), FormatError> {
        self.codec.validate()?;
        if self.frame_size == 0 || self.frame_size > MAX_FRAME_RAW {
            return Err(FormatError::Usage(format!(
                "frame size {} is outside 1..={MAX_FRAME_RAW}",
                self.frame_size
            )));
        }
        Ok(())
    }
}

/// Writes an archive in one pass, no seeks. Not `Sync`: feed it from one thread; encode
/// frames on any thread with [`EncodedFrame::encode`].
///
/// Each frame is written as two `write_all` calls (header, then payload) without copying
/// the payload; wrap files in a `BufWriter` when frames are small.
pub struct ArchiveWriter<W: Write> {
    w: W,
    options: WriterOptions,
    pos: u64,
    entries: usize,
    streams: Vec<StreamStats>,
    next_seq: Vec<u32>,
    frames: Vec<FrameEntry>,
    encoder: FrameEncoder,
    failed: bool,
}

impl<W: Write> ArchiveWriter<W> {
    /// Validates options and TOC, then writes header and TOC.
    ///
    /// The header's tool string is `toc.info.tool` (or `pgdump-format <version>` when empty).
    pub fn new(mut w: W, toc: &Toc, options: WriterOptions) -> Result<Self, FormatError> {
        options.validate()?;
        toc.validate()?;
        let tool = if toc.info.tool.is_empty() {
            concat!("pgdump-format ", env!("CARGO_PKG_VERSION"))
        } else {
            toc.info.tool.as_str()
        };
        let header = HeaderInfo::current(tool)?.encode()?;

        let json = toc.to_json()?;
        if json.len() as u64 > MAX_TOC_LEN {
            return Err(FormatError::Limit {
                what: "TOC".into(),
                value: json.len() as u64,
                limit: MAX_TOC_LEN,
            });
        }
        let raw_crc = crc32c(&json);
        let raw_len = json.len() as u64;
        let (codec, stored) = match Compressors::default().compress(TOC_CODEC, &json)? {
            Some(c) => (TOC_CODEC.kind(), c),
            None => (CodecKind::None, json),
        };
        let toc_header = TocHeader {
            codec,
            raw_len,
            stored_len: stored.len() as u64,
            stored_crc: if codec == CodecKind::None {
                raw_crc
            } else {
                crc32c(&stored)
            },
            raw_crc,
        };

        w.write_all(&header)?;
        w.write_all(&toc_header.encode())?;
        w.write_all(&stored)?;
        let pos = (header.len() as u64)
            .checked_add(crate::format::toc_record::TOC_HEADER_LEN as u64)
            .and_then(|p| p.checked_add(stored.len() as u64))
            .ok_or_else(|| FormatError::Usage("TOC too large".into()))?;
        let n = toc.streams.len();
        Ok(ArchiveWriter {
            w,
            options,
            pos,
            entries: toc.entries.len(),
            streams: (0..n)
                .map(|i| StreamStats::new(StreamId::try_from(i).unwrap_or(StreamId::MAX)))
                .collect(),
            next_seq: vec![0; n],
            frames: Vec::new(),
            encoder: FrameEncoder::new(),
            failed: false,
        })
    }

    /// Appends one frame. Frames of one stream must come with seq 0, 1, 2, ... in order;
    /// frames of different streams may interleave freely.
    pub fn write_frame(&mut self, frame: &EncodedFrame) -> Result<(), FormatError> {
        self.check_usable()?;
        let h = &frame.header;
        let stream_count = self.streams.len();
        let (Some(stats), Some(next)) = (
            usize::try_from(h.stream)
                .ok()
                .and_then(|i| self.streams.get_mut(i)),
            usize::try_from(h.stream)
                .ok()
                .and_then(|i| self.next_seq.get_mut(i)),
        ) else {
            return Err(FormatError::Usage(format!(
                "{}: the TOC declares only {stream_count} streams",
                frame_name(h.stream, h.seq)
            )));
        };
        if h.seq != *next {
            return Err(FormatError::Usage(format!(
                "{}: stream {} expects frame {} next",
                frame_name(h.stream, h.seq),
                h.stream,
                *next
            )));
        }
        let overflow = || {
            FormatError::Usage(format!(
                "{}: counters overflow",
                frame_name(h.stream, h.seq)
            ))
        };
        let next_seq = h.seq.checked_add(1).ok_or_else(overflow)?;
        let end = self
            .pos
            .checked_add(frame.record_len())
            .ok_or_else(overflow)?;
        let mut new_stats = stats.clone();
        new_stats
            .add(h.raw_len, h.stored_len, h.rows, h.content_hash)
            .ok_or_else(overflow)?;

        let offset = self.pos;
        let result = self
            .w
            .write_all(&h.encode())
            .and_then(|()| self.w.write_all(&frame.stored));
        if let Err(e) = result {
            self.failed = true;
            return Err(e.into());
        }
        *stats = new_stats;
        *next = next_seq;
        self.pos = end;
        self.frames.push(FrameEntry {
            offset,
            stream: h.stream,
            seq: h.seq,
            raw_len: h.raw_len,
            stored_len: h.stored_len,
            rows: h.rows,
            content_hash: h.content_hash,
        });
        Ok(())
    }

    /// Encodes `raw` with the writer's codec on the calling thread and appends it.
    pub fn write_raw(
        &mut self,
        stream: StreamId,
        seq: u32,
        raw: &[u8],
        meta: FrameMeta,
    ) -> Result<(), FormatError> {
        self.check_usable()?;
        let frame = self
            .encoder
            .encode(stream, seq, raw, self.options.codec, meta)?;
        self.write_frame(&frame)
    }

    /// Bytes written so far.
    pub fn position(&self) -> u64 {
        self.pos
    }

    /// The options this writer was created with.
    pub fn options(&self) -> &WriterOptions {
        &self.options
    }

    /// Statistics so far, in stream id order.
    pub fn streams(&self) -> &[StreamStats] {
        &self.streams
    }

    /// Writes index and footer (sealing the archive), flushes, and returns the summary and
    /// the sink.
    pub fn finish(mut self) -> Result<(Summary, W), FormatError> {
        self.check_usable()?;
        let index = Index {
            streams: self.streams,
            frames: self.frames,
        };
        let bytes = index.encode()?;
        let footer = Footer {
            index_offset: self.pos,
            index_len: bytes.len() as u64,
            index_crc: crc32c(&bytes),
        }
        .encode();
        self.w.write_all(&bytes)?;
        self.w.write_all(&footer)?;
        self.w.flush()?;
        let total = self
            .pos
            .checked_add(bytes.len() as u64)
            .and_then(|p| p.checked_add(footer.len() as u64))
            .ok_or_else(|| FormatError::Usage("archive size overflows".into()))?;
        let summary = Summary::new(self.entries, index.streams, total)?;
        Ok((summary, self.w))
    }

    fn check_usable(&self) -> Result<(), FormatError> {
        if self.failed {
            Err(FormatError::Usage(
                "a write to this archive failed earlier; the archive is unusable".into(),
            ))
        } else {
            Ok(())
        }
    }
}
