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
    assert!(String::from_utf8(content(&store, now.id).await.to_vec()).unwrap().starts_with("writer "));

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

    // Lock creation is serialised across processes too.
    assert_eq!(race_exclusive_locks(&[one.clone(), two.clone()], "/files/alice/ev.ics").await, 1);
    let mut p = put(&root, "ev.ics", b"by two", WriteCondition::None);
    p.guard = guard(&alice, &[], &["/files/alice/ev.ics"], &[]);
    assert_eq!(locked_root(two.put_object(p).await), "/files/alice/ev.ics", "a lock taken through one is enforced by two");
    drop(db);
}

/// Lock creation is atomic with its conflict check: of concurrent conflicting
/// LOCKs exactly one is granted.
pub async fn concurrent_exclusive_locks(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let root = home(&store, &alice).await;
    put_ok(&store, &root, "x.txt", b"x").await;
    assert_eq!(race_exclusive_locks(std::slice::from_ref(&store), "/files/alice/x.txt").await, 1);

    // LOCK on an unmapped URL: one lock, one empty object.
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let store = store.clone();
            let lock = test_lock(&format!("urn:uuid:n{i}"), "/files/alice/n.txt", false, alice.id, None);
            let null = LockNull {
                collection: root.id,
                name: "n.txt".into(),
                content_type: "text/plain".into(),
                guard: LockGuard::none(),
            };
            tokio::spawn(async move { store.create_lock(lock, Some(null)).await })
        })
        .collect();
    let mut ok = 0;
    for r in futures::future::join_all(tasks).await {
        match r.unwrap() {
            Ok(()) => ok += 1,
            Err(StoreError::LockConflict { root }) => assert_eq!(root, "/files/alice/n.txt"),
            Err(e) => panic!("unexpected error {e}"),
        }
    }
    assert_eq!(ok, 1);
    assert_eq!(store.locks_covering("/files/alice/n.txt").await.unwrap().len(), 1);
    assert_eq!(store.object(root.id, "n.txt").await.unwrap().unwrap().size, 0);

    // An infinite lock on a collection races locks on its members: never
    // both granted.
    let docs = mkcol(&store, &root, "docs").await;
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let store = store.clone();
            let lock = if i == 3 {
                test_lock("urn:uuid:docs", "/files/alice/docs/", true, alice.id, None)
            } else {
                test_lock(&format!("urn:uuid:m{i}"), &format!("/files/alice/docs/m{i}"), false, alice.id, None)
            };
            tokio::spawn(async move { store.create_lock(lock, None).await })
        })
        .collect();
    for r in futures::future::join_all(tasks).await {
        match r.unwrap() {
            Ok(()) | Err(StoreError::LockConflict { .. }) => {}
            Err(e) => panic!("unexpected error {e}"),
        }
    }
    let members = store.locks_below(&docs.path).await.unwrap();
    match store.lock("urn:uuid:docs").await.unwrap() {
        Some(_) => assert!(members.is_empty(), "infinite lock granted over member locks: {members:?}"),
        None => assert!(!members.is_empty()),
    }
}

/// Exclusive LOCKs on `root` from every store concurrently (distinct
/// tokens); the number granted.
pub async fn race_exclusive_locks(stores: &[SharedStore], root: &str) -> usize {
    let principal = stores[0].principal_by_username("alice").await.unwrap().unwrap().id;
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let store = stores[i % stores.len()].clone();
            let lock = test_lock(&format!("urn:uuid:race-{i}"), root, false, principal, None);
            tokio::spawn(async move { store.create_lock(lock, None).await })
        })
        .collect();
    let mut ok = 0;
    for r in futures::future::join_all(tasks).await {
        match r.unwrap() {
            Ok(()) => ok += 1,
            Err(StoreError::LockConflict { root: r }) => assert_eq!(r, root),
            Err(e) => panic!("unexpected error {e}"),
        }
    }
    assert_eq!(stores[0].locks_covering(root).await.unwrap().len(), 1);
    ok
}

/// Guarded writes racing a LOCK: once the lock is granted, no write that
/// does not hold it commits any more.
pub async fn locks_and_guarded_writes_race(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let root = home(&store, &alice).await;
    for round in 0..5 {
        let name = format!("r{round}.txt");
        let path = format!("/files/alice/{name}");
        let meta = put_ok(&store, &root, &name, b"start").await;
        let writers: Vec<_> = (0..8)
            .map(|i| {
                let store = store.clone();
                let mut p = put(&root, &name, format!("writer {i}").as_bytes(), WriteCondition::None);
                p.guard = guard(&alice, &[], &[&path], &[]);
                tokio::spawn(async move { store.put_object(p).await })
            })
            .collect();
        let locker = {
            let store = store.clone();
            let lock = test_lock(&format!("urn:uuid:r{round}"), &path, false, alice.id, None);
            tokio::spawn(async move {
                store.create_lock(lock, None).await.unwrap();
                // What the resource holds once the lock is granted.
                store.object_with_content(meta.id).await.unwrap().unwrap().1
            })
        };
        let at_grant = locker.await.unwrap();
        for r in futures::future::join_all(writers).await {
            match r.unwrap() {
                Ok(_) | Err(StoreError::Locked { .. }) => {}
                Err(e) => panic!("unexpected error {e}"),
            }
        }
        assert_eq!(content(&store, meta.id).await, at_grant, "a write committed after the lock was granted");
    }
}
