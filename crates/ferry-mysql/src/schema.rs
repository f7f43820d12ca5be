//! Schema objects from information_schema: defaults, AUTO_INCREMENT and its
//! next value, generated columns, `ON UPDATE CURRENT_TIMESTAMP`, comments,
//! indexes and unique keys, foreign keys, CHECKs, triggers.
//!
//! MariaDB and MySQL 8 differ in how `COLUMN_DEFAULT` reads: MariaDB gives
//! an SQL expression (literals quoted, `NULL` for none), MySQL gives a
//! literal's bare value and marks expressions `DEFAULT_GENERATED` in `EXTRA`.
//! Both are normalised here to MariaDB's form.
//!
//! The index MySQL creates by itself for a foreign key (named after the
//! constraint, on exactly its columns) is not reported: the other engine
//! does not need it, and creating the foreign key recreates it.

use ferry_core::dialect::ExistingColumn;
use ferry_core::schema::{
    CheckDef, ColumnSchema, ForeignKeyDef, GeneratedDef, IndexDef, IndexPart, TableSchema,
};
use ferry_core::{Result, TableRef};
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Row};

use crate::catalog::{text, uint};
use crate::error::ctx;
use crate::{disconnect, quote_ident, quote_literal, Flavor, MySqlAdapter};

fn is_numeric_type(data_type: &str) -> bool {
    matches!(
        data_type,
        "tinyint"
            | "smallint"
            | "mediumint"
            | "int"
            | "bigint"
            | "decimal"
            | "float"
            | "double"
            | "year"
            | "bit"
    )
}

/// Reads the schema objects of `db`.`table`; `json_columns` are MariaDB JSON
/// columns whose `json_valid` check belongs to the type, not the schema.
pub(crate) async fn read(
    conn: &mut Conn,
    flavor: Flavor,
    db: &str,
    table: &TableRef,
    json_columns: &[String],
) -> Result<TableSchema> {
    let what = format!("reading the schema objects of {table}");
    let key = (db.to_string(), table.name.clone());
    let mut schema = TableSchema::default();

    let rows: Vec<Row> = conn
        .exec(
            "SELECT COLUMN_NAME, COLUMN_DEFAULT, EXTRA, GENERATION_EXPRESSION, COLUMN_COMMENT, \
                    DATA_TYPE, IS_NULLABLE \
             FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? \
             ORDER BY ORDINAL_POSITION",
            key.clone(),
        )
        .await
        .map_err(ctx(what.clone()))?;
    for mut r in rows {
        let name = text(r.take(0)).unwrap_or_default();
        let raw_default = text(r.take(1));
        let extra = text(r.take(2)).unwrap_or_default().to_ascii_lowercase();
        let generation = text(r.take(3)).filter(|g| !g.is_empty());
        let comment = text(r.take(4)).filter(|c| !c.is_empty());
        let data_type = text(r.take(5)).unwrap_or_default().to_ascii_lowercase();
        let default = match (flavor, raw_default) {
            (_, None) => None,
            (Flavor::MariaDb, Some(d)) if d.eq_ignore_ascii_case("NULL") => None,
            (Flavor::MariaDb, Some(d)) => Some(d),
            (Flavor::MySql, Some(d)) if extra.contains("default_generated") => Some(d),
            (Flavor::MySql, Some(d)) if is_numeric_type(&data_type) => Some(d),
            (Flavor::MySql, Some(d)) => Some(quote_literal(&d)),
        };
        let generated = generation.map(|expr| GeneratedDef {
            expr,
            stored: extra.contains("stored") || extra.contains("persistent"),
        });
        schema.columns.push(ColumnSchema {
            name,
            default: if generated.is_some() { None } else { default },
            auto_increment: extra.contains("auto_increment"),
            identity_always: false,
            next_value: None,
            sequence_shared_with: Vec::new(),
            generated,
            on_update_now: extra.contains("on update current_timestamp"),
            comment,
            auto_increment_clause: None,
        });
    }

    let trows: Vec<Row> = conn
        .exec(
            "SELECT TABLE_COMMENT, AUTO_INCREMENT FROM information_schema.TABLES \
             WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
            key.clone(),
        )
        .await
        .map_err(ctx(what.clone()))?;
    if let Some(mut r) = trows.into_iter().next() {
        schema.comment = text(r.take(0)).filter(|c| !c.is_empty());
        let next = uint(r.take(1)).and_then(|n| i64::try_from(n).ok());
        if let Some(c) = schema.columns.iter_mut().find(|c| c.auto_increment) {
            c.next_value = next;
        }
    }

    // Foreign keys first: their automatic indexes are recognised below.
    let rows: Vec<Row> = conn
        .exec(
            "SELECT rc.CONSTRAINT_NAME, rc.UPDATE_RULE, rc.DELETE_RULE, k.COLUMN_NAME, \
                    k.REFERENCED_TABLE_SCHEMA, k.REFERENCED_TABLE_NAME, k.REFERENCED_COLUMN_NAME \
             FROM information_schema.REFERENTIAL_CONSTRAINTS rc \
             JOIN information_schema.KEY_COLUMN_USAGE k \
               ON k.CONSTRAINT_SCHEMA = rc.CONSTRAINT_SCHEMA AND k.CONSTRAINT_NAME = rc.CONSTRAINT_NAME \
              AND k.TABLE_NAME = rc.TABLE_NAME \
             WHERE rc.CONSTRAINT_SCHEMA = ? AND rc.TABLE_NAME = ? \
             ORDER BY rc.CONSTRAINT_NAME, k.ORDINAL_POSITION",
            key.clone(),
        )
        .await
        .map_err(ctx(what.clone()))?;
    for mut r in rows {
        let name = text(r.take(0)).unwrap_or_default();
        let on_update = text(r.take(1)).unwrap_or_default();
        let on_delete = text(r.take(2)).unwrap_or_default();
        let column = text(r.take(3)).unwrap_or_default();
        let ref_db = text(r.take(4)).unwrap_or_default();
        let ref_name = text(r.take(5)).unwrap_or_default();
        let ref_column = text(r.take(6)).unwrap_or_default();
        match schema.foreign_keys.last_mut() {
            Some(fk) if fk.name == name => {
                fk.columns.push(column);
                fk.ref_columns.push(ref_column);
            }
            _ => {
                let ref_schema = if ref_db == db {
                    table.schema.clone()
                } else {
                    Some(ref_db)
                };
                schema.foreign_keys.push(ForeignKeyDef {
                    name,
                    columns: vec![column],
                    ref_table: TableRef {
                        schema: ref_schema,
                        name: ref_name,
                    },
                    ref_columns: vec![ref_column],
                    on_delete,
                    on_update,
                    extra: None,
                });
            }
        }
    }

    let expression = if flavor == Flavor::MySql {
        "EXPRESSION"
    } else {
        "NULL"
    };
    let rows: Vec<Row> = conn
        .exec(
            format!(
                "SELECT INDEX_NAME, NON_UNIQUE, COLUMN_NAME, SUB_PART, INDEX_TYPE, COLLATION, {expression} \
                 FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? \
                 AND INDEX_NAME <> 'PRIMARY' ORDER BY INDEX_NAME, SEQ_IN_INDEX"
            ),
            key.clone(),
        )
        .await
        .map_err(ctx(what.clone()))?;
    for mut r in rows {
        let name = text(r.take(0)).unwrap_or_default();
        let non_unique = uint(r.take(1)).unwrap_or(1) != 0;
        let column = text(r.take(2));
        let prefix = uint(r.take(3)).and_then(|n| u32::try_from(n).ok());
        let method = text(r.take(4)).unwrap_or_default().to_ascii_lowercase();
        let descending = text(r.take(5)).is_some_and(|c| c == "D");
        let expr = text(r.take(6));
        let part = IndexPart {
            column,
            expr,
            descending,
            prefix,
        };
        match schema.indexes.last_mut() {
            Some(ix) if ix.name == name => ix.parts.push(part),
            _ => schema.indexes.push(IndexDef {
                name,
                unique: !non_unique,
                constraint: !non_unique,
                parts: vec![part],
                predicate: None,
                method,
            }),
        }
    }
    let fks = schema.foreign_keys.clone();
    schema.indexes.retain(|ix| {
        !fks.iter().any(|fk| {
            fk.name == ix.name
                && !ix.unique
                && ix.parts.len() == fk.columns.len()
                && ix
                    .parts
                    .iter()
                    .zip(&fk.columns)
                    .all(|(p, c)| p.column.as_deref() == Some(c.as_str()) && p.prefix.is_none())
        })
    });

    let check_sql = match flavor {
        Flavor::MariaDb => {
            "SELECT CONSTRAINT_NAME, CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS \
             WHERE CONSTRAINT_SCHEMA = ? AND TABLE_NAME = ? ORDER BY CONSTRAINT_NAME"
        }
        Flavor::MySql => {
            "SELECT cc.CONSTRAINT_NAME, cc.CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS cc \
             JOIN information_schema.TABLE_CONSTRAINTS tc \
               ON tc.CONSTRAINT_SCHEMA = cc.CONSTRAINT_SCHEMA AND tc.CONSTRAINT_NAME = cc.CONSTRAINT_NAME \
             WHERE tc.CONSTRAINT_SCHEMA = ? AND tc.TABLE_NAME = ? AND tc.CONSTRAINT_TYPE = 'CHECK' \
             ORDER BY cc.CONSTRAINT_NAME"
        }
    };
    let rows: Vec<Row> = conn
        .exec(check_sql, key.clone())
        .await
        .map_err(ctx(what.clone()))?;
    for mut r in rows {
        let name = text(r.take(0)).unwrap_or_default();
        let expr = text(r.take(1)).unwrap_or_default();
        let json_check = json_columns.iter().any(|c| {
            expr.trim()
                .eq_ignore_ascii_case(&format!("json_valid({})", quote_ident(c)))
        });
        if !json_check {
            schema.checks.push(CheckDef { name, expr });
        }
    }

    let rows: Vec<Row> = conn
        .exec(
            "SELECT TRIGGER_NAME FROM information_schema.TRIGGERS \
             WHERE EVENT_OBJECT_SCHEMA = ? AND EVENT_OBJECT_TABLE = ? ORDER BY TRIGGER_NAME",
            key,
        )
        .await
        .map_err(ctx(what))?;
    schema.other_triggers = rows
        .into_iter()
        .filter_map(|mut r| text(r.take(0)))
        .collect();
    Ok(schema)
}

/// The name in ferry's own `ALTER TABLE … ADD CONSTRAINT `name` FOREIGN KEY …`
/// (backtick-quoted, backticks doubled), or `None` for any other statement.
fn added_foreign_key(statement: &str) -> Option<String> {
    let rest = &statement[statement.find(" ADD CONSTRAINT `")? + 17..];
    let mut name = String::new();
    let mut chars = rest.char_indices().peekable();
    while let Some((_, c)) = chars.next() {
        if c == '`' {
            if chars.peek().map(|&(_, n)| n) == Some('`') {
                chars.next();
                name.push('`');
                continue;
            }
            let after = chars.peek().map_or(rest.len(), |&(i, _)| i);
            return rest[after..]
                .trim_start()
                .starts_with("FOREIGN KEY")
                .then_some(name);
        }
        name.push(c);
    }
    None
}

impl MySqlAdapter {
    /// Runs each statement in order on one session. `what` names the step.
    pub async fn execute(&self, statements: &[String], what: &str) -> Result<()> {
        let mut conn = self.connect().await?;
        let mut res = Ok(());
        for s in statements {
            if let Err(e) = conn.query_drop(s).await {
                let head: String = s.chars().take(120).collect();
                res = Err(crate::error::query_error(format!("{what}: {head}"), e));
                break;
            }
        }
        disconnect(conn).await;
        res
    }

    /// Like [`execute`](Self::execute), for steps that may have run before
    /// (a resumed run whose finisher was killed part-way): a statement that
    /// fails because its object already exists counts as done. Judged by
    /// error number (1061 duplicate key name, 1826 duplicate foreign key or
    /// constraint name, 3822 duplicate check constraint, 1359 trigger
    /// exists), never by message text. MariaDB reports a foreign key whose
    /// name exists as the generic 1005 (can't create table), so for a
    /// foreign key ferry added, 1005 counts as done only when the catalog
    /// holds a foreign key of that name.
    pub async fn execute_idempotent(&self, statements: &[String], what: &str) -> Result<()> {
        const ALREADY_EXISTS: &[u16] = &[1061, 1826, 3822, 1359];
        const CANT_CREATE_TABLE: u16 = 1005;
        let mut conn = self.connect().await?;
        let mut res = Ok(());
        for s in statements {
            if let Err(e) = conn.query_drop(s).await {
                let code = crate::error::server_code(&e);
                let mut exists = code.is_some_and(|c| ALREADY_EXISTS.contains(&c));
                if code == Some(CANT_CREATE_TABLE) {
                    if let Some(name) = added_foreign_key(s) {
                        let found: std::result::Result<Option<u64>, _> = conn
                            .exec_first(
                                "SELECT COUNT(*) FROM information_schema.REFERENTIAL_CONSTRAINTS \
                                 WHERE CONSTRAINT_SCHEMA = DATABASE() AND CONSTRAINT_NAME = ?",
                                (name,),
                            )
                            .await;
                        exists = matches!(found, Ok(Some(n)) if n > 0);
                    }
                }
                if !exists {
                    let head: String = s.chars().take(120).collect();
                    res = Err(crate::error::query_error(format!("{what}: {head}"), e));
                    break;
                }
            }
        }
        disconnect(conn).await;
        res
    }

    /// Rows of a query as text; NULL is `None`.
    pub async fn text_rows(&self, sql: &str, what: &str) -> Result<Vec<Vec<Option<String>>>> {
        let mut conn = self.connect().await?;
        let rows: std::result::Result<Vec<Row>, _> = conn.query(sql).await;
        disconnect(conn).await;
        let rows = rows.map_err(ctx(what.to_string()))?;
        Ok(rows
            .into_iter()
            .map(|r| r.unwrap().into_iter().map(|v| text(Some(v))).collect())
            .collect())
    }

    /// The charset and collation of each column of an existing table (none
    /// when the table does not exist yet), lower case, for the pre-flight.
    pub async fn column_charsets(&self, table: &TableRef) -> Result<Vec<ExistingColumn>> {
        let db = match &table.schema {
            Some(s) => quote_literal(s),
            None => "DATABASE()".into(),
        };
        let rows = self
            .text_rows(
                &format!(
                    "SELECT COLUMN_NAME, CHARACTER_SET_NAME, COLLATION_NAME FROM information_schema.COLUMNS \
                     WHERE TABLE_SCHEMA = {db} AND TABLE_NAME = {}",
                    quote_literal(&table.name)
                ),
                &format!("reading the target columns of {table}"),
            )
            .await?;
        Ok(rows
            .into_iter()
            .map(|r| {
                let mut it = r.into_iter();
                ExistingColumn {
                    name: it.next().flatten().unwrap_or_default(),
                    charset: it.next().flatten().map(|c| c.to_ascii_lowercase()),
                    collation: it.next().flatten().map(|c| c.to_ascii_lowercase()),
                }
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::added_foreign_key;

    #[test]
    fn foreign_key_names_of_ferrys_own_statements() {
        assert_eq!(
            added_foreign_key(
                "ALTER TABLE `c` ADD CONSTRAINT `c_p``x` FOREIGN KEY (`p`) REFERENCES `p` (`id`)"
            )
            .as_deref(),
            Some("c_p`x")
        );
        assert_eq!(
            added_foreign_key("ALTER TABLE `c` ADD CONSTRAINT `ck` CHECK (a > 0)"),
            None
        );
        assert_eq!(added_foreign_key("CREATE INDEX `i` ON `c` (`p`)"), None);
    }
}
