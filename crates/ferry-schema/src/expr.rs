//! SQL expressions (CHECKs, generated columns, index expressions, defaults)
//! from one dialect to another, hub and spoke: the source dialect parses its
//! catalog text into the neutral tree of `ferry_core::expr`, the target
//! dialect renders it. Each parser is a whitelist: an expression translates
//! only when every part is understood, else the reason comes back and the
//! caller turns it into a warning naming the object. A translation that might
//! change meaning is never attempted.

use ferry_core::expr::{Func, Keyword, Node};
use ferry_core::Dialect;

/// Whether two dialects are the same engine's: then catalog text is kept
/// verbatim, which is always exact.
pub fn same(a: &dyn Dialect, b: &dyn Dialect) -> bool {
    a.engine() == b.engine()
}

/// Translates `src` (an expression in `from`'s dialect over `columns`) into
/// `to`'s dialect, or says why not. Same-dialect expressions are kept verbatim.
pub fn translate(
    src: &str,
    from: &dyn Dialect,
    to: &dyn Dialect,
    columns: &[String],
) -> Result<String, String> {
    if same(from, to) {
        return Ok(src.trim().to_string());
    }
    let tree = from.parse_expr(src, columns)?;
    if let Some(f) = Func::calls(&tree)
        .into_iter()
        .find(|&f| !to.has_function(f))
    {
        return Err(format!(
            "function {}() means something else on the target",
            f.name()
        ));
    }
    if let Some(k) = keywords(&tree.0).into_iter().find(|&k| !to.has_keyword(k)) {
        return Err(format!("{} means something else on the target", k.sql()));
    }
    Ok(to.render_expr(&tree))
}

/// Every keyword of an expression, nested ones included.
fn keywords(nodes: &[Node]) -> Vec<Keyword> {
    let mut out = Vec::new();
    for n in nodes {
        match n {
            Node::Keyword(k) => out.push(*k),
            Node::Call(_, inner) | Node::Group(inner) => out.extend(keywords(inner)),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferry_mysql::MySqlDialect;
    use ferry_pg::PgDialect;

    fn cols(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn pg_checks_to_mysql() {
        let c = cols(&["price", "status", "code", "qty", "Mixed Case"]);
        let t = |s| translate(s, &PgDialect, &MySqlDialect, &c);
        assert_eq!(t("price > 0::numeric").unwrap(), "`price` > 0");
        assert_eq!(
            t("status = ANY (ARRAY['new'::text, 'it''s'::text])").unwrap(),
            "`status` IN ('new', 'it''s')"
        );
        assert_eq!(
            t("code::text = ANY (ARRAY['a'::character varying, 'b'::character varying]::text[])")
                .unwrap(),
            "`code` IN ('a', 'b')"
        );
        assert_eq!(
            t("qty >= 0 AND char_length(\"Mixed Case\") < 10").unwrap(),
            "`qty` >= 0 AND char_length(`Mixed Case`) < 10"
        );
        assert_eq!(t("length(code) > 1").unwrap(), "char_length(`code`) > 1");
        assert_eq!(t("code ~~ 'a%'").unwrap(), "`code` LIKE 'a%'");
        assert_eq!(t("qty > '-1'::integer").unwrap(), "`qty` > '-1'");
        assert!(t("code ~ '^a'").is_err());
        assert!(t("code || 'x' = 'ax'").is_err());
        assert!(t("to_tsvector(code) IS NOT NULL").is_err());
        assert!(t("qty::interval > '1 day'").is_err());
        assert!(t("other > 1").is_err());
        assert!(t("concat(code, 'x') <> 'x'").is_err());
        assert_eq!(t("price > '1\\2'").unwrap(), "`price` > '1\\\\2'");
    }

    #[test]
    fn mysql_checks_to_pg() {
        let c = cols(&["price", "status", "qty", "x"]);
        let t = |s| translate(s, &MySqlDialect, &PgDialect, &c);
        assert_eq!(t("`price` > 0").unwrap(), "\"price\" > 0");
        assert_eq!(
            t("`status` in ('new','it''s')").unwrap(),
            "\"status\" IN ('new', 'it''s')"
        );
        assert_eq!(
            t("(`status` in (_utf8mb4'a',_utf8mb4'b'))").unwrap(),
            "(\"status\" IN ('a', 'b'))"
        );
        assert_eq!(t("`qty` * `price`").unwrap(), "\"qty\" * \"price\"");
        assert_eq!(
            t("octet_length(`x`) < 5").unwrap(),
            "octet_length(\"x\") < 5"
        );
        assert_eq!(t("length(`x`) < 5").unwrap(), "octet_length(\"x\") < 5");
        assert_eq!(t("'a\\'b' = `x`").unwrap(), "'a''b' = \"x\"");
        assert_eq!(t("`qty`>-1").unwrap(), "\"qty\" > - 1");
        assert!(t("`x` regexp '^a'").is_err());
        assert!(t("json_valid(`x`)").is_err());
        assert_eq!(t("current_timestamp()").unwrap(), "CURRENT_TIMESTAMP");
        // MySQL's concat() is NULL on a NULL argument, PostgreSQL's skips it.
        assert!(t("concat(`x`,'a') <> ''").is_err());
    }
}
