//! Académies, principals and their email addresses; deleting a principal
//! (`PrincipalStore`).

use super::*;

pub async fn academies_and_principals(store: SharedStore) {
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

pub async fn principal_emails(store: SharedStore) {
    let alice = store
        .create_principal(NewPrincipal {
            username: "alice".into(),
            emails: vec!["Alice@Example.org".into(), "second@example.org".into()],
            ..Default::default()
        })
        .await
        .unwrap();
    let emails = store.principal_emails(alice.id).await.unwrap();
    assert_eq!(emails, vec![email("Alice@Example.org", true, false), email("second@example.org", false, false)]);
    store.add_principal_email(alice.id, "third@example.org", false).await.unwrap();
    store.add_principal_email(alice.id, "new-primary@example.org", true).await.unwrap();
    let emails = store.principal_emails(alice.id).await.unwrap();
    assert_eq!(emails.len(), 4);
    assert_eq!(emails.iter().filter(|e| e.primary).count(), 1);
    // The primary first, then in insertion order.
    assert_eq!(
        emails,
        vec![
            email("new-primary@example.org", true, false),
            email("Alice@Example.org", false, false),
            email("second@example.org", false, false),
            email("third@example.org", false, false),
        ]
    );

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
        vec![email("bob@example.org", true, false)]
    );
    assert!(matches!(store.add_principal_email(9999, "x@example.org", true).await, Err(StoreError::NotFound)));
}

fn email(address: &str, primary: bool, former: bool) -> PrincipalEmail {
    PrincipalEmail { address: address.into(), primary, former }
}

/// A principal is found by any of its addresses, current or former,
/// case-insensitively; `add_principal_email` makes a former address
/// current again, or takes it over from another principal.
pub async fn principal_by_email(store: SharedStore) {
    store.create_academie("lyon", "Académie de Lyon", None).await.unwrap();
    let alice = store
        .create_principal(NewPrincipal {
            username: "alice".into(),
            emails: vec!["Alice@Example.org".into(), "a2@example.org".into()],
            ..Default::default()
        })
        .await
        .unwrap();
    let bob = user(&store, "bob").await;
    let by = |address: &'static str| {
        let store = store.clone();
        async move { store.principal_by_email(address).await.unwrap().map(|p| p.username) }
    };
    assert_eq!(by("alice@example.org").await.as_deref(), Some("alice"));
    assert_eq!(by("  ALICE@EXAMPLE.ORG ").await.as_deref(), Some("alice"));
    assert_eq!(by("A2@example.org").await.as_deref(), Some("alice"));
    assert_eq!(by("bob@example.org").await, None);
    assert_eq!(by("").await, None);
    // Disabled principals are found too (the caller decides).
    store.set_disabled(alice.id, true).await.unwrap();
    assert!(store.principal_by_email("alice@example.org").await.unwrap().unwrap().disabled);
    store.set_disabled(alice.id, false).await.unwrap();

    // An import that changes alice's addresses keeps the old ones as former:
    // still hers for scheduling, listed after the current ones.
    let record = |username: &str, emails: &[&str]| AccountRecord {
        username: username.into(),
        family_name: Some(username.into()),
        emails: emails.iter().map(|e| e.to_string()).collect(),
        academie: Some("lyon".into()),
        ..Default::default()
    };
    assert_eq!(store.import_accounts(&[record("alice", &["alice@new.example.org"])]).await.unwrap(), [ImportOutcome::Updated]);
    assert_eq!(
        store.principal_emails(alice.id).await.unwrap(),
        vec![
            email("alice@new.example.org", true, false),
            email("Alice@Example.org", false, true),
            email("a2@example.org", false, true),
        ]
    );
    assert_eq!(by("alice@example.org").await.as_deref(), Some("alice"));
    assert_eq!(by("ALICE@new.example.org").await.as_deref(), Some("alice"));

    // Adding a former address makes it current again (not primary unless
    // asked), after the current ones, spelt as given.
    store.add_principal_email(alice.id, "ALICE@example.org", false).await.unwrap();
    assert_eq!(
        store.principal_emails(alice.id).await.unwrap(),
        vec![email("alice@new.example.org", true, false), email("ALICE@example.org", false, false), email("a2@example.org", false, true)]
    );
    // A current address is not added twice, to anyone.
    assert!(matches!(store.add_principal_email(alice.id, "alice@example.org", false).await, Err(StoreError::AlreadyExists)));
    assert!(matches!(store.add_principal_email(bob.id, "alice@example.org", false).await, Err(StoreError::AlreadyExists)));
    // Another principal given a former address takes it over: it becomes
    // bob's (his first address: primary), and alice no longer holds it.
    store.add_principal_email(bob.id, "A2@example.org", false).await.unwrap();
    assert_eq!(store.principal_emails(bob.id).await.unwrap(), vec![email("A2@example.org", true, false)]);
    assert_eq!(by("a2@example.org").await.as_deref(), Some("bob"));
    assert_eq!(
        store.principal_emails(alice.id).await.unwrap(),
        vec![email("alice@new.example.org", true, false), email("ALICE@example.org", false, false)]
    );
    // So does a new principal.
    store.import_accounts(&[record("alice", &["alice@new.example.org"])]).await.unwrap();
    let carol = store
        .create_principal(NewPrincipal { username: "carol".into(), emails: vec!["alice@example.org".into()], ..Default::default() })
        .await
        .unwrap();
    assert_eq!(by("alice@example.org").await.as_deref(), Some("carol"));
    assert_eq!(store.principal_emails(carol.id).await.unwrap(), vec![email("alice@example.org", true, false)]);
    assert_eq!(store.principal_emails(alice.id).await.unwrap(), vec![email("alice@new.example.org", true, false)]);
    // A former address made primary again.
    store.import_accounts(&[record("alice", &["alice@third.example.org"])]).await.unwrap();
    store.add_principal_email(alice.id, "alice@new.example.org", true).await.unwrap();
    assert_eq!(
        store.principal_emails(alice.id).await.unwrap(),
        vec![email("alice@new.example.org", true, false), email("alice@third.example.org", false, false)]
    );
}

pub async fn delete_principal_cascades(store: SharedStore) {
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
        .update_dead_properties(PropertyTarget::Object(obj.id), &target_path(&store, PropertyTarget::Object(obj.id)).await, &[PropertyUpdate::Set(prop("a:", "b", "c"))], &LockGuard::none(), None)
        .await
        .unwrap();
    store
        .update_dead_properties(PropertyTarget::Collection(cal.id), &target_path(&store, PropertyTarget::Collection(cal.id)).await, &[PropertyUpdate::Set(prop("a:", "b", "c"))], &LockGuard::none(), None)
        .await
        .unwrap();
    store.create_lock(shared(test_lock("urn:uuid:alice", "/files/alice/cal/", true, alice.id, None)), None, &LockLimits::none()).await.unwrap();
    store.create_lock(shared(test_lock("urn:uuid:bob-in-alice", "/files/alice/cal/ev.ics", false, bob.id, None)), None, &LockLimits::none()).await.unwrap();
    let bob_home = home(&store, &bob).await;
    put_ok(&store, &bob_home, "keep.ics", b"keep").await;
    store.create_lock(shared(test_lock("urn:uuid:bob", "/files/bob/", true, bob.id, None)), None, &LockLimits::none()).await.unwrap();

    store.delete_principal(alice.id).await.unwrap();
    assert_eq!(store.principal(alice.id).await.unwrap(), None);
    assert_eq!(store.collection(root.id).await.unwrap(), None);
    assert_eq!(store.collection(cal.id).await.unwrap(), None);
    assert_eq!(store.object_with_content(obj.id).await.unwrap(), None);
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

/// Principal searches (RFC 3744 §9.4): case-insensitive substrings of the
/// names or the addresses, all or any of them, among the active principals of
/// one académie and the searching user, ordered by username, at most `limit`.
pub async fn principal_search(store: SharedStore) {
    store.create_academie("nice", "Académie de Nice", None).await.unwrap();
    store.create_academie("lyon", "Académie de Lyon", None).await.unwrap();
    let new = |username: &str, display: &str, academie: &str, emails: &[&str]| NewPrincipal {
        username: username.into(),
        display_name: Some(display.into()),
        academie: Some(academie.into()),
        emails: emails.iter().map(|e| e.to_string()).collect(),
        ..Default::default()
    };
    store.create_principal(new("alice", "Alice Martin", "nice", &["alice@ac-nice.fr"])).await.unwrap();
    store.create_principal(new("bob", "Bob 50%_off", "nice", &["bob@ac-nice.fr"])).await.unwrap();
    let carol = store.create_principal(new("carol", "Carol Martin", "lyon", &["Carol@AC-Lyon.fr"])).await.unwrap();
    let dave = store.create_principal(new("dave", "Dave Martin", "nice", &["dave@ac-nice.fr"])).await.unwrap();
    store.set_disabled(dave.id, true).await.unwrap();
    store.create_principal(new("erin", "Erin Martin", "lyon", &["erin@ac-lyon.fr"])).await.unwrap();

    let search = |names: &[&str], emails: &[&str], match_all: bool, always: Option<PrincipalId>, limit: i64| PrincipalSearch {
        academie: Some("nice".into()),
        always,
        name_terms: names.iter().map(|s| s.to_string()).collect(),
        email_terms: emails.iter().map(|s| s.to_string()).collect(),
        match_all,
        limit,
    };
    let found = |s: PrincipalSearch| {
        let store = store.clone();
        async move { store.search_principals(&s).await.unwrap().principals.into_iter().map(|p| p.username).collect::<Vec<_>>() }
    };
    // Nice's active principals, and carol (the searching user) from Lyon.
    assert_eq!(found(search(&["MARTIN"], &[], true, None, 10)).await, ["alice"]);
    assert_eq!(found(search(&["martin"], &[], true, Some(carol.id), 10)).await, ["alice", "carol"]);
    assert_eq!(found(search(&[], &["ac-lyon"], true, Some(carol.id), 10)).await, ["carol"]);
    // The username is a name too.
    assert_eq!(found(search(&["BO"], &[], true, None, 10)).await, ["bob"]);
    // LIKE wildcards are plain characters.
    assert_eq!(found(search(&["50%_"], &[], true, None, 10)).await, ["bob"]);
    assert_eq!(found(search(&["_"], &[], true, None, 10)).await, ["bob"]);
    assert_eq!(found(search(&["%"], &[], true, None, 10)).await, ["bob"]);
    // All terms, or any.
    assert_eq!(found(search(&["martin"], &["nice"], true, Some(carol.id), 10)).await, ["alice"]);
    assert_eq!(found(search(&["bob"], &["lyon"], false, Some(carol.id), 10)).await, ["bob", "carol"]);
    assert!(found(search(&["bob"], &["lyon"], true, Some(carol.id), 10)).await.is_empty());
    // No term: everyone in scope, up to the limit.
    assert_eq!(found(search(&[], &[], true, Some(carol.id), 10)).await, ["alice", "bob", "carol"]);
    assert_eq!(found(search(&[], &[], false, Some(carol.id), 2)).await, ["alice", "bob"]);
    // Former addresses are not searched.
    let record = AccountRecord {
        username: "alice".into(),
        display_name: Some("Alice Martin".into()),
        emails: vec!["alice.martin@ac-nice.fr".into()],
        academie: Some("nice".into()),
        ..Default::default()
    };
    assert_eq!(store.import_accounts(&[record.clone()]).await.unwrap(), [ImportOutcome::Updated]);
    assert!(found(search(&[], &["alice@"], true, None, 10)).await.is_empty());
    assert_eq!(found(search(&[], &["alice.martin@"], true, None, 10)).await, ["alice"]);
    // An account that moves to another académie is searched there only
    // (the index carries the académie).
    let moved = AccountRecord { academie: Some("lyon".into()), ..record };
    assert_eq!(store.import_accounts(&[moved]).await.unwrap(), [ImportOutcome::Updated]);
    assert!(found(search(&["alice"], &[], true, None, 10)).await.is_empty());
    assert!(found(search(&["artin"], &["alice.m"], false, None, 10)).await.is_empty());
    let in_lyon = PrincipalSearch { academie: Some("lyon".into()), ..search(&["artin"], &["alice.m"], false, None, 10) };
    assert_eq!(found(in_lyon).await, ["alice", "carol", "erin"]);
}

/// `directory_generation` changes once a change to the directory commits
/// through this store, and only then.
pub async fn directory_generation(store: SharedStore) {
    let g0 = store.directory_generation();
    let alice = user(&store, "alice").await;
    let g1 = store.directory_generation();
    assert_ne!(g1, g0, "a new principal");
    store.principal(alice.id).await.unwrap();
    store.principal_by_username("alice").await.unwrap();
    store.list_principals().await.unwrap();
    assert_eq!(store.directory_generation(), g1, "reads change nothing");
    store.set_disabled(alice.id, true).await.unwrap();
    let g2 = store.directory_generation();
    assert_ne!(g2, g1, "disabled");
    store.set_password_hash(alice.id, "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA").await.unwrap();
    let g3 = store.directory_generation();
    assert_ne!(g3, g2, "new password");
    store.add_principal_email(alice.id, "alice@example.org", true).await.unwrap();
    let g4 = store.directory_generation();
    assert_ne!(g4, g3, "new address");
    store.create_academie("nice", "Nice", None).await.unwrap();
    let g5 = store.directory_generation();
    assert_ne!(g5, g4, "new académie");
    store.import_accounts(&[AccountRecord { username: "bob".into(), ..Default::default() }]).await.unwrap();
    let g6 = store.directory_generation();
    assert_ne!(g6, g5, "import");
    store.delete_principal(alice.id).await.unwrap();
    assert_ne!(store.directory_generation(), g6, "deleted");
}
