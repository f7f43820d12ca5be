//! Every type of the fidelity tests travels through a change: after the
//! copy, the fidelity rows are inserted again under new keys (an insert
//! carrying every value) and the copied rows are updated to those values in
//! reverse order (an update carrying every value), then synced. `ferry
//! verify` finds no difference, and the servers' own renderings agree as
//! the fidelity tests require of a copy.

use ferry_core::DbUrl;
use ferry_testkit::{mysql_database, mysql_exec, mysql_rows, pg_database, pg_exec, pg_rows};

use super::{sync, verify_equal};
use crate::fidelity::{select, MYSQL_TO_PG, MY_SCHEMA, PG_ONLY_ROW, PG_SCHEMA, PG_TO_MYSQL};
use crate::util::{assert_same, copy_ok, Norm};

/// The non-key column names of a fidelity table.
fn columns(
    pairs: &'static [(&'static str, &'static str, &'static str, Norm)],
) -> Vec<&'static str> {
    pairs.iter().skip(1).map(|c| c.0).collect()
}

/// Inserts copies of rows `1..=n` as `101..`, then updates rows `1..=n`
/// to the values of `100 + n + 1 - id` (PostgreSQL).
fn pg_changes(cols: &[&str], n: u32) -> String {
    let list = cols.join(", ");
    let from = cols
        .iter()
        .map(|c| format!("o.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "INSERT INTO everything (id, {list}) SELECT id + 100, {list} FROM everything WHERE id <= {n};
         UPDATE everything t SET ({list}) = (SELECT {from} FROM everything o WHERE o.id = {} - t.id)
          WHERE t.id <= {n};",
        100 + n + 1
    )
}

/// The same for MySQL (a join with the inserted rows, which are not updated).
fn mysql_changes(cols: &[&str], n: u32) -> String {
    let list = cols.join(", ");
    let set = cols
        .iter()
        .map(|c| format!("t.{c} = o.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "INSERT INTO everything (id, {list}) SELECT id + 100, {list} FROM everything WHERE id <= {n};
         UPDATE everything t JOIN everything o ON o.id = {} - t.id SET {set} WHERE t.id <= {n};",
        100 + n + 1
    )
}

/// PostgreSQL's logical decoding sends xml through `xml_send`, which
/// leaves out an XML declaration that only states the defaults (`<?xml
/// version="1.0"?>`): the same document, other text (README, known
/// limits). The fidelity row holding one is given a declaration-free
/// document before the changes are made.
const XML_WITHOUT_DEFAULT_DECLARATION: &str =
    "UPDATE everything SET c_xml = '<doc>ü</doc>' WHERE id = 4";

/// Rows sorted by their numeric id (a PostgreSQL `ORDER BY id` over a
/// `(id)::text` column sorts the text: 1, 101, 2).
fn by_id(mut rows: Vec<Vec<Option<String>>>) -> Vec<Vec<Option<String>>> {
    rows.sort_by_key(|r| r[0].as_deref().and_then(|v| v.parse::<i64>().ok()));
    rows
}

fn until_now(src: &DbUrl, dst: &DbUrl, slot: &str, extra: &[&str]) {
    let mut args = vec!["--tables", "everything", "--slot", slot, "--until", "now"];
    args.extend_from_slice(extra);
    let run = sync(src, dst, &args);
    assert_eq!(run.code, 0, "sync:\n{}", run.all_output());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pg_to_pg_every_type_through_an_insert_and_an_update() {
    let (src, dst) = (pg_database().await, pg_database().await);
    pg_exec(&src, PG_SCHEMA).await;
    pg_exec(&src, PG_ONLY_ROW).await;
    pg_exec(&src, XML_WITHOUT_DEFAULT_DECLARATION).await;
    let slot = format!("ferry_types_pp_{}", std::process::id());
    copy_ok(&src, &dst, &["--tables", "everything", "--cdc-slot", &slot]);
    pg_exec(&src, &pg_changes(&columns(PG_TO_MYSQL), 7)).await;
    until_now(&src, &dst, &slot, &[]);
    verify_equal(&src, &dst, "everything");
    let q = "SELECT * FROM everything ORDER BY id";
    let (a, b) = (pg_rows(&src, q).await, pg_rows(&dst, q).await);
    assert_eq!(a.len(), 14);
    let names: Vec<&str> = PG_TO_MYSQL.iter().map(|c| c.0).collect();
    assert_same(
        "postgres → postgres, changed",
        &a,
        &b,
        &names,
        &vec![Norm::Same; names.len()],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pg_to_mariadb_every_type_through_an_insert_and_an_update() {
    let (src, dst) = (pg_database().await, mysql_database().await);
    pg_exec(&src, PG_SCHEMA).await;
    // MariaDB stores -0.0 as +0 (see the fidelity test).
    pg_exec(&src, "UPDATE everything SET c_double = 0 WHERE id = 4").await;
    pg_exec(&src, XML_WITHOUT_DEFAULT_DECLARATION).await;
    let slot = format!("ferry_types_pm_{}", std::process::id());
    copy_ok(&src, &dst, &["--tables", "everything", "--cdc-slot", &slot]);
    pg_exec(&src, &pg_changes(&columns(PG_TO_MYSQL), 4)).await;
    until_now(&src, &dst, &slot, &[]);
    verify_equal(&src, &dst, "everything");
    let source = pg_rows(
        &src,
        &format!(
            "SET IntervalStyle = 'iso_8601'; {}",
            select(PG_TO_MYSQL.iter().map(|c| format!("({})::text", c.1)))
        ),
    )
    .await;
    let target = mysql_rows(&dst, &select(PG_TO_MYSQL.iter().map(|c| c.2.to_string()))).await;
    assert_eq!(source.len(), 8);
    let names: Vec<&str> = PG_TO_MYSQL.iter().map(|c| c.0).collect();
    let norms: Vec<Norm> = PG_TO_MYSQL.iter().map(|c| c.3).collect();
    let (source, target) = (by_id(source), by_id(target));
    assert_same(
        "postgres → mysql, changed",
        &source,
        &target,
        &names,
        &norms,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mariadb_to_pg_every_type_through_an_insert_and_an_update() {
    let (src, dst) = (mysql_database().await, pg_database().await);
    mysql_exec(&src, MY_SCHEMA).await;
    copy_ok(
        &src,
        &dst,
        &["--tables", "everything", "--cdc-slot", "types_mp"],
    );
    mysql_exec(&src, &mysql_changes(&columns(MYSQL_TO_PG), 7)).await;
    until_now(&src, &dst, "types_mp", &[]);
    verify_equal(&src, &dst, "everything");
    let source = mysql_rows(&src, &select(MYSQL_TO_PG.iter().map(|c| c.1.to_string()))).await;
    let target = pg_rows(
        &dst,
        &select(MYSQL_TO_PG.iter().map(|c| format!("({})::text", c.2))),
    )
    .await;
    assert_eq!(source.len(), 14);
    let names: Vec<&str> = MYSQL_TO_PG.iter().map(|c| c.0).collect();
    let norms: Vec<Norm> = MYSQL_TO_PG.iter().map(|c| c.3).collect();
    let (source, target) = (by_id(source), by_id(target));
    assert_same(
        "mysql → postgres, changed",
        &source,
        &target,
        &names,
        &norms,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mariadb_to_mariadb_every_type_through_an_insert_and_an_update() {
    let (src, dst) = (mysql_database().await, mysql_database().await);
    mysql_exec(&src, MY_SCHEMA).await;
    copy_ok(
        &src,
        &dst,
        &["--tables", "everything", "--cdc-slot", "types_mm"],
    );
    mysql_exec(&src, &mysql_changes(&columns(MYSQL_TO_PG), 7)).await;
    until_now(&src, &dst, "types_mm", &[]);
    verify_equal(&src, &dst, "everything");
    let q = select(MYSQL_TO_PG.iter().map(|c| c.1.to_string()));
    let (a, b) = (mysql_rows(&src, &q).await, mysql_rows(&dst, &q).await);
    assert_eq!(a.len(), 14);
    let names: Vec<&str> = MYSQL_TO_PG.iter().map(|c| c.0).collect();
    let norms: Vec<Norm> = MYSQL_TO_PG.iter().map(|c| c.3).collect();
    assert_same("mysql → mysql, changed", &a, &b, &names, &norms);
}

/// The copy's zero-date rule applies to changes: with `zero_date_to_null`
/// a zero date inserted after the copy lands as NULL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mariadb_zero_dates_in_changes_follow_the_copy_rule() {
    let (src, dst) = (mysql_database().await, pg_database().await);
    mysql_exec(
        &src,
        "CREATE TABLE z (id int PRIMARY KEY, d date, dt datetime); \
         INSERT INTO z VALUES (1, '2024-01-01', '2024-01-01 00:00:00')",
    )
    .await;
    let mapping = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        mapping.path(),
        "[[type]]\nsource_type = \"date\"\nconversion = \"zero_date_to_null\"\n\
         [[type]]\nsource_type = \"datetime\"\nconversion = \"zero_date_to_null\"\n",
    )
    .unwrap();
    let m = mapping.path().to_str().unwrap();
    copy_ok(
        &src,
        &dst,
        &["--tables", "z", "--mapping", m, "--cdc-slot", "types_z"],
    );
    mysql_exec(
        &src,
        "SET SESSION sql_mode = ''; \
         INSERT INTO z VALUES (2, '0000-00-00', '0000-00-00 00:00:00'), (3, '2016-07-00', NULL); \
         UPDATE z SET d = '0000-00-00' WHERE id = 1",
    )
    .await;
    let run = sync(
        &src,
        &dst,
        &[
            "--tables",
            "z",
            "--mapping",
            m,
            "--slot",
            "types_z",
            "--until",
            "now",
        ],
    );
    assert_eq!(run.code, 0, "sync:\n{}", run.all_output());
    assert_eq!(
        pg_rows(&dst, "SELECT id, d::text, dt::text FROM z ORDER BY id").await,
        vec![
            vec![Some("1".into()), None, Some("2024-01-01 00:00:00".into())],
            vec![Some("2".into()), None, None],
            vec![Some("3".into()), None, None],
        ]
    );
}

/// MariaDB's UUID, INET4 and INET6 arrive in the binary log as raw bytes
/// with trailing zero bytes stripped (`0.0.0.0` as nothing at all): padded
/// back and rendered, they land as the copy lands them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mariadb_uuid_inet4_inet6_through_an_insert_and_an_update() {
    for dst in [pg_database().await, mysql_database().await] {
        let src = mysql_database().await;
        mysql_exec(&src, crate::types::MARIADB_NET).await;
        let slot = format!("types_net_{}", dst.engine.product().len());
        copy_ok(&src, &dst, &["--tables", "net", "--cdc-slot", &slot]);
        mysql_exec(
            &src,
            "INSERT INTO net SELECT id + 100, u, a, b FROM net; \
             UPDATE net t JOIN net o ON o.id = 105 - t.id SET t.u = o.u, t.a = o.a, t.b = o.b \
             WHERE t.id <= 4",
        )
        .await;
        let run = sync(
            &src,
            &dst,
            &["--tables", "net", "--slot", &slot, "--until", "now"],
        );
        assert_eq!(run.code, 0, "sync:\n{}", run.all_output());
        verify_equal(&src, &dst, "net");
        let source = mysql_rows(&src, "SELECT id, u, a, b FROM net ORDER BY id").await;
        let target = match dst.engine {
            ferry_core::Engine::Postgres => {
                pg_rows(
                    &dst,
                    "SELECT id::text, u::text, host(a), host(b) FROM net ORDER BY id",
                )
                .await
            }
            ferry_core::Engine::MySql => {
                mysql_rows(&dst, "SELECT id, u, a, b FROM net ORDER BY id").await
            }
            ferry_core::Engine::Sqlite | ferry_core::Engine::Mssql => {
                unreachable!("the sync tests write to PostgreSQL and MariaDB")
            }
        };
        assert_eq!(source.len(), 8);
        assert_eq!(by_id(source), by_id(target));
    }
}
