//! Comparing two streams of batches: hash each side as it arrives, merge by
//! key, cut chunks at the same keys on both sides, digest each chunk, and
//! narrow the chunks whose digests differ to exact rows.
//!
//! Memory: one chunk of rows per side (the batches its rows sit in), plus
//! the bounded channels. A chunk closes after `chunk_rows` merged positions
//! or once either side's rows in it reach `chunk_bytes`, so neither side
//! can hold more than that however the sides differ or however wide the
//! rows are.

use std::sync::Arc;

use arrow_array::RecordBatch;
use ferry_core::{Error, Result};
use ferry_parity::digest::narrow;
use ferry_parity::{Aligned, ChunkDigest, DigestBuilder, EncodedBatch, Multiset, Side, TableCodec};
use serde::Serialize;
use tokio::sync::mpsc;

/// What kind of difference a row is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DiffKind {
    /// In the source, not in the target.
    MissingInTarget,
    /// In the target, not in the source.
    ExtraInTarget,
    /// Same key, different values in `columns`.
    Differs,
}

/// One differing row (or, for a multiset comparison, one differing row hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowDiff {
    pub kind: DiffKind,
    /// `(column, value)` in key order; empty for a multiset comparison.
    pub key: Vec<(String, String)>,
    /// Differing columns (for `Differs`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub columns: Vec<String>,
    /// Multiset only: the row hash and how often each side holds it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub row_hash: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_count: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target_count: Option<u64>,
}

/// The outcome of comparing one range (or a whole table).
#[derive(Debug, Clone, Default, Serialize)]
pub struct RangeOutcome {
    pub rows_source: u64,
    pub rows_target: u64,
    pub chunks: u64,
    pub chunks_differing: u64,
    pub missing_in_target: u64,
    pub extra_in_target: u64,
    pub differing_rows: u64,
    /// The first differences in key order, at most `max_diffs`.
    pub diffs: Vec<RowDiff>,
    /// One character per chunk, in key order: `.` equal, `x` rows differ
    /// in values, `m` rows missing in the target, `e` extra rows in the
    /// target (the first that applies, in that order). For the report's
    /// chunk map.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub chunk_map: String,
}

impl RangeOutcome {
    pub fn differences(&self) -> u64 {
        self.missing_in_target + self.extra_in_target + self.differing_rows
    }

    /// Adds a later range's outcome (ranges are merged in key order).
    pub fn absorb(&mut self, other: RangeOutcome, max_diffs: usize) {
        self.rows_source += other.rows_source;
        self.rows_target += other.rows_target;
        self.chunks += other.chunks;
        self.chunks_differing += other.chunks_differing;
        self.missing_in_target += other.missing_in_target;
        self.extra_in_target += other.extra_in_target;
        self.differing_rows += other.differing_rows;
        self.chunk_map.push_str(&other.chunk_map);
        let room = max_diffs.saturating_sub(self.diffs.len());
        self.diffs.extend(other.diffs.into_iter().take(room));
    }
}

/// How a comparison runs.
#[derive(Debug, Clone, Copy)]
pub struct CompareOptions {
    /// Merged positions per chunk.
    pub chunk_rows: usize,
    /// A chunk also closes once either side's rows in it reach this many
    /// bytes (their canonical encoding).
    pub chunk_bytes: usize,
    /// Differences listed (counts stay exact).
    pub max_diffs: usize,
}

type Encoded = (Arc<RecordBatch>, Arc<EncodedBatch>);

/// Encodes a side's batches as they arrive, on its own task, so this work
/// on one side overlaps reading both.
fn spawn_encoder(
    codec: Arc<TableCodec>,
    side: Side,
    mut rx: mpsc::Receiver<RecordBatch>,
) -> mpsc::Receiver<Encoded> {
    // One encoded batch queued: memory is counted in batches (module docs).
    let (tx, out) = mpsc::channel(1);
    tokio::spawn(async move {
        while let Some(batch) = rx.recv().await {
            let encoded = codec.encode_batch(side, &batch);
            if tx.send((Arc::new(batch), Arc::new(encoded))).await.is_err() {
                break;
            }
        }
    });
    out
}

/// A row: its batch (for naming columns and rendering keys), its encoding, its index.
type Loc = (Arc<RecordBatch>, Arc<EncodedBatch>, usize);

struct Cursor {
    rx: mpsc::Receiver<Encoded>,
    current: Option<Encoded>,
    row: usize,
    rows: u64,
    /// This side's rows of the open chunk, as runs within batches.
    runs: Vec<(Arc<EncodedBatch>, usize, usize)>,
    /// The bytes of those rows' encodings.
    bytes: usize,
}

impl Cursor {
    fn new(rx: mpsc::Receiver<Encoded>) -> Self {
        Cursor {
            rx,
            current: None,
            row: 0,
            rows: 0,
            runs: Vec::new(),
            bytes: 0,
        }
    }

    /// Makes a row available; `false` at the end of the stream.
    async fn fill(&mut self) -> bool {
        loop {
            if let Some((_, e)) = &self.current {
                if self.row < e.len() {
                    return true;
                }
            }
            match self.rx.recv().await {
                Some(next) => {
                    self.current = Some(next);
                    self.row = 0;
                }
                None => {
                    self.current = None;
                    return false;
                }
            }
        }
    }

    fn key(&self) -> &[u8] {
        let (_, e) = self.current.as_ref().expect("filled");
        e.key(self.row)
    }

    /// Takes the current row into the open chunk.
    fn take(&mut self) -> Loc {
        let (b, e) = self.current.as_ref().expect("filled");
        let row = self.row;
        match self.runs.last_mut() {
            Some((last, _, end)) if Arc::ptr_eq(last, e) && *end == row => *end += 1,
            _ => self.runs.push((Arc::clone(e), row, row + 1)),
        }
        self.row += 1;
        self.rows += 1;
        self.bytes += e.row_len(row);
        (Arc::clone(b), Arc::clone(e), row)
    }

    /// The digest of this side's rows of the open chunk; clears the runs.
    fn chunk_digest(&mut self) -> ChunkDigest {
        let mut d = DigestBuilder::default();
        self.bytes = 0;
        for (e, start, end) in self.runs.drain(..) {
            d.push_encoded(&e, start, end);
        }
        d.finish()
    }
}

/// One position of the merge by key.
enum Pos {
    Both(Loc, Loc),
    SourceOnly(Loc),
    TargetOnly(Loc),
}

/// Compares two streams ordered by the codec's key (binary order) and
/// returns the outcome. Both receivers are drained.
pub async fn compare_ordered(
    codec: Arc<TableCodec>,
    source: mpsc::Receiver<RecordBatch>,
    target: mpsc::Receiver<RecordBatch>,
    options: CompareOptions,
) -> Result<RangeOutcome> {
    let mut s = Cursor::new(spawn_encoder(codec.clone(), Side::Source, source));
    let mut t = Cursor::new(spawn_encoder(codec.clone(), Side::Target, target));
    let mut out = RangeOutcome::default();
    let chunk_rows = options.chunk_rows.max(1);
    let mut chunk: Vec<Pos> = Vec::with_capacity(chunk_rows);
    loop {
        let (has_s, has_t) = (s.fill().await, t.fill().await);
        let pos = match (has_s, has_t) {
            (false, false) => break,
            (true, false) => Pos::SourceOnly(s.take()),
            (false, true) => Pos::TargetOnly(t.take()),
            (true, true) => match s.key().cmp(t.key()) {
                std::cmp::Ordering::Less => Pos::SourceOnly(s.take()),
                std::cmp::Ordering::Greater => Pos::TargetOnly(t.take()),
                std::cmp::Ordering::Equal => Pos::Both(s.take(), t.take()),
            },
        };
        chunk.push(pos);
        if chunk.len() >= chunk_rows || s.bytes.max(t.bytes) >= options.chunk_bytes {
            close_chunk(&codec, &mut chunk, &mut s, &mut t, &mut out, options);
        }
    }
    if !chunk.is_empty() {
        close_chunk(&codec, &mut chunk, &mut s, &mut t, &mut out, options);
    }
    out.rows_source = s.rows;
    out.rows_target = t.rows;
    Ok(out)
}

fn close_chunk(
    codec: &TableCodec,
    chunk: &mut Vec<Pos>,
    s: &mut Cursor,
    t: &mut Cursor,
    out: &mut RangeOutcome,
    options: CompareOptions,
) {
    out.chunks += 1;
    let before = (
        out.differing_rows,
        out.missing_in_target,
        out.extra_in_target,
    );
    if s.chunk_digest() != t.chunk_digest() {
        // Row hashes only where the chunk differs, then split and re-hash.
        let aligned: Vec<Aligned<usize>> = chunk
            .iter()
            .enumerate()
            .map(|(i, p)| match p {
                Pos::Both((_, se, sr), (_, te, tr)) => Aligned::Both {
                    source: (se.row_hash(*sr), i),
                    target: (te.row_hash(*tr), i),
                },
                Pos::SourceOnly((_, e, r)) => Aligned::SourceOnly(e.row_hash(*r), i),
                Pos::TargetOnly((_, e, r)) => Aligned::TargetOnly(e.row_hash(*r), i),
            })
            .collect();
        let mut rehashes = 0;
        let mut real = false;
        let tolerant = codec.columns.iter().any(|c| c.rule.float_ulps > 0);
        for i in narrow(&aligned, &mut rehashes) {
            let listed = out.diffs.len() < options.max_diffs;
            match &chunk[i] {
                Pos::SourceOnly((b, _, r)) => {
                    real = true;
                    out.missing_in_target += 1;
                    if listed {
                        out.diffs.push(key_diff(
                            DiffKind::MissingInTarget,
                            codec.render_key(Side::Source, b, *r),
                        ));
                    }
                }
                Pos::TargetOnly((b, _, r)) => {
                    real = true;
                    out.extra_in_target += 1;
                    if listed {
                        out.diffs.push(key_diff(
                            DiffKind::ExtraInTarget,
                            codec.render_key(Side::Target, b, *r),
                        ));
                    }
                }
                Pos::Both((sb, _, sr), (tb, _, tr)) => {
                    if !listed && !tolerant {
                        real = true;
                        out.differing_rows += 1;
                        continue;
                    }
                    let columns = codec.differing_columns((sb, *sr), (tb, *tr));
                    if columns.is_empty() {
                        // Differences within a declared float tolerance only.
                        continue;
                    }
                    real = true;
                    out.differing_rows += 1;
                    if listed {
                        let mut d =
                            key_diff(DiffKind::Differs, codec.render_key(Side::Source, sb, *sr));
                        d.columns = columns;
                        out.diffs.push(d);
                    }
                }
            }
        }
        if real {
            out.chunks_differing += 1;
        }
    }
    out.chunk_map.push(if out.differing_rows > before.0 {
        'x'
    } else if out.missing_in_target > before.1 {
        'm'
    } else if out.extra_in_target > before.2 {
        'e'
    } else {
        '.'
    });
    chunk.clear();
}

fn key_diff(kind: DiffKind, key: Vec<(String, String)>) -> RowDiff {
    RowDiff {
        kind,
        key,
        columns: Vec::new(),
        row_hash: None,
        source_count: None,
        target_count: None,
    }
}

/// Compares two unordered streams as multisets of row hashes.
pub async fn compare_multiset(
    codec: Arc<TableCodec>,
    source: mpsc::Receiver<RecordBatch>,
    target: mpsc::Receiver<RecordBatch>,
    options: CompareOptions,
) -> Result<RangeOutcome> {
    let mut s = spawn_encoder(codec.clone(), Side::Source, source);
    let mut t = spawn_encoder(codec, Side::Target, target);
    let mut set = Multiset::default();
    let mut out = RangeOutcome {
        chunks: 1,
        ..RangeOutcome::default()
    };
    let (mut s_open, mut t_open) = (true, true);
    while s_open || t_open {
        tokio::select! {
            next = s.recv(), if s_open => match next {
                Some((_, e)) => {
                    out.rows_source += e.len() as u64;
                    (0..e.len()).for_each(|i| set.add_source(e.row_hash(i)));
                }
                None => s_open = false,
            },
            next = t.recv(), if t_open => match next {
                Some((_, e)) => {
                    out.rows_target += e.len() as u64;
                    (0..e.len()).for_each(|i| set.add_target(e.row_hash(i)));
                }
                None => t_open = false,
            },
        }
    }
    let diffs = set.differences();
    if !diffs.is_empty() {
        out.chunks_differing = 1;
    }
    for d in diffs {
        let (kind, n) = if d.source_count > d.target_count {
            (DiffKind::MissingInTarget, d.source_count - d.target_count)
        } else {
            (DiffKind::ExtraInTarget, d.target_count - d.source_count)
        };
        match kind {
            DiffKind::MissingInTarget => out.missing_in_target += n,
            _ => out.extra_in_target += n,
        }
        if out.diffs.len() < options.max_diffs {
            out.diffs.push(RowDiff {
                kind,
                key: Vec::new(),
                columns: Vec::new(),
                row_hash: Some(ferry_parity::hex(&d.hash)),
                source_count: Some(d.source_count),
                target_count: Some(d.target_count),
            });
        }
    }
    out.chunk_map.push(if out.missing_in_target > 0 {
        'm'
    } else if out.extra_in_target > 0 {
        'e'
    } else {
        '.'
    });
    Ok(out)
}

/// A row a repair writes or deletes: its batch and index.
pub type RowAt = (Arc<RecordBatch>, usize);

/// What making a range of the target equal to the source takes, in key
/// order: source rows the target lacks (`inserts`) or holds with other
/// values (`updates`, float tolerances honoured), and target rows the
/// source lacks (`deletes`).
#[derive(Default)]
pub struct RepairRows {
    pub inserts: Vec<RowAt>,
    pub updates: Vec<RowAt>,
    pub deletes: Vec<RowAt>,
}

/// Merges two streams ordered by the codec's key, as [`compare_ordered`]
/// does, collecting the rows a repair needs (every one: memory grows with
/// the differences, not with the range). Both receivers are drained.
pub async fn rows_to_repair(
    codec: Arc<TableCodec>,
    source: mpsc::Receiver<RecordBatch>,
    target: mpsc::Receiver<RecordBatch>,
) -> Result<RepairRows> {
    let mut s = Cursor::new(spawn_encoder(codec.clone(), Side::Source, source));
    let mut t = Cursor::new(spawn_encoder(codec.clone(), Side::Target, target));
    let mut out = RepairRows::default();
    loop {
        let (has_s, has_t) = (s.fill().await, t.fill().await);
        let order = match (has_s, has_t) {
            (false, false) => break,
            (true, false) => std::cmp::Ordering::Less,
            (false, true) => std::cmp::Ordering::Greater,
            (true, true) => s.key().cmp(t.key()),
        };
        match order {
            std::cmp::Ordering::Less => {
                let (b, _, r) = s.take();
                out.inserts.push((b, r));
            }
            std::cmp::Ordering::Greater => {
                let (b, _, r) = t.take();
                out.deletes.push((b, r));
            }
            std::cmp::Ordering::Equal => {
                let ((sb, se, sr), (tb, te, tr)) = (s.take(), t.take());
                if se.row_hash(sr) != te.row_hash(tr)
                    && !codec.differing_columns((&sb, sr), (&tb, tr)).is_empty()
                {
                    out.updates.push((sb, sr));
                }
            }
        }
        // Only the rows kept above are needed: the chunk bookkeeping of a
        // comparison is not.
        s.runs.clear();
        t.runs.clear();
    }
    Ok(out)
}

/// Joins a reader task, turning a panic into a bug error.
pub async fn join_reader(h: tokio::task::JoinHandle<Result<u64>>) -> Result<u64> {
    h.await
        .map_err(|e| Error::Bug(format!("verify reader task: {e}")))?
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{Int64Array, StringArray};
    use ferry_core::{Conversion, LogicalType};
    use ferry_parity::{column_rule, ColumnCodec};

    fn codec(key: bool) -> Arc<TableCodec> {
        let col = |name: &str, t: LogicalType, i| ColumnCodec {
            name: name.into(),
            rule: column_rule(&t, &t, Conversion::Exact, 0).unwrap(),
            source_index: i,
            target_index: i,
        };
        Arc::new(TableCodec {
            columns: vec![
                col("id", LogicalType::Int64, 0),
                col("v", LogicalType::Text { max_bytes: None }, 1),
            ],
            key: if key { vec![0] } else { Vec::new() },
        })
    }

    /// Rows as batches of `per` rows.
    fn stream(rows: &[(i64, &str)], per: usize) -> mpsc::Receiver<RecordBatch> {
        let (tx, rx) = mpsc::channel(rows.len() / per + 2);
        for part in rows.chunks(per) {
            let batch = RecordBatch::try_from_iter([
                (
                    "id",
                    Arc::new(Int64Array::from_iter_values(part.iter().map(|r| r.0))) as _,
                ),
                (
                    "v",
                    Arc::new(StringArray::from_iter_values(part.iter().map(|r| r.1))) as _,
                ),
            ])
            .unwrap();
            tx.try_send(batch).unwrap();
        }
        rx
    }

    fn keys(o: &RangeOutcome) -> Vec<String> {
        o.diffs
            .iter()
            .map(|d| format!("{:?} {} {:?}", d.kind, d.key[0].1, d.columns))
            .collect()
    }

    #[tokio::test]
    async fn merge_by_key_finds_each_difference_whatever_the_batch_and_chunk_sizes() {
        let source: Vec<(i64, &str)> = (1..=300).map(|i| (i, "x")).collect();
        let mut target = source.clone();
        target.retain(|r| r.0 != 5 && r.0 != 1);
        target.iter_mut().find(|r| r.0 == 150).unwrap().1 = "y";
        target.iter_mut().find(|r| r.0 == 300).unwrap().1 = "x ";
        target.push((301, "x"));
        for (chunk_rows, s_per, t_per) in [(7, 10, 13), (1, 1, 300), (1000, 300, 7)] {
            let o = compare_ordered(
                codec(true),
                stream(&source, s_per),
                stream(&target, t_per),
                CompareOptions {
                    chunk_rows,
                    chunk_bytes: usize::MAX,
                    max_diffs: 100,
                },
            )
            .await
            .unwrap();
            assert_eq!(
                keys(&o),
                vec![
                    "MissingInTarget 1 []",
                    "MissingInTarget 5 []",
                    "Differs 150 [\"v\"]",
                    "Differs 300 [\"v\"]",
                    "ExtraInTarget 301 []",
                ],
                "chunk {chunk_rows}"
            );
            assert_eq!((o.rows_source, o.rows_target), (300, 299));
            assert_eq!(o.differences(), 5);
            assert_eq!(o.chunks, 301u64.div_ceil(chunk_rows as u64));
            assert_eq!(o.chunk_map.len() as u64, o.chunks);
            if chunk_rows == 1 {
                // One row a chunk: positions 0 and 4 lack a row, 149 and 299
                // differ, 300 is the extra one.
                let marked: Vec<(usize, char)> = o
                    .chunk_map
                    .char_indices()
                    .filter(|(_, c)| *c != '.')
                    .collect();
                assert_eq!(
                    marked,
                    [(0, 'm'), (4, 'm'), (149, 'x'), (299, 'x'), (300, 'e')]
                );
            }
        }
        // Identical streams: every chunk digest matches.
        let o = compare_ordered(
            codec(true),
            stream(&source, 17),
            stream(&source, 64),
            CompareOptions {
                chunk_rows: 10,
                chunk_bytes: usize::MAX,
                max_diffs: 100,
            },
        )
        .await
        .unwrap();
        assert_eq!((o.differences(), o.chunks, o.chunks_differing), (0, 30, 0));
    }

    #[tokio::test]
    async fn a_duplicated_row_without_a_key_is_counted() {
        let source = [(1, "a"), (2, "b"), (2, "b")];
        let target = [(2, "b"), (1, "a"), (2, "b"), (2, "b")];
        let o = compare_multiset(
            codec(false),
            stream(&source, 2),
            stream(&target, 3),
            CompareOptions {
                chunk_rows: 10,
                chunk_bytes: usize::MAX,
                max_diffs: 10,
            },
        )
        .await
        .unwrap();
        assert_eq!((o.missing_in_target, o.extra_in_target), (0, 1));
        assert_eq!(o.diffs[0].source_count, Some(2));
        assert_eq!(o.diffs[0].target_count, Some(3));
    }
}
