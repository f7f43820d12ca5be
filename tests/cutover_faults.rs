//! `ferry cutover` when things go wrong (issue 12): gates that refuse,
//! a difference on green, a budget overrun, ferry killed inside the freeze,
//! a hung switch hook; and the way back after green took writes.

use std::process::Stdio;
use std::time::{Duration, Instant};

use ferry_core::Engine;
use ferry_testkit::appsim::{route_to, Side};
use ferry_testkit::{exec, pg_client, rows};

use crate::cutover::{assert_clean, count, wait_for, Outcome, Scene};

/// Polls until blue's application account can write again.
async fn wait_writable(scene: &Scene, limit: Duration) -> bool {
    let until = Instant::now() + limit;
    while Instant::now() < until {
        if scene.blue_writable().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

/// `ferry cutover --execute` started in the background, killed with
/// SIGKILL once `signal` (a file a user step touches) appears.
fn execute_and_kill(scene: &Scene, signal: &std::path::Path) {
    let plan = scene.plan.display().to_string();
    let mut child = scene
        .command(&["--execute", &plan])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start ferry cutover");
    wait_for(signal, Duration::from_secs(60));
    child.kill().expect("kill -9");
    child.wait().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pg_to_pg_cutover_then_rollback_after_green_took_writes() {
    let scene = Scene::new(Engine::Postgres, Engine::Postgres, "").await;
    let sim = scene.sim(150.0);
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let out = scene.ferry(&["--execute"]);
    assert_eq!(out.code, 0, "{}", out.all());
    // Green takes writes for a while.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let dry = scene.ferry(&["rollback"]);
    assert_eq!(dry.code, 0, "rollback dry run:\n{}", dry.all());
    let back = scene.ferry(&["rollback", "--execute"]);
    assert_eq!(back.code, 0, "{}", back.all());
    assert_eq!(back.phase(), "done", "{}", back.all());
    assert_eq!(back.report["direction"], "rollback");
    tokio::time::sleep(Duration::from_millis(800)).await;
    let log = sim.stop().await;
    // Written on blue, then green, then blue again: everything is on blue.
    let green_era = log
        .ops
        .iter()
        .filter(|o| o.side == Side::Green && o.outcome == ferry_testkit::appsim::Outcome::Ok)
        .count();
    assert!(green_era > 50, "green took {green_era} writes");
    let bad = log.check(&scene.blue, None).await;
    assert!(
        bad.is_empty(),
        "{}\n{}\n{}",
        bad.join("\n"),
        out.all(),
        back.all()
    );
    assert!(
        back.report["window_ms"].as_f64().is_some(),
        "{}",
        back.all()
    );
    assert!(scene.blue_writable().await);
    // The way back's stream on green is consumed and dropped.
    let slots = rows(
        &scene.green,
        &format!(
            "SELECT slot_name FROM pg_replication_slots WHERE slot_name LIKE 'ferry_%_{}'",
            scene.name
        ),
    )
    .await;
    assert!(slots.is_empty(), "{slots:?}");
    scene.drop_slots().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_planted_difference_on_green_aborts_and_blue_is_writable_again() {
    let scene = Scene::new(Engine::Postgres, Engine::MySql, "").await;
    exec(
        &scene.green,
        "INSERT INTO items (id, tag, val) VALUES (999999, 'planted', 0)",
    )
    .await;
    let sim = scene.sim(100.0);
    tokio::time::sleep(Duration::from_millis(800)).await;
    let out = scene.ferry(&["--execute"]);
    tokio::time::sleep(Duration::from_millis(800)).await;
    let log = sim.stop().await;
    assert_eq!(out.code, 4, "{}", out.all());
    assert_eq!(out.phase(), "aborted");
    let reason = out.report["abort_reason"].as_str().unwrap_or("");
    assert!(reason.contains("differences"), "{reason}");
    assert!(
        out.report["differences"].to_string().contains("999999"),
        "{}",
        out.report["differences"]
    );
    assert!(out.report["undone"].to_string().contains("fence lifted"));
    assert!(scene.blue_writable().await);
    assert_eq!(std::fs::read_to_string(&scene.route).unwrap(), "blue");
    // The application wrote on after the abort, on blue.
    let abort_ms = out.report["fence_effective_at_ms"].as_f64().unwrap();
    assert!(log.last_ack(Side::Blue).unwrap() > abort_ms + 100.0);
    let bad = log.check(&scene.blue, None).await;
    assert!(bad.is_empty(), "{}", bad.join("\n"));
    scene.drop_slots().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_budget_running_out_aborts_before_the_switch() {
    let scene = Scene::new(
        Engine::Postgres,
        Engine::Postgres,
        r#"[[steps]]
at = "fenced"
name = "slow-migration"
run = ["sleep", "10"]
"#,
    )
    .await;
    scene.set_plan("budget = \"30s\"", "budget = \"3s\"");
    let sim = scene.sim(100.0);
    tokio::time::sleep(Duration::from_millis(600)).await;
    let started = Instant::now();
    let out = scene.ferry(&["--execute"]);
    let log = sim.stop().await;
    assert_eq!(out.code, 4, "{}", out.all());
    scene.drop_slots().await;
    assert!(started.elapsed() < Duration::from_secs(20));
    assert!(
        out.report["abort_reason"]
            .as_str()
            .unwrap_or("")
            .contains("slow-migration"),
        "{}",
        out.all()
    );
    assert_eq!(out.phase(), "aborted");
    assert!(!out.report["steps"].to_string().contains("\"switch\""));
    assert!(scene.blue_writable().await);
    assert_eq!(std::fs::read_to_string(&scene.route).unwrap(), "blue");
    let bad = log.check(&scene.blue, None).await;
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

/// ferry killed while FENCED: the guardian lifts the fence at the
/// deadline; `resume` finds the attempt aborted; a new attempt completes.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn killed_in_fenced_the_guardian_lifts_the_fence_and_a_new_attempt_completes() {
    let scene = Scene::new(Engine::Postgres, Engine::Postgres, "").await;
    let signal = scene.dir.path().join("in-fenced");
    let step = format!(
        "[[steps]]\nat = \"fenced\"\nname = \"hold\"\nrun = [\"sh\", \"-c\", \"touch {}; sleep 20\"]\n",
        signal.display()
    );
    let text = std::fs::read_to_string(&scene.plan).unwrap();
    std::fs::write(&scene.plan, format!("{text}\n{step}")).unwrap();
    scene.set_plan("budget = \"30s\"", "budget = \"3s\"");
    let sim = scene.sim(100.0);
    tokio::time::sleep(Duration::from_millis(600)).await;
    execute_and_kill(&scene, &signal);
    assert!(
        !scene.blue_writable().await,
        "blue is fenced while ferry is dead"
    );
    assert!(
        wait_writable(&scene, Duration::from_secs(10)).await,
        "the guardian lifts the fence"
    );
    let status = scene.ferry(&["status"]);
    assert_eq!(status.phase(), "aborted", "{}", status.all());
    assert_eq!(status.report["aborted_by"], "guardian", "{}", status.all());
    let resumed = scene.ferry(&["resume"]);
    assert_eq!(resumed.code, 4, "{}", resumed.all());
    // Without the step (and with a budget a loaded machine's verify fits
    // in), a second attempt goes through.
    let text = std::fs::read_to_string(&scene.plan).unwrap();
    std::fs::write(&scene.plan, text.replace(&step, "")).unwrap();
    scene.set_plan("budget = \"3s\"", "budget = \"30s\"");
    let out = scene.ferry(&["--execute"]);
    tokio::time::sleep(Duration::from_millis(800)).await;
    let log = sim.stop().await;
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(out.report["attempt"], 2);
    assert_clean(&log, &scene.green, &out).await;
    scene.drop_slots().await;
}

/// ferry killed while DRAINED, resumed within the budget: it repeats the
/// step it was in and completes.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn killed_in_drained_and_resumed_within_the_budget_completes() {
    let scene = Scene::new(Engine::Postgres, Engine::Postgres, "").await;
    let signal = scene.dir.path().join("in-drained");
    let once = scene.dir.path().join("once");
    let text = std::fs::read_to_string(&scene.plan).unwrap();
    std::fs::write(
        &scene.plan,
        format!(
            "{text}\n[[steps]]\nat = \"drained\"\nname = \"hold\"\nrun = [\"sh\", \"-c\", \"[ -e {o} ] && exit 0; touch {o} {s}; sleep 20\"]\n",
            o = once.display(),
            s = signal.display()
        ),
    )
    .unwrap();
    let sim = scene.sim(100.0);
    tokio::time::sleep(Duration::from_millis(600)).await;
    execute_and_kill(&scene, &signal);
    let status = scene.ferry(&["status"]);
    assert_eq!(status.phase(), "drained", "{}", status.all());
    assert!(!scene.blue_writable().await);
    let out = scene.ferry(&["resume"]);
    tokio::time::sleep(Duration::from_millis(800)).await;
    let log = sim.stop().await;
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(out.phase(), "done");
    assert_clean(&log, &scene.green, &out).await;
    scene.drop_slots().await;
}

/// ferry killed while VERIFIED with no guardian (as after a host crash):
/// blue stays fenced until `resume`, which finds the budget spent and
/// lifts the fence.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn killed_in_verified_without_a_guardian_resume_lifts_the_fence_after_the_deadline() {
    let scene = Scene::new(Engine::Postgres, Engine::MySql, "").await;
    let signal = scene.dir.path().join("in-verified");
    let text = std::fs::read_to_string(&scene.plan).unwrap();
    std::fs::write(
        &scene.plan,
        format!(
            "{text}\n[[steps]]\nat = \"verified\"\nname = \"hold\"\nrun = [\"sh\", \"-c\", \"touch {}; sleep 20\"]\n",
            signal.display()
        ),
    )
    .unwrap();
    scene.set_plan("budget = \"30s\"", "budget = \"2s\"\nguardian = false");
    execute_and_kill(&scene, &signal);
    let status = scene.ferry(&["status"]);
    assert_eq!(status.phase(), "verified", "{}", status.all());
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(!scene.blue_writable().await, "no guardian: still fenced");
    let out = scene.ferry(&["resume"]);
    assert_eq!(out.code, 4, "{}", out.all());
    assert!(
        out.report["abort_reason"]
            .as_str()
            .unwrap_or("")
            .contains("budget"),
        "{}",
        out.all()
    );
    assert!(scene.blue_writable().await);
    scene.drop_slots().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hung_switch_hook_is_switch_unknown_until_confirmed() {
    let scene = Scene::new(
        Engine::Postgres,
        Engine::MySql,
        "[switch]\ncommand = [\"sleep\", \"30\"]\ntimeout = \"1s\"\n",
    )
    .await;
    let sim = scene.sim(100.0);
    tokio::time::sleep(Duration::from_millis(600)).await;
    let out = scene.ferry(&["--execute"]);
    assert_eq!(out.code, 5, "{}", out.all());
    assert_eq!(out.phase(), "switch_unknown");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !scene.blue_writable().await,
        "blue stays fenced: ferry never guesses"
    );
    // The operator finds the application was not moved, moves it, confirms.
    route_to(&scene.route, "green");
    let done = scene.ferry(&["confirm", "green"]);
    tokio::time::sleep(Duration::from_millis(800)).await;
    let log = sim.stop().await;
    assert_eq!(done.code, 0, "{}", done.all());
    assert_eq!(done.phase(), "done");
    assert_clean(&log, &scene.green, &done).await;
    scene.drop_slots().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_long_transaction_on_blue_is_a_no_go() {
    let scene = Scene::new(Engine::Postgres, Engine::MySql, "").await;
    scene.set_plan(
        "timeout = \"60s\"",
        "timeout = \"60s\"\nmax_txn_age = \"1s\"",
    );
    let held = pg_client(&scene.blue).await;
    held.batch_execute("BEGIN; SELECT count(*) FROM items")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let dry = scene.ferry(&[]);
    assert_eq!(dry.code, 3, "{}", dry.all());
    let checks = dry.report["checks"].to_string();
    assert!(checks.contains("long transactions"), "{checks}");
    let out = scene.ferry(&["--execute"]);
    assert_eq!(out.code, 3, "{}", out.all());
    assert_eq!(out.phase(), "preflight");
    assert!(scene.blue_writable().await);
    drop(held);
    // An application role the fence would not stop is a NO-GO too.
    exec(
        &scene.blue,
        &format!("ALTER ROLE \"{}\" SUPERUSER", scene.blue_app.user),
    )
    .await;
    let dry = scene.ferry(&[]);
    exec(
        &scene.blue,
        &format!("ALTER ROLE \"{}\" NOSUPERUSER", scene.blue_app.user),
    )
    .await;
    assert_eq!(dry.code, 3, "{}", dry.all());
    assert!(
        dry.report["checks"].to_string().contains("is a superuser"),
        "{}",
        dry.all()
    );
    scene.drop_slots().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_lag_gate_that_never_opens_fences_nothing() {
    let scene = Scene::new(Engine::Postgres, Engine::Postgres, "").await;
    scene.set_plan("timeout = \"60s\"", "timeout = \"3s\"");
    // The sync cannot apply to green while this lock is held.
    let lock = pg_client(&scene.green).await;
    lock.batch_execute("BEGIN; LOCK TABLE items IN ACCESS EXCLUSIVE MODE")
        .await
        .unwrap();
    let sim = scene.sim(100.0);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let out = scene.ferry(&["--execute"]);
    let log = sim.stop().await;
    drop(lock);
    assert_eq!(out.code, 3, "{}", out.all());
    assert_eq!(out.phase(), "ready");
    assert!(out.report["fence_started_at_ms"].is_null());
    let gates = out.report["gates"].to_string();
    assert!(gates.contains("sync lag"), "{gates}");
    assert!(scene.blue_writable().await);
    let refused = log
        .ops
        .iter()
        .filter(|o| o.outcome != ferry_testkit::appsim::Outcome::Ok)
        .count();
    assert_eq!(refused, 0, "the application never noticed");
    scene.drop_slots().await;
}

/// An idle source drains through the marker; a schema tool's version
/// table is baselined on green by a user step and compared before the
/// switch; a post-cutover check runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_idle_source_still_drains_through_the_marker() {
    let scene = Scene::new(
        Engine::Postgres,
        Engine::Postgres,
        r#"[[steps]]
at = "verified"
name = "baseline-green"
sql = "INSERT INTO schema_version VALUES ('2')"
side = "green"

[[versions]]
query = "SELECT v FROM schema_version ORDER BY v"

[[post_checks]]
name = "error rate"
run = ["echo", "0.25"]
max = 1.0
"#,
    )
    .await;
    exec(
        &scene.blue,
        "CREATE TABLE schema_version (v text); INSERT INTO schema_version VALUES ('2')",
    )
    .await;
    exec(&scene.green, "CREATE TABLE schema_version (v text)").await;
    scene.set_plan(
        "first_write_timeout = \"20s\"",
        "first_write_timeout = \"1s\"",
    );
    let out = scene.ferry(&["--execute"]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(out.phase(), "done");
    let drain = out.report["breakdown"][0].clone();
    assert_eq!(drain["step"], "drain");
    assert!(drain["ms"].as_i64().unwrap() < 5000, "{drain}");
    assert!(out.report["notes"].to_string().contains("open-ended"));
    let gates = out.report["gates"].to_string();
    assert!(
        gates.contains("versions") && gates.contains("error rate"),
        "{gates}"
    );
    let marker = count(&scene.green, "SELECT count(*) FROM ferry_cutover_marker").await;
    assert_eq!(marker, 1);
    scene.drop_slots().await;
}

/// A version table green lacks stops the cutover before the switch.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn schema_tool_versions_that_differ_abort_before_the_switch() {
    let scene = Scene::new(
        Engine::Postgres,
        Engine::MySql,
        "[[versions]]\nquery = \"SELECT v FROM schema_version\"\n",
    )
    .await;
    exec(
        &scene.blue,
        "CREATE TABLE schema_version (v text); INSERT INTO schema_version VALUES ('2')",
    )
    .await;
    exec(&scene.green, "CREATE TABLE schema_version (v text)").await;
    let out = scene.ferry(&["--execute"]);
    assert_eq!(out.code, 4, "{}", out.all());
    assert!(
        out.report["abort_reason"]
            .as_str()
            .unwrap_or("")
            .contains("versions"),
        "{}",
        out.all()
    );
    assert!(scene.blue_writable().await);
    scene.drop_slots().await;
}

/// A postpone file holds the cutover in READY with the sync running
/// until `ferry cutover go`.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_postpone_file_holds_in_ready_until_go() {
    let scene = Scene::new(Engine::Postgres, Engine::Postgres, "").await;
    let postpone = scene.dir.path().join("postpone");
    std::fs::write(&postpone, "").unwrap();
    let text = std::fs::read_to_string(&scene.plan).unwrap();
    std::fs::write(
        &scene.plan,
        format!(
            "{text}\n[control]\npostpone_file = \"{}\"\n",
            postpone.display()
        ),
    )
    .unwrap();
    scene.set_plan(
        "first_write_timeout = \"20s\"",
        "first_write_timeout = \"1s\"",
    );
    let plan = scene.plan.display().to_string();
    let child = scene
        .command(&["--execute", "--format", "json", &plan])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let until = Instant::now() + Duration::from_secs(30);
    loop {
        let status = scene.ferry(&["status"]);
        if status.phase() == "ready" {
            break;
        }
        assert!(Instant::now() < until, "never READY: {}", status.all());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        scene.ferry(&["status"]).phase(),
        "ready",
        "held by the postpone file"
    );
    assert!(scene.blue_writable().await);
    let go = scene.ferry(&["go"]);
    assert_eq!(go.code, 0, "{}", go.all());
    let out: Outcome = child.wait_with_output().unwrap().into();
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(out.phase(), "done");
    scene.drop_slots().await;
}

/// Compares what the dry run must not touch before and after it.
async fn snapshot(scene: &Scene) -> Vec<Vec<Option<String>>> {
    let pg = [
        "SELECT rolname::text, rolcanlogin::text FROM pg_roles WHERE rolname = 'appb_' || current_database()",
        "SELECT grantee::text, table_name::text, privilege_type::text FROM information_schema.role_table_grants WHERE table_schema = 'public' ORDER BY 1, 2, 3",
        "SELECT slot_name::text, coalesce(confirmed_flush_lsn::text, '') FROM pg_replication_slots WHERE database = current_database() ORDER BY 1",
        "SELECT pubname::text, tablename::text FROM pg_publication_tables ORDER BY 1, 2",
        "SELECT last_value::text FROM items_id_seq",
        "SELECT tablename::text FROM pg_tables WHERE schemaname = 'public' ORDER BY 1",
    ];
    let my = [
        "SELECT @@GLOBAL.read_only",
        "SELECT TABLE_NAME, COALESCE(AUTO_INCREMENT, 0) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() ORDER BY 1",
        "SELECT GRANTEE, PRIVILEGE_TYPE FROM information_schema.SCHEMA_PRIVILEGES WHERE TABLE_SCHEMA = DATABASE() ORDER BY 1, 2",
    ];
    let mut out = Vec::new();
    for (url, queries) in [(&scene.blue, &pg[..]), (&scene.green, &my[..])] {
        for q in queries {
            out.extend(rows(url, q).await);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_dry_run_prints_every_step_and_changes_nothing() {
    let scene = Scene::new(Engine::Postgres, Engine::MySql, "").await;
    // Blue's sequence moves ahead of green's counter.
    exec(
        &scene.blue,
        "INSERT INTO items (tag, val) SELECT 'x', 0 FROM generate_series(1, 5)",
    )
    .await;
    let before = snapshot(&scene).await;
    let out = scene.ferry(&[]);
    let text = scene
        .command(&[&scene.plan.display().to_string()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&text.stdout).into_owned();
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(
        before,
        snapshot(&scene).await,
        "the dry run changed something"
    );
    assert_eq!(out.report["go"], true);
    for needle in [
        "DRY RUN",
        "REVOKE DELETE, INSERT, UPDATE ON TABLE \"public\".\"items\"",
        "ALTER ROLE",
        "NOLOGIN",
        "undo  GRANT",
        "undo  ALTER ROLE",
        "AUTO_INCREMENT = 6",
        "fence effective",
        "VERDICT GO",
    ] {
        assert!(text.contains(needle), "{needle} missing:\n{text}");
    }
    scene.drop_slots().await;
}

/// A fence by the plan's own commands (here psql revoking and ending the
/// application's sessions, as an application's read-only switch would):
/// the cutover and its rollback, each side fenced by the command told
/// which side it is.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_command_fence_cuts_over_and_rolls_back() {
    let scene = Scene::new(Engine::Postgres, Engine::Postgres, "").await;
    let d = scene.dir.path();
    let pick = format!(
        "if [ \"$FERRY_FENCE_SIDE\" = blue ]; then U=\"$BLUE_URL\"; R={}; else U=\"$GREEN_URL\"; R={}; fi\n",
        scene.blue_app.user, scene.green_app.user
    );
    std::fs::write(
        d.join("fence.sh"),
        format!(
            "{pick}psql \"$U\" -qAt -v ON_ERROR_STOP=1 -c \"REVOKE INSERT, UPDATE, DELETE ON items, accounts FROM $R\" \
             -c \"SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE usename = '$R'\"\n"
        ),
    )
    .unwrap();
    std::fs::write(
        d.join("unfence.sh"),
        format!("{pick}psql \"$U\" -qAt -v ON_ERROR_STOP=1 -c \"GRANT INSERT, UPDATE, DELETE ON items, accounts TO $R\"\n"),
    )
    .unwrap();
    scene.set_plan(
        "grace = \"500ms\"",
        &format!(
            "grace = \"500ms\"\nmethod = \"command\"\ncommand = [\"sh\", \"{f}\"]\nundo = [\"sh\", \"{u}\"]",
            f = d.join("fence.sh").display(),
            u = d.join("unfence.sh").display()
        ),
    );
    let sim = scene.sim(100.0);
    tokio::time::sleep(Duration::from_millis(800)).await;
    let out = scene.ferry(&["--execute"]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(!scene.blue_writable().await, "the command fenced blue");
    tokio::time::sleep(Duration::from_millis(800)).await;
    let back = scene.ferry(&["rollback", "--execute"]);
    assert_eq!(back.code, 0, "{}", back.all());
    tokio::time::sleep(Duration::from_millis(600)).await;
    let log = sim.stop().await;
    assert!(scene.blue_writable().await, "the undo command opened blue");
    let bad = log.check(&scene.blue, None).await;
    assert!(
        bad.is_empty(),
        "{}\n{}\n{}",
        bad.join("\n"),
        out.all(),
        back.all()
    );
    scene.drop_slots().await;
}
