//! Column-level translation: names the target can hold, generated columns,
//! and the suffix of each column definition (default, ON UPDATE, identity,
//! comment).

use ferry_core::dialect::{AutoIncrement, CommentSql, OnUpdateNow};
use ferry_core::schema::{GeneratedColumnPlan, SchemaPlan};
use ferry_core::TablePlan;

use crate::{defaults, expr, shorten, Ctx, Namespace, Source};

/// The generated columns created in place, and the comment statements that
/// go with them (where comments are statements).
pub(crate) struct Generated {
    pub columns: Vec<GeneratedColumnPlan>,
    pub comments: Vec<String>,
}

fn no_comment(what: &str) -> String {
    format!("the comment on {what} is not kept: the target has no comments")
}

/// Takes the generated columns out of the plan's columns (they are neither
/// read nor written), keeping the primary key's indexes right.
pub(crate) fn drop_generated(plan: &mut TablePlan, generated: &[GeneratedColumnPlan]) {
    if generated.is_empty() {
        return;
    }
    let keep: Vec<bool> = plan
        .columns
        .iter()
        .map(|c| !generated.iter().any(|g| g.name == c.name))
        .collect();
    let old = std::mem::take(&mut plan.columns);
    let mut index_map = Vec::with_capacity(old.len());
    for (c, k) in old.into_iter().zip(&keep) {
        index_map.push(plan.columns.len());
        if *k {
            plan.columns.push(c);
        }
    }
    plan.primary_key = plan.primary_key.iter().map(|&i| index_map[i]).collect();
}

impl Ctx<'_> {
    /// Column names the target cannot hold: renaming columns would need
    /// the readers and writers to agree on two names, so it is refused.
    pub(crate) fn column_names(&self, src: &Source<'_>, sp: &mut SchemaPlan) {
        let target = self.target.engine();
        let mut seen = Namespace::new(self.target.names_ignore_case());
        for c in &src.names {
            if !self.target.identifier_fits(c) {
                sp.errors.push(format!(
                    "column {c}: the name is longer than {target} allows; rename it in the source"
                ));
            }
            if !seen.take(c) {
                sp.errors.push(format!(
                    "column {c}: another column differs from it only in letter case, which {target} does not tell apart"
                ));
            }
        }
    }

    /// Generated columns: created in place when the expression translates.
    pub(crate) fn generated_columns(
        &self,
        src: &Source<'_>,
        plan: &TablePlan,
        sp: &mut SchemaPlan,
    ) -> Generated {
        let mut out = Generated {
            columns: Vec::new(),
            comments: Vec::new(),
        };
        let pk_names: Vec<String> = plan
            .primary_key
            .iter()
            .map(|&i| plan.columns[i].name.clone())
            .collect();
        for (pos, col) in src.raw.columns.iter().enumerate() {
            let f = src.facts(&col.name);
            let Some(g) = &f.generated else { continue };
            if pk_names.contains(&col.name) {
                sp.warnings.push(format!(
                    "generated column {} is part of the primary key; copied as a plain column",
                    col.name
                ));
                continue;
            }
            let e = match expr::translate(&g.expr, self.source, self.target, &src.names) {
                Ok(e) => e,
                Err(why) => {
                    sp.warnings.push(format!(
                        "generated column {}: expression not translated ({why}); copied as a plain column",
                        col.name
                    ));
                    continue;
                }
            };
            let Some(cp) = plan.columns.iter().find(|c| c.name == col.name) else {
                continue;
            };
            let virtual_ok = self.target.virtual_generated();
            let kind = if g.stored || virtual_ok.is_err() {
                "STORED"
            } else {
                "VIRTUAL"
            };
            if let (false, Err(why)) = (g.stored, virtual_ok) {
                sp.warnings.push(format!(
                    "generated column {}: VIRTUAL becomes STORED ({why})",
                    col.name
                ));
            }
            let comment = match &f.comment {
                Some(c) => match self.target.column_comment(&src.table_sql, &col.name, c) {
                    CommentSql::Inline(s) => s,
                    CommentSql::Statement(s) => {
                        out.comments.push(s);
                        String::new()
                    }
                    CommentSql::None => {
                        sp.warnings
                            .push(no_comment(&format!("column {}", col.name)));
                        String::new()
                    }
                },
                None => String::new(),
            };
            out.columns.push(GeneratedColumnPlan {
                position: pos,
                name: col.name.clone(),
                definition: format!(
                    "{}{comment}",
                    self.target.generated_column_sql(
                        &self.q(&col.name),
                        &cp.target_type,
                        &e,
                        kind == "STORED",
                        !cp.nullable
                    )
                ),
            });
        }
        out
    }

    /// Column suffixes: defaults, ON UPDATE, identity, comments. Returns the
    /// columns whose ON UPDATE needs a trigger.
    pub(crate) fn column_suffixes(
        &self,
        src: &Source<'_>,
        plan: &TablePlan,
        sp: &mut SchemaPlan,
    ) -> Vec<String> {
        let t = src.table_sql.as_str();
        let lead_key = plan
            .primary_key
            .first()
            .map(|&i| plan.columns[i].name.clone());
        let only_key = plan.primary_key.len() == 1;
        let mut suffixes = Vec::with_capacity(plan.columns.len());
        let mut on_update = Vec::new();
        for cp in &plan.columns {
            let f = src.facts(&cp.name);
            let mut s = String::new();
            if f.generated.is_some() {
                // Copied as a plain column (its expression did not translate).
                suffixes.push(s);
                continue;
            }
            if let Some(d) = &f.default {
                match defaults::render(d, self.source, self.target, cp, &src.names) {
                    Ok(Some(sql)) => s.push_str(&format!(" DEFAULT {sql}")),
                    Ok(None) => {}
                    Err(why) => sp.warnings.push(format!(
                        "default of column {} (`{d}`) not translated: {why}",
                        cp.name
                    )),
                }
            }
            if f.on_update_now {
                match self.target.on_update_now(&cp.target_type) {
                    OnUpdateNow::Clause(c) => s.push_str(&c),
                    OnUpdateNow::Trigger => on_update.push(cp.name.clone()),
                    OnUpdateNow::Unsupported => sp.warnings.push(format!(
                        "column {}: ON UPDATE CURRENT_TIMESTAMP not translated to type {}",
                        cp.name, cp.target_type
                    )),
                }
            }
            if f.auto_increment {
                let col = AutoIncrement {
                    table_sql: t,
                    column: &cp.name,
                    target_type: &cp.target_type,
                    leads_key: lead_key.as_deref() == Some(cp.name.as_str()),
                    only_key: only_key && lead_key.as_deref() == Some(cp.name.as_str()),
                    next_value: f.next_value,
                    always: f.identity_always,
                    native: f
                        .auto_increment_clause
                        .as_deref()
                        .filter(|_| expr::same(self.source, self.target)),
                };
                match self.target.auto_increment(&col) {
                    Some(a) => {
                        s.push_str(&a.suffix);
                        sp.sequences.extend(a.sequences);
                        if let Some(key) = a.inline_key {
                            sp.warnings.push(format!(
                                "column {}: auto-increment kept; the target needs the counter to lead an index and it is not the first key column, so the table gets one more: {key}",
                                cp.name
                            ));
                            sp.table_elements.push(key);
                        }
                        if !f.sequence_shared_with.is_empty() {
                            sp.warnings.push(format!(
                                "column {}: its sequence is shared with table {}; on the target each table counts on its own (from past its max(key) and the sequence's position), so new keys are no longer unique across them",
                                cp.name,
                                f.sequence_shared_with.join(", ")
                            ));
                        }
                    }
                    None => sp.warnings.push(format!(
                        "column {}: auto-increment not translated (the target needs an integer column, it is {})",
                        cp.name, cp.target_type
                    )),
                }
            }
            if let Some(c) = &f.comment {
                match self.target.column_comment(t, &cp.name, c) {
                    CommentSql::Inline(c) => s.push_str(&c),
                    CommentSql::Statement(c) => sp.after_create.push(c),
                    CommentSql::None => {
                        sp.warnings.push(no_comment(&format!("column {}", cp.name)))
                    }
                }
            }
            suffixes.push(s);
        }
        sp.column_suffix = suffixes;
        on_update
    }

    pub(crate) fn table_comment(&self, src: &Source<'_>, sp: &mut SchemaPlan) {
        if let Some(c) = &src.raw.schema.comment {
            match self.target.table_comment(&src.table_sql, c) {
                CommentSql::Inline(options) => sp.table_options.push_str(&options),
                CommentSql::Statement(stmt) => sp.after_create.insert(0, stmt),
                CommentSql::None => sp.warnings.push(no_comment("the table")),
            }
        }
    }

    /// Table options of the source's own dialect (SQLite `WITHOUT ROWID`),
    /// kept between servers of one dialect; elsewhere a storage choice the
    /// target makes its own way.
    pub(crate) fn table_options(&self, src: &Source<'_>, sp: &mut SchemaPlan) {
        if let Some(options) = &src.raw.schema.options {
            if expr::same(self.source, self.target) {
                sp.table_options.push(' ');
                sp.table_options.push_str(options);
            }
        }
    }

    /// ON UPDATE CURRENT_TIMESTAMP as triggers, where the target needs them.
    pub(crate) fn on_update_triggers(
        &self,
        src: &Source<'_>,
        plan: &TablePlan,
        columns: Vec<String>,
        sp: &mut SchemaPlan,
    ) {
        if columns.is_empty() {
            return;
        }
        let named: Vec<(String, String)> = columns
            .into_iter()
            .map(|c| {
                let trigger = shorten(self.target, &format!("{c}_on_update"));
                (c, trigger)
            })
            .collect();
        sp.post_data.extend(
            self.target
                .on_update_triggers(&plan.target, &src.table_sql, &named),
        );
    }
}
