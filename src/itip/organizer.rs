//! The organizer's side (RFC 6638 §3.2.1): creating, modifying and
//! removing an organizer scheduling object resource sends REQUEST and
//! CANCEL messages to the attendees, per instance (§3.2.6).

use std::{
    cell::RefCell,
    collections::{BTreeSet, HashMap, HashSet},
};

use calcard::icalendar::{
    ICalendar, ICalendarComponentType, ICalendarEntry, ICalendarParameterName,
    ICalendarParameterValue, ICalendarProperty, ICalendarValue, Uri,
};
use chrono::{DateTime, Utc};

use super::{
    address::{AddressSet, CalAddress},
    message::{build, clean, Outgoing},
    model::{
        address_of, agent, force_send, param, partstat, remove_param, set_param, set_partstat,
        Agent, Cal, ForceSend, Sig, Tree,
    },
    role::{is_scheduled_kind, organizer_of},
    Method, SchedulingError,
};

/// What an organizer's change produces.
#[derive(Debug, Clone)]
pub struct OrganizerOutcome {
    /// One message per recipient and method, in the order to deliver them
    /// (a CANCEL before a REQUEST to the same recipient).
    pub outgoing: Vec<Outgoing>,
    /// The object to store: SCHEDULE-FORCE-SEND removed (RFC 6638 §7.2),
    /// SCHEDULE-STATUS 1.0 (pending, §3.2.9) on the ATTENDEE properties of
    /// every recipient and 2.3 where a SCHEDULE-FORCE-SEND value was not
    /// recognized (§7.2); on the other attendees the server scheduled
    /// with, the SCHEDULE-STATUS stored before, whatever the client sent
    /// (§7.3: the server's); SEQUENCE and PARTSTAT as described at
    /// [`organizer_change`]. On a removal, the object as cancelled
    /// (STATUS:CANCELLED, SEQUENCE + 1), for information.
    pub stored: ICalendar,
}

fn refuse(why: impl Into<String>) -> SchedulingError {
    SchedulingError::AllowedOrganizerChange(why.into())
}

fn invalid(why: impl Into<String>) -> SchedulingError {
    SchedulingError::ValidSchedulingMessage(why.into())
}

/// An organizer creates (`old` None), modifies, or removes (`new` None) a
/// scheduling object resource (RFC 6638 §3.2.1.1–§3.2.1.3, invoked by PUT,
/// DELETE, COPY and MOVE as §3.2.3 says). `owner` is the owner's
/// calendar-user-address-set; `now` becomes the messages' DTSTAMP
/// (§3.2.5).
///
/// Messages:
/// - Create: a REQUEST to every ATTENDEE whose SCHEDULE-AGENT is SERVER or
///   absent (§3.2.1.1), never to one of the owner's addresses (§3.2.1).
/// - Modify: the §3.2.1.2 table, per attendee and per instance (§3.2.6):
///   each attendee is sent only the instances that list them — the
///   components listing them, the master carrying an EXDATE for each
///   override that does not (or that is cancelled), as RFC 5546 §3.2.2
///   allows. An attendee who no longer appears anywhere (or whose
///   SCHEDULE-AGENT became CLIENT or NONE) gets a CANCEL; one removed from
///   an instance, or whose instance was cancelled (EXDATE added, override
///   with STATUS:CANCELLED), a CANCEL of that RECURRENCE-ID; a new or
///   changed override a REQUEST with that override only; a change of the
///   master (or of what the attendee sees of it) a REQUEST of everything
///   they see. A REQUEST goes only when something significant for that
///   attendee changed (RFC 5546 §2.1.4; see `model::Sig`: times,
///   recurrence, STATUS, SUMMARY, LOCATION, DESCRIPTION, the attendee list,
///   the organizer…, not alarms, DTSTAMP, LAST-MODIFIED, SEQUENCE,
///   TRANSP or SCHEDULE-* parameters), or when SCHEDULE-FORCE-SEND=REQUEST
///   is on their ATTENDEE (§3.2.7, §7.2).
/// - Remove: a CANCEL (STATUS:CANCELLED, SEQUENCE + 1, RFC 5546 §3.2.5) to
///   every attendee the server scheduled with (§3.2.1.3).
///
/// Messages carry no SCHEDULE-AGENT, SCHEDULE-STATUS or
/// SCHEDULE-FORCE-SEND (§7), no VALARM, and DTSTAMP = `now`.
///
/// SEQUENCE (RFC 5546 §2.1.4, RFC 6638 §3.2.5): the client's values are
/// kept, except that a component with a significant change whose SEQUENCE
/// is not above the old object's highest gets that highest + 1 — in the
/// messages and in the stored object — so that attendees never see a
/// change as stale (clients do forget to increment). A CANCEL carries a
/// SEQUENCE above the old object's.
///
/// PARTSTAT: a PARTSTAT other than NEEDS-ACTION set on another attendee
/// the server schedules with is refused with
/// `allowed-organizer-scheduling-object-change` (§3.2.1, §3.2.4.3) —
/// unless it is the value already stored for that attendee (a client
/// writing back the replies it was shown). When a component is
/// rescheduled (DTSTART, DTEND, DURATION, DUE, RRULE, RDATE changed, or an
/// EXDATE removed), those attendees' PARTSTAT is reset to NEEDS-ACTION
/// (§3.2.8).
///
/// A SCHEDULE-AGENT of CLIENT or NONE on the ORGANIZER itself means the
/// client schedules: nothing is sent.
pub fn organizer_change(
    old: Option<&ICalendar>,
    new: Option<&ICalendar>,
    owner: &AddressSet,
    now: DateTime<Utc>,
) -> Result<OrganizerOutcome, SchedulingError> {
    let old = old.map(Cal::from_ical).transpose().map_err(invalid)?;
    let new = new.map(Cal::from_ical).transpose().map_err(invalid)?;
    let mut organizer = None;
    for cal in old.iter().chain(new.iter()) {
        if !is_scheduled_kind(cal) {
            return Err(invalid("only VEVENT and VTODO objects are scheduled (RFC 5546 §3.2, §3.4)"));
        }
        match organizer_of(cal)? {
            Some((address, entry)) if owner.contains(&address) => {
                organizer = Some((address, agent(entry)));
            }
            _ => return Err(refuse("the ORGANIZER is not one of the owner's addresses (RFC 6638 §3.1)")),
        }
    }
    let Some((originator, organizer_agent)) = organizer else {
        return Err(invalid("no object"));
    };
    if let (Some(o), Some(n)) = (&old, &new) {
        if o.uid() != n.uid() {
            return Err(refuse("the UID changed"));
        }
    }
    let ctx = Ctx::new(owner, originator, now);

    let Some(mut new) = new else {
        // §3.2.1.3: removal.
        let Some(mut old) = old else {
            return Err(invalid("no object"));
        };
        let seq = old.max_sequence() + 1;
        let mut outgoing = Vec::new();
        if organizer_agent == Agent::Server {
            let snap = Snap::new(&old);
            for who in ctx.attendees(&old, None) {
                if !view(&snap, &who).is_empty() {
                    outgoing.push(ctx.cancel_all(&who, &old, seq, true));
                }
            }
        }
        for item in old.items.iter_mut() {
            item.tree.set_cancelled();
            item.tree.set_sequence(seq);
        }
        return Ok(OrganizerOutcome { outgoing, stored: old.to_ical() });
    };

    if organizer_agent != Agent::Server {
        // The client schedules (§7.1): it records the replies it gets, and
        // SCHEDULE-STATUS is its own (§7.3); only SCHEDULE-FORCE-SEND is
        // never stored (§7.2).
        for item in new.items.iter_mut() {
            for entry in item.tree.comp.entries.iter_mut() {
                remove_param(entry, &ICalendarParameterName::ScheduleForceSend);
            }
        }
        return Ok(OrganizerOutcome { outgoing: Vec::new(), stored: new.to_ical() });
    }

    // §3.2.1: PARTSTAT of the other attendees.
    let old_table = old.as_ref().map(attendee_table);
    for item in &new.items {
        for entry in item.tree.attendees() {
            let Some(who) = address_of(entry) else { continue };
            if owner.contains(&who) || agent(entry) != Agent::Server {
                continue;
            }
            let value = partstat(entry);
            if value == "NEEDS-ACTION" {
                continue;
            }
            // What the server stored for them in that instance (or in the
            // series, for an instance they were not listed in).
            let before = old_table.as_ref().and_then(|t| {
                t.get(&item.rid)
                    .and_then(|m| m.get(&who))
                    .or_else(|| t.get(&None).and_then(|m| m.get(&who)))
                    .map(|e| partstat(e))
            });
            if before.as_deref() != Some(value.as_str()) {
                return Err(refuse(format!(
                    "PARTSTAT={value} on attendee {who}: only the attendee sets it (RFC 6638 §3.2.1)"
                )));
            }
        }
    }

    if let Some(old) = &old {
        // §3.2.8: a reschedule resets the attendees' PARTSTAT.
        let old_master = old.master().map(|m| old.sig(&m.tree));
        for i in 0..new.items.len() {
            let rid = new.items[i].rid;
            let before = match (old.item(rid), rid, &old_master) {
                (Some(o), _, _) => Some(old.sig(&o.tree)),
                (None, Some(r), Some(m)) => Some(m.instance(r)),
                _ => None,
            };
            let now_sig = new.sig(&new.items[i].tree);
            if before.is_some_and(|b| b.rescheduled(&now_sig)) {
                for entry in new.items[i].tree.comp.entries.iter_mut() {
                    if entry.name != ICalendarProperty::Attendee || agent(entry) != Agent::Server {
                        continue;
                    }
                    if address_of(entry).is_some_and(|a| !owner.contains(&a)) {
                        set_partstat(entry, "NEEDS-ACTION");
                    }
                }
            }
        }
        bump_sequences(old, &mut new);
    }

    // §3.2.7, §7.2: SCHEDULE-FORCE-SEND.
    let mut forced: HashSet<CalAddress> = HashSet::new();
    let mut unknown_force: HashSet<CalAddress> = HashSet::new();
    for entry in new.items.iter().flat_map(|i| i.tree.attendees()) {
        let Some(who) = address_of(entry) else { continue };
        match force_send(entry) {
            Some(ForceSend::Request) if agent(entry) == Agent::Server => {
                forced.insert(who);
            }
            Some(ForceSend::Unknown) => {
                unknown_force.insert(who);
            }
            _ => {}
        }
    }
    let mut outgoing = Vec::new();
    {
        let new_snap = Snap::new(&new);
        let old_snap = old.as_ref().map(Snap::new);
        for who in ctx.attendees(&new, old.as_ref()) {
            let forced = forced.contains(&who);
            outgoing.extend(ctx.plan(&who, old_snap.as_ref(), &new_snap, forced));
        }
    }

    // The object to store (§7.2, §7.3).
    let recipients: HashSet<CalAddress> = outgoing.iter().map(|o| o.recipient.clone()).collect();
    let anywhere: HashMap<CalAddress, &ICalendarEntry> = old_table
        .iter()
        .flat_map(|t| t.values())
        .flat_map(|m| m.iter())
        .map(|(a, e)| (a.clone(), *e))
        .collect();
    for i in 0..new.items.len() {
        let rid = new.items[i].rid;
        for entry in new.items[i].tree.comp.entries.iter_mut() {
            if !matches!(entry.name, ICalendarProperty::Attendee | ICalendarProperty::Organizer) {
                continue;
            }
            remove_param(entry, &ICalendarParameterName::ScheduleForceSend);
            if entry.name != ICalendarProperty::Attendee {
                continue;
            }
            let Some(who) = address_of(entry) else { continue };
            if owner.contains(&who) || agent(entry) != Agent::Server {
                continue;
            }
            let status = if unknown_force.contains(&who) {
                Some("2.3".to_string())
            } else if recipients.contains(&who) {
                Some("1.0".to_string())
            } else {
                // Not sent this time: what the server stored before.
                old_table
                    .as_ref()
                    .and_then(|t| t.get(&rid).and_then(|m| m.get(&who)))
                    .or_else(|| anywhere.get(&who))
                    .and_then(|e| param(e, &ICalendarParameterName::ScheduleStatus))
                    .and_then(|v| v.as_text())
                    .map(str::to_string)
            };
            match status {
                Some(s) => set_param(entry, ICalendarParameterName::ScheduleStatus, ICalendarParameterValue::Text(s)),
                None => remove_param(entry, &ICalendarParameterName::ScheduleStatus),
            }
        }
    }
    Ok(OrganizerOutcome { outgoing, stored: new.to_ical() })
}

/// Per component (by RECURRENCE-ID), each attendee's first ATTENDEE
/// property.
fn attendee_table(cal: &Cal) -> HashMap<Option<i64>, HashMap<CalAddress, &ICalendarEntry>> {
    cal.items
        .iter()
        .map(|item| {
            let mut m: HashMap<CalAddress, &ICalendarEntry> = HashMap::new();
            for e in item.tree.attendees() {
                if let Some(a) = address_of(e) {
                    m.entry(a).or_insert(e);
                }
            }
            (item.rid, m)
        })
        .collect()
}

/// RFC 6638 §3.2.9, §7.3: records the outcome of delivering to
/// `recipient` (1.2 delivered, 1.1 sent, 3.7 unknown calendar user, 3.8
/// no privilege, 5.x failures) on every ATTENDEE property of that address.
pub fn set_schedule_status(object: &mut ICalendar, recipient: &CalAddress, status: &str) {
    for comp in object.components.iter_mut() {
        for entry in comp.entries.iter_mut() {
            if entry.name == ICalendarProperty::Attendee && address_of(entry).is_some_and(|a| &a == recipient) {
                set_param(
                    entry,
                    ICalendarParameterName::ScheduleStatus,
                    ICalendarParameterValue::Text(status.to_string()),
                );
            }
        }
    }
}

/// RFC 5546 §2.1.4 through RFC 6638 §3.2.5: every component of `new` with
/// a significant change and a SEQUENCE not above `old`'s highest gets
/// that highest + 1. A new override is compared with the old master's
/// instance; an override removed (the instance reverts to the master, or
/// is cancelled) counts as a change of the master.
fn bump_sequences(old: &Cal, new: &mut Cal) {
    let base = old.max_sequence();
    let old_master = old.master().map(|m| old.sig(&m.tree));
    let new_master = new.master().map(|m| new.sig(&m.tree));
    let mut changed_rids: Vec<Option<i64>> = Vec::new();
    for item in &new.items {
        let now_sig = new.sig(&item.tree);
        let changed = match (old.item(item.rid), item.rid, &old_master) {
            (Some(o), _, _) => old.sig(&o.tree) != now_sig,
            (None, Some(r), Some(m)) => !m.is_instance(r, &now_sig),
            _ => true,
        };
        if changed {
            changed_rids.push(item.rid);
        }
    }
    for item in &old.items {
        let Some(r) = item.rid else { continue };
        if new.item(Some(r)).is_none()
            && new_master.as_ref().is_some_and(|m| !m.is_instance(r, &old.sig(&item.tree)))
            && !changed_rids.contains(&None)
        {
            changed_rids.push(None);
        }
    }
    for item in new.items.iter_mut() {
        if changed_rids.contains(&item.rid) && item.tree.sequence() <= base {
            item.tree.set_sequence(base + 1);
        }
    }
}

/// What one attendee sees of an organizer's object (RFC 6638 §3.2.6).
#[derive(Debug, Default)]
struct View {
    /// The master lists them (and is not cancelled).
    master: bool,
    /// Overrides not shown to them, written as EXDATEs in their master.
    hidden: Vec<i64>,
    /// The view master's EXDATEs: the master's own and `hidden`.
    exdates: BTreeSet<i64>,
    /// Overrides that list them and are not cancelled.
    overrides: Vec<i64>,
}

impl View {
    fn is_empty(&self) -> bool {
        !self.master && self.overrides.is_empty()
    }
}

/// A calendar with what planning reads for every attendee, computed once:
/// the components' significant content, who each lists (with
/// SCHEDULE-AGENT SERVER), the master's EXDATEs.
struct Snap<'a> {
    cal: &'a Cal,
    sigs: HashMap<Option<i64>, Sig>,
    server: HashMap<Option<i64>, HashSet<CalAddress>>,
    exdates: BTreeSet<i64>,
}

impl<'a> Snap<'a> {
    fn new(cal: &'a Cal) -> Snap<'a> {
        let mut sigs = HashMap::new();
        let mut server = HashMap::new();
        for item in &cal.items {
            sigs.insert(item.rid, cal.sig(&item.tree));
            let listed: HashSet<CalAddress> = item
                .tree
                .attendees()
                .filter(|e| agent(e) == Agent::Server)
                .filter_map(address_of)
                .collect();
            server.insert(item.rid, listed);
        }
        let exdates = cal.master().map(|m| cal.instants(&m.tree, &ICalendarProperty::Exdate)).unwrap_or_default();
        Snap { cal, sigs, server, exdates }
    }

    fn lists(&self, rid: Option<i64>, who: &CalAddress) -> bool {
        self.server.get(&rid).is_some_and(|s| s.contains(who))
    }

    fn sig(&self, rid: Option<i64>) -> Option<&Sig> {
        self.sigs.get(&rid)
    }
}

fn view(snap: &Snap<'_>, who: &CalAddress) -> View {
    let mut v = View::default();
    let master = snap.cal.master();
    if master.is_some_and(|m| m.tree.is_cancelled()) {
        return v;
    }
    v.master = master.is_some() && snap.lists(None, who);
    for item in &snap.cal.items {
        let Some(rid) = item.rid else { continue };
        if snap.lists(Some(rid), who) && !item.tree.is_cancelled() {
            v.overrides.push(rid);
        } else if v.master {
            v.hidden.push(rid);
        }
    }
    if v.master {
        v.exdates = snap.exdates.clone();
        v.exdates.extend(v.hidden.iter().copied());
    }
    v
}

struct Ctx<'a> {
    owner: &'a AddressSet,
    originator: CalAddress,
    now: DateTime<Utc>,
    /// REQUESTs built, by what they hold: attendees who see the same
    /// instances get copies of one message.
    requests: RefCell<HashMap<RequestKey, ICalendar>>,
}

/// What a REQUEST holds: the calendar it is cut from, whether the master
/// is in it, the overrides shown as EXDATEs, the overrides in it.
type RequestKey = (usize, bool, Vec<i64>, Vec<i64>);

impl<'a> Ctx<'a> {
    fn new(owner: &'a AddressSet, originator: CalAddress, now: DateTime<Utc>) -> Ctx<'a> {
        Ctx { owner, originator, now, requests: RefCell::new(HashMap::new()) }
    }
}

impl Ctx<'_> {
    /// The attendees of `cal` (and `other`) the server may schedule with:
    /// not the owner's addresses, in order of first appearance.
    fn attendees(&self, cal: &Cal, other: Option<&Cal>) -> Vec<CalAddress> {
        let mut out: Vec<CalAddress> = Vec::new();
        let mut seen: HashSet<CalAddress> = HashSet::new();
        for c in std::iter::once(cal).chain(other) {
            for item in &c.items {
                for who in item.tree.attendees().filter_map(address_of) {
                    if !self.owner.contains(&who) && seen.insert(who.clone()) {
                        out.push(who);
                    }
                }
            }
        }
        out
    }

    fn outgoing(&self, method: Method, who: &CalAddress, message: ICalendar) -> Outgoing {
        Outgoing { method, originator: self.originator.clone(), recipient: who.clone(), message }
    }

    /// The §3.2.1.2 table for one attendee, per instance.
    fn plan(&self, who: &CalAddress, old: Option<&Snap<'_>>, new: &Snap<'_>, forced: bool) -> Vec<Outgoing> {
        let nv = view(new, who);
        let ov = old.map(|o| view(o, who)).unwrap_or_default();
        let Some(old) = old.filter(|_| !ov.is_empty()) else {
            // Not invited before (or a create): invited now?
            return if nv.is_empty() { Vec::new() } else { vec![self.request(who, new.cal, &nv, None)] };
        };
        let (oc, nc) = (old.cal, new.cal);
        let seq = nc.max_sequence().max(oc.max_sequence() + 1);
        if nv.is_empty() {
            // Removed from everything, or everything they saw cancelled.
            let listing: Vec<&Tree> = nc.items.iter().map(|i| &i.tree).filter(|t| t.attendee(who).is_some()).collect();
            let cancelled = nc.master().is_some_and(|m| m.tree.is_cancelled())
                || (!listing.is_empty() && listing.iter().all(|t| t.is_cancelled()));
            return vec![self.cancel_all(who, oc, seq, cancelled)];
        }
        let mut out = Vec::new();
        if ov.master && !nv.master {
            // Removed from the series but kept in some instances: cancel
            // their copy, then invite them to those instances.
            out.push(self.cancel_all(who, oc, seq, false));
            out.push(self.request(who, nc, &nv, None));
            return out;
        }
        let mut full = forced || (!ov.master && nv.master);
        let mut cancel: Vec<i64> = Vec::new();
        let mut changed: Vec<i64> = Vec::new();
        if nv.master && ov.master {
            // Reinstated instances are a change; added EXDATEs, cancellations.
            if !ov.exdates.is_subset(&nv.exdates) {
                full = true;
            }
            cancel.extend(nv.exdates.difference(&ov.exdates).copied());
            match (old.sig(None), new.sig(None)) {
                (Some(os), Some(ns)) if os.same_but_exdates(ns) => {}
                _ => full = true,
            }
        }
        for &r in &ov.overrides {
            if nv.overrides.contains(&r) {
                continue;
            }
            if nv.master && !nv.exdates.contains(&r) {
                // The override is gone: the instance is the master's again.
                full = true;
            } else if !cancel.contains(&r) {
                cancel.push(r);
            }
        }
        let old_master = old.sig(None).filter(|_| ov.master);
        for &r in &nv.overrides {
            let Some(now_sig) = new.sig(Some(r)) else { continue };
            let differs = if ov.overrides.contains(&r) {
                old.sig(Some(r)).is_none_or(|o| o != now_sig)
            } else {
                match old_master {
                    Some(m) if !ov.exdates.contains(&r) => !m.is_instance(r, now_sig),
                    _ => true,
                }
            };
            if differs {
                changed.push(r);
            }
        }
        if full {
            out.push(self.request(who, nc, &nv, None));
            return out;
        }
        if !cancel.is_empty() {
            cancel.sort_unstable();
            out.push(self.cancel_instances(who, oc, nc, &cancel, seq));
        }
        if !changed.is_empty() {
            out.push(self.request(who, nc, &nv, Some(&changed)));
        }
        out
    }

    /// A REQUEST of what `who` sees (`only`: just those overrides).
    fn request(&self, who: &CalAddress, cal: &Cal, v: &View, only: Option<&[i64]>) -> Outgoing {
        let with_master = only.is_none() && v.master;
        let shown: Vec<i64> = v.overrides.iter().copied().filter(|r| only.is_none_or(|o| o.contains(r))).collect();
        let key: RequestKey = (
            cal as *const Cal as usize,
            with_master,
            if with_master { v.hidden.clone() } else { Vec::new() },
            shown,
        );
        if let Some(message) = self.requests.borrow().get(&key) {
            return self.outgoing(Method::Request, who, message.clone());
        }
        let mut comps: Vec<Tree> = Vec::new();
        if with_master {
            if let Some(m) = cal.master() {
                let mut tree = m.tree.clone();
                for &r in &v.hidden {
                    tree.comp.entries.push(cal.time_entry(ICalendarProperty::Exdate, r));
                }
                comps.push(tree);
            }
        }
        for &r in &v.overrides {
            if only.is_some_and(|o| !o.contains(&r)) {
                continue;
            }
            if let Some(item) = cal.item(Some(r)) {
                comps.push(item.tree.clone());
            }
        }
        for c in comps.iter_mut() {
            clean(c, Method::Request, self.now);
        }
        let message = build(Method::Request, cal, comps);
        self.requests.borrow_mut().insert(key, message.clone());
        self.outgoing(Method::Request, who, message)
    }

    /// A CANCEL of the whole event for `who` (RFC 5546 §3.2.5): STATUS:CANCELLED
    /// when the event is cancelled, none when only they are removed.
    fn cancel_all(&self, who: &CalAddress, old: &Cal, seq: i64, cancelled: bool) -> Outgoing {
        let base = old
            .master()
            .filter(|m| m.tree.attendee(who).is_some())
            .or_else(|| old.items.iter().find(|i| i.tree.attendee(who).is_some()))
            .or(old.master())
            .or(old.items.first());
        let mut comp = base.map(|b| self.cancel_component(who, &b.tree, Some(old), None, seq, cancelled)).unwrap_or_else(|| Tree::new(ICalendarComponentType::VEvent));
        if base.is_some_and(|b| b.rid.is_some()) {
            // The attendee saw only overrides: the cancel names the event.
            comp.remove(&ICalendarProperty::RecurrenceId);
        }
        self.outgoing(Method::Cancel, who, build(Method::Cancel, old, vec![comp]))
    }

    /// A CANCEL of some instances for `who`: STATUS:CANCELLED for an
    /// instance the organizer cancelled, none where only they are removed.
    fn cancel_instances(&self, who: &CalAddress, old: &Cal, new: &Cal, rids: &[i64], seq: i64) -> Outgoing {
        let new_exdates = new.master().map(|m| new.instants(&m.tree, &ICalendarProperty::Exdate)).unwrap_or_default();
        let mut comps = Vec::new();
        for &r in rids {
            let cancelled = new_exdates.contains(&r) || new.item(Some(r)).is_none_or(|i| i.tree.is_cancelled());
            let rid_entry = new.rid_entry(r, &[old]);
            let comp = match new.item(Some(r)).or(old.item(Some(r))) {
                Some(item) => self.cancel_component(who, &item.tree, Some(old), Some(rid_entry), seq, cancelled),
                None => {
                    let Some(master) = new.master().or(old.master()) else { continue };
                    let mut c = self.cancel_component(who, &master.tree, Some(old), Some(rid_entry), seq, cancelled);
                    c.remove(&ICalendarProperty::Dtend);
                    c.remove(&ICalendarProperty::Duration);
                    c.remove(&ICalendarProperty::Due);
                    c.set(new.time_entry(ICalendarProperty::Dtstart, r));
                    c
                }
            };
            comps.push(comp);
        }
        self.outgoing(Method::Cancel, who, build(Method::Cancel, new, comps))
    }

    /// One CANCEL component made from `base`: UID, SEQUENCE, ORGANIZER,
    /// the recipient's ATTENDEE, RECURRENCE-ID, and for the reader the
    /// times, SUMMARY and LOCATION (RFC 5546 §3.2.5 / §3.4.5 tables).
    fn cancel_component(&self, who: &CalAddress, base: &Tree, fallback: Option<&Cal>, rid: Option<ICalendarEntry>, seq: i64, cancelled: bool) -> Tree {
        let mut comp = Tree::new(base.kind().clone());
        for entry in &base.comp.entries {
            let keep = match entry.name {
                ICalendarProperty::Uid
                | ICalendarProperty::Organizer
                | ICalendarProperty::Dtstart
                | ICalendarProperty::Dtend
                | ICalendarProperty::Duration
                | ICalendarProperty::Due
                | ICalendarProperty::Summary
                | ICalendarProperty::Location => true,
                ICalendarProperty::RecurrenceId => rid.is_none(),
                ICalendarProperty::Attendee => address_of(entry).is_some_and(|a| &a == who),
                _ => false,
            };
            if keep {
                comp.comp.entries.push(entry.clone());
            }
        }
        if comp.attendee(who).is_none() {
            // Removed from this component: their ATTENDEE as they knew it.
            let known = fallback.and_then(|f| f.items.iter().find_map(|i| i.tree.attendee(who))).cloned();
            comp.comp.entries.push(known.unwrap_or_else(|| {
                ICalendarEntry::new(ICalendarProperty::Attendee)
                    .with_value(ICalendarValue::Uri(Uri::Location(who.as_str().to_string())))
            }));
        }
        if let Some(rid) = rid {
            comp.set(rid);
        }
        comp.set_sequence(seq);
        if cancelled {
            comp.set_cancelled();
        }
        clean(&mut comp, Method::Cancel, self.now);
        comp
    }
}

/// RFC 6638 §4.2 ("SHOULD"): after a REPLY was applied to the organizer's
/// copy (`before` → `after`, see [`super::apply_reply`]), a REQUEST to
/// each other attendee who sees a changed instance (§3.2.6), with only
/// what changed for them, so that their copies show the new
/// participation status. SEQUENCE is not raised (RFC 5546 §3.2.2.7);
/// the replying attendee and the owner's addresses get nothing. The
/// attendees' servers treat these as "inconsequential" (§3.2.10,
/// [`super::only_participation_changed`]).
pub fn reply_updates(
    before: &ICalendar,
    after: &ICalendar,
    replying: &CalAddress,
    owner: &AddressSet,
    now: DateTime<Utc>,
) -> Result<Vec<Outgoing>, SchedulingError> {
    let before = Cal::from_ical(before).map_err(invalid)?;
    let after = Cal::from_ical(after).map_err(invalid)?;
    let originator = match organizer_of(&after)? {
        Some((address, entry)) if owner.contains(&address) && agent(entry) == Agent::Server => address,
        _ => return Ok(Vec::new()),
    };
    let ctx = Ctx::new(owner, originator, now);
    let (before, after_snap) = (Snap::new(&before), Snap::new(&after));
    let mut out = Vec::new();
    for who in ctx.attendees(&after, None) {
        if &who != replying {
            out.extend(ctx.plan(&who, Some(&before), &after_snap, false));
        }
    }
    Ok(out)
}

/// RFC 6638 §3.2.10.1: a PUT by the owner of a scheduling object keeps
/// what the server stored from the attendees' replies since the client
/// read it (with If-Schedule-Tag-Match, as the RFC asks; without a
/// condition too, rather than erase the answers): for every ATTENDEE of `new` that is not one of
/// `owner`'s addresses and is in `stored`'s component of the same
/// instance (or, for an override `stored` lacks, in its master), its
/// PARTSTAT, DELEGATED-TO and SCHEDULE-STATUS are taken from `stored`.
/// Components `new` lacks are not brought back (an override the server
/// created for an instance reply is lost if the client's copy predates
/// it). Returns `new` unchanged when either cannot be read.
pub fn merge_attendee_status(stored: &ICalendar, new: &ICalendar, owner: &AddressSet) -> ICalendar {
    let (Ok(stored), Ok(mut merged)) = (Cal::from_ical(stored), Cal::from_ical(new)) else {
        return new.clone();
    };
    let taken = [ICalendarParameterName::Partstat, ICalendarParameterName::DelegatedTo, ICalendarParameterName::ScheduleStatus];
    // (A component the client moved asks its attendees again: that is
    // `organizer_change`'s reset to NEEDS-ACTION, after this merge.)
    for item in merged.items.iter_mut() {
        let source = stored.item(item.rid).or(stored.master());
        let Some(source) = source else { continue };
        for entry in item.tree.comp.entries.iter_mut().filter(|e| e.name == ICalendarProperty::Attendee) {
            let Some(who) = address_of(entry).filter(|a| !owner.contains(a)) else { continue };
            let Some(known) = source.tree.attendee(&who) else { continue };
            for name in &taken {
                match param(known, name) {
                    Some(v) => set_param(entry, name.clone(), v.clone()),
                    None => remove_param(entry, name),
                }
            }
        }
    }
    merged.to_ical()
}
