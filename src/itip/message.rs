//! Scheduling messages: building them (RFC 5546 §3.2, RFC 6638 §3.2.5,
//! §7) and checking them against the RFC 5546 restriction tables
//! (RFC 6638 §5.2.1 `valid-scheduling-message`).

use calcard::icalendar::{
    ICalendar, ICalendarComponent, ICalendarComponentType, ICalendarEntry, ICalendarParameterName,
    ICalendarProperty, ICalendarValue,
};
use chrono::{DateTime, Utc};

use super::{
    address::CalAddress,
    model::{strip_scheduling_params, Cal, Tree},
    Method, SchedulingError,
};
use crate::ical::tz::entry_tzid;

/// PRODID of the messages the server writes (RFC 5546 §3.1.1).
pub(crate) const PRODID: &str = "-//Almanach//CalDAV Scheduling//EN";

/// One scheduling message for one recipient (RFC 6638 §3.2: the server
/// sends a message per recipient, with only what that recipient may see,
/// §3.2.6).
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub method: Method,
    pub originator: CalAddress,
    pub recipient: CalAddress,
    /// A VCALENDAR with METHOD (write it with
    /// [`crate::ical::expand::write_ical`]).
    pub message: ICalendar,
}

/// A component as sent (RFC 6638 §3.2.5, §7): no VALARM (RFC 5546 tables:
/// the organizer's alarms are their own), no SCHEDULE-AGENT,
/// SCHEDULE-STATUS or SCHEDULE-FORCE-SEND, DTSTAMP = now; no
/// REQUEST-STATUS except in a REPLY; no DURATION next to DTEND / DUE; a
/// SUMMARY in a REQUEST or ADD.
pub(crate) fn clean(tree: &mut Tree, method: Method, now: DateTime<Utc>) {
    tree.drop_children(&ICalendarComponentType::VAlarm);
    for entry in tree.comp.entries.iter_mut() {
        if matches!(entry.name, ICalendarProperty::Attendee | ICalendarProperty::Organizer) {
            strip_scheduling_params(entry);
        }
    }
    if method != Method::Reply {
        tree.remove(&ICalendarProperty::RequestStatus);
    }
    tree.set_dtstamp(now);
    // RFC 5546 tables: DTEND or DURATION, not both (this server accepts
    // both in an object, DTEND winning: see `ical::object`).
    if tree.has(&ICalendarProperty::Dtend) || tree.has(&ICalendarProperty::Due) {
        tree.remove(&ICalendarProperty::Duration);
    }
    // RFC 5546 §3.2.2 / §3.2.4 / §3.4.2: SUMMARY is required in a REQUEST
    // or ADD, and "can be null".
    if matches!(method, Method::Request | Method::Add) && !tree.has(&ICalendarProperty::Summary) {
        tree.comp.entries.push(ICalendarEntry::new(ICalendarProperty::Summary));
    }
}

/// A message of `method` with `comps` (already cleaned), the VTIMEZONEs of
/// `cal` they refer to, and `cal`'s CALSCALE.
pub(crate) fn build(method: Method, cal: &Cal, comps: Vec<Tree>) -> ICalendar {
    let mut root = ICalendarComponent::new(ICalendarComponentType::VCalendar);
    root.entries.push(ICalendarEntry::new(ICalendarProperty::Version).with_value(ICalendarValue::Text("2.0".into())));
    root.entries.push(ICalendarEntry::new(ICalendarProperty::Prodid).with_value(ICalendarValue::Text(PRODID.into())));
    if let Some(scale) = cal.root.property(&ICalendarProperty::Calscale) {
        root.entries.push(scale.clone());
    }
    root.entries.push(ICalendarEntry::new(ICalendarProperty::Method).with_value(ICalendarValue::Method(method.to_ical())));
    let timezones = cal.timezones_for(&comps);
    super::model::assemble_owned(root, &timezones, comps)
}

/// The METHOD of a message.
pub(crate) fn method_of(ical: &ICalendar) -> Option<Method> {
    ical.components
        .first()?
        .property(&ICalendarProperty::Method)?
        .values
        .first()?
        .as_text()
        .and_then(Method::parse)
}

/// Checks a scheduling message against RFC 5546 §3 (the VCALENDAR table
/// §3.1.1, the methods a component type allows, and the VEVENT §3.2 /
/// VTODO §3.4 / VFREEBUSY §3.3 / VJOURNAL §3.5 restriction tables: which
/// properties are required, which appear at most once, which are
/// excluded) and RFC 6638 §7 (no SCHEDULE-AGENT, SCHEDULE-STATUS or
/// SCHEDULE-FORCE-SEND in a message), that its RECURRENCE-IDs and TZIDs
/// can be read, and that it survives writing and parsing again. Returns
/// its method. Property parameters are not checked beyond §7 (RFC 5546 §3
/// leaves them to RFC 5545).
pub fn validate_message(message: &ICalendar) -> Result<Method, SchedulingError> {
    check(message).map_err(SchedulingError::ValidSchedulingMessage)
}

fn check(message: &ICalendar) -> Result<Method, String> {
    let cal = Cal::from_ical(message)?;
    let root = &cal.root;
    let count = |c: &ICalendarComponent, p: &ICalendarProperty| c.properties(p).count();
    if count(root, &ICalendarProperty::Method) != 1 {
        return Err("a message has one METHOD (RFC 5546 §3.1.1)".into());
    }
    let method = method_of(message).ok_or("unknown METHOD")?;
    match root
        .property(&ICalendarProperty::Version)
        .and_then(|e| e.values.first())
        .and_then(|v| v.as_text())
    {
        Some(v) if v.trim() == "2.0" => {}
        _ => return Err("VERSION must be 2.0 (RFC 5546 §3.1.1)".into()),
    }
    if count(root, &ICalendarProperty::Prodid) != 1 {
        return Err("PRODID is required (RFC 5546 §3.1.1)".into());
    }
    let kind = cal.kind().cloned().ok_or("no calendar component")?;
    if cal.items.iter().any(|i| i.tree.kind() != &kind) {
        return Err("components of more than one type".into());
    }
    // RFC 5546 §3, the table of methods per component type.
    use ICalendarComponentType as T;
    use Method as M;
    let allowed = match kind {
        T::VEvent | T::VTodo => true,
        T::VJournal => matches!(method, M::Publish | M::Add | M::Cancel),
        T::VFreebusy => matches!(method, M::Publish | M::Request | M::Reply),
        _ => false,
    };
    if !allowed {
        return Err(format!("METHOD:{method} is not defined for {}", kind.as_str()));
    }
    let uid = cal.uid().map(str::to_string);
    for item in &cal.items {
        let c = &item.tree.comp;
        let n = |p: ICalendarProperty| count(c, &p);
        let name = kind.as_str();
        let missing = |p: &str| Err(format!("{name}: {p} is required with METHOD:{method} (RFC 5546 §3)"));
        if n(ICalendarProperty::Uid) != 1 {
            return missing("UID");
        }
        if c.uid().map(str::to_string) != uid {
            return Err("all components must have the same UID (RFC 5546 §3.2)".into());
        }
        if n(ICalendarProperty::Dtstamp) != 1 {
            return missing("DTSTAMP");
        }
        if n(ICalendarProperty::Organizer) != 1 && !(kind == T::VFreebusy && method == M::Publish) {
            return missing("ORGANIZER");
        }
        for p in [
            ICalendarProperty::Sequence,
            ICalendarProperty::Dtstart,
            ICalendarProperty::Dtend,
            ICalendarProperty::Due,
            ICalendarProperty::Duration,
            ICalendarProperty::Summary,
            ICalendarProperty::RecurrenceId,
            ICalendarProperty::Status,
        ] {
            if n(p.clone()) > 1 {
                return Err(format!("{name}: more than one {}", p.as_str()));
            }
        }
        if n(ICalendarProperty::Dtend) > 0 && n(ICalendarProperty::Duration) > 0 {
            return Err(format!("{name}: DTEND and DURATION"));
        }
        let attendees = n(ICalendarProperty::Attendee);
        let alarms = item.tree.children.iter().any(|t| t.kind() == &T::VAlarm);
        let is_todo = kind == T::VTodo;
        match method {
            M::Request => {
                if attendees == 0 {
                    return missing("ATTENDEE");
                }
                if kind == T::VEvent && n(ICalendarProperty::Dtstart) == 0 {
                    return missing("DTSTART");
                }
                if kind == T::VFreebusy && (n(ICalendarProperty::Dtstart) == 0 || n(ICalendarProperty::Dtend) == 0) {
                    return missing("DTSTART and DTEND");
                }
                if kind != T::VFreebusy && n(ICalendarProperty::Summary) == 0 {
                    return missing("SUMMARY");
                }
                if n(ICalendarProperty::RequestStatus) > 0 {
                    return Err(format!("{name}: no REQUEST-STATUS in a REQUEST"));
                }
            }
            M::Reply => {
                if attendees != 1 {
                    return Err(format!("{name}: a REPLY has exactly one ATTENDEE (RFC 5546 §3.2.3)"));
                }
                if alarms {
                    return Err(format!("{name}: no VALARM in a REPLY"));
                }
            }
            M::Cancel => {
                if n(ICalendarProperty::Sequence) != 1 {
                    return missing("SEQUENCE");
                }
                if n(ICalendarProperty::RequestStatus) > 0 || alarms {
                    return Err(format!("{name}: no REQUEST-STATUS or VALARM in a CANCEL"));
                }
            }
            M::Add => {
                if n(ICalendarProperty::Sequence) != 1 || item.tree.sequence() <= 0 {
                    return Err(format!("{name}: an ADD has a SEQUENCE greater than 0 (RFC 5546 §3.2.4)"));
                }
                if !is_todo && n(ICalendarProperty::Dtstart) == 0 {
                    return missing("DTSTART");
                }
                if n(ICalendarProperty::Summary) == 0 {
                    return missing("SUMMARY");
                }
                for p in [
                    ICalendarProperty::RecurrenceId,
                    ICalendarProperty::Rrule,
                    ICalendarProperty::Rdate,
                    ICalendarProperty::Exdate,
                    ICalendarProperty::RequestStatus,
                ] {
                    if n(p.clone()) > 0 {
                        return Err(format!("{name}: no {} in an ADD", p.as_str()));
                    }
                }
            }
            M::Publish => {
                if attendees > 0 && kind != T::VFreebusy {
                    return Err(format!("{name}: no ATTENDEE in a PUBLISH"));
                }
                if kind == T::VEvent && n(ICalendarProperty::Dtstart) == 0 {
                    return missing("DTSTART");
                }
            }
            M::Refresh => {
                if attendees != 1 {
                    return Err(format!("{name}: a REFRESH has exactly one ATTENDEE"));
                }
            }
            M::Counter => {
                if attendees == 0 {
                    return missing("ATTENDEE");
                }
                if kind == T::VEvent && n(ICalendarProperty::Dtstart) == 0 {
                    return missing("DTSTART");
                }
            }
            M::DeclineCounter => {
                if attendees == 0 {
                    return missing("ATTENDEE");
                }
            }
        }
        // RFC 6638 §7.1, §7.2, §7.3: never in a message.
        let mut stack = vec![&item.tree];
        while let Some(t) = stack.pop() {
            for entry in &t.comp.entries {
                if entry.params.iter().any(|p| {
                    matches!(
                        p.name,
                        ICalendarParameterName::ScheduleAgent
                            | ICalendarParameterName::ScheduleStatus
                            | ICalendarParameterName::ScheduleForceSend
                    )
                }) {
                    return Err(format!(
                        "{}: SCHEDULE-AGENT, SCHEDULE-STATUS and SCHEDULE-FORCE-SEND are not sent (RFC 6638 §7)",
                        entry.name.as_str()
                    ));
                }
                if let Some(tzid) = entry_tzid(entry) {
                    if !cal.resolves(tzid) {
                        return Err(format!("no VTIMEZONE for TZID \"{tzid}\" (RFC 5546 §3.1.2)"));
                    }
                }
            }
            stack.extend(t.children.iter());
        }
    }
    // The same RECURRENCE-ID twice.
    let mut rids: Vec<Option<i64>> = cal.items.iter().map(|i| i.rid).collect();
    rids.sort_unstable();
    let before = rids.len();
    rids.dedup();
    if rids.len() != before && kind != T::VFreebusy {
        return Err("two components for the same instance".into());
    }
    // It survives writing and parsing.
    let text = crate::ical::expand::write_ical(message);
    match ICalendar::parse(&text) {
        Ok(again) if again.components.len() == message.components.len() => Ok(method),
        _ => Err("does not parse back".into()),
    }
}
