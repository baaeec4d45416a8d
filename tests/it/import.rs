//! `almanach import` of the migration fixtures (fixtures/import/, made by
//! scripts/gen_import_fixtures.py) into a running server's database, on
//! both stores: counts, refusals with their lines, re-runs, exit status 3,
//! nothing scheduled, and the calendar's export equal to what went in.

use std::collections::BTreeMap;
use std::process::{Command, Output};

use crate::harness::{count, TestServer};

fn fixture(name: &str) -> String {
    format!("{}/fixtures/import/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// Run `almanach import …` on the server's database, with a configuration
/// where email and visio are on: the import must use neither.
fn import(srv: &TestServer, args: &[&str]) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("almanach.toml");
    std::fs::write(
        &config,
        "smtp_url = \"smtp://127.0.0.1:9\"\nimip_from = \"agenda@ac-lyon.fr\"\n\
         bbb_url = \"http://127.0.0.1:9/bigbluebutton/\"\nbbb_secret = \"s3cret\"\nvisio_policy = \"auto\"\n",
    )
    .unwrap();
    let out: Output = Command::new(env!("CARGO_BIN_EXE_almanach"))
        .args([
            "--config",
            config.to_str().unwrap(),
            "--database",
            &srv.db_url,
            "import",
        ])
        .args(args)
        .env_remove("ALMANACH_CONFIG")
        .output()
        .expect("run almanach import");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains('\u{1b}'),
        "no progress bar when standard error is not a terminal: {stderr}"
    );
    (out.status.code(), stdout)
}

/// (UID, RECURRENCE-ID line) → the key properties (SUMMARY, DTSTART,
/// DTEND, DUE, RRULE, STATUS, ORGANIZER, ATTENDEE lines) of each VEVENT and
/// VTODO of an iCalendar text.
fn components(text: &str) -> BTreeMap<(String, String), Vec<String>> {
    let unfolded = text
        .replace("\r\n ", "")
        .replace("\r\n\t", "")
        .replace("\r\n", "\n");
    let mut out = BTreeMap::new();
    let mut depth = 0;
    let mut current: Option<(String, String, Vec<String>)> = None;
    for line in unfolded.lines() {
        let name = line
            .split([';', ':'])
            .next()
            .unwrap_or("")
            .to_ascii_uppercase();
        match name.as_str() {
            "BEGIN" => {
                depth += 1;
                if depth == 2 && (line.ends_with(":VEVENT") || line.ends_with(":VTODO")) {
                    current = Some((String::new(), String::new(), vec![line.to_string()]));
                }
            }
            "END" => {
                if depth == 2 {
                    if let Some((uid, rid, mut props)) = current.take() {
                        props.sort();
                        assert!(
                            out.insert((uid, rid), props).is_none(),
                            "one component per UID and RECURRENCE-ID"
                        );
                    }
                }
                depth -= 1;
            }
            _ if depth == 2 => {
                if let Some((uid, rid, props)) = current.as_mut() {
                    match name.as_str() {
                        "UID" => *uid = line[4..].to_string(),
                        "RECURRENCE-ID" => *rid = line.to_string(),
                        "SUMMARY" | "DTSTART" | "DTEND" | "DUE" | "RRULE" | "STATUS"
                        | "ORGANIZER" | "ATTENDEE" => props.push(line.to_string()),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    out
}

async fn calendar_fixture_imports_once_and_exports_back(srv: TestServer) {
    let file = fixture("calendar.ics");
    let (code, out) = import(&srv, &["calendar", "alice", &file]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("/calendars/alice/default/: 500 items: 500 imported, 0 replaced, 0 skipped (already there), 0 kept (differ), 0 refused"), "{out}");

    // Re-run: every item is already there.
    let (code, out) = import(&srv, &["calendar", "alice", &file]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("500 items: 0 imported, 0 replaced, 500 skipped (already there), 0 kept (differ), 0 refused"), "{out}");

    // A migration, not a meeting: nothing queued, no visio room, nothing
    // delivered to bob, no SCHEDULE-STATUS written; alice's meetings are
    // scheduling objects (with a schedule tag) all the same.
    for topic in srv.state.jobs.topics() {
        assert_eq!(
            srv.store.jobs_pending(topic).await.unwrap(),
            0,
            "nothing queued for {topic}"
        );
    }
    let source = std::fs::read_to_string(&file).unwrap();
    let expected = components(&source);
    let meetings: Vec<&String> = expected
        .iter()
        .filter(|(_, p)| p.iter().any(|l| l.starts_with("ORGANIZER")))
        .map(|((uid, _), _)| uid)
        .collect();
    assert!(
        meetings.len() >= 15,
        "the fixture has meetings: {}",
        meetings.len()
    );
    let alice = srv
        .store
        .principal_by_username("alice")
        .await
        .unwrap()
        .unwrap();
    for uid in &meetings {
        assert!(
            srv.store
                .room_of_event(alice.id, uid)
                .await
                .unwrap()
                .is_none(),
            "no visio room for {uid}"
        );
        let held = srv
            .store
            .calendar_objects_by_uid(alice.id, uid)
            .await
            .unwrap();
        assert_eq!(held.len(), 1, "{uid}");
        assert!(
            held[0].1.schedule_tag.is_some(),
            "a meeting of alice's is a scheduling object: {uid}"
        );
    }
    let first = srv
        .store
        .calendar_objects_by_uid(alice.id, meetings[0])
        .await
        .unwrap()
        .remove(0);
    let (_, stored) = srv
        .store
        .object_with_content(first.1.id)
        .await
        .unwrap()
        .unwrap();
    assert!(!String::from_utf8_lossy(&stored).contains("SCHEDULE-STATUS"));
    let bob = srv
        .as_user("PROPFIND", "/calendars/bob/default/", "bob")
        .header("Depth", "1")
        .send()
        .await;
    assert_eq!(bob.status, 207);
    assert_eq!(
        count(&bob.text(), "<D:response>"),
        1,
        "bob's calendar is empty: {}",
        bob.text()
    );

    // The export of the calendar (GET on the collection) holds the same
    // components: same UIDs and RECURRENCE-IDs, same key properties; the
    // zones in use, and not those no event uses.
    let export = srv
        .as_user("GET", "/calendars/alice/default/", "alice")
        .send()
        .await;
    assert_eq!(export.status, 200);
    let exported = export.text();
    assert_eq!(components(&exported), expected);
    assert_eq!(expected.len(), 574, "500 UIDs, 74 overrides");
    for zone in [
        "TZID:Romance Standard Time",
        "TZID:W. Europe Standard Time",
        "TZID:Fuseau de l'académie de La Réunion (export)",
    ] {
        assert_eq!(count(&exported, zone), 1, "{zone}");
    }
    assert!(!exported.contains("Fuseau inutilisé") && !exported.contains("Tokyo Standard Time"));
    assert!(!exported.contains("METHOD:"));

    // The imported calendar syncs as any other: every member in a
    // sync-collection from scratch.
    let sync = srv
        .as_user("REPORT", "/calendars/alice/default/", "alice")
        .body(r#"<D:sync-collection xmlns:D="DAV:"><D:sync-token/><D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>"#)
        .send()
        .await;
    assert_eq!(sync.status, 207);
    assert_eq!(count(&sync.text(), "<D:response>"), 500);

    // And queries on it: the series of 11 January (W. Europe Standard
    // Time, UTC+1 in winter) whose 25 January instance moved from 09:00
    // to 11:00 local is found at 10:00Z that day, no longer at 08:00Z.
    let uid = expected.keys().map(|(uid, _)| uid).find(|u| u.ends_with("-001@export.ac-lyon.fr")).unwrap();
    let query = |start: &str, end: &str| {
        format!(
            r#"<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/></D:prop><C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:time-range start="{start}" end="{end}"/><C:prop-filter name="UID"><C:text-match collation="i;octet">{uid}</C:text-match></C:prop-filter></C:comp-filter></C:comp-filter></C:filter></C:calendar-query>"#
        )
    };
    for (start, end, found) in [("20250125T093000Z", "20250125T103000Z", 1), ("20250125T080000Z", "20250125T083000Z", 0)] {
        let r = srv.as_user("REPORT", "/calendars/alice/default/", "alice").header("Depth", "1").body(query(start, end)).send().await;
        assert_eq!(r.status, 207);
        assert_eq!(count(&r.text(), "<D:response>"), found, "{start}: {}", r.text());
    }
}

async fn broken_calendar_refuses_items_with_their_lines(srv: TestServer) {
    let file = fixture("broken.ics");
    let (code, out) = import(&srv, &["calendar", "alice", "--calendar", "ancien", &file]);
    assert_eq!(code, Some(3), "exit status 3 when items are refused: {out}");
    assert!(out.contains("/calendars/alice/ancien/: 5 items: 2 imported, 0 replaced, 0 skipped (already there), 0 kept (differ), 3 refused"), "{out}");
    assert!(
        out.contains(&format!(
            "refused: {file}:11: valid-calendar-object-resource: missing UID"
        )),
        "{out}"
    );
    assert!(out.contains(&format!("refused: {file}:23 (UID bad-zone): valid-calendar-object-resource: no VTIMEZONE for TZID \"Nowhere/Unknown\"")), "{out}");
    assert!(
        out.contains(&format!(
            "refused: {file}:29 (UID no-end): the component has no END line"
        )),
        "{out}"
    );
    let (code, out) = import(&srv, &["calendar", "alice", "--calendar", "ancien", &file]);
    assert_eq!(code, Some(3), "{out}");
    assert!(out.contains("5 items: 0 imported, 0 replaced, 2 skipped (already there), 0 kept (differ), 3 refused"), "{out}");
    // The new calendar is a calendar, named as asked.
    let r = srv
        .as_user("PROPFIND", "/calendars/alice/ancien/", "alice")
        .header("Depth", "1")
        .send()
        .await;
    assert_eq!(r.status, 207);
    assert!(
        r.text().contains("ancien</D:displayname>") && r.text().contains("<C:calendar/>"),
        "{}",
        r.text()
    );
    assert_eq!(count(&r.text(), "<D:response>"), 3);
    // Not a calendar: refused before anything is read.
    let (code, out) = import(&srv, &["calendar", "alice", "--calendar", "a/b", &file]);
    assert_eq!(code, Some(1), "{out}");
    let (code, _) = import(&srv, &["calendar", "nobody", &file]);
    assert_eq!(code, Some(1));
}

async fn contacts_fixture_imports_and_keeps_changes(srv: TestServer) {
    let file = fixture("contacts.vcf");
    let (code, out) = import(&srv, &["contacts", "alice", &file]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("/addressbooks/alice/contacts/: 300 items: 300 imported, 0 replaced, 0 skipped (already there), 0 kept (differ), 0 refused"), "{out}");
    let list = srv
        .as_user("PROPFIND", "/addressbooks/alice/contacts/", "alice")
        .header("Depth", "1")
        .send()
        .await;
    assert_eq!(count(&list.text(), "<D:response>"), 301);
    // A group of each kind, stored as sent.
    let group = srv
        .as_user(
            "GET",
            "/addressbooks/alice/contacts/apple-group-0.vcf",
            "alice",
        )
        .header("Accept", "text/vcard; version=3.0")
        .send()
        .await;
    assert_eq!(group.status, 200, "{}", group.text());
    assert!(group.text().contains("X-ADDRESSBOOKSERVER-KIND:group"));

    // The agent edits a card after the first import: a re-run keeps the
    // edit, --replace puts the export's version back.
    let edited = "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:apple-group-0\r\nN:Classe 1;;;;\r\nFN:Classe 1 (modifiée)\r\nX-ADDRESSBOOKSERVER-KIND:group\r\nEND:VCARD\r\n";
    let put = srv
        .as_user(
            "PUT",
            "/addressbooks/alice/contacts/apple-group-0.vcf",
            "alice",
        )
        .header("Content-Type", "text/vcard")
        .body(edited)
        .send()
        .await;
    assert_eq!(put.status, 204);
    let (code, out) = import(&srv, &["contacts", "alice", &file]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("300 items: 0 imported, 0 replaced, 299 skipped (already there), 1 kept (differ), 0 refused"), "{out}");
    assert!(
        out.contains("(UID apple-group-0): kept apple-group-0.vcf: the stored version differs"),
        "{out}"
    );
    let after = srv
        .as_user(
            "GET",
            "/addressbooks/alice/contacts/apple-group-0.vcf",
            "alice",
        )
        .send()
        .await;
    assert!(after.text().contains("(modifiée)"));
    let (code, out) = import(&srv, &["contacts", "alice", "--replace", &file]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("300 items: 0 imported, 1 replaced, 299 skipped (already there), 0 kept (differ), 0 refused"), "{out}");
    let after = srv
        .as_user(
            "GET",
            "/addressbooks/alice/contacts/apple-group-0.vcf",
            "alice",
        )
        .send()
        .await;
    assert!(!after.text().contains("(modifiée)"));

    let broken = fixture("broken.vcf");
    let (code, out) = import(
        &srv,
        &["contacts", "alice", "--addressbook", "ancien", &broken],
    );
    assert_eq!(code, Some(3), "{out}");
    assert!(out.contains("4 items: 1 imported, 0 replaced, 0 skipped (already there), 0 kept (differ), 3 refused"), "{out}");
    assert!(
        out.contains(&format!(
            "refused: {broken}:7 (UID card-21): supported-address-data"
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!("refused: {broken}:13: valid-address-data")),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "refused: {broken}:17 (UID card-ok): the UID is also at {broken}:1"
        )),
        "{out}"
    );
}

/// A directory of files, as some servers export one file per event.
async fn directory_of_files(srv: TestServer) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("sub")).unwrap();
    let event = |uid: &str| {
        format!("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//EN\r\nBEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20250101T000000Z\r\nDTSTART:20250101T100000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
    };
    std::fs::write(dir.path().join("a.ics"), event("one")).unwrap();
    std::fs::write(dir.path().join("sub/b.ICS"), event("two")).unwrap();
    std::fs::write(dir.path().join("notes.txt"), "not read").unwrap();
    let (code, out) = import(&srv, &["calendar", "alice", dir.path().to_str().unwrap()]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("2 items: 2 imported"), "{out}");
}

crate::both_stores!(
    calendar_fixture_imports_once_and_exports_back,
    broken_calendar_refuses_items_with_their_lines,
    contacts_fixture_imports_and_keeps_changes,
    directory_of_files,
);
