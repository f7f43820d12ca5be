//! The SQLite adapter against real files made by the `sqlite3` CLI: range
//! planning and reading (every row in exactly one range, in binary key
//! order, whatever the key's type and collation), the snapshot's
//! connections, and the catalog.

use ferry_core::adapter::{Catalog, RangeReader, ReadOptions};
use ferry_core::range::{KeyRange, RangeOptions, SnapshotOptions};
use ferry_core::{Engine, TablePlan, TableRef};
use ferry_mapping::Mappings;
use ferry_sqlite::{SqliteAdapter, SqliteDialect};
use ferry_testkit::{sqlite3_exec, sqlite_database};

async fn plan(a: &SqliteAdapter, table: &str) -> TablePlan {
    let raw = a.describe(&TableRef::new(None, table)).await.unwrap();
    Mappings::builtin()
        .unwrap()
        .plan_table(
            &raw,
            Engine::Sqlite,
            &SqliteDialect,
            TableRef::new(None, table),
        )
        .unwrap()
}

/// Reads every range of `table` (planned small) and returns the rows per
/// range and the first column of every row, in the order read.
async fn read_all(a: &SqliteAdapter, table: &str, order: ReadOptions) -> (usize, Vec<String>) {
    use arrow_array::cast::AsArray;
    let p = plan(a, table).await;
    let split = a
        .plan_ranges(
            &p,
            &RangeOptions {
                max_ranges: 8,
                min_range_rows: 500,
            },
        )
        .await
        .unwrap();
    let mut keys = Vec::new();
    for range in &split.ranges {
        let (tx, mut rx) = tokio::sync::mpsc::channel(4);
        let (n, batches) = tokio::join!(a.read_range(&p, range, None, &order, tx), async {
            let mut out = Vec::new();
            while let Some(b) = rx.recv().await {
                out.push(b);
            }
            out
        });
        let n = n.unwrap();
        let mut seen = 0;
        for b in batches {
            seen += b.num_rows();
            let c = b.column(0);
            for i in 0..b.num_rows() {
                keys.push(match c.data_type() {
                    arrow_schema::DataType::Int64 => c
                        .as_primitive::<arrow_array::types::Int64Type>()
                        .value(i)
                        .to_string(),
                    arrow_schema::DataType::Utf8 => c.as_string::<i32>().value(i).to_string(),
                    // Hex sorts as the bytes do.
                    arrow_schema::DataType::Binary => c
                        .as_binary::<i32>()
                        .value(i)
                        .iter()
                        .map(|b| format!("{b:02x}"))
                        .collect(),
                    other => panic!("key type {other}"),
                });
            }
        }
        assert_eq!(u64::try_from(seen).unwrap(), n);
    }
    (split.ranges.len(), keys)
}

#[tokio::test]
async fn ranges_cover_every_row_once_in_binary_key_order() {
    let url = sqlite_database().await;
    sqlite3_exec(
        &url,
        "CREATE TABLE ints (id INTEGER PRIMARY KEY, v TEXT); \
         WITH RECURSIVE g(n) AS (SELECT -2000 UNION ALL SELECT n + 1 FROM g WHERE n < 3999) \
         INSERT INTO ints SELECT n * 7, 'v' FROM g; \
         CREATE TABLE words (w TEXT COLLATE NOCASE PRIMARY KEY, n INT) WITHOUT ROWID; \
         WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 3000) \
         INSERT INTO words SELECT CASE n % 3 WHEN 0 THEN 'a' || n WHEN 1 THEN 'B' || n ELSE 'é' || n END, n FROM g; \
         CREATE TABLE blobs (k BLOB PRIMARY KEY, n INT); \
         WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 3000) \
         INSERT INTO blobs SELECT CAST(char(n % 7) || printf('%d', n) AS BLOB), n FROM g;",
    );
    let a = SqliteAdapter::new(url.clone());
    for (table, rows) in [("ints", 6000), ("words", 3000), ("blobs", 3000)] {
        let (ranges, keys) =
            read_all(&a, table, ReadOptions::binary_key_order(1000, vec![true])).await;
        assert!(ranges >= 4, "{table}: {ranges} ranges");
        assert_eq!(keys.len(), rows, "{table}: every row once");
        let mut sorted = keys.clone();
        if table == "ints" {
            sorted.sort_by_key(|k| k.parse::<i64>().unwrap());
        } else {
            // UTF-8 byte order ('B' < 'a' < 'é'), not the column's NOCASE.
            sorted.sort();
        }
        assert_eq!(keys, sorted, "{table}: binary key order across ranges");
        let mut unique = keys.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), rows, "{table}: no row twice");
    }
}

#[tokio::test]
async fn a_snapshot_lends_its_connections_and_reads_one_instant() {
    let url = sqlite_database().await;
    sqlite3_exec(
        &url,
        "PRAGMA journal_mode = WAL; CREATE TABLE t (id INTEGER PRIMARY KEY); \
         INSERT INTO t VALUES (1), (2), (3);",
    );
    let a = SqliteAdapter::new(url.clone());
    let (snap, info) = a
        .open_snapshot(&SnapshotOptions {
            sessions: 3,
            ..SnapshotOptions::default()
        })
        .await
        .unwrap();
    assert!(
        info.method.contains("3 read transactions"),
        "{}",
        info.method
    );
    // A write after the snapshot is not seen by any of its readers.
    sqlite3_exec(&url, "INSERT INTO t VALUES (4);");
    let p = plan(&a, "t").await;
    let copy = ReadOptions::copy(100);
    for _ in 0..5 {
        let (tx, mut rx) = tokio::sync::mpsc::channel(4);
        let (n, _) = tokio::join!(
            a.read_range(&p, &KeyRange::Whole, Some(&snap), &copy, tx),
            async { while rx.recv().await.is_some() {} }
        );
        assert_eq!(n.unwrap(), 3);
    }
    drop(snap);
    let (tx, mut rx) = tokio::sync::mpsc::channel(4);
    let (n, _) = tokio::join!(a.read_range(&p, &KeyRange::Whole, None, &copy, tx), async {
        while rx.recv().await.is_some() {}
    });
    assert_eq!(n.unwrap(), 4);
}
