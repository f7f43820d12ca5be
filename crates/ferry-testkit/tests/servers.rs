//! The kit itself: both servers start, databases are isolated, passwords are required.

#[tokio::test]
async fn servers_start_and_databases_are_fresh() {
    let a = ferry_testkit::pg_database().await;
    let b = ferry_testkit::pg_database().await;
    assert_ne!(a.database, b.database);
    ferry_testkit::pg_exec(&a, "CREATE TABLE t (x int); INSERT INTO t VALUES (1)").await;
    assert_eq!(
        ferry_testkit::pg_rows(&a, "SELECT x FROM t").await,
        vec![vec![Some("1".to_string())]]
    );
    let m = ferry_testkit::mysql_database().await;
    ferry_testkit::mysql_exec(&m, "CREATE TABLE t (x int); INSERT INTO t VALUES (2)").await;
    assert_eq!(
        ferry_testkit::mysql_rows(&m, "SELECT x FROM t").await,
        vec![vec![Some("2".to_string())]]
    );
}
