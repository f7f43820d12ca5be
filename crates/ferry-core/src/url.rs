//! Connection URLs that cannot leak their password, and the table of engines.
//!
//! The password lives in a [`SecretString`] from parsing on; `Display` and
//! `Debug` print the URL with `***` in its place. Adapters build their driver
//! configuration field by field from a [`DbUrl`] and never hand the raw URL
//! string to a driver (whose parse errors may echo it).
//!
//! A file engine (SQLite) has no server: its URL is a path, `sqlite:///abs/x.db`
//! or `sqlite://relative/x.db`, held in [`DbUrl::database`] exactly as written
//! (the generic URL parser would lower-case a relative path's first segment,
//! taking it for a host).

use percent_encoding::percent_decode_str;
use secrecy::{ExposeSecret, SecretString};

use crate::error::Error;

/// The engines ferry talks to: a closed set, matched in one place per concern.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    Postgres,
    /// MySQL and MariaDB; server differences are detected at connect time.
    MySql,
    /// A SQLite database file: no server, no password.
    Sqlite,
    /// Microsoft SQL Server (2008 and later), over TDS.
    Mssql,
}

impl Engine {
    /// Every engine, in the order messages list them.
    pub const ALL: &'static [Engine] = &[
        Engine::Postgres,
        Engine::MySql,
        Engine::Sqlite,
        Engine::Mssql,
    ];

    /// The product name people know (`PostgreSQL`, `MySQL/MariaDB`), for messages.
    pub fn product(self) -> &'static str {
        match self {
            Engine::Postgres => "PostgreSQL",
            Engine::MySql => "MySQL/MariaDB",
            Engine::Sqlite => "SQLite",
            Engine::Mssql => "SQL Server",
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Engine::Postgres => "postgres",
            Engine::MySql => "mysql",
            Engine::Sqlite => "sqlite",
            Engine::Mssql => "mssql",
        }
    }

    pub fn parse(s: &str) -> Option<Engine> {
        match s.to_ascii_lowercase().as_str() {
            "postgres" | "postgresql" | "pg" => Some(Engine::Postgres),
            "mysql" | "mariadb" => Some(Engine::MySql),
            "sqlite" | "sqlite3" => Some(Engine::Sqlite),
            "mssql" | "sqlserver" => Some(Engine::Mssql),
            _ => None,
        }
    }

    /// The URL schemes of every engine, for messages (`postgres://, …`).
    pub fn schemes() -> String {
        let names: Vec<String> = Engine::ALL
            .iter()
            .map(|e| format!("{}://", e.name()))
            .collect();
        names.join(", ")
    }

    /// Every engine's name, for messages (`postgres, mysql or sqlite`).
    pub fn names() -> String {
        let names: Vec<&str> = Engine::ALL.iter().map(|e| e.name()).collect();
        match names.split_last() {
            Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
            _ => names.join(""),
        }
    }

    /// The environment variable the engine's own clients read a password
    /// from (`psql`'s `PGPASSWORD`, `mysql`'s `MYSQL_PWD`, `sqlcmd`'s
    /// `SQLCMDPASSWORD`); `None` for an engine without passwords.
    pub fn password_env(self) -> Option<&'static str> {
        match self {
            Engine::Postgres => Some("PGPASSWORD"),
            Engine::MySql => Some("MYSQL_PWD"),
            Engine::Sqlite => None,
            Engine::Mssql => Some("SQLCMDPASSWORD"),
        }
    }

    /// The port a server listens on by default (0 for a file engine).
    pub fn default_port(self) -> u16 {
        match self {
            Engine::Postgres => 5432,
            Engine::MySql => 3306,
            Engine::Sqlite => 0,
            Engine::Mssql => 1433,
        }
    }

    /// Whether the database is a local file named by the URL's path rather
    /// than a server (see [`DbUrl::file_path`]).
    pub fn is_file(self) -> bool {
        matches!(self, Engine::Sqlite)
    }

    /// The engine's type rules (`mappings/<engine>.toml`), embedded at
    /// build time: its name for messages and its text. The mapping layer
    /// loads one per engine of [`Engine::ALL`].
    pub fn mapping_rules(self) -> (&'static str, &'static str) {
        match self {
            Engine::Postgres => (
                "mappings/postgres.toml",
                include_str!("../../../mappings/postgres.toml"),
            ),
            Engine::MySql => (
                "mappings/mysql.toml",
                include_str!("../../../mappings/mysql.toml"),
            ),
            Engine::Sqlite => (
                "mappings/sqlite.toml",
                include_str!("../../../mappings/sqlite.toml"),
            ),
            Engine::Mssql => (
                "mappings/mssql.toml",
                include_str!("../../../mappings/mssql.toml"),
            ),
        }
    }
}

impl std::fmt::Display for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A parsed `postgres://`, `mysql://`, `sqlite://` or `mssql://` URL.
#[derive(Clone)]
pub struct DbUrl {
    pub engine: Engine,
    pub host: String,
    pub port: u16,
    pub user: String,
    password: Option<SecretString>,
    pub database: String,
    /// Query parameters (`sslmode=require`, `socket=/path`…), in order.
    pub params: Vec<(String, String)>,
}

impl DbUrl {
    /// Parses a URL. The error message shows the URL with its password hidden.
    pub fn parse(input: &str) -> Result<DbUrl, Error> {
        let bad = |reason: &str| Error::Url {
            url: redact_raw(input),
            reason: reason.to_string(),
        };
        if let Some((scheme, rest)) = input.split_once("://") {
            if let Some(engine) = Engine::parse(scheme).filter(|e| e.is_file()) {
                return parse_file_url(engine, rest).map_err(|r| bad(&r));
            }
        }
        let parsed = url::Url::parse(input).map_err(|e| bad(&e.to_string()))?;
        let engine = Engine::parse(parsed.scheme()).ok_or_else(|| {
            bad(&format!(
                "unknown scheme (expected {}, or postgresql:// / mariadb://)",
                Engine::schemes()
            ))
        })?;
        if engine.is_file() {
            return Err(bad("a file URL takes no host"));
        }
        let host = parsed
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| bad("missing host"))?
            .trim_start_matches('[')
            .trim_end_matches(']');
        // SQL Server names an instance as `host\INSTANCE`, which a URL
        // carries percent-encoded (`host%5CINSTANCE`).
        let host = decode(host).map_err(bad)?;
        let port = parsed.port().unwrap_or(engine.default_port());
        let user = decode(parsed.username()).map_err(bad)?;
        let password = match parsed.password() {
            Some(p) => Some(SecretString::from(decode(p).map_err(bad)?)),
            None => None,
        };
        let database = decode(parsed.path().trim_start_matches('/')).map_err(bad)?;
        if database.is_empty() {
            return Err(bad("missing database name in the path"));
        }
        if database.contains('/') {
            return Err(bad("the path must be a single database name"));
        }
        let params: Vec<(String, String)> = parsed
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        for (k, v) in &params {
            check_param(k, v).map_err(|r| bad(&r))?;
        }
        Ok(DbUrl {
            engine,
            host,
            port,
            user: if user.is_empty() {
                default_user(engine)
            } else {
                user
            },
            password,
            database,
            params,
        })
    }

    /// The database file of a file engine (SQLite), as the URL names it
    /// (relative paths are relative to the working directory); `None` for a
    /// server engine.
    pub fn file_path(&self) -> Option<std::path::PathBuf> {
        self.engine
            .is_file()
            .then(|| std::path::PathBuf::from(&self.database))
    }

    /// The password, for handing to a driver. Never log the result.
    pub fn password(&self) -> Option<&str> {
        self.password.as_ref().map(|p| p.expose_secret())
    }

    /// Sets the password when the URL had none (from an env var or a file).
    pub fn set_password_if_missing(&mut self, password: Option<String>) {
        if self.password.is_none() {
            self.password = password.map(SecretString::from);
        }
    }

    pub fn param(&self, key: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Sets a query parameter, replacing an earlier value. The value is
    /// checked like one written in the URL.
    pub fn set_param(&mut self, key: &str, value: &str) -> Result<(), Error> {
        check_param(key, value).map_err(|reason| Error::Url {
            url: self.to_string(),
            reason,
        })?;
        match self.params.iter_mut().find(|(k, _)| k == key) {
            Some(slot) => slot.1 = value.to_string(),
            None => self.params.push((key.to_string(), value.to_string())),
        }
        Ok(())
    }

    /// Sets a query parameter unless the URL (under any of its aliases) has it.
    pub fn set_param_if_missing(&mut self, key: &str, value: &str) -> Result<(), Error> {
        let aliases = PARAM_ALIASES
            .iter()
            .find(|names| names.contains(&key))
            .copied()
            .unwrap_or(&[]);
        if self.param(key).is_some() || aliases.iter().any(|a| self.param(a).is_some()) {
            return Ok(());
        }
        self.set_param(key, value)
    }

    /// The first of several equivalent parameter names that is set.
    fn param_any(&self, keys: &[&str]) -> Option<&str> {
        keys.iter().find_map(|k| self.param(k))
    }

    /// How the connection uses TLS: `sslmode` (PostgreSQL names) or
    /// `ssl-mode` (MySQL names), either vocabulary on either engine. Without
    /// one, `prefer`, as `psql` and `mysql` do.
    pub fn tls_mode(&self) -> TlsMode {
        self.param_any(SSL_MODE_KEYS)
            .and_then(TlsMode::parse)
            .unwrap_or(TlsMode::Prefer)
    }

    /// The CA certificate file (PEM) that verifies the server: `sslrootcert`
    /// or `ssl-ca`.
    pub fn tls_root_cert(&self) -> Option<std::path::PathBuf> {
        self.param_any(SSL_CA_KEYS).map(std::path::PathBuf::from)
    }

    /// How long to wait for the server to answer a connection attempt:
    /// `connect_timeout` (seconds or a duration such as `500ms`), default 10 s.
    pub fn connect_timeout(&self) -> std::time::Duration {
        self.duration_param("connect_timeout")
            .unwrap_or(std::time::Duration::from_secs(10))
    }

    /// A checked duration parameter (`lock_timeout`, `statement_timeout`…).
    pub fn duration_param(&self, key: &str) -> Option<std::time::Duration> {
        self.param(key).and_then(|v| parse_duration(v).ok())
    }

    /// `max_rows_per_second`: the read-side throttle, if any.
    pub fn max_rows_per_second(&self) -> Option<u64> {
        self.param("max_rows_per_second")
            .and_then(|v| v.parse().ok())
            .filter(|n| *n > 0)
    }

    /// The same URL pointing at another database (tests create one per case).
    pub fn with_database(&self, database: &str) -> DbUrl {
        let mut u = self.clone();
        u.database = database.to_string();
        u
    }

    /// The URL with the password in clear, for handing to a child process
    /// in tests or to the benchmark's native tools. Never log it.
    pub fn expose(&self) -> String {
        self.render(false)
    }

    fn render(&self, redact: bool) -> String {
        use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
        // RFC 3986 unreserved characters stay as they are.
        const UNRESERVED_KEPT: &percent_encoding::AsciiSet = &NON_ALPHANUMERIC
            .remove(b'-')
            .remove(b'_')
            .remove(b'.')
            .remove(b'~');
        let scheme = self.engine.name();
        if self.engine.is_file() {
            // The path as written: `/` and `.` are part of it.
            const PATH_KEPT: &percent_encoding::AsciiSet = &UNRESERVED_KEPT.remove(b'/');
            let mut s = format!(
                "{scheme}://{}",
                utf8_percent_encode(&self.database, PATH_KEPT)
            );
            for (i, (k, v)) in self.params.iter().enumerate() {
                s.push(if i == 0 { '?' } else { '&' });
                s.push_str(k);
                s.push('=');
                s.push_str(v);
            }
            return s;
        }
        let user = utf8_percent_encode(&self.user, UNRESERVED_KEPT);
        let auth = match (&self.password, redact) {
            (Some(_), true) => format!("{user}:***@"),
            (Some(p), false) => format!(
                "{user}:{}@",
                utf8_percent_encode(p.expose_secret(), UNRESERVED_KEPT)
            ),
            (None, _) => format!("{user}@"),
        };
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.replace('\\', "%5C")
        };
        let mut s = format!(
            "{scheme}://{auth}{host}:{}/{}",
            self.port,
            utf8_percent_encode(&self.database, UNRESERVED_KEPT)
        );
        for (i, (k, v)) in self.params.iter().enumerate() {
            s.push(if i == 0 { '?' } else { '&' });
            s.push_str(k);
            s.push('=');
            s.push_str(v);
        }
        s
    }
}

impl std::fmt::Display for DbUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.render(true))
    }
}

impl std::fmt::Debug for DbUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DbUrl({})", self.render(true))
    }
}

/// How a connection uses TLS, in libpq's terms (MySQL's `ssl-mode` names
/// map one to one: DISABLED, PREFERRED, REQUIRED, VERIFY_CA, VERIFY_IDENTITY).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// Plain TCP.
    Disable,
    /// TLS when the server offers it, without verifying its certificate;
    /// plain otherwise.
    Prefer,
    /// TLS or fail; the certificate is not verified unless a CA file is
    /// given, in which case this is [`TlsMode::VerifyCa`] (as libpq does).
    Require,
    /// TLS with a certificate signed by the given CA; any host name.
    VerifyCa,
    /// TLS with a certificate signed by the given CA, for this host name.
    VerifyFull,
}

impl TlsMode {
    pub fn parse(s: &str) -> Option<TlsMode> {
        Some(match s.to_ascii_lowercase().replace('_', "-").as_str() {
            "disable" | "disabled" => TlsMode::Disable,
            "allow" | "prefer" | "preferred" => TlsMode::Prefer,
            "require" | "required" => TlsMode::Require,
            "verify-ca" => TlsMode::VerifyCa,
            "verify-full" | "verify-identity" => TlsMode::VerifyFull,
            _ => return None,
        })
    }

    /// Whether a certificate must chain to a trusted CA.
    pub fn verifies(self) -> bool {
        matches!(self, TlsMode::VerifyCa | TlsMode::VerifyFull)
    }
}

const SSL_MODE_KEYS: &[&str] = &["sslmode", "ssl-mode", "ssl_mode"];
const SSL_CA_KEYS: &[&str] = &["sslrootcert", "ssl-ca", "ssl_ca"];
const PARAM_ALIASES: &[&[&str]] = &[SSL_MODE_KEYS, SSL_CA_KEYS];

/// Checks the value of a parameter ferry interprets, so a typo fails before
/// anything connects. Unknown parameters pass (drivers' own options).
fn check_param(key: &str, value: &str) -> Result<(), String> {
    if SSL_MODE_KEYS.contains(&key) {
        TlsMode::parse(value).map(|_| ()).ok_or_else(|| {
            format!(
                "{key}={value}: expected disable, prefer, require, verify-ca or verify-full \
                 (or DISABLED, PREFERRED, REQUIRED, VERIFY_CA, VERIFY_IDENTITY)"
            )
        })
    } else if matches!(
        key,
        "connect_timeout" | "lock_timeout" | "statement_timeout"
    ) {
        parse_duration(value).map(|_| ())
    } else if key.eq_ignore_ascii_case("encrypt") {
        // SQL Server's spellings (ADO.NET, JDBC, sqlcmd).
        match value.to_ascii_lowercase().as_str() {
            "true" | "yes" | "mandatory" | "false" | "no" | "optional" | "strict" => Ok(()),
            _ => Err(format!(
                "{key}={value}: expected true, false, strict (or yes, no, mandatory, optional)"
            )),
        }
    } else if key.eq_ignore_ascii_case("trustServerCertificate") {
        match value.to_ascii_lowercase().as_str() {
            "true" | "yes" | "false" | "no" => Ok(()),
            _ => Err(format!("{key}={value}: expected true or false")),
        }
    } else if key == "mode" {
        // SQLite's open mode: read-only (`ro`) or read-write (`rw`).
        match value {
            "ro" | "rw" => Ok(()),
            _ => Err(format!("{key}={value}: expected ro or rw")),
        }
    } else if key == "max_rows_per_second" {
        match value.parse::<u64>() {
            Ok(n) if n > 0 => Ok(()),
            _ => Err(format!("{key}={value}: expected a positive whole number")),
        }
    } else if key == "server_id" {
        // The replica id `ferry sync` registers with on a MySQL source.
        match value.parse::<u32>() {
            Ok(n) if n > 0 => Ok(()),
            _ => Err(format!("{key}={value}: expected 1 to 4294967295")),
        }
    } else {
        Ok(())
    }
}

/// A duration as whole seconds (`10`, libpq's form) or with a unit:
/// `500ms`, `10s`, `2m`, `1h`. Zero means "no limit" where a limit is optional.
pub fn parse_duration(value: &str) -> Result<std::time::Duration, String> {
    use std::time::Duration;
    let v = value.trim();
    let split = v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len());
    let (digits, unit) = v.split_at(split);
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("`{value}` is not a duration (e.g. 10s, 500ms, 2m)"))?;
    Ok(match unit {
        "" | "s" => Duration::from_secs(n),
        "ms" => Duration::from_millis(n),
        "m" | "min" => Duration::from_secs(n.saturating_mul(60)),
        "h" => Duration::from_secs(n.saturating_mul(3600)),
        _ => return Err(format!("`{value}` is not a duration (e.g. 10s, 500ms, 2m)")),
    })
}

/// `sqlite:///abs/path.db`, `sqlite://relative/path.db` (what follows the
/// `://`): the path percent-decoded, the query's parameters checked.
fn parse_file_url(engine: Engine, rest: &str) -> Result<DbUrl, String> {
    let (path, query) = match rest.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (rest, None),
    };
    let path = decode(path).map_err(str::to_string)?;
    if path.is_empty() || path == "/" {
        return Err(
            "missing database file path (sqlite:///abs/path.db or sqlite://relative/path.db)"
                .into(),
        );
    }
    if path.contains('\0') {
        return Err("the path contains a NUL byte".into());
    }
    let mut params = Vec::new();
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let (k, v) = (
            decode(k).map_err(str::to_string)?,
            decode(v).map_err(str::to_string)?,
        );
        check_param(&k, &v)?;
        params.push((k, v));
    }
    Ok(DbUrl {
        engine,
        host: String::new(),
        port: 0,
        user: String::new(),
        password: None,
        database: path,
        params,
    })
}

fn decode(s: &str) -> Result<String, &'static str> {
    percent_decode_str(s)
        .decode_utf8()
        .map(|c| c.into_owned())
        .map_err(|_| "percent-encoded text is not UTF-8")
}

fn default_user(engine: Engine) -> String {
    match engine {
        Engine::Postgres => std::env::var("PGUSER")
            .or_else(|_| std::env::var("USER"))
            .unwrap_or_else(|_| "postgres".into()),
        Engine::MySql => std::env::var("USER").unwrap_or_else(|_| "root".into()),
        Engine::Sqlite => String::new(),
        // sqlcmd's default login is Windows authentication, which ferry does
        // not speak; `sa` is the SQL login every server has.
        Engine::Mssql => "sa".into(),
    }
}

/// Hides the password of a URL that may not even parse: everything between
/// the first `:` after `://` and the last `@` before the host is replaced.
pub fn redact_raw(input: &str) -> String {
    let Some(scheme_end) = input.find("://") else {
        return input.to_string();
    };
    let rest = &input[scheme_end + 3..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    match (authority.rfind('@'), authority.find(':')) {
        (Some(at), Some(colon)) if colon < at => format!(
            "{}{}:***{}",
            &input[..scheme_end + 3],
            &authority[..colon],
            &rest[at..]
        ),
        _ => input.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_redact() {
        let u =
            DbUrl::parse("postgres://bob:s3cr%40t@db.example:6543/app?sslmode=require").unwrap();
        assert_eq!(u.engine, Engine::Postgres);
        assert_eq!(u.host, "db.example");
        assert_eq!(u.port, 6543);
        assert_eq!(u.user, "bob");
        assert_eq!(u.password(), Some("s3cr@t"));
        assert_eq!(u.database, "app");
        assert_eq!(u.param("sslmode"), Some("require"));
        let shown = u.to_string();
        assert!(!shown.contains("s3cr"), "{shown}");
        assert!(!format!("{u:?}").contains("s3cr"));
        assert_eq!(
            DbUrl::parse(&u.expose()).unwrap().password(),
            Some("s3cr@t")
        );
    }

    #[test]
    fn errors_never_echo_the_password() {
        for bad in [
            "postgres://bob:hunter2@:5432/app",
            "oracle://bob:hunter2@h/app",
            "mysql://bob:hunter2@h",
            "mysql://bob:hunter2@h:99999/app",
        ] {
            let e = DbUrl::parse(bad).unwrap_err().to_string();
            assert!(!e.contains("hunter2"), "{e}");
        }
    }

    #[test]
    fn tls_and_timeout_parameters() {
        let u = DbUrl::parse("mysql://u@h/db?ssl-mode=VERIFY_IDENTITY&ssl-ca=/ca.pem").unwrap();
        assert_eq!(u.tls_mode(), TlsMode::VerifyFull);
        assert_eq!(u.tls_root_cert().unwrap().to_str(), Some("/ca.pem"));
        let u = DbUrl::parse("postgres://u@h/db?sslmode=verify-ca&connect_timeout=3").unwrap();
        assert_eq!(u.tls_mode(), TlsMode::VerifyCa);
        assert_eq!(u.connect_timeout(), std::time::Duration::from_secs(3));
        let mut u = DbUrl::parse("postgres://u@h/db").unwrap();
        assert_eq!(u.tls_mode(), TlsMode::Prefer);
        u.set_param_if_missing("sslmode", "require").unwrap();
        u.set_param_if_missing("ssl-mode", "disabled").unwrap();
        assert_eq!(u.tls_mode(), TlsMode::Require);
        assert_eq!(parse_duration("250ms").unwrap().as_millis(), 250);
        assert_eq!(parse_duration("2m").unwrap().as_secs(), 120);
        for bad in [
            "postgres://u:pw@h/db?sslmode=sometimes",
            "postgres://u:pw@h/db?connect_timeout=soon",
            "mysql://u:pw@h/db?max_rows_per_second=0",
            "mysql://u:pw@h/db?server_id=0",
            "mysql://u:pw@h/db?server_id=x",
        ] {
            let e = DbUrl::parse(bad).unwrap_err().to_string();
            assert!(!e.contains("pw@"), "{e}");
            assert!(e.contains("expected") || e.contains("duration"), "{e}");
        }
    }

    #[test]
    fn sql_server_urls_with_instances_and_encryption() {
        let u = DbUrl::parse(
            "sqlserver://sa:p%40ss@db%5CSQLEXPRESS/app?encrypt=true&trustServerCertificate=true",
        )
        .unwrap();
        assert_eq!(u.engine, Engine::Mssql);
        assert_eq!(u.host, "db\\SQLEXPRESS");
        assert_eq!(u.port, 1433);
        assert_eq!(u.password(), Some("p@ss"));
        let shown = u.to_string();
        assert!(
            shown.starts_with("mssql://sa:***@db%5CSQLEXPRESS:1433/app?"),
            "{shown}"
        );
        assert_eq!(DbUrl::parse(&u.expose()).unwrap().host, "db\\SQLEXPRESS");
        let u = DbUrl::parse("mssql://h/app").unwrap();
        assert_eq!(u.user, "sa");
        for bad in [
            "mssql://sa:pw@h/app?encrypt=maybe",
            "mssql://sa:pw@h/app?trustServerCertificate=perhaps",
        ] {
            let e = DbUrl::parse(bad).unwrap_err().to_string();
            assert!(!e.contains("pw@"), "{e}");
            assert!(e.contains("expected"), "{e}");
        }
    }

    #[test]
    fn sqlite_urls_name_files() {
        let u = DbUrl::parse("sqlite:///var/data/app%20one.db?mode=ro").unwrap();
        assert_eq!(u.engine, Engine::Sqlite);
        assert_eq!(u.database, "/var/data/app one.db");
        assert_eq!(u.param("mode"), Some("ro"));
        assert_eq!(
            u.file_path(),
            Some(std::path::PathBuf::from("/var/data/app one.db"))
        );
        assert_eq!(u.to_string(), "sqlite:///var/data/app%20one.db?mode=ro");
        assert_eq!(DbUrl::parse(&u.expose()).unwrap().database, u.database);
        // A relative path keeps its case (a URL host would be lower-cased).
        let r = DbUrl::parse("sqlite://Data/App.db").unwrap();
        assert_eq!(r.database, "Data/App.db");
        assert_eq!(r.to_string(), "sqlite://Data/App.db");
        assert_eq!(DbUrl::parse("sqlite3://x.db").unwrap().database, "x.db");
        for bad in ["sqlite://", "sqlite:///", "sqlite://x.db?mode=rwc"] {
            assert!(DbUrl::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(DbUrl::parse("postgres://h/d").unwrap().file_path(), None);
    }

    #[test]
    fn redact_raw_handles_at_in_password() {
        assert_eq!(redact_raw("mysql://u:p@ss@h/db"), "mysql://u:***@h/db");
        assert_eq!(redact_raw("mysql://h/db"), "mysql://h/db");
    }
}
