//! LOCK/UNLOCK and lock enforcement through `If` (RFC 4918 §6-7, §9.10-9.11,
//! §10.4), on both stores.

use crate::both_stores;
use crate::harness::TestServer;

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

both_stores!(
    exclusive_lock_blocks_writes_without_token,
    conditional_put_on_unlocked_resource,
    shared_locks_coexist,
    depth_infinity_lock_covers_members,
    lock_on_unmapped_url_creates_resource,
    expired_locks_vanish,
    concurrent_exclusive_locks_one_wins,
);
