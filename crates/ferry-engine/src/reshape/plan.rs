//! Planning a table's reshape from its job options, in two steps around
//! the mapping layer:
//!
//! 1. [`shape`]: the table as the target will have it, as a [`RawTable`]
//!    (kept columns by their new names, derived columns typed by the
//!    source's own description of their SQL), so the mapping rules and the
//!    schema translation decide it exactly as they decide a table;
//! 2. [`Shaped::finish`]: the written plan gets the built-ins' types and
//!    the [`Reshape`] (read plan, where each column comes from, checks).
//!
//! Every expression (derived column, SQL check) is described by the source
//! before anything is written: one it cannot evaluate stops the plan with
//! the server's reason.

use std::collections::{BTreeMap, BTreeSet};

use ferry_core::schema::{ColumnSchema, TableSchema};
use ferry_core::transform::{Builtin, CheckPlan, CheckRule, CheckSpec, ColumnSource, Reshape};
use ferry_core::{Dialect, Error, RawColumn, RawTable, RawType, Result, TablePlan};
use ferry_mapping::Mappings;

use crate::adapter::Adapter;
use crate::job::TableOptions;

/// Where a written column comes from.
#[derive(Debug, Clone)]
enum From {
    /// The source column of that name.
    Column(String),
    /// The source's SQL.
    Sql(String),
}

/// A table as the job shapes it, before the mapping rules.
#[derive(Debug, Clone)]
pub struct Shaped {
    /// The target's table as a catalog would describe it: written names,
    /// derived columns with their expression's type.
    pub written: RawTable,
    from: Vec<From>,
    transforms: Vec<Vec<Builtin>>,
    /// Source columns only checks read.
    hidden: Vec<RawColumn>,
    /// Name, text, spec and, for SQL, the computed column's type.
    checks: Vec<(String, String, CheckSpec, Option<RawType>)>,
    dropped: Vec<String>,
    /// Schema objects the reshape left out, for `plan`.
    pub warnings: Vec<String>,
}

fn refuse(raw: &RawTable, problem: String) -> Error {
    Error::Table {
        table: raw.table.to_string(),
        problem,
    }
}

/// Step 1: the table `options` make of `raw`. Asks `source` to describe
/// every expression (nothing is read or written).
pub async fn shape(source: &Adapter, raw: &RawTable, options: &TableOptions) -> Result<Shaped> {
    let find = |name: &str| raw.columns.iter().position(|c| c.name == name);
    let unknown = |what: &str, name: &str| {
        refuse(
            raw,
            format!("{what} names column {name}, which the table does not have"),
        )
    };
    // Kept columns and their written names, in the source's order.
    let mut renames: BTreeMap<String, String> = BTreeMap::new();
    let mut kept: Vec<bool> = vec![options.keep.is_empty(); raw.columns.len()];
    for entry in &options.keep {
        let (old, new) = match entry.split_once("->") {
            Some((o, n)) => (o.trim(), Some(n.trim())),
            None => (entry.trim(), None),
        };
        let i = find(old).ok_or_else(|| unknown("columns", old))?;
        kept[i] = true;
        if let Some(n) = new.filter(|n| *n != old) {
            renames.insert(old.to_string(), n.to_string());
        }
    }
    for d in &options.drop {
        let i = find(d).ok_or_else(|| unknown("drop", d))?;
        kept[i] = false;
    }
    for (old, new) in &options.rename {
        let i = find(old).ok_or_else(|| unknown("rename", old))?;
        if !kept[i] {
            return Err(refuse(
                raw,
                format!("rename names column {old}, which the job drops"),
            ));
        }
        renames.insert(old.clone(), new.clone());
    }
    let written_name = |c: &str| renames.get(c).cloned().unwrap_or_else(|| c.to_string());

    // Describe every expression at once: derived columns, then SQL checks.
    let specs: Vec<(String, String, CheckSpec)> = options
        .check
        .iter()
        .map(|(n, t)| (n.clone(), t.clone(), CheckSpec::parse(t)))
        .collect();
    let mut exprs: Vec<String> = options.derive.values().cloned().collect();
    let dialect = source.dialect();
    for (_, _, spec) in &specs {
        if let CheckSpec::Sql(p) = spec {
            exprs.push(dialect.check_column_sql(p));
        }
    }
    let mut described = if exprs.is_empty() {
        Vec::new()
    } else {
        source.describe_exprs(&raw.table, &exprs).await?
    }
    .into_iter();
    let mut derived: BTreeMap<String, (String, RawType)> = BTreeMap::new();
    for (name, sql) in &options.derive {
        let ty = described
            .next()
            .ok_or_else(|| Error::Bug("an expression left undescribed".into()))?
            .map_err(|why| {
                refuse(
                    raw,
                    format!("the source cannot evaluate derived column {name} = {sql}: {why}"),
                )
            })?;
        derived.insert(name.clone(), (sql.clone(), ty));
    }

    // Written columns: kept ones in source order (replaced in place by a
    // derived column of their written name), then new derived ones.
    let key_names: Vec<&str> = raw
        .primary_key
        .iter()
        .map(|&k| raw.columns[k].name.as_str())
        .collect();
    let mut columns = Vec::new();
    let mut from = Vec::new();
    let mut facts = Vec::new();
    let facts_of = |name: &str| {
        raw.schema
            .columns
            .iter()
            .find(|c| c.name == name)
            .cloned()
            .unwrap_or_default()
    };
    for (i, c) in raw.columns.iter().enumerate() {
        let is_key = key_names.contains(&c.name.as_str());
        if !kept[i] {
            if is_key {
                return Err(refuse(
                    raw,
                    format!(
                        "column {} is part of the primary key: it cannot be dropped",
                        c.name
                    ),
                ));
            }
            continue;
        }
        let name = written_name(&c.name);
        if is_key && (name != c.name || derived.contains_key(&name)) {
            return Err(refuse(
                raw,
                format!(
                    "column {} is part of the primary key: it is copied as it is (not renamed \
                     or derived), so that rejects, resumes and verify find rows by it",
                    c.name
                ),
            ));
        }
        let mut f = facts_of(&c.name);
        f.name = name.clone();
        match derived.remove(&name) {
            Some((sql, ty)) => {
                columns.push(RawColumn {
                    name: name.clone(),
                    ty,
                    nullable: true,
                });
                from.push(From::Sql(sql));
                facts.push(ColumnSchema {
                    name,
                    ..ColumnSchema::default()
                });
            }
            None => {
                columns.push(RawColumn { name, ..c.clone() });
                from.push(From::Column(c.name.clone()));
                facts.push(f);
            }
        }
    }
    for (name, (sql, ty)) in derived {
        if raw.columns.iter().any(|c| c.name == name) {
            return Err(refuse(
                raw,
                format!("derived column {name} replaces a column the job drops; keep it or name the derived column otherwise"),
            ));
        }
        columns.push(RawColumn {
            name: name.clone(),
            ty,
            nullable: true,
        });
        from.push(From::Sql(sql));
        facts.push(ColumnSchema {
            name,
            ..ColumnSchema::default()
        });
    }

    let mut seen = BTreeSet::new();
    if let Some(dup) = columns.iter().find(|c| !seen.insert(c.name.as_str())) {
        return Err(refuse(
            raw,
            format!("the job gives two written columns the name {}", dup.name),
        ));
    }

    // Built-ins, by written name.
    let mut transforms = vec![Vec::new(); columns.len()];
    for (name, list) in &options.transform {
        let i = columns
            .iter()
            .position(|c| &c.name == name)
            .ok_or_else(|| unknown("transform", name))?;
        if key_names.contains(&name.as_str()) {
            return Err(refuse(
                raw,
                format!("column {name} is part of the primary key: it cannot be transformed"),
            ));
        }
        for t in list.texts() {
            transforms[i].push(
                Builtin::parse(t).map_err(|why| refuse(raw, format!("column {name}: {why}")))?,
            );
        }
    }

    // Checks: built-ins read a source column (hidden when not written).
    let mut checks = Vec::new();
    let mut hidden: Vec<RawColumn> = Vec::new();
    for (name, text, spec) in specs {
        let sql_ty = match &spec {
            CheckSpec::Sql(p) => Some(
                described
                    .next()
                    .ok_or_else(|| Error::Bug("a check left undescribed".into()))?
                    .map_err(|why| {
                        refuse(
                            raw,
                            format!("the source cannot evaluate check {name} = {p}: {why}"),
                        )
                    })?,
            ),
            CheckSpec::NotNull(col) | CheckSpec::Matches(col, _) => {
                let i = find(col).ok_or_else(|| unknown(&format!("check {name}"), col))?;
                let written_here = from
                    .iter()
                    .any(|f| matches!(f, From::Column(c) if c == col));
                if !written_here && !hidden.iter().any(|h| &h.name == col) {
                    hidden.push(raw.columns[i].clone());
                }
                if let CheckSpec::Matches(_, re) = &spec {
                    regex::Regex::new(re).map_err(|e| {
                        refuse(raw, format!("check {name}: bad regular expression: {e}"))
                    })?;
                }
                None
            }
        };
        checks.push((name, text, spec, sql_ty));
    }

    // Source columns whose values the target no longer holds as they
    // were: dropped, replaced by a derived column, or transformed.
    let mut gone: BTreeSet<String> = raw
        .columns
        .iter()
        .enumerate()
        .filter(|(i, c)| !kept[*i] || options.derive.contains_key(&written_name(&c.name)))
        .map(|(_, c)| c.name.clone())
        .collect();
    for (i, ts) in transforms.iter().enumerate() {
        if let (false, From::Column(src)) = (ts.is_empty(), &from[i]) {
            gone.insert(src.clone());
        }
    }
    let mut warnings = Vec::new();
    let schema = shape_schema(&raw.schema, facts, &renames, &gone, &mut warnings);
    let primary_key = key_names
        .iter()
        .filter_map(|k| columns.iter().position(|c| c.name == *k))
        .collect();
    let dropped = raw
        .columns
        .iter()
        .enumerate()
        .filter(|(i, _)| !kept[*i])
        .map(|(_, c)| c.name.clone())
        .collect();
    Ok(Shaped {
        written: RawTable {
            columns,
            primary_key,
            schema,
            ..raw.clone()
        },
        from,
        transforms,
        hidden,
        checks,
        dropped,
        warnings,
    })
}

/// The source's schema facts for the shaped table: indexes, foreign keys
/// and CHECKs over renamed columns follow the new names; those over a
/// dropped, derived or transformed column are left out (each a warning),
/// since their meaning on the new values is unknown.
fn shape_schema(
    schema: &TableSchema,
    columns: Vec<ColumnSchema>,
    renames: &BTreeMap<String, String>,
    gone: &BTreeSet<String>,
    warnings: &mut Vec<String>,
) -> TableSchema {
    let is_gone = |name: &str| gone.contains(name);
    // Expressions are source SQL text: one that names a reshaped column
    // (renamed too: its text would need rewriting) is left out.
    let mentions = |text: &str| {
        gone.iter()
            .chain(renames.keys())
            .any(|n| text.contains(n.as_str()))
    };
    let rename = |n: &str| renames.get(n).cloned().unwrap_or_else(|| n.to_string());
    let mut out = TableSchema {
        columns,
        ..schema.clone()
    };
    for c in &mut out.columns {
        if let Some(g) = &c.generated {
            if mentions(&g.expr) || is_gone(&c.name) {
                warnings.push(format!(
                    "generated column {}: its expression reads a column the job reshapes; copied as a plain column",
                    c.name
                ));
                c.generated = None;
            }
        }
    }
    out.indexes.retain_mut(|ix| {
        let plain = ix.predicate.is_none() && ix.parts.iter().all(|p| p.column.is_some());
        let columns_stay = ix
            .parts
            .iter()
            .filter_map(|p| p.column.as_deref())
            .all(|c| !is_gone(c));
        let keep = columns_stay
            && (plain
                || !ix
                    .parts
                    .iter()
                    .filter_map(|p| p.expr.as_deref())
                    .chain(ix.predicate.as_deref())
                    .any(mentions));
        if keep {
            for p in &mut ix.parts {
                p.column = p.column.as_deref().map(rename);
            }
        } else {
            warnings.push(format!(
                "index {} is left out: it reads a column the job drops, derives or transforms",
                ix.name
            ));
        }
        keep
    });
    out.foreign_keys.retain_mut(|fk| {
        let keep = fk.columns.iter().all(|c| !is_gone(c));
        if keep {
            fk.columns = fk.columns.iter().map(|c| rename(c)).collect();
        } else {
            warnings.push(format!(
                "foreign key {} is left out: it reads a column the job drops, derives or transforms",
                fk.name
            ));
        }
        keep
    });
    out.checks.retain(|ck| {
        let keep = !mentions(&ck.expr);
        if !keep {
            warnings.push(format!(
                "CHECK {} is left out: it reads a column the job reshapes",
                ck.name
            ));
        }
        keep
    });
    out
}

impl Shaped {
    /// Step 2: `plan` (the mapping layer's plan of [`Shaped::written`])
    /// with the built-ins' types and the reshape. `source` is the source
    /// engine's dialect; hidden and check columns are typed by the same
    /// rules.
    pub fn finish(
        self,
        mut plan: TablePlan,
        mappings: &Mappings,
        raw: &RawTable,
        source_engine: ferry_core::Engine,
        source: &dyn Dialect,
        target: &dyn Dialect,
    ) -> Result<TablePlan> {
        // Hidden and check columns, typed as the reader reads them.
        let mut extra: Vec<RawColumn> = self.hidden.clone();
        let mut check_sql = Vec::new();
        for (n, (_, _, spec, ty)) in self.checks.iter().enumerate() {
            if let (CheckSpec::Sql(p), Some(ty)) = (spec, ty) {
                extra.push(RawColumn {
                    name: format!("ferry_check_{n}"),
                    ty: ty.clone(),
                    nullable: true,
                });
                check_sql.push(source.check_column_sql(p));
            }
        }
        let extra_plan = mappings.plan_table(
            &RawTable {
                table: raw.table.clone(),
                columns: extra,
                ..RawTable::default()
            },
            source_engine,
            target,
            plan.target.clone(),
        )?;
        let mut read = plan.clone();
        read.schema = Default::default();
        read.reshape = None;
        for (c, f) in read.columns.iter_mut().zip(&self.from) {
            match f {
                From::Column(name) => c.name = name.clone(),
                From::Sql(sql) => c.expr = Some(sql.clone()),
            }
        }
        let hidden_count = self.hidden.len();
        let mut check_cols = check_sql.into_iter();
        for (i, mut c) in extra_plan.columns.into_iter().enumerate() {
            if i >= hidden_count {
                c.expr = check_cols.next();
            }
            read.columns.push(c);
        }
        let written_count = plan.columns.len();
        let mut checks = Vec::new();
        let mut sql_n = 0;
        for (name, text, spec, _) in self.checks {
            // `shape` read every column a built-in check names.
            let read_index = |col: &str| {
                read.columns
                    .iter()
                    .position(|c| c.expr.is_none() && c.name == col)
                    .ok_or_else(|| Error::Bug(format!("check {name}: column {col} is not read")))
            };
            let (rule, column) = match spec {
                CheckSpec::Sql(_) => {
                    let rule = CheckRule::Sql {
                        column: written_count + hidden_count + sql_n,
                    };
                    sql_n += 1;
                    (rule, None)
                }
                CheckSpec::NotNull(col) => (
                    CheckRule::NotNull {
                        column: read_index(&col)?,
                    },
                    Some(col),
                ),
                CheckSpec::Matches(col, pattern) => {
                    let ty = &read.columns[read_index(&col)?].logical;
                    if Builtin::Lower.output(ty).is_err() {
                        return Err(refuse(
                            raw,
                            format!("check {name}: matches() takes a text column, not {ty}"),
                        ));
                    }
                    (
                        CheckRule::Matches {
                            column: read_index(&col)?,
                            pattern,
                        },
                        Some(col),
                    )
                }
            };
            checks.push(CheckPlan {
                name,
                text,
                column,
                rule,
            });
        }
        // The built-ins' types, by the mapping's write rules.
        let mut columns = Vec::with_capacity(written_count);
        for (i, ts) in self.transforms.into_iter().enumerate() {
            let c = &mut plan.columns[i];
            for t in &ts {
                let out = t
                    .output(&c.logical)
                    .map_err(|why| refuse(raw, format!("column {}: {why}", c.name)))?;
                if out != c.logical {
                    c.target_type = mappings.render_write(target, &out, &plan.target, &c.name);
                    c.logical = out;
                }
                if *t == Builtin::NullOut {
                    c.nullable = true;
                }
            }
            if !ts.is_empty() {
                c.rule.push_str(&format!(
                    " | {}",
                    ts.iter().map(|t| t.name()).collect::<Vec<_>>().join(" | ")
                ));
            }
            columns.push(ColumnSource {
                read: i,
                transforms: ts,
            });
        }
        plan.schema.warnings.extend(self.warnings);
        plan.reshape = Some(Box::new(Reshape {
            read,
            columns,
            checks,
            dropped: self.dropped,
        }));
        Ok(plan)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_core::schema::{CheckDef, ForeignKeyDef, IndexDef, IndexPart};

    fn part(c: &str) -> IndexPart {
        IndexPart {
            column: Some(c.into()),
            ..IndexPart::default()
        }
    }

    #[test]
    fn schema_objects_follow_renames_and_leave_reshaped_columns_out() {
        let schema = TableSchema {
            indexes: vec![
                IndexDef {
                    name: "by_email".into(),
                    parts: vec![part("email")],
                    ..IndexDef::default()
                },
                IndexDef {
                    name: "by_ssn".into(),
                    parts: vec![part("ssn")],
                    ..IndexDef::default()
                },
                IndexDef {
                    name: "by_lower_email".into(),
                    parts: vec![IndexPart {
                        expr: Some("lower(email)".into()),
                        ..IndexPart::default()
                    }],
                    ..IndexDef::default()
                },
                IndexDef {
                    name: "by_amount".into(),
                    parts: vec![part("amount")],
                    ..IndexDef::default()
                },
            ],
            foreign_keys: vec![ForeignKeyDef {
                name: "fk_email".into(),
                columns: vec!["email".into()],
                ..ForeignKeyDef::default()
            }],
            checks: vec![
                CheckDef {
                    name: "ck_email".into(),
                    expr: "email LIKE '%@%'".into(),
                },
                CheckDef {
                    name: "ck_amount".into(),
                    expr: "amount > 0".into(),
                },
            ],
            ..TableSchema::default()
        };
        let renames = BTreeMap::from([("email".to_string(), "contact_email".to_string())]);
        let gone = BTreeSet::from(["ssn".to_string()]);
        let mut warnings = Vec::new();
        let out = shape_schema(&schema, Vec::new(), &renames, &gone, &mut warnings);
        let names: Vec<&str> = out.indexes.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(names, ["by_email", "by_amount"]);
        assert_eq!(
            out.indexes[0].parts[0].column.as_deref(),
            Some("contact_email")
        );
        assert_eq!(out.foreign_keys[0].columns, ["contact_email"]);
        // A CHECK's SQL names the old column: left out, not rewritten.
        let checks: Vec<&str> = out.checks.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(checks, ["ck_amount"]);
        assert_eq!(warnings.len(), 3, "{warnings:?}");
        assert!(warnings.iter().any(|w| w.contains("index by_ssn")));
    }
}
