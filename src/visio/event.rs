//! The visio links in a calendar object, as pure logic on parsed
//! iCalendar (no HTTP, SQL or I/O): whether a meeting asks for a room,
//! whether it already has a conference of another service, writing the
//! links (RFC 7986 §5.11 CONFERENCE, LOCATION, DESCRIPTION), and swapping
//! the moderator link for the attendee link (and back).

use calcard::icalendar::{ICalendar, ICalendarComponentType, ICalendarEntry, ICalendarProperty, ICalendarValue, Uri};

use crate::itip::AddressSet;
use crate::store::VisioPolicy;

/// The label of the CONFERENCE property (RFC 7986 §6.4 LABEL).
pub const LABEL: &str = "Visio (BigBlueButton)";

/// The hosts and paths of other visio services: an event whose LOCATION,
/// DESCRIPTION or URL links to one already has its conference.
const OTHER_SERVICES: &[&str] = &[
    "zoom.us",
    "zoom.com",
    "teams.microsoft.com",
    "teams.live.com",
    "meet.google.com",
    "webex.com",
    "whereby.com",
    "jit.si",
    "gotomeeting.com",
    "gotomeet.me",
    "bluejeans.com",
    "skype.com",
    "renater.fr",
    // BigBlueButton itself and its front ends (Greenlight's rooms).
    "/bigbluebutton/",
    "/b/",
    "/rooms/",
];

/// The scheduling components (VEVENT master and overrides) of `ical`.
fn events(ical: &ICalendar) -> impl Iterator<Item = &calcard::icalendar::ICalendarComponent> {
    ical.components.iter().filter(|c| c.component_type == ICalendarComponentType::VEvent)
}

fn text_values(entry: &ICalendarEntry) -> impl Iterator<Item = &str> {
    entry.values.iter().filter_map(|v| match v {
        ICalendarValue::Text(t) => Some(t.as_str()),
        ICalendarValue::Uri(Uri::Location(u)) => Some(u.as_str()),
        _ => None,
    })
}

/// The first text of `name` in the master (or first) VEVENT.
pub fn first_text(ical: &ICalendar, name: &ICalendarProperty) -> Option<String> {
    let master = events(ical).find(|c| c.property(&ICalendarProperty::RecurrenceId).is_none()).or_else(|| events(ical).next())?;
    master.property(name).and_then(|e| text_values(e).next()).map(str::to_string)
}

/// The http(s) URLs in a text.
fn urls(text: &str) -> impl Iterator<Item = &str> {
    text.match_indices("http").filter_map(move |(i, _)| {
        let rest = &text[i..];
        if !(rest.starts_with("https://") || rest.starts_with("http://")) {
            return None;
        }
        let end = rest.find(|c: char| c.is_whitespace() || matches!(c, '"' | '<' | '>' | ')' | ']')).unwrap_or(rest.len());
        Some(&rest[..end])
    })
}

/// A link to another visio service than ours (`ours`: the prefix of our
/// links, `BASE_URL/visio/`).
fn is_other_visio(url: &str, ours: &str) -> bool {
    if url.starts_with(ours) {
        return false;
    }
    let lower = url.to_ascii_lowercase();
    let after = lower.split_once("://").map(|(_, r)| r).unwrap_or(&lower);
    let host = after.split(['/', '?', '#']).next().unwrap_or("");
    let path = &after[host.len()..];
    let host_is = |h: &str| host == h || host.ends_with(&format!(".{h}"));
    OTHER_SERVICES.iter().any(|s| if s.starts_with('/') { path.starts_with(s) } else { host_is(s) })
        || ["visio.", "webconf.", "bbb.", "webinaire."].iter().any(|p| host.starts_with(p))
}

/// Whether the event already has a conference that is not ours: a
/// CONFERENCE property (RFC 7986 §5.11) with another URI, or a link to
/// another visio service in LOCATION, DESCRIPTION or URL.
pub fn has_other_conference(ical: &ICalendar, ours: &str) -> bool {
    events(ical).flat_map(|c| c.entries.iter()).any(|e| match e.name {
        ICalendarProperty::Conference => text_values(e).any(|v| !v.starts_with(ours)),
        ICalendarProperty::Location | ICalendarProperty::Description | ICalendarProperty::Url => {
            text_values(e).any(|v| urls(v).any(|u| is_other_visio(u, ours)))
        }
        _ => false,
    })
}

/// Whether a VEVENT carries one of our links (`ours`: their prefix) in
/// CONFERENCE, LOCATION, DESCRIPTION or URL.
pub fn mentions_link(ical: &ICalendar, ours: &str) -> bool {
    events(ical)
        .flat_map(|c| c.entries.iter())
        .filter(|e| {
            matches!(e.name, ICalendarProperty::Conference | ICalendarProperty::Location | ICalendarProperty::Description | ICalendarProperty::Url)
        })
        .any(|e| text_values(e).any(|v| v.contains(ours)))
}

/// Whether the meeting has at least one attendee besides the organizer
/// (`me`, the organizer's addresses).
pub fn has_other_attendee(ical: &ICalendar, me: &AddressSet) -> bool {
    events(ical).flat_map(|c| c.entries.iter()).filter(|e| e.name == ICalendarProperty::Attendee).any(|e| {
        e.values.first().and_then(|v| v.as_text()).is_some_and(|a| !me.contains(&crate::itip::CalAddress::new(a)))
    })
}

/// Whether `word` appears in `text` as a word (case-insensitively).
fn contains_word(text: &str, word: &str) -> bool {
    find_word(text, word).is_some()
}

fn find_word(text: &str, word: &str) -> Option<(usize, usize)> {
    let lower = text.to_lowercase();
    if lower.len() != text.len() {
        // Lower-casing changed byte offsets: match on the lower-cased
        // text only to say whether the word is there.
        return lower.split(|c: char| !c.is_alphanumeric()).any(|w| w == word).then_some((usize::MAX, 0));
    }
    let mut from = 0;
    while let Some(at) = lower[from..].find(word) {
        let start = from + at;
        let end = start + word.len();
        let before_ok = lower[..start].chars().next_back().is_none_or(|c| !c.is_alphanumeric());
        let after_ok = lower[end..].chars().next().is_none_or(|c| !c.is_alphanumeric());
        if before_ok && after_ok {
            return Some((start, end));
        }
        from = end;
    }
    None
}

/// Whether the keyword is in LOCATION or SUMMARY of some VEVENT.
pub fn asks_by_keyword(ical: &ICalendar, keyword: &str) -> bool {
    events(ical)
        .flat_map(|c| c.entries.iter())
        .filter(|e| matches!(e.name, ICalendarProperty::Location | ICalendarProperty::Summary))
        .any(|e| text_values(e).any(|t| contains_word(t, keyword)))
}

/// Whether an organizer's meeting gets (or keeps getting) its room's links:
/// at least one other attendee, no conference of another service, and the
/// policy: `auto`, or `keyword` with the keyword present or a room the
/// event already has (its links are kept, not a second room drawn).
pub fn wants_room(ical: &ICalendar, me: &AddressSet, policy: VisioPolicy, keyword: &str, has_room: bool, ours: &str) -> bool {
    if !has_other_attendee(ical, me) || has_other_conference(ical, ours) {
        return false;
    }
    match policy {
        VisioPolicy::Off => false,
        VisioPolicy::Auto => true,
        VisioPolicy::Keyword => has_room || asks_by_keyword(ical, keyword),
    }
}

/// One content line parsed into an entry (the parser's own representation
/// of the parameters and value).
fn entry_from_line(line: &str) -> Option<ICalendarEntry> {
    let text = format!("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\n{line}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n");
    let parsed = ICalendar::parse(&text).ok()?;
    parsed.components.into_iter().find(|c| c.component_type == ICalendarComponentType::VEvent)?.entries.into_iter().next()
}

/// RFC 5545 §3.3.11 TEXT escaping.
fn escape_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// The DESCRIPTION paragraph of a link.
pub fn description_paragraph(link: &str) -> String {
    format!("Réunion en visio (BigBlueButton) : {link}\nRejoindre depuis un navigateur, sans installation.")
}

/// Write `link` into every VEVENT of `ical` (RFC 7986 §5.11): a
/// CONFERENCE;VALUE=URI;FEATURE=AUDIO,VIDEO;LABEL=… (ours replaced, others
/// never written here: see [`has_other_conference`]); LOCATION set to the
/// link when empty, or its keyword replaced by the link (`keyword`: the
/// `keyword` policy's word); a DESCRIPTION paragraph with the link unless
/// it already holds it. `ours` is the prefix of our links.
pub fn write_links(ical: &mut ICalendar, link: &str, ours: &str, keyword: Option<&str>) {
    let conference = entry_from_line(&format!("CONFERENCE;VALUE=URI;FEATURE=AUDIO,VIDEO;LABEL=\"{LABEL}\":{link}"));
    for comp in ical.components.iter_mut().filter(|c| c.component_type == ICalendarComponentType::VEvent) {
        comp.entries.retain(|e| !(e.name == ICalendarProperty::Conference && text_values(e).all(|v| v.starts_with(ours))));
        if let Some(c) = &conference {
            comp.entries.push(c.clone());
        }
        let location = comp.entries.iter_mut().find(|e| e.name == ICalendarProperty::Location);
        match location {
            None => {
                if let Some(e) = entry_from_line(&format!("LOCATION:{}", escape_text(link))) {
                    comp.entries.push(e);
                }
            }
            Some(e) => {
                let current = text_values(e).next().unwrap_or("").to_string();
                let replaced = if current.trim().is_empty() {
                    Some(link.to_string())
                } else if current.contains(ours) {
                    None
                } else {
                    keyword.and_then(|k| find_word(&current, k)).map(|(s, end)| {
                        if s == usize::MAX {
                            link.to_string()
                        } else {
                            format!("{}{link}{}", &current[..s], &current[end..])
                        }
                    })
                };
                if let Some(r) = replaced {
                    e.values = vec![ICalendarValue::Text(r)];
                }
            }
        }
        let description = comp.entries.iter_mut().find(|e| e.name == ICalendarProperty::Description);
        match description {
            None => {
                if let Some(e) = entry_from_line(&format!("DESCRIPTION:{}", escape_text(&description_paragraph(link)))) {
                    comp.entries.push(e);
                }
            }
            Some(e) => {
                let current = text_values(e).next().unwrap_or("").to_string();
                if !current.contains(ours) {
                    let text = if current.trim().is_empty() {
                        description_paragraph(link)
                    } else {
                        format!("{}\n\n{}", current.trim_end(), description_paragraph(link))
                    };
                    e.values = vec![ICalendarValue::Text(text)];
                }
            }
        }
    }
}

/// Replace `from` by `to` in the CONFERENCE, LOCATION, DESCRIPTION and URL
/// values of every VEVENT: the moderator link becomes the attendee link in
/// what attendees receive, and the reverse in the organizer's copy.
pub fn swap_link(ical: &mut ICalendar, from: &str, to: &str) {
    for comp in ical.components.iter_mut().filter(|c| c.component_type == ICalendarComponentType::VEvent) {
        for e in comp.entries.iter_mut().filter(|e| {
            matches!(e.name, ICalendarProperty::Conference | ICalendarProperty::Location | ICalendarProperty::Description | ICalendarProperty::Url)
        }) {
            for v in e.values.iter_mut() {
                match v {
                    ICalendarValue::Text(t) if t.contains(from) => *t = t.replace(from, to),
                    ICalendarValue::Uri(Uri::Location(u)) if u.contains(from) => *u = u.replace(from, to),
                    _ => {}
                }
            }
        }
    }
}

/// Whether the whole event is cancelled (the master's STATUS:CANCELLED,
/// RFC 5545 §3.8.1.11).
pub fn is_cancelled(ical: &ICalendar) -> bool {
    first_text(ical, &ICalendarProperty::Status).is_some_and(|s| s.eq_ignore_ascii_case("CANCELLED"))
        || events(ical)
            .find(|c| c.property(&ICalendarProperty::RecurrenceId).is_none())
            .and_then(|c| c.property(&ICalendarProperty::Status))
            .and_then(|e| e.values.first())
            .is_some_and(|v| matches!(v, ICalendarValue::Status(calcard::icalendar::ICalendarStatus::Cancelled)))
}

/// The ATTENDEE addresses with ROLE=CHAIR (RFC 5545 §3.2.16): they get the
/// moderator link.
pub fn chairs(ical: &ICalendar) -> Vec<crate::itip::CalAddress> {
    use calcard::icalendar::{ICalendarParameterName, ICalendarParameterValue, ICalendarParticipationRole};
    events(ical)
        .flat_map(|c| c.entries.iter())
        .filter(|e| e.name == ICalendarProperty::Attendee)
        .filter(|e| {
            e.params.iter().any(|p| {
                p.name == ICalendarParameterName::Role
                    && match &p.value {
                        ICalendarParameterValue::Role(ICalendarParticipationRole::Chair) => true,
                        other => other.as_text().is_some_and(|t| t.eq_ignore_ascii_case("CHAIR")),
                    }
            })
        })
        .filter_map(|e| e.values.first().and_then(|v| v.as_text()).map(crate::itip::CalAddress::new))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ical::expand::write_ical;
    use crate::itip::CalAddress;

    const OURS: &str = "https://agenda.example.fr/visio/";

    fn cal(extra: &str) -> ICalendar {
        ICalendar::parse(&format!(
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:u1\r\nDTSTAMP:20260101T000000Z\r\n\
             DTSTART:20270115T100000Z\r\nSUMMARY:Point\r\nORGANIZER:mailto:a@x.fr\r\nATTENDEE:mailto:a@x.fr\r\n{extra}END:VEVENT\r\nEND:VCALENDAR\r\n"
        ))
        .unwrap()
    }

    fn me() -> AddressSet {
        AddressSet::new([CalAddress::new("mailto:a@x.fr")])
    }

    #[test]
    fn policies_decide() {
        let alone = cal("");
        assert!(!wants_room(&alone, &me(), VisioPolicy::Auto, "visio", false, OURS), "the organizer alone");
        let with_b = cal("ATTENDEE:mailto:b@x.fr\r\n");
        assert!(wants_room(&with_b, &me(), VisioPolicy::Auto, "visio", false, OURS));
        assert!(!wants_room(&with_b, &me(), VisioPolicy::Off, "visio", false, OURS));
        assert!(!wants_room(&with_b, &me(), VisioPolicy::Keyword, "visio", false, OURS));
        assert!(wants_room(&with_b, &me(), VisioPolicy::Keyword, "visio", true, OURS), "a room kept");
        let asked = cal("ATTENDEE:mailto:b@x.fr\r\nLOCATION:Visio\r\n");
        assert!(wants_room(&asked, &me(), VisioPolicy::Keyword, "visio", false, OURS));
        let not_a_word = cal("ATTENDEE:mailto:b@x.fr\r\nLOCATION:Visioconférence\r\n");
        assert!(!asks_by_keyword(&not_a_word, "visio"));
    }

    #[test]
    fn other_conferences_are_left_alone() {
        for extra in [
            "CONFERENCE;VALUE=URI:https://meet.example.com/abc\r\n",
            "LOCATION:https://us02web.zoom.us/j/123\r\n",
            "DESCRIPTION:Lien : https://teams.microsoft.com/l/meetup-join/x\r\n",
            "DESCRIPTION:https://visio.education.fr/b/abc-def\r\n",
        ] {
            let c = cal(&format!("ATTENDEE:mailto:b@x.fr\r\n{extra}"));
            assert!(has_other_conference(&c, OURS), "{extra}");
            assert!(!wants_room(&c, &me(), VisioPolicy::Auto, "visio", true, OURS), "{extra}");
        }
        let ours = cal(&format!("ATTENDEE:mailto:b@x.fr\r\nCONFERENCE;VALUE=URI:{OURS}abc\r\nLOCATION:https://www.example.fr/plan\r\n"));
        assert!(!has_other_conference(&ours, OURS));
        assert!(mentions_link(&ours, OURS));
        assert!(!mentions_link(&cal("LOCATION:https://www.example.fr/plan\r\n"), OURS));
    }

    #[test]
    fn links_are_written_once_and_swapped() {
        let link = format!("{OURS}aaaa");
        let mut c = cal("ATTENDEE:mailto:b@x.fr\r\nDESCRIPTION:Ordre du jour\\, point 1\r\n");
        write_links(&mut c, &link, OURS, None);
        write_links(&mut c, &link, OURS, None);
        let text = write_ical(&c);
        let unfolded = text.replace("\r\n ", "");
        assert_eq!(unfolded.matches("CONFERENCE").count(), 1, "{text}");
        // Parameters in the writer's order (RFC 5545 §3.2: any order).
        let conference = unfolded.lines().find(|l| l.starts_with("CONFERENCE;")).unwrap();
        for part in ["VALUE=URI", "FEATURE=AUDIO,VIDEO", &format!("LABEL=\"{LABEL}\"")] {
            assert!(conference.contains(part), "{conference}");
        }
        assert!(conference.ends_with(&format!(":{link}")), "{conference}");
        assert!(unfolded.contains(&format!("LOCATION:{link}")), "{unfolded}");
        assert_eq!(unfolded.matches("Réunion en visio").count(), 1, "{unfolded}");
        assert!(unfolded.contains("Ordre du jour\\, point 1\\n\\nRéunion en visio"), "{unfolded}");
        let moderator = format!("{OURS}bbbb");
        swap_link(&mut c, &link, &moderator);
        let swapped = write_ical(&c).replace("\r\n ", "");
        assert!(!swapped.contains(&link) && swapped.matches(&moderator).count() == 3, "{swapped}");
    }

    #[test]
    fn the_keyword_becomes_the_link() {
        let link = format!("{OURS}aaaa");
        let mut c = cal("ATTENDEE:mailto:b@x.fr\r\nLOCATION:Salle 3 ou visio\r\n");
        write_links(&mut c, &link, OURS, Some("visio"));
        assert_eq!(first_text(&c, &ICalendarProperty::Location).as_deref(), Some(format!("Salle 3 ou {link}").as_str()));
        let mut kept = cal("ATTENDEE:mailto:b@x.fr\r\nLOCATION:Rectorat\r\n");
        write_links(&mut kept, &link, OURS, None);
        assert_eq!(first_text(&kept, &ICalendarProperty::Location).as_deref(), Some("Rectorat"));
    }

    #[test]
    fn cancelled_and_chairs() {
        assert!(is_cancelled(&cal("STATUS:CANCELLED\r\n")));
        assert!(!is_cancelled(&cal("STATUS:CONFIRMED\r\n")));
        let c = cal("ATTENDEE;ROLE=CHAIR:mailto:c@x.fr\r\nATTENDEE;ROLE=REQ-PARTICIPANT:mailto:b@x.fr\r\n");
        assert_eq!(chairs(&c), vec![CalAddress::new("mailto:c@x.fr")]);
    }
}
