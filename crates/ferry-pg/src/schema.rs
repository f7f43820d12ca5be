//! Schema objects from `pg_catalog`: defaults, identity and serial columns,
//! generated columns, comments, indexes and unique constraints, foreign keys,
//! CHECKs, and ferry's own `ON UPDATE CURRENT_TIMESTAMP` triggers.
//!
//! Expressions are read with `pg_get_expr(…, true)` / `pg_get_constraintdef(…,
//! true)` (the "pretty" forms, fewer redundant casts and parentheses), which
//! the schema translator then takes apart.

use ferry_core::schema::{
    CheckDef, ColumnSchema, ForeignKeyDef, GeneratedDef, IndexDef, IndexPart, TableSchema,
};
use ferry_core::{Result, TableRef};
use tokio_postgres::types::Oid;
use tokio_postgres::Client;

use crate::dialect::ON_UPDATE_FUNCTION;
use crate::error::ctx;
use crate::PgAdapter;

fn action(code: i8) -> String {
    match u8::try_from(code).unwrap_or(b'a') {
        b'r' => "RESTRICT",
        b'c' => "CASCADE",
        b'n' => "SET NULL",
        b'd' => "SET DEFAULT",
        _ => "NO ACTION",
    }
    .to_string()
}

/// Reads the schema objects of relation `rel`; `attnums` pairs each column's
/// attnum with its name.
pub(crate) async fn read(
    client: &Client,
    rel: Oid,
    table: &TableRef,
    attnums: &[(i32, String)],
) -> Result<TableSchema> {
    let what = || format!("reading the schema objects of table {table}");
    let name_of = |n: i32| {
        attnums
            .iter()
            .find(|(a, _)| *a == n)
            .map(|(_, name)| name.clone())
    };
    let mut schema = TableSchema::default();

    let rows = client
        .query(
            "SELECT a.attname::text, pg_catalog.pg_get_expr(d.adbin, d.adrelid, true), \
             a.attidentity::text, a.attgenerated::text, \
             pg_catalog.col_description(a.attrelid, a.attnum), \
             COALESCE(pg_catalog.pg_get_serial_sequence(a.attrelid::regclass::text, a.attname), seq.oid::regclass::text), \
             ARRAY(SELECT DISTINCT od.adrelid::regclass::text FROM pg_catalog.pg_depend odep \
                   JOIN pg_catalog.pg_attrdef od ON odep.classid = 'pg_catalog.pg_attrdef'::regclass AND odep.objid = od.oid \
                   WHERE odep.refclassid = 'pg_catalog.pg_class'::regclass AND odep.refobjid = seq.oid \
                     AND od.adrelid <> a.attrelid \
                     AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_partition_ancestors(od.adrelid) anc \
                                     WHERE anc.relid = a.attrelid) ORDER BY 1) \
             FROM pg_catalog.pg_attribute a \
             LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
             LEFT JOIN LATERAL (SELECT s.oid FROM pg_catalog.pg_depend dep \
                   JOIN pg_catalog.pg_class s ON s.oid = dep.refobjid AND s.relkind = 'S' \
                   WHERE dep.classid = 'pg_catalog.pg_attrdef'::regclass AND dep.objid = d.oid \
                     AND dep.refclassid = 'pg_catalog.pg_class'::regclass LIMIT 1) seq ON true \
             WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
            &[&rel],
        )
        .await
        .map_err(ctx(what()))?;
    for r in &rows {
        let name: String = r.get(0);
        let default: Option<String> = r.get(1);
        let identity: String = r.get(2);
        let generated: String = r.get(3);
        let comment: Option<String> = r.get(4);
        let sequence: Option<String> = r.get(5);
        let shared: Vec<String> = r.get(6);
        let mut c = ColumnSchema {
            name,
            comment,
            ..ColumnSchema::default()
        };
        if generated == "s" {
            c.generated = default.map(|expr| GeneratedDef { expr, stored: true });
        } else if !identity.is_empty() {
            c.auto_increment = true;
            c.identity_always = identity == "a";
        } else if sequence.is_some()
            && default.as_deref().is_some_and(|d| {
                d.starts_with("nextval(") && d.ends_with(')') && d.matches('(').count() == 1
            })
        {
            // serial, or a hand-made sequence behind a nextval() default
            // whether the column owns it or not: both count like
            // auto-increment. A sequence other tables draw from too is noted.
            c.auto_increment = true;
            c.sequence_shared_with = shared;
        } else {
            c.default = default;
        }
        if c.auto_increment {
            if let Some(seq) = &sequence {
                let row = client
                    .query_one(
                        "SELECT CASE WHEN pg_catalog.pg_sequence_last_value(s.seqrelid) IS NULL \
                         THEN s.seqstart ELSE pg_catalog.pg_sequence_last_value(s.seqrelid) + s.seqincrement END \
                         FROM pg_catalog.pg_sequence s WHERE s.seqrelid = $1::text::regclass",
                        &[&seq],
                    )
                    .await
                    .map_err(ctx(what()))?;
                c.next_value = row.get(0);
            }
        }
        schema.columns.push(c);
    }

    schema.comment = client
        .query_one("SELECT pg_catalog.obj_description($1, 'pg_class')", &[&rel])
        .await
        .map_err(ctx(what()))?
        .get(0);

    let rows = client
        .query(
            "SELECT ic.relname::text, i.indisunique, \
             EXISTS (SELECT 1 FROM pg_catalog.pg_constraint c WHERE c.conindid = i.indexrelid AND c.contype = 'u'), \
             am.amname::text, pg_catalog.pg_get_expr(i.indpred, i.indrelid, true), \
             ARRAY(SELECT i.indkey[k - 1]::int4 FROM generate_series(1, i.indnkeyatts) k ORDER BY k), \
             ARRAY(SELECT pg_catalog.pg_get_indexdef(i.indexrelid, k, true) FROM generate_series(1, i.indnkeyatts) k ORDER BY k), \
             ARRAY(SELECT (i.indoption[k - 1] & 1) = 1 FROM generate_series(1, i.indnkeyatts) k ORDER BY k) \
             FROM pg_catalog.pg_index i \
             JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid \
             JOIN pg_catalog.pg_am am ON am.oid = ic.relam \
             WHERE i.indrelid = $1 AND NOT i.indisprimary \
             AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint c WHERE c.conindid = i.indexrelid AND c.contype = 'x') \
             ORDER BY ic.relname COLLATE \"C\"",
            &[&rel],
        )
        .await
        .map_err(ctx(what()))?;
    for r in &rows {
        let keys: Vec<i32> = r.get(5);
        let defs: Vec<String> = r.get(6);
        let desc: Vec<bool> = r.get(7);
        let parts = keys
            .iter()
            .zip(&defs)
            .zip(&desc)
            .map(|((&k, def), &descending)| IndexPart {
                column: (k != 0).then(|| name_of(k)).flatten(),
                expr: (k == 0).then(|| def.clone()),
                descending,
                prefix: None,
            })
            .collect();
        schema.indexes.push(IndexDef {
            name: r.get(0),
            unique: r.get(1),
            constraint: r.get(2),
            method: r.get(3),
            predicate: r.get(4),
            parts,
        });
    }

    let rows = client
        .query(
            "SELECT c.conname::text, fn.nspname::text, fc.relname::text, \
             ARRAY(SELECT a.attname::text FROM unnest(c.conkey) WITH ORDINALITY k(n, o) \
                   JOIN pg_catalog.pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.o), \
             ARRAY(SELECT a.attname::text FROM unnest(c.confkey) WITH ORDINALITY k(n, o) \
                   JOIN pg_catalog.pg_attribute a ON a.attrelid = c.confrelid AND a.attnum = k.n ORDER BY k.o), \
             c.confdeltype, c.confupdtype, c.condeferrable, c.condeferred, c.confmatchtype \
             FROM pg_catalog.pg_constraint c \
             JOIN pg_catalog.pg_class fc ON fc.oid = c.confrelid \
             JOIN pg_catalog.pg_namespace fn ON fn.oid = fc.relnamespace \
             WHERE c.conrelid = $1 AND c.contype = 'f' ORDER BY c.conname COLLATE \"C\"",
            &[&rel],
        )
        .await
        .map_err(ctx(what()))?;
    for r in &rows {
        let mut extra = Vec::new();
        if r.get::<_, i8>(9) == b'f' as i8 {
            extra.push("MATCH FULL");
        }
        if r.get::<_, bool>(7) {
            extra.push(if r.get::<_, bool>(8) {
                "DEFERRABLE INITIALLY DEFERRED"
            } else {
                "DEFERRABLE"
            });
        }
        schema.foreign_keys.push(ForeignKeyDef {
            name: r.get(0),
            ref_table: TableRef::new(Some(r.get::<_, &str>(1)), r.get::<_, &str>(2)),
            columns: r.get(3),
            ref_columns: r.get(4),
            on_delete: action(r.get(5)),
            on_update: action(r.get(6)),
            extra: (!extra.is_empty()).then(|| extra.join(" ")),
        });
    }

    let rows = client
        .query(
            "SELECT conname::text, pg_catalog.pg_get_constraintdef(oid, true) \
             FROM pg_catalog.pg_constraint WHERE conrelid = $1 AND contype = 'c' \
             ORDER BY conname COLLATE \"C\"",
            &[&rel],
        )
        .await
        .map_err(ctx(what()))?;
    for r in &rows {
        let def: String = r.get(1);
        schema.checks.push(CheckDef {
            name: r.get(0),
            expr: check_body(&def),
        });
    }

    let rows = client
        .query(
            "SELECT t.tgname::text, p.proname::text, t.tgargs FROM pg_catalog.pg_trigger t \
             JOIN pg_catalog.pg_proc p ON p.oid = t.tgfoid \
             WHERE t.tgrelid = $1 AND NOT t.tgisinternal ORDER BY t.tgname COLLATE \"C\"",
            &[&rel],
        )
        .await
        .map_err(ctx(what()))?;
    for r in &rows {
        let name: String = r.get(0);
        let function: String = r.get(1);
        let args: Vec<u8> = r.get(2);
        let first = args.split(|&b| b == 0).next().unwrap_or(&[]);
        let column = String::from_utf8_lossy(first).into_owned();
        match schema.columns.iter_mut().find(|c| c.name == column) {
            Some(c) if function == ON_UPDATE_FUNCTION => c.on_update_now = true,
            _ => schema.other_triggers.push(name),
        }
    }

    let rows = client
        .query(
            "SELECT DISTINCT t.typname::text, pg_catalog.pg_get_constraintdef(c.oid, true) \
             FROM pg_catalog.pg_attribute a \
             JOIN pg_catalog.pg_type t ON t.oid = a.atttypid AND t.typtype = 'd' \
             JOIN pg_catalog.pg_constraint c ON c.contypid = t.oid \
             WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY 1, 2",
            &[&rel],
        )
        .await
        .map_err(ctx(what()))?;
    for r in &rows {
        schema.domain_checks.push(format!(
            "domain {}: {}",
            r.get::<_, &str>(0),
            r.get::<_, &str>(1)
        ));
    }
    Ok(schema)
}

/// `CHECK (expr) NOT VALID` → `expr`.
fn check_body(def: &str) -> String {
    let d = def.trim();
    let d = d.strip_suffix("NOT VALID").unwrap_or(d).trim();
    let d = d.strip_prefix("CHECK").unwrap_or(d).trim();
    match d.strip_prefix('(').and_then(|x| x.strip_suffix(')')) {
        Some(inner) => inner.trim().to_string(),
        None => d.to_string(),
    }
}

impl PgAdapter {
    /// Runs each statement in its own implicit transaction, in order.
    /// `what` names the step for an error.
    pub async fn execute(&self, statements: &[String], what: &str) -> Result<()> {
        let client = self.connect().await?;
        for s in statements {
            client
                .batch_execute(s)
                .await
                .map_err(ctx(format!("{what}: {}", first_words(s))))?;
        }
        Ok(())
    }

    /// Like [`execute`](Self::execute), for steps that may have run before
    /// (a resumed run whose finisher was killed part-way): a statement that
    /// fails because its object already exists counts as done. Judged by
    /// SQLSTATE (42P07 duplicate relation, 42710 duplicate object, 42723
    /// duplicate function), never by message text.
    pub async fn execute_idempotent(&self, statements: &[String], what: &str) -> Result<()> {
        use tokio_postgres::error::SqlState;
        let client = self.connect().await?;
        for s in statements {
            if let Err(e) = client.batch_execute(s).await {
                let exists = e.code().is_some_and(|c| {
                    *c == SqlState::DUPLICATE_TABLE
                        || *c == SqlState::DUPLICATE_OBJECT
                        || *c == SqlState::DUPLICATE_FUNCTION
                });
                if !exists {
                    return Err(ctx(format!("{what}: {}", first_words(s)))(e));
                }
            }
        }
        Ok(())
    }

    /// Rows of a query as text (the server's own rendering); NULL is `None`.
    pub async fn text_rows(&self, sql: &str, what: &str) -> Result<Vec<Vec<Option<String>>>> {
        let client = self.connect().await?;
        let msgs = client
            .simple_query(sql)
            .await
            .map_err(ctx(what.to_string()))?;
        Ok(msgs
            .into_iter()
            .filter_map(|m| match m {
                tokio_postgres::SimpleQueryMessage::Row(r) => {
                    Some((0..r.len()).map(|i| r.get(i).map(str::to_string)).collect())
                }
                _ => None,
            })
            .collect())
    }
}

/// The start of a statement, for error messages (never a value: DDL only).
pub(crate) fn first_words(s: &str) -> String {
    let mut out: String = s.chars().take(120).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_bodies() {
        assert_eq!(
            check_body("CHECK (price > 0::numeric)"),
            "price > 0::numeric"
        );
        assert_eq!(check_body("CHECK ((a > 1)) NOT VALID"), "(a > 1)");
    }
}
