//! An engine's SQL dialect: everything the schema translator and the
//! pre-flight need to know to read one engine's catalog text and to write
//! another engine's SQL, without ever naming an engine.
//!
//! Each engine crate implements [`Dialect`] once (`ferry_pg::PgDialect`,
//! `ferry_mysql::MySqlDialect`); the engine hands out a `&'static dyn
//! Dialect` from its one adapter `match`. Schema translation is hub and
//! spoke: the source dialect parses (`parse_*`) into the neutral forms of
//! [`crate::expr`], the target dialect renders (`render_*` and the DDL
//! methods). No method ever takes the *other* engine as an argument.
//!
//! Methods return SQL text ready to splice into a statement; the target
//! dialect's quoting is applied by the method that builds the text, never by
//! its caller, unless the argument's doc says it is already quoted (`*_sql`).

use crate::expr::{self, DefaultExpr, Expr, Keyword, Spelling};
use crate::plan::{ColumnPlan, TablePlan, TableRef};
use crate::url::Engine;

/// How wide a column is in an index key, for engines with a key limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyWidth {
    Bytes(u32),
    /// A large object: indexable only through a prefix.
    NeedsPrefix,
    /// Cannot be indexed at all (JSON, geometry).
    NotIndexable,
}

/// The key-length limit an engine imposes on one index key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyLimit {
    pub bytes: u32,
    /// Who imposes it, for messages (`InnoDB`).
    pub owner: &'static str,
}

/// Where the names of indexes or constraints must be unique.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameScope {
    /// Across a schema, shared with the tables (PostgreSQL relations).
    Schema,
    /// Within one table.
    Table,
    /// Across a schema (database), in a namespace of their own.
    SchemaOwn,
}

/// How an index is built, beyond its key parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IndexMethod {
    /// The engine's ordinary (B-tree) index.
    Default,
    /// A named access method (`USING gin`).
    Using(String),
    /// A full-text index.
    Fulltext,
}

/// A secondary index or unique constraint, decided, for rendering.
#[derive(Debug, Clone)]
pub struct IndexSql<'a> {
    /// The target name, unquoted.
    pub name: &'a str,
    /// The target table, already quoted ([`Dialect::table_sql`]).
    pub table_sql: &'a str,
    pub unique: bool,
    /// Declared as a UNIQUE constraint in the source (not a bare index).
    pub constraint: bool,
    /// Every part is a whole column, ascending (no expression, no
    /// descending part; a prefix counts as plain where prefixes are native).
    pub plain: bool,
    pub method: IndexMethod,
    /// Each part rendered (`"c"`, `(expr)`, `` `c`(10) DESC ``).
    pub parts: &'a [String],
    /// A partial index predicate in this dialect.
    pub predicate: Option<&'a str>,
}

/// What the target makes of `ON UPDATE CURRENT_TIMESTAMP` on a column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OnUpdateNow {
    /// A clause appended to the column definition.
    Clause(String),
    /// A trigger, built by [`Dialect::on_update_triggers`] after the data.
    Trigger,
    /// The column's type cannot carry it.
    Unsupported,
}

/// A column the source counts up by itself, for [`Dialect::auto_increment`].
#[derive(Debug, Clone)]
pub struct AutoIncrement<'a> {
    pub table_sql: &'a str,
    pub column: &'a str,
    pub target_type: &'a str,
    /// The column leads the primary key (some engines need the counter to
    /// lead an index: they add one when it does not).
    pub leads_key: bool,
    /// The column is the whole primary key (SQLite counts only in an
    /// `INTEGER PRIMARY KEY`).
    pub only_key: bool,
    /// The value the source's counter hands out next.
    pub next_value: Option<i64>,
    /// The source refuses explicit values (`GENERATED ALWAYS`).
    pub always: bool,
    /// The source's own clause for the counter, when source and target
    /// are one dialect (see `ColumnSchema::auto_increment_clause`).
    pub native: Option<&'a str>,
}

/// The target's form of an auto-increment column.
#[derive(Debug, Clone, Default)]
pub struct AutoIncrementSql {
    /// Appended to the column definition.
    pub suffix: String,
    /// Run last, after the data: set the counter past max(key) and the
    /// source's own next value.
    pub sequences: Vec<String>,
    /// An index the counter needs, written inside CREATE TABLE after the
    /// primary key (InnoDB: the counter must lead some index).
    pub inline_key: Option<String>,
}

/// Where a comment goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommentSql {
    /// Inline in the column definition or the table options.
    Inline(String),
    /// A statement run right after CREATE TABLE.
    Statement(String),
    /// The engine keeps no comments: the translator warns that it is left out.
    None,
}

/// What values a target cannot hold, so the pre-flight knows what to count.
/// `true` means the target holds them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValueLimits {
    /// NaN and ±Infinity in float and decimal columns.
    pub float_specials: bool,
    /// NaN in float columns (SQLite holds ±Infinity but stores NaN as NULL).
    pub float_nan: bool,
    /// IEEE −0.0 in float columns.
    pub negative_zero: bool,
    /// ±infinity dates and timestamps.
    pub infinite_dates: bool,
    /// Years outside 1–9999.
    pub any_year: bool,
    /// MySQL's zero and partial dates (`0000-00-00`, `2016-07-00`).
    pub zero_dates: bool,
    /// NUL characters in text.
    pub nul_in_text: bool,
    /// Whether key columns may get collations that fold values the source
    /// keeps apart (case, accents, trailing spaces): the pre-flight then
    /// counts the collisions.
    pub folding_collations: bool,
    /// Every geometry PostGIS holds: Z/M coordinates, curves and surfaces,
    /// empty points, lines and polygons (MySQL has none of them).
    pub any_geometry: bool,
}

/// A check on one column's values, rendered by the *source* dialect as a
/// boolean condition (`None`: this engine cannot hold such values).
#[derive(Debug, Clone, Copy)]
pub enum ValueCheck<'a> {
    /// NaN or ±Infinity (floats and decimals).
    FloatSpecial,
    /// NaN (floats).
    FloatNaN,
    NegativeZero,
    /// Finite decimals with more than `scale` fractional or `int_digits`
    /// integer digits.
    DecimalTooWide {
        scale: u32,
        int_digits: u32,
    },
    InfiniteDate,
    /// Finite values outside years 1–9999 of this date or time column.
    OutsideYears(&'a ColumnPlan),
    /// Arrays the hub cannot carry (several dimensions, lower bound not 1).
    ArrayShape,
    /// Zero or partial dates (`0000-00-00`, `2020-00-01`).
    ZeroDate,
    /// Text containing NUL characters.
    NulInText,
    /// Values other than 0 and 1 in a column read as boolean.
    NotZeroOrOne,
    /// Strings longer than this many characters.
    LongerThan(u32),
    /// Strings with 4-byte UTF-8 characters.
    FourByteUtf8,
    /// Times or timestamps with digits finer than a microsecond (SQL
    /// Server's 100 ns `datetime2(7)`, `time(7)`, `datetimeoffset(7)`).
    FinerThanMicros,
    /// Zoned timestamps whose offset is not +00:00 (SQL Server
    /// `datetimeoffset`), which the hub's UTC instant does not keep.
    NonUtcOffset,
    /// Geometries a 2D-only target cannot hold (Z or M coordinates, curves
    /// and surfaces, an empty value other than an empty collection), in a
    /// column whose catalog type name is this.
    BeyondFlatGeometry(&'a str),
    /// MySQL's enum error value (index 0: `''` stored for an invalid value).
    EnumErrorValue,
    /// Text holding byte sequences that its character set (the column's
    /// `RawType::charset`) has no Unicode mapping for.
    Unmappable(&'a str),
}

/// What an existing target table's column already has, for the pre-flight.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExistingColumn {
    pub name: String,
    /// Character set, lower case (`utf8mb3`).
    pub charset: Option<String>,
    /// Collation, lower case.
    pub collation: Option<String>,
}

/// A check the pre-flight runs on one column's values in the *source*,
/// beyond the target's [`ValueLimits`]: what an engine that lets any value
/// sit in any column (SQLite) holds that the column's plan cannot read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnCheck {
    /// A boolean condition in the source's SQL over the column.
    pub cond: String,
    /// What such values are, in words (never a value).
    pub problem: String,
    /// Whether it stops the copy (`false`: a note, e.g. decimals held as
    /// binary floating point).
    pub blocking: bool,
}

/// Fold flags of a collation: case-, accent-insensitive, PAD SPACE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Folding {
    pub case: bool,
    pub accents: bool,
    pub pad: bool,
}

/// One engine's SQL dialect. Implementations are stateless and shared.
pub trait Dialect: Send + Sync {
    /// The engine, for messages and for telling "same dialect" apart.
    fn engine(&self) -> Engine;

    // --- names -----------------------------------------------------------

    /// An identifier, quoted so that any name (spaces, quotes, case) is
    /// taken exactly.
    fn quote_ident(&self, name: &str) -> String;
    /// A string literal whose value is exactly `s` in this engine's sessions
    /// as ferry configures them.
    fn quote_literal(&self, s: &str) -> String;
    /// Whether `name` fits the identifier limit (without being cut).
    fn identifier_fits(&self, name: &str) -> bool;
    /// Whether column, index and constraint names compare without regard
    /// to case (table names are always compared exactly).
    fn names_ignore_case(&self) -> bool;
    /// The schema a table without one lives in (`None`: the connection's
    /// database; the engine has no schemas inside a database).
    fn default_schema(&self) -> Option<&'static str>;
    /// Where index names must be unique.
    fn index_name_scope(&self) -> NameScope;
    /// Where CHECK and foreign key names must be unique.
    fn constraint_name_scope(&self) -> NameScope;
    /// Index names a table's own indexes cannot take (`PRIMARY`).
    fn reserved_index_names(&self) -> &'static [&'static str] {
        &[]
    }

    /// A table name for SQL: qualified with its schema, or with the default
    /// schema when it has none; bare only when the engine has no default.
    fn table_sql(&self, t: &TableRef) -> String {
        match t.schema.as_deref().or(self.default_schema()) {
            Some(s) => format!("{}.{}", self.quote_ident(s), self.quote_ident(&t.name)),
            None => self.quote_ident(&t.name),
        }
    }

    // --- expressions -----------------------------------------------------

    /// Parses a catalog expression (CHECK, generated column, index
    /// expression) over `columns` into the neutral tree, or says why not.
    fn parse_expr(&self, src: &str, columns: &[String]) -> Result<Expr, String>;
    /// Classifies a catalog default.
    fn parse_default(&self, src: &str) -> DefaultExpr;
    /// The elements of an array literal as this engine writes one in a
    /// default (`{a,"b c",NULL}`), `None` for a NULL element; `None` for
    /// text that is not a one-dimensional array literal, or an engine
    /// without arrays.
    fn parse_array_literal(&self, _s: &str) -> Option<Vec<Option<String>>> {
        None
    }
    /// The name this dialect calls a neutral function by.
    fn function_name(&self, f: expr::Func) -> &'static str {
        f.name()
    }
    /// Whether this dialect has a function with exactly `f`'s meaning; an
    /// expression calling one it lacks is not translated.
    fn has_function(&self, _f: expr::Func) -> bool {
        true
    }
    /// Whether keyword `k` means here what it means in the neutral tree
    /// (SQLite's `LIKE` ignores ASCII case); an expression using one that
    /// differs is not translated.
    fn has_keyword(&self, _k: Keyword) -> bool {
        true
    }
    /// Renders a neutral expression in this dialect.
    fn render_expr(&self, e: &Expr) -> String {
        expr::render(e, &DialectSpelling(self))
    }
    /// A default copied between two servers of this same dialect: the SQL
    /// after `DEFAULT` (`None`: no default), or why it cannot be carried.
    fn render_own_default(&self, src: &str, parsed: &DefaultExpr)
        -> Result<Option<String>, String>;

    // --- defaults (target side) ------------------------------------------

    fn bool_literal(&self, b: bool) -> String;
    /// Whether a literal default on `target_type` must be written as an
    /// expression `(…)` (MySQL TEXT, BLOB, JSON).
    fn default_needs_parens(&self, _target_type: &str) -> bool {
        false
    }
    /// `DEFAULT` for the current time on a column of `target_type`.
    fn current_timestamp_default(&self, target_type: &str) -> String;
    fn current_date_default(&self) -> String;
    fn uuid_default(&self) -> String;
    /// `DEFAULT` for the current time of day on a column of `target_type`.
    fn current_time_default(&self, target_type: &str) -> String;
    /// A bit-string default (its digits) on a column of `target_type`.
    fn bit_default(&self, bits: &str, _target_type: &str) -> String {
        format!("b'{bits}'")
    }
    /// A SET-typed default (its members) on a column of `target_type`, where
    /// that type has a form other than the members' comma-joined text.
    fn set_default(&self, _members: &[&str], _target_type: &str) -> Option<String> {
        None
    }
    /// The default for an array column that this engine holds as JSON,
    /// given the array as JSON text (`["a","b"]`); `None` where it cannot.
    fn json_array_default(&self, _json: &str) -> Option<String> {
        None
    }
    /// A time-zoned literal default whose text is a UTC wall-clock time.
    fn timestamptz_default(&self, _utc: &str) -> Option<String> {
        None
    }

    // --- columns and tables (target side) --------------------------------

    /// `Err(why)` when generated columns can only be STORED, not VIRTUAL.
    fn virtual_generated(&self) -> Result<(), &'static str>;
    /// A generated column's definition (its comment, when inline, is
    /// appended by the caller): standard SQL's `name type GENERATED ALWAYS
    /// AS (expr) STORED|VIRTUAL [NOT NULL]` unless the engine spells it
    /// otherwise (SQL Server: `name AS (expr) [PERSISTED]`).
    fn generated_column_sql(
        &self,
        name_sql: &str,
        target_type: &str,
        expr: &str,
        stored: bool,
        not_null: bool,
    ) -> String {
        let kind = if stored { "STORED" } else { "VIRTUAL" };
        let null = if not_null { " NOT NULL" } else { "" };
        format!("{name_sql} {target_type} GENERATED ALWAYS AS ({expr}) {kind}{null}")
    }
    fn on_update_now(&self, target_type: &str) -> OnUpdateNow;
    /// The statements that emulate `ON UPDATE CURRENT_TIMESTAMP` for the
    /// `(column, trigger name)` pairs of one table (run after the data).
    fn on_update_triggers(
        &self,
        _table: &TableRef,
        _table_sql: &str,
        _columns: &[(String, String)],
    ) -> Vec<String> {
        Vec::new()
    }
    /// The target's auto-increment form, or `None` when the column cannot
    /// carry one.
    fn auto_increment(&self, col: &AutoIncrement<'_>) -> Option<AutoIncrementSql>;
    fn column_comment(&self, table_sql: &str, column: &str, comment: &str) -> CommentSql;
    fn table_comment(&self, table_sql: &str, comment: &str) -> CommentSql;
    /// Whether CHECKs, foreign keys and UNIQUE constraints must be declared
    /// inside CREATE TABLE (SQLite cannot `ALTER TABLE … ADD CONSTRAINT`);
    /// otherwise they are added after the data.
    fn constraints_in_create(&self) -> bool {
        false
    }
    /// For engines whose foreign keys are declared with the table (and so
    /// not validated when added): a statement run where foreign keys would
    /// be added, after every table's data, that fails when a row of
    /// `table_sql` has no parent.
    fn foreign_key_check(&self, _table_sql: &str) -> Option<String> {
        None
    }

    // --- indexes and constraints (target side) ---------------------------

    /// The limit on one index key, where the translator must fit keys.
    fn key_limit(&self) -> Option<KeyLimit> {
        None
    }
    fn key_width(&self, _target_type: &str) -> KeyWidth {
        KeyWidth::Bytes(0)
    }
    /// Whether a type's prefix lengths count bytes (binary) not characters.
    fn key_counts_bytes(&self, _target_type: &str) -> bool {
        false
    }
    /// Whether a type is a string a key prefix can shorten.
    fn key_prefixable(&self, _target_type: &str) -> bool {
        false
    }
    /// A string column's type narrowed to `len` (characters or bytes).
    fn narrowed_string_type(&self, binary: bool, len: u32) -> String {
        let _ = binary;
        format!("varchar({len})")
    }
    /// Whether column-prefix key parts are native (`KEY (c(10))`).
    fn prefix_indexes(&self) -> bool;
    /// Whether indexes may have a `WHERE` predicate (partial indexes).
    fn partial_indexes(&self) -> bool {
        false
    }
    /// A key part over the first `n` characters of a column.
    fn prefix_part(&self, column_sql: &str, n: u32) -> String;
    /// `Err(why)` when the engine cannot index expressions.
    fn expression_indexes(&self) -> Result<(), &'static str>;
    /// How a source access method is built here (`native`: the method name
    /// comes from this same dialect's catalog), or `None` when it has no
    /// equivalent.
    fn index_method(&self, method: &str, native: bool) -> Option<IndexMethod>;
    fn create_index(&self, ix: &IndexSql<'_>) -> String;
    /// `Err(why)` for a foreign key action the engine refuses.
    fn foreign_key_action(&self, _action: &str) -> Result<(), &'static str> {
        Ok(())
    }

    // --- pre-flight (source side) ----------------------------------------

    /// The FROM item of a source read of `plan`: its table, with only the
    /// table's own rows when [`TablePlan::own_rows_only`] says so. Engines
    /// without table inheritance never see that flag set.
    fn source_from_sql(&self, plan: &TablePlan) -> String {
        self.table_sql(&plan.source)
    }

    /// The largest value a signed integer column of `target_type` holds,
    /// or `None` when the type is not a signed integer (for counting
    /// unsigned source values above it).
    fn signed_integer_max(&self, _target_type: &str) -> Option<u64> {
        None
    }
    /// Whether this engine refuses rows that break a declared foreign key.
    /// `false` (SQLite, which checks them only under `PRAGMA foreign_keys`):
    /// the pre-flight counts the source rows without a parent before a
    /// target is given the constraint.
    fn enforces_foreign_keys(&self) -> bool {
        true
    }
    /// Checks on column `column` of `plan` that the pre-flight runs in this
    /// (source) engine besides the value checks: values the column's type
    /// does not constrain here and its plan cannot read. Typed engines have none.
    fn column_checks(&self, _plan: &TablePlan, _column: usize) -> Vec<ColumnCheck> {
        Vec::new()
    }
    /// The FROM item of a bounded sample of `plan`'s rows for the copy's
    /// pre-flight: at most `rows` rows the row filter keeps, the first the
    /// server finds (no ORDER BY, so it stops reading there), as a derived
    /// table whose columns keep their names and types. Engines whose SQL
    /// has no `LIMIT` (SQL Server's `TOP`) override it.
    fn sample_from_sql(&self, plan: &TablePlan, rows: u64) -> String {
        let filter = plan
            .row_filter
            .as_ref()
            .map(|f| format!(" WHERE ({f})"))
            .unwrap_or_default();
        format!(
            "(SELECT * FROM {}{filter} LIMIT {rows}) AS ferry_sample",
            self.source_from_sql(plan)
        )
    }

    /// A select-list item counting the rows where `cond` holds, read as text.
    fn count_where(&self, cond: &str) -> String;
    /// A query returning the first row only: `SELECT {columns} {rest}`
    /// where `rest` is `FROM … [WHERE …] ORDER BY …` (standard SQL's
    /// `LIMIT 1`; T-SQL has `TOP (1)`).
    fn select_first(&self, columns: &str, rest: &str) -> String {
        format!("SELECT {columns} {rest} LIMIT 1")
    }
    /// `check` on the column `column_sql` (already quoted), or `None` when
    /// this engine cannot hold such values.
    fn value_check(&self, check: ValueCheck<'_>, column_sql: &str) -> Option<String>;
    /// An expression that makes values equal exactly when `collation`
    /// (with `folding`) would, for counting collisions in the source.
    fn collation_fold(&self, column_sql: &str, collation: &str, folding: Folding) -> String;

    // --- transforms and checks (source side) -------------------------------

    /// A select-list expression that is 0 where the predicate `predicate`
    /// (a job's SQL check) is false and 1 where it is true or unknown, as a
    /// SQL CHECK judges a row: the check's column in the read plan. An
    /// engine whose describe cannot type a `CASE` (SQLite: no affinity)
    /// casts it to an integer.
    fn check_column_sql(&self, predicate: &str) -> String {
        format!("CASE WHEN NOT ({predicate}) THEN 0 ELSE 1 END")
    }
    /// A condition that holds exactly where the row filter `filter` does
    /// not keep a row (false or unknown): how the copy counts the rows a
    /// `where` left out.
    fn excluded_by_sql(&self, filter: &str) -> String {
        format!("CASE WHEN ({filter}) THEN 0 ELSE 1 END = 1")
    }
}

/// Adapts a dialect to the expression renderer.
struct DialectSpelling<'a, D: ?Sized>(&'a D);

impl<D: Dialect + ?Sized> Spelling for DialectSpelling<'_, D> {
    fn ident(&self, name: &str) -> String {
        self.0.quote_ident(name)
    }
    fn literal(&self, s: &str) -> String {
        self.0.quote_literal(s)
    }
    fn function(&self, f: expr::Func) -> &'static str {
        self.0.function_name(f)
    }
}
