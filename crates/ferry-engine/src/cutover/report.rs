//! The cutover's report: the freeze window, from the fence taking effect
//! to the application's first commit on the new primary, and its
//! breakdown by step; the gates as measured; what an abort undid. The same
//! document is printed by `--format json`, saved in the state store, and
//! drawn by the HTML report.

use serde::Serialize;

use ferry_state::CutoverPhase;

use super::state::{CheckValue, CutoverData, Direction, GeneratorMove, Machine, StepTime};
use super::Ending;

/// One segment of the window.
#[derive(Debug, Clone, Serialize)]
pub struct Segment {
    pub step: &'static str,
    pub ms: i64,
    /// Of the whole window, 0–1.
    pub share: f64,
}

/// Everything a cutover run reports.
#[derive(Debug, Clone, Serialize)]
pub struct CutoverReport {
    pub run_id: String,
    pub attempt: u32,
    pub phase: CutoverPhase,
    pub direction: Direction,
    pub ending: Ending,
    /// Fence effective → first application commit on the new primary, ms.
    pub window_ms: Option<i64>,
    /// The fence's own time (before the window starts: until it is
    /// effective, in-flight writes may still commit).
    pub fence_ms: Option<i64>,
    /// Fence effective → the new primary opened: the part ferry controls.
    pub blocked_by_ferry_ms: Option<i64>,
    /// ms since the Unix epoch.
    pub fence_started_at_ms: Option<i64>,
    pub fence_effective_at_ms: Option<i64>,
    pub first_commit_at_ms: Option<f64>,
    pub deadline_at_ms: Option<i64>,
    pub breakdown: Vec<Segment>,
    pub steps: Vec<StepTime>,
    pub gates: Vec<CheckValue>,
    pub generators: Vec<GeneratorMove>,
    pub differences: Vec<String>,
    pub abort_reason: Option<String>,
    pub aborted_by: Option<String>,
    pub undone: Vec<String>,
    pub armed_slot: Option<String>,
    pub armed_position: Option<String>,
    pub notes: Vec<String>,
}

impl CutoverReport {
    pub fn of(m: &Machine, ending: Ending) -> CutoverReport {
        let d = &m.data;
        let first_ms = d.first_commit_us.map(|us| us as f64 / 1000.0);
        let window_ms = match (d.fence_effective_ms, d.first_commit_us) {
            (Some(f), Some(us)) => Some(us / 1000 - f),
            _ => None,
        };
        CutoverReport {
            run_id: m.run_id.clone(),
            attempt: m.attempt,
            phase: m.phase,
            direction: d.direction,
            ending,
            window_ms,
            fence_ms: d
                .fence_started_ms
                .zip(d.fence_effective_ms)
                .map(|(s, e)| e - s),
            blocked_by_ferry_ms: d.fence_effective_ms.zip(d.open_ms).map(|(f, o)| o - f),
            fence_started_at_ms: d.fence_started_ms,
            fence_effective_at_ms: d.fence_effective_ms,
            first_commit_at_ms: first_ms,
            deadline_at_ms: d.deadline_ms,
            breakdown: breakdown(d),
            steps: d.steps.clone(),
            gates: d.gates.clone(),
            generators: d.generators.clone(),
            differences: d.differences.clone(),
            abort_reason: d.abort_reason.clone(),
            aborted_by: d.aborted_by.clone(),
            undone: d.undone.clone(),
            armed_slot: d.armed_slot.clone(),
            armed_position: d.armed_position.clone(),
            notes: d.notes.clone(),
        }
    }
}

/// The window cut at each phase it went through; user steps at a point
/// count in the segment that follows it. Segments sum to the window.
fn breakdown(d: &CutoverData) -> Vec<Segment> {
    let marks: [(&'static str, Option<i64>); 7] = [
        ("drain", d.drained_ms),
        ("verify", d.verified_ms),
        ("sequences", d.sequenced_ms),
        ("reverse_arm", d.armed_ms),
        ("switch", d.switched_ms),
        ("open", d.open_ms),
        ("first_commit", d.first_commit_us.map(|us| us / 1000)),
    ];
    let Some(mut from) = d.fence_effective_ms else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (step, at) in marks {
        let Some(at) = at else { break };
        out.push(Segment {
            step,
            ms: (at - from).max(0),
            share: 0.0,
        });
        from = at.max(from);
    }
    let total: i64 = out.iter().map(|s| s.ms).sum();
    for s in &mut out {
        s.share = if total > 0 {
            s.ms as f64 / total as f64
        } else {
            0.0
        };
    }
    out
}
