//! One snapshot for every reader of a run.
//!
//! A plain copy exports a snapshot from a coordinator transaction
//! (`pg_export_snapshot()`) that stays open until the [`PgSnapshot`] is
//! dropped; each range reader imports it with `SET TRANSACTION SNAPSHOT`.
//! The WAL position printed with it is informational: a replication slot
//! created later cannot replay from before its own creation, so it is no
//! start for a sync.
//!
//! A copy that a change-data-capture sync will follow asks for a slot
//! (`--cdc-slot NAME`): ferry opens a replication connection and runs
//! `CREATE_REPLICATION_SLOT NAME LOGICAL pgoutput (SNAPSHOT 'export')`
//! (see [`crate::replication`]). The slot's `consistent_point` is exactly
//! the exported snapshot, so decoding the slot from there yields every
//! change after the copy and none before it. The replication connection
//! must stay idle while the snapshot is in use, and is held until drop.

use ferry_core::range::{SnapshotConsistency, SnapshotInfo, SnapshotOptions, SnapshotPosition};
use ferry_core::Result;

use crate::error::ctx;
use crate::replication::ReplicationConn;
use crate::PgAdapter;

/// An exported snapshot, valid while this value lives.
pub struct PgSnapshot {
    id: String,
    /// Keeps the exporting transaction (or replication session) open.
    _holder: Holder,
}

#[allow(dead_code)] // the slot's session is held only to keep it open
enum Holder {
    Transaction(tokio_postgres::Client),
    Slot(ReplicationConn),
}

impl PgSnapshot {
    /// The identifier readers pass to `SET TRANSACTION SNAPSHOT`.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Whether the exporting session is known to be gone (a restarted
    /// server forgets every snapshot, and may hand the same identifier to
    /// another session's export later, so a reader must not import it).
    /// A replication session is not checked here; importing its snapshot
    /// then fails with SQLSTATE 22023, which the reader reports the same way.
    pub fn is_lost(&self) -> bool {
        match &self._holder {
            Holder::Transaction(client) => client.is_closed(),
            Holder::Slot(_) => false,
        }
    }
}

impl PgAdapter {
    pub(crate) async fn take_snapshot(
        &self,
        options: &SnapshotOptions,
    ) -> Result<(PgSnapshot, SnapshotInfo)> {
        if let Some(slot) = &options.cdc_slot {
            let mut conn = ReplicationConn::connect(self.url()).await?;
            let created = conn.create_logical_slot(slot).await?;
            let info = SnapshotInfo {
                consistency: SnapshotConsistency::Exact,
                position: Some(SnapshotPosition::PgSlot {
                    slot: slot.clone(),
                    consistent_point: created.consistent_point,
                    snapshot: created.snapshot.clone(),
                }),
                method: format!("logical slot {slot} (pgoutput) with its exported snapshot"),
            };
            return Ok((
                PgSnapshot {
                    id: created.snapshot,
                    _holder: Holder::Slot(conn),
                },
                info,
            ));
        }
        let client = self.connect().await?;
        client
            .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .await
            .map_err(ctx("starting the snapshot transaction"))?;
        let row = client
            .query_one(
                "SELECT pg_export_snapshot(), \
                 CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() \
                 ELSE pg_current_wal_lsn() END::text",
                &[],
            )
            .await
            .map_err(ctx("exporting the snapshot"))?;
        let id: String = row.get(0);
        let wal_lsn: Option<String> = row.get(1);
        let info = SnapshotInfo {
            consistency: SnapshotConsistency::Exact,
            position: Some(SnapshotPosition::PgExported {
                snapshot: id.clone(),
                wal_lsn: wal_lsn.unwrap_or_default(),
            }),
            method: "exported snapshot (pg_export_snapshot); no slot".into(),
        };
        Ok((
            PgSnapshot {
                id,
                _holder: Holder::Transaction(client),
            },
            info,
        ))
    }
}
