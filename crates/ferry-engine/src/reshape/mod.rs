//! The job's transforms and checks of a table (issue 16): planning them
//! ([`plan`]) and running them between a source reader and whoever reads
//! its batches ([`read_reshaped`]). What they mean is documented in
//! [`ferry_core::transform`].

mod apply;
pub mod builtin;
pub mod plan;

use arrow_array::RecordBatch;
use tokio::sync::mpsc;

use ferry_core::adapter::ReadOptions;
use ferry_core::range::KeyRange;
use ferry_core::{Result, TablePlan};

use crate::adapter::{Adapter, SourceSnapshot};

pub use apply::{CheckFailure, Reshaper};

/// Reads `range` of a reshaped table with its read plan and sends the
/// written plan's batches: rows a check refuses are left out and added to
/// `failures`. Returns the rows sent.
pub(crate) async fn read_reshaped(
    source: &Adapter,
    plan: &TablePlan,
    range: &KeyRange,
    snapshot: Option<&SourceSnapshot>,
    options: &ReadOptions,
    tx: mpsc::Sender<RecordBatch>,
    failures: &mut Vec<CheckFailure>,
) -> Result<u64> {
    let reshaper = Reshaper::new(plan)?;
    let (read_tx, mut read_rx) = mpsc::channel::<RecordBatch>(2);
    let reader = source.read_range_source(plan.source_plan(), range, snapshot, options, read_tx);
    let forward = async move {
        let mut sent: u64 = 0;
        while let Some(batch) = read_rx.recv().await {
            let (pieces, failed) = reshaper.apply(&batch)?;
            failures.extend(failed);
            for piece in pieces {
                let rows = piece.num_rows() as u64;
                if tx.send(piece).await.is_err() {
                    // Whoever reads stopped: its story, not ours.
                    return Ok(sent);
                }
                sent += rows;
            }
        }
        Ok::<u64, ferry_core::Error>(sent)
    };
    let (read, sent) = tokio::join!(reader, forward);
    // A reshape error stops the reader (its channel closes): report it first.
    let sent = sent?;
    read?;
    Ok(sent)
}
