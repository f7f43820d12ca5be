//! Arrow batches → tiberius values for the TDS bulk load.
//!
//! Each column's [`Encoder`] is chosen once per table from the Arrow type
//! and the *actual* target column (`sys.columns` of the target; users may
//! override the DDL). The bulk load itself never converts: every value
//! SQL Server would round, truncate or pad is refused here with a problem
//! that names its class, never the value. Two tiberius behaviours are
//! handled here rather than trusted:
//! - a decimal is always sent at exactly the column's scale (tiberius
//!   rescales a value of another scale by rounding half away from zero);
//! - `datetime2`, `time` and `datetimeoffset` values are sent at the
//!   column's scale (tiberius rescales `datetime2` through an `f64`), and
//!   `datetime` as its own ticks (tiberius turns a `datetime2` into
//!   `datetime` by truncating to 1/300 s).
//!
//! A batch is encoded column by column (one downcast per column and batch)
//! into `ColumnData` vectors, which the sink zips into rows.

use std::borrow::Cow;

use arrow_array::cast::AsArray;
use arrow_array::types::*;
use arrow_array::Array;
use arrow_schema::{DataType, TimeUnit};
use ferry_core::{ColumnPlan, Conversion, LogicalType};
use tiberius::time::{Date, DateTime, DateTime2, DateTimeOffset, SmallDateTime, Time};
use tiberius::xml::XmlData;
use tiberius::{ColumnData, Uuid};

use crate::value::{self, Problem};

/// A target column as `sys.columns` describes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TargetColumn {
    pub name: String,
    /// The base type's `sys.types` name, lower case (`nvarchar`, `timestamp`).
    pub type_name: String,
    /// `max_length` in bytes; -1 for `(max)`.
    pub max_length: i16,
    pub precision: u8,
    pub scale: u8,
    pub identity: bool,
    /// Computed columns and `rowversion` cannot be loaded.
    pub computed: bool,
}

impl TargetColumn {
    /// The declaration, for messages (`nvarchar(40)`, `decimal(10,2)`).
    pub fn display(&self) -> String {
        let t = &self.type_name;
        match t.as_str() {
            "char" | "varchar" | "binary" | "varbinary" => match self.max_length {
                -1 => format!("{t}(max)"),
                n => format!("{t}({n})"),
            },
            "nchar" | "nvarchar" => match self.max_length {
                -1 => format!("{t}(max)"),
                n => format!("{t}({})", n / 2),
            },
            "decimal" | "numeric" => format!("{t}({},{})", self.precision, self.scale),
            "time" | "datetime2" | "datetimeoffset" => format!("{t}({})", self.scale),
            _ => t.clone(),
        }
    }
}

/// The column a type in DDL declares (`nvarchar(40) COLLATE …`,
/// `decimal(10,2)`, `datetime2(6)`), as `sys.columns` would describe it
/// once created: what the writer check uses for a table not created yet.
pub fn target_from_ddl(name: &str, ddl: &str) -> TargetColumn {
    let lower = ddl.trim().to_ascii_lowercase();
    let type_name = lower.split(['(', ' ']).next().unwrap_or("").to_string();
    let args: Vec<&str> = lower
        .find('(')
        .and_then(|o| lower[o + 1..].split(')').next())
        .map(|a| a.split(',').map(str::trim).collect())
        .unwrap_or_default();
    let num = |i: usize| args.get(i).and_then(|a| a.parse::<i64>().ok());
    let is_max = args.first() == Some(&"max");
    let mut t = TargetColumn {
        name: name.to_string(),
        type_name: type_name.clone(),
        ..TargetColumn::default()
    };
    let byte_len = |n: Option<i64>, per: i64| -> i16 {
        if is_max {
            -1
        } else {
            i16::try_from(n.unwrap_or(1) * per).unwrap_or(i16::MAX)
        }
    };
    match type_name.as_str() {
        "nchar" | "nvarchar" => t.max_length = byte_len(num(0), 2),
        "char" | "varchar" | "binary" | "varbinary" => t.max_length = byte_len(num(0), 1),
        "decimal" | "numeric" => {
            t.precision = num(0).and_then(|p| u8::try_from(p).ok()).unwrap_or(18);
            t.scale = num(1).and_then(|s| u8::try_from(s).ok()).unwrap_or(0);
        }
        "time" | "datetime2" | "datetimeoffset" => {
            t.scale = num(0).and_then(|s| u8::try_from(s).ok()).unwrap_or(7);
        }
        "datetime" => t.scale = 3,
        "uniqueidentifier" => t.max_length = 16,
        "text" | "ntext" | "image" | "xml" => t.max_length = -1,
        "timestamp" | "rowversion" => t.computed = true,
        _ => {}
    }
    t
}

/// Why tiberius cannot bulk-load a column of this declaration, if it
/// cannot. Its `INSERT BULK` statement names each column's type from the
/// metadata it reads: `nchar`/`nvarchar` with their length in *bytes*
/// (twice the declared characters; past 4000 bytes it writes `(max)`), and
/// `time` / `datetimeoffset` without their scale (the server reads `(7)`).
/// A declaration that then disagrees with the rows' own metadata is refused
/// by the server ("invalid column type / attribute from bcp client"); such
/// columns are refused here, before any row, with what to do instead. The
/// tables ferry creates avoid them (`mappings/mssql.toml`).
pub fn bulk_declaration_problem(target: &TargetColumn) -> Option<String> {
    match target.type_name.as_str() {
        "nchar" | "nvarchar" if target.max_length > 4000 => Some(format!(
            "{}: the bulk load's driver (tiberius) declares it with its byte length, past \
             nvarchar's 4000; load into nvarchar(2000) or less, or nvarchar(max)",
            target.display()
        )),
        "time" | "datetimeoffset" if target.scale != 7 => Some(format!(
            "{}: the bulk load's driver (tiberius) declares it without a scale, which SQL \
             Server reads as ({}7); load into a column of scale 7",
            target.display(),
            target.type_name
        )),
        _ => None,
    }
}

/// Which integer type a column is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntKind {
    TinyInt,
    SmallInt,
    Int,
    BigInt,
    Bit,
}

impl IntKind {
    fn of(type_name: &str) -> Option<IntKind> {
        Some(match type_name {
            "tinyint" => IntKind::TinyInt,
            "smallint" => IntKind::SmallInt,
            "int" => IntKind::Int,
            "bigint" => IntKind::BigInt,
            _ => return None,
        })
    }

    fn range(self) -> (i128, i128) {
        match self {
            IntKind::TinyInt => (0, 255),
            IntKind::SmallInt => (i128::from(i16::MIN), i128::from(i16::MAX)),
            IntKind::Int => (i128::from(i32::MIN), i128::from(i32::MAX)),
            IntKind::BigInt => (i128::from(i64::MIN), i128::from(i64::MAX)),
            IntKind::Bit => (0, 1),
        }
    }

    fn value(self, n: i128) -> ColumnData<'static> {
        // In range: checked by the caller against `range()`.
        match self {
            IntKind::TinyInt => ColumnData::U8(u8::try_from(n).ok()),
            IntKind::SmallInt => ColumnData::I16(i16::try_from(n).ok()),
            IntKind::Int => ColumnData::I32(i32::try_from(n).ok()),
            IntKind::BigInt => ColumnData::I64(i64::try_from(n).ok()),
            IntKind::Bit => ColumnData::Bit(Some(n == 1)),
        }
    }

    fn null(self) -> ColumnData<'static> {
        match self {
            IntKind::TinyInt => ColumnData::U8(None),
            IntKind::SmallInt => ColumnData::I16(None),
            IntKind::Int => ColumnData::I32(None),
            IntKind::BigInt => ColumnData::I64(None),
            IntKind::Bit => ColumnData::Bit(None),
        }
    }
}

/// How a temporal value is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeTarget {
    Date,
    Datetime,
    SmallDatetime,
    Datetime2 {
        scale: u8,
    },
    /// `datetimeoffset(scale)` at +00:00.
    Offset {
        scale: u8,
    },
}

/// How one column's values become tiberius values.
#[derive(Debug, Clone, PartialEq)]
pub enum Encoder {
    /// Booleans and integers into an integer or bit column.
    Int { kind: IntKind },
    /// Integers into decimal(p,s).
    IntDecimal { precision: u8, scale: u8 },
    /// Floats (either width) into `real` or `float`; `real` takes only
    /// `f32` values (a double would be rounded).
    Float {
        real: bool,
        nan_to_null: bool,
        negative_zero_to_zero: bool,
    },
    /// Decimal text into decimal(p,s), or into money (p = 19) /
    /// smallmoney (p = 10) at scale 4.
    Decimal {
        precision: u8,
        scale: u8,
        nan_to_null: bool,
        money: Option<bool>,
    },
    /// UTF-8 text; `max_units` counts UTF-16 code units (nchar/nvarchar),
    /// `exact` for nchar/char padding is left to the server (CHAR
    /// semantics pad with spaces, as every engine's CHAR does).
    Text {
        max_units: Option<usize>,
        xml: bool,
        strip_nul: bool,
    },
    Binary {
        exact: Option<usize>,
        max: Option<usize>,
    },
    /// Date32 into date or a date-time type (midnight).
    Date { target: TimeTarget },
    /// µs timestamps.
    Timestamp {
        target: TimeTarget,
        round: bool,
        infinity_to_null: bool,
    },
    /// A time of day (or a duration within one day) into time(scale).
    Time { scale: u8, round: bool },
    /// UUID bytes into uniqueidentifier.
    Guid,
    /// UUID bytes into binary(16), RFC 4122 order.
    UuidBytes,
    /// UUID as lower-case text into a string column of at least 36.
    UuidText,
    /// Interval (months, days, ns) as ISO 8601 text.
    IntervalText,
    /// A list as a JSON array text.
    JsonList,
}

/// Chooses the encoder for `col` (with Arrow type `dt`) into `target`.
/// `Err` is the reason the pair is unsupported.
pub fn choose(col: &ColumnPlan, dt: &DataType, target: &TargetColumn) -> Result<Encoder, String> {
    let t = target.type_name.as_str();
    let conv = col.conversion;
    let nan_to_null = conv == Conversion::NanToNull;
    let round = conv == Conversion::RoundFraction;
    let infinity_to_null = conv == Conversion::InfinityToNull;
    let unsupported = || {
        Err(format!(
            "cannot load Arrow {dt} ({}) into a {} column",
            col.logical,
            target.display()
        ))
    };
    if target.computed {
        return Err(format!(
            "the target column is {} (computed or rowversion): the server sets it",
            target.display()
        ));
    }
    if let Some(why) = bulk_declaration_problem(target) {
        return Err(why);
    }
    if matches!(t, "geometry" | "geography" | "hierarchyid" | "sql_variant") {
        return Err(format!(
            "a {t} column: TDS bulk load cannot write SQL Server's CLR types and sql_variant \
             (override the target type: varbinary(max) holds a geometry's EWKB, nvarchar a \
             hierarchyid's path)"
        ));
    }
    let is_ntext = matches!(t, "nchar" | "nvarchar" | "ntext");
    let is_text = is_ntext || matches!(t, "char" | "varchar" | "text" | "xml" | "sysname");
    let units = || match (t, target.max_length) {
        ("nchar" | "nvarchar" | "sysname", n) if n > 0 => Some(usize::try_from(n / 2).unwrap_or(0)),
        _ => None,
    };
    let time_target = || -> Option<TimeTarget> {
        Some(match t {
            "date" => TimeTarget::Date,
            "datetime" => TimeTarget::Datetime,
            "smalldatetime" => TimeTarget::SmallDatetime,
            "datetime2" => TimeTarget::Datetime2 {
                scale: target.scale,
            },
            "datetimeoffset" => TimeTarget::Offset {
                scale: target.scale,
            },
            _ => return None,
        })
    };
    Ok(match dt {
        DataType::Boolean
        | DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32
        | DataType::UInt64 => {
            if t == "bit" {
                Encoder::Int { kind: IntKind::Bit }
            } else if let Some(kind) = IntKind::of(t) {
                Encoder::Int { kind }
            } else if matches!(t, "decimal" | "numeric") {
                Encoder::IntDecimal {
                    precision: target.precision,
                    scale: target.scale,
                }
            } else {
                return unsupported();
            }
        }
        DataType::Float32 | DataType::Float64 if matches!(t, "real" | "float") => {
            if t == "real" && dt == &DataType::Float64 {
                return Err("a double into real would lose digits; use float".into());
            }
            Encoder::Float {
                real: t == "real",
                nan_to_null,
                negative_zero_to_zero: conv == Conversion::NegativeZeroToZero,
            }
        }
        DataType::Utf8 => match (&col.logical, t) {
            (_, "decimal" | "numeric") => Encoder::Decimal {
                precision: target.precision,
                scale: target.scale,
                nan_to_null,
                money: None,
            },
            (_, "money" | "smallmoney") => Encoder::Decimal {
                precision: if t == "money" { 19 } else { 10 },
                scale: 4,
                nan_to_null,
                money: Some(t == "smallmoney"),
            },
            (LogicalType::Decimal { .. } | LogicalType::Money, _) if !is_text => {
                return unsupported()
            }
            _ if is_text => Encoder::Text {
                max_units: units(),
                xml: t == "xml",
                strip_nul: conv == Conversion::StripNul,
            },
            _ => return unsupported(),
        },
        DataType::Binary => match t {
            "binary" => Encoder::Binary {
                exact: usize::try_from(target.max_length).ok(),
                max: None,
            },
            "varbinary" | "image" => Encoder::Binary {
                exact: None,
                max: usize::try_from(target.max_length).ok(),
            },
            _ => return unsupported(),
        },
        DataType::Date32 => match time_target() {
            Some(target) => Encoder::Date { target },
            None => return unsupported(),
        },
        DataType::Timestamp(TimeUnit::Microsecond, _) => match time_target() {
            Some(TimeTarget::Date) | None => return unsupported(),
            Some(target) => Encoder::Timestamp {
                target,
                round,
                infinity_to_null,
            },
        },
        DataType::Time64(TimeUnit::Microsecond) | DataType::Duration(TimeUnit::Microsecond)
            if t == "time" =>
        {
            Encoder::Time {
                scale: target.scale,
                round,
            }
        }
        DataType::FixedSizeBinary(16) => match t {
            "uniqueidentifier" => Encoder::Guid,
            "binary" if target.max_length == 16 => Encoder::UuidBytes,
            "varbinary" if target.max_length < 0 || target.max_length >= 16 => Encoder::UuidBytes,
            _ if is_text && units().is_none_or(|u| u >= 36) && target.max_length != 0 => {
                if matches!(t, "char" | "varchar") && (0..36).contains(&target.max_length) {
                    return unsupported();
                }
                Encoder::UuidText
            }
            _ => return unsupported(),
        },
        DataType::Interval(arrow_schema::IntervalUnit::MonthDayNano) if is_text => {
            Encoder::IntervalText
        }
        DataType::List(_) if is_text => Encoder::JsonList,
        _ => return unsupported(),
    })
}

/// The value an encoder sends for NULL.
fn null_of(e: &Encoder) -> ColumnData<'static> {
    match e {
        Encoder::Int { kind } => kind.null(),
        Encoder::IntDecimal { .. } | Encoder::Decimal { .. } => ColumnData::Numeric(None),
        Encoder::Float { real: true, .. } => ColumnData::F32(None),
        Encoder::Float { .. } => ColumnData::F64(None),
        Encoder::Text { xml: true, .. } => ColumnData::Xml(None),
        Encoder::Text { .. } | Encoder::UuidText | Encoder::IntervalText | Encoder::JsonList => {
            ColumnData::String(None)
        }
        Encoder::Binary { .. } | Encoder::UuidBytes => ColumnData::Binary(None),
        Encoder::Date { target } | Encoder::Timestamp { target, .. } => match target {
            TimeTarget::Date => ColumnData::Date(None),
            TimeTarget::Datetime => ColumnData::DateTime(None),
            TimeTarget::SmallDatetime => ColumnData::SmallDateTime(None),
            TimeTarget::Datetime2 { .. } => ColumnData::DateTime2(None),
            TimeTarget::Offset { .. } => ColumnData::DateTimeOffset(None),
        },
        Encoder::Time { .. } => ColumnData::Time(None),
        Encoder::Guid => ColumnData::Guid(None),
    }
}

/// The tiberius value of a µs timestamp (or a midnight) in `target`.
pub fn time_value(
    us: i64,
    target: TimeTarget,
    round: bool,
) -> Result<ColumnData<'static>, Problem> {
    Ok(match target {
        TimeTarget::Date => {
            if us.rem_euclid(value::MICROS_PER_DAY) != 0 {
                return Err("a time of day, which date cannot hold".into());
            }
            let days = i32::try_from(us.div_euclid(value::MICROS_PER_DAY))
                .map_err(|_| "outside date's range".to_string())?;
            ColumnData::Date(Some(Date::new(value::days_to_date(days)?)))
        }
        TimeTarget::Datetime => {
            let (d, t) = value::micros_to_datetime(us, round)?;
            ColumnData::DateTime(Some(DateTime::new(d, t)))
        }
        TimeTarget::SmallDatetime => {
            let (d, m) = value::micros_to_smalldatetime(us, round)?;
            ColumnData::SmallDateTime(Some(SmallDateTime::new(d, m)))
        }
        TimeTarget::Datetime2 { scale } => {
            let (d, inc) = value::micros_to_datetime2(us, scale, round)?;
            ColumnData::DateTime2(Some(DateTime2::new(Date::new(d), Time::new(inc, scale))))
        }
        TimeTarget::Offset { scale } => {
            let (d, inc) = value::micros_to_datetime2(us, scale, round)?;
            ColumnData::DateTimeOffset(Some(DateTimeOffset::new(
                DateTime2::new(Date::new(d), Time::new(inc, scale)),
                0,
            )))
        }
    })
}

fn int_at(a: &dyn Array, i: usize) -> i128 {
    match a.data_type() {
        DataType::Boolean => i128::from(a.as_boolean().value(i)),
        DataType::Int8 => a.as_primitive::<Int8Type>().value(i).into(),
        DataType::Int16 => a.as_primitive::<Int16Type>().value(i).into(),
        DataType::Int32 => a.as_primitive::<Int32Type>().value(i).into(),
        DataType::Int64 => a.as_primitive::<Int64Type>().value(i).into(),
        DataType::UInt8 => a.as_primitive::<UInt8Type>().value(i).into(),
        DataType::UInt16 => a.as_primitive::<UInt16Type>().value(i).into(),
        DataType::UInt32 => a.as_primitive::<UInt32Type>().value(i).into(),
        DataType::UInt64 => a.as_primitive::<UInt64Type>().value(i).into(),
        _ => 0,
    }
}

/// JSON text of the list element `i` of `a`.
fn json_element(a: &dyn Array, i: usize, out: &mut String) -> Result<(), Problem> {
    use std::fmt::Write as _;
    if a.is_null(i) {
        out.push_str("null");
        return Ok(());
    }
    match a.data_type() {
        DataType::Boolean => out.push_str(if a.as_boolean().value(i) {
            "true"
        } else {
            "false"
        }),
        d if d.is_integer() => {
            let _ = write!(out, "{}", int_at(a, i));
        }
        DataType::Float32 | DataType::Float64 => {
            let x = match a.data_type() {
                DataType::Float32 => f64::from(a.as_primitive::<Float32Type>().value(i)),
                _ => a.as_primitive::<Float64Type>().value(i),
            };
            if !x.is_finite() {
                return Err("NaN or ±Infinity in an array, which JSON cannot hold".into());
            }
            out.push_str(ryu::Buffer::new().format(x));
        }
        DataType::Utf8 => {
            let s = a.as_string::<i32>().value(i);
            out.push('"');
            for c in s.chars() {
                match c {
                    '"' => out.push_str("\\\""),
                    '\\' => out.push_str("\\\\"),
                    c if (c as u32) < 0x20 => {
                        let _ = write!(out, "\\u{:04x}", c as u32);
                    }
                    c => out.push(c),
                }
            }
            out.push('"');
        }
        DataType::FixedSizeBinary(16) => {
            let _ = write!(
                out,
                "\"{}\"",
                ferry_core::hex::uuid_text(a.as_fixed_size_binary().value(i))
            );
        }
        other => {
            return Err(format!(
                "array elements of Arrow {other} cannot be written as JSON"
            ))
        }
    }
    Ok(())
}

impl Encoder {
    /// Encodes one column of a batch, appending one value per row to `out`.
    /// `Err((row, problem))` names the first refused value.
    pub fn encode_column(
        &self,
        a: &dyn Array,
        out: &mut Vec<ColumnData<'static>>,
    ) -> Result<(), (usize, Problem)> {
        for i in 0..a.len() {
            if a.is_null(i) {
                out.push(null_of(self));
                continue;
            }
            let v = self.encode_value(a, i).map_err(|p| (i, p))?;
            out.push(v);
        }
        Ok(())
    }

    fn encode_value(&self, a: &dyn Array, i: usize) -> Result<ColumnData<'static>, Problem> {
        Ok(match self {
            Encoder::Int { kind } => {
                let n = int_at(a, i);
                let (min, max) = kind.range();
                if n < min || n > max {
                    return Err(format!("integer outside the target's range {min}…{max}"));
                }
                kind.value(n)
            }
            Encoder::IntDecimal { precision, scale } => ColumnData::Numeric(Some(
                value::decimal_to_numeric(&int_at(a, i).to_string(), *precision, *scale)?,
            )),
            Encoder::Float {
                real,
                nan_to_null,
                negative_zero_to_zero,
            } => {
                let x = match a.data_type() {
                    DataType::Float32 => f64::from(a.as_primitive::<Float32Type>().value(i)),
                    _ => a.as_primitive::<Float64Type>().value(i),
                };
                if !x.is_finite() {
                    if *nan_to_null {
                        return Ok(null_of(self));
                    }
                    return Err(
                        "NaN or ±Infinity, which SQL Server cannot hold (use nan_to_null)".into(),
                    );
                }
                let x = if x == 0.0 && x.is_sign_negative() {
                    if !negative_zero_to_zero {
                        return Err("−0.0, which SQL Server stores as 0 (use \
                                    negative_zero_to_zero)"
                            .into());
                    }
                    0.0
                } else {
                    x
                };
                if *real {
                    // Only f32 sources reach a real target: exact.
                    #[allow(clippy::cast_possible_truncation)]
                    ColumnData::F32(Some(x as f32))
                } else {
                    ColumnData::F64(Some(x))
                }
            }
            Encoder::Decimal {
                precision,
                scale,
                nan_to_null,
                money,
            } => {
                let s = a.as_string::<i32>().value(i);
                if *nan_to_null && matches!(s, "NaN" | "Infinity" | "-Infinity") {
                    return Ok(null_of(self));
                }
                let n = value::decimal_to_numeric(s, *precision, *scale)?;
                if let Some(small) = money {
                    let (lo, hi) = value::money_range(*small);
                    if n.value() < lo || n.value() > hi {
                        return Err("outside the money type's range".into());
                    }
                }
                ColumnData::Numeric(Some(n))
            }
            Encoder::Text {
                max_units,
                xml,
                strip_nul,
            } => {
                let s = a.as_string::<i32>().value(i);
                let s: Cow<'_, str> = if *strip_nul && s.contains('\0') {
                    Cow::Owned(s.replace('\0', ""))
                } else {
                    Cow::Borrowed(s)
                };
                if let Some(max) = max_units {
                    if s.len() > *max && s.encode_utf16().count() > *max {
                        return Err(format!("longer than the column's {max} UTF-16 code units"));
                    }
                }
                if *xml {
                    ColumnData::Xml(Some(Cow::Owned(XmlData::new(s))))
                } else {
                    ColumnData::String(Some(Cow::Owned(s.into_owned())))
                }
            }
            Encoder::Binary { exact, max } => {
                let b = a.as_binary::<i32>().value(i);
                if exact.is_some_and(|n| b.len() != n) {
                    return Err(
                        "a length other than the binary column's (SQL Server would pad \
                                it with zeros)"
                            .into(),
                    );
                }
                if max.is_some_and(|n| b.len() > n) {
                    return Err("longer than the varbinary column".into());
                }
                ColumnData::Binary(Some(Cow::Owned(b.to_vec())))
            }
            Encoder::Date { target } => {
                let days = a.as_primitive::<Date32Type>().value(i);
                if days == i32::MAX || days == i32::MIN {
                    return Err(
                        "±infinity, which SQL Server cannot hold (use infinity_to_null)".into(),
                    );
                }
                time_value(i64::from(days) * value::MICROS_PER_DAY, *target, false)?
            }
            Encoder::Timestamp {
                target,
                round,
                infinity_to_null,
            } => {
                let us = a.as_primitive::<TimestampMicrosecondType>().value(i);
                if us == i64::MAX || us == i64::MIN {
                    if *infinity_to_null {
                        return Ok(null_of(self));
                    }
                    return Err(
                        "±infinity, which SQL Server cannot hold (use infinity_to_null)".into(),
                    );
                }
                time_value(us, *target, *round)?
            }
            Encoder::Time { scale, round } => {
                let us = match a.data_type() {
                    DataType::Duration(_) => a.as_primitive::<DurationMicrosecondType>().value(i),
                    _ => a.as_primitive::<Time64MicrosecondType>().value(i),
                };
                if !(0..value::MICROS_PER_DAY).contains(&us) {
                    return Err(
                        "outside a day (00:00 … 23:59:59.9999999), which time cannot \
                                hold"
                            .into(),
                    );
                }
                let (inc, carry) = value::micros_to_increments(us, *scale, *round)?;
                if carry {
                    return Err("a time that rounds up to 24:00, which time cannot hold".into());
                }
                ColumnData::Time(Some(Time::new(inc, *scale)))
            }
            Encoder::Guid => {
                let b = a.as_fixed_size_binary().value(i);
                let bytes: [u8; 16] = b
                    .try_into()
                    .map_err(|_| "a UUID of the wrong width".to_string())?;
                ColumnData::Guid(Some(Uuid::from_bytes(bytes)))
            }
            Encoder::UuidBytes => {
                ColumnData::Binary(Some(Cow::Owned(a.as_fixed_size_binary().value(i).to_vec())))
            }
            Encoder::UuidText => ColumnData::String(Some(Cow::Owned(ferry_core::hex::uuid_text(
                a.as_fixed_size_binary().value(i),
            )))),
            Encoder::IntervalText => {
                let v = a.as_primitive::<IntervalMonthDayNanoType>().value(i);
                ColumnData::String(Some(Cow::Owned(ferry_core::interval::iso8601(
                    v.months,
                    v.days,
                    v.nanoseconds,
                ))))
            }
            Encoder::JsonList => {
                let list = a.as_list::<i32>().value(i);
                let mut s = String::from("[");
                for j in 0..list.len() {
                    if j > 0 {
                        s.push(',');
                    }
                    json_element(list.as_ref(), j, &mut s)?;
                }
                s.push(']');
                ColumnData::String(Some(Cow::Owned(s)))
            }
        })
    }
}

#[cfg(test)]
mod tests;
