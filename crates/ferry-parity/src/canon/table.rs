//! A table's comparison: which columns are compared and how, each batch
//! encoded into keys and framed rows, and the row hash over them.

use arrow_array::{ArrayRef, RecordBatch};
use arrow_buffer::Buffer;

use super::column::ColumnEncoder;
use super::key::{encode_key, render_value};
use super::scalar::{view, View};
use super::{encode_value, Side, BYTES, F32, F64, TEXT};
use crate::json::put_len;
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
/// so a run of consecutive rows is one byte stream: a chunk digest hashes
/// whole runs (blake3 is fastest on long inputs) and row hashes are only
/// computed where a chunk differs. A large byte or text payload (at least
/// [`LARGE_VALUE`] bytes) is not copied into that stream: it is kept by
/// reference to the batch's own Arrow buffer and hashed in place, so a
/// table of documents or images costs no second copy of its values.
#[derive(Debug, Clone, Default)]
pub struct EncodedBatch {
    key_data: Vec<u8>,
    key_ends: Vec<usize>,
    row_data: Vec<u8>,
    row_ends: Vec<usize>,
    /// Large payloads in stream order: each logically sits at its offset
    /// in `row_data` (between the bytes before and after it).
    large: Vec<(usize, Buffer)>,
}

/// Byte and text payloads at least this long are hashed where they lie in
/// the batch instead of being copied into the encoding.
pub const LARGE_VALUE: usize = 64 * 1024;

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

    fn row_start(&self, i: usize) -> usize {
        if i == 0 {
            0
        } else {
            self.row_ends[i - 1]
        }
    }

    /// Hands rows `start..end`, framed, to `f` as consecutive pieces (the
    /// encoding between large payloads, and the payloads themselves): the
    /// byte stream a digest hashes.
    pub fn feed(&self, start: usize, end: usize, mut f: impl FnMut(&[u8])) {
        if start >= end {
            return;
        }
        let (from, to) = (self.row_start(start), self.row_ends[end - 1]);
        let mut at = from;
        let first = self.large.partition_point(|(pos, _)| *pos <= from);
        for (pos, buf) in self.large[first..].iter().take_while(|(p, _)| *p <= to) {
            f(&self.row_data[at..*pos]);
            f(buf.as_slice());
            at = *pos;
        }
        f(&self.row_data[at..to]);
    }

    /// Rows `start..end`, framed, as one byte string (for tests and
    /// narrowing; digests use [`feed`](Self::feed)).
    pub fn framed(&self, start: usize, end: usize) -> Vec<u8> {
        let mut out = Vec::new();
        self.feed(start, end, |b| out.extend_from_slice(b));
        out
    }

    /// The bytes of row `i`'s framed encoding, large payloads included.
    pub fn row_len(&self, i: usize) -> usize {
        if self.large.is_empty() {
            return self.row_ends[i] - self.row_start(i);
        }
        let mut n = 0;
        self.feed(i, i + 1, |b| n += b.len());
        n
    }

    /// The 128-bit hash of row `i` (over its framed encoding).
    pub fn row_hash(&self, i: usize) -> RowHash {
        let mut h = blake3::Hasher::new_derive_key(ROW_CONTEXT);
        self.feed(i, i + 1, |b| {
            h.update(b);
        });
        let mut out = [0u8; 16];
        out.copy_from_slice(&h.finalize().as_bytes()[..16]);
        out
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
        // Sized once, from the batch: the encoding is its data plus a tag,
        // a length or a widened integer per field, so the buffer never
        // grows by copying itself while the rows are encoded. Rows wider
        // than 4 KiB on average (large payloads stay out of the buffer) let
        // it grow rather than reserve what they may not need.
        let data = usize::try_from(ferry_core::arrow::data_bytes(batch))
            .unwrap_or(0)
            .min(n.saturating_mul(4096));
        let mut out = EncodedBatch {
            key_data: Vec::new(),
            key_ends: Vec::with_capacity(if self.key.is_empty() { 0 } else { n }),
            row_data: Vec::with_capacity(data + n * (8 + 17 * self.columns.len())),
            row_ends: Vec::with_capacity(n),
            large: Vec::new(),
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
        let encoders: Vec<ColumnEncoder<'_>> = self
            .columns
            .iter()
            .zip(&arrays)
            .map(|(c, a)| {
                ColumnEncoder::choose(view(a.as_ref()), &c.rule.domain, Self::flags(c, side))
            })
            .collect();
        for row in 0..n {
            let at = out.row_data.len();
            out.row_data.extend_from_slice(&[0u8; 8]);
            let mut large_bytes = 0;
            for ((v, domain, flags), enc) in views.iter().zip(&encoders) {
                match large_payload(v, row, domain, *flags) {
                    Some((tag, buf)) => {
                        out.row_data.push(tag);
                        put_len(&mut out.row_data, buf.len());
                        large_bytes += buf.len();
                        out.large.push((out.row_data.len(), buf));
                    }
                    None => enc.encode(row, &mut out.row_data),
                }
            }
            let len = u64::try_from(out.row_data.len() - at - 8 + large_bytes).unwrap_or(u64::MAX);
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

/// A byte or text payload large enough to be hashed where it lies: its
/// tag and a zero-copy slice of the array's value buffer. Only payloads
/// encoded as the value's own bytes qualify (bytes; text compared exactly,
/// without trimming or NUL stripping).
fn large_payload(
    v: &View<'_>,
    row: usize,
    domain: &Domain,
    flags: SideFlags,
) -> Option<(u8, Buffer)> {
    let (tag, values, offsets) = match (v, domain) {
        (View::Bin(a), Domain::Bytes) => (BYTES, a.values(), a.value_offsets()),
        (
            View::Str(a),
            Domain::Text {
                trim_trailing_spaces: false,
            },
        ) if !flags.strip_nul => (TEXT, a.values(), a.value_offsets()),
        _ => return None,
    };
    let (start, end) = (offsets[row], offsets[row + 1]);
    let len = usize::try_from(end - start).ok()?;
    if len < LARGE_VALUE || v.is_null(row) {
        return None;
    }
    Some((
        tag,
        values.slice_with_length(usize::try_from(start).ok()?, len),
    ))
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
