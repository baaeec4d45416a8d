//! The iTIP logic of CalDAV scheduling (RFC 6638 implicit scheduling over
//! RFC 5546 iTIP), with no HTTP, XML, SQL, I/O or clock: calendar objects
//! in, scheduling messages and the objects to store out. The time is
//! passed in.
//!
//! - [`role`] — whose object is it (RFC 6638 §3.1): the organizer's, an
//!   attendee's, or a plain calendar object.
//! - [`organizer_change`] — an organizer creates, modifies or removes a
//!   scheduling object (§3.2.1): REQUEST / CANCEL per attendee and per
//!   instance (§3.2.6), the object to store (§7.2, §7.3).
//! - [`attendee_change`] — an attendee does (§3.2.2): the allowed changes
//!   (§3.2.2.1) and the REPLY to the organizer.
//! - [`apply_to_attendee`] — a REQUEST / ADD / CANCEL delivered to an
//!   attendee, applied to their copy (§4.1).
//! - [`apply_reply`] — a REPLY applied to the organizer's copy (§4.2),
//!   and [`reply_updates`], the other attendees told of it.
//! - [`merge_attendee_status`], [`only_participation_changed`] — the
//!   "inconsequential" changes of §3.2.10 (`If-Schedule-Tag-Match`,
//!   `schedule-tag`).
//! - [`validate_message`] — the RFC 5546 restriction tables a message
//!   obeys (`CALDAV:valid-scheduling-message`, §5.2.1).
//!
//! The glue (inbox and outbox, delivery, HTTP, iMIP) calls these; it parses
//! the stored and received bytes with [`crate::ical::object`] and writes
//! what comes out with [`crate::ical::expand::write_ical`].

use calcard::icalendar::ICalendarMethod;

pub mod address;
mod apply;
mod attendee;
mod message;
mod model;
mod organizer;
mod parties;
mod role;
#[cfg(test)]
mod tests;

pub use address::{AddressSet, CalAddress};
pub use apply::{apply_reply, apply_to_attendee, only_participation_changed, Applied};
pub use attendee::{attendee_change, set_organizer_schedule_status, AttendeeOutcome};
pub use message::{validate_message, Outgoing};
pub use organizer::{
    merge_attendee_status, organizer_change, reply_updates, set_schedule_status, OrganizerOutcome,
};
pub use parties::{parties, set_organizer_address, Parties};
pub use role::{role, Role};

/// RFC 6638 §7.1: whether the server schedules for `entry`, an ORGANIZER
/// or ATTENDEE property (SCHEDULE-AGENT absent or SERVER; CLIENT and NONE
/// leave it to the client, or to nobody).
pub fn scheduled_by_server(entry: &calcard::icalendar::ICalendarEntry) -> bool {
    model::agent(entry) == model::Agent::Server
}

/// An iTIP method (RFC 5546 §1.4, §3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    Publish,
    Request,
    Reply,
    Add,
    Cancel,
    Refresh,
    Counter,
    DeclineCounter,
}

impl Method {
    pub fn as_str(&self) -> &'static str {
        match self {
            Method::Publish => "PUBLISH",
            Method::Request => "REQUEST",
            Method::Reply => "REPLY",
            Method::Add => "ADD",
            Method::Cancel => "CANCEL",
            Method::Refresh => "REFRESH",
            Method::Counter => "COUNTER",
            Method::DeclineCounter => "DECLINECOUNTER",
        }
    }

    /// Case-insensitive (RFC 5545 §3.7.2 values are case-insensitive).
    pub fn parse(text: &str) -> Option<Method> {
        [
            Method::Publish,
            Method::Request,
            Method::Reply,
            Method::Add,
            Method::Cancel,
            Method::Refresh,
            Method::Counter,
            Method::DeclineCounter,
        ]
        .into_iter()
        .find(|m| m.as_str().eq_ignore_ascii_case(text.trim()))
    }

    pub(crate) fn to_ical(self) -> ICalendarMethod {
        match self {
            Method::Publish => ICalendarMethod::Publish,
            Method::Request => ICalendarMethod::Request,
            Method::Reply => ICalendarMethod::Reply,
            Method::Add => ICalendarMethod::Add,
            Method::Cancel => ICalendarMethod::Cancel,
            Method::Refresh => ICalendarMethod::Refresh,
            Method::Counter => ICalendarMethod::Counter,
            Method::DeclineCounter => ICalendarMethod::Declinecounter,
        }
    }
}

impl std::fmt::Display for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a scheduling operation is refused; each variant is one CalDAV
/// precondition ([`SchedulingError::precondition`]), answered 403 (400 for
/// `valid-scheduling-message`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchedulingError {
    /// `CALDAV:same-organizer-in-all-components` (RFC 6638 §3.2.4.2): the
    /// components do not all carry the same ORGANIZER.
    #[error("the components do not all have the same ORGANIZER")]
    SameOrganizerInAllComponents,
    /// `CALDAV:allowed-organizer-scheduling-object-change` (§3.2.4.3).
    #[error("change not allowed to the organizer: {0}")]
    AllowedOrganizerChange(String),
    /// `CALDAV:allowed-attendee-scheduling-object-change` (§3.2.4.4).
    #[error("change not allowed to an attendee: {0}")]
    AllowedAttendeeChange(String),
    /// `CALDAV:valid-scheduling-message` (§5.2.1): not a message (or
    /// object) that obeys RFC 5546 §3.
    #[error("invalid scheduling message: {0}")]
    ValidSchedulingMessage(String),
}

impl SchedulingError {
    /// The precondition's element name, in the CalDAV namespace
    /// (`urn:ietf:params:xml:ns:caldav`).
    pub fn precondition(&self) -> &'static str {
        match self {
            SchedulingError::SameOrganizerInAllComponents => "same-organizer-in-all-components",
            SchedulingError::AllowedOrganizerChange(_) => "allowed-organizer-scheduling-object-change",
            SchedulingError::AllowedAttendeeChange(_) => "allowed-attendee-scheduling-object-change",
            SchedulingError::ValidSchedulingMessage(_) => "valid-scheduling-message",
        }
    }
}

/// Why a REPLY is not applied to the organizer's copy (RFC 6638 §4.2,
/// RFC 5546 §3.2.3).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplyError {
    /// The replying address is not an ATTENDEE of the organizer's copy
    /// (a "party crasher", RFC 5546 §3.2.3: the organizer decides; this
    /// server does not add them).
    #[error("the replying address is not an attendee")]
    NotAnAttendee,
    /// The reply's UID is not the copy's.
    #[error("the reply's UID is not the event's")]
    UidMismatch,
    /// The reply answers an older revision (RFC 5546 §2.1.5: its SEQUENCE
    /// is below the copy's).
    #[error("the reply answers an older revision")]
    Stale,
    /// Not a REPLY that obeys RFC 5546 §3.2.3 (or §3.4.3), or one that
    /// cannot be applied.
    #[error("malformed reply: {0}")]
    Malformed(String),
}
