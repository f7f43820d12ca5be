//! The flags that say what a job reads and writes, shared by `copy`, `plan`
//! and `verify`, and how they become a [`Job`]: the `--job` file first,
//! then every flag given on the command line over it.

use std::path::PathBuf;

use anyhow::bail;

use ferry_core::DbUrl;
use ferry_engine::Job;

use crate::connect_args::{self, ConnectArgs, Role};

#[derive(clap::Args)]
pub struct JobArgs {
    /// A TOML job file (tables, per-table options, copy and verify
    /// settings); flags given here override what it says.
    #[arg(long, value_name = "FILE")]
    pub job: Option<PathBuf>,
    /// Source URL: postgres://user[:password]@host[:port]/db or mysql://…
    /// (password also from FERRY_SOURCE_PASSWORD, PGPASSWORD or MYSQL_PWD).
    #[arg(long)]
    pub source: Option<String>,
    /// Target URL (password also from FERRY_TARGET_PASSWORD, PGPASSWORD or MYSQL_PWD).
    #[arg(long)]
    pub target: Option<String>,
    /// Tables, comma-separated: `name`, `schema.name` or globs (`sales.*`,
    /// `orders_20??`). Default: every base table of the source schema.
    #[arg(long, value_delimiter = ',')]
    pub tables: Vec<String>,
    /// Globs of tables to leave out, comma-separated (`audit_*,tmp_*`).
    #[arg(long, value_delimiter = ',', value_name = "GLOB")]
    pub exclude: Vec<String>,
    /// Source schema (or database, for engines without schemas). Default: public / the URL's.
    #[arg(long)]
    pub schema: Option<String>,
    /// Target schema (or database). Default: public / the URL's.
    #[arg(long)]
    pub target_schema: Option<String>,
    /// A TOML file of per-type and per-column mapping overrides.
    #[arg(long)]
    pub mapping: Option<PathBuf>,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

impl JobArgs {
    /// The job file (if any) with these flags over it; `over` holds the
    /// command's own settings (copy or verify flags) to lay on top too.
    pub fn job(&self, over: Job) -> anyhow::Result<Job> {
        let base = match &self.job {
            Some(path) => Job::from_file(path)?,
            None => Job::default(),
        };
        let flags = Job {
            source: self.source.clone(),
            target: self.target.clone(),
            tables: self.tables.clone(),
            exclude: self.exclude.clone(),
            schema: self.schema.clone(),
            target_schema: self.target_schema.clone(),
            mapping: self.mapping.clone(),
            ..Job::default()
        };
        Ok(base.overlay(flags.overlay(over)))
    }

    /// The job's two URLs, completed from flags, files and the environment.
    pub fn urls(&self, job: &Job) -> anyhow::Result<(DbUrl, DbUrl)> {
        let Some(source) = &job.source else {
            bail!("no source: give --source or `source` in the job file");
        };
        let Some(target) = &job.target else {
            bail!("no target: give --target or `target` in the job file");
        };
        Ok((
            connect_args::resolve(source, Role::Source, &self.connect)?,
            connect_args::resolve(target, Role::Target, &self.connect)?,
        ))
    }
}

/// `Some(true)` for a switch given on the command line, else `None`, so an
/// absent switch leaves the job file's setting alone.
pub fn switch(on: bool) -> Option<bool> {
    on.then_some(true)
}
