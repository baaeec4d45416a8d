//! A calendar as scheduling sees it: the VCALENDAR's properties, its
//! VTIMEZONEs, and its scheduling components (RFC 5546 §1.4: the master
//! and its RECURRENCE-ID overrides, RFC 5545 §3.8.4.4) as trees that can
//! be copied, edited and reassembled — calcard's [`ICalendar`] keeps its
//! components in one flat list linked by index, awkward to edit.
//!
//! Instances are identified by their RECURRENCE-ID as UTC seconds
//! (RFC 5546 §2.1.5 rule 1: UID and RECURRENCE-ID are the key); a floating
//! RECURRENCE-ID or EXDATE of a set whose master has a zoned DTSTART is
//! read in that zone, as [`crate::ical::recur`] does.

use std::collections::BTreeSet;

use calcard::{
    common::PartialDateTime,
    icalendar::{
        ICalendar, ICalendarComponent, ICalendarComponentType, ICalendarEntry, ICalendarParameter,
        ICalendarParameterName, ICalendarParameterValue, ICalendarProperty, ICalendarStatus,
        ICalendarValue, ICalendarValueType,
    },
};
use chrono::{DateTime, NaiveDateTime, Utc};

use super::address::CalAddress;
use crate::ical::tz::{entry_tzid, first_date, naive_of, TzResolver, Zone};

/// Deepest component nesting copied (VCALENDAR > VEVENT > VALARM is 3;
/// parsed objects are refused beyond 16, [`crate::ical::object::MAX_NESTING`]).
const MAX_DEPTH: usize = 32;

/// One component and its sub-components.
#[derive(Debug, Clone)]
pub(crate) struct Tree {
    /// `component_ids` is left empty: `children` holds them.
    pub comp: ICalendarComponent,
    pub children: Vec<Tree>,
}

impl Tree {
    pub fn new(kind: ICalendarComponentType) -> Tree {
        Tree {
            comp: ICalendarComponent::new(kind),
            children: Vec::new(),
        }
    }

    fn from_ical(ical: &ICalendar, idx: u32, depth: usize) -> Tree {
        let Some(src) = ical.components.get(idx as usize) else {
            return Tree::new(ICalendarComponentType::Other("X-MISSING".into()));
        };
        let children = if depth >= MAX_DEPTH {
            Vec::new()
        } else {
            src.component_ids
                .iter()
                .map(|&c| Tree::from_ical(ical, c, depth + 1))
                .collect()
        };
        Tree {
            comp: ICalendarComponent {
                component_type: src.component_type.clone(),
                entries: src.entries.clone(),
                component_ids: Vec::new(),
            },
            children,
        }
    }

    /// Moves this tree into `out` (its root as a child of `parent`).
    fn move_into(self, out: &mut ICalendar, parent: usize) {
        let idx = out.components.len() as u32;
        out.components.push(ICalendarComponent {
            component_type: self.comp.component_type,
            entries: self.comp.entries,
            component_ids: Vec::new(),
        });
        out.components[parent].component_ids.push(idx);
        for child in self.children {
            child.move_into(out, idx as usize);
        }
    }

    /// Appends a copy of this tree to `out` (its root as a child of `parent`).
    fn push_into(&self, out: &mut ICalendar, parent: usize) {
        let idx = out.components.len() as u32;
        out.components.push(ICalendarComponent {
            component_type: self.comp.component_type.clone(),
            entries: self.comp.entries.clone(),
            component_ids: Vec::new(),
        });
        out.components[parent].component_ids.push(idx);
        for child in &self.children {
            child.push_into(out, idx as usize);
        }
    }

    pub fn kind(&self) -> &ICalendarComponentType {
        &self.comp.component_type
    }

    pub fn entries(&self, name: ICalendarProperty) -> impl Iterator<Item = &ICalendarEntry> + '_ {
        self.comp.entries.iter().filter(move |e| e.name == name)
    }

    pub fn first(&self, name: &ICalendarProperty) -> Option<&ICalendarEntry> {
        self.comp.property(name)
    }

    pub fn has(&self, name: &ICalendarProperty) -> bool {
        self.comp.has_property(name)
    }

    pub fn remove(&mut self, name: &ICalendarProperty) {
        self.comp.entries.retain(|e| &e.name != name);
    }

    /// Replaces every `entry.name` property by `entry` (at the first one's
    /// place, or at the end).
    pub fn set(&mut self, entry: ICalendarEntry) {
        match self.comp.entries.iter().position(|e| e.name == entry.name) {
            Some(at) => {
                let name = entry.name.clone();
                self.comp.entries[at] = entry;
                let mut seen = false;
                self.comp.entries.retain(|e| {
                    if e.name != name {
                        return true;
                    }
                    let keep = !seen;
                    seen = true;
                    keep
                });
            }
            None => self.comp.entries.push(entry),
        }
    }

    /// SEQUENCE (RFC 5545 §3.8.7.4), 0 when absent.
    pub fn sequence(&self) -> i64 {
        self.first(&ICalendarProperty::Sequence)
            .and_then(|e| e.values.first())
            .and_then(|v| match v {
                ICalendarValue::Integer(i) => Some(*i),
                ICalendarValue::Text(t) => t.trim().parse().ok(),
                _ => None,
            })
            .unwrap_or(0)
    }

    pub fn set_sequence(&mut self, seq: i64) {
        self.set(ICalendarEntry::new(ICalendarProperty::Sequence).with_value(seq));
    }

    /// DTSTAMP in UTC seconds (RFC 5545 §3.8.7.2: a UTC DATE-TIME).
    pub fn dtstamp(&self) -> Option<i64> {
        let entry = self.first(&ICalendarProperty::Dtstamp)?;
        let (local, _) = naive_of(first_date(entry)?)?;
        Some(local.and_utc().timestamp())
    }

    pub fn set_dtstamp(&mut self, now: DateTime<Utc>) {
        self.set(
            ICalendarEntry::new(ICalendarProperty::Dtstamp)
                .with_value(partial(now.naive_utc(), false, true)),
        );
    }

    /// STATUS:CANCELLED (RFC 5545 §3.8.1.11).
    pub fn is_cancelled(&self) -> bool {
        self.first(&ICalendarProperty::Status)
            .and_then(|e| e.values.first())
            .is_some_and(|v| match v {
                ICalendarValue::Status(s) => *s == ICalendarStatus::Cancelled,
                other => other.as_text().is_some_and(|t| t.eq_ignore_ascii_case("CANCELLED")),
            })
    }

    pub fn set_cancelled(&mut self) {
        self.set(
            ICalendarEntry::new(ICalendarProperty::Status)
                .with_value(ICalendarValue::Status(ICalendarStatus::Cancelled)),
        );
    }

    /// The ATTENDEE properties.
    pub fn attendees(&self) -> impl Iterator<Item = &ICalendarEntry> {
        self.entries(ICalendarProperty::Attendee)
    }

    /// The first ATTENDEE property of `who`.
    pub fn attendee(&self, who: &CalAddress) -> Option<&ICalendarEntry> {
        self.attendees().find(|e| address_of(e).is_some_and(|a| &a == who))
    }

    pub fn attendee_mut<'a>(&'a mut self, who: &'a CalAddress) -> impl Iterator<Item = &'a mut ICalendarEntry> + 'a {
        self.comp
            .entries
            .iter_mut()
            .filter(move |e| e.name == ICalendarProperty::Attendee && address_of(e).is_some_and(|a| &a == who))
    }

    pub fn organizer(&self) -> Option<&ICalendarEntry> {
        self.first(&ICalendarProperty::Organizer)
    }

    /// Removes the sub-components of a kind (VALARM).
    pub fn drop_children(&mut self, kind: &ICalendarComponentType) {
        self.children.retain(|c| c.kind() != kind);
    }
}

/// A scheduling component with its instance key.
#[derive(Debug, Clone)]
pub(crate) struct Item {
    pub tree: Tree,
    /// RECURRENCE-ID in UTC seconds; `None` for the master (or a
    /// non-recurring component).
    pub rid: Option<i64>,
}

/// How the master's DTSTART is written, to write instance times the same
/// way (RFC 5545 §3.8.4.4: RECURRENCE-ID has DTSTART's value type and
/// zone; §3.8.5.1 EXDATE likewise).
#[derive(Debug, Clone)]
pub(crate) enum Form {
    Date,
    Utc,
    Floating,
    Zoned(String, Zone),
}

/// A calendar: VCALENDAR properties, VTIMEZONEs, scheduling components,
/// and any other top-level component.
#[derive(Debug, Clone)]
pub(crate) struct Cal {
    pub root: ICalendarComponent,
    pub timezones: Vec<Tree>,
    pub items: Vec<Item>,
    pub others: Vec<Tree>,
    resolver: TzResolver,
    master_zone: Option<Zone>,
}

/// The components scheduling is about (RFC 5546 §3: VEVENT, VTODO,
/// VJOURNAL, VFREEBUSY; RFC 7953 VAVAILABILITY is kept with them).
pub(crate) fn is_item_kind(kind: &ICalendarComponentType) -> bool {
    matches!(
        kind,
        ICalendarComponentType::VEvent
            | ICalendarComponentType::VTodo
            | ICalendarComponentType::VJournal
            | ICalendarComponentType::VFreebusy
            | ICalendarComponentType::VAvailability
    )
}

impl Cal {
    /// Splits a parsed calendar. Fails when the first component is not a
    /// VCALENDAR or a RECURRENCE-ID cannot be read.
    pub fn from_ical(ical: &ICalendar) -> Result<Cal, String> {
        let root = ical
            .components
            .first()
            .filter(|c| c.component_type == ICalendarComponentType::VCalendar)
            .ok_or("not a VCALENDAR")?;
        let mut timezones = Vec::new();
        let mut items = Vec::new();
        let mut others = Vec::new();
        for &child in &root.component_ids {
            let tree = Tree::from_ical(ical, child, 1);
            if tree.kind() == &ICalendarComponentType::VTimezone {
                timezones.push(tree);
            } else if is_item_kind(tree.kind()) {
                items.push(Item { tree, rid: None });
            } else {
                others.push(tree);
            }
        }
        let resolver = TzResolver::new(ical, None);
        let mut cal = Cal {
            root: ICalendarComponent {
                component_type: ICalendarComponentType::VCalendar,
                entries: root.entries.clone(),
                component_ids: Vec::new(),
            },
            timezones,
            items,
            others,
            resolver,
            master_zone: None,
        };
        cal.master_zone = cal
            .items
            .iter()
            .find(|i| !i.tree.has(&ICalendarProperty::RecurrenceId))
            .and_then(|m| m.tree.first(&ICalendarProperty::Dtstart))
            .and_then(|e| cal.resolver.first_value(e))
            .filter(|v| !v.floating)
            .map(|v| v.zone);
        for i in 0..cal.items.len() {
            let rid = match cal.items[i].tree.first(&ICalendarProperty::RecurrenceId) {
                Some(entry) => Some(
                    cal.instant(entry)
                        .ok_or("a RECURRENCE-ID that cannot be read")?,
                ),
                None => None,
            };
            cal.items[i].rid = rid;
        }
        Ok(cal)
    }

    /// Reassembles a calcard calendar: VTIMEZONEs, then the scheduling
    /// components, then the others.
    pub fn to_ical(&self) -> ICalendar {
        let mut out = assemble(self.root.clone(), &self.timezones, self.items.iter().map(|i| &i.tree));
        for other in &self.others {
            other.push_into(&mut out, 0);
        }
        out
    }

    /// Whether a TZID names a VTIMEZONE of the calendar or a known zone.
    pub fn resolves(&self, tzid: &str) -> bool {
        self.resolver.resolve(tzid).is_some()
    }

    /// Rebuilds the time zone resolver after VTIMEZONEs changed.
    pub fn refresh(&mut self) {
        let ical = self.to_ical();
        if let Ok(fresh) = Cal::from_ical(&ical) {
            self.resolver = fresh.resolver;
            self.master_zone = fresh.master_zone;
        }
    }

    /// The kind of the scheduling components (of the first one).
    pub fn kind(&self) -> Option<&ICalendarComponentType> {
        self.items.first().map(|i| i.tree.kind())
    }

    pub fn uid(&self) -> Option<&str> {
        self.items.first().and_then(|i| i.tree.comp.uid())
    }

    pub fn master(&self) -> Option<&Item> {
        self.items.iter().find(|i| i.rid.is_none())
    }

    pub fn master_mut(&mut self) -> Option<&mut Item> {
        self.items.iter_mut().find(|i| i.rid.is_none())
    }

    pub fn item(&self, rid: Option<i64>) -> Option<&Item> {
        self.items.iter().find(|i| i.rid == rid)
    }

    pub fn item_mut(&mut self, rid: Option<i64>) -> Option<&mut Item> {
        self.items.iter_mut().find(|i| i.rid == rid)
    }

    /// The highest SEQUENCE of the scheduling components.
    pub fn max_sequence(&self) -> i64 {
        self.items.iter().map(|i| i.tree.sequence()).max().unwrap_or(0)
    }

    /// A DATE / DATE-TIME value of `entry` as UTC seconds.
    pub fn value_instant(&self, entry: &ICalendarEntry, value: &PartialDateTime) -> Option<i64> {
        let v = self.resolver.value(entry, value)?;
        if v.floating && !v.is_date {
            if let Some(zone) = &self.master_zone {
                return Some(zone.local_to_utc(v.local).timestamp());
            }
        }
        Some(v.utc().timestamp())
    }

    /// The first DATE / DATE-TIME value of `entry` as UTC seconds.
    pub fn instant(&self, entry: &ICalendarEntry) -> Option<i64> {
        self.value_instant(entry, first_date(entry)?)
    }

    /// The instants of every value of `name` properties (EXDATE, RDATE
    /// DATE / DATE-TIME values; PERIOD values by their start).
    pub fn instants(&self, tree: &Tree, name: &ICalendarProperty) -> BTreeSet<i64> {
        let mut out = BTreeSet::new();
        for entry in tree.entries(name.clone()) {
            for value in &entry.values {
                let start = match value {
                    ICalendarValue::PartialDateTime(p) => Some(p.as_ref()),
                    ICalendarValue::Period(
                        calcard::icalendar::ICalendarPeriod::Range { start, .. }
                        | calcard::icalendar::ICalendarPeriod::Duration { start, .. },
                    ) => Some(start),
                    _ => None,
                };
                if let Some(t) = start.and_then(|p| self.value_instant(entry, p)) {
                    out.insert(t);
                }
            }
        }
        out
    }

    /// How the master's DTSTART is written (the first component's when
    /// there is no master).
    pub fn form(&self) -> Form {
        let entry = self
            .master()
            .or(self.items.first())
            .and_then(|m| m.tree.first(&ICalendarProperty::Dtstart));
        let Some(entry) = entry else { return Form::Utc };
        let Some(value) = self.resolver.first_value(entry) else {
            return Form::Utc;
        };
        if value.is_date {
            Form::Date
        } else if !value.floating && entry_tzid(entry).is_some() {
            Form::Zoned(entry_tzid(entry).unwrap_or_default().trim().to_string(), value.zone)
        } else if value.floating {
            Form::Floating
        } else {
            Form::Utc
        }
    }

    /// A property whose value is the instant `at`, written like the
    /// master's DTSTART.
    pub fn time_entry(&self, name: ICalendarProperty, at: i64) -> ICalendarEntry {
        let utc = DateTime::from_timestamp(at, 0).unwrap_or_default();
        let mut entry = ICalendarEntry::new(name);
        match self.form() {
            Form::Date => {
                entry.params.push(ICalendarParameter::new(
                    ICalendarParameterName::Value,
                    ICalendarParameterValue::Value(ICalendarValueType::Date),
                ));
                entry.values.push(partial(utc.naive_utc(), true, false).into());
            }
            Form::Utc => entry.values.push(partial(utc.naive_utc(), false, true).into()),
            Form::Floating => entry.values.push(partial(utc.naive_utc(), false, false).into()),
            Form::Zoned(tzid, zone) => {
                entry.params.push(ICalendarParameter::new(
                    ICalendarParameterName::Tzid,
                    ICalendarParameterValue::Text(tzid),
                ));
                entry.values.push(partial(zone.utc_to_local(utc), false, false).into());
            }
        }
        entry
    }

    /// The RECURRENCE-ID property of instance `rid`: as written in a
    /// component of `cals` that has it, else in the master's form.
    pub fn rid_entry(&self, rid: i64, cals: &[&Cal]) -> ICalendarEntry {
        for cal in std::iter::once(self).chain(cals.iter().copied()) {
            if let Some(entry) = cal
                .item(Some(rid))
                .and_then(|i| i.tree.first(&ICalendarProperty::RecurrenceId))
            {
                let mut entry = entry.clone();
                // A single instance: RANGE=THISANDFUTURE is the override's own.
                entry.params.retain(|p| p.name != ICalendarParameterName::Range);
                return entry;
            }
        }
        self.time_entry(ICalendarProperty::RecurrenceId, rid)
    }

    /// The start, and the length in seconds, of a component: DTSTART, and
    /// DTEND / DUE minus DTSTART or DURATION (nominal days as 86,400 s);
    /// a DATE DTSTART alone lasts a day (RFC 5545 §3.6.1).
    pub fn span(&self, tree: &Tree) -> (Option<i64>, Option<i64>) {
        let start_entry = tree.first(&ICalendarProperty::Dtstart);
        let start = start_entry.and_then(|e| self.instant(e));
        let end = tree
            .first(&ICalendarProperty::Dtend)
            .or(tree.first(&ICalendarProperty::Due))
            .and_then(|e| self.instant(e));
        let length = match (start, end) {
            (Some(s), Some(e)) => Some(e - s),
            _ => match tree.first(&ICalendarProperty::Duration).and_then(|e| e.values.first()) {
                Some(ICalendarValue::Duration(d)) => Some(d.as_seconds()),
                _ => start_entry
                    .and_then(first_date)
                    .filter(|p| !p.has_time())
                    .map(|_| 86_400),
            },
        };
        (start.or(if start_entry.is_none() { end } else { None }), length)
    }

    /// Adds the VTIMEZONEs of `other` whose TZID this calendar lacks.
    pub fn merge_timezones(&mut self, other: &Cal) {
        for tz in &other.timezones {
            let id = tz_id(tz);
            if !self.timezones.iter().any(|t| tz_id(t) == id) {
                self.timezones.push(tz.clone());
            }
        }
        self.refresh();
    }

    /// The VTIMEZONEs referenced by a TZID in `trees`.
    pub fn timezones_for<'a>(&self, trees: impl IntoIterator<Item = &'a Tree>) -> Vec<Tree> {
        let mut used: Vec<String> = Vec::new();
        let mut stack: Vec<&Tree> = trees.into_iter().collect();
        while let Some(t) = stack.pop() {
            for entry in &t.comp.entries {
                if let Some(id) = entry_tzid(entry) {
                    let id = id.trim().to_string();
                    if !used.contains(&id) {
                        used.push(id);
                    }
                }
            }
            stack.extend(t.children.iter());
        }
        self.timezones
            .iter()
            .filter(|tz| tz_id(tz).is_some_and(|id| used.iter().any(|u| u == id)))
            .cloned()
            .collect()
    }
}

/// [`assemble`], moving the components in.
pub(crate) fn assemble_owned(root: ICalendarComponent, timezones: &[Tree], items: Vec<Tree>) -> ICalendar {
    let mut out = assemble(root, timezones, std::iter::empty());
    for item in items {
        item.move_into(&mut out, 0);
    }
    out
}

/// A calcard calendar of a VCALENDAR's properties, VTIMEZONEs and
/// components.
pub(crate) fn assemble<'a>(
    root: ICalendarComponent,
    timezones: &[Tree],
    items: impl IntoIterator<Item = &'a Tree>,
) -> ICalendar {
    let mut out = ICalendar {
        components: vec![ICalendarComponent {
            component_type: ICalendarComponentType::VCalendar,
            entries: root.entries,
            component_ids: Vec::new(),
        }],
    };
    for tz in timezones {
        tz.push_into(&mut out, 0);
    }
    for item in items {
        item.push_into(&mut out, 0);
    }
    out
}

fn tz_id(tz: &Tree) -> Option<&str> {
    tz.first(&ICalendarProperty::Tzid)
        .and_then(|e| e.values.first())
        .and_then(|v| v.as_text())
        .map(str::trim)
}

/// A PartialDateTime of a local time: a DATE, or a DATE-TIME, UTC ("Z") or not.
pub(crate) fn partial(t: NaiveDateTime, date: bool, utc: bool) -> PartialDateTime {
    use chrono::{Datelike, Timelike};
    let mut p = PartialDateTime {
        year: u16::try_from(t.year()).ok(),
        month: Some(t.month() as u8),
        day: Some(t.day() as u8),
        ..Default::default()
    };
    if !date {
        p.hour = Some(t.hour() as u8);
        p.minute = Some(t.minute() as u8);
        p.second = Some(t.second() as u8);
        if utc {
            p.tz_hour = Some(0);
            p.tz_minute = Some(0);
        }
    }
    p
}

// ---- properties and parameters ----

/// The calendar user address of an ORGANIZER or ATTENDEE property.
pub(crate) fn address_of(entry: &ICalendarEntry) -> Option<CalAddress> {
    entry
        .values
        .first()
        .and_then(|v| v.as_text())
        .filter(|t| !t.trim().is_empty())
        .map(CalAddress::new)
}

pub(crate) fn param<'a>(entry: &'a ICalendarEntry, name: &ICalendarParameterName) -> Option<&'a ICalendarParameterValue> {
    entry.parameter(name)
}

/// A parameter's value as upper-case text.
pub(crate) fn param_upper(entry: &ICalendarEntry, name: &ICalendarParameterName) -> Option<String> {
    param(entry, name)
        .and_then(|v| v.as_text())
        .map(|t| t.trim().to_ascii_uppercase())
}

pub(crate) fn set_param(entry: &mut ICalendarEntry, name: ICalendarParameterName, value: ICalendarParameterValue) {
    match entry.params.iter().position(|p| p.name == name) {
        Some(at) => {
            entry.params[at].value = value;
            let mut seen = false;
            entry.params.retain(|p| {
                if p.name != name {
                    return true;
                }
                let keep = !seen;
                seen = true;
                keep
            });
        }
        None => entry.params.push(ICalendarParameter::new(name, value)),
    }
}

pub(crate) fn remove_param(entry: &mut ICalendarEntry, name: &ICalendarParameterName) {
    entry.params.retain(|p| &p.name != name);
}

/// PARTSTAT (RFC 5545 §3.2.12), NEEDS-ACTION when absent.
pub(crate) fn partstat(entry: &ICalendarEntry) -> String {
    param_upper(entry, &ICalendarParameterName::Partstat).unwrap_or_else(|| "NEEDS-ACTION".into())
}

pub(crate) fn set_partstat(entry: &mut ICalendarEntry, value: &str) {
    let v = calcard::icalendar::ICalendarParameterValue::Text(value.to_string());
    set_param(entry, ICalendarParameterName::Partstat, v);
}

/// SCHEDULE-AGENT (RFC 6638 §7.1): absent is SERVER; values not
/// recognized are treated as NONE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Agent {
    Server,
    Client,
    None,
}

pub(crate) fn agent(entry: &ICalendarEntry) -> Agent {
    match param_upper(entry, &ICalendarParameterName::ScheduleAgent).as_deref() {
        None | Some("SERVER") => Agent::Server,
        Some("CLIENT") => Agent::Client,
        Some(_) => Agent::None,
    }
}

/// SCHEDULE-FORCE-SEND (RFC 6638 §7.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ForceSend {
    Request,
    Reply,
    /// A value the server does not recognize: SCHEDULE-STATUS 2.3.
    Unknown,
}

pub(crate) fn force_send(entry: &ICalendarEntry) -> Option<ForceSend> {
    Some(match param_upper(entry, &ICalendarParameterName::ScheduleForceSend)?.as_str() {
        "REQUEST" => ForceSend::Request,
        "REPLY" => ForceSend::Reply,
        _ => ForceSend::Unknown,
    })
}

/// The parameters a server never sends (RFC 6638 §7.1, §7.2, §7.3).
pub(crate) fn strip_scheduling_params(entry: &mut ICalendarEntry) {
    entry.params.retain(|p| {
        !matches!(
            p.name,
            ICalendarParameterName::ScheduleAgent
                | ICalendarParameterName::ScheduleStatus
                | ICalendarParameterName::ScheduleForceSend
        )
    });
}

pub(crate) fn is_x_name(name: &ICalendarProperty) -> bool {
    matches!(name, ICalendarProperty::Other(n) if n.len() > 2 && n[..2].eq_ignore_ascii_case("X-"))
}

/// A property as one unfolded content line with its parameters in a
/// canonical order, for comparisons.
pub(crate) fn canonical(entry: &ICalendarEntry) -> String {
    let mut e = entry.clone();
    e.params.sort_by(|a, b| {
        (a.name.as_str(), a.value.as_text().unwrap_or_default().to_ascii_uppercase())
            .cmp(&(b.name.as_str(), b.value.as_text().unwrap_or_default().to_ascii_uppercase()))
    });
    let mut out = String::new();
    let _ = e.write_to(&mut out);
    out.replace("\r\n ", "").trim_end().to_string()
}

/// A whole component tree as text with canonical properties.
pub(crate) fn canonical_tree(tree: &Tree) -> String {
    let mut out = format!("BEGIN:{}\n", tree.kind().as_str());
    let mut lines: Vec<String> = tree.comp.entries.iter().map(canonical).collect();
    lines.sort();
    for l in lines {
        out.push_str(&l);
        out.push('\n');
    }
    let mut children: Vec<String> = tree.children.iter().map(canonical_tree).collect();
    children.sort();
    for c in children {
        out.push_str(&c);
    }
    out.push_str(&format!("END:{}\n", tree.kind().as_str()));
    out
}

// ---- significant content (RFC 5546 §2.1.4) ----

/// What of a component matters to its attendees: a change in any of it
/// is a significant change (RFC 5546 §2.1.4: DTSTART, DTEND, DURATION,
/// DUE, RRULE, RDATE, EXDATE, STATUS MUST count; this server also counts
/// every other property the organizer controls — SUMMARY, LOCATION,
/// DESCRIPTION, the attendee list, the organizer… — but not DTSTAMP,
/// LAST-MODIFIED, CREATED, SEQUENCE, TRANSP, PERCENT-COMPLETE, COMPLETED,
/// REQUEST-STATUS, X- properties, VALARMs, nor the SCHEDULE-* parameters
/// of RFC 6638 §7, which are the organizer's own or the server's state).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Sig {
    pub start: Option<i64>,
    pub length: Option<i64>,
    /// RRULE / EXRULE lines and RDATE instants.
    pub recurrence: Vec<String>,
    pub exdates: BTreeSet<i64>,
    /// Other significant properties and sub-components, canonical, sorted.
    pub props: Vec<String>,
    /// ATTENDEE address | PARTSTAT | ROLE, sorted.
    pub attendees: Vec<String>,
    pub organizer: Option<String>,
}

/// Properties that are not significant (see [`Sig`]), besides X- ones;
/// the times and recurrence, ATTENDEE and ORGANIZER are compared apart.
fn not_significant(name: &ICalendarProperty) -> bool {
    is_x_name(name)
        || matches!(
            name,
            ICalendarProperty::Dtstamp
                | ICalendarProperty::LastModified
                | ICalendarProperty::Created
                | ICalendarProperty::Sequence
                | ICalendarProperty::Transp
                | ICalendarProperty::PercentComplete
                | ICalendarProperty::Completed
                | ICalendarProperty::RequestStatus
                | ICalendarProperty::Uid
                | ICalendarProperty::RecurrenceId
                | ICalendarProperty::Dtstart
                | ICalendarProperty::Dtend
                | ICalendarProperty::Duration
                | ICalendarProperty::Due
                | ICalendarProperty::Rrule
                | ICalendarProperty::Exrule
                | ICalendarProperty::Rdate
                | ICalendarProperty::Exdate
                | ICalendarProperty::Attendee
                | ICalendarProperty::Organizer
        )
}

impl Cal {
    pub fn sig(&self, tree: &Tree) -> Sig {
        let (start, length) = self.span(tree);
        let mut recurrence: Vec<String> = tree
            .comp
            .entries
            .iter()
            .filter(|e| matches!(e.name, ICalendarProperty::Rrule | ICalendarProperty::Exrule))
            .map(canonical)
            .collect();
        recurrence.extend(self.instants(tree, &ICalendarProperty::Rdate).iter().map(|t| format!("RDATE:{t}")));
        recurrence.sort();
        let mut props: Vec<String> = tree
            .comp
            .entries
            .iter()
            .filter(|e| !not_significant(&e.name))
            .map(canonical)
            .collect();
        props.extend(
            tree.children
                .iter()
                .filter(|c| c.kind() != &ICalendarComponentType::VAlarm)
                .map(canonical_tree),
        );
        props.sort();
        let mut attendees: Vec<String> = tree
            .attendees()
            .filter_map(|e| {
                let who = address_of(e)?;
                let role = param_upper(e, &ICalendarParameterName::Role)
                    .unwrap_or_else(|| "REQ-PARTICIPANT".into());
                Some(format!("{}|{}|{}", who.key(), partstat(e), role))
            })
            .collect();
        attendees.sort();
        Sig {
            start,
            length,
            recurrence,
            exdates: self.instants(tree, &ICalendarProperty::Exdate),
            props,
            attendees,
            organizer: tree.organizer().and_then(address_of).map(|a| a.key().to_string()),
        }
    }
}

impl Sig {
    /// The master's instance at `rid`, as an override would show it
    /// unchanged.
    pub fn instance(&self, rid: i64) -> Sig {
        Sig {
            start: Some(rid),
            recurrence: Vec::new(),
            exdates: BTreeSet::new(),
            ..self.clone()
        }
    }

    /// `other == self.instance(rid)`, without the copy.
    pub fn is_instance(&self, rid: i64, other: &Sig) -> bool {
        other.start == Some(rid)
            && other.length == self.length
            && other.recurrence.is_empty()
            && other.exdates.is_empty()
            && other.props == self.props
            && other.attendees == self.attendees
            && other.organizer == self.organizer
    }

    /// Equal but for the EXDATEs.
    pub fn same_but_exdates(&self, other: &Sig) -> bool {
        self.start == other.start
            && self.length == other.length
            && self.recurrence == other.recurrence
            && self.props == other.props
            && self.attendees == other.attendees
            && self.organizer == other.organizer
    }

    /// Whether going from `self` to `new` reschedules (RFC 6638 §3.2.8):
    /// DTSTART, DTEND, DURATION, DUE, RRULE or RDATE changed, or an
    /// EXDATE removed.
    pub fn rescheduled(&self, new: &Sig) -> bool {
        self.start != new.start
            || self.length != new.length
            || self.recurrence != new.recurrence
            || !self.exdates.is_subset(&new.exdates)
    }
}

impl Cal {
    /// The instances of the components with these RECURRENCE-IDs (`None`:
    /// the master) that start in `[from, to]` (UTC seconds, inclusive), at
    /// most `limit`, as (RECURRENCE-ID, start); through
    /// [`crate::ical::recur::expand_set`] (EXDATEs and the overrides among
    /// `rids` applied).
    pub fn instances_between(&self, rids: &[Option<i64>], from: Option<i64>, to: Option<i64>, limit: usize) -> Vec<(Option<i64>, i64)> {
        let trees: Vec<&Tree> = self.items.iter().filter(|i| rids.contains(&i.rid)).map(|i| &i.tree).collect();
        let ical = assemble(self.root.clone(), &self.timezones, trees.iter().copied());
        let Some(root) = ical.components.first() else { return Vec::new() };
        let comps: Vec<u32> = root
            .component_ids
            .iter()
            .copied()
            .filter(|&i| ical.components.get(i as usize).is_some_and(|c| is_item_kind(&c.component_type)))
            .collect();
        let at = |t: Option<i64>| t.and_then(|t| DateTime::from_timestamp(t, 0));
        let window = crate::ical::TimeRange::new(at(from), at(to));
        crate::ical::recur::expand_set(&ical, &comps, &TzResolver::new(&ical, None), &window, limit)
            .items
            .iter()
            .filter(|i| from.is_none_or(|f| i.start.timestamp() >= f) && to.is_none_or(|t| i.start.timestamp() <= t))
            .map(|i| (i.recurrence_id.map(|r| r.timestamp()), i.start.timestamp()))
            .collect()
    }

    /// Whether the master has an instance whose RECURRENCE-ID is `rid`.
    pub fn master_has_instance(&self, rid: i64) -> bool {
        self.instances_between(&[None], Some(rid), Some(rid), 8)
            .iter()
            .any(|(r, start)| r.unwrap_or(*start) == rid)
    }
}
