//! The `If` request header (RFC 4918 §10.4): parsing into lists of
//! conditions, and evaluation against resource states.

/// One condition of a list: a state token or an entity tag, possibly negated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    pub not: bool,
    pub test: Test,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Test {
    StateToken(String),
    /// The entity tag as written, quotes included (`"abc"` or `W/"abc"`).
    ETag(String),
}

/// A parenthesised list; `resource` is the tag of a Tagged-list (an absolute
/// URI or path), None for a No-tag-list (applies to the Request-URI).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct List {
    pub resource: Option<String>,
    pub conditions: Vec<Condition>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("malformed If header, or more than {MAX_CONDITIONS} conditions or {MAX_RESOURCES} resources")]
pub struct IfSyntaxError;

/// Bounds on one header: each condition and each tagged resource costs
/// store lookups, so a client cannot make one request cost thousands.
pub const MAX_CONDITIONS: usize = 64;
pub const MAX_RESOURCES: usize = 8;

/// The state of a resource that conditions are evaluated against.
#[derive(Debug, Clone, Default)]
pub struct ResourceState {
    /// Current strong ETag, quoted; None for collections and unmapped URLs.
    pub etag: Option<String>,
    /// Tokens of the locks that currently cover the resource.
    pub lock_tokens: Vec<String>,
}

pub fn parse(header: &str) -> Result<Vec<List>, IfSyntaxError> {
    let mut lists = Vec::new();
    let mut current_tag: Option<String> = None;
    let mut rest = header.trim_start();
    let mut saw_tagged = false;
    let mut saw_untagged = false;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('<') {
            let end = r.find('>').ok_or(IfSyntaxError)?;
            current_tag = Some(r[..end].to_string());
            saw_tagged = true;
            rest = r[end + 1..].trim_start();
            if !rest.starts_with('(') {
                return Err(IfSyntaxError);
            }
        } else if let Some(r) = rest.strip_prefix('(') {
            let end = r.find(')').ok_or(IfSyntaxError)?;
            let conditions = parse_conditions(&r[..end])?;
            if current_tag.is_none() {
                saw_untagged = true;
            }
            lists.push(List { resource: current_tag.clone(), conditions });
            rest = r[end + 1..].trim_start();
        } else {
            return Err(IfSyntaxError);
        }
    }
    // RFC 4918 §10.4: either only No-tag-lists or only Tagged-lists.
    if lists.is_empty() || (saw_tagged && saw_untagged) {
        return Err(IfSyntaxError);
    }
    let conditions: usize = lists.iter().map(|l| l.conditions.len()).sum();
    let mut resources: Vec<&Option<String>> = lists.iter().map(|l| &l.resource).collect();
    resources.dedup();
    if conditions > MAX_CONDITIONS || resources.len() > MAX_RESOURCES {
        return Err(IfSyntaxError);
    }
    Ok(lists)
}

fn parse_conditions(mut s: &str) -> Result<Vec<Condition>, IfSyntaxError> {
    let mut out = Vec::new();
    loop {
        s = s.trim_start();
        if s.is_empty() {
            break;
        }
        let mut not = false;
        // Bytes, not `&s[..3]`: the third byte may fall inside a character.
        if s.as_bytes().get(..3).is_some_and(|p| p.eq_ignore_ascii_case(b"not")) {
            not = true;
            s = s[3..].trim_start();
        }
        if let Some(r) = s.strip_prefix('<') {
            let end = r.find('>').ok_or(IfSyntaxError)?;
            out.push(Condition { not, test: Test::StateToken(r[..end].to_string()) });
            s = &r[end + 1..];
        } else if let Some(r) = s.strip_prefix('[') {
            let end = r.find(']').ok_or(IfSyntaxError)?;
            out.push(Condition { not, test: Test::ETag(r[..end].trim().to_string()) });
            s = &r[end + 1..];
        } else {
            return Err(IfSyntaxError);
        }
    }
    if out.is_empty() {
        return Err(IfSyntaxError);
    }
    Ok(out)
}

/// A list is true when all its conditions are; the header is true when any
/// list is (RFC 4918 §10.4.2). `state` gives the state of a list's resource.
pub fn evaluate<'a>(lists: &'a [List], state: impl Fn(Option<&'a str>) -> ResourceState) -> bool {
    lists.iter().any(|list| {
        let st = state(list.resource.as_deref());
        list.conditions.iter().all(|c| {
            let holds = match &c.test {
                Test::StateToken(t) => st.lock_tokens.iter().any(|l| l == t),
                // Strong comparison (RFC 4918 §10.4.4 with RFC 7232 §2.3.2).
                Test::ETag(e) => !e.starts_with("W/") && st.etag.as_deref() == Some(e.as_str()),
            };
            holds != c.not
        })
    })
}

/// The lock tokens a request submits: every non-negated state token.
pub fn submitted_tokens(lists: &[List]) -> Vec<String> {
    lists
        .iter()
        .flat_map(|l| l.conditions.iter())
        .filter(|c| !c.not)
        .filter_map(|c| match &c.test {
            Test::StateToken(t) => Some(t.clone()),
            Test::ETag(_) => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rfc_examples() {
        // RFC 4918 §10.4.6
        let l = parse(r#"(<urn:uuid:181d4fae-7d8c-11d0-a765-00a0c91e6bf2> ["I am an ETag"]) (["I am another ETag"])"#).unwrap();
        assert_eq!(l.len(), 2);
        assert_eq!(l[0].conditions.len(), 2);
        // §10.4.7
        let l = parse(r#"(Not <urn:uuid:181d4fae-7d8c-11d0-a765-00a0c91e6bf2> <urn:uuid:58f202ac-22cf-11d1-b12d-002035b29092>)"#).unwrap();
        assert!(l[0].conditions[0].not && !l[0].conditions[1].not);
        // §10.4.9 tagged
        let l = parse(r#"<http://www.example.com/specs/> (<urn:uuid:181d4fae-7d8c-11d0-a765-00a0c91e6bf2>) <http://x/y> (["4217"])"#).unwrap();
        assert_eq!(l[1].resource.as_deref(), Some("http://x/y"));
        assert!(parse("garbage").is_err());
        assert!(parse("(<a>").is_err());
        assert!(parse("()").is_err());
        assert!(parse("(<a>) <http://x> (<b>)").is_err());
        assert!(parse(&"(<a>)".repeat(65)).is_err());
        let tags: String = (0..9).map(|i| format!("<http://x/{i}> (<a>)")).collect();
        assert!(parse(&tags).is_err());
    }

    #[test]
    fn non_ascii_after_a_parenthesis_is_a_syntax_error() {
        // Found by fuzzing (fuzz/fuzz_targets/if_header.rs): a multi-byte
        // character at bytes 2..4 of a list made the `Not` check slice
        // inside it and panic.
        assert_eq!(parse("(7d\u{10d}t:}?)"), Err(IfSyntaxError));
        assert_eq!(parse("(Not\u{e9}<a>)"), Err(IfSyntaxError));
        assert!(parse("(NOT <a>)").unwrap()[0].conditions[0].not);
    }

    #[test]
    fn evaluates() {
        let st = |_: Option<&str>| ResourceState { etag: Some("\"e1\"".into()), lock_tokens: vec!["t1".into()] };
        assert!(evaluate(&parse("(<t1>)").unwrap(), st));
        assert!(!evaluate(&parse("(<DAV:no-lock>)").unwrap(), st));
        assert!(evaluate(&parse("(<bogus>) (Not <DAV:no-lock>)").unwrap(), st));
        assert!(evaluate(&parse("(<t1> [\"e1\"])").unwrap(), st));
        assert!(!evaluate(&parse("(<t1> [\"e2\"])").unwrap(), st));
        assert_eq!(submitted_tokens(&parse("(<a>) (Not <b>)").unwrap()), vec!["a".to_string()]);
    }
}
