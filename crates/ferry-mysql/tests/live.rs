//! Live tests against a throwaway MariaDB from the test kit: catalog, reader
//! and writer, each in a fresh database. Values are compared through the
//! server's own text rendering (`mysql_rows`), never through ferry's decoders.

use arrow_array::RecordBatch;
use ferry_core::adapter::{Catalog, TableReader, TableWriter};
use ferry_core::{
    ColumnPlan, Conversion, DbUrl, Engine, Error, IfExists, LogicalType, TablePlan, TableRef,
};
use ferry_mapping::Mappings;
use ferry_mysql::MySqlAdapter;
use ferry_testkit::{mysql_database, mysql_exec, mysql_rows};
use tokio::sync::mpsc;

/// Plans `src` → `dst` in the same database with the built-in rules.
async fn plan(adapter: &MySqlAdapter, src: &str, dst: &str) -> TablePlan {
    let raw = adapter
        .describe(&TableRef::new(None, src))
        .await
        .expect("describe");
    Mappings::builtin()
        .expect("rules")
        .plan_table(
            &raw,
            Engine::MySql,
            &ferry_mysql::MySqlDialect,
            TableRef::new(None, dst),
        )
        .expect("plan")
}

/// Reads with `reader`, writes with `writer`, concurrently through a small channel.
async fn copy(
    reader: &MySqlAdapter,
    writer: &MySqlAdapter,
    plan: &TablePlan,
    batch_rows: usize,
) -> (ferry_core::Result<u64>, ferry_core::Result<u64>) {
    let (tx, rx) = mpsc::channel::<RecordBatch>(2);
    let (read, write) = tokio::join!(
        reader.read_table(plan, batch_rows, tx),
        writer.write_table(plan, rx)
    );
    (read, write.map(|r| r.rows_written))
}

async fn count(url: &DbUrl, table: &str) -> String {
    mysql_rows(url, &format!("SELECT COUNT(*) FROM `{table}`")).await[0][0]
        .clone()
        .unwrap()
}

const ALL_TYPES: &str = "CREATE TABLE src (
    id int NOT NULL PRIMARY KEY,
    b tinyint(1),
    i8 tinyint, u8 tinyint unsigned, i16 smallint, u16 smallint unsigned,
    i24 mediumint, u24 mediumint unsigned, i32 int, u32 int unsigned,
    i64 bigint, u64 bigint unsigned,
    dec_wide decimal(65,30), dec_small decimal(5,2),
    f float, d double,
    bit1 bit(1), bit64 bit(64), bit5 bit(5),
    c char(5), vc varchar(20), tt tinytext, tx text, mt mediumtext, lt longtext,
    bn binary(4), vb varbinary(10), tb tinyblob, bb blob, mb mediumblob, lb longblob,
    dt date, dtm datetime(6), dtm0 datetime, ts timestamp(6) NULL, tm time(6), tm0 time,
    y year,
    e enum('x,y','it''s','b\\\\s',' lead','','(p)'),
    st set('a','b','c'),
    j json
) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin";

const ALL_ROWS: &str = "INSERT INTO src VALUES
 (1, 0, -128, 0, -32768, 0, -8388608, 0, -2147483648, 0, -9223372036854775808, 0,
  '-99999999999999999999999999999999999.999999999999999999999999999999', -999.99,
  1.234567, -0.0, b'0', b'0', b'00000',
  '', '', '', '', '', '',
  x'00000000', x'', x'', x'', x'', x'',
  '1000-01-01', '1000-01-01 00:00:00.000000', '1000-01-01 00:00:00',
  '1970-01-01 00:00:01.000000', '-838:59:59.000000', '-00:00:01',
  1901, 'x,y', '', '[]'),
 (2, 1, 127, 255, 32767, 65535, 8388607, 16777215, 2147483647, 4294967295,
  9223372036854775807, 18446744073709551615,
  '99999999999999999999999999999999999.999999999999999999999999999999', 999.99,
  -3.4028234e38, 4.9e-324, b'1', b'1111111111111111111111111111111111111111111111111111111111111111', b'10101',
  'ab', 'tab\there', 'a\\\\b', 'new\nline', 'cr\rnul\\0', '😀 𝐏 é',
  x'00ff0aff', x'5c4e', x'00', x'0d0a09', x'ff', x'5c',
  '9999-12-31', '9999-12-31 23:59:59.999999', '9999-12-31 23:59:59',
  '2038-01-19 03:14:07.999999', '838:59:59.000000', '838:59:59',
  2155, ' lead', 'a,b', '{\"b\": 1, \"a\": [1.5, \"x\"]}'),
 (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
 (4, 0, 0, 1, 0, 1, 0, 1, 0, 1, 0, 9223372036854775808, '0.000000000000000000000000000001', 0.01,
  0.1, 0.1, b'0', b'1000000000000000000000000000000000000000000000000000000000000000', b'00001',
  'a ', '\\\\N', 'N', '\\\\', ' ', 'x',
  x'01020304', x'00', x'', x'', x'', x'00',
  '2024-02-29', '2024-03-10 02:30:00.5', '1970-01-01 00:00:00',
  '2024-06-01 06:30:00.123456', '-00:00:00.000001', '25:30:00',
  0, '', '', '\"\\\\u0000\"'),
 (5, 1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 1.5, 1.5, 3.0e-38, 1.7976931348623157e308, b'1', b'1', b'1',
  'abcde', REPEAT('é', 20), REPEAT('x', 255), 'it''s', 'm', 'l',
  x'ffffffff', x'ffffffffffffffffffff', x'00', x'00', x'00', x'00',
  '2000-01-01', '2000-01-01 00:00:00', '2000-01-01 00:00:00',
  '2000-01-01 00:00:00', '00:00:00', '00:00:00', 2000, '(p)', 'c', 'null')";

/// Every column rendered exactly by the server (hex for bytes, BIN for bits,
/// FLOAT widened to DOUBLE so all its bits show).
const RENDER: &str = "SELECT id, b, i8, u8, i16, u16, i24, u24, i32, u32, i64, u64,
    dec_wide, dec_small, CAST(f AS DOUBLE), d, BIN(bit1), BIN(bit64), BIN(bit5),
    HEX(c), HEX(vc), HEX(tt), HEX(tx), HEX(mt), HEX(lt),
    HEX(bn), HEX(vb), HEX(tb), HEX(bb), HEX(mb), HEX(lb), LENGTH(vb), LENGTH(lb),
    dt, dtm, dtm0, ts, tm, tm0, y, HEX(e), st, j FROM";

#[tokio::test]
async fn all_mysql_types_round_trip() {
    let url = mysql_database().await;
    mysql_exec(&url, ALL_TYPES).await;
    mysql_exec(&url, ALL_ROWS).await;
    let adapter = MySqlAdapter::new(url.clone());

    let plan = plan(&adapter, "src", "dst").await;
    let ddl = adapter.create_ddl(&plan);
    assert!(ddl[0].contains("PRIMARY KEY (`id`)"), "{ddl:?}");
    adapter
        .prepare(&plan, IfExists::Fail)
        .await
        .expect("prepare");
    // Batches of 2 rows: several batches and a partial last one.
    let (read, write) = copy(&adapter, &adapter, &plan, 2).await;
    assert_eq!(read.expect("read"), 5);
    assert_eq!(write.expect("write"), 5);

    let src = mysql_rows(&url, &format!("{RENDER} src ORDER BY id")).await;
    let dst = mysql_rows(&url, &format!("{RENDER} dst ORDER BY id")).await;
    assert_eq!(src.len(), 5);
    for (a, b) in src.iter().zip(&dst) {
        assert_eq!(a, b);
    }
    // Spot checks that the renderings are the edge values themselves.
    assert_eq!(dst[1][11].as_deref(), Some("18446744073709551615"));
    assert_eq!(dst[1][15].as_deref(), Some("5e-324"));
    assert_eq!(dst[1][17].as_deref(), Some(&*"1".repeat(64)));
    assert_eq!(dst[1][24].as_deref(), Some("F09F988020F09D908F20C3A9"));
    assert_eq!(dst[0][37].as_deref(), Some("-838:59:59.000000"));
    assert_eq!(dst[3][37].as_deref(), Some("-00:00:00.000001"));
    assert!(
        dst[2].iter().skip(1).all(Option::is_none),
        "NULLs stay NULL"
    );

    // The target is what the plan says: binary no-pad collation, JSON kept.
    let coll = mysql_rows(
        &url,
        "SELECT TABLE_COLLATION FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'dst'",
    )
    .await;
    assert_eq!(coll[0][0].as_deref(), Some("utf8mb4_nopad_bin"));
    let raw = adapter.describe(&TableRef::new(None, "dst")).await.unwrap();
    let j = raw.columns.iter().find(|c| c.name == "j").unwrap();
    assert_eq!(j.ty.name, "json");
    let e = raw.columns.iter().find(|c| c.name == "e").unwrap();
    assert_eq!(e.ty.values, vec!["x,y", "it's", "b\\s", " lead", "", "(p)"]);

    // A second load into the same table: Fail refuses, Truncate empties.
    let err = adapter.prepare(&plan, IfExists::Fail).await.unwrap_err();
    assert!(matches!(err, Error::TargetExists { .. }), "{err}");
    adapter.prepare(&plan, IfExists::Truncate).await.unwrap();
    assert_eq!(count(&url, "dst").await, "0");
}

#[tokio::test]
async fn catalog_describes_tables() {
    let url = mysql_database().await;
    mysql_exec(
        &url,
        "CREATE TABLE zeta (k2 varchar(10) NOT NULL, k1 int NOT NULL, t tinyint(1), u bigint unsigned,
             m mediumtext, dt datetime(3), g geometry, PRIMARY KEY (k1, k2));
         CREATE TABLE alpha (id int);
         CREATE VIEW v AS SELECT 1 AS x",
    )
    .await;
    let adapter = MySqlAdapter::new(url.clone());
    let tables = adapter.list_tables(None).await.unwrap();
    let names: Vec<_> = tables.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, vec!["alpha", "zeta"]);

    let raw = adapter
        .describe(&TableRef::new(None, "zeta"))
        .await
        .unwrap();
    let cols: Vec<_> = raw.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(cols, vec!["k2", "k1", "t", "u", "m", "dt", "g"]);
    assert_eq!(raw.primary_key, vec![1, 0]);
    assert_eq!(raw.columns[0].ty.length, Some(10));
    assert!(!raw.columns[0].nullable);
    assert_eq!(raw.columns[2].ty.display_width, Some(1));
    assert!(raw.columns[3].ty.unsigned);
    assert_eq!(raw.columns[4].ty.max_bytes, Some(16_777_215));
    assert_eq!(raw.columns[5].ty.fsp, Some(3));
    assert_eq!(raw.columns[6].ty.name, "geometry");

    let err = adapter
        .describe(&TableRef::new(None, "nope"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::MissingTable { .. }), "{err}");
    assert_eq!(
        adapter.flavor().await.unwrap(),
        ferry_mysql::Flavor::MariaDb
    );
}

/// Issue 19: zero and partial dates travel MySQL → MySQL verbatim (the
/// hub's reserved values for them), or become NULL when chosen.
#[tokio::test]
async fn zero_dates_travel_verbatim_or_become_null() {
    let url = mysql_database().await;
    mysql_exec(
        &url,
        "SET SESSION sql_mode = '';
         CREATE TABLE z (id int PRIMARY KEY, d date, dt datetime);
         INSERT INTO z VALUES (1, '2020-01-01', '2020-01-01 00:00:00'),
             (7, '0000-00-00', '2020-01-01 00:00:00'),
             (8, '2016-07-00', '0000-00-00 00:00:00'),
             (9, '2025-00-15', NULL)",
    )
    .await;
    let adapter = MySqlAdapter::new(url.clone());
    let mut plan = plan(&adapter, "z", "z2").await;
    adapter.prepare(&plan, IfExists::Fail).await.unwrap();
    let (read, write) = copy(&adapter, &adapter, &plan, 3).await;
    assert_eq!((read.unwrap(), write.unwrap()), (4, 4));
    let q = |t: &str| format!("SELECT id, CAST(d AS CHAR), CAST(dt AS CHAR) FROM {t} ORDER BY id");
    assert_eq!(
        mysql_rows(&url, &q("z")).await,
        mysql_rows(&url, &q("z2")).await
    );

    plan.target = TableRef::new(None, "z3");
    for c in &mut plan.columns[1..] {
        c.conversion = Conversion::ZeroDateToNull;
    }
    adapter.prepare(&plan, IfExists::Fail).await.unwrap();
    let (read, write) = copy(&adapter, &adapter, &plan, 3).await;
    assert_eq!(read.unwrap(), 4);
    assert_eq!(write.unwrap(), 4);
    let rows = mysql_rows(&url, "SELECT id, d, dt FROM z3 ORDER BY id").await;
    let got: Vec<Vec<Option<&str>>> = rows
        .iter()
        .map(|r| r.iter().map(|v| v.as_deref()).collect())
        .collect();
    assert_eq!(
        got,
        vec![
            vec![Some("1"), Some("2020-01-01"), Some("2020-01-01 00:00:00")],
            vec![Some("7"), None, Some("2020-01-01 00:00:00")],
            vec![Some("8"), None, None],
            vec![Some("9"), None, None],
        ]
    );
}

#[tokio::test]
async fn tinyint1_other_than_0_or_1_stops_the_table() {
    let url = mysql_database().await;
    mysql_exec(
        &url,
        "CREATE TABLE flags (id int PRIMARY KEY, f tinyint(1));
         INSERT INTO flags VALUES (1, 1), (2, 2)",
    )
    .await;
    let adapter = MySqlAdapter::new(url.clone());
    let plan = plan(&adapter, "flags", "flags2").await;
    assert_eq!(plan.columns[1].logical, LogicalType::Bool);
    let (tx, _rx) = mpsc::channel(8);
    let msg = adapter
        .read_table(&plan, 100, tx)
        .await
        .unwrap_err()
        .to_string();
    assert_eq!(
        msg,
        "table flags column f key id=2: value other than 0 or 1 in a tinyint(1) boolean column (map it to int8 to keep it)"
    );
}

/// A plan written by hand: one column of each hub type a PostgreSQL source
/// would send, with values the MySQL target cannot hold.
fn hand_plan(target: &str, logical: LogicalType, target_type: &str) -> TablePlan {
    let col = |name: &str, logical: LogicalType, target_type: &str, nullable| ColumnPlan {
        name: name.into(),
        source_type: "test".into(),
        raw: Default::default(),
        logical,
        nullable,
        conversion: Conversion::Exact,
        target_type: target_type.into(),
        rule: "test".into(),
        stored_as: None,
        expr: None,
    };
    TablePlan {
        source: TableRef::new(None, "nowhere"),
        target: TableRef::new(None, target),
        columns: vec![
            col("id", LogicalType::Int32, "int", false),
            col("v", logical, target_type, true),
        ],
        primary_key: vec![0],
        estimated_rows: None,
        schema: Default::default(),
        row_filter: None,
        own_rows_only: false,
        reshape: None,
    }
}

fn batch(plan: &TablePlan, v: arrow_array::ArrayRef) -> RecordBatch {
    let ids: Vec<i32> = (1..=i32::try_from(v.len()).unwrap()).collect();
    RecordBatch::try_new(
        ferry_core::arrow::plan_schema(plan),
        vec![std::sync::Arc::new(arrow_array::Int32Array::from(ids)), v],
    )
    .unwrap()
}

async fn write_batches(
    adapter: &MySqlAdapter,
    plan: &TablePlan,
    batches: Vec<RecordBatch>,
) -> ferry_core::Result<u64> {
    let (tx, rx) = mpsc::channel(batches.len().max(1));
    for b in batches {
        tx.send(b).await.unwrap();
    }
    drop(tx);
    adapter.write_table(plan, rx).await.map(|r| r.rows_written)
}

#[tokio::test]
async fn sink_refuses_values_and_rolls_back() {
    use arrow_array::{Float64Array, StringArray, TimestampMicrosecondArray};
    use std::sync::Arc;
    let url = mysql_database().await;
    let adapter = MySqlAdapter::new(url.clone());

    // Too long for varchar(3): the second batch fails, the first is rolled back.
    let plan = hand_plan("vc", LogicalType::Varchar { length: None }, "varchar(3)");
    adapter.prepare(&plan, IfExists::Fail).await.unwrap();
    let b1 = batch(&plan, Arc::new(StringArray::from(vec!["abc", "é😀x"])));
    let b2 = batch(&plan, Arc::new(StringArray::from(vec!["ok", "toolong"])));
    let msg = write_batches(&adapter, &plan, vec![b1, b2])
        .await
        .unwrap_err()
        .to_string();
    assert_eq!(
        msg,
        "table vc column v key id=2: text longer than the target column's 3 characters"
    );
    assert_eq!(count(&url, "vc").await, "0");

    // NaN into double; then with nan_to_null.
    let mut plan = hand_plan("fl", LogicalType::Float64, "double");
    adapter.prepare(&plan, IfExists::Fail).await.unwrap();
    let b = batch(&plan, Arc::new(Float64Array::from(vec![1.5, f64::NAN])));
    let msg = write_batches(&adapter, &plan, vec![b.clone()])
        .await
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("key id=2: NaN/Infinity, which MySQL cannot store"),
        "{msg}"
    );
    plan.columns[1].conversion = Conversion::NanToNull;
    assert_eq!(write_batches(&adapter, &plan, vec![b]).await.unwrap(), 2);
    let rows = mysql_rows(&url, "SELECT v FROM fl ORDER BY id").await;
    assert_eq!(rows, vec![vec![Some("1.5".to_string())], vec![None]]);
    // MariaDB stores -0.0 as +0: refused rather than silently changed.
    let b = batch(&plan, Arc::new(Float64Array::from(vec![-0.0])));
    let msg = write_batches(&adapter, &plan, vec![b])
        .await
        .unwrap_err()
        .to_string();
    assert!(msg.contains("key id=1: negative zero"), "{msg}");

    // Decimal that would be rounded.
    let plan = hand_plan(
        "dc",
        LogicalType::Decimal {
            precision: Some(6),
            scale: Some(2),
        },
        "decimal(6,2)",
    );
    adapter.prepare(&plan, IfExists::Fail).await.unwrap();
    let b = batch(&plan, Arc::new(StringArray::from(vec!["1234.50", "1.005"])));
    let msg = write_batches(&adapter, &plan, vec![b])
        .await
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("key id=2: decimal has more than 2 fraction digits"),
        "{msg}"
    );

    // A timestamptz past 2038 into a user-chosen TIMESTAMP target.
    let plan = hand_plan(
        "tsz",
        LogicalType::TimestampTz { precision: 6 },
        "timestamp(6) NULL",
    );
    adapter.prepare(&plan, IfExists::Fail).await.unwrap();
    let b = batch(
        &plan,
        Arc::new(
            TimestampMicrosecondArray::from(vec![1_000_000, 2_147_483_648_000_000])
                .with_timezone("UTC"),
        ),
    );
    let msg = write_batches(&adapter, &plan, vec![b])
        .await
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("key id=2: instant outside MySQL TIMESTAMP's range"),
        "{msg}"
    );

    // A latin1 text column takes what latin1 (cp1252) holds, encoded by
    // ferry, and refuses the rest with the key (issue 19).
    let plan = hand_plan(
        "l1",
        LogicalType::Text { max_bytes: None },
        "text CHARACTER SET latin1",
    );
    adapter.prepare(&plan, IfExists::Fail).await.unwrap();
    let b = batch(&plan, Arc::new(StringArray::from(vec!["é€", "ā"])));
    let err = write_batches(&adapter, &plan, vec![b]).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("key id=2: character that MySQL's latin1"),
        "{err}"
    );
    let b = batch(&plan, Arc::new(StringArray::from(vec!["é€", "a"])));
    write_batches(&adapter, &plan, vec![b]).await.unwrap();
    assert_eq!(
        mysql_rows(&url, "SELECT HEX(v) FROM l1 ORDER BY id").await,
        vec![vec![Some("E980".to_string())], vec![Some("61".to_string())]]
    );

    // An unsupported pair is refused before any row is sent.
    let plan = hand_plan("un", LogicalType::Float64, "date");
    adapter.prepare(&plan, IfExists::Fail).await.unwrap();
    let b = batch(&plan, Arc::new(Float64Array::from(vec![1.0])));
    let err = write_batches(&adapter, &plan, vec![b]).await.unwrap_err();
    assert!(matches!(err, Error::UnsupportedType { .. }), "{err}");
}

#[tokio::test]
async fn load_warnings_fail_the_table() {
    use arrow_array::StringArray;
    use std::sync::Arc;
    let url = mysql_database().await;
    let adapter = MySqlAdapter::new(url.clone());
    let plan = hand_plan(
        "dup",
        LogicalType::Varchar { length: Some(5) },
        "varchar(5)",
    );
    adapter.prepare(&plan, IfExists::Fail).await.unwrap();
    mysql_exec(&url, "INSERT INTO dup VALUES (2, 'old')").await;
    // Append: id 2 collides; LOAD DATA LOCAL skips it with a warning, which
    // the sink reports as a refused row (for the copy to bisect), named by
    // code only, and rolls the load back.
    let b = batch(&plan, Arc::new(StringArray::from(vec!["a", "hush"])));
    let err = write_batches(&adapter, &plan, vec![b]).await.unwrap_err();
    let msg = err.to_string();
    assert!(
        matches!(&err, Error::Refused { reason, .. } if reason == "duplicate key (1062)"),
        "{msg}"
    );
    assert!(!msg.contains("hush") && !msg.contains("old"), "{msg}");
    assert_eq!(count(&url, "dup").await, "1");
}

#[tokio::test]
async fn hub_types_from_postgres_land_exactly() {
    use arrow_array::builder::{Int32Builder, ListBuilder};
    use arrow_array::types::IntervalMonthDayNano;
    use arrow_array::{
        DurationMicrosecondArray, FixedSizeBinaryArray, IntervalMonthDayNanoArray, StringArray,
        Time64MicrosecondArray,
    };
    use std::sync::Arc;
    let url = mysql_database().await;
    let adapter = MySqlAdapter::new(url.clone());

    let cases: Vec<(LogicalType, &str, arrow_array::ArrayRef, &str, Vec<&str>)> = vec![
        (
            LogicalType::Uuid,
            "char(36)",
            Arc::new(
                FixedSizeBinaryArray::try_from_iter(
                    [[
                        0x6bu8, 7, 0x5b, 0x82, 0xec, 0x44, 0x11, 0xe5, 0x80, 0xdc, 0, 0x15, 0x5d,
                        0x0a, 0xbc, 0x54,
                    ]]
                    .into_iter(),
                )
                .unwrap(),
            ),
            "v",
            vec!["6b075b82-ec44-11e5-80dc-00155d0abc54"],
        ),
        (
            LogicalType::Time { precision: 6 },
            "time(6)",
            Arc::new(Time64MicrosecondArray::from(vec![86_400_000_000, 1])),
            "v",
            vec!["24:00:00.000000", "00:00:00.000001"],
        ),
        (
            LogicalType::Duration { precision: 0 },
            "time",
            Arc::new(DurationMicrosecondArray::from(vec![
                -3_019_000_000,
                91_800_000_000,
            ])),
            "v",
            vec!["-00:50:19", "25:30:00"],
        ),
        (
            LogicalType::Interval,
            "varchar(64)",
            Arc::new(IntervalMonthDayNanoArray::from(vec![
                IntervalMonthDayNano::new(14, 3, 14_706_000_000_000),
            ])),
            "v",
            vec!["P1Y2M3DT4H5M6S"],
        ),
        (
            LogicalType::Bit {
                length: Some(64),
                varying: false,
            },
            "bit(64)",
            Arc::new(StringArray::from(vec!["1".repeat(64), "0101".to_string()])),
            "BIN(v)",
            vec![&*"1".repeat(64).leak(), "101"],
        ),
        (
            LogicalType::Set {
                values: vec!["a".into(), "b".into()],
            },
            "set('a','b')",
            {
                let mut lb = ListBuilder::new(arrow_array::builder::StringBuilder::new())
                    .with_field(Arc::new(arrow_schema::Field::new(
                        "item",
                        arrow_schema::DataType::Utf8,
                        false,
                    )));
                lb.values().append_value("a");
                lb.values().append_value("b");
                lb.append(true);
                lb.append(true);
                Arc::new(lb.finish())
            },
            "v",
            vec!["a,b", ""],
        ),
        (
            LogicalType::Array {
                element: Box::new(LogicalType::Int32),
            },
            "json",
            {
                let mut lb = ListBuilder::new(Int32Builder::new());
                lb.values().append_value(1);
                lb.values().append_null();
                lb.values().append_value(-3);
                lb.append(true);
                lb.append(true);
                Arc::new(lb.finish())
            },
            "v",
            vec!["[1,null,-3]", "[]"],
        ),
        (
            LogicalType::Text { max_bytes: None },
            "longtext",
            Arc::new(StringArray::from(vec!["a\tb\nc\\d\r\0", "\\N", "😀"])),
            "HEX(v)",
            vec!["6109620A635C640D00", "5C4E", "F09F9880"],
        ),
    ];
    for (i, (logical, target_type, array, render, want)) in cases.into_iter().enumerate() {
        let name = format!("h{i}");
        let plan = hand_plan(&name, logical, target_type);
        adapter.prepare(&plan, IfExists::Fail).await.unwrap();
        let n = array.len();
        let b = batch(&plan, array);
        assert_eq!(
            write_batches(&adapter, &plan, vec![b]).await.unwrap(),
            u64::try_from(n).unwrap(),
            "{name} {target_type}"
        );
        let rows = mysql_rows(&url, &format!("SELECT {render} FROM {name} ORDER BY id")).await;
        let got: Vec<&str> = rows.iter().map(|r| r[0].as_deref().unwrap()).collect();
        assert_eq!(got, want, "{name} {target_type}");
    }
}

#[tokio::test]
async fn reader_streams_and_stops_when_the_receiver_goes() {
    let url = mysql_database().await;
    mysql_exec(
        &url,
        "SET SESSION max_recursive_iterations = 10000;
         CREATE TABLE big (id int PRIMARY KEY, s varchar(20));
         INSERT INTO big WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000)
             SELECT i, CONCAT('row ', i) FROM n",
    )
    .await;
    let adapter = MySqlAdapter::new(url.clone());
    let plan = plan(&adapter, "big", "big2").await;

    // Batches of at most 700 rows, in key order.
    let (tx, mut rx) = mpsc::channel(1);
    let reader = tokio::spawn({
        let adapter = adapter.clone();
        let plan = plan.clone();
        async move { adapter.read_table(&plan, 700, tx).await }
    });
    let mut sizes = Vec::new();
    let mut last = 0;
    while let Some(b) = rx.recv().await {
        let ids = b
            .column(0)
            .as_any()
            .downcast_ref::<arrow_array::Int32Array>()
            .unwrap();
        assert!(ids.values().iter().all(|&i| {
            let ok = i == last + 1;
            last = i;
            ok
        }));
        sizes.push(b.num_rows());
    }
    assert_eq!(reader.await.unwrap().unwrap(), 5000);
    assert_eq!(sizes, vec![700, 700, 700, 700, 700, 700, 700, 100]);

    // A receiver that goes away after one batch stops the reader early.
    let (tx, mut rx) = mpsc::channel(1);
    let reader = tokio::spawn({
        let adapter = adapter.clone();
        let plan = plan.clone();
        async move { adapter.read_table(&plan, 100, tx).await }
    });
    assert_eq!(rx.recv().await.unwrap().num_rows(), 100);
    drop(rx);
    let sent = reader.await.unwrap().unwrap();
    assert!(sent < 5000, "{sent}");
}

#[tokio::test]
async fn connect_errors_never_show_the_password() {
    let url = mysql_database().await;
    let bad = DbUrl::parse(&format!(
        "mysql://{}:wrong-secret-pw@{}:{}/{}",
        url.user, url.host, url.port, url.database
    ))
    .unwrap();
    let err = MySqlAdapter::new(bad).connect().await.unwrap_err();
    assert!(matches!(err, Error::Connect { .. }), "{err}");
    let line = ferry_core::error::chain_line(&err);
    assert!(!line.contains("wrong-secret-pw"), "{line}");
    assert!(line.contains("***"), "{line}");
}

/// A resumed run's finisher re-adds what a killed one already added; a
/// foreign key that exists must count as done. MariaDB reports a duplicate
/// foreign key name as the generic 1005 ("can't create table"), so ferry
/// checks the catalog instead.
#[tokio::test]
async fn re_adding_existing_schema_objects_counts_as_done() {
    let url = mysql_database().await;
    mysql_exec(
        &url,
        "CREATE TABLE parent (id int PRIMARY KEY); \
         CREATE TABLE child (id int PRIMARY KEY, parent_id int); \
         INSERT INTO parent VALUES (1); INSERT INTO child VALUES (1, 1);",
    )
    .await;
    let adapter = MySqlAdapter::new(url.clone());
    let steps = vec![
        "ALTER TABLE `child` ADD CONSTRAINT `child_parent_fk` FOREIGN KEY (`parent_id`) \
         REFERENCES `parent` (`id`) ON DELETE CASCADE"
            .to_string(),
        "CREATE INDEX `child_p` ON `child` (`parent_id`)".to_string(),
    ];
    adapter
        .execute_idempotent(&steps, "post-data")
        .await
        .expect("first time");
    adapter
        .execute_idempotent(&steps, "post-data")
        .await
        .expect("again, after a resume");
    // A foreign key that cannot be added still fails.
    mysql_exec(&url, "INSERT INTO child VALUES (2, NULL)").await;
    let bad = vec![
        "ALTER TABLE `child` ADD CONSTRAINT `child_self_fk` FOREIGN KEY (`id`) \
                    REFERENCES `parent` (`id`)"
            .to_string(),
    ];
    let err = adapter
        .execute_idempotent(&bad, "post-data")
        .await
        .expect_err("orphan rows must fail the foreign key");
    assert!(err.to_string().contains("child_self_fk"), "{err}");
}

/// Every batch's `id` column (int), in the order received.
async fn ids_of(mut rx: mpsc::Receiver<RecordBatch>) -> Vec<i32> {
    let mut out = Vec::new();
    while let Some(b) = rx.recv().await {
        let ids = b
            .column(0)
            .as_any()
            .downcast_ref::<arrow_array::Int32Array>()
            .unwrap();
        out.extend(ids.values().iter().copied());
    }
    out
}

#[tokio::test]
async fn range_reads_keep_only_the_rows_the_row_filter_keeps() {
    use ferry_core::adapter::{RangeReader, ReadOptions};
    use ferry_core::range::{KeyRange, RangeOptions};

    let url = mysql_database().await;
    mysql_exec(
        &url,
        "SET SESSION max_recursive_iterations = 10000;
         CREATE TABLE f (id int NOT NULL PRIMARY KEY, v varchar(20) COLLATE utf8mb4_general_ci);
         INSERT INTO f WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000)
             SELECT i, CONCAT('row ', i) FROM n",
    )
    .await;
    let adapter = MySqlAdapter::new(url.clone());
    let mut plan = plan(&adapter, "f", "f2").await;
    plan.row_filter = Some("id % 3 = 0 OR v = 'ROW 1'".into());
    let options = RangeOptions {
        max_ranges: 4,
        min_range_rows: 100,
    };
    let ranges = adapter.plan_ranges(&plan, &options).await.unwrap();
    assert!(ranges.ranges.len() > 1, "{ranges:?}");
    let copy_order = ReadOptions::copy(64);
    let mut seen = Vec::new();
    for range in &ranges.ranges {
        let (tx, rx) = mpsc::channel(2);
        let (sent, ids) = tokio::join!(
            adapter.read_range(&plan, range, None, &copy_order, tx),
            ids_of(rx)
        );
        assert_eq!(sent.unwrap(), ids.len() as u64);
        seen.extend(ids);
    }
    let wanted: Vec<i32> = (1..=3000).filter(|i| i % 3 == 0 || *i == 1).collect();
    assert_eq!(seen, wanted);

    // The whole table, in verify's binary key order, through the same reader.
    let (tx, rx) = mpsc::channel(2);
    let read = ReadOptions::binary_key_order(500, vec![false]);
    let (sent, ids) = tokio::join!(
        adapter.read_range(&plan, &KeyRange::Whole, None, &read, tx),
        ids_of(rx)
    );
    assert_eq!(sent.unwrap(), 1001);
    assert_eq!(ids, wanted);
}

#[tokio::test]
async fn one_writer_loads_many_ranges_with_encoders_chosen_once() {
    use ferry_core::adapter::RangeWriter;

    let url = mysql_database().await;
    mysql_exec(
        &url,
        "CREATE TABLE w (id int NOT NULL PRIMARY KEY, v varchar(20));
         INSERT INTO w VALUES (1,'a'),(2,'b'),(3,'c'),(4,'d'),(5,'e'),(6,'f')",
    )
    .await;
    let adapter = MySqlAdapter::new(url.clone());
    let plan = plan(&adapter, "w", "w2").await;
    adapter.prepare(&plan, IfExists::Fail).await.unwrap();
    let writer = adapter.open_writer(&plan).await.unwrap();
    for filter in ["id <= 2", "id > 2"] {
        let plan = TablePlan {
            row_filter: Some(filter.into()),
            ..plan.clone()
        };
        let (tx, rx) = mpsc::channel(2);
        let (read, written) = tokio::join!(adapter.read_table(&plan, 1, tx), writer.write(rx));
        assert_eq!(read.unwrap(), written.unwrap().rows_written);
    }
    assert_eq!(count(&url, "w2").await, "6");
}

#[tokio::test]
async fn key_columns_say_whether_the_key_splits() {
    use ferry_core::adapter::{Database, KeySplit, RangeReader};

    let url = mysql_database().await;
    mysql_exec(
        &url,
        "CREATE TABLE k (id bigint NOT NULL PRIMARY KEY, t varchar(5) COLLATE utf8mb4_general_ci);
         CREATE TABLE n (price decimal(10,2) NOT NULL PRIMARY KEY);
         CREATE TABLE b (v text)",
    )
    .await;
    let adapter = MySqlAdapter::new(url.clone());
    adapter.ping().await.unwrap();
    let k = plan(&adapter, "k", "k").await;
    assert_eq!(
        adapter.key_columns(&k).await.unwrap(),
        KeySplit::Key(vec!["id".into()])
    );
    assert!(matches!(
        adapter.key_columns(&plan(&adapter, "n", "n").await).await.unwrap(),
        KeySplit::Unsplittable(reason) if reason.contains("price")
    ));
    assert_eq!(
        adapter
            .key_columns(&plan(&adapter, "b", "b").await)
            .await
            .unwrap(),
        KeySplit::NoKey
    );
    assert_eq!(
        adapter.column_collations(&k).await.unwrap(),
        vec![
            ("id".to_string(), None),
            ("t".to_string(), Some("utf8mb4_general_ci".into()))
        ]
    );
    assert_eq!(
        Database::schema_of(&adapter, &TableRef::new(None, "k")),
        url.database
    );
}

/// Issue 17: an integer key is split from the index alone (MIN, MAX and
/// the optimizer's index-dive estimates, no row read): ranges hold about
/// equal row counts however skewed the key, and together every row once.
#[tokio::test]
async fn integer_keys_split_from_the_index_into_balanced_ranges() {
    use ferry_core::adapter::{RangeReader, ReadOptions};
    use ferry_core::range::{RangeOptions, SplitMethod};

    let url = mysql_database().await;
    // 20,000 dense keys, then 4,000 spread a billion apart.
    mysql_exec(
        &url,
        "SET SESSION max_recursive_iterations = 100000;
         CREATE TABLE s (id bigint NOT NULL PRIMARY KEY, v varchar(20));
         INSERT INTO s WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 24000)
             SELECT IF(i <= 20000, i, 20000 + (i - 20000) * 1000000000), CONCAT('row ', i) FROM n;
         ANALYZE TABLE s;",
    )
    .await;
    let adapter = MySqlAdapter::new(url.clone());
    let plan = plan(&adapter, "s", "s2").await;
    let options = RangeOptions {
        max_ranges: 4,
        min_range_rows: 1000,
    };
    let ranges = adapter.plan_ranges(&plan, &options).await.unwrap();
    assert_eq!(ranges.method, SplitMethod::KeySample, "{ranges:?}");
    assert_eq!(ranges.ranges.len(), 4, "{ranges:?}");
    let mut total = 0;
    for range in &ranges.ranges {
        let (tx, mut rx) = mpsc::channel::<RecordBatch>(2);
        let read = ReadOptions::copy(4096);
        let counting = async {
            let mut n = 0;
            while let Some(b) = rx.recv().await {
                n += b.num_rows();
            }
            n
        };
        let (sent, n) = tokio::join!(adapter.read_range(&plan, range, None, &read, tx), counting);
        assert_eq!(sent.unwrap(), n as u64);
        // A quarter is 6,000 rows; estimates are estimates.
        assert!(
            (2000..=12_000).contains(&n),
            "{range}: {n} rows of {ranges:?}"
        );
        total += n;
    }
    assert_eq!(total, 24_000);
}

/// The cutover fence on a MariaDB of its own (`read_only` is server-wide,
/// and the shared test server's other tests must not be fenced): a write
/// transaction open before the fence cannot commit after it, the
/// application's sessions are killed, a user that bypasses read_only is
/// named, and the undo restores writes.
#[tokio::test(flavor = "multi_thread")]
async fn the_read_only_fence_stops_in_flight_writes_and_lifts_exactly() {
    use ferry_core::cutover::{CutoverSupport, FenceSpec};
    use mysql_async::prelude::Queryable;
    use std::time::Duration;

    let server = tokio::task::spawn_blocking(|| ferry_testkit::start_mariadb(None))
        .await
        .unwrap()
        .expect("a MariaDB of its own");
    let admin = server.url.clone();
    mysql_exec(&admin, "CREATE DATABASE fence").await;
    let url = admin.with_database("fence");
    mysql_exec(
        &url,
        "CREATE TABLE t (id int PRIMARY KEY, v int);
         CREATE USER app@'%' IDENTIFIED BY 'pw'; GRANT SELECT, INSERT, UPDATE ON fence.* TO app@'%';
         CREATE USER boss@'%' IDENTIFIED BY 'pw'; GRANT READ_ONLY ADMIN ON *.* TO boss@'%';",
    )
    .await;
    let app_url = DbUrl::parse(&format!("mysql://app:pw@127.0.0.1:{}/fence", url.port)).unwrap();
    let adapter = MySqlAdapter::new(url.clone());
    let spec = FenceSpec {
        roles: vec!["app".into()],
        tables: vec![TableRef::new(None, "t")],
        grace: Duration::from_millis(200),
        lock_timeout: Duration::from_secs(2),
    };
    assert!(adapter.fence_bypasses(&spec).await.unwrap().is_empty());
    let boss = FenceSpec {
        roles: vec!["boss".into()],
        ..spec.clone()
    };
    let named = adapter.fence_bypasses(&boss).await.unwrap();
    assert!(named[0].reason.contains("READ_ONLY ADMIN"), "{named:?}");
    assert_eq!(adapter.own_write_problem(&spec).await.unwrap(), None);

    // The application has written and not committed when the fence goes up.
    let mut app = ferry_testkit::mysql_conn(&app_url).await;
    app.query_drop("START TRANSACTION").await.unwrap();
    app.query_drop("INSERT INTO t VALUES (1, 1)").await.unwrap();
    let plan = adapter.plan_fence(&spec).await.unwrap();
    assert_eq!(plan.apply, ["SET GLOBAL read_only = ON"]);
    assert_eq!(plan.undo, ["SET GLOBAL read_only = OFF"]);
    let outcome = adapter.apply_fence(&spec, &plan).await.unwrap();
    assert_eq!(outcome.sessions_ended, 1);
    assert!(adapter.fence_holds(&spec).await.unwrap());
    assert!(
        app.query_drop("COMMIT").await.is_err(),
        "the commit lands after the fence"
    );
    let rows = mysql_rows(&url, "SELECT count(*) FROM t").await;
    assert_eq!(rows[0][0].as_deref(), Some("0"));
    // A new session of the application cannot write either.
    let mut again = ferry_testkit::mysql_conn(&app_url).await;
    assert!(again
        .query_drop("INSERT INTO t VALUES (2, 2)")
        .await
        .is_err());
    // The plan rendered now would do nothing (already fenced) and undo nothing.
    assert!(adapter.plan_fence(&spec).await.unwrap().undo.is_empty());
    adapter.lift_fence(&plan).await.unwrap();
    let mut after = ferry_testkit::mysql_conn(&app_url).await;
    after
        .query_drop("INSERT INTO t VALUES (3, 3)")
        .await
        .unwrap();
    assert!(!adapter.fence_holds(&spec).await.unwrap());
    drop(server);
}

/// The character sets whose decoding is checked against the server.
const CHARSETS: &[&str] = &[
    "latin1", "latin2", "latin5", "latin7", "cp1250", "cp1251", "cp1256", "cp1257", "cp850",
    "cp852", "cp866", "koi8r", "koi8u", "greek", "hebrew", "macroman", "macce", "tis620",
    "armscii8", "geostd8", "dec8", "hp8", "swe7", "keybcs2", "ascii", "gbk", "gb2312", "big5",
    "sjis", "cp932", "euckr", "ujis", "eucjpms", "ucs2", "utf16", "utf16le", "utf32",
];

/// Issue 19: for every legacy character set of MariaDB, random byte strings
/// (biased to the bytes where tables differ) are decoded by ferry and
/// converted by the server: where ferry decodes, the text is the server's;
/// where ferry refuses, the server makes a `?` (or U+FFFD) of something that
/// was not one; and the pre-flight's SQL check agrees with ferry on every
/// string. Random strings also exercise the segmentation of sequences that
/// follow each other, which the server's per-sequence table does not.
#[tokio::test]
async fn legacy_charsets_decode_as_the_server_converts() {
    use ferry_core::dialect::ValueCheck;
    use ferry_core::Dialect;
    use mysql_async::prelude::Queryable;
    let url = mysql_database().await;
    let adapter = MySqlAdapter::new(url.clone());
    let mut conn = adapter.connect().await.unwrap();
    let mut seed: u64 = 0x5eed_0019;
    let mut next = move || {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (seed >> 33) as u32
    };
    for cs in CHARSETS {
        let charset = adapter.charset(&mut conn, cs).await.unwrap();
        let unit = match *cs {
            "ucs2" | "utf16" | "utf16le" => 2,
            "utf32" => 4,
            _ => 1,
        };
        let strings: Vec<Vec<u8>> = (0..600)
            .map(|_| {
                let len = unit * (1 + next() as usize % 6);
                (0..len)
                    .map(|_| {
                        let low = next().to_le_bytes()[0];
                        match next() % 8 {
                            0 => low & 0x7F,
                            1 => b'?',
                            2 if unit == 4 => 0,
                            _ => low | 0x80,
                        }
                    })
                    .collect()
            })
            .collect();
        let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02X}")).collect::<String>();
        let check = ferry_mysql::MySqlDialect
            .value_check(ValueCheck::Unmappable(cs), "v")
            .unwrap();
        // Stored in a column as a non-strict server stores them (an
        // ill-formed string cannot be stored as it is), then read back raw.
        let values: Vec<String> = strings
            .iter()
            .enumerate()
            .map(|(i, s)| format!("({i}, X'{}')", hex(s)))
            .collect();
        conn.query_drop(format!(
            "SET SESSION sql_mode = ''; \
             CREATE TABLE r_{cs} (i int PRIMARY KEY, v varchar(40) CHARACTER SET {cs}); \
             INSERT INTO r_{cs} VALUES {}",
            values.join(", ")
        ))
        .await
        .unwrap();
        let sql = format!(
            "SELECT CAST(v AS BINARY), CONVERT(v USING utf8mb4), {check} FROM r_{cs} ORDER BY i"
        );
        let rows: Vec<(Vec<u8>, Vec<u8>, Option<i64>)> = conn.query(sql).await.unwrap();
        assert_eq!(rows.len(), strings.len(), "{cs}");
        let (mut decoded, mut refused) = (0, 0);
        for (stored, server, flagged) in rows {
            let input = &stored;
            let mut ours = String::new();
            let ok = charset.decode_into(input, &mut ours).is_ok();
            // MariaDB converts ucs2's lone surrogates into invalid UTF-8.
            let server = String::from_utf8(server).unwrap_or_else(|_| "\u{FFFD}".into());
            if ok {
                decoded += 1;
                assert_eq!(ours, server, "{cs} {}", hex(input));
            } else {
                refused += 1;
                let marks = |s: &str| s.matches('?').count();
                let input_marks = input
                    .chunks(unit)
                    .filter(|u| u.last() == Some(&b'?') && u[..unit - 1].iter().all(|&b| b == 0))
                    .count();
                assert!(
                    marks(&server) > input_marks || server.contains('\u{FFFD}'),
                    "{cs} {}: ferry refuses what the server converts to {server:?}",
                    hex(input)
                );
            }
            assert_eq!(
                flagged == Some(1),
                !ok,
                "{cs} {}: the pre-flight check disagrees with the decoder",
                hex(input)
            );
        }
        assert!(decoded > 0, "{cs}: nothing decoded");
        eprintln!("{cs}: {decoded} strings decoded, {refused} refused");
    }
}
