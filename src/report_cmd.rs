//! The HTML report: `--report FILE` on `copy`, `verify` and `sync` (or
//! `report = "FILE"` in the job file), and `ferry report <run-id>`, which
//! draws a saved run again from the state store.
//!
//! A run's report is saved in the state store as JSON before the HTML is
//! written, so the HTML of any past run can be made again (or made better
//! by a later ferry) from what was recorded.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{bail, Context};

use ferry_core::event::EventSink;
use ferry_core::DbUrl;
use ferry_engine::job::StateSettings;
use ferry_engine::Job;
use ferry_report::{Command, Recorder, Report};

#[derive(clap::Args)]
pub struct ReportArgs {
    /// The run's id, as the copy printed it (`run <id>: …`) or as verify
    /// and sync printed it with their report.
    run_id: String,
    /// The state store the run used (a SQLite file or a postgres:// URL);
    /// default: the run's own file under ferry's state directory.
    #[arg(long, value_name = "FILE|URL")]
    state: Option<String>,
    /// Which of the run's reports: copy, verify or sync (default: the last saved).
    #[arg(long)]
    kind: Option<String>,
    /// Where to write the HTML. [default: <run-id>.html]
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
}

/// A report in the making: what the run's events said, as they came.
pub struct Recording {
    pub recorder: Arc<Recorder>,
    path: PathBuf,
}

impl Recording {
    /// Starts recording when the job asks for a report.
    pub fn start(job: &Job) -> Option<Recording> {
        job.report.clone().map(|path| Recording {
            recorder: Arc::new(Recorder::new()),
            path,
        })
    }

    /// `inner` with every event also recorded.
    pub fn tee(&self, inner: EventSink) -> EventSink {
        let recorder = self.recorder.clone();
        EventSink::new(move |e| {
            recorder.record(&e);
            inner.send(e);
        })
    }

    /// Saves the report in the state store and writes the HTML file.
    #[allow(clippy::too_many_arguments)]
    pub async fn finish(
        self,
        job: &Job,
        command: Command,
        run_id: &str,
        source: &DbUrl,
        target: &DbUrl,
        summary: serde_json::Value,
        exit_code: u8,
        reject_file: Option<&Path>,
    ) -> anyhow::Result<()> {
        let report = Report {
            command,
            ferry_version: env!("CARGO_PKG_VERSION").to_string(),
            run_id: run_id.to_string(),
            started_at: self.recorder.started_at(),
            ended_at: ferry_report::now(),
            exit_code,
            source: source.to_string(),
            target: target.to_string(),
            summary,
            timeline: self.recorder.timeline(),
            rejects: reject_file
                .map(ferry_report::count_rejects)
                .unwrap_or_default(),
            reject_file: reject_file.map(|p| p.display().to_string()),
        };
        let json = serde_json::to_string(&report)?;
        ferry_engine::run::save_report(job, run_id, command.name(), &json).await?;
        write_html(&self.path, &report)?;
        eprintln!(
            "report: {} (run {run_id}; `ferry report {run_id}` draws it again)",
            self.path.display()
        );
        Ok(())
    }
}

fn write_html(path: &Path, report: &Report) -> anyhow::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating the directory of {}", path.display()))?;
    }
    std::fs::write(path, ferry_report::render_html(report))
        .with_context(|| format!("writing the report {}", path.display()))
}

/// An id for a run that has none in the state store (verify, sync): the
/// command and the time it started, unique enough for one machine.
pub fn fresh_run_id(command: Command) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    format!("{}-{now:x}", command.name())
}

pub async fn run_report(args: ReportArgs) -> anyhow::Result<ExitCode> {
    let job = Job {
        state: StateSettings {
            store: args.state.clone(),
            ..StateSettings::default()
        },
        ..Job::default()
    };
    let saved = ferry_engine::run::load_reports(&job, &args.run_id).await?;
    let Some((_, json)) = saved
        .iter()
        .rev()
        .find(|(kind, _)| args.kind.as_deref().is_none_or(|k| k == kind))
    else {
        bail!(
            "run {} has no {}report in the state store (was it run with --report?)",
            args.run_id,
            args.kind
                .as_deref()
                .map(|k| format!("{k} "))
                .unwrap_or_default()
        );
    };
    let report: Report = serde_json::from_str(json).context("reading the saved report")?;
    let path = args
        .output
        .unwrap_or_else(|| PathBuf::from(format!("{}.html", args.run_id)));
    write_html(&path, &report)?;
    eprintln!("report: {}", path.display());
    Ok(ExitCode::SUCCESS)
}
