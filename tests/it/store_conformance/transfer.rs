//! COPY and MOVE of objects (`ObjectStore`) and collections (`CollectionStore`).

use super::*;

pub async fn copy_and_move_objects(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let root = home(&store, &alice).await;
    let other = mkcol(&store, &root, "other").await;
    let body = b"\x00binary\xff".to_vec();
    let src = put_ok(&store, &root, "src.bin", &body).await;
    store
        .update_dead_properties(PropertyTarget::Object(src.id), &target_path(&store, PropertyTarget::Object(src.id)).await, &[PropertyUpdate::Set(prop("urn:x", "color", "red"))], &LockGuard::none(), None)
        .await
        .unwrap();

    let out = store.copy_object(&obj_at(&store, src.id).await, dest(&other, "copy.bin", false), &LockGuard::none()).await.unwrap();
    assert!(!out.replaced);
    let copy = store.object(other.id, "copy.bin").await.unwrap().unwrap();
    assert_ne!(copy.id, src.id);
    assert_eq!((copy.etag.as_str(), copy.size, copy.content_type.as_str()), (src.etag.as_str(), src.size, "text/calendar"));
    assert_eq!(content(&store, copy.id).await.as_ref(), body.as_slice());
    assert_eq!(
        store.dead_properties(PropertyTarget::Object(copy.id)).await.unwrap(),
        vec![prop("urn:x", "color", "red")]
    );
    // Properties are duplicated, not shared.
    store
        .update_dead_properties(PropertyTarget::Object(copy.id), &target_path(&store, PropertyTarget::Object(copy.id)).await, &[PropertyUpdate::Set(prop("urn:x", "color", "blue"))], &LockGuard::none(), None)
        .await
        .unwrap();
    assert_eq!(store.dead_properties(PropertyTarget::Object(src.id)).await.unwrap()[0].value, "red");
    let changes = store.changes_since(other.id, 0).await.unwrap();
    assert_eq!(changes.last().unwrap().name, "copy.bin");

    // Existing destination without overwrite: nothing changes.
    let taken = put_ok(&store, &other, "taken.bin", b"taken").await;
    assert!(matches!(store.copy_object(&obj_at(&store, src.id).await, dest(&other, "taken.bin", false), &LockGuard::none()).await, Err(StoreError::AlreadyExists)));
    assert!(matches!(store.move_object(&obj_at(&store, src.id).await, dest(&other, "taken.bin", false), &LockGuard::none()).await, Err(StoreError::AlreadyExists)));
    assert_eq!(store.object(other.id, "taken.bin").await.unwrap().unwrap().etag, taken.etag);
    assert!(store.object(root.id, "src.bin").await.unwrap().is_some());
    // A collection at the destination counts too.
    mkcol(&store, &other, "dir").await;
    assert!(matches!(store.copy_object(&obj_at(&store, src.id).await, dest(&other, "dir", false), &LockGuard::none()).await, Err(StoreError::AlreadyExists)));

    let out = store.copy_object(&obj_at(&store, src.id).await, dest(&other, "taken.bin", true), &LockGuard::none()).await.unwrap();
    assert!(out.replaced);
    let replaced = store.object(other.id, "taken.bin").await.unwrap().unwrap();
    assert_eq!(replaced.etag, src.etag);
    assert_eq!(store.object_with_content(taken.id).await.unwrap(), None);

    // Move keeps the id, content, etag and properties.
    let src_rev = reload(&store, &root).await.sync_revision;
    let out = store.move_object(&obj_at(&store, src.id).await, dest(&other, "dir", true), &LockGuard::none()).await.unwrap();
    assert!(out.replaced);
    assert_eq!(store.collection_by_path("/files/alice/other/dir/").await.unwrap(), None);
    let moved = store.object(other.id, "dir").await.unwrap().unwrap();
    assert_eq!((moved.id, moved.etag.as_str()), (src.id, src.etag.as_str()));
    assert_eq!(store.object(root.id, "src.bin").await.unwrap(), None);
    assert_eq!(content(&store, moved.id).await.as_ref(), body.as_slice());
    assert_eq!(store.dead_properties(PropertyTarget::Object(moved.id)).await.unwrap(), vec![prop("urn:x", "color", "red")]);
    let src_changes = store.changes_since(root.id, src_rev).await.unwrap();
    assert_eq!(src_changes, vec![Change { name: "src.bin".into(), revision: src_rev + 1, deleted: true }]);
    // Rename within one collection.
    store.move_object(&obj_at(&store, moved.id).await, dest(&other, "renamed.bin", false), &LockGuard::none()).await.unwrap();
    assert!(store.object(other.id, "renamed.bin").await.unwrap().is_some());
    assert!(matches!(store.move_object(&obj_at(&store, 987_654).await, dest(&other, "x", false), &LockGuard::none()).await, Err(StoreError::NotFound)));
    assert!(matches!(
        store.copy_object(&obj_at(&store, moved.id).await, Destination { parent: 987_654, parent_path: "/nowhere/".into(), name: "x".into(), overwrite: false, quota_limit: None, enqueue: Vec::new() }, &LockGuard::none()).await,
        Err(StoreError::MissingParent)
    ));
}

pub async fn copy_and_move_collections(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let root = home(&store, &alice).await;
    let src = store
        .create_collection(NewCollection {
            owner: alice.id,
            parent: Some(root.id),
            path: "/files/alice/src/".into(),
            kind: CollectionKind::Calendar,
            components: vec![],
            properties: vec![prop("DAV:", "displayname", "Source")],
            guard: LockGuard::none(),
            quota_limit: None,
        })
        .await
        .unwrap();
    let child = mkcol(&store, &src, "child").await;
    store
        .update_dead_properties(PropertyTarget::Collection(child.id), &target_path(&store, PropertyTarget::Collection(child.id)).await, &[PropertyUpdate::Set(prop("urn:x", "k", "child"))], &LockGuard::none(), None)
        .await
        .unwrap();
    let o1 = put_ok(&store, &src, "one.ics", b"one").await;
    let o2 = put_ok(&store, &child, "two.ics", b"two\x00").await;
    store
        .update_dead_properties(PropertyTarget::Object(o2.id), &target_path(&store, PropertyTarget::Object(o2.id)).await, &[PropertyUpdate::Set(prop("urn:x", "o", "two"))], &LockGuard::none(), None)
        .await
        .unwrap();
    let used = store.quota_used(alice.id).await.unwrap();

    // Depth 0 copy: the collection and its properties only.
    let out = store.copy_collection(&coll_at(&store, src.id).await, dest(&root, "shallow", false), false, &LockGuard::none()).await.unwrap();
    assert!(!out.replaced);
    let shallow = store.collection_by_path("/files/alice/shallow/").await.unwrap().unwrap();
    assert_eq!(shallow.kind, CollectionKind::Calendar);
    assert_eq!(shallow.parent, Some(root.id));
    assert_eq!(store.dead_properties(PropertyTarget::Collection(shallow.id)).await.unwrap(), vec![prop("DAV:", "displayname", "Source")]);
    assert!(store.objects(shallow.id).await.unwrap().is_empty());
    assert!(store.child_collections(shallow.id).await.unwrap().is_empty());

    // Recursive copy: whole subtree with objects and properties.
    store.copy_collection(&coll_at(&store, src.id).await, dest(&root, "deep", false), true, &LockGuard::none()).await.unwrap();
    let deep = store.collection_by_path("/files/alice/deep/").await.unwrap().unwrap();
    let deep_child = store.collection_by_path("/files/alice/deep/child/").await.unwrap().unwrap();
    assert_eq!(deep_child.parent, Some(deep.id));
    assert_ne!(deep_child.id, child.id);
    assert_eq!(store.dead_properties(PropertyTarget::Collection(deep_child.id)).await.unwrap(), vec![prop("urn:x", "k", "child")]);
    let two = store.object(deep_child.id, "two.ics").await.unwrap().unwrap();
    assert_ne!(two.id, o2.id);
    assert_eq!(two.etag, o2.etag);
    assert_eq!(content(&store, two.id).await.as_ref(), b"two\x00");
    assert_eq!(store.dead_properties(PropertyTarget::Object(two.id)).await.unwrap(), vec![prop("urn:x", "o", "two")]);
    assert!(store.object(deep.id, "one.ics").await.unwrap().is_some());
    // The deep copy doubles the usage; the shallow one adds its copied
    // displayname property ("Source").
    assert_eq!(store.quota_used(alice.id).await.unwrap(), used * 2 + "Source".len() as i64);
    let logged: Vec<String> = store.changes_since(root.id, 0).await.unwrap().into_iter().map(|c| c.name).collect();
    assert!(logged.contains(&"deep".to_string()) && logged.contains(&"shallow".to_string()));

    // Existing destination without overwrite.
    assert!(matches!(store.copy_collection(&coll_at(&store, src.id).await, dest(&root, "deep", false), true, &LockGuard::none()).await, Err(StoreError::AlreadyExists)));
    assert!(matches!(store.move_collection(&coll_at(&store, src.id).await, dest(&root, "deep", false), &LockGuard::none()).await, Err(StoreError::AlreadyExists)));
    put_ok(&store, &root, "file.txt", b"f").await;
    assert!(matches!(store.move_collection(&coll_at(&store, src.id).await, dest(&root, "file.txt", false), &LockGuard::none()).await, Err(StoreError::AlreadyExists)));
    assert!(store.collection(src.id).await.unwrap().is_some());

    // Move with overwrite over an existing subtree.
    let target_parent = mkcol(&store, &root, "target").await;
    let before_src_parent = reload(&store, &root).await.sync_revision;
    let out = store.move_collection(&coll_at(&store, src.id).await, dest(&root, "deep", true), &LockGuard::none()).await.unwrap();
    assert!(out.replaced);
    assert_eq!(store.collection(deep.id).await.unwrap(), None, "replaced subtree is gone");
    assert_eq!(store.collection(deep_child.id).await.unwrap(), None);
    let moved = store.collection(src.id).await.unwrap().unwrap();
    assert_eq!(moved.path, "/files/alice/deep/");
    let moved_child = store.collection(child.id).await.unwrap().unwrap();
    assert_eq!(moved_child.path, "/files/alice/deep/child/");
    assert_eq!(moved_child.parent, Some(src.id));
    assert_eq!(store.collection_by_path("/files/alice/src/").await.unwrap(), None);
    assert_eq!(store.object(src.id, "one.ics").await.unwrap().unwrap().id, o1.id);
    assert_eq!(store.dead_properties(PropertyTarget::Object(o2.id)).await.unwrap(), vec![prop("urn:x", "o", "two")]);
    assert_eq!(store.dead_properties(PropertyTarget::Collection(src.id)).await.unwrap(), vec![prop("DAV:", "displayname", "Source")]);
    let changes = store.changes_since(root.id, before_src_parent).await.unwrap();
    assert!(changes.contains(&Change { name: "src".into(), revision: before_src_parent + 1, deleted: true }));
    assert!(changes.iter().any(|c| c.name == "deep" && !c.deleted));

    // Move to another parent.
    store.move_collection(&coll_at(&store, src.id).await, dest(&target_parent, "moved", false), &LockGuard::none()).await.unwrap();
    let m = store.collection(src.id).await.unwrap().unwrap();
    assert_eq!((m.path.as_str(), m.parent), ("/files/alice/target/moved/", Some(target_parent.id)));
    assert_eq!(store.collection(child.id).await.unwrap().unwrap().path, "/files/alice/target/moved/child/");
    let kids: Vec<String> = store.child_collections(target_parent.id).await.unwrap().into_iter().map(|c| c.path).collect();
    assert_eq!(kids, ["/files/alice/target/moved/"]);
    assert!(matches!(
        store.move_collection(&coll_at(&store, src.id).await, Destination { parent: 987_654, parent_path: "/nowhere/".into(), name: "x".into(), overwrite: false, quota_limit: None, enqueue: Vec::new() }, &LockGuard::none()).await,
        Err(StoreError::MissingParent)
    ));
    assert!(matches!(store.copy_collection(&coll_at(&store, 987_654).await, dest(&root, "x", false), true, &LockGuard::none()).await, Err(StoreError::NotFound)));
}

pub async fn move_into_own_subtree_refused(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let root = home(&store, &alice).await;
    let a = mkcol(&store, &root, "a").await;
    let b = mkcol(&store, &a, "b").await;
    put_ok(&store, &b, "x.ics", b"x").await;
    for (name, overwrite) in [("c", false), ("c", true)] {
        assert!(matches!(store.move_collection(&coll_at(&store, a.id).await, dest(&b, name, overwrite), &LockGuard::none()).await, Err(StoreError::Invalid(_))));
        assert!(matches!(store.copy_collection(&coll_at(&store, a.id).await, dest(&b, name, overwrite), true, &LockGuard::none()).await, Err(StoreError::Invalid(_))));
    }
    // Onto itself.
    assert!(matches!(store.move_collection(&coll_at(&store, a.id).await, dest(&root, "a", true), &LockGuard::none()).await, Err(StoreError::Invalid(_))));
    // Replacing its own ancestor.
    assert!(matches!(store.move_collection(&coll_at(&store, b.id).await, dest(&root, "a", true), &LockGuard::none()).await, Err(StoreError::Invalid(_))));
    assert_eq!(reload(&store, &b).await.path, "/files/alice/a/b/");
    assert_eq!(store.objects(b.id).await.unwrap().len(), 1);
}

pub async fn concurrent_transfers(store: SharedStore) {
    // Opposite MOVEs between two collections must not deadlock.
    let alice = user(&store, "alice").await;
    let root = home(&store, &alice).await;
    let a = mkcol(&store, &root, "a").await;
    let b = mkcol(&store, &root, "b").await;
    let mut ids = Vec::new();
    for i in 0..8 {
        let c = if i % 2 == 0 { &a } else { &b };
        ids.push((i, put_ok(&store, c, &format!("o{i}"), b"x").await.id));
    }
    let tasks: Vec<_> = ids
        .into_iter()
        .map(|(i, id)| {
            let store = store.clone();
            let to = if i % 2 == 0 { dest(&b, &format!("m{i}"), false) } else { dest(&a, &format!("m{i}"), false) };
            tokio::spawn(async move { store.move_object(&obj_at(&store, id).await, to, &LockGuard::none()).await })
        })
        .collect();
    for r in futures::future::join_all(tasks).await {
        r.unwrap().unwrap();
    }
    assert_eq!(store.objects(a.id).await.unwrap().len(), 4);
    assert_eq!(store.objects(b.id).await.unwrap().len(), 4);
    assert!(store.objects(a.id).await.unwrap().iter().all(|o| o.name.starts_with('m')));
    // Each move bumped both collections exactly once: 4 puts + 8 moves.
    assert_eq!(reload(&store, &a).await.sync_revision, 12);
    assert_eq!(reload(&store, &b).await.sync_revision, 12);
}

/// A collection MOVE racing with objects moved out of that collection into
/// its parent (rows locked in opposite orders) never deadlocks: every
/// operation either succeeds or reports a domain error.
pub async fn collection_and_object_moves_race(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let root = home(&store, &alice).await;
    for round in 0..4 {
        // x is created before its parent a, so x.id < a.id.
        let x = mkcol(&store, &root, &format!("x{round}")).await;
        let a = mkcol(&store, &root, &format!("a{round}")).await;
        let b = mkcol(&store, &root, &format!("b{round}")).await;
        let x = {
            store.move_collection(&coll_at(&store, x.id).await, dest(&a, "x", false), &LockGuard::none()).await.unwrap();
            reload(&store, &x).await
        };
        let mut objs = Vec::new();
        for i in 0..6 {
            objs.push(put_ok(&store, &x, &format!("o{i}"), b"x").await.id);
        }
        let mut tasks = Vec::new();
        for (i, id) in objs.into_iter().enumerate() {
            let (store, to) = (store.clone(), dest(&a, &format!("m{i}"), false));
            tasks.push(tokio::spawn(async move { store.move_object(&obj_at(&store, id).await, to, &LockGuard::none()).await.map(|_| ()) }));
        }
        let (s2, to) = (store.clone(), dest(&b, "x", false));
        tasks.push(tokio::spawn(async move { s2.move_collection(&coll_at(&s2, x.id).await, to, &LockGuard::none()).await.map(|_| ()) }));
        for r in futures::future::join_all(tasks).await {
            match r.unwrap() {
                Ok(()) | Err(StoreError::NotFound) | Err(StoreError::PreconditionFailed) => {}
                Err(e) => panic!("round {round}: {e:?}"),
            }
        }
    }
}

/// COPY adds the bytes copied, minus those it replaces, to the destination
/// owner's total, and is refused as a whole beyond `quota_limit`.
pub async fn copy_checks_the_quota(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let root = home(&store, &alice).await;
    let a = put_ok(&store, &root, "a", &[1u8; 60]).await;
    let limited = |name: &str, overwrite: bool, limit: i64| Destination { quota_limit: Some(limit), ..dest(&root, name, overwrite) };

    let before = reload(&store, &root).await;
    let r = store.copy_object(&obj_at(&store, a.id).await, limited("b", false, 100), &LockGuard::none()).await;
    assert!(matches!(r, Err(StoreError::QuotaExceeded)), "{r:?}");
    assert_eq!(store.object(root.id, "b").await.unwrap(), None);
    assert_eq!(content(&store, a.id).await.as_ref(), &[1u8; 60]);
    assert_eq!(reload(&store, &before).await.sync_revision, before.sync_revision);
    assert_eq!(store.quota_used(alice.id).await.unwrap(), 60);
    store.copy_object(&obj_at(&store, a.id).await, limited("b", false, 120), &LockGuard::none()).await.unwrap();
    assert_eq!(store.quota_used(alice.id).await.unwrap(), 120);
    // Replacing an object of the same size adds nothing.
    store.copy_object(&obj_at(&store, a.id).await, limited("b", true, 120), &LockGuard::none()).await.unwrap();
    // Replacing a smaller one adds the difference.
    put_ok(&store, &root, "small", &[2u8; 10]).await;
    let r = store.copy_object(&obj_at(&store, a.id).await, limited("small", true, 179), &LockGuard::none()).await;
    assert!(matches!(r, Err(StoreError::QuotaExceeded)), "{r:?}");
    assert_eq!(content(&store, store.object(root.id, "small").await.unwrap().unwrap().id).await.as_ref(), &[2u8; 10]);
    store.copy_object(&obj_at(&store, a.id).await, limited("small", true, 180), &LockGuard::none()).await.unwrap();
    assert_eq!(store.quota_used(alice.id).await.unwrap(), 180);

    // Collections: Depth infinity copies the bytes below, Depth 0 none.
    let c = mkcol(&store, &root, "c").await;
    let sub = mkcol(&store, &c, "sub").await;
    put_ok(&store, &c, "one", &[3u8; 30]).await;
    put_ok(&store, &sub, "two", &[4u8; 20]).await;
    let used = store.quota_used(alice.id).await.unwrap();
    assert_eq!(used, 230);
    let r = store.copy_collection(&coll_at(&store, c.id).await, limited("c2", false, used + 49), true, &LockGuard::none()).await;
    assert!(matches!(r, Err(StoreError::QuotaExceeded)), "{r:?}");
    assert!(store.collection_by_path("/files/alice/c2/").await.unwrap().is_none());
    assert!(store.collection_by_path("/files/alice/c2/sub/").await.unwrap().is_none());
    assert_eq!(store.quota_used(alice.id).await.unwrap(), used);
    store.copy_collection(&coll_at(&store, c.id).await, limited("c0", false, used), false, &LockGuard::none()).await.unwrap();
    store.copy_collection(&coll_at(&store, c.id).await, limited("c2", false, used + 50), true, &LockGuard::none()).await.unwrap();
    assert_eq!(store.quota_used(alice.id).await.unwrap(), used + 50);
    // Replacing a copy by the same tree adds nothing.
    store.copy_collection(&coll_at(&store, c.id).await, limited("c2", true, used + 50), true, &LockGuard::none()).await.unwrap();
    assert_eq!(store.quota_used(alice.id).await.unwrap(), used + 50);
}

/// MOVE within an owner ignores the quota; to another owner it is checked
/// against that owner's, and the moved subtree changes owner.
pub async fn move_to_another_owner(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let a_root = home(&store, &alice).await;
    let b_root = home(&store, &bob).await;
    let obj = put_ok(&store, &a_root, "o", &[1u8; 40]).await;
    let limited = |parent: &Collection, name: &str, limit: i64| Destination { quota_limit: Some(limit), ..dest(parent, name, false) };

    // Same owner: a tiny limit does not matter.
    store.move_object(&obj_at(&store, obj.id).await, limited(&a_root, "o2", 1), &LockGuard::none()).await.unwrap();
    let r = store.move_object(&obj_at(&store, obj.id).await, limited(&b_root, "o", 39), &LockGuard::none()).await;
    assert!(matches!(r, Err(StoreError::QuotaExceeded)), "{r:?}");
    assert!(store.object(a_root.id, "o2").await.unwrap().is_some());
    assert_eq!(store.quota_used(bob.id).await.unwrap(), 0);
    store.move_object(&obj_at(&store, obj.id).await, limited(&b_root, "o", 40), &LockGuard::none()).await.unwrap();
    assert_eq!((store.quota_used(alice.id).await.unwrap(), store.quota_used(bob.id).await.unwrap()), (0, 40));

    let c = mkcol(&store, &a_root, "c").await;
    let sub = mkcol(&store, &c, "sub").await;
    put_ok(&store, &sub, "x", &[2u8; 25]).await;
    let r = store.move_collection(&coll_at(&store, c.id).await, limited(&b_root, "c", 64), &LockGuard::none()).await;
    assert!(matches!(r, Err(StoreError::QuotaExceeded)), "{r:?}");
    assert_eq!(reload(&store, &sub).await.owner, alice.id);
    assert_eq!(reload(&store, &c).await.path, "/files/alice/c/");
    store.move_collection(&coll_at(&store, c.id).await, limited(&b_root, "c", 65), &LockGuard::none()).await.unwrap();
    let (c, sub) = (reload(&store, &c).await, reload(&store, &sub).await);
    assert_eq!((c.owner, c.path.as_str()), (bob.id, "/files/bob/c/"));
    assert_eq!((sub.owner, sub.path.as_str()), (bob.id, "/files/bob/c/sub/"));
    assert_eq!((store.quota_used(alice.id).await.unwrap(), store.quota_used(bob.id).await.unwrap()), (0, 65));
}

/// RFC 4791 §5.3.2.1 / RFC 6352 §6.3.2.1: a COPY into a calendar may not
/// give a UID to a second member — within one calendar the source itself
/// holds it; replacing the holder at the destination is allowed; a MOVE
/// within the calendar is a rename.
pub async fn copy_keeps_uids_unique(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let root = home(&store, &alice).await;
    let cal = mkcol(&store, &root, "cal").await;
    let other = mkcol(&store, &root, "other").await;
    let with_uid = |c: &Collection, name: &str, uid: &str| {
        let mut p = put(c, name, format!("event {uid}").as_bytes(), WriteCondition::None);
        p.index.uid = Some(uid.into());
        p.unique_uid = true;
        p
    };
    let ev1 = store.put_object(with_uid(&cal, "ev1.ics", "u1")).await.unwrap().meta;
    let ev2 = store.put_object(with_uid(&cal, "ev2.ics", "u2")).await.unwrap().meta;
    let holder = |r: StoreResult<TransferOutcome>| match r {
        Err(StoreError::UidConflict { name }) => name,
        other => panic!("expected UidConflict, got {other:?}"),
    };
    let before = reload(&store, &cal).await.sync_revision;
    assert_eq!(holder(store.copy_object(&obj_at(&store, ev1.id).await, dest(&cal, "ev1copy.ics", false), &LockGuard::none()).await), "ev1.ics");
    assert_eq!(holder(store.copy_object(&obj_at(&store, ev1.id).await, dest(&cal, "ev2.ics", true), &LockGuard::none()).await), "ev1.ics");
    assert_eq!(store.object(cal.id, "ev1copy.ics").await.unwrap(), None);
    assert_eq!(store.object(cal.id, "ev2.ics").await.unwrap(), Some(ev2.clone()));
    assert_eq!(reload(&store, &cal).await.sync_revision, before, "nothing changed");

    store.copy_object(&obj_at(&store, ev1.id).await, dest(&other, "x.ics", false), &LockGuard::none()).await.unwrap();
    assert_eq!(holder(store.copy_object(&obj_at(&store, ev1.id).await, dest(&other, "y.ics", false), &LockGuard::none()).await), "x.ics");
    assert!(store.copy_object(&obj_at(&store, ev1.id).await, dest(&other, "x.ics", true), &LockGuard::none()).await.unwrap().replaced);
    store.move_object(&obj_at(&store, ev1.id).await, dest(&cal, "renamed.ics", false), &LockGuard::none()).await.unwrap();
    let names: Vec<String> = store.objects(cal.id).await.unwrap().into_iter().map(|o| o.name).collect();
    assert_eq!(names, ["ev2.ics", "renamed.ics"]);
}

/// The bytes each collection holds are kept by the database on every
/// write (migration 0015): after puts, replacements, dead properties on
/// objects and collections, copies, moves within and across owners,
/// deletes of objects with properties and of collections with a subtree,
/// a recount from the rows finds nothing to correct, and each owner's
/// usage is what its rows hold.
pub async fn kept_usage_matches_a_recount(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let a_root = home(&store, &alice).await;
    let b_root = home(&store, &bob).await;
    let set = |v: &str| [PropertyUpdate::Set(prop("urn:x", "p", v))];

    let a = put_ok(&store, &a_root, "a", &[1u8; 70]).await;
    put_ok(&store, &a_root, "a", &[1u8; 30]).await; // replaced, smaller
    let t = PropertyTarget::Object(a.id);
    store.update_dead_properties(t, &target_path(&store, t).await, &set("twelve bytes"), &LockGuard::none(), None).await.unwrap();
    store.update_dead_properties(t, &target_path(&store, t).await, &set("five!"), &LockGuard::none(), None).await.unwrap();
    let c = mkcol(&store, &a_root, "c").await;
    let sub = mkcol(&store, &c, "sub").await;
    let ct = PropertyTarget::Collection(c.id);
    store.update_dead_properties(ct, &target_path(&store, ct).await, &set("0123456789"), &LockGuard::none(), None).await.unwrap();
    let x = put_ok(&store, &sub, "x", &[2u8; 25]).await;
    let xt = PropertyTarget::Object(x.id);
    store.update_dead_properties(xt, &target_path(&store, xt).await, &set("abc"), &LockGuard::none(), None).await.unwrap();
    assert_eq!(store.quota_used(alice.id).await.unwrap(), 30 + 5 + 10 + 25 + 3);

    // Copies and moves, within alice's tree and to bob.
    store.copy_object(&obj_at(&store, a.id).await, dest(&c, "a-copy", false), &LockGuard::none()).await.unwrap();
    store.copy_collection(&coll_at(&store, c.id).await, dest(&a_root, "c2", false), true, &LockGuard::none()).await.unwrap();
    store.move_object(&obj_at(&store, x.id).await, dest(&a_root, "x", false), &LockGuard::none()).await.unwrap();
    store.move_object(&obj_at(&store, a.id).await, dest(&b_root, "a", false), &LockGuard::none()).await.unwrap();
    store.move_collection(&coll_at(&store, c.id).await, dest(&b_root, "c", false), &LockGuard::none()).await.unwrap();
    assert_eq!(store.recount_quota_usage().await.unwrap(), 0, "after copies and moves");
    // Deletes: an object with its properties, a collection with a subtree.
    let c2 = store.collection_by_path("/files/alice/c2/").await.unwrap().unwrap();
    store.delete_object(&coll_at(&store, a_root.id).await, "x", None, &LockGuard::none(), Vec::new()).await.unwrap();
    store.delete_collection(&coll_at(&store, c2.id).await, &LockGuard::none(), Vec::new()).await.unwrap();
    assert_eq!(store.recount_quota_usage().await.unwrap(), 0, "after deletes");
    assert_eq!(store.quota_used(alice.id).await.unwrap(), 0);
    // bob: a with its property (30 + 5), c with its own (10) holding
    // a-copy (a COPY copies dead properties: 30 + 5), and sub, empty now.
    assert_eq!(store.quota_used(bob.id).await.unwrap(), 35 + 10 + 35);
}
