//! Dead properties (`PropertyStore`), and their share of the quota.

use super::*;

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
