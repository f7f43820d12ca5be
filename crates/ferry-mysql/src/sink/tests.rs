use super::*;

#[test]
fn warning_parsing() {
    let plan = TablePlan {
        source: TableRef::new(None, "s"),
        target: TableRef::new(None, "t"),
        columns: vec![crate::decode::tests::plan_col(
            ferry_core::LogicalType::Int32,
            true,
        )],
        primary_key: vec![],
        estimated_rows: None,
        schema: Default::default(),
        row_filter: None,
        own_rows_only: false,
        reshape: None,
    };
    let m = "Data truncated for column 'c' at row 3";
    assert_eq!(warning_row(m), Some(3));
    assert_eq!(warning_column(m, &plan).as_deref(), Some("c"));
    let m = "Incorrect integer value: 'secret' for column `db`.`t`.`c` at row 12";
    assert_eq!(warning_row(m), Some(12));
    assert_eq!(warning_column(m, &plan).as_deref(), Some("c"));
    assert_eq!(
        warning_column("Out of range value for column 'zz' at row 1", &plan),
        None
    );
}

#[test]
fn load_statement() {
    let enc = |name: &str, via_variable| ColumnEncoder {
        name: name.into(),
        encoder: Encoder::Bool,
        charset: None,
        via_variable,
    };
    let sql = load_sql("`d`.`t`", &[enc("a", false), enc("b`x", true)]);
    assert_eq!(
        sql,
        "LOAD DATA LOCAL INFILE 'ferry.tsv' INTO TABLE `d`.`t` CHARACTER SET binary \
         FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' \
         (`a`, @ferry_v1) SET `b``x` = CAST(@ferry_v1 AS UNSIGNED)"
    );
}
