//! Composing an iMIP message (RFC 6047) as an email (RFC 5322, MIME RFC
//! 2045–2049).
//!
//! # Shape
//!
//! ```text
//! multipart/mixed
//! ├── multipart/alternative                      (RFC 6047 §2.4, §4.2)
//! │   ├── text/plain; charset=UTF-8              quoted-printable: the text the caller wrote
//! │   └── text/calendar; method=M; charset=UTF-8 quoted-printable: the iTIP message
//! └── application/ics; name="invite.ics"         base64: the same calendar, as an attachment
//! ```
//!
//! The `text/calendar` part is the iMIP body part: its `method` parameter
//! is the iCalendar `METHOD` (RFC 6047 §2.4), and it comes last in the
//! `multipart/alternative` because the last alternative is the richest
//! (RFC 2046 §5.1.4): Gmail and Outlook show their accept/decline buttons
//! from it, while mail readers without calendars show the text. Some
//! clients (mobile mail apps, webmails that ignore alternatives) only offer
//! to import an attached file, hence the same calendar as `invite.ics` —
//! the same object, not a different one, as §2.4 requires of alternatives.
//!
//! Both calendar parts and the text are encoded (quoted-printable or
//! base64, RFC 6047 §2.5): the message is 7-bit, every line of it is at
//! most 78 octets (headers, folded per RFC 5322 §2.2.3) or 76 (bodies,
//! RFC 2045 §6.7, §6.8), far below the 998 of RFC 5322 §2.1.1, whatever
//! the calendar holds (an unfolded 3,000-octet `DESCRIPTION` line survives
//! every relay), and no relay needs 8BITMIME. Lines end with CRLF; the
//! text and the calendar are brought to CRLF first (RFC 2046 §4.1.1, RFC
//! 5545 §3.1).
//!
//! # Who the message is from (DMARC)
//!
//! The organizer is a platform user whose address belongs to a domain the
//! platform does not send for (their académie, another ministry). Receivers
//! such as Gmail and Outlook check DMARC (RFC 7489) on the `From` header's
//! domain: a message `From: jean.dupont@ac-lyon.fr` relayed by the
//! platform's mail server carries neither that domain's SPF nor its DKIM
//! signature, so it fails, and under a `p=reject` or `p=quarantine` policy
//! it is refused or filed as spam. So:
//!
//! - `From` is always the platform's own address (`imip_from`), never the
//!   organizer's; the organizer's *name* is shown in its display name,
//!   `"Jean Dupont via Almanach"`, the convention Google Calendar and
//!   mailing lists use, so the attendee still sees who invites them.
//! - `Reply-To` is where an answer should go. iMIP replies go to the
//!   `ORGANIZER` of the calendar (RFC 6047 §2.3: the addresses that matter
//!   are in the calendar, not the headers), which for an external attendee
//!   the caller sets to the per-invitation reply address
//!   ([`super::token`]); a person who answers with a plain email should
//!   reach the same place, so `Reply-To` is that address. Only when there
//!   is no such address does `Reply-To` show the organizer's own address,
//!   so that a plain answer reaches a person rather than the platform's
//!   sending mailbox.
//! - No `Sender` header: RFC 5322 §3.6.2 wants it when the transmitter
//!   differs from the author written in `From`, and says it SHOULD NOT be
//!   used when they are the same single mailbox — which they are here,
//!   `From` being the platform. Putting the organizer in `Sender` would
//!   claim the organizer transmitted the message (Outlook would show
//!   "organizer on behalf of platform", the reverse of the truth) and
//!   would not help DMARC, which reads `From` only.
//!
//! Every text that comes from users (names, the subject, the summary the
//! caller puts in it) has its control characters replaced with spaces
//! before it is written, so none can end a header line and start another
//! (header injection), and non-ASCII text is written as RFC 2047
//! encoded-words.

use std::fmt;
use std::str::FromStr;

use base64::Engine;
use chrono::{DateTime, Utc};

/// The display name of the platform when `imip_from` has none.
pub const DEFAULT_PLATFORM_NAME: &str = "Almanach";
/// The attachment's file name.
pub const ATTACHMENT_NAME: &str = "invite.ics";

/// One address with an optional display name, validated: an RFC 5322
/// `dot-atom` local part and a domain of letters, digits and hyphens
/// (ASCII only: without SMTPUTF8, RFC 6531, nothing else can be sent).
#[derive(Clone, PartialEq, Eq)]
pub struct Mailbox {
    name: Option<String>,
    address: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    #[error("no '@' in the address")]
    NoAt,
    #[error("invalid local part (RFC 5322 dot-atom, at most 64 octets)")]
    LocalPart,
    #[error("invalid domain")]
    Domain,
}

impl Mailbox {
    pub fn new(name: Option<&str>, address: &str) -> Result<Mailbox, AddressError> {
        check_address(address)?;
        let name = name.map(clean_text).filter(|n| !n.is_empty());
        Ok(Mailbox { name, address: address.to_string() })
    }

    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    pub fn address(&self) -> &str {
        &self.address
    }
}

/// `addr@example.fr`, `<addr@example.fr>` or `Name <addr@example.fr>`
/// (the name possibly in double quotes).
impl FromStr for Mailbox {
    type Err = AddressError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        match (s.rfind('<'), s.ends_with('>')) {
            (Some(lt), true) => {
                let name = s[..lt].trim();
                let name = name.strip_prefix('"').and_then(|n| n.strip_suffix('"')).unwrap_or(name);
                let name = name.replace("\\\"", "\"").replace("\\\\", "\\");
                Mailbox::new(Some(&name), &s[lt + 1..s.len() - 1])
            }
            _ => Mailbox::new(None, s),
        }
    }
}

impl fmt::Display for Mailbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(n) => write!(f, "{n} <{}>", self.address),
            None => f.write_str(&self.address),
        }
    }
}

impl fmt::Debug for Mailbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Mailbox({self})")
    }
}

fn is_atext(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~".contains(&c)
}

/// Check a domain name: labels of letters, digits and inner hyphens, at
/// most 63 octets each and 253 in all (RFC 1035 §2.3.4, RFC 5321
/// §4.5.3.1.2).
pub fn check_domain(domain: &str) -> Result<(), AddressError> {
    let ok = !domain.is_empty()
        && domain.len() <= 253
        && domain.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        });
    if ok { Ok(()) } else { Err(AddressError::Domain) }
}

/// Check an `addr-spec` made of a dot-atom local part (RFC 5322 §3.4.1;
/// quoted local parts are not accepted) and a domain name.
pub fn check_address(address: &str) -> Result<(), AddressError> {
    let (local, domain) = address.rsplit_once('@').ok_or(AddressError::NoAt)?;
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && local.split('.').all(|a| !a.is_empty() && a.bytes().all(is_atext));
    if !local_ok {
        return Err(AddressError::LocalPart);
    }
    check_domain(domain)
}

/// What the scheduling code hands over to be sent as one email.
#[derive(Debug, Clone)]
pub struct Invitation {
    /// The iTIP method (REQUEST, CANCEL, REPLY, COUNTER, …): the `method`
    /// parameter of the calendar part; the same as the calendar's METHOD
    /// (RFC 6047 §2.4).
    pub method: String,
    /// The platform's sending address (`imip_from`); its display name (or
    /// "Almanach") names the platform in `From`.
    pub from: Mailbox,
    /// The organizer's name, shown as "Name via Almanach".
    pub sender_name: Option<String>,
    /// The organizer's address: `Reply-To` when there is no `reply_to`.
    pub organizer_email: Option<String>,
    /// The per-invitation reply address ([`super::token::reply_address`]).
    pub reply_to: Option<String>,
    pub to: Vec<Mailbox>,
    pub subject: String,
    /// The human-readable text (French), any line endings.
    pub text: String,
    /// The iCalendar object, with its METHOD.
    pub calendar: String,
    /// The right-hand side of the generated `Message-ID`.
    pub message_id_domain: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ComposeError {
    #[error("invalid {field} address: {source}")]
    Address { field: &'static str, source: AddressError },
    #[error("invalid iTIP method {0:?}")]
    Method(String),
    #[error("no recipient")]
    NoRecipient,
    #[error("invalid Message-ID domain {0:?}")]
    MessageIdDomain(String),
}

/// The message as it goes on the wire: CRLF lines, 7-bit, each line at
/// most 78 octets except a header holding one long address (at most 998:
/// addresses are at most 64 + 1 + 253 octets).
pub fn compose(inv: &Invitation, date: DateTime<Utc>) -> Result<Vec<u8>, ComposeError> {
    let method = inv.method.trim().to_ascii_uppercase();
    if method.is_empty() || !method.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-') {
        return Err(ComposeError::Method(inv.method.clone()));
    }
    if inv.to.is_empty() {
        return Err(ComposeError::NoRecipient);
    }
    check_domain(&inv.message_id_domain).map_err(|_| ComposeError::MessageIdDomain(inv.message_id_domain.clone()))?;
    let reply_to = match (&inv.reply_to, &inv.organizer_email) {
        (Some(r), _) => {
            check_address(r).map_err(|source| ComposeError::Address { field: "reply-to", source })?;
            Some(r.as_str())
        }
        (None, Some(o)) => {
            check_address(o).map_err(|source| ComposeError::Address { field: "organizer", source })?;
            Some(o.as_str())
        }
        (None, None) => None,
    };

    let platform = inv.from.name().unwrap_or(DEFAULT_PLATFORM_NAME);
    let from_name = match inv.sender_name.as_deref().map(clean_text).filter(|n| !n.is_empty()) {
        Some(organizer) => Some(format!("{organizer} via {platform}")),
        None => inv.from.name().map(str::to_string),
    };
    let id = uuid::Uuid::new_v4().simple().to_string();
    let mixed = format!("=_mixed_{id}");
    let alternative = format!("=_alt_{id}");

    let mut out = String::with_capacity(inv.calendar.len() * 3 + inv.text.len() * 2 + 2048);
    header(&mut out, "Date", vec![date.format("%a, %d %b %Y %H:%M:%S +0000").to_string()]);
    header(&mut out, "Message-ID", vec![format!("<{id}@{}>", inv.message_id_domain.to_ascii_lowercase())]);
    header(&mut out, "From", mailbox_words(from_name.as_deref(), inv.from.address(), true));
    if let Some(r) = reply_to {
        header(&mut out, "Reply-To", vec![format!("<{r}>")]);
    }
    let mut to = Vec::new();
    for (i, m) in inv.to.iter().enumerate() {
        to.extend(mailbox_words(m.name(), m.address(), i + 1 == inv.to.len()));
    }
    header(&mut out, "To", to);
    header(&mut out, "Subject", unstructured_words(&clean_text(&inv.subject)));
    header(&mut out, "MIME-Version", vec!["1.0".into()]);
    header(&mut out, "Content-Type", vec!["multipart/mixed;".into(), format!("boundary=\"{mixed}\"")]);
    out.push_str("\r\nThis is a multi-part message in MIME format.\r\n");

    out.push_str(&format!("--{mixed}\r\n"));
    header(&mut out, "Content-Type", vec!["multipart/alternative;".into(), format!("boundary=\"{alternative}\"")]);
    out.push_str("\r\n");

    out.push_str(&format!("--{alternative}\r\n"));
    out.push_str("Content-Type: text/plain; charset=UTF-8\r\n");
    out.push_str("Content-Transfer-Encoding: quoted-printable\r\n\r\n");
    out.push_str(&quoted_printable(crlf_lines(&inv.text).as_bytes()));
    out.push_str("\r\n");

    // RFC 6047 §2.4: text/calendar with the method parameter and the
    // charset (UTF-8, RFC 5545 §3.1.4); §2.5: a transfer encoding.
    let mut calendar = crlf_lines(&inv.calendar);
    if !calendar.ends_with("\r\n") {
        calendar.push_str("\r\n");
    }
    out.push_str(&format!("--{alternative}\r\n"));
    out.push_str(&format!("Content-Type: text/calendar; method={method}; charset=UTF-8\r\n"));
    out.push_str("Content-Transfer-Encoding: quoted-printable\r\n\r\n");
    out.push_str(&quoted_printable(calendar.as_bytes()));
    out.push_str(&format!("\r\n--{alternative}--\r\n"));

    out.push_str(&format!("\r\n--{mixed}\r\n"));
    out.push_str(&format!("Content-Type: application/ics; name=\"{ATTACHMENT_NAME}\"\r\n"));
    out.push_str(&format!("Content-Disposition: attachment; filename=\"{ATTACHMENT_NAME}\"\r\n"));
    out.push_str("Content-Transfer-Encoding: base64\r\n\r\n");
    out.push_str(&base64_lines(calendar.as_bytes()));
    out.push_str(&format!("--{mixed}--\r\n"));
    Ok(out.into_bytes())
}

/// Replace every control character (CR and LF among them) with a space
/// and trim: a user's text can never end a header line.
fn clean_text(s: &str) -> String {
    s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect::<String>().trim().to_string()
}

/// Bring every line ending (CRLF, LF, CR) to CRLF.
fn crlf_lines(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 16);
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push_str("\r\n");
            }
            '\n' => out.push_str("\r\n"),
            c => out.push(c),
        }
    }
    out
}

/// Write `Name: w1 w2 …`, folding between words so that lines stay within
/// 78 octets (RFC 5322 §2.1.1, §2.2.3) when the words allow it.
fn header(out: &mut String, name: &str, words: Vec<String>) {
    out.push_str(name);
    out.push(':');
    let mut line_len = name.len() + 1;
    for w in words {
        if line_len > name.len() + 1 && line_len + 1 + w.len() > 78 {
            out.push_str("\r\n");
            line_len = 0;
        }
        out.push(' ');
        out.push_str(&w);
        line_len += 1 + w.len();
    }
    out.push_str("\r\n");
}

fn is_printable_ascii(s: &str) -> bool {
    s.bytes().all(|c| (0x20..0x7f).contains(&c))
}

/// RFC 2047 `B` encoded-words, each at most 75 octets (§2) and holding
/// whole characters (§5).
fn encoded_words(s: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut start = 0;
    // 42 octets → 56 base64 characters + 12 for "=?UTF-8?B?" and "?=":
    // 68, so that "Subject: " and a word fit in 78.
    while start < s.len() {
        let mut end = (start + 42).min(s.len());
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        words.push(format!("=?UTF-8?B?{}?=", base64::engine::general_purpose::STANDARD.encode(&s.as_bytes()[start..end])));
        start = end;
    }
    words
}

/// A display name (RFC 5322 `phrase`): a quoted string when printable
/// ASCII, encoded-words otherwise (RFC 2047 §5(3)); then the address.
fn mailbox_words(name: Option<&str>, address: &str, last: bool) -> Vec<String> {
    let comma = if last { "" } else { "," };
    let mut words = Vec::new();
    match name {
        Some(n) if is_printable_ascii(n) => {
            let quoted = format!("\"{}\"", n.replace('\\', "\\\\").replace('"', "\\\""));
            if quoted.len() <= 76 {
                words.push(quoted);
            } else {
                words.extend(encoded_words(n));
            }
        }
        Some(n) => words.extend(encoded_words(n)),
        None => {}
    }
    words.push(format!("<{address}>{comma}"));
    words
}

/// An unstructured field (the subject): its words when printable ASCII
/// and each short enough to fold between, encoded-words otherwise.
fn unstructured_words(s: &str) -> Vec<String> {
    let words: Vec<String> = s.split(' ').filter(|w| !w.is_empty()).map(str::to_string).collect();
    // A word that looks like an encoded-word would be decoded by readers.
    if is_printable_ascii(s) && words.iter().all(|w| w.len() <= 76 && !w.contains("=?")) {
        words
    } else {
        encoded_words(s)
    }
}

/// Quoted-printable (RFC 2045 §6.7) of CRLF-separated lines: CRLF stays a
/// hard line break, lines are soft-broken to at most 76 characters.
pub(crate) fn quoted_printable(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(bytes.len() + bytes.len() / 8);
    let mut lines = bytes.split(|&b| b == b'\n').peekable();
    while let Some(line) = lines.next() {
        let last = lines.peek().is_none();
        let line = if !last { line.strip_suffix(b"\r").unwrap_or(line) } else { line };
        let mut len = 0;
        for (i, &b) in line.iter().enumerate() {
            let at_end = i + 1 == line.len();
            let literal = (b == b' ' || b == b'\t') && !at_end || (33..=126).contains(&b) && b != b'=';
            let piece_len = if literal { 1 } else { 3 };
            // Keep room for the "=" of a soft line break (rule 5).
            if len + piece_len > 75 {
                out.push_str("=\r\n");
                len = 0;
            }
            if literal {
                out.push(b as char);
            } else {
                out.push('=');
                out.push(HEX[(b >> 4) as usize] as char);
                out.push(HEX[(b & 15) as usize] as char);
            }
            len += piece_len;
        }
        if !last {
            out.push_str("\r\n");
        }
    }
    out
}

/// Base64 (RFC 2045 §6.8) in lines of 76 characters, each ending in CRLF.
fn base64_lines(bytes: &[u8]) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
    let mut out = String::with_capacity(encoded.len() + encoded.len() / 38 + 2);
    for chunk in encoded.as_bytes().chunks(76) {
        out.push_str(std::str::from_utf8(chunk).expect("base64 is ASCII"));
        out.push_str("\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use mail_parser::{MessageParser, MimeHeaders, PartType};

    const CALENDAR: &str = "BEGIN:VCALENDAR\r\nPRODID:-//Almanach//FR\r\nVERSION:2.0\r\nMETHOD:REQUEST\r\n\
BEGIN:VEVENT\r\nUID:abc-123@agenda.example.fr\r\nDTSTAMP:20250102T100000Z\r\nDTSTART:20250110T090000Z\r\n\
DTEND:20250110T100000Z\r\nSUMMARY:Conseil de classe — 3e B\r\n\
ORGANIZER;CN=Jean Dupont:mailto:reply+aaaaaaaaaaaaaaaaaaaaaaaaaa@agenda.example.fr\r\n\
ATTENDEE;RSVP=TRUE;PARTSTAT=NEEDS-ACTION:mailto:parent@gmail.example\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";

    fn invitation() -> Invitation {
        Invitation {
            method: "REQUEST".into(),
            from: "Almanach <agenda@agenda.example.fr>".parse().unwrap(),
            sender_name: Some("Jean Dupont".into()),
            organizer_email: Some("jean.dupont@ac-lyon.fr".into()),
            reply_to: Some("reply+aaaaaaaaaaaaaaaaaaaaaaaaaa@agenda.example.fr".into()),
            to: vec![Mailbox::new(Some("Hélène Martin"), "parent@gmail.example").unwrap()],
            subject: "Invitation : Conseil de classe — 3e B".into(),
            text: "Bonjour,\nJean Dupont vous invite au conseil de classe.\n\nÀ bientôt".into(),
            calendar: CALENDAR.into(),
            message_id_domain: "agenda.example.fr".into(),
        }
    }

    fn date() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2025, 1, 2, 10, 0, 0).unwrap()
    }

    /// Every line ends in CRLF, is at most 998 octets (78 here), and the
    /// message is 7-bit.
    fn check_lines(bytes: &[u8], max: usize) {
        assert!(bytes.is_ascii());
        assert!(bytes.ends_with(b"\r\n"));
        for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
            if i + 1 == bytes.split(|&b| b == b'\n').count() {
                assert!(line.is_empty());
                continue;
            }
            assert!(line.ends_with(b"\r"), "line {i} without CRLF: {:?}", String::from_utf8_lossy(line));
            assert!(!line[..line.len() - 1].contains(&b'\r'), "bare CR in line {i}");
            assert!(line.len() - 1 <= max, "line {i} of {} octets: {}", line.len() - 1, String::from_utf8_lossy(line));
        }
    }

    #[test]
    fn headers_and_parts_parse_back() {
        let bytes = compose(&invitation(), date()).unwrap();
        check_lines(&bytes, 78);
        let m = MessageParser::default().parse(&bytes).unwrap();

        let from = m.from().unwrap().first().unwrap();
        assert_eq!(from.name(), Some("Jean Dupont via Almanach"));
        assert_eq!(from.address(), Some("agenda@agenda.example.fr"));
        assert!(m.header_raw("Sender").is_none());
        let reply_to = m.reply_to().unwrap().first().unwrap();
        assert_eq!(reply_to.address(), Some("reply+aaaaaaaaaaaaaaaaaaaaaaaaaa@agenda.example.fr"));
        let to = m.to().unwrap().first().unwrap();
        assert_eq!((to.name(), to.address()), (Some("Hélène Martin"), Some("parent@gmail.example")));
        assert_eq!(m.subject(), Some("Invitation : Conseil de classe — 3e B"));
        assert!(m.header_raw("Subject").unwrap().contains("=?UTF-8?B?"));
        assert_eq!(m.date().unwrap().to_timestamp(), date().timestamp());
        assert!(m.header_raw("Date").unwrap().trim() == "Thu, 02 Jan 2025 10:00:00 +0000");
        let id = m.message_id().unwrap();
        assert!(id.ends_with("@agenda.example.fr") && id.len() > 40, "{id}");
        assert_eq!(m.header_raw("MIME-Version").unwrap().trim(), "1.0");

        // Tree: 0 mixed → [1 alternative → [2 text, 3 calendar], 4 attachment].
        assert_eq!(m.parts.len(), 5);
        let ct = |i: usize| m.parts[i].content_type().unwrap();
        assert_eq!((ct(0).ctype(), ct(0).subtype()), ("multipart", Some("mixed")));
        assert_eq!(m.parts[0].sub_parts(), Some(&[1, 4][..]));
        assert_eq!((ct(1).ctype(), ct(1).subtype()), ("multipart", Some("alternative")));
        assert_eq!(m.parts[1].sub_parts(), Some(&[2, 3][..]));

        assert_eq!((ct(2).ctype(), ct(2).subtype(), ct(2).attribute("charset")), ("text", Some("plain"), Some("UTF-8")));
        assert_eq!(m.parts[2].content_transfer_encoding(), Some("quoted-printable"));
        assert_eq!(
            m.parts[2].text_contents(),
            Some("Bonjour,\r\nJean Dupont vous invite au conseil de classe.\r\n\r\nÀ bientôt")
        );

        assert_eq!((ct(3).ctype(), ct(3).subtype()), ("text", Some("calendar")));
        assert_eq!(ct(3).attribute("method"), Some("REQUEST"));
        assert_eq!(ct(3).attribute("charset"), Some("UTF-8"));
        assert_eq!(m.parts[3].content_transfer_encoding(), Some("quoted-printable"));
        assert_eq!(m.parts[3].text_contents(), Some(CALENDAR));

        assert_eq!((ct(4).ctype(), ct(4).subtype(), ct(4).attribute("name")), ("application", Some("ics"), Some("invite.ics")));
        let disposition = m.parts[4].content_disposition().unwrap();
        assert_eq!((disposition.ctype(), disposition.attribute("filename")), ("attachment", Some("invite.ics")));
        assert_eq!(m.parts[4].content_transfer_encoding(), Some("base64"));
        match &m.parts[4].body {
            PartType::Binary(b) => assert_eq!(&b[..], CALENDAR.as_bytes()),
            other => panic!("attachment parsed as {other:?}"),
        }
        // The calendar is found both as the calendar alternative and as an attachment.
        assert_eq!(m.attachment_count(), 2);
    }

    #[test]
    fn reply_to_falls_back_to_the_organizer_and_names_to_the_platform() {
        let mut inv = invitation();
        inv.reply_to = None;
        let m0 = compose(&inv, date()).unwrap();
        let m = MessageParser::default().parse(&m0).unwrap();
        assert_eq!(m.reply_to().unwrap().first().unwrap().address(), Some("jean.dupont@ac-lyon.fr"));
        // The organizer's address is never the From.
        assert_eq!(m.from().unwrap().first().unwrap().address(), Some("agenda@agenda.example.fr"));

        inv.organizer_email = None;
        inv.sender_name = None;
        inv.from = Mailbox::new(None, "agenda@agenda.example.fr").unwrap();
        let bytes = compose(&inv, date()).unwrap();
        let m = MessageParser::default().parse(&bytes).unwrap();
        assert!(m.reply_to().is_none());
        assert_eq!(m.from().unwrap().first().unwrap().name(), None);

        inv.sender_name = Some("Hélène « Léna » Martin-Dupont de la Salle des Professeurs du Collège".into());
        let bytes = compose(&inv, date()).unwrap();
        check_lines(&bytes, 78);
        let m = MessageParser::default().parse(&bytes).unwrap();
        assert_eq!(
            m.from().unwrap().first().unwrap().name(),
            Some("Hélène « Léna » Martin-Dupont de la Salle des Professeurs du Collège via Almanach")
        );
        // Quotes and backslashes in an ASCII name.
        inv.sender_name = Some(r#"Jean "JD" Dupont \ CPE"#.into());
        let m = compose(&inv, date()).unwrap();
        let m = MessageParser::default().parse(&m).unwrap();
        assert_eq!(m.from().unwrap().first().unwrap().name(), Some(r#"Jean "JD" Dupont \ CPE via Almanach"#));
    }

    #[test]
    fn several_recipients_other_methods_and_long_lines() {
        let mut inv = invitation();
        inv.method = "cancel".into();
        inv.to = (0..6).map(|i| Mailbox::new(Some(&format!("Parent numéro {i}")), &format!("parent{i}@example.org")).unwrap()).collect();
        let long = "x".repeat(3000);
        inv.calendar = CALENDAR.replace("METHOD:REQUEST", "METHOD:CANCEL").replace("SUMMARY:", &format!("DESCRIPTION:{long}\r\nSUMMARY:"));
        inv.text = format!("{}\n{long}  \nfin\t\n=", "é".repeat(100));
        inv.subject = format!("Annulé : {}", "réunion ".repeat(30));
        let bytes = compose(&inv, date()).unwrap();
        check_lines(&bytes, 78);
        let m = MessageParser::default().parse(&bytes).unwrap();
        let to: Vec<_> = m.to().unwrap().iter().map(|a| a.address().unwrap().to_string()).collect();
        assert_eq!(to, (0..6).map(|i| format!("parent{i}@example.org")).collect::<Vec<_>>());
        assert_eq!(m.to().unwrap().iter().nth(5).unwrap().name(), Some("Parent numéro 5"));
        assert_eq!(m.subject(), Some(format!("Annulé : {}", "réunion ".repeat(30)).trim()));
        assert_eq!(m.parts[3].content_type().unwrap().attribute("method"), Some("CANCEL"));
        assert_eq!(m.parts[3].text_contents(), Some(inv.calendar.as_str()));
        assert_eq!(m.parts[2].text_contents().unwrap(), format!("{}\r\n{long}  \r\nfin\t\r\n=", "é".repeat(100)));

        // A long ASCII subject folds between words.
        inv.subject = "Invitation to the meeting of the school board ".repeat(5);
        let bytes = compose(&inv, date()).unwrap();
        check_lines(&bytes, 78);
        let m = MessageParser::default().parse(&bytes).unwrap();
        assert_eq!(m.subject(), Some(inv.subject.trim()));
        assert!(!m.header_raw("Subject").unwrap().contains("=?"));
    }

    #[test]
    fn user_text_cannot_inject_headers() {
        let mut inv = invitation();
        inv.subject = "Réunion\r\nBcc: victim@example.org\r\n\r\nhello".into();
        inv.sender_name = Some("Eve\r\nX-Injected: yes".into());
        let bytes = compose(&inv, date()).unwrap();
        let m = MessageParser::default().parse(&bytes).unwrap();
        assert!(m.header_raw("Bcc").is_none());
        assert!(m.header_raw("X-Injected").is_none());
        assert_eq!(m.subject(), Some("Réunion  Bcc: victim@example.org    hello"));
        // An ASCII subject that looks like an encoded-word is encoded, not decoded by readers.
        inv.subject = "=?UTF-8?B?SGk=?=".into();
        let m = compose(&inv, date()).unwrap();
        let m = MessageParser::default().parse(&m).unwrap();
        assert_eq!(m.subject(), Some("=?UTF-8?B?SGk=?="));
    }

    #[test]
    fn bare_line_feeds_become_crlf_and_calendar_gets_a_final_line_break() {
        let mut inv = invitation();
        inv.calendar = CALENDAR.replace("\r\n", "\n").trim_end().to_string();
        let bytes = compose(&inv, date()).unwrap();
        check_lines(&bytes, 78);
        let m = MessageParser::default().parse(&bytes).unwrap();
        assert_eq!(m.parts[3].text_contents(), Some(CALENDAR));
    }

    #[test]
    fn invalid_input_is_refused() {
        let mut inv = invitation();
        inv.reply_to = Some("not an address".into());
        assert!(matches!(compose(&inv, date()), Err(ComposeError::Address { field: "reply-to", .. })));
        inv.reply_to = None;
        inv.organizer_email = Some("a@b@".into());
        assert!(matches!(compose(&inv, date()), Err(ComposeError::Address { field: "organizer", .. })));
        inv.organizer_email = None;
        inv.method = "REQUEST\r\nX: y".into();
        assert!(matches!(compose(&inv, date()), Err(ComposeError::Method(_))));
        inv.method = "REQUEST".into();
        inv.message_id_domain = "bad domain".into();
        assert!(matches!(compose(&inv, date()), Err(ComposeError::MessageIdDomain(_))));
        inv.message_id_domain = "x.fr".into();
        inv.to.clear();
        assert_eq!(compose(&inv, date()), Err(ComposeError::NoRecipient));
    }

    #[test]
    fn mailbox_parsing() {
        let m: Mailbox = "\"Almanach \\\"test\\\"\" <agenda@example.fr>".parse().unwrap();
        assert_eq!((m.name(), m.address()), (Some("Almanach \"test\""), "agenda@example.fr"));
        let m: Mailbox = "<agenda@example.fr>".parse().unwrap();
        assert_eq!((m.name(), m.address()), (None, "agenda@example.fr"));
        let m: Mailbox = " agenda@example.fr ".parse().unwrap();
        assert_eq!(m.address(), "agenda@example.fr");
        for bad in ["", "agenda", "@example.fr", "a b@example.fr", "a..b@example.fr", ".a@example.fr", "a@-x.fr", "a@x..fr",
            "a@x_y.fr", "é@example.fr", "a@exämple.fr", "a@example.fr>", "a\r\n@example.fr"]
        {
            assert!(bad.parse::<Mailbox>().is_err(), "{bad:?}");
        }
        assert!(format!("{}@x.fr", "a".repeat(65)).parse::<Mailbox>().is_err());
        assert!("o'brien+tag@sub.example-domain.fr".parse::<Mailbox>().is_ok());
    }

    #[test]
    fn quoted_printable_rules() {
        // Trailing white space is encoded, '=' too, soft breaks keep lines ≤ 76.
        assert_eq!(quoted_printable(b"a \r\nb\t"), "a=20\r\nb=09");
        assert_eq!(quoted_printable(b"1=2"), "1=3D2");
        let qp = quoted_printable("é".repeat(40).as_bytes());
        assert!(qp.split("\r\n").all(|l| l.len() <= 76), "{qp}");
        assert!(!qp.contains("=\r\n\r\n"));
        // Never split an escape.
        for l in qp.split("\r\n") {
            let t = l.trim_end_matches('=');
            assert_eq!(t.len() % 3, 0, "{l}");
        }
    }
}
