//! Where readers close their batches: at a row count or a byte size,
//! whichever comes first.
//!
//! Memory in a copy or a verify is a number of batches in flight (see
//! `ferry_engine::copy` for how many); a row count alone does not bound it,
//! because a row of a table of documents or images can be megabytes. So a
//! batch also closes when the bytes of its rows reach [`BatchLimit::bytes`].
//! A row's bytes are what the reader received for it (the wire size of its
//! values, about what the row takes in Arrow); a single row larger than the
//! budget travels alone, in a batch of one.

/// The default byte budget of a batch: 16 MiB. Large enough that a batch of
/// ordinary rows closes at its row count long before (8192 rows of the
/// benchmark's 14 columns are about 2 MB), small enough that a worker's few
/// batches in flight stay well within the memory of a small machine.
pub const DEFAULT_BATCH_BYTES: usize = 16 << 20;

/// The default byte budget of a batch in a verify: half the copy's. A
/// comparison holds about twice as many batches as a copy worker (each side
/// has a reader, an encoder and the open chunk's batches), so its memory per
/// comparison stays about a copy worker's.
pub const DEFAULT_VERIFY_BATCH_BYTES: usize = DEFAULT_BATCH_BYTES / 2;

/// The default row count of a batch.
pub const DEFAULT_BATCH_ROWS: usize = 8192;

/// A batch closes at `rows` rows or `bytes` bytes, whichever comes first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchLimit {
    pub rows: usize,
    pub bytes: usize,
}

impl Default for BatchLimit {
    fn default() -> Self {
        BatchLimit {
            rows: DEFAULT_BATCH_ROWS,
            bytes: DEFAULT_BATCH_BYTES,
        }
    }
}

impl BatchLimit {
    /// `rows` rows and the default byte budget.
    pub fn rows(rows: usize) -> Self {
        BatchLimit {
            rows,
            ..BatchLimit::default()
        }
    }
}

/// The open batch of a reader: how many rows and bytes it holds against
/// its [`BatchLimit`]. Readers ask [`closes_before`](Self::closes_before)
/// when they know a row's size before decoding it (so a batch never passes
/// the budget because of one large row), then [`push`](Self::push) it.
#[derive(Debug, Clone, Copy)]
pub struct BatchFill {
    limit: BatchLimit,
    rows: usize,
    bytes: usize,
}

impl BatchFill {
    /// An empty batch; zero limits are read as one.
    pub fn new(limit: BatchLimit) -> Self {
        BatchFill {
            limit: BatchLimit {
                rows: limit.rows.max(1),
                bytes: limit.bytes.max(1),
            },
            rows: 0,
            bytes: 0,
        }
    }

    /// Whether the open batch must close before a row of `row_bytes`
    /// joins it: it holds rows, and that row would take it past the byte
    /// budget. An empty batch always takes the row (a row larger than the
    /// budget travels alone).
    pub fn closes_before(&self, row_bytes: usize) -> bool {
        self.rows > 0 && self.bytes.saturating_add(row_bytes) > self.limit.bytes
    }

    /// Counts a row in; returns whether the batch is now full (by rows or
    /// by bytes) and must close.
    pub fn push(&mut self, row_bytes: usize) -> bool {
        self.rows += 1;
        self.bytes = self.bytes.saturating_add(row_bytes);
        self.rows >= self.limit.rows || self.bytes >= self.limit.bytes
    }

    /// Rows in the open batch.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Closes the batch: returns its row count and starts an empty one.
    pub fn close(&mut self) -> usize {
        let rows = self.rows;
        self.rows = 0;
        self.bytes = 0;
        rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds rows of the given sizes; returns the batches as row counts.
    fn cut(limit: BatchLimit, sizes: &[usize]) -> Vec<usize> {
        let mut fill = BatchFill::new(limit);
        let mut out = Vec::new();
        for &s in sizes {
            if fill.closes_before(s) {
                out.push(fill.close());
            }
            if fill.push(s) {
                out.push(fill.close());
            }
        }
        if fill.rows() > 0 {
            out.push(fill.close());
        }
        out
    }

    #[test]
    fn batches_close_at_rows_or_bytes_whichever_first() {
        let by_rows = BatchLimit {
            rows: 3,
            bytes: 1000,
        };
        assert_eq!(cut(by_rows, &[10; 7]), vec![3, 3, 1]);
        let by_bytes = BatchLimit {
            rows: 100,
            bytes: 25,
        };
        assert_eq!(cut(by_bytes, &[10; 7]), vec![2, 2, 2, 1]);
        // A row larger than the budget travels alone; the batch before it
        // closes first rather than grow past the budget.
        assert_eq!(cut(by_bytes, &[10, 40, 10, 10, 10]), vec![1, 1, 2, 1]);
        assert_eq!(cut(by_bytes, &[40, 40]), vec![1, 1]);
    }
}
