//! `calendar-multiget` (RFC 4791 §7.9): the objects named by `DAV:href`, in
//! the order asked, each missing or unreadable one answered 404 (the href
//! handling is shared with CardDAV in [`crate::dav::multiget`]).

use std::collections::HashMap;

use http::StatusCode;

use super::{default_zone, object_response, ReportProps};
use crate::dav::error::DavResult;
use crate::dav::multiget::{expected_body_size, fetch, requested_hrefs};
use crate::dav::multistatus::MultiStatus;
use crate::dav::resource::Resource;
use crate::dav::response::{multistatus, Response};
use crate::dav::DavRequest;
use crate::ical::tz::Zone;
use crate::xml::Element;

pub async fn calendar_multiget(req: &DavRequest<'_>, resource: &Resource, root: &Element) -> DavResult<Response> {
    let props = ReportProps::parse(root)?;
    let requested = fetch(req, resource, requested_hrefs(root), props.needs_content(), crate::caldav::is_calendar).await?;
    let mut ms = MultiStatus::with_capacity(expected_body_size(&requested));
    let mut zones = HashMap::new();
    // The calendar's zone matters only to expansion and limits.
    let needs_zone = props.calendar_data.as_ref().is_some_and(|d| !d.is_whole());
    for r in requested {
        let Some(found) = r.found else {
            ms.status_response(&r.answer_href(req), StatusCode::NOT_FOUND);
            continue;
        };
        if let (true, std::collections::hash_map::Entry::Vacant(slot)) = (needs_zone, zones.entry(found.collection.id)) {
            slot.insert(default_zone(req, &found.collection, root).await?);
        }
        let zone = zones.get(&found.collection.id).unwrap_or(&Zone::Utc);
        object_response(req, &mut ms, &found.collection, found.meta, found.content.as_ref(), &props, zone).await?;
    }
    Ok(multistatus(ms.finish()))
}
