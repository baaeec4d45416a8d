//! Hostile and malformed requests: each gets a clear error, nothing stored
//! changes, and the server keeps serving. Both stores.

use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::both_stores;
use crate::db::Backend;
use crate::harness::{password, spawn_with, TestServer};

/// Send raw bytes (for requests an HTTP client library would normalise) and
/// return the response head and body as text.
pub async fn raw(srv: &TestServer, request: &[u8]) -> String {
    let addr = srv.base.trim_start_matches("http://");
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(request).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(10), s.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

pub fn auth_header(user: &str) -> String {
    use base64::Engine;
    let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{}", password(user)));
    format!("Authorization: Basic {token}\r\n")
}

/// A request refused before its body is read (401 here) must leave the
/// connection usable for the next one, as clients retry with credentials on
/// the same connection: both pipelined requests get an answer.
async fn refused_request_with_body_keeps_the_connection(srv: TestServer) {
    let body = r#"<D:propfind xmlns:D="DAV:"><D:prop><D:getetag/></D:prop></D:propfind>"#;
    let request = format!(
        "PROPFIND /files/alice/ HTTP/1.1\r\nHost: x\r\nDepth: 0\r\nContent-Length: {len}\r\n\r\n{body}\
         PROPFIND /files/alice/ HTTP/1.1\r\nHost: x\r\nDepth: 0\r\n{auth}Connection: close\r\nContent-Length: {len}\r\n\r\n{body}",
        len = body.len(),
        auth = auth_header("alice"),
    );
    let out = raw(&srv, request.as_bytes()).await;
    assert!(out.starts_with("HTTP/1.1 401"), "{out}");
    assert!(out.contains("HTTP/1.1 207"), "the second request is answered: {out}");
    // A body too large to drain: the 401 says the connection closes.
    let big = "x".repeat(200 * 1024);
    let request = format!("PUT /files/alice/x.txt HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{big}", big.len());
    let out = raw(&srv, request.as_bytes()).await;
    assert!(out.starts_with("HTTP/1.1 401"), "{}", &out[..out.len().min(200)]);
    assert!(out.to_ascii_lowercase().contains("connection: close"), "{}", &out[..out.len().min(400)]);
}

async fn assert_intact(srv: &TestServer) {
    let r = srv.as_user("GET", "/files/alice/keep.txt", "alice").send().await;
    assert_eq!(r.status, 200);
    assert_eq!(r.text(), "precious");
    assert_eq!(srv.req("GET", "/health", None).send().await.status, 200);
}

async fn seed(srv: &TestServer) {
    assert_eq!(srv.as_user("PUT", "/files/alice/keep.txt", "alice").body("precious").send().await.status, 201);
}

async fn malformed_and_hostile_xml_is_400(srv: TestServer) {
    seed(&srv).await;
    let laughs = r#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">]><D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><x xmlns="">&lol2;</x></D:prop></D:set></D:propertyupdate>"#;
    let xxe = r#"<?xml version="1.0"?><!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><D:propfind xmlns:D="DAV:"><D:prop><D:displayname>&xxe;</D:displayname></D:prop></D:propfind>"#;
    let deep = format!(
        r#"<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><x xmlns="">{}{}</x></D:prop></D:set></D:propertyupdate>"#,
        "<a>".repeat(20_000),
        "</a>".repeat(20_000)
    );
    let cases: Vec<(&str, String)> = vec![
        ("PROPFIND", "<D:propfind xmlns:D=\"DAV:\"><D:prop>".into()),
        ("PROPFIND", "not xml at all".into()),
        ("PROPFIND", "<D:propfind><D:prop/></D:propfind>".into()),
        ("PROPFIND", r#"<propfind xmlns="DAV:"><prop><bar:foo xmlns:bar=""/></prop></propfind>"#.into()),
        ("PROPFIND", xxe.into()),
        ("PROPPATCH", laughs.into()),
        ("PROPPATCH", deep),
        ("PROPPATCH", "<D:propertyupdate xmlns:D=\"DAV:\"><D:set><D:prop><x>\u{0}</x></D:prop></D:set></D:propertyupdate>".into()),
        ("LOCK", "<D:lockinfo xmlns:D=\"DAV:\"><D:lockscope>".into()),
        ("REPORT", "<<<".into()),
    ];
    for (method, body) in cases {
        let target = if method == "PROPFIND" || method == "REPORT" { "/files/alice/" } else { "/files/alice/keep.txt" };
        let r = srv.as_user(method, target, "alice").header("depth", "0").body(body.clone()).send().await;
        assert_eq!(r.status, 400, "{method} {}: {}", &body[..body.len().min(60)], r.text());
    }
    let props = srv
        .as_user("PROPFIND", "/files/alice/keep.txt", "alice")
        .header("depth", "0")
        .body(r#"<D:propfind xmlns:D="DAV:"><D:propname/></D:propfind>"#)
        .send()
        .await
        .text();
    assert!(!props.contains("<x/>") && !props.contains("lockdiscovery><D:activelock"), "nothing was set: {props}");
    assert_intact(&srv).await;
}

async fn oversized_bodies_are_413(backend: Backend) {
    let srv = spawn_with(backend, |c| c.max_body_bytes = 4096).await;
    seed(&srv).await;
    let r = srv.as_user("PUT", "/files/alice/keep.txt", "alice").body(vec![b'x'; 5000]).send().await;
    assert_eq!(r.status, 413);
    // A chunked body with no Content-Length is cut off while reading.
    let mut req = format!(
        "PUT /files/alice/keep.txt HTTP/1.1\r\nHost: x\r\n{}Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        auth_header("alice")
    )
    .into_bytes();
    for _ in 0..10 {
        req.extend_from_slice(b"400\r\n");
        req.extend_from_slice(&[b'y'; 0x400]);
        req.extend_from_slice(b"\r\n");
    }
    req.extend_from_slice(b"0\r\n\r\n");
    let resp = raw(&srv, &req).await;
    assert!(resp.starts_with("HTTP/1.1 413"), "{resp}");
    let r = srv.as_user("PROPPATCH", "/files/alice/keep.txt", "alice").body(vec![b' '; 5000]).send().await;
    assert_eq!(r.status, 413);
    assert_intact(&srv).await;
}

async fn traversal_and_encoded_slashes_are_400(srv: TestServer) {
    seed(&srv).await;
    srv.as_user("PUT", "/files/bob/b.txt", "bob").body("bob's").send().await;
    for path in [
        "/files/alice/../bob/b.txt",
        "/files/alice/%2e%2e/bob/b.txt",
        "/files/alice/..%2Fbob%2Fb.txt",
        "/files/alice%2F..%2Fbob/b.txt",
        "/files/alice/%00",
        "/files/alice/%FF%FE",
    ] {
        for method in ["GET", "DELETE"] {
            let req = format!("{method} {path} HTTP/1.1\r\nHost: x\r\n{}Connection: close\r\n\r\n", auth_header("alice"));
            let resp = raw(&srv, req.as_bytes()).await;
            assert!(resp.starts_with("HTTP/1.1 400"), "{method} {path}: {resp}");
        }
    }
    let r = srv.as_user("COPY", "/files/alice/keep.txt", "alice").header("destination", "/files/alice/../bob/x.txt").send().await;
    assert_eq!(r.status, 400);
    assert_eq!(srv.as_user("GET", "/files/bob/b.txt", "bob").send().await.text(), "bob's");
    assert_intact(&srv).await;
}

/// Two writers with the same If-Match: exactly one wins, the other gets 412,
/// and the stored content is the winner's.
async fn concurrent_writers_with_same_etag(srv: TestServer) {
    let etag = srv.as_user("PUT", "/files/alice/race.txt", "alice").body("v0").send().await.header("etag").unwrap();
    let srv = Arc::new(srv);
    let mut tasks = Vec::new();
    for i in 0..8 {
        let (srv, etag) = (srv.clone(), etag.clone());
        tasks.push(tokio::spawn(async move {
            let r = srv.as_user("PUT", "/files/alice/race.txt", "alice").header("if-match", &etag).body(format!("writer {i}")).send().await;
            (i, r.status)
        }));
    }
    let mut winners = Vec::new();
    for t in tasks {
        let (i, status) = t.await.unwrap();
        assert!(status == 204 || status == 412, "status {status}");
        if status == 204 {
            winners.push(i);
        }
    }
    assert_eq!(winners.len(), 1, "exactly one writer wins: {winners:?}");
    let body = srv.as_user("GET", "/files/alice/race.txt", "alice").send().await.text();
    assert_eq!(body, format!("writer {}", winners[0]));
}

async fn quota_is_enforced(backend: Backend) {
    let srv = spawn_with(backend, |c| c.default_quota_bytes = 100).await;
    assert_eq!(srv.as_user("PUT", "/files/alice/a", "alice").body(vec![1u8; 60]).send().await.status, 201);
    let r = srv.as_user("PUT", "/files/alice/b", "alice").body(vec![1u8; 60]).send().await;
    assert_eq!(r.status, 507);
    assert!(r.text().contains("quota-not-exceeded"), "{}", r.text());
    assert_eq!(srv.as_user("GET", "/files/alice/b", "alice").send().await.status, 404);
    // Replacing within the quota is fine.
    assert_eq!(srv.as_user("PUT", "/files/alice/a", "alice").body(vec![2u8; 90]).send().await.status, 204);
}

async fn copy_beyond_quota_is_507(backend: Backend) {
    let srv = spawn_with(backend, |c| c.default_quota_bytes = 100).await;
    assert_eq!(srv.as_user("PUT", "/files/alice/a", "alice").body(vec![1u8; 60]).send().await.status, 201);
    let r = srv.as_user("COPY", "/files/alice/a", "alice").header("destination", "/files/alice/b").send().await;
    assert_eq!(r.status, 507);
    assert!(r.text().contains("quota-not-exceeded"), "{}", r.text());
    assert_eq!(srv.as_user("GET", "/files/alice/b", "alice").send().await.status, 404);
    // A collection with the object in it: Depth infinity copies the bytes too.
    assert_eq!(srv.as_user("MKCOL", "/files/alice/dir/", "alice").send().await.status, 201);
    assert_eq!(srv.as_user("MOVE", "/files/alice/a", "alice").header("destination", "/files/alice/dir/a").send().await.status, 201);
    let r = srv.as_user("COPY", "/files/alice/dir/", "alice").header("destination", "/files/alice/dir2/").send().await;
    assert_eq!(r.status, 507);
    assert_eq!(srv.as_user("PROPFIND", "/files/alice/dir2/", "alice").header("depth", "0").send().await.status, 404);
    let r = srv.as_user("GET", "/files/alice/dir/a", "alice").send().await;
    assert_eq!((r.status, r.body.len()), (200, 60), "the source is intact");
    // Copying only the collection (Depth 0) adds no bytes.
    let r = srv.as_user("COPY", "/files/alice/dir/", "alice").header("destination", "/files/alice/dir2/").header("depth", "0").send().await;
    assert_eq!(r.status, 201);
}

async fn garbage_requests_do_not_crash(srv: TestServer) {
    seed(&srv).await;
    for req in [
        &b"\x00\x01\x02 garbage\r\n\r\n"[..],
        b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nAuthorization: Basic \xff\xfe\r\n\r\n",
        b"PROPFIND /files/alice/ HTTP/1.1\r\nHost: x\r\nDepth: banana\r\nConnection: close\r\n\r\n",
    ] {
        let resp = raw(&srv, req).await;
        assert!(resp.is_empty() || resp.starts_with("HTTP/1.1 4"), "{resp}");
    }
    let req = format!("PROPFIND /files/alice/ HTTP/1.1\r\nHost: x\r\n{}Depth: banana\r\nConnection: close\r\n\r\n", auth_header("alice"));
    assert!(raw(&srv, req.as_bytes()).await.starts_with("HTTP/1.1 400"));
    assert_intact(&srv).await;
}

both_stores!(
    refused_request_with_body_keeps_the_connection,
    malformed_and_hostile_xml_is_400,
    traversal_and_encoded_slashes_are_400,
    concurrent_writers_with_same_etag,
    garbage_requests_do_not_crash,
);

crate::each_store!(oversized_bodies_are_413, quota_is_enforced, copy_beyond_quota_is_507);
