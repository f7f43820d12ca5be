//! tiberius values ([`ColumnData`]) → Arrow builders.
//!
//! A [`Decoder`] is chosen once per column from the plan's logical type
//! (which fixes the Arrow type) and its conversion, then fed every value of
//! that column. The value-level rules live in [`crate::value`]; this file
//! only moves values into builders. A value the hub cannot hold is a
//! [`Problem`] naming its class, never the value; the reader adds table,
//! column and key.
//!
//! What the reader selects is decided in [`crate::desc`]: `money` arrives
//! as `decimal(19,4)` (tiberius decodes `money` into an `f64`, which cannot
//! hold every value), `hierarchyid` as its path text, and columns a user
//! mapped to text as SQL Server's own text form.

use std::sync::Arc;

use arrow_array::builder::{
    ArrayBuilder, BinaryBuilder, BooleanBuilder, Date32Builder, FixedSizeBinaryBuilder,
    Float32Builder, Float64Builder, Int16Builder, Int32Builder, Int64Builder, Int8Builder,
    StringBuilder, Time64MicrosecondBuilder, TimestampMicrosecondBuilder, UInt16Builder,
    UInt32Builder, UInt64Builder, UInt8Builder,
};
use arrow_array::ArrayRef;
use ferry_core::{ColumnPlan, Conversion, LogicalType};
use tiberius::ColumnData;

use crate::value::{self, Problem};

/// One column's decoder: the Arrow builder for the column's logical type.
pub enum Decoder {
    Bool(BooleanBuilder),
    Int8(Int8Builder),
    Int16(Int16Builder),
    Int32(Int32Builder),
    Int64(Int64Builder),
    UInt8(UInt8Builder),
    UInt16(UInt16Builder),
    UInt32(UInt32Builder),
    UInt64(UInt64Builder),
    Float32(Float32Builder),
    Float64(Float64Builder),
    /// decimal/numeric (and money, selected as decimal) as canonical text.
    Decimal(StringBuilder),
    /// Strings, XML, and any value read as its text form.
    Text(StringBuilder),
    Binary(BinaryBuilder),
    /// geometry / geography, selected as SRID (big-endian) + WKB, as
    /// canonical EWKB.
    Geometry(BinaryBuilder),
    Date(Date32Builder),
    Time {
        builder: Time64MicrosecondBuilder,
        round: bool,
    },
    /// `datetime`, `smalldatetime`, `datetime2`, `datetimeoffset` as µs.
    Timestamp {
        builder: TimestampMicrosecondBuilder,
        round: bool,
        /// Drop a non-zero offset (`offset_to_utc`) instead of refusing it.
        offset_to_utc: bool,
    },
    /// `uniqueidentifier`: tiberius has already put SQL Server's
    /// mixed-endian bytes in RFC 4122 order, so `Uuid::as_bytes` is the hub's.
    Uuid(FixedSizeBinaryBuilder),
}

impl Decoder {
    /// Chooses the decoder for a column. `Err` is the reason the logical
    /// type cannot come out of a SQL Server column.
    pub fn for_column(col: &ColumnPlan, capacity: usize) -> Result<Decoder, Problem> {
        use LogicalType as L;
        let round = col.conversion == Conversion::RoundFraction;
        Ok(match &col.logical {
            L::Bool => Decoder::Bool(BooleanBuilder::with_capacity(capacity)),
            L::Int8 => Decoder::Int8(Int8Builder::with_capacity(capacity)),
            L::Int16 | L::Year => Decoder::Int16(Int16Builder::with_capacity(capacity)),
            L::Int32 => Decoder::Int32(Int32Builder::with_capacity(capacity)),
            L::Int64 => Decoder::Int64(Int64Builder::with_capacity(capacity)),
            L::UInt8 => Decoder::UInt8(UInt8Builder::with_capacity(capacity)),
            L::UInt16 => Decoder::UInt16(UInt16Builder::with_capacity(capacity)),
            L::UInt32 => Decoder::UInt32(UInt32Builder::with_capacity(capacity)),
            L::UInt64 => Decoder::UInt64(UInt64Builder::with_capacity(capacity)),
            L::Float32 => Decoder::Float32(Float32Builder::with_capacity(capacity)),
            L::Float64 => Decoder::Float64(Float64Builder::with_capacity(capacity)),
            L::Decimal { .. } | L::Money => {
                Decoder::Decimal(StringBuilder::with_capacity(capacity, capacity * 8))
            }
            L::Char { .. }
            | L::Varchar { .. }
            | L::Text { .. }
            | L::Xml
            | L::Json
            | L::Jsonb
            | L::Enum { .. }
            | L::TimeTz
            | L::Inet
            | L::Cidr
            | L::MacAddr
            | L::MacAddr8
            | L::TsVector
            | L::Bit { .. } => Decoder::Text(StringBuilder::with_capacity(capacity, capacity * 16)),
            L::Binary { .. } | L::VarBinary { .. } => {
                Decoder::Binary(BinaryBuilder::with_capacity(capacity, capacity * 16))
            }
            L::Geometry { .. } => {
                Decoder::Geometry(BinaryBuilder::with_capacity(capacity, capacity * 32))
            }
            L::Date => Decoder::Date(Date32Builder::with_capacity(capacity)),
            L::Time { .. } => Decoder::Time {
                builder: Time64MicrosecondBuilder::with_capacity(capacity),
                round,
            },
            L::Timestamp { .. } => Decoder::Timestamp {
                builder: TimestampMicrosecondBuilder::with_capacity(capacity),
                round,
                offset_to_utc: false,
            },
            L::TimestampTz { .. } => Decoder::Timestamp {
                builder: TimestampMicrosecondBuilder::with_capacity(capacity).with_timezone("UTC"),
                round,
                offset_to_utc: col.conversion == Conversion::OffsetToUtc,
            },
            L::Uuid => Decoder::Uuid(FixedSizeBinaryBuilder::with_capacity(capacity, 16)),
            other => {
                return Err(format!(
                    "SQL Server has no column type that reads as {other}"
                ))
            }
        })
    }

    /// Appends one value. On a refused value the builder still gets a slot
    /// (NULL), so the row stays aligned and its key can be rendered.
    pub fn push(&mut self, v: ColumnData<'static>) -> Result<(), Problem> {
        let r = self.push_inner(v);
        if r.is_err() {
            self.push_null();
        }
        r
    }

    fn push_inner(&mut self, v: ColumnData<'static>) -> Result<(), Problem> {
        use ColumnData as C;
        if is_null(&v) {
            self.push_null();
            return Ok(());
        }
        match self {
            Decoder::Bool(b) => match v {
                C::Bit(Some(x)) => b.append_value(x),
                other => return Err(unexpected(&other, "bit")),
            },
            Decoder::Int8(b) => b.append_value(int_as(&v)?),
            Decoder::Int16(b) => b.append_value(int_as(&v)?),
            Decoder::Int32(b) => b.append_value(int_as(&v)?),
            Decoder::Int64(b) => b.append_value(int_as(&v)?),
            Decoder::UInt8(b) => b.append_value(int_as(&v)?),
            Decoder::UInt16(b) => b.append_value(int_as(&v)?),
            Decoder::UInt32(b) => b.append_value(int_as(&v)?),
            Decoder::UInt64(b) => b.append_value(int_as(&v)?),
            Decoder::Float32(b) => match v {
                C::F32(Some(x)) => b.append_value(x),
                other => return Err(unexpected(&other, "real")),
            },
            Decoder::Float64(b) => match v {
                C::F64(Some(x)) => b.append_value(x),
                C::F32(Some(x)) => b.append_value(f64::from(x)),
                other => return Err(unexpected(&other, "float")),
            },
            Decoder::Decimal(b) => match v {
                C::Numeric(Some(n)) => b.append_value(value::numeric_of(n)),
                C::U8(Some(x)) => b.append_value(x.to_string()),
                C::I16(Some(x)) => b.append_value(x.to_string()),
                C::I32(Some(x)) => b.append_value(x.to_string()),
                C::I64(Some(x)) => b.append_value(x.to_string()),
                other => return Err(unexpected(&other, "decimal")),
            },
            Decoder::Text(b) => b.append_value(text_of(&v)?),
            Decoder::Binary(b) => match v {
                C::Binary(Some(x)) => b.append_value(x),
                other => return Err(unexpected(&other, "binary")),
            },
            Decoder::Geometry(b) => match v {
                C::Binary(Some(x)) => b.append_value(geometry_ewkb(&x)?),
                other => return Err(unexpected(&other, "geometry")),
            },
            Decoder::Date(b) => match v {
                C::Date(Some(d)) => b.append_value(value::date_days(d.days())),
                other => return Err(unexpected(&other, "date")),
            },
            Decoder::Time { builder, round } => match v {
                C::Time(Some(t)) => builder.append_value(value::increments_to_micros(
                    t.increments(),
                    t.scale(),
                    *round,
                )?),
                other => return Err(unexpected(&other, "time")),
            },
            Decoder::Timestamp {
                builder,
                round,
                offset_to_utc,
            } => builder.append_value(timestamp_micros(&v, *round, *offset_to_utc)?),
            Decoder::Uuid(b) => match v {
                C::Guid(Some(u)) => b
                    .append_value(u.as_bytes())
                    .map_err(|_| "uuid of the wrong width".to_string())?,
                other => return Err(unexpected(&other, "uniqueidentifier")),
            },
        }
        Ok(())
    }

    fn push_null(&mut self) {
        match self {
            Decoder::Bool(b) => b.append_null(),
            Decoder::Int8(b) => b.append_null(),
            Decoder::Int16(b) => b.append_null(),
            Decoder::Int32(b) => b.append_null(),
            Decoder::Int64(b) => b.append_null(),
            Decoder::UInt8(b) => b.append_null(),
            Decoder::UInt16(b) => b.append_null(),
            Decoder::UInt32(b) => b.append_null(),
            Decoder::UInt64(b) => b.append_null(),
            Decoder::Float32(b) => b.append_null(),
            Decoder::Float64(b) => b.append_null(),
            Decoder::Decimal(b) | Decoder::Text(b) => b.append_null(),
            Decoder::Binary(b) | Decoder::Geometry(b) => b.append_null(),
            Decoder::Date(b) => b.append_null(),
            Decoder::Time { builder, .. } => builder.append_null(),
            Decoder::Timestamp { builder, .. } => builder.append_null(),
            Decoder::Uuid(b) => b.append_null(),
        }
    }

    /// The array of the values pushed since the last call.
    pub fn finish(&mut self) -> ArrayRef {
        match self {
            Decoder::Bool(b) => Arc::new(b.finish()),
            Decoder::Int8(b) => Arc::new(b.finish()),
            Decoder::Int16(b) => Arc::new(b.finish()),
            Decoder::Int32(b) => Arc::new(b.finish()),
            Decoder::Int64(b) => Arc::new(b.finish()),
            Decoder::UInt8(b) => Arc::new(b.finish()),
            Decoder::UInt16(b) => Arc::new(b.finish()),
            Decoder::UInt32(b) => Arc::new(b.finish()),
            Decoder::UInt64(b) => Arc::new(b.finish()),
            Decoder::Float32(b) => Arc::new(b.finish()),
            Decoder::Float64(b) => Arc::new(b.finish()),
            Decoder::Decimal(b) | Decoder::Text(b) => Arc::new(b.finish()),
            Decoder::Binary(b) | Decoder::Geometry(b) => Arc::new(b.finish()),
            Decoder::Date(b) => Arc::new(b.finish()),
            Decoder::Time { builder, .. } => Arc::new(builder.finish()),
            Decoder::Timestamp { builder, .. } => Arc::new(builder.finish()),
            Decoder::Uuid(b) => Arc::new(b.finish()),
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Decoder::Bool(b) => b.len(),
            Decoder::Int8(b) => b.len(),
            Decoder::Int16(b) => b.len(),
            Decoder::Int32(b) => b.len(),
            Decoder::Int64(b) => b.len(),
            Decoder::UInt8(b) => b.len(),
            Decoder::UInt16(b) => b.len(),
            Decoder::UInt32(b) => b.len(),
            Decoder::UInt64(b) => b.len(),
            Decoder::Float32(b) => b.len(),
            Decoder::Float64(b) => b.len(),
            Decoder::Decimal(b) | Decoder::Text(b) => b.len(),
            Decoder::Binary(b) | Decoder::Geometry(b) => b.len(),
            Decoder::Date(b) => b.len(),
            Decoder::Time { builder, .. } => builder.len(),
            Decoder::Timestamp { builder, .. } => builder.len(),
            Decoder::Uuid(b) => b.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Whether a value is SQL NULL, whatever its type.
pub fn is_null(v: &ColumnData<'_>) -> bool {
    use ColumnData as C;
    match v {
        C::U8(x) => x.is_none(),
        C::I16(x) => x.is_none(),
        C::I32(x) => x.is_none(),
        C::I64(x) => x.is_none(),
        C::F32(x) => x.is_none(),
        C::F64(x) => x.is_none(),
        C::Bit(x) => x.is_none(),
        C::String(x) => x.is_none(),
        C::Guid(x) => x.is_none(),
        C::Binary(x) => x.is_none(),
        C::Numeric(x) => x.is_none(),
        C::Xml(x) => x.is_none(),
        C::DateTime(x) => x.is_none(),
        C::SmallDateTime(x) => x.is_none(),
        C::Time(x) => x.is_none(),
        C::Date(x) => x.is_none(),
        C::DateTime2(x) => x.is_none(),
        C::DateTimeOffset(x) => x.is_none(),
    }
}

fn wire_name(v: &ColumnData<'_>) -> &'static str {
    use ColumnData as C;
    match v {
        C::U8(_) => "tinyint",
        C::I16(_) => "smallint",
        C::I32(_) => "int",
        C::I64(_) => "bigint",
        C::F32(_) => "real",
        C::F64(_) => "float",
        C::Bit(_) => "bit",
        C::String(_) => "string",
        C::Guid(_) => "uniqueidentifier",
        C::Binary(_) => "binary",
        C::Numeric(_) => "decimal",
        C::Xml(_) => "xml",
        C::DateTime(_) => "datetime",
        C::SmallDateTime(_) => "smalldatetime",
        C::Time(_) => "time",
        C::Date(_) => "date",
        C::DateTime2(_) => "datetime2",
        C::DateTimeOffset(_) => "datetimeoffset",
    }
}

fn unexpected(v: &ColumnData<'_>, column: &str) -> Problem {
    format!(
        "unexpected {} value from the server for a {column} column",
        wire_name(v)
    )
}

/// An integer value converted exactly into `T`.
pub fn int_as<T>(v: &ColumnData<'_>) -> Result<T, Problem>
where
    T: TryFrom<i64>,
{
    use ColumnData as C;
    let n: i64 = match v {
        C::U8(Some(x)) => i64::from(*x),
        C::I16(Some(x)) => i64::from(*x),
        C::I32(Some(x)) => i64::from(*x),
        C::I64(Some(x)) => *x,
        C::Bit(Some(b)) => i64::from(*b),
        other => return Err(unexpected(other, "integer")),
    };
    T::try_from(n).map_err(|_| "integer out of range for the column's type".to_string())
}

/// A spatial value as the reader selects it (the SRID as 4 big-endian
/// bytes, then `AsBinaryZM()`'s WKB) as canonical EWKB.
pub fn geometry_ewkb(selected: &[u8]) -> Result<Vec<u8>, Problem> {
    if selected.len() < 4 {
        return Err("malformed geometry from the server: shorter than its SRID".into());
    }
    // MySQL's internal format is the SRID little-endian, then WKB.
    let mut internal = selected.to_vec();
    internal[..4].reverse();
    let mut out = Vec::with_capacity(selected.len() + 4);
    ferry_core::geometry::from_mysql(&internal, &mut out).map_err(|p| p.to_string())?;
    Ok(out)
}

/// Any temporal value as µs since the epoch (UTC for `datetimeoffset`).
pub fn timestamp_micros(
    v: &ColumnData<'_>,
    round: bool,
    offset_to_utc: bool,
) -> Result<i64, Problem> {
    use ColumnData as C;
    match v {
        C::DateTime(Some(dt)) => value::datetime_micros(dt.days(), dt.seconds_fragments()),
        // tiberius names smalldatetime's second field "fragments"; on the
        // wire it is minutes since midnight.
        C::SmallDateTime(Some(dt)) => {
            value::smalldatetime_micros(dt.days(), dt.seconds_fragments())
        }
        C::DateTime2(Some(dt)) => value::datetime2_micros(
            dt.date().days(),
            dt.time().increments(),
            dt.time().scale(),
            round,
        ),
        C::DateTimeOffset(Some(dto)) => {
            if dto.offset() != 0 && !offset_to_utc {
                return Err(
                    "an offset other than +00:00, which ferry's UTC instant does not \
                            keep (choose offset_to_utc to keep only the instant, or map the \
                            column to varchar to keep the text)"
                        .into(),
                );
            }
            let dt = dto.datetime2();
            value::datetime2_micros(
                dt.date().days(),
                dt.time().increments(),
                dt.time().scale(),
                round,
            )
        }
        C::Date(Some(d)) => Ok(i64::from(value::date_days(d.days())) * value::MICROS_PER_DAY),
        other => Err(unexpected(other, "timestamp")),
    }
}

/// A value as text: strings as they are, XML as its document text, and
/// other values in the form the reader's `CONVERT` would give (for
/// `text_rows` probes and columns a user mapped to text).
pub fn text_of(v: &ColumnData<'_>) -> Result<String, Problem> {
    use ColumnData as C;
    Ok(match v {
        C::String(Some(s)) => s.to_string(),
        C::Xml(Some(x)) => x.to_string(),
        C::Guid(Some(u)) => u.to_string().to_ascii_uppercase(),
        C::U8(Some(x)) => x.to_string(),
        C::I16(Some(x)) => x.to_string(),
        C::I32(Some(x)) => x.to_string(),
        C::I64(Some(x)) => x.to_string(),
        C::Bit(Some(b)) => u8::from(*b).to_string(),
        C::F32(Some(x)) => x.to_string(),
        C::F64(Some(x)) => x.to_string(),
        C::Numeric(Some(n)) => value::numeric_of(*n),
        C::Binary(Some(b)) => format!("0x{}", ferry_core::hex::hex(b).to_ascii_uppercase()),
        C::Date(Some(d)) => render_date(i64::from(value::date_days(d.days()))),
        C::Time(Some(t)) => render_time(value::increments_to_micros(
            t.increments(),
            t.scale(),
            true,
        )?),
        other @ (C::DateTime(_) | C::SmallDateTime(_) | C::DateTime2(_)) => {
            render_timestamp(timestamp_micros(other, true, false)?)
        }
        C::DateTimeOffset(Some(dto)) => {
            let utc = timestamp_micros(v, true, true)?;
            let off = i64::from(dto.offset());
            let local = utc + off * 60 * value::MICROS_PER_SECOND;
            let sign = if off < 0 { '-' } else { '+' };
            format!(
                "{} {sign}{:02}:{:02}",
                render_timestamp(local),
                off.abs() / 60,
                off.abs() % 60
            )
        }
        other => return Err(unexpected(other, "text")),
    })
}

fn render_date(days: i64) -> String {
    let d = chrono::NaiveDate::from_num_days_from_ce_opt(
        i32::try_from(days + value::DAYS_0001_TO_1970 + 1).unwrap_or(1),
    )
    .unwrap_or_default();
    d.format("%Y-%m-%d").to_string()
}

fn render_time(us: i64) -> String {
    let s = us / value::MICROS_PER_SECOND;
    let frac = us % value::MICROS_PER_SECOND;
    let mut out = format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60);
    if frac != 0 {
        out.push_str(&format!(".{frac:06}"));
        while out.ends_with('0') {
            out.pop();
        }
    }
    out
}

fn render_timestamp(us: i64) -> String {
    let days = us.div_euclid(value::MICROS_PER_DAY);
    format!(
        "{} {}",
        render_date(days),
        render_time(us.rem_euclid(value::MICROS_PER_DAY))
    )
}

#[cfg(test)]
mod tests;
