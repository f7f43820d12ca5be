//! A reshaped table's batches: checks judged on what the source read,
//! then the written columns picked and transformed. One implementation for
//! copy and verify, so a verified copy compares exactly what copy wrote.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{DataType, SchemaRef};
use regex::Regex;

use ferry_core::arrow::{plan_schema, render_key};
use ferry_core::transform::{CheckRule, Reshape};
use ferry_core::{Error, Result, TablePlan};

use super::builtin;

/// A row a check refused: its key (rendered as in every error) and the
/// check's name; the value is never kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckFailure {
    pub key: String,
    pub check: String,
    /// The column a built-in check judges (empty for a SQL check).
    pub column: String,
}

/// What a reshaped reader needs, decided once per read (regexes compiled,
/// the written schema built), then run on every batch.
pub struct Reshaper {
    reshape: Reshape,
    written: SchemaRef,
    table: String,
    patterns: Vec<Option<Regex>>,
}

impl Reshaper {
    /// For `plan` (the written plan, which has a reshape).
    pub fn new(plan: &TablePlan) -> Result<Reshaper> {
        let reshape = plan
            .reshape
            .as_deref()
            .cloned()
            .ok_or_else(|| Error::Bug("a reshaper for a plan without a reshape".into()))?;
        let patterns = reshape
            .checks
            .iter()
            .map(|c| match &c.rule {
                CheckRule::Matches { pattern, .. } => Regex::new(pattern).map(Some).map_err(|e| {
                    Error::Invalid(format!(
                        "table {} check {}: bad regex: {e}",
                        plan.source, c.name
                    ))
                }),
                _ => Ok(None),
            })
            .collect::<Result<_>>()?;
        Ok(Reshaper {
            reshape,
            written: plan_schema(plan),
            table: plan.source.to_string(),
            patterns,
        })
    }

    /// The rows of `batch` (a batch of the read plan) that pass every
    /// check, as batches of the written plan (zero-copy slices of the runs
    /// of passing rows, then transformed), and the rows that failed (the
    /// first check each failed).
    pub fn apply(&self, batch: &RecordBatch) -> Result<(Vec<RecordBatch>, Vec<CheckFailure>)> {
        let failed = self.failing_rows(batch)?;
        let mut failures = Vec::with_capacity(failed.len());
        let mut out = Vec::new();
        let mut start = 0;
        for &(row, check) in &failed {
            if row > start {
                out.push(self.written_batch(&batch.slice(start, row - start))?);
            }
            let c = &self.reshape.checks[check];
            failures.push(CheckFailure {
                key: render_key(&self.reshape.read, batch, row),
                check: c.name.clone(),
                column: c.column.clone().unwrap_or_default(),
            });
            start = row + 1;
        }
        if start < batch.num_rows() {
            out.push(self.written_batch(&batch.slice(start, batch.num_rows() - start))?);
        }
        Ok((out, failures))
    }

    /// (row, check) of each row that fails a check, in row order: the
    /// first failing check in the job's order names it.
    fn failing_rows(&self, batch: &RecordBatch) -> Result<Vec<(usize, usize)>> {
        if self.reshape.checks.is_empty() {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        for row in 0..batch.num_rows() {
            for (i, c) in self.reshape.checks.iter().enumerate() {
                let fails = match &c.rule {
                    CheckRule::NotNull { column } => batch.column(*column).is_null(row),
                    CheckRule::Sql { column } => sql_check_fails(batch.column(*column), row)
                        .ok_or_else(|| {
                            Error::Bug(format!(
                                "table {} check {}: the source gave the check a {} column",
                                self.table,
                                c.name,
                                batch.column(*column).data_type()
                            ))
                        })?,
                    CheckRule::Matches { column, .. } => {
                        let a = batch.column(*column);
                        let Some(text) = a.as_string_opt::<i32>() else {
                            return Err(Error::Bug(format!(
                                "table {} check {}: matches() on a {} column",
                                self.table,
                                c.name,
                                a.data_type()
                            )));
                        };
                        // NULL passes, as in a SQL CHECK.
                        !text.is_null(row)
                            && !self.patterns[i]
                                .as_ref()
                                .is_some_and(|re| re.is_match(text.value(row)))
                    }
                };
                if fails {
                    out.push((row, i));
                    break;
                }
            }
        }
        Ok(out)
    }

    /// The written columns of `batch`, transformed.
    fn written_batch(&self, batch: &RecordBatch) -> Result<RecordBatch> {
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(self.reshape.columns.len());
        for (i, src) in self.reshape.columns.iter().enumerate() {
            let mut a = batch.column(src.read).clone();
            for &t in &src.transforms {
                a = builtin::apply(t, &a).map_err(|why| {
                    Error::Bug(format!(
                        "table {} column {}: {why}",
                        self.table,
                        self.written.field(i).name()
                    ))
                })?;
            }
            columns.push(a);
        }
        RecordBatch::try_new(Arc::clone(&self.written), columns)
            .map_err(|e| Error::Bug(format!("table {}: reshaped batch: {e}", self.table)))
    }
}

/// Whether a SQL check's computed column says the row fails (0); `None`
/// for a column of a type a check column never has.
fn sql_check_fails(a: &ArrayRef, row: usize) -> Option<bool> {
    use arrow_array::types::*;
    if a.is_null(row) {
        return Some(false);
    }
    Some(match a.data_type() {
        DataType::Boolean => !a.as_boolean().value(row),
        DataType::Int8 => a.as_primitive::<Int8Type>().value(row) == 0,
        DataType::Int16 => a.as_primitive::<Int16Type>().value(row) == 0,
        DataType::Int32 => a.as_primitive::<Int32Type>().value(row) == 0,
        DataType::Int64 => a.as_primitive::<Int64Type>().value(row) == 0,
        DataType::UInt8 => a.as_primitive::<UInt8Type>().value(row) == 0,
        DataType::UInt16 => a.as_primitive::<UInt16Type>().value(row) == 0,
        DataType::UInt32 => a.as_primitive::<UInt32Type>().value(row) == 0,
        DataType::UInt64 => a.as_primitive::<UInt64Type>().value(row) == 0,
        DataType::Decimal128(_, _) => a.as_primitive::<Decimal128Type>().value(row) == 0,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{Int32Array, StringArray};
    use ferry_core::transform::{Builtin, CheckPlan, ColumnSource};
    use ferry_core::{ColumnPlan, LogicalType, TableRef};

    fn col(name: &str, logical: LogicalType) -> ColumnPlan {
        ColumnPlan {
            name: name.into(),
            logical,
            nullable: true,
            ..ColumnPlan::default()
        }
    }

    /// Written: id, contact_email (masked). Read: id, email, then the SQL
    /// check's computed column.
    fn plan() -> TablePlan {
        let text = LogicalType::Text { max_bytes: None };
        let read = TablePlan {
            source: TableRef::new(None, "people"),
            target: TableRef::new(None, "people"),
            columns: vec![
                col("id", LogicalType::Int32),
                col("email", text.clone()),
                col("ferry_check_0", LogicalType::Int32),
            ],
            primary_key: vec![0],
            ..TablePlan::default()
        };
        TablePlan {
            columns: vec![col("id", LogicalType::Int32), col("contact_email", text)],
            reshape: Some(Box::new(Reshape {
                columns: vec![
                    ColumnSource {
                        read: 0,
                        transforms: vec![],
                    },
                    ColumnSource {
                        read: 1,
                        transforms: vec![Builtin::MaskEmail],
                    },
                ],
                checks: vec![
                    CheckPlan {
                        name: "positive".into(),
                        text: "amount > 0".into(),
                        column: None,
                        rule: CheckRule::Sql { column: 2 },
                    },
                    CheckPlan {
                        name: "email_present".into(),
                        text: "not_null(email)".into(),
                        column: Some("email".into()),
                        rule: CheckRule::NotNull { column: 1 },
                    },
                ],
                read: read.clone(),
                dropped: vec![],
            })),
            ..read
        }
    }

    #[test]
    fn failing_rows_leave_the_batch_named_by_key_and_first_failing_check() {
        let plan = plan();
        let read = plan.source_plan().clone();
        let batch = RecordBatch::try_new(
            plan_schema(&read),
            vec![
                Arc::new(Int32Array::from(vec![1, 2, 3, 4, 5])),
                Arc::new(StringArray::from(vec![
                    Some("ab@x.io"),
                    None,
                    Some("cd@x.io"),
                    None,
                    Some(""),
                ])),
                Arc::new(Int32Array::from(vec![1, 1, 0, 0, 1])),
            ],
        )
        .unwrap();
        let (pieces, failures) = Reshaper::new(&plan).unwrap().apply(&batch).unwrap();
        let keys: Vec<(&str, &str)> = failures
            .iter()
            .map(|f| (f.key.as_str(), f.check.as_str()))
            .collect();
        // Row 4 fails both: the first check in order names it.
        assert_eq!(
            keys,
            [
                ("id=2", "email_present"),
                ("id=3", "positive"),
                ("id=4", "positive")
            ]
        );
        let rows: Vec<(i32, Option<String>)> = pieces
            .iter()
            .flat_map(|b| {
                let ids = b
                    .column(0)
                    .as_primitive::<arrow_array::types::Int32Type>()
                    .clone();
                let emails = b.column(1).as_string::<i32>().clone();
                (0..b.num_rows())
                    .map(move |i| {
                        (
                            ids.value(i),
                            emails.is_valid(i).then(|| emails.value(i).to_string()),
                        )
                    })
                    .collect::<Vec<_>>()
            })
            .collect();
        assert_eq!(
            rows,
            [(1, Some("a*@x.io".into())), (5, Some(String::new()))]
        );
        assert_eq!(pieces[0].schema().field(1).name(), "contact_email");
    }
}
