//! LOCK/UNLOCK and lock enforcement through `If` (RFC 4918 §6-7, §9.10-9.11,
//! §10.4), on both stores.

use crate::both_stores;
use crate::db::Backend;
use crate::harness::{spawn_with, TestServer};

const EXCLUSIVE: &str = r#"<?xml version="1.0" encoding="utf-8"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner><D:href>http://example.org/~ejw/contact.html</D:href></D:owner></D:lockinfo>"#;
const SHARED: &str = r#"<?xml version="1.0" encoding="utf-8"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:shared/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockinfo>"#;

async fn lock(srv: &TestServer, path: &str, body: &str, depth: &str) -> (u16, String) {
    let r = srv.as_user("LOCK", path, "alice").header("depth", depth).header("timeout", "Second-600").body(body.to_string()).send().await;
    let token = r.header("lock-token").unwrap_or_default();
    (r.status, token.trim_matches(|c| c == '<' || c == '>').to_string())
}

async fn exclusive_lock_blocks_writes_without_token(srv: TestServer) {
    srv.as_user("PUT", "/files/alice/doc.txt", "alice").body("v1").send().await;
    let r = srv.as_user("LOCK", "/files/alice/doc.txt", "alice").header("timeout", "Second-600").body(EXCLUSIVE).send().await;
    assert_eq!(r.status, 200);
    let t = r.text();
    assert!(t.contains("<D:lockdiscovery>") && t.contains("<D:exclusive/>") && t.contains("contact.html"), "{t}");
    assert!(t.contains("<D:timeout>Second-"), "{t}");
    let token = r.header("lock-token").unwrap();
    assert!(token.starts_with("<urn:uuid:"), "{token}");
    let bare = token.trim_matches(|c| c == '<' || c == '>');

    let r = srv.as_user("PUT", "/files/alice/doc.txt", "alice").body("v2").send().await;
    assert_eq!(r.status, 423);
    assert!(r.text().contains("lock-token-submitted"), "{}", r.text());
    assert_eq!(srv.as_user("DELETE", "/files/alice/doc.txt", "alice").send().await.status, 423);
    let pp = r#"<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><D:displayname>x</D:displayname></D:prop></D:set></D:propertyupdate>"#;
    assert_eq!(srv.as_user("PROPPATCH", "/files/alice/doc.txt", "alice").body(pp).send().await.status, 423);
    let mv = srv.as_user("MOVE", "/files/alice/doc.txt", "alice").header("destination", "/files/alice/moved.txt").send().await;
    assert_eq!(mv.status, 423);
    assert_eq!(srv.as_user("GET", "/files/alice/doc.txt", "alice").send().await.text(), "v1", "nothing changed");

    // A second exclusive or shared lock conflicts.
    assert_eq!(lock(&srv, "/files/alice/doc.txt", EXCLUSIVE, "0").await.0, 423);
    assert_eq!(lock(&srv, "/files/alice/doc.txt", SHARED, "0").await.0, 423);

    // With the token (untagged and tagged lists) writes succeed.
    let r = srv.as_user("PUT", "/files/alice/doc.txt", "alice").header("if", &format!("(<{bare}>)")).body("v2").send().await;
    assert_eq!(r.status, 204);
    let etag = r.header("etag").unwrap();
    let tagged = format!("<{}/files/alice/doc.txt> (<{bare}> [{etag}])", srv.base);
    assert_eq!(srv.as_user("PUT", "/files/alice/doc.txt", "alice").header("if", &tagged).body("v3").send().await.status, 204);
    // Wrong etag with the right token: the If header is false.
    let bad = format!("(<{bare}> [\"nope\"])");
    assert_eq!(srv.as_user("PUT", "/files/alice/doc.txt", "alice").header("if", &bad).body("v4").send().await.status, 412);
    // A true If header that does not submit the lock token: still locked.
    assert_eq!(
        srv.as_user("PUT", "/files/alice/doc.txt", "alice").header("if", "(<urn:uuid:bogus>) (Not <DAV:no-lock>)").body("v4").send().await.status,
        423
    );
    // Another principal's token never unlocks (bob cannot even see the file).
    assert_eq!(srv.as_user("PUT", "/files/alice/doc.txt", "bob").header("if", &format!("(<{bare}>)")).body("x").send().await.status, 404);

    // UNLOCK needs the right token for this resource.
    let r = srv.as_user("UNLOCK", "/files/alice/doc.txt", "alice").header("lock-token", "<urn:uuid:other>").send().await;
    assert_eq!(r.status, 409);
    assert!(r.text().contains("lock-token-matches-request-uri"));
    assert_eq!(srv.as_user("UNLOCK", "/files/alice/doc.txt", "alice").header("lock-token", &token).send().await.status, 204);
    assert_eq!(srv.as_user("PUT", "/files/alice/doc.txt", "alice").body("v5").send().await.status, 204);
}

async fn conditional_put_on_unlocked_resource(srv: TestServer) {
    srv.as_user("PUT", "/files/alice/u.txt", "alice").body("x").send().await;
    let r = srv.as_user("PUT", "/files/alice/u.txt", "alice").header("if", "(<DAV:no-lock>)").body("y").send().await;
    assert_eq!(r.status, 412);
    let r = srv.as_user("PUT", "/files/alice/u.txt", "alice").header("if", "(Not <DAV:no-lock>)").body("y").send().await;
    assert_eq!(r.status, 204);
    let r = srv.as_user("PUT", "/files/alice/u.txt", "alice").header("if", "(garbage").body("y").send().await;
    assert_eq!(r.status, 400);
}

async fn shared_locks_coexist(srv: TestServer) {
    srv.as_user("PUT", "/files/alice/s.txt", "alice").body("x").send().await;
    let (s1, t1) = lock(&srv, "/files/alice/s.txt", SHARED, "0").await;
    let (s2, t2) = lock(&srv, "/files/alice/s.txt", SHARED, "0").await;
    assert_eq!((s1, s2), (200, 200));
    assert_ne!(t1, t2);
    assert_eq!(lock(&srv, "/files/alice/s.txt", EXCLUSIVE, "0").await.0, 423);
    let pf = srv
        .as_user("PROPFIND", "/files/alice/s.txt", "alice")
        .header("depth", "0")
        .body(r#"<D:propfind xmlns:D="DAV:"><D:prop><D:lockdiscovery/></D:prop></D:propfind>"#)
        .send()
        .await;
    assert_eq!(crate::harness::count(&pf.text(), "<D:activelock>"), 2, "{}", pf.text());
    let r = srv.as_user("PUT", "/files/alice/s.txt", "alice").header("if", &format!("(<{t2}>)")).body("y").send().await;
    assert_eq!(r.status, 204);
}

async fn depth_infinity_lock_covers_members(srv: TestServer) {
    srv.as_user("MKCOL", "/files/alice/coll/", "alice").send().await;
    srv.as_user("PUT", "/files/alice/coll/m.txt", "alice").body("m").send().await;
    let (status, token) = lock(&srv, "/files/alice/coll/", EXCLUSIVE, "infinity").await;
    assert_eq!(status, 200);
    assert_eq!(srv.as_user("PUT", "/files/alice/coll/m.txt", "alice").body("x").send().await.status, 423);
    assert_eq!(srv.as_user("PUT", "/files/alice/coll/new.txt", "alice").body("x").send().await.status, 423);
    assert_eq!(srv.as_user("DELETE", "/files/alice/coll/", "alice").send().await.status, 423);
    let with = format!("(<{token}>)");
    assert_eq!(srv.as_user("PUT", "/files/alice/coll/new.txt", "alice").header("if", &with).body("x").send().await.status, 201);
    // Refresh through a member (RFC 4918 §9.10.2), without a body.
    let r = srv.as_user("LOCK", "/files/alice/coll/m.txt", "alice").header("if", &with).header("timeout", "Second-100").send().await;
    assert_eq!(r.status, 200);
    assert!(r.text().contains("Second-100") || r.text().contains("Second-99"), "{}", r.text());
    assert_eq!(srv.as_user("LOCK", "/files/alice/coll/m.txt", "alice").send().await.status, 400);
    // Deleting the collection with the token removes the lock too.
    assert_eq!(srv.as_user("DELETE", "/files/alice/coll/", "alice").header("if", &with).send().await.status, 204);
    assert_eq!(srv.as_user("MKCOL", "/files/alice/coll/", "alice").send().await.status, 201);
}

async fn lock_on_unmapped_url_creates_resource(srv: TestServer) {
    let (status, token) = lock(&srv, "/files/alice/new.txt", EXCLUSIVE, "0").await;
    assert_eq!(status, 201);
    let r = srv.as_user("GET", "/files/alice/new.txt", "alice").send().await;
    assert_eq!(r.status, 200);
    assert!(r.body.is_empty());
    assert_eq!(lock(&srv, "/files/alice/nope/new.txt", EXCLUSIVE, "0").await.0, 409);
    let r = srv.as_user("PUT", "/files/alice/new.txt", "alice").header("if", &format!("(<{token}>)")).body("content").send().await;
    assert_eq!(r.status, 204);
}

async fn expired_locks_vanish(srv: TestServer) {
    srv.as_user("PUT", "/files/alice/e.txt", "alice").body("x").send().await;
    let r = srv.as_user("LOCK", "/files/alice/e.txt", "alice").header("timeout", "Second-1").body(EXCLUSIVE).send().await;
    assert_eq!(r.status, 200);
    assert!(r.text().contains("<D:timeout>Second-1</D:timeout>"), "{}", r.text());
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    assert_eq!(srv.as_user("PUT", "/files/alice/e.txt", "alice").body("y").send().await.status, 204);
}

async fn concurrent_exclusive_locks_one_wins(srv: TestServer) {
    srv.as_user("PUT", "/files/alice/race.txt", "alice").body("x").send().await;
    let requests = (0..8).map(|_| lock(&srv, "/files/alice/race.txt", EXCLUSIVE, "0"));
    let results = futures::future::join_all(requests).await;
    let statuses: Vec<u16> = results.iter().map(|(s, _)| *s).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 423).count(), 7, "{statuses:?}");
    let pf = srv
        .as_user("PROPFIND", "/files/alice/race.txt", "alice")
        .header("depth", "0")
        .body(r#"<D:propfind xmlns:D="DAV:"><D:prop><D:lockdiscovery/></D:prop></D:propfind>"#)
        .send()
        .await;
    assert_eq!(crate::harness::count(&pf.text(), "<D:activelock>"), 1, "{}", pf.text());
    // The refusals name the granted lock's root.
    let r = srv.as_user("LOCK", "/files/alice/race.txt", "alice").header("timeout", "Second-600").body(EXCLUSIVE).send().await;
    assert_eq!(r.status, 423);
    assert!(r.text().contains("no-conflicting-lock") && r.text().contains("/files/alice/race.txt</D:href>"), "{}", r.text());
}

/// A shared LOCK whose `DAV:owner` holds `text`.
fn shared_with_owner(text: &str) -> String {
    format!(r#"<?xml version="1.0" encoding="utf-8"?><D:lockinfo xmlns:D="DAV:"><D:lockscope><D:shared/></D:lockscope><D:locktype><D:write/></D:locktype><D:owner>{text}</D:owner></D:lockinfo>"#)
}

async fn quota_used(srv: &TestServer) -> i64 {
    let body = r#"<D:propfind xmlns:D="DAV:"><D:prop><D:quota-used-bytes/></D:prop></D:propfind>"#;
    let t = srv.as_user("PROPFIND", "/files/alice/", "alice").header("depth", "0").body(body).send().await.text();
    let from = t.find("<D:quota-used-bytes>").expect("quota-used-bytes") + "<D:quota-used-bytes>".len();
    t[from..from + t[from..].find('<').unwrap()].parse().unwrap()
}

async fn lockdiscovery_count(srv: &TestServer, path: &str) -> usize {
    let body = r#"<D:propfind xmlns:D="DAV:"><D:prop><D:lockdiscovery/></D:prop></D:propfind>"#;
    let pf = srv.as_user("PROPFIND", path, "alice").header("depth", "0").body(body).send().await;
    crate::harness::count(&pf.text(), "<D:activelock>")
}

/// Locks are bounded (RFC 4918 §6 leaves lock resources to the server):
/// a `DAV:owner` beyond `max_lock_owner_bytes` is 400; owner XML counts
/// towards the locking user's quota (RFC 4331: 507 `quota-not-exceeded`,
/// and `quota-used-bytes` shows it); beyond `max_locks_per_resource` locks
/// on a resource or `max_locks_per_user` locks of a user (lock-null
/// resources included), LOCK is 507 — nothing is stored in each case.
async fn locks_are_bounded_and_count_towards_the_quota(backend: Backend) {
    let srv = spawn_with(backend, |c| {
        c.default_quota_bytes = 10_000;
        c.max_lock_owner_bytes = 4096;
        c.max_locks_per_resource = 3;
        c.max_locks_per_user = 5;
    })
    .await;
    for f in ["a.txt", "b.txt", "c.txt", "d.txt"] {
        assert_eq!(srv.as_user("PUT", &format!("/files/alice/{f}"), "alice").body(vec![b'x'; 25]).send().await.status, 201);
    }
    assert_eq!(quota_used(&srv).await, 100);

    // An owner too large to store: 400, no lock.
    let r = lock(&srv, "/files/alice/a.txt", &shared_with_owner(&"o".repeat(5000)), "0").await;
    assert_eq!(r.0, 400);
    assert_eq!(lockdiscovery_count(&srv, "/files/alice/a.txt").await, 0);

    // Three shared locks with 3000-byte owners: each counts for alice.
    for i in 1..=3 {
        let before = quota_used(&srv).await;
        let r = srv.as_user("LOCK", "/files/alice/a.txt", "alice").header("timeout", "Second-600").body(shared_with_owner(&"o".repeat(3000))).send().await;
        assert_eq!(r.status, 200, "lock {i}: {}", r.text());
        let added = quota_used(&srv).await - before;
        assert!((3000..3100).contains(&added), "lock {i} added {added} bytes");
    }
    // A fourth on the same resource passes the per-resource cap.
    let r = srv.as_user("LOCK", "/files/alice/a.txt", "alice").header("timeout", "Second-600").body(SHARED).send().await;
    assert_eq!(r.status, 507);
    assert!(r.text().contains("too many active locks on this resource: at most 3"), "{}", r.text());
    assert_eq!(lockdiscovery_count(&srv, "/files/alice/a.txt").await, 3);
    // Another 3000-byte owner would pass the quota (about 9,200 used).
    let used = quota_used(&srv).await;
    let r = srv.as_user("LOCK", "/files/alice/b.txt", "alice").header("timeout", "Second-600").body(shared_with_owner(&"o".repeat(3000))).send().await;
    assert_eq!(r.status, 507);
    assert!(r.text().contains("quota-not-exceeded"), "{}", r.text());
    assert_eq!(lockdiscovery_count(&srv, "/files/alice/b.txt").await, 0);
    assert_eq!(quota_used(&srv).await, used);
    // The locks' bytes leave no room for a PUT either.
    assert_eq!(srv.as_user("PUT", "/files/alice/big.txt", "alice").body(vec![b'x'; 1000]).send().await.status, 507);

    // Two more locks make five for alice: a sixth, here a lock-null
    // resource, is refused and creates nothing; bob is not concerned.
    assert_eq!(lock(&srv, "/files/alice/b.txt", SHARED, "0").await.0, 200);
    let (status, token) = lock(&srv, "/files/alice/c.txt", EXCLUSIVE, "0").await;
    assert_eq!(status, 200);
    let r = srv.as_user("LOCK", "/files/alice/new.txt", "alice").header("timeout", "Second-600").body(EXCLUSIVE).send().await;
    assert_eq!(r.status, 507);
    assert!(r.text().contains("too many active locks for this principal: at most 5"), "{}", r.text());
    assert_eq!(srv.as_user("GET", "/files/alice/new.txt", "alice").send().await.status, 404);
    assert_eq!(lock(&srv, "/files/alice/d.txt", EXCLUSIVE, "0").await.0, 507);
    assert_eq!(srv.as_user("PUT", "/files/bob/b.txt", "bob").body("b").send().await.status, 201);
    let r = srv.as_user("LOCK", "/files/bob/b.txt", "bob").header("timeout", "Second-600").body(EXCLUSIVE).send().await;
    assert_eq!(r.status, 200);
    // Once one is removed, the lock-null resource is created (empty: it
    // adds nothing to the quota but its lock's owner).
    let token = format!("<{token}>");
    assert_eq!(srv.as_user("UNLOCK", "/files/alice/c.txt", "alice").header("lock-token", &token).send().await.status, 204);
    let before = quota_used(&srv).await;
    assert_eq!(lock(&srv, "/files/alice/new.txt", SHARED, "0").await.0, 201);
    assert_eq!(quota_used(&srv).await, before);
    assert_eq!(srv.as_user("GET", "/files/alice/new.txt", "alice").send().await.status, 200);
}

both_stores!(
    exclusive_lock_blocks_writes_without_token,
    conditional_put_on_unlocked_resource,
    shared_locks_coexist,
    depth_infinity_lock_covers_members,
    lock_on_unmapped_url_creates_resource,
    expired_locks_vanish,
    concurrent_exclusive_locks_one_wins,
);

crate::each_store!(locks_are_bounded_and_count_towards_the_quota);
