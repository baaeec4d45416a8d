//! Visio in implicit scheduling (RFC 6638 §3.2.1): what an organizer's
//! change does to the room of its meeting, and to the links in the object
//! stored and in the messages sent.
//!
//! [`prepare`] runs before the iTIP decisions: it reads the room (the
//! store's, by organizer and UID), decides from the policy whether the
//! meeting has one, creates it on first need (in the store only: the BBB
//! meeting is created at join time), gives it a voice bridge when the
//! server has a dial-in number, and gives back the old and new versions
//! *as attendees see them* (attendee link, links written), so that
//! messages carry the attendee link and a change of link is never a change
//! of the meeting. [`RoomChange::finish`] then puts the moderator link
//! back into the organizer's stored copy and into the messages to CHAIR
//! attendees. A cancelled or deleted event gets the jobs that close its
//! room ([`super::jobs`]).
//!
//! Messages built later from the organizer's stored copy — the other
//! attendees told of a reply (RFC 6638 §4.2), a message the organizer's
//! client posts to its outbox — go through [`attendee_links_in`], so that
//! no message but a CHAIR's ever carries the moderator link.

use calcard::icalendar::{ICalendar, ICalendarProperty};
use rand::Rng;

use super::event::{self, LinkText, Words};
use crate::app::AppState;
use crate::ical::tz::TzResolver;
use crate::itip::{AddressSet, OrganizerOutcome, Outgoing};
use crate::store::{now_millis, NewJob, Principal, PrincipalId, Room, RoomDetails, StoreResult, VOICE_BRIDGES};

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

/// The words organizers type, from the configuration.
pub fn words(state: &AppState) -> Words<'_> {
    Words { keyword: &state.config.visio_keyword, record_keyword: &state.config.visio_record_keyword }
}

/// The end of the event's last instance (ms), as the calendar index
/// computes it; None when unbounded or unknown.
fn ends_at(ical: &ICalendar) -> Option<i64> {
    let object = crate::ical::object::from_parsed(ical.clone()).ok()?;
    crate::ical::recur::index_bounds(&object, &object.resolver(None)).last_end
}

/// What the room keeps of this version of the event.
fn details(state: &AppState, ical: &ICalendar, owner: &Principal) -> RoomDetails {
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
        // Only voice bridges need it (and it costs an expansion).
        ends_at: state.config.bbb_dial_number.as_ref().and_then(|_| ends_at(ical)),
        record: event::asks_recording(ical, words(state)),
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
    (super::link(state, &room.fixed.attendee_token), super::link(state, &room.fixed.moderator_token))
}

/// How long after its event ended a room keeps its voice bridge (a
/// meeting that overruns, a late reschedule).
const VOICE_BRIDGE_GRACE_MS: i64 = 7 * 24 * 3600 * 1000;

/// Draws tried for a voice bridge before the room goes without one.
const VOICE_BRIDGE_DRAWS: usize = 16;

/// The dial-in number and `room`'s voice bridge, when the server has a
/// dial-in: the room's, or one drawn now (unique among rooms; a room
/// without one, when every draw is held, gets no dial-in text).
async fn dial_in<'a>(state: &'a AppState, room: &Room) -> StoreResult<Option<(&'a str, u32)>> {
    let Some(number) = state.config.bbb_dial_number.as_deref() else { return Ok(None) };
    if let Some(code) = room.voice_bridge {
        return Ok(Some((number, code)));
    }
    let candidates: Vec<u32> = {
        let mut rng = rand::thread_rng();
        (0..VOICE_BRIDGE_DRAWS).map(|_| rng.gen_range(VOICE_BRIDGES)).collect()
    };
    let code = state.store.assign_voice_bridge(room.id, &candidates, now_millis() - VOICE_BRIDGE_GRACE_MS).await?;
    if code.is_none() {
        tracing::warn!(room = room.id, "no free voice bridge: this meeting's invitation has no dial-in");
    }
    Ok(code.map(|c| (number, c)))
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
    let wanted = state.visio.is_some() && event::wants_room(new, me, policy, words(state), &ours);
    let room = match (wanted, stored) {
        (true, _) => state.store.room_for_event(super::fresh_room(owner.id, uid), &details(state, new, owner)).await?,
        (false, Some(room)) => room,
        (false, None) => return Ok(None),
    };
    let links = links_of(state, &room);
    let mut new = new.clone();
    event::swap_link(&mut new, &links.1, &links.0);
    if wanted {
        let text = LinkText { words: words(state), dial_in: dial_in(state, &room).await?, record: room.details.record };
        event::write_links(&mut new, &links.0, &ours, &text);
    }
    Ok(Some(RoomChange { old: attendee_form(old, &links), new: Some(new), links, jobs: Vec::new() }))
}

/// Messages from `owner`'s side about event `uid` that were built from
/// the organizer's copy (or by the organizer's client) carry the attendee
/// link: the moderator link of the event's room is swapped for it, except
/// in the messages to CHAIR attendees (RFC 5545 §3.2.16, as named in each
/// message). No store read unless a message carries one of our links.
pub async fn attendee_links_in(state: &AppState, owner: PrincipalId, uid: &str, messages: &mut [Outgoing]) -> StoreResult<()> {
    let ours = super::link_prefix(state);
    if uid.is_empty() || !messages.iter().any(|m| event::mentions_link(&m.message, &ours)) {
        return Ok(());
    }
    let Some(room) = state.store.room_of_event(owner, uid).await? else { return Ok(()) };
    let (attendee, moderator) = links_of(state, &room);
    for m in messages.iter_mut() {
        if !event::chairs(&m.message).contains(&m.recipient) {
            event::swap_link(&mut m.message, &moderator, &attendee);
        }
    }
    Ok(())
}
