//! Single binary `*_send` values → Arrow builders: one [`ColumnDecoder`] per
//! column, chosen once from the catalog type and the column's Arrow type.

use std::sync::Arc;

use arrow_array::builder::{
    BinaryBuilder, BooleanBuilder, Date32Builder, FixedSizeBinaryBuilder, Float32Builder,
    Float64Builder, Int16Builder, Int32Builder, Int64Builder, IntervalMonthDayNanoBuilder,
    StringBuilder, Time64MicrosecondBuilder, TimestampMicrosecondBuilder,
};
use arrow_array::types::IntervalMonthDayNano;
use arrow_array::{ArrayRef, ListArray};
use arrow_buffer::{NullBufferBuilder, OffsetBuffer, ScalarBuffer};
use arrow_schema::{DataType, FieldRef, IntervalUnit, TimeUnit};
use ferry_core::RawType;

use super::rendered::Render;
use super::{PG_EPOCH_DAYS, PG_EPOCH_MICROS};
use crate::numeric::numeric_to_text;

/// Decodes one column: the wire format is implied by the variant, the Arrow
/// builder it fills is its payload.
pub enum ColumnDecoder {
    Bool(BooleanBuilder),
    Int2(Int16Builder),
    Int4(Int32Builder),
    Int8(Int64Builder),
    Float4(Float32Builder),
    Float8(Float64Builder),
    /// Binary numeric → canonical decimal text (money arrives cast to numeric).
    Numeric(StringBuilder, String),
    /// UTF-8 bytes: text, varchar, bpchar, name, enum, json and the text casts.
    Text(StringBuilder),
    /// jsonb: a version byte (1), then the text.
    Jsonb(StringBuilder),
    Bytea(BinaryBuilder),
    Date(Date32Builder),
    Time(Time64MicrosecondBuilder),
    Timestamp(TimestampMicrosecondBuilder),
    Interval(IntervalMonthDayNanoBuilder),
    Uuid(FixedSizeBinaryBuilder),
    Array(Box<ListDecoder>),
    /// PostGIS geometry/geography EWKB → canonical EWKB (scratch buffer).
    Geometry(BinaryBuilder, Vec<u8>),
    /// PostgreSQL's point (two float8) → canonical EWKB, SRID 0.
    Point(BinaryBuilder, Vec<u8>),
    /// A binary form the copy reads through a cast, rendered as that cast
    /// would (changes only: see [`ColumnDecoder::for_change`]).
    Rendered(StringBuilder, Render, String),
}

/// A one-dimensional array column decoded into an Arrow `List`.
pub struct ListDecoder {
    field: FieldRef,
    offsets: Vec<i32>,
    nulls: NullBufferBuilder,
    item: ColumnDecoder,
}

/// What is wrong with a value, in words that never include the value.
pub type Problem = &'static str;

pub(super) fn be_i32(b: &[u8]) -> Result<i32, Problem> {
    b.get(..4)
        .map(|s| i32::from_be_bytes([s[0], s[1], s[2], s[3]]))
        .ok_or("truncated value")
}

fn be_i64(b: &[u8]) -> Result<i64, Problem> {
    b.get(..8)
        .map(|s| i64::from_be_bytes([s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]]))
        .ok_or("truncated value")
}

fn exact<const N: usize>(b: &[u8]) -> Result<[u8; N], Problem> {
    <[u8; N]>::try_from(b).map_err(|_| "value has the wrong length for its type")
}

fn utf8(b: &[u8]) -> Result<&str, Problem> {
    std::str::from_utf8(b).map_err(|_| "text is not valid UTF-8")
}

/// PostgreSQL date (days since 2000-01-01) → Date32, keeping ±infinity sentinels.
pub fn date_from_pg(d: i32) -> Result<i32, Problem> {
    if d == i32::MAX || d == i32::MIN {
        return Ok(d);
    }
    d.checked_add(PG_EPOCH_DAYS).ok_or("date out of range")
}

/// PostgreSQL timestamp (µs since 2000-01-01) → µs since 1970, keeping sentinels.
pub fn timestamp_from_pg(t: i64) -> Result<i64, Problem> {
    if t == i64::MAX || t == i64::MIN {
        return Ok(t);
    }
    t.checked_add(PG_EPOCH_MICROS)
        .ok_or("timestamp out of range")
}

impl ColumnDecoder {
    /// The decoder for a column whose catalog type is `raw` and whose Arrow
    /// type is `dt` (from `arrow_type`). `None` when the pair is not supported.
    pub fn for_type(raw: &RawType, dt: &DataType) -> Option<ColumnDecoder> {
        use ColumnDecoder as D;
        let name = raw.name.as_str();
        Some(match (name, dt) {
            ("bool", DataType::Boolean) => D::Bool(BooleanBuilder::new()),
            ("int2", DataType::Int16) => D::Int2(Int16Builder::new()),
            ("int4", DataType::Int32) => D::Int4(Int32Builder::new()),
            ("int8", DataType::Int64) => D::Int8(Int64Builder::new()),
            ("float4", DataType::Float32) => D::Float4(Float32Builder::new()),
            ("float8", DataType::Float64) => D::Float8(Float64Builder::new()),
            ("numeric" | "money", DataType::Utf8) => {
                D::Numeric(StringBuilder::new(), String::new())
            }
            ("jsonb", DataType::Utf8) => D::Jsonb(StringBuilder::new()),
            (
                "text" | "varchar" | "bpchar" | "name" | "enum" | "json" | "xml" | "inet" | "cidr"
                | "macaddr" | "macaddr8" | "bit" | "varbit" | "tsvector" | "timetz",
                DataType::Utf8,
            ) => D::Text(StringBuilder::new()),
            ("bytea", DataType::Binary) => D::Bytea(BinaryBuilder::new()),
            ("date", DataType::Date32) => D::Date(Date32Builder::new()),
            ("time", DataType::Time64(TimeUnit::Microsecond)) => {
                D::Time(Time64MicrosecondBuilder::new())
            }
            ("timestamp" | "timestamptz", DataType::Timestamp(TimeUnit::Microsecond, tz)) => {
                D::Timestamp(TimestampMicrosecondBuilder::new().with_timezone_opt(tz.clone()))
            }
            ("interval", DataType::Interval(IntervalUnit::MonthDayNano)) => {
                D::Interval(IntervalMonthDayNanoBuilder::new())
            }
            ("uuid", DataType::FixedSizeBinary(16)) => D::Uuid(FixedSizeBinaryBuilder::new(16)),
            ("geometry" | "geography", DataType::Binary) => {
                D::Geometry(BinaryBuilder::new(), Vec::new())
            }
            ("point", DataType::Binary) => D::Point(BinaryBuilder::new(), Vec::new()),
            ("array", DataType::List(field)) => {
                let element = raw.element.as_deref()?;
                if element.name == "array" {
                    return None;
                }
                let item = ColumnDecoder::for_type(element, field.data_type())?;
                D::Array(Box::new(ListDecoder {
                    field: field.clone(),
                    offsets: vec![0],
                    nulls: NullBufferBuilder::new(0),
                    item,
                }))
            }
            _ => return None,
        })
    }

    /// The decoder of a column's values as a change carries them: every
    /// value in its binary `*_send` form, including the types the copy
    /// reads through a cast (rendered as the cast renders them; see
    /// [`Render`]), and arrays of them. `money_scale` is the fractional
    /// digits of the server's money. `None` when the pair is not supported.
    pub fn for_change(raw: &RawType, dt: &DataType, money_scale: u32) -> Option<ColumnDecoder> {
        use ColumnDecoder as D;
        if let (Some(render), DataType::Utf8) = (Render::for_type(&raw.name, money_scale), dt) {
            return Some(D::Rendered(StringBuilder::new(), render, String::new()));
        }
        if let ("array", DataType::List(field)) = (raw.name.as_str(), dt) {
            let element = raw.element.as_deref()?;
            if element.name == "array" {
                return None;
            }
            let item = ColumnDecoder::for_change(element, field.data_type(), money_scale)?;
            return Some(D::Array(Box::new(ListDecoder {
                field: field.clone(),
                offsets: vec![0],
                nulls: NullBufferBuilder::new(0),
                item,
            })));
        }
        ColumnDecoder::for_type(raw, dt)
    }

    pub fn append_null(&mut self) {
        use ColumnDecoder as D;
        match self {
            D::Bool(b) => b.append_null(),
            D::Int2(b) => b.append_null(),
            D::Int4(b) => b.append_null(),
            D::Int8(b) => b.append_null(),
            D::Float4(b) => b.append_null(),
            D::Float8(b) => b.append_null(),
            D::Numeric(b, _) | D::Text(b) | D::Jsonb(b) | D::Rendered(b, ..) => b.append_null(),
            D::Bytea(b) | D::Geometry(b, _) | D::Point(b, _) => b.append_null(),
            D::Date(b) => b.append_null(),
            D::Time(b) => b.append_null(),
            D::Timestamp(b) => b.append_null(),
            D::Interval(b) => b.append_null(),
            D::Uuid(b) => b.append_null(),
            D::Array(l) => {
                let end = l.offsets.last().copied().unwrap_or(0);
                l.offsets.push(end);
                l.nulls.append_null();
            }
        }
    }

    /// Decodes one non-NULL value. On error nothing has been appended.
    pub fn append(&mut self, v: &[u8]) -> Result<(), Problem> {
        use ColumnDecoder as D;
        match self {
            D::Bool(b) => b.append_value(exact::<1>(v)?[0] != 0),
            D::Int2(b) => b.append_value(i16::from_be_bytes(exact(v)?)),
            D::Int4(b) => b.append_value(i32::from_be_bytes(exact(v)?)),
            D::Int8(b) => b.append_value(i64::from_be_bytes(exact(v)?)),
            D::Float4(b) => b.append_value(f32::from_be_bytes(exact(v)?)),
            D::Float8(b) => b.append_value(f64::from_be_bytes(exact(v)?)),
            D::Numeric(b, scratch) => {
                scratch.clear();
                numeric_to_text(v, scratch)?;
                b.append_value(scratch.as_str());
            }
            D::Text(b) => b.append_value(utf8(v)?),
            D::Jsonb(b) => match v.split_first() {
                Some((1, rest)) => b.append_value(utf8(rest)?),
                _ => return Err("unknown jsonb format version"),
            },
            D::Bytea(b) => b.append_value(v),
            D::Date(b) => b.append_value(date_from_pg(i32::from_be_bytes(exact(v)?))?),
            D::Time(b) => b.append_value(i64::from_be_bytes(exact(v)?)),
            D::Timestamp(b) => b.append_value(timestamp_from_pg(i64::from_be_bytes(exact(v)?))?),
            D::Interval(b) => {
                let raw: [u8; 16] = exact(v)?;
                let micros = be_i64(&raw[..8])?;
                let days = be_i32(&raw[8..12])?;
                let months = be_i32(&raw[12..])?;
                let nanos = micros.checked_mul(1000).ok_or("interval out of range")?;
                b.append_value(IntervalMonthDayNano::new(months, days, nanos));
            }
            D::Uuid(b) => {
                let raw: [u8; 16] = exact(v)?;
                b.append_value(raw).map_err(|_| "bad uuid")?;
            }
            D::Array(l) => l.append(v)?,
            D::Geometry(b, scratch) => {
                scratch.clear();
                ferry_core::geometry::to_canonical(v, scratch)?;
                b.append_value(scratch.as_slice());
            }
            D::Point(b, scratch) => {
                let raw: [u8; 16] = exact(v)?;
                let x = f64::from_be_bytes(raw[..8].try_into().map_err(|_| "truncated point")?);
                let y = f64::from_be_bytes(raw[8..].try_into().map_err(|_| "truncated point")?);
                scratch.clear();
                ferry_core::geometry::point_ewkb(x, y, scratch);
                b.append_value(scratch.as_slice());
            }
            D::Rendered(b, render, scratch) => {
                render.render(v, scratch)?;
                b.append_value(scratch.as_str());
            }
        }
        Ok(())
    }

    pub fn finish(&mut self) -> ArrayRef {
        use ColumnDecoder as D;
        match self {
            D::Bool(b) => Arc::new(b.finish()),
            D::Int2(b) => Arc::new(b.finish()),
            D::Int4(b) => Arc::new(b.finish()),
            D::Int8(b) => Arc::new(b.finish()),
            D::Float4(b) => Arc::new(b.finish()),
            D::Float8(b) => Arc::new(b.finish()),
            D::Numeric(b, _) | D::Text(b) | D::Jsonb(b) | D::Rendered(b, ..) => {
                Arc::new(b.finish())
            }
            D::Bytea(b) | D::Geometry(b, _) | D::Point(b, _) => Arc::new(b.finish()),
            D::Date(b) => Arc::new(b.finish()),
            D::Time(b) => Arc::new(b.finish()),
            D::Timestamp(b) => Arc::new(b.finish()),
            D::Interval(b) => Arc::new(b.finish()),
            D::Uuid(b) => Arc::new(b.finish()),
            D::Array(l) => l.finish(),
        }
    }
}

impl ListDecoder {
    fn append(&mut self, v: &[u8]) -> Result<(), Problem> {
        if v.len() < 12 {
            return Err("truncated array");
        }
        let ndim = be_i32(v)?;
        let start_len = self.offsets.last().copied().unwrap_or(0);
        if ndim == 0 {
            self.offsets.push(start_len);
            self.nulls.append_non_null();
            return Ok(());
        }
        if ndim != 1 {
            return Err("multi-dimensional array");
        }
        let len = be_i32(&v[12..])?;
        let lower = be_i32(v.get(16..).ok_or("truncated array")?)?;
        if lower != 1 {
            return Err("array lower bound is not 1");
        }
        let mut pos = 20;
        let mut count: i32 = 0;
        for _ in 0..len {
            let n = be_i32(v.get(pos..).ok_or("truncated array")?)?;
            pos += 4;
            if n < 0 {
                self.item.append_null();
            } else {
                let n = usize::try_from(n).map_err(|_| "bad array element length")?;
                let e = v.get(pos..pos + n).ok_or("truncated array")?;
                self.item
                    .append(e)
                    .map_err(|_| "array element cannot be decoded")?;
                pos += n;
            }
            count += 1;
        }
        self.offsets.push(
            start_len
                .checked_add(count)
                .ok_or("array column too large for one batch")?,
        );
        self.nulls.append_non_null();
        Ok(())
    }

    fn finish(&mut self) -> ArrayRef {
        let offsets = std::mem::replace(&mut self.offsets, vec![0]);
        let values = self.item.finish();
        let nulls = self.nulls.finish();
        Arc::new(ListArray::new(
            self.field.clone(),
            OffsetBuffer::new(ScalarBuffer::from(offsets)),
            values,
            nulls,
        ))
    }
}
