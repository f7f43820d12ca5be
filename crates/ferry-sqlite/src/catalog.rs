//! The pragmas and `sqlite_schema` → [`RawTable`].
//!
//! Columns, keys, indexes and foreign keys come from the table-valued
//! pragmas (`pragma_table_xinfo`, `pragma_index_list`, `pragma_index_xinfo`,
//! `pragma_foreign_key_list`, `pragma_table_list`); what SQLite keeps only
//! in the `CREATE` text (CHECKs, generation expressions, constraint names,
//! `AUTOINCREMENT`, index expressions and predicates) from [`crate::ddl`].
//!
//! Names SQLite does not keep are made the way PostgreSQL makes them, so a
//! round trip through it gives them back: an unnamed UNIQUE constraint is
//! `<table>_<columns>_key` (SQLite calls its index `sqlite_autoindex_…`),
//! a foreign key `<table>_<columns>_fkey`, a CHECK `<table>_<column>_check`
//! or `<table>_check`.
//!
//! `INTEGER PRIMARY KEY` (the rowid) counts as auto-increment, since it
//! hands out keys by itself; with `AUTOINCREMENT` its next value is
//! `sqlite_sequence`'s.

use ferry_core::adapter::Catalog;
use ferry_core::schema::{
    CheckDef, ColumnSchema, ForeignKeyDef, GeneratedDef, IndexDef, IndexPart, OtherObject,
    TableSchema,
};
use ferry_core::{Error, RawColumn, RawTable, RawType, Result, TableRef};
use rusqlite::{Connection, OptionalExtension};

use crate::ddl::{self, TableText};
use crate::error::ctx;
use crate::{desc, SqliteAdapter};

/// Every base table of the file (no views, virtual or shadow tables, and
/// none of SQLite's own), sorted byte-wise.
pub fn table_names(conn: &Connection) -> Result<Vec<String>> {
    let mut stmt = conn
        .prepare(
            "SELECT name FROM pragma_table_list WHERE schema = 'main' AND type = 'table' \
             AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
        )
        .map_err(ctx("listing the tables"))?;
    let names = stmt
        .query_map([], |r| r.get::<_, String>(0))
        .and_then(|rows| rows.collect::<std::result::Result<Vec<_>, _>>())
        .map_err(ctx("listing the tables"))?;
    let mut names = names;
    names.sort();
    Ok(names)
}

/// The `CREATE TABLE` text of a table (names compare without regard to
/// case, as SQLite's do); `None` when there is no such table.
pub fn table_sql(conn: &Connection, table: &str) -> Result<Option<String>> {
    conn.query_row(
        "SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = ?1 COLLATE NOCASE",
        [table],
        |r| r.get::<_, Option<String>>(0),
    )
    .optional()
    .map(Option::flatten)
    .map_err(ctx(format!("reading the catalog of {table}")))
}

/// One row of `pragma_table_xinfo`.
struct XInfo {
    name: String,
    declared: String,
    notnull: bool,
    default: Option<String>,
    pk: i64,
    /// 2: generated VIRTUAL, 3: generated STORED.
    hidden: i64,
}

fn xinfo(conn: &Connection, table: &str) -> Result<Vec<XInfo>> {
    let what = format!("reading the columns of {table}");
    let mut stmt = conn
        .prepare(
            "SELECT name, type, \"notnull\", dflt_value, pk, hidden FROM pragma_table_xinfo(?1) \
             WHERE hidden <> 1 ORDER BY cid",
        )
        .map_err(ctx(what.clone()))?;
    let rows = stmt
        .query_map([table], |r| {
            Ok(XInfo {
                name: r.get(0)?,
                declared: r.get::<_, Option<String>>(1)?.unwrap_or_default(),
                notnull: r.get::<_, i64>(2)? != 0,
                default: r.get(3)?,
                pk: r.get(4)?,
                hidden: r.get(5)?,
            })
        })
        .and_then(|rows| rows.collect::<std::result::Result<Vec<_>, _>>())
        .map_err(ctx(what))?;
    Ok(rows)
}

/// Describes one table (see the module docs).
pub fn describe(conn: &Connection, table: &TableRef) -> Result<RawTable> {
    let name = table.name.as_str();
    let Some(sql) = table_sql(conn, name)? else {
        return Err(Error::MissingTable {
            table: table.to_string(),
            database: "the SQLite file".into(),
        });
    };
    let text = ddl::parse_table(&sql);
    let cols = xinfo(conn, name)?;
    let (without_rowid, strict): (bool, bool) = conn
        .query_row(
            "SELECT wr, strict FROM pragma_table_list WHERE schema = 'main' AND name = ?1 COLLATE NOCASE",
            [name],
            |r| Ok((r.get::<_, i64>(0)? != 0, r.get::<_, i64>(1)? != 0)),
        )
        .map_err(ctx(format!("reading the catalog of {table}")))?;
    let mut key: Vec<(i64, usize)> = cols
        .iter()
        .enumerate()
        .filter(|(_, c)| c.pk > 0)
        .map(|(i, c)| (c.pk, i))
        .collect();
    key.sort();
    let primary_key: Vec<usize> = key.into_iter().map(|(_, i)| i).collect();
    // The rowid alias: exactly one key column declared exactly INTEGER.
    let rowid_alias = (!without_rowid && primary_key.len() == 1)
        .then(|| primary_key[0])
        .filter(|&i| cols[i].declared.eq_ignore_ascii_case("integer"));

    let mut columns = Vec::with_capacity(cols.len());
    let mut schema = TableSchema::default();
    for (i, c) in cols.iter().enumerate() {
        let facts = text
            .columns
            .iter()
            .find(|t| t.name.eq_ignore_ascii_case(&c.name));
        let generated = (c.hidden >= 2).then(|| GeneratedDef {
            expr: facts
                .and_then(|f| f.generated.as_ref().map(|g| g.0.clone()))
                .unwrap_or_default(),
            stored: c.hidden == 3,
        });
        let is_rowid = rowid_alias == Some(i);
        let autoincrement = is_rowid && facts.is_some_and(|f| f.autoincrement);
        columns.push(RawColumn {
            name: c.name.clone(),
            ty: desc::raw_type(&c.declared),
            // The rowid is never NULL, whatever the declaration says.
            nullable: !c.notnull && !is_rowid,
        });
        schema.columns.push(ColumnSchema {
            name: c.name.clone(),
            default: if generated.is_some() {
                None
            } else {
                c.default.clone()
            },
            auto_increment: is_rowid,
            auto_increment_clause: is_rowid
                .then(|| if autoincrement { "AUTOINCREMENT" } else { "" }.to_string()),
            next_value: if autoincrement {
                next_sequence_value(conn, name)?
            } else {
                None
            },
            generated,
            ..ColumnSchema::default()
        });
    }
    schema.indexes = indexes(conn, table, &text)?;
    schema.foreign_keys = foreign_keys(conn, table, &text)?;
    schema.checks = checks(name, &text);
    schema.other_triggers = triggers(conn, name)?;
    schema.options = match (without_rowid, strict) {
        (false, false) => None,
        (true, false) => Some("WITHOUT ROWID".into()),
        (false, true) => Some("STRICT".into()),
        (true, true) => Some("STRICT, WITHOUT ROWID".into()),
    };
    let estimated_rows = estimate(conn, name, without_rowid)?;
    Ok(RawTable {
        table: table.clone(),
        columns,
        primary_key,
        estimated_rows,
        schema,
        ..RawTable::default()
    })
}

/// `sqlite_sequence`'s value + 1 for an AUTOINCREMENT table.
fn next_sequence_value(conn: &Connection, table: &str) -> Result<Option<i64>> {
    let has: bool = conn
        .query_row(
            "SELECT count(*) FROM sqlite_schema WHERE name = 'sqlite_sequence'",
            [],
            |r| r.get::<_, i64>(0),
        )
        .map(|n| n > 0)
        .map_err(ctx(format!("reading the counter of {table}")))?;
    if !has {
        return Ok(None);
    }
    conn.query_row(
        "SELECT seq + 1 FROM sqlite_sequence WHERE name = ?1 COLLATE NOCASE",
        [table],
        |r| r.get::<_, i64>(0),
    )
    .optional()
    .map_err(ctx(format!("reading the counter of {table}")))
}

/// A row count for progress: `sqlite_stat1` when ANALYZE ran, else the
/// largest rowid (cheap; may overshoot after deletes).
fn estimate(conn: &Connection, table: &str, without_rowid: bool) -> Result<Option<u64>> {
    let stat: Option<String> = conn
        .query_row(
            "SELECT stat FROM sqlite_stat1 WHERE tbl = ?1 COLLATE NOCASE AND idx IS NULL",
            [table],
            |r| r.get(0),
        )
        .optional()
        .unwrap_or(None);
    if let Some(n) = stat.and_then(|s| s.split(' ').next().and_then(|n| n.parse().ok())) {
        return Ok(Some(n));
    }
    if without_rowid {
        return Ok(None);
    }
    let max: Option<i64> = conn
        .query_row(
            &format!("SELECT max(rowid) FROM {}", crate::quote_ident(table)),
            [],
            |r| r.get(0),
        )
        .map_err(ctx(format!("estimating the rows of {table}")))?;
    Ok(max.and_then(|m| u64::try_from(m).ok()))
}

fn indexes(conn: &Connection, table: &TableRef, text: &TableText) -> Result<Vec<IndexDef>> {
    let name = table.name.as_str();
    let what = format!("reading the indexes of {table}");
    let list: Vec<(String, bool, String, bool)> = {
        let mut stmt = conn
            .prepare(
                "SELECT name, \"unique\", origin, partial FROM pragma_index_list(?1) ORDER BY name",
            )
            .map_err(ctx(what.clone()))?;
        let rows = stmt
            .query_map([name], |r| {
                Ok((
                    r.get(0)?,
                    r.get::<_, i64>(1)? != 0,
                    r.get(2)?,
                    r.get::<_, i64>(3)? != 0,
                ))
            })
            .and_then(|rows| rows.collect::<std::result::Result<Vec<_>, _>>())
            .map_err(ctx(what.clone()))?;
        rows
    };
    let mut out = Vec::new();
    for (ix_name, unique, origin, partial) in list {
        if origin == "pk" {
            continue;
        }
        let mut stmt = conn
            .prepare("SELECT cid, name, \"desc\" FROM pragma_index_xinfo(?1) WHERE key = 1 ORDER BY seqno")
            .map_err(ctx(what.clone()))?;
        let parts: Vec<(i64, Option<String>, bool)> = stmt
            .query_map([&ix_name], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get::<_, i64>(2)? != 0))
            })
            .and_then(|rows| rows.collect::<std::result::Result<Vec<_>, _>>())
            .map_err(ctx(what.clone()))?;
        let sql: Option<String> = conn
            .query_row(
                "SELECT sql FROM sqlite_schema WHERE type = 'index' AND name = ?1",
                [&ix_name],
                |r| r.get(0),
            )
            .optional()
            .map_err(ctx(what.clone()))?
            .flatten();
        let ix_text = sql.as_deref().map(ddl::parse_index).unwrap_or_default();
        let mut index_parts = Vec::with_capacity(parts.len());
        for (k, (cid, column, descending)) in parts.into_iter().enumerate() {
            index_parts.push(IndexPart {
                expr: (cid == -2).then(|| ix_text.parts.get(k).cloned().unwrap_or_default()),
                column: if cid >= 0 { column } else { None },
                descending,
                prefix: None,
            });
        }
        let columns: Vec<String> = index_parts
            .iter()
            .filter_map(|p| p.column.clone())
            .collect();
        let constraint = origin == "u";
        let name = if constraint {
            // SQLite names the index of a UNIQUE constraint itself.
            text.uniques
                .iter()
                .find(|u| same_names(&u.columns, &columns))
                .and_then(|u| u.name.clone())
                .unwrap_or_else(|| format!("{}_{}_key", table.name, columns.join("_")))
        } else {
            ix_name
        };
        out.push(IndexDef {
            name,
            unique,
            constraint,
            parts: index_parts,
            predicate: if partial { ix_text.predicate } else { None },
            method: "btree".into(),
        });
    }
    Ok(out)
}

fn same_names(a: &[String], b: &[String]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.eq_ignore_ascii_case(y))
}

fn foreign_keys(
    conn: &Connection,
    table: &TableRef,
    text: &TableText,
) -> Result<Vec<ForeignKeyDef>> {
    let what = format!("reading the foreign keys of {table}");
    let mut stmt = conn
        .prepare(
            "SELECT id, \"table\", \"from\", \"to\", on_update, on_delete, \"match\" \
             FROM pragma_foreign_key_list(?1) ORDER BY id, seq",
        )
        .map_err(ctx(what.clone()))?;
    type Row = (i64, String, String, Option<String>, String, String, String);
    let rows: Vec<Row> = stmt
        .query_map([&table.name], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
            ))
        })
        .and_then(|rows| rows.collect::<std::result::Result<Vec<_>, _>>())
        .map_err(ctx(what.clone()))?;
    let mut out: Vec<(i64, ForeignKeyDef)> = Vec::new();
    for (id, parent, from, to, on_update, on_delete, _) in rows {
        let to = match to {
            Some(t) => t,
            // `REFERENCES parent` alone means the parent's primary key.
            None => parent_key(conn, &parent, out.iter().filter(|(i, _)| *i == id).count())?,
        };
        match out.iter_mut().find(|(i, _)| *i == id) {
            Some((_, fk)) => {
                fk.columns.push(from);
                fk.ref_columns.push(to);
            }
            None => out.push((
                id,
                ForeignKeyDef {
                    name: String::new(),
                    columns: vec![from],
                    ref_table: TableRef::new(None, &parent),
                    ref_columns: vec![to],
                    on_delete,
                    on_update,
                    extra: None,
                },
            )),
        }
    }
    Ok(out
        .into_iter()
        .map(|(_, mut fk)| {
            let declared = text
                .foreign_keys
                .iter()
                .find(|d| same_names(&d.columns, &fk.columns));
            fk.name = declared
                .and_then(|d| d.name.clone())
                .unwrap_or_else(|| format!("{}_{}_fkey", table.name, fk.columns.join("_")));
            fk.extra = declared.and_then(|d| d.deferrable.clone());
            fk
        })
        .collect())
}

/// The `n`th primary-key column of `parent`.
fn parent_key(conn: &Connection, parent: &str, n: usize) -> Result<String> {
    let mut key: Vec<(i64, String)> = {
        let mut stmt = conn
            .prepare("SELECT pk, name FROM pragma_table_info(?1) WHERE pk > 0")
            .map_err(ctx(format!("reading the key of {parent}")))?;
        let rows = stmt
            .query_map([parent], |r| Ok((r.get(0)?, r.get(1)?)))
            .and_then(|rows| rows.collect::<std::result::Result<Vec<_>, _>>())
            .map_err(ctx(format!("reading the key of {parent}")))?;
        rows
    };
    key.sort();
    Ok(key
        .into_iter()
        .nth(n)
        .map(|(_, c)| c)
        .unwrap_or_else(|| "rowid".into()))
}

/// CHECKs, named as PostgreSQL names unnamed ones.
fn checks(table: &str, text: &TableText) -> Vec<CheckDef> {
    let mut taken: Vec<String> = text.checks.iter().filter_map(|c| c.name.clone()).collect();
    let mut out = Vec::new();
    for c in &text.checks {
        let name = match &c.name {
            Some(n) => n.clone(),
            None => {
                let base = match &c.column {
                    Some(col) => format!("{table}_{col}_check"),
                    None => format!("{table}_check"),
                };
                let mut name = base.clone();
                let mut n = 1;
                while taken.iter().any(|t| t.eq_ignore_ascii_case(&name)) {
                    name = format!("{base}{n}");
                    n += 1;
                }
                taken.push(name.clone());
                name
            }
        };
        out.push(CheckDef {
            name,
            expr: c.expr.clone(),
        });
    }
    out
}

fn triggers(conn: &Connection, table: &str) -> Result<Vec<String>> {
    let mut stmt = conn
        .prepare(
            "SELECT name FROM sqlite_schema WHERE type = 'trigger' AND tbl_name = ?1 COLLATE NOCASE ORDER BY name",
        )
        .map_err(ctx(format!("reading the triggers of {table}")))?;
    let names = stmt
        .query_map([table], |r| r.get::<_, String>(0))
        .and_then(|rows| rows.collect::<std::result::Result<Vec<_>, _>>())
        .map_err(ctx(format!("reading the triggers of {table}")))?;
    Ok(names)
}

impl Catalog for SqliteAdapter {
    async fn list_tables(&self, schema: Option<&str>) -> Result<Vec<TableRef>> {
        // A target file that does not exist yet holds no tables.
        if !self.exists() {
            return Ok(Vec::new());
        }
        let schema = schema.map(str::to_string);
        self.with_read(move |conn| {
            Ok(table_names(conn)?
                .into_iter()
                .map(|n| TableRef::new(schema.as_deref(), &n))
                .collect())
        })
        .await
    }

    async fn describe(&self, table: &TableRef) -> Result<RawTable> {
        let table = table.clone();
        self.with_read(move |conn| describe(conn, &table)).await
    }

    /// SQLite types an expression only where it has a declared type: a
    /// column reference (the column's declaration) or a top-level
    /// `CAST(… AS type)`. The expression is prepared to prove it runs;
    /// anything else is refused with the way out (a CAST), since SQLite
    /// decides other results' storage class per row.
    async fn describe_exprs(
        &self,
        table: &TableRef,
        exprs: &[String],
    ) -> Result<Vec<std::result::Result<RawType, String>>> {
        let (table, exprs) = (table.clone(), exprs.to_vec());
        self.with_read(move |conn| {
            let columns = xinfo(conn, &table.name)?;
            let from = crate::quote_ident(&table.name);
            Ok(exprs
                .iter()
                .map(|e| {
                    conn.prepare(&format!("SELECT ({e}) FROM {from}")).map_err(
                        |err| match err {
                            rusqlite::Error::SqliteFailure(_, Some(m)) => m,
                            other => other.to_string(),
                        },
                    )?;
                    let declared = declared_type(e, &columns).ok_or_else(|| {
                        "SQLite gives this expression no type (only a column or a CAST has \
                         one): write it as CAST(… AS TEXT), INTEGER, REAL, NUMERIC, BLOB or \
                         another declared type"
                            .to_string()
                    })?;
                    Ok(desc::raw_type(&declared))
                })
                .collect())
        })
        .await
    }
}

/// The declared type of an expression: the declaration of the column it
/// names, or the type of the `CAST` it is (parentheses around it aside).
fn declared_type(expr: &str, columns: &[XInfo]) -> Option<String> {
    use ferry_core::expr::{lex, LexRules, Token};
    let mut toks = lex(expr, LexRules::default()).ok()?;
    // Outer parentheses that wrap the whole expression.
    while toks.first() == Some(&Token::Open) && closing(&toks, 0) == Some(toks.len() - 1) {
        toks = toks[1..toks.len() - 1].to_vec();
    }
    match toks.as_slice() {
        [Token::Word(w)] => columns
            .iter()
            .find(|c| c.name.eq_ignore_ascii_case(w))
            .map(|c| c.declared.clone()),
        [Token::Ident(w)] => columns
            .iter()
            .find(|c| &c.name == w)
            .map(|c| c.declared.clone()),
        [Token::Word(cast), Token::Open, ..]
            if cast.eq_ignore_ascii_case("cast") && closing(&toks, 1) == Some(toks.len() - 1) =>
        {
            // The last `AS` at the CAST's own depth starts the type.
            let mut depth = 0;
            let mut at = None;
            for (i, t) in toks.iter().enumerate().take(toks.len() - 1).skip(2) {
                match t {
                    Token::Open => depth += 1,
                    Token::Close => depth -= 1,
                    Token::Word(w) if depth == 0 && w.eq_ignore_ascii_case("as") => at = Some(i),
                    _ => {}
                }
            }
            let mut ty = String::new();
            for t in &toks[at? + 1..toks.len() - 1] {
                match t {
                    Token::Word(w) => {
                        if !ty.is_empty() && !ty.ends_with('(') {
                            ty.push(' ');
                        }
                        ty.push_str(w);
                    }
                    Token::Num(n) => ty.push_str(n),
                    Token::Open => ty.push('('),
                    Token::Close => ty.push(')'),
                    Token::Comma => ty.push(','),
                    _ => return None,
                }
            }
            (!ty.is_empty()).then_some(ty)
        }
        _ => None,
    }
}

/// The index of the token closing the parenthesis opened at `open`.
fn closing(toks: &[ferry_core::expr::Token], open: usize) -> Option<usize> {
    use ferry_core::expr::Token;
    let mut depth = 0usize;
    for (i, t) in toks.iter().enumerate().skip(open) {
        match t {
            Token::Open => depth += 1,
            Token::Close => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

impl SqliteAdapter {
    /// Views and virtual tables of the file, which are not copied (triggers
    /// are named per table by [`describe`]), sorted by kind and name.
    pub async fn other_objects(&self, _schema: Option<&str>) -> Result<Vec<OtherObject>> {
        self.with_read(|conn| {
            let mut stmt = conn
                .prepare(
                    "SELECT CASE type WHEN 'view' THEN 'view' ELSE 'virtual table' END, name \
                     FROM pragma_table_list WHERE schema = 'main' AND type IN ('view', 'virtual') \
                     ORDER BY 1, 2",
                )
                .map_err(ctx("listing the views"))?;
            let out = stmt
                .query_map([], |r| {
                    Ok(OtherObject {
                        kind: r.get(0)?,
                        name: r.get(1)?,
                    })
                })
                .and_then(|rows| rows.collect::<std::result::Result<Vec<_>, _>>())
                .map_err(ctx("listing the views"))?;
            Ok(out)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_expression_has_a_type_only_as_a_column_or_a_cast() {
        let columns = vec![XInfo {
            name: "Score".into(),
            declared: "NUMERIC(10,2)".into(),
            notnull: false,
            default: None,
            pk: 0,
            hidden: 0,
        }];
        let ty = |e: &str| declared_type(e, &columns);
        assert_eq!(ty("score").as_deref(), Some("NUMERIC(10,2)"));
        assert_eq!(ty("(\"Score\")").as_deref(), Some("NUMERIC(10,2)"));
        assert_eq!(ty("CAST(a || b AS TEXT)").as_deref(), Some("TEXT"));
        assert_eq!(
            ty("cast(CAST(x AS INTEGER) * 2 as decimal(12, 4))").as_deref(),
            Some("decimal(12,4)")
        );
        assert_eq!(ty("a || b"), None);
        assert_eq!(ty("CAST(a AS TEXT) || 'x'"), None);
        assert_eq!(ty("nope"), None);
    }
}
