//! Visio rooms in invitations over real HTTP on both stores, against a
//! BigBlueButton stand-in speaking the real API ([`bbb_standin`]): the
//! links in every copy and email, the join page and its flow up to a
//! signed `join`, one room per event across changes, cancellation, a BBB
//! server that is down, hostile event text, policies, and a real headless
//! browser ([`crate::browser`]) joining as an attendee.

mod bbb_standin;

use crate::browser;

use std::time::Duration;

use almanach::config::SecretString;
use almanach::store::{PolicyScope, VisioPolicy};

use crate::db::Backend;
use crate::harness::{spawn_with, Resp, TestServer};
use crate::scheduling::{attendee, copy_path, edit, eventually, get_as, inbox_messages, meeting, put_as, unfold, weekly, BOB, CAROL};
use bbb_standin::{BbbStandIn, SECRET};

/// A server whose visio rooms are on `bbb` (None: a BBB server that is
/// down, at an address where nothing listens).
async fn server(backend: Backend, bbb: Option<&BbbStandIn>) -> TestServer {
    server_with(backend, bbb, |_| {}).await
}

/// [`server`], with more configuration.
async fn server_with(backend: Backend, bbb: Option<&BbbStandIn>, more: impl FnOnce(&mut almanach::config::Config)) -> TestServer {
    let url = match bbb {
        Some(b) => b.url(),
        None => {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let url = format!("http://{}/bigbluebutton/", l.local_addr().unwrap());
            drop(l);
            url
        }
    };
    spawn_with(backend, move |c| {
        c.bbb_url = Some(url);
        c.bbb_secret = Some(SecretString::new(SECRET));
        c.bbb_timeout = Duration::from_secs(2);
        c.job_poll = Duration::from_millis(100);
        c.job_retry_base = Duration::from_millis(200);
        more(c);
    })
    .await
}

/// Every join link (`BASE/visio/` + 32 hex digits) in a text, unfolded.
fn links(srv: &TestServer, text: &str) -> Vec<String> {
    let prefix = format!("{}/visio/", srv.base);
    let joined = unfold(text).join("\n");
    let mut out: Vec<String> = joined
        .match_indices(&prefix)
        .filter_map(|(i, _)| {
            let token = joined.get(i + prefix.len()..i + prefix.len() + 32)?;
            token.chars().all(|c| c.is_ascii_hexdigit()).then(|| format!("{prefix}{token}"))
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The one link of a copy, checked to be in CONFERENCE (RFC 7986 §5.11,
/// with its parameters), LOCATION and DESCRIPTION.
fn the_link(srv: &TestServer, text: &str) -> String {
    let found = links(srv, text);
    assert_eq!(found.len(), 1, "one link in {text}");
    let link = found[0].clone();
    let lines = unfold(text);
    let conference = lines.iter().find(|l| l.starts_with("CONFERENCE")).unwrap_or_else(|| panic!("a CONFERENCE in {text}"));
    for part in ["VALUE=URI", "FEATURE=AUDIO,VIDEO", "LABEL="] {
        assert!(conference.contains(part), "{conference}");
    }
    assert!(conference.ends_with(&format!(":{link}")), "{conference}");
    assert!(lines.iter().any(|l| l == &format!("LOCATION:{link}")), "LOCATION in {text}");
    assert!(lines.iter().any(|l| l.starts_with("DESCRIPTION:") && l.contains(&link)), "DESCRIPTION in {text}");
    link
}

/// The path of a link on the test server.
fn path_of(srv: &TestServer, link: &str) -> String {
    link.strip_prefix(&srv.base).unwrap().to_string()
}

/// A join page opened: its anti-forgery cookie and form token.
struct Opened {
    page: Resp,
    cookie: String,
    csrf: String,
}

async fn open(srv: &TestServer, link: &str) -> Opened {
    let page = srv.req("GET", &path_of(srv, link), None).send().await;
    assert_eq!(page.status, 200, "{}", page.text());
    let set = page.header("set-cookie").expect("a cookie");
    assert!(set.contains("HttpOnly") && set.contains("SameSite=Strict") && set.contains("Path=/visio/"), "{set}");
    let cookie = set.split(';').next().unwrap().to_string();
    let text = page.text();
    let at = text.find("name=\"csrf\" value=\"").expect("a form token") + "name=\"csrf\" value=\"".len();
    let csrf = text[at..at + 32].to_string();
    assert_eq!(cookie.split_once('=').unwrap().1, csrf);
    Opened { page, cookie, csrf }
}

async fn post_join(srv: &TestServer, link: &str, o: &Opened, name: &str) -> Resp {
    let body = url::form_urlencoded::Serializer::new(String::new()).append_pair("csrf", &o.csrf).append_pair("name", name).finish();
    srv.req("POST", &path_of(srv, link), None)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("cookie", &o.cookie)
        .header("origin", &srv.base)
        .header("sec-fetch-site", "same-origin")
        .body(body)
        .send()
        .await
}

/// The query parameters of a URL.
fn params(url: &str) -> std::collections::HashMap<String, String> {
    let q = url.split_once('?').map(|(_, q)| q).unwrap_or("");
    url::form_urlencoded::parse(q.as_bytes()).into_owned().collect()
}

/// A 303 to the stand-in's `join`, with a checksum BBB accepts; its
/// parameters.
fn signed_join(bbb: &BbbStandIn, r: &Resp) -> std::collections::HashMap<String, String> {
    assert_eq!(r.status, 303, "{}", r.text());
    let location = r.header("location").unwrap();
    assert!(location.starts_with(&bbb.join_prefix()), "{location}");
    let raw = location.split_once('?').unwrap().1;
    assert!(bbb_standin::verify("join", raw), "the join URL verifies: {location}");
    assert_eq!(raw.rsplit_once("&checksum=").unwrap().1.len(), 64, "SHA-256 by default");
    params(&location)
}

const EXT: &str = "mailto:ext@example.com";

/// alice invites bob, carol (another académie) and an outside address:
/// every copy and the email carry the attendee link, only alice's copy the
/// moderator link; the PUT answers without ETag (the server changed the
/// object) and alice's stored copy is what she fetches.
async fn invitation_carries_the_links(backend: Backend) {
    let bbb = BbbStandIn::start().await;
    let srv = server(backend, Some(&bbb)).await;
    let smtp = crate::imip::smtp_server::SmtpServer::start().await;
    let url = smtp.url();
    let bbb_url = bbb.url();
    let base = srv.base.clone();
    let mail = srv
        .sibling(move |c| {
            // Every process of one platform has one public base URL.
            c.base_url = base;
            c.smtp_url = Some(almanach::imip::transport::SmtpUrl::parse(&url).unwrap());
            c.imip_from = Some(almanach::imip::compose::Mailbox::new(Some("Almanach"), "agenda@agenda.example.fr").unwrap());
            c.imip_reply_domain = Some("agenda.example.fr".into());
            c.bbb_url = Some(bbb_url);
            c.bbb_secret = Some(SecretString::new(SECRET));
            c.job_poll = Duration::from_millis(100);
        })
        .await;
    // Saved through the process with a mail relay (the one that decides
    // to email the outside attendee).
    let path = "/calendars/alice/default/visio-1.ics";
    let r = put_as(&mail, "alice", path, &meeting("visio-1", &[BOB, CAROL, EXT], "")).await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert!(r.header("etag").is_none(), "the server changed the object: no ETag (RFC 4791 §5.3.4)");
    let organizer = get_as(&srv, "alice", path).await.text();
    let moderator = the_link(&srv, &organizer);
    for user in ["bob", "carol"] {
        let copy = get_as(&srv, user, &copy_path(user, "visio-1")).await;
        assert_eq!(copy.status, 200);
        let attendee_link = the_link(&srv, &copy.text());
        assert_ne!(attendee_link, moderator, "{user} gets the attendee link");
        let inbox = inbox_messages(&srv, user, "REQUEST", "visio-1").await;
        assert_eq!(inbox.len(), 1);
        assert_eq!(links(&srv, &inbox[0]), vec![attendee_link.clone()], "the inbox message too");
    }
    let attendee_link = links(&srv, &get_as(&srv, "bob", &copy_path("bob", "visio-1")).await.text()).remove(0);
    // The email to the outside attendee: the attendee link only.
    eventually("the invitation is emailed", || async { !smtp.received().is_empty() }).await;
    let sent = String::from_utf8_lossy(&smtp.received()[0].data).to_string();
    let sent_links = links(&srv, &sent.replace("=\r\n", ""));
    assert!(sent_links.contains(&attendee_link), "{sent}");
    assert!(!sent.contains(&moderator[moderator.len() - 32..]), "no moderator token in the email");

    // Both links open a page about the meeting; a token that is not a
    // room's is a 404, and nothing was created on BBB yet.
    for link in [&attendee_link, &moderator] {
        let o = open(&srv, link).await;
        assert!(o.page.text().contains("Réunion de rentrée"), "{}", o.page.text());
        assert!(o.page.text().contains("alice lyon"), "the organizer's name");
        assert!(o.page.text().contains("vendredi 15 janvier 2027 à 10 h 00 (UTC)"), "{}", o.page.text());
        let csp = o.page.header("content-security-policy").unwrap();
        assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"), "{csp}");
        assert_eq!(o.page.header("referrer-policy").as_deref(), Some("same-origin"));
        assert!(o.page.header("content-type").unwrap().starts_with("text/html"));
    }
    let unknown = srv.req("GET", &format!("/visio/{}", "0".repeat(32)), None).send().await;
    assert_eq!(unknown.status, 404);
    assert!(unknown.text().contains("Ce lien de visio n&#39;existe pas"), "{}", unknown.text());
    assert_eq!(srv.req("GET", "/visio/not-a-token", None).send().await.status, 404);
    assert!(bbb.calls().is_empty(), "rooms are created on BBB at join, never on save: {:?}", bbb.calls());
    drop(mail);
}

/// The join flow: an attendee before the moderator waits (the page polls
/// isMeetingRunning); the moderator's POST creates the meeting (fixed ID
/// and passwords, no recording) and is sent to a signed join as
/// MODERATOR; then the attendee joins as VIEWER, the create repeated
/// idempotently. Cross-site posts are refused.
async fn join_flow(backend: Backend) {
    let bbb = BbbStandIn::start().await;
    let srv = server(backend, Some(&bbb)).await;
    let path = "/calendars/alice/default/join.ics";
    assert_eq!(put_as(&srv, "alice", path, &meeting("join-1", &[BOB], "")).await.status, 201);
    let moderator = the_link(&srv, &get_as(&srv, "alice", path).await.text());
    let attendee_link = the_link(&srv, &get_as(&srv, "bob", &copy_path("bob", "join-1")).await.text());

    // Forged posts: no cookie, another site, another origin.
    let o = open(&srv, &attendee_link).await;
    let forms = [
        ("", "same-origin", srv.base.clone()),
        (o.cookie.as_str(), "cross-site", srv.base.clone()),
        (o.cookie.as_str(), "same-origin", "https://evil.example".to_string()),
    ];
    for (cookie, site, origin) in forms {
        let body = format!("csrf={}&name=Mallory", o.csrf);
        let mut req = srv.req("POST", &path_of(&srv, &attendee_link), None).header("content-type", "application/x-www-form-urlencoded");
        if !cookie.is_empty() {
            req = req.header("cookie", cookie);
        }
        let r = req.header("sec-fetch-site", site).header("origin", &origin).body(body).send().await;
        assert_eq!(r.status, 403, "{cookie:?} {site} {origin}: {}", r.text());
    }
    assert!(bbb.calls().is_empty());
    // No name: the form again.
    let r = post_join(&srv, &attendee_link, &o, "   ").await;
    assert_eq!(r.status, 400);
    assert!(r.text().contains("Indiquez votre nom"));

    // Before the moderator: the waiting page, with its poll.
    let waiting = post_join(&srv, &attendee_link, &o, "Bob <b>").await;
    assert_eq!(waiting.status, 200, "{}", waiting.text());
    assert!(waiting.text().contains("pas encore commencé"), "{}", waiting.text());
    assert!(waiting.text().contains("Bob &lt;b&gt;"), "the name kept, escaped");
    let csp = waiting.header("content-security-policy").unwrap();
    let nonce = csp.split("script-src 'nonce-").nth(1).unwrap().split('\'').next().unwrap();
    assert!(waiting.text().contains(&format!("<script nonce=\"{nonce}\">")), "the only script carries the nonce");
    let status = srv.req("GET", &format!("{}/status", path_of(&srv, &attendee_link)), None).send().await;
    assert_eq!((status.status, status.text()), (200, "{\"running\":false}".to_string()));
    let meetings = bbb.meetings();
    assert_eq!(meetings.len(), 1, "created by the first join");
    let (meeting_id, m) = meetings.into_iter().next().unwrap();
    assert_eq!((m.record.as_str(), m.allow_start_stop_recording.as_str()), ("false", "false"), "no recording unless asked");
    assert!(m.participants.is_empty());
    let create = bbb.calls().into_iter().find(|(c, _, _)| c == "create").unwrap().1;
    assert!(!create.contains("voiceBridge=") && !create.contains("dialNumber="), "no dial-in configured: {create}");
    assert!(!waiting.text().contains("téléphone") && !waiting.text().contains("Enregistrement"), "{}", waiting.text());

    // The moderator starts it.
    let om = open(&srv, &moderator).await;
    let r = post_join(&srv, &moderator, &om, "Alice Martin").await;
    let join = signed_join(&bbb, &r);
    assert_eq!((join["role"].as_str(), join["fullName"].as_str(), join["meetingID"].as_str()), ("MODERATOR", "Alice Martin", meeting_id.as_str()));
    let landed = reqwest::get(r.header("location").unwrap()).await.unwrap();
    assert_eq!(landed.status(), 200);
    assert!(landed.text().await.unwrap().contains("Alice Martin joined as MODERATOR"));
    let status = srv.req("GET", &format!("{}/status", path_of(&srv, &attendee_link)), None).send().await;
    assert_eq!(status.text(), "{\"running\":true}");

    // Now the attendee goes straight in, as VIEWER.
    let r = post_join(&srv, &attendee_link, &o, "Bob Durand").await;
    let join = signed_join(&bbb, &r);
    assert_eq!((join["role"].as_str(), join["meetingID"].as_str()), ("VIEWER", meeting_id.as_str()));
    let creates: Vec<_> = bbb.calls().into_iter().filter(|(c, _, _)| c == "create").map(|(_, _, outcome)| outcome).collect();
    assert_eq!(creates, vec!["SUCCESS", "duplicateWarning", "duplicateWarning"], "one meeting, created idempotently");
    assert!(bbb.calls().iter().all(|(_, _, outcome)| outcome != "checksumError"));

    // The meeting ends when everybody left; the next join creates it again
    // with the same ID and passwords.
    bbb.leave_all(&meeting_id);
    let r = post_join(&srv, &moderator, &om, "Alice Martin").await;
    assert_eq!(signed_join(&bbb, &r)["meetingID"], meeting_id);
    assert_eq!(bbb.meetings()[&meeting_id].moderator_pw, m.moderator_pw);
}

/// One room per event across every change: a reschedule, a new attendee,
/// a client that drops the links, one instance of a series moved.
async fn one_room_across_changes(backend: Backend) {
    let bbb = BbbStandIn::start().await;
    let srv = server(backend, Some(&bbb)).await;
    let path = "/calendars/alice/default/keep.ics";
    assert_eq!(put_as(&srv, "alice", path, &meeting("keep-1", &[BOB], "")).await.status, 201);
    let stored = get_as(&srv, "alice", path).await.text();
    let moderator = the_link(&srv, &stored);
    let attendee_link = the_link(&srv, &get_as(&srv, "bob", &copy_path("bob", "keep-1")).await.text());

    // Reschedule from the stored copy (links kept as the client got them).
    let moved = edit(&stored, "DTSTART:20270115T100000Z", "DTSTART:20270116T100000Z").replace("DTEND:20270115T110000Z", "DTEND:20270116T110000Z");
    let r = put_as(&srv, "alice", path, &moved).await;
    assert_eq!(r.status, 204, "{}", r.text());
    assert_eq!(the_link(&srv, &get_as(&srv, "alice", path).await.text()), moderator);
    let bob = get_as(&srv, "bob", &copy_path("bob", "keep-1")).await.text();
    assert!(bob.contains("DTSTART:20270116T100000Z"));
    assert_eq!(the_link(&srv, &bob), attendee_link);
    // A client that lost the links, and a new attendee: the same room.
    let r = put_as(&srv, "alice", path, &meeting("keep-1", &[BOB, CAROL], "")).await;
    assert_eq!(r.status, 204, "{}", r.text());
    assert_eq!(the_link(&srv, &get_as(&srv, "alice", path).await.text()), moderator);
    assert_eq!(the_link(&srv, &get_as(&srv, "carol", &copy_path("carol", "keep-1")).await.text()), attendee_link);

    // A series with one instance moved: every component has the series' link.
    let series = "/calendars/alice/default/series.ics";
    assert_eq!(put_as(&srv, "alice", series, &weekly("series-1", &[BOB], "")).await.status, 201);
    let link = the_link(&srv, &get_as(&srv, "alice", series).await.text());
    let over = "BEGIN:VEVENT\r\nUID:series-1\r\nDTSTAMP:20260101T000000Z\r\nRECURRENCE-ID:20270111T100000Z\r\n\
DTSTART:20270111T140000Z\r\nDTEND:20270111T150000Z\r\nSUMMARY:Point hebdo\r\nORGANIZER:mailto:alice@ac-lyon.fr\r\n\
ATTENDEE;PARTSTAT=ACCEPTED:mailto:alice@ac-lyon.fr\r\nATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:bob@ac-lyon.fr\r\nEND:VEVENT\r\n";
    let r = put_as(&srv, "alice", series, &weekly("series-1", &[BOB], over)).await;
    assert_eq!(r.status, 204, "{}", r.text());
    let text = get_as(&srv, "alice", series).await.text();
    assert_eq!(links(&srv, &text), vec![link.clone()]);
    assert_eq!(unfold(&text).iter().filter(|l| l.starts_with("CONFERENCE")).count(), 2, "master and override: {text}");
    assert_eq!(links(&srv, &get_as(&srv, "bob", &copy_path("bob", "series-1")).await.text()).len(), 1);

    // A process without a BBB server (bbb_url removed) still never sends
    // the moderator link to attendees.
    let base = srv.base.clone();
    let plain = srv
        .sibling(move |c| {
            c.base_url = base;
            c.bbb_url = None;
            c.bbb_secret = None;
        })
        .await;
    let stored = get_as(&plain, "alice", path).await.text();
    let moved = edit(&stored, "DTSTART:20270115T100000Z", "DTSTART:20270117T100000Z").replace("DTEND:20270115T110000Z", "DTEND:20270117T110000Z");
    let r = put_as(&plain, "alice", path, &moved).await;
    assert_eq!(r.status, 204, "{}", r.text());
    let bob = get_as(&plain, "bob", &copy_path("bob", "keep-1")).await.text();
    assert!(bob.contains("DTSTART:20270117T100000Z"), "{bob}");
    assert_eq!(links(&srv, &bob), vec![attendee_link.clone()], "{bob}");
    assert_eq!(links(&srv, &get_as(&plain, "alice", path).await.text()), vec![moderator.clone()]);
}

/// DELETE of the meeting closes its room: both links say it was
/// cancelled; a meeting running on BBB is ended by the worker.
async fn cancel_closes_the_room(backend: Backend) {
    let bbb = BbbStandIn::start().await;
    let srv = server(backend, Some(&bbb)).await;
    let path = "/calendars/alice/default/cancel.ics";
    assert_eq!(put_as(&srv, "alice", path, &meeting("cancel-1", &[BOB], "")).await.status, 201);
    let moderator = the_link(&srv, &get_as(&srv, "alice", path).await.text());
    let om = open(&srv, &moderator).await;
    let r = post_join(&srv, &moderator, &om, "Alice").await;
    reqwest::get(r.header("location").unwrap()).await.unwrap();
    assert_eq!(bbb.meetings().len(), 1);
    let attendee_link = the_link(&srv, &get_as(&srv, "bob", &copy_path("bob", "cancel-1")).await.text());

    assert_eq!(srv.as_user("DELETE", path, "alice").send().await.status, 204);
    for link in [&attendee_link, &moderator] {
        let r = srv.req("GET", &path_of(&srv, link), None).send().await;
        assert_eq!(r.status, 410, "{}", r.text());
        assert!(r.text().contains("Cette réunion a été annulée"), "{}", r.text());
    }
    let r = post_join(&srv, &moderator, &om, "Alice").await;
    assert_eq!(r.status, 410);
    let cancel = inbox_messages(&srv, "bob", "CANCEL", "cancel-1").await;
    assert_eq!(cancel.len(), 1);
    assert!(!cancel[0].contains(&moderator), "the cancellation carries no moderator link");
    eventually("the running meeting is ended", || async { bbb.meetings().is_empty() }).await;
    assert!(bbb.calls().iter().any(|(c, _, o)| c == "end" && o == "SUCCESS"));
}

/// An organizer's client that cancels the whole event (STATUS:CANCELLED,
/// RFC 5545 §3.8.1.11) instead of deleting it closes the room too.
async fn cancelled_by_status(backend: Backend) {
    let bbb = BbbStandIn::start().await;
    let srv = server(backend, Some(&bbb)).await;
    let path = "/calendars/alice/default/status.ics";
    assert_eq!(put_as(&srv, "alice", path, &meeting("status-1", &[BOB], "")).await.status, 201);
    let stored = get_as(&srv, "alice", path).await.text();
    let moderator = the_link(&srv, &stored);
    let r = put_as(&srv, "alice", path, &edit(&stored, "SUMMARY:Réunion de rentrée", "SUMMARY:Réunion de rentrée\r\nSTATUS:CANCELLED")).await;
    assert_eq!(r.status, 204, "{}", r.text());
    assert_eq!(srv.req("GET", &path_of(&srv, &moderator), None).send().await.status, 410);
    // Bob is told (a CANCEL), without the moderator link.
    let cancel = inbox_messages(&srv, "bob", "CANCEL", "status-1").await;
    assert_eq!(cancel.len(), 1);
    assert!(!cancel[0].contains(&moderator), "{}", cancel[0]);
}

/// The API client against the stand-in over real HTTP: every checksum
/// algorithm verifies; create is idempotent for the room's passwords and
/// `idNotUnique` for others; a wrong secret is `checksumError`; no meeting
/// is `notFound` for getMeetingInfo and end.
#[tokio::test]
async fn bbb_client_against_the_stand_in() {
    use almanach::visio::bbb::{BbbClient, BbbError, ChecksumAlgorithm, CreateMeeting, MessageKey};
    let bbb = BbbStandIn::start().await;
    let meeting = |pw: &'static str| CreateMeeting {
        meeting_id: "m-1",
        name: "Conseil & co <b>",
        attendee_pw: "ap",
        moderator_pw: pw,
        record: false,
        voice_bridge: None,
        dial_number: None,
        welcome: None,
        logout_url: None,
    };
    for algorithm in [ChecksumAlgorithm::Sha1, ChecksumAlgorithm::Sha256, ChecksumAlgorithm::Sha384, ChecksumAlgorithm::Sha512] {
        let c = BbbClient::new(&bbb.url(), SecretString::new(SECRET), algorithm, Duration::from_secs(2));
        c.create(&meeting("mp")).await.unwrap();
        assert!(!c.is_meeting_running("m-1").await.unwrap());
    }
    let c = BbbClient::new(&bbb.url(), SecretString::new(SECRET), ChecksumAlgorithm::Sha256, Duration::from_secs(2));
    assert_eq!(bbb.meetings()["m-1"].name, "Conseil & co <b>");
    match c.create(&meeting("other")).await {
        Err(BbbError::Failed { key: MessageKey::IdNotUnique, .. }) => {}
        other => panic!("idNotUnique expected: {other:?}"),
    }
    let info = c.meeting_info("m-1").await.unwrap().unwrap();
    assert_eq!((info.running, info.participants, info.moderators), (false, 0, 0));
    let landed = reqwest::get(c.join_url("m-1", "Anne", almanach::visio::bbb::JoinRole::Moderator, "mp")).await.unwrap();
    assert!(landed.text().await.unwrap().contains("Anne joined as MODERATOR"));
    let info = c.meeting_info("m-1").await.unwrap().unwrap();
    assert_eq!((info.running, info.participants, info.moderators), (true, 1, 1));
    assert!(c.end("m-1", "mp").await.unwrap());
    assert!(!c.end("m-1", "mp").await.unwrap(), "nothing left to end");
    assert_eq!(c.meeting_info("m-1").await.unwrap(), None);
    let wrong = BbbClient::new(&bbb.url(), SecretString::new("not-the-secret"), ChecksumAlgorithm::Sha256, Duration::from_secs(2));
    match wrong.is_meeting_running("m-1").await {
        Err(BbbError::Failed { key: MessageKey::ChecksumError, .. }) => {}
        other => panic!("checksumError expected: {other:?}"),
    }
    // Nothing listening: unreachable, quickly.
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let down = format!("http://{}/bigbluebutton/", l.local_addr().unwrap());
    drop(l);
    let c = BbbClient::new(&down, SecretString::new(SECRET), ChecksumAlgorithm::Sha256, Duration::from_secs(2));
    assert!(matches!(c.is_meeting_running("m-1").await, Err(BbbError::Unreachable(_))));
}

/// A BBB server that is down never fails a save; its join pages say the
/// service is unavailable.
async fn bbb_down(backend: Backend) {
    let srv = server(backend, None).await;
    let path = "/calendars/alice/default/down.ics";
    let r = put_as(&srv, "alice", path, &meeting("down-1", &[BOB], "")).await;
    assert_eq!(r.status, 201, "{}", r.text());
    let moderator = the_link(&srv, &get_as(&srv, "alice", path).await.text());
    let o = open(&srv, &moderator).await;
    let r = post_join(&srv, &moderator, &o, "Alice").await;
    assert_eq!(r.status, 503, "{}", r.text());
    assert!(r.text().contains("Le service de visio est indisponible"), "{}", r.text());
    // Deleting the meeting still works (ending the BBB meeting is retried
    // by the worker).
    assert_eq!(srv.as_user("DELETE", path, "alice").send().await.status, 204);
    assert_eq!(srv.req("GET", &path_of(&srv, &moderator), None).send().await.status, 410);
}

/// Event text is shown, never run: a SUMMARY of markup is escaped on the
/// page (and the browser test checks it is not executed).
async fn hostile_summary(backend: Backend) {
    let bbb = BbbStandIn::start().await;
    let srv = server(backend, Some(&bbb)).await;
    let hostile = "<script>window.pwned=1</script><img src=x onerror=\"window.pwned=2\">";
    let ics = meeting("hostile-1", &[BOB], "").replace("SUMMARY:Réunion de rentrée", &format!("SUMMARY:{hostile}"));
    assert_eq!(put_as(&srv, "alice", "/calendars/alice/default/h.ics", &ics).await.status, 201);
    let link = the_link(&srv, &get_as(&srv, "bob", &copy_path("bob", "hostile-1")).await.text());
    let page = open(&srv, &link).await.page.text();
    assert!(!page.contains("<script>window") && !page.contains("<img"), "{page}");
    assert!(page.contains("&lt;script&gt;window.pwned=1&lt;/script&gt;&lt;img src=x onerror=&quot;window.pwned=2&quot;&gt;"), "{page}");
}

/// Policies: `off` and `keyword` per account or académie; an event with
/// another service's link, or without another attendee, is left alone; a
/// CHAIR attendee gets the moderator link.
async fn policies_and_chairs(backend: Backend) {
    let bbb = BbbStandIn::start().await;
    let srv = server(backend, Some(&bbb)).await;
    let alice = srv.store.principal_by_username("alice").await.unwrap().unwrap();
    let put = |name: &'static str, ics: String| {
        let srv = &srv;
        async move {
            let path = format!("/calendars/alice/default/{name}.ics");
            let r = put_as(srv, "alice", &path, &ics).await;
            assert!(r.status == 201 || r.status == 204, "{}", r.text());
            get_as(srv, "alice", &path).await.text()
        }
    };
    // Alone: no room.
    let alone = put("alone", meeting("alone-1", &[], "")).await;
    assert!(links(&srv, &alone).is_empty(), "{alone}");
    // Another service's link: left alone.
    let zoom = put("zoom", meeting("zoom-1", &[BOB], "LOCATION:https://us02web.zoom.us/j/123\r\n")).await;
    assert!(links(&srv, &zoom).is_empty() && !zoom.contains("CONFERENCE"), "{zoom}");

    // The académie says keyword: only when LOCATION or SUMMARY has it,
    // which becomes the link.
    srv.store.set_visio_policy(&PolicyScope::Academie("lyon".into()), Some(VisioPolicy::Keyword)).await.unwrap();
    let plain = put("kw0", meeting("kw-0", &[BOB], "")).await;
    assert!(links(&srv, &plain).is_empty(), "{plain}");
    let asked = put("kw1", meeting("kw-1", &[BOB], "LOCATION:Visio\r\n")).await;
    let link = the_link(&srv, &asked);
    assert!(unfold(&asked).contains(&format!("LOCATION:{link}")));
    // The account says off.
    srv.store.set_visio_policy(&PolicyScope::Account(alice.id), Some(VisioPolicy::Off)).await.unwrap();
    let off = put("off", meeting("off-1", &[BOB], "LOCATION:visio\r\n")).await;
    assert!(links(&srv, &off).is_empty(), "{off}");
    srv.store.set_visio_policy(&PolicyScope::Account(alice.id), Some(VisioPolicy::Auto)).await.unwrap();

    // A CHAIR attendee gets the moderator link; others the attendee link.
    let ics = meeting("chair-1", &[BOB, CAROL], "").replace("ATTENDEE;CN=carol;", "ATTENDEE;ROLE=CHAIR;CN=carol;");
    let organizer = put("chair", ics).await;
    let moderator = the_link(&srv, &organizer);
    let carol = get_as(&srv, "carol", &copy_path("carol", "chair-1")).await.text();
    assert!(attendee(&carol, CAROL).contains("ROLE=CHAIR"));
    assert_eq!(the_link(&srv, &carol), moderator);
    assert_ne!(the_link(&srv, &get_as(&srv, "bob", &copy_path("bob", "chair-1")).await.text()), moderator);
}

/// A real browser (Debian's Chromium, headless) opens the attendee link,
/// types a name, submits, and lands on the stand-in's join URL with a
/// valid checksum and role VIEWER; the hostile SUMMARY never ran.
async fn headless_browser_joins(backend: Backend) {
    let bbb = BbbStandIn::start().await;
    let srv = server(backend, Some(&bbb)).await;
    let hostile = "<script>window.pwned=1</script><img src=x onerror=\"window.pwned=2\">";
    let path = "/calendars/alice/default/browser.ics";
    let ics = meeting("browser-1", &[BOB], "").replace("SUMMARY:Réunion de rentrée", &format!("SUMMARY:{hostile}"));
    assert_eq!(put_as(&srv, "alice", path, &ics).await.status, 201);
    let moderator = the_link(&srv, &get_as(&srv, "alice", path).await.text());
    let attendee_link = the_link(&srv, &get_as(&srv, "bob", &copy_path("bob", "browser-1")).await.text());
    // The moderator is in (so the attendee goes straight through).
    let om = open(&srv, &moderator).await;
    let r = post_join(&srv, &moderator, &om, "Alice").await;
    reqwest::get(r.header("location").unwrap()).await.unwrap();

    let prefix = bbb.join_prefix();
    let link = attendee_link.clone();
    let (landed, title, pwned, joined) = tokio::task::spawn_blocking(move || {
        let mut b = browser::Browser::launch();
        b.navigate(&link);
        let title = b.eval("document.getElementById('title').textContent");
        let pwned = b.eval("typeof window.pwned");
        b.type_into("#name", "Élise Martin");
        b.click("button[type=submit]");
        b.wait_for("the join URL", |b| b.eval("location.href").as_str().is_some_and(|h| h.starts_with(&prefix)));
        b.wait_for("the joined page", |b| b.eval("document.readyState") == serde_json::json!("complete"));
        let landed = b.eval("location.href").as_str().unwrap().to_string();
        let joined = b.eval("document.getElementById('joined') && document.getElementById('joined').textContent");
        (landed, title, pwned, joined)
    })
    .await
    .unwrap();
    assert_eq!(title.as_str(), Some(hostile), "the SUMMARY shown as text");
    assert_eq!(pwned.as_str(), Some("undefined"), "the SUMMARY never ran");
    let raw = landed.split_once('?').unwrap().1;
    assert!(bbb_standin::verify("join", raw), "{landed}");
    let p = params(&landed);
    assert_eq!((p["role"].as_str(), p["fullName"].as_str()), ("VIEWER", "Élise Martin"));
    assert_eq!(joined.as_str(), Some("Élise Martin joined as VIEWER"));
    let meeting = bbb.meetings().into_values().next().unwrap();
    assert!(meeting.participants.iter().any(|x| x.name == "Élise Martin" && x.role == "VIEWER"));
}

/// `almanach visio policy …`: académie and account policies, what applies
/// and from where, and clear errors.
async fn policy_command(backend: Backend) {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let db = crate::db::fresh_db(backend).await;
    let run = |args: &[&str], stdin: Option<&str>| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_almanach"))
            .args(["--database", &db.url])
            .args(args)
            .env_remove("ALMANACH_CONFIG")
            .env_remove("ALMANACH_VISIO_POLICY")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        if let Some(input) = stdin {
            child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
        }
        drop(child.stdin.take());
        let o = child.wait_with_output().unwrap();
        (o.status.code(), String::from_utf8_lossy(&o.stdout).into_owned(), String::from_utf8_lossy(&o.stderr).into_owned())
    };
    assert_eq!(run(&["academie", "add", "lyon", "--name", "Académie de Lyon"], None).0, Some(0));
    let (code, _, err) = run(&["user", "add", "jdupont", "--password-stdin", "--academie", "lyon"], Some("pw\n"));
    assert_eq!(code, Some(0), "{err}");
    type Run<'a> = dyn Fn(&[&str], Option<&str>) -> (Option<i32>, String, String) + 'a;
    let show = |run: &Run| run(&["visio", "policy", "show", "--user", "jdupont"], None).1;
    assert_eq!(show(&run), "jdupont\tauto\t(server default)\n");
    let (code, out, err) = run(&["visio", "policy", "set", "keyword", "--academie", "lyon"], None);
    assert_eq!((code, out.as_str()), (Some(0), "visio policy of académie lyon: keyword\n"), "{err}");
    assert_eq!(show(&run), "jdupont\tkeyword\t(académie lyon)\n");
    assert_eq!(run(&["visio", "policy", "set", "off", "--user", "jdupont"], None).0, Some(0));
    assert_eq!(show(&run), "jdupont\toff\t(account)\n");
    assert_eq!(run(&["visio", "policy", "set", "default", "--user", "jdupont"], None).0, Some(0));
    assert_eq!(show(&run), "jdupont\tkeyword\t(académie lyon)\n");
    assert_eq!(run(&["visio", "policy", "show"], None).1, "server default\tauto\nlyon\tkeyword\n");
    // Errors: one line, non-zero exit.
    let (code, _, err) = run(&["visio", "policy", "set", "always", "--user", "jdupont"], None);
    assert!(code == Some(1) && err.contains("invalid visio_policy"), "{err}");
    let (code, _, err) = run(&["visio", "policy", "set", "off", "--academie", "nowhere"], None);
    assert!(code == Some(1) && err.contains("no such académie: nowhere"), "{err}");
    let (code, _, err) = run(&["visio", "policy", "set", "off", "--user", "nobody"], None);
    assert!(code == Some(1) && err.contains("no such user"), "{err}");
    assert_eq!(run(&["visio", "policy", "set", "off"], None).0, Some(2), "a scope is required");
}

/// An attendee's answer is forwarded to the other attendees (RFC 6638
/// §4.2) from the organizer's copy: never with the moderator link.
async fn replies_never_carry_the_moderator_link(backend: Backend) {
    let bbb = BbbStandIn::start().await;
    let srv = server(backend, Some(&bbb)).await;
    let path = "/calendars/alice/default/reply.ics";
    assert_eq!(put_as(&srv, "alice", path, &meeting("reply-1", &[BOB, CAROL], "")).await.status, 201);
    let moderator = the_link(&srv, &get_as(&srv, "alice", path).await.text());
    let bob_copy = get_as(&srv, "bob", &copy_path("bob", "reply-1")).await.text();
    let accepted = edit(&bob_copy, &attendee(&bob_copy, BOB), &attendee(&bob_copy, BOB).replace("PARTSTAT=NEEDS-ACTION", "PARTSTAT=ACCEPTED"));
    let r = put_as(&srv, "bob", &copy_path("bob", "reply-1"), &accepted).await;
    assert!(r.status == 204 || r.status == 201, "{}", r.text());
    let organizer = get_as(&srv, "alice", path).await.text();
    assert_eq!(crate::scheduling::param(&attendee(&organizer, BOB), "PARTSTAT").as_deref(), Some("ACCEPTED"), "{organizer}");
    assert_eq!(the_link(&srv, &organizer), moderator);
    let carol = get_as(&srv, "carol", &copy_path("carol", "reply-1")).await.text();
    assert_eq!(crate::scheduling::param(&attendee(&carol, BOB), "PARTSTAT").as_deref(), Some("ACCEPTED"), "carol is told: {carol}");
    assert!(!carol.contains(&moderator), "{carol}");
    for m in inbox_messages(&srv, "carol", "REQUEST", "reply-1").await {
        assert!(!m.contains(&moderator), "{m}");
    }
}

/// The dial-in number of the servers of [`dial_in_and_recording`].
const DIAL: &str = "+33 1 23 45 67 89";

/// The voice bridge of the DESCRIPTION paragraph's dial-in line.
fn dial_code(text: &str) -> u32 {
    let joined = unfold(text).join("\n");
    let at = joined.find("Par téléphone : ").unwrap_or_else(|| panic!("a dial-in in {text}"));
    let line = &joined[at..];
    let line = &line[..line.find("\\n").unwrap_or(line.len())];
    assert!(line.starts_with(&format!("Par téléphone : {DIAL}\\, code ")), "{line}");
    let code = line.rsplit(' ').next().unwrap();
    assert_eq!(code.len(), 5, "5 digits: {line}");
    code.parse().unwrap()
}

const RECORD_LINE: &str = "Enregistrement possible (visio-enregistrée) : l'animateur peut enregistrer la réunion.";

/// With `bbb_dial_number`, each room gets its own 5-digit voice bridge,
/// kept across saves, written with the number into every copy's
/// DESCRIPTION and sent at `create` with `dialNumber`. Recording: the
/// organizer types the record keyword (here in the title, which keeps
/// it); the DESCRIPTION says so, and the join creates the meeting with
/// `record=true` and `allowStartStopRecording=true`; removing that line
/// and the word stops it. A voice bridge another meeting of the BBB server
/// holds does not stop the join.
async fn dial_in_and_recording(backend: Backend) {
    let bbb = BbbStandIn::start().await;
    let srv = server_with(backend, Some(&bbb), |c| c.bbb_dial_number = Some(DIAL.into())).await;
    let path = "/calendars/alice/default/dial.ics";
    let ics = meeting("dial-1", &[BOB], "").replace("SUMMARY:Réunion de rentrée", "SUMMARY:Conseil (visio-enregistrée)");
    assert_eq!(put_as(&srv, "alice", path, &ics).await.status, 201);
    let stored = get_as(&srv, "alice", path).await.text();
    let moderator = the_link(&srv, &stored);
    let code = dial_code(&stored);
    assert!(unfold(&stored).iter().any(|l| l == "SUMMARY:Conseil (visio-enregistrée)"), "the title keeps the word: {stored}");
    assert!(unfold(&stored).join("").contains(RECORD_LINE), "{stored}");
    let bob = get_as(&srv, "bob", &copy_path("bob", "dial-1")).await.text();
    the_link(&srv, &bob);
    assert_eq!(dial_code(&bob), code, "the same code for attendees");
    assert!(unfold(&bob).join("").contains(RECORD_LINE), "attendees are told: {bob}");

    // Another meeting: another code, no recording.
    assert_eq!(put_as(&srv, "alice", "/calendars/alice/default/dial2.ics", &meeting("dial-2", &[BOB], "")).await.status, 201);
    let other = get_as(&srv, "alice", "/calendars/alice/default/dial2.ics").await.text();
    assert_ne!(dial_code(&other), code);
    assert!(!other.contains("Enregistrement"), "{other}");

    // A reschedule keeps the code and the recording.
    let moved = edit(&stored, "DTSTART:20270115T100000Z", "DTSTART:20270116T100000Z").replace("DTEND:20270115T110000Z", "DTEND:20270116T110000Z");
    assert_eq!(put_as(&srv, "alice", path, &moved).await.status, 204);
    let stored = get_as(&srv, "alice", path).await.text();
    assert_eq!(dial_code(&stored), code);
    assert_eq!(unfold(&stored).join("").matches("Par téléphone").count(), 1, "the paragraph rewritten, not repeated: {stored}");

    // The page says it; the join sends it.
    let o = open(&srv, &moderator).await;
    let page = o.page.text();
    assert!(page.contains(&format!("{DIAL}, code {code}")) && page.contains("id=\"record\""), "{page}");
    let r = post_join(&srv, &moderator, &o, "Alice").await;
    signed_join(&bbb, &r);
    let (meeting_id, m) = bbb.meetings().into_iter().next().unwrap();
    assert_eq!((m.voice_bridge, m.dial_number.as_str()), (code.to_string(), DIAL));
    assert_eq!((m.record.as_str(), m.allow_start_stop_recording.as_str()), ("true", "true"));

    // The organizer deletes the recording line and the word.
    let unasked = edit(&stored, &format!("\\n{RECORD_LINE}"), "").replace("SUMMARY:Conseil (visio-enregistrée)", "SUMMARY:Conseil");
    assert_eq!(put_as(&srv, "alice", path, &unasked).await.status, 204);
    let stored = get_as(&srv, "alice", path).await.text();
    assert!(!stored.contains("Enregistrement"), "{stored}");
    let alice = srv.store.principal_by_username("alice").await.unwrap().unwrap();
    let room = srv.store.room_of_event(alice.id, "dial-1").await.unwrap().unwrap();
    assert!(!room.details.record);
    assert_eq!(room.voice_bridge, Some(code));

    // Another application's meeting holds the code: created without it.
    bbb.leave_all(&meeting_id);
    bbb.occupy_voice_bridge(&code.to_string());
    let r = post_join(&srv, &moderator, &o, "Alice").await;
    assert_eq!(signed_join(&bbb, &r)["meetingID"], meeting_id);
    let creates: Vec<String> = bbb.calls().into_iter().filter(|(c, _, _)| c == "create").map(|(_, _, o)| o).collect();
    assert_eq!(creates[creates.len() - 2..], ["nonUniqueVoiceBridge".to_string(), "SUCCESS".to_string()], "{creates:?}");
    let m = &bbb.meetings()[&meeting_id];
    assert_ne!(m.voice_bridge, code.to_string());
    assert_eq!(m.record, "false");
}

/// Under the `keyword` policy the keyword in SUMMARY asks for a room (the
/// title keeps it; the link goes to LOCATION, DESCRIPTION, CONFERENCE).
/// An organizer who removes our text and the keyword gets no links written
/// back; the room stays (no second one) and comes back with the keyword.
/// Under `auto`, "visio" in LOCATION becomes the link too.
async fn keyword_in_summary_and_removed_text(backend: Backend) {
    let bbb = BbbStandIn::start().await;
    let srv = server(backend, Some(&bbb)).await;
    let alice = srv.store.principal_by_username("alice").await.unwrap().unwrap();
    srv.store.set_visio_policy(&PolicyScope::Account(alice.id), Some(VisioPolicy::Keyword)).await.unwrap();
    let path = "/calendars/alice/default/kws.ics";
    let ics = meeting("kws-1", &[BOB], "").replace("SUMMARY:Réunion de rentrée", "SUMMARY:Point d'équipe (visio)");
    assert_eq!(put_as(&srv, "alice", path, &ics).await.status, 201);
    let stored = get_as(&srv, "alice", path).await.text();
    let moderator = the_link(&srv, &stored);
    assert!(unfold(&stored).iter().any(|l| l == "SUMMARY:Point d'équipe (visio)"), "{stored}");

    // The client sends the event without our text and without the word.
    assert_eq!(put_as(&srv, "alice", path, &meeting("kws-1", &[BOB], "")).await.status, 204);
    let stored = get_as(&srv, "alice", path).await.text();
    assert!(links(&srv, &stored).is_empty() && !stored.contains("CONFERENCE"), "{stored}");
    let bob = get_as(&srv, "bob", &copy_path("bob", "kws-1")).await.text();
    assert!(links(&srv, &bob).is_empty(), "attendees are told: {bob}");
    let room = srv.store.room_of_event(alice.id, "kws-1").await.unwrap().unwrap();
    assert!(!room.closed, "the room stays");

    // The word again (in LOCATION): the same room, the word replaced.
    assert_eq!(put_as(&srv, "alice", path, &meeting("kws-1", &[BOB], "LOCATION:visio\r\n")).await.status, 204);
    assert_eq!(the_link(&srv, &get_as(&srv, "alice", path).await.text()), moderator);

    // `auto`: "visio" in LOCATION becomes the link, the place stays.
    srv.store.set_visio_policy(&PolicyScope::Account(alice.id), Some(VisioPolicy::Auto)).await.unwrap();
    let path = "/calendars/alice/default/auto-loc.ics";
    assert_eq!(put_as(&srv, "alice", path, &meeting("auto-loc", &[BOB], "LOCATION:Salle 3 ou visio\r\n")).await.status, 201);
    let stored = get_as(&srv, "alice", path).await.text();
    let link = links(&srv, &stored).remove(0);
    assert!(unfold(&stored).iter().any(|l| l == &format!("LOCATION:Salle 3 ou {link}")), "{stored}");
}

/// A client that posts the organizer's copy to the outbox (RFC 6638 §5,
/// explicit scheduling): its recipients get the attendee link.
async fn outbox_posts_carry_the_attendee_link(backend: Backend) {
    let bbb = BbbStandIn::start().await;
    let srv = server(backend, Some(&bbb)).await;
    let path = "/calendars/alice/default/post.ics";
    assert_eq!(put_as(&srv, "alice", path, &meeting("post-1", &[BOB], "")).await.status, 201);
    let moderator = the_link(&srv, &get_as(&srv, "alice", path).await.text());
    let attendee_link = the_link(&srv, &get_as(&srv, "bob", &copy_path("bob", "post-1")).await.text());
    let request = format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\nUID:post-1\r\nSEQUENCE:1\r\n\
DTSTAMP:20260102T000000Z\r\nDTSTART:20270115T100000Z\r\nDTEND:20270115T110000Z\r\nSUMMARY:Réunion de rentrée\r\n\
ORGANIZER:mailto:alice@ac-lyon.fr\r\nATTENDEE;PARTSTAT=NEEDS-ACTION:{BOB}\r\nLOCATION:{moderator}\r\nDESCRIPTION:Lien : {moderator}\r\n\
END:VEVENT\r\nEND:VCALENDAR\r\n"
    );
    let r = crate::scheduling::post_freebusy(&srv, "alice", &request).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let messages = inbox_messages(&srv, "bob", "REQUEST", "post-1").await;
    assert_eq!(messages.len(), 2);
    for m in &messages {
        assert!(!m.contains(&moderator), "{m}");
    }
    assert!(messages.iter().any(|m| unfold(m).iter().any(|l| l == &format!("LOCATION:{attendee_link}"))), "{messages:?}");
}

/// By email: an outside attendee's answer is forwarded to the other
/// attendees of the platform (RFC 6638 §4.2) without the moderator link,
/// and no email ever carries it. An invitation from outside never gets a
/// room or our links written, even when it names the keyword and carries
/// a link of ours.
async fn email_replies_and_outside_invitations(backend: Backend) {
    use crate::scheduling::email::{email, lmtp, reply, reply_address};
    use almanach::imip::lmtp::{serve as lmtp_serve, LmtpLimits};
    const EXT2: &str = "mailto:ext2@example.com";
    let bbb = BbbStandIn::start().await;
    let srv = server(backend, Some(&bbb)).await;
    let smtp = crate::imip::smtp_server::SmtpServer::start().await;
    let (url, bbb_url, base) = (smtp.url(), bbb.url(), srv.base.clone());
    let mail = srv
        .sibling(move |c| {
            c.base_url = base;
            c.smtp_url = Some(almanach::imip::transport::SmtpUrl::parse(&url).unwrap());
            c.imip_from = Some(almanach::imip::compose::Mailbox::new(Some("Almanach"), "agenda@agenda.example.fr").unwrap());
            c.imip_reply_domain = Some("agenda.example.fr".into());
            c.bbb_url = Some(bbb_url);
            c.bbb_secret = Some(SecretString::new(SECRET));
            c.job_poll = Duration::from_millis(100);
            c.job_retry_base = Duration::from_millis(200);
        })
        .await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let lmtp_addr = listener.local_addr().unwrap();
    let handler = std::sync::Arc::new(almanach::scheduling::mail::IncomingMail { state: mail.state.clone() });
    tokio::spawn(lmtp_serve(listener, handler, LmtpLimits::default(), std::future::pending()));

    let path = "/calendars/alice/default/mail.ics";
    assert_eq!(put_as(&mail, "alice", path, &meeting("mail-1", &[BOB, EXT, EXT2], "")).await.status, 201);
    let moderator = the_link(&srv, &get_as(&srv, "alice", path).await.text());
    let token = moderator[moderator.len() - 32..].to_string();
    eventually("both invitations are emailed", || async { smtp.received().len() == 2 }).await;
    let to_ext = smtp.received().into_iter().find(|m| m.rcpt_to == vec!["ext@example.com".to_string()]).unwrap();
    let reply_to = reply_address(&String::from_utf8_lossy(&to_ext.data));

    // ext accepts; bob is told.
    let answer = email("ext@example.com", &reply_to, "REPLY", &reply("mail-1", &format!("mailto:{reply_to}"), EXT, "ACCEPTED"));
    assert_eq!(lmtp(lmtp_addr, "ext@example.com", &reply_to, &answer).await, (250, Some(250)));
    eventually("bob's copy shows the answer", || async {
        let bob = get_as(&srv, "bob", &copy_path("bob", "mail-1")).await.text();
        crate::scheduling::param(&attendee(&bob, EXT), "PARTSTAT").as_deref() == Some("ACCEPTED")
    })
    .await;
    let bob = get_as(&srv, "bob", &copy_path("bob", "mail-1")).await.text();
    assert!(!bob.contains(&token), "{bob}");
    the_link(&srv, &bob);
    for m in smtp.received() {
        let text = String::from_utf8_lossy(&m.data).replace("=\r\n", "");
        assert!(!text.contains(&token), "no moderator token in any email: {text}");
    }

    // An invitation from outside: stored as sent, no room.
    let invite = format!(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Google//EN\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\nUID:outside-visio-1\r\n\
DTSTAMP:20260105T000000Z\r\nDTSTART:20270120T100000Z\r\nDTEND:20270120T110000Z\r\nSUMMARY:Partenaires (visio)\r\nLOCATION:visio\r\n\
DESCRIPTION:Lien : {moderator}\r\nORGANIZER;CN=Boss:mailto:boss@example.com\r\nATTENDEE;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:{BOB}\r\n\
ATTENDEE;PARTSTAT=NEEDS-ACTION:{CAROL}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    );
    let message = email("boss@example.com", "bob@ac-lyon.fr", "REQUEST", &invite);
    assert_eq!(lmtp(lmtp_addr, "boss@example.com", "bob@ac-lyon.fr", &message).await, (250, Some(250)));
    let copy = get_as(&srv, "bob", &copy_path("bob", "outside-visio-1")).await.text();
    assert!(unfold(&copy).iter().any(|l| l == "LOCATION:visio") && !copy.contains("CONFERENCE"), "{copy}");
    // Bob answers from his client: still nothing of ours.
    let line = attendee(&copy, BOB);
    let r = put_as(&srv, "bob", &copy_path("bob", "outside-visio-1"), &edit(&copy, &line, &line.replace("PARTSTAT=NEEDS-ACTION", "PARTSTAT=ACCEPTED"))).await;
    assert_eq!(r.status, 204, "{}", r.text());
    let bob_user = srv.store.principal_by_username("bob").await.unwrap().unwrap();
    assert_eq!(srv.store.room_of_event(bob_user.id, "outside-visio-1").await.unwrap(), None);
    let copy = get_as(&srv, "bob", &copy_path("bob", "outside-visio-1")).await.text();
    assert!(!copy.contains("CONFERENCE") && !copy.contains("Réunion en visio"), "{copy}");
    drop(mail);
}

crate::each_store!(
    invitation_carries_the_links,
    join_flow,
    one_room_across_changes,
    cancel_closes_the_room,
    cancelled_by_status,
    bbb_down,
    hostile_summary,
    policies_and_chairs,
    headless_browser_joins,
    policy_command,
    replies_never_carry_the_moderator_link,
    dial_in_and_recording,
    keyword_in_summary_and_removed_text,
    outbox_posts_carry_the_attendee_link,
    email_replies_and_outside_invitations,
);
