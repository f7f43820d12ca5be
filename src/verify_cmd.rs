//! `ferry verify`: prove two databases hold the same rows.
//!
//! Exit codes: 0 every table equal; 1 differences found; 2 error (a table
//! that could not be compared wins over differences).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::bail;

use ferry_core::{DbUrl, TableRef};
use ferry_engine::verify::{verify, CompareMode, DiffKind, RowDiff, VerifyOptions, VerifyReport};
use ferry_engine::{plan_tables, Adapter, Selection};

use crate::{load_mappings, resolve_url, Format, EXIT_ERROR};

/// Exit code when the tables differ.
const EXIT_DIFFERENCES: u8 = 1;

#[derive(clap::Args)]
pub struct VerifyArgs {
    /// Source URL: postgres://user[:password]@host[:port]/db or mysql://…
    #[arg(long)]
    source: String,
    /// Target URL.
    #[arg(long)]
    target: String,
    /// Tables to compare, comma-separated (`name` or `schema.name`). Default: all of the source.
    #[arg(long, value_delimiter = ',')]
    tables: Vec<String>,
    /// Source schema (PostgreSQL) or database (MySQL). Default: public / the URL's.
    #[arg(long)]
    schema: Option<String>,
    /// Target schema (PostgreSQL) or database (MySQL). Default: public / the URL's.
    #[arg(long)]
    target_schema: Option<String>,
    /// The mapping overrides the copy used, so its conversions count as intended.
    #[arg(long)]
    mapping: Option<PathBuf>,
    /// Differences listed per table (the counts stay exact).
    #[arg(long, default_value_t = 100)]
    max_diffs: usize,
    /// Tolerate float differences of up to N units in the last place (default: exact bits).
    #[arg(long, default_value_t = 0)]
    float_ulps: u32,
    /// Rows per chunk digest.
    #[arg(long, default_value_t = 10_000)]
    chunk_rows: usize,
    /// Rows per batch.
    #[arg(long, default_value_t = 8192)]
    batch_rows: usize,
    /// Tables compared at the same time.
    #[arg(long, default_value_t = 2)]
    parallel_tables: usize,
    /// Key ranges of one table compared at the same time.
    #[arg(long, default_value_t = 2)]
    parallel_ranges: usize,
    /// Tables with fewer rows than twice this are compared as one range.
    #[arg(long, default_value_t = 50_000, hide = true)]
    min_range_rows: u64,
    /// Report format.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    #[command(flatten)]
    connect: crate::connect_args::ConnectArgs,
}

pub async fn run_verify(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let source_url = resolve_url(&args.source, "SOURCE", &args.connect)?;
    let target_url = resolve_url(&args.target, "TARGET", &args.connect)?;
    let mappings = load_mappings(args.mapping.as_ref())?;
    if args.batch_rows == 0 || args.chunk_rows == 0 {
        bail!("--batch-rows and --chunk-rows must be at least 1");
    }
    let source = Arc::new(Adapter::new(source_url.clone()));
    let target = Arc::new(Adapter::new(target_url.clone()));
    let selection = Selection {
        tables: args.tables.iter().map(|t| TableRef::parse(t)).collect(),
        schema: args.schema.clone(),
        target_schema: args.target_schema.clone(),
    };
    let plans = plan_tables(&source, target.engine(), &mappings, &selection).await?;
    target.list_tables(args.target_schema.as_deref()).await?;
    let options = VerifyOptions {
        batch_rows: args.batch_rows,
        chunk_rows: args.chunk_rows,
        max_diffs: args.max_diffs,
        float_ulps: args.float_ulps,
        parallel_tables: args.parallel_tables,
        parallel_ranges: args.parallel_ranges,
        ranges: ferry_core::range::RangeOptions {
            min_range_rows: args.min_range_rows.max(1),
            ..Default::default()
        },
    };
    let started = std::time::Instant::now();
    let report = verify(source, target, plans, &options).await?;
    let seconds = started.elapsed().as_secs_f64();
    match args.format {
        Format::Json => print_json(&report, &source_url, &target_url, seconds),
        Format::Text => print_text(&report, seconds),
    }
    Ok(if !report.failed.is_empty() {
        for f in &report.failed {
            eprintln!("{}", crate::failure_line(&f.table, &f.error));
        }
        ExitCode::from(EXIT_ERROR)
    } else if report.differences() > 0 {
        ExitCode::from(EXIT_DIFFERENCES)
    } else {
        ExitCode::SUCCESS
    })
}

fn print_json(report: &VerifyReport, source: &DbUrl, target: &DbUrl, seconds: f64) {
    let doc = serde_json::json!({
        "source": source.to_string(),
        "target": target.to_string(),
        "encoding_version": ferry_parity_version(),
        "equal": report.failed.is_empty() && report.differences() == 0,
        "differences": report.differences(),
        "seconds": seconds,
        "tables": report.tables,
        "failed": report.failed,
    });
    println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
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
