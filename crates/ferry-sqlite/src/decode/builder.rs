//! The Arrow side of a column's reading: one builder of its logical type,
//! fed each value as [`Reading`] reads it.

use std::sync::Arc;

use arrow_array::builder::{
    ArrayBuilder, BinaryBuilder, BooleanBuilder, Date32Builder, FixedSizeBinaryBuilder,
    Float32Builder, Float64Builder, Int16Builder, Int32Builder, Int64Builder, Int8Builder,
    IntervalMonthDayNanoBuilder, StringBuilder, Time64MicrosecondBuilder,
    TimestampMicrosecondBuilder, UInt16Builder, UInt32Builder, UInt64Builder, UInt8Builder,
};
use arrow_array::ArrayRef;
use ferry_core::{ColumnPlan, LogicalType};
use rusqlite::types::ValueRef;

use super::*;

/// One column's reading and the Arrow builder of its logical type.
pub struct Decoder {
    reading: Reading,
    builder: Builder,
    scratch: String,
}

enum Builder {
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
    Utf8(StringBuilder),
    Binary(BinaryBuilder),
    Uuid(FixedSizeBinaryBuilder),
    Date(Date32Builder),
    Time(Time64MicrosecondBuilder),
    Timestamp(TimestampMicrosecondBuilder),
    Interval(IntervalMonthDayNanoBuilder),
}

impl Decoder {
    /// The decoder of a planned column; `Err` names what cannot be read.
    pub fn for_column(col: &ColumnPlan, capacity: usize) -> Result<Decoder, String> {
        use LogicalType as L;
        let reading = Reading::for_column(col)?;
        let builder = match &col.logical {
            L::Bool => Builder::Bool(BooleanBuilder::with_capacity(capacity)),
            L::Int8 => Builder::Int8(Int8Builder::with_capacity(capacity)),
            L::Int16 | L::Year => Builder::Int16(Int16Builder::with_capacity(capacity)),
            L::Int32 => Builder::Int32(Int32Builder::with_capacity(capacity)),
            L::Int64 => Builder::Int64(Int64Builder::with_capacity(capacity)),
            L::UInt8 => Builder::UInt8(UInt8Builder::with_capacity(capacity)),
            L::UInt16 => Builder::UInt16(UInt16Builder::with_capacity(capacity)),
            L::UInt32 => Builder::UInt32(UInt32Builder::with_capacity(capacity)),
            L::UInt64 => Builder::UInt64(UInt64Builder::with_capacity(capacity)),
            L::Float32 => Builder::Float32(Float32Builder::with_capacity(capacity)),
            L::Float64 => Builder::Float64(Float64Builder::with_capacity(capacity)),
            L::Binary { .. } | L::VarBinary { .. } => Builder::Binary(BinaryBuilder::new()),
            L::Uuid => Builder::Uuid(FixedSizeBinaryBuilder::with_capacity(capacity, 16)),
            L::Date => Builder::Date(Date32Builder::with_capacity(capacity)),
            L::Time { .. } => Builder::Time(Time64MicrosecondBuilder::with_capacity(capacity)),
            L::Timestamp { .. } => {
                Builder::Timestamp(TimestampMicrosecondBuilder::with_capacity(capacity))
            }
            L::TimestampTz { .. } => Builder::Timestamp(
                TimestampMicrosecondBuilder::with_capacity(capacity).with_timezone("UTC"),
            ),
            L::Interval => Builder::Interval(IntervalMonthDayNanoBuilder::with_capacity(capacity)),
            _ => Builder::Utf8(StringBuilder::new()),
        };
        Ok(Decoder {
            reading,
            builder,
            scratch: String::new(),
        })
    }

    /// Appends one value. On `Err` a NULL was appended in its place so the
    /// builders stay aligned and the row's key can still be rendered.
    pub fn push(&mut self, v: ValueRef<'_>) -> Result<(), Problem> {
        let res = self.push_inner(v);
        if res.is_err() {
            self.append_null();
        }
        res
    }

    fn push_inner(&mut self, v: ValueRef<'_>) -> Result<(), Problem> {
        if matches!(v, ValueRef::Null) {
            self.append_null();
            return Ok(());
        }
        match (&self.reading, &mut self.builder) {
            (Reading::Bool, Builder::Bool(b)) => b.append_value(bool_of(v)?),
            (Reading::Int { min, max }, b) => {
                let i = int_of(v, *min, *max)?;
                // In range by the reading's bounds, which follow the type.
                let bad = || Problem::from("integer out of range");
                match b {
                    Builder::Int8(b) => b.append_value(i8::try_from(i).map_err(|_| bad())?),
                    Builder::Int16(b) => b.append_value(i16::try_from(i).map_err(|_| bad())?),
                    Builder::Int32(b) => b.append_value(i32::try_from(i).map_err(|_| bad())?),
                    Builder::Int64(b) => b.append_value(i),
                    Builder::UInt8(b) => b.append_value(u8::try_from(i).map_err(|_| bad())?),
                    Builder::UInt16(b) => b.append_value(u16::try_from(i).map_err(|_| bad())?),
                    Builder::UInt32(b) => b.append_value(u32::try_from(i).map_err(|_| bad())?),
                    _ => return Err("internal: integer reading without an integer builder".into()),
                }
            }
            (Reading::UInt64, Builder::UInt64(b)) => b.append_value(uint_of(v)?),
            (Reading::Float64, Builder::Float64(b)) => b.append_value(f64_of(v)?),
            (Reading::Float32, Builder::Float32(b)) => b.append_value(f32_of(v)?),
            (Reading::Decimal { precision, scale }, Builder::Utf8(b)) => {
                b.append_value(decimal_text(v, *precision, *scale, &mut self.scratch)?)
            }
            (Reading::Text { max_chars }, Builder::Utf8(b)) => {
                b.append_value(text_of(v, *max_chars)?)
            }
            (Reading::Json, Builder::Utf8(b)) => b.append_value(json_text(v, &mut self.scratch)?),
            (Reading::Bytes { exact, max }, Builder::Binary(b)) => {
                b.append_value(bytes_of(v, *exact, *max)?)
            }
            (Reading::Uuid, Builder::Uuid(b)) => b
                .append_value(uuid_of(v)?)
                .map_err(|_| Problem::from("uuid is not 16 bytes"))?,
            (
                Reading::Date {
                    stored,
                    zero_to_null,
                },
                Builder::Date(b),
            ) => b.append_option(date_of(v, *stored, *zero_to_null)?),
            (Reading::Time, Builder::Time(b)) => b.append_value(time_of(v)?),
            (
                Reading::Timestamp {
                    stored,
                    zoned,
                    zero_to_null,
                },
                Builder::Timestamp(b),
            ) => b.append_option(timestamp_of(v, *stored, *zoned, *zero_to_null)?),
            (Reading::Interval, Builder::Interval(b)) => b.append_value(interval_of(v)?),
            _ => return Err("internal: a reading without its builder".into()),
        }
        Ok(())
    }

    fn append_null(&mut self) {
        match &mut self.builder {
            Builder::Bool(b) => b.append_null(),
            Builder::Int8(b) => b.append_null(),
            Builder::Int16(b) => b.append_null(),
            Builder::Int32(b) => b.append_null(),
            Builder::Int64(b) => b.append_null(),
            Builder::UInt8(b) => b.append_null(),
            Builder::UInt16(b) => b.append_null(),
            Builder::UInt32(b) => b.append_null(),
            Builder::UInt64(b) => b.append_null(),
            Builder::Float32(b) => b.append_null(),
            Builder::Float64(b) => b.append_null(),
            Builder::Utf8(b) => b.append_null(),
            Builder::Binary(b) => b.append_null(),
            Builder::Uuid(b) => b.append_null(),
            Builder::Date(b) => b.append_null(),
            Builder::Time(b) => b.append_null(),
            Builder::Timestamp(b) => b.append_null(),
            Builder::Interval(b) => b.append_null(),
        }
    }

    /// The array of everything appended since the last call.
    pub fn finish(&mut self) -> ArrayRef {
        match &mut self.builder {
            Builder::Bool(b) => Arc::new(b.finish()),
            Builder::Int8(b) => Arc::new(b.finish()),
            Builder::Int16(b) => Arc::new(b.finish()),
            Builder::Int32(b) => Arc::new(b.finish()),
            Builder::Int64(b) => Arc::new(b.finish()),
            Builder::UInt8(b) => Arc::new(b.finish()),
            Builder::UInt16(b) => Arc::new(b.finish()),
            Builder::UInt32(b) => Arc::new(b.finish()),
            Builder::UInt64(b) => Arc::new(b.finish()),
            Builder::Float32(b) => Arc::new(b.finish()),
            Builder::Float64(b) => Arc::new(b.finish()),
            Builder::Utf8(b) => Arc::new(b.finish()),
            Builder::Binary(b) => Arc::new(b.finish()),
            Builder::Uuid(b) => Arc::new(b.finish()),
            Builder::Date(b) => Arc::new(b.finish()),
            Builder::Time(b) => Arc::new(b.finish()),
            Builder::Timestamp(b) => Arc::new(b.finish()),
            Builder::Interval(b) => Arc::new(b.finish()),
        }
    }

    pub fn len(&self) -> usize {
        match &self.builder {
            Builder::Bool(b) => b.len(),
            Builder::Int8(b) => b.len(),
            Builder::Int16(b) => b.len(),
            Builder::Int32(b) => b.len(),
            Builder::Int64(b) => b.len(),
            Builder::UInt8(b) => b.len(),
            Builder::UInt16(b) => b.len(),
            Builder::UInt32(b) => b.len(),
            Builder::UInt64(b) => b.len(),
            Builder::Float32(b) => b.len(),
            Builder::Float64(b) => b.len(),
            Builder::Utf8(b) => b.len(),
            Builder::Binary(b) => b.len(),
            Builder::Uuid(b) => b.len(),
            Builder::Date(b) => b.len(),
            Builder::Time(b) => b.len(),
            Builder::Timestamp(b) => b.len(),
            Builder::Interval(b) => b.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
