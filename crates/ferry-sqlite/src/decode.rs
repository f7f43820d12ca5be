//! SQLite values → Arrow builders.
//!
//! SQLite lets any value sit in any column, so reading is a check as much
//! as a conversion. Each column's [`Reading`] is decided once, from its
//! plan (logical type, how a date is stored, the conversion chosen), and
//! says which storage classes it takes and how their content must look; a
//! value that does not fit is a [`Problem`] naming its storage class, never
//! its content. The same [`Reading::check`] runs inside SQLite during the
//! pre-flight (the `ferry_fits` SQL function, see [`crate::fits`]), so the
//! scan counts exactly the values the copy would refuse.
//!
//! Values are rusqlite's [`ValueRef`]s, so every function here is tested
//! without a database.

use arrow_array::types::IntervalMonthDayNano;
use ferry_core::{ColumnPlan, Conversion, LogicalType, TimeStorage};
use rusqlite::types::ValueRef;
use serde::{Deserialize, Serialize};

use crate::time;

/// What is wrong with a value, in words that never include the value.
pub type Problem = String;

/// How one column's values are read: decided once per column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "k", rename_all = "snake_case")]
pub enum Reading {
    /// INTEGER 0 or 1.
    Bool,
    /// INTEGER within `min..=max` (every integer kind but uint64).
    Int { min: i64, max: i64 },
    /// INTEGER ≥ 0.
    UInt64,
    /// REAL (or an INTEGER a double holds exactly).
    Float64,
    /// REAL that a single-precision float holds exactly.
    Float32,
    /// INTEGER, REAL (its shortest exact decimal text) or decimal TEXT,
    /// within the declared precision and scale.
    Decimal {
        precision: Option<u32>,
        scale: Option<u32>,
    },
    /// UTF-8 TEXT, at most `max_chars` characters.
    Text { max_chars: Option<u32> },
    /// JSON text (valid), or a number held as INTEGER or REAL.
    Json,
    /// BLOB; `exact` for BINARY(n), `max` for VARBINARY(n).
    Bytes {
        exact: Option<u32>,
        max: Option<u32>,
    },
    /// 36-character TEXT (any case) or a 16-byte BLOB.
    Uuid,
    Date {
        stored: TimeStorage,
        zero_to_null: bool,
    },
    /// `HH:MM[:SS[.ffffff]]` TEXT, up to 24:00:00.
    Time,
    Timestamp {
        stored: TimeStorage,
        /// The column is an instant (offsets allowed, converted to UTC).
        zoned: bool,
        zero_to_null: bool,
    },
    /// ISO 8601 duration TEXT.
    Interval,
}

/// Whether values of one storage class fit a [`Reading`], as far as the
/// class alone tells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClassFit {
    /// Every value of the class fits.
    Always,
    /// No value of the class fits.
    Never,
    /// Values fit when this SQL condition on the column (`{c}`) holds.
    When(String),
    /// The content decides: [`Reading::check`] must look at each value.
    Content,
}

/// Names a storage class for messages.
pub fn class_name(v: &ValueRef<'_>) -> &'static str {
    match v {
        ValueRef::Null => "NULL",
        ValueRef::Integer(_) => "INTEGER",
        ValueRef::Real(_) => "REAL",
        ValueRef::Text(_) => "TEXT",
        ValueRef::Blob(_) => "BLOB",
    }
}

fn wrong_class(v: &ValueRef<'_>, what: &str) -> Problem {
    format!("{} value in a column read as {what}", class_name(v))
}

impl Reading {
    /// The reading of a planned column; `Err` names what SQLite cannot give.
    pub fn for_column(col: &ColumnPlan) -> Result<Reading, String> {
        use LogicalType as L;
        let zero_to_null = col.conversion == Conversion::ZeroDateToNull;
        if zero_to_null && !col.nullable {
            return Err(
                "zero_date_to_null needs a nullable column (the column is NOT NULL)".into(),
            );
        }
        let stored = col.stored_as.unwrap_or(TimeStorage::Iso8601);
        let range = |min: i64, max: i64| Reading::Int { min, max };
        Ok(match &col.logical {
            L::Bool => Reading::Bool,
            L::Int8 => range(i8::MIN.into(), i8::MAX.into()),
            L::Int16 => range(i16::MIN.into(), i16::MAX.into()),
            L::Int32 => range(i32::MIN.into(), i32::MAX.into()),
            L::Int64 => range(i64::MIN, i64::MAX),
            L::UInt8 => range(0, u8::MAX.into()),
            L::UInt16 => range(0, u16::MAX.into()),
            L::UInt32 => range(0, u32::MAX.into()),
            L::Year => range(0, 9999),
            L::UInt64 => Reading::UInt64,
            L::Float64 => Reading::Float64,
            L::Float32 => Reading::Float32,
            L::Decimal { precision, scale } => Reading::Decimal {
                precision: *precision,
                scale: *scale,
            },
            L::Money => Reading::Decimal {
                precision: None,
                scale: None,
            },
            L::Char { length } | L::Varchar { length } => Reading::Text { max_chars: *length },
            L::Text { .. }
            | L::TimeTz
            | L::Enum { .. }
            | L::Inet
            | L::Cidr
            | L::MacAddr
            | L::MacAddr8
            | L::TsVector
            | L::Xml
            | L::Bit { .. } => Reading::Text { max_chars: None },
            L::Json | L::Jsonb => Reading::Json,
            L::Binary { length } => Reading::Bytes {
                exact: *length,
                max: None,
            },
            L::VarBinary { length, .. } => Reading::Bytes {
                exact: None,
                max: *length,
            },
            L::Uuid => Reading::Uuid,
            L::Date => Reading::Date {
                stored,
                zero_to_null,
            },
            L::Time { .. } => Reading::Time,
            L::Timestamp { .. } => Reading::Timestamp {
                stored,
                zoned: false,
                zero_to_null,
            },
            L::TimestampTz { .. } => Reading::Timestamp {
                stored,
                zoned: true,
                zero_to_null,
            },
            L::Interval => Reading::Interval,
            other => {
                return Err(format!(
                    "a SQLite column cannot be read as {other} (declared type {})",
                    col.source_type
                ))
            }
        })
    }

    /// Whether values of storage class `class` (`typeof()`'s name) fit,
    /// as far as the class tells: the pre-flight asks SQLite itself where it
    /// can (`c BETWEEN min AND max`) and calls [`check`](Self::check) back
    /// only for content (dates, decimals, JSON, text).
    pub fn class_fit(&self, class: &str) -> ClassFit {
        use ClassFit::{Always, Content, Never, When};
        match (self, class) {
            (Reading::Bool, "integer") => When("{c} IN (0, 1)".into()),
            (Reading::Int { min, max }, "integer") => {
                if *min == i64::MIN && *max == i64::MAX {
                    Always
                } else {
                    When(format!("{{c}} BETWEEN {min} AND {max}"))
                }
            }
            (Reading::UInt64, "integer") => When("{c} >= 0".into()),
            (Reading::Float64, "real") => Always,
            (Reading::Float64, "integer") => {
                When(format!("{{c}} BETWEEN -{EXACT_IN_F64} AND {EXACT_IN_F64}"))
            }
            (Reading::Float32, "real" | "integer") => Content,
            (
                Reading::Decimal {
                    precision: None, ..
                },
                "integer" | "real",
            ) => Always,
            (Reading::Decimal { .. }, "integer" | "real" | "text") => Content,
            (Reading::Text { .. }, "text") => Content,
            (Reading::Json, "integer") => Always,
            (Reading::Json, "text" | "real") => Content,
            (
                Reading::Bytes {
                    exact: None,
                    max: None,
                },
                "blob",
            ) => Always,
            (Reading::Bytes { .. }, "blob") => Content,
            (Reading::Uuid, "text" | "blob") => Content,
            (Reading::Date { stored, .. } | Reading::Timestamp { stored, .. }, class) => {
                match (stored, class) {
                    (TimeStorage::Iso8601, "text") => Content,
                    (TimeStorage::JulianDay | TimeStorage::UnixEpoch, "integer" | "real") => {
                        Content
                    }
                    _ => Never,
                }
            }
            (Reading::Time | Reading::Interval, "text") => Content,
            _ => Never,
        }
    }

    /// Whether `v` fits this reading (NULL always does).
    pub fn check(&self, v: ValueRef<'_>) -> Result<(), Problem> {
        if matches!(v, ValueRef::Null) {
            return Ok(());
        }
        let mut scratch = String::new();
        match self {
            Reading::Bool => bool_of(v).map(drop),
            Reading::Int { min, max } => int_of(v, *min, *max).map(drop),
            Reading::UInt64 => uint_of(v).map(drop),
            Reading::Float64 => f64_of(v).map(drop),
            Reading::Float32 => f32_of(v).map(drop),
            Reading::Decimal { precision, scale } => {
                decimal_text(v, *precision, *scale, &mut scratch).map(drop)
            }
            Reading::Text { max_chars } => text_of(v, *max_chars).map(drop),
            Reading::Json => json_text(v, &mut scratch).map(drop),
            Reading::Bytes { exact, max } => bytes_of(v, *exact, *max).map(drop),
            Reading::Uuid => uuid_of(v).map(drop),
            Reading::Date {
                stored,
                zero_to_null,
            } => date_of(v, *stored, *zero_to_null).map(drop),
            Reading::Time => time_of(v).map(drop),
            Reading::Timestamp {
                stored,
                zoned,
                zero_to_null,
            } => timestamp_of(v, *stored, *zoned, *zero_to_null).map(drop),
            Reading::Interval => interval_of(v).map(drop),
        }
    }
}

/// INTEGER 0 or 1.
pub fn bool_of(v: ValueRef<'_>) -> Result<bool, Problem> {
    match v {
        ValueRef::Integer(0) => Ok(false),
        ValueRef::Integer(1) => Ok(true),
        ValueRef::Integer(_) => {
            Err("INTEGER value other than 0 or 1 in a column read as boolean".into())
        }
        other => Err(wrong_class(&other, "boolean")),
    }
}

/// An INTEGER within `min..=max`.
pub fn int_of(v: ValueRef<'_>, min: i64, max: i64) -> Result<i64, Problem> {
    match v {
        ValueRef::Integer(i) if (min..=max).contains(&i) => Ok(i),
        ValueRef::Integer(_) => Err(format!(
            "INTEGER value outside {min}…{max}, the range of the column's declared type"
        )),
        other => Err(wrong_class(&other, "an integer")),
    }
}

pub fn uint_of(v: ValueRef<'_>) -> Result<u64, Problem> {
    match v {
        ValueRef::Integer(i) => {
            u64::try_from(i).map_err(|_| "negative INTEGER value in an unsigned column".into())
        }
        other => Err(wrong_class(&other, "an unsigned integer")),
    }
}

/// The largest integer every smaller one of which a double holds exactly.
const EXACT_IN_F64: i64 = 1 << 53;

pub fn f64_of(v: ValueRef<'_>) -> Result<f64, Problem> {
    match v {
        ValueRef::Real(f) => Ok(f),
        // A column with NUMERIC affinity holds whole numbers as INTEGER.
        ValueRef::Integer(i) if i.unsigned_abs() <= EXACT_IN_F64.unsigned_abs() => Ok(i as f64),
        ValueRef::Integer(_) => {
            Err("INTEGER value beyond 2^53, which a double cannot hold exactly".into())
        }
        other => Err(wrong_class(&other, "a float")),
    }
}

pub fn f32_of(v: ValueRef<'_>) -> Result<f32, Problem> {
    let f = f64_of(v)?;
    #[allow(clippy::cast_possible_truncation)]
    let narrow = f as f32;
    if f64::from(narrow).to_bits() == f.to_bits() || f.is_nan() {
        Ok(narrow)
    } else {
        Err("REAL value that a single-precision float cannot hold exactly".into())
    }
}

/// A finite double as plain decimal text (no exponent): its shortest
/// representation that reads back as the same double.
pub fn plain_decimal(f: f64, out: &mut String) {
    let mut buf = ryu::Buffer::new();
    let s = buf.format_finite(f);
    let (mantissa, exp) = match s.split_once(['e', 'E']) {
        Some((m, e)) => (m, e.parse::<i32>().unwrap_or(0)),
        None => (s, 0),
    };
    let negative = mantissa.starts_with('-');
    let mantissa = mantissa.trim_start_matches('-');
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits: String = format!("{int}{frac}");
    // Position of the decimal point within `digits`.
    let point = i64::try_from(int.len()).unwrap_or(0) + i64::from(exp);
    let len = i64::try_from(digits.len()).unwrap_or(0);
    let mut text = String::new();
    if point <= 0 {
        text.push_str("0.");
        text.extend(std::iter::repeat_n(
            '0',
            usize::try_from(-point).unwrap_or(0),
        ));
        text.push_str(&digits);
    } else if point >= len {
        text.push_str(&digits);
        text.extend(std::iter::repeat_n(
            '0',
            usize::try_from(point - len).unwrap_or(0),
        ));
    } else {
        let p = usize::try_from(point).unwrap_or(0);
        text.push_str(&digits[..p]);
        text.push('.');
        text.push_str(&digits[p..]);
    }
    // Canonical: no leading zeros, no trailing fraction zeros.
    if text.contains('.') {
        let trimmed = text.trim_end_matches('0').trim_end_matches('.').len();
        text.truncate(trimmed);
    }
    let t = text.trim_start_matches('0');
    let t = if t.is_empty() || t.starts_with('.') {
        format!("0{t}")
    } else {
        t.to_string()
    };
    out.clear();
    if negative && t != "0" {
        out.push('-');
    }
    out.push_str(&t);
}

/// A decimal as text: INTEGER, REAL (shortest exact text; ±Infinity as
/// `Infinity`), or TEXT that is a plain decimal or `NaN`/`Infinity`;
/// within the declared precision and scale when there are any.
pub fn decimal_text<'v>(
    v: ValueRef<'v>,
    precision: Option<u32>,
    scale: Option<u32>,
    scratch: &'v mut String,
) -> Result<&'v str, Problem> {
    let text: &str = match v {
        ValueRef::Integer(i) => {
            scratch.clear();
            scratch.push_str(itoa::Buffer::new().format(i));
            scratch
        }
        ValueRef::Real(f) if f.is_infinite() => {
            return Ok(if f > 0.0 { "Infinity" } else { "-Infinity" });
        }
        ValueRef::Real(f) => {
            plain_decimal(f, scratch);
            scratch
        }
        ValueRef::Text(b) => {
            let s = std::str::from_utf8(b)
                .map_err(|_| "TEXT value that is not valid UTF-8 in a decimal column")?;
            if matches!(s, "NaN" | "Infinity" | "-Infinity") {
                return Ok(s);
            }
            if ferry_core::decimal::split_plain(s).is_none() {
                return Err("TEXT value that is not a decimal number in a decimal column".into());
            }
            s
        }
        other => return Err(wrong_class(&other, "a decimal")),
    };
    if let Some(p) = precision {
        let d = ferry_core::decimal::split_plain(text).ok_or("malformed decimal")?;
        let int = d.int.iter().skip_while(|&&c| c == b'0').count();
        let frac = d.frac.len() - d.frac.iter().rev().take_while(|&&c| c == b'0').count();
        let s = scale.unwrap_or(0);
        if u32::try_from(frac).unwrap_or(u32::MAX) > s
            || u32::try_from(int).unwrap_or(u32::MAX) > p.saturating_sub(s)
        {
            return Err(format!(
                "{} value with more digits than the declared numeric({p},{s}) (SQLite does not enforce it)",
                class_name(&v)
            ));
        }
    }
    Ok(text)
}

/// UTF-8 TEXT of at most `max_chars` characters.
pub fn text_of(v: ValueRef<'_>, max_chars: Option<u32>) -> Result<&str, Problem> {
    match v {
        ValueRef::Text(b) => {
            let s = std::str::from_utf8(b).map_err(|_| "TEXT value that is not valid UTF-8")?;
            if let Some(n) = max_chars {
                if s.chars().count() > usize::try_from(n).unwrap_or(usize::MAX) {
                    return Err(format!(
                        "TEXT value longer than the declared {n} characters (SQLite does not enforce it)"
                    ));
                }
            }
            Ok(s)
        }
        other => Err(wrong_class(&other, "text")),
    }
}

/// A JSON document: valid JSON TEXT, or a number held as INTEGER/REAL.
pub fn json_text<'v>(v: ValueRef<'v>, scratch: &'v mut String) -> Result<&'v str, Problem> {
    match v {
        ValueRef::Text(b) => {
            let s = std::str::from_utf8(b).map_err(|_| "TEXT value that is not valid UTF-8")?;
            serde_json::from_str::<serde::de::IgnoredAny>(s)
                .map_err(|_| "TEXT value that is not valid JSON in a JSON column")?;
            Ok(s)
        }
        ValueRef::Integer(i) => {
            scratch.clear();
            scratch.push_str(itoa::Buffer::new().format(i));
            Ok(scratch)
        }
        ValueRef::Real(f) if f.is_finite() => {
            scratch.clear();
            scratch.push_str(ryu::Buffer::new().format_finite(f));
            Ok(scratch)
        }
        other => Err(wrong_class(&other, "JSON")),
    }
}

pub fn bytes_of(v: ValueRef<'_>, exact: Option<u32>, max: Option<u32>) -> Result<&[u8], Problem> {
    match v {
        ValueRef::Blob(b) => {
            let n = u32::try_from(b.len()).unwrap_or(u32::MAX);
            if exact.is_some_and(|e| e != n) {
                return Err("BLOB value whose length is not the declared binary length".into());
            }
            if max.is_some_and(|m| n > m) {
                return Err("BLOB value longer than the declared length".into());
            }
            Ok(b)
        }
        other => Err(wrong_class(&other, "bytes")),
    }
}

pub fn uuid_of(v: ValueRef<'_>) -> Result<[u8; 16], Problem> {
    match v {
        ValueRef::Blob(b) => <[u8; 16]>::try_from(b)
            .map_err(|_| "BLOB value that is not 16 bytes in a uuid column".into()),
        ValueRef::Text(b) => std::str::from_utf8(b)
            .ok()
            .filter(|s| s.len() == 36)
            .and_then(ferry_core::hex::parse_uuid)
            .ok_or_else(|| "TEXT value that is not a UUID in a uuid column".into()),
        other => Err(wrong_class(&other, "a uuid")),
    }
}

/// A date as days since 1970-01-01; `None` for a zero date made NULL.
pub fn date_of(
    v: ValueRef<'_>,
    stored: TimeStorage,
    zero_to_null: bool,
) -> Result<Option<i32>, Problem> {
    match (stored, v) {
        (TimeStorage::Iso8601, ValueRef::Text(b)) => {
            let s = std::str::from_utf8(b).unwrap_or("");
            match time::parse_date(s) {
                Some(d) => Ok(Some(d)),
                None if zero_to_null && time::is_zero_date(s) => Ok(None),
                None => Err(format!(
                    "TEXT value that is not a YYYY-MM-DD date{}",
                    if time::is_zero_date(s) {
                        " (a zero or partial date: zero_date_to_null loads it as NULL)"
                    } else {
                        ""
                    }
                )),
            }
        }
        (TimeStorage::Iso8601, other) => Err(stored_as_problem(&other, stored, "date")),
        (_, other) => {
            let ms = time::ms_of_number(other, stored)
                .ok_or_else(|| stored_as_problem(&other, stored, "date"))?;
            if ms % time::MS_PER_DAY != 0 {
                return Err(format!(
                    "{} value that is not midnight in a column read as a {} date",
                    class_name(&other),
                    stored.name()
                ));
            }
            i32::try_from(ms / time::MS_PER_DAY)
                .map(Some)
                .map_err(|_| "date out of range".into())
        }
    }
}

fn stored_as_problem(v: &ValueRef<'_>, stored: TimeStorage, what: &str) -> Problem {
    let form = match stored {
        TimeStorage::Iso8601 => "ISO 8601 text",
        TimeStorage::JulianDay => "a Julian day number",
        TimeStorage::UnixEpoch => "Unix-epoch seconds",
    };
    format!(
        "{} value in a {what} column stored as {form} ({}; another form needs a stored_as override)",
        class_name(v),
        stored.name()
    )
}

/// A time of day in µs (24:00:00 included).
pub fn time_of(v: ValueRef<'_>) -> Result<i64, Problem> {
    match v {
        ValueRef::Text(b) => std::str::from_utf8(b)
            .ok()
            .and_then(time::parse_time)
            .ok_or_else(|| "TEXT value that is not an HH:MM:SS time".into()),
        other => Err(wrong_class(&other, "a time of day")),
    }
}

/// An instant or a naive timestamp in µs since the epoch; `None` for a
/// zero date made NULL.
pub fn timestamp_of(
    v: ValueRef<'_>,
    stored: TimeStorage,
    zoned: bool,
    zero_to_null: bool,
) -> Result<Option<i64>, Problem> {
    match (stored, v) {
        (TimeStorage::Iso8601, ValueRef::Text(b)) => {
            let s = std::str::from_utf8(b).unwrap_or("");
            match time::parse_timestamp(s, zoned) {
                Ok(us) => Ok(Some(us)),
                Err(_) if zero_to_null && time::is_zero_date(s) => Ok(None),
                Err(p) => Err(p),
            }
        }
        (TimeStorage::Iso8601, other) => Err(stored_as_problem(&other, stored, "timestamp")),
        (_, other) => time::ms_of_number(other, stored)
            .map(|ms| Some(ms * 1000))
            .ok_or_else(|| stored_as_problem(&other, stored, "timestamp")),
    }
}

/// ISO 8601 duration text.
pub fn interval_of(v: ValueRef<'_>) -> Result<IntervalMonthDayNano, Problem> {
    match v {
        ValueRef::Text(b) => std::str::from_utf8(b)
            .ok()
            .and_then(ferry_core::interval::parse_iso8601)
            .map(|(m, d, n)| IntervalMonthDayNano::new(m, d, n))
            .ok_or_else(|| "TEXT value that is not an ISO 8601 duration".into()),
        other => Err(wrong_class(&other, "an interval")),
    }
}

mod builder;

pub use builder::Decoder;

#[cfg(test)]
mod tests;
