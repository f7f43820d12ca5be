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

use clap::ValueEnum;

use ferry_engine::job::{CopySettings, StateSettings};
use ferry_engine::{CopyReport, OnError};

use crate::job_args::switch;
use crate::Format;

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
    /// [default: 5]
    #[arg(long)]
    retries: Option<u32>,
    /// The first retry's delay in milliseconds (each next one doubles). [default: 500]
    #[arg(long, value_name = "MS")]
    retry_delay_ms: Option<u64>,
    /// What a row the target refuses does: fail the table (the default), or reject the row.
    #[arg(long, value_enum)]
    on_error: Option<OnErrorArg>,
    /// Smallest range worth splitting off (rows). Smaller ranges lose less
    /// work to a crash and retry faster; each costs a transaction. [default: 50000]
    #[arg(long, value_name = "ROWS")]
    min_range_rows: Option<u64>,
    /// Most ranges per table (default: 4 × --workers).
    #[arg(long, value_name = "N")]
    max_ranges: Option<usize>,
    /// The reject file (JSON lines: table, key, column, reason; never the
    /// value). Default: `.ferry/<run-id>.rejects.jsonl`.
    #[arg(long, value_name = "PATH")]
    reject_file: Option<PathBuf>,
}

impl ResumeArgs {
    /// These flags as job settings (only those given).
    pub fn apply_to(&self, copy: &mut CopySettings, state: &mut StateSettings) {
        state.store = self.state.clone();
        state.run_id = self.run_id.clone();
        state.resume = switch(self.resume);
        copy.retries = self.retries;
        copy.retry_delay_ms = self.retry_delay_ms;
        copy.on_error = self.on_error.map(|o| match o {
            OnErrorArg::Fail => OnError::Fail,
            OnErrorArg::Reject => OnError::Reject,
        });
        copy.min_range_rows = self.min_range_rows;
        copy.max_ranges = self.max_ranges;
        copy.reject_file = self.reject_file.clone();
    }
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
