//! Objects: exact bytes, conditions, quota (`ObjectStore`).

use super::*;

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

pub async fn delete_object_conditions(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let root = home(&store, &alice).await;
    let meta = put_ok(&store, &root, "ev.ics", b"v1").await;
    store
        .update_dead_properties(PropertyTarget::Object(meta.id), &target_path(&store, PropertyTarget::Object(meta.id)).await, &[PropertyUpdate::Set(prop("urn:x", "p", "v"))], &LockGuard::none(), None)
        .await
        .unwrap();
    assert!(matches!(store.delete_object(&coll_at(&store, root.id).await, "none.ics", None, &LockGuard::none(), Vec::new()).await, Err(StoreError::NotFound)));
    assert!(matches!(store.delete_object(&coll_at(&store, root.id).await, "ev.ics", Some("nope"), &LockGuard::none(), Vec::new()).await, Err(StoreError::PreconditionFailed)));
    assert!(store.object(root.id, "ev.ics").await.unwrap().is_some());
    store.delete_object(&coll_at(&store, root.id).await, "ev.ics", Some(&meta.etag), &LockGuard::none(), Vec::new()).await.unwrap();
    assert_eq!(store.object(root.id, "ev.ics").await.unwrap(), None);
    assert!(store.dead_properties(PropertyTarget::Object(meta.id)).await.unwrap().is_empty());
    assert!(matches!(store.delete_object(&coll_at(&store, root.id).await, "ev.ics", None, &LockGuard::none(), Vec::new()).await, Err(StoreError::NotFound)));
    let meta = put_ok(&store, &root, "ev.ics", b"v2").await;
    store.delete_object(&coll_at(&store, root.id).await, "ev.ics", None, &LockGuard::none(), Vec::new()).await.unwrap();
    assert_eq!(store.object_with_content(meta.id).await.unwrap(), None);
    let last = store.changes_since(root.id, 0).await.unwrap();
    assert_eq!(last, vec![Change { name: "ev.ics".into(), revision: reload(&store, &root).await.sync_revision, deleted: true }]);
}

/// An object put with its index.
fn indexed(collection: &Collection, name: &str, body: &[u8], index: ObjectIndex) -> PutObject {
    PutObject { index, ..put(collection, name, body, WriteCondition::None) }
}

fn event(uid: &str, start: Option<Millis>, end: Option<Millis>) -> ObjectIndex {
    ObjectIndex {
        uid: Some(uid.into()),
        component: Some("VEVENT".into()),
        time_start: start,
        time_end: end,
        ..Default::default()
    }
}

fn names<'a>(metas: impl IntoIterator<Item = &'a ObjectMeta>) -> Vec<&'a str> {
    metas.into_iter().map(|m| m.name.as_str()).collect()
}

/// The reads of objects: by path with their collection (with and without
/// bytes), listings, named batches and index queries, each answering the
/// state of the last committed write (the listing cache never serves a
/// stale revision).
pub async fn object_reads(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let root = home(&store, &alice).await;
    let cal = mkcol(&store, &root, "cal").await;
    let simple = ObjectIndex { time_simple: true, ..event("a", Some(1_000), Some(2_000)) };
    let recurring = ObjectIndex { instances: Some(vec![(5_000, 5_100), (6_000, 6_100)]), ..event("c", Some(5_000), Some(6_100)) };
    let todo = ObjectIndex { uid: Some("b".into()), component: Some("VTODO".into()), ..Default::default() };
    let a = store.put_object(indexed(&cal, "a.ics", b"A", simple.clone())).await.unwrap().meta;
    store.put_object(indexed(&cal, "b.ics", b"B", todo.clone())).await.unwrap();
    store.put_object(indexed(&cal, "c.ics", b"C", recurring.clone())).await.unwrap();

    // By path, with the collection as it is now.
    let (coll, meta) = store.object_at(&cal.path, "a.ics").await.unwrap().expect("a.ics");
    assert_eq!((coll, &meta), (reload(&store, &cal).await, &a));
    assert_eq!(store.object(cal.id, "a.ics").await.unwrap(), Some(a.clone()));
    let (coll, meta, bytes) = store.object_at_with_content(&cal.path, "a.ics").await.unwrap().expect("a.ics");
    assert_eq!((coll.id, meta, bytes.as_ref()), (cal.id, a.clone(), &b"A"[..]));
    assert_eq!(store.object_at(&cal.path, "none.ics").await.unwrap(), None);
    assert_eq!(store.object_at("/files/alice/none/", "a.ics").await.unwrap(), None);
    assert!(store.object_at_with_content(&root.path, "a.ics").await.unwrap().is_none());
    assert_eq!(store.object(cal.id, "none.ics").await.unwrap(), None);

    // Listings follow every write.
    assert_eq!(names(&store.objects(cal.id).await.unwrap()), ["a.ics", "b.ics", "c.ics"]);
    put_ok(&store, &cal, "d.ics", b"D").await;
    store.delete_object(&coll_at(&store, cal.id).await, "b.ics", None, &LockGuard::none(), Vec::new()).await.unwrap();
    let listing = store.objects(cal.id).await.unwrap();
    assert_eq!(names(&listing), ["a.ics", "c.ics", "d.ics"]);
    assert_eq!(listing[0], a);
    assert!(store.objects(987_654).await.unwrap().is_empty());
    let b = store.put_object(indexed(&cal, "b.ics", b"B2", todo.clone())).await.unwrap().meta;
    assert_eq!(names(&store.objects(cal.id).await.unwrap()), ["a.ics", "b.ics", "c.ics", "d.ics"]);

    // Named batches, with or without bytes, as of the revision just read or not.
    let wanted: Vec<String> = ["c.ics", "zz.ics", "b.ics"].iter().map(|s| s.to_string()).collect();
    let revision = Some(reload(&store, &cal).await.sync_revision);
    for known in [None, revision] {
        let mut found = store.objects_by_name(cal.id, known, &wanted, true).await.unwrap();
        found.sort_by(|x, y| x.0.name.cmp(&y.0.name));
        let found: Vec<(&str, Option<&[u8]>)> = found.iter().map(|(m, c)| (m.name.as_str(), c.as_deref())).collect();
        assert_eq!(found, [("b.ics", Some(&b"B2"[..])), ("c.ics", Some(&b"C"[..]))]);
        let mut bare = store.objects_by_name(cal.id, known, &wanted, false).await.unwrap();
        bare.sort_by(|x, y| x.0.name.cmp(&y.0.name));
        assert_eq!(bare.iter().map(|(m, c)| (m.name.as_str(), c.is_none())).collect::<Vec<_>>(), [("b.ics", true), ("c.ics", true)]);
        assert_eq!(bare[0].0, b);
    }
    // A replaced object is read with its new bytes and their ETag.
    let a2 = store.put_object(indexed(&cal, "a.ics", b"A2", simple.clone())).await.unwrap().meta;
    let found = store.objects_by_name(cal.id, None, &["a.ics".to_string()], true).await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!((&found[0].0, found[0].1.as_deref()), (&a2, Some(&b"A2"[..])));
    assert_eq!(a2.etag, etag_for(b"A2"));

    // Index queries: candidates whose bounds meet the range (unbounded ones
    // always), of the component asked for, ordered by name, the index read
    // back as written.
    let query = |component: Option<&str>, range: Option<(Millis, Millis)>, with_content: bool| ObjectQuery {
        component: component.map(str::to_string),
        time_range: range,
        with_content,
    };
    let found = store.query_objects(cal.id, &query(Some("VEVENT"), Some((1_500, 1_600)), false)).await.unwrap();
    assert_eq!(names(found.iter().map(|o| &o.meta)), ["a.ics"]);
    assert_eq!((&found[0].index, found[0].content.is_none()), (&simple, true));
    let found = store.query_objects(cal.id, &query(Some("VEVENT"), Some((0, 10_000)), true)).await.unwrap();
    assert_eq!(names(found.iter().map(|o| &o.meta)), ["a.ics", "c.ics"]);
    assert_eq!(found[1].index, recurring);
    assert_eq!(found[1].content.as_deref(), Some(&b"C"[..]));
    // d.ics has an empty index: no component, unbounded.
    let found = store.query_objects(cal.id, &query(None, Some((5_050, 5_060)), false)).await.unwrap();
    assert_eq!(names(found.iter().map(|o| &o.meta)), ["b.ics", "c.ics", "d.ics"]);
    let found = store.query_objects(cal.id, &query(Some("VTODO"), None, false)).await.unwrap();
    assert_eq!(names(found.iter().map(|o| &o.meta)), ["b.ics"]);
    assert_eq!(found[0].index, todo);
    // Bounds are inclusive: a range ending where an event starts still finds it.
    let found = store.query_objects(cal.id, &query(Some("VEVENT"), Some((2_000, 4_000)), false)).await.unwrap();
    assert_eq!(names(found.iter().map(|o| &o.meta)), ["a.ics"]);
    let found = store.query_objects(cal.id, &query(Some("VEVENT"), Some((2_001, 4_999)), false)).await.unwrap();
    assert!(found.is_empty());

    // Search texts of a collection of vCards, ordered by name, following writes.
    let book = mkcol(&store, &root, "book").await;
    let card = |text: Option<&str>| ObjectIndex {
        component: Some("VCARD".into()),
        search_text: text.map(str::to_string),
        ..Default::default()
    };
    store.put_object(indexed(&book, "y.vcf", b"Y", card(Some("yves")))).await.unwrap();
    store.put_object(indexed(&book, "x.vcf", b"X", card(Some("xavier")))).await.unwrap();
    store.put_object(indexed(&book, "z.vcf", b"Z", card(None))).await.unwrap();
    let texts = store.search_texts(book.id, None).await.unwrap();
    let expected = |v: &[(&str, &str)]| v.iter().map(|(n, t)| (n.to_string(), t.to_string())).collect::<Vec<_>>();
    assert_eq!(*texts, expected(&[("x.vcf", "xavier"), ("y.vcf", "yves"), ("z.vcf", "")]));
    store.put_object(indexed(&book, "y.vcf", b"Y2", card(Some("yvonne")))).await.unwrap();
    let revision = reload(&store, &book).await.sync_revision;
    for known in [None, Some(revision)] {
        let texts = store.search_texts(book.id, known).await.unwrap();
        assert_eq!(*texts, expected(&[("x.vcf", "xavier"), ("y.vcf", "yvonne"), ("z.vcf", "")]));
    }
    assert!(store.search_texts(987_654, None).await.unwrap().is_empty());
}
