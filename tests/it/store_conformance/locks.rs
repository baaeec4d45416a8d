//! WebDAV locks: covering, below, refresh, expiry and removal.

use super::*;

pub async fn locks(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let root = home(&store, &alice).await;
    let docs = mkcol(&store, &root, "docs").await;
    put_ok(&store, &docs, "file.txt", b"f").await;
    let far = now_millis() + 3_600_000;

    store.create_lock(test_lock("urn:uuid:deep", "/files/alice/", true, alice.id, Some(far))).await.unwrap();
    store.create_lock(test_lock("urn:uuid:shallow", "/files/alice/", false, alice.id, Some(far))).await.unwrap();
    store.create_lock(test_lock("urn:uuid:file", "/files/alice/docs/file.txt", false, alice.id, None)).await.unwrap();
    store.create_lock(test_lock("urn:uuid:docs", "/files/alice/docs/", false, alice.id, Some(far))).await.unwrap();
    store.create_lock(test_lock("urn:uuid:sib", "/files/alice/docs2/", true, alice.id, Some(far))).await.unwrap();
    assert!(matches!(
        store.create_lock(test_lock("urn:uuid:file", "/x", false, alice.id, None)).await,
        Err(StoreError::AlreadyExists)
    ));

    let l = store.lock("urn:uuid:file").await.unwrap().unwrap();
    assert_eq!(l, test_lock("urn:uuid:file", "/files/alice/docs/file.txt", false, alice.id, None));
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
        .create_lock(test_lock("urn:uuid:expiring", "/files/alice/docs/", true, alice.id, Some(now_millis() + 300)))
        .await
        .unwrap();
    assert!(store.lock("urn:uuid:expiring").await.unwrap().is_some());
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(store.lock("urn:uuid:expiring").await.unwrap(), None);
    assert!(!tokens(&store.locks_covering("/files/alice/docs/file.txt").await.unwrap()).contains(&"urn:uuid:expiring"));
    assert!(!tokens(&store.locks_below("/files/alice/").await.unwrap()).contains(&"urn:uuid:expiring"));
    assert!(matches!(store.refresh_lock("urn:uuid:expiring", None, None).await, Err(StoreError::NotFound)));
    store.create_lock(test_lock("urn:uuid:past", "/files/alice/", true, alice.id, Some(now_millis() - 1))).await.unwrap();
    assert_eq!(store.lock("urn:uuid:past").await.unwrap(), None);

    // Removal.
    store.remove_lock("urn:uuid:shallow").await.unwrap();
    assert_eq!(store.lock("urn:uuid:shallow").await.unwrap(), None);
    store.remove_lock("urn:uuid:shallow").await.unwrap();

    // Deleting an object or a collection removes the locks rooted there.
    store.delete_object(docs.id, "file.txt", None).await.unwrap();
    assert_eq!(store.lock("urn:uuid:file").await.unwrap(), None);
    store.create_lock(test_lock("urn:uuid:file2", "/files/alice/docs/other.txt", false, alice.id, None)).await.unwrap();
    store.delete_collection(docs.id).await.unwrap();
    assert_eq!(store.lock("urn:uuid:docs").await.unwrap(), None);
    assert_eq!(store.lock("urn:uuid:file2").await.unwrap(), None);
    assert!(store.lock("urn:uuid:sib").await.unwrap().is_some(), "sibling /docs2/ keeps its lock");
    assert!(store.lock("urn:uuid:deep").await.unwrap().is_some());

    // MOVE removes locks rooted at or below the source.
    let a = mkcol(&store, &root, "a").await;
    store.create_lock(test_lock("urn:uuid:a", "/files/alice/a/", false, alice.id, None)).await.unwrap();
    store.create_lock(test_lock("urn:uuid:a-x", "/files/alice/a/x", false, alice.id, None)).await.unwrap();
    store.move_collection(a.id, dest(&root, "b", false)).await.unwrap();
    assert_eq!(store.lock("urn:uuid:a").await.unwrap(), None);
    assert_eq!(store.lock("urn:uuid:a-x").await.unwrap(), None);

    store.remove_locks_under("/files/alice/").await.unwrap();
    assert_eq!(store.lock("urn:uuid:deep").await.unwrap(), None);
    assert_eq!(store.lock("urn:uuid:sib").await.unwrap(), None);
}
