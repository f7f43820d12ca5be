//! What the HTML draws, read from the report's JSON. Every field defaults,
//! so a summary without a part (a verify has no ranges) just has none.

use serde::Deserialize;

use crate::{Report, Timed};

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Table {
    pub schema: Option<String>,
    pub name: String,
}

impl std::fmt::Display for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.schema {
            Some(s) => write!(f, "{s}.{}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct CopiedTable {
    pub table: Table,
    pub target: Table,
    pub rows_read: u64,
    pub rows_written: u64,
    pub rows_rejected: u64,
    /// Rows a job's `where` left out.
    pub rows_filtered: u64,
    pub seconds: f64,
    pub rows_per_second: f64,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Failed {
    pub table: Table,
    pub error: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Split {
    pub table: Table,
    pub method: serde_json::Value,
    pub ranges: usize,
    pub note: Option<String>,
    pub resumed: usize,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Retry {
    pub table: Table,
    pub index: usize,
    pub attempt: u32,
    pub error: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Snapshot {
    pub method: String,
    pub position: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Diff {
    pub kind: String,
    pub key: Vec<(String, String)>,
    pub columns: Vec<String>,
    pub row_hash: Option<String>,
    pub source_count: Option<u64>,
    pub target_count: Option<u64>,
}

impl Diff {
    pub fn kind_words(&self) -> &'static str {
        match self.kind.as_str() {
            "missing_in_target" => "missing in target",
            "extra_in_target" => "extra in target",
            _ => "differs",
        }
    }

    pub fn key_text(&self) -> String {
        if self.key.is_empty() {
            return match (&self.row_hash, self.source_count, self.target_count) {
                (Some(h), Some(s), Some(t)) => {
                    format!("row hash {h} ({s} in source, {t} in target)")
                }
                _ => "(row)".into(),
            };
        }
        self.key
            .iter()
            .map(|(c, v)| format!("{c}={v}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// A verified table: `ferry verify`'s tables, or `copy --verify`'s `verified`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Verified {
    pub table: Table,
    pub target: Option<Table>,
    // ferry verify
    pub rows_source: u64,
    pub rows_target: u64,
    pub chunks: u64,
    pub chunks_differing: u64,
    pub missing_in_target: u64,
    pub extra_in_target: u64,
    pub differing_rows: u64,
    pub chunk_map: String,
    pub seconds: f64,
    /// `verify --dirty`: the dirty ranges compared, of the copy's.
    pub dirty: Option<DirtyScope>,
    /// `verify --repair`: what was changed in the target.
    pub repair: Option<Repair>,
    // copy --verify
    pub rows_compared: u64,
    pub differences: Option<u64>,
    pub diffs: Vec<Diff>,
}

/// `verify --dirty`'s scope of one table.
#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(default)]
pub struct DirtyScope {
    pub dirty: u64,
    pub of: u64,
}

/// What `verify --repair` changed in one table.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Repair {
    pub ranges: u64,
    pub inserted: u64,
    pub updated: u64,
    pub deleted: u64,
    /// The first rows changed: `action` (insert, update, delete) and `key`.
    pub rows: Vec<RepairedRow>,
    /// Differences found when the repaired ranges were compared again.
    pub remaining: u64,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct RepairedRow {
    pub action: String,
    pub key: String,
}

impl Verified {
    pub fn differences(&self) -> u64 {
        self.differences
            .unwrap_or(self.missing_in_target + self.extra_in_target + self.differing_rows)
    }
    pub fn rows(&self) -> u64 {
        self.rows_source.max(self.rows_compared)
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Summary {
    pub seconds: f64,
    pub rows_read: u64,
    pub rows_written: u64,
    pub rows_rejected: u64,
    pub rows_filtered: u64,
    pub tables: serde_json::Value,
    pub failed: Vec<Failed>,
    pub snapshot: Option<Snapshot>,
    pub splits: Vec<Split>,
    pub verified: Vec<Verified>,
    pub retries: Vec<Retry>,
    pub not_copied: Vec<serde_json::Value>,
    // verify
    pub equal: Option<bool>,
    pub differences: Option<u64>,
    // sync
    pub report: Option<serde_json::Value>,
}

/// A copied range, from a `range_finished` event.
#[derive(Debug, Clone)]
pub struct RangeBar {
    pub table: String,
    pub index: usize,
    pub worker: usize,
    pub start_ms: f64,
    pub end_ms: f64,
    pub rows: u64,
    pub retried: bool,
}

/// A sync progress sample.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct SyncSample {
    pub transactions: u64,
    pub changes: u64,
    pub lag_seconds: f64,
    pub changes_per_second: f64,
    pub position: Option<String>,
}

/// Everything the page draws.
pub struct View {
    pub summary: Summary,
    pub copied: Vec<CopiedTable>,
    pub verified: Vec<Verified>,
    pub ranges: Vec<RangeBar>,
    /// (ms, table, rows) per `rows_written` event.
    pub written: Vec<(u64, String, u64)>,
    /// Arrow bytes sent to the writer, per table.
    pub bytes: Vec<(String, u64)>,
    pub warnings: Vec<String>,
    pub sync: Vec<(u64, SyncSample)>,
    /// Tables in the order they get colours: the summary's, then any only
    /// the timeline names.
    pub order: Vec<String>,
    /// The last event's time.
    pub end_ms: u64,
}

impl View {
    /// MB/s of a copied table: its Arrow bytes over its seconds.
    pub fn mb_per_second(&self, t: &CopiedTable) -> Option<f64> {
        let name = t.table.to_string();
        let bytes = self.bytes.iter().find(|(n, _)| *n == name)?.1;
        (t.seconds > 0.0 && bytes > 0).then(|| bytes as f64 / 1e6 / t.seconds)
    }

    /// The table's colour, the same in every chart.
    pub fn colour(&self, table: &str) -> &'static str {
        crate::svg::color(
            self.order
                .iter()
                .position(|t| t == table)
                .unwrap_or(self.order.len()),
        )
    }
}

impl View {
    pub fn of(report: &Report) -> View {
        let summary: Summary = serde_json::from_value(report.summary.clone()).unwrap_or_default();
        let (copied, verified): (Vec<CopiedTable>, Vec<Verified>) = match report.command {
            crate::Command::Verify => (
                Vec::new(),
                serde_json::from_value(summary.tables.clone()).unwrap_or_default(),
            ),
            _ => (
                serde_json::from_value(summary.tables.clone()).unwrap_or_default(),
                summary.verified.clone(),
            ),
        };
        let retried = |table: &str, index: usize| {
            summary
                .retries
                .iter()
                .any(|r| r.table.to_string() == table && r.index == index)
        };
        let mut ranges = Vec::new();
        let mut written = Vec::new();
        let mut bytes: Vec<(String, u64)> = Vec::new();
        let mut warnings = Vec::new();
        let mut sync = Vec::new();
        for Timed { ms, event } in &report.timeline {
            let get = |k: &str| event.get(k);
            let table = || {
                get("table")
                    .and_then(|t| serde_json::from_value::<Table>(t.clone()).ok())
                    .map(|t| t.to_string())
                    .unwrap_or_default()
            };
            let num = |k: &str| get(k).and_then(|v| v.as_u64()).unwrap_or(0);
            match get("event").and_then(|e| e.as_str()) {
                Some("range_finished") => {
                    let seconds = get("seconds").and_then(|v| v.as_f64()).unwrap_or(0.0);
                    let end = *ms as f64;
                    let t = table();
                    let index = usize::try_from(num("range")).unwrap_or(0);
                    ranges.push(RangeBar {
                        retried: retried(&t, index),
                        table: t,
                        index,
                        worker: usize::try_from(num("worker")).unwrap_or(0),
                        start_ms: (end - seconds * 1000.0).max(0.0),
                        end_ms: end,
                        rows: num("rows"),
                    });
                }
                Some("rows_written") => {
                    let t = table();
                    match bytes.iter_mut().find(|(n, _)| *n == t) {
                        Some(e) => e.1 += num("bytes"),
                        None => bytes.push((t.clone(), num("bytes"))),
                    }
                    written.push((*ms, t, num("rows")));
                }
                Some("warning") => {
                    if let Some(l) = get("line").and_then(|l| l.as_str()) {
                        warnings.push(l.to_string());
                    }
                }
                Some("sync_progress") => {
                    if let Some(p) = get("progress")
                        .and_then(|p| serde_json::from_value::<SyncSample>(p.clone()).ok())
                    {
                        sync.push((*ms, p));
                    }
                }
                _ => {}
            }
        }
        let mut order: Vec<String> = copied.iter().map(|t| t.table.to_string()).collect();
        for name in ranges
            .iter()
            .map(|r| &r.table)
            .chain(written.iter().map(|w| &w.1))
        {
            if !order.contains(name) {
                order.push(name.clone());
            }
        }
        let end_ms = report.timeline.last().map_or(0, |t| t.ms);
        View {
            summary,
            copied,
            verified,
            ranges,
            written,
            bytes,
            warnings,
            sync,
            order,
            end_ms,
        }
    }
}
