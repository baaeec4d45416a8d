//! The PUT path of a calendar object resource (RFC 4791 §5.3.2):
//! validation and indexing by `caldav::put::prepare`. An accepted object
//! must parse again on the query path (`parse_stored`), and its index must
//! be coherent.
#![no_main]

use almanach::caldav::put::prepare;
use almanach::dav::collection_type::ResourceLimits;
use almanach::ical::object::parse_stored;
use almanach::ical::recur::instances;
use almanach::ical::TimeRange;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = ResourceLimits { max_bytes: 1 << 20, max_items: 100_000 };
    let components: Vec<String> =
        ["VEVENT", "VTODO", "VJOURNAL", "VFREEBUSY", "VAVAILABILITY"].iter().map(|c| c.to_string()).collect();
    let Ok(prepared) = prepare(limits, Some("text/calendar"), &components, data) else { return };
    let text = std::str::from_utf8(data).expect("an accepted object is UTF-8");
    let stored = parse_stored(text.to_string()).expect("an accepted object parses on the query path");
    let index = &prepared.index;
    assert_eq!(index.uid.as_deref(), Some(stored.uid()));
    assert_eq!(index.component.as_deref(), Some(stored.component_type().as_str()));
    match (index.time_start, index.time_end) {
        // `IndexBounds::NEVER`: an object no time range matches.
        (Some(i64::MAX), Some(i64::MIN)) => assert!(index.instances.is_none()),
        // Bounds are a superset of the instants (`recur::index_bounds`):
        // a DTSTART counts even when no instance is left (an EXDATE on
        // every instance, a VFREEBUSY with DTSTART alone, RFC 4791 §9.9),
        // so `first > last` is an empty set, which the store's SQL never
        // selects for a range with a start. Then there must be no instance.
        (Some(first), Some(last)) if first > last => {
            let all = TimeRange::new(None, None);
            let found = instances(&stored, &stored.resolver(None), &all, 1);
            assert!(found.items.is_empty(), "inverted index bounds [{first}, {last}] with instances");
            assert!(index.instances.as_ref().is_none_or(|i| i.is_empty()));
        }
        _ => {}
    }
    if let Some(instances) = &index.instances {
        assert!(!index.time_simple);
        for &(s, e) in instances {
            assert!(s <= e, "instance [{s}, {e})");
            assert!(index.time_start.is_none_or(|f| f <= s), "instance {s} before the first start {:?}", index.time_start);
            assert!(index.time_end.is_none_or(|l| e <= l), "instance end {e} after the last end {:?}", index.time_end);
        }
    }
});
