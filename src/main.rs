//! The `ferry` command line: parse → resolve → run → render.
//!
//! The engine runs every job ([`ferry_engine::run`]); this binary only turns
//! arguments into a [`Job`], renders the engine's events and reports, and
//! maps the outcome to an exit code:
//!
//! | code | meaning |
//! |---|---|
//! | 0 | success: copied, equal, or a clean plan |
//! | 1 | differences found (verify, `copy --verify`) or a plan that is not clean |
//! | 2 | error: bad input, a connection or authentication failure, a table that failed |

mod connect_args;
mod cutover_cmd;
mod job_args;
mod plan_cmd;
mod progress;
mod render;
mod report_cmd;
mod resume_args;
mod sync_cmd;
mod verify_cmd;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};

use ferry_core::error::chain_line;
use ferry_core::{Engine, IfExists};
use ferry_engine::job::CopySettings;
use ferry_engine::Job;

use job_args::{switch, JobArgs};

const EXIT_ERROR: u8 = 2;

#[derive(Parser)]
#[command(
    name = "ferry",
    version,
    about = "Copy tables between PostgreSQL, MySQL/MariaDB and SQL Server with exact types"
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
    /// Apply the changes committed on the source after a `copy --cdc-slot`
    /// to the target, until stopped (SIGINT/SIGTERM) or `--until`; `ferry
    /// sync status` shows where a sync stands.
    Sync(Box<sync_cmd::SyncArgs>),
    /// Switch the application from blue (the source) to green (the target):
    /// fence, drain, verify, sequences, the way back armed, switch, with a
    /// measured freeze window. A dry run unless --execute.
    Cutover(cutover_cmd::CutoverArgs),
    /// Write the HTML report of a past run (one made with --report) again
    /// from the state store.
    Report(report_cmd::ReportArgs),
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
    #[command(flatten)]
    job: JobArgs,
    /// Tables that must be copied in parallel key ranges, comma-separated:
    /// refuse to start if one has no primary key ferry splits on.
    #[arg(long, value_delimiter = ',', value_name = "TABLE")]
    split: Vec<String>,
    /// What to do with a target table that already exists (default: fail).
    #[arg(long, value_enum)]
    if_exists: Option<IfExistsArg>,
    /// Rows per batch. [default: 8192]
    #[arg(long, value_parser = at_least_one())]
    batch_rows: Option<usize>,
    /// Bytes per batch: a batch closes at --batch-rows or this, whichever
    /// comes first; a larger row travels alone (e.g. 16MB, 512K). [default: 16MB]
    #[arg(long, value_name = "SIZE", value_parser = byte_size())]
    batch_bytes: Option<usize>,
    /// Ranges copied at once, each with its own source and target session.
    /// Default: the machine's available parallelism, at least 2.
    #[arg(long, value_parser = at_least_one())]
    workers: Option<usize>,
    /// Make the copy followable by `ferry sync --slot NAME`: on PostgreSQL,
    /// create this logical replication slot (pgoutput) and copy from its
    /// exported snapshot; on MySQL, record the snapshot's binary log
    /// position under this name. Either way a sync starts exactly where the
    /// copy's snapshot ends.
    #[arg(long, value_name = "NAME")]
    cdc_slot: Option<String>,
    /// Copy, then keep following: apply every change committed on the
    /// source after the copy's snapshot, as `ferry sync` does, until
    /// stopped (SIGINT/SIGTERM) or --until. Implies --cdc-slot (named
    /// ferry_follow_<hash of source, target and tables> unless given). If
    /// the following stops, `ferry sync --slot NAME` with the same flags
    /// resumes it.
    #[arg(long)]
    follow: bool,
    /// With --follow: stop by itself at this source position, or `now`
    /// (the source's position when the following started).
    #[arg(long, value_name = "POSITION|now", requires = "follow")]
    until: Option<String>,
    /// With --follow: leave the slot on the source when it ends.
    #[arg(long, requires = "follow")]
    keep_slot: bool,
    /// Allow a brief global read lock (MySQL FLUSH TABLES WITH READ LOCK,
    /// needs RELOAD) so every worker reads the same instant.
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
    /// Rows per table the pre-flight reads for values the target cannot
    /// hold, before anything is created (0: none). The copy refuses the rest
    /// by key as it reads them; `ferry plan` reads every row. [default: 100000]
    #[arg(long, value_name = "N")]
    preflight_rows: Option<u64>,
    /// Write an HTML report of the run to FILE (self-contained; also saved
    /// in the state store for `ferry report <run-id>`).
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
    #[command(flatten)]
    resume: resume_args::ResumeArgs,
}

impl CopyArgs {
    /// The job these flags describe, over the `--job` file.
    fn job(&self) -> anyhow::Result<Job> {
        let mut flags = Job {
            copy: CopySettings {
                if_exists: self.if_exists.map(|a| match a {
                    IfExistsArg::Fail => IfExists::Fail,
                    IfExistsArg::Truncate => IfExists::Truncate,
                    IfExistsArg::Append => IfExists::Append,
                }),
                batch_rows: self.batch_rows,
                batch_bytes: self.batch_bytes,
                workers: self.workers,
                cdc_slot: self.cdc_slot.clone(),
                lock_source: switch(self.lock_source),
                verify: switch(self.verify),
                allow_unclean: switch(self.allow_unclean),
                strict: switch(self.strict),
                preflight_rows: self.preflight_rows,
                ..CopySettings::default()
            },
            table_options: self
                .split
                .iter()
                .map(|t| ferry_engine::job::TableOptions {
                    name: t.clone(),
                    split: true,
                    ..Default::default()
                })
                .collect(),
            report: self.report.clone(),
            ..Job::default()
        };
        self.resume.apply_to(&mut flags.copy, &mut flags.state);
        self.job.job(flags)
    }
}

#[derive(clap::Args)]
struct MappingsArgs {
    /// Source engine: postgres, mysql, mssql or sqlite.
    #[arg(long)]
    source: String,
    /// Target engine: postgres, mysql, mssql or sqlite.
    #[arg(long)]
    target: String,
    /// A TOML file of overrides to validate along with the built-in rules.
    #[arg(long)]
    mapping: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
}

/// Makes glibc's malloc hand every allocation of 1 MiB or more back to the
/// kernel when it is freed. By default glibc raises that threshold (up to
/// 32 MiB) each time such a block is freed, after which batches of wide
/// rows are carved from its heaps and their freed space stays resident:
/// measured on 100 rows of 5 MB, a copy peaked at 262 MB and a verify at
/// 512 MB with the default, 166 MB and 249 MB with a fixed threshold. The
/// memory bound by batch bytes (README "Memory") holds only with it.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
fn bound_malloc() {
    // SAFETY: mallopt only sets an allocator parameter; it is called once,
    // first thing in main, before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn bound_malloc() {}

fn main() -> ExitCode {
    bound_malloc();
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
            Command::Sync(args) => sync_cmd::run_sync(*args).await,
            Command::Report(args) => report_cmd::run_report(args).await,
            Command::Cutover(args) => cutover_cmd::run_cutover(args).await,
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

/// A count flag that must be at least 1 (`--workers 0` is refused by clap).
/// A size in bytes: a whole number with an optional `K`, `M` or `G` (powers
/// of 1024, with or without `B`/`iB`), at least one byte.
pub(crate) fn byte_size() -> fn(&str) -> Result<usize, String> {
    |s| {
        let t = s.trim();
        let digits = t.len() - t.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        let (n, unit) = t.split_at(digits);
        let shift = match unit.trim().to_ascii_uppercase().as_str() {
            "" | "B" => 0,
            "K" | "KB" | "KIB" => 10,
            "M" | "MB" | "MIB" => 20,
            "G" | "GB" | "GIB" => 30,
            _ => return Err("expected a size such as 16MB, 512K or 1048576".into()),
        };
        match n
            .parse::<usize>()
            .ok()
            .and_then(|n| n.checked_mul(1 << shift))
        {
            Some(n) if n >= 1 => Ok(n),
            _ => Err("expected a size of at least one byte, such as 16MB".into()),
        }
    }
}

fn at_least_one() -> fn(&str) -> Result<usize, String> {
    |s| match s.parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err("expected a whole number of at least 1".to_string()),
    }
}

async fn run_copy(args: CopyArgs) -> anyhow::Result<ExitCode> {
    let mut job = args.job()?;
    let (source_url, target_url) = args.job.urls(&job)?;
    if args.follow && job.copy.cdc_slot.is_none() {
        job.copy.cdc_slot = Some(follow_slot(&job, &source_url, &target_url));
    }
    let progress = progress::Progress::new(args.quiet);
    let recording = report_cmd::Recording::start(&job);
    let sink = match &recording {
        Some(r) => r.tee(progress.sink()),
        None => progress.sink(),
    };
    let outcome =
        ferry_engine::run::copy_job(&job, source_url.clone(), target_url.clone(), sink).await;
    progress.finish();
    let outcome = outcome?;
    let report = &outcome.report;
    render::print_report(
        report,
        &outcome.not_copied,
        args.format,
        &source_url,
        &target_url,
        outcome.seconds,
    );
    resume_args::print_run(report, args.format, outcome.reject_file.as_deref());
    if args.format == Format::Text && !outcome.not_copied.is_empty() {
        println!(
            "left out: {} schema objects that are not tables ({}; see `ferry plan`)",
            outcome.not_copied.len(),
            ferry_engine::run::count_kinds(&outcome.not_copied)
        );
    }
    let differences: u64 = report.verified.iter().map(|v| v.differences).sum();
    let code = if report.failed.is_empty() && differences > 0 {
        eprintln!("ferry: verification after copy found {differences} differences");
        1
    } else if report.failed.is_empty() {
        0
    } else {
        for f in &report.failed {
            eprintln!("{}", render::failure_line(&f.table, &f.error));
        }
        EXIT_ERROR
    };
    let follow = args.follow && code == 0;
    if let Some(recording) = recording {
        let run_id = report
            .run
            .as_ref()
            .map(|r| r.run_id.clone())
            .unwrap_or_else(|| report_cmd::fresh_run_id(ferry_report::Command::Copy));
        let summary = render::copy_document(
            report,
            &outcome.not_copied,
            &source_url,
            &target_url,
            outcome.seconds,
        );
        recording
            .finish(
                &job,
                ferry_report::Command::Copy,
                &run_id,
                &source_url,
                &target_url,
                summary,
                code,
                outcome.reject_file.as_deref(),
            )
            .await?;
    }
    if !follow {
        return Ok(ExitCode::from(code));
    }
    let slot = job.copy.cdc_slot.clone().unwrap_or_default();
    if args.format == Format::Text && !args.quiet {
        eprintln!("following the source's changes on stream {slot}");
    }
    let settings = sync_cmd::FollowSettings {
        until: args.until.clone(),
        keep_slot: args.keep_slot,
        group_changes: 5000,
        group_wait_ms: 200,
        quiet: args.quiet,
        format: args.format,
    };
    // The copy's report is written; the sync's would replace it.
    let follow_job = Job {
        report: None,
        ..job.clone()
    };
    sync_cmd::follow(&follow_job, &slot, &settings, source_url, target_url).await
}

/// The stream name `copy --follow` uses when none is given: the same for
/// the same source, target and tables, so a `ferry sync` with the copy's
/// flags can name it again (`ferry_follow_<16 hex digits>`, a valid
/// PostgreSQL slot name).
fn follow_slot(job: &Job, source: &ferry_core::DbUrl, target: &ferry_core::DbUrl) -> String {
    let (s, t) = (source.to_string(), target.to_string());
    let mut parts: Vec<&str> = vec![&s, &t];
    parts.extend(job.tables.iter().map(String::as_str));
    format!("ferry_follow_{}", ferry_state::run_id(&parts))
}

fn run_mappings(args: MappingsArgs) -> anyhow::Result<ExitCode> {
    let parse = |s: &str| {
        Engine::parse(s).with_context(|| format!("unknown engine `{s}` ({})", Engine::names()))
    };
    let (source, target) = (parse(&args.source)?, parse(&args.target)?);
    let mappings = ferry_engine::run::load_mappings(&Job {
        mapping: args.mapping.clone(),
        ..Job::default()
    })?;
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
