//! The TOC record: a fixed header followed by the stored (usually zstd-compressed) JSON.
//!
//! ```text
//! offset  size  field
//!      0     4  tag "PTOC"
//!      4     1  codec (0 none, 1 zstd, 2 gzip)
//!      5     3  reserved (written 0, ignored)
//!      8     8  raw_len (u64 LE): length of the JSON text
//!     16     8  stored_len (u64 LE): length of the stored bytes that follow
//!     24     4  stored_crc: CRC-32C of the stored bytes
//!     28     4  raw_crc: CRC-32C of the JSON text
//!     32     4  header_crc: CRC-32C of bytes [0, 32) of this record
//!     36     …  stored bytes
//! ```

use super::bytes::{ArrayPut, Get, Put};
use super::{show_tag, Decoded, MAX_TOC_LEN, TAG_TOC};
use crate::checksum::crc32c;
use crate::codec::CodecKind;
use crate::error::FormatError;

/// Length of the TOC record header.
pub const TOC_HEADER_LEN: usize = 36;

/// The fixed header of the TOC record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TocHeader {
    /// Codec of the stored bytes.
    pub codec: CodecKind,
    /// Length of the JSON text.
    pub raw_len: u64,
    /// Length of the stored bytes.
    pub stored_len: u64,
    /// CRC-32C of the stored bytes.
    pub stored_crc: u32,
    /// CRC-32C of the JSON text.
    pub raw_crc: u32,
}

impl TocHeader {
    /// Encodes the header.
    pub fn encode(&self) -> [u8; TOC_HEADER_LEN] {
        let mut p = ArrayPut::<TOC_HEADER_LEN>::new();
        p.put(&TAG_TOC);
        p.put_u8(self.codec.id());
        p.put(&[0; 3]);
        p.put_u64(self.raw_len);
        p.put_u64(self.stored_len);
        p.put_u32(self.stored_crc);
        p.put_u32(self.raw_crc);
        let crc = crc32c(p.written());
        p.put_u32(crc);
        p.finish()
    }

    /// Decodes the header from the start of `buf`; `offset` is where `buf` starts in the archive.
    /// Verifies the header CRC, then the limits and the codec rules.
    pub fn decode(buf: &[u8], offset: u64) -> Result<Decoded<TocHeader>, FormatError> {
        let Some(h) = buf.get(..TOC_HEADER_LEN) else {
            return Ok(Decoded::Incomplete(TOC_HEADER_LEN));
        };
        let what = "TOC record header";
        let short = || FormatError::truncated(what, offset);
        let mut g = Get::new(h);
        let tag: [u8; 4] = g.array().ok_or_else(short)?;
        if tag != TAG_TOC {
            return Err(FormatError::corrupt(
                what,
                offset,
                format!("expected tag PTOC, found {}", show_tag(&tag)),
            ));
        }
        let body = h.get(..32).ok_or_else(short)?;
        let mut crc_g = Get::new(h.get(32..).ok_or_else(short)?);
        if crc32c(body) != crc_g.u32().ok_or_else(short)? {
            return Err(FormatError::checksum(what, offset));
        }
        let codec_id = g.u8().ok_or_else(short)?;
        g.bytes(3).ok_or_else(short)?;
        let raw_len = g.u64().ok_or_else(short)?;
        let stored_len = g.u64().ok_or_else(short)?;
        let stored_crc = g.u32().ok_or_else(short)?;
        let raw_crc = g.u32().ok_or_else(short)?;
        let codec = CodecKind::from_id(codec_id).ok_or_else(|| {
            FormatError::corrupt(what, offset, format!("unknown codec {codec_id}"))
        })?;
        for (name, v) in [
            ("TOC raw length", raw_len),
            ("TOC stored length", stored_len),
        ] {
            if v > MAX_TOC_LEN {
                return Err(FormatError::Limit {
                    what: format!("{name} (at byte {offset})"),
                    value: v,
                    limit: MAX_TOC_LEN,
                });
            }
        }
        check_payload_rule(codec, raw_len, stored_len, raw_crc, stored_crc)
            .map_err(|d| FormatError::corrupt(what, offset, d))?;
        Ok(Decoded::Complete(TocHeader {
            codec,
            raw_len,
            stored_len,
            stored_crc,
            raw_crc,
        }))
    }
}

/// The rule shared by TOC and frames: stored is never longer than raw; a stored-raw
/// payload has equal lengths and equal checksums; an empty payload is stored raw.
pub(crate) fn check_payload_rule(
    codec: CodecKind,
    raw_len: u64,
    stored_len: u64,
    raw_crc: u32,
    stored_crc: u32,
) -> Result<(), String> {
    match codec {
        CodecKind::None => {
            if stored_len != raw_len {
                return Err(format!(
                    "stored length {stored_len} differs from raw length {raw_len} for codec none"
                ));
            }
            if stored_crc != raw_crc {
                return Err("stored and raw checksums differ for codec none".into());
            }
        }
        CodecKind::Zstd | CodecKind::Gzip => {
            if stored_len >= raw_len {
                return Err(format!(
                    "{codec} payload of {stored_len} bytes is not smaller than its raw length {raw_len}"
                ));
            }
        }
    }
    Ok(())
}
