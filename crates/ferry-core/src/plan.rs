//! What the catalog says (`Raw*`) and what ferry decided (`*Plan`).
//!
//! Stages: an adapter's catalog reader produces a [`RawTable`]; the mapping
//! layer turns it into a [`TablePlan`] (logical type, conversion and target DDL
//! type per column); readers and sinks then run the plan without deciding
//! anything per value.

use serde::{Deserialize, Serialize};

use crate::types::LogicalType;

/// A table name, optionally schema-qualified. Names are kept exactly as the
/// catalog spells them (no case folding); adapters quote them on use.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct TableRef {
    pub schema: Option<String>,
    pub name: String,
}

impl TableRef {
    pub fn new(schema: Option<&str>, name: &str) -> Self {
        TableRef {
            schema: schema.map(str::to_string),
            name: name.to_string(),
        }
    }

    /// Parses `name` or `schema.name` as typed on a command line.
    pub fn parse(s: &str) -> Self {
        match s.split_once('.') {
            Some((schema, name)) if !schema.is_empty() && !name.is_empty() => {
                TableRef::new(Some(schema), name)
            }
            _ => TableRef::new(None, s),
        }
    }
}

impl std::fmt::Display for TableRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.schema {
            Some(s) => write!(f, "{s}.{}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

/// A column's type as the source catalog describes it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RawType {
    /// The engine's base type name, lower case, as matched by read rules:
    /// PostgreSQL `pg_type.typname` of the base type (`int4`, `numeric`,
    /// `timestamptz`; for enums `enum`, for arrays `array`); MySQL
    /// `DATA_TYPE` (`tinyint`, `decimal`, `json`…).
    pub name: String,
    /// The full declaration as a DBA would read it: `numeric(12,2)`,
    /// `tinyint(1) unsigned`, `character varying(20)`, `mood[]`.
    pub display: String,
    pub length: Option<u32>,
    /// Storage ceiling in bytes of MySQL's TEXT/BLOB tiers (TINYTEXT 255 …
    /// LONGBLOB 4294967295), so a sink can pick a tier that fits.
    pub max_bytes: Option<u64>,
    pub precision: Option<u32>,
    pub scale: Option<u32>,
    /// Fractional-second digits of temporal types.
    pub fsp: Option<u8>,
    pub unsigned: bool,
    /// MySQL display width (`tinyint(1)` → 1), used to spot booleans.
    pub display_width: Option<u32>,
    /// Enum or set labels in declaration order.
    pub values: Vec<String>,
    /// The user-visible type name for enums and domains (PostgreSQL), schema-qualified when not in `public`.
    pub user_type: Option<String>,
    /// Element type of an array.
    pub element: Option<Box<RawType>>,
    /// The character set of a text column, lower case, where the engine has
    /// one per column (MySQL `CHARACTER_SET_NAME`: `latin1`, `gbk`…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub charset: Option<String>,
    /// What a spatial column declares (PostGIS typmod, MySQL/MariaDB type
    /// name and column SRID); `None` for other columns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spatial: Option<RawSpatial>,
}

/// A spatial column's declaration as its catalog gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RawSpatial {
    pub kind: crate::types::GeometryKind,
    /// The SRID the column constrains its values to; `None` when any.
    pub srid: Option<u32>,
    /// PostGIS `geography` rather than `geometry`.
    pub geography: bool,
    /// Declared Z / M coordinates (PostGIS `PointZ`, `PointM`, `PointZM`).
    pub z: bool,
    pub m: bool,
}

/// A column as the source catalog describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RawColumn {
    pub name: String,
    pub ty: RawType,
    pub nullable: bool,
}

/// A table as the source catalog describes it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RawTable {
    pub table: TableRef,
    pub columns: Vec<RawColumn>,
    /// Indexes into `columns`, in key order.
    pub primary_key: Vec<usize>,
    /// The catalog's row estimate, for progress only.
    pub estimated_rows: Option<u64>,
    /// Indexes, constraints, defaults, identity, comments (see [`crate::schema`]).
    #[serde(default)]
    pub schema: crate::schema::TableSchema,
    /// See [`TablePlan::own_rows_only`]; the catalog sets it.
    #[serde(default)]
    pub own_rows_only: bool,
    /// How the catalog's structure shapes the copy (inheritance,
    /// partitioning), each naming the rule applied; `plan` shows them as
    /// warnings of the table.
    #[serde(default)]
    pub notes: Vec<String>,
    /// Inheritance children whose rows the source shows through this table
    /// but which are copied as tables of their own (`own_rows_only`): a run
    /// that leaves one out warns that its rows stay behind.
    #[serde(default)]
    pub inherited_by: Vec<TableRef>,
}

/// A named value conversion: the closed set the mapping data may name.
/// Everything except `Exact` loses information and must be chosen by the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Conversion {
    /// The value is carried unchanged; a value the target cannot hold stops the
    /// table with an error naming table, column and key.
    #[default]
    Exact,
    /// MySQL zero and partial dates (`0000-00-00`, `2016-07-00`) become NULL.
    ZeroDateToNull,
    /// NaN and ±Infinity (float or numeric) become NULL in a target without them.
    NanToNull,
    /// PostgreSQL ±infinity dates/timestamps become NULL in a target without them.
    InfinityToNull,
    /// NUL bytes are removed from text for a target that refuses them (PostgreSQL).
    StripNul,
    /// −0.0 is accepted by a target that stores it as +0 (MariaDB).
    NegativeZeroToZero,
    /// Fractional seconds finer than the receiving side holds are rounded to
    /// the nearest it holds (half away from zero): SQL Server `datetime2(7)`
    /// and `time(7)` 100 ns digits into ferry's µs, µs into `datetime`'s
    /// 1/300 s or `smalldatetime`'s minute.
    RoundFraction,
    /// SQL Server `datetimeoffset` values keep their UTC instant and lose
    /// their offset (`12:00 +05:30` becomes `06:30 +00:00`), as PostgreSQL's
    /// `timestamptz` does; without it a non-zero offset stops the table.
    OffsetToUtc,
    /// A geometry's SRID is left behind (PostgreSQL's own `point` has none).
    DropSrid,
    /// MySQL's enum error value (index 0, `''`, what a non-strict server
    /// stores for an invalid value) becomes NULL.
    EnumErrorToNull,
    /// MySQL's enum error value becomes the label `''`, added first to the
    /// target enum (index 0 sorts first); where the source already declares
    /// `''`, the error value and that label become one.
    EnumErrorToEmptyLabel,
}

impl Conversion {
    pub fn is_lossy(self) -> bool {
        self != Conversion::Exact
    }

    pub fn name(self) -> &'static str {
        match self {
            Conversion::Exact => "exact",
            Conversion::ZeroDateToNull => "zero_date_to_null",
            Conversion::NanToNull => "nan_to_null",
            Conversion::InfinityToNull => "infinity_to_null",
            Conversion::StripNul => "strip_nul",
            Conversion::NegativeZeroToZero => "negative_zero_to_zero",
            Conversion::RoundFraction => "round_fraction",
            Conversion::OffsetToUtc => "offset_to_utc",
            Conversion::DropSrid => "drop_srid",
            Conversion::EnumErrorToNull => "enum_error_to_null",
            Conversion::EnumErrorToEmptyLabel => "enum_error_to_empty_label",
        }
    }
}

/// How an engine without date and time types (SQLite) holds a date or a
/// time in a column: the read rule of the declared type says which, a
/// column override may say otherwise. The reader takes only the storage
/// class the form implies; anything else is refused with the key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeStorage {
    /// ISO 8601 text: `2024-06-01`, `2024-06-01 12:00:00.5`, `12:00:00`
    /// (an offset such as `+02:00` or `Z` only on zoned columns).
    Iso8601,
    /// A Julian day number (REAL or INTEGER): days since noon on
    /// 4714-11-24 BC, read to the millisecond as SQLite reads it.
    JulianDay,
    /// Seconds since 1970-01-01 00:00:00 UTC (INTEGER, or REAL read to the
    /// millisecond as SQLite reads it).
    UnixEpoch,
}

impl TimeStorage {
    pub fn name(self) -> &'static str {
        match self {
            TimeStorage::Iso8601 => "iso8601",
            TimeStorage::JulianDay => "julian_day",
            TimeStorage::UnixEpoch => "unix_epoch",
        }
    }
}

/// One column's resolved plan.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ColumnPlan {
    /// Its name. In a table's written plan the target's name; in a
    /// reshaped table's read plan ([`crate::transform::Reshape::read`])
    /// the source's name (or, for a derived column, the target's).
    pub name: String,
    /// The SQL (in the source's dialect, over the source table's columns)
    /// the source computes this column with: a derived column of the job,
    /// or a check's computed column. `None`: the source column `name`.
    /// Only read plans have it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expr: Option<String>,
    /// The source declaration (`RawType::display`).
    pub source_type: String,
    pub raw: RawType,
    pub logical: LogicalType,
    pub nullable: bool,
    pub conversion: Conversion,
    /// Target DDL type, rendered from the target's write rules (or an override).
    pub target_type: String,
    /// Which rules decided this column, for `ferry mappings` and plan output.
    pub rule: String,
    /// How the source holds this date or time column, where the source
    /// engine has no temporal types (SQLite); `None` elsewhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stored_as: Option<TimeStorage>,
}

/// A table's resolved plan: what to read, what to create, how to convert.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TablePlan {
    pub source: TableRef,
    pub target: TableRef,
    pub columns: Vec<ColumnPlan>,
    /// Indexes into `columns`, in key order.
    pub primary_key: Vec<usize>,
    pub estimated_rows: Option<u64>,
    /// The target's schema objects as target SQL (see [`crate::schema`]).
    #[serde(default)]
    pub schema: crate::schema::SchemaPlan,
    /// A row filter in the source's SQL dialect (the job's per-table
    /// `where`): every source read of this table (ranges, whole-table reads,
    /// verify, pre-flight probes) ANDs it in, so filtered rows are neither
    /// copied nor expected by verify. `None` reads every row.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub row_filter: Option<String>,
    /// Every source read of this table (ranges, whole-table reads, key
    /// sampling, row estimates, verify, pre-flight probes) takes only the
    /// table's own rows, not those of tables inheriting from it
    /// (PostgreSQL `FROM ONLY`): each inheritance child is a table of its
    /// own, so its rows are copied once, with it. Never set for a
    /// partitioned table, whose rows all live in its partitions.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub own_rows_only: bool,
    /// The job's transforms and checks of this table (see
    /// [`crate::transform`]); `None` copies the table as it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reshape: Option<Box<crate::transform::Reshape>>,
}

impl TablePlan {
    /// The plan every source-side step runs (reading, range planning, key
    /// checks, pre-flight SQL, change streams): the reshape's read plan,
    /// or this plan when the table is copied as it is.
    pub fn source_plan(&self) -> &TablePlan {
        self.reshape.as_ref().map_or(self, |r| &r.read)
    }

    /// This plan narrowed to its primary-key columns, in key order (what a
    /// delete by key reads and writes).
    pub fn key_plan(&self) -> TablePlan {
        let mut key = self.clone();
        key.columns = self
            .primary_key
            .iter()
            .map(|&k| self.columns[k].clone())
            .collect();
        key.primary_key = (0..key.columns.len()).collect();
        // Keys are never reshaped, and what reads this plan reads keys only.
        key.reshape = None;
        key
    }

    /// The primary-key columns, quoted by `quote` and comma-separated
    /// (`"a", "b"`); empty when the table has no key.
    pub fn key_list(&self, quote: impl Fn(&str) -> String) -> String {
        self.primary_key
            .iter()
            .map(|&i| quote(&self.columns[i].name))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The body of a CREATE TABLE: `<column> <target type> [NOT NULL]<suffix>`
    /// per column (the suffix from [`SchemaPlan::column_suffix`](crate::schema::SchemaPlan)),
    /// generated columns in their places, then `PRIMARY KEY (…)` when there is a key.
    pub fn create_table_body(&self, quote: impl Fn(&str) -> String) -> Vec<String> {
        let mut defs: Vec<String> = self
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let null = if c.nullable { "" } else { " NOT NULL" };
                let suffix = self
                    .schema
                    .column_suffix
                    .get(i)
                    .map(String::as_str)
                    .unwrap_or("");
                format!("{} {}{null}{suffix}", quote(&c.name), c.target_type)
            })
            .collect();
        for g in &self.schema.generated {
            defs.insert(g.position.min(defs.len()), g.definition.clone());
        }
        if !self.primary_key.is_empty() {
            defs.push(format!("PRIMARY KEY ({})", self.key_list(&quote)));
        }
        defs.extend(self.schema.table_elements.iter().cloned());
        defs
    }
}

/// What to do when the target table already exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IfExists {
    /// Refuse to touch an existing table.
    #[default]
    Fail,
    /// Empty it (keeping its definition) and load.
    Truncate,
    /// Load into it as it is.
    Append,
}
