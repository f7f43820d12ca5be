//! The LOAD DATA text forms: field escaping, numbers, dates and times,
//! UUIDs and JSON arrays, written straight into the line buffer.

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, Int8Type,
    TimestampMicrosecondType, UInt16Type, UInt32Type, UInt64Type, UInt8Type,
};
use arrow_array::Array;
use arrow_schema::DataType;
use chrono::{Datelike as _, NaiveDate};

use super::{JsonElement, Problem};
use crate::decode::{
    is_canonical_decimal, MICROS_PER_DAY, MICROS_PER_SECOND, UNIX_EPOCH_DAYS_FROM_CE,
};

/// Appends `bytes` with LOAD DATA escapes: `\\`, `\t`, `\n`, `\r`, `\0`.
pub fn escape_into(out: &mut Vec<u8>, bytes: &[u8]) {
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc = match b {
            b'\\' => b'\\',
            b'\t' => b't',
            b'\n' => b'n',
            b'\r' => b'r',
            0 => b'0',
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        out.push(b'\\');
        out.push(esc);
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
}

/// Shortest text that reads back as the same f64 (`-0.0` keeps its sign).
pub fn write_f64(out: &mut Vec<u8>, x: f64) {
    out.extend_from_slice(ryu::Buffer::new().format_finite(x).as_bytes());
}

/// Shortest text that reads back as the same f32 (JSON array elements).
pub fn write_f32(out: &mut Vec<u8>, x: f32) {
    out.extend_from_slice(ryu::Buffer::new().format_finite(x).as_bytes());
}

fn date_of(days: i32) -> Result<NaiveDate, Problem> {
    days.checked_add(UNIX_EPOCH_DAYS_FROM_CE)
        .and_then(NaiveDate::from_num_days_from_ce_opt)
        .filter(|d| (1..=9999).contains(&d.year()))
        .ok_or_else(|| "date outside MySQL's range (years 1…9999)".to_string())
}

fn push_padded(out: &mut Vec<u8>, n: u32, width: usize) {
    let mut buf = itoa::Buffer::new();
    let s = buf.format(n);
    for _ in s.len()..width {
        out.push(b'0');
    }
    out.extend_from_slice(s.as_bytes());
}

/// `YYYY-MM-DD`.
pub fn write_date(out: &mut Vec<u8>, days: i32) -> Result<(), Problem> {
    let d = date_of(days)?;
    let part = |v: u32| u8::try_from(v).unwrap_or(0);
    write_ymd(
        out,
        u16::try_from(d.year()).unwrap_or(0),
        part(d.month()),
        part(d.day()),
    );
    Ok(())
}

/// `YYYY-MM-DD` from its parts, zeros included (`2016-07-00`).
pub fn write_ymd(out: &mut Vec<u8>, y: u16, m: u8, d: u8) {
    push_padded(out, u32::from(y), 4);
    out.push(b'-');
    push_padded(out, u32::from(m), 2);
    out.push(b'-');
    push_padded(out, u32::from(d), 2);
}

/// `YYYY-MM-DD HH:MM:SS.ffffff` from µs since the epoch.
pub fn write_timestamp(out: &mut Vec<u8>, us: i64) -> Result<(), Problem> {
    let range = || "timestamp outside MySQL's range (years 1…9999)".to_string();
    let days = i32::try_from(us.div_euclid(MICROS_PER_DAY)).map_err(|_| range())?;
    let in_day = us.rem_euclid(MICROS_PER_DAY);
    write_date(out, days).map_err(|_| range())?;
    out.push(b' ');
    write_clock(out, in_day);
    Ok(())
}

/// `HH:MM:SS.ffffff` for a non-negative span (hours may exceed 23).
fn write_clock(out: &mut Vec<u8>, us: i64) {
    let secs = us / MICROS_PER_SECOND;
    let frac = us % MICROS_PER_SECOND;
    let part = |v: i64| u32::try_from(v).unwrap_or(0);
    push_padded(out, part(secs / 3600), 2);
    out.push(b':');
    push_padded(out, part(secs / 60 % 60), 2);
    out.push(b':');
    push_padded(out, part(secs % 60), 2);
    out.push(b'.');
    push_padded(out, part(frac), 6);
}

/// `[-]HH:MM:SS.ffffff` from signed µs (MySQL TIME text).
pub fn write_duration(out: &mut Vec<u8>, us: i64) {
    if us < 0 {
        out.push(b'-');
    }
    write_clock(out, us.saturating_abs());
}

/// ISO 8601 duration text of an interval: one definition for copy and verify.
pub use ferry_core::interval::iso8601 as iso8601_interval;

/// UUID text: the one definition copy, range bounds and verify share.
pub use ferry_core::hex::{push_uuid_text, uuid_text};

/// Renders a list value as a JSON array.
pub fn json_array(out: &mut Vec<u8>, a: &dyn Array, element: JsonElement) -> Result<(), Problem> {
    out.push(b'[');
    for i in 0..a.len() {
        if i > 0 {
            out.push(b',');
        }
        if a.is_null(i) {
            out.extend_from_slice(b"null");
            continue;
        }
        match element {
            JsonElement::Bool => out.extend_from_slice(if a.as_boolean().value(i) {
                b"true"
            } else {
                b"false"
            }),
            JsonElement::Int => {
                let n: i128 = match a.data_type() {
                    DataType::Int8 => a.as_primitive::<Int8Type>().value(i).into(),
                    DataType::Int16 => a.as_primitive::<Int16Type>().value(i).into(),
                    DataType::Int32 => a.as_primitive::<Int32Type>().value(i).into(),
                    DataType::Int64 => a.as_primitive::<Int64Type>().value(i).into(),
                    DataType::UInt8 => a.as_primitive::<UInt8Type>().value(i).into(),
                    DataType::UInt16 => a.as_primitive::<UInt16Type>().value(i).into(),
                    DataType::UInt32 => a.as_primitive::<UInt32Type>().value(i).into(),
                    DataType::UInt64 => a.as_primitive::<UInt64Type>().value(i).into(),
                    other => return Err(format!("internal: JSON integer element of {other}")),
                };
                out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
            }
            JsonElement::Float => {
                let x = match a.data_type() {
                    DataType::Float32 => f64::from(a.as_primitive::<Float32Type>().value(i)),
                    _ => a.as_primitive::<Float64Type>().value(i),
                };
                if !x.is_finite() {
                    return Err("NaN/Infinity in an array, which JSON cannot store".into());
                }
                if a.data_type() == &DataType::Float32 {
                    write_f32(out, a.as_primitive::<Float32Type>().value(i));
                } else {
                    write_f64(out, x);
                }
            }
            JsonElement::Number => {
                let s = a.as_string::<i32>().value(i);
                if !is_canonical_decimal(s) {
                    return Err(
                        "NaN/Infinity (or malformed decimal) in an array, which JSON cannot store"
                            .into(),
                    );
                }
                out.extend_from_slice(s.as_bytes());
            }
            JsonElement::String => json_string(out, a.as_string::<i32>().value(i)),
            JsonElement::Date => {
                let days = a.as_primitive::<Date32Type>().value(i);
                if days == i32::MAX || days == i32::MIN {
                    return Err("±infinity date in an array".into());
                }
                out.push(b'"');
                write_date(out, days)?;
                out.push(b'"');
            }
            JsonElement::Timestamp => {
                let us = a.as_primitive::<TimestampMicrosecondType>().value(i);
                if us == i64::MAX || us == i64::MIN {
                    return Err("±infinity timestamp in an array".into());
                }
                out.push(b'"');
                write_timestamp(out, us)?;
                out.push(b'"');
            }
            JsonElement::Uuid => {
                json_string(out, &uuid_text(a.as_fixed_size_binary().value(i)));
            }
        }
    }
    out.push(b']');
    Ok(())
}

fn json_string(out: &mut Vec<u8>, s: &str) {
    // serde_json's string escaping writes into a Vec and cannot fail.
    let _ = serde_json::to_writer(&mut *out, s);
}
