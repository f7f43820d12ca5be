//! Connection flags shared by `copy`, `plan` and `verify`, and the one
//! place a URL is resolved: password, connect timeout, and the settings that
//! keep a live source comfortable (lock and statement timeouts, row rate).
//!
//! Everything lands in the [`DbUrl`]'s parameters, where the adapters read
//! it at connect time; a parameter already written in the URL wins over a
//! flag's default. The password never leaves the URL's secret.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use ferry_core::url::parse_duration;
use ferry_core::DbUrl;

#[derive(clap::Args, Default, Clone)]
pub struct ConnectArgs {
    /// Read the source password from this file (its first line). The URL's
    /// own `password_file=` parameter does the same.
    #[arg(long, value_name = "FILE")]
    source_password_file: Option<PathBuf>,
    /// Read the target password from this file (its first line).
    #[arg(long, value_name = "FILE")]
    target_password_file: Option<PathBuf>,
    /// Give up on a server that has not answered within this long
    /// (`10s`, `500ms`; the URL's `connect_timeout` wins). Default 10s.
    #[arg(long, value_name = "DURATION", value_parser = duration_arg)]
    connect_timeout: Option<String>,
    /// Source sessions wait at most this long for a lock (PostgreSQL
    /// `lock_timeout`; MySQL `lock_wait_timeout` and
    /// `innodb_lock_wait_timeout`), so a copy never queues behind, or holds
    /// up, the application's DDL. 0 keeps the server's setting.
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = duration_arg)]
    source_lock_timeout: String,
    /// Source statements run at most this long (PostgreSQL
    /// `statement_timeout`, MySQL `max_execution_time`, MariaDB
    /// `max_statement_time`). 0 (the default): no limit, since reading a big
    /// table legitimately takes long.
    #[arg(long, value_name = "DURATION", default_value = "0", value_parser = duration_arg)]
    source_statement_timeout: String,
    /// Read at most N rows per second from the source, all workers together.
    #[arg(long, value_name = "N", value_parser = positive)]
    max_rows_per_second: Option<u64>,
}

fn positive(s: &str) -> Result<u64, String> {
    match s.parse::<u64>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err("expected a whole number of at least 1".to_string()),
    }
}

fn duration_arg(s: &str) -> Result<String, String> {
    parse_duration(s).map(|_| s.to_string())
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Source,
    Target,
}

impl Role {
    fn name(self) -> &'static str {
        match self {
            Role::Source => "source",
            Role::Target => "target",
        }
    }
}

/// Parses a URL and completes it. The password comes from, in order: the
/// URL, a password file (flag or `password_file=`), `FERRY_<ROLE>_PASSWORD`,
/// then the engine's own variable (`PGPASSWORD`, `MYSQL_PWD`). A URL with a
/// password and a password file is a conflict, not a silent choice.
pub fn resolve(raw: &str, role: Role, args: &ConnectArgs) -> anyhow::Result<DbUrl> {
    let mut url = DbUrl::parse(raw)?;
    let flag_file = match role {
        Role::Source => args.source_password_file.clone(),
        Role::Target => args.target_password_file.clone(),
    };
    let file = flag_file.or_else(|| url.param("password_file").map(PathBuf::from));
    if let Some(path) = file {
        if url.password().is_some() {
            bail!(
                "the {} URL has a password and a password file is given too: use one",
                role.name()
            );
        }
        url.set_password_if_missing(Some(read_password_file(&path)?));
    }
    let env_var = format!("FERRY_{}_PASSWORD", role.name().to_ascii_uppercase());
    let pw = std::env::var(env_var).ok().or_else(|| {
        url.engine
            .password_env()
            .and_then(|v| std::env::var(v).ok())
    });
    url.set_password_if_missing(pw);
    if let Some(t) = &args.connect_timeout {
        url.set_param_if_missing("connect_timeout", t)?;
    }
    if role == Role::Source {
        let nonzero = |s: &str| parse_duration(s).is_ok_and(|d| !d.is_zero());
        if nonzero(&args.source_lock_timeout) {
            url.set_param_if_missing("lock_timeout", &args.source_lock_timeout)?;
        }
        if nonzero(&args.source_statement_timeout) {
            url.set_param_if_missing("statement_timeout", &args.source_statement_timeout)?;
        }
        if let Some(n) = args.max_rows_per_second {
            url.set_param("max_rows_per_second", &n.to_string())?;
        }
    }
    Ok(url)
}

/// The first line of a password file, without its line ending. Errors name
/// the file, never its content.
fn read_password_file(path: &Path) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read password file {}", path.display()))?;
    let line = text.lines().next().unwrap_or("").to_string();
    if line.is_empty() {
        bail!("password file {} is empty", path.display());
    }
    Ok(line)
}
