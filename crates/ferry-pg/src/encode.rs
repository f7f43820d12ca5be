//! Arrow → binary `COPY … FROM STDIN`.
//!
//! A column's [`PgEncoder`] is chosen once from its Arrow type and the
//! *actual* target column type (users may override the DDL), so an
//! unsupported pair fails before any row is sent. Per batch each column is
//! downcast once into a [`Typed`] view; the row loop then only matches on
//! the two enums and writes into one `BytesMut` — no per-value allocation.
//!
//! Choosing the encoders is this file; writing the fields is `field`.

use arrow_schema::{DataType, IntervalUnit, TimeUnit};
use ferry_core::Conversion;

mod field;

pub use field::{date_to_pg, money, put_field, timestamp_to_pg, Problem, Typed};

/// The binary COPY header: signature, flags, no extension.
pub const COPY_HEADER: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";
/// The binary COPY trailer.
pub const COPY_TRAILER: &[u8] = &[0xff, 0xff];

/// A target column's type as the target catalog describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgTargetType {
    /// Base `typname` (domains resolved).
    pub name: String,
    /// `typtype` of the base type (`b'e'` for enums).
    pub typtype: u8,
    /// The column's typmod (-1 when none).
    pub typmod: i32,
    /// For arrays: the element's oid (array_recv checks it) and type.
    pub element: Option<(u32, Box<PgTargetType>)>,
}

/// How one column is encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PgEncoder {
    Bool,
    /// Any Arrow integer into int2/int4/int8, range-checked.
    Int {
        bytes: u8,
    },
    /// Any Arrow integer into numeric.
    IntNumeric,
    Float4,
    Float8,
    /// float4 widened to float8 (exact).
    Float4To8,
    /// Decimal text into numeric, with the target's typmod limits.
    Numeric {
        precision: Option<u32>,
        scale: Option<u32>,
    },
    /// Decimal text into money: i64 scaled by the server's fraction digits.
    Money {
        frac_digits: u32,
    },
    /// UTF-8 text (text, varchar, bpchar, name, json, xml, enum).
    Text {
        max_chars: Option<usize>,
        strip_nul: bool,
    },
    Jsonb {
        strip_nul: bool,
    },
    TimeTz,
    Inet {
        cidr: bool,
    },
    Mac {
        len: usize,
    },
    Bit {
        fixed: Option<usize>,
        max: Option<usize>,
    },
    TsVector,
    Bytea,
    Date,
    Time,
    Timestamp,
    /// Duration µs into interval (no months or days).
    DurationInterval,
    Interval,
    Uuid,
    Array {
        element_oid: u32,
        item: Box<PgEncoder>,
    },
}

impl PgEncoder {
    /// The encoder for Arrow `dt` into target type `t`; `None` when the pair
    /// is not supported. `money_frac` is the server's money fraction digits.
    pub fn choose(
        dt: &DataType,
        t: &PgTargetType,
        conversion: Conversion,
        money_frac: Option<u32>,
    ) -> Option<PgEncoder> {
        use PgEncoder as E;
        if let Some((element_oid, et)) = &t.element {
            let DataType::List(f) = dt else { return None };
            let item = PgEncoder::choose(f.data_type(), et, conversion, money_frac)?;
            if matches!(item, E::Array { .. }) {
                return None;
            }
            return Some(E::Array {
                element_oid: *element_oid,
                item: Box::new(item),
            });
        }
        let typmod = (t.typmod >= 0).then_some(t.typmod);
        let strip_nul = conversion == Conversion::StripNul;
        let name = t.name.as_str();
        Some(match (dt, name) {
            (DataType::Boolean, "bool") => E::Bool,
            (d, "int2") if d.is_integer() => E::Int { bytes: 2 },
            (d, "int4") if d.is_integer() => E::Int { bytes: 4 },
            (d, "int8") if d.is_integer() => E::Int { bytes: 8 },
            (d, "numeric") if d.is_integer() => E::IntNumeric,
            (DataType::Float32, "float4") => E::Float4,
            (DataType::Float32, "float8") => E::Float4To8,
            (DataType::Float64, "float8") => E::Float8,
            (DataType::Utf8, "numeric") => {
                let v = typmod.map(|m| m - 4);
                E::Numeric {
                    precision: v.and_then(|v| u32::try_from((v >> 16) & 0xffff).ok()),
                    scale: v.and_then(|v| u32::try_from(((v & 0x7ff) ^ 1024) - 1024).ok()),
                }
            }
            (DataType::Utf8, "money") => E::Money {
                frac_digits: money_frac?,
            },
            (DataType::Utf8, "varchar" | "bpchar") => E::Text {
                max_chars: typmod.and_then(|m| usize::try_from(m - 4).ok()),
                strip_nul,
            },
            // citext's binary form is text's.
            (DataType::Utf8, "text" | "name" | "json" | "xml" | "citext") => E::Text {
                max_chars: None,
                strip_nul,
            },
            (DataType::Utf8, _) if t.typtype == b'e' => E::Text {
                max_chars: None,
                strip_nul,
            },
            (DataType::Utf8, "jsonb") => E::Jsonb { strip_nul },
            (DataType::Utf8, "timetz") => E::TimeTz,
            (DataType::Utf8, "inet") => E::Inet { cidr: false },
            (DataType::Utf8, "cidr") => E::Inet { cidr: true },
            (DataType::Utf8, "macaddr") => E::Mac { len: 6 },
            (DataType::Utf8, "macaddr8") => E::Mac { len: 8 },
            (DataType::Utf8, "bit") => E::Bit {
                fixed: typmod.and_then(|m| usize::try_from(m).ok()),
                max: None,
            },
            (DataType::Utf8, "varbit") => E::Bit {
                fixed: None,
                max: typmod.and_then(|m| usize::try_from(m).ok()),
            },
            (DataType::Utf8, "tsvector") => E::TsVector,
            (DataType::Binary, "bytea") => E::Bytea,
            (DataType::Date32, "date") => E::Date,
            (DataType::Time64(TimeUnit::Microsecond), "time") => E::Time,
            (DataType::Timestamp(TimeUnit::Microsecond, _), "timestamp" | "timestamptz") => {
                E::Timestamp
            }
            (DataType::Duration(TimeUnit::Microsecond), "interval") => E::DurationInterval,
            (DataType::Interval(IntervalUnit::MonthDayNano), "interval") => E::Interval,
            (DataType::FixedSizeBinary(16), "uuid") => E::Uuid,
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests;
