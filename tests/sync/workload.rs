//! A live workload on the source while the copy runs and while the sync
//! follows: bank transfers (every transaction moves money between two
//! accounts, so the total never changes; a change lost or applied twice
//! would change it) mixed with inserts, updates and deletes of items. After
//! the sync drains to the source's position, `ferry verify` finds no
//! difference and the total holds. All four directions; and `kill -9` of
//! the sync at random points, restarted, loses and doubles nothing.

use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ferry_core::DbUrl;
use ferry_testkit::{mysql_conn, mysql_database, pg_client, pg_database};

use super::{slots, sync, verify_equal, Db};
use crate::util::copy_ok;

/// The seed of a randomised test: `FERRY_TEST_SEED` replays one.
pub(crate) fn seed() -> u64 {
    let seed = std::env::var("FERRY_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| u64::try_from(d.as_nanos() % u128::from(u64::MAX)).unwrap_or(1))
                .unwrap_or(1)
        });
    eprintln!("seed {seed} (FERRY_TEST_SEED={seed} replays it)");
    seed
}

/// xorshift64: small, and the same sequence for the same seed.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Rng(seed | 1)
    }

    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

pub(crate) const ACCOUNTS: u64 = 100;
pub(crate) const TOTAL: &str = "100000";
const ITEMS: u64 = 6000;

/// The two tables, seeded: 100 accounts of 1000, and items.
pub(crate) async fn seed_tables(src: &Db) {
    let sql = match src {
        Db::Pg(_) => format!(
            "CREATE TABLE acct (id int PRIMARY KEY, bal bigint NOT NULL);
             INSERT INTO acct SELECT g, 1000 FROM generate_series(1, {ACCOUNTS}) g;
             CREATE TABLE items (id int PRIMARY KEY, v int NOT NULL, note varchar(40));
             INSERT INTO items SELECT g, g, 'item ' || g FROM generate_series(1, {ITEMS}) g;"
        ),
        Db::My(_) => format!(
            "CREATE TABLE acct (id int PRIMARY KEY, bal bigint NOT NULL);
             INSERT INTO acct SELECT seq, 1000 FROM seq_1_to_{ACCOUNTS};
             CREATE TABLE items (id int PRIMARY KEY, v int NOT NULL, note varchar(40));
             INSERT INTO items SELECT seq, seq, CONCAT('item ', seq) FROM seq_1_to_{ITEMS};"
        ),
    };
    src.exec(&sql).await;
}

/// A session that runs one transaction's SQL at a time.
enum Session {
    Pg(tokio_postgres::Client),
    My(mysql_async::Conn),
}

impl Session {
    async fn open(db: &Db) -> Session {
        match db {
            Db::Pg(u) => Session::Pg(pg_client(u).await),
            Db::My(u) => Session::My(mysql_conn(u).await),
        }
    }

    async fn run(&mut self, sql: &str) {
        match self {
            Session::Pg(c) => c
                .batch_execute(sql)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}")),
            Session::My(c) => {
                use mysql_async::prelude::Queryable;
                c.query_drop(sql)
                    .await
                    .unwrap_or_else(|e| panic!("{sql}: {e}"))
            }
        }
    }
}

/// The workload, running until `stop`: transfers, and item inserts,
/// updates and deletes, some in the same transaction as a transfer.
/// Returns how many transactions committed.
pub(crate) fn start_workload(
    src: &Db,
    seed: u64,
    stop: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<u64> {
    let src = src.clone();
    tokio::spawn(async move {
        let mut s = Session::open(&src).await;
        let mut rng = Rng::new(seed);
        let mut next_item = ITEMS + 1;
        let mut done = 0u64;
        while !stop.load(Ordering::SeqCst) {
            let (a, b, m) = (
                rng.below(ACCOUNTS) + 1,
                rng.below(ACCOUNTS) + 1,
                rng.below(50),
            );
            let mut sql = format!(
                "BEGIN; UPDATE acct SET bal = bal - {m} WHERE id = {a}; \
                 UPDATE acct SET bal = bal + {m} WHERE id = {b};"
            );
            match rng.below(5) {
                0 => {
                    sql.push_str(&format!(
                        " INSERT INTO items (id, v, note) VALUES ({next_item}, {m}, 'new');"
                    ));
                    next_item += 1;
                }
                1 => sql.push_str(&format!(
                    " UPDATE items SET v = v + 1, note = 'upd {m}' WHERE id = {};",
                    rng.below(next_item) + 1
                )),
                2 => sql.push_str(&format!(
                    " DELETE FROM items WHERE id = {};",
                    rng.below(next_item) + 1
                )),
                _ => {}
            }
            sql.push_str(" COMMIT;");
            s.run(&sql).await;
            done += 1;
            // Leaves the two cores some air: a few hundred per second.
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        done
    })
}

/// `ferry sync` as a child process (to be stopped or killed).
pub(crate) fn spawn_sync(src: &DbUrl, dst: &DbUrl, slot: &str, extra: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_ferry"))
        .args(["sync", "--source", &src.expose(), "--target", &dst.expose()])
        .args([
            "--tables",
            "acct,items",
            "--slot",
            slot,
            "--keep-slot",
            "--quiet",
        ])
        .args(extra)
        .env(
            "FERRY_STATE_DIR",
            std::env::temp_dir().join("ferry-e2e-state"),
        )
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start ferry sync")
}

/// Runs the copy while the workload writes, follows with a sync while it
/// still writes, stops the sync with SIGTERM (a clean stop), stops the
/// workload, drains with `--until now`, then checks.
async fn during_copy_and_sync(src: Db, dst: DbUrl, slot: &str) {
    let seed = seed();
    seed_tables(&src).await;
    let stop = Arc::new(AtomicBool::new(false));
    let writer = start_workload(&src, seed, stop.clone());
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (s, d, sl) = (src.url().clone(), dst.clone(), slot.to_string());
    tokio::task::spawn_blocking(move || {
        copy_ok(
            &s,
            &d,
            &[
                "--tables",
                "acct,items",
                "--cdc-slot",
                &sl,
                "--min-range-rows",
                "1000",
            ],
        )
    })
    .await
    .unwrap();
    let mut child = spawn_sync(src.url(), &dst, slot, &[]);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    // SIGTERM: the sync ends at a transaction boundary, exit 0.
    let term = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let out = super::mysql::wait_exit(&mut child, Duration::from_secs(30));
    assert_eq!(
        out.status.code(),
        Some(0),
        "SIGTERM stops cleanly: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    stop.store(true, Ordering::SeqCst);
    let written = writer.await.unwrap();
    assert!(written > 100, "the workload ran ({written} transactions)");
    let run = sync(
        src.url(),
        &dst,
        &["--tables", "acct,items", "--slot", slot, "--until", "now"],
    );
    assert_eq!(run.code, 0, "sync:\n{}", run.all_output());
    assert_eq!(
        Db::of(&dst).total().await.as_deref(),
        Some(TOTAL),
        "seed {seed}"
    );
    verify_equal(src.url(), &dst, "acct,items");
    if let Db::Pg(u) = &src {
        assert_eq!(slots(u, slot).await, 0, "the slot is dropped at the end");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workload_pg_to_pg_during_copy_and_sync_keeps_the_total_and_verifies() {
    let slot = format!("ferry_wl_pp_{}", std::process::id());
    during_copy_and_sync(Db::Pg(pg_database().await), pg_database().await, &slot).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workload_pg_to_mariadb_during_copy_and_sync_keeps_the_total_and_verifies() {
    let slot = format!("ferry_wl_pm_{}", std::process::id());
    during_copy_and_sync(Db::Pg(pg_database().await), mysql_database().await, &slot).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workload_mariadb_to_pg_during_copy_and_sync_keeps_the_total_and_verifies() {
    during_copy_and_sync(Db::My(mysql_database().await), pg_database().await, "wl_mp").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workload_mariadb_to_mariadb_during_copy_and_sync_keeps_the_total_and_verifies() {
    during_copy_and_sync(
        Db::My(mysql_database().await),
        mysql_database().await,
        "wl_mm",
    )
    .await;
}

/// `kill -9` of the sync at random points while the workload writes, four
/// times, then a drain: no change lost or applied twice.
async fn killed_and_restarted(src: Db, dst: DbUrl, slot: &str) {
    let seed = seed();
    let mut rng = Rng::new(seed ^ 0x5eed);
    seed_tables(&src).await;
    copy_ok(
        src.url(),
        &dst,
        &[
            "--tables",
            "acct,items",
            "--cdc-slot",
            slot,
            "--min-range-rows",
            "1000",
        ],
    );
    let stop = Arc::new(AtomicBool::new(false));
    let writer = start_workload(&src, seed, stop.clone());
    for round in 0..4 {
        let mut child = spawn_sync(src.url(), &dst, slot, &["--group-changes", "20"]);
        let after = 300 + rng.below(900);
        tokio::time::sleep(Duration::from_millis(after)).await;
        child.kill().expect("kill -9"); // SIGKILL
        child.wait().unwrap();
        eprintln!("round {round}: killed after {after} ms");
    }
    stop.store(true, Ordering::SeqCst);
    writer.await.unwrap();
    let run = sync(
        src.url(),
        &dst,
        &["--tables", "acct,items", "--slot", slot, "--until", "now"],
    );
    assert_eq!(run.code, 0, "sync (seed {seed}):\n{}", run.all_output());
    assert_eq!(
        Db::of(&dst).total().await.as_deref(),
        Some(TOTAL),
        "seed {seed}"
    );
    verify_equal(src.url(), &dst, "acct,items");
    if let Db::Pg(u) = &src {
        assert_eq!(slots(u, slot).await, 0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pg_sync_killed_mid_stream_and_restarted_loses_and_doubles_nothing() {
    let slot = format!("ferry_sync_k_{}", std::process::id());
    killed_and_restarted(Db::Pg(pg_database().await), pg_database().await, &slot).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pg_sync_into_mariadb_killed_and_restarted_loses_and_doubles_nothing() {
    let slot = format!("ferry_sync_km_{}", std::process::id());
    killed_and_restarted(Db::Pg(pg_database().await), mysql_database().await, &slot).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mariadb_sync_into_mariadb_killed_and_restarted_loses_and_doubles_nothing() {
    killed_and_restarted(
        Db::My(mysql_database().await),
        mysql_database().await,
        "kill_mm",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mariadb_sync_into_pg_killed_and_restarted_loses_and_doubles_nothing() {
    killed_and_restarted(
        Db::My(mysql_database().await),
        pg_database().await,
        "kill_mp",
    )
    .await;
}
