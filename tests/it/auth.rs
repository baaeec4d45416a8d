//! Authentication and authorisation over HTTP: Basic challenge, wrong and
//! missing credentials, rate limits, disabled accounts, password changes,
//! and isolation between owners and académies. Both stores.

use crate::both_stores;
use crate::harness::{spawn_with, TestServer};
use crate::db::Backend;
use almanach::directory;

async fn anonymous_gets_basic_challenge(srv: TestServer) {
    for (m, p) in [("PROPFIND", "/"), ("GET", "/files/alice/x"), ("OPTIONS", "/files/alice/"), ("PUT", "/files/alice/x")] {
        let r = srv.req(m, p, None).send().await;
        assert_eq!(r.status, 401, "{m} {p}");
        let challenge = r.header("www-authenticate").unwrap();
        assert!(challenge.starts_with("Basic realm=\""), "{challenge}");
    }
    assert_eq!(srv.req("PUT", "/files/alice/x", None).body("x").send().await.status, 401);
    assert_eq!(srv.as_user("GET", "/files/alice/x", "alice").send().await.status, 404, "anonymous PUT stored nothing");
}

async fn wrong_credentials_are_refused(srv: TestServer) {
    let r = srv.req("PROPFIND", "/", None).basic("alice", "wrong").header("depth", "0").send().await;
    assert_eq!(r.status, 401);
    let r = srv.req("PROPFIND", "/", None).basic("nobody", "pw-nobody").header("depth", "0").send().await;
    assert_eq!(r.status, 401);
    let r = srv.req("PROPFIND", "/", None).header("authorization", "Basic !!!notbase64").header("depth", "0").send().await;
    assert_eq!(r.status, 401);
    let r = srv.req("PROPFIND", "/", None).header("authorization", "Bearer abc").header("depth", "0").send().await;
    assert_eq!(r.status, 401);
    assert_eq!(srv.as_user("PROPFIND", "/", "alice").header("depth", "0").send().await.status, 207);
}

async fn password_change_and_disable_take_effect_at_once(srv: TestServer) {
    // The first request caches the verified credentials.
    assert_eq!(srv.as_user("PROPFIND", "/", "alice").header("depth", "0").send().await.status, 207);
    directory::set_password(&srv.store, "alice", "new-secret").await.unwrap();
    assert_eq!(srv.as_user("PROPFIND", "/", "alice").header("depth", "0").send().await.status, 401);
    let r = srv.req("PROPFIND", "/", None).basic("alice", "new-secret").header("depth", "0").send().await;
    assert_eq!(r.status, 207);
    directory::set_disabled(&srv.store, "alice", true).await.unwrap();
    let r = srv.req("PROPFIND", "/", None).basic("alice", "new-secret").header("depth", "0").send().await;
    assert_eq!(r.status, 401);
    directory::set_disabled(&srv.store, "alice", false).await.unwrap();
    let r = srv.req("PROPFIND", "/", None).basic("alice", "new-secret").header("depth", "0").send().await;
    assert_eq!(r.status, 207);
}

async fn disable_by_another_process_takes_effect_within_a_second(srv: TestServer) {
    // Another process (the `user` command, another server) with its own store.
    let other = almanach::store::open(&srv.db_url).await.unwrap();
    assert_eq!(srv.as_user("PROPFIND", "/", "alice").header("depth", "0").send().await.status, 207);
    directory::set_disabled(&other, "alice", true).await.unwrap();
    // The bound is `PRINCIPAL_MAX_AGE` (1 s): after it, refused.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(srv.as_user("PROPFIND", "/", "alice").header("depth", "0").send().await.status, 401);
    directory::set_disabled(&other, "alice", false).await.unwrap();
    directory::set_password(&other, "alice", "changed-elsewhere").await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(srv.as_user("PROPFIND", "/", "alice").header("depth", "0").send().await.status, 401);
    let r = srv.req("PROPFIND", "/", None).basic("alice", "changed-elsewhere").header("depth", "0").send().await;
    assert_eq!(r.status, 207);
}

async fn owners_and_academies_are_isolated(srv: TestServer) {
    srv.as_user("PUT", "/files/alice/secret.txt", "alice").body("alice's").send().await;
    srv.as_user("MKCOL", "/files/alice/dir/", "alice").send().await;
    for intruder in ["bob", "carol"] {
        for (m, p) in [
            ("GET", "/files/alice/secret.txt"),
            ("PROPFIND", "/files/alice/"),
            ("PROPFIND", "/files/alice/secret.txt"),
            ("DELETE", "/files/alice/secret.txt"),
            ("PUT", "/files/alice/secret.txt"),
            ("PUT", "/files/alice/new.txt"),
            ("MKCOL", "/files/alice/new/"),
            ("PROPPATCH", "/files/alice/secret.txt"),
            ("LOCK", "/files/alice/secret.txt"),
            ("COPY", "/files/alice/secret.txt"),
        ] {
            let r = srv.as_user(m, p, intruder).header("depth", "0").header("destination", &format!("/files/{intruder}/copy.txt")).body("x").send().await;
            assert_eq!(r.status, 404, "{intruder} {m} {p}: existence must not leak");
        }
        let listing = srv.as_user("PROPFIND", "/files/", intruder).header("depth", "1").send().await.text();
        assert!(!listing.contains("/files/alice/"), "{listing}");
    }
    assert_eq!(srv.as_user("GET", "/files/alice/secret.txt", "alice").send().await.text(), "alice's");
    assert_eq!(srv.as_user("GET", "/files/alice/new.txt", "alice").send().await.status, 404);
    // Principal records: visible within the académie, not across.
    assert_eq!(srv.as_user("PROPFIND", "/principals/alice/", "bob").header("depth", "0").send().await.status, 207);
    assert_eq!(srv.as_user("PROPFIND", "/principals/alice/", "carol").header("depth", "0").send().await.status, 404);
    let bob_sees = srv
        .as_user("PROPFIND", "/principals/alice/", "bob")
        .header("depth", "0")
        .body(r#"<D:propfind xmlns:D="DAV:"><D:prop><D:current-user-privilege-set/></D:prop></D:propfind>"#)
        .send()
        .await
        .text();
    assert!(bob_sees.contains("<D:read/>") && !bob_sees.contains("<D:all/>") && !bob_sees.contains("write"), "{bob_sees}");
}

async fn rate_limit(backend: Backend) {
    let srv = spawn_with(backend, |c| c.max_failed_logins = 3).await;
    // Distinct guesses: a repeated wrong password is one guess, counted once
    // (see throttle.rs).
    for i in 0..3 {
        let r = srv.req("PROPFIND", "/", None).basic("alice", &format!("wrong-{i}")).header("depth", "0").send().await;
        assert_eq!(r.status, 401);
    }
    let r = srv.req("PROPFIND", "/", None).basic("alice", "wrong-3").header("depth", "0").send().await;
    assert_eq!(r.status, 429);
    assert!(r.header("retry-after").is_some());
    // The account is refused from this address for the window, even with
    // the right password (from other addresses it is not: see throttle.rs).
    assert_eq!(srv.as_user("PROPFIND", "/", "alice").header("depth", "0").send().await.status, 429);
    // Another account from the same address is not refused (the address's
    // own limit is max_failed_logins_per_address).
    assert_eq!(srv.as_user("PROPFIND", "/", "bob").header("depth", "0").send().await.status, 207);
    // Bob's device is logged in: guesses on his account do not lock it out.
    for i in 0..4 {
        srv.req("PROPFIND", "/", None).basic("bob", &format!("wrong-{i}")).header("depth", "0").send().await;
    }
    // Bob logged in from this address just now, so guesses at his account
    // from it are slowed (4 failures: 1.6 s), not refused: someone sharing
    // his address cannot lock him out from it (see throttle.rs).
    let started = std::time::Instant::now();
    assert_eq!(srv.req("PROPFIND", "/", None).basic("bob", "wrong-4").header("depth", "0").send().await.status, 401);
    assert!(started.elapsed() >= std::time::Duration::from_millis(1600), "slowed: {:?}", started.elapsed());
    assert_eq!(srv.as_user("PROPFIND", "/", "bob").header("depth", "0").send().await.status, 207);
}

/// Concurrent guesses are all counted: no burst gets past the limit.
async fn concurrent_guesses_are_counted(backend: Backend) {
    let srv = std::sync::Arc::new(spawn_with(backend, |c| c.max_failed_logins = 3).await);
    let tasks: Vec<_> = (0..12)
        .map(|i| {
            let srv = srv.clone();
            let guess = format!("wrong-{i}");
            tokio::spawn(async move { srv.req("PROPFIND", "/", None).basic("carol", &guess).header("depth", "0").send().await.status })
        })
        .collect();
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    assert_eq!(statuses.iter().filter(|s| **s == 401).count(), 3, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 9, "{statuses:?}");
}

both_stores!(
    anonymous_gets_basic_challenge,
    wrong_credentials_are_refused,
    password_change_and_disable_take_effect_at_once,
    disable_by_another_process_takes_effect_within_a_second,
    owners_and_academies_are_isolated,
);

crate::each_store!(concurrent_guesses_are_counted, rate_limit);
