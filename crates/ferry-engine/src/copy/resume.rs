//! Run state: setting a run up in the state store (or finding it there),
//! and forgetting a failed table's ranges.

use ferry_core::range::{KeyRange, RangeOptions, RangePlan, SplitMethod};
use ferry_core::{Error, IfExists, Result, TablePlan, TableRef};
use ferry_state::{RangeStatus, RunStart};

use super::{CopyOptions, Run, RunOpening, RunState, RunSummary};
use crate::Adapter;
use ferry_core::error::chain_line;

/// A table's ranges as stored: the plan, and per range `Some((rows,
/// rejected, filtered))` when an earlier run finished it.
pub(super) type StoredTable = (RangePlan, Vec<Option<(u64, u64, u64)>>);

/// Sets the run up under the state store's run lock: prepares the targets
/// (a resumed run keeps what it finds: `Append`), plans and stores each
/// table's ranges unless stored already, and reads them back, so every
/// process and every resume uses the first plan's boundaries.
pub(super) async fn setup_run(
    state: &RunState,
    source: &Adapter,
    target: &Adapter,
    plans: &[TablePlan],
    options: &CopyOptions,
    range_options: &RangeOptions,
) -> Result<(Vec<StoredTable>, RunSummary, Vec<TableRef>)> {
    let (store, run_id) = (&state.store, state.run.run_id.as_str());
    let start = store.begin_setup(&state.run, !state.resume_only).await?;
    let label = match start {
        RunStart::New => RunOpening::New,
        RunStart::Unfinished => RunOpening::Resumed,
        RunStart::Finished if state.resume_only => RunOpening::Finished,
        RunStart::Finished => RunOpening::Restarted,
    };
    let summary = RunSummary {
        run_id: run_id.to_string(),
        start: label,
        finished: false,
    };
    tracing::info!(run_id, start = %label, "run state");
    if label == RunOpening::Finished {
        store.end_setup(run_id).await?;
        return Ok((Vec::new(), summary, options.preexisting.clone()));
    }
    let if_exists = if start == RunStart::Unfinished {
        IfExists::Append
    } else {
        let json = serde_json::to_string(&options.preexisting)
            .map_err(|e| Error::Bug(format!("table list json: {e}")))?;
        store.set_preexisting(run_id, &json).await?;
        options.if_exists
    };
    // Durable before the first DDL: a kill from here on leaves a run that resumes.
    store.commit_registration().await?;
    let preexisting = match store.preexisting(run_id).await? {
        Some(json) => serde_json::from_str(&json).map_err(|e| Error::Table {
            table: run_id.to_string(),
            problem: format!("the state store holds a table list ferry cannot read: {e}"),
        })?,
        None => options.preexisting.clone(),
    };
    prepare_all(target, plans, if_exists, label, &preexisting).await?;
    let mut out = Vec::with_capacity(plans.len());
    for plan in plans {
        let name = plan.source.to_string();
        let mut stored = store.ranges(run_id, &name).await?;
        let mut planned = None;
        if stored.is_empty() {
            let split = source.plan_ranges(plan, range_options).await?;
            store.insert_ranges(run_id, &name, &split.ranges).await?;
            stored = store.ranges(run_id, &name).await?;
            planned = Some(split);
        } else if stored
            .iter()
            .any(|r| r.status == RangeStatus::Copying && matches!(r.range, KeyRange::Blocks { .. }))
        {
            // A keyless table's heap-block range cannot be deleted in the
            // target: the table starts over.
            if options.if_exists == IfExists::Append {
                return Err(Error::Table {
                    table: name,
                    problem: "a range of this keyless table was interrupted and may have \
                              committed; appending, ferry cannot remove it (empty the \
                              target table, then re-run)"
                        .into(),
                });
            }
            target.prepare(plan, IfExists::Truncate).await?;
            store.reset_table(run_id, &name).await?;
            stored = store.ranges(run_id, &name).await?;
        }
        let ranges: Vec<KeyRange> = stored.iter().map(|r| r.range.clone()).collect();
        let split = planned.unwrap_or_else(|| RangePlan {
            table: plan.source.clone(),
            method: match ranges.first() {
                Some(KeyRange::Blocks { .. }) => SplitMethod::CtidBlocks,
                _ if ranges.len() > 1 => SplitMethod::KeySample,
                _ => SplitMethod::Unsplit,
            },
            ranges: ranges.clone(),
            estimated_rows: None,
            note: Some("ranges of the stored run".into()),
        });
        if split.ranges != ranges {
            return Err(Error::Bug(format!(
                "table {name}: stored ranges differ from the plan"
            )));
        }
        let done = stored
            .iter()
            .map(|r| (r.status == RangeStatus::Done).then_some((r.rows, r.rejected, r.filtered)))
            .collect();
        out.push((split, done));
    }
    store.end_setup(run_id).await?;
    Ok((out, summary, preexisting))
}

/// After a table failed: ranges whose rows are gone from the target
/// (truncated) are pending again; in append mode the committed ranges stay
/// done, so a re-run copies only the rest. Returns a note for the failure line.
pub(super) async fn forget_undone(run: &Run, state: &RunState, plan: &TablePlan) -> String {
    if run.options.if_exists == IfExists::Append {
        return " (re-run the same command to resume the table)".into();
    }
    match state
        .store
        .reset_table(&state.run.run_id, &plan.source.to_string())
        .await
    {
        Ok(()) => String::new(),
        Err(e) => format!(
            " (the state store could not be updated: {})",
            chain_line(&e)
        ),
    }
}

/// Prepares every target table. When one fails, a new run takes back the
/// tables it created before the failure, so a failed setup never leaves a
/// half schema behind; the error names the table and what was dropped. (A
/// resumed run keeps them: they may hold ranges an earlier process committed.)
pub(super) async fn prepare_all(
    target: &Adapter,
    plans: &[TablePlan],
    if_exists: IfExists,
    start: RunOpening,
    preexisting: &[TableRef],
) -> Result<()> {
    let mut created: Vec<TableRef> = Vec::new();
    for plan in plans {
        let Err(e) = target.prepare(plan, if_exists).await else {
            if !preexisting.contains(&plan.target) {
                created.push(plan.target.clone());
            }
            continue;
        };
        if start != RunOpening::New || created.is_empty() {
            return Err(e);
        }
        let note = match target.drop_tables(&created).await {
            Ok(()) => format!(
                "; the {} tables this run had created were dropped again ({})",
                created.len(),
                created
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Err(d) => format!(
                "; dropping the tables this run had created failed too: {}",
                chain_line(&d)
            ),
        };
        return Err(Error::Table {
            table: plan.target.to_string(),
            problem: format!("{}{note}", chain_line(&e)),
        });
    }
    Ok(())
}
