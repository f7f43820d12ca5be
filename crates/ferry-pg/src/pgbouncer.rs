//! The PgBouncer switch of a PostgreSQL → PostgreSQL cutover: `PAUSE db`
//! (PgBouncer waits for in-flight transactions in transaction pooling and
//! holds new queries), point the `[databases]` entry at the new server in
//! pgbouncer.ini, `RELOAD`, `RESUME db`. The application keeps its
//! connections to PgBouncer and sees latency, not a new address.
//!
//! The admin console speaks only the simple query protocol, and takes no
//! startup options, so it gets a plain session of its own.

use std::path::Path;

use ferry_core::{DbUrl, Error, ErrorKind, Result};
use tokio_postgres::{Client, SimpleQueryMessage};

async fn admin(url: &DbUrl) -> Result<Client> {
    let mut cfg = tokio_postgres::Config::new();
    cfg.host(&url.host)
        .port(url.port)
        .user(&url.user)
        .dbname(&url.database);
    if let Some(p) = url.password() {
        cfg.password(p);
    }
    let (client, conn) = cfg
        .connect(tokio_postgres::NoTls)
        .await
        .map_err(|e| Error::Connect {
            url: url.to_string(),
            kind: crate::classify(&e),
            source: Box::new(e),
        })?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(client)
}

async fn command(client: &Client, sql: &str) -> Result<Vec<SimpleQueryMessage>> {
    client
        .simple_query(sql)
        .await
        .map_err(|e| Error::query(format!("pgbouncer: {sql}"), ErrorKind::Definite, e))
}

/// `text` with the `[databases]` entry `database` pointing at `to`'s host,
/// port and database (its other settings kept); an error when there is none.
pub fn repoint(text: &str, database: &str, to: &DbUrl) -> Result<String> {
    let mut section = String::new();
    let mut found = false;
    let mut out = Vec::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('[') {
            section = trimmed.to_ascii_lowercase();
        }
        let entry = trimmed
            .split_once('=')
            .filter(|(k, _)| section == "[databases]" && k.trim() == database);
        let Some((_, value)) = entry else {
            out.push(line.to_string());
            continue;
        };
        found = true;
        let mut parts: Vec<String> = value
            .split_whitespace()
            .filter(|p| {
                let k = p.split('=').next().unwrap_or("");
                !matches!(k, "host" | "port" | "dbname")
            })
            .map(str::to_string)
            .collect();
        parts.insert(0, format!("dbname={}", to.database));
        parts.insert(0, format!("port={}", to.port));
        parts.insert(0, format!("host={}", to.host));
        out.push(format!("{database} = {}", parts.join(" ")));
    }
    if !found {
        return Err(Error::Invalid(format!(
            "pgbouncer.ini has no [databases] entry {database}"
        )));
    }
    let mut s = out.join("\n");
    s.push('\n');
    Ok(s)
}

/// Moves PgBouncer's `database` to `to`. A failure after the PAUSE still
/// resumes the pool before it is returned.
pub async fn switch(admin_url: &DbUrl, database: &str, ini: &Path, to: &DbUrl) -> Result<()> {
    let client = admin(admin_url).await?;
    command(&client, &format!("PAUSE {database}")).await?;
    let moved = async {
        let text = std::fs::read_to_string(ini)
            .map_err(|e| Error::Invalid(format!("reading {}: {e}", ini.display())))?;
        let tmp = ini.with_extension("ini.ferry");
        std::fs::write(&tmp, repoint(&text, database, to)?)
            .and_then(|()| std::fs::rename(&tmp, ini))
            .map_err(|e| Error::Invalid(format!("writing {}: {e}", ini.display())))?;
        command(&client, "RELOAD").await.map(drop)
    }
    .await;
    let resumed = command(&client, &format!("RESUME {database}")).await;
    moved?;
    resumed.map(drop)
}

/// Where PgBouncer sends `database` now: host and port (`SHOW DATABASES`).
pub async fn points_at(admin_url: &DbUrl, database: &str) -> Result<(String, u16)> {
    let client = admin(admin_url).await?;
    for m in command(&client, "SHOW DATABASES").await? {
        if let SimpleQueryMessage::Row(r) = m {
            if r.get("name") == Some(database) {
                let host = r.get("host").unwrap_or_default().to_string();
                let port = r.get("port").and_then(|p| p.parse().ok()).unwrap_or(0);
                return Ok((host, port));
            }
        }
    }
    Err(Error::Invalid(format!(
        "pgbouncer has no database {database}"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_entry_is_repointed_and_the_rest_kept() {
        let ini = "[databases]\napp = host=127.0.0.1 port=5001 dbname=blue user=app\nother = host=x\n\n[pgbouncer]\nlisten_port = 6432\n";
        let to = DbUrl::parse("postgres://u@127.0.0.1:5002/green").unwrap();
        let out = repoint(ini, "app", &to).unwrap();
        assert!(
            out.contains("app = host=127.0.0.1 port=5002 dbname=green user=app"),
            "{out}"
        );
        assert!(out.contains("other = host=x") && out.contains("listen_port = 6432"));
        assert!(repoint(ini, "nope", &to).is_err());
    }
}
