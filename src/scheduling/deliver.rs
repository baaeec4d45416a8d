//! Delivering scheduling messages (RFC 6638 §4): to the calendar users of
//! the platform, into their inbox and onto their calendars; to everyone
//! else by email (iMIP, [`super::mail`]).
//!
//! A change that sends messages ([`super::implicit`], a POST to the
//! outbox, a mail received by LMTP) first decides, per recipient, what
//! happens ([`plan`]): a local account whose inbox accepts the sender gets
//! the message delivered (SCHEDULE-STATUS 1.2), an outside address gets an
//! email (1.0 until it is sent, then 1.1; 5.1 when the server sends no
//! email), an address nobody has is 3.7 and a refused one 3.8 (§3.2.9).
//! The deliveries are queued as one job, written in the change's own
//! transaction, and run as soon as it commits ([`crate::jobs`]). The job
//! writes every recipient's calendar and inbox in one transaction, which
//! also removes the job: a delivery happens once, and is not lost.

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use calcard::icalendar::{ICalendar, ICalendarComponentType};
use serde::{Deserialize, Serialize};

use super::address::{address_set, calendar_user, CalendarUser};
use super::freebusy::invalid_message;
use super::props::default_calendar;
use super::{inbox_path, schedule_tag};
use crate::app::AppState;
use crate::auth::acl::{self, Privileges};
use crate::caldav::collection::CALENDAR_HOMES;
use crate::caldav::preconditions as pre;
use crate::dav::error::DavError;
use crate::dav::resource::Resource;
use crate::dav::response::{xml_response, Response};
use crate::dav::DavRequest;
use crate::xml::{XmlWriter, NS_CALDAV, NS_DAV};
use crate::dav::collection_type::ResourceLimits;
use crate::dav::error::DavResult;
use crate::dav::resource::ensure_home_with_permanent;
use crate::ical::expand::write_ical;
use crate::itip::{self, Applied, CalAddress, Method, Outgoing};
use crate::jobs::{JobHandler, JobOutcome};
use crate::store::{
    BatchWrite, Collection, Job, LockGuard, NewJob, ObjectIndex, ObjectMeta, Principal, PrincipalId, PutObject,
    Resolved, StoreError, WriteBatch, WriteCondition,
};

/// The topic of delivery jobs.
pub const DELIVER: &str = "itip-deliver";

/// One message for one local recipient.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LocalMessage {
    pub recipient: PrincipalId,
    /// The recipient's address as the message names it.
    pub address: String,
    pub method: String,
    /// The iCalendar message (with METHOD).
    pub message: String,
}

/// A delivery job: messages from one change for local recipients.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Delivery {
    /// The address the messages come from (ORGANIZER, or the replying
    /// ATTENDEE).
    pub originator: String,
    pub messages: Vec<LocalMessage>,
}

/// What a change's messages become: jobs to queue with it, and the
/// SCHEDULE-STATUS (RFC 6638 §3.2.9) of each recipient.
#[derive(Debug, Default)]
pub struct Plan {
    pub jobs: Vec<NewJob>,
    /// (recipient as the message names it, status code).
    pub statuses: Vec<(CalAddress, &'static str)>,
}

/// RFC 6638 §3.2.9 delivery status codes.
pub mod status {
    pub const PENDING: &str = "1.0";
    pub const SENT: &str = "1.1";
    pub const DELIVERED: &str = "1.2";
    pub const UNKNOWN_USER: &str = "3.7";
    pub const NO_AUTHORITY: &str = "3.8";
    pub const TEMPORARY_FAILURE: &str = "5.1";
    pub const PERMANENT_FAILURE: &str = "5.2";
    pub const REFUSED: &str = "5.3";
}

/// The privilege on the recipient's inbox a message of `method` needs
/// (RFC 6638 §6.1, Appendix A).
fn deliver_privilege(method: Method) -> Privileges {
    match method {
        Method::Reply | Method::Counter | Method::Refresh => Privileges::SCHEDULE_DELIVER_REPLY,
        _ => Privileges::SCHEDULE_DELIVER_INVITE,
    }
}

/// Decide what becomes of `outgoing`, messages sent on behalf of `sender`
/// (None: from outside the platform, received by email; then only local
/// recipients count). `object` names the sender's scheduling object, to
/// record later outcomes of email on it.
pub async fn plan(
    state: &AppState,
    sender: Option<&Principal>,
    outgoing: &[Outgoing],
    object: Option<(PrincipalId, &str)>,
) -> DavResult<Plan> {
    plan_for(state, sender, outgoing, object, true).await
}

/// [`plan`], with `email` false for messages only the platform's own
/// users get (updates forwarding a reply: no email for those).
async fn plan_for(
    state: &AppState,
    sender: Option<&Principal>,
    outgoing: &[Outgoing],
    object: Option<(PrincipalId, &str)>,
    email: bool,
) -> DavResult<Plan> {
    let mut plan = Plan::default();
    let mut local: Vec<LocalMessage> = Vec::new();
    let private = &state.config.freebusy_private_academies;
    for out in outgoing {
        let status = match calendar_user(state, &out.recipient).await? {
            CalendarUser::Local(p) => {
                let allowed = match sender {
                    Some(s) => acl::inbox_privileges(s, &p, private).contains(deliver_privilege(out.method)),
                    None => true,
                };
                if allowed {
                    local.push(LocalMessage {
                        recipient: p.id,
                        address: out.recipient.as_str().to_string(),
                        method: out.method.as_str().to_string(),
                        message: write_ical(&out.message),
                    });
                    status::DELIVERED
                } else {
                    status::NO_AUTHORITY
                }
            }
            CalendarUser::External(_) if !email => continue,
            CalendarUser::External(email) if sender.is_some() => match super::mail::queue(state, out, &email, object)? {
                Some(job) => {
                    plan.jobs.push(job);
                    status::PENDING
                }
                None => status::TEMPORARY_FAILURE,
            },
            CalendarUser::External(_) | CalendarUser::Unknown => status::UNKNOWN_USER,
        };
        plan.statuses.push((out.recipient.clone(), status));
    }
    if !local.is_empty() {
        let originator = outgoing.first().map(|o| o.originator.as_str().to_string()).unwrap_or_default();
        let payload = serde_json::to_vec(&Delivery { originator, messages: local }).expect("a delivery serializes");
        plan.jobs.push(NewJob { topic: DELIVER.into(), payload, not_before: crate::jobs::not_before_in_request() });
    }
    Ok(plan)
}

/// Runs delivery jobs: at once after the change that queued them, else in
/// the background.
pub struct DeliveryHandler;

#[async_trait]
impl JobHandler for DeliveryHandler {
    fn topic(&self) -> &'static str {
        DELIVER
    }

    async fn run(&self, state: &AppState, job: &Job) -> JobOutcome {
        let delivery: Delivery = match serde_json::from_slice(&job.payload) {
            Ok(d) => d,
            Err(e) => return JobOutcome::Abandoned { error: format!("unreadable delivery: {e}") },
        };
        // A concurrent change to one of the copies (the attendee's own
        // PUT) makes the batch fail on its condition: read again, decide
        // again, write again.
        let mut last = String::new();
        for _ in 0..4 {
            let (writes, follow_up) = match delivery_writes(state, &delivery).await {
                Ok(w) => w,
                Err(e) => return JobOutcome::RetryAt { at: state.jobs.retry_at(job), error: e.to_string() },
            };
            let batch = WriteBatch { writes, complete_jobs: vec![job.id], enqueue: follow_up };
            match state.store.apply_batch(batch).await {
                Ok(written) => return JobOutcome::Completed { follow_up: written.jobs },
                Err(StoreError::JobGone) => return JobOutcome::Completed { follow_up: Vec::new() },
                Err(e @ (StoreError::PreconditionFailed | StoreError::UidConflict { .. } | StoreError::NotFound | StoreError::MissingParent | StoreError::AlreadyExists)) => {
                    last = e.to_string();
                }
                Err(e) => return JobOutcome::RetryAt { at: state.jobs.retry_at(job), error: e.to_string() },
            }
        }
        JobOutcome::RetryAt { at: state.jobs.retry_at(job), error: format!("concurrent changes: {last}") }
    }
}

/// Every write a delivery makes, as read now, and the deliveries it causes
/// in turn (a reply forwarded to the other attendees).
async fn delivery_writes(state: &AppState, delivery: &Delivery) -> DavResult<(Vec<BatchWrite>, Vec<NewJob>)> {
    let mut writes = Vec::new();
    let mut follow_up = Vec::new();
    for m in &delivery.messages {
        let Some(recipient) = state.store.principal(m.recipient).await? else { continue };
        if recipient.disabled {
            continue;
        }
        let Ok(message) = ICalendar::parse(&m.message) else {
            tracing::warn!(recipient = m.recipient, "an unreadable message was queued; skipped");
            continue;
        };
        let Some(method) = Method::parse(&m.method) else { continue };
        ensure_home_with_permanent(state, &recipient, CALENDAR_HOMES).await?;
        let applied = match method {
            Method::Reply => match reply_write(state, &recipient, &message).await? {
                Some((write, jobs)) => {
                    follow_up.extend(jobs);
                    Some(write)
                }
                None => None,
            },
            _ => request_write(state, &recipient, &CalAddress::new(&m.address), &message).await?,
        };
        // RFC 6638 §4.1, §4.2: the message appears in the inbox once it
        // is processed (and only when it was: an ignored one is stale).
        if let Some(write) = applied {
            writes.push(write);
            if let Some(inbox) = inbox_write(state, &recipient, &message, &m.message).await? {
                writes.push(inbox);
            }
        }
    }
    Ok((writes, follow_up))
}

/// The UID of a message's components.
fn uid_of(message: &ICalendar) -> Option<String> {
    use calcard::icalendar::ICalendarProperty;
    message
        .components
        .iter()
        .filter(|c| !matches!(c.component_type, ICalendarComponentType::VCalendar | ICalendarComponentType::VTimezone))
        .find_map(|c| c.property(&ICalendarProperty::Uid))
        .and_then(|e| e.values.first())
        .and_then(|v| v.as_text())
        .map(|t| t.trim().to_string())
}

/// `owner`'s scheduling object of `uid`, with its bytes, if it has one.
async fn scheduling_object(state: &AppState, owner: PrincipalId, uid: &str) -> DavResult<Option<(Collection, ObjectMeta, ICalendar)>> {
    for (collection, meta) in state.store.calendar_objects_by_uid(owner, uid).await? {
        let Some((meta, bytes)) = state.store.object_with_content(meta.id).await? else { continue };
        let Ok(text) = std::str::from_utf8(&bytes) else { continue };
        if let Ok(ical) = ICalendar::parse(text) {
            return Ok(Some((collection, meta, ical)));
        }
    }
    Ok(None)
}

/// RFC 6638 §4.1: a REQUEST, ADD or CANCEL applied to the attendee's copy
/// (created in their default calendar, §4.3).
async fn request_write(state: &AppState, attendee: &Principal, address: &CalAddress, message: &ICalendar) -> DavResult<Option<BatchWrite>> {
    let Some(uid) = uid_of(message) else { return Ok(None) };
    let existing = scheduling_object(state, attendee.id, &uid).await?;
    let applied = itip::apply_to_attendee(existing.as_ref().map(|(_, _, ical)| ical), message, address);
    match (applied, existing) {
        (Applied::Store(copy), Some((collection, meta, old))) => {
            // §3.2.10: the tag changes unless only other attendees'
            // participation did.
            let tag = if itip::only_participation_changed(&old, &copy) {
                meta.schedule_tag.clone()
            } else {
                None
            };
            stored_copy(state, &collection, Some(&meta), &uid, copy, tag)
        }
        (Applied::Store(copy), None) => {
            let Some(calendar) = default_calendar(state, attendee).await? else {
                tracing::info!(attendee = attendee.id, "no calendar takes invitations: not delivered (RFC 6638 §4.3)");
                return Ok(None);
            };
            stored_copy(state, &calendar, None, &uid, copy, None)
        }
        (Applied::Remove, Some((collection, meta, _))) => Ok(Some(BatchWrite::Delete {
            collection: Resolved::collection(&collection),
            name: meta.name.clone(),
            if_match: Some(meta.etag.clone()),
            guard: LockGuard::none(),
        })),
        (Applied::Remove, None) => Ok(None),
        (Applied::Ignore(why), _) => {
            tracing::debug!(%why, attendee = attendee.id, "message not applied");
            Ok(None)
        }
    }
}

/// Meetings up to this many attendees have each reply forwarded to the
/// other attendees of the platform (RFC 6638 §4.2 SHOULD); beyond, every
/// reply would rewrite hundreds of copies.
const REPLY_UPDATES_MAX_ATTENDEES: usize = 100;

/// RFC 6638 §4.2: a REPLY applied to the organizer's copy; its schedule
/// tag stays (§3.2.10: merging a reply is not a consequential change). The
/// other attendees of the platform are told of it, in smaller meetings.
async fn reply_write(state: &AppState, organizer: &Principal, reply: &ICalendar) -> DavResult<Option<(BatchWrite, Vec<NewJob>)>> {
    let Some(uid) = uid_of(reply) else { return Ok(None) };
    let Some((collection, meta, copy)) = scheduling_object(state, organizer.id, &uid).await? else {
        tracing::debug!(organizer = organizer.id, "a reply to an event the organizer no longer has: ignored (RFC 6638 §4.2)");
        return Ok(None);
    };
    let me = address_set(state, organizer).await?;
    if !matches!(itip::role(&copy, &me), Ok(itip::Role::Organizer)) {
        return Ok(None);
    }
    match itip::apply_reply(&copy, reply) {
        Ok(updated) => {
            let parties = itip::parties(&updated);
            let mut jobs = Vec::new();
            if let Some(replying) = itip::parties(reply).attendees.first() {
                if parties.attendees.len() <= REPLY_UPDATES_MAX_ATTENDEES {
                    let updates = itip::reply_updates(&copy, &updated, replying, &me, chrono::Utc::now()).unwrap_or_default();
                    jobs = plan_for(state, Some(organizer), &updates, Some((organizer.id, &uid)), false).await?.jobs;
                }
            }
            let tag = meta.schedule_tag.clone();
            Ok(stored_copy(state, &collection, Some(&meta), &uid, updated, tag)?.map(|w| (w, jobs)))
        }
        Err(why) => {
            tracing::info!(%why, organizer = organizer.id, "reply not applied");
            Ok(None)
        }
    }
}

/// The write of a copy into `calendar` (replacing `existing`), validated
/// and indexed as a PUT would be; `tag` kept, or a new one.
fn stored_copy(
    state: &AppState,
    calendar: &Collection,
    existing: Option<&ObjectMeta>,
    uid: &str,
    copy: ICalendar,
    tag: Option<String>,
) -> DavResult<Option<BatchWrite>> {
    let content = Bytes::from(write_ical(&copy));
    let prepared = match crate::caldav::put::prepare(ResourceLimits::of(&state.config), None, &calendar.components, &content) {
        Ok(p) => p,
        Err(e) => {
            tracing::info!(error = ?e, calendar = %calendar.path, "a copy the calendar refuses: not delivered");
            return Ok(None);
        }
    };
    let name = existing.map(|m| m.name.clone()).unwrap_or_else(|| member_name(uid));
    let condition = match existing {
        Some(m) => WriteCondition::ETagMatches(m.etag.clone()),
        None => WriteCondition::MustNotExist,
    };
    let schedule_tag = Some(tag.unwrap_or_else(|| schedule_tag(&content)));
    Ok(Some(BatchWrite::Put(PutObject {
        collection: calendar.id,
        collection_path: calendar.path.clone(),
        name,
        content_type: prepared.content_type,
        content,
        condition,
        quota_limit: None,
        guard: LockGuard::none(),
        index: prepared.index,
        unique_uid: true,
        enqueue: Vec::new(),
        schedule_tag,
    })))
}

/// The member name of a copy the server creates: the UID when it makes a
/// plain name, else a fresh one.
fn member_name(uid: &str) -> String {
    let plain = !uid.is_empty() && uid.len() <= 120 && uid.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'@'));
    if plain {
        format!("{uid}.ics")
    } else {
        format!("{}.ics", uuid::Uuid::new_v4())
    }
}

/// The copy of a message in `recipient`'s inbox (RFC 6638 §4).
async fn inbox_write(state: &AppState, recipient: &Principal, message: &ICalendar, text: &str) -> DavResult<Option<BatchWrite>> {
    let Some(inbox) = state.store.collection_by_path(&inbox_path(&recipient.username)).await? else { return Ok(None) };
    let component = message
        .components
        .iter()
        .find(|c| !matches!(c.component_type, ICalendarComponentType::VCalendar | ICalendarComponentType::VTimezone))
        .map(|c| c.component_type.as_str().to_string());
    let index = ObjectIndex { uid: uid_of(message), component: component.clone(), ..ObjectIndex::default() };
    Ok(Some(BatchWrite::Put(PutObject {
        collection: inbox.id,
        collection_path: inbox.path.clone(),
        name: format!("{}.ics", uuid::Uuid::new_v4()),
        content_type: format!(
            "text/calendar; charset=utf-8; component={}",
            component.unwrap_or_else(|| "vevent".into()).to_ascii_lowercase()
        ),
        content: Bytes::from(text.to_string()),
        condition: WriteCondition::MustNotExist,
        quota_limit: None,
        guard: LockGuard::none(),
        index,
        unique_uid: false,
        enqueue: Vec::new(),
        schedule_tag: None,
    })))
}

/// The handlers of scheduling's jobs.
pub fn handlers() -> Vec<Arc<dyn JobHandler>> {
    vec![Arc::new(DeliveryHandler), super::mail::send_handler()]
}

/// The REQUEST-STATUS (RFC 5546 §3.6) a POST to the outbox answers for a
/// recipient with delivery status `code`.
fn request_status(code: &str) -> &'static str {
    match code {
        status::DELIVERED => "2.0;Success",
        status::SENT => "1.1;Sent",
        status::PENDING => "1.0;Pending",
        status::UNKNOWN_USER => "3.7;Invalid calendar user",
        status::NO_AUTHORITY => "3.8;No authority",
        status::PERMANENT_FAILURE => "5.2;Invalid calendar service",
        status::REFUSED => "5.3;No scheduling support for user",
        _ => "5.1;Service unavailable",
    }
}

/// A scheduling message POSTed to the outbox by a client that schedules
/// itself (`SCHEDULE-AGENT=CLIENT`): delivered as posted to its
/// recipients — the ATTENDEEs of an organizer's message, the ORGANIZER of
/// an attendee's — and answered with a `schedule-response` (RFC 6638 §10).
pub async fn post_message(
    req: &DavRequest<'_>,
    outbox: &Resource,
    owner: &Principal,
    message: ICalendar,
    method: Method,
) -> DavResult<Response> {
    let me = address_set(req.state, owner).await?;
    let parties = itip::parties(&message);
    let (needed, originator, recipients) = match method {
        Method::Request | Method::Add | Method::Cancel | Method::DeclineCounter => {
            let organizer = parties.organizer.clone().ok_or_else(|| invalid_message("no ORGANIZER"))?;
            if !me.contains(&organizer) {
                return Err(DavError::forbidden_by(pre::VALID_ORGANIZER));
            }
            let to: Vec<CalAddress> = parties.attendees.iter().filter(|a| !me.contains(a)).cloned().collect();
            (Privileges::SCHEDULE_SEND_INVITE, organizer, to)
        }
        Method::Reply | Method::Counter | Method::Refresh => {
            let organizer = parties.organizer.clone().ok_or_else(|| invalid_message("no ORGANIZER"))?;
            let attendee = parties
                .attendees
                .iter()
                .find(|a| me.contains(a))
                .cloned()
                .ok_or_else(|| invalid_message("the message is not from the outbox's owner"))?;
            (Privileges::SCHEDULE_SEND_REPLY, attendee, vec![organizer])
        }
        Method::Publish => return Err(invalid_message("PUBLISH has no recipients (RFC 5546 §3.2.1)")),
    };
    req.require(outbox, needed)?;
    if recipients.len() > crate::caldav::limits::MAX_ATTENDEES_PER_INSTANCE {
        return Err(DavError::forbidden_by(pre::MAX_ATTENDEES_PER_INSTANCE));
    }
    let outgoing: Vec<Outgoing> = recipients
        .iter()
        .map(|r| Outgoing { method, originator: originator.clone(), recipient: r.clone(), message: message.clone() })
        .collect();
    let Plan { jobs, statuses } = plan(req.state, Some(owner), &outgoing, None).await?;
    if !jobs.is_empty() {
        let batch = WriteBatch { writes: Vec::new(), complete_jobs: Vec::new(), enqueue: jobs.clone() };
        let written = req.state.store.apply_batch(batch).await?;
        req.state.jobs.run_committed(req.state, &jobs, &written.jobs).await;
    }
    let answers: Vec<(String, &'static str)> = statuses.iter().map(|(r, code)| (r.as_str().to_string(), request_status(code))).collect();
    Ok(xml_response(http::StatusCode::OK, schedule_response(&answers, |_| None)))
}

/// RFC 6638 §10.1: a `schedule-response` with one `response` per
/// recipient: its address, REQUEST-STATUS and, when `data` gives one, its
/// calendar data.
pub fn schedule_response(answers: &[(String, &str)], data: impl Fn(usize) -> Option<String>) -> String {
    let mut w = XmlWriter::new();
    w.root(NS_CALDAV, "schedule-response");
    for (i, (recipient, status)) in answers.iter().enumerate() {
        w.start(NS_CALDAV, "response");
        w.start(NS_CALDAV, "recipient");
        w.text_element(NS_DAV, "href", recipient);
        w.end();
        w.text_element(NS_CALDAV, "request-status", status);
        if let Some(data) = data(i) {
            w.text_element(NS_CALDAV, "calendar-data", &data);
        }
        w.end();
    }
    w.end();
    w.finish()
}
