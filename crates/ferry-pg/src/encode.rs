//! Arrow → binary `COPY … FROM STDIN`.
//!
//! A column's [`PgEncoder`] is chosen once from its Arrow type and the
//! *actual* target column type (users may override the DDL), so an
//! unsupported pair fails before any row is sent. Per batch each column is
//! downcast once into a [`Typed`] view; the row loop then only matches on
//! the two enums and writes into one `BytesMut` — no per-value allocation.

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
use ferry_core::Conversion;

use crate::decode::{PG_EPOCH_DAYS, PG_EPOCH_MICROS};
use crate::numeric::{parse_decimal, put_numeric, put_numeric_int, DecimalText};
use crate::textform;

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

fn is_int(dt: &DataType) -> bool {
    matches!(
        dt,
        DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::UInt8
            | DataType::UInt16
            | DataType::UInt32
            | DataType::UInt64
    )
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
            (d, "int2") if is_int(d) => E::Int { bytes: 2 },
            (d, "int4") if is_int(d) => E::Int { bytes: 4 },
            (d, "int8") if is_int(d) => E::Int { bytes: 8 },
            (d, "numeric") if is_int(d) => E::IntNumeric,
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
            (DataType::Utf8, "text" | "name" | "json" | "xml") => E::Text {
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

/// Date32 → PostgreSQL days since 2000-01-01; the ±infinity sentinels map back.
pub fn date_to_pg(d: i32) -> Result<i32, &'static str> {
    if d == i32::MAX || d == i32::MIN {
        return Ok(d);
    }
    d.checked_sub(PG_EPOCH_DAYS)
        .filter(|&v| v != i32::MAX && v != i32::MIN)
        .ok_or("date out of PostgreSQL's range")
}

/// µs since 1970 → µs since 2000; the ±infinity sentinels map back.
pub fn timestamp_to_pg(t: i64) -> Result<i64, &'static str> {
    if t == i64::MAX || t == i64::MIN {
        return Ok(t);
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    use arrow_array::builder::{Int32Builder, ListBuilder, StringBuilder};
    use arrow_array::ArrayRef;

    use crate::decode::{date_from_pg, timestamp_from_pg, ColumnDecoder};

    #[test]
    fn date_and_timestamp_sentinels_survive_both_ways() {
        for d in [i32::MAX, i32::MIN, 0, -PG_EPOCH_DAYS, 19_000, -2_440_588] {
            assert_eq!(date_from_pg(date_to_pg(d).unwrap()).unwrap(), d);
        }
        assert_eq!(date_to_pg(i32::MAX).unwrap(), i32::MAX);
        assert_eq!(date_from_pg(0).unwrap(), PG_EPOCH_DAYS);
        for t in [i64::MAX, i64::MIN, 0, 1, -1, PG_EPOCH_MICROS] {
            assert_eq!(timestamp_from_pg(timestamp_to_pg(t).unwrap()).unwrap(), t);
        }
        assert_eq!(timestamp_from_pg(0).unwrap(), PG_EPOCH_MICROS);
        assert!(timestamp_to_pg(i64::MIN + 5).is_err());
    }

    #[test]
    fn money_scaling() {
        assert_eq!(money("12.34", 2).unwrap(), 1234);
        assert_eq!(money("-0.5", 2).unwrap(), -50);
        assert_eq!(money("7.100", 2).unwrap(), 710);
        assert_eq!(money("-92233720368547758.08", 2).unwrap(), i64::MIN);
        assert!(money("92233720368547758.08", 2).is_err());
        assert!(money("0.001", 2).is_err());
        assert!(money("NaN", 2).is_err());
    }

    fn target(name: &str, typmod: i32) -> PgTargetType {
        PgTargetType {
            name: name.into(),
            typtype: b'b',
            typmod,
            element: None,
        }
    }

    fn encode_one(enc: &PgEncoder, a: &ArrayRef, row: usize) -> Result<Vec<u8>, Problem> {
        let typed = Typed::of(a.as_ref()).unwrap();
        let mut buf = BytesMut::new();
        put_field(enc, &typed, row, &mut buf)?;
        Ok(buf.to_vec())
    }

    #[test]
    fn text_checks_nul_and_length() {
        let a: ArrayRef = Arc::new(StringArray::from(vec!["a\0b", "héllo", "ab  "]));
        let exact = PgEncoder::choose(
            &DataType::Utf8,
            &target("text", -1),
            Conversion::Exact,
            None,
        )
        .unwrap();
        let err = encode_one(&exact, &a, 0).unwrap_err();
        assert!(err.contains("NUL"));
        assert!(!err.contains('a'.to_string().as_str()) || !err.contains("a\0b"));
        let strip = PgEncoder::choose(
            &DataType::Utf8,
            &target("text", -1),
            Conversion::StripNul,
            None,
        )
        .unwrap();
        assert_eq!(encode_one(&strip, &a, 0).unwrap(), [0, 0, 0, 2, b'a', b'b']);
        let vc5 = PgEncoder::choose(
            &DataType::Utf8,
            &target("varchar", 9),
            Conversion::Exact,
            None,
        )
        .unwrap();
        assert!(
            encode_one(&vc5, &a, 1).is_ok(),
            "5 chars in 6 bytes fit varchar(5)"
        );
        let vc2 = PgEncoder::choose(
            &DataType::Utf8,
            &target("bpchar", 6),
            Conversion::Exact,
            None,
        )
        .unwrap();
        assert!(encode_one(&vc2, &a, 1).is_err());
        assert!(
            encode_one(&vc2, &a, 2).is_ok(),
            "trailing spaces are cut, as PG does"
        );
    }

    #[test]
    fn int_ranges_and_unsupported_pairs() {
        let a: ArrayRef = Arc::new(arrow_array::UInt64Array::from(vec![u64::MAX, 7]));
        let i2 = PgEncoder::choose(
            &DataType::UInt64,
            &target("int2", -1),
            Conversion::Exact,
            None,
        )
        .unwrap();
        assert!(encode_one(&i2, &a, 0).is_err());
        assert_eq!(encode_one(&i2, &a, 1).unwrap(), [0, 0, 0, 2, 0, 7]);
        let n = PgEncoder::choose(
            &DataType::UInt64,
            &target("numeric", -1),
            Conversion::Exact,
            None,
        )
        .unwrap();
        assert_eq!(n, PgEncoder::IntNumeric);
        assert!(PgEncoder::choose(
            &DataType::Binary,
            &target("int4", -1),
            Conversion::Exact,
            None
        )
        .is_none());
        assert!(PgEncoder::choose(
            &DataType::Utf8,
            &target("money", -1),
            Conversion::Exact,
            None
        )
        .is_none());
    }

    #[test]
    fn interval_layout() {
        let v = IntervalMonthDayNanoType::make_value(14, 3, 14_706_000_000_000);
        let a: ArrayRef = Arc::new(arrow_array::IntervalMonthDayNanoArray::from(vec![v]));
        let b = encode_one(&PgEncoder::Interval, &a, 0).unwrap();
        let mut want = vec![0, 0, 0, 16];
        want.extend_from_slice(&14_706_000_000i64.to_be_bytes());
        want.extend_from_slice(&3i32.to_be_bytes());
        want.extend_from_slice(&14i32.to_be_bytes());
        assert_eq!(b, want);
        // And back through the decoder.
        let mut dec = ColumnDecoder::for_type(
            &ferry_core::RawType {
                name: "interval".into(),
                ..Default::default()
            },
            &DataType::Interval(IntervalUnit::MonthDayNano),
        )
        .unwrap();
        dec.append(&b[4..]).unwrap();
        let out = dec.finish();
        assert_eq!(out.as_primitive::<IntervalMonthDayNanoType>().value(0), v);
    }

    #[test]
    fn arrays_roundtrip_with_nulls_and_empty() {
        let mut lb = ListBuilder::new(Int32Builder::new());
        lb.append_value([Some(1), None, Some(3)]);
        lb.append_value([] as [Option<i32>; 0]);
        lb.append_null();
        let a: ArrayRef = Arc::new(lb.finish());
        let int4 = target("int4", -1);
        let arr_t = PgTargetType {
            name: "_int4".into(),
            typtype: b'b',
            typmod: -1,
            element: Some((23, Box::new(int4))),
        };
        let enc = PgEncoder::choose(a.data_type(), &arr_t, Conversion::Exact, None).unwrap();
        let raw = ferry_core::RawType {
            name: "array".into(),
            element: Some(Box::new(ferry_core::RawType {
                name: "int4".into(),
                ..Default::default()
            })),
            ..Default::default()
        };
        let mut dec = ColumnDecoder::for_type(&raw, a.data_type()).unwrap();
        for row in 0..3 {
            let b = encode_one(&enc, &a, row).unwrap();
            if row == 2 {
                assert_eq!(b, (-1i32).to_be_bytes());
                dec.append_null();
            } else {
                dec.append(&b[4..]).unwrap();
            }
        }
        let b0 = encode_one(&enc, &a, 0).unwrap();
        assert_eq!(&b0[4..16], &[0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 23]);
        assert_eq!(dec.finish().as_ref(), a.as_ref());
    }

    #[test]
    fn array_decoder_refuses_multidim_and_lower_bounds() {
        let raw = ferry_core::RawType {
            name: "array".into(),
            element: Some(Box::new(ferry_core::RawType {
                name: "text".into(),
                ..Default::default()
            })),
            ..Default::default()
        };
        let dt = DataType::List(Arc::new(arrow_schema::Field::new(
            "item",
            DataType::Utf8,
            true,
        )));
        let mut dec = ColumnDecoder::for_type(&raw, &dt).unwrap();
        let mut two_d = BytesMut::new();
        for v in [2i32, 0, 25, 1, 1, 1, 1] {
            two_d.put_i32(v);
        }
        assert_eq!(dec.append(&two_d).unwrap_err(), "multi-dimensional array");
        let mut zero_lb = BytesMut::new();
        for v in [1i32, 0, 25, 1, 0, 1] {
            zero_lb.put_i32(v);
        }
        zero_lb.put_u8(b'x');
        assert_eq!(
            dec.append(&zero_lb).unwrap_err(),
            "array lower bound is not 1"
        );
        let _ = StringBuilder::new();
    }
}
