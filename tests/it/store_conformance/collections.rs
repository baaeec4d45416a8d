//! Collections: the tree, paths, creation and deletion (`CollectionStore`).

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

    store.delete_collection(&coll_at(&store, cal.id).await, &LockGuard::none(), Vec::new()).await.unwrap();
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
    assert!(matches!(store.delete_collection(&coll_at(&store, cal.id).await, &LockGuard::none(), Vec::new()).await, Err(StoreError::NotFound)));
    // The same path can be created again, empty.
    let again = mkcol(&store, &root, "cal_1%").await;
    assert_ne!(again.id, cal.id);
    assert!(store.objects(again.id).await.unwrap().is_empty());
    assert!(store.child_collections(again.id).await.unwrap().is_empty());
}
