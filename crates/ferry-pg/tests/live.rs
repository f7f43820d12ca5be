//! Live tests against a throwaway PostgreSQL server from `ferry-testkit`.
//! Every test gets its own fresh database.

use arrow_array::RecordBatch;
use ferry_core::adapter::{Catalog, TableReader, TableWriter};
use ferry_core::{DbUrl, Engine, Error, IfExists, Result, TablePlan, TableRef};
use ferry_mapping::Mappings;
use ferry_pg::PgAdapter;
use ferry_testkit::{pg_database, pg_exec, pg_rows};
use tokio::sync::mpsc;

const EVERY_TYPE: &str = r#"
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy', 'it''s');
CREATE DOMAIN posint AS int4 CHECK (VALUE > 0);
CREATE DOMAIN nn_text AS text NOT NULL;
CREATE TABLE every (
    id int4 PRIMARY KEY,
    b bool, i2 int2, i8 int8, f4 real, f8 float8,
    n numeric, n2 numeric(12,3), m money,
    c char(5), vc varchar(10), t text, nm name, nt nn_text,
    by bytea, d date, tm time, tm3 time(3), ttz timetz,
    ts timestamp, tstz timestamptz(3), iv interval, u uuid,
    j json, jb jsonb, e mood, dom posint,
    ia int4[], ta text[], na numeric[], ina inet[], ma money[], ea mood[], tza timetz[],
    ip inet, cd cidr, mac macaddr, mac8 macaddr8,
    bt bit(4), vb varbit(10), tsv tsvector, x xml
);
INSERT INTO every VALUES
 (1, true, -32768, 9223372036854775807, 'NaN', '-0',
  'NaN', 123456789.125, 1234.56,
  'a', '😀𝐏', '', 'pg_name', 'x',
  '\x00ff', 'infinity', '24:00:00', '13:14:15.123', '12:00:00+05:30',
  'infinity', '2024-06-01 12:00:00.123+05:30', '1 year 2 mons 3 days 04:05:06', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
  '{"b":1,  "a":2}', '{"big":12345678901234567890}', 'it''s', 7,
  '{1,NULL,3}', '{"a,b","c\"d",NULL}', '{NaN,1.5,-0.001,Infinity}', '{10.0.0.1/8,::1}', '{1.5,-2}', '{happy,sad}', '{12:00:00+05:30,23:59:59.999999-08}',
  '192.168.0.1', '10.0.0.0/8', '08:00:2b:01:02:03', '08:00:2b:01:02:03:04:05',
  B'1010', B'101', $$'a':1A,2 'b''c' 'd\\e':3C fat$$, '<a>x &amp; y</a>'),
 (2, false, 0, -9223372036854775808, 'Infinity', '-Infinity',
  '123456789012345678901234567890.123456789', -0.001, -0.01,
  'abcde', '', 'line1
line2	tab', 'n', '',
  '\x', '4713-01-01 BC', '00:00:00', '00:00:00.001', '23:59:59.999999-08',
  '0001-12-31 23:40:28 BC', '-infinity', '-1 day +02:00', '00000000-0000-0000-0000-000000000000',
  '{"a":1,"a":2}', '[]', 'sad', 1,
  '{}', '{}', '{}', '{}', '{}', '{}', '{}',
  '2001:db8::1/64', '2001:db8::/32', 'ff:ff:ff:ff:ff:ff', '00:00:00:00:00:00:00:00',
  B'0000', B'', '', '<r/>'),
 (3, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, '',
  NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL),
 (4, true, 1, 1, '-Infinity', '4.9e-324',
  '-Infinity', 0, 0,
  '  ', 'x', 'nul-free', 'z', 'y',
  '\xdeadbeef', '-infinity', '12:34:56.789012', '23:59:59.999', '24:00:00+00',
  '15000-12-31 23:59:59.999999', '1969-12-31 23:59:59+00', '100:00:00', 'ffffffff-ffff-ffff-ffff-ffffffffffff',
  '"\u0000"', '{"n":1.0}', 'happy', 2147483647,
  '{NULL}', '{NULL,""}', '{0.00000000000000000000000000000000000001}', '{NULL}', '{NULL}', '{NULL}', '{NULL}',
  '::ffff:1.2.3.4', '0.0.0.0/0', '01:02:03:04:05:06', 'ff:ff:ff:ff:ff:ff:ff:ff',
  B'1111', B'1111111111', 'only', '<a/><b/>');
INSERT INTO every (id, n, nt) VALUES (5, 1e-130, 'q'), (6, 99999999999999999999999999999999999999999999999.9999, 'q');
"#;

async fn plan_for(
    src: &PgAdapter,
    table: &str,
    target: TableRef,
) -> Result<(ferry_core::RawTable, TablePlan)> {
    let raw = src.describe(&TableRef::new(None, table)).await?;
    let plan =
        Mappings::builtin()?.plan_table(&raw, Engine::Postgres, &ferry_pg::PgDialect, target)?;
    Ok((raw, plan))
}

/// Reads `plan.source` with a small batch size and writes it to `dst`.
async fn copy(src: &PgAdapter, dst: &PgAdapter, plan: &TablePlan) -> Result<(u64, u64)> {
    let (tx, rx) = mpsc::channel::<RecordBatch>(2);
    let (read, written) = tokio::join!(src.read_table(plan, 2, tx), dst.write_table(plan, rx));
    Ok((read?, written?.rows_written))
}

fn text_of(table: &str) -> String {
    format!("SELECT * FROM {table} ORDER BY id")
}

async fn adapter(url: &DbUrl) -> PgAdapter {
    PgAdapter::new(url.clone())
}

#[tokio::test]
async fn every_type_roundtrips_between_databases() {
    let src_url = pg_database().await;
    let dst_url = pg_database().await;
    pg_exec(&src_url, EVERY_TYPE).await;
    let src = adapter(&src_url).await;
    let dst = adapter(&dst_url).await;
    let (_, plan) = plan_for(&src, "every", TableRef::new(None, "every"))
        .await
        .unwrap();
    dst.prepare(&plan, IfExists::Fail).await.unwrap();
    let (read, written) = copy(&src, &dst, &plan).await.unwrap();
    assert_eq!((read, written), (6, 6));
    let want = pg_rows(&src_url, &text_of("every")).await;
    let got = pg_rows(&dst_url, &text_of("every")).await;
    assert_eq!(want.len(), 6);
    assert_eq!(got.len(), 6);
    // Spot checks that the comparison sees the edge values themselves.
    let at = |row: usize, name: &str| {
        let i = plan.columns.iter().position(|c| c.name == name).unwrap();
        got[row][i].clone()
    };
    assert_eq!(at(0, "n").as_deref(), Some("NaN"));
    assert_eq!(at(1, "d").as_deref(), Some("4713-01-01 BC"));
    assert_eq!(at(0, "tm").as_deref(), Some("24:00:00"));
    assert_eq!(at(0, "f8").as_deref(), Some("-0"));
    assert_eq!(at(1, "t").as_deref(), Some("line1\nline2\ttab"));
    assert_eq!(at(2, "t"), None);
    assert_eq!(at(0, "t").as_deref(), Some(""));
    assert_eq!(at(0, "ia").as_deref(), Some("{1,NULL,3}"));
    assert_eq!(at(4, "n").map(|s| s.len()), Some(132));
    for (w, g) in want.iter().zip(&got) {
        for (i, (a, b)) in w.iter().zip(g).enumerate() {
            assert_eq!(
                a, b,
                "row {:?} column #{i} ({})",
                w[0], plan.columns[i].name
            );
        }
    }
    // Types, not just text, match.
    let types = "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute \
                 WHERE attrelid = 'every'::regclass AND attnum > 0 ORDER BY attnum";
    let src_types = pg_rows(&src_url, types).await;
    let dst_types = pg_rows(&dst_url, types).await;
    for (s, d) in src_types.iter().zip(&dst_types) {
        let name = s[0].as_deref().unwrap();
        let (s, d) = (s[1].as_deref().unwrap(), d[1].as_deref().unwrap());
        match name {
            // Domains map to their base type.
            "dom" => assert_eq!(d, "integer"),
            "nt" => assert_eq!(d, "text"),
            _ => assert_eq!(s, d, "column {name}"),
        }
    }
}

#[tokio::test]
async fn same_database_copy_reuses_the_enum_type_and_if_exists_modes() {
    let url = pg_database().await;
    pg_exec(&url, EVERY_TYPE).await;
    let pg = adapter(&url).await;
    let (_, plan) = plan_for(&pg, "every", TableRef::new(None, "every copy"))
        .await
        .unwrap();
    pg.prepare(&plan, IfExists::Fail).await.unwrap();
    copy(&pg, &pg, &plan).await.unwrap();
    assert!(matches!(
        pg.prepare(&plan, IfExists::Fail).await,
        Err(Error::TargetExists { .. })
    ));
    pg.prepare(&plan, IfExists::Truncate).await.unwrap();
    assert_eq!(
        pg_rows(&url, "SELECT count(*) FROM \"every copy\"").await[0][0].as_deref(),
        Some("0")
    );
    copy(&pg, &pg, &plan).await.unwrap();
    assert_eq!(
        pg_rows(&url, &text_of("every")).await,
        pg_rows(&url, &text_of("\"every copy\"")).await
    );
    pg.prepare(&plan, IfExists::Append).await.unwrap();
    // Appending the same rows again violates the primary key: nothing committed.
    let err = copy(&pg, &pg, &plan).await.unwrap_err();
    assert!(
        matches!(&err, Error::Refused { reason, .. } if reason.starts_with("duplicate key (23505)")),
        "{err:?}"
    );
    assert_eq!(
        pg_rows(&url, "SELECT count(*) FROM \"every copy\"").await[0][0].as_deref(),
        Some("6")
    );
}

#[tokio::test]
async fn catalog_describes_types_keys_and_domains() {
    let url = pg_database().await;
    pg_exec(&url, EVERY_TYPE).await;
    pg_exec(
        &url,
        "CREATE TABLE b_second (k2 text, k1 int4, v varchar(7), PRIMARY KEY (k1, k2));
         CREATE VIEW a_view AS SELECT 1;
         CREATE SCHEMA other; CREATE TABLE other.z (id int);
         ALTER TABLE every DROP COLUMN i2;",
    )
    .await;
    let pg = adapter(&url).await;
    let tables = pg.list_tables(None).await.unwrap();
    let names: Vec<_> = tables.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["b_second", "every"]);
    assert_eq!(pg.list_tables(Some("other")).await.unwrap().len(), 1);

    let raw = pg.describe(&TableRef::new(None, "every")).await.unwrap();
    let col = |n: &str| raw.columns.iter().find(|c| c.name == n).unwrap();
    assert!(
        raw.columns.iter().all(|c| c.name != "i2"),
        "dropped column skipped"
    );
    assert_eq!(raw.columns[1].name, "b");
    assert_eq!(raw.primary_key, [0]);
    assert!(!col("id").nullable);
    assert_eq!(col("n2").ty.name, "numeric");
    assert_eq!(
        (col("n2").ty.precision, col("n2").ty.scale),
        (Some(12), Some(3))
    );
    assert_eq!((col("n").ty.precision, col("n").ty.scale), (None, None));
    assert_eq!(col("vc").ty.length, Some(10));
    assert_eq!(col("c").ty.name, "bpchar");
    assert_eq!(col("c").ty.length, Some(5));
    assert_eq!(col("vb").ty.length, Some(10));
    assert_eq!(col("tm").ty.fsp, Some(6));
    assert_eq!(col("tm3").ty.fsp, Some(3));
    assert_eq!(col("tstz").ty.fsp, Some(3));
    assert_eq!(col("iv").ty.fsp, Some(6));
    assert_eq!(col("e").ty.name, "enum");
    assert_eq!(col("e").ty.values, ["sad", "ok", "happy", "it's"]);
    assert_eq!(col("e").ty.user_type.as_deref(), Some("mood"));
    assert_eq!(col("dom").ty.name, "int4");
    assert_eq!(col("dom").ty.user_type.as_deref(), Some("posint"));
    assert!(col("dom").nullable);
    assert!(!col("nt").nullable, "NOT NULL domain");
    assert_eq!(col("ea").ty.name, "array");
    assert_eq!(col("ea").ty.display, "mood[]");
    assert_eq!(col("ea").ty.element.as_ref().unwrap().name, "enum");
    assert_eq!(col("ta").ty.element.as_ref().unwrap().name, "text");
    assert_eq!(col("vc").ty.display, "character varying(10)");

    let b = pg
        .describe(&TableRef::new(Some("public"), "b_second"))
        .await
        .unwrap();
    assert_eq!(b.primary_key, [1, 0], "key order, not column order");

    let missing = pg.describe(&TableRef::new(None, "nope")).await.unwrap_err();
    assert!(matches!(missing, Error::MissingTable { .. }), "{missing:?}");
}

#[tokio::test]
async fn value_errors_name_the_key_and_roll_back() {
    let url = pg_database().await;
    pg_exec(
        &url,
        "CREATE TABLE src (id int4 PRIMARY KEY, s text NOT NULL);
         INSERT INTO src VALUES (1, 'ok'), (2, 'too long for the target');",
    )
    .await;
    let pg = adapter(&url).await;
    let (_, mut plan) = plan_for(&pg, "src", TableRef::new(None, "dst"))
        .await
        .unwrap();
    // The user overrode the target type: the sink checks the real column.
    plan.columns[1].target_type = "varchar(5)".into();
    pg.prepare(&plan, IfExists::Fail).await.unwrap();
    let err = copy(&pg, &pg, &plan).await.unwrap_err();
    let line = ferry_core::error::chain_line(&err);
    assert!(
        matches!(&err, Error::Value { column, key, .. } if column == "s" && key == "id=2"),
        "{line}"
    );
    assert!(!line.contains("too long for"), "value leaked: {line}");
    assert_eq!(
        pg_rows(&url, "SELECT count(*) FROM dst").await[0][0].as_deref(),
        Some("0")
    );
}

#[tokio::test]
async fn nul_bytes_are_refused_or_stripped_and_bad_pairs_fail_early() {
    use arrow_array::{Int32Array, StringArray};
    use std::sync::Arc;
    let url = pg_database().await;
    pg_exec(&url, "CREATE TABLE src (id int4 PRIMARY KEY, s text)").await;
    let pg = adapter(&url).await;
    let (_, mut plan) = plan_for(&pg, "src", TableRef::new(None, "dst"))
        .await
        .unwrap();
    pg.prepare(&plan, IfExists::Fail).await.unwrap();
    let schema = ferry_core::arrow::plan_schema(&plan);
    let batch = RecordBatch::try_new(
        schema,
        vec![
            Arc::new(Int32Array::from(vec![7])),
            Arc::new(StringArray::from(vec!["a\0b"])),
        ],
    )
    .unwrap();
    let send = |b: RecordBatch| {
        let (tx, rx) = mpsc::channel(1);
        tx.try_send(b).unwrap();
        rx
    };
    let err = pg
        .write_table(&plan, send(batch.clone()))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Value { key, problem, .. } if key == "id=7" && problem.contains("NUL")),
        "{err:?}"
    );
    plan.columns[1].conversion = ferry_core::Conversion::StripNul;
    let receipt = pg.write_table(&plan, send(batch)).await.unwrap();
    assert_eq!(receipt.rows_written, 1);
    assert_eq!(
        pg_rows(&url, "SELECT s FROM dst").await[0][0].as_deref(),
        Some("ab")
    );

    pg_exec(
        &url,
        "ALTER TABLE dst ALTER COLUMN s TYPE bytea USING s::bytea",
    )
    .await;
    let (_tx, rx) = mpsc::channel(1);
    let err = pg.write_table(&plan, rx).await.unwrap_err();
    assert!(matches!(err, Error::UnsupportedType { .. }), "{err:?}");
}

#[tokio::test]
async fn reader_stops_when_the_receiver_goes_away() {
    let url = pg_database().await;
    pg_exec(
        &url,
        "CREATE TABLE big (id int8 PRIMARY KEY, s text);
         INSERT INTO big SELECT g, repeat('x', 100) FROM generate_series(1, 20000) g;",
    )
    .await;
    let pg = adapter(&url).await;
    let (_, plan) = plan_for(&pg, "big", TableRef::new(None, "big2"))
        .await
        .unwrap();
    let (tx, mut rx) = mpsc::channel(1);
    let reader = tokio::spawn({
        let pg = pg.clone();
        let plan = plan.clone();
        async move { pg.read_table(&plan, 1000, tx).await }
    });
    let first = rx.recv().await.unwrap();
    assert_eq!(first.num_rows(), 1000);
    drop(rx);
    let sent = reader.await.unwrap().unwrap();
    assert!(sent < 20000, "{sent}");
}

#[tokio::test]
async fn multi_dimensional_arrays_are_refused_with_the_key() {
    let url = pg_database().await;
    pg_exec(
        &url,
        "CREATE TABLE arr (id int4 PRIMARY KEY, a int4[]);
         INSERT INTO arr VALUES (1, '{1,2}'), (2, '{{1,2},{3,4}}'), (3, '[0:1]={5,6}');",
    )
    .await;
    let pg = adapter(&url).await;
    let (_, plan) = plan_for(&pg, "arr", TableRef::new(None, "arr2"))
        .await
        .unwrap();
    let (tx, mut rx) = mpsc::channel(8);
    let err = pg.read_table(&plan, 10, tx).await.unwrap_err();
    assert!(
        matches!(&err, Error::Value { key, problem, .. } if key == "id=2" && problem == "multi-dimensional array"),
        "{err:?}"
    );
    while rx.recv().await.is_some() {}
    pg_exec(&url, "DELETE FROM arr WHERE id = 2").await;
    let (tx, _rx) = mpsc::channel(8);
    let err = pg.read_table(&plan, 10, tx).await.unwrap_err();
    assert!(
        matches!(&err, Error::Value { key, problem, .. } if key == "id=3" && problem == "array lower bound is not 1"),
        "{err:?}"
    );
}

#[tokio::test]
async fn connect_errors_are_redacted() {
    let url = DbUrl::parse("postgres://u:hunter2@127.0.0.1:1/db").unwrap();
    let err = PgAdapter::new(url).connect().await.unwrap_err();
    let line = ferry_core::error::chain_line(&err);
    assert!(matches!(err, Error::Connect { .. }), "{line}");
    assert!(!line.contains("hunter2"), "{line}");
}

#[tokio::test]
async fn an_existing_enum_with_other_labels_is_refused() {
    let src_url = pg_database().await;
    let dst_url = pg_database().await;
    pg_exec(
        &src_url,
        "CREATE TYPE mood AS ENUM ('sad', 'ok');
         CREATE TABLE t (id int4 PRIMARY KEY, e mood, ea mood[]);",
    )
    .await;
    pg_exec(&dst_url, "CREATE TYPE mood AS ENUM ('ok', 'sad')").await;
    let src = adapter(&src_url).await;
    let dst = adapter(&dst_url).await;
    let (_, plan) = plan_for(&src, "t", TableRef::new(None, "t")).await.unwrap();
    let ddl = dst.create_ddl(&plan);
    assert_eq!(ddl.len(), 2, "one CREATE TYPE for e and ea: {ddl:?}");
    let err = dst.prepare(&plan, IfExists::Fail).await.unwrap_err();
    assert!(matches!(err, Error::Table { .. }), "{err:?}");
    assert!(pg_rows(&dst_url, "SELECT to_regclass('t')::text").await[0][0].is_none());
    // With extra labels in a compatible order it is accepted.
    pg_exec(
        &dst_url,
        "DROP TYPE mood; CREATE TYPE mood AS ENUM ('new', 'sad', 'x', 'ok')",
    )
    .await;
    dst.prepare(&plan, IfExists::Fail).await.unwrap();
}

/// Hub values that only other engines produce (MySQL unsigned, YEAR, TIME
/// as a duration, SET) load into the types the PostgreSQL write rules pick.
#[tokio::test]
async fn hub_types_from_other_engines_load() {
    use arrow_array::builder::{ListBuilder, StringBuilder};
    use arrow_array::{
        ArrayRef, DurationMicrosecondArray, Int16Array, Int32Array, Int8Array, StringArray,
        UInt16Array, UInt32Array, UInt64Array, UInt8Array,
    };
    use ferry_core::{ColumnPlan, Conversion, LogicalType, RawType};
    use std::sync::Arc;

    let cols: Vec<(&str, LogicalType, &str)> = vec![
        ("id", LogicalType::Int32, "integer"),
        ("u64", LogicalType::UInt64, "numeric(20,0)"),
        ("i8", LogicalType::Int8, "smallint"),
        ("u8", LogicalType::UInt8, "smallint"),
        ("u16", LogicalType::UInt16, "integer"),
        ("u32", LogicalType::UInt32, "bigint"),
        ("y", LogicalType::Year, "smallint"),
        ("dur", LogicalType::Duration { precision: 6 }, "interval"),
        (
            "s",
            LogicalType::Set {
                values: vec!["a".into(), "b".into()],
            },
            "text[]",
        ),
        ("m", LogicalType::Money, "money"),
        (
            "dec",
            LogicalType::Decimal {
                precision: Some(10),
                scale: Some(2),
            },
            "numeric(10,2)",
        ),
    ];
    let plan = TablePlan {
        source: TableRef::new(None, "mysql_side"),
        target: TableRef::new(None, "hub"),
        columns: cols
            .into_iter()
            .map(|(name, logical, target)| ColumnPlan {
                name: name.into(),
                source_type: String::new(),
                raw: RawType::default(),
                logical,
                nullable: name != "id",
                conversion: Conversion::Exact,
                target_type: target.into(),
                rule: String::new(),
                stored_as: None,
                expr: None,
            })
            .collect(),
        primary_key: vec![0],
        estimated_rows: None,
        schema: Default::default(),
        row_filter: None,
        own_rows_only: false,
        reshape: None,
    };
    let url = pg_database().await;
    let pg = adapter(&url).await;
    pg.prepare(&plan, IfExists::Fail).await.unwrap();
    let mut set = ListBuilder::new(StringBuilder::new()).with_field(Arc::new(
        arrow_schema::Field::new("item", arrow_schema::DataType::Utf8, false),
    ));
    set.append_value([Some("a"), Some("b")]);
    set.append_value([] as [Option<&str>; 0]);
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int32Array::from(vec![1, 2])),
        Arc::new(UInt64Array::from(vec![u64::MAX, 9_007_199_254_740_993])),
        Arc::new(Int8Array::from(vec![-128, 127])),
        Arc::new(UInt8Array::from(vec![255, 0])),
        Arc::new(UInt16Array::from(vec![65535, 1])),
        Arc::new(UInt32Array::from(vec![4_294_967_295, 2])),
        Arc::new(Int16Array::from(vec![2155, 0])),
        Arc::new(DurationMicrosecondArray::from(vec![
            -3_020_399_000_000,
            91_800_000_000,
        ])),
        Arc::new(set.finish()),
        Arc::new(StringArray::from(vec![Some("-1234.5"), None])),
        Arc::new(StringArray::from(vec!["12345678.90", "-0.01"])),
    ];
    let batch = RecordBatch::try_new(ferry_core::arrow::plan_schema(&plan), columns).unwrap();
    let (tx, rx) = mpsc::channel(1);
    tx.send(batch).await.unwrap();
    drop(tx);
    assert_eq!(pg.write_table(&plan, rx).await.unwrap().rows_written, 2);
    let rows = pg_rows(
        &url,
        "SELECT u64, i8, u8, u16, u32, y, dur, s, m::numeric, dec FROM hub ORDER BY id",
    )
    .await;
    let text = |r: &Vec<Option<String>>| -> Vec<String> {
        r.iter()
            .map(|v| v.clone().unwrap_or_else(|| "NULL".into()))
            .collect()
    };
    assert_eq!(
        text(&rows[0]),
        [
            "18446744073709551615",
            "-128",
            "255",
            "65535",
            "4294967295",
            "2155",
            "-838:59:59",
            "{a,b}",
            "-1234.50",
            "12345678.90"
        ]
    );
    assert_eq!(
        text(&rows[1]),
        [
            "9007199254740993",
            "127",
            "0",
            "1",
            "2",
            "0",
            "25:30:00",
            "{}",
            "NULL",
            "-0.01"
        ]
    );
}

/// Every batch's `id` column (int4), in the order received.
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
    use ferry_core::range::{KeyRange, RangeOptions, SplitMethod};

    let url = pg_database().await;
    pg_exec(
        &url,
        "CREATE TABLE f (id int4 PRIMARY KEY, v text);
         INSERT INTO f SELECT i, 'row ' || i FROM generate_series(1, 3000) i;",
    )
    .await;
    let pg = adapter(&url).await;
    let (_, mut plan) = plan_for(&pg, "f", TableRef::new(None, "f2")).await.unwrap();
    plan.row_filter = Some("id % 3 = 0 OR v = 'row 1'".into());
    let options = RangeOptions {
        max_ranges: 4,
        min_range_rows: 100,
    };
    let ranges = pg.plan_ranges(&plan, &options).await.unwrap();
    assert_eq!(ranges.method, SplitMethod::KeySample);
    assert!(ranges.ranges.len() > 1, "{ranges:?}");
    assert_eq!(ranges.estimated_rows, Some(1001));
    let copy_order = ReadOptions::copy(64);
    let mut seen = Vec::new();
    for range in &ranges.ranges {
        let (tx, rx) = mpsc::channel(2);
        let (sent, ids) = tokio::join!(
            pg.read_range(&plan, range, None, &copy_order, tx),
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
        pg.read_range(&plan, &KeyRange::Whole, None, &read, tx),
        ids_of(rx)
    );
    assert_eq!(sent.unwrap(), 1001);
    assert_eq!(ids, wanted);
}

#[tokio::test]
async fn one_writer_loads_many_ranges_with_encoders_chosen_once() {
    use ferry_core::adapter::RangeWriter;

    let url = pg_database().await;
    pg_exec(
        &url,
        "CREATE TABLE w (id int4 PRIMARY KEY, v text);
         INSERT INTO w SELECT i, 'row ' || i FROM generate_series(1, 10) i;",
    )
    .await;
    let pg = adapter(&url).await;
    let (_, plan) = plan_for(&pg, "w", TableRef::new(None, "w2")).await.unwrap();
    pg.prepare(&plan, IfExists::Fail).await.unwrap();
    let writer = pg.open_writer(&plan).await.unwrap();
    for filter in ["id <= 4", "id > 4"] {
        let plan = TablePlan {
            row_filter: Some(filter.into()),
            ..plan.clone()
        };
        let (tx, rx) = mpsc::channel(2);
        let (read, written) = tokio::join!(pg.read_table(&plan, 3, tx), writer.write(rx));
        assert_eq!(read.unwrap(), written.unwrap().rows_written);
    }
    let rows = pg_rows(&url, "SELECT count(*), sum(id) FROM w2").await;
    assert_eq!(
        rows[0],
        vec![Some("10".to_string()), Some("55".to_string())]
    );
}

#[tokio::test]
async fn key_columns_say_whether_the_key_splits() {
    use ferry_core::adapter::{Database, KeySplit, RangeReader};

    let url = pg_database().await;
    pg_exec(
        &url,
        "CREATE TABLE k (id int8 PRIMARY KEY, t text COLLATE \"C\");
         CREATE TABLE n (price numeric PRIMARY KEY);
         CREATE TABLE b (v text);",
    )
    .await;
    let pg = adapter(&url).await;
    pg.ping().await.unwrap();
    let plan = |t: &'static str| {
        let pg = pg.clone();
        async move { plan_for(&pg, t, TableRef::new(None, t)).await.unwrap().1 }
    };
    let k = plan("k").await;
    assert_eq!(
        pg.key_columns(&k).await.unwrap(),
        KeySplit::Key(vec!["id".into()])
    );
    assert!(matches!(
        pg.key_columns(&plan("n").await).await.unwrap(),
        KeySplit::Unsplittable(reason) if reason.contains("price")
    ));
    assert_eq!(
        pg.key_columns(&plan("b").await).await.unwrap(),
        KeySplit::NoKey
    );
    let collations = pg.column_collations(&k).await.unwrap();
    assert_eq!(
        collations,
        vec![
            ("id".to_string(), None),
            ("t".to_string(), Some("C".into()))
        ]
    );
    assert_eq!(pg.schema_of(&TableRef::new(None, "k")), "public");
}

/// Issue 17: bytea values of a megabyte and more are streamed to COPY from
/// the batch's own buffer, in pieces; they land byte for byte, beside
/// small values and NULLs, whatever batch they travel in.
#[tokio::test]
async fn large_bytea_values_stream_into_copy_exactly() {
    let (src_url, dst_url) = (pg_database().await, pg_database().await);
    pg_exec(
        &src_url,
        "CREATE TABLE big (id int PRIMARY KEY, b bytea, t text);
         INSERT INTO big VALUES
           (1, decode(repeat(md5('a'), 65536 * 3 + 7), 'hex'), 'x'),
           (2, NULL, 'y'),
           (3, '\\x00ff', NULL),
           (4, decode(repeat(md5('b'), 131072), 'hex'), 'z');",
    )
    .await;
    let (src, dst) = (adapter(&src_url).await, adapter(&dst_url).await);
    let (_, plan) = plan_for(&src, "big", TableRef::new(None, "big"))
        .await
        .unwrap();
    dst.prepare(&plan, IfExists::Fail).await.unwrap();
    assert_eq!(copy(&src, &dst, &plan).await.unwrap(), (4, 4));
    let sums = "SELECT id, length(b), md5(b), t FROM big ORDER BY id";
    assert_eq!(pg_rows(&dst_url, sums).await, pg_rows(&src_url, sums).await);
    assert_eq!(
        pg_rows(&dst_url, "SELECT length(b) FROM big WHERE id = 1").await,
        vec![vec![Some((16 * (65536 * 3 + 7)).to_string())]]
    );
}
