//! One unit of work end to end: claim, clean up, copy with retries and
//! rejects, checkpoint.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use ferry_core::arrow::render_key;
use ferry_core::error::chain_line;
use ferry_core::range::KeyRange;
use ferry_core::{Error, ErrorKind, IfExists, Result, TablePlan};
use ferry_state::Claim;

use super::bisect::{copy_range_bisecting, locate_refused};
use super::{copy_range, lock, OnError, RangeRetry, Run};
use crate::reject::Reject;
use crate::reshape::CheckFailure;
use crate::verify;

/// What a committed range holds.
#[derive(Debug, Clone, Copy)]
pub(super) struct RangeDone {
    pub(super) rows: u64,
    pub(super) rejected: u64,
    /// Rows of the range the job's `where` left out.
    pub(super) filtered: u64,
}

/// One unit of work: claim it (with a state store), clean up what a dead
/// process may have committed, copy it (retrying, rejecting), checkpoint it.
/// `None` when another process holds or finished the range.
pub(super) async fn run_range(
    run: &Run,
    t: usize,
    r: usize,
    plan: &Arc<TablePlan>,
    range: &KeyRange,
) -> Option<Result<RangeDone>> {
    let name = plan.source.to_string();
    if let Some(st) = &run.options.state {
        match st.store.claim(&st.run.run_id, &name, r).await {
            Ok(Claim::Elsewhere) => return None,
            Ok(Claim::Taken { was_copying: true }) => {
                if let Err(e) = clean_range(run, t, plan, range, "was interrupted").await {
                    return Some(Err(e));
                }
            }
            Ok(Claim::Taken { was_copying: false }) => {}
            Err(e) => return Some(Err(e)),
        }
    }
    let mut pieces = false;
    let result = copy_with_retries(run, t, r, plan, range, &mut pieces).await;
    // A failed range stays `copying`: a transient failure at commit may
    // have committed, so whoever takes it next cleans it up first. A row
    // refusal is certain not to have committed (the server rolled the
    // statement back) unless the range was being written in pieces: that
    // range is pending again, so a re-run redoes it even where it could not
    // be cleaned (appending).
    if let (Some(st), Err(Error::Value { .. } | Error::Refused { .. })) =
        (&run.options.state, &result)
    {
        if !pieces {
            if let Err(e) = st.store.release_range(&st.run.run_id, &name, r).await {
                tracing::warn!(table = %name, range = r, error = %chain_line(&e),
                    "could not put a failed range back to pending");
            }
        }
    }
    if let (Some(st), Ok(done)) = (&run.options.state, &result) {
        if let Err(e) = st
            .store
            .finish_range(
                &st.run.run_id,
                &name,
                r,
                done.rows,
                done.rejected,
                done.filtered,
            )
            .await
        {
            return Some(Err(e));
        }
    }
    Some(result)
}

/// Deletes `range` in the target: it may hold rows of a commit whose
/// checkpoint never happened (a crash) or whose acknowledgement was lost
/// (a dropped connection).
pub(super) async fn clean_range(
    run: &Run,
    t: usize,
    plan: &Arc<TablePlan>,
    range: &KeyRange,
    why: &str,
) -> Result<()> {
    if run.options.if_exists == IfExists::Append {
        return Err(Error::Table {
            table: plan.source.to_string(),
            problem: format!(
                "range {range} {why} and may have committed; appending to an existing \
                 table, ferry cannot tell its rows from the table's own, so it does not \
                 delete them (check the range, then re-run)"
            ),
        });
    }
    let cached = lock(&run.tables[t])?.target_plan.clone();
    let target_plan = match cached {
        Some(p) => p,
        None => {
            let cmp = verify::prepare_table(&run.source, &run.target, plan, 0).await?;
            let p = Arc::new(cmp.target_plan);
            lock(&run.tables[t])?.target_plan = Some(p.clone());
            p
        }
    };
    let deleted = run.target.delete_range(&target_plan, range).await?;
    tracing::info!(table = %plan.source, %range, deleted, "range cleaned before redoing it");
    Ok(())
}

/// [`copy_range_rejecting`], again after a transient error, with
/// exponential backoff, up to `retries` times. `pieces` says whether parts
/// of the range may have committed on their own (see [`super::bisect`]).
pub(super) async fn copy_with_retries(
    run: &Run,
    t: usize,
    r: usize,
    plan: &Arc<TablePlan>,
    range: &KeyRange,
    pieces: &mut bool,
) -> Result<RangeDone> {
    let mut attempt: u32 = 0;
    // Block ranges cannot be deleted in a target; their retry relies on the
    // failed transaction not having committed.
    let cleanable =
        run.options.if_exists != IfExists::Append && !matches!(range, KeyRange::Blocks { .. });
    loop {
        let result = if attempt > 0 && cleanable {
            match clean_range(run, t, plan, range, "failed").await {
                Ok(()) => {
                    *pieces = false;
                    copy_range_rejecting(run, plan, range, pieces).await
                }
                Err(e) => Err(e),
            }
        } else {
            copy_range_rejecting(run, plan, range, pieces).await
        };
        let e = match result {
            Err(e) if e.kind() == ErrorKind::Transient => e,
            other => return other,
        };
        if attempt >= run.options.retries {
            // Still transient: the table's committed ranges stay for a resume.
            return Err(Error::query(
                format!(
                    "table {}: range {range} still failing after {attempt} retries",
                    plan.source
                ),
                ErrorKind::Transient,
                e,
            ));
        }
        attempt += 1;
        let delay = run
            .options
            .retry_delay
            .saturating_mul(1 << (attempt - 1).min(10))
            .min(Duration::from_secs(30));
        let error = chain_line(&e);
        tracing::warn!(table = %plan.source, %range, attempt, ?delay, %error, "retrying range");
        if let Ok(mut retries) = lock(&run.retries) {
            retries.push(RangeRetry {
                table: plan.source.clone(),
                index: r,
                attempt,
                error,
            });
        }
        tokio::time::sleep(delay).await;
    }
}

/// [`copy_range`], with [`OnError::Reject`]: a value the target refuses
/// fails the range's transaction (nothing commits) naming the row's key;
/// the row becomes a reject and the range is copied again without it.
/// Each reject costs one more read of the range, which suits the rare bad
/// row, not a column of them (`max_rejects_per_range` bounds it). A refusal
/// the server reports for a whole statement (a duplicate key, a CHECK, a
/// foreign key, a trigger) names no row: the range is then copied again in
/// pieces, bisected down to the refused rows (see [`super::bisect`]).
/// Tables without a primary key cannot name a row, so they fail as without
/// `reject`.
pub(super) async fn copy_range_rejecting(
    run: &Run,
    plan: &Arc<TablePlan>,
    range: &KeyRange,
    pieces: &mut bool,
) -> Result<RangeDone> {
    let filtered = filtered_rows(run, plan, range).await?;
    let mut skip = HashSet::new();
    let mut rejects = Vec::new();
    loop {
        match copy_range(run, plan, range, &skip).await {
            Ok((rows, failed)) => {
                // Rows a check refused: rejected by key and check name.
                rejects.extend(check_rejects(plan, failed));
                if let Some(w) = &run.options.rejects {
                    w.append(&rejects)?;
                }
                return Ok(RangeDone {
                    rows,
                    rejected: rejects.len() as u64,
                    filtered,
                });
            }
            Err(Error::Value {
                column,
                key,
                problem,
                ..
            }) if run.options.on_error == OnError::Reject
                && !plan.primary_key.is_empty()
                && !skip.contains(&key)
                && rejects.len() < run.options.max_rejects_per_range =>
            {
                tracing::info!(table = %plan.source, %key, %column, "row rejected");
                skip.insert(key.clone());
                rejects.push(Reject {
                    table: plan.source.to_string(),
                    key,
                    column,
                    reason: problem,
                    check: None,
                });
            }
            Err(Error::Refused { .. })
                if run.options.on_error == OnError::Reject && !plan.primary_key.is_empty() =>
            {
                // Nothing of the failed attempts committed; the bisection
                // finds every refused row again, those named by key too.
                tracing::info!(table = %plan.source, %range, "isolating refused rows");
                let mut rejects = Vec::new();
                *pieces = true;
                let rows = copy_range_bisecting(run, plan, range, &mut rejects).await?;
                if let Some(w) = &run.options.rejects {
                    w.append(&rejects)?;
                }
                return Ok(RangeDone {
                    rows,
                    rejected: rejects.len() as u64,
                    filtered,
                });
            }
            // Without reject: name the refused row all the same, by
            // writing the range again in pieces that are all rolled back.
            Err(e @ Error::Refused { key: None, .. }) if !plan.primary_key.is_empty() => {
                tracing::info!(table = %plan.source, %range, "finding the refused row");
                return Err(locate_refused(run, plan, range, e).await);
            }
            Err(e) => return Err(e),
        }
    }
}

/// The reject lines of rows a check of the job refused: key and check
/// name, never a value.
pub(super) fn check_rejects(
    plan: &TablePlan,
    failures: Vec<CheckFailure>,
) -> impl Iterator<Item = Reject> + '_ {
    failures.into_iter().map(|f| Reject {
        table: plan.source.to_string(),
        key: f.key,
        column: f.column,
        reason: format!("fails check {}", f.check),
        check: Some(f.check),
    })
}

/// The rows of `range` the job's `where` leaves out, counted in the
/// source inside the copy's snapshot (the filter's complement), so that
/// read = written + rejected + filtered holds exactly.
async fn filtered_rows(run: &Run, plan: &TablePlan, range: &KeyRange) -> Result<u64> {
    let read = plan.source_plan();
    let Some(filter) = &read.row_filter else {
        return Ok(0);
    };
    let mut complement = read.clone();
    complement.reshape = None;
    complement.row_filter = Some(run.source.dialect().excluded_by_sql(filter));
    run.source
        .count_range(&complement, range, Some(&run.snapshot))
        .await
}

/// Splits `batch` into the runs of rows whose key is not in `skip`
/// (zero-copy slices); returns them and the number of rows left out.
pub(super) fn without_keys(
    plan: &TablePlan,
    batch: arrow_array::RecordBatch,
    skip: &HashSet<String>,
) -> (Vec<arrow_array::RecordBatch>, u64) {
    let mut pieces = Vec::new();
    let mut left_out = 0;
    let mut run_start = 0;
    for row in 0..batch.num_rows() {
        if skip.contains(&render_key(plan, &batch, row)) {
            if row > run_start {
                pieces.push(batch.slice(run_start, row - run_start));
            }
            left_out += 1;
            run_start = row + 1;
        }
    }
    if run_start == 0 {
        return (vec![batch], 0);
    }
    if run_start < batch.num_rows() {
        pieces.push(batch.slice(run_start, batch.num_rows() - run_start));
    }
    (pieces, left_out)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{Int32Array, RecordBatch, StringArray};
    use ferry_core::{ColumnPlan, TablePlan};

    use super::*;

    fn plan() -> TablePlan {
        let col = |name: &str| ColumnPlan {
            name: name.into(),
            ..ColumnPlan::default()
        };
        TablePlan {
            columns: vec![col("id"), col("v")],
            primary_key: vec![0],
            ..TablePlan::default()
        }
    }

    fn batch(ids: &[i32]) -> RecordBatch {
        let v: Vec<String> = ids.iter().map(|i| format!("v{i}")).collect();
        RecordBatch::try_from_iter([
            ("id", Arc::new(Int32Array::from(ids.to_vec())) as _),
            ("v", Arc::new(StringArray::from(v)) as _),
        ])
        .unwrap()
    }

    fn ids(pieces: &[RecordBatch]) -> Vec<i32> {
        pieces
            .iter()
            .flat_map(|b| {
                let a = b.column(0).as_any().downcast_ref::<Int32Array>().unwrap();
                a.values().to_vec()
            })
            .collect()
    }

    #[test]
    fn rejected_keys_are_left_out_and_counted() {
        let skip: HashSet<String> = ["id=1", "id=4", "id=5", "id=9"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let (pieces, left_out) = without_keys(&plan(), batch(&[1, 2, 3, 4, 5, 6, 9]), &skip);
        assert_eq!(left_out, 4);
        assert_eq!(ids(&pieces), vec![2, 3, 6]);
        assert_eq!(pieces.len(), 2, "zero-copy runs between the left-out rows");

        let (pieces, left_out) = without_keys(&plan(), batch(&[2, 3]), &skip);
        assert_eq!((ids(&pieces), left_out), (vec![2, 3], 0));
        let (pieces, left_out) = without_keys(&plan(), batch(&[4, 5]), &skip);
        assert_eq!((ids(&pieces), left_out), (vec![], 2));
    }
}
