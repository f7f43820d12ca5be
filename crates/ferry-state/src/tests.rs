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
