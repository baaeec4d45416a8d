//! CalDAV scheduling (RFC 6638): calendar users exchange iTIP messages
//! (RFC 5546) through the server.
//!
//! - [`boxes`]: the scheduling inbox and outbox of every calendar home
//!   (§2.1, §2.2), registered as collection types;
//! - [`props`]: the scheduling properties of principals, inboxes and
//!   calendars (§2.1.1, §2.2.1, §9);
//! - [`implicit`]: what a PUT, DELETE, COPY or MOVE of a scheduling object
//!   sends (§3), registered as a hook on calendar members;
//! - [`deliver`]: delivering messages to the platform's calendar users
//!   (§4), as jobs queued with the change that sends them;
//! - [`mail`]: messages to and from people outside the platform (iMIP);
//! - [`address`]: calendar user addresses (§2.4.1) and whom they name;
//! - [`freebusy`]: busy time requests POSTed to the outbox (§5).
//!
//! What messages a change causes is decided by [`crate::itip`], pure
//! logic; sending them by email and receiving answers by LMTP is
//! [`crate::imip`].

pub mod address;
pub mod boxes;
pub mod deliver;
pub mod freebusy;
pub mod implicit;
pub mod mail;
pub mod props;

use std::sync::Arc;

use crate::caldav::collection::CALENDAR_HOMES;
use crate::{app, dav, ical, itip, store};
use crate::dav::registry::{DefaultCollection, Protocol};
use crate::store::CollectionKind;

/// The name of the scheduling inbox in a calendar home.
pub const INBOX: &str = "inbox";
/// The name of the scheduling outbox in a calendar home.
pub const OUTBOX: &str = "outbox";

/// The path of `username`'s scheduling inbox.
pub fn inbox_path(username: &str) -> String {
    format!("{}{INBOX}/", CALENDAR_HOMES.home_path(username))
}

/// The path of `username`'s scheduling outbox.
pub fn outbox_path(username: &str) -> String {
    format!("{}{OUTBOX}/", CALENDAR_HOMES.home_path(username))
}

/// A new schedule tag (RFC 6638 §3.2.10), for every change by request: a
/// random value, so that writing back earlier bytes never brings back an
/// earlier tag (a digest would) that a stale client still holds.
pub fn new_schedule_tag() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// What scheduling adds to the WebDAV core, on top of CalDAV (which must be
/// registered first: the inbox and outbox live in its calendar homes).
pub fn protocol() -> Protocol {
    Protocol {
        // RFC 6638 §2: the server schedules implicitly.
        dav_classes: vec!["calendar-auto-schedule"],
        home_collections: vec![
            (
                CALENDAR_HOMES,
                DefaultCollection {
                    name: INBOX,
                    kind: CollectionKind::ScheduleInbox,
                    member_types: &["VEVENT", "VTODO", "VJOURNAL", "VFREEBUSY"],
                    display_name: "Boîte de réception",
                    permanent: true,
                },
            ),
            (
                CALENDAR_HOMES,
                DefaultCollection {
                    name: OUTBOX,
                    kind: CollectionKind::ScheduleOutbox,
                    member_types: &[],
                    display_name: "Boîte d'envoi",
                    permanent: true,
                },
            ),
        ],
        collection_types: vec![Arc::new(boxes::Inbox), Arc::new(boxes::Outbox)],
        member_hooks: vec![Arc::new(implicit::ImplicitScheduling)],
        properties: props::properties(),
        ..Protocol::default()
    }
}

/// Record a delivery outcome that became known after the change (an email
/// sent or refused, RFC 6638 §3.2.9) on `owner`'s scheduling object of
/// `uid`: as the SCHEDULE-STATUS of the ATTENDEE `recipient` on an
/// organizer's object, or of the ORGANIZER (recipient None) on an
/// attendee's. The schedule tag stays (§3.2.10: not a consequential
/// change); a concurrent write makes it read again.
pub async fn record_status(
    state: &app::AppState,
    owner: store::PrincipalId,
    uid: &str,
    recipient: Option<&itip::CalAddress>,
    code: &str,
) -> dav::error::DavResult<()> {
    for _ in 0..4 {
        // The scheduling object (one with a schedule tag), not another
        // object of the owner's that happens to have its UID.
        let found = state.store.calendar_objects_by_uid(owner, uid).await?.into_iter().find(|(c, m)| m.schedule_tag.is_some() && c.kind == store::CollectionKind::Calendar);
        let Some((collection, meta)) = found else { return Ok(()) };
        let Some((meta, bytes)) = state.store.object_with_content(meta.id).await? else { continue };
        let Some(mut ical) = std::str::from_utf8(&bytes).ok().and_then(|t| calcard::icalendar::ICalendar::parse(t).ok()) else {
            return Ok(());
        };
        match recipient {
            Some(r) => itip::set_schedule_status(&mut ical, r, code),
            None => itip::set_organizer_schedule_status(&mut ical, code),
        }
        let content = bytes::Bytes::from(ical::expand::write_ical(&ical));
        if content == bytes {
            return Ok(());
        }
        let prepared = crate::caldav::put::prepare(
            dav::collection_type::ResourceLimits::of(&state.config),
            None,
            &collection.components,
            &content,
        )?;
        let put = store::PutObject {
            collection: collection.id,
            collection_path: collection.path.clone(),
            name: meta.name.clone(),
            content_type: prepared.content_type,
            content,
            condition: store::WriteCondition::ETagMatches(meta.etag.clone()),
            quota_limit: None,
            guard: store::LockGuard::none(),
            index: prepared.index,
            unique_uid: true,
            enqueue: Vec::new(),
            schedule_tag: meta.schedule_tag.clone(),
        };
        match state.store.put_object(put).await {
            Ok(_) => return Ok(()),
            Err(store::StoreError::PreconditionFailed | store::StoreError::MissingParent) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}
