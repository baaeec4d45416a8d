//! POST to the scheduling outbox (RFC 6638 §5): a busy time request
//! (VFREEBUSY, METHOD:REQUEST) is answered at once with a
//! `schedule-response` holding one `response` per recipient; any other iTIP
//! message (from a client that schedules itself, `SCHEDULE-AGENT=CLIENT`)
//! is delivered like the server's own ([`super::deliver`]).
//!
//! Busy time is that of the recipient's calendars that count for it
//! (`schedule-calendar-transp` not `transparent`, §9.1), recurrences
//! expanded, the recipient's own participation taken into account (an
//! event they declined leaves them free, one they have not accepted is
//! tentative). Any agent of the platform may ask for any other's busy time
//! — not the details of events — unless the recipient's académie keeps it
//! to its own agents (`acl::inbox_privileges`).

use bytes::Bytes;
use calcard::icalendar::{ICalendar, ICalendarComponent, ICalendarComponentType, ICalendarProperty};
use chrono::{DateTime, Utc};
use http::StatusCode;

use super::address::{address_set, calendar_user, CalendarUser};
use crate::auth::acl::{self, Privileges};
use crate::caldav::collection::CALENDAR_HOMES;
use crate::caldav::{is_calendar, limits, preconditions as pre};
use crate::dav::collection_type::ResourceLimits;
use crate::dav::error::{DavError, DavResult};
use crate::dav::resource::Resource;
use crate::dav::response::{set_header, xml_response, Response};
use crate::dav::DavRequest;
use crate::ical::freebusy::{busy_periods_of_user, format_utc, merge, BusyPeriod, Incomplete};
use crate::ical::object::parse_stored;
use crate::ical::tz::{zone_from_calendar_timezone, TzResolver, Zone};
use crate::ical::{push_folded, TimeRange};
use crate::itip::{self, AddressSet, CalAddress, Method};
use crate::store::{Collection, ObjectQuery, Principal, PropertyTarget};
use crate::xml::NS_CALDAV;

/// The longest busy time request answered: a year and a week (clients ask
/// for weeks or months).
const MAX_RANGE_DAYS: i64 = 373;

pub async fn post(req: &DavRequest<'_>, outbox: &Collection) -> DavResult<Response> {
    let outbox_resource = Resource::Collection { space: CALENDAR_HOMES, collection: outbox.clone() };
    let content_type = req.header("content-type").unwrap_or_default();
    let media = content_type.split(';').next().unwrap_or("").trim();
    if !media.eq_ignore_ascii_case("text/calendar") {
        return Err(DavError::forbidden_by(pre::SUPPORTED_CALENDAR_DATA));
    }
    if !ResourceLimits::of(&req.state.config).admit(&req.body) {
        return Err(DavError::forbidden_by(pre::MAX_RESOURCE_SIZE));
    }
    let message = parse_message(&req.body)?;
    let method = itip::validate_message(&message).map_err(|e| invalid_message(&e.to_string()))?;
    let owner = match req.state.store.principal(outbox.owner).await? {
        Some(p) => p,
        None => return Err(DavError::not_found()),
    };
    let kind = message.components.iter().find(|c| c.component_type != ICalendarComponentType::VCalendar && c.component_type != ICalendarComponentType::VTimezone);
    match (method, kind.map(|c| &c.component_type)) {
        (Method::Request, Some(ICalendarComponentType::VFreebusy)) => {
            req.require(&outbox_resource, Privileges::SCHEDULE_SEND_FREEBUSY)?;
            busy_time_request(req, &owner, &message).await
        }
        _ => super::deliver::post_message(req, &outbox_resource, &owner, message, method).await,
    }
}

/// The body of a POST as iCalendar; 400 `valid-calendar-data` when it is
/// not.
pub fn parse_message(body: &Bytes) -> DavResult<ICalendar> {
    let invalid = || DavError::condition(StatusCode::BAD_REQUEST, pre::VALID_CALENDAR_DATA);
    let text = std::str::from_utf8(body).map_err(|_| invalid())?;
    ICalendar::parse(text).map_err(|_| invalid())
}

/// 400 `valid-scheduling-message` (RFC 6638 §5.2.1).
pub fn invalid_message(why: &str) -> DavError {
    tracing::debug!(%why, "invalid scheduling message");
    DavError::condition(StatusCode::BAD_REQUEST, pre::VALID_SCHEDULING_MESSAGE)
}

/// What a busy time request asks.
struct BusyTimeRequest {
    uid: Option<String>,
    range: TimeRange,
    organizer: String,
    attendees: Vec<String>,
}

fn first_text<'c>(comp: &'c ICalendarComponent, prop: &ICalendarProperty) -> Option<&'c str> {
    comp.property(prop).and_then(|e| e.values.first()).and_then(|v| v.as_text()).map(str::trim)
}

/// RFC 5546 §3.3.2: DTSTART, DTEND (UTC), ORGANIZER and at least one
/// ATTENDEE.
fn parse_busy_time_request(message: &ICalendar) -> DavResult<BusyTimeRequest> {
    let comp = message
        .components
        .iter()
        .find(|c| c.component_type == ICalendarComponentType::VFreebusy)
        .ok_or_else(|| invalid_message("no VFREEBUSY"))?;
    let resolver = TzResolver::new(message, None);
    let time = |prop: ICalendarProperty| -> Option<DateTime<Utc>> {
        comp.property(&prop).and_then(|e| resolver.first_value(e)).map(|v| v.utc())
    };
    let (Some(start), Some(end)) = (time(ICalendarProperty::Dtstart), time(ICalendarProperty::Dtend)) else {
        return Err(invalid_message("a busy time request has DTSTART and DTEND"));
    };
    if end <= start {
        return Err(invalid_message("DTEND is not after DTSTART"));
    }
    if (end - start).num_days() > MAX_RANGE_DAYS {
        return Err(DavError::condition(StatusCode::FORBIDDEN, pre::MAX_DATE_TIME));
    }
    let organizer = first_text(comp, &ICalendarProperty::Organizer).ok_or_else(|| invalid_message("no ORGANIZER"))?;
    let attendees: Vec<String> = comp
        .properties(&ICalendarProperty::Attendee)
        .filter_map(|e| e.values.first().and_then(|v| v.as_text()))
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .collect();
    if attendees.is_empty() {
        return Err(invalid_message("no ATTENDEE"));
    }
    Ok(BusyTimeRequest {
        uid: first_text(comp, &ICalendarProperty::Uid).map(str::to_string),
        range: TimeRange::new(Some(start), Some(end)),
        organizer: organizer.to_string(),
        attendees,
    })
}

/// One recipient's answer: its request status (RFC 5546 §3.6) and, when
/// it could be answered, its VFREEBUSY reply.
struct Answer {
    recipient: String,
    status: &'static str,
    calendar_data: Option<String>,
}

async fn busy_time_request(req: &DavRequest<'_>, owner: &Principal, message: &ICalendar) -> DavResult<Response> {
    let request = parse_busy_time_request(message)?;
    // §5: the organizer is the outbox's owner.
    if !address_set(req.state, owner).await?.contains(&CalAddress::new(&request.organizer)) {
        return Err(DavError::forbidden_by(pre::VALID_ORGANIZER));
    }
    if request.attendees.len() > limits::MAX_ATTENDEES_PER_INSTANCE {
        return Err(DavError::forbidden_by(pre::MAX_ATTENDEES_PER_INSTANCE));
    }
    let private = &req.state.config.freebusy_private_academies;
    let mut answers = Vec::with_capacity(request.attendees.len());
    for attendee in &request.attendees {
        let answer = match calendar_user(req.state, &CalAddress::new(attendee)).await? {
            CalendarUser::Local(p) if !acl::inbox_privileges(owner, &p, private).contains(Privileges::SCHEDULE_QUERY_FREEBUSY) => {
                Answer { recipient: attendee.clone(), status: "3.8;No authority", calendar_data: None }
            }
            CalendarUser::Local(p) => {
                let periods = busy_time_of(req, &p, &request.range).await?;
                let data = vfreebusy_reply(&request, attendee, &periods, Utc::now());
                Answer { recipient: attendee.clone(), status: "2.0;Success", calendar_data: Some(data) }
            }
            CalendarUser::External(_) | CalendarUser::Unknown => {
                Answer { recipient: attendee.clone(), status: "3.7;Invalid calendar user", calendar_data: None }
            }
        };
        answers.push(answer);
    }
    let list: Vec<(String, &str)> = answers.iter().map(|a| (a.recipient.clone(), a.status)).collect();
    let body = super::deliver::schedule_response(&list, |i| answers[i].calendar_data.clone());
    let mut resp = xml_response(StatusCode::OK, body);
    set_header(&mut resp, http::header::CACHE_CONTROL, "no-cache");
    Ok(resp)
}

/// The calendars of `p` whose events count for its busy time (RFC 6638
/// §9.1), each with its time zone (for floating times).
async fn counted_calendars(req: &DavRequest<'_>, p: &Principal) -> DavResult<Vec<(Collection, Zone)>> {
    let store = &req.state.store;
    let Some(home) = store.collection_by_path(&CALENDAR_HOMES.home_path(&p.username)).await? else { return Ok(Vec::new()) };
    let mut out = Vec::new();
    for calendar in store.child_collections(home.id).await?.into_iter().filter(is_calendar) {
        let props = store.dead_properties(PropertyTarget::Collection(calendar.id)).await?;
        let value = |name: &str| {
            props
                .iter()
                .find(|d| d.namespace == NS_CALDAV && d.name == name)
                .and_then(|d| crate::xml::parse_fragment(&d.value).ok())
        };
        if value("schedule-calendar-transp").is_some_and(|e| e.child(NS_CALDAV, "transparent").is_some()) {
            continue;
        }
        let zone = value("calendar-timezone").and_then(|e| zone_from_calendar_timezone(&e.text())).unwrap_or(Zone::Utc);
        out.push((calendar, zone));
    }
    Ok(out)
}

/// `p`'s busy periods in `range`: candidates from the index, expansion on
/// the compute pool. 507 rather than a silently shorter answer when not
/// every instance could be considered.
async fn busy_time_of(req: &DavRequest<'_>, p: &Principal, range: &TimeRange) -> DavResult<Vec<BusyPeriod>> {
    let me: AddressSet = address_set(req.state, p).await?;
    let mut work = Vec::new();
    for (calendar, zone) in counted_calendars(req, p).await? {
        let query = ObjectQuery { component: Some("VEVENT".into()), time_range: Some(range.millis()), with_content: true };
        for candidate in req.state.store.query_objects(calendar.id, &query).await? {
            if let Some(content) = candidate.content {
                work.push((content, zone.clone()));
            }
        }
    }
    let range = range.clone();
    let job = move || -> Result<Vec<BusyPeriod>, Incomplete> {
        let is_self = |a: &str| me.contains(&CalAddress::new(a));
        let mut periods = Vec::new();
        for (content, zone) in work {
            if !crate::compute::charge_bytes(content.len()) {
                return Err(Incomplete);
            }
            let Ok(text) = String::from_utf8(content.to_vec()) else { continue };
            if let Ok(object) = parse_stored(text) {
                periods.extend(busy_periods_of_user(&object, &object.resolver(Some(zone)), &range, &is_self)?);
            }
            if !crate::compute::charge(1) {
                return Err(Incomplete);
            }
        }
        Ok(merge(periods))
    };
    req.compute(job).await?.map_err(|Incomplete| {
        DavError::condition(StatusCode::INSUFFICIENT_STORAGE, crate::dav::error::conditions::NUMBER_OF_MATCHES_WITHIN_LIMITS)
    })
}

/// The VFREEBUSY reply of one recipient (RFC 5546 §3.3.3).
fn vfreebusy_reply(request: &BusyTimeRequest, attendee: &str, periods: &[BusyPeriod], now: DateTime<Utc>) -> String {
    let mut out = String::with_capacity(384 + periods.len() * 64);
    out.push_str("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Almanach//CalDAV Server//FR\r\nMETHOD:REPLY\r\nBEGIN:VFREEBUSY\r\n");
    let mut line = String::with_capacity(96);
    if let Some(uid) = &request.uid {
        push_folded(&mut out, &format!("UID:{uid}"));
    }
    for (name, t) in [("DTSTAMP:", Some(now)), ("DTSTART:", request.range.start), ("DTEND:", request.range.end)] {
        if let Some(t) = t {
            line.clear();
            line.push_str(name);
            format_utc(t, &mut line);
            push_folded(&mut out, &line);
        }
    }
    push_folded(&mut out, &format!("ORGANIZER:{}", request.organizer));
    push_folded(&mut out, &format!("ATTENDEE:{attendee}"));
    for p in periods {
        line.clear();
        line.push_str("FREEBUSY;FBTYPE=");
        line.push_str(p.fbtype.as_str());
        line.push(':');
        format_utc(p.start, &mut line);
        line.push('/');
        format_utc(p.end, &mut line);
        push_folded(&mut out, &line);
    }
    out.push_str("END:VFREEBUSY\r\nEND:VCALENDAR\r\n");
    out
}
