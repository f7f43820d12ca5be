//! Schema objects beyond columns and the primary key.
//!
//! Two stages, like the rest of the plan: a catalog reader fills a
//! [`TableSchema`] (what the source has, in the source's own SQL dialect),
//! and the schema translator (`ferry-schema`) turns it into a [`SchemaPlan`]
//! holding the target's SQL, ready to run, plus every warning about what did
//! not translate. Sinks only splice the plan's text into their DDL; they decide
//! nothing about schema objects.
//!
//! Order of work, which the plan's fields mirror: the table with its columns,
//! defaults, identity and primary key is created before the data
//! ([`SchemaPlan::column_suffix`], [`SchemaPlan::generated`],
//! [`SchemaPlan::after_create`]); secondary indexes, unique constraints and
//! CHECKs after it ([`SchemaPlan::post_data`]); foreign keys after every table
//! ([`SchemaPlan::foreign_keys`]); sequences last ([`SchemaPlan::sequences`]).

use serde::{Deserialize, Serialize};

use crate::plan::TableRef;

/// What the source catalog says about a table's schema objects.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct TableSchema {
    pub comment: Option<String>,
    /// One entry per column of the table, in ordinal order (generated columns included).
    pub columns: Vec<ColumnSchema>,
    /// Secondary indexes and unique constraints (not the primary key).
    pub indexes: Vec<IndexDef>,
    pub foreign_keys: Vec<ForeignKeyDef>,
    pub checks: Vec<CheckDef>,
    /// Triggers ferry does not translate, by name (each becomes a warning).
    pub other_triggers: Vec<String>,
    /// Constraints of domains used by the table's columns (PostgreSQL), not translated.
    pub domain_checks: Vec<String>,
    /// Table options in the source dialect (SQLite `WITHOUT ROWID`,
    /// `STRICT`): kept between servers of the same dialect, a storage
    /// choice elsewhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<String>,
}

/// Per-column schema facts.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ColumnSchema {
    pub name: String,
    /// The default as a source-dialect SQL expression (PostgreSQL
    /// `pg_get_expr`; MySQL literals quoted, expressions as written).
    pub default: Option<String>,
    /// serial / identity (PostgreSQL) or AUTO_INCREMENT (MySQL).
    pub auto_increment: bool,
    /// PostgreSQL `GENERATED ALWAYS AS IDENTITY` (as opposed to BY DEFAULT).
    pub identity_always: bool,
    /// The source dialect's own words for its counter, kept between
    /// servers of the same dialect: SQLite `AUTOINCREMENT`, or empty for a
    /// plain `INTEGER PRIMARY KEY` (which may reuse a deleted key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_increment_clause: Option<String>,
    /// The value the source's sequence / AUTO_INCREMENT counter would hand out next.
    pub next_value: Option<i64>,
    /// Other tables whose defaults draw from the same sequence (PostgreSQL):
    /// each target table gets its own counter.
    #[serde(default)]
    pub sequence_shared_with: Vec<String>,
    /// A generated column's expression in the source dialect.
    pub generated: Option<GeneratedDef>,
    /// MySQL `ON UPDATE CURRENT_TIMESTAMP` (or ferry's PostgreSQL trigger for it).
    pub on_update_now: bool,
    pub comment: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct GeneratedDef {
    pub expr: String,
    /// STORED (PostgreSQL's only kind) rather than VIRTUAL.
    pub stored: bool,
}

/// A secondary index or a unique constraint.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct IndexDef {
    pub name: String,
    pub unique: bool,
    /// A PostgreSQL UNIQUE constraint (rather than a bare unique index). MySQL
    /// makes no difference; its unique keys are read as constraints.
    pub constraint: bool,
    pub parts: Vec<IndexPart>,
    /// Partial index predicate (PostgreSQL), source dialect.
    pub predicate: Option<String>,
    /// Access method: `btree`, `hash`, `gin`, `gist`, `fulltext`, `spatial`…
    pub method: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct IndexPart {
    /// The column, for a plain key part.
    pub column: Option<String>,
    /// The expression, for an expression key part (source dialect).
    pub expr: Option<String>,
    pub descending: bool,
    /// MySQL prefix length in characters (`KEY (c(10))`).
    pub prefix: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ForeignKeyDef {
    pub name: String,
    pub columns: Vec<String>,
    pub ref_table: TableRef,
    pub ref_columns: Vec<String>,
    /// `NO ACTION`, `RESTRICT`, `CASCADE`, `SET NULL` or `SET DEFAULT`.
    pub on_delete: String,
    pub on_update: String,
    /// Properties no other engine has (`DEFERRABLE`, `MATCH FULL`), for a warning.
    pub extra: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CheckDef {
    pub name: String,
    /// The boolean expression in the source dialect, without `CHECK`.
    pub expr: String,
}

/// What the target gets, as target SQL. Built by `ferry-schema`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SchemaPlan {
    /// Per plan column (same order as `TablePlan::columns`), text appended to
    /// its definition after the type and NOT NULL: ` DEFAULT …`,
    /// ` AUTO_INCREMENT`, ` GENERATED BY DEFAULT AS IDENTITY`, ` COMMENT '…'`.
    /// Empty (or shorter than the column list) means nothing to add.
    pub column_suffix: Vec<String>,
    /// Generated columns: created in place but neither read nor written (the
    /// target computes them), so they are not among the plan's columns.
    pub generated: Vec<GeneratedColumnPlan>,
    /// Target table options appended after the column list (MySQL `COMMENT='…'`).
    pub table_options: String,
    /// Definitions written inside CREATE TABLE after the primary key: an
    /// index the table cannot be created without (MySQL: the one an
    /// AUTO_INCREMENT column that does not lead the key needs).
    #[serde(default)]
    pub table_elements: Vec<String>,
    /// Statements run right after CREATE TABLE (PostgreSQL comments).
    pub after_create: Vec<String>,
    /// After the data: secondary indexes, unique constraints, CHECKs, triggers.
    pub post_data: Vec<String>,
    /// After every table's `post_data`: foreign keys (validated then).
    pub foreign_keys: Vec<String>,
    /// Last: sequences / identity / AUTO_INCREMENT set past max(key).
    pub sequences: Vec<String>,
    /// Something did not translate or changed meaning; each names the object.
    pub warnings: Vec<String>,
    /// Something that would fail the copy (an index that cannot be built, a
    /// name the target cannot hold); each names the object.
    pub errors: Vec<String>,
    /// The unique keys the target enforces (primary key first), by target
    /// column names, for the collation collision check.
    pub unique_keys: Vec<UniqueKey>,
    /// Conditions on the *source* rows that the pre-flight counts as
    /// blocking (a source that does not enforce its foreign keys may hold
    /// rows that the target's constraint would refuse).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub row_checks: Vec<RowCheck>,
}

/// A condition on a source table's rows, in the source's SQL, whose
/// matching rows the target would refuse.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RowCheck {
    /// The column(s) it is about, for the finding.
    pub column: String,
    /// A boolean condition over the source table (named by its
    /// [`Dialect::table_sql`](crate::Dialect::table_sql)).
    pub cond: String,
    /// What such rows are, in words.
    pub problem: String,
}

/// A key whose values must stay distinct in the target.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct UniqueKey {
    /// `PRIMARY KEY` or the index / constraint name.
    pub name: String,
    pub columns: Vec<String>,
}

/// A generated column of the target table.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct GeneratedColumnPlan {
    /// Position among all the table's columns (0-based), so the column order is kept.
    pub position: usize,
    pub name: String,
    /// The full column definition in target SQL (name, type, generation clause).
    pub definition: String,
}

/// A schema object that is not a table and that ferry does not copy (a
/// view, a routine, an event…), listed so that `ferry plan` can name it and
/// the copy can say how many were left out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OtherObject {
    /// What it is, in the source's words: `view`, `materialized view`,
    /// `function`, `procedure`, `event`, `foreign table`, `sequence`…
    pub kind: String,
    /// Its name, schema-qualified where the engine has schemas; routines
    /// carry their argument types.
    pub name: String,
}
