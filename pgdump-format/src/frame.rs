//! Frames in memory: encoding on the producer side, verification and decoding on the reader side.
//!
//! [`EncodedFrame::encode`] is a pure function of its arguments and can run on any thread
//! (it keeps a per-thread compression context for speed). Workers that want explicit
//! control over contexts keep a [`FrameEncoder`] / [`FrameDecoder`] each.
//!
//! Frames of binary COPY streams can be encoded with [`EncodedFrame::encode_columnar`]: the
//! tuples are rearranged column by column ([`crate::columnar`]) before the codec, which
//! compresses them markedly better. Decoding inverts whatever transform a frame has.

use std::cell::Cell;

use crate::checksum::crc32c;
use crate::codec::{Codec, CodecKind, Compressors, Decompressors, OutLen};
use crate::columnar;
use crate::error::{frame_name, FormatError};
use crate::format::frame::FrameHeader;
use crate::format::MAX_FRAME_RAW;
use crate::toc::StreamId;
use crate::transform::Transform;

/// Scratch buffers larger than this (left by a frame holding one huge row) are released
/// after use instead of being kept for the next frame.
const SCRATCH_KEEP: usize = 16 << 20;

/// Per-frame facts the producer knows (the writer does not parse payloads).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct FrameMeta {
    /// Rows in the frame.
    pub rows: u64,
    /// Order-independent content hash: wrapping sum of per-row hashes.
    pub content_hash: u64,
}

/// A frame compressed and checksummed, ready to append with [`crate::ArchiveWriter::write_frame`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncodedFrame {
    pub(crate) header: FrameHeader,
    pub(crate) stored: Vec<u8>,
}

impl EncodedFrame {
    /// Compresses (storing raw when compression does not shrink the payload) and checksums.
    /// Errors if `raw.len()` exceeds [`MAX_FRAME_RAW`] or the codec level is invalid.
    pub fn encode(
        stream: StreamId,
        seq: u32,
        raw: &[u8],
        codec: Codec,
        meta: FrameMeta,
    ) -> Result<EncodedFrame, FormatError> {
        with_thread_encoder(|e| e.encode(stream, seq, raw, codec, meta))
    }

    /// Like [`EncodedFrame::encode`], but takes the payload by value so that a payload that
    /// ends up stored raw is not copied.
    pub fn encode_owned(
        stream: StreamId,
        seq: u32,
        raw: Vec<u8>,
        codec: Codec,
        meta: FrameMeta,
    ) -> Result<EncodedFrame, FormatError> {
        with_thread_encoder(|e| e.encode_owned(stream, seq, raw, codec, meta))
    }

    /// Like [`EncodedFrame::encode`] for a payload of binary COPY tuples (no COPY header or
    /// trailer): stores it column by column ([`Transform::ColumnarCopy`]) when that applies
    /// (every tuple with the same field count, at least 4 rows), plainly otherwise. The
    /// archive must declare the feature ([`crate::WriterOptions::columnar_copy`]), or
    /// [`crate::ArchiveWriter::write_frame`] refuses a transformed frame.
    pub fn encode_columnar(
        stream: StreamId,
        seq: u32,
        raw: &[u8],
        codec: Codec,
        meta: FrameMeta,
    ) -> Result<EncodedFrame, FormatError> {
        with_thread_encoder(|e| e.encode_columnar(stream, seq, raw, codec, meta))
    }

    /// Like [`EncodedFrame::encode_columnar`], taking the payload by value (no copy when the
    /// transform does not apply and the payload ends up stored raw).
    pub fn encode_owned_columnar(
        stream: StreamId,
        seq: u32,
        raw: Vec<u8>,
        codec: Codec,
        meta: FrameMeta,
    ) -> Result<EncodedFrame, FormatError> {
        with_thread_encoder(|e| e.encode_owned_columnar(stream, seq, raw, codec, meta))
    }

    /// Stream of the frame.
    pub fn stream(&self) -> StreamId {
        self.header.stream
    }
    /// Sequence number of the frame within its stream.
    pub fn seq(&self) -> u32 {
        self.header.seq
    }
    /// Raw (uncompressed) length.
    pub fn raw_len(&self) -> u64 {
        self.header.raw_len.into()
    }
    /// Stored length (payload as written).
    pub fn stored_len(&self) -> u64 {
        self.header.stored_len.into()
    }
    /// Producer facts.
    pub fn meta(&self) -> FrameMeta {
        FrameMeta {
            rows: self.header.rows,
            content_hash: self.header.content_hash,
        }
    }
    /// Codec actually used (`None` when the payload did not compress).
    pub fn codec(&self) -> CodecKind {
        self.header.codec
    }
    /// Transform actually used ([`Transform::None`] when it was not asked for or did not apply).
    pub fn transform(&self) -> Transform {
        self.header.transform
    }
    /// The stored payload.
    pub fn stored(&self) -> &[u8] {
        &self.stored
    }
    /// Length of the frame record in the archive (header and payload).
    pub fn record_len(&self) -> u64 {
        self.header.record_len()
    }
}

/// A reusable frame encoder: keeps a zstd compression context (and a buffer for the
/// columnar transform) across frames. Keep one per worker thread.
#[derive(Default)]
pub struct FrameEncoder {
    cx: Compressors,
    columns: Vec<u8>,
}

impl FrameEncoder {
    /// A new encoder; contexts are created on first use.
    pub fn new() -> Self {
        Self::default()
    }

    /// See [`EncodedFrame::encode`].
    pub fn encode(
        &mut self,
        stream: StreamId,
        seq: u32,
        raw: &[u8],
        codec: Codec,
        meta: FrameMeta,
    ) -> Result<EncodedFrame, FormatError> {
        let raw_len = check_raw_len(stream, seq, raw.len())?;
        codec.validate()?;
        let raw_crc = crc32c(raw);
        let (kind, stored, stored_crc) = match self.cx.compress(codec, raw)? {
            Some(c) => {
                let crc = crc32c(&c);
                (codec.kind(), c, crc)
            }
            None => (CodecKind::None, raw.to_vec(), raw_crc),
        };
        Ok(build(
            stream,
            seq,
            (kind, Transform::None),
            raw_len,
            stored,
            raw_crc,
            stored_crc,
            meta,
        ))
    }

    /// See [`EncodedFrame::encode_owned`].
    pub fn encode_owned(
        &mut self,
        stream: StreamId,
        seq: u32,
        raw: Vec<u8>,
        codec: Codec,
        meta: FrameMeta,
    ) -> Result<EncodedFrame, FormatError> {
        let raw_len = check_raw_len(stream, seq, raw.len())?;
        codec.validate()?;
        let raw_crc = crc32c(&raw);
        let (kind, stored, stored_crc) = match self.cx.compress(codec, &raw)? {
            Some(c) => {
                let crc = crc32c(&c);
                (codec.kind(), c, crc)
            }
            None => (CodecKind::None, raw, raw_crc),
        };
        Ok(build(
            stream,
            seq,
            (kind, Transform::None),
            raw_len,
            stored,
            raw_crc,
            stored_crc,
            meta,
        ))
    }

    /// See [`EncodedFrame::encode_columnar`].
    pub fn encode_columnar(
        &mut self,
        stream: StreamId,
        seq: u32,
        raw: &[u8],
        codec: Codec,
        meta: FrameMeta,
    ) -> Result<EncodedFrame, FormatError> {
        let raw_len = check_raw_len(stream, seq, raw.len())?;
        codec.validate()?;
        if !columnar::to_columnar_into(raw, &mut self.columns) {
            return self.encode(stream, seq, raw, codec, meta);
        }
        self.finish_columnar(stream, seq, raw_len, crc32c(raw), codec, meta)
    }

    /// See [`EncodedFrame::encode_owned_columnar`].
    pub fn encode_owned_columnar(
        &mut self,
        stream: StreamId,
        seq: u32,
        raw: Vec<u8>,
        codec: Codec,
        meta: FrameMeta,
    ) -> Result<EncodedFrame, FormatError> {
        let raw_len = check_raw_len(stream, seq, raw.len())?;
        codec.validate()?;
        if !columnar::to_columnar_into(&raw, &mut self.columns) {
            return self.encode_owned(stream, seq, raw, codec, meta);
        }
        let raw_crc = crc32c(&raw);
        drop(raw);
        self.finish_columnar(stream, seq, raw_len, raw_crc, codec, meta)
    }

    /// Compresses the transformed payload in `self.columns` (stored as is when compression
    /// does not shrink it: it is already shorter than the raw payload).
    fn finish_columnar(
        &mut self,
        stream: StreamId,
        seq: u32,
        raw_len: u32,
        raw_crc: u32,
        codec: Codec,
        meta: FrameMeta,
    ) -> Result<EncodedFrame, FormatError> {
        let compressed = self.cx.compress(codec, &self.columns);
        let (kind, stored) = match compressed {
            Ok(Some(c)) => (codec.kind(), c),
            Ok(None) => (CodecKind::None, std::mem::take(&mut self.columns)),
            Err(e) => {
                self.columns.clear();
                return Err(e);
            }
        };
        if self.columns.capacity() > SCRATCH_KEEP {
            self.columns = Vec::new();
        }
        let stored_crc = crc32c(&stored);
        Ok(build(
            stream,
            seq,
            (kind, Transform::ColumnarCopy),
            raw_len,
            stored,
            raw_crc,
            stored_crc,
            meta,
        ))
    }
}

fn check_raw_len(stream: StreamId, seq: u32, len: usize) -> Result<u32, FormatError> {
    if len > MAX_FRAME_RAW {
        return Err(FormatError::Limit {
            what: format!("raw length of {}", frame_name(stream, seq)),
            value: len as u64,
            limit: MAX_FRAME_RAW as u64,
        });
    }
    u32::try_from(len).map_err(|_| FormatError::Usage("frame too large".into()))
}

#[allow(clippy::too_many_arguments)]
fn build(
    stream: StreamId,
    seq: u32,
    (codec, transform): (CodecKind, Transform),
    raw_len: u32,
    stored: Vec<u8>,
    raw_crc: u32,
    stored_crc: u32,
    meta: FrameMeta,
) -> EncodedFrame {
    // stored.len() <= raw_len: compression is only kept when strictly smaller, and the
    // transform only applies when it shrinks the payload.
    let stored_len = u32::try_from(stored.len()).unwrap_or(raw_len);
    EncodedFrame {
        header: FrameHeader {
            stream,
            seq,
            codec,
            transform,
            raw_len,
            stored_len,
            rows: meta.rows,
            content_hash: meta.content_hash,
            stored_crc,
            raw_crc,
        },
        stored,
    }
}

thread_local! {
    // Contexts are taken out while in use and put back afterwards: no RefCell, no
    // re-entrancy hazard, and a fresh context when the thread is being torn down.
    static ENCODER: Cell<Option<FrameEncoder>> = const { Cell::new(None) };
    static DECODER: Cell<Option<FrameDecoder>> = const { Cell::new(None) };
}

fn with_thread_encoder<T>(f: impl FnOnce(&mut FrameEncoder) -> T) -> T {
    let mut enc = ENCODER
        .try_with(Cell::take)
        .ok()
        .flatten()
        .unwrap_or_default();
    let r = f(&mut enc);
    let _ = ENCODER.try_with(|c| c.set(Some(enc)));
    r
}

fn with_thread_decoder<T>(f: impl FnOnce(&mut FrameDecoder) -> T) -> T {
    let mut dec = DECODER
        .try_with(Cell::take)
        .ok()
        .flatten()
        .unwrap_or_default();
    let r = f(&mut dec);
    let _ = DECODER.try_with(|c| c.set(Some(dec)));
    r
}

/// A frame whose stored bytes passed their checksum. [`RawFrame::decode`] decompresses it
/// and checks the raw checksum.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawFrame {
    pub(crate) header: FrameHeader,
    pub(crate) offset: u64,
    pub(crate) stored: Vec<u8>,
}

impl RawFrame {
    /// Stream of the frame.
    pub fn stream(&self) -> StreamId {
        self.header.stream
    }
    /// Sequence number within the stream.
    pub fn seq(&self) -> u32 {
        self.header.seq
    }
    /// Producer facts.
    pub fn meta(&self) -> FrameMeta {
        FrameMeta {
            rows: self.header.rows,
            content_hash: self.header.content_hash,
        }
    }
    /// Raw length, as declared (checked by [`RawFrame::decode`]).
    pub fn raw_len(&self) -> u64 {
        self.header.raw_len.into()
    }
    /// Stored length.
    pub fn stored_len(&self) -> u64 {
        self.header.stored_len.into()
    }
    /// Codec of the stored bytes.
    pub fn codec(&self) -> CodecKind {
        self.header.codec
    }
    /// Transform of the stored bytes (inverted by [`RawFrame::decode`]).
    pub fn transform(&self) -> Transform {
        self.header.transform
    }
    /// Offset of the frame record in the archive.
    pub fn offset(&self) -> u64 {
        self.offset
    }
    /// The verified stored bytes.
    pub fn stored(&self) -> &[u8] {
        &self.stored
    }
    /// Decompresses, inverts the transform and verifies the raw checksum.
    pub fn decode(self) -> Result<Frame, FormatError> {
        with_thread_decoder(|d| d.decode(self))
    }

    /// Like [`RawFrame::decode`], the payload into `out` (cleared first, its capacity
    /// reused), for readers that recycle their buffers.
    pub fn decode_into(&self, out: &mut Vec<u8>) -> Result<(), FormatError> {
        with_thread_decoder(|d| d.decode_into(self, out))
    }
}

/// A verified, decompressed frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    /// Stream of the frame.
    pub stream: StreamId,
    /// Sequence number within the stream.
    pub seq: u32,
    /// Producer facts.
    pub meta: FrameMeta,
    /// The raw payload.
    pub data: Vec<u8>,
}

/// A reusable frame decoder: keeps a zstd decompression context (and a buffer for
/// transformed payloads) across frames.
#[derive(Default)]
pub struct FrameDecoder {
    dx: Decompressors,
    columns: Vec<u8>,
}

impl FrameDecoder {
    /// A new decoder; contexts are created on first use.
    pub fn new() -> Self {
        Self::default()
    }

    /// Decompresses `frame`, inverts its transform and verifies its raw checksum. A
    /// stored-raw, untransformed frame is not copied.
    pub fn decode(&mut self, frame: RawFrame) -> Result<Frame, FormatError> {
        let h = frame.header;
        let meta = frame.meta();
        let data = if h.codec == CodecKind::None && h.transform == Transform::None {
            // Stored bytes passed stored_crc, and the header guarantees raw_crc == stored_crc.
            frame.stored
        } else {
            let mut out = Vec::new();
            self.decode_checked(&frame, &mut out)?;
            out
        };
        Ok(Frame {
            stream: h.stream,
            seq: h.seq,
            meta,
            data,
        })
    }

    /// Decompresses `frame` into `out` (cleared first, capacity reused), inverts its
    /// transform and verifies its raw checksum.
    pub fn decode_into(&mut self, frame: &RawFrame, out: &mut Vec<u8>) -> Result<(), FormatError> {
        self.decode_checked(frame, out)
    }

    fn decode_checked(&mut self, frame: &RawFrame, out: &mut Vec<u8>) -> Result<(), FormatError> {
        out.clear();
        let h = &frame.header;
        let raw_len = h.raw_len as usize;
        let what = || match h.transform {
            Transform::None => format!("{} ({})", frame_name(h.stream, h.seq), h.codec),
            t => format!("{} ({}, {t})", frame_name(h.stream, h.seq), h.codec),
        };
        match h.transform {
            Transform::None => {
                self.dx
                    .decompress(h.codec, &frame.stored, raw_len, out)
                    .map_err(|e| FormatError::corrupt(what(), frame.offset, e.to_string()))?;
                if h.codec == CodecKind::None {
                    // raw_crc == stored_crc (header rule), and stored_crc was verified.
                    return Ok(());
                }
            }
            Transform::ColumnarCopy => {
                // The transformed form is strictly shorter than the raw payload.
                let columns: &[u8] = if h.codec == CodecKind::None {
                    &frame.stored
                } else {
                    self.dx
                        .decompress_len(
                            h.codec,
                            &frame.stored,
                            OutLen::AtMost(raw_len.saturating_sub(1)),
                            &mut self.columns,
                        )
                        .map_err(|e| FormatError::corrupt(what(), frame.offset, e.to_string()))?;
                    &self.columns
                };
                let r = columnar::from_columnar_into(columns, raw_len, out);
                self.columns.clear();
                if self.columns.capacity() > SCRATCH_KEEP {
                    self.columns = Vec::new();
                }
                r.map_err(|e| FormatError::corrupt(what(), frame.offset, e.to_string()))?;
            }
        }
        if crc32c(out) != h.raw_crc {
            out.clear();
            let part = match h.transform {
                Transform::None => "decompressed data",
                Transform::ColumnarCopy => "rows rebuilt from columns",
            };
            return Err(FormatError::frame_checksum(
                part,
                h.stream,
                h.seq,
                frame.offset,
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_decode() {
        let raw = b"1\tfoo\n2\tbar\n".repeat(1000);
        for codec in [
            Codec::None,
            Codec::Zstd { level: 1 },
            Codec::Gzip { level: 1 },
        ] {
            let meta = FrameMeta {
                rows: 2000,
                content_hash: 99,
            };
            let f = EncodedFrame::encode(1, 2, &raw, codec, meta).unwrap();
            assert_eq!(f.codec(), codec.kind());
            assert_eq!(f.raw_len(), raw.len() as u64);
            let owned = EncodedFrame::encode_owned(1, 2, raw.clone(), codec, meta).unwrap();
            assert_eq!(owned, f);
            let rf = RawFrame {
                header: f.header,
                offset: 0,
                stored: f.stored.clone(),
            };
            let mut out = Vec::new();
            FrameDecoder::new().decode_into(&rf, &mut out).unwrap();
            assert_eq!(out, raw);
            // into a used buffer (the thread's decoder): cleared, capacity kept
            let mut used = b"left over".repeat(100_000);
            let cap = used.capacity();
            rf.decode_into(&mut used).unwrap();
            assert_eq!(used, raw);
            assert_eq!(used.capacity(), cap);
            let fr = rf.decode().unwrap();
            assert_eq!(fr.data, raw);
            assert_eq!(fr.meta, meta);
        }
    }

    #[test]
    fn too_large() {
        let raw = vec![0u8; MAX_FRAME_RAW + 1];
        assert!(matches!(
            EncodedFrame::encode(0, 0, &raw, Codec::None, FrameMeta::default()),
            Err(FormatError::Limit { .. })
        ));
        assert!(EncodedFrame::encode(
            0,
            0,
            &raw[..MAX_FRAME_RAW],
            Codec::None,
            FrameMeta::default()
        )
        .is_ok());
    }

    #[test]
    fn bad_raw_crc_detected() {
        let raw = b"abcabcabcabcabcabcabcabcabcabc".repeat(10);
        let f = EncodedFrame::encode(0, 0, &raw, Codec::default(), FrameMeta::default()).unwrap();
        let mut h = f.header;
        h.raw_crc ^= 1;
        let rf = RawFrame {
            header: h,
            offset: 5,
            stored: f.stored,
        };
        assert!(matches!(
            rf.decode(),
            Err(FormatError::Checksum {
                stream: Some(0),
                seq: Some(0),
                ..
            })
        ));
    }
}
