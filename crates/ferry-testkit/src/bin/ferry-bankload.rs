//! The sync benchmark's load and lag probe (bench/sync.sh), the same for a
//! PostgreSQL and a MariaDB source.
//!
//! `setup`: creates `acct` (id, bal) with N accounts of 1000 and `probe`
//! (one row) on the source.
//!
//! `run`: for `--seconds`, runs bank transfers (one transaction moving money
//! between two accounts, lower id first so two clients never deadlock) at
//! `--rate` transactions per second over `--clients` sessions, scheduled as
//! pgbench `-R` schedules them (a late transaction does not shift the next
//! ones); `--rate 0` runs no transfers (pgbench drives the load). Meanwhile
//! it bumps the probe row ten times a second on the source and polls the
//! target every 5 ms: the lag of a probe is the time from its commit
//! returning on the source to it being visible on the target, both read on
//! this process's clock. Prints one JSON line: transactions, achieved rate,
//! and probe lag p50/p99/max in seconds.
//!
//!   ferry-bankload setup --source URL [--accounts N]
//!   ferry-bankload run --source URL --target URL [--rate R] [--seconds S] [--clients C]

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ferry_core::{DbUrl, Engine};

/// One session on either engine that runs a statement batch.
enum Session {
    Pg(tokio_postgres::Client),
    My(mysql_async::Conn),
}

impl Session {
    async fn open(url: &DbUrl) -> Session {
        match url.engine {
            Engine::Postgres => Session::Pg(ferry_testkit::pg_client(url).await),
            Engine::MySql => Session::My(ferry_testkit::mysql_conn(url).await),
            Engine::Sqlite | Engine::Mssql => {
                panic!("the bank load runs against PostgreSQL or MariaDB")
            }
        }
    }

    async fn run(&mut self, sql: &str) {
        match self {
            Session::Pg(c) => c.batch_execute(sql).await.expect("statement"),
            Session::My(c) => {
                use mysql_async::prelude::Queryable;
                c.query_drop(sql).await.expect("statement")
            }
        }
    }

    async fn probe_seq(&mut self) -> Option<i64> {
        match self {
            Session::Pg(c) => c
                .query_opt("SELECT seq FROM probe WHERE id = 1", &[])
                .await
                .ok()
                .flatten()
                .map(|r| r.get(0)),
            Session::My(c) => {
                use mysql_async::prelude::Queryable;
                c.query_first("SELECT seq FROM probe WHERE id = 1")
                    .await
                    .ok()
                    .flatten()
            }
        }
    }
}

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn num(args: &[String], name: &str, default: u64) -> u64 {
    arg(args, name)
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn url(args: &[String], name: &str) -> DbUrl {
    let u = arg(args, name).unwrap_or_else(|| panic!("{name} URL required"));
    DbUrl::parse(&u).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("setup") => setup(&url(&args, "--source"), num(&args, "--accounts", 100_000)).await,
        Some("run") => run(&args).await,
        _ => {
            eprintln!("usage: ferry-bankload setup|run --source URL [--target URL] …");
            std::process::exit(2);
        }
    }
}

async fn setup(source: &DbUrl, accounts: u64) {
    let mut s = Session::open(source).await;
    let seed = match source.engine {
        Engine::Postgres => {
            format!("INSERT INTO acct SELECT g, 1000 FROM generate_series(1, {accounts}) g")
        }
        Engine::MySql => format!("INSERT INTO acct SELECT seq, 1000 FROM seq_1_to_{accounts}"),
        Engine::Sqlite | Engine::Mssql => unreachable!("refused by Session::open"),
    };
    s.run(&format!(
        "CREATE TABLE acct (id int PRIMARY KEY, bal bigint NOT NULL); {seed}; \
         CREATE TABLE probe (id int PRIMARY KEY, seq bigint NOT NULL); \
         INSERT INTO probe VALUES (1, 0)"
    ))
    .await;
}

/// xorshift64.
fn next(x: &mut u64) -> u64 {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    *x
}

async fn run(args: &[String]) {
    let (source, target) = (url(args, "--source"), url(args, "--target"));
    let rate = num(args, "--rate", 1000);
    let seconds = num(args, "--seconds", 30);
    let clients = num(args, "--clients", 4).max(1);
    let accounts = num(args, "--accounts", 100_000).max(2);
    let duration = Duration::from_secs(seconds);
    let started = Instant::now();
    let done = Arc::new(AtomicU64::new(0));

    let mut loaders = Vec::new();
    if rate > 0 {
        let every = Duration::from_secs_f64(clients as f64 / rate as f64);
        for c in 0..clients {
            let (source, done) = (source.clone(), done.clone());
            loaders.push(tokio::spawn(async move {
                let mut s = Session::open(&source).await;
                let mut x = 0x9e37_79b9_7f4a_7c15 ^ (c + 1);
                // Clients interleave their schedules.
                let mut due = started + every.mul_f64(c as f64 / clients as f64);
                while started.elapsed() < duration {
                    tokio::time::sleep_until(due.into()).await;
                    due += every;
                    let a = next(&mut x) % accounts + 1;
                    let b = next(&mut x) % accounts + 1;
                    let m = next(&mut x) % 50;
                    let (lo, hi, dlo, dhi) = if a < b { (a, b, -1, 1) } else { (b, a, 1, -1) };
                    s.run(&format!(
                        "BEGIN; UPDATE acct SET bal = bal + {} WHERE id = {lo}; \
                         UPDATE acct SET bal = bal + {} WHERE id = {hi}; COMMIT",
                        dlo * m as i64,
                        dhi * m as i64
                    ))
                    .await;
                    done.fetch_add(1, Ordering::Relaxed);
                }
            }));
        }
    }

    // Probe: written on the source, watched on the target.
    let written: Arc<Mutex<Vec<Instant>>> = Arc::new(Mutex::new(Vec::new()));
    let lags: Arc<Mutex<Vec<f64>>> = Arc::new(Mutex::new(Vec::new()));
    let stop_watch = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (written, lags, stop) = (written.clone(), lags.clone(), stop_watch.clone());
        tokio::spawn(async move {
            let mut t = Session::open(&target).await;
            let mut seen: usize = 0;
            while !stop.load(Ordering::SeqCst) {
                if let Some(seq) = t.probe_seq().await {
                    let now = Instant::now();
                    let seq = usize::try_from(seq).unwrap_or(0);
                    let w = written.lock().expect("probe times");
                    let mut l = lags.lock().expect("lags");
                    while seen < seq.min(w.len()) {
                        l.push(now.duration_since(w[seen]).as_secs_f64());
                        seen += 1;
                    }
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };
    let mut p = Session::open(&source).await;
    let mut n = 0u64;
    while started.elapsed() < duration {
        n += 1;
        p.run(&format!("UPDATE probe SET seq = {n} WHERE id = 1"))
            .await;
        written.lock().expect("probe times").push(Instant::now());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let load_seconds = started.elapsed().as_secs_f64();
    for l in loaders {
        let _ = l.await;
    }
    // Let the last probes arrive (at most 60 s).
    let drain = Instant::now();
    let probes = usize::try_from(n).unwrap_or(usize::MAX);
    while lags.lock().expect("lags").len() < probes && drain.elapsed() < Duration::from_secs(60) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop_watch.store(true, Ordering::SeqCst);
    let _ = watcher.await;
    let mut l = lags.lock().expect("lags").clone();
    l.sort_by(f64::total_cmp);
    // Nearest rank: the smallest lag at or above fraction `p` of the probes.
    let pct = |p: f64| {
        let rank = (1..=l.len()).find(|r| *r as f64 >= l.len() as f64 * p);
        rank.and_then(|r| l.get(r - 1)).copied().unwrap_or(f64::NAN)
    };
    let transactions = done.load(Ordering::Relaxed);
    println!(
        "{{\"transactions\":{transactions},\"seconds\":{load_seconds:.3},\"tps\":{:.1},\
         \"probes\":{n},\"probes_seen\":{},\"lag_p50\":{:.3},\"lag_p99\":{:.3},\"lag_max\":{:.3}}}",
        transactions as f64 / load_seconds,
        l.len(),
        pct(0.5),
        pct(0.99),
        l.last().copied().unwrap_or(f64::NAN)
    );
}
