//! Reading Arrow values into [`Scalar`]s, the one shape the encoders match on.
//!
//! [`View`] downcasts an array once (per batch and column); [`scalar`] is the
//! same read for a single value, so both paths agree on every Arrow type.

use arrow_array::cast::AsArray;
use arrow_array::types::IntervalMonthDayNano;
use arrow_array::{Array, ArrayRef};
use arrow_schema::{DataType, IntervalUnit, TimeUnit};

/// A scalar read out of an Arrow array, before normalisation.
pub(super) enum Scalar<'a> {
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
pub(super) enum View<'a> {
    Bool(&'a arrow_array::BooleanArray),
    I8(&'a arrow_array::Int8Array),
    I16(&'a arrow_array::Int16Array),
    I32(&'a arrow_array::Int32Array),
    I64(&'a arrow_array::Int64Array),
    U8(&'a arrow_array::UInt8Array),
    U16(&'a arrow_array::UInt16Array),
    U32(&'a arrow_array::UInt32Array),
    U64(&'a arrow_array::UInt64Array),
    F32(&'a arrow_array::Float32Array),
    F64(&'a arrow_array::Float64Array),
    Str(&'a arrow_array::StringArray),
    Bin(&'a arrow_array::BinaryArray),
    Fixed(&'a arrow_array::FixedSizeBinaryArray),
    Date(&'a arrow_array::Date32Array),
    Ts(&'a arrow_array::TimestampMicrosecondArray),
    Time(&'a arrow_array::Time64MicrosecondArray),
    Duration(&'a arrow_array::DurationMicrosecondArray),
    Interval(&'a arrow_array::IntervalMonthDayNanoArray),
    List(&'a arrow_array::ListArray),
    /// An Arrow type no domain reads: every non-NULL value is unsupported.
    Other(&'a dyn Array),
}

pub(super) fn view(a: &dyn Array) -> View<'_> {
    match a.data_type() {
        DataType::Boolean => View::Bool(a.as_boolean()),
        DataType::Int8 => View::I8(a.as_primitive()),
        DataType::Int16 => View::I16(a.as_primitive()),
        DataType::Int32 => View::I32(a.as_primitive()),
        DataType::Int64 => View::I64(a.as_primitive()),
        DataType::UInt8 => View::U8(a.as_primitive()),
        DataType::UInt16 => View::U16(a.as_primitive()),
        DataType::UInt32 => View::U32(a.as_primitive()),
        DataType::UInt64 => View::U64(a.as_primitive()),
        DataType::Float32 => View::F32(a.as_primitive()),
        DataType::Float64 => View::F64(a.as_primitive()),
        DataType::Utf8 => View::Str(a.as_string()),
        DataType::Binary => View::Bin(a.as_binary()),
        DataType::FixedSizeBinary(_) => View::Fixed(a.as_fixed_size_binary()),
        DataType::Date32 => View::Date(a.as_primitive()),
        DataType::Timestamp(TimeUnit::Microsecond, _) => View::Ts(a.as_primitive()),
        DataType::Time64(TimeUnit::Microsecond) => View::Time(a.as_primitive()),
        DataType::Duration(TimeUnit::Microsecond) => View::Duration(a.as_primitive()),
        DataType::Interval(IntervalUnit::MonthDayNano) => View::Interval(a.as_primitive()),
        DataType::List(_) => View::List(a.as_list()),
        _ => View::Other(a),
    }
}

impl<'a> View<'a> {
    /// Whether value `i` is NULL.
    pub(super) fn is_null(&self, i: usize) -> bool {
        match self {
            View::Str(a) => a.is_null(i),
            View::Bin(a) => a.is_null(i),
            _ => matches!(self.scalar(i), Scalar::Null),
        }
    }

    pub(super) fn scalar(&self, i: usize) -> Scalar<'a> {
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
            View::U8(a) => get!(a, |v: u8| Scalar::Int(v.into())),
            View::U16(a) => get!(a, |v: u16| Scalar::Int(v.into())),
            View::U32(a) => get!(a, |v: u32| Scalar::Int(v.into())),
            View::U64(a) => get!(a, |v: u64| Scalar::Int(v.into())),
            View::F32(a) => get!(a, Scalar::F32),
            View::F64(a) => get!(a, Scalar::F64),
            View::Str(a) => get!(a, Scalar::Str),
            View::Bin(a) => get!(a, Scalar::Bin),
            View::Fixed(a) => get!(a, Scalar::Bin),
            View::Date(a) => get!(a, Scalar::Date),
            View::Ts(a) => get!(a, Scalar::Ts),
            View::Time(a) => get!(a, Scalar::Micros),
            View::Duration(a) => get!(a, Scalar::Micros),
            View::Interval(a) => get!(a, |v: IntervalMonthDayNano| Scalar::Interval(
                v.months,
                v.days,
                v.nanoseconds
            )),
            View::List(a) => get!(a, Scalar::List),
            View::Other(a) => {
                if a.is_null(i) {
                    Scalar::Null
                } else {
                    Scalar::Unsupported
                }
            }
        }
    }
}

/// `a[i]` read on its own (keys, single cells, list elements).
pub(super) fn scalar(a: &dyn Array, i: usize) -> Scalar<'_> {
    view(a).scalar(i)
}
