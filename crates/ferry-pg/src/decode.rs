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

use ferry_core::ColumnPlan;

use crate::quote_ident;

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

/// The SELECT-list expression that reads `col` in a wire form this module decodes.
pub fn select_expr(col: &ColumnPlan) -> String {
    let q = quote_ident(&col.name);
    let name = col.raw.name.as_str();
    let elem = col.raw.element.as_deref().map(|e| e.name.as_str());
    match (name, elem) {
        (n, _) if TEXT_CAST.contains(&n) => format!("{q}::text"),
        ("money", _) => format!("{q}::numeric"),
        ("array", Some(e)) if TEXT_CAST.contains(&e) => format!("{q}::text[]"),
        ("array", Some("money")) => format!("{q}::numeric[]"),
        _ => q,
    }
}

#[cfg(test)]
mod tests;
