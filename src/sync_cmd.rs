//! `ferry sync`: flags → [`SyncOptions`], signals → a clean stop at a
//! transaction boundary, progress → text lines or JSON events; `ferry sync
//! status` reads the last status a sync saved in the state store.

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ferry_core::DbUrl;
use ferry_engine::sync::{SyncOptions, SyncProgress, SyncReport, Until};
use ferry_engine::Job;

use crate::job_args::JobArgs;
use crate::Format;

#[derive(clap::Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct SyncArgs {
    #[command(subcommand)]
    action: Option<SyncAction>,
    #[command(flatten)]
    run: SyncRunArgs,
}

#[derive(clap::Subcommand)]
enum SyncAction {
    /// Print the last status a sync of this job saved in the state store
    /// (position, lag, changes), and whether it is still reporting.
    Status(SyncStatusArgs),
}

#[derive(clap::Args)]
pub struct SyncRunArgs {
    #[command(flatten)]
    job: JobArgs,
    #[command(flatten)]
    follow: FollowArgs,
    /// Write an HTML report (lag and changes/s over time) to FILE.
    #[arg(long, value_name = "FILE")]
    report: Option<std::path::PathBuf>,
}

/// How a sync runs: shared by `ferry sync` and `ferry copy --follow`.
#[derive(clap::Args)]
pub struct FollowArgs {
    /// The change stream `ferry copy --cdc-slot NAME` made: a PostgreSQL
    /// logical slot, or the name a MySQL copy recorded its binary log
    /// position under.
    #[arg(long, value_name = "NAME", alias = "stream")]
    pub slot: Option<String>,
    /// Stop by itself at this source position (a PostgreSQL LSN such as
    /// 0/16B3748, a MySQL binary log position such as binlog.000042:1234,
    /// a MariaDB GTID such as 0-1-42: through that transaction),
    /// or `now`: the source's position when the sync started.
    #[arg(long, value_name = "POSITION|now")]
    until: Option<String>,
    /// Leave the slot (and its publication) on the source when the sync
    /// ends, to resume later. Without, they are dropped on every exit.
    #[arg(long)]
    keep_slot: bool,
    /// Most changes applied in one target transaction when small source
    /// transactions are grouped (a source transaction is never split).
    #[arg(long, default_value_t = 5000)]
    group_changes: usize,
    /// Longest a source transaction waits for others to join its target
    /// transaction, in milliseconds.
    #[arg(long, default_value_t = 200, value_name = "MS")]
    group_wait_ms: u64,
    /// No progress output.
    #[arg(long, short)]
    pub quiet: bool,
    /// Progress and summary format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
}

#[derive(clap::Args)]
pub struct SyncStatusArgs {
    #[command(flatten)]
    job: JobArgs,
    /// The change stream (as given to `ferry sync --slot`).
    #[arg(long, value_name = "NAME", alias = "stream")]
    slot: String,
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
}

pub async fn run_sync(args: SyncArgs) -> anyhow::Result<ExitCode> {
    match args.action {
        Some(SyncAction::Status(s)) => return run_status(s).await,
        None => {}
    }
    let args = args.run;
    let Some(slot) = args.follow.slot.clone() else {
        anyhow::bail!("ferry sync needs --slot NAME (the stream `ferry copy --cdc-slot` made)");
    };
    let job = args.job.job(Job {
        report: args.report.clone(),
        ..Job::default()
    })?;
    let (source_url, target_url) = args.job.urls(&job)?;
    follow(
        &job,
        &slot,
        &FollowSettings::from(&args.follow),
        source_url,
        target_url,
    )
    .await
}

/// What the sync part of `ferry sync` and `ferry copy --follow` takes.
pub struct FollowSettings {
    pub until: Option<String>,
    pub keep_slot: bool,
    pub group_changes: usize,
    pub group_wait_ms: u64,
    pub quiet: bool,
    pub format: Format,
}

impl From<&FollowArgs> for FollowSettings {
    fn from(a: &FollowArgs) -> Self {
        FollowSettings {
            until: a.until.clone(),
            keep_slot: a.keep_slot,
            group_changes: a.group_changes,
            group_wait_ms: a.group_wait_ms,
            quiet: a.quiet,
            format: a.format,
        }
    }
}

/// Runs a sync of `job` on stream `slot` and prints its summary (and its
/// HTML report when the job asks for one).
pub async fn follow(
    job: &Job,
    slot: &str,
    args: &FollowSettings,
    source_url: DbUrl,
    target_url: DbUrl,
) -> anyhow::Result<ExitCode> {
    let stop = Arc::new(AtomicBool::new(false));
    watch_signals(stop.clone())?;
    let options = SyncOptions {
        until: match args.until.as_deref() {
            None => Until::Stopped,
            Some("now") => Until::Now,
            Some(p) => Until::Position(p.to_string()),
        },
        keep_slot: args.keep_slot,
        group_changes: args.group_changes.max(1),
        group_wait: Duration::from_millis(args.group_wait_ms),
        ..SyncOptions::new(slot, stop)
    };
    let (format, quiet) = (args.format, args.quiet);
    let recording = crate::report_cmd::Recording::start(job);
    let recorder = recording.as_ref().map(|r| r.recorder.clone());
    let report =
        ferry_engine::sync::sync_job(job, source_url.clone(), target_url.clone(), &options, |p| {
            if let Some(r) = &recorder {
                r.record(&serde_json::json!({ "event": "sync_progress", "progress": p }));
            }
            show(p, format, quiet)
        })
        .await?;
    let doc = serde_json::json!({ "event": "sync_finished", "report": report });
    if format == Format::Json {
        println!("{doc}");
    } else {
        println!("{}", summary(&report, slot));
    }
    if let Some(recording) = recording {
        let id = crate::report_cmd::fresh_run_id(ferry_report::Command::Sync);
        recording
            .finish(
                job,
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

fn summary(report: &SyncReport, slot: &str) -> String {
    format!(
        "sync {}: {} transactions, {} changes in {:.1} s, at {}{}",
        report.ended,
        report.transactions,
        report.changes,
        report.seconds,
        report.position.as_deref().unwrap_or("the stream's start"),
        match report.slot_dropped {
            Some(true) => format!("; slot {slot} dropped"),
            Some(false) => format!("; slot {slot} kept"),
            None => String::new(),
        }
    )
}

/// One progress line (text) or event (JSON).
fn show(p: &SyncProgress, format: Format, quiet: bool) {
    if format == Format::Json {
        println!(
            "{}",
            serde_json::json!({ "event": "sync_progress", "progress": p })
        );
    } else if !quiet {
        eprintln!("sync: {}", progress_line(p));
    }
}

fn progress_line(p: &SyncProgress) -> String {
    format!(
        "{} txns, {} changes, {:.0} changes/s, lag {:.2} s{}, at {}",
        p.transactions,
        p.changes,
        p.changes_per_second,
        p.lag_seconds,
        p.behind_bytes
            .map(|b| format!(", {b} bytes behind"))
            .unwrap_or_default(),
        p.position.as_deref().unwrap_or("-")
    )
}

/// A running sync saves its status every second: older than this, it is
/// probably not running any more.
const STALE_AFTER: Duration = Duration::from_secs(10);

async fn run_status(args: SyncStatusArgs) -> anyhow::Result<ExitCode> {
    let job = args.job.job(Job::default())?;
    let (source_url, target_url) = args.job.urls(&job)?;
    let Some(found) =
        ferry_engine::sync::sync_status(&job, source_url, target_url, &args.slot).await?
    else {
        anyhow::bail!(
            "no sync status for stream {}: no copy of this job recorded it (run `ferry copy \
             --cdc-slot {}` with the same tables), or no sync has run yet",
            args.slot,
            args.slot
        );
    };
    let age = found.saved.elapsed().unwrap_or_default();
    let stale = found.status.state == "running" && age > STALE_AFTER;
    if args.format == Format::Json {
        println!(
            "{}",
            serde_json::json!({
                "event": "sync_status",
                "run_id": found.run_id,
                "stream": args.slot,
                "status": found.status,
                "seconds_since_saved": age.as_secs_f64(),
                "stale": stale,
            })
        );
    } else {
        let s = &found.status;
        println!(
            "sync {} ({}): {}, saved {:.0} s ago by pid {}: {}{}",
            args.slot,
            found.run_id,
            s.state,
            age.as_secs_f64(),
            s.pid,
            progress_line(&s.progress),
            match (&s.error, stale) {
                (Some(e), _) => format!("; error: {e}"),
                (None, true) => "; no update since then: is the sync still running?".into(),
                (None, false) => String::new(),
            }
        );
    }
    Ok(ExitCode::SUCCESS)
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
