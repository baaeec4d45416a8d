//! Writing XML responses. Known DAV namespaces get fixed prefixes declared on
//! the root element; any other namespace is declared where it is used.

use super::{NS_APPLE_ICAL, NS_CALDAV, NS_CALENDARSERVER, NS_CARDDAV, NS_DAV};

/// Prefixes declared on the root of every response document.
pub const FIXED_PREFIXES: &[(&str, &str)] = &[
    (NS_DAV, "D"),
    (NS_CALDAV, "C"),
    (NS_CARDDAV, "CR"),
    (NS_CALENDARSERVER, "CS"),
    (NS_APPLE_ICAL, "A"),
];

pub fn escape_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 16);
    push_escaped(&mut out, s);
    out
}

/// Append `s` to `out` with `<`, `>`, `&` and CR escaped (CR as `&#13;`, so
/// that CRLF line endings of calendar data survive XML parsing). Runs of
/// ordinary bytes are copied whole; they are found eight bytes at a time
/// (calendar data in a multiget is most of a response's bytes).
pub fn push_escaped(out: &mut String, s: &str) {
    let bytes = s.as_bytes();
    out.reserve(bytes.len());
    let mut last = 0;
    let mut i = 0;
    while i < bytes.len() {
        if i + 8 <= bytes.len() {
            let word = u64::from_le_bytes(bytes[i..i + 8].try_into().expect("eight bytes"));
            if !has_special_byte(word) {
                i += 8;
                continue;
            }
        }
        let replacement = match bytes[i] {
            b'<' => "&lt;",
            b'>' => "&gt;",
            b'&' => "&amp;",
            b'\r' => "&#13;",
            _ => {
                i += 1;
                continue;
            }
        };
        // The escaped bytes are ASCII: `last` and `i` are on char boundaries.
        out.push_str(&s[last..i]);
        out.push_str(replacement);
        i += 1;
        last = i;
    }
    out.push_str(&s[last..]);
}

/// Whether one of the eight bytes of `word` is `<`, `>`, `&` or CR (the
/// classic "has a zero byte" test applied to `word` XOR each of them; it
/// has no false negatives, and a false positive only costs the byte-wise
/// check of that word).
fn has_special_byte(word: u64) -> bool {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let zero_in = |x: u64| x.wrapping_sub(LO) & !x & HI;
    zero_in(word ^ (LO * b'<' as u64))
        | zero_in(word ^ (LO * b'>' as u64))
        | zero_in(word ^ (LO * b'&' as u64))
        | zero_in(word ^ (LO * b'\r' as u64))
        != 0
}

pub(crate) fn escape_attr(s: &str) -> String {
    escape_text(s).replace('"', "&quot;")
}

/// An element the server generates (part of a property value, the detail
/// of a precondition): written by [`XmlWriter::element`] with whatever
/// prefix and declaration its namespace needs, never as preformatted text
/// that would depend on the prefixes a document happens to declare.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutElement {
    pub ns: &'static str,
    pub name: &'static str,
    /// Unqualified attributes.
    pub attrs: Vec<(&'static str, String)>,
    pub content: OutContent,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutContent {
    Empty,
    Text(String),
    Elements(Vec<OutElement>),
}

impl OutElement {
    /// `<name/>`
    pub fn empty(ns: &'static str, name: &'static str) -> OutElement {
        OutElement { ns, name, attrs: Vec::new(), content: OutContent::Empty }
    }

    /// `<name>text</name>`
    pub fn text(ns: &'static str, name: &'static str, text: impl Into<String>) -> OutElement {
        OutElement { ns, name, attrs: Vec::new(), content: OutContent::Text(text.into()) }
    }

    /// `<name>children</name>`
    pub fn parent(ns: &'static str, name: &'static str, children: Vec<OutElement>) -> OutElement {
        OutElement { ns, name, attrs: Vec::new(), content: OutContent::Elements(children) }
    }

    /// This element with one more attribute.
    pub fn attr(mut self, name: &'static str, value: impl Into<String>) -> OutElement {
        self.attrs.push((name, value.into()));
        self
    }
}

/// A streaming XML writer producing a UTF-8 document.
pub struct XmlWriter {
    out: String,
    /// The open elements: where each one's qname lies in `out`.
    stack: Vec<(usize, usize)>,
}

impl Default for XmlWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl XmlWriter {
    pub fn new() -> Self {
        Self::with_capacity(0)
    }

    /// A writer whose output is expected to take about `bytes` (at least
    /// 4 KiB are reserved).
    pub fn with_capacity(bytes: usize) -> Self {
        let mut out = String::with_capacity(bytes.max(4096));
        out.push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
        XmlWriter { out, stack: Vec::new() }
    }

    /// Write `<qname` (with the namespace declaration it needs) and return
    /// where the qname lies in the output, for the end tag.
    fn open_tag(&mut self, ns: &str, name: &str) -> (usize, usize) {
        self.out.push('<');
        let at = self.out.len();
        let decl = if ns.is_empty() {
            None
        } else if ns == super::NS_XML {
            // Bound by definition, never declared (Namespaces in XML §3).
            self.out.push_str("xml:");
            None
        } else {
            match FIXED_PREFIXES.iter().find(|(n, _)| *n == ns) {
                Some((_, p)) => {
                    self.out.push_str(p);
                    self.out.push(':');
                    None
                }
                None => {
                    self.out.push_str("X:");
                    Some(ns)
                }
            }
        };
        self.out.push_str(name);
        let qname = (at, self.out.len());
        if let Some(ns) = decl {
            self.out.push_str(" xmlns:X=\"");
            self.out.push_str(&escape_attr(ns));
            self.out.push('"');
        }
        qname
    }

    /// Open the document's root element, declaring the fixed prefixes.
    pub fn root(&mut self, ns: &str, name: &str) {
        let q = self.open_tag(ns, name);
        for (n, p) in FIXED_PREFIXES {
            self.out.push_str(&format!(" xmlns:{p}=\"{n}\""));
        }
        self.out.push('>');
        self.stack.push(q);
    }

    pub fn start(&mut self, ns: &str, name: &str) {
        let q = self.open_tag(ns, name);
        self.out.push('>');
        self.stack.push(q);
    }

    pub fn end(&mut self) {
        let (from, to) = self.stack.pop().expect("XmlWriter::end without start");
        self.out.push_str("</");
        // Copy the qname written by the start tag; short names need no
        // allocation.
        let mut buf = [0u8; 96];
        let len = to - from;
        if len <= buf.len() {
            buf[..len].copy_from_slice(&self.out.as_bytes()[from..to]);
            self.out.push_str(std::str::from_utf8(&buf[..len]).unwrap_or_default());
        } else {
            let q = self.out[from..to].to_string();
            self.out.push_str(&q);
        }
        self.out.push('>');
    }

    pub fn empty(&mut self, ns: &str, name: &str) {
        self.open_tag(ns, name);
        self.out.push_str("/>");
    }

    /// Write a generated element with its attributes and content.
    pub fn element(&mut self, e: &OutElement) {
        let q = self.open_tag(e.ns, e.name);
        for (name, value) in &e.attrs {
            self.out.push(' ');
            self.out.push_str(name);
            self.out.push_str("=\"");
            self.out.push_str(&escape_attr(value));
            self.out.push('"');
        }
        match &e.content {
            OutContent::Empty => {
                self.out.push_str("/>");
                return;
            }
            OutContent::Elements(children) if children.is_empty() => {
                self.out.push_str("/>");
                return;
            }
            OutContent::Text(t) => {
                self.out.push('>');
                self.stack.push(q);
                self.text(t);
            }
            OutContent::Elements(children) => {
                self.out.push('>');
                self.stack.push(q);
                for child in children {
                    self.element(child);
                }
            }
        }
        self.end();
    }

    pub fn text(&mut self, text: &str) {
        push_escaped(&mut self.out, text);
    }

    /// `<ns:name>text</ns:name>`
    pub fn text_element(&mut self, ns: &str, name: &str, text: &str) {
        self.start(ns, name);
        self.text(text);
        self.end();
    }

    /// Insert an already serialized, self-contained fragment (a dead property).
    pub fn raw(&mut self, fragment: &str) {
        self.out.push_str(fragment);
    }

    /// Drop what was written after `len`; every element opened since must
    /// have been closed.
    pub fn truncate(&mut self, len: usize) {
        debug_assert!(self.stack.last().is_none_or(|(_, to)| *to <= len));
        self.out.truncate(len);
    }

    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.out.len()
    }

    pub fn is_empty(&self) -> bool {
        self.out.is_empty()
    }

    pub fn finish(mut self) -> String {
        while !self.stack.is_empty() {
            self.end();
        }
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_elements_declare_their_namespaces() {
        let mut w = XmlWriter::new();
        w.root(NS_DAV, "prop");
        w.element(&OutElement::parent(
            NS_CALDAV,
            "supported-calendar-component-set",
            vec![OutElement::empty(NS_CALDAV, "comp").attr("name", "VEVENT\"&")],
        ));
        w.element(&OutElement::text("urn:x", "v", "a<b").attr("k", "1"));
        let s = w.finish();
        assert!(s.contains(r#"<C:supported-calendar-component-set><C:comp name="VEVENT&quot;&amp;"/></C:supported-calendar-component-set>"#), "{s}");
        assert!(s.contains(r#"<X:v xmlns:X="urn:x" k="1">a&lt;b</X:v>"#), "{s}");
        assert!(crate::xml::parse(s.as_bytes(), crate::xml::XmlLimits::default()).is_ok());
    }

    #[test]
    fn escaping_matches_the_bytewise_definition() {
        fn bytewise(s: &str) -> String {
            s.chars()
                .map(|c| match c {
                    '<' => "&lt;".to_string(),
                    '>' => "&gt;".to_string(),
                    '&' => "&amp;".to_string(),
                    '\r' => "&#13;".to_string(),
                    c => c.to_string(),
                })
                .collect()
        }
        let samples = [
            "",
            "plain",
            "BEGIN:VCALENDAR\r\nSUMMARY:a < b & c > d\r\nEND:VCALENDAR\r\n",
            "é<à>ü&\r€𝄞 and twelve more bytes <<<>>>&&&\r\r",
            "12345678<2345678>2345678&2345678\r",
            "\u{80}\u{fe}\u{ff}ÿ<",
        ];
        for s in samples {
            for start in 0..s.len().min(9) {
                if s.is_char_boundary(start) {
                    let mut out = String::new();
                    push_escaped(&mut out, &s[start..]);
                    assert_eq!(out, bytewise(&s[start..]), "{:?}", &s[start..]);
                }
            }
        }
    }

    #[test]
    fn escapes_and_keeps_namespaces() {
        let mut w = XmlWriter::new();
        w.root(NS_DAV, "multistatus");
        w.text_element(NS_DAV, "href", "/a&b<c>");
        w.empty("urn:x", "foo");
        w.empty("", "bar");
        let s = w.finish();
        assert!(s.contains("<D:href>/a&amp;b&lt;c&gt;</D:href>"));
        assert!(s.contains("<X:foo xmlns:X=\"urn:x\"/>"));
        assert!(s.contains("<bar/>"));
        assert!(s.ends_with("</D:multistatus>"));
    }
}
