//! Planning and running copies.
//!
//! A run is: resolve the table list, describe and plan *every* table (nothing
//! is written until all plans are valid), prepare the targets, then copy the
//! tables, several at a time. Each table is one reader and one writer joined
//! by a bounded channel, so memory does not grow with table size.

pub mod adapter;
mod copy;
pub mod reject;
pub mod schema;
pub mod split;
pub mod verify;

pub use adapter::{Adapter, SourceSnapshot};
pub use copy::{
    copy, default_workers, CopyOptions, CopyReport, OnError, RangeReceipt, RangeRetry, RunState,
    TableFailure, TableRanges, TableVerified,
};

use ferry_core::{Engine, Error, Result, TablePlan, TableRef};
use ferry_mapping::Mappings;

/// Which tables to take from the source and where they land.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Explicit tables (`name` or `schema.name`); empty means every base table of `schema`.
    pub tables: Vec<TableRef>,
    /// Source schema (PostgreSQL) or database (MySQL); `None` is the URL's default.
    pub schema: Option<String>,
    /// Target schema (PostgreSQL) or database (MySQL); `None` is the URL's default
    /// (`public` for PostgreSQL).
    pub target_schema: Option<String>,
}

/// Describes and plans every selected table. Fails on the first table that is
/// missing or has a column without a rule, before anything touches the target.
pub async fn plan_tables(
    source: &Adapter,
    target: Engine,
    mappings: &Mappings,
    selection: &Selection,
) -> Result<Vec<TablePlan>> {
    let tables = if selection.tables.is_empty() {
        let found = source.list_tables(selection.schema.as_deref()).await?;
        if found.is_empty() {
            return Err(Error::Table {
                table: selection
                    .schema
                    .clone()
                    .unwrap_or_else(|| "(default schema)".into()),
                problem: "no tables to copy in this schema".into(),
            });
        }
        found
    } else {
        selection
            .tables
            .iter()
            .map(|t| match (&t.schema, &selection.schema, source.engine()) {
                (None, Some(s), _) => TableRef::new(Some(s), &t.name),
                // PostgreSQL names are reported schema-qualified, like list_tables does.
                (None, None, Engine::Postgres) => TableRef::new(Some("public"), &t.name),
                _ => t.clone(),
            })
            .collect()
    };
    let mut plans = Vec::with_capacity(tables.len());
    let mut raws = Vec::with_capacity(tables.len());
    for t in &tables {
        let raw = source.describe(t).await?;
        let target_table = TableRef {
            schema: match target {
                Engine::Postgres => Some(
                    selection
                        .target_schema
                        .clone()
                        .unwrap_or_else(|| "public".into()),
                ),
                Engine::MySql => selection.target_schema.clone(),
            },
            name: raw.table.name.clone(),
        };
        plans.push(mappings.plan_table(&raw, source.engine(), target, target_table)?);
        raws.push(raw);
    }
    // Indexes, constraints, defaults, identity: all tables at once, so foreign
    // keys find their targets and names are checked across the target schema.
    ferry_schema::translate(
        &raws,
        &mut plans,
        source.dialect(),
        adapter::dialect_of(target),
    );
    Ok(plans)
}
