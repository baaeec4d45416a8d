//! The content-line format that iCalendar (RFC 5545 §3.1) and vCard (RFC
//! 6350 §3.2, after RFC 2425) share: logical lines folded onto physical
//! ones, parameters and multiple values separated by `;` and `,`. What
//! both parsers need before parsing: unfolding, and counting what a text
//! will cost once parsed.

/// The number of content items of an iCalendar or vCard text: its content
/// lines (RFC 5545 §3.1, RFC 6350 §3.2: a line and its folded
/// continuations count once), plus every `;` and `,` not escaped by a
/// backslash — the separators of parameters and of multiple values. Each
/// becomes a parsed item with its own allocations: this is what parsing
/// costs in memory, counted before parsing.
pub fn count_content_items(bytes: &[u8]) -> usize {
    let mut items = usize::from(!bytes.is_empty());
    let mut escaped = false;
    for (i, b) in bytes.iter().enumerate() {
        match b {
            b'\n' if bytes.get(i + 1).is_some_and(|b| !matches!(b, b' ' | b'\t')) => items += 1,
            b';' | b',' if !escaped => items += 1,
            _ => {}
        }
        escaped = *b == b'\\' && !escaped;
    }
    items
}

/// The bytes with line folds (CRLF or LF followed by a space or tab)
/// removed: RFC 5545 §3.1 and RFC 6350 §3.2 fold lines the same way, so
/// vCard validation uses it too.
pub fn unfold_bytes(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i..] {
            [b'\r', b'\n', b' ' | b'\t', ..] => i += 3,
            [b'\n', b' ' | b'\t', ..] => i += 2,
            _ => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_items_count_lines_parameters_and_values() {
        assert_eq!(count_content_items(b""), 0);
        assert_eq!(count_content_items(b"A:1\r\nB:2\r\n"), 2);
        assert_eq!(count_content_items(b"DESCRIPTION:a\r\n  long\r\n line"), 1, "folds continue a line");
        assert_eq!(count_content_items(b"EXDATE;TZID=X:1,2,3"), 4);
        assert_eq!(count_content_items(b"SUMMARY:a\\, b\\; c"), 1, "escaped separators are text");
        assert_eq!(count_content_items(b"SUMMARY:a\\\\,b"), 2, "an escaped backslash escapes nothing");
    }

    #[test]
    fn unfolding_removes_folds_only() {
        assert_eq!(unfold_bytes(b"A:b\r\n c\r\nD:e\n\tf"), b"A:bc\r\nD:ef".to_vec());
    }
}
