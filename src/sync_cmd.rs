//! `ferry sync`: flags → [`SyncOptions`], signals → a clean stop at a
//! transaction boundary, progress → text lines or JSON events.

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use ferry_engine::sync::{SyncOptions, SyncProgress, Until};
use ferry_engine::Job;

use crate::job_args::JobArgs;
use crate::Format;

#[derive(clap::Args)]
pub struct SyncArgs {
    #[command(flatten)]
    job: JobArgs,
    /// The slot `ferry copy --cdc-slot NAME` created.
    #[arg(long, value_name = "NAME")]
    slot: String,
    /// Stop by itself at this source position (a PostgreSQL LSN), or `now`:
    /// the source's position when the sync started.
    #[arg(long, value_name = "LSN|now")]
    until: Option<String>,
    /// Leave the slot (and its publication) on the source when the sync
    /// ends, to resume later. Without, they are dropped on every exit.
    #[arg(long)]
    keep_slot: bool,
    /// Most changes applied in one target transaction when small source
    /// transactions are grouped (a source transaction is never split).
    #[arg(long, default_value_t = 5000)]
    group_changes: usize,
    /// No progress output.
    #[arg(long, short)]
    quiet: bool,
    /// Progress and summary format.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    /// Write an HTML report (lag and changes/s over time) to FILE.
    #[arg(long, value_name = "FILE")]
    report: Option<std::path::PathBuf>,
}

pub async fn run_sync(args: SyncArgs) -> anyhow::Result<ExitCode> {
    let job = args.job.job(Job {
        report: args.report.clone(),
        ..Job::default()
    })?;
    let (source_url, target_url) = args.job.urls(&job)?;
    let stop = Arc::new(AtomicBool::new(false));
    watch_signals(stop.clone())?;
    let options = SyncOptions {
        slot: args.slot.clone(),
        until: match args.until.as_deref() {
            None => Until::Stopped,
            Some("now") => Until::Now,
            Some(p) => Until::Position(p.to_string()),
        },
        keep_slot: args.keep_slot,
        group_changes: args.group_changes.max(1),
        stop,
        idle_wait: std::time::Duration::from_millis(500),
    };
    let (format, quiet) = (args.format, args.quiet);
    let recording = crate::report_cmd::Recording::start(&job);
    let recorder = recording.as_ref().map(|r| r.recorder.clone());
    let report = ferry_engine::sync::sync_job(
        &job,
        source_url.clone(),
        target_url.clone(),
        &options,
        |p| {
            if let Some(r) = &recorder {
                r.record(&serde_json::json!({ "event": "sync_progress", "progress": p }));
            }
            show(p, format, quiet)
        },
    )
    .await?;
    let doc = serde_json::json!({ "event": "sync_finished", "report": report });
    if format == Format::Json {
        println!("{doc}");
    } else {
        println!(
            "sync {}: {} transactions, {} changes in {:.1} s, at {}{}",
            report.ended,
            report.transactions,
            report.changes,
            report.seconds,
            report.position.as_deref().unwrap_or("the slot's start"),
            if report.slot_dropped {
                format!("; slot {} dropped", args.slot)
            } else {
                format!("; slot {} kept", args.slot)
            }
        );
    }
    if let Some(recording) = recording {
        let id = crate::report_cmd::fresh_run_id(ferry_report::Command::Sync);
        recording
            .finish(
                &job,
                ferry_report::Command::Sync,
                &id,
                &source_url,
                &target_url,
                doc,
                0,
                None,
            )
            .await?;
    }
    Ok(ExitCode::SUCCESS)
}

fn show(p: &SyncProgress, format: Format, quiet: bool) {
    if format == Format::Json {
        println!(
            "{}",
            serde_json::json!({ "event": "sync_progress", "progress": p })
        );
    } else if !quiet {
        eprintln!(
            "sync: {} txns, {} changes, {:.0} changes/s, lag {:.2} s, at {}",
            p.transactions,
            p.changes,
            p.changes_per_second,
            p.lag_seconds,
            p.position.as_deref().unwrap_or("-")
        );
    }
}

/// SIGINT and SIGTERM set `stop`; the sync ends at the next transaction boundary.
fn watch_signals(stop: Arc<AtomicBool>) -> anyhow::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut int = signal(SignalKind::interrupt())?;
    let mut term = signal(SignalKind::terminate())?;
    tokio::spawn(async move {
        tokio::select! {
            _ = int.recv() => {}
            _ = term.recv() => {}
        }
        stop.store(true, Ordering::SeqCst);
    });
    Ok(())
}
