//! CalDAV (RFC 4791) over real HTTP on both stores: homes and calendars,
//! PUT validation, the RFC's Appendix B calendar with the §7.8 queries,
//! multiget, free-busy, export, and recurrence and time-zone edge cases.

use crate::both_stores;
use crate::harness::TestServer;

pub const CAL: &str = "/calendars/alice/work/";

/// The `response` elements of a multistatus: (href, whole element text).
pub fn responses(body: &str) -> Vec<(String, String)> {
    body.split("<D:response>")
        .skip(1)
        .map(|r| {
            let r = r.split("</D:response>").next().unwrap_or("");
            let href = r.split("<D:href>").nth(1).and_then(|h| h.split("</D:href>").next()).unwrap_or("");
            (href.to_string(), r.to_string())
        })
        .collect()
}

/// The hrefs of the responses, without the collection prefix, sorted.
pub fn names(body: &str, prefix: &str) -> Vec<String> {
    let mut v: Vec<String> = responses(body).into_iter().map(|(h, _)| h.trim_start_matches(prefix).to_string()).collect();
    v.sort();
    v
}

pub fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/fixtures/rfc4791/{name}", env!("CARGO_MANIFEST_DIR"))).expect("fixture")
}

pub async fn mkcalendar(srv: &TestServer, path: &str) {
    let r = srv.as_user("MKCALENDAR", path, "alice").send().await;
    assert_eq!(r.status, 201, "MKCALENDAR {path}: {}", r.text());
}

pub async fn put_ics(srv: &TestServer, path: &str, ics: &str) -> crate::harness::Resp {
    srv.as_user("PUT", path, "alice").header("content-type", "text/calendar; charset=utf-8").body(ics.to_string()).send().await
}

pub fn event(uid: &str, extra: &str) -> String {
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20250101T000000Z\r\n{extra}END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
}

pub async fn report(srv: &TestServer, path: &str, depth: &str, body: &str) -> crate::harness::Resp {
    srv.as_user("REPORT", path, "alice").header("depth", depth).header("content-type", "application/xml").body(body.to_string()).send().await
}

// ------------------------------------------------------------ homes

async fn discovery_and_default_calendar(srv: TestServer) {
    let body = r#"<D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><C:calendar-home-set/><C:calendar-user-address-set/><D:current-user-principal/></D:prop></D:propfind>"#;
    let r = srv.as_user("PROPFIND", "/principals/alice/", "alice").header("depth", "0").body(body).send().await;
    assert_eq!(r.status, 207);
    let t = r.text();
    assert!(t.contains("<C:calendar-home-set><D:href>/calendars/alice/</D:href></C:calendar-home-set>"), "{t}");
    assert!(t.contains("mailto:"), "calendar-user-address-set lists the email: {t}");
    let body = r#"<D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav" xmlns:CS="http://calendarserver.org/ns/"><D:prop><D:resourcetype/><D:displayname/><C:supported-calendar-component-set/><CS:getctag/><D:sync-token/><D:supported-report-set/></D:prop></D:propfind>"#;
    let r = srv.as_user("PROPFIND", "/calendars/alice/", "alice").header("depth", "1").body(body).send().await;
    assert_eq!(r.status, 207);
    let t = r.text();
    let all = responses(&t);
    let (_, default) = all.iter().find(|(h, _)| h == "/calendars/alice/default/").expect("default calendar listed");
    assert!(default.contains("<C:calendar/>"));
    assert!(default.contains("<C:comp name=\"VEVENT\"/><C:comp name=\"VTODO\"/>"));
    assert!(default.contains("<CS:getctag>"));
    assert!(default.contains("<D:sync-token>http"));
    assert!(default.contains("<C:calendar-query/>") && default.contains("<C:calendar-multiget/>") && default.contains("<D:sync-collection/>"));
    // The only calendar that takes invitations is the default calendar
    // (RFC 6638 §4.3): it cannot be deleted.
    let r = srv.as_user("DELETE", "/calendars/alice/default/", "alice").send().await;
    assert_eq!(r.status, 403);
    assert!(r.text().contains("<C:default-calendar-needed/>"), "{}", r.text());
    // With another calendar to take invitations, it can; and deleting it
    // does not bring it back.
    assert_eq!(srv.as_user("MKCALENDAR", "/calendars/alice/travail/", "alice").send().await.status, 201);
    assert_eq!(srv.as_user("DELETE", "/calendars/alice/default/", "alice").send().await.status, 204);
    let r = srv.as_user("PROPFIND", "/calendars/alice/", "alice").header("depth", "1").body(body).send().await;
    assert!(!r.text().contains("/calendars/alice/default/"));
}

async fn mkcalendar_with_properties_and_any_name(srv: TestServer) {
    let body = r#"<?xml version="1.0" encoding="utf-8"?>
<C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav" xmlns:A="http://apple.com/ns/ical/">
  <D:set><D:prop>
    <D:displayname>Réunions</D:displayname>
    <C:calendar-description xml:lang="fr">Les réunions</C:calendar-description>
    <C:supported-calendar-component-set><C:comp name="VTODO"/></C:supported-calendar-component-set>
    <C:calendar-timezone><![CDATA[BEGIN:VCALENDAR
VERSION:2.0
PRODID:x
BEGIN:VTIMEZONE
TZID:Europe/Paris
BEGIN:STANDARD
DTSTART:19701025T030000
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:19700329T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
END:DAYLIGHT
END:VTIMEZONE
END:VCALENDAR
]]></C:calendar-timezone>
    <A:calendar-color>#FF0000FF</A:calendar-color>
    <A:calendar-order>3</A:calendar-order>
  </D:prop></D:set>
</C:mkcalendar>"#;
    let path = "/calendars/alice/r%C3%A9union%20%40%20lyon/";
    let r = srv.as_user("MKCALENDAR", path, "alice").body(body).send().await;
    assert_eq!(r.status, 201, "{}", r.text());
    let pf = r#"<D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav" xmlns:A="http://apple.com/ns/ical/"><D:prop><D:resourcetype/><D:displayname/><C:calendar-description/><C:supported-calendar-component-set/><A:calendar-color/><A:calendar-order/><C:calendar-timezone/><C:max-resource-size/><C:min-date-time/><C:max-date-time/><C:max-instances/><C:max-attendees-per-instance/><C:supported-calendar-data/></D:prop></D:propfind>"#;
    let r = srv.as_user("PROPFIND", path, "alice").header("depth", "0").body(pf).send().await;
    let t = r.text();
    assert!(t.contains("<D:displayname>Réunions</D:displayname>"), "{t}");
    assert!(t.contains("Les réunions"));
    assert!(t.contains("<C:comp name=\"VTODO\"/>") && !t.contains("VEVENT\"/>"));
    assert!(t.contains("#FF0000FF") && t.contains(">3</A:calendar-order>"));
    assert!(t.contains("TZID:Europe/Paris"));
    for p in ["max-resource-size", "min-date-time", "max-date-time", "max-instances", "max-attendees-per-instance", "supported-calendar-data"] {
        assert!(t.contains(&format!("<C:{p}")), "{p} in {t}");
    }
    assert!(!t.contains("404 Not Found"), "{t}");
    // A VTODO-only calendar refuses events.
    let r = put_ics(&srv, &format!("{path}e.ics"), &event("e1", "DTSTART:20250101T100000Z\r\n")).await;
    assert_eq!(r.status, 403);
    assert!(r.text().contains("supported-calendar-component"));
    // The same name again: 405; delete and re-create at once.
    assert_eq!(srv.as_user("MKCALENDAR", path, "alice").send().await.status, 405);
    assert_eq!(srv.as_user("DELETE", path, "alice").send().await.status, 204);
    assert_eq!(srv.as_user("MKCALENDAR", path, "alice").send().await.status, 201);
    // Calendars are not nested, and not created outside calendar homes.
    let r = srv.as_user("MKCALENDAR", &format!("{path}inner/"), "alice").send().await;
    assert_eq!(r.status, 403);
    assert!(r.text().contains("calendar-collection-location-ok"));
    assert_eq!(srv.as_user("MKCALENDAR", "/files/alice/cal/", "alice").send().await.status, 403);
    // Someone else's home: not even visible.
    assert_eq!(srv.as_user("MKCALENDAR", "/calendars/carol/mine/", "alice").send().await.status, 404);
}

async fn extended_mkcol_creates_calendars(srv: TestServer) {
    let body = r#"<D:mkcol xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop><D:resourcetype><D:collection/><C:calendar/></D:resourcetype><D:displayname>Perso</D:displayname></D:prop></D:set></D:mkcol>"#;
    let r = srv.as_user("MKCOL", "/calendars/alice/perso/", "alice").header("content-type", "application/xml").body(body).send().await;
    assert_eq!(r.status, 201, "{}", r.text());
    let r = srv.as_user("PROPFIND", "/calendars/alice/perso/", "alice").header("depth", "0").send().await;
    assert!(r.text().contains("<C:calendar/>"));
    let r = put_ics(&srv, "/calendars/alice/perso/a.ics", &event("a", "DTSTART:20250101T100000Z\r\n")).await;
    assert_eq!(r.status, 201);
    // A calendar-timezone that is not a VTIMEZONE is refused, nothing created.
    let bad = r#"<C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop><C:calendar-timezone>not a zone</C:calendar-timezone><D:displayname>x</D:displayname></D:prop></D:set></C:mkcalendar>"#;
    let r = srv.as_user("MKCALENDAR", "/calendars/alice/bad/", "alice").body(bad).send().await;
    assert_eq!(r.status, 207);
    let t = r.text();
    assert!(t.contains("valid-calendar-data") && t.contains("424"), "{t}");
    assert_eq!(srv.as_user("PROPFIND", "/calendars/alice/bad/", "alice").header("depth", "0").send().await.status, 404);
    // The same check on PROPPATCH (§5.2.2); a valid zone is accepted.
    let patch = |tz: &str| format!(r#"<D:propertyupdate xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop><C:calendar-timezone>{tz}</C:calendar-timezone></D:prop></D:set></D:propertyupdate>"#);
    let r = srv.as_user("PROPPATCH", "/calendars/alice/perso/", "alice").body(patch("BEGIN:VCALENDAR")).send().await;
    assert_eq!(r.status, 207);
    assert!(r.text().contains("valid-calendar-data") && r.text().contains("403"), "{}", r.text());
    let zone = "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:x\nBEGIN:VTIMEZONE\nTZID:Europe/Paris\nBEGIN:STANDARD\nDTSTART:19701025T030000\nTZOFFSETFROM:+0200\nTZOFFSETTO:+0100\nEND:STANDARD\nEND:VTIMEZONE\nEND:VCALENDAR\n";
    let r = srv.as_user("PROPPATCH", "/calendars/alice/perso/", "alice").body(patch(zone)).send().await;
    assert!(r.text().contains("200 OK"), "{}", r.text());
}

// ------------------------------------------------------------ objects

async fn put_stores_exact_bytes_and_validates(srv: TestServer) {
    mkcalendar(&srv, CAL).await;
    // LF line endings, lower-case names, an X- property: stored as sent.
    let ics = "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:x\nBEGIN:VEVENT\nuid:lf-1\nDTSTAMP:20250101T000000Z\nDTSTART:20250102T100000Z\nX-CUSTOM;X-P=\"a;b\":v\nEND:VEVENT\nEND:VCALENDAR\n";
    let r = put_ics(&srv, &format!("{CAL}lf.ics"), ics).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let etag = r.header("etag").unwrap();
    let g = srv.as_user("GET", &format!("{CAL}lf.ics"), "alice").send().await;
    assert_eq!(g.body, ics.as_bytes());
    assert_eq!(g.header("etag").unwrap(), etag);
    assert!(g.header("content-type").unwrap().starts_with("text/calendar"));
    // If-None-Match: * on an existing resource; If-Match with the right tag.
    let r = srv.as_user("PUT", &format!("{CAL}lf.ics"), "alice").header("if-none-match", "*").body(ics).send().await;
    assert_eq!(r.status, 412);
    let r = srv.as_user("PUT", &format!("{CAL}lf.ics"), "alice").header("if-match", &etag).body(ics.replace("v\n", "w\n")).send().await;
    assert_eq!(r.status, 204);

    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("not-ical", b"hello".to_vec(), "valid-calendar-data"),
        ("bad-utf8", { let mut b = event("u8", "SUMMARY:caf").into_bytes(); let at = b.len() - 30; b.insert(at, 0xff); b }, "valid-calendar-data"),
        ("no-uid", b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nDTSTAMP:20250101T000000Z\r\nDTSTART:20250101T100000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n".to_vec(), "valid-calendar-object-resource"),
        ("two-uids", b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTAMP:20250101T000000Z\r\nDTSTART:20250101T100000Z\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:b\r\nDTSTAMP:20250101T000000Z\r\nDTSTART:20250101T100000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n".to_vec(), "valid-calendar-object-resource"),
        ("method", event("m", "METHOD:REQUEST\r\nDTSTART:20250101T100000Z\r\n").replace("PRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:m\r\nDTSTAMP:20250101T000000Z\r\nMETHOD:REQUEST\r\n", "PRODID:-//test//EN\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\nUID:m\r\nDTSTAMP:20250101T000000Z\r\n").into_bytes(), "valid-calendar-object-resource"),
        ("too-old", event("old", "DTSTART:18000101T100000Z\r\n").into_bytes(), "min-date-time"),
        ("too-late", event("late", "DTSTART:22500101T100000Z\r\n").into_bytes(), "max-date-time"),
        ("nested", { let mut s = String::from("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:n\r\nDTSTART:20250101T100000Z\r\n"); for _ in 0..5000 { s.push_str("BEGIN:X-N\r\n"); } s.into_bytes() }, "valid-calendar-data"),
    ];
    for (name, body, condition) in cases {
        let path = format!("{CAL}{name}.ics");
        let r = srv.as_user("PUT", &path, "alice").header("content-type", "text/calendar").body(body).send().await;
        assert_eq!(r.status, 403, "{name}: {}", r.text());
        assert!(r.text().contains(condition), "{name}: expected {condition} in {}", r.text());
        assert_eq!(srv.as_user("GET", &path, "alice").send().await.status, 404, "{name} was not stored");
    }
    let r = srv.as_user("PUT", &format!("{CAL}json.ics"), "alice").header("content-type", "application/json").body("{}").send().await;
    assert_eq!(r.status, 403);
    assert!(r.text().contains("supported-calendar-data"));
    // The same UID under another name: no-uid-conflict names the holder.
    let r = put_ics(&srv, &format!("{CAL}copy.ics"), &ics.replace("uid:lf-1", "UID:lf-1")).await;
    assert_eq!(r.status, 403);
    let t = r.text();
    assert!(t.contains("<C:no-uid-conflict><D:href>/calendars/alice/work/lf.ics</D:href></C:no-uid-conflict>"), "{t}");
}

/// RFC 4791 §5.3.2.1: a COPY must not leave two resources with one UID in a
/// calendar, within one calendar too (the source holds the UID); a MOVE
/// within the calendar renames it, and replacing the holder of the UID
/// (Overwrite: T) is allowed.
async fn copy_keeps_uids_unique_within_a_calendar(srv: TestServer) {
    mkcalendar(&srv, CAL).await;
    mkcalendar(&srv, "/calendars/alice/other/").await;
    let b = srv.base.clone();
    assert_eq!(put_ics(&srv, &format!("{CAL}ev1.ics"), &event("u1", "DTSTART:20250102T100000Z\r\n")).await.status, 201);
    assert_eq!(put_ics(&srv, &format!("{CAL}ev2.ics"), &event("u2", "DTSTART:20250103T100000Z\r\n")).await.status, 201);
    let holder = "<C:no-uid-conflict><D:href>/calendars/alice/work/ev1.ics</D:href></C:no-uid-conflict>";
    let copy = |to: String, overwrite: &'static str| {
        srv.as_user("COPY", &format!("{CAL}ev1.ics"), "alice").header("destination", &to).header("overwrite", overwrite)
    };
    let r = copy(format!("{b}{CAL}ev1copy.ics"), "T").send().await;
    assert_eq!(r.status, 403, "{}", r.text());
    assert!(r.text().contains(holder), "{}", r.text());
    assert_eq!(srv.as_user("GET", &format!("{CAL}ev1copy.ics"), "alice").send().await.status, 404, "nothing copied");
    // Over another member: still the source's UID twice; that member stays.
    let r = copy(format!("{b}{CAL}ev2.ics"), "T").send().await;
    assert_eq!(r.status, 403, "{}", r.text());
    assert!(r.text().contains(holder), "{}", r.text());
    assert!(srv.as_user("GET", &format!("{CAL}ev2.ics"), "alice").send().await.text().contains("UID:u2\r\n"));

    // Into another calendar: once; again under another name names the copy;
    // over the copy itself (the holder of the UID) with Overwrite: T is fine.
    assert_eq!(copy(format!("{b}/calendars/alice/other/x.ics"), "T").send().await.status, 201);
    let r = copy(format!("{b}/calendars/alice/other/y.ics"), "T").send().await;
    assert_eq!(r.status, 403, "{}", r.text());
    assert!(r.text().contains("<C:no-uid-conflict><D:href>/calendars/alice/other/x.ics</D:href>"), "{}", r.text());
    assert_eq!(copy(format!("{b}/calendars/alice/other/x.ics"), "T").send().await.status, 204);
    assert_eq!(srv.as_user("GET", "/calendars/alice/other/y.ics", "alice").send().await.status, 404);

    // A MOVE within the calendar is a rename.
    let r = srv.as_user("MOVE", &format!("{CAL}ev1.ics"), "alice").header("destination", &format!("{b}{CAL}ev1moved.ics")).send().await;
    assert_eq!(r.status, 201, "{}", r.text());

    // A whole calendar copied to a new place: each calendar keeps its UIDs
    // unique, and the copy enforces it too.
    let r = srv.as_user("COPY", CAL, "alice").header("destination", &format!("{b}/calendars/alice/work2/")).send().await;
    assert_eq!(r.status, 201, "{}", r.text());
    let g = srv.as_user("GET", "/calendars/alice/work2/ev1moved.ics", "alice").send().await;
    assert!(g.status == 200 && g.text().contains("UID:u1\r\n"), "{}", g.text());
    let r = put_ics(&srv, "/calendars/alice/work2/dup.ics", &event("u1", "DTSTART:20250102T100000Z\r\n")).await;
    assert_eq!(r.status, 403);
    assert!(r.text().contains("<C:no-uid-conflict><D:href>/calendars/alice/work2/ev1moved.ics</D:href>"), "{}", r.text());
    // Over an existing calendar (Overwrite: T): replaced as a whole.
    let r = srv.as_user("COPY", CAL, "alice").header("destination", &format!("{b}/calendars/alice/other/")).send().await;
    assert_eq!(r.status, 204, "{}", r.text());
    assert_eq!(srv.as_user("GET", "/calendars/alice/other/x.ics", "alice").send().await.status, 404);
    let g = srv.as_user("GET", "/calendars/alice/other/ev1moved.ics", "alice").send().await;
    assert!(g.status == 200 && g.text().contains("UID:u1\r\n"), "{}", g.text());
}

async fn oversized_object_is_refused(srv: TestServer) {
    mkcalendar(&srv, CAL).await;
    let big = event("big", &format!("DTSTART:20250101T100000Z\r\nDESCRIPTION:{}\r\n", "x".repeat(11 * 1024 * 1024)));
    let r = put_ics(&srv, &format!("{CAL}big.ics"), &big).await;
    assert_eq!(r.status, 403);
    assert!(r.text().contains("max-resource-size"));
    assert_eq!(srv.as_user("GET", &format!("{CAL}big.ics"), "alice").send().await.status, 404);
}

/// RFC 3744 §9.4: clients find colleagues of their académie, never others.
async fn principal_property_search(srv: TestServer) {
    let search = |test: &str, searches: &str| format!(
        r#"<D:principal-property-search xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"{test}>{searches}<D:prop><D:displayname/><C:calendar-home-set/></D:prop></D:principal-property-search>"#
    );
    let by_name = search("", r#"<D:property-search><D:prop><D:displayname/></D:prop><D:match>BO</D:match></D:property-search>"#);
    let r = crate::caldav::report(&srv, "/principals/", "0", &by_name).await;
    assert_eq!(r.status, 207);
    assert_eq!(names(&r.text(), "/principals/"), ["bob/"]);
    assert!(r.text().contains("<C:calendar-home-set><D:href>/calendars/bob/</D:href>"));
    // Everyone visible: alice and bob (Lyon), not carol (Créteil).
    let r = crate::caldav::report(&srv, "/", "0", &search("", "")).await;
    assert_eq!(names(&r.text(), "/principals/"), ["alice/", "bob/"]);
    let r = crate::caldav::report(&srv, "/", "0", &search("", r#"<D:property-search><D:prop><D:displayname/></D:prop><D:match>carol</D:match></D:property-search>"#)).await;
    assert!(responses(&r.text()).is_empty());
    let by_mail = search(r#" test="anyof""#, r#"<D:property-search><D:prop><C:calendar-user-address-set/></D:prop><D:match>mailto:bob@ac-lyon</D:match></D:property-search><D:property-search><D:prop><D:displayname/></D:prop><D:match>nobody</D:match></D:property-search>"#);
    let r = crate::caldav::report(&srv, "/principals/", "0", &by_mail).await;
    assert_eq!(names(&r.text(), "/principals/"), ["bob/"]);
    let set = r#"<D:principal-search-property-set xmlns:D="DAV:"/>"#;
    let r = crate::caldav::report(&srv, "/principals/", "0", set).await;
    assert_eq!(r.status, 200);
    assert!(r.text().contains("<D:displayname/>"));
}

/// Many requests at once on different objects and calendars (PostgreSQL
/// answers concurrent lookups by path in shared statements): each gets its
/// own object, its own 404 or its own calendar, and a write is seen by the
/// requests made after it.
async fn concurrent_requests_each_get_their_own_answer(srv: TestServer) {
    let calendars = ["/calendars/alice/un/", "/calendars/alice/deux%20%C3%A9t%C3%A9/"];
    let mut etags = std::collections::HashMap::new();
    for (k, cal) in calendars.iter().enumerate() {
        mkcalendar(&srv, cal).await;
        for i in 0..12 {
            let path = format!("{cal}e{i}.ics");
            let r = put_ics(&srv, &path, &event(&format!("c{k}-{i}"), &format!("DTSTART:20250101T100000Z\r\nSUMMARY:n{i}\r\n"))).await;
            assert_eq!(r.status, 201, "{path}: {}", r.text());
            etags.insert(path, r.header("etag").expect("etag"));
        }
    }
    let poll = r#"<D:propfind xmlns:D="DAV:" xmlns:CS="http://calendarserver.org/ns/"><D:prop><CS:getctag/><D:sync-token/></D:prop></D:propfind>"#;
    let mut ctags = std::collections::HashMap::new();
    for cal in calendars {
        let r = srv.as_user("PROPFIND", cal, "alice").header("depth", "0").body(poll).send().await;
        ctags.insert(cal, between(&r.text(), "<CS:getctag>", "</CS:getctag>"));
    }
    assert_ne!(ctags[calendars[0]], ctags[calendars[1]]);
    let srv = &srv;
    for round in 0..2 {
        let mut requests = Vec::new();
        for (k, cal) in calendars.iter().enumerate() {
            for i in 0..12 {
                requests.push(format!("{cal}e{i}.ics"));
                requests.push(format!("{cal}missing{i}-{k}.ics"));
            }
        }
        let gets = futures::future::join_all(requests.into_iter().map(|path| async move {
            let r = srv.as_user("GET", &path, "alice").send().await;
            (path, r)
        }))
        .await;
        for (path, r) in gets {
            if path.contains("missing") {
                assert_eq!(r.status, 404, "{path}");
                continue;
            }
            assert_eq!(r.status, 200, "{path}");
            assert_eq!(r.header("etag"), Some(etags[&path].clone()), "{path}");
            let (cal, name) = path.rsplit_once('/').unwrap();
            let k = calendars.iter().position(|c| c.trim_end_matches('/') == cal).unwrap();
            let i = name.trim_start_matches('e').trim_end_matches(".ics");
            assert!(r.text().contains(&format!("UID:c{k}-{i}\r\n")), "{path}: {}", r.text());
        }
        let polls = futures::future::join_all(calendars.iter().cycle().take(40).map(|cal| async move {
            let r = srv.as_user("PROPFIND", cal, "alice").header("depth", "0").body(poll).send().await;
            (*cal, r)
        }))
        .await;
        for (cal, r) in polls {
            assert_eq!(r.status, 207);
            assert_eq!(between(&r.text(), "<CS:getctag>", "</CS:getctag>"), ctags[cal], "{cal}");
        }
        if round == 0 {
            // A write, then every read after it sees it.
            let path = format!("{}e3.ics", calendars[1]);
            let r = put_ics(srv, &path, &event("c1-3", "DTSTART:20250101T100000Z\r\nSUMMARY:changed\r\n")).await;
            assert_eq!(r.status, 204);
            etags.insert(path.clone(), r.header("etag").expect("etag"));
            let r = srv.as_user("PROPFIND", calendars[1], "alice").header("depth", "0").body(poll).send().await;
            let ctag = between(&r.text(), "<CS:getctag>", "</CS:getctag>");
            assert_ne!(ctag, ctags[calendars[1]]);
            ctags.insert(calendars[1], ctag);
        }
    }
}

fn between(text: &str, start: &str, end: &str) -> String {
    let from = text.find(start).map(|i| i + start.len()).expect(start);
    text[from..from + text[from..].find(end).expect(end)].to_string()
}

/// COPY and MOVE into a calendar check the member as a PUT would (RFC 4791
/// §5.3.2.1 `supported-calendar-component`): a VTODO does not go into a
/// calendar of events; nothing changes.
async fn copy_and_move_check_the_component_set(srv: TestServer) {
    let body = r#"<C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop><C:supported-calendar-component-set><C:comp name="VEVENT"/></C:supported-calendar-component-set></D:prop></D:set></C:mkcalendar>"#;
    let r = srv.as_user("MKCALENDAR", "/calendars/alice/events/", "alice").body(body).send().await;
    assert_eq!(r.status, 201, "{}", r.text());
    let todo = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VTODO\r\nUID:t1\r\nDTSTAMP:20250101T000000Z\r\nSUMMARY:todo\r\nEND:VTODO\r\nEND:VCALENDAR\r\n";
    assert_eq!(put_ics(&srv, "/calendars/alice/default/t1.ics", todo).await.status, 201);
    for method in ["COPY", "MOVE"] {
        let r = srv
            .as_user(method, "/calendars/alice/default/t1.ics", "alice")
            .header("destination", "/calendars/alice/events/t1.ics")
            .send()
            .await;
        assert_eq!(r.status, 403, "{method}: {}", r.text());
        assert!(r.text().contains("<C:supported-calendar-component/>"), "{method}: {}", r.text());
        assert_eq!(srv.as_user("GET", "/calendars/alice/events/t1.ics", "alice").send().await.status, 404);
        assert_eq!(srv.as_user("GET", "/calendars/alice/default/t1.ics", "alice").send().await.status, 200);
    }
    assert_eq!(put_ics(&srv, "/calendars/alice/default/e1.ics", &event("e1", "DTSTART:20250101T100000Z\r\n")).await.status, 201);
    let r = srv
        .as_user("MOVE", "/calendars/alice/default/e1.ics", "alice")
        .header("destination", "/calendars/alice/events/e1.ics")
        .send()
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
}

both_stores!(
    copy_and_move_check_the_component_set,
    concurrent_requests_each_get_their_own_answer,
    principal_property_search,
    discovery_and_default_calendar,
    mkcalendar_with_properties_and_any_name,
    extended_mkcol_creates_calendars,
    put_stores_exact_bytes_and_validates,
    copy_keeps_uids_unique_within_a_calendar,
    oversized_object_is_refused,
);
