//! The run report: one self-contained HTML file a person can read offline,
//! attach to a ticket, or print to PDF (inline CSS and SVG, nothing fetched,
//! no script runs).
//!
//! A [`Report`] is data, saved in the state store as JSON so `ferry report
//! <run-id>` can draw any past run again. Its `summary` is exactly the
//! document `--format json` prints for the same run, and its `timeline` the
//! events (`--format json` event objects) with the time each arrived, so
//! every number in the HTML is one a program reading the JSON also sees.
//! The HTML embeds the report itself as a JSON data block
//! (`<script type="application/json" id="ferry-report-data">`, which no
//! browser executes) for tools that want the numbers back.
//!
//! Rendering ([`render_html`]) reads the summary through small view structs
//! that take only the fields they draw and default the rest, so a report of
//! one command (a verify) simply has no copy sections.

mod cutover;
mod html;
mod record;
mod svg;
mod view;

use serde::{Deserialize, Serialize};

pub use html::render_html;
pub use record::{now, Recorder};

/// Which command made the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Command {
    Copy,
    Verify,
    Sync,
    Cutover,
}

impl Command {
    pub fn name(self) -> &'static str {
        match self {
            Command::Copy => "copy",
            Command::Verify => "verify",
            Command::Sync => "sync",
            Command::Cutover => "cutover",
        }
    }
}

/// Everything one run's report shows.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub command: Command,
    pub ferry_version: String,
    /// The run's id in the state store (`ferry report <run-id>`).
    pub run_id: String,
    /// RFC 3339, UTC.
    pub started_at: String,
    pub ended_at: String,
    pub exit_code: u8,
    /// Redacted URLs (no password).
    pub source: String,
    pub target: String,
    /// The `--format json` document of the run.
    pub summary: serde_json::Value,
    /// Events as `--format json` writes them, with when they arrived.
    #[serde(default)]
    pub timeline: Vec<Timed>,
    /// Rejected rows counted by table, column and reason.
    #[serde(default)]
    pub rejects: Vec<RejectCount>,
    /// Where the rejected rows are listed.
    #[serde(default)]
    pub reject_file: Option<String>,
}

/// One event and the milliseconds since the run started when it arrived.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Timed {
    pub ms: u64,
    pub event: serde_json::Value,
}

/// How many rows of one table were refused for one column and reason.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RejectCount {
    pub table: String,
    pub column: String,
    pub reason: String,
    pub rows: u64,
}

/// Counts the lines of a reject file (JSON objects with `table`, `key`,
/// `column`, `reason`) by table, column and reason; a (table, key) written
/// twice by a redone range counts once. A missing file counts nothing.
pub fn count_rejects(path: &std::path::Path) -> Vec<RejectCount> {
    #[derive(Deserialize)]
    struct Line {
        table: String,
        key: String,
        #[serde(default)]
        column: String,
        #[serde(default)]
        reason: String,
    }
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new();
    };
    let mut seen = std::collections::HashSet::new();
    let mut counts: Vec<RejectCount> = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let Ok(l) = serde_json::from_str::<Line>(line) else {
            continue;
        };
        if !seen.insert((l.table.clone(), l.key.clone())) {
            continue;
        }
        match counts
            .iter_mut()
            .find(|c| c.table == l.table && c.column == l.column && c.reason == l.reason)
        {
            Some(c) => c.rows += 1,
            None => counts.push(RejectCount {
                table: l.table,
                column: l.column,
                reason: l.reason,
                rows: 1,
            }),
        }
    }
    counts.sort_by(|a, b| (&a.table, &a.column, &a.reason).cmp(&(&b.table, &b.column, &b.reason)));
    counts
}

#[cfg(test)]
mod tests;
