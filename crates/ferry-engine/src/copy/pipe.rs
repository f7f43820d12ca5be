//! One range through the pipe: reader → forwarder → writer, committed only
//! when the reader finished cleanly and every count reconciles.

use std::collections::HashSet;
use std::sync::Arc;

use tokio::sync::mpsc;

use ferry_core::event::Event;
use ferry_core::range::KeyRange;
use ferry_core::{Error, Result, TablePlan};

use super::retry::without_keys;
use super::Run;

/// Copies one range: read inside the snapshot, write in one target
/// transaction, leaving out the rows whose rendered key is in `skip`
/// (rejected earlier). Returns the rows committed.
pub(super) async fn copy_range(
    run: &Run,
    plan: &Arc<TablePlan>,
    range: &KeyRange,
    skip: &HashSet<String>,
) -> Result<u64> {
    // The forwarder holds one batch while it waits on the writer, so the
    // writer's own channel needs only one place: batches in flight per range
    // are the reader's, `channel_batches`, the forwarder's, one queued and
    // the writer's (see the module docs of `copy`).
    let cap = run.options.channel_batches.max(1);
    let (read_tx, mut read_rx) = mpsc::channel(cap);
    let (write_tx, write_rx) = mpsc::channel(1);
    let writer = {
        let target = super::writer_for(run, plan).await?;
        tokio::spawn(async move { target.write(write_rx).await })
    };
    // The reader runs in this task (it borrows the snapshot); the forwarder
    // runs beside it, so batches flow while the reader waits on the network.
    let reader = run.source.read_range(
        plan,
        range,
        Some(&run.snapshot),
        run.options.batch_limit(),
        read_tx,
    );
    let forward = async {
        let mut forwarded: u64 = 0;
        let mut skipped: u64 = 0;
        let mut writer_gone = false;
        'batches: while let Some(batch) = read_rx.recv().await {
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
    Ok(forwarded)
}
