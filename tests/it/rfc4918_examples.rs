//! The request examples of RFC 4918 (fixtures/rfc4918/) replayed against the
//! server, checking what the RFC's responses show that does not depend on
//! the example server's own data.

use crate::both_stores;
use crate::harness::{count, TestServer};

fn fixture(name: &str) -> String {
    let path = format!("{}/fixtures/rfc4918/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// §9.1.3: properties the resource does not have come back 404, each in its
/// own namespace.
async fn example_9_1_3_named_properties(srv: TestServer) {
    srv.as_user("PUT", "/files/alice/file", "alice").body("x").send().await;
    let r = srv.as_user("PROPFIND", "/files/alice/file", "alice").header("depth", "0").body(fixture("9.1.3-propfind-named.xml")).send().await;
    assert_eq!(r.status, 207);
    let t = r.text();
    for name in ["bigbox", "author", "DingALing", "Random"] {
        assert!(t.contains(&format!(r#"<X:{name} xmlns:X="http://ns.example.com/boxschema/"/>"#)), "{name}: {t}");
    }
    assert!(t.contains("HTTP/1.1 404 Not Found"));
}

/// §9.1.4: propname on a collection and its members lists names, no values.
async fn example_9_1_4_propname(srv: TestServer) {
    srv.as_user("MKCOL", "/files/alice/container/", "alice").send().await;
    srv.as_user("PUT", "/files/alice/container/front.html", "alice").header("content-type", "text/html").body("<p/>").send().await;
    let r = srv.as_user("PROPFIND", "/files/alice/container/", "alice").header("depth", "1").body(fixture("9.1.4-propfind-propname.xml")).send().await;
    let t = r.text();
    assert_eq!(count(&t, "<D:response>"), 2, "{t}");
    assert!(t.contains("<D:resourcetype/>") && t.contains("<D:getcontenttype/>") && t.contains("<D:supportedlock/>"), "{t}");
    assert!(!t.contains("text/html"), "propname returns no values: {t}");
}

/// §9.1.5-9.1.6: allprop returns RFC 4918 live properties and dead ones;
/// `include` adds named ones (unknown ones in a 404 propstat).
async fn example_9_1_6_allprop_include(srv: TestServer) {
    srv.as_user("MKCOL", "/files/alice/mycol/", "alice").send().await;
    srv.as_user("PROPPATCH", "/files/alice/mycol/", "alice").body(fixture("9.2.2-proppatch.xml")).send().await;
    let r = srv.as_user("PROPFIND", "/files/alice/mycol/", "alice").header("depth", "1").body(fixture("9.1.5-propfind-allprop.xml")).send().await;
    assert!(r.text().contains("Jim Whitehead"), "dead properties are in allprop: {}", r.text());
    let r = srv.as_user("PROPFIND", "/files/alice/mycol/", "alice").header("depth", "1").body(fixture("9.1.6-propfind-allprop-include.xml")).send().await;
    let t = r.text();
    assert!(t.contains("<D:supported-report-set"), "{t}");
    assert!(t.contains("<D:supported-live-property-set/>") && t.contains("404 Not Found"), "{t}");
}

/// §9.2.2: the PROPPATCH example sets Authors and removes Copyright-Owner.
async fn example_9_2_2_proppatch(srv: TestServer) {
    srv.as_user("PUT", "/files/alice/bar.html", "alice").body("<html/>").send().await;
    let r = srv.as_user("PROPPATCH", "/files/alice/bar.html", "alice").body(fixture("9.2.2-proppatch.xml")).send().await;
    assert_eq!(r.status, 207);
    let t = r.text();
    assert!(t.contains(r#"<X:Authors xmlns:X="http://ns.example.com/standards/z39.50/"/>"#), "{t}");
    assert!(t.contains(r#"<X:Copyright-Owner xmlns:X="http://ns.example.com/standards/z39.50/"/>"#), "{t}");
    assert!(t.contains("HTTP/1.1 200 OK"));
}

/// §4.3.1: a mixed-content dead property comes back with its structure,
/// namespaces, attributes, escaped CDATA and the xml:lang in scope.
async fn example_4_3_1_mixed_content(srv: TestServer) {
    srv.as_user("PUT", "/files/alice/jane", "alice").body("x").send().await;
    let r = srv.as_user("PROPPATCH", "/files/alice/jane", "alice").body(fixture("4.3.1-mixed-content-proppatch.xml")).send().await;
    assert_eq!(r.status, 207);
    let r = srv
        .as_user("PROPFIND", "/files/alice/jane", "alice")
        .header("depth", "0")
        .body(r#"<D:propfind xmlns:D="DAV:"><D:prop><x:author xmlns:x="http://example.com/ns"/></D:prop></D:propfind>"#)
        .send()
        .await;
    let t = r.text();
    assert!(t.contains(r#"xml:lang="en""#), "{t}");
    assert!(t.contains(r#"type="email""#) && t.contains(r#"added="2005-11-26""#), "{t}");
    assert!(t.contains("mailto:jane.doe@example.com"), "{t}");
    // The XHTML namespace is declared where it is used.
    assert!(t.contains(r#"<x1:em xmlns:x1="http://www.w3.org/1999/xhtml">too</x1:em>"#), "{t}");
    assert!(t.contains("&lt;RFC2518&gt;"), "{t}");
}

/// §9.10.7: a simple exclusive lock request with `Timeout: Infinite, Second-4100000000`.
async fn example_9_10_7_simple_lock(srv: TestServer) {
    srv.as_user("PUT", "/files/alice/proposal.doc", "alice").body("doc").send().await;
    let r = srv
        .as_user("LOCK", "/files/alice/proposal.doc", "alice")
        .header("timeout", "Infinite, Second-4100000000")
        .body(fixture("9.10.7-lock-simple.xml"))
        .send()
        .await;
    assert_eq!(r.status, 200);
    assert!(r.header("lock-token").is_some());
    let t = r.text();
    assert!(t.contains("<D:locktype><D:write/></D:locktype>") && t.contains("<D:lockscope><D:exclusive/></D:lockscope>"), "{t}");
    assert!(t.contains("<D:depth>infinity</D:depth>") || t.contains("<D:depth>0</D:depth>"), "{t}");
    assert!(t.contains("http://example.org/~ejw/contact.html"), "{t}");
    assert!(t.contains("<D:lockroot><D:href>/files/alice/proposal.doc</D:href></D:lockroot>"), "{t}");
}

/// Appendix A.3: an XML syntax error is 400.
async fn example_a_3_syntax_error(srv: TestServer) {
    let r = srv.as_user("PROPFIND", "/files/alice/", "alice").header("depth", "0").body(fixture("A.3-xml-syntax-error.xml")).send().await;
    assert_eq!(r.status, 400);
}

both_stores!(
    example_9_1_3_named_properties,
    example_9_1_4_propname,
    example_9_1_6_allprop_include,
    example_9_2_2_proppatch,
    example_4_3_1_mixed_content,
    example_9_10_7_simple_lock,
    example_a_3_syntax_error,
);
