//! CalDAV (RFC 4791): calendar collections on top of the WebDAV core.
//!
//! The WebDAV core routes here when a request concerns a calendar: the
//! MKCALENDAR method, creation of calendars by extended MKCOL, validation of
//! a PUT into a calendar (§5.3.2), the live properties of calendars and of
//! principals (§5.2, §6.2), the `calendar-query`, `calendar-multiget` and
//! `free-busy-query` reports (§7), and the export of a whole calendar on
//! GET. iCalendar semantics live in [`crate::ical`]; this module only
//! translates between them, XML and the store.

pub mod collection;
pub mod export;
pub mod limits;
pub mod mkcalendar;
pub mod preconditions;
pub mod props;
pub mod put;
pub mod report;

use std::sync::Arc;

use crate::dav::registry::{BoxFuture, DefaultCollection, HomeDef, MethodDef, PrincipalSearchProperty, PropertyCheck, Protocol, SearchField};
use crate::dav::resource::Resource;
use crate::dav::response::Response;
use crate::dav::error::DavResult;
use crate::dav::DavRequest;
use crate::store::{Collection, CollectionKind};
use crate::xml::NS_CALDAV;

/// Component types a calendar may be restricted to (RFC 4791 §5.2.3).
pub const KNOWN_COMPONENTS: [&str; 5] = ["VEVENT", "VTODO", "VJOURNAL", "VFREEBUSY", "VAVAILABILITY"];

/// What a calendar created without `supported-calendar-component-set`
/// accepts: every type (RFC 4791 §5.2.3).
pub const DEFAULT_COMPONENTS: [&str; 5] = KNOWN_COMPONENTS;

/// Name of the calendar every user gets on first use.
pub const DEFAULT_CALENDAR: &str = "default";

pub fn is_calendar(c: &Collection) -> bool {
    c.kind == CollectionKind::Calendar
}

/// Whether `c`'s members are calendar objects that `calendar-query` and
/// `calendar-multiget` answer on: a calendar, or a scheduling inbox (RFC
/// 6638 §2.3).
pub fn holds_calendar_objects(c: &Collection) -> bool {
    matches!(c.kind, CollectionKind::Calendar | CollectionKind::ScheduleInbox)
}

/// What CalDAV adds to the WebDAV core.
pub fn protocol() -> Protocol {
    Protocol {
        // RFC 4791 §5.1.
        dav_classes: vec!["calendar-access"],
        homes: vec![HomeDef {
            space: collection::CALENDAR_HOMES,
            holds: Some(CollectionKind::Calendar),
            // A calendar for events and tasks, so that a client finds
            // somewhere to write on first use.
            default_collections: vec![DefaultCollection {
                name: DEFAULT_CALENDAR,
                kind: CollectionKind::Calendar,
                member_types: &["VEVENT", "VTODO"],
                display_name: "Agenda",
                permanent: false,
            }],
        }],
        home_collections: Vec::new(),
        collection_types: vec![Arc::new(collection::Calendars)],
        member_hooks: Vec::new(),
        properties: props::properties(),
        methods: vec![MethodDef {
            // RFC 4791 §5.3.1.
            name: "MKCALENDAR",
            safe: false,
            allowed_on: |r| matches!(r, Resource::Unmapped { .. }),
            handler: mkcalendar_method,
        }],
        property_checks: vec![PropertyCheck {
            // §5.2.2: one valid VTIMEZONE.
            ns: NS_CALDAV,
            name: "calendar-timezone",
            check: mkcalendar::valid_calendar_timezone,
            precondition: preconditions::VALID_CALENDAR_DATA,
        }],
        mounts: Vec::new(),
        principal_search: vec![PrincipalSearchProperty {
            // RFC 6638 §2.4.1: SHOULD be searchable.
            ns: NS_CALDAV,
            name: "calendar-user-address-set",
            field: SearchField::Email,
            description: Some("Email address"),
        }],
    }
}

fn mkcalendar_method<'a>(req: &'a DavRequest<'a>) -> BoxFuture<'a, DavResult<Response>> {
    Box::pin(mkcalendar::mkcalendar(req))
}
