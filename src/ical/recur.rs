//! Recurrence instances of a calendar object within a window (RFC 5545
//! §3.8.5 RRULE / RDATE / EXDATE, §3.8.4.4 RECURRENCE-ID with
//! RANGE=THISANDFUTURE, §3.6.1 / §3.6.2 / §3.6.3 durations), and the bounds
//! the SQL index keeps for each object.
//!
//! RRULEs are expanded by calcard (its `RRuleIter`, reached through
//! `ICalendar::expand_dates`, the crate's public entry to it) on floating
//! local times; each occurrence is then converted to UTC with the zone of
//! DTSTART, so instances keep their local time across DST changes.
//!
//! Cost: iteration never goes past the window's end (the window end becomes
//! the rule's UNTIL), and a rule without COUNT is fast-forwarded to the
//! period just before the window start, so a daily rule begun 20 years ago
//! costs the same as one begun yesterday. A rule with COUNT is iterated
//! from its DTSTART (COUNT needs every earlier occurrence). Each rule is
//! iterated at most [`MAX_RULE_ITERATIONS`] times per call; past that the
//! result is marked `truncated`.

use std::ops::Deref;

use calcard::{
    common::{timezone::Tz, IanaParse, PartialDateTime},
    icalendar::{
        ICalendar, ICalendarComponent, ICalendarComponentType, ICalendarDay, ICalendarDuration,
        ICalendarEntry, ICalendarFrequency, ICalendarMonth, ICalendarParameterName,
        ICalendarParameterValue, ICalendarPeriod, ICalendarProperty, ICalendarRecurrenceRule,
        ICalendarValue, ICalendarWeekday,
    },
};
use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, Timelike, Utc, Weekday};

use super::{
    object::CalendarObject,
    tz::{add_secs, naive_of, offset_of, LocalValue, TzResolver, Zone},
    TimeRange,
};

/// Occurrences generated per RRULE and per call at most (about 55 years of
/// a daily rule counted from DTSTART; with fast-forwarding, only a rule
/// with COUNT, or an open window, needs more than a window's worth).
pub const MAX_RULE_ITERATIONS: usize = 20_000;

/// Instances enumerated at most by [`index_bounds`] for a bounded set;
/// beyond, the set is indexed as unbounded.
pub const INDEX_MAX_INSTANCES: usize = 20_000;

/// Floating times and DATE values widen index bounds by this much on each
/// side: UTC offsets range from −12:00 to +14:00.
pub const FLOATING_MARGIN_MS: i64 = 14 * 3600 * 1000;

/// One instance of a component (a master's occurrence or an override).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Instance {
    /// Index into `ical.components` of the component whose properties the
    /// instance has: the master, an override, or the THISANDFUTURE override
    /// that governs it.
    pub comp: u32,
    /// The instance's RECURRENCE-ID (its original start) for recurring sets
    /// and overrides; `None` for a plain, non-recurring component.
    pub recurrence_id: Option<DateTime<Utc>>,
    pub start: DateTime<Utc>,
    /// The effective end (DTEND, DTSTART+DURATION, DUE, …). For a VTODO
    /// without DTSTART see [`Timing`]'s shapes: DUE only → start = end = DUE;
    /// COMPLETED / CREATED → their span; none → all time.
    pub end: DateTime<Utc>,
    pub is_date: bool,
    pub floating: bool,
}

impl Instance {
    /// min(start, end) and max(start, end) in milliseconds.
    pub fn span_ms(&self) -> (i64, i64) {
        let (a, b) = (self.start.timestamp_millis(), self.end.timestamp_millis());
        (a.min(b), a.max(b))
    }
}

/// The instances found, sorted by start.
#[derive(Debug, Clone, Default)]
pub struct Instances {
    pub items: Vec<Instance>,
    /// The limit was reached, or a rule hit [`MAX_RULE_ITERATIONS`]: some
    /// instances may be missing.
    pub truncated: bool,
}

impl Deref for Instances {
    type Target = [Instance];
    fn deref(&self) -> &[Instance] {
        &self.items
    }
}

impl IntoIterator for Instances {
    type Item = Instance;
    type IntoIter = std::vec::IntoIter<Instance>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.into_iter()
    }
}

/// All instances of the object's components (masters and overrides) that
/// may overlap `window`: those with `min(start,end) <= window.end` and
/// `max(start,end) >= window.start` (a closed test, a superset of every
/// RFC 4791 §9.9 condition; [`super::timerange`] applies the exact ones).
/// At most `limit` instances are returned.
pub fn instances(
    obj: &CalendarObject,
    resolver: &TzResolver,
    window: &TimeRange,
    limit: usize,
) -> Instances {
    expand_set(&obj.ical, obj.main_components(), resolver, window, limit)
}

/// The same over any set of components of `ical` that form one recurrence
/// set (same UID).
pub fn expand_set(
    ical: &ICalendar,
    comps: &[u32],
    resolver: &TzResolver,
    window: &TimeRange,
    limit: usize,
) -> Instances {
    let ws = window.start.map_or(i64::MIN, |t| t.timestamp());
    let we = window.end.map_or(i64::MAX, |t| t.timestamp());
    let mut out = Instances::default();
    let timings: Vec<Timing<'_>> = comps
        .iter()
        .filter_map(|&idx| Timing::read(ical, idx, resolver).ok())
        .filter(|t| t.kind != Kind::Other)
        .collect();

    // Overrides (§3.8.4.4): exact ones by RECURRENCE-ID, and the
    // THISANDFUTURE ones with their shift and length.
    let mut exact: Vec<(i64, u32)> = Vec::new();
    let mut future: Vec<Future> = Vec::new();
    for t in timings.iter().filter(|t| t.rid.is_some()) {
        let Some(rid) = t.rid_utc(&timings) else {
            continue;
        };
        exact.push((rid, t.idx));
        if t.this_and_future {
            if let Some(inst) = t.single_instance(Some(rid)) {
                future.push(Future {
                    rid,
                    start: inst.start.timestamp(),
                    end: inst.end.timestamp(),
                    comp: t.idx,
                    is_date: inst.is_date,
                    floating: inst.floating,
                });
            }
        }
    }
    exact.sort_unstable();
    exact.dedup_by_key(|(rid, _)| *rid);
    future.sort_unstable_by_key(|f| f.rid);
    let has_overrides = !exact.is_empty();

    for t in &timings {
        if out.items.len() >= limit || crate::compute::interrupted() {
            out.truncated = true;
            break;
        }
        if t.rid.is_some() {
            // An override is an instance where it now is.
            if let Some(inst) = t
                .rid_utc(&timings)
                .and_then(|rid| t.single_instance(Some(rid)))
            {
                push(&mut out, inst, ws, we, limit);
            }
        } else if t.dtstart.is_some() && (t.is_recurring() || has_overrides) {
            expand_master(t, &exact, &future, resolver, ws, we, limit, &mut out);
        } else if let Some(inst) = t.single_instance(None) {
            push(&mut out, inst, ws, we, limit);
        }
    }
    out.items.sort_unstable_by_key(|i| (i.start, i.comp));
    out
}

/// A RANGE=THISANDFUTURE override: its RECURRENCE-ID and its own times.
struct Future {
    rid: i64,
    start: i64,
    end: i64,
    comp: u32,
    is_date: bool,
    floating: bool,
}

/// Keep `inst` when it may overlap the window; each instance kept is one
/// unit of the compute job's budget ([`crate::compute::charge`]).
fn push(out: &mut Instances, inst: Instance, ws: i64, we: i64, limit: usize) {
    let (a, b) = (inst.start.timestamp(), inst.end.timestamp());
    if a.min(b) <= we && a.max(b) >= ws {
        if out.items.len() >= limit || !crate::compute::charge(1) {
            out.truncated = true;
        } else {
            out.items.push(inst);
        }
    }
}

fn utc_secs(secs: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(secs, 0).unwrap_or(if secs < 0 {
        DateTime::<Utc>::MIN_UTC
    } else {
        DateTime::<Utc>::MAX_UTC
    })
}

/// A recurrence set's candidate instance: its RECURRENCE-ID, its local
/// start in the DTSTART zone, the end of an RDATE PERIOD.
struct Candidate {
    rid: i64,
    local: NaiveDateTime,
    period_end: Option<i64>,
}

#[allow(clippy::too_many_arguments)]
fn expand_master(
    t: &Timing<'_>,
    exact: &[(i64, u32)],
    future: &[Future],
    resolver: &TzResolver,
    ws: i64,
    we: i64,
    limit: usize,
    out: &mut Instances,
) {
    let Some(start) = &t.dtstart else { return };
    let zone = &start.zone;
    let spec = t.end_spec();

    // How far before the window an instance may start and still reach it,
    // and how a THISANDFUTURE shift moves RECURRENCE-IDs relative to it.
    let mut reach = spec.max_secs();
    let (mut shift_pos, mut shift_neg) = (0i64, 0i64);
    // §3.8.4.4: later instances move by the override's shift and take its
    // duration; the shift is applied to local times (a move from 10:00 to
    // 12:00 stays 12:00 across a DST change), a DATE set's length in days.
    let mut shifts: Vec<(i64, EndSpec)> = Vec::with_capacity(future.len());
    for f in future {
        reach = reach.max(f.end - f.start + 7200);
        shift_pos = shift_pos.max(f.start - f.rid + 7200);
        shift_neg = shift_neg.max(f.rid - f.start + 7200);
        let start_local = zone.utc_to_local(utc_secs(f.start));
        let shift = (start_local - zone.utc_to_local(utc_secs(f.rid))).num_seconds();
        let len = if f.is_date {
            EndSpec::Nominal {
                days: (zone.utc_to_local(utc_secs(f.end)).date() - start_local.date()).num_days(),
                secs: 0,
            }
        } else {
            EndSpec::Exact(f.end - f.start)
        };
        shifts.push((shift, len));
    }
    for entry in &t.rdates {
        for value in &entry.values {
            if let ICalendarValue::Period(p) = value {
                if let Some((ps, pe)) = period_secs(p) {
                    reach = reach.max(pe.saturating_sub(ps).saturating_add(86_400));
                }
            }
        }
    }
    // The window in UTC, widened by how far before it an instance may start
    // and still reach it, and by the THISANDFUTURE shifts; each rule then
    // iterates only over its local-time image (see `local_window`).
    let from_utc = (ws != i64::MIN).then(|| ws.saturating_sub(reach).saturating_sub(shift_pos));
    let to_utc = (we != i64::MAX).then(|| we.saturating_add(shift_neg));

    // DTSTART is the first instance (§3.8.5.3), then the RRULEs' and RDATEs'.
    let mut cands = vec![Candidate {
        rid: start.utc().timestamp(),
        local: start.local,
        period_end: None,
    }];
    let mut locals = Vec::new();
    for rule in &t.rrules {
        let (from_local, to_local) = local_window(rule, zone, from_utc, to_utc);
        let until = rule_until_local(rule, start, zone);
        let bound = match (until, to_local) {
            (Some(u), Some(w)) => Some(u.min(w)),
            (u, w) => u.or(w),
        };
        locals.clear();
        match rule_occurrences(
            rule,
            start.local,
            from_local,
            bound,
            MAX_RULE_ITERATIONS,
            &mut locals,
        ) {
            Ok(capped) => out.truncated |= capped,
            Err(_) => continue,
        }
        if !crate::compute::charge(locals.len() as u64) {
            out.truncated = true;
            return;
        }
        cands.extend(locals.iter().map(|&local| Candidate {
            rid: zone.local_to_utc(local).timestamp(),
            local,
            period_end: None,
        }));
    }
    for entry in &t.rdates {
        for value in &entry.values {
            let parsed;
            let period = match value {
                ICalendarValue::Period(period) => Some(period),
                // A PERIOD without VALUE=PERIOD is left as text by calcard.
                ICalendarValue::Text(text) => {
                    parsed = ICalendarPeriod::parse(text.as_bytes());
                    parsed.as_ref()
                }
                _ => None,
            };
            let (p, end) = match (value, period) {
                (ICalendarValue::PartialDateTime(p), _) => (&**p, None),
                (_, Some(ICalendarPeriod::Range { start, end })) => (start, Some(Ok(end))),
                (_, Some(ICalendarPeriod::Duration { start, duration })) => {
                    (start, Some(Err(duration)))
                }
                _ => continue,
            };
            let Some(v) = resolver.value(entry, p) else {
                continue;
            };
            let rid = v.utc().timestamp();
            let period_end = match end {
                None => None,
                Some(Ok(end)) => resolver.value(entry, end).map(|e| e.utc().timestamp()),
                Some(Err(d)) => Some(rid.saturating_add(d.as_seconds())),
            };
            let local = if v.is_date && start.is_date {
                v.local
            } else {
                zone.utc_to_local(utc_secs(rid))
            };
            cands.push(Candidate {
                rid,
                local,
                period_end,
            });
        }
    }
    // Every candidate is examined below: the whole list is the work.
    if !crate::compute::charge(cands.len() as u64) {
        out.truncated = true;
        return;
    }
    // Duplicates count once (§3.8.5.2); a PERIOD wins over a plain date.
    cands.sort_unstable_by_key(|c| (c.rid, c.period_end.is_none()));
    cands.dedup_by_key(|c| c.rid);

    // EXDATE (§3.8.5.1) takes precedence. A DATE exclusion of a DATE-TIME
    // set (or the reverse) excludes by local date.
    let mut ex_instants: Vec<i64> = Vec::new();
    let mut ex_dates: Vec<NaiveDate> = Vec::new();
    for entry in &t.exdates {
        for value in &entry.values {
            let ICalendarValue::PartialDateTime(p) = value else {
                continue;
            };
            let Some(v) = resolver.value(entry, p) else {
                continue;
            };
            if v.is_date != start.is_date {
                ex_dates.push(if v.is_date {
                    v.local.date()
                } else {
                    zone.utc_to_local(v.utc()).date()
                });
            } else {
                ex_instants.push(v.utc().timestamp());
            }
        }
    }
    ex_instants.sort_unstable();
    ex_dates.sort_unstable();

    for c in &cands {
        if ex_instants.binary_search(&c.rid).is_ok()
            || (!ex_dates.is_empty() && ex_dates.binary_search(&c.local.date()).is_ok())
        {
            continue;
        }
        if exact.binary_search_by_key(&c.rid, |(rid, _)| *rid).is_ok() {
            continue; // replaced by its override
        }
        let governing = future.partition_point(|f| f.rid <= c.rid);
        let inst = if governing > 0 {
            let f = &future[governing - 1];
            let (shift, len) = shifts[governing - 1];
            let local = add_secs(c.local, shift);
            let s = zone.local_to_utc(local).timestamp();
            Instance {
                comp: f.comp,
                recurrence_id: Some(utc_secs(c.rid)),
                start: utc_secs(s),
                end: utc_secs(len.end_of(local, s, zone)),
                is_date: f.is_date,
                floating: f.floating || start.floating,
            }
        } else {
            let end = match c.period_end {
                Some(e) => e,
                None => spec.end_of(c.local, c.rid, zone),
            };
            Instance {
                comp: t.idx,
                recurrence_id: Some(utc_secs(c.rid)),
                start: utc_secs(c.rid),
                end: utc_secs(end),
                is_date: start.is_date,
                floating: start.floating,
            }
        };
        push(out, inst, ws, we, limit);
        if out.truncated && (out.items.len() >= limit || crate::compute::interrupted()) {
            return;
        }
    }
}

/// The local times (in the DTSTART zone) between which a rule's
/// occurrences may fall in the UTC window `[from, to]`: the window's local
/// image, widened by a margin for offset changes between the window's ends
/// and the occurrences. Rules of a day or longer take two days (any offset
/// change, even a zone skipping a day); sub-daily rules three hours (a DST
/// change), so that a secondly rule does not iterate over days before the
/// window.
fn local_window(
    rule: &ICalendarRecurrenceRule,
    zone: &Zone,
    from: Option<i64>,
    to: Option<i64>,
) -> (Option<NaiveDateTime>, Option<NaiveDateTime>) {
    let margin = match rule.freq {
        ICalendarFrequency::Secondly | ICalendarFrequency::Minutely | ICalendarFrequency::Hourly => 3 * 3600,
        _ => 2 * 86_400,
    };
    let local = |secs: i64, delta: i64| add_secs(zone.utc_to_local(utc_secs(secs)), delta);
    (from.map(|f| local(f, -margin)), to.map(|t| local(t, margin)))
}

/// The local time (in the DTSTART zone) up to which a rule's UNTIL lets
/// occurrences start (inclusive). §3.3.10: UNTIL is UTC when DTSTART has a
/// zone, local when floating, a DATE when DTSTART is; a DATE UNTIL with a
/// DATE-TIME DTSTART is taken as the end of that day.
fn rule_until_local(
    rule: &ICalendarRecurrenceRule,
    start: &LocalValue,
    zone: &Zone,
) -> Option<NaiveDateTime> {
    let until = rule.until.as_ref()?;
    let (local, is_date) = naive_of(until)?;
    Some(match offset_of(until) {
        Some(offset) if !is_date => zone.utc_to_local(add_secs(local, -(offset as i64)).and_utc()),
        _ if is_date && !start.is_date => add_secs(local, 86_399),
        _ => local,
    })
}

/// Local (floating) occurrences of `rule` anchored at `dtstart`, as calcard
/// generates them, appended to `out` in order. `until` is an inclusive
/// local upper bound that replaces the rule's own UNTIL (the caller
/// combines both); `from` lets a rule without COUNT skip to the period
/// before it (occurrences before `from` may still be returned). DTSTART
/// itself is not added unless the rule generates it. Returns whether
/// `cap` occurrences were reached.
pub(crate) fn rule_occurrences(
    rule: &ICalendarRecurrenceRule,
    dtstart: NaiveDateTime,
    from: Option<NaiveDateTime>,
    until: Option<NaiveDateTime>,
    cap: usize,
    out: &mut Vec<NaiveDateTime>,
) -> Result<bool, String> {
    // calcard's dates have four-digit years.
    let last = NaiveDate::from_ymd_opt(9999, 12, 31)
        .and_then(|d| d.and_hms_opt(23, 59, 59))
        .unwrap_or(NaiveDateTime::MAX);
    let until = Some(until.map_or(last, |u| u.min(last)));
    if until.is_some_and(|u| u < dtstart) || cap == 0 || from.is_some_and(|f| f > last) {
        return Ok(false);
    }
    let mut rule = rule.clone();
    rule.until = until.map(partial_of);
    let mut anchor = dtstart;
    if let (Some(from), None) = (from, rule.count) {
        if from > dtstart {
            anchor = fast_forward(&mut rule, dtstart, from);
        }
    }
    if until.is_some_and(|u| u < anchor) {
        return Ok(false);
    }
    let mut root = ICalendarComponent::new(ICalendarComponentType::VCalendar);
    root.component_ids.push(1);
    let mut event = ICalendarComponent::new(ICalendarComponentType::VEvent);
    event
        .entries
        .push(ICalendarEntry::new(ICalendarProperty::Dtstart).with_value(partial_of(anchor)));
    event
        .entries
        .push(ICalendarEntry::new(ICalendarProperty::Rrule).with_value(rule));
    let ical = ICalendar {
        components: vec![root, event],
    };
    let expanded = ical.expand_dates(Tz::Floating, cap);
    if let Some(error) = expanded.errors.first() {
        return Err(error.error.to_string());
    }
    let n = expanded.events.len();
    out.extend(expanded.events.into_iter().map(|e| e.start.naive_local()));
    Ok(n >= cap)
}

fn partial_of(t: NaiveDateTime) -> PartialDateTime {
    PartialDateTime {
        year: u16::try_from(t.year()).ok(),
        month: Some(t.month() as u8),
        day: Some(t.day() as u8),
        hour: Some(t.hour() as u8),
        minute: Some(t.minute() as u8),
        second: Some(t.second() as u8),
        tz_hour: None,
        tz_minute: None,
        tz_minus: false,
    }
}

fn weekday_ical(w: Weekday) -> ICalendarWeekday {
    match w {
        Weekday::Mon => ICalendarWeekday::Monday,
        Weekday::Tue => ICalendarWeekday::Tuesday,
        Weekday::Wed => ICalendarWeekday::Wednesday,
        Weekday::Thu => ICalendarWeekday::Thursday,
        Weekday::Fri => ICalendarWeekday::Friday,
        Weekday::Sat => ICalendarWeekday::Saturday,
        Weekday::Sun => ICalendarWeekday::Sunday,
    }
}

/// Moves the anchor of a rule without COUNT to the start of a period
/// (whole multiples of FREQ×INTERVAL after DTSTART, one period before
/// `from`), after making explicit the BYxxx parts that RFC 5545 §3.3.10
/// takes from DTSTART (the weekday for WEEKLY, the day for MONTHLY, the
/// month and day for YEARLY). The occurrences from the new anchor on are
/// those of the original rule.
fn fast_forward(
    rule: &mut ICalendarRecurrenceRule,
    dtstart: NaiveDateTime,
    from: NaiveDateTime,
) -> NaiveDateTime {
    let n = rule.interval.unwrap_or(1).max(1) as i64;
    let no_day_rule = rule.byweekno.is_empty()
        && rule.byyearday.is_empty()
        && rule.bymonthday.is_empty()
        && rule.byday.is_empty();
    let time = dtstart.time();
    let periods = |elapsed: i64, unit: i64| (elapsed / unit) / n - 1;
    match rule.freq {
        ICalendarFrequency::Daily => {
            let k = periods((from.date() - dtstart.date()).num_days(), 1);
            if k > 0 {
                return dtstart + Duration::days(k * n);
            }
        }
        ICalendarFrequency::Weekly => {
            let k = periods((from.date() - dtstart.date()).num_days(), 7);
            if k > 0 {
                if no_day_rule {
                    rule.byday = vec![ICalendarDay {
                        ordwk: None,
                        weekday: weekday_ical(dtstart.weekday()),
                    }];
                }
                return dtstart + Duration::days(k * n * 7);
            }
        }
        ICalendarFrequency::Monthly => {
            let months = (from.year() as i64 * 12 + from.month0() as i64)
                - (dtstart.year() as i64 * 12 + dtstart.month0() as i64);
            let k = periods(months, 1);
            if k > 0 {
                if no_day_rule {
                    rule.bymonthday = vec![dtstart.day() as i8];
                }
                let m = dtstart.year() as i64 * 12 + dtstart.month0() as i64 + k * n;
                if let Some(d) = NaiveDate::from_ymd_opt((m / 12) as i32, (m % 12) as u32 + 1, 1) {
                    return d.and_time(time);
                }
            }
        }
        ICalendarFrequency::Yearly => {
            let k = periods((from.year() - dtstart.year()) as i64, 1);
            if k > 0 {
                if no_day_rule {
                    rule.bymonthday = vec![dtstart.day() as i8];
                    if rule.bymonth.is_empty() {
                        rule.bymonth = vec![ICalendarMonth::new(dtstart.month() as u8, false)];
                    }
                }
                if let Some(d) = NaiveDate::from_ymd_opt(dtstart.year() + (k * n) as i32, 1, 1) {
                    return d.and_time(time);
                }
            }
        }
        ICalendarFrequency::Hourly
        | ICalendarFrequency::Minutely
        | ICalendarFrequency::Secondly => {
            let unit = match rule.freq {
                ICalendarFrequency::Hourly => 3600,
                ICalendarFrequency::Minutely => 60,
                _ => 1,
            };
            let k = periods((from - dtstart).num_seconds(), unit);
            if k > 0 {
                return dtstart + Duration::seconds(k * n * unit);
            }
        }
    }
    dtstart
}

/// The component kinds that have time semantics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Event,
    Todo,
    Journal,
    Freebusy,
    Availability,
    Other,
}

/// Which RFC 4791 §9.9 VTODO row applies, by the properties present.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TodoShape {
    StartDuration,
    StartDue,
    Start,
    Due,
    CompletedCreated,
    Completed,
    Created,
    Always,
}

/// How an instance's end follows from its start.
#[derive(Debug, Clone, Copy)]
pub(crate) enum EndSpec {
    /// Exact seconds: DTEND / DUE minus DTSTART (§3.8.5.3: "the same exact
    /// duration will apply to all the members").
    Exact(i64),
    /// Nominal: days added in local time, then exact seconds (§3.3.6; a
    /// DURATION, the one day of a DATE DTSTART, DATE…DATE spans).
    Nominal { days: i64, secs: i64 },
}

impl EndSpec {
    fn max_secs(&self) -> i64 {
        match *self {
            EndSpec::Exact(s) => s.max(0),
            EndSpec::Nominal { days, secs } => days
                .saturating_mul(86_400)
                .saturating_add(secs)
                .saturating_add(7200)
                .max(0),
        }
    }

    pub(crate) fn end_of(&self, local: NaiveDateTime, start: i64, zone: &Zone) -> i64 {
        match *self {
            EndSpec::Exact(s) => start.saturating_add(s),
            EndSpec::Nominal { days: 0, secs } => start.saturating_add(secs),
            EndSpec::Nominal { days, secs } => {
                let day_end = Duration::try_days(days)
                    .and_then(|d| local.checked_add_signed(d))
                    .unwrap_or(local);
                zone.local_to_utc(day_end).timestamp().saturating_add(secs)
            }
        }
    }
}

fn nominal(d: &ICalendarDuration) -> EndSpec {
    let sign = if d.neg { -1 } else { 1 };
    EndSpec::Nominal {
        days: sign * (d.weeks as i64 * 7 + d.days as i64),
        secs: sign * (d.hours as i64 * 3600 + d.minutes as i64 * 60 + d.seconds as i64),
    }
}

/// The time properties of one component, resolved.
pub(crate) struct Timing<'a> {
    pub idx: u32,
    pub kind: Kind,
    pub comp: &'a ICalendarComponent,
    pub dtstart: Option<LocalValue>,
    pub dtend: Option<LocalValue>,
    pub due: Option<LocalValue>,
    pub duration: Option<ICalendarDuration>,
    pub completed: Option<LocalValue>,
    pub created: Option<LocalValue>,
    pub rid: Option<LocalValue>,
    pub this_and_future: bool,
    pub rrules: Vec<&'a ICalendarRecurrenceRule>,
    pub rdates: Vec<&'a ICalendarEntry>,
    pub exdates: Vec<&'a ICalendarEntry>,
}

pub(crate) fn kind_of(t: &ICalendarComponentType) -> Kind {
    match t {
        ICalendarComponentType::VEvent => Kind::Event,
        ICalendarComponentType::VTodo => Kind::Todo,
        ICalendarComponentType::VJournal => Kind::Journal,
        ICalendarComponentType::VFreebusy => Kind::Freebusy,
        ICalendarComponentType::VAvailability | ICalendarComponentType::Available => {
            Kind::Availability
        }
        _ => Kind::Other,
    }
}

impl<'a> Timing<'a> {
    /// Reads the time properties of component `idx`. Errors name a DATE /
    /// DATE-TIME, DURATION or RRULE value that cannot be evaluated.
    pub fn read(
        ical: &'a ICalendar,
        idx: u32,
        resolver: &TzResolver,
    ) -> Result<Timing<'a>, String> {
        let comp = ical
            .components
            .get(idx as usize)
            .ok_or_else(|| format!("no component {idx}"))?;
        let mut t = Timing {
            idx,
            kind: kind_of(&comp.component_type),
            comp,
            dtstart: None,
            dtend: None,
            due: None,
            duration: None,
            completed: None,
            created: None,
            rid: None,
            this_and_future: false,
            rrules: Vec::new(),
            rdates: Vec::new(),
            exdates: Vec::new(),
        };
        let name = comp.component_type.as_str();
        let date = |entry: &ICalendarEntry| -> Result<LocalValue, String> {
            match entry.values.first() {
                Some(ICalendarValue::PartialDateTime(p)) => resolver.value(entry, p),
                _ => None,
            }
            .ok_or_else(|| format!("{name}: invalid {} value", entry.name.as_str()))
        };
        for entry in &comp.entries {
            match &entry.name {
                ICalendarProperty::Dtstart => t.dtstart = Some(date(entry)?),
                ICalendarProperty::Dtend => t.dtend = Some(date(entry)?),
                ICalendarProperty::Due => t.due = Some(date(entry)?),
                ICalendarProperty::Completed => t.completed = Some(date(entry)?),
                ICalendarProperty::Created => t.created = Some(date(entry)?),
                ICalendarProperty::RecurrenceId => {
                    t.rid = Some(date(entry)?);
                    t.this_and_future = entry.params.iter().any(|p| {
                        p.name == ICalendarParameterName::Range
                            && matches!(&p.value, ICalendarParameterValue::Bool(true))
                    });
                }
                ICalendarProperty::Duration => match entry.values.first() {
                    Some(ICalendarValue::Duration(d)) => t.duration = Some(d.clone()),
                    _ => return Err(format!("{name}: invalid DURATION value")),
                },
                ICalendarProperty::Rrule => {
                    for value in &entry.values {
                        match value {
                            ICalendarValue::RecurrenceRule(rule) => t.rrules.push(rule),
                            _ => return Err(format!("{name}: invalid RRULE value")),
                        }
                    }
                }
                ICalendarProperty::Rdate | ICalendarProperty::Exdate => {
                    for value in &entry.values {
                        let ok = match value {
                            ICalendarValue::PartialDateTime(p) => {
                                resolver.value(entry, p).is_some()
                            }
                            ICalendarValue::Period(
                                ICalendarPeriod::Range { start, .. }
                                | ICalendarPeriod::Duration { start, .. },
                            ) => {
                                entry.name == ICalendarProperty::Rdate
                                    && resolver.value(entry, start).is_some()
                            }
                            // A PERIOD without VALUE=PERIOD is left as text by calcard.
                            ICalendarValue::Text(text) => {
                                entry.name == ICalendarProperty::Rdate
                                    && ICalendarPeriod::parse(text.as_bytes()).is_some()
                            }
                            _ => false,
                        };
                        if !ok {
                            return Err(format!("{name}: invalid {} value", entry.name.as_str()));
                        }
                    }
                    if entry.name == ICalendarProperty::Rdate {
                        t.rdates.push(entry);
                    } else {
                        t.exdates.push(entry);
                    }
                }
                _ => {}
            }
        }
        if t.dtstart.is_none() && t.rid.is_some() && matches!(t.kind, Kind::Event | Kind::Journal) {
            // An override without DTSTART starts at its RECURRENCE-ID.
            t.dtstart = t.rid.clone();
        }
        Ok(t)
    }

    pub fn is_recurring(&self) -> bool {
        !self.rrules.is_empty() || !self.rdates.is_empty()
    }

    /// RFC 4791 §9.9, VTODO table: which row applies.
    pub fn todo_shape(&self) -> TodoShape {
        match (
            &self.dtstart,
            &self.due,
            &self.duration,
            &self.completed,
            &self.created,
        ) {
            (Some(_), Some(_), _, _, _) => TodoShape::StartDue,
            (Some(_), None, Some(_), _, _) => TodoShape::StartDuration,
            (Some(_), None, None, _, _) => TodoShape::Start,
            (None, Some(_), _, _, _) => TodoShape::Due,
            (None, None, _, Some(_), Some(_)) => TodoShape::CompletedCreated,
            (None, None, _, Some(_), None) => TodoShape::Completed,
            (None, None, _, None, Some(_)) => TodoShape::Created,
            (None, None, _, None, None) => TodoShape::Always,
        }
    }

    /// How each instance's end follows from its start (RFC 5545 §3.6.1,
    /// §3.6.2, §3.6.3, §3.8.5.3; RFC 4791 §9.9: a DATE DTSTART without end
    /// lasts one day, a DATE-TIME one lasts zero seconds). DTEND / DUE win
    /// over a (forbidden) DURATION next to them.
    pub fn end_spec(&self) -> EndSpec {
        let Some(start) = &self.dtstart else {
            return EndSpec::Exact(0);
        };
        let explicit_end = match self.kind {
            Kind::Event | Kind::Freebusy | Kind::Availability => self.dtend.as_ref(),
            Kind::Todo => self.due.as_ref(),
            _ => None,
        };
        if let Some(end) = explicit_end {
            if start.is_date && end.is_date {
                return EndSpec::Nominal {
                    days: (end.local.date() - start.local.date()).num_days(),
                    secs: 0,
                };
            }
            return EndSpec::Exact(end.utc().timestamp() - start.utc().timestamp());
        }
        if let (Some(d), Kind::Event | Kind::Todo | Kind::Availability) =
            (&self.duration, self.kind)
        {
            return nominal(d);
        }
        match self.kind {
            Kind::Event | Kind::Journal if start.is_date => EndSpec::Nominal { days: 1, secs: 0 },
            Kind::Availability => EndSpec::Exact(i64::MAX / 4),
            _ => EndSpec::Exact(0),
        }
    }

    /// The RECURRENCE-ID in UTC. A floating RECURRENCE-ID of a set whose
    /// master has a zoned DTSTART is read in that zone (the forms must
    /// match, §3.8.4.4; clients sometimes drop the TZID).
    pub fn rid_utc(&self, set: &[Timing<'_>]) -> Option<i64> {
        let rid = self.rid.as_ref()?;
        if rid.floating && !rid.is_date {
            if let Some(master) = set.iter().find(|m| m.rid.is_none() && m.kind == self.kind) {
                if let Some(start) = master.dtstart.as_ref().filter(|s| !s.floating) {
                    return Some(start.zone.local_to_utc(rid.local).timestamp());
                }
            }
        }
        Some(rid.utc().timestamp())
    }

    /// The one instance of a non-recurring component or an override.
    pub fn single_instance(&self, rid: Option<i64>) -> Option<Instance> {
        let recurrence_id = rid.map(utc_secs);
        if let (Kind::Freebusy, Some(start), Some(end)) = (self.kind, &self.dtstart, &self.dtend) {
            return Some(Instance {
                comp: self.idx,
                recurrence_id,
                start: start.utc(),
                end: end.utc(),
                is_date: start.is_date,
                floating: start.floating || end.floating,
            });
        }
        if let Some(start) = self
            .dtstart
            .as_ref()
            .filter(|_| self.kind != Kind::Freebusy)
        {
            let s = start.utc().timestamp();
            let e = self.end_spec().end_of(start.local, s, &start.zone);
            let end_floating = match self.kind {
                Kind::Todo => self.due.as_ref().is_some_and(|e| e.floating),
                _ => self.dtend.as_ref().is_some_and(|e| e.floating),
            };
            return Some(Instance {
                comp: self.idx,
                recurrence_id,
                start: utc_secs(s),
                end: utc_secs(e),
                is_date: start.is_date,
                floating: start.floating || end_floating,
            });
        }
        let inst = |a: &LocalValue, b: Option<&LocalValue>, end_max: bool| {
            let (sa, sb) = (a.utc(), b.map_or(a.utc(), |b| b.utc()));
            Instance {
                comp: self.idx,
                recurrence_id,
                start: sa.min(sb),
                end: if end_max {
                    DateTime::<Utc>::MAX_UTC
                } else {
                    sa.max(sb)
                },
                is_date: a.is_date,
                floating: a.floating || b.is_some_and(|b| b.floating),
            }
        };
        match self.kind {
            Kind::Todo => match self.todo_shape() {
                TodoShape::Due => self.due.as_ref().map(|d| inst(d, None, false)),
                TodoShape::CompletedCreated => {
                    Some(inst(self.completed.as_ref()?, self.created.as_ref(), false))
                }
                TodoShape::Completed => Some(inst(self.completed.as_ref()?, None, false)),
                TodoShape::Created => Some(inst(self.created.as_ref()?, None, true)),
                TodoShape::Always => Some(Instance {
                    comp: self.idx,
                    recurrence_id,
                    start: DateTime::<Utc>::MIN_UTC,
                    end: DateTime::<Utc>::MAX_UTC,
                    is_date: false,
                    floating: false,
                }),
                _ => None,
            },
            Kind::Freebusy => {
                // Without DTSTART: the span of the FREEBUSY periods.
                let mut span: Option<(i64, i64)> = None;
                for (s, e) in freebusy_values(self.comp) {
                    span = Some(span.map_or((s, e), |(a, b)| (a.min(s), b.max(e))));
                }
                span.map(|(s, e)| Instance {
                    comp: self.idx,
                    recurrence_id,
                    start: utc_secs(s),
                    end: utc_secs(e),
                    is_date: false,
                    floating: false,
                })
            }
            Kind::Availability => Some(Instance {
                comp: self.idx,
                recurrence_id,
                start: DateTime::<Utc>::MIN_UTC,
                end: self
                    .dtend
                    .as_ref()
                    .map_or(DateTime::<Utc>::MAX_UTC, |e| e.utc()),
                is_date: false,
                floating: self.dtend.as_ref().is_some_and(|e| e.floating),
            }),
            _ => None,
        }
    }
}

/// The FREEBUSY periods of a component, in UTC seconds (RFC 5545 §3.8.2.6:
/// UTC values; a local value is read as UTC).
pub(crate) fn freebusy_values(comp: &ICalendarComponent) -> impl Iterator<Item = (i64, i64)> + '_ {
    comp.entries
        .iter()
        .filter(|e| e.name == ICalendarProperty::Freebusy)
        .flat_map(period_values)
}

/// The PERIOD values of one property, in UTC seconds.
pub(crate) fn period_values(entry: &ICalendarEntry) -> impl Iterator<Item = (i64, i64)> + '_ {
    entry.values.iter().filter_map(|v| match v {
        ICalendarValue::Period(p) => period_secs(p),
        _ => None,
    })
}

/// A PERIOD's start and end in UTC seconds (local values read as UTC).
pub(crate) fn period_secs(p: &ICalendarPeriod) -> Option<(i64, i64)> {
    let secs = |p: &PartialDateTime| {
        naive_of(p).map(|(t, _)| t.and_utc().timestamp() - offset_of(p).unwrap_or(0) as i64)
    };
    match p {
        ICalendarPeriod::Range { start, end } => Some((secs(start)?, secs(end)?)),
        ICalendarPeriod::Duration { start, duration } => {
            let s = secs(start)?;
            Some((s, s.saturating_add(duration.as_seconds())))
        }
    }
}

/// Bounds of an object's instants for the SQL index, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexBounds {
    /// `None`: −∞.
    pub first_start: Option<i64>,
    /// `None`: +∞ (an unbounded rule, a VTODO with CREATED only, …).
    pub last_end: Option<i64>,
    /// A single non-recurring VEVENT with neither floating nor DATE values:
    /// the bounds are exactly `[DTSTART, end)` and the query layer may decide
    /// RFC 4791 §9.9 itself: `end > start`: `s < end && e > start`;
    /// `end == start`: `s <= start && e > start`.
    pub simple: bool,
}

impl IndexBounds {
    /// Bounds of an object that never matches a time range (a VJOURNAL
    /// without DTSTART, §9.9): `first_start` = +∞, `last_end` = −∞.
    pub const NEVER: IndexBounds = IndexBounds {
        first_start: Some(i64::MAX),
        last_end: Some(i64::MIN),
        simple: false,
    };

    /// The index's test: can the object match the range [s, e)?
    pub fn may_overlap(&self, range: &TimeRange) -> bool {
        let (s, e) = range.millis();
        self.first_start.is_none_or(|f| f < e) && self.last_end.is_none_or(|l| l >= s)
    }
}

/// A conservative superset of the instants at which the object's
/// components can match a component time-range (RFC 4791 §9.9 for VEVENT,
/// VTODO, VJOURNAL, VFREEBUSY): an object can only match [s, e) if
/// `first_start < e` and `last_end >= s`. Not for VALARM or property
/// time-ranges (a query with those must parse the object).
///
/// Floating and DATE values are read as UTC and the bounds widened by
/// [`FLOATING_MARGIN_MS`] on each side, so that a change of the calendar's
/// zone does not require reindexing. Cost: O(components) for an unbounded
/// set; for a bounded one, O(instances) up to [`INDEX_MAX_INSTANCES`].
pub fn index_bounds(obj: &CalendarObject, resolver: &TzResolver) -> IndexBounds {
    let resolver = resolver.with_default(Zone::Utc);
    let ical = &obj.ical;
    let comps = obj.main_components();
    let timings: Vec<Timing<'_>> = comps
        .iter()
        .filter_map(|&idx| Timing::read(ical, idx, &resolver).ok())
        .filter(|t| t.kind != Kind::Other)
        .collect();

    if let [t] = timings.as_slice() {
        if t.kind == Kind::Event && !t.is_recurring() && t.rid.is_none() {
            if let Some(inst) = t.single_instance(None) {
                if !inst.floating && !inst.is_date && inst.end >= inst.start {
                    return IndexBounds {
                        first_start: Some(inst.start.timestamp_millis()),
                        last_end: Some(inst.end.timestamp_millis()),
                        simple: true,
                    };
                }
            }
        }
    }

    let unbounded = timings.iter().any(|t| {
        t.rid.is_none()
            && t.rrules
                .iter()
                .any(|r| r.count.is_none() && r.until.is_none())
    });
    let window = if unbounded {
        // Only the first instances matter: up to the latest DTSTART.
        let last_start = timings
            .iter()
            .filter_map(|t| t.dtstart.as_ref().map(|s| s.utc()))
            .max();
        TimeRange::new(None, last_start)
    } else {
        TimeRange::new(None, None)
    };
    let set = expand_set(ical, comps, &resolver, &window, INDEX_MAX_INSTANCES);

    let mut first = i64::MAX;
    let mut last = i64::MIN;
    let mut floating = false;
    for inst in &set.items {
        let Some(t) = timings.iter().find(|t| t.idx == inst.comp) else {
            continue;
        };
        let (lo, hi) = inst.span_ms();
        let (lo, hi) = match (t.kind, t.todo_shape()) {
            // Rows with an inclusive test on the upper instant ("end >= DUE").
            (Kind::Todo, TodoShape::Created) => (lo, i64::MAX),
            (Kind::Todo, _) => (lo.saturating_sub(1), hi),
            _ => (lo, hi),
        };
        first = first.min(lo);
        last = last.max(hi);
        floating |= inst.floating;
    }
    for t in &timings {
        // DTSTART counts even when an EXDATE removes it (conservative).
        if let (Some(start), None) = (&t.dtstart, &t.rid) {
            first = first.min(start.utc().timestamp_millis());
            floating |= start.floating;
        }
    }
    if first == i64::MAX && !unbounded {
        return IndexBounds::NEVER;
    }
    let margin = if floating { FLOATING_MARGIN_MS } else { 0 };
    let min_ms = DateTime::<Utc>::MIN_UTC.timestamp_millis();
    let max_ms = DateTime::<Utc>::MAX_UTC.timestamp_millis();
    IndexBounds {
        first_start: (first > min_ms && first != i64::MAX).then(|| first.saturating_sub(margin)),
        last_end: (!unbounded && !set.truncated && last < max_ms)
            .then(|| last.saturating_add(margin)),
        simple: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ical::object::parse_calendar_object;
    use chrono::TimeZone;

    fn utc(y: i32, m: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, mi, 0).unwrap()
    }

    fn obj(body: &str) -> CalendarObject {
        let text =
            format!("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:test\r\n{body}END:VCALENDAR\r\n");
        parse_calendar_object(text.as_bytes()).unwrap_or_else(|e| panic!("{e}: {text}"))
    }

    fn starts(
        o: &CalendarObject,
        zone: Option<Zone>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Vec<DateTime<Utc>> {
        let r = TzResolver::new(&o.ical, zone);
        instances(o, &r, &TimeRange::new(Some(from), Some(to)), 1000)
            .items
            .iter()
            .filter(|i| i.start < to && i.end >= from)
            .map(|i| i.start)
            .collect()
    }

    #[test]
    fn rrule_count_and_dst() {
        // RFC 5545 §3.8.5.3 example: daily for 10 occurrences, 09:00 New York
        // across nothing; then a weekly rule across the 2024 DST change.
        let o = obj("BEGIN:VEVENT\r\nUID:a\r\nDTSTART;TZID=America/New_York:19970902T090000\r\nRRULE:FREQ=DAILY;COUNT=10\r\nEND:VEVENT\r\n");
        let s = starts(&o, None, utc(1997, 1, 1, 0, 0), utc(1998, 1, 1, 0, 0));
        assert_eq!(s.len(), 10);
        assert_eq!(s[0], utc(1997, 9, 2, 13, 0));
        assert_eq!(s[9], utc(1997, 9, 11, 13, 0));
        let o = obj("BEGIN:VEVENT\r\nUID:a\r\nDTSTART;TZID=Europe/Paris:20240318T100000\r\nDURATION:PT1H\r\nRRULE:FREQ=WEEKLY;UNTIL=20240408T080000Z\r\nEND:VEVENT\r\n");
        let s = starts(&o, None, utc(2024, 1, 1, 0, 0), utc(2025, 1, 1, 0, 0));
        assert_eq!(
            s,
            vec![
                utc(2024, 3, 18, 9, 0),
                utc(2024, 3, 25, 9, 0),
                utc(2024, 4, 1, 8, 0),
                utc(2024, 4, 8, 8, 0)
            ]
        );
    }

    #[test]
    fn until_in_utc_is_inclusive() {
        // RFC 5545 §3.8.5.3: "Daily until December 24, 1997" → last Dec 23.
        let o = obj("BEGIN:VEVENT\r\nUID:a\r\nDTSTART;TZID=America/New_York:19970902T090000\r\nRRULE:FREQ=DAILY;UNTIL=19971224T000000Z\r\nEND:VEVENT\r\n");
        let s = starts(&o, None, utc(1997, 1, 1, 0, 0), utc(1999, 1, 1, 0, 0));
        assert_eq!(s.len(), 113);
        assert_eq!(*s.last().unwrap(), utc(1997, 12, 23, 14, 0));
    }

    #[test]
    fn by_parts_monthly_last_weekday() {
        let o = obj("BEGIN:VEVENT\r\nUID:a\r\nDTSTART:20240131T120000Z\r\nRRULE:FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1;COUNT=4\r\nEND:VEVENT\r\n");
        let s = starts(&o, None, utc(2024, 1, 1, 0, 0), utc(2025, 1, 1, 0, 0));
        assert_eq!(
            s,
            vec![
                utc(2024, 1, 31, 12, 0),
                utc(2024, 2, 29, 12, 0),
                utc(2024, 3, 29, 12, 0),
                utc(2024, 4, 30, 12, 0)
            ]
        );
    }

    #[test]
    fn rdate_exdate_and_periods() {
        let o = obj(
            "BEGIN:VEVENT\r\nUID:a\r\nDTSTART:20240101T100000Z\r\nDTEND:20240101T110000Z\r\n\
RRULE:FREQ=DAILY;COUNT=5\r\nEXDATE:20240102T100000Z,20240104T100000Z\r\n\
RDATE:20240110T100000Z\r\nRDATE;VALUE=PERIOD:20240120T080000Z/PT3H\r\nRDATE;VALUE=DATE:20240125\r\n\
RDATE:20240103T100000Z\r\nRDATE:20240130T100000Z/PT2H\r\nEND:VEVENT\r\n",
        );
        let r = TzResolver::new(&o.ical, None);
        let all = instances(&o, &r, &TimeRange::new(None, None), 100);
        let got: Vec<_> = all.iter().map(|i| (i.start, i.end)).collect();
        assert_eq!(
            got,
            vec![
                (utc(2024, 1, 1, 10, 0), utc(2024, 1, 1, 11, 0)),
                (utc(2024, 1, 3, 10, 0), utc(2024, 1, 3, 11, 0)),
                (utc(2024, 1, 5, 10, 0), utc(2024, 1, 5, 11, 0)),
                (utc(2024, 1, 10, 10, 0), utc(2024, 1, 10, 11, 0)),
                (utc(2024, 1, 20, 8, 0), utc(2024, 1, 20, 11, 0)),
                (utc(2024, 1, 25, 0, 0), utc(2024, 1, 25, 1, 0)),
                // Without VALUE=PERIOD (which RFC 5545 §3.8.5.2 requires),
                // calcard reads only the start of the period.
                (utc(2024, 1, 30, 10, 0), utc(2024, 1, 30, 11, 0)),
            ]
        );
        assert!(all.iter().all(|i| i.recurrence_id == Some(i.start)));
    }

    #[test]
    fn overrides_and_thisandfuture() {
        let o = obj("BEGIN:VEVENT\r\nUID:a\r\nDTSTART:20240101T100000Z\r\nDURATION:PT1H\r\nRRULE:FREQ=DAILY;COUNT=10\r\nEND:VEVENT\r\n\
BEGIN:VEVENT\r\nUID:a\r\nRECURRENCE-ID:20240103T100000Z\r\nDTSTART:20240115T100000Z\r\nDURATION:PT1H\r\nEND:VEVENT\r\n\
BEGIN:VEVENT\r\nUID:a\r\nRECURRENCE-ID;RANGE=THISANDFUTURE:20240106T100000Z\r\nDTSTART:20240106T120000Z\r\nDURATION:PT30M\r\nEND:VEVENT\r\n\
BEGIN:VEVENT\r\nUID:a\r\nRECURRENCE-ID:20240108T100000Z\r\nDTSTART:20240108T070000Z\r\nDURATION:PT1H\r\nEND:VEVENT\r\n");
        let r = TzResolver::new(&o.ical, None);
        let all = instances(&o, &r, &TimeRange::new(None, None), 100);
        let got: Vec<_> = all.iter().map(|i| (i.comp, i.start, i.end)).collect();
        let (m, moved, tf, single) = (
            o.main_components()[0],
            o.main_components()[1],
            o.main_components()[2],
            o.main_components()[3],
        );
        assert_eq!(
            got,
            vec![
                (m, utc(2024, 1, 1, 10, 0), utc(2024, 1, 1, 11, 0)),
                (m, utc(2024, 1, 2, 10, 0), utc(2024, 1, 2, 11, 0)),
                (m, utc(2024, 1, 4, 10, 0), utc(2024, 1, 4, 11, 0)),
                (m, utc(2024, 1, 5, 10, 0), utc(2024, 1, 5, 11, 0)),
                (tf, utc(2024, 1, 6, 12, 0), utc(2024, 1, 6, 12, 30)),
                (tf, utc(2024, 1, 7, 12, 0), utc(2024, 1, 7, 12, 30)),
                (single, utc(2024, 1, 8, 7, 0), utc(2024, 1, 8, 8, 0)),
                (tf, utc(2024, 1, 9, 12, 0), utc(2024, 1, 9, 12, 30)),
                (tf, utc(2024, 1, 10, 12, 0), utc(2024, 1, 10, 12, 30)),
                (moved, utc(2024, 1, 15, 10, 0), utc(2024, 1, 15, 11, 0)),
            ]
        );
        // The moved override is found where it now is, not where it was.
        let s = starts(&o, None, utc(2024, 1, 3, 0, 0), utc(2024, 1, 4, 0, 0));
        assert!(s.is_empty());
        let s = starts(&o, None, utc(2024, 1, 15, 0, 0), utc(2024, 1, 16, 0, 0));
        assert_eq!(s, vec![utc(2024, 1, 15, 10, 0)]);
    }

    #[test]
    fn thisandfuture_shift_in_local_time() {
        // Weekly Mondays 10:00 Paris; from March 25th on, everything moves a
        // week later (RECURRENCE-ID 03-25, DTSTART 04-01, after the DST
        // change): April 8th's instance is on April 15th at 10:00 CEST.
        let o = obj("BEGIN:VEVENT\r\nUID:a\r\nDTSTART;TZID=Europe/Paris:20240304T100000\r\nDURATION:PT1H\r\nRRULE:FREQ=WEEKLY;COUNT=6\r\nEND:VEVENT\r\n\
BEGIN:VEVENT\r\nUID:a\r\nRECURRENCE-ID;TZID=Europe/Paris;RANGE=THISANDFUTURE:20240325T100000\r\nDTSTART;TZID=Europe/Paris:20240401T100000\r\nDURATION:PT90M\r\nEND:VEVENT\r\n");
        let r = TzResolver::new(&o.ical, None);
        let all = instances(
            &o,
            &r,
            &TimeRange::new(Some(utc(2024, 4, 2, 0, 0)), None),
            100,
        );
        let got: Vec<_> = all
            .iter()
            .map(|i| (i.recurrence_id.unwrap(), i.start, i.end))
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    utc(2024, 4, 1, 8, 0),
                    utc(2024, 4, 8, 8, 0),
                    utc(2024, 4, 8, 9, 30)
                ),
                (
                    utc(2024, 4, 8, 8, 0),
                    utc(2024, 4, 15, 8, 0),
                    utc(2024, 4, 15, 9, 30)
                ),
            ]
        );
    }

    #[test]
    fn all_day_and_durations() {
        let paris = Zone::from_name("Europe/Paris");
        // DATE without DTEND: one day in the default zone (RFC 5545 §3.6.1).
        let o = obj("BEGIN:VEVENT\r\nUID:a\r\nDTSTART;VALUE=DATE:20240701\r\nEND:VEVENT\r\n");
        let r = TzResolver::new(&o.ical, paris.clone());
        let i = instances(&o, &r, &TimeRange::new(None, None), 10);
        assert_eq!(
            (i[0].start, i[0].end, i[0].is_date, i[0].floating),
            (utc(2024, 6, 30, 22, 0), utc(2024, 7, 1, 22, 0), true, true)
        );
        // DATE-TIME without DTEND: zero length.
        let o = obj("BEGIN:VEVENT\r\nUID:a\r\nDTSTART:20240701T100000Z\r\nEND:VEVENT\r\n");
        let i = instances(
            &o,
            &TzResolver::new(&o.ical, None),
            &TimeRange::new(None, None),
            10,
        );
        assert_eq!(i[0].start, i[0].end);
        // Nominal DURATION across the DST change keeps the local time
        // (§3.3.6): P1D from Saturday 12:00 is Sunday 12:00, 23 hours.
        let o = obj("BEGIN:VEVENT\r\nUID:a\r\nDTSTART;TZID=Europe/Paris:20240330T120000\r\nDURATION:P1D\r\nEND:VEVENT\r\n");
        let i = instances(
            &o,
            &TzResolver::new(&o.ical, None),
            &TimeRange::new(None, None),
            10,
        );
        assert_eq!(
            (i[0].start, i[0].end),
            (utc(2024, 3, 30, 11, 0), utc(2024, 3, 31, 10, 0))
        );
        // DTEND's exact duration repeats exactly: 24 h every time.
        let o = obj("BEGIN:VEVENT\r\nUID:a\r\nDTSTART;TZID=Europe/Paris:20240329T120000\r\nDTEND;TZID=Europe/Paris:20240330T120000\r\nRRULE:FREQ=DAILY;COUNT=2\r\nEND:VEVENT\r\n");
        let i = instances(
            &o,
            &TzResolver::new(&o.ical, None),
            &TimeRange::new(None, None),
            10,
        );
        assert_eq!(
            (i[1].start, i[1].end),
            (utc(2024, 3, 30, 11, 0), utc(2024, 3, 31, 11, 0))
        );
        // VTODO: DUE gives the end; DUE alone is an instant.
        let o = obj("BEGIN:VTODO\r\nUID:t\r\nDTSTART:20240101T090000Z\r\nDUE:20240101T170000Z\r\nRRULE:FREQ=WEEKLY;COUNT=2\r\nEND:VTODO\r\n");
        let i = instances(
            &o,
            &TzResolver::new(&o.ical, None),
            &TimeRange::new(None, None),
            10,
        );
        assert_eq!(
            (i[1].start, i[1].end),
            (utc(2024, 1, 8, 9, 0), utc(2024, 1, 8, 17, 0))
        );
        let o = obj("BEGIN:VTODO\r\nUID:t\r\nDUE:20240101T170000Z\r\nEND:VTODO\r\n");
        let i = instances(
            &o,
            &TzResolver::new(&o.ical, None),
            &TimeRange::new(None, None),
            10,
        );
        assert_eq!(
            (i[0].start, i[0].end),
            (utc(2024, 1, 1, 17, 0), utc(2024, 1, 1, 17, 0))
        );
    }

    #[test]
    fn infinite_rule_is_cheap_and_bounded() {
        // Daily since 2004, every minute since 2020: a one-month window is
        // reached without iterating the past, and never past its end.
        let o = obj("BEGIN:VEVENT\r\nUID:a\r\nDTSTART;TZID=Europe/Paris:20040105T090000\r\nDURATION:PT1H\r\nRRULE:FREQ=DAILY\r\nEND:VEVENT\r\n");
        let t0 = std::time::Instant::now();
        for _ in 0..100 {
            let s = starts(&o, None, utc(2024, 6, 1, 0, 0), utc(2024, 7, 1, 0, 0));
            assert_eq!(s.len(), 30);
            assert_eq!(s[0], utc(2024, 6, 1, 7, 0));
        }
        assert!(t0.elapsed().as_secs() < 5, "{:?}", t0.elapsed());
        let o = obj("BEGIN:VEVENT\r\nUID:a\r\nDTSTART:20200101T000000Z\r\nRRULE:FREQ=MINUTELY;INTERVAL=7\r\nEND:VEVENT\r\n");
        let s = starts(&o, None, utc(2024, 6, 1, 0, 0), utc(2024, 6, 1, 1, 0));
        assert!(s.len() >= 8 && s.len() <= 9, "{}", s.len());
        assert!(s
            .iter()
            .all(|t| (t.timestamp() - utc(2020, 1, 1, 0, 0).timestamp()) % 420 == 0));
        for (freq, by) in [
            ("WEEKLY", ""),
            ("MONTHLY", ""),
            ("YEARLY", ""),
            ("MONTHLY", ";BYDAY=2TU"),
            ("YEARLY", ";BYMONTH=6;BYDAY=-1SU"),
            ("WEEKLY", ";INTERVAL=3;BYDAY=MO,FR"),
        ] {
            let o = obj(&format!("BEGIN:VEVENT\r\nUID:a\r\nDTSTART:20000606T060000Z\r\nRRULE:FREQ={freq}{by}\r\nEND:VEVENT\r\n"));
            let fast = starts(&o, None, utc(2024, 1, 1, 0, 0), utc(2025, 1, 1, 0, 0));
            // Same as a full enumeration from DTSTART.
            let r = TzResolver::new(&o.ical, None);
            let full: Vec<_> = instances(
                &o,
                &r,
                &TimeRange::new(None, Some(utc(2025, 1, 1, 0, 0))),
                100_000,
            )
            .items
            .into_iter()
            .filter(|i| i.start >= utc(2024, 1, 1, 0, 0) && i.start < utc(2025, 1, 1, 0, 0))
            .map(|i| i.start)
            .collect();
            assert_eq!(fast, full, "{freq}{by}");
            assert!(!fast.is_empty());
        }
    }

    #[test]
    fn custom_zone_event() {
        // An event in a VTIMEZONE that is no IANA zone: +0330 in winter,
        // +0430 from the first Sunday of April to the last of September.
        let o = obj("BEGIN:VTIMEZONE\r\nTZID:My Custom Zone\r\n\
BEGIN:STANDARD\r\nDTSTART:20000924T030000\r\nRRULE:FREQ=YEARLY;BYMONTH=9;BYDAY=-1SU\r\nTZOFFSETFROM:+0430\r\nTZOFFSETTO:+0330\r\nEND:STANDARD\r\n\
BEGIN:DAYLIGHT\r\nDTSTART:20000402T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=4;BYDAY=1SU\r\nTZOFFSETFROM:+0330\r\nTZOFFSETTO:+0430\r\nEND:DAYLIGHT\r\n\
END:VTIMEZONE\r\nBEGIN:VEVENT\r\nUID:c\r\nDTSTART;TZID=\"My Custom Zone\":20240401T090000\r\nDURATION:PT1H\r\n\
RRULE:FREQ=WEEKLY;COUNT=3\r\nEND:VEVENT\r\n");
        let s = starts(&o, None, utc(2024, 1, 1, 0, 0), utc(2025, 1, 1, 0, 0));
        assert_eq!(
            s,
            vec![
                utc(2024, 4, 1, 5, 30),
                utc(2024, 4, 8, 4, 30),
                utc(2024, 4, 15, 4, 30)
            ]
        );
    }

    #[test]
    fn rules_that_never_match_terminate() {
        // calcard gives up after its own search limit; the object stays valid
        // (DTSTART is its one instance).
        for rule in [
            "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30",
            "FREQ=SECONDLY;BYMONTH=2;BYMONTHDAY=30",
        ] {
            let o = obj(&format!("BEGIN:VEVENT\r\nUID:a\r\nDTSTART:20240101T100000Z\r\nRRULE:{rule}\r\nEND:VEVENT\r\n"));
            let s = starts(&o, None, utc(2020, 1, 1, 0, 0), utc(2030, 1, 1, 0, 0));
            assert_eq!(s, vec![utc(2024, 1, 1, 10, 0)], "{rule}");
        }
    }

    #[test]
    fn extreme_values_do_not_panic() {
        // Stored before PUT refused negative durations: parsed as stored.
        let stored = |body: &str| {
            let text = format!("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:test\r\n{body}END:VCALENDAR\r\n");
            crate::ical::object::parse_stored(text).unwrap()
        };
        let o = stored("BEGIN:VEVENT\r\nUID:a\r\nDTSTART:99991231T230000Z\r\nDURATION:P4294967295W4294967295DT4294967295H\r\n\
RRULE:FREQ=SECONDLY;INTERVAL=65535\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:a\r\nRECURRENCE-ID;RANGE=THISANDFUTURE:99991231T230000Z\r\n\
DTSTART:00010101T000000Z\r\nDURATION:-P4294967295W\r\nEND:VEVENT\r\n");
        let r = TzResolver::new(&o.ical, None);
        for w in [
            TimeRange::new(None, None),
            TimeRange::new(
                Some(DateTime::<Utc>::MIN_UTC),
                Some(DateTime::<Utc>::MAX_UTC),
            ),
        ] {
            let _ = instances(&o, &r, &w, 100);
        }
        let _ = index_bounds(&o, &r);
    }

    #[test]
    fn limit_truncates() {
        let o = obj("BEGIN:VEVENT\r\nUID:a\r\nDTSTART:20240101T000000Z\r\nRRULE:FREQ=HOURLY\r\nEND:VEVENT\r\n");
        let r = TzResolver::new(&o.ical, None);
        let i = instances(
            &o,
            &r,
            &TimeRange::new(Some(utc(2024, 1, 1, 0, 0)), Some(utc(2024, 2, 1, 0, 0))),
            10,
        );
        assert_eq!(i.len(), 10);
        assert!(i.truncated);
    }

    #[test]
    fn index_bounds_cases() {
        let ms = |t: DateTime<Utc>| t.timestamp_millis();
        let r = TzResolver::empty(None);
        let o = obj("BEGIN:VEVENT\r\nUID:a\r\nDTSTART:20240101T100000Z\r\nDTEND:20240101T110000Z\r\nEND:VEVENT\r\n");
        assert_eq!(
            index_bounds(&o, &r),
            IndexBounds {
                first_start: Some(ms(utc(2024, 1, 1, 10, 0))),
                last_end: Some(ms(utc(2024, 1, 1, 11, 0))),
                simple: true
            }
        );
        // Floating: widened by 14 h, not simple.
        let o = obj("BEGIN:VEVENT\r\nUID:a\r\nDTSTART:20240101T100000\r\nDTEND:20240101T110000\r\nEND:VEVENT\r\n");
        let b = index_bounds(&o, &TzResolver::new(&o.ical, Zone::from_name("Asia/Tokyo")));
        assert_eq!(b.first_start, Some(ms(utc(2023, 12, 31, 20, 0))));
        assert_eq!(b.last_end, Some(ms(utc(2024, 1, 2, 1, 0))));
        assert!(!b.simple);
        // All-day: the day widened.
        let o = obj("BEGIN:VEVENT\r\nUID:a\r\nDTSTART;VALUE=DATE:20240101\r\nEND:VEVENT\r\n");
        let b = index_bounds(&o, &r);
        assert_eq!(
            (b.first_start, b.last_end),
            (
                Some(ms(utc(2023, 12, 31, 10, 0))),
                Some(ms(utc(2024, 1, 2, 14, 0)))
            )
        );
        // Unbounded rule.
        let o = obj("BEGIN:VEVENT\r\nUID:a\r\nDTSTART:20040101T100000Z\r\nRRULE:FREQ=DAILY\r\nEND:VEVENT\r\n");
        let b = index_bounds(&o, &r);
        assert_eq!(
            (b.first_start, b.last_end, b.simple),
            (Some(ms(utc(2004, 1, 1, 10, 0))), None, false)
        );
        // COUNT: the last instance's end.
        let o = obj("BEGIN:VEVENT\r\nUID:a\r\nDTSTART:20240101T100000Z\r\nDURATION:PT1H\r\nRRULE:FREQ=DAILY;COUNT=3\r\nEND:VEVENT\r\n");
        let b = index_bounds(&o, &r);
        assert_eq!(
            (b.first_start, b.last_end),
            (
                Some(ms(utc(2024, 1, 1, 10, 0))),
                Some(ms(utc(2024, 1, 3, 11, 0)))
            )
        );
        // An override moved later extends the bounds.
        let o = obj("BEGIN:VEVENT\r\nUID:a\r\nDTSTART:20240101T100000Z\r\nRRULE:FREQ=DAILY;UNTIL=20240103T100000Z\r\nEND:VEVENT\r\n\
BEGIN:VEVENT\r\nUID:a\r\nRECURRENCE-ID:20240102T100000Z\r\nDTSTART:20240301T100000Z\r\nEND:VEVENT\r\n");
        assert_eq!(
            index_bounds(&o, &r).last_end,
            Some(ms(utc(2024, 3, 1, 10, 0)))
        );
        // VTODO without any date overlaps everything; with CREATED only, open end.
        let o = obj("BEGIN:VTODO\r\nUID:t\r\nEND:VTODO\r\n");
        assert_eq!(
            index_bounds(&o, &r),
            IndexBounds {
                first_start: None,
                last_end: None,
                simple: false
            }
        );
        let o = obj("BEGIN:VTODO\r\nUID:t\r\nCREATED:20240101T000000Z\r\nEND:VTODO\r\n");
        let b = index_bounds(&o, &r);
        assert_eq!(b.last_end, None);
        assert!(b.first_start.is_some());
        // VTODO DUE only: "end >= DUE" needs first_start < DUE.
        let o = obj("BEGIN:VTODO\r\nUID:t\r\nDUE:20240101T000000Z\r\nEND:VTODO\r\n");
        let b = index_bounds(&o, &r);
        assert!(b.may_overlap(&TimeRange::new(
            Some(utc(2023, 1, 1, 0, 0)),
            Some(utc(2024, 1, 1, 0, 0))
        )));
        // VJOURNAL without DTSTART never matches.
        let o = obj("BEGIN:VJOURNAL\r\nUID:j\r\nSUMMARY:x\r\nEND:VJOURNAL\r\n");
        assert_eq!(index_bounds(&o, &r), IndexBounds::NEVER);
        assert!(!IndexBounds::NEVER.may_overlap(&TimeRange::new(None, None)));
    }

    #[test]
    fn index_bounds_of_an_object_without_instances() {
        // Found by fuzzing (fuzz/fuzz_targets/ical_put.rs, the exact
        // input): a VFREEBUSY with DTSTART but neither DTEND nor FREEBUSY
        // never overlaps a time range (RFC 4791 §9.9, "N | N | FALSE").
        // It has no instance; its DTSTART still counts as the first start
        // (conservatively), so the bounds are inverted: an empty set that
        // no range with a start meets.
        let text = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Eyample Corp.//CalDAV Client//EN\r\nPETHOD:REQUEST\r\n\
BEGIN:VFREEBUSY\r\nUID:4FD3AD926350\r\nDTSTAMP:20090602T190420Z\r\nDTSTART:20090602T000000Z\r\nto:bernard@example.net\r\n\
ATTENDEE;CDouglass\":mailto:mike@example.org\r\nEND:VFREEBUSY\r\nEND:VCALENDAR\r\n";
        let o = parse_calendar_object(text.as_bytes()).unwrap();
        let r = TzResolver::new(&o.ical, None);
        assert!(instances(&o, &r, &TimeRange::new(None, None), 10).items.is_empty());
        let b = index_bounds(&o, &r);
        assert!(b.first_start.zip(b.last_end).is_some_and(|(f, l)| f > l), "{b:?}");
        for (s, e) in [(utc(2009, 6, 1, 0, 0), Some(utc(2009, 7, 1, 0, 0))), (utc(1970, 1, 1, 0, 0), None)] {
            let range = TimeRange::new(Some(s), e);
            assert!(!b.may_overlap(&range));
            let ctx = crate::ical::timerange::TimeContext::new(&o, None);
            let comp = o.main_components()[0];
            assert!(!crate::ical::TimeRangeEval::component_overlaps(&ctx, comp, None, &range));
        }
    }
}
