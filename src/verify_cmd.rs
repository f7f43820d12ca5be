//! `ferry verify`: prove two databases hold the same rows.
//!
//! Exit codes: 0 every table equal; 1 differences found; 2 error (a table
//! that could not be compared wins over differences).

use std::process::ExitCode;

use ferry_core::DbUrl;
use ferry_engine::job::VerifySettings;
use ferry_engine::run::verify_job;
use ferry_engine::verify::{CompareMode, DiffKind, RowDiff, VerifyReport, VerifyScope};
use ferry_engine::Job;

use crate::job_args::JobArgs;
use crate::{Format, EXIT_ERROR};

/// Exit code when the tables differ.
const EXIT_DIFFERENCES: u8 = 1;

#[derive(clap::Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    job: JobArgs,
    /// Differences listed per table (the counts stay exact). [default: 100]
    #[arg(long)]
    max_diffs: Option<usize>,
    /// Tolerate float differences of up to N units in the last place (default: exact bits).
    #[arg(long)]
    float_ulps: Option<u32>,
    /// Rows per chunk digest. [default: 10000]
    #[arg(long)]
    chunk_rows: Option<usize>,
    /// Rows per batch. [default: 8192]
    #[arg(long)]
    batch_rows: Option<usize>,
    /// Bytes per batch, and the most a chunk holds per side: a batch or chunk
    /// closes at its row count or this, whichever comes first (e.g. 16MB). [default: 8MB]
    #[arg(long, value_name = "SIZE", value_parser = crate::byte_size())]
    batch_bytes: Option<usize>,
    /// Tables compared at the same time. [default: 2]
    #[arg(long)]
    parallel_tables: Option<usize>,
    /// Key ranges of one table compared at the same time. [default: 2]
    #[arg(long)]
    parallel_ranges: Option<usize>,
    /// Tables with fewer rows than twice this are compared as one range.
    #[arg(long, hide = true)]
    min_range_rows: Option<u64>,
    /// Report format.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    /// Write an HTML report (chunk maps, differing keys) to FILE.
    #[arg(long, value_name = "FILE")]
    report: Option<std::path::PathBuf>,
    /// Compare only the copy's ranges a `ferry sync` changed since they were
    /// last found equal (the copy's run in the state store, found with the
    /// copy's flags); ranges found equal are marked clean.
    #[arg(long)]
    dirty: bool,
    /// Make the target equal to the source where it differs: upsert the
    /// source's rows that are missing or different, delete the extra ones,
    /// through the sync's apply path; then compare those ranges again.
    /// Exit 0 when nothing remains different. Run it while no sync applies
    /// (after `ferry sync --until now`, writes frozen).
    #[arg(long)]
    repair: bool,
}

pub async fn run_verify(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let job = args.job.job(Job {
        verify: VerifySettings {
            max_diffs: args.max_diffs,
            float_ulps: args.float_ulps,
            chunk_rows: args.chunk_rows,
            batch_rows: args.batch_rows,
            batch_bytes: args.batch_bytes,
            parallel_tables: args.parallel_tables,
            parallel_ranges: args.parallel_ranges,
            min_range_rows: args.min_range_rows,
        },
        report: args.report.clone(),
        ..Job::default()
    })?;
    let (source_url, target_url) = args.job.urls(&job)?;
    let recording = crate::report_cmd::Recording::start(&job);
    let started = std::time::Instant::now();
    let scope = VerifyScope {
        dirty: args.dirty,
        repair: args.repair,
    };
    let report = verify_job(&job, source_url.clone(), target_url.clone(), scope).await?;
    let seconds = started.elapsed().as_secs_f64();
    let doc = verify_document(&report, &source_url, &target_url, seconds);
    match args.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default()),
        Format::Text => print_text(&report, seconds),
    }
    let code = if !report.failed.is_empty() {
        for f in &report.failed {
            eprintln!("{}", crate::render::failure_line(&f.table, &f.error));
        }
        EXIT_ERROR
    } else if remaining(&report, args.repair) > 0 {
        EXIT_DIFFERENCES
    } else {
        0
    };
    if let Some(recording) = recording {
        let id = crate::report_cmd::fresh_run_id(ferry_report::Command::Verify);
        recording
            .finish(
                &job,
                ferry_report::Command::Verify,
                &id,
                &source_url,
                &target_url,
                doc,
                code,
                None,
            )
            .await?;
    }
    Ok(ExitCode::from(code))
}

/// Differences left when verify ends: after a repair, what the second
/// comparison of the repaired ranges found.
fn remaining(report: &VerifyReport, repaired: bool) -> u64 {
    if !repaired {
        return report.differences();
    }
    report
        .tables
        .iter()
        .map(|t| match &t.repair {
            Some(r) => r.remaining,
            None => t.outcome.differences(),
        })
        .sum()
}

/// The verify's `--format json` document; the HTML report carries the same.
fn verify_document(
    report: &VerifyReport,
    source: &DbUrl,
    target: &DbUrl,
    seconds: f64,
) -> serde_json::Value {
    serde_json::json!({
        "source": source.to_string(),
        "target": target.to_string(),
        "encoding_version": ferry_parity_version(),
        "equal": report.failed.is_empty() && report.differences() == 0,
        "repaired": report.tables.iter().filter_map(|t| t.repair.as_ref()).map(|r| r.changed()).sum::<u64>(),
        "differences": report.differences(),
        "seconds": seconds,
        "tables": report.tables,
        "failed": report.failed,
    })
}

fn ferry_parity_version() -> u32 {
    ferry_engine::verify::ENCODING_VERSION
}

fn render_key(d: &RowDiff) -> String {
    match d.key.len() {
        0 => match (&d.row_hash, d.source_count, d.target_count) {
            (Some(h), Some(s), Some(t)) => format!("row hash {h} ({s} in source, {t} in target)"),
            _ => "(row)".into(),
        },
        1 => format!("{}={}", d.key[0].0, d.key[0].1),
        _ => format!(
            "({})",
            d.key
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn print_text(report: &VerifyReport, seconds: f64) {
    println!(
        "{:<40} {:>12} {:>12} {:>8} {:>11} {:>9}",
        "table", "source rows", "target rows", "chunks", "differences", "seconds"
    );
    for t in &report.tables {
        let o = &t.outcome;
        println!(
            "{:<40} {:>12} {:>12} {:>8} {:>11} {:>9.2}",
            format!("{} → {}", t.table, t.target),
            o.rows_source,
            o.rows_target,
            o.chunks,
            o.differences(),
            t.seconds
        );
        if let Some(d) = &t.dirty {
            println!("  dirty ranges compared: {} of {}", d.dirty, d.of);
        }
        match &t.mode {
            CompareMode::KeyOrder { key } => {
                println!("  compared by key ({}) in binary key order", key.join(", "))
            }
            CompareMode::Multiset { reason } => {
                println!("  compared as a multiset of rows ({reason})")
            }
        }
        if o.differences() > 0 {
            println!(
                "  missing in target {}, extra in target {}, differing rows {}",
                o.missing_in_target, o.extra_in_target, o.differing_rows
            );
            for d in &o.diffs {
                let what = match d.kind {
                    DiffKind::MissingInTarget => "missing in target",
                    DiffKind::ExtraInTarget => "extra in target",
                    DiffKind::Differs => "differs",
                };
                if d.columns.is_empty() {
                    println!("    {what}: {}", render_key(d));
                } else {
                    println!("    {what}: {} in {}", render_key(d), d.columns.join(", "));
                }
            }
            let listed = u64::try_from(o.diffs.len()).unwrap_or(u64::MAX);
            if listed < o.differences() {
                println!(
                    "    … {} more (raise --max-diffs)",
                    o.differences() - listed
                );
            }
        }
        if let Some(r) = &t.repair {
            println!(
                "  repaired {} ranges: {} inserted, {} updated, {} deleted; compared again: {}",
                r.ranges,
                r.inserted,
                r.updated,
                r.deleted,
                if r.remaining == 0 {
                    "equal".to_string()
                } else {
                    format!("{} differences remain", r.remaining)
                }
            );
            for row in &r.rows {
                println!("    {} {}", row.action, row.key);
            }
            let listed = u64::try_from(r.rows.len()).unwrap_or(u64::MAX);
            if listed < r.changed() {
                println!("    … {} more (raise --max-diffs)", r.changed() - listed);
            }
        }
        println!("  rules:");
        for c in &t.columns {
            println!(
                "    {:<24} {} → {}: {}{}",
                c.column,
                c.source_type,
                c.target_type,
                c.rule,
                c.note
                    .as_deref()
                    .map(|n| format!(" (note: {n})"))
                    .unwrap_or_default()
            );
        }
        for n in &t.notes {
            println!("  note: {n}");
        }
    }
    for f in &report.failed {
        println!("{:<40} FAILED: {}", f.table.to_string(), f.error);
    }
    let equal = report.tables.iter().filter(|t| t.equal()).count();
    println!(
        "total: {} tables equal, {} differ, {} failed, {} differences in {:.2}s",
        equal,
        report.tables.len() - equal,
        report.failed.len(),
        report.differences(),
        seconds
    );
}
