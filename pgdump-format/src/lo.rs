//! Large-object stream records (see FORMAT.md, "Large-object streams").
//!
//! A large-object stream (TOC `DataKind::LargeObjects`) carries records
//! `[oid u32 LE][offset u64 LE][len u32 LE][len bytes]`, each a piece of one large
//! object's content at that byte offset. A frame holds whole records. pgdump-core
//! encodes and decodes them; these helpers are the reference implementation.

use crate::error::FormatError;

/// Length of a record header.
pub const LO_RECORD_HEADER_LEN: usize = 16;

/// One piece of a large object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoRecord<'a> {
    /// OID of the large object.
    pub oid: u32,
    /// Byte offset of this piece within the large object.
    pub offset: u64,
    /// The bytes.
    pub data: &'a [u8],
}

/// Appends one record to `out`. Fails if `data` is longer than `u32::MAX` or
/// `offset + data.len()` overflows.
pub fn encode_record(
    out: &mut Vec<u8>,
    oid: u32,
    offset: u64,
    data: &[u8],
) -> Result<(), FormatError> {
    let len = u32::try_from(data.len()).map_err(|_| {
        FormatError::Usage(format!(
            "large object {oid}: piece of {} bytes is too long",
            data.len()
        ))
    })?;
    if offset.checked_add(u64::from(len)).is_none() {
        return Err(FormatError::Usage(format!(
            "large object {oid}: offset {offset} overflows"
        )));
    }
    out.reserve(LO_RECORD_HEADER_LEN.saturating_add(data.len()));
    out.extend_from_slice(&oid.to_le_bytes());
    out.extend_from_slice(&offset.to_le_bytes());
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(data);
    Ok(())
}

/// Iterates over the records of one frame's payload. Yields an error (and then stops)
/// when the payload ends inside a record or a piece's end offset overflows.
pub fn decode_records(payload: &[u8]) -> LoRecords<'_> {
    LoRecords {
        rest: payload,
        pos: 0,
        failed: false,
    }
}

/// Iterator returned by [`decode_records`].
#[derive(Clone, Debug)]
pub struct LoRecords<'a> {
    rest: &'a [u8],
    pos: usize,
    failed: bool,
}

impl<'a> Iterator for LoRecords<'a> {
    type Item = Result<LoRecord<'a>, FormatError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.rest.is_empty() {
            return None;
        }
        let r = self.decode_one();
        if r.is_err() {
            self.failed = true;
        }
        Some(r)
    }
}

impl<'a> LoRecords<'a> {
    fn decode_one(&mut self) -> Result<LoRecord<'a>, FormatError> {
        let at = self.pos as u64;
        let bad = |d: &str| FormatError::corrupt("large-object record", at, d);
        let (head, rest) = self
            .rest
            .split_at_checked(LO_RECORD_HEADER_LEN)
            .ok_or_else(|| bad("payload ends inside a record header"))?;
        let (oid, head) = head
            .split_first_chunk::<4>()
            .ok_or_else(|| bad("short header"))?;
        let (offset, head) = head
            .split_first_chunk::<8>()
            .ok_or_else(|| bad("short header"))?;
        let (len, _) = head
            .split_first_chunk::<4>()
            .ok_or_else(|| bad("short header"))?;
        let oid = u32::from_le_bytes(*oid);
        let offset = u64::from_le_bytes(*offset);
        let len = u32::from_le_bytes(*len);
        if offset.checked_add(u64::from(len)).is_none() {
            return Err(bad("offset + length overflows"));
        }
        let (data, rest) = rest
            .split_at_checked(len as usize)
            .ok_or_else(|| bad("payload ends inside a record's data"))?;
        self.rest = rest;
        self.pos = self
            .pos
            .saturating_add(LO_RECORD_HEADER_LEN)
            .saturating_add(data.len());
        Ok(LoRecord { oid, offset, data })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip() {
        let mut buf = Vec::new();
        encode_record(&mut buf, 16384, 0, b"hello").unwrap();
        encode_record(&mut buf, 16384, 5, b" world").unwrap();
        encode_record(&mut buf, 16385, 0, b"").unwrap();
        assert_eq!(buf.len(), 3 * 16 + 11);
        assert_eq!(
            &buf[..16],
            &[0, 0x40, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0]
        );
        let recs: Vec<_> = decode_records(&buf).collect::<Result<_, _>>().unwrap();
        assert_eq!(
            recs,
            vec![
                LoRecord {
                    oid: 16384,
                    offset: 0,
                    data: b"hello"
                },
                LoRecord {
                    oid: 16384,
                    offset: 5,
                    data: b" world"
                },
                LoRecord {
                    oid: 16385,
                    offset: 0,
                    data: b""
                },
            ]
        );
        assert_eq!(decode_records(&[]).count(), 0);
    }

    #[test]
    fn damaged() {
        let mut buf = Vec::new();
        encode_record(&mut buf, 1, 0, b"abc").unwrap();
        for cut in 1..buf.len() {
            let r: Result<Vec<_>, _> = decode_records(&buf[..cut]).collect();
            assert!(matches!(r, Err(FormatError::Corrupt { .. })), "{cut}");
        }
        let mut bad = Vec::new();
        bad.extend_from_slice(&1u32.to_le_bytes());
        bad.extend_from_slice(&u64::MAX.to_le_bytes());
        bad.extend_from_slice(&1u32.to_le_bytes());
        bad.push(0);
        assert!(decode_records(&bad).next().unwrap().is_err());
        assert!(encode_record(&mut Vec::new(), 1, u64::MAX, b"x").is_err());
        // An error ends the iteration.
        let mut it = decode_records(&buf[..5]);
        assert!(it.next().unwrap().is_err());
        assert!(it.next().is_none());
    }
}
