//! Order-preserving key encodings, and key values rendered for reports.

use arrow_array::Array;
use arrow_schema::DataType;

use super::scalar::{scalar, Scalar};
use super::{
    date_text, encode_scalar, iso8601_interval, parse_uuid, round_to, timestamp_text, uuid_text,
};
use crate::decimal::{self, Decimal};
use crate::rule::{Domain, SideFlags};

/// Appends an order-preserving encoding of `a[i]` in `domain` (for key
/// columns; the domain must be [orderable](crate::rule::ColumnRule::orderable)).
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
        (Domain::Inet, Scalar::Str(s)) => escaped(out, super::host_text(s).as_bytes()),
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
