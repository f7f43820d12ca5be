//! Binary `COPY … TO STDOUT` → Arrow.
//!
//! [`CopyDecoder`] is a streaming parser: chunks may split a tuple anywhere,
//! so it keeps only the unfinished tail between chunks and decodes each
//! complete tuple straight into per-column Arrow builders. The decoder of a
//! column ([`ColumnDecoder`]) is chosen once from the catalog type and the
//! column's Arrow type; the row loop only matches on that enum.
//!
//! The reader casts awkward types in its SELECT (see [`select_expr`]) so they
//! arrive as text or numeric; everything else is decoded from its binary
//! `*_send` form here.
//!
//! Single values are decoded in `value`, the stream framing is `stream`.

use ferry_core::arrow::arrow_type;
use ferry_core::{ColumnPlan, LogicalType, RawType};

use crate::quote_ident;

mod rendered;
mod stream;
mod value;

pub use stream::CopyDecoder;
pub use value::{date_from_pg, timestamp_from_pg, ColumnDecoder, ListDecoder, Problem};

/// Days from 1970-01-01 to PostgreSQL's epoch 2000-01-01.
pub const PG_EPOCH_DAYS: i32 = 10_957;
/// Microseconds from 1970-01-01 to 2000-01-01.
pub const PG_EPOCH_MICROS: i64 = 946_684_800_000_000;

/// Types the reader casts to text in its SELECT.
const TEXT_CAST: &[&str] = &[
    "inet", "cidr", "macaddr", "macaddr8", "bit", "varbit", "tsvector", "xml", "timetz",
];

/// Catalog types [`ColumnDecoder`] decodes from their own binary form.
const NATIVE: &[&str] = &[
    "bool",
    "int2",
    "int4",
    "int8",
    "float4",
    "float8",
    "numeric",
    "money",
    "jsonb",
    "text",
    "varchar",
    "bpchar",
    "name",
    "enum",
    "json",
    "bytea",
    "date",
    "time",
    "timestamp",
    "timestamptz",
    "interval",
    "uuid",
    "array",
    "geometry",
    "geography",
    "point",
];

/// Types read through a cast of their own to a type this module decodes:
/// (source type, cast target). hstore has a cast to json (an object of
/// strings); an oid widens to int8 exactly.
const OWN_CAST: &[(&str, &str)] = &[("hstore", "json"), ("oid", "int8")];

/// The SELECT-list expression that reads `col` in a wire form this module decodes.
pub fn select_expr(col: &ColumnPlan) -> String {
    // A derived column: the source computes it, then it is cast as a
    // column of its type would be.
    let q = match &col.expr {
        Some(sql) => format!("({sql})"),
        None => quote_ident(&col.name),
    };
    let name = col.raw.name.as_str();
    let elem = col.raw.element.as_deref().map(|e| e.name.as_str());
    if let Some((_, to)) = OWN_CAST.iter().find(|(n, _)| *n == name) {
        return format!("{q}::{to}");
    }
    match (name, elem) {
        (n, _) if TEXT_CAST.contains(&n) => format!("{q}::text"),
        ("money", _) => format!("{q}::numeric"),
        ("array", Some(e)) if TEXT_CAST.contains(&e) => format!("{q}::text[]"),
        ("array", Some("money")) => format!("{q}::numeric[]"),
        _ => match text_form(col) {
            Some("text") => format!("{q}::text"),
            Some("bytea") => format!("convert_to({q}::text, 'UTF8')"),
            Some(wire) => format!("{q}::text::{wire}"),
            None => q,
        },
    }
}

/// The catalog type the decoder sees for `col`: the raw type, or the type
/// the SELECT casts it to (see [`select_expr`]).
pub fn wire_type(col: &ColumnPlan) -> RawType {
    let name = col.raw.name.as_str();
    if let Some((_, to)) = OWN_CAST.iter().find(|(n, _)| *n == name) {
        return RawType {
            name: (*to).to_string(),
            ..RawType::default()
        };
    }
    if TEXT_CAST.contains(&name) || name == "money" || name == "array" {
        return col.raw.clone();
    }
    match text_form(col) {
        Some(wire) => RawType {
            name: wire.to_string(),
            ..RawType::default()
        },
        None => col.raw.clone(),
    }
}

/// For a column whose catalog type this module cannot decode as its logical
/// type (a type read by a text rule such as citext or a range, or one a
/// user's override gave a kind): the PostgreSQL type its text rendering is
/// cast to in the SELECT, so the value arrives in that type's binary form.
/// `None` when the column decodes natively or its kind has no such type.
fn text_form(col: &ColumnPlan) -> Option<&'static str> {
    use LogicalType as L;
    // A type decoded natively keeps its binary form even when the plan asks
    // for another kind: that mismatch is refused by the decoder, not cast.
    if NATIVE.contains(&col.raw.name.as_str())
        || ColumnDecoder::for_type(&col.raw, &arrow_type(&col.logical)).is_some()
    {
        return None;
    }
    Some(match &col.logical {
        L::Bool => "bool",
        L::Int16 => "int2",
        L::Int32 => "int4",
        L::Int64 => "int8",
        L::Float32 => "float4",
        L::Float64 => "float8",
        L::Decimal { .. } | L::Money => "numeric",
        L::Char { .. }
        | L::Varchar { .. }
        | L::Text { .. }
        | L::Enum { .. }
        | L::Xml
        | L::Inet
        | L::Cidr
        | L::MacAddr
        | L::MacAddr8
        | L::TsVector
        | L::TimeTz
        | L::Bit { .. } => "text",
        L::Json => "json",
        L::Jsonb => "jsonb",
        L::Binary { .. } | L::VarBinary { .. } => "bytea",
        L::Date => "date",
        L::Time { .. } => "time",
        L::Timestamp { .. } => "timestamp",
        L::TimestampTz { .. } => "timestamptz",
        L::Interval => "interval",
        L::Uuid => "uuid",
        _ => return None,
    })
}

#[cfg(test)]
mod tests;
