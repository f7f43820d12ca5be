//! Finding the rows a target refuses without naming them.
//!
//! A duplicate key, a CHECK or foreign key, a trigger: the server refuses
//! the whole statement ([`Error::Refused`]) and does not say which row.
//! With `--on-error reject` the range is then copied again in pieces: each
//! batch is written in a transaction of its own; a refused batch is split
//! in halves, recursively, down to single rows, and a refused single row
//! becomes a reject. A batch holding k refused rows costs about
//! 2·k·log2(batch rows) extra statements (each with its own session), which
//! suits the rare bad row; `max_rejects_per_range` bounds the rest.
//!
//! Unlike the fast path, the range now commits in pieces. That is safe
//! because the range stays `copying` until its checkpoint: a crash, or a
//! retry after a transient error, deletes the range in the target before
//! redoing it. Where ferry cannot delete (appending to an existing table),
//! a transient error after a piece committed is not retried: redoing the
//! range would refuse its own committed rows as duplicates and report them
//! as rejects, so the table fails instead and says why.

use std::sync::Arc;

use arrow_array::RecordBatch;
use tokio::sync::mpsc;

use ferry_core::arrow::render_key;
use ferry_core::error::chain_line;
use ferry_core::event::Event;
use ferry_core::range::KeyRange;
use ferry_core::{Error, ErrorKind, IfExists, Result, TablePlan};

use super::Run;
use crate::reject::Reject;

/// Copies `range` batch by batch, each batch committed on its own and
/// bisected when the target refuses it; refused rows are pushed to
/// `rejects`. Returns the rows committed. Rows read = committed + rejected
/// is checked.
pub(super) async fn copy_range_bisecting(
    run: &Run,
    plan: &Arc<TablePlan>,
    range: &KeyRange,
    rejects: &mut Vec<Reject>,
) -> Result<u64> {
    let (tx, mut rx) = mpsc::channel(run.options.channel_batches.max(1));
    let mut failures = Vec::new();
    let options = ferry_core::adapter::ReadOptions::copy(run.options.batch_rows)
        .with_limit(run.options.batch_limit());
    let reader = run.source.read_range_checked(
        plan,
        range,
        Some(&run.snapshot),
        &options,
        tx,
        &mut failures,
    );
    let writer = async {
        let mut written = 0u64;
        while let Some(batch) = rx.recv().await {
            match write_bisecting(run, plan, batch, rejects).await {
                Ok(n) => written += n,
                Err(e) => {
                    // Dropping the receiver stops the reader.
                    drop(rx);
                    return Err((e, written > 0));
                }
            }
        }
        Ok(written)
    };
    let (read, written) = tokio::join!(reader, writer);
    let written = match written {
        Ok(n) => n,
        Err((e, committed)) => return Err(after_commits(run, plan, range, e, committed)),
    };
    let read = read.map_err(|e| after_commits(run, plan, range, e, written > 0))?;
    let rejected = rejects.len() as u64;
    if read != written + rejected {
        return Err(Error::Table {
            table: plan.source.to_string(),
            problem: format!(
                "row counts of range {range} do not reconcile: read {read}, \
                 written {written}, rejected {rejected}"
            ),
        });
    }
    // Rows a check of the job refused were never sent: rejects as well.
    rejects.extend(super::retry::check_rejects(plan, failures));
    Ok(written)
}

/// A transient error after pieces committed may only be retried where the
/// retry can delete them first.
fn after_commits(
    run: &Run,
    plan: &TablePlan,
    range: &KeyRange,
    e: Error,
    committed: bool,
) -> Error {
    let cleanable =
        run.options.if_exists != IfExists::Append && !matches!(range, KeyRange::Blocks { .. });
    if e.kind() != ErrorKind::Transient || !committed || cleanable {
        return e;
    }
    Error::Table {
        table: plan.source.to_string(),
        problem: format!(
            "range {range} failed after part of it committed while isolating refused rows, \
             and rows appended to an existing table cannot be told from its own: {} \
             (check the range, then re-run)",
            chain_line(&e)
        ),
    }
}

/// Writes `batch`, splitting whatever the target refuses down to single
/// rows. Returns the rows committed.
async fn write_bisecting(
    run: &Run,
    plan: &TablePlan,
    batch: RecordBatch,
    rejects: &mut Vec<Reject>,
) -> Result<u64> {
    let mut written = 0;
    // Pieces still to write, the next one last.
    let mut todo = vec![batch];
    while let Some(piece) = todo.pop() {
        let n = piece.num_rows();
        if n == 0 {
            continue;
        }
        let bytes = ferry_core::arrow::data_bytes(&piece);
        match write_piece(run, plan, piece.clone()).await {
            Ok(rows) => {
                written += rows;
                run.events.send(Event::RowsWritten {
                    table: plan.source.clone(),
                    rows,
                    bytes,
                });
            }
            // The encoder names the row: set it aside, write the rest.
            Err(Error::Value {
                column,
                key,
                problem,
                table,
            }) => {
                let Some(i) = (0..n).find(|&i| render_key(plan, &piece, i) == key) else {
                    return Err(Error::Value {
                        table,
                        column,
                        key,
                        problem,
                    });
                };
                reject(run, plan, rejects, key, column, problem)?;
                todo.push(piece.slice(i + 1, n - i - 1));
                todo.push(piece.slice(0, i));
            }
            Err(Error::Refused { column, reason, .. }) if n == 1 => {
                let key = render_key(plan, &piece, 0);
                reject(run, plan, rejects, key, column.unwrap_or_default(), reason)?;
            }
            // The server named the row: set it aside, write the rest.
            Err(Error::Refused {
                column,
                key: Some(key),
                reason,
                table,
            }) => {
                let Some(i) = (0..n).find(|&i| render_key(plan, &piece, i) == key) else {
                    return Err(Error::Refused {
                        table,
                        column,
                        key: Some(key),
                        reason,
                    });
                };
                reject(run, plan, rejects, key, column.unwrap_or_default(), reason)?;
                todo.push(piece.slice(i + 1, n - i - 1));
                todo.push(piece.slice(0, i));
            }
            Err(Error::Refused { .. }) => {
                let half = n / 2;
                todo.push(piece.slice(half, n - half));
                todo.push(piece.slice(0, half));
            }
            Err(e) => return Err(e),
        }
    }
    Ok(written)
}

/// One piece in one target transaction.
async fn write_piece(run: &Run, plan: &TablePlan, piece: RecordBatch) -> Result<u64> {
    let rows = piece.num_rows() as u64;
    let (tx, rx) = mpsc::channel(1);
    tx.send(piece)
        .await
        .map_err(|_| Error::Bug("piece channel closed".into()))?;
    drop(tx);
    let writer = super::writer_for(run, plan).await?;
    let receipt = super::write_gated(run.write_gate.clone(), writer, rx).await?;
    if receipt.rows_written != rows {
        return Err(Error::Table {
            table: plan.source.to_string(),
            problem: format!(
                "the target stored {} of {rows} rows of a piece without refusing any",
                receipt.rows_written
            ),
        });
    }
    Ok(rows)
}

fn reject(
    run: &Run,
    plan: &TablePlan,
    rejects: &mut Vec<Reject>,
    key: String,
    column: String,
    reason: String,
) -> Result<()> {
    if rejects.len() >= run.options.max_rejects_per_range {
        return Err(Error::Table {
            table: plan.source.to_string(),
            problem: format!(
                "more than {} rows of one range refused by the target (last: key {key}: \
                 {reason}); stopping instead of rejecting a whole table",
                run.options.max_rejects_per_range
            ),
        });
    }
    tracing::info!(table = %plan.source, %key, %column, %reason, "row rejected");
    rejects.push(Reject {
        table: plan.source.to_string(),
        key,
        column,
        reason,
        check: None,
    });
    Ok(())
}

/// The refused row behind `refusal`, a refusal the server reported for a
/// whole statement without naming the row (a duplicate key or CHECK on
/// MySQL, a deferred constraint): the range is read again and written in
/// pieces, each rolled back ([`TargetWriter::write_uncommitted`](crate::TargetWriter)),
/// halving the first refused piece down to one row. The target is never
/// changed. Returns `refusal` with that row's key, or as it was when no
/// single row is refused on its own (the row clashes with another row of
/// the range, which a piece without it does not hold).
pub(super) async fn locate_refused(
    run: &Run,
    plan: &Arc<TablePlan>,
    range: &KeyRange,
    refusal: Error,
) -> Error {
    match first_refused(run, plan, range).await {
        Ok(Some(e)) => e,
        Ok(None) => refusal,
        Err(e) => {
            tracing::debug!(table = %plan.source, error = %chain_line(&e),
                "could not find the refused row");
            refusal
        }
    }
}

async fn first_refused(
    run: &Run,
    plan: &Arc<TablePlan>,
    range: &KeyRange,
) -> Result<Option<Error>> {
    let (tx, mut rx) = mpsc::channel(run.options.channel_batches.max(1));
    let reader = run.source.read_range(
        plan,
        range,
        Some(&run.snapshot),
        run.options.batch_limit(),
        tx,
    );
    let probe = async {
        while let Some(batch) = rx.recv().await {
            if let Some(found) = first_refused_in(run, plan, batch).await? {
                drop(rx);
                return Ok(Some(found));
            }
        }
        Ok(None)
    };
    let (read, found) = tokio::join!(reader, probe);
    match found? {
        Some(e) => Ok(Some(e)),
        None => read.map(|_| None),
    }
}

/// The first row of `batch` the target refuses on its own, as an error
/// naming its key; `None` when the whole batch goes in.
async fn first_refused_in(
    run: &Run,
    plan: &TablePlan,
    batch: RecordBatch,
) -> Result<Option<Error>> {
    let mut todo = vec![batch];
    while let Some(piece) = todo.pop() {
        let n = piece.num_rows();
        if n == 0 {
            continue;
        }
        let (tx, rx) = mpsc::channel(1);
        tx.send(piece.clone())
            .await
            .map_err(|_| Error::Bug("piece channel closed".into()))?;
        drop(tx);
        match super::writer_for(run, plan)
            .await?
            .write_uncommitted(rx)
            .await
        {
            Ok(_) => {}
            Err(e @ (Error::Value { .. } | Error::Refused { key: Some(_), .. })) => {
                return Ok(Some(e))
            }
            Err(Error::Refused {
                table,
                column,
                reason,
                key: None,
            }) if n == 1 => {
                return Ok(Some(Error::Refused {
                    table,
                    column,
                    key: Some(render_key(plan, &piece, 0)),
                    reason,
                }))
            }
            Err(Error::Refused { .. }) => {
                // The first half is tried first: the first refused row wins.
                let half = n / 2;
                todo.push(piece.slice(half, n - half));
                todo.push(piece.slice(0, half));
            }
            Err(e) => return Err(e),
        }
    }
    Ok(None)
}
