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

use crate::caldav::limits;
use crate::dav::error::{DavError, DavResult};
use crate::dav::multistatus::{Cut, ObjectData};
use crate::dav::collection_type::QName;
use crate::dav::property::PropValue;
use crate::dav::DavRequest;
use crate::ical::expand::{ExpandLimit, ExpandLimits};
use crate::ical::object::parse_stored;
use crate::ical::tz::{zone_from_calendar_timezone, Zone};
use crate::dav::live_props::dead_property_text;
use crate::store::Collection;
use crate::xml::{Element, NS_CALDAV};
use request::{parse_calendar_data, CalendarDataRequest};

/// The `calendar-data` element (RFC 4791 §9.6).
pub const CALENDAR_DATA: QName = (NS_CALDAV, "calendar-data");

/// The properties a CalDAV report asks for, `calendar-data` parsed here
/// (§9.5, §9.6, §9.10).
pub type ReportProps<'r> = crate::dav::report::ReportProps<'r, CalendarDataRequest>;

/// [`ReportProps`] of a report's `root`.
pub fn report_props<'r>(req: &DavRequest<'r>, root: &Element) -> DavResult<ReportProps<'r>> {
    ReportProps::parse(&req.state.registry, root, CALENDAR_DATA, parse_calendar_data)
}

/// The zone floating times of `calendar` are read in (§5.2.2
/// `calendar-timezone`), unless the report names one (§9.8 `timezone`).
pub async fn default_zone(req: &DavRequest<'_>, calendar: &Collection, root: &Element) -> DavResult<Zone> {
    if let Some(tz) = root.child(NS_CALDAV, "timezone") {
        return zone_from_calendar_timezone(&tz.text()).ok_or_else(|| {
            DavError::forbidden_by(crate::caldav::preconditions::VALID_CALENDAR_DATA)
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
    if !crate::compute::charge_bytes(content.len()) {
        return Err(Cut::Budget);
    }
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
