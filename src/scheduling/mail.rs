//! Scheduling with people outside the platform by email (iMIP, RFC 6047),
//! on top of [`crate::imip`] (composition, SMTP, LMTP, reply tokens).
//!
//! **Out.** A message for an outside address becomes a job
//! ([`queue`]) written with the change that sends it; [`SendHandler`]
//! composes and submits it, retrying with back-off while the mail server
//! is down or defers (the attendee's SCHEDULE-STATUS stays 1.0, pending),
//! recording 1.1 once it is sent and 5.x when it never can be (RFC 6638
//! §3.2.9). An invitation names as its ORGANIZER and Reply-To a reply
//! address carrying a token drawn for that invitation and that attendee
//! (`reply+TOKEN@imip_reply_domain`), stored with them.
//!
//! **In.** [`IncomingMail`] receives what the MTA hands over by LMTP (RFC
//! 2033): replies at a reply address, applied to the organizer's copy
//! only when the reply's UID and ATTENDEE are those the token was drawn
//! for (anything else is refused and the reason logged); invitations and
//! cancellations from outside organizers to an agent's address, delivered
//! to the agent like any other.

use async_trait::async_trait;
use calcard::icalendar::{ICalendar, ICalendarComponentType, ICalendarProperty};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::address::{address_set, calendar_user, CalendarUser};
use super::deliver::{status, Delivery, LocalMessage, DELIVER};
use super::record_status;
use crate::app::AppState;
use crate::dav::error::DavResult;
use crate::ical::expand::write_ical;
use crate::ical::tz::TzResolver;
use crate::imip::compose::{compose, Invitation, Mailbox};
use crate::imip::lmtp::{extract_calendar, Envelope, MailHandler, Rejection};
use crate::imip::token::{parse_reply_address, reply_address, ReplyToken};
use crate::imip::transport::SendError;
use crate::itip::{self, CalAddress, Method, Outgoing};
use crate::jobs::{JobHandler, JobOutcome};
use crate::store::{now_millis, Job, NewJob, PrincipalId, WriteBatch};

/// The topic of outgoing email jobs.
pub const SEND: &str = "imip-send";

/// How long a reply address stays valid after its invitation was sent.
const REPLY_TOKEN_DAYS: i64 = 400;

/// Attempts of a message the mail server keeps deferring before it is given
/// up (with the back-off of [`backoff`]: about four days).
const MAX_ATTEMPTS: i64 = 24;

/// One email to one outside address.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct MailJob {
    /// The platform account the message is sent for.
    owner: PrincipalId,
    /// The UID of the scheduling object it is about.
    uid: String,
    method: String,
    /// The recipient's address as the object names it (for its
    /// SCHEDULE-STATUS).
    recipient: String,
    email: String,
    message: String,
}

/// The job that sends `out` to `email`, or None when the server sends no
/// email (`smtp_url` unset: SCHEDULE-STATUS 5.1). `object`: the sender's
/// account and the UID of its scheduling object.
pub fn queue(state: &AppState, out: &Outgoing, email: &str, object: Option<(PrincipalId, &str)>) -> DavResult<Option<NewJob>> {
    if state.mail.is_none() {
        return Ok(None);
    }
    let Some((owner, uid)) = object else { return Ok(None) };
    let job = MailJob {
        owner,
        uid: uid.to_string(),
        method: out.method.as_str().to_string(),
        recipient: out.recipient.as_str().to_string(),
        email: email.to_string(),
        message: write_ical(&out.message),
    };
    Ok(Some(NewJob { topic: SEND.into(), payload: serde_json::to_vec(&job).expect("a mail job serializes"), not_before: now_millis() }))
}

/// Once the cancellation of an event the organizer no longer has is sent,
/// answers to it are not wanted: its reply addresses are dropped (and,
/// with them, every expired one).
async fn forget_replies_if_gone(state: &AppState, mail: &MailJob) {
    let gone = match state.store.calendar_objects_by_uid(mail.owner, &mail.uid).await {
        Ok(objects) => objects.is_empty(),
        Err(_) => false,
    };
    if gone {
        if let Err(e) = state.store.drop_reply_tokens(mail.owner, &mail.uid, now_millis()).await {
            tracing::warn!(error = %e, "dropping the reply addresses of a cancelled event failed");
        }
    }
}

/// Sends the queued emails.
pub struct SendHandler;

#[async_trait]
impl JobHandler for SendHandler {
    fn topic(&self) -> &'static str {
        SEND
    }

    /// Only where a relay is configured.
    fn enabled(&self, state: &AppState) -> bool {
        state.mail.is_some()
    }

    /// Mail goes from the worker, never within a request: a slow relay must
    /// not hold up a PUT.
    fn runs_in_request(&self) -> bool {
        false
    }

    /// One message at a time, under a lease longer than the slowest
    /// exchange the transport allows (10 s to connect, 30 s per reply):
    /// a claim never runs out while its message is being sent, so no other
    /// process sends it twice.
    fn claim_batch(&self) -> u32 {
        1
    }

    fn lease(&self) -> std::time::Duration {
        std::time::Duration::from_secs(600)
    }

    async fn run(&self, state: &AppState, job: &Job) -> JobOutcome {
        let mail: MailJob = match serde_json::from_slice(&job.payload) {
            Ok(m) => m,
            Err(e) => return JobOutcome::Abandoned { error: format!("unreadable mail job: {e}") },
        };
        let organizer_side = !matches!(Method::parse(&mail.method), Some(Method::Reply | Method::Counter | Method::Refresh));
        // RFC 5546 §2.1.5: an invitation whose event its organizer deleted
        // while the message waited (the relay down) is stale; the
        // cancellation has gone, or goes, instead.
        if matches!(Method::parse(&mail.method), Some(Method::Request | Method::Add)) {
            match state.store.calendar_objects_by_uid(mail.owner, &mail.uid).await {
                Ok(objects) if objects.is_empty() => return JobOutcome::Done,
                Ok(_) => {}
                Err(e) => return JobOutcome::RetryAt { at: state.jobs.retry_at(job), error: e.to_string() },
            }
        }
        let outcome = send(state, &mail, organizer_side).await;
        let (code, result) = match outcome {
            Ok(()) => (status::SENT, JobOutcome::Done),
            Err(SendError::Temporary(e)) if job.attempts + 1 < MAX_ATTEMPTS => {
                return JobOutcome::RetryAt { at: state.jobs.retry_at(job), error: e };
            }
            Err(SendError::Temporary(e)) => (status::TEMPORARY_FAILURE, JobOutcome::Abandoned { error: e }),
            Err(SendError::Permanent(e)) => (status::PERMANENT_FAILURE, JobOutcome::Abandoned { error: e }),
        };
        if matches!(result, JobOutcome::Done) && Method::parse(&mail.method) == Some(Method::Cancel) {
            forget_replies_if_gone(state, &mail).await;
        }
        let recipient = organizer_side.then(|| CalAddress::new(&mail.recipient));
        if let Err(e) = record_status(state, mail.owner, &mail.uid, recipient.as_ref(), code).await {
            tracing::warn!(error = %e, "the outcome of an email could not be recorded on its event");
        }
        result
    }
}

/// Compose and submit one email.
async fn send(state: &AppState, mail: &MailJob, organizer_side: bool) -> Result<(), SendError> {
    let (Some(transport), Some(from_box)) = (state.mail.as_ref(), state.config.imip_from.clone()) else {
        return Err(SendError::Permanent("email is not configured".into()));
    };
    let from = from_box.address().to_string();
    let from = from.as_str();
    let owner = match state.store.principal(mail.owner).await {
        Ok(Some(p)) => p,
        Ok(None) => return Err(SendError::Permanent("the sender's account is gone".into())),
        Err(e) => return Err(SendError::Temporary(e.to_string())),
    };
    let mut message = ICalendar::parse(&mail.message).map_err(|_| SendError::Permanent("unreadable message".into()))?;
    let reply_domain = state.config.imip_reply_domain.clone().unwrap_or_else(|| domain_of(from).to_string());
    let emails = state.store.principal_emails(owner.id).await.map_err(|e| SendError::Temporary(e.to_string()))?;
    let own_email = emails.iter().find(|e| e.primary).map(|e| e.address.clone());
    // Replies to an invitation come back to an address only this attendee
    // was given.
    let reply_to = if organizer_side {
        let token = state
            .store
            .reply_token_for(
                owner.id,
                &mail.uid,
                &mail.email.to_ascii_lowercase(),
                *ReplyToken::generate().as_bytes(),
                now_millis() + REPLY_TOKEN_DAYS * 86_400_000,
            )
            .await
            .map_err(|e| SendError::Temporary(e.to_string()))?;
        let address = reply_address(&ReplyToken::from_bytes(token), &reply_domain);
        itip::set_organizer_address(&mut message, &format!("mailto:{address}"));
        Some(address)
    } else {
        None
    };
    let (subject, text) = describe(&message, &mail.method, owner.display_name.as_deref().unwrap_or(&owner.username));
    let to = Mailbox::new(None, &mail.email).map_err(|e| SendError::Permanent(format!("recipient: {e}")))?;
    let invitation = Invitation {
        method: mail.method.clone(),
        from: from_box,
        sender_name: Some(owner.display_name.clone().unwrap_or_else(|| owner.username.clone())),
        organizer_email: own_email,
        reply_to,
        to: vec![to],
        subject,
        text,
        calendar: write_ical(&message),
        message_id_domain: domain_of(from).to_string(),
    };
    let bytes = compose(&invitation, Utc::now()).map_err(|e| SendError::Permanent(e.to_string()))?;
    let sent = transport.send(from, std::slice::from_ref(&mail.email), &bytes).await;
    let outcome = if sent.is_ok() { crate::metrics::EmailOutcome::Sent } else { crate::metrics::EmailOutcome::Failed };
    crate::metrics::metrics().email(outcome);
    sent
}

fn domain_of(address: &str) -> &str {
    address.rsplit_once('@').map(|(_, d)| d).unwrap_or(address)
}

/// The subject and the French text of an email carrying `message`.
fn describe(message: &ICalendar, method: &str, sender: &str) -> (String, String) {
    let comp = message
        .components
        .iter()
        .find(|c| !matches!(c.component_type, ICalendarComponentType::VCalendar | ICalendarComponentType::VTimezone));
    let text_of = |p: ICalendarProperty| {
        comp.and_then(|c| c.property(&p)).and_then(|e| e.values.first()).and_then(|v| v.as_text()).map(|t| t.trim().to_string())
    };
    let summary = text_of(ICalendarProperty::Summary).filter(|s| !s.is_empty()).unwrap_or_else(|| "(sans titre)".into());
    let when = comp.and_then(|c| when_text(message, c));
    let place = text_of(ICalendarProperty::Location).filter(|s| !s.is_empty());
    let (subject, opening) = match method.to_ascii_uppercase().as_str() {
        "REQUEST" => (format!("Invitation : {summary}"), format!("{sender} vous invite à « {summary} ».")),
        "ADD" => (format!("Invitation (dates ajoutées) : {summary}"), format!("{sender} ajoute des dates à « {summary} ».")),
        "CANCEL" => (format!("Annulé : {summary}"), format!("{sender} a annulé « {summary} ».")),
        "REPLY" => {
            let answer = comp
                .and_then(|c| c.property(&ICalendarProperty::Attendee))
                .and_then(|e| e.parameter(&calcard::icalendar::ICalendarParameterName::Partstat))
                .and_then(|v| v.as_text())
                .map(|t| t.to_ascii_uppercase());
            let verb = match answer.as_deref() {
                Some("ACCEPTED") => "accepte",
                Some("DECLINED") => "décline",
                Some("TENTATIVE") => "accepte provisoirement",
                _ => "répond à",
            };
            (format!("Réponse : {summary}"), format!("{sender} {verb} « {summary} »."))
        }
        other => (format!("{summary}"), format!("{sender} vous envoie un message de calendrier ({other}) pour « {summary} »."))
    };
    let mut text = opening;
    text.push_str("\n\n");
    if let Some(when) = when {
        text.push_str(&format!("Quand : {when}\n"));
    }
    if let Some(place) = place {
        text.push_str(&format!("Où : {place}\n"));
    }
    if method.eq_ignore_ascii_case("REQUEST") || method.eq_ignore_ascii_case("ADD") {
        text.push_str("\nRépondez avec les boutons de votre messagerie (Accepter, Refuser) : votre réponse parviendra à l'organisateur.\n");
    }
    text.push_str("\n-- \nAlmanach, agendas de l'Éducation nationale\n");
    (subject, text)
}

/// When an event starts (and ends), in French, in Paris time.
fn when_text(message: &ICalendar, comp: &calcard::icalendar::ICalendarComponent) -> Option<String> {
    let resolver = TzResolver::new(message, None);
    let start = comp.property(&ICalendarProperty::Dtstart).and_then(|e| resolver.first_value(e))?;
    let end = comp.property(&ICalendarProperty::Dtend).and_then(|e| resolver.first_value(e));
    let paris = |t: DateTime<Utc>| t.with_timezone(&chrono_tz::Europe::Paris);
    const MONTHS: [&str; 12] =
        ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"];
    use chrono::{Datelike, Timelike};
    if start.is_date {
        let d = start.local.date();
        return Some(format!("le {} {} {} (toute la journée)", d.day(), MONTHS[d.month0() as usize], d.year()));
    }
    let s = paris(start.utc());
    let mut out = format!("le {} {} {} à {}h{:02}", s.day(), MONTHS[s.month0() as usize], s.year(), s.hour(), s.minute());
    if let Some(e) = end.filter(|e| !e.is_date).map(|e| paris(e.utc())) {
        if e.date_naive() == s.date_naive() {
            out.push_str(&format!(" jusqu'à {}h{:02}", e.hour(), e.minute()));
        } else {
            out.push_str(&format!(" jusqu'au {} {} {} à {}h{:02}", e.day(), MONTHS[e.month0() as usize], e.year(), e.hour(), e.minute()));
        }
    }
    out.push_str(" (heure de Paris)");
    Some(out)
}

/// What the MTA hands over by LMTP.
pub struct IncomingMail {
    pub state: std::sync::Arc<AppState>,
}

/// 550 5.7.1: a message this server will never apply (forged, replayed or
/// misdirected); the reason is logged, not told.
fn refused(reason: &str) -> Rejection {
    tracing::warn!(%reason, "incoming iMIP message refused");
    Rejection::new(550, "5.7.1", "Message refused")
}

impl IncomingMail {
    fn reply_domain(&self) -> Option<String> {
        let config = &self.state.config;
        config.imip_reply_domain.clone().or_else(|| config.imip_from.as_ref().map(|f| domain_of(f.address()).to_string()))
    }

    /// The token of a reply address of this server.
    fn token_of(&self, rcpt: &str) -> Option<ReplyToken> {
        parse_reply_address(rcpt, &self.reply_domain()?)
    }

    /// A reply at a reply address: the reply's UID and its one ATTENDEE
    /// must be those the token was drawn for.
    async fn reply(&self, token: ReplyToken, message: &str) -> Result<Delivery, Rejection> {
        let state = &self.state;
        let record = state
            .store
            .reply_token(*token.as_bytes(), now_millis())
            .await
            .map_err(|e| Rejection::temporary(e.to_string()))?
            .ok_or_else(|| refused("unknown or expired reply address"))?;
        let mut reply = ICalendar::parse(message).map_err(|_| refused("unreadable calendar"))?;
        if itip::validate_message(&reply).ok() != Some(Method::Reply) {
            return Err(refused("not a valid REPLY"));
        }
        let parties = itip::parties(&reply);
        if parties.uid.as_deref() != Some(record.uid.as_str()) {
            return Err(refused("the reply is about another event than its reply address"));
        }
        let attendee = CalAddress::new(&format!("mailto:{}", record.attendee));
        if parties.attendees.len() != 1 || parties.attendees[0] != attendee {
            return Err(refused("the reply is not from the attendee its reply address was given to"));
        }
        let organizer = state
            .store
            .principal(record.owner)
            .await
            .map_err(|e| Rejection::temporary(e.to_string()))?
            .filter(|p| !p.disabled)
            .ok_or_else(|| refused("the organizer's account is gone"))?;
        // The organizer as their copy names them (their primary address,
        // another of theirs, a former one), not the reply address.
        let named = self.organizer_as_named(&organizer, &record.uid).await?;
        itip::set_organizer_address(&mut reply, &named);
        Ok(Delivery {
            originator: attendee.as_str().to_string(),
            messages: vec![LocalMessage { recipient: organizer.id, address: named, method: "REPLY".into(), message: write_ical(&reply) }],
            from_object: false,
        })
    }

    /// The ORGANIZER address `organizer`'s scheduling object of `uid`
    /// names, else their primary address.
    async fn organizer_as_named(&self, organizer: &crate::store::Principal, uid: &str) -> Result<String, Rejection> {
        let state = &self.state;
        let temporary = |e: crate::store::StoreError| Rejection::temporary(e.to_string());
        let objects = state.store.calendar_objects_by_uid(organizer.id, uid).await.map_err(temporary)?;
        if let Some((_, meta)) = objects.into_iter().find(|(_, m)| m.schedule_tag.is_some()) {
            if let Some((_, bytes)) = state.store.object_with_content(meta.id).await.map_err(temporary)? {
                let named = std::str::from_utf8(&bytes).ok().and_then(|t| ICalendar::parse(t).ok()).and_then(|c| itip::parties(&c).organizer);
                if let Some(named) = named {
                    return Ok(named.as_str().to_string());
                }
            }
        }
        let own = address_set(state, organizer).await.map_err(|e| Rejection::temporary(e.to_string()))?;
        let primary = own.iter().next().map(|a| a.as_str().to_string()).unwrap_or_default();
        Ok(primary)
    }

    /// An invitation, update or cancellation from an outside organizer to
    /// an agent's address.
    ///
    /// RFC 6047 §2.3, §6: the message's `From` must be its ORGANIZER. A
    /// `From` proves nothing by itself: the MTA in front of the LMTP
    /// listener is expected to have refused mail failing SPF, DKIM and
    /// DMARC (operations guide); what it lets through, from an address
    /// that is the ORGANIZER's, is that organizer's.
    async fn invitation(&self, rcpt: &str, method: Method, message: &str, from: Option<&str>) -> Result<Delivery, Rejection> {
        let state = &self.state;
        let ical = ICalendar::parse(message).map_err(|_| refused("unreadable calendar"))?;
        if itip::validate_message(&ical).ok() != Some(method) {
            return Err(refused("not a valid iTIP message"));
        }
        let attendee_address = CalAddress::new(&format!("mailto:{rcpt}"));
        let CalendarUser::Local(attendee) = calendar_user(state, &attendee_address).await.map_err(|e| Rejection::temporary(e.to_string()))? else {
            return Err(Rejection::no_such_user());
        };
        let parties = itip::parties(&ical);
        let Some(organizer) = parties.organizer else { return Err(refused("no ORGANIZER")) };
        // An agent's invitations come from the server itself, never by
        // mail: a message naming a platform account as organizer is forged.
        match calendar_user(state, &organizer).await.map_err(|e| Rejection::temporary(e.to_string()))? {
            CalendarUser::External(_) => {}
            _ => return Err(refused("the ORGANIZER is not an outside address")),
        }
        let from = from.map(|f| CalAddress::new(&format!("mailto:{f}")));
        if from.as_ref() != Some(&organizer) {
            return Err(refused("the message is not from its ORGANIZER"));
        }
        let me = address_set(state, &attendee).await.map_err(|e| Rejection::temporary(e.to_string()))?;
        let named = parties.attendees.iter().find(|a| me.contains(a)).cloned().ok_or_else(|| refused("the message does not invite its recipient"))?;
        Ok(Delivery {
            originator: organizer.as_str().to_string(),
            messages: vec![LocalMessage {
                recipient: attendee.id,
                address: named.as_str().to_string(),
                method: method.as_str().to_string(),
                message: message.to_string(),
            }],
            from_object: false,
        })
    }

    /// Queue `delivery` durably (the answer to the MTA says it is kept,
    /// RFC 2033 §4.2), then run it.
    async fn queue(&self, delivery: Delivery) -> Result<(), Rejection> {
        let state = &self.state;
        let job = NewJob {
            topic: DELIVER.into(),
            payload: serde_json::to_vec(&delivery).expect("a delivery serializes"),
            not_before: crate::jobs::not_before_in_request(),
        };
        let written = state
            .store
            .apply_batch(WriteBatch { writes: Vec::new(), complete_jobs: Vec::new(), enqueue: vec![job] })
            .await
            .map_err(|e| Rejection::temporary(e.to_string()))?;
        state.jobs.run_now(state, &written.jobs).await;
        Ok(())
    }
}

#[async_trait]
impl MailHandler for IncomingMail {
    async fn accept_recipient(&self, rcpt: &str) -> Result<(), Rejection> {
        // A reply address is accepted while its token is known and
        // current; one never given (or expired) is nobody's.
        if let Some(token) = self.token_of(rcpt) {
            return match self.state.store.reply_token(*token.as_bytes(), now_millis()).await {
                Ok(Some(_)) => Ok(()),
                Ok(None) => Err(Rejection::no_such_user()),
                Err(e) => Err(Rejection::temporary(e.to_string())),
            };
        }
        match calendar_user(&self.state, &CalAddress::new(&format!("mailto:{rcpt}"))).await {
            Ok(CalendarUser::Local(_)) => Ok(()),
            Ok(_) => Err(Rejection::no_such_user()),
            Err(e) => Err(Rejection::temporary(e.to_string())),
        }
    }

    async fn deliver(&self, envelope: &Envelope, rcpt: &str, message: &[u8]) -> Result<(), Rejection> {
        let incoming = match extract_calendar(message) {
            Ok(c) => c,
            Err(e) => {
                tracing::info!(error = %e, from = %envelope.mail_from, "incoming mail without a usable calendar refused");
                return Err(Rejection::permanent(e.to_string()));
            }
        };
        let method = Method::parse(&incoming.method).ok_or_else(|| refused("unknown METHOD"))?;
        let delivery = match (self.token_of(rcpt), method) {
            (Some(token), Method::Reply) => self.reply(token, &incoming.calendar_text).await?,
            (Some(_), _) => return Err(refused("only replies are received at a reply address")),
            (None, Method::Request | Method::Add | Method::Cancel) => {
                self.invitation(rcpt, method, &incoming.calendar_text, incoming.from_address.as_deref()).await?
            }
            (None, _) => return Err(refused("a method this server does not take from outside")),
        };
        self.queue(delivery).await
    }
}

/// The handlers of email jobs.
pub fn send_handler() -> std::sync::Arc<dyn JobHandler> {
    std::sync::Arc::new(SendHandler)
}
