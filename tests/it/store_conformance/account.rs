//! `AccountStore`: the account page's sessions, app passwords, OpenID
//! Connect logins under way and administrators' counts.

use super::*;

fn new_session(principal: PrincipalId, n: u8, now: Millis, expires_at: Millis) -> NewSession {
    NewSession { token_hash: [n; 32], principal, csrf: format!("csrf-{n}"), created_at: now, expires_at }
}

/// A session is found by its token hash until its absolute end or its idle
/// timeout, is touched, deleted one by one, all but one of an account's,
/// and swept when ended; it goes with its account.
pub async fn account_sessions(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let t0 = 1_900_000_000_000;
    store.create_session(new_session(alice.id, 1, t0, t0 + 10_000)).await.unwrap();
    let s = store.session([1; 32], t0 + 1, t0 - 5_000).await.unwrap().unwrap();
    assert_eq!((s.principal, s.csrf.as_str(), s.created_at, s.last_seen, s.expires_at), (alice.id, "csrf-1", t0, t0, t0 + 10_000));
    assert!(store.session([2; 32], t0 + 1, t0 - 5_000).await.unwrap().is_none(), "unknown hash");
    assert!(store.session([1; 32], t0 + 10_000, t0).await.unwrap().is_none(), "at its absolute end");
    assert!(store.session([1; 32], t0 + 1, t0 + 1).await.unwrap().is_none(), "idle since before the bound");
    store.touch_session([1; 32], t0 + 2_000).await.unwrap();
    store.touch_session([1; 32], t0 + 1_000).await.unwrap(); // never backwards
    assert_eq!(store.session([1; 32], t0 + 2_500, t0 + 1_500).await.unwrap().unwrap().last_seen, t0 + 2_000);

    store.create_session(new_session(alice.id, 2, t0, t0 + 10_000)).await.unwrap();
    store.create_session(new_session(alice.id, 3, t0, t0 + 10_000)).await.unwrap();
    store.create_session(new_session(bob.id, 4, t0, t0 + 10_000)).await.unwrap();
    assert!(store.create_session(new_session(bob.id, 4, t0, t0 + 10_000)).await.is_err(), "one session per token hash");
    assert_eq!(store.delete_sessions_of(alice.id, Some([1; 32])).await.unwrap(), 2);
    assert!(store.session([1; 32], t0 + 1, t0 - 1).await.unwrap().is_some(), "the kept one");
    assert!(store.session([2; 32], t0 + 1, t0 - 1).await.unwrap().is_none());
    store.delete_session([1; 32]).await.unwrap();
    assert!(store.session([1; 32], t0 + 1, t0 - 1).await.unwrap().is_none());
    assert!(store.session([4; 32], t0 + 1, t0 - 1).await.unwrap().is_some(), "bob's untouched");

    // Sweeping: ended (absolute) or idle.
    store.create_session(new_session(bob.id, 5, t0, t0 + 100)).await.unwrap();
    store.create_session(new_session(bob.id, 6, t0 + 50_000, t0 + 100_000)).await.unwrap();
    assert_eq!(store.forget_sessions(t0 + 200, t0 + 1_000).await.unwrap(), 2, "5 ended, 4 idle");
    assert!(store.session([6; 32], t0 + 60_000, t0 + 40_000).await.unwrap().is_some());
    assert_eq!(store.delete_sessions_of(bob.id, None).await.unwrap(), 1);

    store.create_session(new_session(alice.id, 7, t0, t0 + 10_000)).await.unwrap();
    store.delete_principal(alice.id).await.unwrap();
    assert!(store.session([7; 32], t0 + 1, t0 - 1).await.unwrap().is_none(), "gone with its account");
}

/// App passwords: created with their hash, read by id, listed per owner in
/// creation order, touched forwards only, revoked by their owner only, all
/// at once, and gone with their owner.
pub async fn account_app_passwords(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let t0 = 1_900_000_000_000;
    let phone = store.create_app_password(alice.id, "Téléphone <script>", "$argon2id$phone", t0).await.unwrap();
    let laptop = store.create_app_password(alice.id, "Portable", "$argon2id$laptop", t0 + 1).await.unwrap();
    let bobs = store.create_app_password(bob.id, "Bob", "$argon2id$bob", t0).await.unwrap();
    assert_eq!(
        (phone.principal, phone.name.as_str(), phone.hash.as_str(), phone.created_at, phone.last_used_at),
        (alice.id, "Téléphone <script>", "$argon2id$phone", t0, None)
    );
    assert_ne!(phone.id, laptop.id);
    assert_eq!(store.app_password(phone.id).await.unwrap(), Some(phone.clone()));
    assert_eq!(store.app_password(-1).await.unwrap(), None);
    let listed = store.app_passwords(alice.id).await.unwrap();
    assert_eq!(listed.iter().map(|a| a.id).collect::<Vec<_>>(), vec![phone.id, laptop.id]);

    store.touch_app_password(phone.id, t0 + 60_000).await.unwrap();
    store.touch_app_password(phone.id, t0 + 30_000).await.unwrap();
    assert_eq!(store.app_password(phone.id).await.unwrap().unwrap().last_used_at, Some(t0 + 60_000));

    assert!(!store.delete_app_password(bob.id, phone.id).await.unwrap(), "only its owner revokes it");
    assert!(store.app_password(phone.id).await.unwrap().is_some());
    assert!(store.delete_app_password(alice.id, phone.id).await.unwrap());
    assert!(store.app_password(phone.id).await.unwrap().is_none(), "revoked: the next read misses");
    assert!(!store.delete_app_password(alice.id, phone.id).await.unwrap());
    store.create_app_password(alice.id, "Tablette", "$h", t0).await.unwrap();
    assert_eq!(store.delete_app_passwords_of(alice.id).await.unwrap(), 2);
    assert!(store.app_passwords(alice.id).await.unwrap().is_empty());
    assert_eq!(store.app_passwords(bob.id).await.unwrap().len(), 1);
    store.delete_principal(bob.id).await.unwrap();
    assert!(store.app_password(bobs.id).await.unwrap().is_none(), "gone with its owner");
}

/// An OpenID Connect login is taken once, and not after it expired.
pub async fn account_oidc_logins(store: SharedStore) {
    let t0 = 1_900_000_000_000;
    let login = OidcLogin { state_hash: [1; 32], nonce: "n1".into(), pkce_verifier: "v1".into(), expires_at: t0 + 600_000 };
    store.put_oidc_login(login.clone()).await.unwrap();
    store
        .put_oidc_login(OidcLogin { state_hash: [2; 32], nonce: "n2".into(), pkce_verifier: "v2".into(), expires_at: t0 + 10 })
        .await
        .unwrap();
    assert_eq!(store.take_oidc_login([1; 32], t0).await.unwrap(), Some(login));
    assert_eq!(store.take_oidc_login([1; 32], t0).await.unwrap(), None, "taken once");
    assert_eq!(store.take_oidc_login([2; 32], t0 + 11).await.unwrap(), None, "expired");
    assert_eq!(store.take_oidc_login([3; 32], t0).await.unwrap(), None);
}

/// Counts: enabled user accounts per académie, storage of every object.
pub async fn account_counts(store: SharedStore) {
    store.create_academie("lyon", "Lyon", None).await.unwrap();
    for (name, academie) in [("a1", Some("lyon")), ("a2", Some("lyon")), ("n1", None), ("off", Some("lyon"))] {
        store
            .create_principal(NewPrincipal { username: name.into(), academie: academie.map(String::from), ..Default::default() })
            .await
            .unwrap();
    }
    let off = store.principal_by_username("off").await.unwrap().unwrap();
    store.set_disabled(off.id, true).await.unwrap();
    let counts = store.account_counts().await.unwrap();
    assert_eq!(counts.per_academie, vec![(None, 1), (Some("lyon".to_string()), 2)], "national accounts first, then by slug");
    assert_eq!(counts.storage_bytes, 0);
    let a1 = store.principal_by_username("a1").await.unwrap().unwrap();
    let cal = home(&store, &a1).await;
    put_ok(&store, &cal, "x.txt", b"0123456789").await;
    assert_eq!(store.account_counts().await.unwrap().storage_bytes, 10);
}
