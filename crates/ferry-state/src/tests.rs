use super::*;

fn run(id: &str) -> RunInfo {
    RunInfo {
        run_id: id.into(),
        source: "postgres://u@h/db".into(),
        target: "mysql://u@h/db".into(),
        job: "t".into(),
    }
}

#[test]
fn run_ids_are_stable_and_distinct() {
    assert_eq!(run_id(&["a", "b"]), run_id(&["a", "b"]));
    assert_ne!(run_id(&["a", "b"]), run_id(&["ab", ""]));
    assert_eq!(run_id(&["x"]).len(), 16);
}

#[tokio::test]
async fn sqlite_run_lifecycle() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sub/state.db");
    let store = StateStore::open(path.to_str().unwrap()).await.unwrap();
    let r = run("r1");
    assert_eq!(store.begin_setup(&r, true).await.unwrap(), RunStart::New);
    store
        .insert_ranges("r1", "public.t", &[KeyRange::Whole, KeyRange::Whole])
        .await
        .unwrap();
    store.end_setup("r1").await.unwrap();
    assert_eq!(
        store.claim("r1", "public.t", 0).await.unwrap(),
        Claim::Taken { was_copying: false }
    );
    store
        .finish_range("r1", "public.t", 0, 10, 1)
        .await
        .unwrap();
    assert_eq!(
        store.claim("r1", "public.t", 0).await.unwrap(),
        Claim::Elsewhere
    );
    assert_eq!(
        store.claim("r1", "public.t", 1).await.unwrap(),
        Claim::Taken { was_copying: false }
    );
    assert!(!store.finish_run("r1").await.unwrap());
    drop(store);

    // The process died with range 1 copying: a re-run resumes and must clean it up.
    let store = StateStore::open(path.to_str().unwrap()).await.unwrap();
    assert_eq!(
        store.begin_setup(&r, true).await.unwrap(),
        RunStart::Unfinished
    );
    let ranges = store.ranges("r1", "public.t").await.unwrap();
    assert_eq!(ranges[0].status, RangeStatus::Done);
    assert_eq!((ranges[0].rows, ranges[0].rejected), (10, 1));
    assert_eq!(ranges[1].status, RangeStatus::Copying);
    store.end_setup("r1").await.unwrap();
    assert_eq!(
        store.claim("r1", "public.t", 1).await.unwrap(),
        Claim::Taken { was_copying: true }
    );
    store.finish_range("r1", "public.t", 1, 5, 0).await.unwrap();
    assert!(store.finish_run("r1").await.unwrap());
    // Died while finishing: the run is taken again (one process per SQLite run).
    assert_eq!(
        store.begin_setup(&r, true).await.unwrap(),
        RunStart::Unfinished
    );
    store.end_setup("r1").await.unwrap();
    assert!(store.finish_run("r1").await.unwrap());
    store.mark_finished("r1").await.unwrap();

    // A finished run is kept when asked, else starts over.
    assert_eq!(
        store.begin_setup(&r, false).await.unwrap(),
        RunStart::Finished
    );
    store.end_setup("r1").await.unwrap();
    assert_eq!(store.ranges("r1", "public.t").await.unwrap().len(), 2);
    assert_eq!(
        store.begin_setup(&r, true).await.unwrap(),
        RunStart::Finished
    );
    assert!(store.ranges("r1", "public.t").await.unwrap().is_empty());
    store.end_setup("r1").await.unwrap();
}

/// A process killed during setup, after its registration committed and
/// before setup ended (it may have created target tables by then), leaves
/// a run the next process resumes, knowing which tables existed before it.
/// Setup stays exclusive: a second process waits until the first ends it.
#[tokio::test(flavor = "multi_thread")]
async fn postgres_setup_survives_a_kill_and_stays_exclusive() {
    let url = ferry_testkit::pg_database().await;
    let spec = url.expose();
    let r = run("killed-in-setup");

    let first = StateStore::open(&spec).await.unwrap();
    assert_eq!(first.begin_setup(&r, true).await.unwrap(), RunStart::New);
    first
        .set_preexisting(&r.run_id, "[\"public.kept\"]")
        .await
        .unwrap();
    first.commit_registration().await.unwrap();
    // Target DDL would run here. Ranges stored after the registration are
    // lost with the process.
    first
        .insert_ranges(&r.run_id, "public.t", &[KeyRange::Whole])
        .await
        .unwrap();

    // A second process waits for the setup lock while the first lives.
    let waiting = tokio::spawn({
        let (spec, r) = (spec.clone(), r.clone());
        async move {
            let second = StateStore::open(&spec).await.unwrap();
            let start = second.begin_setup(&r, true).await.unwrap();
            (second, start)
        }
    });
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert!(!waiting.is_finished(), "setup must be exclusive");

    // kill -9: the session goes, with its open transaction and its lock.
    drop(first);
    let (second, start) = tokio::time::timeout(std::time::Duration::from_secs(20), waiting)
        .await
        .expect("the dead process's setup lock is released")
        .unwrap();
    assert_eq!(start, RunStart::Unfinished);
    assert_eq!(
        second.preexisting(&r.run_id).await.unwrap().as_deref(),
        Some("[\"public.kept\"]")
    );
    assert!(second
        .ranges(&r.run_id, "public.t")
        .await
        .unwrap()
        .is_empty());
    second
        .insert_ranges(&r.run_id, "public.t", &[KeyRange::Whole])
        .await
        .unwrap();
    second.end_setup(&r.run_id).await.unwrap();
    assert_eq!(
        second.claim(&r.run_id, "public.t", 0).await.unwrap(),
        Claim::Taken { was_copying: false }
    );
}

/// What the change stream and cutover will ask of either store: positions
/// per stream (last one wins), steps in the order first recorded, each
/// keeping its first time; a finished run started over forgets both.
async fn stream_positions_and_cutover_steps(store: &StateStore, r: &RunInfo) {
    let id = r.run_id.as_str();
    assert_eq!(store.begin_setup(r, true).await.unwrap(), RunStart::New);
    store.end_setup(id).await.unwrap();

    assert_eq!(store.load_stream_position(id, "main").await.unwrap(), None);
    store
        .save_stream_position(id, "main", r#"{"lsn":"0/16B3748"}"#)
        .await
        .unwrap();
    store
        .save_stream_position(id, "main", r#"{"lsn":"0/16B37F0"}"#)
        .await
        .unwrap();
    store
        .save_stream_position(id, "other", r#"{"file":"binlog.000002","pos":4}"#)
        .await
        .unwrap();
    assert_eq!(
        store
            .load_stream_position(id, "main")
            .await
            .unwrap()
            .as_deref(),
        Some(r#"{"lsn":"0/16B37F0"}"#)
    );
    assert_eq!(
        store
            .load_stream_position("another-run", "main")
            .await
            .unwrap(),
        None
    );

    let before = std::time::SystemTime::now() - std::time::Duration::from_secs(60);
    store
        .record_cutover_step(id, "stop_writes", StepStatus::Running, "{}")
        .await
        .unwrap();
    store
        .record_cutover_step(id, "drain", StepStatus::Running, "{}")
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    store
        .record_cutover_step(id, "stop_writes", StepStatus::Done, r#"{"locked":true}"#)
        .await
        .unwrap();
    let steps = store.cutover_steps(id).await.unwrap();
    let names: Vec<(&str, StepStatus, &str)> = steps
        .iter()
        .map(|s| (s.step.as_str(), s.status, s.detail.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            ("stop_writes", StepStatus::Done, r#"{"locked":true}"#),
            ("drain", StepStatus::Running, "{}"),
        ]
    );
    let first = &steps[0];
    assert!(first.started > before, "{first:?}");
    assert!(first.updated > first.started, "{first:?}");
    assert!(store.cutover_steps("another-run").await.unwrap().is_empty());

    // Started over: the stream and the cutover belonged to the finished copy.
    assert!(store.finish_run(id).await.unwrap());
    store.mark_finished(id).await.unwrap();
    assert_eq!(
        store.begin_setup(r, true).await.unwrap(),
        RunStart::Finished
    );
    store.end_setup(id).await.unwrap();
    assert_eq!(store.load_stream_position(id, "main").await.unwrap(), None);
    assert!(store.cutover_steps(id).await.unwrap().is_empty());
}

/// Reports of a run accumulate in order, restarts included, and stay the
/// run's own.
async fn reports_accumulate(store: &StateStore) {
    assert!(store.reports("r1").await.unwrap().is_empty());
    store.save_report("r1", "copy", r#"{"n":1}"#).await.unwrap();
    store.save_report("r2", "copy", r#"{"n":2}"#).await.unwrap();
    store
        .save_report("r1", "verify", r#"{"n":3}"#)
        .await
        .unwrap();
    assert_eq!(
        store.reports("r1").await.unwrap(),
        [
            ("copy".to_string(), r#"{"n":1}"#.to_string()),
            ("verify".to_string(), r#"{"n":3}"#.to_string())
        ]
    );
}

#[tokio::test]
async fn sqlite_reports_accumulate() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    reports_accumulate(&StateStore::open(path.to_str().unwrap()).await.unwrap()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_reports_accumulate() {
    let url = ferry_testkit::pg_database().await;
    reports_accumulate(&StateStore::open(&url.expose()).await.unwrap()).await;
}

#[tokio::test]
async fn sqlite_stream_positions_and_cutover_steps() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let store = StateStore::open(path.to_str().unwrap()).await.unwrap();
    stream_positions_and_cutover_steps(&store, &run("sync")).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_stream_positions_and_cutover_steps() {
    let url = ferry_testkit::pg_database().await;
    let store = StateStore::open(&url.expose()).await.unwrap();
    stream_positions_and_cutover_steps(&store, &run("sync")).await;
}

/// A store written before stream positions and cutover steps existed
/// (only `ferry_runs` and `ferry_ranges`) opens, keeps its run, and gains
/// the new tables.
#[tokio::test]
async fn sqlite_store_from_before_the_cutover_tables_opens() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.db");
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch(
            "CREATE TABLE ferry_runs (run_id TEXT PRIMARY KEY, source TEXT NOT NULL, \
               target TEXT NOT NULL, job TEXT NOT NULL, status TEXT NOT NULL, \
               preexisting TEXT, updated TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP); \
             CREATE TABLE ferry_ranges (run_id TEXT NOT NULL, table_name TEXT NOT NULL, \
               idx INTEGER NOT NULL, range_json TEXT NOT NULL, status TEXT NOT NULL, \
               rows INTEGER NOT NULL DEFAULT 0, rejected INTEGER NOT NULL DEFAULT 0, \
               attempts INTEGER NOT NULL DEFAULT 0, \
               updated TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP, \
               PRIMARY KEY (run_id, table_name, idx)); \
             INSERT INTO ferry_runs (run_id, source, target, job, status) \
               VALUES ('old', 's', 't', 'j', 'ready'); \
             INSERT INTO ferry_ranges (run_id, table_name, idx, range_json, status, rows) \
               VALUES ('old', 'public.t', 0, '{\"kind\":\"whole\"}', 'done', 7);",
        )
        .unwrap();
    }
    let store = StateStore::open(path.to_str().unwrap()).await.unwrap();
    assert_eq!(
        store.begin_setup(&run("old"), true).await.unwrap(),
        RunStart::Unfinished
    );
    let ranges = store.ranges("old", "public.t").await.unwrap();
    assert_eq!(ranges[0].status, RangeStatus::Done);
    assert_eq!(ranges[0].rows, 7);
    store.end_setup("old").await.unwrap();
    store
        .record_cutover_step("old", "drain", StepStatus::Failed, "{}")
        .await
        .unwrap();
    assert_eq!(store.cutover_steps("old").await.unwrap().len(), 1);
}

/// The cutover state machine is a compare-and-set register: the first
/// write needs "no record yet", each later one the version it read, and of
/// two writers holding the same version exactly one wins (the runner and
/// the guardian racing at the deadline).
async fn cutover_state_is_compare_and_set(spec: &str) {
    let store = StateStore::open(spec).await.unwrap();
    let other = StateStore::open(spec).await.unwrap();
    assert_eq!(store.cutover("c1").await.unwrap(), None);
    let v1 = store
        .set_cutover("c1", None, CutoverPhase::Preflight, 1, "{}")
        .await
        .unwrap();
    assert_eq!(v1, Some(1));
    // A second "first write" loses.
    assert_eq!(
        other
            .set_cutover("c1", None, CutoverPhase::Ready, 1, "{}")
            .await
            .unwrap(),
        None
    );
    let v2 = store
        .set_cutover("c1", Some(1), CutoverPhase::Fencing, 1, r#"{"d":1}"#)
        .await
        .unwrap();
    assert_eq!(v2, Some(2));
    // Both read version 2; one moves to Switching, the other (the
    // guardian) to Aborting: only the first lands.
    assert_eq!(
        store
            .set_cutover("c1", Some(2), CutoverPhase::Switching, 1, "{}")
            .await
            .unwrap(),
        Some(3)
    );
    assert_eq!(
        other
            .set_cutover("c1", Some(2), CutoverPhase::Aborting, 1, "{}")
            .await
            .unwrap(),
        None
    );
    let r = other.cutover("c1").await.unwrap().unwrap();
    assert_eq!(
        (r.phase, r.attempt, r.version),
        (CutoverPhase::Switching, 1, 3)
    );
    assert!(r.updated > std::time::SystemTime::now() - std::time::Duration::from_secs(60));
    assert_eq!(other.cutover("another").await.unwrap(), None);
}

#[tokio::test]
async fn sqlite_cutover_state_is_compare_and_set() {
    let dir = tempfile::tempdir().unwrap();
    cutover_state_is_compare_and_set(dir.path().join("s.db").to_str().unwrap()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn postgres_cutover_state_is_compare_and_set() {
    let url = ferry_testkit::pg_database().await;
    cutover_state_is_compare_and_set(&url.expose()).await;
}
