//! Free-busy information (RFC 4791 §7.10): the busy periods of one object
//! within a range, their coalescing, and the VFREEBUSY answer.

use std::fmt::Write;

use calcard::icalendar::{ICalendarStatus, ICalendarTransparency};
use chrono::{DateTime, Datelike, Timelike, Utc};

use super::{
    object::{CalendarObject, ComponentType},
    recur::{instances, period_values},
    push_folded,
    tz::TzResolver,
    TimeRange,
};

/// Instances of one object considered at most for free-busy: a day of a
/// SECONDLY rule fits; beyond, the answer would be incomplete and
/// [`busy_periods`] says so.
pub const MAX_FREEBUSY_INSTANCES: usize = 100_000;

/// The busy time of an object could not be computed completely: more
/// instances than [`MAX_FREEBUSY_INSTANCES`] fall in the range, or the
/// compute job's budget ran out ([`crate::compute`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Incomplete;

/// The FBTYPE of a busy period (RFC 5545 §3.2.9).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FbType {
    Busy,
    BusyTentative,
    BusyUnavailable,
}

impl FbType {
    pub fn as_str(&self) -> &'static str {
        match self {
            FbType::Busy => "BUSY",
            FbType::BusyTentative => "BUSY-TENTATIVE",
            FbType::BusyUnavailable => "BUSY-UNAVAILABLE",
        }
    }
}

/// A busy period in UTC, `start < end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BusyPeriod {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub fbtype: FbType,
}

/// The busy periods of a calendar object within `range` (RFC 4791 §7.10):
/// only VEVENTs count; TRANSP:TRANSPARENT and STATUS:CANCELLED instances
/// are free; STATUS:TENTATIVE gives BUSY-TENTATIVE, CONFIRMED, none or an
/// x-name BUSY. Recurrences are expanded, each instance taking the status
/// and transparency of the component it comes from (so an override can
/// cancel one occurrence). Periods are clipped to the range; instances of
/// zero length (a DATE-TIME DTSTART without end) block no time. The
/// periods come back merged ([`merge`]). [`Incomplete`] rather than a
/// silently shorter answer when not every instance could be considered.
pub fn busy_periods(
    obj: &CalendarObject,
    resolver: &TzResolver,
    range: &TimeRange,
) -> Result<Vec<BusyPeriod>, Incomplete> {
    busy_periods_as(obj, resolver, range, None)
}

/// [`busy_periods`] of one calendar user, `is_self` recognizing their
/// calendar user addresses (RFC 6638 §5 busy time): an instance they are
/// an ATTENDEE of counts by their participation (RFC 5545 §3.2.12) —
/// DECLINED leaves them free, NEEDS-ACTION and TENTATIVE make it
/// BUSY-TENTATIVE, ACCEPTED and DELEGATED keep the event's own status.
pub fn busy_periods_of_user(
    obj: &CalendarObject,
    resolver: &TzResolver,
    range: &TimeRange,
    is_self: &dyn Fn(&str) -> bool,
) -> Result<Vec<BusyPeriod>, Incomplete> {
    busy_periods_as(obj, resolver, range, Some(is_self))
}

/// The participation of the calendar user `is_self` recognizes in `comp`,
/// upper-cased (None when not an attendee).
fn own_partstat(comp: &calcard::icalendar::ICalendarComponent, is_self: &dyn Fn(&str) -> bool) -> Option<String> {
    use calcard::icalendar::{ICalendarParameterName, ICalendarProperty};
    comp.properties(&ICalendarProperty::Attendee)
        .find(|a| a.values.first().and_then(|v| v.as_text()).is_some_and(|t| is_self(t.trim())))
        .map(|a| {
            a.parameter(&ICalendarParameterName::Partstat)
                .and_then(|v| v.as_text())
                .map_or_else(|| "NEEDS-ACTION".to_string(), |t| t.trim().to_ascii_uppercase())
        })
}

fn busy_periods_as(
    obj: &CalendarObject,
    resolver: &TzResolver,
    range: &TimeRange,
    is_self: Option<&dyn Fn(&str) -> bool>,
) -> Result<Vec<BusyPeriod>, Incomplete> {
    if obj.component_type() != ComponentType::VEvent {
        return Ok(Vec::new());
    }
    let (s, e) = range.millis();
    let mut out = Vec::new();
    let mut memo: Vec<(u32, Option<FbType>)> = Vec::new();
    let found = instances(obj, resolver, range, MAX_FREEBUSY_INSTANCES);
    if found.truncated {
        return Err(Incomplete);
    }
    for inst in found.iter() {
        let (start, end) = (inst.start.timestamp_millis(), inst.end.timestamp_millis());
        if end <= start || !(s < end && e > start) {
            continue;
        }
        let fbtype = match memo.iter().find(|(c, _)| *c == inst.comp) {
            Some((_, t)) => *t,
            None => {
                let t = obj.component(inst.comp).and_then(|c| {
                    if c.transparency() == Some(&ICalendarTransparency::Transparent) {
                        return None;
                    }
                    let own = is_self.and_then(|f| own_partstat(c, f));
                    match (c.status(), own.as_deref()) {
                        (Some(ICalendarStatus::Cancelled), _) | (_, Some("DECLINED")) => None,
                        (Some(ICalendarStatus::Tentative), _) | (_, Some("NEEDS-ACTION" | "TENTATIVE")) => {
                            Some(FbType::BusyTentative)
                        }
                        _ => Some(FbType::Busy),
                    }
                });
                memo.push((inst.comp, t));
                t
            }
        };
        let Some(fbtype) = fbtype else { continue };
        out.push(BusyPeriod {
            start: range.start.map_or(inst.start, |r| r.max(inst.start)),
            end: range.end.map_or(inst.end, |r| r.min(inst.end)),
            fbtype,
        });
    }
    Ok(merge(out))
}

/// The busy periods stored in a VFREEBUSY object's FREEBUSY properties
/// (FBTYPE other than FREE) within `range`, clipped to it. RFC 4791 §7.10
/// lets a server count them; [`busy_periods`] does not.
pub fn stored_busy_periods(obj: &CalendarObject, range: &TimeRange) -> Vec<BusyPeriod> {
    use calcard::icalendar::{
        ICalendarFreeBusyType, ICalendarParameterName, ICalendarParameterValue, ICalendarProperty,
    };
    if obj.component_type() != ComponentType::VFreebusy {
        return Vec::new();
    }
    let (s, e) = range.millis();
    let mut out = Vec::new();
    for &idx in obj.main_components() {
        let Some(comp) = obj.component(idx) else {
            continue;
        };
        for entry in comp
            .entries
            .iter()
            .filter(|e| e.name == ICalendarProperty::Freebusy)
        {
            let fbtype = match entry
                .params
                .iter()
                .find(|p| p.name == ICalendarParameterName::Fbtype)
                .map(|p| &p.value)
            {
                Some(ICalendarParameterValue::Fbtype(ICalendarFreeBusyType::Free)) => continue,
                Some(ICalendarParameterValue::Fbtype(ICalendarFreeBusyType::BusyTentative)) => {
                    FbType::BusyTentative
                }
                Some(ICalendarParameterValue::Fbtype(ICalendarFreeBusyType::BusyUnavailable)) => {
                    FbType::BusyUnavailable
                }
                _ => FbType::Busy,
            };
            for (ps, pe) in period_values(entry) {
                let (ps, pe) = (ps.saturating_mul(1000), pe.saturating_mul(1000));
                if pe > ps && s < pe && e > ps {
                    let (Some(a), Some(b)) = (
                        DateTime::from_timestamp_millis(ps.max(s)),
                        DateTime::from_timestamp_millis(pe.min(e)),
                    ) else {
                        continue;
                    };
                    out.push(BusyPeriod {
                        start: a,
                        end: b,
                        fbtype,
                    });
                }
            }
        }
    }
    out
}

/// Coalesces overlapping or adjacent periods of the same FBTYPE (RFC 4791
/// §7.10: "Servers SHOULD coalesce consecutive or overlapping busy time
/// periods of the same type"); periods of different types may overlap.
/// The result is sorted by start, then type.
pub fn merge(mut periods: Vec<BusyPeriod>) -> Vec<BusyPeriod> {
    periods.retain(|p| p.end > p.start);
    periods.sort_unstable_by_key(|p| (p.fbtype, p.start, p.end));
    let mut out: Vec<BusyPeriod> = Vec::with_capacity(periods.len());
    for p in periods {
        match out.last_mut() {
            Some(last) if last.fbtype == p.fbtype && p.start <= last.end => {
                last.end = last.end.max(p.end);
            }
            _ => out.push(p),
        }
    }
    out.sort_unstable_by_key(|p| (p.start, p.fbtype, p.end));
    out
}

/// Writes a UTC time as an iCalendar DATE-TIME with "Z" (RFC 5545 §3.3.5
/// FORM #2).
pub fn format_utc(t: DateTime<Utc>, out: &mut String) {
    let _ = write!(
        out,
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
}

/// The free-busy-query answer (RFC 4791 §7.10): a VCALENDAR with one
/// VFREEBUSY whose DTSTART / DTEND are the range in UTC and one FREEBUSY
/// line per period (`FREEBUSY;FBTYPE=…:start/end` in UTC), periods written
/// as given (pass them through [`merge`]). CRLF line endings, folded at 75
/// octets.
pub fn vfreebusy_text(range: &TimeRange, periods: &[BusyPeriod], dtstamp: DateTime<Utc>) -> String {
    let mut out = String::with_capacity(256 + periods.len() * 64);
    let mut line = String::with_capacity(96);
    out.push_str("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Almanach//CalDAV Server//EN\r\nBEGIN:VFREEBUSY\r\n");
    for (name, t) in [
        ("DTSTAMP:", Some(dtstamp)),
        ("DTSTART:", range.start),
        ("DTEND:", range.end),
    ] {
        if let Some(t) = t {
            line.clear();
            line.push_str(name);
            format_utc(t, &mut line);
            push_folded(&mut out, &line);
        }
    }
    for p in periods {
        line.clear();
        line.push_str("FREEBUSY;FBTYPE=");
        line.push_str(p.fbtype.as_str());
        line.push(':');
        format_utc(p.start, &mut line);
        line.push('/');
        format_utc(p.end, &mut line);
        push_folded(&mut out, &line);
    }
    out.push_str("END:VFREEBUSY\r\nEND:VCALENDAR\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ical::object::parse_calendar_object;
    use chrono::TimeZone;

    fn utc(y: i32, m: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, mi, 0).unwrap()
    }

    const TZ: &str = "BEGIN:VTIMEZONE\r\nLAST-MODIFIED:20040110T032845Z\r\nTZID:US/Eastern\r\n\
BEGIN:DAYLIGHT\r\nDTSTART:20000404T020000\r\nRRULE:FREQ=YEARLY;BYDAY=1SU;BYMONTH=4\r\nTZNAME:EDT\r\n\
TZOFFSETFROM:-0500\r\nTZOFFSETTO:-0400\r\nEND:DAYLIGHT\r\nBEGIN:STANDARD\r\nDTSTART:20001026T020000\r\n\
RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10\r\nTZNAME:EST\r\nTZOFFSETFROM:-0400\r\nTZOFFSETTO:-0500\r\n\
END:STANDARD\r\nEND:VTIMEZONE\r\n";

    fn obj(body: &str) -> CalendarObject {
        let text = format!("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Example Corp.//CalDAV Client//EN\r\n{body}END:VCALENDAR\r\n");
        parse_calendar_object(text.as_bytes()).unwrap_or_else(|e| panic!("{e}: {text}"))
    }

    fn busy(o: &CalendarObject, range: &TimeRange) -> Vec<BusyPeriod> {
        busy_periods(o, &o.resolver(None), range).unwrap()
    }

    #[test]
    fn an_attendee_is_free_when_declined_and_tentative_until_accepted() {
        let event = |partstat: &str| {
            obj(&format!(
                "BEGIN:VEVENT\r\nUID:p\r\nDTSTAMP:20060206T001220Z\r\nDTSTART:20060104T140000Z\r\n\
DTEND:20060104T150000Z\r\nORGANIZER:mailto:o@example.com\r\nATTENDEE;PARTSTAT={partstat}:mailto:Me@Example.com\r\n\
END:VEVENT\r\n"
            ))
        };
        let range = TimeRange::new(Some(utc(2006, 1, 4, 0, 0)), Some(utc(2006, 1, 5, 0, 0)));
        let me = |a: &str| a.eq_ignore_ascii_case("mailto:me@example.com");
        let of = |partstat: &str| {
            let o = event(partstat);
            busy_periods_of_user(&o, &o.resolver(None), &range, &me).unwrap().iter().map(|p| p.fbtype).collect::<Vec<_>>()
        };
        assert_eq!(of("ACCEPTED"), vec![FbType::Busy]);
        assert_eq!(of("NEEDS-ACTION"), vec![FbType::BusyTentative]);
        assert_eq!(of("TENTATIVE"), vec![FbType::BusyTentative]);
        assert!(of("DECLINED").is_empty());
        // Someone else's view of the same event: the event's own status.
        let o = event("DECLINED");
        assert_eq!(busy(&o, &range).len(), 1);
    }

    #[test]
    fn rfc4791_example() {
        // §7.10.1 over Appendix B: abcd1 (Event #1, 2006-01-02), abcd2
        // (Event #2, daily ×5 with an override), abcd3 (Event #3, TENTATIVE).
        let abcd1 = obj(&format!("{TZ}BEGIN:VEVENT\r\nDTSTAMP:20060206T001102Z\r\nDTSTART;TZID=US/Eastern:20060102T100000\r\n\
DURATION:PT1H\r\nSUMMARY:Event #1\r\nDescription:Go Steelers!\r\nUID:74855313FA803DA593CD579A@example.com\r\nEND:VEVENT\r\n"));
        let abcd2 = obj(&format!("{TZ}BEGIN:VEVENT\r\nDTSTAMP:20060206T001121Z\r\nDTSTART;TZID=US/Eastern:20060102T120000\r\n\
DURATION:PT1H\r\nRRULE:FREQ=DAILY;COUNT=5\r\nSUMMARY:Event #2\r\nUID:00959BC664CA650E933C892C@example.com\r\nEND:VEVENT\r\n\
BEGIN:VEVENT\r\nDTSTAMP:20060206T001121Z\r\nDTSTART;TZID=US/Eastern:20060104T140000\r\nDURATION:PT1H\r\n\
RECURRENCE-ID;TZID=US/Eastern:20060104T120000\r\nSUMMARY:Event #2 bis\r\nUID:00959BC664CA650E933C892C@example.com\r\nEND:VEVENT\r\n"));
        let abcd3 = obj(&format!("{TZ}BEGIN:VEVENT\r\nATTENDEE;PARTSTAT=ACCEPTED;ROLE=CHAIR:mailto:cyrus@example.com\r\n\
ATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:lisa@example.com\r\nDTSTAMP:20060206T001220Z\r\n\
DTSTART;TZID=US/Eastern:20060104T100000\r\nDURATION:PT1H\r\nLAST-MODIFIED:20060206T001330Z\r\n\
ORGANIZER:mailto:cyrus@example.com\r\nSEQUENCE:1\r\nSTATUS:TENTATIVE\r\nSUMMARY:Event #3\r\n\
UID:DC6C50A017428C5216A2F1CD@example.com\r\nEND:VEVENT\r\n"));
        // The example's range as the text describes it (9:00–17:00 EST on
        // January 4th); the request's own end attribute says the 5th.
        let range = TimeRange::new(Some(utc(2006, 1, 4, 14, 0)), Some(utc(2006, 1, 4, 22, 0)));
        let mut all = Vec::new();
        for o in [&abcd1, &abcd2, &abcd3] {
            all.extend(busy(o, &range));
        }
        let merged = merge(all);
        assert_eq!(
            merged,
            vec![
                BusyPeriod {
                    start: utc(2006, 1, 4, 15, 0),
                    end: utc(2006, 1, 4, 16, 0),
                    fbtype: FbType::BusyTentative
                },
                BusyPeriod {
                    start: utc(2006, 1, 4, 19, 0),
                    end: utc(2006, 1, 4, 20, 0),
                    fbtype: FbType::Busy
                },
            ]
        );
        let text = vfreebusy_text(&range, &merged, utc(2005, 1, 25, 9, 0));
        assert_eq!(
            text,
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Almanach//CalDAV Server//EN\r\nBEGIN:VFREEBUSY\r\n\
DTSTAMP:20050125T090000Z\r\nDTSTART:20060104T140000Z\r\nDTEND:20060104T220000Z\r\n\
FREEBUSY;FBTYPE=BUSY-TENTATIVE:20060104T150000Z/20060104T160000Z\r\n\
FREEBUSY;FBTYPE=BUSY:20060104T190000Z/20060104T200000Z\r\nEND:VFREEBUSY\r\nEND:VCALENDAR\r\n"
        );
        // The answer parses back.
        assert!(calcard::icalendar::ICalendar::parse(&text).is_ok());
    }

    #[test]
    fn transparency_status_and_clipping() {
        let range = TimeRange::new(Some(utc(2024, 1, 1, 0, 0)), Some(utc(2024, 1, 8, 0, 0)));
        let o = obj("BEGIN:VEVENT\r\nUID:a\r\nDTSTART:20240101T100000Z\r\nDTEND:20240101T110000Z\r\nTRANSP:TRANSPARENT\r\nEND:VEVENT\r\n");
        assert!(busy(&o, &range).is_empty());
        let o = obj("BEGIN:VEVENT\r\nUID:a\r\nDTSTART:20240101T100000Z\r\nDTEND:20240101T110000Z\r\nSTATUS:CANCELLED\r\nEND:VEVENT\r\n");
        assert!(busy(&o, &range).is_empty());
        let o = obj("BEGIN:VEVENT\r\nUID:a\r\nDTSTART:20240101T100000Z\r\nEND:VEVENT\r\n");
        assert!(busy(&o, &range).is_empty());
        // Daily; the 3rd cancelled by an override, the 4th moved and tentative;
        // the range clips the first.
        let o = obj("BEGIN:VEVENT\r\nUID:a\r\nDTSTART:20231231T230000Z\r\nDTEND:20240101T010000Z\r\nSTATUS:CONFIRMED\r\nRRULE:FREQ=DAILY;COUNT=5\r\nEND:VEVENT\r\n\
BEGIN:VEVENT\r\nUID:a\r\nRECURRENCE-ID:20240102T230000Z\r\nDTSTART:20240102T230000Z\r\nDTEND:20240103T010000Z\r\nSTATUS:CANCELLED\r\nEND:VEVENT\r\n\
BEGIN:VEVENT\r\nUID:a\r\nRECURRENCE-ID:20240103T230000Z\r\nDTSTART:20240104T120000Z\r\nDTEND:20240104T130000Z\r\nSTATUS:TENTATIVE\r\nEND:VEVENT\r\n");
        let got = merge(busy(&o, &range));
        assert_eq!(
            got,
            vec![
                BusyPeriod {
                    start: utc(2024, 1, 1, 0, 0),
                    end: utc(2024, 1, 1, 1, 0),
                    fbtype: FbType::Busy
                },
                BusyPeriod {
                    start: utc(2024, 1, 1, 23, 0),
                    end: utc(2024, 1, 2, 1, 0),
                    fbtype: FbType::Busy
                },
                BusyPeriod {
                    start: utc(2024, 1, 4, 12, 0),
                    end: utc(2024, 1, 4, 13, 0),
                    fbtype: FbType::BusyTentative
                },
                BusyPeriod {
                    start: utc(2024, 1, 4, 23, 0),
                    end: utc(2024, 1, 5, 1, 0),
                    fbtype: FbType::Busy
                },
            ]
        );
        // Not VEVENT: nothing.
        let o = obj("BEGIN:VTODO\r\nUID:t\r\nDTSTART:20240101T100000Z\r\nDUE:20240101T110000Z\r\nEND:VTODO\r\n");
        assert!(busy(&o, &range).is_empty());
        // Stored VFREEBUSY periods, FREE left out.
        let o = obj("BEGIN:VFREEBUSY\r\nUID:f\r\nFREEBUSY:20240102T100000Z/PT1H\r\nFREEBUSY;FBTYPE=FREE:20240102T120000Z/PT1H\r\n\
FREEBUSY;FBTYPE=BUSY-UNAVAILABLE:20231231T120000Z/20240101T120000Z\r\nEND:VFREEBUSY\r\n");
        assert_eq!(
            merge(stored_busy_periods(&o, &range)),
            vec![
                BusyPeriod {
                    start: utc(2024, 1, 1, 0, 0),
                    end: utc(2024, 1, 1, 12, 0),
                    fbtype: FbType::BusyUnavailable
                },
                BusyPeriod {
                    start: utc(2024, 1, 2, 10, 0),
                    end: utc(2024, 1, 2, 11, 0),
                    fbtype: FbType::Busy
                },
            ]
        );
    }

    #[test]
    fn merging() {
        let p = |h1, h2, t| BusyPeriod {
            start: utc(2024, 1, 1, h1, 0),
            end: utc(2024, 1, 1, h2, 0),
            fbtype: t,
        };
        let got = merge(vec![
            p(10, 11, FbType::Busy),
            p(9, 10, FbType::Busy),           // adjacent
            p(10, 12, FbType::BusyTentative), // other type: kept, may overlap
            p(10, 10, FbType::Busy),          // empty: dropped
            p(13, 15, FbType::Busy),
            p(14, 16, FbType::Busy), // overlapping
            p(20, 21, FbType::Busy),
        ]);
        assert_eq!(
            got,
            vec![
                p(9, 11, FbType::Busy),
                p(10, 12, FbType::BusyTentative),
                p(13, 16, FbType::Busy),
                p(20, 21, FbType::Busy)
            ]
        );
    }

    #[test]
    fn folding() {
        let mut out = String::new();
        let line = format!("X-LONG:{}", "é".repeat(60));
        push_folded(&mut out, &line);
        for l in out.split("\r\n").filter(|l| !l.is_empty()) {
            assert!(l.len() <= 75, "{} octets", l.len());
        }
        assert_eq!(out.replace("\r\n ", ""), format!("{line}\r\n"));
        // An empty range end and no periods.
        let text = vfreebusy_text(
            &TimeRange::new(Some(utc(2024, 1, 1, 0, 0)), None),
            &[],
            utc(2024, 1, 1, 0, 0),
        );
        assert!(!text.contains("DTEND") && !text.contains("FREEBUSY;"));
        assert!(text.ends_with("END:VCALENDAR\r\n"));
    }
}
