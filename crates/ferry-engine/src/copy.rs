//! Copying planned tables.
//!
//! Per table: reader → bounded channel → forwarder (counts, reports) →
//! bounded channel → writer. The forwarder sits in the coordinating task so
//! that a failed read can *abort* the writer before its input channel closes:
//! a writer commits when its channel closes cleanly, and a half-read table
//! must never be committed.

use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;
use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinSet;

use ferry_core::error::chain_line;
use ferry_core::event::{Event, EventSink, TableSummary};
use ferry_core::{Error, IfExists, Result, TablePlan, TableRef};

use crate::Adapter;

/// How a copy runs.
#[derive(Debug, Clone)]
pub struct CopyOptions {
    pub if_exists: IfExists,
    /// Rows per Arrow batch.
    pub batch_rows: usize,
    /// Batches in flight between reader and writer (bounds memory).
    pub channel_batches: usize,
    /// Tables copied at once.
    pub parallel_tables: usize,
}

impl Default for CopyOptions {
    fn default() -> Self {
        CopyOptions {
            if_exists: IfExists::Fail,
            batch_rows: 8192,
            channel_batches: 4,
            parallel_tables: 2,
        }
    }
}

/// A table that did not copy, and why (one line, no values, no passwords).
#[derive(Debug, Clone, Serialize)]
pub struct TableFailure {
    pub table: TableRef,
    pub error: String,
}

/// The outcome of a run.
#[derive(Debug, Clone, Serialize, Default)]
pub struct CopyReport {
    pub tables: Vec<TableSummary>,
    pub failed: Vec<TableFailure>,
}

impl CopyReport {
    pub fn rows_read(&self) -> u64 {
        self.tables.iter().map(|t| t.rows_read).sum()
    }
    pub fn rows_written(&self) -> u64 {
        self.tables.iter().map(|t| t.rows_written).sum()
    }
}

/// Prepares every target table, then copies the tables.
///
/// Preparing all targets first means a plan or DDL problem on the last table
/// stops the run before any row moves. Tables then fail independently: the
/// report lists each failure, and the caller turns any into a non-zero exit.
pub async fn copy(
    source: Arc<Adapter>,
    target: Arc<Adapter>,
    plans: Vec<TablePlan>,
    options: &CopyOptions,
    events: EventSink,
) -> Result<CopyReport> {
    for plan in &plans {
        target.prepare(plan, options.if_exists).await?;
    }
    let permits = Arc::new(Semaphore::new(options.parallel_tables.max(1)));
    let mut set = JoinSet::new();
    for plan in plans {
        let (source, target, events, options, permits) = (
            source.clone(),
            target.clone(),
            events.clone(),
            options.clone(),
            permits.clone(),
        );
        set.spawn(async move {
            let _permit = permits.acquire_owned().await;
            let table = plan.source.clone();
            let result = copy_table(&source, &target, Arc::new(plan), &options, &events).await;
            (table, result)
        });
    }
    let mut report = CopyReport::default();
    while let Some(joined) = set.join_next().await {
        let (table, result) = joined.map_err(|e| Error::Bug(format!("copy task: {e}")))?;
        match result {
            Ok(summary) => {
                events.send(Event::TableFinished {
                    summary: summary.clone(),
                });
                report.tables.push(summary);
            }
            Err(e) => {
                let error = chain_line(&e);
                events.send(Event::TableFailed {
                    table: table.clone(),
                    error: error.clone(),
                });
                report.failed.push(TableFailure { table, error });
            }
        }
    }
    report.tables.sort_by_key(|t| t.table.to_string());
    report.failed.sort_by_key(|t| t.table.to_string());
    Ok(report)
}

async fn copy_table(
    source: &Arc<Adapter>,
    target: &Arc<Adapter>,
    plan: Arc<TablePlan>,
    options: &CopyOptions,
    events: &EventSink,
) -> Result<TableSummary> {
    let started = Instant::now();
    events.send(Event::TableStarted {
        table: plan.source.clone(),
        estimated_rows: plan.estimated_rows,
    });
    let cap = options.channel_batches.max(1);
    let (read_tx, mut read_rx) = mpsc::channel(cap);
    let (write_tx, write_rx) = mpsc::channel(cap);
    let reader = {
        let (source, plan, batch_rows) = (source.clone(), plan.clone(), options.batch_rows);
        tokio::spawn(async move { source.read_table(&plan, batch_rows, read_tx).await })
    };
    let writer = {
        let (target, plan) = (target.clone(), plan.clone());
        tokio::spawn(async move { target.write_table(&plan, write_rx).await })
    };

    let mut forwarded: u64 = 0;
    let mut writer_gone = false;
    while let Some(batch) = read_rx.recv().await {
        let rows = batch.num_rows() as u64;
        if write_tx.send(batch).await.is_err() {
            writer_gone = true;
            break;
        }
        forwarded += rows;
        events.send(Event::RowsWritten {
            table: plan.source.clone(),
            rows,
        });
    }
    // Unblocks a reader waiting on a full channel when the writer failed.
    drop(read_rx);
    let read = reader
        .await
        .map_err(|e| Error::Bug(format!("reader task: {e}")))?;
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
    if rows_read != forwarded || receipt.rows_written != rows_read {
        return Err(Error::Table {
            table: plan.source.to_string(),
            problem: format!(
                "row counts do not reconcile: read {rows_read}, forwarded {forwarded}, written {}",
                receipt.rows_written
            ),
        });
    }
    let seconds = started.elapsed().as_secs_f64();
    Ok(TableSummary {
        table: plan.source.clone(),
        target: plan.target.clone(),
        rows_read,
        rows_written: receipt.rows_written,
        rows_rejected: 0,
        seconds,
        rows_per_second: if seconds > 0.0 {
            rows_read as f64 / seconds
        } else {
            0.0
        },
    })
}
