//! Planning and running copies.
//!
//! A run is: resolve the table list, describe and plan *every* table (nothing
//! is written until all plans are valid), prepare the targets, then copy the
//! tables, several at a time. Each table is one reader and one writer joined
//! by a bounded channel, so memory does not grow with table size.

pub mod adapter;
mod copy;
pub mod cutover;
mod failure;
pub mod job;
pub mod reject;
pub mod run;
pub mod schema;
pub mod split;
pub mod sync;
pub mod verify;

pub use adapter::{qualify, Adapter, SourceSnapshot, TargetWriter};
pub use copy::{
    copy, default_workers, CopyOptions, CopyReport, OnError, RangeReceipt, RangeRetry, RunState,
    TableFailure, TableRanges, TableVerified,
};
pub use job::{Job, TablePattern};

use ferry_core::{Engine, Error, RawTable, Result, TablePlan, TableRef};
use ferry_mapping::Mappings;

/// Which tables to take from the source and where they land.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Table names or globs (`name`, `schema.name`, `sales.*`); empty means
    /// every base table of `schema`. See [`job`] for the matching rules.
    pub tables: Vec<String>,
    /// Globs of tables to leave out.
    pub exclude: Vec<String>,
    /// Source schema (or database); `None` is the URL's default.
    pub schema: Option<String>,
    /// Target schema (or database); `None` is the URL's default.
    pub target_schema: Option<String>,
    /// Per-table options: target name and row filter.
    pub options: Vec<job::TableOptions>,
}

impl Selection {
    /// The selection a job describes.
    pub fn of_job(job: &Job) -> Selection {
        Selection {
            tables: job.tables.clone(),
            exclude: job.exclude.clone(),
            schema: job.schema.clone(),
            target_schema: job.target_schema.clone(),
            options: job.table_options.clone(),
        }
    }
}

/// The source tables a selection names, in the order given (globs expand
/// to their matches in name order), without duplicates or excluded ones.
pub async fn select_tables(source: &Adapter, selection: &Selection) -> Result<Vec<TableRef>> {
    let default_schema = qualify(source.engine(), selection.schema.as_deref());
    let exclude: Vec<TablePattern> = selection
        .exclude
        .iter()
        .map(|p| TablePattern::parse(p))
        .collect::<Result<_>>()?;
    let excluded = |t: &TableRef| {
        exclude
            .iter()
            .any(|p| p.matches(t, selection.schema.as_deref()))
    };
    let mut out: Vec<TableRef> = Vec::new();
    if selection.tables.is_empty() {
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
        out = found.into_iter().filter(|t| !excluded(t)).collect();
    } else {
        let mut listed: std::collections::HashMap<Option<String>, Vec<TableRef>> =
            Default::default();
        let mut globs_matched = false;
        let mut globs = Vec::new();
        for wanted in &selection.tables {
            let t = TableRef::parse(wanted);
            if let (Some(s), Some(given)) = (&t.schema, &selection.schema) {
                if s != given {
                    return Err(Error::Invalid(format!(
                        "--tables names {wanted} but --schema is {given}: qualify tables with one schema or drop --schema"
                    )));
                }
            }
            if !job::has_glob(wanted) {
                let t = match (&t.schema, &selection.schema) {
                    (None, Some(s)) => TableRef::new(Some(s), &t.name),
                    (None, None) => TableRef {
                        schema: default_schema.clone(),
                        name: t.name,
                    },
                    _ => t,
                };
                if !out.contains(&t) && !excluded(&t) {
                    out.push(t);
                }
                continue;
            }
            globs.push(wanted.clone());
            let pattern = TablePattern::parse(wanted)?;
            let schema = pattern.schema.clone().or(selection.schema.clone());
            if !listed.contains_key(&schema) {
                let found = source.list_tables(schema.as_deref()).await?;
                listed.insert(schema.clone(), found);
            }
            for t in &listed[&schema] {
                if pattern.matches(t, schema.as_deref()) && !out.contains(t) && !excluded(t) {
                    globs_matched = true;
                    out.push(t.clone());
                }
            }
        }
        if !globs.is_empty() && !globs_matched && out.is_empty() {
            return Err(Error::Invalid(format!(
                "no source table matches {}",
                globs.join(", ")
            )));
        }
    }
    if out.is_empty() {
        return Err(Error::Invalid(
            "every selected table is excluded: nothing to copy".into(),
        ));
    }
    Ok(out)
}

/// Describes and plans every selected table. Fails on the first table that is
/// missing or has a column without a rule, before anything touches the target.
pub async fn plan_tables(
    source: &Adapter,
    target: Engine,
    mappings: &Mappings,
    selection: &Selection,
) -> Result<Vec<TablePlan>> {
    let (plans, mut unplannable) = plan_tables_lenient(source, target, mappings, selection).await?;
    match unplannable.is_empty() {
        true => Ok(plans),
        false => Err(unplannable.swap_remove(0).1),
    }
}

/// Like [`plan_tables`], but a table whose columns have no rule does not
/// stop the others: it is returned beside the plans with its error (which
/// names the column, the type and the way out), so `ferry plan` can show
/// every other table's plan. Any other error still fails the call.
pub async fn plan_tables_lenient(
    source: &Adapter,
    target: Engine,
    mappings: &Mappings,
    selection: &Selection,
) -> Result<(Vec<TablePlan>, Vec<(TableRef, Error)>)> {
    let tables = select_tables(source, selection).await?;
    let mut plans = Vec::with_capacity(tables.len());
    let mut raws = Vec::with_capacity(tables.len());
    let mut unplannable = Vec::new();
    for t in &tables {
        let raw = source.describe(t).await?;
        let options = selection
            .options
            .iter()
            .find(|o| job::names_table(&TableRef::parse(&o.name), t, selection.schema.as_deref()));
        let target_table = TableRef {
            schema: qualify(target, selection.target_schema.as_deref()),
            name: options
                .and_then(|o| o.target.clone())
                .unwrap_or_else(|| raw.table.name.clone()),
        };
        let mut plan = match mappings.plan_table(&raw, source.engine(), target, target_table) {
            Ok(plan) => plan,
            Err(Error::UnsupportedType {
                table,
                column,
                ty,
                reason,
            }) => {
                let way_out = format!(
                    "{reason}; leave the table out with --exclude {table}, or give the column a rule with a [[column]] or [[type]] override (--mapping)"
                );
                unplannable.push((
                    t.clone(),
                    Error::UnsupportedType {
                        table,
                        column,
                        ty,
                        reason: way_out,
                    },
                ));
                continue;
            }
            Err(e) => return Err(e),
        };
        plan.row_filter = options.and_then(|o| o.row_filter.clone());
        plans.push(plan);
        raws.push(raw);
    }
    // Options for a table the source does not have are a typo in the job;
    // options for a table this run leaves out (narrowed by --tables or
    // --exclude) simply do not apply. Options that only ask for a split
    // are the split check's to refuse.
    for o in selection
        .options
        .iter()
        .filter(|o| o.target.is_some() || o.row_filter.is_some() || !o.columns.is_empty())
    {
        let wanted = TableRef::parse(&o.name);
        let taken = |ts: &[TableRef]| {
            ts.iter()
                .any(|t| job::names_table(&wanted, t, selection.schema.as_deref()))
        };
        if taken(&tables) {
            continue;
        }
        let schema = wanted.schema.as_deref().or(selection.schema.as_deref());
        if !taken(&source.list_tables(schema).await?) {
            return Err(Error::Table {
                table: o.name.clone(),
                problem: "the job has [[table]] options for a table the source does not have"
                    .into(),
            });
        }
    }
    check_override_columns(mappings, &plans)?;
    // Indexes, constraints, defaults, identity: all tables at once, so foreign
    // keys find their targets and names are checked across the target schema.
    ferry_schema::translate(
        &raws,
        &mut plans,
        source.dialect(),
        adapter::dialect_of(target),
    );
    left_out_children(&raws, &tables, &mut plans);
    Ok((plans, unplannable))
}

/// Warns, on the parent, of each inheritance child this run leaves out: the
/// parent is read with ONLY, so the child's rows (which the source shows
/// through the parent) reach the target with no table at all.
fn left_out_children(raws: &[RawTable], tables: &[TableRef], plans: &mut [TablePlan]) {
    for (raw, plan) in raws.iter().zip(plans.iter_mut()) {
        for child in &raw.inherited_by {
            let same = |t: &TableRef| {
                t.name == child.name && (t.schema.is_none() || t.schema == child.schema)
            };
            if !tables.iter().any(same) {
                plan.schema.warnings.push(format!(
                    "inheritance child {child} is left out of this run: its rows, which the source shows through this table, are not copied (read with ONLY); add it to --tables to copy them"
                ));
            }
        }
    }
}

/// Refuses a `[[column]]` override naming a column its table lacks.
fn check_override_columns(mappings: &Mappings, plans: &[TablePlan]) -> Result<()> {
    for plan in plans {
        let names: Vec<&str> = plan.columns.iter().map(|c| c.name.as_str()).collect();
        if let Some(o) = mappings
            .unknown_override_columns(&plan.source, &names)
            .first()
        {
            return Err(Error::Mapping {
                origin: mappings.user_origin().unwrap_or_default(),
                problem: format!(
                    "[[column]] table {} column {}: table {} has no such column",
                    o.table, o.column, plan.source
                ),
            });
        }
    }
    Ok(())
}
