//! The part every multiget report shares (RFC 4791 §7.9 `calendar-multiget`,
//! RFC 6352 §8.7 `addressbook-multiget`): from the requested hrefs to the
//! objects they name. Hrefs naming members of the collection the request
//! targets are read in one batch; others are resolved and authorised one by
//! one. An href that names nothing the user may read is reported missing,
//! so a multiget reveals no more than a GET would.

use std::collections::HashMap;

use bytes::Bytes;

use http::StatusCode;

use super::error::DavResult;
use super::multistatus::{Cut, MultiStatus, ObjectData, Pace};
use super::propfind::PropfindPlan;
use super::report::object_response;
use super::locks::path_of_uri;
use super::path::DavPath;
use super::resource::{resolve, HomeSpace, Resource};
use super::DavRequest;
use crate::auth::acl::Privileges;
use crate::store::{Collection, ObjectMeta};
use crate::xml::{Element, NS_DAV};

/// One object found for an href.
pub struct Found {
    pub collection: Collection,
    pub meta: ObjectMeta,
    /// The bytes, when asked for.
    pub content: Option<Bytes>,
}

/// One requested href and what it names.
pub struct Requested {
    /// The href as the client sent it.
    pub href: String,
    /// Its decoded path, None when it is not a path of this server.
    pub path: Option<DavPath>,
    pub found: Option<Found>,
}

impl Requested {
    /// The href to answer with: the canonical encoding of the path, or the
    /// client's text when it was not a path of this server.
    pub fn answer_href(&self, req: &DavRequest<'_>) -> String {
        match &self.path {
            Some(path) => req.href(&path.object_path()),
            None => self.href.clone(),
        }
    }
}

/// About how many bytes the multistatus of `requested` takes: the objects'
/// bytes (a sixteenth more for escaping) and the XML around each, so that
/// the body is allocated once.
pub fn expected_body_size(requested: &[Requested]) -> usize {
    requested
        .iter()
        .map(|r| 400 + r.found.as_ref().and_then(|f| f.content.as_ref()).map_or(0, |c| c.len() + c.len() / 16))
        .sum()
}

/// The `DAV:href` children of a multiget body.
pub fn requested_hrefs(root: &Element) -> Vec<String> {
    root.elements().filter(|e| e.is(NS_DAV, "href")).map(|e| e.text().trim().to_string()).collect()
}

/// The objects the hrefs name, in the order asked, among collections for
/// which `accepts` holds (calendars for CalDAV, address books for CardDAV).
pub async fn fetch(
    req: &DavRequest<'_>,
    resource: &Resource,
    hrefs: Vec<String>,
    with_content: bool,
    accepts: fn(&Collection) -> bool,
) -> DavResult<Vec<Requested>> {
    let base = req.state.config.base_path();
    let paths: Vec<Option<DavPath>> = hrefs.iter().map(|h| DavPath::parse(path_of_uri(h), base).ok()).collect();
    let own = match resource {
        Resource::Collection { collection, .. } if accepts(collection) => Some(collection),
        _ => None,
    };
    let is_member = |p: &DavPath, c: &Collection| !p.trailing_slash && p.parent().is_some_and(|parent| parent.collection_path() == c.path);
    let mut batch: HashMap<String, (ObjectMeta, Option<Bytes>)> = HashMap::new();
    if let Some(own) = own {
        let names: Vec<String> =
            paths.iter().flatten().filter(|p| is_member(p, own)).filter_map(|p| p.last().map(str::to_string)).collect();
        for (meta, content) in req.state.store.objects_by_name(own.id, Some(own.sync_revision), &names, with_content).await? {
            batch.insert(meta.name.clone(), (meta, content));
        }
    }
    let mut out = Vec::with_capacity(hrefs.len());
    for (href, path) in hrefs.into_iter().zip(paths) {
        let found = match (&path, own) {
            (Some(p), Some(own)) if is_member(p, own) => p
                .last()
                .and_then(|n| batch.remove(n))
                .map(|(meta, content)| Found { collection: own.clone(), meta, content }),
            (Some(p), _) => resolve_elsewhere(req, p, with_content, accepts).await?,
            (None, _) => None,
        };
        out.push(Requested { href, path, found });
    }
    Ok(out)
}

/// An object outside the request's collection, if it exists, lives in an
/// accepted collection and the user may read it.
async fn resolve_elsewhere(
    req: &DavRequest<'_>,
    path: &DavPath,
    with_content: bool,
    accepts: fn(&Collection) -> bool,
) -> DavResult<Option<Found>> {
    let Ok(resource) = resolve(req.state, req.user, path).await else { return Ok(None) };
    let Resource::Object { parent, meta, .. } = resource.clone() else { return Ok(None) };
    if !accepts(&parent) || !resource.privileges(req.user).contains(Privileges::READ) {
        return Ok(None);
    }
    if !with_content {
        return Ok(Some(Found { collection: parent, meta, content: None }));
    }
    Ok(req
        .state
        .store
        .object_with_content(meta.id)
        .await?
        .map(|(meta, bytes)| Found { collection: parent, meta, content: Some(bytes) }))
}

/// Answer a multiget: each href in the order asked — 404 when it names
/// nothing the user may read, else its object with the properties asked
/// for and its generated data (`rendered`: one per found object, in
/// order) as `data_name`. From the first object that cannot be answered
/// within the server's limits (`rendered` says why, or the answer would
/// pass `max_report_bytes`), that href and every later one get a 507
/// saying so: RFC 4791 §7.9 and RFC 6352 §8.7 want a response per href.
pub async fn answer(
    req: &DavRequest<'_>,
    requested: Vec<Requested>,
    rendered: Vec<Result<ObjectData, Cut>>,
    space: HomeSpace,
    data_name: (&'static str, &'static str),
    plan: &PropfindPlan<'_>,
) -> DavResult<MultiStatus> {
    let most = req.state.config.max_report_bytes;
    let mut ms = MultiStatus::with_capacity(expected_body_size(&requested).min(most));
    let mut rendered = rendered.into_iter();
    let mut pace = Pace::default();
    let mut cut: Option<Cut> = None;
    for r in requested {
        let href = r.answer_href(req);
        if let Some(cut) = cut {
            ms.cut_response(&href, cut.describe());
            continue;
        }
        let Some(found) = r.found else {
            ms.status_response(&href, StatusCode::NOT_FOUND);
            continue;
        };
        let data = match rendered.next().unwrap_or(Err(Cut::Budget)) {
            Ok(data) => data,
            Err(why) => {
                cut = Some(why);
                ms.cut_response(&href, why.describe());
                continue;
            }
        };
        let mark = ms.len();
        object_response(req, &mut ms, space, &found.collection, found.meta, data_name, data, plan).await?;
        if ms.len() > most {
            ms.truncate(mark);
            cut = Some(Cut::Bytes);
            ms.cut_response(&href, Cut::Bytes.describe());
        }
        pace.step(&ms).await;
    }
    Ok(ms)
}

/// The generated data of each found object of a multiget, in order:
/// `render` makes one, given what is left of the answer's size budget
/// (`most_bytes` in all). It stops after the first that cannot be made
/// within the limits (that one's `Err` says why).
pub fn render_each<T>(
    work: Vec<T>,
    most_bytes: usize,
    mut render: impl FnMut(T, usize) -> Result<ObjectData, Cut>,
) -> Vec<Result<ObjectData, Cut>> {
    let mut left = most_bytes;
    let mut out = Vec::with_capacity(work.len());
    for item in work {
        let result = render(item, left);
        let stop = result.is_err();
        if let Ok(data) = &result {
            left = left.saturating_sub(data.size());
        }
        out.push(result);
        if stop {
            break;
        }
    }
    out
}
