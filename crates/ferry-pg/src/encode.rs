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

use crate::range::RangeElement;

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
    /// For range and multirange types: the subtype's `typname`.
    pub subtype: Option<String>,
}

/// What a PostGIS column's typmod lets in; each field `None` when the
/// column does not constrain it. A value outside it is refused with the
/// key rather than left to PostGIS, which would *relabel* an SRID-0 value
/// with the column's SRID (and a geography's with 4326) or turn a
/// `MULTIPOINT EMPTY` into a `POINT EMPTY` without a word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GeometryTarget {
    /// WKB type code 1–7.
    pub code: Option<u32>,
    pub srid: Option<u32>,
    /// (Z, M) when the column has a typmod.
    pub dims: Option<(bool, bool)>,
    pub geography: bool,
    /// The user chose `drop_srid`: values are written with SRID 0.
    pub drop_srid: bool,
}

impl GeometryTarget {
    fn of(t: &PgTargetType, drop_srid: bool) -> GeometryTarget {
        let geography = t.name == "geography";
        if t.typmod < 0 {
            return GeometryTarget {
                geography,
                drop_srid,
                ..GeometryTarget::default()
            };
        }
        let m = t.typmod;
        let srid = ((m & 0x0fff_ff00) - (m & 0x1000_0000)) >> 8;
        let code = u32::try_from((m & 0xfc) >> 2).unwrap_or(0);
        GeometryTarget {
            code: (code != 0).then_some(code),
            srid: u32::try_from(srid).ok().filter(|&s| s != 0),
            dims: Some((m & 2 != 0, m & 1 != 0)),
            geography,
            drop_srid,
        }
    }
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
    /// Canonical EWKB into PostGIS geometry/geography (EWKB is their
    /// binary form), checked against the column's typmod first.
    Geometry(GeometryTarget),
    /// Canonical EWKB of a 2D point into PostgreSQL's `point`.
    Point {
        drop_srid: bool,
    },
    /// hstore's JSON object into hstore.
    Hstore,
    /// Range text into a range type of `element`.
    Range(RangeElement),
    /// Multirange text into a multirange type of `element`.
    Multirange(RangeElement),
    /// `"char"` text into the one-byte `"char"`.
    Char1,
    /// An integer into oid (0 … 4294967295).
    Oid,
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
            (DataType::Binary, "geometry" | "geography") => {
                E::Geometry(GeometryTarget::of(t, conversion == Conversion::DropSrid))
            }
            (DataType::Binary, "point") => E::Point {
                drop_srid: conversion == Conversion::DropSrid,
            },
            (DataType::Utf8, "hstore") => E::Hstore,
            (DataType::Utf8, _) if t.typtype == b'r' => {
                E::Range(RangeElement::of(t.subtype.as_deref()?)?)
            }
            (DataType::Utf8, _) if t.typtype == b'm' => {
                E::Multirange(RangeElement::of(t.subtype.as_deref()?)?)
            }
            (DataType::Utf8, "char") => E::Char1,
            (d, "oid") if d.is_integer() => E::Oid,
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests;
