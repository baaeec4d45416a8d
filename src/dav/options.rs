//! OPTIONS (RFC 7231 §4.3.7) with the `DAV` header of RFC 4918 §10.1.

use http::{header, StatusCode};

use super::error::DavResult;
use super::resource::{resolve, Resource};
use super::response::{empty, set_header, Response};
use super::DavRequest;

/// Compliance classes: 1 and 3 (RFC 4918), 2 (locking), RFC 5689
/// extended MKCOL, CalDAV `calendar-access` (RFC 4791 §5.1) and CardDAV
/// `addressbook` (RFC 6352 §6.1). `access-control` (RFC 3744) is not advertised: the ACL
/// method and the reports it requires are not implemented.
pub const DAV_HEADER: &str = "1, 2, 3, calendar-access, addressbook, extended-mkcol";

pub fn allowed_methods(resource: &Resource) -> &'static str {
    match resource {
        Resource::Unmapped { .. } => "OPTIONS, PUT, MKCOL, MKCALENDAR, LOCK, UNLOCK",
        Resource::Object { .. } => {
            "OPTIONS, GET, HEAD, PUT, DELETE, PROPFIND, PROPPATCH, COPY, MOVE, LOCK, UNLOCK, REPORT"
        }
        Resource::Collection { .. } => {
            "OPTIONS, GET, HEAD, DELETE, PROPFIND, PROPPATCH, COPY, MOVE, MKCOL, LOCK, UNLOCK, REPORT"
        }
        _ => "OPTIONS, GET, HEAD, PROPFIND, REPORT",
    }
}

pub async fn options(req: &DavRequest<'_>) -> DavResult<Response> {
    let allow = match resolve(&req.state.store, req.user, &req.path).await {
        Ok(r) => allowed_methods(&r),
        Err(_) => "OPTIONS, PROPFIND",
    };
    let mut resp = empty(StatusCode::OK);
    set_header(&mut resp, header::HeaderName::from_static("dav"), DAV_HEADER);
    set_header(&mut resp, header::ALLOW, allow);
    set_header(&mut resp, header::CONTENT_LENGTH, "0");
    Ok(resp)
}
