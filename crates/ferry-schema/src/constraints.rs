//! CHECK constraints and foreign keys, named in the target's constraint
//! scope (per table, or per schema where the target scopes them so).

use ferry_core::dialect::NameScope;
use ferry_core::schema::{ForeignKeyDef, RowCheck, SchemaPlan};
use ferry_core::TablePlan;

use crate::{expr, source_key, Ctx, Namespace, Source};

impl Ctx<'_> {
    /// A free constraint name for `wanted`, in the target's scope.
    fn constraint_name(
        &mut self,
        wanted: &str,
        plan: &TablePlan,
        table_constraints: &mut Namespace,
    ) -> String {
        let target = self.target;
        match target.constraint_name_scope() {
            NameScope::Table => table_constraints.claim(target, wanted, &plan.target.name).0,
            NameScope::Schema => {
                self.relations
                    .entry(plan.target.schema.clone().unwrap_or_default())
                    .or_insert_with(Namespace::exact)
                    .claim(target, wanted, &plan.target.name)
                    .0
            }
            NameScope::SchemaOwn => {
                self.constraints
                    .entry(plan.target.schema.clone().unwrap_or_default())
                    .or_insert_with(|| Namespace::new(target.names_ignore_case()))
                    .claim(target, wanted, &plan.target.name)
                    .0
            }
        }
    }

    pub(crate) fn checks(
        &mut self,
        src: &Source<'_>,
        plan: &TablePlan,
        table_constraints: &mut Namespace,
        sp: &mut SchemaPlan,
    ) {
        for ck in &src.raw.schema.checks {
            match expr::translate(&ck.expr, self.source, self.target, &src.names) {
                Ok(e) => {
                    let name = self.constraint_name(&ck.name, plan, table_constraints);
                    let body = format!("CONSTRAINT {} CHECK ({e})", self.q(&name));
                    if self.target.constraints_in_create() {
                        sp.table_elements.push(body);
                    } else {
                        sp.post_data
                            .push(format!("ALTER TABLE {} ADD {body}", src.table_sql));
                    }
                }
                Err(why) => sp.warnings.push(format!(
                    "check constraint {} (`{}`) not translated: {why}",
                    ck.name, ck.expr
                )),
            }
        }
    }

    /// Foreign keys, run after every table's data and indexes.
    pub(crate) fn foreign_keys(
        &mut self,
        src: &Source<'_>,
        plan: &TablePlan,
        table_constraints: &mut Namespace,
        sp: &mut SchemaPlan,
    ) {
        let engine = self.target.engine();
        for fk in &src.raw.schema.foreign_keys {
            let key = source_key(self.source, &fk.ref_table);
            let Some(ref_target) = self.tables.get(&key).cloned() else {
                sp.warnings.push(format!(
                    "foreign key {} references {}, which is not copied; not created",
                    fk.name, fk.ref_table
                ));
                continue;
            };
            let mut actions = String::new();
            let mut bad = None;
            for (what, action) in [("DELETE", &fk.on_delete), ("UPDATE", &fk.on_update)] {
                let a = action.to_ascii_uppercase();
                if a == "NO ACTION" {
                    continue;
                }
                if let Err(why) = self.target.foreign_key_action(&a) {
                    bad = Some(format!("ON {what} {a}, {why}"));
                    continue;
                }
                actions.push_str(&format!(" ON {what} {a}"));
            }
            if let Some(why) = bad {
                sp.warnings
                    .push(format!("foreign key {}: {why}; not created", fk.name));
                continue;
            }
            if let Some(extra) = &fk.extra {
                if expr::same(self.source, self.target) {
                    actions.push(' ');
                    actions.push_str(extra);
                } else {
                    sp.warnings.push(format!(
                        "foreign key {}: {extra} has no equivalent in {engine}; created without it",
                        fk.name
                    ));
                }
            }
            let name = self.constraint_name(&fk.name, plan, table_constraints);
            let list = |cols: &[String]| {
                cols.iter()
                    .map(|c| self.q(c))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let body = format!(
                "CONSTRAINT {} FOREIGN KEY ({}) REFERENCES {} ({}){actions}",
                self.q(&name),
                list(&fk.columns),
                self.target.table_sql(&ref_target),
                list(&fk.ref_columns)
            );
            if self.target.constraints_in_create() {
                // Declared with the table; the rows are checked after the data.
                sp.table_elements.push(body);
                if let Some(check) = self.target.foreign_key_check(&src.table_sql) {
                    if !sp.foreign_keys.contains(&check) {
                        sp.foreign_keys.push(check);
                    }
                }
            } else {
                sp.foreign_keys
                    .push(format!("ALTER TABLE {} ADD {body}", src.table_sql));
            }
            if !self.source.enforces_foreign_keys() {
                sp.row_checks.push(self.orphans(src, fk));
            }
        }
    }

    /// The source rows whose foreign key `fk` finds no parent, as a
    /// condition in the source's SQL (a row with a NULL in the key has no
    /// parent to find, as SQL's MATCH SIMPLE says).
    fn orphans(&self, src: &Source<'_>, fk: &ForeignKeyDef) -> RowCheck {
        let s = self.source;
        let child = s.table_sql(&src.raw.table);
        let parent = s.table_sql(&fk.ref_table);
        let mut cond: Vec<String> = fk
            .columns
            .iter()
            .map(|c| format!("{child}.{} IS NOT NULL", s.quote_ident(c)))
            .collect();
        let joins: Vec<String> = fk
            .columns
            .iter()
            .zip(&fk.ref_columns)
            .map(|(c, r)| {
                format!(
                    "ferry_parent.{} = {child}.{}",
                    s.quote_ident(r),
                    s.quote_ident(c)
                )
            })
            .collect();
        cond.push(format!(
            "NOT EXISTS (SELECT 1 FROM {parent} AS ferry_parent WHERE {})",
            joins.join(" AND ")
        ));
        RowCheck {
            column: fk.columns.join(", "),
            cond: cond.join(" AND "),
            problem: format!(
                "rows whose foreign key {} finds no row in {} (the source does not enforce it)",
                fk.name, fk.ref_table
            ),
        }
    }
}
