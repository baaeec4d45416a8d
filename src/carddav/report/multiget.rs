//! `addressbook-multiget` (RFC 6352 §8.7): the address objects named by
//! `DAV:href`, in the order asked, each missing or unreadable one answered
//! 404 (the href handling is shared with CalDAV in
//! [`crate::dav::multiget`]).

use http::StatusCode;

use super::{object_response, ReportProps};
use crate::dav::error::DavResult;
use crate::dav::multiget::{expected_body_size, fetch, requested_hrefs};
use crate::dav::multistatus::MultiStatus;
use crate::dav::resource::Resource;
use crate::dav::response::{multistatus, Response};
use crate::dav::DavRequest;
use crate::xml::Element;

pub async fn addressbook_multiget(req: &DavRequest<'_>, resource: &Resource, root: &Element) -> DavResult<Response> {
    let props = ReportProps::parse(root)?;
    let requested =
        fetch(req, resource, requested_hrefs(root), props.needs_content(), crate::carddav::is_addressbook).await?;
    let mut ms = MultiStatus::with_capacity(expected_body_size(&requested));
    for r in requested {
        match r.found {
            Some(found) => {
                object_response(req, &mut ms, &found.collection, found.meta, found.content.as_ref(), &props).await?
            }
            None => ms.status_response(&r.answer_href(req), StatusCode::NOT_FOUND),
        }
    }
    Ok(multistatus(ms.finish()))
}
