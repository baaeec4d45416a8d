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
//! - `addressbook-query` is narrowed with the store's directory index
//!   ([`crate::store::DirectoryStore::directory_search`]: terms whose matches
//!   include every card the filter matches) and every candidate card is
//!   checked against the whole filter (§10.5, [`card_matches`]), so only
//!   matching cards are answered; the answer is capped at
//!   `directory_max_results` (507 beyond, RFC 6352 §8.6.2, and 507 too when
//!   the search stopped at its bound before reading every candidate: never
//!   a short answer that hides matches); filters the index cannot narrow
//!   are refused with `CARDDAV:supported-filter` naming the prop-filters
//!   (§8.6);
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
use crate::store::directory::full_name;
use crate::store::{
    etag_for, DirectoryAnswer, DirectoryEntry, DirectoryField, DirectoryMatch, DirectorySearch, DirectoryTerm, SharedStore,
};
use crate::vcard::filter::{card_matches, CardFilter, CardPropFilter, FilterTest, TextMatch};
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
    // FN, N and EMAIL hold the texts the directory index holds (see
    // `crate::store::directory::full_name`), so that a term on the index
    // matches exactly when the same text-match on the card does.
    let fn_value = full_name(&entry.username, entry.display_name.as_deref(), entry.given_name.as_deref(), entry.family_name.as_deref());
    line(format!("FN:{}", escape(&fn_value)));
    let family = entry.family_name.as_deref().unwrap_or("").trim();
    let given = entry.given_name.as_deref().unwrap_or("").trim();
    line(format!("N:{};{};;;", escape(family), escape(given)));
    for (i, email) in entry.emails.iter().enumerate() {
        let pref = if i == 0 { ",PREF" } else { "" };
        line(format!("EMAIL;TYPE=INTERNET,WORK{pref}:{}", escape(email.trim())));
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

/// The properties a generated card holds ([`card_text`]). A prop-filter on
/// another property matches no card (§10.5.1: the property must exist),
/// unless it tests `is-not-defined`.
const CARD_PROPERTIES: [&str; 9] = ["VERSION", "UID", "FN", "N", "EMAIL", "ORG", "TITLE", "TEL", "REV"];

/// What the index can say about part of a filter, over the directory's
/// cards: it may hold for every card, for none, or only for cards whose
/// entry meets the clauses (every clause, one term of each) — a superset
/// of the cards it holds for, which the exact check then narrows; with
/// `exact`, exactly those cards (the store's check on the indexed texts,
/// which are the card's, is then the filter's).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Narrow {
    All,
    Nothing,
    Clauses(Vec<Vec<DirectoryTerm>>, bool),
}

impl Narrow {
    /// Holds when one of `items` holds: the union of one clause of each.
    fn any(items: Vec<Narrow>) -> Narrow {
        let mut union = Vec::new();
        let mut exact = true;
        for item in items {
            match item {
                Narrow::All => return Narrow::All,
                Narrow::Nothing => {}
                // A conjunction is contained in each of its clauses: the
                // most selective stands for it.
                Narrow::Clauses(clauses, e) => {
                    exact &= e && clauses.len() == 1;
                    union.extend(clauses.into_iter().min_by_key(|c| clause_rank(c)).unwrap_or_default());
                }
            }
        }
        if union.is_empty() {
            Narrow::Nothing
        } else {
            Narrow::Clauses(vec![union], exact)
        }
    }

    /// Holds when all of `items` hold.
    fn all(items: Vec<Narrow>) -> Narrow {
        let mut clauses = Vec::new();
        let mut exact = true;
        for item in items {
            match item {
                Narrow::Nothing => return Narrow::Nothing,
                // A condition only the cards can decide.
                Narrow::All => exact = false,
                Narrow::Clauses(c, e) => {
                    exact &= e;
                    clauses.extend(c);
                }
            }
        }
        if clauses.is_empty() {
            Narrow::All
        } else {
            Narrow::Clauses(clauses, exact)
        }
    }

    /// The same candidates, every one checked on its card.
    fn checked_on_cards(self) -> Narrow {
        match self {
            Narrow::Clauses(clauses, _) => Narrow::Clauses(clauses, false),
            other => other,
        }
    }

    fn combine(test: FilterTest, items: Vec<Narrow>) -> Narrow {
        match test {
            FilterTest::AnyOf => Narrow::any(items),
            FilterTest::AllOf => Narrow::all(items),
        }
    }
}

/// How selective a clause is likely to be (lower: fewer candidates): its
/// loosest term's match type, then its shortest needle, then its size.
fn clause_rank(clause: &[DirectoryTerm]) -> (u8, std::cmp::Reverse<usize>, usize) {
    let kind = |t: &DirectoryTerm| match t.kind {
        DirectoryMatch::Equals => 0,
        DirectoryMatch::Prefix => 1,
        DirectoryMatch::Substring | DirectoryMatch::Suffix => 2,
    };
    let loosest = clause.iter().map(kind).max().unwrap_or(0);
    let shortest = clause.iter().map(|t| t.needle.chars().count()).min().unwrap_or(0);
    (loosest, std::cmp::Reverse(shortest), clause.len())
}

/// Why a filter cannot be searched: the prop-filters the index cannot
/// narrow (none: the filter has no prop-filter and would list everything).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsupported(pub Vec<CardPropFilter>);

/// The filter as a directory search: clauses whose matches include every
/// card the filter matches (RFC 6352 §10.5), and whether they are exactly
/// those (every condition an `i;unicode-casemap` text-match on FN, N or
/// EMAIL, which the store decides on the same texts as the card holds);
/// otherwise the caller checks each candidate card against the whole
/// filter. Ok(None) when no card can match (a property no generated card
/// has). Unsupported when the index cannot
/// narrow the filter: no prop-filter, or a filter that can hold for cards
/// no term selects (a negated or empty text-match, `is-not-defined`, a
/// param-filter, a property other than FN, N and EMAIL, alone or as an
/// alternative); a text-match longer than `max_chars` is refused too.
/// Such conditions are checked exactly when another condition of an
/// `allof` narrows.
pub fn directory_search(filter: &CardFilter, limit: usize, max_chars: usize) -> Result<Option<(DirectorySearch, bool)>, Unsupported> {
    if filter.prop_filters.is_empty() {
        return Err(Unsupported(Vec::new()));
    }
    let mut narrowed = Vec::new();
    for pf in &filter.prop_filters {
        if pf.text_matches.iter().any(|tm| tm.value.chars().count() > max_chars) {
            return Err(Unsupported(vec![pf.clone()]));
        }
        narrowed.push(narrow_prop_filter(pf));
    }
    let wide: Vec<CardPropFilter> =
        filter.prop_filters.iter().zip(&narrowed).filter(|(_, n)| **n == Narrow::All).map(|(pf, _)| pf.clone()).collect();
    match Narrow::combine(filter.test, narrowed) {
        Narrow::All => Err(Unsupported(if wide.is_empty() { filter.prop_filters.clone() } else { wide })),
        Narrow::Nothing => Ok(None),
        Narrow::Clauses(clauses, exact) => Ok(Some((DirectorySearch { clauses, limit }, exact))),
    }
}

/// §10.5.1 over the generated cards.
fn narrow_prop_filter(pf: &CardPropFilter) -> Narrow {
    let (group, name) = match pf.name.rsplit_once('.') {
        Some((group, name)) => (Some(group), name.to_ascii_uppercase()),
        None => (None, pf.name.to_ascii_uppercase()),
    };
    let field = match name.as_str() {
        "FN" => Some(DirectoryField::FullName),
        "N" => Some(DirectoryField::StructuredName),
        "EMAIL" => Some(DirectoryField::Email),
        _ => None,
    };
    // No generated card has grouped properties, nor properties outside
    // CARD_PROPERTIES.
    let present = group.is_none() && CARD_PROPERTIES.contains(&name.as_str());
    if !present {
        return if pf.is_not_defined { Narrow::All } else { Narrow::Nothing };
    }
    let Some(field) = field else { return Narrow::All };
    if pf.is_not_defined {
        // Every card has FN and N; not every one has EMAIL.
        return if field == DirectoryField::Email { Narrow::All } else { Narrow::Nothing };
    }
    let items: Vec<Narrow> = pf
        .text_matches
        .iter()
        .map(|tm| narrow_text_match(field, tm))
        .chain(pf.param_filters.iter().map(|_| Narrow::All))
        .collect();
    if items.is_empty() {
        return Narrow::All;
    }
    let several = items.len() > 1;
    let narrowed = Narrow::combine(pf.test, items);
    // §10.5.1 tests each EMAIL property against all the text-matches; the
    // store meets each term with any address: with several conditions on
    // one of several addresses, only the card decides.
    if several && pf.test == FilterTest::AllOf && field == DirectoryField::Email {
        return narrowed.checked_on_cards();
    }
    narrowed
}

/// §10.5.4: a term every value matching `tm` matches. The index holds the
/// values folded with `i;unicode-casemap` (RFC 5051), which equates at
/// least what `i;ascii-casemap` and `i;octet` equate for ASCII text; a
/// needle with other characters under those collations is narrowed on its
/// longest ASCII run (a substring of any value it matches). Negated and
/// empty text-matches cannot narrow.
fn narrow_text_match(field: DirectoryField, tm: &TextMatch) -> Narrow {
    if tm.negate || tm.value.is_empty() {
        return Narrow::All;
    }
    let kind = |m: MatchType| match m {
        MatchType::Equals => DirectoryMatch::Equals,
        MatchType::StartsWith => DirectoryMatch::Prefix,
        MatchType::EndsWith => DirectoryMatch::Suffix,
        MatchType::Contains => DirectoryMatch::Substring,
    };
    let (kind, needle, exact) = match tm.collation {
        Collation::UnicodeCasemap => (kind(tm.match_type), fold(Collation::UnicodeCasemap, &tm.value).into_owned(), true),
        Collation::Octet | Collation::AsciiCasemap if tm.value.is_ascii() => {
            (kind(tm.match_type), tm.value.to_ascii_lowercase(), false)
        }
        Collation::Octet | Collation::AsciiCasemap => {
            match tm.value.split(|c: char| !c.is_ascii()).max_by_key(|run| run.len()).filter(|run| !run.is_empty()) {
                Some(run) => (DirectoryMatch::Substring, run.to_ascii_lowercase(), false),
                None => return Narrow::All,
            }
        }
    };
    Narrow::Clauses(vec![vec![DirectoryTerm { field, kind, needle }]], exact)
}

/// The exact check (RFC 6352 §10.5): the card of `entry` against the
/// whole filter.
pub fn entry_matches(entry: &DirectoryEntry, filter: &CardFilter) -> bool {
    let text = card_text(entry);
    crate::vcard::object::parse_stored(text.as_bytes()).is_some_and(|card| card_matches(&card, filter))
}

/// The directory's cards matching `filter`: at most `limit`, every one
/// matching the whole filter, and whether there may be more (a 507 for the
/// caller, RFC 6352 §8.6.2). Unsupported filters are refused. Each
/// candidate is checked by the store on its indexed texts; when those
/// conditions are not the whole filter, its card is checked too.
pub async fn search(store: &SharedStore, filter: &CardFilter, limit: usize, max_chars: usize) -> Result<DirectoryAnswer, SearchError> {
    let Some((search, exact)) = directory_search(filter, limit, max_chars).map_err(SearchError::Unsupported)? else {
        return Ok(DirectoryAnswer::default());
    };
    let card_check = |entry: &DirectoryEntry| entry_matches(entry, filter);
    let indexed_texts = |_: &DirectoryEntry| true;
    let accept: &crate::store::EntryCheck<'_> = if exact { &indexed_texts } else { &card_check };
    Ok(store.directory_search(&search, accept).await?)
}

/// Why [`search`] gave no answer.
#[derive(Debug)]
pub enum SearchError {
    Unsupported(Unsupported),
    Store(crate::store::StoreError),
}

impl From<crate::store::StoreError> for SearchError {
    fn from(e: crate::store::StoreError) -> Self {
        SearchError::Store(e)
    }
}

fn unsupported_filter(refused: Unsupported) -> DavError {
    // §8.6: the prop-filters the server cannot answer.
    let elements = refused.0.into_iter().map(|pf| OutElement::empty(NS_CARDDAV, "prop-filter").attr("name", pf.name)).collect();
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
    let found = match search(&req.state.store, &filter, limit, req.state.config.max_search_length).await {
        Ok(found) => found,
        Err(SearchError::Unsupported(refused)) => return Err(unsupported_filter(refused)),
        Err(SearchError::Store(e)) => return Err(e.into()),
    };
    let mut ms = MultiStatus::new();
    for entry in found.entries {
        card_response(req, &mut ms, entry, &props).await?;
    }
    if found.more {
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

    fn term(field: DirectoryField, kind: DirectoryMatch, needle: &str) -> DirectoryTerm {
        DirectoryTerm { field, kind, needle: fold(Collation::UnicodeCasemap, needle).into_owned() }
    }

    #[test]
    fn filters_become_index_searches() {
        use DirectoryField::*;
        let clauses = |f: &CardFilter| directory_search(f, 51, 256).unwrap().unwrap().0.clauses;
        let exact = |f: &CardFilter| directory_search(f, 51, 256).unwrap().unwrap().1;
        let f = filter(FilterTest::AnyOf, vec![("FN", MatchType::StartsWith, "Dub"), ("EMAIL", MatchType::Contains, "DUBOIS@")]);
        assert_eq!(
            clauses(&f),
            vec![vec![term(FullName, DirectoryMatch::Prefix, "dub"), term(Email, DirectoryMatch::Substring, "dubois@")]]
        );
        assert_eq!(directory_search(&f, 51, 256).unwrap().unwrap().0.limit, 51);
        assert!(exact(&f));
        let f = filter(FilterTest::AllOf, vec![("FN", MatchType::StartsWith, "Dub"), ("EMAIL", MatchType::EndsWith, "@ac-lyon.fr")]);
        assert_eq!(
            clauses(&f),
            vec![vec![term(FullName, DirectoryMatch::Prefix, "dub")], vec![term(Email, DirectoryMatch::Suffix, "@ac-lyon.fr")]]
        );
        // A structured N is matched as a whole (RFC 6352 §10.5.4), on its
        // own field: never as one of its components.
        let n = filter(FilterTest::AllOf, vec![("N", MatchType::Equals, "Leclerc;Timothée;;;")]);
        assert_eq!(clauses(&n), vec![vec![term(StructuredName, DirectoryMatch::Equals, "leclerc;timothée;;;")]]);
        // Short needles keep their match type.
        let short = filter(FilterTest::AnyOf, vec![("FN", MatchType::Contains, "eu")]);
        assert_eq!(clauses(&short), vec![vec![term(FullName, DirectoryMatch::Substring, "eu")]]);
        // Other collations: ASCII needles as they are, others on an ASCII run.
        let mut octet = filter(FilterTest::AnyOf, vec![("FN", MatchType::Equals, "Jean")]);
        octet.prop_filters[0].text_matches[0].collation = Collation::Octet;
        assert_eq!(clauses(&octet), vec![vec![term(FullName, DirectoryMatch::Equals, "jean")]]);
        assert!(!exact(&octet), "i;octet is checked on the cards");
        octet.prop_filters[0].text_matches[0].value = "Hélène D".into();
        assert_eq!(clauses(&octet), vec![vec![term(FullName, DirectoryMatch::Substring, "ne d")]]);
        octet.prop_filters[0].text_matches[0].value = "é".into();
        assert!(directory_search(&octet, 5, 256).is_err());

        // An allof narrows on what it can and checks the rest on the cards.
        let mut with_tel = filter(FilterTest::AllOf, vec![("FN", MatchType::Contains, "dub"), ("TEL", MatchType::Contains, "04")]);
        assert_eq!(clauses(&with_tel), vec![vec![term(FullName, DirectoryMatch::Substring, "dub")]]);
        assert!(!exact(&with_tel), "TEL is checked on the cards");
        with_tel.prop_filters[0].text_matches[0].negate = true;
        assert_eq!(directory_search(&with_tel, 5, 256).unwrap_err().0.len(), 2);
        // A property no generated card has matches nothing: an empty answer,
        // or nothing added to an anyof.
        assert_eq!(directory_search(&filter(FilterTest::AllOf, vec![("NICKNAME", MatchType::Contains, "x")]), 5, 256), Ok(None));
        let any = filter(FilterTest::AnyOf, vec![("NICKNAME", MatchType::Contains, "x"), ("FN", MatchType::Contains, "x")]);
        assert_eq!(clauses(&any), vec![vec![term(FullName, DirectoryMatch::Substring, "x")]]);
        assert!(exact(&any));
        let mut two = filter(FilterTest::AnyOf, vec![("FN", MatchType::Contains, "x"), ("N", MatchType::Contains, "y")]);
        two.prop_filters[0].test = FilterTest::AllOf;
        two.prop_filters[0].text_matches.push(TextMatch { value: "z".into(), collation: Collation::UnicodeCasemap, match_type: MatchType::Contains, negate: false });
        assert_eq!(clauses(&two), vec![vec![term(FullName, DirectoryMatch::Substring, "x"), term(StructuredName, DirectoryMatch::Substring, "y")]]);
        assert!(!exact(&two), "an allof inside an anyof is narrowed on one of its conditions");
        // Two conditions on one EMAIL hold on one address (§10.5.1): the
        // cards decide; on FN (one per card) the store's check is the
        // filter's.
        let mut one_address = filter(FilterTest::AllOf, vec![("EMAIL", MatchType::StartsWith, "anne@")]);
        one_address.prop_filters[0].test = FilterTest::AllOf;
        one_address.prop_filters[0].text_matches.push(TextMatch { value: "@ac-nice.fr".into(), collation: Collation::UnicodeCasemap, match_type: MatchType::EndsWith, negate: false });
        assert_eq!(clauses(&one_address).len(), 2);
        assert!(!exact(&one_address));
        one_address.prop_filters[0].name = "FN".into();
        assert!(exact(&one_address));
        let grouped = filter(FilterTest::AnyOf, vec![("item1.EMAIL", MatchType::Contains, "x")]);
        assert_eq!(directory_search(&grouped, 5, 256), Ok(None));

        // What the index cannot narrow: refused, naming the prop-filters.
        let refused = |f: &CardFilter| directory_search(f, 5, 256).unwrap_err().0.into_iter().map(|pf| pf.name).collect::<Vec<_>>();
        assert_eq!(refused(&filter(FilterTest::AnyOf, vec![("TEL", MatchType::Contains, "04")])), ["TEL"]);
        assert_eq!(refused(&filter(FilterTest::AnyOf, vec![("FN", MatchType::Contains, "")])), ["FN"]);
        let any = filter(FilterTest::AnyOf, vec![("FN", MatchType::Contains, "x"), ("ORG", MatchType::Contains, "lyon")]);
        assert_eq!(refused(&any), ["ORG"]);
        assert!(refused(&CardFilter { test: FilterTest::AnyOf, prop_filters: vec![] }).is_empty());
        let mut negated = filter(FilterTest::AnyOf, vec![("FN", MatchType::Contains, "x")]);
        negated.prop_filters[0].text_matches[0].negate = true;
        assert_eq!(refused(&negated), ["FN"]);
        let long = filter(FilterTest::AnyOf, vec![("FN", MatchType::Contains, "abcdef")]);
        assert!(directory_search(&long, 5, 5).is_err());
    }

    /// The texts a filter compares on a generated card are the ones the
    /// directory index holds for its entry (`store::directory`), whatever
    /// the values hold; and every property of a card is in CARD_PROPERTIES.
    #[test]
    fn cards_hold_the_indexed_texts() {
        use crate::store::directory::{full_name, structured_name};
        let odd = DirectoryEntry {
            display_name: None,
            given_name: Some(" Jean,\\ Paul;\r\n x ".into()),
            family_name: Some("Le Floc'h; \"Dupont\"".into()),
            emails: vec![" a,b;c@ac-lyon.fr".into(), "x@y.fr".into()],
            ..entry()
        };
        let long = DirectoryEntry { display_name: Some(format!("{} Élodie", "Ab".repeat(60))), ..entry() };
        let empty = DirectoryEntry { display_name: Some("   ".into()), given_name: None, family_name: None, emails: vec![], ..entry() };
        for e in [entry(), odd, long, empty] {
            let card = crate::vcard::object::parse_stored(card_text(&e).as_bytes()).expect("parses");
            let texts = |name: &str| -> Vec<String> {
                card.entries
                    .iter()
                    .filter(|p| p.name.as_str().eq_ignore_ascii_case(name))
                    .flat_map(|p| crate::vcard::filter::entry_texts(p).into_iter().map(|t| t.into_owned()))
                    .collect()
            };
            let fn_value = full_name(&e.username, e.display_name.as_deref(), e.given_name.as_deref(), e.family_name.as_deref());
            assert_eq!(texts("FN"), [fn_value], "{e:?}");
            assert_eq!(texts("N"), [structured_name(e.given_name.as_deref(), e.family_name.as_deref())], "{e:?}");
            assert_eq!(texts("EMAIL"), e.emails.iter().map(|a| a.trim().to_string()).collect::<Vec<_>>(), "{e:?}");
            for p in &card.entries {
                assert!(CARD_PROPERTIES.iter().any(|n| p.name.as_str().eq_ignore_ascii_case(n)), "{:?}", p.name);
            }
        }
    }
}
