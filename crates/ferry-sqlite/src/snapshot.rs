//! One snapshot for every reader of a run.
//!
//! A SQLite read transaction sees the database as of its first read, and
//! no other connection can join it (the bundled library has no
//! `sqlite3_snapshot_open`). So the run's snapshot is a set of connections,
//! each inside a read transaction, lent to range readers one at a time
//! ([`SqliteSnapshot`]), and what must be proven is that they all began at
//! one instant:
//!
//! 1. A monitor connection reads `PRAGMA data_version`, the readers begin
//!    their transactions, the monitor reads it again. The value changes
//!    when any other connection commits, so equal values mean no commit
//!    fell between the first reader and the last: they all see the same
//!    state. Unequal ones (the file was written meanwhile) are retried a
//!    few times.
//! 2. When that cannot be proven, one connection reads every range, one
//!    after another: the copy is still one snapshot, only slower, and the
//!    summary says so.
//!
//! In rollback-journal mode each reader's shared lock keeps writers from
//! committing until the copy ends; in WAL mode writers go on and the WAL
//! grows until the readers finish (checkpoints cannot pass them).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use ferry_core::range::{SnapshotConsistency, SnapshotInfo, SnapshotOptions};
use ferry_core::{Error, Result};
use rusqlite::Connection;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::ctx;
use crate::{blocking, SqliteAdapter};

const MATCH_ATTEMPTS: usize = 5;

/// Connections inside read transactions opened at one instant, lent to
/// readers one at a time.
pub struct SqliteSnapshot {
    pool: Arc<Pool>,
}

pub(crate) struct Pool {
    idle: Mutex<Vec<Connection>>,
    permits: Arc<Semaphore>,
    live: AtomicUsize,
}

/// A connection borrowed from the snapshot; give it back with
/// [`Pool::give_back`], or [`Pool::discard`] it after an error.
pub(crate) struct Lent {
    pub conn: Connection,
    permit: OwnedSemaphorePermit,
}

impl Pool {
    /// Returns a connection whose transaction is still good.
    pub fn give_back(&self, lent: Lent) {
        if let Ok(mut idle) = self.idle.lock() {
            idle.push(lent.conn);
        }
        drop(lent.permit);
    }

    /// Forgets a connection that failed; with none left, waiting readers
    /// fail instead of hanging.
    pub fn discard(&self, lent: Lent) {
        lent.permit.forget();
        drop(lent.conn);
        if self.live.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.permits.close();
        }
    }
}

impl SqliteSnapshot {
    fn new(conns: Vec<Connection>) -> Self {
        let n = conns.len();
        SqliteSnapshot {
            pool: Arc::new(Pool {
                idle: Mutex::new(conns),
                permits: Arc::new(Semaphore::new(n)),
                live: AtomicUsize::new(n),
            }),
        }
    }

    /// Waits for an idle connection, to read `table`.
    pub(crate) async fn borrow(&self, table: &str) -> Result<(Arc<Pool>, Lent)> {
        let permit = self
            .pool
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| Error::SnapshotLost {
                table: table.to_string(),
            })?;
        let conn = self
            .pool
            .idle
            .lock()
            .map_err(|_| Error::Bug("snapshot pool poisoned".into()))?
            .pop()
            .ok_or_else(|| Error::Bug("snapshot pool empty under a permit".into()))?;
        Ok((self.pool.clone(), Lent { conn, permit }))
    }
}

/// Begins a read transaction and takes its snapshot (the first read).
pub(crate) fn begin_read(conn: &Connection) -> Result<()> {
    conn.execute_batch("BEGIN DEFERRED")
        .and_then(|()| conn.query_row("SELECT count(*) FROM sqlite_schema", [], |_| Ok(())))
        .map_err(ctx("starting the source snapshot"))
}

fn data_version(conn: &Connection) -> Result<i64> {
    conn.query_row("PRAGMA data_version", [], |r| r.get(0))
        .map_err(ctx("reading the source's data version"))
}

impl SqliteAdapter {
    pub(crate) async fn take_snapshot(
        &self,
        options: &SnapshotOptions,
    ) -> Result<(SqliteSnapshot, SnapshotInfo)> {
        let n = options.sessions.max(1);
        let me = self.clone();
        blocking(move || {
            if n > 1 {
                let monitor = me.open_read()?;
                for _ in 0..MATCH_ATTEMPTS {
                    let before = data_version(&monitor)?;
                    let mut conns = Vec::with_capacity(n);
                    for _ in 0..n {
                        let c = me.open_read()?;
                        begin_read(&c)?;
                        conns.push(c);
                    }
                    if data_version(&monitor)? == before {
                        let info = SnapshotInfo {
                            consistency: SnapshotConsistency::Exact,
                            position: None,
                            method: format!(
                                "{n} read transactions opened while no write committed \
                                 (PRAGMA data_version unchanged)"
                            ),
                        };
                        return Ok((SqliteSnapshot::new(conns), info));
                    }
                }
            }
            let c = me.open_read()?;
            begin_read(&c)?;
            let method = if n > 1 {
                "one read transaction: the source was written while readers opened, so ranges \
                 are read one after another from one connection"
            } else {
                "one read transaction"
            };
            Ok((
                SqliteSnapshot::new(vec![c]),
                SnapshotInfo {
                    consistency: SnapshotConsistency::Exact,
                    position: None,
                    method: method.into(),
                },
            ))
        })
        .await
    }
}
