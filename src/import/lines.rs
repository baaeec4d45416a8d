//! Content lines of an export file (RFC 5545 §3.1, RFC 6350 §3.2), read
//! without parsing values: enough to cut a file into resources and to say
//! on which line each one starts. The resources themselves are validated
//! by the PUT code afterwards.

use std::borrow::Cow;

/// One content line: the number of its first physical line (1-based) and
/// its bytes in the file, folds included, line ending excluded.
#[derive(Debug, Clone, Copy)]
pub struct Line<'a> {
    pub number: usize,
    pub bytes: &'a [u8],
}

impl<'a> Line<'a> {
    /// The line unfolded (a line break followed by a space or tab is no
    /// break).
    pub fn unfolded(&self) -> Cow<'a, [u8]> {
        if !self.bytes.contains(&b'\n') {
            return Cow::Borrowed(self.bytes.strip_suffix(b"\r").unwrap_or(self.bytes));
        }
        let mut out = Vec::with_capacity(self.bytes.len());
        let mut physical = self
            .bytes
            .split(|b| *b == b'\n')
            .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
        if let Some(first) = physical.next() {
            out.extend_from_slice(first);
        }
        for more in physical {
            out.extend_from_slice(more.get(1..).unwrap_or_default());
        }
        Cow::Owned(out)
    }

    /// The physical lines, without their line endings.
    pub fn physical(&self) -> impl Iterator<Item = &'a [u8]> {
        self.bytes
            .split(|b| *b == b'\n')
            .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
    }

    /// Append the line to `out` with CRLF line endings.
    pub fn write_to(&self, out: &mut Vec<u8>) {
        for l in self.physical() {
            out.extend_from_slice(l);
            out.extend_from_slice(b"\r\n");
        }
    }
}

/// A content line's parameters (names upper-cased, values unquoted) and
/// value.
pub struct Parts {
    pub params: Vec<(String, String)>,
    pub value: String,
}

/// Cut an unfolded line into parameters and value (the first colon
/// outside a quoted parameter value ends the parameters).
pub fn parts(unfolded: &[u8]) -> Parts {
    let text = String::from_utf8_lossy(unfolded);
    let mut in_quotes = false;
    let mut colon = None;
    for (i, c) in text.char_indices() {
        match c {
            '"' => in_quotes = !in_quotes,
            ':' if !in_quotes => {
                colon = Some(i);
                break;
            }
            _ => {}
        }
    }
    let (head, value) = match colon {
        Some(i) => (&text[..i], &text[i + 1..]),
        None => (&text[..], ""),
    };
    let params = split_outside_quotes(head, ';')
        .into_iter()
        .skip(1)
        .filter_map(|p| {
            p.split_once('=').map(|(k, v)| {
                (
                    k.trim().to_ascii_uppercase(),
                    v.trim().trim_matches('"').to_string(),
                )
            })
        })
        .collect();
    Parts {
        params,
        value: value.to_string(),
    }
}

fn split_outside_quotes(s: &str, sep: char) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut start, mut in_quotes) = (0, false);
    for (i, c) in s.char_indices() {
        if c == '"' {
            in_quotes = !in_quotes;
        } else if c == sep && !in_quotes {
            out.push(&s[start..i]);
            start = i + 1;
        }
    }
    out.push(&s[start..]);
    out
}

/// The name of an unfolded line (before its first `;` or `:`), without a
/// vCard group, compared without allocating.
pub fn name_is(unfolded: &[u8], name: &str) -> bool {
    let end = unfolded
        .iter()
        .position(|b| *b == b';' || *b == b':')
        .unwrap_or(unfolded.len());
    let head = &unfolded[..end];
    let head = match head.iter().rposition(|b| *b == b'.') {
        Some(dot) => &head[dot + 1..],
        None => head,
    };
    head.trim_ascii().eq_ignore_ascii_case(name.as_bytes())
}

/// The content lines of `text`, in order; blank lines are skipped. A
/// physical line starting with a space or a tab continues the one before.
pub fn content_lines(text: &[u8]) -> Vec<Line<'_>> {
    let mut out: Vec<Line<'_>> = Vec::new();
    // (start offset, first line number) of the line being read.
    let mut current: Option<(usize, usize, usize)> = None; // start, end, number
    let mut offset = 0;
    for (i, physical) in text.split(|b| *b == b'\n').enumerate() {
        let start = offset;
        let end = start + physical.len();
        offset = end + 1;
        let line = physical.strip_suffix(b"\r").unwrap_or(physical);
        let continues = matches!(line.first(), Some(b' ') | Some(b'\t'));
        match (&mut current, continues) {
            (Some((_, e, _)), true) => *e = end,
            _ => {
                if let Some((s, e, n)) = current.take() {
                    out.push(Line {
                        number: n,
                        bytes: trim_end(&text[s..e]),
                    });
                }
                if !line.trim_ascii().is_empty() {
                    current = Some((start, end, i + 1));
                }
            }
        }
    }
    if let Some((s, e, n)) = current {
        out.push(Line {
            number: n,
            bytes: trim_end(&text[s..e]),
        });
    }
    out
}

fn trim_end(b: &[u8]) -> &[u8] {
    b.strip_suffix(b"\r").unwrap_or(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_and_numbers() {
        let text = b"BEGIN:VCALENDAR\r\nSUMMARY:a\r\n  b\r\n\r\nDTSTART;TZID=\"Europe/Paris\":2024\nEND:VCALENDAR";
        let lines = content_lines(text);
        assert_eq!(
            lines.iter().map(|l| l.number).collect::<Vec<_>>(),
            vec![1, 2, 5, 6]
        );
        assert_eq!(&*lines[1].unfolded(), b"SUMMARY:a b");
        let mut out = Vec::new();
        lines[1].write_to(&mut out);
        assert_eq!(out, b"SUMMARY:a\r\n  b\r\n");
        let p = parts(&lines[2].unfolded());
        assert_eq!(p.value, "2024");
        assert_eq!(
            p.params,
            vec![("TZID".to_string(), "Europe/Paris".to_string())]
        );
        assert!(name_is(b"item1.UID:x", "uid") && !name_is(b"UIDX:x", "UID"));
    }
}
