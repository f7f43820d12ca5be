use super::*;
use ferry_core::ColumnPlan;

#[test]
fn probes_and_first_key_and_in_the_row_filter() {
    assert_eq!(where_clause(None, None), "");
    assert_eq!(where_clause(Some("a > 1"), None), " WHERE a > 1");
    assert_eq!(
        where_clause(Some("a > 1 OR b"), Some("c IS NULL")),
        " WHERE (a > 1 OR b) AND (c IS NULL)"
    );
}

#[test]
fn a_check_the_source_cannot_express_is_not_probed() {
    let plan = TablePlan {
        columns: vec![ColumnPlan {
            name: "f".into(),
            logical: LogicalType::Float64,
            target_type: "double".into(),
            nullable: true,
            ..ColumnPlan::default()
        }],
        ..TablePlan::default()
    };
    let limits = ferry_mysql::dialect::value_limits(ferry_mysql::Flavor::MariaDb);
    let none = HashMap::new();
    let my = &ferry_mysql::MySqlDialect;
    let pg = probes(&plan, &ferry_pg::PgDialect, my, limits, &none);
    assert_eq!(pg.len(), 2, "NaN and −0.0 from a PostgreSQL source");
    assert!(probes(&plan, my, my, limits, &none).is_empty());
    assert!(probes(
        &plan,
        &ferry_pg::PgDialect,
        &ferry_pg::PgDialect,
        ferry_pg::dialect::VALUE_LIMITS,
        &none
    )
    .is_empty());
}
