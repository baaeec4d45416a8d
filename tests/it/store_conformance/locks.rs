//! WebDAV locks: covering, below, refresh, expiry and removal; lock guards
//! of writes, conflicts and lock-null resources (`LockStore`).

use super::*;

pub async fn locks(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let root = home(&store, &alice).await;
    let docs = mkcol(&store, &root, "docs").await;
    put_ok(&store, &docs, "file.txt", b"f").await;
    mkcol(&store, &root, "docs2").await;
    let far = now_millis() + 3_600_000;

    store.create_lock(shared(test_lock("urn:uuid:deep", "/files/alice/", true, alice.id, Some(far))), None, &LockLimits::none()).await.unwrap();
    store.create_lock(shared(test_lock("urn:uuid:shallow", "/files/alice/", false, alice.id, Some(far))), None, &LockLimits::none()).await.unwrap();
    store.create_lock(shared(test_lock("urn:uuid:file", "/files/alice/docs/file.txt", false, alice.id, None)), None, &LockLimits::none()).await.unwrap();
    store.create_lock(shared(test_lock("urn:uuid:docs", "/files/alice/docs/", false, alice.id, Some(far))), None, &LockLimits::none()).await.unwrap();
    store.create_lock(shared(test_lock("urn:uuid:sib", "/files/alice/docs2/", true, alice.id, Some(far))), None, &LockLimits::none()).await.unwrap();
    assert!(matches!(
        store.create_lock(shared(test_lock("urn:uuid:file", "/files/alice/", false, alice.id, None)), None, &LockLimits::none()).await,
        Err(StoreError::AlreadyExists)
    ));

    let l = store.lock("urn:uuid:file").await.unwrap().unwrap();
    assert_eq!(l, shared(test_lock("urn:uuid:file", "/files/alice/docs/file.txt", false, alice.id, None)));
    assert_eq!(store.lock("urn:uuid:none").await.unwrap(), None);

    assert_eq!(
        tokens(&store.locks_covering("/files/alice/docs/file.txt").await.unwrap()),
        ["urn:uuid:deep", "urn:uuid:file"]
    );
    assert_eq!(tokens(&store.locks_covering("/files/alice/docs/").await.unwrap()), ["urn:uuid:deep", "urn:uuid:docs"]);
    // The same collection without its trailing slash.
    assert_eq!(tokens(&store.locks_covering("/files/alice/docs").await.unwrap()), ["urn:uuid:deep", "urn:uuid:docs"]);
    assert_eq!(tokens(&store.locks_covering("/files/alice/").await.unwrap()), ["urn:uuid:deep", "urn:uuid:shallow"]);
    assert!(store.locks_covering("/files/").await.unwrap().is_empty());
    assert_eq!(tokens(&store.locks_covering("/files/alice/docs2/x").await.unwrap()), ["urn:uuid:deep", "urn:uuid:sib"]);

    assert_eq!(
        tokens(&store.locks_below("/files/alice/").await.unwrap()),
        ["urn:uuid:docs", "urn:uuid:file", "urn:uuid:sib"]
    );
    assert_eq!(tokens(&store.locks_below("/files/alice/docs/").await.unwrap()), ["urn:uuid:file"]);
    assert!(store.locks_below("/files/alice/docs/file.txt/").await.unwrap().is_empty());

    // Refresh.
    let refreshed = store.refresh_lock("urn:uuid:file", Some(60), Some(far + 1)).await.unwrap();
    assert_eq!((refreshed.timeout_secs, refreshed.expires_at), (Some(60), Some(far + 1)));
    assert!(matches!(store.refresh_lock("urn:uuid:none", Some(60), Some(far)).await, Err(StoreError::NotFound)));

    // Expiry: expired locks are never returned.
    store
        .create_lock(shared(test_lock("urn:uuid:expiring", "/files/alice/docs/", true, alice.id, Some(now_millis() + 300))), None, &LockLimits::none())
        .await
        .unwrap();
    assert!(store.lock("urn:uuid:expiring").await.unwrap().is_some());
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(store.lock("urn:uuid:expiring").await.unwrap(), None);
    assert!(!tokens(&store.locks_covering("/files/alice/docs/file.txt").await.unwrap()).contains(&"urn:uuid:expiring"));
    assert!(!tokens(&store.locks_below("/files/alice/").await.unwrap()).contains(&"urn:uuid:expiring"));
    assert!(matches!(store.refresh_lock("urn:uuid:expiring", None, None).await, Err(StoreError::NotFound)));
    store.create_lock(shared(test_lock("urn:uuid:past", "/files/alice/", true, alice.id, Some(now_millis() - 1))), None, &LockLimits::none()).await.unwrap();
    assert_eq!(store.lock("urn:uuid:past").await.unwrap(), None);

    // Removal.
    store.remove_lock("urn:uuid:shallow").await.unwrap();
    assert_eq!(store.lock("urn:uuid:shallow").await.unwrap(), None);
    store.remove_lock("urn:uuid:shallow").await.unwrap();

    // Deleting an object or a collection removes the locks rooted there.
    store.delete_object(&coll_at(&store, docs.id).await, "file.txt", None, &LockGuard::none(), Vec::new()).await.unwrap();
    assert_eq!(store.lock("urn:uuid:file").await.unwrap(), None);
    put_ok(&store, &docs, "other.txt", b"o").await;
    store.create_lock(shared(test_lock("urn:uuid:file2", "/files/alice/docs/other.txt", false, alice.id, None)), None, &LockLimits::none()).await.unwrap();
    store.delete_collection(&coll_at(&store, docs.id).await, &LockGuard::none(), Vec::new()).await.unwrap();
    assert_eq!(store.lock("urn:uuid:docs").await.unwrap(), None);
    assert_eq!(store.lock("urn:uuid:file2").await.unwrap(), None);
    assert!(store.lock("urn:uuid:sib").await.unwrap().is_some(), "sibling /docs2/ keeps its lock");
    assert!(store.lock("urn:uuid:deep").await.unwrap().is_some());

    // MOVE removes locks rooted at or below the source.
    let a = mkcol(&store, &root, "a").await;
    put_ok(&store, &a, "x", b"x").await;
    store.create_lock(shared(test_lock("urn:uuid:a", "/files/alice/a/", false, alice.id, None)), None, &LockLimits::none()).await.unwrap();
    store.create_lock(shared(test_lock("urn:uuid:a-x", "/files/alice/a/x", false, alice.id, None)), None, &LockLimits::none()).await.unwrap();
    store.move_collection(&coll_at(&store, a.id).await, dest(&root, "b", false), &LockGuard::none()).await.unwrap();
    assert_eq!(store.lock("urn:uuid:a").await.unwrap(), None);
    assert_eq!(store.lock("urn:uuid:a-x").await.unwrap(), None);
}

/// Writes check their `LockGuard` inside their transaction: a covered place
/// needs a held lock (token submitted, same principal), a subtree needs every
/// lock below it held; a refused write changes nothing.
pub async fn lock_guards(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let root = home(&store, &alice).await;
    let docs = mkcol(&store, &root, "docs").await;
    let file = put_ok(&store, &docs, "file.txt", b"v1").await;
    let file_path = "/files/alice/docs/file.txt";

    // Nothing locked: any guard passes.
    let mut p = put(&docs, "a.txt", b"a", WriteCondition::None);
    p.guard = guard(&alice, &[], &["/files/alice/docs/a.txt", "/files/alice/docs/"], &["/files/alice/docs/"]);
    store.put_object(p).await.unwrap();

    store.create_lock(test_lock("urn:uuid:file", file_path, false, alice.id, None), None, &LockLimits::none()).await.unwrap();
    let before = reload(&store, &docs).await;
    let mut p = put(&docs, "file.txt", b"v2", WriteCondition::None);
    p.guard = guard(&alice, &[], &[file_path], &[]);
    assert_eq!(locked_root(store.put_object(p.clone()).await), file_path);
    // Another principal's token, or another token, does not hold the lock.
    p.guard = guard(&bob, &["urn:uuid:file"], &[file_path], &[]);
    assert_eq!(locked_root(store.put_object(p.clone()).await), file_path);
    p.guard = guard(&alice, &["urn:uuid:other"], &[file_path], &[]);
    assert_eq!(locked_root(store.put_object(p.clone()).await), file_path);
    let g = guard(&alice, &[], &[file_path, "/files/alice/docs/"], &[]);
    assert_eq!(locked_root(store.delete_object(&coll_at(&store, docs.id).await, "file.txt", None, &g, Vec::new()).await), file_path);
    let update = [PropertyUpdate::Set(prop("urn:x", "p", "v"))];
    let g = guard(&alice, &[], &[file_path], &[]);
    assert_eq!(locked_root(store.update_dead_properties(PropertyTarget::Object(file.id), &target_path(&store, PropertyTarget::Object(file.id)).await, &update, &g, None).await), file_path);
    // Refused writes changed nothing, not even the revision.
    assert_eq!(content(&store, file.id).await.as_ref(), b"v1");
    assert!(store.dead_properties(PropertyTarget::Object(file.id)).await.unwrap().is_empty());
    assert_eq!(reload(&store, &docs).await.sync_revision, before.sync_revision);
    // The holder writes.
    p.guard = guard(&alice, &["urn:uuid:other", "urn:uuid:file"], &[file_path], &[]);
    store.put_object(p).await.unwrap();
    assert_eq!(content(&store, file.id).await.as_ref(), b"v2");
    // A depth-0 lock on an object does not cover its siblings.
    let mut p = put(&docs, "b.txt", b"b", WriteCondition::None);
    p.guard = guard(&alice, &[], &["/files/alice/docs/b.txt", "/files/alice/docs/"], &[]);
    store.put_object(p).await.unwrap();

    // Shared locks: holding one of the covering locks is enough.
    put_ok(&store, &root, "s.txt", b"s").await;
    store.create_lock(shared(test_lock("urn:uuid:s-alice", "/files/alice/s.txt", false, alice.id, None)), None, &LockLimits::none()).await.unwrap();
    store.create_lock(shared(test_lock("urn:uuid:s-bob", "/files/alice/s.txt", false, bob.id, None)), None, &LockLimits::none()).await.unwrap();
    let mut p = put(&root, "s.txt", b"s2", WriteCondition::None);
    p.guard = guard(&alice, &["urn:uuid:s-alice"], &["/files/alice/s.txt"], &[]);
    store.put_object(p).await.unwrap();

    // A Depth-infinity lock covers members, new ones included (through the
    // parent), and the collection by either spelling.
    let cal = mkcol(&store, &root, "cal").await;
    put_ok(&store, &cal, "ev.ics", b"e").await;
    store.create_lock(test_lock("urn:uuid:cal", "/files/alice/cal/", true, alice.id, None), None, &LockLimits::none()).await.unwrap();
    let before = reload(&store, &cal).await;
    let mut p = put(&cal, "new.ics", b"n", WriteCondition::None);
    p.guard = guard(&alice, &[], &["/files/alice/cal/new.ics", "/files/alice/cal/"], &[]);
    assert_eq!(locked_root(store.put_object(p).await), "/files/alice/cal/");
    let sub = NewCollection {
        owner: alice.id,
        parent: Some(cal.id),
        path: "/files/alice/cal/sub/".into(),
        kind: CollectionKind::Plain,
        components: vec![],
        properties: vec![],
        guard: guard(&alice, &[], &["/files/alice/cal/", "/files/alice/cal/sub/"], &[]),
        quota_limit: None,
    };
    assert_eq!(locked_root(store.create_collection(sub.clone()).await), "/files/alice/cal/");
    let g = guard(&alice, &[], &["/files/alice/cal"], &[]);
    let update = [PropertyUpdate::Set(prop("urn:x", "p", "v"))];
    assert_eq!(locked_root(store.update_dead_properties(PropertyTarget::Collection(cal.id), &target_path(&store, PropertyTarget::Collection(cal.id)).await, &update, &g, None).await), "/files/alice/cal/");
    let g = guard(&alice, &[], &["/files/alice/cal/copy.txt", "/files/alice/cal/"], &[]);
    assert_eq!(locked_root(store.copy_object(&obj_at(&store, file.id).await, dest(&cal, "copy.txt", false), &g).await), "/files/alice/cal/");
    let ev = store.object(cal.id, "ev.ics").await.unwrap().unwrap();
    let g = guard(&alice, &[], &["/files/alice/cal/ev.ics", "/files/alice/cal/", "/files/alice/ev.ics", "/files/alice/"], &[]);
    assert_eq!(locked_root(store.move_object(&obj_at(&store, ev.id).await, dest(&root, "ev.ics", false), &g).await), "/files/alice/cal/");
    let g = guard(&alice, &[], &["/files/alice/cal/docs/", "/files/alice/cal/"], &[]);
    assert_eq!(locked_root(store.copy_collection(&coll_at(&store, docs.id).await, dest(&cal, "docs", false), true, &g).await), "/files/alice/cal/");
    assert!(store.collection_by_path("/files/alice/cal/docs/").await.unwrap().is_none());
    assert!(store.collection_by_path("/files/alice/cal/sub/").await.unwrap().is_none());
    assert_eq!(store.object(cal.id, "new.ics").await.unwrap(), None);
    assert_eq!(store.object(root.id, "ev.ics").await.unwrap(), None);
    assert_eq!(reload(&store, &cal).await.sync_revision, before.sync_revision);
    let held = guard(&alice, &["urn:uuid:cal"], &["/files/alice/cal/", "/files/alice/cal/sub/"], &[]);
    store.create_collection(NewCollection { guard: held, ..sub }).await.unwrap();

    // `below`: every lock strictly below the subtree must be held, and the
    // first one that is not is reported.
    let g = guard(&alice, &[], &["/files/alice/docs/", "/files/alice/"], &["/files/alice/docs/"]);
    assert_eq!(locked_root(store.delete_collection(&coll_at(&store, docs.id).await, &g, Vec::new()).await), file_path);
    let g = guard(&alice, &[], &["/files/alice/docs/", "/files/alice/", "/files/alice/moved/"], &["/files/alice/docs/"]);
    assert_eq!(locked_root(store.move_collection(&coll_at(&store, docs.id).await, dest(&root, "moved", false), &g).await), file_path);
    assert_eq!(reload(&store, &docs).await.path, "/files/alice/docs/");
    let g = guard(&alice, &["urn:uuid:cal"], &["/files/alice/cal/", "/files/alice/"], &["/files/alice/cal/"]);
    store.delete_collection(&coll_at(&store, cal.id).await, &g, Vec::new()).await.unwrap();
    assert_eq!(store.lock("urn:uuid:cal").await.unwrap(), None, "the deleted collection's lock is gone");
    let g = guard(&alice, &["urn:uuid:file"], &["/files/alice/docs/", "/files/alice/", "/files/alice/moved/"], &["/files/alice/docs/"]);
    store.move_collection(&coll_at(&store, docs.id).await, dest(&root, "moved", false), &g).await.unwrap();
    assert_eq!(store.lock("urn:uuid:file").await.unwrap(), None, "locks below a moved collection are removed");

    // Expired locks guard nothing.
    put_ok(&store, &root, "old.txt", b"o").await;
    store.create_lock(test_lock("urn:uuid:old", "/files/alice/old.txt", false, alice.id, Some(now_millis() + 200)), None, &LockLimits::none()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut p = put(&root, "old.txt", b"o2", WriteCondition::None);
    p.guard = guard(&bob, &[], &["/files/alice/old.txt"], &[]);
    store.put_object(p).await.unwrap();
}

/// `create_lock` checks conflicts in its own transaction (RFC 4918 §6.1): an
/// exclusive lock conflicts with any lock covering its root (and below it,
/// when infinite); a shared lock only with exclusive ones.
pub async fn lock_conflicts(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let root = home(&store, &alice).await;
    let docs = mkcol(&store, &root, "docs").await;
    put_ok(&store, &docs, "x.txt", b"x").await;
    let x = "/files/alice/docs/x.txt";

    store.create_lock(test_lock("urn:uuid:x1", x, false, alice.id, None), None, &LockLimits::none()).await.unwrap();
    assert_eq!(conflict_root(store.create_lock(test_lock("urn:uuid:x2", x, false, alice.id, None), None, &LockLimits::none()).await), x);
    assert_eq!(conflict_root(store.create_lock(shared(test_lock("urn:uuid:x3", x, false, bob.id, None)), None, &LockLimits::none()).await), x);
    assert_eq!(store.lock("urn:uuid:x2").await.unwrap(), None);
    assert_eq!(store.lock("urn:uuid:x3").await.unwrap(), None);

    // Shared locks coexist, and exclude an exclusive one.
    put_ok(&store, &docs, "s.txt", b"s").await;
    let s = "/files/alice/docs/s.txt";
    store.create_lock(shared(test_lock("urn:uuid:s1", s, false, alice.id, None)), None, &LockLimits::none()).await.unwrap();
    store.create_lock(shared(test_lock("urn:uuid:s2", s, false, bob.id, None)), None, &LockLimits::none()).await.unwrap();
    assert_eq!(conflict_root(store.create_lock(test_lock("urn:uuid:s3", s, false, alice.id, None), None, &LockLimits::none()).await), s);

    // An infinite lock conflicts with locks below its root; a depth-0 lock
    // on the collection does not.
    assert_eq!(
        conflict_root(store.create_lock(test_lock("urn:uuid:d-inf", "/files/alice/docs/", true, alice.id, None), None, &LockLimits::none()).await),
        s
    );
    assert_eq!(
        conflict_root(store.create_lock(shared(test_lock("urn:uuid:r-inf", "/files/alice/", true, alice.id, None)), None, &LockLimits::none()).await),
        x
    );
    store.create_lock(test_lock("urn:uuid:d-0", "/files/alice/docs/", false, alice.id, None), None, &LockLimits::none()).await.unwrap();
    assert_eq!(
        conflict_root(store.create_lock(test_lock("urn:uuid:d-0b", "/files/alice/docs", false, bob.id, None), None, &LockLimits::none()).await),
        "/files/alice/docs/",
        "same collection, other spelling"
    );

    // A lock below an infinite lock's root conflicts with it.
    let cal = mkcol(&store, &root, "cal").await;
    put_ok(&store, &mkcol(&store, &cal, "a").await, "b.ics", b"b").await;
    mkcol(&store, &root, "cal2").await;
    put_ok(&store, &root, "e.txt", b"e").await;
    store.create_lock(test_lock("urn:uuid:cal", "/files/alice/cal/", true, alice.id, None), None, &LockLimits::none()).await.unwrap();
    assert_eq!(
        conflict_root(store.create_lock(test_lock("urn:uuid:deep", "/files/alice/cal/a/b.ics", false, alice.id, None), None, &LockLimits::none()).await),
        "/files/alice/cal/"
    );
    assert_eq!(
        conflict_root(store.create_lock(shared(test_lock("urn:uuid:deep2", "/files/alice/cal/a/", true, bob.id, None)), None, &LockLimits::none()).await),
        "/files/alice/cal/"
    );
    // Siblings are independent.
    store.create_lock(test_lock("urn:uuid:cal2", "/files/alice/cal2/", true, alice.id, None), None, &LockLimits::none()).await.unwrap();

    // Expired locks conflict with nothing.
    store.create_lock(test_lock("urn:uuid:e1", "/files/alice/e.txt", false, alice.id, Some(now_millis() + 200)), None, &LockLimits::none()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    store.create_lock(test_lock("urn:uuid:e2", "/files/alice/e.txt", false, bob.id, None), None, &LockLimits::none()).await.unwrap();
}

/// LOCK on an unmapped URL: the empty object and the lock are created in one
/// transaction; when either fails, neither exists.
pub async fn lock_null_resources(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let root = home(&store, &alice).await;
    let null = |collection: &Collection, name: &str, guard: LockGuard| LockNull {
        collection: collection.id,
        collection_path: collection.path.clone(),
        name: name.into(),
        content_type: "application/octet-stream".into(),
        guard,
    };

    let before = reload(&store, &root).await;
    store
        .create_lock(test_lock("urn:uuid:n", "/files/alice/n.txt", false, alice.id, None), Some(null(&root, "n.txt", LockGuard::none())), &LockLimits::none())
        .await
        .unwrap();
    let meta = store.object(root.id, "n.txt").await.unwrap().expect("lock-null object");
    assert_eq!((meta.size, meta.etag.as_str(), meta.content_type.as_str()), (0, etag_for(b"").as_str(), "application/octet-stream"));
    assert!(content(&store, meta.id).await.is_empty());
    assert!(store.lock("urn:uuid:n").await.unwrap().is_some());
    let after = reload(&store, &root).await;
    assert_eq!(after.sync_revision, before.sync_revision + 1);
    let changes = store.changes_since(root.id, before.sync_revision).await.unwrap();
    assert_eq!(changes, vec![Change { name: "n.txt".into(), revision: after.sync_revision, deleted: false }]);

    // A conflicting lock leaves nothing behind.
    let cal = mkcol(&store, &root, "cal").await;
    store.create_lock(test_lock("urn:uuid:cal", "/files/alice/cal/", true, alice.id, None), None, &LockLimits::none()).await.unwrap();
    let cal_before = reload(&store, &cal).await;
    let r = store
        .create_lock(test_lock("urn:uuid:c", "/files/alice/cal/c.ics", false, alice.id, None), Some(null(&cal, "c.ics", LockGuard::none())), &LockLimits::none())
        .await;
    assert_eq!(conflict_root(r), "/files/alice/cal/");
    assert_eq!(store.object(cal.id, "c.ics").await.unwrap(), None);
    assert_eq!(store.lock("urn:uuid:c").await.unwrap(), None);
    assert_eq!(reload(&store, &cal).await.sync_revision, cal_before.sync_revision);

    // The binding into the parent respects the parent's locks.
    let sh = mkcol(&store, &root, "sh").await;
    store.create_lock(shared(test_lock("urn:uuid:sh", "/files/alice/sh/", true, alice.id, None)), None, &LockLimits::none()).await.unwrap();
    let new_lock = || shared(test_lock("urn:uuid:y", "/files/alice/sh/y", false, alice.id, None));
    let without = guard(&alice, &[], &["/files/alice/sh/"], &[]);
    assert_eq!(locked_root(store.create_lock(new_lock(), Some(null(&sh, "y", without)), &LockLimits::none()).await), "/files/alice/sh/");
    assert_eq!(store.object(sh.id, "y").await.unwrap(), None);
    assert_eq!(store.lock("urn:uuid:y").await.unwrap(), None);
    let with = guard(&alice, &["urn:uuid:sh"], &["/files/alice/sh/"], &[]);
    store.create_lock(new_lock(), Some(null(&sh, "y", with)), &LockLimits::none()).await.unwrap();
    assert!(store.object(sh.id, "y").await.unwrap().is_some());

    // Something already there, or no parent: no lock either.
    put_ok(&store, &root, "taken.txt", b"t").await;
    let r = store
        .create_lock(test_lock("urn:uuid:t", "/files/alice/taken.txt", false, alice.id, None), Some(null(&root, "taken.txt", LockGuard::none())), &LockLimits::none())
        .await;
    assert!(matches!(r, Err(StoreError::AlreadyExists)), "{r:?}");
    assert_eq!(content(&store, store.object(root.id, "taken.txt").await.unwrap().unwrap().id).await.as_ref(), b"t");
    mkcol(&store, &root, "dir").await;
    let r = store
        .create_lock(test_lock("urn:uuid:t", "/files/alice/dir", false, alice.id, None), Some(null(&root, "dir", LockGuard::none())), &LockLimits::none())
        .await;
    assert!(matches!(r, Err(StoreError::AlreadyExists)), "{r:?}");
    assert_eq!(store.object(root.id, "dir").await.unwrap(), None);
    let gone = Collection { id: 987_654, ..root.clone() };
    let r = store
        .create_lock(test_lock("urn:uuid:t", "/files/alice/gone/z", false, alice.id, None), Some(null(&gone, "z", LockGuard::none())), &LockLimits::none())
        .await;
    assert!(matches!(r, Err(StoreError::MissingParent)), "{r:?}");
    assert_eq!(store.lock("urn:uuid:t").await.unwrap(), None);
}

/// A guard built from paths a concurrent change has made stale still
/// protects the resources the write really touches: the store derives them
/// from the rows it has locked.
pub async fn stale_guards_still_protect(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let root = home(&store, &alice).await;
    let docs = mkcol(&store, &root, "docs").await;
    store.create_lock(test_lock("urn:uuid:docs0", "/files/alice/docs/", false, bob.id, None), None, &LockLimits::none()).await.unwrap();

    // PUT that believed the object existed (guard on the target only): the
    // object is gone, so the write binds a new member into a locked collection.
    let mut p = put(&docs, "t.txt", b"new", WriteCondition::None);
    p.guard = guard(&alice, &[], &["/files/alice/docs/t.txt"], &[]);
    assert_eq!(locked_root(store.put_object(p).await), "/files/alice/docs/");
    assert_eq!(store.object(docs.id, "t.txt").await.unwrap(), None);

    // DELETE of a collection renamed (and locked by bob) since the request resolved it.
    let x = mkcol(&store, &root, "x").await;
    store.move_collection(&coll_at(&store, x.id).await, dest(&root, "y", false), &LockGuard::none()).await.unwrap();
    store.create_lock(test_lock("urn:uuid:y", "/files/alice/y/", true, bob.id, None), None, &LockLimits::none()).await.unwrap();
    let g = guard(&alice, &[], &["/files/alice/x/", "/files/alice/"], &["/files/alice/x/"]);
    assert_eq!(locked_root(store.delete_collection(&coll_at(&store, x.id).await, &g, Vec::new()).await), "/files/alice/y/");
    assert!(store.lock("urn:uuid:y").await.unwrap().is_some(), "bob's lock survives");

    // MOVE of an object renamed (and locked by bob) since.
    let o = put_ok(&store, &root, "o.txt", b"o").await;
    store.move_object(&obj_at(&store, o.id).await, dest(&root, "p.txt", false), &LockGuard::none()).await.unwrap();
    store.create_lock(test_lock("urn:uuid:p", "/files/alice/p.txt", false, bob.id, None), None, &LockLimits::none()).await.unwrap();
    let g = guard(&alice, &[], &["/files/alice/q.txt", "/files/alice/", "/files/alice/o.txt"], &[]);
    assert_eq!(locked_root(store.move_object(&obj_at(&store, o.id).await, dest(&root, "q.txt", false), &g).await), "/files/alice/p.txt");
    assert!(store.lock("urn:uuid:p").await.unwrap().is_some(), "bob's lock survives");

    // PROPPATCH on an object whose name changed: the current path is checked.
    let r = store
        .update_dead_properties(PropertyTarget::Object(o.id), &target_path(&store, PropertyTarget::Object(o.id)).await, &[PropertyUpdate::Set(prop("urn:x", "a", "1"))], &g, None)
        .await;
    assert_eq!(locked_root(r), "/files/alice/p.txt");
}


/// `create_lock` enforces its [`LockLimits`] in the lock's transaction: the
/// locks covering the root, the principal's unexpired locks (lock-null
/// resources included), then the quota, which counts the owner XML of the
/// principal's unexpired locks. A refused lock stores nothing. Without a
/// lock-null resource, the root must exist.
pub async fn lock_limits(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let root = home(&store, &alice).await;
    let docs = mkcol(&store, &root, "docs").await;
    put_ok(&store, &docs, "f.txt", &[1u8; 40]).await;
    put_ok(&store, &docs, "g.txt", &[1u8; 10]).await;
    let owned = |token: &str, root: &str, owner: usize, principal: PrincipalId| Lock {
        owner_xml: Some("o".repeat(owner)),
        ..shared(test_lock(token, root, false, principal, None))
    };
    let f = "/files/alice/docs/f.txt";

    // Quota: the owner XML counts, unexpired locks only.
    let quota = |limit: i64| LockLimits { quota_limit: Some(limit), ..LockLimits::none() };
    let r = store.create_lock(owned("urn:uuid:q1", f, 100, alice.id), None, &quota(149)).await;
    assert!(matches!(r, Err(StoreError::QuotaExceeded)), "{r:?}");
    assert_eq!(store.lock("urn:uuid:q1").await.unwrap(), None);
    assert_eq!(store.quota_used(alice.id).await.unwrap(), 50);
    store.create_lock(owned("urn:uuid:q1", f, 100, alice.id), None, &quota(150)).await.unwrap();
    assert_eq!(store.quota_used(alice.id).await.unwrap(), 150);
    let expiring = Lock { expires_at: Some(now_millis() + 200), ..owned("urn:uuid:q2", f, 30, alice.id) };
    store.create_lock(expiring, None, &quota(180)).await.unwrap();
    assert_eq!(store.quota_used(alice.id).await.unwrap(), 180);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(store.quota_used(alice.id).await.unwrap(), 150, "an expired lock's owner no longer counts");
    // The locking principal's quota, not the resource owner's.
    store.create_lock(owned("urn:uuid:b1", f, 20, bob.id), None, &quota(20)).await.unwrap();
    assert_eq!((store.quota_used(alice.id).await.unwrap(), store.quota_used(bob.id).await.unwrap()), (150, 20));
    store.remove_lock("urn:uuid:b1").await.unwrap();
    store.remove_lock("urn:uuid:q1").await.unwrap();
    assert_eq!(store.quota_used(alice.id).await.unwrap(), 50);

    // Per resource: the locks covering the root, an ancestor's infinite
    // lock included.
    let per_resource = LockLimits { per_resource: Some(2), ..LockLimits::none() };
    store.create_lock(shared(test_lock("urn:uuid:docs", "/files/alice/docs/", true, bob.id, None)), None, &per_resource).await.unwrap();
    store.create_lock(shared(test_lock("urn:uuid:r1", f, false, bob.id, None)), None, &per_resource).await.unwrap();
    let r = store.create_lock(shared(test_lock("urn:uuid:r2", f, false, alice.id, None)), None, &per_resource).await;
    assert!(matches!(r, Err(StoreError::TooManyLocks { per: LockCap::Resource, limit: 2 })), "{r:?}");
    assert_eq!(store.locks_covering(f).await.unwrap().len(), 2);
    store.create_lock(shared(test_lock("urn:uuid:r3", "/files/alice/docs/g.txt", false, alice.id, None)), None, &per_resource).await.unwrap();

    // Per principal: alice holds r3; two more make three, a lock-null
    // resource beyond is refused with nothing created.
    let per_principal = LockLimits { per_principal: Some(3), ..LockLimits::none() };
    store.create_lock(shared(test_lock("urn:uuid:p1", "/files/alice/", false, alice.id, None)), None, &per_principal).await.unwrap();
    let null = LockNull {
        collection: root.id,
        collection_path: root.path.clone(),
        name: "n.txt".into(),
        content_type: "text/plain".into(),
        guard: LockGuard::none(),
    };
    store.create_lock(test_lock("urn:uuid:p2", "/files/alice/n.txt", false, alice.id, None), Some(null.clone()), &per_principal).await.unwrap();
    let m = LockNull { name: "m.txt".into(), ..null };
    let r = store.create_lock(test_lock("urn:uuid:p3", "/files/alice/m.txt", false, alice.id, None), Some(m), &per_principal).await;
    assert!(matches!(r, Err(StoreError::TooManyLocks { per: LockCap::Principal, limit: 3 })), "{r:?}");
    assert_eq!(store.object(root.id, "m.txt").await.unwrap(), None);
    // The lock-null resource is an object like any: empty, it adds only its
    // lock's owner XML to the quota (as r3 and p1 do).
    assert_eq!(store.object(root.id, "n.txt").await.unwrap().unwrap().size, 0);
    let owner = test_lock("x", "/", false, alice.id, None).owner_xml.unwrap().len() as i64;
    assert_eq!(store.quota_used(alice.id).await.unwrap(), 50 + 3 * owner);
    // Bob's locks are his own count.
    store.create_lock(shared(test_lock("urn:uuid:b2", "/files/alice/", false, bob.id, None)), None, &per_principal).await.unwrap();

    // A root that no longer exists (deleted or moved away since the
    // request found it): not locked.
    let r = store.create_lock(shared(test_lock("urn:uuid:gone", "/files/alice/docs/gone.txt", false, alice.id, None)), None, &LockLimits::none()).await;
    assert!(matches!(r, Err(StoreError::NotFound)), "{r:?}");
    let r = store.create_lock(test_lock("urn:uuid:gone", "/files/alice/gone/", true, alice.id, None), None, &LockLimits::none()).await;
    assert!(matches!(r, Err(StoreError::NotFound)), "{r:?}");
}
