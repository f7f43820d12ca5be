//! One snapshot for every reader of a run.
//!
//! MySQL cannot export a snapshot to another session, so the snapshot *is*
//! a set of sessions, each inside a `START TRANSACTION WITH CONSISTENT
//! SNAPSHOT`, opened at one instant and lent to range readers one at a time
//! ([`MySqlSnapshot`]). How "one instant" is reached:
//!
//! 1. MariaDB with the binary log on, no lock: every session opens its
//!    transaction and reads `binlog_snapshot_file`/`binlog_snapshot_position`,
//!    which MariaDB fixes atomically with the snapshot. Equal positions in
//!    every session mean no binlogged commit fell between them: they see the
//!    same data, and that position (with `BINLOG_GTID_POS` of it) is where a
//!    sync starts. Unequal positions: roll back and try again, a few times.
//! 2. When the user allows it (`--lock-source`): a brief `FLUSH TABLES WITH
//!    READ LOCK` while all sessions open their transactions and the
//!    coordinator reads the binlog position, then `UNLOCK TABLES`. The only
//!    way on upstream MySQL.
//! 3. Otherwise: sessions open one after another. Each range is internally
//!    consistent, but two ranges may differ by writes committed in between;
//!    the summary says so ([`SnapshotConsistency::PerSession`]).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use ferry_core::range::{SnapshotConsistency, SnapshotInfo, SnapshotOptions, SnapshotPosition};
use ferry_core::{Error, Result};
use futures_util::future::join_all;
use mysql_async::prelude::Queryable;
use mysql_async::Conn;
use tokio::sync::{Semaphore, SemaphorePermit};

use crate::error::ctx;
use crate::{disconnect, Flavor, MySqlAdapter};

const MATCH_ATTEMPTS: usize = 5;
const START: &str = "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY";

/// Sessions inside one consistent snapshot, lent to readers one at a time.
pub struct MySqlSnapshot {
    idle: Mutex<Vec<Conn>>,
    permits: Semaphore,
    live: AtomicUsize,
}

/// A session borrowed from a [`MySqlSnapshot`]. Give it back with
/// [`MySqlSnapshot::give_back`] when the session is clean (no unread
/// result); drop it otherwise, and the snapshot has one session fewer.
pub struct Lent<'a> {
    pub conn: Conn,
    permit: SemaphorePermit<'a>,
}

impl MySqlSnapshot {
    fn new(conns: Vec<Conn>) -> Self {
        let n = conns.len();
        MySqlSnapshot {
            idle: Mutex::new(conns),
            permits: Semaphore::new(n),
            live: AtomicUsize::new(n),
        }
    }

    /// Waits for an idle session of the snapshot, to read `table`. When
    /// every session was lost (the source restarted, or they were killed)
    /// the snapshot is gone: [`Error::SnapshotLost`].
    pub async fn borrow(&self, table: &str) -> Result<Lent<'_>> {
        let permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| Error::SnapshotLost {
                table: table.to_string(),
            })?;
        let conn = self
            .idle
            .lock()
            .map_err(|_| Error::Bug("snapshot pool poisoned".into()))?
            .pop()
            .ok_or_else(|| Error::Bug("snapshot pool empty under a permit".into()))?;
        Ok(Lent { conn, permit })
    }

    /// Returns a clean session to the pool.
    pub fn give_back(&self, lent: Lent<'_>) {
        if let Ok(mut idle) = self.idle.lock() {
            idle.push(lent.conn);
        }
        drop(lent.permit);
    }

    /// Forgets a session that cannot be reused (an error or an unread
    /// result). When none is left, waiting readers fail instead of hanging.
    pub async fn discard(&self, lent: Lent<'_>) {
        lent.permit.forget();
        disconnect(lent.conn).await;
        if self.live.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.permits.close();
        }
    }
}

/// Binlog coordinates as `SHOW STATUS LIKE 'binlog_snapshot_%'` gives them.
async fn snapshot_coordinates(conn: &mut Conn) -> Result<Option<(String, u64)>> {
    let rows: Vec<(String, String)> = conn
        .query("SHOW STATUS LIKE 'binlog_snapshot_%'")
        .await
        .map_err(ctx("reading the snapshot's binlog position"))?;
    let mut file = None;
    let mut pos = None;
    for (name, value) in rows {
        match name.to_ascii_lowercase().as_str() {
            "binlog_snapshot_file" if !value.is_empty() => file = Some(value),
            "binlog_snapshot_position" => pos = value.parse::<u64>().ok(),
            _ => {}
        }
    }
    Ok(file.zip(pos))
}

async fn begin(conn: &mut Conn) -> Result<()> {
    conn.query_drop("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        .await
        .map_err(ctx("starting the source snapshot"))?;
    conn.query_drop(START)
        .await
        .map_err(ctx("starting the source snapshot"))
}

impl MySqlAdapter {
    pub(crate) async fn take_snapshot(
        &self,
        options: &SnapshotOptions,
    ) -> Result<(MySqlSnapshot, SnapshotInfo)> {
        let n = options.sessions.max(1);
        let (first, flavor) = self.connect_with_flavor().await?;
        let mut conns = vec![first];
        for _ in 1..n {
            conns.push(self.connect().await?);
        }

        if flavor == Flavor::MariaDb {
            for _ in 0..MATCH_ATTEMPTS {
                // Concurrently, so that the sessions open as close together as can be.
                join_all(conns.iter_mut().map(begin))
                    .await
                    .into_iter()
                    .collect::<Result<Vec<()>>>()?;
                let positions = join_all(conns.iter_mut().map(snapshot_coordinates))
                    .await
                    .into_iter()
                    .collect::<Result<Vec<_>>>()?;
                let Some(Some((file, pos))) = positions.first().cloned() else {
                    break; // binlog off: positions prove nothing
                };
                if positions
                    .iter()
                    .all(|p| p.as_ref() == Some(&(file.clone(), pos)))
                {
                    let gtid: Option<Option<String>> = conns[0]
                        .exec_first("SELECT BINLOG_GTID_POS(?, ?)", (file.as_str(), pos))
                        .await
                        .map_err(ctx("reading the snapshot's GTID position"))?;
                    let info = SnapshotInfo {
                        consistency: SnapshotConsistency::Exact,
                        position: Some(SnapshotPosition::MySqlBinlog {
                            file: Some(file),
                            position: Some(pos),
                            gtid: gtid.flatten(),
                        }),
                        method: format!(
                            "MariaDB consistent snapshot in {n} sessions, binlog positions matched"
                        ),
                    };
                    return Ok((MySqlSnapshot::new(conns), info));
                }
                for c in conns.iter_mut() {
                    c.query_drop("ROLLBACK")
                        .await
                        .map_err(ctx("restarting the source snapshot"))?;
                }
            }
            // Any transaction left open by a failed attempt ends here.
            for c in conns.iter_mut() {
                c.query_drop("ROLLBACK")
                    .await
                    .map_err(ctx("restarting the source snapshot"))?;
            }
        }

        if options.allow_lock {
            let mut coordinator = self.connect().await?;
            let started = Instant::now();
            coordinator
                .query_drop("FLUSH TABLES WITH READ LOCK")
                .await
                .map_err(ctx("locking the source (FLUSH TABLES WITH READ LOCK)"))?;
            let opened = async {
                for c in conns.iter_mut() {
                    begin(c).await?;
                }
                binlog_position(&mut coordinator, flavor).await
            }
            .await;
            let unlocked = coordinator.query_drop("UNLOCK TABLES").await;
            disconnect(coordinator).await;
            let position = opened?;
            unlocked.map_err(ctx("unlocking the source"))?;
            let info = SnapshotInfo {
                consistency: SnapshotConsistency::Exact,
                position,
                method: format!(
                    "FLUSH TABLES WITH READ LOCK held {} ms while {n} sessions opened",
                    started.elapsed().as_millis()
                ),
            };
            return Ok((MySqlSnapshot::new(conns), info));
        }

        for c in conns.iter_mut() {
            begin(c).await?;
        }
        let info = SnapshotInfo {
            consistency: if n == 1 {
                SnapshotConsistency::Exact
            } else {
                SnapshotConsistency::PerSession
            },
            position: None,
            method: if n == 1 {
                "one consistent-snapshot session".into()
            } else {
                format!(
                    "{n} consistent-snapshot sessions opened one after another without a lock: \
                     ranges may differ by writes committed in between \
                     (use --lock-source for one instant)"
                )
            },
        };
        Ok((MySqlSnapshot::new(conns), info))
    }
}

/// The binlog position under the global read lock.
async fn binlog_position(conn: &mut Conn, flavor: Flavor) -> Result<Option<SnapshotPosition>> {
    let row: Option<mysql_async::Row> = conn
        .query_first("SHOW MASTER STATUS")
        .await
        .map_err(ctx("reading the binlog position"))?;
    let Some(row) = row else {
        return Ok(None); // binlog off
    };
    let file: Option<String> = row.get(0);
    let position: Option<u64> = row.get(1);
    let gtid: Option<Option<String>> = match flavor {
        Flavor::MariaDb => conn.query_first("SELECT @@gtid_binlog_pos").await,
        Flavor::MySql => conn.query_first("SELECT @@gtid_executed").await,
    }
    .map_err(ctx("reading the GTID position"))?;
    Ok(Some(SnapshotPosition::MySqlBinlog {
        file,
        position,
        gtid: gtid.flatten().filter(|g| !g.is_empty()),
    }))
}
