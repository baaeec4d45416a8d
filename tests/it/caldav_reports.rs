//! The CalDAV reports over real HTTP on both stores: the RFC 4791 §7.8
//! examples against the Appendix B calendar, multiget, sync-collection
//! (RFC 6578), free-busy, export, and recurrence and time-zone cases.

use crate::both_stores;
use crate::caldav::{event, fixture, mkcalendar, names, put_ics, report, responses, CAL};
use crate::harness::{count, TestServer};

const BERNARD: &str = "/calendars/alice/bernard%20work/";

/// The Appendix B calendar, stored object by object.
async fn appendix_b(srv: &TestServer) {
    mkcalendar(srv, BERNARD).await;
    for n in 1..=8 {
        let name = format!("abcd{n}.ics");
        let r = srv.as_user("PUT", &format!("{BERNARD}{name}"), "alice").header("content-type", "text/calendar").body(fixture(&name)).send().await;
        assert_eq!(r.status, 201, "{name}: {}", r.text());
    }
}

async fn rfc4791_section_7_8_examples(srv: TestServer) {
    appendix_b(&srv).await;
    let expected: [(&str, &[&str]); 9] = [
        ("7.8.1", &["abcd2.ics", "abcd3.ics"]),
        ("7.8.2", &["abcd2.ics", "abcd3.ics"]),
        ("7.8.3", &["abcd2.ics", "abcd3.ics"]),
        ("7.8.4", &["abcd8.ics"]),
        // The RFC's answer shows a version of Task #2 (DUE at 12:00
        // US/Eastern) that Appendix B does not hold: there, no alarm falls
        // in the range. The §7.8.5 version is checked below.
        ("7.8.5", &[]),
        ("7.8.6", &["abcd3.ics"]),
        ("7.8.7", &["abcd3.ics"]),
        ("7.8.8", &["abcd1.ics", "abcd2.ics", "abcd3.ics"]),
        ("7.8.9", &["abcd4.ics", "abcd5.ics"]),
    ];
    for (section, hrefs) in expected {
        let body = String::from_utf8(fixture(&format!("query-{section}.xml"))).unwrap();
        let r = report(&srv, BERNARD, "1", &body).await;
        assert_eq!(r.status, 207, "{section}: {}", r.text());
        assert_eq!(names(&r.text(), BERNARD), hrefs, "§{section}: {}", r.text());
    }
    let task2 = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Example Corp.//CalDAV Client//EN\r\nBEGIN:VTODO\r\nDTSTAMP:20060205T235300Z\r\nDUE;TZID=US/Eastern:20060106T120000\r\nLAST-MODIFIED:20060205T235308Z\r\nSEQUENCE:1\r\nSTATUS:NEEDS-ACTION\r\nSUMMARY:Task #2\r\nUID:E10BA47467C5C69BB74E8720-7.8.5@example.com\r\nBEGIN:VALARM\r\nACTION:AUDIO\r\nTRIGGER;RELATED=START:-PT10M\r\nEND:VALARM\r\nEND:VTODO\r\nEND:VCALENDAR\r\n";
    assert_eq!(put_ics(&srv, &format!("{BERNARD}task2.ics"), task2).await.status, 201);
    let body = String::from_utf8(fixture("query-7.8.5.xml")).unwrap();
    let r = report(&srv, BERNARD, "1", &body).await;
    assert_eq!(names(&r.text(), BERNARD), ["task2.ics"], "§7.8.5 with the RFC's Task #2");
    // §7.8.10 filters on a property the server does support: no match.
    let body = String::from_utf8(fixture("query-7.8.10.xml")).unwrap();
    let r = report(&srv, BERNARD, "1", &body).await;
    assert_eq!(r.status, 207);
    assert!(responses(&r.text()).is_empty());
}

async fn rfc4791_partial_and_expanded_data(srv: TestServer) {
    appendix_b(&srv).await;
    // §7.8.1: only the selected properties come back.
    let r = report(&srv, BERNARD, "1", std::str::from_utf8(&fixture("query-7.8.1.xml")).unwrap()).await;
    let t = r.text();
    assert!(t.contains("SUMMARY:") && t.contains("UID:"));
    assert!(!t.contains("ATTENDEE"), "ATTENDEE was not selected: {t}");
    // §7.8.3: instances in UTC with RECURRENCE-ID, no RRULE, no VTIMEZONE.
    let r = report(&srv, BERNARD, "1", std::str::from_utf8(&fixture("query-7.8.3.xml")).unwrap()).await;
    let t = r.text();
    let (_, abcd2) = responses(&t).into_iter().find(|(h, _)| h.ends_with("abcd2.ics")).unwrap();
    assert!(!abcd2.contains("RRULE") && !abcd2.contains("VTIMEZONE"), "{abcd2}");
    assert!(abcd2.contains("RECURRENCE-ID:20060103T170000Z") && abcd2.contains("RECURRENCE-ID:20060104T170000Z") && abcd2.contains("DTSTART:20060104T190000Z"), "{abcd2}");
    // Whole calendar-data is the stored bytes.
    let all = r#"<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><C:calendar-data/></D:prop><C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:prop-filter name="UID"><C:text-match>DC6C50A017428C5216A2F1CD@example.com</C:text-match></C:prop-filter></C:comp-filter></C:comp-filter></C:filter></C:calendar-query>"#;
    let r = report(&srv, BERNARD, "1", all).await;
    let stored = String::from_utf8(fixture("abcd3.ics")).unwrap();
    let escaped = stored.replace('\r', "&#13;");
    assert!(r.text().contains(&escaped), "byte-identical calendar-data");
}

async fn multiget_reports_missing_hrefs(srv: TestServer) {
    appendix_b(&srv).await;
    let body = format!(
        r#"<C:calendar-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/><C:calendar-data/></D:prop><D:href>{BERNARD}abcd1.ics</D:href><D:href>/calendars/alice/bernard work/abcd2.ics</D:href><D:href>{BERNARD}missing.ics</D:href><D:href>/calendars/carol/default/x.ics</D:href><D:href>http://example.com{BERNARD}abcd3.ics</D:href></C:calendar-multiget>"#
    );
    let r = report(&srv, BERNARD, "1", &body).await;
    assert_eq!(r.status, 207);
    let all = responses(&r.text());
    assert_eq!(all.len(), 5, "{}", r.text());
    assert!(all[0].1.contains("BEGIN:VCALENDAR") && all[0].1.contains("<D:getetag>"));
    assert!(all[1].1.contains("BEGIN:VCALENDAR"), "percent-encoding in hrefs is decoded");
    assert!(all[2].1.contains("404"));
    assert!(all[3].1.contains("404"), "another user's calendar is not readable");
    assert!(all[4].1.contains("BEGIN:VCALENDAR"), "absolute URLs are accepted");
}

async fn sync_collection_changes_deletions_and_limits(srv: TestServer) {
    mkcalendar(&srv, CAL).await;
    for i in 0..5 {
        put_ics(&srv, &format!("{CAL}e{i}.ics"), &event(&format!("e{i}"), "DTSTART:20250101T100000Z\r\n")).await;
    }
    let sync = |token: &str, limit: Option<u32>| {
        let limit = limit.map(|l| format!("<D:limit><D:nresults>{l}</D:nresults></D:limit>")).unwrap_or_default();
        format!(r#"<D:sync-collection xmlns:D="DAV:"><D:sync-token>{token}</D:sync-token><D:sync-level>1</D:sync-level>{limit}<D:prop><D:getetag/></D:prop></D:sync-collection>"#)
    };
    let token_of = |t: &str| t.split("<D:sync-token>").nth(1).unwrap().split("</D:sync-token>").next().unwrap().to_string();
    let r = report(&srv, CAL, "0", &sync("", None)).await;
    assert_eq!(r.status, 207);
    let t = r.text();
    assert_eq!(names(&t, CAL), ["e0.ics", "e1.ics", "e2.ics", "e3.ics", "e4.ics"]);
    let t0 = token_of(&t);
    // Nothing changed: nothing listed, same token.
    let r = report(&srv, CAL, "0", &sync(&t0, None)).await;
    assert!(responses(&r.text()).is_empty());
    assert_eq!(token_of(&r.text()), t0);
    put_ics(&srv, &format!("{CAL}e1.ics"), &event("e1", "DTSTART:20250101T110000Z\r\n")).await;
    srv.as_user("DELETE", &format!("{CAL}e2.ics"), "alice").send().await;
    put_ics(&srv, &format!("{CAL}e5.ics"), &event("e5", "DTSTART:20250101T100000Z\r\n")).await;
    let r = report(&srv, CAL, "0", &sync(&t0, None)).await;
    let t = r.text();
    assert_eq!(names(&t, CAL), ["e1.ics", "e2.ics", "e5.ics"]);
    let deleted = responses(&t).into_iter().find(|(h, _)| h.ends_with("e2.ics")).unwrap().1;
    assert!(deleted.contains("404") && !deleted.contains("propstat"));
    // A limit: 507 for the collection and a token to continue from.
    let r = report(&srv, CAL, "0", &sync(&t0, Some(2))).await;
    let t = r.text();
    let listed = responses(&t);
    assert_eq!(listed.len(), 3, "{t}");
    assert!(listed.iter().any(|(h, r)| h == CAL && r.contains("507")));
    let r = report(&srv, CAL, "0", &sync(&token_of(&t), None)).await;
    assert_eq!(names(&r.text(), CAL), ["e5.ics"]);
    // An initial sync cut at the limit continues too, nothing lost.
    let r = report(&srv, CAL, "0", &sync("", Some(2))).await;
    let t = r.text();
    let mut seen: Vec<String> = names(&t, CAL).into_iter().filter(|n| !n.is_empty()).collect();
    let r = report(&srv, CAL, "0", &sync(&token_of(&t), None)).await;
    seen.extend(responses(&r.text()).into_iter().filter(|(_, b)| b.contains("200 OK")).map(|(h, _)| h.trim_start_matches(CAL).to_string()));
    seen.sort();
    seen.dedup();
    assert_eq!(seen, ["e0.ics", "e1.ics", "e3.ics", "e4.ics", "e5.ics"]);
    // Invalid and foreign tokens.
    for bad in ["garbage", "http://almanach.invalid/sync/999999-1", &t0.replace("-", "-9")] {
        let r = report(&srv, CAL, "0", &sync(bad, None)).await;
        assert_eq!(r.status, 403, "{bad}");
        assert!(r.text().contains("valid-sync-token"));
    }
    // A token of a deleted calendar is not valid for its re-creation.
    srv.as_user("DELETE", CAL, "alice").send().await;
    mkcalendar(&srv, CAL).await;
    let r = report(&srv, CAL, "0", &sync(&t0, None)).await;
    assert_eq!(r.status, 403);
}

async fn free_busy_query_merges_periods(srv: TestServer) {
    mkcalendar(&srv, CAL).await;
    put_ics(&srv, &format!("{CAL}a.ics"), &event("a", "DTSTART:20250106T090000Z\r\nDTEND:20250106T100000Z\r\n")).await;
    put_ics(&srv, &format!("{CAL}b.ics"), &event("b", "DTSTART:20250106T093000Z\r\nDTEND:20250106T110000Z\r\n")).await;
    put_ics(&srv, &format!("{CAL}t.ics"), &event("t", "DTSTART:20250106T140000Z\r\nDTEND:20250106T150000Z\r\nSTATUS:TENTATIVE\r\n")).await;
    put_ics(&srv, &format!("{CAL}free.ics"), &event("f", "DTSTART:20250106T160000Z\r\nDTEND:20250106T170000Z\r\nTRANSP:TRANSPARENT\r\n")).await;
    put_ics(&srv, &format!("{CAL}weekly.ics"), &event("w", "DTSTART:20241230T070000Z\r\nDTEND:20241230T080000Z\r\nRRULE:FREQ=WEEKLY\r\n")).await;
    let body = r#"<C:free-busy-query xmlns:C="urn:ietf:params:xml:ns:caldav"><C:time-range start="20250106T000000Z" end="20250107T000000Z"/></C:free-busy-query>"#;
    let r = report(&srv, CAL, "1", body).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.header("content-type").unwrap().starts_with("text/calendar"));
    let t = r.text().replace("\r\n ", "");
    assert!(t.contains("BEGIN:VFREEBUSY"));
    assert!(t.contains("20250106T090000Z/20250106T110000Z"), "merged: {t}");
    assert!(t.contains("FBTYPE=BUSY-TENTATIVE:20250106T140000Z/20250106T150000Z"), "{t}");
    assert!(t.contains("20250106T070000Z/20250106T080000Z"), "recurrence expanded: {t}");
    assert!(!t.contains("20250106T160000Z"), "transparent events are free: {t}");
}

async fn get_on_a_calendar_exports_it(srv: TestServer) {
    appendix_b(&srv).await;
    let r = srv.as_user("GET", BERNARD, "alice").send().await;
    assert_eq!(r.status, 200);
    assert!(r.header("content-type").unwrap().starts_with("text/calendar"));
    let t = r.text();
    assert_eq!(count(&t, "BEGIN:VCALENDAR"), 1);
    assert_eq!(count(&t, "TZID:US/Eastern\r\n"), 1, "one VTIMEZONE per TZID");
    assert_eq!(count(&t, "BEGIN:VEVENT"), 4);
    assert_eq!(count(&t, "BEGIN:VTODO"), 4);
    assert_eq!(count(&t, "BEGIN:VFREEBUSY"), 1);
}

// ------------------------------------------------------------ time

/// Recurrences: infinite rules, EXDATE, an override moved out of and one
/// moved into the range, start-only ranges.
async fn recurrences_in_time_range_queries(srv: TestServer) {
    mkcalendar(&srv, CAL).await;
    put_ics(&srv, &format!("{CAL}daily.ics"), &event("daily", "DTSTART:20200101T080000Z\r\nDURATION:PT1H\r\nRRULE:FREQ=DAILY\r\n")).await;
    let weekly = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:wk\r\nDTSTAMP:20250101T000000Z\r\nDTSTART:20250106T100000Z\r\nDTEND:20250106T110000Z\r\nRRULE:FREQ=WEEKLY;COUNT=10\r\nEXDATE:20250113T100000Z\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:wk\r\nDTSTAMP:20250101T000000Z\r\nRECURRENCE-ID:20250120T100000Z\r\nDTSTART:20250301T100000Z\r\nDTEND:20250301T110000Z\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:wk\r\nDTSTAMP:20250101T000000Z\r\nRECURRENCE-ID:20250127T100000Z\r\nDTSTART:20250401T100000Z\r\nDTEND:20250401T110000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
    assert_eq!(put_ics(&srv, &format!("{CAL}weekly.ics"), weekly).await.status, 201);
    put_ics(&srv, &format!("{CAL}once.ics"), &event("once", "DTSTART:20250115T120000Z\r\nDTEND:20250115T130000Z\r\n")).await;
    let q = |s: &str, e: &str| crate::caldav_reports::time_query("VEVENT", s, e);
    let cases: [(&str, &str, &[&str]); 7] = [
        // The infinite daily rule is found years later.
        ("20301010T000000Z", "20301011T000000Z", &["daily.ics"]),
        // The EXDATE'd instance (the daily event is at 08:00-09:00).
        ("20250113T093000Z", "20250113T103000Z", &[]),
        ("20250106T093000Z", "20250106T103000Z", &["weekly.ics"]),
        // The 20 Jan instance moved to 1 Mar: not on 20 Jan any more...
        ("20250120T093000Z", "20250120T103000Z", &[]),
        // ...but on 1 Mar (the daily event is at 08:00).
        ("20250301T093000Z", "20250301T103000Z", &["weekly.ics"]),
        ("20250401T100000Z", "20250401T100001Z", &["weekly.ics"]),
        ("20250115T125959Z", "20250115T130000Z", &["once.ics"]),
    ];
    for (s, e, expected) in cases {
        let r = crate::caldav::report(&srv, CAL, "1", &q(s, e)).await;
        assert_eq!(names(&r.text(), CAL), expected, "[{s}, {e})");
    }
    // A start-only range, as DAVx5 sends for a sync age limit.
    let r = crate::caldav::report(&srv, CAL, "1", &q("20250301T000000Z", "")).await;
    assert_eq!(names(&r.text(), CAL), ["daily.ics", "weekly.ics"]);
}

/// Time zones: a DST transition in Europe/Paris, a Windows zone name, a
/// custom VTIMEZONE evaluated by its rules, floating times in the
/// calendar's zone, all-day events.
async fn time_zones_in_queries(srv: TestServer) {
    let body = format!(
        r#"<C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop><C:calendar-timezone>{}</C:calendar-timezone></D:prop></D:set></C:mkcalendar>"#,
        "BEGIN:VCALENDAR&#13;\nVERSION:2.0&#13;\nPRODID:x&#13;\nBEGIN:VTIMEZONE&#13;\nTZID:Asia/Tokyo&#13;\nBEGIN:STANDARD&#13;\nDTSTART:19700101T000000&#13;\nTZOFFSETFROM:+0900&#13;\nTZOFFSETTO:+0900&#13;\nEND:STANDARD&#13;\nEND:VTIMEZONE&#13;\nEND:VCALENDAR&#13;\n"
    );
    let r = srv.as_user("MKCALENDAR", CAL, "alice").body(body).send().await;
    assert_eq!(r.status, 201, "{}", r.text());
    let paris = "BEGIN:VTIMEZONE\r\nTZID:Europe/Paris\r\nBEGIN:STANDARD\r\nDTSTART:19701025T030000\r\nRRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nEND:STANDARD\r\nBEGIN:DAYLIGHT\r\nDTSTART:19700329T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nEND:DAYLIGHT\r\nEND:VTIMEZONE\r\n";
    let with_tz = |tz: &str, uid: &str, props: &str| format!("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\n{tz}BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20250101T000000Z\r\n{props}END:VEVENT\r\nEND:VCALENDAR\r\n");
    // 09:00 Paris every day across the March 2025 DST change: 08:00Z, then 07:00Z.
    put_ics(&srv, &format!("{CAL}paris.ics"), &with_tz(paris, "paris", "DTSTART;TZID=Europe/Paris:20250328T090000\r\nDTEND;TZID=Europe/Paris:20250328T093000\r\nRRULE:FREQ=DAILY;COUNT=4\r\n")).await;
    // Windows name (Outlook): "Romance Standard Time" is Paris time.
    let windows = "BEGIN:VTIMEZONE\r\nTZID:Romance Standard Time\r\nBEGIN:STANDARD\r\nDTSTART:16010101T030000\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nRRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10\r\nEND:STANDARD\r\nBEGIN:DAYLIGHT\r\nDTSTART:16010101T020000\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nRRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3\r\nEND:DAYLIGHT\r\nEND:VTIMEZONE\r\n";
    put_ics(&srv, &format!("{CAL}outlook.ics"), &with_tz(windows, "outlook", "DTSTART;TZID=Romance Standard Time:20250701T140000\r\nDTEND;TZID=Romance Standard Time:20250701T150000\r\n")).await;
    // A custom zone no name resolves: UTC+03:30 all year.
    let custom = "BEGIN:VTIMEZONE\r\nTZID:My Own Zone\r\nBEGIN:STANDARD\r\nDTSTART:19700101T000000\r\nTZOFFSETFROM:+0330\r\nTZOFFSETTO:+0330\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n";
    put_ics(&srv, &format!("{CAL}custom.ics"), &with_tz(custom, "custom", "DTSTART;TZID=My Own Zone:20250801T120000\r\nDTEND;TZID=My Own Zone:20250801T130000\r\n")).await;
    // Floating: 10:00 in the calendar's zone (Tokyo, +09:00) = 01:00Z.
    put_ics(&srv, &format!("{CAL}floating.ics"), &event("floating", "DTSTART:20250901T100000\r\nDTEND:20250901T110000\r\n")).await;
    // All-day: the whole of 2025-10-01 in the calendar's zone.
    put_ics(&srv, &format!("{CAL}allday.ics"), &event("allday", "DTSTART;VALUE=DATE:20251001\r\nDTEND;VALUE=DATE:20251002\r\n")).await;
    let q = |s: &str, e: &str| crate::caldav_reports::time_query("VEVENT", s, e);
    let cases: [(&str, &str, &[&str]); 10] = [
        ("20250329T080000Z", "20250329T080100Z", &["paris.ics"]),
        ("20250330T070000Z", "20250330T070100Z", &["paris.ics"]),
        ("20250330T080000Z", "20250330T080100Z", &[]),
        ("20250701T120000Z", "20250701T120100Z", &["outlook.ics"]),
        ("20250701T130000Z", "20250701T130100Z", &[]),
        ("20250801T083000Z", "20250801T083100Z", &["custom.ics"]),
        ("20250801T120000Z", "20250801T120100Z", &[]),
        ("20250901T010000Z", "20250901T010100Z", &["floating.ics"]),
        ("20250901T100000Z", "20250901T100100Z", &[]),
        ("20250930T160000Z", "20250930T160100Z", &["allday.ics"]),
    ];
    for (s, e, expected) in cases {
        let r = crate::caldav::report(&srv, CAL, "1", &q(s, e)).await;
        assert_eq!(names(&r.text(), CAL), expected, "[{s}, {e}): {}", r.text());
    }
}

pub fn time_query(comp: &str, start: &str, end: &str) -> String {
    let end_attr = if end.is_empty() { String::new() } else { format!(" end=\"{end}\"") };
    format!(
        r#"<?xml version="1.0"?><C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/></D:prop><C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="{comp}"><C:time-range start="{start}"{end_attr}/></C:comp-filter></C:comp-filter></C:filter></C:calendar-query>"#
    )
}

async fn query_limits_and_bad_filters(srv: TestServer) {
    appendix_b(&srv).await;
    let limited = r#"<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/></D:prop><C:filter><C:comp-filter name="VCALENDAR"/></C:filter><D:limit><D:nresults>3</D:nresults></D:limit></C:calendar-query>"#;
    let r = report(&srv, BERNARD, "1", limited).await;
    let all = responses(&r.text());
    assert_eq!(all.len(), 4, "{}", r.text());
    assert!(all[3].1.contains("507"));
    let bad_collation = r#"<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:prop-filter name="SUMMARY"><C:text-match collation="i;klingon">x</C:text-match></C:prop-filter></C:comp-filter></C:comp-filter></C:filter></C:calendar-query>"#;
    let r = report(&srv, BERNARD, "1", bad_collation).await;
    assert_eq!(r.status, 403);
    assert!(r.text().contains("supported-collation"));
    let bad_range = r#"<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:time-range start="tomorrow"/></C:comp-filter></C:comp-filter></C:filter></C:calendar-query>"#;
    let r = report(&srv, BERNARD, "1", bad_range).await;
    assert_eq!(r.status, 403);
    assert!(r.text().contains("valid-filter"));
    // Case-insensitive by default; i;octet is exact; negate-condition.
    let text = |collation: &str, negate: &str, value: &str| format!(r#"<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/></D:prop><C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:prop-filter name="SUMMARY"><C:text-match collation="{collation}" negate-condition="{negate}">{value}</C:text-match></C:prop-filter></C:comp-filter></C:comp-filter></C:filter></C:calendar-query>"#);
    let r = report(&srv, BERNARD, "1", &text("i;ascii-casemap", "no", "event #2")).await;
    assert_eq!(names(&r.text(), BERNARD), ["abcd2.ics"]);
    let r = report(&srv, BERNARD, "1", &text("i;octet", "no", "event #2")).await;
    assert!(responses(&r.text()).is_empty());
    let r = report(&srv, BERNARD, "1", &text("i;ascii-casemap", "yes", "event #2")).await;
    assert_eq!(names(&r.text(), BERNARD), ["abcd1.ics", "abcd3.ics"]);
}

/// Listings and object bytes are cached per revision: a change is seen by
/// the very next listing and multiget.
async fn cached_reads_follow_changes(srv: TestServer) {
    mkcalendar(&srv, CAL).await;
    put_ics(&srv, &format!("{CAL}a.ics"), &event("a", "DTSTART:20250101T100000Z\r\nSUMMARY:first\r\n")).await;
    let listing = || srv.as_user("PROPFIND", CAL, "alice").header("depth", "1").body(r#"<D:propfind xmlns:D="DAV:"><D:prop><D:getetag/></D:prop></D:propfind>"#).send();
    let multiget = format!(r#"<C:calendar-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/><C:calendar-data/></D:prop><D:href>{CAL}a.ics</D:href></C:calendar-multiget>"#);
    for round in ["first", "second", "third"] {
        let l = listing().await.text();
        let m = report(&srv, CAL, "1", &multiget).await.text();
        assert!(m.contains(&format!("SUMMARY:{round}")), "{round}: {m}");
        let etag = srv.as_user("GET", &format!("{CAL}a.ics"), "alice").send().await.header("etag").unwrap();
        assert!(l.contains(&etag.replace('"', "&quot;")) || l.contains(&etag), "{round}: listing has the current ETag {etag}: {l}");
        let next = if round == "first" { "second" } else { "third" };
        put_ics(&srv, &format!("{CAL}a.ics"), &event("a", &format!("DTSTART:20250101T100000Z\r\nSUMMARY:{next}\r\n"))).await;
    }
    srv.as_user("DELETE", &format!("{CAL}a.ics"), "alice").send().await;
    assert!(!listing().await.text().contains("a.ics"));
    assert!(report(&srv, CAL, "1", &multiget).await.text().contains("404"));
}

both_stores!(
    cached_reads_follow_changes,
    rfc4791_section_7_8_examples,
    rfc4791_partial_and_expanded_data,
    multiget_reports_missing_hrefs,
    sync_collection_changes_deletions_and_limits,
    free_busy_query_merges_periods,
    get_on_a_calendar_exports_it,
    recurrences_in_time_range_queries,
    time_zones_in_queries,
    query_limits_and_bad_filters,
);
