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

// RFC 6638 (scheduling).

/// RFC 6638 §3.2.4.1: another scheduling object of the same user already
/// has this UID (with a `DAV:href` to it).
pub const UNIQUE_SCHEDULING_OBJECT_RESOURCE: Precondition = caldav("unique-scheduling-object-resource");
/// RFC 6638 §3.2.4.2: every component names the same ORGANIZER.
pub const SAME_ORGANIZER_IN_ALL_COMPONENTS: Precondition = caldav("same-organizer-in-all-components");
/// RFC 6638 §3.2.4.3: a change the organizer may not make.
pub const ALLOWED_ORGANIZER_SCHEDULING_OBJECT_CHANGE: Precondition = caldav("allowed-organizer-scheduling-object-change");
/// RFC 6638 §3.2.4.4: a change an attendee may not make (§3.2.2.1).
pub const ALLOWED_ATTENDEE_SCHEDULING_OBJECT_CHANGE: Precondition = caldav("allowed-attendee-scheduling-object-change");
/// RFC 6638 §4.3.1.1: the default calendar cannot be deleted.
pub const DEFAULT_CALENDAR_NEEDED: Precondition = caldav("default-calendar-needed");
/// RFC 6638 §4.3.1.2: `schedule-default-calendar-URL` must name a calendar
/// of the inbox's owner.
pub const VALID_SCHEDULE_DEFAULT_CALENDAR_URL: Precondition = caldav("valid-schedule-default-calendar-URL");
/// RFC 6638 §5.2.1: a POST to the outbox that is not a valid iTIP message.
pub const VALID_SCHEDULING_MESSAGE: Precondition = caldav("valid-scheduling-message");
/// RFC 6638 §5.2.2: the ORGANIZER of a POST is not the outbox's owner.
pub const VALID_ORGANIZER: Precondition = caldav("valid-organizer");
