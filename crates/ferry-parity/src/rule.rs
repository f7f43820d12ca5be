//! Equivalence rules: which canonical domain a column pair is compared in.
//!
//! A column is read on each side by that side's own adapter, so each side
//! has its own logical type: the source's (with the conversion the copy plan
//! chose) and the target's as the *target* catalog describes it. The pair
//! decides one [`Domain`]; each side's Arrow values are then normalised into
//! that domain. The rules mirror the copy mapping (`mappings/*.toml`): what
//! `ferry copy` writes for a source value is canonically equal to it.

use ferry_core::{Conversion, LogicalType};

/// The canonical comparison domain of a column pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Domain {
    Bool,
    /// Any integer (signed, unsigned, year, and booleans paired with integers).
    Int,
    /// IEEE-754 bits; `width` 32 only when both sides are single precision.
    Float {
        width: u8,
    },
    /// Canonical decimal (see [`crate::decimal`]); integers paired with decimals too.
    Decimal,
    /// UTF-8 text; CHAR columns compare without trailing spaces.
    Text {
        trim_trailing_spaces: bool,
    },
    Bytes,
    /// An address as text without a full-length mask: PostgreSQL's inet
    /// renders `192.168.0.1/32` where MariaDB's INET4 holds `192.168.0.1`.
    Inet,
    /// 16 bytes, RFC 4122 order; text sides are parsed (`8-4-4-4-12`, any case).
    Uuid,
    /// Days since 1970-01-01 (PostgreSQL ±infinity as `i32::MAX/MIN`).
    Date,
    /// µs since the epoch, compared at `fsp` fractional digits (the coarser side).
    Timestamp {
        fsp: u8,
    },
    /// Time of day or signed duration in µs, compared at `fsp` digits.
    Micros {
        fsp: u8,
    },
    /// (months, days, nanoseconds), exactly; a duration pairs as (0, 0, ns).
    Interval,
    /// Canonical JSON (see [`crate::json`]); a list pairs as a JSON array.
    Json,
    /// A list (PostgreSQL array, MySQL SET) of elements in `element`.
    List {
        element: Box<Domain>,
    },
    /// A spatial value as canonical EWKB (see `ferry_core::geometry`):
    /// byte order and SRID spelling normalised, coordinates bit for bit.
    Geometry,
}

/// Value transforms applied to one side before encoding (the copy's lossy
/// conversions, so that what copy did on purpose is not a difference).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SideFlags {
    pub nan_to_null: bool,
    pub infinity_to_null: bool,
    pub negative_zero_to_zero: bool,
    pub strip_nul: bool,
    /// The side's list elements are decimals carried as text (PostgreSQL
    /// `numeric[]`), so as JSON they are numbers, not strings.
    pub decimal_elements: bool,
    /// Geometries compare without their SRID (the copy chose `drop_srid`).
    pub drop_srid: bool,
}

impl SideFlags {
    pub fn from_conversion(c: Conversion) -> SideFlags {
        SideFlags {
            nan_to_null: c == Conversion::NanToNull,
            infinity_to_null: c == Conversion::InfinityToNull,
            negative_zero_to_zero: c == Conversion::NegativeZeroToZero,
            strip_nul: c == Conversion::StripNul,
            decimal_elements: false,
            drop_srid: c == Conversion::DropSrid,
        }
    }
}

/// How one column pair is compared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnRule {
    pub domain: Domain,
    pub source: SideFlags,
    pub target: SideFlags,
    /// Tolerance for float columns in units in the last place (0 = exact bits).
    pub float_ulps: u32,
    /// The rule in words, for the report.
    pub description: String,
}

impl ColumnRule {
    /// Whether the domain orders the same way on both engines when the key
    /// is read with binary collation, so a merge by key lines up.
    pub fn orderable(&self) -> bool {
        !matches!(
            self.domain,
            Domain::Json | Domain::List { .. } | Domain::Interval | Domain::Geometry
        )
    }

    /// Whether key reads must order this column as binary text
    /// (`COLLATE "C"` / `CAST(… AS BINARY)`).
    pub fn binary_text_order(&self) -> bool {
        matches!(self.domain, Domain::Text { .. })
    }
}

fn is_int(t: &LogicalType) -> bool {
    use LogicalType::*;
    matches!(
        t,
        Int8 | Int16 | Int32 | Int64 | UInt8 | UInt16 | UInt32 | UInt64 | Year
    )
}

fn is_text(t: &LogicalType) -> bool {
    use LogicalType::*;
    matches!(
        t,
        Char { .. }
            | Varchar { .. }
            | Text { .. }
            | Enum { .. }
            | TimeTz
            | Inet
            | Cidr
            | MacAddr
            | MacAddr8
            | TsVector
            | Xml
            | Bit { .. }
    )
}

fn is_timestamp(t: &LogicalType) -> bool {
    matches!(
        t,
        LogicalType::Timestamp { .. } | LogicalType::TimestampTz { .. }
    )
}

fn is_micros(t: &LogicalType) -> bool {
    matches!(t, LogicalType::Time { .. } | LogicalType::Duration { .. })
}

fn is_list(t: &LogicalType) -> bool {
    matches!(t, LogicalType::Array { .. } | LogicalType::Set { .. })
}

fn element(t: &LogicalType) -> LogicalType {
    match t {
        LogicalType::Array { element } => (**element).clone(),
        _ => LogicalType::Text { max_bytes: None },
    }
}

/// The domain of a pair, or why the pair cannot be compared.
pub fn domain(source: &LogicalType, target: &LogicalType) -> Result<Domain, String> {
    use LogicalType as L;
    let (s, t) = (source, target);
    let fsp = || s.fsp().unwrap_or(6).min(t.fsp().unwrap_or(6));
    Ok(match (s, t) {
        (L::Bool, L::Bool) => Domain::Bool,
        (L::Bool, x) | (x, L::Bool) if is_int(x) => Domain::Int,
        (a, b) if is_int(a) && is_int(b) => Domain::Int,
        (L::Float32, L::Float32) => Domain::Float { width: 32 },
        (L::Float32 | L::Float64, L::Float32 | L::Float64) => Domain::Float { width: 64 },
        (L::Decimal { .. } | L::Money, L::Decimal { .. } | L::Money) => Domain::Decimal,
        (L::Decimal { .. } | L::Money, x) | (x, L::Decimal { .. } | L::Money) if is_int(x) => {
            Domain::Decimal
        }
        (L::Json | L::Jsonb, L::Json | L::Jsonb) => Domain::Json,
        (L::Json | L::Jsonb, x) | (x, L::Json | L::Jsonb) if is_text(x) || is_list(x) => {
            Domain::Json
        }
        (L::Inet, L::Inet) => Domain::Inet,
        (L::Uuid, L::Uuid) => Domain::Uuid,
        (L::Uuid, x) | (x, L::Uuid) if is_text(x) => Domain::Uuid,
        (L::Binary { .. } | L::VarBinary { .. }, L::Binary { .. } | L::VarBinary { .. }) => {
            Domain::Bytes
        }
        (L::Geometry { .. }, L::Geometry { .. }) => Domain::Geometry,
        // Spatial values stored as EWKB in bytea (a PostgreSQL target
        // without PostGIS).
        (L::Geometry { .. }, L::Binary { .. } | L::VarBinary { .. })
        | (L::Binary { .. } | L::VarBinary { .. }, L::Geometry { .. }) => Domain::Geometry,
        (L::Date, L::Date) => Domain::Date,
        (a, b) if is_timestamp(a) && is_timestamp(b) => Domain::Timestamp { fsp: fsp() },
        (a, b) if is_micros(a) && is_micros(b) => Domain::Micros { fsp: fsp() },
        (L::Interval, L::Interval) => Domain::Interval,
        // A time of day that went through MySQL TIME comes back a duration,
        // so PostgreSQL `time` → MySQL → PostgreSQL pairs `time` with `interval`.
        (L::Interval, L::Duration { .. } | L::Time { .. })
        | (L::Duration { .. } | L::Time { .. }, L::Interval) => Domain::Interval,
        // PostgreSQL interval → MySQL varchar holds ISO 8601 text.
        (L::Interval, x) | (x, L::Interval) if is_text(x) => Domain::Text {
            trim_trailing_spaces: false,
        },
        (a, b) if is_text(a) && is_text(b) => Domain::Text {
            trim_trailing_spaces: matches!(a, L::Char { .. }) || matches!(b, L::Char { .. }),
        },
        // A list that went through an engine without arrays (SQL Server)
        // comes back as JSON array text.
        (x, y) | (y, x) if is_list(x) && is_text(y) => Domain::Json,
        (a, b) if is_list(a) && is_list(b) => Domain::List {
            element: Box::new(domain(&element(a), &element(b))?),
        },
        _ => {
            return Err(format!(
                "no equivalence rule between {source} (source) and {target} (target)"
            ))
        }
    })
}

/// Decides how a column pair is compared.
pub fn column_rule(
    source: &LogicalType,
    target: &LogicalType,
    conversion: Conversion,
    float_ulps: u32,
) -> Result<ColumnRule, String> {
    let domain = domain(source, target)?;
    let decimal_elements = |t: &LogicalType| matches!(t, LogicalType::Array { element } if matches!(**element, LogicalType::Decimal { .. } | LogicalType::Money));
    let flags = SideFlags {
        decimal_elements: decimal_elements(source),
        ..SideFlags::from_conversion(conversion)
    };
    let target_flags = SideFlags {
        decimal_elements: decimal_elements(target),
        ..SideFlags::default()
    };
    let mut description = describe(&domain, float_ulps);
    if conversion != Conversion::Exact {
        description.push_str(&format!("; source {} as copy does", conversion.name()));
    }
    Ok(ColumnRule {
        domain,
        source: flags,
        target: target_flags,
        float_ulps,
        description,
    })
}

fn describe(d: &Domain, ulps: u32) -> String {
    match d {
        Domain::Bool => "boolean".into(),
        Domain::Int => "integer value".into(),
        Domain::Float { width } if ulps == 0 => format!("float{width}: exact IEEE bits"),
        Domain::Float { width } => format!("float{width}: within {ulps} ULP"),
        Domain::Decimal => "decimal value (trailing zeros and -0 ignored)".into(),
        Domain::Text {
            trim_trailing_spaces: true,
        } => "text, CHAR trailing spaces ignored".into(),
        Domain::Text { .. } => "text, exact bytes".into(),
        Domain::Bytes => "bytes, exact".into(),
        Domain::Uuid => "uuid as 16 bytes (text parsed)".into(),
        Domain::Date => "date".into(),
        Domain::Timestamp { fsp } => format!("instant in µs at {fsp} fractional digits"),
        Domain::Micros { fsp } => format!("time/duration in µs at {fsp} fractional digits"),
        Domain::Interval => "interval (months, days, ns)".into(),
        Domain::Inet => "address text, a full-length mask dropped".into(),
        Domain::Json => "canonical JSON (sorted keys, normalised numbers)".into(),
        Domain::List { element } => format!("list of {}", describe(element, ulps)),
        Domain::Geometry => "geometry as canonical EWKB (byte order, SRID flag normalised)".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use LogicalType as L;

    #[test]
    fn copy_mappings_pair_into_one_domain() {
        let ts = |p| L::Timestamp { precision: p };
        let tstz = |p| L::TimestampTz { precision: p };
        assert_eq!(domain(&tstz(6), &ts(6)), Ok(Domain::Timestamp { fsp: 6 }));
        assert_eq!(domain(&ts(6), &ts(3)), Ok(Domain::Timestamp { fsp: 3 }));
        assert_eq!(domain(&L::Bool, &L::Bool), Ok(Domain::Bool));
        assert_eq!(domain(&L::Bool, &L::Int8), Ok(Domain::Int));
        assert_eq!(
            domain(&L::Uuid, &L::Char { length: Some(36) }),
            Ok(Domain::Uuid)
        );
        assert_eq!(
            domain(
                &L::Array {
                    element: Box::new(L::Text { max_bytes: None })
                },
                &L::Json
            ),
            Ok(Domain::Json)
        );
        assert_eq!(
            domain(
                &L::UInt64,
                &L::Decimal {
                    precision: Some(20),
                    scale: Some(0)
                }
            ),
            Ok(Domain::Decimal)
        );
        assert_eq!(
            domain(&L::Duration { precision: 0 }, &L::Interval),
            Ok(Domain::Interval)
        );
        assert_eq!(
            domain(&L::Char { length: Some(5) }, &L::Varchar { length: None }),
            Ok(Domain::Text {
                trim_trailing_spaces: true
            })
        );
        assert_eq!(
            domain(&L::Time { precision: 6 }, &L::Interval),
            Ok(Domain::Interval)
        );
        assert!(domain(&L::Date, &L::Int32).is_err());
        // PostgreSQL text[] → SQL Server nvarchar(max) JSON → back.
        assert_eq!(
            domain(
                &L::Array {
                    element: Box::new(L::Text { max_bytes: None })
                },
                &L::Varchar { length: None }
            ),
            Ok(Domain::Json)
        );
        assert_eq!(
            domain(
                &L::Text { max_bytes: None },
                &L::Set {
                    values: vec!["a".into()]
                }
            ),
            Ok(Domain::Json)
        );
    }
}

#[cfg(test)]
mod geometry_tests {
    use super::*;
    use crate::canon::encode_value;
    use arrow_array::BinaryArray;
    use ferry_core::GeometryKind;

    fn hex(s: &str) -> Vec<u8> {
        let mut out = vec![0; s.len() / 2];
        ferry_core::hex::decode_hex(s.as_bytes(), &mut out).unwrap();
        out
    }

    fn canon(v: &[u8], flags: SideFlags) -> Vec<u8> {
        let a = BinaryArray::from(vec![v]);
        let mut out = Vec::new();
        encode_value(&a, 0, &Domain::Geometry, flags, &mut out);
        out
    }

    /// A copied geometry verifies equal however its bytes are ordered; a
    /// moved vertex or another SRID does not.
    #[test]
    fn geometries_compare_as_canonical_ewkb() {
        let g = LogicalType::Geometry {
            subtype: GeometryKind::Point,
            srid: Some(4326),
            geography: false,
        };
        let bytea = LogicalType::VarBinary {
            length: None,
            max_bytes: None,
        };
        assert_eq!(domain(&g, &g), Ok(Domain::Geometry));
        assert_eq!(domain(&g, &bytea), Ok(Domain::Geometry));
        let f = SideFlags::default();
        let le = canon(
            &hex("0101000020e6100000000000000000f03f0000000000000040"),
            f,
        );
        let be = canon(
            &hex("0020000001000010e63ff00000000000004000000000000000"),
            f,
        );
        let moved = canon(
            &hex("0101000020e6100000000000000000f03f0100000000000040"),
            f,
        );
        let srid0 = canon(&hex("0101000000000000000000f03f0000000000000040"), f);
        assert_eq!(le, be);
        assert_ne!(le, moved);
        assert_ne!(le, srid0);
        let dropped = SideFlags {
            drop_srid: true,
            ..f
        };
        assert_eq!(
            canon(
                &hex("0101000020e6100000000000000000f03f0000000000000040"),
                dropped
            ),
            srid0
        );
        assert_eq!(
            canon(&hex("0101"), f)[0],
            0x0F,
            "malformed bytes are invalid"
        );
    }
}
