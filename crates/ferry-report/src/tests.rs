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

#[test]
fn a_cutover_report_draws_its_steps_window_gates_and_undo() {
    let r = report(
        Command::Cutover,
        serde_json::json!({
            "event": "cutover_finished",
            "report": {
                "phase": "aborted", "direction": "forward", "attempt": 2,
                "window_ms": 640, "fence_ms": 30,
                "fence_effective_at_ms": 1000.0, "first_commit_at_ms": 1640.0,
                "breakdown": [
                    {"step": "drain", "ms": 400, "share": 0.625},
                    {"step": "verify", "ms": 240, "share": 0.375}
                ],
                "steps": [
                    {"step": "fence", "started_ms": 970.0, "ended_ms": 1000.0},
                    {"step": "drain", "started_ms": 1000.0, "ended_ms": 1400.0, "detail": "<b>x</b>"}
                ],
                "gates": [{"name": "sync lag", "ok": false, "value": "3.2 s", "limit": "≤ 2 s"}],
                "abort_reason": "the final verify found 1 differences",
                "undone": ["blue fence lifted"]
            }
        }),
    );
    let html = render_html(&r);
    for needle in [
        "<h2>Cutover</h2>",
        "freeze window <b>640 ms</b>",
        "drain 400 ms",
        "62%",
        "sync lag",
        "3.2 s",
        "blue fence lifted",
        "the final verify found 1 differences",
    ] {
        assert!(html.contains(needle), "{needle} missing");
    }
    assert!(!html.contains("<b>x</b>"), "a step's detail is text");
    assert_eq!(
        html.matches("fill=\"#fde2e1\"").count(),
        1,
        "the window is shaded"
    );
}
