//! Parallel copies from one consistent snapshot (issue 4).
//!
//! While a multi-worker copy runs, a writer commits numbered transactions
//! against the source. Transaction `k` updates two rows far apart (so they
//! fall in different ranges, read by different workers at different times),
//! deletes a third and inserts a fourth, all stamping `k`. Per one snapshot,
//! the target must hold exactly the effects of transactions `1..=K` for some
//! `K`, each entirely, and none of the later ones. Per-session snapshots
//! (or a torn read) would show a transaction in one range and not another.
//!
//! The range-planning tests check, through the library, that ranges of
//! sparse, skewed, composite, UUID, text and keyless tables cover every row
//! exactly once and stay balanced.

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;

use ferry_core::range::{RangeOptions, SplitMethod};
use ferry_core::{DbUrl, Engine};
use ferry_engine::{plan_tables, Adapter, Selection};
use ferry_mapping::Mappings;
use ferry_testkit::{mysql_database, mysql_exec, mysql_rows, pg_database, pg_exec, pg_rows};

use crate::util::ferry;

/// Rows in the copied table: enough for several ranges.
const ROWS: i64 = 120_000;
const HALF: i64 = ROWS / 2;

/// The statements of writer transaction `k` (PostgreSQL and MySQL alike).
fn txn_sql(k: i64) -> Vec<String> {
    let (x, y, z) = (2 * k, HALF + 2 * k, 2 * k + 1);
    vec![
        format!("UPDATE t SET v = {k} WHERE id IN ({x}, {y})"),
        format!("DELETE FROM t WHERE id = {z}"),
        format!(
            "INSERT INTO t (id, v, pad) VALUES ({}, {k}, 'new')",
            ROWS + k
        ),
    ]
}

/// Checks the target against the numbered transactions; returns `K`.
fn check_prefix(rows: &[Vec<Option<String>>], committed: i64) -> i64 {
    let mut v = std::collections::HashMap::new();
    for r in rows {
        let id: i64 = r[0].as_deref().unwrap().parse().unwrap();
        let val: i64 = r[1].as_deref().unwrap().parse().unwrap();
        v.insert(id, val);
    }
    let applied = |k: i64| v.contains_key(&(ROWS + k));
    let big_k = (1..=committed).take_while(|&k| applied(k)).count() as i64;
    for k in 1..=committed {
        let (x, y, z) = (2 * k, HALF + 2 * k, 2 * k + 1);
        let want_new = k <= big_k;
        assert_eq!(applied(k), want_new, "insert of txn {k} (K = {big_k})");
        let expect = if want_new { k } else { 0 };
        assert_eq!(v.get(&x), Some(&expect), "row {x} of txn {k} (K = {big_k})");
        assert_eq!(v.get(&y), Some(&expect), "row {y} of txn {k} (K = {big_k})");
        assert_eq!(
            v.contains_key(&z),
            !want_new,
            "delete of txn {k} (K = {big_k})"
        );
    }
    assert_eq!(
        rows.len() as i64,
        ROWS,
        "every transaction inserts one row and deletes one"
    );
    big_k
}

fn json_copy(source: &DbUrl, target: &DbUrl, extra: &[&str]) -> serde_json::Value {
    let (s, t) = (source.expose(), target.expose());
    let mut args = vec![
        "copy",
        "--source",
        &s,
        "--target",
        &t,
        "--quiet",
        "--format",
        "json",
        "--workers",
        "4",
    ];
    args.extend_from_slice(extra);
    let run = ferry(&args);
    assert_eq!(run.code, 0, "ferry copy failed:\n{}", run.all_output());
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.stdout))
}

/// Runs `write(k)` for k = 1, 2, … until stopped; returns the last committed k.
fn spawn_writer<F, Fut>(write: F) -> (Arc<AtomicBool>, Arc<AtomicI64>, tokio::task::JoinHandle<()>)
where
    F: Fn(i64) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicI64::new(0));
    let handle = {
        let (stop, done) = (stop.clone(), done.clone());
        tokio::spawn(async move {
            let mut k = 1;
            while !stop.load(Ordering::SeqCst) && k < HALF / 2 - 1 {
                write(k).await;
                done.store(k, Ordering::SeqCst);
                k += 1;
                tokio::time::sleep(std::time::Duration::from_millis(2)).await;
            }
        })
    };
    (stop, done, handle)
}

async fn wait_for(done: &AtomicI64, n: i64) {
    while done.load(Ordering::SeqCst) < n {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pg_source_changes_during_copy_are_all_in_or_all_out() {
    let (pg, my) = (pg_database().await, mysql_database().await);
    pg_exec(
        &pg,
        &format!(
            "CREATE TABLE t (id bigint PRIMARY KEY, v bigint NOT NULL, pad text);
             INSERT INTO t SELECT g, 0, repeat('x', 200) FROM generate_series(1, {ROWS}) g;"
        ),
    )
    .await;
    let client = Arc::new(ferry_testkit::pg_client(&pg).await);
    let (stop, done, writer) = spawn_writer(move |k| {
        let client = client.clone();
        async move {
            let sql = format!("BEGIN; {}; COMMIT", txn_sql(k).join("; "));
            client.batch_execute(&sql).await.expect("writer txn");
        }
    });
    wait_for(&done, 5).await;
    let slot = format!("ferry_test_{}", std::process::id());
    let (src, dst) = (pg.clone(), my.clone());
    let slot_arg = slot.clone();
    let report =
        tokio::task::spawn_blocking(move || json_copy(&src, &dst, &["--cdc-slot", &slot_arg]))
            .await
            .unwrap();
    wait_for(&done, done.load(Ordering::SeqCst) + 5).await;
    stop.store(true, Ordering::SeqCst);
    writer.await.unwrap();
    let committed = done.load(Ordering::SeqCst);

    let splits = &report["splits"][0];
    assert!(splits["ranges"].as_u64().unwrap() > 1, "{report}");
    assert_eq!(report["snapshot"]["consistency"], "exact", "{report}");
    let pos = &report["snapshot"]["position"];
    assert_eq!(pos["kind"], "pg_slot", "{report}");
    assert_eq!(pos["slot"], slot.as_str());
    // The slot exists and starts at the snapshot's position.
    let lsn = pg_rows(
        &pg,
        &format!(
            "SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = '{slot}'"
        ),
    )
    .await;
    assert_eq!(lsn[0][0].as_deref(), pos["consistent_point"].as_str());
    pg_exec(&pg, &format!("SELECT pg_drop_replication_slot('{slot}')")).await;

    let rows = mysql_rows(&my, "SELECT id, v FROM t ORDER BY id").await;
    let k = check_prefix(&rows, committed);
    assert!(
        k >= 5 && k < committed,
        "K = {k} of {committed}: the copy raced no writes"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mariadb_source_changes_during_copy_are_all_in_or_all_out() {
    let (my, pg) = (mysql_database().await, pg_database().await);
    mysql_exec(
        &my,
        "CREATE TABLE t (id bigint PRIMARY KEY, v bigint NOT NULL, pad text) ENGINE=InnoDB",
    )
    .await;
    mysql_exec(
        &my,
        &format!(
            "SET SESSION max_recursive_iterations = 1000000; INSERT INTO t WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g \
             WHERE n < {ROWS}) SELECT n, 0, REPEAT('x', 200) FROM g"
        ),
    )
    .await;
    let url = my.clone();
    let (stop, done, writer) = spawn_writer(move |k| {
        let url = url.clone();
        async move {
            let sql = format!("START TRANSACTION; {}; COMMIT", txn_sql(k).join("; "));
            mysql_exec(&url, &sql).await;
        }
    });
    wait_for(&done, 5).await;
    let (src, dst) = (my.clone(), pg.clone());
    let report = tokio::task::spawn_blocking(move || json_copy(&src, &dst, &["--lock-source"]))
        .await
        .unwrap();
    wait_for(&done, done.load(Ordering::SeqCst) + 5).await;
    stop.store(true, Ordering::SeqCst);
    writer.await.unwrap();
    let committed = done.load(Ordering::SeqCst);

    assert!(
        report["splits"][0]["ranges"].as_u64().unwrap() > 1,
        "{report}"
    );
    assert_eq!(report["snapshot"]["consistency"], "exact", "{report}");
    let pos = &report["snapshot"]["position"];
    assert_eq!(pos["kind"], "my_sql_binlog", "{report}");
    assert!(
        pos["file"].is_string() && pos["position"].is_u64(),
        "{report}"
    );

    let rows = pg_rows(&pg, "SELECT id, v FROM public.t ORDER BY id").await;
    let k = check_prefix(&rows, committed);
    assert!(
        k >= 5 && k < committed,
        "K = {k} of {committed}: the copy raced no writes"
    );
}

/// Plans `table`'s ranges with small ranges, reads every range, and returns
/// the rows per range plus the first column of every row read.
async fn read_all_ranges(
    url: &DbUrl,
    table: &str,
    max_ranges: usize,
) -> (SplitMethod, Vec<u64>, Vec<String>) {
    let source = Adapter::new(url.clone());
    let plans = plan_tables(
        &source,
        Engine::Postgres,
        &Mappings::builtin().unwrap(),
        &Selection {
            tables: vec![table.to_string()],
            ..Selection::default()
        },
    )
    .await
    .unwrap();
    let plan = &plans[0];
    let split = source
        .plan_ranges(
            plan,
            &RangeOptions {
                max_ranges,
                min_range_rows: 1000,
            },
        )
        .await
        .unwrap();
    let mut counts = Vec::new();
    let mut keys = Vec::new();
    for range in &split.ranges {
        let (tx, mut rx) = tokio::sync::mpsc::channel(4);
        let (n, batches) = tokio::join!(
            source.read_range(
                plan,
                range,
                None,
                ferry_core::batch::BatchLimit::rows(1000),
                tx
            ),
            async {
                let mut out = Vec::new();
                while let Some(b) = rx.recv().await {
                    out.push(b);
                }
                out
            }
        );
        let n = n.unwrap();
        counts.push(n);
        for b in batches {
            for i in 0..b.num_rows() {
                let row: Vec<String> = b.columns().iter().map(|c| arrow_value(c, i)).collect();
                keys.push(row.join("|"));
            }
        }
    }
    (split.method, counts, keys)
}

fn arrow_value(col: &arrow_array::ArrayRef, i: usize) -> String {
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Int32Type, Int64Type};
    match col.data_type() {
        arrow_schema::DataType::Int64 => col.as_primitive::<Int64Type>().value(i).to_string(),
        arrow_schema::DataType::Int32 => col.as_primitive::<Int32Type>().value(i).to_string(),
        arrow_schema::DataType::Utf8 => col.as_string::<i32>().value(i).to_string(),
        arrow_schema::DataType::UInt64 => col
            .as_primitive::<arrow_array::types::UInt64Type>()
            .value(i)
            .to_string(),
        arrow_schema::DataType::FixedSizeBinary(_) => {
            format!("{:?}", col.as_fixed_size_binary().value(i))
        }
        other => panic!("unexpected key type {other}"),
    }
}

fn assert_exactly_once(mut keys: Vec<String>, expected: usize, what: &str) {
    assert_eq!(keys.len(), expected, "{what}: rows read");
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), expected, "{what}: a row was read twice");
}

fn assert_balanced(counts: &[u64], what: &str) {
    assert!(counts.len() >= 4, "{what}: not split: {counts:?}");
    let total: u64 = counts.iter().sum();
    let fair = total / counts.len() as u64;
    for &c in counts {
        assert!(
            c < fair * 3 && c > fair / 3,
            "{what}: unbalanced {counts:?}"
        );
    }
}

#[tokio::test]
async fn pg_ranges_cover_every_row_once_and_stay_balanced() {
    let pg = pg_database().await;
    pg_exec(
        &pg,
        "CREATE TABLE sparse (id bigint PRIMARY KEY, x int);
         INSERT INTO sparse SELECT (g::bigint * g * g), g FROM generate_series(1, 20000) g;
         CREATE TABLE skewed (id int PRIMARY KEY);
         INSERT INTO skewed SELECT g FROM generate_series(1, 18000) g;
         INSERT INTO skewed SELECT 1000000 + g * 1000 FROM generate_series(1, 2000) g;
         CREATE TABLE comp (t text, u uuid, n int, PRIMARY KEY (t, u));
         INSERT INTO comp SELECT (ARRAY['a','B','é','a b', E'tab\\t', '😀'])[1 + g % 6] || (g % 50),
                md5(g::text)::uuid, g FROM generate_series(1, 20000) g;
         CREATE TABLE ids (u uuid PRIMARY KEY);
         INSERT INTO ids SELECT md5(g::text)::uuid FROM generate_series(1, 20000) g;
         CREATE TABLE keyless (a int, b text);
         INSERT INTO keyless SELECT g, repeat('y', 100) FROM generate_series(1, 20000) g;
         CREATE TABLE tiny (id int PRIMARY KEY); INSERT INTO tiny VALUES (1), (2);",
    )
    .await;
    for table in ["sparse", "skewed", "comp", "ids"] {
        let (method, counts, keys) = read_all_ranges(&pg, table, 8).await;
        assert_eq!(method, SplitMethod::KeySample, "{table}");
        assert_exactly_once(keys, 20000, table);
        assert_balanced(&counts, table);
    }
    let (method, counts, keys) = read_all_ranges(&pg, "keyless", 8).await;
    assert_eq!(method, SplitMethod::CtidBlocks);
    assert_exactly_once(keys, 20000, "keyless");
    assert_balanced(&counts, "keyless");
    let (method, counts, _) = read_all_ranges(&pg, "tiny", 8).await;
    assert_eq!((method, counts), (SplitMethod::Unsplit, vec![2]));
}

#[tokio::test]
async fn mysql_ranges_cover_every_row_once_and_stay_balanced() {
    let my = mysql_database().await;
    let gen = |n: u32, expr: &str| {
        format!(
            "WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < {n}) \
             SELECT {expr} FROM g"
        )
    };
    for sql in [
        "CREATE TABLE sparse (id bigint unsigned PRIMARY KEY, x int)".to_string(),
        format!("INSERT INTO sparse {}", gen(20000, "n * n * n, n")),
        "CREATE TABLE skewed (id int PRIMARY KEY)".to_string(),
        format!("INSERT INTO skewed {}", gen(18000, "n")),
        format!("INSERT INTO skewed {}", gen(2000, "1000000 + n * 1000")),
        "CREATE TABLE comp (t varchar(40) COLLATE utf8mb4_general_ci, u char(36), n int, \
         PRIMARY KEY (t, u))"
            .to_string(),
        format!(
            "INSERT INTO comp {}",
            gen(
                20000,
                "CONCAT(ELT(1 + n % 6, 'a', 'B', 'é', 'a b', 'tab\\t', '😀'), n % 50), \
                        UUID(), n"
            )
        ),
        "CREATE TABLE keyless (a int, b text)".to_string(),
        format!("INSERT INTO keyless {}", gen(20000, "n, REPEAT('y', 100)")),
    ] {
        mysql_exec(
            &my,
            &format!("SET SESSION max_recursive_iterations = 1000000; {sql}"),
        )
        .await;
    }
    for table in ["sparse", "skewed", "comp"] {
        let (method, counts, keys) = read_all_ranges(&my, table, 8).await;
        assert_eq!(method, SplitMethod::KeySample, "{table}");
        assert_exactly_once(keys, 20000, table);
        assert_balanced(&counts, table);
    }
    let (method, counts, _) = read_all_ranges(&my, "keyless", 8).await;
    assert_eq!((method, counts), (SplitMethod::SingleStream, vec![20000]));
}
