//! Collections, objects (exact bytes, conditions, quota), dead properties and the change log.

use super::*;

pub async fn collections_tree(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let root = home(&store, &alice).await;
    assert_eq!(root.sync_revision, 0);
    assert_eq!(root.parent, None);
    assert_eq!(root.name(), "alice");
    assert_eq!(store.collection_by_path("/files/alice/").await.unwrap(), Some(root.clone()));
    assert_eq!(store.collection(root.id).await.unwrap(), Some(root.clone()));
    assert_eq!(store.collection_by_path("/files/nobody/").await.unwrap(), None);

    let cal = store
        .create_collection(NewCollection {
            owner: alice.id,
            parent: Some(root.id),
            path: "/files/alice/cal_1%/".into(),
            kind: CollectionKind::Calendar,
            components: vec![],
            properties: vec![prop("DAV:", "displayname", "Agenda")],
            guard: LockGuard::none(),
            quota_limit: None,
        })
        .await
        .unwrap();
    assert_eq!(cal.kind, CollectionKind::Calendar);
    assert_eq!(cal.parent, Some(root.id));
    assert_eq!(cal.sync_revision, 0);
    assert_eq!(
        store.dead_properties(PropertyTarget::Collection(cal.id)).await.unwrap(),
        vec![prop("DAV:", "displayname", "Agenda")]
    );
    let books = mkcol(&store, &root, "books").await;
    let inner = mkcol(&store, &cal, "inner").await;
    let deep = mkcol(&store, &inner, "deep").await;
    put_ok(&store, &deep, "x.ics", b"deep").await;
    put_ok(&store, &cal, "y.ics", b"y").await;
    // A sibling whose name shares the prefix (and LIKE wildcards) must survive.
    let sibling = mkcol(&store, &root, "cal_1%x").await;
    let sibling2 = mkcol(&store, &root, "calA1%").await;

    let children: Vec<String> = store.child_collections(root.id).await.unwrap().into_iter().map(|c| c.path).collect();
    // Byte order ("A" < "_"), the same on both databases.
    assert_eq!(children, ["/files/alice/books/", "/files/alice/calA1%/", "/files/alice/cal_1%/", "/files/alice/cal_1%x/"]);

    let dup = NewCollection {
        owner: alice.id,
        parent: Some(root.id),
        path: "/files/alice/books/".into(),
        kind: CollectionKind::Plain,
        components: vec![],
        properties: vec![],
        guard: LockGuard::none(),
        quota_limit: None,
    };
    assert!(matches!(store.create_collection(dup.clone()).await, Err(StoreError::AlreadyExists)));
    put_ok(&store, &root, "notes.txt", b"n").await;
    let on_object = NewCollection { path: "/files/alice/notes.txt/".into(), ..dup.clone() };
    assert!(matches!(store.create_collection(on_object).await, Err(StoreError::AlreadyExists)));
    // And the converse: an object where a collection is.
    assert!(matches!(
        store.put_object(put(&root, "books", b"x", WriteCondition::None)).await,
        Err(StoreError::AlreadyExists)
    ));
    let orphan = NewCollection { parent: Some(987_654), path: "/files/alice/gone/x/".into(), ..dup.clone() };
    assert!(matches!(store.create_collection(orphan).await, Err(StoreError::MissingParent)));

    store.delete_collection(&coll_at(&store, cal.id).await, &LockGuard::none()).await.unwrap();
    for gone in [&cal, &inner, &deep] {
        assert_eq!(store.collection(gone.id).await.unwrap(), None);
    }
    assert_eq!(store.collection_by_path("/files/alice/cal_1%/inner/deep/").await.unwrap(), None);
    assert!(store.objects(deep.id).await.unwrap().is_empty());
    assert!(store.dead_properties(PropertyTarget::Collection(cal.id)).await.unwrap().is_empty());
    for kept in [&root, &books, &sibling, &sibling2] {
        assert!(store.collection(kept.id).await.unwrap().is_some(), "{} survives", kept.path);
    }
    let changes = store.changes_since(root.id, 0).await.unwrap();
    let last = changes.last().unwrap();
    assert_eq!((last.name.as_str(), last.deleted), ("cal_1%", true));
    assert!(matches!(store.delete_collection(&coll_at(&store, cal.id).await, &LockGuard::none()).await, Err(StoreError::NotFound)));
    // The same path can be created again, empty.
    let again = mkcol(&store, &root, "cal_1%").await;
    assert_ne!(again.id, cal.id);
    assert!(store.objects(again.id).await.unwrap().is_empty());
    assert!(store.child_collections(again.id).await.unwrap().is_empty());
}

pub async fn put_object_conditions_and_bytes(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let root = home(&store, &alice).await;
    let body: Vec<u8> = vec![0x00, 0xff, 0xfe, b'B', b'E', b'G', 0x80, 0xc3, 0x28, b'\r', b'\n', 0x00];
    let created = store.put_object(put(&root, "ev.ics", &body, WriteCondition::MustNotExist)).await.unwrap();
    assert!(created.created);
    assert_eq!(created.meta.etag, etag_for(&body));
    assert_eq!(created.meta.size, body.len() as i64);
    assert_eq!(created.meta.content_type, "text/calendar");
    assert_eq!(created.meta.name, "ev.ics");
    assert_eq!(created.meta.collection, root.id);
    assert_eq!(content(&store, created.meta.id).await, Bytes::from(body.clone()));
    assert_eq!(store.object(root.id, "ev.ics").await.unwrap(), Some(created.meta.clone()));
    assert_eq!(store.object(root.id, "none.ics").await.unwrap(), None);
    assert_eq!(store.object_with_content(987_654).await.unwrap(), None);

    assert!(matches!(
        store.put_object(put(&root, "ev.ics", b"other", WriteCondition::MustNotExist)).await,
        Err(StoreError::PreconditionFailed)
    ));
    assert!(matches!(
        store.put_object(put(&root, "new.ics", b"other", WriteCondition::MustExist)).await,
        Err(StoreError::PreconditionFailed)
    ));
    assert!(matches!(
        store.put_object(put(&root, "new.ics", b"other", WriteCondition::ETagMatches("abc".into()))).await,
        Err(StoreError::PreconditionFailed)
    ));
    assert!(matches!(
        store.put_object(put(&root, "ev.ics", b"other", WriteCondition::ETagMatches("abc".into()))).await,
        Err(StoreError::PreconditionFailed)
    ));
    assert_eq!(store.object(root.id, "new.ics").await.unwrap(), None);

    let replaced = store
        .put_object(put(&root, "ev.ics", b"v2", WriteCondition::ETagMatches(created.meta.etag.clone())))
        .await
        .unwrap();
    assert!(!replaced.created);
    assert_eq!(replaced.meta.id, created.meta.id);
    assert_eq!(replaced.meta.etag, etag_for(b"v2"));
    assert_eq!(replaced.meta.created_at, created.meta.created_at);
    let v3 = store.put_object(put(&root, "ev.ics", b"", WriteCondition::MustExist)).await.unwrap();
    assert_eq!(v3.meta.size, 0);
    assert_eq!(content(&store, v3.meta.id).await, Bytes::new());
    let v4 = store.put_object(put(&root, "ev.ics", b"v4", WriteCondition::None)).await.unwrap();
    assert!(!v4.created);

    put_ok(&store, &root, "b.ics", b"b").await;
    put_ok(&store, &root, "a.ics", b"a").await;
    let names: Vec<String> = store.objects(root.id).await.unwrap().into_iter().map(|o| o.name).collect();
    assert_eq!(names, ["a.ics", "b.ics", "ev.ics"]);

    let big: Vec<u8> = (0..300_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    let meta = put_ok(&store, &root, "big.bin", &big).await;
    assert_eq!(content(&store, meta.id).await.as_ref(), big.as_slice());

    let mut gone = put(&root, "x", b"x", WriteCondition::None);
    gone.collection = 987_654;
    assert!(matches!(store.put_object(gone).await, Err(StoreError::MissingParent)));
    assert!(matches!(
        store.put_object(put(&root, "a/b", b"x", WriteCondition::None)).await,
        Err(StoreError::Invalid(_))
    ));
}

pub async fn quota_exceeded_leaves_data_intact(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let root = home(&store, &alice).await;
    let sub = mkcol(&store, &root, "sub").await;
    assert_eq!(store.quota_used(alice.id).await.unwrap(), 0);
    let mut p = put(&root, "a.bin", &[1u8; 60], WriteCondition::None);
    p.quota_limit = Some(100);
    store.put_object(p).await.unwrap();
    let mut p = put(&sub, "b.bin", &[2u8; 30], WriteCondition::None);
    p.quota_limit = Some(100);
    store.put_object(p).await.unwrap();
    assert_eq!(store.quota_used(alice.id).await.unwrap(), 90);
    let before = reload(&store, &root).await;

    let mut p = put(&root, "c.bin", &[3u8; 11], WriteCondition::None);
    p.quota_limit = Some(100);
    assert!(matches!(store.put_object(p).await, Err(StoreError::QuotaExceeded)));
    assert_eq!(store.object(root.id, "c.bin").await.unwrap(), None);
    // Replacing counts the new size instead of the old one.
    let mut p = put(&root, "a.bin", &[4u8; 71], WriteCondition::None);
    p.quota_limit = Some(100);
    assert!(matches!(store.put_object(p).await, Err(StoreError::QuotaExceeded)));
    let a = store.object(root.id, "a.bin").await.unwrap().unwrap();
    assert_eq!(content(&store, a.id).await.as_ref(), &[1u8; 60]);
    assert_eq!(reload(&store, &root).await.sync_revision, before.sync_revision, "failed write leaves no trace");
    let mut p = put(&root, "a.bin", &[4u8; 70], WriteCondition::None);
    p.quota_limit = Some(100);
    store.put_object(p).await.unwrap();
    assert_eq!(store.quota_used(alice.id).await.unwrap(), 100);
    // Another owner's usage is separate.
    let bob = user(&store, "bob").await;
    assert_eq!(store.quota_used(bob.id).await.unwrap(), 0);
}

/// Dead property values count towards the quota (RFC 4331): a PROPPATCH or
/// an extended MKCOL that would exceed it changes nothing; removals always pass.
pub async fn dead_properties_count_towards_quota(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let root = home(&store, &alice).await;
    let obj = put_ok(&store, &root, "a", &[0u8; 50]).await;
    let target = PropertyTarget::Object(obj.id);
    let set = |v: &str| [PropertyUpdate::Set(prop("urn:x", "p", v))];
    store.update_dead_properties(target, &target_path(&store, target).await, &set(&"x".repeat(30)), &LockGuard::none(), Some(100)).await.unwrap();
    assert_eq!(store.quota_used(alice.id).await.unwrap(), 80);
    let before = reload(&store, &root).await;
    let r = store.update_dead_properties(target, &target_path(&store, target).await, &set(&"y".repeat(60)), &LockGuard::none(), Some(100)).await;
    assert!(matches!(r, Err(StoreError::QuotaExceeded)), "{r:?}");
    assert_eq!(store.dead_properties(target).await.unwrap()[0].value, "x".repeat(30), "nothing changed");
    assert_eq!(reload(&store, &root).await.sync_revision, before.sync_revision);
    // Over quota (the limit shrank): removing still works.
    let remove = [PropertyUpdate::Remove { namespace: "urn:x".into(), name: "p".into() }];
    store.update_dead_properties(target, &target_path(&store, target).await, &remove, &LockGuard::none(), Some(10)).await.unwrap();
    assert_eq!(store.quota_used(alice.id).await.unwrap(), 50);
    // Collections' properties count too, including at creation.
    let big = NewCollection {
        owner: alice.id,
        parent: Some(root.id),
        path: "/files/alice/big/".into(),
        kind: CollectionKind::Plain,
        components: vec![],
        properties: vec![prop("urn:x", "p", &"z".repeat(60))],
        guard: LockGuard::none(),
        quota_limit: Some(100),
    };
    assert!(matches!(store.create_collection(big.clone()).await, Err(StoreError::QuotaExceeded)));
    assert_eq!(store.collection_by_path("/files/alice/big/").await.unwrap(), None);
    store.create_collection(NewCollection { quota_limit: None, ..big }).await.unwrap();
    assert_eq!(store.quota_used(alice.id).await.unwrap(), 110);
}

pub async fn delete_object_conditions(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let root = home(&store, &alice).await;
    let meta = put_ok(&store, &root, "ev.ics", b"v1").await;
    store
        .update_dead_properties(PropertyTarget::Object(meta.id), &target_path(&store, PropertyTarget::Object(meta.id)).await, &[PropertyUpdate::Set(prop("urn:x", "p", "v"))], &LockGuard::none(), None)
        .await
        .unwrap();
    assert!(matches!(store.delete_object(&coll_at(&store, root.id).await, "none.ics", None, &LockGuard::none()).await, Err(StoreError::NotFound)));
    assert!(matches!(store.delete_object(&coll_at(&store, root.id).await, "ev.ics", Some("nope"), &LockGuard::none()).await, Err(StoreError::PreconditionFailed)));
    assert!(store.object(root.id, "ev.ics").await.unwrap().is_some());
    store.delete_object(&coll_at(&store, root.id).await, "ev.ics", Some(&meta.etag), &LockGuard::none()).await.unwrap();
    assert_eq!(store.object(root.id, "ev.ics").await.unwrap(), None);
    assert!(store.dead_properties(PropertyTarget::Object(meta.id)).await.unwrap().is_empty());
    assert!(matches!(store.delete_object(&coll_at(&store, root.id).await, "ev.ics", None, &LockGuard::none()).await, Err(StoreError::NotFound)));
    let meta = put_ok(&store, &root, "ev.ics", b"v2").await;
    store.delete_object(&coll_at(&store, root.id).await, "ev.ics", None, &LockGuard::none()).await.unwrap();
    assert_eq!(store.object_with_content(meta.id).await.unwrap(), None);
    let last = store.changes_since(root.id, 0).await.unwrap();
    assert_eq!(last, vec![Change { name: "ev.ics".into(), revision: reload(&store, &root).await.sync_revision, deleted: true }]);
}

pub async fn dead_properties(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let root = home(&store, &alice).await;
    let target = PropertyTarget::Collection(root.id);
    assert!(store.dead_properties(target).await.unwrap().is_empty());
    store
        .update_dead_properties(
            target, &target_path(&store, 
            target).await,
            &[
                PropertyUpdate::Set(prop("DAV:", "displayname", "Home")),
                PropertyUpdate::Set(prop("urn:x", "color", "<x:c xmlns:x=\"urn:x\">#ff0000</x:c>")),
                PropertyUpdate::Remove { namespace: "urn:x".into(), name: "missing".into() },
            ],
            &LockGuard::none(),
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        store.dead_properties(target).await.unwrap(),
        vec![prop("DAV:", "displayname", "Home"), prop("urn:x", "color", "<x:c xmlns:x=\"urn:x\">#ff0000</x:c>")]
    );
    store
        .update_dead_properties(
            target, &target_path(&store, 
            target).await,
            &[
                PropertyUpdate::Set(prop("DAV:", "displayname", "Maison")),
                PropertyUpdate::Remove { namespace: "urn:x".into(), name: "color".into() },
            ],
            &LockGuard::none(),
            None,
        )
        .await
        .unwrap();
    assert_eq!(store.dead_properties(target).await.unwrap(), vec![prop("DAV:", "displayname", "Maison")]);

    // All or nothing: an invalid update leaves everything as it was.
    let r = store
        .update_dead_properties(
            target, &target_path(&store, 
            target).await,
            &[
                PropertyUpdate::Set(prop("urn:y", "new", "v")),
                PropertyUpdate::Remove { namespace: "DAV:".into(), name: "displayname".into() },
                PropertyUpdate::Set(prop("urn:y", "", "invalid")),
            ],
            &LockGuard::none(),
            None,
        )
        .await;
    assert!(r.is_err());
    assert_eq!(store.dead_properties(target).await.unwrap(), vec![prop("DAV:", "displayname", "Maison")]);

    // Object properties are separate from collection properties with the same id.
    let obj = put_ok(&store, &root, "o.ics", b"o").await;
    store
        .update_dead_properties(PropertyTarget::Object(obj.id), &target_path(&store, PropertyTarget::Object(obj.id)).await, &[PropertyUpdate::Set(prop("DAV:", "displayname", "obj"))], &LockGuard::none(), None)
        .await
        .unwrap();
    assert_eq!(store.dead_properties(PropertyTarget::Object(obj.id)).await.unwrap(), vec![prop("DAV:", "displayname", "obj")]);
    assert_eq!(store.dead_properties(target).await.unwrap(), vec![prop("DAV:", "displayname", "Maison")]);
    assert!(matches!(
        store
            .update_dead_properties(PropertyTarget::Object(987_654), &target_path(&store, PropertyTarget::Object(987_654)).await, &[PropertyUpdate::Set(prop("a:", "b", "c"))], &LockGuard::none(), None)
            .await,
        Err(StoreError::NotFound)
    ));
}

pub async fn change_log(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let root = home(&store, &alice).await;
    let cal = mkcol(&store, &root, "cal").await;
    assert_eq!(reload(&store, &cal).await.sync_revision, 0);
    assert!(store.changes_since(cal.id, 0).await.unwrap().is_empty());

    put_ok(&store, &cal, "a.ics", b"a1").await;
    let r1 = reload(&store, &cal).await.sync_revision;
    put_ok(&store, &cal, "b.ics", b"b1").await;
    let r2 = reload(&store, &cal).await.sync_revision;
    assert!(r2 > r1 && r1 > 0);
    put_ok(&store, &cal, "a.ics", b"a2").await;
    let r3 = reload(&store, &cal).await.sync_revision;
    store.delete_object(&coll_at(&store, cal.id).await, "b.ics", None, &LockGuard::none()).await.unwrap();
    let r4 = reload(&store, &cal).await.sync_revision;
    assert!(r4 > r3 && r3 > r2);
    assert!(reload(&store, &cal).await.modified_at >= cal.modified_at);

    // Collapsed to the latest entry per name, ordered by revision.
    assert_eq!(
        store.changes_since(cal.id, 0).await.unwrap(),
        vec![Change { name: "a.ics".into(), revision: r3, deleted: false }, Change { name: "b.ics".into(), revision: r4, deleted: true }]
    );
    assert_eq!(
        store.changes_since(cal.id, r3).await.unwrap(),
        vec![Change { name: "b.ics".into(), revision: r4, deleted: true }]
    );
    assert!(store.changes_since(cal.id, r4).await.unwrap().is_empty());
    assert!(matches!(store.changes_since(cal.id, r4 + 1).await, Err(StoreError::InvalidSyncToken)));
    assert!(matches!(store.changes_since(cal.id, -1).await, Err(StoreError::InvalidSyncToken)));
    assert!(matches!(store.changes_since(987_654, 0).await, Err(StoreError::NotFound)));

    // Child collections appear by name (no slash) in the parent's log.
    let root_changes = store.changes_since(root.id, 0).await.unwrap();
    assert_eq!(root_changes, vec![Change { name: "cal".into(), revision: 1, deleted: false }]);
    // A failed conditional write changes nothing.
    let _ = store.put_object(put(&cal, "a.ics", b"x", WriteCondition::MustNotExist)).await;
    assert_eq!(reload(&store, &cal).await.sync_revision, r4);
}
