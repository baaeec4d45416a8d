//! PUT of a calendar object resource (RFC 4791 §5.3.2): the body is
//! validated against the preconditions of §5.3.2.1 and indexed, then stored
//! exactly as sent.


use super::limits;
use super::preconditions as pre;
use crate::dav::collection_type::ResourceLimits;
use crate::dav::error::{DavResult, Precondition, Refusal};
use crate::ical::object::{parse_calendar_object, CalendarObject, ObjectError};
use crate::store::ObjectIndex;

/// What the store needs besides the bytes.
pub struct Prepared {
    pub content_type: String,
    pub index: ObjectIndex,
}

fn refuse(condition: Precondition) -> Refusal {
    Refusal::new(condition)
}

/// Check a body written into a calendar accepting `components`
/// (RFC 4791 §5.2.3) against the preconditions of §5.3.2.1 and extract its
/// index. `content_type` is the request's, if any. Nothing is stored when
/// this fails. This parses the body: compute work for large ones.
pub fn prepare(limits: ResourceLimits, content_type: Option<&str>, components: &[String], body: &[u8]) -> DavResult<Prepared> {
    Ok(validate(limits, content_type, components, body)?)
}

/// [`prepare`], with the refusal's detail: what PUT checks, and what
/// `almanach import` checks each item with.
pub fn validate(limits: ResourceLimits, content_type: Option<&str>, components: &[String], body: &[u8]) -> Result<Prepared, Refusal> {
    if !limits.admit(body) {
        return Err(refuse(pre::MAX_RESOURCE_SIZE));
    }
    if let Some(ct) = content_type {
        if !is_calendar_media_type(ct) {
            return Err(refuse(pre::SUPPORTED_CALENDAR_DATA));
        }
    }
    let object = parse_calendar_object(body).map_err(|e| match e {
        ObjectError::InvalidData(why) => Refusal::because(pre::VALID_CALENDAR_DATA, why),
        ObjectError::InvalidObject(why) => Refusal::because(pre::VALID_CALENDAR_OBJECT_RESOURCE, why),
    })?;
    let component = object.component_type().as_str().to_string();
    if !components.iter().any(|c| c.eq_ignore_ascii_case(&component)) {
        return Err(Refusal::because(pre::SUPPORTED_CALENDAR_COMPONENT, format!("{component} is not accepted by this calendar")));
    }
    check_attendees(&object)?;
    check_instances(&object)?;
    let index = object_index(&object)?;
    Ok(Prepared { content_type: format!("text/calendar; charset=utf-8; component={}", component.to_ascii_lowercase()), index })
}

/// The component type a stored calendar object's content type records
/// (`text/calendar; charset=utf-8; component=vevent`, as [`prepare`]
/// writes it).
pub fn component_of(content_type: &str) -> Option<&str> {
    content_type
        .split(';')
        .filter_map(|p| p.split_once('='))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("component"))
        .map(|(_, v)| v.trim())
}

/// `text/calendar`, with any parameters (RFC 4791 §5.3.2.1
/// `supported-calendar-data`).
fn is_calendar_media_type(content_type: &str) -> bool {
    let media = content_type.split(';').next().unwrap_or("").trim();
    media.eq_ignore_ascii_case("text/calendar")
}

/// §5.3.2.1 `max-attendees-per-instance`.
fn check_attendees(object: &CalendarObject) -> Result<(), Refusal> {
    use calcard::icalendar::ICalendarProperty;
    let most = object
        .ical
        .components
        .iter()
        .map(|c| c.entries.iter().filter(|e| e.name == ICalendarProperty::Attendee).count())
        .max()
        .unwrap_or(0);
    if most > limits::MAX_ATTENDEES_PER_INSTANCE {
        return Err(refuse(pre::MAX_ATTENDEES_PER_INSTANCE));
    }
    Ok(())
}

/// §5.3.2.1 `max-instances`: a recurrence with a COUNT, or a list of
/// RDATEs, that generates more instances than the calendar's
/// `max-instances` (§5.2.8) is refused. (A rule with UNTIL or without end
/// is accepted: see `docs/compliance/rfc4791.md`.)
fn check_instances(object: &CalendarObject) -> Result<(), Refusal> {
    use calcard::icalendar::{ICalendarProperty, ICalendarValue};
    let most = limits::MAX_INSTANCES as usize;
    for &idx in object.main_components() {
        let Some(comp) = object.component(idx) else { continue };
        let mut rdates = 0usize;
        for entry in &comp.entries {
            match entry.name {
                ICalendarProperty::Rrule => {
                    let counts = entry.values.iter().filter_map(|v| match v {
                        ICalendarValue::RecurrenceRule(r) => r.count,
                        _ => None,
                    });
                    if counts.into_iter().any(|c| c as usize > most) {
                        return Err(refuse(pre::MAX_INSTANCES));
                    }
                }
                ICalendarProperty::Rdate => rdates += entry.values.len(),
                _ => {}
            }
        }
        if rdates > most {
            return Err(refuse(pre::MAX_INSTANCES));
        }
    }
    Ok(())
}

/// Whether preparing `body` is cheap enough to run on the request's own
/// task: small, and without recurrence rules or dates (whose indexing
/// enumerates instances). Anything else goes to the compute pool.
pub fn cheap_to_prepare(body: &[u8]) -> bool {
    const INLINE_BYTES: usize = 64 * 1024;
    let recurrence = |w: &[u8]| w.eq_ignore_ascii_case(b"RRULE") || w.eq_ignore_ascii_case(b"RDATE") || w.eq_ignore_ascii_case(b"XRULE");
    body.len() <= INLINE_BYTES && !body.windows(5).any(recurrence)
}

/// The index entry of a valid object, after the `min-date-time` and
/// `max-date-time` checks of §5.3.2.1.
fn object_index(object: &CalendarObject) -> Result<ObjectIndex, Refusal> {
    let bounds = crate::ical::recur::index_bounds(object, &object.resolver(None));
    if bounds.first_start.is_some_and(|s| s < limits::min_millis()) {
        return Err(refuse(pre::MIN_DATE_TIME));
    }
    if bounds.last_end.is_some_and(|e| e > limits::max_millis()) {
        return Err(refuse(pre::MAX_DATE_TIME));
    }
    Ok(ObjectIndex {
        uid: Some(object.uid().to_string()),
        component: Some(object.component_type().as_str().to_string()),
        time_start: bounds.first_start,
        time_end: bounds.last_end,
        time_simple: bounds.simple,
        instances: fixed_instances(object, bounds.first_start, bounds.last_end),
        search_text: None,
    })
}

/// Most instances stored in the index for one recurring event.
const MAX_INDEXED_INSTANCES: usize = 4096;

/// The `[start, end)` of every instance of a recurring VEVENT whose times
/// do not depend on the calendar's zone (no floating or all-day values) and
/// whose recurrence ends: the query layer then decides a time range
/// (§9.9) on these without parsing. None when any of that does not hold.
fn fixed_instances(object: &CalendarObject, first: Option<i64>, last: Option<i64>) -> Option<Vec<(i64, i64)>> {
    use crate::ical::object::ComponentType;
    use crate::ical::TimeRange;
    if object.component_type() != ComponentType::VEvent || !object.is_recurring() {
        return None;
    }
    let (first, last) = (first?, last?);
    let millis = |ms: i64| chrono::DateTime::from_timestamp_millis(ms);
    let window = TimeRange::new(millis(first), Some(millis(last)? + chrono::Duration::milliseconds(1)));
    let all = crate::ical::recur::instances(object, &object.resolver(None), &window, MAX_INDEXED_INSTANCES + 1);
    if all.truncated || all.items.len() > MAX_INDEXED_INSTANCES || all.items.iter().any(|i| i.floating || i.is_date) {
        return None;
    }
    Some(all.items.iter().map(|i| (i.start.timestamp_millis(), i.end.timestamp_millis())).collect())
}
