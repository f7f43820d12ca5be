//! PostgreSQL as a change source for `ferry sync`: a publication per slot,
//! the replica-identity pre-check, the replication stream and the pgoutput
//! decoder that turns it into [`SourceTxn`](ferry_core::change::SourceTxn)s.
//!
//! The publication is created *before* the slot (by `ferry copy
//! --cdc-slot`): pgoutput reads publication membership with the historic
//! snapshot of each change, so a table added to a publication later would
//! silently miss the changes committed in between.

pub mod pgoutput;
mod source;
pub mod stream;

pub use source::PgChangeSource;

use ferry_core::{Error, Result, TablePlan};

use crate::error::ctx;
use crate::{qualified, quote_ident, PgAdapter};

/// The publication ferry owns for `slot`: named like the slot, so an
/// operator who finds one finds the other.
pub fn publication_name(slot: &str) -> String {
    slot.to_string()
}

/// Why `plan`'s changes cannot be streamed, as the one line the user sees:
/// the table, why, and the fix. `identity` is `pg_class.relreplident`.
pub fn identity_problem(plan: &TablePlan, identity: u8, has_pk: bool) -> Option<String> {
    let table = plan.source.to_string();
    if plan.primary_key.is_empty() || identity == b'n' || (identity == b'd' && !has_pk) {
        return Some(format!(
            "table {table} has no primary key (or REPLICA IDENTITY NOTHING): its changes cannot \
             be applied by key, and once published its UPDATEs and DELETEs would fail on the \
             source; add a primary key (ALTER TABLE {table} ADD PRIMARY KEY (…)) or leave the \
             table out of the job (--exclude {table})"
        ));
    }
    None
}

impl PgAdapter {
    /// Before `ferry copy --cdc-slot` creates its slot: refuses a table whose
    /// changes could not be applied by key, then creates (or re-targets) the
    /// slot's publication for exactly the job's tables.
    pub async fn prepare_change_stream(&self, slot: &str, plans: &[TablePlan]) -> Result<()> {
        let client = self.connect().await?;
        for plan in plans {
            let row = client
                .query_one(
                    "SELECT c.relreplident::text, EXISTS (SELECT 1 FROM pg_catalog.pg_index i \
                     WHERE i.indrelid = c.oid AND i.indisprimary) \
                     FROM pg_catalog.pg_class c WHERE c.oid = to_regclass($1)",
                    &[&qualified(&plan.source)],
                )
                .await
                .map_err(ctx(format!(
                    "reading the replica identity of table {}",
                    plan.source
                )))?;
            let identity: String = row.get(0);
            let has_pk: bool = row.get(1);
            if let Some(problem) =
                identity_problem(plan, identity.bytes().next().unwrap_or(b'd'), has_pk)
            {
                return Err(Error::Invalid(problem));
            }
        }
        let name = quote_ident(&publication_name(slot));
        let tables: Vec<String> = plans.iter().map(|p| qualified(&p.source)).collect();
        let exists: bool = client
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_publication WHERE pubname = $1)",
                &[&publication_name(slot)],
            )
            .await
            .map_err(ctx("looking up the publication"))?
            .get(0);
        let sql = match (exists, tables.is_empty()) {
            (false, true) => format!("CREATE PUBLICATION {name}"),
            (false, false) => format!("CREATE PUBLICATION {name} FOR TABLE {}", tables.join(", ")),
            (true, _) => format!("ALTER PUBLICATION {name} SET TABLE {}", tables.join(", ")),
        };
        client
            .batch_execute(&sql)
            .await
            .map_err(ctx(format!("creating publication {slot}")))
    }

    /// The source's current WAL position (`--until now`): the insert
    /// position, which every commit so far lies before. (The write position
    /// `pg_current_wal_lsn()` lags behind commits made with
    /// `synchronous_commit = off`, so a sync up to it would stop early.)
    pub async fn current_position(&self) -> Result<(String, u64)> {
        let client = self.connect().await?;
        let lsn: String = client
            .query_one("SELECT pg_current_wal_insert_lsn()::text", &[])
            .await
            .map_err(ctx("reading the current WAL position"))?
            .get(0);
        let num =
            pgoutput::parse_lsn(&lsn).ok_or_else(|| Error::Bug(format!("unreadable LSN {lsn}")))?;
        Ok((lsn, num))
    }

    /// Drops the slot and its publication (when the job does not keep them).
    /// A slot still held by a walsender (one ending, or a killed sync's the
    /// server has not reaped yet) is waited for, ten seconds at most.
    pub async fn drop_change_stream(&self, slot: &str) -> Result<()> {
        let client = self.connect().await?;
        for _ in 0..100 {
            let held = client
                .query_opt(
                    "SELECT active FROM pg_catalog.pg_replication_slots WHERE slot_name = $1",
                    &[&slot],
                )
                .await
                .map_err(ctx(format!("dropping replication slot {slot}")))?
                .is_some_and(|r| r.get::<_, bool>(0));
            if !held {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        client
            .execute(
                "SELECT pg_drop_replication_slot(slot_name) FROM pg_catalog.pg_replication_slots \
                 WHERE slot_name = $1",
                &[&slot],
            )
            .await
            .map_err(ctx(format!("dropping replication slot {slot}")))?;
        client
            .batch_execute(&format!(
                "DROP PUBLICATION IF EXISTS {}",
                quote_ident(&publication_name(slot))
            ))
            .await
            .map_err(ctx(format!("dropping publication {slot}")))
    }
}
