//! Type fidelity in all four directions: a table holding every type of the
//! copy issue with its edge values (../shared/EDGE_CASES.md) is copied with
//! the real binary, and both servers' own text renderings are compared after
//! an agreed normalisation (see `util::Norm`). Nothing here uses ferry's
//! decoders to read values back.

use ferry_testkit::{mysql_database, mysql_exec, mysql_rows, pg_database, pg_exec, pg_rows};

use crate::util::{assert_same, copy_ok, Norm};

/// PostgreSQL source: every PG type of the issue. Rows 1–4 hold values MySQL
/// can store too; row 5 holds what only PostgreSQL can (NaN, infinities, BC).
pub(crate) const PG_SCHEMA: &str = r#"
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy, really', 'it''s', '');
CREATE DOMAIN posint AS integer CHECK (VALUE > 0);
CREATE TABLE everything (
  id integer PRIMARY KEY,
  c_bool boolean, c_int2 smallint, c_int4 integer, c_int8 bigint,
  c_num numeric(12,2), c_num_free numeric, c_num_big numeric(50,10),
  c_real real, c_double double precision,
  c_char char(5), c_varchar varchar(20), c_text text NOT NULL, c_bytea bytea,
  c_date date, c_time time, c_timetz timetz, c_ts timestamp, c_tstz timestamptz,
  c_interval interval, c_uuid uuid, c_json json, c_jsonb jsonb, c_enum mood,
  c_domain posint, c_int_arr integer[], c_text_arr text[], c_num_arr numeric[],
  c_inet inet, c_cidr cidr, c_mac macaddr, c_mac8 macaddr8, c_money money,
  c_bit bit(4), c_varbit varbit(10), c_tsv tsvector, c_xml xml
);
INSERT INTO everything VALUES
(1, true, -32768, -2147483648, -9223372036854775808,
 -9999999999.99, '0.000000000000000000000000000001', '-1234567890123456789012345678901234567890.0123456789',
 '-3.4028235e38', '-1.7976931348623157e308',
 'a', '', '', '\x',
 '0001-01-01', '00:00:00', '00:00:00+14', '1000-01-01 00:00:00', '1000-01-01 00:00:00+00',
 '-1 day +02:00', '00000000-0000-0000-0000-000000000000', '{"b":1,"a":2}', '{"a":1,"a":2}', 'sad',
 1, '{}', '{"a,b","c\"d",NULL}', '{}',
 '0.0.0.0', '10.0.0.0/8', '00:00:00:00:00:00', '00:00:00:00:00:00:00:00', '-92233720368547758.08',
 '0000', '', '', '<a/>'),
(2, false, 32767, 2147483647, 9223372036854775807,
 9999999999.99, '123456789012345678901234567890.123456789', '1234567890123456789012345678901234567890.0123456789',
 '3.4028235e38', '1.7976931348623157e308',
 'abcde', 'x😀𝐏 tab	end', E'line1\nline2\ttab \\ back ''q'' "dq" 😀', '\x00ff0a095c4e0d',
 '9999-12-31', '24:00:00', '23:59:59.999999-14', '9999-12-31 23:59:59.999999', '9999-12-31 23:59:59.999999+00',
 '1 year 2 mons 3 days 04:05:06.789', 'ffffffff-ffff-ffff-ffff-ffffffffffff',
 '{"big":12345678901234567890,"n":1.0,"s":"\u00e9","nested":{"z":[1,2],"a":null}}', '[1,"x",null,true]', 'it''s',
 2147483647, '{1,NULL,3}', '{"😀","tab	here",""}', '{1.50,NULL,-0.001}',
 '2001:db8::1/64', '2001:db8::/32', 'ff:ff:ff:ff:ff:ff', 'ff:ff:ff:ff:ff:ff:ff:ff', '92233720368547758.07',
 '1111', '1010101010', 'a:1A fat:2,3 cat', '<r a="1">x &amp; y</r>'),
(3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'only the key and NOT NULL text', NULL,
 NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
 NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
(4, true, 0, 0, 0, 0, '20', '17.685', '0.1', '-0',
 'ab ', 'trailing  ', '  leading', '\x5c4e',
 '2024-02-29', '12:34:56.789', '12:00:00+05:30', '2024-03-10 02:30:00', '2024-06-01 12:00:00+05:30',
 '100:00:00', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '"\u0000 in json text"', '{"n":1.0,"e":1e2}', 'happy, really',
 42, '{-1}', '{"NULL","null"}', '{12345678901234567890123456789}',
 '192.168.1.5/24', '192.168.1.0/24', '08:00:2b:01:02:03', '08:00:2b:01:02:03:04:05', '0.01',
 '1010', '1', '''quoted'':1 ''back\\slash''', '<?xml version="1.0"?><doc>ü</doc>');
"#;

/// Values only PostgreSQL can hold. (PostgreSQL's last 29 years, 294247–294276 AD,
/// do not fit Arrow's i64 µs since 1970 and are refused with the key.)
pub(crate) const PG_ONLY_ROW: &str = r#"
INSERT INTO everything (id, c_num_free, c_real, c_double, c_text, c_date, c_ts, c_tstz, c_num_arr, c_interval)
VALUES (5, 'NaN', 'NaN', '-Infinity', 'pg only', 'infinity', '-infinity', 'infinity', '{NaN,Infinity}', '-1 years -2 mons'),
       (6, 'Infinity', 'Infinity', 'NaN', 'pg only', '4713-01-01 BC', '0044-03-15 12:00:00 BC', '-infinity', NULL, '0'),
       (7, '-Infinity', '-Infinity', 'Infinity', 'pg only', '-infinity', '294246-12-31 23:59:59.999999', '0001-12-31 23:40:28+00 BC', NULL, '178000000 years');
"#;

/// (column, PostgreSQL-side expression, MySQL-side expression, normalisation).
/// The MySQL side is what the PostgreSQL value must look like after the
/// documented mapping (`ferry mappings --source postgres --target mysql`).
pub(crate) const PG_TO_MYSQL: &[(&str, &str, &str, Norm)] = &[
    ("id", "id", "id", Norm::Same),
    ("c_bool", "c_bool::int", "c_bool", Norm::Same),
    ("c_int2", "c_int2", "c_int2", Norm::Same),
    ("c_int4", "c_int4", "c_int4", Norm::Same),
    ("c_int8", "c_int8", "c_int8", Norm::Same),
    ("c_num", "c_num", "c_num", Norm::Same),
    ("c_num_free", "c_num_free", "c_num_free", Norm::Decimal),
    ("c_num_big", "c_num_big", "c_num_big", Norm::Decimal),
    (
        "c_real",
        "c_real::float8",
        "CAST(c_real AS DOUBLE)",
        Norm::Float,
    ),
    ("c_double", "c_double", "c_double", Norm::Float),
    ("c_char", "rtrim(c_char)", "c_char", Norm::Same),
    ("c_varchar", "c_varchar", "c_varchar", Norm::Same),
    ("c_text", "c_text", "c_text", Norm::Same),
    (
        "c_bytea",
        "encode(c_bytea, 'hex')",
        "LOWER(HEX(c_bytea))",
        Norm::Same,
    ),
    ("c_date", "c_date", "c_date", Norm::Same),
    ("c_time", "c_time", "c_time", Norm::Time),
    ("c_timetz", "c_timetz", "c_timetz", Norm::Same),
    (
        "c_ts",
        "to_char(c_ts, 'YYYY-MM-DD HH24:MI:SS.US')",
        "DATE_FORMAT(c_ts, '%Y-%m-%d %H:%i:%s.%f')",
        Norm::Same,
    ),
    (
        "c_tstz",
        "to_char(c_tstz AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')",
        "DATE_FORMAT(c_tstz, '%Y-%m-%d %H:%i:%s.%f')",
        Norm::Same,
    ),
    ("c_interval", "c_interval", "c_interval", Norm::Same),
    ("c_uuid", "c_uuid", "c_uuid", Norm::Same),
    ("c_json", "c_json", "c_json", Norm::Json),
    ("c_jsonb", "c_jsonb", "c_jsonb", Norm::Json),
    ("c_enum", "c_enum", "c_enum", Norm::Same),
    ("c_domain", "c_domain", "c_domain", Norm::Same),
    (
        "c_int_arr",
        "array_to_json(c_int_arr)",
        "c_int_arr",
        Norm::Json,
    ),
    (
        "c_text_arr",
        "array_to_json(c_text_arr)",
        "c_text_arr",
        Norm::Json,
    ),
    (
        "c_num_arr",
        "array_to_json(c_num_arr)",
        "c_num_arr",
        Norm::Json,
    ),
    ("c_inet", "c_inet", "c_inet", Norm::Same),
    ("c_cidr", "c_cidr", "c_cidr", Norm::Same),
    ("c_mac", "c_mac", "c_mac", Norm::Same),
    ("c_mac8", "c_mac8", "c_mac8", Norm::Same),
    ("c_money", "c_money::numeric", "c_money", Norm::Same),
    ("c_bit", "c_bit", "LPAD(BIN(c_bit), 4, '0')", Norm::Same),
    ("c_varbit", "c_varbit", "c_varbit", Norm::Same),
    ("c_tsv", "c_tsv", "c_tsv", Norm::Same),
    ("c_xml", "c_xml", "c_xml", Norm::Same),
];

pub(crate) fn select(exprs: impl Iterator<Item = String>) -> String {
    format!(
        "SELECT {} FROM everything ORDER BY id",
        exprs.collect::<Vec<_>>().join(", ")
    )
}

#[tokio::test]
async fn pg_to_mysql_every_type() {
    let (pg, my) = (pg_database().await, mysql_database().await);
    pg_exec(&pg, PG_SCHEMA).await;
    // MariaDB stores -0.0 as +0: refused by default, see
    // errors::values_mysql_cannot_hold_name_table_column_and_key.
    pg_exec(&pg, "UPDATE everything SET c_double = 0 WHERE id = 4").await;
    copy_ok(&pg, &my, &[]);
    // PostgreSQL renders intervals in ISO 8601 here: the agreed form ferry writes to MySQL.
    let source = pg_rows(
        &pg,
        &format!(
            "SET IntervalStyle = 'iso_8601'; {}",
            select(PG_TO_MYSQL.iter().map(|c| format!("({})::text", c.1)))
        ),
    )
    .await;
    let target = mysql_rows(&my, &select(PG_TO_MYSQL.iter().map(|c| c.2.to_string()))).await;
    let names: Vec<&str> = PG_TO_MYSQL.iter().map(|c| c.0).collect();
    let norms: Vec<Norm> = PG_TO_MYSQL.iter().map(|c| c.3).collect();
    assert_same("postgres → mysql", &source, &target, &names, &norms);
}

#[tokio::test]
async fn pg_to_pg_every_type_including_nan_infinity_and_bc() {
    let (src, dst) = (pg_database().await, pg_database().await);
    pg_exec(&src, PG_SCHEMA).await;
    pg_exec(&src, PG_ONLY_ROW).await;
    copy_ok(&src, &dst, &[]);
    let q = "SELECT * FROM everything ORDER BY id";
    let (a, b) = (pg_rows(&src, q).await, pg_rows(&dst, q).await);
    let names: Vec<&str> = PG_TO_MYSQL.iter().map(|c| c.0).collect();
    assert_same(
        "postgres → postgres",
        &a,
        &b,
        &names,
        &vec![Norm::Same; names.len()],
    );
    // Types survive too, not just values.
    let types =
        "SELECT column_name, data_type, udt_name, is_nullable FROM information_schema.columns \
                 WHERE table_name = 'everything' ORDER BY ordinal_position";
    let (ta, tb) = (pg_rows(&src, types).await, pg_rows(&dst, types).await);
    let mut ta = ta;
    // A domain is copied as its base type (domains are the schema issue's job).
    for row in ta.iter_mut() {
        if row[0].as_deref() == Some("c_domain") {
            row[1] = Some("integer".into());
            row[2] = Some("int4".into());
        }
    }
    assert_eq!(ta, tb);
}

/// MySQL source: every MySQL/MariaDB type of the issue with edge values.
pub(crate) const MY_SCHEMA: &str = r#"
CREATE TABLE everything (
  id int NOT NULL PRIMARY KEY,
  c_bool tinyint(1), c_ti tinyint, c_tiu tinyint unsigned, c_si smallint, c_siu smallint unsigned,
  c_mi mediumint, c_miu mediumint unsigned, c_i int, c_iu int unsigned, c_bi bigint, c_biu bigint unsigned,
  c_dec decimal(65,30), c_dec2 decimal(10,2), c_float float, c_double double, c_bit1 bit(1), c_bit64 bit(64),
  c_char char(10), c_varchar varchar(50) NOT NULL, c_tinytext tinytext, c_text text, c_mediumtext mediumtext, c_longtext longtext,
  c_binary binary(4), c_varbinary varbinary(20), c_blob blob, c_longblob longblob,
  c_date date, c_dt datetime, c_dt6 datetime(6), c_ts timestamp(6) NULL DEFAULT NULL, c_time time, c_time6 time(6), c_year year,
  c_enum enum('a','ASCII,EXCE','ASCII(TAR)','      8058','it''s','back\\slash',''), c_set set('a','b','c d'), c_json json
) DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
INSERT INTO everything VALUES
(1, 0, -128, 0, -32768, 0, -8388608, 0, -2147483648, 0, -9223372036854775808, 0,
 '-99999999999999999999999999999999999.999999999999999999999999999999', -99999999.99, -3.40282e38, -1.7976931348623157e308, b'0', b'0',
 '', '', '', '', '', '', x'00000000', x'', x'', x'',
 '1000-01-01', '1000-01-01 00:00:00', '1000-01-01 00:00:00.000000', '1970-01-01 00:00:01.000000', '-838:59:59', '-00:00:01.000001', 1901,
 'a', '', '{}'),
(2, 1, 127, 255, 32767, 65535, 8388607, 16777215, 2147483647, 4294967295, 9223372036854775807, 18446744073709551615,
 '99999999999999999999999999999999999.999999999999999999999999999999', 99999999.99, 1.234567, 4.9e-324, b'1', x'ffffffffffffffff',
 'abc', 'x😀𝐏\ttab', 'tiny', 'line1\nline2\\back', REPEAT('m', 70000), '😀 long',
 x'00ff0a5c', x'5c4e090a0d00', x'00', x'deadbeef',
 '9999-12-31', '9999-12-31 23:59:59', '9999-12-31 23:59:59.999999', '2038-01-19 03:14:07.999999', '838:59:59', '838:59:59.000000', 2155,
 'ASCII,EXCE', 'a,b', '{"b":1,"a":[1,2.5,"x",null,true],"big":12345678901234567890}'),
(3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
 NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'only key', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
 NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
(4, 1, 0, 128, 0, 1, 0, 1, 0, 1, 9007199254740993, 9223372036854775808,
 '0.000000000000000000000000000001', 0.01, -0.0, -0e0, b'1', b'1010',
 'pad', 'trailing  ', 'a', 'b', 'c', 'd', x'61', x'61', x'61', x'61',
 '2024-02-29', '2024-03-10 02:30:00', '2024-11-03 01:30:00.5', '2024-06-01 06:30:00', '25:30:00', '-00:00:00.5', 2024,
 'ASCII(TAR)', 'c d', '"scalar"'),
(5, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
 '1', 1, 0.1, 0.1, b'0', b'1', 'x', 'y', 'z', 'z', 'z', 'z', x'01', x'01', x'01', x'01',
 '2000-01-01', '2000-01-01 00:00:00', '2000-01-01 00:00:00', '2000-01-01 00:00:00', '00:00:00', '00:00:00', 2000,
 '      8058', '', '[]'),
(6, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
 '1', 1, 1, 1, b'0', b'1', 'x', 'y', 'z', 'z', 'z', 'z', x'01', x'01', x'01', x'01',
 '2000-01-01', '2000-01-01 00:00:00', '2000-01-01 00:00:00', '2000-01-01 00:00:00', '00:00:00', '00:00:00', 2000,
 'it''s', 'a,b,c d', 'null'),
(7, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
 '1', 1, 1, 1, b'0', b'1', 'x', 'y', 'z', 'z', 'z', 'z', x'01', x'01', x'01', x'01',
 '2000-01-01', '2000-01-01 00:00:00', '2000-01-01 00:00:00', '2000-01-01 00:00:00', '00:00:00', '00:00:00', 2000,
 'back\\slash', NULL, NULL);
"#;

/// (column, MySQL-side expression, PostgreSQL-side expression, normalisation).
pub(crate) const MYSQL_TO_PG: &[(&str, &str, &str, Norm)] = &[
    ("id", "id", "id", Norm::Same),
    ("c_bool", "c_bool", "c_bool::int", Norm::Same),
    ("c_ti", "c_ti", "c_ti", Norm::Same),
    ("c_tiu", "c_tiu", "c_tiu", Norm::Same),
    ("c_si", "c_si", "c_si", Norm::Same),
    ("c_siu", "c_siu", "c_siu", Norm::Same),
    ("c_mi", "c_mi", "c_mi", Norm::Same),
    ("c_miu", "c_miu", "c_miu", Norm::Same),
    ("c_i", "c_i", "c_i", Norm::Same),
    ("c_iu", "c_iu", "c_iu", Norm::Same),
    ("c_bi", "c_bi", "c_bi", Norm::Same),
    ("c_biu", "c_biu", "c_biu", Norm::Same),
    ("c_dec", "c_dec", "c_dec", Norm::Same),
    ("c_dec2", "c_dec2", "c_dec2", Norm::Same),
    (
        "c_float",
        "CAST(c_float AS DOUBLE)",
        "c_float::float8",
        Norm::Float,
    ),
    ("c_double", "c_double", "c_double", Norm::Float),
    ("c_bit1", "BIN(c_bit1)", "c_bit1", Norm::Same),
    (
        "c_bit64",
        "LPAD(BIN(c_bit64), 64, '0')",
        "c_bit64",
        Norm::Same,
    ),
    ("c_char", "c_char", "rtrim(c_char)", Norm::Same),
    ("c_varchar", "c_varchar", "c_varchar", Norm::Same),
    ("c_tinytext", "c_tinytext", "c_tinytext", Norm::Same),
    ("c_text", "c_text", "c_text", Norm::Same),
    ("c_mediumtext", "c_mediumtext", "c_mediumtext", Norm::Same),
    ("c_longtext", "c_longtext", "c_longtext", Norm::Same),
    (
        "c_binary",
        "LOWER(HEX(c_binary))",
        "encode(c_binary, 'hex')",
        Norm::Same,
    ),
    (
        "c_varbinary",
        "LOWER(HEX(c_varbinary))",
        "encode(c_varbinary, 'hex')",
        Norm::Same,
    ),
    (
        "c_blob",
        "LOWER(HEX(c_blob))",
        "encode(c_blob, 'hex')",
        Norm::Same,
    ),
    (
        "c_longblob",
        "LOWER(HEX(c_longblob))",
        "encode(c_longblob, 'hex')",
        Norm::Same,
    ),
    ("c_date", "c_date", "c_date", Norm::Same),
    (
        "c_dt",
        "DATE_FORMAT(c_dt, '%Y-%m-%d %H:%i:%s.%f')",
        "to_char(c_dt, 'YYYY-MM-DD HH24:MI:SS.US')",
        Norm::Same,
    ),
    (
        "c_dt6",
        "DATE_FORMAT(c_dt6, '%Y-%m-%d %H:%i:%s.%f')",
        "to_char(c_dt6, 'YYYY-MM-DD HH24:MI:SS.US')",
        Norm::Same,
    ),
    (
        "c_ts",
        "DATE_FORMAT(c_ts, '%Y-%m-%d %H:%i:%s.%f')",
        "to_char(c_ts AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')",
        Norm::Same,
    ),
    ("c_time", "c_time", "c_time", Norm::Time),
    ("c_time6", "c_time6", "c_time6", Norm::Time),
    ("c_year", "c_year", "c_year", Norm::Same),
    ("c_enum", "c_enum", "c_enum", Norm::Same),
    ("c_set", "c_set", "array_to_string(c_set, ',')", Norm::Same),
    ("c_json", "c_json", "c_json", Norm::Json),
];

#[tokio::test]
async fn mysql_to_pg_every_type() {
    let (my, pg) = (mysql_database().await, pg_database().await);
    mysql_exec(&my, MY_SCHEMA).await;
    copy_ok(&my, &pg, &[]);
    let source = mysql_rows(&my, &select(MYSQL_TO_PG.iter().map(|c| c.1.to_string()))).await;
    let target = pg_rows(
        &pg,
        &select(MYSQL_TO_PG.iter().map(|c| format!("({})::text", c.2))),
    )
    .await;
    let names: Vec<&str> = MYSQL_TO_PG.iter().map(|c| c.0).collect();
    let norms: Vec<Norm> = MYSQL_TO_PG.iter().map(|c| c.3).collect();
    assert_same("mysql → postgres", &source, &target, &names, &norms);
}

#[tokio::test]
async fn mysql_to_mysql_every_type() {
    let (src, dst) = (mysql_database().await, mysql_database().await);
    mysql_exec(&src, MY_SCHEMA).await;
    copy_ok(&src, &dst, &[]);
    let q = select(MYSQL_TO_PG.iter().map(|c| c.1.to_string()));
    let (a, b) = (mysql_rows(&src, &q).await, mysql_rows(&dst, &q).await);
    let names: Vec<&str> = MYSQL_TO_PG.iter().map(|c| c.0).collect();
    let norms: Vec<Norm> = MYSQL_TO_PG.iter().map(|c| c.3).collect();
    assert_same("mysql → mysql", &a, &b, &names, &norms);
    let types = "SELECT COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE FROM information_schema.COLUMNS \
                 WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'everything' ORDER BY ORDINAL_POSITION";
    assert_eq!(mysql_rows(&src, types).await, mysql_rows(&dst, types).await);
}

#[tokio::test]
async fn zero_dates_stop_the_table_unless_mapped_to_null() {
    let (my, pg) = (mysql_database().await, pg_database().await);
    mysql_exec(
        &my,
        "SET SESSION sql_mode = ''; \
         CREATE TABLE z (id int PRIMARY KEY, d date, dt datetime); \
         INSERT INTO z VALUES (1, '2024-01-01', '2024-01-01 00:00:00'), (2, '0000-00-00', '0000-00-00 00:00:00'), (3, '2016-07-00', '2025-00-15 10:00:00')",
    )
    .await;
    let (s, t) = (my.expose(), pg.expose());
    let run = crate::util::ferry(&["copy", "--source", &s, "--target", &t, "--quiet"]);
    assert_eq!(run.code, 2, "{}", run.all_output());
    let err = run.stderr;
    assert!(
        err.contains("z") && err.contains("column d") && err.contains("id=2"),
        "{err}"
    );
    // The pre-flight scan found them before anything was created.
    assert!(err.contains("zero or partial dates"), "{err}");
    assert_eq!(
        pg_rows(&pg, "SELECT to_regclass('z') IS NULL").await,
        vec![vec![Some("t".into())]]
    );

    let mapping = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        mapping.path(),
        "[[type]]\nsource_type = \"date\"\nconversion = \"zero_date_to_null\"\n\
         [[type]]\nsource_type = \"datetime\"\nconversion = \"zero_date_to_null\"\n",
    )
    .unwrap();
    let m = mapping.path().to_str().unwrap();
    copy_ok(&my, &pg, &["--mapping", m, "--if-exists", "truncate"]);
    assert_eq!(
        pg_rows(&pg, "SELECT id, d::text, dt::text FROM z ORDER BY id").await,
        vec![
            vec![
                Some("1".into()),
                Some("2024-01-01".into()),
                Some("2024-01-01 00:00:00".into())
            ],
            vec![Some("2".into()), None, None],
            vec![Some("3".into()), None, None],
        ]
    );
}
