//! CardDAV (RFC 6352) over real HTTP on both stores: homes and address
//! books, PUT validation with hostile input, the RFC's examples (§6.3.1.1,
//! §6.3.2, §8.6.3-8.6.5, §8.7.1), the filter grammar, vCard 3 ↔ 4
//! conversion, the three group formats, sync-collection and isolation.

use crate::both_stores;
use crate::caldav::{names, responses};
use crate::harness::{Resp, TestServer};

pub const BOOK: &str = "/addressbooks/alice/contacts/";

pub fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/fixtures/rfc6352/{name}", env!("CARGO_MANIFEST_DIR"))).expect("fixture")
}

/// An RFC request body aimed at alice's default address book.
fn rfc_body(name: &str) -> String {
    String::from_utf8(fixture(name)).unwrap().replace("/home/bernard/addressbook/", BOOK)
}

pub async fn put_vcf(srv: &TestServer, path: &str, vcf: impl Into<Vec<u8>>) -> Resp {
    srv.as_user("PUT", path, "alice").header("content-type", "text/vcard; charset=utf-8").body(vcf.into()).send().await
}

pub fn vcard3(uid: &str, extra: &str) -> String {
    format!("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:{uid}\r\n{extra}END:VCARD\r\n")
}

pub async fn report(srv: &TestServer, path: &str, depth: &str, body: &str) -> Resp {
    srv.as_user("REPORT", path, "alice").header("depth", depth).header("content-type", "application/xml").body(body.to_string()).send().await
}

async fn load_rfc_examples(srv: &TestServer) {
    for f in ["newvcard.vcf", "v102.vcf", "v103.vcf", "v104.vcf"] {
        let r = put_vcf(srv, &format!("{BOOK}{f}"), fixture(f)).await;
        assert_eq!(r.status, 201, "{f}: {}", r.text());
    }
}

fn query(filter: &str) -> String {
    format!(
        r#"<C:addressbook-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:prop><D:getetag/></D:prop>{filter}</C:addressbook-query>"#
    )
}

async fn query_names(srv: &TestServer, filter: &str) -> Vec<String> {
    let r = report(srv, BOOK, "1", &query(filter)).await;
    assert_eq!(r.status, 207, "{filter}: {}", r.text());
    names(&r.text(), BOOK)
}

// ------------------------------------------------------------ homes

async fn discovery_and_default_addressbook(srv: TestServer) {
    let body = r#"<D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:prop><C:addressbook-home-set/><D:current-user-principal/></D:prop></D:propfind>"#;
    let r = srv.as_user("PROPFIND", "/principals/alice/", "alice").header("depth", "0").body(body).send().await;
    assert_eq!(r.status, 207);
    assert!(r.text().contains("<CR:addressbook-home-set><D:href>/addressbooks/alice/</D:href></CR:addressbook-home-set>"), "{}", r.text());

    let pf = r#"<D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav" xmlns:CS="http://calendarserver.org/ns/"><D:prop><D:resourcetype/><D:displayname/><C:supported-address-data/><C:max-resource-size/><C:supported-collation-set/><CS:getctag/><D:sync-token/><D:supported-report-set/></D:prop></D:propfind>"#;
    let r = srv.as_user("PROPFIND", "/addressbooks/alice/", "alice").header("depth", "1").body(pf).send().await;
    assert_eq!(r.status, 207);
    let t = r.text();
    let book = responses(&t).into_iter().find(|(h, _)| h == BOOK).unwrap_or_else(|| panic!("default book listed: {t}")).1;
    assert!(book.contains("<D:resourcetype><D:collection/><CR:addressbook/></D:resourcetype>"), "{book}");
    assert!(book.contains("<D:displayname>Contacts</D:displayname>"), "{book}");
    assert!(book.contains(r#"<CR:address-data-type content-type="text/vcard" version="3.0"/>"#), "{book}");
    assert!(book.contains(r#"<CR:address-data-type content-type="text/vcard" version="4.0"/>"#), "{book}");
    assert!(book.contains("<CR:max-resource-size>10485760</CR:max-resource-size>"), "{book}");
    assert!(book.contains("<CR:supported-collation>i;unicode-casemap</CR:supported-collation>"), "{book}");
    assert!(book.contains("<CS:getctag>") && book.contains("<D:sync-token>"), "{book}");
    for report in ["CR:addressbook-query", "CR:addressbook-multiget", "D:sync-collection"] {
        assert!(book.contains(&format!("<{report}/>")), "{report}: {book}");
    }
    let options = srv.as_user("OPTIONS", BOOK, "alice").send().await;
    assert!(options.header("dav").unwrap().contains("addressbook"));
}

async fn extended_mkcol_rfc_example_and_names(srv: TestServer) {
    // §6.3.1.1, under a name with a space, an apostrophe, '@' and accents.
    let path = "/addressbooks/alice/Lisa's%20contacts%20%C3%A9t%C3%A9@ac/";
    let r = srv.as_user("MKCOL", path, "alice").header("content-type", "text/xml").body(fixture("mkcol-6.3.1.1.xml")).send().await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.header("cache-control").as_deref(), Some("no-cache"));
    let pf = r#"<D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:prop><D:resourcetype/><D:displayname/><C:addressbook-description/></D:prop></D:propfind>"#;
    let r = srv.as_user("PROPFIND", path, "alice").header("depth", "0").body(pf).send().await;
    let t = r.text();
    assert!(t.contains("<CR:addressbook/>"), "{t}");
    assert!(t.contains("Lisa's Contacts</D:displayname>") || t.contains("Lisa&apos;s Contacts</D:displayname>"), "{t}");
    assert!(t.contains(">My primary address book.</CR:addressbook-description>"), "{t}");
    // Delete and re-create under the same name at once.
    assert_eq!(srv.as_user("DELETE", path, "alice").send().await.status, 204);
    let again = srv.as_user("MKCOL", path, "alice").header("content-type", "text/xml").body(fixture("mkcol-6.3.1.1.xml")).send().await;
    assert_eq!(again.status, 201, "{}", again.text());
    assert_eq!(put_vcf(&srv, &format!("{path}a.vcf"), vcard3("a", "FN:A\r\n")).await.status, 201);

    // Address books live directly in the address book home.
    let mkcol = r#"<D:mkcol xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:set><D:prop><D:resourcetype><D:collection/><C:addressbook/></D:resourcetype></D:prop></D:set></D:mkcol>"#;
    for bad in ["/files/alice/book/", "/addressbooks/alice/contacts/nested/", "/calendars/alice/book/"] {
        let r = srv.as_user("MKCOL", bad, "alice").body(mkcol).send().await;
        assert_eq!(r.status, 403, "{bad}: {}", r.text());
        assert!(r.text().contains("addressbook-collection-location-ok"), "{bad}: {}", r.text());
    }
    // A calendar and an address book at once is not a type.
    let both = r#"<D:mkcol xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav" xmlns:K="urn:ietf:params:xml:ns:caldav"><D:set><D:prop><D:resourcetype><D:collection/><C:addressbook/><K:calendar/></D:resourcetype></D:prop></D:set></D:mkcol>"#;
    let r = srv.as_user("MKCOL", "/addressbooks/alice/both/", "alice").body(both).send().await;
    assert_eq!(r.status, 403, "{}", r.text());
    assert!(r.text().contains("valid-resourcetype"));
    // Plain collections and files have no place in an address book home.
    assert_eq!(srv.as_user("MKCOL", "/addressbooks/alice/plain/", "alice").send().await.status, 403);
}

// ------------------------------------------------------------ PUT

async fn put_stores_bytes_and_checks_preconditions(srv: TestServer) {
    let newvcard = fixture("newvcard.vcf");
    let r = srv
        .as_user("PUT", &format!("{BOOK}newvcard.vcf"), "alice")
        .header("content-type", "text/vcard")
        .header("if-none-match", "*")
        .body(newvcard.clone())
        .send()
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let etag = r.header("etag").expect("ETag on PUT");
    let get = srv.as_user("GET", &format!("{BOOK}newvcard.vcf"), "alice").send().await;
    assert_eq!(get.status, 200);
    assert_eq!(get.body, newvcard, "served byte-identical");
    assert_eq!(get.header("etag"), Some(etag.clone()));
    assert!(get.header("content-type").unwrap().starts_with("text/vcard"));
    // If-None-Match: * on an existing resource.
    let again = srv.as_user("PUT", &format!("{BOOK}newvcard.vcf"), "alice").header("if-none-match", "*").body(newvcard.clone()).send().await;
    assert_eq!(again.status, 412);
    // Same UID under another name: no-uid-conflict naming the holder.
    let r = put_vcf(&srv, &format!("{BOOK}copy.vcf"), newvcard.clone()).await;
    assert_eq!(r.status, 403);
    let t = r.text();
    assert!(t.contains("<CR:no-uid-conflict><D:href>/addressbooks/alice/contacts/newvcard.vcf</D:href></CR:no-uid-conflict>"), "{t}");
    // Replacing the contact under its ETag.
    let replaced = srv
        .as_user("PUT", &format!("{BOOK}newvcard.vcf"), "alice")
        .header("if-match", &etag)
        .body(vcard3("1234-5678-9000-1", "FN:Cyrus Daboo\r\nNOTE:edited\r\n"))
        .send()
        .await;
    assert_eq!(replaced.status, 204, "{}", replaced.text());
    let stale = srv.as_user("PUT", &format!("{BOOK}newvcard.vcf"), "alice").header("if-match", &etag).body(newvcard).send().await;
    assert_eq!(stale.status, 412, "a writer holding the old ETag loses");

    // vCard 4 with an inline photo is accepted as well.
    let photo = format!("PHOTO:data:image/jpeg;base64,{}\r\n", "A".repeat(200_000));
    let v4 = format!("BEGIN:VCARD\r\nVERSION:4.0\r\nUID:urn:uuid:p1\r\nFN:Photo\r\n{photo}END:VCARD\r\n");
    assert_eq!(put_vcf(&srv, &format!("{BOOK}photo.vcf"), v4.clone()).await.status, 201);
    assert_eq!(srv.as_user("GET", &format!("{BOOK}photo.vcf"), "alice").send().await.body, v4.into_bytes());
}

async fn hostile_vcards_are_refused_and_nothing_is_stored(srv: TestServer) {
    let ctag_of = |t: String| t.split("<CS:getctag>").nth(1).and_then(|s| s.split('<').next()).unwrap_or("").to_string();
    let pf = r#"<D:propfind xmlns:D="DAV:" xmlns:CS="http://calendarserver.org/ns/"><D:prop><CS:getctag/></D:prop></D:propfind>"#;
    let before = ctag_of(srv.as_user("PROPFIND", BOOK, "alice").header("depth", "0").body(pf).send().await.text());

    let mut split_fold = vcard3("fold", "FN:Jos\u{e9} \u{e9}t\u{e9}\r\n").into_bytes();
    let pos = split_fold.windows(2).position(|w| w == [0xC3, 0xA9]).unwrap();
    split_fold.splice(pos + 1..pos + 1, *b"\r\n ");
    let cases: Vec<(&str, Vec<u8>, &str, &str)> = vec![
        ("not a vCard", b"hello".to_vec(), "text/vcard", "valid-address-data"),
        ("invalid UTF-8", b"BEGIN:VCARD\r\nVERSION:3.0\r\nUID:u\r\nFN:\xff\xfe\r\nEND:VCARD\r\n".to_vec(), "text/vcard", "valid-address-data"),
        ("fold inside a character", split_fold, "text/vcard", "valid-address-data"),
        ("deep nesting", "BEGIN:VCARD\r\n".repeat(50_000).into_bytes(), "text/vcard", "valid-address-data"),
        ("no UID", b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:X\r\nEND:VCARD\r\n".to_vec(), "text/vcard", "valid-address-data"),
        ("two vCards", format!("{}{}", vcard3("a", ""), vcard3("b", "")).into_bytes(), "text/vcard", "valid-address-data"),
        ("no END", b"BEGIN:VCARD\r\nVERSION:3.0\r\nUID:x\r\n".to_vec(), "text/vcard", "valid-address-data"),
        ("vCard 2.1", b"BEGIN:VCARD\r\nVERSION:2.1\r\nUID:x\r\nFN:X\r\nEND:VCARD\r\n".to_vec(), "text/vcard", "supported-address-data"),
        ("iCalendar media type", vcard3("ct", "FN:X\r\n").into_bytes(), "text/calendar", "supported-address-data"),
        (
            "photo above the size limit",
            format!("BEGIN:VCARD\r\nVERSION:4.0\r\nUID:big\r\nFN:X\r\nPHOTO:data:image/jpeg;base64,{}\r\nEND:VCARD\r\n", "A".repeat(11 * 1024 * 1024)).into_bytes(),
            "text/vcard",
            "max-resource-size",
        ),
    ];
    for (what, body, ct, condition) in cases {
        let r = srv.as_user("PUT", &format!("{BOOK}hostile.vcf"), "alice").header("content-type", ct).body(body).send().await;
        assert_eq!(r.status, 403, "{what}: {}", r.text());
        assert!(r.text().contains(&format!("<CR:{condition}/>")), "{what}: {}", r.text());
        assert_eq!(srv.as_user("GET", &format!("{BOOK}hostile.vcf"), "alice").send().await.status, 404, "{what}: nothing stored");
    }
    let after = ctag_of(srv.as_user("PROPFIND", BOOK, "alice").header("depth", "0").body(pf).send().await.text());
    assert_eq!(before, after, "the address book did not change");
    // Malformed XML in a report is a 400, not a crash.
    assert_eq!(report(&srv, BOOK, "1", "<C:addressbook-query xmlns:C=\"urn:ietf:params:xml:ns:carddav\"><C:filter>").await.status, 400);
}

async fn copy_and_move_keep_uids_unique(srv: TestServer) {
    load_rfc_examples(&srv).await;
    let mkcol = r#"<D:mkcol xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:set><D:prop><D:resourcetype><D:collection/><C:addressbook/></D:resourcetype></D:prop></D:set></D:mkcol>"#;
    assert_eq!(srv.as_user("MKCOL", "/addressbooks/alice/other/", "alice").body(mkcol).send().await.status, 201);
    let to_other = format!("{}/addressbooks/alice/other/x.vcf", srv.base);
    let r = srv.as_user("COPY", &format!("{BOOK}v102.vcf"), "alice").header("destination", &to_other).send().await;
    assert_eq!(r.status, 201);
    // Copying the same UID back into its own book under another name.
    let back = format!("{}{BOOK}dup.vcf", srv.base);
    let r = srv.as_user("COPY", "/addressbooks/alice/other/x.vcf", "alice").header("destination", &back).send().await;
    assert_eq!(r.status, 403, "{}", r.text());
    assert!(r.text().contains("<CR:no-uid-conflict><D:href>/addressbooks/alice/contacts/v102.vcf</D:href>"), "{}", r.text());
    // Address books stay directly in the home, contacts in address books.
    let nested = format!("{}{BOOK}nested/", srv.base);
    let r = srv.as_user("COPY", "/addressbooks/alice/other/", "alice").header("destination", &nested).send().await;
    assert_eq!(r.status, 403, "{}", r.text());
    assert!(r.text().contains("addressbook-collection-location-ok"), "{}", r.text());
    let loose = format!("{}/addressbooks/alice/loose.vcf", srv.base);
    let r = srv.as_user("MOVE", &format!("{BOOK}v104.vcf"), "alice").header("destination", &loose).send().await;
    assert_eq!(r.status, 403, "{}", r.text());
    assert_eq!(srv.as_user("GET", &format!("{BOOK}v104.vcf"), "alice").send().await.status, 200, "nothing moved");
    // Between address books, a MOVE works and keeps the bytes.
    let to = format!("{}/addressbooks/alice/other/v104.vcf", srv.base);
    assert_eq!(srv.as_user("MOVE", &format!("{BOOK}v104.vcf"), "alice").header("destination", &to).send().await.status, 201);
    assert_eq!(srv.as_user("GET", "/addressbooks/alice/other/v104.vcf", "alice").send().await.body, fixture("v104.vcf"));
}

/// RFC 6352 §6.3.2.1: COPY within one address book would give the source's
/// UID to a second vCard: refused, naming the source.
async fn copy_within_an_address_book_keeps_uids_unique(srv: TestServer) {
    load_rfc_examples(&srv).await;
    let to = format!("{}{BOOK}v102copy.vcf", srv.base);
    let r = srv.as_user("COPY", &format!("{BOOK}v102.vcf"), "alice").header("destination", &to).send().await;
    assert_eq!(r.status, 403, "{}", r.text());
    assert!(r.text().contains("<CR:no-uid-conflict><D:href>/addressbooks/alice/contacts/v102.vcf</D:href>"), "{}", r.text());
    assert_eq!(srv.as_user("GET", &format!("{BOOK}v102copy.vcf"), "alice").send().await.status, 404);
    // Overwriting another card with it: the same conflict, that card intact.
    let onto = format!("{}{BOOK}v103.vcf", srv.base);
    let r = srv.as_user("COPY", &format!("{BOOK}v102.vcf"), "alice").header("destination", &onto).send().await;
    assert_eq!(r.status, 403, "{}", r.text());
    assert_eq!(srv.as_user("GET", &format!("{BOOK}v103.vcf"), "alice").send().await.body, fixture("v103.vcf"));
}

// ------------------------------------------------------------ RFC 6352 §8 examples

async fn rfc_query_examples(srv: TestServer) {
    load_rfc_examples(&srv).await;
    // §8.6.3: NICKNAME equals "me".
    let r = report(&srv, BOOK, "1", &rfc_body("query-8.6.3.xml")).await;
    assert_eq!(r.status, 207);
    let t = r.text().replace("&#13;", "\r");
    assert_eq!(names(&t, BOOK), vec!["newvcard.vcf", "v102.vcf"]);
    let v102 = responses(&t).into_iter().find(|(h, _)| h.ends_with("v102.vcf")).unwrap().1;
    assert!(v102.contains("<D:getetag>\""), "{v102}");
    assert!(v102.contains("<CR:address-data>BEGIN:VCARD\r\nVERSION:3.0\r\nNICKNAME:me\r\nUID:34222-232@example.com\r\nFN:Cyrus Daboo\r\nEMAIL:daboo@example.com\r\nEND:VCARD\r\n</CR:address-data>"), "{v102}");
    let newvcard = responses(&t).into_iter().find(|(h, _)| h.ends_with("newvcard.vcf")).unwrap().1;
    assert!(!newvcard.contains("NOTE") && !newvcard.contains("ORG") && newvcard.contains("EMAIL;TYPE=INTERNET,PREF:cyrus@example.com"), "partial retrieval: {newvcard}");

    // §8.6.4: FN or EMAIL contains "daboo".
    let r = report(&srv, BOOK, "1", &rfc_body("query-8.6.4.xml")).await;
    assert_eq!(names(&r.text(), BOOK), vec!["newvcard.vcf", "v102.vcf", "v104.vcf"]);

    // §8.6.5: two results and a 507 for the request URI.
    let r = report(&srv, BOOK, "1", &rfc_body("query-8.6.5.xml")).await;
    assert_eq!(r.status, 207);
    let t = r.text();
    let all = responses(&t);
    assert_eq!(all.len(), 3, "{t}");
    let cut = all.iter().find(|(h, _)| h == BOOK).expect("507 for the request URI").1.clone();
    assert!(cut.contains("HTTP/1.1 507"), "{cut}");
    assert!(cut.contains("<D:error><D:number-of-matches-within-limits/></D:error>"), "{cut}");

    // §8.7.1: multiget with a missing href.
    let r = report(&srv, BOOK, "0", &rfc_body("multiget-8.7.1.xml")).await;
    assert_eq!(r.status, 207);
    let t = r.text();
    let all = responses(&t);
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].0, format!("{BOOK}v102.vcf"));
    assert!(all[0].1.contains("FN:Cyrus Daboo") && all[0].1.contains("HTTP/1.1 200"), "{t}");
    assert_eq!(all[1].0, format!("{BOOK}vcf1.vcf"));
    assert!(all[1].1.contains("HTTP/1.1 404"), "{t}");
}

async fn query_filter_grammar(srv: TestServer) {
    let cards = [
        ("elodie.vcf", vcard3("e", "FN:Élodie Martin\r\nN:Martin;Élodie;;;\r\nEMAIL;TYPE=WORK:elodie.martin@ac-lyon.fr\r\nTEL;TYPE=CELL:+33 6 12 34 56 78\r\nCATEGORIES:Amis,Travail\r\n")),
        ("jean.vcf", vcard3("j", "FN:Jean Dubois\r\nN:Dubois;Jean;;;\r\nEMAIL;TYPE=HOME:jean@example.org\r\nNICKNAME:JD\r\n")),
        ("helene.vcf", vcard3("h", "FN:HÉLÈNE DUBOIS-LEGRAND\r\nN:Dubois-Legrand;Hélène;;;\r\nORG:Rectorat\r\n")),
        ("group.vcf", "BEGIN:VCARD\r\nVERSION:4.0\r\nUID:g\r\nKIND:group\r\nFN:Équipe\r\nMEMBER:urn:uuid:e\r\nEND:VCARD\r\n".to_string()),
    ];
    for (name, card) in &cards {
        assert_eq!(put_vcf(&srv, &format!("{BOOK}{name}"), card.clone()).await.status, 201, "{name}");
    }
    let tm = |prop: &str, attrs: &str, text: &str| {
        format!(r#"<C:filter><C:prop-filter name="{prop}"><C:text-match {attrs}>{text}</C:text-match></C:prop-filter></C:filter>"#)
    };
    // Default: i;unicode-casemap, contains.
    assert_eq!(query_names(&srv, &tm("FN", "", "dubois")).await, vec!["helene.vcf", "jean.vcf"]);
    assert_eq!(query_names(&srv, &tm("FN", "", "ÉLÈNE")).await, vec!["helene.vcf"]);
    assert_eq!(query_names(&srv, &tm("FN", "", "hélène")).await, vec!["helene.vcf"]);
    assert_eq!(query_names(&srv, &tm("FN", "", "helene")).await, Vec::<String>::new(), "accents are significant");
    // i;ascii-casemap folds ASCII only; i;octet folds nothing.
    assert_eq!(query_names(&srv, &tm("FN", r#"collation="i;ascii-casemap""#, "hélène")).await, Vec::<String>::new());
    assert_eq!(query_names(&srv, &tm("FN", r#"collation="i;ascii-casemap""#, "jean DUBOIS")).await, vec!["jean.vcf"]);
    assert_eq!(query_names(&srv, &tm("FN", r#"collation="i;octet""#, "dubois")).await, Vec::<String>::new());
    assert_eq!(query_names(&srv, &tm("FN", r#"collation="i;octet""#, "Dubois")).await, vec!["jean.vcf"]);
    // Match types.
    assert_eq!(query_names(&srv, &tm("FN", r#"match-type="starts-with""#, "jean")).await, vec!["jean.vcf"]);
    assert_eq!(query_names(&srv, &tm("FN", r#"match-type="ends-with""#, "legrand")).await, vec!["helene.vcf"]);
    assert_eq!(query_names(&srv, &tm("FN", r#"match-type="equals""#, "jean dubois")).await, vec!["jean.vcf"]);
    assert_eq!(query_names(&srv, &tm("FN", r#"match-type="equals""#, "jean")).await, Vec::<String>::new());
    assert_eq!(query_names(&srv, &tm("CATEGORIES", r#"match-type="equals""#, "travail")).await, vec!["elodie.vcf"]);
    // Negation: cards with an FN that does not contain "dubois".
    assert_eq!(query_names(&srv, &tm("FN", r#"negate-condition="yes""#, "dubois")).await, vec!["elodie.vcf", "group.vcf"]);
    // anyof / allof across properties.
    let any = r#"<C:filter test="anyof"><C:prop-filter name="NICKNAME"><C:text-match>jd</C:text-match></C:prop-filter><C:prop-filter name="ORG"><C:text-match>rectorat</C:text-match></C:prop-filter></C:filter>"#;
    assert_eq!(query_names(&srv, any).await, vec!["helene.vcf", "jean.vcf"]);
    let all = r#"<C:filter test="allof"><C:prop-filter name="FN"><C:text-match>dubois</C:text-match></C:prop-filter><C:prop-filter name="ORG"><C:text-match>rectorat</C:text-match></C:prop-filter></C:filter>"#;
    assert_eq!(query_names(&srv, all).await, vec!["helene.vcf"]);
    // is-not-defined and param-filter.
    let undefined = r#"<C:filter><C:prop-filter name="EMAIL"><C:is-not-defined/></C:prop-filter></C:filter>"#;
    assert_eq!(query_names(&srv, undefined).await, vec!["group.vcf", "helene.vcf"]);
    let param = r#"<C:filter><C:prop-filter name="EMAIL"><C:param-filter name="TYPE"><C:text-match match-type="equals">work</C:text-match></C:param-filter></C:prop-filter></C:filter>"#;
    assert_eq!(query_names(&srv, param).await, vec!["elodie.vcf"]);
    let kind = r#"<C:filter><C:prop-filter name="KIND"><C:text-match match-type="equals">group</C:text-match></C:prop-filter></C:filter>"#;
    assert_eq!(query_names(&srv, kind).await, vec!["group.vcf"]);
    // An unknown collation is the supported-collation precondition.
    let r = report(&srv, BOOK, "1", &query(&tm("FN", r#"collation="i;klingon""#, "x"))).await;
    assert_eq!(r.status, 403);
    assert!(r.text().contains("<CR:supported-collation/>"), "{}", r.text());
    // An unknown address-data version is supported-address-data.
    let bad_version = r#"<C:addressbook-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:prop><C:address-data version="2.1"/></D:prop><C:filter/></C:addressbook-query>"#;
    let r = report(&srv, BOOK, "1", bad_version).await;
    assert_eq!(r.status, 403);
    assert!(r.text().contains("<CR:supported-address-data/>"), "{}", r.text());
    // An empty filter matches every card.
    assert_eq!(query_names(&srv, "<C:filter/>").await.len(), 4);
}

// ------------------------------------------------------------ versions and groups

async fn version_conversion_and_groups(srv: TestServer) {
    let v3 = vcard3("conv", "FN:Élodie Martin\r\nN:Martin;Élodie;;;\r\nEMAIL;TYPE=INTERNET,PREF:elodie@example.fr\r\nBDAY:1980-04-15\r\nPHOTO;ENCODING=b;TYPE=JPEG:/9j/4AAQ\r\n");
    assert_eq!(put_vcf(&srv, &format!("{BOOK}conv.vcf"), v3.clone()).await.status, 201);
    let get = srv.as_user("GET", &format!("{BOOK}conv.vcf"), "alice").header("accept", "text/vcard; version=4.0").send().await;
    assert_eq!(get.status, 200);
    let t = get.text();
    assert!(get.header("content-type").unwrap().contains("version=4.0"), "{:?}", get.headers);
    assert_eq!(get.header("vary").as_deref(), Some("Accept"));
    assert!(t.contains("VERSION:4.0\r\n") && t.contains("FN:Élodie Martin\r\n") && t.contains("BDAY:19800415\r\n"), "{t}");
    assert!(t.contains("PHOTO:data:image/jpeg;base64,/9j/4AAQ"), "{t}");
    assert!(t.contains("EMAIL;TYPE=INTERNET;PREF=1:elodie@example.fr"), "{t}");
    // The same version asked for: the stored bytes.
    let same = srv.as_user("GET", &format!("{BOOK}conv.vcf"), "alice").header("accept", "text/vcard; version=3.0").send().await;
    assert_eq!(same.body, v3.as_bytes());

    // The three group formats are stored and served untouched.
    let groups = [
        ("kind.vcf", "BEGIN:VCARD\r\nVERSION:4.0\r\nUID:urn:uuid:g4\r\nKIND:group\r\nFN:Équipe 4\r\nMEMBER:urn:uuid:m1\r\nMEMBER:mailto:m2@example.fr\r\nEND:VCARD\r\n".to_string()),
        ("apple.vcf", vcard3("g3", "FN:Équipe Apple\r\nN:Équipe Apple;;;;\r\nX-ADDRESSBOOKSERVER-KIND:group\r\nX-ADDRESSBOOKSERVER-MEMBER:urn:uuid:m1\r\nX-ADDRESSBOOKSERVER-MEMBER:urn:uuid:m3\r\n")),
        ("categories.vcf", vcard3("c3", "FN:Membre\r\nCATEGORIES:Équipe,Bureau\r\n")),
    ];
    for (name, card) in &groups {
        assert_eq!(put_vcf(&srv, &format!("{BOOK}{name}"), card.clone()).await.status, 201, "{name}");
        let back = srv.as_user("GET", &format!("{BOOK}{name}"), "alice").send().await;
        assert_eq!(back.body, card.as_bytes(), "{name} round-trips byte for byte");
    }
    // A vCard 4 group asked for as vCard 3 uses Apple's form, and back.
    let as3 = srv.as_user("GET", &format!("{BOOK}kind.vcf"), "alice").header("accept", "text/vcard;version=3.0").send().await.text();
    assert!(as3.contains("X-ADDRESSBOOKSERVER-KIND:group\r\n") && as3.contains("X-ADDRESSBOOKSERVER-MEMBER:urn:uuid:m1\r\n"), "{as3}");
    let as4 = srv.as_user("GET", &format!("{BOOK}apple.vcf"), "alice").header("accept", "text/vcard;version=4.0").send().await.text();
    assert!(as4.contains("KIND:group\r\n") && as4.contains("MEMBER:urn:uuid:m3\r\n") && !as4.contains("X-ADDRESSBOOKSERVER"), "{as4}");

    // address-data version in a multiget converts; without it, stored bytes.
    let mg = |attrs: &str| {
        format!(
            r#"<C:addressbook-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:prop><D:getetag/><C:address-data {attrs}/></D:prop><D:href>{BOOK}conv.vcf</D:href><D:href>{BOOK}kind.vcf</D:href></C:addressbook-multiget>"#
        )
    };
    let r = report(&srv, BOOK, "0", &mg(r#"content-type="text/vcard" version="4.0""#)).await;
    let t = r.text().replace("&#13;", "\r");
    assert!(t.contains("VERSION:4.0\r\nUID:conv"), "{t}");
    assert_eq!(crate::harness::count(&t, "VERSION:4.0"), 2, "{t}");
    let r = report(&srv, BOOK, "0", &mg("")).await;
    let t = r.text().replace("&#13;", "\r");
    assert!(t.contains("VERSION:3.0\r\nUID:conv\r\n") && t.contains("VERSION:4.0\r\nUID:urn:uuid:g4"), "{t}");
}

// ------------------------------------------------------------ sync and access

async fn sync_collection_on_an_address_book(srv: TestServer) {
    load_rfc_examples(&srv).await;
    let sync = |token: &str| {
        format!(r#"<D:sync-collection xmlns:D="DAV:"><D:sync-token>{token}</D:sync-token><D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>"#)
    };
    let token_of = |t: &str| t.split("<D:sync-token>").nth(1).unwrap().split('<').next().unwrap().to_string();
    let r = report(&srv, BOOK, "0", &sync("")).await;
    assert_eq!(r.status, 207);
    let t = r.text();
    assert_eq!(names(&t, BOOK), vec!["newvcard.vcf", "v102.vcf", "v103.vcf", "v104.vcf"]);
    let token = token_of(&t);
    assert_eq!(srv.as_user("DELETE", &format!("{BOOK}v103.vcf"), "alice").send().await.status, 204);
    assert_eq!(put_vcf(&srv, &format!("{BOOK}new.vcf"), vcard3("n", "FN:N\r\n")).await.status, 201);
    let r = report(&srv, BOOK, "0", &sync(&token)).await;
    let t = r.text();
    assert_eq!(names(&t, BOOK), vec!["new.vcf", "v103.vcf"]);
    let deleted = responses(&t).into_iter().find(|(h, _)| h.ends_with("v103.vcf")).unwrap().1;
    assert!(deleted.contains("404"), "{deleted}");
    let r = report(&srv, BOOK, "0", &sync("http://example.com/other-token")).await;
    assert_eq!(r.status, 403);
    assert!(r.text().contains("valid-sync-token"));
}

async fn address_books_are_private(srv: TestServer) {
    load_rfc_examples(&srv).await;
    for user in ["bob", "carol"] {
        assert_eq!(srv.as_user("GET", &format!("{BOOK}v102.vcf"), user).send().await.status, 404, "{user}");
        let r = srv.as_user("PROPFIND", BOOK, user).header("depth", "1").send().await;
        assert_eq!(r.status, 404, "{user}");
        let r = srv.as_user("REPORT", BOOK, user).header("depth", "1").body(rfc_body("query-8.6.4.xml")).send().await;
        assert_eq!(r.status, 404, "{user}");
        assert_eq!(put_vcf_as(&srv, user, &format!("{BOOK}x.vcf")).await, 404, "{user}");
    }
    // A multiget by bob naming alice's contacts from his own book reveals nothing.
    let body = format!(
        r#"<C:addressbook-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:prop><C:address-data/></D:prop><D:href>{BOOK}v102.vcf</D:href></C:addressbook-multiget>"#
    );
    let r = srv.as_user("REPORT", "/addressbooks/bob/contacts/", "bob").header("depth", "0").body(body).send().await;
    assert_eq!(r.status, 207);
    assert!(r.text().contains("404") && !r.text().contains("Daboo"), "{}", r.text());
}

async fn put_vcf_as(srv: &TestServer, user: &str, path: &str) -> u16 {
    srv.as_user("PUT", path, user).header("content-type", "text/vcard").body(vcard3("x", "FN:X\r\n")).send().await.status
}

both_stores!(
    discovery_and_default_addressbook,
    extended_mkcol_rfc_example_and_names,
    put_stores_bytes_and_checks_preconditions,
    hostile_vcards_are_refused_and_nothing_is_stored,
    copy_and_move_keep_uids_unique,
    copy_within_an_address_book_keeps_uids_unique,
    rfc_query_examples,
    query_filter_grammar,
    version_conversion_and_groups,
    sync_collection_on_an_address_book,
    address_books_are_private,
);
