//! What the cutover runs besides SQL: user steps, the switch hook and its
//! probe, post-cutover checks. A command runs in its own process group with
//! a timeout; at the timeout the whole group is killed (a shell's children
//! too), and the outcome says so rather than guessing.

use std::process::Stdio;
use std::time::Duration;

use ferry_core::{Error, Result};

/// How a command ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// It exited with this code; `tail` is the end of its output.
    Exited { code: i32, tail: String },
    /// It ran past its timeout and was killed.
    TimedOut,
}

impl Outcome {
    pub fn ok(&self) -> bool {
        matches!(self, Outcome::Exited { code: 0, .. })
    }

    pub fn describe(&self) -> String {
        match self {
            Outcome::Exited { code, tail } if tail.is_empty() => format!("exit {code}"),
            Outcome::Exited { code, tail } => format!("exit {code}: {tail}"),
            Outcome::TimedOut => "timed out (killed)".into(),
        }
    }
}

/// Runs `argv` with `env` added, for at most `timeout`.
pub async fn run(argv: &[String], env: &[(String, String)], timeout: Duration) -> Result<Outcome> {
    let Some((program, args)) = argv.split_first() else {
        return Err(Error::Invalid("an empty command".into()));
    };
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args)
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let child = cmd
        .spawn()
        .map_err(|e| Error::Invalid(format!("cannot run {program}: {e}")))?;
    let pid = child.id();
    match tokio::time::timeout(timeout, child.wait_with_output()).await {
        Ok(Ok(out)) => {
            let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
            text.push_str(&String::from_utf8_lossy(&out.stderr));
            Ok(Outcome::Exited {
                code: out.status.code().unwrap_or(-1),
                tail: tail(&text),
            })
        }
        Ok(Err(e)) => Err(Error::Invalid(format!("waiting for {program}: {e}"))),
        Err(_) => {
            if let Some(pid) = pid {
                kill_group(pid);
            }
            Ok(Outcome::TimedOut)
        }
    }
}

/// Kills process group `pgid` (the command and whatever it started).
fn kill_group(pgid: u32) {
    let _ = std::process::Command::new("kill")
        .args(["-s", "KILL", "--", &format!("-{pgid}")])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// The last line or two of a command's output, at most 300 characters.
fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let start = lines.len().saturating_sub(2);
    let t = lines[start..].join(" | ");
    let chars: Vec<char> = t.chars().collect();
    if chars.len() > 300 {
        chars[chars.len() - 300..].iter().collect()
    } else {
        t
    }
}

/// The first number a command printed (post-cutover checks).
pub fn number_in(text: &str) -> Option<f64> {
    text.split(|c: char| c.is_whitespace() || c == '|')
        .find_map(|w| w.parse::<f64>().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> Vec<String> {
        vec!["sh".into(), "-c".into(), script.into()]
    }

    #[tokio::test]
    async fn a_hung_command_is_killed_with_its_children() {
        let started = std::time::Instant::now();
        let out = run(&sh("sleep 30 & sleep 30"), &[], Duration::from_millis(300))
            .await
            .unwrap();
        assert_eq!(out, Outcome::TimedOut);
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[tokio::test]
    async fn exit_code_output_and_env_come_back() {
        let env = [("FERRY_SWITCH_TO".to_string(), "green".to_string())];
        let out = run(
            &sh("echo to $FERRY_SWITCH_TO; exit 3"),
            &env,
            Duration::from_secs(5),
        )
        .await
        .unwrap();
        assert_eq!(
            out,
            Outcome::Exited {
                code: 3,
                tail: "to green".into()
            }
        );
        assert_eq!(number_in("lag 0.25 s"), Some(0.25));
    }
}
