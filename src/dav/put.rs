//! PUT (RFC 7231 §4.3.4, RFC 4918 §9.7): store the body exactly as sent.
//! Conditional headers are checked inside the store's transaction, so two
//! writers with the same `If-Match` cannot both win. Into a collection of a
//! registered type (a calendar, an address book), the type validates and
//! indexes the member first (`CollectionType::prepare_write`).

use bytes::Bytes;
use http::{header, StatusCode};

use super::collection_type::{MemberWrite, Prepared, ResourceLimits, WriteOp};
use super::conditional::write_condition;
use super::error::{Condition, DavError, DavResult};
use super::live_props::quota_limit;
use super::locks::{check_if_header, lock_guard};
use super::resource::{resolve, Resource};
use super::response::{empty, quoted_etag, set_header, Response};
use super::DavRequest;
use crate::auth::acl::Privileges;
use crate::store::{Collection, ObjectIndex, PutObject, StoreError, WriteCondition};

pub async fn put(req: &DavRequest<'_>) -> DavResult<Response> {
    // RFC 7231 §4.3.4: a PUT with Content-Range must be refused.
    if req.headers.contains_key(header::CONTENT_RANGE) {
        return Err(DavError::bad_request("Content-Range is not allowed on PUT"));
    }
    // A write prepared against the version it replaces (a scheduling
    // change) is prepared again when another version took its place
    // meanwhile: the client's own conditions are then checked again.
    let mut attempt = 0;
    loop {
        match put_once(req).await? {
            Attempt::Done(resp) => return Ok(resp),
            Attempt::Replaced if attempt < 3 => attempt += 1,
            Attempt::Replaced => return Err(DavError::status(StatusCode::CONFLICT)),
        }
    }
}

/// How one attempt at a PUT ended.
enum Attempt {
    Done(Response),
    /// The version the write was prepared against was replaced before it
    /// committed.
    Replaced,
}

async fn put_once(req: &DavRequest<'_>) -> DavResult<Attempt> {
    let resource = resolve(req.state, req.user, &req.path).await?;
    let (parent, previous) = match &resource {
        Resource::Object { parent, meta, .. } => (parent.clone(), Some(meta.clone())),
        Resource::Unmapped { parent: Some(parent), .. } => (parent.clone(), None),
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
    if req.state.registry.collection_type(parent.kind).is_none() {
        resource.require_plain_files(&req.state.registry)?;
    }
    let condition = write_condition(req, previous.as_ref().map(|m| m.etag.as_str()))?;
    for hook in req.state.registry.member_hooks(parent.kind) {
        hook.check_condition(req, previous.as_ref())?;
    }
    let submitted = check_if_header(req, &resource).await?;
    let target = resource.store_path(&req.path);
    // Creating binds a new member into the parent (RFC 4918 §7.4).
    let guard = if resource.exists() {
        lock_guard(req, &submitted, &[&target], &[])
    } else {
        lock_guard(req, &submitted, &[&target, &parent.path], &[])
    };
    let content_type = req.header("content-type").map(str::to_string);
    let prepared = prepare_member(req, &parent, content_type, req.body.clone(), WriteOp::Put { previous }).await?;
    let changed = !same_bytes(&prepared.content, &req.body);
    let unique = req.state.registry.collection_type(parent.kind).and_then(|t| t.no_uid_conflict()).is_some();
    let pinned = prepared.replaces.is_some();
    let condition = match (condition, prepared.replaces) {
        (WriteCondition::None | WriteCondition::MustExist, Some(etag)) => WriteCondition::ETagMatches(etag),
        (condition, _) => condition,
    };
    let name = req.path.last().unwrap_or_default().to_string();
    let queued = prepared.enqueue.clone();
    let written = req
        .state
        .store
        .put_object(PutObject {
            collection: parent.id,
            collection_path: parent.path.clone(),
            name,
            content_type: prepared.content_type,
            content: prepared.content,
            condition,
            quota_limit: Some(quota_limit(req, parent.owner).await?),
            guard,
            index: prepared.index,
            unique_uid: unique,
            enqueue: prepared.enqueue,
            schedule_tag: prepared.schedule_tag,
        })
        .await;
    let outcome = match written {
        Ok(outcome) => outcome,
        Err(StoreError::PreconditionFailed) if pinned => return Ok(Attempt::Replaced),
        // RFC 4791 §5.3.2.1, RFC 6352 §6.3.2.1: name the resource that
        // holds the UID.
        Err(StoreError::UidConflict { name }) => return Err(uid_conflict(req, &parent, &name)),
        // A child collection of that name is 405 (the central mapping).
        Err(e) => return Err(DavError::from_store(req, e)),
    };
    req.state.jobs.run_committed(req.state, &queued, &outcome.jobs).await;
    let mut resp = empty(if outcome.created { StatusCode::CREATED } else { StatusCode::NO_CONTENT });
    // RFC 4791 §5.3.4: no ETag when what is stored is not what was sent,
    // so that the client fetches it.
    if !changed {
        set_header(&mut resp, header::ETAG, &quoted_etag(&outcome.meta.etag));
    }
    member_headers(req, parent.kind, &outcome.meta, &mut resp);
    Ok(Attempt::Done(resp))
}

/// The headers the hooks on members of `kind` add to an answer about
/// `meta` (RFC 6638 §8.2 `Schedule-Tag`).
pub fn member_headers(req: &DavRequest<'_>, kind: crate::store::CollectionKind, meta: &crate::store::ObjectMeta, resp: &mut Response) {
    for hook in req.state.registry.member_hooks(kind) {
        hook.member_headers(meta, resp);
    }
}

/// What to store for `body` PUT into `parent`: a member of a registered
/// collection type is validated and indexed by it — on the request's task
/// when cheap, else on the compute pool — and a plain resource is stored
/// as sent with the content type given.
async fn prepare_member(
    req: &DavRequest<'_>,
    parent: &Collection,
    content_type: Option<String>,
    body: Bytes,
    op: WriteOp,
) -> DavResult<Prepared> {
    let Some(member_type) = req.state.registry.collection_type_arc(parent.kind) else {
        let content_type = content_type.filter(|v| !v.trim().is_empty()).unwrap_or_else(|| "application/octet-stream".into());
        return Ok(Prepared::plain(body, content_type, ObjectIndex::default()));
    };
    let cheap = member_type.cheap_to_prepare(&body);
    let write = MemberWrite { into: parent.clone(), limits: ResourceLimits::of(&req.state.config), content_type, body, op };
    let mut prepared = if cheap {
        member_type.prepare_write(&write)?
    } else {
        let (t, w) = (member_type.clone(), write.clone());
        req.compute(move || t.prepare_write(&w)).await??
    };
    for hook in req.state.registry.member_hooks(parent.kind) {
        prepared = hook.complete_write(req, &write, prepared).await?;
    }
    Ok(prepared)
}

/// 403 `no-uid-conflict` naming `name`, the member of `collection` that
/// already holds the UID, with the precondition of the collection's type.
pub fn uid_conflict(req: &DavRequest<'_>, collection: &Collection, name: &str) -> DavError {
    let Some(element) = req.state.registry.collection_type(collection.kind).and_then(|t| t.no_uid_conflict()) else {
        return DavError::status(StatusCode::CONFLICT);
    };
    let href = req.href(&format!("{}{name}", collection.path));
    DavError::condition(StatusCode::FORBIDDEN, Condition::with_hrefs(element, vec![href]))
}

/// Whether two byte strings are equal, without reading them when they are
/// the same buffer (a member stored as sent).
fn same_bytes(a: &Bytes, b: &Bytes) -> bool {
    a.len() == b.len() && (a.as_ptr() == b.as_ptr() || a == b)
}
