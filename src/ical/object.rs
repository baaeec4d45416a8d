//! Parsing and validation of a calendar object resource (RFC 4791 §4.1,
//! §5.3.2.1): the `valid-calendar-data` and `valid-calendar-object-resource`
//! preconditions of PUT, COPY and MOVE.
//!
//! Validation runs in three steps:
//! 1. the bytes must be UTF-8 (the store keeps and serves the client's bytes
//!    as `text/calendar; charset=utf-8`, so a multi-byte character split by
//!    a line fold — which RFC 5545 §3.1 asks readers to repair — is refused
//!    rather than rewritten);
//! 2. a line-level scan, unfolding lines (CRLF or bare LF): exactly one
//!    VCALENDAR, every line `name[;params]:value`, BEGIN/END balanced and
//!    nested at most [`MAX_NESTING`] deep, at most [`MAX_COMPONENTS`];
//! 3. calcard parses, then the RFC 5545 / RFC 4791 rules below are checked.
//!
//! Tolerated, as real clients send them: a missing PRODID, LF-only line
//! endings, lower-case names, X- and unknown IANA components, properties
//! and parameters, blank lines, a TZID whose VTIMEZONE is missing when the
//! TZID is a known zone name (IANA, or a Windows name calcard maps: RFC
//! 4791 §4.1 says the VTIMEZONE MUST be present, but the name identifies
//! the zone unambiguously; an unknown TZID without VTIMEZONE is refused
//! since its times cannot be placed), DTEND next to DURATION (DTEND wins).

use crate::contentline::unfold_bytes;
use calcard::{
    icalendar::{
        ICalendar, ICalendarComponent, ICalendarComponentType, ICalendarParameterName,
        ICalendarProperty,
    },
    Entry,
};

use super::{
    recur::{kind_of, rule_occurrences, Kind, Timing},
    tz::{component_tzid, zone_of_vtimezone, TzResolver, Zone},
};

/// Deepest BEGIN nesting accepted (VCALENDAR > VEVENT > VALARM is 3).
pub const MAX_NESTING: usize = 16;
/// Most components accepted in one resource.
pub const MAX_COMPONENTS: usize = 100_000;

/// The calendar component type of a calendar object resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ComponentType {
    VEvent,
    VTodo,
    VJournal,
    VFreebusy,
    VAvailability,
}

impl ComponentType {
    pub fn as_str(&self) -> &'static str {
        match self {
            ComponentType::VEvent => "VEVENT",
            ComponentType::VTodo => "VTODO",
            ComponentType::VJournal => "VJOURNAL",
            ComponentType::VFreebusy => "VFREEBUSY",
            ComponentType::VAvailability => "VAVAILABILITY",
        }
    }

    /// Case-insensitive, as in `supported-calendar-component-set`.
    pub fn parse(name: &str) -> Option<ComponentType> {
        [
            ComponentType::VEvent,
            ComponentType::VTodo,
            ComponentType::VJournal,
            ComponentType::VFreebusy,
            ComponentType::VAvailability,
        ]
        .into_iter()
        .find(|t| t.as_str().eq_ignore_ascii_case(name))
    }

    pub fn from_ical(t: &ICalendarComponentType) -> Option<ComponentType> {
        Some(match t {
            ICalendarComponentType::VEvent => ComponentType::VEvent,
            ICalendarComponentType::VTodo => ComponentType::VTodo,
            ICalendarComponentType::VJournal => ComponentType::VJournal,
            ICalendarComponentType::VFreebusy => ComponentType::VFreebusy,
            ICalendarComponentType::VAvailability => ComponentType::VAvailability,
            _ => return None,
        })
    }
}

/// Why a resource is refused, by CalDAV precondition (RFC 4791 §5.3.2.1).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ObjectError {
    /// `CALDAV:valid-calendar-data`: not (valid) iCalendar.
    #[error("invalid calendar data: {0}")]
    InvalidData(String),
    /// `CALDAV:valid-calendar-object-resource`: valid iCalendar that breaks
    /// RFC 4791 §4.1.
    #[error("invalid calendar object resource: {0}")]
    InvalidObject(String),
}

fn data(msg: impl Into<String>) -> ObjectError {
    ObjectError::InvalidData(msg.into())
}

fn object(msg: impl Into<String>) -> ObjectError {
    ObjectError::InvalidObject(msg.into())
}

/// A parsed calendar object resource.
#[derive(Debug, Clone)]
pub struct CalendarObject {
    /// The resource as received.
    pub text: String,
    pub ical: ICalendar,
    uid: String,
    component_type: ComponentType,
    components: Vec<u32>,
    timezones: Vec<u32>,
}

impl CalendarObject {
    /// The UID shared by all its components.
    pub fn uid(&self) -> &str {
        &self.uid
    }

    pub fn component_type(&self) -> ComponentType {
        self.component_type
    }

    /// Indexes (into `ical.components`) of the top-level components of the
    /// object's type: the master and its overrides, in document order.
    pub fn main_components(&self) -> &[u32] {
        &self.components
    }

    /// Indexes of the VTIMEZONE components.
    pub fn timezone_ids(&self) -> &[u32] {
        &self.timezones
    }

    /// The VTIMEZONE components.
    pub fn timezones(&self) -> impl Iterator<Item = &ICalendarComponent> {
        self.timezones
            .iter()
            .filter_map(|i| self.ical.components.get(*i as usize))
    }

    /// The VCALENDAR component.
    pub fn root(&self) -> &ICalendarComponent {
        &self.ical.components[0]
    }

    pub fn component(&self, idx: u32) -> Option<&ICalendarComponent> {
        self.ical.components.get(idx as usize)
    }

    /// The main component without RECURRENCE-ID, if any.
    pub fn master(&self) -> Option<u32> {
        self.components.iter().copied().find(|i| {
            self.component(*i)
                .is_some_and(|c| !c.has_property(&ICalendarProperty::RecurrenceId))
        })
    }

    /// Whether any component has RRULE, RDATE or RECURRENCE-ID.
    pub fn is_recurring(&self) -> bool {
        self.components
            .iter()
            .filter_map(|i| self.component(*i))
            .any(|c| c.is_recurrent_or_override())
    }

    /// A time zone resolver for this object; `default` is the calendar's
    /// zone for floating times and DATE values (`None`: UTC).
    pub fn resolver(&self, default: Option<Zone>) -> TzResolver {
        TzResolver::new(&self.ical, default)
    }
}

/// Parses and validates a calendar object resource received by PUT, COPY
/// or MOVE (RFC 4791 §4.1, §5.3.2.1).
pub fn parse_calendar_object(bytes: &[u8]) -> Result<CalendarObject, ObjectError> {
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(_) if std::str::from_utf8(&unfold_bytes(bytes)).is_ok() => {
            return Err(data(
                "a multi-byte UTF-8 character is split by a line fold (RFC 5545 §3.1)",
            ))
        }
        Err(e) => return Err(data(format!("not UTF-8 (byte {})", e.valid_up_to()))),
    };
    // RFC 5545 §3.1: control characters are not part of any value; NUL
    // would also end the text early for many consumers.
    if text.contains('\0') {
        return Err(data("NUL character"));
    }
    scan(text)?;
    check_rule_parts(text)?;
    let obj = build(text.to_string())?;
    validate(&obj)?;
    Ok(obj)
}

/// Parses a resource that was validated when stored: only calcard's parse
/// and the structure (type, UID, components) — no line scan, no time
/// checks. For the query path.
pub fn parse_stored(text: String) -> Result<CalendarObject, ObjectError> {
    build(text)
}

/// Step 2: the line-level structure, on unfolded logical lines.
fn scan(text: &str) -> Result<(), ObjectError> {
    const PREFIX: usize = 96;
    let bytes = text.as_bytes();
    let mut pos = if text.starts_with('\u{feff}') { 3 } else { 0 };
    let mut line_no = 0usize;
    let mut stack: Vec<String> = Vec::new();
    let mut closed = false;
    let mut components = 0usize;
    let mut prefix: Vec<u8> = Vec::with_capacity(PREFIX);

    while pos < bytes.len() {
        // One logical line: a physical line and its continuations.
        line_no += 1;
        let start_line = line_no;
        prefix.clear();
        let mut truncated = false;
        let mut has_colon = false;
        let mut blank = true;
        let mut first = true;
        loop {
            let end = bytes[pos..]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(bytes.len(), |p| pos + p);
            let mut seg = &bytes[pos..end];
            if let [rest @ .., b'\r'] = seg {
                seg = rest;
            }
            if !first {
                seg = &seg[1..]; // the fold's space or tab
            }
            first = false;
            has_colon |= seg.contains(&b':');
            blank &= seg.iter().all(|b| b.is_ascii_whitespace());
            let room = PREFIX - prefix.len();
            prefix.extend_from_slice(&seg[..seg.len().min(room)]);
            truncated |= seg.len() > room;
            pos = end + 1;
            if pos < bytes.len() && matches!(bytes[pos], b' ' | b'\t') {
                line_no += 1;
                continue;
            }
            break;
        }
        if blank {
            continue;
        }
        if closed {
            return Err(data(if starts_with_ci(&prefix, b"BEGIN:VCALENDAR") {
                "more than one VCALENDAR object".to_string()
            } else {
                format!("line {start_line}: content after END:VCALENDAR")
            }));
        }
        let name_len = prefix
            .iter()
            .position(|&b| b == b';' || b == b':')
            .unwrap_or(prefix.len());
        let name = &prefix[..name_len];
        if !has_colon
            || name.is_empty()
            || !name
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
        {
            return Err(data(format!(
                "line {start_line}: not a content line (name[;params]:value)"
            )));
        }
        let is_begin = name.eq_ignore_ascii_case(b"BEGIN");
        if !is_begin && !name.eq_ignore_ascii_case(b"END") {
            if stack.is_empty() {
                return Err(data(format!(
                    "line {start_line}: content before BEGIN:VCALENDAR"
                )));
            }
            continue;
        }
        let value = prefix
            .iter()
            .position(|&b| b == b':')
            .map(|p| prefix[p + 1..].trim_ascii())
            .unwrap_or_default();
        if truncated || value.is_empty() {
            return Err(data(format!("line {start_line}: invalid component name")));
        }
        let value = String::from_utf8_lossy(value).to_ascii_uppercase();
        if is_begin {
            if stack.is_empty() && value != "VCALENDAR" {
                return Err(data(format!("not an iCalendar object (BEGIN:{value})")));
            }
            stack.push(value);
            components += 1;
            if stack.len() > MAX_NESTING {
                return Err(data(format!(
                    "components nested more than {MAX_NESTING} deep"
                )));
            }
            if components > MAX_COMPONENTS {
                return Err(data(format!("more than {MAX_COMPONENTS} components")));
            }
        } else {
            match stack.pop() {
                Some(open) if open == value => closed = stack.is_empty(),
                Some(open) => {
                    return Err(data(format!(
                        "line {start_line}: END:{value} inside BEGIN:{open}"
                    )));
                }
                None => {
                    return Err(data(format!(
                        "line {start_line}: END:{value} without BEGIN"
                    )))
                }
            }
        }
    }
    match stack.last() {
        Some(open) => Err(data(format!("unterminated component {open}"))),
        None if !closed => Err(data("no VCALENDAR object")),
        None => Ok(()),
    }
}

fn starts_with_ci(s: &[u8], p: &[u8]) -> bool {
    s.len() >= p.len() && s[..p.len()].eq_ignore_ascii_case(p)
}

/// calcard's parse and the object's structure.
fn build(text: String) -> Result<CalendarObject, ObjectError> {
    let ical = match ICalendar::parse(&text) {
        Ok(ical) => ical,
        Err(Entry::TooManyComponents) => return Err(data("too many components")),
        Err(Entry::UnterminatedComponent(name)) => {
            return Err(data(format!("unterminated component {name}")))
        }
        Err(Entry::UnexpectedComponentEnd { expected, found }) => {
            return Err(data(format!(
                "END:{} inside BEGIN:{}",
                found.as_str(),
                expected.as_str()
            )))
        }
        Err(Entry::InvalidLine(line)) => return Err(data(format!("invalid line: {line}"))),
        Err(Entry::VCard(_)) => return Err(data("a vCard, not an iCalendar object")),
        Err(_) => return Err(data("not an iCalendar object")),
    };
    structure(text, ical)
}

/// An object already parsed (and validated when it was stored or
/// received), as [`parse_stored`] would read it, without its text: for
/// what reads only the components (e.g. [`crate::ical::recur::index_bounds`]).
pub fn from_parsed(ical: ICalendar) -> Result<CalendarObject, ObjectError> {
    structure(String::new(), ical)
}

/// The type, UID and components of a parsed object.
fn structure(text: String, ical: ICalendar) -> Result<CalendarObject, ObjectError> {
    let root = match ical.components.first() {
        Some(root) if root.component_type == ICalendarComponentType::VCalendar => root,
        _ => return Err(data("not a VCALENDAR object")),
    };
    let mut components = Vec::new();
    let mut timezones = Vec::new();
    let mut component_type: Option<ComponentType> = None;
    for &id in &root.component_ids {
        let Some(comp) = ical.components.get(id as usize) else {
            continue;
        };
        match &comp.component_type {
            ICalendarComponentType::VTimezone => timezones.push(id),
            // X- and unknown IANA components (RFC 4791 §5.3.3) are kept, not typed.
            ICalendarComponentType::Other(_) => {}
            ICalendarComponentType::VCalendar => return Err(data("VCALENDAR nested in VCALENDAR")),
            other => {
                let Some(t) = ComponentType::from_ical(other) else {
                    return Err(object(format!(
                        "{} is not a top-level calendar component",
                        other.as_str()
                    )));
                };
                match component_type {
                    Some(first) if first != t => {
                        return Err(object(format!(
                            "more than one type of calendar component: {} and {}",
                            first.as_str(),
                            t.as_str()
                        )))
                    }
                    _ => component_type = Some(t),
                }
                components.push(id);
            }
        }
    }
    let Some(component_type) = component_type else {
        return Err(object(if timezones.is_empty() {
            "no calendar component"
        } else {
            "no calendar component besides VTIMEZONE"
        }));
    };
    let mut uid: Option<&str> = None;
    for &id in &components {
        let comp = &ical.components[id as usize];
        let this = comp.uid().map(str::trim).filter(|u| !u.is_empty());
        let Some(this) = this else {
            return Err(object(format!(
                "missing UID in {}",
                component_type.as_str()
            )));
        };
        match uid {
            Some(first) if first != this => {
                return Err(object(format!(
                    "more than one UID: \"{first}\" and \"{this}\""
                )));
            }
            _ => uid = Some(this),
        }
    }
    let uid = uid.unwrap_or_default().to_string();
    Ok(CalendarObject {
        text,
        ical,
        uid,
        component_type,
        components,
        timezones,
    })
}

/// Step 3: RFC 5545 and RFC 4791 §4.1 rules on the parsed object.
fn validate(obj: &CalendarObject) -> Result<(), ObjectError> {
    let ical = &obj.ical;
    let root = obj.root();

    // RFC 5545 §3.7.4: VERSION:2.0 is REQUIRED.
    match root
        .property(&ICalendarProperty::Version)
        .and_then(|e| e.values.first())
        .and_then(|v| v.as_text())
    {
        Some(v) if v.trim() == "2.0" => {}
        Some(v) => return Err(data(format!("unsupported VERSION {v}"))),
        None => return Err(data("missing VERSION:2.0")),
    }
    // RFC 4791 §4.1: no METHOD in a calendar object resource.
    if root.has_property(&ICalendarProperty::Method) {
        return Err(object("METHOD property in a calendar object resource"));
    }

    // VTIMEZONEs (RFC 5545 §3.6.5): a TZID each, unique, evaluable.
    let mut tzids: Vec<&str> = Vec::new();
    for comp in obj.timezones() {
        let tzid = component_tzid(comp).ok_or_else(|| data("VTIMEZONE without TZID"))?;
        if tzids.contains(&tzid) {
            return Err(data(format!(
                "two VTIMEZONE components with TZID \"{tzid}\""
            )));
        }
        tzids.push(tzid);
        if let Zone::Custom(rules) = zone_of_vtimezone(ical, comp).map_err(data)? {
            rules.check().map_err(data)?;
        }
    }
    // RFC 4791 §4.1: a VTIMEZONE for each TZID (a known zone name is accepted).
    let mut stack: Vec<u32> = obj.main_components().to_vec();
    while let Some(id) = stack.pop() {
        let Some(comp) = obj.component(id) else {
            continue;
        };
        stack.extend_from_slice(&comp.component_ids);
        for entry in &comp.entries {
            for param in &entry.params {
                if param.name != ICalendarParameterName::Tzid {
                    continue;
                }
                let Some(tzid) = param.value.as_text().map(str::trim) else {
                    continue;
                };
                if !tzids.contains(&tzid) && Zone::from_name(tzid).is_none() {
                    return Err(object(format!("no VTIMEZONE for TZID \"{tzid}\"")));
                }
            }
        }
    }

    // Times that can be evaluated (RFC 5545 §3.6.1, §3.6.2, §3.8.5.3).
    let resolver = TzResolver::new(ical, None);
    let mut timings = Vec::with_capacity(obj.main_components().len());
    for &id in obj.main_components() {
        let t = Timing::read(ical, id, &resolver).map_err(data)?;
        let name = t.comp.component_type.as_str();
        if t.kind == Kind::Event && t.dtstart.is_none() {
            return Err(data("VEVENT without DTSTART"));
        }
        if let Some(start) = &t.dtstart {
            let end = match t.kind {
                Kind::Todo => t.due.as_ref().map(|e| ("DUE", e)),
                _ => t.dtend.as_ref().map(|e| ("DTEND", e)),
            };
            if let Some((prop, end)) = end {
                if end.utc() < start.utc() {
                    return Err(data(format!("{name}: {prop} before DTSTART")));
                }
            }
            for rule in &t.rrules {
                let mut first = Vec::new();
                // Evaluating the rule up to DTSTART validates it (calcard
                // checks a rule before it iterates) without walking it.
                rule_occurrences(rule, start.local, None, Some(start.local), 2, &mut first)
                    .map_err(|e| data(format!("{name}: RRULE cannot be evaluated: {e}")))?;
            }
        } else if !t.rrules.is_empty() {
            return Err(data(format!("{name}: RRULE without DTSTART")));
        }
        // §3.8.2.5, §3.3.9: DURATION and the duration of a PERIOD are
        // positive, and a PERIOD's start is before its end.
        if t.duration.as_ref().is_some_and(|d| d.neg) {
            return Err(data(format!("{name}: negative DURATION")));
        }
        if t.rdates.iter().flat_map(|e| &e.values).any(is_backwards_period) {
            return Err(data(format!("{name}: RDATE period ending before its start")));
        }
        let freebusy = t.comp.entries.iter().filter(|e| e.name == ICalendarProperty::Freebusy);
        if freebusy.flat_map(|e| &e.values).any(is_backwards_period) {
            return Err(data(format!("{name}: FREEBUSY period ending before its start")));
        }
        timings.push(t);
    }
    // RFC 4791 §4.1 / RFC 5545 §3.8.4.4: one component per RECURRENCE-ID.
    let mut rids: Vec<Option<i64>> = Vec::with_capacity(timings.len());
    for t in &timings {
        if kind_of(&t.comp.component_type) == Kind::Other {
            continue;
        }
        let rid = t.rid.as_ref().and_then(|_| t.rid_utc(&timings));
        if t.rid.is_some() && rid.is_none() {
            return Err(data("invalid RECURRENCE-ID"));
        }
        if rids.contains(&rid) {
            return Err(object(match rid {
                None => format!(
                    "two components with UID \"{}\" and no RECURRENCE-ID",
                    obj.uid()
                ),
                Some(_) => format!(
                    "two components with UID \"{}\" and the same RECURRENCE-ID",
                    obj.uid()
                ),
            }));
        }
        rids.push(rid);
    }
    Ok(())
}

/// RFC 5545 §3.3.10 on the text of every RRULE and EXRULE: INTERVAL is a
/// positive integer, and COUNT too (DTSTART is the first occurrence, so a
/// COUNT of 0 contradicts it). Checked on the text because the parser
/// reads `INTERVAL=0` as no INTERVAL, which would silently mean 1.
fn check_rule_parts(text: &str) -> Result<(), ObjectError> {
    let rule_line = |l: &&[u8]| starts_with_ci(l, b"RRULE") || starts_with_ci(l, b"EXRULE");
    if !text.as_bytes().windows(5).any(|w| w.eq_ignore_ascii_case(b"RRULE") || w.eq_ignore_ascii_case(b"XRULE")) {
        return Ok(());
    }
    let unfolded = unfold_bytes(text.as_bytes());
    for line in unfolded.split(|b| *b == b'\n').filter(rule_line) {
        let Some(colon) = line.iter().position(|b| *b == b':') else { continue };
        for part in line[colon + 1..].trim_ascii().split(|b| *b == b';') {
            let Some(eq) = part.iter().position(|b| *b == b'=') else { continue };
            let (key, value) = (&part[..eq], part[eq + 1..].trim_ascii());
            if key.eq_ignore_ascii_case(b"INTERVAL") || key.eq_ignore_ascii_case(b"COUNT") {
                let positive = !value.is_empty() && value.iter().all(u8::is_ascii_digit) && value.iter().any(|b| *b != b'0');
                if !positive {
                    return Err(data(format!(
                        "{} must be a positive integer (RFC 5545 §3.3.10)",
                        String::from_utf8_lossy(key).to_ascii_uppercase()
                    )));
                }
            }
        }
    }
    Ok(())
}

/// A PERIOD value given as start and negative duration, or as start and
/// an end before it (RFC 5545 §3.3.9: "The start MUST be before the end";
/// an empty period, end equal to start, is tolerated).
fn is_backwards_period(value: &calcard::icalendar::ICalendarValue) -> bool {
    use calcard::common::IanaParse;
    use calcard::icalendar::{ICalendarPeriod, ICalendarValue};
    let parsed;
    let period = match value {
        ICalendarValue::Period(p) => Some(p),
        // A PERIOD without VALUE=PERIOD is left as text by calcard.
        ICalendarValue::Text(text) => {
            parsed = ICalendarPeriod::parse(text.as_bytes());
            parsed.as_ref()
        }
        _ => None,
    };
    match period {
        Some(ICalendarPeriod::Duration { duration, .. }) => duration.neg,
        Some(p @ ICalendarPeriod::Range { .. }) => super::recur::period_secs(p).is_some_and(|(start, end)| end < start),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wrap(body: &str) -> String {
        format!("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n{body}END:VCALENDAR\r\n")
    }

    const EVENT: &str = "BEGIN:VEVENT\r\nUID:abc\r\nDTSTAMP:20240101T000000Z\r\nDTSTART:20240101T100000Z\r\nDTEND:20240101T110000Z\r\nEND:VEVENT\r\n";

    fn err(text: &str) -> ObjectError {
        parse_calendar_object(text.as_bytes()).expect_err(text)
    }

    #[test]
    fn accepts_valid_and_tolerated() {
        let o = parse_calendar_object(wrap(EVENT).as_bytes()).unwrap();
        assert_eq!(o.uid(), "abc");
        assert_eq!(o.component_type(), ComponentType::VEvent);
        assert_eq!(o.component_type().as_str(), "VEVENT");
        assert_eq!(o.main_components().len(), 1);
        assert!(!o.is_recurring());
        // LF only, lower-case names, no PRODID, X- and unknown IANA
        // properties and components, blank lines, a known TZID without
        // VTIMEZONE, a BOM.
        let text = "\u{feff}begin:vcalendar\nversion:2.0\n\nX-WR-CALNAME:Home\nbegin:vevent\nuid:x1\n\
dtstart;tzid=Europe/Paris:20240101T100000\nduration:PT1H\nsummary;x-param=\"a:b\":Hi\nFOO-BAR:baz\n\
begin:x-thing\nx-a:1\nend:x-thing\nbegin:valarm\naction:DISPLAY\ntrigger:-PT5M\nend:valarm\nend:vevent\n\
BEGIN:X-CUSTOM\nX-B:2\nEND:X-CUSTOM\nend:vcalendar\n";
        let o = parse_calendar_object(text.as_bytes()).unwrap();
        assert_eq!(o.uid(), "x1");
        // Windows zone name without VTIMEZONE.
        let o = parse_calendar_object(
            wrap("BEGIN:VEVENT\r\nUID:w\r\nDTSTART;TZID=W. Europe Standard Time:20240101T100000\r\nEND:VEVENT\r\n").as_bytes(),
        );
        assert!(o.is_ok());
        // A folded BEGIN line and a folded multi-byte character (folded
        // between characters) are fine.
        let text = wrap("BEGIN:VEV\r\n ENT\r\nUID:f\r\nDTSTART:20240101T100000Z\r\nSUMMARY:caf\r\n é\r\nEND:VEVENT\r\n");
        let o = parse_calendar_object(text.as_bytes()).unwrap();
        assert_eq!(
            o.component(o.main_components()[0])
                .unwrap()
                .property(&ICalendarProperty::Summary)
                .unwrap()
                .values[0]
                .as_text(),
            Some("café")
        );
        // Recurring event with an override, VTODO, VJOURNAL, VFREEBUSY.
        parse_calendar_object(wrap("BEGIN:VEVENT\r\nUID:r\r\nDTSTART:20240101T100000Z\r\nRRULE:FREQ=DAILY\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:r\r\nRECURRENCE-ID:20240102T100000Z\r\nDTSTART:20240102T120000Z\r\nEND:VEVENT\r\n").as_bytes()).unwrap();
        let t = parse_calendar_object(wrap("BEGIN:VTODO\r\nUID:t\r\nEND:VTODO\r\n").as_bytes())
            .unwrap();
        assert_eq!(t.component_type(), ComponentType::VTodo);
        parse_calendar_object(wrap("BEGIN:VJOURNAL\r\nUID:j\r\nEND:VJOURNAL\r\n").as_bytes())
            .unwrap();
        parse_calendar_object(
            wrap("BEGIN:VFREEBUSY\r\nUID:f\r\nFREEBUSY:20240101T100000Z/PT1H\r\nEND:VFREEBUSY\r\n")
                .as_bytes(),
        )
        .unwrap();
        assert_eq!(ComponentType::parse("vtodo"), Some(ComponentType::VTodo));
    }

    #[test]
    fn uid_errors() {
        assert_eq!(
            err(&wrap(
                "BEGIN:VEVENT\r\nDTSTART:20240101T100000Z\r\nEND:VEVENT\r\n"
            )),
            ObjectError::InvalidObject("missing UID in VEVENT".into())
        );
        assert_eq!(
            err(&wrap(&format!(
                "{EVENT}BEGIN:VEVENT\r\nUID:def\r\nDTSTART:20240101T100000Z\r\nEND:VEVENT\r\n"
            ))),
            ObjectError::InvalidObject("more than one UID: \"abc\" and \"def\"".into())
        );
        assert!(matches!(
            err(&wrap("BEGIN:VEVENT\r\nDTSTART:20240101T100000Z\r\nEND:VEVENT\r\n")),
            ObjectError::InvalidObject(_)
        ));
    }

    #[test]
    fn object_rules() {
        let e = err(&wrap(EVENT).replace("VERSION:2.0\r\n", "VERSION:2.0\r\nMETHOD:REQUEST\r\n"));
        assert!(
            matches!(e, ObjectError::InvalidObject(ref m) if m.contains("METHOD")),
            "{e}"
        );
        let e = err(&wrap(&format!(
            "{EVENT}BEGIN:VTODO\r\nUID:abc\r\nEND:VTODO\r\n"
        )));
        assert_eq!(
            e,
            ObjectError::InvalidObject(
                "more than one type of calendar component: VEVENT and VTODO".into()
            )
        );
        let e = err(&wrap("BEGIN:VTIMEZONE\r\nTZID:Europe/Paris\r\nBEGIN:STANDARD\r\nDTSTART:19701025T030000\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n"));
        assert_eq!(
            e,
            ObjectError::InvalidObject("no calendar component besides VTIMEZONE".into())
        );
        let e = err(&wrap(&format!("{EVENT}{EVENT}")));
        assert!(
            matches!(e, ObjectError::InvalidObject(ref m) if m.contains("no RECURRENCE-ID")),
            "{e}"
        );
        let ov = "BEGIN:VEVENT\r\nUID:abc\r\nRECURRENCE-ID:20240102T100000Z\r\nDTSTART:20240102T100000Z\r\nEND:VEVENT\r\n";
        let e = err(&wrap(&format!("{EVENT}{ov}{ov}")));
        assert!(
            matches!(e, ObjectError::InvalidObject(ref m) if m.contains("same RECURRENCE-ID")),
            "{e}"
        );
        // Same instant written in another form is the same RECURRENCE-ID.
        let ov2 = "BEGIN:VEVENT\r\nUID:abc\r\nRECURRENCE-ID;TZID=Europe/Paris:20240102T110000\r\nDTSTART:20240102T100000Z\r\nEND:VEVENT\r\n";
        assert!(matches!(
            err(&wrap(&format!("{EVENT}{ov}{ov2}"))),
            ObjectError::InvalidObject(_)
        ));
        // Only overrides, no master: allowed (RFC 4791 §4.1).
        parse_calendar_object(wrap(ov).as_bytes()).unwrap();
        let e = err(&wrap(
            "BEGIN:VEVENT\r\nUID:x\r\nDTSTART;TZID=Mars/Olympus:20240101T100000\r\nEND:VEVENT\r\n",
        ));
        assert_eq!(
            e,
            ObjectError::InvalidObject("no VTIMEZONE for TZID \"Mars/Olympus\"".into())
        );
        // …but a custom VTIMEZONE for it is fine.
        parse_calendar_object(wrap("BEGIN:VTIMEZONE\r\nTZID:Mars/Olympus\r\nBEGIN:STANDARD\r\nDTSTART:20000101T000000\r\nTZOFFSETFROM:+0300\r\nTZOFFSETTO:+0300\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\nBEGIN:VEVENT\r\nUID:x\r\nDTSTART;TZID=Mars/Olympus:20240101T100000\r\nEND:VEVENT\r\n").as_bytes()).unwrap();
        let e = err(&wrap(
            "BEGIN:VALARM\r\nACTION:DISPLAY\r\nTRIGGER:-PT5M\r\nEND:VALARM\r\n",
        ));
        assert!(matches!(e, ObjectError::InvalidObject(_)));
        assert!(matches!(err(&wrap("")), ObjectError::InvalidObject(_)));
    }

    #[test]
    fn data_rules() {
        let cases = [
            (
                wrap(EVENT).replace("VERSION:2.0\r\n", ""),
                "missing VERSION:2.0",
            ),
            (
                wrap(EVENT).replace("VERSION:2.0", "VERSION:1.0"),
                "unsupported VERSION",
            ),
            (
                format!("{}{}", wrap(EVENT), wrap(EVENT)),
                "more than one VCALENDAR",
            ),
            (
                wrap(EVENT).replace("END:VEVENT\r\n", ""),
                "END:VCALENDAR inside BEGIN:VEVENT",
            ),
            (
                wrap(EVENT).replace("END:VCALENDAR\r\n", ""),
                "unterminated component VCALENDAR",
            ),
            (
                wrap(EVENT).replace("END:VEVENT", "END:VTODO"),
                "END:VTODO inside BEGIN:VEVENT",
            ),
            (
                wrap(EVENT).replace("UID:abc", "UID abc"),
                "not a content line",
            ),
            (format!("garbage\r\n{}", wrap(EVENT)), "not a content line"),
            (
                format!("X-JUNK:1\r\n{}", wrap(EVENT)),
                "content before BEGIN:VCALENDAR",
            ),
            (
                format!("{}trailing:x\r\n", wrap(EVENT)),
                "content after END:VCALENDAR",
            ),
            (
                "BEGIN:VCARD\r\nVERSION:4.0\r\nEND:VCARD\r\n".to_string(),
                "not an iCalendar object",
            ),
            (String::new(), "no VCALENDAR"),
            (
                wrap(EVENT).replace("DTSTART:20240101T100000Z", "DTSTART:2024-13-45"),
                "invalid DTSTART",
            ),
            (
                wrap(EVENT).replace("DTEND:20240101T110000Z", "DTEND:20231231T110000Z"),
                "DTEND before DTSTART",
            ),
            (
                wrap(EVENT).replace("DTSTART:20240101T100000Z\r\n", ""),
                "VEVENT without DTSTART",
            ),
            (
                wrap(EVENT).replace("DTEND:20240101T110000Z", "DURATION:forever"),
                "invalid DURATION",
            ),
            (
                wrap(EVENT).replace("DTEND:20240101T110000Z", "RRULE:FREQ=SOMETIMES"),
                "invalid RRULE",
            ),
            (
                wrap(EVENT).replace("DTEND:20240101T110000Z", "RRULE:FREQ=MONTHLY;BYMONTHDAY=40"),
                "RRULE cannot be evaluated",
            ),
            (
                wrap(EVENT).replace("DTEND:20240101T110000Z", "EXDATE:tomorrow"),
                "invalid EXDATE",
            ),
            (
                wrap(&format!(
                    "BEGIN:VTIMEZONE\r\nTZID:Odd\r\nEND:VTIMEZONE\r\n{EVENT}"
                )),
                "no STANDARD or DAYLIGHT",
            ),
        ];
        for (text, want) in cases {
            match parse_calendar_object(text.as_bytes()) {
                Err(ObjectError::InvalidData(msg)) => {
                    assert!(msg.contains(want), "{want}: got {msg}")
                }
                other => panic!("{want}: got {other:?}"),
            }
        }
    }

    #[test]
    fn periods_ending_before_their_start() {
        // Found by fuzzing (fuzz/fuzz_targets/ical_put.rs, the exact input):
        // an RDATE period whose end calcard read before its start was
        // accepted and indexed as an instance ending before it starts.
        let found = include_bytes!("../../fixtures/fuzz/ical_put-period-ending-before-its-start.ics");
        match parse_calendar_object(found) {
            Err(ObjectError::InvalidData(msg)) => assert!(msg.contains("RDATE period ending before its start"), "{msg}"),
            other => panic!("{other:?}"),
        }
        // RFC 5545 §3.3.9: the start MUST be before the end.
        let event = |line: &str| wrap(&EVENT.replace("DTEND:20240101T110000Z", line));
        for bad in ["RDATE;VALUE=PERIOD:20240120T080000Z/20240101T100000Z", "RDATE;VALUE=PERIOD:20240120T080000Z/-PT3H"] {
            assert!(matches!(parse_calendar_object(event(bad).as_bytes()), Err(ObjectError::InvalidData(_))), "{bad}");
        }
        let freebusy = |line: &str| wrap(&format!("BEGIN:VFREEBUSY\r\nUID:f\r\n{line}\r\nEND:VFREEBUSY\r\n"));
        let bad = freebusy("FREEBUSY:20240101T100000Z/20240101T090000Z");
        match parse_calendar_object(bad.as_bytes()) {
            Err(ObjectError::InvalidData(msg)) => assert!(msg.contains("FREEBUSY period ending before its start"), "{msg}"),
            other => panic!("{other:?}"),
        }
        // Forward and empty periods are fine.
        for good in ["RDATE;VALUE=PERIOD:20240120T080000Z/20240120T100000Z", "RDATE;VALUE=PERIOD:20240120T080000Z/20240120T080000Z"] {
            parse_calendar_object(event(good).as_bytes()).unwrap();
        }
        parse_calendar_object(freebusy("FREEBUSY:20240101T100000Z/20240101T110000Z,20240102T100000Z/PT1H").as_bytes()).unwrap();
    }

    #[test]
    fn hostile_input() {
        // Invalid UTF-8.
        let mut bytes = wrap(EVENT).into_bytes();
        bytes.insert(60, 0xff);
        assert!(
            matches!(parse_calendar_object(&bytes), Err(ObjectError::InvalidData(m)) if m.contains("UTF-8"))
        );
        // A multi-byte character split by a fold.
        let text = wrap("BEGIN:VEVENT\r\nUID:u\r\nDTSTART:20240101T100000Z\r\nSUMMARY:caf\u{e9}\r\nEND:VEVENT\r\n");
        let at = text.find('\u{e9}').unwrap() + 1;
        let mut bytes = text.as_bytes()[..at].to_vec();
        bytes.extend_from_slice(b"\r\n ");
        bytes.extend_from_slice(&text.as_bytes()[at..]);
        match parse_calendar_object(&bytes) {
            Err(ObjectError::InvalidData(m)) => assert!(m.contains("split by a line fold"), "{m}"),
            other => panic!("{other:?}"),
        }
        // 5,000 nested components: refused without deep recursion.
        let mut text = String::from("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n");
        for _ in 0..5000 {
            text.push_str("BEGIN:X\r\n");
        }
        for _ in 0..5000 {
            text.push_str("END:X\r\n");
        }
        text.push_str("END:VCALENDAR\r\n");
        assert!(
            matches!(parse_calendar_object(text.as_bytes()), Err(ObjectError::InvalidData(m)) if m.contains("nested"))
        );
        // The same depth straight into calcard (the stored path) does not
        // overflow the stack either.
        let _ = parse_stored(text);
        // 10 MB of lines.
        let mut text = String::from("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:big\r\nDTSTART:20240101T100000Z\r\n");
        while text.len() < 10 * 1024 * 1024 {
            text.push_str(
                "X-FILL:0123456789012345678901234567890123456789012345678901234567890123\r\n",
            );
        }
        text.push_str("END:VEVENT\r\nEND:VCALENDAR\r\n");
        let o = parse_calendar_object(text.as_bytes()).unwrap();
        assert_eq!(o.uid(), "big");
        // 10 MB of lines that are not iCalendar.
        let junk = "x".repeat(100).repeat(100_000);
        assert!(parse_calendar_object(junk.as_bytes()).is_err());
        let lines = "BEGIN:VCALENDAR\r\n".to_string() + &"A:\r\n".repeat(2_500_000);
        assert!(parse_calendar_object(lines.as_bytes()).is_err());
        // Many components.
        let many = wrap(&"BEGIN:VALARM\r\nEND:VALARM\r\n".repeat(MAX_COMPONENTS + 1));
        assert!(parse_calendar_object(many.as_bytes()).is_err());
    }
}
