//! The dry run (`ferry cutover plan.toml` without `--execute`): every check
//! measured now, every step with the exact statements or commands it would
//! run, its success check, its timeout and its undo. Only reads: the fence
//! is rendered from the current grants, the generator statements from the
//! current values, and nothing is created, not even the state store.

use serde::Serialize;

use ferry_core::Result;

use super::checks::{self, fence_spec};
use super::plan::{FenceMethod, StepPoint, SwitchKind, VerifyMode};
use super::state::{CheckValue, Direction};
use super::{Ctx, Legs};

/// One step as the dry run shows it.
#[derive(Debug, Clone, Serialize)]
pub struct PlannedStep {
    /// The phase it leads to (or runs in).
    pub phase: String,
    pub action: String,
    /// Statements or commands, exactly.
    pub run: Vec<String>,
    /// What undoes it (empty: nothing to undo, or never undone).
    pub undo: Vec<String>,
    /// How success is proven.
    pub check: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
}

/// What the dry run found and would do.
#[derive(Debug, Clone, Serialize)]
pub struct DryRun {
    pub name: String,
    pub direction: Direction,
    pub blue: String,
    pub green: String,
    pub checks: Vec<CheckValue>,
    pub steps: Vec<PlannedStep>,
    /// Every check passed.
    pub go: bool,
}

fn step(
    phase: &str,
    action: impl Into<String>,
    run: Vec<String>,
    check: impl Into<String>,
) -> PlannedStep {
    PlannedStep {
        phase: phase.into(),
        action: action.into(),
        run,
        undo: Vec::new(),
        check: check.into(),
        timeout: None,
    }
}

fn user_steps(ctx: &Ctx, at: StepPoint, phase: &str, out: &mut Vec<PlannedStep>) {
    for s in ctx.plan.steps_at(at) {
        let run = match (&s.run, &s.sql) {
            (Some(r), _) => vec![r.join(" ")],
            (None, Some(sql)) => vec![format!(
                "[{:?}] {sql}",
                s.side.unwrap_or(super::plan::SideName::Blue)
            )],
            _ => Vec::new(),
        };
        let mut p = step(
            phase,
            format!("user step {}", s.name),
            run,
            "exit 0 / no error",
        );
        p.timeout = Some(format!("{:?}", s.timeout.0));
        out.push(p);
    }
}

/// Measures and renders; changes nothing.
pub async fn dry_run(ctx: &Ctx, direction: Direction) -> Result<DryRun> {
    let legs = ctx.legs(direction).await?;
    let mut checks = checks::preflight(ctx, &legs, direction).await?;
    checks.push(sync_position(&legs).await);
    let steps = steps(ctx, &legs, direction).await?;
    Ok(DryRun {
        name: ctx.plan.name.clone(),
        direction,
        blue: ctx.blue.url.to_string(),
        green: ctx.green.url.to_string(),
        go: checks.iter().all(|c| c.ok),
        checks,
        steps,
    })
}

/// Where the sync stands, from what the target stored (the lag itself is
/// measured live once `--execute` runs the sync).
async fn sync_position(legs: &Legs) -> CheckValue {
    let sql = format!(
        "SELECT position, applied_at FROM ferry_sync_position WHERE job = '{}'",
        legs.stream_slot.replace('\'', "''")
    );
    let stored = legs
        .new
        .adapter
        .text_rows(&sql, "reading the sync position")
        .await;
    let value = match stored {
        Ok(rows) => match rows.first() {
            Some(r) => format!(
                "applied up to {} at {}",
                r.first().cloned().flatten().unwrap_or_default(),
                r.get(1).cloned().flatten().unwrap_or_default()
            ),
            None => "no sync has applied anything yet".into(),
        },
        Err(_) => "no sync has applied anything yet".into(),
    };
    let value = match legs.old.adapter.current_position().await {
        Ok((now, _)) => format!("{value}; {} is at {now}", legs.old.label),
        Err(_) => value,
    };
    CheckValue {
        name: "sync position".into(),
        ok: true,
        value,
        limit: "lag is measured live by --execute (it runs the sync)".into(),
    }
}

async fn steps(ctx: &Ctx, legs: &Legs, direction: Direction) -> Result<Vec<PlannedStep>> {
    let plan = &ctx.plan;
    let (old, new) = (&legs.old, &legs.new);
    let mut out = Vec::new();
    user_steps(ctx, StepPoint::Preflight, "preflight", &mut out);
    out.push(step(
        "preflight",
        format!(
            "create the marker table {} on {} and {} on {}; add it to stream {}; start the sync {} → {}",
            legs.marker_old, old.label, legs.marker_new, new.label, legs.stream_slot, old.label, new.label
        ),
        Vec::new(),
        "the sync reports lag",
    ));
    let g = &plan.gates;
    let mut ready = step(
        "ready",
        match &plan.control.postpone_file {
            Some(f) => format!(
                "hold while {} exists (or until `ferry cutover go`), then wait for the gates",
                f.display()
            ),
            None => "wait for the gates".into(),
        },
        Vec::new(),
        format!(
            "lag ≤ {:?} for {:?}; drain estimate ≤ {:?}; no transaction older than {:?}",
            g.max_lag.0, g.lag_window.0, g.max_drain_estimate.0, g.max_txn_age.0
        ),
    );
    ready.timeout = Some(format!("{:?} (then NO-GO, nothing fenced)", g.timeout.0));
    out.push(ready);
    user_steps(ctx, StepPoint::BeforeFence, "ready", &mut out);

    let spec = fence_spec(ctx, old, legs);
    let mut fence = match plan.freeze.method {
        FenceMethod::Engine => {
            let f = old.adapter.plan_fence(&spec).await?;
            let mut s = step(
                "fenced",
                format!("fence {}: {}", old.label, f.sessions),
                f.apply,
                f.probe,
            );
            s.undo = f.undo;
            s
        }
        FenceMethod::Command => {
            let mut s = step(
                "fenced",
                format!("fence {} with the plan's command", old.label),
                vec![plan.freeze.command.join(" ")],
                "exit 0",
            );
            s.undo = vec![plan.freeze.undo.join(" ")];
            s
        }
    };
    fence.timeout = Some(format!(
        "freeze budget {:?} from here to the switch{}",
        plan.freeze.budget.0,
        if plan.freeze.guardian {
            "; a guardian process lifts the fence at the deadline if ferry dies"
        } else {
            ""
        }
    ));
    out.push(fence);
    user_steps(ctx, StepPoint::Fenced, "fenced", &mut out);
    let mut drain = step(
        "drained",
        format!(
            "commit a marker row on {} and let the sync carry it",
            old.label
        ),
        vec![format!(
            "INSERT INTO {} (run_id, attempt) VALUES ('{}/{}', <attempt>)",
            legs.marker_old,
            plan.run_id(),
            match direction {
                Direction::Forward => "forward",
                Direction::Rollback => "rollback",
            }
        )],
        format!(
            "the row is in {} on {}; then the sync stops",
            legs.marker_new, new.label
        ),
    );
    drain.timeout = Some(format!("{:?}", plan.drain.timeout.0));
    out.push(drain);
    user_steps(ctx, StepPoint::Drained, "drained", &mut out);
    let tables: Vec<String> = legs.plans.iter().map(|p| p.source.to_string()).collect();
    out.push(step(
        "verified",
        match plan.verify.mode {
            VerifyMode::Full => format!(
                "verify {} tables whole: {}",
                tables.len(),
                tables.join(", ")
            ),
            VerifyMode::None => "no final verify (verify.mode = none)".into(),
        },
        Vec::new(),
        "0 differences",
    ));
    user_steps(ctx, StepPoint::Verified, "verified", &mut out);
    let old_gens = old.adapter.generators(&legs.old_tables()).await?;
    let new_gens = new.adapter.generators(&legs.new_tables()).await?;
    let mut raise = Vec::new();
    for og in &old_gens {
        let Some(p) = legs.plans.iter().find(|p| p.source == og.table) else {
            continue;
        };
        if let Some(ng) = new_gens
            .iter()
            .find(|g| g.table == p.target && g.column == og.column)
        {
            let want = og.next.saturating_add(plan.sequences.gap);
            let sql = new.adapter.raise_generator_sql(ng, want);
            if sql.is_empty() {
                raise.push(format!("-- {} at {} ≥ {want}: unchanged", ng.name, ng.next));
            }
            raise.extend(sql);
        }
    }
    out.push(step(
        "sequenced",
        format!(
            "move {}'s generators to {}'s next value + {} (only ever up; not undone)",
            new.label, old.label, plan.sequences.gap
        ),
        raise,
        "every generator read back at or past its target",
    ));
    let mut arm = step(
        "reverse_armed",
        match (direction, plan.after.reverse_sync) {
            (Direction::Forward, false) => "no way back (after.reverse_sync = false)".to_string(),
            (Direction::Forward, true) => format!(
                "take change stream {} on {} over its tables and {} (the way back)",
                legs.arm_slot, new.label, legs.marker_new
            ),
            (Direction::Rollback, _) => format!(
                "take change stream {} on {} (measures its first commit)",
                legs.arm_slot, new.label
            ),
        },
        Vec::new(),
        "its start position is recorded",
    );
    arm.undo = vec![format!(
        "drop change stream {} on {}",
        legs.arm_slot, new.label
    )];
    out.push(arm);
    user_steps(ctx, StepPoint::BeforeSwitch, "reverse_armed", &mut out);
    for v in &plan.versions {
        out.push(step(
            "reverse_armed",
            format!("compare the {} version table on both sides", v.label()),
            vec![v.query()?],
            "the same rows on blue and green (else the attempt is undone)",
        ));
    }
    let mut switch = match plan.switch.kind {
        SwitchKind::Command => step(
            "switched",
            format!(
                "switch the application to {} (FERRY_SWITCH_TO={})",
                new.label, new.label
            ),
            vec![plan.switch.command.join(" ")],
            match &plan.switch.verify {
                Some(v) => format!("exit 0, and the probe `{}` exits 0", v.join(" ")),
                None => "exit 0 (no probe: a failure is SWITCH_UNKNOWN)".into(),
            },
        ),
        SwitchKind::Pgbouncer => {
            let pb = plan.switch.pgbouncer.as_ref();
            let db = pb.map(|p| p.database.clone()).unwrap_or_default();
            step(
                "switched",
                format!("repoint PgBouncer database {db} to {}", new.label),
                vec![
                    format!("PAUSE {db}"),
                    format!(
                        "rewrite [databases] {db} in {} to host={} port={} dbname={}",
                        pb.map(|p| p.ini.display().to_string()).unwrap_or_default(),
                        new.url.host,
                        new.url.port,
                        new.url.database
                    ),
                    "RELOAD".into(),
                    format!("RESUME {db}"),
                ],
                "SHOW DATABASES points at the new server",
            )
        }
    };
    switch.timeout = Some(format!(
        "{:?}; a timeout or an unclear outcome is SWITCH_UNKNOWN (nothing undone; confirm green|blue)",
        plan.switch.timeout.0
    ));
    out.push(switch);
    user_steps(ctx, StepPoint::AfterSwitch, "switched", &mut out);
    out.push(step(
        "green_open",
        match direction {
            Direction::Forward => format!("{} takes writes; {} stays fenced", new.label, old.label),
            Direction::Rollback => format!("lift {}'s fence from the cutover", new.label),
        },
        Vec::new(),
        format!(
            "the application's first commit on {} ends the window (waits up to {:?})",
            new.label, plan.after.first_write_timeout.0
        ),
    ));
    user_steps(ctx, StepPoint::GreenOpen, "green_open", &mut out);
    for c in &plan.post_checks {
        out.push(step(
            "green_open",
            format!("post-cutover check {}", c.name),
            vec![c.run.join(" ")],
            format!(
                "prints a number ≤ {} every {:?} for {:?}",
                c.max,
                c.every.0,
                c.duration.map(|d| d.0).unwrap_or_default()
            ),
        ));
    }
    out.push(step(
        "done",
        format!(
            "drop the finished stream {} on {}",
            legs.stream_slot, old.label
        ),
        Vec::new(),
        "the cutover's report is saved",
    ));
    Ok(out)
}
