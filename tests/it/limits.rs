//! Bounded work per request (the hardening issue): expansions, free-busy
//! and large bodies answer what the RFCs prescribe when they hit a limit —
//! never a silently shorter result, never an exhausted server — and the
//! smaller input checks. Both stores, real HTTP.

use crate::caldav::{event, mkcalendar, put_ics, report, responses, CAL};
use crate::db::Backend;
use crate::each_store;
use crate::harness::{spawn_with, TestServer};

/// A server whose answers are capped at 1 MiB.
async fn small_reports(backend: Backend) -> TestServer {
    spawn_with(backend, |c| c.max_report_bytes = 1024 * 1024).await
}

fn expand_query(start: &str, end: &str) -> String {
    format!(
        r#"<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/><C:calendar-data><C:expand start="{start}" end="{end}"/></C:calendar-data></D:prop><C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:time-range start="{start}" end="{end}"/></C:comp-filter></C:comp-filter></C:filter></C:calendar-query>"#
    )
}

/// The 507 a cut answer ends with: for the request URI, with the
/// postcondition and a description.
fn assert_cut(text: &str) {
    let cut = responses(text).into_iter().find(|(h, _)| h == CAL).map(|(_, r)| r);
    let cut = cut.unwrap_or_else(|| panic!("no response for the request URI: {}", &text[..text.len().min(2000)]));
    assert!(cut.contains("HTTP/1.1 507"), "{cut}");
    assert!(cut.contains("<D:number-of-matches-within-limits/>"), "{cut}");
    assert!(cut.contains("<D:responsedescription>"), "{cut}");
}

/// Issue item 1: an hourly event with 100 X- lines expanded over six
/// years would be 250 MB; the answer stops at the size cap and says so.
async fn expansion_is_capped_and_says_so(backend: Backend) {
    let srv = small_reports(backend).await;
    mkcalendar(&srv, CAL).await;
    let padding: String = (0..100).map(|i| format!("X-PAD-{i}:{}\r\n", "p".repeat(30))).collect();
    let hourly = event("hourly", &format!("DTSTART:20240101T000000Z\r\nDURATION:PT30M\r\nRRULE:FREQ=HOURLY\r\n{padding}"));
    assert_eq!(put_ics(&srv, &format!("{CAL}hourly.ics"), &hourly).await.status, 201);
    let plain = event("plain", "DTSTART:20250101T100000Z\r\nDURATION:PT1H\r\nSUMMARY:kept\r\n");
    assert_eq!(put_ics(&srv, &format!("{CAL}plain.ics"), &plain).await.status, 201);
    let r = report(&srv, CAL, "1", &expand_query("20240101T000000Z", "20300101T000000Z")).await;
    assert_eq!(r.status, 207, "{}", &r.text()[..r.text().len().min(500)]);
    assert!(r.body.len() < 2 * 1024 * 1024, "the answer is bounded: {} bytes", r.body.len());
    assert_cut(&r.text());
    assert!(!r.text().contains("X-PAD-0:"), "no partial expansion of the capped object is sent");
    // A week of the same event is answered whole: 168 instances.
    let r = report(&srv, CAL, "1", &expand_query("20240101T000000Z", "20240108T000000Z")).await;
    let t = r.text();
    let (_, hourly) = responses(&t).into_iter().find(|(h, _)| h.ends_with("hourly.ics")).expect("hourly answered");
    assert_eq!(hourly.matches("BEGIN:VEVENT").count(), 168);
    assert!(!hourly.contains("RRULE"));
    assert!(!responses(&t).iter().any(|(h, _)| h == CAL), "no cut for an answer within limits");
}

/// Issue item 1: a minutely event with thousands of EXDATEs expanded over
/// a week: each instance carries none of them (the old expansion copied
/// the whole list into every instance), and the count is exact.
async fn expansion_does_not_copy_recurrence_lists(backend: Backend) {
    let srv = small_reports(backend).await;
    mkcalendar(&srv, CAL).await;
    // Every other minute of the first day is excluded: 720 EXDATEs.
    let exdates: Vec<String> =
        (0..720).map(|i| format!("202401{:02}T{:02}{:02}00Z", 1, (2 * i) / 60, (2 * i) % 60)).collect();
    let ics = event(
        "minutely",
        &format!("DTSTART:20240101T000000Z\r\nDURATION:PT1M\r\nRRULE:FREQ=MINUTELY;COUNT=2880\r\nEXDATE:{}\r\n", exdates.join(",")),
    );
    assert_eq!(put_ics(&srv, &format!("{CAL}m.ics"), &ics).await.status, 201);
    let r = report(&srv, CAL, "1", &expand_query("20240101T000000Z", "20240101T060000Z")).await;
    let t = r.text();
    let (_, m) = responses(&t).into_iter().find(|(h, _)| h.ends_with("m.ics")).expect("answered");
    assert_eq!(m.matches("BEGIN:VEVENT").count(), 180, "six hours, every other minute");
    assert!(!m.contains("EXDATE"), "expanded instances carry no EXDATE");
}

/// Issue item 9: free-busy of an endless SECONDLY event. An hour is
/// answered exactly; a week cannot be computed whole and says so (507
/// with the §7.10 postcondition) instead of busy time that stops early.
async fn free_busy_is_exact_or_refused(backend: Backend) {
    let srv = small_reports(backend).await;
    mkcalendar(&srv, CAL).await;
    let ics = event("secondly", "DTSTART:20240101T000000Z\r\nDURATION:PT1S\r\nRRULE:FREQ=SECONDLY\r\n");
    assert_eq!(put_ics(&srv, &format!("{CAL}s.ics"), &ics).await.status, 201);
    let fb = |start: &str, end: &str| {
        format!(r#"<C:free-busy-query xmlns:C="urn:ietf:params:xml:ns:caldav"><C:time-range start="{start}" end="{end}"/></C:free-busy-query>"#)
    };
    let r = report(&srv, CAL, "1", &fb("20240101T000000Z", "20240101T010000Z")).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.text().contains("FREEBUSY;FBTYPE=BUSY:20240101T000000Z/20240101T010000Z"), "{}", r.text());
    let r = report(&srv, CAL, "1", &fb("20240101T000000Z", "20240108T000000Z")).await;
    assert_eq!(r.status, 507, "{}", r.text());
    assert!(r.text().contains("number-of-matches-within-limits"), "{}", r.text());
}

/// Issue item 9: an expansion with more instances in the range than the
/// calendar's `max-instances` is cut with a 507, not silently shortened.
async fn expansion_beyond_max_instances_is_cut(backend: Backend) {
    let srv = spawn_with(backend, |c| c.max_report_bytes = 512 * 1024 * 1024).await;
    mkcalendar(&srv, CAL).await;
    let ics = event("secondly", "DTSTART:20240101T000000Z\r\nDURATION:PT1S\r\nRRULE:FREQ=SECONDLY\r\n");
    assert_eq!(put_ics(&srv, &format!("{CAL}s.ics"), &ics).await.status, 201);
    let r = report(&srv, CAL, "1", &expand_query("20240101T000000Z", "20240103T000000Z")).await;
    assert_eq!(r.status, 207);
    assert_cut(&r.text());
    assert!(!r.text().contains("BEGIN:VEVENT"), "{}", &r.text()[..r.text().len().min(500)]);
}

/// The work budget: a query that needs more instances than a request may
/// compute answers 507 with the postcondition.
async fn work_budget_cuts_the_answer(backend: Backend) {
    let srv = spawn_with(backend, |c| c.max_instances_per_request = 5_000).await;
    mkcalendar(&srv, CAL).await;
    for i in 0..4 {
        let ics = event(&format!("d{i}"), "DTSTART:20240101T000000Z\r\nDURATION:PT1M\r\nRRULE:FREQ=MINUTELY\r\n");
        assert_eq!(put_ics(&srv, &format!("{CAL}d{i}.ics"), &ics).await.status, 201);
    }
    // A filter on SUMMARY forces the full evaluation of each object.
    let body = r#"<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/></D:prop><C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:time-range start="20240101T000000Z" end="20240110T000000Z"/><C:prop-filter name="SUMMARY"><C:is-not-defined/></C:prop-filter></C:comp-filter></C:comp-filter></C:filter></C:calendar-query>"#;
    let r = report(&srv, CAL, "1", body).await;
    assert_eq!(r.status, 207);
    assert_cut(&r.text());
}

/// Issue item 3: a body of many tiny lines would take hundreds of bytes of
/// memory per line once parsed: refused before parsing, nothing stored.
async fn many_lines_are_refused_before_parsing(backend: Backend) {
    let srv = spawn_with(backend, |c| c.max_resource_items = 10_000).await;
    mkcalendar(&srv, CAL).await;
    let lines: String = (0..20_000).map(|i| format!("X-L:{i}\r\n")).collect();
    let ics = event("lines", &format!("DTSTART:20240101T000000Z\r\n{lines}"));
    let r = put_ics(&srv, &format!("{CAL}lines.ics"), &ics).await;
    assert_eq!(r.status, 403, "{}", r.text());
    assert!(r.text().contains("<C:max-resource-size/>"), "{}", r.text());
    assert_eq!(srv.as_user("GET", &format!("{CAL}lines.ics"), "alice").send().await.status, 404);
    // A vCard's folded photo is one line however long it is.
    let photo = format!("PHOTO;ENCODING=b;TYPE=JPEG:{}", "QUFB".repeat(40_000));
    let folded: String = photo.as_bytes().chunks(74).map(|c| std::str::from_utf8(c).unwrap()).collect::<Vec<_>>().join("\r\n ");
    let card = format!("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:p\r\nFN:Photo\r\nN:Photo;;;;\r\n{folded}\r\nEND:VCARD\r\n");
    let r = srv.as_user("PUT", "/addressbooks/alice/contacts/p.vcf", "alice").header("content-type", "text/vcard").body(card).send().await;
    assert_eq!(r.status, 201, "{}", r.text());
}

/// Issue item 7: a search text too long for any index is a client error.
async fn long_search_text_is_a_client_error(backend: Backend) {
    let srv = spawn_with(backend, |_| {}).await;
    let long = "a".repeat(50_000);
    let body = format!(
        r#"<D:principal-property-search xmlns:D="DAV:"><D:property-search><D:prop><D:displayname/></D:prop><D:match>{long}</D:match></D:property-search><D:prop><D:displayname/></D:prop></D:principal-property-search>"#
    );
    let r = srv.as_user("REPORT", "/principals/", "alice").header("depth", "0").body(body).send().await;
    assert_eq!(r.status, 400, "{}", r.text());
    let long = "b".repeat(100_000);
    let body = format!(
        r#"<CR:addressbook-query xmlns:D="DAV:" xmlns:CR="urn:ietf:params:xml:ns:carddav"><D:prop><D:getetag/></D:prop><CR:filter><CR:prop-filter name="FN"><CR:text-match match-type="contains">{long}</CR:text-match></CR:prop-filter></CR:filter></CR:addressbook-query>"#
    );
    let r = srv.as_user("REPORT", "/directory/", "alice").header("depth", "1").body(body).send().await;
    assert_eq!(r.status, 403, "{}", r.text());
    assert!(r.text().contains("supported-filter"), "{}", r.text());
    assert_eq!(srv.req("GET", "/health", None).send().await.status, 200);
}

/// Issue item 10: recurrence and duration values RFC 5545 forbids, and NUL.
async fn invalid_recurrence_values_are_refused(backend: Backend) {
    let srv = spawn_with(backend, |_| {}).await;
    mkcalendar(&srv, CAL).await;
    let cases = [
        ("interval", "DTSTART:20240101T100000Z\r\nRRULE:FREQ=DAILY;INTERVAL=0\r\n"),
        ("count", "DTSTART:20240101T100000Z\r\nRRULE:FREQ=DAILY;COUNT=0\r\n"),
        ("duration", "DTSTART:20240101T100000Z\r\nDURATION:-PT1H\r\n"),
        ("period", "DTSTART:20240101T100000Z\r\nRDATE;VALUE=PERIOD:20240105T100000Z/-PT1H\r\n"),
        ("nul", "DTSTART:20240101T100000Z\r\nSUMMARY:a\u{0}b\r\n"),
    ];
    for (name, props) in cases {
        let r = put_ics(&srv, &format!("{CAL}{name}.ics"), &event(name, props)).await;
        assert_eq!(r.status, 403, "{name}: {}", r.text());
        assert!(r.text().contains("<C:valid-calendar-data/>"), "{name}: {}", r.text());
        assert_eq!(srv.as_user("GET", &format!("{CAL}{name}.ics"), "alice").send().await.status, 404);
    }
    let r = put_ics(&srv, &format!("{CAL}ok.ics"), &event("ok", "DTSTART:20240101T100000Z\r\nDURATION:PT0S\r\nRRULE:FREQ=DAILY;COUNT=1\r\n")).await;
    assert_eq!(r.status, 201, "{}", r.text());
}

/// Issue item 10: property names in the `xml:` namespace are written back
/// with the `xml` prefix, never declared; reserved bindings are refused;
/// a namespace with an entity reference is echoed escaped once.
async fn reserved_namespaces_round_trip_well_formed(backend: Backend) {
    let srv = spawn_with(backend, |_| {}).await;
    assert_eq!(srv.as_user("PUT", "/files/alice/n.txt", "alice").body("n").send().await.status, 201);
    let set = |prop: &str| {
        format!(r#"<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop>{prop}</D:prop></D:set></D:propertyupdate>"#)
    };
    let r = srv.as_user("PROPPATCH", "/files/alice/n.txt", "alice").body(set("<xml:note>v</xml:note>")).send().await;
    assert_eq!(r.status, 207, "{}", r.text());
    assert!(!r.text().contains("xmlns:X=\"http://www.w3.org/XML/1998/namespace\""), "{}", r.text());
    let r = srv.as_user("PROPPATCH", "/files/alice/n.txt", "alice").body(set(r#"<a:p xmlns:a="urn:x?a=1&amp;b=2">v</a:p>"#)).send().await;
    assert_eq!(r.status, 207, "{}", r.text());
    let r = srv.as_user("PROPFIND", "/files/alice/n.txt", "alice").header("depth", "0").send().await;
    let t = r.text();
    assert!(t.contains("<xml:note>v</xml:note>"), "{t}");
    assert!(t.contains("urn:x?a=1&amp;b=2") && !t.contains("&amp;amp;"), "{t}");
    assert!(almanach::xml::parse(&r.body, almanach::xml::XmlLimits::default()).is_ok(), "well-formed: {t}");
    for bad in [
        r#"<p xmlns="http://www.w3.org/XML/1998/namespace">v</p>"#,
        r#"<x:p xmlns:x="http://www.w3.org/XML/1998/namespace">v</x:p>"#,
        r#"<x:p xmlns:x="http://www.w3.org/2000/xmlns/">v</x:p>"#,
    ] {
        let r = srv.as_user("PROPPATCH", "/files/alice/n.txt", "alice").body(set(bad)).send().await;
        assert_eq!(r.status, 400, "{bad}: {}", r.text());
    }
}

/// Issue item 10: a disabled account's principal is gone for colleagues.
async fn disabled_principal_is_not_readable(backend: Backend) {
    let srv = spawn_with(backend, |_| {}).await;
    let propfind = |user: &'static str| srv.as_user("PROPFIND", "/principals/bob/", user).header("depth", "0").send();
    assert_eq!(propfind("alice").await.status, 207);
    almanach::directory::set_disabled(&srv.store, "bob", true).await.unwrap();
    assert_eq!(propfind("alice").await.status, 404);
}

/// Review finding: a long COUNT rule is evaluated whole (the iteration cap
/// is the calendar's max-instances): an occurrence years after DTSTART is
/// found, and its expansion is answered, not cut.
async fn long_count_rules_are_evaluated_whole(backend: Backend) {
    let srv = spawn_with(backend, |_| {}).await;
    mkcalendar(&srv, CAL).await;
    let ics = event("hourly", "DTSTART:20240101T000000Z\r\nDURATION:PT30M\r\nRRULE:FREQ=HOURLY;COUNT=50000\r\n");
    assert_eq!(put_ics(&srv, &format!("{CAL}h.ics"), &ics).await.status, 201);
    let in_range = |start: &str, end: &str| {
        format!(
            r#"<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/></D:prop><C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:time-range start="{start}" end="{end}"/></C:comp-filter></C:comp-filter></C:filter></C:calendar-query>"#
        )
    };
    // Occurrence 26,304 (2027-01-01T00:00Z) exists; 50,000 hours end in 2029.
    let r = report(&srv, CAL, "1", &in_range("20270101T000000Z", "20270101T001000Z")).await;
    assert_eq!(responses(&r.text()).len(), 1, "{}", r.text());
    let r = report(&srv, CAL, "1", &in_range("20300101T000000Z", "20300102T000000Z")).await;
    assert!(responses(&r.text()).is_empty(), "{}", r.text());
    let r = report(&srv, CAL, "1", &expand_query("20270101T000000Z", "20270102T000000Z")).await;
    let t = r.text();
    let (_, h) = responses(&t).into_iter().find(|(h, _)| h.ends_with("h.ics")).expect("answered");
    assert_eq!(h.matches("BEGIN:VEVENT").count(), 24);
    // A COUNT beyond max-instances is refused (RFC 4791 §5.3.2.1).
    let ics = event("many", "DTSTART:20240101T000000Z\r\nRRULE:FREQ=SECONDLY;COUNT=100001\r\n");
    let r = put_ics(&srv, &format!("{CAL}many.ics"), &ics).await;
    assert_eq!(r.status, 403);
    assert!(r.text().contains("<C:max-instances/>"), "{}", r.text());
}

/// Review finding: one line of many values costs what many lines do.
async fn many_values_are_refused_before_parsing(backend: Backend) {
    let srv = spawn_with(backend, |c| c.max_resource_items = 10_000).await;
    mkcalendar(&srv, CAL).await;
    let values = vec!["a"; 20_000].join(",");
    let ics = event("values", &format!("DTSTART:20240101T000000Z\r\nCATEGORIES:{values}\r\n"));
    let r = put_ics(&srv, &format!("{CAL}values.ics"), &ics).await;
    assert_eq!(r.status, 403, "{}", r.text());
    assert!(r.text().contains("<C:max-resource-size/>"), "{}", r.text());
    let params = ";X-P=a".repeat(20_000);
    let ics = event("params", &format!("DTSTART:20240101T000000Z\r\nSUMMARY{params}:x\r\n"));
    assert_eq!(put_ics(&srv, &format!("{CAL}params.ics"), &ics).await.status, 403);
}

/// Review finding: a multiget cut at a limit answers every href, the
/// later ones with a 507 that says why (RFC 4791 §7.9).
async fn cut_multiget_answers_every_href(backend: Backend) {
    let srv = spawn_with(backend, |c| c.max_report_bytes = 64 * 1024).await;
    mkcalendar(&srv, CAL).await;
    let big = "x".repeat(20_000);
    for i in 0..6 {
        let ics = event(&format!("e{i}"), &format!("DTSTART:20240101T000000Z\r\nDESCRIPTION:{big}\r\n"));
        assert_eq!(put_ics(&srv, &format!("{CAL}e{i}.ics"), &ics).await.status, 201);
    }
    let hrefs: String = (0..6).map(|i| format!("<D:href>{CAL}e{i}.ics</D:href>")).collect();
    let body = format!(
        r#"<C:calendar-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><C:calendar-data/></D:prop>{hrefs}</C:calendar-multiget>"#
    );
    let r = report(&srv, CAL, "1", &body).await;
    assert_eq!(r.status, 207);
    let all = responses(&r.text());
    assert_eq!(all.len(), 6, "one response per href");
    let answered = all.iter().filter(|(_, x)| x.contains("DESCRIPTION")).count();
    assert!((1..6).contains(&answered), "{answered} answered");
    for (_, x) in all.iter().filter(|(_, x)| !x.contains("DESCRIPTION")) {
        assert!(x.contains("HTTP/1.1 507") && x.contains("number-of-matches-within-limits"), "{x}");
    }
    assert!(r.body.len() < 80 * 1024, "{}", r.body.len());
    // Export of a calendar larger than the cap is refused, not built.
    let r = srv.as_user("GET", CAL, "alice").send().await;
    assert_eq!(r.status, 507, "{}", r.text());
}

/// Review finding: large bodies that never arrive cannot lock others out.
/// Connections that announce large bodies and send nothing hold nothing;
/// small bodies are never counted.
async fn announced_bodies_hold_nothing(backend: Backend) {
    use tokio::io::AsyncWriteExt;
    let srv = spawn_with(backend, |c| {
        c.max_inflight_body_bytes = 3_000_000;
        c.max_body_bytes = 1_000_000;
    })
    .await;
    let addr = srv.base.trim_start_matches("http://").to_string();
    let mut idle = Vec::new();
    for _ in 0..5 {
        let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
        let head = format!(
            "PUT /files/alice/big.bin HTTP/1.1\r\nHost: x\r\n{}Content-Length: 1000000\r\n\r\n",
            crate::hostile::auth_header("alice")
        );
        s.write_all(head.as_bytes()).await.unwrap();
        s.write_all(&vec![b'x'; 100_000]).await.unwrap();
        idle.push(s);
    }
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let r = srv.as_user("PROPFIND", "/files/bob/", "bob").header("depth", "0").send().await;
    assert_eq!(r.status, 207, "{}", r.text());
    let r = srv.as_user("PUT", "/files/bob/mid.bin", "bob").body(vec![b'y'; 500_000]).send().await;
    assert_eq!(r.status, 201, "bob's share is his own: {}", r.text());
    drop(idle);
}

each_store!(
    expansion_is_capped_and_says_so,
    expansion_does_not_copy_recurrence_lists,
    free_busy_is_exact_or_refused,
    expansion_beyond_max_instances_is_cut,
    work_budget_cuts_the_answer,
    many_lines_are_refused_before_parsing,
    long_search_text_is_a_client_error,
    invalid_recurrence_values_are_refused,
    reserved_namespaces_round_trip_well_formed,
    disabled_principal_is_not_readable,
    long_count_rules_are_evaluated_whole,
    many_values_are_refused_before_parsing,
    cut_multiget_answers_every_href,
    announced_bodies_hold_nothing,
);
