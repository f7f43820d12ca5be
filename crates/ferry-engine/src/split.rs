//! `ferry copy --split`: tables the user needs copied in parallel key
//! ranges. A 500 GB table that would go as one stream (no primary key, or
//! a key of a type ferry does not split on) is refused before anything is
//! read or written, instead of being found out hours later.

use ferry_core::{Error, Result, TablePlan, TableRef};

use crate::Adapter;

/// Refuses a `split` table that the run does not copy, or that would not
/// be split by key. A name without a schema stands for every copied table
/// of that name. A table that is only too small to split passes: its key
/// splits.
pub async fn check_split(source: &Adapter, plans: &[TablePlan], split: &[TableRef]) -> Result<()> {
    for wanted in split {
        let mut found = false;
        for plan in plans.iter().filter(|p| names(source, wanted, &p.source)) {
            found = true;
            if let Some(why) = source.no_key_split(plan).await? {
                return Err(Error::Table {
                    table: plan.source.to_string(),
                    problem: format!("--split asks for key ranges, but {why}"),
                });
            }
        }
        if !found {
            return Err(Error::Table {
                table: wanted.to_string(),
                problem: "--split names a table this copy does not take".into(),
            });
        }
    }
    Ok(())
}

/// Whether `wanted` (as the user wrote it) names the source table `table`.
fn names(source: &Adapter, wanted: &TableRef, table: &TableRef) -> bool {
    wanted.name == table.name
        && wanted
            .schema
            .as_deref()
            .is_none_or(|s| s == source.schema_of(table))
}
