//! The cutover section: the steps on one time axis with the freeze window
//! shaded, the window's breakdown as one stacked bar, the gates with their
//! measured values, and what an abort undid. Read from the cutover report
//! (`summary.report`, what `ferry cutover --format json` prints last).

use maud::{html, Markup};
use serde::Deserialize;

use crate::svg;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Step {
    pub step: String,
    pub started_ms: f64,
    pub ended_ms: f64,
    pub detail: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Segment {
    pub step: String,
    pub ms: f64,
    pub share: f64,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Check {
    pub name: String,
    pub ok: bool,
    pub value: String,
    pub limit: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Generator {
    pub name: String,
    pub from: i64,
    pub to: i64,
}

/// The fields of a cutover report the page draws.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Cutover {
    pub phase: String,
    pub direction: String,
    pub attempt: u64,
    pub window_ms: Option<f64>,
    pub fence_ms: Option<f64>,
    pub blocked_by_ferry_ms: Option<f64>,
    pub fence_started_at_ms: Option<f64>,
    pub fence_effective_at_ms: Option<f64>,
    pub first_commit_at_ms: Option<f64>,
    pub deadline_at_ms: Option<f64>,
    pub breakdown: Vec<Segment>,
    pub steps: Vec<Step>,
    pub gates: Vec<Check>,
    pub generators: Vec<Generator>,
    pub differences: Vec<String>,
    pub abort_reason: Option<String>,
    pub aborted_by: Option<String>,
    pub undone: Vec<String>,
    pub notes: Vec<String>,
}

const W: f64 = 940.0;
const LEFT: f64 = 150.0;
const ROW: f64 = 20.0;

fn ms(v: f64) -> String {
    if v >= 10_000.0 {
        format!("{:.1} s", v / 1000.0)
    } else {
        format!("{v:.0} ms")
    }
}

/// Steps as bars on one axis (ms from the first step), the window shaded.
fn timeline(c: &Cutover) -> Markup {
    let Some(t0) = c.steps.iter().map(|s| s.started_ms).reduce(f64::min) else {
        return html! {};
    };
    let end = c
        .steps
        .iter()
        .map(|s| s.ended_ms)
        .chain(c.first_commit_at_ms)
        .fold(t0 + 1.0, f64::max);
    let span = end - t0;
    let x = |t: f64| LEFT + (t - t0) / span * (W - LEFT - 10.0);
    let h = ROW * c.steps.len() as f64 + 30.0;
    let step = svg::nice_step(span, 6.0);
    let mut ticks = Vec::new();
    let mut t = 0.0;
    while t <= span {
        ticks.push(t);
        t += step;
    }
    html! {
        svg class="chart" width=(W) height=(h) viewBox=(format!("0 0 {W} {h}")) role="img" {
            @if let (Some(a), Some(b)) = (c.fence_effective_at_ms, c.first_commit_at_ms) {
                rect x=(x(a)) y="0" width=((x(b) - x(a)).max(1.0)) height=(h - 20.0) fill="#fde2e1" {
                    title { "freeze window " (ms(b - a)) }
                }
            }
            @if let Some(d) = c.deadline_at_ms.filter(|d| *d <= end) {
                line class="retried" x1=(x(d)) x2=(x(d)) y1="0" y2=(h - 20.0) { title { "freeze budget deadline" } }
            }
            @for (i, s) in c.steps.iter().enumerate() {
                @let y = ROW * i as f64 + 4.0;
                text x=(LEFT - 6.0) y=(y + 12.0) text-anchor="end" { (s.step) }
                rect x=(x(s.started_ms)) y=(y) width=((x(s.ended_ms) - x(s.started_ms)).max(2.0)) height=(ROW - 6.0) fill=(svg::color(i)) {
                    title { (s.step) ": " (ms(s.ended_ms - s.started_ms)) @if let Some(d) = &s.detail { " · " (d) } }
                }
            }
            line class="axis" x1=(LEFT) x2=(W - 10.0) y1=(h - 20.0) y2=(h - 20.0) {}
            @for t in &ticks {
                text x=(x(t0 + t)) y=(h - 6.0) text-anchor="middle" { (ms(*t)) }
            }
        }
    }
}

/// The window as one stacked bar, a segment per step.
fn window_bar(c: &Cutover) -> Markup {
    let total: f64 = c.breakdown.iter().map(|s| s.ms).sum();
    if total <= 0.0 {
        return html! {};
    }
    let mut at = 0.0;
    let placed: Vec<(f64, f64, &Segment)> = c
        .breakdown
        .iter()
        .map(|s| {
            let w = s.ms / total * (W - 10.0);
            at += w;
            (at - w, w, s)
        })
        .collect();
    html! {
        svg class="chart" width=(W) height="46" viewBox=(format!("0 0 {W} 46")) role="img" {
            @for (i, (at, w, s)) in placed.iter().enumerate() {
                @let (at, w) = (*at, *w);
                rect x=(at) y="4" width=(w.max(1.0)) height="22" fill=(svg::color(i)) {
                    title { (s.step) ": " (ms(s.ms)) " (" (format!("{:.0}", s.share * 100.0)) "%)" }
                }
                @if w > 60.0 {
                    text x=(at + 4.0) y="40" { (s.step) " " (ms(s.ms)) }
                }
            }
        }
    }
}

pub fn section(report: &serde_json::Value) -> Markup {
    let c: Cutover = serde_json::from_value(report.clone()).unwrap_or_default();
    html! {
        h2 { "Cutover" }
        p {
            (c.direction) " · attempt " (c.attempt) " · ended " b { (c.phase.to_uppercase()) }
            @if let Some(w) = c.window_ms {
                " · freeze window " b { (ms(w)) } " (fence effective → first application commit on the new primary)"
            }
        }
        @if let Some(r) = &c.abort_reason {
            p { "Aborted by the " (c.aborted_by.as_deref().unwrap_or("runner")) ": " (r) }
        }
        h3 { "Steps" }
        (timeline(&c))
        @if !c.breakdown.is_empty() {
            h3 { "The window, step by step" }
            (window_bar(&c))
            table {
                tr { th { "step" } th { "ms" } th { "share" } }
                @for s in &c.breakdown {
                    tr { td { (s.step) } td class="n" { (format!("{:.0}", s.ms)) } td class="n" { (format!("{:.0}%", s.share * 100.0)) } }
                }
                @if let Some(f) = c.fence_ms { tr { td { "fence (before the window)" } td class="n" { (format!("{f:.0}")) } td {} } }
                @if let Some(b) = c.blocked_by_ferry_ms { tr { td { "blocked by ferry (to open)" } td class="n" { (format!("{b:.0}")) } td {} } }
            }
        }
        h3 { "Checks and gates" }
        table {
            tr { th {} th { "check" } th { "measured" } th { "bound" } }
            @for g in &c.gates {
                tr {
                    td { @if g.ok { "✓" } @else { b { "✗" } } }
                    td { (g.name) } td { (g.value) } td { (g.limit) }
                }
            }
        }
        @if !c.generators.is_empty() {
            h3 { "Generators raised" }
            table {
                tr { th { "generator" } th { "from" } th { "to" } }
                @for g in &c.generators { tr { td class="mono" { (g.name) } td class="n" { (g.from) } td class="n" { (g.to) } } }
            }
        }
        @if !c.differences.is_empty() {
            h3 { "Differences the final verify found" }
            ul { @for d in &c.differences { li class="mono" { (d) } } }
        }
        @if !c.undone.is_empty() {
            h3 { "Undone" }
            ul { @for u in &c.undone { li { (u) } } }
        }
        @if !c.notes.is_empty() {
            h3 { "Notes" }
            ul { @for n in &c.notes { li { (n) } } }
        }
    }
}
