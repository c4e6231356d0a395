//! Codecs: compress and decompress one frame payload, with bounded output.
//!
//! Each frame is compressed on its own (zstd frame, gzip member, or stored), so any
//! frame can be decoded without the others. Decompression never produces more than
//! the declared raw length: a payload that inflates beyond it is corrupt, not an
//! out-of-memory.

use std::fmt;
use std::io::{Read, Write};
use std::str::FromStr;

use crate::error::FormatError;

/// Codec of one frame, with its compression level.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Codec {
    /// Stored as is.
    None,
    /// Zstandard (RFC 8878); level as zstd understands it (default 3, 0 means 3).
    Zstd {
        /// Compression level.
        level: i32,
    },
    /// gzip (RFC 1952), one member per frame; level 1..=9 (default 6).
    Gzip {
        /// Compression level.
        level: u32,
    },
}

/// Default zstd level.
pub const ZSTD_DEFAULT_LEVEL: i32 = 3;
/// Default gzip level.
pub const GZIP_DEFAULT_LEVEL: u32 = 6;

impl Default for Codec {
    fn default() -> Self {
        Codec::Zstd {
            level: ZSTD_DEFAULT_LEVEL,
        }
    }
}

impl Codec {
    /// The on-disk codec, without level.
    pub fn kind(self) -> CodecKind {
        match self {
            Codec::None => CodecKind::None,
            Codec::Zstd { .. } => CodecKind::Zstd,
            Codec::Gzip { .. } => CodecKind::Gzip,
        }
    }

    /// Checks the level.
    pub fn validate(self) -> Result<(), FormatError> {
        match self {
            Codec::None => Ok(()),
            Codec::Zstd { level } => {
                if zstd::compression_level_range().contains(&level) {
                    Ok(())
                } else {
                    Err(FormatError::Usage(format!(
                        "zstd level {level} is outside {:?}",
                        zstd::compression_level_range()
                    )))
                }
            }
            Codec::Gzip { level } => {
                if (1..=9).contains(&level) {
                    Ok(())
                } else {
                    Err(FormatError::Usage(format!(
                        "gzip level {level} is outside 1..=9"
                    )))
                }
            }
        }
    }
}

impl FromStr for Codec {
    type Err = FormatError;

    /// Parses `none`, `zstd`, `zstd:N`, `gzip`, `gzip:N`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (name, level) = match s.split_once(':') {
            Some((n, l)) => (n, Some(l)),
            None => (s, None),
        };
        let bad_level =
            |l: &str| FormatError::Usage(format!("invalid compression level {l:?} in {s:?}"));
        let codec = match (name.trim().to_ascii_lowercase().as_str(), level) {
            ("none", None) => Codec::None,
            ("zstd", None) => Codec::default(),
            ("zstd", Some(l)) => Codec::Zstd {
                level: l.trim().parse().map_err(|_| bad_level(l))?,
            },
            ("gzip", None) => Codec::Gzip {
                level: GZIP_DEFAULT_LEVEL,
            },
            ("gzip", Some(l)) => Codec::Gzip {
                level: l.trim().parse().map_err(|_| bad_level(l))?,
            },
            _ => {
                return Err(FormatError::Usage(format!(
                    "unknown codec {s:?} (expected none, zstd[:LEVEL] or gzip[:LEVEL])"
                )))
            }
        };
        codec.validate()?;
        Ok(codec)
    }
}

impl fmt::Display for Codec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Codec::None => f.write_str("none"),
            Codec::Zstd { level } => write!(f, "zstd:{level}"),
            Codec::Gzip { level } => write!(f, "gzip:{level}"),
        }
    }
}

/// The codec a stored payload is encoded with (the codec byte of the format).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CodecKind {
    /// Stored bytes are the raw bytes.
    None,
    /// One zstd frame.
    Zstd,
    /// One gzip member.
    Gzip,
}

impl CodecKind {
    /// The codec byte on disk.
    pub fn id(self) -> u8 {
        match self {
            CodecKind::None => 0,
            CodecKind::Zstd => 1,
            CodecKind::Gzip => 2,
        }
    }

    /// The codec for a codec byte; `None` for an unknown byte.
    pub fn from_id(id: u8) -> Option<Self> {
        match id {
            0 => Some(CodecKind::None),
            1 => Some(CodecKind::Zstd),
            2 => Some(CodecKind::Gzip),
            _ => None,
        }
    }

    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            CodecKind::None => "none",
            CodecKind::Zstd => "zstd",
            CodecKind::Gzip => "gzip",
        }
    }
}

impl fmt::Display for CodecKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Reusable compression contexts (one zstd context, kept across calls).
#[derive(Default)]
pub(crate) struct Compressors {
    zstd: Option<(i32, zstd::bulk::Compressor<'static>)>,
}

impl Compressors {
    /// Compresses `raw`. Returns the compressed bytes when they are strictly smaller
    /// than `raw`, or `None` when the payload should be stored raw.
    pub(crate) fn compress(
        &mut self,
        codec: Codec,
        raw: &[u8],
    ) -> Result<Option<Vec<u8>>, FormatError> {
        if raw.is_empty() {
            return Ok(None);
        }
        match codec {
            Codec::None => Ok(None),
            Codec::Zstd { level } => {
                let cx = match &mut self.zstd {
                    Some((l, cx)) if *l == level => cx,
                    slot => {
                        let cx = zstd::bulk::Compressor::new(level)?;
                        &mut slot.insert((level, cx)).1
                    }
                };
                // Room for strictly less than the input: zstd reports "destination too
                // small" when it cannot shrink the payload, and we store it raw.
                let mut out = Vec::with_capacity(raw.len() - 1);
                match cx.compress_to_buffer(raw, &mut out) {
                    Ok(n) if n < raw.len() => Ok(Some(out)),
                    _ => Ok(None),
                }
            }
            Codec::Gzip { level } => {
                let mut enc = flate2::GzBuilder::new().write(
                    Vec::with_capacity(raw.len() / 2),
                    flate2::Compression::new(level),
                );
                enc.write_all(raw)?;
                let out = enc.finish()?;
                Ok((out.len() < raw.len()).then_some(out))
            }
        }
    }
}

/// Why a payload could not be decompressed.
#[derive(Debug)]
pub(crate) enum DecompressError {
    /// The payload is not valid for its codec.
    Invalid(String),
    /// The payload produces more or fewer bytes than declared.
    Length { declared: usize, got: String },
    /// The payload produces more bytes than the bound of a transformed payload.
    TooLong { limit: usize },
}

impl fmt::Display for DecompressError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecompressError::Invalid(m) => write!(f, "cannot decompress: {m}"),
            DecompressError::Length { declared, got } => {
                write!(
                    f,
                    "decompressed to {got} bytes, but the raw length is {declared}"
                )
            }
            DecompressError::TooLong { limit } => write!(
                f,
                "decompressed to more than {limit} bytes, but a transformed payload is shorter \
                 than its raw length"
            ),
        }
    }
}

/// How many bytes a decompressed payload must have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OutLen {
    /// Exactly this many (an untransformed payload: its raw length).
    Exact(usize),
    /// At most this many (a transformed payload, shorter than its raw length).
    AtMost(usize),
}

impl OutLen {
    fn limit(self) -> usize {
        match self {
            OutLen::Exact(n) | OutLen::AtMost(n) => n,
        }
    }

    /// Checks the length produced; the error names it.
    fn check(self, got: usize) -> Result<(), DecompressError> {
        match self {
            OutLen::Exact(n) if got != n => Err(DecompressError::Length {
                declared: n,
                got: if got > n {
                    format!("more than {n}")
                } else {
                    got.to_string()
                },
            }),
            OutLen::AtMost(n) if got > n => Err(DecompressError::TooLong { limit: n }),
            _ => Ok(()),
        }
    }
}

/// Reusable decompression contexts.
#[derive(Default)]
pub(crate) struct Decompressors {
    zstd: Option<zstd::bulk::Decompressor<'static>>,
}

impl Decompressors {
    /// Decompresses `stored` into `out` (cleared first), producing exactly `raw_len` bytes
    /// or an error. Never writes more than `raw_len` bytes.
    pub(crate) fn decompress(
        &mut self,
        kind: CodecKind,
        stored: &[u8],
        raw_len: usize,
        out: &mut Vec<u8>,
    ) -> Result<(), DecompressError> {
        self.decompress_len(kind, stored, OutLen::Exact(raw_len), out)
    }

    /// Decompresses `stored` into `out` (cleared first), producing as many bytes as `len`
    /// allows or an error (`out` is then empty). Never writes more than `len.limit()` bytes
    /// (give or take the slack of one allocation), and allocates at most
    /// [`crate::format::EAGER_ALLOC_RAW`] before output really appears.
    pub(crate) fn decompress_len(
        &mut self,
        kind: CodecKind,
        stored: &[u8],
        len: OutLen,
        out: &mut Vec<u8>,
    ) -> Result<(), DecompressError> {
        out.clear();
        let r = self.decompress_inner(kind, stored, len, out);
        if r.is_err() {
            out.clear();
        }
        r
    }

    fn decompress_inner(
        &mut self,
        kind: CodecKind,
        stored: &[u8],
        len: OutLen,
        out: &mut Vec<u8>,
    ) -> Result<(), DecompressError> {
        let limit = len.limit();
        match kind {
            CodecKind::None => {
                len.check(stored.len())?;
                out.extend_from_slice(stored);
            }
            CodecKind::Zstd if limit > crate::format::EAGER_ALLOC_RAW => {
                // A huge frame (one huge row): stream it, growing the buffer only as
                // bytes are produced, never past the declared length.
                out.reserve(crate::format::EAGER_ALLOC_RAW);
                let mut dec = zstd::stream::read::Decoder::with_buffer(stored)
                    .map_err(|e| DecompressError::Invalid(format!("zstd: {e}")))?;
                (&mut dec)
                    .take((limit as u64).saturating_add(1))
                    .read_to_end(out)
                    .map_err(|e| DecompressError::Invalid(format!("zstd: {e}")))?;
                len.check(out.len())?;
            }
            CodecKind::Zstd => {
                let dx = match &mut self.zstd {
                    Some(dx) => dx,
                    slot => {
                        let dx = zstd::bulk::Decompressor::new()
                            .map_err(|e| DecompressError::Invalid(e.to_string()))?;
                        slot.insert(dx)
                    }
                };
                out.reserve_exact(limit);
                // The destination has room for `limit` bytes (maybe a few more): zstd fails
                // with "destination too small" instead of growing past it.
                match dx.decompress_to_buffer(stored, out) {
                    Ok(n) => len.check(n)?,
                    // A zstd payload that inflates past the limit also lands here.
                    Err(e) => return Err(DecompressError::Invalid(format!("zstd: {e}"))),
                }
            }
            CodecKind::Gzip => {
                out.reserve_exact(limit.min(crate::format::EAGER_ALLOC_RAW));
                let mut dec = flate2::bufread::GzDecoder::new(stored);
                (&mut dec)
                    .take((limit as u64).saturating_add(1))
                    .read_to_end(out)
                    .map_err(|e| DecompressError::Invalid(format!("gzip: {e}")))?;
                len.check(out.len())?;
                // Make the decoder read the trailer (it checks the gzip CRC-32 and size; a
                // no-op when it already ended) and require that nothing follows it.
                let mut probe = [0u8; 1];
                match dec.read(&mut probe) {
                    Ok(0) => {}
                    Ok(_) => {
                        return Err(DecompressError::Length {
                            declared: limit,
                            got: format!("more than {limit}"),
                        })
                    }
                    Err(e) => return Err(DecompressError::Invalid(format!("gzip: {e}"))),
                }
                if !dec.into_inner().is_empty() {
                    return Err(DecompressError::Invalid(
                        "bytes after the gzip member".into(),
                    ));
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_display() {
        for (s, c, back) in [
            ("none", Codec::None, "none"),
            ("zstd", Codec::Zstd { level: 3 }, "zstd:3"),
            ("zstd:1", Codec::Zstd { level: 1 }, "zstd:1"),
            ("zstd:-5", Codec::Zstd { level: -5 }, "zstd:-5"),
            ("gzip", Codec::Gzip { level: 6 }, "gzip:6"),
            ("gzip:1", Codec::Gzip { level: 1 }, "gzip:1"),
            ("ZSTD:19", Codec::Zstd { level: 19 }, "zstd:19"),
        ] {
            let parsed: Codec = s.parse().unwrap();
            assert_eq!(parsed, c);
            assert_eq!(parsed.to_string(), back);
            assert_eq!(back.parse::<Codec>().unwrap(), c);
        }
        for bad in [
            "lz4", "gzip:0", "gzip:10", "zstd:x", "zstd:99", "none:1", "",
        ] {
            assert!(bad.parse::<Codec>().is_err(), "{bad}");
        }
    }

    #[test]
    fn compress_roundtrip_and_caps() {
        let raw: Vec<u8> = b"hello hello hello hello hello hello hello ".repeat(100);
        let mut c = Compressors::default();
        let mut d = Decompressors::default();
        for codec in [
            Codec::Zstd { level: 1 },
            Codec::Zstd { level: 3 },
            Codec::Gzip { level: 6 },
        ] {
            let stored = c.compress(codec, &raw).unwrap().unwrap();
            assert!(stored.len() < raw.len());
            let mut out = Vec::new();
            d.decompress(codec.kind(), &stored, raw.len(), &mut out)
                .unwrap();
            assert_eq!(out, raw);
            // Declared shorter than real: refused, output capped.
            let err = d.decompress(codec.kind(), &stored, raw.len() - 1, &mut out);
            assert!(err.is_err(), "{codec}");
            assert!(out.len() < raw.len());
            // Declared longer than real: refused.
            assert!(d
                .decompress(codec.kind(), &stored, raw.len() + 1, &mut out)
                .is_err());
        }
    }

    #[test]
    fn incompressible_is_stored() {
        let mut x = 0x1234_5678_9abc_def0u64;
        let raw: Vec<u8> = (0..10_000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        let mut c = Compressors::default();
        for codec in [
            Codec::Zstd { level: 3 },
            Codec::Gzip { level: 6 },
            Codec::None,
        ] {
            assert!(c.compress(codec, &raw).unwrap().is_none());
        }
        assert!(c.compress(Codec::default(), b"").unwrap().is_none());
        assert!(c.compress(Codec::default(), b"a").unwrap().is_none());
    }

    #[test]
    fn bounded_output() {
        let raw: Vec<u8> = b"columns columns columns columns ".repeat(50);
        let mut c = Compressors::default();
        let mut d = Decompressors::default();
        for codec in [Codec::Zstd { level: 1 }, Codec::Gzip { level: 1 }] {
            let stored = c.compress(codec, &raw).unwrap().unwrap();
            let mut out = Vec::new();
            for bound in [raw.len(), raw.len() + 1, raw.len() + 100] {
                d.decompress_len(codec.kind(), &stored, OutLen::AtMost(bound), &mut out)
                    .unwrap();
                assert_eq!(out, raw);
            }
            let short = OutLen::AtMost(raw.len() - 1);
            assert!(d
                .decompress_len(codec.kind(), &stored, short, &mut out)
                .is_err());
            assert!(out.is_empty());
        }
        let mut out = Vec::new();
        d.decompress_len(CodecKind::None, b"abc", OutLen::AtMost(3), &mut out)
            .unwrap();
        assert!(d
            .decompress_len(CodecKind::None, b"abc", OutLen::AtMost(2), &mut out)
            .is_err());
    }
}
