//! SQL Server in every direction, with the real binary: copy, plan and
//! verify for each pair that includes SQL Server (→ PostgreSQL, → MySQL,
//! → SQL Server; PostgreSQL →, MySQL →), against the test kit's
//! PostgreSQL and MariaDB.
//!
//! No SQL Server runs on the machines ferry is built on: these tests run
//! when `FERRY_TEST_MSSQL_URL` names a server where the account may create
//! databases, and are compiled as ignored otherwise (the run's summary
//! counts them, each named with the reason). Values are compared through
//! each server's own text rendering: SQL Server's `CONVERT(…, style)`,
//! PostgreSQL's and MariaDB's text protocol.
#![cfg_attr(not(mssql_live), allow(dead_code, unused_imports))]

use ferry_testkit::{
    mssql_database, mssql_exec, mssql_rows, mysql_database, mysql_exec, mysql_rows, pg_database,
    pg_exec, pg_rows,
};

use crate::util::{assert_same, copy_ok, ferry, Norm};

const SKIP: &str =
    "needs FERRY_TEST_MSSQL_URL (a SQL Server where the account may create databases)";

/// Every SQL Server type of issue 13 with its edge values (EDGE_CASES T6,
/// T7, J3, J4, N2, S3).
const MSSQL_SCHEMA: &str = "
CREATE TABLE dbo.every (
  id int NOT NULL PRIMARY KEY,
  c_tiny tinyint, c_small smallint, c_int int, c_big bigint, c_bit bit,
  c_dec decimal(38,38), c_dec2 numeric(38,0), c_dec3 decimal(10,2),
  c_money money, c_smallmoney smallmoney, c_real real, c_float float,
  c_char char(5), c_varchar varchar(20), c_nchar nchar(5), c_nvarchar nvarchar(40),
  c_vmax varchar(max), c_nvmax nvarchar(max), c_text text, c_ntext ntext,
  c_binary binary(4), c_varbinary varbinary(10), c_vbmax varbinary(max), c_image image,
  c_date date, c_time time(7), c_time3 time(3), c_datetime datetime, c_dt2 datetime2(7),
  c_dt2_3 datetime2(3), c_small_dt smalldatetime, c_dto datetimeoffset(7),
  c_uuid uniqueidentifier, c_xml xml, c_hier hierarchyid, c_rv rowversion
);
INSERT INTO dbo.every (id, c_tiny, c_small, c_int, c_big, c_bit, c_dec, c_dec2, c_dec3, c_money,
  c_smallmoney, c_real, c_float, c_char, c_varchar, c_nchar, c_nvarchar, c_vmax, c_nvmax, c_text,
  c_ntext, c_binary, c_varbinary, c_vbmax, c_image, c_date, c_time, c_time3, c_datetime, c_dt2,
  c_dt2_3, c_small_dt, c_dto, c_uuid, c_xml, c_hier) VALUES
 (1, 0, -32768, -2147483648, -9223372036854775808, 0,
  -0.99999999999999999999999999999999999999, -99999999999999999999999999999999999999, -99999999.99,
  -922337203685477.5808, -214748.3648, -3.4028235e38, -1.7976931348623157e308,
  '', '', N'', N'', '', N'', '', N'',
  0x00000000, 0x, 0x, 0x,
  '0001-01-01', '00:00:00', '00:00:00', '1753-01-01 00:00:00', '0001-01-01 00:00:00',
  '0001-01-01', '1900-01-01 00:00', '0001-01-01 00:00:00 +00:00',
  '00000000-0000-0000-0000-000000000000', N'<a/>', '/'),
 (2, 255, 32767, 2147483647, 9223372036854775807, 1,
  0.12345678901234567890123456789012345678, 99999999999999999999999999999999999999, 99999999.99,
  922337203685477.5807, 214748.3647, 3.4028235e38, 1.7976931348623157e308,
  'abcde', 'tab	here', N'йцук ', N'😀 𝐏 résumé', REPLICATE(CAST('x' AS varchar(max)), 9000),
  REPLICATE(CAST(N'é' AS nvarchar(max)), 9000), 'text', N'ntext ü',
  0x00FF0A5C, 0x5C4E, 0x0D0A09, 0xFF,
  '9999-12-31', '23:59:59.9999990', '23:59:59.999', '9999-12-31 23:59:59.997', '9999-12-31 23:59:59.9999990',
  '9999-12-31 23:59:59.999', '2079-06-06 23:59', '9999-12-31 23:59:59.9999990 +00:00',
  '825B076B-44EC-E511-80DC-00155D0ABC54', N'<r a=\"1\">x &amp; y</r>', '/1/3/'),
 (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL),
 (4, 7, 0, 0, 0, 1, 0.5, 0, 0.01, 0.0001, 0.0001, 0.1, 0.1,
  'a ', 'a  ', N'a', N'trailing  ', 'x', N'x', ' ', N' ',
  0x01020304, 0x00, 0x00, 0x00,
  '2024-02-29', '12:34:56.1234560', '12:34:56.789', '2024-01-01 23:59:59.997', '2024-02-29 12:00:00.1234560',
  '2024-02-29 12:00:00.5', '2024-02-29 12:01', '2024-06-01 12:00:00.1234560 +00:00',
  '6B075B82-EC44-11E5-80DC-00155D0ABC54', N'<?xml version=\"1.0\"?><doc>ü</doc>', '/1/2.5/');
";

/// The columns of `every` as SQL Server renders them, in a form every
/// engine can be brought to (ISO dates, lower-case UUIDs, hex bytes).
const MSSQL_SELECT: &str = "SELECT CONVERT(nvarchar(20), id), CONVERT(nvarchar(5), c_tiny), \
  CONVERT(nvarchar(10), c_small), CONVERT(nvarchar(20), c_int), CONVERT(nvarchar(30), c_big), \
  CONVERT(nvarchar(1), c_bit), CONVERT(nvarchar(50), c_dec), CONVERT(nvarchar(50), c_dec2), \
  CONVERT(nvarchar(20), c_dec3), CONVERT(nvarchar(30), CAST(c_money AS decimal(19,4))), \
  CONVERT(nvarchar(30), CAST(c_smallmoney AS decimal(10,4))), CONVERT(nvarchar(40), CAST(c_real AS float), 3), \
  CONVERT(nvarchar(40), c_float, 3), c_char, c_varchar, c_nchar, c_nvarchar, c_vmax, c_nvmax, \
  CONVERT(varchar(max), c_text), CONVERT(nvarchar(max), c_ntext), \
  LOWER(CONVERT(varchar(max), c_binary, 2)), LOWER(CONVERT(varchar(max), c_varbinary, 2)), \
  LOWER(CONVERT(varchar(max), c_vbmax, 2)), LOWER(CONVERT(varchar(max), CAST(c_image AS varbinary(max)), 2)), \
  CONVERT(nvarchar(10), c_date, 23), CONVERT(nvarchar(20), c_time), CONVERT(nvarchar(20), c_time3), \
  CONVERT(nvarchar(30), c_datetime, 121), CONVERT(nvarchar(30), c_dt2, 121), \
  CONVERT(nvarchar(30), c_dt2_3, 121), CONVERT(nvarchar(30), c_small_dt, 120), \
  CONVERT(nvarchar(30), CAST(SWITCHOFFSET(c_dto, '+00:00') AS datetime2(7)), 121), LOWER(CONVERT(nvarchar(36), c_uuid)), \
  CONVERT(nvarchar(max), c_xml), c_hier.ToString() FROM dbo.every ORDER BY id";

/// The same columns as PostgreSQL renders the copy.
const PG_SELECT: &str = "SELECT id::text, c_tiny::text, c_small::text, c_int::text, c_big::text, \
  (c_bit::int)::text, c_dec::text, c_dec2::text, c_dec3::text, c_money::text, c_smallmoney::text, \
  c_real::float8::text, c_float::text, c_char, c_varchar, c_nchar, c_nvarchar, c_vmax, c_nvmax, c_text, c_ntext, \
  encode(c_binary, 'hex'), encode(c_varbinary, 'hex'), encode(c_vbmax, 'hex'), encode(c_image, 'hex'), \
  to_char(c_date, 'YYYY-MM-DD'), to_char(c_time, 'HH24:MI:SS.US'), to_char(c_time3, 'HH24:MI:SS.MS'), \
  to_char(c_datetime, 'YYYY-MM-DD HH24:MI:SS.MS'), to_char(c_dt2, 'YYYY-MM-DD HH24:MI:SS.US'), \
  to_char(c_dt2_3, 'YYYY-MM-DD HH24:MI:SS.MS'), to_char(c_small_dt, 'YYYY-MM-DD HH24:MI:SS'), \
  to_char(c_dto AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US'), c_uuid::text, c_xml::text, c_hier \
  FROM every ORDER BY id";

/// PostgreSQL → SQL Server → PostgreSQL: every type ferry writes to SQL
/// Server, with values SQL Server holds (what it cannot hold is refused by
/// the pre-flight, tested separately).
const PG_ROUND_TRIP: &str = r#"
CREATE TYPE mood AS ENUM ('sad', 'ok', 'it''s');
CREATE TABLE rt (
  id integer PRIMARY KEY, c_bool boolean, c_int2 smallint, c_int4 integer, c_int8 bigint,
  c_num numeric(12,2), c_num_free numeric, c_num38 numeric(38,38), c_real real, c_double double precision,
  c_char char(5), c_varchar varchar(20), c_text text, c_bytea bytea, c_date date, c_time time,
  c_ts timestamp, c_tstz timestamptz, c_interval interval, c_uuid uuid, c_json json, c_jsonb jsonb,
  c_enum mood, c_int_arr integer[], c_text_arr text[], c_inet inet, c_money money, c_xml xml
);
INSERT INTO rt VALUES
(1, true, -32768, -2147483648, -9223372036854775808, -9999999999.99, '0.0000000001',
 '0.12345678901234567890123456789012345678', '-3.4028235e38', '-1.7976931348623157e308',
 'a', '', '', '\x', '0001-01-01', '00:00:00', '0001-01-01 00:00:00', '0001-01-01 00:00:00+00',
 '-1 day +02:00', '00000000-0000-0000-0000-000000000000', '{"b":1,"a":2}', '{"a":1}', 'sad',
 '{}', '{"a,b","c\"d",NULL}', '0.0.0.0', '-92233720368547758.08', '<a/>'),
(2, false, 32767, 2147483647, 9223372036854775807, 9999999999.99, '123456789012345678.123456789',
 '0.99999999999999999999999999999999999999', '3.4028235e38', '1.7976931348623157e308',
 'abcde', 'x😀𝐏 tab	end', E'line1\nline2 😀 "dq" ''q''', '\x00ff0a095c4e0d', '9999-12-31',
 '23:59:59.999999', '9999-12-31 23:59:59.999999', '9999-12-31 23:59:59.999999+00',
 '1 year 2 mons 3 days 04:05:06.789', 'ffffffff-ffff-ffff-ffff-ffffffffffff',
 '{"n":1.0,"s":"\u00e9"}', '[1,"x",null,true]', 'it''s', '{1,NULL,3}', '{"😀",""}',
 '2001:db8::1', '92233720368547758.07', '<r a="1">x &amp; y</r>'),
(3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
 NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
(4, true, 0, 0, 0, 0, '20', '0.5', '0.1', '0.1', 'ab ', 'trailing  ', '  leading', '\x5c4e',
 '2024-02-29', '12:34:56.789', '2024-03-10 02:30:00', '2024-06-01 12:00:00+05:30', '100:00:00',
 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '"x"', '{"e":1e2}', 'ok', '{-1}', '{"NULL","null"}',
 '192.168.1.5/24', '0.01', '<?xml version="1.0"?><doc>ü</doc>');
"#;

fn ok(run: &crate::util::Run) {
    assert_eq!(run.code, 0, "{}", run.all_output());
}

fn verify(
    source: &ferry_core::DbUrl,
    target: &ferry_core::DbUrl,
    extra: &[&str],
) -> crate::util::Run {
    let (s, t) = (source.expose(), target.expose());
    let mut args = vec!["verify", "--source", &s, "--target", &t];
    args.extend_from_slice(extra);
    ferry(&args)
}

fn zero_differences(run: &crate::util::Run, table: &str, rows: u64) {
    ok(run);
    let line = format!("verified {table}: {rows} rows compared, 0 differences");
    assert!(
        run.stdout.contains(&line),
        "expected `{line}`:\n{}",
        run.all_output()
    );
}

#[tokio::test]
#[cfg_attr(
    not(mssql_live),
    ignore = "needs FERRY_TEST_MSSQL_URL (a SQL Server where the account may create databases)"
)]
async fn sql_server_to_postgres_every_type_and_edge_value() {
    let (ms, pg) = (mssql_database().await, pg_database().await);
    mssql_exec(&ms, MSSQL_SCHEMA).await;
    copy_ok(
        &ms,
        &pg,
        &["--verify", "--schema", "dbo", "--target-schema", "public"],
    );
    let left = mssql_rows(&ms, MSSQL_SELECT).await;
    let right = pg_rows(&pg, PG_SELECT).await;
    let names = [
        "id",
        "c_tiny",
        "c_small",
        "c_int",
        "c_big",
        "c_bit",
        "c_dec",
        "c_dec2",
        "c_dec3",
        "c_money",
        "c_smallmoney",
        "c_real",
        "c_float",
        "c_char",
        "c_varchar",
        "c_nchar",
        "c_nvarchar",
        "c_vmax",
        "c_nvmax",
        "c_text",
        "c_ntext",
        "c_binary",
        "c_varbinary",
        "c_vbmax",
        "c_image",
        "c_date",
        "c_time",
        "c_time3",
        "c_datetime",
        "c_dt2",
        "c_dt2_3",
        "c_small_dt",
        "c_dto",
        "c_uuid",
        "c_xml",
        "c_hier",
    ];
    let mut norms = vec![Norm::Same; names.len()];
    for i in [6, 7, 8, 9, 10] {
        norms[i] = Norm::Decimal;
    }
    norms[11] = Norm::Float;
    norms[12] = Norm::Float;
    for i in [26, 27, 28, 29, 30, 32] {
        norms[i] = Norm::Time;
    }
    // Times at µs on both sides, trailing fraction zeros trimmed.
    assert_same("sql server → postgres", &left, &right, &names, &norms);
    // rowversion: 8 bytes each, never NULL.
    let rv = pg_rows(
        &pg,
        "SELECT octet_length(c_rv)::text FROM every ORDER BY id",
    )
    .await;
    assert!(rv.iter().all(|r| r[0].as_deref() == Some("8")), "{rv:?}");
}

#[tokio::test]
#[cfg_attr(
    not(mssql_live),
    ignore = "needs FERRY_TEST_MSSQL_URL (a SQL Server where the account may create databases)"
)]
async fn postgres_to_sql_server_and_back_verifies_with_zero_differences() {
    let (pg, ms, pg2) = (
        pg_database().await,
        mssql_database().await,
        pg_database().await,
    );
    pg_exec(&pg, PG_ROUND_TRIP).await;
    let run = copy_ok(&pg, &ms, &["--verify"]);
    assert!(
        run.stdout
            .contains("verified public.rt: 4 rows compared, 0 differences"),
        "{}",
        run.all_output()
    );
    zero_differences(&verify(&pg, &ms, &[]), "public.rt", 4);
    copy_ok(
        &ms,
        &pg2,
        &["--verify", "--schema", "dbo", "--target-schema", "public"],
    );
    zero_differences(
        &verify(&ms, &pg2, &["--schema", "dbo", "--target-schema", "public"]),
        "dbo.rt",
        4,
    );
    // Text columns ferry created on SQL Server compare in binary.
    let coll = mssql_rows(
        &ms,
        "SELECT DISTINCT collation_name FROM sys.columns WHERE object_id = OBJECT_ID('dbo.rt') \
         AND collation_name IS NOT NULL",
    )
    .await;
    assert_eq!(
        coll,
        vec![vec![Some("Latin1_General_100_BIN2".to_string())]]
    );
    // UUIDs: the same text on every engine (J3).
    let u = mssql_rows(
        &ms,
        "SELECT LOWER(CONVERT(nvarchar(36), c_uuid)) FROM dbo.rt WHERE id = 4",
    )
    .await;
    assert_eq!(
        u[0][0].as_deref(),
        Some("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")
    );
}

#[tokio::test]
#[cfg_attr(
    not(mssql_live),
    ignore = "needs FERRY_TEST_MSSQL_URL (a SQL Server where the account may create databases)"
)]
async fn sql_server_to_mysql_and_mysql_to_sql_server() {
    let (ms, my) = (mssql_database().await, mysql_database().await);
    mssql_exec(
        &ms,
        "CREATE TABLE dbo.t (id int NOT NULL PRIMARY KEY, tiny tinyint, d datetime, u uniqueidentifier, \
         n nvarchar(20), m money); \
         INSERT INTO dbo.t VALUES (1, 255, '2024-01-01 23:59:59.997', '825B076B-44EC-E511-80DC-00155D0ABC54', N'йцук 😀', 1.5), \
         (2, 0, '1753-01-01', NULL, N'', -922337203685477.5808)",
    )
    .await;
    copy_ok(&ms, &my, &["--verify", "--schema", "dbo"]);
    // tinyint 255 lands in TINYINT UNSIGNED (N2); datetime's tick shows as .997.
    let rows = mysql_rows(
        &my,
        "SELECT tiny, CAST(d AS char), u, n, m FROM t ORDER BY id",
    )
    .await;
    assert_eq!(rows[0][0].as_deref(), Some("255"));
    assert_eq!(rows[0][1].as_deref(), Some("2024-01-01 23:59:59.997"));
    assert_eq!(
        rows[0][2].as_deref(),
        Some("825b076b-44ec-e511-80dc-00155d0abc54")
    );
    assert_eq!(rows[0][3].as_deref(), Some("йцук 😀"));
    assert_eq!(rows[1][4].as_deref(), Some("-922337203685477.5808"));

    let ms2 = mssql_database().await;
    mysql_exec(
        &my,
        "CREATE TABLE m2 (id int PRIMARY KEY, u8 tinyint unsigned, i8 tinyint, b bigint unsigned, \
         t time(6), y year, s set('a','b'), j json) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin; \
         INSERT INTO m2 VALUES (1, 255, -128, 18446744073709551615, '23:59:59.999999', 2155, 'a,b', '{\"x\":1}')",
    )
    .await;
    let (s, t) = (my.expose(), ms2.expose());
    let run = ferry(&[
        "copy", "--source", &s, "--target", &t, "--quiet", "--tables", "m2", "--verify",
    ]);
    ok(&run);
    let rows = mssql_rows(
        &ms2,
        "SELECT CONVERT(nvarchar(5), u8), CONVERT(nvarchar(5), i8), CONVERT(nvarchar(30), b), \
         CONVERT(nvarchar(20), t), s, j FROM dbo.m2",
    )
    .await;
    assert_eq!(rows[0][0].as_deref(), Some("255"));
    assert_eq!(rows[0][1].as_deref(), Some("-128"));
    assert_eq!(rows[0][2].as_deref(), Some("18446744073709551615"));
    assert_eq!(rows[0][4].as_deref(), Some("[\"a\",\"b\"]"));
    zero_differences(&verify(&my, &ms2, &["--tables", "m2"]), "m2", 1);
}

#[tokio::test]
#[cfg_attr(
    not(mssql_live),
    ignore = "needs FERRY_TEST_MSSQL_URL (a SQL Server where the account may create databases)"
)]
async fn sql_server_to_sql_server_keeps_declarations_and_identity() {
    let (a, b) = (mssql_database().await, mssql_database().await);
    mssql_exec(
        &a,
        "CREATE TABLE dbo.orders (id int IDENTITY(1,1) NOT NULL PRIMARY KEY, \
         placed datetime2(7) NOT NULL CONSTRAINT df_placed DEFAULT (sysdatetime()), \
         ref uniqueidentifier NOT NULL DEFAULT (newsequentialid()), \
         qty int NOT NULL CONSTRAINT ck_qty CHECK (qty > 0), price decimal(10,2) NOT NULL DEFAULT ((0)), \
         total AS (qty * price) PERSISTED, email nvarchar(100) COLLATE SQL_Latin1_General_CP1_CI_AS NULL, \
         note nvarchar(200) NULL); \
         CREATE UNIQUE INDEX ux_email ON dbo.orders (email) WHERE email IS NOT NULL; \
         CREATE INDEX ix_qty ON dbo.orders (qty) INCLUDE (price); \
         EXEC sys.sp_addextendedproperty @name = N'MS_Description', @value = N'what was ordered', \
           @level0type = N'SCHEMA', @level0name = N'dbo', @level1type = N'TABLE', @level1name = N'orders'; \
         INSERT INTO dbo.orders (placed, qty, price, email) VALUES ('2024-01-01 10:00:00.1234560', 1, 9.99, N'a@x'), \
           ('2024-01-01 10:00:00', 2, 1.5, NULL); \
         SET IDENTITY_INSERT dbo.orders ON; \
         INSERT INTO dbo.orders (id, placed, qty, price) VALUES (1000, '2024-01-02', 3, 2); \
         SET IDENTITY_INSERT dbo.orders OFF;",
    )
    .await;
    let (s, t) = (a.expose(), b.expose());
    let plan = ferry(&["plan", "--source", &s, "--target", &t, "--schema", "dbo"]);
    ok(&plan);
    assert!(
        plan.all_output().contains("ix_qty"),
        "the included columns are named: {}",
        plan.all_output()
    );
    copy_ok(&a, &b, &["--verify", "--schema", "dbo"]);
    zero_differences(&verify(&a, &b, &["--schema", "dbo"]), "dbo.orders", 3);
    // The identity hands out past the largest copied key (N9).
    mssql_exec(&b, "INSERT INTO dbo.orders (qty, price) VALUES (4, 1)").await;
    let next = mssql_rows(&b, "SELECT CONVERT(nvarchar(20), MAX(id)) FROM dbo.orders").await;
    assert_eq!(next[0][0].as_deref(), Some("1001"));
    // The computed column, the filtered index and the comment came along.
    let objs = mssql_rows(
        &b,
        "SELECT (SELECT COUNT(*) FROM sys.computed_columns WHERE object_id = OBJECT_ID('dbo.orders')), \
         (SELECT filter_definition FROM sys.indexes WHERE name = 'ux_email'), \
         (SELECT CONVERT(nvarchar(100), value) FROM sys.extended_properties WHERE major_id = OBJECT_ID('dbo.orders') AND minor_id = 0)",
    )
    .await;
    assert_eq!(objs[0][0].as_deref(), Some("1"));
    assert_eq!(objs[0][1].as_deref(), Some("([email] IS NOT NULL)"));
    assert_eq!(objs[0][2].as_deref(), Some("what was ordered"));
}

#[tokio::test]
#[cfg_attr(
    not(mssql_live),
    ignore = "needs FERRY_TEST_MSSQL_URL (a SQL Server where the account may create databases)"
)]
async fn plan_proves_the_ddl_for_every_pair_with_sql_server() {
    let (ms, pg, my) = (
        mssql_database().await,
        pg_database().await,
        mysql_database().await,
    );
    mssql_exec(&ms, MSSQL_SCHEMA).await;
    pg_exec(&pg, PG_ROUND_TRIP).await;
    mysql_exec(
        &my,
        "CREATE TABLE m (id int PRIMARY KEY, v varchar(10)) CHARACTER SET utf8mb4",
    )
    .await;
    for (s, t, extra) in [
        (&ms, &pg, vec!["--schema", "dbo"]),
        (&ms, &my, vec!["--schema", "dbo"]),
        (&pg, &ms, vec![]),
        (&my, &ms, vec![]),
    ] {
        let (su, tu) = (s.expose(), t.expose());
        let mut args = vec!["plan", "--source", su.as_str(), "--target", tu.as_str()];
        args.extend(extra);
        let run = ferry(&args);
        ok(&run);
        assert!(
            !run.all_output().contains("refused"),
            "{}",
            run.all_output()
        );
    }
}

/// T6: datetime2(7)'s 100 ns digit stops the table, naming column and
/// key, unless the user chooses round_fraction; T7 likewise for offsets.
#[tokio::test]
#[cfg_attr(
    not(mssql_live),
    ignore = "needs FERRY_TEST_MSSQL_URL (a SQL Server where the account may create databases)"
)]
async fn sub_microsecond_digits_and_offsets_are_refused_unless_chosen() {
    let (ms, pg) = (mssql_database().await, pg_database().await);
    mssql_exec(
        &ms,
        "CREATE TABLE dbo.t (id int PRIMARY KEY, ts datetime2(7), o datetimeoffset(7)); \
         INSERT INTO dbo.t VALUES (1, '2024-01-01 12:00:00.1234567', '2024-06-01 12:00:00 +00:00'), \
         (2, '2024-01-01', '2024-06-01 12:00:00.1234560 +05:30'), (3, NULL, '2024-06-01 12:00:00 -14:00')",
    )
    .await;
    let (s, t) = (ms.expose(), pg.expose());
    let run = ferry(&["copy", "--source", &s, "--target", &t, "--schema", "dbo"]);
    assert_ne!(run.code, 0, "{}", run.all_output());
    let out = run.all_output();
    assert!(
        out.contains("ts") && out.contains("sub-microsecond"),
        "{out}"
    );
    assert!(out.contains("offset"), "{out}");
    assert!(
        pg_rows(&pg, "SELECT to_regclass('public.t')::text").await[0][0].is_none(),
        "untouched target"
    );
    let over = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        over.path(),
        "[[column]]\ntable = \"t\"\ncolumn = \"ts\"\nconversion = \"round_fraction\"\n\n\
         [[column]]\ntable = \"t\"\ncolumn = \"o\"\nconversion = \"offset_to_utc\"\n",
    )
    .unwrap();
    copy_ok(
        &ms,
        &pg,
        &[
            "--schema",
            "dbo",
            "--mapping",
            over.path().to_str().unwrap(),
        ],
    );
    let rows = pg_rows(
        &pg,
        "SELECT to_char(ts, 'HH24:MI:SS.US'), to_char(o AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') FROM t ORDER BY id",
    )
    .await;
    assert_eq!(rows[0][0].as_deref(), Some("12:00:00.123457"));
    assert_eq!(rows[1][1].as_deref(), Some("2024-06-01 06:30:00.123456"));
    assert_eq!(rows[2][1].as_deref(), Some("2024-06-02 02:00:00.000000"));
}

/// J3 and S6: uniqueidentifier and text keys split into ranges in binary
/// order (never SQL Server's GUID or collation order), and both sides of a
/// verify agree on them.
#[tokio::test]
#[cfg_attr(
    not(mssql_live),
    ignore = "needs FERRY_TEST_MSSQL_URL (a SQL Server where the account may create databases)"
)]
async fn uuid_and_text_keys_split_in_binary_order_both_ways() {
    let (ms, pg, ms2) = (
        mssql_database().await,
        pg_database().await,
        mssql_database().await,
    );
    mssql_exec(
        &ms,
        "CREATE TABLE dbo.u (id uniqueidentifier NOT NULL PRIMARY KEY, v int); \
         INSERT INTO dbo.u SELECT NEWID(), n FROM (SELECT TOP (5000) ROW_NUMBER() OVER (ORDER BY (SELECT 1)) n \
           FROM sys.all_objects a CROSS JOIN sys.all_objects b) x; \
         CREATE TABLE dbo.k (k nvarchar(40) COLLATE SQL_Latin1_General_CP1_CI_AS NOT NULL PRIMARY KEY, v int); \
         INSERT INTO dbo.k SELECT CONCAT(NCHAR(65 + n % 26), NCHAR(0x00E9 * (n % 2) + 97 * (1 - n % 2)), \
           CASE WHEN n % 7 = 0 THEN NCHAR(0xFF5A) WHEN n % 11 = 0 THEN N'😀' ELSE N'' END, n), n \
           FROM (SELECT TOP (3000) ROW_NUMBER() OVER (ORDER BY (SELECT 1)) n FROM sys.all_objects a CROSS JOIN sys.all_objects b) x;",
    )
    .await;
    let extra = [
        "--schema",
        "dbo",
        "--min-range-rows",
        "100",
        "--workers",
        "4",
        "--verify",
    ];
    copy_ok(&ms, &pg, &extra);
    zero_differences(
        &verify(&ms, &pg, &["--schema", "dbo", "--min-range-rows", "100"]),
        "dbo.u",
        5000,
    );
    zero_differences(
        &verify(&ms, &pg, &["--schema", "dbo", "--min-range-rows", "100"]),
        "dbo.k",
        3000,
    );
    // And back into SQL Server, split on the PostgreSQL side.
    copy_ok(
        &pg,
        &ms2,
        &["--min-range-rows", "100", "--workers", "4", "--verify"],
    );
    zero_differences(
        &verify(&pg, &ms2, &["--min-range-rows", "100"]),
        "public.u",
        5000,
    );
}

/// S5: appending into a case-insensitive SQL Server collation runs the
/// collision pre-flight: 'abc' and 'ABC', distinct in PostgreSQL, would
/// collide under the key.
#[tokio::test]
#[cfg_attr(
    not(mssql_live),
    ignore = "needs FERRY_TEST_MSSQL_URL (a SQL Server where the account may create databases)"
)]
async fn appending_into_a_case_insensitive_collation_runs_the_collision_preflight() {
    let (pg, ms) = (pg_database().await, mssql_database().await);
    pg_exec(
        &pg,
        "CREATE TABLE names (n varchar(20) PRIMARY KEY); INSERT INTO names VALUES ('abc'), ('ABC'), ('résumé'), ('x')",
    )
    .await;
    mssql_exec(&ms, "CREATE TABLE dbo.names (n nvarchar(20) COLLATE SQL_Latin1_General_CP1_CI_AS NOT NULL PRIMARY KEY)").await;
    let (s, t) = (pg.expose(), ms.expose());
    let run = ferry(&[
        "copy",
        "--source",
        &s,
        "--target",
        &t,
        "--if-exists",
        "append",
    ]);
    assert_ne!(run.code, 0, "{}", run.all_output());
    assert!(run.all_output().contains("collide"), "{}", run.all_output());
    let n = mssql_rows(&ms, "SELECT CONVERT(nvarchar(10), COUNT(*)) FROM dbo.names").await;
    assert_eq!(n[0][0].as_deref(), Some("0"), "untouched target");
    // Into a table ferry creates (binary collation), the same rows load.
    let ms2 = mssql_database().await;
    copy_ok(&pg, &ms2, &["--verify"]);
}

/// What SQL Server cannot hold is refused before any row moves, with a
/// line naming the table and column: NaN, −0.0, infinity, BC dates,
/// numerics wider than 38 digits, times of 24:00.
#[tokio::test]
#[cfg_attr(
    not(mssql_live),
    ignore = "needs FERRY_TEST_MSSQL_URL (a SQL Server where the account may create databases)"
)]
async fn values_sql_server_cannot_hold_stop_the_copy_before_it_starts() {
    let (pg, ms) = (pg_database().await, mssql_database().await);
    pg_exec(
        &pg,
        "CREATE TABLE bad (id int PRIMARY KEY, f float8, d date, n numeric); \
         INSERT INTO bad VALUES (1, 'NaN', 'infinity', '1e40'), (2, '-0', '0044-03-15 BC', 1)",
    )
    .await;
    let (s, t) = (pg.expose(), ms.expose());
    let run = ferry(&["copy", "--source", &s, "--target", &t]);
    assert_ne!(run.code, 0, "{}", run.all_output());
    let out = run.all_output();
    for what in ["column f", "column d", "column n"] {
        assert!(out.contains(what), "{what}: {out}");
    }
    let exists = mssql_rows(
        &ms,
        "SELECT CONVERT(nvarchar(5), CASE WHEN OBJECT_ID('dbo.bad') IS NULL THEN 0 ELSE 1 END)",
    )
    .await;
    assert_eq!(exists[0][0].as_deref(), Some("0"));
}

/// The tiberius bulk-load bugs, pinned against a real server: a DATE column
/// before a TIME column (the DATE type info once carried a stray byte,
/// tiberius #410), and a decimal whose scale is not the column's (tiberius
/// rescales by rounding; ferry sends the column's scale or refuses).
#[tokio::test]
#[cfg_attr(
    not(mssql_live),
    ignore = "needs FERRY_TEST_MSSQL_URL (a SQL Server where the account may create databases)"
)]
async fn date_before_time_and_decimal_scales_load_exactly() {
    let (pg, ms) = (pg_database().await, mssql_database().await);
    pg_exec(
        &pg,
        "CREATE TABLE dt (id bigint PRIMARY KEY, d date, t time, d2 date, ts timestamp(3), n numeric(10,1)); \
         INSERT INTO dt VALUES (1, '2024-02-29', '12:34:56.789012', '0001-01-01', '2024-01-01 00:00:00.997', 1.5), \
         (2, NULL, '00:00:00', '9999-12-31', NULL, -0.1)",
    )
    .await;
    mssql_exec(
        &ms,
        "CREATE TABLE dbo.dt (id bigint NOT NULL PRIMARY KEY, d date, t time(7), d2 date, ts datetime, n decimal(10,3))",
    )
    .await;
    copy_ok(&pg, &ms, &["--if-exists", "append", "--verify"]);
    let rows = mssql_rows(
        &ms,
        "SELECT CONVERT(nvarchar(10), d, 23), CONVERT(nvarchar(20), t), CONVERT(nvarchar(10), d2, 23), \
         CONVERT(nvarchar(30), ts, 121), CONVERT(nvarchar(20), n) FROM dbo.dt ORDER BY id",
    )
    .await;
    assert_eq!(rows[0][0].as_deref(), Some("2024-02-29"));
    assert_eq!(rows[0][1].as_deref(), Some("12:34:56.7890120"));
    assert_eq!(rows[0][3].as_deref(), Some("2024-01-01 00:00:00.997"));
    assert_eq!(rows[0][4].as_deref(), Some("1.500"));
    assert_eq!(rows[1][4].as_deref(), Some("-0.100"));
    // A value with more digits than the column's scale is refused, never rounded.
    let pg2 = pg_database().await;
    pg_exec(&pg2, "CREATE TABLE dt (id bigint PRIMARY KEY, n numeric(10,4)); INSERT INTO dt VALUES (1, 1.0005)").await;
    let ms2 = mssql_database().await;
    mssql_exec(
        &ms2,
        "CREATE TABLE dbo.dt (id bigint NOT NULL PRIMARY KEY, n decimal(10,3))",
    )
    .await;
    let (s, t) = (pg2.expose(), ms2.expose());
    let run = ferry(&[
        "copy",
        "--source",
        &s,
        "--target",
        &t,
        "--if-exists",
        "append",
    ]);
    assert_ne!(run.code, 0, "{}", run.all_output());
    assert!(
        run.all_output().contains("column n"),
        "{}",
        run.all_output()
    );
}

#[test]
fn skip_reason_names_the_variable() {
    assert!(SKIP.contains("FERRY_TEST_MSSQL_URL"));
}

/// J6: SQL Server's geometry and geography travel as canonical EWKB with
/// each value's SRID, Z and M, into PostGIS.
#[tokio::test]
#[cfg_attr(
    not(mssql_live),
    ignore = "needs FERRY_TEST_MSSQL_URL (a SQL Server where the account may create databases)"
)]
async fn spatial_values_reach_postgis_with_their_srid() {
    let (ms, pg) = (mssql_database().await, pg_database().await);
    pg_exec(&pg, "CREATE EXTENSION IF NOT EXISTS postgis").await;
    mssql_exec(
        &ms,
        "CREATE TABLE dbo.g (id int NOT NULL PRIMARY KEY, shape geometry, place geography); \
         INSERT INTO dbo.g VALUES \
         (1, geometry::STGeomFromText('POLYGON((0 0, 4 0, 4 4, 0 0))', 3857), geography::Point(47.6, -122.3, 4326)), \
         (2, geometry::STGeomFromText('POINT(1 2)', 0), NULL), (3, NULL, NULL)",
    )
    .await;
    copy_ok(
        &ms,
        &pg,
        &["--schema", "dbo", "--target-schema", "public", "--verify"],
    );
    let rows = pg_rows(
        &pg,
        "SELECT ST_AsEWKT(shape), ST_AsEWKT(place::geometry) FROM g ORDER BY id",
    )
    .await;
    assert_eq!(
        rows[0][0].as_deref(),
        Some("SRID=3857;POLYGON((0 0,4 0,4 4,0 0))")
    );
    assert_eq!(rows[0][1].as_deref(), Some("SRID=4326;POINT(-122.3 47.6)"));
    assert_eq!(rows[1][0].as_deref(), Some("POINT(1 2)"));
    assert_eq!(rows[2][0], None);
}
