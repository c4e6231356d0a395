//! Binary COPY tuples to text COPY rows, without a server.
//!
//! pgdump dumps a table with binary COPY when every column type allows it, and
//! stores its tuples without the binary header and trailer (see
//! [`crate::copy_data`]): an `int16` field count, then per field an `int32`
//! length (-1 for NULL) and that many bytes, all big-endian. A plain SQL script
//! needs those rows in *text* COPY format, so this module prints each binary
//! value exactly as the server's output function does under the session
//! settings pgdump dumps with:
//!
//! `DateStyle=ISO`, `IntervalStyle=postgres`, `extra_float_digits=3`,
//! `TimeZone=UTC`, `bytea_output=hex`, `client_encoding=UTF8`,
//!
//! and then escapes it for COPY text format (`\\`, `\b`, `\f`, `\n`, `\r`,
//! `\t`, `\v`; `\N` for NULL; a tab between columns and a newline after the
//! row), exactly as the server's COPY TO does. The result is byte-identical to
//! the server's own text COPY output for the same rows (see "Differences" for
//! the exceptions, all of which still load back to the identical value), and
//! `tests/it/copy_text.rs` checks that against PostgreSQL 10 to 18.
//!
//! # Types
//!
//! [`SUPPORTED_TYPES`] lists the scalar types; one-dimensional and
//! multi-dimensional arrays of them (any lower bounds, NULL elements) are
//! supported too, through their built-in array types. Ranges and multiranges
//! over built-in subtypes are included, and so are arrays of them. Domains are
//! converted as their base type; enums as [`ColumnType::Enum`] (the binary
//! form of an enum is its label), arrays of enums as
//! [`ColumnType::EnumArray`]. Everything else (composite types, other range
//! types, `tid`, `int2vector`, `oidvector`, `reg*`, extension types, ...) is
//! not supported: pgdump dumps such tables in text format instead.
//!
//! # Differences from the server's text, and assumptions
//!
//! - `float4`/`float8` (also inside geometric types) are printed as
//!   PostgreSQL 12+ prints them with `extra_float_digits > 0`: the shortest
//!   digits by its variant of Ryu (rounding interval bounds excluded, exact
//!   ties to even), which read back to the same bits. Servers before 12
//!   print 17 (9) significant digits instead; both read back the same.
//! - `money` is printed as a plain decimal with two fraction digits
//!   (`-1234.56`), which the server reads back for any `lc_monetary` whose
//!   decimal point is `.` and whose currency has two fraction digits (C,
//!   POSIX, `en_US` and most others). The binary value is a count of the
//!   smallest currency unit, so a currency with another number of fraction
//!   digits (`frac_digits` of the dumped server's `lc_monetary`, e.g. JPY) is
//!   not printed correctly. The server itself prints `$1,234.56` under
//!   `lc_monetary=C`.
//! - `"char"` bytes with the high bit set are printed as `\ooo` (octal), as
//!   PostgreSQL 15+ does and reads back; older servers print the raw byte
//!   (invalid UTF-8) and do not read `\ooo` back.
//! - `interval` values whose three fields all hold the minimum (maximum)
//!   integers are PostgreSQL 17's `-infinity` (`infinity`) and printed so.
//! - Text-like values must be valid UTF-8 without NUL bytes (the dump runs with
//!   `client_encoding=UTF8`); anything else is a [`ConvertError`].

use std::borrow::Cow;

/// Type OIDs (stable, built-in).
mod oid {
    pub const BOOL: u32 = 16;
    pub const BYTEA: u32 = 17;
    pub const CHAR: u32 = 18;
    pub const NAME: u32 = 19;
    pub const INT8: u32 = 20;
    pub const INT2: u32 = 21;
    pub const INT4: u32 = 23;
    pub const TEXT: u32 = 25;
    pub const OID: u32 = 26;
    pub const XID: u32 = 28;
    pub const CID: u32 = 29;
    pub const JSON: u32 = 114;
    pub const XML: u32 = 142;
    pub const POINT: u32 = 600;
    pub const LSEG: u32 = 601;
    pub const PATH: u32 = 602;
    pub const BOX: u32 = 603;
    pub const POLYGON: u32 = 604;
    pub const LINE: u32 = 628;
    pub const CIDR: u32 = 650;
    pub const FLOAT4: u32 = 700;
    pub const FLOAT8: u32 = 701;
    pub const CIRCLE: u32 = 718;
    pub const MACADDR8: u32 = 774;
    pub const MONEY: u32 = 790;
    pub const MACADDR: u32 = 829;
    pub const INET: u32 = 869;
    pub const BPCHAR: u32 = 1042;
    pub const VARCHAR: u32 = 1043;
    pub const DATE: u32 = 1082;
    pub const TIME: u32 = 1083;
    pub const TIMESTAMP: u32 = 1114;
    pub const TIMESTAMPTZ: u32 = 1184;
    pub const INTERVAL: u32 = 1186;
    pub const TIMETZ: u32 = 1266;
    pub const BIT: u32 = 1560;
    pub const VARBIT: u32 = 1562;
    pub const NUMERIC: u32 = 1700;
    pub const REFCURSOR: u32 = 1790;
    pub const UUID: u32 = 2950;
    pub const PG_LSN: u32 = 3220;
    pub const TSVECTOR: u32 = 3614;
    pub const TSQUERY: u32 = 3615;
    pub const JSONB: u32 = 3802;
    pub const INT4RANGE: u32 = 3904;
    pub const NUMRANGE: u32 = 3906;
    pub const TSRANGE: u32 = 3908;
    pub const TSTZRANGE: u32 = 3910;
    pub const DATERANGE: u32 = 3912;
    pub const INT8RANGE: u32 = 3926;
    pub const JSONPATH: u32 = 4072;
    pub const INT4MULTIRANGE: u32 = 4451;
    pub const NUMMULTIRANGE: u32 = 4532;
    pub const TSMULTIRANGE: u32 = 4533;
    pub const TSTZMULTIRANGE: u32 = 4534;
    pub const DATEMULTIRANGE: u32 = 4535;
    pub const INT8MULTIRANGE: u32 = 4536;
    pub const XID8: u32 = 5069;

    /// The first OID of objects created after initdb (user types: domains, enums).
    pub const FIRST_NORMAL_OBJECT_ID: u32 = 16384;
}

/// Type OIDs (stable built-in OIDs) whose binary form this module converts to
/// text. These are scalars (including ranges and multiranges); arrays are
/// supported when their element type is (see [`is_supported`]).
pub const SUPPORTED_TYPES: &[u32] = &[
    oid::BOOL,
    oid::BYTEA,
    oid::CHAR,
    oid::NAME,
    oid::INT8,
    oid::INT2,
    oid::INT4,
    oid::TEXT,
    oid::OID,
    oid::XID,
    oid::CID,
    oid::JSON,
    oid::XML,
    oid::POINT,
    oid::LSEG,
    oid::PATH,
    oid::BOX,
    oid::POLYGON,
    oid::LINE,
    oid::CIDR,
    oid::FLOAT4,
    oid::FLOAT8,
    oid::CIRCLE,
    oid::MACADDR8,
    oid::MONEY,
    oid::MACADDR,
    oid::INET,
    oid::BPCHAR,
    oid::VARCHAR,
    oid::DATE,
    oid::TIME,
    oid::TIMESTAMP,
    oid::TIMESTAMPTZ,
    oid::INTERVAL,
    oid::TIMETZ,
    oid::BIT,
    oid::VARBIT,
    oid::NUMERIC,
    oid::REFCURSOR,
    oid::UUID,
    oid::PG_LSN,
    oid::TSVECTOR,
    oid::TSQUERY,
    oid::JSONB,
    oid::INT4RANGE,
    oid::NUMRANGE,
    oid::TSRANGE,
    oid::TSTZRANGE,
    oid::DATERANGE,
    oid::INT8RANGE,
    oid::JSONPATH,
    oid::INT4MULTIRANGE,
    oid::NUMMULTIRANGE,
    oid::TSMULTIRANGE,
    oid::TSTZMULTIRANGE,
    oid::DATEMULTIRANGE,
    oid::INT8MULTIRANGE,
    oid::XID8,
];

/// Built-in array types of the supported scalars: (array type OID, element type OID).
const ARRAY_TYPES: &[(u32, u32)] = &[
    (1000, oid::BOOL),
    (1001, oid::BYTEA),
    (1002, oid::CHAR),
    (1003, oid::NAME),
    (1016, oid::INT8),
    (1005, oid::INT2),
    (1007, oid::INT4),
    (1009, oid::TEXT),
    (1028, oid::OID),
    (1011, oid::XID),
    (1012, oid::CID),
    (199, oid::JSON),
    (143, oid::XML),
    (1017, oid::POINT),
    (1018, oid::LSEG),
    (1019, oid::PATH),
    (1020, oid::BOX),
    (1027, oid::POLYGON),
    (629, oid::LINE),
    (651, oid::CIDR),
    (1021, oid::FLOAT4),
    (1022, oid::FLOAT8),
    (719, oid::CIRCLE),
    (775, oid::MACADDR8),
    (791, oid::MONEY),
    (1040, oid::MACADDR),
    (1041, oid::INET),
    (1014, oid::BPCHAR),
    (1015, oid::VARCHAR),
    (1182, oid::DATE),
    (1183, oid::TIME),
    (1115, oid::TIMESTAMP),
    (1185, oid::TIMESTAMPTZ),
    (1187, oid::INTERVAL),
    (1270, oid::TIMETZ),
    (1561, oid::BIT),
    (1563, oid::VARBIT),
    (1231, oid::NUMERIC),
    (2201, oid::REFCURSOR),
    (2951, oid::UUID),
    (3221, oid::PG_LSN),
    (3643, oid::TSVECTOR),
    (3645, oid::TSQUERY),
    (3807, oid::JSONB),
    (3905, oid::INT4RANGE),
    (3907, oid::NUMRANGE),
    (3909, oid::TSRANGE),
    (3911, oid::TSTZRANGE),
    (3913, oid::DATERANGE),
    (3927, oid::INT8RANGE),
    (4073, oid::JSONPATH),
    (6150, oid::INT4MULTIRANGE),
    (6151, oid::NUMMULTIRANGE),
    (6152, oid::TSMULTIRANGE),
    (6153, oid::TSTZMULTIRANGE),
    (6155, oid::DATEMULTIRANGE),
    (6157, oid::INT8MULTIRANGE),
    (271, oid::XID8),
];

/// Whether a column of this type OID can be converted: a supported scalar
/// ([`SUPPORTED_TYPES`]) or the built-in array type of one.
pub fn is_supported(type_oid: u32) -> bool {
    kind_of(type_oid).is_some() || array_element(type_oid).is_some()
}

/// The element type OID of a supported built-in array type.
fn array_element(type_oid: u32) -> Option<u32> {
    ARRAY_TYPES
        .iter()
        .find(|&&(array, _)| array == type_oid)
        .map(|&(_, elem)| elem)
}

/// How each column is decoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ColumnType {
    /// A built-in type by OID: a scalar of [`SUPPORTED_TYPES`] or a built-in
    /// array of one. Domains are passed as their base type.
    Builtin(u32),
    /// An enum: the binary form is the label's text.
    Enum,
    /// An array of an enum (elements are labels).
    EnumArray,
}

/// Why a binary tuple could not be converted. Type OIDs are 0 for enums.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConvertError {
    /// The tuple's field count is not the number of columns.
    #[error("binary tuple has {found} fields, expected {expected}")]
    FieldCount {
        /// Number of columns given.
        expected: usize,
        /// Field count in the tuple (-1 is the end-of-data marker).
        found: i16,
    },
    /// The tuple ends early: in the field count, a field length or field data.
    #[error("binary tuple is truncated at column {column} (type oid {type_oid})")]
    Truncated {
        /// Index of the column being read (0-based; 0 also for the field count).
        column: usize,
        /// Type OID of that column.
        type_oid: u32,
    },
    /// A field length below -1.
    #[error("column {column} (type oid {type_oid}): invalid field length {length}")]
    BadLength {
        /// Column index (0-based).
        column: usize,
        /// Type OID of the column.
        type_oid: u32,
        /// The length read.
        length: i32,
    },
    /// Bytes after the last field of a tuple given to [`tuple_to_text`].
    #[error("{extra} bytes after the last field of the binary tuple")]
    TrailingBytes {
        /// Number of extra bytes.
        extra: usize,
    },
    /// A column type this module does not convert.
    #[error("column {column}: type oid {type_oid} is not supported")]
    Unsupported {
        /// Column index (0-based).
        column: usize,
        /// The unsupported type OID.
        type_oid: u32,
    },
    /// A value is malformed for its type (or cannot be printed exactly).
    #[error("column {column} (type oid {type_oid}): {reason}")]
    Value {
        /// Column index (0-based).
        column: usize,
        /// Type OID of the column.
        type_oid: u32,
        /// What is wrong with the value.
        reason: String,
    },
    /// An error in one row of a frame given to [`frame_to_text`].
    #[error("row {row} of the frame (at byte {offset}): {source}")]
    Row {
        /// Row index in the frame (0-based).
        row: u64,
        /// Byte offset of the row in the frame.
        offset: usize,
        /// What went wrong.
        #[source]
        source: Box<ConvertError>,
    },
}

/// Convert one binary tuple into one text COPY row (including the trailing
/// `'\n'`), appended to `out`. On error nothing is appended.
pub fn tuple_to_text(
    tuple: &[u8],
    columns: &[ColumnType],
    out: &mut Vec<u8>,
) -> Result<(), ConvertError> {
    let mut conv = Converter::default();
    let plan = plan(columns)?;
    let start_len = out.len();
    let used = conv.tuple(tuple, &plan, out)?;
    if used != tuple.len() {
        out.truncate(start_len);
        return Err(ConvertError::TrailingBytes {
            extra: tuple.len() - used,
        });
    }
    Ok(())
}

/// Convert a frame of concatenated binary tuples (no header or trailer) into
/// text COPY rows appended to `out`; returns the number of rows. On error,
/// `out` keeps the rows before the failing one.
pub fn frame_to_text(
    frame: &[u8],
    columns: &[ColumnType],
    out: &mut Vec<u8>,
) -> Result<u64, ConvertError> {
    let mut conv = Converter::default();
    let plan = plan(columns)?;
    out.reserve(frame.len() + frame.len() / 4);
    let mut pos = 0usize;
    let mut rows = 0u64;
    while let Some(rest) = frame.get(pos..).filter(|r| !r.is_empty()) {
        match conv.tuple(rest, &plan, out) {
            Ok(used) => pos += used,
            Err(e) => {
                return Err(ConvertError::Row {
                    row: rows,
                    offset: pos,
                    source: Box::new(e),
                })
            }
        }
        rows += 1;
    }
    Ok(rows)
}

// ---------------------------------------------------------------------------
// Type resolution

/// How a scalar's binary form is read and printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scalar {
    Bool,
    Int2,
    Int4,
    Int8,
    /// oid, xid, cid: unsigned 32-bit.
    Uint4,
    /// xid8: unsigned 64-bit.
    Uint8,
    Float4,
    Float8,
    Numeric,
    Money,
    /// text, varchar, bpchar, name, json, xml, refcursor, enum labels.
    Text,
    /// jsonb, jsonpath: a version byte (1), then text.
    Versioned,
    Char,
    Bytea,
    Date,
    Time,
    TimeTz,
    Timestamp,
    TimestampTz,
    Interval,
    Uuid,
    Inet,
    Cidr,
    MacAddr,
    MacAddr8,
    Bit,
    Point,
    Lseg,
    Box,
    Line,
    Path,
    Polygon,
    Circle,
    PgLsn,
    TsVector,
    TsQuery,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Scalar(Scalar),
    /// A range over the subtype.
    Range(Scalar),
    /// A multirange over the subtype.
    Multirange(Scalar),
}

fn kind_of(type_oid: u32) -> Option<Kind> {
    use Scalar as S;
    let s = match type_oid {
        oid::BOOL => S::Bool,
        oid::BYTEA => S::Bytea,
        oid::CHAR => S::Char,
        oid::NAME | oid::TEXT | oid::JSON | oid::XML | oid::BPCHAR | oid::VARCHAR => S::Text,
        oid::REFCURSOR => S::Text,
        oid::INT8 => S::Int8,
        oid::INT2 => S::Int2,
        oid::INT4 => S::Int4,
        oid::OID | oid::XID | oid::CID => S::Uint4,
        oid::XID8 => S::Uint8,
        oid::POINT => S::Point,
        oid::LSEG => S::Lseg,
        oid::PATH => S::Path,
        oid::BOX => S::Box,
        oid::POLYGON => S::Polygon,
        oid::LINE => S::Line,
        oid::CIDR => S::Cidr,
        oid::INET => S::Inet,
        oid::FLOAT4 => S::Float4,
        oid::FLOAT8 => S::Float8,
        oid::CIRCLE => S::Circle,
        oid::MACADDR8 => S::MacAddr8,
        oid::MACADDR => S::MacAddr,
        oid::MONEY => S::Money,
        oid::DATE => S::Date,
        oid::TIME => S::Time,
        oid::TIMETZ => S::TimeTz,
        oid::TIMESTAMP => S::Timestamp,
        oid::TIMESTAMPTZ => S::TimestampTz,
        oid::INTERVAL => S::Interval,
        oid::BIT | oid::VARBIT => S::Bit,
        oid::NUMERIC => S::Numeric,
        oid::UUID => S::Uuid,
        oid::PG_LSN => S::PgLsn,
        oid::TSVECTOR => S::TsVector,
        oid::TSQUERY => S::TsQuery,
        oid::JSONB | oid::JSONPATH => S::Versioned,
        oid::INT4RANGE => return Some(Kind::Range(S::Int4)),
        oid::INT8RANGE => return Some(Kind::Range(S::Int8)),
        oid::NUMRANGE => return Some(Kind::Range(S::Numeric)),
        oid::TSRANGE => return Some(Kind::Range(S::Timestamp)),
        oid::TSTZRANGE => return Some(Kind::Range(S::TimestampTz)),
        oid::DATERANGE => return Some(Kind::Range(S::Date)),
        oid::INT4MULTIRANGE => return Some(Kind::Multirange(S::Int4)),
        oid::INT8MULTIRANGE => return Some(Kind::Multirange(S::Int8)),
        oid::NUMMULTIRANGE => return Some(Kind::Multirange(S::Numeric)),
        oid::TSMULTIRANGE => return Some(Kind::Multirange(S::Timestamp)),
        oid::TSTZMULTIRANGE => return Some(Kind::Multirange(S::TimestampTz)),
        oid::DATEMULTIRANGE => return Some(Kind::Multirange(S::Date)),
        _ => return None,
    };
    Some(Kind::Scalar(s))
}

/// A column, resolved.
#[derive(Clone, Copy, Debug)]
enum Col {
    Value(Kind),
    /// An array; `elem_oid` is the element type OID expected in the array
    /// header (`None`: any user type, for enum arrays).
    Array {
        elem: Kind,
        elem_oid: Option<u32>,
    },
}

/// How each column is read: (decoder, type OID for error messages).
fn plan(columns: &[ColumnType]) -> Result<Vec<(Col, u32)>, ConvertError> {
    columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            resolve(c).ok_or(ConvertError::Unsupported {
                column: i,
                type_oid: col_oid(c),
            })
        })
        .collect()
}

fn resolve(column: &ColumnType) -> Option<(Col, u32)> {
    match *column {
        ColumnType::Enum => Some((Col::Value(Kind::Scalar(Scalar::Text)), 0)),
        ColumnType::EnumArray => Some((
            Col::Array {
                elem: Kind::Scalar(Scalar::Text),
                elem_oid: None,
            },
            0,
        )),
        ColumnType::Builtin(t) => {
            if let Some(k) = kind_of(t) {
                return Some((Col::Value(k), t));
            }
            let e = array_element(t)?;
            Some((
                Col::Array {
                    elem: kind_of(e)?,
                    elem_oid: Some(e),
                },
                t,
            ))
        }
    }
}

// ---------------------------------------------------------------------------
// Reading

/// Why a value is bad (turned into [`ConvertError::Value`]).
type Bad = Cow<'static, str>;

fn bad<T>(msg: impl Into<Bad>) -> Result<T, Bad> {
    Err(msg.into())
}

/// A cursor over a value's bytes; every read is bounds-checked.
struct Rd<'a> {
    b: &'a [u8],
}

impl<'a> Rd<'a> {
    fn new(b: &'a [u8]) -> Self {
        Rd { b }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], Bad> {
        if n > self.b.len() {
            return bad("value is truncated");
        }
        let (head, tail) = self.b.split_at(n);
        self.b = tail;
        Ok(head)
    }

    fn arr<const N: usize>(&mut self) -> Result<[u8; N], Bad> {
        let s = self.take(N)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    fn u8(&mut self) -> Result<u8, Bad> {
        Ok(self.arr::<1>()?[0])
    }
    fn i16(&mut self) -> Result<i16, Bad> {
        Ok(i16::from_be_bytes(self.arr()?))
    }
    fn u16(&mut self) -> Result<u16, Bad> {
        Ok(u16::from_be_bytes(self.arr()?))
    }
    fn i32(&mut self) -> Result<i32, Bad> {
        Ok(i32::from_be_bytes(self.arr()?))
    }
    fn u32(&mut self) -> Result<u32, Bad> {
        Ok(u32::from_be_bytes(self.arr()?))
    }
    fn i64(&mut self) -> Result<i64, Bad> {
        Ok(i64::from_be_bytes(self.arr()?))
    }
    fn u64(&mut self) -> Result<u64, Bad> {
        Ok(u64::from_be_bytes(self.arr()?))
    }
    fn f64(&mut self) -> Result<f64, Bad> {
        Ok(f64::from_bits(self.u64()?))
    }

    /// A NUL-terminated string (the NUL is consumed, not returned).
    fn cstr(&mut self) -> Result<&'a [u8], Bad> {
        let Some(n) = self.b.iter().position(|&c| c == 0) else {
            return bad("string is not NUL-terminated");
        };
        let s = self.take(n)?;
        self.take(1)?;
        Ok(s)
    }

    /// A value that must be exactly `N` bytes.
    fn exact<const N: usize>(b: &'a [u8]) -> Result<[u8; N], Bad> {
        if b.len() != N {
            return Err(format!("length {} where {N} bytes are expected", b.len()).into());
        }
        let mut a = [0u8; N];
        a.copy_from_slice(b);
        Ok(a)
    }

    fn end(&self) -> Result<(), Bad> {
        if self.b.is_empty() {
            Ok(())
        } else {
            Err(format!("{} unexpected bytes at the end of the value", self.b.len()).into())
        }
    }
}

// ---------------------------------------------------------------------------
// Conversion

/// COPY text escapes: 0 = copy the byte, 0xff = invalid (NUL), else the
/// letter to write after a backslash.
static COPY_ESCAPE: [u8; 256] = {
    let mut t = [0u8; 256];
    t[0] = 0xff;
    t[8] = b'b';
    t[9] = b't';
    t[10] = b'n';
    t[11] = b'v';
    t[12] = b'f';
    t[13] = b'r';
    t[b'\\' as usize] = b'\\';
    t
};

/// Whether any of 8 bytes is a control character (< 0x20) or a backslash.
#[inline]
fn word_needs_escape(w: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let below_space = w.wrapping_sub(ONES * 0x20) & !w & HIGH;
    let b = w ^ (ONES * u64::from(b'\\'));
    let backslash = b.wrapping_sub(ONES) & !b & HIGH;
    (below_space | backslash) != 0
}

/// Append `src` escaped for COPY text format. Fails on NUL bytes.
fn copy_escape(src: &[u8], out: &mut Vec<u8>) -> Result<(), Bad> {
    out.reserve(src.len());
    let mut start = 0usize;
    let mut i = 0usize;
    while i < src.len() {
        // skip 8 clean bytes at a time
        if let Some(chunk) = src.get(i..i + 8) {
            let mut w = [0u8; 8];
            w.copy_from_slice(chunk);
            if !word_needs_escape(u64::from_le_bytes(w)) {
                i += 8;
                continue;
            }
        }
        let c = src[i];
        let e = COPY_ESCAPE[c as usize];
        if e != 0 {
            if e == 0xff {
                return bad("NUL byte in a text value");
            }
            out.extend_from_slice(src.get(start..i).unwrap_or_default());
            out.push(b'\\');
            out.push(e);
            start = i + 1;
        }
        i += 1;
    }
    out.extend_from_slice(src.get(start..).unwrap_or_default());
    Ok(())
}

/// Text in the client encoding (UTF-8) without NUL bytes.
fn check_text(b: &[u8]) -> Result<(), Bad> {
    if std::str::from_utf8(b).is_err() {
        return bad("text is not valid UTF-8");
    }
    if b.contains(&0) {
        return bad("NUL byte in a text value");
    }
    Ok(())
}

/// Reusable scratch buffers, so that nested values (arrays, ranges) do not
/// allocate per value.
#[derive(Default)]
struct Converter {
    pool: Vec<Vec<u8>>,
}

impl Converter {
    fn buf(&mut self) -> Vec<u8> {
        self.pool.pop().unwrap_or_default()
    }

    fn give(&mut self, mut b: Vec<u8>) {
        b.clear();
        self.pool.push(b);
    }

    /// Convert one tuple at the start of `buf`; returns the bytes consumed.
    /// On error `out` is left as it was.
    fn tuple(
        &mut self,
        buf: &[u8],
        columns: &[(Col, u32)],
        out: &mut Vec<u8>,
    ) -> Result<usize, ConvertError> {
        let start_len = out.len();
        let r = self.tuple_inner(buf, columns, out);
        if r.is_err() {
            out.truncate(start_len);
        }
        r
    }

    fn tuple_inner(
        &mut self,
        buf: &[u8],
        columns: &[(Col, u32)],
        out: &mut Vec<u8>,
    ) -> Result<usize, ConvertError> {
        let first_oid = columns.first().map_or(0, |c| c.1);
        let Some(count) = buf.get(..2) else {
            return Err(ConvertError::Truncated {
                column: 0,
                type_oid: first_oid,
            });
        };
        let count = i16::from_be_bytes([count[0], count[1]]);
        if usize::try_from(count).ok() != Some(columns.len()) {
            return Err(ConvertError::FieldCount {
                expected: columns.len(),
                found: count,
            });
        }
        let mut pos = 2usize;
        for (i, &(col, type_oid)) in columns.iter().enumerate() {
            let truncated = || ConvertError::Truncated {
                column: i,
                type_oid,
            };
            let Some(len) = buf.get(pos..pos + 4) else {
                return Err(truncated());
            };
            let len = i32::from_be_bytes([len[0], len[1], len[2], len[3]]);
            pos += 4;
            if i > 0 {
                out.push(b'\t');
            }
            if len == -1 {
                out.extend_from_slice(b"\\N");
                continue;
            }
            let Ok(n) = usize::try_from(len) else {
                return Err(ConvertError::BadLength {
                    column: i,
                    type_oid,
                    length: len,
                });
            };
            let Some(data) = pos.checked_add(n).and_then(|end| buf.get(pos..end)) else {
                return Err(truncated());
            };
            pos += n;
            self.field(col, data, out)
                .map_err(|reason| ConvertError::Value {
                    column: i,
                    type_oid,
                    reason: reason.into_owned(),
                })?;
        }
        out.push(b'\n');
        Ok(pos)
    }

    /// One non-NULL field, COPY-escaped into `out`.
    fn field(&mut self, col: Col, data: &[u8], out: &mut Vec<u8>) -> Result<(), Bad> {
        match col {
            Col::Value(Kind::Scalar(s)) => match s {
                Scalar::Text => {
                    if std::str::from_utf8(data).is_err() {
                        return bad("text is not valid UTF-8");
                    }
                    copy_escape(data, out)
                }
                Scalar::Versioned => {
                    let (text, _) = versioned(data)?;
                    copy_escape(text, out)
                }
                Scalar::Bytea => {
                    // `\x` in COPY text is `\\x`; hex digits need no escaping
                    out.extend_from_slice(b"\\\\x");
                    push_hex(out, data);
                    Ok(())
                }
                // the rest print as plain ASCII with nothing to escape
                Scalar::Char | Scalar::TsVector | Scalar::TsQuery => {
                    let mut tmp = self.buf();
                    let r = self
                        .scalar(s, data, &mut tmp)
                        .and_then(|()| copy_escape(&tmp, out));
                    self.give(tmp);
                    r
                }
                _ => self.scalar(s, data, out),
            },
            Col::Value(kind) => {
                let mut tmp = self.buf();
                let r = self
                    .value(kind, data, &mut tmp)
                    .and_then(|()| copy_escape(&tmp, out));
                self.give(tmp);
                r
            }
            Col::Array { elem, elem_oid } => {
                let mut tmp = self.buf();
                let r = self
                    .array(elem, elem_oid, data, &mut tmp)
                    .and_then(|()| copy_escape(&tmp, out));
                self.give(tmp);
                r
            }
        }
    }

    /// The output-function text of a value (not COPY-escaped).
    fn value(&mut self, kind: Kind, data: &[u8], dst: &mut Vec<u8>) -> Result<(), Bad> {
        match kind {
            Kind::Scalar(s) => self.scalar(s, data, dst),
            Kind::Range(s) => self.range(s, data, dst),
            Kind::Multirange(s) => {
                let mut rd = Rd::new(data);
                let count = rd.i32()?;
                if count < 0 {
                    return bad("negative multirange length");
                }
                dst.push(b'{');
                for i in 0..count {
                    if i > 0 {
                        dst.push(b',');
                    }
                    let len = rd.i32()?;
                    let Ok(len) = usize::try_from(len) else {
                        return bad("invalid range length in a multirange");
                    };
                    let r = rd.take(len)?;
                    self.range(s, r, dst)?;
                }
                rd.end()?;
                dst.push(b'}');
                Ok(())
            }
        }
    }

    /// range_out: `empty`, or bounds in `[`/`(` ... `]`/`)`, quoted as needed.
    fn range(&mut self, sub: Scalar, data: &[u8], dst: &mut Vec<u8>) -> Result<(), Bad> {
        const EMPTY: u8 = 0x01;
        const LB_INC: u8 = 0x02;
        const UB_INC: u8 = 0x04;
        const LB_INF: u8 = 0x08;
        const UB_INF: u8 = 0x10;
        let mut rd = Rd::new(data);
        // range_recv ignores other flags; infinite bounds are never inclusive
        let mut flags = rd.u8()? & (EMPTY | LB_INC | UB_INC | LB_INF | UB_INF);
        if flags & LB_INF != 0 {
            flags &= !LB_INC;
        }
        if flags & UB_INF != 0 {
            flags &= !UB_INC;
        }
        if flags & EMPTY != 0 {
            rd.end()?;
            dst.extend_from_slice(b"empty");
            return Ok(());
        }
        let has_lower = flags & LB_INF == 0;
        let has_upper = flags & UB_INF == 0;
        dst.push(if flags & LB_INC != 0 { b'[' } else { b'(' });
        let mut tmp = self.buf();
        let mut r = Ok(());
        for (present, last) in [(has_lower, false), (has_upper, true)] {
            if present {
                r = rd
                    .i32()
                    .and_then(|len| {
                        usize::try_from(len).map_err(|_| Bad::from("invalid range bound length"))
                    })
                    .and_then(|len| rd.take(len))
                    .and_then(|bound| {
                        tmp.clear();
                        self.scalar(sub, bound, &mut tmp)
                    });
                if r.is_err() {
                    break;
                }
                range_bound_escape(&tmp, dst);
            }
            if !last {
                dst.push(b',');
            }
        }
        self.give(tmp);
        r?;
        rd.end()?;
        dst.push(if flags & UB_INC != 0 { b']' } else { b')' });
        Ok(())
    }

    /// array_out: optional dimension decoration, nested braces, quoted elements.
    fn array(
        &mut self,
        elem: Kind,
        elem_oid: Option<u32>,
        data: &[u8],
        dst: &mut Vec<u8>,
    ) -> Result<(), Bad> {
        const MAXDIM: i32 = 6;
        const MAX_ARRAY_SIZE: i64 = 0x3fff_ffff / 8;
        let mut rd = Rd::new(data);
        let ndim = rd.i32()?;
        if !(0..=MAXDIM).contains(&ndim) {
            return Err(format!("invalid number of array dimensions {ndim}").into());
        }
        let flags = rd.i32()?;
        if flags != 0 && flags != 1 {
            return bad("invalid array flags");
        }
        let found = rd.u32()?;
        let elem_ok = match elem_oid {
            Some(e) => found == e || found >= oid::FIRST_NORMAL_OBJECT_ID,
            None => found >= oid::FIRST_NORMAL_OBJECT_ID,
        };
        if !elem_ok {
            return Err(format!("array element type oid {found} does not match the column").into());
        }
        let ndim = ndim as usize;
        let mut dims = [0i32; MAXDIM as usize];
        let mut lbs = [0i32; MAXDIM as usize];
        let mut nitems: i64 = 1;
        for d in 0..ndim {
            let len = rd.i32()?;
            let lb = rd.i32()?;
            if len < 0 {
                return bad("negative array dimension");
            }
            // ArrayCheckBounds: lower bound + length must fit an int4
            if i64::from(lb) + i64::from(len) > i64::from(i32::MAX) {
                return bad("array lower bound is too large");
            }
            nitems = nitems.saturating_mul(i64::from(len));
            if nitems > MAX_ARRAY_SIZE {
                return bad("array is too large");
            }
            dims[d] = len;
            lbs[d] = lb;
        }
        if ndim == 0 || nitems == 0 {
            rd.end()?;
            dst.extend_from_slice(b"{}");
            return Ok(());
        }
        // every element takes at least its 4-byte length
        if nitems.saturating_mul(4) > rd.b.len() as i64 {
            return bad("array data is truncated");
        }
        let dims = &dims[..ndim];
        if lbs[..ndim].iter().any(|&lb| lb != 1) {
            for (&len, &lb) in dims.iter().zip(&lbs) {
                dst.push(b'[');
                push_i64(dst, i64::from(lb));
                dst.push(b':');
                push_i64(dst, i64::from(lb) + i64::from(len) - 1);
                dst.push(b']');
            }
            dst.push(b'=');
        }
        let delim = if elem == Kind::Scalar(Scalar::Box) {
            b';'
        } else {
            b','
        };
        let mut idx = [0i32; MAXDIM as usize];
        let mut tmp = self.buf();
        let mut result = Ok(());
        let mut open_from = 0usize;
        'elements: loop {
            for _ in open_from..ndim {
                dst.push(b'{');
            }
            let len = match rd.i32() {
                Ok(l) => l,
                Err(e) => {
                    result = Err(e);
                    break;
                }
            };
            if len == -1 {
                dst.extend_from_slice(b"NULL");
            } else {
                let item = usize::try_from(len)
                    .map_err(|_| Bad::from("invalid array element length"))
                    .and_then(|n| rd.take(n));
                tmp.clear();
                if let Err(e) = item.and_then(|item| self.value(elem, item, &mut tmp)) {
                    result = Err(e);
                    break;
                }
                array_element_quote(&tmp, delim, dst);
            }
            // advance the index, closing and reopening braces
            let mut d = ndim;
            loop {
                if d == 0 {
                    break 'elements;
                }
                d -= 1;
                idx[d] += 1;
                if idx[d] < dims[d] {
                    dst.push(delim);
                    open_from = d + 1;
                    break;
                }
                idx[d] = 0;
                dst.push(b'}');
            }
        }
        self.give(tmp);
        result?;
        rd.end()
    }

    /// The output-function text of a scalar (not COPY-escaped).
    fn scalar(&mut self, s: Scalar, data: &[u8], dst: &mut Vec<u8>) -> Result<(), Bad> {
        match s {
            Scalar::Bool => {
                let [b] = Rd::exact::<1>(data)?;
                dst.push(if b != 0 { b't' } else { b'f' });
            }
            Scalar::Int2 => push_i64(dst, i16::from_be_bytes(Rd::exact(data)?).into()),
            Scalar::Int4 => push_i64(dst, i32::from_be_bytes(Rd::exact(data)?).into()),
            Scalar::Int8 => push_i64(dst, i64::from_be_bytes(Rd::exact(data)?)),
            Scalar::Uint4 => push_u64(dst, u32::from_be_bytes(Rd::exact(data)?).into()),
            Scalar::Uint8 => push_u64(dst, u64::from_be_bytes(Rd::exact(data)?)),
            Scalar::Float4 => push_f32(dst, f32::from_bits(u32::from_be_bytes(Rd::exact(data)?))),
            Scalar::Float8 => push_f64(dst, f64::from_bits(u64::from_be_bytes(Rd::exact(data)?))),
            Scalar::Numeric => write_numeric(data, dst)?,
            Scalar::Money => write_money(i64::from_be_bytes(Rd::exact(data)?), dst),
            Scalar::Text => {
                check_text(data)?;
                dst.extend_from_slice(data);
            }
            Scalar::Versioned => {
                let (text, _) = versioned(data)?;
                check_text(text)?;
                dst.extend_from_slice(text);
            }
            Scalar::Char => {
                let [c] = Rd::exact::<1>(data)?;
                if c >= 0x80 {
                    dst.extend_from_slice(&[
                        b'\\',
                        b'0' + (c >> 6),
                        b'0' + ((c >> 3) & 7),
                        b'0' + (c & 7),
                    ]);
                } else if c != 0 {
                    dst.push(c);
                }
            }
            Scalar::Bytea => {
                dst.extend_from_slice(b"\\x");
                push_hex(dst, data);
            }
            Scalar::Date => write_date(i32::from_be_bytes(Rd::exact(data)?), dst)?,
            Scalar::Time => {
                let t = i64::from_be_bytes(Rd::exact(data)?);
                write_time(t, dst)?;
            }
            Scalar::TimeTz => {
                let mut rd = Rd::new(data);
                let t = rd.i64()?;
                let zone = rd.i32()?;
                rd.end()?;
                if zone <= -TZDISP_LIMIT || zone >= TZDISP_LIMIT {
                    return bad("time zone displacement out of range");
                }
                write_time(t, dst)?;
                write_tz(zone, dst);
            }
            Scalar::Timestamp => write_timestamp(i64::from_be_bytes(Rd::exact(data)?), false, dst)?,
            Scalar::TimestampTz => {
                write_timestamp(i64::from_be_bytes(Rd::exact(data)?), true, dst)?
            }
            Scalar::Interval => {
                let mut rd = Rd::new(data);
                let time = rd.i64()?;
                let day = rd.i32()?;
                let month = rd.i32()?;
                rd.end()?;
                write_interval(time, day, month, dst);
            }
            Scalar::Uuid => {
                let u = Rd::exact::<16>(data)?;
                for (i, b) in u.iter().enumerate() {
                    if matches!(i, 4 | 6 | 8 | 10) {
                        dst.push(b'-');
                    }
                    push_hex(dst, &[*b]);
                }
            }
            Scalar::Inet => write_inet(data, false, dst)?,
            Scalar::Cidr => write_inet(data, true, dst)?,
            Scalar::MacAddr => write_mac(&Rd::exact::<6>(data)?, dst),
            Scalar::MacAddr8 => write_mac(&Rd::exact::<8>(data)?, dst),
            Scalar::Bit => {
                let mut rd = Rd::new(data);
                let nbits = rd.i32()?;
                let Ok(nbits) = usize::try_from(nbits) else {
                    return bad("negative bit string length");
                };
                if rd.b.len() != nbits.div_ceil(8) {
                    return bad("bit string length does not match its data");
                }
                dst.reserve(nbits);
                for i in 0..nbits {
                    let byte = rd.b.get(i / 8).copied().unwrap_or(0);
                    dst.push(if byte & (0x80 >> (i % 8)) != 0 {
                        b'1'
                    } else {
                        b'0'
                    });
                }
            }
            Scalar::Point => {
                let mut rd = Rd::new(data);
                write_point(&mut rd, dst)?;
                rd.end()?;
            }
            Scalar::Lseg => {
                let mut rd = Rd::new(data);
                dst.push(b'[');
                write_point(&mut rd, dst)?;
                dst.push(b',');
                write_point(&mut rd, dst)?;
                dst.push(b']');
                rd.end()?;
            }
            Scalar::Box => {
                let mut rd = Rd::new(data);
                write_point(&mut rd, dst)?;
                dst.push(b',');
                write_point(&mut rd, dst)?;
                rd.end()?;
            }
            Scalar::Line => {
                let mut rd = Rd::new(data);
                dst.push(b'{');
                push_f64(dst, rd.f64()?);
                dst.push(b',');
                push_f64(dst, rd.f64()?);
                dst.push(b',');
                push_f64(dst, rd.f64()?);
                dst.push(b'}');
                rd.end()?;
            }
            Scalar::Path => {
                let mut rd = Rd::new(data);
                let closed = rd.u8()? != 0;
                let n = rd.i32()?;
                points(
                    &mut rd,
                    n,
                    if closed { (b'(', b')') } else { (b'[', b']') },
                    dst,
                )?;
                rd.end()?;
            }
            Scalar::Polygon => {
                let mut rd = Rd::new(data);
                let n = rd.i32()?;
                points(&mut rd, n, (b'(', b')'), dst)?;
                rd.end()?;
            }
            Scalar::Circle => {
                let mut rd = Rd::new(data);
                dst.push(b'<');
                write_point(&mut rd, dst)?;
                let r = rd.f64()?;
                if r < 0.0 {
                    return bad("negative circle radius");
                }
                dst.push(b',');
                push_f64(dst, r);
                dst.push(b'>');
                rd.end()?;
            }
            Scalar::PgLsn => {
                let v = u64::from_be_bytes(Rd::exact(data)?);
                push_hex_upper(dst, v >> 32);
                dst.push(b'/');
                push_hex_upper(dst, v & 0xffff_ffff);
            }
            Scalar::TsVector => write_tsvector(data, dst)?,
            Scalar::TsQuery => write_tsquery(data, dst)?,
        }
        Ok(())
    }
}

fn col_oid(c: &ColumnType) -> u32 {
    match c {
        ColumnType::Builtin(t) => *t,
        ColumnType::Enum | ColumnType::EnumArray => 0,
    }
}

/// jsonb / jsonpath: version 1, then the text (validated).
fn versioned(data: &[u8]) -> Result<(&[u8], u8), Bad> {
    match data.split_first() {
        Some((&1, text)) => {
            if std::str::from_utf8(text).is_err() {
                return bad("text is not valid UTF-8");
            }
            Ok((text, 1))
        }
        Some((&v, _)) => Err(format!("unsupported binary format version {v}").into()),
        None => bad("empty value"),
    }
}

/// array_out's quoting of one element's text.
fn array_element_quote(text: &[u8], delim: u8, dst: &mut Vec<u8>) {
    let need = text.is_empty()
        || text.eq_ignore_ascii_case(b"NULL")
        || text.iter().any(|&c| {
            matches!(
                c,
                b'"' | b'\\' | b'{' | b'}' | b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c
            ) || c == delim
        });
    if !need {
        dst.extend_from_slice(text);
        return;
    }
    dst.push(b'"');
    for &c in text {
        if c == b'"' || c == b'\\' {
            dst.push(b'\\');
        }
        dst.push(c);
    }
    dst.push(b'"');
}

/// range_bound_escape: quote when empty or containing `"\()[],` or whitespace.
fn range_bound_escape(text: &[u8], dst: &mut Vec<u8>) {
    let need = text.is_empty()
        || text.iter().any(|&c| {
            matches!(
                c,
                b'"' | b'\\'
                    | b'('
                    | b')'
                    | b'['
                    | b']'
                    | b','
                    | b' '
                    | b'\t'
                    | b'\n'
                    | b'\r'
                    | 0x0b
                    | 0x0c
            )
        });
    if need {
        dst.push(b'"');
    }
    for &c in text {
        if c == b'"' || c == b'\\' {
            dst.push(c);
        }
        dst.push(c);
    }
    if need {
        dst.push(b'"');
    }
}

// ---------------------------------------------------------------------------
// Numbers

const DIGITS2: &[u8; 200] = b"0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

fn push_u64(dst: &mut Vec<u8>, mut v: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    while v >= 100 {
        let r = (v % 100) as usize * 2;
        v /= 100;
        i -= 2;
        buf[i..i + 2].copy_from_slice(&DIGITS2[r..r + 2]);
    }
    if v >= 10 {
        let r = v as usize * 2;
        i -= 2;
        buf[i..i + 2].copy_from_slice(&DIGITS2[r..r + 2]);
    } else {
        i -= 1;
        buf[i] = b'0' + v as u8;
    }
    dst.extend_from_slice(&buf[i..]);
}

fn push_i64(dst: &mut Vec<u8>, v: i64) {
    if v < 0 {
        dst.push(b'-');
    }
    push_u64(dst, v.unsigned_abs());
}

/// At least `width` digits, zero-padded (pg_ultostr_zeropad).
fn push_zeropad(dst: &mut Vec<u8>, v: u64, width: usize) {
    let mut n = 1;
    let mut x = v;
    while x >= 10 {
        x /= 10;
        n += 1;
    }
    for _ in n..width {
        dst.push(b'0');
    }
    push_u64(dst, v);
}

fn push_2(dst: &mut Vec<u8>, v: u32) {
    let r = (v % 100) as usize * 2;
    dst.extend_from_slice(&DIGITS2[r..r + 2]);
}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn push_hex(dst: &mut Vec<u8>, data: &[u8]) {
    dst.reserve(data.len() * 2);
    for &b in data {
        dst.push(HEX[(b >> 4) as usize]);
        dst.push(HEX[(b & 15) as usize]);
    }
}

/// `%x` of a 16-bit word.
fn push_hex_word(dst: &mut Vec<u8>, w: u16) {
    let mut started = false;
    for shift in [12u32, 8, 4, 0] {
        let d = (w >> shift) & 15;
        if d != 0 || started || shift == 0 {
            dst.push(HEX[d as usize]);
            started = true;
        }
    }
}

/// `%X`.
fn push_hex_upper(dst: &mut Vec<u8>, v: u64) {
    const HEXU: &[u8; 16] = b"0123456789ABCDEF";
    let mut buf = [0u8; 16];
    let mut i = buf.len();
    let mut v = v;
    loop {
        i -= 1;
        buf[i] = HEXU[(v & 15) as usize];
        v >>= 4;
        if v == 0 {
            break;
        }
    }
    dst.extend_from_slice(&buf[i..]);
}

/// A fixed buffer for `core::fmt` output.
struct StackBuf {
    buf: [u8; 48],
    len: usize,
}

impl std::fmt::Write for StackBuf {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        let dst = self.buf.get_mut(self.len..end).ok_or(std::fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// A positive finite binary float: `f * 2^e`, and whether the gap to the next
/// lower float is half the gap to the next higher one (a power of two).
#[derive(Clone, Copy, Debug)]
struct Binary {
    f: u64,
    e: i32,
    unequal_gaps: bool,
}

impl Binary {
    fn from_f64(v: f64) -> Binary {
        let bits = v.to_bits();
        let mant = bits & ((1 << 52) - 1);
        let exp = ((bits >> 52) & 0x7ff) as i32;
        if exp == 0 {
            Binary {
                f: mant,
                e: -1074,
                unequal_gaps: false,
            }
        } else {
            Binary {
                f: mant | (1 << 52),
                e: exp - 1075,
                unequal_gaps: mant == 0 && exp > 1,
            }
        }
    }

    fn from_f32(v: f32) -> Binary {
        let bits = v.to_bits();
        let mant = u64::from(bits & ((1 << 23) - 1));
        let exp = ((bits >> 23) & 0xff) as i32;
        if exp == 0 {
            Binary {
                f: mant,
                e: -149,
                unequal_gaps: false,
            }
        } else {
            Binary {
                f: mant | (1 << 23),
                e: exp - 150,
                unequal_gaps: mant == 0 && exp > 1,
            }
        }
    }
}

/// Shortest decimal digits, as PostgreSQL's Ryu (src/common/d2s.c, f2s.c)
/// picks them: the fewest digits strictly inside the rounding interval (it is
/// built with `STRICTLY_SHORTEST 0`: the interval's bounds are excluded even
/// for even mantissas), the one nearest the exact value, exact ties to even.
/// Returns the number of digits written to `digits` (no trailing zeros) and
/// the decimal exponent of the first digit.
///
/// `sci` is Rust's shortest `{:e}` text of the same value, which differs from
/// this only when it lies exactly on a bound of the interval or the value is
/// exactly halfway between it and a neighbour; both are detected exactly and
/// then the digits are generated with exact arithmetic instead.
fn pg_shortest(b: Binary, sci: &[u8], digits: &mut [u8; 24]) -> (usize, i32) {
    let (mant, exp) = match sci.iter().position(|&c| c == b'e') {
        Some(p) => (&sci[..p], &sci[p + 1..]),
        None => (sci, &b"0"[..]),
    };
    let mut n = 0;
    let mut d: u64 = 0;
    for &c in mant {
        if c.is_ascii_digit() && n < digits.len() {
            digits[n] = c;
            n += 1;
            d = d * 10 + u64::from(c - b'0');
        }
    }
    let (eneg, eabs) = match exp.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, exp),
    };
    let mut e: i32 = 0;
    for &c in eabs {
        e = e * 10 + i32::from(c.wrapping_sub(b'0'));
    }
    if eneg {
        e = -e;
    }
    if n == 0 || n > 17 {
        return exact_shortest(b, digits);
    }
    // the candidate is d * 10^e10
    let e10 = e - (n as i32 - 1);
    // x * 2^p2 == d' * 10^e10 (x < 2^56, d' < 2^58) needs equal powers of 5
    // (so -25 <= e10 <= 24) and of 2: most values are far from that
    if !(-26..=25).contains(&e10) || (b.e - e10).abs() > 64 {
        return (n, e);
    }
    let on_upper = dyadic_eq_decimal(2 * b.f + 1, b.e - 1, d, e10);
    let on_lower = if b.unequal_gaps {
        dyadic_eq_decimal(4 * b.f - 1, b.e - 2, d, e10)
    } else {
        dyadic_eq_decimal(2 * b.f - 1, b.e - 1, d, e10)
    };
    // 2x == (2d ± 1) * 10^e10: exactly halfway to a neighbour
    let tie = dyadic_eq_decimal(b.f, b.e + 1, 2 * d + 1, e10)
        || dyadic_eq_decimal(b.f, b.e + 1, 2 * d - 1, e10);
    if on_upper || on_lower || tie {
        return exact_shortest(b, digits);
    }
    (n, e)
}

/// Whether `a * 2^p2 == c * 10^e10` (a, c > 0), by comparing the exponents
/// of 2 and 5 and what is left after removing them.
fn dyadic_eq_decimal(a: u64, p2: i32, c: u64, e10: i32) -> bool {
    fn split(mut v: u64) -> (u64, i32, i32) {
        let twos = v.trailing_zeros() as i32;
        v >>= twos;
        let mut fives = 0;
        while v % 5 == 0 {
            v /= 5;
            fives += 1;
        }
        (v, twos, fives)
    }
    if a == 0 || c == 0 {
        return false;
    }
    let (ar, a2, a5) = split(a);
    let (cr, c2, c5) = split(c);
    ar == cr && a2 + p2 == c2 + e10 && a5 == c5 + e10
}

/// A small unsigned big integer for the exact digit generation.
#[derive(Clone)]
struct Big {
    len: usize,
    limbs: [u32; 48],
}

impl Big {
    fn from_u64(v: u64) -> Big {
        let mut b = Big {
            len: 2,
            limbs: [0; 48],
        };
        b.limbs[0] = v as u32;
        b.limbs[1] = (v >> 32) as u32;
        b.trim();
        b
    }

    fn trim(&mut self) {
        while self.len > 0 && self.limbs[self.len - 1] == 0 {
            self.len -= 1;
        }
    }

    fn mul_small(&mut self, m: u32) {
        let mut carry = 0u64;
        for l in &mut self.limbs[..self.len] {
            let v = u64::from(*l) * u64::from(m) + carry;
            *l = v as u32;
            carry = v >> 32;
        }
        if carry != 0 && self.len < self.limbs.len() {
            self.limbs[self.len] = carry as u32;
            self.len += 1;
        }
    }

    fn mul_pow5(&mut self, mut k: u32) {
        while k >= 13 {
            self.mul_small(1_220_703_125);
            k -= 13;
        }
        self.mul_small(5u32.pow(k));
    }

    fn shl(&mut self, bits: u32) {
        let (words, bits) = ((bits / 32) as usize, bits % 32);
        if self.len == 0 || self.len + words + 1 > self.limbs.len() {
            return;
        }
        if bits > 0 {
            let mut carry = 0u32;
            for l in &mut self.limbs[..self.len] {
                let v = (*l << bits) | carry;
                carry = *l >> (32 - bits);
                *l = v;
            }
            if carry != 0 {
                self.limbs[self.len] = carry;
                self.len += 1;
            }
        }
        if words > 0 {
            self.limbs.copy_within(0..self.len, words);
            self.limbs[..words].fill(0);
            self.len += words;
        }
    }

    fn add(&self, o: &Big) -> Big {
        let mut r = Big {
            len: self.len.max(o.len),
            limbs: [0; 48],
        };
        let mut carry = 0u64;
        for i in 0..r.len {
            let v = u64::from(self.limbs[i]) + u64::from(o.limbs[i]) + carry;
            r.limbs[i] = v as u32;
            carry = v >> 32;
        }
        if carry != 0 && r.len < r.limbs.len() {
            r.limbs[r.len] = carry as u32;
            r.len += 1;
        }
        r
    }

    /// self -= o (self >= o).
    fn sub_assign(&mut self, o: &Big) {
        let mut borrow = 0i64;
        for i in 0..self.len {
            let v = i64::from(self.limbs[i]) - i64::from(o.limbs[i]) - borrow;
            if v < 0 {
                self.limbs[i] = (v + (1 << 32)) as u32;
                borrow = 1;
            } else {
                self.limbs[i] = v as u32;
                borrow = 0;
            }
        }
        self.trim();
    }

    fn cmp(&self, o: &Big) -> std::cmp::Ordering {
        self.len.cmp(&o.len).then_with(|| {
            for i in (0..self.len).rev() {
                match self.limbs[i].cmp(&o.limbs[i]) {
                    std::cmp::Ordering::Equal => {}
                    other => return other,
                }
            }
            std::cmp::Ordering::Equal
        })
    }
}

/// The digits PostgreSQL's Ryu prints, by exact free-format digit generation
/// (Steele & White / Burger & Dybvig) with both interval bounds excluded.
fn exact_shortest(b: Binary, digits: &mut [u8; 24]) -> (usize, i32) {
    use std::cmp::Ordering::{Equal, Greater, Less};
    // value = r / s, gaps to the interval bounds m_plus / s and m_minus / s
    let mut r = Big::from_u64(b.f);
    let mut s = Big::from_u64(1);
    let mut m_plus = Big::from_u64(1);
    let mut m_minus = Big::from_u64(1);
    let shift = if b.unequal_gaps { 2 } else { 1 };
    r.shl(shift);
    s.shl(shift);
    if b.unequal_gaps {
        m_plus.shl(1);
    }
    if b.e >= 0 {
        r.shl(b.e as u32);
        m_plus.shl(b.e as u32);
        m_minus.shl(b.e as u32);
    } else {
        s.shl(b.e.unsigned_abs());
    }
    // scale by 10^-k so that the value is just below 1 (estimated, then fixed)
    let log10 = (b.f as f64).log10() + f64::from(b.e) * std::f64::consts::LOG10_2;
    let mut k = (log10.ceil() as i32).clamp(-400, 400);
    if k >= 0 {
        s.mul_pow5(k as u32);
        s.shl(k as u32);
    } else {
        for x in [&mut r, &mut m_plus, &mut m_minus] {
            x.mul_pow5(k.unsigned_abs());
            x.shl(k.unsigned_abs());
        }
    }
    // fix the estimate: the high bound must be <= 1, and > 0.1
    while r.add(&m_plus).cmp(&s) == Greater {
        s.mul_small(10);
        k += 1;
    }
    loop {
        let mut high = r.add(&m_plus);
        high.mul_small(10);
        if high.cmp(&s) == Greater {
            break;
        }
        for x in [&mut r, &mut m_plus, &mut m_minus] {
            x.mul_small(10);
        }
        k -= 1;
    }
    let mut n = 0usize;
    loop {
        for x in [&mut r, &mut m_plus, &mut m_minus] {
            x.mul_small(10);
        }
        let mut d = 0u8;
        while r.cmp(&s) != Less && d < 10 {
            r.sub_assign(&s);
            d += 1;
        }
        let low = r.cmp(&m_minus) == Less;
        let high = r.add(&m_plus).cmp(&s) == Greater;
        if (!low && !high) && n + 1 < digits.len() {
            digits[n] = b'0' + d;
            n += 1;
            continue;
        }
        let up = match (low, high) {
            (true, false) => false,
            (false, true) => true,
            _ => {
                let mut twice = r.clone();
                twice.shl(1);
                match twice.cmp(&s) {
                    Less => false,
                    Greater => true,
                    Equal => d % 2 == 1,
                }
            }
        };
        digits[n] = b'0' + d + u8::from(up);
        n += 1;
        break;
    }
    (n, k - 1)
}

/// float4out / float8out with extra_float_digits > 0 (PostgreSQL 12+): the
/// shortest digits (see [`pg_shortest`]), in fixed notation when the decimal
/// exponent is in [-4, `fixed_below`), else `d.ddde+XX`.
fn push_float(dst: &mut Vec<u8>, neg: bool, digits: &[u8], e: i32, fixed_below: i32) {
    if neg {
        dst.push(b'-');
    }
    if (-4..fixed_below).contains(&e) {
        if e >= 0 {
            let int_len = e as usize + 1;
            if digits.len() <= int_len {
                dst.extend_from_slice(digits);
                dst.resize(dst.len() + int_len - digits.len(), b'0');
            } else {
                dst.extend_from_slice(&digits[..int_len]);
                dst.push(b'.');
                dst.extend_from_slice(&digits[int_len..]);
            }
        } else {
            dst.extend_from_slice(b"0.");
            dst.resize(dst.len() + (-e - 1) as usize, b'0');
            dst.extend_from_slice(digits);
        }
    } else {
        dst.push(digits.first().copied().unwrap_or(b'0'));
        if digits.len() > 1 {
            dst.push(b'.');
            dst.extend_from_slice(&digits[1..]);
        }
        dst.push(b'e');
        dst.push(if e < 0 { b'-' } else { b'+' });
        let a = e.unsigned_abs();
        if a < 10 {
            dst.push(b'0');
        }
        push_u64(dst, a.into());
    }
}

fn push_f64(dst: &mut Vec<u8>, v: f64) {
    use std::fmt::Write;
    if v.is_nan() {
        dst.extend_from_slice(b"NaN");
    } else if v.is_infinite() {
        dst.extend_from_slice(if v < 0.0 { b"-Infinity" } else { b"Infinity" });
    } else if v == 0.0 {
        dst.extend_from_slice(if v.is_sign_negative() { b"-0" } else { b"0" });
    } else {
        let mut b = StackBuf {
            buf: [0; 48],
            len: 0,
        };
        let _ = write!(b, "{:e}", v.abs());
        let mut digits = [0u8; 24];
        let (n, e) = pg_shortest(Binary::from_f64(v.abs()), &b.buf[..b.len], &mut digits);
        push_float(dst, v < 0.0, &digits[..n], e, 15);
    }
}

fn push_f32(dst: &mut Vec<u8>, v: f32) {
    use std::fmt::Write;
    if v.is_nan() {
        dst.extend_from_slice(b"NaN");
    } else if v.is_infinite() {
        dst.extend_from_slice(if v < 0.0 { b"-Infinity" } else { b"Infinity" });
    } else if v == 0.0 {
        dst.extend_from_slice(if v.is_sign_negative() { b"-0" } else { b"0" });
    } else {
        let mut b = StackBuf {
            buf: [0; 48],
            len: 0,
        };
        let _ = write!(b, "{:e}", v.abs());
        let mut digits = [0u8; 24];
        let (n, e) = pg_shortest(Binary::from_f32(v.abs()), &b.buf[..b.len], &mut digits);
        push_float(dst, v < 0.0, &digits[..n], e, 6);
    }
}

/// numeric_out of numeric_recv's value: NaN/±Infinity, or the digits with
/// exactly `dscale` fraction digits (digits beyond `dscale` are dropped, as
/// numeric_recv truncates them; leading zero digits are not printed).
fn write_numeric(data: &[u8], dst: &mut Vec<u8>) -> Result<(), Bad> {
    const POS: u16 = 0x0000;
    const NEG: u16 = 0x4000;
    const NAN: u16 = 0xC000;
    const PINF: u16 = 0xD000;
    const NINF: u16 = 0xF000;
    let mut rd = Rd::new(data);
    let ndigits = usize::from(rd.u16()?);
    let weight = i64::from(rd.i16()?);
    let sign = rd.u16()?;
    let dscale = rd.u16()?;
    if dscale & 0x3FFF != dscale {
        return bad("invalid numeric scale");
    }
    let digits = rd.take(ndigits.checked_mul(2).ok_or("numeric too long")?)?;
    rd.end()?;
    let digit = |i: usize| -> u16 {
        let b = digits.get(2 * i..2 * i + 2).unwrap_or(&[0, 0]);
        u16::from_be_bytes([b[0], b[1]])
    };
    if (0..ndigits).any(|i| digit(i) >= 10000) {
        return bad("invalid numeric digit");
    }
    match sign {
        NAN => {
            dst.extend_from_slice(b"NaN");
            return Ok(());
        }
        PINF => {
            dst.extend_from_slice(b"Infinity");
            return Ok(());
        }
        NINF => {
            dst.extend_from_slice(b"-Infinity");
            return Ok(());
        }
        POS | NEG => {}
        _ => return bad("invalid numeric sign"),
    }
    let dscale = i64::from(dscale);
    // The digit at index i has weight `weight - i` (base 10000). Digits (and
    // decimal digits within one) below the scale are truncated.
    let visible = |i: usize| -> u16 {
        let d = digit(i);
        let w = weight - i as i64;
        if w >= 0 {
            return d;
        }
        let first = (-w - 1) * 4; // decimal places before this digit
        if first >= dscale {
            0
        } else {
            match dscale - first {
                1 => d - d % 1000,
                2 => d - d % 100,
                3 => d - d % 10,
                _ => d,
            }
        }
    };
    let Some(first_nz) = (0..ndigits).find(|&i| visible(i) != 0) else {
        // zero
        dst.push(b'0');
        if dscale > 0 {
            dst.push(b'.');
            dst.resize(dst.len() + dscale as usize, b'0');
        }
        return Ok(());
    };
    let at = |w: i64| -> u16 {
        let i = weight - w;
        if i >= 0 && (i as usize) < ndigits {
            visible(i as usize)
        } else {
            0
        }
    };
    if sign == NEG {
        dst.push(b'-');
    }
    let top = weight - first_nz as i64;
    if top < 0 {
        dst.push(b'0');
    } else {
        push_u64(dst, at(top).into());
        for w in (0..top).rev() {
            push_4(dst, at(w));
        }
    }
    if dscale > 0 {
        dst.push(b'.');
        let end = dst.len() + dscale as usize;
        let mut w = -1i64;
        while dst.len() < end {
            push_4(dst, at(w));
            w -= 1;
        }
        dst.truncate(end);
    }
    Ok(())
}

fn push_4(dst: &mut Vec<u8>, v: u16) {
    let v = u32::from(v);
    push_2(dst, v / 100);
    push_2(dst, v % 100);
}

/// money as a plain decimal with two fraction digits (see the module docs).
fn write_money(v: i64, dst: &mut Vec<u8>) {
    if v < 0 {
        dst.push(b'-');
    }
    let a = v.unsigned_abs();
    push_u64(dst, a / 100);
    dst.push(b'.');
    push_2(dst, (a % 100) as u32);
}

// ---------------------------------------------------------------------------
// Date and time

const USECS_PER_DAY: i64 = 86_400_000_000;
const USECS_PER_HOUR: i64 = 3_600_000_000;
const USECS_PER_MINUTE: i64 = 60_000_000;
const USECS_PER_SEC: i64 = 1_000_000;
const POSTGRES_EPOCH_JDATE: i64 = 2_451_545;
/// Julian day of 5874898-01-01, the first date past the end of the date range.
const END_JDATE: i64 = 2_147_483_494;
/// Microseconds of 4714-11-24 00:00:00 BC, the first valid timestamp.
const MIN_TIMESTAMP: i64 = -211_813_488_000_000_000;
/// Microseconds of 294277-01-01 00:00:00, the first timestamp past the end.
const END_TIMESTAMP: i64 = 9_223_371_331_200_000_000;
const TZDISP_LIMIT: i32 = 16 * 3600;

/// j2date: Julian day to (year, month, day); year <= 0 means BC.
fn j2date(jd: i64) -> (i64, u32, u32) {
    let mut julian = jd as u64 + 32044;
    let quad = julian / 146_097;
    let extra = (julian - quad * 146_097) * 4 + 3;
    julian += 60 + quad * 3 + extra / 146_097;
    let quad = julian / 1461;
    julian -= quad * 1461;
    let mut y = julian * 4 / 1461;
    julian = if y != 0 {
        (julian + 305) % 365
    } else {
        (julian + 306) % 366
    } + 123;
    y += quad * 4;
    let year = y as i64 - 4800;
    let quad = julian * 2141 / 65536;
    let day = julian - 7834 * quad / 256;
    let month = (quad + 10) % 12 + 1;
    (year, month as u32, day as u32)
}

/// `YYYY-MM-DD` (at least four year digits); the caller appends ` BC`.
fn push_ymd(dst: &mut Vec<u8>, y: i64, m: u32, d: u32) {
    let year = if y > 0 { y } else { 1 - y };
    push_zeropad(dst, year as u64, 4);
    dst.push(b'-');
    push_2(dst, m);
    dst.push(b'-');
    push_2(dst, d);
}

fn write_date(d: i32, dst: &mut Vec<u8>) -> Result<(), Bad> {
    match d {
        i32::MIN => dst.extend_from_slice(b"-infinity"),
        i32::MAX => dst.extend_from_slice(b"infinity"),
        _ => {
            let jd = i64::from(d) + POSTGRES_EPOCH_JDATE;
            if !(0..END_JDATE).contains(&jd) {
                return bad("date out of range");
            }
            let (y, m, day) = j2date(jd);
            push_ymd(dst, y, m, day);
            if y <= 0 {
                dst.extend_from_slice(b" BC");
            }
        }
    }
    Ok(())
}

/// Seconds and fraction: `SS[.ffffff]` without trailing zeros (AppendSeconds).
fn push_seconds(dst: &mut Vec<u8>, sec: u64, usec: u64) {
    push_zeropad(dst, sec, 2);
    if usec != 0 {
        dst.push(b'.');
        let mut digits = [0u8; 6];
        let mut v = usec;
        for d in digits.iter_mut().rev() {
            *d = b'0' + (v % 10) as u8;
            v /= 10;
        }
        let mut n = 6;
        while n > 1 && digits[n - 1] == b'0' {
            n -= 1;
        }
        dst.extend_from_slice(&digits[..n]);
    }
}

/// `HH:MM:SS[.ffffff]` of microseconds since midnight (0..=24h).
fn push_hms(dst: &mut Vec<u8>, t: i64) {
    let hour = t / USECS_PER_HOUR;
    let rest = t - hour * USECS_PER_HOUR;
    let min = rest / USECS_PER_MINUTE;
    let rest = rest - min * USECS_PER_MINUTE;
    let sec = rest / USECS_PER_SEC;
    let usec = rest - sec * USECS_PER_SEC;
    push_zeropad(dst, hour as u64, 2);
    dst.push(b':');
    push_2(dst, min as u32);
    dst.push(b':');
    push_seconds(dst, sec as u64, usec as u64);
}

fn write_time(t: i64, dst: &mut Vec<u8>) -> Result<(), Bad> {
    if !(0..=USECS_PER_DAY).contains(&t) {
        return bad("time out of range");
    }
    push_hms(dst, t);
    Ok(())
}

/// EncodeTimezone: `+HH`, `+HH:MM` or `+HH:MM:SS`; `zone` is seconds west of UTC.
fn write_tz(zone: i32, dst: &mut Vec<u8>) {
    let mut sec = zone.unsigned_abs();
    let mut min = sec / 60;
    sec -= min * 60;
    let hour = min / 60;
    min -= hour * 60;
    dst.push(if zone <= 0 { b'+' } else { b'-' });
    push_zeropad(dst, hour.into(), 2);
    if sec != 0 {
        dst.push(b':');
        push_2(dst, min);
        dst.push(b':');
        push_2(dst, sec);
    } else if min != 0 {
        dst.push(b':');
        push_2(dst, min);
    }
}

fn write_timestamp(ts: i64, tz: bool, dst: &mut Vec<u8>) -> Result<(), Bad> {
    match ts {
        i64::MIN => dst.extend_from_slice(b"-infinity"),
        i64::MAX => dst.extend_from_slice(b"infinity"),
        _ => {
            if !(MIN_TIMESTAMP..END_TIMESTAMP).contains(&ts) {
                return bad("timestamp out of range");
            }
            let days = ts.div_euclid(USECS_PER_DAY);
            let time = ts.rem_euclid(USECS_PER_DAY);
            let (y, m, d) = j2date(days + POSTGRES_EPOCH_JDATE);
            push_ymd(dst, y, m, d);
            dst.push(b' ');
            push_hms(dst, time);
            if tz {
                dst.extend_from_slice(b"+00");
            }
            if y <= 0 {
                dst.extend_from_slice(b" BC");
            }
        }
    }
    Ok(())
}

/// EncodeInterval in the `postgres` style.
fn write_interval(time: i64, day: i32, month: i32, dst: &mut Vec<u8>) {
    if month == i32::MIN && day == i32::MIN && time == i64::MIN {
        dst.extend_from_slice(b"-infinity");
        return;
    }
    if month == i32::MAX && day == i32::MAX && time == i64::MAX {
        dst.extend_from_slice(b"infinity");
        return;
    }
    let year = i64::from(month / 12);
    let mon = i64::from(month % 12);
    let hour = time / USECS_PER_HOUR;
    let rest = time - hour * USECS_PER_HOUR;
    let min = rest / USECS_PER_MINUTE;
    let rest = rest - min * USECS_PER_MINUTE;
    let sec = rest / USECS_PER_SEC;
    let fsec = rest - sec * USECS_PER_SEC;
    let mut is_zero = true;
    let mut is_before = false;
    for (value, unit) in [
        (year, &b"year"[..]),
        (mon, b"mon"),
        (i64::from(day), b"day"),
    ] {
        if value == 0 {
            continue;
        }
        if !is_zero {
            dst.push(b' ');
        }
        if is_before && value > 0 {
            dst.push(b'+');
        }
        push_i64(dst, value);
        dst.push(b' ');
        dst.extend_from_slice(unit);
        if value != 1 {
            dst.push(b's');
        }
        is_before = value < 0;
        is_zero = false;
    }
    if is_zero || hour != 0 || min != 0 || sec != 0 || fsec != 0 {
        let minus = hour < 0 || min < 0 || sec < 0 || fsec < 0;
        if !is_zero {
            dst.push(b' ');
        }
        if minus {
            dst.push(b'-');
        } else if is_before {
            dst.push(b'+');
        }
        push_zeropad(dst, hour.unsigned_abs(), 2);
        dst.push(b':');
        push_2(dst, min.unsigned_abs() as u32);
        dst.push(b':');
        push_seconds(dst, sec.unsigned_abs(), fsec.unsigned_abs());
    }
}

// ---------------------------------------------------------------------------
// Network types

fn write_inet(data: &[u8], cidr: bool, dst: &mut Vec<u8>) -> Result<(), Bad> {
    const AF_INET: u8 = 2;
    const AF_INET6: u8 = 3;
    let mut rd = Rd::new(data);
    let family = rd.u8()?;
    let bits = rd.u8()?;
    let _is_cidr = rd.u8()?;
    let nb = rd.u8()?;
    let (max_bits, size) = match family {
        AF_INET => (32u8, 4usize),
        AF_INET6 => (128, 16),
        _ => return bad("invalid address family"),
    };
    if bits > max_bits {
        return bad("invalid number of bits");
    }
    if usize::from(nb) != size {
        return bad("invalid address length");
    }
    let addr = rd.take(size)?;
    rd.end()?;
    if cidr {
        // no bits may be set to the right of the mask
        for (i, &b) in addr.iter().enumerate() {
            let first_bit = i * 8;
            let keep = usize::from(bits).saturating_sub(first_bit).min(8);
            let mask = if keep == 0 { 0u8 } else { 0xffu8 << (8 - keep) };
            if b & !mask != 0 {
                return bad("cidr value has bits set to the right of the mask");
            }
        }
    }
    let before = dst.len();
    if family == AF_INET {
        for (i, &b) in addr.iter().enumerate() {
            if i > 0 {
                dst.push(b'.');
            }
            push_u64(dst, b.into());
        }
        if bits != 32 {
            dst.push(b'/');
            push_u64(dst, bits.into());
        }
    } else {
        write_ipv6(addr, dst);
        if bits != 128 {
            dst.push(b'/');
            push_u64(dst, bits.into());
        }
    }
    if cidr && !dst[before..].contains(&b'/') {
        dst.push(b'/');
        push_u64(dst, bits.into());
    }
    Ok(())
}

/// inet_net_ntop_ipv6 (without the mask).
fn write_ipv6(src: &[u8], dst: &mut Vec<u8>) {
    let mut words = [0u16; 8];
    for (i, w) in words.iter_mut().enumerate() {
        let hi = src.get(2 * i).copied().unwrap_or(0);
        let lo = src.get(2 * i + 1).copied().unwrap_or(0);
        *w = u16::from_be_bytes([hi, lo]);
    }
    // the longest run of zero words (first one wins ties), at least 2 long
    let (mut best_base, mut best_len) = (-1i32, 0i32);
    let (mut cur_base, mut cur_len) = (-1i32, 0i32);
    for (i, &w) in words.iter().enumerate() {
        if w == 0 {
            if cur_base == -1 {
                cur_base = i as i32;
                cur_len = 1;
            } else {
                cur_len += 1;
            }
        } else if cur_base != -1 {
            if best_base == -1 || cur_len > best_len {
                best_base = cur_base;
                best_len = cur_len;
            }
            cur_base = -1;
        }
    }
    if cur_base != -1 && (best_base == -1 || cur_len > best_len) {
        best_base = cur_base;
        best_len = cur_len;
    }
    if best_base != -1 && best_len < 2 {
        best_base = -1;
    }
    for i in 0..8i32 {
        if best_base != -1 && i >= best_base && i < best_base + best_len {
            if i == best_base {
                dst.push(b':');
            }
            continue;
        }
        if i != 0 {
            dst.push(b':');
        }
        if i == 6
            && best_base == 0
            && (best_len == 6
                || (best_len == 7 && words[7] != 0x0001)
                || (best_len == 5 && words[5] == 0xffff))
        {
            for (k, &b) in src.iter().skip(12).take(4).enumerate() {
                if k > 0 {
                    dst.push(b'.');
                }
                push_u64(dst, b.into());
            }
            break;
        }
        push_hex_word(dst, words[i as usize]);
    }
    if best_base != -1 && best_base + best_len == 8 {
        dst.push(b':');
    }
}

fn write_mac(b: &[u8], dst: &mut Vec<u8>) {
    for (i, &x) in b.iter().enumerate() {
        if i > 0 {
            dst.push(b':');
        }
        push_hex(dst, &[x]);
    }
}

// ---------------------------------------------------------------------------
// Geometric types

/// `(x,y)`.
fn write_point(rd: &mut Rd<'_>, dst: &mut Vec<u8>) -> Result<(), Bad> {
    let x = rd.f64()?;
    let y = rd.f64()?;
    dst.push(b'(');
    push_f64(dst, x);
    dst.push(b',');
    push_f64(dst, y);
    dst.push(b')');
    Ok(())
}

/// path_encode: `n` points between `open`/`close`.
fn points(rd: &mut Rd<'_>, n: i32, (open, close): (u8, u8), dst: &mut Vec<u8>) -> Result<(), Bad> {
    let Ok(n) = usize::try_from(n) else {
        return bad("invalid number of points");
    };
    if n == 0 || n.saturating_mul(16) != rd.b.len() {
        return bad("invalid number of points");
    }
    dst.push(open);
    for i in 0..n {
        if i > 0 {
            dst.push(b',');
        }
        write_point(rd, dst)?;
    }
    dst.push(close);
    Ok(())
}

// ---------------------------------------------------------------------------
// Text search

/// tsvectorout: `'lexeme':1A,2 'other'`.
fn write_tsvector(data: &[u8], dst: &mut Vec<u8>) -> Result<(), Bad> {
    let mut rd = Rd::new(data);
    let n = rd.i32()?;
    if n < 0 {
        return bad("invalid number of lexemes");
    }
    for i in 0..n {
        if i > 0 {
            dst.push(b' ');
        }
        let lexeme = rd.cstr()?;
        check_text(lexeme)?;
        quote_lexeme(lexeme, dst);
        let npos = rd.u16()?;
        if npos > 0 {
            dst.push(b':');
            for k in 0..npos {
                if k > 0 {
                    dst.push(b',');
                }
                let p = rd.u16()?;
                push_u64(dst, u64::from(p & 0x3fff));
                match p >> 14 {
                    3 => dst.push(b'A'),
                    2 => dst.push(b'B'),
                    1 => dst.push(b'C'),
                    _ => {}
                }
            }
        }
    }
    rd.end()
}

/// `'text'` with `'` and `\` doubled.
fn quote_lexeme(s: &[u8], dst: &mut Vec<u8>) {
    dst.push(b'\'');
    for &c in s {
        if c == b'\'' || c == b'\\' {
            dst.push(c);
        }
        dst.push(c);
    }
    dst.push(b'\'');
}

/// tsqueryout (the recursive `infix` of tsquery.c, with explicit stacks).
fn write_tsquery(data: &[u8], dst: &mut Vec<u8>) -> Result<(), Bad> {
    const QI_VAL: u8 = 1;
    const QI_OPR: u8 = 2;
    const OP_NOT: u8 = 1;
    const OP_AND: u8 = 2;
    const OP_OR: u8 = 3;
    const OP_PHRASE: u8 = 4;

    enum Item<'a> {
        Val {
            weight: u8,
            prefix: bool,
            text: &'a [u8],
        },
        Not,
        Bin {
            op: u8,
            distance: i16,
        },
    }
    let mut rd = Rd::new(data);
    let size = rd.i32()?;
    let Ok(size) = usize::try_from(size) else {
        return bad("invalid tsquery size");
    };
    // every item takes at least 2 bytes
    if size.saturating_mul(2) > rd.b.len() {
        return bad("tsquery is truncated");
    }
    let mut items = Vec::with_capacity(size);
    for _ in 0..size {
        match rd.u8()? {
            QI_VAL => {
                let weight = rd.u8()?;
                let prefix = rd.u8()? != 0;
                let text = rd.cstr()?;
                if weight > 0xf {
                    return bad("invalid tsquery weight");
                }
                check_text(text)?;
                items.push(Item::Val {
                    weight,
                    prefix,
                    text,
                });
            }
            QI_OPR => match rd.u8()? {
                OP_NOT => items.push(Item::Not),
                op @ (OP_AND | OP_OR) => items.push(Item::Bin { op, distance: 0 }),
                OP_PHRASE => {
                    let distance = rd.i16()?;
                    items.push(Item::Bin {
                        op: OP_PHRASE,
                        distance,
                    })
                }
                _ => return bad("invalid tsquery operator"),
            },
            _ => return bad("invalid tsquery item type"),
        }
    }
    rd.end()?;
    if items.is_empty() {
        return Ok(());
    }
    // Items are in prefix order, an operator's right operand first. Find
    // where each subtree ends (checking the tree is well formed).
    let mut end = vec![0usize; items.len()];
    {
        // (index, stage): stage 0 = start, 1 = right done, 2 = left done
        let mut stack: Vec<(usize, u8)> = vec![(0, 0)];
        let mut last_end = 0usize;
        while let Some((i, stage)) = stack.pop() {
            let Some(item) = items.get(i) else {
                return bad("malformed tsquery: operand not found");
            };
            match (item, stage) {
                (Item::Val { .. }, _) => {
                    end[i] = i + 1;
                    last_end = i + 1;
                }
                (Item::Not, 0) => {
                    stack.push((i, 2));
                    stack.push((i + 1, 0));
                }
                (Item::Bin { .. }, 0) => {
                    stack.push((i, 1));
                    stack.push((i + 1, 0));
                }
                (Item::Bin { .. }, 1) => {
                    stack.push((i, 2));
                    stack.push((last_end, 0));
                }
                (_, _) => {
                    end[i] = last_end;
                }
            }
        }
        if last_end != items.len() {
            return bad("malformed tsquery: extra nodes");
        }
    }
    let priority = |it: &Item<'_>| -> i32 {
        match it {
            Item::Not => 4,
            Item::Bin { op: OP_AND, .. } => 2,
            Item::Bin { op: OP_OR, .. } => 1,
            Item::Bin { .. } => 3,
            Item::Val { .. } => 0,
        }
    };
    enum Task {
        Node {
            i: usize,
            parent: i32,
            right_phrase: bool,
        },
        Str(&'static [u8]),
        Op(usize),
    }
    let mut tasks = vec![Task::Node {
        i: 0,
        parent: -1,
        right_phrase: false,
    }];
    while let Some(task) = tasks.pop() {
        match task {
            Task::Str(s) => dst.extend_from_slice(s),
            Task::Op(i) => match items.get(i) {
                Some(Item::Bin { op: OP_OR, .. }) => dst.extend_from_slice(b" | "),
                Some(Item::Bin { op: OP_AND, .. }) => dst.extend_from_slice(b" & "),
                Some(Item::Bin { distance, .. }) => {
                    if *distance != 1 {
                        dst.extend_from_slice(b" <");
                        push_i64(dst, (*distance).into());
                        dst.extend_from_slice(b"> ");
                    } else {
                        dst.extend_from_slice(b" <-> ");
                    }
                }
                _ => {}
            },
            Task::Node {
                i,
                parent,
                right_phrase,
            } => {
                let Some(item) = items.get(i) else {
                    return bad("malformed tsquery");
                };
                let prio = priority(item);
                match item {
                    Item::Val {
                        weight,
                        prefix,
                        text,
                    } => {
                        quote_lexeme(text, dst);
                        if *weight != 0 || *prefix {
                            dst.push(b':');
                            if *prefix {
                                dst.push(b'*');
                            }
                            for (bit, c) in [(8u8, b'A'), (4, b'B'), (2, b'C'), (1, b'D')] {
                                if weight & bit != 0 {
                                    dst.push(c);
                                }
                            }
                        }
                    }
                    Item::Not => {
                        let paren = prio < parent;
                        if paren {
                            dst.extend_from_slice(b"( ");
                            tasks.push(Task::Str(b" )"));
                        }
                        dst.push(b'!');
                        tasks.push(Task::Node {
                            i: i + 1,
                            parent: prio,
                            right_phrase: false,
                        });
                    }
                    Item::Bin { op, .. } => {
                        let paren = prio < parent || (*op == OP_PHRASE && right_phrase);
                        let right = i + 1;
                        let left = end.get(right).copied().unwrap_or(usize::MAX);
                        if paren {
                            dst.extend_from_slice(b"( ");
                            tasks.push(Task::Str(b" )"));
                        }
                        tasks.push(Task::Node {
                            i: right,
                            parent: prio,
                            right_phrase: *op == OP_PHRASE,
                        });
                        tasks.push(Task::Op(i));
                        tasks.push(Task::Node {
                            i: left,
                            parent: prio,
                            right_phrase: false,
                        });
                    }
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A binary tuple from fields (None = NULL).
    fn tuple(fields: &[Option<&[u8]>]) -> Vec<u8> {
        let mut t = (fields.len() as i16).to_be_bytes().to_vec();
        for f in fields {
            match f {
                None => t.extend_from_slice(&(-1i32).to_be_bytes()),
                Some(b) => {
                    t.extend_from_slice(&(b.len() as i32).to_be_bytes());
                    t.extend_from_slice(b);
                }
            }
        }
        t
    }

    /// The COPY text of one value of a built-in type (without the newline).
    fn text(type_oid: u32, value: &[u8]) -> String {
        text_col(ColumnType::Builtin(type_oid), value)
    }

    fn text_col(col: ColumnType, value: &[u8]) -> String {
        let mut out = Vec::new();
        tuple_to_text(&tuple(&[Some(value)]), &[col], &mut out).unwrap();
        assert_eq!(out.pop(), Some(b'\n'));
        String::from_utf8(out).unwrap()
    }

    fn err(type_oid: u32, value: &[u8]) -> ConvertError {
        let mut out = Vec::new();
        let e = tuple_to_text(
            &tuple(&[Some(value)]),
            &[ColumnType::Builtin(type_oid)],
            &mut out,
        )
        .unwrap_err();
        assert!(out.is_empty(), "output left behind on error");
        e
    }

    fn f8(v: f64) -> String {
        text(oid::FLOAT8, &v.to_bits().to_be_bytes())
    }

    fn f4(v: f32) -> String {
        text(oid::FLOAT4, &v.to_bits().to_be_bytes())
    }

    /// The text of a float8 given as decimal text (exact literals).
    fn f8s(s: &str) -> String {
        f8(s.parse().unwrap())
    }

    fn f4s(s: &str) -> String {
        f4(s.parse().unwrap())
    }

    fn numeric(weight: i16, sign: u16, dscale: u16, digits: &[u16]) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&(digits.len() as u16).to_be_bytes());
        b.extend_from_slice(&weight.to_be_bytes());
        b.extend_from_slice(&sign.to_be_bytes());
        b.extend_from_slice(&dscale.to_be_bytes());
        for d in digits {
            b.extend_from_slice(&d.to_be_bytes());
        }
        b
    }

    fn be32(v: i32) -> Vec<u8> {
        v.to_be_bytes().to_vec()
    }

    fn be64(v: i64) -> Vec<u8> {
        v.to_be_bytes().to_vec()
    }

    /// Binary array: dims as (length, lower bound), elements (None = NULL).
    fn array(elem: u32, dims: &[(i32, i32)], elems: &[Option<Vec<u8>>]) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&(dims.len() as i32).to_be_bytes());
        b.extend_from_slice(&i32::from(elems.iter().any(Option::is_none)).to_be_bytes());
        b.extend_from_slice(&elem.to_be_bytes());
        for (len, lb) in dims {
            b.extend_from_slice(&len.to_be_bytes());
            b.extend_from_slice(&lb.to_be_bytes());
        }
        for e in elems {
            match e {
                None => b.extend_from_slice(&(-1i32).to_be_bytes()),
                Some(v) => {
                    b.extend_from_slice(&(v.len() as i32).to_be_bytes());
                    b.extend_from_slice(v);
                }
            }
        }
        b
    }

    #[test]
    fn supported_list_is_consistent() {
        for &t in SUPPORTED_TYPES {
            assert!(kind_of(t).is_some(), "{t}");
            assert!(is_supported(t));
        }
        for &(a, e) in ARRAY_TYPES {
            assert!(SUPPORTED_TYPES.contains(&e), "{a} -> {e}");
            assert!(is_supported(a));
            assert!(kind_of(a).is_none());
        }
        assert_eq!(ARRAY_TYPES.len(), SUPPORTED_TYPES.len());
        for t in [27, 22, 30, 2249, 2205, 705, 16384, 0] {
            assert!(!is_supported(t), "{t}");
        }
    }

    #[test]
    fn row_layout_and_nulls() {
        let t = tuple(&[Some(&be32(7)), None, Some(b"x")]);
        let mut out = b"keep".to_vec();
        let cols = [
            ColumnType::Builtin(oid::INT4),
            ColumnType::Builtin(oid::TEXT),
            ColumnType::Enum,
        ];
        tuple_to_text(&t, &cols, &mut out).unwrap();
        assert_eq!(out, b"keep7\t\\N\tx\n");
        let mut frame = t.clone();
        frame.extend_from_slice(&t);
        let mut out = Vec::new();
        assert_eq!(frame_to_text(&frame, &cols, &mut out).unwrap(), 2);
        assert_eq!(out, b"7\t\\N\tx\n7\t\\N\tx\n");
        assert_eq!(frame_to_text(&[], &cols, &mut out).unwrap(), 0);
    }

    #[test]
    fn integers_and_bool() {
        assert_eq!(text(oid::BOOL, &[1]), "t");
        assert_eq!(text(oid::BOOL, &[0]), "f");
        assert_eq!(text(oid::INT2, &i16::MIN.to_be_bytes()), "-32768");
        assert_eq!(text(oid::INT4, &be32(i32::MIN)), "-2147483648");
        assert_eq!(text(oid::INT4, &be32(0)), "0");
        assert_eq!(text(oid::INT8, &be64(i64::MIN)), "-9223372036854775808");
        assert_eq!(text(oid::INT8, &be64(i64::MAX)), "9223372036854775807");
        assert_eq!(text(oid::OID, &u32::MAX.to_be_bytes()), "4294967295");
        assert_eq!(
            text(oid::XID8, &u64::MAX.to_be_bytes()),
            "18446744073709551615"
        );
        assert_eq!(text(oid::MONEY, &be64(123456)), "1234.56");
        assert_eq!(text(oid::MONEY, &be64(-5)), "-0.05");
        assert_eq!(text(oid::MONEY, &be64(i64::MIN)), "-92233720368547758.08");
        assert_eq!(text(oid::MONEY, &be64(i64::MAX)), "92233720368547758.07");
    }

    #[test]
    fn floats() {
        assert_eq!(f8(0.0), "0");
        assert_eq!(f8(-0.0), "-0");
        assert_eq!(f8(1.0), "1");
        assert_eq!(f8(-1.5), "-1.5");
        assert_eq!(f8(0.1), "0.1");
        assert_eq!(f8(std::f64::consts::E), "2.718281828459045");
        assert_eq!(f8(1e14), "100000000000000");
        assert_eq!(f8(1e15), "1e+15");
        assert_eq!(f8(123456789012345.6), "123456789012345.6");
        assert_eq!(f8(1234567890123456.0), "1.234567890123456e+15");
        assert_eq!(f8(0.0001), "0.0001");
        assert_eq!(f8(0.00012345), "0.00012345");
        assert_eq!(f8(0.00001), "1e-05");
        assert_eq!(f8(1.7976931348623157e308), "1.7976931348623157e+308");
        assert_eq!(f8(5e-324), "5e-324");
        assert_eq!(f8(1e100), "1e+100");
        assert_eq!(f8(f64::NAN), "NaN");
        assert_eq!(f8(f64::INFINITY), "Infinity");
        assert_eq!(f8(f64::NEG_INFINITY), "-Infinity");
        assert_eq!(f4(100000.0), "100000");
        assert_eq!(f4(1e6), "1e+06");
        assert_eq!(f4s("3.14159"), "3.14159");
        assert_eq!(f4(1.4e-45), "1e-45");
        assert_eq!(f4(-3.4e38), "-3.4e+38");
        assert_eq!(f4(123456.7), "123456.7");
        assert_eq!(f4(-0.0), "-0");
        assert_eq!(f4(f32::NAN), "NaN");
        assert_eq!(f4(0.1), "0.1");
        // PostgreSQL excludes the rounding interval's bounds and breaks exact
        // ties to even (seen on PostgreSQL 15)
        assert_eq!(f8s("1.9566756167926522e17"), "1.9566756167926522e+17");
        assert_eq!(f8s("-707548928292927.25"), "-707548928292927.2");
        assert_eq!(f8s("8.836549128572259e16"), "8.836549128572259e+16");
        assert_eq!(f8s("-2.1168729617836198e17"), "-2.1168729617836198e+17");
        assert_eq!(f8s("2.0047320975122912e15"), "2.0047320975122912e+15");
        assert_eq!(f4s("-2619353.25"), "-2.6193532e+06");
        assert_eq!(f4s("-777618432"), "-7.7761843e+08");
        assert_eq!(f4s("220226.625"), "220226.62");
        assert_eq!(f4(16777216.0), "1.6777216e+07");
        assert_eq!(f8s("9007199254740993"), "9.007199254740992e+15");
        assert_eq!(f8(9007199254740991.0), "9.007199254740991e+15");
        assert_eq!(f8(900719925474099.0), "900719925474099");
        assert_eq!(f8(f64::MIN_POSITIVE), "2.2250738585072014e-308");
        // shortest text reads back to the same bits
        for bits in [
            1u64,
            0x3ff0_0000_0000_0001,
            0x7fef_ffff_ffff_ffff,
            0x0010_0000_0000_0000,
        ] {
            let v = f64::from_bits(bits);
            assert_eq!(f8(v).parse::<f64>().unwrap().to_bits(), bits);
        }
    }

    #[test]
    fn float_extremes_fast_and_exact_agree() {
        let f64s = [
            5e-324,
            1e-323,
            f64::from_bits(0x000f_ffff_ffff_ffff),
            f64::MIN_POSITIVE,
            f64::MAX,
            1.0,
            0.5,
            0.3,
            2f64.powi(60),
            2f64.powi(-30),
            9007199254740992.0,
            123456789.0,
        ];
        for v in f64s {
            let b = Binary::from_f64(v);
            let (mut x, mut y) = ([0u8; 24], [0u8; 24]);
            let (n1, e1) = exact_shortest(b, &mut x);
            let (n2, e2) = pg_shortest(b, format!("{v:e}").as_bytes(), &mut y);
            assert_eq!((&x[..n1], e1), (&y[..n2], e2), "{v:e}");
            assert_eq!(f8(v).parse::<f64>().unwrap(), v);
        }
        for v in [
            1e-45f32,
            1.1754942e-38,
            f32::MIN_POSITIVE,
            f32::MAX,
            16777217.0,
            0.3,
        ] {
            let b = Binary::from_f32(v);
            let (mut x, mut y) = ([0u8; 24], [0u8; 24]);
            let (n1, e1) = exact_shortest(b, &mut x);
            let (n2, e2) = pg_shortest(b, format!("{v:e}").as_bytes(), &mut y);
            assert_eq!((&x[..n1], e1), (&y[..n2], e2), "{v:e}");
            assert_eq!(f4(v).parse::<f32>().unwrap(), v);
        }
        assert_eq!(f8(5e-324), "5e-324");
        assert_eq!(f8(f64::MAX), "1.7976931348623157e+308");
        assert_eq!(f4(f32::MAX), "3.4028235e+38");
    }

    #[test]
    fn numerics() {
        const NEG: u16 = 0x4000;
        assert_eq!(text(oid::NUMERIC, &numeric(0, 0, 0, &[])), "0");
        assert_eq!(text(oid::NUMERIC, &numeric(0, 0, 3, &[])), "0.000");
        assert_eq!(text(oid::NUMERIC, &numeric(0, 0xC000, 0, &[])), "NaN");
        assert_eq!(text(oid::NUMERIC, &numeric(0, 0xD000, 0, &[])), "Infinity");
        assert_eq!(text(oid::NUMERIC, &numeric(0, 0xF000, 0, &[])), "-Infinity");
        assert_eq!(text(oid::NUMERIC, &numeric(0, 0, 4, &[3, 1416])), "3.1416");
        assert_eq!(text(oid::NUMERIC, &numeric(-1, NEG, 4, &[1])), "-0.0001");
        assert_eq!(text(oid::NUMERIC, &numeric(1, 0, 0, &[1, 2300])), "12300");
        assert_eq!(text(oid::NUMERIC, &numeric(1, NEG, 0, &[9])), "-90000");
        assert_eq!(text(oid::NUMERIC, &numeric(-2, 0, 6, &[1200])), "0.000012");
        assert_eq!(
            text(oid::NUMERIC, &numeric(-2, 0, 10, &[1200])),
            "0.0000120000"
        );
        assert_eq!(text(oid::NUMERIC, &numeric(-2, 0, 8, &[12])), "0.00000012");
        assert_eq!(text(oid::NUMERIC, &numeric(-2, 0, 6, &[12])), "0.000000");
        assert_eq!(
            text(
                oid::NUMERIC,
                &numeric(
                    7,
                    0,
                    9,
                    &[12, 3456, 7890, 1234, 5678, 9012, 3456, 7890, 1234, 5678, 9000]
                )
            ),
            "123456789012345678901234567890.123456789"
        );
        // digits beyond dscale are truncated (as numeric_recv does)
        assert_eq!(text(oid::NUMERIC, &numeric(0, 0, 1, &[1, 2345])), "1.2");
        assert_eq!(text(oid::NUMERIC, &numeric(-1, NEG, 1, &[45])), "0.0");
        // leading zero digits are not printed
        assert_eq!(text(oid::NUMERIC, &numeric(1, 0, 0, &[0, 5])), "5");
        assert!(matches!(
            err(oid::NUMERIC, &numeric(0, 0, 0, &[10000])),
            ConvertError::Value { .. }
        ));
        err(oid::NUMERIC, &numeric(0, 0x1234, 0, &[]));
        err(oid::NUMERIC, &numeric(0, 0, 0x4000, &[]));
        let mut short = numeric(0, 0, 0, &[1, 2]);
        short.pop();
        err(oid::NUMERIC, &short);
    }

    #[test]
    fn text_escapes() {
        assert_eq!(
            text(oid::TEXT, b"a\tb\\c\nd\re\x08f\x0cg\x0bh\x01\x7f"),
            "a\\tb\\\\c\\nd\\re\\bf\\fg\\vh\x01\x7f"
        );
        assert_eq!(text(oid::TEXT, b""), "");
        assert_eq!(text(oid::TEXT, b"\\N"), "\\\\N");
        assert_eq!(text(oid::TEXT, b"\\."), "\\\\.");
        assert_eq!(
            text(oid::VARCHAR, "é ✓ 日本語 😀".as_bytes()),
            "é ✓ 日本語 😀"
        );
        assert_eq!(text(oid::BPCHAR, b"abc     "), "abc     ");
        assert_eq!(
            text(oid::JSONB, b"\x01{\"a\": \"x\\ny\"}"),
            "{\"a\": \"x\\\\ny\"}"
        );
        assert_eq!(text(oid::JSONPATH, b"\x01$.\"a\""), "$.\"a\"");
        assert_eq!(text_col(ColumnType::Enum, b"happy"), "happy");
        assert!(matches!(
            err(oid::TEXT, b"\xff"),
            ConvertError::Value {
                column: 0,
                type_oid: 25,
                ..
            }
        ));
        err(oid::TEXT, b"a\0b");
        err(oid::JSONB, b"\x02{}");
        err(oid::JSONB, b"");
    }

    #[test]
    fn escape_scan_finds_every_special_byte() {
        for c in 0u8..=255 {
            for pos in 0..20 {
                let mut v = vec![b'a'; 20];
                v[pos] = c;
                let mut out = Vec::new();
                let r = copy_escape(&v, &mut out);
                let mut expected = Vec::new();
                for &b in &v {
                    match b {
                        0 => {}
                        8 => expected.extend_from_slice(b"\\b"),
                        9 => expected.extend_from_slice(b"\\t"),
                        10 => expected.extend_from_slice(b"\\n"),
                        11 => expected.extend_from_slice(b"\\v"),
                        12 => expected.extend_from_slice(b"\\f"),
                        13 => expected.extend_from_slice(b"\\r"),
                        b'\\' => expected.extend_from_slice(b"\\\\"),
                        other => expected.push(other),
                    }
                }
                if c == 0 {
                    assert!(r.is_err());
                } else {
                    assert_eq!(out, expected, "byte {c} at {pos}");
                }
            }
        }
    }

    #[test]
    fn bytea_and_char() {
        assert_eq!(text(oid::BYTEA, &[0xde, 0xad, 0x00, 0xff]), "\\\\xdead00ff");
        assert_eq!(text(oid::BYTEA, &[]), "\\\\x");
        assert_eq!(text(oid::CHAR, b"x"), "x");
        assert_eq!(text(oid::CHAR, b"\\"), "\\\\");
        assert_eq!(text(oid::CHAR, b"\n"), "\\n");
        assert_eq!(text(oid::CHAR, &[0]), "");
        assert_eq!(text(oid::CHAR, &[0x80]), "\\\\200");
        assert_eq!(text(oid::CHAR, &[0xff]), "\\\\377");
        err(oid::CHAR, b"ab");
    }

    #[test]
    fn dates_and_times() {
        let date = |d: i32| text(oid::DATE, &be32(d));
        assert_eq!(date(0), "2000-01-01");
        assert_eq!(date(8825), "2024-02-29");
        assert_eq!(date(-2451545), "4714-11-24 BC");
        assert_eq!(date(-730119), "0001-01-01");
        assert_eq!(date(-730120), "0001-12-31 BC");
        assert_eq!(date(2145031948), "5874897-12-31");
        assert_eq!(date(i32::MAX), "infinity");
        assert_eq!(date(i32::MIN), "-infinity");
        err(oid::DATE, &be32(2145031949));
        err(oid::DATE, &be32(-2451546));

        let ts = |v: i64| text(oid::TIMESTAMP, &be64(v));
        let tstz = |v: i64| text(oid::TIMESTAMPTZ, &be64(v));
        assert_eq!(ts(0), "2000-01-01 00:00:00");
        assert_eq!(ts(-1), "1999-12-31 23:59:59.999999");
        assert_eq!(ts(-500_000), "1999-12-31 23:59:59.5");
        assert_eq!(ts(757_425_600_123_456), "2024-01-01 12:00:00.123456");
        assert_eq!(tstz(-946_684_800_000_000), "1970-01-01 00:00:00+00");
        assert_eq!(ts(MIN_TIMESTAMP), "4714-11-24 00:00:00 BC");
        assert_eq!(tstz(MIN_TIMESTAMP), "4714-11-24 00:00:00+00 BC");
        assert_eq!(ts(END_TIMESTAMP - 1), "294276-12-31 23:59:59.999999");
        assert_eq!(ts(i64::MAX), "infinity");
        assert_eq!(tstz(i64::MIN), "-infinity");
        err(oid::TIMESTAMP, &be64(END_TIMESTAMP));
        err(oid::TIMESTAMP, &be64(MIN_TIMESTAMP - 1));

        let time = |v: i64| text(oid::TIME, &be64(v));
        assert_eq!(time(0), "00:00:00");
        assert_eq!(time(USECS_PER_DAY), "24:00:00");
        assert_eq!(time(USECS_PER_DAY - 1), "23:59:59.999999");
        assert_eq!(time(45_296_700_000), "12:34:56.7");
        err(oid::TIME, &be64(USECS_PER_DAY + 1));
        err(oid::TIME, &be64(-1));
        let timetz = |v: i64, z: i32| {
            let mut b = be64(v);
            b.extend_from_slice(&be32(z));
            text(oid::TIMETZ, &b)
        };
        assert_eq!(timetz(45_296_000_000, -19800), "12:34:56+05:30");
        assert_eq!(timetz(0, 43200), "00:00:00-12");
        assert_eq!(timetz(1, 0), "00:00:00.000001+00");
        assert_eq!(timetz(USECS_PER_DAY, -57540), "24:00:00+15:59");
        assert_eq!(timetz(0, 3661), "00:00:00-01:01:01");
        let mut b = be64(0);
        b.extend_from_slice(&be32(57600));
        err(oid::TIMETZ, &b);
    }

    fn interval(time: i64, day: i32, month: i32) -> String {
        let mut b = be64(time);
        b.extend_from_slice(&be32(day));
        b.extend_from_slice(&be32(month));
        text(oid::INTERVAL, &b)
    }

    #[test]
    fn intervals() {
        const H: i64 = USECS_PER_HOUR;
        assert_eq!(interval(0, 0, 0), "00:00:00");
        assert_eq!(
            interval(4 * H + 5 * 60_000_000 + 6_789_000, 3, 14),
            "1 year 2 mons 3 days 04:05:06.789"
        );
        assert_eq!(interval(-1_000_000, -1, 0), "-1 days -00:00:01");
        assert_eq!(interval(0, 0, -12), "-1 years");
        assert_eq!(interval(0, 0, 12 * 178_000_000), "178000000 years");
        assert_eq!(interval(0, 0, -12 * 178_000_000), "-178000000 years");
        assert_eq!(interval(0, 1, 1), "1 mon 1 day");
        assert_eq!(interval(1_000_000, -1, 0), "-1 days +00:00:01");
        assert_eq!(interval(0, 1, -1), "-1 mons +1 day");
        assert_eq!(interval(-1_000_000, 1, 0), "1 day -00:00:01");
        assert_eq!(interval(500_000, 0, 0), "00:00:00.5");
        assert_eq!(interval(-500_000, 0, 0), "-00:00:00.5");
        assert_eq!(interval(100 * H, 0, 0), "100:00:00");
        assert_eq!(interval(0, 0, 3 * 12 + 4), "3 years 4 mons");
        assert_eq!(interval(i64::MIN, 0, 0), "-2562047788:00:54.775808");
        assert_eq!(interval(i64::MIN, i32::MIN, i32::MIN), "-infinity");
        assert_eq!(interval(i64::MAX, i32::MAX, i32::MAX), "infinity");
    }

    #[test]
    fn uuid_network_misc() {
        let u: Vec<u8> = (0u8..16).map(|i| i * 17).collect();
        assert_eq!(text(oid::UUID, &u), "00112233-4455-6677-8899-aabbccddeeff");
        let inet = |fam: u8, bits: u8, cidr: bool, addr: &[u8]| {
            let mut b = vec![fam, bits, u8::from(cidr), addr.len() as u8];
            b.extend_from_slice(addr);
            b
        };
        assert_eq!(
            text(oid::INET, &inet(2, 24, false, &[192, 168, 1, 1])),
            "192.168.1.1/24"
        );
        assert_eq!(
            text(oid::INET, &inet(2, 32, false, &[10, 0, 0, 1])),
            "10.0.0.1"
        );
        assert_eq!(
            text(oid::CIDR, &inet(2, 8, true, &[10, 0, 0, 0])),
            "10.0.0.0/8"
        );
        assert_eq!(
            text(oid::CIDR, &inet(2, 32, true, &[10, 0, 0, 1])),
            "10.0.0.1/32"
        );
        assert_eq!(
            text(oid::CIDR, &inet(2, 0, true, &[0, 0, 0, 0])),
            "0.0.0.0/0"
        );
        err(oid::CIDR, &inet(2, 8, true, &[10, 0, 0, 1]));
        err(oid::INET, &inet(2, 33, false, &[10, 0, 0, 1]));
        err(oid::INET, &inet(4, 8, false, &[10, 0, 0, 1]));
        let v6 = |s: &str| -> [u8; 16] { s.parse::<std::net::Ipv6Addr>().unwrap().octets() };
        let i6 = |s: &str, bits: u8| text(oid::INET, &inet(3, bits, false, &v6(s)));
        assert_eq!(i6("::1", 128), "::1");
        assert_eq!(i6("::", 128), "::");
        assert_eq!(i6("2001:db8::", 32), "2001:db8::/32");
        assert_eq!(i6("::ffff:1.2.3.4", 128), "::ffff:1.2.3.4");
        assert_eq!(i6("::1.2.3.4", 128), "::1.2.3.4");
        assert_eq!(i6("1:0:0:2:0:0:0:3", 128), "1:0:0:2::3");
        assert_eq!(i6("1:0:2:0:3:0:4:0", 128), "1:0:2:0:3:0:4:0");
        assert_eq!(i6("fe80::1:2", 64), "fe80::1:2/64");
        assert_eq!(
            text(oid::CIDR, &inet(3, 128, true, &v6("2001:db8::1"))),
            "2001:db8::1/128"
        );
        assert_eq!(
            text(oid::MACADDR, &[8, 0, 0x2b, 1, 2, 3]),
            "08:00:2b:01:02:03"
        );
        assert_eq!(
            text(oid::MACADDR8, &[8, 0, 0x2b, 1, 2, 3, 4, 0xff]),
            "08:00:2b:01:02:03:04:ff"
        );
        err(oid::MACADDR, &[1, 2, 3]);
        let mut bits = be32(4);
        bits.push(0b1101_0000);
        assert_eq!(text(oid::BIT, &bits), "1101");
        assert_eq!(text(oid::VARBIT, &be32(0)), "");
        let mut bits = be32(9);
        bits.extend_from_slice(&[0xaa, 0x80]);
        assert_eq!(text(oid::VARBIT, &bits), "101010101");
        err(oid::VARBIT, &be32(1));
        assert_eq!(
            text(oid::PG_LSN, &0x16_B374_D848u64.to_be_bytes()),
            "16/B374D848"
        );
        assert_eq!(text(oid::PG_LSN, &0u64.to_be_bytes()), "0/0");
    }

    fn f64s(v: &[f64]) -> Vec<u8> {
        v.iter().flat_map(|x| x.to_bits().to_be_bytes()).collect()
    }

    #[test]
    fn geometry() {
        assert_eq!(text(oid::POINT, &f64s(&[1.5, -2.5])), "(1.5,-2.5)");
        assert_eq!(
            text(oid::LSEG, &f64s(&[0.0, 0.0, 1.0, 1.0])),
            "[(0,0),(1,1)]"
        );
        assert_eq!(text(oid::BOX, &f64s(&[2.0, 2.0, 0.0, 0.0])), "(2,2),(0,0)");
        assert_eq!(text(oid::LINE, &f64s(&[1.0, -1.0, 0.0])), "{1,-1,0}");
        assert_eq!(text(oid::CIRCLE, &f64s(&[1.0, 1.0, 5.0])), "<(1,1),5>");
        err(oid::CIRCLE, &f64s(&[1.0, 1.0, -5.0]));
        let mut path = vec![1u8];
        path.extend_from_slice(&be32(2));
        path.extend_from_slice(&f64s(&[0.0, 0.0, 1e300, f64::NAN]));
        assert_eq!(text(oid::PATH, &path), "((0,0),(1e+300,NaN))");
        path[0] = 0;
        assert_eq!(text(oid::PATH, &path), "[(0,0),(1e+300,NaN)]");
        let mut poly = be32(1);
        poly.extend_from_slice(&f64s(&[0.0, -0.0]));
        assert_eq!(text(oid::POLYGON, &poly), "((0,-0))");
        err(oid::POLYGON, &be32(0));
        let mut bad_poly = be32(2);
        bad_poly.extend_from_slice(&f64s(&[0.0, -0.0]));
        err(oid::POLYGON, &bad_poly);
    }

    #[test]
    fn arrays() {
        const INT4_ARRAY: u32 = 1007;
        const TEXT_ARRAY: u32 = 1009;
        let i = |v: i32| Some(be32(v));
        let t = |s: &str| Some(s.as_bytes().to_vec());
        assert_eq!(
            text(
                INT4_ARRAY,
                &array(oid::INT4, &[(4, 1)], &[i(1), i(2), None, i(4)])
            ),
            "{1,2,NULL,4}"
        );
        assert_eq!(text(INT4_ARRAY, &array(oid::INT4, &[], &[])), "{}");
        assert_eq!(text(INT4_ARRAY, &array(oid::INT4, &[(0, 1)], &[])), "{}");
        assert_eq!(
            text(
                INT4_ARRAY,
                &array(
                    oid::INT4,
                    &[(2, 1), (3, 1)],
                    &[i(1), i(2), i(3), i(4), i(5), i(6)]
                )
            ),
            "{{1,2,3},{4,5,6}}"
        );
        assert_eq!(
            text(
                INT4_ARRAY,
                &array(oid::INT4, &[(3, -2)], &[i(7), i(8), i(9)])
            ),
            "[-2:0]={7,8,9}"
        );
        assert_eq!(
            text(
                INT4_ARRAY,
                &array(oid::INT4, &[(2, 1), (2, 0)], &[i(1), i(2), i(3), None])
            ),
            "[1:2][0:1]={{1,2},{3,NULL}}"
        );
        assert_eq!(
            text(
                INT4_ARRAY,
                &array(oid::INT4, &[(1, 1), (1, 1), (2, 1)], &[i(1), i(2)])
            ),
            "{{{1,2}}}"
        );
        // quoting, then COPY escaping of the whole array text
        assert_eq!(
            text(
                TEXT_ARRAY,
                &array(
                    oid::TEXT,
                    &[(10, 1)],
                    &[
                        t("a"),
                        t("b c"),
                        t("d\"e"),
                        t("f,g"),
                        t("NULL"),
                        t("null"),
                        t(""),
                        t("line\nbreak"),
                        t("back\\slash"),
                        None
                    ]
                )
            ),
            "{a,\"b c\",\"d\\\\\"e\",\"f,g\",\"NULL\",\"null\",\"\",\"line\\nbreak\",\"back\\\\\\\\slash\",NULL}"
        );
        assert_eq!(
            text(
                TEXT_ARRAY,
                &array(oid::TEXT, &[(2, 1)], &[t("{x}"), t("tab\there")])
            ),
            "{\"{x}\",\"tab\\there\"}"
        );
        // box arrays use ';' between elements
        assert_eq!(
            text(
                1020,
                &array(
                    oid::BOX,
                    &[(2, 1)],
                    &[
                        Some(f64s(&[1.0, 1.0, 0.0, 0.0])),
                        Some(f64s(&[2.0, 2.0, 1.0, 1.0]))
                    ]
                )
            ),
            "{(1,1),(0,0);(2,2),(1,1)}"
        );
        assert_eq!(
            text(1001, &array(oid::BYTEA, &[(1, 1)], &[Some(vec![0xab])])),
            "{\"\\\\\\\\xab\"}"
        );
        assert_eq!(
            text(
                1185,
                &array(
                    oid::TIMESTAMPTZ,
                    &[(2, 1)],
                    &[Some(be64(0)), Some(be64(i64::MAX))]
                )
            ),
            "{\"2000-01-01 00:00:00+00\",infinity}"
        );
        // enum arrays, and domains over built-ins (a user element type OID)
        assert_eq!(
            text_col(
                ColumnType::EnumArray,
                &array(16500, &[(2, 1)], &[t("a b"), t("c")])
            ),
            "{\"a b\",c}"
        );
        assert_eq!(text(INT4_ARRAY, &array(20000, &[(1, 1)], &[i(5)])), "{5}");
        // malformed arrays
        err(INT4_ARRAY, &array(oid::INT8, &[(1, 1)], &[i(5)]));
        err(INT4_ARRAY, &array(oid::INT4, &[(2, 1)], &[i(5)]));
        err(INT4_ARRAY, &array(oid::INT4, &[(1, 1)], &[i(5), i(6)]));
        err(INT4_ARRAY, &array(oid::INT4, &[(-1, 1)], &[]));
        err(
            INT4_ARRAY,
            &array(oid::INT4, &[(2, i32::MAX)], &[i(1), i(2)]),
        );
        err(
            INT4_ARRAY,
            &array(oid::INT4, &[(1, 1)], &[Some(vec![1, 2])]),
        );
        err(INT4_ARRAY, &array(oid::INT4, &[(1, 1); 7], &[i(1)]));
        let mut flags = array(oid::INT4, &[(1, 1)], &[i(1)]);
        flags[7] = 2;
        err(INT4_ARRAY, &flags);
    }

    fn range(flags: u8, lower: Option<&[u8]>, upper: Option<&[u8]>) -> Vec<u8> {
        let mut b = vec![flags];
        for v in [lower, upper].into_iter().flatten() {
            b.extend_from_slice(&(v.len() as i32).to_be_bytes());
            b.extend_from_slice(v);
        }
        b
    }

    #[test]
    fn ranges() {
        assert_eq!(
            text(
                oid::INT4RANGE,
                &range(0x02, Some(&be32(1)), Some(&be32(10)))
            ),
            "[1,10)"
        );
        assert_eq!(text(oid::INT4RANGE, &range(0x01, None, None)), "empty");
        assert_eq!(
            text(oid::INT4RANGE, &range(0x08, None, Some(&be32(6)))),
            "(,6)"
        );
        assert_eq!(
            text(oid::INT8RANGE, &range(0x12, Some(&be64(100)), None)),
            "[100,)"
        );
        assert_eq!(text(oid::INT4RANGE, &range(0x18, None, None)), "(,)");
        assert_eq!(
            text(
                oid::TSRANGE,
                &range(0x02, Some(&be64(0)), Some(&be64(86_400_000_000)))
            ),
            "[\"2000-01-01 00:00:00\",\"2000-01-02 00:00:00\")"
        );
        assert_eq!(
            text(oid::DATERANGE, &range(0x06, Some(&be32(0)), Some(&be32(1)))),
            "[2000-01-01,2000-01-02]"
        );
        assert_eq!(
            text(
                oid::NUMRANGE,
                &range(
                    0x04,
                    Some(&numeric(0, 0, 1, &[1, 5000])),
                    Some(&numeric(0, 0xD000, 0, &[]))
                )
            ),
            "(1.5,Infinity]"
        );
        let r1 = range(0x02, Some(&be32(1)), Some(&be32(3)));
        let r2 = range(0x02, Some(&be32(5)), Some(&be32(7)));
        let mut mr = be32(2);
        for r in [&r1, &r2] {
            mr.extend_from_slice(&(r.len() as i32).to_be_bytes());
            mr.extend_from_slice(r);
        }
        assert_eq!(text(oid::INT4MULTIRANGE, &mr), "{[1,3),[5,7)}");
        assert_eq!(text(oid::INT4MULTIRANGE, &be32(0)), "{}");
        assert_eq!(
            text(
                3905,
                &array(
                    oid::INT4RANGE,
                    &[(2, 1)],
                    &[Some(r1), Some(range(1, None, None))]
                )
            ),
            "{\"[1,3)\",empty}"
        );
        err(oid::INT4RANGE, &range(0x02, Some(&be32(1)), None));
        err(oid::INT4RANGE, &[]);
    }

    #[test]
    fn text_search() {
        let mut v = be32(3);
        v.extend_from_slice(b"a\0");
        v.extend_from_slice(&2u16.to_be_bytes());
        v.extend_from_slice(&(1u16 | (3 << 14)).to_be_bytes());
        v.extend_from_slice(&(2u16 | (2 << 14)).to_be_bytes());
        v.extend_from_slice(b"it's\0");
        v.extend_from_slice(&0u16.to_be_bytes());
        v.extend_from_slice(b"b\\c\0");
        v.extend_from_slice(&1u16.to_be_bytes());
        v.extend_from_slice(&(3u16 | (1 << 14)).to_be_bytes());
        assert_eq!(text(oid::TSVECTOR, &v), "'a':1A,2B 'it''s' 'b\\\\\\\\c':3C");
        assert_eq!(text(oid::TSVECTOR, &be32(0)), "");

        // 'quick' & ( 'fox' | 'dog' ) & !'cat', in prefix order (right operand first)
        let val = |s: &str, weight: u8, prefix: u8| {
            let mut b = vec![1u8, weight, prefix];
            b.extend_from_slice(s.as_bytes());
            b.push(0);
            b
        };
        let op = |o: u8| vec![2u8, o];
        let items: Vec<Vec<u8>> = vec![
            op(2),
            op(1),
            val("cat", 0, 0),
            op(2),
            op(3),
            val("dog", 0, 0),
            val("fox", 0, 0),
            val("quick", 0, 0),
        ];
        let mut q = be32(items.len() as i32);
        for it in &items {
            q.extend_from_slice(it);
        }
        assert_eq!(
            text(oid::TSQUERY, &q),
            "'quick' & ( 'fox' | 'dog' ) & !'cat'"
        );
        // phrase: 'a' <-> ( 'b' <2> 'c' ), weights and prefix
        let phrase = |d: i16| {
            let mut b = vec![2u8, 4];
            b.extend_from_slice(&d.to_be_bytes());
            b
        };
        let items: Vec<Vec<u8>> = vec![
            phrase(1),
            phrase(2),
            val("c", 0, 1),
            val("b", 0b1010, 0),
            val("a", 0b0101, 1),
        ];
        let mut q = be32(items.len() as i32);
        for it in &items {
            q.extend_from_slice(it);
        }
        assert_eq!(text(oid::TSQUERY, &q), "'a':*BD <-> ( 'b':AC <2> 'c':* )");
        // !( 'a' & 'b' )
        let items: Vec<Vec<u8>> = vec![op(1), op(2), val("b", 0, 0), val("a", 0, 0)];
        let mut q = be32(items.len() as i32);
        for it in &items {
            q.extend_from_slice(it);
        }
        assert_eq!(text(oid::TSQUERY, &q), "!( 'a' & 'b' )");
        assert_eq!(text(oid::TSQUERY, &be32(0)), "");
        // malformed: operator without operands, extra nodes
        let mut q = be32(1);
        q.extend_from_slice(&op(2));
        err(oid::TSQUERY, &q);
        let mut q = be32(2);
        q.extend_from_slice(&val("a", 0, 0));
        q.extend_from_slice(&val("b", 0, 0));
        err(oid::TSQUERY, &q);
    }

    #[test]
    fn malformed_tuples() {
        let cols = [
            ColumnType::Builtin(oid::INT4),
            ColumnType::Builtin(oid::TEXT),
        ];
        let mut out = Vec::new();
        let good = tuple(&[Some(&be32(1)), Some(b"abc")]);
        for cut in 0..good.len() {
            let e = tuple_to_text(&good[..cut], &cols, &mut out).unwrap_err();
            assert!(matches!(e, ConvertError::Truncated { .. }), "{cut}: {e}");
            assert!(out.is_empty());
        }
        let mut extra = good.clone();
        extra.push(0);
        assert!(matches!(
            tuple_to_text(&extra, &cols, &mut out),
            Err(ConvertError::TrailingBytes { extra: 1 })
        ));
        assert!(matches!(
            tuple_to_text(&good, &cols[..1], &mut out),
            Err(ConvertError::FieldCount {
                expected: 1,
                found: 2
            })
        ));
        assert!(matches!(
            tuple_to_text(&[0xff, 0xff], &cols, &mut out),
            Err(ConvertError::FieldCount { found: -1, .. })
        ));
        let neg = tuple(&[Some(&be32(1)), None]);
        let mut neg = neg.clone();
        let n = neg.len();
        neg[n - 4..].copy_from_slice(&(-2i32).to_be_bytes());
        assert!(matches!(
            tuple_to_text(&neg, &cols, &mut out),
            Err(ConvertError::BadLength {
                column: 1,
                type_oid: 25,
                length: -2
            })
        ));
        // wrong sizes of fixed-size types
        assert!(matches!(
            tuple_to_text(&tuple(&[Some(&[0, 0, 1]), None]), &cols, &mut out),
            Err(ConvertError::Value {
                column: 0,
                type_oid: 23,
                ..
            })
        ));
        for t in [
            oid::INT2,
            oid::INT8,
            oid::FLOAT4,
            oid::FLOAT8,
            oid::BOOL,
            oid::UUID,
            oid::DATE,
            oid::TIMESTAMP,
            oid::INTERVAL,
            oid::POINT,
            oid::PG_LSN,
            oid::MONEY,
        ] {
            err(t, &[0; 3]);
        }
        assert!(matches!(
            tuple_to_text(&tuple(&[None]), &[ColumnType::Builtin(27)], &mut out),
            Err(ConvertError::Unsupported {
                column: 0,
                type_oid: 27
            })
        ));
        // a bad row in a frame: earlier rows stay, the error names the row
        let mut frame = good.clone();
        frame.extend_from_slice(&tuple(&[Some(&be32(1)), Some(b"\xc3")]));
        let e = frame_to_text(&frame, &cols, &mut out).unwrap_err();
        assert!(
            matches!(&e, ConvertError::Row { row: 1, offset, .. } if *offset == good.len()),
            "{e}"
        );
        assert_eq!(out, b"1\tabc\n");
        assert!(e.to_string().contains("column 1 (type oid 25)"), "{e}");
    }

    /// Column types for the fuzz tests: every scalar, every array, enums.
    fn all_columns() -> Vec<ColumnType> {
        let mut cols: Vec<ColumnType> = SUPPORTED_TYPES
            .iter()
            .chain(ARRAY_TYPES.iter().map(|(a, _)| a))
            .map(|&t| ColumnType::Builtin(t))
            .collect();
        cols.push(ColumnType::Enum);
        cols.push(ColumnType::EnumArray);
        cols
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]

        /// Random bytes as a frame never panic.
        #[test]
        fn random_frames_do_not_panic(
            data in proptest::collection::vec(any::<u8>(), 0..300),
            picks in proptest::collection::vec(any::<proptest::sample::Index>(), 0..4),
        ) {
            let all = all_columns();
            let cols: Vec<ColumnType> = picks.iter().map(|i| i.get(&all).clone()).collect();
            let mut out = Vec::new();
            let _ = frame_to_text(&data, &cols, &mut out);
            let _ = tuple_to_text(&data, &cols, &mut out);
        }

        /// Well-framed tuples with random field contents never panic, and a
        /// conversion that succeeds is one line with one tab per column gap.
        #[test]
        fn random_values_do_not_panic(
            col in any::<proptest::sample::Index>(),
            value in proptest::collection::vec(any::<u8>(), 0..200),
            prefix in proptest::sample::select(vec![
                vec![], vec![0u8, 0, 0, 1], vec![0, 0, 0, 1, 0, 0, 0, 0],
                vec![0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 23, 0, 0, 0, 2, 0, 0, 0, 1],
            ]),
        ) {
            let all = all_columns();
            let col = col.get(&all).clone();
            let mut v = prefix;
            v.extend_from_slice(&value);
            let t = tuple(&[Some(&v), None]);
            let mut out = Vec::new();
            if tuple_to_text(&t, &[col, ColumnType::Builtin(oid::INT4)], &mut out).is_ok() {
                prop_assert_eq!(out.iter().filter(|&&c| c == b'\n').count(), 1);
                prop_assert_eq!(out.last(), Some(&b'\n'));
                prop_assert!(out.ends_with(b"\t\\N\n"));
            }
        }

        /// The fast path (Rust's shortest digits, checked) always agrees with
        /// exact digit generation under PostgreSQL's rules.
        #[test]
        fn float_fast_path_is_exact(
            bits in any::<u64>(),
            bits32 in any::<u32>(),
            small in 0u64..1 << 30,
            shift in 0i32..80,
            subnormal in 1u64..1 << 52,
        ) {
            for v in [f64::from_bits(bits), small as f64 * 2f64.powi(shift - 40), f64::from_bits(subnormal)] {
                let v = v.abs();
                if v.is_finite() && v != 0.0 {
                    let b = Binary::from_f64(v);
                    let mut exact = [0u8; 24];
                    let (n1, e1) = exact_shortest(b, &mut exact);
                    let mut fast = [0u8; 24];
                    let sci = format!("{v:e}");
                    let (n2, e2) = pg_shortest(b, sci.as_bytes(), &mut fast);
                    prop_assert_eq!((&exact[..n1], e1), (&fast[..n2], e2), "{:e}", v);
                }
            }
            for v in [f32::from_bits(bits32), small as f32 * 2f32.powi(shift - 40), f32::from_bits(subnormal as u32 & 0x7f_ffff)] {
                let v = v.abs();
                if v.is_finite() && v != 0.0 {
                    let b = Binary::from_f32(v);
                    let mut exact = [0u8; 24];
                    let (n1, e1) = exact_shortest(b, &mut exact);
                    let mut fast = [0u8; 24];
                    let sci = format!("{v:e}");
                    let (n2, e2) = pg_shortest(b, sci.as_bytes(), &mut fast);
                    prop_assert_eq!((&exact[..n1], e1), (&fast[..n2], e2), "{:e}", v);
                }
            }
        }

        /// Any float prints as text that reads back to the same bits.
        #[test]
        fn floats_round_trip(bits in any::<u64>(), bits32 in any::<u32>()) {
            let v = f64::from_bits(bits);
            let s = f8(v);
            let back: f64 = match s.as_str() {
                "Infinity" => f64::INFINITY,
                "-Infinity" => f64::NEG_INFINITY,
                other => other.parse().unwrap(),
            };
            if v.is_nan() {
                prop_assert!(back.is_nan());
            } else {
                prop_assert_eq!(back.to_bits(), bits, "{}", s);
            }
            let v = f32::from_bits(bits32);
            let s = f4(v);
            let back: f32 = match s.as_str() {
                "Infinity" => f32::INFINITY,
                "-Infinity" => f32::NEG_INFINITY,
                other => other.parse().unwrap(),
            };
            if v.is_nan() {
                prop_assert!(back.is_nan());
            } else {
                prop_assert_eq!(back.to_bits(), bits32, "{}", s);
            }
        }
    }
}
