//! Time zones of calendar data (RFC 5545 §3.2.19 TZID, §3.3.5 DATE-TIME
//! forms, §3.6.5 VTIMEZONE) and the resolution of DATE / DATE-TIME values
//! to UTC.
//!
//! A TZID is resolved, in this order (the CalConnect recommendation that
//! calcard follows: a well-known name wins over the rules sent with it):
//! 1. its name as an IANA zone (chrono-tz), or a Windows / Outlook name or
//!    one of the other aliases calcard maps (`calcard::common::timezone::Tz::from_str`);
//! 2. for a VTIMEZONE of the object: its `X-LIC-LOCATION` or
//!    `X-MICROSOFT-CDO-TZID` property;
//! 3. otherwise the VTIMEZONE's own STANDARD / DAYLIGHT observances,
//!    evaluated here ([`VTimezoneRules`]).
//!
//! Floating DATE-TIME values and DATE values are interpreted in the
//! resolver's default zone (the calendar's `calendar-timezone`, else UTC).

use std::{
    str::FromStr,
    sync::{Arc, OnceLock},
};

use calcard::{
    common::{timezone::Tz, PartialDateTime},
    icalendar::{
        ICalendar, ICalendarComponent, ICalendarComponentType, ICalendarEntry,
        ICalendarParameterName, ICalendarPeriod, ICalendarProperty, ICalendarRecurrenceRule,
        ICalendarValue,
    },
};
use chrono::{
    DateTime, Duration, FixedOffset, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset,
    TimeZone, Utc,
};

use super::recur::rule_occurrences;

/// The zone a DATE-TIME value is interpreted in.
#[derive(Clone, Debug)]
pub enum Zone {
    /// FORM #2 (RFC 5545 §3.3.5), or a TZID naming UTC.
    Utc,
    /// A fixed offset (a non-standard `DATE-TIME` with a numeric offset, or a
    /// zone reduced to one offset).
    Fixed(FixedOffset),
    /// An IANA zone from chrono-tz.
    Iana(chrono_tz::Tz),
    /// A VTIMEZONE whose TZID is not a known name: its own rules.
    Custom(Arc<VTimezoneRules>),
    /// No zone: local time taken as UTC. Only used as a default zone when
    /// the calendar has none.
    Floating,
}

impl Zone {
    /// The zone's name: the IANA name, the custom TZID, "UTC".
    pub fn name(&self) -> Option<&str> {
        match self {
            Zone::Utc => Some("UTC"),
            Zone::Fixed(_) | Zone::Floating => None,
            Zone::Iana(tz) => Some(tz.name()),
            Zone::Custom(rules) => Some(rules.tzid()),
        }
    }

    /// Offset from UTC (seconds east) in force at the UTC instant `utc`.
    pub fn offset_at(&self, utc: DateTime<Utc>) -> i32 {
        match self {
            Zone::Utc | Zone::Floating => 0,
            Zone::Fixed(offset) => offset.local_minus_utc(),
            Zone::Iana(tz) => tz
                .offset_from_utc_datetime(&utc.naive_utc())
                .fix()
                .local_minus_utc(),
            Zone::Custom(rules) => rules.offset_at_secs(utc.timestamp()),
        }
    }

    /// The local time of the UTC instant `utc`.
    pub fn utc_to_local(&self, utc: DateTime<Utc>) -> NaiveDateTime {
        add_secs(utc.naive_utc(), self.offset_at(utc) as i64)
    }

    /// The UTC instant of local time `local`, with RFC 5545 §3.3.5's rules:
    /// a local time that occurs twice (fall-back fold) is its first
    /// occurrence; a local time that does not occur (spring-forward gap) is
    /// interpreted with the UTC offset before the gap (so 02:30 in a gap
    /// 02:00→03:00 is 03:30 after the change).
    pub fn local_to_utc(&self, local: NaiveDateTime) -> DateTime<Utc> {
        match self {
            Zone::Utc | Zone::Floating => local.and_utc(),
            Zone::Fixed(offset) => add_secs(local, -(offset.local_minus_utc() as i64)).and_utc(),
            Zone::Iana(tz) => match tz.from_local_datetime(&local) {
                LocalResult::Single(dt) => dt.with_timezone(&Utc),
                LocalResult::Ambiguous(a, b) => a.with_timezone(&Utc).min(b.with_timezone(&Utc)),
                LocalResult::None => {
                    // In a gap: the offset in force a day earlier is the one
                    // before the gap (zones never change twice in a day).
                    let before = tz
                        .offset_from_utc_datetime(&add_secs(local, -86_400))
                        .fix()
                        .local_minus_utc();
                    add_secs(local, -(before as i64)).and_utc()
                }
            },
            Zone::Custom(rules) => DateTime::from_timestamp(rules.local_to_utc_secs(local), 0)
                .unwrap_or_else(|| local.and_utc()),
        }
    }

    /// Whether this is the `Floating` placeholder.
    pub fn is_floating(&self) -> bool {
        matches!(self, Zone::Floating)
    }

    fn from_calcard(tz: Tz) -> Option<Zone> {
        match tz {
            Tz::Floating => None,
            Tz::Fixed(offset) if offset.local_minus_utc() == 0 => Some(Zone::Utc),
            Tz::Fixed(offset) => Some(Zone::Fixed(offset)),
            Tz::Tz(chrono_tz::Tz::UTC | chrono_tz::Tz::Etc__UTC) => Some(Zone::Utc),
            Tz::Tz(tz) => Some(Zone::Iana(tz)),
        }
    }

    /// Resolves a TZID by name only: an IANA name or an alias calcard knows
    /// (Windows / Outlook names, "/mozilla.org/…/Europe/Paris", "(UTC+01:00) …").
    pub fn from_name(name: &str) -> Option<Zone> {
        Tz::from_str(name).ok().and_then(Zone::from_calcard)
    }
}

/// Adds seconds to a local time, saturating at the ends of chrono's range.
pub(crate) fn add_secs(t: NaiveDateTime, secs: i64) -> NaiveDateTime {
    Duration::try_seconds(secs)
        .and_then(|d| t.checked_add_signed(d))
        .unwrap_or(if secs < 0 {
            NaiveDateTime::MIN
        } else {
            NaiveDateTime::MAX
        })
}

/// The rules of a VTIMEZONE (RFC 5545 §3.6.5), for a TZID that is not a
/// known zone name. The observance onsets are computed once, on first use,
/// from 1900 to [`CUSTOM_TZ_HORIZON_YEAR`]; before the first onset the
/// first observance's TZOFFSETFROM applies, after the horizon the last
/// computed offset.
pub struct VTimezoneRules {
    tzid: String,
    observances: Vec<Observance>,
    transitions: OnceLock<Transitions>,
}

/// Last year for which the onsets of a custom VTIMEZONE are computed.
pub const CUSTOM_TZ_HORIZON_YEAR: i32 = 2200;
/// First year from which recurring onsets are computed (earlier onsets
/// given by DTSTART or RDATE are kept).
const CUSTOM_TZ_FIRST_YEAR: i32 = 1900;
/// At most this many onsets per observance rule.
const CUSTOM_TZ_MAX_ONSETS: usize = 2_000;

struct Observance {
    dtstart: NaiveDateTime,
    offset_from: i32,
    offset_to: i32,
    rrules: Vec<ICalendarRecurrenceRule>,
    rdates: Vec<NaiveDateTime>,
    exdates: Vec<NaiveDateTime>,
}

struct Transitions {
    /// (UTC onset in seconds, offset in force from then on), sorted.
    list: Vec<(i64, i32)>,
    /// The offset before the first onset.
    initial: i32,
    /// An observance rule that could not be evaluated.
    error: Option<String>,
}

impl std::fmt::Debug for VTimezoneRules {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "VTimezoneRules({:?}, {} observances)",
            self.tzid,
            self.observances.len()
        )
    }
}

impl VTimezoneRules {
    /// Reads the observances of the VTIMEZONE at `comp` of `ical`. Fails if
    /// there is no TZID, no observance, or an observance lacks DTSTART or
    /// TZOFFSETTO (RFC 5545 §3.6.5: both REQUIRED; a missing TZOFFSETFROM is
    /// taken equal to TZOFFSETTO).
    pub fn from_component(
        ical: &ICalendar,
        comp: &ICalendarComponent,
    ) -> Result<VTimezoneRules, String> {
        let tzid = component_tzid(comp).ok_or("VTIMEZONE without TZID")?;
        let mut observances = Vec::new();
        for id in &comp.component_ids {
            let Some(sub) = ical.components.get(*id as usize) else {
                continue;
            };
            if !matches!(
                sub.component_type,
                ICalendarComponentType::Standard | ICalendarComponentType::Daylight
            ) {
                continue;
            }
            let mut dtstart = None;
            let mut offset_from = None;
            let mut offset_to = None;
            let mut rrules = Vec::new();
            let mut rdates = Vec::new();
            let mut exdates = Vec::new();
            for entry in &sub.entries {
                match entry.name {
                    ICalendarProperty::Dtstart => {
                        dtstart = first_date(entry).and_then(naive_of).map(|(t, _)| t);
                    }
                    ICalendarProperty::Tzoffsetfrom => {
                        offset_from = first_date(entry).and_then(offset_of)
                    }
                    ICalendarProperty::Tzoffsetto => {
                        offset_to = first_date(entry).and_then(offset_of)
                    }
                    ICalendarProperty::Rrule => {
                        for value in &entry.values {
                            match value {
                                ICalendarValue::RecurrenceRule(rule) => {
                                    rrules.push((**rule).clone())
                                }
                                _ => return Err(format!("VTIMEZONE {tzid}: invalid RRULE")),
                            }
                        }
                    }
                    ICalendarProperty::Rdate | ICalendarProperty::Exdate => {
                        for value in &entry.values {
                            let t = match value {
                                ICalendarValue::PartialDateTime(p) => naive_of(p).map(|(t, _)| t),
                                ICalendarValue::Period(
                                    ICalendarPeriod::Range { start, .. }
                                    | ICalendarPeriod::Duration { start, .. },
                                ) => naive_of(start).map(|(t, _)| t),
                                _ => None,
                            };
                            let t = t.ok_or_else(|| {
                                format!("VTIMEZONE {tzid}: invalid {}", entry.name.as_str())
                            })?;
                            if entry.name == ICalendarProperty::Rdate {
                                rdates.push(t);
                            } else {
                                exdates.push(t);
                            }
                        }
                    }
                    _ => {}
                }
            }
            let dtstart =
                dtstart.ok_or_else(|| format!("VTIMEZONE {tzid}: observance without DTSTART"))?;
            let offset_to = offset_to
                .ok_or_else(|| format!("VTIMEZONE {tzid}: observance without TZOFFSETTO"))?;
            observances.push(Observance {
                dtstart,
                offset_from: offset_from.unwrap_or(offset_to),
                offset_to,
                rrules,
                rdates,
                exdates,
            });
        }
        if observances.is_empty() {
            return Err(format!(
                "VTIMEZONE {tzid}: no STANDARD or DAYLIGHT observance"
            ));
        }
        Ok(VTimezoneRules {
            tzid: tzid.to_string(),
            observances,
            transitions: OnceLock::new(),
        })
    }

    pub fn tzid(&self) -> &str {
        &self.tzid
    }

    /// Computes the onsets now; returns the first evaluation error, if any
    /// (an observance RRULE calcard rejects).
    pub fn check(&self) -> Result<(), String> {
        match &self.transitions().error {
            Some(error) => Err(error.clone()),
            None => Ok(()),
        }
    }

    fn transitions(&self) -> &Transitions {
        self.transitions.get_or_init(|| self.compute_transitions())
    }

    /// RFC 5545 §3.6.5: the onsets of an observance are its DTSTART, RRULE
    /// and RDATE local times, read with its TZOFFSETFROM ("onset UTC =
    /// local − TZOFFSETFROM"); an RRULE's UNTIL is in UTC. The offset in force
    /// at an instant is the TZOFFSETTO of the observance with the last onset
    /// at or before it.
    fn compute_transitions(&self) -> Transitions {
        let mut list: Vec<(i64, i32)> = Vec::new();
        let mut error = None;
        let first = NaiveDate::from_ymd_opt(CUSTOM_TZ_FIRST_YEAR, 1, 1)
            .unwrap_or_default()
            .and_time(NaiveTime::MIN);
        let horizon = NaiveDate::from_ymd_opt(CUSTOM_TZ_HORIZON_YEAR, 12, 31)
            .unwrap_or_default()
            .and_time(NaiveTime::MIN);
        let mut locals = Vec::new();
        for obs in &self.observances {
            locals.clear();
            locals.push(obs.dtstart);
            locals.extend_from_slice(&obs.rdates);
            for rule in &obs.rrules {
                let until = match rule
                    .until
                    .as_ref()
                    .and_then(|u| naive_of(u).map(|n| (u, n)))
                {
                    // UNTIL in UTC (as RFC 5545 requires here): back to local onset time.
                    Some((u, (t, false))) if u.tz_hour.is_some() => Some(
                        add_secs(t, (obs.offset_from - offset_of(u).unwrap_or(0)) as i64)
                            .min(horizon),
                    ),
                    Some((_, (t, false))) => Some(t.min(horizon)),
                    Some((_, (t, true))) => Some(add_secs(t, 86_399).min(horizon)),
                    None => Some(horizon),
                };
                if let Err(e) = rule_occurrences(
                    rule,
                    obs.dtstart,
                    Some(first),
                    until,
                    CUSTOM_TZ_MAX_ONSETS,
                    &mut locals,
                ) {
                    error.get_or_insert(format!(
                        "VTIMEZONE {}: RRULE cannot be evaluated: {e}",
                        self.tzid
                    ));
                }
            }
            for local in &locals {
                if obs.exdates.contains(local) {
                    continue;
                }
                list.push((
                    local.and_utc().timestamp() - obs.offset_from as i64,
                    obs.offset_to,
                ));
            }
        }
        list.sort_unstable_by_key(|(at, _)| *at);
        list.dedup_by_key(|(at, _)| *at);
        let initial = self
            .observances
            .iter()
            .min_by_key(|o| o.dtstart)
            .map_or(0, |o| o.offset_from);
        Transitions {
            list,
            initial,
            error,
        }
    }

    fn offset_at_secs(&self, utc: i64) -> i32 {
        let t = self.transitions();
        let idx = t.list.partition_point(|(at, _)| *at <= utc);
        if idx == 0 {
            t.initial
        } else {
            t.list[idx - 1].1
        }
    }

    /// Local → UTC seconds with the §3.3.5 fold / gap rules: try the offsets
    /// in force a day before and a day after; a candidate is valid if the
    /// offset at its instant is the one used. Two valid: fold, take the
    /// earlier instant; none: gap, use the offset before it.
    fn local_to_utc_secs(&self, local: NaiveDateTime) -> i64 {
        let l = local.and_utc().timestamp();
        let before = self.offset_at_secs(l.saturating_sub(86_400)) as i64;
        let after = self.offset_at_secs(l.saturating_add(86_400)) as i64;
        let a = l - before;
        let b = l - after;
        let a_ok = self.offset_at_secs(a) as i64 == before;
        let b_ok = self.offset_at_secs(b) as i64 == after;
        match (a_ok, b_ok) {
            (true, true) => a.min(b),
            (false, true) => b,
            _ => a,
        }
    }
}

/// The TZID property of a VTIMEZONE.
pub(crate) fn component_tzid(comp: &ICalendarComponent) -> Option<&str> {
    comp.entries
        .iter()
        .find(|e| e.name == ICalendarProperty::Tzid)
        .and_then(|e| e.values.first())
        .and_then(|v| v.as_text())
        .map(str::trim)
}

/// Resolves the zone described by one VTIMEZONE component: by its TZID
/// name, else by `X-LIC-LOCATION` / `X-MICROSOFT-CDO-TZID`, else by its own
/// rules. Errors if none applies (no name match and no usable observance).
pub fn zone_of_vtimezone(ical: &ICalendar, comp: &ICalendarComponent) -> Result<Zone, String> {
    let tzid = component_tzid(comp).ok_or("VTIMEZONE without TZID")?;
    if let Some(zone) = Zone::from_name(tzid) {
        return Ok(zone);
    }
    for entry in &comp.entries {
        if let (ICalendarProperty::Other(name), Some(value)) = (&entry.name, entry.values.first()) {
            let Some(value) = value.as_text() else {
                continue;
            };
            let zone = if name.eq_ignore_ascii_case("X-LIC-LOCATION") {
                Zone::from_name(value.strip_prefix("SystemV/").unwrap_or(value))
            } else if name.eq_ignore_ascii_case("X-MICROSOFT-CDO-TZID") {
                Tz::from_ms_cdo_zone_id(value.trim()).and_then(Zone::from_calcard)
            } else {
                None
            };
            if let Some(zone) = zone {
                return Ok(zone);
            }
        }
    }
    Ok(Zone::Custom(Arc::new(VTimezoneRules::from_component(
        ical, comp,
    )?)))
}

/// The zone of a `calendar-timezone` property value (RFC 4791 §5.2.2): a
/// VCALENDAR holding exactly one VTIMEZONE. `None` if the text does not
/// parse or the VTIMEZONE cannot be resolved.
pub fn zone_from_calendar_timezone(text: &str) -> Option<Zone> {
    let ical = ICalendar::parse(text).ok()?;
    let mut tzs = ical
        .components
        .iter()
        .filter(|c| c.component_type == ICalendarComponentType::VTimezone);
    let comp = tzs.next()?;
    if tzs.next().is_some() {
        return None;
    }
    let zone = zone_of_vtimezone(&ical, comp).ok()?;
    if let Zone::Custom(rules) = &zone {
        rules.check().ok()?;
    }
    Some(zone)
}

/// A DATE or DATE-TIME value with the zone it is read in.
#[derive(Clone, Debug)]
pub struct LocalValue {
    /// The local time (midnight for a DATE).
    pub local: NaiveDateTime,
    pub zone: Zone,
    /// A DATE value (RFC 5545 §3.3.4).
    pub is_date: bool,
    /// A DATE, a floating DATE-TIME (§3.3.5 FORM #1) or an unresolvable
    /// TZID: read in the default zone, which may change.
    pub floating: bool,
}

impl LocalValue {
    pub fn utc(&self) -> DateTime<Utc> {
        self.zone.local_to_utc(self.local)
    }
}

/// Resolves TZIDs against the VTIMEZONEs of one object, with a default zone
/// for floating times and DATE values.
#[derive(Clone, Debug)]
pub struct TzResolver {
    zones: Vec<(String, Zone)>,
    default: Zone,
}

impl TzResolver {
    /// `default`: the calendar's zone (`calendar-timezone`); `None` reads
    /// floating times as UTC. VTIMEZONEs that cannot be resolved are left
    /// out (their TZID then resolves by name or falls back to the default).
    pub fn new(ical: &ICalendar, default: Option<Zone>) -> TzResolver {
        let mut zones = Vec::new();
        for comp in &ical.components {
            if comp.component_type != ICalendarComponentType::VTimezone {
                continue;
            }
            if let (Some(tzid), Ok(zone)) = (component_tzid(comp), zone_of_vtimezone(ical, comp)) {
                zones.push((tzid.to_string(), zone));
            }
        }
        TzResolver {
            zones,
            default: default.unwrap_or(Zone::Utc),
        }
    }

    /// A resolver without any VTIMEZONE.
    pub fn empty(default: Option<Zone>) -> TzResolver {
        TzResolver {
            zones: Vec::new(),
            default: default.unwrap_or(Zone::Utc),
        }
    }

    /// The same resolver with another default zone.
    pub fn with_default(&self, default: Zone) -> TzResolver {
        TzResolver {
            zones: self.zones.clone(),
            default,
        }
    }

    pub fn default_zone(&self) -> &Zone {
        &self.default
    }

    /// The zones of the object's VTIMEZONEs, by TZID.
    pub fn zones(&self) -> impl Iterator<Item = (&str, &Zone)> {
        self.zones.iter().map(|(id, z)| (id.as_str(), z))
    }

    /// A TZID: the object's VTIMEZONE of that TZID, else the name itself.
    pub fn resolve(&self, tzid: &str) -> Option<Zone> {
        let tzid = tzid.trim();
        self.zones
            .iter()
            .find(|(id, _)| id == tzid)
            .map(|(_, z)| z.clone())
            .or_else(|| Zone::from_name(tzid))
    }

    /// The zone the DATE-TIME values of `entry` are read in, and whether
    /// it is floating (no TZID, or a TZID that does not resolve).
    pub fn zone_of(&self, entry: &ICalendarEntry) -> (Zone, bool) {
        match entry_tzid(entry).and_then(|id| self.resolve(id)) {
            Some(zone) => (zone, false),
            None => (self.default.clone(), true),
        }
    }

    /// Resolves one DATE / DATE-TIME value of `entry` (RFC 5545 §3.3.4,
    /// §3.3.5): a DATE or a floating time in the default zone, a UTC time
    /// in UTC, a local time in its TZID's zone.
    pub fn value(&self, entry: &ICalendarEntry, value: &PartialDateTime) -> Option<LocalValue> {
        let (local, is_date) = naive_of(value)?;
        let (zone, floating) = if is_date {
            (self.default.clone(), true)
        } else if let Some(offset) = offset_of(value) {
            // FORM #2 (or a non-standard numeric offset, accepted).
            if offset == 0 {
                (Zone::Utc, false)
            } else {
                (Zone::Fixed(FixedOffset::east_opt(offset)?), false)
            }
        } else {
            self.zone_of(entry)
        };
        Some(LocalValue {
            local,
            zone,
            is_date,
            floating,
        })
    }

    /// The first DATE / DATE-TIME value of `entry`, resolved.
    pub fn first_value(&self, entry: &ICalendarEntry) -> Option<LocalValue> {
        self.value(entry, first_date(entry)?)
    }
}

/// The TZID parameter of a property.
pub(crate) fn entry_tzid(entry: &ICalendarEntry) -> Option<&str> {
    entry
        .params
        .iter()
        .find(|p| p.name == ICalendarParameterName::Tzid)
        .and_then(|p| p.value.as_text())
}

/// The first value of a property if it is a DATE / DATE-TIME.
pub(crate) fn first_date(entry: &ICalendarEntry) -> Option<&PartialDateTime> {
    match entry.values.first() {
        Some(ICalendarValue::PartialDateTime(p)) => Some(p),
        _ => None,
    }
}

/// The local date-time of a DATE / DATE-TIME value and whether it is a DATE.
/// A second of 60 (leap second) is read as 59 (RFC 5545 §3.3.5).
pub(crate) fn naive_of(p: &PartialDateTime) -> Option<(NaiveDateTime, bool)> {
    let date = NaiveDate::from_ymd_opt(p.year? as i32, p.month? as u32, p.day? as u32)?;
    if !p.has_time() {
        return Some((date.and_time(NaiveTime::MIN), true));
    }
    let time = NaiveTime::from_hms_opt(
        p.hour? as u32,
        p.minute? as u32,
        p.second.unwrap_or(0).min(59) as u32,
    )?;
    Some((date.and_time(time), false))
}

/// The UTC offset of a value in seconds east ("Z" is 0), if it has one.
pub(crate) fn offset_of(p: &PartialDateTime) -> Option<i32> {
    let hour = p.tz_hour? as i32;
    let secs = hour * 3600 + p.tz_minute.unwrap_or(0) as i32 * 60;
    if secs > 24 * 3600 {
        return None;
    }
    Some(if p.tz_minus { -secs } else { secs })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDate, Timelike};

    fn local(y: i32, m: u32, d: u32, h: u32, mi: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, m, d)
            .unwrap()
            .and_hms_opt(h, mi, 0)
            .unwrap()
    }

    fn utc(y: i32, m: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        local(y, m, d, h, mi).and_utc()
    }

    #[test]
    fn paris_dst_transitions() {
        let paris = Zone::from_name("Europe/Paris").unwrap();
        // Winter and summer.
        assert_eq!(
            paris.local_to_utc(local(2024, 1, 15, 10, 0)),
            utc(2024, 1, 15, 9, 0)
        );
        assert_eq!(
            paris.local_to_utc(local(2024, 7, 15, 10, 0)),
            utc(2024, 7, 15, 8, 0)
        );
        // Spring forward 2024-03-31 02:00 → 03:00: 02:30 does not exist and
        // is read with the offset before the gap (+01:00): 01:30Z = 03:30 CEST.
        assert_eq!(
            paris.local_to_utc(local(2024, 3, 31, 2, 30)),
            utc(2024, 3, 31, 1, 30)
        );
        assert_eq!(
            paris.utc_to_local(utc(2024, 3, 31, 1, 30)),
            local(2024, 3, 31, 3, 30)
        );
        // Fall back 2024-10-27 03:00 → 02:00: 02:30 occurs twice; the first
        // (CEST, +02:00) is meant: 00:30Z.
        assert_eq!(
            paris.local_to_utc(local(2024, 10, 27, 2, 30)),
            utc(2024, 10, 27, 0, 30)
        );
        assert_eq!(paris.offset_at(utc(2024, 10, 27, 0, 59)), 7200);
        assert_eq!(paris.offset_at(utc(2024, 10, 27, 1, 0)), 3600);
    }

    #[test]
    fn windows_names() {
        for name in ["W. Europe Standard Time", "Romance Standard Time"] {
            let zone = Zone::from_name(name).unwrap_or_else(|| panic!("{name}"));
            assert!(matches!(zone, Zone::Iana(_)), "{name}: {zone:?}");
            assert_eq!(
                zone.local_to_utc(local(2024, 7, 1, 12, 0)),
                utc(2024, 7, 1, 10, 0),
                "{name}"
            );
            assert_eq!(
                zone.local_to_utc(local(2024, 1, 1, 12, 0)),
                utc(2024, 1, 1, 11, 0),
                "{name}"
            );
        }
        assert!(Zone::from_name("Not A Zone").is_none());
    }

    const CUSTOM: &str = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:test\r\n\
BEGIN:VTIMEZONE\r\nTZID:My Custom Zone\r\n\
BEGIN:STANDARD\r\nDTSTART:20000924T030000\r\nRRULE:FREQ=YEARLY;BYMONTH=9;BYDAY=-1SU\r\n\
TZOFFSETFROM:+0430\r\nTZOFFSETTO:+0330\r\nTZNAME:MCT\r\nEND:STANDARD\r\n\
BEGIN:DAYLIGHT\r\nDTSTART:20000402T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=4;BYDAY=1SU\r\n\
TZOFFSETFROM:+0330\r\nTZOFFSETTO:+0430\r\nTZNAME:MCST\r\nEND:DAYLIGHT\r\n\
END:VTIMEZONE\r\nEND:VCALENDAR\r\n";

    #[test]
    fn custom_vtimezone_rules() {
        let zone = zone_from_calendar_timezone(CUSTOM).unwrap();
        assert!(matches!(zone, Zone::Custom(_)));
        assert_eq!(zone.name(), Some("My Custom Zone"));
        // 2024: DST starts Sunday April 7 at 02:00 (+0330 → +0430), ends
        // Sunday September 29 at 03:00 (+0430 → +0330).
        assert_eq!(
            zone.local_to_utc(local(2024, 1, 10, 12, 0)),
            utc(2024, 1, 10, 8, 30)
        );
        assert_eq!(
            zone.local_to_utc(local(2024, 4, 6, 12, 0)),
            utc(2024, 4, 6, 8, 30)
        );
        assert_eq!(
            zone.local_to_utc(local(2024, 4, 7, 12, 0)),
            utc(2024, 4, 7, 7, 30)
        );
        assert_eq!(
            zone.local_to_utc(local(2024, 9, 28, 12, 0)),
            utc(2024, 9, 28, 7, 30)
        );
        assert_eq!(
            zone.local_to_utc(local(2024, 9, 30, 12, 0)),
            utc(2024, 9, 30, 8, 30)
        );
        // Gap on 2024-04-07 02:00→03:00: 02:30 read with +0330.
        assert_eq!(
            zone.local_to_utc(local(2024, 4, 7, 2, 30)),
            utc(2024, 4, 6, 23, 0)
        );
        // Fold on 2024-09-29 03:00→02:00: 02:30 is the first one, +0430.
        assert_eq!(
            zone.local_to_utc(local(2024, 9, 29, 2, 30)),
            utc(2024, 9, 28, 22, 0)
        );
        // Far future still follows the rule.
        assert_eq!(
            zone.local_to_utc(local(2150, 7, 1, 12, 0)),
            utc(2150, 7, 1, 7, 30)
        );
        // Round trip.
        let t = utc(2030, 5, 5, 5, 5);
        assert_eq!(zone.local_to_utc(zone.utc_to_local(t)), t);
        // No IANA zone has these offsets.
        assert_eq!(zone.offset_at(utc(2024, 7, 1, 0, 0)), 4 * 3600 + 1800);
    }

    #[test]
    fn rfc5545_new_york_rules_match_iana() {
        // RFC 5545 §3.6.5's full New York VTIMEZONE (UNTIL-bounded rules,
        // an RDATE, the 2007 change) under a TZID no database knows: its
        // offsets must equal chrono-tz's America/New_York from 1968 to 2040.
        let text = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VTIMEZONE\r\nTZID:NYC rules\r\n\
BEGIN:DAYLIGHT\r\nDTSTART:19670430T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=4;BYDAY=-1SU;UNTIL=19730429T070000Z\r\n\
TZOFFSETFROM:-0500\r\nTZOFFSETTO:-0400\r\nEND:DAYLIGHT\r\n\
BEGIN:STANDARD\r\nDTSTART:19671029T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU;UNTIL=20061029T060000Z\r\n\
TZOFFSETFROM:-0400\r\nTZOFFSETTO:-0500\r\nEND:STANDARD\r\n\
BEGIN:DAYLIGHT\r\nDTSTART:19740106T020000\r\nRDATE:19750223T020000\r\nTZOFFSETFROM:-0500\r\nTZOFFSETTO:-0400\r\nEND:DAYLIGHT\r\n\
BEGIN:DAYLIGHT\r\nDTSTART:19760425T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=4;BYDAY=-1SU;UNTIL=19860427T070000Z\r\n\
TZOFFSETFROM:-0500\r\nTZOFFSETTO:-0400\r\nEND:DAYLIGHT\r\n\
BEGIN:DAYLIGHT\r\nDTSTART:19870405T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=4;BYDAY=1SU;UNTIL=20060402T070000Z\r\n\
TZOFFSETFROM:-0500\r\nTZOFFSETTO:-0400\r\nEND:DAYLIGHT\r\n\
BEGIN:DAYLIGHT\r\nDTSTART:20070311T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU\r\nTZOFFSETFROM:-0500\r\nTZOFFSETTO:-0400\r\nEND:DAYLIGHT\r\n\
BEGIN:STANDARD\r\nDTSTART:20071104T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU\r\nTZOFFSETFROM:-0400\r\nTZOFFSETTO:-0500\r\nEND:STANDARD\r\n\
END:VTIMEZONE\r\nEND:VCALENDAR\r\n";
        let custom = zone_from_calendar_timezone(text).unwrap();
        assert!(matches!(custom, Zone::Custom(_)));
        let iana = Zone::from_name("America/New_York").unwrap();
        let mut t = utc(1968, 1, 1, 0, 0);
        while t < utc(2040, 1, 1, 0, 0) {
            assert_eq!(custom.offset_at(t), iana.offset_at(t), "at {t}");
            t += Duration::minutes(30 * 7 + 1);
        }
        for (y, m, d, h) in [
            (1974, 1, 6, 2),
            (1975, 2, 23, 2),
            (2006, 10, 29, 1),
            (2007, 3, 11, 2),
            (2007, 11, 4, 1),
        ] {
            let l = local(y, m, d, h, 30);
            assert_eq!(custom.local_to_utc(l), iana.local_to_utc(l), "{l}");
        }
    }

    #[test]
    fn rdate_only_observances() {
        let text = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\n\
BEGIN:VTIMEZONE\r\nTZID:Island Time\r\n\
BEGIN:STANDARD\r\nDTSTART:19991031T020000\r\nRDATE:20001029T020000,20011028T020000\r\n\
TZOFFSETFROM:-0400\r\nTZOFFSETTO:-0500\r\nEND:STANDARD\r\n\
BEGIN:DAYLIGHT\r\nDTSTART:20000402T020000\r\nRDATE:20010401T020000\r\n\
TZOFFSETFROM:-0500\r\nTZOFFSETTO:-0400\r\nEND:DAYLIGHT\r\n\
END:VTIMEZONE\r\nEND:VCALENDAR\r\n";
        let zone = zone_from_calendar_timezone(text).unwrap();
        assert!(matches!(zone, Zone::Custom(_)));
        assert_eq!(
            zone.local_to_utc(local(2000, 1, 1, 12, 0)),
            utc(2000, 1, 1, 17, 0)
        );
        assert_eq!(
            zone.local_to_utc(local(2000, 6, 1, 12, 0)),
            utc(2000, 6, 1, 16, 0)
        );
        assert_eq!(
            zone.local_to_utc(local(2000, 12, 1, 12, 0)),
            utc(2000, 12, 1, 17, 0)
        );
        assert_eq!(
            zone.local_to_utc(local(2001, 6, 1, 12, 0)),
            utc(2001, 6, 1, 16, 0)
        );
        // After the last onset (2001-10-28) standard time stays.
        assert_eq!(
            zone.local_to_utc(local(2005, 6, 1, 12, 0)),
            utc(2005, 6, 1, 17, 0)
        );
        // Before the first onset: the first observance's TZOFFSETFROM.
        assert_eq!(zone.offset_at(utc(1990, 1, 1, 0, 0)), -4 * 3600);
    }

    #[test]
    fn vtimezone_resolution_order() {
        // A VTIMEZONE named by an IANA zone uses the IANA rules; an unknown
        // TZID with X-LIC-LOCATION uses that name.
        let text = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\n\
BEGIN:VTIMEZONE\r\nTZID:/custom/Paris\r\nX-LIC-LOCATION:Europe/Paris\r\n\
BEGIN:STANDARD\r\nDTSTART:19700101T000000\r\nTZOFFSETFROM:+0000\r\nTZOFFSETTO:+0000\r\nEND:STANDARD\r\n\
END:VTIMEZONE\r\nEND:VCALENDAR\r\n";
        let zone = zone_from_calendar_timezone(text).unwrap();
        assert_eq!(zone.name(), Some("Europe/Paris"));
        let ical = ICalendar::parse(text).unwrap();
        let resolver = TzResolver::new(&ical, None);
        assert_eq!(
            resolver.resolve("/custom/Paris").unwrap().name(),
            Some("Europe/Paris")
        );
        assert_eq!(
            resolver.resolve("America/New_York").unwrap().name(),
            Some("America/New_York")
        );
        assert!(resolver.resolve("Nowhere/Special").is_none());
        // An invalid VTIMEZONE gives no calendar zone.
        assert!(zone_from_calendar_timezone(
            "BEGIN:VCALENDAR\r\nBEGIN:VTIMEZONE\r\nTZID:X\r\nEND:VTIMEZONE\r\nEND:VCALENDAR\r\n"
        )
        .is_none());
        assert!(zone_from_calendar_timezone("garbage").is_none());
    }

    #[test]
    fn values_and_forms() {
        let text = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\n\
DTSTART;TZID=Europe/Paris:20240601T100000\r\nDTEND:20240601T100000Z\r\n\
DUE:20240601T100000\r\nRDATE;VALUE=DATE:20240601\r\nCREATED:20240601T235960Z\r\n\
END:VEVENT\r\nEND:VCALENDAR\r\n";
        let ical = ICalendar::parse(text).unwrap();
        let ny = Zone::from_name("America/New_York").unwrap();
        let resolver = TzResolver::new(&ical, Some(ny));
        let e = &ical.components[1].entries;
        let v = resolver.first_value(&e[0]).unwrap();
        assert_eq!(
            (v.utc(), v.floating, v.is_date),
            (utc(2024, 6, 1, 8, 0), false, false)
        );
        let v = resolver.first_value(&e[1]).unwrap();
        assert_eq!((v.utc(), v.floating), (utc(2024, 6, 1, 10, 0), false));
        let v = resolver.first_value(&e[2]).unwrap();
        assert_eq!((v.utc(), v.floating), (utc(2024, 6, 1, 14, 0), true));
        let v = resolver.first_value(&e[3]).unwrap();
        assert_eq!(
            (v.utc(), v.floating, v.is_date),
            (utc(2024, 6, 1, 4, 0), true, true)
        );
        // Leap second read as :59.
        let v = resolver.first_value(&e[4]).unwrap();
        assert_eq!(v.utc().second(), 59);
    }
}
