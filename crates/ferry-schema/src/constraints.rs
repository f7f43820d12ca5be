//! CHECK constraints and foreign keys, named in the target's constraint
//! scope (per table, or per schema where the target scopes them so).

use ferry_core::dialect::NameScope;
use ferry_core::schema::SchemaPlan;
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
                    sp.post_data.push(format!(
                        "ALTER TABLE {} ADD CONSTRAINT {} CHECK ({e})",
                        src.table_sql,
                        self.q(&name)
                    ));
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
            sp.foreign_keys.push(format!(
                "ALTER TABLE {} ADD CONSTRAINT {} FOREIGN KEY ({}) REFERENCES {} ({}){actions}",
                src.table_sql,
                self.q(&name),
                list(&fk.columns),
                self.target.table_sql(&ref_target),
                list(&fk.ref_columns)
            ));
        }
    }
}
