//! Which [`Encoder`] each column gets: decided once per table, before any
//! row is sent, from the Arrow type and the *actual* target column (users may
//! override the DDL). An unsupported pair is refused here, with the reason.

use arrow_schema::{DataType, TimeUnit};
use ferry_core::{ColumnPlan, Conversion, GeometryKind, LogicalType};

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
    /// Canonical EWKB as MySQL's internal format (SRID, then WKB) into a
    /// spatial column; `code` is the WKB type code the column takes
    /// (`None` for GEOMETRY, which takes any).
    Geometry { code: Option<u32> },
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
    /// The target column's character set when ferry encodes text for it
    /// (anything but utf8mb4 and binary; see [`crate::charset`]).
    pub charset: Option<std::sync::Arc<crate::charset::Charset>>,
    /// Loaded through a user variable and a `SET` clause (BIT targets as a
    /// number; MariaDB UUID/INET4/INET6 as text converted to utf8mb4).
    pub via_variable: bool,
}

/// Chooses the encoder for `col` (with Arrow type `dt`) into `target`.
/// `Err` is the reason the pair is unsupported. A target column in a
/// character set other than utf8mb4 gets its text encoded by ferry (see
/// [`charset_fits`]); this choice is the same either way.
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
            // MariaDB's INET4/INET6 take the address text; the server validates it.
            | "inet4" | "inet6"
    );
    let text_limits = || {
        let (max_chars, max_bytes) = match t {
            "char" | "varchar" => (target.char_length, None),
            "json" | "inet4" | "inet6" => (None, None),
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
    let enc = match dt {
        DataType::Boolean if int_range(t, target.unsigned).is_some() => Encoder::Bool,
        d if d.is_integer() => {
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
        // A spatial value into a spatial column; into a byte column it is
        // the EWKB itself (the binary arm below).
        DataType::Binary
            if matches!(col.logical, LogicalType::Geometry { .. })
                && GeometryKind::parse(t).is_some() =>
        {
            let kind = GeometryKind::parse(t).unwrap_or_default();
            Encoder::Geometry {
                code: (kind != GeometryKind::Geometry).then(|| kind.wkb_code()),
            }
        }
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
            // MariaDB's own UUID column takes the text form.
            "tinytext" | "text" | "mediumtext" | "longtext" | "uuid" => {
                Encoder::Uuid { as_text: true }
            }
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
        d if d.is_integer() => JsonElement::Int,
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

/// Whether `encoder` can write into a column in `charset`, which ferry
/// encodes text for (the file is `CHARACTER SET binary`: bytes are taken as
/// they are). Text, SET labels and JSON are encoded value by value; every
/// other encoder writes ASCII, which needs an ASCII-compatible set.
pub fn charset_fits(encoder: &Encoder, charset: &crate::charset::Charset) -> Result<(), String> {
    match encoder {
        Encoder::Text { .. } | Encoder::SetList | Encoder::JsonList { .. } => Ok(()),
        _ if charset.ascii_compatible() => Ok(()),
        _ => Err(format!(
            "the target column's character set {} is not ASCII-compatible; ferry writes \
             only text, SET and JSON values into it",
            charset.name()
        )),
    }
}
