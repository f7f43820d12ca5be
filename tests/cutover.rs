//! `ferry cutover` (issue 12) through real servers, with the test kit's
//! application simulator writing the whole time: after each run every
//! acknowledged write is on the final primary exactly once, blue
//! acknowledged nothing after the fence, the bank total holds, green never
//! refused a duplicate key, and ferry's window matches what the
//! application saw.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ferry_core::{DbUrl, Engine};
use ferry_testkit::appsim::{route_to, schema_sql, AppSim, Side, SimConfig, SimLog};
use ferry_testkit::{app_account, exec, mysql_database, pg_database, rows};

use crate::util::copy_ok;

/// Two databases after a copy with a slot, the application's accounts on
/// both, a route file and a plan file.
pub struct Scene {
    pub blue: DbUrl,
    pub green: DbUrl,
    pub blue_app: DbUrl,
    pub green_app: DbUrl,
    pub dir: tempfile::TempDir,
    pub route: PathBuf,
    pub plan: PathBuf,
    pub name: String,
}

async fn database(engine: Engine) -> DbUrl {
    match engine {
        Engine::Postgres => pg_database().await,
        Engine::MySql => mysql_database().await,
    }
}

impl Scene {
    /// `extra` is appended to the plan file (more sections, steps).
    pub async fn new(blue: Engine, green: Engine, extra: &str) -> Scene {
        let (b, g) = (database(blue).await, database(green).await);
        exec(&b, &schema_sql(blue)).await;
        let name = b.database.to_ascii_lowercase();
        let blue_app = app_account(&b, &format!("appb_{name}")).await;
        let slot = format!("s_{name}");
        copy_ok(&b, &g, &["--tables", "items,accounts", "--cdc-slot", &slot]);
        let green_app = app_account(&g, &format!("appg_{name}")).await;
        let dir = tempfile::tempdir().unwrap();
        let route = dir.path().join("route");
        route_to(&route, "blue");
        let plan = dir.path().join("plan.toml");
        let r = route.display();
        let text = format!(
            r#"name = "{name}"
slot = "{slot}"
state = "{state}"

[job]
tables = ["items", "accounts"]

[blue]
url = "${{BLUE_URL}}"
app_roles = ["{bu}"]

[green]
url = "${{GREEN_URL}}"
app_roles = ["{gu}"]

[gates]
max_lag = "2s"
lag_window = "300ms"
timeout = "60s"

[freeze]
budget = "30s"
grace = "500ms"

[after]
first_write_timeout = "20s"

{extra}
"#,
            state = dir.path().join("state.db").display(),
            bu = blue_app.user,
            gu = green_app.user,
        );
        let text = if text.contains("[switch]") {
            text
        } else {
            format!(
                "{text}\n[switch]\ncommand = [\"sh\", \"-c\", \"printf $FERRY_SWITCH_TO > {r}\"]\nverify = [\"sh\", \"-c\", \"grep -q $FERRY_SWITCH_TO {r}\"]\ntimeout = \"10s\"\n"
            )
        };
        std::fs::write(&plan, text).unwrap();
        Scene {
            blue: b,
            green: g,
            blue_app,
            green_app,
            dir,
            route,
            plan,
            name,
        }
    }

    pub fn sim(&self, rate: f64) -> AppSim {
        AppSim::start(SimConfig {
            blue: self.blue_app.clone(),
            green: self.green_app.clone(),
            route: self.route.clone(),
            writers: 4,
            rate,
            seed: std::process::id() as u64,
        })
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_ferry"));
        c.arg("cutover")
            .args(args)
            .env("BLUE_URL", self.blue.expose())
            .env("GREEN_URL", self.green.expose())
            .env("FERRY_STATE_DIR", self.dir.path())
            .stdin(Stdio::null());
        c
    }

    /// Runs `ferry cutover ARGS… plan.toml`.
    pub fn ferry(&self, args: &[&str]) -> Outcome {
        let mut all: Vec<&str> = args.to_vec();
        let plan = self.plan.display().to_string();
        all.push(&plan);
        all.extend(["--format", "json"]);
        // `confirm green plan.toml`: the side goes before the plan.
        let out = self.command(&all).output().expect("run ferry");
        Outcome::from(out)
    }

    /// Whether the blue application account can write now.
    pub async fn blue_writable(&self) -> bool {
        let sql = "UPDATE accounts SET balance = balance WHERE id = 1";
        match self.blue_app.engine {
            Engine::Postgres => {
                let mut cfg = tokio_postgres::Config::new();
                cfg.host(&self.blue_app.host)
                    .port(self.blue_app.port)
                    .user(&self.blue_app.user)
                    .dbname(&self.blue_app.database)
                    .password(self.blue_app.password().unwrap_or(""));
                let Ok((c, conn)) = cfg.connect(tokio_postgres::NoTls).await else {
                    return false;
                };
                tokio::spawn(conn);
                c.batch_execute(sql).await.is_ok()
            }
            Engine::MySql => {
                use mysql_async::prelude::Queryable;
                let opts = mysql_async::OptsBuilder::default()
                    .ip_or_hostname(self.blue_app.host.clone())
                    .tcp_port(self.blue_app.port)
                    .user(Some(self.blue_app.user.clone()))
                    .pass(self.blue_app.password().map(str::to_string))
                    .db_name(Some(self.blue_app.database.clone()));
                let Ok(mut c) = mysql_async::Conn::new(opts).await else {
                    return false;
                };
                c.query_drop(sql).await.is_ok()
            }
        }
    }

    pub fn set_plan(&self, from: &str, to: &str) {
        let text = std::fs::read_to_string(&self.plan).unwrap();
        assert!(text.contains(from), "{from} not in the plan");
        std::fs::write(&self.plan, text.replace(from, to)).unwrap();
    }
}

/// What `ferry cutover … --format json` ended with.
pub struct Outcome {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub report: serde_json::Value,
}

impl From<std::process::Output> for Outcome {
    fn from(out: std::process::Output) -> Outcome {
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let report = stdout
            .lines()
            .rev()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .find(|v| v["event"] == "cutover_finished" || v["event"] == "cutover_dry_run")
            .map(|v| {
                if v["event"] == "cutover_dry_run" {
                    v["dry_run"].clone()
                } else {
                    v["report"].clone()
                }
            })
            .unwrap_or_default();
        Outcome {
            code: out.status.code().unwrap_or(-1),
            stdout,
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            report,
        }
    }
}

impl Outcome {
    pub fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }

    pub fn phase(&self) -> &str {
        self.report["phase"].as_str().unwrap_or("")
    }

    pub fn fence_ms(&self) -> Option<f64> {
        self.report["fence_effective_at_ms"].as_f64()
    }
}

/// The cutover's checks on the simulator's log, and its window against
/// what the application saw.
pub async fn assert_clean(log: &SimLog, primary: &DbUrl, out: &Outcome) {
    let bad = log.check(primary, out.fence_ms()).await;
    assert!(
        bad.is_empty(),
        "{} violations:\n{}\n{}",
        bad.len(),
        bad.join("\n"),
        out.all()
    );
}

pub fn assert_window_matches(log: &SimLog, out: &Outcome) {
    let window = out.report["window_ms"].as_f64().expect("a measured window");
    let gap = log.gap_ms().expect("the application wrote on both sides");
    let fence = out.report["fence_ms"].as_f64().unwrap_or(0.0);
    // The application stops being acknowledged when the fence starts and
    // ferry's window starts when it is effective; both end at green's
    // first commit (ferry by its commit time, the application at its ack).
    let diff = gap - window;
    assert!(
        diff >= -50.0 && diff <= fence + 250.0,
        "ferry's window {window} ms vs the application's gap {gap} ms (fence {fence} ms)\n{}",
        out.all()
    );
}

async fn cutover_under_load(blue: Engine, green: Engine) {
    let scene = Scene::new(blue, green, "").await;
    let sim = scene.sim(200.0);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let html = scene.dir.path().join("cutover.html");
    let html_arg = html.display().to_string();
    let out = scene.ferry(&["--execute", "--report", &html_arg]);
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let log = sim.stop().await;
    assert_eq!(out.code, 0, "{}", out.all());
    assert_eq!(out.phase(), "done", "{}", out.all());
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("<h2>Cutover</h2>") && page.contains("freeze window"));
    // The report is in the state store too: `ferry report` draws it again.
    let again = scene.dir.path().join("again.html");
    let state = scene.dir.path().join("state.db");
    let redrawn = crate::util::ferry(&[
        "report",
        &format!("cutover-{}", scene.name),
        "--state",
        &state.display().to_string(),
        "--output",
        &again.display().to_string(),
    ]);
    assert_eq!(redrawn.code, 0, "{}", redrawn.all_output());
    assert!(std::fs::read_to_string(&again)
        .unwrap()
        .contains("<h2>Cutover</h2>"));
    assert!(
        log.acked(Side::Blue) > 50 && log.acked(Side::Green) > 50,
        "{}",
        out.all()
    );
    assert_clean(&log, &scene.green, &out).await;
    assert_window_matches(&log, &out);
    assert!(
        !scene.blue_writable().await,
        "blue stays fenced after the cutover"
    );
    scene.drop_slots().await;
    eprintln!(
        "window {} ms; breakdown {}",
        out.report["window_ms"], out.report["breakdown"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pg_to_mariadb_cutover_under_load_loses_nothing() {
    cutover_under_load(Engine::Postgres, Engine::MySql).await;
}

/// Waits until `path` exists (a user step's signal), at most `limit`.
pub fn wait_for(path: &Path, limit: Duration) {
    let until = Instant::now() + limit;
    while !path.exists() {
        assert!(Instant::now() < until, "{} never appeared", path.display());
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub async fn count(url: &DbUrl, sql: &str) -> i64 {
    rows(url, sql).await[0][0]
        .as_deref()
        .unwrap_or("0")
        .trim()
        .parse()
        .unwrap_or(-1)
}

impl Scene {
    /// Drops what a finished cutover leaves on purpose (the way back's
    /// slot on green), so tests sharing a server do not run out of slots.
    pub async fn drop_slots(&self) {
        for url in [&self.blue, &self.green] {
            if url.engine == Engine::Postgres {
                ferry_testkit::pg_exec(
                    url,
                    "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots \
                     WHERE database = current_database() AND NOT active",
                )
                .await;
            }
        }
    }
}
