//! MariaDB as the change source: the binary log from the position the copy
//! recorded, into PostgreSQL and MariaDB; and the one-line refusals.

use std::process::{Command, Stdio};
use std::time::Duration;

use ferry_core::DbUrl;
use ferry_testkit::{mysql_database, mysql_exec, mysql_rows, pg_database, pg_rows};

use super::{sync, verify_equal};
use crate::util::{copy_ok, ferry};

const SCHEMA: &str = "CREATE TABLE t (id int PRIMARY KEY, v bigint NOT NULL, note varchar(40), \
     u int unsigned, e enum('a','b','c d'), s set('x','y'), ts timestamp(6) NULL, \
     j json, b varbinary(8));
     INSERT INTO t (id, v, note) SELECT seq, seq, CONCAT('n', seq) FROM seq_1_to_200;";

/// Inserts, updates, a multi-row transaction, a key change, a key touched
/// several times in one transaction, deletes, unsigned maxima; then
/// `sync --until now` and `verify`.
async fn every_kind_of_change(src: &DbUrl, dst: &DbUrl, slot: &str) {
    mysql_exec(src, SCHEMA).await;
    copy_ok(src, dst, &["--tables", "t", "--cdc-slot", slot]);
    mysql_exec(
        src,
        "INSERT INTO t (id, v, u, e, s, ts, j, b) VALUES
           (201, 1, 4294967295, 'c d', 'x,y', '2024-01-01 00:00:01.5', '{\"a\": [1, 2]}', x'00ff');
         UPDATE t SET v = v + 5, u = 0 WHERE id = 1;
         START TRANSACTION;
           UPDATE t SET v = v - 10 WHERE id = 20; UPDATE t SET v = v + 10 WHERE id = 30;
           INSERT INTO t (id, v, note) VALUES (202, 2, 'in a transaction');
           DELETE FROM t WHERE id = 40;
         COMMIT;
         UPDATE t SET id = 260 WHERE id = 50;
         START TRANSACTION;
           INSERT INTO t (id, v) VALUES (270, 1); UPDATE t SET v = 2 WHERE id = 270;
           DELETE FROM t WHERE id = 270; INSERT INTO t (id, v) VALUES (270, 3);
         COMMIT;
         DELETE FROM t WHERE id = 2;
         UPDATE t SET note = NULL, e = 'a' WHERE id BETWEEN 100 AND 150;",
    )
    .await;
    let run = sync(
        src,
        dst,
        &["--tables", "t", "--slot", slot, "--until", "now"],
    );
    assert_eq!(run.code, 0, "sync:\n{}", run.all_output());
    assert!(run.stdout.contains("sync until"), "{}", run.stdout);
    verify_equal(src, dst, "t");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mariadb_sync_to_pg_applies_every_kind_of_change_then_verifies_equal() {
    let (src, dst) = (mysql_database().await, pg_database().await);
    every_kind_of_change(&src, &dst, "my_pg_kinds").await;
    let rows = pg_rows(&dst, "SELECT u::text, e, s::text FROM t WHERE id = 201").await;
    assert_eq!(
        rows[0],
        vec![
            Some("4294967295".into()),
            Some("c d".into()),
            Some("{x,y}".into())
        ],
        "an unsigned maximum stays itself"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mariadb_sync_to_mariadb_applies_every_kind_of_change_then_verifies_equal() {
    let (src, dst) = (mysql_database().await, mysql_database().await);
    every_kind_of_change(&src, &dst, "my_my_kinds").await;
    let rows = mysql_rows(&dst, "SELECT u, HEX(b) FROM t WHERE id = 201").await;
    assert_eq!(
        rows[0],
        vec![Some("4294967295".into()), Some("00FF".into())]
    );
}

/// DDL on a synced table while a sync runs stops it before the DDL, with
/// one line naming the table and the statement; what came before it is
/// applied. A sync started after such DDL is refused in one line too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mariadb_ddl_mid_sync_stops_with_one_line_naming_table_and_statement() {
    let (src, dst) = (mysql_database().await, pg_database().await);
    mysql_exec(
        &src,
        "CREATE TABLE a (id int PRIMARY KEY, v int); INSERT INTO a VALUES (1, 1);",
    )
    .await;
    copy_ok(&src, &dst, &["--tables", "a", "--cdc-slot", "my_ddl"]);
    let mut child = Command::new(env!("CARGO_BIN_EXE_ferry"))
        .args(["sync", "--source", &src.expose(), "--target", &dst.expose()])
        .args(["--tables", "a", "--slot", "my_ddl", "--quiet"])
        .env(
            "FERRY_STATE_DIR",
            std::env::temp_dir().join("ferry-e2e-state"),
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start ferry sync");
    mysql_exec(&src, "UPDATE a SET v = 2 WHERE id = 1").await;
    wait_for(&dst, "SELECT v FROM a", "2").await;
    mysql_exec(
        &src,
        "ALTER TABLE a ADD COLUMN w int; UPDATE a SET v = 3 WHERE id = 1;",
    )
    .await;
    let out = wait_exit(&mut child, Duration::from_secs(30));
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(
        lines[0].contains(&format!("table {}.a", src.database))
            && lines[0].contains("ALTER TABLE a ADD COLUMN w int")
            && lines[0].contains("does not apply DDL"),
        "{}",
        lines[0]
    );
    let v = pg_rows(&dst, "SELECT v FROM a").await;
    assert_eq!(
        v[0][0].as_deref(),
        Some("2"),
        "nothing after the DDL is applied"
    );

    let run = sync(&src, &dst, &["--tables", "a", "--slot", "my_ddl"]);
    assert_eq!(run.code, 2, "{}", run.all_output());
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{}", run.stderr);
    assert!(
        lines[0].contains("table a: column w is in the source but not in target")
            && lines[0].contains("does not apply DDL"),
        "{}",
        lines[0]
    );
}

/// Polls a PostgreSQL target until `sql`'s first cell reads `want`.
pub(crate) async fn wait_for(dst: &DbUrl, sql: &str, want: &str) {
    for _ in 0..300 {
        let rows = pg_rows(dst, sql).await;
        if rows.first().and_then(|r| r[0].as_deref()) == Some(want) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{sql} never read {want}");
}

/// Waits for a child to exit (killing it after `limit`) and collects its output.
pub(crate) fn wait_exit(child: &mut std::process::Child, limit: Duration) -> std::process::Output {
    let started = std::time::Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if started.elapsed() > limit {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut out = std::process::Output {
        status: child.wait().expect("wait"),
        stdout: Vec::new(),
        stderr: Vec::new(),
    };
    use std::io::Read;
    if let Some(mut s) = child.stdout.take() {
        let _ = s.read_to_end(&mut out.stdout);
    }
    if let Some(mut s) = child.stderr.take() {
        let _ = s.read_to_end(&mut out.stderr);
    }
    out
}

/// A table without a primary key cannot be followed: refused before the
/// copy starts, in one line with the fix.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mariadb_keyless_table_is_refused_in_one_line() {
    let (src, dst) = (mysql_database().await, pg_database().await);
    mysql_exec(
        &src,
        "CREATE TABLE nokey (a int, b text); INSERT INTO nokey VALUES (1, 'x');",
    )
    .await;
    let (s, t) = (src.expose(), dst.expose());
    let run = ferry(&[
        "copy",
        "--source",
        &s,
        "--target",
        &t,
        "--quiet",
        "--cdc-slot",
        "my_nokey",
    ]);
    assert_eq!(run.code, 2, "{}", run.all_output());
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{}", run.stderr);
    assert!(
        lines[0].contains("table nokey has no primary key") && lines[0].contains("ADD PRIMARY KEY"),
        "{}",
        lines[0]
    );
    assert!(
        pg_rows(&dst, "SELECT to_regclass('nokey') IS NULL").await[0][0].as_deref() == Some("t"),
        "nothing was created"
    );
}

/// A change the target cannot hold (a zero date into PostgreSQL) stops the
/// sync with table, column and key; nothing of its transaction is applied.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mariadb_change_the_target_refuses_stops_with_table_column_and_key() {
    let (src, dst) = (mysql_database().await, pg_database().await);
    mysql_exec(
        &src,
        "CREATE TABLE d (id int PRIMARY KEY, day date); INSERT INTO d VALUES (1, '2024-01-01');",
    )
    .await;
    copy_ok(&src, &dst, &["--tables", "d", "--cdc-slot", "my_refused"]);
    mysql_exec(
        &src,
        "SET SESSION sql_mode = ''; START TRANSACTION; \
         INSERT INTO d VALUES (2, '2024-02-02'); INSERT INTO d VALUES (7, '0000-00-00'); COMMIT;",
    )
    .await;
    let run = sync(
        &src,
        &dst,
        &["--tables", "d", "--slot", "my_refused", "--until", "now"],
    );
    assert_eq!(run.code, 2, "{}", run.all_output());
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{}", run.stderr);
    assert!(
        lines[0].contains("column day") && lines[0].contains("id=7") && lines[0].contains("zero"),
        "{}",
        lines[0]
    );
    assert_eq!(
        pg_rows(&dst, "SELECT count(*) FROM d").await[0][0].as_deref(),
        Some("1"),
        "nothing of the refused transaction is applied"
    );
}

/// The binary log holding the changes since the copy was purged: the sync
/// says so in one line, and never starts past the gap. On a MariaDB of its
/// own: purging the shared server's logs would break other tests.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mariadb_purged_binary_log_is_refused_in_one_line() {
    let admin = tokio::task::spawn_blocking(|| ferry_testkit::start_mariadb(None))
        .await
        .unwrap()
        .expect("a MariaDB of the test's own")
        .leak_url();
    mysql_exec(&admin, "CREATE DATABASE src; CREATE DATABASE dst").await;
    let (src, dst) = (admin.with_database("src"), admin.with_database("dst"));
    mysql_exec(
        &src,
        "CREATE TABLE p (id int PRIMARY KEY, v int); INSERT INTO p VALUES (1, 1);",
    )
    .await;
    copy_ok(&src, &dst, &["--tables", "p", "--cdc-slot", "my_purged"]);
    mysql_exec(&src, "UPDATE p SET v = 2").await;
    let last: String = {
        mysql_exec(&admin, "FLUSH BINARY LOGS").await;
        let rows = mysql_rows(&admin, "SHOW MASTER STATUS").await;
        rows[0][0].clone().unwrap()
    };
    // MariaDB keeps a log until its binlog checkpoint passes it (crash
    // recovery may need it), so the purge is repeated until it took.
    for _ in 0..100 {
        mysql_exec(&admin, &format!("PURGE BINARY LOGS TO '{last}'")).await;
        if mysql_rows(&admin, "SHOW BINARY LOGS").await.len() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(mysql_rows(&admin, "SHOW BINARY LOGS").await.len(), 1);
    let run = sync(
        &src,
        &dst,
        &["--tables", "p", "--slot", "my_purged", "--until", "now"],
    );
    assert_eq!(run.code, 2, "{}", run.all_output());
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{}", run.stderr);
    assert!(
        lines[0].contains("no longer has binary log")
            && lines[0].contains("purged")
            && lines[0].contains("copy the tables again"),
        "{}",
        lines[0]
    );
    assert_eq!(
        mysql_rows(&dst, "SELECT v FROM p").await[0][0].as_deref(),
        Some("1")
    );
}

/// A session that logs its changes as statements (binlog_format=STATEMENT)
/// cannot be followed: the sync stops with one line that names the table
/// and the fix, and no value the statement holds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mariadb_change_logged_as_a_statement_stops_without_showing_values() {
    let (src, dst) = (mysql_database().await, pg_database().await);
    mysql_exec(
        &src,
        "CREATE TABLE s (id int PRIMARY KEY, v int); INSERT INTO s VALUES (1, 1);",
    )
    .await;
    copy_ok(&src, &dst, &["--tables", "s", "--cdc-slot", "my_stmt"]);
    mysql_exec(
        &src,
        "SET SESSION binlog_format = 'STATEMENT'; UPDATE s SET v = 424242 WHERE id = 1;",
    )
    .await;
    let run = sync(
        &src,
        &dst,
        &["--tables", "s", "--slot", "my_stmt", "--until", "now"],
    );
    assert_eq!(run.code, 2, "{}", run.all_output());
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{}", run.stderr);
    assert!(
        lines[0].contains(&format!("table {}.s", src.database))
            && lines[0].contains("logged as a statement")
            && !lines[0].contains("424242"),
        "{}",
        lines[0]
    );
}

/// `--until` a MariaDB GTID applies every transaction up to and including
/// that one, and nothing after; a GTID not written yet is one line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mariadb_sync_until_a_gtid_stops_after_that_transaction() {
    let (src, dst) = (mysql_database().await, pg_database().await);
    mysql_exec(
        &src,
        "CREATE TABLE g (id int PRIMARY KEY, v int NOT NULL); INSERT INTO g VALUES (1, 0);",
    )
    .await;
    let slot = format!("ferry_gtid_{}", std::process::id());
    copy_ok(&src, &dst, &["--tables", "g", "--cdc-slot", &slot]);
    // Three transactions; the GTID of the second is the stop.
    mysql_exec(&src, "INSERT INTO g VALUES (2, 2)").await;
    mysql_exec(
        &src,
        "BEGIN; INSERT INTO g VALUES (3, 3); UPDATE g SET v = 1 WHERE id = 1; COMMIT;",
    )
    .await;
    // The server's last GTID now: the second transaction's, or another
    // test's committed after it (the server is shared), never the third's.
    let gtid = mysql_rows(&src, "SELECT @@gtid_binlog_pos").await[0][0]
        .clone()
        .expect("a GTID");
    assert!(!gtid.contains(','), "one replication domain: {gtid}");
    mysql_exec(&src, "INSERT INTO g VALUES (4, 4)").await;

    let ahead = {
        let mut parts: Vec<u64> = gtid.split('-').map(|p| p.parse().unwrap()).collect();
        parts[2] += 1000;
        format!("{}-{}-{}", parts[0], parts[1], parts[2])
    };
    let run = sync(
        &src,
        &dst,
        &["--tables", "g", "--slot", &slot, "--until", &ahead],
    );
    assert_ne!(run.code, 0);
    assert!(
        run.all_output()
            .contains("not in the source's binary log yet"),
        "{}",
        run.all_output()
    );

    let run = sync(
        &src,
        &dst,
        &["--tables", "g", "--slot", &slot, "--until", &gtid],
    );
    assert_eq!(run.code, 0, "sync:\n{}", run.all_output());
    let rows = pg_rows(&dst, "SELECT id::text, v::text FROM g ORDER BY id").await;
    let got: Vec<(String, String)> = rows
        .into_iter()
        .map(|r| (r[0].clone().unwrap(), r[1].clone().unwrap()))
        .collect();
    let want = [("1", "1"), ("2", "2"), ("3", "3")];
    assert_eq!(
        got,
        want.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect::<Vec<_>>(),
        "everything through {gtid}, nothing after"
    );
    // The rest follows from the stored position.
    let run = sync(
        &src,
        &dst,
        &["--tables", "g", "--slot", &slot, "--until", "now"],
    );
    assert_eq!(run.code, 0, "sync:\n{}", run.all_output());
    verify_equal(&src, &dst, "g");
}
