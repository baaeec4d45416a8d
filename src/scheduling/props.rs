//! The scheduling properties (RFC 6638): where a principal's inbox and
//! outbox are (§2.1.1, §2.2.1), the inbox's default calendar (§9.2), and
//! whether a calendar counts for busy time (§9.1). The principal's
//! `calendar-user-address-set` and `calendar-user-type` (§2.4) are CalDAV's
//! (`caldav::props`).

use super::{inbox_path, outbox_path};
use crate::app::AppState;
use crate::caldav::collection::CALENDAR_HOMES;
use crate::caldav::{is_calendar, DEFAULT_CALENDAR};
use crate::dav::error::DavResult;
use crate::dav::locks::path_of_uri;
use crate::dav::path::DavPath;
use crate::dav::property::{LiveProperty, PropValue};
use crate::dav::registry::BoxFuture;
use crate::dav::resource::Resource;
use crate::dav::DavRequest;
use crate::store::{Collection, CollectionKind, Principal, PrincipalId, PropertyTarget};
use crate::xml::{Element, OutElement, NS_CALDAV, NS_DAV};

pub fn properties() -> Vec<LiveProperty> {
    vec![SCHEDULE_INBOX_URL, SCHEDULE_OUTBOX_URL, SCHEDULE_DEFAULT_CALENDAR_URL, SCHEDULE_CALENDAR_TRANSP, SCHEDULE_TAG]
}

/// RFC 6638 §9.3: the schedule tag of a scheduling object resource, as its
/// `Schedule-Tag` header gives it (§3.2.10).
pub const SCHEDULE_TAG: LiveProperty = LiveProperty::now(NS_CALDAV, "schedule-tag", |_, r, _| match r {
    Resource::Object { meta, .. } => meta.schedule_tag.as_ref().map(|t| PropValue::Text(format!("\"{t}\""))),
    _ => None,
});

/// RFC 6638 §2.2.1.
pub const SCHEDULE_INBOX_URL: LiveProperty = LiveProperty::now(NS_CALDAV, "schedule-inbox-URL", |req, r, _| match r {
    Resource::Principal(p) => Some(PropValue::Href(req.href(&inbox_path(&p.username)))),
    _ => None,
});

/// RFC 6638 §2.1.1.
pub const SCHEDULE_OUTBOX_URL: LiveProperty = LiveProperty::now(NS_CALDAV, "schedule-outbox-URL", |req, r, _| match r {
    Resource::Principal(p) => Some(PropValue::Href(req.href(&outbox_path(&p.username)))),
    _ => None,
});

/// RFC 6638 §9.2: on the inbox, the calendar new invitations go into; the
/// owner may choose it (a calendar of theirs that holds events, checked by
/// `boxes::Inbox::check_property`), else the server's choice
/// ([`default_calendar`]).
pub const SCHEDULE_DEFAULT_CALENDAR_URL: LiveProperty =
    LiveProperty::later(NS_CALDAV, "schedule-default-calendar-URL", schedule_default_calendar_url).unprotected();

/// RFC 6638 §9.1: a calendar's own value when its owner set one, else
/// `opaque` (its events count for busy time).
pub const SCHEDULE_CALENDAR_TRANSP: LiveProperty = LiveProperty::now(NS_CALDAV, "schedule-calendar-transp", |_, r, _| match r {
    Resource::Collection { collection, .. } if is_calendar(collection) => {
        Some(PropValue::Elements(vec![OutElement::empty(NS_CALDAV, "opaque")]))
    }
    _ => None,
})
.with_default();

fn schedule_default_calendar_url<'a>(req: &'a DavRequest<'a>, r: &'a Resource, _: &'a str) -> BoxFuture<'a, DavResult<Option<PropValue>>> {
    Box::pin(async move {
        let Resource::Collection { collection, .. } = r else { return Ok(None) };
        if collection.kind != CollectionKind::ScheduleInbox {
            return Ok(None);
        }
        let Some(owner) = req.state.store.principal(collection.owner).await? else { return Ok(None) };
        let calendar = default_calendar(req.state, &owner).await?;
        Ok(Some(PropValue::Elements(
            calendar.map(|c| OutElement::text(NS_DAV, "href", req.href(&c.path))).into_iter().collect(),
        )))
    })
}

/// Whether a calendar takes new invitations: it holds events.
fn takes_invitations(c: &Collection) -> bool {
    is_calendar(c) && c.components.iter().any(|t| t.eq_ignore_ascii_case("VEVENT"))
}

/// The calendar a `schedule-default-calendar-URL` value names: None when it
/// names none (no `DAV:href`: the server chooses), `Some(Err)` when it is
/// not a calendar of `owner` that holds events (RFC 6638 §4.3.1.2).
pub async fn default_calendar_target(
    state: &AppState,
    owner: PrincipalId,
    prop: &Element,
) -> DavResult<Option<Result<Collection, ()>>> {
    let Some(href) = prop.child(NS_DAV, "href").map(|h| h.text()) else { return Ok(None) };
    let Ok(path) = DavPath::parse(path_of_uri(href.trim()), state.config.base_path()) else { return Ok(Some(Err(()))) };
    let found = state.store.collection_by_path(&path.collection_path()).await?;
    Ok(Some(found.filter(|c| c.owner == owner && takes_invitations(c)).ok_or(())))
}

/// The calendar where invitations to `owner` are created (RFC 6638 §4.3):
/// the one its inbox's `schedule-default-calendar-URL` names when it still
/// takes invitations, else the home's default calendar, else its first
/// calendar that holds events; None when it has none (a delivery is then
/// refused).
pub async fn default_calendar(state: &AppState, owner: &Principal) -> DavResult<Option<Collection>> {
    let store = &state.store;
    if let Some(calendar) = chosen_default(state, owner).await? {
        return Ok(Some(calendar));
    }
    let Some(home) = store.collection_by_path(&CALENDAR_HOMES.home_path(&owner.username)).await? else { return Ok(None) };
    let calendars: Vec<Collection> = store.child_collections(home.id).await?.into_iter().filter(takes_invitations).collect();
    Ok(calendars.iter().find(|c| c.name() == DEFAULT_CALENDAR).or(calendars.first()).cloned())
}

/// [`default_calendar`], from what a delivery already read: the owner's
/// `inbox`, the collections of their calendar home (`children`) and the
/// inbox's `schedule-default-calendar-URL` as stored (`chosen`); no read.
pub fn default_calendar_among(state: &AppState, inbox: &Collection, children: &[Collection], chosen: Option<&str>) -> Option<Collection> {
    if let Some(Ok(element)) = chosen.map(crate::xml::parse_fragment) {
        if let Some(href) = element.child(NS_DAV, "href").map(|h| h.text()) {
            if let Ok(path) = DavPath::parse(path_of_uri(href.trim()), state.config.base_path()) {
                let path = path.collection_path();
                if let Some(c) = children.iter().find(|c| c.path == path && c.owner == inbox.owner && takes_invitations(c)) {
                    return Some(c.clone());
                }
            }
        }
    }
    let calendars: Vec<&Collection> = children.iter().filter(|c| takes_invitations(c)).collect();
    calendars.iter().find(|c| c.name() == DEFAULT_CALENDAR).or(calendars.first()).map(|c| (*c).clone())
}

/// The calendar `owner` chose for invitations, while it still takes them.
async fn chosen_default(state: &AppState, owner: &Principal) -> DavResult<Option<Collection>> {
    let Some(inbox) = state.store.collection_by_path(&inbox_path(&owner.username)).await? else { return Ok(None) };
    let props = state.store.dead_properties(PropertyTarget::Collection(inbox.id)).await?;
    let chosen = props.iter().find(|p| p.namespace == NS_CALDAV && p.name == "schedule-default-calendar-URL");
    if let Some(Ok(element)) = chosen.map(|p| crate::xml::parse_fragment(&p.value)) {
        if let Some(Ok(calendar)) = default_calendar_target(state, owner.id, &element).await? {
            return Ok(Some(calendar));
        }
    }
    Ok(None)
}

/// Whether deleting `calendar` would leave `owner` without the default
/// calendar (RFC 6638 §4.3: it cannot be deleted): it is the one the owner
/// chose, or the server's choice with no other calendar to take over.
pub async fn default_calendar_is_needed(state: &AppState, owner: &Principal, calendar: &Collection) -> DavResult<bool> {
    let Some(current) = default_calendar(state, owner).await? else { return Ok(false) };
    if current.id != calendar.id {
        return Ok(false);
    }
    if chosen_default(state, owner).await?.is_some() {
        return Ok(true);
    }
    let Some(home) = state.store.collection_by_path(&CALENDAR_HOMES.home_path(&owner.username)).await? else { return Ok(false) };
    let others = state.store.child_collections(home.id).await?.into_iter().filter(|c| c.id != calendar.id && takes_invitations(c)).count();
    Ok(others == 0)
}
