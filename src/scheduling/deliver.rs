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

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use calcard::icalendar::{ICalendar, ICalendarComponentType};
use serde::{Deserialize, Serialize};

use super::address::{address_set, calendar_user, calendar_users, CalendarUser};
use super::freebusy::invalid_message;
use super::props::default_calendar_among;
use super::new_schedule_tag;
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
    BatchWrite, Collection, CollectionId, Job, LockGuard, NewJob, ObjectIndex, ObjectMeta, Principal, PrincipalId, PutObject,
    Resolved, StoreError, WriteBatch, WriteCondition,
};

/// The inbox property naming the calendar that takes invitations (RFC 6638 §9.2).
const SCHEDULE_DEFAULT_CALENDAR_URL: &str = "schedule-default-calendar-URL";

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
    /// The messages come from a change of the organizer's object (not a
    /// POST by a client that schedules itself): a REQUEST is stale once
    /// the organizer no longer has the object.
    #[serde(default)]
    pub from_object: bool,
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
    let recipients: Vec<CalAddress> = outgoing.iter().map(|o| o.recipient.clone()).collect();
    let users = calendar_users(state, &recipients).await?;
    for (out, user) in outgoing.iter().zip(users) {
        let status = match user {
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
        let payload = serde_json::to_vec(&Delivery { originator, messages: local, from_object: object.is_some() }).expect("a delivery serializes");
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
        for _ in 0..3 {
            let groups = match delivery_writes(state, &delivery).await {
                Ok(w) => w,
                Err(e) => return retry_or_abandon(state, job, e.to_string()),
            };
            let mut batch = WriteBatch { writes: Vec::new(), complete_jobs: vec![job.id], enqueue: Vec::new() };
            for g in groups {
                batch.writes.extend(g.writes);
                batch.enqueue.extend(g.follow_up);
            }
            match state.store.apply_batch(batch).await {
                Ok(written) => return JobOutcome::Completed { follow_up: written.jobs },
                Err(StoreError::JobGone) => return JobOutcome::Completed { follow_up: Vec::new() },
                Err(e) if is_conflict(&e) => last = e.to_string(),
                Err(e) => return retry_or_abandon(state, job, e.to_string()),
            }
        }
        // Still failing together: one recipient's state (a full quota, a
        // copy changed at every try) must not hold up the others. Each
        // recipient's writes go on their own; what fails for one is
        // logged and dropped, then the job is done.
        tracing::warn!(error = %last, "a delivery kept failing as a whole; delivering recipient by recipient");
        let mut recipients: Vec<PrincipalId> = Vec::new();
        for m in &delivery.messages {
            if !recipients.contains(&m.recipient) {
                recipients.push(m.recipient);
            }
        }
        let mut follow_up = Vec::new();
        for id in recipients {
            // Each recipient read, decided and written on its own, a few
            // times if its copy changes meanwhile.
            for attempt in 0..3 {
                let groups = match delivery_writes_for(state, &delivery, Some(id)).await {
                    Ok(w) => w,
                    Err(e) => return retry_or_abandon(state, job, e.to_string()),
                };
                let Some(g) = groups.into_iter().next() else { break };
                let batch = WriteBatch { writes: g.writes, complete_jobs: Vec::new(), enqueue: g.follow_up };
                match state.store.apply_batch(batch).await {
                    Ok(written) => {
                        follow_up.extend(written.jobs);
                        break;
                    }
                    Err(e) if is_conflict(&e) && attempt < 2 && !matches!(e, StoreError::QuotaExceeded | StoreError::Invalid(_)) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, recipient = id, "a scheduling message could not be delivered to this recipient");
                        break;
                    }
                }
            }
        }
        match state.store.complete_job(job.id).await {
            Ok(()) | Err(StoreError::NotFound) => JobOutcome::Completed { follow_up },
            Err(e) => JobOutcome::RetryAt { at: state.jobs.retry_at(job), error: e.to_string() },
        }
    }
}

/// A delivery failing for a reason other than a concurrent change (the
/// database unreachable) is retried with back-off, at most
/// [`MAX_DELIVERY_ATTEMPTS`] times.
fn retry_or_abandon(state: &AppState, job: &Job, error: String) -> JobOutcome {
    if job.attempts + 1 >= MAX_DELIVERY_ATTEMPTS {
        JobOutcome::Abandoned { error }
    } else {
        JobOutcome::RetryAt { at: state.jobs.retry_at(job), error }
    }
}

/// Attempts of a delivery before it is given up (about four days of
/// back-off).
const MAX_DELIVERY_ATTEMPTS: i64 = 24;

fn is_conflict(e: &StoreError) -> bool {
    matches!(
        e,
        StoreError::PreconditionFailed
            | StoreError::UidConflict { .. }
            | StoreError::NotFound
            | StoreError::MissingParent
            | StoreError::AlreadyExists
            | StoreError::QuotaExceeded
            | StoreError::Invalid(_)
    )
}

/// What a delivery writes for one recipient.
struct RecipientWrites {
    writes: Vec<BatchWrite>,
    /// Deliveries it causes in turn (a reply forwarded to the other
    /// attendees).
    follow_up: Vec<NewJob>,
}

/// A recipient's copy of one UID as the delivery changes it in memory:
/// the object as stored (where, and which version), and what it becomes.
struct Working {
    stored: Option<(Collection, ObjectMeta)>,
    /// None: removed.
    current: Option<ICalendar>,
    /// The schedule tag to keep (only other attendees' answers changed).
    tag: Option<String>,
    changed: bool,
}

/// Every write a delivery makes, as read now, per recipient. Messages to
/// one recipient (a CANCEL of the series then a REQUEST of one instance;
/// one person under two addresses) are applied one after the other to one
/// copy in memory, so each recipient gets one write per object.
async fn delivery_writes(state: &AppState, delivery: &Delivery) -> DavResult<Vec<RecipientWrites>> {
    delivery_writes_for(state, delivery, None).await
}

/// [`delivery_writes`] for one recipient (`only`), or all.
async fn delivery_writes_for(state: &AppState, delivery: &Delivery, only: Option<PrincipalId>) -> DavResult<Vec<RecipientWrites>> {
    // RFC 5546 §2.1.5: a REQUEST from an organizer of the platform who no
    // longer has the event (deleted while the delivery waited) is stale.
    let organizer_gone = organizer_gone(state, delivery).await?;
    let mut order: Vec<PrincipalId> = Vec::new();
    for m in &delivery.messages {
        if !order.contains(&m.recipient) && only.is_none_or(|o| o == m.recipient) {
            order.push(m.recipient);
        }
    }
    // One parse per distinct message (most recipients get the same).
    let mut parsed: Vec<(&str, Option<ICalendar>)> = Vec::new();
    for m in delivery.messages.iter().filter(|m| order.contains(&m.recipient)) {
        if !parsed.iter().any(|(t, _)| *t == m.message.as_str()) {
            parsed.push((m.message.as_str(), ICalendar::parse(&m.message).ok()));
        }
    }
    let mut uids: Vec<String> = Vec::new();
    for uid in parsed.iter().filter_map(|(_, p)| p.as_ref().and_then(uid_of)) {
        if !uids.contains(&uid) {
            uids.push(uid);
        }
    }
    let mut read = read_recipients(state, &order, &uids).await?;
    let mut out = Vec::new();
    let mut named_after_uid: Vec<(usize, usize)> = Vec::new();
    for id in order {
        let Some(recipient) = read.principals.remove(&id) else { continue };
        let home = match read.homes.remove(&id) {
            Some(home) => home,
            None => match recipient_home(state, &recipient).await? {
                Some(home) => home,
                None => continue,
            },
        };
        let quota = Some(recipient.quota_bytes.unwrap_or(state.config.default_quota_bytes));
        let mut group = RecipientWrites { writes: Vec::new(), follow_up: Vec::new() };
        let mut copies: Vec<(String, Working)> = Vec::new();
        let mut inbox_texts: Vec<&str> = Vec::new();
        let mut inbox: Vec<(String, BatchWrite)> = Vec::new();
        for m in delivery.messages.iter().filter(|m| m.recipient == id) {
            let message = parsed.iter().find(|(t, _)| *t == m.message.as_str()).and_then(|(_, p)| p.clone());
            let Some(message) = message else {
                tracing::warn!(recipient = id, "an unreadable message was queued; skipped");
                continue;
            };
            let Some(method) = Method::parse(&m.method) else { continue };
            let Some(uid) = uid_of(&message) else { continue };
            if matches!(method, Method::Request | Method::Add) && organizer_gone.contains(&uid) {
                tracing::debug!(%uid, "a request for an event its organizer deleted since: not delivered");
                continue;
            }
            let k = match copies.iter().position(|(u, _)| *u == uid) {
                Some(k) => k,
                None => {
                    let found = read.by_uid.remove(&(id, uid.clone())).unwrap_or_default();
                    let Some(working) = read_copy(state, &recipient, &uid, found, &message, method).await? else { continue };
                    copies.push((uid.clone(), working));
                    copies.len() - 1
                }
            };
            let working = &mut copies[k].1;
            let applied = match method {
                Method::Reply => apply_reply_to(state, &recipient, working, &message, &uid, &mut group.follow_up).await?,
                _ => apply_request_to(working, &CalAddress::new(&m.address), &message),
            };
            // RFC 6638 §4.1, §4.2: the message appears in the inbox once it
            // is processed (and only when it was: an ignored one is stale).
            if applied && !inbox_texts.contains(&m.message.as_str()) {
                inbox_texts.push(&m.message);
                inbox.push((uid.clone(), inbox_write(&home.inbox, &message, &m.message)));
            }
        }
        let mut written: Vec<String> = Vec::new();
        for (uid, working) in copies.into_iter().filter(|(_, w)| w.changed) {
            let new_copy = working.stored.is_none();
            if let Some(write) = copy_write(state, &recipient, &home, &uid, working, quota)? {
                if new_copy {
                    named_after_uid.push((out.len(), group.writes.len()));
                }
                group.writes.push(write);
                written.push(uid);
            }
        }
        // The inbox messages of the copies written (not of a message whose
        // copy the calendar refused, or that had no calendar to go to).
        group.writes.extend(inbox.into_iter().filter(|(uid, _)| written.contains(uid)).map(|(_, w)| w));
        if !group.writes.is_empty() {
            out.push(group);
        }
    }
    rename_taken(state, &mut out, &named_after_uid).await?;
    Ok(out)
}

/// What a delivery reads of its recipients before deciding anything, read
/// for all of them together (a few statements, not a few per recipient).
#[derive(Default)]
struct RecipientsRead {
    /// The active recipients.
    principals: HashMap<PrincipalId, Principal>,
    /// Their calendar homes, where they exist with an inbox.
    homes: HashMap<PrincipalId, RecipientHome>,
    /// (recipient, UID) → their calendar objects with that UID.
    by_uid: HashMap<(PrincipalId, String), Vec<(Collection, ObjectMeta)>>,
}

async fn read_recipients(state: &AppState, ids: &[PrincipalId], uids: &[String]) -> DavResult<RecipientsRead> {
    let mut read = RecipientsRead::default();
    read.principals = state.store.principals(ids).await?.into_iter().filter(|p| !p.disabled).map(|p| (p.id, p)).collect();
    if read.principals.is_empty() {
        return Ok(read);
    }
    let active: Vec<PrincipalId> = ids.iter().copied().filter(|id| read.principals.contains_key(id)).collect();
    let home_paths: HashMap<String, PrincipalId> =
        read.principals.values().map(|p| (CALENDAR_HOMES.home_path(&p.username), p.id)).collect();
    let paths: Vec<&str> = home_paths.keys().map(String::as_str).collect();
    let mut children: HashMap<PrincipalId, Vec<Collection>> = HashMap::new();
    for c in state.store.child_collections_at(&paths).await? {
        if let Some(owner) = home_paths.get(parent_path(&c.path)) {
            children.entry(*owner).or_default().push(c);
        }
    }
    let inboxes: Vec<CollectionId> =
        children.values().filter_map(|list| list.iter().find(|c| c.name() == super::INBOX)).map(|c| c.id).collect();
    let chosen: HashMap<CollectionId, String> =
        state.store.collections_property(&inboxes, NS_CALDAV, SCHEDULE_DEFAULT_CALENDAR_URL).await?.into_iter().collect();
    for (owner, list) in children {
        if let Some(inbox) = list.iter().find(|c| c.name() == super::INBOX).cloned() {
            let chosen_default = chosen.get(&inbox.id).cloned();
            read.homes.insert(owner, RecipientHome { inbox, children: list, chosen_default });
        }
    }
    for uid in uids {
        for (collection, meta) in state.store.calendar_objects_by_uid_of(&active, uid).await? {
            read.by_uid.entry((collection.owner, uid.clone())).or_default().push((collection, meta));
        }
    }
    Ok(read)
}

/// The path of the collection holding the collection at `path`.
fn parent_path(path: &str) -> &str {
    let trimmed = path.trim_end_matches('/');
    &path[..trimmed.rfind('/').map_or(0, |i| i + 1)]
}

/// New copies are named after their UID ([`member_name`]); where another
/// object already has that name, a fresh one (one read for all the new
/// copies of a delivery).
async fn rename_taken(state: &AppState, out: &mut [RecipientWrites], new_copies: &[(usize, usize)]) -> DavResult<()> {
    let members: Vec<(CollectionId, &str)> = new_copies
        .iter()
        .filter_map(|&(g, w)| match &out[g].writes[w] {
            BatchWrite::Put(p) => Some((p.collection, p.name.as_str())),
            BatchWrite::Delete { .. } => None,
        })
        .collect();
    if members.is_empty() {
        return Ok(());
    }
    let taken: std::collections::HashSet<(CollectionId, String)> =
        state.store.objects_at(&members).await?.into_iter().map(|m| (m.collection, m.name)).collect();
    for &(g, w) in new_copies {
        if let BatchWrite::Put(p) = &mut out[g].writes[w] {
            if taken.contains(&(p.collection, p.name.clone())) {
                p.name = format!("{}.ics", uuid::Uuid::new_v4());
            }
        }
    }
    Ok(())
}

/// What a delivery needs of a recipient's calendar home: their inbox, the
/// home's collections, and the calendar they chose for invitations (the
/// inbox's `schedule-default-calendar-URL`, as stored).
struct RecipientHome {
    inbox: Collection,
    children: Vec<Collection>,
    chosen_default: Option<String>,
}

/// A recipient's home read on its own, created first with its inbox when
/// missing (a recipient who never connected).
async fn recipient_home(state: &AppState, recipient: &Principal) -> DavResult<Option<RecipientHome>> {
    let inbox_name = super::INBOX;
    let read = |home: Collection| async move {
        let children = state.store.child_collections(home.id).await?;
        let Some(inbox) = children.iter().find(|c| c.name() == inbox_name).cloned() else { return DavResult::Ok(None) };
        let chosen_default = state
            .store
            .collections_property(&[inbox.id], NS_CALDAV, SCHEDULE_DEFAULT_CALENDAR_URL)
            .await?
            .into_iter()
            .next()
            .map(|(_, v)| v);
        DavResult::Ok(Some(RecipientHome { inbox, children, chosen_default }))
    };
    if let Some(home) = state.store.collection_by_path(&CALENDAR_HOMES.home_path(&recipient.username)).await? {
        if let Some(found) = read(home).await? {
            return Ok(Some(found));
        }
    }
    let home = ensure_home_with_permanent(state, recipient, CALENDAR_HOMES).await?;
    read(home).await
}

/// The UIDs of the REQUESTs of `delivery` whose organizer, an account of
/// the platform, no longer has the event.
async fn organizer_gone(state: &AppState, delivery: &Delivery) -> DavResult<Vec<String>> {
    let mut gone = Vec::new();
    if !delivery.from_object {
        return Ok(gone);
    }
    let requests: Vec<&LocalMessage> = delivery.messages.iter().filter(|m| matches!(Method::parse(&m.method), Some(Method::Request | Method::Add))).collect();
    if requests.is_empty() {
        return Ok(gone);
    }
    let CalendarUser::Local(organizer) = calendar_user(state, &CalAddress::new(&delivery.originator)).await? else { return Ok(gone) };
    // Most messages are one text for every recipient: parsed and looked up once.
    let mut texts: Vec<&str> = Vec::new();
    let mut checked: Vec<String> = Vec::new();
    for m in requests {
        if texts.contains(&m.message.as_str()) {
            continue;
        }
        texts.push(&m.message);
        let Some(uid) = ICalendar::parse(&m.message).ok().as_ref().and_then(uid_of) else { continue };
        if checked.contains(&uid) {
            continue;
        }
        if state.store.calendar_objects_by_uid(organizer.id, &uid).await?.is_empty() {
            gone.push(uid.clone());
        }
        checked.push(uid);
    }
    Ok(gone)
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

/// What a recipient has under a UID (`found`: their calendar objects with
/// it): their scheduling object (one written by scheduling, with a
/// schedule tag), with its bytes; `Err(())` when they have an object with
/// that UID that is not one (their own event, which a message must never
/// overwrite: RFC 6638 §3.2.4.1 keeps one object per UID, so the message is
/// not delivered).
async fn scheduling_object(state: &AppState, found: Vec<(Collection, ObjectMeta)>) -> DavResult<Result<Option<(Collection, ObjectMeta, ICalendar)>, ()>> {
    let mut other = false;
    for (collection, meta) in found {
        if meta.schedule_tag.is_none() || collection.kind != crate::store::CollectionKind::Calendar {
            other = true;
            continue;
        }
        let Some((meta, bytes)) = state.store.object_with_content(meta.id).await? else { continue };
        let Ok(text) = std::str::from_utf8(&bytes) else { continue };
        if let Ok(ical) = ICalendar::parse(text) {
            return Ok(Ok(Some((collection, meta, ical))));
        }
    }
    Ok(if other { Err(()) } else { Ok(None) })
}

/// The ORGANIZER address of a calendar object.
fn organizer_of(ical: &ICalendar) -> Option<CalAddress> {
    itip::parties(ical).organizer
}

/// `recipient`'s copy of `uid` as a message of `method` finds it; None when
/// the message must not touch what they have (an object of theirs that is
/// not a scheduling object, or one another organizer's).
async fn read_copy(
    state: &AppState,
    recipient: &Principal,
    uid: &str,
    found: Vec<(Collection, ObjectMeta)>,
    message: &ICalendar,
    method: Method,
) -> DavResult<Option<Working>> {
    let found = match scheduling_object(state, found).await? {
        Ok(found) => found,
        Err(()) => {
            tracing::info!(recipient = recipient.id, %uid, "the recipient has an event of their own with this UID: the message is not applied");
            return Ok(None);
        }
    };
    match found {
        Some((collection, meta, ical)) => {
            // A message may only change a copy of the same organizer's
            // event (a REPLY: the recipient is that organizer).
            if method != Method::Reply && organizer_of(&ical) != organizer_of(message) {
                tracing::info!(recipient = recipient.id, %uid, "a message from another organizer than the copy's: not applied");
                return Ok(None);
            }
            let tag = meta.schedule_tag.clone();
            Ok(Some(Working { stored: Some((collection, meta)), current: Some(ical), tag, changed: false }))
        }
        None => Ok(Some(Working { stored: None, current: None, tag: None, changed: false })),
    }
}

/// RFC 6638 §4.1: a REQUEST, ADD or CANCEL applied to the attendee's copy
/// in memory; whether it was applied.
fn apply_request_to(working: &mut Working, address: &CalAddress, message: &ICalendar) -> bool {
    match itip::apply_to_attendee(working.current.as_ref(), message, address) {
        Applied::Store(copy) => {
            // §3.2.10: the tag changes unless only other attendees'
            // participation did.
            let keep = working.current.as_ref().is_some_and(|old| itip::only_participation_changed(old, &copy));
            if !keep {
                working.tag = None;
            }
            working.current = Some(copy);
            working.changed = true;
            true
        }
        Applied::Remove if working.current.is_some() => {
            working.current = None;
            working.changed = true;
            true
        }
        Applied::Remove => false,
        Applied::Ignore(why) => {
            tracing::debug!(%why, "message not applied");
            false
        }
    }
}

/// Meetings up to this many attendees have each reply forwarded to the
/// other attendees of the platform (RFC 6638 §4.2 SHOULD); beyond, every
/// reply would rewrite hundreds of copies.
const REPLY_UPDATES_MAX_ATTENDEES: usize = 100;

/// RFC 6638 §4.2: a REPLY applied to the organizer's copy in memory; its
/// schedule tag stays (§3.2.10: merging a reply is not a consequential
/// change). The other attendees of the platform are told of it, in smaller
/// meetings (`follow_up`). Whether it was applied.
async fn apply_reply_to(
    state: &AppState,
    organizer: &Principal,
    working: &mut Working,
    reply: &ICalendar,
    uid: &str,
    follow_up: &mut Vec<NewJob>,
) -> DavResult<bool> {
    let Some(copy) = working.current.as_ref() else {
        tracing::debug!(organizer = organizer.id, "a reply to an event the organizer no longer has: ignored (RFC 6638 §4.2)");
        return Ok(false);
    };
    let me = address_set(state, organizer).await?;
    if !matches!(itip::role(copy, &me), Ok(itip::Role::Organizer)) {
        return Ok(false);
    }
    match itip::apply_reply(copy, reply) {
        Ok(updated) => {
            let parties = itip::parties(&updated);
            if let Some(replying) = itip::parties(reply).attendees.first() {
                if parties.attendees.len() <= REPLY_UPDATES_MAX_ATTENDEES {
                    let mut updates = itip::reply_updates(copy, &updated, replying, &me, chrono::Utc::now()).unwrap_or_default();
                    // Built from the organizer's copy: the visio links as
                    // attendees get them.
                    crate::visio::invitation::attendee_links_in(state, organizer.id, uid, &mut updates).await?;
                    follow_up.extend(plan_for(state, Some(organizer), &updates, Some((organizer.id, uid)), false).await?.jobs);
                }
            }
            working.current = Some(updated);
            working.changed = true;
            Ok(true)
        }
        Err(why) => {
            tracing::info!(%why, organizer = organizer.id, "reply not applied");
            Ok(false)
        }
    }
}

/// The write that leaves `recipient`'s copy of `uid` as `working` says.
fn copy_write(
    state: &AppState,
    recipient: &Principal,
    home: &RecipientHome,
    uid: &str,
    working: Working,
    quota: Option<i64>,
) -> DavResult<Option<BatchWrite>> {
    match (working.current, working.stored) {
        // Updates of an existing copy are not held to the quota (an
        // organizer's change or cancellation must reach a full account);
        // a new invitation is.
        (Some(copy), Some((collection, meta))) => Ok(stored_copy(state, &collection, Some(&meta), uid, copy, working.tag, None)),
        (Some(copy), None) => {
            let Some(calendar) = default_calendar_among(state, &home.inbox, &home.children, home.chosen_default.as_deref()) else {
                tracing::info!(attendee = recipient.id, "no calendar takes invitations: not delivered (RFC 6638 §4.3)");
                return Ok(None);
            };
            Ok(stored_copy(state, &calendar, None, uid, copy, None, quota))
        }
        (None, Some((collection, meta))) => Ok(Some(BatchWrite::Delete {
            collection: Resolved::collection(&collection),
            name: meta.name.clone(),
            if_match: Some(meta.etag.clone()),
            guard: LockGuard::none(),
        })),
        (None, None) => Ok(None),
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
    quota: Option<i64>,
) -> Option<BatchWrite> {
    let content = Bytes::from(write_ical(&copy));
    let prepared = match crate::caldav::put::prepare(ResourceLimits::of(&state.config), None, &calendar.components, &content) {
        Ok(p) => p,
        Err(e) => {
            tracing::info!(error = ?e, calendar = %calendar.path, "a copy the calendar refuses: not delivered");
            return None;
        }
    };
    // A new copy takes the UID's name, unless something else already has
    // it ([`rename_taken`]).
    let name = match existing {
        Some(m) => m.name.clone(),
        None => member_name(uid),
    };
    let condition = match existing {
        Some(m) => WriteCondition::ETagMatches(m.etag.clone()),
        None => WriteCondition::MustNotExist,
    };
    let schedule_tag = Some(tag.unwrap_or_else(new_schedule_tag));
    Some(BatchWrite::Put(PutObject {
        collection: calendar.id,
        collection_path: calendar.path.clone(),
        name,
        content_type: prepared.content_type,
        content,
        condition,
        quota_limit: quota,
        guard: LockGuard::none(),
        index: prepared.index,
        unique_uid: true,
        enqueue: Vec::new(),
        schedule_tag,
    }))
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
fn inbox_write(inbox: &Collection, message: &ICalendar, text: &str) -> BatchWrite {
    let component = message
        .components
        .iter()
        .find(|c| !matches!(c.component_type, ICalendarComponentType::VCalendar | ICalendarComponentType::VTimezone))
        .map(|c| c.component_type.as_str().to_string());
    let index = ObjectIndex { uid: uid_of(message), component: component.clone(), ..ObjectIndex::default() };
    BatchWrite::Put(PutObject {
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
    })
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
    let mut outgoing: Vec<Outgoing> = recipients
        .iter()
        .map(|r| Outgoing { method, originator: originator.clone(), recipient: r.clone(), message: message.clone() })
        .collect();
    if matches!(method, Method::Request | Method::Add | Method::Cancel | Method::DeclineCounter) {
        // The organizer's client posts what it stores: the visio links as
        // attendees get them.
        let uid = parties.uid.clone().unwrap_or_default();
        crate::visio::invitation::attendee_links_in(req.state, owner.id, &uid, &mut outgoing).await?;
    }
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
