//! The footer: the fixed-size last 32 bytes of a sealed archive.
//!
//! ```text
//! offset  size  field
//!      0     8  index_offset (u64 LE): where the index record starts
//!      8     8  index_len (u64 LE): length of the whole index record
//!     16     4  index_crc: CRC-32C of the whole index record
//!     20     4  footer_crc: CRC-32C of bytes [0, 20) of the footer
//!     24     8  end magic "\x89PGDEND\n"
//! ```

use super::bytes::{ArrayPut, Get, Put};
use super::{Decoded, END_MAGIC};
use crate::checksum::crc32c;
use crate::error::FormatError;

/// Length of the footer.
pub const FOOTER_LEN: usize = 32;

/// The decoded footer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Footer {
    /// Offset of the index record.
    pub index_offset: u64,
    /// Length of the index record.
    pub index_len: u64,
    /// CRC-32C of the index record.
    pub index_crc: u32,
}

impl Footer {
    /// Encodes the footer.
    pub fn encode(&self) -> [u8; FOOTER_LEN] {
        let mut p = ArrayPut::<FOOTER_LEN>::new();
        p.put_u64(self.index_offset);
        p.put_u64(self.index_len);
        p.put_u32(self.index_crc);
        let crc = crc32c(p.written());
        p.put_u32(crc);
        p.put(&END_MAGIC);
        p.finish()
    }

    /// True when `buf` (the last [`FOOTER_LEN`] bytes of a file) ends with the end magic.
    pub fn has_end_magic(buf: &[u8]) -> bool {
        buf.len() == FOOTER_LEN && buf.ends_with(&END_MAGIC)
    }

    /// Decodes a footer from the start of `buf` (at archive offset `offset`).
    pub fn decode(buf: &[u8], offset: u64) -> Result<Decoded<Footer>, FormatError> {
        let Some(f) = buf.get(..FOOTER_LEN) else {
            return Ok(Decoded::Incomplete(FOOTER_LEN));
        };
        let what = "footer";
        let short = || FormatError::truncated(what, offset);
        if !f.ends_with(&END_MAGIC) {
            return Err(FormatError::corrupt(what, offset, "end magic missing"));
        }
        let mut g = Get::new(f);
        let index_offset = g.u64().ok_or_else(short)?;
        let index_len = g.u64().ok_or_else(short)?;
        let index_crc = g.u32().ok_or_else(short)?;
        let footer_crc = g.u32().ok_or_else(short)?;
        if crc32c(f.get(..20).ok_or_else(short)?) != footer_crc {
            return Err(FormatError::checksum(what, offset));
        }
        Ok(Decoded::Complete(Footer {
            index_offset,
            index_len,
            index_crc,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_and_flips() {
        let f = Footer {
            index_offset: 12345,
            index_len: 88,
            index_crc: 7,
        };
        let b = f.encode();
        assert!(Footer::has_end_magic(&b));
        assert_eq!(Footer::decode(&b, 0).unwrap(), Decoded::Complete(f));
        for i in 0..b.len() {
            let mut c = b;
            c[i] ^= 4;
            assert!(Footer::decode(&c, 0).is_err());
        }
    }
}
