//! The file header: magic, format version, feature bits, writer tool string.
//!
//! ```text
//! offset  size  field
//!      0     8  magic "\x89PGDUMP\n"
//!      8     2  version major (u16 LE)
//!     10     2  version minor (u16 LE)
//!     12     4  header_len (u32 LE): total header length, CRC included
//!     16     8  required_features (u64 LE)
//!     24     8  optional_features (u64 LE)
//!     32     2  tool_len (u16 LE)
//!     34     n  tool (UTF-8, tool_len bytes)
//!   34+n     …  extension bytes of newer minor versions (none in 1.0 and 1.1)
//! hl - 4     4  CRC-32C of bytes [0, header_len - 4)
//! ```
//! This layout is frozen for every version, so any reader can report which
//! version and which tool wrote an archive it cannot read.

use super::bytes::{Get, Put};
use super::{
    Decoded, FEATURE_COLUMNAR_COPY, FORMAT_VERSION, FORMAT_VERSION_1_0, KNOWN_REQUIRED_FEATURES,
    MAGIC, MAX_HEADER_LEN, MAX_TOOL_LEN,
};
use crate::checksum::crc32c;
use crate::error::{FormatError, FormatVersion};

/// Length of the fixed fields before the tool string.
pub const HEADER_FIXED_LEN: usize = 34;
/// Smallest possible header: fixed fields, empty tool string, CRC.
pub const HEADER_MIN_LEN: usize = HEADER_FIXED_LEN + 4;

/// The decoded file header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeaderInfo {
    /// Format version that wrote the archive.
    pub version: FormatVersion,
    /// Features a reader must implement to read the archive (bit set).
    pub required_features: u64,
    /// Features a reader may ignore (bit set).
    pub optional_features: u64,
    /// The writing program, e.g. `pgdump 0.1.0`.
    pub tool: String,
    /// Encoded length of the header in bytes (where the TOC record starts).
    pub header_len: u32,
}

impl HeaderInfo {
    /// A header for an archive that uses no feature bit: version 1.0.
    pub fn current(tool: &str) -> Result<Self, FormatError> {
        Self::with_features(tool, 0)
    }

    /// A header declaring the required features `required` (bits of
    /// [`KNOWN_REQUIRED_FEATURES`]), with the smallest version that defines them: 1.0 for
    /// none, 1.1 for [`FEATURE_COLUMNAR_COPY`]. Unknown bits are a usage error.
    pub fn with_features(tool: &str, required: u64) -> Result<Self, FormatError> {
        let unknown = required & !KNOWN_REQUIRED_FEATURES;
        if unknown != 0 {
            return Err(FormatError::Usage(format!(
                "required feature bits {unknown:#x} are not defined"
            )));
        }
        let version = if required & FEATURE_COLUMNAR_COPY != 0 {
            FormatVersion { major: 1, minor: 1 }
        } else {
            FORMAT_VERSION_1_0
        };
        if tool.len() > MAX_TOOL_LEN {
            return Err(FormatError::Limit {
                what: "writer tool string".into(),
                value: tool.len() as u64,
                limit: MAX_TOOL_LEN as u64,
            });
        }
        let header_len = u32::try_from(HEADER_MIN_LEN + tool.len())
            .map_err(|_| FormatError::Usage("tool string too long".into()))?;
        Ok(HeaderInfo {
            version,
            required_features: required,
            optional_features: 0,
            tool: tool.to_owned(),
            header_len,
        })
    }

    /// Encodes the header. `header_len` is recomputed from the tool string, except that
    /// a larger `header_len` is kept and padded with zero extension bytes (for tests of
    /// newer minor versions).
    pub fn encode(&self) -> Result<Vec<u8>, FormatError> {
        let tool_len = u16::try_from(self.tool.len())
            .ok()
            .filter(|&n| usize::from(n) <= MAX_TOOL_LEN)
            .ok_or_else(|| FormatError::Limit {
                what: "writer tool string".into(),
                value: self.tool.len() as u64,
                limit: MAX_TOOL_LEN as u64,
            })?;
        let min_len = HEADER_MIN_LEN + usize::from(tool_len);
        let total = min_len.max(self.header_len as usize);
        if total > MAX_HEADER_LEN {
            return Err(FormatError::Usage(format!(
                "header length {total} over limit"
            )));
        }
        let total32 =
            u32::try_from(total).map_err(|_| FormatError::Usage("header too long".into()))?;
        let mut out = Vec::with_capacity(total);
        out.put(&MAGIC);
        out.put_u16(self.version.major);
        out.put_u16(self.version.minor);
        out.put_u32(total32);
        out.put_u64(self.required_features);
        out.put_u64(self.optional_features);
        out.put_u16(tool_len);
        out.put(self.tool.as_bytes());
        out.resize(total - 4, 0);
        let crc = crc32c(&out);
        out.put_u32(crc);
        Ok(out)
    }

    /// Decodes a header from the start of `buf` (the start of the archive). Checks the
    /// magic and the CRC; does not judge the version (see [`HeaderInfo::check_supported`]).
    pub fn decode(buf: &[u8]) -> Result<Decoded<HeaderInfo>, FormatError> {
        let magic_part = buf.get(..MAGIC.len().min(buf.len())).unwrap_or(buf);
        if !MAGIC.starts_with(magic_part) {
            return Err(FormatError::NotAnArchive { detail: sniff(buf) });
        }
        if buf.len() < 16 {
            return Ok(Decoded::Incomplete(16));
        }
        let mut g = Get::new(buf);
        let short = || FormatError::truncated("header", 0);
        g.bytes(8).ok_or_else(short)?;
        let major = g.u16().ok_or_else(short)?;
        let minor = g.u16().ok_or_else(short)?;
        let header_len = g.u32().ok_or_else(short)?;
        let hl = header_len as usize;
        if !(HEADER_MIN_LEN..=MAX_HEADER_LEN).contains(&hl) {
            return Err(FormatError::corrupt(
                "header",
                0,
                format!("header length {hl} is outside {HEADER_MIN_LEN}..={MAX_HEADER_LEN}"),
            ));
        }
        let Some(all) = buf.get(..hl) else {
            return Ok(Decoded::Incomplete(hl));
        };
        let (body, crc_bytes) = all.split_at(hl - 4);
        let stored_crc = Get::new(crc_bytes).u32().ok_or_else(short)?;
        if crc32c(body) != stored_crc {
            return Err(FormatError::checksum("header", 0));
        }
        let required_features = g.u64().ok_or_else(short)?;
        let optional_features = g.u64().ok_or_else(short)?;
        let tool_len = usize::from(g.u16().ok_or_else(short)?);
        if HEADER_MIN_LEN + tool_len > hl {
            return Err(FormatError::corrupt(
                "header",
                0,
                format!("tool string of {tool_len} bytes does not fit a header of {hl} bytes"),
            ));
        }
        let tool = g.bytes(tool_len).ok_or_else(short)?;
        let tool = String::from_utf8(tool.to_vec())
            .map_err(|_| FormatError::corrupt("header", 0, "tool string is not UTF-8"))?;
        Ok(Decoded::Complete(HeaderInfo {
            version: FormatVersion { major, minor },
            required_features,
            optional_features,
            tool,
            header_len,
        }))
    }

    /// Refuses archives this reader cannot read: another major version, or a
    /// required-feature bit this reader does not implement.
    pub fn check_supported(&self) -> Result<(), FormatError> {
        let unknown = self.required_features & !KNOWN_REQUIRED_FEATURES;
        if self.version.major != FORMAT_VERSION.major || unknown != 0 {
            return Err(FormatError::UnsupportedVersion {
                found: self.version,
                supported: FORMAT_VERSION,
                writer: self.tool.clone(),
                unknown_features: if self.version.major == FORMAT_VERSION.major {
                    unknown
                } else {
                    0
                },
            });
        }
        Ok(())
    }
}

/// Describes what a non-archive input looks like, for [`FormatError::NotAnArchive`].
pub(crate) fn sniff(buf: &[u8]) -> String {
    let what = if buf.is_empty() {
        "the input is empty"
    } else if buf.starts_with(b"PGDMP") {
        "this is a pg_dump custom-format archive (starts with \"PGDMP\"); use pg_restore"
    } else if buf.starts_with(&[0x1f, 0x8b]) {
        "this is a gzip file"
    } else if buf.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        "this is a zstd file"
    } else if buf.starts_with(b"PK\x03\x04") {
        "this is a zip file"
    } else if buf.starts_with(&[0x89]) && buf.get(1..4) == Some(b"PNG") {
        "this is a PNG image"
    } else if buf
        .iter()
        .take(64)
        .all(|b| b.is_ascii_graphic() || b.is_ascii_whitespace())
    {
        "it starts with text (a plain SQL script?)"
    } else {
        ""
    };
    if what.is_empty() {
        let shown: Vec<String> = buf.iter().take(8).map(|b| format!("{b:02x}")).collect();
        format!("unknown magic bytes {}", shown.join(" "))
    } else {
        what.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_and_incomplete() {
        let h = HeaderInfo::current("pgdump 0.1.0").unwrap();
        let bytes = h.encode().unwrap();
        assert_eq!(bytes.len(), h.header_len as usize);
        for n in 0..bytes.len() {
            match HeaderInfo::decode(&bytes[..n]).unwrap() {
                Decoded::Incomplete(need) => assert!(need > n && need <= bytes.len()),
                Decoded::Complete(_) => panic!("complete at {n}"),
            }
        }
        assert_eq!(HeaderInfo::decode(&bytes).unwrap(), Decoded::Complete(h));
    }

    #[test]
    fn versions_follow_features() {
        let h = HeaderInfo::current("t").unwrap();
        assert_eq!((h.version, h.required_features), (FORMAT_VERSION_1_0, 0));
        let h = HeaderInfo::with_features("t", FEATURE_COLUMNAR_COPY).unwrap();
        assert_eq!(h.version, FormatVersion { major: 1, minor: 1 });
        assert_eq!(h.required_features, 1);
        h.check_supported().unwrap();
        assert!(matches!(
            HeaderInfo::with_features("t", 1 << 9),
            Err(FormatError::Usage(_))
        ));
        let mut h = HeaderInfo::current("t").unwrap();
        h.required_features = 1 << 1;
        assert!(matches!(
            h.check_supported(),
            Err(FormatError::UnsupportedVersion {
                unknown_features: 2,
                ..
            })
        ));
    }

    #[test]
    fn extension_bytes_are_skipped() {
        let mut h = HeaderInfo::current("x").unwrap();
        h.version.minor = 7;
        h.header_len += 20;
        let bytes = h.encode().unwrap();
        assert_eq!(bytes.len(), HEADER_MIN_LEN + 1 + 20);
        let Decoded::Complete(d) = HeaderInfo::decode(&bytes).unwrap() else {
            panic!()
        };
        assert_eq!(d, h);
        d.check_supported().unwrap();
    }

    #[test]
    fn foreign_inputs() {
        assert_eq!(HeaderInfo::decode(b"").unwrap(), Decoded::Incomplete(16));
        assert!(sniff(b"").contains("empty"));
        for (input, word) in [
            (&b"PGDMP\x01\x10\x00"[..], "pg_dump"),
            (b"\x1f\x8b\x08\x00", "gzip"),
            (b"-- SQL", "text"),
        ] {
            match HeaderInfo::decode(input) {
                Err(FormatError::NotAnArchive { detail }) if detail.contains(word) => {}
                other => panic!("{input:?}: {other:?}"),
            }
        }
    }
}
