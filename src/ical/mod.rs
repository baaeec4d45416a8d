//! iCalendar (RFC 5545) semantics that CalDAV needs, independent of HTTP,
//! XML and the store: parsing and validating a calendar object resource
//! (RFC 4791 §4.1, §5.3.2), time zones, recurrence expansion, the
//! time-range rules of RFC 4791 §9.9, query filters (§9.7), partial
//! retrieval (§9.6) and free-busy (§7.10).
//!
//! Parsing uses the `calcard` crate (see `docs/decisions.md` for why it
//! replaces the `icalendar` crate of the design card). The client's bytes
//! are never rewritten: the store keeps them as received; this module only
//! reads them, and builds new text for partial or expanded answers.

use chrono::{DateTime, Utc};

// The time half: `object` (parse + validate, §4.1 / §5.3.2.1), `tz` (zones
// and TZID resolution), `recur` (instances, index bounds), `timerange`
// (§9.9), `freebusy` (§7.10), `expand` (§9.6.5–§9.6.7); and the filter
// half: `filter` (§9.7) and `select` (§9.6 partial retrieval).
pub mod expand;
pub mod filter;
pub mod freebusy;
pub mod object;
pub mod recur;
pub mod select;
pub mod timerange;
pub mod tz;
#[cfg(test)]
mod testdata;

/// Append one content line with CRLF, folded so that no physical line
/// exceeds 75 octets (RFC 5545 §3.1: CRLF then a space), never inside a
/// UTF-8 character.
pub fn push_folded(out: &mut String, line: &str) {
    const MAX_OCTETS: usize = 75;
    let mut rest = line;
    let mut room = MAX_OCTETS;
    while rest.len() > room {
        let mut split = room;
        while !rest.is_char_boundary(split) {
            split -= 1;
        }
        out.push_str(&rest[..split]);
        out.push_str("\r\n ");
        rest = &rest[split..];
        room = MAX_OCTETS - 1;
    }
    out.push_str(rest);
    out.push_str("\r\n");
}

/// A time range of a CalDAV query (RFC 4791 §9.9): `start` inclusive, `end`
/// exclusive, each optional (a start-only range is open towards the future).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeRange {
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
}

impl TimeRange {
    pub fn new(start: Option<DateTime<Utc>>, end: Option<DateTime<Utc>>) -> TimeRange {
        TimeRange { start, end }
    }

    /// Milliseconds since the epoch of the bounds, open bounds as i64::MIN / i64::MAX.
    pub fn millis(&self) -> (i64, i64) {
        (
            self.start.map_or(i64::MIN, |t| t.timestamp_millis()),
            self.end.map_or(i64::MAX, |t| t.timestamp_millis()),
        )
    }
}

/// Time-range evaluation over one parsed calendar object, as the filter of
/// RFC 4791 §9.7 needs it. Component and property indexes are positions in
/// `calcard::icalendar::ICalendar::components` and in a component's
/// `entries`.
pub trait TimeRangeEval {
    /// §9.7.1 / §9.9: does the component overlap the range? For a recurring
    /// component, whether any instance of its recurrence set does (with
    /// EXDATE and RECURRENCE-ID overrides applied). For a VALARM,
    /// `parent` is the component it belongs to and the test is on the
    /// alarm's trigger times (§9.9, VALARM).
    fn component_overlaps(&self, comp: u32, parent: Option<u32>, range: &TimeRange) -> bool;
    /// §9.7.2 / §9.9: does the DATE or DATE-TIME value of property `entry` of
    /// component `comp` fall in the range?
    fn property_overlaps(&self, comp: u32, entry: usize, range: &TimeRange) -> bool;
}
