//! Concurrent writers, and two stores (two server processes) on one database.

use super::*;

pub async fn concurrent_etag_match(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let root = home(&store, &alice).await;
    let first = put_ok(&store, &root, "ev.ics", b"version 1").await;
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let store = store.clone();
            let p = put(&root, "ev.ics", format!("writer {i}").as_bytes(), WriteCondition::ETagMatches(first.etag.clone()));
            tokio::spawn(async move { store.put_object(p).await })
        })
        .collect();
    let mut ok = 0;
    for t in futures::future::join_all(tasks).await {
        match t.unwrap() {
            Ok(_) => ok += 1,
            Err(StoreError::PreconditionFailed) => {}
            Err(e) => panic!("unexpected error {e}"),
        }
    }
    assert_eq!(ok, 1, "exactly one conditional writer wins");
    let now = store.object(root.id, "ev.ics").await.unwrap().unwrap();
    assert!(String::from_utf8(store.object_content(now.id).await.unwrap().to_vec()).unwrap().starts_with("writer "));

    // Concurrent creations with If-None-Match: * — one wins as well.
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let store = store.clone();
            let p = put(&root, "new.ics", format!("creator {i}").as_bytes(), WriteCondition::MustNotExist);
            tokio::spawn(async move { store.put_object(p).await })
        })
        .collect();
    let results = futures::future::join_all(tasks).await;
    assert_eq!(results.into_iter().filter(|r| matches!(r, Ok(Ok(_)))).count(), 1);

    // Unconditional concurrent writes into one collection all succeed and
    // each gets its own revision.
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let store = store.clone();
            let p = put(&root, &format!("n{i}.ics"), b"x", WriteCondition::None);
            tokio::spawn(async move { store.put_object(p).await })
        })
        .collect();
    for r in futures::future::join_all(tasks).await {
        r.unwrap().unwrap();
    }
    let after = reload(&store, &root).await;
    assert_eq!(after.sync_revision, 1 + 1 + 1 + 8);
    let revisions: Vec<i64> = store.changes_since(root.id, 0).await.unwrap().into_iter().map(|c| c.revision).collect();
    let mut unique = revisions.clone();
    unique.dedup();
    assert_eq!(unique.len(), revisions.len(), "revisions are distinct: {revisions:?}");
}

pub async fn two_stores_share_a_database(backend: Backend) {
    let db = fresh_db(backend).await;
    let one = almanach::store::open(&db.url).await.expect("open first store");
    one.migrate().await.unwrap();
    let two = almanach::store::open(&db.url).await.expect("open second store");
    two.migrate().await.unwrap();
    let alice = user(&one, "alice").await;
    let root = home(&one, &alice).await;
    assert_eq!(two.collection(root.id).await.unwrap(), Some(root.clone()));
    let first = put_ok(&one, &root, "ev.ics", b"v1").await;

    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let store = if i % 2 == 0 { one.clone() } else { two.clone() };
            let p = put(&root, "ev.ics", format!("writer {i}").as_bytes(), WriteCondition::ETagMatches(first.etag.clone()));
            tokio::spawn(async move { store.put_object(p).await })
        })
        .collect();
    let mut ok = 0;
    for r in futures::future::join_all(tasks).await {
        match r.unwrap() {
            Ok(_) => ok += 1,
            Err(StoreError::PreconditionFailed) => {}
            Err(e) => panic!("unexpected error {e}"),
        }
    }
    assert_eq!(ok, 1);

    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let store = if i % 2 == 0 { one.clone() } else { two.clone() };
            let p = put(&root, &format!("n{i}.ics"), b"x", WriteCondition::None);
            tokio::spawn(async move { store.put_object(p).await })
        })
        .collect();
    for r in futures::future::join_all(tasks).await {
        r.unwrap().expect("no busy or deadlock error");
    }
    let revision = two.collection(root.id).await.unwrap().unwrap().sync_revision;
    assert_eq!(revision, 1 + 1 + 16);
    let changes = one.changes_since(root.id, 0).await.unwrap();
    assert_eq!(changes.len(), 17);
    let mut revisions: Vec<i64> = changes.iter().map(|c| c.revision).collect();
    revisions.dedup();
    assert_eq!(revisions, (2..=18).collect::<Vec<_>>(), "one revision per change, none skipped");
    drop(db);
}
