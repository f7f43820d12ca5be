//! The cutover plan file (`ferry cutover plan.toml`): the job, the two
//! sides, the gates, the freeze budget, the switch, user steps at named
//! points, schema-tool version tables and post-cutover checks. Parsed
//! strictly (`deny_unknown_fields`); durations are strings (`2s`, `500ms`);
//! `${VAR}` in URLs is taken from the environment, so passwords stay out of
//! the file.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize};

use ferry_core::{Error, Result};

use crate::Job;

/// A duration written as `2s`, `500ms`, `10m`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Dur(pub Duration);

impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Dur, D::Error> {
        let s = String::deserialize(d)?;
        ferry_core::url::parse_duration(&s)
            .map(Dur)
            .map_err(serde::de::Error::custom)
    }
}

fn secs(n: u64) -> Dur {
    Dur(Duration::from_secs(n))
}

/// The job: a file (relative to the plan) or inline.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum JobRef {
    File(PathBuf),
    Inline(Box<Job>),
}

/// The whole plan file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    /// Names the cutover in the state store (`cutover-<name>`), its slots
    /// and its guardian: letters, digits, `_` and `-`.
    pub name: String,
    pub job: JobRef,
    /// The forward change stream: the slot `ferry copy --cdc-slot` made.
    pub slot: String,
    /// The state store (default: the job's, else `cutover-<name>.db` in
    /// ferry's state directory).
    pub state: Option<String>,
    #[serde(default)]
    pub blue: SideSpec,
    #[serde(default)]
    pub green: SideSpec,
    #[serde(default)]
    pub gates: Gates,
    #[serde(default)]
    pub control: Control,
    #[serde(default)]
    pub freeze: Freeze,
    #[serde(default)]
    pub drain: Drain,
    #[serde(default)]
    pub verify: FinalVerify,
    #[serde(default)]
    pub sequences: Sequences,
    pub switch: Switch,
    #[serde(default)]
    pub after: After,
    #[serde(default)]
    pub steps: Vec<UserStep>,
    #[serde(default)]
    pub versions: Vec<VersionTable>,
    #[serde(default)]
    pub post_checks: Vec<PostCheck>,
    /// Where the plan was read from (not part of the file).
    #[serde(skip)]
    pub origin: PathBuf,
}

/// `[blue]` / `[green]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SideSpec {
    /// The URL ferry uses (operator credentials; `${VAR}` expanded).
    /// Default: the job's source (blue) or target (green).
    pub url: Option<String>,
    /// The application's roles (PostgreSQL) or users (MySQL): whose
    /// writes the fence stops. Green's default to blue's.
    #[serde(default)]
    pub app_roles: Vec<String>,
}

/// `[gates]`: evaluated continuously while ready, and just before the freeze.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Gates {
    /// Sync lag (source commit → applied) must stay at or below this…
    pub max_lag: Dur,
    /// …for this long without a break.
    pub lag_window: Dur,
    /// Estimated drain time (the lag, at the sync's own pace) at or below this.
    pub max_drain_estimate: Dur,
    /// No transaction on blue open longer than this.
    pub max_txn_age: Dur,
    /// Give up (exit 3, nothing fenced) when the gates have not opened
    /// within this long of the go.
    pub timeout: Dur,
    #[serde(rename = "check")]
    pub checks: Vec<CustomCheck>,
}

impl Default for Gates {
    fn default() -> Self {
        Gates {
            max_lag: secs(2),
            lag_window: secs(1),
            max_drain_estimate: secs(5),
            max_txn_age: secs(30),
            timeout: secs(600),
            checks: Vec::new(),
        }
    }
}

/// Which database a check or SQL step runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SideName {
    Blue,
    Green,
}

/// `[[gates.check]]`: a query whose first cell must be `expect` (text) or
/// at most `max` (number).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomCheck {
    pub name: String,
    pub side: SideName,
    pub sql: String,
    pub expect: Option<String>,
    pub max: Option<f64>,
}

/// `[control]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Control {
    /// While this file exists (and no `ferry cutover go` came), the cutover
    /// holds in READY with the sync running.
    pub postpone_file: Option<PathBuf>,
}

/// How blue is fenced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FenceMethod {
    /// The engine's own fence (PostgreSQL: revoke + NOLOGIN + terminate;
    /// MySQL: read_only + kill).
    #[default]
    Engine,
    /// `freeze.command` fences, `freeze.undo` lifts (e.g. the application's
    /// read-only mode).
    Command,
}

/// `[freeze]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Freeze {
    /// From the fence to the switch: past it, ferry aborts before the
    /// switch and blue is writable again.
    pub budget: Dur,
    pub method: FenceMethod,
    /// In-flight write transactions get this long to finish on their own.
    pub grace: Dur,
    /// Lock timeout of every fence statement.
    pub lock_timeout: Dur,
    pub command: Vec<String>,
    pub undo: Vec<String>,
    /// Start a guardian process that lifts the fence at the deadline if
    /// ferry dies.
    pub guardian: bool,
}

impl Default for Freeze {
    fn default() -> Self {
        Freeze {
            budget: secs(60),
            method: FenceMethod::Engine,
            grace: secs(2),
            lock_timeout: secs(2),
            command: Vec::new(),
            undo: Vec::new(),
            guardian: true,
        }
    }
}

/// `[drain]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Drain {
    pub timeout: Dur,
}

impl Default for Drain {
    fn default() -> Self {
        Drain { timeout: secs(20) }
    }
}

/// What the final verify compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VerifyMode {
    /// Every table of the job, whole.
    #[default]
    Full,
    /// Nothing: shown in the report as skipped.
    None,
}

/// `[verify]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FinalVerify {
    pub mode: VerifyMode,
}

/// `[sequences]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Sequences {
    /// Green's generators go to blue's next value plus this.
    pub gap: i64,
}

/// How the application is moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SwitchKind {
    #[default]
    Command,
    /// PgBouncer: PAUSE, point the database at the other side, RELOAD, RESUME.
    Pgbouncer,
}

/// `[switch]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Switch {
    #[serde(default)]
    pub kind: SwitchKind,
    /// The hook; gets `FERRY_SWITCH_TO=green|blue` and the run's variables.
    #[serde(default)]
    pub command: Vec<String>,
    /// A probe: exit 0 when traffic goes to `FERRY_SWITCH_TO`, 1 when it
    /// still goes to the other side; anything else is "unknown".
    pub verify: Option<Vec<String>>,
    #[serde(default = "thirty")]
    pub timeout: Dur,
    pub pgbouncer: Option<PgBouncer>,
}

fn thirty() -> Dur {
    secs(30)
}

/// `[switch.pgbouncer]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PgBouncer {
    /// The admin console, e.g. `postgres://pgbouncer@127.0.0.1:6432/pgbouncer`.
    pub admin_url: String,
    /// The database entry the application connects to.
    pub database: String,
    /// The pgbouncer.ini whose `[databases]` entry ferry rewrites.
    pub ini: PathBuf,
}

/// `[after]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct After {
    /// Arm the way back (a change stream on green) before green's first write.
    pub reverse_sync: bool,
    /// How long to wait for the application's first commit on green (the
    /// window's end); past it the report says the window is open-ended.
    pub first_write_timeout: Dur,
}

impl Default for After {
    fn default() -> Self {
        After {
            reverse_sync: true,
            first_write_timeout: secs(60),
        }
    }
}

/// Where a user step runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StepPoint {
    Preflight,
    BeforeFence,
    Fenced,
    Drained,
    Verified,
    BeforeSwitch,
    AfterSwitch,
    GreenOpen,
    OnAbort,
}

/// `[[steps]]`: a command (`run`) or SQL (`sql` on `side`) at a named
/// point; inside the freeze its time counts against the budget.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserStep {
    pub at: StepPoint,
    pub name: String,
    pub run: Option<Vec<String>>,
    pub sql: Option<String>,
    pub side: Option<SideName>,
    #[serde(default = "thirty")]
    pub timeout: Dur,
}

/// `[[versions]]`: a schema-migration tool's version table, compared on
/// both sides before the switch (they must list the same rows).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VersionTable {
    /// flyway, liquibase, alembic, django, rails, prisma, atlas: picks the
    /// query; or give `query`.
    pub tool: Option<String>,
    pub query: Option<String>,
}

impl VersionTable {
    /// The query listing applied versions, one row each.
    pub fn query(&self) -> Result<String> {
        if let Some(q) = &self.query {
            return Ok(q.clone());
        }
        let tool = self.tool.as_deref().unwrap_or("");
        Ok(match tool {
            "flyway" => "SELECT version FROM flyway_schema_history WHERE success ORDER BY installed_rank",
            "liquibase" => "SELECT id, author, filename FROM databasechangelog ORDER BY orderexecuted",
            "alembic" => "SELECT version_num FROM alembic_version ORDER BY version_num",
            "django" => "SELECT app, name FROM django_migrations ORDER BY app, name",
            "rails" => "SELECT version FROM schema_migrations ORDER BY version",
            "prisma" => "SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL ORDER BY migration_name",
            "atlas" => "SELECT version FROM atlas_schema_revisions ORDER BY version",
            other => {
                return Err(Error::Invalid(format!(
                    "[[versions]] tool = {other:?}: give one of flyway, liquibase, alembic, \
                     django, rails, prisma, atlas, or a query"
                )))
            }
        }
        .to_string())
    }

    pub fn label(&self) -> String {
        self.tool.clone().unwrap_or_else(|| "schema".into())
    }
}

/// `[[post_checks]]`: after the switch, `run` prints a number that must
/// stay at or below `max`, checked `every` for `for`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostCheck {
    pub name: String,
    pub run: Vec<String>,
    pub max: f64,
    #[serde(default = "one")]
    pub every: Dur,
    #[serde(default, rename = "for")]
    pub duration: Option<Dur>,
}

fn one() -> Dur {
    secs(1)
}

impl Plan {
    /// Reads and checks a plan file.
    pub fn from_file(path: &Path) -> Result<Plan> {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::Invalid(format!("cannot read plan file {origin}: {e}")))?;
        let mut plan: Plan = toml::from_str(&text).map_err(|e| {
            Error::Invalid(format!(
                "plan file {origin}: {}",
                e.to_string().lines().next().unwrap_or_default()
            ))
        })?;
        plan.origin = path.to_path_buf();
        plan.validate()?;
        Ok(plan)
    }

    fn validate(&self) -> Result<()> {
        let bad = |m: String| {
            Err(Error::Invalid(format!(
                "plan file {}: {m}",
                self.origin.display()
            )))
        };
        if self.name.is_empty()
            || !self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return bad(format!(
                "name = {:?}: use letters, digits, _ and - only",
                self.name
            ));
        }
        if self.freeze.method == FenceMethod::Engine && self.blue.app_roles.is_empty() {
            return bad("[blue] app_roles is empty: whose writes would the fence stop?".into());
        }
        if self.freeze.method == FenceMethod::Command
            && (self.freeze.command.is_empty() || self.freeze.undo.is_empty())
        {
            return bad("freeze.method = \"command\" needs freeze.command and freeze.undo".into());
        }
        match self.switch.kind {
            SwitchKind::Command if self.switch.command.is_empty() => {
                return bad("[switch] command is empty".into())
            }
            SwitchKind::Pgbouncer if self.switch.pgbouncer.is_none() => {
                return bad("[switch] kind = \"pgbouncer\" needs [switch.pgbouncer]".into())
            }
            _ => {}
        }
        for s in &self.steps {
            if s.run.is_some() == s.sql.is_some() {
                return bad(format!("step {}: give either run or sql", s.name));
            }
            if s.sql.is_some() && s.side.is_none() {
                return bad(format!(
                    "step {}: sql needs side = \"blue\" or \"green\"",
                    s.name
                ));
            }
        }
        for v in &self.versions {
            v.query()?;
        }
        Ok(())
    }

    /// The job the plan names, with the plan's URLs over it.
    pub fn job(&self) -> Result<Job> {
        let mut job = match &self.job {
            JobRef::File(p) => {
                let p = match self.origin.parent() {
                    Some(dir) if p.is_relative() => dir.join(p),
                    _ => p.clone(),
                };
                Job::from_file(&p)?
            }
            JobRef::Inline(j) => (**j).clone(),
        };
        if let Some(u) = &self.blue.url {
            job.source = Some(expand(u)?);
        }
        if let Some(u) = &self.green.url {
            job.target = Some(expand(u)?);
        }
        if self.state.is_some() {
            job.state.store = self.state.clone();
        }
        Ok(job)
    }

    /// The state store's run id.
    pub fn run_id(&self) -> String {
        format!("cutover-{}", self.name)
    }

    /// Green's application roles (blue's unless given).
    pub fn green_roles(&self) -> Vec<String> {
        if self.green.app_roles.is_empty() {
            self.blue.app_roles.clone()
        } else {
            self.green.app_roles.clone()
        }
    }

    /// The way back's slot on green (and, in a rollback, the slot on blue
    /// that measures its first commit): replication slot names are lower
    /// case letters, digits and `_`.
    pub fn slot_name(&self, what: &str) -> String {
        let name: String = self
            .name
            .chars()
            .map(|c| match c {
                'A'..='Z' => c.to_ascii_lowercase(),
                c if c.is_ascii_alphanumeric() => c,
                _ => '_',
            })
            .collect();
        format!("ferry_{what}_{name}")
    }

    pub fn steps_at(&self, at: StepPoint) -> impl Iterator<Item = &UserStep> {
        self.steps.iter().filter(move |s| s.at == at)
    }

    /// A short hash of the plan file, for the report.
    pub fn hash(&self) -> String {
        let text = std::fs::read(&self.origin).unwrap_or_default();
        blake3::hash(&text).to_hex()[..16].to_string()
    }
}

/// `${VAR}` replaced from the environment; an unset variable is an error
/// naming it (never its value).
pub fn expand(s: &str) -> Result<String> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("${") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        let Some(end) = after.find('}') else {
            return Err(Error::Invalid(format!(
                "unclosed ${{ in {}",
                ferry_core::url::redact_raw(s)
            )));
        };
        let var = &after[..end];
        let value = std::env::var(var)
            .map_err(|_| Error::Invalid(format!("the plan names ${{{var}}}, which is not set")))?;
        out.push_str(&value);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plan_parses_with_defaults_and_refuses_unknown_keys() {
        let text = r#"
name = "orders"
job = "job.toml"
slot = "orders_move"
[blue]
app_roles = ["app"]
[freeze]
budget = "20s"
[switch]
command = ["./switch.sh"]
[[steps]]
at = "verified"
name = "baseline"
run = ["true"]
[[versions]]
tool = "alembic"
"#;
        let plan: Plan = toml::from_str(text).unwrap();
        plan.validate().unwrap();
        assert_eq!(plan.freeze.budget, Dur(Duration::from_secs(20)));
        assert_eq!(plan.gates.max_lag, Dur(Duration::from_secs(2)));
        assert!(plan.after.reverse_sync);
        assert_eq!(plan.green_roles(), ["app"]);
        assert_eq!(plan.slot_name("rev"), "ferry_rev_orders");
        assert!(plan.versions[0]
            .query()
            .unwrap()
            .contains("alembic_version"));
        let bad = format!("{text}\n[drain]\ntimeout = \"1s\"\nwait = 3\n");
        let e = toml::from_str::<Plan>(&bad).unwrap_err().to_string();
        assert!(e.contains("wait"), "{e}");
    }

    #[test]
    fn variables_expand_and_an_unset_one_is_named() {
        std::env::set_var("FERRY_PLAN_TEST_HOST", "db1");
        assert_eq!(
            expand("postgres://u@${FERRY_PLAN_TEST_HOST}/x").unwrap(),
            "postgres://u@db1/x"
        );
        let e = expand("${FERRY_PLAN_TEST_UNSET}").unwrap_err().to_string();
        assert!(e.contains("FERRY_PLAN_TEST_UNSET"), "{e}");
    }
}
