//! `addressbook-multiget` (RFC 6352 §8.7): the address objects named by
//! `DAV:href`, in the order asked, each missing or unreadable one answered
//! 404 (the href handling is shared with CalDAV in
//! [`crate::dav::multiget`]). Whole vCards are their stored bytes;
//! conversions and parts are rendered in a compute job
//! ([`crate::compute`]).

use http::StatusCode;

use super::{address_data, object_response, ReportProps};
use crate::dav::error::DavResult;
use crate::dav::multiget::{expected_body_size, fetch, requested_hrefs};
use crate::dav::multistatus::{write_cut, Cut, MultiStatus, ObjectData, Pace, RESPONSE_OVERHEAD};
use crate::dav::resource::Resource;
use crate::dav::response::{multistatus, Response};
use crate::dav::DavRequest;
use crate::xml::Element;

pub async fn addressbook_multiget(req: &DavRequest<'_>, resource: &Resource, root: &Element) -> DavResult<Response> {
    let props = ReportProps::parse(root)?;
    let requested =
        fetch(req, resource, requested_hrefs(root), props.needs_content(), crate::carddav::is_addressbook).await?;
    let max_bytes = req.state.config.max_report_bytes;
    let mut ms = MultiStatus::with_capacity(expected_body_size(&requested).min(max_bytes));
    // The generated data of every found card, in order, in one job.
    let work: Vec<_> = requested
        .iter()
        .filter_map(|r| r.found.as_ref())
        .map(|f| (f.meta.content_type.clone(), f.content.clone()))
        .collect();
    let request = props.address_data.clone();
    // Stored bytes are answered as they are, without a hop to the pool (the
    // common case: phones ask for whole cards).
    let generates = request.as_ref().is_some_and(|r| {
        work.iter().any(|(content_type, _)| !r.is_whole(crate::carddav::get::stored_version(content_type)))
    });
    let render = move || {
            let mut left = max_bytes;
            let mut out = Vec::with_capacity(work.len());
            for (content_type, content) in work {
                let result = address_data(request.as_ref(), &content_type, content.as_ref(), left);
                let stop = result.is_err() || !crate::compute::charge(1);
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
    let rendered: Vec<Result<ObjectData, Cut>> =
        if generates { req.compute(render).await? } else { render() };
    let mut rendered = rendered.into_iter();
    let mut pace = Pace::default();
    for r in requested {
        let Some(found) = r.found else {
            ms.status_response(&r.answer_href(req), StatusCode::NOT_FOUND);
            continue;
        };
        let data = match rendered.next().unwrap_or(Err(Cut::Budget)) {
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
