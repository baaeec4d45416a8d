//! The iMIP intake (RFC 6047): a message as the LMTP listener hands it to
//! `scheduling::mail` — `imip::lmtp::extract_calendar` — then what the
//! handler does with an accepted calendar: `ICalendar::parse`,
//! `itip::validate_message`, the parties, and for a REPLY the organizer
//! address set again and the message written for the organizer's inbox.
#![no_main]

use almanach::ical::expand::write_ical;
use almanach::imip::lmtp::extract_calendar;
use almanach::itip::{parties, set_organizer_address, validate_message, Method};
use calcard::icalendar::ICalendar;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(incoming) = extract_calendar(data) else { return };
    // `IncomingCalendar::method`: upper case; something to look up.
    let method = &incoming.method;
    assert!(!method.is_empty());
    assert_eq!(method, &method.to_ascii_uppercase());
    assert_eq!(method.trim(), method);
    // An iCalendar object, decoded (a `String`, so valid UTF-8).
    let text = incoming.calendar_text.trim_start_matches('\u{feff}').trim_start();
    assert!(text.get(..15).is_some_and(|b| b.eq_ignore_ascii_case("BEGIN:VCALENDAR")));
    let _ = Method::parse(method);
    // What `IncomingMail::reply` / `invitation` do with the text.
    let Ok(mut ical) = ICalendar::parse(&incoming.calendar_text) else { return };
    let Ok(validated) = validate_message(&ical) else { return };
    // The part's method and the calendar's METHOD are the same (§2.4): what
    // the handler takes is what the calendar says.
    assert_eq!(Method::parse(method), Some(validated), "method {method:?}, METHOD {validated:?}");
    let who = parties(&ical);
    let _ = who.uid;
    if validated == Method::Reply {
        // The reply as the organizer's inbox gets it.
        set_organizer_address(&mut ical, "mailto:organizer@example.fr");
        let written = write_ical(&ical);
        let again = ICalendar::parse(&written).expect("a written reply parses again");
        assert_eq!(validate_message(&again).ok(), Some(Method::Reply), "{written}");
    }
});
