//! The CalDAV reports (RFC 4791 §7): `calendar-query`, `calendar-multiget`
//! and `free-busy-query`, and what they share: the properties a report
//! asks for, with `calendar-data` rendered from the stored bytes (§9.6),
//! and the default time zone of a calendar (§5.2.2, §9.8).

mod freebusy;
mod multiget;
mod query;
pub mod request;

pub use freebusy::free_busy_query;
pub use multiget::calendar_multiget;
pub use query::{calendar_query, IndexShape};

use bytes::Bytes;
use http::StatusCode;

use crate::caldav::limits;
use crate::dav::error::{DavError, DavResult};
use crate::dav::multistatus::{Cut, MultiStatus, ObjectData};
use crate::dav::path::DavPath;
use crate::dav::propfind::{properties_of, PropfindRequest};
use crate::dav::property::{PropName, PropValue};
use crate::dav::resource::{HomeSpace, Resource};
use crate::dav::DavRequest;
use crate::ical::expand::{ExpandLimit, ExpandLimits};
use crate::ical::object::parse_stored;
use crate::ical::tz::{zone_from_calendar_timezone, Zone};
use crate::dav::live_props::dead_property_text;
use crate::store::{Collection, ObjectMeta};
use crate::xml::{Element, NS_CALDAV, NS_DAV};
use request::{parse_calendar_data, CalendarDataRequest};

/// The properties a report asks for: everything but `calendar-data` goes
/// through the PROPFIND machinery; `calendar-data` is rendered here.
pub struct ReportProps {
    pub propfind: PropfindRequest,
    pub calendar_data: Option<CalendarDataRequest>,
}

impl ReportProps {
    /// From the `DAV:prop`, `DAV:allprop` or `DAV:propname` child of a
    /// report (RFC 4791 §9.5, §9.10).
    pub fn parse(root: &Element) -> DavResult<ReportProps> {
        let mut calendar_data = None;
        let propfind = if let Some(prop) = root.child(NS_DAV, "prop") {
            let mut names = Vec::new();
            for e in prop.elements() {
                if e.is(NS_CALDAV, "calendar-data") {
                    calendar_data = Some(parse_calendar_data(e)?);
                } else {
                    names.push(PropName::new(&e.ns, &e.name));
                }
            }
            PropfindRequest::Prop(names)
        } else if root.child(NS_DAV, "propname").is_some() {
            PropfindRequest::PropName
        } else if root.child(NS_DAV, "allprop").is_some() {
            PropfindRequest::AllProp(Vec::new())
        } else {
            PropfindRequest::Prop(Vec::new())
        };
        Ok(ReportProps { propfind, calendar_data })
    }

    pub fn needs_content(&self) -> bool {
        self.calendar_data.is_some()
    }
}

/// The zone floating times of `calendar` are read in (§5.2.2
/// `calendar-timezone`), unless the report names one (§9.8 `timezone`).
pub async fn default_zone(req: &DavRequest<'_>, calendar: &Collection, root: &Element) -> DavResult<Zone> {
    if let Some(tz) = root.child(NS_CALDAV, "timezone") {
        return zone_from_calendar_timezone(&tz.text()).ok_or_else(|| {
            DavError::condition(StatusCode::FORBIDDEN, crate::dav::error::Condition::Caldav("valid-calendar-data"))
        });
    }
    let text = dead_property_text(req, calendar.id, NS_CALDAV, "calendar-timezone").await?;
    Ok(text.and_then(|t| zone_from_calendar_timezone(&t)).unwrap_or(Zone::Utc))
}

pub use crate::dav::multistatus::RESPONSE_OVERHEAD;

/// The calendar-data of `content` as `request` asks (§9.6), at most
/// `max_bytes` of generated text. Whole objects are their stored bytes,
/// shared, not copied; anything else is parsed and generated, which is
/// compute work (call it inside [`crate::compute`]).
pub fn calendar_data(
    request: Option<&CalendarDataRequest>,
    content: Option<&Bytes>,
    zone: &Zone,
    max_bytes: usize,
) -> Result<ObjectData, Cut> {
    let (Some(request), Some(content)) = (request, content) else {
        return Ok(if request.is_some() { ObjectData::Missing } else { ObjectData::NotAsked });
    };
    let value = if request.is_whole() {
        PropValue::stored(content)
    } else {
        render_calendar_data(request, content, zone, max_bytes)?.map(PropValue::Text)
    };
    Ok(value.map_or(ObjectData::Missing, ObjectData::Value))
}

/// The part or expansion of an object asked for (§9.6), at most
/// `max_bytes`. None when the stored bytes no longer parse.
pub fn render_calendar_data(
    request: &CalendarDataRequest,
    content: &Bytes,
    zone: &Zone,
    max_bytes: usize,
) -> Result<Option<String>, Cut> {
    use crate::ical::expand;
    let Some(object) = std::str::from_utf8(content).ok().and_then(|t| parse_stored(t.to_string()).ok()) else {
        return Ok(None);
    };
    let resolver = object.resolver(Some(zone.clone()));
    let text = if let Some(range) = &request.expand {
        let limits = ExpandLimits { max_instances: limits::MAX_INSTANCES as usize, max_bytes };
        let mut out = String::new();
        expand::expand_into(&object, &resolver, range, request.selection.as_ref(), limits, &mut out)
            .map_err(cut_of_expansion)?;
        out
    } else {
        let ical = if let Some(range) = &request.limit_recurrence_set {
            expand::limit_recurrence_set(&object, &resolver, range)
        } else if let Some(range) = &request.limit_freebusy_set {
            expand::limit_freebusy_set(&object, range)
        } else {
            object.ical.clone()
        };
        match &request.selection {
            Some(sel) => crate::ical::select::select(&ical, sel),
            None => expand::write_ical(&ical),
        }
    };
    if text.len() > max_bytes {
        return Err(Cut::Bytes);
    }
    Ok(Some(text))
}

/// The cut an expansion that stopped early makes.
fn cut_of_expansion(limit: ExpandLimit) -> Cut {
    match limit {
        ExpandLimit::Instances => Cut::Instances,
        ExpandLimit::Bytes => Cut::Bytes,
        ExpandLimit::Interrupted => Cut::Budget,
    }
}

/// Append the `response` of one calendar object to a report's multistatus.
pub async fn object_response(
    req: &DavRequest<'_>,
    ms: &mut MultiStatus,
    calendar: &Collection,
    meta: ObjectMeta,
    data: ObjectData,
    propfind: &PropfindRequest,
) -> DavResult<()> {
    let store_path = format!("{}{}", calendar.path, meta.name);
    let path = DavPath::from_store_path(&store_path);
    let resource = Resource::Object { space: HomeSpace::Calendars, parent: calendar.clone(), meta };
    let mut groups = properties_of(req, &path, &resource, propfind).await?;
    let name = PropName::new(NS_CALDAV, "calendar-data");
    match data {
        ObjectData::NotAsked => {}
        ObjectData::Missing => groups[1].props.push((name, PropValue::Empty)),
        ObjectData::Value(v) => groups[0].props.push((name, v)),
    }
    ms.propstat_response(&req.href(&store_path), &groups);
    Ok(())
}
