//! DELETE (RFC 4918 §9.6): objects, and collections with their whole subtree.

use http::StatusCode;

use super::error::{DavError, DavResult};
use super::locks::{check_if_header, require_unlocked, Guard};
use super::resource::{resolve, Resource};
use super::response::{empty, Response};
use super::{DavRequest, Depth};
use crate::auth::acl::Privileges;

pub async fn delete(req: &DavRequest<'_>) -> DavResult<Response> {
    let resource = resolve(&req.state.store, req.user, &req.path).await?;
    let store = &req.state.store;
    match &resource {
        Resource::Object { parent, meta, .. } => {
            req.require(&resource, Privileges::UNBIND)?;
            let submitted = check_if_header(req, &resource).await?;
            let target = req.path.object_path();
            require_unlocked(req, &submitted, &[Guard::At(&target), Guard::At(&parent.path)]).await?;
            let if_match = if_match_etag(req, &meta.etag)?;
            store.delete_object(parent.id, &meta.name, if_match.as_deref()).await?;
        }
        Resource::Collection { collection, .. } => {
            // RFC 4918 §9.6.1: a collection DELETE acts as Depth: infinity.
            if req.depth(Depth::Infinity)? != Depth::Infinity {
                return Err(DavError::bad_request("DELETE of a collection requires Depth: infinity"));
            }
            req.require(&resource, Privileges::UNBIND)?;
            if collection.parent.is_none() {
                return Err(DavError::forbidden("a home collection cannot be deleted"));
            }
            if req.header("if-match").is_some_and(|v| v.trim() != "*") {
                return Err(DavError::status(StatusCode::PRECONDITION_FAILED));
            }
            let submitted = check_if_header(req, &resource).await?;
            let parent_path = req.path.parent().map(|p| p.collection_path()).unwrap_or_default();
            require_unlocked(
                req,
                &submitted,
                &[Guard::At(&collection.path), Guard::At(&parent_path), Guard::Below(&collection.path)],
            )
            .await?;
            store.delete_collection(collection.id).await?;
        }
        Resource::Unmapped { .. } => return Err(DavError::not_found()),
        _ => return Err(DavError::status(StatusCode::METHOD_NOT_ALLOWED)),
    }
    Ok(empty(StatusCode::NO_CONTENT))
}

/// `If-Match` on DELETE: `*` always holds for an existing object; a tag is
/// checked by the store atomically.
fn if_match_etag(req: &DavRequest<'_>, _current: &str) -> DavResult<Option<String>> {
    match req.header("if-match").map(str::trim) {
        None | Some("*") => Ok(None),
        Some(v) => v
            .strip_prefix('"')
            .and_then(|t| t.strip_suffix('"'))
            .map(|t| Some(t.to_string()))
            .ok_or_else(|| DavError::status(StatusCode::PRECONDITION_FAILED)),
    }
}
