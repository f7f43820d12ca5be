//! The shared store: a PostgreSQL database that many ferry processes use at
//! once. Claims are single statements (`SELECT … FOR UPDATE SKIP LOCKED`
//! inside an `UPDATE`), so workers never wait on each other's ranges.

use ferry_core::range::KeyRange;
use ferry_core::{DbUrl, Error, Result};
use tokio::sync::Mutex;
use tokio_postgres::Client;

use crate::{
    cutover_phase, range_from_json, range_json, range_status, run_status, sql_int, step_status,
    time_from_millis, CheckpointStore, Claim, CutoverPhase, CutoverRecord, CutoverStep,
    RangeStatus, RunInfo, RunStart, RunStatus, StepStatus, StoredRange,
};

/// Every table is created with the others, idempotently, when a store
/// opens; an older store gains the tables it lacks.
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
CREATE TABLE IF NOT EXISTS ferry_stream_positions (
    run_id text NOT NULL,
    stream_name text NOT NULL,
    position_json text NOT NULL,
    updated timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (run_id, stream_name)
);
CREATE TABLE IF NOT EXISTS ferry_cutover_steps (
    seq bigserial NOT NULL,
    run_id text NOT NULL,
    step text NOT NULL,
    status text NOT NULL,
    detail_json text NOT NULL,
    started timestamptz NOT NULL,
    updated timestamptz NOT NULL,
    PRIMARY KEY (run_id, step)
);
CREATE TABLE IF NOT EXISTS ferry_reports (
    seq bigserial PRIMARY KEY,
    run_id text NOT NULL,
    kind text NOT NULL,
    report_json text NOT NULL,
    created timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS ferry_reports_run ON ferry_reports (run_id, seq);
CREATE TABLE IF NOT EXISTS ferry_cutover (
    run_id text PRIMARY KEY,
    phase text NOT NULL,
    attempt integer NOT NULL,
    version bigint NOT NULL,
    data_json text NOT NULL,
    updated timestamptz NOT NULL
);
";

pub struct PgStore {
    /// Where the store is, to open the setup session.
    url: DbUrl,
    /// Claims, checkpoints: one session for the process's whole life, whose
    /// backend identifies this process's claims.
    client: Client,
    /// The setup transaction (holding the run row's lock), while it lasts.
    setup: Mutex<Option<Client>>,
}

fn err(context: &str) -> impl FnOnce(tokio_postgres::Error) -> Error + '_ {
    move |e| {
        let kind = ferry_pgconn::classify(&e);
        Error::query(format!("state store: {context}"), kind, e)
    }
}

/// The first key of the run setup advisory lock (the second is the run
/// id's hash); `open`'s table-creation lock uses the one-key form.
const SETUP_LOCK_CLASS: i32 = 730_514;

fn idx(v: usize) -> i32 {
    i32::try_from(v).unwrap_or(i32::MAX)
}

impl PgStore {
    pub async fn open(url: DbUrl) -> Result<PgStore> {
        let client = ferry_pgconn::connect(&url).await?;
        // Two processes creating the tables at once would race on the catalog.
        client
            .batch_execute(&format!(
                "BEGIN; SELECT pg_advisory_xact_lock(7305142915); {SCHEMA} COMMIT;"
            ))
            .await
            .map_err(err("creating tables"))?;
        Ok(PgStore {
            url,
            client,
            setup: Mutex::new(None),
        })
    }

    /// The session for setup's statements while setup lasts, else the
    /// process's own.
    fn session<'a>(&'a self, setup: &'a Option<Client>) -> &'a Client {
        setup.as_ref().unwrap_or(&self.client)
    }
}

impl CheckpointStore for PgStore {
    /// Setup is serialised by a session-level advisory lock on the run id
    /// (not only the run's row lock): it outlives the registration's commit
    /// (see [`commit_registration`](Self::commit_registration)), and the
    /// server releases it when the process dies.
    async fn begin_setup(&self, run: &RunInfo, restart_finished: bool) -> Result<RunStart> {
        let c = ferry_pgconn::connect(&self.url).await?;
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
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (run_id) DO NOTHING",
                &[
                    &run.run_id,
                    &run.source,
                    &run.target,
                    &run.job,
                    &RunStatus::Setup.as_str(),
                ],
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
        let status = run_status(&run.run_id, row.get(0))?;
        let start = if inserted == 1 {
            RunStart::New
        } else if status == RunStatus::Finished && !restart_finished {
            RunStart::Finished
        } else if status == RunStatus::Finished {
            for table in [
                "ferry_ranges",
                "ferry_stream_positions",
                "ferry_cutover_steps",
            ] {
                c.execute(
                    &format!("DELETE FROM {table} WHERE run_id = $1"),
                    &[&run.run_id],
                )
                .await
                .map_err(err("resetting a finished run"))?;
            }
            c.execute(
                "UPDATE ferry_runs SET status = $2, preexisting = NULL, updated = now() \
                 WHERE run_id = $1",
                &[&run.run_id, &RunStatus::Setup.as_str()],
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
    async fn commit_registration(&self) -> Result<()> {
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

    async fn set_preexisting(&self, run_id: &str, json: &str) -> Result<()> {
        let setup = self.setup.lock().await;
        self.session(&setup)
            .execute(
                "UPDATE ferry_runs SET preexisting = $2 WHERE run_id = $1",
                &[&run_id, &json],
            )
            .await
            .map_err(err("recording the run's tables"))?;
        Ok(())
    }

    async fn preexisting(&self, run_id: &str) -> Result<Option<String>> {
        let setup = self.setup.lock().await;
        let row = self
            .session(&setup)
            .query_opt(
                "SELECT preexisting FROM ferry_runs WHERE run_id = $1",
                &[&run_id],
            )
            .await
            .map_err(err("reading the run's tables"))?;
        Ok(row.and_then(|r| r.get(0)))
    }

    async fn ranges(&self, run_id: &str, table: &str) -> Result<Vec<StoredRange>> {
        let setup = self.setup.lock().await;
        let rows = self
            .session(&setup)
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
                status: range_status(table, r.get(2))?,
                rows: u64::try_from(r.get::<_, i64>(3)).unwrap_or_default(),
                rejected: u64::try_from(r.get::<_, i64>(4)).unwrap_or_default(),
            });
        }
        Ok(out)
    }

    async fn insert_ranges(&self, run_id: &str, table: &str, ranges: &[KeyRange]) -> Result<()> {
        let setup = self.setup.lock().await;
        let c = self.session(&setup);
        for (i, r) in ranges.iter().enumerate() {
            c.execute(
                "INSERT INTO ferry_ranges (run_id, table_name, idx, range_json, status) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                &[
                    &run_id,
                    &table,
                    &idx(i),
                    &range_json(r)?,
                    &RangeStatus::Pending.as_str(),
                ],
            )
            .await
            .map_err(err("storing ranges"))?;
        }
        Ok(())
    }

    async fn reset_table(&self, run_id: &str, table: &str) -> Result<()> {
        let setup = self.setup.lock().await;
        self.session(&setup)
            .execute(
                "UPDATE ferry_ranges SET status = $3, rows = 0, rejected = 0, \
                 owner_pid = NULL, owner_start = NULL, updated = now() \
                 WHERE run_id = $1 AND table_name = $2",
                &[&run_id, &table, &RangeStatus::Pending.as_str()],
            )
            .await
            .map_err(err("resetting a table"))?;
        Ok(())
    }

    async fn end_setup(&self, run_id: &str) -> Result<()> {
        let Some(c) = self.setup.lock().await.take() else {
            return Err(Error::Bug(
                "state store: end_setup without begin_setup".into(),
            ));
        };
        c.execute(
            "UPDATE ferry_runs SET status = $2, updated = now() \
             WHERE run_id = $1 AND status = $3",
            &[
                &run_id,
                &RunStatus::Ready.as_str(),
                &RunStatus::Setup.as_str(),
            ],
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
    async fn claim(&self, run_id: &str, table: &str, index: usize) -> Result<Claim> {
        let row = self
            .client
            .query_opt(
                "WITH c AS ( \
                   SELECT r.run_id, r.table_name, r.idx, r.status FROM ferry_ranges r \
                   WHERE r.run_id = $1 AND r.table_name = $2 AND r.idx = $3 \
                     AND (r.status = $4 OR (r.status = $5 AND NOT EXISTS ( \
                       SELECT 1 FROM pg_stat_activity a \
                       WHERE a.pid = r.owner_pid AND a.backend_start = r.owner_start))) \
                   FOR UPDATE SKIP LOCKED) \
                 UPDATE ferry_ranges r SET status = $5, attempts = r.attempts + 1, \
                   owner_pid = pg_backend_pid(), \
                   owner_start = (SELECT backend_start FROM pg_stat_activity WHERE pid = pg_backend_pid()), \
                   updated = now() \
                 FROM c WHERE r.run_id = c.run_id AND r.table_name = c.table_name AND r.idx = c.idx \
                 RETURNING c.status",
                &[
                    &run_id,
                    &table,
                    &idx(index),
                    &RangeStatus::Pending.as_str(),
                    &RangeStatus::Copying.as_str(),
                ],
            )
            .await
            .map_err(err("claiming a range"))?;
        Ok(match row {
            None => Claim::Elsewhere,
            Some(r) => Claim::Taken {
                was_copying: range_status(table, r.get(0))? == RangeStatus::Copying,
            },
        })
    }

    async fn finish_range(
        &self,
        run_id: &str,
        table: &str,
        index: usize,
        rows: u64,
        rejected: u64,
    ) -> Result<()> {
        self.client
            .execute(
                "UPDATE ferry_ranges SET status = $6, rows = $4, rejected = $5, updated = now() \
                 WHERE run_id = $1 AND table_name = $2 AND idx = $3",
                &[
                    &run_id,
                    &table,
                    &idx(index),
                    &sql_int(rows),
                    &sql_int(rejected),
                    &RangeStatus::Done.as_str(),
                ],
            )
            .await
            .map_err(err("checkpointing a range"))?;
        Ok(())
    }

    async fn release_range(&self, run_id: &str, table: &str, index: usize) -> Result<()> {
        self.client
            .execute(
                "UPDATE ferry_ranges SET status = $4, owner_pid = NULL, owner_start = NULL, \
                 updated = now() \
                 WHERE run_id = $1 AND table_name = $2 AND idx = $3 AND status = $5",
                &[
                    &run_id,
                    &table,
                    &idx(index),
                    &RangeStatus::Pending.as_str(),
                    &RangeStatus::Copying.as_str(),
                ],
            )
            .await
            .map_err(err("releasing a range"))?;
        Ok(())
    }

    async fn finish_run(&self, run_id: &str) -> Result<bool> {
        let n = self
            .client
            .execute(
                "UPDATE ferry_runs r SET status = $2, \
                   owner_pid = pg_backend_pid(), \
                   owner_start = (SELECT backend_start FROM pg_stat_activity \
                                  WHERE pid = pg_backend_pid()), \
                   updated = now() \
                 WHERE r.run_id = $1 \
                   AND (r.status IN ($3, $4) OR (r.status = $2 AND NOT EXISTS ( \
                     SELECT 1 FROM pg_stat_activity a \
                     WHERE a.pid = r.owner_pid AND a.backend_start = r.owner_start))) \
                   AND NOT EXISTS \
                   (SELECT 1 FROM ferry_ranges WHERE run_id = $1 AND status <> $5)",
                &[
                    &run_id,
                    &RunStatus::Finishing.as_str(),
                    &RunStatus::Setup.as_str(),
                    &RunStatus::Ready.as_str(),
                    &RangeStatus::Done.as_str(),
                ],
            )
            .await
            .map_err(err("finishing the run"))?;
        Ok(n > 0)
    }

    async fn mark_finished(&self, run_id: &str) -> Result<()> {
        self.client
            .execute(
                "UPDATE ferry_runs SET status = $2, updated = now() \
                 WHERE run_id = $1 AND status = $3",
                &[
                    &run_id,
                    &RunStatus::Finished.as_str(),
                    &RunStatus::Finishing.as_str(),
                ],
            )
            .await
            .map_err(err("finishing the run"))?;
        Ok(())
    }

    async fn save_stream_position(&self, run_id: &str, stream: &str, json: &str) -> Result<()> {
        self.client
            .execute(
                "INSERT INTO ferry_stream_positions (run_id, stream_name, position_json) \
                 VALUES ($1, $2, $3) ON CONFLICT (run_id, stream_name) DO UPDATE \
                 SET position_json = excluded.position_json, updated = now()",
                &[&run_id, &stream, &json],
            )
            .await
            .map_err(err("saving a stream position"))?;
        Ok(())
    }

    async fn save_report(&self, run_id: &str, kind: &str, json: &str) -> Result<()> {
        self.client
            .execute(
                "INSERT INTO ferry_reports (run_id, kind, report_json) VALUES ($1, $2, $3)",
                &[&run_id, &kind, &json],
            )
            .await
            .map_err(err("saving a run report"))?;
        Ok(())
    }

    async fn reports(&self, run_id: &str) -> Result<Vec<(String, String)>> {
        let rows = self
            .client
            .query(
                "SELECT kind, report_json FROM ferry_reports WHERE run_id = $1 ORDER BY seq",
                &[&run_id],
            )
            .await
            .map_err(err("reading run reports"))?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    async fn load_stream_position(&self, run_id: &str, stream: &str) -> Result<Option<String>> {
        let row = self
            .client
            .query_opt(
                "SELECT position_json FROM ferry_stream_positions \
                 WHERE run_id = $1 AND stream_name = $2",
                &[&run_id, &stream],
            )
            .await
            .map_err(err("reading a stream position"))?;
        Ok(row.map(|r| r.get(0)))
    }

    /// `clock_timestamp()`, not `now()`: steps recorded within one
    /// transaction still get their own times.
    async fn record_cutover_step(
        &self,
        run_id: &str,
        step: &str,
        status: StepStatus,
        detail: &str,
    ) -> Result<()> {
        self.client
            .execute(
                "INSERT INTO ferry_cutover_steps \
                 (run_id, step, status, detail_json, started, updated) \
                 VALUES ($1, $2, $3, $4, clock_timestamp(), clock_timestamp()) \
                 ON CONFLICT (run_id, step) DO UPDATE SET status = excluded.status, \
                 detail_json = excluded.detail_json, updated = excluded.updated",
                &[&run_id, &step, &status.as_str(), &detail],
            )
            .await
            .map_err(err("recording a cutover step"))?;
        Ok(())
    }

    async fn cutover_steps(&self, run_id: &str) -> Result<Vec<CutoverStep>> {
        let rows = self
            .client
            .query(
                "SELECT step, status, detail_json, \
                   (extract(epoch FROM started) * 1000)::bigint, \
                   (extract(epoch FROM updated) * 1000)::bigint \
                 FROM ferry_cutover_steps WHERE run_id = $1 ORDER BY seq",
                &[&run_id],
            )
            .await
            .map_err(err("reading cutover steps"))?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            out.push(CutoverStep {
                step: r.get(0),
                status: step_status(run_id, r.get(1))?,
                detail: r.get(2),
                started: time_from_millis(r.get(3)),
                updated: time_from_millis(r.get(4)),
            });
        }
        Ok(out)
    }

    async fn cutover(&self, run_id: &str) -> Result<Option<CutoverRecord>> {
        let row = self
            .client
            .query_opt(
                "SELECT phase, attempt, version, data_json, \
                   (extract(epoch FROM updated) * 1000)::bigint \
                 FROM ferry_cutover WHERE run_id = $1",
                &[&run_id],
            )
            .await
            .map_err(err("reading the cutover state"))?;
        let Some(r) = row else {
            return Ok(None);
        };
        Ok(Some(CutoverRecord {
            phase: cutover_phase(run_id, r.get(0))?,
            attempt: u32::try_from(r.get::<_, i32>(1)).unwrap_or_default(),
            version: u64::try_from(r.get::<_, i64>(2)).unwrap_or_default(),
            data: r.get(3),
            updated: time_from_millis(r.get(4)),
        }))
    }

    /// One statement each way, so the row's `version` decides under
    /// PostgreSQL's own row locking.
    async fn set_cutover(
        &self,
        run_id: &str,
        expected: Option<u64>,
        phase: CutoverPhase,
        attempt: u32,
        data: &str,
    ) -> Result<Option<u64>> {
        let attempt = i32::try_from(attempt).unwrap_or(i32::MAX);
        let n = match expected {
            None => self
                .client
                .execute(
                    "INSERT INTO ferry_cutover (run_id, phase, attempt, version, data_json, updated) \
                     VALUES ($1, $2, $3, 1, $4, clock_timestamp()) ON CONFLICT (run_id) DO NOTHING",
                    &[&run_id, &phase.as_str(), &attempt, &data],
                )
                .await
                .map_err(err("writing the cutover state"))?,
            Some(v) => self
                .client
                .execute(
                    "UPDATE ferry_cutover SET phase = $2, attempt = $3, version = version + 1, \
                     data_json = $4, updated = clock_timestamp() \
                     WHERE run_id = $1 AND version = $5",
                    &[&run_id, &phase.as_str(), &attempt, &data, &sql_int(v)],
                )
                .await
                .map_err(err("writing the cutover state"))?,
        };
        Ok((n == 1).then(|| expected.map_or(1, |v| v + 1)))
    }
}
