//! CalDAV (RFC 4791): calendar collections on top of the WebDAV core.
//!
//! The WebDAV core routes here when a request concerns a calendar: the
//! MKCALENDAR method, creation of calendars by extended MKCOL, validation of
//! a PUT into a calendar (§5.3.2), the live properties of calendars and of
//! principals (§5.2, §6.2), the `calendar-query`, `calendar-multiget` and
//! `free-busy-query` reports (§7), and the export of a whole calendar on
//! GET. iCalendar semantics live in [`crate::ical`]; this module only
//! translates between them, XML and the store.

pub mod export;
pub mod limits;
pub mod mkcalendar;
pub mod preconditions;
pub mod props;
pub mod put;
pub mod report;

use crate::dav::resource::create_default_collection;
use crate::store::{Collection, CollectionKind, SharedStore, StoreResult};

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

/// A new calendar home gets one calendar for events and tasks, so that a
/// client finds somewhere to write on first use.
pub async fn create_default_calendar(store: &SharedStore, home: &Collection) -> StoreResult<()> {
    let components = vec!["VEVENT".into(), "VTODO".into()];
    create_default_collection(store, home, DEFAULT_CALENDAR, CollectionKind::Calendar, components, "Agenda").await
}
