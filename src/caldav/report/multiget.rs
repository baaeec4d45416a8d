//! `calendar-multiget` (RFC 4791 §7.9): the objects named by `DAV:href`, in
//! the order asked, each missing or unreadable one answered 404. Hrefs in
//! the request's calendar are read in one batch; others are resolved and
//! authorised one by one.

use std::collections::HashMap;

use bytes::Bytes;
use http::StatusCode;

use super::{default_zone, object_response, ReportProps};
use crate::auth::acl::Privileges;
use crate::dav::error::DavResult;
use crate::dav::locks::path_of_uri;
use crate::dav::multistatus::MultiStatus;
use crate::dav::path::DavPath;
use crate::dav::resource::{resolve, Resource};
use crate::dav::response::{multistatus, Response};
use crate::dav::DavRequest;
use crate::ical::tz::Zone;
use crate::store::ObjectMeta;
use crate::xml::{Element, NS_DAV};

pub async fn calendar_multiget(req: &DavRequest<'_>, resource: &Resource, root: &Element) -> DavResult<Response> {
    let props = ReportProps::parse(root)?;
    let hrefs: Vec<String> = root.elements().filter(|e| e.is(NS_DAV, "href")).map(|e| e.text().trim().to_string()).collect();
    let base = req.state.config.base_path();
    let paths: Vec<Option<DavPath>> = hrefs.iter().map(|h| DavPath::parse(path_of_uri(h), base).ok()).collect();
    // The batch: hrefs naming members of the calendar the request targets.
    let own = match resource {
        Resource::Collection { collection, .. } if crate::caldav::is_calendar(collection) => Some(collection),
        _ => None,
    };
    let mut batch: HashMap<String, (ObjectMeta, Option<Bytes>)> = HashMap::new();
    if let Some(calendar) = own {
        let names: Vec<String> = paths
            .iter()
            .flatten()
            .filter(|p| !p.trailing_slash && p.parent().is_some_and(|parent| parent.collection_path() == calendar.path))
            .filter_map(|p| p.last().map(str::to_string))
            .collect();
        for (meta, content) in req.state.store.objects_by_name(calendar.id, Some(calendar.sync_revision), &names, props.needs_content()).await? {
            batch.insert(meta.name.clone(), (meta, content));
        }
    }
    let mut ms = MultiStatus::new();
    let mut zones = HashMap::new();
    for (href, path) in hrefs.iter().zip(paths) {
        let Some(path) = path else {
            ms.status_response(href, StatusCode::NOT_FOUND);
            continue;
        };
        let in_batch = own.filter(|c| path.parent().is_some_and(|p| p.collection_path() == c.path) && !path.trailing_slash);
        let found = match in_batch {
            Some(calendar) => path.last().and_then(|n| batch.remove(n)).map(|(m, c)| (calendar.clone(), m, c)),
            None => resolve_elsewhere(req, &path, props.needs_content()).await?,
        };
        match found {
            Some((calendar, meta, content)) => {
                // The calendar's zone matters only to expansion and limits.
                let needs_zone = props.calendar_data.as_ref().is_some_and(|d| !d.is_whole());
                if let (true, std::collections::hash_map::Entry::Vacant(slot)) = (needs_zone, zones.entry(calendar.id)) {
                    slot.insert(default_zone(req, &calendar, root).await?);
                }
                let zone = zones.get(&calendar.id).unwrap_or(&Zone::Utc);
                object_response(req, &mut ms, &calendar, meta, content.as_ref(), &props, zone).await?;
            }
            None => ms.status_response(&req.href(&path.object_path()), StatusCode::NOT_FOUND),
        }
    }
    Ok(multistatus(ms.finish()))
}

/// A calendar object outside the request's calendar, if it exists and the
/// user may read it.
async fn resolve_elsewhere(
    req: &DavRequest<'_>,
    path: &DavPath,
    with_content: bool,
) -> DavResult<Option<(crate::store::Collection, ObjectMeta, Option<Bytes>)>> {
    let Ok(resource) = resolve(&req.state.store, req.user, path).await else { return Ok(None) };
    let Resource::Object { parent, meta, .. } = resource.clone() else { return Ok(None) };
    if !crate::caldav::is_calendar(&parent) || !resource.privileges(req.user).contains(Privileges::READ) {
        return Ok(None);
    }
    if !with_content {
        return Ok(Some((parent, meta, None)));
    }
    Ok(req.state.store.object_with_content(meta.id).await?.map(|(meta, bytes)| (parent, meta, Some(bytes))))
}
