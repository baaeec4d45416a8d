//! `addressbook-multiget` (RFC 6352 §8.7): the address objects named by
//! `DAV:href`, in the order asked, each missing or unreadable one answered
//! 404 (the href handling and the answer are shared with CalDAV in
//! [`crate::dav::multiget`]). Whole vCards are their stored bytes;
//! conversions and parts are rendered in a compute job
//! ([`crate::compute`]).

use super::{address_data, report_props};
use crate::dav::error::DavResult;
use crate::dav::multiget::{answer, fetch, render_each, requested_hrefs};
use crate::dav::multistatus::{Cut, ObjectData};
use crate::dav::resource::Resource;
use crate::dav::response::{multistatus, Response};
use crate::dav::DavRequest;
use crate::xml::{Element, NS_CARDDAV};

pub async fn addressbook_multiget(req: &DavRequest<'_>, resource: &Resource, root: &Element) -> DavResult<Response> {
    let props = report_props(req, root)?;
    let requested =
        fetch(req, resource, requested_hrefs(root), props.needs_content(), crate::carddav::is_addressbook).await?;
    let max_bytes = req.state.config.max_report_bytes;
    // The generated data of every found card, in order, in one job.
    let work: Vec<_> = requested
        .iter()
        .filter_map(|r| r.found.as_ref())
        .map(|f| (f.meta.content_type.clone(), f.content.clone()))
        .collect();
    let request = props.data.clone();
    // Stored bytes are answered as they are, without a hop to the pool (the
    // common case: phones ask for whole cards).
    let generates = request.as_ref().is_some_and(|r| {
        work.iter().any(|(content_type, _)| !r.is_whole(crate::carddav::get::stored_version(content_type)))
    });
    let render = move || {
        render_each(work, max_bytes, |(content_type, content): (String, Option<bytes::Bytes>), left| {
            address_data(request.as_ref(), &content_type, content.as_ref(), left)
        })
    };
    let rendered: Vec<Result<ObjectData, Cut>> = if generates { req.compute(render).await? } else { render() };
    let ms = answer(req, requested, rendered, crate::carddav::collection::ADDRESSBOOK_HOMES, (NS_CARDDAV, "address-data"), &props.plan).await?;
    Ok(multistatus(ms.finish()))
}
