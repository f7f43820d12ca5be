//! A schema corpus: schemas the way applications create them, not fixtures
//! written around what ferry already does. Django's contrib apps migrated by
//! Django itself onto PostgreSQL and onto MariaDB, a pagila-like PostgreSQL
//! schema and a sakila-like MySQL one (`tests/corpus/`).
//!
//! Each schema is loaded into a fresh database and taken to the other engine
//! and back: per hop `ferry plan --format json`, then, when the plan is
//! clean, `ferry copy` and `ferry verify`, then the two servers' own catalogs
//! (never ferry's model) list the tables and count their rows. The whole
//! journey is written down as text and compared with
//! `tests/corpus/expected/<schema>.txt` (`FERRY_BLESS=1` rewrites it).
//!
//! The expected files pin today's outcome, failures included, each with its
//! one-line reason; a fix shows up as a re-blessed file. Nothing here asserts
//! that a step succeeds, only that it does what is pinned, so a copy that
//! exits 0 but verifies unequal, or a table whose rows doubled, is written
//! down visibly (`DIFFERS`) rather than hidden.
//!
//! The hand-written schemas carry spatial columns: every PostgreSQL database
//! of their journeys gets PostGIS (`CREATE EXTENSION`), which
//! `scripts/ensure-servers.sh` installs; without it they fail, not skip.
//!
//! Django is installed with pip (`scripts/ensure-servers.sh`). Where it is
//! missing the Django cases are skipped with a message, except under CI
//! (`CI=true`), where a missing package fails them so CI cannot skip quietly.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use ferry_core::DbUrl;
use ferry_testkit::{mysql_database, mysql_exec, mysql_rows, pg_database, pg_exec, pg_rows};

use crate::util::{ferry, Run};

/// The two engines the corpus runs on, as the test kit starts them.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Side {
    Pg,
    My,
}

impl Side {
    fn other(self) -> Side {
        match self {
            Side::Pg => Side::My,
            Side::My => Side::Pg,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Side::Pg => "postgres",
            Side::My => "mysql",
        }
    }

    /// A fresh database; on PostgreSQL with `extensions` created in it, as
    /// a DBA prepares a target for a schema that needs them.
    async fn fresh(self, extensions: &[&str]) -> DbUrl {
        match self {
            Side::Pg => {
                let url = pg_database().await;
                for e in extensions {
                    pg_exec(&url, &format!("CREATE EXTENSION IF NOT EXISTS {e}")).await;
                }
                url
            }
            Side::My => mysql_database().await,
        }
    }

    async fn rows(self, url: &DbUrl, sql: &str) -> Vec<Vec<Option<String>>> {
        match self {
            Side::Pg => pg_rows(url, sql).await,
            Side::My => mysql_rows(url, sql).await,
        }
    }

    /// Base tables, their row counts and a note on how PostgreSQL relates
    /// them, from the server's own catalog. PostgreSQL counts `FROM ONLY` so
    /// an inheritance parent shows its own rows, not its children's; a
    /// partitioned parent has no rows of its own and shows its partitions'.
    async fn tables(self, url: &DbUrl) -> Vec<Table> {
        let names = match self {
            Side::Pg => {
                self.rows(
                    url,
                    "SELECT c.relname, c.relkind::text, c.relispartition::text, \
                       (SELECT i.inhparent::regclass::text FROM pg_inherits i WHERE i.inhrelid = c.oid) \
                     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                     WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') \
                       AND NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = 'pg_class'::regclass \
                         AND e.objid = c.oid AND e.deptype = 'e') ORDER BY 1",
                )
                .await
            }
            Side::My => {
                self.rows(
                    url,
                    "SELECT table_name, 'r', 'false', NULL FROM information_schema.tables \
                     WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE' ORDER BY 1",
                )
                .await
            }
        };
        let mut out = Vec::new();
        for row in names {
            let (name, kind) = (cell(&row[0]), cell(&row[1]));
            let count_sql = match (self, kind.as_str()) {
                (Side::Pg, "p") => format!("SELECT count(*) FROM public.\"{name}\""),
                (Side::Pg, _) => format!("SELECT count(*) FROM ONLY public.\"{name}\""),
                (Side::My, _) => format!("SELECT COUNT(*) FROM `{name}`"),
            };
            let rows = cell(&self.rows(url, &count_sql).await[0][0]);
            let partition = row[2].as_deref() == Some("true");
            let note = match (&row[3], partition) {
                (Some(parent), true) => Some(format!("partition of {parent}")),
                (Some(parent), false) => Some(format!("inherits from {parent}")),
                (None, _) if kind == "p" => Some("partitioned".to_string()),
                (None, _) => None,
            };
            out.push(Table {
                name,
                rows,
                note,
                partition,
            });
        }
        out
    }

    /// Schema objects other than tables (views, routines, triggers, types,
    /// sequences no column owns), from the server's own catalog; an
    /// extension's own objects (PostGIS's functions and views) are the
    /// extension's, not the schema's.
    async fn objects(self, url: &DbUrl) -> Vec<String> {
        let sql = match self {
            Side::Pg => {
                "SELECT CASE c.relkind WHEN 'v' THEN 'view ' WHEN 'm' THEN 'materialized view ' \
                   ELSE 'unowned sequence ' END || c.relname FROM pg_class c \
                 WHERE c.relnamespace = 'public'::regnamespace AND (c.relkind IN ('v', 'm') \
                   OR (c.relkind = 'S' AND NOT EXISTS (SELECT 1 FROM pg_depend d \
                     WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype IN ('a', 'i')))) \
                   AND NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = 'pg_class'::regclass \
                     AND e.objid = c.oid AND e.deptype = 'e') \
                 UNION ALL SELECT 'function ' || proname FROM pg_proc p \
                   WHERE pronamespace = 'public'::regnamespace AND NOT EXISTS (SELECT 1 FROM pg_depend e \
                     WHERE e.classid = 'pg_proc'::regclass AND e.objid = p.oid AND e.deptype = 'e') \
                 UNION ALL SELECT 'trigger ' || c.relname || '.' || tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid \
                   WHERE NOT t.tgisinternal AND c.relnamespace = 'public'::regnamespace \
                 UNION ALL SELECT CASE typtype WHEN 'e' THEN 'enum ' ELSE 'domain ' END || typname \
                   FROM pg_type WHERE typnamespace = 'public'::regnamespace AND typtype IN ('e', 'd') \
                 ORDER BY 1"
            }
            Side::My => {
                "SELECT CONCAT('view ', table_name) FROM information_schema.views \
                   WHERE table_schema = DATABASE() \
                 UNION ALL SELECT CONCAT(LOWER(routine_type), ' ', routine_name) \
                   FROM information_schema.routines WHERE routine_schema = DATABASE() \
                 UNION ALL SELECT CONCAT('trigger ', event_object_table, '.', trigger_name) FROM information_schema.triggers \
                   WHERE trigger_schema = DATABASE() \
                 ORDER BY 1"
            }
        };
        self.rows(url, sql)
            .await
            .iter()
            .map(|r| cell(&r[0]))
            .collect()
    }

    async fn load_sql(self, url: &DbUrl, sql: &str) {
        match self {
            Side::Pg => pg_exec(url, sql).await,
            Side::My => mysql_exec(url, sql).await,
        }
    }
}

/// A base table as its server's catalog lists it.
struct Table {
    name: String,
    rows: String,
    /// How the table relates to others (partitioned, partition of, inherits).
    note: Option<String>,
    /// A partition's rows are copied through its parent, never by itself.
    partition: bool,
}

fn cell(v: &Option<String>) -> String {
    v.clone().unwrap_or_else(|| "NULL".into())
}

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

/// Compares the journey with its pinned file, as `crate::cli::snapshot` does
/// for `tests/snapshots/`.
fn pinned(name: &str, actual: &str) {
    let path = corpus_dir().join("expected").join(format!("{name}.txt"));
    if std::env::var_os("FERRY_BLESS").is_some() {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("missing {} (run with FERRY_BLESS=1)", path.display()));
    if expected != actual {
        // The whole texts are long; the first line that differs says what changed.
        let first = expected
            .lines()
            .zip(actual.lines())
            .position(|(e, a)| e != a)
            .unwrap_or(expected.lines().count().min(actual.lines().count()));
        let line = |t: &str| t.lines().nth(first).unwrap_or("<end>").to_string();
        panic!(
            "corpus outcome {name} differs (FERRY_BLESS=1 to accept) at line {}:\n  pinned: {}\n  now:    {}\n\nnow in full:\n{actual}",
            first + 1,
            line(&expected),
            line(actual)
        );
    }
}

/// Takes run-specific text out of ferry's output: URLs, random database
/// names, ports, users, passwords, temporary paths.
fn scrub(text: &str, urls: &[&DbUrl]) -> String {
    let mut out = text.to_string();
    for url in urls {
        out = out.replace(&url.expose(), "<url>");
        out = out.replace(&url.to_string(), "<url>");
        out = out.replace(&url.database, "<db>");
        if let Some(p) = url.password().filter(|p| !p.is_empty()) {
            out = out.replace(p, "<password>");
        }
        out = out.replace(&format!(":{}", url.port), ":<port>");
        out = out.replace(&format!("port {}", url.port), "port <port>");
    }
    let tmp = std::env::temp_dir();
    out = out.replace(tmp.to_str().unwrap_or("/tmp"), "<tmp>");
    shorten_statements(&scrub_proof_names(&out))
}

/// ferry quotes a refused statement cut to a fixed length, and where it is
/// cut depends on the scratch database's name; only the statement's head
/// (`CREATE TABLE <db>.<table>`) is kept, the cut column list becomes `(…)`.
fn shorten_statements(text: &str) -> String {
    const REFUSED: &str = "the target refused ";
    let Some(at) = text.find(REFUSED) else {
        return text.to_string();
    };
    let head = at + REFUSED.len();
    let rest = &text[head..];
    match (rest.find(" ("), rest.find('…')) {
        (Some(open), Some(cut)) if open < cut => format!(
            "{} (…){}",
            &text[..head + open],
            &rest[cut + '…'.len_utf8()..]
        ),
        _ => text.to_string(),
    }
}

/// `ferry plan` proves its DDL in a scratch database named
/// `ferry_prove_<pid>_<nonce>`; the name changes every run.
fn scrub_proof_names(text: &str) -> String {
    const PREFIX: &str = "ferry_prove_";
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find(PREFIX) {
        out.push_str(&rest[..at + PREFIX.len()]);
        rest = &rest[at + PREFIX.len()..];
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        out.push_str("<n>");
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// The lines of a failed step worth pinning: what ferry printed on stderr,
/// without progress or log noise, scrubbed.
fn error_lines(run: &Run, urls: &[&DbUrl]) -> Vec<String> {
    run.stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| scrub(l, urls))
        .collect()
}

/// What one hop did.
struct Hop {
    /// The copy ran and exited 0.
    copied: bool,
    /// Tables the plan's blocking reasons name (`table <name>: …`).
    blocked: Vec<String>,
}

/// One hop: plan, then copy and verify when the plan is clean, then the
/// catalogs side by side. `exclude` leaves out tables an earlier plan of the
/// same hop blocked on, so the rest of the schema is still exercised.
async fn hop(
    out: &mut String,
    from: Side,
    source: &DbUrl,
    target: &DbUrl,
    exclude: &[String],
) -> Hop {
    let urls = [source, target];
    let (s, t) = (source.expose(), target.expose());
    write!(out, "\n## {} -> {}", from.name(), from.other().name()).unwrap();
    if exclude.is_empty() {
        writeln!(out).unwrap();
    } else {
        writeln!(out, ", without {} (blocked above)", exclude.join(", ")).unwrap();
    }
    let excluded = exclude.join(",");
    let with_exclude = |args: &[&'static str]| {
        let mut all: Vec<&str> = args.to_vec();
        all.splice(1..1, ["--source", s.as_str(), "--target", t.as_str()]);
        if !exclude.is_empty() {
            all.extend(["--exclude", excluded.as_str()]);
        }
        ferry(&all)
    };

    let run = with_exclude(&["plan", "--format", "json"]);
    let mut blocked = Vec::new();
    let clean = match serde_json::from_str::<serde_json::Value>(&run.stdout) {
        Ok(doc) => {
            let clean = doc["clean"] == true;
            let verdict = if clean { "clean" } else { "not clean" };
            writeln!(out, "plan: exit {}, {verdict}", run.code).unwrap();
            for b in doc["blocking"].as_array().into_iter().flatten() {
                let b = b.as_str().map(str::to_string).unwrap_or(b.to_string());
                if let Some((table, _)) = b.strip_prefix("table ").and_then(|r| r.split_once(':')) {
                    let name = table.rsplit('.').next().unwrap_or(table).to_string();
                    if !blocked.contains(&name) {
                        blocked.push(name);
                    }
                }
                writeln!(out, "  blocking: {}", scrub(&b, &urls)).unwrap();
            }
            for table in doc["tables"].as_array().into_iter().flatten() {
                let name = table["source"]["name"].as_str().unwrap_or("?");
                for (kind, key) in [("error", "errors"), ("warning", "warnings")] {
                    let mut notes: Vec<String> = table[key]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|w| w.as_str().map(str::to_string).unwrap_or(w.to_string()))
                        .map(|w| scrub(&w, &urls))
                        .collect();
                    notes.sort();
                    for n in notes {
                        writeln!(out, "  {kind} {name}: {n}").unwrap();
                    }
                }
            }
            clean
        }
        Err(_) => {
            writeln!(out, "plan: exit {}", run.code).unwrap();
            for l in error_lines(&run, &urls) {
                writeln!(out, "  {l}").unwrap();
            }
            false
        }
    };

    let copied = if clean {
        let run = with_exclude(&["copy", "--quiet"]);
        writeln!(out, "copy: exit {}", run.code).unwrap();
        for l in error_lines(&run, &urls) {
            writeln!(out, "  {l}").unwrap();
        }
        run.code == 0
    } else {
        writeln!(out, "copy: not run (plan not clean)").unwrap();
        false
    };

    if copied {
        verify(out, source, target, exclude);
        catalogs(out, from, source, target, exclude).await;
    } else {
        let tables = from.tables(source).await;
        let rows: Vec<String> = tables
            .iter()
            .map(|t| format!("{} {}", t.name, t.rows))
            .collect();
        writeln!(out, "source tables (rows): {}", list(&rows)).unwrap();
        let objects = from.objects(source).await;
        writeln!(out, "other objects, source: {}", list(&objects)).unwrap();
    }
    Hop { copied, blocked }
}

fn verify(out: &mut String, source: &DbUrl, target: &DbUrl, exclude: &[String]) {
    let urls = [source, target];
    let (s, t, excluded) = (source.expose(), target.expose(), exclude.join(","));
    let mut args = vec!["verify", "--source", &s, "--target", &t, "--format", "json"];
    if !exclude.is_empty() {
        args.extend(["--exclude", excluded.as_str()]);
    }
    let run = ferry(&args);
    match serde_json::from_str::<serde_json::Value>(&run.stdout) {
        Ok(doc) => {
            let equal = if doc["equal"] == true {
                "equal"
            } else {
                "NOT EQUAL"
            };
            writeln!(
                out,
                "verify: exit {}, {equal}, {} differences",
                run.code, doc["differences"]
            )
            .unwrap();
        }
        Err(_) => writeln!(out, "verify: exit {}", run.code).unwrap(),
    }
    for l in error_lines(&run, &urls) {
        writeln!(out, "  {l}").unwrap();
    }
}

/// Tables with row counts and the other schema objects of both sides, merged
/// by name; a count that differs or a table on one side only is marked.
async fn catalogs(
    out: &mut String,
    from: Side,
    source: &DbUrl,
    target: &DbUrl,
    exclude: &[String],
) {
    let to = from.other();
    let (src, tgt) = (from.tables(source).await, to.tables(target).await);
    let mut names: Vec<&String> = src.iter().chain(&tgt).map(|t| &t.name).collect();
    names.sort();
    names.dedup();
    writeln!(out, "tables (rows source -> target):").unwrap();
    let find = |list: &[Table], n: &str| {
        list.iter()
            .find(|t| t.name == n)
            .map(|t| (t.rows.clone(), t.note.clone(), t.partition))
    };
    for n in names {
        let (a, b) = (find(&src, n), find(&tgt, n));
        let partition = a.as_ref().is_some_and(|a| a.2) && b.is_none();
        let note = a.as_ref().and_then(|a| a.1.clone());
        let (a, b) = (a.map(|a| a.0), b.map(|b| b.0));
        let mark = if exclude.contains(n) {
            "  (excluded)"
        } else if a == b || partition {
            ""
        } else {
            "  DIFFERS"
        };
        let show = |c: Option<String>| c.unwrap_or_else(|| "-".into());
        let note = note.map(|n| format!(" ({n})")).unwrap_or_default();
        writeln!(out, "  {n}{note}: {} -> {}{mark}", show(a), show(b)).unwrap();
    }
    let (src, tgt) = (from.objects(source).await, to.objects(target).await);
    writeln!(out, "other objects, source: {}", list(&src)).unwrap();
    writeln!(out, "other objects, target: {}", list(&tgt)).unwrap();
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "none".into()
    } else {
        items.join(", ")
    }
}

/// Runs the journey from a loaded origin database: there, back, and the
/// origin compared with what came back. `extensions` are created in every
/// PostgreSQL database of the journey.
async fn journey(name: &str, origin_side: Side, origin: DbUrl, extensions: &[&str]) {
    let mut out = format!("# corpus {name}, loaded into {}\n", origin_side.name());
    let there = origin_side.other().fresh(extensions).await;
    // A blocked table is left out and the hop planned again, a few times at
    // most: the target's DDL proof stops at the first table it refuses.
    let mut exclude: Vec<String> = Vec::new();
    let mut forward = hop(&mut out, origin_side, &origin, &there, &exclude).await;
    for _ in 0..4 {
        let fresh: Vec<String> = forward
            .blocked
            .iter()
            .filter(|t| !exclude.contains(t))
            .cloned()
            .collect();
        if forward.copied || fresh.is_empty() {
            break;
        }
        exclude.extend(fresh);
        forward = hop(&mut out, origin_side, &origin, &there, &exclude).await;
    }
    if forward.copied {
        let back = origin_side.fresh(extensions).await;
        if hop(&mut out, origin_side.other(), &there, &back, &[])
            .await
            .copied
        {
            writeln!(
                out,
                "\n## round trip: {} origin vs what came back",
                origin_side.name()
            )
            .unwrap();
            verify(&mut out, &origin, &back, &exclude);
        }
    }
    pinned(name, &out);
}

async fn sql_case(name: &str, side: Side, file: &str, extensions: &[&str]) {
    let url = side.fresh(extensions).await;
    let sql = std::fs::read_to_string(corpus_dir().join(file)).unwrap();
    side.load_sql(&url, &sql).await;
    journey(name, side, url, extensions).await;
}

/// Whether Django and both drivers import; `None` when they do, else why not.
fn django_missing() -> Option<String> {
    let probe = Command::new("python3")
        .args(["-c", "import django, psycopg, pymysql"])
        .output();
    match probe {
        Ok(o) if o.status.success() => None,
        // A traceback's last line names the module that is missing.
        Ok(o) => Some(
            String::from_utf8_lossy(&o.stderr)
                .lines()
                .last()
                .unwrap_or("import failed")
                .to_string(),
        ),
        Err(e) => Some(format!("python3: {e}")),
    }
}

async fn django_case(name: &str, side: Side) {
    if let Some(why) = django_missing() {
        let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
        assert!(
            !ci,
            "Django corpus needs django, psycopg and pymysql: {why}"
        );
        eprintln!("skipping corpus {name}: Django or a driver is missing ({why}); run scripts/ensure-servers.sh");
        return;
    }
    let url = side.fresh(&[]).await;
    let dir = corpus_dir().join("django");
    let load = tokio::task::spawn_blocking(move || {
        Command::new("python3")
            .arg("load.py")
            .current_dir(dir)
            .env("FERRY_CORPUS_URL", url.expose())
            .output()
            .map(|o| (o, url))
    })
    .await
    .unwrap();
    let (o, url) = load.expect("run python3");
    assert!(
        o.status.success(),
        "django migrate failed:\n{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    journey(name, side, url, &[]).await;
}

#[tokio::test]
async fn corpus_django_on_postgres() {
    django_case("django-postgres", Side::Pg).await;
}

#[tokio::test]
async fn corpus_django_on_mariadb() {
    django_case("django-mysql", Side::My).await;
}

#[tokio::test]
async fn corpus_pagila_like_postgres() {
    sql_case("pagila-like", Side::Pg, "pagila_like.sql", &["postgis"]).await;
}

#[tokio::test]
async fn corpus_sakila_like_mysql() {
    sql_case("sakila-like", Side::My, "sakila_like.sql", &["postgis"]).await;
}
