//! The shared store: a PostgreSQL database that many ferry processes use at
//! once. Claims are single statements (`SELECT … FOR UPDATE SKIP LOCKED`
//! inside an `UPDATE`), so workers never wait on each other's ranges.

use ferry_core::range::KeyRange;
use ferry_core::{DbUrl, Error, Result};
use ferry_pg::PgAdapter;
use tokio::sync::Mutex;
use tokio_postgres::Client;

use crate::{range_from_json, range_json, status_from, Claim, RunInfo, RunStart, StoredRange};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS ferry_runs (
    run_id text PRIMARY KEY,
    source text NOT NULL,
    target text NOT NULL,
    job text NOT NULL,
    status text NOT NULL,
    preexisting text,
    owner_pid integer,
    owner_start timestamptz,
    updated timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS ferry_ranges (
    run_id text NOT NULL,
    table_name text NOT NULL,
    idx integer NOT NULL,
    range_json text NOT NULL,
    status text NOT NULL,
    rows bigint NOT NULL DEFAULT 0,
    rejected bigint NOT NULL DEFAULT 0,
    attempts integer NOT NULL DEFAULT 0,
    owner_pid integer,
    owner_start timestamptz,
    updated timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (run_id, table_name, idx)
);
";

pub struct PgStore {
    adapter: PgAdapter,
    /// Claims, checkpoints: one session for the process's whole life, whose
    /// backend identifies this process's claims.
    client: Client,
    /// The setup transaction (holding the run row's lock), while it lasts.
    setup: Mutex<Option<Client>>,
}

fn err(context: &str) -> impl FnOnce(tokio_postgres::Error) -> Error + '_ {
    move |e| {
        let kind = ferry_pg::classify(&e);
        Error::query(format!("state store: {context}"), kind, e)
    }
}

fn count(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// The first key of the run setup advisory lock (the second is the run
/// id's hash); `open`'s table-creation lock uses the one-key form.
const SETUP_LOCK_CLASS: i32 = 730_514;

fn idx(v: usize) -> i32 {
    i32::try_from(v).unwrap_or(i32::MAX)
}

impl PgStore {
    pub async fn open(url: DbUrl) -> Result<PgStore> {
        let adapter = PgAdapter::new(url);
        let client = adapter.connect().await?;
        // Two processes creating the tables at once would race on the catalog.
        client
            .batch_execute(&format!(
                "BEGIN; SELECT pg_advisory_xact_lock(7305142915); {SCHEMA} COMMIT;"
            ))
            .await
            .map_err(err("creating tables"))?;
        Ok(PgStore {
            adapter,
            client,
            setup: Mutex::new(None),
        })
    }

    /// Setup is serialised by a session-level advisory lock on the run id
    /// (not only the run's row lock): it outlives the registration's commit
    /// (see [`commit_registration`](Self::commit_registration)), and the
    /// server releases it when the process dies.
    pub async fn begin_setup(&self, run: &RunInfo, restart_finished: bool) -> Result<RunStart> {
        let c = self.adapter.connect().await?;
        c.execute(
            "SELECT pg_advisory_lock($1, hashtext($2))",
            &[&SETUP_LOCK_CLASS, &run.run_id],
        )
        .await
        .map_err(err("waiting for the run's setup lock"))?;
        c.batch_execute("BEGIN")
            .await
            .map_err(err("starting setup"))?;
        let inserted = c
            .execute(
                "INSERT INTO ferry_runs (run_id, source, target, job, status) \
                 VALUES ($1, $2, $3, $4, 'setup') ON CONFLICT (run_id) DO NOTHING",
                &[&run.run_id, &run.source, &run.target, &run.job],
            )
            .await
            .map_err(err("registering the run"))?;
        // Waits while another process sets the run up.
        let row = c
            .query_one(
                "SELECT status FROM ferry_runs WHERE run_id = $1 FOR UPDATE",
                &[&run.run_id],
            )
            .await
            .map_err(err("locking the run"))?;
        let status: String = row.get(0);
        let start = if inserted == 1 {
            RunStart::New
        } else if status == "finished" && !restart_finished {
            RunStart::Finished
        } else if status == "finished" {
            c.execute("DELETE FROM ferry_ranges WHERE run_id = $1", &[&run.run_id])
                .await
                .map_err(err("resetting a finished run"))?;
            c.execute(
                "UPDATE ferry_runs SET status = 'setup', preexisting = NULL, updated = now() \
                 WHERE run_id = $1",
                &[&run.run_id],
            )
            .await
            .map_err(err("resetting a finished run"))?;
            RunStart::Finished
        } else {
            RunStart::Unfinished
        };
        *self.setup.lock().await = Some(c);
        Ok(start)
    }

    /// Commits the registration (the run's row, its pre-existing tables)
    /// before any target DDL: a process killed later in setup leaves a run
    /// whose next process resumes it instead of finding "its" tables and
    /// refusing them as pre-existing. The advisory lock keeps other
    /// processes waiting until [`end_setup`](Self::end_setup).
    pub async fn commit_registration(&self) -> Result<()> {
        let setup = self.setup.lock().await;
        let Some(c) = setup.as_ref() else {
            return Err(Error::Bug(
                "state store: commit_registration without begin_setup".into(),
            ));
        };
        c.batch_execute("COMMIT; BEGIN")
            .await
            .map_err(err("recording the run"))
    }

    pub async fn set_preexisting(&self, run_id: &str, json: &str) -> Result<()> {
        let setup = self.setup.lock().await;
        setup
            .as_ref()
            .unwrap_or(&self.client)
            .execute(
                "UPDATE ferry_runs SET preexisting = $2 WHERE run_id = $1",
                &[&run_id, &json],
            )
            .await
            .map_err(err("recording the run's tables"))?;
        Ok(())
    }

    pub async fn preexisting(&self, run_id: &str) -> Result<Option<String>> {
        let setup = self.setup.lock().await;
        let row = setup
            .as_ref()
            .unwrap_or(&self.client)
            .query_opt(
                "SELECT preexisting FROM ferry_runs WHERE run_id = $1",
                &[&run_id],
            )
            .await
            .map_err(err("reading the run's tables"))?;
        Ok(row.and_then(|r| r.get(0)))
    }

    pub async fn ranges(&self, run_id: &str, table: &str) -> Result<Vec<StoredRange>> {
        let setup = self.setup.lock().await;
        let c = setup.as_ref().unwrap_or(&self.client);
        let rows = c
            .query(
                "SELECT idx, range_json, status, rows, rejected FROM ferry_ranges \
                 WHERE run_id = $1 AND table_name = $2 ORDER BY idx",
                &[&run_id, &table],
            )
            .await
            .map_err(err("reading ranges"))?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            out.push(StoredRange {
                index: usize::try_from(r.get::<_, i32>(0)).unwrap_or_default(),
                range: range_from_json(table, r.get(1))?,
                status: status_from(table, r.get(2))?,
                rows: u64::try_from(r.get::<_, i64>(3)).unwrap_or_default(),
                rejected: u64::try_from(r.get::<_, i64>(4)).unwrap_or_default(),
            });
        }
        Ok(out)
    }

    pub async fn insert_ranges(
        &self,
        run_id: &str,
        table: &str,
        ranges: &[KeyRange],
    ) -> Result<()> {
        let setup = self.setup.lock().await;
        let c = setup.as_ref().unwrap_or(&self.client);
        for (i, r) in ranges.iter().enumerate() {
            c.execute(
                "INSERT INTO ferry_ranges (run_id, table_name, idx, range_json, status) \
                 VALUES ($1, $2, $3, $4, 'pending') ON CONFLICT DO NOTHING",
                &[&run_id, &table, &idx(i), &range_json(r)?],
            )
            .await
            .map_err(err("storing ranges"))?;
        }
        Ok(())
    }

    pub async fn reset_table(&self, run_id: &str, table: &str) -> Result<()> {
        let setup = self.setup.lock().await;
        setup
            .as_ref()
            .unwrap_or(&self.client)
            .execute(
                "UPDATE ferry_ranges SET status = 'pending', rows = 0, rejected = 0, \
                 owner_pid = NULL, owner_start = NULL, updated = now() \
                 WHERE run_id = $1 AND table_name = $2",
                &[&run_id, &table],
            )
            .await
            .map_err(err("resetting a table"))?;
        Ok(())
    }

    pub async fn end_setup(&self, run_id: &str) -> Result<()> {
        let Some(c) = self.setup.lock().await.take() else {
            return Err(Error::Bug(
                "state store: end_setup without begin_setup".into(),
            ));
        };
        c.execute(
            "UPDATE ferry_runs SET status = 'ready', updated = now() \
             WHERE run_id = $1 AND status = 'setup'",
            &[&run_id],
        )
        .await
        .map_err(err("ending setup"))?;
        c.batch_execute("COMMIT; SELECT pg_advisory_unlock_all()")
            .await
            .map_err(err("ending setup"))?;
        Ok(())
    }

    /// Takes the range when it is pending, or copying by a session that no
    /// longer exists (its process died); skips it when another live process
    /// holds it, without waiting (`SKIP LOCKED`).
    pub async fn claim(&self, run_id: &str, table: &str, index: usize) -> Result<Claim> {
        let row = self
            .client
            .query_opt(
                "WITH c AS ( \
                   SELECT r.run_id, r.table_name, r.idx, r.status FROM ferry_ranges r \
                   WHERE r.run_id = $1 AND r.table_name = $2 AND r.idx = $3 \
                     AND (r.status = 'pending' OR (r.status = 'copying' AND NOT EXISTS ( \
                       SELECT 1 FROM pg_stat_activity a \
                       WHERE a.pid = r.owner_pid AND a.backend_start = r.owner_start))) \
                   FOR UPDATE SKIP LOCKED) \
                 UPDATE ferry_ranges r SET status = 'copying', attempts = r.attempts + 1, \
                   owner_pid = pg_backend_pid(), \
                   owner_start = (SELECT backend_start FROM pg_stat_activity WHERE pid = pg_backend_pid()), \
                   updated = now() \
                 FROM c WHERE r.run_id = c.run_id AND r.table_name = c.table_name AND r.idx = c.idx \
                 RETURNING c.status",
                &[&run_id, &table, &idx(index)],
            )
            .await
            .map_err(err("claiming a range"))?;
        Ok(match row {
            None => Claim::Elsewhere,
            Some(r) => Claim::Taken {
                was_copying: r.get::<_, String>(0) == "copying",
            },
        })
    }

    pub async fn finish_range(
        &self,
        run_id: &str,
        table: &str,
        index: usize,
        rows: u64,
        rejected: u64,
    ) -> Result<()> {
        self.client
            .execute(
                "UPDATE ferry_ranges SET status = 'done', rows = $4, rejected = $5, updated = now() \
                 WHERE run_id = $1 AND table_name = $2 AND idx = $3",
                &[&run_id, &table, &idx(index), &count(rows), &count(rejected)],
            )
            .await
            .map_err(err("checkpointing a range"))?;
        Ok(())
    }

    pub async fn release_range(&self, run_id: &str, table: &str, index: usize) -> Result<()> {
        self.client
            .execute(
                "UPDATE ferry_ranges SET status = 'pending', owner_pid = NULL, owner_start = NULL, \
                 updated = now() \
                 WHERE run_id = $1 AND table_name = $2 AND idx = $3 AND status = 'copying'",
                &[&run_id, &table, &idx(index)],
            )
            .await
            .map_err(err("releasing a range"))?;
        Ok(())
    }

    pub async fn finish_run(&self, run_id: &str) -> Result<bool> {
        let n = self
            .client
            .execute(
                "UPDATE ferry_runs r SET status = 'finishing', \
                   owner_pid = pg_backend_pid(), \
                   owner_start = (SELECT backend_start FROM pg_stat_activity \
                                  WHERE pid = pg_backend_pid()), \
                   updated = now() \
                 WHERE r.run_id = $1 \
                   AND (r.status IN ('setup', 'ready') OR (r.status = 'finishing' AND NOT EXISTS ( \
                     SELECT 1 FROM pg_stat_activity a \
                     WHERE a.pid = r.owner_pid AND a.backend_start = r.owner_start))) \
                   AND NOT EXISTS \
                   (SELECT 1 FROM ferry_ranges WHERE run_id = $1 AND status <> 'done')",
                &[&run_id],
            )
            .await
            .map_err(err("finishing the run"))?;
        Ok(n > 0)
    }

    pub async fn mark_finished(&self, run_id: &str) -> Result<()> {
        self.client
            .execute(
                "UPDATE ferry_runs SET status = 'finished', updated = now() \
                 WHERE run_id = $1 AND status = 'finishing'",
                &[&run_id],
            )
            .await
            .map_err(err("finishing the run"))?;
        Ok(())
    }
}
