//! `calendar-multiget` (RFC 4791 §7.9): the objects named by `DAV:href`, in
//! the order asked, each missing or unreadable one answered 404 (the href
//! handling is shared with CardDAV in [`crate::dav::multiget`]). Whole
//! objects are their stored bytes; parts and expansions are rendered in a
//! compute job ([`crate::compute`]).

use std::collections::HashMap;

use bytes::Bytes;
use http::StatusCode;

use super::request::CalendarDataRequest;
use super::{calendar_data, default_zone, object_response, ReportProps};
use crate::dav::multistatus::{write_cut, Cut, ObjectData, Pace, RESPONSE_OVERHEAD};
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
    let max_bytes = req.state.config.max_report_bytes;
    let mut ms = MultiStatus::with_capacity(expected_body_size(&requested).min(max_bytes));
    let rendered = match props.calendar_data.as_ref().filter(|d| !d.is_whole()) {
        Some(request) => render(req, request, &requested, root).await?,
        None => Vec::new(),
    };
    let mut rendered = rendered.into_iter();
    let mut pace = Pace::default();
    for r in requested {
        let Some(found) = r.found else {
            ms.status_response(&r.answer_href(req), StatusCode::NOT_FOUND);
            continue;
        };
        let data = match rendered.next() {
            Some(result) => result,
            None => calendar_data(props.calendar_data.as_ref(), found.content.as_ref(), &Zone::Utc, max_bytes),
        };
        let data = match data {
            Ok(data) if ms.len() + RESPONSE_OVERHEAD + data.size() <= max_bytes => data,
            Ok(_) => {
                write_cut(req, &mut ms, Cut::Bytes);
                break;
            }
            Err(cut) => {
                write_cut(req, &mut ms, cut);
                break;
            }
        };
        object_response(req, &mut ms, &found.collection, found.meta, data, &props.propfind).await?;
        pace.step(&ms).await;
    }
    Ok(multistatus(ms.finish()))
}

/// The calendar-data of every found object, in order, rendered in one
/// compute job with each calendar's zone (§5.2.2, §9.8); it stops at the
/// first object that cannot be rendered within the limits.
async fn render(
    req: &DavRequest<'_>,
    request: &CalendarDataRequest,
    requested: &[crate::dav::multiget::Requested],
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
    let job = move || {
        let mut left = max_bytes;
        let mut out = Vec::with_capacity(work.len());
        for (content, zone) in work {
            let result = calendar_data(Some(&request), content.as_ref(), &zone, left.min(most_object_bytes));
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
    };
    Ok(req.compute(job).await?)
}
