//! REPORT (RFC 3253 §3.6). The WebDAV core defines no report of its own; the
//! CalDAV and CardDAV layers register theirs here. Anything else is refused
//! with the `DAV:supported-report` precondition.

use http::StatusCode;

use super::error::{Condition, DavError, DavResult};
use super::resource::resolve;
use super::response::Response;
use super::DavRequest;
use crate::auth::acl::Privileges;
use crate::xml;

pub async fn report(req: &DavRequest<'_>) -> DavResult<Response> {
    let resource = resolve(&req.state.store, req.user, &req.path).await?;
    if !resource.exists() {
        return Err(DavError::not_found());
    }
    req.require(&resource, Privileges::READ)?;
    let _report = xml::parse(&req.body, xml::XmlLimits::default())?;
    Err(DavError::condition(StatusCode::FORBIDDEN, Condition::SupportedReport))
}
