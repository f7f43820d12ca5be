//! `scripts/demo.sh`: ferry's main job end to end on throwaway local servers.
//!
//! Starts PostgreSQL and MariaDB, loads a small shop (customers, orders with
//! enums, JSON, arrays, time zones, emoji, NULLs), copies it PostgreSQL →
//! MariaDB → PostgreSQL with the real `ferry` binary, proves each hop with
//! `ferry verify`, then checks with the servers' own SQL that the round trip
//! kept every row and value; last, it copies the shop into a SQLite file
//! and verifies that too. Each copy and verify writes its HTML report
//! under `target/demo-report/`.
//! `--rows N` sets the number of orders (default 200000).
//!
//! `--sqlite` needs no server at all: it writes the shop into a SQLite file
//! (`target/demo/shop.db`), copies it into another (`target/demo/copy.db`)
//! with `ferry copy`, proves it with `ferry verify`, and checks with
//! SQLite's own SQL (`EXCEPT` both ways over the attached copy) that every
//! row arrived unchanged. `--rows` defaults to 100000 there.

use std::process::{Command, ExitCode};

use ferry_testkit::{mysql_exec, pg_exec, pg_rows, start_mariadb, start_postgres};

const SAMPLE: &str = r#"
CREATE TYPE order_status AS ENUM ('new', 'paid', 'shipped', 'returned');
CREATE TABLE customers (
  id integer PRIMARY KEY,
  name text NOT NULL,
  email varchar(120),
  signed_up timestamptz NOT NULL,
  vip boolean NOT NULL,
  balance numeric(12,2)
);
INSERT INTO customers
SELECT g,
       CASE WHEN g % 97 = 0 THEN 'Zoë 😀 ' || g ELSE 'customer ' || g END,
       CASE WHEN g % 10 = 0 THEN NULL WHEN g % 11 = 0 THEN '' ELSE 'c' || g || '@example.com' END,
       timestamptz '2020-01-01 00:00:00+00' + (g || ' minutes')::interval,
       g % 5 = 0,
       (g % 100000) / 100.0
FROM generate_series(1, {customers}) g;
CREATE TABLE orders (
  id bigint PRIMARY KEY,
  customer_id integer NOT NULL,
  placed_at timestamp(6) NOT NULL,
  total numeric(12,2) NOT NULL,
  status order_status NOT NULL,
  items jsonb,
  tags text[],
  note text,
  ship_from inet
);
INSERT INTO orders
SELECT g,
       1 + g % {customers},
       timestamp '2024-01-01' + (g || ' seconds')::interval + (g % 1000000 || ' microseconds')::interval,
       (g % 99999) / 100.0,
       (ARRAY['new','paid','shipped','returned']::order_status[])[1 + g % 4],
       jsonb_build_object('sku', 'SKU-' || (g % 500), 'qty', g % 7, 'gift', g % 3 = 0),
       CASE WHEN g % 4 = 0 THEN ARRAY['fragile', 'tab	inside'] ELSE '{}' END,
       CASE WHEN g % 13 = 0 THEN E'multi\nline \\ note' WHEN g % 17 = 0 THEN NULL ELSE '' END,
       ('10.' || (g % 256) || '.0.1')::inet
FROM generate_series(1, {orders}) g;
ANALYZE;
"#;

/// Columns that keep their exact text through PostgreSQL → MariaDB → PostgreSQL.
const CHECKS: &[(&str, &str)] = &[
    (
        "customers",
        "id::text || '|' || name || '|' || coalesce(email, '<null>') || '|' || \
         to_char(signed_up AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '|' || vip::int || '|' || coalesce(balance::text, '<null>')",
    ),
    (
        "orders",
        "id::text || '|' || customer_id || '|' || to_char(placed_at, 'YYYY-MM-DD HH24:MI:SS.US') || '|' || total || '|' || \
         status::text || '|' || coalesce(items::jsonb::text, '<null>') || '|' || coalesce(array_to_json(tags)::jsonb::text, tags_json) || '|' || \
         coalesce(note, '<null>') || '|' || host(ship_from::inet)",
    ),
];

/// The shop in SQLite, made with SQLite's own SQL: declared types of the
/// kinds applications write (AUTOINCREMENT key, NUMERIC money held as
/// REAL, BOOLEAN, DATETIME text with fractions, JSON, a CHECK, a foreign
/// key and an index), emoji, newlines, NULL next to '', BLOBs with NUL.
const SQLITE_SAMPLE: &str = r#"
PRAGMA journal_mode = WAL;
CREATE TABLE customers (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL,
  email VARCHAR(120),
  signed_up DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
  vip BOOLEAN NOT NULL DEFAULT 0,
  balance NUMERIC(12,2)
);
CREATE TABLE orders (
  id INTEGER PRIMARY KEY,
  customer_id INTEGER NOT NULL REFERENCES customers (id),
  placed_at DATETIME NOT NULL,
  total NUMERIC(12,2) NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('new', 'paid', 'shipped', 'returned')),
  items JSON,
  note TEXT,
  receipt BLOB
);
CREATE INDEX orders_by_customer ON orders (customer_id, placed_at);
WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < {customers})
INSERT INTO customers (id, name, email, signed_up, vip, balance)
SELECT n,
       CASE WHEN n % 97 = 0 THEN 'Zoë 😀 ' || n ELSE 'customer ' || n END,
       CASE WHEN n % 10 = 0 THEN NULL WHEN n % 11 = 0 THEN '' ELSE 'c' || n || '@example.com' END,
       datetime('2020-01-01', '+' || n || ' minutes'),
       n % 5 = 0,
       (n % 100000) / 100.0
FROM g;
WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < {orders})
INSERT INTO orders
SELECT n,
       1 + n % {customers},
       strftime('%Y-%m-%d %H:%M:%f', '2024-01-01', '+' || (n + (n % 1000) / 1000.0) || ' seconds'),
       (n % 99999) / 100.0,
       CASE n % 4 WHEN 0 THEN 'new' WHEN 1 THEN 'paid' WHEN 2 THEN 'shipped' ELSE 'returned' END,
       json_object('sku', 'SKU-' || (n % 500), 'qty', n % 7, 'gift', json(CASE WHEN n % 3 = 0 THEN 'true' ELSE 'false' END)),
       CASE WHEN n % 13 = 0 THEN 'multi' || char(10) || 'line \ note' WHEN n % 17 = 0 THEN NULL ELSE '' END,
       CASE WHEN n % 7 = 0 THEN CAST(x'00ff00' || n AS BLOB) END
FROM g;
"#;

fn main() -> ExitCode {
    let sqlite_only = std::env::args().any(|a| a == "--sqlite");
    let rows: Option<u64> = std::env::args()
        .skip_while(|a| a != "--rows")
        .nth(1)
        .and_then(|v| v.parse().ok());
    if sqlite_only {
        return match run_sqlite(rows.unwrap_or(100_000)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("demo failed: {e}");
                ExitCode::from(2)
            }
        };
    }
    let orders = rows.unwrap_or(200_000);
    match tokio::runtime::Runtime::new() {
        Ok(rt) => match rt.block_on(run(orders)) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("demo failed: {e}");
                ExitCode::from(2)
            }
        },
        Err(e) => {
            eprintln!("demo failed: {e}");
            ExitCode::from(2)
        }
    }
}

/// The `ferry` binary built next to this one.
fn ferry_binary() -> Result<std::path::PathBuf, String> {
    let ferry = std::env::current_exe()
        .map_err(|e| e.to_string())?
        .with_file_name("ferry");
    if !ferry.exists() {
        return Err(format!(
            "{} not built (run scripts/demo.sh)",
            ferry.display()
        ));
    }
    Ok(ferry)
}

/// Runs `ferry <args>`; fails with `what` when it does not exit 0.
fn ferry_ok(ferry: &std::path::Path, args: &[&str], what: &str) -> Result<(), String> {
    eprintln!("== ferry {}", args.join(" "));
    let status = Command::new(ferry)
        .args(args)
        .status()
        .map_err(|e| e.to_string())?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{what} ({status})"))
    }
}

/// The server-free demo: a SQLite file into another, verified, and checked
/// with SQLite's own SQL.
fn run_sqlite(orders: u64) -> Result<(), String> {
    let ferry = ferry_binary()?;
    let dir = std::path::Path::new("target/demo");
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let (shop, copy) = (dir.join("shop.db"), dir.join("copy.db"));
    for f in [&shop, &copy] {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", f.display()));
        }
    }
    let customers = (orders / 10).max(1);
    eprintln!(
        "== writing a sample shop into {}: {customers} customers, {orders} orders",
        shop.display()
    );
    let conn = rusqlite::Connection::open(&shop).map_err(|e| e.to_string())?;
    conn.execute_batch(
        &SQLITE_SAMPLE
            .replace("{customers}", &customers.to_string())
            .replace("{orders}", &orders.to_string()),
    )
    .map_err(|e| e.to_string())?;
    drop(conn);
    let (from, to) = (
        format!("sqlite://{}", shop.display()),
        format!("sqlite://{}", copy.display()),
    );
    ferry_ok(
        &ferry,
        &["copy", "--source", &from, "--target", &to],
        "ferry copy failed",
    )?;
    ferry_ok(
        &ferry,
        &["verify", "--source", &from, "--target", &to],
        "ferry verify found differences",
    )?;
    eprintln!("== checking with SQLite's own SQL");
    let conn = rusqlite::Connection::open(&shop).map_err(|e| e.to_string())?;
    conn.execute("ATTACH ?1 AS copy", [copy.display().to_string()])
        .map_err(|e| e.to_string())?;
    let mut ok = true;
    // Timestamps are compared as SQLite reads them (julianday): ferry
    // writes one ISO form, fraction digits only as needed (`01.5`, where
    // strftime's `%f` wrote `01.500`).
    for (table, columns) in [
        (
            "customers",
            "id, name, email, julianday(signed_up), vip, balance",
        ),
        (
            "orders",
            "id, customer_id, julianday(placed_at), total, status, items, note, receipt",
        ),
    ] {
        let count = |sql: &str| -> Result<i64, String> {
            conn.query_row(sql, [], |r| r.get(0))
                .map_err(|e| e.to_string())
        };
        let rows = count(&format!("SELECT count(*) FROM main.{table}"))?;
        let missing = count(&format!(
            "SELECT count(*) FROM (SELECT {columns} FROM main.{table} EXCEPT SELECT {columns} FROM copy.{table})"
        ))?;
        let extra = count(&format!(
            "SELECT count(*) FROM (SELECT {columns} FROM copy.{table} EXCEPT SELECT {columns} FROM main.{table})"
        ))?;
        let same = missing == 0 && extra == 0;
        ok &= same;
        println!(
            "{table:<10} rows {rows:>9}  {}",
            if same {
                "every row identical (EXCEPT both ways is empty)"
            } else {
                "ROWS DIFFER"
            }
        );
    }
    if ok {
        println!("demo: every row survived SQLite → SQLite unchanged, no server needed");
        Ok(())
    } else {
        Err("the copy differs".into())
    }
}

async fn run(orders: u64) -> Result<(), String> {
    let ferry = ferry_binary()?;
    eprintln!("== starting throwaway PostgreSQL and MariaDB on loopback");
    let pg = tokio::task::spawn_blocking(|| start_postgres(None))
        .await
        .map_err(|e| e.to_string())??
        .leak_url();
    let my = tokio::task::spawn_blocking(|| start_mariadb(None))
        .await
        .map_err(|e| e.to_string())??
        .leak_url();
    pg_exec(&pg, "CREATE DATABASE shop").await;
    pg_exec(&pg, "CREATE DATABASE shop_back").await;
    mysql_exec(&my, "CREATE DATABASE shop").await;
    let (pg_shop, pg_back, my_shop) = (
        pg.with_database("shop"),
        pg.with_database("shop_back"),
        my.with_database("shop"),
    );
    let customers = (orders / 10).max(1);
    eprintln!("== loading sample data: {customers} customers, {orders} orders");
    pg_exec(
        &pg_shop,
        &SAMPLE
            .replace("{customers}", &customers.to_string())
            .replace("{orders}", &orders.to_string()),
    )
    .await;

    // The HTML reports of each hop land here (one self-contained file each).
    let reports = std::path::Path::new("target/demo-report");
    for (from, to, what, hop) in [
        (&pg_shop, &my_shop, "PostgreSQL → MariaDB", "pg-to-mariadb"),
        (&my_shop, &pg_back, "MariaDB → PostgreSQL", "mariadb-to-pg"),
    ] {
        eprintln!("== ferry copy {what}  (ferry copy --source {from} --target {to})");
        let copy_report = reports.join(format!("copy-{hop}.html"));
        let verify_report = reports.join(format!("verify-{hop}.html"));
        let status = Command::new(&ferry)
            .args(["copy", "--source", &from.expose(), "--target", &to.expose()])
            .arg("--report")
            .arg(&copy_report)
            .status()
            .map_err(|e| e.to_string())?;
        if !status.success() {
            return Err(format!("ferry copy {what} failed ({status})"));
        }
        eprintln!("== ferry verify {what}");
        let status = Command::new(&ferry)
            .args([
                "verify",
                "--source",
                &from.expose(),
                "--target",
                &to.expose(),
            ])
            .arg("--report")
            .arg(&verify_report)
            .status()
            .map_err(|e| e.to_string())?;
        if !status.success() {
            return Err(format!("ferry verify {what} found differences ({status})"));
        }
    }

    eprintln!("== checking the round trip with the servers' own SQL");
    let mut ok = true;
    for (table, expr) in CHECKS {
        // The round trip turns text[] into json; compare both as JSON text.
        let expr_src = expr.replace("tags_json", "'<null>'");
        let expr_back = expr.replace(
            "coalesce(array_to_json(tags)::jsonb::text, tags_json)",
            "coalesce(tags::jsonb::text, '<null>')",
        );
        let q = |e: &str| {
            format!("SELECT count(*), md5(string_agg({e}, E'\\n' ORDER BY id)) FROM {table}")
        };
        let a = pg_rows(&pg_shop, &q(&expr_src)).await;
        let b = pg_rows(&pg_back, &q(&expr_back)).await;
        let same = a == b;
        ok &= same;
        println!(
            "{table:<10} rows {:>9}  md5 {}  {}",
            a[0][0].as_deref().unwrap_or("?"),
            a[0][1].as_deref().unwrap_or("?"),
            if same {
                "round trip identical"
            } else {
                "ROUND TRIP DIFFERS"
            }
        );
    }
    if !ok {
        return Err("round trip differs".into());
    }
    println!("demo: every row survived PostgreSQL → MariaDB → PostgreSQL unchanged");

    // One more hop, into a file: PostgreSQL → SQLite, proven by verify.
    let dir = std::path::Path::new("target/demo");
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let file = dir.join("shop-from-pg.db");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
    }
    let sqlite = format!("sqlite://{}", file.display());
    ferry_ok(
        &ferry,
        &[
            "copy",
            "--source",
            &pg_shop.expose(),
            "--target",
            &sqlite,
            "--quiet",
        ],
        "ferry copy PostgreSQL → SQLite failed",
    )?;
    ferry_ok(
        &ferry,
        &["verify", "--source", &pg_shop.expose(), "--target", &sqlite],
        "ferry verify PostgreSQL → SQLite found differences",
    )?;
    println!(
        "demo: PostgreSQL → SQLite ({}) verified equal",
        file.display()
    );
    Ok(())
}
