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
