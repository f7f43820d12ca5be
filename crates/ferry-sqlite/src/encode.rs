//! Arrow batches → bound parameters of one prepared `INSERT`.
//!
//! SQLite has no bulk-load format: its bulk path is a prepared statement
//! run once per row inside one transaction. Each column's [`Writing`] is
//! chosen once, from its Arrow type, its plan and the *actual* target
//! column (its declared type and affinity), and refuses every value SQLite
//! would change on the way in:
//! - NaN (stored as NULL) and −0.0 (stored as 0 by REAL's integer
//!   optimisation), unless the column's conversion says so;
//! - text that a NUMERIC/INTEGER/REAL-affinity column would turn into a
//!   number, and decimals of more than 15 significant digits into such a
//!   column (they would be rounded to a double);
//! - integers beyond 64 bits into anything but text.
//!
//! Problems name the value's class, never the value.

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, DurationMicrosecondType, Float32Type, Float64Type, Int16Type, Int32Type, Int64Type,
    Int8Type, IntervalMonthDayNanoType, Time64MicrosecondType, TimestampMicrosecondType,
    UInt16Type, UInt32Type, UInt64Type, UInt8Type,
};
use arrow_array::{Array, ArrayRef};
use arrow_schema::{DataType, TimeUnit};
use ferry_core::{ColumnPlan, Conversion, LogicalType};
use rusqlite::types::{ToSqlOutput, Value, ValueRef};

use crate::desc::Affinity;
use crate::time;

/// What is wrong with a value, without the value.
pub type Problem = String;

/// A target column as `PRAGMA table_xinfo` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetColumn {
    pub name: String,
    /// The declared type, as written.
    pub declared: String,
}

/// How one column's values are bound.
#[derive(Debug, Clone, PartialEq)]
pub enum Writing {
    /// Booleans as INTEGER 0/1.
    Bool,
    /// Integers as INTEGER; u64 above i64's range as text when `text_ok`.
    Int {
        text_ok: bool,
    },
    Float {
        nan_to_null: bool,
        negative_zero_to_zero: bool,
    },
    /// Decimal text; `exact` for a TEXT-affinity column (kept as text),
    /// else bound as INTEGER, or as text SQLite turns into a double (at
    /// most 15 significant digits).
    Decimal {
        exact: bool,
    },
    /// Text; `numeric_guard` when the column's affinity would turn
    /// numeric-looking text into a number.
    Text {
        numeric_guard: bool,
    },
    /// JSON text (a bare number may become one: read back as that number).
    Json,
    Bytes,
    Uuid {
        as_text: bool,
    },
    /// ISO 8601 text, SQLite's own form, whatever form a SQLite source
    /// held (so the target reads back under its declared type's default
    /// rule, which `verify` uses).
    Date {
        infinity_to_null: bool,
    },
    Timestamp {
        zoned: bool,
        infinity_to_null: bool,
    },
    Time,
    /// A signed duration or an interval as ISO 8601 text.
    Interval,
    /// A list as a JSON array; `decimal_elements` when its elements are
    /// decimals carried as text (they are JSON numbers).
    List {
        decimal_elements: bool,
    },
}

/// Chooses how `col` (Arrow type `dt`) is bound into `target`.
pub fn choose(col: &ColumnPlan, dt: &DataType, target: &TargetColumn) -> Result<Writing, String> {
    let affinity = Affinity::of(&target.declared);
    let conv = col.conversion;
    let infinity_to_null = conv == Conversion::InfinityToNull;
    let unsupported = || {
        Err(format!(
            "cannot load Arrow {dt} ({}) into a SQLite column declared {:?}",
            col.logical, target.declared
        ))
    };
    Ok(match dt {
        DataType::Boolean => Writing::Bool,
        d if d.is_integer() => Writing::Int {
            text_ok: affinity == Affinity::Text || affinity == Affinity::Blob,
        },
        DataType::Float32 | DataType::Float64 if affinity != Affinity::Text => Writing::Float {
            nan_to_null: conv == Conversion::NanToNull,
            negative_zero_to_zero: conv == Conversion::NegativeZeroToZero,
        },
        DataType::Utf8 => match &col.logical {
            LogicalType::Decimal { .. } | LogicalType::Money => Writing::Decimal {
                exact: !affinity.converts_text(),
            },
            LogicalType::Json | LogicalType::Jsonb => Writing::Json,
            _ => Writing::Text {
                numeric_guard: affinity.converts_text(),
            },
        },
        DataType::Binary => Writing::Bytes,
        DataType::FixedSizeBinary(16) => Writing::Uuid {
            as_text: affinity != Affinity::Blob
                || target.declared.to_ascii_lowercase().starts_with("uuid"),
        },
        DataType::Date32 => Writing::Date { infinity_to_null },
        DataType::Timestamp(TimeUnit::Microsecond, tz) => Writing::Timestamp {
            zoned: tz.is_some(),
            infinity_to_null,
        },
        DataType::Time64(TimeUnit::Microsecond) => Writing::Time,
        DataType::Duration(TimeUnit::Microsecond)
        | DataType::Interval(arrow_schema::IntervalUnit::MonthDayNano) => Writing::Interval,
        DataType::List(_) => Writing::List {
            decimal_elements: matches!(
                &col.logical,
                LogicalType::Array { element }
                    if matches!(**element, LogicalType::Decimal { .. } | LogicalType::Money)
            ),
        },
        _ => return unsupported(),
    })
}

/// Whether text is a number SQLite would take from it (`[+-]digits[.digits][e±n]`,
/// blanks around allowed), so a NUMERIC-affinity column would store a number.
pub fn looks_numeric(s: &str) -> bool {
    let b = s.trim_matches(|c: char| c.is_ascii_whitespace()).as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    let int_start = i;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    let mut any = i > int_start;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let f = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        any |= i > f;
    }
    if !any {
        return false;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let e = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == e {
            return false;
        }
    }
    i == b.len()
}

/// Significant digits of plain decimal text (leading and trailing zeros
/// of the whole number not counted).
fn significant_digits(s: &str) -> usize {
    let digits: Vec<u8> = s.bytes().filter(u8::is_ascii_digit).collect();
    let start = digits
        .iter()
        .position(|&d| d != b'0')
        .unwrap_or(digits.len());
    let end = digits
        .iter()
        .rposition(|&d| d != b'0')
        .map_or(start, |p| p + 1);
    end.saturating_sub(start)
}

/// One batch column, downcast once.
pub enum Column<'a> {
    Bool(&'a arrow_array::BooleanArray),
    Int(Box<dyn Fn(usize) -> i128 + 'a>),
    F32(&'a arrow_array::Float32Array),
    F64(&'a arrow_array::Float64Array),
    Utf8(&'a arrow_array::StringArray),
    Binary(&'a arrow_array::BinaryArray),
    Fixed(&'a arrow_array::FixedSizeBinaryArray),
    Date(&'a arrow_array::Date32Array),
    Timestamp(&'a arrow_array::TimestampMicrosecondArray),
    Time(&'a arrow_array::Time64MicrosecondArray),
    Duration(&'a arrow_array::DurationMicrosecondArray),
    Interval(&'a arrow_array::IntervalMonthDayNanoArray),
    List(&'a arrow_array::ListArray),
}

impl<'a> Column<'a> {
    /// Downcasts one batch column; `None` for a type no writing takes.
    pub fn of(a: &'a ArrayRef) -> Option<Column<'a>> {
        Some(match a.data_type() {
            DataType::Boolean => Column::Bool(a.as_boolean()),
            DataType::Int8 => {
                let v = a.as_primitive::<Int8Type>();
                Column::Int(Box::new(move |r| v.value(r).into()))
            }
            DataType::Int16 => {
                let v = a.as_primitive::<Int16Type>();
                Column::Int(Box::new(move |r| v.value(r).into()))
            }
            DataType::Int32 => {
                let v = a.as_primitive::<Int32Type>();
                Column::Int(Box::new(move |r| v.value(r).into()))
            }
            DataType::Int64 => {
                let v = a.as_primitive::<Int64Type>();
                Column::Int(Box::new(move |r| v.value(r).into()))
            }
            DataType::UInt8 => {
                let v = a.as_primitive::<UInt8Type>();
                Column::Int(Box::new(move |r| v.value(r).into()))
            }
            DataType::UInt16 => {
                let v = a.as_primitive::<UInt16Type>();
                Column::Int(Box::new(move |r| v.value(r).into()))
            }
            DataType::UInt32 => {
                let v = a.as_primitive::<UInt32Type>();
                Column::Int(Box::new(move |r| v.value(r).into()))
            }
            DataType::UInt64 => {
                let v = a.as_primitive::<UInt64Type>();
                Column::Int(Box::new(move |r| v.value(r).into()))
            }
            DataType::Float32 => Column::F32(a.as_primitive::<Float32Type>()),
            DataType::Float64 => Column::F64(a.as_primitive::<Float64Type>()),
            DataType::Utf8 => Column::Utf8(a.as_string::<i32>()),
            DataType::Binary => Column::Binary(a.as_binary::<i32>()),
            DataType::FixedSizeBinary(_) => Column::Fixed(a.as_fixed_size_binary()),
            DataType::Date32 => Column::Date(a.as_primitive::<Date32Type>()),
            DataType::Timestamp(TimeUnit::Microsecond, _) => {
                Column::Timestamp(a.as_primitive::<TimestampMicrosecondType>())
            }
            DataType::Time64(TimeUnit::Microsecond) => {
                Column::Time(a.as_primitive::<Time64MicrosecondType>())
            }
            DataType::Duration(TimeUnit::Microsecond) => {
                Column::Duration(a.as_primitive::<DurationMicrosecondType>())
            }
            DataType::Interval(arrow_schema::IntervalUnit::MonthDayNano) => {
                Column::Interval(a.as_primitive::<IntervalMonthDayNanoType>())
            }
            DataType::List(_) => Column::List(a.as_list::<i32>()),
            _ => return None,
        })
    }
}

/// The value to bind for row `r` of `col` (known not NULL) under `w`.
pub fn value<'a>(w: &Writing, col: &'a Column<'_>, r: usize) -> Result<ToSqlOutput<'a>, Problem> {
    let owned_text = |s: String| ToSqlOutput::Owned(Value::Text(s));
    let mismatch = || Problem::from("internal: the column's Arrow type does not match its writing");
    Ok(match (w, col) {
        (Writing::Bool, Column::Bool(a)) => ToSqlOutput::Owned(Value::Integer(a.value(r).into())),
        (Writing::Int { text_ok }, Column::Int(get)) => {
            let n = get(r);
            match i64::try_from(n) {
                Ok(i) => ToSqlOutput::Owned(Value::Integer(i)),
                Err(_) if *text_ok => owned_text(n.to_string()),
                Err(_) => {
                    return Err(
                        "integer beyond SQLite's 64-bit INTEGER (declare the column DECIMAL_TEXT)"
                            .into(),
                    )
                }
            }
        }
        (
            Writing::Float {
                nan_to_null,
                negative_zero_to_zero,
            },
            Column::F32(_) | Column::F64(_),
        ) => {
            let x = match col {
                Column::F32(a) => f64::from(a.value(r)),
                Column::F64(a) => a.value(r),
                _ => return Err(mismatch()),
            };
            // nan_to_null means what it says everywhere: NaN and ±Infinity
            // become NULL (verify expects that), though SQLite holds ±Infinity.
            if *nan_to_null && !x.is_finite() {
                return Ok(ToSqlOutput::Owned(Value::Null));
            }
            if x.is_nan() {
                return Err("NaN, which SQLite stores as NULL (choose nan_to_null)".into());
            }
            if x == 0.0 && x.is_sign_negative() {
                if !*negative_zero_to_zero {
                    return Err(
                        "−0.0, which SQLite stores as 0 (choose negative_zero_to_zero)".into(),
                    );
                }
                return Ok(ToSqlOutput::Owned(Value::Real(0.0)));
            }
            ToSqlOutput::Owned(Value::Real(x))
        }
        (Writing::Decimal { exact }, Column::Utf8(a)) => {
            let s = a.value(r);
            if *exact {
                return Ok(ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())));
            }
            if let Ok(i) = s.parse::<i64>() {
                return Ok(ToSqlOutput::Owned(Value::Integer(i)));
            }
            if ferry_core::decimal::split_plain(s).is_some() && significant_digits(s) > 15 {
                return Err(
                    "decimal of more than 15 significant digits, which the column's NUMERIC affinity would round (declare it DECIMAL_TEXT)"
                        .into(),
                );
            }
            // SQLite turns the text into a double that reads back as it.
            ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes()))
        }
        (Writing::Json, Column::Utf8(a)) => {
            let s = a.value(r);
            if looks_numeric(s) && !s.trim().parse::<f64>().is_ok_and(f64::is_finite) {
                return Err("a JSON number beyond a double's range".into());
            }
            ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes()))
        }
        (Writing::Text { numeric_guard }, Column::Utf8(a)) => {
            let s = a.value(r);
            if *numeric_guard && looks_numeric(s) {
                return Err(
                    "numeric-looking text, which the column's affinity would store as a number"
                        .into(),
                );
            }
            ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes()))
        }
        (Writing::Bytes, Column::Binary(a)) => ToSqlOutput::Borrowed(ValueRef::Blob(a.value(r))),
        (Writing::Uuid { as_text }, Column::Fixed(a)) => {
            if *as_text {
                owned_text(ferry_core::hex::uuid_text(a.value(r)))
            } else {
                ToSqlOutput::Borrowed(ValueRef::Blob(a.value(r)))
            }
        }
        (Writing::Date { infinity_to_null }, Column::Date(a)) => {
            let days = a.value(r);
            if days == i32::MAX || days == i32::MIN {
                if *infinity_to_null {
                    return Ok(ToSqlOutput::Owned(Value::Null));
                }
                return Err(
                    "±infinity date, which SQLite cannot hold (choose infinity_to_null)".into(),
                );
            }
            let mut s = String::with_capacity(10);
            time::format_date(days, &mut s)
                .ok_or("date outside years 0–9999, which ISO 8601 text cannot hold")?;
            owned_text(s)
        }
        (
            Writing::Timestamp {
                zoned,
                infinity_to_null,
            },
            Column::Timestamp(a),
        ) => {
            let us = a.value(r);
            if us == i64::MAX || us == i64::MIN {
                if *infinity_to_null {
                    return Ok(ToSqlOutput::Owned(Value::Null));
                }
                return Err(
                    "±infinity timestamp, which SQLite cannot hold (choose infinity_to_null)"
                        .into(),
                );
            }
            let mut s = String::with_capacity(32);
            time::format_timestamp(us, *zoned, &mut s)
                .ok_or("timestamp outside years 0–9999, which ISO 8601 text cannot hold")?;
            owned_text(s)
        }
        (Writing::Time, Column::Time(a)) => {
            let mut s = String::with_capacity(16);
            time::format_time(a.value(r), &mut s).ok_or("time of day outside 00:00–24:00")?;
            owned_text(s)
        }
        (Writing::Interval, Column::Duration(a)) => {
            let nanos = a
                .value(r)
                .checked_mul(1000)
                .ok_or("duration beyond ±292 years")?;
            owned_text(ferry_core::interval::iso8601(0, 0, nanos))
        }
        (Writing::Interval, Column::Interval(a)) => {
            let v = a.value(r);
            owned_text(ferry_core::interval::iso8601(
                v.months,
                v.days,
                v.nanoseconds,
            ))
        }
        (Writing::List { decimal_elements }, Column::List(a)) => {
            owned_text(json_array(a.value(r).as_ref(), *decimal_elements)?)
        }
        _ => return Err(mismatch()),
    })
}

/// A list as the JSON array verify expects: numbers as numbers, decimals
/// as numbers, dates and timestamps as their text, UUIDs as text.
fn json_array(a: &dyn Array, decimal_elements: bool) -> Result<String, Problem> {
    let mut items = Vec::with_capacity(a.len());
    for i in 0..a.len() {
        if a.is_null(i) {
            items.push("null".to_string());
            continue;
        }
        items.push(match a.data_type() {
            DataType::Boolean => a.as_boolean().value(i).to_string(),
            DataType::Int16 => a.as_primitive::<Int16Type>().value(i).to_string(),
            DataType::Int32 => a.as_primitive::<Int32Type>().value(i).to_string(),
            DataType::Int64 => a.as_primitive::<Int64Type>().value(i).to_string(),
            DataType::Float32 | DataType::Float64 => {
                let x = match a.data_type() {
                    DataType::Float32 => f64::from(a.as_primitive::<Float32Type>().value(i)),
                    _ => a.as_primitive::<Float64Type>().value(i),
                };
                if !x.is_finite() {
                    return Err("NaN/Infinity in an array, which JSON cannot hold".into());
                }
                ryu::Buffer::new().format_finite(x).to_string()
            }
            DataType::Utf8 if decimal_elements => {
                let s = a.as_string::<i32>().value(i);
                if ferry_core::decimal::split_plain(s).is_none() {
                    return Err("NaN/Infinity in an array, which JSON cannot hold".into());
                }
                s.to_string()
            }
            DataType::Utf8 => {
                let s = a.as_string::<i32>().value(i);
                serde_json::to_string(s).map_err(|_| "unencodable text in an array")?
            }
            DataType::Date32 => {
                let mut s = String::new();
                time::format_date(a.as_primitive::<Date32Type>().value(i), &mut s)
                    .ok_or("date outside years 0–9999 in an array")?;
                format!("\"{s}\"")
            }
            DataType::Timestamp(TimeUnit::Microsecond, _) => {
                let us = a.as_primitive::<TimestampMicrosecondType>().value(i);
                let dt = chrono::DateTime::from_timestamp_micros(us)
                    .ok_or("timestamp out of range in an array")?;
                format!("\"{}\"", dt.naive_utc().format("%Y-%m-%d %H:%M:%S%.6f"))
            }
            DataType::FixedSizeBinary(16) => {
                format!(
                    "\"{}\"",
                    ferry_core::hex::uuid_text(a.as_fixed_size_binary().value(i))
                )
            }
            other => {
                return Err(format!(
                    "cannot write list elements of Arrow {other} as JSON"
                ))
            }
        });
    }
    Ok(format!("[{}]", items.join(",")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_looking_text_is_what_sqlite_would_convert() {
        for yes in ["12", " 12 ", "-1.5", "+.5", "1e3", "1.", "007"] {
            assert!(looks_numeric(yes), "{yes}");
        }
        for no in [
            "",
            "1e",
            "0x10",
            "abc",
            "1 2",
            "NaN",
            "Infinity",
            "2024-01-01",
            ".",
        ] {
            assert!(!looks_numeric(no), "{no}");
        }
        assert_eq!(significant_digits("0012.3400"), 4);
        assert_eq!(significant_digits("123456789012345.6"), 16);
        assert_eq!(significant_digits("0"), 0);
    }
}
