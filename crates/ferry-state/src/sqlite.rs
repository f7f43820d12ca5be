//! The embedded store: one SQLite file, one ferry process per run.

use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use ferry_core::range::KeyRange;
use ferry_core::{Error, ErrorKind, Result};
use rusqlite::{params, Connection, OptionalExtension};

use crate::{range_from_json, range_json, status_from, Claim, RunInfo, RunStart, StoredRange};

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
";

pub struct SqliteStore {
    conn: Mutex<Connection>,
}

fn err(context: &str) -> impl FnOnce(rusqlite::Error) -> Error + '_ {
    move |e| Error::query(format!("state store: {context}"), ErrorKind::Definite, e)
}

fn count(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
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

    pub async fn begin_setup(&self, run: &RunInfo, restart_finished: bool) -> Result<RunStart> {
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
        Ok(match status.as_deref() {
            None => {
                c.execute(
                    "INSERT INTO ferry_runs (run_id, source, target, job, status) \
                     VALUES (?1, ?2, ?3, ?4, 'setup')",
                    params![run.run_id, run.source, run.target, run.job],
                )
                .map_err(err("registering the run"))?;
                RunStart::New
            }
            Some("finished") if !restart_finished => RunStart::Finished,
            Some("finished") => {
                c.execute("DELETE FROM ferry_ranges WHERE run_id = ?1", [&run.run_id])
                    .map_err(err("resetting a finished run"))?;
                c.execute(
                    "UPDATE ferry_runs SET status = 'setup', preexisting = NULL, \
                     updated = CURRENT_TIMESTAMP WHERE run_id = ?1",
                    [&run.run_id],
                )
                .map_err(err("resetting a finished run"))?;
                RunStart::Finished
            }
            Some(_) => RunStart::Unfinished,
        })
    }

    pub async fn set_preexisting(&self, run_id: &str, json: &str) -> Result<()> {
        self.conn()?
            .execute(
                "UPDATE ferry_runs SET preexisting = ?2 WHERE run_id = ?1",
                params![run_id, json],
            )
            .map_err(err("recording the run's tables"))?;
        Ok(())
    }

    pub async fn preexisting(&self, run_id: &str) -> Result<Option<String>> {
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

    pub async fn ranges(&self, run_id: &str, table: &str) -> Result<Vec<StoredRange>> {
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
                status: status_from(table, &status)?,
                rows: u64::try_from(n).unwrap_or_default(),
                rejected: u64::try_from(rejected).unwrap_or_default(),
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
        let c = self.conn()?;
        for (i, r) in ranges.iter().enumerate() {
            c.execute(
                "INSERT OR IGNORE INTO ferry_ranges (run_id, table_name, idx, range_json, status) \
                 VALUES (?1, ?2, ?3, ?4, 'pending')",
                params![run_id, table, count(i as u64), range_json(r)?],
            )
            .map_err(err("storing ranges"))?;
        }
        Ok(())
    }

    pub async fn reset_table(&self, run_id: &str, table: &str) -> Result<()> {
        self.conn()?
            .execute(
                "UPDATE ferry_ranges SET status = 'pending', rows = 0, rejected = 0, \
                 updated = CURRENT_TIMESTAMP WHERE run_id = ?1 AND table_name = ?2",
                params![run_id, table],
            )
            .map_err(err("resetting a table"))?;
        Ok(())
    }

    /// See [`StateStore::commit_registration`](crate::StateStore::commit_registration).
    pub fn commit_registration(&self) -> Result<()> {
        self.conn()?
            .execute_batch("COMMIT; BEGIN IMMEDIATE")
            .map_err(err("recording the run"))?;
        Ok(())
    }

    pub async fn end_setup(&self, run_id: &str) -> Result<()> {
        let c = self.conn()?;
        c.execute(
            "UPDATE ferry_runs SET status = 'ready', updated = CURRENT_TIMESTAMP \
             WHERE run_id = ?1 AND status = 'setup'",
            [run_id],
        )
        .map_err(err("ending setup"))?;
        c.execute_batch("COMMIT").map_err(err("ending setup"))?;
        Ok(())
    }

    /// One process per run: a `copying` range belongs to a dead process.
    pub async fn claim(&self, run_id: &str, table: &str, index: usize) -> Result<Claim> {
        let c = self.conn()?;
        let status: Option<String> = c
            .query_row(
                "SELECT status FROM ferry_ranges WHERE run_id = ?1 AND table_name = ?2 AND idx = ?3",
                params![run_id, table, count(index as u64)],
                |r| r.get(0),
            )
            .optional()
            .map_err(err("claiming a range"))?;
        let was_copying = match status.as_deref() {
            Some("pending") => false,
            Some("copying") => true,
            _ => return Ok(Claim::Elsewhere),
        };
        c.execute(
            "UPDATE ferry_ranges SET status = 'copying', attempts = attempts + 1, \
             updated = CURRENT_TIMESTAMP WHERE run_id = ?1 AND table_name = ?2 AND idx = ?3",
            params![run_id, table, count(index as u64)],
        )
        .map_err(err("claiming a range"))?;
        Ok(Claim::Taken { was_copying })
    }

    pub async fn finish_range(
        &self,
        run_id: &str,
        table: &str,
        index: usize,
        rows: u64,
        rejected: u64,
    ) -> Result<()> {
        self.conn()?
            .execute(
                "UPDATE ferry_ranges SET status = 'done', rows = ?4, rejected = ?5, \
                 updated = CURRENT_TIMESTAMP WHERE run_id = ?1 AND table_name = ?2 AND idx = ?3",
                params![
                    run_id,
                    table,
                    count(index as u64),
                    count(rows),
                    count(rejected)
                ],
            )
            .map_err(err("checkpointing a range"))?;
        Ok(())
    }

    pub async fn release_range(&self, run_id: &str, table: &str, index: usize) -> Result<()> {
        self.conn()?
            .execute(
                "UPDATE ferry_ranges SET status = 'pending', updated = CURRENT_TIMESTAMP \
                 WHERE run_id = ?1 AND table_name = ?2 AND idx = ?3 AND status = 'copying'",
                params![run_id, table, count(index as u64)],
            )
            .map_err(err("releasing a range"))?;
        Ok(())
    }

    pub async fn finish_run(&self, run_id: &str) -> Result<bool> {
        let n = self
            .conn()?
            .execute(
                "UPDATE ferry_runs SET status = 'finishing', updated = CURRENT_TIMESTAMP \
                 WHERE run_id = ?1 AND status <> 'finished' AND NOT EXISTS \
                 (SELECT 1 FROM ferry_ranges WHERE run_id = ?1 AND status <> 'done')",
                [run_id],
            )
            .map_err(err("finishing the run"))?;
        Ok(n > 0)
    }

    pub async fn mark_finished(&self, run_id: &str) -> Result<()> {
        self.conn()?
            .execute(
                "UPDATE ferry_runs SET status = 'finished', updated = CURRENT_TIMESTAMP \
                 WHERE run_id = ?1 AND status = 'finishing'",
                [run_id],
            )
            .map_err(err("finishing the run"))?;
        Ok(())
    }
}
