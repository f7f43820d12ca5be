//! The schema objects of a table from `sys.*`: defaults, identity, computed
//! columns, comments (`MS_Description` extended properties), indexes
//! (filtered ones with their predicate), foreign keys, CHECKs, triggers;
//! and the statements the engine runs outside a copy.
//!
//! What the neutral description cannot carry becomes a note naming the
//! object (`plan` shows notes as warnings): included columns of an index,
//! columnstore, XML and spatial indexes, disabled constraints.

use ferry_core::dialect::ExistingColumn;
use ferry_core::schema::{
    CheckDef, ColumnSchema, ForeignKeyDef, GeneratedDef, IndexDef, IndexPart, TableSchema,
};
use ferry_core::{RawColumn, Result, TableRef};

use crate::catalog::{flag, int, object_name, rows, text};
use crate::error::{ctx, server_code, ALREADY_EXISTS};
use crate::{close, Client, MssqlAdapter};

fn action(desc: Option<String>) -> String {
    desc.unwrap_or_default().replace('_', " ")
}

/// Reads the schema objects of `table`, with notes on what does not carry.
pub(crate) async fn read(
    client: &mut Client,
    table: &TableRef,
    columns: &[RawColumn],
) -> Result<(TableSchema, Vec<String>)> {
    let what = format!("reading the schema objects of {table}");
    let obj = object_name(table);
    let o = obj.as_str();
    let mut schema = TableSchema::default();
    let mut notes = Vec::new();

    let cols = rows(
        client,
        "SELECT c.name, dc.definition, c.is_identity, \
                CAST(ic.seed_value AS bigint), CAST(ic.increment_value AS bigint), \
                CAST(ic.last_value AS bigint), cc.definition, cc.is_persisted, \
                CAST(ep.value AS nvarchar(max)) \
         FROM sys.columns c \
         LEFT JOIN sys.default_constraints dc ON dc.object_id = c.default_object_id \
         LEFT JOIN sys.identity_columns ic ON ic.object_id = c.object_id AND ic.column_id = c.column_id \
         LEFT JOIN sys.computed_columns cc ON cc.object_id = c.object_id AND cc.column_id = c.column_id \
         LEFT JOIN sys.extended_properties ep ON ep.class = 1 AND ep.major_id = c.object_id \
              AND ep.minor_id = c.column_id AND ep.name = N'MS_Description' \
         WHERE c.object_id = OBJECT_ID(@P1) ORDER BY c.column_id",
        &[&o],
    )
    .await
    .map_err(ctx(what.clone()))?;
    for r in &cols {
        let identity = flag(&r[2]);
        let seed = int(&r[3]);
        let step = int(&r[4]).unwrap_or(1);
        let last = int(&r[5]);
        if identity && step != 1 {
            notes.push(format!(
                "identity column {} counts by {step}; the target's counter counts by 1",
                text(&r[0]).unwrap_or_default()
            ));
        }
        schema.columns.push(ColumnSchema {
            name: text(&r[0]).unwrap_or_default(),
            default: text(&r[1]),
            auto_increment: identity,
            auto_increment_clause: None,
            identity_always: false,
            // Never used: the seed; else one step past the last value.
            next_value: identity
                .then(|| last.map(|l| l.saturating_add(step)).or(seed))
                .flatten(),
            sequence_shared_with: Vec::new(),
            generated: text(&r[6]).map(|expr| GeneratedDef {
                expr,
                stored: flag(&r[7]),
            }),
            on_update_now: false,
            comment: text(&r[8]),
        });
    }
    // Columns the catalog listed but this query did not (none in practice).
    for c in columns.iter().skip(schema.columns.len()) {
        schema.columns.push(ColumnSchema {
            name: c.name.clone(),
            ..ColumnSchema::default()
        });
    }

    let t = rows(
        client,
        "SELECT CAST(ep.value AS nvarchar(max)) FROM sys.extended_properties ep \
         WHERE ep.class = 1 AND ep.major_id = OBJECT_ID(@P1) AND ep.minor_id = 0 \
         AND ep.name = N'MS_Description'",
        &[&o],
    )
    .await
    .map_err(ctx(what.clone()))?;
    schema.comment = t.first().and_then(|r| text(&r[0]));

    let ix = rows(
        client,
        "SELECT i.name, i.is_unique, i.is_unique_constraint, i.type_desc, i.filter_definition, \
                c.name, ic.is_descending_key, ic.is_included_column, i.is_disabled \
         FROM sys.indexes i \
         JOIN sys.index_columns ic ON ic.object_id = i.object_id AND ic.index_id = i.index_id \
         JOIN sys.columns c ON c.object_id = ic.object_id AND c.column_id = ic.column_id \
         WHERE i.object_id = OBJECT_ID(@P1) AND i.is_primary_key = 0 AND i.is_hypothetical = 0 \
           AND i.type > 0 \
         ORDER BY i.index_id, ic.is_included_column, ic.key_ordinal, ic.index_column_id",
        &[&o],
    )
    .await
    .map_err(ctx(what.clone()))?;
    let mut included: Vec<(String, Vec<String>)> = Vec::new();
    for r in &ix {
        let name = text(&r[0]).unwrap_or_default();
        let kind = text(&r[3]).unwrap_or_default().to_ascii_lowercase();
        let column = text(&r[5]);
        if flag(&r[7]) {
            match included.last_mut() {
                Some((n, cols)) if *n == name => cols.extend(column),
                _ => included.push((name, column.into_iter().collect())),
            }
            continue;
        }
        let part = IndexPart {
            column,
            expr: None,
            descending: flag(&r[6]),
            prefix: None,
        };
        match schema.indexes.last_mut() {
            Some(ix) if ix.name == name => ix.parts.push(part),
            _ => {
                if flag(&r[8]) {
                    notes.push(format!("index {name} is disabled in the source"));
                }
                schema.indexes.push(IndexDef {
                    name,
                    unique: flag(&r[1]),
                    constraint: flag(&r[2]),
                    parts: vec![part],
                    predicate: text(&r[4]),
                    // Clustered and nonclustered rowstore indexes are
                    // B-trees; columnstore, XML and spatial indexes keep
                    // their kind, which no other engine builds.
                    method: match kind.as_str() {
                        "clustered" | "nonclustered" => "btree".into(),
                        other => other.replace(' ', "_"),
                    },
                });
            }
        }
    }
    for (name, cols) in included {
        notes.push(format!(
            "index {name}: included columns ({}) are not translated; the index is built on \
             its key columns only",
            cols.join(", ")
        ));
    }

    let fk = rows(
        client,
        "SELECT f.name, pc.name, SCHEMA_NAME(rt.schema_id), rt.name, rc.name, \
                f.delete_referential_action_desc, f.update_referential_action_desc, \
                f.is_disabled, f.is_not_trusted \
         FROM sys.foreign_keys f \
         JOIN sys.foreign_key_columns fc ON fc.constraint_object_id = f.object_id \
         JOIN sys.columns pc ON pc.object_id = fc.parent_object_id AND pc.column_id = fc.parent_column_id \
         JOIN sys.tables rt ON rt.object_id = fc.referenced_object_id \
         JOIN sys.columns rc ON rc.object_id = fc.referenced_object_id AND rc.column_id = fc.referenced_column_id \
         WHERE f.parent_object_id = OBJECT_ID(@P1) ORDER BY f.name, fc.constraint_column_id",
        &[&o],
    )
    .await
    .map_err(ctx(what.clone()))?;
    for r in &fk {
        let name = text(&r[0]).unwrap_or_default();
        match schema.foreign_keys.last_mut() {
            Some(f) if f.name == name => {
                f.columns.extend(text(&r[1]));
                f.ref_columns.extend(text(&r[4]));
            }
            _ => {
                // `extra` is SQL for a same-engine target; these are facts
                // for the user: the copy creates the key enabled and checked.
                match (flag(&r[7]), flag(&r[8])) {
                    (true, _) => notes.push(format!(
                        "foreign key {name} is disabled (NOCHECK) in the source; the target's is \
                         enabled and checked"
                    )),
                    (false, true) => notes.push(format!(
                        "foreign key {name} is not trusted in the source (added WITH NOCHECK); \
                         the target's is checked"
                    )),
                    _ => {}
                }
                schema.foreign_keys.push(ForeignKeyDef {
                    name,
                    columns: text(&r[1]).into_iter().collect(),
                    ref_table: TableRef::new(
                        text(&r[2]).as_deref(),
                        &text(&r[3]).unwrap_or_default(),
                    ),
                    ref_columns: text(&r[4]).into_iter().collect(),
                    on_delete: action(text(&r[5])),
                    on_update: action(text(&r[6])),
                    extra: None,
                });
            }
        }
    }

    let ck = rows(
        client,
        "SELECT name, definition, is_disabled FROM sys.check_constraints \
         WHERE parent_object_id = OBJECT_ID(@P1) ORDER BY name",
        &[&o],
    )
    .await
    .map_err(ctx(what.clone()))?;
    for r in &ck {
        let name = text(&r[0]).unwrap_or_default();
        if flag(&r[2]) {
            notes.push(format!("CHECK {name} is disabled in the source"));
        }
        schema.checks.push(CheckDef {
            name,
            expr: text(&r[1]).unwrap_or_default(),
        });
    }

    let tr = rows(
        client,
        "SELECT name FROM sys.triggers WHERE parent_id = OBJECT_ID(@P1) ORDER BY name",
        &[&o],
    )
    .await
    .map_err(ctx(what))?;
    schema.other_triggers = tr.iter().filter_map(|r| text(&r[0])).collect();
    Ok((schema, notes))
}

impl MssqlAdapter {
    /// Runs `statements` in order on one session, each on its own; stops at
    /// the first failure. `what` names the step.
    pub async fn execute(&self, statements: &[String], what: &str) -> Result<()> {
        let mut client = self.connect().await?;
        let mut res = Ok(());
        for s in statements {
            if let Err(e) = crate::simple(&mut client, s).await {
                res = Err(crate::error::query_error(format!("{what}: {}", head(s)), e));
                break;
            }
        }
        close(client).await;
        res
    }

    /// Like [`execute`](Self::execute), for steps that may have run before:
    /// a statement that fails because its object already exists counts as
    /// done, judged by error number ([`ALREADY_EXISTS`]).
    pub async fn execute_idempotent(&self, statements: &[String], what: &str) -> Result<()> {
        let mut client = self.connect().await?;
        let mut res = Ok(());
        for s in statements {
            if let Err(e) = crate::simple(&mut client, s).await {
                if server_code(&e).is_some_and(|c| ALREADY_EXISTS.contains(&c)) {
                    continue;
                }
                res = Err(crate::error::query_error(format!("{what}: {}", head(s)), e));
                break;
            }
        }
        close(client).await;
        res
    }

    /// Rows of a query as text; NULL is `None`. Numbers as digits, bits as
    /// `0`/`1`, dates and times in ISO form.
    pub async fn text_rows(&self, sql: &str, what: &str) -> Result<Vec<Vec<Option<String>>>> {
        let mut client = self.connect().await?;
        let out = async {
            let rows = client.simple_query(sql).await?.into_first_result().await?;
            Ok::<_, tiberius::error::Error>(rows)
        }
        .await;
        close(client).await;
        let rows = out.map_err(ctx(what.to_string()))?;
        Ok(rows
            .into_iter()
            .map(|r| r.into_iter().map(|v| text(&v)).collect())
            .collect())
    }

    /// The collation of each column of an existing table (none when the
    /// table does not exist yet), lower case, for the pre-flight.
    pub async fn column_charsets(&self, table: &TableRef) -> Result<Vec<ExistingColumn>> {
        let mut client = self.connect().await?;
        let obj = object_name(table);
        let out = rows(
            &mut client,
            "SELECT name, collation_name FROM sys.columns WHERE object_id = OBJECT_ID(@P1, 'U') \
             ORDER BY column_id",
            &[&obj.as_str()],
        )
        .await
        .map_err(ctx(format!("reading the target columns of {table}")));
        close(client).await;
        Ok(out?
            .iter()
            .map(|r| ExistingColumn {
                name: text(&r[0]).unwrap_or_default(),
                charset: None,
                collation: text(&r[1]).map(|c| c.to_ascii_lowercase()),
            })
            .collect())
    }
}

fn head(s: &str) -> String {
    let mut out: String = s.chars().take(120).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    out
}
