//! Secondary indexes and unique constraints, and fitting keys into a
//! target's key-length limit.
//!
//! Where the target limits keys (InnoDB: 3072 bytes, TEXT/BLOB only through
//! a prefix), for each index:
//! - a unique key over large-object columns turns those columns into bounded
//!   strings sharing the budget — a prefix would make the key stricter than
//!   the source's — and the value pre-flight counts the values longer than
//!   that (see the engine's preflight);
//! - a non-unique index uses prefixes instead, keeping the column's type;
//! - a unique key over declared columns wider than the budget cannot be
//!   built: that is an error naming the index.
//!
//! Prefix key parts become `left(column, n)` expression parts where the
//! target has no prefix parts, which index exactly the same prefix (and
//! enforce the same uniqueness); the way back recognises that form.

use std::collections::HashMap;

use ferry_core::dialect::{IndexMethod, IndexSql, KeyLimit, KeyWidth, NameScope};
use ferry_core::schema::{IndexDef, SchemaPlan, UniqueKey};
use ferry_core::TablePlan;

use crate::{expr, Ctx, Namespace, Source};

/// What became of one index.
enum Built {
    Sql(String, Option<UniqueKey>),
    /// A definition inside CREATE TABLE.
    Element(String, Option<UniqueKey>),
    Skipped(String),
    Failed(String),
}

/// One key part: a column (maybe a prefix of it) or an expression.
struct Part {
    column: Option<String>,
    /// The column quoted, or `(expression)`, in target SQL.
    sql: String,
    prefix: Option<u32>,
    desc: bool,
}

impl Ctx<'_> {
    /// Secondary indexes and unique constraints, named in the target's scope.
    pub(crate) fn indexes(
        &mut self,
        src: &Source<'_>,
        plan: &mut TablePlan,
        types: &mut HashMap<String, String>,
        sp: &mut SchemaPlan,
    ) {
        let target = self.target;
        let mut index_names = Namespace::new(target.names_ignore_case());
        for reserved in target.reserved_index_names() {
            index_names.take(reserved);
        }
        let schema_key = plan.target.schema.clone().unwrap_or_default();
        for ix in &src.raw.schema.indexes {
            let name = match target.index_name_scope() {
                NameScope::Schema => self
                    .relations
                    .entry(schema_key.clone())
                    .or_insert_with(Namespace::exact)
                    .claim(target, &ix.name, &plan.target.name),
                NameScope::Table => index_names.claim(target, &ix.name, &plan.target.name),
                NameScope::SchemaOwn => self
                    .constraints
                    .entry(schema_key.clone())
                    .or_insert_with(|| Namespace::new(target.names_ignore_case()))
                    .claim(target, &ix.name, &plan.target.name),
            };
            if name.1 {
                sp.warnings.push(format!(
                    "index {} is named {} in the target (too long or taken)",
                    ix.name, name.0
                ));
            }
            match self.index(ix, &name.0, src, plan, types) {
                Built::Sql(sql, key) => {
                    sp.post_data.push(sql);
                    sp.unique_keys.extend(key);
                }
                Built::Element(sql, key) => {
                    sp.table_elements.push(sql);
                    sp.unique_keys.extend(key);
                }
                Built::Skipped(w) => sp.warnings.push(w),
                Built::Failed(e) => sp.errors.push(e),
            }
        }
    }

    /// Translates one index for the target.
    fn index(
        &self,
        ix: &IndexDef,
        name: &str,
        src: &Source<'_>,
        plan: &mut TablePlan,
        types: &mut HashMap<String, String>,
    ) -> Built {
        let (source, target) = (self.source, self.target);
        let same = expr::same(source, target);
        let engine = target.engine();
        let what = if ix.unique { "unique index" } else { "index" };
        let skip =
            |why: String| Built::Skipped(format!("{what} {} not translated: {why}", ix.name));
        let mut parts = Vec::new();
        for p in &ix.parts {
            let (column, expr_sql, prefix) = match (&p.column, &p.expr) {
                (Some(c), _) => (Some(c.clone()), None, p.prefix),
                (None, Some(e)) if same => (None, Some(e.clone()), None),
                (None, Some(e)) => match target.expression_indexes() {
                    Ok(()) => match expr::translate(e, source, target, &src.names) {
                        Ok(x) => (None, Some(x), None),
                        Err(why) => return skip(format!("expression key part `{e}`: {why}")),
                    },
                    // A prefix written as an expression is still a prefix.
                    Err(why) => match source
                        .parse_expr(e, &src.names)
                        .ok()
                        .and_then(|t| t.as_left_prefix())
                        .filter(|(c, _)| target.prefix_indexes() && src.names.contains(c))
                    {
                        Some((c, n)) => (Some(c), None, Some(n)),
                        None => return skip(format!("expression key part `{e}` ({why})")),
                    },
                },
                (None, None) => return skip("an empty key part".into()),
            };
            let sql = match (&column, expr_sql) {
                (_, Some(x)) => format!("({x})"),
                (Some(c), None) => self.q(c),
                (None, None) => unreachable!("a part is a column or an expression"),
            };
            parts.push(Part {
                column,
                sql,
                prefix,
                desc: p.descending,
            });
        }
        // Methods and predicates.
        let method = ix.method.to_ascii_lowercase();
        let Some(method) = target.index_method(&method, same) else {
            return skip(format!("{method} indexes have no equivalent in {engine}"));
        };
        let mut predicate = None;
        if let Some(pred) = &ix.predicate {
            if same {
                predicate = Some(pred.clone());
            } else if target.partial_indexes() {
                match expr::translate(pred, source, target, &src.names) {
                    Ok(p) => predicate = Some(p),
                    Err(why) => return skip(format!("partial index predicate `{pred}`: {why}")),
                }
            } else {
                return skip(format!("partial index (WHERE {pred}): {engine} has none"));
            }
        }
        if let (Some(limit), false) = (target.key_limit(), method == IndexMethod::Fulltext) {
            if let Err(e) = self.fit_key(ix, limit, &mut parts, plan, types) {
                return e;
            }
        }
        let rendered: Vec<String> = parts
            .iter()
            .map(|p| {
                let mut s = match p.prefix {
                    Some(n) => target.prefix_part(&p.sql, n),
                    None => p.sql.clone(),
                };
                if p.desc {
                    s.push_str(" DESC");
                }
                s
            })
            .collect();
        let plain = parts.iter().all(|p| {
            p.column.is_some() && (p.prefix.is_none() || target.prefix_indexes()) && !p.desc
        });
        let key = (ix.unique
            && parts
                .iter()
                .all(|p| p.column.is_some() && p.prefix.is_none()))
        .then(|| UniqueKey {
            name: name.to_string(),
            columns: parts.iter().filter_map(|p| p.column.clone()).collect(),
        });
        // A UNIQUE constraint goes into CREATE TABLE where constraints
        // cannot be added later (its name kept in the table's text).
        if target.constraints_in_create()
            && ix.unique
            && ix.constraint
            && plain
            && predicate.is_none()
            && method == IndexMethod::Default
        {
            return Built::Element(
                format!(
                    "CONSTRAINT {} UNIQUE ({})",
                    self.q(name),
                    rendered.join(", ")
                ),
                key,
            );
        }
        let sql = target.create_index(&IndexSql {
            name,
            table_sql: &src.table_sql,
            unique: ix.unique,
            constraint: ix.constraint,
            plain,
            method,
            parts: &rendered,
            predicate: predicate.as_deref(),
        });
        Built::Sql(sql, key)
    }

    /// Fits one index's key into the target's key limit: prefixes for a
    /// plain index, narrower column types for a unique one, or an error.
    fn fit_key(
        &self,
        ix: &IndexDef,
        limit: KeyLimit,
        parts: &mut [Part],
        plan: &mut TablePlan,
        types: &mut HashMap<String, String>,
    ) -> Result<(), Built> {
        let target = self.target;
        let engine = target.engine();
        let what = if ix.unique { "unique index" } else { "index" };
        let type_of = |types: &HashMap<String, String>, c: Option<&String>| {
            c.and_then(|c| types.get(c)).cloned().unwrap_or_default()
        };
        // Key bytes of one character of a narrowed text column, as the
        // target counts them (InnoDB utf8mb4: 4; SQL Server nvarchar: 2).
        let char_bytes = match target.key_width(&target.narrowed_string_type(false, 1)) {
            KeyWidth::Bytes(b) if b > 0 => u64::from(b),
            _ => 4,
        };
        // Characters of a prefix, in key bytes.
        let per_char = |ty: &str| {
            if target.key_counts_bytes(ty) {
                1
            } else {
                char_bytes
            }
        };
        let mut fixed: u64 = 0;
        let mut lobs = Vec::new();
        for (k, p) in parts.iter().enumerate() {
            let Some(c) = &p.column else { continue };
            let ty = type_of(types, Some(c));
            match (target.key_width(&ty), p.prefix) {
                (KeyWidth::NotIndexable, _) => {
                    return Err(Built::Skipped(format!(
                        "{what} {} not translated: column {c} of type {ty} cannot be indexed in {engine}",
                        ix.name
                    )))
                }
                (_, Some(n)) => fixed += u64::from(n) * per_char(&ty),
                (KeyWidth::Bytes(b), None) => fixed += u64::from(b),
                (KeyWidth::NeedsPrefix, None) => lobs.push(k),
            }
        }
        let budget = u64::from(limit.bytes);
        let lob_count = u64::try_from(lobs.len()).unwrap_or(u64::MAX);
        // A non-unique index is fitted with key prefixes, which need native
        // prefix parts or an expression index over `left()`; an engine with
        // neither (SQL Server) cannot build it.
        let prefixes = target.prefix_indexes() || target.expression_indexes().is_ok();
        let needs_prefix = !lobs.is_empty() || fixed > budget;
        if !ix.unique && needs_prefix && !prefixes {
            return Err(Built::Skipped(format!(
                "{what} {} not translated: its columns do not fit {}'s {budget}-byte key \
                 and {engine} has no prefix or expression indexes",
                ix.name, limit.owner
            )));
        }
        if fixed > budget || (!lobs.is_empty() && fixed + 4 * lob_count > budget) {
            if ix.unique {
                return Err(Built::Failed(format!(
                    "{what} {}: its columns take {fixed} bytes, more than {}'s {budget}-byte key limit",
                    ix.name, limit.owner
                )));
            }
            // Non-unique: prefixes on every string part, sharing the budget.
            let strings: Vec<usize> = parts
                .iter()
                .enumerate()
                .filter(|(_, p)| {
                    p.column
                        .as_ref()
                        .is_some_and(|c| target.key_prefixable(&type_of(types, Some(c))))
                })
                .map(|(k, _)| k)
                .collect();
            let other: u64 = fixed
                - strings
                    .iter()
                    .filter(|k| !lobs.contains(k))
                    .map(|&k| {
                        let ty = type_of(types, parts[k].column.as_ref());
                        let width = match target.key_width(&ty) {
                            KeyWidth::Bytes(b) => Some(b),
                            KeyWidth::NeedsPrefix => None,
                            KeyWidth::NotIndexable => Some(u32::MAX),
                        };
                        u64::from(parts[k].prefix.map(|n| n * 4).or(width).unwrap_or(0))
                    })
                    .sum::<u64>();
            let n = u64::try_from(strings.len().max(1)).unwrap_or(1);
            let share = budget.saturating_sub(other) / n;
            for k in strings {
                let ty = type_of(types, parts[k].column.as_ref());
                let chars = share / per_char(&ty);
                parts[k].prefix = Some(u32::try_from(chars).unwrap_or(1).max(1));
            }
        } else if !lobs.is_empty() {
            let share = (budget - fixed) / lob_count;
            for k in lobs {
                let c = parts[k].column.clone().unwrap_or_default();
                let ty = types.get(&c).cloned().unwrap_or_default();
                let binary = target.key_counts_bytes(&ty);
                let len = u32::try_from(share / per_char(&ty)).unwrap_or(1);
                if ix.unique {
                    // A prefix would make the key stricter than the source's:
                    // change the column's type instead (values that do not
                    // fit are counted by the pre-flight and refused by the sink).
                    let new_type = target.narrowed_string_type(binary, len);
                    if let Some(cp) = plan.columns.iter_mut().find(|cp| cp.name == c) {
                        cp.target_type = new_type.clone();
                        cp.rule.push_str(&format!(
                            " (in unique key {}: {} key length limit)",
                            ix.name, limit.owner
                        ));
                    }
                    types.insert(c, new_type);
                } else {
                    parts[k].prefix = Some(len);
                }
            }
        }
        Ok(())
    }
}
