//! A copy worker: takes (table, range) units from the run's queue until it
//! is empty, copies each range, compares it with `--verify`, and reports
//! the outcome of every table whose last range it finished.

use std::time::Instant;

use ferry_core::event::{Event, TableSummary};
use ferry_core::range::KeyRange;
use ferry_core::Error;

use super::retry::{run_range, RangeDone};
use super::{lock, RangeReceipt, Run, TableState, TableVerified};
use crate::verify::{self, CompareMode, TableComparison, VerifyOptions};

pub(super) type TableOutcome = std::result::Result<TableSummary, (Error, usize)>;

/// Takes units until the queue is empty; returns the outcome of each table
/// whose last range this worker finished. `id` numbers the worker (0..n)
/// in its events, for the report's timeline.
pub(super) async fn worker(run: &Run, id: usize) -> Vec<(usize, TableOutcome)> {
    let mut done = Vec::new();
    loop {
        let next = match lock(&run.queue) {
            Ok(mut q) => q.pop_front(),
            Err(_) => None,
        };
        let Some((t, r)) = next else { break };
        let claimed = lock(&run.tables[t]).map(|mut state| {
            if state.started.is_none() {
                state.started = Some(Instant::now());
                run.events.send(Event::TableStarted {
                    table: state.plan.source.clone(),
                    estimated_rows: state.plan.estimated_rows,
                });
            }
            (
                state.error.is_some(),
                state.plan.clone(),
                state.ranges[r].clone(),
                state.ranges.len(),
                state.cmp.clone(),
            )
        });
        let Ok((skip, plan, range, total, cmp)) = claimed else {
            break;
        };

        let range_started = Instant::now();
        let mut result = if skip {
            None
        } else {
            run_range(run, t, r, &plan, &range).await
        };
        // --verify: compare the committed range now, from the same snapshot.
        let mut verdict = None;
        if let (Some(Ok(_)), Some(cmp), Some(vopts)) = (&result, &cmp, &run.options.verify) {
            if per_range(cmp, &range) {
                match verify::verify_range(
                    &run.source,
                    &run.target,
                    cmp,
                    Some(&range),
                    Some(&run.snapshot),
                    vopts,
                )
                .await
                {
                    Ok(outcome) => verdict = Some(outcome),
                    Err(e) => result = Some(Err(e)),
                }
            }
        }

        // First lock: record the range; learn whether the table is finished
        // and needs a whole-table comparison (never awaited under the lock).
        let whole = {
            let Ok(mut state) = lock(&run.tables[t]) else {
                break;
            };
            match result {
                Some(Ok(RangeDone {
                    rows,
                    rejected,
                    filtered,
                })) => {
                    if let (Some(v), Some(outcome)) = (state.verified.as_mut(), verdict) {
                        tally(v, r, outcome, run.options.verify.as_ref());
                    }
                    state.rows_read += rows + rejected + filtered;
                    state.rows_written += rows;
                    state.rows_rejected += rejected;
                    state.rows_filtered += filtered;
                    state.committed += 1;
                    run.events.send(Event::RangeFinished {
                        table: plan.source.clone(),
                        range: r,
                        ranges: total,
                        rows,
                        worker: id,
                        seconds: range_started.elapsed().as_secs_f64(),
                    });
                    if let Ok(mut receipts) = lock(&run.receipts) {
                        receipts.push(RangeReceipt {
                            table: plan.source.clone(),
                            index: r,
                            range,
                            rows,
                            rejected,
                            filtered,
                        });
                    }
                }
                Some(Err(e)) => {
                    state.error.get_or_insert(e);
                }
                None => {}
            }
            state.left -= 1;
            if state.left > 0 {
                continue;
            }
            // Keyless tables (multiset) and heap-block ranges are compared
            // whole once every range is in, still from the copy's snapshot.
            match (&state.cmp, &state.error) {
                (Some(cmp), None) if state.ranges.iter().any(|r| !per_range(cmp, r)) => {
                    Some(cmp.clone())
                }
                _ => None,
            }
        };
        let whole_outcome = match (whole, &run.options.verify) {
            (Some(cmp), Some(vopts)) => Some(
                verify::verify_range(
                    &run.source,
                    &run.target,
                    &cmp,
                    None,
                    Some(&run.snapshot),
                    vopts,
                )
                .await,
            ),
            _ => None,
        };
        // Second lock: the table's outcome.
        let Ok(mut state) = lock(&run.tables[t]) else {
            break;
        };
        match whole_outcome {
            Some(Ok(o)) => {
                if let Some(v) = state.verified.as_mut() {
                    tally(v, usize::MAX, o, run.options.verify.as_ref());
                }
            }
            Some(Err(e)) => {
                state.error.get_or_insert(e);
            }
            None => {}
        }
        let outcome = match state.error.take() {
            Some(e) => Err((e, state.committed)),
            None => Ok(summary_of(&state)),
        };
        done.push((t, outcome));
    }
    done
}

/// A table's summary from its state.
pub(super) fn summary_of(state: &TableState) -> TableSummary {
    let seconds = state
        .started
        .map(|s| s.elapsed().as_secs_f64())
        .unwrap_or(0.0);
    TableSummary {
        table: state.plan.source.clone(),
        target: state.plan.target.clone(),
        rows_read: state.rows_read,
        rows_written: state.rows_written,
        rows_rejected: state.rows_rejected,
        rows_filtered: state.rows_filtered,
        seconds,
        rows_per_second: if seconds > 0.0 {
            state.rows_read as f64 / seconds
        } else {
            0.0
        },
    }
}

/// Whether `range` of a table can be compared on its own right after it
/// commits: key ranges of a table matched by key. Heap-block ranges select
/// pages that mean nothing on the target, and multiset tables need every row.
fn per_range(cmp: &TableComparison, range: &KeyRange) -> bool {
    matches!(cmp.mode, CompareMode::KeyOrder { .. }) && !matches!(range, KeyRange::Blocks { .. })
}

fn tally(
    v: &mut TableVerified,
    range: usize,
    outcome: verify::RangeOutcome,
    opts: Option<&VerifyOptions>,
) {
    v.rows_compared += outcome.rows_source;
    v.range_maps.push((range, outcome.chunk_map.clone()));
    v.differences += outcome.differences();
    let cap = opts.map(|o| o.max_diffs).unwrap_or(100);
    for d in outcome.diffs {
        if v.diffs.len() < cap {
            v.diffs.push(d);
        }
    }
}
