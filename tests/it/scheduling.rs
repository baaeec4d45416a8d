//! CalDAV scheduling (RFC 6638) over real HTTP on both stores: alice and
//! bob (académie de Lyon) and carol (Créteil) invite each other, answer,
//! decline instances, move and cancel them; schedule tags; busy time; the
//! outbox; and people outside the platform by email (a real SMTP exchange
//! with a test server, answers back by LMTP).

use std::time::Duration;

use crate::both_stores;
use crate::harness::{Resp, TestServer};

pub const ALICE: &str = "mailto:alice@ac-lyon.fr";
pub const BOB: &str = "mailto:bob@ac-lyon.fr";
pub const CAROL: &str = "mailto:carol@ac-creteil.fr";

/// Lines of an iCalendar text, unfolded (RFC 5545 §3.1).
pub fn unfold(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in text.split("\r\n").flat_map(|l| l.split('\n')) {
        if let Some(rest) = line.strip_prefix(' ').or_else(|| line.strip_prefix('\t')) {
            if let Some(last) = out.last_mut() {
                last.push_str(rest);
                continue;
            }
        }
        if !line.is_empty() {
            out.push(line.to_string());
        }
    }
    out
}

/// The ATTENDEE lines naming `address` (case-insensitively), in order.
pub fn attendee_lines(text: &str, address: &str) -> Vec<String> {
    unfold(text)
        .into_iter()
        .filter(|l| l.starts_with("ATTENDEE") && l.to_ascii_lowercase().ends_with(&address.to_ascii_lowercase()))
        .collect()
}

/// The one ATTENDEE line of `address` (in an object with one component).
pub fn attendee(text: &str, address: &str) -> String {
    let lines = attendee_lines(text, address);
    assert_eq!(lines.len(), 1, "one ATTENDEE {address} in {text}");
    lines[0].clone()
}

/// A parameter's value in a property line (`PARTSTAT`, `SCHEDULE-STATUS`).
pub fn param(line: &str, name: &str) -> Option<String> {
    let head = line.split(':').next().unwrap_or("");
    head.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.eq_ignore_ascii_case(name).then(|| v.trim_matches('"').to_string())
    })
}

/// An event alice organizes, with `attendees` (addresses) besides her.
pub fn meeting(uid: &str, attendees: &[&str], extra: &str) -> String {
    let mut lines = String::new();
    for a in attendees {
        let name = a.rsplit(':').next().unwrap_or(a).split('@').next().unwrap_or(a);
        lines.push_str(&format!("ATTENDEE;CN={name};PARTSTAT=NEEDS-ACTION;RSVP=TRUE:{a}\r\n"));
    }
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20260101T000000Z\r\n\
DTSTART:20270115T100000Z\r\nDTEND:20270115T110000Z\r\nSUMMARY:Réunion de rentrée\r\n\
ORGANIZER;CN=Alice:{ALICE}\r\nATTENDEE;CN=Alice;PARTSTAT=ACCEPTED:{ALICE}\r\n{lines}{extra}END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
}

/// A weekly meeting alice organizes (Mondays 10:00 UTC from 2027-01-04),
/// with `attendees`, and `overrides` (whole VEVENTs) after the master.
pub fn weekly(uid: &str, attendees: &[&str], overrides: &str) -> String {
    let mut lines = String::new();
    for a in attendees {
        lines.push_str(&format!("ATTENDEE;PARTSTAT=NEEDS-ACTION:{a}\r\n"));
    }
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20260101T000000Z\r\n\
DTSTART:20270104T100000Z\r\nDTEND:20270104T110000Z\r\nRRULE:FREQ=WEEKLY;COUNT=10\r\nSUMMARY:Point hebdo\r\n\
ORGANIZER:{ALICE}\r\nATTENDEE;PARTSTAT=ACCEPTED:{ALICE}\r\n{lines}END:VEVENT\r\n{overrides}END:VCALENDAR\r\n"
    )
}

pub async fn put_as(srv: &TestServer, user: &str, path: &str, ics: &str) -> Resp {
    srv.as_user("PUT", path, user).header("content-type", "text/calendar; charset=utf-8").body(ics.to_string()).send().await
}

pub async fn get_as(srv: &TestServer, user: &str, path: &str) -> Resp {
    srv.as_user("GET", path, user).send().await
}

/// `user`'s copy of `uid`, which the server creates in the default
/// calendar under the UID's name.
pub fn copy_path(user: &str, uid: &str) -> String {
    format!("/calendars/{user}/default/{uid}.ics")
}

/// The messages in `user`'s inbox (their bytes).
pub async fn inbox(srv: &TestServer, user: &str) -> Vec<(String, String)> {
    let path = format!("/calendars/{user}/inbox/");
    let r = srv.as_user("PROPFIND", &path, user).header("depth", "1").body(r#"<D:propfind xmlns:D="DAV:"><D:prop><D:getetag/></D:prop></D:propfind>"#).send().await;
    assert_eq!(r.status, 207, "{}", r.text());
    let mut out = Vec::new();
    for (href, _) in crate::caldav::responses(&r.text()) {
        if href.ends_with('/') {
            continue;
        }
        let g = get_as(srv, user, &href).await;
        assert_eq!(g.status, 200);
        out.push((href, g.text()));
    }
    out
}

/// The inbox messages of `user` with METHOD `method` about `uid`.
pub async fn inbox_messages(srv: &TestServer, user: &str, method: &str, uid: &str) -> Vec<String> {
    inbox(srv, user)
        .await
        .into_iter()
        .map(|(_, t)| t)
        .filter(|t| unfold(t).iter().any(|l| l == &format!("METHOD:{method}")) && unfold(t).iter().any(|l| l == &format!("UID:{uid}")))
        .collect()
}

/// Wait until `check` holds (work the background worker does), at most 20 s.
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..200 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for: {what}");
}

/// Replace `from` by `to` in the unfolded text of `ics` (a client editing
/// its copy).
pub fn edit(ics: &str, from: &str, to: &str) -> String {
    let lines = unfold(ics);
    let joined = lines.join("\r\n") + "\r\n";
    assert!(joined.contains(from), "{from:?} in {joined}");
    joined.replacen(from, to, 1)
}

// ------------------------------------------------------------ discovery

async fn principals_inboxes_and_outboxes(srv: TestServer) {
    let opts = srv.as_user("OPTIONS", "/calendars/alice/", "alice").send().await;
    assert!(opts.header("dav").unwrap().contains("calendar-auto-schedule"), "{:?}", opts.header("dav"));
    let body = r#"<D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><C:schedule-inbox-URL/><C:schedule-outbox-URL/><C:calendar-user-address-set/><C:calendar-user-type/></D:prop></D:propfind>"#;
    let r = srv.as_user("PROPFIND", "/principals/alice/", "alice").header("depth", "0").body(body).send().await;
    let t = r.text();
    assert!(t.contains("<C:schedule-inbox-URL><D:href>/calendars/alice/inbox/</D:href></C:schedule-inbox-URL>"), "{t}");
    assert!(t.contains("<C:schedule-outbox-URL><D:href>/calendars/alice/outbox/</D:href></C:schedule-outbox-URL>"), "{t}");
    assert!(t.contains("<D:href>mailto:alice@ac-lyon.fr</D:href>") && t.contains("<D:href>/principals/alice/</D:href>"), "{t}");
    assert!(t.contains("<C:calendar-user-type>INDIVIDUAL</C:calendar-user-type>"), "{t}");

    // The inbox and the outbox, with their privileges (RFC 6638 §6).
    let body = r#"<D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:resourcetype/><D:supported-privilege-set/><D:current-user-privilege-set/><C:schedule-default-calendar-URL/></D:prop></D:propfind>"#;
    let r = srv.as_user("PROPFIND", "/calendars/alice/inbox/", "alice").header("depth", "0").body(body).send().await;
    assert_eq!(r.status, 207);
    let t = r.text();
    assert!(t.contains("<C:schedule-inbox/>"), "{t}");
    for p in ["schedule-deliver", "schedule-deliver-invite", "schedule-deliver-reply", "schedule-query-freebusy"] {
        assert!(t.contains(&format!("<C:{p}/>")), "{p} in {t}");
    }
    assert!(t.contains("<D:current-user-privilege-set><D:privilege><D:all/></D:privilege></D:current-user-privilege-set>"), "{t}");
    assert!(t.contains("<C:schedule-default-calendar-URL><D:href>/calendars/alice/default/</D:href></C:schedule-default-calendar-URL>"), "{t}");
    let r = srv.as_user("PROPFIND", "/calendars/alice/outbox/", "alice").header("depth", "0").body(body).send().await;
    let t = r.text();
    assert!(t.contains("<C:schedule-outbox/>"), "{t}");
    for p in ["schedule-send", "schedule-send-invite", "schedule-send-reply", "schedule-send-freebusy"] {
        assert!(t.contains(&format!("<C:{p}/>")), "{p} in {t}");
    }
    // The home lists them.
    let r = srv.as_user("PROPFIND", "/calendars/alice/", "alice").header("depth", "1").body(r#"<D:propfind xmlns:D="DAV:"><D:prop><D:resourcetype/></D:prop></D:propfind>"#).send().await;
    let t = r.text();
    assert!(t.contains("/calendars/alice/inbox/") && t.contains("/calendars/alice/outbox/"), "{t}");
    // Nobody else sees them.
    let r = srv.as_user("PROPFIND", "/calendars/alice/inbox/", "bob").header("depth", "0").send().await;
    assert_eq!(r.status, 404);

    // Made and filled by the server: no PUT, MKCOL, DELETE or MOVE.
    let r = put_as(&srv, "alice", "/calendars/alice/inbox/x.ics", &meeting("x", &[], "")).await;
    assert_eq!(r.status, 403, "{}", r.text());
    let r = srv.as_user("DELETE", "/calendars/alice/inbox/", "alice").send().await;
    assert_eq!(r.status, 403);
    let r = srv.as_user("MOVE", "/calendars/alice/outbox/", "alice").header("destination", "/calendars/alice/out2/").send().await;
    assert_eq!(r.status, 403);
    let r = srv.as_user("POST", "/calendars/alice/inbox/", "alice").header("content-type", "text/calendar").body("x").send().await;
    assert_eq!(r.status, 405);

    // The default calendar is the owner's choice among their calendars.
    let r = srv.as_user("MKCALENDAR", "/calendars/alice/travail/", "alice").send().await;
    assert_eq!(r.status, 201);
    let set = |href: &str| {
        format!(
            r#"<D:propertyupdate xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop><C:schedule-default-calendar-URL><D:href>{href}</D:href></C:schedule-default-calendar-URL></D:prop></D:set></D:propertyupdate>"#
        )
    };
    let r = srv.as_user("PROPPATCH", "/calendars/alice/inbox/", "alice").body(set("/calendars/bob/default/")).send().await;
    assert!(r.text().contains("valid-schedule-default-calendar-URL") && r.text().contains("403"), "{}", r.text());
    let r = srv.as_user("PROPPATCH", "/calendars/alice/inbox/", "alice").body(set("/calendars/alice/travail/")).send().await;
    assert!(r.text().contains("200 OK"), "{}", r.text());
    let r = srv.as_user("PROPFIND", "/calendars/alice/inbox/", "alice").header("depth", "0").body(body).send().await;
    assert!(r.text().contains("<D:href>/calendars/alice/travail/</D:href></C:schedule-default-calendar-URL>"), "{}", r.text());
    // RFC 6638 §4.3: the chosen default cannot be deleted.
    let r = srv.as_user("DELETE", "/calendars/alice/travail/", "alice").send().await;
    assert_eq!(r.status, 403);
    assert!(r.text().contains("default-calendar-needed"), "{}", r.text());

    // Calendars count for busy time unless their owner says otherwise.
    let transp = r#"<D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><C:schedule-calendar-transp/></D:prop></D:propfind>"#;
    let r = srv.as_user("PROPFIND", "/calendars/alice/default/", "alice").header("depth", "0").body(transp).send().await;
    assert!(r.text().contains("<C:schedule-calendar-transp><C:opaque/></C:schedule-calendar-transp>"), "{}", r.text());
    let r = srv
        .as_user("PROPPATCH", "/calendars/alice/default/", "alice")
        .body(r#"<D:propertyupdate xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop><C:schedule-calendar-transp><C:transparent/></C:schedule-calendar-transp></D:prop></D:set></D:propertyupdate>"#)
        .send()
        .await;
    assert!(r.text().contains("200 OK"), "{}", r.text());
    let r = srv.as_user("PROPFIND", "/calendars/alice/default/", "alice").header("depth", "0").body(transp).send().await;
    assert!(r.text().contains("<C:transparent/>"), "{}", r.text());
}

// ------------------------------------------------------------ invitations

async fn invite_accept_and_decline_across_academies(srv: TestServer) {
    let uid = "rentree-1";
    let r = put_as(&srv, "alice", "/calendars/alice/default/rentree.ics", &meeting(uid, &[BOB, CAROL], "")).await;
    assert_eq!(r.status, 201, "{}", r.text());
    // The stored object differs from the body (SCHEDULE-STATUS): no ETag
    // (RFC 6638 §3.2.1.1, RFC 4791 §5.3.4), and a schedule tag.
    assert!(r.header("etag").is_none());
    let tag = r.header("schedule-tag").expect("Schedule-Tag on the PUT");
    let org = get_as(&srv, "alice", "/calendars/alice/default/rentree.ics").await;
    assert_eq!(org.header("schedule-tag").as_deref(), Some(tag.as_str()));
    let t = org.text();
    assert_eq!(param(&attendee(&t, BOB), "SCHEDULE-STATUS").as_deref(), Some("1.2"), "{t}");
    assert_eq!(param(&attendee(&t, CAROL), "SCHEDULE-STATUS").as_deref(), Some("1.2"), "{t}");
    assert_eq!(param(&attendee(&t, ALICE), "SCHEDULE-STATUS"), None, "no message to the organizer herself: {t}");

    // Each attendee has the invitation in their inbox and their calendar,
    // whatever their académie.
    for user in ["bob", "carol"] {
        assert_eq!(inbox_messages(&srv, user, "REQUEST", uid).await.len(), 1, "{user}'s inbox");
        let copy = get_as(&srv, user, &copy_path(user, uid)).await;
        assert_eq!(copy.status, 200, "{user}'s copy");
        assert!(copy.header("schedule-tag").is_some());
        let t = copy.text();
        assert!(!t.contains("METHOD:"), "a stored copy has no METHOD: {t}");
        assert!(t.contains("SUMMARY:Réunion de rentrée"), "{t}");
    }

    // Bob accepts from his client, with the tag he was given.
    let copy = get_as(&srv, "bob", &copy_path("bob", uid)).await;
    let bob_tag = copy.header("schedule-tag").unwrap();
    let accepted = edit(&copy.text(), &attendee(&copy.text(), BOB), &attendee(&copy.text(), BOB).replace("PARTSTAT=NEEDS-ACTION", "PARTSTAT=ACCEPTED"));
    let r = srv
        .as_user("PUT", &copy_path("bob", uid), "bob")
        .header("content-type", "text/calendar")
        .header("if-schedule-tag-match", &bob_tag)
        .body(accepted)
        .send()
        .await;
    assert_eq!(r.status, 204, "{}", r.text());
    // The organizer's copy shows it, with the reply's status; her tag does
    // not move (RFC 6638 §3.2.10: an attendee's reply is inconsequential).
    let org = get_as(&srv, "alice", "/calendars/alice/default/rentree.ics").await;
    let line = attendee(&org.text(), BOB);
    assert_eq!(param(&line, "PARTSTAT").as_deref(), Some("ACCEPTED"), "{line}");
    assert_eq!(param(&line, "SCHEDULE-STATUS").as_deref(), Some("2.0"), "{line}");
    assert_eq!(org.header("schedule-tag").as_deref(), Some(tag.as_str()));
    assert_eq!(inbox_messages(&srv, "alice", "REPLY", uid).await.len(), 1);
    // Bob's own copy records that his reply was delivered.
    let copy = get_as(&srv, "bob", &copy_path("bob", uid)).await;
    let organizer = unfold(&copy.text()).into_iter().find(|l| l.starts_with("ORGANIZER")).unwrap();
    assert_eq!(param(&organizer, "SCHEDULE-STATUS").as_deref(), Some("1.2"), "{organizer}");
    // Carol sees bob's answer in her copy (RFC 6638 §4.2).
    let carols = get_as(&srv, "carol", &copy_path("carol", uid)).await;
    assert_eq!(param(&attendee(&carols.text(), BOB), "PARTSTAT").as_deref(), Some("ACCEPTED"), "{}", carols.text());

    // Carol declines by deleting the invitation.
    let r = srv.as_user("DELETE", &copy_path("carol", uid), "carol").send().await;
    assert_eq!(r.status, 204);
    let org = get_as(&srv, "alice", "/calendars/alice/default/rentree.ics").await;
    assert_eq!(param(&attendee(&org.text(), CAROL), "PARTSTAT").as_deref(), Some("DECLINED"), "{}", org.text());

    // An attendee may not change what is the organizer's (§3.2.2.1).
    let copy = get_as(&srv, "bob", &copy_path("bob", uid)).await;
    let moved = edit(&copy.text(), "SUMMARY:Réunion de rentrée", "SUMMARY:Autre chose");
    let r = put_as(&srv, "bob", &copy_path("bob", uid), &moved).await;
    assert_eq!(r.status, 403);
    assert!(r.text().contains("allowed-attendee-scheduling-object-change"), "{}", r.text());

    // Inbox messages are the client's to remove.
    let (href, _) = inbox(&srv, "bob").await.into_iter().next().unwrap();
    assert_eq!(srv.as_user("DELETE", &href, "bob").send().await.status, 204);

    // The organizer cancels: the copies go, the inboxes say so.
    let r = srv.as_user("DELETE", "/calendars/alice/default/rentree.ics", "alice").send().await;
    assert_eq!(r.status, 204);
    assert_eq!(get_as(&srv, "bob", &copy_path("bob", uid)).await.status, 404);
    assert_eq!(inbox_messages(&srv, "bob", "CANCEL", uid).await.len(), 1);
}

async fn recurring_meeting_instances(srv: TestServer) {
    let uid = "hebdo-1";
    let path = "/calendars/alice/default/hebdo.ics";
    let r = put_as(&srv, "alice", path, &weekly(uid, &[BOB, CAROL], "")).await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(get_as(&srv, "bob", &copy_path("bob", uid)).await.status, 200);

    // Bob declines the third Monday only: an override in his copy, with
    // the series' place and text as clients copy them (the visio links when
    // the server wrote some: ALMANACH_TEST_BBB_URL).
    let copy = get_as(&srv, "bob", &copy_path("bob", uid)).await.text();
    let inherited: String = unfold(&copy)
        .into_iter()
        .filter(|l| ["LOCATION", "DESCRIPTION", "CONFERENCE"].iter().any(|p| l.starts_with(p)))
        .map(|l| l + "\r\n")
        .collect();
    let decline = format!(
        "BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20260102T000000Z\r\nRECURRENCE-ID:20270118T100000Z\r\nDTSTART:20270118T100000Z\r\n\
DTEND:20270118T110000Z\r\nSUMMARY:Point hebdo\r\nORGANIZER:{ALICE}\r\nATTENDEE;PARTSTAT=ACCEPTED:{ALICE}\r\n\
ATTENDEE;PARTSTAT=DECLINED:{BOB}\r\nATTENDEE;PARTSTAT=NEEDS-ACTION:{CAROL}\r\n{inherited}END:VEVENT\r\nEND:VCALENDAR\r\n"
    );
    let with_override = copy.replacen("END:VCALENDAR\r\n", &decline, 1);
    let r = put_as(&srv, "bob", &copy_path("bob", uid), &with_override).await;
    assert_eq!(r.status, 204, "{}", r.text());
    // The organizer's copy has that instance with bob DECLINED, the series
    // unchanged for him.
    let org = get_as(&srv, "alice", path).await.text();
    let bob_lines = attendee_lines(&org, BOB);
    assert_eq!(bob_lines.len(), 2, "{org}");
    assert!(org.contains("RECURRENCE-ID:20270118T100000Z"), "{org}");
    assert!(bob_lines.iter().any(|l| param(l, "PARTSTAT").as_deref() == Some("DECLINED")), "{org}");
    assert!(bob_lines.iter().any(|l| param(l, "PARTSTAT").as_deref() == Some("NEEDS-ACTION")), "{org}");

    // The organizer moves the fifth Monday to the Tuesday: one override,
    // sent to everyone, never a duplicate of the series.
    let org = get_as(&srv, "alice", path).await.text();
    let moved = format!(
        "BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20260103T000000Z\r\nRECURRENCE-ID:20270201T100000Z\r\nDTSTART:20270202T140000Z\r\n\
DTEND:20270202T150000Z\r\nSUMMARY:Point hebdo (déplacé)\r\nORGANIZER:{ALICE}\r\nATTENDEE;PARTSTAT=ACCEPTED:{ALICE}\r\n\
ATTENDEE;PARTSTAT=NEEDS-ACTION:{BOB}\r\nATTENDEE;PARTSTAT=NEEDS-ACTION:{CAROL}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    );
    let r = put_as(&srv, "alice", path, &org.replacen("END:VCALENDAR\r\n", &moved, 1)).await;
    assert_eq!(r.status, 204, "{}", r.text());
    for user in ["bob", "carol"] {
        let copy = get_as(&srv, user, &copy_path(user, uid)).await.text();
        assert!(copy.contains("DTSTART:20270202T140000Z"), "{user}: {copy}");
        assert_eq!(copy.matches("RRULE:").count(), 1, "{user}: one series: {copy}");
    }
    // Bob still declines the third Monday in his copy.
    let bobs = get_as(&srv, "bob", &copy_path("bob", uid)).await.text();
    assert!(bobs.contains("RECURRENCE-ID:20270118T100000Z"), "{bobs}");

    // The organizer removes carol: her copy goes, bob keeps his.
    let org = get_as(&srv, "alice", path).await.text();
    let without_carol: String = unfold(&org)
        .into_iter()
        .filter(|l| !(l.starts_with("ATTENDEE") && l.ends_with(CAROL)))
        .map(|l| l + "\r\n")
        .collect();
    let r = put_as(&srv, "alice", path, &without_carol).await;
    assert_eq!(r.status, 204, "{}", r.text());
    assert_eq!(get_as(&srv, "carol", &copy_path("carol", uid)).await.status, 404);
    assert_eq!(inbox_messages(&srv, "carol", "CANCEL", uid).await.len(), 1);
    assert_eq!(get_as(&srv, "bob", &copy_path("bob", uid)).await.status, 200);

    // The organizer cancels one instance (EXDATE): bob's copy loses it.
    let org = get_as(&srv, "alice", path).await.text();
    let exdated = org.replacen("RRULE:FREQ=WEEKLY;COUNT=10\r\n", "RRULE:FREQ=WEEKLY;COUNT=10\r\nEXDATE:20270111T100000Z\r\n", 1);
    let r = put_as(&srv, "alice", path, &exdated).await;
    assert_eq!(r.status, 204, "{}", r.text());
    let bobs = get_as(&srv, "bob", &copy_path("bob", uid)).await.text();
    assert!(bobs.contains("EXDATE") && bobs.contains("20270111T100000Z"), "{bobs}");
    let cancels = inbox_messages(&srv, "bob", "CANCEL", uid).await;
    assert_eq!(cancels.len(), 1, "one CANCEL of that instance");
    assert!(cancels[0].contains("RECURRENCE-ID:20270111T100000Z"), "{}", cancels[0]);

    // And the whole series.
    assert_eq!(srv.as_user("DELETE", path, "alice").send().await.status, 204);
    assert_eq!(get_as(&srv, "bob", &copy_path("bob", uid)).await.status, 404);
}

async fn schedule_tags_keep_replies(srv: TestServer) {
    let uid = "tags-1";
    let path = "/calendars/alice/default/tags.ics";
    let r = put_as(&srv, "alice", path, &meeting(uid, &[BOB], "")).await;
    let tag = r.header("schedule-tag").unwrap();
    let stale = get_as(&srv, "alice", path).await;
    let etag = stale.header("etag").unwrap();
    // Bob accepts meanwhile.
    let copy = get_as(&srv, "bob", &copy_path("bob", uid)).await.text();
    let line = attendee(&copy, BOB);
    let r = put_as(&srv, "bob", &copy_path("bob", uid), &edit(&copy, &line, &line.replace("PARTSTAT=NEEDS-ACTION", "PARTSTAT=ACCEPTED"))).await;
    assert_eq!(r.status, 204);
    let now = get_as(&srv, "alice", path).await;
    assert_ne!(now.header("etag").unwrap(), etag, "the reply changed the object");
    assert_eq!(now.header("schedule-tag").unwrap(), tag, "but not its schedule tag");
    // The property says the same (RFC 6638 §9.3).
    let r = srv
        .as_user("PROPFIND", path, "alice")
        .header("depth", "0")
        .body(r#"<D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><C:schedule-tag/></D:prop></D:propfind>"#)
        .send()
        .await;
    assert!(r.text().contains(&format!("<C:schedule-tag>{}</C:schedule-tag>", tag.replace('"', "&quot;"))) || r.text().contains(&format!("<C:schedule-tag>{tag}</C:schedule-tag>")), "{}", r.text());

    // Alice's client, with what it read before the reply, changes the
    // location: If-Match fails, If-Schedule-Tag-Match merges.
    let changed = edit(&stale.text(), "SUMMARY:Réunion de rentrée", "SUMMARY:Réunion de rentrée\r\nLOCATION:Salle 12");
    let r = srv.as_user("PUT", path, "alice").header("content-type", "text/calendar").header("if-match", &etag).body(changed.clone()).send().await;
    assert_eq!(r.status, 412);
    let r = srv.as_user("PUT", path, "alice").header("content-type", "text/calendar").header("if-schedule-tag-match", &tag).body(changed.clone()).send().await;
    assert_eq!(r.status, 204, "{}", r.text());
    let new_tag = r.header("schedule-tag").unwrap();
    assert_ne!(new_tag, tag, "a change by request is consequential");
    let stored = get_as(&srv, "alice", path).await.text();
    assert!(stored.contains("LOCATION:Salle 12"), "{stored}");
    assert_eq!(param(&attendee(&stored, BOB), "PARTSTAT").as_deref(), Some("ACCEPTED"), "the reply survived: {stored}");
    // Bob's copy has the new location, his answer kept.
    let bobs = get_as(&srv, "bob", &copy_path("bob", uid)).await.text();
    assert!(bobs.contains("LOCATION:Salle 12"), "{bobs}");
    // A tag that is no longer the current one: 412, nothing changes.
    let r = srv.as_user("PUT", path, "alice").header("content-type", "text/calendar").header("if-schedule-tag-match", &tag).body(changed).send().await;
    assert_eq!(r.status, 412);
    let r = srv.as_user("DELETE", path, "alice").header("if-schedule-tag-match", &tag).send().await;
    assert_eq!(r.status, 412);
    assert_eq!(get_as(&srv, "alice", path).await.status, 200);
}

async fn scheduling_preconditions(srv: TestServer) {
    // Components that disagree on the ORGANIZER (§3.2.4.2).
    let two = weekly(
        "two-org",
        &[BOB],
        &format!(
            "BEGIN:VEVENT\r\nUID:two-org\r\nDTSTAMP:20260101T000000Z\r\nRECURRENCE-ID:20270111T100000Z\r\nDTSTART:20270111T120000Z\r\n\
DTEND:20270111T130000Z\r\nORGANIZER:{BOB}\r\nATTENDEE:{ALICE}\r\nEND:VEVENT\r\n"
        ),
    );
    let r = put_as(&srv, "alice", "/calendars/alice/default/two.ics", &two).await;
    assert_eq!(r.status, 403);
    assert!(r.text().contains("same-organizer-in-all-components"), "{}", r.text());
    // A second scheduling object with a UID alice already has (§3.2.4.1).
    assert_eq!(put_as(&srv, "alice", "/calendars/alice/default/a.ics", &meeting("dup-1", &[BOB], "")).await.status, 201);
    assert_eq!(srv.as_user("MKCALENDAR", "/calendars/alice/other/", "alice").send().await.status, 201);
    let r = put_as(&srv, "alice", "/calendars/alice/other/b.ics", &meeting("dup-1", &[BOB], "")).await;
    assert_eq!(r.status, 403);
    assert!(r.text().contains("unique-scheduling-object-resource") && r.text().contains("/calendars/alice/default/a.ics"), "{}", r.text());
    // Nor by COPY.
    let r = srv.as_user("COPY", "/calendars/alice/default/a.ics", "alice").header("destination", "/calendars/alice/other/c.ics").send().await;
    assert_eq!(r.status, 403);
    // A MOVE keeps the tag and changes nothing for the attendees.
    let tag = get_as(&srv, "alice", "/calendars/alice/default/a.ics").await.header("schedule-tag").unwrap();
    let r = srv.as_user("MOVE", "/calendars/alice/default/a.ics", "alice").header("destination", "/calendars/alice/other/a.ics").send().await;
    assert_eq!(r.status, 201);
    assert_eq!(r.header("schedule-tag").as_deref(), Some(tag.as_str()));
    assert_eq!(get_as(&srv, "bob", &copy_path("bob", "dup-1")).await.status, 200);
    assert!(inbox_messages(&srv, "bob", "CANCEL", "dup-1").await.is_empty());
    // The organizer may not answer for bob (§3.2.1).
    let forged = meeting("forged-1", &[BOB], "").replace(&format!("PARTSTAT=NEEDS-ACTION;RSVP=TRUE:{BOB}"), &format!("PARTSTAT=ACCEPTED:{BOB}"));
    let r = put_as(&srv, "alice", "/calendars/alice/default/forged.ics", &forged).await;
    assert_eq!(r.status, 403);
    assert!(r.text().contains("allowed-organizer-scheduling-object-change"), "{}", r.text());
    // Deleting a calendar cancels its meetings (§3.2.3.2).
    assert_eq!(srv.as_user("DELETE", "/calendars/alice/other/", "alice").send().await.status, 204);
    assert_eq!(get_as(&srv, "bob", &copy_path("bob", "dup-1")).await.status, 404);
    // SCHEDULE-AGENT=CLIENT: the client schedules, the server sends nothing.
    let client = meeting("client-1", &[], &format!("ATTENDEE;SCHEDULE-AGENT=CLIENT:{CAROL}\r\n"));
    let r = put_as(&srv, "alice", "/calendars/alice/default/client.ics", &client).await;
    assert_eq!(r.status, 201);
    assert_eq!(get_as(&srv, "carol", &copy_path("carol", "client-1")).await.status, 404);
    // An address nobody has: 3.7; without a mail relay, outside people 5.1.
    let r = put_as(&srv, "alice", "/calendars/alice/default/ext.ics", &meeting("ext-1", &["mailto:nobody@example.com", "urn:x:nobody"], "")).await;
    assert_eq!(r.status, 201);
    let t = get_as(&srv, "alice", "/calendars/alice/default/ext.ics").await.text();
    assert_eq!(param(&attendee(&t, "mailto:nobody@example.com"), "SCHEDULE-STATUS").as_deref(), Some("5.1"), "{t}");
    assert_eq!(param(&attendee(&t, "urn:x:nobody"), "SCHEDULE-STATUS").as_deref(), Some("3.7"), "{t}");
}

// ------------------------------------------------------------ busy time

pub fn freebusy_request(organizer: &str, attendees: &[&str]) -> String {
    let mut lines = String::new();
    for a in attendees {
        lines.push_str(&format!("ATTENDEE:{a}\r\n"));
    }
    format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nMETHOD:REQUEST\r\nBEGIN:VFREEBUSY\r\nUID:fb-1\r\n\
DTSTAMP:20260101T000000Z\r\nDTSTART:20270301T000000Z\r\nDTEND:20270308T000000Z\r\nORGANIZER:{organizer}\r\n{lines}END:VFREEBUSY\r\nEND:VCALENDAR\r\n"
    )
}

pub async fn post_freebusy(srv: &TestServer, user: &str, body: &str) -> Resp {
    srv.as_user("POST", &format!("/calendars/{user}/outbox/"), user).header("content-type", "text/calendar; charset=utf-8").body(body.to_string()).send().await
}

/// The `C:response` of `recipient` in a schedule-response.
pub fn schedule_answer(body: &str, recipient: &str) -> String {
    body.split("<C:response>")
        .skip(1)
        .map(|r| r.split("</C:response>").next().unwrap_or("").to_string())
        .find(|r| r.contains(&format!("<D:href>{recipient}</D:href>")))
        .unwrap_or_else(|| panic!("no response for {recipient} in {body}"))
}

async fn busy_time_across_academies(srv: TestServer) {
    let ev = |uid: &str, start: &str, end: &str, extra: &str| {
        format!(
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20260101T000000Z\r\n\
DTSTART:{start}\r\nDTEND:{end}\r\nSUMMARY:Secret\r\n{extra}END:VEVENT\r\nEND:VCALENDAR\r\n"
        )
    };
    // Carol (Créteil): busy, tentative, a weekly series, a transparent
    // event, one she declined, and a calendar that does not count.
    for (name, body) in [
        ("busy", ev("c1", "20270301T090000Z", "20270301T100000Z", "")),
        ("tentative", ev("c2", "20270302T090000Z", "20270302T100000Z", "STATUS:TENTATIVE\r\n")),
        ("weekly", ev("c3", "20270225T140000Z", "20270225T150000Z", "RRULE:FREQ=WEEKLY;COUNT=3\r\n")),
        ("free", ev("c4", "20270303T090000Z", "20270303T100000Z", "TRANSP:TRANSPARENT\r\n")),
        (
            "declined",
            ev("c5", "20270304T090000Z", "20270304T100000Z", &format!("ORGANIZER:mailto:boss@example.com\r\nATTENDEE;PARTSTAT=DECLINED:{CAROL}\r\n")),
        ),
    ] {
        let r = put_as(&srv, "carol", &format!("/calendars/carol/default/{name}.ics"), &body).await;
        assert!(r.status == 201, "{name}: {}", r.text());
    }
    assert_eq!(srv.as_user("MKCALENDAR", "/calendars/carol/perso/", "carol").send().await.status, 201);
    let r = srv
        .as_user("PROPPATCH", "/calendars/carol/perso/", "carol")
        .body(r#"<D:propertyupdate xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop><C:schedule-calendar-transp><C:transparent/></C:schedule-calendar-transp></D:prop></D:set></D:propertyupdate>"#)
        .send()
        .await;
    assert!(r.text().contains("200 OK"));
    assert_eq!(put_as(&srv, "carol", "/calendars/carol/perso/p.ics", &ev("c6", "20270305T090000Z", "20270305T100000Z", "")).await.status, 201);

    let r = post_freebusy(&srv, "alice", &freebusy_request(ALICE, &[CAROL, BOB, "mailto:nobody@example.com"])).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.header("content-type").unwrap().starts_with("application/xml"));
    let body = r.text();
    let carol = schedule_answer(&body, CAROL);
    assert!(carol.contains("<C:request-status>2.0;Success</C:request-status>"), "{carol}");
    let data = carol.split("<C:calendar-data>").nth(1).unwrap().split("</C:calendar-data>").next().unwrap().replace("&#13;", "\r");
    let lines = unfold(&data);
    let fb: Vec<&String> = lines.iter().filter(|l| l.starts_with("FREEBUSY")).collect();
    assert!(lines.iter().any(|l| l == "METHOD:REPLY"), "{data}");
    assert!(fb.iter().any(|l| *l == "FREEBUSY;FBTYPE=BUSY:20270301T090000Z/20270301T100000Z"), "{data}");
    assert!(fb.iter().any(|l| *l == "FREEBUSY;FBTYPE=BUSY-TENTATIVE:20270302T090000Z/20270302T100000Z"), "{data}");
    assert!(fb.iter().any(|l| *l == "FREEBUSY;FBTYPE=BUSY:20270304T140000Z/20270304T150000Z"), "the series' instance in range: {data}");
    assert!(!data.contains("20270303T09") && !data.contains("20270304T09") && !data.contains("20270305T09"), "free, declined and the transparent calendar: {data}");
    assert!(!data.contains("Secret"), "busy time, not details: {data}");
    assert!(lines.iter().any(|l| l == &format!("ATTENDEE:{CAROL}")), "{data}");
    assert!(schedule_answer(&body, BOB).contains("2.0;Success"));
    assert!(schedule_answer(&body, "mailto:nobody@example.com").contains("3.7"));

    // The organizer must be the outbox's owner; the body a busy time
    // request.
    let r = post_freebusy(&srv, "alice", &freebusy_request(BOB, &[CAROL])).await;
    assert_eq!(r.status, 403);
    assert!(r.text().contains("valid-organizer"), "{}", r.text());
    let r = post_freebusy(&srv, "alice", "BEGIN:VCALENDAR\r\nnot really").await;
    assert_eq!(r.status, 400);
    let r = post_freebusy(&srv, "alice", &freebusy_request(ALICE, &[CAROL]).replace("METHOD:REQUEST\r\n", "")).await;
    assert_eq!(r.status, 400);
    assert!(r.text().contains("valid-scheduling-message"), "{}", r.text());
    // Only the owner posts to an outbox.
    let r = post_freebusy(&srv, "bob", &freebusy_request(ALICE, &[CAROL])).await;
    assert_eq!(r.status, 403);
    let r = srv.as_user("POST", "/calendars/alice/outbox/", "bob").header("content-type", "text/calendar").body(freebusy_request(BOB, &[CAROL])).send().await;
    assert_eq!(r.status, 404);
}

async fn busy_time_kept_within_an_academie(srv: TestServer) {
    let srv2 = srv.sibling(|c| c.freebusy_private_academies = vec!["creteil".into()]).await;
    let r = post_freebusy(&srv2, "alice", &freebusy_request(ALICE, &[CAROL, BOB])).await;
    assert_eq!(r.status, 200);
    assert!(schedule_answer(&r.text(), CAROL).contains("3.8;No authority"), "{}", r.text());
    assert!(schedule_answer(&r.text(), BOB).contains("2.0;Success"));
}

// ------------------------------------------------------------ the outbox

async fn messages_posted_by_a_client_that_schedules(srv: TestServer) {
    let request = format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\nUID:posted-1\r\n\
DTSTAMP:20260101T000000Z\r\nDTSTART:20270115T100000Z\r\nDTEND:20270115T110000Z\r\nSUMMARY:Posté\r\nORGANIZER:{ALICE}\r\n\
ATTENDEE;PARTSTAT=NEEDS-ACTION:{BOB}\r\nATTENDEE:mailto:nobody@nowhere.example\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    );
    let r = post_freebusy(&srv, "alice", &request).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(schedule_answer(&r.text(), BOB).contains("2.0;Success"), "{}", r.text());
    assert!(schedule_answer(&r.text(), "mailto:nobody@nowhere.example").contains("5.1"), "{}", r.text());
    assert_eq!(inbox_messages(&srv, "bob", "REQUEST", "posted-1").await.len(), 1);
    assert_eq!(get_as(&srv, "bob", &copy_path("bob", "posted-1")).await.status, 200);
    // Not as someone else.
    let r = post_freebusy(&srv, "bob", &request).await;
    assert_eq!(r.status, 403);
    assert!(r.text().contains("valid-organizer"));
}

// ------------------------------------------------------------ what a review found

mod review_findings {
    use super::*;
    use crate::both_stores;

    /// Delivery jobs left in the queue (a delivery that keeps failing).
    async fn deliveries_left(srv: &TestServer) -> i64 {
        srv.store.jobs_pending("itip-deliver").await.unwrap()
    }

    /// Bob removed from the series but kept in one instance: a CANCEL and a
    /// REQUEST to him in one delivery; carol is updated too, nothing is left.
    async fn cancel_then_request_to_one_attendee(srv: TestServer) {
        let uid = "r1";
        let path = "/calendars/alice/default/r1.ics";
        assert_eq!(put_as(&srv, "alice", path, &weekly(uid, &[BOB, CAROL], "")).await.status, 201);
        let over = format!(
            "BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20260103T000000Z\r\nRECURRENCE-ID:20270118T100000Z\r\nDTSTART:20270118T100000Z\r\n\
    DTEND:20270118T110000Z\r\nSUMMARY:Point hebdo v2\r\nORGANIZER:{ALICE}\r\nATTENDEE;PARTSTAT=ACCEPTED:{ALICE}\r\n\
    ATTENDEE;PARTSTAT=NEEDS-ACTION:{BOB}\r\nATTENDEE;PARTSTAT=NEEDS-ACTION:{CAROL}\r\nEND:VEVENT\r\n"
        );
        let v2 = weekly(uid, &[CAROL], &over).replace("SUMMARY:Point hebdo\r\n", "SUMMARY:Point hebdo v2\r\n");
        assert_eq!(put_as(&srv, "alice", path, &v2).await.status, 204);
        assert!(get_as(&srv, "carol", &copy_path("carol", uid)).await.text().contains("Point hebdo v2"));
        let bobs = get_as(&srv, "bob", &copy_path("bob", uid)).await;
        assert_eq!(bobs.status, 200);
        assert!(bobs.text().contains("RECURRENCE-ID:20270118T100000Z") && !bobs.text().contains("RRULE"), "only his instance: {}", bobs.text());
        assert_eq!(deliveries_left(&srv).await, 0);
    }

    /// One person named twice (address and principal URL) gets one copy, and
    /// the others theirs.
    async fn one_attendee_under_two_addresses(srv: TestServer) {
        let uid = "r2";
        assert_eq!(put_as(&srv, "alice", "/calendars/alice/default/r2.ics", &meeting(uid, &[BOB, "/principals/bob/", CAROL], "")).await.status, 201);
        assert_eq!(get_as(&srv, "carol", &copy_path("carol", uid)).await.status, 200);
        assert_eq!(get_as(&srv, "bob", &copy_path("bob", uid)).await.status, 200);
        assert_eq!(inbox_messages(&srv, "bob", "REQUEST", uid).await.len(), 1);
        assert_eq!(deliveries_left(&srv).await, 0);
    }

    /// An invitation never overwrites, nor its cancellation deletes, an event
    /// of the attendee's own that has the same UID.
    async fn own_events_are_not_taken_over(srv: TestServer) {
        let uid = "vacances-2027-zone-a";
        let plain = format!(
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20260101T000000Z\r\n\
    DTSTART;VALUE=DATE:20270220\r\nDTEND;VALUE=DATE:20270308\r\nSUMMARY:Vacances d'hiver\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
        );
        assert_eq!(put_as(&srv, "bob", "/calendars/bob/default/vac.ics", &plain).await.status, 201);
        let evil = format!(
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20260101T000000Z\r\n\
    DTSTART;VALUE=DATE:20270220\r\nDTEND;VALUE=DATE:20270221\r\nSUMMARY:Vacances annulées\r\nORGANIZER:{CAROL}\r\nATTENDEE:{BOB}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
        );
        assert_eq!(put_as(&srv, "carol", "/calendars/carol/default/evil.ics", &evil).await.status, 201);
        assert_eq!(get_as(&srv, "bob", "/calendars/bob/default/vac.ics").await.text(), plain);
        assert_eq!(srv.as_user("DELETE", "/calendars/carol/default/evil.ics", "carol").send().await.status, 204);
        assert_eq!(get_as(&srv, "bob", "/calendars/bob/default/vac.ics").await.text(), plain);
        assert_eq!(deliveries_left(&srv).await, 0);
    }

    /// A REQUEST delivered late, after its organizer deleted the event, does
    /// not bring the meeting back.
    async fn a_late_request_does_not_resurrect(srv: TestServer) {
        let uid = "r5";
        let path = "/calendars/alice/default/r5.ics";
        assert_eq!(put_as(&srv, "alice", path, &meeting(uid, &[BOB], "")).await.status, 201);
        let request = inbox_messages(&srv, "bob", "REQUEST", uid).await.pop().unwrap();
        assert_eq!(srv.as_user("DELETE", path, "alice").send().await.status, 204);
        assert_eq!(get_as(&srv, "bob", &copy_path("bob", uid)).await.status, 404);
        let bob = srv.store.principal_by_username("bob").await.unwrap().unwrap();
        let delivery = almanach::scheduling::deliver::Delivery {
            originator: ALICE.into(),
            messages: vec![almanach::scheduling::deliver::LocalMessage { recipient: bob.id, address: BOB.into(), method: "REQUEST".into(), message: request }],
            from_object: true,
        };
        let job = almanach::store::NewJob { topic: "itip-deliver".into(), payload: serde_json::to_vec(&delivery).unwrap(), not_before: 0 };
        let written = srv.store.apply_batch(almanach::store::WriteBatch { writes: vec![], complete_jobs: vec![], enqueue: vec![job] }).await.unwrap();
        srv.state.jobs.run_now(&srv.state, &written.jobs).await;
        assert_eq!(get_as(&srv, "bob", &copy_path("bob", uid)).await.status, 404);
    }

    /// An event with an ORGANIZER and no one to invite is stored as sent, and
    /// the PUT gives its ETag.
    async fn organizer_alone_is_stored_as_sent(srv: TestServer) {
        let body = "BEGIN:VCALENDAR\r\nPRODID:-//Mozilla.org/NONSGML Mozilla Calendar V1.1//EN\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\n\
    DTSTAMP:20260101T000000Z\r\nUID:r6\r\nSUMMARY:Seul\r\nORGANIZER;CN=Alice:mailto:alice@ac-lyon.fr\r\nDTSTART:20270115T100000Z\r\n\
    DTEND:20270115T110000Z\r\nDESCRIPTION:Une longue description qui dépasse largement soixante-quinze octets pour être pliée\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
        let r = put_as(&srv, "alice", "/calendars/alice/default/r6.ics", body).await;
        assert_eq!(r.status, 201);
        assert!(r.header("etag").is_some());
        assert_eq!(get_as(&srv, "alice", "/calendars/alice/default/r6.ics").await.text(), body);
    }

    /// A folded ORGANIZER line is an ORGANIZER (RFC 5545 §3.1).
    async fn folded_organizer_schedules(srv: TestServer) {
        let ics = meeting("r7", &[BOB], "").replace("ORGANIZER;CN=Alice:", "ORGANI\r\n ZER;CN=Alice:");
        let r = put_as(&srv, "alice", "/calendars/alice/default/r7.ics", &ics).await;
        assert_eq!(r.status, 201);
        assert!(r.header("schedule-tag").is_some());
        assert_eq!(get_as(&srv, "bob", &copy_path("bob", "r7")).await.status, 200);
    }

    /// Invitations that would repeat a large object for thousands of people
    /// are refused before they are built.
    async fn invitation_volume_is_bounded(srv: TestServer) {
        let attendees: Vec<String> = (0..1900).map(|i| format!("mailto:prenom.nom{i}@example.com")).collect();
        let refs: Vec<&str> = attendees.iter().map(String::as_str).collect();
        let ics = meeting("r8", &refs, &format!("DESCRIPTION:{}\r\n", "x".repeat(20_000)));
        let r = put_as(&srv, "alice", "/calendars/alice/default/r8.ics", &ics).await;
        assert_eq!(r.status, 403);
        assert!(r.text().contains("max-resource-size"), "{}", r.text());
        assert_eq!(get_as(&srv, "alice", "/calendars/alice/default/r8.ics").await.status, 404);
    }

    /// The organizer's client saving what it read before an answer keeps the
    /// answer.
    async fn a_stale_organizer_copy_keeps_answers(srv: TestServer) {
        let uid = "r9";
        let path = "/calendars/alice/default/r9.ics";
        put_as(&srv, "alice", path, &meeting(uid, &[BOB], "")).await;
        let stale = get_as(&srv, "alice", path).await.text();
        let copy = get_as(&srv, "bob", &copy_path("bob", uid)).await.text();
        let line = attendee(&copy, BOB);
        assert_eq!(put_as(&srv, "bob", &copy_path("bob", uid), &edit(&copy, &line, &line.replace("PARTSTAT=NEEDS-ACTION", "PARTSTAT=ACCEPTED"))).await.status, 204);
        let r = put_as(&srv, "alice", path, &edit(&stale, "SUMMARY:Réunion de rentrée", "SUMMARY:Réunion de rentrée\r\nLOCATION:Salle 3")).await;
        assert_eq!(r.status, 204);
        let org = get_as(&srv, "alice", path).await.text();
        assert_eq!(param(&attendee(&org, BOB), "PARTSTAT").as_deref(), Some("ACCEPTED"), "{org}");
        let bobs = get_as(&srv, "bob", &copy_path("bob", uid)).await.text();
        assert!(bobs.contains("LOCATION:Salle 3") && param(&attendee(&bobs, BOB), "PARTSTAT").as_deref() == Some("ACCEPTED"), "{bobs}");
    }

    /// An attendee who put something else under their copy's name blocks
    /// nobody: the next update gets a fresh name.
    async fn a_taken_name_blocks_nobody(srv: TestServer) {
        let uid = "r10";
        let path = "/calendars/alice/default/r10.ics";
        put_as(&srv, "alice", path, &meeting(uid, &[BOB, CAROL], "")).await;
        let r = srv.as_user("DELETE", &copy_path("bob", uid), "bob").header("schedule-reply", "F").send().await;
        assert_eq!(r.status, 204);
        let other = meeting("other-uid", &[], "").replace(&format!("ORGANIZER;CN=Alice:{ALICE}\r\nATTENDEE;CN=Alice;PARTSTAT=ACCEPTED:{ALICE}\r\n"), "");
        assert_eq!(put_as(&srv, "bob", &copy_path("bob", uid), &other).await.status, 201);
        let org = get_as(&srv, "alice", path).await.text();
        assert_eq!(put_as(&srv, "alice", path, &edit(&org, "SUMMARY:Réunion de rentrée", "SUMMARY:Réunion déplacée")).await.status, 204);
        assert!(get_as(&srv, "carol", &copy_path("carol", uid)).await.text().contains("Réunion déplacée"));
        assert_eq!(inbox_messages(&srv, "bob", "REQUEST", uid).await.len(), 2, "bob got the update too");
        assert_eq!(get_as(&srv, "bob", &copy_path("bob", uid)).await.text(), other);
        assert_eq!(deliveries_left(&srv).await, 0);
    }

    /// A cancellation reaches an attendee whose account is full; a new
    /// invitation does not fill it further.
    async fn a_full_account_still_gets_cancellations(srv: TestServer) {
        let srv = srv.sibling(|c| c.default_quota_bytes = 4_000).await;
        let uid = "full-1";
        let path = "/calendars/alice/default/full.ics";
        assert_eq!(put_as(&srv, "alice", path, &meeting(uid, &[BOB], "")).await.status, 201);
        assert_eq!(get_as(&srv, "bob", &copy_path("bob", uid)).await.status, 200);
        // Bob fills his account.
        let filler = meeting("filler", &[], &format!("DESCRIPTION:{}\r\n", "x".repeat(1_500)))
            .replace(&format!("ORGANIZER;CN=Alice:{ALICE}\r\nATTENDEE;CN=Alice;PARTSTAT=ACCEPTED:{ALICE}\r\n"), "");
        let mut n = 0;
        while put_as(&srv, "bob", &format!("/calendars/bob/default/f{n}.ics"), &filler.replace("UID:filler", &format!("UID:filler-{n}"))).await.status == 201 {
            n += 1;
            assert!(n < 10);
        }
        let small = filler.replace(&"x".repeat(1_500), "x");
        while put_as(&srv, "bob", &format!("/calendars/bob/default/f{n}.ics"), &small.replace("UID:filler", &format!("UID:filler-{n}"))).await.status == 201 {
            n += 1;
            assert!(n < 40);
        }
        // A new invitation does not fit: nothing is written for him.
        assert_eq!(put_as(&srv, "alice", "/calendars/alice/default/full2.ics", &meeting("full-2", &[BOB], "")).await.status, 201);
        assert_eq!(get_as(&srv, "bob", &copy_path("bob", "full-2")).await.status, 404);
        // The cancellation of the first one reaches him.
        assert_eq!(srv.as_user("DELETE", path, "alice").send().await.status, 204);
        assert_eq!(get_as(&srv, "bob", &copy_path("bob", uid)).await.status, 404);
        assert_eq!(inbox_messages(&srv, "bob", "CANCEL", uid).await.len(), 1);
    }

    /// A weekly meeting with its overrides is within the bound: attendees
    /// are counted once, not once per component.
    async fn a_recurring_meeting_with_overrides_is_not_refused(srv: TestServer) {
        let attendees: Vec<String> = (0..40).map(|i| format!("mailto:p{i}@example.com")).collect();
        let refs: Vec<&str> = attendees.iter().map(String::as_str).collect();
        let mut overrides = String::new();
        let lines: String = refs.iter().map(|a| format!("ATTENDEE;PARTSTAT=NEEDS-ACTION:{a}\r\n")).collect();
        for week in 0..25 {
            let day = chrono::NaiveDate::from_ymd_opt(2027, 1, 4).unwrap() + chrono::Duration::weeks(week);
            let d = day.format("%Y%m%d");
            overrides.push_str(&format!(
                "BEGIN:VEVENT\r\nUID:ov-1\r\nDTSTAMP:20260101T000000Z\r\nRECURRENCE-ID:{d}T100000Z\r\nDTSTART:{d}T110000Z\r\nDTEND:{d}T120000Z\r\nSUMMARY:Point {week}\r\nDESCRIPTION:{}\r\nORGANIZER:{ALICE}\r\nATTENDEE;PARTSTAT=ACCEPTED:{ALICE}\r\n{lines}END:VEVENT\r\n",
                "y".repeat(1_000)
            ));
        }
        let body = weekly("ov-1", &refs, &overrides).replace("COUNT=10", "COUNT=30");
        assert!(body.len() > 60_000);
        let r = put_as(&srv, "alice", "/calendars/alice/default/ov.ics", &body).await;
        assert_eq!(r.status, 201, "{}", r.text());
    }

    both_stores!(
        a_full_account_still_gets_cancellations,
        a_recurring_meeting_with_overrides_is_not_refused,
        cancel_then_request_to_one_attendee,
        one_attendee_under_two_addresses,
        own_events_are_not_taken_over,
        a_late_request_does_not_resurrect,
        organizer_alone_is_stored_as_sent,
        folded_organizer_schedules,
        invitation_volume_is_bounded,
        a_stale_organizer_copy_keeps_answers,
        a_taken_name_blocks_nobody,
    );
}

both_stores!(
    principals_inboxes_and_outboxes,
    invite_accept_and_decline_across_academies,
    recurring_meeting_instances,
    schedule_tags_keep_replies,
    scheduling_preconditions,
    busy_time_across_academies,
    busy_time_kept_within_an_academie,
    messages_posted_by_a_client_that_schedules,
);

// ------------------------------------------------------------ email (iMIP)

pub mod email {
    use std::sync::Arc;
    use std::time::Duration;

    use almanach::imip::lmtp::{serve as lmtp_serve, LmtpLimits};
    use almanach::scheduling::mail::IncomingMail;

    use super::*;
    use crate::imip::lmtp::Client;
    use crate::imip::smtp_server::{Behaviour, SmtpServer};

    const REPLY_DOMAIN: &str = "agenda.example.fr";
    const EXT: &str = "mailto:ext@example.com";

    /// A server process with a mail relay (the test SMTP server) and an
    /// LMTP listener, on `srv`'s database; the LMTP address.
    async fn mail_server(srv: &TestServer, smtp: &SmtpServer) -> (TestServer, std::net::SocketAddr) {
        let url = smtp.url();
        let with_mail = srv
            .sibling(move |c| {
                c.smtp_url = Some(almanach::imip::transport::SmtpUrl::parse(&url).unwrap());
                c.imip_from = Some(almanach::imip::compose::Mailbox::new(Some("Almanach"), "agenda@agenda.example.fr").unwrap());
                c.imip_reply_domain = Some(REPLY_DOMAIN.into());
                c.job_poll = Duration::from_millis(100);
                c.job_retry_base = Duration::from_millis(200);
            })
            .await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let handler = Arc::new(IncomingMail { state: with_mail.state.clone() });
        tokio::spawn(lmtp_serve(listener, handler, LmtpLimits::default(), std::future::pending()));
        (with_mail, addr)
    }

    /// One LMTP transaction: the reply code for RCPT, then for the data
    /// (None when RCPT was refused).
    pub async fn lmtp(addr: std::net::SocketAddr, from: &str, rcpt: &str, message: &str) -> (u16, Option<u16>) {
        let mut c = Client::ready(addr).await;
        assert_eq!(c.cmd(&format!("MAIL FROM:<{from}>")).await.code, 250);
        let rcpt_code = c.cmd(&format!("RCPT TO:<{rcpt}>")).await.code;
        if rcpt_code != 250 {
            return (rcpt_code, None);
        }
        assert_eq!(c.cmd("DATA").await.code, 354);
        c.data(message.as_bytes()).await;
        let done = c.reply().await.expect("a reply to the data").code;
        (rcpt_code, Some(done))
    }

    pub fn email(from: &str, to: &str, method: &str, calendar: &str) -> String {
        format!(
            "From: {from}\r\nTo: {to}\r\nSubject: =?utf-8?q?R=C3=A9ponse?=\r\nMessage-ID: <{}@example.com>\r\nMIME-Version: 1.0\r\n\
Content-Type: text/calendar; method={method}; charset=UTF-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{calendar}",
            uuid::Uuid::new_v4()
        )
    }

    pub fn reply(uid: &str, organizer: &str, attendee: &str, partstat: &str) -> String {
        format!(
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Outlook//EN\r\nMETHOD:REPLY\r\nBEGIN:VEVENT\r\nUID:{uid}\r\n\
DTSTAMP:20260105T000000Z\r\nDTSTART:20270115T100000Z\r\nDTEND:20270115T110000Z\r\nSEQUENCE:0\r\nORGANIZER:{organizer}\r\n\
ATTENDEE;PARTSTAT={partstat}:{attendee}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
        )
    }

    /// The reply address an invitation names (its Reply-To).
    pub fn reply_address(message: &str) -> String {
        let header = message.lines().find(|l| l.to_ascii_lowercase().starts_with("reply-to:")).expect("a Reply-To");
        let start = header.find("reply+").expect("a reply address");
        header[start..].trim_end_matches(['>', '\r', ' ']).to_string()
    }

    async fn status_of(srv: &TestServer, path: &str, address: &str) -> Option<String> {
        param(&attendee(&get_as(srv, "alice", path).await.text(), address), "SCHEDULE-STATUS")
    }

    async fn outside_attendees_by_email(srv: TestServer) {
        let smtp = SmtpServer::start().await;
        let (srv2, lmtp_addr) = mail_server(&srv, &smtp).await;
        let uid = "ext-meeting-1";
        let path = "/calendars/alice/default/ext.ics";
        let r = put_as(&srv2, "alice", path, &meeting(uid, &[BOB, EXT], "LOCATION:Rectorat\r\n")).await;
        assert_eq!(r.status, 201, "{}", r.text());
        // Sent by the worker: pending (1.0), then sent (1.1).
        eventually("the invitation is sent", || async { smtp.received().len() == 1 }).await;
        eventually("its status says so", || async { status_of(&srv2, path, EXT).await.as_deref() == Some("1.1") }).await;
        assert_eq!(status_of(&srv2, path, BOB).await.as_deref(), Some("1.2"));
        let sent = smtp.received().remove(0);
        assert_eq!(sent.rcpt_to, vec!["ext@example.com".to_string()]);
        let text = String::from_utf8_lossy(&sent.data).to_string();
        assert!(text.contains("method=REQUEST"), "{text}");
        assert!(text.contains("From: \"alice lyon via Almanach\" <agenda@agenda.example.fr>") || text.contains("agenda@agenda.example.fr"), "{text}");
        let reply_to = reply_address(&text);
        assert!(reply_to.ends_with(&format!("@{REPLY_DOMAIN}")), "{reply_to}");

        // The attendee accepts from their mail client; the MTA hands the
        // answer over by LMTP.
        let answer = email("ext@example.com", &reply_to, "REPLY", &reply(uid, &format!("mailto:{reply_to}"), EXT, "ACCEPTED"));
        assert_eq!(lmtp(lmtp_addr, "ext@example.com", &reply_to, &answer).await, (250, Some(250)));
        let t = get_as(&srv2, "alice", path).await.text();
        let line = attendee(&t, EXT);
        assert_eq!(param(&line, "PARTSTAT").as_deref(), Some("ACCEPTED"), "{t}");
        assert!(unfold(&t).iter().any(|l| l.starts_with("ORGANIZER") && l.ends_with(ALICE)), "the organizer is still alice: {t}");
        assert_eq!(inbox_messages(&srv2, "alice", "REPLY", uid).await.len(), 1);

        // Forged answers change nothing: from someone else, about another
        // event, at an address never given.
        let before = get_as(&srv2, "alice", path).await.header("etag");
        let forged = email("mallory@example.com", &reply_to, "REPLY", &reply(uid, &format!("mailto:{reply_to}"), "mailto:mallory@example.com", "DECLINED"));
        assert_eq!(lmtp(lmtp_addr, "mallory@example.com", &reply_to, &forged).await, (250, Some(550)));
        let other = email("ext@example.com", &reply_to, "REPLY", &reply("another-uid", &format!("mailto:{reply_to}"), EXT, "DECLINED"));
        assert_eq!(lmtp(lmtp_addr, "ext@example.com", &reply_to, &other).await, (250, Some(550)));
        let guessed = format!("reply+aaaaaaaaaaaaaaaaaaaaaaaaaa@{REPLY_DOMAIN}");
        assert_eq!(lmtp(lmtp_addr, "ext@example.com", &guessed, &answer).await.0, 550);
        assert_eq!(get_as(&srv2, "alice", path).await.header("etag"), before);

        // An outside organizer invites bob; bob's answer goes back by email.
        let invite = format!(
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Google//EN\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\nUID:outside-1\r\n\
DTSTAMP:20260105T000000Z\r\nDTSTART:20270120T100000Z\r\nDTEND:20270120T110000Z\r\nSUMMARY:Partenaires\r\n\
ORGANIZER;CN=Boss:mailto:boss@example.com\r\nATTENDEE;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:{BOB}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
        );
        let mail = email("boss@example.com", "bob@ac-lyon.fr", "REQUEST", &invite);
        assert_eq!(lmtp(lmtp_addr, "boss@example.com", "bob@ac-lyon.fr", &mail).await, (250, Some(250)));
        let copy = get_as(&srv2, "bob", &copy_path("bob", "outside-1")).await;
        assert_eq!(copy.status, 200);
        assert_eq!(inbox_messages(&srv2, "bob", "REQUEST", "outside-1").await.len(), 1);
        let line = attendee(&copy.text(), BOB);
        let r = put_as(&srv2, "bob", &copy_path("bob", "outside-1"), &edit(&copy.text(), &line, &line.replace("PARTSTAT=NEEDS-ACTION", "PARTSTAT=ACCEPTED"))).await;
        assert_eq!(r.status, 204, "{}", r.text());
        eventually("bob's answer is emailed", || async { smtp.received().len() == 2 }).await;
        let answer = smtp.received().remove(1);
        assert_eq!(answer.rcpt_to, vec!["boss@example.com".to_string()]);
        assert!(String::from_utf8_lossy(&answer.data).contains("method=REPLY"));
        // An invitation whose From is not its ORGANIZER changes nothing.
        let other = email("mallory@example.com", "bob@ac-lyon.fr", "CANCEL", &invite.replace("METHOD:REQUEST", "METHOD:CANCEL").replace("SEQUENCE", "X-S"));
        assert_eq!(lmtp(lmtp_addr, "mallory@example.com", "bob@ac-lyon.fr", &other).await, (250, Some(550)));
        assert_eq!(get_as(&srv2, "bob", &copy_path("bob", "outside-1")).await.status, 200);
        // A message claiming a platform account as organizer is forged.
        let spoof = email("alice@ac-lyon.fr", "bob@ac-lyon.fr", "REQUEST", &invite.replace("mailto:boss@example.com", ALICE).replace("outside-1", "spoof-1"));
        assert_eq!(lmtp(lmtp_addr, "alice@ac-lyon.fr", "bob@ac-lyon.fr", &spoof).await, (250, Some(550)));
        assert_eq!(get_as(&srv2, "bob", &copy_path("bob", "spoof-1")).await.status, 404);
        // Nobody here by that name.
        assert_eq!(lmtp(lmtp_addr, "boss@example.com", "nobody@ac-lyon.fr", &mail).await.0, 550);
    }

    async fn mail_server_down_then_back_across_a_restart(srv: TestServer) {
        let smtp = SmtpServer::start().await;
        smtp.stop().await;
        let (mut srv2, _) = mail_server(&srv, &smtp).await;
        let path = "/calendars/alice/default/down.ics";
        let r = put_as(&srv2, "alice", path, &meeting("down-1", &["mailto:ext2@example.com"], "")).await;
        assert_eq!(r.status, 201);
        assert_eq!(status_of(&srv2, path, "mailto:ext2@example.com").await.as_deref(), Some("1.0"));
        // Tried and deferred (the relay refuses connections), kept in the
        // queue, still pending.
        tokio::time::sleep(Duration::from_millis(800)).await;
        assert_eq!(srv.store.jobs_pending("imip-send").await.unwrap(), 1);
        assert_eq!(status_of(&srv2, path, "mailto:ext2@example.com").await.as_deref(), Some("1.0"));
        // The process stops; the relay comes back; a new process sends it.
        srv2.signal_shutdown().await.unwrap();
        smtp.restart().await;
        let (srv3, _) = mail_server(&srv, &smtp).await;
        eventually("sent after the restart", || async { smtp.received().len() == 1 }).await;
        eventually("recorded as sent", || async { status_of(&srv3, path, "mailto:ext2@example.com").await.as_deref() == Some("1.1") }).await;
        assert_eq!(srv.store.jobs_pending("imip-send").await.unwrap(), 0);
        // A relay that refuses the address for good: 5.2, not retried.
        smtp.set(Behaviour { rcpt: Some((550, "5.1.1 No such user")), ..Behaviour::default() });
        let path = "/calendars/alice/default/refused.ics";
        assert_eq!(put_as(&srv3, "alice", path, &meeting("refused-1", &["mailto:gone@example.com"], "")).await.status, 201);
        eventually("refused for good", || async { status_of(&srv3, path, "mailto:gone@example.com").await.as_deref() == Some("5.2") }).await;
        assert_eq!(srv.store.jobs_pending("imip-send").await.unwrap(), 0);
    }

    crate::both_stores!(outside_attendees_by_email, mail_server_down_then_back_across_a_restart);
}
