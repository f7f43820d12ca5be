//! Writing one field of binary COPY: each column of a batch is downcast once
//! into a [`Typed`] view, and every value is checked against the target type
//! before its `*_recv` form is written.

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, DurationMicrosecondType, Float32Type, Float64Type, Int16Type, Int32Type, Int64Type,
    Int8Type, IntervalMonthDayNanoType, Time64MicrosecondType, TimestampMicrosecondType,
    UInt16Type, UInt32Type, UInt64Type, UInt8Type,
};
use arrow_array::{
    Array, BinaryArray, BooleanArray, FixedSizeBinaryArray, ListArray, PrimitiveArray, StringArray,
};
use arrow_schema::{DataType, IntervalUnit, TimeUnit};
use bytes::{BufMut, BytesMut};

use ferry_core::geometry;

use super::{GeometryTarget, PgEncoder};
use crate::decode::{PG_EPOCH_DAYS, PG_EPOCH_MICROS};
use crate::numeric::{parse_decimal, put_numeric, put_numeric_int, DecimalText};
use crate::{range, textform};

/// A column of one batch, downcast once.
pub enum Typed<'a> {
    Bool(&'a BooleanArray),
    I8(&'a PrimitiveArray<Int8Type>),
    I16(&'a PrimitiveArray<Int16Type>),
    I32(&'a PrimitiveArray<Int32Type>),
    I64(&'a PrimitiveArray<Int64Type>),
    U8(&'a PrimitiveArray<UInt8Type>),
    U16(&'a PrimitiveArray<UInt16Type>),
    U32(&'a PrimitiveArray<UInt32Type>),
    U64(&'a PrimitiveArray<UInt64Type>),
    F32(&'a PrimitiveArray<Float32Type>),
    F64(&'a PrimitiveArray<Float64Type>),
    Utf8(&'a StringArray),
    Binary(&'a BinaryArray),
    Date(&'a PrimitiveArray<Date32Type>),
    Time(&'a PrimitiveArray<Time64MicrosecondType>),
    Timestamp(&'a PrimitiveArray<TimestampMicrosecondType>),
    Duration(&'a PrimitiveArray<DurationMicrosecondType>),
    Interval(&'a PrimitiveArray<IntervalMonthDayNanoType>),
    Uuid(&'a FixedSizeBinaryArray),
    List(&'a ListArray, Box<Typed<'a>>),
}

impl<'a> Typed<'a> {
    /// Downcasts `a`; `None` for an Arrow type no encoder reads.
    pub fn of(a: &'a dyn Array) -> Option<Typed<'a>> {
        Some(match a.data_type() {
            DataType::Boolean => Typed::Bool(a.as_boolean()),
            DataType::Int8 => Typed::I8(a.as_primitive()),
            DataType::Int16 => Typed::I16(a.as_primitive()),
            DataType::Int32 => Typed::I32(a.as_primitive()),
            DataType::Int64 => Typed::I64(a.as_primitive()),
            DataType::UInt8 => Typed::U8(a.as_primitive()),
            DataType::UInt16 => Typed::U16(a.as_primitive()),
            DataType::UInt32 => Typed::U32(a.as_primitive()),
            DataType::UInt64 => Typed::U64(a.as_primitive()),
            DataType::Float32 => Typed::F32(a.as_primitive()),
            DataType::Float64 => Typed::F64(a.as_primitive()),
            DataType::Utf8 => Typed::Utf8(a.as_string()),
            DataType::Binary => Typed::Binary(a.as_binary()),
            DataType::Date32 => Typed::Date(a.as_primitive()),
            DataType::Time64(TimeUnit::Microsecond) => Typed::Time(a.as_primitive()),
            DataType::Timestamp(TimeUnit::Microsecond, _) => Typed::Timestamp(a.as_primitive()),
            DataType::Duration(TimeUnit::Microsecond) => Typed::Duration(a.as_primitive()),
            DataType::Interval(IntervalUnit::MonthDayNano) => Typed::Interval(a.as_primitive()),
            DataType::FixedSizeBinary(16) => Typed::Uuid(a.as_fixed_size_binary()),
            DataType::List(_) => {
                let l = a.as_list::<i32>();
                let values: &'a dyn Array = l.values().as_ref();
                Typed::List(l, Box::new(Typed::of(values)?))
            }
            _ => return None,
        })
    }

    fn is_null(&self, row: usize) -> bool {
        match self {
            Typed::Bool(a) => a.is_null(row),
            Typed::I8(a) => a.is_null(row),
            Typed::I16(a) => a.is_null(row),
            Typed::I32(a) => a.is_null(row),
            Typed::I64(a) => a.is_null(row),
            Typed::U8(a) => a.is_null(row),
            Typed::U16(a) => a.is_null(row),
            Typed::U32(a) => a.is_null(row),
            Typed::U64(a) => a.is_null(row),
            Typed::F32(a) => a.is_null(row),
            Typed::F64(a) => a.is_null(row),
            Typed::Utf8(a) => a.is_null(row),
            Typed::Binary(a) => a.is_null(row),
            Typed::Date(a) => a.is_null(row),
            Typed::Time(a) => a.is_null(row),
            Typed::Timestamp(a) => a.is_null(row),
            Typed::Duration(a) => a.is_null(row),
            Typed::Interval(a) => a.is_null(row),
            Typed::Uuid(a) => a.is_null(row),
            Typed::List(a, _) => a.is_null(row),
        }
    }

    fn int(&self, row: usize) -> Option<i128> {
        Some(match self {
            Typed::I8(a) => i128::from(a.value(row)),
            Typed::I16(a) => i128::from(a.value(row)),
            Typed::I32(a) => i128::from(a.value(row)),
            Typed::I64(a) => i128::from(a.value(row)),
            Typed::U8(a) => i128::from(a.value(row)),
            Typed::U16(a) => i128::from(a.value(row)),
            Typed::U32(a) => i128::from(a.value(row)),
            Typed::U64(a) => i128::from(a.value(row)),
            _ => return None,
        })
    }
}

/// Why a value cannot be written; never contains the value.
pub type Problem = std::borrow::Cow<'static, str>;

const MISMATCH: &str = "internal: encoder does not match the Arrow type";

/// Writes one field (length prefix and value, or -1 for NULL).
pub fn put_field(
    enc: &PgEncoder,
    col: &Typed<'_>,
    row: usize,
    buf: &mut BytesMut,
) -> Result<(), Problem> {
    if col.is_null(row) {
        buf.put_i32(-1);
        return Ok(());
    }
    let at = buf.len();
    buf.put_i32(0);
    put_value(enc, col, row, buf)?;
    let len = i32::try_from(buf.len() - at - 4).map_err(|_| "value larger than 2 GiB")?;
    buf[at..at + 4].copy_from_slice(&len.to_be_bytes());
    Ok(())
}

fn put_text(buf: &mut BytesMut, s: &str, strip_nul: bool) -> Result<(), Problem> {
    if !s.as_bytes().contains(&0) {
        buf.put_slice(s.as_bytes());
    } else if strip_nul {
        for part in s.split('\0') {
            buf.put_slice(part.as_bytes());
        }
    } else {
        return Err("NUL byte in text, which PostgreSQL cannot store".into());
    }
    Ok(())
}

fn put_value(
    enc: &PgEncoder,
    col: &Typed<'_>,
    row: usize,
    buf: &mut BytesMut,
) -> Result<(), Problem> {
    use PgEncoder as E;
    match (enc, col) {
        (E::Bool, Typed::Bool(a)) => buf.put_u8(u8::from(a.value(row))),
        (E::Int { bytes }, c) => {
            let v = c.int(row).ok_or(MISMATCH)?;
            match bytes {
                2 => buf.put_i16(i16::try_from(v).map_err(|_| "out of smallint range")?),
                4 => buf.put_i32(i32::try_from(v).map_err(|_| "out of integer range")?),
                _ => buf.put_i64(i64::try_from(v).map_err(|_| "out of bigint range")?),
            }
        }
        (E::IntNumeric, c) => put_numeric_int(buf, c.int(row).ok_or(MISMATCH)?),
        (E::Float4, Typed::F32(a)) => buf.put_f32(a.value(row)),
        (E::Float4To8, Typed::F32(a)) => buf.put_f64(f64::from(a.value(row))),
        (E::Float8, Typed::F64(a)) => buf.put_f64(a.value(row)),
        (E::Numeric { precision, scale }, Typed::Utf8(a)) => {
            let d = parse_decimal(a.value(row))?;
            if let (DecimalText::Finite { int, .. }, Some(p)) = (&d, precision) {
                let s = scale.unwrap_or(0);
                if d.significant_frac() > usize::try_from(s).unwrap_or(usize::MAX) {
                    return Err("more fraction digits than the target numeric scale".into());
                }
                if int.len() > usize::try_from(p.saturating_sub(s)).unwrap_or(usize::MAX) {
                    return Err(
                        "more integer digits than the target numeric precision allows".into(),
                    );
                }
            }
            put_numeric(buf, &d)?;
        }
        (E::Money { frac_digits }, Typed::Utf8(a)) => {
            buf.put_i64(money(a.value(row), *frac_digits)?)
        }
        (
            E::Text {
                max_chars,
                strip_nul,
            },
            Typed::Utf8(a),
        ) => {
            let s = a.value(row);
            if let Some(max) = max_chars {
                // Cheap bound first: a string of ≤ max bytes has ≤ max chars.
                if s.len() > *max
                    && s.chars().count() > *max
                    && !s.chars().skip(*max).all(|c| c == ' ')
                {
                    return Err(format!("longer than the target's {max} characters").into());
                }
            }
            put_text(buf, s, *strip_nul)?;
        }
        (E::Jsonb { strip_nul }, Typed::Utf8(a)) => {
            buf.put_u8(1);
            put_text(buf, a.value(row), *strip_nul)?;
        }
        (E::TimeTz, Typed::Utf8(a)) => textform::put_timetz(buf, a.value(row))?,
        (E::Inet { cidr }, Typed::Utf8(a)) => textform::put_inet(buf, a.value(row), *cidr)?,
        (E::Mac { len }, Typed::Utf8(a)) => textform::put_mac(buf, a.value(row), *len)?,
        (E::Bit { fixed, max }, Typed::Utf8(a)) => {
            textform::put_bits(buf, a.value(row), *fixed, *max)?
        }
        (E::TsVector, Typed::Utf8(a)) => textform::put_tsvector(buf, a.value(row))?,
        (E::Bytea, Typed::Binary(a)) => buf.put_slice(a.value(row)),
        (E::Date, Typed::Date(a)) => buf.put_i32(date_to_pg(a.value(row))?),
        (E::Time, Typed::Time(a)) => {
            let v = a.value(row);
            if !(0..=86_400_000_000).contains(&v) {
                return Err("time of day out of range".into());
            }
            buf.put_i64(v);
        }
        (E::Timestamp, Typed::Timestamp(a)) => buf.put_i64(timestamp_to_pg(a.value(row))?),
        (E::DurationInterval, Typed::Duration(a)) => {
            buf.put_i64(a.value(row));
            buf.put_i32(0);
            buf.put_i32(0);
        }
        (E::Interval, Typed::Interval(a)) => {
            let v = a.value(row);
            if v.nanoseconds % 1000 != 0 {
                return Err("interval has sub-microsecond precision".into());
            }
            buf.put_i64(v.nanoseconds / 1000);
            buf.put_i32(v.days);
            buf.put_i32(v.months);
        }
        (E::Uuid, Typed::Uuid(a)) => buf.put_slice(a.value(row)),
        (E::Geometry(t), Typed::Binary(a)) => put_geometry(buf, a.value(row), t)?,
        (E::Point { drop_srid }, Typed::Binary(a)) => {
            let (x, y, shape) = geometry::point_xy(a.value(row))?;
            if shape.srid != 0 && !drop_srid {
                return Err(
                    "a point with an SRID: PostgreSQL's point has none (choose drop_srid to leave it behind)"
                        .into(),
                );
            }
            buf.put_f64(x);
            buf.put_f64(y);
        }
        (E::Hstore, Typed::Utf8(a)) => textform::put_hstore(buf, a.value(row))?,
        (E::Range(e), Typed::Utf8(a)) => range::put_range(buf, a.value(row), *e)?,
        (E::Multirange(e), Typed::Utf8(a)) => range::put_multirange(buf, a.value(row), *e)?,
        (E::Char1, Typed::Utf8(a)) => textform::put_char1(buf, a.value(row))?,
        (E::Oid, c) => {
            let v = c.int(row).ok_or(MISMATCH)?;
            buf.put_u32(u32::try_from(v).map_err(|_| "out of oid range (0 … 4294967295)")?);
        }
        (E::Array { element_oid, item }, Typed::List(a, values)) => {
            let offsets = a.value_offsets();
            let start = usize::try_from(offsets[row]).map_err(|_| MISMATCH)?;
            let end = usize::try_from(offsets[row + 1]).map_err(|_| MISMATCH)?;
            let len = i32::try_from(end - start).map_err(|_| "array too long")?;
            let has_null = (start..end).any(|i| values.is_null(i));
            buf.put_i32(i32::from(len > 0));
            buf.put_i32(i32::from(has_null));
            buf.put_u32(*element_oid);
            if len > 0 {
                buf.put_i32(len);
                buf.put_i32(1);
                for i in start..end {
                    put_field(item, values, i, buf)
                        .map_err(|p| -> Problem { format!("array element: {p}").into() })?;
                }
            }
        }
        _ => return Err(MISMATCH.into()),
    }
    Ok(())
}

/// Canonical EWKB into a PostGIS column: checked against what its typmod
/// lets in, then written as EWKB (geometry_recv and geography_recv read it).
fn put_geometry(buf: &mut BytesMut, v: &[u8], t: &GeometryTarget) -> Result<(), Problem> {
    let at = buf.len();
    let mut canon = Vec::with_capacity(v.len());
    let mut shape = geometry::to_canonical(v, &mut canon)?;
    if t.drop_srid && shape.srid != 0 {
        let mut bare = Vec::with_capacity(canon.len());
        geometry::with_srid(&canon, 0, &mut bare)?;
        canon = bare;
        shape.srid = 0;
    }
    if t.code.is_some_and(|c| c != shape.code) {
        return Err("a geometry of another type than the column's".into());
    }
    if t.dims.is_some_and(|d| d != (shape.z, shape.m)) {
        return Err("a geometry whose Z/M dimensions differ from the column's".into());
    }
    if let Some(srid) = t.srid {
        if shape.srid != srid {
            return Err(format!(
                "a geometry with SRID {} in a column of SRID {srid} (PostGIS would relabel SRID 0)",
                shape.srid
            )
            .into());
        }
    }
    if t.geography && shape.srid == 0 {
        return Err(
            "a geometry with SRID 0 in a geography column (PostGIS would make it 4326)".into(),
        );
    }
    debug_assert_eq!(buf.len(), at);
    buf.put_slice(&canon);
    Ok(())
}

/// Date32 → PostgreSQL days since 2000-01-01; the ±infinity sentinels map
/// back; MySQL's zero and partial dates are refused.
pub fn date_to_pg(d: i32) -> Result<i32, &'static str> {
    if d == i32::MAX || d == i32::MIN {
        return Ok(d);
    }
    if ferry_core::zerodate::of_days(d).is_some() {
        return Err(ferry_core::zerodate::REFUSED);
    }
    d.checked_sub(PG_EPOCH_DAYS)
        .filter(|&v| v != i32::MAX && v != i32::MIN)
        .ok_or("date out of PostgreSQL's range")
}

/// µs since 1970 → µs since 2000; the ±infinity sentinels map back;
/// MySQL's zero and partial dates are refused.
pub fn timestamp_to_pg(t: i64) -> Result<i64, &'static str> {
    if t == i64::MAX || t == i64::MIN {
        return Ok(t);
    }
    if ferry_core::zerodate::of_micros(t).is_some() {
        return Err(ferry_core::zerodate::REFUSED);
    }
    t.checked_sub(PG_EPOCH_MICROS)
        .filter(|&v| v != i64::MAX && v != i64::MIN)
        .ok_or("timestamp out of PostgreSQL's range")
}

/// Decimal text → money's i64 in units of 10^-frac_digits.
pub fn money(s: &str, frac_digits: u32) -> Result<i64, Problem> {
    let d = parse_decimal(s)?;
    let DecimalText::Finite {
        negative,
        int,
        frac,
    } = d
    else {
        return Err("NaN or infinity cannot be stored in money".into());
    };
    let sig = d.significant_frac();
    let fd = usize::try_from(frac_digits).unwrap_or(usize::MAX);
    if sig > fd {
        return Err("more fraction digits than the server's money type holds".into());
    }
    let range = "out of money range";
    let mut v: i128 = 0;
    for &c in int {
        v = v
            .checked_mul(10)
            .and_then(|v| v.checked_add(i128::from(c - b'0')))
            .ok_or(range)?;
        if v > i128::from(i64::MAX) + 1 {
            return Err(range.into());
        }
    }
    for i in 0..fd {
        let c = frac.get(i).copied().unwrap_or(b'0');
        v = v * 10 + i128::from(c - b'0');
        if v > i128::from(i64::MAX) + 1 {
            return Err(range.into());
        }
    }
    let v = if negative { -v } else { v };
    i64::try_from(v).map_err(|_| range.into())
}
