//! Changes committed on a source after a copy's snapshot, in the shape every
//! change source produces and every change sink applies (`ferry sync`).
//!
//! A source decodes its own stream (PostgreSQL pgoutput, MySQL binlog) into
//! [`SourceTxn`]s: one per source transaction, in commit order. Inside a
//! transaction the changes are [`ChangeBatch`]es, in source order, each a run
//! of one kind on one table whose rows touch distinct keys, so a sink may
//! apply a batch as one set-based statement without reordering anything.
//! Row values are Arrow arrays in the plan's schema
//! ([`plan_schema`](crate::arrow::plan_schema)), the same hub form the copy
//! moves, so a change goes through the same target encoders as a copied row.

use std::collections::HashSet;

use arrow_array::RecordBatch;

use crate::range::{key_of_row, KeyBound};

/// What a batch does to the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeOp {
    /// Insert each row, or overwrite the row with its key. Columns listed in
    /// [`ChangeBatch::unchanged`] are left as the target has them (their
    /// cells in `rows` are NULL placeholders and must not be written); such
    /// a batch only ever holds updates of existing rows.
    Upsert,
    /// Delete the rows with these keys; only the key columns of `rows` hold
    /// values.
    Delete,
}

/// A run of one kind of change on one table, keys distinct within the run.
#[derive(Debug, Clone)]
pub struct ChangeBatch {
    /// Index of the table in the plans the source was opened with.
    pub table: usize,
    pub op: ChangeOp,
    pub rows: RecordBatch,
    /// Column indexes (into the plan's columns) an update left untouched.
    pub unchanged: Vec<usize>,
}

/// One committed source transaction.
#[derive(Debug, Clone)]
pub struct SourceTxn {
    /// Where the transaction ends in the source's stream, in the source's
    /// own notation (a PostgreSQL LSN `X/Y`). A sink stores it with the
    /// changes; the source resumes after it.
    pub position: String,
    /// The same position as a number that grows along the stream, for
    /// comparisons and lag in bytes.
    pub position_num: u64,
    /// Source commit time, µs since the Unix epoch.
    pub commit_time_us: i64,
    pub batches: Vec<ChangeBatch>,
}

impl SourceTxn {
    /// Number of row changes.
    pub fn changes(&self) -> u64 {
        self.batches.iter().map(|b| b.rows.num_rows() as u64).sum()
    }
}

/// What a change source yields.
#[derive(Debug)]
pub enum SourceEvent {
    /// The next committed transaction.
    Txn(SourceTxn),
    /// Nothing committed lately; the source's log ends at `wal_end` (same
    /// numbering as [`SourceTxn::position_num`]).
    Idle {
        wal_end: u64,
        /// A position the source vouches for: every change before it was
        /// yielded already (the rest of the log up to it touched no synced
        /// table). A sink may store it with no changes, so a restart does
        /// not read that stretch again. `None` when the source cannot say
        /// (a PostgreSQL keepalive's end of WAL may be ahead of decoding).
        resume: Option<String>,
    },
}

/// Batches of one kind on one table, from one or more transactions of a
/// group, whose keys are all distinct: a sink applies a run as one
/// set-based statement (its parts loaded into one stage).
#[derive(Debug)]
pub struct ChangeRun<'a> {
    pub table: usize,
    pub op: ChangeOp,
    pub unchanged: &'a [usize],
    pub parts: Vec<&'a RecordBatch>,
}

impl ChangeRun<'_> {
    pub fn rows(&self) -> usize {
        self.parts.iter().map(|p| p.num_rows()).sum()
    }
}

/// Coalesces the batches of `txns` (applied as one target transaction) into
/// as few runs as keep their meaning: a table's batches join its open run
/// while kind and untouched columns agree and no key repeats, so each
/// key's changes stay in order. Runs of different tables may be applied in
/// another order than their changes came: they touch different rows, and
/// apply sessions check no foreign key and fire no trigger. `key_of(table)`
/// gives a table's key columns. A batch whose keys cannot be compared
/// (a key of a kind ranges are not planned on) starts a run of its own.
///
/// Without this, a group of small transactions is one statement per
/// transaction; with it, about one per table and kind.
pub fn runs<'a>(
    txns: &'a [SourceTxn],
    key_of: impl Fn(usize) -> &'a [usize],
) -> Vec<ChangeRun<'a>> {
    struct Open {
        run: usize,
        keys: Option<HashSet<KeyBound>>,
    }
    let mut out: Vec<ChangeRun<'a>> = Vec::new();
    let mut open: Vec<Option<Open>> = Vec::new();
    for batch in txns.iter().flat_map(|t| &t.batches) {
        let key = key_of(batch.table);
        let keys: Option<Vec<KeyBound>> = (0..batch.rows.num_rows())
            .map(|r| key_of_row(&batch.rows, key, r))
            .collect();
        if open.len() <= batch.table {
            open.resize_with(batch.table + 1, || None);
        }
        let joins = match (&open[batch.table], &keys) {
            (Some(o), Some(k)) => {
                let run = &out[o.run];
                run.op == batch.op
                    && run.unchanged == batch.unchanged.as_slice()
                    && o.keys
                        .as_ref()
                        .is_some_and(|seen| k.iter().all(|x| !seen.contains(x)))
            }
            _ => false,
        };
        if joins {
            let o = open[batch.table].as_mut().expect("an open run");
            out[o.run].parts.push(&batch.rows);
            if let (Some(seen), Some(k)) = (o.keys.as_mut(), keys) {
                seen.extend(k);
            }
        } else {
            out.push(ChangeRun {
                table: batch.table,
                op: batch.op,
                unchanged: &batch.unchanged,
                parts: vec![&batch.rows],
            });
            open[batch.table] = Some(Open {
                run: out.len() - 1,
                keys: keys.map(|k| k.into_iter().collect()),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::Int32Array;
    use arrow_schema::{DataType, Field, Schema};

    use super::*;

    fn batch(table: usize, op: ChangeOp, ids: &[i32]) -> ChangeBatch {
        let schema = Arc::new(Schema::new(vec![Field::new("id", DataType::Int32, true)]));
        ChangeBatch {
            table,
            op,
            rows: RecordBatch::try_new(schema, vec![Arc::new(Int32Array::from(ids.to_vec()))])
                .unwrap(),
            unchanged: Vec::new(),
        }
    }

    fn txn(batches: Vec<ChangeBatch>) -> SourceTxn {
        SourceTxn {
            position: String::new(),
            position_num: 0,
            commit_time_us: 0,
            batches,
        }
    }

    fn shape(runs: &[ChangeRun<'_>]) -> Vec<(usize, ChangeOp, usize)> {
        runs.iter().map(|r| (r.table, r.op, r.rows())).collect()
    }

    #[test]
    fn small_transactions_coalesce_per_table_and_kind() {
        use ChangeOp::{Delete, Upsert};
        let txns = vec![
            txn(vec![batch(0, Upsert, &[1, 2]), batch(1, Upsert, &[7])]),
            txn(vec![batch(0, Upsert, &[3, 4]), batch(1, Upsert, &[8])]),
            txn(vec![batch(0, Upsert, &[5])]),
        ];
        let coalesced = runs(&txns, |_| &[0]);
        assert_eq!(shape(&coalesced), vec![(0, Upsert, 5), (1, Upsert, 2)]);

        // A key seen again, or another kind, starts a new run: each key's
        // changes stay in order.
        let txns = vec![
            txn(vec![batch(0, Upsert, &[1, 2])]),
            txn(vec![batch(0, Upsert, &[2])]),
            txn(vec![batch(0, Delete, &[3])]),
            txn(vec![batch(0, Upsert, &[4])]),
        ];
        let coalesced = runs(&txns, |_| &[0]);
        assert_eq!(
            shape(&coalesced),
            vec![
                (0, Upsert, 2),
                (0, Upsert, 1),
                (0, Delete, 1),
                (0, Upsert, 1)
            ]
        );
    }
}
