//! Issue 17: memory is bounded by bytes, not rows.

use ferry_testkit::{mysql_database, mysql_rows, pg_database, pg_exec};

use crate::util::ferry_peak_rss;

fn some(v: &[&str]) -> Vec<Option<String>> {
    v.iter().map(|s| Some(s.to_string())).collect()
}

/// Issue 17: batches closed at a row count only, so 100 rows of 5 MB made
/// a copy peak at 1.56 GB and a verify at 2.19 GB. Batches now close at
/// `--batch-bytes` (16 MB) too, a larger row travels alone, and the writers
/// and verify's chunks are bounded by bytes: peak memory is a function of
/// workers and batch bytes, not of row width.
#[tokio::test]
async fn memory_is_bounded_by_bytes_on_a_table_of_large_values() {
    let (pg, my) = (pg_database().await, mysql_database().await);
    // 100 rows of 5 MB (md5 hex repeated, decoded to bytes).
    pg_exec(
        &pg,
        "CREATE TABLE blobs (id int PRIMARY KEY, b bytea);
         INSERT INTO blobs SELECT g, decode(repeat(md5(g::text), 327680), 'hex')
         FROM generate_series(1, 100) g;",
    )
    .await;
    let (s, t) = (pg.expose(), my.expose());
    let (run, copy_kb) = ferry_peak_rss(&["copy", "--source", &s, "--target", &t, "--quiet"]);
    assert_eq!(run.code, 0, "{}", run.all_output());
    let (run, verify_kb) = ferry_peak_rss(&["verify", "--source", &s, "--target", &t]);
    assert_eq!(run.code, 0, "{}", run.all_output());
    println!(
        "100 × 5 MB: copy peak {} MB, verify peak {} MB",
        copy_kb / 1024,
        verify_kb / 1024
    );
    for (what, kb) in [("copy", copy_kb), ("verify", verify_kb)] {
        assert!(kb < 320 * 1024, "{what} peaked at {} MB", kb / 1024);
    }
    assert_eq!(
        mysql_rows(&my, "SELECT COUNT(*), SUM(LENGTH(b)) FROM blobs").await,
        vec![some(&["100", "524288000"])]
    );

    // Three rows of 40 MB, larger than a batch's budget: each travels alone.
    pg_exec(
        &pg,
        "INSERT INTO blobs SELECT g, decode(repeat(md5(g::text), 2621440), 'hex')
         FROM generate_series(101, 103) g;",
    )
    .await;
    let (run, copy_kb) = ferry_peak_rss(&[
        "copy",
        "--source",
        &s,
        "--target",
        &t,
        "--quiet",
        "--if-exists",
        "truncate",
    ]);
    assert_eq!(run.code, 0, "{}", run.all_output());
    let (run, verify_kb) = ferry_peak_rss(&["verify", "--source", &s, "--target", &t]);
    assert_eq!(run.code, 0, "{}", run.all_output());
    println!(
        "with 3 × 40 MB: copy peak {} MB, verify peak {} MB",
        copy_kb / 1024,
        verify_kb / 1024
    );
    for (what, kb) in [("copy", copy_kb), ("verify", verify_kb)] {
        assert!(kb < 640 * 1024, "{what} peaked at {} MB", kb / 1024);
    }
}
