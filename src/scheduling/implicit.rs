//! Implicit scheduling (RFC 6638 §3): what a PUT, DELETE, COPY or MOVE of
//! a scheduling object resource sends, registered as a hook on calendar
//! members ([`MemberHook`]).
//!
//! The iTIP decisions are [`crate::itip`]'s; this module reads what they
//! need (the version replaced, the owner's addresses), plans the
//! deliveries ([`super::deliver::plan`]), records the SCHEDULE-STATUS of
//! each recipient in what is stored (§3.2.9, so the stored object differs
//! from the body and the PUT answer carries no ETag, §3.2.1.1), and keeps
//! the schedule tag (§3.2.10). The deliveries are queued in the write's
//! transaction and run once it commits.

use async_trait::async_trait;
use bytes::Bytes;
use calcard::icalendar::ICalendar;
use chrono::Utc;
use http::StatusCode;

use super::address::address_set;
use super::deliver::{plan, Plan};
use super::props::default_calendar_is_needed;
use super::new_schedule_tag;
use crate::caldav::preconditions as pre;
use crate::dav::collection_type::{MemberHook, MemberWrite, Prepared, UnbindOp, WriteOp};
use crate::dav::error::{Condition, DavError, DavResult, Refusal};
use crate::dav::response::{set_header, Response};
use crate::dav::DavRequest;
use crate::ical::expand::write_ical;
use crate::itip::{self, AddressSet, Role, SchedulingError};
use crate::store::{Collection, CollectionKind, NewJob, ObjectMeta, Principal};

/// RFC 6638 §3 on the members of calendars.
pub struct ImplicitScheduling;

/// The `Schedule-Tag` header (RFC 6638 §8.2).
pub const SCHEDULE_TAG: http::HeaderName = http::HeaderName::from_static("schedule-tag");

/// RFC 6638 §3.2.4: a refused scheduling change, with its precondition.
fn refused(e: SchedulingError) -> DavError {
    tracing::debug!(error = %e, "scheduling change refused");
    let element = match e {
        SchedulingError::SameOrganizerInAllComponents => pre::SAME_ORGANIZER_IN_ALL_COMPONENTS,
        SchedulingError::AllowedOrganizerChange(_) => pre::ALLOWED_ORGANIZER_SCHEDULING_OBJECT_CHANGE,
        SchedulingError::AllowedAttendeeChange(_) => pre::ALLOWED_ATTENDEE_SCHEDULING_OBJECT_CHANGE,
        SchedulingError::ValidSchedulingMessage(_) => {
            return DavError::condition(StatusCode::FORBIDDEN, pre::VALID_CALENDAR_OBJECT_RESOURCE)
        }
    };
    DavError::forbidden_by(element)
}

/// RFC 6638 §3.2.4: the precondition of a refused scheduling object, with
/// what is wrong.
fn refusal(e: SchedulingError) -> Refusal {
    let element = match &e {
        SchedulingError::SameOrganizerInAllComponents => pre::SAME_ORGANIZER_IN_ALL_COMPONENTS,
        SchedulingError::AllowedOrganizerChange(_) => pre::ALLOWED_ORGANIZER_SCHEDULING_OBJECT_CHANGE,
        SchedulingError::AllowedAttendeeChange(_) => pre::ALLOWED_ATTENDEE_SCHEDULING_OBJECT_CHANGE,
        SchedulingError::ValidSchedulingMessage(_) => pre::VALID_CALENDAR_OBJECT_RESOURCE,
    };
    Refusal::because(element, e.to_string())
}

/// An object a migration (`almanach import`) brings into a calendar of the
/// owner whose addresses are `me`, validated as PUT validates it: this is
/// not a change by a client, so nothing is sent, nothing is recorded in
/// it (no SCHEDULE-STATUS) and no visio room is made — the import never
/// calls [`ImplicitScheduling`]. What holds is the object's part in
/// scheduling: one of which the owner is the organizer or an attendee is a
/// scheduling object resource and gets a schedule tag (§3.2.10), so that
/// the owner's next change is planned against it, as a change (only what
/// changed is sent), not as a new meeting. None for any other object;
/// the §3.2.4.2 refusals of PUT for a malformed one.
pub fn imported_schedule_tag(me: &AddressSet, body: &[u8]) -> Result<Option<String>, Refusal> {
    if !mentions_organizer(body) {
        return Ok(None);
    }
    let text = std::str::from_utf8(body).map_err(|_| Refusal::new(pre::VALID_CALENDAR_DATA))?;
    let parsed = ICalendar::parse(text).map_err(|_| Refusal::new(pre::VALID_CALENDAR_DATA))?;
    match itip::role(&parsed, me).map_err(refusal)? {
        Role::Plain => Ok(None),
        Role::Organizer | Role::Attendee(_) => Ok(Some(new_schedule_tag())),
    }
}

/// Whether a body may be a scheduling object: it names an ORGANIZER. The
/// common calendar object does not, and costs nothing more.
fn mentions_organizer(body: &[u8]) -> bool {
    // Content lines unfolded on the fly (RFC 5545 §3.1: CRLF or LF then
    // one space or tab is no break), a property name at a line start.
    const NAME: &[u8] = b"ORGANIZER";
    let mut matched = 0usize; // bytes of NAME matched at this line's start
    let mut at_start = true; // no byte of this line that is not NAME's yet
    let mut i = 0;
    while i < body.len() {
        let b = body[i];
        if b == b'\r' || b == b'\n' {
            let next = if b == b'\r' && body.get(i + 1) == Some(&b'\n') { i + 2 } else { i + 1 };
            if matches!(body.get(next), Some(b' ') | Some(b'\t')) {
                i = next + 1; // a fold: the line goes on
                continue;
            }
            matched = 0;
            at_start = true;
            i = next;
            continue;
        }
        if at_start {
            if b.to_ascii_uppercase() == NAME[matched] {
                matched += 1;
                if matched == NAME.len() {
                    return true;
                }
            } else {
                at_start = false;
            }
        }
        i += 1;
    }
    false
}

/// The owner of `collection` (the request's user, most often).
async fn owner_of(req: &DavRequest<'_>, collection: &Collection) -> DavResult<Principal> {
    if collection.owner == req.user.id {
        return Ok(req.user.clone());
    }
    req.state.store.principal(collection.owner).await?.ok_or_else(DavError::not_found)
}

/// The stored version of `meta`, parsed.
async fn stored_version(req: &DavRequest<'_>, meta: &ObjectMeta) -> DavResult<Option<ICalendar>> {
    let Some((_, bytes)) = req.state.store.object_with_content(meta.id).await? else { return Ok(None) };
    Ok(std::str::from_utf8(&bytes).ok().and_then(|t| ICalendar::parse(t).ok()))
}

fn parse_body(body: &Bytes) -> DavResult<ICalendar> {
    let text = std::str::from_utf8(body).map_err(|_| DavError::forbidden_by(pre::VALID_CALENDAR_DATA))?;
    ICalendar::parse(text).map_err(|_| DavError::forbidden_by(pre::VALID_CALENDAR_DATA))
}

/// `Schedule-Reply: F` (RFC 6638 §8.1): an attendee's removal sends no
/// reply.
fn sends_reply_on_delete(req: &DavRequest<'_>) -> bool {
    !req.header("schedule-reply").is_some_and(|v| v.trim().eq_ignore_ascii_case("F"))
}

/// What one change of one scheduling object produces.
struct Change {
    /// The object to store (None on a removal).
    stored: Option<ICalendar>,
    jobs: Vec<NewJob>,
}

/// The messages an organizer's change sends, planned, and the SCHEDULE-
/// STATUS of each recipient recorded in what is stored.
async fn organizer_side(
    req: &DavRequest<'_>,
    owner: &Principal,
    me: &AddressSet,
    old: Option<&ICalendar>,
    new: Option<&ICalendar>,
    uid: &str,
) -> DavResult<Change> {
    // The meeting's visio room (crate::visio): the decisions run on the
    // versions attendees see (attendee link), the organizer stores the
    // moderator link.
    let room = crate::visio::invitation::prepare(req.state, owner, me, old, new, uid).await?;
    let (old, new) = match &room {
        Some(r) => (r.old.as_ref(), r.new.as_ref()),
        None => (old, new),
    };
    let mut outcome = itip::organizer_change(old, new, me, Utc::now()).map_err(refused)?;
    if let Some(r) = &room {
        r.finish(&mut outcome);
    }
    let Plan { mut jobs, statuses } = plan(req.state, Some(owner), &outcome.outgoing, Some((owner.id, uid))).await?;
    jobs.extend(room.as_ref().map(|r| r.jobs.clone()).unwrap_or_default());
    let mut stored = outcome.stored;
    for (recipient, status) in &statuses {
        itip::set_schedule_status(&mut stored, recipient, status);
    }
    Ok(Change { stored: new.map(|_| stored), jobs })
}

/// The reply an attendee's change sends, planned, and its SCHEDULE-STATUS
/// recorded on the ORGANIZER of what is stored.
async fn attendee_side(
    req: &DavRequest<'_>,
    owner: &Principal,
    attendee: &itip::CalAddress,
    old: Option<&ICalendar>,
    new: Option<&ICalendar>,
    uid: &str,
) -> DavResult<Change> {
    let outcome = itip::attendee_change(old, new, attendee, sends_reply_on_delete(req), Utc::now()).map_err(refused)?;
    let outgoing: Vec<_> = outcome.outgoing.into_iter().collect();
    let Plan { jobs, statuses } = plan(req.state, Some(owner), &outgoing, Some((owner.id, uid))).await?;
    let mut stored = outcome.stored;
    if let (Some(object), Some((_, status))) = (stored.as_mut(), statuses.first()) {
        itip::set_organizer_schedule_status(object, status);
    }
    Ok(Change { stored, jobs })
}

/// The change `old` → `new` (either may be None) of `owner`'s object, whose
/// body has `body_len` bytes.
async fn change(
    req: &DavRequest<'_>,
    owner: &Principal,
    old: Option<&ICalendar>,
    new: Option<&ICalendar>,
    body_len: usize,
) -> DavResult<Option<Change>> {
    let me = address_set(req.state, owner).await?;
    let role_of = |o: Option<&ICalendar>| o.map(|o| itip::role(o, &me)).transpose().map_err(refused);
    let (old_role, new_role) = (role_of(old)?.unwrap_or(Role::Plain), role_of(new)?.unwrap_or(Role::Plain));
    let uid = new.or(old).and_then(itip_uid).unwrap_or_default();
    // An object's owner keeps its part: an organizer's object cannot
    // become an attendee's, nor the reverse (RFC 6638 §3.2.4.3, §3.2.4.4).
    match (&old_role, &new_role) {
        (Role::Organizer, Role::Attendee(_)) => Err(refused(SchedulingError::AllowedOrganizerChange("the ORGANIZER changed".into()))),
        (Role::Attendee(_), Role::Organizer) => Err(refused(SchedulingError::AllowedAttendeeChange("the ORGANIZER changed".into()))),
        (Role::Organizer, Role::Plain) => Ok(Some(organizer_side(req, owner, &me, old, None, &uid).await?)),
        (_, Role::Organizer) => {
            check_message_volume(new, body_len)?;
            let old = old.filter(|_| old_role == Role::Organizer);
            Ok(Some(organizer_side(req, owner, &me, old, new, &uid).await?))
        }
        (Role::Attendee(a), Role::Plain) => Ok(Some(attendee_side(req, owner, a, old, None, &uid).await?)),
        (_, Role::Attendee(a)) => {
            let old = old.filter(|_| matches!(old_role, Role::Attendee(_)));
            Ok(Some(attendee_side(req, owner, a, old, new, &uid).await?))
        }
        (_, Role::Plain) => Ok(None),
    }
}

/// At most this many bytes of messages from one change: each attendee's
/// message repeats the object (its description, its instances), and they
/// are all built and queued before the answer.
const MAX_MESSAGE_BYTES: usize = 32 << 20;

/// Refuse, before building them, the messages of an object whose size times
/// its number of attendees passes [`MAX_MESSAGE_BYTES`] (a 1 MB object may
/// invite 32 people, a 16 KB one 2,000): RFC 4791 §5.3.2.1
/// `max-resource-size` (the reason logged).
fn check_message_volume(new: Option<&ICalendar>, body_len: usize) -> DavResult<()> {
    use calcard::icalendar::ICalendarProperty;
    let Some(new) = new else { return Ok(()) };
    // Each distinct address gets one message, whatever the number of
    // components naming it.
    let mut addresses: Vec<String> = new
        .components
        .iter()
        .flat_map(|c| c.entries.iter().filter(|e| e.name == ICalendarProperty::Attendee))
        .filter_map(|e| e.values.first().and_then(|v| v.as_text()).map(|t| t.trim().to_ascii_lowercase()))
        .collect();
    addresses.sort_unstable();
    addresses.dedup();
    let attendees = addresses.len();
    if attendees.saturating_mul(body_len) > MAX_MESSAGE_BYTES {
        tracing::info!(body_len, attendees, "scheduling refused: the invitations would repeat the object for each attendee");
        return Err(DavError::forbidden_by(pre::MAX_RESOURCE_SIZE));
    }
    Ok(())
}

fn itip_uid(ical: &ICalendar) -> Option<String> {
    use calcard::icalendar::{ICalendarComponentType, ICalendarProperty};
    ical.components
        .iter()
        .filter(|c| !matches!(c.component_type, ICalendarComponentType::VCalendar | ICalendarComponentType::VTimezone))
        .find_map(|c| c.property(&ICalendarProperty::Uid))
        .and_then(|e| e.values.first())
        .and_then(|v| v.as_text())
        .map(|t| t.trim().to_string())
}

/// §3.2.10.1: with `If-Schedule-Tag-Match`, the participation of the other
/// attendees that replies merged since the client read the object wins
/// over what the client sends.
fn schedule_tag_match(req: &DavRequest<'_>) -> Option<String> {
    req.header("if-schedule-tag-match").map(|v| v.trim().trim_matches('"').to_string())
}

#[async_trait]
impl MemberHook for ImplicitScheduling {
    fn kind(&self) -> CollectionKind {
        CollectionKind::Calendar
    }

    /// RFC 6638 §8.3: the request applies only to the version of that
    /// schedule tag (412 otherwise).
    fn check_condition(&self, req: &DavRequest<'_>, current: Option<&ObjectMeta>) -> DavResult<()> {
        let Some(wanted) = schedule_tag_match(req) else { return Ok(()) };
        match current.and_then(|m| m.schedule_tag.as_deref()) {
            Some(tag) if tag == wanted => Ok(()),
            _ => Err(DavError::status(StatusCode::PRECONDITION_FAILED)),
        }
    }

    async fn complete_write(&self, req: &DavRequest<'_>, write: &MemberWrite, mut prepared: Prepared) -> DavResult<Prepared> {
        let previous = match &write.op {
            WriteOp::Put { previous } => previous.clone(),
            _ => None,
        };
        let was_scheduling = previous.as_ref().is_some_and(|m| m.schedule_tag.is_some());
        if !was_scheduling && !mentions_organizer(&prepared.content) {
            return Ok(prepared);
        }
        let owner = owner_of(req, &write.into).await?;
        let parsed = parse_body(&prepared.content)?;
        let old = match previous.as_ref().filter(|_| was_scheduling) {
            Some(meta) => stored_version(req, meta).await?,
            None => None,
        };
        // §3.2.10.1: the answers the server merged since the client read
        // the object are kept (with If-Schedule-Tag-Match as the RFC
        // says; without any condition too: a client's stale copy must not
        // erase them, nor be refused for "changing" other attendees').
        let me = address_set(req.state, &owner).await?;
        if previous.is_none() {
            check_unique_uid(req, &owner, &parsed).await?;
        }
        // An object that names an ORGANIZER without being a scheduling
        // object of its owner (neither organizer nor attendee: a copy of
        // someone else's meeting, an import) is stored as any other.
        if old.is_none() && matches!(itip::role(&parsed, &me), Ok(Role::Plain)) {
            prepared.schedule_tag = None;
            return Ok(prepared);
        }
        // A client that names the version it changes with If-Match has
        // seen the answers in it: its values stand (an organizer asking
        // everyone again). Otherwise the answers merged since are kept.
        let merge = schedule_tag_match(req).is_some() || req.header("if-match").is_none();
        let new = match &old {
            Some(old) if merge => itip::merge_attendee_status(old, &parsed, &me),
            _ => parsed.clone(),
        };
        let Some(change) = change(req, &owner, old.as_ref(), Some(&new), prepared.content.len()).await? else {
            prepared.schedule_tag = None;
            return Ok(prepared);
        };
        let stored = write_ical(&change.stored.unwrap_or(new));
        // Nothing to send and nothing to record: the bytes stay as the
        // client sent them (and the PUT answers with their ETag).
        if stored != write_ical(&parsed) {
            prepared.content = Bytes::from(stored);
        }
        prepared.enqueue.extend(change.jobs);
        // §3.2.10: a change by request is consequential.
        prepared.schedule_tag = Some(new_schedule_tag());
        prepared.replaces = previous.map(|m| m.etag);
        Ok(prepared)
    }

    /// §3.2.3.3: a copy of a scheduling object would be a second one with
    /// its UID (§3.2.4.1).
    fn check_member(&self, _into: &Collection, member: &ObjectMeta, op: &WriteOp) -> DavResult<()> {
        match op {
            WriteOp::CopyIn { .. } if member.schedule_tag.is_some() => {
                Err(DavError::forbidden_by(pre::UNIQUE_SCHEDULING_OBJECT_RESOURCE))
            }
            _ => Ok(()),
        }
    }

    /// §3.2.3.2: DELETE removes (§3.2.1.3, §3.2.2.4); a MOVE to another
    /// calendar changes nothing (§3.2.3.4).
    async fn before_unbind(&self, req: &DavRequest<'_>, from: &Collection, member: &ObjectMeta, op: UnbindOp) -> DavResult<Vec<NewJob>> {
        if op != UnbindOp::Delete || member.schedule_tag.is_none() {
            return Ok(Vec::new());
        }
        let owner = owner_of(req, from).await?;
        let Some(old) = stored_version(req, member).await? else { return Ok(Vec::new()) };
        Ok(change(req, &owner, Some(&old), None, 0).await?.map(|c| c.jobs).unwrap_or_default())
    }

    /// §3.2.3.2: deleting a calendar removes each of its scheduling
    /// objects; §4.3: never the default calendar.
    async fn before_remove_collection(&self, req: &DavRequest<'_>, collection: &Collection) -> DavResult<Vec<NewJob>> {
        let owner = owner_of(req, collection).await?;
        if default_calendar_is_needed(req.state, &owner, collection).await? {
            return Err(DavError::condition(StatusCode::FORBIDDEN, pre::DEFAULT_CALENDAR_NEEDED));
        }
        let mut jobs = Vec::new();
        for member in req.state.store.objects(collection.id).await? {
            if member.schedule_tag.is_none() {
                continue;
            }
            let Some(old) = stored_version(req, &member).await? else { continue };
            if let Some(c) = change(req, &owner, Some(&old), None, 0).await? {
                jobs.extend(c.jobs);
            }
        }
        Ok(jobs)
    }

    /// §3.2.10, §8.2: every answer about a scheduling object carries its
    /// tag.
    fn member_headers(&self, meta: &ObjectMeta, resp: &mut Response) {
        if let Some(tag) = &meta.schedule_tag {
            set_header(resp, SCHEDULE_TAG, &format!("\"{tag}\""));
        }
    }
}

/// §3.2.4.1, §11.2 item 5: a new scheduling object may not take the UID of
/// one its owner already has in another resource.
async fn check_unique_uid(req: &DavRequest<'_>, owner: &Principal, new: &ICalendar) -> DavResult<()> {
    let Some(uid) = itip_uid(new) else { return Ok(()) };
    let taken = req.state.store.calendar_objects_by_uid(owner.id, &uid).await?;
    if let Some((collection, meta)) = taken.into_iter().find(|(_, m)| m.schedule_tag.is_some()) {
        let href = req.href(&format!("{}{}", collection.path, meta.name));
        return Err(DavError::condition(StatusCode::FORBIDDEN, Condition::with_hrefs(pre::UNIQUE_SCHEDULING_OBJECT_RESOURCE, vec![href])));
    }
    Ok(())
}
