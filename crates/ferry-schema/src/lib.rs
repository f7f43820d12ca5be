//! Schema translation: the target schema a careful DBA would have written.
//!
//! Input: each table's source [`TableSchema`](ferry_core::schema::TableSchema)
//! (from the catalog) and its type plan (from `ferry-mapping`). Output: the
//! plan's [`SchemaPlan`](ferry_core::schema::SchemaPlan), holding target SQL
//! for every object that translates and a warning naming every object that
//! does not. Nothing here talks to a database; the engine runs the
//! statements in the documented order (tables and primary keys, data,
//! indexes/unique/checks, foreign keys, sequences).
//!
//! Hub and spoke: this crate never names an engine. The source
//! [`Dialect`] parses catalog text into engine-neutral forms, the target
//! [`Dialect`] renders them; what stays here are the engine-neutral
//! decisions and the warnings. Decisions, all documented in the README:
//! - serial, identity and AUTO_INCREMENT all become the target's native
//!   auto-increment form, and after the data the counter is set past both
//!   max(key) and the source's own next value.
//! - `ON UPDATE CURRENT_TIMESTAMP` becomes a column clause, or a trigger where
//!   the target has no such clause (its catalog recognises the trigger on the
//!   way back).
//! - UNIQUE constraints and unique keys map to each other; unique *indexes*
//!   declared as such stay indexes.
//! - Generated columns whose expression translates are created in place and
//!   not copied (the target computes them); otherwise they are copied as
//!   plain columns, with a warning.
//! - Catalog text copied between two servers of the same dialect is kept
//!   verbatim.

mod columns;
mod constraints;
mod defaults;
pub mod expr;
mod indexes;
pub mod names;

use std::collections::HashMap;

use ferry_core::dialect::KeyWidth;
use ferry_core::schema::{ColumnSchema, SchemaPlan, UniqueKey};
use ferry_core::{Dialect, RawTable, TablePlan, TableRef};

pub use names::{shorten, Namespace};

/// Fills `plans[i].schema` from `raws[i].schema` for every table of one run.
/// Tables are translated together so that foreign keys find their targets
/// and names are checked for collisions across the whole target schema.
pub fn translate(
    raws: &[RawTable],
    plans: &mut [TablePlan],
    source: &dyn Dialect,
    target: &dyn Dialect,
) {
    let mut relations: HashMap<String, Namespace> = HashMap::new();
    let mut renamed: Vec<Option<String>> = Vec::with_capacity(plans.len());
    // Tables first: every other name is checked against them.
    for plan in plans.iter_mut() {
        let ns = relations
            .entry(plan.target.schema.clone().unwrap_or_default())
            .or_insert_with(Namespace::exact);
        let wanted = plan.target.name.clone();
        let (name, changed) = ns.claim(target, &wanted, "t");
        renamed.push(
            changed.then(|| {
                format!("table {wanted} is named {name} in the target (too long or taken)")
            }),
        );
        plan.target.name = name;
    }
    let tables: HashMap<(String, String), TableRef> = plans
        .iter()
        .map(|p| (source_key(source, &p.source), p.target.clone()))
        .collect();
    let mut ctx = Ctx {
        source,
        target,
        tables,
        relations,
        constraints: HashMap::new(),
    };
    for ((raw, plan), renamed) in raws.iter().zip(plans.iter_mut()).zip(renamed) {
        ctx.table(raw, plan);
        if let Some(w) = renamed {
            plan.schema.warnings.insert(0, w);
        }
    }
}

/// A source table's identity for matching foreign keys: its schema (or the
/// source's default schema) and name.
fn source_key(source: &dyn Dialect, t: &TableRef) -> (String, String) {
    let schema = t
        .schema
        .clone()
        .or_else(|| source.default_schema().map(str::to_string))
        .unwrap_or_default();
    (schema, t.name.clone())
}

struct Ctx<'d> {
    source: &'d dyn Dialect,
    target: &'d dyn Dialect,
    tables: HashMap<(String, String), TableRef>,
    /// Per target schema, the names of tables (and of indexes where the
    /// target's indexes share the tables' namespace).
    relations: HashMap<String, Namespace>,
    /// Per target schema, constraint names where the target scopes them to
    /// the schema.
    constraints: HashMap<String, Namespace>,
}

/// One table's source facts, as the translation steps read them.
struct Source<'a> {
    raw: &'a RawTable,
    /// Every source column name, generated ones included.
    names: Vec<String>,
    /// The target table, as SQL.
    table_sql: String,
}

impl Source<'_> {
    /// The catalog's schema facts for a column (empty when it has none).
    fn facts(&self, name: &str) -> ColumnSchema {
        self.raw
            .schema
            .columns
            .iter()
            .find(|c| c.name == name)
            .cloned()
            .unwrap_or_default()
    }
}

impl Ctx<'_> {
    fn q(&self, name: &str) -> String {
        self.target.quote_ident(name)
    }

    /// Translates one table; each step appends to the plan's schema part.
    fn table(&mut self, raw: &RawTable, plan: &mut TablePlan) {
        let mut sp = std::mem::take(&mut plan.schema);
        let src = Source {
            raw,
            names: raw.columns.iter().map(|c| c.name.clone()).collect(),
            table_sql: self.target.table_sql(&plan.target),
        };
        self.column_names(&src, &mut sp);
        let generated = self.generated_columns(&src, plan, &mut sp);
        // Target types of every column, generated ones included, for key widths.
        let mut types: HashMap<String, String> = plan
            .columns
            .iter()
            .map(|c| (c.name.clone(), c.target_type.clone()))
            .collect();
        columns::drop_generated(plan, &generated.columns);
        let on_update = self.column_suffixes(&src, plan, &mut sp);
        sp.after_create.extend(generated.comments);
        sp.generated = generated.columns;
        self.table_comment(&src, &mut sp);
        self.table_options(&src, &mut sp);
        self.primary_key(plan, &mut sp);
        self.indexes(&src, plan, &mut types, &mut sp);
        let mut table_constraints = Namespace::new(self.target.names_ignore_case());
        self.checks(&src, plan, &mut table_constraints, &mut sp);
        self.on_update_triggers(&src, plan, on_update, &mut sp);
        self.foreign_keys(&src, plan, &mut table_constraints, &mut sp);
        // How inheritance or partitioning shapes the copy: said, not translated.
        sp.warnings.extend(raw.notes.iter().cloned());
        for trig in &raw.schema.other_triggers {
            sp.warnings.push(format!("trigger {trig} not translated"));
        }
        for d in &raw.schema.domain_checks {
            sp.warnings
                .push(format!("domain constraint not translated: {d}"));
        }
        plan.schema = sp;
    }

    /// The primary key's width where the target limits keys (TEXT keys were
    /// fitted by the mapping), and the key as the first unique key.
    fn primary_key(&self, plan: &TablePlan, sp: &mut SchemaPlan) {
        if let (Some(limit), false) = (self.target.key_limit(), plan.primary_key.is_empty()) {
            let bytes: u64 = plan
                .primary_key
                .iter()
                .map(|&i| {
                    u64::from(match self.target.key_width(&plan.columns[i].target_type) {
                        KeyWidth::Bytes(b) => b,
                        KeyWidth::NeedsPrefix => limit.bytes,
                        KeyWidth::NotIndexable => u32::MAX,
                    })
                })
                .sum();
            if bytes > u64::from(limit.bytes) {
                sp.errors.push(format!(
                    "primary key: {bytes} bytes, more than {}'s {}-byte key limit",
                    limit.owner, limit.bytes
                ));
            }
        }
        if !plan.primary_key.is_empty() {
            sp.unique_keys.push(UniqueKey {
                name: "PRIMARY KEY".into(),
                columns: plan
                    .primary_key
                    .iter()
                    .map(|&i| plan.columns[i].name.clone())
                    .collect(),
            });
        }
    }
}

#[cfg(test)]
mod tests;
