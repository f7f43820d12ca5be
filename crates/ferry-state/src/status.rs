//! The states a run, a table, a range and a cutover step go through.
//!
//! Each is a serde enum whose snake_case name is the string the stores keep
//! in their `status` columns (`pending`, `copying`, …): the strings predate
//! the enums, so stores written by earlier ferry versions stay readable,
//! and people reading a store see the same words the code uses.
//! [`as_str`](RangeStatus::as_str) gives that string without going through
//! serde, for SQL parameters; a test holds the two forms together.

use serde::{Deserialize, Serialize};

/// The string each state is stored as, and the way back.
macro_rules! stored_as {
    ($ty:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        impl $ty {
            /// Every state, in the order a run goes through them.
            pub const ALL: &'static [$ty] = &[$($ty::$variant),+];

            /// The string the stores keep (the serde name).
            pub fn as_str(self) -> &'static str {
                match self {
                    $($ty::$variant => $text),+
                }
            }

            /// The state stored as `s`, or `None` for a string ferry does
            /// not know (a store written by a newer version).
            pub fn parse(s: &str) -> Option<$ty> {
                Self::ALL.iter().copied().find(|v| v.as_str() == s)
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

/// Where a run stands (the `status` of its row in `ferry_runs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Set by `begin_setup` when it registers a new run or starts a
    /// finished one over. The process holding the run's setup lock is
    /// preparing the targets and storing the tables' ranges: some tables
    /// may have no ranges yet. A run left here by a dead process resumes.
    Setup,
    /// Set by `end_setup`: every table's ranges are stored and stay as
    /// they are; processes claim and copy them.
    Ready,
    /// Set by `finish_run` once every range is done: one process (on
    /// PostgreSQL, its session is recorded as the owner) builds the
    /// post-data schema. Taken again when that process is gone.
    Finishing,
    /// Set by `mark_finished` after the last step: the copy is complete.
    /// A later `begin_setup` keeps it or starts it over, as asked.
    Finished,
}

stored_as!(RunStatus {
    Setup => "setup",
    Ready => "ready",
    Finishing => "finishing",
    Finished => "finished",
});

/// Where a range stands (the `status` of its row in `ferry_ranges`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RangeStatus {
    /// Set by `insert_ranges` (planned, not started), `release_range` (its
    /// copy failed and nothing of it committed) or `reset_table` (its
    /// table's target was emptied). No rows of it are in the target.
    Pending,
    /// Set by `claim`: a process copies it, and may have died doing so. Its
    /// rows may or may not have committed in the target, so whoever claims
    /// it next deletes the range in the target first.
    Copying,
    /// Set by `finish_range` after the target committed it: its rows are in
    /// the target, and the stored `rows` and `rejected` are final.
    Done,
}

stored_as!(RangeStatus {
    Pending => "pending",
    Copying => "copying",
    Done => "done",
});

/// Where a table stands in a run. The stores keep no row per table: a
/// table's state is what its ranges say ([`TableStatus::of`]), so it can
/// never disagree with them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TableStatus {
    /// No ranges stored: setup has not planned the table yet (or a
    /// finished run was started over). Nothing of the run is in its target.
    Unplanned,
    /// Every range pending (just planned, or reset after the table failed
    /// and its target was emptied): no row of the run is in the target.
    Pending,
    /// Some ranges claimed or done, some not: processes copy it, or died
    /// doing so; the target holds the done ranges' rows, maybe more.
    Copying,
    /// Every range done: all its rows are in the target.
    Done,
}

stored_as!(TableStatus {
    Unplanned => "unplanned",
    Pending => "pending",
    Copying => "copying",
    Done => "done",
});

impl TableStatus {
    /// The table's state from its stored ranges' states.
    pub fn of(ranges: impl IntoIterator<Item = RangeStatus>) -> TableStatus {
        let (mut pending, mut copying, mut done) = (false, false, false);
        for status in ranges {
            match status {
                RangeStatus::Pending => pending = true,
                RangeStatus::Copying => copying = true,
                RangeStatus::Done => done = true,
            }
        }
        match (pending, copying, done) {
            (false, false, false) => TableStatus::Unplanned,
            (true, false, false) => TableStatus::Pending,
            (false, false, true) => TableStatus::Done,
            _ => TableStatus::Copying,
        }
    }
}

/// Where one step of a cutover stands (`ferry_cutover_steps.status`).
/// Steps are recorded by the cutover runner (`ferry cutover`); the store
/// only keeps what it is told, so each step can be resumed or rolled back
/// from what was recorded last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepStatus {
    /// Recorded by the runner before it acts: the step has begun and may
    /// have had some of its effect. A runner that finds a step here after a
    /// crash repeats it (every step is idempotent) or rolls it back.
    Running,
    /// Recorded after the step's effect is complete and checked.
    Done,
    /// Recorded when the step could not complete; its detail says why. The
    /// runner decides whether to retry it or roll back.
    Failed,
    /// Recorded after the step's effect was undone (the cutover is being
    /// abandoned): the source is as it was before the step.
    RolledBack,
}

stored_as!(StepStatus {
    Running => "running",
    Done => "done",
    Failed => "failed",
    RolledBack => "rolled_back",
});

/// Where a cutover stands (`ferry_cutover.phase`): one persisted state
/// machine per cutover, moved only by compare-and-set
/// ([`CheckpointStore::set_cutover`](crate::CheckpointStore::set_cutover)),
/// so the runner, `ferry cutover go|resume|confirm` and the guardian (a
/// second process that lifts the fence if the runner dies) never overwrite
/// each other. "Blue" is the database the application writes to before the
/// switch (the old one; in a rollback, the new one), "green" the other.
///
/// The forward order is `Preflight → Ready → Fencing → Fenced → Drained →
/// Verified → Sequenced → ReverseArmed → Switching → Switched → GreenOpen →
/// Done`; any failure before `Switching` goes `Aborting → Aborted`; a switch
/// whose outcome is not known goes to `SwitchUnknown` and waits for a human.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CutoverPhase {
    /// Set by the runner when an attempt starts: checks run, the marker
    /// tables are created, the forward sync catches up. Nothing is fenced.
    Preflight,
    /// Set when the pre-flight passed: the runner holds here (postpone
    /// file, waiting for `go`, gates closed) while the sync keeps up.
    /// Nothing is fenced.
    Ready,
    /// Set after the fence's undo and the freeze deadline are stored and
    /// before the first fence statement runs: blue may be partly fenced.
    /// From here until `Switching`, a failure lifts the fence.
    Fencing,
    /// Set when the fence took effect (no application session can write
    /// blue, none holds a write transaction); the time is the window's start.
    Fenced,
    /// Set when the marker transaction committed on blue after the fence is
    /// on green: everything blue committed is applied; the sync is stopped.
    Drained,
    /// Set when the final verify found blue and green equal.
    Verified,
    /// Set when every generator on green is at or past blue's.
    Sequenced,
    /// Set when the reverse stream's start point on green is taken (or the
    /// plan has no way back): nothing but the application writes green after it.
    ReverseArmed,
    /// Set before the switch command runs: from here ferry never lifts the
    /// fence on its own (the guardian stands down).
    Switching,
    /// Set when a switch ended without a known outcome (timeout, a failing
    /// hook without a conclusive probe, the runner died in it): blue stays
    /// fenced until `ferry cutover confirm green|blue`.
    SwitchUnknown,
    /// Set when the switch is known to have happened.
    Switched,
    /// Set when green is open for the application; the runner waits for its
    /// first commit there (the window's end) and runs the post-checks.
    GreenOpen,
    /// Set when the cutover is complete. Blue stays fenced.
    Done,
    /// Set by whoever undoes a failed attempt (runner or guardian) before
    /// the undo runs; repeated undo is harmless.
    Aborting,
    /// Set when the undo is done: blue is writable again, as before the attempt.
    Aborted,
}

stored_as!(CutoverPhase {
    Preflight => "preflight",
    Ready => "ready",
    Fencing => "fencing",
    Fenced => "fenced",
    Drained => "drained",
    Verified => "verified",
    Sequenced => "sequenced",
    ReverseArmed => "reverse_armed",
    Switching => "switching",
    SwitchUnknown => "switch_unknown",
    Switched => "switched",
    GreenOpen => "green_open",
    Done => "done",
    Aborting => "aborting",
    Aborted => "aborted",
});

impl CutoverPhase {
    /// Blue may be fenced and the switch has not started: a failure here is
    /// undone (blue writable again), by the runner or at the deadline by the
    /// guardian.
    pub fn fenced_before_switch(self) -> bool {
        use CutoverPhase::*;
        matches!(
            self,
            Fencing | Fenced | Drained | Verified | Sequenced | ReverseArmed
        )
    }

    /// The switch has started: only forward (or a human) from here.
    pub fn past_switch(self) -> bool {
        use CutoverPhase::*;
        matches!(
            self,
            Switching | SwitchUnknown | Switched | GreenOpen | Done
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The stored strings are the serde names, and the ones earlier
    /// versions wrote (existing stores stay readable).
    #[test]
    fn stored_strings_are_the_serde_names() {
        fn check<T: Serialize + Copy>(all: &[T], as_str: fn(T) -> &'static str, known: &[&str]) {
            let names: Vec<&str> = all.iter().map(|v| as_str(*v)).collect();
            assert_eq!(names, known);
            for v in all {
                assert_eq!(
                    serde_json::to_value(v).unwrap(),
                    serde_json::Value::String(as_str(*v).into())
                );
            }
        }
        check(
            RunStatus::ALL,
            RunStatus::as_str,
            &["setup", "ready", "finishing", "finished"],
        );
        check(
            RangeStatus::ALL,
            RangeStatus::as_str,
            &["pending", "copying", "done"],
        );
        check(
            TableStatus::ALL,
            TableStatus::as_str,
            &["unplanned", "pending", "copying", "done"],
        );
        check(
            StepStatus::ALL,
            StepStatus::as_str,
            &["running", "done", "failed", "rolled_back"],
        );
        check(
            CutoverPhase::ALL,
            CutoverPhase::as_str,
            &[
                "preflight",
                "ready",
                "fencing",
                "fenced",
                "drained",
                "verified",
                "sequenced",
                "reverse_armed",
                "switching",
                "switch_unknown",
                "switched",
                "green_open",
                "done",
                "aborting",
                "aborted",
            ],
        );
        assert_eq!(RangeStatus::parse("copying"), Some(RangeStatus::Copying));
        assert_eq!(RunStatus::parse("finished"), Some(RunStatus::Finished));
        assert_eq!(RunStatus::parse("Finished"), None);
    }

    #[test]
    fn a_table_is_what_its_ranges_say() {
        use RangeStatus::{Copying, Done, Pending};
        assert_eq!(TableStatus::of([]), TableStatus::Unplanned);
        assert_eq!(TableStatus::of([Pending, Pending]), TableStatus::Pending);
        assert_eq!(TableStatus::of([Done, Done]), TableStatus::Done);
        assert_eq!(TableStatus::of([Done, Pending]), TableStatus::Copying);
        assert_eq!(TableStatus::of([Pending, Copying]), TableStatus::Copying);
        assert_eq!(TableStatus::of([Copying]), TableStatus::Copying);
    }
}
