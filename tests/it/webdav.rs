//! RFC 4918 methods over real HTTP: PUT/GET/HEAD/DELETE, MKCOL, COPY/MOVE,
//! OPTIONS, on both stores.

use crate::both_stores;
use crate::harness::TestServer;

async fn put_get_round_trips_exact_bytes(srv: TestServer) {
    let body: Vec<u8> = vec![0, 159, 146, 150, b'\r', b'\n', 255, b'x'];
    let r = srv.as_user("PUT", "/files/alice/blob.bin", "alice").header("content-type", "application/x-test").body(body.clone()).send().await;
    assert_eq!(r.status, 201);
    let etag = r.header("etag").expect("ETag on PUT");
    assert!(etag.starts_with('"') && !etag.starts_with("W/"), "strong etag: {etag}");
    let g = srv.as_user("GET", "/files/alice/blob.bin", "alice").send().await;
    assert_eq!(g.status, 200);
    assert_eq!(g.body, body);
    assert_eq!(g.header("etag").as_deref(), Some(etag.as_str()));
    assert_eq!(g.header("content-type").as_deref(), Some("application/x-test"));
    assert!(g.header("last-modified").is_some());
    let h = srv.as_user("HEAD", "/files/alice/blob.bin", "alice").send().await;
    assert_eq!(h.status, 200);
    assert!(h.body.is_empty());
    assert_eq!(h.header("content-length").as_deref(), Some("8"));
    let again = srv.as_user("PUT", "/files/alice/blob.bin", "alice").body("new").send().await;
    assert_eq!(again.status, 204);
    assert_ne!(again.header("etag"), Some(etag.clone()));
    let nm = srv.as_user("GET", "/files/alice/blob.bin", "alice").header("if-none-match", &again.header("etag").unwrap()).send().await;
    assert_eq!(nm.status, 304);
}

async fn put_conditions(srv: TestServer) {
    let p = "/files/alice/cond.txt";
    let r = srv.as_user("PUT", p, "alice").header("if-match", "*").body("x").send().await;
    assert_eq!(r.status, 412, "If-Match: * on a missing resource");
    let r = srv.as_user("PUT", p, "alice").header("if-none-match", "*").body("one").send().await;
    assert_eq!(r.status, 201);
    let etag = r.header("etag").unwrap();
    let r = srv.as_user("PUT", p, "alice").header("if-none-match", "*").body("two").send().await;
    assert_eq!(r.status, 412);
    let r = srv.as_user("PUT", p, "alice").header("if-match", "\"nope\"").body("two").send().await;
    assert_eq!(r.status, 412);
    let r = srv.as_user("PUT", p, "alice").header("if-match", &format!("W/{etag}")).body("two").send().await;
    assert_eq!(r.status, 412, "weak tags never match on writes");
    let r = srv.as_user("PUT", p, "alice").header("if-match", &format!("\"other\", {etag}")).body("two").send().await;
    assert_eq!(r.status, 204, "a list holding the current tag");
    assert_eq!(srv.as_user("GET", p, "alice").send().await.text(), "two");
    assert_eq!(srv.as_user("DELETE", p, "alice").header("if-none-match", "*").send().await.status, 412);
    assert_eq!(srv.as_user("PUT", p, "alice").header("if-match", "garbage").body("x").send().await.status, 400);
}

async fn put_without_parent_and_on_collection(srv: TestServer) {
    assert_eq!(srv.as_user("PUT", "/files/alice/missing/x.txt", "alice").body("x").send().await.status, 409);
    assert_eq!(srv.as_user("MKCOL", "/files/alice/dir/", "alice").send().await.status, 201);
    assert_eq!(srv.as_user("PUT", "/files/alice/dir/", "alice").body("x").send().await.status, 405);
    let r = srv.as_user("PUT", "/files/alice/x.txt", "alice").header("content-range", "bytes 0-1/2").body("x").send().await;
    assert_eq!(r.status, 400);
}

async fn mkcol_rules(srv: TestServer) {
    assert_eq!(srv.as_user("MKCOL", "/files/alice/a/", "alice").send().await.status, 201);
    assert_eq!(srv.as_user("MKCOL", "/files/alice/a/", "alice").send().await.status, 405);
    assert_eq!(srv.as_user("MKCOL", "/files/alice/x/y/", "alice").send().await.status, 409);
    let r = srv.as_user("MKCOL", "/files/alice/b/", "alice").header("content-type", "text/plain").body("hello").send().await;
    assert_eq!(r.status, 415);
    srv.as_user("PUT", "/files/alice/plain", "alice").body("x").send().await;
    assert_eq!(srv.as_user("MKCOL", "/files/alice/plain/", "alice").send().await.status, 405);
    // RFC 5689 extended MKCOL with a dead property.
    let body = r#"<?xml version="1.0"?><D:mkcol xmlns:D="DAV:" xmlns:E="urn:example"><D:set><D:prop><D:resourcetype><D:collection/></D:resourcetype><D:displayname>Réunions</D:displayname><E:color>red</E:color></D:prop></D:set></D:mkcol>"#;
    let r = srv.as_user("MKCOL", "/files/alice/ext/", "alice").header("content-type", "application/xml").body(body).send().await;
    assert_eq!(r.status, 201);
    let pf = srv.as_user("PROPFIND", "/files/alice/ext/", "alice").header("depth", "0").body(r#"<D:propfind xmlns:D="DAV:"><D:prop><D:displayname/><x:color xmlns:x="urn:example"/></D:prop></D:propfind>"#).send().await;
    assert!(pf.text().contains("Réunions"), "{}", pf.text());
    assert!(pf.text().contains(">red<"), "{}", pf.text());
}

async fn delete_rules(srv: TestServer) {
    assert_eq!(srv.as_user("DELETE", "/files/alice/none", "alice").send().await.status, 404);
    srv.as_user("MKCOL", "/files/alice/d/", "alice").send().await;
    srv.as_user("MKCOL", "/files/alice/d/e/", "alice").send().await;
    srv.as_user("PUT", "/files/alice/d/e/f.txt", "alice").body("f").send().await;
    assert_eq!(srv.as_user("DELETE", "/files/alice/d/", "alice").header("depth", "0").send().await.status, 400);
    assert_eq!(srv.as_user("DELETE", "/files/alice/d/", "alice").send().await.status, 204);
    assert_eq!(srv.as_user("GET", "/files/alice/d/e/f.txt", "alice").send().await.status, 404);
    assert_eq!(srv.as_user("PROPFIND", "/files/alice/d/e/", "alice").header("depth", "0").send().await.status, 404);
    // A deleted collection can be re-created at once, empty.
    assert_eq!(srv.as_user("MKCOL", "/files/alice/d/", "alice").send().await.status, 201);
    let pf = srv.as_user("PROPFIND", "/files/alice/d/", "alice").header("depth", "1").send().await;
    assert_eq!(crate::harness::count(&pf.text(), "<D:response>"), 1);
    // If-Match on DELETE.
    let e = srv.as_user("PUT", "/files/alice/g", "alice").body("g").send().await.header("etag").unwrap();
    assert_eq!(srv.as_user("DELETE", "/files/alice/g", "alice").header("if-match", "\"x\"").send().await.status, 412);
    assert_eq!(srv.as_user("DELETE", "/files/alice/g", "alice").header("if-match", &e).send().await.status, 204);
    // Homes cannot be deleted.
    assert_eq!(srv.as_user("DELETE", "/files/alice/", "alice").send().await.status, 403);
}

async fn copy_and_move(srv: TestServer) {
    let b = srv.base.clone();
    srv.as_user("PUT", "/files/alice/src.txt", "alice").body("source").send().await;
    let r = srv.as_user("COPY", "/files/alice/src.txt", "alice").header("destination", &format!("{b}/files/alice/dst.txt")).send().await;
    assert_eq!(r.status, 201);
    let r = srv.as_user("COPY", "/files/alice/src.txt", "alice").header("destination", &format!("{b}/files/alice/dst.txt")).header("overwrite", "F").send().await;
    assert_eq!(r.status, 412);
    let r = srv.as_user("COPY", "/files/alice/src.txt", "alice").header("destination", "/files/alice/dst.txt").send().await;
    assert_eq!(r.status, 204, "overwrite of an existing destination");
    let r = srv.as_user("COPY", "/files/alice/src.txt", "alice").header("destination", "/files/alice/nope/dst.txt").send().await;
    assert_eq!(r.status, 409);
    let r = srv.as_user("COPY", "/files/alice/src.txt", "alice").header("destination", "/files/alice/src.txt").send().await;
    assert_eq!(r.status, 403);
    let r = srv.as_user("COPY", "/files/alice/src.txt", "alice").header("destination", "http://elsewhere.example/files/alice/x").send().await;
    assert_eq!(r.status, 502);
    assert_eq!(srv.as_user("COPY", "/files/alice/src.txt", "alice").send().await.status, 400);

    // Collections: Depth infinity copies the subtree, Depth 0 only the collection.
    srv.as_user("MKCOL", "/files/alice/c/", "alice").send().await;
    srv.as_user("PUT", "/files/alice/c/m.txt", "alice").body("m").send().await;
    let r = srv.as_user("COPY", "/files/alice/c/", "alice").header("destination", "/files/alice/c2/").send().await;
    assert_eq!(r.status, 201);
    assert_eq!(srv.as_user("GET", "/files/alice/c2/m.txt", "alice").send().await.text(), "m");
    let r = srv.as_user("COPY", "/files/alice/c/", "alice").header("destination", "/files/alice/c3/").header("depth", "0").send().await;
    assert_eq!(r.status, 201);
    assert_eq!(srv.as_user("GET", "/files/alice/c3/m.txt", "alice").send().await.status, 404);
    let r = srv.as_user("COPY", "/files/alice/c/", "alice").header("destination", "/files/alice/c/inner/").send().await;
    assert_eq!(r.status, 409, "into itself");

    let r = srv.as_user("MOVE", "/files/alice/c/", "alice").header("destination", "/files/alice/moved/").send().await;
    assert_eq!(r.status, 201);
    assert_eq!(srv.as_user("GET", "/files/alice/moved/m.txt", "alice").send().await.text(), "m");
    assert_eq!(srv.as_user("GET", "/files/alice/c/m.txt", "alice").send().await.status, 404);
    let r = srv.as_user("MOVE", "/files/alice/src.txt", "alice").header("destination", "/files/alice/moved/m.txt").send().await;
    assert_eq!(r.status, 204);
    assert_eq!(srv.as_user("GET", "/files/alice/moved/m.txt", "alice").send().await.text(), "source");
    assert_eq!(srv.as_user("GET", "/files/alice/src.txt", "alice").send().await.status, 404);
    // Nothing crosses owners: bob cannot be a destination for alice.
    let r = srv.as_user("MOVE", "/files/alice/dst.txt", "alice").header("destination", "/files/bob/stolen.txt").send().await;
    assert_eq!(r.status, 404);
}

async fn options_advertises_dav(srv: TestServer) {
    let r = srv.as_user("OPTIONS", "/files/alice/", "alice").send().await;
    assert_eq!(r.status, 200);
    let dav = r.header("dav").unwrap();
    assert_eq!(dav, "1, 2, 3, calendar-access, calendar-auto-schedule, addressbook, extended-mkcol");
    let allow = r.header("allow").unwrap();
    for m in ["PROPFIND", "PROPPATCH", "LOCK", "UNLOCK", "COPY", "MOVE", "DELETE"] {
        assert!(allow.contains(m), "{allow}");
    }
}

async fn unknown_method_is_501(srv: TestServer) {
    assert_eq!(srv.as_user("FROBNICATE", "/files/alice/", "alice").send().await.status, 501);
}

async fn utf8_and_reserved_names(srv: TestServer) {
    let p = "/files/alice/r%C3%A9union%20%40%20100%25.txt";
    assert_eq!(srv.as_user("PUT", p, "alice").body("ok").send().await.status, 201);
    assert_eq!(srv.as_user("GET", p, "alice").send().await.text(), "ok");
    let pf = srv.as_user("PROPFIND", "/files/alice/", "alice").header("depth", "1").send().await;
    assert!(pf.text().contains("/files/alice/r%C3%A9union%20@%20100%25.txt"), "{}", pf.text());
}

async fn calendar_homes_refuse_plain_files(srv: TestServer) {
    assert_eq!(srv.as_user("PUT", "/calendars/alice/x.txt", "alice").body("x").send().await.status, 403);
    assert_eq!(srv.as_user("MKCOL", "/addressbooks/alice/x/", "alice").send().await.status, 403);
    let pf = srv.as_user("PROPFIND", "/calendars/alice/", "alice").header("depth", "0").send().await;
    assert_eq!(pf.status, 207);
}

/// A path ending in `/` never names a non-collection.
async fn trailing_slash_does_not_name_a_file(srv: TestServer) {
    srv.as_user("PUT", "/files/alice/f.txt", "alice").body("f").send().await;
    assert_eq!(srv.as_user("GET", "/files/alice/f.txt/", "alice").send().await.status, 404);
    assert_eq!(srv.as_user("DELETE", "/files/alice/f.txt/", "alice").send().await.status, 404);
    assert_eq!(srv.as_user("MKCOL", "/files/alice/f.txt/", "alice").send().await.status, 405);
    assert_eq!(srv.as_user("GET", "/files/alice/f.txt", "alice").send().await.text(), "f");
}

/// Conditional headers: both If-Match and If-None-Match are evaluated; an
/// unreadable or oversized condition is 400, never ignored.
async fn conditional_headers_are_never_ignored(srv: TestServer) {
    let etag = srv.as_user("PUT", "/files/alice/c.txt", "alice").body("1").send().await.header("etag").unwrap();
    let r = srv.as_user("PUT", "/files/alice/c.txt", "alice").header("if-match", &etag).header("if-none-match", &etag).body("2").send().await;
    assert_eq!(r.status, 412);
    let r = srv
        .as_user("PUT", "/files/alice/c.txt", "alice")
        .header("if-match", "*")
        .header("if-none-match", "*")
        .body("2")
        .send()
        .await;
    assert_eq!(r.status, 412);
    let too_many = "(<urn:x>) ".repeat(65);
    assert_eq!(srv.as_user("PUT", "/files/alice/c.txt", "alice").header("if", &too_many).body("3").send().await.status, 400);
    let r = srv
        .as_user("PUT", "/files/alice/c.txt", "alice")
        .header_bytes("if-match", b"\"\xe9t\xe9\"")
        .body("4")
        .send()
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(srv.as_user("GET", "/files/alice/c.txt", "alice").send().await.text(), "1");
}

/// Over HTTP/2 there is no Host header: an absolute Destination on this
/// server is recognised by the request's `:authority`.
async fn copy_over_http2_with_absolute_destination(srv: TestServer) {
    let h2 = reqwest::Client::builder().http2_prior_knowledge().build().unwrap();
    let url = |p: &str| format!("{}{p}", srv.base);
    let r = h2.put(url("/files/alice/a.txt")).basic_auth("alice", Some("pw-alice")).body("a").send().await.unwrap();
    assert_eq!(r.version(), reqwest::Version::HTTP_2);
    assert_eq!(r.status(), 201);
    let copy = reqwest::Method::from_bytes(b"COPY").unwrap();
    let r = h2
        .request(copy, url("/files/alice/a.txt"))
        .basic_auth("alice", Some("pw-alice"))
        .header("destination", url("/files/alice/b.txt"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    assert_eq!(srv.as_user("GET", "/files/alice/b.txt", "alice").send().await.text(), "a");
}

/// MKCOL without a trailing slash creates the collection at the path with
/// one (RFC 4918 §5.2: a collection's URL ends with `/`), which PROPFIND
/// and PUT then find.
async fn mkcol_without_trailing_slash(srv: TestServer) {
    assert_eq!(srv.as_user("MKCOL", "/files/alice/noslash", "alice").send().await.status, 201);
    let r = srv.as_user("PROPFIND", "/files/alice/noslash/", "alice").header("depth", "0").send().await;
    assert_eq!(r.status, 207, "{}", r.text());
    assert!(r.text().contains("<D:href>/files/alice/noslash/</D:href>"), "{}", r.text());
    assert!(r.text().contains("<D:collection/>"), "{}", r.text());
    assert_eq!(srv.as_user("PUT", "/files/alice/noslash/f.txt", "alice").body("x").send().await.status, 201);
}

both_stores!(
    mkcol_without_trailing_slash,
    copy_over_http2_with_absolute_destination,
    trailing_slash_does_not_name_a_file,
    conditional_headers_are_never_ignored,
    put_get_round_trips_exact_bytes,
    put_conditions,
    put_without_parent_and_on_collection,
    mkcol_rules,
    delete_rules,
    copy_and_move,
    options_advertises_dav,
    unknown_method_is_501,
    utf8_and_reserved_names,
    calendar_homes_refuse_plain_files,
);
