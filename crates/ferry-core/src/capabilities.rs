//! What an engine can do, declared by its adapter.
//!
//! The engine and the binary never ask "is this PostgreSQL?": they ask a
//! capability. A new engine declares its own, and every flag check and every
//! "only where the engine can" branch follows without an edit elsewhere.

use serde::Serialize;

/// How an engine streams the changes committed after a copy's snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeStreamKind {
    /// A logical replication slot decoded with pgoutput (PostgreSQL).
    LogicalSlot,
    /// ROW-format binary log events from a file/position or GTID (MySQL/MariaDB).
    RowBinlog,
}

impl ChangeStreamKind {
    /// Whether the source itself keeps the stream's place and holds its log
    /// for it (a PostgreSQL slot): a first sync starts where the slot
    /// stands, and the slot must be dropped when the sync is done. Without
    /// (a MySQL binary log, kept by the server for its own reasons), a first
    /// sync starts at the position the copy recorded, and nothing on the
    /// source is the stream's to drop.
    pub fn held_by_source(self) -> bool {
        matches!(self, ChangeStreamKind::LogicalSlot)
    }
}

/// An engine's declared abilities. Each field's doc says what a `true`
/// promises; `false` means the engine refuses or degrades as documented.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Capabilities {
    /// Many sessions can import one snapshot without locking writers
    /// (PostgreSQL's exported snapshots): ranges read in parallel see one instant.
    pub shared_snapshot: bool,
    /// A brief global read lock can make many sessions open their snapshots
    /// at one instant (MySQL `FLUSH TABLES WITH READ LOCK`): accepts `--lock-source`.
    pub lock_for_snapshot: bool,
    /// The copy's snapshot can be taken from a new logical replication slot,
    /// so a later sync starts exactly there. (`--cdc-slot` is taken by every
    /// engine with a [`change_stream`](Self::change_stream): without a slot,
    /// the copy records its snapshot's log position under that name.)
    pub snapshot_slot: bool,
    /// A table without a primary key can still be split by physical blocks
    /// (PostgreSQL ctid ranges); such ranges are parallel but neither
    /// resumable nor verifiable one by one.
    pub block_ranges: bool,
    /// How changes after the snapshot can be streamed, if at all.
    pub change_stream: Option<ChangeStreamKind>,
    /// A database holds several schemas (PostgreSQL); without, the database
    /// itself is the namespace (MySQL).
    pub schemas: bool,
    /// DDL runs inside transactions and rolls back (PostgreSQL), so `ferry
    /// plan` proves its statements in a transaction it rolls back; without,
    /// it proves them in a scratch namespace it drops afterwards.
    pub transactional_ddl: bool,
    /// Several sessions may write one table at once; `false` means one
    /// writer (SQLite), so the engine serialises range writes.
    pub concurrent_writers: bool,
    /// `ferry cutover` can drive this engine as blue or green: it has a
    /// write fence for application roles, the probes the gates read
    /// (long and prepared transactions, fence bypasses), a marker table,
    /// generators to raise, and a change stream to arm the way back.
    pub cutover: bool,
}
