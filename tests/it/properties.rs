//! PROPFIND and PROPPATCH (RFC 4918 §9.1-9.2), live properties of RFC 3744,
//! RFC 4331 and RFC 5397, on both stores.

use crate::both_stores;
use crate::harness::{count, TestServer};

fn propfind(names: &str) -> String {
    format!(r#"<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:"><D:prop>{names}</D:prop></D:propfind>"#)
}

async fn depth_infinity_is_refused(srv: TestServer) {
    for depth in [None, Some("infinity")] {
        let mut r = srv.as_user("PROPFIND", "/files/alice/", "alice");
        if let Some(d) = depth {
            r = r.header("depth", d);
        }
        let r = r.send().await;
        assert_eq!(r.status, 403);
        assert!(r.text().contains("propfind-finite-depth"), "{}", r.text());
    }
}

async fn empty_body_is_allprop_and_unknown_is_404(srv: TestServer) {
    srv.as_user("PUT", "/files/alice/a.txt", "alice").header("content-type", "text/plain").body("hello").send().await;
    let r = srv.as_user("PROPFIND", "/files/alice/a.txt", "alice").header("depth", "0").send().await;
    assert_eq!(r.status, 207);
    let t = r.text();
    for p in ["getetag", "getcontentlength>5<", "getcontenttype>text/plain<", "getlastmodified", "creationdate", "supportedlock", "lockdiscovery"] {
        assert!(t.contains(p), "allprop lacks {p}: {t}");
    }
    assert!(!t.contains("quota-used-bytes"), "RFC 4331 properties are not in allprop");
    let r = srv
        .as_user("PROPFIND", "/files/alice/a.txt", "alice")
        .header("depth", "0")
        .body(propfind(r#"<D:getetag/><Z:nothere xmlns:Z="http://example.com/z/"/>"#))
        .send()
        .await;
    let t = r.text();
    assert!(t.contains("HTTP/1.1 404 Not Found"), "{t}");
    assert!(t.contains(r#"<X:nothere xmlns:X="http://example.com/z/"/>"#), "unknown property keeps its namespace: {t}");
}

async fn depth_one_lists_members(srv: TestServer) {
    srv.as_user("MKCOL", "/files/alice/sub/", "alice").send().await;
    srv.as_user("PUT", "/files/alice/one.txt", "alice").body("1").send().await;
    let r = srv.as_user("PROPFIND", "/files/alice/", "alice").header("depth", "1").body(propfind("<D:resourcetype/>")).send().await;
    let t = r.text();
    assert_eq!(count(&t, "<D:response>"), 3, "{t}");
    assert!(t.contains("<D:href>/files/alice/sub/</D:href>"));
    assert!(t.contains("<D:href>/files/alice/one.txt</D:href>"));
    assert_eq!(count(&t, "<D:collection/>"), 2);
}

async fn propname_lists_names_only(srv: TestServer) {
    srv.as_user("PUT", "/files/alice/a.txt", "alice").body("hello").send().await;
    let r = srv
        .as_user("PROPFIND", "/files/alice/a.txt", "alice")
        .header("depth", "0")
        .body(r#"<?xml version="1.0"?><propfind xmlns="DAV:"><propname/></propfind>"#)
        .send()
        .await;
    let t = r.text();
    assert!(t.contains("<D:getetag/>") && t.contains("<D:getcontentlength/>"), "{t}");
    assert!(!t.contains("hello"));
}

async fn principal_and_discovery_properties(srv: TestServer) {
    let body = propfind("<D:current-user-principal/><D:principal-collection-set/><D:current-user-privilege-set/><D:owner/><D:quota-used-bytes/><D:quota-available-bytes/><D:supported-report-set/>");
    srv.as_user("PUT", "/files/alice/q.bin", "alice").body(vec![7u8; 1000]).send().await;
    let r = srv.as_user("PROPFIND", "/files/alice/", "alice").header("depth", "0").body(body).send().await;
    let t = r.text();
    assert!(t.contains("<D:current-user-principal><D:href>/principals/alice/</D:href></D:current-user-principal>"), "{t}");
    assert!(t.contains("<D:principal-collection-set><D:href>/principals/</D:href>"), "{t}");
    assert!(t.contains("<D:privilege><D:all/></D:privilege>"), "{t}");
    assert!(t.contains("<D:owner><D:href>/principals/alice/</D:href></D:owner>"), "{t}");
    assert!(t.contains("<D:quota-used-bytes>1000</D:quota-used-bytes>"), "{t}");
    let avail = 1024 * 1024 * 1024 - 1000;
    assert!(t.contains(&format!("<D:quota-available-bytes>{avail}</D:quota-available-bytes>")), "{t}");
    // On the root, RFC 5397 tells a client who it is.
    let r = srv.as_user("PROPFIND", "/", "alice").header("depth", "0").body(propfind("<D:current-user-principal/>")).send().await;
    assert!(r.text().contains("/principals/alice/"));
    let r = srv
        .as_user("PROPFIND", "/principals/alice/", "alice")
        .header("depth", "0")
        .body(propfind("<D:resourcetype/><D:principal-URL/><D:displayname/><D:alternate-URI-set/>"))
        .send()
        .await;
    let t = r.text();
    assert!(t.contains("<D:principal/>"), "{t}");
    assert!(t.contains("<D:principal-URL><D:href>/principals/alice/</D:href>"), "{t}");
    assert!(t.contains("<D:displayname>alice lyon</D:displayname>"), "{t}");
    assert!(t.contains("mailto:alice@ac-lyon.fr"), "{t}");
}

async fn proppatch_dead_properties_round_trip(srv: TestServer) {
    srv.as_user("PUT", "/files/alice/p.txt", "alice").body("x").send().await;
    let set = r#"<?xml version="1.0" encoding="utf-8"?>
<D:propertyupdate xmlns:D="DAV:" xmlns:Z="http://ns.example.com/z39.50/">
  <D:set><D:prop><Z:Authors><Z:Author>Jim Whitehead</Z:Author><Z:Author>Roy Fielding &amp; co</Z:Author></Z:Authors></D:prop></D:set>
  <D:set><D:prop><nons xmlns="">no namespace 🚀</nons></D:prop></D:set>
  <D:remove><D:prop><Z:Copyright-Owner/></D:prop></D:remove>
</D:propertyupdate>"#;
    let r = srv.as_user("PROPPATCH", "/files/alice/p.txt", "alice").body(set).send().await;
    assert_eq!(r.status, 207);
    assert!(r.text().contains("HTTP/1.1 200 OK"), "{}", r.text());
    let r = srv
        .as_user("PROPFIND", "/files/alice/p.txt", "alice")
        .header("depth", "0")
        .body(r#"<D:propfind xmlns:D="DAV:"><D:prop><A:Authors xmlns:A="http://ns.example.com/z39.50/"/><nons xmlns=""/></D:prop></D:propfind>"#)
        .send()
        .await;
    let t = r.text();
    assert!(t.contains("Jim Whitehead") && t.contains("Roy Fielding &amp; co"), "{t}");
    assert!(t.contains("no namespace 🚀"), "{t}");
    assert!(!t.contains("404"), "{t}");
}

async fn proppatch_protected_is_all_or_nothing(srv: TestServer) {
    srv.as_user("PUT", "/files/alice/p.txt", "alice").body("x").send().await;
    let body = r#"<D:propertyupdate xmlns:D="DAV:" xmlns:E="urn:e"><D:set><D:prop><E:a>1</E:a><D:getetag>"forged"</D:getetag></D:prop></D:set></D:propertyupdate>"#;
    let r = srv.as_user("PROPPATCH", "/files/alice/p.txt", "alice").body(body).send().await;
    assert_eq!(r.status, 207);
    let t = r.text();
    assert!(t.contains("HTTP/1.1 403 Forbidden") && t.contains("cannot-modify-protected-property"), "{t}");
    assert!(t.contains("HTTP/1.1 424 Failed Dependency"), "{t}");
    let r = srv.as_user("PROPFIND", "/files/alice/p.txt", "alice").header("depth", "0").body(propfind(r#"<E:a xmlns:E="urn:e"/>"#)).send().await;
    assert!(r.text().contains("404 Not Found"), "nothing was set: {}", r.text());
}

async fn displayname_is_writable_and_props_follow_copy_move(srv: TestServer) {
    srv.as_user("MKCOL", "/files/alice/c/", "alice").send().await;
    let body = r#"<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><D:displayname>Mes fichiers</D:displayname></D:prop></D:set></D:propertyupdate>"#;
    assert_eq!(srv.as_user("PROPPATCH", "/files/alice/c/", "alice").body(body).send().await.status, 207);
    srv.as_user("MOVE", "/files/alice/c/", "alice").header("destination", "/files/alice/d/").send().await;
    srv.as_user("COPY", "/files/alice/d/", "alice").header("destination", "/files/alice/e/").send().await;
    for p in ["/files/alice/d/", "/files/alice/e/"] {
        let r = srv.as_user("PROPFIND", p, "alice").header("depth", "0").body(propfind("<D:displayname/>")).send().await;
        assert!(r.text().contains("<D:displayname>Mes fichiers</D:displayname>"), "{p}: {}", r.text());
    }
}

/// An empty `prop` still yields a well-formed response (RFC 4918 §14.24).
async fn empty_prop_request_has_a_propstat(srv: TestServer) {
    let r = srv.as_user("PROPFIND", "/files/alice/", "alice").header("depth", "0").body(propfind("")).send().await;
    assert_eq!(r.status, 207);
    assert!(r.text().contains("<D:propstat><D:prop/><D:status>HTTP/1.1 200 OK</D:status></D:propstat>"), "{}", r.text());
}

/// A user may read but not write its principal's properties (RFC 3744
/// privileges from `auth::acl`): PROPPATCH there is 403.
async fn proppatch_on_a_principal_is_refused(srv: TestServer) {
    let body = r#"<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><x:a xmlns:x="urn:x">1</x:a></D:prop></D:set></D:propertyupdate>"#;
    assert_eq!(srv.as_user("PROPPATCH", "/principals/alice/", "alice").body(body).send().await.status, 403);
    assert_eq!(srv.as_user("PROPPATCH", "/", "alice").body(body).send().await.status, 403);
}

/// RFC 5689 §3: an extended MKCOL that cannot set a property fails whole,
/// with a `mkcol-response` saying why.
async fn extended_mkcol_failure_has_mkcol_response(srv: TestServer) {
    let body = r#"<D:mkcol xmlns:D="DAV:" xmlns:x="urn:x"><D:set><D:prop><D:resourcetype><D:collection/><x:weird/></D:resourcetype><D:displayname>Agenda</D:displayname></D:prop></D:set></D:mkcol>"#;
    let r = srv.as_user("MKCOL", "/files/alice/cal/", "alice").header("content-type", "application/xml").body(body).send().await;
    assert_eq!(r.status, 403);
    let t = r.text();
    assert!(t.contains("<D:mkcol-response"), "{t}");
    assert!(t.contains("<D:valid-resourcetype/>") && t.contains("424 Failed Dependency") && t.contains("<D:displayname/>"), "{t}");
    assert_eq!(srv.as_user("PROPFIND", "/files/alice/cal/", "alice").header("depth", "0").send().await.status, 404);
    // A calendar outside the calendar home: RFC 4791 §5.3.1's precondition.
    let body = r#"<D:mkcol xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop><D:resourcetype><D:collection/><C:calendar/></D:resourcetype></D:prop></D:set></D:mkcol>"#;
    let r = srv.as_user("MKCOL", "/files/alice/cal/", "alice").header("content-type", "application/xml").body(body).send().await;
    assert_eq!(r.status, 403);
    assert!(r.text().contains("calendar-collection-location-ok"));
}

async fn dead_properties_count_towards_quota(backend: crate::db::Backend) {
    let srv = crate::harness::spawn_with(backend, |c| c.default_quota_bytes = 200).await;
    srv.as_user("PUT", "/files/alice/a", "alice").body(vec![0u8; 100]).send().await;
    let body = format!(
        r#"<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><x:big xmlns:x="urn:x">{}</x:big></D:prop></D:set></D:propertyupdate>"#,
        "v".repeat(150)
    );
    let r = srv.as_user("PROPPATCH", "/files/alice/a", "alice").body(body).send().await;
    assert_eq!(r.status, 207);
    assert!(r.text().contains("HTTP/1.1 507 Insufficient Storage") && r.text().contains("quota-not-exceeded"), "{}", r.text());
    let pf = srv.as_user("PROPFIND", "/files/alice/", "alice").header("depth", "0").body(propfind("<D:quota-used-bytes/>")).send().await;
    assert!(pf.text().contains("<D:quota-used-bytes>100</D:quota-used-bytes>"), "{}", pf.text());
}

both_stores!(
    proppatch_on_a_principal_is_refused,
    extended_mkcol_failure_has_mkcol_response,
    empty_prop_request_has_a_propstat,
    depth_infinity_is_refused,
    empty_body_is_allprop_and_unknown_is_404,
    depth_one_lists_members,
    propname_lists_names_only,
    principal_and_discovery_properties,
    proppatch_dead_properties_round_trip,
    proppatch_protected_is_all_or_nothing,
    displayname_is_writable_and_props_follow_copy_move,
);

crate::each_store!(dead_properties_count_towards_quota);
