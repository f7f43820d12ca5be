//! Issue 16: a job's column transforms and row checks. Columns kept,
//! dropped and renamed; derived columns computed by the source; built-in
//! transforms on edge values; checks that reject rows by key and check
//! name; counts that reconcile (read = written + rejected + filtered);
//! `plan` showing and refusing; `verify` comparing through the transforms.

use std::collections::BTreeSet;

use serde_json::Value;

use ferry_testkit::{mysql_database, mysql_exec, mysql_rows, pg_database, pg_exec, pg_rows};

use crate::util::ferry;

fn write_job(dir: &tempfile::TempDir, text: &str) -> String {
    let path = dir.path().join("job.toml");
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

/// The reject file's (key, check) pairs; no line may hold a value.
fn check_rejects(path: &std::path::Path, secrets: &[&str]) -> BTreeSet<(String, String)> {
    let text = std::fs::read_to_string(path).expect("reject file");
    for s in secrets {
        assert!(!text.contains(s), "a value reached the reject file: {text}");
    }
    text.lines()
        .map(|l| {
            let l: Value = serde_json::from_str(l).expect("json line");
            (
                l["key"].as_str().unwrap().to_string(),
                l["check"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn s(v: &str) -> Option<String> {
    Some(v.to_string())
}

/// The people table both directions start from: edge values for every
/// built-in (NULL, empty, 4-byte UTF-8, spaces), rows a check refuses
/// (negative amount, NULL email) and rows the filter leaves out.
const PEOPLE: &[&str] = &[
    "(1, 'Jane', 'Doe', 'jane.doe@example.com', '111-22-3333', 10.50, '  Hello World ', 'eu')",
    "(2, '😀Zoë', 'Ünal', '😀😀x@😀.io', '222', 0.00, '', 'eu')",
    "(3, '', '', '', '333', 5.00, NULL, 'us')",
    "(4, 'Neg', 'Ative', 'neg@x.org', '444', -1.00, 'x', 'eu')",
    "(5, 'No', 'Mail', NULL, '555', 3.00, 'ÀB', 'us')",
    "(6, 'Left', 'Out', 'out@x.org', '666', 1.00, 'y', 'xx')",
    "(7, 'Both', 'Bad', NULL, '777', -2.00, 'z', 'xx')",
];

/// The job's text; `{FULL_NAME}` is the source engine's SQL for it.
fn job_text(source: &str, target: &str, full_name: &str, rejects: &std::path::Path) -> String {
    format!(
        r#"source = "{source}"
target = "{target}"
tables = ["people"]

[copy]
on_error = "reject"
reject_file = "{rejects}"

[[table]]
name = "people"
target = "people_out"
where = "region <> 'xx'"
drop = ["ssn", "region"]
rename = {{ email = "contact_email" }}

[table.derive]
full_name = "{full_name}"

[table.transform]
contact_email = "mask_email"
note = ["trim", "lower"]
last_name = "hash_sha256"
first_name = "truncate_to(2)"

[table.check]
amount_not_negative = "amount >= 0"
email_present = "not_null(email)"
"#,
        rejects = rejects.display()
    )
}

/// SHA-256 in hex of `""`, `"Doe"` and `"Ünal"` (UTF-8), from `sha256sum`.
const SHA_EMPTY: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const SHA_DOE: &str = "fd53ef835b15485572a6e82cf470dcb41fd218ae5751ab7531c956a2a6bcd3c7";
const SHA_UNAL: &str = "d48b25c686a11de2b8c67f94dacaa69916f41afb49e85c3aaa5ce69c53a2aec0";

/// What the target must hold for rows 1, 2 and 3 (4 and 5 fail a check,
/// 6 and 7 are filtered), whatever the direction.
fn expected_rows() -> Vec<Vec<Option<String>>> {
    vec![
        vec![
            s("1"),
            s("Ja"),
            s(SHA_DOE),
            s("j*******@example.com"),
            s("10.50"),
            s("hello world"),
            s("Jane Doe"),
        ],
        vec![
            s("2"),
            s("😀Z"),
            s(SHA_UNAL),
            s("😀**@😀.io"),
            s("0.00"),
            s(""),
            s("😀Zoë Ünal"),
        ],
        vec![s("3"), s(""), s(SHA_EMPTY), s(""), s("5.00"), None, s(" ")],
    ]
}

fn assert_counts(stdout: &str) {
    let report: Value = serde_json::from_str(stdout).expect("json report");
    let t = &report["tables"][0];
    assert_eq!(t["rows_read"], 7, "{stdout}");
    assert_eq!(t["rows_written"], 3, "{stdout}");
    assert_eq!(t["rows_rejected"], 2, "{stdout}");
    assert_eq!(t["rows_filtered"], 2, "{stdout}");
    assert_eq!(report["rows_filtered"], 2, "{stdout}");
}

#[tokio::test]
async fn pg_to_mysql_keeps_drops_renames_derives_transforms_checks_and_verifies() {
    let (pg, my) = (pg_database().await, mysql_database().await);
    pg_exec(
        &pg,
        &format!(
            "CREATE TABLE people (id int PRIMARY KEY, first_name text, last_name text, \
             email text, ssn text, amount numeric(10,2), note varchar(20), region text); \
             INSERT INTO people VALUES {}",
            PEOPLE.join(", ")
        ),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let rejects = dir.path().join("rejects.jsonl");
    let job = write_job(
        &dir,
        &job_text(
            &pg.expose(),
            &my.expose(),
            "first_name || ' ' || last_name",
            &rejects,
        ),
    );

    let plan = ferry(&["plan", "--job", &job]);
    assert_eq!(plan.code, 0, "{}", plan.all_output());
    for shown in [
        "email → contact_email",
        "| mask_email",
        "| trim | lower",
        "| hash_sha256",
        "= first_name || ' ' || last_name",
        "check amount_not_negative: amount >= 0",
        "check email_present: not_null(email)",
        "dropped: ssn, region",
    ] {
        assert!(plan.stdout.contains(shown), "{shown}: {}", plan.stdout);
    }

    // --verify: each range compared right after it commits, through the
    // same transforms.
    let page = dir.path().join("report.html");
    let run = ferry(&[
        "copy",
        "--job",
        &job,
        "--quiet",
        "--format",
        "json",
        "--verify",
        "--report",
        page.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "{}", run.all_output());
    assert_counts(&run.stdout);
    let html = std::fs::read_to_string(&page).expect("html report");
    assert!(
        html.contains("rows filtered"),
        "no filtered count in the report"
    );
    assert!(!html.contains("neg@x.org"), "a value reached the report");
    let report: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(report["verified"][0]["differences"], 0, "{}", run.stdout);
    assert_eq!(report["verified"][0]["rows_compared"], 3, "{}", run.stdout);
    assert_eq!(
        check_rejects(&rejects, &["neg@x.org", "Ative", "444"]),
        BTreeSet::from([
            ("id=4".to_string(), "amount_not_negative".to_string()),
            ("id=5".to_string(), "email_present".to_string()),
        ])
    );
    // Dropped columns are not in the target; the renamed one is; the hash
    // widened its column to the 64 hex digits.
    assert_eq!(
        mysql_rows(
            &my,
            "SELECT column_name, column_type FROM information_schema.columns \
             WHERE table_schema = DATABASE() AND table_name = 'people_out' \
             ORDER BY ordinal_position"
        )
        .await
        .into_iter()
        .map(|r| r[0].clone().unwrap())
        .collect::<Vec<_>>(),
        [
            "id",
            "first_name",
            "last_name",
            "contact_email",
            "amount",
            "note",
            "full_name"
        ]
    );
    assert_eq!(
        mysql_rows(
            &my,
            "SELECT id, first_name, last_name, contact_email, amount, note, full_name \
             FROM people_out ORDER BY id"
        )
        .await,
        expected_rows()
    );

    // verify knows the job: equal through the transforms, filtered and
    // checked-out rows not missing.
    let verify = ferry(&["verify", "--job", &job]);
    assert_eq!(verify.code, 0, "{}", verify.all_output());
    // A planted difference in a transformed column is still found.
    mysql_exec(
        &my,
        "UPDATE people_out SET contact_email = 'j*******@example.org' WHERE id = 1",
    )
    .await;
    let verify = ferry(&["verify", "--job", &job]);
    assert_eq!(verify.code, 1, "{}", verify.all_output());
    assert!(verify.stdout.contains("id=1"), "{}", verify.stdout);
}

#[tokio::test]
async fn mysql_to_pg_replaces_a_column_with_source_sql_and_verifies() {
    let (my, pg) = (mysql_database().await, pg_database().await);
    mysql_exec(
        &my,
        &format!(
            "CREATE TABLE people (id int PRIMARY KEY, first_name text, last_name text, \
             email text, ssn text, amount decimal(10,2), note varchar(20), region text) \
             CHARACTER SET utf8mb4; INSERT INTO people VALUES {}",
            PEOPLE.join(", ")
        ),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let rejects = dir.path().join("rejects.jsonl");
    let text = job_text(
        &my.expose(),
        &pg.expose(),
        "concat(first_name, ' ', last_name)",
        &rejects,
    )
    // A replaced column (computed by the source in its place, then
    // transformed) and a new one from a dropped column.
    .replace(
        "[table.derive]\n",
        "[table.derive]\nfirst_name = \"upper(first_name)\"\nssn_len = \"char_length(ssn)\"\n",
    )
    // null_out on a column a check reads: the check judges the source value.
    .replace(
        "[table.transform]\n",
        "[table.transform]\namount = \"null_out\"\n",
    );
    let job = write_job(&dir, &text);

    let run = ferry(&["copy", "--job", &job, "--quiet", "--format", "json"]);
    assert_eq!(run.code, 0, "{}", run.all_output());
    assert_counts(&run.stdout);
    assert_eq!(
        check_rejects(&rejects, &["neg@x.org", "Ative"]),
        BTreeSet::from([
            ("id=4".to_string(), "amount_not_negative".to_string()),
            ("id=5".to_string(), "email_present".to_string()),
        ])
    );
    let mut expected = expected_rows();
    for ((row, len), first) in expected
        .iter_mut()
        .zip(["11", "3", "3"])
        .zip(["JA", "😀Z", ""])
    {
        row[1] = s(first);
        row[4] = None;
        row.push(s(len));
    }
    assert_eq!(
        pg_rows(
            &pg,
            "SELECT id, first_name, last_name, contact_email, amount, note, full_name, ssn_len \
             FROM people_out ORDER BY id"
        )
        .await,
        expected
    );
    // The derived column's type came from the mapping rules: MariaDB's
    // char_length is an integer, so is the target column.
    let ty = pg_rows(
        &pg,
        "SELECT data_type FROM information_schema.columns \
         WHERE table_name = 'people_out' AND column_name = 'ssn_len'",
    )
    .await;
    assert!(
        ty == vec![vec![s("bigint")]] || ty == vec![vec![s("integer")]],
        "{ty:?}"
    );
    let verify = ferry(&["verify", "--job", &job]);
    assert_eq!(verify.code, 0, "{}", verify.all_output());
    pg_exec(&pg, "UPDATE people_out SET full_name = 'x' WHERE id = 2").await;
    let verify = ferry(&["verify", "--job", &job]);
    assert_eq!(verify.code, 1, "{}", verify.all_output());
    assert!(verify.stdout.contains("id=2"), "{}", verify.stdout);
}

#[tokio::test]
async fn plan_refuses_an_expression_the_source_cannot_evaluate_and_nothing_is_written() {
    let (pg, my) = (pg_database().await, mysql_database().await);
    pg_exec(
        &pg,
        "CREATE TABLE t (id int PRIMARY KEY, email text); INSERT INTO t VALUES (1, 'a@b.c')",
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    for (section, sql) in [
        ("derive", "h = \"no_such_function(email)\""),
        ("check", "c = \"no_such_column > 0\""),
    ] {
        let job = write_job(
            &dir,
            &format!(
                "source = \"{}\"\ntarget = \"{}\"\n[[table]]\nname = \"t\"\n[table.{section}]\n{sql}\n",
                pg.expose(),
                my.expose()
            ),
        );
        for args in [vec!["plan"], vec!["copy", "--quiet"]] {
            let mut args = args;
            args.extend(["--job", &job]);
            let run = ferry(&args);
            assert_ne!(run.code, 0, "{}", run.all_output());
            assert!(
                run.stderr.contains("table public.t") && run.stderr.contains("cannot evaluate"),
                "{}",
                run.stderr
            );
        }
    }
    // An unknown built-in is refused by name.
    let job = write_job(
        &dir,
        &format!(
            "source = \"{}\"\ntarget = \"{}\"\n[[table]]\nname = \"t\"\n[table.transform]\nemail = \"md5\"\n",
            pg.expose(),
            my.expose()
        ),
    );
    let run = ferry(&["plan", "--job", &job]);
    assert_ne!(run.code, 0, "{}", run.all_output());
    assert!(
        run.stderr.contains("unknown transform `md5`"),
        "{}",
        run.stderr
    );
    assert!(
        mysql_rows(
            &my,
            "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE()"
        )
        .await
        .is_empty(),
        "the target was written"
    );
}

#[tokio::test]
async fn a_failing_check_stops_the_table_without_reject_naming_key_and_check() {
    let (pg, my) = (pg_database().await, mysql_database().await);
    pg_exec(
        &pg,
        "CREATE TABLE t (id int PRIMARY KEY, amount int, secret text); \
         INSERT INTO t SELECT g, CASE WHEN g = 42 THEN -5 ELSE g END, 'secret-' || g \
           FROM generate_series(1, 100) g",
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let job = write_job(
        &dir,
        &format!(
            "source = \"{}\"\ntarget = \"{}\"\n[[table]]\nname = \"t\"\n\
             [table.check]\npositive = \"amount > 0\"\nmatches_secret = \"matches(secret, '^secret-[0-9]+$')\"\n",
            pg.expose(),
            my.expose()
        ),
    );
    let run = ferry(&["copy", "--job", &job, "--quiet"]);
    assert_ne!(run.code, 0, "{}", run.all_output());
    assert!(
        run.stderr.contains("id=42") && run.stderr.contains("check positive"),
        "{}",
        run.stderr
    );
    assert!(
        !run.all_output().contains("secret-42"),
        "{}",
        run.all_output()
    );
    // The table the run created is dropped again: the target is as before.
    assert_eq!(
        mysql_rows(
            &my,
            "SELECT count(*) FROM information_schema.TABLES \
             WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 't'"
        )
        .await,
        vec![vec![s("0")]]
    );
}

/// Derived columns of every kind the mapping rules type, computed by the
/// source and landing as those rules say: `verify` recomputes each on the
/// source and compares, so one value off would fail it.
#[tokio::test]
async fn derived_columns_of_every_mapped_type_copy_and_verify_both_directions() {
    let (pg, my) = (pg_database().await, mysql_database().await);
    pg_exec(
        &pg,
        "CREATE TABLE d (id int PRIMARY KEY, n int, t text, ts timestamptz); \
         INSERT INTO d SELECT g, g * 7 - 20, 'v' || g || '😀', \
           timestamptz '2024-02-29 12:34:56.789+00' + g * interval '1 day 1 second' \
           FROM generate_series(1, 50) g; \
         INSERT INTO d VALUES (51, NULL, NULL, NULL)",
    )
    .await;
    let pg_exprs = [
        ("d_smallint", "(n % 100)::smallint"),
        ("d_int", "n * 3"),
        ("d_bigint", "n::bigint * 1000000000"),
        ("d_numeric", "(n / 3.0)::numeric(12,4)"),
        ("d_float", "n / 7.0::float8"),
        ("d_bool", "n > 0"),
        ("d_text", "upper(t) || '-' || n"),
        ("d_varchar", "left(t, 3)::varchar(5)"),
        ("d_date", "ts::date"),
        ("d_timestamp", "(ts AT TIME ZONE 'UTC')::timestamp(3)"),
        ("d_timestamptz", "ts + interval '1 hour'"),
        ("d_bytea", "convert_to(t, 'UTF8')"),
        ("d_uuid", "md5(t)::uuid"),
        ("d_json", "json_build_object('n', n)::jsonb"),
    ];
    let derive: String = pg_exprs
        .iter()
        .map(|(n, e)| format!("{n} = \"{e}\"\n"))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let job = write_job(
        &dir,
        &format!(
            "source = \"{}\"\ntarget = \"{}\"\n[[table]]\nname = \"d\"\n[table.derive]\n{derive}",
            pg.expose(),
            my.expose()
        ),
    );
    let plan = ferry(&["plan", "--job", &job]);
    assert_eq!(plan.code, 0, "{}", plan.all_output());
    let run = ferry(&["copy", "--job", &job, "--quiet"]);
    assert_eq!(run.code, 0, "{}", run.all_output());
    let types: Vec<String> = mysql_rows(
        &my,
        "SELECT column_name, column_type FROM information_schema.columns \
         WHERE table_schema = DATABASE() AND table_name = 'd' ORDER BY ordinal_position",
    )
    .await
    .into_iter()
    .map(|r| format!("{} {}", r[0].clone().unwrap(), r[1].clone().unwrap()))
    .collect();
    // The same rules as a column of that type: spot-check a few.
    for want in [
        "d_smallint smallint(6)",
        "d_bigint bigint(20)",
        "d_numeric decimal(12,4)",
        "d_varchar varchar(5)",
        "d_date date",
        "d_timestamp datetime(3)",
    ] {
        assert!(types.iter().any(|t| t == want), "{want}: {types:?}");
    }
    assert_eq!(
        mysql_rows(&my, "SELECT d_text, d_numeric FROM d WHERE id = 3").await,
        vec![vec![s("V3😀-1"), s("0.3333")]]
    );
    let verify = ferry(&["verify", "--job", &job]);
    assert_eq!(verify.code, 0, "{}", verify.all_output());
    mysql_exec(&my, "UPDATE d SET d_uuid = NULL WHERE id = 9").await;
    let verify = ferry(&["verify", "--job", &job]);
    assert_eq!(verify.code, 1, "{}", verify.all_output());
    assert!(verify.stdout.contains("id=9"), "{}", verify.stdout);

    // And back: MariaDB computes, PostgreSQL receives.
    let (my2, pg2) = (mysql_database().await, pg_database().await);
    mysql_exec(
        &my2,
        "CREATE TABLE d (id int PRIMARY KEY, n int, t varchar(20), ts datetime(3)) \
         CHARACTER SET utf8mb4; \
         INSERT INTO d VALUES (1, 5, 'abc😀', '2024-02-29 12:34:56.789'), \
           (2, -3, '', '1999-12-31 23:59:59.000'), (3, NULL, NULL, NULL)",
    )
    .await;
    let my_exprs = [
        ("d_int", "n * 3"),
        ("d_bigint", "cast(n AS signed) * 1000000000"),
        ("d_decimal", "cast(n / 3 AS decimal(12,4))"),
        ("d_double", "n / 7e0"),
        ("d_text", "concat(upper(t), '-', n)"),
        ("d_date", "cast(ts AS date)"),
        ("d_datetime", "ts + INTERVAL 1 HOUR"),
        ("d_blob", "cast(t AS binary)"),
        ("d_len", "char_length(t)"),
    ];
    let derive: String = my_exprs
        .iter()
        .map(|(n, e)| format!("{n} = \"{e}\"\n"))
        .collect();
    let job = write_job(
        &dir,
        &format!(
            "source = \"{}\"\ntarget = \"{}\"\n[[table]]\nname = \"d\"\n[table.derive]\n{derive}",
            my2.expose(),
            pg2.expose()
        ),
    );
    let run = ferry(&["copy", "--job", &job, "--quiet"]);
    assert_eq!(run.code, 0, "{}", run.all_output());
    assert_eq!(
        pg_rows(&pg2, "SELECT d_text, d_decimal, d_len FROM d ORDER BY id").await,
        vec![
            vec![s("ABC😀-5"), s("1.6667"), s("4")],
            vec![s("--3"), s("-1.0000"), s("0")],
            vec![None, None, None],
        ]
    );
    let verify = ferry(&["verify", "--job", &job]);
    assert_eq!(verify.code, 0, "{}", verify.all_output());
}

/// A resumed run keeps a reshaped table's finished ranges, and its counts
/// (filtered rows included) come back from the state store.
#[tokio::test]
async fn a_resumed_run_keeps_reshaped_ranges_and_their_filtered_counts() {
    let (pg, my) = (pg_database().await, mysql_database().await);
    pg_exec(
        &pg,
        "CREATE TABLE a (id int PRIMARY KEY, email text, keep boolean); \
         INSERT INTO a SELECT g, 'user' || g || '@x.org', g % 4 <> 0 FROM generate_series(1, 2000) g; \
         CREATE TABLE b (id int PRIMARY KEY, amount int); \
         INSERT INTO b SELECT g, CASE WHEN g = 7 THEN -1 ELSE g END FROM generate_series(1, 10) g",
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("run.db");
    let job = write_job(
        &dir,
        &format!(
            r#"source = "{}"
target = "{}"
tables = ["a", "b"]

[copy]
workers = 1
min_range_rows = 200

[state]
store = "{}"

[[table]]
name = "a"
split = true
where = "keep"
drop = ["keep"]

[table.transform]
email = "mask_email"

[[table]]
name = "b"

[table.check]
positive = "amount > 0"
"#,
            pg.expose(),
            my.expose(),
            state.display()
        ),
    );
    let run = ferry(&["copy", "--job", &job, "--quiet", "--format", "json"]);
    assert_ne!(run.code, 0, "{}", run.all_output());
    assert!(
        run.all_output().contains("check positive"),
        "{}",
        run.all_output()
    );

    pg_exec(&pg, "UPDATE b SET amount = 7 WHERE id = 7").await;
    let run = ferry(&[
        "copy", "--job", &job, "--resume", "--quiet", "--format", "json",
    ]);
    assert_eq!(run.code, 0, "{}", run.all_output());
    let report: Value = serde_json::from_str(&run.stdout).expect("json report");
    let a = report["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["table"].to_string().contains("\"a\""))
        .unwrap_or_else(|| panic!("{}", run.stdout));
    let split = report["splits"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["table"].to_string().contains("\"a\""))
        .unwrap();
    assert!(split["ranges"].as_u64().unwrap() > 1, "{}", run.stdout);
    assert_eq!(split["resumed"], split["ranges"], "{}", run.stdout);
    assert_eq!(a["rows_read"], 2000, "{}", run.stdout);
    assert_eq!(a["rows_written"], 1500, "{}", run.stdout);
    assert_eq!(a["rows_filtered"], 500, "{}", run.stdout);
    assert_eq!(
        mysql_rows(&my, "SELECT count(*), min(email) FROM a").await,
        vec![vec![s("1500"), s("u*******@x.org")]]
    );
    let verify = ferry(&["verify", "--job", &job]);
    assert_eq!(verify.code, 0, "{}", verify.all_output());
}

/// SQLite as the source: a derived column needs a type SQLite can name
/// (a column or a CAST); without one `plan` says so. Checks and the
/// filter work as on the servers.
#[tokio::test]
async fn sqlite_source_derives_with_a_cast_and_refuses_an_untyped_expression() {
    let (sl, pg) = (ferry_testkit::sqlite_database().await, pg_database().await);
    ferry_testkit::sqlite3_exec(
        &sl,
        "CREATE TABLE p (id INTEGER PRIMARY KEY, first TEXT, last TEXT, score INTEGER); \
         INSERT INTO p VALUES (1, 'Ann', 'Lee', 10), (2, 'Bo', '😀', -4), (3, 'Cy', NULL, 7), \
           (4, 'Di', 'Out', 1);",
    );
    let dir = tempfile::tempdir().unwrap();
    let rejects = dir.path().join("rejects.jsonl");
    let job_with = |full: &str| {
        format!(
            r#"source = "{}"
target = "{}"
[copy]
on_error = "reject"
reject_file = "{}"
[[table]]
name = "p"
where = "id <> 4"
[table.derive]
full = "{full}"
[table.transform]
first = "upper"
[table.check]
positive = "score >= 0"
"#,
            sl.expose(),
            pg.expose(),
            rejects.display()
        )
    };
    let job = write_job(&dir, &job_with("first || ' ' || last"));
    let plan = ferry(&["plan", "--job", &job]);
    assert_ne!(plan.code, 0, "{}", plan.all_output());
    assert!(plan.stderr.contains("CAST"), "{}", plan.stderr);

    let job = write_job(&dir, &job_with("CAST(first || ' ' || last AS TEXT)"));
    let run = ferry(&["copy", "--job", &job, "--quiet", "--format", "json"]);
    assert_eq!(run.code, 0, "{}", run.all_output());
    let report: Value = serde_json::from_str(&run.stdout).expect("json report");
    let t = &report["tables"][0];
    assert_eq!(
        (
            &t["rows_read"],
            &t["rows_written"],
            &t["rows_rejected"],
            &t["rows_filtered"]
        ),
        (
            &Value::from(4),
            &Value::from(2),
            &Value::from(1),
            &Value::from(1)
        ),
        "{}",
        run.stdout
    );
    assert_eq!(
        check_rejects(&rejects, &["😀"]),
        BTreeSet::from([("id=2".to_string(), "positive".to_string())])
    );
    assert_eq!(
        pg_rows(&pg, "SELECT id, first, \"full\" FROM p ORDER BY id").await,
        vec![
            vec![s("1"), s("ANN"), s("Ann Lee")],
            vec![s("3"), s("CY"), None],
        ]
    );
    let verify = ferry(&["verify", "--job", &job]);
    assert_eq!(verify.code, 0, "{}", verify.all_output());
}
