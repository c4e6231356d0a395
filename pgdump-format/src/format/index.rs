//! The index record: per-stream statistics and the location of every frame.
//!
//! ```text
//! offset  size  field
//!      0     4  tag "PIDX"
//!      4     2  stream_entry_len (u16 LE), 48 in 1.x writers
//!      6     2  frame_entry_len (u16 LE), 40 in 1.x writers
//!      8     4  stream_count (u32 LE)
//!     12     4  reserved (written 0, ignored)
//!     16     8  frame_count (u64 LE)
//!     24     8  body_len (u64 LE) = stream_count*stream_entry_len + frame_count*frame_entry_len
//!     32     4  body_crc: CRC-32C of the body
//!     36     4  header_crc: CRC-32C of bytes [0, 36) of this record
//!     40     …  body: stream entries, then frame entries
//!
//! stream entry (48 bytes; bytes past 48 are ignored):
//!      0 4 stream id   4 4 reserved   8 8 frames   16 8 rows
//!     24 8 raw_bytes   32 8 stored_bytes   40 8 content_hash
//! frame entry (40 bytes; bytes past 40 are ignored), in file order:
//!      0 8 offset   8 4 stream   12 4 seq   16 4 raw_len   20 4 stored_len
//!     24 8 rows   32 8 content_hash
//! ```

use super::bytes::{ArrayPut, Get, Put};
use super::{show_tag, Decoded, TAG_INDEX};
use crate::checksum::crc32c;
use crate::error::FormatError;
use crate::stats::StreamStats;
use crate::toc::StreamId;

/// Length of the index record header.
pub const INDEX_HEADER_LEN: usize = 40;
/// Length of a stream entry written by this version.
pub const STREAM_ENTRY_LEN: u16 = 48;
/// Length of a frame entry written by this version.
pub const FRAME_ENTRY_LEN: u16 = 40;
/// Largest entry length a reader accepts (newer minors may append fields to entries).
pub const MAX_ENTRY_LEN: u16 = 4096;

/// The fixed header of the index record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IndexHeader {
    /// Bytes per stream entry.
    pub stream_entry_len: u16,
    /// Bytes per frame entry.
    pub frame_entry_len: u16,
    /// Number of stream entries.
    pub stream_count: u32,
    /// Number of frame entries.
    pub frame_count: u64,
    /// Length of the body.
    pub body_len: u64,
    /// CRC-32C of the body.
    pub body_crc: u32,
}

/// One frame as the index records it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct FrameEntry {
    /// Byte offset of the frame record in the archive.
    pub offset: u64,
    /// Stream of the frame.
    pub stream: StreamId,
    /// Sequence number of the frame in its stream.
    pub seq: u32,
    /// Raw payload length.
    pub raw_len: u32,
    /// Stored payload length.
    pub stored_len: u32,
    /// Rows in the frame.
    pub rows: u64,
    /// Content hash contribution of the frame.
    pub content_hash: u64,
}

/// The decoded index.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Index {
    /// Per-stream statistics, in stream id order.
    pub streams: Vec<StreamStats>,
    /// Every frame, in file order.
    pub frames: Vec<FrameEntry>,
}

impl IndexHeader {
    /// Decodes the index header from the start of `buf` (at archive offset `offset`).
    pub fn decode(buf: &[u8], offset: u64) -> Result<Decoded<IndexHeader>, FormatError> {
        let Some(h) = buf.get(..INDEX_HEADER_LEN) else {
            return Ok(Decoded::Incomplete(INDEX_HEADER_LEN));
        };
        let what = "index header";
        let short = || FormatError::truncated(what, offset);
        let mut g = Get::new(h);
        let tag: [u8; 4] = g.array().ok_or_else(short)?;
        if tag != TAG_INDEX {
            return Err(FormatError::corrupt(
                what,
                offset,
                format!("expected tag PIDX, found {}", show_tag(&tag)),
            ));
        }
        let body = h.get(..36).ok_or_else(short)?;
        let mut crc_g = Get::new(h.get(36..).ok_or_else(short)?);
        if crc32c(body) != crc_g.u32().ok_or_else(short)? {
            return Err(FormatError::checksum(what, offset));
        }
        let stream_entry_len = g.u16().ok_or_else(short)?;
        let frame_entry_len = g.u16().ok_or_else(short)?;
        let stream_count = g.u32().ok_or_else(short)?;
        g.u32().ok_or_else(short)?;
        let frame_count = g.u64().ok_or_else(short)?;
        let body_len = g.u64().ok_or_else(short)?;
        let body_crc = g.u32().ok_or_else(short)?;
        if !(STREAM_ENTRY_LEN..=MAX_ENTRY_LEN).contains(&stream_entry_len)
            || !(FRAME_ENTRY_LEN..=MAX_ENTRY_LEN).contains(&frame_entry_len)
        {
            return Err(FormatError::corrupt(
                what,
                offset,
                format!("entry lengths {stream_entry_len}/{frame_entry_len} out of range"),
            ));
        }
        let expected = u64::from(stream_count)
            .checked_mul(stream_entry_len.into())
            .and_then(|s| {
                frame_count
                    .checked_mul(frame_entry_len.into())?
                    .checked_add(s)
            });
        if expected != Some(body_len) {
            return Err(FormatError::corrupt(
                what,
                offset,
                format!(
                    "body length {body_len} does not match {stream_count} streams and {frame_count} frames"
                ),
            ));
        }
        Ok(Decoded::Complete(IndexHeader {
            stream_entry_len,
            frame_entry_len,
            stream_count,
            frame_count,
            body_len,
            body_crc,
        }))
    }

    /// Total length of the index record.
    pub fn record_len(&self) -> Option<u64> {
        self.body_len.checked_add(INDEX_HEADER_LEN as u64)
    }

    /// Verifies and decodes the body (exactly `body_len` bytes) that follows this header.
    /// `offset` is the offset of the index record. Allocation is bounded by `body.len()`.
    pub fn decode_body(&self, body: &[u8], offset: u64) -> Result<Index, FormatError> {
        let what = "index";
        if body.len() as u64 != self.body_len {
            return Err(FormatError::truncated(what, offset));
        }
        if crc32c(body) != self.body_crc {
            return Err(FormatError::checksum(what, offset));
        }
        let short = || FormatError::corrupt(what, offset, "body shorter than its entries");
        let mut g = Get::new(body);
        // Counts were checked against body_len, which is the real length of `body`.
        let mut streams = Vec::with_capacity(self.stream_count as usize);
        for _ in 0..self.stream_count {
            let e = g.bytes(self.stream_entry_len.into()).ok_or_else(short)?;
            let mut e = Get::new(e);
            let stream = e.u32().ok_or_else(short)?;
            e.u32().ok_or_else(short)?;
            streams.push(StreamStats {
                stream,
                frames: e.u64().ok_or_else(short)?,
                rows: e.u64().ok_or_else(short)?,
                raw_bytes: e.u64().ok_or_else(short)?,
                stored_bytes: e.u64().ok_or_else(short)?,
                content_hash: e.u64().ok_or_else(short)?,
            });
        }
        let frame_count = usize::try_from(self.frame_count).map_err(|_| short())?;
        let mut frames = Vec::with_capacity(frame_count);
        for _ in 0..frame_count {
            let e = g.bytes(self.frame_entry_len.into()).ok_or_else(short)?;
            let mut e = Get::new(e);
            frames.push(FrameEntry {
                offset: e.u64().ok_or_else(short)?,
                stream: e.u32().ok_or_else(short)?,
                seq: e.u32().ok_or_else(short)?,
                raw_len: e.u32().ok_or_else(short)?,
                stored_len: e.u32().ok_or_else(short)?,
                rows: e.u64().ok_or_else(short)?,
                content_hash: e.u64().ok_or_else(short)?,
            });
        }
        Ok(Index { streams, frames })
    }
}

impl Index {
    /// Encodes the whole index record (header and body).
    pub fn encode(&self) -> Result<Vec<u8>, FormatError> {
        let too_big = || FormatError::Usage("index too large".into());
        let stream_count = u32::try_from(self.streams.len()).map_err(|_| too_big())?;
        let frame_count = self.frames.len() as u64;
        let body_len = (self.streams.len() as u64)
            .checked_mul(STREAM_ENTRY_LEN.into())
            .and_then(|s| {
                frame_count
                    .checked_mul(FRAME_ENTRY_LEN.into())?
                    .checked_add(s)
            })
            .ok_or_else(too_big)?;
        let mut body = Vec::with_capacity(usize::try_from(body_len).map_err(|_| too_big())?);
        for s in &self.streams {
            body.put_u32(s.stream);
            body.put_u32(0);
            body.put_u64(s.frames);
            body.put_u64(s.rows);
            body.put_u64(s.raw_bytes);
            body.put_u64(s.stored_bytes);
            body.put_u64(s.content_hash);
        }
        for f in &self.frames {
            body.put_u64(f.offset);
            body.put_u32(f.stream);
            body.put_u32(f.seq);
            body.put_u32(f.raw_len);
            body.put_u32(f.stored_len);
            body.put_u64(f.rows);
            body.put_u64(f.content_hash);
        }
        let mut h = ArrayPut::<INDEX_HEADER_LEN>::new();
        h.put(&TAG_INDEX);
        h.put_u16(STREAM_ENTRY_LEN);
        h.put_u16(FRAME_ENTRY_LEN);
        h.put_u32(stream_count);
        h.put_u32(0);
        h.put_u64(frame_count);
        h.put_u64(body_len);
        h.put_u32(crc32c(&body));
        let crc = crc32c(h.written());
        h.put_u32(crc);
        let mut out = Vec::with_capacity(INDEX_HEADER_LEN + body.len());
        out.extend_from_slice(&h.finish());
        out.extend_from_slice(&body);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip() {
        let idx = Index {
            streams: vec![StreamStats {
                stream: 0,
                frames: 2,
                rows: 3,
                raw_bytes: 4,
                stored_bytes: 5,
                content_hash: 6,
            }],
            frames: vec![
                FrameEntry {
                    offset: 100,
                    stream: 0,
                    seq: 0,
                    raw_len: 2,
                    stored_len: 2,
                    rows: 1,
                    content_hash: 2,
                },
                FrameEntry {
                    offset: 154,
                    stream: 0,
                    seq: 1,
                    raw_len: 2,
                    stored_len: 3,
                    rows: 2,
                    content_hash: 4,
                },
            ],
        };
        let b = idx.encode().unwrap();
        let Decoded::Complete(h) = IndexHeader::decode(&b, 9).unwrap() else {
            panic!()
        };
        assert_eq!(h.record_len(), Some(b.len() as u64));
        assert_eq!(h.decode_body(&b[INDEX_HEADER_LEN..], 9).unwrap(), idx);
        for i in 0..b.len() {
            let mut c = b.clone();
            c[i] ^= 0x10;
            let r = IndexHeader::decode(&c, 9).and_then(|h| match h {
                Decoded::Complete(h) => h.decode_body(&c[INDEX_HEADER_LEN..], 9),
                Decoded::Incomplete(_) => panic!(),
            });
            assert!(r.is_err(), "byte {i}");
        }
    }
}
