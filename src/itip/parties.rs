//! Who a message or object involves, read without judging it: for the
//! glue that routes messages (a POST to the outbox, a mail received).

use calcard::icalendar::{ICalendar, ICalendarComponent, ICalendarComponentType, ICalendarEntry, ICalendarProperty, ICalendarValue};

use super::address::CalAddress;

/// Who a message or object involves.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Parties {
    pub uid: Option<String>,
    /// The ORGANIZER of its first component that has one.
    pub organizer: Option<CalAddress>,
    /// Every ATTENDEE of any component, once each, in order.
    pub attendees: Vec<CalAddress>,
}

/// The scheduled components of `ical` (not VCALENDAR, not VTIMEZONE).
fn scheduled(ical: &ICalendar) -> impl Iterator<Item = &ICalendarComponent> {
    ical.components
        .iter()
        .filter(|c| !matches!(c.component_type, ICalendarComponentType::VCalendar | ICalendarComponentType::VTimezone | ICalendarComponentType::VAlarm))
}

fn text_of(entry: &ICalendarEntry) -> Option<&str> {
    entry.values.first().and_then(|v| v.as_text()).map(str::trim).filter(|t| !t.is_empty())
}

/// The UID, ORGANIZER and ATTENDEEs of `ical`.
pub fn parties(ical: &ICalendar) -> Parties {
    let mut out = Parties::default();
    for comp in scheduled(ical) {
        if out.uid.is_none() {
            out.uid = comp.property(&ICalendarProperty::Uid).and_then(text_of).map(str::to_string);
        }
        if out.organizer.is_none() {
            out.organizer = comp.property(&ICalendarProperty::Organizer).and_then(text_of).map(CalAddress::new);
        }
        for a in comp.properties(&ICalendarProperty::Attendee).filter_map(text_of).map(CalAddress::new) {
            if !out.attendees.contains(&a) {
                out.attendees.push(a);
            }
        }
    }
    out
}

/// Set the address of every ORGANIZER of `ical` to `address`, keeping its
/// parameters (CN): the reply address an email invitation names.
pub fn set_organizer_address(ical: &mut ICalendar, address: &str) {
    for comp in ical.components.iter_mut() {
        for entry in comp.entries.iter_mut().filter(|e| e.name == ICalendarProperty::Organizer) {
            entry.values = vec![ICalendarValue::Text(address.to_string())];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parties_and_organizer_address() {
        let text = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nMETHOD:REPLY\r\nBEGIN:VEVENT\r\nUID:u1\r\n\
DTSTAMP:20260101T000000Z\r\nDTSTART:20260102T100000Z\r\nORGANIZER;CN=Org:mailto:reply+abc@example.fr\r\n\
ATTENDEE;PARTSTAT=ACCEPTED:mailto:Ext@Example.com\r\nATTENDEE:mailto:ext@example.com\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
        let mut ical = ICalendar::parse(text).unwrap();
        let p = parties(&ical);
        assert_eq!(p.uid.as_deref(), Some("u1"));
        assert_eq!(p.organizer, Some(CalAddress::new("mailto:reply+abc@example.fr")));
        assert_eq!(p.attendees, vec![CalAddress::new("mailto:ext@example.com")]);
        set_organizer_address(&mut ical, "mailto:org@ac-lyon.fr");
        let written = crate::ical::expand::write_ical(&ical);
        assert!(written.contains("ORGANIZER;CN=Org:mailto:org@ac-lyon.fr"), "{written}");
    }
}
