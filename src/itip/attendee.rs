//! The attendee's side (RFC 6638 §3.2.2): what an attendee may change in
//! their copy (§3.2.2.1), and the REPLY their changes send to the
//! organizer (§3.2.2.3, §3.2.2.4).

use std::collections::BTreeSet;

use calcard::icalendar::{
    ICalendar, ICalendarComponentType, ICalendarEntry, ICalendarParameterName,
    ICalendarParameterValue, ICalendarProperty,
};
use chrono::{DateTime, Utc};

use super::{
    address::CalAddress,
    message::{build, clean, Outgoing},
    model::{
        address_of, agent, canonical, canonical_tree, force_send, is_x_name, param, partstat,
        remove_param, set_param, set_partstat, Agent, Cal, ForceSend, Tree,
    },
    role::{is_scheduled_kind, organizer_of},
    Method, SchedulingError,
};

/// What an attendee's change produces.
#[derive(Debug, Clone)]
pub struct AttendeeOutcome {
    /// The REPLY to the organizer, if one is due.
    pub outgoing: Option<Outgoing>,
    /// The object to store (`None` on a removal): SCHEDULE-FORCE-SEND
    /// removed from the ORGANIZER, its SCHEDULE-STATUS 1.0 (pending) when a
    /// REPLY goes, 2.3 for a SCHEDULE-FORCE-SEND value not recognized
    /// (RFC 6638 §7.2), otherwise the value stored before (§7.3: the
    /// server's).
    pub stored: Option<ICalendar>,
}

fn refuse(why: impl Into<String>) -> SchedulingError {
    SchedulingError::AllowedAttendeeChange(why.into())
}

fn invalid(why: impl Into<String>) -> SchedulingError {
    SchedulingError::ValidSchedulingMessage(why.into())
}

/// An attendee creates (`old` None), modifies, or removes (`new` None)
/// their scheduling object resource (RFC 6638 §3.2.2.2–§3.2.2.4).
/// `attendee` is their address as an ATTENDEE of the object (what
/// [`super::role`] returns); `send_reply_on_delete` is the Schedule-Reply
/// request header (§8.1, true when absent); `now` becomes the REPLY's
/// DTSTAMP.
///
/// - The ORGANIZER's SCHEDULE-AGENT is CLIENT or NONE (or not recognized,
///   §7.1): the server does nothing (§3.2.2.2–§3.2.2.4 tables); the object
///   is stored as sent.
/// - Modify: only the §3.2.2.1 changes are allowed — their own PARTSTAT
///   (and RSVP), TRANSP, PERCENT-COMPLETE, COMPLETED, VALARMs, CALSCALE,
///   PRODID, added EXDATEs and removed overrides (of instances EXDATEd, or
///   that only differed by those changes), CREATED, DTSTAMP,
///   LAST-MODIFIED, SCHEDULE-STATUS of attendees whose SCHEDULE-AGENT is
///   CLIENT, new overrides of existing instances that change only those;
///   this server also lets X- properties and parameters change, and
///   ignores VTIMEZONEs and other top-level components. Anything else is
///   refused with `allowed-attendee-scheduling-object-change` (§3.2.4.4).
///   A changed PARTSTAT (of the master or of an instance, or in a new
///   override) or an added EXDATE (DECLINED for that RECURRENCE-ID) sends
///   a REPLY with just that attendee and those instances (§3.2.2.3).
/// - Create: a REPLY when they have answered (a PARTSTAT other than
///   NEEDS-ACTION), e.g. an iMIP invitation stored by their client.
/// - SCHEDULE-FORCE-SEND=REPLY on the ORGANIZER sends a REPLY of every
///   component (§3.2.7, §7.2).
/// - Remove: a REPLY DECLINED of everything they are in (§3.2.2.4), unless
///   `send_reply_on_delete` is false (§8.1).
pub fn attendee_change(
    old: Option<&ICalendar>,
    new: Option<&ICalendar>,
    attendee: &CalAddress,
    send_reply_on_delete: bool,
    now: DateTime<Utc>,
) -> Result<AttendeeOutcome, SchedulingError> {
    let old = old.map(Cal::from_ical).transpose().map_err(invalid)?;
    let new = new.map(Cal::from_ical).transpose().map_err(invalid)?;
    for cal in old.iter().chain(new.iter()) {
        if !is_scheduled_kind(cal) {
            return Err(invalid("only VEVENT and VTODO objects are scheduled (RFC 5546 §3.2, §3.4)"));
        }
    }
    let old_org = old.as_ref().map(organizer_of).transpose()?.flatten().map(|(a, e)| (a, agent(e)));
    let new_org = new.as_ref().map(organizer_of).transpose()?.flatten().map(|(a, e)| (a, agent(e)));
    if let (Some(o), Some(n)) = (&old, &new) {
        if o.uid() != n.uid() {
            return Err(refuse("the UID changed"));
        }
        match (&old_org, &new_org) {
            (Some((a, _)), Some((b, _))) if a != b => return Err(refuse("the ORGANIZER changed")),
            (Some(_), None) => return Err(refuse("the ORGANIZER was removed")),
            _ => {}
        }
    }
    let Some((organizer, organizer_agent)) = new_org.clone().or(old_org.clone()) else {
        return Err(invalid("no ORGANIZER: not a scheduling object (RFC 6638 §3.1)"));
    };
    let listed = |cal: &Cal| cal.items.iter().any(|i| i.tree.attendee(attendee).is_some());
    if let Some(n) = &new {
        if !listed(n) {
            return Err(refuse(format!("{attendee} is not an ATTENDEE")));
        }
    } else if old.as_ref().is_some_and(|o| !listed(o)) {
        return Err(invalid(format!("{attendee} is not an ATTENDEE")));
    }

    let reply = |cal: &Cal, comps: Vec<Tree>| Outgoing {
        method: Method::Reply,
        originator: attendee.clone(),
        recipient: organizer.clone(),
        message: build(Method::Reply, cal, comps),
    };

    let Some(mut new) = new else {
        // §3.2.2.4, §8.1.
        let Some(old) = old else { return Err(invalid("no object")) };
        if !send_reply_on_delete || organizer_agent != Agent::Server {
            return Ok(AttendeeOutcome { outgoing: None, stored: None });
        }
        let mut comps = Vec::new();
        let in_master = old.master().is_some_and(|m| m.tree.attendee(attendee).is_some());
        for item in &old.items {
            if item.tree.attendee(attendee).is_some() && (item.rid.is_none() || !in_master || !item.tree.is_cancelled()) {
                comps.push(reply_component(&item.tree, None, attendee, "DECLINED", now));
            }
        }
        let outgoing = (!comps.is_empty()).then(|| reply(&old, comps));
        return Ok(AttendeeOutcome { outgoing, stored: None });
    };

    if organizer_agent != Agent::Server {
        // §3.2.2.2–§3.2.2.4: no processing.
        return Ok(AttendeeOutcome { outgoing: None, stored: Some(new.to_ical()) });
    }
    if let Some(old) = &old {
        check_changes(old, &new, attendee).map_err(refuse)?;
        keep_organizer_sequence(old, &mut new);
    }

    // What changed for the organizer (§3.2.2.3).
    let mut comps: Vec<(Option<i64>, Tree)> = Vec::new();
    let mut done: BTreeSet<Option<i64>> = BTreeSet::new();
    let forced = new.items.iter().any(|i| i.tree.organizer().and_then(force_send) == Some(ForceSend::Reply));
    let unknown_force = new.items.iter().any(|i| i.tree.organizer().and_then(force_send) == Some(ForceSend::Unknown));
    for item in &new.items {
        let Some(me) = item.tree.attendee(attendee) else { continue };
        let now_ps = partstat(me);
        let before = old.as_ref().and_then(|o| match o.item(item.rid) {
            Some(i) => Some(i.tree.attendee(attendee).map(partstat)),
            None => o.master().map(|m| m.tree.attendee(attendee).map(partstat)),
        });
        let changed = match before {
            Some(b) => b.as_deref() != Some(now_ps.as_str()),
            None => now_ps != "NEEDS-ACTION",
        };
        if changed || forced {
            comps.push((item.rid, reply_component(&item.tree, None, attendee, &now_ps, now)));
            done.insert(item.rid);
        }
    }
    if let Some(old) = &old {
        let old_ex = old.master().map(|m| old.instants(&m.tree, &ICalendarProperty::Exdate)).unwrap_or_default();
        let new_ex = new.master().map(|m| new.instants(&m.tree, &ICalendarProperty::Exdate)).unwrap_or_default();
        let master = new.master().map(|m| m.tree.clone());
        // An EXDATE added: that instance is declined (§3.2.2.3).
        for &r in new_ex.difference(&old_ex) {
            if done.contains(&Some(r)) {
                continue;
            }
            let rid_entry = new.rid_entry(r, &[old]);
            let comp = match (old.item(Some(r)), &master) {
                (Some(o), _) => reply_component(&o.tree, Some(rid_entry), attendee, "DECLINED", now),
                (None, Some(m)) => {
                    let mut c = reply_component(m, Some(rid_entry), attendee, "DECLINED", now);
                    c.set(new.time_entry(ICalendarProperty::Dtstart, r));
                    c
                }
                (None, None) => continue,
            };
            comps.push((Some(r), comp));
            done.insert(Some(r));
        }
        // An override removed without EXDATE: the instance follows the
        // master again, and so does the attendee's answer.
        for o in old.items.iter().filter(|i| i.rid.is_some()) {
            let (Some(r), Some(m)) = (o.rid, &master) else { continue };
            if new.item(Some(r)).is_some() || new_ex.contains(&r) || done.contains(&Some(r)) {
                continue;
            }
            let now_ps = m.attendee(attendee).map(partstat);
            if let Some(now_ps) = now_ps.filter(|p| Some(p) != o.tree.attendee(attendee).map(partstat).as_ref()) {
                let mut c = reply_component(m, Some(new.rid_entry(r, &[old])), attendee, &now_ps, now);
                c.set(new.time_entry(ICalendarProperty::Dtstart, r));
                comps.push((Some(r), c));
                done.insert(Some(r));
            }
        }
    }
    comps.sort_by_key(|(rid, _)| *rid);
    let outgoing = (!comps.is_empty()).then(|| reply(&new, comps.into_iter().map(|(_, c)| c).collect()));

    // The object to store (§7.2, §7.3).
    let before = old.as_ref().and_then(|o| {
        o.items
            .iter()
            .find_map(|i| i.tree.organizer())
            .and_then(|e| param(e, &ICalendarParameterName::ScheduleStatus))
            .and_then(|v| v.as_text())
            .map(str::to_string)
    });
    let status = if unknown_force {
        Some("2.3".to_string())
    } else if outgoing.is_some() {
        Some("1.0".to_string())
    } else {
        before
    };
    for item in new.items.iter_mut() {
        for entry in item.tree.comp.entries.iter_mut().filter(|e| e.name == ICalendarProperty::Organizer) {
            remove_param(entry, &ICalendarParameterName::ScheduleForceSend);
            match &status {
                Some(s) => set_param(entry, ICalendarParameterName::ScheduleStatus, ICalendarParameterValue::Text(s.clone())),
                None => remove_param(entry, &ICalendarParameterName::ScheduleStatus),
            }
        }
    }
    Ok(AttendeeOutcome { outgoing, stored: Some(new.to_ical()) })
}

/// RFC 6638 §3.2.9, §7.3: records the outcome of delivering the attendee's
/// REPLY on every ORGANIZER property.
pub fn set_organizer_schedule_status(object: &mut ICalendar, status: &str) {
    for comp in object.components.iter_mut() {
        for entry in comp.entries.iter_mut().filter(|e| e.name == ICalendarProperty::Organizer) {
            set_param(entry, ICalendarParameterName::ScheduleStatus, ICalendarParameterValue::Text(status.to_string()));
        }
    }
}

/// One REPLY component (RFC 5546 §3.2.3 / §3.4.3): UID, SEQUENCE (that of
/// the revision answered), ORGANIZER, the attendee's ATTENDEE only with
/// `partstat`, RECURRENCE-ID for an instance, and the times and SUMMARY of
/// `base` for the reader.
pub(crate) fn reply_component(
    base: &Tree,
    rid: Option<ICalendarEntry>,
    who: &CalAddress,
    partstat_value: &str,
    now: DateTime<Utc>,
) -> Tree {
    let mut comp = Tree::new(base.kind().clone());
    for entry in &base.comp.entries {
        let keep = match entry.name {
            ICalendarProperty::Uid
            | ICalendarProperty::Organizer
            | ICalendarProperty::Sequence
            | ICalendarProperty::Summary
            | ICalendarProperty::Dtstart
            | ICalendarProperty::Dtend
            | ICalendarProperty::Duration
            | ICalendarProperty::Due => true,
            ICalendarProperty::RecurrenceId => rid.is_none(),
            _ => false,
        };
        if keep {
            comp.comp.entries.push(entry.clone());
        }
    }
    let mut me = base
        .attendee(who)
        .cloned()
        .unwrap_or_else(|| ICalendarEntry::new(ICalendarProperty::Attendee).with_value(calcard::icalendar::ICalendarValue::Uri(calcard::icalendar::Uri::Location(who.as_str().to_string()))));
    set_partstat(&mut me, partstat_value);
    remove_param(&mut me, &ICalendarParameterName::Rsvp);
    comp.comp.entries.push(me);
    if let Some(rid) = rid {
        comp.remove(&ICalendarProperty::Dtend);
        comp.remove(&ICalendarProperty::Duration);
        comp.remove(&ICalendarProperty::Due);
        comp.set(rid);
    }
    clean(&mut comp, Method::Reply, now);
    comp
}

// ---- §3.2.2.1 ----

/// Properties an attendee may add, change or remove (§3.2.2.1 items 2, 3,
/// 4, 9), and X- properties.
fn attendee_owned(name: &ICalendarProperty) -> bool {
    is_x_name(name)
        || matches!(
            name,
            ICalendarProperty::Transp
                | ICalendarProperty::PercentComplete
                | ICalendarProperty::Completed
                | ICalendarProperty::Created
                | ICalendarProperty::Dtstamp
                | ICalendarProperty::LastModified
        )
}

/// Checks that going from `old` to `new` makes only the changes of
/// RFC 6638 §3.2.2.1; the error names what else changed.
pub(crate) fn check_changes(old: &Cal, new: &Cal, me: &CalAddress) -> Result<(), String> {
    // Items 6, 7: CALSCALE and PRODID; X- properties too.
    let root = |c: &Cal| -> Vec<String> {
        let mut v: Vec<String> = c
            .root
            .entries
            .iter()
            .filter(|e| !matches!(e.name, ICalendarProperty::Calscale | ICalendarProperty::Prodid) && !is_x_name(&e.name))
            .map(canonical)
            .collect();
        v.sort();
        v
    };
    if let Some(what) = first_difference(&root(old), &root(new)) {
        return Err(format!("VCALENDAR {what} changed"));
    }
    let new_ex = new.master().map(|m| new.instants(&m.tree, &ICalendarProperty::Exdate)).unwrap_or_default();
    for o in &old.items {
        match (new.item(o.rid), o.rid) {
            (Some(n), _) => compare(old, &o.tree, new, &n.tree, me, None)?,
            (None, None) => return Err("the master component was removed".into()),
            // Item 8: an override removed with its instance EXDATEd, or one
            // that differed from the master's instance only in what the
            // attendee may change.
            (None, Some(r)) => {
                if new_ex.contains(&r) {
                    continue;
                }
                let Some(m) = new.master() else {
                    return Err("an overridden instance was removed".into());
                };
                compare(new, &m.tree, old, &o.tree, me, Some(r))
                    .map_err(|e| format!("an overridden instance was removed ({e})"))?;
            }
        }
    }
    for n in &new.items {
        if old.item(n.rid).is_some() {
            continue;
        }
        // Item 11: a new override of an existing instance.
        let (Some(r), Some(m)) = (n.rid, old.master()) else {
            return Err("a component was added".into());
        };
        if !old.master_has_instance(r) {
            return Err("an override of an instance that does not exist was added".into());
        }
        compare(old, &m.tree, new, &n.tree, me, Some(r)).map_err(|e| format!("new override: {e}"))?;
    }
    Ok(())
}

/// Compares component `b` (of `bc`) with `a` (of `ac`); with `instance`,
/// `a` is the master and `b` an override of its instance at that
/// RECURRENCE-ID.
fn compare(ac: &Cal, a: &Tree, bc: &Cal, b: &Tree, me: &CalAddress, instance: Option<i64>) -> Result<(), String> {
    let (sa, sb) = (ac.sig(a), bc.sig(b));
    match instance {
        Some(r) => {
            if sb.start != Some(r) || sa.length != sb.length {
                return Err("the instance's time changed".into());
            }
        }
        None => {
            if sa.start != sb.start || sa.length != sb.length {
                return Err("DTSTART, DTEND, DURATION or DUE changed".into());
            }
            if sa.recurrence != sb.recurrence {
                return Err("RRULE or RDATE changed".into());
            }
            // Item 8: EXDATEs may only be added.
            if !sa.exdates.is_subset(&sb.exdates) {
                return Err("an EXDATE was removed".into());
            }
        }
    }
    let props = |t: &Tree| -> Vec<String> {
        let mut v: Vec<String> = t
            .comp
            .entries
            .iter()
            .filter(|e| compared_as_text(&e.name, instance.is_some()))
            .map(canonical)
            .collect();
        // Item 5: VALARMs are the attendee's.
        v.extend(t.children.iter().filter(|c| c.kind() != &ICalendarComponentType::VAlarm).map(canonical_tree));
        v.extend(t.organizer().map(organizer_line));
        v.extend(t.attendees().map(|e| attendee_line(e, me)));
        v.sort();
        v
    };
    match first_difference(&props(a), &props(b)) {
        Some(what) => Err(format!("{what} changed")),
        None => Ok(()),
    }
}

/// SEQUENCE is the organizer's (RFC 5546 §2.1.4: only the organizer
/// increments it; a REPLY repeats it). Some clients raise it with every
/// save, an attendee's answer included: that is not refused, the
/// organizer's value is kept, so the REPLY and the stored copy carry it
/// and later messages are ordered against it.
fn keep_organizer_sequence(old: &Cal, new: &mut Cal) {
    let master = old.master().map(|m| m.tree.sequence());
    for item in &mut new.items {
        let seq = old.item(item.rid).map(|i| i.tree.sequence()).or(master);
        if let Some(seq) = seq {
            if item.tree.sequence() != seq {
                item.tree.set_sequence(seq);
            }
        }
    }
}

/// Whether [`compare`] compares a property as text: not the attendee's
/// own (§3.2.2.1), not ATTENDEE and ORGANIZER (compared apart), not the
/// times, recurrence and RECURRENCE-ID (compared as instants: their form
/// may change), not SEQUENCE (the organizer's, put back by
/// [`keep_organizer_sequence`]).
fn compared_as_text(name: &ICalendarProperty, _instance: bool) -> bool {
    if attendee_owned(name) || *name == ICalendarProperty::Sequence {
        return false;
    }
    !matches!(
        name,
        ICalendarProperty::Attendee
            | ICalendarProperty::Organizer
            | ICalendarProperty::Dtstart
            | ICalendarProperty::Dtend
            | ICalendarProperty::Duration
            | ICalendarProperty::Due
            | ICalendarProperty::Rrule
            | ICalendarProperty::Rdate
            | ICalendarProperty::Exdate
            | ICalendarProperty::RecurrenceId
    )
}

/// The ORGANIZER without the server's parameters nor X- ones.
fn organizer_line(e: &ICalendarEntry) -> String {
    let mut e = e.clone();
    remove_param(&mut e, &ICalendarParameterName::ScheduleStatus);
    remove_param(&mut e, &ICalendarParameterName::ScheduleForceSend);
    e.params.retain(|p| !is_x_param(&p.name));
    canonical(&e)
}

fn is_x_param(name: &ICalendarParameterName) -> bool {
    matches!(name, ICalendarParameterName::Other(n) if n.len() > 2 && n[..2].eq_ignore_ascii_case("X-"))
}

/// An ATTENDEE without what the attendee may change: their own PARTSTAT
/// and RSVP (item 1), SCHEDULE-STATUS where SCHEDULE-AGENT is CLIENT (item
/// 10), X- parameters; their own SCHEDULE-STATUS (the server's).
fn attendee_line(e: &ICalendarEntry, me: &CalAddress) -> String {
    let mut e = e.clone();
    let mine = address_of(&e).is_some_and(|a| &a == me);
    if mine {
        remove_param(&mut e, &ICalendarParameterName::Partstat);
        remove_param(&mut e, &ICalendarParameterName::Rsvp);
        remove_param(&mut e, &ICalendarParameterName::ScheduleStatus);
    } else if agent(&e) == Agent::Client {
        remove_param(&mut e, &ICalendarParameterName::ScheduleStatus);
    }
    e.params.retain(|p| !is_x_param(&p.name));
    canonical(&e)
}

/// The property name of the first line in one list and not the other.
fn first_difference(a: &[String], b: &[String]) -> Option<String> {
    if a == b {
        return None;
    }
    let Some(only) = a.iter().find(|l| !b.contains(l)).or_else(|| b.iter().find(|l| !a.contains(l))) else {
        return Some("the number of some property".into());
    };
    let name_end = only.find([';', ':', '\n']).unwrap_or(only.len());
    let name = &only[..name_end];
    Some(if name == "BEGIN" {
        only.split(['\n']).next().unwrap_or("BEGIN").to_string()
    } else {
        name.to_string()
    })
}
