//! Partial retrieval rules that depend on time (RFC 4791 §9.6.5 expand,
//! §9.6.6 limit-recurrence-set, §9.6.7 limit-freebusy-set). Each returns a
//! new calcard `ICalendar`; [`write_ical`] serializes it (CRLF, folded).

use calcard::{
    common::PartialDateTime,
    icalendar::{
        ICalendar, ICalendarComponent, ICalendarComponentType, ICalendarEntry, ICalendarParameter,
        ICalendarParameterName, ICalendarParameterValue, ICalendarProperty, ICalendarValue,
        ICalendarValueType,
    },
};
use chrono::{DateTime, Datelike, NaiveDate, Timelike, Utc};

use super::{
    object::CalendarObject,
    recur::{instances, period_secs, Instance, Kind, Timing},
    select::{CompSelection, Selector},
    timerange::TimeContext,
    tz::{offset_of, TzResolver},
    TimeRange,
};

/// Serializes a calendar with calcard's writer: CRLF line endings, lines
/// folded at 75 octets.
pub fn write_ical(ical: &ICalendar) -> String {
    let mut out = String::with_capacity(1024);
    let _ = ical.write_to(&mut out);
    out
}

/// Why an expansion stopped before its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpandLimit {
    /// More instances overlap the range than [`ExpandLimits::max_instances`]
    /// (RFC 4791 §5.2.8 `max-instances`).
    Instances,
    /// The text would grow beyond [`ExpandLimits::max_bytes`].
    Bytes,
    /// The compute job's budget is spent or its request is gone
    /// ([`crate::compute`]).
    Interrupted,
}

/// What one expansion may produce.
#[derive(Debug, Clone, Copy)]
pub struct ExpandLimits {
    pub max_instances: usize,
    pub max_bytes: usize,
}

/// RFC 4791 §9.6.5: every instance of the object that overlaps `range`
/// (by the §9.9 rules) as its own component, in document order of start:
/// instances of a recurring set carry a RECURRENCE-ID (its original start)
/// and no RRULE / RDATE / EXDATE / EXRULE; DTSTART, DTEND and DUE are the
/// instance's; every DATE-TIME with a TZID or floating is converted to UTC
/// (floating ones with the calendar's zone, the resolver's default); DATE
/// values stay DATEs. No VTIMEZONE is included. The VCALENDAR keeps its
/// own properties. `selection` (§9.6.1) applies to the expanded result.
///
/// The text is written to `out` one instance at a time, so the work and
/// the memory are those of the text produced: an instance never copies
/// the recurrence lists of its master. It stops with an [`ExpandLimit`]
/// (what was written is then incomplete) when more than
/// `limits.max_instances` instances overlap the range or the text would
/// pass `limits.max_bytes`.
pub fn expand_into(
    obj: &CalendarObject,
    resolver: &TzResolver,
    range: &TimeRange,
    selection: Option<&CompSelection>,
    limits: ExpandLimits,
    out: &mut String,
) -> Result<(), ExpandLimit> {
    let Some(selector) = Selector::new(selection, obj.root().component_type.as_str()) else {
        return Ok(());
    };
    let ctx = TimeContext::with_resolver(obj, resolver.clone());
    let found = instances(obj, resolver, range, limits.max_instances.saturating_add(1));
    if crate::compute::interrupted() {
        return Err(ExpandLimit::Interrupted);
    }
    if found.truncated || found.items.len() > limits.max_instances {
        return Err(ExpandLimit::Instances);
    }
    let start_len = out.len();
    selector.begin_root(obj.root(), out);
    let recurring = obj.is_recurring();
    for inst in found.iter().filter(|i| ctx.instance_overlaps(i, range)) {
        let mut one = ICalendar { components: Vec::new() };
        copy_tree(&obj.ical, inst.comp, &mut one, Some(resolver), recurring);
        if recurring {
            set_instance_times(&mut one.components[0], inst, resolver);
        }
        selector.write_child(&one, 0, out);
        if out.len() - start_len > limits.max_bytes {
            return Err(ExpandLimit::Bytes);
        }
        if !crate::compute::charge(1) {
            return Err(ExpandLimit::Interrupted);
        }
    }
    selector.end_root(obj.root(), out);
    if out.len() - start_len > limits.max_bytes {
        return Err(ExpandLimit::Bytes);
    }
    Ok(())
}

/// [`expand_into`] without limits, as text.
#[cfg(test)]
pub fn expand_text(obj: &CalendarObject, resolver: &TzResolver, range: &TimeRange) -> String {
    let mut out = String::new();
    let unlimited = ExpandLimits { max_instances: usize::MAX - 1, max_bytes: usize::MAX };
    expand_into(obj, resolver, range, None, unlimited, &mut out).expect("no limit");
    out
}

/// RFC 4791 §9.6.6: the object with, besides its master (and any
/// non-override component), only the overridden components that impact
/// `range`: whose current or original (master's start and duration at the
/// RECURRENCE-ID) times overlap it by the §9.9 rules, and the
/// RANGE=THISANDFUTURE overrides whose affected instances can reach it.
/// Everything else, VTIMEZONEs included, is kept as is.
pub fn limit_recurrence_set(
    obj: &CalendarObject,
    resolver: &TzResolver,
    range: &TimeRange,
) -> ICalendar {
    let ctx = TimeContext::with_resolver(obj, resolver.clone());
    let timings: Vec<Timing<'_>> = obj
        .main_components()
        .iter()
        .filter_map(|&i| Timing::read(&obj.ical, i, resolver).ok())
        .collect();
    let master = timings
        .iter()
        .find(|t| t.rid.is_none() && t.dtstart.is_some());
    let (_, e) = range.millis();
    let mut drop = Vec::new();
    for t in timings.iter().filter(|t| t.rid.is_some()) {
        let Some(rid) = t.rid_utc(&timings) else {
            continue;
        };
        let current = t.single_instance(Some(rid));
        let mut impacts = current.is_some_and(|i| ctx.instance_overlaps(&i, range));
        if !impacts {
            let original = match master {
                Some(m) => m.dtstart.as_ref().map(|start| {
                    let at = DateTime::from_timestamp(rid, 0).unwrap_or_default();
                    let local = start.zone.utc_to_local(at);
                    Instance {
                        comp: m.idx,
                        recurrence_id: Some(at),
                        start: at,
                        end: DateTime::from_timestamp(
                            m.end_spec().end_of(local, rid, &start.zone),
                            0,
                        )
                        .unwrap_or(at),
                        is_date: start.is_date,
                        floating: start.floating,
                    }
                }),
                None => current.map(|c| Instance {
                    start: c.recurrence_id.unwrap_or(c.start),
                    end: c.recurrence_id.unwrap_or(c.start) + (c.end - c.start),
                    ..c
                }),
            };
            impacts = original.is_some_and(|i| ctx.instance_overlaps(&i, range));
        }
        if !impacts && t.this_and_future {
            // Later instances move by the override's shift.
            let shift = current.map_or(0, |c| c.start.timestamp() - rid);
            impacts = rid.saturating_add(shift.min(0)).saturating_mul(1000) < e;
        }
        if !impacts && t.kind != Kind::Other {
            drop.push(t.idx);
        }
    }
    let mut ical = obj.ical.clone();
    if !drop.is_empty() {
        ical.remove_component_ids(&drop);
    }
    ical
}

/// [`limit_recurrence_set`], serialized.
pub fn limit_recurrence_set_text(
    obj: &CalendarObject,
    resolver: &TzResolver,
    range: &TimeRange,
) -> String {
    write_ical(&limit_recurrence_set(obj, resolver, range))
}

/// RFC 4791 §9.6.7: the object with, in its VFREEBUSY components, only the
/// FREEBUSY values that overlap `range` (`start < period-end AND end >
/// period-start`, §9.9); a FREEBUSY property left without value is removed.
pub fn limit_freebusy_set(obj: &CalendarObject, range: &TimeRange) -> ICalendar {
    let (s, e) = range.millis();
    let mut ical = obj.ical.clone();
    for comp in ical
        .components
        .iter_mut()
        .filter(|c| c.component_type == ICalendarComponentType::VFreebusy)
    {
        comp.entries.retain_mut(|entry| {
            if entry.name != ICalendarProperty::Freebusy {
                return true;
            }
            entry.values.retain(|v| match v {
                ICalendarValue::Period(p) => period_secs(p).is_some_and(|(ps, pe)| {
                    s < pe.saturating_mul(1000) && e > ps.saturating_mul(1000)
                }),
                _ => true,
            });
            !entry.values.is_empty()
        });
    }
    ical
}

/// [`limit_freebusy_set`], serialized.
pub fn limit_freebusy_set_text(obj: &CalendarObject, range: &TimeRange) -> String {
    write_ical(&limit_freebusy_set(obj, range))
}

/// Copies component `root` of `src` and its sub-components into `out`
/// (iteratively), converting local DATE-TIMEs to UTC when a resolver is
/// given, and leaving out the root's recurrence properties (RRULE, RDATE,
/// EXDATE, EXRULE) with `without_recurrence`. Returns the copy's index.
fn copy_tree(
    src: &ICalendar,
    root: u32,
    out: &mut ICalendar,
    resolver: Option<&TzResolver>,
    without_recurrence: bool,
) -> u32 {
    let copy = |comp: &ICalendarComponent, skip_recurrence: bool| ICalendarComponent {
        component_type: comp.component_type.clone(),
        entries: comp
            .entries
            .iter()
            .filter(|e| !(skip_recurrence && is_recurrence_property(&e.name)))
            .map(|e| match resolver {
                Some(r) => utc_entry(e, r),
                None => e.clone(),
            })
            .collect(),
        component_ids: Vec::new(),
    };
    let new_root = out.components.len() as u32;
    out.components.push(copy(&src.components[root as usize], without_recurrence));
    let mut stack = vec![(root, new_root)];
    while let Some((from, to)) = stack.pop() {
        for &child in &src.components[from as usize].component_ids {
            let Some(comp) = src.components.get(child as usize) else {
                continue;
            };
            let idx = out.components.len() as u32;
            out.components.push(copy(comp, false));
            out.components[to as usize].component_ids.push(idx);
            stack.push((child, idx));
        }
    }
    new_root
}

/// A property with its local (TZID or floating) DATE-TIME values in UTC
/// and without TZID (RFC 4791 §9.6.5). DATE values are kept.
fn utc_entry(entry: &ICalendarEntry, resolver: &TzResolver) -> ICalendarEntry {
    let local = |v: &ICalendarValue| match v {
        ICalendarValue::PartialDateTime(p) => {
            p.has_date() && p.has_time() && offset_of(p).is_none()
        }
        _ => false,
    };
    if !entry.values.iter().any(local) {
        return entry.clone();
    }
    ICalendarEntry {
        name: entry.name.clone(),
        params: entry
            .params
            .iter()
            .filter(|p| p.name != ICalendarParameterName::Tzid)
            .cloned()
            .collect(),
        values: entry
            .values
            .iter()
            .map(|v| match v {
                ICalendarValue::PartialDateTime(p) if local(v) => match resolver.value(entry, p) {
                    Some(lv) => ICalendarValue::PartialDateTime(Box::new(utc_partial(lv.utc()))),
                    None => v.clone(),
                },
                _ => v.clone(),
            })
            .collect(),
    }
}

fn utc_partial(t: DateTime<Utc>) -> PartialDateTime {
    PartialDateTime {
        year: u16::try_from(t.year()).ok(),
        month: Some(t.month() as u8),
        day: Some(t.day() as u8),
        hour: Some(t.hour() as u8),
        minute: Some(t.minute() as u8),
        second: Some(t.second() as u8),
        tz_hour: Some(0),
        tz_minute: Some(0),
        tz_minus: false,
    }
}

fn date_partial(d: NaiveDate) -> PartialDateTime {
    PartialDateTime {
        year: u16::try_from(d.year()).ok(),
        month: Some(d.month() as u8),
        day: Some(d.day() as u8),
        ..Default::default()
    }
}

/// An instance's value: a DATE (its local date in the calendar's zone) or
/// a UTC DATE-TIME.
fn time_entry(
    name: ICalendarProperty,
    t: DateTime<Utc>,
    is_date: bool,
    resolver: &TzResolver,
) -> ICalendarEntry {
    let mut entry = ICalendarEntry::new(name);
    if is_date {
        let date = resolver.default_zone().utc_to_local(t).date();
        entry.params.push(ICalendarParameter::new(
            ICalendarParameterName::Value,
            ICalendarParameterValue::Value(ICalendarValueType::Date),
        ));
        entry
            .values
            .push(ICalendarValue::PartialDateTime(Box::new(date_partial(
                date,
            ))));
    } else {
        entry
            .values
            .push(ICalendarValue::PartialDateTime(Box::new(utc_partial(t))));
    }
    entry
}

/// RRULE, RDATE, EXDATE, EXRULE: what an expanded instance does not carry.
fn is_recurrence_property(name: &ICalendarProperty) -> bool {
    matches!(
        name,
        ICalendarProperty::Rrule | ICalendarProperty::Rdate | ICalendarProperty::Exdate | ICalendarProperty::Exrule
    )
}

/// Gives a copied component the times of one instance: DTSTART, DTEND /
/// DUE (when present), RECURRENCE-ID; drops the recurrence properties.
fn set_instance_times(comp: &mut ICalendarComponent, inst: &Instance, resolver: &TzResolver) {
    comp.entries.retain(|e| !is_recurrence_property(&e.name));
    let is_todo = comp.component_type == ICalendarComponentType::VTodo;
    let mut rid_at = None;
    for (i, entry) in comp.entries.iter_mut().enumerate() {
        match entry.name {
            ICalendarProperty::Dtstart => {
                *entry = time_entry(
                    ICalendarProperty::Dtstart,
                    inst.start,
                    inst.is_date,
                    resolver,
                );
                rid_at.get_or_insert(i + 1);
            }
            ICalendarProperty::Dtend if !is_todo => {
                *entry = time_entry(ICalendarProperty::Dtend, inst.end, inst.is_date, resolver);
            }
            ICalendarProperty::Due if is_todo => {
                *entry = time_entry(ICalendarProperty::Due, inst.end, inst.is_date, resolver);
            }
            ICalendarProperty::RecurrenceId => rid_at = Some(i),
            _ => {}
        }
    }
    let Some(rid) = inst.recurrence_id else {
        return;
    };
    let entry = time_entry(ICalendarProperty::RecurrenceId, rid, inst.is_date, resolver);
    match rid_at {
        Some(i)
            if comp
                .entries
                .get(i)
                .is_some_and(|e| e.name == ICalendarProperty::RecurrenceId) =>
        {
            comp.entries[i] = entry;
        }
        Some(i) => comp.entries.insert(i.min(comp.entries.len()), entry),
        None => comp.entries.push(entry),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ical::object::parse_calendar_object;
    use chrono::TimeZone;

    const TZ: &str = "BEGIN:VTIMEZONE\r\nLAST-MODIFIED:20040110T032845Z\r\nTZID:US/Eastern\r\n\
BEGIN:DAYLIGHT\r\nDTSTART:20000404T020000\r\nRRULE:FREQ=YEARLY;BYDAY=1SU;BYMONTH=4\r\nTZNAME:EDT\r\n\
TZOFFSETFROM:-0500\r\nTZOFFSETTO:-0400\r\nEND:DAYLIGHT\r\nBEGIN:STANDARD\r\nDTSTART:20001026T020000\r\n\
RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10\r\nTZNAME:EST\r\nTZOFFSETFROM:-0400\r\nTZOFFSETTO:-0500\r\n\
END:STANDARD\r\nEND:VTIMEZONE\r\n";

    /// RFC 4791 Appendix B, abcd2.ics.
    const ABCD2: &str = "BEGIN:VEVENT\r\nDTSTAMP:20060206T001121Z\r\nDTSTART;TZID=US/Eastern:20060102T120000\r\n\
DURATION:PT1H\r\nRRULE:FREQ=DAILY;COUNT=5\r\nSUMMARY:Event #2\r\nUID:00959BC664CA650E933C892C@example.com\r\nEND:VEVENT\r\n\
BEGIN:VEVENT\r\nDTSTAMP:20060206T001121Z\r\nDTSTART;TZID=US/Eastern:20060104T140000\r\nDURATION:PT1H\r\n\
RECURRENCE-ID;TZID=US/Eastern:20060104T120000\r\nSUMMARY:Event #2 bis\r\nUID:00959BC664CA650E933C892C@example.com\r\nEND:VEVENT\r\n";

    /// RFC 4791 Appendix B, abcd3.ics.
    const ABCD3: &str = "BEGIN:VEVENT\r\nATTENDEE;PARTSTAT=ACCEPTED;ROLE=CHAIR:mailto:cyrus@example.com\r\n\
ATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:lisa@example.com\r\nDTSTAMP:20060206T001220Z\r\n\
DTSTART;TZID=US/Eastern:20060104T100000\r\nDURATION:PT1H\r\nLAST-MODIFIED:20060206T001330Z\r\n\
ORGANIZER:mailto:cyrus@example.com\r\nSEQUENCE:1\r\nSTATUS:TENTATIVE\r\nSUMMARY:Event #3\r\n\
UID:DC6C50A017428C5216A2F1CD@example.com\r\nX-ABC-GUID:E1CX5Dr-0007ym-Hz@example.com\r\nEND:VEVENT\r\n";

    /// RFC 4791 Appendix B, abcd8.ics.
    const ABCD8: &str = "BEGIN:VFREEBUSY\r\nORGANIZER;CN=\"Bernard Desruisseaux\":mailto:bernard@example.com\r\n\
UID:76ef34-54a3d2@example.com\r\nDTSTAMP:20050530T123421Z\r\nDTSTART:20060101T000000Z\r\nDTEND:20060108T000000Z\r\n\
FREEBUSY:20050531T230000Z/20050601T010000Z\r\nFREEBUSY;FBTYPE=BUSY-TENTATIVE:20060102T100000Z/20060102T120000Z\r\n\
FREEBUSY:20060103T100000Z/20060103T120000Z\r\nFREEBUSY:20060104T100000Z/20060104T120000Z\r\n\
FREEBUSY;FBTYPE=BUSY-UNAVAILABLE:20060105T100000Z/20060105T120000Z\r\nFREEBUSY:20060106T100000Z/20060106T120000Z\r\n\
END:VFREEBUSY\r\n";

    fn obj(body: &str) -> CalendarObject {
        let text = format!("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Example Corp.//CalDAV Client//EN\r\n{body}END:VCALENDAR\r\n");
        parse_calendar_object(text.as_bytes()).unwrap_or_else(|e| panic!("{e}: {text}"))
    }

    fn range(s: &str, e: &str) -> TimeRange {
        let t = |s: &str| {
            Utc.from_utc_datetime(
                &chrono::NaiveDateTime::parse_from_str(s, "%Y%m%dT%H%M%SZ").unwrap(),
            )
        };
        TimeRange::new(Some(t(s)), Some(t(e)))
    }

    /// (component, property) lines of a text, unfolded, without BEGIN/END
    /// of the calendar.
    fn props(text: &str, name: &str) -> Vec<String> {
        text.replace("\r\n ", "")
            .split("\r\n")
            .filter(|l| l.starts_with(&format!("{name}:")) || l.starts_with(&format!("{name};")))
            .map(str::to_string)
            .collect()
    }

    #[test]
    fn rfc4791_expand_example() {
        // §7.8.3 (with the erratum: expanded times are UTC, "Z").
        let r = range("20060103T000000Z", "20060105T000000Z");
        let o = obj(&format!("{TZ}{ABCD2}"));
        let text = expand_text(&o, &o.resolver(None), &r);
        assert!(
            !text.contains("VTIMEZONE") && !text.contains("TZID") && !text.contains("RRULE"),
            "{text}"
        );
        assert_eq!(
            props(&text, "BEGIN"),
            vec!["BEGIN:VCALENDAR", "BEGIN:VEVENT", "BEGIN:VEVENT"]
        );
        assert_eq!(
            props(&text, "DTSTART"),
            vec!["DTSTART:20060103T170000Z", "DTSTART:20060104T190000Z"]
        );
        assert_eq!(
            props(&text, "RECURRENCE-ID"),
            vec![
                "RECURRENCE-ID:20060103T170000Z",
                "RECURRENCE-ID:20060104T170000Z"
            ]
        );
        assert_eq!(
            props(&text, "SUMMARY"),
            vec!["SUMMARY:Event #2", "SUMMARY:Event #2 bis"]
        );
        assert_eq!(
            props(&text, "DURATION"),
            vec!["DURATION:PT1H", "DURATION:PT1H"]
        );
        assert_eq!(props(&text, "VERSION"), vec!["VERSION:2.0"]);
        assert!(text.ends_with("END:VEVENT\r\nEND:VCALENDAR\r\n"));
        assert!(text.split("\r\n").all(|l| l.len() <= 75));

        let o = obj(&format!("{TZ}{ABCD3}"));
        let text = expand_text(&o, &o.resolver(None), &r);
        assert_eq!(props(&text, "DTSTART"), vec!["DTSTART:20060104T150000Z"]);
        assert!(props(&text, "RECURRENCE-ID").is_empty());
        assert_eq!(props(&text, "ATTENDEE").len(), 2);
        assert!(text.contains("X-ABC-GUID:E1CX5Dr-0007ym-Hz@example.com"));

        // Out of range: an empty calendar.
        let text = expand_text(
            &o,
            &o.resolver(None),
            &range("20070101T000000Z", "20070102T000000Z"),
        );
        assert!(props(&text, "BEGIN").len() == 1);
    }

    #[test]
    fn expand_all_day_and_thisandfuture() {
        let o = obj("BEGIN:VEVENT\r\nUID:d\r\nDTSTART;VALUE=DATE:20240101\r\nDTEND;VALUE=DATE:20240102\r\nRRULE:FREQ=WEEKLY;COUNT=4\r\n\
EXDATE;VALUE=DATE:20240108\r\nBEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER:-PT1H\r\nEND:VALARM\r\nEND:VEVENT\r\n\
BEGIN:VEVENT\r\nUID:d\r\nRECURRENCE-ID;VALUE=DATE;RANGE=THISANDFUTURE:20240115\r\nDTSTART;VALUE=DATE:20240116\r\n\
DTEND;VALUE=DATE:20240117\r\nSUMMARY:moved\r\nEND:VEVENT\r\n");
        let paris = crate::ical::tz::Zone::from_name("Europe/Paris");
        let r = range("20231231T000000Z", "20240201T000000Z");
        let text = expand_text(&o, &o.resolver(paris), &r);
        assert_eq!(
            props(&text, "DTSTART"),
            vec![
                "DTSTART;VALUE=DATE:20240101",
                "DTSTART;VALUE=DATE:20240116",
                "DTSTART;VALUE=DATE:20240123"
            ]
        );
        assert_eq!(
            props(&text, "RECURRENCE-ID"),
            vec![
                "RECURRENCE-ID;VALUE=DATE:20240101",
                "RECURRENCE-ID;VALUE=DATE:20240115",
                "RECURRENCE-ID;VALUE=DATE:20240122"
            ]
        );
        assert_eq!(props(&text, "DTEND")[2], "DTEND;VALUE=DATE:20240124");
        assert_eq!(
            props(&text, "SUMMARY"),
            vec!["SUMMARY:moved", "SUMMARY:moved"]
        );
        // The master's alarm is copied into its instance.
        assert_eq!(props(&text, "TRIGGER").len(), 1);
        assert!(!text.contains("EXDATE") && !text.contains("THISANDFUTURE"));
        // Floating times are converted with the calendar's zone.
        let o = obj("BEGIN:VEVENT\r\nUID:f\r\nDTSTART:20240601T100000\r\nDTEND:20240601T110000\r\nEND:VEVENT\r\n");
        let text = expand_text(
            &o,
            &o.resolver(crate::ical::tz::Zone::from_name("Europe/Paris")),
            &range("20240601T000000Z", "20240602T000000Z"),
        );
        assert_eq!(props(&text, "DTSTART"), vec!["DTSTART:20240601T080000Z"]);
        assert_eq!(props(&text, "DTEND"), vec!["DTEND:20240601T090000Z"]);
    }

    #[test]
    fn rfc4791_limit_recurrence_set() {
        // §7.8.2: the override that overlaps the range is kept; one moved
        // far away (original and current times outside) is dropped.
        let far = "BEGIN:VEVENT\r\nDTSTAMP:20060206T001121Z\r\nDTSTART;TZID=US/Eastern:20060110T140000\r\nDURATION:PT1H\r\n\
RECURRENCE-ID;TZID=US/Eastern:20060106T120000\r\nSUMMARY:Event #2 ter\r\nUID:00959BC664CA650E933C892C@example.com\r\nEND:VEVENT\r\n";
        let moved_in = "BEGIN:VEVENT\r\nDTSTAMP:20060206T001121Z\r\nDTSTART;TZID=US/Eastern:20060110T140000\r\nDURATION:PT1H\r\n\
RECURRENCE-ID;TZID=US/Eastern:20060103T120000\r\nSUMMARY:Event #2 quater\r\nUID:00959BC664CA650E933C892C@example.com\r\nEND:VEVENT\r\n";
        let o = obj(&format!("{TZ}{ABCD2}{far}{moved_in}"));
        let r = range("20060103T000000Z", "20060105T000000Z");
        let text = limit_recurrence_set_text(&o, &o.resolver(None), &r);
        assert_eq!(
            props(&text, "SUMMARY"),
            vec![
                "SUMMARY:Event #2",
                "SUMMARY:Event #2 bis",
                "SUMMARY:Event #2 quater"
            ]
        );
        assert!(text.contains("BEGIN:VTIMEZONE") && text.contains("RRULE:FREQ=DAILY;COUNT=5"));
        assert!(text.contains("DTSTART;TZID=US/Eastern:20060104T140000"));
        // A THISANDFUTURE override before the range is kept.
        let tf = "BEGIN:VEVENT\r\nDTSTAMP:20060206T001121Z\r\nDTSTART;TZID=US/Eastern:20060102T150000\r\nDURATION:PT1H\r\n\
RECURRENCE-ID;RANGE=THISANDFUTURE;TZID=US/Eastern:20060102T120000\r\nSUMMARY:later\r\nUID:00959BC664CA650E933C892C@example.com\r\nEND:VEVENT\r\n";
        let o = obj(&format!("{TZ}{ABCD2}{tf}"));
        let text = limit_recurrence_set_text(&o, &o.resolver(None), &r);
        assert_eq!(props(&text, "SUMMARY").len(), 3);
    }

    #[test]
    fn rfc4791_limit_freebusy_set() {
        // §7.8.4.
        let o = obj(ABCD8);
        let text = limit_freebusy_set_text(&o, &range("20060102T000000Z", "20060103T000000Z"));
        assert_eq!(
            props(&text, "FREEBUSY"),
            vec!["FREEBUSY;FBTYPE=BUSY-TENTATIVE:20060102T100000Z/20060102T120000Z"]
        );
        assert_eq!(props(&text, "DTSTART"), vec!["DTSTART:20060101T000000Z"]);
        assert_eq!(props(&text, "DTEND"), vec!["DTEND:20060108T000000Z"]);
        assert!(
            text.contains("ORGANIZER;CN=Bernard Desruisseaux:mailto:bernard@example.com")
                || text.contains("ORGANIZER;CN=\"Bernard Desruisseaux\"")
        );
    }
}
