//! `addressbook-query` (RFC 6352 §8.6): the folded search text of each
//! vCard (cached per address book revision) narrows the candidates
//! ([`crate::vcard::filter::index_needles`]) and decides most of them
//! ([`crate::vcard::filter::decide_on_search_text`]); only the rest are
//! parsed and run through the full filter (§10.5). A limit cuts the answer
//! with a 507 for the request URI (§8.6.2).

use http::StatusCode;

use super::request::{parse_filter, parse_limit};
use super::{object_response, ReportProps};
use crate::dav::error::{DavError, DavResult};
use crate::dav::multistatus::MultiStatus;
use crate::dav::resource::Resource;
use crate::dav::response::{multistatus, Response};
use crate::dav::{DavRequest, Depth};
use std::collections::HashMap;

use bytes::Bytes;

use crate::store::{Collection, ObjectMeta};
use crate::vcard::filter::{card_matches, decide_on_search_text, index_needles, CardFilter};
use crate::vcard::object::parse_stored;
use crate::xml::{Element, NS_CARDDAV, NS_DAV};

pub async fn addressbook_query(req: &DavRequest<'_>, resource: &Resource, root: &Element) -> DavResult<Response> {
    let props = ReportProps::parse(root)?;
    let filter = match root.child(NS_CARDDAV, "filter") {
        Some(f) => parse_filter(f)?,
        // §10.3: the filter is required.
        None => return Err(DavError::bad_request("addressbook-query needs a filter")),
    };
    let limit = parse_limit(root)?;
    // RFC 3253 makes Depth 0 the default of REPORT; clients that omit it on
    // an address book mean its members.
    let depth = req.depth(Depth::One)?;
    let mut query = Query { req, props: &props, filter: &filter, limit, ms: MultiStatus::new(), count: 0, truncated: false };
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
    props: &'r ReportProps,
    filter: &'r CardFilter,
    limit: Option<usize>,
    ms: MultiStatus,
    count: usize,
    truncated: bool,
}

impl Query<'_, '_> {
    /// Evaluate the query on one address book (or only on its member
    /// `only`): the search texts (cached per revision) are narrowed with the
    /// filter's needles and decide most vCards; only the undecided ones are
    /// read and parsed.
    async fn run_on(&mut self, book: &Collection, only: Option<String>) -> DavResult<()> {
        if self.truncated {
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
        for (name, decided) in candidates {
            let Some((meta, content)) = read.remove(&name) else { continue };
            let matched = decided.unwrap_or_else(|| {
                content.as_ref().and_then(|c| parse_stored(c)).is_some_and(|card| card_matches(&card, self.filter))
            });
            if !matched {
                continue;
            }
            if self.limit.is_some_and(|l| self.count >= l) {
                self.truncated = true;
                return Ok(());
            }
            self.count += 1;
            object_response(self.req, &mut self.ms, book, meta, content.as_ref(), self.props).await?;
        }
        Ok(())
    }

    fn finish(mut self) -> Response {
        if self.truncated {
            // §8.6.2: 507 for the request URI, with the RFC 3744 §9.2
            // postcondition; it does not count towards the limit.
            let href = self.req.href(&self.req.path.collection_path());
            let error = (NS_DAV, "number-of-matches-within-limits");
            self.ms.status_error_response(&href, StatusCode::INSUFFICIENT_STORAGE, error);
        }
        multistatus(self.ms.finish())
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
