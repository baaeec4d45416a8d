//! `calendar-query` (RFC 4791 §7.8) on one object: the report's XML is
//! parsed (filter §9.7, `calendar-data` §9.6, `timezone` §9.8), the object
//! goes through the PUT validation and indexing, then the full filter is
//! evaluated and the time-dependent partial retrievals run (expand §9.6.5,
//! limit-recurrence-set §9.6.6, limit-freebusy-set §9.6.7).
//!
//! Input: the report body, a NUL byte, the iCalendar object.
//!
//! Checked besides panics: an object the full filter matches is among the
//! candidates the store's index returns (component type, time bounds),
//! and where the index alone decides the filter, it decides as the full
//! filter does: otherwise the query would answer differently.
//!
//! Outside a compute job there is no work budget, so the expansion limits
//! are small (the server's are larger, but the budget bounds them).
#![no_main]

use almanach::caldav::put::prepare;
use almanach::dav::collection_type::ResourceLimits;
use almanach::caldav::report::request::{parse_calendar_data, parse_filter};
use almanach::caldav::report::IndexShape;
use almanach::ical::expand::{expand_into, limit_freebusy_set, limit_recurrence_set, write_ical, ExpandLimits};
use almanach::ical::filter::{matches, CompFilter};
use almanach::ical::object::parse_stored;
use almanach::ical::select::select;
use almanach::ical::timerange::TimeContext;
use almanach::ical::tz::{zone_from_calendar_timezone, Zone};
use almanach::ical::TimeRange;
use almanach::store::ObjectIndex;
use almanach::xml::{parse, XmlLimits, NS_CALDAV, NS_DAV};
use chrono::{TimeZone, Utc};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some(split) = data.iter().position(|b| *b == 0) else { return };
    let (xml, ical) = (&data[..split], &data[split + 1..]);
    let Ok(root) = parse(xml, XmlLimits::default()) else { return };
    let filter = match root.child(NS_CALDAV, "filter") {
        Some(f) => match parse_filter(f) {
            Ok(f) => Some(f),
            Err(_) => return,
        },
        None => None,
    };
    let calendar_data = match root.child(NS_DAV, "prop").and_then(|p| p.child(NS_CALDAV, "calendar-data")) {
        Some(e) => match parse_calendar_data(e) {
            Ok(r) => Some(r),
            Err(_) => return,
        },
        None => None,
    };
    let zone = match root.child(NS_CALDAV, "timezone") {
        Some(tz) => match zone_from_calendar_timezone(&tz.text()) {
            Some(z) => z,
            None => return,
        },
        None => Zone::Utc,
    };

    // Only what PUT accepted is stored; the query path parses it again.
    let limits = ResourceLimits { max_bytes: 1 << 20, max_items: 100_000 };
    let components: Vec<String> =
        ["VEVENT", "VTODO", "VJOURNAL", "VFREEBUSY", "VAVAILABILITY"].iter().map(|c| c.to_string()).collect();
    let Ok(prepared) = prepare(limits, None, &components, ical) else { return };
    let text = std::str::from_utf8(ical).expect("accepted objects are UTF-8");
    let object = parse_stored(text.to_string()).expect("accepted objects parse again");

    if let Some(filter) = &filter {
        let time = TimeContext::new(&object, Some(zone.clone()));
        let full = matches(&object.ical, filter, &time);
        check_index(filter, &prepared.index, full);
    }

    let resolver = object.resolver(Some(zone.clone()));
    let request = calendar_data.unwrap_or_default();
    let selection = request.selection.as_ref();
    let default_range = TimeRange::new(
        Some(Utc.with_ymd_and_hms(2006, 1, 1, 0, 0, 0).unwrap()),
        Some(Utc.with_ymd_and_hms(2007, 1, 1, 0, 0, 0).unwrap()),
    );
    let range = request.expand.or_else(|| filter.as_ref().and_then(first_time_range)).unwrap_or(default_range);
    let expand_limits = ExpandLimits { max_instances: 1000, max_bytes: 1 << 20 };
    let mut out = String::new();
    let _ = expand_into(&object, &resolver, &range, selection, expand_limits, &mut out);
    if let Some(range) = &request.limit_recurrence_set {
        let ical = limit_recurrence_set(&object, &resolver, range);
        let _ = write_ical(&ical);
    }
    if let Some(range) = &request.limit_freebusy_set {
        let ical = limit_freebusy_set(&object, range);
        let _ = write_ical(&ical);
    }
    if let Some(sel) = selection {
        let _ = select(&object.ical, sel);
    }
});

/// The first time range of a comp-filter, depth first.
fn first_time_range(f: &CompFilter) -> Option<TimeRange> {
    f.time_range.or_else(|| f.comp_filters.iter().find_map(first_time_range))
}

/// What the query layer does before the full filter (`caldav::report::
/// query`): the store returns the objects of the shape's component whose
/// index bounds meet its time range (`query_objects`: `time_start <= end
/// AND time_end >= start`), and the index alone decides some of them. An
/// object the full filter matches must be a candidate, and a decision of
/// the index must be the full filter's.
fn check_index(filter: &CompFilter, index: &ObjectIndex, full: bool) {
    let shape = IndexShape::of(filter);
    let candidate = shape.component.as_ref().is_none_or(|c| index.component.as_ref() == Some(c))
        && shape.time_range.is_none_or(|r| {
            let (s, e) = r.millis();
            index.time_start.is_none_or(|f| f <= e) && index.time_end.is_none_or(|l| l >= s)
        });
    if full {
        assert!(candidate, "the filter matches an object the index excludes: {index:?}");
    }
    if candidate {
        if let Some(decided) = shape.decide(index) {
            assert_eq!(decided, full, "the index decides {decided}, the full filter {full}: {index:?}");
        }
    }
}
