//! `ferry plan`: the dry run. Describes and plans every table, translates the
//! schema, runs the value pre-flight scan on the source, and prints every
//! decision and every warning before any row moves. The engine runs the
//! same checks as `ferry copy`'s gate; this file only renders them.
//!
//! Exit codes: 0 the plan is clean; 1 something blocks the copy (a value the
//! target cannot hold, a collation collision, an index that cannot be built;
//! with `--strict` also any schema object that does not translate); 2 error.

use std::process::ExitCode;

use serde_json::json;

use ferry_engine::job::{CopySettings, TableOptions};
use ferry_engine::run::{plan_job, DdlProof, PlanOutcome};
use ferry_engine::schema::Finding;
use ferry_engine::Job;

use crate::job_args::{switch, JobArgs};
use crate::Format;

#[derive(clap::Args)]
pub struct PlanArgs {
    /// The source, target and tables (the target is read for its server
    /// family and existing tables, never written).
    #[command(flatten)]
    job: JobArgs,
    /// Tables that must be copied in parallel key ranges (as for `ferry copy`).
    #[arg(long, value_delimiter = ',', value_name = "TABLE")]
    split: Vec<String>,
    /// Also print every statement the copy would run on the target, in order.
    #[arg(long)]
    ddl: bool,
    /// Count schema objects that do not translate as blocking too.
    #[arg(long)]
    strict: bool,
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
}

pub async fn run_plan(args: PlanArgs) -> anyhow::Result<ExitCode> {
    let job = args.job.job(Job {
        copy: CopySettings {
            strict: switch(args.strict),
            ..CopySettings::default()
        },
        table_options: args
            .split
            .iter()
            .map(|t| TableOptions {
                name: t.clone(),
                split: true,
                ..Default::default()
            })
            .collect(),
        ..Job::default()
    })?;
    let (source_url, target_url) = args.job.urls(&job)?;
    let outcome = plan_job(&job, source_url, target_url).await?;
    let PlanOutcome {
        source,
        target,
        plans,
        findings,
        blocking,
        ddl,
        proof,
        unplannable,
        not_copied,
        write_note,
    } = &outcome;
    let ddl = args.ddl.then_some(ddl);
    match args.format {
        Format::Json => {
            let tables: Vec<_> = plans
                .iter()
                .map(|p| {
                    json!({
                        "source": p.source,
                        "target": p.target,
                        "row_filter": p.row_filter,
                        "columns": p.columns.iter().enumerate().map(|(i, c)| json!({
                            "name": c.name,
                            "source_type": c.source_type,
                            "target_type": c.target_type,
                            "conversion": c.conversion,
                            "lossy": c.conversion.is_lossy(),
                            "rule": c.rule,
                            "extra": p.schema.column_suffix.get(i).map(|s| s.trim()).unwrap_or(""),
                            "reshape": p.reshape.as_ref().map(|r| r.describe_column(p, i)).unwrap_or_default(),
                        })).collect::<Vec<_>>(),
                        "checks": p.reshape.as_ref().map(|r| r.checks.clone()).unwrap_or_default(),
                        "dropped_columns": p.reshape.as_ref().map(|r| r.dropped.clone()).unwrap_or_default(),
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
                "ddl_proof": proof,
                "not_copied": not_copied,
                "write_note": write_note,
                "unplannable": unplannable.iter().map(|(t, e)| json!({"table": t, "error": e})).collect::<Vec<_>>(),
            });
            println!("{}", serde_json::to_string_pretty(&doc)?);
        }
        Format::Text => print!("{}", render_text(&outcome, ddl.map(Vec::as_slice))),
    }
    Ok(if blocking.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The human report. Holds no URL, database name or row estimate, so the same
/// source schema always prints the same text (the snapshot tests rely on it).
fn render_text(outcome: &PlanOutcome, ddl: Option<&[String]>) -> String {
    use std::fmt::Write;
    let PlanOutcome {
        source,
        target,
        plans,
        findings,
        blocking,
        proof,
        unplannable,
        ..
    } = outcome;
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
        if let Some(r) = &p.reshape {
            let _ = writeln!(out, "  job transforms and checks:");
            for i in 0..p.columns.len() {
                let how = r.describe_column(p, i);
                if !how.is_empty() {
                    let _ = writeln!(out, "    {}: {how}", p.columns[i].name);
                }
            }
            for c in &r.checks {
                let _ = writeln!(out, "    check {}: {}", c.name, c.text);
            }
            if !r.dropped.is_empty() {
                let _ = writeln!(out, "    dropped: {}", r.dropped.join(", "));
            }
        }
        if let Some(f) = &p.row_filter {
            let _ = writeln!(out, "  where: {f}");
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
    if !outcome.not_copied.is_empty() {
        let _ = writeln!(
            out,
            "\nnot copied (not tables): {}",
            ferry_engine::run::count_kinds(&outcome.not_copied)
        );
        for o in &outcome.not_copied {
            let _ = writeln!(out, "  {} {}", o.kind, o.name);
        }
    }
    for (table, error) in unplannable {
        let _ = writeln!(out, "\ntable {table}: not planned: {error}");
    }
    // A proven plan says nothing more: "clean" already means the DDL ran.
    match proof {
        DdlProof::NotProven { reason } => {
            let _ = writeln!(
                out,
                "\nnote: the DDL was not proven on the target: {reason}"
            );
        }
        DdlProof::Refused { table, error } => {
            let _ = writeln!(
                out,
                "\nerror: the target refused the DDL of table {table}: {error}"
            );
        }
        DdlProof::Proven { .. } | DdlProof::Nothing => {}
    }
    if let Some(note) = &outcome.write_note {
        let _ = writeln!(out, "\nnote: {note}");
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
