//! MKCALENDAR (RFC 4791 §5.3.1) and the rules shared with calendar creation
//! by extended MKCOL: where calendars may be created, and the properties
//! that are checked rather than stored blindly.


use crate::dav::error::{DavError, DavResult};
use crate::dav::mkcol::{create, creation_target, parse_set, refusal_groups, CollectionSpec};
use crate::dav::multistatus::MultiStatus;
use crate::dav::collection_type::directly_in_home;
use crate::dav::resource::Resource;
use crate::dav::response::{multistatus, Response};
use crate::dav::DavRequest;
use crate::store::{Collection, CollectionKind};
use crate::xml::{self, Element, NS_CALDAV};

use super::KNOWN_COMPONENTS;

pub async fn mkcalendar(req: &DavRequest<'_>) -> DavResult<Response> {
    let (resource, parent) = creation_target(req).await?;
    let mut spec = match mkcalendar_body(req)? {
        Some(root) => parse_set(&req.state.registry, &root, Some(CollectionKind::Calendar)),
        None => CollectionSpec::default(),
    };
    if spec.kind.is_some_and(|k| k != CollectionKind::Calendar) {
        // A resourcetype naming only DAV:collection cannot make a calendar.
        let name = crate::dav::property::PropName::new(crate::xml::NS_DAV, "resourcetype");
        spec.refused.push((name, crate::dav::error::conditions::VALID_RESOURCETYPE));
    }
    if !spec.refused.is_empty() {
        // §5.3.1.1: 207, with the reasons in propstats of the request URI.
        let mut ms = MultiStatus::new();
        ms.propstat_response(&req.href(&req.path.collection_path()), &refusal_groups(&spec));
        return Ok(multistatus(ms.finish()));
    }
    spec.kind = Some(CollectionKind::Calendar);
    create(req, &resource, &parent, spec).await
}

/// The optional `CALDAV:mkcalendar` body.
fn mkcalendar_body(req: &DavRequest<'_>) -> DavResult<Option<Element>> {
    if req.body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let root = xml::parse(&req.body, xml::XmlLimits::default())?;
    if !root.is(NS_CALDAV, "mkcalendar") {
        return Err(DavError::bad_request("expected a CALDAV:mkcalendar body"));
    }
    Ok(Some(root))
}

/// §5.3.1 `calendar-collection-location-ok`: calendars live directly in
/// their owner's calendar home (§4.2: never inside another calendar).
pub fn check_location(resource: &Resource, parent: &Collection) -> DavResult<()> {
    directly_in_home(resource, parent, super::collection::CALENDAR_HOMES, super::preconditions::CALENDAR_COLLECTION_LOCATION_OK)
}

/// The component names of a `supported-calendar-component-set` value
/// (§5.2.3); None when it names a type this server does not store.
pub fn parse_component_set(prop: &Element) -> Option<Vec<String>> {
    let mut components = Vec::new();
    for comp in prop.elements().filter(|e| e.is(NS_CALDAV, "comp")) {
        let name = comp.attr("", "name")?.to_ascii_uppercase();
        if !KNOWN_COMPONENTS.contains(&name.as_str()) {
            return None;
        }
        if !components.contains(&name) {
            components.push(name);
        }
    }
    (!components.is_empty()).then_some(components)
}

/// §5.2.2: `calendar-timezone` holds an iCalendar object with exactly one
/// VTIMEZONE.
pub fn valid_calendar_timezone(prop: &Element) -> bool {
    crate::ical::tz::zone_from_calendar_timezone(&prop.text()).is_some()
}
