//! The field encoders: one column of one batch at a time, each value
//! checked against the target column before its text is written. Every value
//! MySQL would alter (round, clamp, pad, truncate) is refused with a
//! [`Problem`] that names its class, never the value.

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, DurationMicrosecondType, Float32Type, Float64Type, Int16Type, Int32Type, Int64Type,
    Int8Type, IntervalMonthDayNanoType, Time64MicrosecondType, TimestampMicrosecondType,
    UInt16Type, UInt32Type, UInt64Type, UInt8Type,
};
use arrow_array::{Array, ArrayRef, ArrowPrimitiveType, PrimitiveArray};
use arrow_schema::DataType;

use super::text::{
    escape_into, iso8601_interval, json_array, push_uuid_text, write_date, write_duration,
    write_f64, write_timestamp, write_ymd,
};
use super::{Encoder, FieldBuf, Problem};
use crate::charset::Charset;
use crate::decode::{is_canonical_decimal, MICROS_PER_DAY, MICROS_PER_SECOND};

/// MySQL TIME's bound, 838:59:59, in µs.
pub const MAX_TIME_MICROS: i64 = (838 * 3600 + 59 * 60 + 59) * MICROS_PER_SECOND;
/// MySQL TIMESTAMP's range in µs since the epoch (UTC).
const TIMESTAMP_MIN_MICROS: i64 = MICROS_PER_SECOND;
const TIMESTAMP_MAX_MICROS: i64 = 2_147_483_647 * MICROS_PER_SECOND + 999_999;

/// What an encoder wrote for one value.
enum Emit {
    Value,
    /// The value becomes NULL (a lossy conversion the user chose).
    Null,
}

/// Walks the rows of one column: NULLs become `\N`, others go through `f`.
fn each_row(
    array: &dyn Array,
    out: &mut FieldBuf,
    mut f: impl FnMut(usize, &mut Vec<u8>) -> Result<Emit, Problem>,
) -> Result<(), (usize, Problem)> {
    for row in 0..array.len() {
        if array.is_null(row) {
            out.bytes.extend_from_slice(b"\\N");
        } else {
            let start = out.bytes.len();
            match f(row, &mut out.bytes) {
                Ok(Emit::Value) => {}
                Ok(Emit::Null) => {
                    out.bytes.truncate(start);
                    out.bytes.extend_from_slice(b"\\N");
                }
                Err(p) => return Err((row, p)),
            }
        }
        out.ends.push(out.bytes.len());
    }
    Ok(())
}

impl Encoder {
    /// Encodes one column of a batch into `out` (cleared first).
    /// `Err((row, problem))` names the first refused value.
    pub fn encode_column(
        &self,
        array: &ArrayRef,
        out: &mut FieldBuf,
    ) -> Result<(), (usize, Problem)> {
        self.encode_column_in(array, out, None)
    }

    /// [`encode_column`](Self::encode_column) for a target column in
    /// `charset` (`None`: utf8mb4 or binary, UTF-8 as it is). Text is
    /// encoded by ferry before it is escaped (a gbk trail byte may be a
    /// backslash); a character the set cannot hold is refused. Encoders
    /// that write ASCII only are given a charset only when it is
    /// ASCII-compatible (the sink checks).
    pub fn encode_column_in(
        &self,
        array: &ArrayRef,
        out: &mut FieldBuf,
        charset: Option<&Charset>,
    ) -> Result<(), (usize, Problem)> {
        out.clear();
        let a = array.as_ref();
        match self {
            Encoder::Bool => {
                let v = a.as_boolean();
                each_row(a, out, |r, o| {
                    o.push(if v.value(r) { b'1' } else { b'0' });
                    Ok(Emit::Value)
                })
            }
            Encoder::Int { min, max, year } => {
                let (min, max, year) = (*min, *max, *year);
                let check = move |n: i128| -> Result<(), Problem> {
                    if year {
                        if n == 0 || (1901..=2155).contains(&n) {
                            Ok(())
                        } else {
                            Err("value outside MySQL YEAR's range (0, 1901…2155)".into())
                        }
                    } else if n < min || n > max {
                        Err("integer outside the target column's range".into())
                    } else {
                        Ok(())
                    }
                };
                encode_ints(a, out, |n, o| {
                    check(n)?;
                    if year && n == 0 {
                        // The text `0` would load as the year 2000; `0000` is year zero.
                        o.extend_from_slice(b"0000");
                    } else {
                        o.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
                    }
                    Ok(Emit::Value)
                })
            }
            Encoder::IntDecimal { precision, scale } => {
                let (p, s) = (*precision, *scale);
                encode_ints(a, out, |n, o| {
                    let mut buf = itoa::Buffer::new();
                    let text = buf.format(n);
                    let digits =
                        u32::try_from(text.trim_start_matches('-').len()).unwrap_or(u32::MAX);
                    if n != 0 && digits > p.saturating_sub(s) {
                        return Err(format!(
                            "integer has more than {} digits, too wide for decimal({p},{s})",
                            p.saturating_sub(s)
                        ));
                    }
                    o.extend_from_slice(text.as_bytes());
                    Ok(Emit::Value)
                })
            }
            Encoder::Float32 {
                nan_to_null,
                refuse_negative_zero,
            } => {
                let v = a.as_primitive::<Float32Type>();
                let (nan_to_null, no_neg_zero) = (*nan_to_null, *refuse_negative_zero);
                each_row(a, out, |r, o| {
                    float_field(o, f64::from(v.value(r)), nan_to_null, no_neg_zero)
                })
            }
            Encoder::Float64 {
                nan_to_null,
                refuse_negative_zero,
            } => {
                let v = a.as_primitive::<Float64Type>();
                let (nan_to_null, no_neg_zero) = (*nan_to_null, *refuse_negative_zero);
                each_row(a, out, |r, o| {
                    float_field(o, v.value(r), nan_to_null, no_neg_zero)
                })
            }
            Encoder::Decimal {
                precision,
                scale,
                nan_to_null,
            } => {
                let v = a.as_string::<i32>();
                let (p, s, nan_to_null) = (*precision, *scale, *nan_to_null);
                each_row(a, out, |r, o| {
                    match fit_decimal(v.value(r), p, s)? {
                        Some(text) => o.extend_from_slice(text.as_bytes()),
                        None => return non_finite(nan_to_null),
                    }
                    Ok(Emit::Value)
                })
            }
            Encoder::Text {
                max_chars,
                max_bytes,
                labels,
            } => {
                let v = a.as_string::<i32>();
                let mut encoded = Vec::new();
                each_row(a, out, |r, o| {
                    let s = v.value(r);
                    if let Some(labels) = labels {
                        if !labels.iter().any(|l| l == s) {
                            return Err("value is not a label of the target ENUM".into());
                        }
                    }
                    let bytes = in_charset(s, charset, &mut encoded)?;
                    check_text(s, bytes.len(), *max_chars, *max_bytes)?;
                    escape_into(o, bytes);
                    Ok(Emit::Value)
                })
            }
            Encoder::Geometry { code } => {
                let v = a.as_binary::<i32>();
                let mut internal = Vec::new();
                each_row(a, out, |r, o| {
                    internal.clear();
                    let shape = ferry_core::geometry::to_mysql(v.value(r), &mut internal)?;
                    if code.is_some_and(|c| c != shape.code) {
                        return Err("a geometry of another type than the target column's".into());
                    }
                    escape_into(o, &internal);
                    Ok(Emit::Value)
                })
            }
            Encoder::Binary { exact, max_bytes } => {
                let v = a.as_binary::<i32>();
                each_row(a, out, |r, o| {
                    let b = v.value(r);
                    let len = u64::try_from(b.len()).unwrap_or(u64::MAX);
                    if let Some(n) = exact {
                        if len != *n {
                            return Err(format!(
                                "byte string is not exactly {n} bytes long (BINARY({n}) would pad or cut it)"
                            ));
                        }
                    }
                    if max_bytes.is_some_and(|m| len > m) {
                        return Err("byte string longer than the target column allows".into());
                    }
                    escape_into(o, b);
                    Ok(Emit::Value)
                })
            }
            Encoder::Date {
                infinity_to_null,
                timestamp_target,
            } => {
                let v = a.as_primitive::<Date32Type>();
                let (inf_null, ts) = (*infinity_to_null, *timestamp_target);
                each_row(a, out, |r, o| {
                    let days = v.value(r);
                    if days == i32::MAX || days == i32::MIN {
                        return infinity(inf_null);
                    }
                    if let Some(ymd) = ferry_core::zerodate::of_days(days) {
                        write_zero_date(o, ymd, None, ts)?;
                        return Ok(Emit::Value);
                    }
                    if ts {
                        check_timestamp_range(i64::from(days) * MICROS_PER_DAY)?;
                    }
                    write_date(o, days)?;
                    Ok(Emit::Value)
                })
            }
            Encoder::Timestamp {
                fsp,
                infinity_to_null,
                timestamp_target,
            } => {
                let v = a.as_primitive::<TimestampMicrosecondType>();
                let (fsp, inf_null, ts) = (*fsp, *infinity_to_null, *timestamp_target);
                each_row(a, out, |r, o| {
                    let us = v.value(r);
                    if us == i64::MAX || us == i64::MIN {
                        return infinity(inf_null);
                    }
                    if let Some((ymd, time)) = ferry_core::zerodate::of_micros(us) {
                        check_fsp(time % MICROS_PER_SECOND, fsp)?;
                        write_zero_date(o, ymd, Some(time), ts)?;
                        return Ok(Emit::Value);
                    }
                    if ts {
                        check_timestamp_range(us)?;
                    }
                    check_fsp(us.rem_euclid(MICROS_PER_SECOND), fsp)?;
                    write_timestamp(o, us)?;
                    Ok(Emit::Value)
                })
            }
            Encoder::TimeOfDay { fsp } => {
                let v = a.as_primitive::<Time64MicrosecondType>();
                let fsp = *fsp;
                each_row(a, out, |r, o| {
                    let us = v.value(r);
                    if !(0..=MICROS_PER_DAY).contains(&us) {
                        return Err("time of day outside 00:00:00…24:00:00".into());
                    }
                    check_fsp(us % MICROS_PER_SECOND, fsp)?;
                    write_duration(o, us);
                    Ok(Emit::Value)
                })
            }
            Encoder::Duration { fsp } => {
                let v = a.as_primitive::<DurationMicrosecondType>();
                let fsp = *fsp;
                each_row(a, out, |r, o| {
                    let us = v.value(r);
                    if us.unsigned_abs() > MAX_TIME_MICROS.unsigned_abs() {
                        return Err("duration outside MySQL TIME's range (±838:59:59)".into());
                    }
                    check_fsp(us.abs() % MICROS_PER_SECOND, fsp)?;
                    write_duration(o, us);
                    Ok(Emit::Value)
                })
            }
            Encoder::Interval { max_chars } => {
                let v = a.as_primitive::<IntervalMonthDayNanoType>();
                each_row(a, out, |r, o| {
                    let x = v.value(r);
                    let text = iso8601_interval(x.months, x.days, x.nanoseconds);
                    check_text(&text, text.len(), *max_chars, None)?;
                    o.extend_from_slice(text.as_bytes());
                    Ok(Emit::Value)
                })
            }
            Encoder::Uuid { as_text } => {
                let v = a.as_fixed_size_binary();
                let as_text = *as_text;
                each_row(a, out, |r, o| {
                    if as_text {
                        push_uuid_text(o, v.value(r));
                    } else {
                        escape_into(o, v.value(r));
                    }
                    Ok(Emit::Value)
                })
            }
            Encoder::Bit { width } => {
                let v = a.as_string::<i32>();
                let width = *width;
                each_row(a, out, |r, o| {
                    let n = bit_value(v.value(r), width)?;
                    o.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
                    Ok(Emit::Value)
                })
            }
            Encoder::SetList => {
                let v = a.as_list::<i32>();
                let mut encoded = Vec::new();
                each_row(a, out, |r, o| {
                    let labels = v.value(r);
                    let labels = labels.as_string::<i32>();
                    let mut joined = String::new();
                    for i in 0..labels.len() {
                        let l = labels.value(i);
                        if l.contains(',') {
                            return Err(
                                "set member contains a comma, which MySQL SET cannot hold".into()
                            );
                        }
                        if i > 0 {
                            joined.push(',');
                        }
                        joined.push_str(l);
                    }
                    escape_into(o, in_charset(&joined, charset, &mut encoded)?);
                    Ok(Emit::Value)
                })
            }
            Encoder::JsonList { element } => {
                let v = a.as_list::<i32>();
                let element = *element;
                let mut json = Vec::new();
                let mut encoded = Vec::new();
                each_row(a, out, |r, o| {
                    json.clear();
                    json_array(&mut json, v.value(r).as_ref(), element)?;
                    let text = std::str::from_utf8(&json)
                        .map_err(|_| Problem::from("internal: JSON text is not UTF-8"))?;
                    escape_into(o, in_charset(text, charset, &mut encoded)?);
                    Ok(Emit::Value)
                })
            }
        }
    }
}

fn encode_ints(
    a: &dyn Array,
    out: &mut FieldBuf,
    f: impl FnMut(i128, &mut Vec<u8>) -> Result<Emit, Problem>,
) -> Result<(), (usize, Problem)> {
    fn go<T: ArrowPrimitiveType>(
        a: &dyn Array,
        out: &mut FieldBuf,
        mut f: impl FnMut(i128, &mut Vec<u8>) -> Result<Emit, Problem>,
    ) -> Result<(), (usize, Problem)>
    where
        T::Native: Into<i128>,
    {
        let v: &PrimitiveArray<T> = a.as_primitive::<T>();
        each_row(a, out, |r, o| f(v.value(r).into(), o))
    }
    match a.data_type() {
        DataType::Int8 => go::<Int8Type>(a, out, f),
        DataType::Int16 => go::<Int16Type>(a, out, f),
        DataType::Int32 => go::<Int32Type>(a, out, f),
        DataType::Int64 => go::<Int64Type>(a, out, f),
        DataType::UInt8 => go::<UInt8Type>(a, out, f),
        DataType::UInt16 => go::<UInt16Type>(a, out, f),
        DataType::UInt32 => go::<UInt32Type>(a, out, f),
        DataType::UInt64 => go::<UInt64Type>(a, out, f),
        other => Err((0, format!("internal: integer encoder given {other}"))),
    }
}

/// MariaDB stores −0.0 in FLOAT/DOUBLE columns as +0: the sign would be lost silently.
const NEGATIVE_ZERO: &str = "negative zero, which MariaDB stores as +0 (the sign would be lost)";

fn non_finite(nan_to_null: bool) -> Result<Emit, Problem> {
    if nan_to_null {
        Ok(Emit::Null)
    } else {
        Err("NaN/Infinity, which MySQL cannot store (use nan_to_null to load NULL)".into())
    }
}

fn infinity(infinity_to_null: bool) -> Result<Emit, Problem> {
    if infinity_to_null {
        Ok(Emit::Null)
    } else {
        Err("±infinity date or timestamp, which MySQL cannot store (use infinity_to_null to load NULL)".into())
    }
}

/// Checks decimal text against DECIMAL(p,s). `Ok(None)` for NaN/±Infinity.
/// Trailing fraction zeros beyond the scale are dropped (the value is
/// unchanged); any other digit beyond it, or too many integer digits, is
/// refused: MySQL would round or clamp.
pub fn fit_decimal(text: &str, precision: u32, scale: u32) -> Result<Option<String>, Problem> {
    if matches!(text, "NaN" | "Infinity" | "-Infinity" | "+Infinity") {
        return Ok(None);
    }
    if !is_canonical_decimal(text) {
        return Err("malformed decimal text".into());
    }
    let (neg, body) = match text.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, text),
    };
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    let int = int.trim_start_matches('0');
    let frac = frac.trim_end_matches('0');
    let int_digits = u32::try_from(int.len()).unwrap_or(u32::MAX);
    let frac_digits = u32::try_from(frac.len()).unwrap_or(u32::MAX);
    let max_int = precision.saturating_sub(scale);
    if int_digits > max_int {
        return Err(format!(
            "decimal has more than {max_int} integer digits, too wide for decimal({precision},{scale})"
        ));
    }
    if frac_digits > scale {
        return Err(format!(
            "decimal has more than {scale} fraction digits; decimal({precision},{scale}) would round it"
        ));
    }
    let mut out = String::with_capacity(text.len());
    if neg && !(int.is_empty() && frac.is_empty()) {
        out.push('-');
    }
    out.push_str(if int.is_empty() { "0" } else { int });
    if !frac.is_empty() {
        out.push('.');
        out.push_str(frac);
    }
    Ok(Some(out))
}

/// `s` as the target column stores it: as it is (UTF-8), or encoded in
/// `charset` into `scratch`.
fn in_charset<'a>(
    s: &'a str,
    charset: Option<&Charset>,
    scratch: &'a mut Vec<u8>,
) -> Result<&'a [u8], Problem> {
    match charset {
        None => Ok(s.as_bytes()),
        Some(cs) => {
            scratch.clear();
            cs.encode_into(s, scratch)?;
            Ok(scratch)
        }
    }
}

/// `s`, stored in `stored_bytes` bytes, against the target's limits.
fn check_text(
    s: &str,
    stored_bytes: usize,
    max_chars: Option<u64>,
    max_bytes: Option<u64>,
) -> Result<(), Problem> {
    if let Some(m) = max_bytes {
        if u64::try_from(stored_bytes).unwrap_or(u64::MAX) > m {
            return Err(format!("text longer than the target column's {m} bytes"));
        }
    }
    if let Some(m) = max_chars {
        // Bytes bound characters from above: count only when it could matter.
        if u64::try_from(s.len()).unwrap_or(u64::MAX) > m
            && u64::try_from(s.chars().count()).unwrap_or(u64::MAX) > m
        {
            return Err(format!(
                "text longer than the target column's {m} characters"
            ));
        }
    }
    Ok(())
}

/// `0101` → 5, checked against BIT(width).
pub fn bit_value(text: &str, width: u32) -> Result<u64, Problem> {
    if text.is_empty() || !text.bytes().all(|b| b == b'0' || b == b'1') {
        return Err("bit text is not a string of 0 and 1".into());
    }
    let significant = text.trim_start_matches('0');
    if u32::try_from(significant.len()).unwrap_or(u32::MAX) > width.min(64) {
        return Err(format!("bit string wider than the target's bit({width})"));
    }
    let mut n: u64 = 0;
    for b in significant.bytes() {
        n = (n << 1) | u64::from(b - b'0');
    }
    Ok(n)
}

fn check_fsp(frac_us: i64, fsp: u32) -> Result<(), Problem> {
    let unit = 10i64.pow(6u32.saturating_sub(fsp.min(6)));
    if frac_us % unit != 0 {
        Err(format!(
            "more fractional-second digits than the target's precision ({fsp}); MySQL would round"
        ))
    } else {
        Ok(())
    }
}

/// One FLOAT or DOUBLE field. FLOAT values arrive widened to f64, which
/// is exact and keeps NaN, infinities and the sign of zero.
fn float_field(
    o: &mut Vec<u8>,
    x: f64,
    nan_to_null: bool,
    no_neg_zero: bool,
) -> Result<Emit, Problem> {
    if !x.is_finite() {
        return non_finite(nan_to_null);
    }
    if no_neg_zero && x == 0.0 && x.is_sign_negative() {
        return Err(NEGATIVE_ZERO.into());
    }
    write_f64(o, x);
    Ok(Emit::Value)
}

/// A zero or partial date (with its time of day) as MySQL writes it
/// (`2016-07-00 12:00:00.000000`). TIMESTAMP holds only the all-zero value.
fn write_zero_date(
    o: &mut Vec<u8>,
    (y, m, d): (u16, u8, u8),
    time: Option<i64>,
    timestamp_target: bool,
) -> Result<(), Problem> {
    if timestamp_target && (y, m, d, time.unwrap_or(0)) != (0, 0, 0, 0) {
        return Err(
            "partial date, which MySQL TIMESTAMP cannot store (only 0000-00-00 00:00:00)".into(),
        );
    }
    write_ymd(o, y, m, d);
    if let Some(time) = time {
        o.push(b' ');
        write_duration(o, time);
    }
    Ok(())
}

fn check_timestamp_range(us: i64) -> Result<(), Problem> {
    if (TIMESTAMP_MIN_MICROS..=TIMESTAMP_MAX_MICROS).contains(&us) {
        Ok(())
    } else {
        Err("instant outside MySQL TIMESTAMP's range (1970-01-01 00:00:01 … 2038-01-19 03:14:07 UTC)".into())
    }
}
