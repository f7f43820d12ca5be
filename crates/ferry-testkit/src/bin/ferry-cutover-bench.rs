//! `bench/cutover.sh`: the freeze window of `ferry cutover` under a steady
//! application load, repeated. Each round: fresh databases on throwaway
//! servers, the simulator's schema, `ferry copy --cdc-slot`, the simulator
//! writing at `--rate` attempts/s, `ferry cutover --execute`, then the
//! simulator's checks on the final primary (acknowledged writes lost or
//! doubled, bank total, writes acknowledged by blue after the fence).
//! Prints the window's p50/p99, each step's share, and the losses.
//!
//!   ferry-cutover-bench --ferry target/release/ferry [--pair pg-mysql|mysql-pg|pg-pg]
//!                       [--rounds N] [--rate N]

use std::process::{Command, ExitCode};
use std::time::Duration;

use ferry_core::{DbUrl, Engine};
use ferry_testkit::appsim::{route_to, schema_sql, AppSim, SimConfig};
use ferry_testkit::{app_account, exec, mysql_database, pg_database};

fn arg(args: &[String], name: &str, default: &str) -> String {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
        .unwrap_or_else(|| default.to_string())
}

/// The nearest-rank percentile, `permille` of 1000.
fn percentile(sorted: &[f64], permille: usize) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) * permille + 500) / 1000]
}

async fn database(engine: Engine) -> DbUrl {
    match engine {
        Engine::Postgres => pg_database().await,
        Engine::MySql => mysql_database().await,
    }
}

struct Round {
    window: f64,
    gap: f64,
    breakdown: Vec<(String, f64)>,
    violations: usize,
    acked: usize,
}

async fn round(
    ferry: &str,
    blue_e: Engine,
    green_e: Engine,
    rate: f64,
    i: usize,
) -> Result<Round, String> {
    let (blue, green) = (database(blue_e).await, database(green_e).await);
    exec(&blue, &schema_sql(blue_e)).await;
    let name = blue.database.to_ascii_lowercase();
    let blue_app = app_account(&blue, &format!("appb_{name}")).await;
    let slot = format!("s_{name}");
    let copy = Command::new(ferry)
        .args([
            "copy",
            "--source",
            &blue.expose(),
            "--target",
            &green.expose(),
        ])
        .args(["--tables", "items,accounts", "--cdc-slot", &slot, "--quiet"])
        .output()
        .map_err(|e| e.to_string())?;
    if !copy.status.success() {
        return Err(String::from_utf8_lossy(&copy.stderr).into_owned());
    }
    let green_app = app_account(&green, &format!("appg_{name}")).await;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let route = dir.path().join("route");
    route_to(&route, "blue");
    let plan = dir.path().join("plan.toml");
    std::fs::write(
        &plan,
        format!(
            r#"name = "bench{i}_{name}"
slot = "{slot}"
state = "{d}/state.db"
[job]
tables = ["items", "accounts"]
[blue]
url = "${{BLUE_URL}}"
app_roles = ["{bu}"]
[green]
url = "${{GREEN_URL}}"
app_roles = ["{gu}"]
[gates]
lag_window = "500ms"
[freeze]
budget = "30s"
grace = "500ms"
[after]
first_write_timeout = "20s"
[switch]
command = ["sh", "-c", "printf green > {r}"]
timeout = "10s"
"#,
            d = dir.path().display(),
            bu = blue_app.user,
            gu = green_app.user,
            r = route.display()
        ),
    )
    .map_err(|e| e.to_string())?;
    let sim = AppSim::start(SimConfig {
        blue: blue_app,
        green: green_app,
        route,
        writers: 4,
        rate,
        seed: i as u64 + 1,
    });
    tokio::time::sleep(Duration::from_secs(3)).await;
    let out = Command::new(ferry)
        .args(["cutover", "--execute", "--format", "json"])
        .arg(&plan)
        .env("BLUE_URL", blue.expose())
        .env("GREEN_URL", green.expose())
        .env("FERRY_STATE_DIR", dir.path())
        .output()
        .map_err(|e| e.to_string())?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let log = sim.stop().await;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let report = stdout
        .lines()
        .rev()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["event"] == "cutover_finished")
        .map(|v| v["report"].clone())
        .ok_or_else(|| format!("no report: {}", String::from_utf8_lossy(&out.stderr)))?;
    if !out.status.success() {
        return Err(format!(
            "cutover ended {}: {}",
            report["phase"], report["abort_reason"]
        ));
    }
    let fence = report["fence_effective_at_ms"].as_f64();
    let violations = log.check(&green, fence).await;
    for v in violations.iter().take(5) {
        eprintln!("  violation: {v}");
    }
    for url in [&blue, &green] {
        if url.engine == Engine::Postgres {
            ferry_testkit::pg_exec(
                url,
                "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots \
                 WHERE database = current_database() AND NOT active",
            )
            .await;
        }
    }
    Ok(Round {
        window: report["window_ms"].as_f64().unwrap_or(f64::NAN),
        gap: log.gap_ms().unwrap_or(f64::NAN),
        breakdown: report["breakdown"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|s| {
                (
                    s["step"].as_str().unwrap_or("").to_string(),
                    s["ms"].as_f64().unwrap_or(0.0),
                )
            })
            .collect(),
        violations: violations.len(),
        acked: log
            .ops
            .iter()
            .filter(|o| o.outcome == ferry_testkit::appsim::Outcome::Ok)
            .count(),
    })
}

#[tokio::main(flavor = "multi_thread", worker_threads = 4)]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let ferry = arg(&args, "--ferry", "target/release/ferry");
    let rounds: usize = arg(&args, "--rounds", "10").parse().unwrap_or(10);
    let rate: f64 = arg(&args, "--rate", "250").parse().unwrap_or(250.0);
    let pair = arg(&args, "--pair", "pg-mysql");
    let (blue, green) = match pair.as_str() {
        "pg-mysql" => (Engine::Postgres, Engine::MySql),
        "pg-pg" => (Engine::Postgres, Engine::Postgres),
        "mysql-pg" => {
            eprintln!(
                "mysql-pg: ferry sync does not read MySQL's binary log yet, so a MySQL blue \
                 cannot be drained; skipped"
            );
            return ExitCode::SUCCESS;
        }
        other => {
            eprintln!("unknown --pair {other}");
            return ExitCode::from(2);
        }
    };
    let mut results = Vec::new();
    for i in 0..rounds {
        match round(&ferry, blue, green, rate, i).await {
            Ok(r) => {
                eprintln!(
                    "round {i}: window {:.0} ms (application gap {:.0} ms), {} acknowledged, {} violations",
                    r.window, r.gap, r.acked, r.violations
                );
                results.push(r);
            }
            Err(e) => eprintln!("round {i}: failed: {e}"),
        }
    }
    let mut windows: Vec<f64> = results
        .iter()
        .map(|r| r.window)
        .filter(|w| w.is_finite())
        .collect();
    windows.sort_by(f64::total_cmp);
    let mut gaps: Vec<f64> = results
        .iter()
        .map(|r| r.gap)
        .filter(|w| w.is_finite())
        .collect();
    gaps.sort_by(f64::total_cmp);
    let lost: usize = results.iter().map(|r| r.violations).sum();
    println!(
        "## cutover {pair}, {rate} attempts/s, {} of {rounds} rounds",
        results.len()
    );
    println!();
    println!("| | p50 | p99 |");
    println!("|---|---|---|");
    println!(
        "| freeze window (ms) | {:.0} | {:.0} |",
        percentile(&windows, 500),
        percentile(&windows, 990)
    );
    println!(
        "| application gap (ms) | {:.0} | {:.0} |",
        percentile(&gaps, 500),
        percentile(&gaps, 990)
    );
    println!();
    let mut steps: Vec<(String, f64)> = Vec::new();
    for r in &results {
        for (s, ms) in &r.breakdown {
            match steps.iter_mut().find(|(n, _)| n == s) {
                Some(e) => e.1 += ms,
                None => steps.push((s.clone(), *ms)),
            }
        }
    }
    let total: f64 = steps.iter().map(|(_, m)| m).sum();
    println!("| step | mean ms | share |");
    println!("|---|---|---|");
    for (s, ms) in &steps {
        println!(
            "| {s} | {:.0} | {:.0}% |",
            ms / results.len().max(1) as f64,
            ms / total.max(1.0) * 100.0
        );
    }
    println!();
    println!("violations (acknowledged writes lost or doubled, bank, blue after fence): {lost}");
    if lost > 0 || results.len() < rounds {
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
