//! The live properties CalDAV registers: on calendar collections (RFC 4791
//! §5.2) and on principals (§6.2.1, RFC 6638 §2.4). Calendar properties a
//! client sets (`calendar-description`, `calendar-timezone`, Apple's
//! `calendar-color` and `calendar-order`, `schedule-calendar-transp`,
//! `displayname`) are dead properties, stored as sent.

use super::collection::CALENDAR_HOMES;
use super::{is_calendar, limits};
use crate::dav::error::DavResult;
use crate::dav::property::{LiveProperty, PropValue};
use crate::dav::registry::BoxFuture;
use crate::dav::resource::Resource;
use crate::dav::DavRequest;
use crate::store::{Collection, Principal, PrincipalKind};
use crate::xml::{OutElement, NS_CALDAV};

/// The collations of `text-match` (RFC 4791 §7.5, RFC 4790).
pub const COLLATIONS: [&str; 3] = ["i;ascii-casemap", "i;octet", "i;unicode-casemap"];

pub fn properties() -> Vec<LiveProperty> {
    vec![
        CALENDAR_HOME_SET,
        CALENDAR_USER_ADDRESS_SET,
        CALENDAR_USER_TYPE,
        SUPPORTED_CALENDAR_COMPONENT_SET,
        SUPPORTED_CALENDAR_DATA,
        SUPPORTED_COLLATION_SET,
        MAX_RESOURCE_SIZE,
        MIN_DATE_TIME,
        MAX_DATE_TIME,
        MAX_INSTANCES,
        MAX_ATTENDEES_PER_INSTANCE,
    ]
}

/// RFC 4791 §6.2.1.
pub const CALENDAR_HOME_SET: LiveProperty = LiveProperty::now(NS_CALDAV, "calendar-home-set", calendar_home_set);

/// RFC 6638 §2.4.1.
pub const CALENDAR_USER_ADDRESS_SET: LiveProperty = LiveProperty::later(NS_CALDAV, "calendar-user-address-set", calendar_user_address_set);

/// RFC 6638 §2.4.2.
pub const CALENDAR_USER_TYPE: LiveProperty = LiveProperty::now(NS_CALDAV, "calendar-user-type", calendar_user_type);

/// RFC 4791 §5.2.3 (set at creation only, see `collection`).
pub const SUPPORTED_CALENDAR_COMPONENT_SET: LiveProperty = LiveProperty::now(NS_CALDAV, "supported-calendar-component-set", supported_calendar_component_set);

/// RFC 4791 §5.2.4.
pub const SUPPORTED_CALENDAR_DATA: LiveProperty = LiveProperty::now(NS_CALDAV, "supported-calendar-data", supported_calendar_data);

/// RFC 4791 §7.5.1.
pub const SUPPORTED_COLLATION_SET: LiveProperty = LiveProperty::now(NS_CALDAV, "supported-collation-set", supported_collation_set);

/// RFC 4791 §5.2.5.
pub const MAX_RESOURCE_SIZE: LiveProperty = LiveProperty::now(NS_CALDAV, "max-resource-size", max_resource_size);

/// RFC 4791 §5.2.6.
pub const MIN_DATE_TIME: LiveProperty = LiveProperty::now(NS_CALDAV, "min-date-time", |_, r, _| calendar(r).map(|_| PropValue::Text(limits::MIN_DATE_TIME.into())));

/// RFC 4791 §5.2.7.
pub const MAX_DATE_TIME: LiveProperty = LiveProperty::now(NS_CALDAV, "max-date-time", |_, r, _| calendar(r).map(|_| PropValue::Text(limits::MAX_DATE_TIME.into())));

/// RFC 4791 §5.2.8.
pub const MAX_INSTANCES: LiveProperty = LiveProperty::now(NS_CALDAV, "max-instances", |_, r, _| {
    calendar(r).map(|_| PropValue::Text(limits::MAX_INSTANCES.to_string()))
});

/// RFC 4791 §5.2.9.
pub const MAX_ATTENDEES_PER_INSTANCE: LiveProperty = LiveProperty::now(NS_CALDAV, "max-attendees-per-instance", |_, r, _| {
    calendar(r).map(|_| PropValue::Text(limits::MAX_ATTENDEES_PER_INSTANCE.to_string()))
});

/// The calendar a resource is, if it is one.
fn calendar(r: &Resource) -> Option<&Collection> {
    match r {
        Resource::Collection { collection, .. } if is_calendar(collection) => Some(collection),
        _ => None,
    }
}

fn calendar_home_set(req: &DavRequest<'_>, r: &Resource, _: &str) -> Option<PropValue> {
    match r {
        Resource::Principal(p) => Some(PropValue::Href(req.href(&CALENDAR_HOMES.home_path(&p.username)))),
        _ => None,
    }
}

fn calendar_user_address_set<'a>(req: &'a DavRequest<'a>, r: &'a Resource, _: &'a str) -> BoxFuture<'a, DavResult<Option<PropValue>>> {
    Box::pin(async move {
        Ok(match r {
            Resource::Principal(p) => Some(PropValue::Hrefs(user_addresses(req, p).await?)),
            _ => None,
        })
    })
}

fn calendar_user_type(_: &DavRequest<'_>, r: &Resource, _: &str) -> Option<PropValue> {
    match r {
        Resource::Principal(p) => Some(PropValue::Text(cutype(p).into())),
        _ => None,
    }
}

fn supported_calendar_component_set(_: &DavRequest<'_>, r: &Resource, _: &str) -> Option<PropValue> {
    calendar(r).map(|c| {
        PropValue::Elements(c.components.iter().map(|t| OutElement::empty(NS_CALDAV, "comp").attr("name", t.as_str())).collect())
    })
}

fn supported_calendar_data(_: &DavRequest<'_>, r: &Resource, _: &str) -> Option<PropValue> {
    calendar(r).map(|_| {
        PropValue::Elements(vec![OutElement::empty(NS_CALDAV, "calendar-data")
            .attr("content-type", "text/calendar")
            .attr("version", "2.0")])
    })
}

fn supported_collation_set(_: &DavRequest<'_>, r: &Resource, _: &str) -> Option<PropValue> {
    calendar(r).map(|_| PropValue::Elements(COLLATIONS.iter().map(|c| OutElement::text(NS_CALDAV, "supported-collation", *c)).collect()))
}

fn max_resource_size(req: &DavRequest<'_>, r: &Resource, _: &str) -> Option<PropValue> {
    calendar(r).map(|_| PropValue::Text(req.state.config.max_resource_bytes.to_string()))
}

/// RFC 6638 §2.4.1: the addresses that identify the user as an attendee:
/// its email addresses (primary first; former addresses after the current
/// ones, so that replies to old invitations still find it) and its
/// principal URL.
pub async fn user_addresses(req: &DavRequest<'_>, p: &Principal) -> DavResult<Vec<String>> {
    let mut emails = req.state.store.principal_emails(p.id).await?;
    emails.sort_by_key(|e| !e.primary);
    let mut hrefs: Vec<String> = emails.into_iter().map(|e| format!("mailto:{}", e.address)).collect();
    hrefs.push(req.href(&format!("/principals/{}/", p.username)));
    Ok(hrefs)
}

/// RFC 6638 §2.4.2, with the CUTYPE values of RFC 5545 §3.2.3.
fn cutype(p: &Principal) -> &'static str {
    match p.kind {
        PrincipalKind::User => "INDIVIDUAL",
        PrincipalKind::Group => "GROUP",
        PrincipalKind::Room => "ROOM",
        PrincipalKind::Resource => "RESOURCE",
    }
}
