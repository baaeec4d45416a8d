//! PUT (RFC 7231 §4.3.4, RFC 4918 §9.7): store the body exactly as sent.
//! Conditional headers are checked inside the store's transaction, so two
//! writers with the same `If-Match` cannot both win.

use http::{header, StatusCode};

use super::error::{Condition, DavError, DavResult};
use super::live_props::quota_limit;
use super::locks::{check_if_header, lock_guard};
use super::resource::{resolve, Resource};
use super::response::{empty, quoted_etag, set_header, Response};
use super::conditional::write_condition;
use super::DavRequest;
use crate::auth::acl::Privileges;
use crate::store::{PutObject, StoreError};
use crate::store::Collection;

/// Bodies up to this size are parsed on the request's own task; larger
/// ones in a compute job ([`crate::compute`]).
const INLINE_PARSE_BYTES: usize = 64 * 1024;

pub async fn put(req: &DavRequest<'_>) -> DavResult<Response> {
    // RFC 7231 §4.3.4: a PUT with Content-Range must be refused.
    if req.headers.contains_key(header::CONTENT_RANGE) {
        return Err(DavError::bad_request("Content-Range is not allowed on PUT"));
    }
    let resource = resolve(&req.state.store, req.user, &req.path).await?;
    let parent = match &resource {
        Resource::Object { parent, .. } => parent.clone(),
        Resource::Unmapped { parent: Some(parent), .. } => parent.clone(),
        Resource::Unmapped { parent: None, .. } => {
            req.require(&resource, Privileges::BIND)?;
            return Err(DavError::conflict("the parent collection does not exist"));
        }
        _ => return Err(DavError::StatusWithMessage(StatusCode::METHOD_NOT_ALLOWED, "PUT is not allowed on a collection".into())),
    };
    if req.path.trailing_slash {
        return Err(DavError::conflict("a non-collection resource cannot be created at a path ending with '/'"));
    }
    let needed = if resource.exists() { Privileges::WRITE_CONTENT } else { Privileges::BIND };
    req.require(&resource, needed)?;
    let calendar = crate::caldav::is_calendar(&parent);
    let addressbook = crate::carddav::is_addressbook(&parent);
    if !calendar && !addressbook {
        resource.require_plain_files()?;
    }
    let current = match &resource {
        Resource::Object { meta, .. } => Some(meta.etag.as_str()),
        _ => None,
    };
    let condition = write_condition(req, current)?;
    let submitted = check_if_header(req, &resource).await?;
    let target = req.path.object_path();
    // Creating binds a new member into the parent (RFC 4918 §7.4).
    let guard = if resource.exists() {
        lock_guard(req, &submitted, &[&target], &[])
    } else {
        lock_guard(req, &submitted, &[&target, &parent.path], &[])
    };

    let (content_type, index) = if calendar || addressbook {
        let limits = crate::caldav::put::ResourceLimits::of(&req.state.config);
        let content_type = req.header("content-type").map(str::to_string);
        let components = parent.components.clone();
        let body = req.body.clone();
        let prepare = move || {
            let prepared = if calendar {
                crate::caldav::put::prepare(limits, content_type.as_deref(), &components, &body)
                    .map(|p| (p.content_type, p.index))
            } else {
                crate::carddav::put::prepare(limits, content_type.as_deref(), &body).map(|p| (p.content_type, p.index))
            };
            prepared
        };
        // Small bodies without recurrences parse and index in well under a
        // millisecond: no hop to the pool.
        let cheap = if calendar { crate::caldav::put::cheap_to_prepare(&req.body) } else { req.body.len() <= INLINE_PARSE_BYTES };
        if cheap {
            prepare()?
        } else {
            req.compute(prepare).await??
        }
    } else {
        let ct = req.header("content-type").filter(|v| !v.trim().is_empty()).unwrap_or("application/octet-stream");
        (ct.to_string(), Default::default())
    };
    let name = req.path.last().unwrap_or_default().to_string();
    let outcome = req
        .state
        .store
        .put_object(PutObject {
            collection: parent.id,
            collection_path: parent.path.clone(),
            name: name.clone(),
            content_type,
            content: req.body.clone(),
            condition,
            quota_limit: Some(quota_limit(req, parent.owner).await?),
            guard,
            index,
            unique_uid: calendar || addressbook,
            enqueue: Vec::new(),
        })
        .await
        .map_err(|e| match e {
            // RFC 4791 §5.3.2.1, RFC 6352 §6.3.2.1: name the resource that
            // holds the UID.
            StoreError::UidConflict { name } => uid_conflict(req, &parent, &name),
            // A child collection of that name is 405 (the central mapping).
            e => DavError::from_store(req, e),
        })?;
    let mut resp = empty(if outcome.created { StatusCode::CREATED } else { StatusCode::NO_CONTENT });
    set_header(&mut resp, header::ETAG, &quoted_etag(&outcome.meta.etag));
    Ok(resp)
}

/// 403 `no-uid-conflict` naming `name`, the member of `collection` that
/// already holds the UID, in the namespace of the collection's protocol.
pub fn uid_conflict(req: &DavRequest<'_>, collection: &Collection, name: &str) -> DavError {
    let element = if crate::carddav::is_addressbook(collection) {
        crate::carddav::preconditions::NO_UID_CONFLICT
    } else {
        crate::caldav::preconditions::NO_UID_CONFLICT
    };
    let href = req.href(&format!("{}{name}", collection.path));
    DavError::condition(StatusCode::FORBIDDEN, Condition::with_hrefs(element, vec![href]))
}
