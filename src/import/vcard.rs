//! One exported vCard file (RFC 6350 §3.3, RFC 2426: any number of
//! vCards, 3.0 or 4.0, contacts and groups alike) cut into address object
//! resources (RFC 6352 §5.1: one vCard each), each copied line for line
//! with CRLF line endings.

use super::lines::{content_lines, name_is, parts};
use super::{Problem, SplitItem};

/// Cut `text` into one resource per vCard. Lines outside any vCard and a
/// vCard without END are reported as problems at their lines.
pub fn split(text: &[u8]) -> (Vec<SplitItem>, Vec<Problem>) {
    let mut items = Vec::new();
    let mut problems = Vec::new();
    // The card being read: (item, nesting depth).
    let mut open: Option<(SplitItem, usize)> = None;
    let mut stray: Option<usize> = None;
    for line in content_lines(text) {
        let unfolded = line.unfolded();
        match open.as_mut() {
            Some((card, depth)) => {
                line.write_to(&mut card.content);
                if name_is(&unfolded, "BEGIN") {
                    *depth += 1;
                } else if name_is(&unfolded, "END") {
                    *depth -= 1;
                    if *depth == 0 {
                        items.push(open.take().map(|(c, _)| c).expect("open card"));
                    }
                } else if *depth == 1 && card.uid.is_none() && name_is(&unfolded, "UID") {
                    card.uid = Some(parts(&unfolded).value.trim().to_string());
                }
            }
            None if name_is(&unfolded, "BEGIN")
                && parts(&unfolded).value.trim().eq_ignore_ascii_case("VCARD") =>
            {
                let mut card = SplitItem {
                    line: line.number,
                    uid: None,
                    content: Vec::with_capacity(512),
                };
                line.write_to(&mut card.content);
                open = Some((card, 1));
            }
            None => {
                stray.get_or_insert(line.number);
            }
        }
    }
    if let Some((card, _)) = open {
        problems.push(Problem {
            line: card.line,
            uid: card.uid,
            reason: "the vCard has no END:VCARD line".into(),
        });
    }
    if let Some(line) = stray {
        let reason = if items.is_empty() {
            "no BEGIN:VCARD: not a vCard file"
        } else {
            "content outside BEGIN:VCARD … END:VCARD (ignored)"
        };
        problems.push(Problem {
            line,
            uid: None,
            reason: reason.into(),
        });
    }
    (items, problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cards_with_lines() {
        let text = b"BEGIN:VCARD\nVERSION:3.0\nUID:one\nFN:A\nEND:VCARD\n\nBEGIN:VCARD\r\nVERSION:4.0\r\nitem1.UID:two\r\nKIND:group\r\nEND:VCARD\r\nstray\r\nBEGIN:VCARD\r\nUID:three";
        let (items, problems) = split(text);
        assert_eq!(
            items
                .iter()
                .map(|i| (i.line, i.uid.as_deref()))
                .collect::<Vec<_>>(),
            vec![(1, Some("one")), (7, Some("two"))]
        );
        assert_eq!(
            items[0].content,
            b"BEGIN:VCARD\r\nVERSION:3.0\r\nUID:one\r\nFN:A\r\nEND:VCARD\r\n"
        );
        assert_eq!(
            problems.iter().map(|p| p.line).collect::<Vec<_>>(),
            vec![13, 12]
        );
    }
}
