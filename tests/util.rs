//! Running the binary and normalising the servers' own text renderings.

use std::process::{Command, Output};

use ferry_core::DbUrl;

/// The outcome of one `ferry` invocation.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn all_output(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

pub fn ferry(args: &[&str]) -> Run {
    ferry_env(args, &[])
}

pub fn ferry_env(args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ferry"));
    cmd.args(args);
    for var in [
        "PGPASSWORD",
        "MYSQL_PWD",
        "FERRY_SOURCE_PASSWORD",
        "FERRY_TARGET_PASSWORD",
    ] {
        cmd.env_remove(var);
    }
    // Run state goes to a scratch directory, not the work tree.
    cmd.env(
        "FERRY_STATE_DIR",
        std::env::temp_dir().join("ferry-e2e-state"),
    );
    for (k, v) in env {
        cmd.env(k, v);
    }
    let Output {
        status,
        stdout,
        stderr,
    } = cmd.output().expect("run ferry");
    Run {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

/// `ferry` under `/usr/bin/time`: its outcome and its peak resident set
/// size in KiB, as the kernel accounted it for the process.
pub fn ferry_peak_rss(args: &[&str]) -> (Run, u64) {
    let out = tempfile::NamedTempFile::new().expect("temp file");
    let path = out.path().to_str().expect("utf-8 path").to_string();
    let mut full = vec!["-f", "%M", "-o", &path, env!("CARGO_BIN_EXE_ferry")];
    full.extend_from_slice(args);
    let mut cmd = Command::new("/usr/bin/time");
    cmd.args(&full);
    for var in [
        "PGPASSWORD",
        "MYSQL_PWD",
        "FERRY_SOURCE_PASSWORD",
        "FERRY_TARGET_PASSWORD",
    ] {
        cmd.env_remove(var);
    }
    cmd.env(
        "FERRY_STATE_DIR",
        std::env::temp_dir().join("ferry-e2e-state"),
    );
    let Output {
        status,
        stdout,
        stderr,
    } = cmd
        .output()
        .expect("run ferry under /usr/bin/time (package `time`)");
    let kb = std::fs::read_to_string(out.path())
        .ok()
        .and_then(|t| t.lines().last()?.trim().parse().ok())
        .expect("/usr/bin/time wrote the peak RSS");
    (
        Run {
            code: status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
        },
        kb,
    )
}

/// `ferry copy` quietly, asserting success.
pub fn copy_ok(source: &DbUrl, target: &DbUrl, extra: &[&str]) -> Run {
    let (s, t) = (source.expose(), target.expose());
    let mut args = vec!["copy", "--source", &s, "--target", &t, "--quiet"];
    args.extend_from_slice(extra);
    let run = ferry(&args);
    assert_eq!(run.code, 0, "ferry copy failed:\n{}", run.all_output());
    run
}

/// How a column's rendering is normalised before comparing the two servers'
/// outputs: the agreed, engine-independent form.
#[derive(Clone, Copy, Debug)]
pub enum Norm {
    /// Compared as rendered.
    Same,
    /// A decimal: trailing fraction zeros (and a bare point) dropped.
    Decimal,
    /// A float: parsed and compared by IEEE bits (so `1e+300` = `1e300`).
    Float,
    /// A time or duration: trailing fraction zeros dropped.
    Time,
    /// JSON: parsed and re-serialised with sorted keys.
    Json,
}

pub fn normalise(norm: Norm, v: Option<&str>) -> Option<String> {
    let v = v?;
    Some(match norm {
        Norm::Same => v.to_string(),
        Norm::Decimal => {
            // SQL Server writes a fraction without its integer zero (`-.5`).
            let v = match (v.strip_prefix("-."), v.strip_prefix('.')) {
                (Some(rest), _) => format!("-0.{rest}"),
                (_, Some(rest)) => format!("0.{rest}"),
                _ => v.to_string(),
            };
            trim_fraction(&v)
        }
        Norm::Time => trim_fraction(v),
        Norm::Float => match v.parse::<f64>() {
            Ok(f) => format!("f64:{:016x}", f.to_bits()),
            Err(_) => format!("unparsable float {v}"),
        },
        Norm::Json => match serde_json::from_str::<serde_json::Value>(v) {
            Ok(j) => j.to_string(),
            Err(_) => format!("invalid json {v}"),
        },
    })
}

fn trim_fraction(v: &str) -> String {
    if v.contains('.') && !v.contains('e') && !v.contains('E') {
        v.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        v.to_string()
    }
}

/// Compares two result sets column by column after normalisation, reporting
/// every differing cell with its row's id (the first column).
pub fn assert_same(
    what: &str,
    left: &[Vec<Option<String>>],
    right: &[Vec<Option<String>>],
    names: &[&str],
    norms: &[Norm],
) {
    assert_eq!(left.len(), right.len(), "{what}: row counts differ");
    let mut diffs = Vec::new();
    for (l, r) in left.iter().zip(right) {
        for (i, name) in names.iter().enumerate() {
            let (a, b) = (
                normalise(norms[i], l[i].as_deref()),
                normalise(norms[i], r[i].as_deref()),
            );
            if a != b {
                diffs.push(format!(
                    "id={:?} column {name}: source {:?} vs target {:?}",
                    l[0], l[i], r[i]
                ));
            }
        }
    }
    assert!(
        diffs.is_empty(),
        "{what}: {} differences:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
}
