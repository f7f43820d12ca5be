//! Chunk digests and narrowing.
//!
//! **Ordered digests.** A chunk is a run of rows in binary key order, cut at
//! the same keys on both sides (the merge by key aligns them). Its digest is
//! blake3 over the framed row encodings in key order (each `u64 length ‖
//! fields`), then the row count: one long input per side, which blake3
//! hashes fastest, and row hashes are only computed for chunks that differ. An
//! ordered hash is chosen over an order-independent multiset hash because
//! both sides are read in the same key order anyway, so order costs nothing
//! and gives position: a mismatch can be split in halves and re-hashed. (An
//! XOR or sum of row hashes would be wrong: two identical rows cancel under
//! XOR, and sums of short hashes collide.) Tables without a key have no
//! order to rely on and are compared as a multiset: a count per row hash
//! ([`Multiset`]).
//!
//! **Narrowing.** A chunk whose digests differ is split in two, each half
//! re-hashed on both sides, and only differing halves are descended into,
//! down to runs of [`ROW_BY_ROW`] rows, which are compared row by row.

use std::collections::HashMap;

use crate::canon::{EncodedBatch, RowHash, CHUNK_CONTEXT};

/// Runs at most this long are compared row by row instead of split further.
pub const ROW_BY_ROW: usize = 8;

/// One position of the merge by key: a key present on one side or both.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Aligned<L> {
    Both {
        source: (RowHash, L),
        target: (RowHash, L),
    },
    /// In the source, missing from the target.
    SourceOnly(RowHash, L),
    /// In the target only.
    TargetOnly(RowHash, L),
}

impl<L> Aligned<L> {
    fn source_hash(&self) -> Option<&RowHash> {
        match self {
            Aligned::Both { source, .. } => Some(&source.0),
            Aligned::SourceOnly(h, _) => Some(h),
            Aligned::TargetOnly(..) => None,
        }
    }

    fn target_hash(&self) -> Option<&RowHash> {
        match self {
            Aligned::Both { target, .. } => Some(&target.0),
            Aligned::TargetOnly(h, _) => Some(h),
            Aligned::SourceOnly(..) => None,
        }
    }

    /// Whether this position is a difference on its own.
    pub fn differs(&self) -> bool {
        match self {
            Aligned::Both { source, target } => source.0 != target.0,
            _ => true,
        }
    }
}

/// A 256-bit chunk digest with its row count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkDigest {
    pub rows: u64,
    pub hash: [u8; 32],
}

/// Builds a chunk digest from row hashes fed in key order.
#[derive(Debug, Clone)]
pub struct DigestBuilder {
    hasher: blake3::Hasher,
    rows: u64,
}

impl Default for DigestBuilder {
    fn default() -> Self {
        DigestBuilder {
            hasher: blake3::Hasher::new_derive_key(CHUNK_CONTEXT),
            rows: 0,
        }
    }
}

impl DigestBuilder {
    /// Feeds a run of `rows` consecutive framed row encodings: the chunk digest.
    pub fn push_rows(&mut self, framed: &[u8], rows: u64) {
        self.hasher.update(framed);
        self.rows += rows;
    }

    /// Feeds rows `start..end` of `batch` (see [`EncodedBatch::feed`]).
    pub fn push_encoded(&mut self, batch: &EncodedBatch, start: usize, end: usize) {
        batch.feed(start, end, |b| {
            self.hasher.update(b);
        });
        self.rows += u64::try_from(end.saturating_sub(start)).unwrap_or(u64::MAX);
    }

    /// Feeds one row hash: the digests of sub-runs compared while narrowing.
    pub fn push(&mut self, row: &RowHash) {
        self.hasher.update(row);
        self.rows += 1;
    }

    pub fn finish(mut self) -> ChunkDigest {
        self.hasher.update(&self.rows.to_le_bytes());
        ChunkDigest {
            rows: self.rows,
            hash: *self.hasher.finalize().as_bytes(),
        }
    }
}

/// The (source, target) digests of a run of aligned positions.
pub fn digests<L>(run: &[Aligned<L>]) -> (ChunkDigest, ChunkDigest) {
    let (mut s, mut t) = (DigestBuilder::default(), DigestBuilder::default());
    for a in run {
        if let Some(h) = a.source_hash() {
            s.push(h);
        }
        if let Some(h) = a.target_hash() {
            t.push(h);
        }
    }
    (s.finish(), t.finish())
}

/// Indexes of the positions in `run` that differ, found by split and re-hash.
/// `rehashes` counts the sub-digests computed (for tests and the report).
pub fn narrow<L>(run: &[Aligned<L>], rehashes: &mut u64) -> Vec<usize> {
    let mut out = Vec::new();
    narrow_into(run, 0, rehashes, &mut out);
    out
}

fn narrow_into<L>(run: &[Aligned<L>], offset: usize, rehashes: &mut u64, out: &mut Vec<usize>) {
    if run.is_empty() {
        return;
    }
    if run.len() <= ROW_BY_ROW {
        out.extend(
            run.iter()
                .enumerate()
                .filter(|(_, a)| a.differs())
                .map(|(i, _)| offset + i),
        );
        return;
    }
    *rehashes += 1;
    let (s, t) = digests(run);
    if s == t {
        return;
    }
    let mid = run.len() / 2;
    narrow_into(&run[..mid], offset, rehashes, out);
    narrow_into(&run[mid..], offset + mid, rehashes, out);
}

/// Counts per row hash for a table without a key: +1 per source row, −1 per
/// target row. Rows left with a non-zero count differ.
#[derive(Debug, Default)]
pub struct Multiset {
    counts: HashMap<RowHash, (u64, u64)>,
}

/// A row hash whose counts differ between the sides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CountDiff {
    pub hash: RowHash,
    pub source_count: u64,
    pub target_count: u64,
}

impl Multiset {
    pub fn add_source(&mut self, h: RowHash) {
        self.counts.entry(h).or_default().0 += 1;
    }

    pub fn add_target(&mut self, h: RowHash) {
        self.counts.entry(h).or_default().1 += 1;
    }

    /// Every row hash whose counts differ, sorted by hash.
    pub fn differences(&self) -> Vec<CountDiff> {
        let mut out: Vec<CountDiff> = self
            .counts
            .iter()
            .filter(|(_, (s, t))| s != t)
            .map(|(h, (s, t))| CountDiff {
                hash: *h,
                source_count: *s,
                target_count: *t,
            })
            .collect();
        out.sort_by_key(|d| d.hash);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::canon::row_hash;

    fn h(n: u32) -> RowHash {
        row_hash(&n.to_le_bytes())
    }

    fn same(n: u32) -> Aligned<u32> {
        Aligned::Both {
            source: (h(n), n),
            target: (h(n), n),
        }
    }

    #[test]
    fn narrowing_finds_exactly_the_differing_positions() {
        let mut run: Vec<Aligned<u32>> = (0..1000).map(same).collect();
        run[0] = Aligned::SourceOnly(h(0), 0);
        run[499] = Aligned::Both {
            source: (h(499), 499),
            target: (h(5000), 499),
        };
        run[500] = Aligned::TargetOnly(h(500), 500);
        run[999] = Aligned::SourceOnly(h(999), 999);
        let mut rehashes = 0;
        assert_eq!(narrow(&run, &mut rehashes), vec![0, 499, 500, 999]);
        // Split and re-hash visits far fewer runs than there are rows.
        assert!(rehashes < 100, "{rehashes}");
        let equal: Vec<Aligned<u32>> = (0..1000).map(same).collect();
        assert!(narrow(&equal, &mut rehashes).is_empty());
    }

    #[test]
    fn digests_are_ordered_and_count_duplicates() {
        let d = |hs: &[u32]| {
            let mut b = DigestBuilder::default();
            for &x in hs {
                b.push(&h(x));
            }
            b.finish()
        };
        assert_ne!(d(&[1, 2]), d(&[2, 1]));
        // Under XOR these two would be equal: the duplicate pair cancels.
        assert_ne!(d(&[1, 2, 2]), d(&[1]));
        assert_eq!(d(&[1, 2]), d(&[1, 2]));
    }

    #[test]
    fn multiset_counts_duplicates() {
        let mut m = Multiset::default();
        for x in [1, 2, 2, 3] {
            m.add_source(h(x));
        }
        for x in [1, 2, 2, 2, 3] {
            m.add_target(h(x));
        }
        assert_eq!(
            m.differences(),
            vec![CountDiff {
                hash: h(2),
                source_count: 2,
                target_count: 3
            }]
        );
    }
}
