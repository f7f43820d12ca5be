//! `ferry plan`: the dry run. Describes and plans every table, translates the
//! schema, runs the value pre-flight scan on the source, and prints every
//! decision and every warning before any row moves. The same checks guard
//! `ferry copy` ([`check_before_copy`], [`finish_after_copy`]).
//!
//! Exit codes: 0 the plan is clean; 1 something blocks the copy (a value the
//! target cannot hold, a collation collision, an index that cannot be built;
//! with `--strict` also any schema object that does not translate); 2 error.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::bail;
use serde_json::json;

use ferry_core::{TablePlan, TableRef};
use ferry_engine::schema::{all_ddl, blockers, finish_schema, preflight, Finding};
use ferry_engine::{plan_tables, Adapter, CopyReport, Selection};

use crate::{load_mappings, resolve_url, Format};

#[derive(clap::Args)]
pub struct PlanArgs {
    /// Source URL (as for `ferry copy`).
    #[arg(long)]
    source: String,
    /// Target URL (as for `ferry copy`); read for its server family and existing tables, never written.
    #[arg(long)]
    target: String,
    /// Tables to plan, comma-separated (`name` or `schema.name`). Default: all.
    #[arg(long, value_delimiter = ',')]
    tables: Vec<String>,
    /// Source schema (PostgreSQL) or database (MySQL).
    #[arg(long)]
    schema: Option<String>,
    /// Target schema (PostgreSQL) or database (MySQL).
    #[arg(long)]
    target_schema: Option<String>,
    /// A TOML file of per-type and per-column mapping overrides.
    #[arg(long)]
    mapping: Option<PathBuf>,
    /// Also print every statement the copy would run on the target, in order.
    #[arg(long)]
    ddl: bool,
    /// Count schema objects that do not translate as blocking too.
    #[arg(long)]
    strict: bool,
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    #[command(flatten)]
    connect: crate::connect_args::ConnectArgs,
}

pub async fn run_plan(args: PlanArgs) -> anyhow::Result<ExitCode> {
    let source = Adapter::new(resolve_url(&args.source, "SOURCE", &args.connect)?);
    let target = Adapter::new(resolve_url(&args.target, "TARGET", &args.connect)?);
    let mappings = load_mappings(args.mapping.as_ref())?;
    let selection = Selection {
        tables: args.tables.iter().map(|t| TableRef::parse(t)).collect(),
        schema: args.schema.clone(),
        target_schema: args.target_schema.clone(),
    };
    let plans = plan_tables(&source, target.engine(), &mappings, &selection).await?;
    crate::check_override_columns(&mappings, &plans, args.mapping.as_ref())?;
    let findings = preflight(&source, &target, &plans).await?;
    let blocking = blockers(&plans, &findings, args.strict);
    let ddl = args.ddl.then(|| all_ddl(&target, &plans));
    match args.format {
        Format::Json => {
            let tables: Vec<_> = plans
                .iter()
                .map(|p| {
                    json!({
                        "source": p.source,
                        "target": p.target,
                        "columns": p.columns.iter().enumerate().map(|(i, c)| json!({
                            "name": c.name,
                            "source_type": c.source_type,
                            "target_type": c.target_type,
                            "conversion": c.conversion,
                            "lossy": c.conversion.is_lossy(),
                            "rule": c.rule,
                            "extra": p.schema.column_suffix.get(i).map(|s| s.trim()).unwrap_or(""),
                        })).collect::<Vec<_>>(),
                        "generated_columns": p.schema.generated,
                        "primary_key": p.primary_key.iter().map(|&i| &p.columns[i].name).collect::<Vec<_>>(),
                        "after_data": p.schema.post_data,
                        "foreign_keys": p.schema.foreign_keys,
                        "sequences": p.schema.sequences,
                        "warnings": p.schema.warnings,
                        "errors": p.schema.errors,
                        "findings": findings.iter().filter(|f| f.table == p.source).collect::<Vec<_>>(),
                    })
                })
                .collect();
            let doc = json!({
                "source_engine": source.engine(),
                "target_engine": target.engine(),
                "clean": blocking.is_empty(),
                "blocking": blocking,
                "tables": tables,
                "ddl": ddl,
            });
            println!("{}", serde_json::to_string_pretty(&doc)?);
        }
        Format::Text => print!(
            "{}",
            render_text(
                &source,
                &target,
                &plans,
                &findings,
                &blocking,
                ddl.as_deref()
            )
        ),
    }
    Ok(if blocking.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The human report. Holds no URL, database name or row estimate, so the same
/// source schema always prints the same text (the snapshot tests rely on it).
fn render_text(
    source: &Adapter,
    target: &Adapter,
    plans: &[TablePlan],
    findings: &[Finding],
    blocking: &[String],
    ddl: Option<&[String]>,
) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(out, "plan: {} → {}", source.engine(), target.engine());
    for p in plans {
        let _ = writeln!(out, "\ntable {} → {}", p.source, p.target);
        let _ = writeln!(
            out,
            "  {:<18} {:<26} {:<26} {:<18} extra",
            "column", "source type", "target type", "conversion"
        );
        for (i, c) in p.columns.iter().enumerate() {
            let mut extra = p
                .schema
                .column_suffix
                .get(i)
                .map(|s| s.trim().to_string())
                .unwrap_or_default();
            if p.primary_key.contains(&i) {
                extra = format!("PRIMARY KEY {extra}").trim().to_string();
            }
            let _ = writeln!(
                out,
                "  {:<18} {:<26} {:<26} {:<18} {extra}",
                c.name,
                c.source_type,
                c.target_type,
                c.conversion.name()
            );
        }
        for g in &p.schema.generated {
            let _ = writeln!(
                out,
                "  generated column (computed by the target, not copied): {}",
                g.definition
            );
        }
        let n = |v: &Vec<String>| v.len();
        let _ = writeln!(
            out,
            "  after the data: {} index/constraint/trigger statements, {} foreign keys, {} sequence steps",
            n(&p.schema.post_data),
            n(&p.schema.foreign_keys),
            n(&p.schema.sequences)
        );
        for w in &p.schema.warnings {
            let _ = writeln!(out, "  warning: {w}");
        }
        for e in &p.schema.errors {
            let _ = writeln!(out, "  error: {e}");
        }
        let mine: Vec<&Finding> = findings.iter().filter(|f| f.table == p.source).collect();
        if mine.is_empty() {
            let _ = writeln!(out, "  values: nothing the target cannot hold");
        }
        for f in mine {
            let tag = if f.blocking {
                "blocks the copy"
            } else {
                "lossy rule in effect"
            };
            let mut line = format!(
                "  values: column {}: {} {} ({tag})",
                f.column, f.count, f.problem
            );
            if let Some(k) = &f.first_key {
                line.push_str(&format!(", first at {k}"));
            }
            let _ = writeln!(out, "{line}");
        }
    }
    if let Some(ddl) = ddl {
        let _ = writeln!(
            out,
            "\n-- the statements `ferry copy` runs on the target, in order"
        );
        for s in ddl {
            let _ = writeln!(out, "{s};");
        }
    }
    if blocking.is_empty() {
        let _ = writeln!(out, "\nthe plan is clean");
    } else {
        let _ = writeln!(
            out,
            "\nthe plan is not clean: {} problem(s) block the copy",
            blocking.len()
        );
    }
    out
}

/// `ferry copy`'s pre-flight: prints schema warnings and lossy-rule counts
/// (unless quiet) and refuses an unclean plan unless `allow_unclean`.
pub async fn check_before_copy(
    source: &Adapter,
    target: &Adapter,
    plans: &[TablePlan],
    quiet: bool,
    strict: bool,
    allow_unclean: bool,
) -> anyhow::Result<()> {
    let findings = preflight(source, target, plans).await?;
    if !quiet {
        for p in plans {
            for w in &p.schema.warnings {
                eprintln!("warning: table {}: {w}", p.source);
            }
        }
        for f in findings.iter().filter(|f| !f.blocking) {
            eprintln!("note: {}", f.line());
        }
    }
    let blocking = blockers(plans, &findings, strict);
    if blocking.is_empty() {
        return Ok(());
    }
    if allow_unclean {
        if !quiet {
            for b in &blocking {
                eprintln!("warning: copying anyway (--allow-unclean): {b}");
            }
        }
        return Ok(());
    }
    bail!(
        "the plan is not clean: {} (`ferry plan` shows the whole report; --allow-unclean copies anyway)",
        blocking.join("; ")
    )
}

/// After the data: indexes, unique constraints, CHECKs, triggers, foreign
/// keys, then sequences, for the tables that copied.
pub async fn finish_after_copy(
    target: &Adapter,
    plans: &[TablePlan],
    report: &CopyReport,
    preexisting: &[TableRef],
    quiet: bool,
) -> anyhow::Result<()> {
    let copied: Vec<TableRef> = report.tables.iter().map(|t| t.table.clone()).collect();
    let done = finish_schema(target, plans, &copied, preexisting).await?;
    if !quiet {
        for s in &done.skipped {
            eprintln!("warning: foreign key not created (a table it joins did not copy): {s}");
        }
    }
    Ok(())
}
