//! Statements in the binary log that touch synced tables.
//!
//! In ROW format the log carries data changes as row events and everything
//! else as statement text (QUERY events): DDL, and data changes a session
//! logged as statements after `SET binlog_format = STATEMENT`. ferry applies
//! neither, so the sync must stop before such a statement if it names a
//! synced table. The check fails closed: any statement that is not
//! transaction control, and that names a synced table anywhere as an
//! identifier (qualified, or unqualified in the event's default database),
//! stops the sync. A false alarm stops a sync with a clear line; a miss
//! would corrupt the target silently.

/// What a statement is, for the sync.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Statement {
    /// `BEGIN` (or `XA START`): a transaction's changes follow.
    Begin,
    /// `COMMIT` (or `ROLLBACK`, which the log writes when non-transactional
    /// changes that could not be undone end a transaction): it ends here.
    Commit,
    /// Anything else.
    Other,
}

/// Classifies a statement by its first words.
pub fn classify(sql: &str) -> Statement {
    let head: Vec<String> = words(sql).take(2).collect();
    match head.first().map(String::as_str) {
        Some("begin") => Statement::Begin,
        Some("commit" | "rollback") if head.len() == 1 => Statement::Commit,
        _ => Statement::Other,
    }
}

/// Whether a statement is XA transaction control, which ferry does not
/// follow (a prepared XA transaction commits later, out of its place).
pub fn is_xa(sql: &str) -> bool {
    words(sql).next().as_deref() == Some("xa")
}

/// Whether a statement changes rows (and so quotes values, which an error
/// must not show).
pub fn is_data_change(sql: &str) -> bool {
    matches!(
        words(sql).next().as_deref(),
        Some("insert" | "update" | "delete" | "replace" | "load" | "call" | "with")
    )
}

/// Whether `sql` is a CREATE TABLE (not CREATE OR REPLACE, which drops the
/// table first). It cannot change a table that exists: it fails, or does
/// nothing under IF NOT EXISTS; a table it creates is described by the
/// sync from the catalog like any other. So it is no DDL on a synced table
/// (a cutover creates its marker table after the copy's position).
pub fn creates_a_table(sql: &str) -> bool {
    let mut w = words(sql);
    w.next().as_deref() == Some("create")
        && match w.next().as_deref() {
            Some("table") => true,
            Some("temporary") => w.next().as_deref() == Some("table"),
            _ => false,
        }
}

/// The first table of `tables` (`(database, name)`, compared exactly as
/// the server does on Linux: case-sensitive) that `sql`, run in database
/// `default_db`, names as an identifier.
pub fn touched_table<'a>(
    sql: &str,
    default_db: &str,
    tables: &'a [(String, String)],
) -> Option<&'a (String, String)> {
    let names = identifiers(sql);
    tables.iter().find(|(db, table)| {
        names.iter().any(|parts| {
            // `t`, `t.col` in the default database; `db.t`, `db.t.col` anywhere.
            (parts[0] == *table && db == default_db)
                || parts.windows(2).any(|w| w[0] == *db && w[1] == *table)
        })
    })
}

/// Lower-cased bare words, skipping comments, strings and quoted names.
fn words(sql: &str) -> impl Iterator<Item = String> + '_ {
    identifiers(sql).into_iter().filter_map(|parts| {
        (parts.len() == 1 && !parts[0].is_empty()).then(|| parts[0].to_ascii_lowercase())
    })
}

/// Every identifier of a statement, as its dot-separated parts (backquotes
/// removed, doubled backquotes undone). String literals and comments are
/// skipped, so a value that spells a table's name is not taken for one.
fn identifiers(sql: &str) -> Vec<Vec<String>> {
    let chars: Vec<char> = sql.chars().collect();
    let mut out: Vec<Vec<String>> = Vec::new();
    let mut i = 0;
    // Whether the last token was an identifier followed directly by a dot.
    let mut continues = false;
    while i < chars.len() {
        let c = chars[i];
        let part = if c == '`' {
            let mut s = String::new();
            i += 1;
            while i < chars.len() {
                if chars[i] == '`' {
                    if chars.get(i + 1) == Some(&'`') {
                        s.push('`');
                        i += 2;
                        continue;
                    }
                    break;
                }
                s.push(chars[i]);
                i += 1;
            }
            i += 1;
            Some(s)
        } else if c.is_alphanumeric() || c == '_' || c == '$' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '$')
            {
                i += 1;
            }
            Some(chars[start..i].iter().collect())
        } else if c == '\'' || c == '"' {
            // A string: skip it, honouring doubled quotes and backslashes.
            i += 1;
            while i < chars.len() {
                if chars[i] == '\\' {
                    i += 2;
                    continue;
                }
                if chars[i] == c {
                    if chars.get(i + 1) == Some(&c) {
                        i += 2;
                        continue;
                    }
                    break;
                }
                i += 1;
            }
            i += 1;
            continues = false;
            None
        } else if c == '#' || (c == '-' && chars.get(i + 1) == Some(&'-')) {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
            continues = false;
            None
        } else if c == '/' && chars.get(i + 1) == Some(&'*') {
            // `/*!50100 … */` executable comments hold real SQL: read them.
            if chars.get(i + 2) == Some(&'!') {
                i += 3;
                while i < chars.len() && chars[i].is_ascii_digit() {
                    i += 1;
                }
            } else {
                i += 2;
                while i + 1 < chars.len() && !(chars[i] == '*' && chars[i + 1] == '/') {
                    i += 1;
                }
                i += 2;
            }
            continues = false;
            None
        } else {
            if c != '.' {
                continues = false;
            }
            i += 1;
            None
        };
        if let Some(p) = part {
            match out.last_mut() {
                Some(last) if continues => last.push(p),
                _ => out.push(vec![p]),
            }
            continues = chars.get(i) == Some(&'.');
            if continues {
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(db: &str, name: &str) -> (String, String) {
        (db.into(), name.into())
    }

    #[test]
    fn transaction_control() {
        assert_eq!(classify("BEGIN"), Statement::Begin);
        assert_eq!(classify("COMMIT"), Statement::Commit);
        assert_eq!(classify("ROLLBACK"), Statement::Commit);
        assert_eq!(classify("ROLLBACK TO SAVEPOINT a"), Statement::Other);
        assert_eq!(
            classify("/* x */ ALTER TABLE t ADD c int"),
            Statement::Other
        );
        assert!(is_xa("XA START 'x'"));
        assert!(is_data_change("UPDATE acct SET bal = 0"));
        assert!(is_data_change("/* x */ insert into t values (1)"));
        assert!(!is_data_change("ALTER TABLE t ADD c int DEFAULT 5"));
        assert!(!is_xa("ALTER TABLE xa ADD c int"));
    }

    #[test]
    fn statements_naming_a_synced_table_are_found() {
        let tables = vec![t("app", "acct"), t("app", "order items")];
        for (sql, which) in [
            ("ALTER TABLE acct ADD COLUMN c int", 0),
            ("alter table `acct` drop column c", 0),
            ("TRUNCATE acct", 0),
            ("DROP TABLE IF EXISTS other, app.acct", 0),
            ("RENAME TABLE `app`.`acct` TO app.acct_old", 0),
            ("CREATE INDEX i ON acct (bal)", 0),
            ("ALTER TABLE `order items` ADD c int", 1),
            ("UPDATE acct SET bal = 0 /* statement-logged */", 0),
            ("UPDATE x JOIN app.acct.bal ON 1 SET x.a = 1", 0),
            ("/*!40000 ALTER TABLE `acct` DISABLE KEYS */", 0),
        ] {
            assert_eq!(
                touched_table(sql, "app", &tables),
                Some(&tables[which]),
                "{sql}"
            );
        }
    }

    /// A CREATE TABLE cannot change a table that exists (it fails, or is
    /// a no-op with IF NOT EXISTS), so it is no alarm even for a synced
    /// table: the cutover creates its marker table after the copy's
    /// position. CREATE OR REPLACE drops the table first: an alarm.
    #[test]
    fn creating_a_table_is_not_ddl_on_it() {
        for sql in [
            "CREATE TABLE IF NOT EXISTS `app`.`acct` (id int PRIMARY KEY)",
            "create table acct (id int)",
            "/* c */ CREATE TEMPORARY TABLE acct (id int)",
            "CREATE TABLE x LIKE acct",
        ] {
            assert!(creates_a_table(sql), "{sql}");
        }
        for sql in [
            "CREATE OR REPLACE TABLE acct (id int)",
            "ALTER TABLE acct ADD c int",
            "CREATE INDEX i ON acct (bal)",
            "DROP TABLE acct",
        ] {
            assert!(!creates_a_table(sql), "{sql}");
        }
    }

    #[test]
    fn other_tables_strings_and_databases_are_not_alarms() {
        let tables = vec![t("app", "acct")];
        for (sql, db) in [
            ("ALTER TABLE acct2 ADD c int", "app"),
            ("CREATE TABLE x (note varchar(9) DEFAULT 'acct')", "app"),
            ("ALTER TABLE acct ADD c int", "other"),
            ("ALTER TABLE other.acct ADD c int", "app"),
            ("ALTER TABLE `app.acct` ADD c int", "app"),
            ("CREATE TABLE y (a int) -- acct", "app"),
            ("ALTER TABLE ACCT ADD c int", "app"),
        ] {
            assert_eq!(touched_table(sql, db, &tables), None, "{sql}");
        }
        assert_eq!(
            touched_table("ALTER TABLE app.acct ADD c int", "other", &tables),
            Some(&tables[0])
        );
    }
}
