//! Ranges of a table, the unit of parallel work, and the snapshot they are
//! read from.
//!
//! A table is split into half-open ranges `[lower, upper)` over its primary
//! key. Bounds are typed key values ([`KeyValue`]); each adapter renders them
//! into SQL literals of its own dialect, quoted, never interpolated raw.
//!
//! # Why a range means the same rows on every engine
//!
//! Bounds and predicates compare keys in **binary order**:
//!
//! - integers numerically (signed and unsigned alike);
//! - text by the bytes of its UTF-8 encoding: PostgreSQL adds `COLLATE "C"`
//!   to text key columns whose collation is not already `C`/`POSIX`, in the
//!   range predicate and in the sampling `ORDER BY`; MySQL compares a key
//!   column whose collation is binary (`*_bin`, as ferry creates targets) as
//!   it is, and any other through `CAST(… AS BINARY)`. Byte order of UTF-8
//!   is code-point order, so both engines agree;
//! - UUIDs by their 16 bytes: PostgreSQL's `uuid` compares bytewise, and the
//!   canonical lower-case text form a MySQL target holds sorts the same way
//!   under a binary collation;
//! - bytes (bytea / binary) bytewise;
//! - composite keys lexicographically, as row values `(a, b) >= (x, y)`.
//!
//! So a [`KeyRange`] planned on the source selects the same rows from a
//! target that ferry loaded, which is what `verify` relies on. A collation
//! that is not byte order still gives correct ranges (every row lands in
//! exactly one of them), only the index cannot serve the predicate.
//!
//! Keyless tables have no comparable key: PostgreSQL splits them by heap
//! block ranges ([`KeyRange::Blocks`], `ctid`), MySQL reads them as one
//! stream ([`KeyRange::Whole`]) and the [`RangePlan`] says so.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::plan::TableRef;

/// One key column's value at a range boundary.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum KeyValue {
    Int(i64),
    UInt(u64),
    /// Text, ordered by its UTF-8 bytes.
    Text(String),
    /// Raw bytes (bytea, binary, varbinary).
    Bytes(Vec<u8>),
    /// A UUID's 16 bytes; rendered `'xxxxxxxx-…'` (MySQL char(36)) or `'…'::uuid`.
    Uuid([u8; 16]),
}

impl KeyValue {
    /// The canonical lower-case hyphenated form of a UUID.
    pub fn uuid_text(bytes: &[u8; 16]) -> String {
        crate::hex::uuid_text(bytes)
    }

    /// Parses a UUID's text form (hyphens optional, any case).
    pub fn parse_uuid(s: &str) -> Option<[u8; 16]> {
        let digits: Vec<u8> = s.bytes().filter(|&b| b != b'-').collect();
        let mut out = [0u8; 16];
        crate::hex::decode_hex(&digits, &mut out)?;
        Some(out)
    }
}

impl fmt::Display for KeyValue {
    /// For plans and logs only (keys may be shown; other cell values never).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyValue::Int(v) => write!(f, "{v}"),
            KeyValue::UInt(v) => write!(f, "{v}"),
            KeyValue::Text(s) => write!(f, "{s:?}"),
            KeyValue::Bytes(b) => {
                f.write_str("0x")?;
                b.iter().try_for_each(|x| write!(f, "{x:02x}"))
            }
            KeyValue::Uuid(u) => f.write_str(&KeyValue::uuid_text(u)),
        }
    }
}

/// A full key (one value per primary-key column, in key order).
pub type KeyBound = Vec<KeyValue>;

/// Row `row`'s key (columns `key` of `rows`, in key order) as range bounds
/// hold it, or `None` when a key column is of a kind ranges are not
/// planned on (or NULL).
pub fn key_of_row(rows: &arrow_array::RecordBatch, key: &[usize], row: usize) -> Option<KeyBound> {
    key.iter()
        .map(|&k| key_value_at(rows.column(k).as_ref(), row))
        .collect()
}

fn key_value_at(a: &dyn arrow_array::Array, row: usize) -> Option<KeyValue> {
    use arrow_array::cast::AsArray;
    use arrow_array::types::*;
    use arrow_schema::DataType;
    if a.is_null(row) {
        return None;
    }
    Some(match a.data_type() {
        DataType::Int8 => KeyValue::Int(i64::from(a.as_primitive::<Int8Type>().value(row))),
        DataType::Int16 => KeyValue::Int(i64::from(a.as_primitive::<Int16Type>().value(row))),
        DataType::Int32 => KeyValue::Int(i64::from(a.as_primitive::<Int32Type>().value(row))),
        DataType::Int64 => KeyValue::Int(a.as_primitive::<Int64Type>().value(row)),
        DataType::UInt8 => KeyValue::UInt(u64::from(a.as_primitive::<UInt8Type>().value(row))),
        DataType::UInt16 => KeyValue::UInt(u64::from(a.as_primitive::<UInt16Type>().value(row))),
        DataType::UInt32 => KeyValue::UInt(u64::from(a.as_primitive::<UInt32Type>().value(row))),
        DataType::UInt64 => KeyValue::UInt(a.as_primitive::<UInt64Type>().value(row)),
        DataType::Utf8 => KeyValue::Text(a.as_string::<i32>().value(row).to_string()),
        DataType::LargeUtf8 => KeyValue::Text(a.as_string::<i64>().value(row).to_string()),
        DataType::Binary => KeyValue::Bytes(a.as_binary::<i32>().value(row).to_vec()),
        DataType::LargeBinary => KeyValue::Bytes(a.as_binary::<i64>().value(row).to_vec()),
        DataType::FixedSizeBinary(16) => {
            KeyValue::Uuid(a.as_fixed_size_binary().value(row).try_into().ok()?)
        }
        _ => return None,
    })
}

/// A half-open slice of a table. Ranges of one [`RangePlan`] are disjoint and
/// their union is the whole table, whatever rows exist in the snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum KeyRange {
    /// Every row.
    Whole,
    /// Rows whose key `k` satisfies `lower <= k < upper` in binary order;
    /// `None` is unbounded on that side.
    Key {
        lower: Option<KeyBound>,
        upper: Option<KeyBound>,
    },
    /// PostgreSQL heap blocks `[start, end)` by `ctid`; `end: None` runs to
    /// the end of the relation (so pages added after planning are included).
    Blocks { start: u32, end: Option<u32> },
}

impl fmt::Display for KeyRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bound = |b: &Option<KeyBound>, open: &str| match b {
            None => open.to_string(),
            Some(v) if v.len() == 1 => v[0].to_string(),
            Some(v) => format!(
                "({})",
                v.iter()
                    .map(|k| k.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        match self {
            KeyRange::Whole => f.write_str("whole table"),
            KeyRange::Key { lower, upper } => {
                write!(f, "[{}, {})", bound(lower, "-∞"), bound(upper, "+∞"))
            }
            KeyRange::Blocks { start, end } => match end {
                Some(e) => write!(f, "blocks [{start}, {e})"),
                None => write!(f, "blocks [{start}, end)"),
            },
        }
    }
}

/// How a table was split, for the plan output and the summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SplitMethod {
    /// Small (or asked for one range): not split.
    Unsplit,
    /// Boundaries sampled from the primary-key index, equal row counts.
    KeySample,
    /// No usable key; PostgreSQL heap block ranges.
    CtidBlocks,
    /// No usable key on an engine without physical ranges: one stream.
    SingleStream,
}

/// The ranges of one table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RangePlan {
    pub table: TableRef,
    pub method: SplitMethod,
    pub ranges: Vec<KeyRange>,
    /// Rows the planner estimated (sampled), if it looked.
    pub estimated_rows: Option<u64>,
    /// Why the table was split this way, when it is not the obvious one
    /// ("no primary key: one stream"), for the user.
    pub note: Option<String>,
}

impl RangePlan {
    pub fn whole(table: TableRef, method: SplitMethod, note: Option<String>) -> Self {
        RangePlan {
            table,
            method,
            ranges: vec![KeyRange::Whole],
            estimated_rows: None,
            note,
        }
    }

    /// Turns sorted, distinct boundaries into `[-∞, b0), [b0, b1) … [bn, +∞)`.
    pub fn from_boundaries(table: TableRef, boundaries: Vec<KeyBound>) -> Self {
        let mut ranges = Vec::with_capacity(boundaries.len() + 1);
        let mut lower: Option<KeyBound> = None;
        for b in boundaries {
            ranges.push(KeyRange::Key {
                lower: lower.take(),
                upper: Some(b.clone()),
            });
            lower = Some(b);
        }
        ranges.push(KeyRange::Key { lower, upper: None });
        RangePlan {
            table,
            method: SplitMethod::KeySample,
            ranges,
            estimated_rows: None,
            note: None,
        }
    }
}

/// How ranges are planned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RangeOptions {
    /// Ranges wanted for a large table (a ceiling; fewer when rows are few).
    pub max_ranges: usize,
    /// A table is not split into ranges smaller than this many rows.
    pub min_range_rows: u64,
}

impl Default for RangeOptions {
    fn default() -> Self {
        RangeOptions {
            max_ranges: 16,
            min_range_rows: 50_000,
        }
    }
}

impl RangeOptions {
    /// How many ranges a table of `rows` rows gets.
    pub fn ranges_for(&self, rows: u64) -> usize {
        let by_rows = rows / self.min_range_rows.max(1);
        usize::try_from(by_rows)
            .unwrap_or(usize::MAX)
            .clamp(1, self.max_ranges.max(1))
    }
}

/// Picks `ranges - 1` boundaries from a sorted sample so that ranges hold
/// equal shares of it. Duplicates (a key sampled twice, or few distinct
/// prefixes) are dropped, so boundaries are strictly increasing.
pub fn boundaries_from_sample(sample: &[KeyBound], ranges: usize) -> Vec<KeyBound> {
    let mut out: Vec<KeyBound> = Vec::new();
    if ranges < 2 || sample.len() < 2 {
        return out;
    }
    for i in 1..ranges {
        let at = i * sample.len() / ranges;
        let b = &sample[at.min(sample.len() - 1)];
        let increasing = match out.last() {
            Some(last) => last < b,
            None => true,
        };
        if increasing {
            out.push(b.clone());
        }
    }
    out
}

/// What the user asked of the snapshot step.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SnapshotOptions {
    /// Sessions that will read inside the snapshot at once (MySQL opens this
    /// many transactions at one instant; PostgreSQL imports on demand).
    pub sessions: usize,
    /// PostgreSQL: create this logical replication slot (pgoutput) with an
    /// exported snapshot, so a later sync starts exactly where the copy's
    /// snapshot ends. Without it no slot is left behind.
    pub cdc_slot: Option<String>,
    /// MySQL: may ferry take a brief `FLUSH TABLES WITH READ LOCK` to open
    /// every session at one instant?
    pub allow_lock: bool,
}

/// Where the snapshot sits in the source's change stream: what a later
/// change-data-capture sync needs to start with no gap and no overlap.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SnapshotPosition {
    /// PostgreSQL, a logical slot created with the exported snapshot: the
    /// slot's `consistent_point` is exactly the snapshot; decoding the slot
    /// yields every change after it. Set when `--cdc-slot` was given.
    PgSlot {
        slot: String,
        consistent_point: String,
        snapshot: String,
    },
    /// PostgreSQL, a snapshot exported by `pg_export_snapshot()`. `wal_lsn`
    /// is the WAL insert position when it was taken, for information only:
    /// it is *not* a gap-free start for a sync (use `--cdc-slot`).
    PgExported { snapshot: String, wal_lsn: String },
    /// MySQL/MariaDB binary log coordinates of the snapshot, when known.
    MySqlBinlog {
        file: Option<String>,
        position: Option<u64>,
        /// `@@gtid_binlog_pos` (MariaDB) or `@@gtid_executed` (MySQL).
        gtid: Option<String>,
    },
}

/// How strong the snapshot's guarantee is, as printed in the summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SnapshotConsistency {
    /// Every session reads the same instant, and `position` marks it.
    Exact,
    /// Sessions opened one after another without a lock, and the server
    /// could not prove they saw the same instant: each range is internally
    /// consistent, but ranges may differ by writes committed in between.
    PerSession,
}

/// The snapshot a run read from, for the summary and `--format json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotInfo {
    pub consistency: SnapshotConsistency,
    pub position: Option<SnapshotPosition>,
    /// How it was taken, in a few words ("exported snapshot", "FLUSH TABLES
    /// WITH READ LOCK for 3 ms", "MariaDB consistent snapshot, positions
    /// matched").
    pub method: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(v: i64) -> KeyBound {
        vec![KeyValue::Int(v)]
    }

    #[test]
    fn boundaries_split_the_sample_evenly_and_strictly() {
        let sample: Vec<KeyBound> = (0..100).map(k).collect();
        assert_eq!(
            boundaries_from_sample(&sample, 4),
            vec![k(25), k(50), k(75)]
        );
        let dup: Vec<KeyBound> = [1, 1, 1, 1, 1, 1, 2, 3].into_iter().map(k).collect();
        assert_eq!(boundaries_from_sample(&dup, 4), vec![k(1), k(2)]);
        assert!(boundaries_from_sample(&sample, 1).is_empty());
    }

    #[test]
    fn ranges_from_boundaries_cover_everything_once() {
        let plan = RangePlan::from_boundaries(TableRef::new(None, "t"), vec![k(10), k(20)]);
        assert_eq!(plan.ranges.len(), 3);
        assert_eq!(plan.ranges[0].to_string(), "[-∞, 10)");
        assert_eq!(plan.ranges[1].to_string(), "[10, 20)");
        assert_eq!(plan.ranges[2].to_string(), "[20, +∞)");
    }

    #[test]
    fn uuid_text_round_trips() {
        let s = "0e1f2a3b-4c5d-6e7f-8091-a2b3c4d5e6f7";
        let u = KeyValue::parse_uuid(s).unwrap();
        assert_eq!(KeyValue::uuid_text(&u), s);
        assert!(KeyValue::parse_uuid("nope").is_none());
    }

    #[test]
    fn range_counts_follow_rows() {
        let o = RangeOptions {
            max_ranges: 8,
            min_range_rows: 1000,
        };
        assert_eq!(o.ranges_for(10), 1);
        assert_eq!(o.ranges_for(3500), 3);
        assert_eq!(o.ranges_for(1_000_000), 8);
    }
}
