//! The CalDAV calendar-query filter (RFC 4791 §9.7) as Rust types, and its
//! evaluation over one parsed calendar object resource.
//!
//! The XML layer builds a [`CompFilter`] for the `VCALENDAR` comp-filter
//! child of `CALDAV:filter` (filling in the text-match defaults of §9.7.5)
//! and [`matches`] tells whether a calendar object matches it. Time ranges
//! (§9.9) are delegated to a [`TimeRangeEval`]; this module never looks at
//! dates, time zones or recurrences itself.
//!
//! # Semantics
//!
//! - §9.7.1: a comp-filter matches in a scope (the calendar object for the
//!   top filter, else the enclosing component's child components) when
//!   some component of that name matches all its prop-filters, all its
//!   comp-filters and its time-range; with is-not-defined, when no
//!   component of that name exists. A filter with is-not-defined ignores
//!   its other conditions (the DTD forbids combining them).
//! - §9.7.2: a prop-filter matches when some property of that name in the
//!   component matches its text-match, all its param-filters and its
//!   time-range — all on the *same* property (so ATTENDEE "lisa" with
//!   PARTSTAT "NEEDS-ACTION" needs one ATTENDEE that has both); with
//!   is-not-defined, when no property of that name exists.
//! - §9.7.3: a param-filter matches when the property has the parameter
//!   and its text-match (if any) matches a value of it; with
//!   is-not-defined, when the property lacks the parameter.
//! - §9.7.5: see [`TextMatch::matches_any`]: negate-condition inverts the
//!   result for the property (or parameter) as a whole, and a negated
//!   text-match still needs the property to exist.
//! - Component, property and parameter names are compared without regard
//!   to ASCII case; `X-` names work like any other.
//! - Time ranges are evaluated last, after the cheap text conditions.
//! - Filters nested deeper than [`MAX_FILTER_DEPTH`] never match.
//!
//! # Text of a value
//!
//! A text-match is tried on the value as iCalendar text, unescaped:
//! TEXT values as they are, enumerated values by name (`NEEDS-ACTION`),
//! URIs and CAL-ADDRESSes as written (`mailto:lisa@example.com`), dates as
//! `20060104` or `20060104T100000Z` (no TZID: it is a parameter), numbers,
//! durations, periods and RRULEs in their iCalendar form. Inline binary
//! values (`ENCODING=BASE64`, `data:` URIs) have empty text. When a
//! property has several values, the candidates are the values joined as
//! written (`,` for lists such as CATEGORIES, RESOURCES, EXDATE, RDATE,
//! FREEBUSY; `;` for structured values such as GEO, REQUEST-STATUS and the
//! `;`-split values of unknown/X- properties) and, for the comma lists
//! only, each value alone: `CATEGORIES:WORK,MEETING` matches "meeting" and
//! "work,meet"; with negate-condition "work" it does not match. Parameter
//! values work the same way (a list of `,` values, each tried alone and
//! joined). Parameters are seen as calcard keeps them: it consumes
//! ENCODING and CHARSET while decoding, and adds `VALUE=DATE` to a DATE
//! written without it.

use std::borrow::Cow;

use calcard::common::{IanaString, PartialDateTime};
use calcard::icalendar::{
    ICalendar, ICalendarComponent, ICalendarComponentType, ICalendarEntry, ICalendarParameterName,
    ICalendarParameterValue, ICalendarProperty, ICalendarValue, ICalendarValueType, Uri,
};

use super::{TimeRange, TimeRangeEval};
use crate::collation::match_candidates;
pub use crate::collation::{Collation, MatchType, TextMatch};

/// Comp-filters nested deeper than this (counting the VCALENDAR filter as
/// depth 0) never match; iCalendar itself nests at most a few levels.
pub const MAX_FILTER_DEPTH: usize = 16;

/// `CALDAV:comp-filter` (RFC 4791 §9.7.1).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CompFilter {
    pub name: String,
    pub is_not_defined: bool,
    pub time_range: Option<TimeRange>,
    pub prop_filters: Vec<PropFilter>,
    pub comp_filters: Vec<CompFilter>,
}

/// `CALDAV:prop-filter` (RFC 4791 §9.7.2).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PropFilter {
    pub name: String,
    pub is_not_defined: bool,
    pub time_range: Option<TimeRange>,
    pub text_match: Option<TextMatch>,
    pub param_filters: Vec<ParamFilter>,
}

/// `CALDAV:param-filter` (RFC 4791 §9.7.3).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParamFilter {
    pub name: String,
    pub is_not_defined: bool,
    pub text_match: Option<TextMatch>,
}

impl CompFilter {
    /// An empty comp-filter: matches when a component of that name exists.
    pub fn new(name: impl Into<String>) -> CompFilter {
        CompFilter {
            name: name.into(),
            ..CompFilter::default()
        }
    }
}

impl PropFilter {
    /// An empty prop-filter: matches when a property of that name exists.
    pub fn new(name: impl Into<String>) -> PropFilter {
        PropFilter {
            name: name.into(),
            ..PropFilter::default()
        }
    }
}

impl ParamFilter {
    /// An empty param-filter: matches when the parameter exists.
    pub fn new(name: impl Into<String>) -> ParamFilter {
        ParamFilter {
            name: name.into(),
            ..ParamFilter::default()
        }
    }
}

/// Does the calendar object `cal` match `filter`, the comp-filter child of
/// `CALDAV:filter` (RFC 4791 §9.7)? Its scope is the calendar object
/// itself, i.e. the root component `cal.components[0]`, which must be
/// named as the filter (VCALENDAR) for the filter to match.
pub fn matches(cal: &ICalendar, filter: &CompFilter, time: &dyn TimeRangeEval) -> bool {
    const ROOT: [u32; 1] = [0];
    let scope: &[u32] = if cal.components.is_empty() {
        &[]
    } else {
        &ROOT
    };
    Eval { cal, time }.comp_filter(scope, None, filter, 0)
}

struct Eval<'a> {
    cal: &'a ICalendar,
    time: &'a dyn TimeRangeEval,
}

impl Eval<'_> {
    fn component(&self, id: u32) -> Option<&ICalendarComponent> {
        self.cal.components.get(usize::try_from(id).ok()?)
    }

    /// §9.7.1 over the components `scope` (children of `parent`).
    fn comp_filter(
        &self,
        scope: &[u32],
        parent: Option<u32>,
        filter: &CompFilter,
        depth: usize,
    ) -> bool {
        if depth > MAX_FILTER_DEPTH {
            return false;
        }
        let mut named = scope.iter().copied().filter(|&id| {
            self.component(id)
                .is_some_and(|c| c.component_type.as_str().eq_ignore_ascii_case(&filter.name))
        });
        if filter.is_not_defined {
            return named.next().is_none();
        }
        named.any(|id| self.component_matches(id, parent, filter, depth))
    }

    fn component_matches(
        &self,
        id: u32,
        parent: Option<u32>,
        filter: &CompFilter,
        depth: usize,
    ) -> bool {
        let Some(comp) = self.component(id) else {
            return false;
        };
        filter
            .prop_filters
            .iter()
            .all(|pf| self.prop_filter(id, comp, pf))
            && filter
                .comp_filters
                .iter()
                .all(|cf| self.comp_filter(&comp.component_ids, Some(id), cf, depth + 1))
            && filter.time_range.as_ref().is_none_or(|range| {
                let alarm_parent = match comp.component_type {
                    ICalendarComponentType::VAlarm => parent,
                    _ => None,
                };
                self.time.component_overlaps(id, alarm_parent, range)
            })
    }

    /// §9.7.2 over the properties of component `comp_id`.
    fn prop_filter(&self, comp_id: u32, comp: &ICalendarComponent, filter: &PropFilter) -> bool {
        let mut named = comp
            .entries
            .iter()
            .enumerate()
            .filter(|(_, entry)| entry.name.as_str().eq_ignore_ascii_case(&filter.name));
        if filter.is_not_defined {
            return named.next().is_none();
        }
        named.any(|(index, entry)| {
            filter
                .text_match
                .as_ref()
                .is_none_or(|tm| tm.matches_any(entry_texts(entry)))
                && filter
                    .param_filters
                    .iter()
                    .all(|pf| param_filter(entry, pf))
                && filter
                    .time_range
                    .as_ref()
                    .is_none_or(|range| self.time.property_overlaps(comp_id, index, range))
        })
    }
}

/// §9.7.3 on one property.
fn param_filter(entry: &ICalendarEntry, filter: &ParamFilter) -> bool {
    let values: Vec<Cow<'_, str>> = entry
        .params
        .iter()
        .filter(|p| p.name.as_str().eq_ignore_ascii_case(&filter.name))
        .map(|p| param_text(&p.name, &p.value))
        .collect();
    if filter.is_not_defined {
        return values.is_empty();
    }
    !values.is_empty()
        && filter
            .text_match
            .as_ref()
            .is_none_or(|tm| tm.matches_any(match_candidates(values, ",", true)))
}

/// The texts a text-match is tried on for a property (see the module
/// documentation).
pub fn entry_texts(entry: &ICalendarEntry) -> Vec<Cow<'_, str>> {
    let declared = declared_value_type(entry);
    let values = entry
        .values
        .iter()
        .map(|v| value_text(v, declared))
        .collect();
    let (separator, list_valued) = value_separator(&entry.name);
    match_candidates(values, separator, list_valued)
}

/// How several values of a property are written (RFC 5545 §3.1.1): a
/// comma-separated list, or `;`-separated structured parts.
fn value_separator(name: &ICalendarProperty) -> (&'static str, bool) {
    match name {
        ICalendarProperty::Categories
        | ICalendarProperty::Resources
        | ICalendarProperty::Freebusy
        | ICalendarProperty::Exdate
        | ICalendarProperty::Rdate
        | ICalendarProperty::LocationType => (",", true),
        _ => (";", false),
    }
}

/// The VALUE parameter of a property, when it names a known type.
fn declared_value_type(entry: &ICalendarEntry) -> Option<ICalendarValueType> {
    entry.params.iter().find_map(|p| match (&p.name, &p.value) {
        (ICalendarParameterName::Value, ICalendarParameterValue::Value(t)) => Some(*t),
        _ => None,
    })
}

/// One value as iCalendar text, unescaped.
fn value_text(value: &ICalendarValue, declared: Option<ICalendarValueType>) -> Cow<'_, str> {
    match value {
        ICalendarValue::Text(text) => Cow::Borrowed(text),
        ICalendarValue::Uri(uri) => uri_text(uri),
        ICalendarValue::Binary(_) => Cow::Borrowed(""),
        ICalendarValue::Boolean(b) => Cow::Borrowed(if *b { "TRUE" } else { "FALSE" }),
        ICalendarValue::PartialDateTime(dt) => Cow::Owned(date_time_text(dt, declared)),
        ICalendarValue::Duration(d) => Cow::Owned(d.to_string()),
        ICalendarValue::RecurrenceRule(r) => Cow::Owned(r.to_string()),
        ICalendarValue::Period(p) => Cow::Owned(p.to_string()),
        ICalendarValue::Float(f) => Cow::Owned(f.to_string()),
        ICalendarValue::Integer(i) => Cow::Owned(i.to_string()),
        ICalendarValue::CalendarScale(v) => Cow::Borrowed(v.as_str()),
        ICalendarValue::Method(v) => Cow::Borrowed(v.as_str()),
        ICalendarValue::Classification(v) => Cow::Borrowed(v.as_str()),
        ICalendarValue::Status(v) => Cow::Borrowed(v.as_str()),
        ICalendarValue::Transparency(v) => Cow::Borrowed(v.as_str()),
        ICalendarValue::Action(v) => Cow::Borrowed(v.as_str()),
        ICalendarValue::BusyType(v) => Cow::Borrowed(v.as_str()),
        ICalendarValue::ParticipantType(v) => Cow::Borrowed(v.as_str()),
        ICalendarValue::ResourceType(v) => Cow::Borrowed(v.as_str()),
        ICalendarValue::Proximity(v) => Cow::Borrowed(v.as_str()),
    }
}

/// A URI as written; inline `data:` URIs have empty text.
fn uri_text(uri: &Uri) -> Cow<'_, str> {
    match uri {
        Uri::Location(location) => Cow::Borrowed(location),
        Uri::Data(_) => Cow::Borrowed(""),
    }
}

/// A DATE, DATE-TIME, TIME or UTC-OFFSET in its RFC 5545 §3.3 form, of the
/// declared VALUE type or else of the type its parts show.
fn date_time_text(dt: &PartialDateTime, declared: Option<ICalendarValueType>) -> String {
    use ICalendarValueType as T;
    let format = match declared {
        Some(t @ (T::Date | T::DateTime | T::Time | T::UtcOffset)) => t,
        _ if dt.has_date() && dt.has_time() => T::DateTime,
        _ if dt.has_date() => T::Date,
        _ if dt.has_time() => T::Time,
        _ => T::UtcOffset,
    };
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = dt.format_as_ical(&mut out, &format);
    out
}

/// A parameter value as written, unquoted.
fn param_text<'a>(
    name: &ICalendarParameterName,
    value: &'a ICalendarParameterValue,
) -> Cow<'a, str> {
    use ICalendarParameterValue as V;
    match value {
        V::Text(text) => Cow::Borrowed(text),
        V::Integer(i) => Cow::Owned(i.to_string()),
        // calcard keeps RANGE=THISANDFUTURE as a boolean.
        V::Bool(true) if *name == ICalendarParameterName::Range => Cow::Borrowed("THISANDFUTURE"),
        V::Bool(b) => Cow::Borrowed(if *b { "TRUE" } else { "FALSE" }),
        V::Uri(uri) => uri_text(uri),
        V::Cutype(v) => Cow::Borrowed(v.as_str()),
        V::Fbtype(v) => Cow::Borrowed(v.as_str()),
        V::Partstat(v) => Cow::Borrowed(v.as_str()),
        V::Related(v) => Cow::Borrowed(v.as_str()),
        V::Reltype(v) => Cow::Borrowed(v.as_str()),
        V::Role(v) => Cow::Borrowed(v.as_str()),
        V::ScheduleAgent(v) => Cow::Borrowed(v.as_str()),
        V::ScheduleForceSend(v) => Cow::Borrowed(v.as_str()),
        V::Value(v) => Cow::Borrowed(v.as_str()),
        V::Display(v) => Cow::Borrowed(v.as_str()),
        V::Feature(v) => Cow::Borrowed(v.as_str()),
        V::Duration(d) => Cow::Owned(d.to_string()),
        V::Linkrel(v) => Cow::Borrowed(v.as_str()),
        V::Null => Cow::Borrowed(""),
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::*;
    use crate::ical::testdata::{appendix_b, parse};

    use Collation::{AsciiCasemap, Octet, UnicodeCasemap};

    /// Time-range evaluation that must not happen.
    struct NoTime;

    impl TimeRangeEval for NoTime {
        fn component_overlaps(&self, comp: u32, _: Option<u32>, _: &TimeRange) -> bool {
            panic!("unexpected component time-range test on {comp}")
        }
        fn property_overlaps(&self, comp: u32, entry: usize, _: &TimeRange) -> bool {
            panic!("unexpected property time-range test on {comp}/{entry}")
        }
    }

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Call {
        Comp(u32, Option<u32>),
        Prop(u32, usize),
    }

    /// Test double for [`TimeRangeEval`] — NOT the RFC 4791 §9.9 rules. It
    /// ignores the range, answers "overlaps" exactly for the component
    /// indexes and (component, entry) pairs it was given, and records every
    /// call so a test can check what the filter asked about.
    #[derive(Default)]
    struct ScriptedTime {
        comps: Vec<u32>,
        props: Vec<(u32, usize)>,
        calls: RefCell<Vec<Call>>,
    }

    impl ScriptedTime {
        fn comps(comps: &[u32]) -> ScriptedTime {
            ScriptedTime {
                comps: comps.to_vec(),
                ..ScriptedTime::default()
            }
        }
        fn props(props: &[(u32, usize)]) -> ScriptedTime {
            ScriptedTime {
                props: props.to_vec(),
                ..ScriptedTime::default()
            }
        }
        fn calls(&self) -> Vec<Call> {
            self.calls.borrow().clone()
        }
    }

    impl TimeRangeEval for ScriptedTime {
        fn component_overlaps(&self, comp: u32, parent: Option<u32>, _: &TimeRange) -> bool {
            self.calls.borrow_mut().push(Call::Comp(comp, parent));
            self.comps.contains(&comp)
        }
        fn property_overlaps(&self, comp: u32, entry: usize, _: &TimeRange) -> bool {
            self.calls.borrow_mut().push(Call::Prop(comp, entry));
            self.props.contains(&(comp, entry))
        }
    }

    fn range() -> TimeRange {
        use chrono::TimeZone;
        let start = chrono::Utc.with_ymd_and_hms(2006, 1, 4, 0, 0, 0).single();
        let end = chrono::Utc.with_ymd_and_hms(2006, 1, 5, 0, 0, 0).single();
        TimeRange::new(start, end)
    }

    fn calendar(children: Vec<CompFilter>) -> CompFilter {
        CompFilter {
            comp_filters: children,
            ..CompFilter::new("VCALENDAR")
        }
    }

    fn comp(name: &str, props: Vec<PropFilter>) -> CompFilter {
        CompFilter {
            prop_filters: props,
            ..CompFilter::new(name)
        }
    }

    fn text_prop(name: &str, text_match: TextMatch) -> PropFilter {
        PropFilter {
            text_match: Some(text_match),
            ..PropFilter::new(name)
        }
    }

    fn absent_prop(name: &str) -> PropFilter {
        PropFilter {
            is_not_defined: true,
            ..PropFilter::new(name)
        }
    }

    fn ascii(text: &str) -> TextMatch {
        TextMatch::contains(text, AsciiCasemap)
    }

    /// The Appendix B resources (by number) that match `filter`.
    fn matching(filter: &CompFilter) -> Vec<usize> {
        (1..=8)
            .filter(|&n| matches(&appendix_b(n), filter, &NoTime))
            .collect()
    }

    /// Whether the VEVENT/VTODO of `ics` (LF line ends) matches `props`.
    fn event_matches(ics: &str, props: Vec<PropFilter>) -> bool {
        let filter = calendar(vec![comp("VEVENT", props)]);
        matches(&parse(ics), &filter, &NoTime)
    }

    fn event(lines: &str) -> String {
        format!("BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//t//t//EN\nBEGIN:VEVENT\nUID:1\n{lines}\nEND:VEVENT\nEND:VCALENDAR\n")
    }

    #[test]
    fn fixtures_have_the_expected_shape() {
        let cal = appendix_b(4);
        let types: Vec<&str> = cal
            .components
            .iter()
            .map(|c| c.component_type.as_str())
            .collect();
        assert_eq!(types, ["VCALENDAR", "VTODO", "VALARM"]);
        assert_eq!(cal.components[0].component_ids, [1]);
        assert_eq!(cal.components[1].component_ids, [2]);
    }

    #[test]
    fn empty_vcalendar_filter_matches_every_object() {
        // Appendix B request: <C:comp-filter name="VCALENDAR"/>.
        assert_eq!(
            matching(&CompFilter::new("VCALENDAR")),
            (1..=8).collect::<Vec<_>>()
        );
        assert_eq!(matching(&CompFilter::new("vcalendar")).len(), 8);
        // The top scope is the calendar object: VEVENT is not at the top.
        assert!(matching(&CompFilter::new("VEVENT")).is_empty());
    }

    #[test]
    fn empty_calendar_object() {
        let empty = ICalendar::default();
        assert!(!matches(&empty, &CompFilter::new("VCALENDAR"), &NoTime));
        let not_defined = CompFilter {
            is_not_defined: true,
            ..CompFilter::new("VCALENDAR")
        };
        assert!(matches(&empty, &not_defined, &NoTime));
        assert!(!matches(&appendix_b(1), &not_defined, &NoTime));
    }

    #[test]
    fn rfc4791_7_8_1_events_by_time_range() {
        let filter = calendar(vec![CompFilter {
            time_range: Some(range()),
            ..CompFilter::new("VEVENT")
        }]);
        // abcd3: VCALENDAR(0) > VTIMEZONE(1) > DAYLIGHT(2), STANDARD(3); VEVENT(4).
        let time = ScriptedTime::comps(&[4]);
        assert!(matches(&appendix_b(3), &filter, &time));
        assert_eq!(time.calls(), [Call::Comp(4, None)]);
        // abcd2: the master (4) does not overlap but the override (5) does.
        let time = ScriptedTime::comps(&[5]);
        assert!(matches(&appendix_b(2), &filter, &time));
        assert_eq!(time.calls(), [Call::Comp(4, None), Call::Comp(5, None)]);
        // abcd1: nothing overlaps.
        let time = ScriptedTime::comps(&[]);
        assert!(!matches(&appendix_b(1), &filter, &time));
        // abcd4 has no VEVENT: no time-range question is asked.
        assert!(!matches(&appendix_b(4), &filter, &NoTime));
    }

    #[test]
    fn rfc4791_7_8_4_freebusy_by_time_range() {
        let filter = calendar(vec![CompFilter {
            time_range: Some(range()),
            ..CompFilter::new("VFREEBUSY")
        }]);
        let time = ScriptedTime::comps(&[1]);
        assert!(matches(&appendix_b(8), &filter, &time));
        assert_eq!(time.calls(), [Call::Comp(1, None)]);
    }

    #[test]
    fn rfc4791_7_8_5_todos_by_alarm_time_range() {
        let filter = calendar(vec![CompFilter {
            comp_filters: vec![CompFilter {
                time_range: Some(range()),
                ..CompFilter::new("VALARM")
            }],
            ..CompFilter::new("VTODO")
        }]);
        // abcd4: VCALENDAR(0) > VTODO(1) > VALARM(2): the alarm is tested
        // with its parent.
        let time = ScriptedTime::comps(&[2]);
        assert!(matches(&appendix_b(4), &filter, &time));
        assert_eq!(time.calls(), [Call::Comp(2, Some(1))]);
        let time = ScriptedTime::comps(&[]);
        assert!(!matches(&appendix_b(5), &filter, &time));
        // abcd6 has no VALARM.
        assert!(!matches(&appendix_b(6), &filter, &NoTime));
    }

    #[test]
    fn rfc4791_7_8_6_event_by_uid() {
        let uid = |text: &str, collation| {
            calendar(vec![comp(
                "VEVENT",
                vec![text_prop("UID", TextMatch::contains(text, collation))],
            )])
        };
        assert_eq!(
            matching(&uid("DC6C50A017428C5216A2F1CD@example.com", Octet)),
            [3]
        );
        assert!(matching(&uid("dc6c50a017428c5216a2f1cd@example.com", Octet)).is_empty());
        assert_eq!(
            matching(&uid("dc6c50a017428c5216a2f1cd@example.com", AsciiCasemap)),
            [3]
        );
        assert_eq!(matching(&uid("@EXAMPLE.COM", UnicodeCasemap)), [1, 2, 3]);
    }

    #[test]
    fn rfc4791_7_8_7_events_by_partstat() {
        let attendee = |who: &str, partstat: &str| {
            calendar(vec![comp(
                "VEVENT",
                vec![PropFilter {
                    param_filters: vec![ParamFilter {
                        text_match: Some(ascii(partstat)),
                        ..ParamFilter::new("PARTSTAT")
                    }],
                    ..text_prop("ATTENDEE", ascii(who))
                }],
            )])
        };
        assert_eq!(
            matching(&attendee("mailto:lisa@example.com", "NEEDS-ACTION")),
            [3]
        );
        assert_eq!(matching(&attendee("MAILTO:LISA@", "needs-action")), [3]);
        // Text and parameter must hold on the same ATTENDEE.
        assert!(matching(&attendee("mailto:cyrus@example.com", "NEEDS-ACTION")).is_empty());
        assert_eq!(matching(&attendee("cyrus", "ACCEPTED")), [3]);
    }

    #[test]
    fn rfc4791_7_8_8_events_only() {
        let filter = calendar(vec![CompFilter::new("VEVENT")]);
        assert_eq!(matching(&filter), [1, 2, 3]);
        let filter = calendar(vec![CompFilter::new("vtodo")]);
        assert_eq!(matching(&filter), [4, 5, 6, 7]);
    }

    #[test]
    fn rfc4791_7_8_9_pending_todos() {
        let filter = calendar(vec![comp(
            "VTODO",
            vec![
                absent_prop("COMPLETED"),
                text_prop("STATUS", ascii("CANCELLED").negated()),
            ],
        )]);
        assert_eq!(matching(&filter), [4, 5]);
    }

    #[test]
    fn rfc4791_7_8_10_x_property() {
        let filter = |text: &str| {
            calendar(vec![comp(
                "VEVENT",
                vec![text_prop("X-ABC-GUID", ascii(text))],
            )])
        };
        assert!(matching(&filter("ABC")).is_empty());
        assert_eq!(matching(&filter("0007YM-hz")), [3]);
        let lower = calendar(vec![comp(
            "vevent",
            vec![text_prop("x-abc-guid", ascii("e1cx5dr"))],
        )]);
        assert_eq!(matching(&lower), [3]);
        assert_eq!(
            matching(&calendar(vec![comp(
                "VEVENT",
                vec![PropFilter::new("X-ABC-GUID")]
            )])),
            [3]
        );
    }

    #[test]
    fn comp_is_not_defined() {
        let no_todo = calendar(vec![CompFilter {
            is_not_defined: true,
            ..CompFilter::new("VTODO")
        }]);
        assert_eq!(matching(&no_todo), [1, 2, 3, 8]);
        let todo_without_alarm = calendar(vec![CompFilter {
            comp_filters: vec![CompFilter {
                is_not_defined: true,
                ..CompFilter::new("VALARM")
            }],
            ..CompFilter::new("VTODO")
        }]);
        assert_eq!(matching(&todo_without_alarm), [6, 7]);
        // is-not-defined ignores the other (DTD-forbidden) conditions.
        let odd = calendar(vec![CompFilter {
            is_not_defined: true,
            time_range: Some(range()),
            prop_filters: vec![PropFilter::new("UID")],
            ..CompFilter::new("VJOURNAL")
        }]);
        assert_eq!(matching(&odd).len(), 8);
    }

    #[test]
    fn nested_comp_filters_all_must_match() {
        let filter = calendar(vec![
            CompFilter::new("VTIMEZONE"),
            comp("VEVENT", vec![text_prop("SUMMARY", ascii("event #3"))]),
        ]);
        assert_eq!(matching(&filter), [3]);
        let standard = calendar(vec![CompFilter {
            comp_filters: vec![comp("STANDARD", vec![text_prop("TZNAME", ascii("EST"))])],
            ..CompFilter::new("VTIMEZONE")
        }]);
        assert_eq!(matching(&standard), [1, 2, 3]);
    }

    #[test]
    fn prop_is_not_defined_and_existence() {
        let no_rrule = calendar(vec![comp("VEVENT", vec![absent_prop("RRULE")])]);
        // abcd2 has an override without RRULE, so some VEVENT matches.
        assert_eq!(matching(&no_rrule), [1, 2, 3]);
        let rrule = calendar(vec![comp("VEVENT", vec![PropFilter::new("rrule")])]);
        assert_eq!(matching(&rrule), [2]);
        let no_description = calendar(vec![comp("VEVENT", vec![absent_prop("DESCRIPTION")])]);
        assert_eq!(matching(&no_description), [2, 3]);
    }

    #[test]
    fn param_is_not_defined_and_existence() {
        let attendee_params = |param: ParamFilter| {
            calendar(vec![comp(
                "VEVENT",
                vec![PropFilter {
                    param_filters: vec![param],
                    ..PropFilter::new("ATTENDEE")
                }],
            )])
        };
        // lisa's ATTENDEE has no ROLE.
        let no_role = ParamFilter {
            is_not_defined: true,
            ..ParamFilter::new("ROLE")
        };
        assert_eq!(matching(&attendee_params(no_role)), [3]);
        let no_partstat = ParamFilter {
            is_not_defined: true,
            ..ParamFilter::new("partstat")
        };
        assert!(matching(&attendee_params(no_partstat)).is_empty());
        assert_eq!(matching(&attendee_params(ParamFilter::new("role"))), [3]);
        assert!(matching(&attendee_params(ParamFilter::new("RSVP"))).is_empty());
    }

    #[test]
    fn negate_condition() {
        let status = |tm| calendar(vec![comp("VEVENT", vec![text_prop("STATUS", tm)])]);
        assert!(matching(&status(ascii("TENTATIVE").negated())).is_empty());
        assert_eq!(matching(&status(ascii("CANCELLED").negated())), [3]);
        // A negated text-match still needs the property (abcd1 has no STATUS).
        assert!(!matching(&status(ascii("X").negated())).contains(&1));
        let partstat = |tm| {
            calendar(vec![comp(
                "VEVENT",
                vec![PropFilter {
                    param_filters: vec![ParamFilter {
                        text_match: Some(tm),
                        ..ParamFilter::new("PARTSTAT")
                    }],
                    ..PropFilter::new("ATTENDEE")
                }],
            )])
        };
        // cyrus ACCEPTED is not NEEDS-ACTION.
        assert_eq!(matching(&partstat(ascii("NEEDS-ACTION").negated())), [3]);
        assert!(matching(&partstat(ascii("E").negated())).is_empty());
    }

    #[test]
    fn collations_on_summary() {
        let summary = |tm| calendar(vec![comp("VEVENT", vec![text_prop("SUMMARY", tm)])]);
        assert_eq!(matching(&summary(ascii("event #1"))), [1]);
        assert!(matching(&summary(TextMatch::contains("event #1", Octet))).is_empty());
        assert_eq!(
            matching(&summary(TextMatch::contains("Event #1", Octet))),
            [1]
        );
        let ics = event("SUMMARY:Réunion à Zürich\nLOCATION:Straße 1");
        let tm = |text: &str, collation| {
            vec![text_prop("SUMMARY", TextMatch::contains(text, collation))]
        };
        assert!(event_matches(&ics, tm("RÉUNION", UnicodeCasemap)));
        assert!(!event_matches(&ics, tm("RÉUNION", AsciiCasemap)));
        assert!(event_matches(&ics, tm("RéUNION", AsciiCasemap)));
        assert!(event_matches(&ics, tm("zürich", UnicodeCasemap)));
        assert!(event_matches(
            &ics,
            vec![text_prop(
                "LOCATION",
                TextMatch::contains("STRASSE", UnicodeCasemap)
            )]
        ));
        // Match types other than contains work too (for reuse by CardDAV).
        let equals = TextMatch {
            match_type: MatchType::Equals,
            ..TextMatch::contains("réunion à zürich", UnicodeCasemap)
        };
        assert!(event_matches(&ics, vec![text_prop("SUMMARY", equals)]));
    }

    #[test]
    fn names_are_case_insensitive() {
        // abcd1 writes its property as "Description".
        let filter = calendar(vec![comp(
            "vEvent",
            vec![text_prop("DESCRIPTION", ascii("steelers"))],
        )]);
        assert_eq!(matching(&filter), [1]);
        let filter = calendar(vec![comp(
            "VEVENT",
            vec![text_prop("description", ascii("GO "))],
        )]);
        assert_eq!(matching(&filter), [1]);
    }

    #[test]
    fn x_properties_and_x_parameters() {
        let ics = event("X-MOZ-GENERATION:3\nATTENDEE;X-NUM-GUESTS=2;x-custom=\"a,b\":mailto:a@b.c\nX-FOO;X-BAR=Baz:one;two");
        assert!(event_matches(
            &ics,
            vec![text_prop("x-moz-generation", ascii("3"))]
        ));
        let with_param = |name: &str, tm: Option<TextMatch>| {
            vec![PropFilter {
                param_filters: vec![ParamFilter {
                    text_match: tm,
                    ..ParamFilter::new(name)
                }],
                ..PropFilter::new("ATTENDEE")
            }]
        };
        assert!(event_matches(
            &ics,
            with_param("X-NUM-GUESTS", Some(ascii("2")))
        ));
        assert!(event_matches(
            &ics,
            with_param("X-CUSTOM", Some(ascii("A,B")))
        ));
        assert!(!event_matches(
            &ics,
            with_param("X-NUM-GUESTS", Some(ascii("3")))
        ));
        assert!(!event_matches(&ics, with_param("X-OTHER", None)));
        // calcard splits an unknown property's value on ';': the text is the
        // joined value as written.
        assert!(event_matches(
            &ics,
            vec![text_prop("X-FOO", ascii("ONE;TWO"))]
        ));
        let x_param = vec![PropFilter {
            param_filters: vec![ParamFilter {
                text_match: Some(ascii("baz")),
                ..ParamFilter::new("x-bar")
            }],
            ..PropFilter::new("X-FOO")
        }];
        assert!(event_matches(&ics, x_param));
    }

    #[test]
    fn multi_valued_properties() {
        let ics =
            event("CATEGORIES:WORK,Project Meeting\nCATEGORIES:Other\nRESOURCES:PROJECTOR,EASEL");
        let cat = |tm| vec![text_prop("CATEGORIES", tm)];
        assert!(event_matches(&ics, cat(ascii("meeting"))));
        assert!(event_matches(&ics, cat(ascii("work,project"))));
        let equals = |text: &str| TextMatch {
            match_type: MatchType::Equals,
            ..ascii(text)
        };
        assert!(event_matches(&ics, cat(equals("work"))));
        assert!(event_matches(&ics, cat(equals("WORK,PROJECT MEETING"))));
        assert!(!event_matches(&ics, cat(equals("work,"))));
        // Negation: some CATEGORIES property (the second) lacks "work".
        assert!(event_matches(&ics, cat(ascii("work").negated())));
        let only_one = event("CATEGORIES:WORK,Project Meeting");
        assert!(!event_matches(&only_one, cat(ascii("work").negated())));
        assert!(event_matches(
            &ics,
            vec![text_prop("RESOURCES", equals("easel"))]
        ));
    }

    #[test]
    fn non_text_values_use_their_icalendar_text() {
        let ics = event(concat!(
            "DTSTART;TZID=Europe/Paris:20060102T100000\n",
            "DTEND:20060102T110000Z\n",
            "DUE;VALUE=DATE:20060104\n",
            "DURATION:PT1H30M\n",
            "RRULE:FREQ=DAILY;COUNT=5\n",
            "EXDATE:20060103T100000Z,20060104T100000Z\n",
            "PRIORITY:1\n",
            "GEO:37.386013;-122.082932\n",
            "CLASS:CONFIDENTIAL\n",
            "TRANSP:TRANSPARENT\n",
            "ORGANIZER;CN=\"Cyrus\":mailto:cyrus@example.com\n",
            "URL:https://example.com/x\n",
            "ATTENDEE;RSVP=TRUE;CUTYPE=ROOM;DELEGATED-FROM=\"mailto:a@b.c\":mailto:room@example.com\n",
            "RECURRENCE-ID;RANGE=THISANDFUTURE:20060102T100000Z\n",
            "REQUEST-STATUS:2.0;Success\n",
            "ATTACH;ENCODING=BASE64;VALUE=BINARY:SGVsbG8=",
        ));
        let has = |prop: &str, text: &str| event_matches(&ics, vec![text_prop(prop, ascii(text))]);
        assert!(has("DTSTART", "20060102T100000"));
        assert!(
            !has("DTSTART", "Paris"),
            "TZID is a parameter, not the value"
        );
        assert!(has("DTEND", "20060102T110000Z"));
        assert!(has("DUE", "20060104"));
        assert!(!has("DUE", "T"), "a DATE has no time part");
        assert!(has("DURATION", "PT1H30M"));
        assert!(has("RRULE", "FREQ=DAILY;COUNT=5"));
        assert!(has("EXDATE", "20060103T100000Z,20060104T100000Z"));
        assert!(has("PRIORITY", "1"));
        assert!(has("GEO", "37.386013;-122.082932"));
        assert!(has("CLASS", "confidential"));
        assert!(has("TRANSP", "TRANSPARENT"));
        assert!(has("ORGANIZER", "MAILTO:cyrus@"));
        assert!(has("URL", "https://example.com/x"));
        assert!(has("REQUEST-STATUS", "2.0;success"));
        assert!(has("ATTACH", ""));
        assert!(!has("ATTACH", "SGVs"), "inline binary has empty text");
        let param = |prop: &str, name: &str, text: &str| {
            event_matches(
                &ics,
                vec![PropFilter {
                    param_filters: vec![ParamFilter {
                        text_match: Some(ascii(text)),
                        ..ParamFilter::new(name)
                    }],
                    ..PropFilter::new(prop)
                }],
            )
        };
        assert!(param("ATTENDEE", "RSVP", "TRUE"));
        assert!(param("ATTENDEE", "CUTYPE", "room"));
        assert!(param("ATTENDEE", "DELEGATED-FROM", "mailto:a@b.c"));
        assert!(param("ORGANIZER", "CN", "cyrus"));
        assert!(param("RECURRENCE-ID", "RANGE", "THISANDFUTURE"));
        assert!(param("DUE", "VALUE", "DATE"));
        assert!(param("DTSTART", "TZID", "europe/paris"));
    }

    #[test]
    fn property_time_range_is_asked_per_property() {
        let filter = calendar(vec![comp(
            "VTODO",
            vec![PropFilter {
                time_range: Some(range()),
                ..PropFilter::new("COMPLETED")
            }],
        )]);
        // abcd6: VTODO(1), COMPLETED is its entry 0.
        let time = ScriptedTime::props(&[(1, 0)]);
        assert!(matches(&appendix_b(6), &filter, &time));
        assert_eq!(time.calls(), [Call::Prop(1, 0)]);
        let time = ScriptedTime::props(&[]);
        assert!(!matches(&appendix_b(6), &filter, &time));
        // No COMPLETED: nothing to ask.
        assert!(!matches(&appendix_b(4), &filter, &NoTime));
    }

    #[test]
    fn time_range_is_evaluated_after_text_conditions() {
        let filter = calendar(vec![CompFilter {
            time_range: Some(range()),
            prop_filters: vec![text_prop("SUMMARY", ascii("Event #3"))],
            ..CompFilter::new("VEVENT")
        }]);
        // abcd1's VEVENT fails on SUMMARY: the time range is never asked.
        assert!(!matches(&appendix_b(1), &filter, &NoTime));
        let time = ScriptedTime::comps(&[4]);
        assert!(matches(&appendix_b(3), &filter, &time));
        assert_eq!(time.calls(), [Call::Comp(4, None)]);
    }

    #[test]
    fn deep_filters_do_not_match_and_do_not_overflow() {
        let mut filter = CompFilter::new("VALARM");
        for _ in 0..10_000 {
            filter = CompFilter {
                comp_filters: vec![filter],
                ..CompFilter::new("VEVENT")
            };
        }
        let filter = calendar(vec![filter]);
        assert!(matching(&filter).is_empty());
        // Dropping a 10 000-deep filter recursively is the test's own
        // problem, not the library's: unwind it iteratively.
        let mut stack = vec![filter];
        while let Some(mut f) = stack.pop() {
            stack.append(&mut f.comp_filters);
        }
    }

    #[test]
    fn malformed_component_tree_does_not_panic() {
        let mut cal = appendix_b(4);
        cal.components[0].component_ids.push(99);
        cal.components[1].component_ids.push(0); // a cycle
        let filter = calendar(vec![CompFilter {
            comp_filters: vec![CompFilter {
                comp_filters: vec![CompFilter::new("VCALENDAR")],
                ..CompFilter::new("VTODO")
            }],
            ..CompFilter::new("VTODO")
        }]);
        assert!(!matches(&cal, &filter, &NoTime));
        let filter = calendar(vec![comp("VTODO", vec![PropFilter::new("UID")])]);
        assert!(matches(&cal, &filter, &NoTime));
    }

    #[test]
    fn odd_inputs_do_not_panic() {
        let deep = format!(
            "BEGIN:VCALENDAR\n{}{}END:VCALENDAR\n",
            "BEGIN:X-A\nX-P:v\n".repeat(200),
            "END:X-A\n".repeat(200)
        );
        let inputs = [
            "BEGIN:VCALENDAR\nEND:VCALENDAR\n".to_string(),
            "BEGIN:VCALENDAR\nBEGIN:VEVENT\nSUMMARY\n;;:\nSUMMARY;X=:\nEND:VCALENDAR\n".to_string(),
            "BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART:garbage\nRRULE:FREQ=NEVER\nATTENDEE;PARTSTAT:\nEND:VEVENT\n".to_string(),
            "BEGIN:VEVENT\nUID:x\nEND:VEVENT\n".to_string(),
            deep,
        ];
        let filter = calendar(vec![
            comp(
                "VEVENT",
                vec![
                    text_prop("SUMMARY", ascii("")),
                    PropFilter {
                        param_filters: vec![ParamFilter {
                            text_match: Some(ascii("x").negated()),
                            ..ParamFilter::new("PARTSTAT")
                        }],
                        ..PropFilter::new("ATTENDEE")
                    },
                ],
            ),
            CompFilter {
                comp_filters: vec![comp("X-A", vec![text_prop("X-P", ascii("V"))])],
                ..CompFilter::new("X-A")
            },
        ]);
        let everything = crate::ical::select::CompSelection::all("VCALENDAR");
        for input in inputs {
            let Ok(cal) = ICalendar::parse(crate::ical::testdata::crlf(&input)) else {
                continue;
            };
            let _ = matches(&cal, &filter, &NoTime);
            let _ = matches(&cal, &CompFilter::new("VCALENDAR"), &NoTime);
            let out = crate::ical::select::select(&cal, &everything);
            assert_eq!(out.matches("BEGIN:").count(), out.matches("END:").count());
        }
    }
}
