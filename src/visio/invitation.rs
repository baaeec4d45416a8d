//! Visio in implicit scheduling (RFC 6638 §3.2.1): what an organizer's
//! change does to the room of its meeting, and to the links in the object
//! stored and in the messages sent.
//!
//! [`prepare`] runs before the iTIP decisions: it reads the room (the
//! store's, by organizer and UID), decides from the policy whether the
//! meeting has one, creates it on first need (in the store only: the BBB
//! meeting is created at join time), and gives back the old and new
//! versions *as attendees see them* (attendee link, links written), so
//! that messages carry the attendee link and a change of link is never a
//! change of the meeting. [`RoomChange::finish`] then puts the moderator
//! link back into the organizer's stored copy and into the messages to
//! CHAIR attendees. A cancelled or deleted event gets the jobs that close
//! its room ([`super::jobs`]).

use calcard::icalendar::{ICalendar, ICalendarProperty};

use super::event;
use crate::app::AppState;
use crate::ical::tz::TzResolver;
use crate::itip::{AddressSet, OrganizerOutcome};
use crate::store::{NewJob, Principal, Room, RoomDetails, StoreResult, VisioPolicy};

/// What visio does in one organizer change.
pub struct RoomChange {
    /// The versions to run the iTIP decisions on: attendee links, links
    /// written into the new one.
    pub old: Option<ICalendar>,
    pub new: Option<ICalendar>,
    /// (attendee link, moderator link).
    links: (String, String),
    /// Closing the room (a cancelled or deleted event).
    pub jobs: Vec<NewJob>,
}

impl RoomChange {
    /// The moderator link into what the organizer stores, and into the
    /// messages of CHAIR attendees.
    pub fn finish(&self, outcome: &mut OrganizerOutcome) {
        let (attendee, moderator) = (&self.links.0, &self.links.1);
        event::swap_link(&mut outcome.stored, attendee, moderator);
        let chairs = self.new.as_ref().map(event::chairs).unwrap_or_default();
        for message in outcome.outgoing.iter_mut().filter(|m| chairs.contains(&m.recipient)) {
            event::swap_link(&mut message.message, attendee, moderator);
        }
    }
}

/// What the join page shows of the event.
fn details(ical: &ICalendar, owner: &Principal) -> RoomDetails {
    let start = ical
        .components
        .iter()
        .filter(|c| c.component_type == calcard::icalendar::ICalendarComponentType::VEvent)
        .find(|c| c.property(&ICalendarProperty::RecurrenceId).is_none())
        .and_then(|c| c.property(&ICalendarProperty::Dtstart))
        .and_then(|e| TzResolver::new(ical, None).first_value(e));
    RoomDetails {
        title: event::first_text(ical, &ICalendarProperty::Summary).unwrap_or_default(),
        starts_at: start.as_ref().map(|v| v.utc().timestamp_millis()),
        time_zone: start.as_ref().filter(|v| !v.floating).and_then(|v| v.zone.name().map(str::to_string)),
        organizer: owner.display_name.clone().unwrap_or_else(|| owner.username.clone()),
    }
}

fn attendee_form(ical: Option<&ICalendar>, links: &(String, String)) -> Option<ICalendar> {
    ical.map(|i| {
        let mut i = i.clone();
        event::swap_link(&mut i, &links.1, &links.0);
        i
    })
}

fn links_of(state: &AppState, room: &Room) -> (String, String) {
    (super::link(state, &room.attendee_token), super::link(state, &room.moderator_token))
}

/// The room change of `owner`'s change `old` → `new` of event `uid`
/// (`me`: the owner's addresses); None when the event has and gets no
/// room.
pub async fn prepare(
    state: &AppState,
    owner: &Principal,
    me: &AddressSet,
    old: Option<&ICalendar>,
    new: Option<&ICalendar>,
    uid: &str,
) -> StoreResult<Option<RoomChange>> {
    let ours = super::link_prefix(state);
    // Without a BBB server, an event that carries none of our links costs
    // nothing here (no store read); one that does is still read, so that
    // its moderator link never reaches attendees and its room closes.
    let mentions = |c: Option<&ICalendar>| c.is_some_and(|c| event::mentions_link(c, &ours));
    if uid.is_empty() || (state.visio.is_none() && !mentions(old) && !mentions(new)) {
        return Ok(None);
    }
    let stored = state.store.room_of_event(owner.id, uid).await?;
    let Some(new) = new.filter(|n| !event::is_cancelled(n)) else {
        // Deleted or cancelled as a whole: its room closes.
        let Some(room) = stored else { return Ok(None) };
        let links = links_of(state, &room);
        let new = attendee_form(new, &links);
        return Ok(Some(RoomChange { old: attendee_form(old, &links), new, links, jobs: super::jobs::close_jobs(owner.id, uid) }));
    };
    if state.visio.is_none() && stored.is_none() {
        return Ok(None);
    }
    let policy = super::policy_of(state, owner.id).await?;
    let wanted = state.visio.is_some()
        && event::wants_room(new, me, policy, &state.config.visio_keyword, stored.is_some(), &ours);
    let room = match (wanted, stored) {
        (true, _) => state.store.room_for_event(super::fresh_room(owner.id, uid), &details(new, owner)).await?,
        (false, Some(room)) => room,
        (false, None) => return Ok(None),
    };
    let links = links_of(state, &room);
    let mut new = new.clone();
    event::swap_link(&mut new, &links.1, &links.0);
    if wanted {
        let keyword = (policy == VisioPolicy::Keyword).then_some(state.config.visio_keyword.as_str());
        event::write_links(&mut new, &links.0, &ours, keyword);
    }
    Ok(Some(RoomChange { old: attendee_form(old, &links), new: Some(new), links, jobs: Vec::new() }))
}
