//! `addressbook-query` (RFC 6352 §8.6): the folded search text of each
//! vCard (cached per address book revision) narrows the candidates
//! ([`crate::vcard::filter::index_needles`]) and decides most of them
//! ([`crate::vcard::filter::decide_on_search_text`]); only the rest are
//! parsed and run through the full filter (§10.5). A limit cuts the answer
//! with a 507 for the request URI (§8.6.2).

use super::request::{parse_filter, AddressDataRequest};
use crate::dav::report::parse_limit;
use super::{address_data, report_props, ReportProps, ADDRESS_DATA};
use crate::carddav::collection::ADDRESSBOOK_HOMES;
use crate::dav::report::{write_matches, Matches};
use crate::dav::error::{DavError, DavResult};
use crate::dav::multistatus::{write_cut, Cut, MultiStatus};
use crate::dav::resource::Resource;
use crate::dav::response::{multistatus, Response};
use crate::dav::{DavRequest, Depth};
use std::collections::HashMap;

use bytes::Bytes;

use crate::store::{Collection, ObjectMeta};
use crate::vcard::filter::{card_matches, decide_on_search_text, index_needles, CardFilter};
use crate::vcard::object::parse_stored;
use crate::xml::{Element, NS_CARDDAV};

pub async fn addressbook_query(req: &DavRequest<'_>, resource: &Resource, root: &Element) -> DavResult<Response> {
    let props = report_props(req, root)?;
    let filter = match root.child(NS_CARDDAV, "filter") {
        Some(f) => parse_filter(f)?,
        // §10.3: the filter is required.
        None => return Err(DavError::bad_request("addressbook-query needs a filter")),
    };
    let limit = parse_limit(root, &[NS_CARDDAV, crate::xml::NS_DAV])?;
    // RFC 3253 makes Depth 0 the default of REPORT; clients that omit it on
    // an address book mean its members.
    let depth = req.depth(Depth::One)?;
    let mut query = Query { req, props: &props, filter: &filter, limit, ms: MultiStatus::new(), count: 0, cut: None };
    match resource {
        Resource::Collection { collection, .. } if crate::carddav::is_addressbook(collection) && depth != Depth::Zero => {
            query.run_on(collection, None).await?;
        }
        Resource::Collection { collection, .. } if crate::carddav::is_addressbook(collection) => {}
        Resource::Collection { collection, .. } if depth == Depth::Infinity => {
            for child in req.state.store.child_collections(collection.id).await? {
                if crate::carddav::is_addressbook(&child) {
                    query.run_on(&child, None).await?;
                }
            }
        }
        Resource::Object { parent, meta, .. } => query.run_on(parent, Some(meta.name.clone())).await?,
        _ => {}
    }
    Ok(query.finish())
}

struct Query<'r, 'a> {
    req: &'r DavRequest<'a>,
    props: &'r ReportProps<'a>,
    filter: &'r CardFilter,
    limit: Option<usize>,
    ms: MultiStatus,
    count: usize,
    cut: Option<Cut>,
}

impl Query<'_, '_> {
    /// Evaluate the query on one address book (or only on its member
    /// `only`): the search texts (cached per revision) are narrowed with the
    /// filter's needles and decide most vCards; only the undecided ones are
    /// read, then parsed and matched with the rendering of the matches in a
    /// compute job.
    async fn run_on(&mut self, book: &Collection, only: Option<String>) -> DavResult<()> {
        if self.cut.is_some() {
            return Ok(());
        }
        let store = &self.req.state.store;
        let texts = store.search_texts(book.id, Some(book.sync_revision)).await?;
        let needles = index_needles(self.filter);
        let mut candidates: Vec<(String, Option<bool>)> = Vec::new();
        for (name, text) in texts.iter() {
            if only.as_ref().is_some_and(|o| o != name) || !contains_needles(text, needles.as_ref()) {
                continue;
            }
            match decide_on_search_text(self.filter, text) {
                Some(false) => {}
                decided => candidates.push((name.clone(), decided)),
            }
        }
        // One batch read (usually from the cache) of what is left.
        let needs_bytes = self.props.needs_content() || candidates.iter().any(|(_, d)| d.is_none());
        let names: Vec<String> = candidates.iter().map(|(n, _)| n.clone()).collect();
        let mut read: HashMap<String, (ObjectMeta, Option<Bytes>)> = store
            .objects_by_name(book.id, Some(book.sync_revision), &names, needs_bytes)
            .await?
            .into_iter()
            .map(|(m, c)| (m.name.clone(), (m, c)))
            .collect();
        let work: Vec<Candidate> = candidates
            .into_iter()
            .filter_map(|(name, decided)| read.remove(&name).map(|(meta, content)| Candidate { meta, content, decided }))
            .collect();
        let job = Evaluation {
            filter: self.filter.clone(),
            address_data: self.props.data.clone(),
            most_matches: self.limit.map(|l| l.saturating_sub(self.count)),
            most_bytes: self.req.state.config.max_report_bytes.saturating_sub(self.ms.len()),
            work,
        };
        // Without parsing or conversion to do, no hop to the pool.
        let outcome = if job.is_light() { job.run() } else { self.req.compute(move || job.run()).await? };
        let (written, cut) =
            write_matches(self.req, &mut self.ms, ADDRESSBOOK_HOMES, book, ADDRESS_DATA, &self.props.plan, outcome).await?;
        self.count += written;
        self.cut = cut;
        Ok(())
    }

    fn finish(mut self) -> Response {
        if let Some(cut) = self.cut {
            // §8.6.2: 507 for the request URI, with the RFC 3744 §9.2
            // postcondition; it does not count towards the limit.
            write_cut(self.req, &mut self.ms, cut);
        }
        multistatus(self.ms.finish())
    }
}

/// A vCard left by the search text: decided already, or to be parsed.
struct Candidate {
    meta: ObjectMeta,
    content: Option<Bytes>,
    decided: Option<bool>,
}

/// The CPU part of an addressbook-query on one address book: the full
/// filter on the undecided vCards and the address-data of the matches.
struct Evaluation {
    filter: CardFilter,
    address_data: Option<AddressDataRequest>,
    most_matches: Option<usize>,
    most_bytes: usize,
    work: Vec<Candidate>,
}

impl Evaluation {
    /// Nothing to parse, convert or select.
    fn is_light(&self) -> bool {
        self.work.iter().all(|c| {
            c.decided.is_some()
                && self.address_data.as_ref().is_none_or(|r| r.is_whole(crate::carddav::get::stored_version(&c.meta.content_type)))
        })
    }

    fn run(self) -> Matches {
        let mut out = Matches::new(self.most_matches, self.most_bytes);
        for Candidate { meta, content, decided } in self.work {
            let matched = decided.unwrap_or_else(|| match &content {
                // Parsing costs by the kilobyte.
                Some(c) if crate::compute::charge_bytes(c.len()) => {
                    parse_stored(c).is_some_and(|card| card_matches(&card, &self.filter))
                }
                _ => false,
            });
            if !crate::compute::charge(1) {
                out.stop(Cut::Budget);
                break;
            }
            if !matched {
                continue;
            }
            let (request, content_type) = (self.address_data.as_ref(), meta.content_type.clone());
            if !out.offer(meta, |room| address_data(request, &content_type, content.as_ref(), room)) {
                break;
            }
        }
        out
    }
}

/// Whether a search text holds the needles a match requires.
fn contains_needles(text: &str, needles: Option<&(Vec<String>, bool)>) -> bool {
    match needles {
        None => true,
        Some((needles, true)) => needles.iter().all(|n| text.contains(n.as_str())),
        Some((needles, false)) => needles.iter().any(|n| text.contains(n.as_str())),
    }
}
