//! Changes to MariaDB columns in legacy character sets and to spatial
//! columns travel as the copy reads them: text decoded from its raw bytes
//! with the server's own table (never through the session's lossy
//! conversion), geometries as MySQL's stored form with their SRID. A byte
//! sequence the character set has no Unicode mapping for stops the sync
//! with table, column and key, as it stops a copy.

use ferry_core::DbUrl;
use ferry_testkit::{mysql_database, mysql_exec, mysql_rows, pg_database, pg_exec, pg_rows};

use super::{sync, verify_equal};
use crate::util::copy_ok;

const SCHEMA: &str = "CREATE TABLE legacy (
    id int PRIMARY KEY,
    g varchar(20) CHARACTER SET gbk,
    l varchar(20) CHARACTER SET latin1,
    c text CHARACTER SET cp1250,
    s set('a', 'é') CHARACTER SET latin1,
    p point REF_SYSTEM_ID=4326
  ) DEFAULT CHARSET=utf8mb4;
  INSERT INTO legacy VALUES
    (1, '北京', 'Café €5', 'Łódź', 'a,é', ST_GeomFromText('POINT(1 2)', 4326)),
    (2, NULL, NULL, NULL, NULL, NULL);";

/// Inserts, updates and deletes that touch every column.
const CHANGES: &str = "INSERT INTO legacy VALUES
    (3, '上海浦东', 'Ærøskøbing “x”', 'Šťastný Żółć', 'é', ST_GeomFromText('POINT(-112.8 49.7)', 4326));
  UPDATE legacy SET g = '广州', l = 'naïve', c = 'Brno', s = 'a',
    p = ST_GeomFromText('POINT(153.0251 -27.4698)', 4326) WHERE id = 1;
  UPDATE legacy SET g = '深圳', p = ST_GeomFromText('POINT(0 0)', 4326) WHERE id = 2;
  DELETE FROM legacy WHERE id = 3;
  INSERT INTO legacy VALUES (4, '香港', '¡olé!', 'Ďábel', '', NULL);";

/// The text columns as the servers' own UTF-8 rendering (hex, so a `?`
/// replacement cannot pass for the right character).
const MY_TEXT: &str = "SELECT id, hex(convert(g USING utf8mb4)), hex(convert(l USING utf8mb4)), \
     hex(convert(c USING utf8mb4)), ST_AsText(p), ST_SRID(p) FROM legacy ORDER BY id";

fn until_now(src: &DbUrl, dst: &DbUrl, slot: &str) -> crate::util::Run {
    sync(
        src,
        dst,
        &["--tables", "legacy", "--slot", slot, "--until", "now"],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mariadb_legacy_charsets_and_points_reach_postgis_through_changes() {
    let (src, dst) = (mysql_database().await, pg_database().await);
    pg_exec(&dst, "CREATE EXTENSION postgis").await;
    mysql_exec(&src, SCHEMA).await;
    let slot = format!("ferry_legacy_mp_{}", std::process::id());
    copy_ok(&src, &dst, &["--tables", "legacy", "--cdc-slot", &slot]);
    mysql_exec(&src, CHANGES).await;
    let run = until_now(&src, &dst, &slot);
    assert_eq!(run.code, 0, "sync:\n{}", run.all_output());
    verify_equal(&src, &dst, "legacy");
    let source = mysql_rows(&src, MY_TEXT).await;
    let target = pg_rows(
        &dst,
        "SELECT id::text, upper(encode(convert_to(g, 'UTF8'), 'hex')), \
           upper(encode(convert_to(l, 'UTF8'), 'hex')), upper(encode(convert_to(c, 'UTF8'), 'hex')), \
           ST_AsText(p), ST_SRID(p)::text FROM legacy ORDER BY id",
    )
    .await;
    assert_eq!(source.len(), 3);
    assert_eq!(source, target);
    // The PostgreSQL side holds the characters themselves.
    let g = pg_rows(&dst, "SELECT g, s::text FROM legacy WHERE id = 1").await;
    assert_eq!(g[0][0].as_deref(), Some("广州"));

    // A gbk sequence without a Unicode mapping (A380) stops the sync by key.
    mysql_exec(
        &src,
        "INSERT INTO legacy (id, g) VALUES (9, CONVERT(0x41A380 USING gbk))",
    )
    .await;
    let run = until_now(&src, &dst, &slot);
    assert_ne!(run.code, 0, "{}", run.all_output());
    let out = run.all_output();
    assert!(
        out.contains("legacy") && out.contains("column g") && out.contains("id=9"),
        "{out}"
    );
    assert!(
        pg_rows(&dst, "SELECT 1 FROM legacy WHERE id = 9")
            .await
            .is_empty(),
        "nothing of the refused transaction is applied"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mariadb_to_mariadb_legacy_charsets_and_points_through_changes() {
    let (src, dst) = (mysql_database().await, mysql_database().await);
    mysql_exec(&src, SCHEMA).await;
    let slot = format!("ferry_legacy_mm_{}", std::process::id());
    copy_ok(&src, &dst, &["--tables", "legacy", "--cdc-slot", &slot]);
    mysql_exec(&src, CHANGES).await;
    let run = until_now(&src, &dst, &slot);
    assert_eq!(run.code, 0, "sync:\n{}", run.all_output());
    verify_equal(&src, &dst, "legacy");
    let q = "SELECT id, hex(convert(g USING utf8mb4)), hex(convert(l USING utf8mb4)), \
             hex(convert(c USING utf8mb4)), s, hex(p) FROM legacy ORDER BY id";
    let (a, b) = (mysql_rows(&src, q).await, mysql_rows(&dst, q).await);
    assert_eq!(a.len(), 3);
    assert_eq!(a, b);
}
