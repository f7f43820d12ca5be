use ferry_core::dialect::{AutoIncrement, CommentSql, Dialect, Folding, KeyWidth};
use ferry_core::expr::DefaultExpr;

use super::*;

#[test]
fn catalog_text_normalises_brackets_and_unicode_literals() {
    assert_eq!(normalize("([a]]b]>(0))").unwrap(), "(\"a]b\">(0))");
    assert_eq!(normalize("(N'it''s [x]')").unwrap(), "('it''s [x]')");
    assert_eq!(normalize("([N]=N'a')").unwrap(), "(\"N\"='a')");
    assert!(normalize("[a").is_err());
}

#[test]
fn defaults_as_sql_server_stores_them() {
    use DefaultExpr as D;
    let d = |s| MssqlDialect.parse_default(s);
    assert_eq!(d("(getdate())"), D::Now);
    assert_eq!(d("(sysdatetime())"), D::Now);
    assert_eq!(d("(newid())"), D::Uuid);
    assert_eq!(d("(newsequentialid())"), D::Uuid);
    assert_eq!(
        d("(CONVERT([date],getdate()))"),
        D::Other("(CONVERT([date],getdate()))".into())
    );
    assert_eq!(d("(CAST(getdate() AS date))"), D::Today);
    assert_eq!(d("((0))"), D::Num("0".into()));
    assert_eq!(d("((-1.5))"), D::Num("-1.5".into()));
    assert_eq!(d("(N'it''s')"), D::Str("it's".into()));
    assert_eq!(d("('')"), D::Str(String::new()));
    assert_eq!(d("(NULL)"), D::Null);
    // UTC now is not the neutral now of a naive column: not translated.
    assert!(matches!(d("(getutcdate())"), D::Other(_)));
}

#[test]
fn checks_and_filters_parse_into_the_neutral_tree() {
    let cols = vec!["qty".to_string(), "Name".to_string()];
    let e = MssqlDialect
        .parse_expr("([qty]>(0) AND [name]<>N'')", &cols)
        .unwrap();
    assert_eq!(
        MssqlDialect.render_expr(&e),
        "([qty] > (0) AND [Name] <> N'')"
    );
    // LEN ignores trailing spaces: not the neutral char_length.
    assert!(MssqlDialect.parse_expr("(len([name])>(0))", &cols).is_err());
    assert!(MssqlDialect
        .parse_expr("([qty] IS NOT NULL)", &cols)
        .is_ok());
}

#[test]
fn identity_reseeds_past_max_after_the_copy() {
    let a = MssqlDialect
        .auto_increment(&AutoIncrement {
            table_sql: "[dbo].[t]",
            column: "id",
            target_type: "int",
            leads_key: true,
            only_key: true,
            native: None,
            next_value: Some(42),
            always: false,
        })
        .unwrap();
    assert_eq!(a.suffix, " IDENTITY(1,1)");
    let s = &a.sequences[0];
    assert!(s.contains("DECLARE @ferry_next bigint = 42"), "{s}");
    assert!(s.contains("MAX([id])"), "{s}");
    assert!(
        s.contains("DBCC CHECKIDENT (N'[dbo].[t]', RESEED, @ferry_next)"),
        "{s}"
    );
    assert!(MssqlDialect
        .auto_increment(&AutoIncrement {
            table_sql: "[dbo].[t]",
            column: "id",
            target_type: "nvarchar(10)",
            leads_key: true,
            only_key: true,
            native: None,
            next_value: None,
            always: false,
        })
        .is_none());
}

#[test]
fn comments_are_extended_properties() {
    let CommentSql::Statement(s) = MssqlDialect.column_comment("[sales].[o]]x]", "c", "it's")
    else {
        panic!("a statement");
    };
    assert!(s.contains("@value = N'it''s'"), "{s}");
    assert!(s.contains("@level0name = N'sales'"), "{s}");
    assert!(s.contains("@level1name = N'o]x'"), "{s}");
    assert!(s.contains("@level2name = N'c'"), "{s}");
}

#[test]
fn key_widths_for_the_900_byte_limit() {
    assert_eq!(
        key_width("nvarchar(450) COLLATE Latin1_General_100_BIN2"),
        KeyWidth::Bytes(900)
    );
    assert_eq!(key_width("nvarchar(max)"), KeyWidth::NeedsPrefix);
    assert_eq!(key_width("varbinary(max)"), KeyWidth::NeedsPrefix);
    assert_eq!(key_width("uniqueidentifier"), KeyWidth::Bytes(16));
    assert_eq!(key_width("xml"), KeyWidth::NotIndexable);
    assert_eq!(
        MssqlDialect.narrowed_string_type(false, 450),
        "nvarchar(450) COLLATE Latin1_General_100_BIN2"
    );
}

#[test]
fn filtered_unique_indexes_keep_their_predicate() {
    let parts = vec!["[email]".to_string()];
    let ix = ferry_core::dialect::IndexSql {
        name: "ux",
        table_sql: "[dbo].[t]",
        unique: true,
        constraint: false,
        plain: true,
        method: ferry_core::dialect::IndexMethod::Default,
        parts: &parts,
        predicate: Some("[email] IS NOT NULL"),
    };
    assert_eq!(
        MssqlDialect.create_index(&ix),
        "CREATE UNIQUE INDEX [ux] ON [dbo].[t] ([email]) WHERE [email] IS NOT NULL"
    );
}

#[test]
fn identifiers_fit_128_characters() {
    assert!(MssqlDialect.identifier_fits(&"é".repeat(128)));
    assert!(!MssqlDialect.identifier_fits(&"a".repeat(129)));
}

#[test]
fn booleans_and_today_in_tsql() {
    use ferry_core::expr::{Expr, Literal, Node, Op};
    let e = Expr(vec![
        Node::Column("d".into()),
        Node::Op(Op::Le),
        Node::Today,
        Node::Keyword(ferry_core::expr::Keyword::And),
        Node::Column("ok".into()),
        Node::Op(Op::Eq),
        Node::Literal(Literal::Bool(true)),
    ]);
    assert_eq!(
        MssqlDialect.render_expr(&e),
        "[d] <= CAST(CURRENT_TIMESTAMP AS date) AND [ok] = 1"
    );
}

#[test]
fn the_first_row_is_top_1_in_tsql() {
    assert_eq!(
        MssqlDialect.select_first("[id]", "FROM [dbo].[t] WHERE [f] <> 0 ORDER BY [id]"),
        "SELECT TOP (1) [id] FROM [dbo].[t] WHERE [f] <> 0 ORDER BY [id]"
    );
}

#[test]
fn collation_folds_from_the_flags() {
    let f = |case, accents| Folding {
        case,
        accents,
        pad: true,
    };
    assert_eq!(
        MssqlDialect.collation_fold("[n]", "utf8mb4_general_ci", f(true, true)),
        "[n] COLLATE Latin1_General_100_CI_AI"
    );
    assert_eq!(
        MssqlDialect.collation_fold("[n]", "sql_latin1_general_cp1_ci_as", f(true, false)),
        "[n] COLLATE Latin1_General_100_CI_AS"
    );
    assert_eq!(
        MssqlDialect.collation_fold("[n]", "latin1_general_100_bin2", f(false, false)),
        "[n] COLLATE Latin1_General_100_BIN2"
    );
}

/// The copy's pre-flight reads a bounded sample (issue 17): T-SQL's TOP.
#[test]
fn the_preflight_sample_is_a_top() {
    let plan = ferry_core::TablePlan {
        source: ferry_core::TableRef::new(Some("dbo"), "t"),
        row_filter: Some("[a] > 1".into()),
        ..ferry_core::TablePlan::default()
    };
    assert_eq!(
        MssqlDialect.sample_from_sql(&plan, 100),
        "(SELECT TOP (100) * FROM [dbo].[t] WHERE ([a] > 1)) AS ferry_sample"
    );
}
