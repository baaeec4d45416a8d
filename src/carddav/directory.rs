//! The national directory of agents as a CardDAV directory gateway
//! (draft-daboo-carddav-directory-gateway): a read-only address book at
//! [`DIRECTORY_PATH`] that holds a vCard for every active account,
//! generated from the principal records (display name, structured name,
//! email addresses, académie as ORG, title, phone). Every principal's
//! `CARDDAV:directory-gateway` names it.
//!
//! About a million cards must never reach a phone at once (§6 of the
//! draft), so the directory is searched, not listed:
//!
//! - `addressbook-query` is answered from the store's directory index
//!   (prefix and substring, [`crate::store::DirectoryStore::directory_search`]) and
//!   capped at `directory_max_results` (507 beyond, RFC 6352 §8.6.2);
//!   filters the index cannot answer are refused with
//!   `CARDDAV:supported-filter` naming the prop-filter (§8.6);
//! - `addressbook-multiget` and GET read single cards;
//! - PROPFIND Depth 1 and GET of the collection are refused with
//!   `DAV:number-of-matches-within-limits`; `sync-collection` is not among
//!   its reports (`DAV:supported-report`);
//! - every write is refused (read-only, §5).

use std::any::Any;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use http::{header, StatusCode};

use super::report::request::parse_filter;
use crate::dav::report::parse_limit;
use super::report::{render_address_data, report_props, ReportProps};
use crate::app::AppState;
use crate::collation::{fold, Collation, MatchType};
use crate::dav::collection_type::QName;
use crate::dav::conditional::read_precondition;
use crate::dav::error::{conditions, Condition, DavError, DavResult};
use crate::dav::live_props::http_date;
use crate::dav::locks::path_of_uri;
use crate::dav::mount::{Mount, Node};
use crate::dav::multiget::requested_hrefs;
use crate::dav::multistatus::MultiStatus;
use crate::dav::path::DavPath;
use crate::dav::property::{PropName, PropValue};
use crate::dav::resource::Resource;
use crate::dav::response::{empty, multistatus, quoted_etag, set_header, with_body, Response};
use crate::dav::DavRequest;
use crate::store::{etag_for, DirectoryEntry, DirectoryField, DirectoryMatch, DirectorySearch, DirectoryTerm};
use crate::vcard::filter::{CardFilter, CardPropFilter, FilterTest};
use crate::xml::{Element, OutElement, NS_CARDDAV};

/// Where the directory gateway lives (one per server).
pub const DIRECTORY_PATH: &str = "/directory/";

/// The first path segment of [`DIRECTORY_PATH`].
pub const DIRECTORY_SEGMENT: &str = "directory";

/// The directory's `displayname`.
pub const DISPLAY_NAME: &str = "Annuaire national";

/// The directory's `addressbook-description`.
pub const DESCRIPTION: &str = "Every agent of the national education system; search by name or email address.";

/// The media type of generated cards.
const CARD_TYPE: &str = "text/vcard; charset=utf-8; version=3.0";

/// The directory's resources: the gateway, and the card of one account.
#[derive(Debug)]
pub enum DirectoryNode {
    Gateway,
    Card { entry: Box<DirectoryEntry>, card: Card },
}

impl Node for DirectoryNode {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn mount(&self) -> &'static str {
        DIRECTORY_SEGMENT
    }

    fn is_collection(&self) -> bool {
        matches!(self, DirectoryNode::Gateway)
    }

    /// An address book (RFC 6352 §6.2) that is a directory (draft §4).
    fn resourcetype(&self) -> &'static [QName] {
        match self {
            DirectoryNode::Gateway => &[(NS_CARDDAV, "addressbook"), (NS_CARDDAV, "directory")],
            DirectoryNode::Card { .. } => &[],
        }
    }

    fn etag(&self) -> Option<String> {
        match self {
            DirectoryNode::Card { card, .. } => Some(card.etag.clone()),
            DirectoryNode::Gateway => None,
        }
    }

    fn content_type(&self) -> Option<String> {
        match self {
            DirectoryNode::Card { card, .. } => Some(card.content_type.to_string()),
            DirectoryNode::Gateway => None,
        }
    }

    fn content_length(&self) -> Option<u64> {
        match self {
            DirectoryNode::Card { card, .. } => Some(card.bytes.len() as u64),
            DirectoryNode::Gateway => None,
        }
    }

    fn last_modified(&self) -> Option<i64> {
        match self {
            DirectoryNode::Card { entry, .. } => Some(entry.modified_at),
            DirectoryNode::Gateway => None,
        }
    }

    fn display_name(&self) -> Option<String> {
        matches!(self, DirectoryNode::Gateway).then(|| DISPLAY_NAME.to_string())
    }
}

/// Whether `r` is the directory gateway.
pub fn is_gateway(r: &Resource) -> bool {
    match r {
        Resource::Mounted(node) => matches!(node.as_any().downcast_ref::<DirectoryNode>(), Some(DirectoryNode::Gateway)),
        _ => false,
    }
}

/// The card of `entry` as a resource.
fn card_resource(entry: DirectoryEntry) -> Resource {
    let card = card(&entry);
    Resource::Mounted(Arc::new(DirectoryNode::Card { entry: Box::new(entry), card }))
}

/// The national directory as a mount of the WebDAV core.
pub struct Directory;

/// RFC 6352 §8.6, §8.7.
const QUERY: QName = (NS_CARDDAV, "addressbook-query");
const MULTIGET: QName = (NS_CARDDAV, "addressbook-multiget");

#[async_trait]
impl Mount for Directory {
    fn segment(&self) -> &'static str {
        DIRECTORY_SEGMENT
    }

    /// The gateway itself or the card of one active account
    /// (`/directory/USERNAME.vcf`).
    async fn resolve(&self, state: &AppState, path: &DavPath) -> DavResult<Resource> {
        match path.segments.as_slice() {
            [_] => Ok(Resource::Mounted(Arc::new(DirectoryNode::Gateway))),
            [_, name] if !path.trailing_slash => {
                let username = name.strip_suffix(".vcf").ok_or_else(DavError::not_found)?;
                let entry = state.store.directory_entry(username).await?.ok_or_else(DavError::not_found)?;
                Ok(card_resource(entry))
            }
            _ => Err(DavError::not_found()),
        }
    }

    /// A card, in the version `Accept` asks for (RFC 6352 §5.1.1); the
    /// gateway is never listed.
    async fn get(&self, req: &DavRequest<'_>, node: &dyn Node) -> DavResult<Response> {
        let Some(DirectoryNode::Card { entry, card }) = node.as_any().downcast_ref::<DirectoryNode>() else {
            return Err(refuse_listing());
        };
        if let Some(status) = read_precondition(req, &card.etag)? {
            let mut r = empty(status);
            set_header(&mut r, header::ETAG, &quoted_etag(&card.etag));
            return Ok(r);
        }
        let (content_type, body) = super::get::negotiate(req.header("accept"), card.content_type, &card.bytes)
            .unwrap_or_else(|| (card.content_type.to_string(), card.bytes.clone()));
        let len = body.len();
        let head = req.method == http::Method::HEAD;
        let mut r = with_body(StatusCode::OK, &content_type, if head { Bytes::new() } else { body });
        set_header(&mut r, header::ETAG, &quoted_etag(&card.etag));
        set_header(&mut r, header::LAST_MODIFIED, &http_date(entry.modified_at));
        set_header(&mut r, header::CONTENT_LENGTH, &len.to_string());
        set_header(&mut r, header::VARY, "Accept");
        Ok(r)
    }

    /// The directory is searched, never listed (draft §6).
    async fn members(&self, _req: &DavRequest<'_>, node: &dyn Node) -> DavResult<Vec<(DavPath, Resource)>> {
        match node.as_any().downcast_ref::<DirectoryNode>() {
            Some(DirectoryNode::Gateway) => Err(refuse_listing()),
            _ => Ok(Vec::new()),
        }
    }

    /// Searched and fetched, never synchronized whole.
    fn reports(&self, node: &dyn Node) -> &'static [QName] {
        match node.as_any().downcast_ref::<DirectoryNode>() {
            Some(DirectoryNode::Gateway) => &[QUERY, MULTIGET],
            _ => &[MULTIGET],
        }
    }

    async fn report(&self, name: QName, req: &DavRequest<'_>, node: &dyn Node, root: &Element) -> DavResult<Response> {
        match (name, node.as_any().downcast_ref::<DirectoryNode>()) {
            (QUERY, Some(DirectoryNode::Gateway)) => query(req, root).await,
            (MULTIGET, Some(_)) => multiget(req, root).await,
            _ => Err(DavError::forbidden_by(conditions::SUPPORTED_REPORT)),
        }
    }
}

/// The store path of an account's card.
pub fn card_path(entry: &DirectoryEntry) -> String {
    format!("{DIRECTORY_PATH}{}.vcf", entry.username)
}

/// Refusal of anything that would enumerate the directory.
pub fn refuse_listing() -> DavError {
    DavError::condition(StatusCode::FORBIDDEN, conditions::NUMBER_OF_MATCHES_WITHIN_LIMITS)
}

// ------------------------------------------------------------ cards

/// The vCard 3.0 of an account. Deterministic, so that its ETag (a digest
/// of the bytes) changes exactly when the record does. The UID names the
/// username, which stays the same across imports.
pub fn card_text(entry: &DirectoryEntry) -> String {
    let mut out = String::with_capacity(256);
    let mut line = |l: String| crate::ical::push_folded(&mut out, &l);
    line("BEGIN:VCARD".into());
    line("VERSION:3.0".into());
    line(format!("UID:urn:x-almanach:user:{}", escape(&entry.username)));
    line(format!("FN:{}", escape(&full_name(entry))));
    let family = entry.family_name.as_deref().unwrap_or("");
    let given = entry.given_name.as_deref().unwrap_or("");
    line(format!("N:{};{};;;", escape(family), escape(given)));
    for (i, email) in entry.emails.iter().enumerate() {
        let pref = if i == 0 { ",PREF" } else { "" };
        line(format!("EMAIL;TYPE=INTERNET,WORK{pref}:{}", escape(email)));
    }
    if let Some((_, name)) = &entry.academie {
        line(format!("ORG:{}", escape(name)));
    }
    if let Some(title) = entry.title.as_deref().filter(|t| !t.is_empty()) {
        line(format!("TITLE:{}", escape(title)));
    }
    if let Some(phone) = entry.phone.as_deref().filter(|t| !t.is_empty()) {
        line(format!("TEL;TYPE=WORK,VOICE:{}", escape(phone)));
    }
    if let Some(rev) = chrono::DateTime::from_timestamp_millis(entry.modified_at) {
        line(format!("REV:{}", rev.format("%Y%m%dT%H%M%SZ")));
    }
    line("END:VCARD".into());
    out
}

/// The name shown: the display name, else "Given Family", else the username.
fn full_name(entry: &DirectoryEntry) -> String {
    if let Some(d) = entry.display_name.as_deref().filter(|d| !d.trim().is_empty()) {
        return d.to_string();
    }
    let parts: Vec<&str> = [entry.given_name.as_deref(), entry.family_name.as_deref()].into_iter().flatten().collect();
    if parts.is_empty() {
        entry.username.clone()
    } else {
        parts.join(" ")
    }
}

/// RFC 2426 §4 text escaping.
fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ',' => out.push_str("\\,"),
            ';' => out.push_str("\\;"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// A card's bytes with their ETag and media type.
#[derive(Debug, Clone)]
pub struct Card {
    pub bytes: Bytes,
    pub etag: String,
    pub content_type: &'static str,
}

pub fn card(entry: &DirectoryEntry) -> Card {
    let bytes = Bytes::from(card_text(entry));
    Card { etag: etag_for(&bytes), bytes, content_type: CARD_TYPE }
}

// ------------------------------------------------------------ search

/// The filter as a directory search (name or email, prefix, substring,
/// suffix or equality). Err(prop-filter) for a filter the index cannot
/// answer: a property other than FN, N, NICKNAME or EMAIL, `is-not-defined`,
/// a negated or empty text-match, a param-filter, or a combination that is
/// not one flat `anyof` or `allof`; an empty filter would list everything.
pub fn directory_search(filter: &CardFilter, limit: i64, max_chars: usize) -> Result<DirectorySearch, Option<CardPropFilter>> {
    if filter.prop_filters.is_empty() {
        return Err(None);
    }
    let mut terms = Vec::new();
    for pf in &filter.prop_filters {
        let field = match pf.name.rsplit('.').next().unwrap_or("").to_ascii_uppercase().as_str() {
            "FN" | "N" | "NICKNAME" => DirectoryField::Name,
            "EMAIL" => DirectoryField::Email,
            _ => return Err(Some(pf.clone())),
        };
        let flat = pf.text_matches.len() == 1 || pf.test == filter.test;
        if pf.is_not_defined || !pf.param_filters.is_empty() || pf.text_matches.is_empty() || !flat {
            return Err(Some(pf.clone()));
        }
        for tm in &pf.text_matches {
            let needle = structured_needle(&fold(Collation::UnicodeCasemap, &tm.value));
            // A needle longer than `max_chars` is refused, not searched.
            if tm.negate || needle.trim().is_empty() || tm.value.chars().count() > max_chars {
                return Err(Some(pf.clone()));
            }
            let kind = match (tm.match_type, needle.len() < tm.value.len()) {
                // A part of a structured value (N) is a substring of a name.
                (_, true) => DirectoryMatch::Substring,
                (MatchType::Equals, _) => DirectoryMatch::Equals,
                (MatchType::StartsWith, _) => DirectoryMatch::Prefix,
                (MatchType::EndsWith, _) => DirectoryMatch::Suffix,
                (MatchType::Contains, _) => DirectoryMatch::Substring,
            };
            terms.push(DirectoryTerm { field, kind, needle });
        }
    }
    Ok(DirectorySearch { terms, match_all: filter.test == FilterTest::AllOf, limit })
}

/// For a structured value such as `Dubois;Jean;;;`, its longest component
/// (the rest is matched by the name fields one at a time).
fn structured_needle(folded: &str) -> String {
    if !folded.contains(';') {
        return folded.to_string();
    }
    folded.split(';').max_by_key(|p| p.len()).unwrap_or("").trim().to_string()
}

fn unsupported_filter(pf: Option<CardPropFilter>) -> DavError {
    // §8.6: the prop-filters the server cannot answer.
    let names = pf.map(|pf| vec![pf.name]).unwrap_or_default();
    let elements = names.into_iter().map(|n| OutElement::empty(NS_CARDDAV, "prop-filter").attr("name", n)).collect();
    DavError::condition(StatusCode::FORBIDDEN, Condition::with_elements(super::preconditions::SUPPORTED_FILTER, elements))
}

/// `addressbook-query` on the directory.
pub async fn query(req: &DavRequest<'_>, root: &Element) -> DavResult<Response> {
    let props = report_props(req, root)?;
    let filter = match root.child(NS_CARDDAV, "filter") {
        Some(f) => parse_filter(f)?,
        None => return Err(DavError::bad_request("addressbook-query needs a filter")),
    };
    let cap = req.state.config.directory_max_results.max(1);
    let limit = parse_limit(root, &[NS_CARDDAV, crate::xml::NS_DAV])?.map_or(cap, |n| n.min(cap));
    let search =
        directory_search(&filter, limit as i64 + 1, req.state.config.max_search_length).map_err(unsupported_filter)?;
    let mut found = req.state.store.directory_search(&search).await?;
    let truncated = found.len() > limit;
    found.truncate(limit);
    let mut ms = MultiStatus::new();
    for entry in found {
        card_response(req, &mut ms, entry, &props).await?;
    }
    if truncated {
        // RFC 6352 §8.6.2.
        let error = conditions::NUMBER_OF_MATCHES_WITHIN_LIMITS;
        ms.status_error_response(&req.href(DIRECTORY_PATH), StatusCode::INSUFFICIENT_STORAGE, error);
    }
    Ok(multistatus(ms.finish()))
}

/// `addressbook-multiget` naming directory cards.
pub async fn multiget(req: &DavRequest<'_>, root: &Element) -> DavResult<Response> {
    let props = report_props(req, root)?;
    let base = req.state.config.base_path();
    let mut ms = MultiStatus::new();
    for href in requested_hrefs(root) {
        let path = DavPath::parse(path_of_uri(&href), base).ok().filter(|p| p.segments.first().is_some_and(|s| s == DIRECTORY_SEGMENT));
        let entry = match &path {
            Some(p) => match Directory.resolve(req.state, p).await {
                Ok(Resource::Mounted(node)) => match node.as_any().downcast_ref::<DirectoryNode>() {
                    Some(DirectoryNode::Card { entry, .. }) => Some((**entry).clone()),
                    _ => None,
                },
                _ => None,
            },
            None => None,
        };
        match entry {
            Some(entry) => card_response(req, &mut ms, entry, &props).await?,
            None => ms.status_response(&path.map_or(href, |p| req.href(&p.object_path())), StatusCode::NOT_FOUND),
        }
    }
    Ok(multistatus(ms.finish()))
}

/// The `response` of one card in a report.
async fn card_response(req: &DavRequest<'_>, ms: &mut MultiStatus, entry: DirectoryEntry, props: &ReportProps<'_>) -> DavResult<()> {
    let store_path = card_path(&entry);
    let path = DavPath::from_store_path(&store_path);
    let generated = card(&entry);
    let resource = Resource::Mounted(Arc::new(DirectoryNode::Card { entry: Box::new(entry), card: generated.clone() }));
    let mut groups = props.plan.properties_of(req, &path, &resource).await?;
    if let Some(request) = &props.data {
        // A generated card is small (a few hundred bytes): rendered inline.
        let name = PropName::new(NS_CARDDAV, "address-data");
        match render_address_data(request, generated.content_type, &generated.bytes) {
            Some(data) => groups[0].props.push((name, PropValue::Text(data))),
            None => groups[1].props.push((name, PropValue::Empty)),
        }
    }
    ms.propstat_response(&req.href(&store_path), &groups);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collation::TextMatch;

    fn entry() -> DirectoryEntry {
        DirectoryEntry {
            principal: 7,
            username: "jdubois".into(),
            display_name: Some("Jean Dubois".into()),
            given_name: Some("Jean".into()),
            family_name: Some("Dubois".into()),
            title: Some("Professeur, lettres; classique".into()),
            phone: Some("+33 4 72 00 00 00".into()),
            emails: vec!["jean.dubois@ac-lyon.fr".into(), "jd@ac-lyon.fr".into()],
            academie: Some(("lyon".into(), "Académie de Lyon".into())),
            modified_at: 1_700_000_000_000,
        }
    }

    #[test]
    fn generated_card_is_a_valid_address_object() {
        let text = card_text(&entry());
        let obj = crate::vcard::object::parse_address_object(text.as_bytes()).unwrap();
        assert_eq!(obj.uid, "urn:x-almanach:user:jdubois");
        assert!(text.contains("FN:Jean Dubois\r\nN:Dubois;Jean;;;\r\n"), "{text}");
        assert!(text.contains("EMAIL;TYPE=INTERNET,WORK,PREF:jean.dubois@ac-lyon.fr\r\n"), "{text}");
        assert!(text.contains("ORG:Académie de Lyon\r\n"), "{text}");
        assert!(text.contains("TITLE:Professeur\\, lettres\\; classique\r\n"), "{text}");
        assert!(text.contains("TEL;TYPE=WORK,VOICE:+33 4 72 00 00 00\r\n"), "{text}");
        assert_eq!(card(&entry()).etag, card(&entry()).etag, "deterministic");
    }

    fn filter(test: FilterTest, pfs: Vec<(&str, MatchType, &str)>) -> CardFilter {
        CardFilter {
            test,
            prop_filters: pfs
                .into_iter()
                .map(|(name, m, v)| {
                    let mut pf = CardPropFilter::new(name);
                    pf.text_matches.push(TextMatch { value: v.into(), collation: Collation::UnicodeCasemap, match_type: m, negate: false });
                    pf
                })
                .collect(),
        }
    }

    #[test]
    fn filters_become_index_searches() {
        let f = filter(FilterTest::AnyOf, vec![("FN", MatchType::StartsWith, "Dub"), ("EMAIL", MatchType::Contains, "DUBOIS@")]);
        let s = directory_search(&f, 51, 256).unwrap();
        assert!(!s.match_all);
        assert_eq!(s.terms[0], DirectoryTerm { field: DirectoryField::Name, kind: DirectoryMatch::Prefix, needle: "dub".into() });
        assert_eq!(s.terms[1], DirectoryTerm { field: DirectoryField::Email, kind: DirectoryMatch::Substring, needle: "dubois@".into() });
        let n = filter(FilterTest::AllOf, vec![("N", MatchType::Equals, "Dubois;Jean;;;")]);
        assert_eq!(directory_search(&n, 5, 256).unwrap().terms[0].kind, DirectoryMatch::Substring);
        // What the index cannot answer.
        assert!(directory_search(&filter(FilterTest::AnyOf, vec![("TEL", MatchType::Contains, "04")]), 5, 256).is_err());
        assert!(directory_search(&filter(FilterTest::AnyOf, vec![("FN", MatchType::Contains, "")]), 5, 256).is_err());
        assert!(directory_search(&CardFilter { test: FilterTest::AnyOf, prop_filters: vec![] }, 5, 256).is_err());
        let mut negated = filter(FilterTest::AnyOf, vec![("FN", MatchType::Contains, "x")]);
        negated.prop_filters[0].text_matches[0].negate = true;
        assert!(directory_search(&negated, 5, 256).is_err());
    }
}
