//! The change log (`ChangeStore`).

use super::*;

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
    store.delete_object(&coll_at(&store, cal.id).await, "b.ics", None, &LockGuard::none(), Vec::new()).await.unwrap();
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
