//! vCard 3.0 ↔ 4.0 (RFC 6352 §5.1.1: a client may ask for the other
//! version with `Accept` or the `address-data` `version` attribute).
//!
//! calcard writes either version (dates, inline binary data as `data:` URIs
//! or `ENCODING=b`, `CHARSET`); this module adds what calcard leaves to the
//! application:
//!
//! - contact groups: vCard 4 `KIND:group` + `MEMBER` ↔ Apple's
//!   `X-ADDRESSBOOKSERVER-KIND` + `X-ADDRESSBOOKSERVER-MEMBER`, which is how
//!   vCard 3 clients (iOS/macOS, DAVx5 in "groups as vCards" mode) write
//!   groups; `CATEGORIES` is the same property in both and is kept as is;
//! - preference: vCard 4 `PREF=1` ↔ vCard 3 `TYPE=pref` (RFC 6350 §5.3,
//!   RFC 2426 §3.3.1);
//! - vCard 3 requires `N` (RFC 2426 §3.1.2): an empty one is added when a
//!   vCard 4 has none;
//! - parameters vCard 4 abolished (`ENCODING`, `CHARSET`) are dropped.
//!
//! A vCard asked for in its own version is never rewritten: the stored
//! bytes are served.

use calcard::common::IanaString;
use calcard::vcard::{
    VCard, VCardEntry, VCardParameter, VCardParameterName, VCardParameterValue, VCardProperty, VCardValue,
    VCardVersion,
};

const APPLE_KIND: &str = "X-ADDRESSBOOKSERVER-KIND";
const APPLE_MEMBER: &str = "X-ADDRESSBOOKSERVER-MEMBER";

/// `card` written as vCard `to`.
pub fn convert(card: &VCard, to: VCardVersion) -> String {
    let mut out = String::with_capacity(256);
    let _ = convert_card(card, to).write_to(&mut out, to);
    if to == VCardVersion::V3_0 {
        out = without_charset(&out);
    }
    out
}

/// calcard marks non-ASCII vCard 3 values with `CHARSET=UTF-8`, a vCard
/// 2.1 parameter that RFC 2426 does not define (the charset is that of the
/// MIME type); it is removed from the parameters of each line.
fn without_charset(text: &str) -> String {
    text.split_inclusive('\n')
        .map(|line| match line.find(':') {
            Some(colon) if !line.starts_with([' ', '\t']) && line[..colon].contains(";CHARSET=UTF-8") => {
                format!("{}{}", line[..colon].replace(";CHARSET=UTF-8", ""), &line[colon..])
            }
            _ => line.to_string(),
        })
        .collect()
}

/// `card` with its properties in the form of vCard `to` (written with
/// `write_to(…, to)`).
pub fn convert_card(card: &VCard, to: VCardVersion) -> VCard {
    let entries = card.entries.iter().filter_map(|e| convert_entry(e, to)).collect::<Vec<_>>();
    let mut converted = VCard { entries };
    if to == VCardVersion::V3_0 && converted.property(&VCardProperty::N).is_none() {
        converted.entries.push(VCardEntry::new(VCardProperty::N).with_values(vec![
            VCardValue::Text(String::new()),
            VCardValue::Text(String::new()),
            VCardValue::Text(String::new()),
            VCardValue::Text(String::new()),
            VCardValue::Text(String::new()),
        ]));
    }
    converted
}

fn convert_entry(entry: &VCardEntry, to: VCardVersion) -> Option<VCardEntry> {
    let mut e = entry.clone();
    let v4 = to == VCardVersion::V4_0;
    match (&e.name, v4) {
        (VCardProperty::Other(name), true) if name.eq_ignore_ascii_case(APPLE_KIND) => e.name = VCardProperty::Kind,
        (VCardProperty::Other(name), true) if name.eq_ignore_ascii_case(APPLE_MEMBER) => e.name = VCardProperty::Member,
        (VCardProperty::Kind, false) if is_group_kind(&e) => {
            e.name = VCardProperty::Other(APPLE_KIND.into());
            e.values = vec![VCardValue::Text("group".into())];
        }
        (VCardProperty::Member, false) => e.name = VCardProperty::Other(APPLE_MEMBER.into()),
        _ => {}
    }
    e.params.retain(|p| !is_param(p, "ENCODING") && !is_param(p, "CHARSET"));
    if v4 {
        binary_to_data_uri(&mut e);
        pref_to_v4(&mut e);
    } else {
        pref_to_v3(&mut e);
    }
    Some(e)
}

fn is_group_kind(e: &VCardEntry) -> bool {
    e.values.iter().any(|v| match v {
        VCardValue::Kind(k) => k.as_str().eq_ignore_ascii_case("group"),
        VCardValue::Text(t) => t.eq_ignore_ascii_case("group"),
        _ => false,
    })
}

fn is_param(p: &VCardParameter, name: &str) -> bool {
    matches!(&p.name, VCardParameterName::Other(n) if n.eq_ignore_ascii_case(name))
}

fn is_pref_type(p: &VCardParameter) -> bool {
    p.name == VCardParameterName::Type
        && match &p.value {
            VCardParameterValue::Text(t) => t.eq_ignore_ascii_case("pref"),
            _ => false,
        }
}

/// vCard 3 inline data (`ENCODING=b;TYPE=JPEG`) → a vCard 4 `data:` URI
/// (RFC 6350 §6.2.4), whose media type replaces the TYPE parameter.
fn binary_to_data_uri(e: &mut VCardEntry) {
    use base64::Engine;
    let Some(pos) = e.values.iter().position(|v| matches!(v, VCardValue::Binary(_))) else { return };
    let VCardValue::Binary(data) = &e.values[pos] else { return };
    let legacy_type = e.params.iter().find_map(|p| match (&p.name, &p.value) {
        (VCardParameterName::Type, VCardParameterValue::Text(t)) => Some(t.to_ascii_lowercase()),
        _ => None,
    });
    let media = data.content_type.clone().or_else(|| legacy_type.map(|t| format!("image/{t}")));
    let encoded = base64::engine::general_purpose::STANDARD.encode(&data.data);
    let uri = match media {
        Some(m) => format!("data:{m};base64,{encoded}"),
        None => format!("data:application/octet-stream;base64,{encoded}"),
    };
    e.values[pos] = VCardValue::Text(uri);
    e.params.retain(|p| p.name != VCardParameterName::Type);
}

/// `TYPE=pref` → `PREF=1`.
fn pref_to_v4(e: &mut VCardEntry) {
    if e.params.iter().any(is_pref_type) {
        e.params.retain(|p| !is_pref_type(p));
        if !e.params.iter().any(|p| p.name == VCardParameterName::Pref) {
            e.params.push(VCardParameter { name: VCardParameterName::Pref, value: VCardParameterValue::Integer(1) });
        }
    }
}

/// `PREF=1` → `TYPE=pref` (other PREF values have no vCard 3 form).
fn pref_to_v3(e: &mut VCardEntry) {
    let preferred = e.params.iter().any(|p| {
        p.name == VCardParameterName::Pref
            && match &p.value {
                VCardParameterValue::Integer(n) => *n == 1,
                VCardParameterValue::Text(t) => t.trim() == "1",
                _ => false,
            }
    });
    e.params.retain(|p| p.name != VCardParameterName::Pref);
    if preferred && !e.params.iter().any(is_pref_type) {
        e.params.push(VCardParameter { name: VCardParameterName::Type, value: VCardParameterValue::Text("pref".into()) });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vcard::object::parse_address_object;

    fn convert_text(text: &str, to: VCardVersion) -> String {
        let obj = parse_address_object(text.as_bytes()).unwrap();
        let out = convert(&obj.card, to);
        // The result is itself a valid address object of the asked version.
        let back = parse_address_object(out.as_bytes()).unwrap_or_else(|e| panic!("{e}: {out}"));
        assert_eq!(back.version, to, "{out}");
        assert_eq!(back.uid, obj.uid);
        out
    }

    #[test]
    fn v3_to_v4() {
        let v3 = "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:abc\r\nFN:Élodie Martin\r\nN:Martin;Élodie;;;\r\n\
                  EMAIL;TYPE=INTERNET,pref:elodie@example.fr\r\nBDAY:1980-04-15\r\n\
                  PHOTO;ENCODING=b;TYPE=JPEG:/9j/4AAQ\r\nCATEGORIES:Amis,Travail\r\nEND:VCARD\r\n";
        let out = convert_text(v3, VCardVersion::V4_0);
        println!("{out}");
        assert!(out.contains("VERSION:4.0\r\n"), "{out}");
        assert!(out.contains("FN:Élodie Martin\r\n"), "{out}");
        assert!(out.contains("PREF=1"), "{out}");
        assert!(!out.contains("pref"), "{out}");
        assert!(out.contains("BDAY:19800415\r\n"), "{out}");
        assert!(out.contains("PHOTO:data:image/jpeg;base64"), "{out}");
        assert!(!out.contains("ENCODING"), "{out}");
        assert!(out.contains("CATEGORIES:Amis,Travail\r\n"), "{out}");
    }

    #[test]
    fn v4_to_v3() {
        let v4 = "BEGIN:VCARD\r\nVERSION:4.0\r\nUID:urn:uuid:1\r\nFN:Jérôme Dubois\r\n\
                  EMAIL;PREF=1:jean@example.fr\r\nTEL;VALUE=uri;TYPE=voice:tel:+33-1-23\r\n\
                  PHOTO:data:image/png;base64,iVBORw0KGgo=\r\nEND:VCARD\r\n";
        let out = convert_text(v4, VCardVersion::V3_0);
        println!("{out}");
        assert!(out.contains("VERSION:3.0\r\n"), "{out}");
        assert!(out.contains("N:;;;;\r\n"), "{out}");
        assert!(out.contains("FN:Jérôme Dubois\r\n") && !out.contains("CHARSET"), "{out}");
        assert!(out.to_ascii_lowercase().contains("type=pref"), "{out}");
        assert!(out.contains("ENCODING=b"), "{out}");
        assert!(!out.contains("data:image"), "{out}");
    }

    #[test]
    fn groups_both_ways() {
        let v4 = "BEGIN:VCARD\r\nVERSION:4.0\r\nUID:g1\r\nKIND:group\r\nFN:Équipe\r\n\
                  MEMBER:urn:uuid:m1\r\nMEMBER:urn:uuid:m2\r\nEND:VCARD\r\n";
        let v3 = convert_text(v4, VCardVersion::V3_0);
        assert!(v3.contains("X-ADDRESSBOOKSERVER-KIND:group\r\n"), "{v3}");
        assert!(v3.contains("X-ADDRESSBOOKSERVER-MEMBER:urn:uuid:m1\r\n"), "{v3}");
        assert!(v3.contains("X-ADDRESSBOOKSERVER-MEMBER:urn:uuid:m2\r\n"), "{v3}");
        let again = convert_text(&v3, VCardVersion::V4_0);
        assert!(again.contains("KIND:group\r\n"), "{again}");
        assert!(again.contains("MEMBER:urn:uuid:m1\r\n"), "{again}");
        assert!(!again.contains("X-ADDRESSBOOKSERVER"), "{again}");
    }
}
