//! SQLite as a source and a target (issue 14): files made by the `sqlite3`
//! CLI and by ferry, every type and edge value, in every direction, each
//! proven by `ferry verify` and by the engines' own renderings of what
//! they hold: for SQLite files, SQLite's own functions read through its
//! library (`sqlite_rows`: REALs exactly, which the CLI's printf cannot)
//! or the `sqlite3` CLI, never ferry's reader.

use ferry_core::DbUrl;
use ferry_testkit::{
    mysql_database, mysql_exec, mysql_rows, pg_database, pg_exec, pg_rows, sqlite3_exec,
    sqlite3_rows, sqlite_database, sqlite_path, sqlite_rows,
};

use crate::fidelity::{MY_SCHEMA, PG_SCHEMA};
use crate::util::{assert_same, copy_ok, ferry, Norm};

fn verify_ok(source: &DbUrl, target: &DbUrl, extra: &[&str]) {
    let (s, t) = (source.expose(), target.expose());
    let mut args = vec!["verify", "--source", &s, "--target", &t];
    args.extend_from_slice(extra);
    let run = ferry(&args);
    assert_eq!(run.code, 0, "ferry verify:\n{}", run.all_output());
    assert!(run.stdout.contains(" 0 differences"), "{}", run.stdout);
}

fn select(table: &str, exprs: impl Iterator<Item = String>) -> String {
    format!(
        "SELECT {} FROM {table} ORDER BY id",
        exprs.collect::<Vec<_>>().join(", ")
    )
}

/// A SQLite source made by the `sqlite3` CLI: every declared type of the
/// issue with its edge values. Row 1 holds minima and empties, row 2 maxima
/// and awkward text and bytes, row 3 NULLs, row 4 the storage classes SQLite
/// picks itself (a JSON number held as INTEGER, a UUID as a BLOB, a decimal
/// as REAL). `c_jday` and `c_unix` hold dates as Julian days and Unix
/// seconds (read with `stored_as` overrides, see [`DATE_FORMS`]).
pub(crate) const SL_SCHEMA: &str = r#"
CREATE TABLE everything (
  id INTEGER PRIMARY KEY,
  c_int INTEGER, c_small SMALLINT, c_big BIGINT,
  c_real REAL, c_double DOUBLE PRECISION,
  c_num NUMERIC(12,2), c_dtext DECIMAL_TEXT(30,10),
  c_text TEXT NOT NULL, c_varchar VARCHAR(20), c_char CHAR(5),
  c_blob BLOB, c_bool BOOLEAN,
  c_date DATE, c_dt DATETIME, c_tstz TIMESTAMP WITH TIME ZONE, c_time TIME,
  c_jday DATE, c_unix DATETIME,
  c_json JSON, c_uuid UUID, c_any
);
INSERT INTO everything VALUES
(1, -9223372036854775808, -32768, -9223372036854775808,
 -1.7976931348623157e308, 4.9e-324,
 -9999999999.99, '-99999999999999999999.9999999999',
 '', '', 'a',
 x'', 0,
 '0001-01-01', '1000-01-01 00:00:00', '1970-01-01 00:00:00+14:00', '00:00:00',
 1721425.5, 0,
 '{}', '00000000-0000-0000-0000-000000000000', ''),
(2, 9223372036854775807, 32767, 9223372036854775807,
 1.7976931348623157e308, 0.1,
 9999999999.99, '12345678901234567890.0123456789',
 'line1' || char(10) || 'line2' || char(9) || 'tab \ back ''q'' "dq" 😀', 'x😀𝐏 tab' || char(9) || 'end', 'abcde',
 x'00ff0a5c00', 1,
 '9999-12-31', '9999-12-31 23:59:59.999999', '2024-06-01 12:00:00-05:30', '23:59:59.999999',
 5373483.5, 253402300799,
 '{"b":1,"a":[1,2.5,null,true],"s":"é"}', 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11', 'text'),
(3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'only the key and NOT NULL text', NULL, NULL, NULL, NULL,
 NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
(4, 0, 0, 0, -0.5, 1e-300, 0.1, '0.0000000001', 'NULL', 'null', '  ',
 x'00', 1,
 '2024-02-29', '2024-03-10 02:30:00.5', '2024-06-01 12:00:00', '12:34:56.789',
 2460462.5, 1717200000,
 42, x'a0eebc999c0b4ef8bb6d6bb9bd380a11', '  leading');
"#;

/// The overrides that read `c_jday` and `c_unix` in their stored forms.
const DATE_FORMS: &str = r#"
[[column]]
table = "everything"
column = "c_jday"
stored_as = "julian_day"

[[column]]
table = "everything"
column = "c_unix"
stored_as = "unix_epoch"
"#;

fn date_forms_file() -> tempfile::NamedTempFile {
    let f = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(f.path(), DATE_FORMS).unwrap();
    f
}

/// (column, SQLite-side expression as the CLI renders it, PostgreSQL side,
/// MySQL side, normalisation). SQLite's own functions read the dates:
/// `datetime()` converts offsets to UTC, `date(x)` reads a Julian day,
/// `'unixepoch'` Unix seconds.
const SL_COLUMNS: &[(&str, &str, &str, &str, Norm)] = &[
    ("id", "id", "id", "id", Norm::Same),
    ("c_int", "c_int", "c_int", "c_int", Norm::Same),
    ("c_small", "c_small", "c_small", "c_small", Norm::Same),
    ("c_big", "c_big", "c_big", "c_big", Norm::Same),
    ("c_real", "c_real", "c_real", "c_real", Norm::Float),
    ("c_double", "c_double", "c_double", "c_double", Norm::Float),
    ("c_num", "c_num", "c_num", "c_num", Norm::Decimal),
    ("c_dtext", "c_dtext", "c_dtext", "c_dtext", Norm::Decimal),
    ("c_text", "c_text", "c_text", "c_text", Norm::Same),
    (
        "c_varchar",
        "c_varchar",
        "c_varchar",
        "c_varchar",
        Norm::Same,
    ),
    (
        "c_char",
        "rtrim(c_char)",
        "rtrim(c_char)",
        "c_char",
        Norm::Same,
    ),
    (
        "c_blob",
        "c_blob",
        "encode(c_blob, 'hex')",
        "LOWER(HEX(c_blob))",
        Norm::Same,
    ),
    ("c_bool", "c_bool", "c_bool::int", "c_bool", Norm::Same),
    ("c_date", "c_date", "c_date", "c_date", Norm::Same),
    (
        "c_dt",
        "c_dt",
        "to_char(c_dt, 'YYYY-MM-DD HH24:MI:SS.US')",
        "DATE_FORMAT(c_dt, '%Y-%m-%d %H:%i:%s.%f')",
        Norm::Time,
    ),
    (
        "c_tstz",
        "datetime(c_tstz)",
        "to_char(c_tstz AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')",
        "DATE_FORMAT(c_tstz, '%Y-%m-%d %H:%i:%s')",
        Norm::Same,
    ),
    ("c_time", "c_time", "c_time", "c_time", Norm::Time),
    ("c_jday", "date(c_jday)", "c_jday", "c_jday", Norm::Same),
    (
        "c_unix",
        "datetime(c_unix, 'unixepoch')",
        "to_char(c_unix, 'YYYY-MM-DD HH24:MI:SS')",
        "DATE_FORMAT(c_unix, '%Y-%m-%d %H:%i:%s')",
        Norm::Same,
    ),
    ("c_json", "c_json", "c_json", "c_json", Norm::Json),
    (
        "c_uuid",
        "CASE typeof(c_uuid) WHEN 'blob' THEN c_uuid ELSE lower(replace(c_uuid, '-', '')) END",
        "replace(c_uuid::text, '-', '')",
        "REPLACE(c_uuid, '-', '')",
        Norm::Same,
    ),
    ("c_any", "c_any", "c_any", "c_any", Norm::Same),
];

/// Columns whose SQLite → SQLite form the hub normalises (see
/// `sqlite_to_sqlite_keeps_values_storage_classes_and_declarations`).
const NORMALISED: [&str; 4] = ["c_uuid", "c_tstz", "c_jday", "c_unix"];

fn sqlite_side() -> String {
    select("everything", SL_COLUMNS.iter().map(|c| c.1.to_string()))
}

fn names() -> Vec<&'static str> {
    SL_COLUMNS.iter().map(|c| c.0).collect()
}

fn norms() -> Vec<Norm> {
    SL_COLUMNS.iter().map(|c| c.4).collect()
}

#[tokio::test]
async fn sqlite_every_type_reaches_postgres_and_verifies() {
    let (sl, pg) = (sqlite_database().await, pg_database().await);
    sqlite3_exec(&sl, SL_SCHEMA);
    let forms = date_forms_file();
    let mapping = ["--mapping", forms.path().to_str().unwrap()];
    copy_ok(&sl, &pg, &mapping);
    verify_ok(&sl, &pg, &mapping);
    let source = sqlite_rows(&sl, &sqlite_side());
    let target = pg_rows(
        &pg,
        &select(
            "everything",
            SL_COLUMNS.iter().map(|c| format!("({})::text", c.2)),
        ),
    )
    .await;
    assert_same("sqlite → postgres", &source, &target, &names(), &norms());
    // The declared types became PostgreSQL's, as the mapping table says.
    let types = pg_rows(
        &pg,
        "SELECT format_type(atttypid, atttypmod) FROM pg_attribute \
         WHERE attrelid = 'everything'::regclass AND attnum > 0 ORDER BY attnum",
    )
    .await;
    let types: Vec<String> = types.into_iter().filter_map(|r| r[0].clone()).collect();
    assert_eq!(
        types,
        [
            "bigint",
            "bigint",
            "smallint",
            "bigint",
            "double precision",
            "double precision",
            "numeric(12,2)",
            "numeric(30,10)",
            "text",
            "character varying(20)",
            "character(5)",
            "bytea",
            "boolean",
            "date",
            "timestamp(6) without time zone",
            "timestamp(6) with time zone",
            "time(6) without time zone",
            "date",
            "timestamp(6) without time zone",
            "json",
            "uuid",
            "text",
        ]
    );
}

#[tokio::test]
async fn sqlite_every_type_reaches_mysql_and_verifies() {
    let (sl, my) = (sqlite_database().await, mysql_database().await);
    sqlite3_exec(&sl, SL_SCHEMA);
    let forms = date_forms_file();
    let mapping = ["--mapping", forms.path().to_str().unwrap()];
    copy_ok(&sl, &my, &mapping);
    verify_ok(&sl, &my, &mapping);
    let source = sqlite_rows(&sl, &sqlite_side());
    let target = mysql_rows(
        &my,
        &select("everything", SL_COLUMNS.iter().map(|c| c.3.to_string())),
    )
    .await;
    assert_same("sqlite → mysql", &source, &target, &names(), &norms());
}

/// SQLite → SQLite keeps every value in its storage class, and the
/// declared types as written (an untyped column stays untyped); what the
/// hub normalises is said: UUIDs become lower-case text, zoned timestamps
/// UTC text with `+00:00`, Julian-day and Unix-epoch dates ISO 8601 text
/// (the form a target's DATE reads back in).
#[tokio::test]
async fn sqlite_to_sqlite_keeps_values_storage_classes_and_declarations() {
    let (src, dst) = (sqlite_database().await, sqlite_database().await);
    sqlite3_exec(&src, SL_SCHEMA);
    let forms = date_forms_file();
    let mapping = ["--mapping", forms.path().to_str().unwrap()];
    copy_ok(&src, &dst, &mapping);
    verify_ok(&src, &dst, &mapping);
    // Each value with its storage class, read by SQLite's own library.
    let quoted = |url: &DbUrl| {
        sqlite_rows(
            url,
            &select(
                "everything",
                SL_COLUMNS
                    .iter()
                    .filter(|c| !NORMALISED.contains(&c.0))
                    .map(|c| {
                        format!(
                            "typeof({0}) || ':' || coalesce(CAST({0} AS TEXT), ''), {0}",
                            c.0
                        )
                    }),
            ),
        )
    };
    let kept: Vec<&str> = names()
        .into_iter()
        .filter(|n| !NORMALISED.contains(n))
        .flat_map(|n| [n, n])
        .collect();
    let same = vec![Norm::Same; kept.len()];
    assert_same(
        "sqlite → sqlite",
        &quoted(&src),
        &quoted(&dst),
        &kept,
        &same,
    );
    let normalised =
        "SELECT datetime(c_tstz), CASE typeof(c_uuid) WHEN 'blob' THEN lower(hex(c_uuid)) \
                      ELSE lower(replace(c_uuid, '-', '')) END FROM everything ORDER BY id";
    assert_eq!(
        sqlite3_rows(&src, normalised),
        sqlite3_rows(&dst, normalised)
    );
    assert_eq!(
        sqlite3_rows(
            &src,
            "SELECT date(c_jday), datetime(c_unix, 'unixepoch') FROM everything ORDER BY id"
        ),
        sqlite3_rows(&dst, "SELECT c_jday, c_unix FROM everything ORDER BY id")
    );
    let declared = "SELECT name, type, \"notnull\", pk FROM pragma_table_xinfo('everything')";
    assert_eq!(sqlite3_rows(&src, declared), sqlite3_rows(&dst, declared));
    // A file ferry creates is in WAL mode.
    assert_eq!(
        sqlite3_rows(&dst, "PRAGMA journal_mode"),
        [[Some("wal".to_string())]]
    );
}

/// (column, PostgreSQL side, SQLite side as the CLI renders it, normalisation)
/// for the fidelity table of `fidelity.rs`.
const PG_TO_SQLITE: &[(&str, &str, &str, Norm)] = &[
    ("id", "id", "id", Norm::Same),
    ("c_bool", "c_bool::int", "c_bool", Norm::Same),
    ("c_int2", "c_int2", "c_int2", Norm::Same),
    ("c_int4", "c_int4", "c_int4", Norm::Same),
    ("c_int8", "c_int8", "c_int8", Norm::Same),
    ("c_num", "c_num", "c_num", Norm::Decimal),
    ("c_num_free", "c_num_free", "c_num_free", Norm::Decimal),
    ("c_num_big", "c_num_big", "c_num_big", Norm::Decimal),
    ("c_real", "c_real::float8", "c_real", Norm::Float),
    ("c_double", "c_double", "c_double", Norm::Float),
    ("c_char", "rtrim(c_char)", "rtrim(c_char)", Norm::Same),
    ("c_varchar", "c_varchar", "c_varchar", Norm::Same),
    ("c_text", "c_text", "c_text", Norm::Same),
    ("c_bytea", "encode(c_bytea, 'hex')", "c_bytea", Norm::Same),
    ("c_date", "c_date", "c_date", Norm::Same),
    ("c_time", "c_time", "c_time", Norm::Time),
    ("c_timetz", "c_timetz", "c_timetz", Norm::Same),
    (
        "c_ts",
        "to_char(c_ts, 'YYYY-MM-DD HH24:MI:SS.US')",
        "c_ts",
        Norm::Time,
    ),
    (
        "c_tstz",
        "to_char(c_tstz AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')",
        "replace(c_tstz, '+00:00', '')",
        Norm::Time,
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
    ("c_money", "c_money::numeric", "c_money", Norm::Decimal),
    ("c_bit", "c_bit", "c_bit", Norm::Same),
    ("c_varbit", "c_varbit", "c_varbit", Norm::Same),
    ("c_tsv", "c_tsv", "c_tsv", Norm::Same),
    ("c_xml", "c_xml", "c_xml", Norm::Same),
];

#[tokio::test]
async fn postgres_every_type_reaches_sqlite_and_verifies() {
    let (pg, sl) = (pg_database().await, sqlite_database().await);
    pg_exec(&pg, PG_SCHEMA).await;
    // SQLite stores −0.0 as 0: see negative_zero_and_nan_into_sqlite_are_refused_with_the_key.
    pg_exec(&pg, "UPDATE everything SET c_double = 0 WHERE id = 4").await;
    copy_ok(&pg, &sl, &[]);
    verify_ok(&pg, &sl, &[]);
    let source = pg_rows(
        &pg,
        &format!(
            "SET IntervalStyle = 'iso_8601'; {}",
            select(
                "everything",
                PG_TO_SQLITE.iter().map(|c| format!("({})::text", c.1))
            )
        ),
    )
    .await;
    let target = sqlite_rows(
        &sl,
        &select("everything", PG_TO_SQLITE.iter().map(|c| c.2.to_string())),
    );
    let names: Vec<&str> = PG_TO_SQLITE.iter().map(|c| c.0).collect();
    let norms: Vec<Norm> = PG_TO_SQLITE.iter().map(|c| c.3).collect();
    assert_same("postgres → sqlite", &source, &target, &names, &norms);
    // Decimals of more than 15 digits are held as text, exactly.
    let kinds = sqlite3_rows(
        &sl,
        "SELECT typeof(c_num), typeof(c_num_big), typeof(c_bool) FROM everything WHERE id = 2",
    );
    assert_eq!(
        kinds,
        [[
            Some("real".into()),
            Some("text".into()),
            Some("integer".into())
        ]]
    );
}

/// (column, MySQL side, SQLite side as the CLI renders it, normalisation).
const MYSQL_TO_SQLITE: &[(&str, &str, &str, Norm)] = &[
    ("id", "id", "id", Norm::Same),
    ("c_bool", "c_bool", "c_bool", Norm::Same),
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
    ("c_dec", "c_dec", "c_dec", Norm::Decimal),
    ("c_dec2", "c_dec2", "c_dec2", Norm::Decimal),
    ("c_float", "CAST(c_float AS DOUBLE)", "c_float", Norm::Float),
    ("c_double", "c_double", "c_double", Norm::Float),
    ("c_bit1", "BIN(c_bit1)", "c_bit1", Norm::Same),
    ("c_bit64", "LPAD(BIN(c_bit64), 64, '0')", "c_bit64", Norm::Same),
    ("c_char", "c_char", "rtrim(c_char)", Norm::Same),
    ("c_varchar", "c_varchar", "c_varchar", Norm::Same),
    ("c_tinytext", "c_tinytext", "c_tinytext", Norm::Same),
    ("c_text", "c_text", "c_text", Norm::Same),
    ("c_mediumtext", "c_mediumtext", "c_mediumtext", Norm::Same),
    ("c_longtext", "c_longtext", "c_longtext", Norm::Same),
    ("c_binary", "LOWER(HEX(c_binary))", "c_binary", Norm::Same),
    ("c_varbinary", "LOWER(HEX(c_varbinary))", "c_varbinary", Norm::Same),
    ("c_blob", "LOWER(HEX(c_blob))", "c_blob", Norm::Same),
    ("c_longblob", "LOWER(HEX(c_longblob))", "c_longblob", Norm::Same),
    ("c_date", "c_date", "c_date", Norm::Same),
    ("c_dt", "DATE_FORMAT(c_dt, '%Y-%m-%d %H:%i:%s.%f')", "c_dt", Norm::Time),
    ("c_dt6", "DATE_FORMAT(c_dt6, '%Y-%m-%d %H:%i:%s.%f')", "c_dt6", Norm::Time),
    (
        "c_ts",
        "DATE_FORMAT(c_ts, '%Y-%m-%d %H:%i:%s.%f')",
        "replace(c_ts, '+00:00', '')",
        Norm::Time,
    ),
    // MySQL TIME is a signed duration: ISO 8601 text in SQLite, compared
    // in seconds (see `iso_seconds`).
    ("c_time", "TIME_TO_SEC(c_time)", "c_time", Norm::Decimal),
    ("c_time6", "TIME_TO_SEC(c_time6)", "c_time6", Norm::Decimal),
    ("c_year", "c_year", "c_year", Norm::Same),
    ("c_enum", "c_enum", "c_enum", Norm::Same),
    (
        "c_set",
        "c_set",
        "CASE WHEN c_set IS NULL THEN NULL ELSE coalesce((SELECT group_concat(value, ',') FROM json_each(c_set)), '') END",
        Norm::Same,
    ),
    ("c_json", "c_json", "c_json", Norm::Json),
];

/// ISO 8601 duration text (`PT-838H-59M-59S`, `PT-0.5S`) as seconds.
fn iso_seconds(text: &str) -> String {
    let (months, days, nanos) =
        ferry_core::interval::parse_iso8601(text).unwrap_or_else(|| panic!("not ISO: {text}"));
    assert_eq!((months, days), (0, 0), "{text}");
    let sign = if nanos < 0 { "-" } else { "" };
    let n = nanos.unsigned_abs();
    format!("{sign}{}.{:09}", n / 1_000_000_000, n % 1_000_000_000)
}

#[tokio::test]
async fn mysql_every_type_reaches_sqlite_and_verifies() {
    let (my, sl) = (mysql_database().await, sqlite_database().await);
    mysql_exec(&my, MY_SCHEMA).await;
    copy_ok(&my, &sl, &[]);
    verify_ok(&my, &sl, &[]);
    let source = mysql_rows(
        &my,
        &select(
            "everything",
            MYSQL_TO_SQLITE.iter().map(|c| c.1.to_string()),
        ),
    )
    .await;
    let mut target = sqlite_rows(
        &sl,
        &select(
            "everything",
            MYSQL_TO_SQLITE.iter().map(|c| c.2.to_string()),
        ),
    );
    let names: Vec<&str> = MYSQL_TO_SQLITE.iter().map(|c| c.0).collect();
    for row in target.iter_mut() {
        for (i, n) in names.iter().enumerate() {
            if matches!(*n, "c_time" | "c_time6") {
                row[i] = row[i].as_deref().map(iso_seconds);
            }
        }
    }
    let norms: Vec<Norm> = MYSQL_TO_SQLITE.iter().map(|c| c.3).collect();
    assert_same("mysql → sqlite", &source, &target, &names, &norms);
    // 18446744073709551615 does not fit SQLite's INTEGER: exact text.
    assert_eq!(
        sqlite3_rows(
            &sl,
            "SELECT typeof(c_biu), c_biu FROM everything WHERE id = 2"
        ),
        [[Some("text".into()), Some("18446744073709551615".into())]]
    );
}

/// The schema objects of the issue, in a SQLite file: AUTOINCREMENT and a
/// plain INTEGER PRIMARY KEY, a composite key, WITHOUT ROWID, indexes
/// (descending, partial, expression), UNIQUE constraints (named and not),
/// foreign keys (actions, composite), CHECKs, defaults (CURRENT_TIMESTAMP,
/// datetime('now'), literals) and generated columns; a view and a trigger
/// are listed, not translated.
const SL_OBJECTS: &str = r#"
CREATE TABLE customers (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  email VARCHAR(120) NOT NULL UNIQUE,
  name TEXT NOT NULL DEFAULT 'anon',
  balance NUMERIC(12,2) NOT NULL DEFAULT 0 CHECK (balance >= 0),
  joined DATETIME DEFAULT CURRENT_TIMESTAMP,
  seen DATETIME DEFAULT (datetime('now')),
  vip BOOLEAN NOT NULL DEFAULT 0,
  CONSTRAINT name_not_blank CHECK (length(name) > 0)
);
CREATE TABLE orders (
  id INTEGER PRIMARY KEY,
  customer_id INTEGER NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
  placed DATE NOT NULL,
  qty INTEGER NOT NULL,
  price REAL NOT NULL,
  total REAL GENERATED ALWAYS AS (qty * price) STORED,
  note TEXT
);
CREATE INDEX orders_by_customer ON orders (customer_id, placed DESC);
CREATE INDEX orders_open ON orders (placed) WHERE note IS NULL;
CREATE TABLE lines (
  order_id INTEGER NOT NULL,
  line SMALLINT NOT NULL,
  sku TEXT NOT NULL,
  PRIMARY KEY (order_id, line),
  CONSTRAINT lines_order FOREIGN KEY (order_id) REFERENCES orders (id),
  CONSTRAINT sku_per_order UNIQUE (order_id, sku)
) WITHOUT ROWID;
CREATE VIEW big_orders AS SELECT * FROM orders WHERE qty > 10;
CREATE TRIGGER orders_touch AFTER UPDATE ON orders BEGIN SELECT 1; END;
INSERT INTO customers (email, name, balance, vip) VALUES ('a@x', 'Ann', 10.5, 1), ('b@x', 'Bob', 0, 0);
INSERT INTO orders (customer_id, placed, qty, price, note) VALUES (1, '2024-01-02', 3, 2.5, NULL), (2, '2024-01-03', 12, 1.25, 'gift');
INSERT INTO lines VALUES (1, 1, 'A-1'), (1, 2, 'B-2'), (2, 1, 'A-1');
"#;

/// An expression without the spelling a round trip may change: blanks,
/// parentheses (PostgreSQL's deparser adds them) and identifier quotes.
fn spelling(e: &str) -> String {
    e.chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '(' | ')' | '"'))
        .collect::<String>()
        .to_lowercase()
}

/// The catalog as ferry reads it, without what a trip through PostgreSQL
/// cannot carry and the README says so: row estimates, counter positions,
/// a plain INTEGER PRIMARY KEY coming back AUTOINCREMENT, `datetime('now')`
/// coming back `CURRENT_TIMESTAMP`, WITHOUT ROWID, triggers (listed, not
/// translated) and the spelling of expressions.
async fn catalog(url: &DbUrl) -> Vec<ferry_core::RawTable> {
    let a = ferry_engine::Adapter::new(url.clone());
    let mut out = Vec::new();
    for t in a.list_tables(None).await.unwrap() {
        let mut raw = a.describe(&t).await.unwrap();
        raw.estimated_rows = None;
        raw.schema.options = None;
        raw.schema.other_triggers.clear();
        for c in raw.schema.columns.iter_mut() {
            c.auto_increment_clause = None;
            c.next_value = None;
            if c.default.as_deref() == Some("datetime('now')") {
                c.default = Some("CURRENT_TIMESTAMP".into());
            }
            if let Some(g) = c.generated.as_mut() {
                g.expr = spelling(&g.expr);
            }
        }
        for c in raw.schema.checks.iter_mut() {
            c.expr = spelling(&c.expr);
        }
        for ix in raw.schema.indexes.iter_mut() {
            ix.predicate = ix.predicate.as_deref().map(spelling);
        }
        out.push(raw);
    }
    out
}

#[tokio::test]
async fn sqlite_to_postgres_to_sqlite_gives_back_the_catalog() {
    let (sl, pg, back) = (
        sqlite_database().await,
        pg_database().await,
        sqlite_database().await,
    );
    sqlite3_exec(&sl, SL_OBJECTS);
    let (s, p) = (sl.expose(), pg.expose());
    let run = ferry(&["copy", "--source", &s, "--target", &p]);
    assert_eq!(run.code, 0, "{}", run.all_output());
    // What is left out is said: the view and the trigger.
    let out = run.all_output();
    assert!(out.contains("1 view"), "{out}");
    assert!(out.contains("trigger orders_touch not translated"), "{out}");
    verify_ok(&sl, &pg, &[]);
    let pg_catalog = pg_rows(
        &pg,
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint \
         WHERE conrelid::regclass::text IN ('customers', 'orders', 'lines') ORDER BY 1",
    )
    .await;
    let defs: Vec<String> = pg_catalog
        .iter()
        .map(|r| format!("{}: {}", r[0].as_deref().unwrap(), r[1].as_deref().unwrap()))
        .collect();
    for want in [
        "customers_balance_check: CHECK ((balance >= (0)::numeric))",
        "customers_email_key: UNIQUE (email)",
        "lines_order: FOREIGN KEY (order_id) REFERENCES orders(id)",
        "name_not_blank: CHECK ((char_length(name) > 0))",
        "orders_customer_id_fkey: FOREIGN KEY (customer_id) REFERENCES customers(id) ON DELETE CASCADE",
        "sku_per_order: UNIQUE (order_id, sku)",
    ] {
        assert!(defs.iter().any(|d| d == want), "{want} not in {defs:#?}");
    }
    let indexes = pg_rows(
        &pg,
        "SELECT indexdef FROM pg_indexes WHERE tablename = 'orders' AND indexname LIKE 'orders\\_%' ORDER BY 1",
    )
    .await;
    assert_eq!(
        indexes,
        [
            [Some("CREATE INDEX orders_by_customer ON public.orders USING btree (customer_id, placed DESC)".into())],
            [Some("CREATE INDEX orders_open ON public.orders USING btree (placed) WHERE (note IS NULL)".into())],
            [Some("CREATE UNIQUE INDEX orders_pkey ON public.orders USING btree (id)".into())],
        ]
    );
    // Identity keeps counting past the copied keys, as AUTOINCREMENT would.
    pg_exec(&pg, "INSERT INTO customers (email) VALUES ('c@x')").await;
    assert_eq!(
        pg_rows(&pg, "SELECT max(id) FROM customers").await,
        [[Some("3".to_string())]]
    );
    pg_exec(&pg, "DELETE FROM customers WHERE email = 'c@x'").await;

    let b = back.expose();
    let run = ferry(&["copy", "--source", &p, "--target", &b]);
    assert_eq!(run.code, 0, "{}", run.all_output());
    verify_ok(&pg, &back, &[]);
    verify_ok(&sl, &back, &[]);
    assert_eq!(catalog(&sl).await, catalog(&back).await);
    // The counter moved past the source's: the next key is new.
    sqlite3_exec(&back, "INSERT INTO customers (email) VALUES ('d@x')");
    assert_eq!(
        sqlite3_rows(&back, "SELECT max(id) FROM customers"),
        [[Some("4".to_string())]]
    );
}

#[tokio::test]
async fn sqlite_to_sqlite_keeps_without_rowid_autoincrement_and_generated_columns() {
    let (src, dst) = (sqlite_database().await, sqlite_database().await);
    sqlite3_exec(&src, SL_OBJECTS);
    copy_ok(&src, &dst, &[]);
    verify_ok(&src, &dst, &[]);
    let table_list = "SELECT name, type, ncol, wr, strict FROM pragma_table_list \
                      WHERE schema = 'main' AND name NOT LIKE 'sqlite%' AND type = 'table' ORDER BY name";
    assert_eq!(
        sqlite3_rows(&src, table_list),
        sqlite3_rows(&dst, table_list)
    );
    let generated = "SELECT total FROM orders ORDER BY id";
    assert_eq!(sqlite3_rows(&src, generated), sqlite3_rows(&dst, generated));
    let a = ferry_engine::Adapter::new(src.clone());
    let b = ferry_engine::Adapter::new(dst.clone());
    for t in ["customers", "orders", "lines"] {
        let t = ferry_core::TableRef::new(None, t);
        let (mut x, mut y) = (a.describe(&t).await.unwrap(), b.describe(&t).await.unwrap());
        x.estimated_rows = None;
        y.estimated_rows = None;
        // Triggers are listed by the plan, not copied.
        x.schema.other_triggers.clear();
        assert_eq!(x, y, "table {t}");
    }
}

#[tokio::test]
async fn a_missing_sqlite_source_is_one_line_and_creates_nothing() {
    let (sl, pg, target) = (
        sqlite_database().await,
        pg_database().await,
        sqlite_database().await,
    );
    let (s, p, t) = (sl.expose(), pg.expose(), target.expose());
    for to in [&p, &t] {
        let run = ferry(&["copy", "--source", &s, "--target", to]);
        assert_eq!(run.code, 2, "{}", run.all_output());
        let lines: Vec<&str> = run
            .stderr
            .lines()
            .filter(|l| !l.trim().is_empty())
            .collect();
        assert_eq!(lines.len(), 1, "{}", run.stderr);
        assert!(
            lines[0].contains("no SQLite database file") && lines[0].contains(".db"),
            "{}",
            lines[0]
        );
    }
    assert!(!sqlite_path(&sl).exists(), "the source was created");
    assert!(!sqlite_path(&target).exists(), "the target was created");
    assert!(pg_rows(
        &pg,
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
    )
    .await
    .is_empty());
}

/// Text or a fraction in an INTEGER column, a malformed date, 40000 in a
/// SMALLINT: the pre-flight names table, column, storage class and key,
/// exit 2, and nothing reaches the target. Choosing a rule that holds the
/// values (an override) copies them.
#[tokio::test]
async fn a_value_of_the_wrong_storage_class_is_refused_with_its_key() {
    let (sl, pg) = (sqlite_database().await, pg_database().await);
    sqlite3_exec(
        &sl,
        "CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER, d DATE, s SMALLINT); \
         INSERT INTO t VALUES (1, 5, '2024-01-01', 1), (2, 6, '2024-01-02', 2), \
         (7, 7.5, '2024-01-03', 3), (8, 8, '2024-13-01', 4), (9, 9, '2024-01-04', 40000); \
         CREATE TABLE u (id INTEGER PRIMARY KEY, code INTEGER); \
         INSERT INTO u VALUES (1, 10), (7, 'seven');",
    );
    let (s, p) = (sl.expose(), pg.expose());
    let run = ferry(&["copy", "--source", &s, "--target", &p]);
    assert_eq!(run.code, 2, "{}", run.all_output());
    let err = run.stderr.trim();
    assert_eq!(err.lines().count(), 1, "{err}");
    for want in [
        "table t column n: 1 REAL values that do not fit int64 (declared INTEGER",
        "first at id=7",
        "table t column d: 1 TEXT values that do not fit date",
        "first at id=8",
        "table t column s: 1 INTEGER values that do not fit int16",
        "first at id=9",
        "table u column code: 1 TEXT values that do not fit int64",
    ] {
        assert!(err.contains(want), "{want}: {err}");
    }
    assert!(
        !err.contains("seven") && !err.contains("7.5"),
        "a value leaked: {err}"
    );
    assert!(pg_rows(
        &pg,
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
    )
    .await
    .is_empty());
    // `ferry plan` reports the same.
    let run = ferry(&["plan", "--source", &s, "--target", &p]);
    assert_eq!(run.code, 1, "{}", run.all_output());
    assert!(
        run.stdout.contains("TEXT values that do not fit int64"),
        "{}",
        run.stdout
    );
    // Rules that hold every value copy them exactly.
    let m = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        m.path(),
        "[[column]]\ntable = \"t\"\ncolumn = \"n\"\nlogical = \"float64\"\n\
         [[column]]\ntable = \"t\"\ncolumn = \"d\"\nlogical = \"text\"\n\
         [[column]]\ntable = \"t\"\ncolumn = \"s\"\nlogical = \"int64\"\n",
    )
    .unwrap();
    let mp = m.path().to_str().unwrap();
    let args = ["--mapping", mp, "--exclude", "u"];
    let run = ferry(&[&["copy", "--source", &s, "--target", &p][..], &args[..]].concat());
    assert_eq!(run.code, 0, "{}", run.all_output());
    verify_ok(&sl, &pg, &args);
    assert_eq!(
        pg_rows(
            &pg,
            "SELECT n, d, s FROM t WHERE id IN (7, 8, 9) ORDER BY id"
        )
        .await,
        [
            [
                Some("7.5".into()),
                Some("2024-01-03".into()),
                Some("3".into())
            ],
            [
                Some("8".into()),
                Some("2024-13-01".into()),
                Some("4".into())
            ],
            [
                Some("9".into()),
                Some("2024-01-04".into()),
                Some("40000".into())
            ],
        ]
    );
}

/// SQLite checks foreign keys only under `PRAGMA foreign_keys`: orphans
/// in the source are counted before PostgreSQL is given the constraint.
#[tokio::test]
async fn orphan_rows_of_a_sqlite_source_are_refused_before_a_foreign_key_is_added() {
    let (sl, pg) = (sqlite_database().await, pg_database().await);
    sqlite3_exec(
        &sl,
        "CREATE TABLE p (id INTEGER PRIMARY KEY); \
         CREATE TABLE c (id INTEGER PRIMARY KEY, p_id INTEGER REFERENCES p (id)); \
         INSERT INTO p VALUES (1); INSERT INTO c VALUES (1, 1), (2, NULL), (3, 99);",
    );
    let (s, p) = (sl.expose(), pg.expose());
    let run = ferry(&["copy", "--source", &s, "--target", &p]);
    assert_eq!(run.code, 2, "{}", run.all_output());
    assert!(
        run.stderr.contains(
            "table c column p_id: 1 rows whose foreign key c_p_id_fkey finds no row in p"
        ) && run.stderr.contains("first at id=3"),
        "{}",
        run.stderr
    );
    assert!(pg_rows(
        &pg,
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
    )
    .await
    .is_empty());
}

/// −0.0 and NaN: SQLite would store 0 and NULL. Refused with the key by
/// the pre-flight, copied as the conversions say when they are chosen
/// (nan_to_null makes ±Infinity NULL too, as it does everywhere);
/// ±Infinity are kept otherwise.
#[tokio::test]
async fn negative_zero_and_nan_into_sqlite_are_refused_with_the_key() {
    let (pg, sl) = (pg_database().await, sqlite_database().await);
    pg_exec(
        &pg,
        "CREATE TABLE f (id int PRIMARY KEY, x double precision); \
         INSERT INTO f VALUES (1, 1.5), (2, '-0'), (3, 'NaN'), (4, 'Infinity'), (5, '-Infinity')",
    )
    .await;
    let (p, s) = (pg.expose(), sl.expose());
    let run = ferry(&["copy", "--source", &p, "--target", &s]);
    assert_eq!(run.code, 2, "{}", run.all_output());
    assert!(
        run.stderr.contains("column x: 1 NaN") && run.stderr.contains("first at id=3"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("−0.0") && run.stderr.contains("first at id=2"),
        "{}",
        run.stderr
    );
    assert!(
        !sqlite_path(&sl).exists()
            || sqlite3_rows(&sl, "SELECT name FROM sqlite_schema").is_empty()
    );
    let m = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        m.path(),
        "[[column]]\ntable = \"f\"\ncolumn = \"x\"\nconversion = \"nan_to_null\"\n",
    )
    .unwrap();
    let mp = m.path().to_str().unwrap();
    // One conversion per column: −0.0 still stops the table.
    let run = ferry(&["copy", "--source", &p, "--target", &s, "--mapping", mp]);
    assert_eq!(run.code, 2, "{}", run.all_output());
    pg_exec(&pg, "UPDATE f SET x = 0 WHERE id = 2").await;
    let run = ferry(&[
        "copy",
        "--source",
        &p,
        "--target",
        &s,
        "--mapping",
        mp,
        "--if-exists",
        "truncate",
    ]);
    assert_eq!(run.code, 0, "{}", run.all_output());
    assert_eq!(
        sqlite3_rows(&sl, "SELECT id, quote(x) FROM f ORDER BY id"),
        [
            [Some("1".into()), Some("1.5".into())],
            [Some("2".into()), Some("0.0".into())],
            [Some("3".into()), Some("NULL".into())],
            [Some("4".into()), Some("NULL".into())],
            [Some("5".into()), Some("NULL".into())],
        ]
    );
    verify_ok(&pg, &sl, &["--mapping", mp]);
    // Without the conversion ±Infinity are kept: SQLite holds them.
    pg_exec(&pg, "DELETE FROM f WHERE id = 3").await;
    let run = ferry(&[
        "copy",
        "--source",
        &p,
        "--target",
        &s,
        "--if-exists",
        "truncate",
    ]);
    assert_eq!(run.code, 0, "{}", run.all_output());
    assert_eq!(
        sqlite3_rows(&sl, "SELECT quote(x) FROM f WHERE id >= 4 ORDER BY id"),
        [[Some("Inf".to_string())], [Some("-Inf".to_string())]]
    );
    verify_ok(&pg, &sl, &[]);
}

/// Many ranges, read in parallel, written by SQLite's one writer: every row
/// once, and the state store is a file of its own (never the target).
#[tokio::test(flavor = "multi_thread")]
async fn parallel_ranges_into_one_sqlite_writer_and_a_separate_state_store() {
    let (pg, sl) = (pg_database().await, sqlite_database().await);
    pg_exec(
        &pg,
        "CREATE TABLE big (id bigint PRIMARY KEY, v text, n numeric(12,2)); \
         INSERT INTO big SELECT g, 'v' || g, g / 100.0 FROM generate_series(1, 120000) g",
    )
    .await;
    let (p, s) = (pg.expose(), sl.expose());
    let target_file = sqlite_path(&sl).display().to_string();
    let run = ferry(&[
        "copy",
        "--source",
        &p,
        "--target",
        &s,
        "--state",
        &target_file,
    ]);
    assert_eq!(run.code, 2, "{}", run.all_output());
    assert!(
        run.stderr.contains("state store") && run.stderr.contains("give --state another file"),
        "{}",
        run.stderr
    );
    assert!(
        !sqlite_path(&sl).exists(),
        "refused before anything was written"
    );
    let run = ferry(&[
        "copy",
        "--source",
        &p,
        "--target",
        &s,
        "--quiet",
        "--workers",
        "4",
        "--min-range-rows",
        "5000",
        "--format",
        "json",
    ]);
    assert_eq!(run.code, 0, "{}", run.all_output());
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert!(doc["splits"][0]["ranges"].as_u64().unwrap() >= 4, "{doc}");
    verify_ok(&pg, &sl, &[]);
    assert_eq!(
        sqlite3_rows(&sl, "SELECT count(*), count(DISTINCT id), sum(id) FROM big"),
        [[
            Some("120000".into()),
            Some("120000".into()),
            Some("7200060000".into())
        ]]
    );
}

/// A SQLite source split into ranges, read by several connections from one
/// snapshot while another process writes to it: every transaction is in the
/// copy entirely or not at all.
#[tokio::test(flavor = "multi_thread")]
async fn a_sqlite_source_written_during_the_copy_is_read_from_one_instant() {
    let (sl, pg) = (sqlite_database().await, pg_database().await);
    sqlite3_exec(
        &sl,
        "PRAGMA journal_mode = WAL; \
         CREATE TABLE pairs (id INTEGER PRIMARY KEY, k INTEGER NOT NULL); \
         WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 100000) \
         INSERT INTO pairs SELECT n, 0 FROM g;",
    );
    // Each transaction k writes one row at each end of the key: ranges read
    // from different instants would see one without the other.
    let path = sqlite_path(&sl);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut child = std::process::Command::new("sqlite3")
                .arg(&path)
                .stdin(std::process::Stdio::piped())
                .spawn()
                .expect("sqlite3");
            let mut stdin = child.stdin.take().unwrap();
            let mut k = 1i64;
            use std::io::Write as _;
            let _ = writeln!(stdin, ".timeout 5000");
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                let _ = writeln!(
                    stdin,
                    "BEGIN IMMEDIATE; INSERT INTO pairs VALUES ({}, {k}), ({}, {k}); COMMIT;",
                    -k,
                    1_000_000 + k
                );
                k += 1;
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
            drop(stdin);
            let _ = child.wait();
        })
    };
    std::thread::sleep(std::time::Duration::from_millis(200));
    let (s, p) = (sl.expose(), pg.expose());
    let run = ferry(&[
        "copy",
        "--source",
        &s,
        "--target",
        &p,
        "--quiet",
        "--workers",
        "3",
        "--min-range-rows",
        "5000",
        "--format",
        "json",
    ]);
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    writer.join().unwrap();
    assert_eq!(run.code, 0, "{}", run.all_output());
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(doc["snapshot"]["consistency"], "exact", "{doc}");
    let rows = pg_rows(
        &pg,
        "SELECT count(*) FILTER (WHERE id < 0), count(*) FILTER (WHERE id > 1000000), \
         coalesce(max(k), 0), count(DISTINCT k) FILTER (WHERE k > 0) FROM pairs",
    )
    .await;
    let r: Vec<i64> = rows[0]
        .iter()
        .map(|v| v.as_deref().unwrap().parse().unwrap())
        .collect();
    assert_eq!(r[0], r[1], "a transaction was copied in part: {r:?}");
    assert_eq!(r[0], r[2], "transactions 1..K, each whole: {r:?}");
    assert_eq!(r[0], r[3], "{r:?}");
}

/// A range committed to a SQLite target but not checkpointed (the process
/// died in between) is deleted by key range and copied again on resume;
/// the SQLite state store is its own file.
#[tokio::test(flavor = "multi_thread")]
async fn a_range_committed_but_not_checkpointed_into_sqlite_is_redone_once() {
    let (pg, sl, state) = (
        pg_database().await,
        sqlite_database().await,
        sqlite_database().await,
    );
    pg_exec(
        &pg,
        "CREATE TABLE big (id bigint PRIMARY KEY, n int NOT NULL); CREATE INDEX big_n ON big (n); \
         INSERT INTO big SELECT g, g % 97 FROM generate_series(1, 60000) g",
    )
    .await;
    let (p, s) = (pg.expose(), sl.expose());
    let st = sqlite_path(&state).display().to_string();
    let args = [
        "copy",
        "--source",
        &p,
        "--target",
        &s,
        "--quiet",
        "--workers",
        "2",
        "--min-range-rows",
        "5000",
        "--state",
        &st,
        "--run-id",
        "crash",
        "--resume",
        "--format",
        "json",
    ];
    let run = ferry(&args);
    assert_eq!(run.code, 0, "{}", run.all_output());
    sqlite3_exec(
        &state,
        "UPDATE ferry_ranges SET status = 'copying' WHERE idx IN (1, 3); \
         UPDATE ferry_runs SET status = 'ready';",
    );
    sqlite3_exec(&sl, "DROP INDEX big_n;");
    let run = ferry(&args);
    assert_eq!(run.code, 0, "{}", run.all_output());
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["run"]["start"], "resumed");
    let redone: Vec<u64> = report["ranges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["index"].as_u64().unwrap())
        .collect();
    assert_eq!(redone, vec![1, 3], "{}", run.stdout);
    assert_eq!(
        sqlite3_rows(&sl, "SELECT count(*), count(DISTINCT id), sum(id) FROM big"),
        [[
            Some("60000".into()),
            Some("60000".into()),
            Some("1800030000".into())
        ]]
    );
    assert_eq!(
        sqlite3_rows(
            &sl,
            "SELECT count(*) FROM sqlite_schema WHERE name = 'big_n'"
        ),
        [[Some("1".into())]],
        "the resumed run built the index"
    );
    verify_ok(&pg, &sl, &[]);
}
