//! Partial retrieval of a vCard (RFC 6352 §10.4.2): only the properties an
//! `address-data` element names, each with or without its value. It works
//! on the content lines as written, so what is returned is byte for byte
//! what the client stored (folding included). `BEGIN`, `VERSION` and `END`
//! are always kept, so the result stays a vCard of a known version; the
//! RFC lets the rest be as incomplete as the request asks (§10.4).

/// One `CARDDAV:prop` of an `address-data` request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropSelection {
    /// A property name, optionally with a group (`item1.EMAIL`).
    pub name: String,
    /// `novalue="yes"`: the property without its value.
    pub novalue: bool,
}

/// The content lines of `text` (a vCard) for the `selected` properties.
pub fn select(text: &str, selected: &[PropSelection]) -> String {
    let mut out = String::with_capacity(text.len() / 2);
    for line in physical_groups(text) {
        let Some((group, name)) = line_name(line) else { continue };
        let kept = ["BEGIN", "VERSION", "END"].iter().any(|k| name.eq_ignore_ascii_case(k));
        if kept {
            out.push_str(line);
            continue;
        }
        let Some(sel) = selected.iter().find(|s| names(group, name, &s.name)) else { continue };
        if sel.novalue {
            let logical: String = unfold(line);
            let head = &logical[..value_start(&logical).unwrap_or(logical.len())];
            out.push_str(head);
            out.push_str("\r\n");
        } else {
            out.push_str(line);
        }
    }
    out
}

/// Each content line with its folded continuation lines and line breaks.
fn physical_groups(text: &str) -> impl Iterator<Item = &str> {
    let bytes = text.as_bytes();
    let mut start = 0;
    std::iter::from_fn(move || {
        if start >= bytes.len() {
            return None;
        }
        let mut end = start;
        loop {
            match text[end..].find('\n') {
                Some(nl) => {
                    end += nl + 1;
                    if !matches!(bytes.get(end), Some(b' ' | b'\t')) {
                        break;
                    }
                }
                None => {
                    end = bytes.len();
                    break;
                }
            }
        }
        let group = &text[start..end];
        start = end;
        Some(group)
    })
}

fn unfold(line: &str) -> String {
    line.replace("\r\n ", "").replace("\r\n\t", "").replace("\n ", "").replace("\n\t", "").trim_end_matches(['\r', '\n']).to_string()
}

/// `[group.]NAME` of a content line.
fn line_name(line: &str) -> Option<(Option<&str>, &str)> {
    let end = line.find([';', ':'])?;
    let full = &line[..end];
    Some(match full.rsplit_once('.') {
        Some((group, name)) => (Some(group), name),
        None => (None, full),
    })
}

/// Where the value of a logical line starts: after the first `:` outside
/// a quoted parameter value (RFC 6350 §3.3).
fn value_start(line: &str) -> Option<usize> {
    let mut quoted = false;
    for (i, c) in line.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ':' if !quoted => return Some(i + 1),
            _ => {}
        }
    }
    None
}

fn names(group: Option<&str>, name: &str, wanted: &str) -> bool {
    match wanted.rsplit_once('.') {
        Some((wg, wn)) => name.eq_ignore_ascii_case(wn) && group.is_some_and(|g| g.eq_ignore_ascii_case(wg)),
        None => name.eq_ignore_ascii_case(wanted),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_only_selected_properties_as_written() {
        let text = "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:u\r\nFN:Hélène Dubois-Legrand, une très longue ligne pliée\r\n  au milieu\r\nNICKNAME:me\r\n\
                    item1.EMAIL;TYPE=\"a:b\":cyrus@example.com\r\nNOTE:secret\r\nEND:VCARD\r\n";
        let sel = [
            PropSelection { name: "uid".into(), novalue: false },
            PropSelection { name: "FN".into(), novalue: false },
            PropSelection { name: "EMAIL".into(), novalue: true },
        ];
        let out = select(text, &sel);
        assert_eq!(
            out,
            "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:u\r\nFN:Hélène Dubois-Legrand, une très longue ligne pliée\r\n  au milieu\r\n\
             item1.EMAIL;TYPE=\"a:b\":\r\nEND:VCARD\r\n"
        );
        let grouped = [PropSelection { name: "item2.EMAIL".into(), novalue: false }];
        assert!(!select(text, &grouped).contains("EMAIL"));
    }
}
