//! A table's comparison: which columns are compared and how, each batch
//! encoded into keys and framed rows, and the row hash over them.

use arrow_array::{ArrayRef, RecordBatch};

use super::key::{encode_key, render_value};
use super::scalar::{view, View};
use super::{encode_scalar, encode_value, Side, F32, F64};
use crate::rule::{ColumnRule, Domain, SideFlags};

/// One compared column: its rule and where it sits in each side's batches.
#[derive(Debug, Clone)]
pub struct ColumnCodec {
    pub name: String,
    pub rule: ColumnRule,
    pub source_index: usize,
    pub target_index: usize,
}

/// A table's comparison: columns in source order, and which of them form the key.
#[derive(Debug, Clone)]
pub struct TableCodec {
    pub columns: Vec<ColumnCodec>,
    /// Indexes into `columns`, in key order; empty for a multiset comparison.
    pub key: Vec<usize>,
}

/// A 128-bit row hash.
pub type RowHash = [u8; 16];

/// The keys and canonical row encodings of every row of one batch.
///
/// Rows are stored back to back, each as `u64 LE length ‖ field encodings`,
/// so a run of consecutive rows is one contiguous byte slice: a chunk digest
/// hashes whole slices (blake3 is fastest on long inputs) and row hashes
/// are only computed where a chunk differs.
#[derive(Debug, Clone, Default)]
pub struct EncodedBatch {
    key_data: Vec<u8>,
    key_ends: Vec<usize>,
    row_data: Vec<u8>,
    row_ends: Vec<usize>,
}

impl EncodedBatch {
    pub fn len(&self) -> usize {
        self.row_ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.row_ends.is_empty()
    }

    /// The order-preserving key of row `i` (empty for a multiset comparison).
    pub fn key(&self, i: usize) -> &[u8] {
        if self.key_ends.is_empty() {
            return &[];
        }
        let start = if i == 0 { 0 } else { self.key_ends[i - 1] };
        &self.key_data[start..self.key_ends[i]]
    }

    /// Rows `start..end`, framed, as one slice.
    pub fn rows(&self, start: usize, end: usize) -> &[u8] {
        if start >= end {
            return &[];
        }
        let from = if start == 0 {
            0
        } else {
            self.row_ends[start - 1]
        };
        &self.row_data[from..self.row_ends[end - 1]]
    }

    /// The 128-bit hash of row `i` (over its framed encoding).
    pub fn row_hash(&self, i: usize) -> RowHash {
        row_hash(self.rows(i, i + 1))
    }
}

/// Derivation contexts: changing the encoding changes these, so digests of
/// different encoding versions can never be mistaken for each other.
pub const ROW_CONTEXT: &str = "ferry-parity v1 row";
pub const CHUNK_CONTEXT: &str = "ferry-parity v1 chunk";

impl TableCodec {
    fn index(&self, c: &ColumnCodec, side: Side) -> usize {
        match side {
            Side::Source => c.source_index,
            Side::Target => c.target_index,
        }
    }

    fn flags(c: &ColumnCodec, side: Side) -> SideFlags {
        match side {
            Side::Source => c.rule.source,
            Side::Target => c.rule.target,
        }
    }

    /// Appends the canonical encoding of one cell.
    pub fn encode_cell(
        &self,
        side: Side,
        batch: &RecordBatch,
        column: usize,
        row: usize,
        out: &mut Vec<u8>,
    ) {
        let c = &self.columns[column];
        let a = batch.column(self.index(c, side));
        encode_value(a.as_ref(), row, &c.rule.domain, Self::flags(c, side), out);
    }

    /// Keys and canonical row encodings of every row of `batch`.
    pub fn encode_batch(&self, side: Side, batch: &RecordBatch) -> EncodedBatch {
        let n = batch.num_rows();
        let mut out = EncodedBatch {
            key_data: Vec::new(),
            key_ends: Vec::with_capacity(if self.key.is_empty() { 0 } else { n }),
            row_data: Vec::with_capacity(n * 64),
            row_ends: Vec::with_capacity(n),
        };
        let arrays: Vec<&ArrayRef> = self
            .columns
            .iter()
            .map(|c| batch.column(self.index(c, side)))
            .collect();
        let views: Vec<(View<'_>, &Domain, SideFlags)> = self
            .columns
            .iter()
            .zip(&arrays)
            .map(|(c, a)| (view(a.as_ref()), &c.rule.domain, Self::flags(c, side)))
            .collect();
        for row in 0..n {
            let at = out.row_data.len();
            out.row_data.extend_from_slice(&[0u8; 8]);
            for (v, domain, flags) in &views {
                encode_scalar(v.scalar(row), domain, *flags, &mut out.row_data);
            }
            let len = u64::try_from(out.row_data.len() - at - 8).unwrap_or(u64::MAX);
            out.row_data[at..at + 8].copy_from_slice(&len.to_le_bytes());
            out.row_ends.push(out.row_data.len());
            if !self.key.is_empty() {
                for &k in &self.key {
                    encode_key(
                        arrays[k].as_ref(),
                        row,
                        &self.columns[k].rule.domain,
                        &mut out.key_data,
                    );
                }
                out.key_ends.push(out.key_data.len());
            }
        }
        out
    }

    /// The key of a row for a report: `(column, value)` in key order.
    pub fn render_key(&self, side: Side, batch: &RecordBatch, row: usize) -> Vec<(String, String)> {
        self.key
            .iter()
            .map(|&k| {
                let c = &self.columns[k];
                (
                    c.name.clone(),
                    render_value(batch.column(self.index(c, side)).as_ref(), row),
                )
            })
            .collect()
    }

    /// Names of the columns whose canonical values differ between a source
    /// row and a target row, honouring float tolerances.
    pub fn differing_columns(
        &self,
        source: (&RecordBatch, usize),
        target: (&RecordBatch, usize),
    ) -> Vec<String> {
        let (mut a, mut b) = (Vec::new(), Vec::new());
        let mut out = Vec::new();
        for (k, c) in self.columns.iter().enumerate() {
            a.clear();
            b.clear();
            self.encode_cell(Side::Source, source.0, k, source.1, &mut a);
            self.encode_cell(Side::Target, target.0, k, target.1, &mut b);
            if a != b && !within_ulps(&c.rule, &a, &b) {
                out.push(c.name.clone());
            }
        }
        out
    }
}

/// The blake3 hash (128 bits) of one framed row encoding.
pub fn row_hash(fields: &[u8]) -> RowHash {
    let mut h = blake3::Hasher::new_derive_key(ROW_CONTEXT);
    h.update(fields);
    let mut out = [0u8; 16];
    out.copy_from_slice(&h.finalize().as_bytes()[..16]);
    out
}

/// Whether two encoded floats are within the rule's ULP tolerance.
pub fn within_ulps(rule: &ColumnRule, a: &[u8], b: &[u8]) -> bool {
    if rule.float_ulps == 0 {
        return false;
    }
    let ordered = |bits: i64| if bits < 0 { i64::MIN - bits } else { bits };
    match (a.first(), b.first()) {
        (Some(&F64), Some(&F64)) if a.len() == 9 && b.len() == 9 => {
            let x = i64::from_le_bytes(a[1..9].try_into().unwrap_or_default());
            let y = i64::from_le_bytes(b[1..9].try_into().unwrap_or_default());
            ordered(x).abs_diff(ordered(y)) <= u64::from(rule.float_ulps)
        }
        (Some(&F32), Some(&F32)) if a.len() == 5 && b.len() == 5 => {
            let x = i32::from_le_bytes(a[1..5].try_into().unwrap_or_default());
            let y = i32::from_le_bytes(b[1..5].try_into().unwrap_or_default());
            let o = |v: i32| if v < 0 { i32::MIN - v } else { v };
            o(x).abs_diff(o(y)) <= rule.float_ulps
        }
        _ => false,
    }
}
