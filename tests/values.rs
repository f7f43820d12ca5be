//! Issue 19, "real values": values real servers hold that ferry used to
//! lose, refuse without a key, or could not write at all. Each copy is
//! checked by `ferry verify` and by reading the servers' own bytes
//! (`HEX()`, `encode(…, 'hex')`), never ferry's decoders.

use ferry_core::DbUrl;
use ferry_testkit::{
    mysql_database, mysql_exec, mysql_no_local_infile_database, mysql_rows, pg_database, pg_exec,
    pg_rows,
};

use crate::util::{copy_ok, ferry, Run};

fn run(cmd: &str, source: &DbUrl, target: &DbUrl, extra: &[&str]) -> Run {
    let (s, t) = (source.expose(), target.expose());
    let mut args = vec![cmd, "--source", &s, "--target", &t];
    if cmd == "copy" {
        args.push("--quiet");
    }
    args.extend_from_slice(extra);
    ferry(&args)
}

fn verify_ok(source: &DbUrl, target: &DbUrl, extra: &[&str]) {
    let r = run("verify", source, target, extra);
    assert_eq!(r.code, 0, "ferry verify failed:\n{}", r.all_output());
}

fn mapping_file(toml: &str) -> tempfile::NamedTempFile {
    let f = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(f.path(), toml).unwrap();
    f
}

fn some(v: &[&str]) -> Vec<Option<String>> {
    v.iter().map(|s| Some((*s).to_string())).collect()
}

// --- MySQL zero and partial dates ---------------------------------------

const ZERO_DATES: &str = "SET SESSION sql_mode = ''; \
    CREATE TABLE z (id int PRIMARY KEY, d date, dt datetime, dt6 datetime(6), ts timestamp NULL DEFAULT NULL); \
    INSERT INTO z VALUES \
    (1, '2024-01-01', '2024-01-01 00:00:00', '2024-01-01 00:00:00.5', '2024-01-01 00:00:00'), \
    (2, '0000-00-00', '0000-00-00 00:00:00', '0000-00-00 00:00:00.000000', '0000-00-00 00:00:00'), \
    (3, '2016-07-00', '2016-07-00 12:34:56', '2016-00-00 01:02:03.456789', NULL), \
    (4, '2025-00-15', '0000-01-01 00:00:00', '0000-03-04 23:59:59.999999', NULL), \
    (5, NULL, NULL, NULL, NULL)";

const ZERO_DATES_BYTES: &str = "SELECT id, CAST(d AS CHAR), HEX(d), CAST(dt AS CHAR), HEX(dt), \
    CAST(dt6 AS CHAR), HEX(dt6), CAST(ts AS CHAR) FROM z ORDER BY id";

/// Before: MySQL → MySQL refused `0000-00-00` and `2016-07-00` unless
/// `zero_date_to_null` turned them into NULL: the hub had no form for them.
#[tokio::test]
async fn mysql_zero_and_partial_dates_copy_verbatim_to_mysql() {
    let (src, dst) = (mysql_database().await, mysql_database().await);
    mysql_exec(&src, ZERO_DATES).await;
    copy_ok(&src, &dst, &[]);
    let (a, b) = (
        mysql_rows(&src, ZERO_DATES_BYTES).await,
        mysql_rows(&dst, ZERO_DATES_BYTES).await,
    );
    assert_eq!(a, b);
    assert_eq!(a[1][1].as_deref(), Some("0000-00-00"));
    assert_eq!(a[2][5].as_deref(), Some("2016-00-00 01:02:03.456789"));
    verify_ok(&src, &dst, &[]);
    // A zero date changed in the target is a difference, not "equal".
    mysql_exec(
        &dst,
        "SET SESSION sql_mode = ''; UPDATE z SET d = '2016-07-01' WHERE id = 3",
    )
    .await;
    let r = run("verify", &src, &dst, &[]);
    assert_eq!(r.code, 1, "{}", r.all_output());
    assert!(r.stdout.contains("id=3"), "{}", r.stdout);
}

/// Across to PostgreSQL the rule stays: refused by key unless mapped to NULL.
#[tokio::test]
async fn mysql_zero_dates_still_refused_into_postgres_with_the_key() {
    let (my, pg) = (mysql_database().await, pg_database().await);
    mysql_exec(&my, ZERO_DATES).await;
    let r = run("copy", &my, &pg, &["--allow-unclean", "--tables", "z"]);
    assert_eq!(r.code, 2, "{}", r.all_output());
    assert!(
        r.stderr.contains("column d") && r.stderr.contains("id=2"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("zero_date_to_null"), "{}", r.stderr);
}

// --- MySQL's enum error value '' ----------------------------------------

/// `e` has no '' label; `f` declares one, so only the index tells its
/// error value (index 0) from its label '' (index 1).
const ENUM_ERRORS: &str = "SET SESSION sql_mode = ''; \
    CREATE TABLE en (id int PRIMARY KEY, e enum('a','b'), f enum('','x')); \
    INSERT INTO en VALUES (1, 'a', 'x'), (2, 'bogus', 'bogus'), (3, NULL, ''), (4, 'b', NULL)";

/// Before: PostgreSQL refused the value with only "value refused (22P02)",
/// no column, no key, and the pre-flight did not count it.
#[tokio::test]
async fn mysql_enum_error_value_is_counted_and_refused_with_column_and_key() {
    let (my, pg) = (mysql_database().await, pg_database().await);
    mysql_exec(&my, ENUM_ERRORS).await;
    let plan = run("plan", &my, &pg, &[]);
    assert_eq!(plan.code, 1, "{}", plan.all_output());
    assert!(
        plan.stdout.contains("column e: 1 enum error values")
            && plan.stdout.contains("column f: 1 enum error values"),
        "{}",
        plan.stdout
    );
    let r = run("copy", &my, &pg, &[]);
    assert_eq!(r.code, 2, "{}", r.all_output());
    assert!(r.stderr.contains("enum error value"), "{}", r.stderr);
    let r = run("copy", &my, &pg, &["--allow-unclean"]);
    assert_eq!(r.code, 2, "{}", r.all_output());
    assert!(
        r.stderr.contains("column e") && r.stderr.contains("id=2"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("22P02"), "{}", r.stderr);
    // Into MySQL the same.
    let dst = mysql_database().await;
    let r = run("copy", &my, &dst, &["--allow-unclean"]);
    assert_eq!(r.code, 2, "{}", r.all_output());
    assert!(
        r.stderr.contains("column e") && r.stderr.contains("id=2"),
        "{}",
        r.stderr
    );
}

#[tokio::test]
async fn mysql_enum_error_value_to_null_when_chosen() {
    let (my, pg, dst) = (
        mysql_database().await,
        pg_database().await,
        mysql_database().await,
    );
    mysql_exec(&my, ENUM_ERRORS).await;
    let m = mapping_file("[[type]]\nsource_type = \"enum\"\nconversion = \"enum_error_to_null\"\n");
    let m = m.path().to_str().unwrap();
    copy_ok(&my, &pg, &["--mapping", m]);
    assert_eq!(
        pg_rows(&pg, "SELECT id::text, e::text, f::text, encode(convert_to(f::text, 'UTF8'), 'hex') FROM en ORDER BY id").await,
        vec![
            some(&["1", "a", "x", "78"]),
            vec![Some("2".into()), None, None, None],
            vec![Some("3".into()), None, Some(String::new()), Some(String::new())],
            vec![Some("4".into()), Some("b".into()), None, None],
        ]
    );
    verify_ok(&my, &pg, &["--mapping", m]);
    copy_ok(&my, &dst, &["--mapping", m]);
    assert_eq!(
        mysql_rows(&dst, "SELECT id, e, f, HEX(f), f + 0 FROM en ORDER BY id").await,
        vec![
            some(&["1", "a", "x", "78", "2"]),
            vec![Some("2".into()), None, None, None, None],
            vec![
                Some("3".into()),
                None,
                Some(String::new()),
                Some(String::new()),
                Some("1".into())
            ],
            vec![Some("4".into()), Some("b".into()), None, None, None],
        ]
    );
    verify_ok(&my, &dst, &["--mapping", m]);
}

#[tokio::test]
async fn mysql_enum_error_value_gets_an_empty_label_when_chosen() {
    let (my, pg, dst) = (
        mysql_database().await,
        pg_database().await,
        mysql_database().await,
    );
    mysql_exec(&my, ENUM_ERRORS).await;
    let m = mapping_file(
        "[[column]]\ntable = \"en\"\ncolumn = \"e\"\nconversion = \"enum_error_to_empty_label\"\n\
         [[column]]\ntable = \"en\"\ncolumn = \"f\"\nconversion = \"enum_error_to_null\"\n",
    );
    let m = m.path().to_str().unwrap();
    copy_ok(&my, &pg, &["--mapping", m]);
    assert_eq!(
        pg_rows(
            &pg,
            "SELECT string_agg(quote_literal(enumlabel), ',' ORDER BY enumsortorder) FROM pg_enum \
             WHERE enumtypid = 'en_e'::regtype"
        )
        .await,
        vec![some(&["'','a','b'"])]
    );
    assert_eq!(
        pg_rows(&pg, "SELECT id::text, e::text FROM en ORDER BY id").await,
        vec![
            some(&["1", "a"]),
            some(&["2", ""]),
            vec![Some("3".into()), None],
            some(&["4", "b"]),
        ]
    );
    verify_ok(&my, &pg, &["--mapping", m]);
    copy_ok(&my, &dst, &["--mapping", m]);
    assert_eq!(
        mysql_rows(
            &dst,
            "SELECT COLUMN_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() \
             AND TABLE_NAME = 'en' AND COLUMN_NAME = 'e'"
        )
        .await,
        vec![some(&["enum('','a','b')"])]
    );
    assert_eq!(
        mysql_rows(&dst, "SELECT id, e, e + 0 FROM en ORDER BY id").await,
        vec![
            some(&["1", "a", "2"]),
            some(&["2", "", "1"]),
            vec![Some("3".into()), None, None],
            some(&["4", "b", "3"]),
        ]
    );
    verify_ok(&my, &dst, &["--mapping", m]);
    let _ = pg_exec;
}

// --- Legacy character sets ------------------------------------------------

/// One column per character set, values given as the bytes the server
/// stores. Row 1 is ordinary text, row 2 bytes where MySQL's table differs
/// from the WHATWG tables other tools use, row 3 a real `?`.
const LEGACY: &[(&str, &str, [&str; 3])] = &[
    ("c_latin1", "latin1", ["636166E9", "80818D8F909D9FFF", "3F"]),
    ("c_latin2", "latin2", ["A1B1FF", "E8", "3F"]),
    ("c_latin5", "latin5", ["DDFD", "80819F", "3F"]),
    ("c_cp1251", "cp1251", ["CFF0E8E2E5F2", "8088", "3F"]),
    ("c_koi8r", "koi8r", ["D0D2C9D7C5D4", "9A", "3F"]),
    ("c_greek", "greek", ["E1E2E3", "A1A2", "3F"]),
    ("c_gbk", "gbk", ["D6D0CEC4", "A1A4A1AA", "3F"]),
    ("c_big5", "big5", ["A4A4A4E5", "A145A1C2", "3F"]),
    ("c_sjis", "sjis", ["82A082A2", "815F8160A1", "3F"]),
    ("c_cp932", "cp932", ["82A082A2", "815F8160ED40", "3F"]),
    ("c_euckr", "euckr", ["B0A1B3AA", "A2E6", "3F"]),
    ("c_ujis", "ujis", ["A4A2A4A4", "8FA2B7A1C0", "3F"]),
    ("c_ucs2", "ucs2", ["00E920AC", "FFFD", "003F"]),
    ("c_utf16", "utf16", ["00E9D83DDE00", "FFFD", "003F"]),
    ("c_utf16le", "utf16le", ["E9003DD800DE", "FDFF", "3F00"]),
    (
        "c_utf32",
        "utf32",
        ["000000E90001F600", "0000FFFD", "0000003F"],
    ),
    ("c_ascii", "ascii", ["706C61696E", "7E", "3F"]),
];

fn legacy_schema() -> String {
    let cols: Vec<String> = LEGACY
        .iter()
        .map(|(c, cs, _)| format!("{c} varchar(20) CHARACTER SET {cs}"))
        .collect();
    let mut sql = format!(
        "CREATE TABLE legacy (id int PRIMARY KEY, {}) DEFAULT CHARSET=utf8mb4;",
        cols.join(", ")
    );
    for row in 0..3 {
        let vals: Vec<String> = LEGACY
            .iter()
            .map(|(_, _, v)| format!("X'{}'", v[row]))
            .collect();
        sql.push_str(&format!(
            "INSERT INTO legacy VALUES ({}, {});",
            row + 1,
            vals.join(", ")
        ));
    }
    let nulls = vec!["NULL"; LEGACY.len()].join(", ");
    sql.push_str(&format!("INSERT INTO legacy VALUES (4, {nulls});"));
    sql
}

/// Each column as UTF-8 bytes, in hex: what the server's own conversion
/// makes of it, and what PostgreSQL holds.
fn legacy_hex_mysql() -> String {
    let cols: Vec<String> = LEGACY
        .iter()
        .map(|(c, _, _)| format!("HEX(CONVERT({c} USING utf8mb4))"))
        .collect();
    format!("SELECT id, {} FROM legacy ORDER BY id", cols.join(", "))
}

fn legacy_hex_pg() -> String {
    let cols: Vec<String> = LEGACY
        .iter()
        .map(|(c, _, _)| format!("upper(encode(convert_to({c}, 'UTF8'), 'hex'))"))
        .collect();
    format!(
        "SELECT id::text, {} FROM legacy ORDER BY id",
        cols.join(", ")
    )
}

/// Before: the server converted each value to utf8mb4 for ferry (latin1
/// worked; an unmapped sequence became `?`). Now ferry reads the bytes and
/// decodes them with the server's own table: the PostgreSQL bytes are the
/// server's own conversion, also where WHATWG's tables (encoding_rs, browsers)
/// differ from MySQL's.
#[tokio::test]
async fn mysql_legacy_charsets_reach_postgres_exactly() {
    let (my, pg) = (mysql_database().await, pg_database().await);
    mysql_exec(&my, &legacy_schema()).await;
    copy_ok(&my, &pg, &[]);
    let source = mysql_rows(&my, &legacy_hex_mysql()).await;
    let target = pg_rows(&pg, &legacy_hex_pg()).await;
    assert_eq!(source, target);
    let col = |name: &str| 1 + LEGACY.iter().position(|c| c.0 == name).unwrap();
    let edge = &target[1];
    // MySQL's tables, not WHATWG's: sjis 815F is U+005C (WHATWG U+FF3C),
    // big5 A145 U+2022 (WHATWG U+2027), latin5 0x80 U+0080 (WHATWG U+20AC),
    // ujis 8FA2B7 U+007E (WHATWG U+FF5E).
    assert!(edge[col("c_sjis")].as_deref().unwrap().starts_with("5C"));
    assert!(edge[col("c_big5")]
        .as_deref()
        .unwrap()
        .starts_with("E280A2"));
    assert!(edge[col("c_latin5")]
        .as_deref()
        .unwrap()
        .starts_with("C280"));
    assert!(edge[col("c_ujis")].as_deref().unwrap().starts_with("7E"));
    // A real `?` is a value, not a refusal.
    assert!(target[2][1..].iter().all(|v| v.as_deref() == Some("3F")));
    verify_ok(&my, &pg, &[]);
    // MySQL → MySQL: the same characters, in the target's utf8mb4.
    let dst = mysql_database().await;
    copy_ok(&my, &dst, &[]);
    assert_eq!(mysql_rows(&dst, &legacy_hex_mysql()).await, source);
    verify_ok(&my, &dst, &[]);
}

const UNMAPPABLE: &str = "SET SESSION sql_mode = ''; \
    CREATE TABLE um (id int PRIMARY KEY, g varchar(10) CHARACTER SET gbk, \
      a varchar(10) CHARACTER SET ascii, t varchar(10) CHARACTER SET tis620); \
    INSERT INTO um VALUES (1, X'D6D0', 'ok', X'A1'), (2, X'41A380', 'ok', X'A1'), \
      (3, X'D6D0', X'80', X'A1'), (4, X'3F', '?', X'A0'), (5, NULL, NULL, NULL)";

/// Before: gbk `A380` (no Unicode mapping) arrived as `?` without a word,
/// and verify called the tables equal.
#[tokio::test]
async fn mysql_bytes_without_a_unicode_mapping_are_refused_never_replaced() {
    let (my, pg) = (mysql_database().await, pg_database().await);
    mysql_exec(&my, UNMAPPABLE).await;
    let plan = run("plan", &my, &pg, &[]);
    assert_eq!(plan.code, 1, "{}", plan.all_output());
    for (col, cs) in [("g", "gbk"), ("a", "ascii"), ("t", "tis620")] {
        let line = format!(
            "column {col}: 1 values with byte sequences that the {cs} character set has no Unicode mapping for"
        );
        assert!(plan.stdout.contains(&line), "{line}\n{}", plan.stdout);
    }
    let r = run("copy", &my, &pg, &["--allow-unclean"]);
    assert_eq!(r.code, 2, "{}", r.all_output());
    assert!(
        r.stderr.contains("column g key id=2") && r.stderr.contains("gbk"),
        "{}",
        r.stderr
    );
    // The table the run created is dropped again: the target is as before.
    assert_eq!(
        pg_rows(
            &pg,
            "SELECT count(*)::text FROM pg_tables WHERE tablename = 'um'"
        )
        .await,
        vec![some(&["0"])]
    );
    // Into MySQL the same: the hub never carries a replaced value.
    let dst = mysql_database().await;
    let r = run("copy", &my, &dst, &["--allow-unclean"]);
    assert_eq!(r.code, 2, "{}", r.all_output());
    assert!(r.stderr.contains("column g key id=2"), "{}", r.stderr);

    // A lossy copy (the `?` a server conversion makes) never verifies equal.
    let lossy = pg_database().await;
    pg_exec(
        &lossy,
        "CREATE TABLE um (id int PRIMARY KEY, g varchar(10), a varchar(10), t varchar(10)); \
         INSERT INTO um VALUES (1, '中', 'ok', '฿'), (2, 'A?', 'ok', '฿'), (3, '中', '?', '฿'), \
           (4, '?', '?', '?'), (5, NULL, NULL, NULL)",
    )
    .await;
    let r = run("verify", &my, &lossy, &[]);
    assert_ne!(r.code, 0, "{}", r.all_output());
    assert!(!r.stdout.contains("1 equal"), "{}", r.stdout);
    assert!(r.all_output().contains("id=2"), "{}", r.all_output());
}

/// With `--on-error reject` the refused rows go to the reject file with
/// key, column and reason; the rest is copied and verifies.
#[tokio::test]
async fn mysql_unmappable_rows_go_to_the_reject_file() {
    let (my, pg) = (mysql_database().await, pg_database().await);
    mysql_exec(&my, UNMAPPABLE).await;
    let dir = tempfile::tempdir().unwrap();
    let rejects = dir.path().join("rejects.jsonl");
    let r = run(
        "copy",
        &my,
        &pg,
        &[
            "--allow-unclean",
            "--on-error",
            "reject",
            "--reject-file",
            rejects.to_str().unwrap(),
        ],
    );
    assert_eq!(r.code, 0, "{}", r.all_output());
    let text = std::fs::read_to_string(&rejects).unwrap();
    let mut got: Vec<(String, String)> = text
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            assert!(
                v["reason"].as_str().unwrap().contains("character set"),
                "{l}"
            );
            (
                v["key"].as_str().unwrap().to_string(),
                v["column"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    got.sort();
    let want: Vec<(String, String)> = [("id=2", "g"), ("id=3", "a"), ("id=4", "t")]
        .iter()
        .map(|(k, c)| (k.to_string(), c.to_string()))
        .collect();
    assert_eq!(got, want, "{text}");
    assert_eq!(
        pg_rows(&pg, "SELECT string_agg(id::text, ',' ORDER BY id) FROM um").await,
        vec![some(&["1,5"])]
    );
}

/// The way in: a PostgreSQL value an existing latin1 (or gbk) column cannot
/// hold is refused with its key, where the server would have stored `?`.
#[tokio::test]
async fn postgres_text_into_a_latin1_column_is_encoded_or_refused_by_key() {
    let (pg, my) = (pg_database().await, mysql_database().await);
    pg_exec(
        &pg,
        "CREATE TABLE w (id int PRIMARY KEY, l text, g text); \
         INSERT INTO w VALUES (1, 'café €‚', '中文'), (2, 'ā', '中'), (3, NULL, '\\'), (4, 'x', '😀')",
    )
    .await;
    mysql_exec(
        &my,
        "CREATE TABLE w (id int PRIMARY KEY, l varchar(10) CHARACTER SET latin1, \
         g varchar(10) CHARACTER SET gbk)",
    )
    .await;
    let r = run("copy", &pg, &my, &["--if-exists", "append"]);
    assert_eq!(r.code, 2, "{}", r.all_output());
    assert!(
        r.stderr.contains("column l key id=2") && r.stderr.contains("latin1"),
        "{}",
        r.stderr
    );
    assert_eq!(
        mysql_rows(&my, "SELECT COUNT(*) FROM w").await,
        vec![some(&["0"])]
    );
    pg_exec(
        &pg,
        "UPDATE w SET l = 'a' WHERE id = 2; UPDATE w SET g = 'b' WHERE id = 4",
    )
    .await;
    copy_ok(&pg, &my, &["--if-exists", "append"]);
    assert_eq!(
        mysql_rows(&my, "SELECT id, HEX(l), HEX(g) FROM w ORDER BY id").await,
        vec![
            some(&["1", "636166E9208082", "D6D0CEC4"]),
            some(&["2", "61", "D6D0"]),
            vec![Some("3".into()), None, Some("5C".into())],
            some(&["4", "78", "62"]),
        ]
    );
    verify_ok(&pg, &my, &[]);
}

/// Key columns in a legacy character set: ranges are planned and read in
/// UTF-8 byte order (gbk's byte order is not), so a copy in several ranges
/// and verify's merge by key agree with PostgreSQL's `COLLATE "C"`.
#[tokio::test]
async fn mysql_gbk_and_latin1_keys_split_into_ranges_and_verify() {
    let (my, pg) = (mysql_database().await, pg_database().await);
    // Keys whose gbk order and UTF-8 order differ: 中 is D6D0 in gbk and
    // E4B8AD in UTF-8, 丁 B6A1 and E4B881, ｚ A3FA and EFBD9A.
    mysql_exec(
        &my,
        "CREATE TABLE gk (k varchar(20) CHARACTER SET gbk PRIMARY KEY, n int); \
         CREATE TABLE lk (k varchar(20) CHARACTER SET latin1 COLLATE latin1_general_ci PRIMARY KEY, n int); \
         CREATE TABLE s (i int); \
         INSERT INTO s WITH RECURSIVE d(j) AS (SELECT 0 UNION ALL SELECT j + 1 FROM d WHERE j < 59) \
           SELECT a.j * 60 + b.j + 1 FROM d a JOIN d b WHERE a.j * 60 + b.j < 3000; \
         INSERT INTO gk SELECT CONCAT(ELT(1 + i % 4, '中', '丁', 'ｚ', 'a'), i), i FROM s; \
         INSERT INTO lk SELECT CONCAT(ELT(1 + i % 4, 'é', 'E', '€', 'z'), i), i FROM s; \
         DROP TABLE s",
    )
    .await;
    copy_ok(&my, &pg, &["--min-range-rows", "200", "--workers", "3"]);
    assert_eq!(
        pg_rows(&pg, "SELECT count(*)::text, sum(n)::text FROM gk").await,
        vec![some(&["3000", "4501500"])]
    );
    assert_eq!(
        pg_rows(&pg, "SELECT count(*)::text, sum(n)::text FROM lk").await,
        vec![some(&["3000", "4501500"])]
    );
    verify_ok(
        &my,
        &pg,
        &["--min-range-rows", "200", "--chunk-rows", "100"],
    );
    let dst = mysql_database().await;
    copy_ok(&my, &dst, &["--min-range-rows", "200", "--workers", "3"]);
    verify_ok(
        &my,
        &dst,
        &["--min-range-rows", "200", "--chunk-rows", "100"],
    );
}

// --- Refusals the target server makes -----------------------------------

/// Before: "the target refused a row: CHECK constraint violation (23514)",
/// no key (and on MySQL "(4025)" alone). Now PostgreSQL's COPY context names
/// the line (and, for a domain, the column), mapped back to the row's key.
#[tokio::test]
async fn postgres_target_refusals_name_column_and_key() {
    let (my, pg) = (mysql_database().await, pg_database().await);
    mysql_exec(
        &my,
        "CREATE TABLE ck (id int PRIMARY KEY, v int); \
         CREATE TABLE dm (id int PRIMARY KEY, d int); \
         CREATE TABLE tg (id int PRIMARY KEY, v int); \
         INSERT INTO ck VALUES (1, 5), (2, 6), (3, -1), (4, 7); \
         INSERT INTO dm VALUES (1, 5), (2, 6), (3, 7), (4, 99); \
         INSERT INTO tg VALUES (1, 5), (2, 7), (3, 1)",
    )
    .await;
    pg_exec(
        &pg,
        "CREATE TABLE ck (id int PRIMARY KEY, v int CHECK (v > 0)); \
         CREATE DOMAIN small AS int CHECK (VALUE < 50); \
         CREATE TABLE dm (id int PRIMARY KEY, d small); \
         CREATE TABLE tg (id int PRIMARY KEY, v int); \
         CREATE FUNCTION no_sevens() RETURNS trigger LANGUAGE plpgsql AS \
           $$ BEGIN IF NEW.v = 7 THEN RAISE EXCEPTION 'no sevens'; END IF; RETURN NEW; END $$; \
         CREATE TRIGGER tg_no_sevens BEFORE INSERT ON tg FOR EACH ROW EXECUTE FUNCTION no_sevens();",
    )
    .await;
    for (table, want) in [
        (
            "ck",
            "key id=3: the target refused a row: CHECK constraint violation (23514)",
        ),
        (
            "dm",
            "column d key id=4: the target refused a row: CHECK constraint violation (23514)",
        ),
        (
            "tg",
            "key id=2: the target refused a row: refused by a trigger (P0001)",
        ),
    ] {
        let r = run(
            "copy",
            &my,
            &pg,
            &["--if-exists", "append", "--tables", table],
        );
        assert_eq!(r.code, 2, "{}", r.all_output());
        assert!(r.stderr.contains(&format!(".{table} ")), "{}", r.stderr);
        assert!(r.stderr.contains(want), "{table}: {}", r.stderr);
        assert!(!r.stderr.contains("no sevens"), "{}", r.stderr);
    }
    assert_eq!(
        pg_rows(&pg, "SELECT (SELECT count(*) FROM ck) + (SELECT count(*) FROM dm) + (SELECT count(*) FROM tg)").await,
        vec![some(&["0"])]
    );
}

/// MySQL names no row for a CHECK or a duplicate: the copy finds it by
/// writing the range again in pieces that are all rolled back.
#[tokio::test]
async fn mysql_target_refusals_name_column_and_key() {
    let (pg, my) = (pg_database().await, mysql_database().await);
    pg_exec(
        &pg,
        "CREATE TABLE ck (id int PRIMARY KEY, v int); \
         CREATE TABLE nn (id int PRIMARY KEY, v int); \
         CREATE TABLE uq (id int PRIMARY KEY, u text); \
         INSERT INTO ck SELECT g, CASE WHEN g = 1234 THEN -1 ELSE g END FROM generate_series(1, 3000) g; \
         INSERT INTO nn VALUES (1, 1), (2, NULL), (3, 3); \
         INSERT INTO uq VALUES (1, 'a'), (2, 'b'), (3, 'taken')",
    )
    .await;
    mysql_exec(
        &my,
        "CREATE TABLE ck (id int PRIMARY KEY, v int CHECK (v > 0)); \
         CREATE TABLE nn (id int PRIMARY KEY, v int NOT NULL); \
         CREATE TABLE uq (id int PRIMARY KEY, u varchar(10) UNIQUE); \
         INSERT INTO uq VALUES (100, 'taken')",
    )
    .await;
    for (table, want) in [
        (
            "ck",
            "key id=1234: the target refused a row: CHECK constraint violation (4025)",
        ),
        (
            "nn",
            "column v key id=2: the target refused a row: NOT NULL violation (1263)",
        ),
        (
            "uq",
            "key id=3: the target refused a row: duplicate key (1062)",
        ),
    ] {
        let r = run(
            "copy",
            &pg,
            &my,
            &[
                "--if-exists",
                "append",
                "--tables",
                table,
                "--batch-rows",
                "500",
            ],
        );
        assert_eq!(r.code, 2, "{}", r.all_output());
        assert!(r.stderr.contains(want), "{table}: {}", r.stderr);
        assert!(!r.stderr.contains("taken"), "{}", r.stderr);
    }
    assert_eq!(
        mysql_rows(&my, "SELECT (SELECT COUNT(*) FROM ck) + (SELECT COUNT(*) FROM nn) + (SELECT COUNT(*) FROM uq)").await,
        vec![some(&["1"])]
    );
}

// --- A MySQL target with local_infile off ----------------------------------

/// Before: the copy created the empty table, then failed ("the server
/// refuses LOAD DATA LOCAL INFILE"). Now `plan` says how it will write, the
/// copy warns once and writes through batched INSERTs, byte for byte what
/// LOAD DATA writes.
#[tokio::test]
async fn mysql_target_without_local_infile_is_written_by_insert() {
    let pg = pg_database().await;
    let (bulk, no_infile) = (
        mysql_database().await,
        mysql_no_local_infile_database().await,
    );
    pg_exec(&pg, crate::fidelity::PG_SCHEMA).await;
    pg_exec(&pg, "UPDATE everything SET c_double = 0 WHERE id = 4").await;
    let plan = run("plan", &pg, &no_infile, &[]);
    assert!(
        plan.stdout
            .contains("note: the target refuses LOAD DATA LOCAL INFILE"),
        "{}",
        plan.all_output()
    );
    copy_ok(&pg, &bulk, &[]);
    let (s, t) = (pg.expose(), no_infile.expose());
    let r = ferry(&["copy", "--source", &s, "--target", &t, "--batch-rows", "2"]);
    assert_eq!(r.code, 0, "{}", r.all_output());
    assert_eq!(
        r.stderr.matches("refuses LOAD DATA LOCAL INFILE").count(),
        1,
        "{}",
        r.stderr
    );
    let q = "SELECT *, HEX(c_bytea), HEX(c_text), HEX(c_varchar) FROM everything ORDER BY id";
    assert_eq!(mysql_rows(&bulk, q).await, mysql_rows(&no_infile, q).await);
    verify_ok(&pg, &no_infile, &[]);

    // MySQL → MySQL: every MySQL type, zero dates, legacy character sets.
    let my = mysql_database().await;
    mysql_exec(&my, crate::fidelity::MY_SCHEMA).await;
    mysql_exec(&my, ZERO_DATES).await;
    mysql_exec(&my, &legacy_schema()).await;
    let dst = mysql_no_local_infile_database().await;
    copy_ok(&my, &dst, &[]);
    for q in [
        "SELECT *, HEX(c_binary), HEX(c_varbinary), HEX(c_blob), HEX(c_longblob), HEX(c_varchar), \
         BIN(c_bit64) FROM everything ORDER BY id",
        ZERO_DATES_BYTES,
        &legacy_hex_mysql(),
    ] {
        assert_eq!(mysql_rows(&my, q).await, mysql_rows(&dst, q).await, "{q}");
    }
    verify_ok(&my, &dst, &[]);
}

/// Refusals through INSERT name their key too, and roll everything back.
#[tokio::test]
async fn insert_path_refusals_name_the_key() {
    let (pg, my) = (pg_database().await, mysql_no_local_infile_database().await);
    pg_exec(
        &pg,
        "CREATE TABLE ck (id int PRIMARY KEY, v int, s text); \
         INSERT INTO ck SELECT g, CASE WHEN g = 777 THEN -1 ELSE g END, 'x' FROM generate_series(1, 2000) g; \
         CREATE TABLE ln (id int PRIMARY KEY, s text); \
         INSERT INTO ln VALUES (1, 'ok'), (2, 'much too long'), (3, 'ok')",
    )
    .await;
    mysql_exec(
        &my,
        "CREATE TABLE ck (id int PRIMARY KEY, v int CHECK (v > 0), s text); \
         CREATE TABLE ln (id int PRIMARY KEY, s varchar(4))",
    )
    .await;
    let r = run(
        "copy",
        &pg,
        &my,
        &["--if-exists", "append", "--tables", "ck"],
    );
    assert_eq!(r.code, 2, "{}", r.all_output());
    assert!(
        r.stderr
            .contains("key id=777: the target refused a row: CHECK constraint violation (4025)"),
        "{}",
        r.stderr
    );
    // ferry's own check names this one before the server sees it.
    let r = run(
        "copy",
        &pg,
        &my,
        &["--if-exists", "append", "--tables", "ln"],
    );
    assert_eq!(r.code, 2, "{}", r.all_output());
    assert!(r.stderr.contains("column s key id=2"), "{}", r.stderr);
    assert_eq!(
        mysql_rows(
            &my,
            "SELECT (SELECT COUNT(*) FROM ck) + (SELECT COUNT(*) FROM ln)"
        )
        .await,
        vec![some(&["0"])]
    );
}
