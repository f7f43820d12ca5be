//! `scripts/demo.sh`: ferry's main job end to end on throwaway local servers.
//!
//! Starts PostgreSQL and MariaDB, loads a small shop (customers, orders with
//! enums, JSON, arrays, time zones, emoji, NULLs), copies it PostgreSQL →
//! MariaDB → PostgreSQL with the real `ferry` binary, proves each hop with
//! `ferry verify`, then checks with the servers' own SQL that the round trip
//! kept every row and value. Each copy and verify writes its HTML report
//! under `target/demo-report/`.
//! `--rows N` sets the number of orders (default 200000).

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

fn main() -> ExitCode {
    let orders: u64 = std::env::args()
        .skip_while(|a| a != "--rows")
        .nth(1)
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000);
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

async fn run(orders: u64) -> Result<(), String> {
    let ferry = std::env::current_exe()
        .map_err(|e| e.to_string())?
        .with_file_name("ferry");
    if !ferry.exists() {
        return Err(format!(
            "{} not built (run scripts/demo.sh)",
            ferry.display()
        ));
    }
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
    if ok {
        println!("demo: every row survived PostgreSQL → MariaDB → PostgreSQL unchanged");
        Ok(())
    } else {
        Err("round trip differs".into())
    }
}
