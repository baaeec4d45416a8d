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
                collection_path: root.path.clone(),
                name: "n.txt".into(),
                content_type: "text/plain".into(),
                guard: LockGuard::none(),
            };
            tokio::spawn(async move { store.create_lock(lock, Some(null), &LockLimits::none()).await })
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
    for i in 0..8 {
        put_ok(&store, &docs, &format!("m{i}"), b"m").await;
    }
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let store = store.clone();
            let lock = if i == 3 {
                test_lock("urn:uuid:docs", "/files/alice/docs/", true, alice.id, None)
            } else {
                test_lock(&format!("urn:uuid:m{i}"), &format!("/files/alice/docs/m{i}"), false, alice.id, None)
            };
            tokio::spawn(async move { store.create_lock(lock, None, &LockLimits::none()).await })
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
            tokio::spawn(async move { store.create_lock(lock, None, &LockLimits::none()).await })
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
                store.create_lock(lock, None, &LockLimits::none()).await.unwrap();
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

/// Concurrent MOVEs of one object, and of one collection, from two stores
/// on one database (two server processes): exactly one moves it, the
/// others find it gone from where they named it (`NotFound`); a DELETE
/// racing a MOVE of one collection likewise.
pub async fn concurrent_moves_of_one_resource(backend: Backend) {
    let db = fresh_db(backend).await;
    let one = almanach::store::open(&db.url).await.expect("open first store");
    one.migrate().await.unwrap();
    let two = almanach::store::open(&db.url).await.expect("open second store");
    let alice = user(&one, "alice").await;
    let root = home(&one, &alice).await;
    let cal = mkcol(&one, &root, "cal").await;
    let stores = [one.clone(), two.clone()];
    let outcomes = |results: Vec<Result<StoreResult<TransferOutcome>, tokio::task::JoinError>>| -> Vec<bool> {
        results
            .into_iter()
            .map(|r| match r.unwrap() {
                Ok(_) => true,
                Err(StoreError::NotFound) => false,
                Err(e) => panic!("unexpected error {e:?}"),
            })
            .collect()
    };
    for round in 0..3 {
        // Each request found the object at its first name.
        let obj = Resolved::object(&cal, &put_ok(&one, &cal, &format!("ev{round}"), b"event").await);
        let tasks: Vec<_> = (0..8)
            .map(|i| {
                let (store, to, obj) = (stores[i % 2].clone(), dest(&cal, &format!("m{round}-{i}"), false), obj.clone());
                tokio::spawn(async move { store.move_object(&obj, to, &LockGuard::none()).await })
            })
            .collect();
        let moved = outcomes(futures::future::join_all(tasks).await);
        assert_eq!(moved.iter().filter(|m| **m).count(), 1, "round {round}: {moved:?}");
        let winner = moved.iter().position(|m| *m).unwrap();
        let names: Vec<String> = one.objects(cal.id).await.unwrap().into_iter().map(|o| o.name).collect();
        assert!(names.contains(&format!("m{round}-{winner}")), "{names:?}");
        assert!((0..8).filter(|i| *i != winner).all(|i| !names.contains(&format!("m{round}-{i}"))), "{names:?}");
    }

    let dir = mkcol(&one, &root, "dir").await;
    put_ok(&one, &dir, "f", b"f").await;
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let (store, to, dir) = (stores[i % 2].clone(), dest(&root, &format!("d{i}"), false), Resolved::collection(&dir));
            tokio::spawn(async move { store.move_collection(&dir, to, &LockGuard::none()).await })
        })
        .collect();
    let moved = outcomes(futures::future::join_all(tasks).await);
    assert_eq!(moved.iter().filter(|m| **m).count(), 1, "{moved:?}");
    let winner = moved.iter().position(|m| *m).unwrap();
    for i in 0..8 {
        let found = one.collection_by_path(&format!("/files/alice/d{i}/")).await.unwrap();
        assert_eq!(found.is_some(), i == winner, "d{i}");
    }

    for round in 0..3 {
        let c = Resolved::collection(&mkcol(&one, &root, &format!("c{round}")).await);
        let (s1, s2, c2) = (one.clone(), two.clone(), c.clone());
        let to = dest(&root, &format!("c{round}-moved"), false);
        let del = tokio::spawn(async move { s1.delete_collection(&c, &LockGuard::none(), Vec::new()).await.map(|jobs| TransferOutcome { replaced: false, jobs }) });
        let mv = tokio::spawn(async move { s2.move_collection(&c2, to, &LockGuard::none()).await });
        let done = outcomes(vec![del.await, mv.await]);
        assert_eq!(done.iter().filter(|d| **d).count(), 1, "round {round}: DELETE and MOVE {done:?}");
        let moved = one.collection_by_path(&format!("/files/alice/c{round}-moved/")).await.unwrap();
        assert_eq!(moved.is_some(), done[1]);
    }
    drop(db);
}

/// Every write given a resource as a request found it acts on it only if it
/// is still there (RFC 4918: a method acts on what its Request-URI names):
/// one store (process) moves things, the other then writes with what it
/// had resolved before — `NotFound` for a source, `MissingParent` for the
/// collection a new member would go into, and nothing changes.
pub async fn writes_recheck_what_the_request_named(backend: Backend) {
    let db = fresh_db(backend).await;
    let one = almanach::store::open(&db.url).await.expect("open first store");
    one.migrate().await.unwrap();
    let two = almanach::store::open(&db.url).await.expect("open second store");
    let alice = user(&one, "alice").await;
    let root = home(&one, &alice).await;
    let cal = mkcol(&one, &root, "cal").await;
    let other = mkcol(&one, &root, "other").await;
    let ev = put_ok(&one, &cal, "ev.ics", b"event").await;

    // Resolved by `two`, then `one` renames the object and moves the
    // calendar away.
    let (ev_then, cal_then) = (Resolved::object(&cal, &ev), Resolved::collection(&cal));
    let stale_cal = cal.clone();
    one.move_object(&ev_then, dest(&cal, "renamed.ics", false), &LockGuard::none()).await.unwrap();
    let ev_renamed = Resolved { id: ev.id, path: "/files/alice/cal/renamed.ics".into() };
    let set = [PropertyUpdate::Set(prop("urn:x", "p", "v"))];
    let not_found = |r: StoreResult<()>| assert!(matches!(r, Err(StoreError::NotFound)), "expected NotFound, got {r:?}");
    let no_parent = |r: StoreResult<()>| assert!(matches!(r, Err(StoreError::MissingParent)), "expected MissingParent, got {r:?}");
    let unit = |r: StoreResult<TransferOutcome>| r.map(|_| ());
    not_found(unit(two.move_object(&ev_then, dest(&other, "x.ics", false), &LockGuard::none()).await));
    not_found(unit(two.copy_object(&ev_then, dest(&other, "x.ics", false), &LockGuard::none()).await));
    not_found(two.update_dead_properties(PropertyTarget::Object(ev.id), &ev_then.path, &set, &LockGuard::none(), None).await);
    assert!(two.objects(other.id).await.unwrap().is_empty());
    assert!(two.dead_properties(PropertyTarget::Object(ev.id)).await.unwrap().is_empty());

    one.move_collection(&cal_then, dest(&root, "moved", false), &LockGuard::none()).await.unwrap();
    let rev = reload(&one, &cal).await.sync_revision;
    no_parent(two.put_object(put(&stale_cal, "new.ics", b"new", WriteCondition::None)).await.map(|_| ()));
    not_found(two.delete_object(&cal_then, "renamed.ics", None, &LockGuard::none(), Vec::new()).await.map(|_| ()));
    not_found(unit(two.move_object(&ev_renamed, dest(&other, "x.ics", false), &LockGuard::none()).await));
    not_found(unit(two.copy_object(&ev_renamed, dest(&other, "x.ics", false), &LockGuard::none()).await));
    not_found(two.update_dead_properties(PropertyTarget::Collection(cal.id), &cal_then.path, &set, &LockGuard::none(), None).await);
    not_found(unit(two.move_collection(&cal_then, dest(&root, "again", false), &LockGuard::none()).await));
    not_found(unit(two.copy_collection(&cal_then, dest(&root, "again", false), true, &LockGuard::none()).await));
    not_found(two.delete_collection(&cal_then, &LockGuard::none(), Vec::new()).await.map(|_| ()));
    // Into the moved calendar: a copy, a new collection, a lock-null resource.
    let o = put_ok(&one, &other, "o.ics", b"o").await;
    let into_stale = dest(&stale_cal, "o.ics", false);
    no_parent(unit(two.copy_object(&Resolved::object(&other, &o), into_stale.clone(), &LockGuard::none()).await));
    no_parent(unit(two.move_object(&Resolved::object(&other, &o), into_stale, &LockGuard::none()).await));
    let sub = NewCollection {
        owner: alice.id,
        parent: Some(cal.id),
        path: "/files/alice/cal/sub/".into(),
        kind: CollectionKind::Plain,
        components: vec![],
        properties: vec![],
        guard: LockGuard::none(),
        quota_limit: None,
    };
    no_parent(two.create_collection(sub).await.map(|_| ()));
    let null = LockNull {
        collection: cal.id,
        collection_path: cal_then.path.clone(),
        name: "null.txt".into(),
        content_type: "text/plain".into(),
        guard: LockGuard::none(),
    };
    let lock = test_lock("urn:uuid:stale", "/files/alice/cal/null.txt", false, alice.id, None);
    no_parent(two.create_lock(lock, Some(null), &LockLimits::none()).await);

    // Nothing changed: the moved calendar holds the renamed event only, at
    // the same revision, and `other` its own object.
    let moved = reload(&one, &cal).await;
    assert_eq!((moved.path.as_str(), moved.sync_revision), ("/files/alice/moved/", rev));
    let names: Vec<String> = one.objects(cal.id).await.unwrap().into_iter().map(|o| o.name).collect();
    assert_eq!(names, ["renamed.ics"]);
    assert!(one.dead_properties(PropertyTarget::Collection(cal.id)).await.unwrap().is_empty());
    assert_eq!(one.objects(other.id).await.unwrap().len(), 1);
    assert!(one.child_collections(cal.id).await.unwrap().is_empty());
    assert!(one.lock("urn:uuid:stale").await.unwrap().is_none());
    drop(db);
}
