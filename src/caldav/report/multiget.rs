//! `calendar-multiget` (RFC 4791 §7.9): the objects named by `DAV:href`, in
//! the order asked, each missing or unreadable one answered 404 (the href
//! handling and the answer are shared with CardDAV in
//! [`crate::dav::multiget`]). Whole objects are their stored bytes; parts
//! and expansions are rendered in a compute job ([`crate::compute`]).

use std::collections::HashMap;

use bytes::Bytes;

use super::request::CalendarDataRequest;
use super::{calendar_data, default_zone, report_props};
use crate::dav::error::DavResult;
use crate::dav::multiget::{answer, fetch, render_each, requested_hrefs, Requested};
use crate::dav::multistatus::{Cut, ObjectData};
use crate::dav::resource::Resource;
use crate::dav::response::{multistatus, Response};
use crate::dav::DavRequest;
use crate::ical::tz::Zone;
use crate::xml::{Element, NS_CALDAV};

pub async fn calendar_multiget(req: &DavRequest<'_>, resource: &Resource, root: &Element) -> DavResult<Response> {
    let props = report_props(req, root)?;
    let requested = fetch(req, resource, requested_hrefs(root), props.needs_content(), crate::caldav::holds_calendar_objects).await?;
    let rendered = match props.data.as_ref() {
        Some(request) if !request.is_whole() => render(req, request, &requested, root).await?,
        // The stored bytes, shared, with no hop to the pool.
        whole => requested
            .iter()
            .filter_map(|r| r.found.as_ref())
            .map(|f| calendar_data(whole, f.content.as_ref(), &Zone::Utc, usize::MAX))
            .collect(),
    };
    let ms = answer(req, requested, rendered, crate::caldav::collection::CALENDAR_HOMES, (NS_CALDAV, "calendar-data"), &props.plan).await?;
    Ok(multistatus(ms.finish()))
}

/// The calendar-data of every found object, in order, rendered in one
/// compute job with each calendar's zone (§5.2.2, §9.8); it stops at the
/// first object that cannot be rendered within the limits.
async fn render(
    req: &DavRequest<'_>,
    request: &CalendarDataRequest,
    requested: &[Requested],
    root: &Element,
) -> DavResult<Vec<Result<ObjectData, Cut>>> {
    let mut zones: HashMap<i64, Zone> = HashMap::new();
    let mut work: Vec<(Option<Bytes>, Zone)> = Vec::new();
    for found in requested.iter().filter_map(|r| r.found.as_ref()) {
        if !zones.contains_key(&found.collection.id) {
            zones.insert(found.collection.id, default_zone(req, &found.collection, root).await?);
        }
        work.push((found.content.clone(), zones[&found.collection.id].clone()));
    }
    let request = request.clone();
    let max_bytes = req.state.config.max_report_bytes;
    // The largest calendar-data generated for one object.
    let most_object_bytes = req.state.config.max_resource_bytes;
    // Each object is charged (by the kilobyte parsed): many hrefs naming
    // large objects spend the budget.
    let job = move || {
        render_each(work, max_bytes, |(content, zone): (Option<Bytes>, Zone), left| {
            calendar_data(Some(&request), content.as_ref(), &zone, left.min(most_object_bytes))
        })
    };
    Ok(req.compute(job).await?)
}
