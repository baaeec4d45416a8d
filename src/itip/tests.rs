//! The scenario files of `src/itip/testdata/` and unit tests.
//!
//! A scenario file is a series of sections, each opened by a line
//! `--- name`; lines starting with `#` before the first section are its
//! description.
//!
//! - `kind`: `organizer` ([`organizer_change`]), `attendee`
//!   ([`attendee_change`]), `apply` ([`apply_to_attendee`]) or `reply`
//!   ([`apply_reply`]).
//! - `owner` (organizer; reply, to check [`reply_updates`] too): the
//!   owner's addresses, one a line; `attendee`
//!   (attendee, apply): the attendee's address.
//! - `now`: a UTC DATE-TIME (default 20240301T120000Z).
//! - `options` (attendee): `schedule-reply: F` for the Schedule-Reply
//!   header.
//! - `old`, `new` (organizer, attendee): calendar objects (absent: none);
//!   `copy` (apply, reply): the copy; `message`: the message. A calendar
//!   not starting with BEGIN:VCALENDAR is wrapped in one (VERSION, PRODID);
//!   LF line ends become CRLF.
//! - `expect`: one line per check. `METHOD address` opens a message to
//!   that recipient (all messages must be listed, in order per
//!   recipient); `stored` (or `store`) the stored object; under either,
//!   `+ text` a line containing text, `- text` no line containing it,
//!   `=N text` N lines containing it (lines unfolded). `removed` /
//!   `remove`: nothing stored / `Applied::Remove`; `ignore text`:
//!   `Applied::Ignore` with a reason containing text; `error Name`: the
//!   error (Debug) starts with Name; `none`: no message.
//!
//! `ITIP_DUMP=1 cargo test --lib itip::tests::scenarios -- --nocapture`
//! prints what each check looks at.
//!
//! Every message must pass [`validate_message`] and, without its METHOD,
//! [`parse_calendar_object`]; every stored object too.

use std::path::Path;

use calcard::icalendar::ICalendar;
use chrono::{DateTime, NaiveDateTime, Utc};

use super::*;
use crate::ical::{expand::write_ical, object::parse_calendar_object};

const DEFAULT_NOW: &str = "20240301T120000Z";

struct Scenario {
    name: String,
    sections: Vec<(String, String)>,
}

impl Scenario {
    fn get(&self, name: &str) -> Option<&str> {
        self.sections.iter().find(|(n, _)| n == name).map(|(_, t)| t.as_str())
    }

    fn need(&self, name: &str) -> &str {
        self.get(name).unwrap_or_else(|| panic!("{}: no section {name}", self.name))
    }

    fn now(&self) -> DateTime<Utc> {
        let text = self.get("now").map(str::trim).unwrap_or(DEFAULT_NOW);
        NaiveDateTime::parse_from_str(text, "%Y%m%dT%H%M%SZ")
            .unwrap_or_else(|e| panic!("{}: now {text}: {e}", self.name))
            .and_utc()
    }

    fn calendar_text(&self, name: &str) -> Option<String> {
        let body = self.get(name)?.trim_start();
        if body.trim().is_empty() {
            return None;
        }
        let text = if body.starts_with("BEGIN:VCALENDAR") {
            body.to_string()
        } else {
            format!("BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//test//EN\n{body}END:VCALENDAR\n")
        };
        Some(text.replace("\r\n", "\n").replace('\n', "\r\n"))
    }

    /// A stored object, validated as a PUT would.
    fn object(&self, name: &str) -> Option<ICalendar> {
        let text = self.calendar_text(name)?;
        Some(
            parse_calendar_object(text.as_bytes())
                .unwrap_or_else(|e| panic!("{}: section {name}: {e}\n{text}", self.name))
                .ical,
        )
    }

    fn message(&self, name: &str) -> ICalendar {
        let text = self.calendar_text(name).unwrap_or_else(|| panic!("{}: no {name}", self.name));
        ICalendar::parse(&text).unwrap_or_else(|e| panic!("{}: section {name}: {e:?}", self.name))
    }
}

fn parse_scenario(name: &str, text: &str) -> Scenario {
    let mut sections: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if let Some(section) = line.strip_prefix("--- ") {
            sections.push((section.trim().to_string(), String::new()));
        } else if let Some((_, body)) = sections.last_mut() {
            body.push_str(line);
            body.push('\n');
        }
    }
    Scenario { name: name.to_string(), sections }
}

/// Unfolded lines.
fn lines(ical: &ICalendar) -> Vec<String> {
    write_ical(ical).replace("\r\n ", "").split("\r\n").map(str::to_string).collect()
}

/// One `expect` block: a header and its checks.
#[derive(Debug)]
struct Block {
    header: String,
    checks: Vec<String>,
}

fn blocks(expect: &str) -> Vec<Block> {
    let mut out: Vec<Block> = Vec::new();
    for line in expect.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
        let is_check = line.starts_with("+ ") || line.starts_with("- ") || (line.starts_with('=') && line.contains(' '));
        if is_check {
            match out.last_mut() {
                Some(b) => b.checks.push(line.to_string()),
                None => panic!("check before any header: {line}"),
            }
        } else {
            out.push(Block { header: line.to_string(), checks: Vec::new() });
        }
    }
    out
}

fn check_lines(scenario: &str, what: &str, ical: &ICalendar, checks: &[String]) {
    let lines = lines(ical);
    if std::env::var_os("ITIP_DUMP").is_some() {
        println!("==== {scenario}: {what}\n{}", lines.join("\n"));
    }
    let text = lines.join("\n");
    for check in checks {
        let (op, pattern) = check.split_once(' ').unwrap_or((check, ""));
        let n = lines.iter().filter(|l| l.contains(pattern)).count();
        let ok = match op {
            "+" => n > 0,
            "-" => n == 0,
            _ => op.trim_start_matches('=').parse::<usize>().is_ok_and(|want| want == n),
        };
        assert!(ok, "{scenario}: {what}: `{check}` fails ({n} lines match) in:\n{text}");
    }
}

fn check_stored(scenario: &str, ical: &ICalendar) {
    let text = write_ical(ical);
    if let Err(e) = parse_calendar_object(text.as_bytes()) {
        panic!("{scenario}: stored object invalid: {e}\n{text}");
    }
}

fn check_message(scenario: &str, out: &Outgoing) {
    let text = write_ical(&out.message);
    match validate_message(&out.message) {
        Ok(m) => assert_eq!(m, out.method, "{scenario}: METHOD of\n{text}"),
        Err(e) => panic!("{scenario}: invalid {} to {}: {e}\n{text}", out.method, out.recipient),
    }
    let without = text.replace(&format!("METHOD:{}\r\n", out.method), "");
    if let Err(e) = parse_calendar_object(without.as_bytes()) {
        panic!("{scenario}: {} to {} is not a valid calendar without METHOD: {e}\n{text}", out.method, out.recipient);
    }
}

/// Matches the messages against the `METHOD address` blocks.
fn check_outgoing(scenario: &str, outgoing: &[Outgoing], blocks: &[Block]) {
    let mut used = vec![false; outgoing.len()];
    let describe = || {
        outgoing
            .iter()
            .map(|o| format!("{} {}\n{}", o.method, o.recipient, write_ical(&o.message)))
            .collect::<Vec<_>>()
            .join("\n")
    };
    for block in blocks {
        let Some((method, who)) = block.header.split_once(' ') else { continue };
        let Some(method) = Method::parse(method) else { continue };
        let who = CalAddress::new(who);
        let Some(i) = (0..outgoing.len()).find(|&i| !used[i] && outgoing[i].method == method && outgoing[i].recipient == who) else {
            panic!("{scenario}: no {method} to {who}; messages:\n{}", describe());
        };
        // In order per recipient.
        if let Some(j) = (0..i).find(|&j| !used[j] && outgoing[j].recipient == who) {
            panic!("{scenario}: {} to {who} comes before {method}; messages:\n{}", outgoing[j].method, describe());
        }
        used[i] = true;
        check_message(scenario, &outgoing[i]);
        check_lines(scenario, &block.header, &outgoing[i].message, &block.checks);
    }
    if let Some(i) = used.iter().position(|u| !u) {
        panic!("{scenario}: unexpected {} to {}; messages:\n{}", outgoing[i].method, outgoing[i].recipient, describe());
    }
}

fn expect_error(scenario: &str, blocks: &[Block], got: String) {
    match blocks.iter().find_map(|b| b.header.strip_prefix("error ")) {
        Some(want) => assert!(got.starts_with(want.trim()), "{scenario}: expected error {want}, got {got}"),
        None => panic!("{scenario}: unexpected error {got}"),
    }
}

fn block<'a>(blocks: &'a [Block], names: &[&str]) -> Option<&'a Block> {
    blocks.iter().find(|b| names.contains(&b.header.as_str()))
}

fn has(blocks: &[Block], names: &[&str]) -> bool {
    block(blocks, names).is_some()
}

fn run(s: &Scenario) {
    let name = s.name.as_str();
    let expect = blocks(s.need("expect"));
    match s.need("kind").trim() {
        "organizer" => {
            let owner: AddressSet = s.need("owner").lines().map(str::trim).filter(|l| !l.is_empty()).collect();
            let (old, new) = (s.object("old"), s.object("new"));
            match organizer_change(old.as_ref(), new.as_ref(), &owner, s.now()) {
                Err(e) => expect_error(name, &expect, format!("{e:?}")),
                Ok(outcome) => {
                    if let Some(b) = expect.iter().find(|b| b.header.starts_with("error ")) {
                        panic!("{name}: expected {}, got success", b.header);
                    }
                    check_outgoing(name, &outcome.outgoing, &expect);
                    if new.is_some() {
                        check_stored(name, &outcome.stored);
                    }
                    if let Some(b) = block(&expect, &["stored", "store"]) {
                        check_lines(name, "stored", &outcome.stored, &b.checks);
                    }
                }
            }
        }
        "attendee" => {
            let who = CalAddress::new(s.need("attendee").trim());
            let reply_on_delete = !s.get("options").is_some_and(|o| o.contains("schedule-reply: F"));
            let (old, new) = (s.object("old"), s.object("new"));
            match attendee_change(old.as_ref(), new.as_ref(), &who, reply_on_delete, s.now()) {
                Err(e) => expect_error(name, &expect, format!("{e:?}")),
                Ok(outcome) => {
                    if let Some(b) = expect.iter().find(|b| b.header.starts_with("error ")) {
                        panic!("{name}: expected {}, got success", b.header);
                    }
                    let outgoing: Vec<Outgoing> = outcome.outgoing.into_iter().collect();
                    check_outgoing(name, &outgoing, &expect);
                    match (&outcome.stored, has(&expect, &["removed", "remove"])) {
                        (Some(stored), false) => {
                            check_stored(name, stored);
                            if let Some(b) = block(&expect, &["stored", "store"]) {
                                check_lines(name, "stored", stored, &b.checks);
                            }
                        }
                        (None, true) => {}
                        (got, _) => panic!("{name}: stored {}", if got.is_some() { "an object, expected none" } else { "nothing" }),
                    }
                }
            }
        }
        "apply" => {
            let who = CalAddress::new(s.need("attendee").trim());
            let copy = s.object("copy");
            match apply_to_attendee(copy.as_ref(), &s.message("message"), &who) {
                Applied::Store(ical) => {
                    let Some(b) = block(&expect, &["stored", "store"]) else {
                        panic!("{name}: stored\n{}", write_ical(&ical));
                    };
                    check_stored(name, &ical);
                    check_lines(name, "stored", &ical, &b.checks);
                }
                Applied::Remove => assert!(has(&expect, &["removed", "remove"]), "{name}: removed"),
                Applied::Ignore(why) => match expect.iter().find_map(|b| b.header.strip_prefix("ignore")) {
                    Some(want) => assert!(why.contains(want.trim()), "{name}: ignored for {why}, expected {want}"),
                    None => panic!("{name}: ignored: {why}"),
                },
            }
        }
        "reply" => {
            let copy = s.object("copy").unwrap_or_else(|| panic!("{name}: no copy"));
            let message = s.message("message");
            match apply_reply(&copy, &message) {
                Err(e) => expect_error(name, &expect, format!("{e:?}")),
                Ok(ical) => {
                    let Some(b) = block(&expect, &["stored", "store"]) else {
                        panic!("{name}: applied, expected {:?}", expect.first());
                    };
                    check_stored(name, &ical);
                    check_lines(name, "stored", &ical, &b.checks);
                    // With an owner: the other attendees told (§4.2).
                    if let Some(owner) = s.get("owner") {
                        let owner: AddressSet = owner.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
                        let replying = message.components.iter().flat_map(|c| &c.entries).find_map(|e| {
                            (e.name == calcard::icalendar::ICalendarProperty::Attendee)
                                .then(|| e.values.first().and_then(|v| v.as_text()).map(CalAddress::new))
                                .flatten()
                        });
                        let replying = replying.unwrap_or_else(|| panic!("{name}: no ATTENDEE in the reply"));
                        let updates = reply_updates(&copy, &ical, &replying, &owner, s.now()).expect("reply_updates");
                        check_outgoing(name, &updates, &expect);
                    }
                }
            }
        }
        other => panic!("{name}: unknown kind {other}"),
    }
}

#[test]
fn scenarios() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/itip/testdata");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("src/itip/testdata")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "txt"))
        .collect();
    files.sort();
    assert!(files.len() >= 40, "scenario files: {}", files.len());
    for path in files {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
        let text = std::fs::read_to_string(&path).expect("scenario");
        run(&parse_scenario(&name, &text));
    }
}

#[test]
fn cal_address_comparison() {
    let a = CalAddress::new("mailto:Alice@Example.COM");
    assert_eq!(a, CalAddress::new("MAILTO:alice@example.com"));
    assert_eq!(a, CalAddress::new(" mailto:alice@example.com "));
    assert_ne!(a, CalAddress::new("mailto:bob@example.com"));
    assert_ne!(a, CalAddress::new("alice@example.com"));
    assert!(a.is_mailto());
    assert_eq!(a.email(), Some("Alice@Example.COM"));
    assert_eq!(a.as_str(), "mailto:Alice@Example.COM");
    // Other schemes: the scheme without case, the rest exactly.
    let u = CalAddress::new("urn:uuid:ABC");
    assert_eq!(u, CalAddress::new("URN:uuid:ABC"));
    assert_ne!(u, CalAddress::new("urn:uuid:abc"));
    assert!(!u.is_mailto());
    assert_eq!(u.email(), None);
    let set: AddressSet = ["mailto:a@x", "/principals/a/", "MAILTO:A@X"].into_iter().collect();
    assert_eq!(set.iter().count(), 2);
    assert!(set.contains(&CalAddress::new("mailto:A@x")));
    assert!(!set.contains(&CalAddress::new("mailto:b@x")));
}

#[test]
fn methods() {
    for m in ["REQUEST", "reply", "Cancel", "ADD", "REFRESH", "COUNTER", "DECLINECOUNTER", "PUBLISH"] {
        let method = Method::parse(m).expect(m);
        assert!(method.as_str().eq_ignore_ascii_case(m));
    }
    assert_eq!(Method::parse("FOO"), None);
    assert_eq!(Method::DeclineCounter.to_string(), "DECLINECOUNTER");
}

fn cal(text: &str) -> ICalendar {
    let text = format!("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\n{}END:VCALENDAR\r\n", text.replace('\n', "\r\n"));
    ICalendar::parse(&text).expect("parse")
}

#[test]
fn roles() {
    let owner: AddressSet = ["mailto:a@x"].into_iter().collect();
    let ev = |org: &str, att: &str| cal(&format!("BEGIN:VEVENT\nUID:1\nDTSTAMP:20240101T000000Z\nDTSTART:20240101T100000Z\n{org}{att}END:VEVENT\n"));
    assert_eq!(role(&ev("", "ATTENDEE:mailto:a@x\n"), &owner), Ok(Role::Plain));
    assert_eq!(role(&ev("ORGANIZER:MAILTO:A@X\n", "ATTENDEE:mailto:b@x\n"), &owner), Ok(Role::Organizer));
    assert_eq!(
        role(&ev("ORGANIZER:mailto:b@x\n", "ATTENDEE:mailto:A@x\n"), &owner),
        Ok(Role::Attendee(CalAddress::new("mailto:a@x")))
    );
    assert_eq!(role(&ev("ORGANIZER:mailto:b@x\n", "ATTENDEE:mailto:c@x\n"), &owner), Ok(Role::Plain));
    let two = cal("BEGIN:VEVENT\nUID:1\nDTSTART:20240101T100000Z\nRRULE:FREQ=DAILY\nORGANIZER:mailto:a@x\nEND:VEVENT\n\
BEGIN:VEVENT\nUID:1\nRECURRENCE-ID:20240102T100000Z\nDTSTART:20240102T100000Z\nORGANIZER:mailto:b@x\nEND:VEVENT\n");
    assert_eq!(role(&two, &owner), Err(SchedulingError::SameOrganizerInAllComponents));
    assert_eq!(SchedulingError::SameOrganizerInAllComponents.precondition(), "same-organizer-in-all-components");
    let missing = cal("BEGIN:VEVENT\nUID:1\nDTSTART:20240101T100000Z\nRRULE:FREQ=DAILY\nORGANIZER:mailto:a@x\nEND:VEVENT\n\
BEGIN:VEVENT\nUID:1\nRECURRENCE-ID:20240102T100000Z\nDTSTART:20240102T100000Z\nEND:VEVENT\n");
    assert_eq!(role(&missing, &owner), Err(SchedulingError::SameOrganizerInAllComponents));
    // A VJOURNAL is not scheduled.
    let journal = cal("BEGIN:VJOURNAL\nUID:1\nORGANIZER:mailto:a@x\nATTENDEE:mailto:b@x\nEND:VJOURNAL\n");
    assert_eq!(role(&journal, &owner), Ok(Role::Plain));
}

#[test]
fn message_validation() {
    let ok = "METHOD:REQUEST\nBEGIN:VEVENT\nUID:1\nDTSTAMP:20240101T000000Z\nDTSTART:20240101T100000Z\nSUMMARY:x\n\
ORGANIZER:mailto:a@x\nATTENDEE:mailto:b@x\nEND:VEVENT\n";
    assert_eq!(validate_message(&cal(ok)), Ok(Method::Request));
    let bad = |from: &str, to: &str, why: &str| {
        let e = validate_message(&cal(&ok.replace(from, to))).expect_err(why);
        assert!(matches!(&e, SchedulingError::ValidSchedulingMessage(m) if m.contains(why)), "{why}: {e}");
    };
    bad("METHOD:REQUEST\n", "", "one METHOD");
    bad("ATTENDEE:mailto:b@x\n", "", "ATTENDEE");
    bad("DTSTAMP:20240101T000000Z\n", "", "DTSTAMP");
    bad("ORGANIZER:mailto:a@x\n", "", "ORGANIZER");
    bad("SUMMARY:x\n", "", "SUMMARY");
    bad("ATTENDEE:", "ATTENDEE;SCHEDULE-AGENT=SERVER:", "RFC 6638 §7");
    bad("DTSTART:20240101T100000Z", "DTSTART;TZID=Mars/Olympus:20240101T100000", "TZID");
    bad("UID:1\nDTSTAMP", "UID:1\nUID:2\nDTSTAMP", "UID");
    bad("METHOD:REQUEST", "METHOD:CANCEL", "SEQUENCE");
    let reply = ok.replace("METHOD:REQUEST", "METHOD:REPLY");
    assert_eq!(validate_message(&cal(&reply)), Ok(Method::Reply));
    let two = reply.replace("ATTENDEE:mailto:b@x\n", "ATTENDEE:mailto:b@x\nATTENDEE:mailto:c@x\n");
    assert!(validate_message(&cal(&two)).is_err());
    let journal = "METHOD:REQUEST\nBEGIN:VJOURNAL\nUID:1\nDTSTAMP:20240101T000000Z\nORGANIZER:mailto:a@x\nEND:VJOURNAL\n";
    assert!(validate_message(&cal(journal)).is_err());
}

#[test]
fn schedule_status_setters() {
    let mut c = cal("BEGIN:VEVENT\nUID:1\nDTSTART:20240101T100000Z\nORGANIZER:mailto:a@x\nATTENDEE:mailto:b@x\n\
ATTENDEE;SCHEDULE-STATUS=1.0:MAILTO:C@X\nEND:VEVENT\n");
    set_schedule_status(&mut c, &CalAddress::new("mailto:c@x"), "3.7");
    set_organizer_schedule_status(&mut c, "1.2");
    let text = write_ical(&c);
    assert!(text.contains("ATTENDEE;SCHEDULE-STATUS=3.7:MAILTO:C@X"), "{text}");
    assert!(text.contains("ATTENDEE:mailto:b@x"), "{text}");
    assert!(text.contains("ORGANIZER;SCHEDULE-STATUS=1.2:mailto:a@x"), "{text}");
}

#[test]
fn schedule_tag_merge() {
    // §3.2.10.1: the organizer's client PUTs from a version older than
    // Bob's reply; Bob's answer survives, the organizer's own change too.
    let stored = cal("BEGIN:VEVENT\nUID:1\nDTSTAMP:20240101T000000Z\nDTSTART:20240101T100000Z\nSUMMARY:a\n\
ORGANIZER:mailto:a@x\nATTENDEE;PARTSTAT=ACCEPTED:mailto:a@x\nATTENDEE;PARTSTAT=ACCEPTED;SCHEDULE-STATUS=2.0:mailto:b@x\n\
ATTENDEE;SCHEDULE-STATUS=1.2:mailto:c@x\nEND:VEVENT\n");
    let new = cal("BEGIN:VEVENT\nUID:1\nDTSTAMP:20240102T000000Z\nDTSTART:20240101T100000Z\nSUMMARY:b\n\
ORGANIZER:mailto:a@x\nATTENDEE;PARTSTAT=TENTATIVE:mailto:a@x\nATTENDEE;ROLE=CHAIR;SCHEDULE-STATUS=1.2:mailto:b@x\n\
ATTENDEE;SCHEDULE-STATUS=1.2:mailto:c@x\nATTENDEE:mailto:d@x\nEND:VEVENT\n");
    let owner: AddressSet = ["mailto:a@x"].into_iter().collect();
    let text = write_ical(&merge_attendee_status(&stored, &new, &owner));
    assert!(text.contains("ATTENDEE;PARTSTAT=TENTATIVE:mailto:a@x"), "{text}");
    assert!(text.contains("ATTENDEE;ROLE=CHAIR;SCHEDULE-STATUS=2.0;PARTSTAT=ACCEPTED:mailto:b@x"), "{text}");
    assert!(text.contains("ATTENDEE:mailto:d@x") && text.contains("SUMMARY:b"), "{text}");

    // §3.2.10, attendee rule 2.
    assert!(only_participation_changed(&stored, &cal(&write_ical(&stored)
        .replace("PARTSTAT=ACCEPTED;SCHEDULE-STATUS=2.0:mailto:b@x", "PARTSTAT=DECLINED:mailto:b@x")
        .replace("DTSTAMP:20240101T000000Z", "DTSTAMP:20240105T000000Z")
        .replace("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\n", "").replace("END:VCALENDAR\r\n", "").replace("\r\n", "\n"))));
    assert!(!only_participation_changed(&stored, &new));
}

/// Half of `max-attendees-per-instance` attendees in two components:
/// planning stays linear in what it sends (one message each, each with the
/// whole list; identical messages are built once).
#[test]
fn many_attendees() {
    let n = crate::caldav::limits::MAX_ATTENDEES_PER_INSTANCE / 2;
    let attendees: String = (0..n).map(|i| format!("ATTENDEE;SCHEDULE-STATUS=1.2:mailto:u{i}@example.com\n")).collect();
    let event = |summary: &str| {
        cal(&format!(
            "BEGIN:VEVENT\nUID:big\nDTSTAMP:20240101T000000Z\nDTSTART:20240101T100000Z\nRRULE:FREQ=DAILY\nSUMMARY:{summary}\n\
ORGANIZER:mailto:a@x\n{attendees}END:VEVENT\n\
BEGIN:VEVENT\nUID:big\nDTSTAMP:20240101T000000Z\nRECURRENCE-ID:20240102T100000Z\nDTSTART:20240102T120000Z\nSUMMARY:{summary}\n\
ORGANIZER:mailto:a@x\n{attendees}END:VEVENT\n"
        ))
    };
    let owner: AddressSet = ["mailto:a@x"].into_iter().collect();
    let now = Utc::now();
    let started = std::time::Instant::now();
    let unchanged = organizer_change(Some(&event("a")), Some(&event("a")), &owner, now).expect("no change");
    assert!(unchanged.outgoing.is_empty());
    let planning = started.elapsed();
    let out = organizer_change(Some(&event("a")), Some(&event("b")), &owner, now).expect("change");
    assert_eq!(out.outgoing.len(), n);
    println!("{n} attendees: planning {planning:?}, with messages {:?}", started.elapsed() - planning);
}
