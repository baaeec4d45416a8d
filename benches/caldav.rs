//! Criterion benchmarks of the CalDAV hot paths: parsing and indexing an
//! object at PUT, expanding recurrences for a one-month query, and writing
//! a multistatus of 100 calendar objects (a multiget). Run with
//! `cargo bench --bench caldav`.

use almanach::dav::multistatus::{MultiStatus, PropStat};
use almanach::dav::property::{PropName, PropValue};
use almanach::ical::object::parse_calendar_object;
use almanach::ical::recur::{index_bounds, instances};
use almanach::ical::timerange::TimeContext;
use almanach::ical::{TimeRange, TimeRangeEval};
use chrono::{TimeZone, Utc};
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use http::StatusCode;

/// An event like the benchmark kit's: Europe/Paris with its VTIMEZONE,
/// weekly with an EXDATE and an override, attendees and an alarm.
const WEEKLY: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//bench//EN\r\nBEGIN:VTIMEZONE\r\nTZID:Europe/Paris\r\nBEGIN:DAYLIGHT\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nTZNAME:CEST\r\nDTSTART:19700329T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\nEND:DAYLIGHT\r\nBEGIN:STANDARD\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nTZNAME:CET\r\nDTSTART:19701025T030000\r\nRRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\nBEGIN:VEVENT\r\nUID:bench-weekly@example.com\r\nDTSTAMP:20250101T000000Z\r\nDTSTART;TZID=Europe/Paris:20250106T093000\r\nDTEND;TZID=Europe/Paris:20250106T103000\r\nRRULE:FREQ=WEEKLY;BYDAY=MO,WE;UNTIL=20261231T235959Z\r\nEXDATE;TZID=Europe/Paris:20250113T093000\r\nSUMMARY:Comité de pilotage\r\nLOCATION:Salle 3\r\nORGANIZER;CN=Alice Martin:mailto:alice@ac-lyon.fr\r\nATTENDEE;CN=Bruno Petit;PARTSTAT=ACCEPTED:mailto:bruno@ac-lyon.fr\r\nATTENDEE;CN=Camille Durand;PARTSTAT=NEEDS-ACTION:mailto:camille@ac-lyon.fr\r\nBEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER:-PT15M\r\nDESCRIPTION:Reminder\r\nEND:VALARM\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:bench-weekly@example.com\r\nDTSTAMP:20250101T000000Z\r\nRECURRENCE-ID;TZID=Europe/Paris:20250120T093000\r\nDTSTART;TZID=Europe/Paris:20250121T140000\r\nDTEND;TZID=Europe/Paris:20250121T150000\r\nSUMMARY:Comité de pilotage (déplacé)\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";

fn june_2025() -> TimeRange {
    TimeRange::new(Utc.with_ymd_and_hms(2025, 6, 1, 0, 0, 0).single(), Utc.with_ymd_and_hms(2025, 7, 1, 0, 0, 0).single())
}

fn parse_and_index(c: &mut Criterion) {
    c.bench_function("parse + index (weekly event with VTIMEZONE)", |b| {
        b.iter(|| {
            let object = parse_calendar_object(black_box(WEEKLY.as_bytes())).expect("valid");
            black_box(index_bounds(&object, &object.resolver(None)))
        })
    });
}

fn expansion(c: &mut Criterion) {
    let object = parse_calendar_object(WEEKLY.as_bytes()).expect("valid");
    let resolver = object.resolver(None);
    let range = june_2025();
    c.bench_function("recurrence expansion, one month", |b| {
        b.iter(|| black_box(instances(&object, &resolver, black_box(&range), 10_000)))
    });
    c.bench_function("time-range match, one month (parse included)", |b| {
        b.iter(|| {
            let object = parse_calendar_object(black_box(WEEKLY.as_bytes())).expect("valid");
            let time = TimeContext::new(&object, None);
            black_box(time.component_overlaps(1, None, &range))
        })
    });
}

fn multistatus(c: &mut Criterion) {
    let etag = PropName::new("DAV:", "getetag");
    let data = PropName::new("urn:ietf:params:xml:ns:caldav", "calendar-data");
    c.bench_function("multistatus, 100 objects with calendar-data", |b| {
        b.iter(|| {
            let mut ms = MultiStatus::new();
            for i in 0..100 {
                let groups = [PropStat {
                    status: StatusCode::OK,
                    props: vec![
                        (etag.clone(), PropValue::Text(format!("\"{i:032x}\""))),
                        (data.clone(), PropValue::Text(WEEKLY.to_string())),
                    ],
                    error: None,
                }];
                ms.propstat_response(&format!("/calendars/alice/bench/event-{i}.ics"), &groups);
            }
            black_box(ms.finish())
        })
    });
}

criterion_group!(benches, parse_and_index, expansion, multistatus);
criterion_main!(benches);
