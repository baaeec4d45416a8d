//! The visio links in a calendar object, as pure logic on parsed
//! iCalendar (no HTTP, SQL or I/O): whether a meeting asks for a room (and
//! for recording), whether it already has a conference of another
//! service, writing the links (RFC 7986 §5.11 CONFERENCE, LOCATION, the
//! DESCRIPTION paragraph with the dial-in), and swapping the moderator
//! link for the attendee link (and back).
//!
//! What an organizer can type in any client: the keyword (`visio_keyword`,
//! "visio") in LOCATION or SUMMARY asks for a room under the `keyword`
//! policy; the record keyword (`visio_record_keyword`,
//! "visio-enregistrée") in LOCATION, SUMMARY or DESCRIPTION asks for a
//! room whose meetings may be recorded. In LOCATION either word is
//! replaced by the link (under any policy); SUMMARY keeps what was typed
//! (a title is no place for a URL, and "… (visio)" still reads right).

use calcard::icalendar::{ICalendar, ICalendarComponentType, ICalendarEntry, ICalendarProperty, ICalendarValue, Uri};

use crate::itip::AddressSet;
use crate::store::VisioPolicy;

/// The label of the CONFERENCE property (RFC 7986 §6.4 LABEL).
pub const LABEL: &str = "Visio (BigBlueButton)";

/// A property an organizer's tool may set instead of typing the record
/// keyword: `TRUE` asks for recording, `FALSE` refuses it whatever the
/// text says.
pub const RECORD_PROPERTY: &str = "X-ALMANACH-VISIO-RECORD";

/// The first line of the DESCRIPTION paragraph the server writes (and
/// rewrites at each save), and its last.
const HEADER: &str = "Réunion en visio (BigBlueButton) : ";
const FOOTER: &str = "Rejoindre depuis un navigateur, sans installation.";

/// The hosts of other visio services: an event whose LOCATION,
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
];

/// The words an organizer types to ask for a room, and for recording.
#[derive(Debug, Clone, Copy)]
pub struct Words<'a> {
    pub keyword: &'a str,
    pub record_keyword: &'a str,
}

/// The scheduling components (VEVENT master and overrides) of `ical`.
fn events(ical: &ICalendar) -> impl Iterator<Item = &calcard::icalendar::ICalendarComponent> {
    ical.components.iter().filter(|c| c.component_type == ICalendarComponentType::VEvent)
}

fn master(ical: &ICalendar) -> Option<&calcard::icalendar::ICalendarComponent> {
    events(ical).find(|c| c.property(&ICalendarProperty::RecurrenceId).is_none()).or_else(|| events(ical).next())
}

fn text_values(entry: &ICalendarEntry) -> impl Iterator<Item = &str> {
    entry.values.iter().filter_map(|v| match v {
        ICalendarValue::Text(t) => Some(t.as_str()),
        ICalendarValue::Uri(Uri::Location(u)) => Some(u.as_str()),
        _ => None,
    })
}

/// The texts of the `names` properties of every VEVENT.
fn texts<'a>(ical: &'a ICalendar, names: &'a [ICalendarProperty]) -> impl Iterator<Item = &'a str> {
    events(ical).flat_map(|c| c.entries.iter()).filter(|e| names.contains(&e.name)).flat_map(text_values)
}

/// The first text of `name` in the master (or first) VEVENT.
pub fn first_text(ical: &ICalendar, name: &ICalendarProperty) -> Option<String> {
    master(ical)?.property(name).and_then(|e| text_values(e).next()).map(str::to_string)
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

/// A Greenlight room path (BigBlueButton's own front end): `/b/abc-def`
/// (Greenlight 2) or `/rooms/abc-def-ghi…` (Greenlight 3, at least three
/// dash-separated parts), not any page under `/rooms/`; or BBB's own
/// `/bigbluebutton/`.
fn greenlight_room(path: &str) -> bool {
    let id = |p: &str| p.split(['/', '?', '#']).next().unwrap_or("").to_string();
    let parts = |id: &str| {
        let parts: Vec<&str> = id.split('-').collect();
        if parts.iter().all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric())) {
            parts.len()
        } else {
            0
        }
    };
    if let Some(rest) = path.strip_prefix("/b/") {
        return parts(&id(rest)) >= 2;
    }
    if let Some(rest) = path.strip_prefix("/rooms/") {
        return parts(&id(rest)) >= 3;
    }
    path.starts_with("/bigbluebutton/")
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
    OTHER_SERVICES.iter().any(|s| host_is(s))
        || greenlight_room(path)
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

const LINK_PLACES: &[ICalendarProperty] =
    &[ICalendarProperty::Conference, ICalendarProperty::Location, ICalendarProperty::Description, ICalendarProperty::Url];

/// Whether a VEVENT carries one of our links (`ours`: their prefix) in
/// CONFERENCE, LOCATION, DESCRIPTION or URL.
pub fn mentions_link(ical: &ICalendar, ours: &str) -> bool {
    texts(ical, LINK_PLACES).any(|v| v.contains(ours))
}

/// RFC 6638 §7.1: whether the server schedules the meeting (its
/// ORGANIZER's SCHEDULE-AGENT is SERVER). A client that schedules itself
/// sends its own copy — the organizer's, with the moderator link — so its
/// meetings get no room.
pub fn scheduled_by_server(ical: &ICalendar) -> bool {
    events(ical)
        .flat_map(|c| c.entries.iter())
        .filter(|e| e.name == ICalendarProperty::Organizer)
        .all(crate::itip::scheduled_by_server)
}

/// Whether the meeting has at least one attendee besides the organizer
/// (`me`, the organizer's addresses) whom the server invites.
pub fn has_other_attendee(ical: &ICalendar, me: &AddressSet) -> bool {
    events(ical)
        .flat_map(|c| c.entries.iter())
        .filter(|e| e.name == ICalendarProperty::Attendee && crate::itip::scheduled_by_server(e))
        .any(|e| e.values.first().and_then(|v| v.as_text()).is_some_and(|a| !me.contains(&crate::itip::CalAddress::new(a))))
}

/// A character as compared with a keyword: lower case, without the
/// accents of French (so that "Visio-Enregistree" is "visio-enregistrée").
fn fold(c: char) -> char {
    let c = c.to_lowercase().next().unwrap_or(c);
    match c {
        'à' | 'â' | 'ä' | 'á' => 'a',
        'é' | 'è' | 'ê' | 'ë' => 'e',
        'î' | 'ï' | 'í' => 'i',
        'ô' | 'ö' | 'ó' => 'o',
        'ù' | 'û' | 'ü' | 'ú' => 'u',
        'ç' => 'c',
        'ÿ' => 'y',
        c => c,
    }
}

/// A word character: letters, digits and the hyphen ("visio-conférence"
/// is one word, not "visio").
fn in_word(c: char) -> bool {
    c.is_alphanumeric() || c == '-'
}

/// The byte range of the first occurrence of `word` in `text` as a whole
/// word, compared with [`fold`].
fn find_word(text: &str, word: &str) -> Option<(usize, usize)> {
    let wanted: Vec<char> = word.chars().map(fold).collect();
    if wanted.is_empty() {
        return None;
    }
    let mut before: Option<char> = None;
    for (start, c) in text.char_indices() {
        if before.is_none_or(|b| !in_word(b)) && fold(c) == wanted[0] {
            let mut chars = text[start..].char_indices();
            let matched = wanted.iter().all(|w| chars.next().is_some_and(|(_, c)| fold(c) == *w));
            if matched {
                let end = chars.next().map(|(i, _)| start + i).unwrap_or(text.len());
                if text[end..].chars().next().is_none_or(|c| !in_word(c)) {
                    return Some((start, end));
                }
            }
        }
        before = Some(c);
    }
    None
}

fn contains_word(text: &str, word: &str) -> bool {
    find_word(text, word).is_some()
}

/// Whether the keyword or the record keyword is in LOCATION or SUMMARY of
/// some VEVENT (the `keyword` policy's question).
pub fn asks_by_keyword(ical: &ICalendar, words: Words<'_>) -> bool {
    texts(ical, &[ICalendarProperty::Location, ICalendarProperty::Summary])
        .any(|t| contains_word(t, words.keyword) || contains_word(t, words.record_keyword))
}

/// Whether the organizer asks for recording: [`RECORD_PROPERTY`] `TRUE`
/// on the event, or the record keyword in LOCATION, SUMMARY or
/// DESCRIPTION of some VEVENT — where the server's own DESCRIPTION
/// paragraph repeats it once asked, so the ask lasts across saves and
/// removing that line (or the word) stops it. [`RECORD_PROPERTY`] `FALSE`
/// wins over the text.
pub fn asks_recording(ical: &ICalendar, words: Words<'_>) -> bool {
    let property = events(ical)
        .flat_map(|c| c.entries.iter())
        .filter(|e| matches!(&e.name, ICalendarProperty::Other(n) if n.eq_ignore_ascii_case(RECORD_PROPERTY)))
        .flat_map(text_values)
        .map(|v| v.trim().eq_ignore_ascii_case("TRUE"))
        .reduce(|a, b| a && b);
    match property {
        Some(said) => said,
        None => texts(ical, &[ICalendarProperty::Location, ICalendarProperty::Summary, ICalendarProperty::Description])
            .any(|t| contains_word(t, words.record_keyword)),
    }
}

/// Whether an organizer's meeting gets (or keeps getting) its room's
/// links: scheduled by the server, at least one other attendee the server
/// invites, no conference of another service, and the policy: `auto`, or
/// `keyword` with a keyword present or our links still in the event (an
/// organizer who removed both gets no links written back; the room stays,
/// and comes back with the keyword).
pub fn wants_room(ical: &ICalendar, me: &AddressSet, policy: VisioPolicy, words: Words<'_>, ours: &str) -> bool {
    if !scheduled_by_server(ical) || !has_other_attendee(ical, me) || has_other_conference(ical, ours) {
        return false;
    }
    match policy {
        VisioPolicy::Off => false,
        VisioPolicy::Auto => true,
        VisioPolicy::Keyword => asks_by_keyword(ical, words) || mentions_link(ical, ours),
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

/// What the links of one save say besides the link itself.
#[derive(Debug, Clone, Copy)]
pub struct LinkText<'a> {
    pub words: Words<'a>,
    /// The dial-in number and the room's voice bridge.
    pub dial_in: Option<(&'a str, u32)>,
    /// The room's meetings may be recorded.
    pub record: bool,
}

/// The DESCRIPTION paragraph of a link: the link, the dial-in when there
/// is one, the recording when asked (with the record keyword, which keeps
/// the ask, see [`asks_recording`]).
pub fn description_paragraph(link: &str, t: &LinkText<'_>) -> String {
    let mut s = format!("{HEADER}{link}\n");
    if let Some((number, code)) = t.dial_in {
        s.push_str(&format!("Par téléphone : {number}, code {code}\n"));
    }
    if t.record {
        s.push_str(&format!("Enregistrement possible ({}) : l'animateur peut enregistrer la réunion.\n", t.words.record_keyword));
    }
    s.push_str(FOOTER);
    s
}

/// Where the server's paragraph is in a DESCRIPTION: from a line that
/// starts with its first line to the end of its last line, else to the
/// next blank line or the end.
fn paragraph_range(text: &str) -> Option<(usize, usize)> {
    let start = text.match_indices(HEADER).map(|(i, _)| i).find(|&i| i == 0 || text[..i].ends_with('\n'))?;
    let rest = &text[start..];
    let blank = rest.find("\n\n").or_else(|| rest.find("\r\n\r\n")).unwrap_or(rest.len());
    let end = match rest[..blank].find(FOOTER) {
        Some(f) => f + FOOTER.len(),
        None => blank,
    };
    Some((start, start + end))
}

/// `current` with its first ask (the record keyword, else the keyword)
/// replaced by `link`; None when it has neither.
fn replace_ask(current: &str, link: &str, words: Words<'_>) -> Option<String> {
    let (s, e) = find_word(current, words.record_keyword).or_else(|| find_word(current, words.keyword))?;
    Some(format!("{}{link}{}", &current[..s], &current[e..]))
}

/// Write `link` into every VEVENT of `ical` (RFC 7986 §5.11): a
/// CONFERENCE;VALUE=URI;FEATURE=AUDIO,VIDEO;LABEL=… (ours replaced, others
/// never written here: see [`has_other_conference`]); LOCATION set to the
/// link when empty, or its ask (a keyword) replaced by the link; the
/// DESCRIPTION paragraph ([`description_paragraph`]) written again where
/// it is, or appended unless the text already holds one of our links.
/// `ours` is the prefix of our links.
pub fn write_links(ical: &mut ICalendar, link: &str, ours: &str, t: &LinkText<'_>) {
    let conference = entry_from_line(&format!("CONFERENCE;VALUE=URI;FEATURE=AUDIO,VIDEO;LABEL=\"{LABEL}\":{link}"));
    let paragraph = description_paragraph(link, t);
    for comp in ical.components.iter_mut().filter(|c| c.component_type == ICalendarComponentType::VEvent) {
        comp.entries.retain(|e| !(e.name == ICalendarProperty::Conference && text_values(e).all(|v| v.starts_with(ours))));
        if let Some(c) = &conference {
            comp.entries.push(c.clone());
        }
        match comp.entries.iter_mut().find(|e| e.name == ICalendarProperty::Location) {
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
                    replace_ask(&current, link, t.words)
                };
                if let Some(r) = replaced {
                    e.values = vec![ICalendarValue::Text(r)];
                }
            }
        }
        match comp.entries.iter_mut().find(|e| e.name == ICalendarProperty::Description) {
            None => {
                if let Some(e) = entry_from_line(&format!("DESCRIPTION:{}", escape_text(&paragraph))) {
                    comp.entries.push(e);
                }
            }
            Some(e) => {
                let current = text_values(e).next().unwrap_or("").to_string();
                let text = match paragraph_range(&current) {
                    Some((s, end)) => Some(format!("{}{paragraph}{}", &current[..s], &current[end..])),
                    None if current.contains(ours) => None,
                    None if current.trim().is_empty() => Some(paragraph.clone()),
                    None => Some(format!("{}\n\n{paragraph}", current.trim_end())),
                };
                if let Some(text) = text.filter(|t| *t != current) {
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
        for e in comp.entries.iter_mut().filter(|e| LINK_PLACES.contains(&e.name)) {
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
    const WORDS: Words<'static> = Words { keyword: "visio", record_keyword: "visio-enregistrée" };

    fn cal(extra: &str) -> ICalendar {
        ICalendar::parse(format!(
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:u1\r\nDTSTAMP:20260101T000000Z\r\n\
             DTSTART:20270115T100000Z\r\nSUMMARY:Point\r\nORGANIZER:mailto:a@x.fr\r\nATTENDEE:mailto:a@x.fr\r\n{extra}END:VEVENT\r\nEND:VCALENDAR\r\n"
        ))
        .unwrap()
    }

    fn me() -> AddressSet {
        AddressSet::new([CalAddress::new("mailto:a@x.fr")])
    }

    fn plain() -> LinkText<'static> {
        LinkText { words: WORDS, dial_in: None, record: false }
    }

    fn unfolded(c: &ICalendar) -> String {
        write_ical(c).replace("\r\n ", "")
    }

    #[test]
    fn policies_decide() {
        let alone = cal("");
        assert!(!wants_room(&alone, &me(), VisioPolicy::Auto, WORDS, OURS), "the organizer alone");
        let with_b = cal("ATTENDEE:mailto:b@x.fr\r\n");
        assert!(wants_room(&with_b, &me(), VisioPolicy::Auto, WORDS, OURS));
        assert!(!wants_room(&with_b, &me(), VisioPolicy::Off, WORDS, OURS));
        assert!(!wants_room(&with_b, &me(), VisioPolicy::Keyword, WORDS, OURS));
        let kept = cal(&format!("ATTENDEE:mailto:b@x.fr\r\nDESCRIPTION:{OURS}abc\r\n"));
        assert!(wants_room(&kept, &me(), VisioPolicy::Keyword, WORDS, OURS), "our links kept");
        for asked in ["LOCATION:Visio\r\n", "SUMMARY:Point d'équipe (visio)\r\n", "LOCATION:Visio-Enregistree\r\n"] {
            let c = cal(&format!("ATTENDEE:mailto:b@x.fr\r\n{asked}"));
            assert!(wants_room(&c, &me(), VisioPolicy::Keyword, WORDS, OURS), "{asked}");
        }
        for not_asked in ["LOCATION:Visioconférence\r\n", "LOCATION:Salle de visio-conférence\r\n", "DESCRIPTION:en visio\r\n"] {
            let c = cal(&format!("ATTENDEE:mailto:b@x.fr\r\n{not_asked}"));
            assert!(!asks_by_keyword(&c, WORDS), "{not_asked}");
        }
        // Attendees the client schedules itself, and a client scheduling
        // the whole meeting (it sends its own copy, the moderator's).
        let client = cal("ATTENDEE;SCHEDULE-AGENT=CLIENT:mailto:b@x.fr\r\n");
        assert!(!wants_room(&client, &me(), VisioPolicy::Auto, WORDS, OURS));
        let organizer_client =
            ICalendar::parse(write_ical(&with_b).replace("ORGANIZER:mailto:a@x.fr", "ORGANIZER;SCHEDULE-AGENT=CLIENT:mailto:a@x.fr")).unwrap();
        assert!(!scheduled_by_server(&organizer_client));
        assert!(!wants_room(&organizer_client, &me(), VisioPolicy::Auto, WORDS, OURS));
    }

    #[test]
    fn words_are_found_whole_and_in_place() {
        assert_eq!(find_word("Salle 3 ou visio", "visio"), Some((11, 16)));
        assert_eq!(find_word("VISIO", "visio"), Some((0, 5)));
        assert_eq!(find_word("visio-enregistrée", "visio"), None, "a hyphenated word is one word");
        assert_eq!(find_word("(visio-enregistree)", "visio-enregistrée"), Some((1, 18)));
        // Lower-casing that changes byte lengths keeps the offsets of the
        // text (the word is replaced, nothing else).
        let text = "İstanbul, salle Ω, visio";
        let (s, e) = find_word(text, "visio").unwrap();
        assert_eq!(&text[s..e], "visio");
        assert_eq!(replace_ask(text, "L", WORDS).as_deref(), Some("İstanbul, salle Ω, L"));
        assert_eq!(replace_ask("visio-enregistrée, salle 2", "L", WORDS).as_deref(), Some("L, salle 2"));
        assert_eq!(replace_ask("Rectorat", "L", WORDS), None);
    }

    #[test]
    fn recording_is_asked_in_text_or_property() {
        assert!(!asks_recording(&cal("LOCATION:visio\r\n"), WORDS));
        for asked in ["LOCATION:visio-enregistrée\r\n", "SUMMARY:Conseil (Visio-Enregistree)\r\n", "DESCRIPTION:Ordre du jour\\n\\nvisio-enregistrée\r\n"] {
            assert!(asks_recording(&cal(asked), WORDS), "{asked}");
        }
        assert!(asks_recording(&cal("X-ALMANACH-VISIO-RECORD:TRUE\r\n"), WORDS));
        assert!(!asks_recording(&cal("X-ALMANACH-VISIO-RECORD:FALSE\r\nSUMMARY:visio-enregistrée\r\n"), WORDS), "the property wins");
        // The server's paragraph keeps the ask across saves.
        let link = format!("{OURS}aaaa");
        let mut c = cal("ATTENDEE:mailto:b@x.fr\r\nLOCATION:visio-enregistrée\r\n");
        write_links(&mut c, &link, OURS, &LinkText { record: true, ..plain() });
        assert_eq!(first_text(&c, &ICalendarProperty::Location), Some(link.clone()));
        assert!(asks_recording(&c, WORDS), "{}", unfolded(&c));
    }

    #[test]
    fn other_conferences_are_left_alone() {
        for extra in [
            "CONFERENCE;VALUE=URI:https://meet.example.com/abc\r\n",
            "LOCATION:https://us02web.zoom.us/j/123\r\n",
            "DESCRIPTION:Lien : https://teams.microsoft.com/l/meetup-join/x\r\n",
            "DESCRIPTION:https://visio.education.fr/b/abc-def\r\n",
            "DESCRIPTION:https://greenlight.example.org/b/jea-x7k-2mq\r\n",
            "DESCRIPTION:https://gl.example.org/rooms/abc-def-ghi-jkl/join\r\n",
        ] {
            let c = cal(&format!("ATTENDEE:mailto:b@x.fr\r\n{extra}"));
            assert!(has_other_conference(&c, OURS), "{extra}");
            assert!(!wants_room(&c, &me(), VisioPolicy::Auto, WORDS, OURS), "{extra}");
        }
        // Links that are not a visio service's.
        for extra in ["LOCATION:https://reservation.example.fr/rooms/salle-3\r\n", "DESCRIPTION:https://www.ac-lyon.fr/b/\r\n"] {
            let c = cal(&format!("ATTENDEE:mailto:b@x.fr\r\n{extra}"));
            assert!(!has_other_conference(&c, OURS), "{extra}");
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
        write_links(&mut c, &link, OURS, &plain());
        write_links(&mut c, &link, OURS, &plain());
        let unfolded = unfolded(&c);
        assert_eq!(unfolded.matches("CONFERENCE").count(), 1, "{unfolded}");
        // Parameters in the writer's order (RFC 5545 §3.2: any order).
        let conference = unfolded.lines().find(|l| l.starts_with("CONFERENCE;")).unwrap();
        for part in ["VALUE=URI", "FEATURE=AUDIO,VIDEO", &format!("LABEL=\"{LABEL}\"")] {
            assert!(conference.contains(part), "{conference}");
        }
        assert!(conference.ends_with(&format!(":{link}")), "{conference}");
        assert!(unfolded.contains(&format!("LOCATION:{link}")), "{unfolded}");
        assert_eq!(unfolded.matches("Réunion en visio").count(), 1, "{unfolded}");
        assert!(unfolded.contains("Ordre du jour\\, point 1\\n\\nRéunion en visio"), "{unfolded}");
        assert!(!unfolded.contains("téléphone") && !unfolded.contains("Enregistrement"), "{unfolded}");
        let moderator = format!("{OURS}bbbb");
        swap_link(&mut c, &link, &moderator);
        let swapped = write_ical(&c).replace("\r\n ", "");
        assert!(!swapped.contains(&link) && swapped.matches(&moderator).count() == 3, "{swapped}");
    }

    #[test]
    fn the_paragraph_is_rewritten_in_place() {
        let link = format!("{OURS}aaaa");
        let mut c = cal("ATTENDEE:mailto:b@x.fr\r\nDESCRIPTION:Avant\r\n");
        write_links(&mut c, &link, OURS, &plain());
        // The user writes below, after a blank line; the server's
        // paragraph changes (a dial-in, recording): only it is rewritten.
        let text = first_text(&c, &ICalendarProperty::Description).unwrap() + "\n\nAprès";
        let mut c = cal(&format!("ATTENDEE:mailto:b@x.fr\r\nDESCRIPTION:{}\r\n", escape_text(&text)));
        let dial = LinkText { dial_in: Some(("+33 1 23 45 67 89", 12345)), record: true, ..plain() };
        write_links(&mut c, &link, OURS, &dial);
        assert_eq!(
            first_text(&c, &ICalendarProperty::Description).unwrap(),
            format!(
                "Avant\n\n{HEADER}{link}\nPar téléphone : +33 1 23 45 67 89, code 12345\n\
                 Enregistrement possible (visio-enregistrée) : l'animateur peut enregistrer la réunion.\n{FOOTER}\n\nAprès"
            )
        );
        // And back: no dial-in, no recording.
        write_links(&mut c, &link, OURS, &plain());
        assert_eq!(first_text(&c, &ICalendarProperty::Description).unwrap(), format!("Avant\n\n{HEADER}{link}\n{FOOTER}\n\nAprès"));
    }

    #[test]
    fn the_keyword_becomes_the_link_in_location_only() {
        let link = format!("{OURS}aaaa");
        let mut c = cal("ATTENDEE:mailto:b@x.fr\r\nLOCATION:Salle 3 ou visio\r\nSUMMARY:Point (visio)\r\n");
        write_links(&mut c, &link, OURS, &plain());
        assert_eq!(first_text(&c, &ICalendarProperty::Location).as_deref(), Some(format!("Salle 3 ou {link}").as_str()));
        assert!(unfolded(&c).contains("\r\nSUMMARY:Point (visio)\r\n"), "the title is kept: {}", unfolded(&c));
        let mut kept = cal("ATTENDEE:mailto:b@x.fr\r\nLOCATION:Rectorat\r\n");
        write_links(&mut kept, &link, OURS, &plain());
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
