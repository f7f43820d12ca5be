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
