//! The CalDAV precondition and postcondition elements (RFC 4791 §1.3: each
//! is a child of `DAV:error` in a 403 or 409 answer).

use crate::dav::error::Precondition;
use crate::xml::NS_CALDAV;

const fn caldav(name: &'static str) -> Precondition {
    Precondition::new(NS_CALDAV, name)
}

/// §5.3.2.1: the resource is not valid iCalendar.
pub const VALID_CALENDAR_DATA: Precondition = caldav("valid-calendar-data");
/// §5.3.2.1: valid iCalendar that breaks the calendar object rules of §4.1.
pub const VALID_CALENDAR_OBJECT_RESOURCE: Precondition = caldav("valid-calendar-object-resource");
/// §5.3.2.1 (PUT) and §9.6 (reports): a media type or version the server
/// does not support.
pub const SUPPORTED_CALENDAR_DATA: Precondition = caldav("supported-calendar-data");
/// §5.3.2.1: a component type the calendar does not accept (§5.2.3).
pub const SUPPORTED_CALENDAR_COMPONENT: Precondition = caldav("supported-calendar-component");
/// §5.3.2.1: another member already has this UID (with its href).
pub const NO_UID_CONFLICT: Precondition = caldav("no-uid-conflict");
/// §5.3.1, §5.3.2.1: a calendar may not be created or placed here.
pub const CALENDAR_COLLECTION_LOCATION_OK: Precondition = caldav("calendar-collection-location-ok");
/// §5.3.2.1: larger than `max-resource-size` (§5.2.5).
pub const MAX_RESOURCE_SIZE: Precondition = caldav("max-resource-size");
/// §5.3.2.1: a time before `min-date-time` (§5.2.6).
pub const MIN_DATE_TIME: Precondition = caldav("min-date-time");
/// §5.3.2.1: a time after `max-date-time` (§5.2.7).
pub const MAX_DATE_TIME: Precondition = caldav("max-date-time");
/// §5.3.2.1: more instances than `max-instances` (§5.2.8).
pub const MAX_INSTANCES: Precondition = caldav("max-instances");
/// §5.3.2.1: more attendees than `max-attendees-per-instance` (§5.2.9).
pub const MAX_ATTENDEES_PER_INSTANCE: Precondition = caldav("max-attendees-per-instance");
/// §7.8: the filter is not valid.
pub const VALID_FILTER: Precondition = caldav("valid-filter");
/// §7.5.1: a collation the server does not support.
pub const SUPPORTED_COLLATION: Precondition = caldav("supported-collation");
