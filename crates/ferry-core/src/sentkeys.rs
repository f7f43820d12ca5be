//! The keys of the rows a sink has sent in one statement, by row number.
//!
//! A server that refuses a row of a bulk load names it by its position:
//! PostgreSQL's COPY error context says `COPY t, line 3`, MySQL's LOAD DATA
//! warnings `at row 3`. A sink keeps the key columns of what it sent
//! ([`SentKeys::push`], zero-copy: the batch's own key arrays) so that such
//! a refusal can name the row's key instead of a bare number.
//!
//! Memory is bounded: only the key columns are kept, and only the last
//! [`KEPT_BYTES`] of them; a refusal further back than that is reported by
//! its row number alone. A server reports a refusal close behind what was
//! sent (COPY) or names rows of one statement (LOAD DATA of one range), so
//! the bound is rarely reached.

use std::collections::VecDeque;

use arrow_array::RecordBatch;

use crate::arrow::render_key;
use crate::plan::TablePlan;

/// How many bytes of key columns one sink statement keeps.
pub const KEPT_BYTES: usize = 64 << 20;

/// Key columns of the batches sent in one statement (see the module docs).
pub struct SentKeys {
    /// The plan narrowed to its key, for rendering.
    key_plan: TablePlan,
    key_columns: Vec<usize>,
    /// (row number of the batch's first row, 1-based; key columns).
    batches: VecDeque<(u64, RecordBatch)>,
    next_row: u64,
    bytes: usize,
}

impl SentKeys {
    /// An empty log for `plan`'s rows (a plan without a key keeps nothing).
    pub fn new(plan: &TablePlan) -> Self {
        SentKeys {
            key_plan: plan.key_plan(),
            key_columns: plan.primary_key.clone(),
            batches: VecDeque::new(),
            next_row: 1,
            bytes: 0,
        }
    }

    /// Records the rows of `batch`, sent after everything pushed before.
    pub fn push(&mut self, batch: &RecordBatch) {
        let first = self.next_row;
        self.next_row += u64::try_from(batch.num_rows()).unwrap_or(u64::MAX);
        if self.key_columns.is_empty() {
            return;
        }
        let Ok(keys) = batch.project(&self.key_columns) else {
            return;
        };
        self.bytes += keys.get_array_memory_size();
        self.batches.push_back((first, keys));
        while self.bytes > KEPT_BYTES && self.batches.len() > 1 {
            if let Some((_, old)) = self.batches.pop_front() {
                self.bytes -= old.get_array_memory_size();
            }
        }
    }

    /// The key of row `row` (1-based, counted over every push), when kept.
    pub fn key_of(&self, row: u64) -> Option<String> {
        let at = self.batches.partition_point(|(first, _)| *first <= row);
        let (first, keys) = self.batches.get(at.checked_sub(1)?)?;
        let i = usize::try_from(row - first).ok()?;
        (i < keys.num_rows()).then(|| render_key(&self.key_plan, keys, i))
    }

    /// Rows pushed so far.
    pub fn rows(&self) -> u64 {
        self.next_row - 1
    }

    /// `key id=3` when row `row` is kept, else `row 3 of the statement`.
    pub fn describe(&self, row: u64) -> String {
        match self.key_of(row) {
            Some(k) => k,
            None => format!("(row {row} of the statement)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{Int32Array, StringArray};

    use super::*;
    use crate::plan::ColumnPlan;

    #[test]
    fn rows_map_back_to_keys_across_batches() {
        let col = |name: &str| ColumnPlan {
            name: name.into(),
            ..ColumnPlan::default()
        };
        let plan = TablePlan {
            columns: vec![col("v"), col("id")],
            primary_key: vec![1],
            ..TablePlan::default()
        };
        let batch = |ids: &[i32]| {
            RecordBatch::try_from_iter([
                ("v", Arc::new(StringArray::from(vec!["x"; ids.len()])) as _),
                ("id", Arc::new(Int32Array::from(ids.to_vec())) as _),
            ])
            .unwrap()
        };
        let mut keys = SentKeys::new(&plan);
        keys.push(&batch(&[10, 20]));
        keys.push(&batch(&[30, 40, 50]));
        assert_eq!(keys.key_of(1).as_deref(), Some("id=10"));
        assert_eq!(keys.key_of(3).as_deref(), Some("id=30"));
        assert_eq!(keys.key_of(5).as_deref(), Some("id=50"));
        assert_eq!(keys.key_of(6), None);
        assert_eq!(keys.key_of(0), None);
        assert_eq!(keys.rows(), 5);
        let mut none = SentKeys::new(&TablePlan::default());
        none.push(&batch(&[1]));
        assert_eq!(none.describe(1), "(row 1 of the statement)");
    }
}
