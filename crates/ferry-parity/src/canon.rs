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
//! | `0x10` | geometry | u64 length + canonical EWKB (little-endian, SRID flag iff SRID ≠ 0) |
//!
//! This file holds the field encoding itself; reading Arrow values into one
//! scalar shape is `scalar`, key encodings and report text are `key`, and a
//! table's batch encoding and row hash are `table` (all re-exported here).

use arrow_array::Array;
use chrono::{DateTime, NaiveDate};

use crate::decimal::{self, Decimal};
use crate::json::{self, put_bytes, put_len, Json};
use crate::rule::{Domain, SideFlags};

mod column;
mod key;
mod scalar;
mod table;

pub use key::{encode_key, render_value};
pub use table::{
    row_hash, within_ulps, ColumnCodec, EncodedBatch, RowHash, TableCodec, CHUNK_CONTEXT,
    LARGE_VALUE, ROW_CONTEXT,
};

use scalar::{scalar, Scalar};

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
const GEOMETRY: u8 = 0x10;

/// Which side of a comparison a batch comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Source,
    Target,
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
    // A MySQL zero or partial date (ferry_core::zerodate) rounds its time
    // of day within its own day: it has no neighbours to carry into.
    if let Some(((y, m, d), time)) = ferry_core::zerodate::of_micros(us) {
        let rounded = (time + unit / 2) / unit * unit;
        return ferry_core::zerodate::micros(y, m, d, rounded).unwrap_or(us);
    }
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
        (Domain::Inet, Scalar::Str(s)) => {
            out.push(TEXT);
            put_bytes(out, host_text(s).as_bytes());
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
        (Domain::Json, Scalar::Str(s)) => {
            out.push(JSON);
            if !json::encode_text(s, out) {
                out.pop();
                invalid(out, s.as_bytes());
            }
        }
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
        (Domain::Geometry, Scalar::Bin(b)) => put_geometry(out, b, flags),
        (_, Scalar::Str(s)) => invalid(out, s.as_bytes()),
        _ => invalid(out, b"(value of an unexpected type for its domain)"),
    }
}

/// A spatial value (canonical EWKB, or EWKB/WKB in any byte order from a
/// bytea side) in its canonical form; bytes that do not parse are invalid.
fn put_geometry(out: &mut Vec<u8>, b: &[u8], flags: SideFlags) {
    let mut canon = Vec::with_capacity(b.len());
    if ferry_core::geometry::to_canonical(b, &mut canon).is_err() {
        invalid(out, b"(malformed geometry)");
        return;
    }
    if flags.drop_srid {
        let mut bare = Vec::with_capacity(canon.len());
        if ferry_core::geometry::with_srid(&canon, 0, &mut bare).is_err() {
            invalid(out, b"(malformed geometry)");
            return;
        }
        canon = bare;
    }
    out.push(GEOMETRY);
    put_bytes(out, &canon);
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

/// An inet's text without a mask that covers the whole address (`/32` on
/// IPv4, `/128` on IPv6): the same host however the engine spells it.
pub fn host_text(s: &str) -> &str {
    let full = if s.contains(':') { "/128" } else { "/32" };
    s.strip_suffix(full).unwrap_or(s)
}

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

#[cfg(test)]
mod inet_tests {
    use super::host_text;

    /// Issue 19: MariaDB INET4/INET6 text and PostgreSQL inet's text cast
    /// name the same host differently; a real mask must still differ.
    #[test]
    fn a_full_length_mask_is_the_same_host() {
        assert_eq!(host_text("192.168.0.1/32"), "192.168.0.1");
        assert_eq!(host_text("::ffff:10.0.0.1/128"), "::ffff:10.0.0.1");
        assert_eq!(host_text("192.168.0.1"), "192.168.0.1");
        assert_eq!(host_text("192.168.1.5/24"), "192.168.1.5/24");
        assert_eq!(host_text("2001:db8::/32"), "2001:db8::/32");
    }
}
