//! The `sync-collection` report (RFC 6578) and the tokens that identify a
//! collection's state: the RFC 6578 `sync-token` and the CalendarServer
//! `getctag`.
//!
//! A token names the collection by its id, which is never reused, and a
//! revision of its change log; a token of a deleted and re-created
//! collection, of another collection, or from the future is invalid
//! (§3.2: 403 with `DAV:valid-sync-token`). Tokens stay valid across server
//! processes: they are read from the store's change log.

use http::StatusCode;

use super::error::{conditions, DavError, DavResult};
use super::multistatus::MultiStatus;
use super::path::DavPath;
use super::propfind::{PropfindPlan, PropfindRequest};
use super::report::parse_limit;
use super::property::PropName;
use super::resource::Resource;
use super::response::{multistatus, Response};
use super::DavRequest;
use crate::store::{Collection, CollectionKind, ObjectMeta};
use crate::xml::{Element, NS_DAV};

const TOKEN_PREFIX: &str = "http://almanach.invalid/sync/";

/// RFC 6578 §4: the collection's current token, a URI.
pub fn sync_token(c: &Collection) -> String {
    format!("{TOKEN_PREFIX}{}-{}", c.id, c.sync_revision)
}

/// caldav-ctag §4.1: changes whenever a member changes.
pub fn ctag(c: &Collection) -> String {
    format!("\"{}-{}\"", c.id, c.sync_revision)
}

/// The revision a token names in collection `c`; an error when the token
/// is not one of `c`'s.
pub fn parse_token(c: &Collection, token: &str) -> DavResult<i64> {
    let invalid = || DavError::condition(StatusCode::FORBIDDEN, conditions::VALID_SYNC_TOKEN);
    let rest = token.trim().strip_prefix(TOKEN_PREFIX).ok_or_else(invalid)?;
    let (id, revision) = rest.split_once('-').ok_or_else(invalid)?;
    let (id, revision): (i64, i64) = (id.parse().map_err(|_| invalid())?, revision.parse().map_err(|_| invalid())?);
    if id != c.id || revision < 0 || revision > c.sync_revision {
        return Err(invalid());
    }
    Ok(revision)
}

/// A parsed `DAV:sync-collection` body (RFC 6578 §6.1).
pub struct SyncRequest {
    /// None: initial synchronization (empty token).
    pub token: Option<String>,
    pub limit: Option<usize>,
    pub props: Vec<PropName>,
}

pub fn parse_sync_request(root: &Element) -> DavResult<SyncRequest> {
    let token = root.child(NS_DAV, "sync-token").map(|t| t.text()).filter(|t| !t.trim().is_empty());
    // §3.3: "1" or "infinite"; members of a calendar or address book are
    // never collections, and plain collections report their child
    // collections as members, so both levels give the same answer.
    match root.child(NS_DAV, "sync-level").map(|l| l.text()) {
        Some(l) if !matches!(l.trim(), "1" | "infinite") => {
            return Err(DavError::bad_request(format!("invalid sync-level {:?}", l.trim())))
        }
        _ => {}
    }
    let limit = parse_limit(root, &[NS_DAV])?;
    let props = root
        .child(NS_DAV, "prop")
        .map(|p| p.elements().map(|e| PropName::new(&e.ns, &e.name)).collect())
        .unwrap_or_default();
    Ok(SyncRequest { token, limit, props })
}

/// One member change to report.
enum Entry {
    Changed(Box<Resource>, DavPath),
    Deleted(String),
}

pub async fn sync_collection(req: &DavRequest<'_>, resource: &Resource, root: &Element) -> DavResult<Response> {
    let Resource::Collection { space, collection } = resource else {
        return Err(DavError::condition(StatusCode::FORBIDDEN, conditions::SUPPORTED_REPORT));
    };
    let request = parse_sync_request(root)?;
    // The revision (read when the request URI was resolved) precedes the
    // reads of members: a change committed in between is reported again
    // next time, never lost.
    let store = &req.state.store;
    let current = collection;
    let since = request.token.as_deref().map(|t| parse_token(current, t)).transpose()?;
    // Collections of a registered type (calendars, address books) hold
    // members only.
    let children = if current.kind != CollectionKind::Plain { Vec::new() } else { store.child_collections(current.id).await? };
    let (mut entries, mut revisions) = (Vec::new(), Vec::new());
    let listing = match since {
        None => Some(store.objects(current.id).await?),
        Some(_) => None,
    };
    let fits = |members: &Vec<ObjectMeta>| request.limit.is_none_or(|l| l >= children.len() + members.len());
    if let Some(members) = listing.filter(fits) {
        // Initial synchronization: the current members.
        for child in children {
            let path = DavPath::from_store_path(&child.path);
            entries.push(Entry::Changed(Box::new(Resource::Collection { space: *space, collection: child }), path));
            revisions.push(current.sync_revision);
        }
        for meta in members {
            entries.push(member_entry(*space, current, meta));
            revisions.push(current.sync_revision);
        }
    } else {
        // Changes since the token — or, for an initial synchronization
        // that must be cut, every member in the order of its last change,
        // so that the token of the last one kept lets the client continue.
        let mut changes = store.changes_since(current.id, since.unwrap_or(0)).await?;
        if since.is_none() {
            changes.retain(|c| !c.deleted);
        }
        let names: Vec<String> = changes.iter().filter(|c| !c.deleted).map(|c| c.name.clone()).collect();
        let mut metas: std::collections::HashMap<String, ObjectMeta> = store
            .objects_by_name(current.id, None, &names, false)
            .await?
            .into_iter()
            .map(|(m, _)| (m.name.clone(), m))
            .collect();
        for change in changes {
            let entry = if let Some(child) = children.iter().find(|c| c.name() == change.name) {
                let path = DavPath::from_store_path(&child.path);
                Entry::Changed(Box::new(Resource::Collection { space: *space, collection: child.clone() }), path)
            } else {
                match metas.remove(&change.name) {
                    Some(meta) if !change.deleted => member_entry(*space, current, meta),
                    _ => Entry::Deleted(format!("{}{}", current.path, change.name)),
                }
            };
            entries.push(entry);
            revisions.push(change.revision);
        }
    }
    let (entries, token, truncated) = truncate(entries, &revisions, request.limit, current);
    let plan = PropfindPlan::new(&req.state.registry, PropfindRequest::Prop(request.props.clone()));
    let mut ms = MultiStatus::new();
    for entry in entries {
        match entry {
            Entry::Changed(res, path) => {
                let groups = plan.properties_of(req, &path, &res).await?;
                ms.propstat_response(&req.href(&res.store_path(&path)), &groups);
            }
            Entry::Deleted(store_path) => ms.status_response(&req.href(&store_path), StatusCode::NOT_FOUND),
        }
    }
    if truncated {
        // §3.6: the request URI with 507 says that more changes remain.
        ms.status_response(&req.href(&current.path), StatusCode::INSUFFICIENT_STORAGE);
    }
    ms.text_element(NS_DAV, "sync-token", &token);
    Ok(multistatus(ms.finish()))
}

fn member_entry(space: super::resource::HomeSpace, parent: &Collection, meta: ObjectMeta) -> Entry {
    let path = DavPath::from_store_path(&format!("{}{}", parent.path, meta.name));
    Entry::Changed(Box::new(Resource::Object { space, parent: parent.clone(), meta }), path)
}

/// Apply `DAV:limit` (RFC 6578 §3.6): keep whole revisions only, so that the
/// returned token lets the client continue with nothing lost; the token is
/// that of the last revision kept. Returns the entries, the token and
/// whether anything was left out.
fn truncate(
    mut entries: Vec<Entry>,
    revisions: &[i64],
    limit: Option<usize>,
    current: &Collection,
) -> (Vec<Entry>, String, bool) {
    let full_token = sync_token(current);
    let Some(limit) = limit.filter(|l| *l < entries.len()) else { return (entries, full_token, false) };
    // Cut before the first entry of the revision that would not fit whole.
    let mut keep = limit;
    while keep > 0 && revisions[keep] == revisions[keep - 1] {
        keep -= 1;
    }
    if keep == 0 {
        // The first revision alone exceeds the limit: it cannot be split
        // without losing changes, so it is sent whole.
        keep = revisions.iter().take_while(|r| **r == revisions[0]).count();
        if keep == entries.len() {
            return (entries, full_token, false);
        }
    }
    entries.truncate(keep);
    let at = Collection { sync_revision: revisions[keep - 1], ..current.clone() };
    (entries, sync_token(&at), true)
}
