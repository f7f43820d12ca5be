//! Parity verification: do two tables hold the same rows?
//!
//! Per table: describe the target, plan it with the built-in read rules (so
//! each side is decoded by its own adapter into its own logical types), pair
//! the columns by name and choose each pair's equivalence rule
//! ([`ferry_parity::rule`]), then read both sides concurrently and compare
//! ([`compare`]). Tables with a primary key are read in binary key order
//! and merged by key, in the source's key ranges when the range planner
//! splits the table (ranges run concurrently), else as one range. Tables
//! without a key, or whose key cannot be ordered the same on both engines,
//! are compared as multisets of row hashes, and the report says so.
//!
//! [`verify_range`] compares one key range, reading the source inside a
//! snapshot: the unit `ferry copy --verify` runs after copying a range.

pub mod compare;
pub mod repair;
pub mod scope;

use std::sync::Arc;
use std::time::Instant;

use ferry_core::adapter::ReadOptions;
use ferry_core::range::{KeyRange, RangeOptions, SplitMethod};
use ferry_core::{Error, Result, TablePlan, TableRef};
use ferry_mapping::Mappings;
use ferry_parity::{column_rule, ColumnCodec, TableCodec};
use serde::Serialize;
use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinSet;

pub use compare::{CompareOptions, DiffKind, RangeOutcome, RowDiff};
pub use ferry_parity::ENCODING_VERSION;
pub use repair::{RepairedRow, TableRepair};
pub use scope::VerifyScope;

use crate::failure::TableFailure;
use crate::{Adapter, SourceSnapshot};

/// How a verification runs.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    pub batch_rows: usize,
    /// Bytes per batch read from either side; also the most a chunk holds
    /// per side before it closes, whatever `chunk_rows` allows.
    pub batch_bytes: usize,
    /// Merged rows per chunk digest.
    pub chunk_rows: usize,
    /// Differences listed per table (counts stay exact).
    pub max_diffs: usize,
    /// Float tolerance in units in the last place (0 = exact bits).
    pub float_ulps: u32,
    pub parallel_tables: usize,
    /// Ranges of one table compared at once (each reads both sides).
    pub parallel_ranges: usize,
    pub ranges: RangeOptions,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        VerifyOptions {
            batch_rows: ferry_core::batch::DEFAULT_BATCH_ROWS,
            batch_bytes: ferry_core::batch::DEFAULT_VERIFY_BATCH_BYTES,
            chunk_rows: 10_000,
            max_diffs: 100,
            float_ulps: 0,
            parallel_tables: 2,
            parallel_ranges: 2,
            ranges: RangeOptions::default(),
        }
    }
}

/// How rows were matched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CompareMode {
    /// Merged by primary key in binary key order, chunk digests ordered.
    KeyOrder { key: Vec<String> },
    /// Counts per row hash; `reason` says why there was no usable key.
    Multiset { reason: String },
}

/// One column's equivalence rule, as shown in the report.
#[derive(Debug, Clone, Serialize)]
pub struct ColumnReport {
    pub column: String,
    pub source_type: String,
    pub target_type: String,
    pub rule: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A verified table.
#[derive(Debug, Clone, Serialize)]
pub struct TableVerify {
    pub table: TableRef,
    pub target: TableRef,
    pub mode: CompareMode,
    pub ranges: usize,
    #[serde(flatten)]
    pub outcome: RangeOutcome,
    pub seconds: f64,
    pub columns: Vec<ColumnReport>,
    /// Target columns the source does not have (not compared).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// `--dirty`: how many of the copy's ranges were dirty (and compared).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dirty: Option<DirtyScope>,
    /// `--repair`: what was changed in the target, and what remained.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repair: Option<TableRepair>,
}

/// The ranges `verify --dirty` compared in a table.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct DirtyScope {
    /// Dirty ranges (compared).
    pub dirty: usize,
    /// The copy's ranges of the table.
    pub of: usize,
}

impl TableVerify {
    pub fn equal(&self) -> bool {
        self.outcome.differences() == 0
    }
}

/// The outcome of a run.
#[derive(Debug, Clone, Serialize, Default)]
pub struct VerifyReport {
    pub tables: Vec<TableVerify>,
    pub failed: Vec<TableFailure>,
}

impl VerifyReport {
    pub fn differences(&self) -> u64 {
        self.tables.iter().map(|t| t.outcome.differences()).sum()
    }
}

/// Everything decided about a table before reading it.
#[derive(Debug, Clone)]
pub struct TableComparison {
    pub source_plan: TablePlan,
    /// The target as its own catalog describes it (`source` is the target table).
    pub target_plan: TablePlan,
    pub codec: Arc<TableCodec>,
    pub mode: CompareMode,
    /// Per key column: order as binary text.
    pub text_order: Vec<bool>,
    pub columns: Vec<ColumnReport>,
    pub notes: Vec<String>,
}

/// Describes the target of `plan` and decides how every column compares.
pub async fn prepare_table(
    source: &Adapter,
    target: &Adapter,
    plan: &TablePlan,
    float_ulps: u32,
) -> Result<TableComparison> {
    let raw = target.describe(&plan.target).await?;
    let builtin = Mappings::builtin().map_err(|e| Error::Bug(format!("built-in mappings: {e}")))?;
    let mut target_plan = builtin
        .plan_table(&raw, target.engine(), source.dialect(), plan.source.clone())
        .map_err(|e| Error::Table {
            table: plan.target.to_string(),
            problem: format!("cannot read the target for verification: {e}"),
        })?;
    let table = plan.source.to_string();
    let mut columns = Vec::with_capacity(plan.columns.len());
    let mut report = Vec::with_capacity(plan.columns.len());
    for (si, sc) in plan.columns.iter().enumerate() {
        let ti = target_plan
            .columns
            .iter()
            .position(|c| c.name == sc.name)
            .or_else(|| {
                target_plan
                    .columns
                    .iter()
                    .position(|c| c.name.eq_ignore_ascii_case(&sc.name))
            })
            .ok_or_else(|| Error::Table {
                table: table.clone(),
                problem: format!("column {} is missing from target {}", sc.name, plan.target),
            })?;
        let tc = &target_plan.columns[ti];
        let rule = column_rule(&sc.logical, &tc.logical, sc.conversion, float_ulps).map_err(
            |problem| Error::Table {
                table: table.clone(),
                problem: format!("column {}: {problem}", sc.name),
            },
        )?;
        report.push(ColumnReport {
            column: sc.name.clone(),
            source_type: sc.source_type.clone(),
            target_type: tc.source_type.clone(),
            rule: rule.description.clone(),
            note: None,
        });
        columns.push(ColumnCodec {
            name: sc.name.clone(),
            rule,
            source_index: si,
            target_index: ti,
        });
    }
    let notes: Vec<String> = target_plan
        .columns
        .iter()
        .filter(|t| {
            !columns
                .iter()
                .any(|c| target_plan.columns[c.target_index].name == t.name)
        })
        .map(|t| {
            format!(
                "target column {} is not in the source: not compared",
                t.name
            )
        })
        .collect();
    let key_names: Vec<String> = plan
        .primary_key
        .iter()
        .map(|&i| plan.columns[i].name.clone())
        .collect();
    let unorderable = plan
        .primary_key
        .iter()
        .find(|&&i| !columns[i].rule.orderable())
        .map(|&i| plan.columns[i].name.clone());
    let (mode, key) = match (plan.primary_key.is_empty(), unorderable) {
        (true, _) => (
            CompareMode::Multiset {
                reason: "no primary key".into(),
            },
            Vec::new(),
        ),
        (false, Some(col)) => (
            CompareMode::Multiset {
                reason: format!("key column {col} has no order shared by both engines"),
            },
            Vec::new(),
        ),
        (false, None) => (
            CompareMode::KeyOrder {
                key: key_names.clone(),
            },
            plan.primary_key.clone(),
        ),
    };
    target_plan.primary_key = key.iter().map(|&i| columns[i].target_index).collect();
    let text_order = key
        .iter()
        .map(|&i| columns[i].rule.binary_text_order())
        .collect();
    collation_notes(source, plan, target, &target_plan, &mut report).await;
    Ok(TableComparison {
        source_plan: TablePlan {
            primary_key: key.clone(),
            ..plan.clone()
        },
        target_plan,
        codec: Arc::new(TableCodec { columns, key }),
        mode,
        text_order,
        columns: report,
        notes,
    })
}

/// Notes case- or accent-insensitive collations (MySQL's `_ci`/`_ai`
/// names): values are still compared byte for byte, but such a column may
/// have merged keys that are distinct on the other side.
async fn collation_notes(
    source: &Adapter,
    source_plan: &TablePlan,
    target: &Adapter,
    target_plan: &TablePlan,
    report: &mut [ColumnReport],
) {
    for (adapter, plan, side) in [
        (source, source_plan, "source"),
        (target, target_plan, "target"),
    ] {
        let Ok(collations) = adapter.column_collations(plan).await else {
            continue;
        };
        for (name, coll) in collations {
            let Some(coll) = coll else { continue };
            if coll.contains("_ci") || coll.contains("_ai") {
                if let Some(r) = report.iter_mut().find(|r| r.column == name) {
                    r.note = Some(format!(
                        "{side} collation {coll} is case/accent-insensitive: values compared byte for byte"
                    ));
                }
            }
        }
    }
}

/// Reads one side in binary key order (unordered without a key): a key
/// range, or the whole table, through the same range reader copy uses.
async fn read_side(
    adapter: Arc<Adapter>,
    plan: TablePlan,
    range: KeyRange,
    options: ReadOptions,
    tx: mpsc::Sender<arrow_array::RecordBatch>,
) -> Result<u64> {
    adapter
        .read_range_with(&plan, &range, None, &options, tx)
        .await
}

/// Compares one key range (`None` or `Whole`: the whole table in binary key
/// order).
///
/// Both sides are read concurrently. With `snapshot` (the copy's source
/// snapshot; `ferry copy --verify` calls this right after a range commits)
/// the source range is read inside it, on this task since it borrows the
/// snapshot; the target is read in a read-only transaction of its own.
/// Returns exact counts and the first `max_diffs` differences in key order.
///
/// Key ranges only: a PostgreSQL `Blocks` range of a keyless table selects
/// heap pages, which mean nothing on the target; verify such tables whole
/// (`range: None`), where they are compared as a multiset.
pub async fn verify_range(
    source: &Arc<Adapter>,
    target: &Arc<Adapter>,
    cmp: &TableComparison,
    range: Option<&KeyRange>,
    snapshot: Option<&SourceSnapshot>,
    options: &VerifyOptions,
) -> Result<RangeOutcome> {
    // One batch queued per side: the comparison holds a chunk's batches
    // anyway, and memory is counted in batches (see `compare`).
    let (stx, srx) = mpsc::channel(1);
    let (ttx, trx) = mpsc::channel(1);
    let read = ReadOptions::binary_key_order(options.batch_rows, cmp.text_order.clone())
        .with_limit(ferry_core::batch::BatchLimit {
            rows: options.batch_rows,
            bytes: options.batch_bytes,
        });
    let range = range.cloned().unwrap_or(KeyRange::Whole);
    let t_reader = tokio::spawn(read_side(
        target.clone(),
        cmp.target_plan.clone(),
        range.clone(),
        read.clone(),
        ttx,
    ));
    let s_read = async {
        match snapshot {
            // Inside the snapshot, on this task: it borrows the snapshot.
            Some(snap) => {
                source
                    .read_range_with(&cmp.source_plan, &range, Some(snap), &read, stx)
                    .await
            }
            None => {
                let h = tokio::spawn(read_side(
                    source.clone(),
                    cmp.source_plan.clone(),
                    range.clone(),
                    read.clone(),
                    stx,
                ));
                compare::join_reader(h).await
            }
        }
    };
    let copts = CompareOptions {
        chunk_rows: options.chunk_rows,
        chunk_bytes: options.batch_bytes,
        max_diffs: options.max_diffs,
    };
    let compared = async {
        match cmp.mode {
            CompareMode::KeyOrder { .. } => {
                compare::compare_ordered(cmp.codec.clone(), srx, trx, copts).await
            }
            CompareMode::Multiset { .. } => {
                compare::compare_multiset(cmp.codec.clone(), srx, trx, copts).await
            }
        }
    };
    let (s_rows, outcome) = tokio::join!(s_read, compared);
    let t_rows = compare::join_reader(t_reader).await;
    let (s_rows, t_rows) = (s_rows?, t_rows?);
    let outcome = outcome?;
    if s_rows != outcome.rows_source || t_rows != outcome.rows_target {
        return Err(Error::Bug(format!(
            "verify of {}: read {s_rows}/{t_rows} rows but compared {}/{}",
            cmp.source_plan.source, outcome.rows_source, outcome.rows_target
        )));
    }
    Ok(outcome)
}

/// Verifies one table: its ranges (when the planner splits it), at most
/// `parallel_ranges` at a time, outcomes merged in key order.
pub async fn verify_table(
    source: Arc<Adapter>,
    target: Arc<Adapter>,
    plan: &TablePlan,
    options: &VerifyOptions,
) -> Result<TableVerify> {
    let started = Instant::now();
    let cmp = Arc::new(prepare_table(&source, &target, plan, options.float_ulps).await?);
    let ranges = planned_ranges(&source, &cmp, options).await;
    let outcomes = verify_ranges(&source, &target, &cmp, &ranges, options).await?;
    Ok(table_verify(&cmp, ranges.len(), outcomes, started, options))
}

/// The ranges a whole-table verification compares: the source's key
/// ranges when the planner splits the table, else the table as one range
/// (`None`); always one for a multiset comparison.
pub async fn planned_ranges(
    source: &Adapter,
    cmp: &TableComparison,
    options: &VerifyOptions,
) -> Vec<Option<KeyRange>> {
    match &cmp.mode {
        CompareMode::KeyOrder { .. } => {
            match source.plan_ranges(&cmp.source_plan, &options.ranges).await {
                Ok(p) if p.method == SplitMethod::KeySample && p.ranges.len() > 1 => {
                    p.ranges.into_iter().map(Some).collect()
                }
                Ok(_) => vec![None],
                Err(e) => {
                    // Ranges only add parallelism: one range is always correct.
                    tracing::debug!(table = %cmp.source_plan.source, error = %e, "range planning failed; one range");
                    vec![None]
                }
            }
        }
        CompareMode::Multiset { .. } => vec![None],
    }
}

/// Compares `ranges`, at most `parallel_ranges` at a time; the outcomes in
/// the order of `ranges`.
pub async fn verify_ranges(
    source: &Arc<Adapter>,
    target: &Arc<Adapter>,
    cmp: &Arc<TableComparison>,
    ranges: &[Option<KeyRange>],
    options: &VerifyOptions,
) -> Result<Vec<RangeOutcome>> {
    let permits = Arc::new(Semaphore::new(options.parallel_ranges.max(1)));
    let mut set = JoinSet::new();
    for (i, range) in ranges.iter().cloned().enumerate() {
        let (source, target, cmp, options, permits) = (
            source.clone(),
            target.clone(),
            cmp.clone(),
            options.clone(),
            permits.clone(),
        );
        set.spawn(async move {
            let _permit = permits.acquire_owned().await;
            let r = verify_range(&source, &target, &cmp, range.as_ref(), None, &options).await;
            (i, r)
        });
    }
    let mut outcomes: Vec<Option<RangeOutcome>> = vec![None; ranges.len()];
    while let Some(joined) = set.join_next().await {
        let (i, r) = joined.map_err(|e| Error::Bug(format!("verify task: {e}")))?;
        outcomes[i] = Some(r?);
    }
    outcomes
        .into_iter()
        .map(|o| o.ok_or_else(|| Error::Bug("a verify range without an outcome".into())))
        .collect()
}

/// One table's report from its ranges' outcomes (merged in key order).
pub fn table_verify(
    cmp: &TableComparison,
    ranges: usize,
    outcomes: Vec<RangeOutcome>,
    started: Instant,
    options: &VerifyOptions,
) -> TableVerify {
    let mut outcome = RangeOutcome::default();
    for o in outcomes {
        outcome.absorb(o, options.max_diffs);
    }
    TableVerify {
        table: cmp.source_plan.source.clone(),
        target: cmp.source_plan.target.clone(),
        mode: cmp.mode.clone(),
        ranges,
        outcome,
        seconds: started.elapsed().as_secs_f64(),
        columns: cmp.columns.clone(),
        notes: cmp.notes.clone(),
        dirty: None,
        repair: None,
    }
}

/// Verifies every planned table, `parallel_tables` at a time. A table that
/// cannot be compared (missing target, no equivalence rule, read error) is a
/// failure in the report; the others carry on.
pub async fn verify(
    source: Arc<Adapter>,
    target: Arc<Adapter>,
    plans: Vec<TablePlan>,
    options: &VerifyOptions,
) -> Result<VerifyReport> {
    let permits = Arc::new(Semaphore::new(options.parallel_tables.max(1)));
    let mut set = JoinSet::new();
    for plan in plans {
        let (source, target, options, permits) = (
            source.clone(),
            target.clone(),
            options.clone(),
            permits.clone(),
        );
        set.spawn(async move {
            let _permit = permits.acquire_owned().await;
            let r = verify_table(source, target, &plan, &options).await;
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
