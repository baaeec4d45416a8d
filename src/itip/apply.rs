//! Processing incoming scheduling messages (RFC 6638 §4): an organizer's
//! REQUEST, ADD or CANCEL applied to an attendee's copy (§4.1), an
//! attendee's REPLY applied to the organizer's copy (§4.2).

use calcard::icalendar::{
    ICalendar, ICalendarComponentType, ICalendarEntry, ICalendarParameterName,
    ICalendarParameterValue, ICalendarProperty, ICalendarValue,
};
use chrono::DateTime;

use super::{
    address::CalAddress,
    message::method_of,
    model::{address_of, param, partial, partstat, set_param, set_partstat, Cal, Form, Item, Tree},
    role::{is_scheduled_kind, organizer_of},
    Method, ReplyError,
};
use crate::ical::{expand::write_ical, object::parse_calendar_object};

/// What becomes of an attendee's copy when a message arrives.
#[derive(Debug, Clone)]
pub enum Applied {
    /// Store this (new or updated) copy.
    Store(ICalendar),
    /// Remove the copy: the event, or every instance of it, is cancelled.
    Remove,
    /// Leave the copy as it is, and why.
    Ignore(&'static str),
}

/// RFC 6638 §4.1 with RFC 5546 §3.2.2, §3.2.4, §3.2.5 (§3.4 for VTODO):
/// a REQUEST, ADD or CANCEL from the organizer delivered to `attendee`,
/// applied to their copy (`existing`, `None` when they have none yet).
///
/// - A message that does not list `attendee` as an ATTENDEE, whose UID or
///   ORGANIZER is not the copy's, or that answers another method, is
///   ignored; so is one older than the copy (RFC 5546 §2.1.5: each of its
///   components has a lower SEQUENCE than the copy's component of the same
///   RECURRENCE-ID — or than the copy's master for an instance it does not
///   override —, or the same SEQUENCE and an older DTSTAMP).
/// - REQUEST: creates the copy, or updates it — the organizer's data wins,
///   but the attendee keeps their VALARMs, TRANSP, PERCENT-COMPLETE,
///   COMPLETED and ORGANIZER SCHEDULE-STATUS, and their PARTSTAT unless the
///   component is rescheduled (RFC 6638 §3.2.8: then the message's,
///   usually NEEDS-ACTION). A REQUEST with a master replaces the whole copy
///   (RFC 5546 §4.4.7: overrides it does not carry are dropped), keeping
///   the instances the attendee excluded with EXDATE unless the series is
///   rescheduled; a REQUEST of overrides only merges them into the copy
///   (RFC 5546 §4.4.2), except for instances the attendee excluded.
/// - ADD (RFC 5546 §3.2.4): each component becomes an RDATE of the
///   master and an override; without a copy the message is ignored (the
///   attendee would need a REFRESH).
/// - CANCEL without RECURRENCE-ID: `Remove`. With RECURRENCE-IDs: those
///   instances get an EXDATE (their override is removed; RANGE=THISANDFUTURE
///   ends the series there), and when no instance remains, `Remove`.
///
/// The copy never keeps METHOD (RFC 4791 §4.1), and must pass
/// [`parse_calendar_object`] or the message is ignored.
pub fn apply_to_attendee(existing: Option<&ICalendar>, message: &ICalendar, attendee: &CalAddress) -> Applied {
    let Some(method) = method_of(message) else { return Applied::Ignore("no METHOD") };
    let Ok(msg) = Cal::from_ical(message) else { return Applied::Ignore("the message cannot be read") };
    if !is_scheduled_kind(&msg) {
        return Applied::Ignore("not a VEVENT or VTODO message");
    }
    if msg.uid().is_none() || msg.items.iter().any(|i| i.tree.comp.uid() != msg.uid()) {
        return Applied::Ignore("the message's components do not share one UID");
    }
    let Ok(Some((organizer, _))) = organizer_of(&msg) else {
        return Applied::Ignore("the message has no single ORGANIZER");
    };
    if !msg.items.iter().any(|i| i.tree.attendee(attendee).is_some()) {
        return Applied::Ignore("the message does not name the attendee");
    }
    let copy = match existing.map(Cal::from_ical).transpose() {
        Ok(c) => c,
        Err(_) => return Applied::Ignore("the attendee's copy cannot be read"),
    };
    if let Some(copy) = &copy {
        if copy.uid() != msg.uid() {
            return Applied::Ignore("the message's UID is not the copy's");
        }
        if organizer_of(copy).ok().flatten().is_some_and(|(o, _)| o != organizer) {
            return Applied::Ignore("the message's ORGANIZER is not the copy's");
        }
        if stale(copy, &msg) {
            return Applied::Ignore("stale: the copy is a later revision (RFC 5546 §2.1.5)");
        }
    }
    let result = match method {
        Method::Request => request(copy, &msg, attendee),
        Method::Add => match copy {
            Some(copy) => add(copy, &msg),
            None => return Applied::Ignore("ADD for an event the attendee does not have (RFC 5546 §3.2.4)"),
        },
        Method::Cancel => match copy {
            None => return Applied::Ignore("CANCEL for an event the attendee does not have"),
            Some(copy) => match cancel(copy, &msg) {
                Some(c) => c,
                None => return Applied::Remove,
            },
        },
        _ => return Applied::Ignore("not a method applied to an attendee's copy"),
    };
    let mut result = result;
    result.root.entries.retain(|e| e.name != ICalendarProperty::Method);
    let ical = result.to_ical();
    match parse_calendar_object(write_ical(&ical).as_bytes()) {
        Ok(_) => Applied::Store(ical),
        Err(_) => Applied::Ignore("the resulting copy would not be a valid calendar object"),
    }
}

/// RFC 5546 §2.1.5: every component of `msg` is older than the copy's.
fn stale(copy: &Cal, msg: &Cal) -> bool {
    msg.items.iter().all(|m| {
        let Some(c) = copy.item(m.rid).or(copy.master()) else { return false };
        let (ms, cs) = (m.tree.sequence(), c.tree.sequence());
        ms < cs || (ms == cs && matches!((m.tree.dtstamp(), c.tree.dtstamp()), (Some(a), Some(b)) if a < b))
    })
}

/// The attendee-owned properties a REQUEST does not overwrite.
fn kept(name: &ICalendarProperty) -> bool {
    matches!(
        name,
        ICalendarProperty::Transp | ICalendarProperty::PercentComplete | ICalendarProperty::Completed
    )
}

fn request(copy: Option<Cal>, msg: &Cal, me: &CalAddress) -> Cal {
    let Some(copy) = copy else { return msg.clone() };
    let mut out = copy.clone();
    out.root = copy.root.clone();
    // The message's VTIMEZONEs win.
    let ids: Vec<String> = msg.timezones.iter().filter_map(tz_text).collect();
    out.timezones.retain(|t| tz_text(t).is_none_or(|id| !ids.contains(&id)));
    out.timezones.extend(msg.timezones.iter().cloned());
    let full = msg.master().is_some();
    let copy_ex = copy.master().map(|m| copy.instants(&m.tree, &ICalendarProperty::Exdate)).unwrap_or_default();
    if full {
        out.items.retain(|i| msg.item(i.rid).is_some());
    }
    let mut master_rescheduled = false;
    for m in &msg.items {
        if !full && m.rid.is_some_and(|r| copy_ex.contains(&r)) {
            // The attendee excluded that instance.
            continue;
        }
        let mut tree = m.tree.clone();
        let prev = copy.item(m.rid).map(|p| (p, copy.sig(&p.tree))).or_else(|| {
            let r = m.rid?;
            copy.master().map(|p| (p, copy.sig(&p.tree).instance(r)))
        });
        if let Some((p, mut before)) = prev {
            // EXDATEs differ by the attendee's own (declined instances):
            // the times and the recurrence rule decide (RFC 6638 §3.2.8).
            let mut after = msg.sig(&m.tree);
            before.exdates.clear();
            after.exdates.clear();
            let rescheduled = before.rescheduled(&after);
            // An instance the attendee excluded keeps the message's answer.
            let excluded = p.rid.is_none() && m.rid.is_some_and(|r| copy_ex.contains(&r));
            if m.rid.is_none() {
                master_rescheduled = rescheduled;
            }
            tree.children.retain(|c| c.kind() != &ICalendarComponentType::VAlarm);
            tree.children.extend(p.tree.children.iter().filter(|c| c.kind() == &ICalendarComponentType::VAlarm).cloned());
            if p.tree.comp.entries.iter().any(|e| kept(&e.name)) {
                tree.comp.entries.retain(|e| !kept(&e.name));
                tree.comp.entries.extend(p.tree.comp.entries.iter().filter(|e| kept(&e.name)).cloned());
            }
            if let Some(mine) = p.tree.attendee(me).filter(|_| !rescheduled && !excluded).map(partstat) {
                for e in tree.attendee_mut(me) {
                    set_partstat(e, &mine);
                }
            }
            if let Some(status) = p.tree.organizer().and_then(|e| param(e, &ICalendarParameterName::ScheduleStatus)).cloned() {
                for e in tree.comp.entries.iter_mut().filter(|e| e.name == ICalendarProperty::Organizer) {
                    set_param(e, ICalendarParameterName::ScheduleStatus, status.clone());
                }
            }
        }
        match out.item_mut(m.rid) {
            Some(slot) => slot.tree = tree,
            None => out.items.push(Item { tree, rid: m.rid }),
        }
    }
    out.refresh();
    if full && !master_rescheduled {
        // Keep the instances the attendee excluded (and declined).
        let msg_ex = msg.master().map(|m| msg.instants(&m.tree, &ICalendarProperty::Exdate)).unwrap_or_default();
        for &r in copy_ex.difference(&msg_ex) {
            let declined = msg.item(Some(r)).is_none_or(|o| o.tree.attendee(me).is_none_or(|e| partstat(e) == "DECLINED"));
            if !declined {
                continue;
            }
            let entry = out.time_entry(ICalendarProperty::Exdate, r);
            out.items.retain(|i| i.rid != Some(r));
            if let Some(master) = out.master_mut() {
                master.tree.comp.entries.push(entry);
            }
        }
    }
    out
}

fn tz_text(t: &Tree) -> Option<String> {
    t.first(&ICalendarProperty::Tzid).and_then(|e| e.values.first()).and_then(|v| v.as_text()).map(|s| s.trim().to_string())
}

/// RFC 5546 §3.2.4: each component is an added instance.
fn add(copy: Cal, msg: &Cal) -> Cal {
    let mut out = copy;
    for m in &msg.items {
        let Some(start) = m.tree.first(&ICalendarProperty::Dtstart).and_then(|e| msg.instant(e)) else { continue };
        if out.item(Some(start)).is_some() {
            continue;
        }
        let mut tree = m.tree.clone();
        tree.set(out.time_entry(ICalendarProperty::RecurrenceId, start));
        let rdate = out.time_entry(ICalendarProperty::Rdate, start);
        if let Some(master) = out.master_mut() {
            master.tree.comp.entries.push(rdate);
        }
        out.items.push(Item { tree, rid: Some(start) });
    }
    out.merge_timezones(msg);
    out
}

/// RFC 5546 §3.2.5: `None` when nothing remains of the copy.
fn cancel(copy: Cal, msg: &Cal) -> Option<Cal> {
    if msg.items.iter().any(|m| m.rid.is_none()) {
        return None;
    }
    let mut out = copy;
    for m in &msg.items {
        let Some(r) = m.rid else { continue };
        let this_and_future = m
            .tree
            .first(&ICalendarProperty::RecurrenceId)
            .is_some_and(|e| e.params.iter().any(|p| p.name == ICalendarParameterName::Range));
        if this_and_future {
            out.items.retain(|i| i.rid.is_none_or(|x| x < r));
            if let Some(ended) = out.master().map(|m| end_series_before(&out, &m.tree, r)) {
                if let Some(master) = out.master_mut() {
                    master.tree = ended;
                }
            }
            continue;
        }
        let had_override = out.item(Some(r)).is_some();
        out.items.retain(|i| i.rid != Some(r));
        let excluded = out.master().is_some_and(|m| out.instants(&m.tree, &ICalendarProperty::Exdate).contains(&r));
        if out.master().is_some() && !excluded && (had_override || out.master_has_instance(r)) {
            let entry = out.time_entry(ICalendarProperty::Exdate, r);
            if let Some(master) = out.master_mut() {
                master.tree.comp.entries.push(entry);
            }
        }
    }
    let rids: Vec<Option<i64>> = out.items.iter().map(|i| i.rid).collect();
    if out.items.is_empty() || out.instances_between(&rids, None, None, 1).is_empty() {
        return None;
    }
    Some(out)
}

/// RANGE=THISANDFUTURE: the series ends before `r` (its RRULEs get an
/// UNTIL just before, RDATEs from `r` on are dropped).
fn end_series_before(cal: &Cal, master: &Tree, r: i64) -> Tree {
    let until_at = DateTime::from_timestamp(r - 1, 0).unwrap_or_default().naive_utc();
    // RFC 5545 §3.3.10: UNTIL is a DATE with a DATE DTSTART, floating with
    // a floating one, UTC otherwise.
    let until = match cal.form() {
        Form::Date => partial(until_at, true, false),
        Form::Floating => partial(until_at, false, false),
        _ => partial(until_at, false, true),
    };
    let mut out = master.clone();
    out.comp.entries.retain(|e| {
        e.name != ICalendarProperty::Rdate
            || e.values.iter().all(|v| match v {
                ICalendarValue::PartialDateTime(p) => cal.value_instant(e, p).is_some_and(|t| t < r),
                _ => true,
            })
    });
    for entry in out.comp.entries.iter_mut().filter(|e| e.name == ICalendarProperty::Rrule) {
        for value in entry.values.iter_mut() {
            if let ICalendarValue::RecurrenceRule(rule) = value {
                rule.count = None;
                rule.until = Some(until.clone());
            }
        }
    }
    out
}

/// RFC 6638 §4.2 with RFC 5546 §3.2.3 (§3.4.3): an attendee's REPLY
/// applied to the organizer's copy: that attendee's PARTSTAT (and
/// DELEGATED-TO) in the master, or in the override its RECURRENCE-ID names
/// — created from the master when the organizer has none for that
/// instance —, and their SCHEDULE-STATUS set to the reply's
/// REQUEST-STATUS codes, or 2.0 without any (§4.2; the 1.x delivery codes
/// of §3.2.9 are for the organizer's own messages).
///
/// Refused: not a REPLY with one ATTENDEE per component, the same in all
/// (`Malformed`); another UID (`UidMismatch`) or ORGANIZER (`Malformed`);
/// an address that is not an ATTENDEE of the copy (`NotAnAttendee`); a
/// component whose SEQUENCE is below the copy's for that instance
/// (`Stale`, RFC 5546 §2.1.5 rule 3). The result passes
/// [`parse_calendar_object`].
///
/// The result changes other attendees' view (their PARTSTAT list); the
/// glue should store it as is, not run it through
/// [`super::organizer_change`] (which would count it as a change by the
/// organizer).
pub fn apply_reply(organizer_copy: &ICalendar, reply: &ICalendar) -> Result<ICalendar, ReplyError> {
    let malformed = |why: &str| ReplyError::Malformed(why.to_string());
    if method_of(reply) != Some(Method::Reply) {
        return Err(malformed("not METHOD:REPLY"));
    }
    let msg = Cal::from_ical(reply).map_err(|e| malformed(&e))?;
    let mut copy = Cal::from_ical(organizer_copy).map_err(|_| malformed("the organizer's copy cannot be read"))?;
    if msg.items.is_empty() {
        return Err(malformed("no component"));
    }
    if msg.items.iter().any(|i| i.tree.comp.uid() != copy.uid()) || copy.uid().is_none() {
        return Err(ReplyError::UidMismatch);
    }
    let mut who: Option<CalAddress> = None;
    for item in &msg.items {
        let mut attendees = item.tree.attendees();
        let (Some(a), None) = (attendees.next().and_then(address_of), attendees.next()) else {
            return Err(malformed("a REPLY component has exactly one ATTENDEE (RFC 5546 §3.2.3)"));
        };
        match &who {
            Some(w) if w != &a => return Err(malformed("the components name different attendees")),
            _ => who = Some(a),
        }
    }
    let who = who.ok_or_else(|| malformed("no ATTENDEE"))?;
    let theirs = organizer_of(&msg).map_err(|_| malformed("more than one ORGANIZER"))?;
    let ours = organizer_of(&copy).map_err(|_| malformed("the organizer's copy has more than one ORGANIZER"))?;
    match (theirs, ours) {
        (Some((a, _)), Some((b, _))) if a == b => {}
        _ => return Err(malformed("the ORGANIZER is not the event's")),
    }
    if !copy.items.iter().any(|i| i.tree.attendee(&who).is_some()) {
        return Err(ReplyError::NotAnAttendee);
    }

    let mut applied = 0;
    for m in &msg.items {
        let Some(answer) = m.tree.attendees().next() else { continue };
        // The components the answer is about.
        let targets: Vec<Option<i64>> = match m.rid {
            None if copy.master().is_some() => vec![None],
            None => copy.items.iter().filter(|i| i.tree.attendee(&who).is_some()).map(|i| i.rid).collect(),
            Some(r) if copy.item(Some(r)).is_some() => vec![Some(r)],
            Some(r) => {
                let Some(master) = copy.master() else { continue };
                if master.tree.attendee(&who).is_none() || !copy.master_has_instance(r) {
                    continue;
                }
                let Some(item) = override_from_master(&copy, r) else { continue };
                copy.items.push(item);
                vec![Some(r)]
            }
        };
        for rid in targets {
            let Some(target) = copy.item_mut(rid) else { continue };
            if m.tree.sequence() < target.tree.sequence() {
                return Err(ReplyError::Stale);
            }
            let codes: Vec<String> = m
                .tree
                .entries(ICalendarProperty::RequestStatus)
                .filter_map(|e| e.values.first().and_then(|v| v.as_text()).map(|t| t.trim().to_string()))
                .filter(|t| !t.is_empty())
                .collect();
            let status = if codes.is_empty() { "2.0".to_string() } else { codes.join(",") };
            for e in target.tree.attendee_mut(&who) {
                set_partstat(e, &partstat(answer));
                if let Some(to) = answer.parameter(&ICalendarParameterName::DelegatedTo) {
                    set_param(e, ICalendarParameterName::DelegatedTo, to.clone());
                }
                set_param(e, ICalendarParameterName::ScheduleStatus, ICalendarParameterValue::Text(status.clone()));
                applied += 1;
            }
        }
    }
    if applied == 0 {
        return Err(malformed("no instance of the reply is in the event"));
    }
    let ical = copy.to_ical();
    parse_calendar_object(write_ical(&ical).as_bytes())
        .map_err(|e| ReplyError::Malformed(format!("the updated copy is not valid: {e}")))?;
    Ok(ical)
}

/// An override of the master's instance `r` (RFC 5545 §3.8.4.4): the
/// master without its recurrence, DTSTART at `r` and the same exact
/// length (as [`crate::ical::recur`] expands it), RECURRENCE-ID `r`.
fn override_from_master(cal: &Cal, r: i64) -> Option<Item> {
    let master = cal.master()?;
    let mut tree = master.tree.clone();
    for name in [ICalendarProperty::Rrule, ICalendarProperty::Rdate, ICalendarProperty::Exdate, ICalendarProperty::Exrule] {
        tree.remove(&name);
    }
    let (_, length) = cal.span(&master.tree);
    tree.set(cal.time_entry(ICalendarProperty::Dtstart, r));
    for name in [ICalendarProperty::Dtend, ICalendarProperty::Due] {
        if tree.has(&name) {
            tree.set(cal.time_entry(name, r + length.unwrap_or(0)));
        }
    }
    let rid: ICalendarEntry = cal.time_entry(ICalendarProperty::RecurrenceId, r);
    tree.comp.entries.push(rid);
    Some(Item { tree, rid: Some(r) })
}

/// RFC 6638 §3.2.10, attendee rule 2: whether an attendee's copy went from
/// `old` to `new` with only the participation of attendees changed (their
/// PARTSTAT, RSVP, DELEGATED-TO, DELEGATED-FROM, SCHEDULE-STATUS), besides
/// DTSTAMP — then its schedule-tag stays. False when either cannot be read.
pub fn only_participation_changed(old: &ICalendar, new: &ICalendar) -> bool {
    let (Ok(old), Ok(new)) = (Cal::from_ical(old), Cal::from_ical(new)) else { return false };
    let strip = |cal: &Cal| -> Vec<(Option<i64>, String)> {
        let mut v: Vec<(Option<i64>, String)> = cal
            .items
            .iter()
            .map(|i| {
                let mut t = i.tree.clone();
                t.remove(&ICalendarProperty::Dtstamp);
                for e in t.comp.entries.iter_mut().filter(|e| e.name == ICalendarProperty::Attendee) {
                    for name in [
                        ICalendarParameterName::Partstat,
                        ICalendarParameterName::Rsvp,
                        ICalendarParameterName::DelegatedTo,
                        ICalendarParameterName::DelegatedFrom,
                        ICalendarParameterName::ScheduleStatus,
                    ] {
                        super::model::remove_param(e, &name);
                    }
                }
                (i.rid, super::model::canonical_tree(&t))
            })
            .collect();
        v.sort();
        v
    };
    strip(&old) == strip(&new)
}
