//! Partial retrieval of a vCard (RFC 6352 §10.4.2): only the properties an
//! `address-data` element names, each with or without its value. `VERSION`
//! is always written so the result stays a vCard of a known version; the
//! RFC lets the rest be as incomplete as the request asks (§10.4).

use calcard::vcard::{VCard, VCardEntry, VCardProperty, VCardVersion};

/// One `CARDDAV:prop` of an `address-data` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropSelection {
    /// A property name, optionally with a group (`item1.EMAIL`).
    pub name: String,
    /// `novalue="yes"`: the property without its value.
    pub novalue: bool,
}

/// `card` reduced to the `selected` properties, written as vCard `version`.
pub fn select(card: &VCard, selected: &[PropSelection], version: VCardVersion) -> String {
    let mut entries = Vec::new();
    for entry in &card.entries {
        if matches!(entry.name, VCardProperty::Begin | VCardProperty::End | VCardProperty::Version) {
            continue;
        }
        if let Some(sel) = selected.iter().find(|s| names(entry, &s.name)) {
            let mut e: VCardEntry = entry.clone();
            if sel.novalue {
                e.values.clear();
            }
            entries.push(e);
        }
    }
    let mut out = String::with_capacity(128);
    let _ = VCard { entries }.write_to(&mut out, version);
    out
}

fn names(entry: &VCardEntry, wanted: &str) -> bool {
    match wanted.rsplit_once('.') {
        Some((group, name)) => {
            entry.name.as_str().eq_ignore_ascii_case(name)
                && entry.group.as_deref().is_some_and(|g| g.eq_ignore_ascii_case(group))
        }
        None => entry.name.as_str().eq_ignore_ascii_case(wanted),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vcard::object::parse_address_object;

    #[test]
    fn keeps_only_selected_properties() {
        let text = "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:u\r\nFN:Cyrus Daboo\r\nNICKNAME:me\r\n\
                    EMAIL;TYPE=INTERNET:cyrus@example.com\r\nNOTE:secret\r\nEND:VCARD\r\n";
        let card = parse_address_object(text.as_bytes()).unwrap().card;
        let sel = [
            PropSelection { name: "uid".into(), novalue: false },
            PropSelection { name: "EMAIL".into(), novalue: true },
        ];
        let out = select(&card, &sel, VCardVersion::V3_0);
        assert!(out.starts_with("BEGIN:VCARD\r\nVERSION:3.0\r\n"), "{out}");
        assert!(out.contains("UID:u\r\n"), "{out}");
        assert!(out.contains("EMAIL;TYPE=INTERNET:\r\n"), "{out}");
        assert!(!out.contains("NOTE") && !out.contains("FN") && !out.contains("cyrus@"), "{out}");
        assert!(out.ends_with("END:VCARD\r\n"), "{out}");
    }
}
