//! `ferry plan`: every table planned, the value pre-flight over every row,
//! and the DDL proven against the target and taken back.

use super::*;

/// What `ferry plan` found.
pub struct PlanOutcome {
    pub source: Adapter,
    pub target: Adapter,
    pub plans: Vec<TablePlan>,
    pub findings: Vec<Finding>,
    /// Problems that block the copy; empty means the plan is clean.
    pub blocking: Vec<String>,
    /// Every statement the copy would run on the target, in order.
    pub ddl: Vec<String>,
    /// Whether the target ran those statements (see [`DdlProof`]).
    pub proof: DdlProof,
    /// Tables ferry cannot copy as they are, each with its one line (column,
    /// type and the way out); every other table is planned.
    pub unplannable: Vec<(TableRef, String)>,
    /// Views, routines, events… of the source schema, which are not copied.
    pub not_copied: Vec<OtherObject>,
    /// How the target will be written, when it is not the bulk path.
    pub write_note: Option<String>,
}

/// What running a plan's DDL against the target, and taking it back, showed.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum DdlProof {
    /// Every statement ran (and was rolled back, or dropped again with the
    /// scratch namespace it ran in).
    Proven {
        statements: usize,
        scratch: Option<String>,
    },
    /// The proof could not run (e.g. the account may not create a scratch
    /// database); the plan is judged without it, and says so.
    NotProven { reason: String },
    /// The target refused a statement: the copy would fail there.
    Refused { table: TableRef, error: String },
    /// Every table exists in the target already: no DDL to prove.
    Nothing,
}

/// `ferry plan`: describes, plans and pre-flights every table of the job;
/// reads both servers, writes neither.
pub async fn plan_job(job: &Job, source_url: DbUrl, target_url: DbUrl) -> Result<PlanOutcome> {
    let source = Adapter::new(source_url);
    let target = Adapter::new(target_url);
    check_job(job, &source)?;
    let mappings = target_mappings(job, &target).await?;
    source.ping().await?;
    let (mut plans, unplannable) =
        plan_tables_lenient(&source, target.engine(), &mappings, &Selection::of_job(job)).await?;
    // A column no writer can load: an error of its table, as copy would stop.
    for p in &mut plans {
        if let Err(e) = target.check_writable(p).await {
            p.schema.errors.push(ferry_core::error::chain_line(&e));
        }
    }
    let unplannable: Vec<(TableRef, String)> = unplannable
        .into_iter()
        .map(|(t, e)| (t, e.to_string()))
        .collect();
    crate::split::check_split(&source, &plans, &job.split_tables()).await?;
    let findings = preflight(&source, &target, &plans, Scan::Full).await?;
    let mut blocking: Vec<String> = unplannable.iter().map(|(_, e)| e.clone()).collect();
    blocking.extend(blockers(
        &plans,
        &findings,
        job.copy.strict.unwrap_or(false),
    ));
    let ddl = all_ddl(&target, &plans);
    let proof = prove_ddl(job, &source, &target, &mappings, &plans).await?;
    let not_copied = source.other_objects(job.schema.as_deref()).await?;
    if let DdlProof::Refused { table, error } = &proof {
        blocking.push(format!("table {table}: {error}"));
    }
    let write_note = target.write_note().await?;
    Ok(PlanOutcome {
        source,
        target,
        plans,
        findings,
        blocking,
        ddl,
        proof,
        unplannable,
        not_copied,
        write_note,
    })
}

/// Runs every statement the copy would run for the tables it would create,
/// in the copy's order, so "the plan is clean" means the DDL runs. Engines
/// with transactional DDL run them in a transaction rolled back; others in
/// a scratch namespace, planned again under that name and dropped after.
async fn prove_ddl(
    job: &Job,
    source: &Adapter,
    target: &Adapter,
    mappings: &Mappings,
    plans: &[TablePlan],
) -> Result<DdlProof> {
    let existing = target.list_tables(job.target_schema.as_deref()).await?;
    let fresh = |p: &TablePlan| !existing.iter().any(|t| t.name == p.target.name);
    if !plans.iter().any(fresh) {
        return Ok(DdlProof::Nothing);
    }
    let fresh_sources: Vec<TableRef> = plans
        .iter()
        .filter(|p| fresh(p))
        .map(|p| p.source.clone())
        .collect();
    let (outcome, tagged, scratch) = if target.capabilities().transactional_ddl {
        let chosen: Vec<&TablePlan> = plans.iter().filter(|p| fresh(p)).collect();
        let tagged = tagged_ddl(target, &chosen, &[]);
        let stmts: Vec<String> = tagged.iter().map(|(_, s)| s.clone()).collect();
        (target.try_ddl_rolled_back(&stmts).await, tagged, None)
    } else {
        let scratch = match target.create_scratch_namespace().await {
            Ok(name) => name,
            Err(e) => {
                return Ok(DdlProof::NotProven {
                    reason: ferry_core::error::chain_line(&e),
                })
            }
        };
        let selection = Selection {
            target_schema: Some(scratch.clone()),
            ..Selection::of_job(job)
        };
        let result = async {
            let (again, _) =
                plan_tables_lenient(source, target.engine(), mappings, &selection).await?;
            let (chosen, others): (Vec<&TablePlan>, Vec<&TablePlan>) = again
                .iter()
                .partition(|p| fresh_sources.contains(&p.source));
            let tagged = tagged_ddl(target, &chosen, &others);
            let stmts: Vec<String> = tagged.iter().map(|(_, s)| s.clone()).collect();
            Ok::<_, Error>((target.try_ddl_in(&scratch, &stmts).await, tagged))
        }
        .await;
        let dropped = target.drop_scratch_namespace(&scratch).await;
        let (outcome, tagged) = result?;
        dropped?;
        (outcome, tagged, Some(scratch))
    };
    Ok(match outcome {
        Ok(None) => DdlProof::Proven {
            statements: tagged.len(),
            scratch,
        },
        Ok(Some((i, e))) => DdlProof::Refused {
            table: tagged.get(i).map(|(t, _)| t.clone()).unwrap_or_default(),
            error: ferry_core::error::chain_line(&e),
        },
        Err(e) => DdlProof::NotProven {
            reason: ferry_core::error::chain_line(&e),
        },
    })
}

/// The statements of [`all_ddl`] for `plans`, each with its source table,
/// leaving out foreign keys to tables of `others` (which the proof does not create).
fn tagged_ddl(
    target: &Adapter,
    plans: &[&TablePlan],
    others: &[&TablePlan],
) -> Vec<(TableRef, String)> {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for p in plans {
        for s in target.create_ddl(p) {
            if seen.insert(s.clone()) {
                out.push((p.source.clone(), s));
            }
        }
    }
    for p in plans {
        out.extend(
            p.schema
                .post_data
                .iter()
                .map(|s| (p.source.clone(), s.clone())),
        );
    }
    let elsewhere: Vec<String> = others
        .iter()
        .map(|o| format!("REFERENCES {} ", target.dialect().table_sql(&o.target)))
        .collect();
    for p in plans {
        out.extend(
            p.schema
                .foreign_keys
                .iter()
                .filter(|fk| !elsewhere.iter().any(|r| fk.contains(r)))
                .map(|s| (p.source.clone(), s.clone())),
        );
    }
    for p in plans {
        out.extend(
            p.schema
                .sequences
                .iter()
                .map(|s| (p.source.clone(), s.clone())),
        );
    }
    out
}
