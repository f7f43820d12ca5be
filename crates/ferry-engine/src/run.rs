//! A job's whole lifecycle, as one call per command: the binary parses
//! arguments into a [`Job`], calls one of these, renders the events it
//! emits and maps the outcome to an exit code. Nothing here prints.
//!
//! `copy`: check the job against the engines' capabilities → describe and
//! plan every table → split check → reach the target → pre-flight gate →
//! register the run in the state store → prepare the targets and copy the
//! ranges ([`crate::copy`]) → post-data schema → finish the run. Every step
//! before the copy writes nothing, so a job that cannot run leaves both
//! databases as they were.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferry_core::event::{Event, EventSink, PlannedTable};
use ferry_core::range::{RangeOptions, SnapshotOptions};
use ferry_core::schema::OtherObject;
use ferry_core::{Capabilities, DbUrl, Engine, Error, Result, TablePlan, TableRef};
use ferry_mapping::{Mappings, Overrides};
use ferry_state::{run_id, PgStore, RunInfo, StateStore};

use crate::adapter::capabilities_of;
use crate::reject::RejectWriter;
use crate::schema::{all_ddl, blockers, finish_schema, preflight, Finding, Scan};
use crate::verify::{verify, VerifyOptions, VerifyReport};
use crate::{
    copy, default_workers, plan_tables, plan_tables_lenient, Adapter, CopyOptions, CopyReport, Job,
    OnError, RunState, Selection,
};

/// Rows per table the copy's pre-flight reads by default: enough to find a
/// column whose values the target cannot hold before anything is created,
/// a small, bounded read beside the copy's one pass over the table.
pub const PREFLIGHT_ROWS: u64 = 100_000;

/// Where state files and reject files go by default: `.ferry/`, or
/// `FERRY_STATE_DIR`.
pub fn state_dir() -> PathBuf {
    std::env::var_os("FERRY_STATE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(".ferry"))
}

/// The job's rules: the built-in ones, its mapping file, then its inline
/// overrides (validated the same way, named after the job file).
pub fn load_mappings(job: &Job) -> Result<Mappings> {
    let mut m = Mappings::builtin()?;
    if let Some(p) = &job.mapping {
        let text = std::fs::read_to_string(p).map_err(|e| {
            Error::Invalid(format!("cannot read mapping file {}: {e}", p.display()))
        })?;
        m = m.with_overrides(&p.display().to_string(), &text)?;
    }
    let inline = Overrides {
        types: job.type_overrides.clone(),
        columns: job.all_column_overrides(),
    };
    let origin = job.origin.clone().unwrap_or_else(|| "job".into());
    m.with_override_values(&origin, inline)
}

/// The job's rules for copying into `target`: [`load_mappings`] with what
/// the target database has (PostGIS or not decides a spatial column's type).
pub async fn target_mappings(job: &Job, target: &Adapter) -> Result<Mappings> {
    Ok(load_mappings(job)?.with_target_features(target.features().await?))
}

/// Refuses settings the engines cannot honour, before anything connects:
/// each flag that only some engines take is checked against the
/// capabilities the engine declares.
pub fn check_job(job: &Job, source: &Adapter) -> Result<()> {
    let caps = source.capabilities();
    // Names the engines that would take the flag, from their declarations.
    let takers = |has: fn(&Capabilities) -> bool| {
        Engine::ALL
            .iter()
            .filter(|e| has(&capabilities_of(**e)))
            .map(|e| e.product())
            .collect::<Vec<_>>()
            .join(" or ")
    };
    if job.copy.cdc_slot.is_some() && caps.change_stream.is_none() {
        return Err(Error::Invalid(format!(
            "--cdc-slot needs a {} source (the source is {})",
            takers(|c| c.change_stream.is_some()),
            source.engine()
        )));
    }
    if job.copy.lock_source == Some(true) && !caps.lock_for_snapshot {
        return Err(Error::Invalid(format!(
            "--lock-source needs a {} source (the source is {})",
            takers(|c| c.lock_for_snapshot),
            source.engine()
        )));
    }
    if job.copy.reject_file.is_some() && job.on_error_or_default() != OnError::Reject {
        return Err(Error::Invalid(
            "--reject-file needs --on-error reject".into(),
        ));
    }
    Ok(())
}

/// What `copy_job` did.
pub struct CopyOutcome {
    pub report: CopyReport,
    /// The source schema's views, routines, events…, which were not copied.
    pub not_copied: Vec<OtherObject>,
    /// Where rejected rows went, when rows could be rejected.
    pub reject_file: Option<PathBuf>,
    pub seconds: f64,
}

/// Runs a copy job from start to finish; see the module docs for the steps.
/// `Err` means the run did not start copying or could not finish its
/// bookkeeping; tables that failed are in the report.
pub async fn copy_job(
    job: &Job,
    source_url: DbUrl,
    target_url: DbUrl,
    events: EventSink,
) -> Result<CopyOutcome> {
    let source = Arc::new(Adapter::new(source_url.clone()));
    let target = Arc::new(Adapter::new(target_url.clone()));
    check_job(job, &source)?;
    let mappings = target_mappings(job, &target).await?;
    // Reaching the source first: a missing database file is said as such.
    source.ping().await?;
    let plans = plan_tables(&source, target.engine(), &mappings, &Selection::of_job(job)).await?;
    crate::split::check_split(&source, &plans, &job.split_tables()).await?;
    // A later `ferry sync` reads the slot: what it needs must exist before the slot does.
    if let Some(slot) = &job.copy.cdc_slot {
        source.prepare_change_stream(slot, &plans).await?;
        crate::sync::check_followable(&plans)?;
    }
    // Reaching the target before any work: a wrong password fails here, not after reading.
    let preexisting = target.list_tables(job.target_schema.as_deref()).await?;
    let rejecting = job.on_error_or_default() == OnError::Reject;
    gate(
        &source,
        &target,
        &plans,
        job.copy.strict.unwrap_or(false),
        // Rows the scan found are exactly what reject mode sets aside.
        job.copy.allow_unclean.unwrap_or(false) || rejecting,
        Scan::FirstRows(job.copy.preflight_rows.unwrap_or(PREFLIGHT_ROWS)),
        &events,
    )
    .await?;
    events.send(Event::Planned {
        tables: plans
            .iter()
            .map(|p| PlannedTable {
                table: p.source.clone(),
                target: p.target.clone(),
                estimated_rows: p.estimated_rows,
            })
            .collect(),
    });
    let schema_plans = plans.clone();
    let not_copied = source.other_objects(job.schema.as_deref()).await?;
    if !not_copied.is_empty() {
        events.send(Event::Warning {
            line: format!(
                "{} schema objects are not tables and are not copied ({}); `ferry plan` lists them",
                not_copied.len(),
                count_kinds(&not_copied)
            ),
        });
    }
    let state = open_state(job, &source_url, &target_url, &plans).await?;
    let workers = job.copy.workers.unwrap_or_else(default_workers).max(1);
    let batch_rows = job
        .copy
        .batch_rows
        .unwrap_or(ferry_core::batch::DEFAULT_BATCH_ROWS)
        .max(1);
    let batch_bytes = job
        .copy
        .batch_bytes
        .unwrap_or(ferry_core::batch::DEFAULT_BATCH_BYTES)
        .max(1);
    let reject_file = rejecting.then(|| {
        job.copy
            .reject_file
            .clone()
            .unwrap_or_else(|| state_dir().join(format!("{}.rejects.jsonl", state.run.run_id)))
    });
    let options = CopyOptions {
        if_exists: job.if_exists_or_default(),
        batch_rows,
        batch_bytes,
        workers,
        snapshot: SnapshotOptions {
            sessions: 0,
            cdc_slot: job.copy.cdc_slot.clone(),
            allow_lock: job.copy.lock_source.unwrap_or(false),
        },
        verify: job.copy.verify.unwrap_or(false).then(|| VerifyOptions {
            batch_rows,
            batch_bytes,
            ..Default::default()
        }),
        preexisting,
        rejects: match &reject_file {
            Some(path) => Some(Arc::new(RejectWriter::open(path)?)),
            None => None,
        },
        on_error: job.on_error_or_default(),
        ranges: Some(RangeOptions {
            max_ranges: job.copy.max_ranges.unwrap_or(workers * 4).max(1),
            min_range_rows: job.copy.min_range_rows.unwrap_or(50_000).max(1),
        }),
        retries: job.copy.retries.unwrap_or(5),
        retry_delay: Duration::from_millis(job.copy.retry_delay_ms.unwrap_or(500)),
        state: Some(state),
        ..CopyOptions::default()
    };
    let started = Instant::now();
    let report = copy(source, target.clone(), plans, &options, events.clone()).await?;
    // Indexes and constraints once per run: by the process that finished
    // it, or for the tables that copied when some failed.
    if builds_schema(&report) {
        let copied: Vec<TableRef> = report.tables.iter().map(|t| t.table.clone()).collect();
        let done = finish_schema(&target, &schema_plans, &copied, &report.preexisting).await?;
        for s in &done.skipped {
            events.send(Event::Warning {
                line: format!("foreign key not created (a table it joins did not copy): {s}"),
            });
        }
        remember_schema_built(&options, &report).await?;
        mark_finished(&options, &report).await?;
    }
    Ok(CopyOutcome {
        report,
        not_copied,
        reject_file,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// `2 views, 1 function`: how many of each kind.
pub fn count_kinds(objects: &[OtherObject]) -> String {
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for o in objects {
        match counts.iter_mut().find(|(k, _)| *k == o.kind) {
            Some((_, n)) => *n += 1,
            None => counts.push((&o.kind, 1)),
        }
    }
    counts
        .iter()
        .map(|(k, n)| format!("{n} {k}{}", if *n == 1 { "" } else { "s" }))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The pre-flight gate of a copy: warns about what does not translate and
/// what a lossy rule changes, and refuses an unclean plan unless
/// `allow_unclean`. Values are checked in a bounded sample of each table
/// (`scan`): the copy reads every row once anyway, and refuses by key what
/// the sample did not see.
async fn gate(
    source: &Adapter,
    target: &Adapter,
    plans: &[TablePlan],
    strict: bool,
    allow_unclean: bool,
    scan: Scan,
    events: &EventSink,
) -> Result<()> {
    let findings = preflight(source, target, plans, scan).await?;
    // Once per copy, before anything is written.
    if let Some(line) = target.write_note().await? {
        events.send(Event::Warning { line });
    }
    for p in plans {
        for w in &p.schema.warnings {
            events.send(Event::Warning {
                line: format!("table {}: {w}", p.source),
            });
        }
    }
    for f in findings.iter().filter(|f| !f.blocking) {
        events.send(Event::Note { line: f.line() });
    }
    let blocking = blockers(plans, &findings, strict);
    if !blocking.is_empty() && !allow_unclean {
        return Err(Error::Invalid(format!(
            "the plan is not clean: {} (`ferry plan` shows the whole report; --allow-unclean copies anyway)",
            blocking.join("; ")
        )));
    }
    for b in &blocking {
        events.send(Event::Warning {
            line: format!("copying anyway (--allow-unclean): {b}"),
        });
    }
    // A column no writer can load stops the run here, before any DDL,
    // whatever --allow-unclean says: its table could not be written at all.
    for p in plans {
        target.check_writable(p).await?;
    }
    Ok(())
}

/// Opens the state store and names the run. The id is derived from what
/// the job copies (redacted URLs, tables, `if_exists`, the mapping file, and
/// row filters or inline overrides when there are any), so re-running the
/// same job resumes it; `state.run_id` names it instead.
async fn open_state(
    job: &Job,
    source: &DbUrl,
    target: &DbUrl,
    plans: &[TablePlan],
) -> Result<RunState> {
    let (id, spec) = run_identity(job, source, target, plans, job.if_exists_or_default());
    let spec_of_store = store_spec(job, &id);
    for url in [source, target] {
        check_store_apart(&spec_of_store, url)?;
    }
    let store = open_store(job, &id).await?;
    Ok(RunState {
        store: Arc::new(store),
        run: RunInfo {
            run_id: id,
            source: source.to_string(),
            target: target.to_string(),
            job: spec,
        },
        resume_only: job.state.resume.unwrap_or(false),
    })
}

/// The run id of the copy a job describes, and the description stored
/// with it: the same source, target, tables (with filters), if-exists
/// choice, overrides and mapping file always give the same id, so running
/// the same command again resumes the run (unless the job names its id).
pub(crate) fn run_identity(
    job: &Job,
    source: &DbUrl,
    target: &DbUrl,
    plans: &[TablePlan],
    if_exists: ferry_core::IfExists,
) -> (String, String) {
    let mut tables: Vec<String> = plans
        .iter()
        .map(|p| match &p.row_filter {
            Some(f) => format!("{}>{} where {f}", p.source, p.target),
            None => format!("{}>{}", p.source, p.target),
        })
        .collect();
    tables.sort();
    let if_exists = serde_json::to_value(if_exists)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    let mut spec = format!("tables {}; if-exists {if_exists}", tables.join(","));
    let inline = job.all_column_overrides().len() + job.type_overrides.len();
    if inline > 0 {
        // The overrides change what lands in the target: a job with other
        // overrides is another run.
        spec.push_str(&format!(
            "; overrides {}",
            serde_json::to_string(&(&job.type_overrides, job.all_column_overrides()))
                .unwrap_or_default()
        ));
    }
    let (s, t) = (source.to_string(), target.to_string());
    let mapping = job
        .mapping
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    let id = match &job.state.run_id {
        Some(id) => id.clone(),
        None => run_id(&[&s, &t, &spec, &mapping]),
    };
    (id, spec)
}

/// The copy run of this job, with its store: with a `stream`, the run
/// that recorded that change stream (`copy --cdc-slot`), where a sync marks
/// dirty ranges and saves its status; without, the run that stored ranges
/// for the job's tables (what `verify --dirty` reads). A sync or verify
/// given the copy's flags finds it whatever `--if-exists` the copy had
/// (they do not take that flag): each choice's run is tried, and only
/// stores that exist are opened.
pub(crate) async fn find_copy_run(
    job: &Job,
    source: &DbUrl,
    target: &DbUrl,
    plans: &[TablePlan],
    stream: Option<&str>,
) -> Result<Option<(StateStore, String)>> {
    use ferry_core::IfExists;
    let mut ids: Vec<String> = Vec::new();
    for choice in [
        job.if_exists_or_default(),
        IfExists::Fail,
        IfExists::Truncate,
        IfExists::Append,
    ] {
        let (id, _) = run_identity(job, source, target, plans, choice);
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    for id in ids {
        let local = job.state.store.is_none();
        if local && !state_dir().join(format!("{id}.db")).exists() {
            continue;
        }
        let store = open_store(job, &id).await?;
        let found = match stream {
            Some(stream) => store.load_stream_position(&id, stream).await?.is_some(),
            None => match plans.first() {
                Some(p) => !store.ranges(&id, &p.source.to_string()).await?.is_empty(),
                None => false,
            },
        };
        if found {
            return Ok(Some((store, id)));
        }
    }
    Ok(None)
}

/// The job's state store: `[state] store` (a SQLite file or a postgres://
/// URL, its password from `FERRY_STATE_PASSWORD` or `PGPASSWORD`), else the
/// run's own SQLite file under [`state_dir`].
pub(crate) async fn open_store(job: &Job, id: &str) -> Result<StateStore> {
    let store_spec = store_spec(job, id);
    let shown = ferry_core::url::redact_raw(&store_spec);
    let cannot = |e: Error| {
        Error::Invalid(format!(
            "cannot open the state store {shown}: {}",
            ferry_core::error::chain_line(&e)
        ))
    };
    let store = if store_spec.starts_with("postgres://") || store_spec.starts_with("postgresql://")
    {
        let mut url = DbUrl::parse(&store_spec)?;
        let password = std::env::var("FERRY_STATE_PASSWORD")
            .ok()
            .or_else(|| std::env::var("PGPASSWORD").ok());
        url.set_password_if_missing(password);
        StateStore::Pg(Box::new(PgStore::open(url).await.map_err(cannot)?))
    } else {
        StateStore::open(&store_spec).await.map_err(cannot)?
    };
    Ok(store)
}

/// Where the job's state store is: `[state] store`, or the run's own
/// SQLite file under [`state_dir`].
fn store_spec(job: &Job, id: &str) -> String {
    match &job.state.store {
        Some(spec) => spec.clone(),
        None => state_dir()
            .join(format!("{id}.db"))
            .to_string_lossy()
            .into_owned(),
    }
}

/// Refuses a SQLite state store that is the source's or the target's own
/// database file: checkpoints would be written into the data, and a
/// target's transactions would wait on the store's.
fn check_store_apart(store_spec: &str, url: &DbUrl) -> Result<()> {
    let Some(file) = url.file_path() else {
        return Ok(());
    };
    if store_spec.contains("://") {
        return Ok(());
    }
    let resolve = |p: &std::path::Path| {
        std::fs::canonicalize(p).unwrap_or_else(|_| {
            std::env::current_dir()
                .map(|d| d.join(p))
                .unwrap_or_else(|_| p.to_path_buf())
        })
    };
    if resolve(std::path::Path::new(store_spec)) == resolve(&file) {
        return Err(Error::Invalid(format!(
            "the state store {store_spec} is the database file of {url}: give --state another file"
        )));
    }
    Ok(())
}

/// Saves a report document of run `run_id` (see `ferry_state`'s
/// `save_report`) in the job's state store.
pub async fn save_report(job: &Job, run_id: &str, kind: &str, json: &str) -> Result<()> {
    open_store(job, run_id)
        .await?
        .save_report(run_id, kind, json)
        .await
}

/// The reports saved for `run_id`, oldest first, as `(kind, json)`.
pub async fn load_reports(job: &Job, run_id: &str) -> Result<Vec<(String, String)>> {
    open_store(job, run_id).await?.reports(run_id).await
}

/// Whether this process builds the post-data schema (indexes, constraints):
/// the process that finished the run, or one whose tables failed (for the
/// tables that did copy).
fn builds_schema(report: &CopyReport) -> bool {
    match &report.run {
        None => true,
        Some(run) => run.finished || !report.failed.is_empty(),
    }
}

/// After the post-data schema of a finishing run is built: the run is finished.
async fn mark_finished(options: &CopyOptions, report: &CopyReport) -> Result<()> {
    if let (Some(state), Some(run)) = (&options.state, &report.run) {
        if run.finished {
            state.store.mark_finished(&state.run.run_id).await?;
        }
    }
    Ok(())
}

/// After a partly failed run built the schema of the tables that copied:
/// records them with the tables that existed before the run, so the run's
/// resume does not build their indexes a second time.
async fn remember_schema_built(options: &CopyOptions, report: &CopyReport) -> Result<()> {
    let Some(state) = &options.state else {
        return Ok(());
    };
    if report.failed.is_empty() {
        return Ok(());
    }
    let mut tables = report.preexisting.clone();
    tables.extend(report.tables.iter().map(|t| t.target.clone()));
    let json = serde_json::to_string(&tables).map_err(|e| Error::Bug(e.to_string()))?;
    state.store.set_preexisting(&state.run.run_id, &json).await
}

/// `ferry verify`: compares every table of the job between source and
/// target; `scope` narrows it to the ranges a sync dirtied and/or repairs
/// what differs (see [`crate::verify::scope`]).
pub async fn verify_job(
    job: &Job,
    source_url: DbUrl,
    target_url: DbUrl,
    scope: crate::verify::VerifyScope,
) -> Result<VerifyReport> {
    let v = &job.verify;
    let (batch_rows, chunk_rows) = (
        v.batch_rows
            .unwrap_or(ferry_core::batch::DEFAULT_BATCH_ROWS),
        v.chunk_rows.unwrap_or(10_000),
    );
    let batch_bytes = v
        .batch_bytes
        .unwrap_or(ferry_core::batch::DEFAULT_VERIFY_BATCH_BYTES);
    if batch_rows == 0 || chunk_rows == 0 || batch_bytes == 0 {
        return Err(Error::Invalid(
            "--batch-rows, --batch-bytes and --chunk-rows must be at least 1".into(),
        ));
    }
    let source = Arc::new(Adapter::new(source_url.clone()));
    let target = Arc::new(Adapter::new(target_url.clone()));
    let mappings = load_mappings(job)?;
    source.ping().await?;
    let plans = plan_tables(&source, target.engine(), &mappings, &Selection::of_job(job)).await?;
    target.ping().await?;
    target.list_tables(job.target_schema.as_deref()).await?;
    let run = if scope.dirty {
        let Some((store, run_id)) =
            find_copy_run(job, &source_url, &target_url, &plans, None).await?
        else {
            return Err(Error::Invalid(
                "verify --dirty: no copy of these tables in the state store (run it with the \
                 copy's flags, or the same [state] store)"
                    .into(),
            ));
        };
        Some(Arc::new(crate::verify::scope::CopyRun { store, run_id }))
    } else {
        None
    };
    let options = VerifyOptions {
        batch_rows,
        batch_bytes,
        chunk_rows,
        max_diffs: v.max_diffs.unwrap_or(100),
        float_ulps: v.float_ulps.unwrap_or(0),
        parallel_tables: v.parallel_tables.unwrap_or(2).max(1),
        parallel_ranges: v.parallel_ranges.unwrap_or(2).max(1),
        ranges: RangeOptions {
            min_range_rows: v.min_range_rows.unwrap_or(50_000).max(1),
            ..Default::default()
        },
    };
    if scope == crate::verify::VerifyScope::default() {
        return verify(source, target, plans, &options).await;
    }
    crate::verify::scope::verify_scoped(source, target, plans, &options, scope, run).await
}

mod plan;

pub use plan::{plan_job, DdlProof, PlanOutcome};
