//! The page: sections in the order a reader asks their questions (did it
//! work, what moved, how fast, what was refused, is it equal), each drawn
//! only when the run has it.

use maud::{html, Markup, PreEscaped, DOCTYPE};

use crate::svg;
use crate::view::{Verified, View};
use crate::{Command, Report};

const CSS: &str = r#"
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2330;margin:24px auto;max-width:1000px;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #d8dde6;padding-bottom:4px}
h3{font-size:14px;margin:16px 0 6px}
table{border-collapse:collapse;margin:6px 0 10px}th,td{padding:3px 10px;border-bottom:1px solid #e6e9ef;text-align:left;vertical-align:top}
th{background:#f4f6f9;font-weight:600}td.n{text-align:right;font-variant-numeric:tabular-nums}
.facts th{background:none;width:150px;color:#556}
.badge{display:inline-block;padding:2px 10px;border-radius:10px;font-weight:600;color:#fff}
.ok{background:#2e7d32}.warn{background:#b26a00}.bad{background:#c62828}
.cards{display:flex;gap:12px;flex-wrap:wrap;margin:10px 0}.card{border:1px solid #d8dde6;border-radius:6px;padding:8px 14px;min-width:110px}
.card b{display:block;font-size:18px}.card span{color:#556;font-size:12px}
.chart text{font-size:11px;fill:#334}.chart .axis{stroke:#556}.chart .grid{stroke:#e6e9ef}
.chart .retried{stroke:#c62828;stroke-width:2}
.chunks .c-eq{fill:#c8e6c9}.chunks .c-diff{fill:#c62828}.chunks .c-miss{fill:#ef6c00}.chunks .c-extra{fill:#6a1b9a}
.legend span{display:inline-block;width:10px;height:10px;margin:0 4px 0 12px;vertical-align:middle}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12.5px}
ul.warnings li{margin:2px 0}
footer{margin-top:32px;color:#778;font-size:12px}
@media print{body{margin:0;max-width:none}h2{break-after:avoid}svg,table{break-inside:avoid}}
"#;

/// The whole HTML document of `report`.
pub fn render_html(report: &Report) -> String {
    let v = View::of(report);
    let title = format!("ferry {} report · {}", report.command.name(), report.run_id);
    let page = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) }
                style { (PreEscaped(CSS)) }
            }
            body {
                (header(report))
                (totals(report, &v))
                @if !v.warnings.is_empty() { (warnings(&v)) }
                @if !v.copied.is_empty() || !v.summary.failed.is_empty() { (tables(&v)) }
                @if !v.written.is_empty() { (throughput(&v)) }
                @if !v.ranges.is_empty() { (ranges(&v)) }
                @if !report.rejects.is_empty() { (rejects(report)) }
                @if !v.verified.is_empty() { (verify(&v)) }
                @if report.command == Command::Sync { (sync(&v)) }
                @if report.command == Command::Cutover {
                    @if let Some(r) = &v.summary.report { (crate::cutover::section(r)) }
                }
                footer {
                    "Made by ferry " (report.ferry_version) ". Every number here is in the run's "
                    code { "--format json" } " document, embedded below as data."
                }
                script type="application/json" id="ferry-report-data" { (PreEscaped(data_block(report))) }
            }
        }
    };
    page.into_string()
}

/// The report as JSON that cannot end the `<script>` element early: `<`,
/// `>` and `&` only occur inside JSON strings, where `\u003c` means the same.
fn data_block(report: &Report) -> String {
    serde_json::to_string(report)
        .unwrap_or_default()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

fn status(report: &Report) -> (&'static str, &'static str) {
    match (report.command, report.exit_code) {
        (_, 0) => ("ok", "success"),
        (Command::Copy, 1) => ("warn", "copied, verify found differences"),
        (Command::Verify, 1) => ("warn", "differences found"),
        (_, 1) => ("warn", "finished with findings"),
        _ => ("bad", "failed"),
    }
}

fn header(report: &Report) -> Markup {
    let (class, words) = status(report);
    let v = View::of(report);
    html! {
        h1 { "ferry " (report.command.name()) " " span class=(format!("badge {class}")) { (words) } }
        table class="facts" {
            tr { th { "source" } td class="mono" { (report.source) } }
            tr { th { "target" } td class="mono" { (report.target) } }
            tr { th { "run" } td class="mono" { (report.run_id) } }
            tr { th { "started" } td { (report.started_at) } }
            tr { th { "ended" } td { (report.ended_at) } }
            tr { th { "exit status" } td { (report.exit_code) " (" (words) ")" } }
            @if let Some(s) = &v.summary.snapshot {
                tr { th { "snapshot" } td { (s.method) } }
                @if let Some(p) = &s.position {
                    tr { th { "snapshot position" } td class="mono" { (p.to_string()) } }
                }
            }
            tr { th { "ferry" } td { (report.ferry_version) } }
        }
    }
}

fn totals(report: &Report, v: &View) -> Markup {
    let s = &v.summary;
    let card =
        |value: String, label: &str| html! { div class="card" { b { (value) } span { (label) } } };
    html! {
        div class="cards" {
            @match report.command {
                Command::Copy => {
                    (card(v.copied.len().to_string(), "tables copied"))
                    (card(s.failed.len().to_string(), "tables failed"))
                    (card(svg::grouped(s.rows_read), "rows read"))
                    (card(svg::grouped(s.rows_written), "rows written"))
                    (card(svg::grouped(s.rows_rejected), "rows rejected"))
                    (card(format!("{:.2} s", s.seconds), "seconds"))
                    @if s.seconds > 0.0 {
                        (card(svg::short(s.rows_written as f64 / s.seconds), "rows/s"))
                    }
                }
                Command::Verify => {
                    (card(v.verified.len().to_string(), "tables compared"))
                    (card(v.verified.iter().filter(|t| t.differences() == 0).count().to_string(), "tables equal"))
                    (card(s.differences.unwrap_or(0).to_string(), "differences"))
                    (card(s.failed.len().to_string(), "tables failed"))
                    (card(format!("{:.2} s", s.seconds), "seconds"))
                }
                Command::Cutover => {
                    @if let Some(r) = &s.report {
                        (card(r.get("window_ms").and_then(|x| x.as_i64()).map_or("–".to_string(), |w| format!("{:.3} s", w as f64 / 1000.0)), "freeze window"))
                        (card(r.get("phase").and_then(|x| x.as_str()).unwrap_or("").to_uppercase(), "state"))
                        (card(r.get("attempt").and_then(|x| x.as_u64()).unwrap_or(0).to_string(), "attempt"))
                    }
                }
                Command::Sync => {
                    @if let Some(r) = &s.report {
                        (card(r.get("transactions").and_then(|x| x.as_u64()).unwrap_or(0).to_string(), "transactions"))
                        (card(r.get("changes").and_then(|x| x.as_u64()).unwrap_or(0).to_string(), "changes"))
                        (card(format!("{:.1} s", r.get("seconds").and_then(|x| x.as_f64()).unwrap_or(0.0)), "seconds"))
                    }
                }
            }
        }
    }
}

fn warnings(v: &View) -> Markup {
    html! {
        h2 { "Warnings" }
        ul class="warnings" { @for w in &v.warnings { li { (w) } } }
    }
}

/// Tables drawn as bars of their own; the rest share one.
const BARS: usize = 20;

fn tables(v: &View) -> Markup {
    let total: f64 = v.copied.iter().map(|t| t.seconds).sum();
    let share = |s: f64| if total > 0.0 { s / total * 100.0 } else { 0.0 };
    let mut by_time: Vec<&crate::view::CopiedTable> = v.copied.iter().collect();
    by_time.sort_by(|a, b| b.seconds.total_cmp(&a.seconds));
    let mut bars: Vec<(String, &str, f64, String)> = by_time
        .iter()
        .take(BARS)
        .map(|t| {
            let name = t.table.to_string();
            let colour = v.colour(&name);
            (
                name,
                colour,
                t.seconds,
                format!("{:.2} s · {:.0}%", t.seconds, share(t.seconds)),
            )
        })
        .collect();
    if by_time.len() > BARS {
        let rest: f64 = by_time[BARS..].iter().map(|t| t.seconds).sum();
        bars.push((
            format!("{} other tables", by_time.len() - BARS),
            "#bab0ac",
            rest,
            format!("{rest:.2} s · {:.0}%", share(rest)),
        ));
    }
    let split = |name: &str| {
        v.summary
            .splits
            .iter()
            .find(|s| s.table.to_string() == name)
    };
    html! {
        h2 { "Tables" }
        table {
            tr { th { "table" } th { "target" } th { "read" } th { "written" } th { "rejected" } th { "seconds" } th { "rows/s" } th title="Arrow data bytes sent to the writer per second" { "MB/s" } th { "split" } }
            @for t in &v.copied {
                @let name = t.table.to_string();
                tr {
                    td class="mono" { (name) } td class="mono" { (t.target.to_string()) }
                    td class="n" { (svg::grouped(t.rows_read)) } td class="n" { (svg::grouped(t.rows_written)) } td class="n" { (svg::grouped(t.rows_rejected)) }
                    td class="n" { (format!("{:.2}", t.seconds)) } td class="n" { (format!("{:.0}", t.rows_per_second)) }
                    td class="n" { @if let Some(m) = v.mb_per_second(t) { (format!("{m:.1}")) } @else { "–" } }
                    td {
                        @if let Some(s) = split(&name) {
                            (s.ranges) " range" @if s.ranges != 1 { "s" }
                            " (" (s.method.as_str().map(str::to_string).unwrap_or_else(|| s.method.to_string())) ")"
                            @if s.resumed > 0 { ", " (s.resumed) " resumed" }
                            @if let Some(n) = &s.note { br; small { (n) } }
                        }
                    }
                }
            }
            @for f in &v.summary.failed {
                tr { td class="mono" { (f.table.to_string()) } td colspan="8" { span class="badge bad" { "failed" } " " (f.error) } }
            }
        }
        @if bars.len() > 1 {
            h3 { "Share of the run (table seconds" @if v.copied.len() > BARS { ", the " (BARS) " longest" } ")" }
            (svg::bars(&bars))
        }
    }
}

fn throughput(v: &View) -> Markup {
    let end = v.written.iter().map(|w| w.0).max().unwrap_or(0).max(1);
    let bucket = (end / 80).max(250);
    let buckets = usize::try_from(end / bucket + 1).unwrap_or(1);
    let mut by_table: Vec<(String, u64)> = Vec::new();
    for (_, t, rows) in &v.written {
        match by_table.iter_mut().find(|(n, _)| n == t) {
            Some(e) => e.1 += rows,
            None => by_table.push((t.clone(), *rows)),
        }
    }
    by_table.sort_by_key(|t| std::cmp::Reverse(t.1));
    let shown: Vec<String> = by_table.iter().take(5).map(|t| t.0.clone()).collect();
    let per_second = 1000.0 / bucket as f64;
    let series_of = |pick: &dyn Fn(&str) -> bool| -> Vec<(f64, f64)> {
        let mut sums = vec![0u64; buckets];
        for (ms, t, rows) in &v.written {
            if pick(t) {
                sums[usize::try_from(ms / bucket).unwrap_or(0).min(buckets - 1)] += rows;
            }
        }
        sums.iter()
            .enumerate()
            .map(|(i, &r)| {
                (
                    (i as f64 + 0.5) * bucket as f64 / 1000.0,
                    r as f64 * per_second,
                )
            })
            .collect()
    };
    let mut series = vec![("all tables".to_string(), "#1d2330", series_of(&|_| true))];
    if by_table.len() > 1 {
        for t in &shown {
            series.push((t.clone(), v.colour(t), series_of(&|x| x == t)));
        }
    }
    html! {
        h2 { "Throughput" }
        p { "Rows written per second, in " (bucket) " ms steps" @if by_table.len() > 5 { " (the five largest tables, and all tables)" } "." }
        (svg::lines(&series, v.end_ms as f64 / 1000.0, "rows/s"))
    }
}

fn ranges(v: &View) -> Markup {
    let mut tables: Vec<String> = Vec::new();
    for r in &v.ranges {
        if !tables.contains(&r.table) {
            tables.push(r.table.clone());
        }
    }
    let colour = |t: &str| v.colour(t);
    let resumed: usize = v.summary.splits.iter().map(|s| s.resumed).sum();
    html! {
        h2 { "Ranges per worker" }
        p {
            (v.ranges.len()) " ranges copied by "
            (v.ranges.iter().map(|r| r.worker + 1).max().unwrap_or(1)) " workers. "
            @if !v.summary.retries.is_empty() { "Ranges outlined in red were retried. " }
            @if resumed > 0 { (resumed) " ranges were done by an earlier process of this run and not copied again." }
        }
        (svg::gantt(&v.ranges, &colour, v.end_ms as f64))
        @if tables.len() > 1 {
            p class="legend" { @for t in tables.iter().take(16) { span style=(format!("background:{}", v.colour(t))) {} (t) } }
        }
        @if !v.summary.retries.is_empty() {
            h3 { "Retries" }
            table {
                tr { th { "table" } th { "range" } th { "attempt" } th { "error" } }
                @for r in &v.summary.retries {
                    tr { td class="mono" { (r.table.to_string()) } td class="n" { (r.index) } td class="n" { (r.attempt) } td { (r.error) } }
                }
            }
        }
    }
}

fn rejects(report: &Report) -> Markup {
    html! {
        h2 { "Rejected rows" }
        @if let Some(f) = &report.reject_file {
            p { "Each refused row is listed with its key and reason in " a href=(format!("file://{f}")) class="mono" { (f) } "." }
        }
        table {
            tr { th { "table" } th { "column" } th { "reason" } th { "rows" } }
            @for r in &report.rejects {
                tr { td class="mono" { (r.table) } td class="mono" { (r.column) } td { (r.reason) } td class="n" { (r.rows) } }
            }
        }
    }
}

fn verify(v: &View) -> Markup {
    html! {
        h2 { "Verify" }
        p class="legend" {
            "Chunk map, one cell per chunk in key order:"
            span class="c" style="background:#c8e6c9" {} "equal"
            span style="background:#c62828" {} "values differ"
            span style="background:#ef6c00" {} "missing in target"
            span style="background:#6a1b9a" {} "extra in target"
        }
        @for t in &v.verified { (verified_table(t)) }
    }
}

fn verified_table(t: &Verified) -> Markup {
    let d = t.differences();
    html! {
        h3 {
            span class="mono" { (t.table.to_string()) }
            @if let Some(target) = &t.target { " → " span class="mono" { (target.to_string()) } }
            " "
            @if d == 0 { span class="badge ok" { "equal" } } @else { span class="badge warn" { (d) " differences" } }
        }
        p {
            (t.rows()) " source rows"
            @if t.rows_target > 0 || t.rows_source > 0 { ", " (t.rows_target) " target rows" }
            @if t.chunks > 0 { ", " (t.chunks) " chunks (" (t.chunks_differing) " differing)" }
            @if d > 0 && t.rows_source > 0 {
                "; " (t.missing_in_target) " missing in target, " (t.extra_in_target) " extra, " (t.differing_rows) " differing"
            }
            @if t.seconds > 0.0 { ", " (format!("{:.2} s", t.seconds)) }
            "."
        }
        @if !t.chunk_map.is_empty() { (svg::chunk_map(&t.chunk_map)) }
        @if !t.diffs.is_empty() {
            table class="diffs" {
                tr { th { "difference" } th { "key" } th { "columns" } }
                @for diff in &t.diffs {
                    tr { td { (diff.kind_words()) } td class="mono key" { (diff.key_text()) } td class="mono" { (diff.columns.join(", ")) } }
                }
            }
            @if (t.diffs.len() as u64) < d { p { (d - t.diffs.len() as u64) " more not listed (raise " code { "--max-diffs" } ")." } }
        }
    }
}

fn sync(v: &View) -> Markup {
    let lag: Vec<(f64, f64)> = v
        .sync
        .iter()
        .map(|(ms, s)| (*ms as f64 / 1000.0, s.lag_seconds))
        .collect();
    let rate: Vec<(f64, f64)> = v
        .sync
        .iter()
        .map(|(ms, s)| (*ms as f64 / 1000.0, s.changes_per_second))
        .collect();
    html! {
        h2 { "Sync" }
        @if let Some(r) = &v.summary.report {
            p {
                "Ended: " (r.get("ended").and_then(|x| x.as_str()).unwrap_or("?"))
                ", at position " span class="mono" { (r.get("position").and_then(|x| x.as_str()).unwrap_or("the start")) } "."
            }
        }
        @if v.sync.is_empty() {
            p { "No progress samples were recorded." }
        } @else {
            h3 { "Lag (seconds)" }
            (svg::lines(&[("lag".to_string(), svg::color(0), lag)], v.end_ms as f64 / 1000.0, "lag s"))
            h3 { "Changes applied per second" }
            (svg::lines(&[("changes/s".to_string(), svg::color(1), rate)], v.end_ms as f64 / 1000.0, "changes/s"))
        }
    }
}
