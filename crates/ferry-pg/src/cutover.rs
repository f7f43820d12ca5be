//! PostgreSQL's side of `ferry cutover` (see [`ferry_core::cutover`]).
//!
//! The fence revokes the application roles' write privileges on the job's
//! tables and makes them NOLOGIN, in one transaction, then ends their
//! sessions after a grace. Privileges are checked when each statement
//! executes, so a session already connected is refused at its next write;
//! what the REVOKE cannot stop is a transaction that wrote before it and
//! only has to COMMIT, which is why the fence is effective only once no
//! session of the roles holds a transaction id (`backend_xid`). ferry's own
//! session is not an application role, so it still writes the marker.
//!
//! Roles are cluster-wide: NOLOGIN keeps an application role out of every
//! database of the server, so the roles should be the moved database's own.

use std::time::{Duration, Instant};

use ferry_core::cutover::{Bypass, FenceOutcome, FencePlan, FenceSpec, Generator, OpenTxn};
use ferry_core::{Error, Result, TableRef};
use tokio_postgres::Client;

use crate::cdc::pgoutput::parse_lsn;
use crate::cdc::stream::PG_EPOCH_OFFSET_US;
use crate::error::ctx;
use crate::{qualified, quote_ident, quote_literal, schema_of, PgAdapter};

const WRITE_PRIVILEGES: [&str; 4] = ["INSERT", "UPDATE", "DELETE", "TRUNCATE"];

/// Sessions of the roles in this database, other than this one.
const ROLE_SESSIONS: &str = "FROM pg_catalog.pg_stat_activity WHERE usename = ANY($1) \
     AND datname = current_database() AND pid <> pg_backend_pid()";

fn secs(d: Duration) -> String {
    format!("{}ms", d.as_millis().max(1))
}

impl PgAdapter {
    /// A session for cutover control statements: short lock and statement
    /// timeouts, so a fence never waits long behind, or holds up, others.
    async fn control_session(&self, lock_timeout: Duration) -> Result<Client> {
        let client = self.connect().await?;
        client
            .batch_execute(&format!(
                "SET lock_timeout = '{}'; SET statement_timeout = '{}'",
                secs(lock_timeout),
                secs(lock_timeout * 5)
            ))
            .await
            .map_err(ctx("setting the cutover session's timeouts"))?;
        Ok(client)
    }

    async fn run_in_transaction(&self, statements: &[String], what: &str) -> Result<()> {
        if statements.is_empty() {
            return Ok(());
        }
        let client = self.control_session(Duration::from_secs(5)).await?;
        let sql = format!("BEGIN; {}; COMMIT", statements.join("; "));
        client.batch_execute(&sql).await.map_err(ctx(what))
    }

    async fn writer_sessions(&self, client: &Client, roles: &[String]) -> Result<Vec<i32>> {
        let rows = client
            .query(
                &format!("SELECT pid {ROLE_SESSIONS} AND backend_xid IS NOT NULL"),
                &[&roles],
            )
            .await
            .map_err(ctx("listing the application's write transactions"))?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }
}

impl ferry_core::cutover::CutoverSupport for PgAdapter {
    async fn fence_bypasses(&self, spec: &FenceSpec) -> Result<Vec<Bypass>> {
        let client = self.connect().await?;
        let mut out = Vec::new();
        for role in &spec.roles {
            let row = client
                .query_opt(
                    "SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = $1",
                    &[role],
                )
                .await
                .map_err(ctx("reading the application roles"))?;
            let Some(row) = row else {
                out.push(Bypass {
                    role: role.clone(),
                    reason: "no such role on this server".into(),
                });
                continue;
            };
            if row.get::<_, bool>(0) {
                out.push(Bypass {
                    role: role.clone(),
                    reason: "is a superuser: privileges do not apply to it".into(),
                });
                continue;
            }
            for table in &spec.tables {
                let t = qualified(table);
                let owner: bool = client
                    .query_one(
                        "SELECT pg_has_role($1, c.relowner, 'MEMBER') FROM pg_catalog.pg_class c \
                         WHERE c.oid = to_regclass($2)",
                        &[role, &t],
                    )
                    .await
                    .map_err(ctx(format!("reading the owner of table {table}")))?
                    .get(0);
                if owner {
                    out.push(Bypass {
                        role: role.clone(),
                        reason: format!(
                            "owns table {table} (or is a member of its owner): an owner can \
                             grant itself write privileges again"
                        ),
                    });
                    continue;
                }
                // A privilege the role has but not by a grant to itself from
                // the owner (PUBLIC, another role, another grantor) survives
                // the REVOKE.
                let rows = client
                    .query(
                        "SELECT p.priv FROM unnest($3::text[]) AS p(priv) \
                         WHERE has_table_privilege($1, to_regclass($2), p.priv) AND NOT EXISTS ( \
                           SELECT 1 FROM pg_catalog.pg_class c, aclexplode(c.relacl) a \
                           WHERE c.oid = to_regclass($2) AND a.privilege_type = p.priv \
                             AND a.grantor = c.relowner \
                             AND a.grantee = (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = $1))",
                        &[role, &t, &WRITE_PRIVILEGES.map(str::to_string).to_vec()],
                    )
                    .await
                    .map_err(ctx(format!("reading the privileges on table {table}")))?;
                if !rows.is_empty() {
                    let privs: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
                    out.push(Bypass {
                        role: role.clone(),
                        reason: format!(
                            "may {} table {table} through PUBLIC, another role or another \
                             grantor: revoking from the role itself would not stop it",
                            privs.join(", ")
                        ),
                    });
                }
            }
        }
        Ok(out)
    }

    async fn plan_fence(&self, spec: &FenceSpec) -> Result<FencePlan> {
        let client = self.connect().await?;
        let mut plan = FencePlan::default();
        for role in &spec.roles {
            let r = quote_ident(role);
            for table in &spec.tables {
                let t = qualified(table);
                let rows = client
                    .query(
                        "SELECT a.privilege_type, a.is_grantable \
                         FROM pg_catalog.pg_class c, aclexplode(c.relacl) a \
                         WHERE c.oid = to_regclass($2) AND a.privilege_type = ANY($3) \
                           AND a.grantee = (SELECT oid FROM pg_catalog.pg_roles WHERE rolname = $1) \
                         ORDER BY 1",
                        &[role, &t, &WRITE_PRIVILEGES.map(str::to_string).to_vec()],
                    )
                    .await
                    .map_err(ctx(format!("reading the privileges on table {table}")))?;
                if rows.is_empty() {
                    continue;
                }
                let all: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
                let grantable: Vec<String> = rows
                    .iter()
                    .filter(|r| r.get::<_, bool>(1))
                    .map(|r| r.get(0))
                    .collect();
                plan.apply
                    .push(format!("REVOKE {} ON TABLE {t} FROM {r}", all.join(", ")));
                let plain: Vec<&String> = all.iter().filter(|p| !grantable.contains(p)).collect();
                if !plain.is_empty() {
                    let plain: Vec<&str> = plain.iter().map(|s| s.as_str()).collect();
                    plan.undo
                        .push(format!("GRANT {} ON TABLE {t} TO {r}", plain.join(", ")));
                }
                if !grantable.is_empty() {
                    plan.undo.push(format!(
                        "GRANT {} ON TABLE {t} TO {r} WITH GRANT OPTION",
                        grantable.join(", ")
                    ));
                }
            }
            let login: Option<bool> = client
                .query_opt(
                    "SELECT rolcanlogin FROM pg_catalog.pg_roles WHERE rolname = $1",
                    &[role],
                )
                .await
                .map_err(ctx("reading the application roles"))?
                .map(|r| r.get(0));
            if login == Some(true) {
                plan.apply.push(format!("ALTER ROLE {r} NOLOGIN"));
                plan.undo.push(format!("ALTER ROLE {r} LOGIN"));
            }
        }
        plan.sessions = format!(
            "wait up to {:?} for write transactions of {} to end, then \
             pg_terminate_backend() every session of theirs in this database, until none \
             holds a transaction id",
            spec.grace,
            spec.roles.join(", ")
        );
        plan.probe = "has_table_privilege(role, table, 'INSERT'|'UPDATE'|'DELETE'|'TRUNCATE') \
                      is false for every role and table, and no session of the roles has a \
                      backend_xid"
            .into();
        Ok(plan)
    }

    async fn apply_fence(&self, spec: &FenceSpec, plan: &FencePlan) -> Result<FenceOutcome> {
        let client = self.control_session(spec.lock_timeout).await?;
        if !plan.apply.is_empty() {
            client
                .batch_execute(&format!("BEGIN; {}; COMMIT", plan.apply.join("; ")))
                .await
                .map_err(ctx("fencing the application roles"))?;
        }
        let started = Instant::now();
        while started.elapsed() < spec.grace {
            if self.writer_sessions(&client, &spec.roles).await?.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let ended: i64 = client
            .query_one(
                &format!("SELECT count(pg_terminate_backend(pid)) {ROLE_SESSIONS}"),
                &[&spec.roles],
            )
            .await
            .map_err(ctx("ending the application's sessions"))?
            .get(0);
        // A terminated backend rolls back and exits within milliseconds.
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let left = self.writer_sessions(&client, &spec.roles).await?;
            if left.is_empty() {
                break;
            }
            if Instant::now() > deadline {
                return Err(Error::Invalid(format!(
                    "the fence did not take effect: sessions {left:?} of the application \
                     still hold write transactions 10 s after they were terminated"
                )));
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        Ok(FenceOutcome {
            sessions_ended: u64::try_from(ended).unwrap_or(0),
            waited_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        })
    }

    async fn lift_fence(&self, plan: &FencePlan) -> Result<()> {
        self.run_in_transaction(&plan.undo, "lifting the fence")
            .await
    }

    async fn fence_holds(&self, spec: &FenceSpec) -> Result<bool> {
        let client = self.connect().await?;
        for role in &spec.roles {
            for table in &spec.tables {
                let can: bool = client
                    .query_one(
                        "SELECT bool_or(has_table_privilege($1, to_regclass($2), p)) \
                         FROM unnest($3::text[]) p",
                        &[
                            role,
                            &qualified(table),
                            &WRITE_PRIVILEGES.map(str::to_string).to_vec(),
                        ],
                    )
                    .await
                    .map_err(ctx("probing the fence"))?
                    .get(0);
                if can {
                    return Ok(false);
                }
            }
        }
        Ok(self.writer_sessions(&client, &spec.roles).await?.is_empty())
    }

    async fn open_transactions(&self, older_than: Duration) -> Result<Vec<OpenTxn>> {
        let client = self.connect().await?;
        let rows = client
            .query(
                "SELECT pid::text, coalesce(usename::text, ''), \
                   extract(epoch FROM clock_timestamp() - xact_start)::float8, \
                   backend_xid IS NOT NULL \
                 FROM pg_catalog.pg_stat_activity \
                 WHERE xact_start IS NOT NULL AND pid <> pg_backend_pid() \
                   AND backend_type = 'client backend' AND datname = current_database() \
                   AND clock_timestamp() - xact_start > make_interval(secs => $1) \
                 ORDER BY xact_start",
                &[&older_than.as_secs_f64()],
            )
            .await
            .map_err(ctx("listing open transactions"))?;
        Ok(rows
            .iter()
            .map(|r| OpenTxn {
                session: r.get(0),
                role: r.get(1),
                age_seconds: r.get(2),
                writes: r.get(3),
            })
            .collect())
    }

    async fn prepared_transactions(&self) -> Result<Vec<String>> {
        let client = self.connect().await?;
        let rows = client
            .query(
                "SELECT gid FROM pg_catalog.pg_prepared_xacts WHERE database = current_database()",
                &[],
            )
            .await
            .map_err(ctx("listing prepared transactions"))?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    async fn own_write_problem(&self, spec: &FenceSpec) -> Result<Option<String>> {
        let client = self.connect().await?;
        let me: String = client
            .query_one("SELECT current_user::text", &[])
            .await
            .map_err(ctx("reading ferry's own role"))?
            .get(0);
        Ok(spec.roles.contains(&me).then(|| {
            format!(
                "ferry connects as {me}, one of the application roles: the fence would stop \
                 ferry's own marker and the way back too; connect as another role"
            )
        }))
    }

    async fn create_marker_table(&self, table: &TableRef) -> Result<()> {
        let client = self.connect().await?;
        client
            .batch_execute(&format!(
                "CREATE TABLE IF NOT EXISTS {} (run_id text NOT NULL, attempt integer NOT NULL, \
                 written_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (run_id, attempt))",
                qualified(table)
            ))
            .await
            .map_err(ctx(format!("creating the marker table {table}")))
    }

    /// Committed with `synchronous_commit = on` whatever the server's
    /// default: a logical stream only carries flushed WAL, so an
    /// asynchronous commit would reach green only at the next WAL writer
    /// round (up to `wal_writer_delay`, 200 ms by default), inside the
    /// freeze. Flushing the marker flushes everything before it.
    async fn write_marker(&self, table: &TableRef, run: &str, attempt: u32) -> Result<()> {
        let client = self.connect().await?;
        client
            .batch_execute(&format!(
                "BEGIN; SET LOCAL synchronous_commit = on; \
                 INSERT INTO {} (run_id, attempt) VALUES ({}, {attempt}) ON CONFLICT DO NOTHING; \
                 COMMIT",
                qualified(table),
                quote_literal(run)
            ))
            .await
            .map_err(ctx("writing the drain marker"))
    }

    async fn wait_for_marker(
        &self,
        table: &TableRef,
        run: &str,
        attempt: u32,
        within: Duration,
    ) -> Result<bool> {
        let client = self.connect().await?;
        let attempt = i32::try_from(attempt).unwrap_or(i32::MAX);
        let sql = format!(
            "SELECT EXISTS (SELECT 1 FROM {} WHERE run_id = $1 AND attempt = $2)",
            qualified(table)
        );
        let until = Instant::now() + within;
        loop {
            let found: bool = client
                .query_one(&sql, &[&run, &attempt])
                .await
                .map_err(ctx("looking for the drain marker"))?
                .get(0);
            if found || Instant::now() >= until {
                return Ok(found);
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    async fn generators(&self, tables: &[TableRef]) -> Result<Vec<Generator>> {
        let client = self.connect().await?;
        let mut out = Vec::new();
        for table in tables {
            // A column's sequence: the one its default's nextval() names
            // (serial, or a shared sequence) or its identity's.
            let rows = client
                .query(
                    "SELECT a.attname::text, quote_ident(n.nspname) || '.' || quote_ident(s.relname), \
                       q.increment_by \
                     FROM pg_catalog.pg_attribute a \
                     JOIN pg_catalog.pg_class s ON s.relkind = 'S' AND s.oid IN ( \
                       SELECT d.refobjid FROM pg_catalog.pg_attrdef ad JOIN pg_catalog.pg_depend d \
                         ON d.classid = 'pg_catalog.pg_attrdef'::regclass AND d.objid = ad.oid \
                        AND d.refclassid = 'pg_catalog.pg_class'::regclass \
                       WHERE ad.adrelid = a.attrelid AND ad.adnum = a.attnum \
                       UNION SELECT pg_get_serial_sequence($1, a.attname)::regclass::oid \
                       WHERE a.attidentity <> '') \
                     JOIN pg_catalog.pg_namespace n ON n.oid = s.relnamespace \
                     JOIN pg_catalog.pg_sequences q ON q.schemaname = n.nspname AND q.sequencename = s.relname \
                     WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped \
                     ORDER BY a.attnum",
                    &[&qualified(table)],
                )
                .await
                .map_err(ctx(format!("reading the sequences of table {table}")))?;
            for r in rows {
                let name: String = r.get(1);
                let step: i64 = r.get(2);
                // pg_sequences shows no last value before the first nextval
                // (or after setval(…, false)): the sequence itself does.
                let state = client
                    .query_one(&format!("SELECT last_value, is_called FROM {name}"), &[])
                    .await
                    .map_err(ctx(format!("reading sequence {name}")))?;
                let (last, called): (i64, bool) = (state.get(0), state.get(1));
                out.push(Generator {
                    table: table.clone(),
                    column: r.get(0),
                    name,
                    next: if called {
                        last.saturating_add(step)
                    } else {
                        last
                    },
                });
            }
        }
        Ok(out)
    }

    fn raise_generator_sql(&self, generator: &Generator, next: i64) -> Vec<String> {
        if generator.next >= next {
            return Vec::new();
        }
        vec![format!(
            "SELECT setval({}::regclass, {next}, false)",
            quote_literal(&generator.name)
        )]
    }

    async fn change_stream_problem(&self) -> Result<Option<String>> {
        let client = self.connect().await?;
        let level: String = client
            .query_one("SELECT current_setting('wal_level')", &[])
            .await
            .map_err(ctx("reading wal_level"))?
            .get(0);
        Ok((level != "logical").then(|| {
            format!("wal_level is {level}: the way back needs wal_level = logical (a restart)")
        }))
    }

    async fn arm_change_stream(&self, slot: &str, tables: &[TableRef]) -> Result<String> {
        let client = self.connect().await?;
        let name = quote_ident(&crate::cdc::publication_name(slot));
        let list: Vec<String> = tables.iter().map(qualified).collect();
        let exists: bool = client
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_publication WHERE pubname = $1)",
                &[&crate::cdc::publication_name(slot)],
            )
            .await
            .map_err(ctx("looking up the publication"))?
            .get(0);
        let sql = if exists {
            format!("ALTER PUBLICATION {name} SET TABLE {}", list.join(", "))
        } else {
            format!("CREATE PUBLICATION {name} FOR TABLE {}", list.join(", "))
        };
        client
            .batch_execute(&sql)
            .await
            .map_err(ctx(format!("creating publication {slot}")))?;
        let existing = client
            .query_opt(
                "SELECT confirmed_flush_lsn::text FROM pg_catalog.pg_replication_slots \
                 WHERE slot_name = $1",
                &[&slot],
            )
            .await
            .map_err(ctx("looking up the replication slot"))?;
        if let Some(row) = existing {
            let lsn: Option<String> = row.get(0);
            if let Some(lsn) = lsn {
                return Ok(lsn);
            }
        }
        let lsn: String = client
            .query_one(
                "SELECT lsn::text FROM pg_create_logical_replication_slot($1, 'pgoutput')",
                &[&slot],
            )
            .await
            .map_err(ctx(format!("creating replication slot {slot}")))?
            .get(0);
        Ok(lsn)
    }

    async fn stream_table(&self, slot: &str, table: &TableRef) -> Result<()> {
        let client = self.connect().await?;
        let publication = crate::cdc::publication_name(slot);
        let member: bool = client
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_publication_tables \
                 WHERE pubname = $1 AND schemaname = $2 AND tablename = $3)",
                &[&publication, &schema_of(table), &table.name],
            )
            .await
            .map_err(ctx("reading the publication's tables"))?
            .get(0);
        if member {
            return Ok(());
        }
        client
            .batch_execute(&format!(
                "ALTER PUBLICATION {} ADD TABLE {}",
                quote_ident(&publication),
                qualified(table)
            ))
            .await
            .map_err(ctx(format!("adding table {table} to publication {slot}")))
    }

    /// Peeks the slot through pgoutput without consuming it: PostgreSQL 15
    /// sends a transaction's BEGIN only once it has a published change, so
    /// the first BEGIN is the first commit touching the tables, and carries
    /// its commit time.
    async fn first_commit_after(
        &self,
        slot: &str,
        position: &str,
        _tables: &[TableRef],
    ) -> Result<Option<i64>> {
        let client = self.connect().await?;
        let after = parse_lsn(position).unwrap_or(0);
        let rows = client
            .query(
                "SELECT lsn::text, data FROM pg_logical_slot_peek_binary_changes($1, NULL, 1, \
                 'proto_version', '1', 'publication_names', $2)",
                &[&slot, &crate::cdc::publication_name(slot)],
            )
            .await
            .map_err(ctx(format!("peeking replication slot {slot}")))?;
        for row in rows {
            let lsn: String = row.get(0);
            let data: Vec<u8> = row.get(1);
            if parse_lsn(&lsn).unwrap_or(0) < after
                || data.first() != Some(&b'B')
                || data.len() < 17
            {
                continue;
            }
            let mut ts = [0u8; 8];
            ts.copy_from_slice(&data[9..17]);
            return Ok(Some(i64::from_be_bytes(ts) + PG_EPOCH_OFFSET_US));
        }
        Ok(None)
    }
}
