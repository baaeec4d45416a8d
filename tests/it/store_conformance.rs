//! Store conformance: every scenario runs unchanged against SQLite and PostgreSQL
//! (`sqlite::<name>` and `postgres::<name>`).

use std::future::Future;
use std::time::Duration;

use almanach::store::*;
use bytes::Bytes;

use crate::db::{fresh_db, Backend};

async fn run<F, Fut>(backend: Backend, scenario: F)
where
    F: FnOnce(SharedStore) -> Fut,
    Fut: Future<Output = ()>,
{
    let db = fresh_db(backend).await;
    let store = almanach::store::open(&db.url).await.expect("open store");
    store.migrate().await.expect("migrate");
    store.migrate().await.expect("migrate twice");
    store.ping().await.expect("ping");
    scenario(store).await;
    drop(db);
}

macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::run(crate::db::Backend::Sqlite, super::$name).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::run(crate::db::Backend::Postgres, super::$name).await;
                }
            )*
        }
    };
}

conformance!(
    academies_and_principals,
    principal_emails,
    collections_tree,
    put_object_conditions_and_bytes,
    concurrent_etag_match,
    quota_exceeded_leaves_data_intact,
    delete_object_conditions,
    copy_and_move_objects,
    copy_and_move_collections,
    move_into_own_subtree_refused,
    dead_properties,
    change_log,
    locks,
    delete_principal_cascades,
    concurrent_transfers,
);

/// Two stores on one database, as two server processes would share it.
mod shared_database {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::two_stores_share_a_database(crate::db::Backend::Sqlite).await;
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        super::two_stores_share_a_database(crate::db::Backend::Postgres).await;
    }
}

// ------------------------------------------------------------------ helpers

async fn user(store: &SharedStore, name: &str) -> Principal {
    store
        .create_principal(NewPrincipal { username: name.into(), ..Default::default() })
        .await
        .expect("create principal")
}

async fn home(store: &SharedStore, owner: &Principal) -> Collection {
    store
        .create_collection(NewCollection {
            owner: owner.id,
            parent: None,
            path: format!("/files/{}/", owner.username),
            kind: CollectionKind::Plain,
            properties: vec![],
        })
        .await
        .expect("create home")
}

async fn mkcol(store: &SharedStore, parent: &Collection, name: &str) -> Collection {
    store
        .create_collection(NewCollection {
            owner: parent.owner,
            parent: Some(parent.id),
            path: format!("{}{name}/", parent.path),
            kind: CollectionKind::Calendar,
            properties: vec![],
        })
        .await
        .expect("create collection")
}

fn put(collection: &Collection, name: &str, body: &[u8], condition: WriteCondition) -> PutObject {
    PutObject {
        collection: collection.id,
        name: name.into(),
        content_type: "text/calendar".into(),
        content: Bytes::copy_from_slice(body),
        condition,
        quota_limit: None,
    }
}

async fn put_ok(store: &SharedStore, collection: &Collection, name: &str, body: &[u8]) -> ObjectMeta {
    store.put_object(put(collection, name, body, WriteCondition::None)).await.expect("put").meta
}

fn prop(ns: &str, name: &str, value: &str) -> DeadProperty {
    DeadProperty { namespace: ns.into(), name: name.into(), value: value.into() }
}

fn dest(parent: &Collection, name: &str, overwrite: bool) -> Destination {
    Destination { parent: parent.id, name: name.into(), overwrite }
}

async fn reload(store: &SharedStore, c: &Collection) -> Collection {
    store.collection(c.id).await.unwrap().expect("collection still exists")
}

fn test_lock(token: &str, root: &str, infinite: bool, principal: PrincipalId, expires_at: Option<Millis>) -> Lock {
    Lock {
        token: token.into(),
        root: root.into(),
        infinite,
        scope: LockScope::Exclusive,
        owner_xml: Some("<D:href>mailto:a@example.org</D:href>".into()),
        principal,
        timeout_secs: expires_at.map(|_| 600),
        expires_at,
    }
}

fn tokens(locks: &[Lock]) -> Vec<&str> {
    let mut t: Vec<&str> = locks.iter().map(|l| l.token.as_str()).collect();
    t.sort();
    t
}

// ---------------------------------------------------------------- scenarios

async fn academies_and_principals(store: SharedStore) {
    let a = store.create_academie("versailles", "Académie de Versailles", Some("idf")).await.unwrap();
    assert_eq!(a.region.as_deref(), Some("idf"));
    store.create_academie("creteil", "Académie de Créteil", Some("idf")).await.unwrap();
    store.create_academie("corse", "Académie de Corse", None).await.unwrap();
    assert!(matches!(
        store.create_academie("versailles", "again", None).await,
        Err(StoreError::AlreadyExists)
    ));
    let regions = store.list_regions().await.unwrap();
    assert_eq!(regions.len(), 1);
    assert_eq!((regions[0].slug.as_str(), regions[0].name.as_str()), ("idf", "idf"));
    let slugs: Vec<String> = store.list_academies().await.unwrap().into_iter().map(|a| a.slug).collect();
    assert_eq!(slugs, ["corse", "creteil", "versailles"]);
    assert_eq!(store.academie("versailles").await.unwrap(), Some(a));
    assert_eq!(store.academie("nowhere").await.unwrap(), None);

    let alice = store
        .create_principal(NewPrincipal {
            username: "alice".into(),
            display_name: Some("Alice Martin".into()),
            academie: Some("versailles".into()),
            password_hash: Some("$argon2id$v=19$x".into()),
            emails: vec!["Alice@Example.org".into(), "a.martin@example.org".into()],
            is_admin: true,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(alice.kind, PrincipalKind::User);
    assert_eq!(alice.academie.as_deref(), Some("versailles"));
    assert!(alice.is_admin && !alice.disabled);
    assert!(alice.created_at > 0);
    assert_eq!(store.principal(alice.id).await.unwrap(), Some(alice.clone()));
    assert_eq!(store.principal_by_username("alice").await.unwrap(), Some(alice.clone()));
    assert_eq!(store.principal_by_username("nobody").await.unwrap(), None);

    let room = store
        .create_principal(NewPrincipal { username: "salle-101".into(), kind: Some(PrincipalKind::Room), ..Default::default() })
        .await
        .unwrap();
    assert_eq!(room.kind, PrincipalKind::Room);
    assert_eq!(room.academie, None);

    assert!(matches!(
        store.create_principal(NewPrincipal { username: "alice".into(), ..Default::default() }).await,
        Err(StoreError::AlreadyExists)
    ));
    assert!(matches!(
        store
            .create_principal(NewPrincipal {
                username: "bob".into(),
                academie: Some("atlantide".into()),
                ..Default::default()
            })
            .await,
        Err(StoreError::Invalid(_))
    ));
    // Email taken (case-insensitively): the whole creation is refused.
    assert!(matches!(
        store
            .create_principal(NewPrincipal {
                username: "bob".into(),
                emails: vec!["bob@example.org".into(), "ALICE@example.ORG".into()],
                ..Default::default()
            })
            .await,
        Err(StoreError::AlreadyExists)
    ));
    assert_eq!(store.principal_by_username("bob").await.unwrap(), None);
    assert_eq!(store.count_principals().await.unwrap(), 2);
    let names: Vec<String> = store.list_principals().await.unwrap().into_iter().map(|p| p.username).collect();
    assert_eq!(names, ["alice", "salle-101"]);

    store.set_password_hash(alice.id, "$argon2id$new").await.unwrap();
    store.set_disabled(alice.id, true).await.unwrap();
    let again = store.principal(alice.id).await.unwrap().unwrap();
    assert_eq!(again.password_hash.as_deref(), Some("$argon2id$new"));
    assert!(again.disabled);
    assert!(matches!(store.set_disabled(9999, true).await, Err(StoreError::NotFound)));
    assert!(matches!(store.set_password_hash(9999, "x").await, Err(StoreError::NotFound)));

    store.delete_principal(room.id).await.unwrap();
    assert_eq!(store.principal(room.id).await.unwrap(), None);
    assert!(matches!(store.delete_principal(room.id).await, Err(StoreError::NotFound)));
    assert_eq!(store.count_principals().await.unwrap(), 1);
}

async fn principal_emails(store: SharedStore) {
    let alice = store
        .create_principal(NewPrincipal {
            username: "alice".into(),
            emails: vec!["Alice@Example.org".into(), "second@example.org".into()],
            ..Default::default()
        })
        .await
        .unwrap();
    let emails = store.principal_emails(alice.id).await.unwrap();
    assert_eq!(
        emails,
        vec![
            PrincipalEmail { address: "Alice@Example.org".into(), primary: true },
            PrincipalEmail { address: "second@example.org".into(), primary: false },
        ]
    );
    store.add_principal_email(alice.id, "third@example.org", false).await.unwrap();
    store.add_principal_email(alice.id, "new-primary@example.org", true).await.unwrap();
    let emails = store.principal_emails(alice.id).await.unwrap();
    assert_eq!(emails.len(), 4);
    assert_eq!(emails.iter().filter(|e| e.primary).count(), 1);
    assert_eq!(emails[3], PrincipalEmail { address: "new-primary@example.org".into(), primary: true });
    assert_eq!(emails[0].address, "Alice@Example.org");

    let bob = user(&store, "bob").await;
    assert!(store.principal_emails(bob.id).await.unwrap().is_empty());
    assert!(matches!(
        store.add_principal_email(bob.id, "ALICE@example.org", false).await,
        Err(StoreError::AlreadyExists)
    ));
    // The first address becomes primary even when not asked.
    store.add_principal_email(bob.id, "bob@example.org", false).await.unwrap();
    assert_eq!(
        store.principal_emails(bob.id).await.unwrap(),
        vec![PrincipalEmail { address: "bob@example.org".into(), primary: true }]
    );
    assert!(matches!(store.add_principal_email(9999, "x@example.org", true).await, Err(StoreError::NotFound)));
}

async fn collections_tree(store: SharedStore) {
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
            properties: vec![prop("DAV:", "displayname", "Agenda")],
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
        properties: vec![],
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

    store.delete_collection(cal.id).await.unwrap();
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
    assert!(matches!(store.delete_collection(cal.id).await, Err(StoreError::NotFound)));
    // The same path can be created again, empty.
    let again = mkcol(&store, &root, "cal_1%").await;
    assert_ne!(again.id, cal.id);
    assert!(store.objects(again.id).await.unwrap().is_empty());
    assert!(store.child_collections(again.id).await.unwrap().is_empty());
}

async fn put_object_conditions_and_bytes(store: SharedStore) {
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
    assert_eq!(store.object_content(created.meta.id).await.unwrap(), Bytes::from(body.clone()));
    assert_eq!(store.object(root.id, "ev.ics").await.unwrap(), Some(created.meta.clone()));
    assert_eq!(store.object(root.id, "none.ics").await.unwrap(), None);
    assert!(matches!(store.object_content(987_654).await, Err(StoreError::NotFound)));

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
    assert_eq!(store.object_content(v3.meta.id).await.unwrap(), Bytes::new());
    let v4 = store.put_object(put(&root, "ev.ics", b"v4", WriteCondition::None)).await.unwrap();
    assert!(!v4.created);

    put_ok(&store, &root, "b.ics", b"b").await;
    put_ok(&store, &root, "a.ics", b"a").await;
    let names: Vec<String> = store.objects(root.id).await.unwrap().into_iter().map(|o| o.name).collect();
    assert_eq!(names, ["a.ics", "b.ics", "ev.ics"]);

    let big: Vec<u8> = (0..300_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    let meta = put_ok(&store, &root, "big.bin", &big).await;
    assert_eq!(store.object_content(meta.id).await.unwrap().as_ref(), big.as_slice());

    let mut gone = put(&root, "x", b"x", WriteCondition::None);
    gone.collection = 987_654;
    assert!(matches!(store.put_object(gone).await, Err(StoreError::MissingParent)));
    assert!(matches!(
        store.put_object(put(&root, "a/b", b"x", WriteCondition::None)).await,
        Err(StoreError::Invalid(_))
    ));
}

async fn concurrent_etag_match(store: SharedStore) {
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
    assert!(String::from_utf8(store.object_content(now.id).await.unwrap().to_vec()).unwrap().starts_with("writer "));

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

async fn quota_exceeded_leaves_data_intact(store: SharedStore) {
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
    assert_eq!(store.object_content(a.id).await.unwrap().as_ref(), &[1u8; 60]);
    assert_eq!(reload(&store, &root).await.sync_revision, before.sync_revision, "failed write leaves no trace");
    let mut p = put(&root, "a.bin", &[4u8; 70], WriteCondition::None);
    p.quota_limit = Some(100);
    store.put_object(p).await.unwrap();
    assert_eq!(store.quota_used(alice.id).await.unwrap(), 100);
    // Another owner's usage is separate.
    let bob = user(&store, "bob").await;
    assert_eq!(store.quota_used(bob.id).await.unwrap(), 0);
}

async fn delete_object_conditions(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let root = home(&store, &alice).await;
    let meta = put_ok(&store, &root, "ev.ics", b"v1").await;
    store
        .update_dead_properties(PropertyTarget::Object(meta.id), &[PropertyUpdate::Set(prop("urn:x", "p", "v"))])
        .await
        .unwrap();
    assert!(matches!(store.delete_object(root.id, "none.ics", None).await, Err(StoreError::NotFound)));
    assert!(matches!(store.delete_object(root.id, "ev.ics", Some("nope")).await, Err(StoreError::PreconditionFailed)));
    assert!(store.object(root.id, "ev.ics").await.unwrap().is_some());
    store.delete_object(root.id, "ev.ics", Some(&meta.etag)).await.unwrap();
    assert_eq!(store.object(root.id, "ev.ics").await.unwrap(), None);
    assert!(store.dead_properties(PropertyTarget::Object(meta.id)).await.unwrap().is_empty());
    assert!(matches!(store.delete_object(root.id, "ev.ics", None).await, Err(StoreError::NotFound)));
    let meta = put_ok(&store, &root, "ev.ics", b"v2").await;
    store.delete_object(root.id, "ev.ics", None).await.unwrap();
    assert!(matches!(store.object_content(meta.id).await, Err(StoreError::NotFound)));
    let last = store.changes_since(root.id, 0).await.unwrap();
    assert_eq!(last, vec![Change { name: "ev.ics".into(), revision: reload(&store, &root).await.sync_revision, deleted: true }]);
}

async fn copy_and_move_objects(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let root = home(&store, &alice).await;
    let other = mkcol(&store, &root, "other").await;
    let body = b"\x00binary\xff".to_vec();
    let src = put_ok(&store, &root, "src.bin", &body).await;
    store
        .update_dead_properties(PropertyTarget::Object(src.id), &[PropertyUpdate::Set(prop("urn:x", "color", "red"))])
        .await
        .unwrap();

    let out = store.copy_object(src.id, dest(&other, "copy.bin", false)).await.unwrap();
    assert!(!out.replaced);
    let copy = store.object(other.id, "copy.bin").await.unwrap().unwrap();
    assert_ne!(copy.id, src.id);
    assert_eq!((copy.etag.as_str(), copy.size, copy.content_type.as_str()), (src.etag.as_str(), src.size, "text/calendar"));
    assert_eq!(store.object_content(copy.id).await.unwrap().as_ref(), body.as_slice());
    assert_eq!(
        store.dead_properties(PropertyTarget::Object(copy.id)).await.unwrap(),
        vec![prop("urn:x", "color", "red")]
    );
    // Properties are duplicated, not shared.
    store
        .update_dead_properties(PropertyTarget::Object(copy.id), &[PropertyUpdate::Set(prop("urn:x", "color", "blue"))])
        .await
        .unwrap();
    assert_eq!(store.dead_properties(PropertyTarget::Object(src.id)).await.unwrap()[0].value, "red");
    let changes = store.changes_since(other.id, 0).await.unwrap();
    assert_eq!(changes.last().unwrap().name, "copy.bin");

    // Existing destination without overwrite: nothing changes.
    let taken = put_ok(&store, &other, "taken.bin", b"taken").await;
    assert!(matches!(store.copy_object(src.id, dest(&other, "taken.bin", false)).await, Err(StoreError::AlreadyExists)));
    assert!(matches!(store.move_object(src.id, dest(&other, "taken.bin", false)).await, Err(StoreError::AlreadyExists)));
    assert_eq!(store.object(other.id, "taken.bin").await.unwrap().unwrap().etag, taken.etag);
    assert!(store.object(root.id, "src.bin").await.unwrap().is_some());
    // A collection at the destination counts too.
    mkcol(&store, &other, "dir").await;
    assert!(matches!(store.copy_object(src.id, dest(&other, "dir", false)).await, Err(StoreError::AlreadyExists)));

    let out = store.copy_object(src.id, dest(&other, "taken.bin", true)).await.unwrap();
    assert!(out.replaced);
    let replaced = store.object(other.id, "taken.bin").await.unwrap().unwrap();
    assert_eq!(replaced.etag, src.etag);
    assert!(matches!(store.object_content(taken.id).await, Err(StoreError::NotFound)));

    // Move keeps the id, content, etag and properties.
    let src_rev = reload(&store, &root).await.sync_revision;
    let out = store.move_object(src.id, dest(&other, "dir", true)).await.unwrap();
    assert!(out.replaced);
    assert_eq!(store.collection_by_path("/files/alice/other/dir/").await.unwrap(), None);
    let moved = store.object(other.id, "dir").await.unwrap().unwrap();
    assert_eq!((moved.id, moved.etag.as_str()), (src.id, src.etag.as_str()));
    assert_eq!(store.object(root.id, "src.bin").await.unwrap(), None);
    assert_eq!(store.object_content(moved.id).await.unwrap().as_ref(), body.as_slice());
    assert_eq!(store.dead_properties(PropertyTarget::Object(moved.id)).await.unwrap(), vec![prop("urn:x", "color", "red")]);
    let src_changes = store.changes_since(root.id, src_rev).await.unwrap();
    assert_eq!(src_changes, vec![Change { name: "src.bin".into(), revision: src_rev + 1, deleted: true }]);
    // Rename within one collection.
    store.move_object(moved.id, dest(&other, "renamed.bin", false)).await.unwrap();
    assert!(store.object(other.id, "renamed.bin").await.unwrap().is_some());
    assert!(matches!(store.move_object(987_654, dest(&other, "x", false)).await, Err(StoreError::NotFound)));
    assert!(matches!(
        store.copy_object(moved.id, Destination { parent: 987_654, name: "x".into(), overwrite: false }).await,
        Err(StoreError::MissingParent)
    ));
}

async fn copy_and_move_collections(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let root = home(&store, &alice).await;
    let src = store
        .create_collection(NewCollection {
            owner: alice.id,
            parent: Some(root.id),
            path: "/files/alice/src/".into(),
            kind: CollectionKind::Calendar,
            properties: vec![prop("DAV:", "displayname", "Source")],
        })
        .await
        .unwrap();
    let child = mkcol(&store, &src, "child").await;
    store
        .update_dead_properties(PropertyTarget::Collection(child.id), &[PropertyUpdate::Set(prop("urn:x", "k", "child"))])
        .await
        .unwrap();
    let o1 = put_ok(&store, &src, "one.ics", b"one").await;
    let o2 = put_ok(&store, &child, "two.ics", b"two\x00").await;
    store
        .update_dead_properties(PropertyTarget::Object(o2.id), &[PropertyUpdate::Set(prop("urn:x", "o", "two"))])
        .await
        .unwrap();
    let used = store.quota_used(alice.id).await.unwrap();

    // Depth 0 copy: the collection and its properties only.
    let out = store.copy_collection(src.id, dest(&root, "shallow", false), false).await.unwrap();
    assert!(!out.replaced);
    let shallow = store.collection_by_path("/files/alice/shallow/").await.unwrap().unwrap();
    assert_eq!(shallow.kind, CollectionKind::Calendar);
    assert_eq!(shallow.parent, Some(root.id));
    assert_eq!(store.dead_properties(PropertyTarget::Collection(shallow.id)).await.unwrap(), vec![prop("DAV:", "displayname", "Source")]);
    assert!(store.objects(shallow.id).await.unwrap().is_empty());
    assert!(store.child_collections(shallow.id).await.unwrap().is_empty());

    // Recursive copy: whole subtree with objects and properties.
    store.copy_collection(src.id, dest(&root, "deep", false), true).await.unwrap();
    let deep = store.collection_by_path("/files/alice/deep/").await.unwrap().unwrap();
    let deep_child = store.collection_by_path("/files/alice/deep/child/").await.unwrap().unwrap();
    assert_eq!(deep_child.parent, Some(deep.id));
    assert_ne!(deep_child.id, child.id);
    assert_eq!(store.dead_properties(PropertyTarget::Collection(deep_child.id)).await.unwrap(), vec![prop("urn:x", "k", "child")]);
    let two = store.object(deep_child.id, "two.ics").await.unwrap().unwrap();
    assert_ne!(two.id, o2.id);
    assert_eq!(two.etag, o2.etag);
    assert_eq!(store.object_content(two.id).await.unwrap().as_ref(), b"two\x00");
    assert_eq!(store.dead_properties(PropertyTarget::Object(two.id)).await.unwrap(), vec![prop("urn:x", "o", "two")]);
    assert!(store.object(deep.id, "one.ics").await.unwrap().is_some());
    assert_eq!(store.quota_used(alice.id).await.unwrap(), used * 2);
    let logged: Vec<String> = store.changes_since(root.id, 0).await.unwrap().into_iter().map(|c| c.name).collect();
    assert!(logged.contains(&"deep".to_string()) && logged.contains(&"shallow".to_string()));

    // Existing destination without overwrite.
    assert!(matches!(store.copy_collection(src.id, dest(&root, "deep", false), true).await, Err(StoreError::AlreadyExists)));
    assert!(matches!(store.move_collection(src.id, dest(&root, "deep", false)).await, Err(StoreError::AlreadyExists)));
    put_ok(&store, &root, "file.txt", b"f").await;
    assert!(matches!(store.move_collection(src.id, dest(&root, "file.txt", false)).await, Err(StoreError::AlreadyExists)));
    assert!(store.collection(src.id).await.unwrap().is_some());

    // Move with overwrite over an existing subtree.
    let target_parent = mkcol(&store, &root, "target").await;
    let before_src_parent = reload(&store, &root).await.sync_revision;
    let out = store.move_collection(src.id, dest(&root, "deep", true)).await.unwrap();
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
    store.move_collection(src.id, dest(&target_parent, "moved", false)).await.unwrap();
    let m = store.collection(src.id).await.unwrap().unwrap();
    assert_eq!((m.path.as_str(), m.parent), ("/files/alice/target/moved/", Some(target_parent.id)));
    assert_eq!(store.collection(child.id).await.unwrap().unwrap().path, "/files/alice/target/moved/child/");
    let kids: Vec<String> = store.child_collections(target_parent.id).await.unwrap().into_iter().map(|c| c.path).collect();
    assert_eq!(kids, ["/files/alice/target/moved/"]);
    assert!(matches!(
        store.move_collection(src.id, Destination { parent: 987_654, name: "x".into(), overwrite: false }).await,
        Err(StoreError::MissingParent)
    ));
    assert!(matches!(store.copy_collection(987_654, dest(&root, "x", false), true).await, Err(StoreError::NotFound)));
}

async fn move_into_own_subtree_refused(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let root = home(&store, &alice).await;
    let a = mkcol(&store, &root, "a").await;
    let b = mkcol(&store, &a, "b").await;
    put_ok(&store, &b, "x.ics", b"x").await;
    for (name, overwrite) in [("c", false), ("c", true)] {
        assert!(matches!(store.move_collection(a.id, dest(&b, name, overwrite)).await, Err(StoreError::Invalid(_))));
        assert!(matches!(store.copy_collection(a.id, dest(&b, name, overwrite), true).await, Err(StoreError::Invalid(_))));
    }
    // Onto itself.
    assert!(matches!(store.move_collection(a.id, dest(&root, "a", true)).await, Err(StoreError::Invalid(_))));
    // Replacing its own ancestor.
    assert!(matches!(store.move_collection(b.id, dest(&root, "a", true)).await, Err(StoreError::Invalid(_))));
    assert_eq!(reload(&store, &b).await.path, "/files/alice/a/b/");
    assert_eq!(store.objects(b.id).await.unwrap().len(), 1);
}

async fn dead_properties(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let root = home(&store, &alice).await;
    let target = PropertyTarget::Collection(root.id);
    assert!(store.dead_properties(target).await.unwrap().is_empty());
    store
        .update_dead_properties(
            target,
            &[
                PropertyUpdate::Set(prop("DAV:", "displayname", "Home")),
                PropertyUpdate::Set(prop("urn:x", "color", "<x:c xmlns:x=\"urn:x\">#ff0000</x:c>")),
                PropertyUpdate::Remove { namespace: "urn:x".into(), name: "missing".into() },
            ],
        )
        .await
        .unwrap();
    assert_eq!(
        store.dead_properties(target).await.unwrap(),
        vec![prop("DAV:", "displayname", "Home"), prop("urn:x", "color", "<x:c xmlns:x=\"urn:x\">#ff0000</x:c>")]
    );
    store
        .update_dead_properties(
            target,
            &[
                PropertyUpdate::Set(prop("DAV:", "displayname", "Maison")),
                PropertyUpdate::Remove { namespace: "urn:x".into(), name: "color".into() },
            ],
        )
        .await
        .unwrap();
    assert_eq!(store.dead_properties(target).await.unwrap(), vec![prop("DAV:", "displayname", "Maison")]);

    // All or nothing: an invalid update leaves everything as it was.
    let r = store
        .update_dead_properties(
            target,
            &[
                PropertyUpdate::Set(prop("urn:y", "new", "v")),
                PropertyUpdate::Remove { namespace: "DAV:".into(), name: "displayname".into() },
                PropertyUpdate::Set(prop("urn:y", "", "invalid")),
            ],
        )
        .await;
    assert!(r.is_err());
    assert_eq!(store.dead_properties(target).await.unwrap(), vec![prop("DAV:", "displayname", "Maison")]);

    // Object properties are separate from collection properties with the same id.
    let obj = put_ok(&store, &root, "o.ics", b"o").await;
    store
        .update_dead_properties(PropertyTarget::Object(obj.id), &[PropertyUpdate::Set(prop("DAV:", "displayname", "obj"))])
        .await
        .unwrap();
    assert_eq!(store.dead_properties(PropertyTarget::Object(obj.id)).await.unwrap(), vec![prop("DAV:", "displayname", "obj")]);
    assert_eq!(store.dead_properties(target).await.unwrap(), vec![prop("DAV:", "displayname", "Maison")]);
    assert!(matches!(
        store
            .update_dead_properties(PropertyTarget::Object(987_654), &[PropertyUpdate::Set(prop("a:", "b", "c"))])
            .await,
        Err(StoreError::NotFound)
    ));
}

async fn change_log(store: SharedStore) {
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
    store.delete_object(cal.id, "b.ics", None).await.unwrap();
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

async fn locks(store: SharedStore) {
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

async fn delete_principal_cascades(store: SharedStore) {
    let alice = store
        .create_principal(NewPrincipal {
            username: "alice".into(),
            emails: vec!["alice@example.org".into()],
            ..Default::default()
        })
        .await
        .unwrap();
    let bob = user(&store, "bob").await;
    let root = home(&store, &alice).await;
    let cal = mkcol(&store, &root, "cal").await;
    let obj = put_ok(&store, &cal, "ev.ics", b"ev").await;
    store
        .update_dead_properties(PropertyTarget::Object(obj.id), &[PropertyUpdate::Set(prop("a:", "b", "c"))])
        .await
        .unwrap();
    store
        .update_dead_properties(PropertyTarget::Collection(cal.id), &[PropertyUpdate::Set(prop("a:", "b", "c"))])
        .await
        .unwrap();
    store.create_lock(test_lock("urn:uuid:alice", "/files/alice/cal/", true, alice.id, None)).await.unwrap();
    store.create_lock(test_lock("urn:uuid:bob-in-alice", "/files/alice/cal/ev.ics", false, bob.id, None)).await.unwrap();
    let bob_home = home(&store, &bob).await;
    put_ok(&store, &bob_home, "keep.ics", b"keep").await;
    store.create_lock(test_lock("urn:uuid:bob", "/files/bob/", true, bob.id, None)).await.unwrap();

    store.delete_principal(alice.id).await.unwrap();
    assert_eq!(store.principal(alice.id).await.unwrap(), None);
    assert_eq!(store.collection(root.id).await.unwrap(), None);
    assert_eq!(store.collection(cal.id).await.unwrap(), None);
    assert!(matches!(store.object_content(obj.id).await, Err(StoreError::NotFound)));
    assert!(store.dead_properties(PropertyTarget::Object(obj.id)).await.unwrap().is_empty());
    assert!(store.dead_properties(PropertyTarget::Collection(cal.id)).await.unwrap().is_empty());
    assert!(store.principal_emails(alice.id).await.unwrap().is_empty());
    assert_eq!(store.lock("urn:uuid:alice").await.unwrap(), None);
    assert_eq!(store.lock("urn:uuid:bob-in-alice").await.unwrap(), None);
    assert_eq!(store.quota_used(alice.id).await.unwrap(), 0);
    // Bob is untouched, and alice's username and email can be reused.
    assert!(store.lock("urn:uuid:bob").await.unwrap().is_some());
    assert_eq!(store.objects(bob_home.id).await.unwrap().len(), 1);
    let again = store
        .create_principal(NewPrincipal {
            username: "alice".into(),
            emails: vec!["alice@example.org".into()],
            ..Default::default()
        })
        .await
        .unwrap();
    assert_ne!(again.id, alice.id);
    assert_eq!(home(&store, &again).await.path, "/files/alice/");
}

async fn concurrent_transfers(store: SharedStore) {
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
            tokio::spawn(async move { store.move_object(id, to).await })
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

async fn two_stores_share_a_database(backend: Backend) {
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
    drop(db);
}
