//! `ferry copy` flags for run state, retries and rejects (issue 6), and the
//! lines they add to the summary.
//!
//! The run id is derived from what the job copies (redacted URLs, tables,
//! schemas, `--if-exists`, the mapping file), so re-running the same command
//! resumes it; `--run-id` names it instead (needed when several processes
//! share a run, e.g. a Kubernetes Job of N pods). The state store defaults to
//! `.ferry/<run-id>.db` (SQLite; `FERRY_STATE_DIR` moves the directory);
//! `--state postgres://…` shares one run between many processes.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context};
use clap::ValueEnum;

use ferry_core::{DbUrl, TablePlan};
use ferry_engine::reject::RejectWriter;
use ferry_engine::{CopyOptions, CopyReport, OnError, RunState};
use ferry_state::{run_id, PgStore, RunInfo, StateStore};

use crate::{CopyArgs, Format, IfExistsArg};

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum OnErrorArg {
    /// Stop the table at the first row the target refuses.
    Fail,
    /// Write the row's key and reason to the reject file and go on.
    Reject,
}

#[derive(clap::Args)]
pub struct ResumeArgs {
    /// Where the run's ranges are checkpointed: a SQLite file (default
    /// `.ferry/<run-id>.db`) or a postgres:// URL shared by several ferry
    /// processes (password also from FERRY_STATE_PASSWORD or PGPASSWORD).
    #[arg(long, value_name = "PATH|URL")]
    state: Option<String>,
    /// Names the run (default: derived from source, target, tables and options).
    #[arg(long, value_name = "ID")]
    run_id: Option<String>,
    /// Only resume: a finished run is left as it is (nothing is copied)
    /// instead of starting over.
    #[arg(long)]
    resume: bool,
    /// Retries of a range after a transient error (dropped connection,
    /// deadlock, server restart), with exponential backoff.
    #[arg(long, default_value_t = 5)]
    retries: u32,
    /// The first retry's delay in milliseconds (each next one doubles).
    #[arg(long, default_value_t = 500, value_name = "MS")]
    retry_delay_ms: u64,
    /// What a row the target refuses does: fail the table, or reject the row.
    #[arg(long, value_enum, default_value = "fail")]
    on_error: OnErrorArg,
    /// Smallest range worth splitting off (rows). Smaller ranges lose less
    /// work to a crash and retry faster; each costs a transaction.
    #[arg(long, default_value_t = 50_000, value_name = "ROWS")]
    min_range_rows: u64,
    /// Most ranges per table (default: 4 × --workers).
    #[arg(long, value_name = "N")]
    max_ranges: Option<usize>,
    /// The reject file (JSON lines: table, key, column, reason; never the
    /// value). Default: `.ferry/<run-id>.rejects.jsonl`.
    #[arg(long, value_name = "PATH")]
    reject_file: Option<PathBuf>,
}

fn state_dir() -> PathBuf {
    std::env::var_os("FERRY_STATE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(".ferry"))
}

fn if_exists_name(a: IfExistsArg) -> &'static str {
    match a {
        IfExistsArg::Fail => "fail",
        IfExistsArg::Truncate => "truncate",
        IfExistsArg::Append => "append",
    }
}

/// Refuses conflicting flags, before anything connects.
pub fn check(args: &ResumeArgs) -> anyhow::Result<()> {
    if args.reject_file.is_some() && args.on_error != OnErrorArg::Reject {
        bail!("--reject-file needs --on-error reject");
    }
    Ok(())
}

impl ResumeArgs {
    /// `--on-error reject`.
    pub fn rejecting(&self) -> bool {
        self.on_error == OnErrorArg::Reject
    }
}

/// Opens the state store and names the run.
pub async fn open_state(
    args: &ResumeArgs,
    source: &DbUrl,
    target: &DbUrl,
    plans: &[TablePlan],
    copy: &CopyArgs,
) -> anyhow::Result<RunState> {
    let mut tables: Vec<String> = plans
        .iter()
        .map(|p| format!("{}>{}", p.source, p.target))
        .collect();
    tables.sort();
    let job = format!(
        "tables {}; if-exists {}",
        tables.join(","),
        if_exists_name(copy.if_exists)
    );
    let (s, t) = (source.to_string(), target.to_string());
    let mapping = copy
        .mapping
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let id = match &args.run_id {
        Some(id) => id.clone(),
        None => run_id(&[&s, &t, &job, &mapping]),
    };
    let spec = match &args.state {
        Some(spec) => spec.clone(),
        None => state_dir()
            .join(format!("{id}.db"))
            .to_string_lossy()
            .into_owned(),
    };
    let shown = ferry_core::url::redact_raw(&spec);
    let store = if spec.starts_with("postgres://") || spec.starts_with("postgresql://") {
        let mut url = DbUrl::parse(&spec)?;
        let password = std::env::var("FERRY_STATE_PASSWORD")
            .ok()
            .or_else(|| std::env::var("PGPASSWORD").ok());
        url.set_password_if_missing(password);
        StateStore::Pg(Box::new(
            PgStore::open(url)
                .await
                .with_context(|| format!("cannot open the state store {shown}"))?,
        ))
    } else {
        StateStore::open(&spec)
            .await
            .with_context(|| format!("cannot open the state store {shown}"))?
    };
    Ok(RunState {
        store: Arc::new(store),
        run: RunInfo {
            run_id: id,
            source: s,
            target: t,
            job,
        },
        resume_only: args.resume,
    })
}

/// Puts the run state, retries and reject settings into `options`; returns
/// the reject file's path when rows may be rejected.
pub fn apply(
    args: &ResumeArgs,
    state: RunState,
    options: &mut CopyOptions,
) -> anyhow::Result<Option<PathBuf>> {
    let reject_file = (args.on_error == OnErrorArg::Reject).then(|| {
        args.reject_file
            .clone()
            .unwrap_or_else(|| state_dir().join(format!("{}.rejects.jsonl", state.run.run_id)))
    });
    if let Some(path) = &reject_file {
        options.rejects = Some(Arc::new(RejectWriter::open(path)?));
        options.on_error = OnError::Reject;
    }
    options.ranges = Some(ferry_core::range::RangeOptions {
        max_ranges: args.max_ranges.unwrap_or(options.workers.max(1) * 4).max(1),
        min_range_rows: args.min_range_rows.max(1),
    });
    options.retries = args.retries;
    options.retry_delay = std::time::Duration::from_millis(args.retry_delay_ms);
    options.state = Some(state);
    Ok(reject_file)
}

/// The run's lines in the text summary (JSON carries them as fields).
pub fn print_run(report: &CopyReport, format: Format, reject_file: Option<&Path>) {
    if format != Format::Text {
        return;
    }
    if let Some(run) = &report.run {
        let resumed: usize = report.splits.iter().map(|s| s.resumed).sum();
        println!(
            "run {}: {} ({resumed} ranges done before this process){}",
            run.run_id,
            run.start,
            if run.finished { ", finished" } else { "" }
        );
    }
    if !report.retries.is_empty() {
        println!("retried ranges: {}", report.retries.len());
    }
    if let Some(path) = reject_file {
        println!(
            "rejected rows: {} (see {})",
            report.rows_rejected(),
            path.display()
        );
    }
}

/// Whether this process builds the post-data schema (indexes, constraints):
/// without a state store, always; with one, the process that finished the
/// run, or one whose tables failed (for the tables that did copy).
pub fn builds_schema(report: &CopyReport) -> bool {
    match &report.run {
        None => true,
        Some(run) => run.finished || !report.failed.is_empty(),
    }
}

/// After the post-data schema of a finishing run is built: the run is finished.
pub async fn mark_finished(options: &CopyOptions, report: &CopyReport) -> anyhow::Result<()> {
    if let (Some(state), Some(run)) = (&options.state, &report.run) {
        if run.finished {
            state.store.mark_finished(&state.run.run_id).await?;
        }
    }
    Ok(())
}

/// After a partly failed run built the schema of the tables that copied:
/// records them with the tables that existed before the run, so the run's
/// resume does not build their indexes a second time.
pub async fn remember_schema_built(
    options: &CopyOptions,
    report: &CopyReport,
) -> anyhow::Result<()> {
    let Some(state) = &options.state else {
        return Ok(());
    };
    if report.failed.is_empty() {
        return Ok(());
    }
    let mut tables = report.preexisting.clone();
    tables.extend(report.tables.iter().map(|t| t.target.clone()));
    state
        .store
        .set_preexisting(&state.run.run_id, &serde_json::to_string(&tables)?)
        .await?;
    Ok(())
}
