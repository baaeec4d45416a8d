//! OPTIONS (RFC 7231 §4.3.7) with the `DAV` header of RFC 4918 §10.1 and
//! `Allow`, both derived from the registered protocols (`registry`).

use http::{header, StatusCode};

use super::error::DavResult;
use super::resource::resolve;
use super::response::{empty, set_header, Response};
use super::DavRequest;

pub async fn options(req: &DavRequest<'_>) -> DavResult<Response> {
    let registry = &req.state.registry;
    let allow = match resolve(req.state, req.user, &req.path).await {
        Ok(r) => registry.allowed_methods(&r),
        Err(_) => "OPTIONS, PROPFIND".to_string(),
    };
    let mut resp = empty(StatusCode::OK);
    // RFC 4918 §10.1: the classes of the core and of every protocol.
    set_header(&mut resp, header::HeaderName::from_static("dav"), &registry.dav_header());
    set_header(&mut resp, header::ALLOW, &allow);
    set_header(&mut resp, header::CONTENT_LENGTH, "0");
    Ok(resp)
}
