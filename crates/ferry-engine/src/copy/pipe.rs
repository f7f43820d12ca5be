//! One range through the pipe: reader → forwarder → writer, committed only
//! when the reader finished cleanly and every count reconciles.

use std::collections::HashSet;
use std::sync::Arc;

use tokio::sync::mpsc;

use ferry_core::adapter::ReadOptions;
use ferry_core::event::Event;
use ferry_core::range::KeyRange;
use ferry_core::{Error, Result, TablePlan};

use super::retry::without_keys;
use super::{OnError, Run};
use crate::reshape::CheckFailure;

/// Copies one range: read inside the snapshot, write in one target
/// transaction, leaving out the rows whose rendered key is in `skip`
/// (rejected earlier). Returns the rows committed and the rows a check of
/// the job refused (left out; with [`OnError::Fail`] the first of them
/// fails the range instead, before anything commits).
pub(super) async fn copy_range(
    run: &Run,
    plan: &Arc<TablePlan>,
    range: &KeyRange,
    skip: &HashSet<String>,
) -> Result<(u64, Vec<CheckFailure>)> {
    let cap = run.options.channel_batches.max(1);
    let (read_tx, mut read_rx) = mpsc::channel(cap);
    // The forwarder holds one batch while it waits on the writer, so the
    // writer's own channel needs only one place: batches in flight per range
    // are the reader's, `channel_batches`, the forwarder's, one queued and
    // the writer's (see the module docs of `copy`).
    let (write_tx, write_rx) = mpsc::channel(1);
    // On a target that takes one writer at a time, the writer takes the
    // run's permit only once the range's first batch was read (or the range
    // turned out empty): a writer holding the permit then has a reader that
    // already holds its source session, so a source whose snapshot is one
    // session cannot deadlock against it.
    let (started_tx, started_rx) = tokio::sync::oneshot::channel::<()>();
    let writer = {
        let target = super::writer_for(run, plan).await?;
        let gate = run.write_gate.clone();
        tokio::spawn(async move {
            if gate.is_some() {
                let _ = started_rx.await;
            }
            super::write_gated(gate, target, write_rx).await
        })
    };
    let mut started_tx = Some(started_tx);
    let batch_rows = run.options.batch_rows;
    // The reader runs in this task (it borrows the snapshot); the forwarder
    // runs beside it, so batches flow while the reader waits on the network.
    // Rows rejected earlier whose value the reader itself refuses are left
    // out by the reader; the others are left out below.
    let options = ReadOptions {
        skip_keys: Arc::new(skip.clone()),
        ..ReadOptions::copy(batch_rows).with_limit(run.options.batch_limit())
    };
    let mut failures = Vec::new();
    let reader = run.source.read_range_checked(
        plan,
        range,
        Some(&run.snapshot),
        &options,
        read_tx,
        &mut failures,
    );
    let forward = async {
        let mut forwarded: u64 = 0;
        let mut skipped: u64 = 0;
        let mut writer_gone = false;
        'batches: while let Some(batch) = read_rx.recv().await {
            if let Some(s) = started_tx.take() {
                let _ = s.send(());
            }
            let pieces = if skip.is_empty() {
                vec![batch]
            } else {
                let (kept, left_out) = without_keys(plan, batch, skip);
                skipped += left_out;
                kept
            };
            for piece in pieces {
                let rows = piece.num_rows() as u64;
                let bytes = ferry_core::arrow::data_bytes(&piece);
                if write_tx.send(piece).await.is_err() {
                    writer_gone = true;
                    break 'batches;
                }
                forwarded += rows;
                run.events.send(Event::RowsWritten {
                    table: plan.source.clone(),
                    rows,
                    bytes,
                });
            }
        }
        // Unblocks a reader waiting on a full channel when the writer failed.
        drop(read_rx);
        drop(started_tx.take());
        (forwarded, skipped, writer_gone, write_tx)
    };
    let (read, (forwarded, skipped, writer_gone, write_tx)) = tokio::join!(reader, forward);
    let rows_read = match read {
        Ok(n) if !writer_gone => n,
        Ok(_) => {
            // The writer stopped early: its error is the story.
            drop(write_tx);
            return match writer.await {
                Ok(Err(e)) => Err(e),
                Ok(Ok(_)) => Err(Error::Bug("writer finished before its input".into())),
                Err(e) => Err(Error::Bug(format!("writer task: {e}"))),
            };
        }
        Err(e) => {
            // Abort before closing the writer's channel, so nothing commits.
            writer.abort();
            let _ = writer.await;
            drop(write_tx);
            return Err(e);
        }
    };
    if let (Some(f), OnError::Fail) = (failures.first(), run.options.on_error) {
        // Stop the table: abort before closing the writer's channel, so
        // nothing of the range commits.
        writer.abort();
        let _ = writer.await;
        drop(write_tx);
        return Err(Error::Check {
            table: plan.source.to_string(),
            check: f.check.clone(),
            key: f.key.clone(),
        });
    }
    drop(write_tx);
    let receipt = writer
        .await
        .map_err(|e| Error::Bug(format!("writer task: {e}")))??;
    if rows_read != forwarded + skipped || receipt.rows_written != forwarded {
        return Err(Error::Table {
            table: plan.source.to_string(),
            problem: format!(
                "row counts of range {range} do not reconcile: read {rows_read}, \
                 forwarded {forwarded}, rejected {skipped}, written {}",
                receipt.rows_written
            ),
        });
    }
    Ok((forwarded, failures))
}
