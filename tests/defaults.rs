//! Issue 18, defaults and sequences: every default form real schemas carry
//! reaches the other engine with the same meaning (or is left out with a
//! warning naming the column), and a key fed by a sequence, owned or not,
//! keeps handing out keys after the copy. Each test creates the forms on a
//! real source, runs `ferry plan` and `ferry copy`, reads the target's own
//! catalog, and INSERTs a row that relies on the defaults.

use ferry_core::DbUrl;
use ferry_testkit::{mysql_database, mysql_exec, mysql_rows, pg_database, pg_exec, pg_rows};

use crate::util::{copy_ok, ferry};

fn plan(source: &DbUrl, target: &DbUrl) -> String {
    let run = ferry(&[
        "plan",
        "--source",
        &source.expose(),
        "--target",
        &target.expose(),
    ]);
    assert_eq!(run.code, 0, "plan not clean:\n{}", run.all_output());
    run.all_output()
}

/// `COLUMN_DEFAULT` of each column of `table`, as MariaDB shows it.
async fn mysql_defaults(url: &DbUrl, table: &str) -> Vec<(String, Option<String>)> {
    mysql_rows(
        url,
        &format!(
            "SELECT COLUMN_NAME, COLUMN_DEFAULT FROM information_schema.COLUMNS \
             WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = '{table}' ORDER BY ORDINAL_POSITION"
        ),
    )
    .await
    .into_iter()
    .map(|r| (r[0].clone().unwrap_or_default(), r[1].clone()))
    .collect()
}

/// `pg_get_expr` of each column default of `public.table`.
async fn pg_defaults(url: &DbUrl, table: &str) -> Vec<(String, Option<String>)> {
    pg_rows(
        url,
        &format!(
            "SELECT a.attname::text, pg_get_expr(d.adbin, d.adrelid) FROM pg_attribute a \
             LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
             WHERE a.attrelid = 'public.{table}'::regclass AND a.attnum > 0 AND NOT a.attisdropped \
             ORDER BY a.attnum"
        ),
    )
    .await
    .into_iter()
    .map(|r| (r[0].clone().unwrap_or_default(), r[1].clone()))
    .collect()
}

fn default_of<'a>(defaults: &'a [(String, Option<String>)], column: &str) -> Option<&'a str> {
    defaults
        .iter()
        .find(|(c, _)| c == column)
        .unwrap_or_else(|| panic!("no column {column} in {defaults:?}"))
        .1
        .as_deref()
}

#[tokio::test]
async fn pg_default_forms_reach_mariadb_with_their_meaning() {
    let (pg, my) = (pg_database().await, mysql_database().await);
    pg_exec(
        &pg,
        "CREATE TABLE forms (
           id integer PRIMARY KEY,
           d1 date NOT NULL DEFAULT ('now'::text)::date,
           d2 date NOT NULL DEFAULT 'now'::text::date,
           d3 date DEFAULT CURRENT_DATE,
           t1 time without time zone DEFAULT CURRENT_TIME,
           t2 time(0) without time zone DEFAULT LOCALTIME,
           ts1 timestamp without time zone DEFAULT LOCALTIMESTAMP,
           ts2 timestamp with time zone DEFAULT clock_timestamp(),
           ts3 timestamp with time zone DEFAULT statement_timestamp(),
           ts4 timestamp with time zone DEFAULT transaction_timestamp(),
           ts5 timestamp(3) without time zone DEFAULT CURRENT_TIMESTAMP(3),
           s1 character varying(20) NOT NULL DEFAULT ''::character varying,
           s2 text DEFAULT 'now'::text,
           n1 numeric NOT NULL DEFAULT (0)::numeric,
           n2 integer NOT NULL DEFAULT '-1'::integer,
           b1 boolean NOT NULL DEFAULT false,
           bits bit(3) DEFAULT B'101',
           u uuid DEFAULT gen_random_uuid(),
           arr text[] NOT NULL DEFAULT '{}'::text[],
           arr2 text[] DEFAULT '{Trailers,\"Deleted Scenes\",NULL}'::text[],
           arr3 integer[] DEFAULT '{1,-2,3}'::integer[]
         );
         INSERT INTO forms (id) VALUES (1);",
    )
    .await;
    let out = plan(&pg, &my);
    assert!(!out.contains("not translated"), "plan warned:\n{out}");
    copy_ok(&pg, &my, &[]);
    let d = mysql_defaults(&my, "forms").await;
    assert_eq!(default_of(&d, "d1"), Some("curdate()"));
    assert_eq!(default_of(&d, "d2"), Some("curdate()"));
    assert_eq!(default_of(&d, "d3"), Some("curdate()"));
    assert_eq!(default_of(&d, "t1"), Some("curtime(6)"));
    assert_eq!(default_of(&d, "t2"), Some("curtime()"));
    assert!(default_of(&d, "ts1").is_some_and(|v| v.starts_with("current_timestamp")));
    assert!(default_of(&d, "ts2").is_some_and(|v| v.starts_with("current_timestamp")));
    assert_eq!(default_of(&d, "ts5"), Some("current_timestamp(3)"));
    assert_eq!(default_of(&d, "s1"), Some("''"));
    assert_eq!(default_of(&d, "s2"), Some("'now'"));
    assert!(default_of(&d, "n1").is_some_and(|v| v.trim_end_matches(['0', '.']).is_empty()));
    assert_eq!(default_of(&d, "n2"), Some("-1"));
    assert_eq!(default_of(&d, "b1"), Some("0"));
    assert_eq!(default_of(&d, "bits"), Some("b'101'"));
    assert_eq!(default_of(&d, "u"), Some("uuid()"));
    assert_eq!(default_of(&d, "arr"), Some("'[]'"));
    assert_eq!(
        default_of(&d, "arr2"),
        Some(r#"'["Trailers","Deleted Scenes",null]'"#)
    );
    assert_eq!(default_of(&d, "arr3"), Some("'[1,-2,3]'"));
    mysql_exec(&my, "INSERT INTO forms (id) VALUES (2)").await;
    let row = mysql_rows(
        &my,
        "SELECT d1 = CURDATE(), d2 = CURDATE(), t1 IS NOT NULL, s2, n2, bits + 0, LENGTH(u), arr, \
         JSON_EXTRACT(arr2, '$[1]'), JSON_EXTRACT(arr3, '$[1]') FROM forms WHERE id = 2",
    )
    .await;
    let v = |s: &str| Some(s.to_string());
    assert_eq!(
        row,
        vec![vec![
            v("1"),
            v("1"),
            v("1"),
            v("now"),
            v("-1"),
            v("5"),
            v("36"),
            v("[]"),
            v("\"Deleted Scenes\""),
            v("-2")
        ]]
    );
}

#[tokio::test]
async fn mariadb_default_forms_reach_pg_with_their_meaning() {
    let (my, pg) = (mysql_database().await, pg_database().await);
    mysql_exec(
        &my,
        "CREATE TABLE forms (
           id int PRIMARY KEY,
           d1 date DEFAULT (curdate()),
           t1 time DEFAULT (curtime()),
           ts1 timestamp(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
           ts2 datetime DEFAULT current_timestamp(),
           bit1 bit(1) NOT NULL DEFAULT b'1',
           bits bit(3) DEFAULT b'101',
           flag tinyint(1) NOT NULL DEFAULT 1,
           u char(36) NOT NULL DEFAULT (uuid()),
           e enum('a','b','c') NOT NULL DEFAULT 'b',
           st set('a','b','c') DEFAULT 'a,c',
           z1 date NOT NULL DEFAULT '0000-00-00',
           z2 datetime NOT NULL DEFAULT '0000-00-00 00:00:00',
           expr1 int DEFAULT (1 + 2)
         );
         INSERT INTO forms (id, z1, z2) VALUES (1, '2024-01-02', '2024-01-02 03:04:05');",
    )
    .await;
    let run = ferry(&["plan", "--source", &my.expose(), "--target", &pg.expose()]);
    let out = run.all_output();
    assert_eq!(run.code, 0, "plan not clean:\n{out}");
    for column in ["z1", "z2"] {
        assert!(
            out.contains(&format!("default of column {column} (`'0000-00-00")),
            "no zero-date warning for {column}:\n{out}"
        );
    }
    // A MySQL time is a duration (PostgreSQL interval): the time of day is
    // not its default there, and the plan says so.
    assert!(
        out.contains("default of column t1 (`curtime()`) not translated"),
        "no warning for t1:\n{out}"
    );
    let warnings = out.matches("not translated").count();
    assert_eq!(warnings, 3, "only the zero dates and t1 warn:\n{out}");
    copy_ok(&my, &pg, &[]);
    let d = pg_defaults(&pg, "forms").await;
    assert_eq!(default_of(&d, "d1"), Some("CURRENT_DATE"));
    assert_eq!(default_of(&d, "t1"), None);
    assert_eq!(default_of(&d, "ts1"), Some("CURRENT_TIMESTAMP"));
    assert_eq!(default_of(&d, "bits"), Some("'101'::\"bit\""));
    assert_eq!(default_of(&d, "u"), Some("gen_random_uuid()"));
    assert_eq!(default_of(&d, "z1"), None);
    assert_eq!(default_of(&d, "z2"), None);
    assert!(default_of(&d, "expr1").is_some_and(|v| v.contains("1 + 2")));
    pg_exec(
        &pg,
        "INSERT INTO forms (id, z1, z2) VALUES (2, '2024-01-02', '2024-01-02')",
    )
    .await;
    let row = pg_rows(
        &pg,
        "SELECT d1 = CURRENT_DATE, t1 IS NULL, ts1 IS NOT NULL, bit1::text, bits::text, \
         length(u::text), e::text, st::text, expr1::text FROM forms WHERE id = 2",
    )
    .await;
    let v = |s: &str| Some(s.to_string());
    assert_eq!(
        row,
        vec![vec![
            v("t"),
            v("t"),
            v("t"),
            row[0][3].clone(),
            v("101"),
            v("36"),
            v("b"),
            v("{a,c}"),
            v("3")
        ]]
    );
    assert!(matches!(row[0][3].as_deref(), Some("1" | "true" | "t")));
}

#[tokio::test]
async fn an_unowned_sequence_key_keeps_counting_after_the_copy() {
    let (pg, my) = (pg_database().await, mysql_database().await);
    pg_exec(
        &pg,
        "CREATE SEQUENCE person_id_seq START 100;
         CREATE TABLE actor (
           actor_id integer PRIMARY KEY DEFAULT nextval('person_id_seq'::regclass),
           name text NOT NULL);
         CREATE TABLE staff (
           staff_id integer PRIMARY KEY DEFAULT nextval('person_id_seq'::regclass),
           name text NOT NULL);
         CREATE SEQUENCE film_id_seq;
         CREATE TABLE film (
           film_id integer PRIMARY KEY DEFAULT nextval('film_id_seq'::regclass),
           title text NOT NULL);
         INSERT INTO actor (name) VALUES ('a'), ('b');
         INSERT INTO staff (name) VALUES ('c');
         INSERT INTO film (film_id, title) VALUES (7, 'x');
         SELECT nextval('film_id_seq'), nextval('film_id_seq');",
    )
    .await;
    let run = ferry(&["plan", "--source", &pg.expose(), "--target", &my.expose()]);
    let out = run.all_output();
    assert_eq!(run.code, 0, "plan not clean:\n{out}");
    assert!(!out.contains("not translated"), "plan warned:\n{out}");
    for (table, other) in [("actor", "staff"), ("staff", "actor")] {
        assert!(
            out.contains(&format!("its sequence is shared with table public.{other}"))
                || out.contains(&format!("its sequence is shared with table {other}")),
            "no shared-sequence warning for {table}:\n{out}"
        );
    }
    copy_ok(&pg, &my, &[]);
    let extra = mysql_rows(
        &my,
        "SELECT TABLE_NAME, EXTRA FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() \
         AND COLUMN_KEY = 'PRI' ORDER BY TABLE_NAME",
    )
    .await;
    for r in &extra {
        assert_eq!(r[1].as_deref(), Some("auto_increment"), "{r:?}");
    }
    mysql_exec(
        &my,
        "INSERT INTO actor (name) VALUES ('new'); INSERT INTO staff (name) VALUES ('new'); \
         INSERT INTO film (title) VALUES ('new')",
    )
    .await;
    let keys = mysql_rows(
        &my,
        "SELECT (SELECT actor_id FROM actor WHERE name = 'new'), \
                (SELECT staff_id FROM staff WHERE name = 'new'), \
                (SELECT film_id FROM film WHERE title = 'new')",
    )
    .await;
    // The sequence handed out 100..=102 and stands at 103; film's at 3, past
    // by its max(key) 7.
    let v = |s: &str| Some(s.to_string());
    assert_eq!(keys, vec![vec![v("103"), v("103"), v("8")]]);

    // And back: AUTO_INCREMENT becomes identity, continuing past max(key).
    let pg2 = pg_database().await;
    copy_ok(&my, &pg2, &[]);
    pg_exec(&pg2, "INSERT INTO actor (name) VALUES ('newer')").await;
    let key = pg_rows(
        &pg2,
        "SELECT actor_id::text FROM actor WHERE name = 'newer'",
    )
    .await;
    assert_eq!(key, vec![vec![v("104")]]);
}

/// A partitioned PostgreSQL table's key starts with its partition column, so
/// its serial is the second key column. InnoDB takes AUTO_INCREMENT only on a
/// column that leads an index: the target gets one, and an INSERT without
/// the key keeps counting.
#[tokio::test]
async fn a_serial_that_does_not_lead_the_key_keeps_counting_on_mariadb() {
    let (pg, my) = (pg_database().await, mysql_database().await);
    pg_exec(
        &pg,
        "CREATE TABLE payment (
           payment_id serial,
           paid_on date NOT NULL,
           amount numeric(5,2) NOT NULL,
           PRIMARY KEY (paid_on, payment_id)
         ) PARTITION BY RANGE (paid_on);
         CREATE TABLE payment_2022 PARTITION OF payment
           FOR VALUES FROM ('2022-01-01') TO ('2023-01-01');
         INSERT INTO payment (paid_on, amount) VALUES ('2022-03-01', 1), ('2022-04-01', 2);",
    )
    .await;
    let run = ferry(&["plan", "--source", &pg.expose(), "--target", &my.expose()]);
    let out = run.all_output();
    assert_eq!(run.code, 0, "plan not clean:\n{out}");
    assert!(!out.contains("auto-increment not translated"), "{out}");
    copy_ok(&pg, &my, &["--tables", "payment"]);
    let extra = mysql_rows(
        &my,
        "SELECT EXTRA FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() \
         AND TABLE_NAME = 'payment' AND COLUMN_NAME = 'payment_id'",
    )
    .await;
    assert_eq!(extra, vec![vec![Some("auto_increment".to_string())]]);
    mysql_exec(
        &my,
        "INSERT INTO payment (paid_on, amount) VALUES ('2022-05-01', 3)",
    )
    .await;
    let key = mysql_rows(&my, "SELECT payment_id FROM payment WHERE amount = 3").await;
    assert_eq!(key, vec![vec![Some("3".to_string())]]);
}
