//! Bounded, namespace-resolving XML parsing of request bodies.

use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::NsReader;

use super::{Attribute, Element, Node, NS_XML};

/// Limits applied to every request body parsed as XML.
#[derive(Debug, Clone, Copy)]
pub struct XmlLimits {
    /// Maximum element nesting depth.
    pub max_depth: usize,
    /// Maximum number of elements in the document.
    pub max_elements: usize,
    /// Maximum attributes on one element.
    pub max_attributes: usize,
    /// Maximum length of one namespace URI.
    pub max_namespace_len: usize,
    /// Maximum total bytes of namespace URIs copied into the tree (each
    /// element and attribute holds its own), so that long URIs on many
    /// elements cannot multiply memory.
    pub max_namespace_bytes: usize,
}

impl Default for XmlLimits {
    fn default() -> Self {
        XmlLimits {
            max_depth: 64,
            max_elements: 100_000,
            max_attributes: 64,
            max_namespace_len: 1024,
            max_namespace_bytes: 8 * 1024 * 1024,
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum XmlError {
    #[error("malformed XML: {0}")]
    Malformed(String),
    #[error("DOCTYPE declarations are not accepted")]
    Doctype,
    #[error("XML nesting deeper than {0} levels")]
    TooDeep(usize),
    #[error("XML document has more than {0} elements")]
    TooManyElements(usize),
    #[error("undeclared namespace prefix {0:?}")]
    UnknownPrefix(String),
    #[error("XML document exceeds the size limits for attributes or namespaces")]
    TooLarge,
    #[error("empty XML document")]
    Empty,
}

fn malformed(e: impl std::fmt::Display) -> XmlError {
    XmlError::Malformed(e.to_string())
}

/// Parse a whole document into its root element. DOCTYPEs are refused (no
/// entity expansion can happen), depth and element count are bounded, and an
/// undeclared prefix or a prefix bound to the empty namespace is an error.
pub fn parse(body: &[u8], limits: XmlLimits) -> Result<Element, XmlError> {
    let mut reader = NsReader::from_reader(body);
    reader.config_mut().expand_empty_elements = true;
    reader.config_mut().check_end_names = true;
    let mut buf = Vec::new();
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let mut count = 0usize;
    let mut namespace_bytes = 0usize;
    let mut charge = |ns: &str| -> Result<(), XmlError> {
        namespace_bytes += ns.len();
        if ns.len() > limits.max_namespace_len || namespace_bytes > limits.max_namespace_bytes {
            return Err(XmlError::TooLarge);
        }
        Ok(())
    };
    loop {
        let (resolved, event) = reader.read_resolved_event_into(&mut buf).map_err(malformed)?;
        match event {
            Event::Start(start) => {
                if root.is_some() {
                    return Err(malformed("content after the root element"));
                }
                count += 1;
                if count > limits.max_elements {
                    return Err(XmlError::TooManyElements(limits.max_elements));
                }
                if stack.len() >= limits.max_depth {
                    return Err(XmlError::TooDeep(limits.max_depth));
                }
                let ns = namespace_of(resolved, start.name().prefix().map(|p| p.as_ref().to_vec()))?;
                // Namespaces in XML 1.0 §3: "Element names MUST NOT have the
                // prefix xmlns" (quick-xml resolves it; it could not be
                // written back, since that namespace cannot be declared).
                if ns == NS_XMLNS {
                    return Err(malformed("an element name with the xmlns prefix"));
                }
                charge(&ns)?;
                let name = ncname(start.local_name().as_ref())?;
                // Count first without quick-xml's duplicate check, which is
                // quadratic in the number of attributes.
                if start.attributes().with_checks(false).count() > limits.max_attributes {
                    return Err(XmlError::TooLarge);
                }
                let mut attrs = Vec::new();
                for attr in start.attributes() {
                    let attr = attr.map_err(malformed)?;
                    let key = attr.key;
                    let value = attr.unescape_value().map_err(malformed)?.into_owned();
                    check_chars(&value)?;
                    if let Some(binding) = key.as_namespace_binding() {
                        check_binding(&binding, &value)?;
                    }
                    if key.as_ref() == b"xmlns" {
                        continue;
                    }
                    if let Some(binding) = key.as_namespace_binding() {
                        // Namespaces in XML 1.0 §3: a prefix cannot be undeclared.
                        if let quick_xml::name::PrefixDeclaration::Named(prefix) = binding {
                            if value.is_empty() {
                                return Err(malformed(format!(
                                    "prefix {:?} bound to the empty namespace",
                                    String::from_utf8_lossy(prefix)
                                )));
                            }
                        }
                        continue;
                    }
                    let attr_ns = match key.prefix() {
                        None => String::new(),
                        Some(p) if p.as_ref() == b"xml" => NS_XML.to_string(),
                        Some(_) => {
                            let (res, _) = reader.resolve_attribute(key);
                            namespace_of(res, key.prefix().map(|p| p.as_ref().to_vec()))?
                        }
                    };
                    charge(&attr_ns)?;
                    attrs.push(Attribute { ns: attr_ns, name: ncname(key.local_name().as_ref())?, value });
                }
                // Namespaces in XML 1.0 §6.3: no two attributes of an element
                // have the same expanded name (`p:x` and `q:x` with `p` and
                // `q` bound to one namespace; quick-xml only compares the
                // qualified names). Written back with one prefix per
                // namespace they would be one duplicated attribute.
                for (i, a) in attrs.iter().enumerate() {
                    if attrs[..i].iter().any(|b| b.ns == a.ns && b.name == a.name) {
                        return Err(malformed(format!("attribute {{{}}}{} is repeated", a.ns, a.name)));
                    }
                }
                stack.push(Element { ns, name, attrs, children: Vec::new() });
            }
            Event::End(_) => {
                let done = stack.pop().ok_or_else(|| malformed("unbalanced end tag"))?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(Node::Element(done)),
                    None => root = Some(done),
                }
            }
            Event::Text(text) => {
                let text = text.unescape().map_err(malformed)?;
                push_text(&mut stack, &root, &text)?;
            }
            Event::CData(data) => {
                let text = utf8(&data.into_inner())?;
                push_text(&mut stack, &root, &text)?;
            }
            Event::DocType(_) => return Err(XmlError::Doctype),
            Event::Empty(_) => unreachable!("expand_empty_elements is on"),
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Eof => break,
        }
        buf.clear();
    }
    if !stack.is_empty() {
        return Err(malformed("unexpected end of document"));
    }
    root.ok_or(XmlError::Empty)
}

/// XML 1.0 §2.2: control characters other than tab, CR and LF are not
/// characters of a document (and could not be written back).
fn check_chars(text: &str) -> Result<(), XmlError> {
    match text.chars().find(|c| (*c < ' ' && !matches!(c, '\t' | '\n' | '\r')) || matches!(c, '\u{FFFE}' | '\u{FFFF}')) {
        Some(c) => Err(malformed(format!("character U+{:04X} is not allowed in XML", c as u32))),
        None => Ok(()),
    }
}

fn push_text(stack: &mut [Element], root: &Option<Element>, text: &str) -> Result<(), XmlError> {
    check_chars(text)?;
    match stack.last_mut() {
        Some(parent) => {
            if let Some(Node::Text(prev)) = parent.children.last_mut() {
                prev.push_str(text);
            } else {
                parent.children.push(Node::Text(text.to_string()));
            }
            Ok(())
        }
        None if text.trim().is_empty() => Ok(()),
        None if root.is_some() => Err(malformed("text after the root element")),
        None => Err(malformed("text outside the root element")),
    }
}

/// Namespaces in XML 1.0 §3: the `xml` prefix is bound to [`NS_XML`] and to
/// nothing else, no other prefix (nor the default namespace) may be bound
/// to it, and neither the `xmlns` prefix nor its namespace may be declared.
/// A document breaking this could not be written back well-formed.
fn check_binding(binding: &quick_xml::name::PrefixDeclaration<'_>, value: &str) -> Result<(), XmlError> {
    use quick_xml::name::PrefixDeclaration;
    let prefix: &[u8] = match binding {
        PrefixDeclaration::Default => b"",
        PrefixDeclaration::Named(p) => p,
    };
    let ok = match prefix {
        b"xml" => value == NS_XML,
        b"xmlns" => false,
        _ => value != NS_XML && value != NS_XMLNS,
    };
    if ok {
        Ok(())
    } else {
        Err(malformed(format!("the reserved namespace binding {:?} = {value:?}", String::from_utf8_lossy(prefix))))
    }
}

/// The `xmlns` prefix's namespace (Namespaces in XML 1.0 §3).
const NS_XMLNS: &str = "http://www.w3.org/2000/xmlns/";

fn namespace_of(resolved: ResolveResult<'_>, prefix: Option<Vec<u8>>) -> Result<String, XmlError> {
    match resolved {
        // The raw attribute value: references (`&amp;`) are replaced here,
        // so that the name compares and is written back as declared.
        ResolveResult::Bound(ns) => {
            let raw = utf8(ns.as_ref())?;
            let ns = quick_xml::escape::unescape(&raw).map_err(malformed)?.into_owned();
            check_chars(&ns)?;
            Ok(ns)
        }
        ResolveResult::Unbound => Ok(String::new()),
        ResolveResult::Unknown(p) => {
            let p = prefix.unwrap_or(p);
            Err(XmlError::UnknownPrefix(String::from_utf8_lossy(&p).into_owned()))
        }
    }
}

/// Whether `name` is an NCName (see [`ncname`]).
pub fn is_ncname(name: &str) -> bool {
    ncname(name.as_bytes()).is_ok()
}

/// A local name: an NCName (Namespaces in XML 1.0 §3, XML 1.0 §2.3
/// `Name` without colons). quick-xml takes anything up to a space, `/` or
/// `>` as a name; an empty or odd one would be written back into dead
/// properties that no client could parse.
fn ncname(bytes: &[u8]) -> Result<String, XmlError> {
    let name = utf8(bytes)?;
    let start = |c: char| {
        matches!(c, 'A'..='Z' | '_' | 'a'..='z' | '\u{C0}'..='\u{D6}' | '\u{D8}'..='\u{F6}' | '\u{F8}'..='\u{2FF}'
            | '\u{370}'..='\u{37D}' | '\u{37F}'..='\u{1FFF}' | '\u{200C}'..='\u{200D}' | '\u{2070}'..='\u{218F}'
            | '\u{2C00}'..='\u{2FEF}' | '\u{3001}'..='\u{D7FF}' | '\u{F900}'..='\u{FDCF}' | '\u{FDF0}'..='\u{FFFD}'
            | '\u{10000}'..='\u{EFFFF}')
    };
    let rest = |c: char| start(c) || matches!(c, '-' | '.' | '0'..='9' | '\u{B7}' | '\u{300}'..='\u{36F}' | '\u{203F}'..='\u{2040}');
    let mut chars = name.chars();
    match chars.next() {
        Some(c) if start(c) && chars.all(rest) => Ok(name),
        _ => Err(malformed(format!("{name:?} is not an XML name"))),
    }
}

fn utf8(bytes: &[u8]) -> Result<String, XmlError> {
    String::from_utf8(bytes.to_vec()).map_err(|_| malformed("invalid UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<Element, XmlError> {
        parse(s.as_bytes(), XmlLimits::default())
    }

    #[test]
    fn resolves_namespaces_not_prefixes() {
        let e = p(r#"<a:propfind xmlns:a="DAV:"><a:prop><x:foo xmlns:x="urn:x"/></a:prop></a:propfind>"#).unwrap();
        assert!(e.is("DAV:", "propfind"));
        let prop = e.child("DAV:", "prop").unwrap();
        assert!(prop.elements().next().unwrap().is("urn:x", "foo"));
    }

    #[test]
    fn default_namespace_and_empty_namespace() {
        let e = p(r#"<propfind xmlns="DAV:"><prop><foo xmlns=""/></prop></propfind>"#).unwrap();
        let foo = e.child("DAV:", "prop").unwrap().elements().next().unwrap();
        assert!(foo.is("", "foo"));
    }

    #[test]
    fn refuses_doctype_and_entities() {
        let bomb = r#"<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]><D:propfind xmlns:D="DAV:">&lol2;</D:propfind>"#;
        assert_eq!(p(bomb), Err(XmlError::Doctype));
        assert!(matches!(p(r#"<a xmlns="DAV:">&undefined;</a>"#), Err(XmlError::Malformed(_))));
    }

    #[test]
    fn bounds_depth() {
        let deep = "<a>".repeat(100) + &"</a>".repeat(100);
        assert_eq!(p(&deep), Err(XmlError::TooDeep(64)));
    }

    #[test]
    fn bounds_attributes_and_namespaces() {
        let many = format!("<a {}/>", (0..100).map(|i| format!("a{i}='x'")).collect::<Vec<_>>().join(" "));
        assert_eq!(p(&many), Err(XmlError::TooLarge));
        let long = format!("<a xmlns='urn:{}'/>", "x".repeat(2000));
        assert_eq!(p(&long), Err(XmlError::TooLarge));
        let ns = format!("urn:{}", "y".repeat(1000));
        let amplified = format!("<a xmlns='{ns}'>{}</a>", "<b/>".repeat(10_000));
        assert_eq!(p(&amplified), Err(XmlError::TooLarge));
    }

    #[test]
    fn rejects_malformed() {
        assert!(p("<a><b></a>").is_err());
        assert!(p("<a>").is_err());
        assert!(p("").is_err());
        assert!(p("<x:a/>").is_err());
        assert!(p(r#"<a xmlns:b=""><b:c/></a>"#).is_err());
        assert!(p("<a/><b/>").is_err());
        assert!(p("<a>\u{1}</a>").is_err());
        assert!(p("<a>&#0;</a>").is_err());
        assert!(p("<a b='\u{0}'/>").is_err());
    }

    #[test]
    fn refuses_the_xmlns_prefix_on_elements() {
        // Found by fuzzing (fuzz/fuzz_targets/xml_reader.rs): accepted, its
        // fragment declared a prefix for the xmlns namespace and did not
        // parse back.
        assert!(matches!(p("<xmlns:Cple+com/saadntr3z+sddszr/3/>"), Err(XmlError::Malformed(_))));
        assert!(matches!(p(r#"<a xmlns="DAV:"><xmlns:b/></a>"#), Err(XmlError::Malformed(_))));
    }

    #[test]
    fn refuses_names_that_are_not_xml_names() {
        // Found by fuzzing (fuzz/fuzz_targets/xml_reader.rs, the exact
        // input): quick-xml read `< ...>` as an element with an empty
        // name, written back as `</>`.
        assert!(matches!(p(r#"< xmlns:X="http:/example.com/z/"/>"#), Err(XmlError::Malformed(_))));
        for bad in ["<a: xmlns:a='urn:a'/>", "<a:b:c xmlns:a='urn:a'/>", "<1a/>", "<a\"b/>", "<a b\"c='1'/>", "<a .b='1'/>", "<-a/>"] {
            assert!(matches!(p(bad), Err(XmlError::Malformed(_))), "{bad}");
        }
        let ok = p("<r xmlns:a='urn:a'><a:b-c.d_e\u{b7}0/><\u{e9}l\u{e8}ve a:x-y='1' _z='2'/></r>").unwrap();
        assert_eq!(ok.elements().next().unwrap().name, "b-c.d_e\u{b7}0");
        assert_eq!(ok.elements().nth(1).unwrap().name, "\u{e9}l\u{e8}ve");
    }

    #[test]
    fn refuses_attributes_with_the_same_expanded_name() {
        assert!(matches!(p(r#"<a xmlns:p="urn:u" xmlns:q="urn:u" p:x="1" q:x="2"/>"#), Err(XmlError::Malformed(_))));
        let ok = p(r#"<a xmlns:p="urn:u" xmlns:q="urn:v" p:x="1" q:x="2" x="3"/>"#).unwrap();
        assert_eq!(ok.attrs.len(), 3);
        let frag = ok.to_fragment();
        assert_eq!(crate::xml::parse_fragment(&frag).unwrap(), ok);
    }

    #[test]
    fn fragment_round_trips_at_the_limits() {
        // The deepest document accepted: the fragment's wrapper adds a level.
        let deep = format!("<a xmlns='urn:x'>{}{}</a>", "<b>".repeat(63), "</b>".repeat(63));
        let e = p(&deep).unwrap();
        assert_eq!(crate::xml::parse_fragment(&e.to_fragment()).unwrap(), e);
        // 64 attributes, each in a namespace declared by an ancestor: the
        // fragment declares them on the element itself.
        let decls: String = (0..64).map(|i| format!(" xmlns:p{i}='urn:{i}'")).collect();
        let attrs: String = (0..64).map(|i| format!(" p{i}:a='{i}'")).collect();
        let doc = format!("<r{decls}><e{attrs}/></r>");
        let e = p(&doc).unwrap();
        let prop = e.elements().next().unwrap();
        assert_eq!(crate::xml::parse_fragment(&prop.to_fragment()).unwrap(), *prop);
    }

    #[test]
    fn fragment_declares_namespaces_where_they_are_used() {
        // Not every namespace on the root: the root of a dead property in
        // many namespaces would be over the attribute limit, and collecting
        // them there was quadratic (15 s for 100 000 of them).
        let children: String = (0..200).map(|i| format!("<c xmlns='urn:c{i}'/>")).collect();
        let e = p(&format!("<a xmlns='urn:a'>{children}</a>")).unwrap();
        let frag = e.to_fragment();
        assert!(frag.starts_with(r#"<x0:a xmlns:x0="urn:a"><x1:c xmlns:x1="urn:c0"/>"#), "{frag}");
        assert_eq!(crate::xml::parse_fragment(&frag).unwrap(), e);
    }

    #[test]
    fn fragment_is_self_contained() {
        let e = p(r#"<D:prop xmlns:D="DAV:"><Z:author xmlns:Z="http://ns.example.com/standards/z39.50/"><Z:Author>Jim &amp; Roy</Z:Author></Z:author></D:prop>"#).unwrap();
        let author = e.elements().next().unwrap();
        let frag = author.to_fragment();
        let again = p(&frag).unwrap();
        assert_eq!(&again, author);
    }
}
