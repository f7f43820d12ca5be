use super::*;

fn report(command: Command, summary: serde_json::Value) -> Report {
    Report {
        command,
        ferry_version: "test".into(),
        run_id: "r1".into(),
        started_at: "2026-01-01T00:00:00.000Z".into(),
        ended_at: "2026-01-01T00:00:01.000Z".into(),
        exit_code: 1,
        source: "postgres://u:***@h/db".into(),
        target: "mysql://u:***@h/db".into(),
        summary,
        timeline: Vec::new(),
        rejects: Vec::new(),
        reject_file: None,
    }
}

#[test]
fn identifiers_are_text_and_the_data_block_cannot_close_early() {
    let name = "</script><img src=x onerror=alert(1)>";
    let r = report(
        Command::Verify,
        serde_json::json!({
            "differences": 1,
            "tables": [{
                "table": {"schema": "s", "name": name},
                "rows_source": 3, "rows_target": 3, "chunks": 1, "chunks_differing": 1,
                "differing_rows": 1, "chunk_map": "x",
                "diffs": [{"kind": "differs", "key": [[name, "<1>"]], "columns": [name]}]
            }]
        }),
    );
    let html = render_html(&r);
    assert!(!html.contains("<img"), "markup from a name");
    assert_eq!(
        html.matches("</script>").count(),
        1,
        "the data block closed early"
    );
    assert!(html.contains("&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;"));
    // The data block is the report, exactly.
    let open = r#"<script type="application/json" id="ferry-report-data">"#;
    let start = html.find(open).unwrap() + open.len();
    let end = start + html[start..].find("</script>").unwrap();
    let back: Report = serde_json::from_str(&html[start..end]).unwrap();
    assert_eq!(back.summary, r.summary);
}

#[test]
fn a_long_chunk_map_merges_cells_and_keeps_the_worst() {
    let mut map = ".".repeat(svg::MAX_CELLS * 3);
    map.replace_range(7..8, "m");
    let drawn = svg::chunk_map(&map).into_string();
    assert_eq!(drawn.matches("<rect").count(), svg::MAX_CELLS);
    assert_eq!(drawn.matches("c-miss").count(), 1);
    assert!(drawn.contains("chunks 6–8"), "the cell names its chunks");
}

#[test]
fn numbers_read_well() {
    assert_eq!(svg::grouped(0), "0");
    assert_eq!(svg::grouped(1_000), "1,000");
    assert_eq!(svg::grouped(1_234_567), "1,234,567");
    assert_eq!(svg::nice_step(20_000.0, 4.0), 5_000.0);
    assert_eq!(svg::nice_step(7.0, 4.0), 2.0);
    assert_eq!(svg::nice_step(0.3, 4.0), 0.1);
}

#[test]
fn rejects_count_by_table_column_and_reason_once_per_key() {
    let dir = std::env::temp_dir().join(format!("ferry-report-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("rejects.jsonl");
    std::fs::write(
        &path,
        concat!(
            r#"{"table":"t","key":"id=1","column":"c","reason":"too long"}"#,
            "\n",
            r#"{"table":"t","key":"id=2","column":"c","reason":"too long"}"#,
            "\n",
            r#"{"table":"t","key":"id=1","column":"c","reason":"too long"}"#,
            "\n",
            r#"{"table":"t","key":"id=3","column":"d","reason":"NUL"}"#,
            "\n",
        ),
    )
    .unwrap();
    let counts = count_rejects(&path);
    assert_eq!(
        counts
            .iter()
            .map(|c| (c.column.as_str(), c.rows))
            .collect::<Vec<_>>(),
        [("c", 2), ("d", 1)]
    );
    assert!(count_rejects(&dir.join("none")).is_empty());
    std::fs::remove_dir_all(&dir).unwrap();
}
