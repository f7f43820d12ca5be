//! Binary-protocol values → Arrow builders.
//!
//! A [`Decoder`] is chosen once per column from the plan's logical type (which
//! fixes the Arrow type through [`arrow_type`](ferry_core::arrow::arrow_type))
//! and then fed every value of that column; no per-value type decisions.
//! The value-level functions (`date_days`, `duration_micros`, `bit_text`…)
//! work on single driver values so they can be tested without a server.
//!
//! A value the hub cannot hold is reported as a [`Problem`]: a description of
//! the value's class, never the value. The reader adds table, column and key.

use std::sync::Arc;

use arrow_array::builder::{
    ArrayBuilder, BinaryBuilder, BooleanBuilder, Date32Builder, DurationMicrosecondBuilder,
    FixedSizeBinaryBuilder, Float32Builder, Float64Builder, Int16Builder, Int32Builder,
    Int64Builder, Int8Builder, ListBuilder, StringBuilder, TimestampMicrosecondBuilder,
    UInt16Builder, UInt32Builder, UInt64Builder, UInt8Builder,
};
use arrow_array::ArrayRef;
use arrow_schema::{DataType, Field};
use chrono::NaiveDate;
use ferry_core::{ColumnPlan, Conversion, LogicalType};

use crate::charset::Charset;
use mysql_async::Value;

/// What is wrong with a value, in words that never include the value.
pub type Problem = String;

pub(crate) const MICROS_PER_SECOND: i64 = 1_000_000;
pub(crate) const MICROS_PER_DAY: i64 = 86_400 * MICROS_PER_SECOND;
/// `NaiveDate::num_days_from_ce()` of 1970-01-01.
pub(crate) const UNIX_EPOCH_DAYS_FROM_CE: i32 = 719_163;

/// One column's decoder: the Arrow builder for the column's logical type and
/// how MySQL values become its elements.
pub enum Decoder {
    /// `tinyint(1)` as boolean: strictly 0 or 1.
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
    /// DECIMAL as its canonical text.
    Decimal(StringBuilder),
    /// char, varchar, text tiers, enum labels, JSON documents: UTF-8 text.
    Text(StringBuilder),
    Binary(BinaryBuilder),
    Date {
        builder: Date32Builder,
        zero_to_null: bool,
    },
    /// DATETIME (naive) or TIMESTAMP (UTC; the session zone is +00:00): µs
    /// since the epoch. The builder carries the zone for `TimestampTz`.
    Timestamp {
        builder: TimestampMicrosecondBuilder,
        zero_to_null: bool,
    },
    /// TIME as a signed duration.
    Duration(DurationMicrosecondBuilder),
    Year(Int16Builder),
    /// BIT(n) as exactly `width` characters of `0`/`1`.
    Bit {
        builder: StringBuilder,
        width: u32,
    },
    /// SET as the list of its member labels.
    Set(ListBuilder<StringBuilder>),
    /// MariaDB UUID: its text form (or 16 raw bytes) as 16 bytes.
    Uuid(FixedSizeBinaryBuilder),
    /// A spatial value in MySQL's internal format → canonical EWKB.
    Geometry(BinaryBuilder, Vec<u8>),
    /// Text in a legacy character set, read as its raw bytes and decoded by
    /// ferry (see [`crate::charset`]); `set` splits it into SET labels.
    RawText {
        builder: StringBuilder,
        charset: Arc<Charset>,
        scratch: String,
    },
    RawSet {
        builder: ListBuilder<StringBuilder>,
        charset: Arc<Charset>,
        scratch: String,
    },
    /// ENUM read by its index (see [`reads_enum_index`]): the label, or the
    /// error value (index 0) as the column's conversion says.
    Enum {
        builder: StringBuilder,
        labels: Vec<String>,
        error: EnumError,
    },
}

/// What becomes of MySQL's enum error value (index 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnumError {
    Refuse,
    Null,
    EmptyLabel,
}

/// Whether `col` is a MySQL ENUM read by its index (`col + 0`) rather than
/// its text: the text of the error value (index 0) is `''`, the same as a
/// declared label `''`, so only the index tells them apart. The reader's
/// select list and [`Decoder::for_column`] both ask this.
pub fn reads_enum_index(col: &ColumnPlan) -> bool {
    col.raw.name == "enum"
        && matches!(
            col.logical,
            LogicalType::Enum { .. }
                | LogicalType::Char { .. }
                | LogicalType::Varchar { .. }
                | LogicalType::Text { .. }
        )
}

/// Whether `col` is text in a character set ferry decodes itself (see
/// [`crate::charset`]): the reader selects its raw bytes, and the decoder
/// takes the character set ([`Decoder::with_charset`]).
pub fn reads_raw_text(col: &ColumnPlan) -> bool {
    use LogicalType as L;
    col.raw
        .charset
        .as_deref()
        .is_some_and(crate::charset::reads_raw)
        && !reads_enum_index(col)
        && matches!(
            col.logical,
            L::Char { .. }
                | L::Varchar { .. }
                | L::Text { .. }
                | L::Enum { .. }
                | L::Json
                | L::Jsonb
                | L::Set { .. }
        )
}

/// What the reader says of an enum error value it may not carry.
pub const ENUM_ERROR_REFUSED: &str = "MySQL enum error value '' (index 0, stored by a \
    non-strict server for an invalid value); choose enum_error_to_null or \
    enum_error_to_empty_label";

impl Decoder {
    /// Chooses the decoder for a column. `Err` is the reason the logical type
    /// cannot come out of a MySQL column.
    pub fn for_column(col: &ColumnPlan, capacity: usize) -> Result<Decoder, String> {
        use LogicalType as L;
        let zero_to_null = col.conversion == Conversion::ZeroDateToNull;
        if zero_to_null && !col.nullable {
            return Err(
                "zero_date_to_null needs a nullable column (the column is NOT NULL)".to_string(),
            );
        }
        if reads_enum_index(col) {
            let error = match col.conversion {
                Conversion::EnumErrorToNull if !col.nullable => {
                    return Err(
                        "enum_error_to_null needs a nullable column (the column is NOT NULL)"
                            .to_string(),
                    )
                }
                Conversion::EnumErrorToNull => EnumError::Null,
                Conversion::EnumErrorToEmptyLabel => EnumError::EmptyLabel,
                _ => EnumError::Refuse,
            };
            return Ok(Decoder::Enum {
                builder: StringBuilder::new(),
                labels: col.raw.values.clone(),
                error,
            });
        }
        Ok(match &col.logical {
            L::Bool => Decoder::Bool(BooleanBuilder::with_capacity(capacity)),
            L::Int8 => Decoder::Int8(Int8Builder::with_capacity(capacity)),
            L::Int16 => Decoder::Int16(Int16Builder::with_capacity(capacity)),
            L::Int32 => Decoder::Int32(Int32Builder::with_capacity(capacity)),
            L::Int64 => Decoder::Int64(Int64Builder::with_capacity(capacity)),
            L::UInt8 => Decoder::UInt8(UInt8Builder::with_capacity(capacity)),
            L::UInt16 => Decoder::UInt16(UInt16Builder::with_capacity(capacity)),
            L::UInt32 => Decoder::UInt32(UInt32Builder::with_capacity(capacity)),
            L::UInt64 => Decoder::UInt64(UInt64Builder::with_capacity(capacity)),
            L::Float32 => Decoder::Float32(Float32Builder::with_capacity(capacity)),
            L::Float64 => Decoder::Float64(Float64Builder::with_capacity(capacity)),
            L::Decimal { .. } | L::Money => Decoder::Decimal(StringBuilder::new()),
            L::Char { .. }
            | L::Varchar { .. }
            | L::Text { .. }
            | L::Enum { .. }
            | L::Json
            | L::Jsonb
            | L::Inet => Decoder::Text(StringBuilder::new()),
            L::Uuid => Decoder::Uuid(FixedSizeBinaryBuilder::with_capacity(capacity, 16)),
            L::Binary { .. } | L::VarBinary { .. } => Decoder::Binary(BinaryBuilder::new()),
            L::Geometry { .. } => Decoder::Geometry(BinaryBuilder::new(), Vec::new()),
            L::Date => Decoder::Date {
                builder: Date32Builder::with_capacity(capacity),
                zero_to_null,
            },
            L::Timestamp { .. } => Decoder::Timestamp {
                builder: TimestampMicrosecondBuilder::with_capacity(capacity),
                zero_to_null,
            },
            L::TimestampTz { .. } => Decoder::Timestamp {
                builder: TimestampMicrosecondBuilder::with_capacity(capacity).with_timezone("UTC"),
                zero_to_null,
            },
            L::Duration { .. } => {
                Decoder::Duration(DurationMicrosecondBuilder::with_capacity(capacity))
            }
            L::Year => Decoder::Year(Int16Builder::with_capacity(capacity)),
            L::Bit {
                length: Some(width),
                varying: false,
            } if (1..=64).contains(width) => Decoder::Bit {
                builder: StringBuilder::new(),
                width: *width,
            },
            L::Set { .. } => Decoder::Set(
                ListBuilder::new(StringBuilder::new()).with_field(Arc::new(Field::new(
                    "item",
                    DataType::Utf8,
                    false,
                ))),
            ),
            other => {
                return Err(format!(
                    "a MySQL column cannot be read as {other} (source type {})",
                    col.source_type
                ))
            }
        })
    }

    /// This decoder reading raw bytes in `charset` (for a column of which
    /// [`reads_raw_text`] holds).
    pub fn with_charset(self, charset: Arc<Charset>) -> Decoder {
        match self {
            Decoder::Text(builder) => Decoder::RawText {
                builder,
                charset,
                scratch: String::new(),
            },
            Decoder::Set(builder) => Decoder::RawSet {
                builder,
                charset,
                scratch: String::new(),
            },
            other => other,
        }
    }

    /// Appends one value. On `Err` a NULL was appended in its place so the
    /// builders stay aligned and the row's key can still be rendered.
    pub fn push(&mut self, v: Value) -> Result<(), Problem> {
        let res = self.push_inner(v);
        if res.is_err() {
            self.append_null();
        }
        res
    }

    fn push_inner(&mut self, v: Value) -> Result<(), Problem> {
        if matches!(v, Value::NULL) {
            self.append_null();
            return Ok(());
        }
        match self {
            Decoder::Bool(b) => b.append_value(bool_of(&v)?),
            Decoder::Int8(b) => b.append_value(int_as(&v, "tinyint")?),
            Decoder::Int16(b) => b.append_value(int_as(&v, "smallint")?),
            Decoder::Int32(b) => b.append_value(int_as(&v, "int")?),
            Decoder::Int64(b) => b.append_value(int_as(&v, "bigint")?),
            Decoder::UInt8(b) => b.append_value(int_as(&v, "tinyint unsigned")?),
            Decoder::UInt16(b) => b.append_value(int_as(&v, "smallint unsigned")?),
            Decoder::UInt32(b) => b.append_value(int_as(&v, "int unsigned")?),
            Decoder::UInt64(b) => b.append_value(int_as(&v, "bigint unsigned")?),
            Decoder::Float32(b) => b.append_value(f32_of(&v)?),
            Decoder::Float64(b) => b.append_value(f64_of(&v)?),
            Decoder::Decimal(b) => b.append_value(decimal_text(&v)?),
            Decoder::Text(b) => b.append_value(utf8_of(&v)?),
            Decoder::Binary(b) => match &v {
                Value::Bytes(bytes) => b.append_value(bytes),
                _ => return Err(unexpected(&v, "binary")),
            },
            Decoder::Date {
                builder,
                zero_to_null,
            } => match &v {
                Value::Date(y, m, d, ..) if is_zero_or_partial(*y, *m, *d) => {
                    if *zero_to_null {
                        builder.append_null()
                    } else {
                        builder.append_value(zero_date_days(*y, *m, *d)?)
                    }
                }
                Value::Date(y, m, d, ..) => builder.append_value(date_days(*y, *m, *d)?),
                _ => return Err(unexpected(&v, "date")),
            },
            Decoder::Timestamp {
                builder,
                zero_to_null,
            } => match &v {
                Value::Date(y, m, d, ..) if is_zero_or_partial(*y, *m, *d) && *zero_to_null => {
                    builder.append_null()
                }
                Value::Date(..) => builder.append_value(datetime_micros(&v)?),
                _ => return Err(unexpected(&v, "datetime")),
            },
            Decoder::Duration(b) => match v {
                Value::Time(neg, days, h, m, s, us) => {
                    b.append_value(duration_micros(neg, days, h, m, s, us))
                }
                _ => return Err(unexpected(&v, "time")),
            },
            Decoder::Year(b) => b.append_value(int_as(&v, "year")?),
            Decoder::Bit { builder, width } => match &v {
                Value::Bytes(bytes) => builder.append_value(bit_text(bytes, *width)?),
                Value::Int(_) | Value::UInt(_) => {
                    let n: u64 = int_as(&v, "bit")?;
                    builder.append_value(bit_text(&n.to_be_bytes(), *width)?)
                }
                _ => return Err(unexpected(&v, "bit")),
            },
            Decoder::Set(b) => {
                let text = utf8_of(&v)?;
                for label in set_labels(text) {
                    b.values().append_value(label);
                }
                b.append(true);
            }
            Decoder::Uuid(b) => b
                .append_value(uuid_bytes(&v)?)
                .map_err(|_| Problem::from("uuid is not 16 bytes"))?,
            Decoder::Geometry(b, scratch) => match &v {
                Value::Bytes(bytes) => {
                    scratch.clear();
                    ferry_core::geometry::from_mysql(bytes, scratch)?;
                    b.append_value(scratch.as_slice());
                }
                _ => return Err(unexpected(&v, "geometry")),
            },
            Decoder::RawText {
                builder,
                charset,
                scratch,
            } => {
                scratch.clear();
                charset.decode_into(raw_bytes(&v)?, scratch)?;
                builder.append_value(&*scratch);
            }
            Decoder::RawSet {
                builder,
                charset,
                scratch,
            } => {
                scratch.clear();
                charset.decode_into(raw_bytes(&v)?, scratch)?;
                for label in set_labels(scratch) {
                    builder.values().append_value(label);
                }
                builder.append(true);
            }
            Decoder::Enum {
                builder,
                labels,
                error,
            } => {
                let index: usize = int_as(&v, "enum")?;
                match (index, *error) {
                    (0, EnumError::Refuse) => return Err(ENUM_ERROR_REFUSED.into()),
                    (0, EnumError::Null) => builder.append_null(),
                    (0, EnumError::EmptyLabel) => builder.append_value(""),
                    (i, _) => match labels.get(i - 1) {
                        Some(label) => builder.append_value(label),
                        None => return Err("enum index beyond the column's labels".into()),
                    },
                }
            }
        }
        Ok(())
    }

    pub fn append_null(&mut self) {
        match self {
            Decoder::Bool(b) => b.append_null(),
            Decoder::Int8(b) => b.append_null(),
            Decoder::Int16(b) | Decoder::Year(b) => b.append_null(),
            Decoder::Int32(b) => b.append_null(),
            Decoder::Int64(b) => b.append_null(),
            Decoder::UInt8(b) => b.append_null(),
            Decoder::UInt16(b) => b.append_null(),
            Decoder::UInt32(b) => b.append_null(),
            Decoder::UInt64(b) => b.append_null(),
            Decoder::Float32(b) => b.append_null(),
            Decoder::Float64(b) => b.append_null(),
            Decoder::Decimal(b) | Decoder::Text(b) => b.append_null(),
            Decoder::Bit { builder, .. } => builder.append_null(),
            Decoder::Binary(b) | Decoder::Geometry(b, _) => b.append_null(),
            Decoder::Date { builder, .. } => builder.append_null(),
            Decoder::Timestamp { builder, .. } => builder.append_null(),
            Decoder::Duration(b) => b.append_null(),
            Decoder::Set(b) => b.append_null(),
            Decoder::Uuid(b) => b.append_null(),
            Decoder::Enum { builder, .. } | Decoder::RawText { builder, .. } => {
                builder.append_null()
            }
            Decoder::RawSet { builder, .. } => builder.append_null(),
        }
    }

    /// The array of everything appended since the last call; the builder is reset.
    pub fn finish(&mut self) -> ArrayRef {
        match self {
            Decoder::Bool(b) => Arc::new(b.finish()),
            Decoder::Int8(b) => Arc::new(b.finish()),
            Decoder::Int16(b) | Decoder::Year(b) => Arc::new(b.finish()),
            Decoder::Int32(b) => Arc::new(b.finish()),
            Decoder::Int64(b) => Arc::new(b.finish()),
            Decoder::UInt8(b) => Arc::new(b.finish()),
            Decoder::UInt16(b) => Arc::new(b.finish()),
            Decoder::UInt32(b) => Arc::new(b.finish()),
            Decoder::UInt64(b) => Arc::new(b.finish()),
            Decoder::Float32(b) => Arc::new(b.finish()),
            Decoder::Float64(b) => Arc::new(b.finish()),
            Decoder::Decimal(b) | Decoder::Text(b) => Arc::new(b.finish()),
            Decoder::Bit { builder, .. } => Arc::new(builder.finish()),
            Decoder::Binary(b) | Decoder::Geometry(b, _) => Arc::new(b.finish()),
            Decoder::Date { builder, .. } => Arc::new(builder.finish()),
            Decoder::Timestamp { builder, .. } => Arc::new(builder.finish()),
            Decoder::Duration(b) => Arc::new(b.finish()),
            Decoder::Set(b) => Arc::new(b.finish()),
            Decoder::Uuid(b) => Arc::new(b.finish()),
            Decoder::Enum { builder, .. } | Decoder::RawText { builder, .. } => {
                Arc::new(builder.finish())
            }
            Decoder::RawSet { builder, .. } => Arc::new(builder.finish()),
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Decoder::Bool(b) => b.len(),
            Decoder::Int8(b) => b.len(),
            Decoder::Int16(b) | Decoder::Year(b) => b.len(),
            Decoder::Int32(b) => b.len(),
            Decoder::Int64(b) => b.len(),
            Decoder::UInt8(b) => b.len(),
            Decoder::UInt16(b) => b.len(),
            Decoder::UInt32(b) => b.len(),
            Decoder::UInt64(b) => b.len(),
            Decoder::Float32(b) => b.len(),
            Decoder::Float64(b) => b.len(),
            Decoder::Decimal(b) | Decoder::Text(b) => b.len(),
            Decoder::Bit { builder, .. } => builder.len(),
            Decoder::Binary(b) | Decoder::Geometry(b, _) => b.len(),
            Decoder::Date { builder, .. } => builder.len(),
            Decoder::Timestamp { builder, .. } => builder.len(),
            Decoder::Duration(b) => b.len(),
            Decoder::Set(b) => b.len(),
            Decoder::Uuid(b) => b.len(),
            Decoder::Enum { builder, .. } | Decoder::RawText { builder, .. } => builder.len(),
            Decoder::RawSet { builder, .. } => builder.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn unexpected(v: &Value, column: &str) -> Problem {
    let wire = match v {
        Value::NULL => "NULL",
        Value::Bytes(_) => "bytes",
        Value::Int(_) => "signed integer",
        Value::UInt(_) => "unsigned integer",
        Value::Float(_) => "float",
        Value::Double(_) => "double",
        Value::Date(..) => "date",
        Value::Time(..) => "time",
    };
    format!("unexpected {wire} value from the server for a {column} column")
}

/// A `tinyint(1)` boolean: strictly 0 or 1.
pub fn bool_of(v: &Value) -> Result<bool, Problem> {
    let n: i64 = int_as(v, "tinyint(1)")?;
    match n {
        0 => Ok(false),
        1 => Ok(true),
        _ => Err(
            "value other than 0 or 1 in a tinyint(1) boolean column (map it to int8 to keep it)"
                .to_string(),
        ),
    }
}

/// An integer value converted exactly into `T`.
pub fn int_as<T>(v: &Value, column: &str) -> Result<T, Problem>
where
    T: TryFrom<i64> + TryFrom<u64>,
{
    let out = match v {
        Value::Int(i) => T::try_from(*i).ok(),
        Value::UInt(u) => T::try_from(*u).ok(),
        Value::Bytes(b) => {
            let s = std::str::from_utf8(b).map_err(|_| unexpected(v, column))?;
            if let Ok(i) = s.parse::<i64>() {
                T::try_from(i).ok()
            } else {
                s.parse::<u64>().ok().and_then(|u| T::try_from(u).ok())
            }
        }
        _ => return Err(unexpected(v, column)),
    };
    out.ok_or_else(|| format!("integer out of range for the {column} column's type"))
}

pub fn f32_of(v: &Value) -> Result<f32, Problem> {
    match v {
        Value::Float(f) => Ok(*f),
        Value::Bytes(b) => std::str::from_utf8(b)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| unexpected(v, "float")),
        _ => Err(unexpected(v, "float")),
    }
}

pub fn f64_of(v: &Value) -> Result<f64, Problem> {
    match v {
        Value::Double(f) => Ok(*f),
        Value::Float(f) => Ok(f64::from(*f)),
        Value::Bytes(b) => std::str::from_utf8(b)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| unexpected(v, "double")),
        _ => Err(unexpected(v, "double")),
    }
}

/// DECIMAL arrives as text (`-12.340`); it is checked to be `-?digits[.digits]`.
pub fn decimal_text(v: &Value) -> Result<&str, Problem> {
    let Value::Bytes(b) = v else {
        return Err(unexpected(v, "decimal"));
    };
    let s = std::str::from_utf8(b).map_err(|_| unexpected(v, "decimal"))?;
    if is_canonical_decimal(s) {
        Ok(s)
    } else {
        Err("malformed decimal text from the server".to_string())
    }
}

/// `-?digits[.digits]`: the plain decimal form with digits on both sides of
/// any point and no `+`, as MySQL sends DECIMAL.
pub fn is_canonical_decimal(s: &str) -> bool {
    ferry_core::decimal::split_plain(s).is_some_and(|d| {
        let bare_point = d.point && d.frac.is_empty();
        !(d.plus || d.int.is_empty() || bare_point)
    })
}

fn raw_bytes(v: &Value) -> Result<&[u8], Problem> {
    match v {
        Value::Bytes(b) => Ok(b),
        _ => Err(unexpected(v, "text")),
    }
}

pub fn utf8_of(v: &Value) -> Result<&str, Problem> {
    match v {
        Value::Bytes(b) => std::str::from_utf8(b)
            .map_err(|_| "text that is not valid UTF-8 (check the column's character set)".into()),
        _ => Err(unexpected(v, "text")),
    }
}

/// A MariaDB UUID value: the server sends its text form; 16 raw bytes (a
/// BINARY(16) overridden to uuid) are taken as they are.
pub fn uuid_bytes(v: &Value) -> Result<[u8; 16], Problem> {
    match v {
        Value::Bytes(b) if b.len() == 16 => {
            Ok(<[u8; 16]>::try_from(b.as_slice()).unwrap_or_default())
        }
        Value::Bytes(_) => {
            ferry_core::hex::parse_uuid(utf8_of(v)?).ok_or_else(|| "text that is not a UUID".into())
        }
        _ => Err(unexpected(v, "uuid")),
    }
}

use ferry_core::zerodate::is_zero_or_partial;

/// Days since 1970-01-01 of a calendar date. Zero dates (`0000-00-00`) and
/// partial dates (`2016-07-00`, `2025-00-15`) are not calendar dates: the
/// decoder carries them as [`zero_date_days`] (or NULL when the column's
/// conversion says so), so here they are refused.
pub fn date_days(y: u16, m: u8, d: u8) -> Result<i32, Problem> {
    if is_zero_or_partial(y, m, d) {
        return Err("zero or partial date (use zero_date_to_null to load it as NULL)".into());
    }
    let date = NaiveDate::from_ymd_opt(i32::from(y), u32::from(m), u32::from(d))
        .ok_or_else(|| "invalid calendar date from the server".to_string())?;
    Ok(date.num_days_from_ce() - UNIX_EPOCH_DAYS_FROM_CE)
}

/// The hub's value for a zero or partial date (see [`ferry_core::zerodate`]).
pub fn zero_date_days(y: u16, m: u8, d: u8) -> Result<i32, Problem> {
    ferry_core::zerodate::days(y, m, d).ok_or_else(|| "invalid date from the server".into())
}

use chrono::Datelike as _;

/// A DATETIME/TIMESTAMP value as µs since the epoch (naive, or UTC); a zero
/// or partial date as the hub's reserved value for it.
pub fn datetime_micros(v: &Value) -> Result<i64, Problem> {
    let Value::Date(y, mo, d, h, mi, s, us) = *v else {
        return Err(unexpected(v, "datetime"));
    };
    if h > 23 || mi > 59 || s > 59 || us > 999_999 {
        return Err("invalid time of day from the server".into());
    }
    let time = (i64::from(h) * 3600 + i64::from(mi) * 60 + i64::from(s)) * MICROS_PER_SECOND
        + i64::from(us);
    if is_zero_or_partial(y, mo, d) {
        return ferry_core::zerodate::micros(y, mo, d, time)
            .ok_or_else(|| "invalid date from the server".into());
    }
    Ok(i64::from(date_days(y, mo, d)?) * MICROS_PER_DAY + time)
}

/// A TIME value (sign, days, h, m, s, µs) as signed µs.
pub fn duration_micros(neg: bool, days: u32, h: u8, m: u8, s: u8, us: u32) -> i64 {
    let hours = i64::from(days) * 24 + i64::from(h);
    let total =
        (hours * 3600 + i64::from(m) * 60 + i64::from(s)) * MICROS_PER_SECOND + i64::from(us);
    if neg {
        -total
    } else {
        total
    }
}

/// BIT(width) bytes (big-endian, `ceil(width/8)` of them) as exactly `width`
/// characters of `0`/`1`, most significant first.
pub fn bit_text(bytes: &[u8], width: u32) -> Result<String, Problem> {
    let width = usize::try_from(width).map_err(|_| "bit width too large".to_string())?;
    let total_bits = bytes.len() * 8;
    let mut out = String::with_capacity(width);
    // Bits above `width` must be zero, or the value does not fit the column.
    for i in (0..total_bits.max(width)).rev() {
        let bit = if i < total_bits {
            let byte = bytes[bytes.len() - 1 - i / 8];
            (byte >> (i % 8)) & 1
        } else {
            0
        };
        if i >= width {
            if bit != 0 {
                return Err("bit value wider than its column".into());
            }
        } else {
            out.push(if bit == 1 { '1' } else { '0' });
        }
    }
    Ok(out)
}

/// SET text `a,b` → labels; the empty string is the empty set.
pub fn set_labels(text: &str) -> impl Iterator<Item = &str> {
    text.split(',').filter(move |_| !text.is_empty())
}

#[cfg(test)]
pub(crate) mod tests;
