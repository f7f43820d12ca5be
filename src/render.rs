//! The copy summary, as text or JSON: what the engine's report says, laid
//! out for a person or a program. Both forms come from the same report, so
//! a number in one equals the number in the other.

use ferry_core::schema::OtherObject;
use ferry_core::DbUrl;
use ferry_engine::CopyReport;

use crate::Format;

/// `error: table t: …`, without naming the table twice when the error's
/// own line starts with it.
pub fn failure_line(table: &impl std::fmt::Display, error: &str) -> String {
    if error.starts_with("table ") {
        format!("error: {error}")
    } else {
        format!("error: table {table}: {error}")
    }
}

/// The copy's `--format json` document; the HTML report carries the same.
pub fn copy_document(
    report: &CopyReport,
    not_copied: &[OtherObject],
    source: &DbUrl,
    target: &DbUrl,
    seconds: f64,
) -> serde_json::Value {
    serde_json::json!({
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
        "rows_filtered": report.rows_filtered(),
        "retries": report.retries,
        "run": report.run,
        "not_copied": not_copied,
    })
}

pub fn print_report(
    report: &CopyReport,
    not_copied: &[OtherObject],
    format: Format,
    source: &DbUrl,
    target: &DbUrl,
    seconds: f64,
) {
    match format {
        Format::Json => {
            let doc = copy_document(report, not_copied, source, target, seconds);
            println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
        }
        Format::Text => {
            println!(
                "{:<40} {:>12} {:>12} {:>9} {:>9} {:>9} {:>12}",
                "table", "read", "written", "rejected", "filtered", "seconds", "rows/s"
            );
            for t in &report.tables {
                println!(
                    "{:<40} {:>12} {:>12} {:>9} {:>9} {:>9.2} {:>12.0}",
                    format!("{} → {}", t.table, t.target),
                    t.rows_read,
                    t.rows_written,
                    t.rows_rejected,
                    t.rows_filtered,
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
