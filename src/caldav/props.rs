//! Live properties of CalDAV: on calendar collections (RFC 4791 §5.2) and on
//! principals (§6.2.1, RFC 6638 §2.4). Calendar properties a client sets
//! (`calendar-description`, `calendar-timezone`, Apple's `calendar-color` and
//! `calendar-order`, `schedule-calendar-transp`, `displayname`) are dead
//! properties, stored as sent.

use super::limits;
use super::is_calendar;
use crate::dav::error::DavResult;
use crate::dav::property::{LiveProperty, PropValue};
use crate::dav::resource::{HomeSpace, Resource};
use crate::dav::DavRequest;
use crate::store::{Principal, PrincipalKind};
use crate::xml::{OutElement, NS_CALDAV};

/// The collations of `text-match` (RFC 4791 §7.5, RFC 4790).
pub const COLLATIONS: [&str; 3] = ["i;ascii-casemap", "i;octet", "i;unicode-casemap"];

/// The value of a CalDAV live property on `resource`; None when the
/// resource does not have it.
pub async fn live_value(req: &DavRequest<'_>, resource: &Resource, prop: LiveProperty) -> DavResult<Option<PropValue>> {
    use LiveProperty as P;
    let value = match (prop, resource) {
        (P::CalendarHomeSet, Resource::Principal(p)) => {
            PropValue::Href(req.href(&HomeSpace::Calendars.home_path(&p.username)))
        }
        (P::CalendarUserAddressSet, Resource::Principal(p)) => PropValue::Hrefs(user_addresses(req, p).await?),
        (P::CalendarUserType, Resource::Principal(p)) => PropValue::Text(calendar_user_type(p).into()),
        (prop, Resource::Collection { collection, .. }) if is_calendar(collection) => match prop {
            P::SupportedCalendarComponentSet => PropValue::Elements(
                collection.components.iter().map(|c| OutElement::empty(NS_CALDAV, "comp").attr("name", c.as_str())).collect(),
            ),
            P::SupportedCalendarData => {
                PropValue::Elements(vec![OutElement::empty(NS_CALDAV, "calendar-data")
                    .attr("content-type", "text/calendar")
                    .attr("version", "2.0")])
            }
            P::SupportedCollationSet => PropValue::Elements(
                COLLATIONS.iter().map(|c| OutElement::text(NS_CALDAV, "supported-collation", *c)).collect(),
            ),
            P::MaxResourceSize => PropValue::Text(req.state.config.max_resource_bytes.to_string()),
            P::MinDateTime => PropValue::Text(limits::MIN_DATE_TIME.into()),
            P::MaxDateTime => PropValue::Text(limits::MAX_DATE_TIME.into()),
            P::MaxInstances => PropValue::Text(limits::MAX_INSTANCES.to_string()),
            P::MaxAttendeesPerInstance => PropValue::Text(limits::MAX_ATTENDEES_PER_INSTANCE.to_string()),
            _ => return Ok(None),
        },
        _ => return Ok(None),
    };
    Ok(Some(value))
}

/// RFC 6638 §2.4.1: the addresses that identify the user as an attendee:
/// its email addresses (primary first) and its principal URL.
pub async fn user_addresses(req: &DavRequest<'_>, p: &Principal) -> DavResult<Vec<String>> {
    let mut emails = req.state.store.principal_emails(p.id).await?;
    emails.sort_by_key(|e| !e.primary);
    let mut hrefs: Vec<String> = emails.into_iter().map(|e| format!("mailto:{}", e.address)).collect();
    hrefs.push(req.href(&format!("/principals/{}/", p.username)));
    Ok(hrefs)
}

/// RFC 6638 §2.4.2, with the CUTYPE values of RFC 5545 §3.2.3.
fn calendar_user_type(p: &Principal) -> &'static str {
    match p.kind {
        PrincipalKind::User => "INDIVIDUAL",
        PrincipalKind::Group => "GROUP",
        PrincipalKind::Room => "ROOM",
        PrincipalKind::Resource => "RESOURCE",
    }
}
