//! `ferry verify --dirty` and `--repair`: which ranges are compared, and
//! what is done about differences.
//!
//! `--dirty` compares only the copy's ranges a sync marked dirty (each read
//! from the source in a repeatable-read transaction of its own), and clears
//! the mark of each range found equal, unless a sync marked it again
//! meanwhile (marks grow; see `ferry_state::DirtyRange`). `--repair` makes
//! the ranges that differ equal ([`super::repair`]), compares them again,
//! and reports both what it changed and what remains.

use std::sync::Arc;
use std::time::Instant;

use ferry_core::range::KeyRange;
use ferry_core::{Error, Result, TablePlan};
use ferry_state::{DirtyRange, StateStore};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::{
    planned_ranges, prepare_table, repair, table_verify, verify_ranges, CompareMode, DirtyScope,
    TableVerify, VerifyOptions, VerifyReport,
};
use crate::failure::TableFailure;
use crate::Adapter;

/// What `ferry verify` compares and does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VerifyScope {
    /// Only the ranges a sync marked dirty.
    pub dirty: bool,
    /// Make the target equal where it differs.
    pub repair: bool,
}

/// The copy run whose ranges and dirty marks `--dirty` reads.
pub struct CopyRun {
    pub store: StateStore,
    pub run_id: String,
}

/// Verifies (and repairs) every planned table, `parallel_tables` at a time.
pub async fn verify_scoped(
    source: Arc<Adapter>,
    target: Arc<Adapter>,
    plans: Vec<TablePlan>,
    options: &VerifyOptions,
    scope: VerifyScope,
    run: Option<Arc<CopyRun>>,
) -> Result<VerifyReport> {
    let permits = Arc::new(Semaphore::new(options.parallel_tables.max(1)));
    let mut set = JoinSet::new();
    for plan in plans {
        let (source, target, options, permits, run) = (
            source.clone(),
            target.clone(),
            options.clone(),
            permits.clone(),
            run.clone(),
        );
        set.spawn(async move {
            let _permit = permits.acquire_owned().await;
            let r = one_table(source, target, &plan, &options, scope, run.as_deref()).await;
            (plan.source, r)
        });
    }
    let mut report = VerifyReport::default();
    while let Some(joined) = set.join_next().await {
        let (table, r) = joined.map_err(|e| Error::Bug(format!("verify task: {e}")))?;
        match r {
            Ok(t) => report.tables.push(t),
            Err(e) => report.failed.push(TableFailure {
                table,
                error: ferry_core::error::chain_line(&e),
            }),
        }
    }
    report.tables.sort_by_key(|t| t.table.to_string());
    report.failed.sort_by_key(|t| t.table.to_string());
    Ok(report)
}

async fn one_table(
    source: Arc<Adapter>,
    target: Arc<Adapter>,
    plan: &TablePlan,
    options: &VerifyOptions,
    scope: VerifyScope,
    run: Option<&CopyRun>,
) -> Result<TableVerify> {
    let started = Instant::now();
    let cmp = Arc::new(prepare_table(&source, &target, plan, options.float_ulps).await?);
    let name = plan.source.to_string();
    let (ranges, marks, dirty) = match (scope.dirty, run) {
        (true, Some(run)) => {
            let stored = run.store.ranges(&run.run_id, &name).await?;
            let marks = run.store.dirty_ranges(&run.run_id, &name).await?;
            let ranges: Option<Vec<Option<KeyRange>>> = marks
                .iter()
                .map(|d| stored.get(d.index).map(|r| Some(r.range.clone())))
                .collect();
            let ranges = match ranges {
                _ if marks.is_empty() => Vec::new(),
                // A multiset comparison, or marks the stored ranges do not
                // explain: the whole table, once.
                Some(_) if matches!(cmp.mode, CompareMode::Multiset { .. }) => vec![None],
                Some(r) => r,
                None => vec![None],
            };
            let scope = DirtyScope {
                dirty: marks.len(),
                of: stored.len(),
            };
            (ranges, marks, Some(scope))
        }
        (true, None) => return Err(Error::Bug("verify --dirty without a copy run".into())),
        (false, _) => (
            planned_ranges(&source, &cmp, options).await,
            Vec::new(),
            None,
        ),
    };
    let outcomes = verify_ranges(&source, &target, &cmp, &ranges, options).await?;
    let mut equal: Vec<bool> = outcomes.iter().map(|o| o.differences() == 0).collect();
    let mut report = table_verify(&cmp, ranges.len(), outcomes, started, options);
    report.dirty = dirty;
    if scope.repair && report.outcome.differences() > 0 {
        let todo: Vec<Option<KeyRange>> = ranges
            .iter()
            .zip(&equal)
            .filter(|(_, e)| !**e)
            .map(|(r, _)| r.clone())
            .collect();
        let mut fixed = repair::repair_ranges(&source, &target, &cmp, &todo, options).await?;
        let again = verify_ranges(&source, &target, &cmp, &todo, options).await?;
        fixed.remaining = again.iter().map(|o| o.differences()).sum();
        let mut again = again.iter();
        for e in equal.iter_mut().filter(|e| !**e) {
            *e = again.next().is_some_and(|o| o.differences() == 0);
        }
        report.repair = Some(fixed);
    }
    if let Some(run) = run {
        let clean: Vec<DirtyRange> = if ranges.len() == marks.len() {
            marks
                .iter()
                .zip(&equal)
                .filter(|(_, e)| **e)
                .map(|(m, _)| *m)
                .collect()
        } else if equal.iter().all(|e| *e) {
            // The whole table was compared once, and is equal.
            marks.clone()
        } else {
            Vec::new()
        };
        run.store.clear_dirty(&run.run_id, &name, &clean).await?;
    }
    Ok(report)
}
