//! The embedded store: one SQLite file, one ferry process per run.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use ferry_core::range::KeyRange;
use ferry_core::{Error, ErrorKind, Result};
use rusqlite::{params, Connection, OptionalExtension};

use crate::{
    cutover_phase, range_from_json, range_json, range_status, run_status, sql_int, step_status,
    time_from_millis, CheckpointStore, Claim, CutoverPhase, CutoverRecord, CutoverStep,
    RangeStatus, RunInfo, RunStart, RunStatus, StepStatus, StoredRange,
};

/// Every table is created with the others, idempotently, when a store
/// opens; an older store gains the tables it lacks.
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS ferry_runs (
    run_id TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    target TEXT NOT NULL,
    job TEXT NOT NULL,
    status TEXT NOT NULL,
    preexisting TEXT,
    updated TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE TABLE IF NOT EXISTS ferry_ranges (
    run_id TEXT NOT NULL,
    table_name TEXT NOT NULL,
    idx INTEGER NOT NULL,
    range_json TEXT NOT NULL,
    status TEXT NOT NULL,
    rows INTEGER NOT NULL DEFAULT 0,
    rejected INTEGER NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0,
    updated TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (run_id, table_name, idx)
);
CREATE TABLE IF NOT EXISTS ferry_stream_positions (
    run_id TEXT NOT NULL,
    stream_name TEXT NOT NULL,
    position_json TEXT NOT NULL,
    updated TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (run_id, stream_name)
);
CREATE TABLE IF NOT EXISTS ferry_cutover_steps (
    seq INTEGER PRIMARY KEY,
    run_id TEXT NOT NULL,
    step TEXT NOT NULL,
    status TEXT NOT NULL,
    detail_json TEXT NOT NULL,
    started TEXT NOT NULL,
    updated TEXT NOT NULL,
    UNIQUE (run_id, step)
);
CREATE TABLE IF NOT EXISTS ferry_reports (
    seq INTEGER PRIMARY KEY,
    run_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    report_json TEXT NOT NULL,
    created TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX IF NOT EXISTS ferry_reports_run ON ferry_reports (run_id, seq);
CREATE TABLE IF NOT EXISTS ferry_cutover (
    run_id TEXT PRIMARY KEY,
    phase TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    version INTEGER NOT NULL,
    data_json TEXT NOT NULL,
    updated TEXT NOT NULL
);
";

/// UTC now to the millisecond, as SQLite text (`CURRENT_TIMESTAMP` keeps
/// whole seconds only).
const NOW_MS: &str = "strftime('%Y-%m-%d %H:%M:%f', 'now')";

pub struct SqliteStore {
    conn: Mutex<Connection>,
}

fn err(context: &str) -> impl FnOnce(rusqlite::Error) -> Error + '_ {
    move |e| Error::query(format!("state store: {context}"), ErrorKind::Definite, e)
}

fn idx(v: usize) -> i64 {
    sql_int(v as u64)
}

impl SqliteStore {
    /// Opens or creates the file (and its directory).
    pub fn open(path: &Path) -> Result<SqliteStore> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| {
                Error::query(
                    format!("state store: creating directory {}", dir.display()),
                    ErrorKind::Definite,
                    e,
                )
            })?;
        }
        let conn = Connection::open(path).map_err(err("opening the file"))?;
        conn.busy_timeout(std::time::Duration::from_secs(30))
            .map_err(err("setting the busy timeout"))?;
        // Every checkpoint is durable before the next range starts.
        conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;")
            .map_err(err("setting the journal mode"))?;
        conn.execute_batch(SCHEMA).map_err(err("creating tables"))?;
        Ok(SqliteStore {
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> Result<MutexGuard<'_, Connection>> {
        self.conn
            .lock()
            .map_err(|_| Error::Bug("state store lock poisoned".into()))
    }
}

impl CheckpointStore for SqliteStore {
    async fn begin_setup(&self, run: &RunInfo, restart_finished: bool) -> Result<RunStart> {
        let c = self.conn()?;
        c.execute_batch("BEGIN IMMEDIATE")
            .map_err(err("starting setup"))?;
        let status: Option<String> = c
            .query_row(
                "SELECT status FROM ferry_runs WHERE run_id = ?1",
                [&run.run_id],
                |r| r.get(0),
            )
            .optional()
            .map_err(err("reading the run"))?;
        let status = match status {
            Some(s) => Some(run_status(&run.run_id, &s)?),
            None => None,
        };
        Ok(match status {
            None => {
                c.execute(
                    "INSERT INTO ferry_runs (run_id, source, target, job, status) \
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![
                        run.run_id,
                        run.source,
                        run.target,
                        run.job,
                        RunStatus::Setup.as_str()
                    ],
                )
                .map_err(err("registering the run"))?;
                RunStart::New
            }
            Some(RunStatus::Finished) if !restart_finished => RunStart::Finished,
            Some(RunStatus::Finished) => {
                for table in [
                    "ferry_ranges",
                    "ferry_stream_positions",
                    "ferry_cutover_steps",
                ] {
                    c.execute(
                        &format!("DELETE FROM {table} WHERE run_id = ?1"),
                        [&run.run_id],
                    )
                    .map_err(err("resetting a finished run"))?;
                }
                c.execute(
                    "UPDATE ferry_runs SET status = ?2, preexisting = NULL, \
                     updated = CURRENT_TIMESTAMP WHERE run_id = ?1",
                    params![run.run_id, RunStatus::Setup.as_str()],
                )
                .map_err(err("resetting a finished run"))?;
                RunStart::Finished
            }
            Some(_) => RunStart::Unfinished,
        })
    }

    async fn set_preexisting(&self, run_id: &str, json: &str) -> Result<()> {
        self.conn()?
            .execute(
                "UPDATE ferry_runs SET preexisting = ?2 WHERE run_id = ?1",
                params![run_id, json],
            )
            .map_err(err("recording the run's tables"))?;
        Ok(())
    }

    /// One process per run: commits and takes the write lock again at once.
    async fn commit_registration(&self) -> Result<()> {
        self.conn()?
            .execute_batch("COMMIT; BEGIN IMMEDIATE")
            .map_err(err("recording the run"))?;
        Ok(())
    }

    async fn preexisting(&self, run_id: &str) -> Result<Option<String>> {
        self.conn()?
            .query_row(
                "SELECT preexisting FROM ferry_runs WHERE run_id = ?1",
                [run_id],
                |r| r.get(0),
            )
            .optional()
            .map(Option::flatten)
            .map_err(err("reading the run's tables"))
    }

    async fn ranges(&self, run_id: &str, table: &str) -> Result<Vec<StoredRange>> {
        let c = self.conn()?;
        let mut stmt = c
            .prepare(
                "SELECT idx, range_json, status, rows, rejected FROM ferry_ranges \
                 WHERE run_id = ?1 AND table_name = ?2 ORDER BY idx",
            )
            .map_err(err("reading ranges"))?;
        let rows = stmt
            .query_map(params![run_id, table], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, i64>(4)?,
                ))
            })
            .map_err(err("reading ranges"))?;
        let mut out = Vec::new();
        for row in rows {
            let (idx, json, status, n, rejected) = row.map_err(err("reading ranges"))?;
            out.push(StoredRange {
                index: usize::try_from(idx).unwrap_or_default(),
                range: range_from_json(table, &json)?,
                status: range_status(table, &status)?,
                rows: u64::try_from(n).unwrap_or_default(),
                rejected: u64::try_from(rejected).unwrap_or_default(),
            });
        }
        Ok(out)
    }

    async fn insert_ranges(&self, run_id: &str, table: &str, ranges: &[KeyRange]) -> Result<()> {
        let c = self.conn()?;
        for (i, r) in ranges.iter().enumerate() {
            c.execute(
                "INSERT OR IGNORE INTO ferry_ranges (run_id, table_name, idx, range_json, status) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![
                    run_id,
                    table,
                    idx(i),
                    range_json(r)?,
                    RangeStatus::Pending.as_str()
                ],
            )
            .map_err(err("storing ranges"))?;
        }
        Ok(())
    }

    async fn reset_table(&self, run_id: &str, table: &str) -> Result<()> {
        self.conn()?
            .execute(
                "UPDATE ferry_ranges SET status = ?3, rows = 0, rejected = 0, \
                 updated = CURRENT_TIMESTAMP WHERE run_id = ?1 AND table_name = ?2",
                params![run_id, table, RangeStatus::Pending.as_str()],
            )
            .map_err(err("resetting a table"))?;
        Ok(())
    }

    async fn end_setup(&self, run_id: &str) -> Result<()> {
        let c = self.conn()?;
        c.execute(
            "UPDATE ferry_runs SET status = ?2, updated = CURRENT_TIMESTAMP \
             WHERE run_id = ?1 AND status = ?3",
            params![run_id, RunStatus::Ready.as_str(), RunStatus::Setup.as_str()],
        )
        .map_err(err("ending setup"))?;
        c.execute_batch("COMMIT").map_err(err("ending setup"))?;
        Ok(())
    }

    /// One process per run: a `copying` range belongs to a dead process.
    async fn claim(&self, run_id: &str, table: &str, index: usize) -> Result<Claim> {
        let c = self.conn()?;
        let status: Option<String> = c
            .query_row(
                "SELECT status FROM ferry_ranges WHERE run_id = ?1 AND table_name = ?2 AND idx = ?3",
                params![run_id, table, idx(index)],
                |r| r.get(0),
            )
            .optional()
            .map_err(err("claiming a range"))?;
        let was_copying = match status.map(|s| range_status(table, &s)).transpose()? {
            Some(RangeStatus::Pending) => false,
            Some(RangeStatus::Copying) => true,
            Some(RangeStatus::Done) | None => return Ok(Claim::Elsewhere),
        };
        c.execute(
            "UPDATE ferry_ranges SET status = ?4, attempts = attempts + 1, \
             updated = CURRENT_TIMESTAMP WHERE run_id = ?1 AND table_name = ?2 AND idx = ?3",
            params![run_id, table, idx(index), RangeStatus::Copying.as_str()],
        )
        .map_err(err("claiming a range"))?;
        Ok(Claim::Taken { was_copying })
    }

    async fn finish_range(
        &self,
        run_id: &str,
        table: &str,
        index: usize,
        rows: u64,
        rejected: u64,
    ) -> Result<()> {
        self.conn()?
            .execute(
                "UPDATE ferry_ranges SET status = ?6, rows = ?4, rejected = ?5, \
                 updated = CURRENT_TIMESTAMP WHERE run_id = ?1 AND table_name = ?2 AND idx = ?3",
                params![
                    run_id,
                    table,
                    idx(index),
                    sql_int(rows),
                    sql_int(rejected),
                    RangeStatus::Done.as_str()
                ],
            )
            .map_err(err("checkpointing a range"))?;
        Ok(())
    }

    async fn release_range(&self, run_id: &str, table: &str, index: usize) -> Result<()> {
        self.conn()?
            .execute(
                "UPDATE ferry_ranges SET status = ?4, updated = CURRENT_TIMESTAMP \
                 WHERE run_id = ?1 AND table_name = ?2 AND idx = ?3 AND status = ?5",
                params![
                    run_id,
                    table,
                    idx(index),
                    RangeStatus::Pending.as_str(),
                    RangeStatus::Copying.as_str()
                ],
            )
            .map_err(err("releasing a range"))?;
        Ok(())
    }

    async fn finish_run(&self, run_id: &str) -> Result<bool> {
        let n = self
            .conn()?
            .execute(
                "UPDATE ferry_runs SET status = ?2, updated = CURRENT_TIMESTAMP \
                 WHERE run_id = ?1 AND status <> ?3 AND NOT EXISTS \
                 (SELECT 1 FROM ferry_ranges WHERE run_id = ?1 AND status <> ?4)",
                params![
                    run_id,
                    RunStatus::Finishing.as_str(),
                    RunStatus::Finished.as_str(),
                    RangeStatus::Done.as_str()
                ],
            )
            .map_err(err("finishing the run"))?;
        Ok(n > 0)
    }

    async fn mark_finished(&self, run_id: &str) -> Result<()> {
        self.conn()?
            .execute(
                "UPDATE ferry_runs SET status = ?2, updated = CURRENT_TIMESTAMP \
                 WHERE run_id = ?1 AND status = ?3",
                params![
                    run_id,
                    RunStatus::Finished.as_str(),
                    RunStatus::Finishing.as_str()
                ],
            )
            .map_err(err("finishing the run"))?;
        Ok(())
    }

    async fn save_stream_position(&self, run_id: &str, stream: &str, json: &str) -> Result<()> {
        self.conn()?
            .execute(
                "INSERT INTO ferry_stream_positions (run_id, stream_name, position_json) \
                 VALUES (?1, ?2, ?3) ON CONFLICT (run_id, stream_name) DO UPDATE \
                 SET position_json = excluded.position_json, updated = CURRENT_TIMESTAMP",
                params![run_id, stream, json],
            )
            .map_err(err("saving a stream position"))?;
        Ok(())
    }

    async fn load_stream_position(&self, run_id: &str, stream: &str) -> Result<Option<String>> {
        self.conn()?
            .query_row(
                "SELECT position_json FROM ferry_stream_positions \
                 WHERE run_id = ?1 AND stream_name = ?2",
                params![run_id, stream],
                |r| r.get(0),
            )
            .optional()
            .map_err(err("reading a stream position"))
    }

    async fn save_report(&self, run_id: &str, kind: &str, json: &str) -> Result<()> {
        self.conn()?
            .execute(
                "INSERT INTO ferry_reports (run_id, kind, report_json) VALUES (?1, ?2, ?3)",
                params![run_id, kind, json],
            )
            .map_err(err("saving a run report"))?;
        Ok(())
    }

    async fn reports(&self, run_id: &str) -> Result<Vec<(String, String)>> {
        let c = self.conn()?;
        let mut stmt = c
            .prepare("SELECT kind, report_json FROM ferry_reports WHERE run_id = ?1 ORDER BY seq")
            .map_err(err("reading run reports"))?;
        let rows = stmt
            .query_map([run_id], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })
            .map_err(err("reading run reports"))?;
        rows.collect::<std::result::Result<Vec<_>, _>>()
            .map_err(err("reading run reports"))
    }

    async fn record_cutover_step(
        &self,
        run_id: &str,
        step: &str,
        status: StepStatus,
        detail: &str,
    ) -> Result<()> {
        self.conn()?
            .execute(
                &format!(
                    "INSERT INTO ferry_cutover_steps \
                     (run_id, step, status, detail_json, started, updated) \
                     VALUES (?1, ?2, ?3, ?4, {NOW_MS}, {NOW_MS}) \
                     ON CONFLICT (run_id, step) DO UPDATE SET status = excluded.status, \
                     detail_json = excluded.detail_json, updated = excluded.updated"
                ),
                params![run_id, step, status.as_str(), detail],
            )
            .map_err(err("recording a cutover step"))?;
        Ok(())
    }

    async fn cutover_steps(&self, run_id: &str) -> Result<Vec<CutoverStep>> {
        let c = self.conn()?;
        // julianday 2440587.5 is the Unix epoch.
        let mut stmt = c
            .prepare(
                "SELECT step, status, detail_json, \
                 CAST(round((julianday(started) - 2440587.5) * 86400000.0) AS INTEGER), \
                 CAST(round((julianday(updated) - 2440587.5) * 86400000.0) AS INTEGER) \
                 FROM ferry_cutover_steps WHERE run_id = ?1 ORDER BY seq",
            )
            .map_err(err("reading cutover steps"))?;
        let rows = stmt
            .query_map([run_id], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, i64>(4)?,
                ))
            })
            .map_err(err("reading cutover steps"))?;
        let mut out = Vec::new();
        for row in rows {
            let (step, status, detail, started, updated) =
                row.map_err(err("reading cutover steps"))?;
            out.push(CutoverStep {
                step,
                status: step_status(run_id, &status)?,
                detail,
                started: time_from_millis(started),
                updated: time_from_millis(updated),
            });
        }
        Ok(out)
    }

    async fn cutover(&self, run_id: &str) -> Result<Option<CutoverRecord>> {
        let row = self
            .conn()?
            .query_row(
                "SELECT phase, attempt, version, data_json, \
                 CAST(round((julianday(updated) - 2440587.5) * 86400000.0) AS INTEGER) \
                 FROM ferry_cutover WHERE run_id = ?1",
                [run_id],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, i64>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, i64>(4)?,
                    ))
                },
            )
            .optional()
            .map_err(err("reading the cutover state"))?;
        let Some((phase, attempt, version, data, updated)) = row else {
            return Ok(None);
        };
        Ok(Some(CutoverRecord {
            phase: cutover_phase(run_id, &phase)?,
            attempt: u32::try_from(attempt).unwrap_or_default(),
            version: u64::try_from(version).unwrap_or_default(),
            data,
            updated: time_from_millis(updated),
        }))
    }

    /// One statement each way: SQLite serialises writers across processes
    /// (the guardian is another process), so the `WHERE version = ?` decides.
    async fn set_cutover(
        &self,
        run_id: &str,
        expected: Option<u64>,
        phase: CutoverPhase,
        attempt: u32,
        data: &str,
    ) -> Result<Option<u64>> {
        let c = self.conn()?;
        let n = match expected {
            None => c
                .execute(
                    &format!(
                        "INSERT INTO ferry_cutover (run_id, phase, attempt, version, data_json, \
                         updated) VALUES (?1, ?2, ?3, 1, ?4, {NOW_MS}) \
                         ON CONFLICT (run_id) DO NOTHING"
                    ),
                    params![run_id, phase.as_str(), attempt, data],
                )
                .map_err(err("writing the cutover state"))?,
            Some(v) => c
                .execute(
                    &format!(
                        "UPDATE ferry_cutover SET phase = ?2, attempt = ?3, version = version + 1, \
                         data_json = ?4, updated = {NOW_MS} WHERE run_id = ?1 AND version = ?5"
                    ),
                    params![run_id, phase.as_str(), attempt, data, sql_int(v)],
                )
                .map_err(err("writing the cutover state"))?,
        };
        Ok((n == 1).then(|| expected.map_or(1, |v| v + 1)))
    }
}
