//! The pre-flight checks and gates, measured: each a [`CheckValue`] with
//! what was found and the bound it is held to. All of them only read.

use std::time::Duration;

use ferry_core::cutover::FenceSpec;
use ferry_core::{Error, Result};

use super::plan::{FenceMethod, SideName};
use super::state::CheckValue;
use super::{Ctx, Direction, Legs, Side};
use crate::run::plan_job;

fn check(name: &str, ok: bool, value: impl Into<String>, limit: impl Into<String>) -> CheckValue {
    CheckValue {
        name: name.into(),
        ok,
        value: value.into(),
        limit: limit.into(),
    }
}

/// The fence of `side` as the plan sets it.
pub fn fence_spec(ctx: &Ctx, side: &Side, legs: &Legs) -> FenceSpec {
    FenceSpec {
        roles: side.roles.clone(),
        tables: legs.old_tables(),
        grace: ctx.plan.freeze.grace.0,
        lock_timeout: ctx.plan.freeze.lock_timeout.0,
    }
}

/// Transactions on the old side open longer than the plan allows.
pub async fn long_transactions(ctx: &Ctx, legs: &Legs) -> Result<CheckValue> {
    let max = ctx.plan.gates.max_txn_age.0;
    let open = legs.old.adapter.open_transactions(max).await?;
    let value = if open.is_empty() {
        "none".to_string()
    } else {
        open.iter()
            .map(|t| {
                format!(
                    "session {} ({}) open {:.0} s{}",
                    t.session,
                    t.role,
                    t.age_seconds,
                    if t.writes { ", has written" } else { "" }
                )
            })
            .collect::<Vec<_>>()
            .join("; ")
    };
    Ok(check(
        "long transactions",
        open.is_empty(),
        value,
        format!("none open longer than {:?} on {}", max, legs.old.label),
    ))
}

/// Everything checked before anything is fenced, in the order shown.
pub async fn preflight(ctx: &Ctx, legs: &Legs, direction: Direction) -> Result<Vec<CheckValue>> {
    let mut out = Vec::new();
    let old = &legs.old;
    for side in [&legs.old, &legs.new] {
        let reached = side.adapter.ping().await;
        out.push(check(
            &format!("{} reachable", side.label),
            reached.is_ok(),
            match &reached {
                Ok(()) => side.url.to_string(),
                Err(e) => ferry_core::error::chain_line(e),
            },
            "a session opens",
        ));
        reached?;
    }
    let spec = fence_spec(ctx, old, legs);
    if ctx.plan.freeze.method == FenceMethod::Engine {
        let bypasses = old.adapter.fence_bypasses(&spec).await?;
        out.push(check(
            "fence effective",
            bypasses.is_empty(),
            if bypasses.is_empty() {
                format!("{}: no bypass", spec.roles.join(", "))
            } else {
                bypasses
                    .iter()
                    .map(|b| format!("{} {}", b.role, b.reason))
                    .collect::<Vec<_>>()
                    .join("; ")
            },
            format!(
                "no application role of {} can write through the fence",
                old.label
            ),
        ));
        let own = old.adapter.own_write_problem(&spec).await?;
        out.push(check(
            "ferry writes under the fence",
            own.is_none(),
            own.unwrap_or_else(|| "yes".into()),
            "ferry's session writes the marker",
        ));
    }
    let prepared = old.adapter.prepared_transactions().await?;
    out.push(check(
        "prepared transactions",
        prepared.is_empty(),
        if prepared.is_empty() {
            "none".into()
        } else {
            prepared.join(", ")
        },
        format!("none on {} (they survive any session fence)", old.label),
    ));
    out.push(long_transactions(ctx, legs).await?);
    out.push(schema_matches(legs).await?);
    if direction == Direction::Forward && ctx.plan.after.reverse_sync {
        out.extend(way_back(ctx, legs).await?);
    }
    for v in &ctx.plan.versions {
        out.push(versions_equal(v, legs, false).await?);
    }
    for c in &ctx.plan.gates.checks {
        out.push(custom(ctx, c).await?);
    }
    Ok(out)
}

/// Every planned column exists on the new side's table.
async fn schema_matches(legs: &Legs) -> Result<CheckValue> {
    let mut problems = Vec::new();
    for p in &legs.plans {
        match legs.new.adapter.describe(&p.target).await {
            Ok(raw) => {
                let missing: Vec<&str> = p
                    .columns
                    .iter()
                    .filter(|c| !raw.columns.iter().any(|r| r.name == c.name))
                    .map(|c| c.name.as_str())
                    .collect();
                if !missing.is_empty() {
                    problems.push(format!("{} lacks {}", p.target, missing.join(", ")));
                }
            }
            Err(e) => problems.push(ferry_core::error::chain_line(&e)),
        }
    }
    Ok(check(
        "schema unchanged",
        problems.is_empty(),
        if problems.is_empty() {
            format!("{} tables match", legs.plans.len())
        } else {
            problems.join("; ")
        },
        format!(
            "{}'s tables have every column of {}'s",
            legs.new.label, legs.old.label
        ),
    ))
}

/// The way back: green can give a change stream, and what green holds
/// fits blue (the reverse direction's value pre-flight).
async fn way_back(ctx: &Ctx, legs: &Legs) -> Result<Vec<CheckValue>> {
    let new = &legs.new;
    let problem = new.adapter.change_stream_problem().await?;
    let mut out = vec![check(
        "way back: change stream on green",
        problem.is_none(),
        match (&problem, new.adapter.reads_change_stream()) {
            (Some(p), _) => p.clone(),
            (None, true) => "available".into(),
            (None, false) => format!(
                "its position is armed before the switch; ferry does not read {}'s change \
                 stream yet, so `ferry cutover rollback` waits for that",
                new.adapter.engine()
            ),
        },
        "green keeps a change stream from before its first write",
    )];
    let reverse = super::reverse_job(&ctx.job, &ctx.plans, &new.url, &legs.old.url);
    let outcome = plan_job(&reverse, new.url.clone(), legs.old.url.clone()).await;
    out.push(match outcome {
        Ok(p) => check(
            "way back: green's values fit blue",
            p.blocking.is_empty(),
            if p.blocking.is_empty() {
                "every value fits".to_string()
            } else {
                p.blocking.join("; ")
            },
            "no value green holds that blue cannot",
        ),
        Err(e) => check(
            "way back: green's values fit blue",
            false,
            ferry_core::error::chain_line(&e),
            "no value green holds that blue cannot",
        ),
    });
    Ok(out)
}

/// A schema tool's version table lists the same rows on both sides.
pub async fn versions_equal(
    v: &super::plan::VersionTable,
    legs: &Legs,
    enforce: bool,
) -> Result<CheckValue> {
    let q = v.query()?;
    let what = format!("reading the {} version table", v.label());
    let old = legs.old.adapter.text_rows(&q, &what).await;
    let new = legs.new.adapter.text_rows(&q, &what).await;
    let show = |r: &Result<Vec<Vec<Option<String>>>>| match r {
        Ok(rows) => format!(
            "[{}]",
            rows.iter()
                .map(|r| r
                    .iter()
                    .map(|c| c.clone().unwrap_or_default())
                    .collect::<Vec<_>>()
                    .join("/"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Err(e) => ferry_core::error::chain_line(e),
    };
    let same = matches!((&old, &new), (Ok(a), Ok(b)) if a == b);
    Ok(check(
        &format!("{} versions", v.label()),
        same || !enforce,
        format!(
            "{} {} · {} {}",
            legs.old.label,
            show(&old),
            legs.new.label,
            show(&new)
        ),
        if enforce {
            "equal on both sides before the switch"
        } else {
            "equal on both sides before the switch (checked then)"
        },
    ))
}

/// A `[[gates.check]]`.
pub async fn custom(ctx: &Ctx, c: &super::plan::CustomCheck) -> Result<CheckValue> {
    let side = match c.side {
        SideName::Blue => &ctx.blue,
        SideName::Green => &ctx.green,
    };
    let rows = side
        .adapter
        .text_rows(&c.sql, &format!("running check {}", c.name))
        .await?;
    let cell = rows
        .first()
        .and_then(|r| r.first().cloned().flatten())
        .unwrap_or_default();
    let (ok, limit) = match (&c.expect, c.max) {
        (Some(e), _) => (cell == *e, format!("= {e}")),
        (None, Some(m)) => (cell.parse::<f64>().is_ok_and(|v| v <= m), format!("≤ {m}")),
        (None, None) => {
            return Err(Error::Invalid(format!(
                "check {}: give expect or max",
                c.name
            )))
        }
    };
    Ok(check(
        &c.name,
        ok,
        cell,
        format!("{} on {}", limit, side.label),
    ))
}

/// The lag gate as a check.
pub fn lag_check(ctx: &Ctx, lag: Duration, held: Duration) -> CheckValue {
    let g = &ctx.plan.gates;
    check(
        "sync lag",
        lag <= g.max_lag.0 && held >= g.lag_window.0,
        format!(
            "{:.3} s (within bound for {:.1} s)",
            lag.as_secs_f64(),
            held.as_secs_f64()
        ),
        format!(
            "≤ {:.3} s for {:.1} s",
            g.max_lag.0.as_secs_f64(),
            g.lag_window.0.as_secs_f64()
        ),
    )
}

/// The drain estimate as a check: at the sync's pace, what is behind
/// drains in about the lag.
pub fn drain_check(ctx: &Ctx, lag: Duration) -> CheckValue {
    let max = ctx.plan.gates.max_drain_estimate.0;
    check(
        "estimated drain",
        lag <= max,
        format!("{:.3} s", lag.as_secs_f64()),
        format!("≤ {:.3} s", max.as_secs_f64()),
    )
}
