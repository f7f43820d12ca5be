//! PostgreSQL table inheritance and declarative partitioning, MySQL
//! partitioning (issue 18 item 5): every row is copied exactly once.
//!
//! The rule: an inheritance parent and each of its children are tables of
//! their own; every read of a parent (ranges, whole-table reads, sampling,
//! pre-flight probes, verify) is `FROM ONLY`, so a child's rows land in the
//! child's target table and nowhere else. A partitioned table is one table
//! holding its partitions' rows; the partitions are not listed.

use ferry_core::DbUrl;
use ferry_testkit::{mysql_database, mysql_exec, mysql_rows, pg_database, pg_exec, pg_rows};

use crate::util::{copy_ok, ferry};

/// A parent with a key and a child that adds a column, plus a keyless parent
/// and child big enough to be split into ctid block ranges; rows in all four.
const PG_INHERIT: &str = "\
    CREATE TABLE rental (id int PRIMARY KEY, v varchar(20) NOT NULL); \
    CREATE TABLE rental_archive (archived_on date, PRIMARY KEY (id)) INHERITS (rental); \
    INSERT INTO rental SELECT g, 'r' || g FROM generate_series(1, 3000) g; \
    INSERT INTO rental_archive SELECT g, 'a' || g, DATE '2020-01-01' + g % 300 \
        FROM generate_series(100001, 102000) g; \
    CREATE TABLE bag (n int, w text); \
    CREATE TABLE bag_extra (x int) INHERITS (bag); \
    INSERT INTO bag SELECT g % 13, repeat('b', 40) FROM generate_series(1, 20000) g; \
    INSERT INTO bag_extra SELECT g % 7, repeat('e', 40), g FROM generate_series(1, 15000) g; \
    ANALYZE";

const TABLES: [&str; 4] = ["bag", "bag_extra", "rental", "rental_archive"];

async fn pg_count(url: &DbUrl, table: &str) -> String {
    let rows = pg_rows(url, &format!("SELECT count(*) FROM ONLY \"{table}\"")).await;
    rows[0][0].clone().unwrap()
}

fn copy_verified(source: &DbUrl, target: &DbUrl) {
    let run = copy_ok(source, target, &["--verify", "--workers", "3"]);
    for t in TABLES {
        assert!(
            run.stdout.contains(&format!("verified public.{t}: ")),
            "{t} not verified:\n{}",
            run.all_output()
        );
    }
    let (s, t) = (source.expose(), target.expose());
    let run = ferry(&["verify", "--source", &s, "--target", &t]);
    assert_eq!(run.code, 0, "verify:\n{}", run.all_output());
}

#[tokio::test]
async fn an_inheritance_parent_is_copied_to_mysql_without_its_childrens_rows() {
    let (pg, my) = (pg_database().await, mysql_database().await);
    pg_exec(&pg, PG_INHERIT).await;
    copy_verified(&pg, &my);
    for t in TABLES {
        let target = mysql_rows(&my, &format!("SELECT count(*) FROM `{t}`")).await;
        assert_eq!(
            target[0][0].as_deref(),
            Some(pg_count(&pg, t).await.as_str()),
            "rows of {t}"
        );
    }
    // The child keeps the column it adds.
    let extra = mysql_rows(
        &my,
        "SELECT count(*) FROM rental_archive WHERE archived_on IS NOT NULL",
    )
    .await;
    assert_eq!(extra[0][0].as_deref(), Some("2000"));
}

#[tokio::test]
async fn an_inheritance_parent_is_copied_to_postgres_without_its_childrens_rows() {
    let (pg, pg2) = (pg_database().await, pg_database().await);
    pg_exec(&pg, PG_INHERIT).await;
    copy_verified(&pg, &pg2);
    for t in TABLES {
        assert_eq!(
            pg_count(&pg2, t).await,
            pg_count(&pg, t).await,
            "rows of {t}"
        );
    }
    // The targets are plain tables: ONLY or not, the same rows.
    let all = pg_rows(&pg2, "SELECT count(*) FROM rental").await;
    assert_eq!(all[0][0].as_deref(), Some("3000"));
}

/// Verify used to read the source the way the copy did (children's rows in
/// the parent), so a target parent holding the children's rows compared
/// equal: verify agreed with the copy's mistake.
#[tokio::test]
async fn verify_finds_an_inheritance_childs_rows_in_the_target_parent() {
    let (pg, my) = (pg_database().await, mysql_database().await);
    pg_exec(
        &pg,
        "CREATE TABLE rental (id int PRIMARY KEY, v varchar(20) NOT NULL); \
         CREATE TABLE rental_archive (archived_on date, PRIMARY KEY (id)) INHERITS (rental); \
         INSERT INTO rental VALUES (1, 'one'), (2, 'two'); \
         INSERT INTO rental_archive VALUES (10, 'ten', DATE '2020-01-01')",
    )
    .await;
    // The target as the doubling copy left it.
    mysql_exec(
        &my,
        "CREATE TABLE rental (id int PRIMARY KEY, v varchar(20) NOT NULL); \
         CREATE TABLE rental_archive (id int PRIMARY KEY, v varchar(20) NOT NULL, archived_on date); \
         INSERT INTO rental VALUES (1, 'one'), (2, 'two'), (10, 'ten'); \
         INSERT INTO rental_archive VALUES (10, 'ten', '2020-01-01')",
    )
    .await;
    let (s, t) = (pg.expose(), my.expose());
    let run = ferry(&["verify", "--source", &s, "--target", &t, "--format", "json"]);
    assert_eq!(run.code, 1, "verify:\n{}", run.all_output());
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
    let tables = doc["tables"].as_array().expect("tables");
    let of = |name: &str| {
        tables
            .iter()
            .find(|t| t["table"]["name"] == name)
            .unwrap_or_else(|| panic!("no {name} in {doc:#}"))
    };
    let rental = of("rental");
    assert_eq!(rental["rows_source"], 2, "{doc:#}");
    assert_eq!(rental["extra_in_target"], 1, "{doc:#}");
    assert_eq!(rental["diffs"][0]["key"][0][1], "10", "{doc:#}");
    assert_eq!(
        of("rental_archive")["diffs"],
        serde_json::json!([]),
        "{doc:#}"
    );
}

#[tokio::test]
async fn plan_says_how_inheritance_and_partitions_are_copied() {
    let (pg, my) = (pg_database().await, mysql_database().await);
    pg_exec(&pg, PG_INHERIT).await;
    pg_exec(
        &pg,
        "CREATE TABLE measure (id int, day date, PRIMARY KEY (id, day)) PARTITION BY RANGE (day); \
         CREATE TABLE measure_2020 PARTITION OF measure FOR VALUES FROM ('2020-01-01') TO ('2021-01-01'); \
         CREATE TABLE measure_2021 PARTITION OF measure FOR VALUES FROM ('2021-01-01') TO ('2022-01-01')",
    )
    .await;
    let (s, t) = (pg.expose(), my.expose());
    let run = ferry(&["plan", "--source", &s, "--target", &t]);
    assert_eq!(run.code, 0, "{}", run.all_output());
    for line in [
        "inherits: parent of rental_archive: copied with ONLY, children as their own tables",
        "inherits: parent of bag_extra: copied with ONLY, children as their own tables",
        "partitioned: partitions measure_2020, measure_2021 copied as rows of this one table",
    ] {
        assert!(run.stdout.contains(line), "no {line:?} in:\n{}", run.stdout);
    }
    // Partitions are not tables of their own.
    assert!(
        !run.stdout.contains("table public.measure_2020"),
        "{}",
        run.stdout
    );
}

#[tokio::test]
async fn a_partitioned_postgres_table_is_copied_once_as_its_parent() {
    let (pg, my) = (pg_database().await, mysql_database().await);
    pg_exec(
        &pg,
        "CREATE TABLE measure (id int, day date, v int, PRIMARY KEY (id, day)) PARTITION BY RANGE (day); \
         CREATE TABLE measure_2020 PARTITION OF measure FOR VALUES FROM ('2020-01-01') TO ('2021-01-01'); \
         CREATE TABLE measure_2021 PARTITION OF measure FOR VALUES FROM ('2021-01-01') TO ('2022-01-01'); \
         INSERT INTO measure SELECT g, DATE '2020-01-01' + g % 700, g FROM generate_series(1, 6000) g; \
         ANALYZE",
    )
    .await;
    let run = copy_ok(&pg, &my, &["--verify", "--workers", "3"]);
    assert!(
        run.stdout
            .contains("verified public.measure: 6000 rows compared, 0 differences"),
        "{}",
        run.all_output()
    );
    let tables = mysql_rows(
        &my,
        "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE()",
    )
    .await;
    assert_eq!(tables, vec![vec![Some("measure".to_string())]]);
    let n = mysql_rows(&my, "SELECT count(*) FROM measure").await;
    assert_eq!(n[0][0].as_deref(), Some("6000"));
}

#[tokio::test]
async fn a_partitioned_mysql_table_is_copied_as_a_plain_table_with_a_warning() {
    let (my, pg) = (mysql_database().await, pg_database().await);
    mysql_exec(
        &my,
        "CREATE TABLE events (id int NOT NULL, yr int NOT NULL, PRIMARY KEY (id, yr)) \
         PARTITION BY RANGE (yr) (PARTITION p0 VALUES LESS THAN (2000), \
         PARTITION p1 VALUES LESS THAN MAXVALUE); \
         INSERT INTO events VALUES (1, 1990), (2, 2010), (3, 2020)",
    )
    .await;
    let (s, t) = (my.expose(), pg.expose());
    let run = ferry(&["plan", "--source", &s, "--target", &t]);
    assert_eq!(run.code, 0, "{}", run.all_output());
    assert!(
        run.stdout
            .contains("partitioned (RANGE, 2 partitions): copied as a plain table"),
        "{}",
        run.stdout
    );
    copy_ok(&my, &pg, &["--verify"]);
    let n = pg_rows(&pg, "SELECT count(*) FROM events").await;
    assert_eq!(n[0][0].as_deref(), Some("3"));
    let kind = pg_rows(
        &pg,
        "SELECT relkind::text FROM pg_class WHERE relname = 'events'",
    )
    .await;
    assert_eq!(kind[0][0].as_deref(), Some("r"));
}

/// The pre-flight scan counts a parent's own rows: a value the target
/// cannot hold in a child is the child's finding, not its parent's too.
#[tokio::test]
async fn preflight_probes_of_an_inheritance_parent_skip_its_childrens_rows() {
    let (pg, my) = (pg_database().await, mysql_database().await);
    pg_exec(
        &pg,
        "CREATE TABLE gauge (id int PRIMARY KEY, f float8); \
         CREATE TABLE gauge_old (PRIMARY KEY (id)) INHERITS (gauge); \
         INSERT INTO gauge VALUES (1, 1.5); \
         INSERT INTO gauge_old VALUES (2, 'NaN')",
    )
    .await;
    let (s, t) = (pg.expose(), my.expose());
    let run = ferry(&["plan", "--source", &s, "--target", &t, "--format", "json"]);
    assert_eq!(run.code, 1, "{}", run.all_output());
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
    let blocking: Vec<&str> = doc["blocking"]
        .as_array()
        .unwrap_or_else(|| panic!("no blocking list in {doc:#}"))
        .iter()
        .filter_map(|b| b.as_str())
        .collect();
    assert_eq!(blocking.len(), 1, "{doc:#}");
    assert!(
        blocking[0].starts_with("table public.gauge_old column f: 1 NaN"),
        "{doc:#}"
    );
}

/// A run that leaves a child out copies its parent with ONLY, so the child's
/// rows stay behind: plan and copy say so on the parent, naming the child.
#[tokio::test]
async fn leaving_an_inheritance_child_out_warns_that_its_rows_stay_behind() {
    let (pg, my) = (pg_database().await, mysql_database().await);
    pg_exec(&pg, PG_INHERIT).await;
    let (s, t) = (pg.expose(), my.expose());
    let plan = ferry(&[
        "plan",
        "--source",
        &s,
        "--target",
        &t,
        "--exclude",
        "rental_archive",
    ]);
    let out = plan.all_output();
    assert!(
        out.contains("inheritance child public.rental_archive is left out of this run"),
        "{out}"
    );
    assert!(!out.contains("inheritance child public.bag_extra"), "{out}");
    let copy = ferry(&["copy", "--source", &s, "--target", &t, "--tables", "rental"]);
    assert_eq!(copy.code, 0, "{}", copy.all_output());
    assert!(
        copy.all_output()
            .contains("inheritance child public.rental_archive is left out of this run"),
        "{}",
        copy.all_output()
    );
}
