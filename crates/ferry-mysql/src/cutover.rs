//! MySQL/MariaDB's side of `ferry cutover` (see [`ferry_core::cutover`]).
//!
//! The fence is `SET GLOBAL read_only = ON`, then the application users'
//! sessions are killed after a grace. MariaDB refuses a write transaction's
//! COMMIT under `read_only`, so a transaction that wrote before the fence
//! cannot land after it; users with `READ_ONLY ADMIN` (MariaDB ≥ 10.11),
//! `SUPER` or `CONNECTION_ADMIN` (MySQL) write through it, which is why the
//! pre-flight refuses application users holding one, and why ferry's own
//! user needs one (it writes the marker and, on the way back, applies).
//! `read_only` is server-wide: every database of the server is fenced.
//!
//! Users are named `name` (any host) or `name@host`.

use std::time::{Duration, Instant};

use ferry_core::cutover::{Bypass, FenceOutcome, FencePlan, FenceSpec, Generator, OpenTxn};
use ferry_core::{Error, Result, TableRef};
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Row};

use crate::error::ctx;
use crate::{disconnect, quote_literal, Flavor, MySqlAdapter};

/// Privileges that let a session write under `read_only` (or turn it off).
const BYPASS: [&str; 4] = [
    "SUPER",
    "READ_ONLY ADMIN",
    "CONNECTION_ADMIN",
    "SYSTEM_VARIABLES_ADMIN",
];

/// `information_schema` GRANTEE patterns of a user: `'name'@'host'`, or
/// `'name'@%` for every host.
fn grantee_pattern(user: &str) -> String {
    match user.split_once('@') {
        Some((name, host)) => format!("'{}'@'{}'", name.replace('\'', "''"), host),
        None => format!("'{}'@%", user.replace('\'', "''")),
    }
}

/// The `USER` column of the process list for a user.
fn user_name(user: &str) -> &str {
    user.split_once('@').map_or(user, |(n, _)| n)
}

fn in_list(users: &[String]) -> String {
    let names: Vec<String> = users.iter().map(|u| quote_literal(user_name(u))).collect();
    if names.is_empty() {
        "(NULL)".into()
    } else {
        format!("({})", names.join(", "))
    }
}

async fn rows(conn: &mut Conn, sql: &str, what: &str) -> Result<Vec<Row>> {
    conn.query(sql).await.map_err(ctx(what.to_string()))
}

impl MySqlAdapter {
    async fn privileges_of(&self, conn: &mut Conn, user: &str) -> Result<Vec<String>> {
        let sql = format!(
            "SELECT DISTINCT PRIVILEGE_TYPE FROM information_schema.USER_PRIVILEGES \
             WHERE GRANTEE LIKE {}",
            quote_literal(&grantee_pattern(user))
        );
        let found = rows(conn, &sql, "reading the application users' privileges").await?;
        Ok(found
            .into_iter()
            .filter_map(|r| r.get::<String, _>(0))
            .collect())
    }

    async fn writer_sessions(&self, conn: &mut Conn, users: &[String]) -> Result<Vec<u64>> {
        let sql = format!(
            "SELECT t.trx_mysql_thread_id FROM information_schema.INNODB_TRX t \
             JOIN information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id \
             WHERE p.USER IN {} AND t.trx_rows_modified > 0",
            in_list(users)
        );
        let found = rows(conn, &sql, "listing the application's write transactions").await?;
        Ok(found.into_iter().filter_map(|r| r.get(0)).collect())
    }
}

impl ferry_core::cutover::CutoverSupport for MySqlAdapter {
    async fn fence_bypasses(&self, spec: &FenceSpec) -> Result<Vec<Bypass>> {
        let mut conn = self.connect().await?;
        let mut out = Vec::new();
        for user in &spec.roles {
            let privileges = self.privileges_of(&mut conn, user).await?;
            if privileges.is_empty() {
                out.push(Bypass {
                    role: user.clone(),
                    reason: "no such user (or no privileges at all) on this server".into(),
                });
                continue;
            }
            let bypass: Vec<&str> = BYPASS
                .into_iter()
                .filter(|b| privileges.iter().any(|p| p == b))
                .collect();
            if !bypass.is_empty() {
                out.push(Bypass {
                    role: user.clone(),
                    reason: format!(
                        "holds {}: it writes through read_only (or can turn it off)",
                        bypass.join(", ")
                    ),
                });
            }
        }
        disconnect(conn).await;
        Ok(out)
    }

    async fn plan_fence(&self, spec: &FenceSpec) -> Result<FencePlan> {
        let mut conn = self.connect().await?;
        let on: Option<u8> = conn
            .query_first("SELECT @@GLOBAL.read_only")
            .await
            .map_err(ctx("reading read_only"))?;
        disconnect(conn).await;
        let mut plan = FencePlan::default();
        if on != Some(1) {
            plan.apply.push("SET GLOBAL read_only = ON".into());
            plan.undo.push("SET GLOBAL read_only = OFF".into());
        }
        plan.sessions = format!(
            "wait up to {:?} for write transactions of {} to end, then KILL CONNECTION every \
             session of theirs",
            spec.grace,
            spec.roles.join(", ")
        );
        plan.probe = "@@GLOBAL.read_only = 1, no application user holds a privilege that \
                      bypasses it, and no session of theirs has a transaction that wrote"
            .into();
        Ok(plan)
    }

    async fn apply_fence(&self, spec: &FenceSpec, plan: &FencePlan) -> Result<FenceOutcome> {
        let mut conn = self.connect().await?;
        let wait = spec.lock_timeout.as_secs().max(1);
        conn.query_drop(format!("SET SESSION lock_wait_timeout = {wait}"))
            .await
            .map_err(ctx("setting the fence session's lock timeout"))?;
        for s in &plan.apply {
            conn.query_drop(s.as_str())
                .await
                .map_err(ctx("fencing the application users"))?;
        }
        let started = Instant::now();
        while started.elapsed() < spec.grace {
            if self
                .writer_sessions(&mut conn, &spec.roles)
                .await?
                .is_empty()
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let sql = format!(
            "SELECT ID FROM information_schema.PROCESSLIST WHERE USER IN {} AND ID <> CONNECTION_ID()",
            in_list(&spec.roles)
        );
        let ids: Vec<u64> = rows(&mut conn, &sql, "listing the application's sessions")
            .await?
            .into_iter()
            .filter_map(|r| r.get(0))
            .collect();
        let mut ended = 0;
        for id in ids {
            // A session that ended meanwhile is "unknown thread": fine.
            if conn
                .query_drop(format!("KILL CONNECTION {id}"))
                .await
                .is_ok()
            {
                ended += 1;
            }
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let left = self.writer_sessions(&mut conn, &spec.roles).await?;
            if left.is_empty() {
                break;
            }
            if Instant::now() > deadline {
                return Err(Error::Invalid(format!(
                    "the fence did not take effect: sessions {left:?} of the application \
                     still hold write transactions 10 s after they were killed"
                )));
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        disconnect(conn).await;
        Ok(FenceOutcome {
            sessions_ended: ended,
            waited_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        })
    }

    async fn lift_fence(&self, plan: &FencePlan) -> Result<()> {
        let mut conn = self.connect().await?;
        for s in &plan.undo {
            conn.query_drop(s.as_str())
                .await
                .map_err(ctx("lifting the fence"))?;
        }
        disconnect(conn).await;
        Ok(())
    }

    async fn fence_holds(&self, spec: &FenceSpec) -> Result<bool> {
        let mut conn = self.connect().await?;
        let on: Option<u8> = conn
            .query_first("SELECT @@GLOBAL.read_only")
            .await
            .map_err(ctx("reading read_only"))?;
        let writers = self.writer_sessions(&mut conn, &spec.roles).await?;
        disconnect(conn).await;
        Ok(on == Some(1) && writers.is_empty() && self.fence_bypasses(spec).await?.is_empty())
    }

    async fn open_transactions(&self, older_than: Duration) -> Result<Vec<OpenTxn>> {
        let mut conn = self.connect().await?;
        let sql = format!(
            "SELECT CAST(t.trx_mysql_thread_id AS CHAR), COALESCE(p.USER, ''), \
               TIMESTAMPDIFF(MICROSECOND, t.trx_started, NOW(6)) / 1e6, t.trx_rows_modified > 0 \
             FROM information_schema.INNODB_TRX t \
             LEFT JOIN information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id \
             WHERE t.trx_mysql_thread_id <> CONNECTION_ID() \
               AND t.trx_started < NOW(6) - INTERVAL {} MICROSECOND \
             ORDER BY t.trx_started",
            older_than.as_micros()
        );
        let found = rows(&mut conn, &sql, "listing open transactions").await?;
        disconnect(conn).await;
        Ok(found
            .into_iter()
            .map(|r| OpenTxn {
                session: r.get::<String, _>(0).unwrap_or_default(),
                role: r.get::<String, _>(1).unwrap_or_default(),
                age_seconds: r.get::<f64, _>(2).unwrap_or_default(),
                writes: r.get::<i64, _>(3).unwrap_or_default() != 0,
            })
            .collect())
    }

    async fn prepared_transactions(&self) -> Result<Vec<String>> {
        let mut conn = self.connect().await?;
        let found = rows(&mut conn, "XA RECOVER", "listing prepared XA transactions").await?;
        disconnect(conn).await;
        Ok(found
            .into_iter()
            .map(|r| {
                r.get::<Vec<u8>, _>(3)
                    .map(|d| String::from_utf8_lossy(&d).into_owned())
                    .unwrap_or_default()
            })
            .collect())
    }

    async fn own_write_problem(&self, spec: &FenceSpec) -> Result<Option<String>> {
        let mut conn = self.connect().await?;
        let me: Option<String> = conn
            .query_first("SELECT CURRENT_USER()")
            .await
            .map_err(ctx("reading ferry's own user"))?;
        let me = me.unwrap_or_default();
        let (name, host) = me.split_once('@').unwrap_or((&me, "%"));
        let privileges = self
            .privileges_of(&mut conn, &format!("{name}@{host}"))
            .await?;
        disconnect(conn).await;
        if spec.roles.iter().any(|u| user_name(u) == name) {
            return Ok(Some(format!(
                "ferry connects as {me}, one of the application users: connect as another user"
            )));
        }
        let ok = ["READ_ONLY ADMIN", "SUPER", "CONNECTION_ADMIN"]
            .iter()
            .any(|b| privileges.iter().any(|p| p == b));
        Ok((!ok).then(|| {
            format!(
                "ferry's user {me} has neither READ_ONLY ADMIN (MariaDB) nor SUPER or \
                 CONNECTION_ADMIN (MySQL): under read_only it could not write the drain marker"
            )
        }))
    }

    async fn create_marker_table(&self, table: &TableRef) -> Result<()> {
        self.execute_idempotent(
            &[format!(
                "CREATE TABLE IF NOT EXISTS {} (run_id VARCHAR(64) NOT NULL, attempt INT NOT NULL, \
                 written_at DATETIME(6) NOT NULL, PRIMARY KEY (run_id, attempt))",
                self.qualified(table)
            )],
            "creating the marker table",
        )
        .await
    }

    async fn write_marker(&self, table: &TableRef, run: &str, attempt: u32) -> Result<()> {
        let mut conn = self.connect().await?;
        conn.exec_drop(
            format!(
                "INSERT IGNORE INTO {} (run_id, attempt, written_at) VALUES (?, ?, NOW(6))",
                self.qualified(table)
            ),
            (run, attempt),
        )
        .await
        .map_err(ctx("writing the drain marker"))?;
        disconnect(conn).await;
        Ok(())
    }

    async fn wait_for_marker(
        &self,
        table: &TableRef,
        run: &str,
        attempt: u32,
        within: Duration,
    ) -> Result<bool> {
        let mut conn = self.connect().await?;
        let sql = format!(
            "SELECT 1 FROM {} WHERE run_id = ? AND attempt = ?",
            self.qualified(table)
        );
        let until = Instant::now() + within;
        let found = loop {
            let found: Option<u8> = conn
                .exec_first(sql.as_str(), (run, attempt))
                .await
                .map_err(ctx("looking for the drain marker"))?;
            if found.is_some() || Instant::now() >= until {
                break found.is_some();
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        };
        disconnect(conn).await;
        Ok(found)
    }

    async fn generators(&self, tables: &[TableRef]) -> Result<Vec<Generator>> {
        let (mut conn, flavor) = self.connect_with_flavor().await?;
        if flavor == Flavor::MySql {
            // MySQL 8 caches table statistics, AUTO_INCREMENT included.
            conn.query_drop("SET SESSION information_schema_stats_expiry = 0")
                .await
                .map_err(ctx("reading current table statistics"))?;
        }
        let mut out = Vec::new();
        for table in tables {
            let sql = format!(
                "SELECT c.COLUMN_NAME, t.AUTO_INCREMENT FROM information_schema.COLUMNS c \
                 JOIN information_schema.TABLES t ON t.TABLE_SCHEMA = c.TABLE_SCHEMA \
                   AND t.TABLE_NAME = c.TABLE_NAME \
                 WHERE c.TABLE_SCHEMA = {} AND c.TABLE_NAME = {} AND c.EXTRA LIKE '%auto_increment%'",
                quote_literal(self.schema_of(table)),
                quote_literal(&table.name)
            );
            for r in rows(&mut conn, &sql, "reading AUTO_INCREMENT counters").await? {
                out.push(Generator {
                    table: table.clone(),
                    column: r.get::<String, _>(0).unwrap_or_default(),
                    name: self.qualified(table),
                    next: r.get::<Option<i64>, _>(1).flatten().unwrap_or(1),
                });
            }
        }
        disconnect(conn).await;
        Ok(out)
    }

    fn raise_generator_sql(&self, generator: &Generator, next: i64) -> Vec<String> {
        if generator.next >= next {
            return Vec::new();
        }
        vec![format!(
            "ALTER TABLE {} AUTO_INCREMENT = {next}",
            generator.name
        )]
    }

    async fn change_stream_problem(&self) -> Result<Option<String>> {
        let mut conn = self.connect().await?;
        let row: Option<(u8, String, String)> = conn
            .query_first("SELECT @@log_bin, @@binlog_format, @@binlog_row_image")
            .await
            .map_err(ctx("reading the binary log settings"))?;
        disconnect(conn).await;
        let Some((log_bin, format, image)) = row else {
            return Ok(Some("the binary log settings could not be read".into()));
        };
        Ok(if log_bin != 1 {
            Some("log_bin is off: the way back needs the binary log (--log-bin, a restart)".into())
        } else if !format.eq_ignore_ascii_case("ROW") {
            Some(format!("binlog_format is {format}: the way back needs ROW"))
        } else if !image.eq_ignore_ascii_case("FULL") {
            Some(format!(
                "binlog_row_image is {image}: the way back needs FULL"
            ))
        } else {
            None
        })
    }

    /// The binary log position now, `file:pos`: MySQL has no slot, the
    /// binary log itself is the stream (kept per `binlog_expire_logs_seconds`).
    async fn arm_change_stream(&self, _slot: &str, _tables: &[TableRef]) -> Result<String> {
        let mut conn = self.connect().await?;
        let row: Option<Row> = conn
            .query_first("SHOW MASTER STATUS")
            .await
            .map_err(ctx("reading the binary log position"))?;
        disconnect(conn).await;
        let row = row.ok_or_else(|| {
            Error::Invalid("the binary log is off: there is no position to start from".into())
        })?;
        let file: String = row.get(0).unwrap_or_default();
        let pos: u64 = row.get(1).unwrap_or_default();
        Ok(format!("{file}:{pos}"))
    }

    async fn stream_table(&self, _slot: &str, _table: &TableRef) -> Result<()> {
        Ok(())
    }

    /// Reads the binary log from the armed position without consuming
    /// anything: the first row event on one of `tables` is the first
    /// commit. Binary log times are whole seconds, so the time is when it
    /// is seen (callers poll every few milliseconds).
    async fn first_commit_after(
        &self,
        _slot: &str,
        position: &str,
        tables: &[TableRef],
    ) -> Result<Option<i64>> {
        let Some((file, pos)) = position.rsplit_once(':') else {
            return Err(Error::Bug(format!("binlog position {position}")));
        };
        let wanted: Vec<String> = tables
            .iter()
            .map(|t| format!("({}.{})", self.schema_of(t), t.name))
            .collect();
        let mut conn = self.connect().await?;
        let logs = rows(&mut conn, "SHOW BINARY LOGS", "listing binary logs").await?;
        let files: Vec<String> = logs
            .into_iter()
            .filter_map(|r| r.get::<String, _>(0))
            .filter(|f| f.as_str() >= file)
            .collect();
        let mut found = None;
        'files: for f in files {
            let from = if f == file { pos } else { "4" };
            let sql = format!(
                "SHOW BINLOG EVENTS IN {} FROM {from} LIMIT 5000",
                quote_literal(&f)
            );
            for r in rows(&mut conn, &sql, "reading the binary log").await? {
                let kind: String = r.get(2).unwrap_or_default();
                let info: String = r.get(5).unwrap_or_default();
                if kind == "Table_map" && wanted.iter().any(|w| info.ends_with(w.as_str())) {
                    found = Some(now_us());
                    break 'files;
                }
            }
        }
        disconnect(conn).await;
        Ok(found)
    }
}

fn now_us() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
