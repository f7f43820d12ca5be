//! Arrow values → canonical field encodings, order-preserving keys and row hashes.
//!
//! Every field is type-tagged and, when variable, length-prefixed, so field
//! boundaries cannot collide (`(1,'11')` ≠ `(11,'1')`) and NULL is distinct
//! from `''`. Tags and layouts (lengths and integers little-endian):
//!
//! | tag | domain | payload |
//! |---|---|---|
//! | `0x00` | NULL | — |
//! | `0x01` | bool | 1 byte (0/1) |
//! | `0x02` | int | i128, 16 bytes |
//! | `0x03` | float64 | IEEE bits, 8 bytes (every NaN as `0x7ff8000000000000`) |
//! | `0x04` | float32 | IEEE bits, 4 bytes (every NaN as `0x7fc00000`) |
//! | `0x05` | decimal | u64 length + canonical text (`15e-1`) |
//! | `0x06` | text | u64 length + UTF-8 |
//! | `0x07` | bytes | u64 length + bytes |
//! | `0x08` | uuid | 16 bytes RFC 4122 order |
//! | `0x09` | date | i32 days since 1970-01-01 |
//! | `0x0A` | timestamp | i64 µs since the epoch, rounded half up to the domain's digits |
//! | `0x0B` | time/duration | i64 µs, rounded likewise |
//! | `0x0C` | interval | i32 months, i32 days, i64 ns |
//! | `0x0D` | json | canonical JSON encoding (see [`crate::json`]) |
//! | `0x0E` | list | u64 count + elements, each a tagged field |
//! | `0x0F` | invalid | u64 length + raw text: a text value that does not parse in its domain (never equal to a valid value) |

use arrow_array::cast::AsArray;
use arrow_array::types::*;
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{DataType, TimeUnit};
use chrono::{DateTime, NaiveDate};

use crate::decimal::{self, Decimal};
use crate::json::{self, put_bytes, put_len, Json};
use crate::rule::{ColumnRule, Domain, SideFlags};

const NULL: u8 = 0x00;
const BOOL: u8 = 0x01;
const INT: u8 = 0x02;
const F64: u8 = 0x03;
const F32: u8 = 0x04;
const DECIMAL: u8 = 0x05;
const TEXT: u8 = 0x06;
const BYTES: u8 = 0x07;
const UUID: u8 = 0x08;
const DATE: u8 = 0x09;
const TIMESTAMP: u8 = 0x0A;
const MICROS: u8 = 0x0B;
const INTERVAL: u8 = 0x0C;
const JSON: u8 = 0x0D;
const LIST: u8 = 0x0E;
const INVALID: u8 = 0x0F;

/// Which side of a comparison a batch comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Source,
    Target,
}

/// A scalar read out of an Arrow array, before normalisation.
enum Scalar<'a> {
    Null,
    Bool(bool),
    Int(i128),
    F32(f32),
    F64(f64),
    Str(&'a str),
    Bin(&'a [u8]),
    Date(i32),
    Ts(i64),
    Micros(i64),
    Interval(i32, i32, i64),
    List(ArrayRef),
    Unsupported,
}

/// An array downcast once (per batch and column), so the row loop only
/// matches on this enum.
enum View<'a> {
    Bool(&'a arrow_array::BooleanArray),
    I8(&'a arrow_array::Int8Array),
    I16(&'a arrow_array::Int16Array),
    I32(&'a arrow_array::Int32Array),
    I64(&'a arrow_array::Int64Array),
    U64(&'a arrow_array::UInt64Array),
    F32(&'a arrow_array::Float32Array),
    F64(&'a arrow_array::Float64Array),
    Str(&'a arrow_array::StringArray),
    Bin(&'a arrow_array::BinaryArray),
    Fixed(&'a arrow_array::FixedSizeBinaryArray),
    Date(&'a arrow_array::Date32Array),
    Ts(&'a arrow_array::TimestampMicrosecondArray),
    /// Anything else, read through the generic path.
    Other(&'a dyn Array),
}

fn view(a: &dyn Array) -> View<'_> {
    match a.data_type() {
        DataType::Boolean => View::Bool(a.as_boolean()),
        DataType::Int8 => View::I8(a.as_primitive()),
        DataType::Int16 => View::I16(a.as_primitive()),
        DataType::Int32 => View::I32(a.as_primitive()),
        DataType::Int64 => View::I64(a.as_primitive()),
        DataType::UInt64 => View::U64(a.as_primitive()),
        DataType::Float32 => View::F32(a.as_primitive()),
        DataType::Float64 => View::F64(a.as_primitive()),
        DataType::Utf8 => View::Str(a.as_string()),
        DataType::Binary => View::Bin(a.as_binary()),
        DataType::FixedSizeBinary(_) => View::Fixed(a.as_fixed_size_binary()),
        DataType::Date32 => View::Date(a.as_primitive()),
        DataType::Timestamp(TimeUnit::Microsecond, _) => View::Ts(a.as_primitive()),
        _ => View::Other(a),
    }
}

impl<'a> View<'a> {
    fn scalar(&self, i: usize) -> Scalar<'a> {
        macro_rules! get {
            ($a:expr, $f:expr) => {
                if $a.is_null(i) {
                    Scalar::Null
                } else {
                    $f($a.value(i))
                }
            };
        }
        match self {
            View::Bool(a) => get!(a, Scalar::Bool),
            View::I8(a) => get!(a, |v: i8| Scalar::Int(v.into())),
            View::I16(a) => get!(a, |v: i16| Scalar::Int(v.into())),
            View::I32(a) => get!(a, |v: i32| Scalar::Int(v.into())),
            View::I64(a) => get!(a, |v: i64| Scalar::Int(v.into())),
            View::U64(a) => get!(a, |v: u64| Scalar::Int(v.into())),
            View::F32(a) => get!(a, Scalar::F32),
            View::F64(a) => get!(a, Scalar::F64),
            View::Str(a) => get!(a, Scalar::Str),
            View::Bin(a) => get!(a, Scalar::Bin),
            View::Fixed(a) => get!(a, Scalar::Bin),
            View::Date(a) => get!(a, Scalar::Date),
            View::Ts(a) => get!(a, Scalar::Ts),
            View::Other(a) => scalar(*a, i),
        }
    }
}

fn scalar(a: &dyn Array, i: usize) -> Scalar<'_> {
    if a.is_null(i) {
        return Scalar::Null;
    }
    match a.data_type() {
        DataType::Boolean => Scalar::Bool(a.as_boolean().value(i)),
        DataType::Int8 => Scalar::Int(a.as_primitive::<Int8Type>().value(i).into()),
        DataType::Int16 => Scalar::Int(a.as_primitive::<Int16Type>().value(i).into()),
        DataType::Int32 => Scalar::Int(a.as_primitive::<Int32Type>().value(i).into()),
        DataType::Int64 => Scalar::Int(a.as_primitive::<Int64Type>().value(i).into()),
        DataType::UInt8 => Scalar::Int(a.as_primitive::<UInt8Type>().value(i).into()),
        DataType::UInt16 => Scalar::Int(a.as_primitive::<UInt16Type>().value(i).into()),
        DataType::UInt32 => Scalar::Int(a.as_primitive::<UInt32Type>().value(i).into()),
        DataType::UInt64 => Scalar::Int(a.as_primitive::<UInt64Type>().value(i).into()),
        DataType::Float32 => Scalar::F32(a.as_primitive::<Float32Type>().value(i)),
        DataType::Float64 => Scalar::F64(a.as_primitive::<Float64Type>().value(i)),
        DataType::Utf8 => Scalar::Str(a.as_string::<i32>().value(i)),
        DataType::Binary => Scalar::Bin(a.as_binary::<i32>().value(i)),
        DataType::FixedSizeBinary(_) => Scalar::Bin(a.as_fixed_size_binary().value(i)),
        DataType::Date32 => Scalar::Date(a.as_primitive::<Date32Type>().value(i)),
        DataType::Timestamp(TimeUnit::Microsecond, _) => {
            Scalar::Ts(a.as_primitive::<TimestampMicrosecondType>().value(i))
        }
        DataType::Time64(TimeUnit::Microsecond) => {
            Scalar::Micros(a.as_primitive::<Time64MicrosecondType>().value(i))
        }
        DataType::Duration(TimeUnit::Microsecond) => {
            Scalar::Micros(a.as_primitive::<DurationMicrosecondType>().value(i))
        }
        DataType::Interval(arrow_schema::IntervalUnit::MonthDayNano) => {
            let v = a.as_primitive::<IntervalMonthDayNanoType>().value(i);
            Scalar::Interval(v.months, v.days, v.nanoseconds)
        }
        DataType::List(_) => Scalar::List(a.as_list::<i32>().value(i)),
        _ => Scalar::Unsupported,
    }
}

fn invalid(out: &mut Vec<u8>, what: &[u8]) {
    out.push(INVALID);
    put_bytes(out, what);
}

fn round_to(us: i64, fsp: u8) -> i64 {
    if fsp >= 6 || us == i64::MAX || us == i64::MIN {
        return us;
    }
    let unit = 10i64.pow(6 - u32::from(fsp));
    (us.saturating_add(unit / 2)).div_euclid(unit) * unit
}

/// Appends the canonical field encoding of `a[i]` in `domain`.
pub fn encode_value(a: &dyn Array, i: usize, domain: &Domain, flags: SideFlags, out: &mut Vec<u8>) {
    encode_scalar(scalar(a, i), domain, flags, out);
}

fn encode_scalar(v: Scalar<'_>, domain: &Domain, flags: SideFlags, out: &mut Vec<u8>) {
    match (domain, v) {
        (_, Scalar::Null) => out.push(NULL),
        (Domain::Bool, Scalar::Bool(b)) => {
            out.push(BOOL);
            out.push(u8::from(b));
        }
        (Domain::Int, Scalar::Int(n)) => {
            out.push(INT);
            out.extend_from_slice(&n.to_le_bytes());
        }
        (Domain::Int, Scalar::Bool(b)) => {
            out.push(INT);
            out.extend_from_slice(&i128::from(b).to_le_bytes());
        }
        (Domain::Float { width }, v @ (Scalar::F32(_) | Scalar::F64(_))) => {
            let x = match v {
                Scalar::F32(x) => f64::from(x),
                Scalar::F64(x) => x,
                _ => unreachable!(),
            };
            if flags.nan_to_null && !x.is_finite() {
                out.push(NULL);
                return;
            }
            let x = if flags.negative_zero_to_zero && x == 0.0 {
                0.0
            } else {
                x
            };
            if *width == 32 {
                out.push(F32);
                #[allow(clippy::cast_possible_truncation)] // f32 → f64 → f32 is exact
                let bits = if x.is_nan() {
                    0x7fc0_0000
                } else {
                    (x as f32).to_bits()
                };
                out.extend_from_slice(&bits.to_le_bytes());
            } else {
                out.push(F64);
                let bits = if x.is_nan() {
                    0x7ff8_0000_0000_0000
                } else {
                    x.to_bits()
                };
                out.extend_from_slice(&bits.to_le_bytes());
            }
        }
        (Domain::Decimal, Scalar::Str(s)) => put_decimal_text(out, s, flags),
        (Domain::Decimal, Scalar::Int(n)) => put_decimal(out, &Decimal::from_int(n)),
        (Domain::Text { .. }, Scalar::Interval(m, d, ns)) => {
            out.push(TEXT);
            put_bytes(out, iso8601_interval(m, d, ns).as_bytes());
        }
        (
            Domain::Text {
                trim_trailing_spaces,
            },
            Scalar::Str(s),
        ) => {
            out.push(TEXT);
            let s = if *trim_trailing_spaces {
                s.trim_end_matches(' ')
            } else {
                s
            };
            if flags.strip_nul && s.contains('\0') {
                put_bytes(out, s.replace('\0', "").as_bytes());
            } else {
                put_bytes(out, s.as_bytes());
            }
        }
        (Domain::Bytes, Scalar::Bin(b)) => {
            out.push(BYTES);
            put_bytes(out, b);
        }
        (Domain::Uuid, Scalar::Bin(b)) if b.len() == 16 => {
            out.push(UUID);
            out.extend_from_slice(b);
        }
        (Domain::Uuid, Scalar::Str(s)) => match parse_uuid(s) {
            Some(b) => {
                out.push(UUID);
                out.extend_from_slice(&b);
            }
            None => invalid(out, s.as_bytes()),
        },
        (Domain::Date, Scalar::Date(d)) => {
            if flags.infinity_to_null && (d == i32::MAX || d == i32::MIN) {
                out.push(NULL);
                return;
            }
            out.push(DATE);
            out.extend_from_slice(&d.to_le_bytes());
        }
        (Domain::Timestamp { fsp }, Scalar::Ts(us)) => {
            if flags.infinity_to_null && (us == i64::MAX || us == i64::MIN) {
                out.push(NULL);
                return;
            }
            out.push(TIMESTAMP);
            out.extend_from_slice(&round_to(us, *fsp).to_le_bytes());
        }
        (Domain::Micros { fsp }, Scalar::Micros(us)) => {
            out.push(MICROS);
            out.extend_from_slice(&round_to(us, *fsp).to_le_bytes());
        }
        (Domain::Interval, Scalar::Interval(m, d, ns)) => put_interval(out, m, d, ns),
        (Domain::Interval, Scalar::Micros(us)) => {
            put_interval(out, 0, 0, us.saturating_mul(1000));
        }
        (Domain::Json, Scalar::Str(s)) => match json::parse(s) {
            Some(j) => {
                out.push(JSON);
                j.encode(out);
            }
            None => invalid(out, s.as_bytes()),
        },
        (Domain::Json, Scalar::List(items)) => match list_as_json(items.as_ref(), flags) {
            Some(j) => {
                out.push(JSON);
                j.encode(out);
            }
            None => invalid(out, b"(array not representable as JSON)"),
        },
        (Domain::List { element }, Scalar::List(items)) => {
            out.push(LIST);
            put_len(out, items.len());
            for k in 0..items.len() {
                encode_value(items.as_ref(), k, element, flags, out);
            }
        }
        (_, Scalar::Str(s)) => invalid(out, s.as_bytes()),
        _ => invalid(out, b"(value of an unexpected type for its domain)"),
    }
}

/// Decimal text: plain digits are canonicalised in place without allocating
/// (the common case); anything else goes through the full parser.
fn put_decimal_text(out: &mut Vec<u8>, s: &str, flags: SideFlags) {
    let at = out.len();
    out.push(DECIMAL);
    out.extend_from_slice(&[0u8; 8]);
    if decimal::write_canonical_plain(s, out) {
        let len = u64::try_from(out.len() - at - 9).unwrap_or(u64::MAX);
        out[at + 1..at + 9].copy_from_slice(&len.to_le_bytes());
        return;
    }
    out.truncate(at);
    match decimal::parse(s) {
        Some(d) if flags.nan_to_null && !matches!(d, Decimal::Finite { .. }) => out.push(NULL),
        Some(d) => put_decimal(out, &d),
        None => invalid(out, s.as_bytes()),
    }
}

fn put_decimal(out: &mut Vec<u8>, d: &Decimal) {
    out.push(DECIMAL);
    let mut t = Vec::new();
    d.canonical_text(&mut t);
    put_bytes(out, &t);
}

fn put_interval(out: &mut Vec<u8>, months: i32, days: i32, nanos: i64) {
    out.push(INTERVAL);
    out.extend_from_slice(&months.to_le_bytes());
    out.extend_from_slice(&days.to_le_bytes());
    out.extend_from_slice(&nanos.to_le_bytes());
}

/// UUID text and its parser: one definition for copy, range bounds and verify.
pub use ferry_core::hex::{parse_uuid, uuid_text};

/// ISO 8601 duration text of an interval: one definition for copy and verify.
pub use ferry_core::interval::iso8601 as iso8601_interval;

fn date_text(days: i32) -> Option<String> {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1)?;
    let d = epoch.checked_add_signed(chrono::Duration::days(days.into()))?;
    Some(d.format("%Y-%m-%d").to_string())
}

fn timestamp_text(us: i64) -> Option<String> {
    let dt = DateTime::from_timestamp_micros(us)?;
    Some(dt.naive_utc().format("%Y-%m-%d %H:%M:%S%.6f").to_string())
}

/// A PostgreSQL array (or MySQL SET) as the JSON array `ferry copy` writes
/// for it: numbers as numbers, dates and timestamps as their text, UUIDs as
/// `8-4-4-4-12` strings. `None` for elements JSON cannot carry.
fn list_as_json(items: &dyn Array, flags: SideFlags) -> Option<Json> {
    let mut out = Vec::with_capacity(items.len());
    for k in 0..items.len() {
        out.push(match scalar(items, k) {
            Scalar::Null => Json::Null,
            Scalar::Bool(b) => Json::Bool(b),
            Scalar::Int(n) => Json::Number(json::number_text(&Decimal::from_int(n))),
            Scalar::F32(x) if x.is_finite() => {
                Json::Number(json::number_text(&decimal::parse(ryu_f32(x).as_str())?))
            }
            Scalar::F64(x) if x.is_finite() => {
                Json::Number(json::number_text(&decimal::parse(ryu_f64(x).as_str())?))
            }
            Scalar::Str(s) if flags.decimal_elements => match decimal::parse(s)? {
                d @ Decimal::Finite { .. } => Json::Number(json::number_text(&d)),
                _ => return None,
            },
            Scalar::Str(s) => Json::String(s.to_string()),
            Scalar::Bin(b) if b.len() == 16 => Json::String(uuid_text(b)),
            Scalar::Date(d) => Json::String(date_text(d)?),
            Scalar::Ts(us) => Json::String(timestamp_text(us)?),
            _ => return None,
        });
    }
    Some(Json::Array(out))
}

fn ryu_f64(x: f64) -> String {
    let mut b = ryu_buffer();
    b.format_finite(x).to_string()
}

fn ryu_f32(x: f32) -> String {
    let mut b = ryu_buffer();
    b.format_finite(x).to_string()
}

fn ryu_buffer() -> ryu::Buffer {
    ryu::Buffer::new()
}

/// Appends an order-preserving encoding of `a[i]` in `domain` (for key
/// columns; the domain must be [orderable](ColumnRule::orderable)).
pub fn encode_key(a: &dyn Array, i: usize, domain: &Domain, out: &mut Vec<u8>) {
    let v = scalar(a, i);
    if matches!(v, Scalar::Null) {
        out.push(0);
        return;
    }
    out.push(1);
    match (domain, v) {
        (Domain::Bool, Scalar::Bool(b)) => out.push(u8::from(b)),
        (Domain::Int, Scalar::Int(n)) => {
            out.extend_from_slice(&((n as u128) ^ (1u128 << 127)).to_be_bytes())
        }
        (Domain::Int, Scalar::Bool(b)) => {
            out.extend_from_slice(&((i128::from(b) as u128) ^ (1u128 << 127)).to_be_bytes())
        }
        (Domain::Float { .. }, v @ (Scalar::F32(_) | Scalar::F64(_))) => {
            let x = match v {
                Scalar::F32(x) => f64::from(x),
                Scalar::F64(x) => x,
                _ => unreachable!(),
            };
            let x = if x == 0.0 { 0.0 } else { x };
            let bits = x.to_bits();
            let ordered = if bits >> 63 == 1 {
                !bits
            } else {
                bits ^ (1 << 63)
            };
            out.extend_from_slice(&ordered.to_be_bytes());
        }
        (Domain::Decimal, Scalar::Str(s)) => match decimal::parse(s) {
            Some(d) => d.put_key(out),
            None => escaped(out, s.as_bytes()),
        },
        (Domain::Decimal, Scalar::Int(n)) => Decimal::from_int(n).put_key(out),
        (
            Domain::Text {
                trim_trailing_spaces,
            },
            Scalar::Str(s),
        ) => {
            let s = if *trim_trailing_spaces {
                s.trim_end_matches(' ')
            } else {
                s
            };
            escaped(out, s.as_bytes());
        }
        (Domain::Bytes, Scalar::Bin(b)) => escaped(out, b),
        (Domain::Uuid, Scalar::Bin(b)) => out.extend_from_slice(b),
        (Domain::Uuid, Scalar::Str(s)) => match parse_uuid(s) {
            Some(b) => out.extend_from_slice(&b),
            None => escaped(out, s.as_bytes()),
        },
        (Domain::Date, Scalar::Date(d)) => {
            out.extend_from_slice(&((d as u32) ^ (1u32 << 31)).to_be_bytes())
        }
        (Domain::Timestamp { fsp }, Scalar::Ts(us))
        | (Domain::Micros { fsp }, Scalar::Micros(us)) => {
            out.extend_from_slice(&((round_to(us, *fsp) as u64) ^ (1u64 << 63)).to_be_bytes())
        }
        (_, other) => {
            // Not orderable across engines: the caller compares as a multiset.
            let mut tmp = Vec::new();
            encode_scalar(other, domain, SideFlags::default(), &mut tmp);
            escaped(out, &tmp);
        }
    }
}

/// Byte strings in order, self-delimiting: `0x00` becomes `0x00 0xFF`, and
/// the value ends with `0x00 0x00`, so a prefix sorts first.
fn escaped(out: &mut Vec<u8>, b: &[u8]) {
    for &c in b {
        out.push(c);
        if c == 0 {
            out.push(0xFF);
        }
    }
    out.extend_from_slice(&[0, 0]);
}

/// Renders `a[i]` for a report (keys only: other cells never leave the process).
pub fn render_value(a: &dyn Array, i: usize) -> String {
    match scalar(a, i) {
        Scalar::Null => "NULL".into(),
        Scalar::Bool(b) => b.to_string(),
        Scalar::Int(n) => n.to_string(),
        Scalar::F32(x) => x.to_string(),
        Scalar::F64(x) => x.to_string(),
        Scalar::Str(s) => s.to_string(),
        Scalar::Bin(b) if matches!(a.data_type(), DataType::FixedSizeBinary(16)) => uuid_text(b),
        Scalar::Bin(b) => format!("\\x{}", ferry_core::hex::hex(b)),
        Scalar::Date(d) => date_text(d).unwrap_or_else(|| format!("{d} (days)")),
        Scalar::Ts(us) => timestamp_text(us).unwrap_or_else(|| format!("{us} (µs)")),
        Scalar::Micros(us) => format!("{us} (µs)"),
        Scalar::Interval(m, d, ns) => iso8601_interval(m, d, ns),
        Scalar::List(_) | Scalar::Unsupported => "(value)".into(),
    }
}

/// One compared column: its rule and where it sits in each side's batches.
#[derive(Debug, Clone)]
pub struct ColumnCodec {
    pub name: String,
    pub rule: ColumnRule,
    pub source_index: usize,
    pub target_index: usize,
}

/// A table's comparison: columns in source order, and which of them form the key.
#[derive(Debug, Clone)]
pub struct TableCodec {
    pub columns: Vec<ColumnCodec>,
    /// Indexes into `columns`, in key order; empty for a multiset comparison.
    pub key: Vec<usize>,
}

/// A 128-bit row hash.
pub type RowHash = [u8; 16];

/// The keys and canonical row encodings of every row of one batch.
///
/// Rows are stored back to back, each as `u64 LE length ‖ field encodings`,
/// so a run of consecutive rows is one contiguous byte slice: a chunk digest
/// hashes whole slices (blake3 is fastest on long inputs) and row hashes
/// are only computed where a chunk differs.
#[derive(Debug, Clone, Default)]
pub struct EncodedBatch {
    key_data: Vec<u8>,
    key_ends: Vec<usize>,
    row_data: Vec<u8>,
    row_ends: Vec<usize>,
}

impl EncodedBatch {
    pub fn len(&self) -> usize {
        self.row_ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.row_ends.is_empty()
    }

    /// The order-preserving key of row `i` (empty for a multiset comparison).
    pub fn key(&self, i: usize) -> &[u8] {
        if self.key_ends.is_empty() {
            return &[];
        }
        let start = if i == 0 { 0 } else { self.key_ends[i - 1] };
        &self.key_data[start..self.key_ends[i]]
    }

    /// Rows `start..end`, framed, as one slice.
    pub fn rows(&self, start: usize, end: usize) -> &[u8] {
        if start >= end {
            return &[];
        }
        let from = if start == 0 {
            0
        } else {
            self.row_ends[start - 1]
        };
        &self.row_data[from..self.row_ends[end - 1]]
    }

    /// The 128-bit hash of row `i` (over its framed encoding).
    pub fn row_hash(&self, i: usize) -> RowHash {
        row_hash(self.rows(i, i + 1))
    }
}

/// Derivation contexts: changing the encoding changes these, so digests of
/// different encoding versions can never be mistaken for each other.
pub const ROW_CONTEXT: &str = "ferry-parity v1 row";
pub const CHUNK_CONTEXT: &str = "ferry-parity v1 chunk";

impl TableCodec {
    fn index(&self, c: &ColumnCodec, side: Side) -> usize {
        match side {
            Side::Source => c.source_index,
            Side::Target => c.target_index,
        }
    }

    fn flags(c: &ColumnCodec, side: Side) -> SideFlags {
        match side {
            Side::Source => c.rule.source,
            Side::Target => c.rule.target,
        }
    }

    /// Appends the canonical encoding of one cell.
    pub fn encode_cell(
        &self,
        side: Side,
        batch: &RecordBatch,
        column: usize,
        row: usize,
        out: &mut Vec<u8>,
    ) {
        let c = &self.columns[column];
        let a = batch.column(self.index(c, side));
        encode_value(a.as_ref(), row, &c.rule.domain, Self::flags(c, side), out);
    }

    /// Keys and canonical row encodings of every row of `batch`.
    pub fn encode_batch(&self, side: Side, batch: &RecordBatch) -> EncodedBatch {
        let n = batch.num_rows();
        let mut out = EncodedBatch {
            key_data: Vec::new(),
            key_ends: Vec::with_capacity(if self.key.is_empty() { 0 } else { n }),
            row_data: Vec::with_capacity(n * 64),
            row_ends: Vec::with_capacity(n),
        };
        let arrays: Vec<&ArrayRef> = self
            .columns
            .iter()
            .map(|c| batch.column(self.index(c, side)))
            .collect();
        let views: Vec<(View<'_>, &Domain, SideFlags)> = self
            .columns
            .iter()
            .zip(&arrays)
            .map(|(c, a)| (view(a.as_ref()), &c.rule.domain, Self::flags(c, side)))
            .collect();
        for row in 0..n {
            let at = out.row_data.len();
            out.row_data.extend_from_slice(&[0u8; 8]);
            for (v, domain, flags) in &views {
                encode_scalar(v.scalar(row), domain, *flags, &mut out.row_data);
            }
            let len = u64::try_from(out.row_data.len() - at - 8).unwrap_or(u64::MAX);
            out.row_data[at..at + 8].copy_from_slice(&len.to_le_bytes());
            out.row_ends.push(out.row_data.len());
            if !self.key.is_empty() {
                for &k in &self.key {
                    encode_key(
                        arrays[k].as_ref(),
                        row,
                        &self.columns[k].rule.domain,
                        &mut out.key_data,
                    );
                }
                out.key_ends.push(out.key_data.len());
            }
        }
        out
    }

    /// The key of a row for a report: `(column, value)` in key order.
    pub fn render_key(&self, side: Side, batch: &RecordBatch, row: usize) -> Vec<(String, String)> {
        self.key
            .iter()
            .map(|&k| {
                let c = &self.columns[k];
                (
                    c.name.clone(),
                    render_value(batch.column(self.index(c, side)).as_ref(), row),
                )
            })
            .collect()
    }

    /// Names of the columns whose canonical values differ between a source
    /// row and a target row, honouring float tolerances.
    pub fn differing_columns(
        &self,
        source: (&RecordBatch, usize),
        target: (&RecordBatch, usize),
    ) -> Vec<String> {
        let (mut a, mut b) = (Vec::new(), Vec::new());
        let mut out = Vec::new();
        for (k, c) in self.columns.iter().enumerate() {
            a.clear();
            b.clear();
            self.encode_cell(Side::Source, source.0, k, source.1, &mut a);
            self.encode_cell(Side::Target, target.0, k, target.1, &mut b);
            if a != b && !within_ulps(&c.rule, &a, &b) {
                out.push(c.name.clone());
            }
        }
        out
    }
}

/// The blake3 hash (128 bits) of one framed row encoding.
pub fn row_hash(fields: &[u8]) -> RowHash {
    let mut h = blake3::Hasher::new_derive_key(ROW_CONTEXT);
    h.update(fields);
    let mut out = [0u8; 16];
    out.copy_from_slice(&h.finalize().as_bytes()[..16]);
    out
}

/// Whether two encoded floats are within the rule's ULP tolerance.
pub fn within_ulps(rule: &ColumnRule, a: &[u8], b: &[u8]) -> bool {
    if rule.float_ulps == 0 {
        return false;
    }
    let ordered = |bits: i64| if bits < 0 { i64::MIN - bits } else { bits };
    match (a.first(), b.first()) {
        (Some(&F64), Some(&F64)) if a.len() == 9 && b.len() == 9 => {
            let x = i64::from_le_bytes(a[1..9].try_into().unwrap_or_default());
            let y = i64::from_le_bytes(b[1..9].try_into().unwrap_or_default());
            ordered(x).abs_diff(ordered(y)) <= u64::from(rule.float_ulps)
        }
        (Some(&F32), Some(&F32)) if a.len() == 5 && b.len() == 5 => {
            let x = i32::from_le_bytes(a[1..5].try_into().unwrap_or_default());
            let y = i32::from_le_bytes(b[1..5].try_into().unwrap_or_default());
            let o = |v: i32| if v < 0 { i32::MIN - v } else { v };
            o(x).abs_diff(o(y)) <= rule.float_ulps
        }
        _ => false,
    }
}
