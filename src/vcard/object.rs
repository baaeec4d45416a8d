//! Address object resources (RFC 6352 §5.1): exactly one vCard, version 3.0
//! or 4.0, with a UID. Validation runs in three steps, each refusing what
//! the next would silently accept:
//!
//! 1. bytes: UTF-8, with line folds that keep multi-octet characters
//!    contiguous (RFC 6350 §3.2 "MUST remain contiguous");
//! 2. lines: one `BEGIN:VCARD` … `END:VCARD`, nothing nested, nothing
//!    after, every content line `name[;params]:value` (RFC 6350 §3.3);
//! 3. calcard's parse, then VERSION and UID.
//!
//! The bytes themselves are stored as sent; the parse only validates and
//! feeds the index.

use std::borrow::Cow;

use calcard::vcard::{VCard, VCardProperty, VCardVersion};
use calcard::{Entry, Parser};

use crate::contentline::unfold_bytes;

/// Why a body is not an acceptable address object resource.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CardError {
    /// Not valid vCard data (RFC 6352 §6.3.2.1 `valid-address-data`).
    #[error("invalid vCard data: {0}")]
    InvalidData(String),
    /// A vCard version the server does not store (`supported-address-data`).
    #[error("unsupported vCard version {0}")]
    UnsupportedVersion(String),
}

fn invalid(why: impl Into<String>) -> CardError {
    CardError::InvalidData(why.into())
}

/// A validated address object.
#[derive(Debug, Clone)]
pub struct AddressObject {
    pub card: VCard,
    pub version: VCardVersion,
    pub uid: String,
}

/// Most content lines in one vCard (a contact has tens; a large group a
/// few thousand MEMBER lines).
const MAX_LINES: usize = 50_000;

/// Validate `bytes` as an address object resource.
pub fn parse_address_object(bytes: &[u8]) -> Result<AddressObject, CardError> {
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(_) if std::str::from_utf8(&unfold_bytes(bytes)).is_ok() => {
            return Err(invalid("a line fold splits a multi-octet UTF-8 character (RFC 6350 §3.2)"))
        }
        Err(e) => return Err(invalid(format!("not UTF-8 (byte {})", e.valid_up_to()))),
    };
    if text.contains('\0') {
        return Err(invalid("NUL character"));
    }
    scan_lines(text)?;
    let card = parse_one(text)?;
    let version = card_version(&card)?;
    let uid = single_uid(&card)?;
    Ok(AddressObject { card, version, uid })
}

/// Parse a vCard that was validated when stored (query and conversion
/// paths); None if it no longer parses.
pub fn parse_stored(bytes: &[u8]) -> Option<VCard> {
    let text = std::str::from_utf8(bytes).ok()?;
    parse_one(text).ok()
}

/// The version a stored vCard declares (4.0 when absent).
pub fn stored_version(card: &VCard) -> VCardVersion {
    card.version().unwrap_or(VCardVersion::V4_0)
}

fn parse_one(text: &str) -> Result<VCard, CardError> {
    let mut parser = Parser::new(text);
    let card = match parser.entry() {
        Entry::VCard(card) => card,
        Entry::ICalendar(_) => return Err(invalid("iCalendar data, not a vCard")),
        Entry::Eof => return Err(invalid("empty body")),
        other => return Err(invalid(format!("{other:?}").chars().take(120).collect::<String>())),
    };
    match parser.entry() {
        Entry::Eof => Ok(card),
        _ => Err(invalid("more than one vCard in one resource (RFC 6352 §5.1)")),
    }
}

/// The logical (unfolded) lines of `text`, without their line breaks.
fn logical_lines(text: &str) -> impl Iterator<Item = Cow<'_, str>> {
    let mut physical = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)).peekable();
    std::iter::from_fn(move || {
        let first = physical.next()?;
        let mut line = Cow::Borrowed(first);
        while let Some(next) = physical.peek() {
            match next.strip_prefix([' ', '\t']) {
                Some(rest) => {
                    line.to_mut().push_str(rest);
                    physical.next();
                }
                None => break,
            }
        }
        Some(line)
    })
}

/// Step 2: the structure of the lines (RFC 6350 §3.3).
fn scan_lines(text: &str) -> Result<(), CardError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut state = Scan::Before;
    for (n, line) in logical_lines(text).enumerate() {
        if n > MAX_LINES {
            return Err(invalid(format!("more than {MAX_LINES} lines")));
        }
        if line.trim().is_empty() {
            continue;
        }
        let name = content_line_name(&line).ok_or_else(|| invalid(format!("line {}: not a content line", n + 1)))?;
        let value = line.split_once(':').map(|(_, v)| v.trim()).unwrap_or("");
        let is = |keyword: &str| name.eq_ignore_ascii_case(keyword);
        state = match state {
            Scan::Before if is("BEGIN") && value.eq_ignore_ascii_case("VCARD") => Scan::Inside,
            Scan::Before => return Err(invalid(format!("line {}: expected BEGIN:VCARD", n + 1))),
            Scan::Inside if is("BEGIN") => return Err(invalid(format!("line {}: nested BEGIN", n + 1))),
            Scan::Inside if is("END") && value.eq_ignore_ascii_case("VCARD") => Scan::After,
            Scan::Inside if is("END") => return Err(invalid(format!("line {}: END without BEGIN", n + 1))),
            Scan::Inside => Scan::Inside,
            Scan::After => return Err(invalid("content after END:VCARD (one vCard per resource, RFC 6352 §5.1)")),
        };
    }
    match state {
        Scan::After => Ok(()),
        Scan::Before => Err(invalid("no BEGIN:VCARD")),
        Scan::Inside => Err(invalid("no END:VCARD")),
    }
}

enum Scan {
    Before,
    Inside,
    After,
}

/// The property name of a content line `[group.]name[;params]:value`, if
/// the line has that shape.
fn content_line_name(line: &str) -> Option<&str> {
    let end = line.find([';', ':'])?;
    line.contains(':').then_some(())?;
    let full = &line[..end];
    let name = full.rsplit('.').next()?;
    let valid = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    (valid(name) && full.split('.').all(valid)).then_some(name)
}

fn card_version(card: &VCard) -> Result<VCardVersion, CardError> {
    let declared: Vec<&str> =
        card.properties(&VCardProperty::Version).filter_map(|e| e.values.first().and_then(|v| v.as_text())).collect();
    match declared.as_slice() {
        [] => Err(invalid("no VERSION property")),
        [one] => match crate::vcard::parse_version(one) {
            Some(v) => Ok(v),
            None => Err(CardError::UnsupportedVersion(one.to_string())),
        },
        _ => Err(invalid("several VERSION properties")),
    }
}

/// RFC 6352 §5.1: a vCard in an address book MUST have a UID.
fn single_uid(card: &VCard) -> Result<String, CardError> {
    let uids: Vec<String> = card
        .properties(&VCardProperty::Uid)
        .map(|e| e.values.iter().filter_map(|v| v.as_text()).collect::<Vec<_>>().join(""))
        .collect();
    match uids.as_slice() {
        [] => Err(invalid("no UID property (RFC 6352 §5.1)")),
        [uid] if uid.trim().is_empty() => Err(invalid("empty UID")),
        [uid] => Ok(uid.trim().to_string()),
        _ => Err(invalid("several UID properties")),
    }
}

/// What the store keeps to pre-select `addressbook-query` candidates: each
/// textual property as `NAME:value` on its own line, folded with
/// `i;unicode-casemap`. A text-match can only succeed on an object whose
/// search text contains its folded needle, so a query is narrowed with a
/// substring test, and most filters are decided on these lines alone
/// ([`crate::vcard::filter::decide_on_search_text`]). Binary values (PHOTO,
/// LOGO, SOUND, KEY data) and empty values are left out; a value holding
/// control characters (a NOTE with line breaks) has them replaced by spaces
/// and its line marked with a leading `!`, so it is never decided on.
pub fn search_text(card: &VCard) -> String {
    use crate::collation::{fold, Collation};
    let mut out = String::new();
    for entry in &card.entries {
        if matches!(entry.name, VCardProperty::Begin | VCardProperty::End | VCardProperty::Version) {
            continue;
        }
        // Every text a text-match tries is part of the longest one (the
        // values joined, for lists such as CATEGORIES).
        let texts = crate::vcard::filter::entry_texts(entry);
        let Some(joined) = texts.iter().max_by_key(|t| t.len()) else { continue };
        if joined.is_empty() {
            continue;
        }
        if joined.chars().any(char::is_control) {
            out.push('!');
        }
        out.push_str(entry.name.as_str());
        out.push(':');
        let clean: String = joined.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
        out.push_str(&fold(Collation::UnicodeCasemap, &clean));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card(body: &str) -> String {
        format!("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:u1\r\nFN:Jean Dubois\r\n{body}END:VCARD\r\n")
    }

    #[test]
    fn accepts_v3_and_v4() {
        let v3 = parse_address_object(card("").as_bytes()).unwrap();
        assert_eq!((v3.version, v3.uid.as_str()), (VCardVersion::V3_0, "u1"));
        let v4 = "BEGIN:VCARD\r\nVERSION:4.0\r\nUID:urn:uuid:1\r\nFN:A\r\nEND:VCARD\r\n";
        assert_eq!(parse_address_object(v4.as_bytes()).unwrap().version, VCardVersion::V4_0);
    }

    #[test]
    fn refuses_what_is_not_one_vcard() {
        let err = |body: &str| parse_address_object(body.as_bytes()).unwrap_err();
        assert!(matches!(err(""), CardError::InvalidData(_)));
        assert!(matches!(err("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:a\r\n"), CardError::InvalidData(_)));
        assert!(matches!(err(&format!("{}{}", card(""), card(""))), CardError::InvalidData(_)));
        assert!(matches!(err(&card("BEGIN:VCARD\r\nEND:VCARD\r\n")), CardError::InvalidData(_)));
        assert!(matches!(err(&card("this is not a content line\r\n")), CardError::InvalidData(_)));
        assert!(matches!(err("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"), CardError::InvalidData(_)));
        let no_uid = "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:A\r\nEND:VCARD\r\n";
        assert_eq!(err(no_uid), CardError::InvalidData("no UID property (RFC 6352 §5.1)".into()));
        let two_uids = card("UID:u2\r\n");
        assert!(matches!(err(&two_uids), CardError::InvalidData(_)));
        let v21 = "BEGIN:VCARD\r\nVERSION:2.1\r\nUID:a\r\nFN:A\r\nEND:VCARD\r\n";
        assert_eq!(err(v21), CardError::UnsupportedVersion("2.1".into()));
    }

    #[test]
    fn refuses_bad_bytes() {
        let mut bytes = card("NOTE:caf\u{e9}\r\n").into_bytes();
        let pos = bytes.windows(2).position(|w| w == [0xC3, 0xA9]).unwrap();
        // A fold between the two octets of "é".
        bytes.splice(pos + 1..pos + 1, *b"\r\n ");
        assert!(matches!(parse_address_object(&bytes), Err(CardError::InvalidData(m)) if m.contains("multi-octet")));
        assert!(parse_address_object(b"BEGIN:VCARD\r\nVERSION:3.0\r\nUID:a\r\nFN:\xff\r\nEND:VCARD\r\n").is_err());
        assert!(parse_address_object(card("NOTE:a\0b\r\n").as_bytes()).is_err());
    }

    #[test]
    fn deep_nesting_is_refused_without_recursion() {
        let nested = "BEGIN:VCARD\r\n".repeat(100_000);
        assert!(parse_address_object(nested.as_bytes()).is_err());
    }

    #[test]
    fn folded_lines_and_groups() {
        let body = card("item1.EMAIL;TYPE=INTERNET:jean.dubois@ac-\r\n lyon.fr\r\nitem1.X-ABLabel:work\r\n");
        let obj = parse_address_object(body.as_bytes()).unwrap();
        let text = search_text(&obj.card);
        assert!(text.contains("EMAIL:jean.dubois@ac-lyon.fr\n"), "{text}");
        assert!(text.contains("FN:jean dubois\n"), "{text}");
    }
}
