//! `ferry cutover`: flags → a [`Ctx`], the engine's events → text lines or
//! JSON, the outcome → an exit code.
//!
//! | code | meaning |
//! |---|---|
//! | 0 | done, or a dry run whose checks all pass |
//! | 1 | done, but a post-cutover check failed |
//! | 2 | error |
//! | 3 | NO-GO: a check or gate refused; nothing was fenced |
//! | 4 | aborted before the switch: blue is writable again |
//! | 5 | the switch's outcome is unknown: blue stays fenced until `confirm` |

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{bail, Context};

use ferry_engine::cutover::{
    self, CheckValue, Ctx, CutoverEvent, CutoverReport, Direction, DryRun, Plan,
};
use ferry_engine::cutover::{Ending, Events};

use crate::connect_args::{self, ConnectArgs, Role};
use crate::Format;

#[derive(clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct CutoverArgs {
    #[command(subcommand)]
    action: Option<Action>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(clap::Args, Clone)]
pub struct RunArgs {
    /// The plan file.
    plan: Option<PathBuf>,
    /// Act. Without it: a dry run that changes nothing and prints every
    /// step with its statements, checks and undo, and the gates' values now.
    #[arg(long)]
    execute: bool,
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    /// Write an HTML report of the cutover to FILE.
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
}

#[derive(clap::Subcommand)]
enum Action {
    /// Start the freeze now (over a postpone file); the cutover must be
    /// waiting in READY.
    Go(RunArgs),
    /// Carry on after ferry died: repeats the step it was in (while the
    /// freeze budget lasts, else undoes the attempt).
    Resume(RunArgs),
    /// After an unknown switch (exit 5): say where the application writes.
    Confirm {
        #[arg(value_parser = ["green", "blue"])]
        side: String,
        #[command(flatten)]
        run: RunArgs,
    },
    /// Go back: fence green, drain the way back into blue, verify, switch
    /// back, open blue (dry run unless --execute).
    Rollback(RunArgs),
    /// Where the cutover stands.
    Status(RunArgs),
    /// The process that lifts the fence at the deadline if ferry dies
    /// (started by ferry itself).
    #[command(hide = true)]
    Guardian {
        plan: PathBuf,
        #[arg(long)]
        attempt: u32,
    },
}

pub async fn run_cutover(args: CutoverArgs) -> anyhow::Result<ExitCode> {
    match args.action {
        None => {
            let r = args.run;
            let (ctx, rec) = context(&r, false).await?;
            if r.execute {
                let result = cutover::execute(&ctx).await;
                finish(&ctx, &rec, &r, result).await
            } else {
                dry(&ctx, &r, Direction::Forward).await
            }
        }
        Some(Action::Go(r)) => {
            let (ctx, _) = context(&r, false).await?;
            cutover::go(&ctx).await?;
            println!("go requested: the cutover leaves READY once its gates open");
            Ok(ExitCode::SUCCESS)
        }
        Some(Action::Resume(r)) => {
            let (ctx, rec) = context(&r, false).await?;
            let result = cutover::resume(&ctx).await;
            finish(&ctx, &rec, &r, result).await
        }
        Some(Action::Confirm { side, run }) => {
            let (ctx, rec) = context(&run, false).await?;
            let result = cutover::confirm(&ctx, side == "green").await;
            finish(&ctx, &rec, &run, result).await
        }
        Some(Action::Rollback(r)) => {
            let (ctx, rec) = context(&r, false).await?;
            if r.execute {
                let result = cutover::rollback(&ctx).await;
                finish(&ctx, &rec, &r, result).await
            } else {
                dry(&ctx, &r, Direction::Rollback).await
            }
        }
        Some(Action::Status(r)) => {
            let (ctx, _) = context(&r, true).await?;
            match cutover::status(&ctx).await? {
                None => println!("no cutover has started for this plan"),
                Some(report) => print_report(&report, r.format),
            }
            Ok(ExitCode::SUCCESS)
        }
        Some(Action::Guardian { plan, attempt }) => {
            let r = RunArgs {
                plan: Some(plan),
                execute: false,
                format: Format::Text,
                report: None,
            };
            let (ctx, _) = context(&r, true).await?;
            let did = cutover::guardian::watch(&ctx, attempt).await?;
            eprintln!("guardian (attempt {attempt}): {did}");
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Reads the plan, resolves both URLs (passwords from the environment as
/// for copy: FERRY_SOURCE_PASSWORD for blue, FERRY_TARGET_PASSWORD for
/// green, or the engine's variable) and plans the job.
async fn context(r: &RunArgs, quiet: bool) -> anyhow::Result<(Ctx, Arc<ferry_report::Recorder>)> {
    let Some(path) = &r.plan else {
        bail!("give the plan file: ferry cutover plan.toml");
    };
    let plan = Plan::from_file(path)?;
    let job = plan.job()?;
    let connect = ConnectArgs::default();
    let Some(blue) = &job.source else {
        bail!("no blue URL: give [blue] url in the plan or `source` in the job");
    };
    let Some(green) = &job.target else {
        bail!("no green URL: give [green] url in the plan or `target` in the job");
    };
    let blue = connect_args::resolve(blue, Role::Source, &connect)?;
    let green = connect_args::resolve(green, Role::Target, &connect)?;
    let format = r.format;
    let recorder = Arc::new(ferry_report::Recorder::new());
    let rec = recorder.clone();
    let events: Events = Arc::new(move |e: &CutoverEvent| {
        let json = serde_json::to_value(e).unwrap_or_default();
        rec.record(&json);
        if quiet {
            return;
        }
        match format {
            Format::Json => println!("{json}"),
            Format::Text => eprintln!("{}", event_line(e)),
        }
    });
    let mut ctx = Ctx::new(plan, blue, green, events)
        .await
        .context("planning the cutover's tables")?;
    let exe = std::env::current_exe().context("locating the ferry binary")?;
    let abs = std::fs::canonicalize(path).unwrap_or_else(|_| path.clone());
    ctx.guardian = Some(vec![
        exe.display().to_string(),
        "cutover".into(),
        "guardian".into(),
        abs.display().to_string(),
    ]);
    Ok((ctx, recorder))
}

fn mark(ok: bool) -> &'static str {
    if ok {
        "✓"
    } else {
        "✗"
    }
}

fn check_line(c: &CheckValue) -> String {
    format!("  {} {:<34} {}  ({})", mark(c.ok), c.name, c.value, c.limit)
}

fn event_line(e: &CutoverEvent) -> String {
    match e {
        CutoverEvent::CutoverPhase { phase, attempt, .. } => {
            format!(
                "cutover: {} (attempt {attempt})",
                phase.as_str().to_uppercase()
            )
        }
        CutoverEvent::CutoverCheck { check } => check_line(check),
        CutoverEvent::CutoverStep { step, ms, detail } => format!(
            "  {step}: {ms} ms{}",
            detail
                .as_deref()
                .map(|d| format!(" ({d})"))
                .unwrap_or_default()
        ),
        CutoverEvent::CutoverNote { text } => format!("cutover: {text}"),
    }
}

async fn dry(ctx: &Ctx, r: &RunArgs, direction: Direction) -> anyhow::Result<ExitCode> {
    let d = cutover::dry_run(ctx, direction).await?;
    if r.format == Format::Json {
        println!(
            "{}",
            serde_json::json!({ "event": "cutover_dry_run", "dry_run": d })
        );
    } else {
        print_dry(&d);
    }
    Ok(ExitCode::from(if d.go { 0 } else { 3 }))
}

fn print_dry(d: &DryRun) {
    println!(
        "ferry cutover · {} · {} · DRY RUN (nothing will be changed; add --execute)",
        d.name,
        match d.direction {
            Direction::Forward => "blue → green",
            Direction::Rollback => "ROLLBACK green → blue",
        }
    );
    println!("blue  {}\ngreen {}", d.blue, d.green);
    println!("CHECKS (now)");
    for c in &d.checks {
        println!("{}", check_line(c));
    }
    println!("STEPS");
    for s in &d.steps {
        println!("  [{}] {}", s.phase.to_uppercase(), s.action);
        for x in &s.run {
            println!("      run   {x}");
        }
        for x in &s.undo {
            println!("      undo  {x}");
        }
        println!("      check {}", s.check);
        if let Some(t) = &s.timeout {
            println!("      limit {t}");
        }
    }
    let nogo = d.checks.iter().filter(|c| !c.ok).count();
    if nogo == 0 {
        println!("VERDICT GO");
    } else {
        println!("VERDICT NO-GO ({nogo})");
    }
}

fn print_report(r: &CutoverReport, format: Format) {
    if format == Format::Json {
        println!(
            "{}",
            serde_json::json!({ "event": "cutover_finished", "report": r })
        );
        return;
    }
    println!(
        "cutover {} (attempt {}): {}",
        r.run_id,
        r.attempt,
        r.phase.as_str().to_uppercase()
    );
    match r.window_ms {
        Some(w) => {
            let parts: Vec<String> = r
                .breakdown
                .iter()
                .map(|s| format!("{} {} ms", s.step, s.ms))
                .collect();
            println!(
                "freeze window {:.3} s (fence effective → first commit on the new primary): {}",
                w as f64 / 1000.0,
                parts.join(" · ")
            );
        }
        None => {
            if let Some(f) = r.fence_ms {
                println!("fence took {f} ms; no window measured");
            }
        }
    }
    if let Some(reason) = &r.abort_reason {
        println!(
            "aborted by the {}: {reason}",
            r.aborted_by.as_deref().unwrap_or("runner")
        );
    }
    for u in &r.undone {
        println!("undone: {u}");
    }
    for g in &r.generators {
        println!("generator {}: {} → {}", g.name, g.from, g.to);
    }
    for n in &r.notes {
        println!("note: {n}");
    }
}

async fn finish(
    ctx: &Ctx,
    recorder: &ferry_report::Recorder,
    r: &RunArgs,
    result: ferry_core::Result<(Ending, CutoverReport)>,
) -> anyhow::Result<ExitCode> {
    let (ending, report) = result?;
    print_report(&report, r.format);
    save_report(ctx, recorder, r.report.as_deref(), &report, ending).await?;
    Ok(ExitCode::from(match ending {
        Ending::Go | Ending::Done | Ending::Reported => 0,
        Ending::DoneWithFailedChecks => 1,
        Ending::NoGo => 3,
        Ending::Aborted => 4,
        Ending::SwitchUnknown => 5,
    }))
}

/// Saves the run's report in the state store (`ferry report <run-id>`
/// draws it) and, with `--report`, writes its HTML.
async fn save_report(
    ctx: &Ctx,
    recorder: &ferry_report::Recorder,
    path: Option<&Path>,
    report: &CutoverReport,
    ending: Ending,
) -> anyhow::Result<()> {
    let code = match ending {
        Ending::Done | Ending::Go | Ending::Reported => 0,
        Ending::DoneWithFailedChecks => 1,
        Ending::NoGo => 3,
        Ending::Aborted => 4,
        Ending::SwitchUnknown => 5,
    };
    let doc = serde_json::json!({ "event": "cutover_finished", "report": report });
    let full = ferry_report::Report {
        command: ferry_report::Command::Cutover,
        ferry_version: env!("CARGO_PKG_VERSION").to_string(),
        run_id: ctx.plan.run_id(),
        started_at: recorder.started_at(),
        ended_at: ferry_report::now(),
        exit_code: code,
        source: ctx.blue.url.to_string(),
        target: ctx.green.url.to_string(),
        summary: doc,
        timeline: recorder.timeline(),
        rejects: Vec::new(),
        reject_file: None,
    };
    let json = serde_json::to_string(&full)?;
    ferry_engine::run::save_report(&ctx.job, &ctx.plan.run_id(), "cutover", &json).await?;
    let Some(path) = path else {
        return Ok(());
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, ferry_report::render_html(&full))
        .with_context(|| format!("writing the report {}", path.display()))?;
    eprintln!("report: {}", path.display());
    Ok(())
}
