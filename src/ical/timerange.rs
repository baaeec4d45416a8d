//! RFC 4791 §9.9 time-range tests over one calendar object: components
//! (VEVENT, VTODO, VJOURNAL, VFREEBUSY, VALARM; VAVAILABILITY / AVAILABLE
//! as intervals, RFC 7953) and DATE / DATE-TIME properties (§9.7.2).
//! Every recurrence instance is considered, with EXDATE and overrides
//! applied ([`super::recur`]).

use std::{cell::RefCell, rc::Rc};

use calcard::icalendar::{
    ICalendarComponentType, ICalendarParameterName, ICalendarParameterValue, ICalendarPeriod,
    ICalendarProperty, ICalendarRelated, ICalendarValue,
};
use chrono::{DateTime, Utc};

use super::{
    object::CalendarObject,
    recur::{
        expand_set, freebusy_values, period_secs, Instance, Instances, Kind, Timing, TodoShape,
    },
    tz::{TzResolver, Zone},
    TimeRange, TimeRangeEval,
};

/// Instances considered per time-range test at most.
pub const MAX_TEST_INSTANCES: usize = 50_000;

/// What the §9.9 tables need to know about a component.
#[derive(Debug, Clone, Copy)]
struct CompInfo {
    idx: u32,
    kind: Kind,
    shape: TodoShape,
}

/// Time-range evaluation of one object, with the calendar's default zone
/// for floating times and DATE values.
pub struct TimeContext<'a> {
    obj: &'a CalendarObject,
    resolver: TzResolver,
    infos: Vec<CompInfo>,
    cache: RefCell<Option<(TimeRange, Rc<Instances>)>>,
    /// Some instances asked for could not be enumerated (a limit): an
    /// answer that depends on them may be wrong, see
    /// [`TimeContext::incomplete`].
    incomplete: std::cell::Cell<bool>,
}

impl<'a> TimeContext<'a> {
    /// `default_zone`: the calendar's `calendar-timezone` (`None`: UTC).
    pub fn new(obj: &'a CalendarObject, default_zone: Option<Zone>) -> TimeContext<'a> {
        TimeContext::with_resolver(obj, obj.resolver(default_zone))
    }

    pub fn with_resolver(obj: &'a CalendarObject, resolver: TzResolver) -> TimeContext<'a> {
        let infos = obj
            .main_components()
            .iter()
            .filter_map(|&idx| Timing::read(&obj.ical, idx, &resolver).ok())
            .map(|t| CompInfo {
                idx: t.idx,
                kind: t.kind,
                shape: t.todo_shape(),
            })
            .collect();
        TimeContext {
            obj,
            resolver,
            infos,
            cache: RefCell::new(None),
            incomplete: std::cell::Cell::new(false),
        }
    }

    pub fn object(&self) -> &'a CalendarObject {
        self.obj
    }

    pub fn resolver(&self) -> &TzResolver {
        &self.resolver
    }

    /// The object's instances that may overlap `window` (cached for the
    /// last window asked).
    pub fn instances(&self, window: &TimeRange) -> Rc<Instances> {
        if let Some((w, inst)) = &*self.cache.borrow() {
            if w == window {
                return inst.clone();
            }
        }
        let inst = Rc::new(expand_set(
            &self.obj.ical,
            self.obj.main_components(),
            &self.resolver,
            window,
            MAX_TEST_INSTANCES,
        ));
        if inst.truncated {
            self.incomplete.set(true);
        }
        *self.cache.borrow_mut() = Some((*window, inst.clone()));
        inst
    }

    /// Whether some evaluation needed more instances than the limits allow
    /// ([`MAX_TEST_INSTANCES`], the rule iteration cap, the compute budget):
    /// a time-range answer may then be wrong, and the caller says so
    /// rather than use it.
    pub fn incomplete(&self) -> bool {
        self.incomplete.get()
    }

    fn info(&self, comp: u32) -> Option<CompInfo> {
        self.infos.iter().find(|i| i.idx == comp).copied()
    }

    /// RFC 4791 §9.9: does this instance overlap `range`, by the table of
    /// its component's type?
    pub fn instance_overlaps(&self, inst: &Instance, range: &TimeRange) -> bool {
        let Some(info) = self.info(inst.comp) else {
            return false;
        };
        let (s, e) = range.millis();
        let (start, end) = (inst.start.timestamp_millis(), inst.end.timestamp_millis());
        match info.kind {
            Kind::Event | Kind::Journal => interval_or_instant(s, e, start, end),
            Kind::Todo => todo_overlaps(info.shape, s, e, start, end),
            Kind::Freebusy => self.freebusy_overlaps(inst.comp, s, e),
            Kind::Availability => s < end && e > start,
            Kind::Other => false,
        }
    }

    /// VFREEBUSY (§9.9): with DTSTART and DTEND, `start <= DTEND AND end >
    /// DTSTART`; else any FREEBUSY period with `start < period-end AND end >
    /// period-start`; else false. DURATION is ignored.
    fn freebusy_overlaps(&self, comp: u32, s: i64, e: i64) -> bool {
        let Ok(t) = Timing::read(&self.obj.ical, comp, &self.resolver) else {
            return false;
        };
        if let (Some(start), Some(end)) = (&t.dtstart, &t.dtend) {
            return s <= end.utc().timestamp_millis() && e > start.utc().timestamp_millis();
        }
        freebusy_values(t.comp)
            .any(|(ps, pe)| s < pe.saturating_mul(1000) && e > ps.saturating_mul(1000))
    }

    /// VALARM (§9.9): `start <= trigger-time AND end > trigger-time` for
    /// any trigger, a trigger repeating REPEAT times every DURATION (RFC 5545
    /// §3.8.6.2). A relative TRIGGER (§3.8.6.3) applies to each instance of
    /// the parent, at its start (RELATED=START, the default) or its end; an
    /// absolute one once. For a VTODO without DTSTART, START is its DUE (as
    /// RFC 4791 §7.8.5's example does).
    fn alarm_overlaps(&self, alarm: u32, parent: u32, range: &TimeRange) -> bool {
        let Some(comp) = self.obj.component(alarm) else {
            return false;
        };
        let (s, e) = range.millis();
        let mut trigger = None;
        let mut repeat = 0i64;
        let mut interval = 0i64;
        for entry in &comp.entries {
            match (&entry.name, entry.values.first()) {
                (ICalendarProperty::Trigger, Some(ICalendarValue::Duration(d))) => {
                    let end = entry.params.iter().any(|p| {
                        p.name == ICalendarParameterName::Related
                            && matches!(
                                p.value,
                                ICalendarParameterValue::Related(ICalendarRelated::End)
                            )
                    });
                    trigger = Some(Trigger::Relative {
                        end,
                        offset: d.as_seconds().saturating_mul(1000),
                    });
                }
                (ICalendarProperty::Trigger, Some(ICalendarValue::PartialDateTime(p))) => {
                    trigger = self
                        .resolver
                        .value(entry, p)
                        .map(|v| Trigger::Absolute(v.utc().timestamp_millis()));
                }
                (ICalendarProperty::Repeat, Some(ICalendarValue::Integer(n))) => {
                    repeat = (*n).max(0)
                }
                (ICalendarProperty::Duration, Some(ICalendarValue::Duration(d))) => {
                    interval = d.as_seconds().saturating_mul(1000)
                }
                _ => {}
            }
        }
        if interval <= 0 {
            repeat = 0;
        }
        let span = repeat.saturating_mul(interval);
        match trigger {
            None => false,
            Some(Trigger::Absolute(t)) => fires_in(t, repeat, interval, s, e),
            Some(Trigger::Relative { end, offset }) => {
                let Some(info) = self.info(parent) else {
                    return false;
                };
                if info.kind == Kind::Todo
                    && !matches!(
                        info.shape,
                        TodoShape::StartDue
                            | TodoShape::StartDuration
                            | TodoShape::Start
                            | TodoShape::Due
                    )
                {
                    return false;
                }
                // Instances whose start or end can put a trigger in range.
                let lo = s
                    .saturating_sub(offset)
                    .saturating_sub(span)
                    .saturating_sub(1000);
                let hi = e.saturating_sub(offset).saturating_add(1000);
                let window = TimeRange::new(ms_time(lo, s == i64::MIN), ms_time(hi, e == i64::MAX));
                self.instances(&window)
                    .iter()
                    .filter(|i| i.comp == parent)
                    .any(|inst| {
                        let base = if end { inst.end } else { inst.start };
                        fires_in(
                            base.timestamp_millis().saturating_add(offset),
                            repeat,
                            interval,
                            s,
                            e,
                        )
                    })
            }
        }
    }

    /// RFC 4791 §9.9 note: the time-range of DTEND when a VEVENT has
    /// DURATION instead (the "effective" DTEND, DTSTART+DURATION), or of DUE
    /// when a VTODO has DTSTART and DURATION: `start <= end AND end > end`
    /// over every instance of `comp`.
    pub fn effective_end_overlaps(&self, comp: u32, range: &TimeRange) -> bool {
        let (s, e) = range.millis();
        self.instances(range)
            .iter()
            .filter(|i| i.comp == comp)
            .any(|i| at_instant(s, e, i.end.timestamp_millis()))
    }
}

enum Trigger {
    Relative { end: bool, offset: i64 },
    Absolute(i64),
}

fn ms_time(ms: i64, open: bool) -> Option<DateTime<Utc>> {
    if open {
        return None;
    }
    Some(DateTime::from_timestamp_millis(ms).unwrap_or(if ms < 0 {
        DateTime::<Utc>::MIN_UTC
    } else {
        DateTime::<Utc>::MAX_UTC
    }))
}

/// Is one of `t + k·interval` (0 ≤ k ≤ repeat) in [s, e)? O(1).
fn fires_in(t: i64, repeat: i64, interval: i64, s: i64, e: i64) -> bool {
    let k = if t >= s || interval <= 0 {
        0
    } else {
        let gap = s.saturating_sub(t);
        gap / interval + i64::from(gap % interval != 0)
    };
    k <= repeat && at_instant(s, e, t.saturating_add(k.saturating_mul(interval)))
}

/// `start <= t AND end > t` (§9.9 for instants).
fn at_instant(s: i64, e: i64, t: i64) -> bool {
    s <= t && e > t
}

/// VEVENT (§9.9): `start < end' AND end > start'` for a positive length
/// (DTEND, DURATION > 0, a DATE's one day); `start <= DTSTART AND end >
/// DTSTART` otherwise. VJOURNAL: the same with P1D for a DATE.
fn interval_or_instant(s: i64, e: i64, start: i64, end: i64) -> bool {
    if end > start {
        s < end && e > start
    } else {
        at_instant(s, e, start)
    }
}

/// VTODO (§9.9), with `start`/`end` the instance's DTSTART and DUE (or
/// DTSTART+DURATION); for the COMPLETED/CREATED rows, min and max of the
/// two (CREATED alone: start = CREATED).
fn todo_overlaps(shape: TodoShape, s: i64, e: i64, start: i64, end: i64) -> bool {
    match shape {
        TodoShape::StartDuration => s <= end && (e > start || e >= end),
        TodoShape::StartDue => (s < end || s <= start) && (e > start || e >= end),
        TodoShape::Start => s <= start && e > start,
        TodoShape::Due => s < end && e >= end,
        // ((start <= CREATED) OR (start <= COMPLETED)) AND ((end >= CREATED) OR (end >= COMPLETED))
        TodoShape::CompletedCreated => s <= end && e >= start,
        TodoShape::Completed => s <= start && e >= start,
        TodoShape::Created => e > start,
        TodoShape::Always => true,
    }
}

impl TimeRangeEval for TimeContext<'_> {
    fn component_overlaps(&self, comp: u32, parent: Option<u32>, range: &TimeRange) -> bool {
        let Some(component) = self.obj.component(comp) else {
            return false;
        };
        if component.component_type == ICalendarComponentType::VAlarm {
            let parent = parent.or_else(|| {
                self.obj
                    .ical
                    .components
                    .iter()
                    .position(|c| c.component_ids.contains(&comp))
                    .map(|p| p as u32)
            });
            return parent.is_some_and(|p| self.alarm_overlaps(comp, p, range));
        }
        if self.info(comp).is_none() {
            // Not a top-level component of the object (e.g. AVAILABLE inside
            // VAVAILABILITY): its own times, without recurrence.
            let Ok(t) = Timing::read(&self.obj.ical, comp, &self.resolver) else {
                return false;
            };
            let (s, e) = range.millis();
            return match (t.kind, t.single_instance(None)) {
                (Kind::Availability, Some(i)) => {
                    s < i.end.timestamp_millis() && e > i.start.timestamp_millis()
                }
                (Kind::Event | Kind::Journal, Some(i)) => {
                    interval_or_instant(s, e, i.start.timestamp_millis(), i.end.timestamp_millis())
                }
                _ => false,
            };
        }
        self.instances(range)
            .iter()
            .any(|inst| inst.comp == comp && self.instance_overlaps(inst, range))
    }

    /// §9.9: COMPLETED, CREATED, DTEND, DTSTAMP, DTSTART, DUE, LAST-MODIFIED
    /// (and any other DATE / DATE-TIME property): `start <= value AND end >
    /// value`; a PERIOD value overlaps as an interval. DTSTART, DTEND and DUE
    /// of a recurring component are tested on every instance.
    fn property_overlaps(&self, comp: u32, entry: usize, range: &TimeRange) -> bool {
        let Some(component) = self.obj.component(comp) else {
            return false;
        };
        let Some(prop) = component.entries.get(entry) else {
            return false;
        };
        let (s, e) = range.millis();
        if component.is_recurrent() && self.info(comp).is_some() {
            let at_start = match prop.name {
                ICalendarProperty::Dtstart => Some(true),
                ICalendarProperty::Dtend | ICalendarProperty::Due => Some(false),
                _ => None,
            };
            if let Some(at_start) = at_start {
                return self
                    .instances(range)
                    .iter()
                    .filter(|i| i.comp == comp)
                    .any(|i| {
                        at_instant(
                            s,
                            e,
                            if at_start { i.start } else { i.end }.timestamp_millis(),
                        )
                    });
            }
        }
        prop.values.iter().any(|value| match value {
            ICalendarValue::PartialDateTime(p) => self
                .resolver
                .value(prop, p)
                .is_some_and(|v| at_instant(s, e, v.utc().timestamp_millis())),
            ICalendarValue::Period(period) => period_overlaps(period, s, e),
            _ => false,
        })
    }
}

fn period_overlaps(period: &ICalendarPeriod, s: i64, e: i64) -> bool {
    period_secs(period)
        .is_some_and(|(ps, pe)| s < pe.saturating_mul(1000) && e > ps.saturating_mul(1000))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ical::object::parse_calendar_object;
    use chrono::TimeZone;

    fn t(s: &str) -> DateTime<Utc> {
        let n = chrono::NaiveDateTime::parse_from_str(s, "%Y%m%dT%H%M%SZ").unwrap();
        Utc.from_utc_datetime(&n)
    }

    fn range(s: &str, e: &str) -> TimeRange {
        TimeRange::new((!s.is_empty()).then(|| t(s)), (!e.is_empty()).then(|| t(e)))
    }

    fn obj(body: &str) -> CalendarObject {
        let text =
            format!("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:test\r\n{body}END:VCALENDAR\r\n");
        parse_calendar_object(text.as_bytes()).unwrap_or_else(|e| panic!("{e}: {text}"))
    }

    /// Does the first main component overlap [s, e)?
    fn hit(o: &CalendarObject, s: &str, e: &str) -> bool {
        let ctx = TimeContext::new(o, None);
        ctx.component_overlaps(o.main_components()[0], None, &range(s, e))
    }

    #[test]
    fn vevent_table() {
        // Y N N *: DTEND.
        let o = obj("BEGIN:VEVENT\r\nUID:a\r\nDTSTART:20240101T100000Z\r\nDTEND:20240101T110000Z\r\nEND:VEVENT\r\n");
        assert!(hit(&o, "20240101T103000Z", "20240101T104000Z"));
        assert!(hit(&o, "20240101T090000Z", "20240101T100001Z"));
        assert!(!hit(&o, "20240101T110000Z", "20240101T120000Z")); // start < DTEND fails
        assert!(!hit(&o, "20240101T090000Z", "20240101T100000Z")); // end > DTSTART fails
                                                                   // N Y Y *: DURATION > 0.
        let o = obj(
            "BEGIN:VEVENT\r\nUID:a\r\nDTSTART:20240101T100000Z\r\nDURATION:PT1H\r\nEND:VEVENT\r\n",
        );
        assert!(hit(&o, "20240101T105959Z", "20240102T000000Z"));
        assert!(!hit(&o, "20240101T110000Z", "20240102T000000Z"));
        // N Y N *: DURATION = 0 → instant.
        let o = obj(
            "BEGIN:VEVENT\r\nUID:a\r\nDTSTART:20240101T100000Z\r\nDURATION:PT0S\r\nEND:VEVENT\r\n",
        );
        assert!(hit(&o, "20240101T100000Z", "20240101T100001Z"));
        assert!(!hit(&o, "20240101T090000Z", "20240101T100000Z"));
        // N N N Y: DATE-TIME alone → instant.
        let o = obj("BEGIN:VEVENT\r\nUID:a\r\nDTSTART:20240101T100000Z\r\nEND:VEVENT\r\n");
        assert!(hit(&o, "20240101T100000Z", "20240101T100001Z"));
        assert!(!hit(&o, "20240101T100001Z", "20240101T110000Z"));
        // N N N N: DATE alone → one day (UTC default zone here).
        let o = obj("BEGIN:VEVENT\r\nUID:a\r\nDTSTART;VALUE=DATE:20240101\r\nEND:VEVENT\r\n");
        assert!(hit(&o, "20240101T235959Z", "20240102T120000Z"));
        assert!(!hit(&o, "20240102T000000Z", "20240102T120000Z"));
        // The same all-day event in Tokyo's calendar zone.
        let ctx = TimeContext::new(&o, Zone::from_name("Asia/Tokyo"));
        assert!(ctx.component_overlaps(
            o.main_components()[0],
            None,
            &range("20231231T150000Z", "20231231T150001Z")
        ));
        assert!(!ctx.component_overlaps(
            o.main_components()[0],
            None,
            &range("20240101T150000Z", "")
        ));
        // Open-ended ranges.
        let o = obj("BEGIN:VEVENT\r\nUID:a\r\nDTSTART:20240101T100000Z\r\nDTEND:20240101T110000Z\r\nEND:VEVENT\r\n");
        assert!(hit(&o, "20240101T000000Z", ""));
        assert!(!hit(&o, "20240101T110000Z", ""));
        assert!(hit(&o, "", "20240101T100001Z"));
        assert!(!hit(&o, "", "20240101T100000Z"));
    }

    #[test]
    fn vtodo_table() {
        let todo = |props: &str| obj(&format!("BEGIN:VTODO\r\nUID:t\r\n{props}END:VTODO\r\n"));
        // Y Y N: (start <= DTSTART+DURATION) AND ((end > DTSTART) OR (end >= DTSTART+DURATION))
        let o = todo("DTSTART:20240101T100000Z\r\nDURATION:PT1H\r\n");
        assert!(hit(&o, "20240101T110000Z", "20240101T120000Z"));
        assert!(!hit(&o, "20240101T110001Z", "20240101T120000Z"));
        assert!(!hit(&o, "20240101T090000Z", "20240101T100000Z"));
        // Y N Y: ((start < DUE) OR (start <= DTSTART)) AND ((end > DTSTART) OR (end >= DUE))
        let o = todo("DTSTART:20240101T100000Z\r\nDUE:20240101T110000Z\r\n");
        assert!(hit(&o, "20240101T105900Z", "20240101T120000Z"));
        assert!(!hit(&o, "20240101T110000Z", "20240101T120000Z"));
        assert!(!hit(&o, "20240101T090000Z", "20240101T100000Z"));
        // Y N N: (start <= DTSTART) AND (end > DTSTART)
        let o = todo("DTSTART:20240101T100000Z\r\n");
        assert!(hit(&o, "20240101T100000Z", "20240101T100001Z"));
        assert!(!hit(&o, "20240101T100001Z", "20240101T120000Z"));
        // N N Y: (start < DUE) AND (end >= DUE)
        let o = todo("DUE:20240101T110000Z\r\n");
        assert!(hit(&o, "20240101T100000Z", "20240101T110000Z"));
        assert!(!hit(&o, "20240101T110000Z", "20240101T120000Z"));
        assert!(!hit(&o, "20240101T100000Z", "20240101T105959Z"));
        // N N N Y Y: ((start <= CREATED) OR (start <= COMPLETED)) AND ((end >= CREATED) OR (end >= COMPLETED))
        let o = todo("CREATED:20240101T100000Z\r\nCOMPLETED:20240105T100000Z\r\n");
        assert!(hit(&o, "20240105T100000Z", "20240106T000000Z"));
        assert!(hit(&o, "20231231T000000Z", "20240101T100000Z"));
        assert!(hit(&o, "20240102T000000Z", "20240103T000000Z"));
        assert!(!hit(&o, "20240105T100001Z", "20240106T000000Z"));
        assert!(!hit(&o, "20231231T000000Z", "20240101T095959Z"));
        // N N N Y N: (start <= COMPLETED) AND (end >= COMPLETED)
        let o = todo("COMPLETED:20240105T100000Z\r\n");
        assert!(hit(&o, "20240105T000000Z", "20240105T100000Z"));
        assert!(!hit(&o, "20240105T100001Z", "20240106T000000Z"));
        // N N N N Y: (end > CREATED)
        let o = todo("CREATED:20240101T100000Z\r\n");
        assert!(hit(&o, "20300101T000000Z", "20300102T000000Z"));
        assert!(!hit(&o, "20231231T000000Z", "20240101T100000Z"));
        // N N N N N: TRUE
        let o = todo("SUMMARY:whenever\r\n");
        assert!(hit(&o, "19700101T000000Z", "19700102T000000Z"));
        // Recurring VTODO: the second instance's due.
        let o = todo(
            "DTSTART:20240101T090000Z\r\nDUE:20240101T100000Z\r\nRRULE:FREQ=DAILY;COUNT=3\r\n",
        );
        assert!(hit(&o, "20240103T093000Z", "20240103T093001Z"));
        assert!(!hit(&o, "20240104T093000Z", "20240105T000000Z"));
    }

    #[test]
    fn vjournal_table() {
        let o = obj("BEGIN:VJOURNAL\r\nUID:j\r\nDTSTART:20240101T100000Z\r\nEND:VJOURNAL\r\n");
        assert!(hit(&o, "20240101T100000Z", "20240101T100001Z"));
        assert!(!hit(&o, "20240101T090000Z", "20240101T100000Z"));
        let o = obj("BEGIN:VJOURNAL\r\nUID:j\r\nDTSTART;VALUE=DATE:20240101\r\nEND:VJOURNAL\r\n");
        assert!(hit(&o, "20240101T230000Z", "20240102T000000Z"));
        assert!(!hit(&o, "20240102T000000Z", "20240103T000000Z"));
        let o = obj("BEGIN:VJOURNAL\r\nUID:j\r\nSUMMARY:x\r\nEND:VJOURNAL\r\n");
        assert!(!hit(&o, "", "20990101T000000Z"));
    }

    const FREEBUSY: &str = "BEGIN:VFREEBUSY\r\nUID:76ef34-54a3d2@example.com\r\nDTSTAMP:20050530T123421Z\r\n\
FREEBUSY:20050531T230000Z/20050601T010000Z\r\nFREEBUSY;FBTYPE=BUSY-TENTATIVE:20060102T100000Z/20060102T120000Z\r\n\
FREEBUSY:20060103T100000Z/PT2H\r\nEND:VFREEBUSY\r\n";

    #[test]
    fn vfreebusy_table() {
        // Y *: (start <= DTEND) AND (end > DTSTART)
        let o = obj(&FREEBUSY.replace(
            "DTSTAMP",
            "DTSTART:20060101T000000Z\r\nDTEND:20060108T000000Z\r\nDTSTAMP",
        ));
        assert!(hit(&o, "20060108T000000Z", "20060109T000000Z"));
        assert!(!hit(&o, "20060108T000001Z", "20060109T000000Z"));
        assert!(!hit(&o, "20051231T000000Z", "20060101T000000Z"));
        // N Y: a period overlaps.
        let o = obj(FREEBUSY);
        assert!(hit(&o, "20060102T115959Z", "20060102T130000Z"));
        assert!(hit(&o, "20060103T110000Z", "20060103T110001Z"));
        assert!(!hit(&o, "20060102T120000Z", "20060103T100000Z"));
        // N N: false.
        let o = obj("BEGIN:VFREEBUSY\r\nUID:f\r\nDTSTAMP:20050530T123421Z\r\nEND:VFREEBUSY\r\n");
        assert!(!hit(&o, "", ""));
    }

    #[test]
    fn valarm_triggers() {
        // RFC 4791 §7.8.5: a VTODO's alarm 10 minutes before DUE
        // (12:00 US/Eastern = 17:00Z) is in [2006-01-06T10:00Z, 2006-01-07T10:00Z).
        let o = obj("BEGIN:VTODO\r\nDTSTAMP:20060205T235300Z\r\nDUE;TZID=US/Eastern:20060106T120000\r\nSTATUS:NEEDS-ACTION\r\n\
SUMMARY:Task #2\r\nUID:E10BA47467C5C69BB74E8720@example.com\r\nBEGIN:VALARM\r\nACTION:AUDIO\r\n\
TRIGGER;RELATED=START:-PT10M\r\nEND:VALARM\r\nEND:VTODO\r\n");
        let ctx = TimeContext::new(&o, None);
        let todo = o.main_components()[0];
        let alarm = o.component(todo).unwrap().component_ids[0];
        assert!(ctx.component_overlaps(
            alarm,
            Some(todo),
            &range("20060106T100000Z", "20060107T100000Z")
        ));
        assert!(ctx.component_overlaps(
            alarm,
            None,
            &range("20060106T165000Z", "20060106T165001Z")
        ));
        assert!(!ctx.component_overlaps(
            alarm,
            Some(todo),
            &range("20060106T165001Z", "20060107T100000Z")
        ));

        // Recurring event, alarm at the end, repeated.
        let o = obj("BEGIN:VEVENT\r\nUID:e\r\nDTSTART:20240101T100000Z\r\nDTEND:20240101T110000Z\r\nRRULE:FREQ=DAILY\r\n\
BEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER;RELATED=END:PT5M\r\nREPEAT:2\r\nDURATION:PT10M\r\nEND:VALARM\r\nEND:VEVENT\r\n");
        let ctx = TimeContext::new(&o, None);
        let ev = o.main_components()[0];
        let alarm = o.component(ev).unwrap().component_ids[0];
        // Triggers on 2024-03-05 at 11:05, 11:15, 11:25.
        assert!(ctx.component_overlaps(
            alarm,
            Some(ev),
            &range("20240305T111000Z", "20240305T111600Z")
        ));
        assert!(ctx.component_overlaps(
            alarm,
            Some(ev),
            &range("20240305T112500Z", "20240305T112501Z")
        ));
        assert!(!ctx.component_overlaps(
            alarm,
            Some(ev),
            &range("20240305T112501Z", "20240305T120000Z")
        ));
        assert!(!ctx.component_overlaps(
            alarm,
            Some(ev),
            &range("20240305T110600Z", "20240305T111400Z")
        ));

        // A huge REPEAT is solved arithmetically, not iterated.
        let o = obj("BEGIN:VEVENT\r\nUID:e\r\nDTSTART:20240101T100000Z\r\nBEGIN:VALARM\r\nACTION:DISPLAY\r\n\
TRIGGER:-P4294967295W\r\nREPEAT:9223372036854775807\r\nDURATION:PT1S\r\nEND:VALARM\r\nEND:VEVENT\r\n");
        let ctx = TimeContext::new(&o, None);
        let ev = o.main_components()[0];
        let alarm = o.component(ev).unwrap().component_ids[0];
        assert!(ctx.component_overlaps(
            alarm,
            Some(ev),
            &range("20240101T095959Z", "20240101T100000Z")
        ));
        assert!(ctx.component_overlaps(alarm, Some(ev), &range("", "")));

        // Absolute trigger.
        let o = obj("BEGIN:VEVENT\r\nUID:e\r\nDTSTART:20240101T100000Z\r\nBEGIN:VALARM\r\nACTION:DISPLAY\r\n\
TRIGGER;VALUE=DATE-TIME:20231231T080000Z\r\nEND:VALARM\r\nEND:VEVENT\r\n");
        let ctx = TimeContext::new(&o, None);
        let ev = o.main_components()[0];
        let alarm = o.component(ev).unwrap().component_ids[0];
        assert!(ctx.component_overlaps(
            alarm,
            Some(ev),
            &range("20231231T080000Z", "20231231T080001Z")
        ));
        assert!(!ctx.component_overlaps(alarm, Some(ev), &range("20240101T000000Z", "")));
    }

    #[test]
    fn recurrence_in_time_ranges() {
        let o = obj("BEGIN:VEVENT\r\nUID:r\r\nDTSTART;TZID=Europe/Paris:20240101T100000\r\nDURATION:PT1H\r\n\
RRULE:FREQ=WEEKLY;BYDAY=MO\r\nEXDATE;TZID=Europe/Paris:20240212T100000\r\nEND:VEVENT\r\n\
BEGIN:VEVENT\r\nUID:r\r\nRECURRENCE-ID;TZID=Europe/Paris:20240219T100000\r\nDTSTART;TZID=Europe/Paris:20240221T150000\r\n\
DURATION:PT1H\r\nEND:VEVENT\r\n");
        let ctx = TimeContext::new(&o, None);
        let (master, moved) = (o.main_components()[0], o.main_components()[1]);
        let any = |s: &str, e: &str| {
            let r = range(s, e);
            ctx.component_overlaps(master, None, &r) || ctx.component_overlaps(moved, None, &r)
        };
        // An instance in range although DTSTART is not.
        assert!(ctx.component_overlaps(
            master,
            None,
            &range("20240205T000000Z", "20240206T000000Z")
        ));
        // The EXDATE'd Monday.
        assert!(!any("20240212T000000Z", "20240213T000000Z"));
        // The override moved out of its Monday and into the Wednesday.
        assert!(!any("20240219T000000Z", "20240220T000000Z"));
        assert!(ctx.component_overlaps(
            moved,
            None,
            &range("20240221T000000Z", "20240222T000000Z")
        ));
        assert!(!ctx.component_overlaps(
            master,
            None,
            &range("20240221T000000Z", "20240222T000000Z")
        ));
        // Start-only range far in the future: an instance exists.
        assert!(ctx.component_overlaps(master, None, &range("20300101T000000Z", "")));
    }

    #[test]
    fn property_time_ranges() {
        let o = obj(
            "BEGIN:VTODO\r\nUID:t\r\nDTSTAMP:20240101T100000Z\r\nCOMPLETED:20240102T100000Z\r\n\
CREATED;VALUE=DATE:20231201\r\nLAST-MODIFIED:20240103T000000Z\r\nEND:VTODO\r\n",
        );
        let ctx = TimeContext::new(&o, None);
        let todo = o.main_components()[0];
        let entries = &o.component(todo).unwrap().entries;
        let idx = |name: ICalendarProperty| entries.iter().position(|e| e.name == name).unwrap();
        let stamp = idx(ICalendarProperty::Dtstamp);
        assert!(ctx.property_overlaps(todo, stamp, &range("20240101T100000Z", "20240101T100001Z")));
        assert!(!ctx.property_overlaps(
            todo,
            stamp,
            &range("20240101T090000Z", "20240101T100000Z")
        ));
        assert!(ctx.property_overlaps(
            todo,
            idx(ICalendarProperty::Completed),
            &range("20240102T000000Z", "")
        ));
        assert!(ctx.property_overlaps(
            todo,
            idx(ICalendarProperty::Created),
            &range("", "20231201T000001Z")
        ));
        assert!(!ctx.property_overlaps(
            todo,
            idx(ICalendarProperty::LastModified),
            &range("", "20240103T000000Z")
        ));
        // DTSTART of a recurring event: any instance.
        let o = obj("BEGIN:VEVENT\r\nUID:r\r\nDTSTART:20240101T100000Z\r\nDURATION:PT1H\r\nRRULE:FREQ=DAILY\r\nEND:VEVENT\r\n");
        let ctx = TimeContext::new(&o, None);
        let ev = o.main_components()[0];
        let dtstart = o
            .component(ev)
            .unwrap()
            .entries
            .iter()
            .position(|e| e.name == ICalendarProperty::Dtstart)
            .unwrap();
        assert!(ctx.property_overlaps(ev, dtstart, &range("20240301T090000Z", "20240301T110000Z")));
        assert!(!ctx.property_overlaps(
            ev,
            dtstart,
            &range("20240301T100001Z", "20240301T110000Z")
        ));
        // Effective DTEND from DURATION.
        assert!(ctx.effective_end_overlaps(ev, &range("20240301T110000Z", "20240301T110001Z")));
    }

    /// A one-month query over 5,000 events, 20% recurring (daily or twice
    /// weekly since 2015), 80% one-off: index pre-filter, then §9.9 on the
    /// candidates. `cargo test --lib bench_month_query -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn bench_month_query() {
        use crate::ical::{object::parse_stored, recur::index_bounds};
        use std::time::Instant;
        let texts: Vec<String> = (0..5000)
            .map(|i| {
                let (day, month) = (1 + i % 28, 1 + (i / 28) % 12);
                let rrule = match i % 10 {
                    0 => "RRULE:FREQ=DAILY\r\n",
                    1 => "RRULE:FREQ=WEEKLY;BYDAY=MO,WE\r\n",
                    _ => "",
                };
                format!(
                    "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VTIMEZONE\r\nTZID:Europe/Paris\r\n\
BEGIN:STANDARD\r\nDTSTART:19701025T030000\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nEND:STANDARD\r\n\
END:VTIMEZONE\r\nBEGIN:VEVENT\r\nUID:e{i}\r\nDTSTAMP:20200101T000000Z\r\n\
DTSTART;TZID=Europe/Paris:2015{month:02}{day:02}T100000\r\nDTEND;TZID=Europe/Paris:2015{month:02}{day:02}T110000\r\n\
{rrule}SUMMARY:Event {i}\r\nBEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER:-PT15M\r\nEND:VALARM\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
                )
            })
            .collect();
        let r = range("20250301T000000Z", "20250401T000000Z");
        let t0 = Instant::now();
        let objs: Vec<_> = texts
            .iter()
            .map(|t| parse_stored(t.clone()).unwrap())
            .collect();
        let parse = t0.elapsed();
        let bounds: Vec<_> = objs
            .iter()
            .map(|o| index_bounds(o, &o.resolver(None)))
            .collect();
        let t0 = Instant::now();
        let mut n = 0;
        for (o, b) in objs.iter().zip(&bounds) {
            if b.may_overlap(&r)
                && TimeContext::new(o, None).component_overlaps(o.main_components()[0], None, &r)
            {
                n += 1;
            }
        }
        println!("parse {parse:?}, query {:?}, {n} matches", t0.elapsed());
        assert_eq!(n, 1000);
    }
}
