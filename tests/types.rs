//! Issue 19, "the types real servers have": MariaDB's own UUID / INET4 /
//! INET6, PostgreSQL's citext, hstore, ranges, `"char"`, oid and reg*, and
//! the text-form override for a type without a rule. Each copy is checked by
//! `ferry verify` and by reading both servers' own text (never ferry's
//! decoders).

use ferry_core::DbUrl;
use ferry_testkit::{mysql_database, mysql_exec, mysql_rows, pg_database, pg_exec, pg_rows};

use crate::util::{assert_same, copy_ok, ferry, Norm};

fn verify_ok(source: &DbUrl, target: &DbUrl, extra: &[&str]) {
    let (s, t) = (source.expose(), target.expose());
    let mut args = vec!["verify", "--source", &s, "--target", &t];
    args.extend_from_slice(extra);
    let run = ferry(&args);
    assert_eq!(run.code, 0, "ferry verify failed:\n{}", run.all_output());
}

fn some(v: &[&str]) -> Vec<Option<String>> {
    v.iter().map(|s| Some((*s).to_string())).collect()
}

const PG_EXT_SCHEMA: &str = r#"
CREATE EXTENSION IF NOT EXISTS citext;
CREATE EXTENSION IF NOT EXISTS hstore;
CREATE TABLE ext_types (
  id integer PRIMARY KEY,
  c_citext citext, c_hstore hstore, c_i4r int4range, c_numr numrange, c_dr daterange,
  c_tstzr tstzrange, c_i8mr int8multirange, c_char "char", c_oid oid,
  c_regclass regclass, c_regtype regtype
);
INSERT INTO ext_types VALUES
(1, 'MiXeD Case 😀', 'a=>1, "b c"=>"x\"y", n=>NULL', '(1,5]', '(1.50,2.5]', '[2024-01-01,2024-02-01)',
 '["2024-01-01 00:00:00+05:30","2024-01-02 00:00:00+00")', '{[1,3), [7,9)}', 'x', 4294967295,
 'ext_types', 'integer'),
(2, '', '', 'empty', '(,)', '[2024-01-01,)', 'empty', '{}', '', 0, 'pg_class', 'text[]'),
(3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
"#;

/// (column, PostgreSQL source text, MySQL target text, normalisation).
const PG_EXT_TO_MYSQL: &[(&str, &str, &str, Norm)] = &[
    ("id", "id", "id", Norm::Same),
    ("c_citext", "c_citext", "c_citext", Norm::Same),
    (
        "c_citext hex",
        "upper(encode(convert_to(c_citext::text, 'UTF8'), 'hex'))",
        "HEX(c_citext)",
        Norm::Same,
    ),
    (
        "c_hstore",
        "hstore_to_json(c_hstore)",
        "c_hstore",
        Norm::Json,
    ),
    ("c_i4r", "c_i4r", "c_i4r", Norm::Same),
    ("c_numr", "c_numr", "c_numr", Norm::Same),
    ("c_dr", "c_dr", "c_dr", Norm::Same),
    ("c_tstzr", "c_tstzr", "c_tstzr", Norm::Same),
    ("c_i8mr", "c_i8mr", "c_i8mr", Norm::Same),
    ("c_char", "c_char", "c_char", Norm::Same),
    ("c_oid", "c_oid", "c_oid", Norm::Same),
    ("c_regclass", "c_regclass", "c_regclass", Norm::Same),
    ("c_regtype", "c_regtype", "c_regtype", Norm::Same),
];

fn select(table: &str, exprs: impl Iterator<Item = String>) -> String {
    format!(
        "SELECT {} FROM {table} ORDER BY id",
        exprs.collect::<Vec<_>>().join(", ")
    )
}

/// Before: "no postgres read rule for type `citext`" (and hstore, ranges,
/// "char", oid, reg*) stopped the run.
#[tokio::test]
async fn pg_citext_hstore_ranges_char_oid_reg_reach_mysql_and_verify() {
    let (pg, my) = (pg_database().await, mysql_database().await);
    pg_exec(&pg, PG_EXT_SCHEMA).await;
    copy_ok(&pg, &my, &[]);
    let source = pg_rows(
        &pg,
        &format!(
            "SET TimeZone = 'UTC'; {}",
            select(
                "ext_types",
                PG_EXT_TO_MYSQL.iter().map(|c| format!("({})::text", c.1))
            )
        ),
    )
    .await;
    let target = mysql_rows(
        &my,
        &select("ext_types", PG_EXT_TO_MYSQL.iter().map(|c| c.2.to_string())),
    )
    .await;
    let names: Vec<&str> = PG_EXT_TO_MYSQL.iter().map(|c| c.0).collect();
    let norms: Vec<Norm> = PG_EXT_TO_MYSQL.iter().map(|c| c.3).collect();
    assert_same("postgres → mysql", &source, &target, &names, &norms);
    // The documented forms, spelled out once.
    let r = &target[0];
    assert_eq!(r[4].as_deref(), Some("[2,6)"));
    assert_eq!(
        r[7].as_deref(),
        Some(r#"["2023-12-31 18:30:00+00","2024-01-02 00:00:00+00")"#)
    );
    assert_eq!(
        mysql_rows(
            &my,
            "SELECT COLUMN_NAME, COLUMN_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() \
             AND TABLE_NAME = 'ext_types' AND COLUMN_NAME IN ('c_char', 'c_oid') ORDER BY COLUMN_NAME"
        )
        .await,
        vec![some(&["c_char", "char(1)"]), some(&["c_oid", "bigint(20)"])]
    );
    verify_ok(&pg, &my, &[]);
}

/// citext keeps its type between PostgreSQL databases.
#[tokio::test]
async fn pg_citext_stays_citext_pg_to_pg() {
    let (src, dst) = (pg_database().await, pg_database().await);
    let ddl = "CREATE EXTENSION IF NOT EXISTS citext; \
               CREATE TABLE ci (id integer PRIMARY KEY, c citext); \
               INSERT INTO ci VALUES (1, 'MiXeD'), (2, ''), (3, NULL)";
    pg_exec(&src, ddl).await;
    pg_exec(&dst, "CREATE EXTENSION IF NOT EXISTS citext").await;
    copy_ok(&src, &dst, &[]);
    let q = "SELECT id, c::text, pg_typeof(c)::text, encode(convert_to(c::text, 'UTF8'), 'hex') \
             FROM ci ORDER BY id";
    assert_eq!(pg_rows(&src, q).await, pg_rows(&dst, q).await);
    assert_eq!(
        pg_rows(&dst, "SELECT count(*) FROM ci WHERE c = 'mixed'").await,
        vec![some(&["1"])]
    );
    verify_ok(&src, &dst, &[]);
}

pub(crate) const MARIADB_NET: &str =
    "CREATE TABLE net (id int PRIMARY KEY, u uuid, a inet4, b inet6); \
    INSERT INTO net VALUES \
    (1, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '192.168.0.1', '2001:db8::1'), \
    (2, '00000000-0000-0000-0000-000000000000', '0.0.0.0', '::ffff:10.0.0.1'), \
    (3, 'ffffffff-ffff-ffff-ffff-ffffffffffff', '255.255.255.255', '::'), \
    (4, NULL, NULL, NULL)";

/// Before: "no mysql read rule for type `uuid`" (and inet4, inet6).
#[tokio::test]
async fn mariadb_uuid_inet4_inet6_reach_pg_as_uuid_and_inet() {
    let (my, pg) = (mysql_database().await, pg_database().await);
    mysql_exec(&my, MARIADB_NET).await;
    copy_ok(&my, &pg, &[]);
    let source = mysql_rows(
        &my,
        "SELECT id, u, a, b, REPLACE(u, '-', '') FROM net ORDER BY id",
    )
    .await;
    let target = pg_rows(
        &pg,
        "SELECT id::text, u::text, host(a), host(b), encode(uuid_send(u), 'hex') FROM net ORDER BY id",
    )
    .await;
    assert_eq!(source, target);
    assert_eq!(
        pg_rows(
            &pg,
            "SELECT string_agg(udt_name, ',' ORDER BY ordinal_position) FROM information_schema.columns \
             WHERE table_name = 'net'"
        )
        .await,
        vec![some(&["int4,uuid,inet,inet"])]
    );
    verify_ok(&my, &pg, &[]);
}

#[tokio::test]
async fn mariadb_uuid_inet4_inet6_stay_themselves_mysql_to_mysql() {
    let (src, dst) = (mysql_database().await, mysql_database().await);
    mysql_exec(&src, MARIADB_NET).await;
    copy_ok(&src, &dst, &[]);
    let q = "SELECT id, u, a, b, HEX(u), HEX(a), HEX(b) FROM net ORDER BY id";
    assert_eq!(mysql_rows(&src, q).await, mysql_rows(&dst, q).await);
    let types = "SELECT COLUMN_NAME, COLUMN_TYPE FROM information_schema.COLUMNS \
                 WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'net' ORDER BY ORDINAL_POSITION";
    assert_eq!(mysql_rows(&src, types).await, mysql_rows(&dst, types).await);
    verify_ok(&src, &dst, &[]);
}

/// Before: the override the error message suggests gave the same error again
/// (the read rule lookup failed before overrides were applied).
#[tokio::test]
async fn text_override_copies_a_type_without_a_rule() {
    let (pg, my) = (pg_database().await, mysql_database().await);
    pg_exec(
        &pg,
        "CREATE TABLE lsn (id integer PRIMARY KEY, l pg_lsn, m pg_lsn); \
         INSERT INTO lsn VALUES (1, '16/B374D848', '0/0'), (2, 'FFFFFFFF/FFFFFFFF', NULL), (3, NULL, '1/1')",
    )
    .await;
    let (s, t) = (pg.expose(), my.expose());
    let refused = ferry(&["copy", "--source", &s, "--target", &t, "--quiet"]);
    assert_eq!(refused.code, 2, "{}", refused.all_output());
    assert!(
        refused.stderr.contains("pg_lsn") && refused.stderr.contains("[[type]]"),
        "{}",
        refused.stderr
    );
    let mapping = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        mapping.path(),
        "[[type]]\nsource_type = \"pg_lsn\"\nlogical = \"text\"\n\
         [[column]]\ntable = \"lsn\"\ncolumn = \"m\"\nlogical = \"varchar\"\ntarget_type = \"varchar(17)\"\n",
    )
    .unwrap();
    let m = mapping.path().to_str().unwrap();
    copy_ok(&pg, &my, &["--mapping", m]);
    assert_eq!(
        pg_rows(
            &pg,
            "SELECT id::text, l::text, m::text FROM lsn ORDER BY id"
        )
        .await,
        mysql_rows(&my, "SELECT id, l, m FROM lsn ORDER BY id").await
    );
    assert_eq!(
        mysql_rows(&my, "SELECT HEX(l) FROM lsn WHERE id = 1").await,
        vec![some(&["31362F4233373444383438"])]
    );
    verify_ok(&pg, &my, &["--mapping", m]);
}

/// Before: the PostgreSQL sink had no writer for hstore, ranges,
/// multiranges, "char" or oid, and refused the column after creating the
/// empty table. Now they keep their types and their bytes; reg* columns
/// become text naming the object (an OID means nothing in another database).
#[tokio::test]
async fn pg_hstore_ranges_char_oid_stay_themselves_pg_to_pg() {
    let (src, dst) = (pg_database().await, pg_database().await);
    pg_exec(&src, PG_EXT_SCHEMA).await;
    pg_exec(
        &src,
        "INSERT INTO ext_types (id, c_char, c_numr, c_dr, c_tstzr) VALUES \
         (4, '\\200'::\"char\", '[-1.5e-20,NaN]', '[0044-03-15 BC,infinity)', \
          '[-infinity,\"1999-12-31 23:59:59.999999+00\"]'), \
         (5, '\\'::\"char\", 'empty', '(,2000-01-01]', '(\"2262-04-11 23:47:16.854775+00\",)')",
    )
    .await;
    pg_exec(&dst, "CREATE EXTENSION hstore; CREATE EXTENSION citext").await;
    copy_ok(&src, &dst, &[]);
    // The servers' own binary send forms, byte for byte.
    let q = "SELECT id, encode(hstore_send(c_hstore), 'hex'), encode(range_send(c_i4r), 'hex'), \
             encode(range_send(c_numr), 'hex'), encode(range_send(c_dr), 'hex'), \
             encode(range_send(c_tstzr), 'hex'), encode(multirange_send(c_i8mr), 'hex'), \
             encode(charsend(c_char), 'hex'), encode(oidsend(c_oid), 'hex') \
             FROM ext_types ORDER BY id";
    assert_eq!(pg_rows(&src, q).await, pg_rows(&dst, q).await);
    let types = "SELECT string_agg(format_type(atttypid, atttypmod), ', ' ORDER BY attnum) \
                 FROM pg_attribute WHERE attrelid = 'ext_types'::regclass AND attnum > 0";
    assert_eq!(
        pg_rows(&dst, types).await,
        vec![some(&[
            "integer, citext, hstore, int4range, numrange, daterange, tstzrange, \
             int8multirange, \"char\", oid, text, text"
        ])]
    );
    // reg*: the name the source rendered, as text.
    assert_eq!(
        pg_rows(
            &src,
            "SELECT c_regclass::text, c_regtype::text FROM ext_types ORDER BY id"
        )
        .await,
        pg_rows(
            &dst,
            "SELECT c_regclass, c_regtype FROM ext_types ORDER BY id"
        )
        .await
    );
    verify_ok(&src, &dst, &[]);
}

/// A column the PostgreSQL sink has no writer for stops the run before any
/// DDL: the target is left without the table (before: created empty, then
/// the copy failed), and `plan` blocks on the same line.
#[tokio::test]
async fn a_column_without_a_writer_stops_the_copy_before_any_ddl() {
    let (src, dst) = (pg_database().await, pg_database().await);
    pg_exec(
        &src,
        "CREATE TABLE first (id integer PRIMARY KEY); \
         CREATE TABLE lsn (id integer PRIMARY KEY, l pg_lsn); \
         INSERT INTO lsn VALUES (1, '16/B374D848')",
    )
    .await;
    let mapping = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        mapping.path(),
        "[[type]]\nsource_type = \"pg_lsn\"\nlogical = \"text\"\n",
    )
    .unwrap();
    let (s, t, m) = (src.expose(), dst.expose(), mapping.path().to_str().unwrap());
    let plan = ferry(&["plan", "--source", &s, "--target", &t, "--mapping", m]);
    assert_eq!(plan.code, 1, "{}", plan.all_output());
    assert!(
        plan.all_output().contains("column l") && plan.all_output().contains("pg_lsn"),
        "{}",
        plan.all_output()
    );
    let run = ferry(&[
        "copy",
        "--source",
        &s,
        "--target",
        &t,
        "--mapping",
        m,
        "--quiet",
    ]);
    assert_eq!(run.code, 2, "{}", run.all_output());
    assert!(
        run.stderr.contains("lsn") && run.stderr.contains("column l"),
        "{}",
        run.stderr
    );
    assert_eq!(
        pg_rows(
            &dst,
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
        )
        .await,
        vec![some(&["0"])],
        "no table was created"
    );
}
