//! Arrow batches → `LOAD DATA` text.
//!
//! The file format the sink declares: fields separated by TAB, lines by LF,
//! escape character backslash, no enclosing quotes. In field text a
//! backslash, TAB, LF, CR and NUL are escaped (`\\ \t \n \r \0`) and NULL is
//! the two bytes `\N`, so the string `\N` travels as `\\N`.
//!
//! Each column's [`Encoder`] is chosen once, before any row is sent, from the
//! Arrow type together with the *actual* target column (users may override
//! the DDL). Every value MySQL would alter (round, clamp, pad, truncate) is
//! refused here with a problem that names its class, never the value:
//! LOAD DATA LOCAL behaves like `IGNORE` and would only warn.
//!
//! A batch is encoded column by column (one downcast per column and batch)
//! into per-field byte ranges, then interleaved into lines.

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, DurationMicrosecondType, Float32Type, Float64Type, Int16Type, Int32Type, Int64Type,
    Int8Type, IntervalMonthDayNanoType, Time64MicrosecondType, TimestampMicrosecondType,
    UInt16Type, UInt32Type, UInt64Type, UInt8Type,
};
use arrow_array::{Array, ArrayRef, ArrowPrimitiveType, PrimitiveArray, RecordBatch};
use arrow_schema::{DataType, TimeUnit};
use chrono::{Datelike as _, NaiveDate};
use ferry_core::{ColumnPlan, Conversion, LogicalType};

use crate::decode::is_canonical_decimal;

/// What is wrong with a value, without the value.
pub type Problem = String;

const MICROS_PER_SECOND: i64 = 1_000_000;
const MICROS_PER_DAY: i64 = 86_400 * MICROS_PER_SECOND;
const UNIX_EPOCH_DAYS_FROM_CE: i32 = 719_163;
/// MySQL TIME's bound, 838:59:59, in µs.
pub const MAX_TIME_MICROS: i64 = (838 * 3600 + 59 * 60 + 59) * MICROS_PER_SECOND;
/// MySQL TIMESTAMP's range in µs since the epoch (UTC).
const TIMESTAMP_MIN_MICROS: i64 = MICROS_PER_SECOND;
const TIMESTAMP_MAX_MICROS: i64 = 2_147_483_647 * MICROS_PER_SECOND + 999_999;

/// A target column as information_schema.COLUMNS describes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TargetColumn {
    pub name: String,
    /// `DATA_TYPE`, lower case.
    pub data_type: String,
    pub column_type: String,
    /// CHARACTER_MAXIMUM_LENGTH: characters for char/varchar, bytes for binary/varbinary.
    pub char_length: Option<u64>,
    /// CHARACTER_OCTET_LENGTH: the byte ceiling of text and blob tiers.
    pub octet_length: Option<u64>,
    pub precision: Option<u64>,
    pub scale: Option<u64>,
    pub fsp: Option<u64>,
    pub unsigned: bool,
    /// CHARACTER_SET_NAME of text columns (`None` for others).
    pub charset: Option<String>,
}

/// How one column's values become LOAD DATA fields.
#[derive(Debug, Clone, PartialEq)]
pub enum Encoder {
    /// Boolean → `0`/`1` in an integer column.
    Bool,
    /// Any Arrow integer into an integer (or YEAR) column of range `min..=max`.
    Int { min: i128, max: i128, year: bool },
    /// Any Arrow integer into DECIMAL(p,s).
    IntDecimal { precision: u32, scale: u32 },
    /// Float32 into FLOAT or DOUBLE, written as the shortest text of the
    /// widened f64: MySQL parses a double and then narrows it, and f32's own
    /// shortest text can round past FLT_MAX (`3.4028235e38` is out of range).
    /// `refuse_negative_zero` on servers that store −0.0 as +0 (MariaDB).
    Float32 {
        nan_to_null: bool,
        refuse_negative_zero: bool,
    },
    Float64 {
        nan_to_null: bool,
        refuse_negative_zero: bool,
    },
    /// Decimal text into DECIMAL(p,s), refused rather than rounded.
    Decimal {
        precision: u32,
        scale: u32,
        nan_to_null: bool,
    },
    /// UTF-8 text; `max_chars` for char/varchar, `max_bytes` for text tiers,
    /// `labels` for an ENUM target.
    Text {
        max_chars: Option<u64>,
        max_bytes: Option<u64>,
        labels: Option<Vec<String>>,
    },
    /// Bytes; `exact` for BINARY(n) (shorter values would be zero-padded).
    Binary {
        exact: Option<u64>,
        max_bytes: Option<u64>,
    },
    Date {
        infinity_to_null: bool,
        timestamp_target: bool,
    },
    Timestamp {
        fsp: u32,
        infinity_to_null: bool,
        timestamp_target: bool,
    },
    /// Time of day (PostgreSQL `time`, up to 24:00:00) into TIME.
    TimeOfDay { fsp: u32 },
    /// Signed duration into TIME.
    Duration { fsp: u32 },
    /// PostgreSQL interval as ISO 8601 text.
    Interval { max_chars: Option<u64> },
    /// UUID bytes as 36-char text, or raw into BINARY(16).
    Uuid { as_text: bool },
    /// Bit text → a decimal number for a `@var` that the statement casts into BIT(n).
    Bit { width: u32 },
    /// SET labels joined with commas.
    SetList,
    /// Any list as a JSON array.
    JsonList { element: JsonElement },
}

/// How elements of a list render as JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonElement {
    Bool,
    Int,
    Float,
    /// Decimal text as a JSON number.
    Number,
    String,
    Date,
    Timestamp,
    Uuid,
}

/// A column's encoder plus what the LOAD DATA statement needs to know.
#[derive(Debug, Clone)]
pub struct ColumnEncoder {
    pub name: String,
    pub encoder: Encoder,
    /// Loaded through a user variable and a `SET` clause (BIT targets).
    pub via_variable: bool,
}

/// Chooses the encoder for `col` (with Arrow type `dt`) into `target`.
/// `Err` is the reason the pair is unsupported.
///
/// `keeps_negative_zero` says whether the server stores −0.0 as such
/// (MariaDB turns it into +0 on storage, so there it is refused).
pub fn choose(
    col: &ColumnPlan,
    dt: &DataType,
    target: &TargetColumn,
    keeps_negative_zero: bool,
) -> Result<Encoder, String> {
    let t = target.data_type.as_str();
    let conv = col.conversion;
    let refuse_negative_zero = !keeps_negative_zero && conv != Conversion::NegativeZeroToZero;
    let nan_to_null = conv == Conversion::NanToNull;
    let infinity_to_null = conv == Conversion::InfinityToNull;
    let u32_of = |v: Option<u64>| v.and_then(|v| u32::try_from(v).ok());
    let fsp = u32_of(target.fsp).unwrap_or(0);
    let is_text_target = matches!(
        t,
        "char" | "varchar" | "tinytext" | "text" | "mediumtext" | "longtext" | "json"
    );
    let text_limits = || {
        let (max_chars, max_bytes) = match t {
            "char" | "varchar" => (target.char_length, None),
            "json" => (None, None),
            _ => (None, target.octet_length),
        };
        Encoder::Text {
            max_chars,
            max_bytes,
            labels: None,
        }
    };
    let unsupported = || {
        Err(format!(
            "cannot load Arrow {dt} ({}) into a {} column",
            col.logical, target.column_type
        ))
    };
    // The file is sent as CHARACTER SET binary (bytes taken as they are), so
    // a text column must be utf8mb4 for UTF-8 to mean what it says.
    if let Some(cs) = &target.charset {
        if !matches!(cs.as_str(), "utf8mb4" | "binary") {
            return Err(format!(
                "the target column's character set is {cs}; ferry loads text as utf8mb4"
            ));
        }
    }
    let enc = match dt {
        DataType::Boolean if int_range(t, target.unsigned).is_some() => Encoder::Bool,
        DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32
        | DataType::UInt64 => {
            if t == "year" {
                Encoder::Int {
                    min: 0,
                    max: 2155,
                    year: true,
                }
            } else if let Some((min, max)) = int_range(t, target.unsigned) {
                Encoder::Int {
                    min,
                    max,
                    year: false,
                }
            } else if t == "decimal" {
                Encoder::IntDecimal {
                    precision: u32_of(target.precision).unwrap_or(10),
                    scale: u32_of(target.scale).unwrap_or(0),
                }
            } else {
                return unsupported();
            }
        }
        DataType::Float32 if t == "float" || t == "double" => Encoder::Float32 {
            nan_to_null,
            refuse_negative_zero,
        },
        DataType::Float64 if t == "double" => Encoder::Float64 {
            nan_to_null,
            refuse_negative_zero,
        },
        DataType::Utf8 => match (&col.logical, t) {
            (_, "decimal") => Encoder::Decimal {
                precision: u32_of(target.precision).unwrap_or(10),
                scale: u32_of(target.scale).unwrap_or(0),
                nan_to_null,
            },
            (_, "bit") => Encoder::Bit {
                width: u32_of(target.precision).unwrap_or(1),
            },
            (_, "enum") => Encoder::Text {
                max_chars: None,
                max_bytes: None,
                labels: Some(crate::catalog::parse_labels(&target.column_type)?),
            },
            (LogicalType::Decimal { .. } | LogicalType::Money, _) if !is_text_target => {
                return unsupported()
            }
            (_, "set") => Encoder::Text {
                max_chars: None,
                max_bytes: None,
                labels: None,
            },
            _ if is_text_target => text_limits(),
            _ => return unsupported(),
        },
        DataType::Binary => match t {
            "binary" => Encoder::Binary {
                exact: target.char_length,
                max_bytes: None,
            },
            "varbinary" => Encoder::Binary {
                exact: None,
                max_bytes: target.char_length,
            },
            "tinyblob" | "blob" | "mediumblob" | "longblob" => Encoder::Binary {
                exact: None,
                max_bytes: target.octet_length,
            },
            _ => return unsupported(),
        },
        DataType::Date32 if matches!(t, "date" | "datetime" | "timestamp") => Encoder::Date {
            infinity_to_null,
            timestamp_target: t == "timestamp",
        },
        DataType::Timestamp(TimeUnit::Microsecond, _) if matches!(t, "datetime" | "timestamp") => {
            Encoder::Timestamp {
                fsp,
                infinity_to_null,
                timestamp_target: t == "timestamp",
            }
        }
        DataType::Time64(TimeUnit::Microsecond) if t == "time" => Encoder::TimeOfDay { fsp },
        DataType::Duration(TimeUnit::Microsecond) if t == "time" => Encoder::Duration { fsp },
        DataType::Interval(arrow_schema::IntervalUnit::MonthDayNano) if is_text_target => {
            Encoder::Interval {
                max_chars: if matches!(t, "char" | "varchar") {
                    target.char_length
                } else {
                    None
                },
            }
        }
        DataType::FixedSizeBinary(16) => match t {
            "char" | "varchar" if target.char_length.unwrap_or(0) >= 36 => {
                Encoder::Uuid { as_text: true }
            }
            "tinytext" | "text" | "mediumtext" | "longtext" => Encoder::Uuid { as_text: true },
            "binary" if target.char_length == Some(16) => Encoder::Uuid { as_text: false },
            "varbinary" if target.char_length.unwrap_or(0) >= 16 => {
                Encoder::Uuid { as_text: false }
            }
            _ => return unsupported(),
        },
        DataType::List(field) => {
            if t == "set" && field.data_type() == &DataType::Utf8 {
                Encoder::SetList
            } else if matches!(t, "json" | "longtext" | "mediumtext" | "text") {
                let element = match &col.logical {
                    LogicalType::Array { element } => Some(element.as_ref()),
                    _ => None,
                };
                Encoder::JsonList {
                    element: json_element(field.data_type(), element).ok_or_else(|| {
                        format!(
                            "cannot render list elements of Arrow {} as JSON",
                            field.data_type()
                        )
                    })?,
                }
            } else {
                return unsupported();
            }
        }
        _ => return unsupported(),
    };
    Ok(enc)
}

fn json_element(dt: &DataType, logical: Option<&LogicalType>) -> Option<JsonElement> {
    Some(match dt {
        DataType::Boolean => JsonElement::Bool,
        DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32
        | DataType::UInt64 => JsonElement::Int,
        DataType::Float32 | DataType::Float64 => JsonElement::Float,
        DataType::Utf8 => match logical {
            Some(LogicalType::Decimal { .. } | LogicalType::Money) => JsonElement::Number,
            _ => JsonElement::String,
        },
        DataType::Date32 => JsonElement::Date,
        DataType::Timestamp(TimeUnit::Microsecond, _) => JsonElement::Timestamp,
        DataType::FixedSizeBinary(16) => JsonElement::Uuid,
        _ => return None,
    })
}

/// The value range of a MySQL integer type, `None` for other types.
pub fn int_range(data_type: &str, unsigned: bool) -> Option<(i128, i128)> {
    let bits = match data_type {
        "tinyint" => 8,
        "smallint" => 16,
        "mediumint" => 24,
        "int" | "integer" => 32,
        "bigint" => 64,
        _ => return None,
    };
    Some(if unsigned {
        (0, (1i128 << bits) - 1)
    } else {
        (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1)
    })
}

/// Field bytes of one column of one batch: `ends[i]` is where field `i` ends.
#[derive(Default)]
pub struct FieldBuf {
    pub bytes: Vec<u8>,
    pub ends: Vec<usize>,
}

impl FieldBuf {
    fn field(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.bytes[start..self.ends[i]]
    }

    fn clear(&mut self) {
        self.bytes.clear();
        self.ends.clear();
    }
}

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
                each_row(a, out, |r, o| {
                    let s = v.value(r);
                    check_text(s, *max_chars, *max_bytes)?;
                    if let Some(labels) = labels {
                        if !labels.iter().any(|l| l == s) {
                            return Err("value is not a label of the target ENUM".into());
                        }
                    }
                    escape_into(o, s.as_bytes());
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
                    check_text(&text, *max_chars, None)?;
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
                    escape_into(o, joined.as_bytes());
                    Ok(Emit::Value)
                })
            }
            Encoder::JsonList { element } => {
                let v = a.as_list::<i32>();
                let element = *element;
                let mut json = Vec::new();
                each_row(a, out, |r, o| {
                    json.clear();
                    json_array(&mut json, v.value(r).as_ref(), element)?;
                    escape_into(o, &json);
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

fn check_text(s: &str, max_chars: Option<u64>, max_bytes: Option<u64>) -> Result<(), Problem> {
    if let Some(m) = max_bytes {
        if u64::try_from(s.len()).unwrap_or(u64::MAX) > m {
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
    push_padded(out, u32::try_from(d.year()).unwrap_or(0), 4);
    out.push(b'-');
    push_padded(out, d.month(), 2);
    out.push(b'-');
    push_padded(out, d.day(), 2);
    Ok(())
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

fn check_timestamp_range(us: i64) -> Result<(), Problem> {
    if (TIMESTAMP_MIN_MICROS..=TIMESTAMP_MAX_MICROS).contains(&us) {
        Ok(())
    } else {
        Err("instant outside MySQL TIMESTAMP's range (1970-01-01 00:00:01 … 2038-01-19 03:14:07 UTC)".into())
    }
}

/// ISO 8601 duration text of an interval: one definition for copy and verify.
pub use ferry_core::interval::iso8601 as iso8601_interval;

/// Lower-case `8-4-4-4-12` text of RFC 4122 bytes.
pub fn uuid_text(b: &[u8]) -> String {
    let mut out = Vec::with_capacity(36);
    push_uuid_text(&mut out, b);
    String::from_utf8(out).unwrap_or_default()
}

/// Appends the lower-case `8-4-4-4-12` text of RFC 4122 bytes; no allocation.
pub fn push_uuid_text(out: &mut Vec<u8>, b: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for (i, byte) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out.push(b'-');
        }
        out.push(HEX[usize::from(byte >> 4)]);
        out.push(HEX[usize::from(byte & 15)]);
    }
}

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

/// Encodes a whole batch as LOAD DATA lines, appending to `out`.
/// `Err((column, row, problem))` names the first refused value.
pub fn encode_batch(
    encoders: &[ColumnEncoder],
    batch: &RecordBatch,
    scratch: &mut Vec<FieldBuf>,
    out: &mut Vec<u8>,
) -> Result<(), (usize, usize, Problem)> {
    scratch.resize_with(encoders.len(), FieldBuf::default);
    for (c, (enc, buf)) in encoders.iter().zip(scratch.iter_mut()).enumerate() {
        enc.encoder
            .encode_column(batch.column(c), buf)
            .map_err(|(row, p)| (c, row, p))?;
    }
    for row in 0..batch.num_rows() {
        for (c, buf) in scratch.iter().enumerate() {
            if c > 0 {
                out.push(b'\t');
            }
            out.extend_from_slice(buf.field(row));
        }
        out.push(b'\n');
    }
    Ok(())
}

#[cfg(test)]
mod tests;
