//! The `ferry` command line: parse → resolve → run → report.
//!
//! Exit codes: 0 success; 1 differences found (verify); 2 error (bad input,
//! connection or authentication failure, a table that failed to copy).

mod connect_args;
mod plan_cmd;
mod progress;
mod resume_args;
mod verify_cmd;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand, ValueEnum};

use ferry_core::error::chain_line;
use ferry_core::{DbUrl, Engine, IfExists, TableRef};
use ferry_engine::{
    copy, default_workers, plan_tables, Adapter, CopyOptions, CopyReport, Selection,
};
use ferry_mapping::Mappings;

const EXIT_ERROR: u8 = 2;

#[derive(Parser)]
#[command(
    name = "ferry",
    version,
    about = "Copy tables between PostgreSQL and MySQL/MariaDB with exact types"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Copy tables from the source into the target, creating target tables.
    Copy(CopyArgs),
    /// Print the effective type mapping from one engine to another.
    Mappings(MappingsArgs),
    /// Dry run: per table and column the decisions, every warning, and a scan
    /// of the source for values the target cannot hold. Exit 0 when clean, 1 when not.
    Plan(plan_cmd::PlanArgs),
    /// Compare tables across engines: exit 0 when equal, 1 on differences, 2 on error.
    Verify(verify_cmd::VerifyArgs),
}

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Format {
    Text,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum IfExistsArg {
    Fail,
    Truncate,
    Append,
}

#[derive(clap::Args)]
struct CopyArgs {
    /// Source URL: postgres://user[:password]@host[:port]/db or mysql://…
    /// (password also from FERRY_SOURCE_PASSWORD, PGPASSWORD or MYSQL_PWD).
    #[arg(long)]
    source: String,
    /// Target URL (password also from FERRY_TARGET_PASSWORD, PGPASSWORD or MYSQL_PWD).
    #[arg(long)]
    target: String,
    /// Tables to copy, comma-separated (`name` or `schema.name`). Default: all.
    #[arg(long, value_delimiter = ',')]
    tables: Vec<String>,
    /// Tables that must be copied in parallel key ranges, comma-separated:
    /// refuse to start if one has no primary key ferry splits on.
    #[arg(long, value_delimiter = ',', value_name = "TABLE")]
    split: Vec<String>,
    /// Source schema (PostgreSQL) or database (MySQL). Default: public / the URL's.
    #[arg(long)]
    schema: Option<String>,
    /// Target schema (PostgreSQL) or database (MySQL). Default: public / the URL's.
    #[arg(long)]
    target_schema: Option<String>,
    /// What to do with a target table that already exists.
    #[arg(long, value_enum, default_value = "fail")]
    if_exists: IfExistsArg,
    /// A TOML file of per-type and per-column mapping overrides.
    #[arg(long)]
    mapping: Option<PathBuf>,
    /// Rows per batch.
    #[arg(long, default_value_t = 8192, value_parser = at_least_one())]
    batch_rows: usize,
    /// Tables copied at the same time (kept for compatibility; --workers decides).
    #[arg(long, default_value_t = 2, value_parser = at_least_one())]
    parallel_tables: usize,
    #[command(flatten)]
    connect: connect_args::ConnectArgs,
    /// Ranges copied at once, each with its own source and target session.
    /// Default: the machine's available parallelism, at least 2.
    #[arg(long, value_parser = at_least_one())]
    workers: Option<usize>,
    /// PostgreSQL source: create this logical replication slot (pgoutput) and
    /// copy from its exported snapshot, so a later sync starts exactly there.
    #[arg(long, value_name = "NAME", conflicts_with = "lock_source")]
    cdc_slot: Option<String>,
    /// MySQL source: allow a brief FLUSH TABLES WITH READ LOCK so every
    /// worker reads the same instant (needs the RELOAD privilege).
    #[arg(long)]
    lock_source: bool,
    /// Compare each range with the source right after it commits, reading
    /// the source from the copy's snapshot (exit 1 when anything differs).
    #[arg(long)]
    verify: bool,
    /// No progress output.
    #[arg(long, short)]
    quiet: bool,
    /// Summary format.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    /// Copy even when the plan is not clean (see `ferry plan`).
    #[arg(long)]
    allow_unclean: bool,
    /// Treat schema objects that do not translate as blocking.
    #[arg(long)]
    strict: bool,
    #[command(flatten)]
    resume: resume_args::ResumeArgs,
}

#[derive(clap::Args)]
struct MappingsArgs {
    /// Source engine: postgres or mysql.
    #[arg(long)]
    source: String,
    /// Target engine: postgres or mysql.
    #[arg(long)]
    target: String,
    /// A TOML file of overrides to validate along with the built-in rules.
    #[arg(long)]
    mapping: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(EXIT_ERROR);
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Copy(args) => run_copy(args).await,
            Command::Mappings(args) => run_mappings(args),
            Command::Plan(args) => plan_cmd::run_plan(args).await,
            Command::Verify(args) => verify_cmd::run_verify(args).await,
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            let chain: &(dyn std::error::Error + 'static) = e.as_ref();
            eprintln!("error: {}", chain_line(chain));
            ExitCode::from(EXIT_ERROR)
        }
    }
}

fn load_mappings(path: Option<&PathBuf>) -> anyhow::Result<Mappings> {
    let m = Mappings::builtin()?;
    Ok(match path {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("cannot read mapping file {}", p.display()))?;
            m.with_overrides(&p.display().to_string(), &text)?
        }
        None => m,
    })
}

/// Parses a URL and completes it from flags, files and the environment
/// (see [`connect_args::resolve`]). `role` is `SOURCE` or `TARGET`.
fn resolve_url(
    raw: &str,
    role: &str,
    connect: &connect_args::ConnectArgs,
) -> anyhow::Result<DbUrl> {
    let role = if role == "SOURCE" {
        connect_args::Role::Source
    } else {
        connect_args::Role::Target
    };
    connect_args::resolve(raw, role, connect)
}

/// A count flag that must be at least 1 (`--workers 0` is refused by clap).
fn at_least_one() -> fn(&str) -> Result<usize, String> {
    |s| match s.parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err("expected a whole number of at least 1".to_string()),
    }
}

/// Refuses a `[[column]]` override naming a column its table lacks.
fn check_override_columns(
    mappings: &Mappings,
    plans: &[ferry_core::TablePlan],
    file: Option<&PathBuf>,
) -> anyhow::Result<()> {
    for plan in plans {
        let names: Vec<&str> = plan.columns.iter().map(|c| c.name.as_str()).collect();
        if let Some(o) = mappings
            .unknown_override_columns(&plan.source, &names)
            .first()
        {
            bail!(
                "mapping {}: [[column]] table {} column {}: table {} has no such column",
                file.map(|f| f.display().to_string()).unwrap_or_default(),
                o.table,
                o.column,
                plan.source
            );
        }
    }
    Ok(())
}

/// Flags that make sense only for one source engine, refused before anything
/// connects.
fn check_source_flags(args: &CopyArgs, source: &DbUrl) -> anyhow::Result<()> {
    if args.cdc_slot.is_some() && source.engine != Engine::Postgres {
        bail!(
            "--cdc-slot needs a PostgreSQL source (the source is {})",
            source.engine
        );
    }
    if args.lock_source && source.engine != Engine::MySql {
        bail!(
            "--lock-source needs a MySQL/MariaDB source (the source is {})",
            source.engine
        );
    }
    if let Some(schema) = &args.schema {
        if let Some(t) = args
            .tables
            .iter()
            .map(|t| TableRef::parse(t))
            .find(|t| t.schema.as_deref().is_some_and(|s| s != schema))
        {
            bail!(
                "--tables names {t} but --schema is {schema}: qualify tables with one schema or drop --schema"
            );
        }
    }
    Ok(())
}

async fn run_copy(args: CopyArgs) -> anyhow::Result<ExitCode> {
    let source_url = resolve_url(&args.source, "SOURCE", &args.connect)?;
    let target_url = resolve_url(&args.target, "TARGET", &args.connect)?;
    check_source_flags(&args, &source_url)?;
    resume_args::check(&args.resume)?;
    let mappings = load_mappings(args.mapping.as_ref())?;
    let source = Arc::new(Adapter::new(source_url.clone()));
    let target = Arc::new(Adapter::new(target_url.clone()));
    let selection = Selection {
        tables: args.tables.iter().map(|t| TableRef::parse(t)).collect(),
        schema: args.schema.clone(),
        target_schema: args.target_schema.clone(),
    };
    let plans = plan_tables(&source, target.engine(), &mappings, &selection).await?;
    check_override_columns(&mappings, &plans, args.mapping.as_ref())?;
    let split: Vec<TableRef> = args.split.iter().map(|t| TableRef::parse(t)).collect();
    ferry_engine::split::check_split(&source, &plans, &split).await?;
    // Reaching the target before any work: a wrong password fails here, not after reading.
    let preexisting = target.list_tables(args.target_schema.as_deref()).await?;
    plan_cmd::check_before_copy(
        &source,
        &target,
        &plans,
        args.quiet,
        args.strict,
        // Rows the scan found are exactly what reject mode sets aside.
        args.allow_unclean || args.resume.rejecting(),
    )
    .await?;
    let schema_plans = plans.clone();

    let run_state =
        resume_args::open_state(&args.resume, &source_url, &target_url, &plans, &args).await?;
    let mut options = CopyOptions {
        if_exists: match args.if_exists {
            IfExistsArg::Fail => IfExists::Fail,
            IfExistsArg::Truncate => IfExists::Truncate,
            IfExistsArg::Append => IfExists::Append,
        },
        batch_rows: args.batch_rows,
        parallel_tables: args.parallel_tables,
        workers: args.workers.unwrap_or_else(default_workers).max(1),
        snapshot: ferry_core::range::SnapshotOptions {
            sessions: 0,
            cdc_slot: args.cdc_slot.clone(),
            allow_lock: args.lock_source,
        },
        verify: args.verify.then(|| ferry_engine::verify::VerifyOptions {
            batch_rows: args.batch_rows,
            ..Default::default()
        }),
        ..CopyOptions::default()
    };
    options.preexisting = preexisting;
    let reject_file = resume_args::apply(&args.resume, run_state, &mut options)?;
    let progress = progress::Progress::new(args.quiet, &plans);
    let started = std::time::Instant::now();
    let report = copy(source, target.clone(), plans, &options, progress.sink()).await;
    progress.finish();
    let report = report?;
    // Indexes and constraints once per run: by the process that finished
    // it, or for the tables that copied when some failed (as without state).
    if resume_args::builds_schema(&report) {
        plan_cmd::finish_after_copy(
            &target,
            &schema_plans,
            &report,
            &report.preexisting,
            args.quiet,
        )
        .await?;
        resume_args::remember_schema_built(&options, &report).await?;
        resume_args::mark_finished(&options, &report).await?;
    }
    print_report(
        &report,
        args.format,
        &source_url,
        &target_url,
        started.elapsed().as_secs_f64(),
    );
    resume_args::print_run(&report, args.format, reject_file.as_deref());
    let differences: u64 = report.verified.iter().map(|v| v.differences).sum();
    if report.failed.is_empty() && differences > 0 {
        eprintln!("ferry: verification after copy found {differences} differences");
        Ok(ExitCode::from(1))
    } else if report.failed.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        for f in &report.failed {
            eprintln!("{}", failure_line(&f.table, &f.error));
        }
        Ok(ExitCode::from(EXIT_ERROR))
    }
}

/// `error: table t: …`, without naming the table twice when the error's
/// own line starts with it.
fn failure_line(table: &impl std::fmt::Display, error: &str) -> String {
    if error.starts_with("table ") {
        format!("error: {error}")
    } else {
        format!("error: table {table}: {error}")
    }
}

fn print_report(report: &CopyReport, format: Format, source: &DbUrl, target: &DbUrl, seconds: f64) {
    match format {
        Format::Json => {
            let doc = serde_json::json!({
                "source": source.to_string(),
                "target": target.to_string(),
                "seconds": seconds,
                "rows_read": report.rows_read(),
                "rows_written": report.rows_written(),
                "tables": report.tables,
                "failed": report.failed,
                "snapshot": report.snapshot,
                "splits": report.splits,
                "ranges": report.ranges,
                "verified": report.verified,
                "rows_rejected": report.rows_rejected(),
                "retries": report.retries,
                "run": report.run,
            });
            println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
        }
        Format::Text => {
            println!(
                "{:<40} {:>12} {:>12} {:>9} {:>9} {:>12}",
                "table", "read", "written", "rejected", "seconds", "rows/s"
            );
            for t in &report.tables {
                println!(
                    "{:<40} {:>12} {:>12} {:>9} {:>9.2} {:>12.0}",
                    format!("{} → {}", t.table, t.target),
                    t.rows_read,
                    t.rows_written,
                    t.rows_rejected,
                    t.seconds,
                    t.rows_per_second
                );
            }
            for f in &report.failed {
                println!("{:<40} FAILED: {}", f.table.to_string(), f.error);
            }
            for s in report
                .splits
                .iter()
                .filter(|s| s.ranges > 1 || s.note.is_some())
            {
                let note = s
                    .note
                    .as_deref()
                    .map(|n| format!(": {n}"))
                    .unwrap_or_default();
                println!("{}: {} ranges ({:?}){note}", s.table, s.ranges, s.method);
            }
            for v in &report.verified {
                println!(
                    "verified {}: {} rows compared, {} differences",
                    v.table, v.rows_compared, v.differences
                );
                for d in &v.diffs {
                    let key: Vec<String> = d.key.iter().map(|(c, v)| format!("{c}={v}")).collect();
                    let cols = if d.columns.is_empty() {
                        String::new()
                    } else {
                        format!(" columns {}", d.columns.join(", "))
                    };
                    println!("  {:?} {}{cols}", d.kind, key.join(", "));
                }
            }
            if let Some(snap) = &report.snapshot {
                println!("snapshot: {}", snap.method);
                if let Some(pos) = &snap.position {
                    println!(
                        "snapshot position: {}",
                        serde_json::to_string(pos).unwrap_or_default()
                    );
                }
            }
            println!(
                "total: {} tables copied, {} failed, {} rows in {:.2}s",
                report.tables.len(),
                report.failed.len(),
                report.rows_written(),
                seconds
            );
        }
    }
}

fn run_mappings(args: MappingsArgs) -> anyhow::Result<ExitCode> {
    let parse = |s: &str| {
        Engine::parse(s).with_context(|| format!("unknown engine `{s}` (postgres or mysql)"))
    };
    let (source, target) = (parse(&args.source)?, parse(&args.target)?);
    let mappings = load_mappings(args.mapping.as_ref())?;
    let rows = mappings.matrix(source, target);
    if args.format == Format::Json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!("{source} → {target}");
    if source == target {
        println!("(same engine: each column keeps its declared type; these rules apply to domains, JSON and overrides)");
    }
    println!(
        "{:<22} {:<12} {:<58} conversion",
        "source type", "logical", "target type"
    );
    for r in rows {
        println!(
            "{:<22} {:<12} {:<58} {}",
            r.source_type, r.logical, r.target_type, r.conversion
        );
        for n in &r.notes {
            println!("{:<22} {:<12} note: {n}", "", "");
        }
    }
    Ok(ExitCode::SUCCESS)
}
