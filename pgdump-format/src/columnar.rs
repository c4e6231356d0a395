//! The columnar binary COPY transform (frame transform 1, FORMAT.md §6.4).
//!
//! A frame of a binary COPY stream holds tuples, each an `i16` field count followed, per
//! field, by an `i32` length (-1 = NULL) and that many bytes (big-endian, as COPY writes
//! them). Stored row by row, a compressor sees lengths, integers, timestamps and text
//! interleaved; stored column by column it sees runs of similar values and compresses
//! binary COPY better than text COPY. The transformed form is:
//!
//! ```text
//! u32 rows, u16 nfields                      (big-endian)
//! lengths: i32 × rows, for field 0; then for field 1; ... (column-major)
//! values:  the bytes of field 0 of every row (NULLs contribute none); then field 1; ...
//! ```
//!
//! It is `2 × rows − 6` bytes shorter than the tuples. [`to_columnar`] applies only when every
//! tuple has the same field count and the result is strictly shorter (4 rows or more);
//! [`from_columnar`] trusts no number in its input: every violation is a [`ColumnarError`],
//! and it never allocates more than the declared raw length.

use crate::format::EAGER_ALLOC_RAW;

/// Length of the `rows`/`nfields` prefix of the transformed form.
pub const COLUMNAR_HEADER_LEN: usize = 6;

/// Why transformed bytes cannot be turned back into tuples.
#[non_exhaustive]
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
pub enum ColumnarError {
    /// Fewer than 6 bytes: no `rows`/`nfields` prefix.
    #[error("columnar payload of {len} bytes is shorter than its 6-byte header")]
    Truncated {
        /// Bytes present.
        len: usize,
    },
    /// The transformed form must be strictly shorter than the tuples it encodes.
    #[error("columnar payload of {len} bytes is not shorter than its raw length {raw_len}")]
    NotSmaller {
        /// Bytes present.
        len: usize,
        /// Declared raw length.
        raw_len: usize,
    },
    /// `nfields` does not fit the `i16` field count of a COPY tuple.
    #[error("{nfields} fields per row is more than a COPY tuple can hold (32767)")]
    TooManyFields {
        /// The declared field count.
        nfields: u16,
    },
    /// The lengths area (`rows × nfields × 4` bytes) does not fit the bytes present.
    #[error("{rows} rows of {nfields} fields need more length bytes than the {len} bytes present")]
    LengthsPastEnd {
        /// Declared rows.
        rows: u32,
        /// Declared fields per row.
        nfields: u16,
        /// Bytes present.
        len: usize,
    },
    /// A field length below -1.
    #[error("field {field} of row {row} has length {len}")]
    BadLength {
        /// Field (column) number, from 0.
        field: u16,
        /// Row number, from 0.
        row: u32,
        /// The length found.
        len: i32,
    },
    /// The lengths do not add up to the value bytes present.
    #[error("field lengths add up to {declared} value bytes, but {present} are present")]
    ValueBytes {
        /// Sum of the non-NULL lengths.
        declared: u64,
        /// Bytes after the lengths area.
        present: u64,
    },
    /// The tuples would not have the declared raw length.
    #[error("the rows rebuild to {rebuilt} bytes, but the raw length is {raw_len}")]
    RawLen {
        /// Length of the tuples the input describes.
        rebuilt: u64,
        /// Declared raw length.
        raw_len: usize,
    },
}

fn be_i16(b: &[u8], at: usize) -> Option<i16> {
    Some(i16::from_be_bytes(
        b.get(at..at.checked_add(2)?)?.try_into().ok()?,
    ))
}

fn be_i32(b: &[u8], at: usize) -> Option<i32> {
    Some(i32::from_be_bytes(
        b.get(at..at.checked_add(4)?)?.try_into().ok()?,
    ))
}

/// Copies `src` into `dst` at `at`; `None` if it does not fit.
fn put(dst: &mut [u8], at: usize, src: &[u8]) -> Option<()> {
    dst.get_mut(at..at.checked_add(src.len())?)?
        .copy_from_slice(src);
    Some(())
}

/// Shape of a run of tuples: rows, fields per row, value bytes per field.
struct Shape {
    rows: u32,
    nfields: u16,
    col_bytes: Vec<usize>,
}

/// Parses `raw` as binary COPY tuples that all have the same field count.
fn shape(raw: &[u8]) -> Option<Shape> {
    let mut pos = 0usize;
    let mut rows = 0u32;
    let mut nfields: Option<u16> = None;
    let mut col_bytes: Vec<usize> = Vec::new();
    while pos < raw.len() {
        let n = u16::try_from(be_i16(raw, pos)?).ok()?;
        pos += 2;
        match nfields {
            Some(m) if m != n => return None,
            Some(_) => {}
            None => {
                // The first tuple's length fields must be there before sizing anything by n.
                if usize::from(n).checked_mul(4)? > raw.len() - pos {
                    return None;
                }
                nfields = Some(n);
                col_bytes = vec![0; usize::from(n)];
            }
        }
        for sum in col_bytes.iter_mut() {
            let len = be_i32(raw, pos)?;
            pos += 4;
            if len < -1 {
                return None;
            }
            if len > 0 {
                let len = usize::try_from(len).ok()?;
                pos = pos.checked_add(len).filter(|&p| p <= raw.len())?;
                *sum = sum.checked_add(len)?;
            }
        }
        rows = rows.checked_add(1)?;
    }
    Some(Shape {
        rows,
        nfields: nfields?,
        col_bytes,
    })
}

/// Rearranges a run of binary COPY tuples column by column. `None` when the transform does
/// not apply: `raw` is not a run of whole tuples, the field counts differ, or there are fewer
/// than 4 rows (the transformed form is `2 × rows − 6` bytes shorter, and must be shorter).
pub fn to_columnar(raw: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    to_columnar_into(raw, &mut out).then_some(out)
}

/// Like [`to_columnar`], into `out` (its contents replaced, capacity reused). Returns whether the
/// transform applied; `out` is empty when it did not.
pub fn to_columnar_into(raw: &[u8], out: &mut Vec<u8>) -> bool {
    let ok = fill(raw, out).is_some();
    if !ok {
        out.clear();
    }
    ok
}

fn fill(raw: &[u8], out: &mut Vec<u8>) -> Option<()> {
    let s = shape(raw)?;
    if s.rows < 4 {
        return None;
    }
    let rows = usize::try_from(s.rows).ok()?;
    let nf = usize::from(s.nfields);
    // Same bytes minus one field count per row, plus the 6-byte prefix.
    let total = raw
        .len()
        .checked_sub(rows.checked_mul(2)?)?
        .checked_add(COLUMNAR_HEADER_LEN)?;
    let lengths_at = COLUMNAR_HEADER_LEN;
    let values_at = lengths_at.checked_add(rows.checked_mul(nf)?.checked_mul(4)?)?;
    // Where each column's next length and next value go.
    let mut len_pos: Vec<usize> = Vec::with_capacity(nf);
    let mut val_pos: Vec<usize> = Vec::with_capacity(nf);
    let mut v = values_at;
    for (j, bytes) in s.col_bytes.iter().enumerate() {
        len_pos.push(lengths_at.checked_add(j.checked_mul(rows)?.checked_mul(4)?)?);
        val_pos.push(v);
        v = v.checked_add(*bytes)?;
    }
    if v != total {
        return None;
    }
    // Every byte of `out[..total]` is written below (the header, `rows` lengths per
    // column, and the values, which fill the rest exactly): no need to zero it first.
    if out.len() < total {
        out.resize(total, 0);
    }
    out.truncate(total);
    put(out, 0, &s.rows.to_be_bytes())?;
    put(out, 4, &s.nfields.to_be_bytes())?;
    let mut pos = 0usize;
    while pos < raw.len() {
        pos += 2; // field count, checked by shape()
        for (lp, vp) in len_pos.iter_mut().zip(val_pos.iter_mut()) {
            // Fixed-size copies: no memcpy call per field.
            let len_bytes: [u8; 4] = raw.get(pos..pos.checked_add(4)?)?.try_into().ok()?;
            out.get_mut(*lp..lp.checked_add(4)?)?
                .copy_from_slice(&len_bytes);
            *lp += 4;
            pos += 4;
            let len = i32::from_be_bytes(len_bytes);
            if len > 0 {
                let len = usize::try_from(len).ok()?;
                let end = pos.checked_add(len)?;
                let src = raw.get(pos..end)?;
                let dst = out.get_mut(*vp..vp.checked_add(len)?)?;
                match len {
                    4 => dst.copy_from_slice(<&[u8; 4]>::try_from(src).ok()?),
                    8 => dst.copy_from_slice(<&[u8; 8]>::try_from(src).ok()?),
                    _ => dst.copy_from_slice(src),
                }
                *vp += len;
                pos = end;
            }
        }
    }
    Some(())
}

/// Turns the transformed form back into the tuples; `raw_len` is the frame's declared raw
/// length, which the result must have.
pub fn from_columnar(bytes: &[u8], raw_len: usize) -> Result<Vec<u8>, ColumnarError> {
    let mut out = Vec::new();
    from_columnar_into(bytes, raw_len, &mut out)?;
    Ok(out)
}

/// Like [`from_columnar`], into `out` (cleared first, capacity reused; empty after an error).
///
/// Checks, before anything is allocated: the 6-byte prefix is there; `bytes` is shorter than
/// `raw_len`; `nfields ≤ 32767`; the lengths area fits; the rebuilt size `2 × rows +
/// (bytes.len() − 6)` equals `raw_len`; every length is ≥ -1; the non-NULL lengths add up to
/// exactly the bytes after the lengths area. `out` grows to at most `raw_len` bytes, and
/// allocates at most [`EAGER_ALLOC_RAW`] up front.
pub fn from_columnar_into(
    bytes: &[u8],
    raw_len: usize,
    out: &mut Vec<u8>,
) -> Result<(), ColumnarError> {
    out.clear();
    let r = rebuild(bytes, raw_len, out);
    if r.is_err() {
        out.clear();
    }
    r
}

fn rebuild(bytes: &[u8], raw_len: usize, out: &mut Vec<u8>) -> Result<(), ColumnarError> {
    let len = bytes.len();
    let truncated = || ColumnarError::Truncated { len };
    let (Some(prefix), Some(body)) = (
        bytes.get(..COLUMNAR_HEADER_LEN),
        bytes.get(COLUMNAR_HEADER_LEN..),
    ) else {
        return Err(truncated());
    };
    if len >= raw_len {
        return Err(ColumnarError::NotSmaller { len, raw_len });
    }
    let rows = u32::from_be_bytes(
        prefix
            .get(..4)
            .and_then(|b| b.try_into().ok())
            .ok_or_else(truncated)?,
    );
    let nfields = u16::from_be_bytes(
        prefix
            .get(4..6)
            .and_then(|b| b.try_into().ok())
            .ok_or_else(truncated)?,
    );
    let field_count = i16::try_from(nfields)
        .map_err(|_| ColumnarError::TooManyFields { nfields })?
        .to_be_bytes();
    // At most 2^32 × 2^16 × 4 = 2^50: no overflow in u64.
    let lengths_len = u64::from(rows) * u64::from(nfields) * 4;
    let past_end = || ColumnarError::LengthsPastEnd { rows, nfields, len };
    let lengths_len = usize::try_from(lengths_len)
        .ok()
        .filter(|&l| l <= body.len())
        .ok_or_else(past_end)?;
    let (lengths, values) = body.split_at(lengths_len);
    // Tuples = lengths + values + one field count per row.
    let rebuilt = u64::from(rows) * 2 + body.len() as u64;
    if rebuilt != raw_len as u64 {
        return Err(ColumnarError::RawLen { rebuilt, raw_len });
    }
    // rows >= 4 from here on (2 × rows = raw_len − body.len() > len − body.len() = 6), so
    // nfields × 4 <= lengths_len <= body.len(): the per-column vectors are bounded by the
    // bytes present.
    let nf = usize::from(nfields);
    let rows_n = usize::try_from(rows).map_err(|_| past_end())?;
    let column_len = rows_n
        .checked_mul(4)
        .filter(|&c| c > 0)
        .ok_or_else(past_end)?;
    let mut col_start = Vec::with_capacity(nf);
    let mut sum = 0u64;
    for (j, column) in lengths.chunks_exact(column_len).enumerate() {
        col_start.push(usize::try_from(sum).map_err(|_| past_end())?);
        for (i, chunk) in column.chunks_exact(4).enumerate() {
            let l = i32::from_be_bytes(chunk.try_into().map_err(|_| past_end())?);
            if l > 0 {
                sum += l as u64; // at most 2^48 lengths of at most 2^31: no overflow
            } else if l < -1 {
                return Err(ColumnarError::BadLength {
                    field: u16::try_from(j).unwrap_or(u16::MAX),
                    row: u32::try_from(i).unwrap_or(u32::MAX),
                    len: l,
                });
            }
        }
    }
    if sum != values.len() as u64 {
        return Err(ColumnarError::ValueBytes {
            declared: sum,
            present: values.len() as u64,
        });
    }

    // Everything adds up: the output is exactly raw_len bytes.
    out.reserve_exact(raw_len.min(EAGER_ALLOC_RAW));
    // Per column: where its next length and its next value are.
    let mut cols: Vec<(usize, usize)> = Vec::with_capacity(nf);
    for (j, v) in col_start.into_iter().enumerate() {
        let at = j
            .checked_mul(rows_n)
            .and_then(|x| x.checked_mul(4))
            .ok_or_else(past_end)?;
        cols.push((at, v));
    }
    let value_bytes = || ColumnarError::ValueBytes {
        declared: sum,
        present: values.len() as u64,
    };
    // Up to EAGER_ALLOC_RAW the whole output is reserved already; above, grow as rows come.
    let grow = raw_len > out.capacity();
    for _ in 0..rows_n {
        if grow {
            reserve(out, 2, raw_len);
        }
        out.extend_from_slice(&field_count);
        for (lp, vp) in cols.iter_mut() {
            let lend = lp.checked_add(4).ok_or_else(past_end)?;
            let lb: [u8; 4] = lengths
                .get(*lp..lend)
                .and_then(|b| b.try_into().ok())
                .ok_or_else(past_end)?;
            *lp = lend;
            let n = usize::try_from(i32::from_be_bytes(lb)).unwrap_or(0);
            let vend = vp.checked_add(n).ok_or_else(value_bytes)?;
            let v = values.get(*vp..vend).ok_or_else(value_bytes)?;
            *vp = vend;
            if grow {
                reserve(out, 4 + n, raw_len);
            }
            out.extend_from_slice(&lb);
            out.extend_from_slice(v);
        }
    }
    if out.len() != raw_len {
        // Unreachable after the checks above; kept as a guard, never a panic.
        return Err(ColumnarError::RawLen {
            rebuilt: out.len() as u64,
            raw_len,
        });
    }
    Ok(())
}

/// Makes room for `extra` more bytes, doubling but never past `limit` in total (the checks
/// guarantee the output never exceeds it).
fn reserve(out: &mut Vec<u8>, extra: usize, limit: usize) {
    if out.capacity() - out.len() >= extra {
        return;
    }
    let want = out.len().saturating_add(extra);
    let target = out
        .capacity()
        .saturating_mul(2)
        .max(want)
        .min(limit.max(want));
    out.reserve_exact(target - out.len());
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Encodes tuples; `None` is NULL.
    fn tuples(rows: &[Vec<Option<Vec<u8>>>]) -> Vec<u8> {
        let mut out = Vec::new();
        for r in rows {
            out.extend_from_slice(&(r.len() as i16).to_be_bytes());
            for f in r {
                match f {
                    None => out.extend_from_slice(&(-1i32).to_be_bytes()),
                    Some(v) => {
                        out.extend_from_slice(&(v.len() as i32).to_be_bytes());
                        out.extend_from_slice(v);
                    }
                }
            }
        }
        out
    }

    fn row(i: u32) -> Vec<Option<Vec<u8>>> {
        vec![
            Some(i.to_be_bytes().to_vec()),
            if i % 3 == 0 {
                None
            } else {
                Some(format!("name {i}").into_bytes())
            },
            Some(Vec::new()),
        ]
    }

    #[test]
    fn layout() {
        let raw = tuples(&(0..4).map(row).collect::<Vec<_>>());
        let t = to_columnar(&raw).unwrap();
        assert_eq!(t.len(), raw.len() - 2);
        assert_eq!(&t[..6], &[0, 0, 0, 4, 0, 3]);
        // Lengths of field 0, then field 1, then field 2.
        let lens: Vec<i32> = t[6..6 + 48]
            .chunks(4)
            .map(|c| i32::from_be_bytes(c.try_into().unwrap()))
            .collect();
        assert_eq!(lens, [4, 4, 4, 4, -1, 6, 6, -1, 0, 0, 0, 0]);
        let values = &t[54..];
        assert_eq!(
            &values[..16],
            &[0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3]
        );
        assert_eq!(&values[16..], b"name 1name 2");
        assert_eq!(from_columnar(&t, raw.len()).unwrap(), raw);
    }

    #[test]
    fn not_applicable() {
        // Too few rows: not shorter.
        for n in 0..4 {
            let raw = tuples(&(0..n).map(row).collect::<Vec<_>>());
            assert_eq!(to_columnar(&raw), None, "{n} rows");
        }
        // Mixed field counts.
        let mut rows: Vec<_> = (0..10).map(row).collect();
        rows[7].pop();
        assert_eq!(to_columnar(&tuples(&rows)), None);
        // Not tuples: trailer, cut tuple, bad length, text COPY.
        let good = tuples(&(0..10).map(row).collect::<Vec<_>>());
        let mut trailer = good.clone();
        trailer.extend_from_slice(&(-1i16).to_be_bytes());
        assert_eq!(to_columnar(&trailer), None);
        assert_eq!(to_columnar(&good[..good.len() - 1]), None);
        let mut bad_len = good.clone();
        bad_len[2..6].copy_from_slice(&(-2i32).to_be_bytes());
        assert_eq!(to_columnar(&bad_len), None);
        assert_eq!(to_columnar(b"1\tone\n2\ttwo\n3\tthree\n4\tfour\n"), None);
        // The buffer variant leaves nothing behind.
        let mut out = vec![1, 2, 3];
        assert!(!to_columnar_into(b"xx", &mut out));
        assert!(out.is_empty());
        assert!(to_columnar_into(&good, &mut out));
        assert_eq!(from_columnar(&out, good.len()).unwrap(), good);
    }

    #[test]
    fn a_reused_buffer_holds_exactly_the_new_result() {
        // `out` is overwritten, not zeroed first: stale bytes, longer or shorter than
        // the result, must not survive anywhere in it.
        let small = tuples(&(0..10).map(row).collect::<Vec<_>>());
        let big = tuples(&(0..300).map(row).collect::<Vec<_>>());
        for (stale, raw) in [(vec![0xAA; 100_000], &small), (vec![0x55; 10], &big)] {
            let mut out = stale;
            assert!(to_columnar_into(raw, &mut out));
            assert_eq!(Some(out.clone()), to_columnar(raw));
            assert_eq!(&from_columnar(&out, raw.len()).unwrap(), raw);
        }
        let mut out = vec![0xAA; 100_000];
        assert!(to_columnar_into(&big, &mut out));
        assert!(to_columnar_into(&small, &mut out));
        assert_eq!(Some(out), to_columnar(&small));
    }

    #[test]
    fn zero_field_rows() {
        let raw = tuples(&vec![Vec::new(); 100]);
        let t = to_columnar(&raw).unwrap();
        assert_eq!(t, [0, 0, 0, 100, 0, 0]);
        assert_eq!(from_columnar(&t, 200).unwrap(), raw);
        assert!(from_columnar(&t, 201).is_err());
    }

    fn sample() -> (Vec<u8>, Vec<u8>) {
        let raw = tuples(&(0..20).map(row).collect::<Vec<_>>());
        let t = to_columnar(&raw).unwrap();
        (raw, t)
    }

    #[test]
    fn lies_are_errors() {
        let (raw, t) = sample();
        let n = raw.len();
        let err = |b: &[u8], raw_len: usize| from_columnar(b, raw_len).unwrap_err();
        assert_eq!(err(&t[..5], n), ColumnarError::Truncated { len: 5 });
        assert!(matches!(err(&t, t.len()), ColumnarError::NotSmaller { .. }));
        assert!(matches!(err(&t, n + 2), ColumnarError::RawLen { .. }));
        assert!(matches!(err(&t, n - 1), ColumnarError::RawLen { .. }));
        // rows / nfields that do not fit.
        for (rows, nf) in [(u32::MAX, 3u16), (20, 60000), (1 << 30, 1 << 14)] {
            let mut b = t.clone();
            b[..4].copy_from_slice(&rows.to_be_bytes());
            b[4..6].copy_from_slice(&nf.to_be_bytes());
            assert!(from_columnar(&b, n).is_err(), "{rows} {nf}");
        }
        let mut b = t.clone();
        b[4..6].copy_from_slice(&40000u16.to_be_bytes());
        assert!(matches!(err(&b, n), ColumnarError::TooManyFields { .. }));
        // More rows, fewer fields, same lengths area: well-formed, but other rows (the raw
        // CRC of the frame catches that).
        let mut b = t.clone();
        b[..4].copy_from_slice(&30u32.to_be_bytes());
        b[4..6].copy_from_slice(&2u16.to_be_bytes());
        assert_eq!(from_columnar(&b, n + 20).unwrap().len(), n + 20);
        // A length below -1.
        let mut b = t.clone();
        b[6 + 4 * 25..6 + 4 * 26].copy_from_slice(&(-7i32).to_be_bytes());
        assert_eq!(
            err(&b, n),
            ColumnarError::BadLength {
                field: 1,
                row: 5,
                len: -7
            }
        );
        // Lengths that claim more or fewer value bytes than present.
        for l in [5i32, 3, -1, i32::MAX] {
            let mut b = t.clone();
            b[6..10].copy_from_slice(&l.to_be_bytes());
            assert!(
                matches!(err(&b, n), ColumnarError::ValueBytes { .. }),
                "{l}"
            );
        }
        // Moving bytes between columns keeps the sum but not the rows: the raw CRC catches
        // that; here the result is still well-formed tuples of the declared length.
        let mut b = t.clone();
        b[6..10].copy_from_slice(&5i32.to_be_bytes());
        b[6 + 4 * 20 + 4..6 + 4 * 20 + 8].copy_from_slice(&5i32.to_be_bytes());
        assert_eq!(from_columnar(&b, n).unwrap().len(), n);
        // Errors leave the buffer empty.
        let mut out = vec![9; 10];
        assert!(from_columnar_into(&t, n + 2, &mut out).is_err());
        assert!(out.is_empty());
    }

    #[test]
    fn never_allocates_past_raw_len() {
        // A tiny payload describing many empty rows: output grows, capacity stays <= raw_len.
        let rows = 3_000_000u32;
        let mut t = rows.to_be_bytes().to_vec();
        t.extend_from_slice(&0u16.to_be_bytes());
        let raw_len = rows as usize * 2;
        let mut out = Vec::new();
        from_columnar_into(&t, raw_len, &mut out).unwrap();
        assert_eq!(out.len(), raw_len);
        assert!(out.capacity() <= raw_len);
    }

    fn field() -> impl Strategy<Value = Option<Vec<u8>>> {
        prop_oneof![
            3 => Just(None),
            3 => Just(Some(Vec::new())),
            10 => proptest::collection::vec(any::<u8>(), 1..12).prop_map(Some),
            1 => proptest::collection::vec(any::<u8>(), 200..3000).prop_map(Some),
        ]
    }

    fn same_width_rows() -> impl Strategy<Value = Vec<Vec<Option<Vec<u8>>>>> {
        (0usize..8).prop_flat_map(|nf| {
            proptest::collection::vec(proptest::collection::vec(field(), nf..=nf), 0..60)
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        #[test]
        fn roundtrip_exact(rows in same_width_rows()) {
            let raw = tuples(&rows);
            match to_columnar(&raw) {
                Some(t) => {
                    prop_assert!(rows.len() >= 4);
                    prop_assert_eq!(t.len() + 2 * rows.len() - 6, raw.len());
                    prop_assert_eq!(from_columnar(&t, raw.len()).unwrap(), raw);
                }
                None => prop_assert!(rows.len() < 4),
            }
        }

        #[test]
        fn mixed_field_counts_do_not_apply(
            rows in proptest::collection::vec(proptest::collection::vec(field(), 0..5), 4..40)
        ) {
            let raw = tuples(&rows);
            let same = rows.iter().all(|r| r.len() == rows[0].len());
            prop_assert_eq!(to_columnar(&raw).is_some(), same);
        }

        #[test]
        fn any_change_is_an_error_or_a_well_formed_result(
            rows in same_width_rows(),
            pos in any::<prop::sample::Index>(),
            x in 1u8..=255,
            delta in -8i64..8,
        ) {
            let raw = tuples(&rows);
            if let Some(mut t) = to_columnar(&raw) {
                let i = pos.index(t.len());
                t[i] ^= x;
                let raw_len = (raw.len() as i64 + delta).max(0) as usize;
                if let Ok(out) = from_columnar(&t, raw_len) {
                    prop_assert_eq!(out.len(), raw_len);
                    // Well-formed tuples of one width: transforming again gives the input back.
                    prop_assert_eq!(to_columnar(&out), Some(t));
                }
            }
        }

        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200), raw_len in 0usize..400) {
            let mut out = Vec::new();
            if from_columnar_into(&bytes, raw_len, &mut out).is_ok() {
                prop_assert_eq!(out.len(), raw_len);
            } else {
                prop_assert!(out.is_empty());
            }
            let _ = to_columnar(&bytes);
        }
    }
}
