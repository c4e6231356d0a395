//! The data frame record: a fixed 52-byte header followed by the stored payload.
//!
//! ```text
//! offset  size  field
//!      0     4  tag "PFRM"
//!      4     4  stream id (u32 LE)
//!      8     4  seq (u32 LE): 0, 1, 2, ... within the stream
//!     12     1  codec (0 none, 1 zstd, 2 gzip)
//!     13     1  transform (0 none, 1 columnar binary COPY; format 1.1)
//!     14     2  reserved (written 0, ignored)
//!     16     4  raw_len (u32 LE) <= 1 GiB
//!     20     4  stored_len (u32 LE) <= raw_len
//!     24     8  rows (u64 LE)
//!     32     8  content_hash (u64 LE)
//!     40     4  stored_crc: CRC-32C of the stored payload
//!     44     4  raw_crc: CRC-32C of the raw payload (decompressed, transform inverted)
//!     48     4  header_crc: CRC-32C of bytes [0, 48) of this record
//!     52     …  stored payload (stored_len bytes) = codec(transform(raw payload))
//! ```

use super::bytes::{ArrayPut, Get, Put};
use super::toc_record::check_payload_rule;
use super::{show_tag, Decoded, MAX_FRAME_RAW, TAG_FRAME};
use crate::checksum::crc32c;
use crate::codec::CodecKind;
use crate::error::{frame_name, FormatError};
use crate::toc::StreamId;
use crate::transform::Transform;

/// Length of a frame header.
pub const FRAME_HEADER_LEN: usize = 52;

/// The fixed header of a data frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameHeader {
    /// Stream the frame belongs to.
    pub stream: StreamId,
    /// Position of the frame in its stream.
    pub seq: u32,
    /// Codec of the stored payload.
    pub codec: CodecKind,
    /// Transform applied to the raw payload before the codec.
    pub transform: Transform,
    /// Length of the raw payload.
    pub raw_len: u32,
    /// Length of the stored payload.
    pub stored_len: u32,
    /// Rows in the frame (as counted by the producer).
    pub rows: u64,
    /// Content hash contribution of the frame (from the producer).
    pub content_hash: u64,
    /// CRC-32C of the stored payload.
    pub stored_crc: u32,
    /// CRC-32C of the raw payload.
    pub raw_crc: u32,
}

impl FrameHeader {
    /// Encodes the header.
    pub fn encode(&self) -> [u8; FRAME_HEADER_LEN] {
        let mut p = ArrayPut::<FRAME_HEADER_LEN>::new();
        p.put(&TAG_FRAME);
        p.put_u32(self.stream);
        p.put_u32(self.seq);
        p.put_u8(self.codec.id());
        p.put_u8(self.transform.id());
        p.put(&[0; 2]);
        p.put_u32(self.raw_len);
        p.put_u32(self.stored_len);
        p.put_u64(self.rows);
        p.put_u64(self.content_hash);
        p.put_u32(self.stored_crc);
        p.put_u32(self.raw_crc);
        let crc = crc32c(p.written());
        p.put_u32(crc);
        p.finish()
    }

    /// Decodes a frame header from the start of `buf`; `offset` is where the frame starts in
    /// the archive. The header CRC is verified before any length is looked at; then the
    /// limits, codec, transform and payload rules. Whether the archive may hold the frame's
    /// transform is checked by [`FrameHeader::check_features`].
    pub fn decode(buf: &[u8], offset: u64) -> Result<Decoded<FrameHeader>, FormatError> {
        let Some(h) = buf.get(..FRAME_HEADER_LEN) else {
            return Ok(Decoded::Incomplete(FRAME_HEADER_LEN));
        };
        let what = "frame header";
        let short = || FormatError::truncated(what, offset);
        let mut g = Get::new(h);
        let tag: [u8; 4] = g.array().ok_or_else(short)?;
        if tag != TAG_FRAME {
            return Err(FormatError::corrupt(
                what,
                offset,
                format!("expected tag PFRM, found {}", show_tag(&tag)),
            ));
        }
        let body = h.get(..48).ok_or_else(short)?;
        let mut crc_g = Get::new(h.get(48..).ok_or_else(short)?);
        let stream = g.u32().ok_or_else(short)?;
        let seq = g.u32().ok_or_else(short)?;
        if crc32c(body) != crc_g.u32().ok_or_else(short)? {
            // The ids are not trustworthy either; name them as "claimed".
            return Err(FormatError::Checksum {
                what: format!(
                    "header of frame at byte {offset} (claims {})",
                    frame_name(stream, seq)
                ),
                offset,
                stream: None,
                seq: None,
            });
        }
        let name = || frame_name(stream, seq);
        let codec_id = g.u8().ok_or_else(short)?;
        let transform_id = g.u8().ok_or_else(short)?;
        g.bytes(2).ok_or_else(short)?;
        let raw_len = g.u32().ok_or_else(short)?;
        let stored_len = g.u32().ok_or_else(short)?;
        let rows = g.u64().ok_or_else(short)?;
        let content_hash = g.u64().ok_or_else(short)?;
        let stored_crc = g.u32().ok_or_else(short)?;
        let raw_crc = g.u32().ok_or_else(short)?;
        let codec = CodecKind::from_id(codec_id).ok_or_else(|| {
            FormatError::corrupt(name(), offset, format!("unknown codec {codec_id}"))
        })?;
        let transform = Transform::from_id(transform_id).ok_or_else(|| {
            FormatError::corrupt(name(), offset, format!("unknown transform {transform_id}"))
        })?;
        if raw_len as usize > MAX_FRAME_RAW {
            return Err(FormatError::Limit {
                what: format!("raw length of {} (at byte {offset})", name()),
                value: raw_len.into(),
                limit: MAX_FRAME_RAW as u64,
            });
        }
        if transform == Transform::None {
            check_payload_rule(
                codec,
                raw_len.into(),
                stored_len.into(),
                raw_crc,
                stored_crc,
            )
        } else if stored_len >= raw_len {
            // The transformed form is strictly shorter than the raw payload, and a codec is
            // only kept when it shrinks it further.
            Err(format!(
                "{transform} payload of {stored_len} bytes is not smaller than its raw length {raw_len}"
            ))
        } else {
            Ok(())
        }
        .map_err(|d| FormatError::corrupt(name(), offset, d))?;
        Ok(Decoded::Complete(FrameHeader {
            stream,
            seq,
            codec,
            transform,
            raw_len,
            stored_len,
            rows,
            content_hash,
            stored_crc,
            raw_crc,
        }))
    }

    /// Refuses a frame whose transform needs a required-feature bit that the archive header
    /// (`required_features`) does not declare; `offset` is where the frame starts.
    pub fn check_features(&self, required_features: u64, offset: u64) -> Result<(), FormatError> {
        let need = self.transform.required_feature();
        if need & !required_features != 0 {
            return Err(FormatError::corrupt(
                frame_name(self.stream, self.seq),
                offset,
                format!(
                    "{} transform, but the archive header does not declare feature bit {:#x}",
                    self.transform, need
                ),
            ));
        }
        Ok(())
    }

    /// Total length of the frame record, header included.
    pub fn record_len(&self) -> u64 {
        FRAME_HEADER_LEN as u64 + u64::from(self.stored_len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> FrameHeader {
        FrameHeader {
            stream: 7,
            seq: 3,
            codec: CodecKind::Zstd,
            transform: Transform::None,
            raw_len: 1000,
            stored_len: 100,
            rows: 42,
            content_hash: 0xdead_beef,
            stored_crc: 1,
            raw_crc: 2,
        }
    }

    #[test]
    fn roundtrip() {
        let h = sample();
        let b = h.encode();
        assert_eq!(FrameHeader::decode(&b, 0).unwrap(), Decoded::Complete(h));
        assert_eq!(
            FrameHeader::decode(&b[..51], 0).unwrap(),
            Decoded::Incomplete(52)
        );
    }

    #[test]
    fn every_bit_flip_is_detected() {
        let b = sample().encode();
        for i in 0..b.len() {
            for bit in 0..8 {
                let mut c = b;
                c[i] ^= 1 << bit;
                assert!(FrameHeader::decode(&c, 0).is_err(), "byte {i} bit {bit}");
            }
        }
    }

    #[test]
    fn rules() {
        let mut h = sample();
        h.stored_len = 1000;
        assert!(matches!(
            FrameHeader::decode(&h.encode(), 0),
            Err(FormatError::Corrupt { .. })
        ));
        h.codec = CodecKind::None;
        assert!(FrameHeader::decode(&h.encode(), 0).is_err()); // crcs differ
        h.raw_crc = 1;
        assert!(FrameHeader::decode(&h.encode(), 0).is_ok());
        h.raw_len = (MAX_FRAME_RAW + 1) as u32;
        h.stored_len = h.raw_len;
        assert!(matches!(
            FrameHeader::decode(&h.encode(), 0),
            Err(FormatError::Limit { .. })
        ));
    }

    #[test]
    fn transform_byte() {
        let mut h = sample();
        h.transform = Transform::ColumnarCopy;
        let b = h.encode();
        assert_eq!(b[13], 1);
        assert_eq!(FrameHeader::decode(&b, 0).unwrap(), Decoded::Complete(h));
        // Codec none with a transform: stored bytes shorter than raw, CRCs differ.
        h.codec = CodecKind::None;
        assert!(FrameHeader::decode(&h.encode(), 0).is_ok());
        h.stored_len = h.raw_len;
        assert!(matches!(
            FrameHeader::decode(&h.encode(), 0),
            Err(FormatError::Corrupt { .. })
        ));
        // Feature bit.
        let h = sample();
        h.check_features(0, 0).unwrap();
        let mut h = sample();
        h.transform = Transform::ColumnarCopy;
        h.check_features(1, 0).unwrap();
        match h.check_features(0, 77) {
            Err(FormatError::Corrupt { what, offset, .. }) => {
                assert_eq!((what.as_str(), offset), ("frame 3 of stream 7", 77))
            }
            other => panic!("{other:?}"),
        }
        // Unknown transform ids are corrupt, reserved bytes 14-15 are ignored.
        let mut b = sample().encode();
        b[13] = 2;
        let crc = crc32c(&b[..48]);
        b[48..].copy_from_slice(&crc.to_le_bytes());
        assert!(matches!(
            FrameHeader::decode(&b, 0),
            Err(FormatError::Corrupt { detail, .. }) if detail.contains("unknown transform 2")
        ));
        let mut b = sample().encode();
        b[14] = 5;
        let crc = crc32c(&b[..48]);
        b[48..].copy_from_slice(&crc.to_le_bytes());
        assert_eq!(
            FrameHeader::decode(&b, 0).unwrap(),
            Decoded::Complete(sample())
        );
    }
}
