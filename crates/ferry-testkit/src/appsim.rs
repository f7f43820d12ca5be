//! An application simulator for cutover tests: writers that insert rows
//! with server-generated ids, update and delete their own rows and move
//! money between accounts, through whichever side a route file names
//! (`blue` or `green`; the switch hook rewrites it). Every attempt is
//! logged with its tag, the side it went to, when it started and ended,
//! and its outcome: acknowledged, refused (it cannot have committed), or
//! unknown (the connection broke around its commit).
//!
//! [`SimLog::check`] then holds the final primary to what the writers were
//! told: every acknowledged write there exactly once, deletes gone, the
//! bank total unchanged, nothing acknowledged by blue after the fence, no
//! duplicate key on green.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use ferry_core::{DbUrl, Engine};
use mysql_async::prelude::Queryable;

/// Rows in `accounts`, each starting with [`BALANCE`].
pub const ACCOUNTS: i64 = 50;
pub const BALANCE: i64 = 1000;

/// The simulator's tables, for `engine`: `items` (server-generated id,
/// the insert's tag, a counter and the last update's tag) and `accounts`.
pub fn schema_sql(engine: Engine) -> String {
    let accounts: Vec<String> = (1..=ACCOUNTS)
        .map(|i| format!("({i}, {BALANCE})"))
        .collect();
    let items = match engine {
        Engine::Postgres => {
            "CREATE TABLE items (id bigserial PRIMARY KEY, tag text NOT NULL, val integer NOT NULL, upd text)"
        }
        Engine::MySql => {
            "CREATE TABLE items (id bigint AUTO_INCREMENT PRIMARY KEY, tag varchar(64) NOT NULL, \
             val int NOT NULL, upd varchar(64))"
        }
    };
    format!(
        "{items}; CREATE TABLE accounts (id integer PRIMARY KEY, balance bigint NOT NULL); \
         INSERT INTO accounts VALUES {}",
        accounts.join(", ")
    )
}

/// Points the simulator at `side` (what a switch hook does).
pub fn route_to(route: &Path, side: &str) {
    let tmp = route.with_extension("tmp");
    std::fs::write(&tmp, side).expect("write route");
    std::fs::rename(&tmp, route).expect("move route");
}

/// Which side served an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Blue,
    Green,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpKind {
    Insert,
    Update { id: i64 },
    Delete { id: i64 },
    Transfer { from: i64, to: i64, amount: i64 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The server acknowledged the commit.
    Ok,
    /// Refused before any commit: it did not happen.
    Refused,
    /// The connection broke around the commit: it may or may not have.
    Unknown,
}

/// One attempt.
#[derive(Debug, Clone)]
pub struct Op {
    pub writer: usize,
    pub kind: OpKind,
    pub tag: String,
    pub side: Side,
    /// ms since the Unix epoch.
    pub started_ms: f64,
    pub ended_ms: f64,
    pub outcome: Outcome,
    /// SQLSTATE or MySQL error number of a failure.
    pub code: Option<String>,
    /// The id an insert got; rows an update or delete touched.
    pub id: Option<i64>,
    pub affected: u64,
}

/// How the simulator runs.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// The application's URLs (its own role, not an administrator).
    pub blue: DbUrl,
    pub green: DbUrl,
    pub route: PathBuf,
    pub writers: usize,
    /// Attempts per second, all writers together.
    pub rate: f64,
    pub seed: u64,
}

/// Running writers.
pub struct AppSim {
    stop: Arc<AtomicBool>,
    handles: Vec<tokio::task::JoinHandle<Vec<Op>>>,
}

fn now_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64() * 1000.0)
        .unwrap_or(0.0)
}

enum Conn {
    Pg(tokio_postgres::Client),
    My(mysql_async::Conn),
}

/// A failure: its code and whether the statement could have committed.
struct Failure {
    code: String,
    maybe_committed: bool,
}

fn pg_failure(e: &tokio_postgres::Error, at_commit: bool) -> Failure {
    match e.code() {
        // Refused by privilege or read-only: nothing committed.
        Some(c) if !at_commit && c.code() != "57P01" => Failure {
            code: c.code().to_string(),
            maybe_committed: false,
        },
        Some(c) => Failure {
            code: c.code().to_string(),
            maybe_committed: true,
        },
        None => Failure {
            code: "connection".into(),
            maybe_committed: !e.is_closed() || at_commit,
        },
    }
}

fn my_failure(e: &mysql_async::Error, at_commit: bool) -> Failure {
    match e {
        mysql_async::Error::Server(s) if !at_commit && s.code != 1927 => Failure {
            code: s.code.to_string(),
            maybe_committed: false,
        },
        mysql_async::Error::Server(s) => Failure {
            code: s.code.to_string(),
            maybe_committed: true,
        },
        _ => Failure {
            code: "connection".into(),
            maybe_committed: true,
        },
    }
}

async fn connect(url: &DbUrl) -> Result<Conn, String> {
    match url.engine {
        Engine::Postgres => {
            let mut cfg = tokio_postgres::Config::new();
            cfg.host(&url.host)
                .port(url.port)
                .user(&url.user)
                .dbname(&url.database)
                .connect_timeout(Duration::from_secs(2));
            if let Some(p) = url.password() {
                cfg.password(p);
            }
            let (client, conn) = cfg
                .connect(tokio_postgres::NoTls)
                .await
                .map_err(|e| e.code().map_or("connect".into(), |c| c.code().to_string()))?;
            tokio::spawn(async move {
                let _ = conn.await;
            });
            Ok(Conn::Pg(client))
        }
        Engine::MySql => {
            let opts = mysql_async::OptsBuilder::default()
                .ip_or_hostname(url.host.clone())
                .tcp_port(url.port)
                .user(Some(url.user.clone()))
                .pass(url.password().map(str::to_string))
                .db_name(Some(url.database.clone()));
            mysql_async::Conn::new(opts)
                .await
                .map(Conn::My)
                .map_err(|e| match e {
                    mysql_async::Error::Server(s) => s.code.to_string(),
                    _ => "connect".into(),
                })
        }
    }
}

/// Runs one simple-protocol statement: the first cell of its first row
/// as a number (RETURNING id) and the rows it touched.
async fn pg_simple(
    c: &tokio_postgres::Client,
    sql: &str,
) -> Result<(Option<i64>, u64), tokio_postgres::Error> {
    let mut id = None;
    let mut n = 0;
    for m in c.simple_query(sql).await? {
        match m {
            tokio_postgres::SimpleQueryMessage::Row(r) => {
                id = id.or_else(|| r.get(0).and_then(|v| v.parse().ok()))
            }
            tokio_postgres::SimpleQueryMessage::CommandComplete(k) => n = k,
            _ => {}
        }
    }
    Ok((id, n))
}

/// What one attempt did: the id or rows, or a failure.
type Done = Result<(Option<i64>, u64), Failure>;

impl Conn {
    async fn run(&mut self, kind: &OpKind, tag: &str) -> Done {
        match self {
            // The simple protocol only (values are the writer's own tags
            // and numbers): it also works through PgBouncer's transaction
            // pooling, where a prepared statement would not.
            Conn::Pg(c) => match kind {
                OpKind::Insert => pg_simple(
                    c,
                    &format!("INSERT INTO items (tag, val) VALUES ('{tag}', 0) RETURNING id"),
                )
                .await
                .map_err(|e| pg_failure(&e, false)),
                OpKind::Update { id } => pg_simple(
                    c,
                    &format!("UPDATE items SET val = val + 1, upd = '{tag}' WHERE id = {id}"),
                )
                .await
                .map(|(_, n)| (Some(*id), n))
                .map_err(|e| pg_failure(&e, false)),
                OpKind::Delete { id } => {
                    pg_simple(c, &format!("DELETE FROM items WHERE id = {id}"))
                        .await
                        .map(|(_, n)| (Some(*id), n))
                        .map_err(|e| pg_failure(&e, false))
                }
                OpKind::Transfer { from, to, amount } => {
                    let body = format!(
                        "BEGIN; UPDATE accounts SET balance = balance - {amount} WHERE id = {from}; \
                         UPDATE accounts SET balance = balance + {amount} WHERE id = {to}"
                    );
                    if let Err(e) = c.batch_execute(&body).await {
                        let _ = c.batch_execute("ROLLBACK").await;
                        return Err(pg_failure(&e, false));
                    }
                    c.batch_execute("COMMIT")
                        .await
                        .map(|()| (None, 2))
                        .map_err(|e| pg_failure(&e, true))
                }
            },
            Conn::My(c) => {
                match kind {
                    OpKind::Insert => match c
                        .exec_drop("INSERT INTO items (tag, val) VALUES (?, 0)", (tag,))
                        .await
                    {
                        Ok(()) => Ok((c.last_insert_id().map(|v| v as i64), 1)),
                        Err(e) => Err(my_failure(&e, false)),
                    },
                    OpKind::Update { id } => match c
                        .exec_drop(
                            "UPDATE items SET val = val + 1, upd = ? WHERE id = ?",
                            (tag, id),
                        )
                        .await
                    {
                        Ok(()) => Ok((Some(*id), c.affected_rows())),
                        Err(e) => Err(my_failure(&e, false)),
                    },
                    OpKind::Delete { id } => {
                        match c.exec_drop("DELETE FROM items WHERE id = ?", (id,)).await {
                            Ok(()) => Ok((Some(*id), c.affected_rows())),
                            Err(e) => Err(my_failure(&e, false)),
                        }
                    }
                    OpKind::Transfer { from, to, amount } => {
                        let body = [
                        "START TRANSACTION".to_string(),
                        format!("UPDATE accounts SET balance = balance - {amount} WHERE id = {from}"),
                        format!("UPDATE accounts SET balance = balance + {amount} WHERE id = {to}"),
                    ];
                        for s in body {
                            if let Err(e) = c.query_drop(s).await {
                                let _ = c.query_drop("ROLLBACK").await;
                                return Err(my_failure(&e, false));
                            }
                        }
                        c.query_drop("COMMIT")
                            .await
                            .map(|()| (None, 2))
                            .map_err(|e| my_failure(&e, true))
                    }
                }
            }
        }
    }
}

impl AppSim {
    pub fn start(cfg: SimConfig) -> AppSim {
        let stop = Arc::new(AtomicBool::new(false));
        let handles = (0..cfg.writers)
            .map(|w| {
                let (cfg, stop) = (cfg.clone(), stop.clone());
                tokio::spawn(async move { writer(w, cfg, stop).await })
            })
            .collect();
        AppSim { stop, handles }
    }

    /// Stops the writers and returns every attempt, in start order.
    pub async fn stop(self) -> SimLog {
        self.stop.store(true, Ordering::SeqCst);
        let mut ops = Vec::new();
        for h in self.handles {
            ops.extend(h.await.expect("writer task"));
        }
        ops.sort_by(|a, b| a.started_ms.total_cmp(&b.started_ms));
        SimLog { ops }
    }
}

async fn writer(w: usize, cfg: SimConfig, stop: Arc<AtomicBool>) -> Vec<Op> {
    let mut x = cfg
        .seed
        .wrapping_mul(2654435761)
        .wrapping_add(w as u64 * 7919)
        | 1;
    let mut rnd = move |n: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % n.max(1)
    };
    let pause = Duration::from_secs_f64(cfg.writers as f64 / cfg.rate.max(1.0));
    let mut ops = Vec::new();
    let mut rows: Vec<i64> = Vec::new();
    let mut conn: Option<(Side, Conn)> = None;
    let mut n = 0u64;
    while !stop.load(Ordering::SeqCst) {
        let t0 = Instant::now();
        let route = std::fs::read_to_string(&cfg.route).unwrap_or_default();
        let side = if route.trim() == "green" {
            Side::Green
        } else {
            Side::Blue
        };
        n += 1;
        let tag = format!("w{w}-{n}");
        let kind = match rnd(100) {
            _ if rows.len() < 3 => OpKind::Insert,
            0..=34 => OpKind::Insert,
            35..=59 => OpKind::Update {
                id: rows[usize::try_from(rnd(rows.len() as u64)).unwrap_or(0)],
            },
            60..=69 => OpKind::Delete {
                id: rows[usize::try_from(rnd(rows.len() as u64)).unwrap_or(0)],
            },
            _ => {
                let from = 1 + rnd(ACCOUNTS as u64) as i64;
                let to = 1 + (from + rnd(ACCOUNTS as u64 - 1) as i64) % ACCOUNTS;
                OpKind::Transfer {
                    from,
                    to,
                    amount: 1 + rnd(20) as i64,
                }
            }
        };
        let started_ms = now_ms();
        if conn.as_ref().is_some_and(|(s, _)| *s != side) {
            conn = None;
        }
        if conn.is_none() {
            let url = match side {
                Side::Blue => &cfg.blue,
                Side::Green => &cfg.green,
            };
            match connect(url).await {
                Ok(c) => conn = Some((side, c)),
                Err(code) => {
                    ops.push(Op {
                        writer: w,
                        kind,
                        tag,
                        side,
                        started_ms,
                        ended_ms: now_ms(),
                        outcome: Outcome::Refused,
                        code: Some(code),
                        id: None,
                        affected: 0,
                    });
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            }
        }
        let (_, c) = conn.as_mut().expect("connected");
        let done = c.run(&kind, &tag).await;
        let ended_ms = now_ms();
        let (outcome, code, id, affected) = match done {
            Ok((id, affected)) => (Outcome::Ok, None, id, affected),
            Err(f) => {
                conn = None;
                let outcome = if f.maybe_committed {
                    Outcome::Unknown
                } else {
                    Outcome::Refused
                };
                (outcome, Some(f.code), None, 0)
            }
        };
        match (&kind, outcome) {
            (OpKind::Insert, Outcome::Ok) => rows.extend(id),
            (OpKind::Update { id } | OpKind::Delete { id }, Outcome::Unknown) => {
                rows.retain(|r| r != id)
            }
            (OpKind::Delete { id }, Outcome::Ok) => rows.retain(|r| r != id),
            _ => {}
        }
        ops.push(Op {
            writer: w,
            kind,
            tag,
            side,
            started_ms,
            ended_ms,
            outcome,
            code,
            id,
            affected,
        });
        if let Some(rest) = pause.checked_sub(t0.elapsed()) {
            tokio::time::sleep(rest).await;
        }
    }
    ops
}

/// Every attempt of a run.
pub struct SimLog {
    pub ops: Vec<Op>,
}

/// What the final primary must hold for one row.
#[derive(Default)]
struct Expect {
    deleted: bool,
    updates: i64,
    last: Option<String>,
    uncertain: bool,
    tag: String,
}

impl SimLog {
    pub fn acked(&self, side: Side) -> usize {
        self.ops
            .iter()
            .filter(|o| o.side == side && o.outcome == Outcome::Ok)
            .count()
    }

    /// When `side` last (or first) acknowledged a write, ms since the epoch.
    pub fn last_ack(&self, side: Side) -> Option<f64> {
        self.ops
            .iter()
            .filter(|o| o.side == side && o.outcome == Outcome::Ok)
            .map(|o| o.ended_ms)
            .reduce(f64::max)
    }

    pub fn first_ack(&self, side: Side) -> Option<f64> {
        self.ops
            .iter()
            .filter(|o| o.side == side && o.outcome == Outcome::Ok)
            .map(|o| o.ended_ms)
            .reduce(f64::min)
    }

    /// The gap the application saw: blue's last acknowledgement to
    /// green's first, ms.
    pub fn gap_ms(&self) -> Option<f64> {
        Some(self.first_ack(Side::Green)? - self.last_ack(Side::Blue)?)
    }

    /// The writers' view held against the final primary `primary` (an
    /// administrator's URL); `fence_ms` is when ferry reported the fence
    /// effective (ms since the epoch), if a fence happened. Returns every
    /// violation, in words.
    pub async fn check(&self, primary: &DbUrl, fence_ms: Option<f64>) -> Vec<String> {
        let mut bad = Vec::new();
        let mut expect: std::collections::HashMap<i64, Expect> = Default::default();
        let mut unknown_inserts = Vec::new();
        for o in &self.ops {
            match (&o.kind, o.outcome) {
                (OpKind::Insert, Outcome::Ok) => {
                    let id = o.id.unwrap_or(-1);
                    expect.insert(
                        id,
                        Expect {
                            tag: o.tag.clone(),
                            ..Default::default()
                        },
                    );
                }
                (OpKind::Insert, Outcome::Unknown) => unknown_inserts.push(o.tag.clone()),
                (OpKind::Update { id }, Outcome::Ok) => {
                    if o.affected != 1 {
                        bad.push(format!(
                            "update {} of row {id} found no row on {:?}",
                            o.tag, o.side
                        ));
                    }
                    if let Some(e) = expect.get_mut(id) {
                        e.updates += 1;
                        e.last = Some(o.tag.clone());
                    }
                }
                (OpKind::Delete { id }, Outcome::Ok) => {
                    if o.affected != 1 {
                        bad.push(format!(
                            "delete {} of row {id} found no row on {:?}",
                            o.tag, o.side
                        ));
                    }
                    if let Some(e) = expect.get_mut(id) {
                        e.deleted = true;
                    }
                }
                (OpKind::Update { id } | OpKind::Delete { id }, Outcome::Unknown) => {
                    if let Some(e) = expect.get_mut(id) {
                        e.uncertain = true;
                    }
                }
                _ => {}
            }
            if let Some(f) = fence_ms {
                if o.side == Side::Blue && o.outcome == Outcome::Ok && o.started_ms > f {
                    bad.push(format!(
                        "{} started {:.0} ms after the fence and blue acknowledged it",
                        o.tag,
                        o.started_ms - f
                    ));
                }
                if o.side == Side::Blue && o.outcome == Outcome::Ok && o.ended_ms > f + 50.0 {
                    bad.push(format!(
                        "blue acknowledged {} {:.0} ms after the fence took effect",
                        o.tag,
                        o.ended_ms - f
                    ));
                }
            }
            if o.side == Side::Green && matches!(o.code.as_deref(), Some("23505" | "1062")) {
                bad.push(format!("duplicate key on green for {}", o.tag));
            }
        }
        let rows = crate::rows(primary, "SELECT id, tag, val, upd FROM items").await;
        let mut by_tag: std::collections::HashMap<String, u32> = Default::default();
        let mut by_id: std::collections::HashMap<i64, (String, i64, Option<String>)> =
            Default::default();
        for r in rows {
            let id: i64 = r[0].as_deref().unwrap_or("0").parse().unwrap_or(0);
            let tag = r[1].clone().unwrap_or_default();
            *by_tag.entry(tag.clone()).or_default() += 1;
            let val = r[2].as_deref().unwrap_or("0").parse().unwrap_or(-1);
            by_id.insert(id, (tag, val, r[3].clone()));
        }
        for (id, e) in &expect {
            let found = by_id.get(id);
            let count = by_tag.get(&e.tag).copied().unwrap_or(0);
            if count > 1 {
                bad.push(format!("insert {} is there {count} times", e.tag));
            }
            if e.uncertain {
                continue;
            }
            match (e.deleted, found) {
                (true, Some(_)) => {
                    bad.push(format!("row {id} ({}) was deleted but is there", e.tag))
                }
                (false, None) => bad.push(format!("row {id} ({}) is lost", e.tag)),
                (false, Some((tag, val, upd))) => {
                    if *tag != e.tag || *val != e.updates || *upd != e.last {
                        bad.push(format!(
                            "row {id}: expected {} with {} updates (last {:?}), found {tag} with {val} (last {upd:?})",
                            e.tag, e.updates, e.last
                        ));
                    }
                }
                (true, None) => {}
            }
        }
        for tag in unknown_inserts {
            if by_tag.get(&tag).copied().unwrap_or(0) > 1 {
                bad.push(format!("insert {tag} (outcome unknown) is there twice"));
            }
        }
        let total = crate::rows(
            primary,
            "SELECT CAST(SUM(balance) AS CHAR(30)) FROM accounts",
        )
        .await
        .first()
        .and_then(|r| r[0].clone())
        .unwrap_or_default()
        .trim()
        .to_string();
        if total != (ACCOUNTS * BALANCE).to_string() {
            bad.push(format!(
                "the bank total is {total}, not {}",
                ACCOUNTS * BALANCE
            ));
        }
        bad
    }
}
