//! The HTML report (`--report`, `ferry report <run-id>`): its data is the
//! run's `--format json` document, its identifiers are text, and a real
//! browser opens it and shows the differing keys and the totals.
//!
//! The browser is Debian's `chromium` (installed by `scripts/ensure-servers.sh`);
//! where it is missing the browser checks are skipped with a message, except
//! under CI (`CI=true`), where a missing browser fails them.

use std::path::{Path, PathBuf};
use std::process::Command;

use ferry_testkit::{mysql_database, mysql_exec, pg_database, pg_exec};

use crate::util::ferry;

/// A table name and a column name that are markup if not escaped.
const HOSTILE: &str = r#"<b>"x"&'y'</b>"#;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join("ferry-e2e-report");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// The report's embedded data block, parsed.
fn data_of(html: &str) -> serde_json::Value {
    let open = r#"<script type="application/json" id="ferry-report-data">"#;
    let start = html.find(open).expect("data block") + open.len();
    let end = start + html[start..].find("</script>").expect("end of data block");
    serde_json::from_str(&html[start..end]).expect("data block is JSON")
}

/// Seconds and times differ between two renderings of one run; the rest
/// must be the same.
fn without_timing(mut v: serde_json::Value) -> serde_json::Value {
    fn strip(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(m) => {
                m.remove("seconds");
                m.remove("rows_per_second");
                m.values_mut().for_each(strip);
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(strip),
            _ => {}
        }
    }
    strip(&mut v);
    v
}

fn chromium() -> Option<PathBuf> {
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        let found = Command::new("sh")
            .arg("-c")
            .arg(format!("command -v {name}"))
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
        if found.is_some() {
            return found;
        }
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("chromium is missing under CI: scripts/ensure-servers.sh installs it");
    }
    eprintln!("skipped: no chromium on this machine (apt-get install chromium)");
    None
}

/// Opens `page` in headless Chromium: its DOM after rendering, and what it
/// logged to the console. Saves a screenshot and a PDF print next to the
/// page (the test's artifacts).
fn open_in_browser(browser: &Path, page: &Path) -> (String, String) {
    let profile = tempfile::tempdir().unwrap();
    let url = format!("file://{}", page.display());
    let base = |cmd: &mut Command| {
        cmd.args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()));
    };
    let mut dump = Command::new(browser);
    base(&mut dump);
    let out = dump
        .arg("--dump-dom")
        .arg(&url)
        .output()
        .expect("run chromium");
    assert!(
        out.status.success(),
        "chromium: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shot = page.with_extension("png");
    let mut screenshot = Command::new(browser);
    base(&mut screenshot);
    let s = screenshot
        .arg(format!("--screenshot={}", shot.display()))
        .arg("--window-size=1100,1800")
        .arg(&url)
        .output()
        .expect("run chromium");
    assert!(s.status.success() && shot.exists(), "no screenshot");
    let pdf = page.with_extension("pdf");
    let mut print = Command::new(browser);
    base(&mut print);
    let p = print
        .arg(format!("--print-to-pdf={}", pdf.display()))
        .arg("--no-pdf-header-footer")
        .arg(&url)
        .output()
        .expect("run chromium");
    let bytes = std::fs::read(&pdf).unwrap_or_default();
    assert!(
        p.status.success() && bytes.starts_with(b"%PDF"),
        "did not print to PDF"
    );
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn a_copy_report_carries_the_json_of_the_run_and_escapes_identifiers() {
    let (pg, my) = (pg_database().await, mysql_database().await);
    pg_exec(
        &pg,
        &format!(
            "CREATE TABLE orders (id int PRIMARY KEY, v text);
             INSERT INTO orders SELECT g, 'v' || g FROM generate_series(1, 5000) g;
             CREATE TABLE \"{t}\" (id int PRIMARY KEY, \"{t}\" int);
             INSERT INTO \"{t}\" VALUES (1, 1), (2, 2);",
            t = HOSTILE.replace('"', "\"\"")
        ),
    )
    .await;
    let page = scratch("copy.html");
    let _ = std::fs::remove_file(&page);
    let (s, t) = (pg.expose(), my.expose());
    let run = ferry(&[
        "copy",
        "--source",
        &s,
        "--target",
        &t,
        "--quiet",
        "--verify",
        "--format",
        "json",
        "--report",
        page.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "{}", run.all_output());
    let printed: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let html = std::fs::read_to_string(&page).unwrap();
    let data = data_of(&html);
    assert_eq!(
        data["summary"], printed,
        "the report's data is the --format json document"
    );
    assert_eq!(data["command"], "copy");
    assert!(!html.contains(HOSTILE), "an identifier became markup");
    assert!(
        html.contains("&lt;b&gt;&quot;x&quot;&amp;'y'&lt;/b&gt;"),
        "escaped name missing"
    );
    if let Some(pw) = pg.password().filter(|p| !p.is_empty()) {
        assert!(!html.contains(pw), "a password reached the report");
    }
    for v in printed["verified"].as_array().unwrap() {
        let map = v["chunk_map"].as_str().unwrap_or_default();
        assert!(!map.is_empty() && map.chars().all(|c| c == '.'), "{v}");
    }
    assert!(
        html.contains("class=\"chunks\""),
        "no chunk map for copy --verify"
    );
    let timeline = data["timeline"].as_array().unwrap();
    assert!(
        timeline.iter().any(
            |e| e["event"]["event"] == "rows_written" && e["event"]["bytes"].as_u64() > Some(0)
        ),
        "rows_written without bytes"
    );
    assert!(
        timeline
            .iter()
            .any(|e| e["event"]["event"] == "range_finished"),
        "no ranges in the timeline"
    );

    // Drawn again from the state store: the same data.
    let run_id = printed["run"]["run_id"].as_str().unwrap().to_string();
    let again = scratch("copy-again.html");
    let r = ferry(&["report", &run_id, "--output", again.to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.all_output());
    let again = data_of(&std::fs::read_to_string(&again).unwrap());
    assert_eq!(again, data);
    let missing = ferry(&["report", "no-such-run"]);
    assert_eq!(missing.code, 2);
    assert!(
        missing.stderr.contains("has no report"),
        "{}",
        missing.stderr
    );
}

#[tokio::test]
async fn a_browser_shows_the_differences_of_a_verify_report() {
    let (pg, my) = (pg_database().await, mysql_database().await);
    pg_exec(
        &pg,
        "CREATE TABLE accounts (id int PRIMARY KEY, owner text, balance numeric(12,2));
         INSERT INTO accounts SELECT g, 'owner ' || g, g * 10 FROM generate_series(1, 20000) g;",
    )
    .await;
    let (s, t) = (pg.expose(), my.expose());
    let run = ferry(&["copy", "--source", &s, "--target", &t, "--quiet"]);
    assert_eq!(run.code, 0, "{}", run.all_output());
    mysql_exec(
        &my,
        "UPDATE accounts SET balance = 0 WHERE id = 4242;
         DELETE FROM accounts WHERE id = 17001;
         INSERT INTO accounts VALUES (99999, 'intruder', 1);",
    )
    .await;
    let page = scratch("verify.html");
    let json = ferry(&[
        "verify",
        "--source",
        &s,
        "--target",
        &t,
        "--format",
        "json",
        "--chunk-rows",
        "500",
        "--report",
        page.to_str().unwrap(),
    ]);
    assert_eq!(json.code, 1, "{}", json.all_output());
    let printed: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let html = std::fs::read_to_string(&page).unwrap();
    assert_eq!(
        without_timing(data_of(&html)["summary"].clone()),
        without_timing(printed.clone())
    );
    let map = printed["tables"][0]["chunk_map"].as_str().unwrap();
    assert_eq!(map.chars().filter(|&c| c != '.').count(), 3, "{map}");

    let Some(browser) = chromium() else { return };
    let (dom, log) = open_in_browser(&browser, &page);
    for key in ["id=4242", "id=17001", "id=99999"] {
        assert!(dom.contains(key), "{key} not shown:\n{dom}");
    }
    assert!(dom.contains("3 differences"), "total not shown");
    assert!(dom.contains("balance"), "differing column not shown");
    assert_eq!(
        dom.matches("class=\"c-diff\"").count(),
        1,
        "one chunk with a changed value"
    );
    let errors: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("CONSOLE") || l.contains("Uncaught"))
        .collect();
    assert!(errors.is_empty(), "console: {errors:?}");
}

/// 100 tables, 1M rows: the report stays small enough to attach to a
/// ticket, and a browser opens it.
#[tokio::test]
async fn the_report_of_a_hundred_tables_and_a_million_rows_stays_small() {
    let (pg, target) = (pg_database().await, pg_database().await);
    let mut sql = String::new();
    for i in 0..100 {
        sql.push_str(&format!(
            "CREATE TABLE t{i:03} (id int PRIMARY KEY, v text);
             INSERT INTO t{i:03} SELECT g, md5(g::text) FROM generate_series(1, 10000) g;"
        ));
    }
    pg_exec(&pg, &sql).await;
    let page = scratch("hundred.html");
    let (s, t) = (pg.expose(), target.expose());
    let run = ferry(&[
        "copy",
        "--source",
        &s,
        "--target",
        &t,
        "--quiet",
        "--report",
        page.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "{}", run.all_output());
    let bytes = std::fs::metadata(&page).unwrap().len();
    eprintln!("report of 100 tables, 1M rows: {bytes} bytes");
    assert!(bytes < 1_500_000, "report is {bytes} bytes");
    let data = data_of(&std::fs::read_to_string(&page).unwrap());
    assert_eq!(data["summary"]["rows_written"], 1_000_000);
    let Some(browser) = chromium() else { return };
    let started = std::time::Instant::now();
    let (dom, _) = open_in_browser(&browser, &page);
    eprintln!(
        "chromium rendered it in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert!(dom.contains("t099"), "last table not shown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_report_carries_the_sync_summary() {
    let (src, dst) = (pg_database().await, pg_database().await);
    pg_exec(
        &src,
        "CREATE TABLE t (id int PRIMARY KEY, v int);
         INSERT INTO t SELECT g, g FROM generate_series(1, 100) g;",
    )
    .await;
    let slot = format!("ferry_report_{}", std::process::id());
    let (s, t) = (src.expose(), dst.expose());
    let copy = ferry(&[
        "copy",
        "--source",
        &s,
        "--target",
        &t,
        "--quiet",
        "--cdc-slot",
        &slot,
    ]);
    assert_eq!(copy.code, 0, "{}", copy.all_output());
    pg_exec(
        &src,
        "UPDATE t SET v = v + 1 WHERE id <= 10; DELETE FROM t WHERE id = 99;",
    )
    .await;
    let page = scratch("sync.html");
    let run = ferry(&[
        "sync",
        "--source",
        &s,
        "--target",
        &t,
        "--slot",
        &slot,
        "--until",
        "now",
        "--format",
        "json",
        "--report",
        page.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "{}", run.all_output());
    let last: serde_json::Value = serde_json::from_str(run.stdout.lines().last().unwrap()).unwrap();
    let html = std::fs::read_to_string(&page).unwrap();
    let data = data_of(&html);
    assert_eq!(
        without_timing(data["summary"].clone()),
        without_timing(last.clone())
    );
    assert_eq!(data["summary"]["report"]["changes"], 11);
    assert!(html.contains("<h2>Sync</h2>"), "no sync section");
}
