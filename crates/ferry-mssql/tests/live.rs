//! Live adapter tests against the SQL Server named by
//! `FERRY_TEST_MSSQL_URL` (each in a fresh database): catalog, ranges,
//! snapshot, reader and writer. Compiled as ignored without the variable
//! (see `build.rs`): no SQL Server runs on the machines ferry is built on.
#![cfg_attr(not(mssql_live), allow(dead_code, unused_imports))]

use arrow_array::{Array, RecordBatch};
use ferry_core::adapter::{Catalog, Database, RangeReader, ReadOptions, TableReader, TableWriter};
use ferry_core::range::{KeyRange, KeyValue, RangeOptions, SnapshotConsistency, SnapshotOptions};
use ferry_core::{Engine, Error, IfExists, TablePlan, TableRef};
use ferry_mapping::Mappings;
use ferry_mssql::MssqlAdapter;
use ferry_testkit::{mssql_database, mssql_exec, mssql_rows};
use tokio::sync::mpsc;

async fn plan(a: &MssqlAdapter, src: &str, dst: &str) -> TablePlan {
    let raw = a
        .describe(&TableRef::new(Some("dbo"), src))
        .await
        .expect("describe");
    Mappings::builtin()
        .expect("rules")
        .plan_table(
            &raw,
            Engine::Mssql,
            &ferry_mssql::dialect::MssqlDialect,
            TableRef::new(Some("dbo"), dst),
        )
        .expect("plan")
}

async fn read_all(a: &MssqlAdapter, plan: &TablePlan, range: &KeyRange) -> Vec<RecordBatch> {
    let (tx, mut rx) = mpsc::channel(4);
    let reader = async {
        a.read_range(plan, range, None, &ReadOptions::copy(100), tx)
            .await
            .expect("read")
    };
    let collect = async {
        let mut out = Vec::new();
        while let Some(b) = rx.recv().await {
            out.push(b);
        }
        out
    };
    tokio::join!(reader, collect).1
}

#[tokio::test]
#[cfg_attr(
    not(mssql_live),
    ignore = "needs FERRY_TEST_MSSQL_URL (a SQL Server where the account may create databases)"
)]
async fn catalog_reads_types_keys_and_schema_objects() {
    let url = mssql_database().await;
    mssql_exec(
        &url,
        "CREATE TYPE dbo.Phone FROM varchar(20) NOT NULL; \
         CREATE TABLE dbo.p (id int NOT NULL PRIMARY KEY); \
         CREATE TABLE dbo.t (a int NOT NULL, b nvarchar(10) NOT NULL, ph dbo.Phone, \
           m money, rv rowversion, h hierarchyid, d2 datetime2(3), \
           total AS (a * 2), pid int NULL REFERENCES dbo.p (id) ON DELETE CASCADE, \
           made datetime NOT NULL DEFAULT (getdate()), \
           CONSTRAINT pk_t PRIMARY KEY (b, a), CONSTRAINT ck_a CHECK (a > 0)); \
         CREATE INDEX ix_ph ON dbo.t (ph) INCLUDE (m) WHERE ph IS NOT NULL; \
         EXEC sys.sp_addextendedproperty @name = N'MS_Description', @value = N'the a', \
           @level0type = N'SCHEMA', @level0name = N'dbo', @level1type = N'TABLE', @level1name = N't', \
           @level2type = N'COLUMN', @level2name = N'a';",
    )
    .await;
    let a = MssqlAdapter::new(url);
    let tables = a.list_tables(None).await.unwrap();
    assert_eq!(
        tables,
        vec![
            TableRef::new(Some("dbo"), "p"),
            TableRef::new(Some("dbo"), "t")
        ]
    );
    let raw = a.describe(&TableRef::new(Some("dbo"), "t")).await.unwrap();
    let names: Vec<&str> = raw.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names[..3], ["a", "b", "ph"]);
    assert_eq!(raw.primary_key, vec![1, 0]);
    let ph = &raw.columns[2].ty;
    assert_eq!(
        (ph.name.as_str(), ph.user_type.as_deref()),
        ("varchar", Some("dbo.Phone"))
    );
    assert_eq!(raw.columns[3].ty.precision, Some(19));
    assert_eq!(raw.columns[4].ty.display, "rowversion");
    assert_eq!(raw.columns[6].ty.fsp, Some(3));
    let s = &raw.schema;
    assert!(s
        .columns
        .iter()
        .any(|c| c.name == "total" && c.generated.is_some()));
    assert_eq!(s.columns[0].comment.as_deref(), Some("the a"));
    assert_eq!(s.checks[0].name, "ck_a");
    assert_eq!(s.foreign_keys[0].on_delete, "CASCADE");
    assert_eq!(
        s.indexes[0].predicate.as_deref(),
        Some("([ph] IS NOT NULL)")
    );
    assert!(
        raw.notes
            .iter()
            .any(|n| n.contains("ix_ph") && n.contains("m")),
        "{:?}",
        raw.notes
    );
    let made = s.columns.iter().find(|c| c.name == "made").unwrap();
    assert_eq!(made.default.as_deref(), Some("(getdate())"));
    let missing = a
        .describe(&TableRef::new(Some("dbo"), "nope"))
        .await
        .unwrap_err();
    assert!(matches!(missing, Error::MissingTable { .. }), "{missing}");
}

#[tokio::test]
#[cfg_attr(
    not(mssql_live),
    ignore = "needs FERRY_TEST_MSSQL_URL (a SQL Server where the account may create databases)"
)]
async fn uuid_ranges_cover_every_row_once_in_binary_order() {
    let url = mssql_database().await;
    mssql_exec(
        &url,
        "CREATE TABLE dbo.u (id uniqueidentifier NOT NULL PRIMARY KEY, v int NOT NULL); \
         INSERT INTO dbo.u SELECT NEWID(), n FROM (SELECT TOP (4000) ROW_NUMBER() OVER (ORDER BY (SELECT 1)) n \
           FROM sys.all_objects a CROSS JOIN sys.all_objects b) x;",
    )
    .await;
    let a = MssqlAdapter::new(url);
    let p = plan(&a, "u", "u").await;
    let ranges = a
        .plan_ranges(
            &p,
            &RangeOptions {
                max_ranges: 8,
                min_range_rows: 100,
            },
        )
        .await
        .unwrap();
    assert!(ranges.ranges.len() >= 4, "{ranges:?}");
    let mut all: Vec<[u8; 16]> = Vec::new();
    for r in &ranges.ranges {
        let batches = read_all(&a, &p, r).await;
        let mut keys: Vec<[u8; 16]> = Vec::new();
        for b in batches {
            let ids = b
                .column(0)
                .as_any()
                .downcast_ref::<arrow_array::FixedSizeBinaryArray>()
                .unwrap();
            for i in 0..ids.len() {
                keys.push(ids.value(i).try_into().unwrap());
            }
        }
        // Each range arrives in binary (RFC byte) order and within its bounds.
        assert!(
            keys.windows(2).all(|w| w[0] < w[1]),
            "range {r} out of order"
        );
        if let KeyRange::Key { lower, upper } = r {
            for k in &keys {
                let kv = vec![KeyValue::Uuid(*k)];
                assert!(lower.as_ref().is_none_or(|l| *l <= kv), "{r}");
                assert!(upper.as_ref().is_none_or(|u| kv < *u), "{r}");
            }
        }
        all.extend(keys);
    }
    assert_eq!(all.len(), 4000);
    let mut sorted = all.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), 4000, "a row read twice");
}

#[tokio::test]
#[cfg_attr(
    not(mssql_live),
    ignore = "needs FERRY_TEST_MSSQL_URL (a SQL Server where the account may create databases)"
)]
async fn snapshot_consistency_is_said_per_run() {
    let url = mssql_database().await;
    let a = MssqlAdapter::new(url.clone());
    let (_one, info) = a
        .open_snapshot(&SnapshotOptions {
            sessions: 1,
            ..SnapshotOptions::default()
        })
        .await
        .unwrap();
    assert_eq!(info.consistency, SnapshotConsistency::Exact);
    assert!(info.method.contains("SNAPSHOT"), "{}", info.method);
    let (_many, info) = a
        .open_snapshot(&SnapshotOptions {
            sessions: 3,
            ..SnapshotOptions::default()
        })
        .await
        .unwrap();
    assert_eq!(info.consistency, SnapshotConsistency::PerSession);
    mssql_exec(
        &url,
        &format!(
            "ALTER DATABASE [{}] SET ALLOW_SNAPSHOT_ISOLATION OFF",
            url.database
        ),
    )
    .await;
    let (_rc, info) = a
        .open_snapshot(&SnapshotOptions {
            sessions: 1,
            ..SnapshotOptions::default()
        })
        .await
        .unwrap();
    assert!(info.method.contains("READ COMMITTED"), "{}", info.method);
}

#[tokio::test]
#[cfg_attr(
    not(mssql_live),
    ignore = "needs FERRY_TEST_MSSQL_URL (a SQL Server where the account may create databases)"
)]
async fn identity_values_are_kept_and_a_duplicate_is_refused_without_its_value() {
    let url = mssql_database().await;
    mssql_exec(
        &url,
        "CREATE TABLE dbo.src (id int IDENTITY(1,1) NOT NULL PRIMARY KEY, v nvarchar(10) NOT NULL); \
         SET IDENTITY_INSERT dbo.src ON; \
         INSERT INTO dbo.src (id, v) VALUES (5, N'secret-a'), (900, N'secret-b'); \
         SET IDENTITY_INSERT dbo.src OFF;",
    )
    .await;
    let a = MssqlAdapter::new(url.clone());
    let p = plan(&a, "src", "dst").await;
    a.prepare(&p, IfExists::Fail).await.unwrap();
    let (tx, rx) = mpsc::channel(2);
    let (read, write) = tokio::join!(a.read_table(&p, 10, tx), a.write_table(&p, rx));
    assert_eq!(read.unwrap(), 2);
    assert_eq!(write.unwrap().rows_written, 2);
    let ids = mssql_rows(
        &url,
        "SELECT CONVERT(nvarchar(10), id) FROM dbo.dst ORDER BY id",
    )
    .await;
    assert_eq!(ids, vec![vec![Some("5".into())], vec![Some("900".into())]]);
    // The same rows again: a duplicate key, reported by number and class only.
    let (tx, rx) = mpsc::channel(2);
    let (_, write) = tokio::join!(a.read_table(&p, 10, tx), a.write_table(&p, rx));
    let e = write.unwrap_err();
    let line = ferry_core::error::chain_line(&e);
    assert!(matches!(e, Error::Refused { .. }), "{line}");
    assert!(
        line.contains("duplicate key") && !line.contains("secret") && !line.contains("900"),
        "{line}"
    );
    let n = mssql_rows(&url, "SELECT CONVERT(nvarchar(10), COUNT(*)) FROM dbo.dst").await;
    assert_eq!(
        n[0][0].as_deref(),
        Some("2"),
        "nothing of the failed load is committed"
    );
}

#[tokio::test]
#[cfg_attr(
    not(mssql_live),
    ignore = "needs FERRY_TEST_MSSQL_URL (a SQL Server where the account may create databases)"
)]
async fn plan_ddl_is_proven_in_a_transaction_that_leaves_nothing() {
    let url = mssql_database().await;
    let a = MssqlAdapter::new(url.clone());
    let ok = a
        .try_ddl_rolled_back(&["CREATE TABLE dbo.x (id int PRIMARY KEY)".to_string()])
        .await
        .unwrap();
    assert!(ok.is_none());
    let refused = a
        .try_ddl_rolled_back(&[
            "CREATE TABLE dbo.y (id int PRIMARY KEY)".to_string(),
            "CREATE TABLE dbo.z (id nosuchtype)".to_string(),
        ])
        .await
        .unwrap();
    assert_eq!(refused.map(|(i, _)| i), Some(1));
    let left = a
        .text_rows("SELECT COUNT(*) FROM sys.tables", "counting tables")
        .await
        .unwrap();
    assert_eq!(left[0][0].as_deref(), Some("0"));
}
