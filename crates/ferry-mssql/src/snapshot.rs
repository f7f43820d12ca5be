//! The run's reading sessions, and how consistent they are.
//!
//! SQL Server cannot share one snapshot between sessions (there is no
//! exported snapshot, and no lock that opens many transactions at one
//! instant), so [`CAPABILITIES`](crate::CAPABILITIES) says
//! `shared_snapshot: false` and the run says per session:
//!
//! - when the database allows snapshot isolation
//!   (`ALLOW_SNAPSHOT_ISOLATION ON`), each session runs one `SNAPSHOT`
//!   transaction, whose instant is fixed by its first read. One session
//!   reads every range from one instant ([`SnapshotConsistency::Exact`]);
//!   several sessions each have their own, so two ranges may differ by
//!   writes committed in between ([`SnapshotConsistency::PerSession`]);
//! - otherwise each range is read under `READ COMMITTED` (statement-
//!   consistent when `READ_COMMITTED_SNAPSHOT` is on, else with shared
//!   locks released as the scan goes), and the run says so.
//!
//! The sessions are opened at the start and lent to range readers one at a
//! time ([`MssqlSnapshot::borrow`]), like MySQL's.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use ferry_core::range::{SnapshotConsistency, SnapshotInfo, SnapshotOptions};
use ferry_core::{Error, Result};
use tokio::sync::{Semaphore, SemaphorePermit};

use crate::catalog::{int, rows};
use crate::error::ctx;
use crate::{close, simple, Client, MssqlAdapter};

/// What the database allows for reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Isolation {
    /// `ALLOW_SNAPSHOT_ISOLATION ON`.
    pub snapshot: bool,
    /// `READ_COMMITTED_SNAPSHOT ON`.
    pub rcsi: bool,
}

impl Isolation {
    /// The statement that opens a reading transaction.
    pub fn begin_sql(self) -> &'static str {
        if self.snapshot {
            "SET TRANSACTION ISOLATION LEVEL SNAPSHOT; BEGIN TRANSACTION"
        } else {
            "SET TRANSACTION ISOLATION LEVEL READ COMMITTED; BEGIN TRANSACTION"
        }
    }
}

/// Reads the database's isolation options.
pub async fn isolation(client: &mut Client) -> Result<Isolation> {
    let r = rows(
        client,
        "SELECT snapshot_isolation_state, is_read_committed_snapshot_on FROM sys.databases \
         WHERE database_id = DB_ID()",
        &[],
    )
    .await
    .map_err(ctx("reading the database's isolation options"))?;
    let row = r.first();
    Ok(Isolation {
        snapshot: row.and_then(|r| int(&r[0])) == Some(1),
        rcsi: row.and_then(|r| int(&r[1])) == Some(1),
    })
}

/// Sessions inside their reading transactions, lent to readers one at a time.
pub struct MssqlSnapshot {
    idle: Mutex<Vec<Client>>,
    permits: Semaphore,
    live: AtomicUsize,
    pub isolation: Isolation,
}

/// A session borrowed from a [`MssqlSnapshot`].
pub struct Lent<'a> {
    pub client: Client,
    permit: SemaphorePermit<'a>,
}

impl MssqlSnapshot {
    fn new(clients: Vec<Client>, isolation: Isolation) -> Self {
        let n = clients.len();
        MssqlSnapshot {
            idle: Mutex::new(clients),
            permits: Semaphore::new(n),
            live: AtomicUsize::new(n),
            isolation,
        }
    }

    /// Waits for an idle session; when every session was lost, the
    /// snapshot is gone ([`Error::SnapshotLost`]).
    pub async fn borrow(&self, table: &str) -> Result<Lent<'_>> {
        let permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| Error::SnapshotLost {
                table: table.to_string(),
            })?;
        let client = self
            .idle
            .lock()
            .map_err(|_| Error::Bug("snapshot pool poisoned".into()))?
            .pop()
            .ok_or_else(|| Error::Bug("snapshot pool empty under a permit".into()))?;
        Ok(Lent { client, permit })
    }

    /// Returns a clean session (its results read to the end) to the pool.
    pub fn give_back(&self, lent: Lent<'_>) {
        if let Ok(mut idle) = self.idle.lock() {
            idle.push(lent.client);
        }
        drop(lent.permit);
    }

    /// Forgets a session that cannot be reused; when none is left, waiting
    /// readers fail instead of hanging.
    pub async fn discard(&self, lent: Lent<'_>) {
        lent.permit.forget();
        close(lent.client).await;
        if self.live.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.permits.close();
        }
    }
}

/// How a run's sessions read, in words for the summary.
pub fn describe(isolation: Isolation, sessions: usize) -> SnapshotInfo {
    let (consistency, method) = match (isolation.snapshot, sessions) {
        (true, 1) => (
            SnapshotConsistency::Exact,
            "one SNAPSHOT-isolation session".to_string(),
        ),
        (true, n) => (
            SnapshotConsistency::PerSession,
            format!(
                "{n} SNAPSHOT-isolation sessions, each at its own instant (SQL Server cannot \
                 share a snapshot between sessions): ranges may differ by writes committed \
                 in between"
            ),
        ),
        (false, n) => (
            SnapshotConsistency::PerSession,
            format!(
                "{n} READ COMMITTED session(s){}: the database does not allow snapshot \
                 isolation (ALTER DATABASE … SET ALLOW_SNAPSHOT_ISOLATION ON gives each \
                 session one instant)",
                if isolation.rcsi {
                    ", each statement at its own instant (READ_COMMITTED_SNAPSHOT)"
                } else {
                    ", with locks"
                }
            ),
        ),
    };
    SnapshotInfo {
        consistency,
        position: None,
        method,
    }
}

impl MssqlAdapter {
    pub(crate) async fn take_snapshot(
        &self,
        options: &SnapshotOptions,
    ) -> Result<(MssqlSnapshot, SnapshotInfo)> {
        let n = options.sessions.max(1);
        let mut first = self.connect().await?;
        let iso = isolation(&mut first).await?;
        let mut clients = vec![first];
        for _ in 1..n {
            clients.push(self.connect().await?);
        }
        for c in clients.iter_mut() {
            simple(c, iso.begin_sql())
                .await
                .map_err(ctx("starting the source snapshot"))?;
        }
        Ok((MssqlSnapshot::new(clients, iso), describe(iso, n)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_run_says_how_consistent_its_sessions_are() {
        let snap = Isolation {
            snapshot: true,
            rcsi: false,
        };
        assert_eq!(describe(snap, 1).consistency, SnapshotConsistency::Exact);
        let many = describe(snap, 4);
        assert_eq!(many.consistency, SnapshotConsistency::PerSession);
        assert!(many.method.contains("own instant"), "{}", many.method);
        let rc = describe(
            Isolation {
                snapshot: false,
                rcsi: true,
            },
            1,
        );
        assert_eq!(rc.consistency, SnapshotConsistency::PerSession);
        assert!(
            rc.method.contains("ALLOW_SNAPSHOT_ISOLATION"),
            "{}",
            rc.method
        );
        assert!(snap.begin_sql().contains("SNAPSHOT"));
    }
}
