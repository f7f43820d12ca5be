//! What a sync keeps in the copy's run in the state store: its status
//! (for `ferry sync status`), the ranges it dirtied (for `ferry verify
//! --dirty`), and where the copy's snapshot sat (where a first sync
//! starts when the source does not keep its place).
//!
//! A change dirties the copy's key range (the verify chunk) that holds its
//! key. Ranges are found by binary search over their lower bounds, which
//! are typed key values in binary order (`ferry_core::range`); a key whose
//! values are not of the kinds the bounds hold (a key column ranges are not
//! planned on) dirties every range of its table: a larger check, never a
//! missed one.

use std::collections::BTreeSet;
use std::time::{Duration, Instant, SystemTime};

use arrow_array::RecordBatch;
use ferry_core::change::SourceTxn;
use ferry_core::range::{key_of_row, KeyBound, KeyRange, KeyValue, SnapshotPosition};
use ferry_core::{DbUrl, Error, Result, TablePlan};
use ferry_state::StateStore;
use serde::{Deserialize, Serialize};

use crate::job::Job;
use crate::run::{find_copy_run, open_store};

/// How often a running sync saves its status (and on every end).
const STATUS_EVERY: Duration = Duration::from_secs(1);

/// One table's copy ranges, as dirty marking searches them.
enum TableRanges {
    /// Key ranges, ascending; `lowers[i]` is range `i`'s lower bound
    /// (`None`: unbounded, only the first).
    Keys { lowers: Vec<Option<KeyBound>> },
    /// One range (the table was copied whole) or none recorded: every
    /// change dirties range 0 / all of them.
    All(Vec<usize>),
}

/// Where a copy run is: the job that names its state store, and its id.
#[derive(Debug, Clone)]
pub struct RunLocation {
    pub job: Job,
    pub run_id: String,
}

impl RunLocation {
    /// The copy run of `job` (blue → green over `plans`) that recorded
    /// `stream`; `None` when the state store holds none.
    pub async fn find(
        job: &Job,
        source: &DbUrl,
        target: &DbUrl,
        plans: &[TablePlan],
        stream: &str,
    ) -> Result<Option<RunLocation>> {
        Ok(find_copy_run(job, source, target, plans, Some(stream))
            .await?
            .map(|(_, run_id)| RunLocation {
                job: job.clone(),
                run_id,
            }))
    }
}

/// The copy run a sync belongs to.
pub struct SyncRecord {
    store: StateStore,
    run_id: String,
    stream: String,
    /// The state-store name of each plan's table, in plan order.
    names: Vec<String>,
    ranges: Vec<TableRanges>,
    last_save: Option<Instant>,
}

/// The saved status of a sync, as `ferry sync status` reads it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SyncStatus {
    /// `running`, or how it ended: `until`, `stopped`, `failed`.
    pub state: String,
    pub progress: super::SyncProgress,
    /// The error line of a failed sync.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The process that wrote the status.
    pub pid: u32,
}

impl SyncRecord {
    /// Finds the copy run of `job` that recorded `stream`, and reads its
    /// tables' ranges. `None` when no such copy is in the state store.
    pub async fn find(
        job: &Job,
        source: &DbUrl,
        target: &DbUrl,
        plans: &[TablePlan],
        stream: &str,
    ) -> Result<Option<SyncRecord>> {
        let Some((store, run_id)) = find_copy_run(job, source, target, plans, Some(stream)).await?
        else {
            return Ok(None);
        };
        Self::load(store, run_id, plans, stream).await.map(Some)
    }

    /// The copy run at `run` (found by the caller), for `plans`: a plan
    /// whose table the copy did not store ranges for is one range.
    pub async fn open(run: &RunLocation, plans: &[TablePlan], stream: &str) -> Result<SyncRecord> {
        let store = open_store(&run.job, &run.run_id).await?;
        Self::load(store, run.run_id.clone(), plans, stream).await
    }

    async fn load(
        store: StateStore,
        run_id: String,
        plans: &[TablePlan],
        stream: &str,
    ) -> Result<SyncRecord> {
        let names: Vec<String> = plans.iter().map(|p| p.source.to_string()).collect();
        let mut ranges = Vec::with_capacity(plans.len());
        for name in &names {
            let stored = store.ranges(&run_id, name).await?;
            let keys: Option<Vec<Option<KeyBound>>> = stored
                .iter()
                .map(|r| match &r.range {
                    KeyRange::Key { lower, .. } => Some(lower.clone()),
                    _ => None,
                })
                .collect();
            ranges.push(match keys {
                Some(lowers) if lowers.len() > 1 => TableRanges::Keys { lowers },
                _ => TableRanges::All((0..stored.len().max(1)).collect()),
            });
        }
        Ok(SyncRecord {
            store,
            run_id,
            stream: stream.to_string(),
            names,
            ranges,
            last_save: None,
        })
    }

    /// The copy run this sync belongs to.
    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// Where the copy's snapshot sat in the source's log, as recorded.
    pub async fn copy_position(&self) -> Result<Option<SnapshotPosition>> {
        let Some(json) = self
            .store
            .load_stream_position(&self.run_id, &self.stream)
            .await?
        else {
            return Ok(None);
        };
        serde_json::from_str(&json).map(Some).map_err(|e| {
            Error::Invalid(format!(
                "the state store holds a position for {} that ferry cannot read: {e}",
                self.stream
            ))
        })
    }

    /// Marks the ranges `txns` change dirty, durably, before they are
    /// applied (see [`ferry_state::CheckpointStore::mark_dirty`]).
    pub async fn mark(&self, plans: &[TablePlan], txns: &[SourceTxn]) -> Result<()> {
        let mut touched: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); plans.len()];
        for txn in txns {
            for batch in &txn.batches {
                let (Some(plan), Some(set)) =
                    (plans.get(batch.table), touched.get_mut(batch.table))
                else {
                    return Err(Error::Bug(format!(
                        "a change of unknown table #{}",
                        batch.table
                    )));
                };
                ranges_of(&self.ranges[batch.table], plan, &batch.rows, set);
            }
        }
        for (t, set) in touched.iter().enumerate() {
            if !set.is_empty() {
                let indexes: Vec<usize> = set.iter().copied().collect();
                self.store
                    .mark_dirty(&self.run_id, &self.names[t], &indexes)
                    .await?;
            }
        }
        Ok(())
    }

    /// Saves `status` when the last save is a second old, or `now`.
    pub async fn save(&mut self, status: &SyncStatus, now: bool) -> Result<()> {
        if !now && self.last_save.is_some_and(|t| t.elapsed() < STATUS_EVERY) {
            return Ok(());
        }
        let json = serde_json::to_string(status).map_err(|e| Error::Bug(e.to_string()))?;
        self.store
            .save_stream_status(&self.run_id, &self.stream, &json)
            .await?;
        self.last_save = Some(Instant::now());
        Ok(())
    }

    /// The last saved status and when it was saved.
    pub async fn status(&self) -> Result<Option<(SyncStatus, SystemTime)>> {
        let Some((json, at)) = self.store.stream_status(&self.run_id, &self.stream).await? else {
            return Ok(None);
        };
        let status = serde_json::from_str(&json).map_err(|e| {
            Error::Invalid(format!(
                "the state store holds a sync status ferry cannot read: {e}"
            ))
        })?;
        Ok(Some((status, at)))
    }
}

/// Adds the indexes of the ranges holding `rows`' keys to `out`.
fn ranges_of(
    ranges: &TableRanges,
    plan: &TablePlan,
    rows: &RecordBatch,
    out: &mut BTreeSet<usize>,
) {
    let lowers = match ranges {
        TableRanges::All(all) => {
            out.extend(all.iter().copied());
            return;
        }
        TableRanges::Keys { lowers } => lowers,
    };
    for row in 0..rows.num_rows() {
        let key = key_of(plan, rows, row);
        match key.filter(|k| same_kinds(k, lowers)) {
            // The last range whose lower bound is at or below the key.
            Some(k) => {
                let after = lowers.partition_point(|l| l.as_ref().is_none_or(|l| *l <= k));
                out.insert(after.saturating_sub(1));
            }
            None => {
                out.extend(0..lowers.len());
                return;
            }
        }
    }
}

/// Whether `key`'s values are of the kinds the bounds hold, column by column.
fn same_kinds(key: &KeyBound, lowers: &[Option<KeyBound>]) -> bool {
    let kind = |v: &KeyValue| std::mem::discriminant(v);
    lowers
        .iter()
        .flatten()
        .all(|b| b.len() == key.len() && b.iter().zip(key).all(|(x, y)| kind(x) == kind(y)))
}

/// A row's key as range bounds hold it (see [`key_of_row`]).
pub fn key_of(plan: &TablePlan, rows: &RecordBatch, row: usize) -> Option<KeyBound> {
    key_of_row(rows, &plan.primary_key, row)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{Int32Array, StringArray};
    use arrow_schema::{DataType, Field, Schema};

    use super::*;

    fn plan() -> TablePlan {
        TablePlan {
            primary_key: vec![0],
            ..TablePlan::default()
        }
    }

    fn ids(v: &[i32]) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![Field::new("id", DataType::Int32, true)]));
        RecordBatch::try_new(schema, vec![Arc::new(Int32Array::from(v.to_vec()))]).unwrap()
    }

    #[test]
    fn a_key_dirties_the_range_that_holds_it() {
        let ranges = TableRanges::Keys {
            lowers: vec![
                None,
                Some(vec![KeyValue::Int(100)]),
                Some(vec![KeyValue::Int(200)]),
            ],
        };
        let mut out = BTreeSet::new();
        ranges_of(&ranges, &plan(), &ids(&[-5, 99]), &mut out);
        assert_eq!(out.iter().copied().collect::<Vec<_>>(), vec![0]);
        out.clear();
        ranges_of(&ranges, &plan(), &ids(&[100, 199, 200, 7000]), &mut out);
        assert_eq!(out.iter().copied().collect::<Vec<_>>(), vec![1, 2]);
    }

    /// A key of another kind than the bounds cannot be placed: every range
    /// is dirtied rather than a wrong one.
    #[test]
    fn a_key_that_cannot_be_placed_dirties_every_range() {
        let ranges = TableRanges::Keys {
            lowers: vec![None, Some(vec![KeyValue::UInt(10)])],
        };
        let mut out = BTreeSet::new();
        ranges_of(&ranges, &plan(), &ids(&[1]), &mut out);
        assert_eq!(out.len(), 2);
        let schema = Arc::new(Schema::new(vec![Field::new("id", DataType::Utf8, true)]));
        let text = RecordBatch::try_new(
            schema,
            vec![Arc::new(StringArray::from(vec!["b"])) as arrow_array::ArrayRef],
        )
        .unwrap();
        let texts = TableRanges::Keys {
            lowers: vec![None, Some(vec![KeyValue::Text("a".into())])],
        };
        out.clear();
        ranges_of(&texts, &plan(), &text, &mut out);
        assert_eq!(out.iter().copied().collect::<Vec<_>>(), vec![1]);
        out.clear();
        ranges_of(&TableRanges::All(vec![0]), &plan(), &text, &mut out);
        assert_eq!(out.len(), 1);
    }
}
