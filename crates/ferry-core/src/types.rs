//! The hub type system.
//!
//! Every engine column is resolved (by the read rules in `mappings/`) to one
//! [`LogicalType`]; every logical type has exactly one Arrow representation
//! (see [`crate::arrow::arrow_type`]) and is turned into target DDL by the
//! target engine's write rules. With n engines this is n readers + n writers,
//! not n² pairwise conversions.
//!
//! Parameters (length, precision, enum labels…) come from the source catalog,
//! never from the data, so a plan is known before the first row is read.

use serde::{Deserialize, Serialize};

/// A column's engine-independent type.
///
/// Invariants worth knowing when writing a decoder or encoder:
/// - `Decimal` and `Money` travel as canonical decimal text (`-?digits[.digits]`,
///   or `NaN` / `Infinity` / `-Infinity` from PostgreSQL). Arrow's Decimal128
///   stops at 38 digits while MySQL allows 65 and PostgreSQL 1000, so text is
///   the lossless lane; precision and scale stay in the type.
/// - Temporal values are microseconds. PostgreSQL's `±infinity` travel as the
///   integer extremes PostgreSQL itself uses on the wire (`i32::MIN/MAX` days,
///   `i64::MIN/MAX` µs); a sink that cannot hold them refuses the value.
///   MySQL's zero and partial dates (`0000-00-00`, `2016-07-00`) travel as
///   reserved values just above those extremes ([`crate::zerodate`]); a sink
///   that cannot hold them refuses them too.
/// - `TimestampTz` is an instant in UTC; `Timestamp` is naive (no zone).
/// - `Duration` is a signed span without calendar units (MySQL `TIME`);
///   `Interval` has months, days and µs (PostgreSQL `interval`).
/// - `Uuid` is 16 bytes in RFC 4122 order.
/// - `Bit` travels as text of `0`/`1`, one character per bit.
/// - `Geometry` travels as canonical EWKB (see [`crate::geometry`]):
///   little-endian throughout, the SRID on the outer header when it is not
///   0, PostGIS's Z/M flags. Each value carries its own SRID, as on both
///   engines; the type's `srid` is only what the column declares.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LogicalType {
    #[default]
    Bool,
    Int8,
    Int16,
    Int32,
    Int64,
    UInt8,
    UInt16,
    UInt32,
    UInt64,
    Float32,
    Float64,
    /// `precision`/`scale` are `None` for PostgreSQL's unconstrained `numeric`.
    Decimal {
        precision: Option<u32>,
        scale: Option<u32>,
    },
    /// PostgreSQL `money`, carried as decimal text with the server's fraction digits.
    Money,
    /// Fixed-length, blank-padded character string.
    Char {
        length: Option<u32>,
    },
    Varchar {
        length: Option<u32>,
    },
    /// Unbounded text; `max_bytes` is the source engine's storage ceiling when it has one
    /// (MySQL TINYTEXT 255, TEXT 65535, MEDIUMTEXT 16 MiB) so a sink can pick a tier.
    Text {
        max_bytes: Option<u64>,
    },
    /// Fixed-length binary (MySQL `BINARY(n)`).
    Binary {
        length: Option<u32>,
    },
    /// Variable-length binary; `max_bytes` as for `Text`.
    VarBinary {
        length: Option<u32>,
        max_bytes: Option<u64>,
    },
    Date,
    Time {
        precision: u8,
    },
    /// PostgreSQL `timetz`, carried as its canonical text (`12:00:00+05:30`).
    TimeTz,
    Timestamp {
        precision: u8,
    },
    TimestampTz {
        precision: u8,
    },
    /// A signed time span (MySQL `TIME`, −838:59:59 … 838:59:59).
    Duration {
        precision: u8,
    },
    Interval,
    /// MySQL `YEAR` (0 or 1901…2155).
    Year,
    Uuid,
    Json,
    Jsonb,
    /// Labels in declaration order. `name` is the PostgreSQL type name when the
    /// source has one (MySQL enums are anonymous).
    Enum {
        name: Option<String>,
        values: Vec<String>,
    },
    /// MySQL `SET`: a list of labels out of `values`.
    Set {
        values: Vec<String>,
    },
    Bit {
        length: Option<u32>,
        varying: bool,
    },
    Inet,
    Cidr,
    MacAddr,
    MacAddr8,
    TsVector,
    Xml,
    /// One-dimensional array of a scalar type, lower bound 1.
    Array {
        element: Box<LogicalType>,
    },
    /// A spatial value: MySQL/MariaDB geometry types, PostGIS `geometry`
    /// and `geography`, PostgreSQL's own `point`. `srid` is the SRID the
    /// column declares (PostGIS typmod, MySQL 8 `SRID n`, MariaDB
    /// `REF_SYSTEM_ID`), `None` when it declares none; `geography` marks
    /// PostGIS's geodetic type.
    Geometry {
        subtype: GeometryKind,
        srid: Option<u32>,
        geography: bool,
    },
}

/// The declared shape of a spatial column (the OGC simple-feature types
/// both engines share); `Geometry` takes any of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GeometryKind {
    #[default]
    Geometry,
    Point,
    LineString,
    Polygon,
    MultiPoint,
    MultiLineString,
    MultiPolygon,
    GeometryCollection,
}

impl GeometryKind {
    /// Every kind, in WKB code order (`Geometry` is 0).
    pub const ALL: [GeometryKind; 8] = [
        GeometryKind::Geometry,
        GeometryKind::Point,
        GeometryKind::LineString,
        GeometryKind::Polygon,
        GeometryKind::MultiPoint,
        GeometryKind::MultiLineString,
        GeometryKind::MultiPolygon,
        GeometryKind::GeometryCollection,
    ];

    /// The type name both engines accept in DDL, lower case as MySQL
    /// spells it (`point`, `multilinestring`, `geometrycollection`;
    /// PostGIS takes these names in a typmod too).
    pub fn name(self) -> &'static str {
        match self {
            GeometryKind::Geometry => "geometry",
            GeometryKind::Point => "point",
            GeometryKind::LineString => "linestring",
            GeometryKind::Polygon => "polygon",
            GeometryKind::MultiPoint => "multipoint",
            GeometryKind::MultiLineString => "multilinestring",
            GeometryKind::MultiPolygon => "multipolygon",
            GeometryKind::GeometryCollection => "geometrycollection",
        }
    }

    /// The kind a type name means, case-insensitively (MySQL 8's
    /// `geomcollection` included).
    pub fn parse(name: &str) -> Option<GeometryKind> {
        let n = name.to_ascii_lowercase();
        if n == "geomcollection" {
            return Some(GeometryKind::GeometryCollection);
        }
        GeometryKind::ALL.into_iter().find(|k| k.name() == n)
    }

    /// The OGC WKB type code (0 for `Geometry`).
    pub fn wkb_code(self) -> u32 {
        GeometryKind::ALL
            .iter()
            .position(|k| *k == self)
            .and_then(|i| u32::try_from(i).ok())
            .unwrap_or(0)
    }

    /// The kind of a WKB type code 0–7.
    pub fn from_wkb_code(code: u32) -> Option<GeometryKind> {
        usize::try_from(code)
            .ok()
            .and_then(|i| GeometryKind::ALL.get(i).copied())
    }
}

impl LogicalType {
    /// The name used for this type in `mappings/` files.
    pub fn kind(&self) -> &'static str {
        use LogicalType::*;
        match self {
            Bool => "bool",
            Int8 => "int8",
            Int16 => "int16",
            Int32 => "int32",
            Int64 => "int64",
            UInt8 => "uint8",
            UInt16 => "uint16",
            UInt32 => "uint32",
            UInt64 => "uint64",
            Float32 => "float32",
            Float64 => "float64",
            Decimal { .. } => "decimal",
            Money => "money",
            Char { .. } => "char",
            Varchar { .. } => "varchar",
            Text { .. } => "text",
            Binary { .. } => "binary",
            VarBinary { .. } => "varbinary",
            Date => "date",
            Time { .. } => "time",
            TimeTz => "timetz",
            Timestamp { .. } => "timestamp",
            TimestampTz { .. } => "timestamptz",
            Duration { .. } => "duration",
            Interval => "interval",
            Year => "year",
            Uuid => "uuid",
            Json => "json",
            Jsonb => "jsonb",
            Enum { .. } => "enum",
            Set { .. } => "set",
            Bit { .. } => "bit",
            Inet => "inet",
            Cidr => "cidr",
            MacAddr => "macaddr",
            MacAddr8 => "macaddr8",
            TsVector => "tsvector",
            Xml => "xml",
            Array { .. } => "array",
            Geometry { .. } => "geometry",
        }
    }

    /// Every kind name, for validating mapping files.
    pub const KINDS: &'static [&'static str] = &[
        "bool",
        "int8",
        "int16",
        "int32",
        "int64",
        "uint8",
        "uint16",
        "uint32",
        "uint64",
        "float32",
        "float64",
        "decimal",
        "money",
        "char",
        "varchar",
        "text",
        "binary",
        "varbinary",
        "date",
        "time",
        "timetz",
        "timestamp",
        "timestamptz",
        "duration",
        "interval",
        "year",
        "uuid",
        "json",
        "jsonb",
        "enum",
        "set",
        "bit",
        "inet",
        "cidr",
        "macaddr",
        "macaddr8",
        "tsvector",
        "xml",
        "array",
        "geometry",
    ];

    /// Character length for `Char`/`Varchar`, if declared.
    pub fn length(&self) -> Option<u32> {
        match self {
            LogicalType::Char { length }
            | LogicalType::Varchar { length }
            | LogicalType::Binary { length }
            | LogicalType::VarBinary { length, .. }
            | LogicalType::Bit { length, .. } => *length,
            _ => None,
        }
    }

    /// Fractional-second digits for temporal types (0–6).
    pub fn fsp(&self) -> Option<u8> {
        match self {
            LogicalType::Time { precision }
            | LogicalType::Timestamp { precision }
            | LogicalType::TimestampTz { precision }
            | LogicalType::Duration { precision } => Some(*precision),
            _ => None,
        }
    }
}

impl std::fmt::Display for LogicalType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use LogicalType::*;
        match self {
            Decimal {
                precision: Some(p),
                scale,
            } => write!(f, "decimal({p},{})", scale.unwrap_or(0)),
            Char { length: Some(n) } => write!(f, "char({n})"),
            Varchar { length: Some(n) } => write!(f, "varchar({n})"),
            Binary { length: Some(n) } => write!(f, "binary({n})"),
            VarBinary {
                length: Some(n), ..
            } => write!(f, "varbinary({n})"),
            Time { precision } => write!(f, "time({precision})"),
            Timestamp { precision } => write!(f, "timestamp({precision})"),
            TimestampTz { precision } => write!(f, "timestamptz({precision})"),
            Duration { precision } => write!(f, "duration({precision})"),
            Enum { values, .. } => write!(f, "enum[{}]", values.len()),
            Set { values } => write!(f, "set[{}]", values.len()),
            Bit {
                length: Some(n),
                varying,
            } => write!(f, "{}({n})", if *varying { "varbit" } else { "bit" }),
            Array { element } => write!(f, "{element}[]"),
            Geometry {
                subtype,
                srid,
                geography,
            } => {
                let base = if *geography { "geography" } else { "geometry" };
                match srid {
                    Some(s) => write!(f, "{base}({},{s})", subtype.name()),
                    None => write!(f, "{base}({})", subtype.name()),
                }
            }
            other => f.write_str(other.kind()),
        }
    }
}
