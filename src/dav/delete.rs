//! DELETE (RFC 4918 §9.6): objects, and collections with their whole subtree.

use http::StatusCode;

use super::collection_type::UnbindOp;
use super::error::{DavError, DavResult};
use super::locks::{check_if_header, lock_guard};
use super::resource::{resolve, Resource};
use super::response::{empty, Response};
use super::conditional::write_condition;
use super::{DavRequest, Depth};
use crate::auth::acl::Privileges;
use crate::store::{Resolved, WriteCondition};

pub async fn delete(req: &DavRequest<'_>) -> DavResult<Response> {
    let resource = resolve(req.state, req.user, &req.path).await?;
    let store = &req.state.store;
    match &resource {
        Resource::Object { parent, meta, .. } => {
            req.require(&resource, Privileges::UNBIND)?;
            let submitted = check_if_header(req, &resource).await?;
            let target = resource.store_path(&req.path);
            let guard = lock_guard(req, &submitted, &[&target, &parent.path], &[]);
            let if_match = match write_condition(req, Some(&meta.etag))? {
                WriteCondition::ETagMatches(etag) => Some(etag),
                WriteCondition::MustNotExist => return Err(DavError::status(StatusCode::PRECONDITION_FAILED)),
                WriteCondition::MustExist | WriteCondition::None => None,
            };
            let hooks: Vec<_> = req.state.registry.member_hooks(parent.kind).collect();
            let mut meta = meta.clone();
            for attempt in 0..3 {
                for hook in &hooks {
                    hook.check_condition(req, Some(&meta))?;
                }
                // The jobs of the hooks, written with the removal of the
                // version they were computed from.
                let mut enqueue = Vec::new();
                for hook in &hooks {
                    enqueue.extend(hook.before_unbind(req, parent, &meta, UnbindOp::Delete).await?);
                }
                let pinned = if_match.is_none() && !enqueue.is_empty();
                let condition = if_match.clone().or_else(|| pinned.then(|| meta.etag.clone()));
                // An object gone by now (a concurrent DELETE or MOVE won) is
                // 404, `If-Match` or not: RFC 7232 §5 ignores preconditions
                // when the request without them would not succeed.
                match store.delete_object(&Resolved::collection(parent), &meta.name, condition.as_deref(), &guard, enqueue.clone()).await {
                    Ok(ids) => {
                        req.state.jobs.run_committed(req.state, &enqueue, &ids).await;
                        break;
                    }
                    // The version the hooks read changed meanwhile (a reply
                    // merged): decide again on the new one; the client asked
                    // for no particular version.
                    Err(crate::store::StoreError::PreconditionFailed) if pinned && attempt < 2 => {
                        meta = store.object(parent.id, &meta.name).await?.ok_or_else(DavError::not_found)?;
                    }
                    Err(e) => return Err(DavError::from_store(req, e)),
                }
            }
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
            if resource.is_permanent(&req.state.registry) {
                return Err(DavError::forbidden("this collection is part of its home and cannot be deleted"));
            }
            // Collections have no entity tag: only `If-Match: *` can hold.
            if write_condition(req, None)? == WriteCondition::MustNotExist {
                return Err(DavError::status(StatusCode::PRECONDITION_FAILED));
            }
            let submitted = check_if_header(req, &resource).await?;
            let parent_path = req.path.parent().map(|p| p.collection_path()).unwrap_or_default();
            let guard = lock_guard(req, &submitted, &[&collection.path, &parent_path], &[&collection.path]);
            // What the hooks on its members do first (RFC 6638 §3.2.3.2:
            // each scheduling object is removed as if deleted alone).
            let mut enqueue = Vec::new();
            for hook in req.state.registry.member_hooks(collection.kind) {
                enqueue.extend(hook.before_remove_collection(req, collection).await?);
            }
            let ids = store
                .delete_collection(&Resolved::collection(collection), &guard, enqueue.clone())
                .await
                .map_err(|e| DavError::from_store(req, e))?;
            req.state.jobs.run_committed(req.state, &enqueue, &ids).await;
        }
        Resource::Unmapped { .. } => return Err(DavError::not_found()),
        _ => return Err(DavError::status(StatusCode::METHOD_NOT_ALLOWED)),
    }
    Ok(empty(StatusCode::NO_CONTENT))
}
