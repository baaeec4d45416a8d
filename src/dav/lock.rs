//! LOCK and UNLOCK (RFC 4918 §9.10, §9.11): exclusive and shared write
//! locks, Depth 0 and infinity, timeouts, refresh, and LOCK on an unmapped
//! URL (which creates an empty resource, §9.10.4). Conflicts between locks
//! are checked by the store, atomically with the lock's creation.

use http::{header, StatusCode};

use super::error::{conditions, DavError, DavResult};
use super::live_props::quota_limit;
use super::locks::{active_lock, check_if_header, lock_guard};
use super::property::write_active_lock;
use super::resource::{resolve, Resource};
use super::response::{empty, set_header, xml_response, Response};
use super::{DavRequest, Depth};
use crate::auth::acl::Privileges;
use crate::store::{now_millis, Lock, LockLimits, LockNull, LockScope};
use crate::xml::{self, XmlWriter, NS_DAV};

struct LockInfo {
    scope: LockScope,
    owner_xml: Option<String>,
}

fn parse_lockinfo(body: &[u8]) -> DavResult<LockInfo> {
    let root = xml::parse(body, xml::XmlLimits::default())?;
    if !root.is(NS_DAV, "lockinfo") {
        return Err(DavError::bad_request("expected a DAV:lockinfo body"));
    }
    let scope_el = root.child(NS_DAV, "lockscope").ok_or_else(|| DavError::bad_request("missing DAV:lockscope"))?;
    let scope = if scope_el.child(NS_DAV, "exclusive").is_some() {
        LockScope::Exclusive
    } else if scope_el.child(NS_DAV, "shared").is_some() {
        LockScope::Shared
    } else {
        return Err(DavError::bad_request("DAV:lockscope must be exclusive or shared"));
    };
    let write = root.child(NS_DAV, "locktype").and_then(|t| t.child(NS_DAV, "write")).is_some();
    if !write {
        return Err(DavError::bad_request("only DAV:write locks are supported"));
    }
    let owner_xml = root.child(NS_DAV, "owner").map(|o| o.to_fragment());
    Ok(LockInfo { scope, owner_xml })
}

/// `Timeout: Second-N, Infinite` (RFC 4918 §10.7): the first usable value,
/// capped by the server's maximum.
fn timeout_secs(req: &DavRequest<'_>) -> i64 {
    let max = req.state.config.max_lock_timeout.as_secs() as i64;
    let requested = req.header("timeout").and_then(|v| {
        v.split(',').map(str::trim).find_map(|t| {
            if t.eq_ignore_ascii_case("infinite") {
                Some(max)
            } else {
                t.strip_prefix("Second-").and_then(|n| n.parse::<i64>().ok())
            }
        })
    });
    requested.unwrap_or(max).clamp(1, max.max(1))
}

pub async fn lock(req: &DavRequest<'_>) -> DavResult<Response> {
    let resource = resolve(req.state, req.user, &req.path).await?;
    if req.body.iter().all(u8::is_ascii_whitespace) {
        return refresh(req, &resource).await;
    }
    let info = parse_lockinfo(&req.body)?;
    // RFC 4918 §14.17 leaves the owner's content to the client; it is stored
    // and shown in every lockdiscovery of the resource, so it is bounded (a
    // larger one is a request this server does not accept: 400).
    let max_owner = req.state.config.max_lock_owner_bytes;
    if info.owner_xml.as_ref().is_some_and(|o| o.len() > max_owner) {
        return Err(DavError::bad_request(format!("DAV:owner is larger than {max_owner} bytes")));
    }
    let infinite = match req.depth(Depth::Infinity)? {
        Depth::Zero => false,
        Depth::Infinity => true,
        Depth::One => return Err(DavError::bad_request("LOCK accepts Depth 0 or infinity")),
    };
    let needed = if resource.exists() { Privileges::WRITE_CONTENT } else { Privileges::BIND };
    req.require(&resource, needed)?;
    let submitted = check_if_header(req, &resource).await?;
    let root = resource.store_path(&req.path);
    let infinite = infinite && resource.is_collection();

    // RFC 4918 §9.10.4: on an unmapped URL, the store creates the empty
    // resource in the lock's transaction (binding it into the parent).
    let lock_null = match &resource {
        Resource::Collection { .. } | Resource::Object { .. } => None,
        Resource::Unmapped { parent: Some(parent), .. } if !req.path.trailing_slash => {
            resource.require_plain_files(&req.state.registry)?;
            Some(LockNull {
                collection: parent.id,
                collection_path: parent.path.clone(),
                name: req.path.last().unwrap_or_default().to_string(),
                content_type: "application/octet-stream".into(),
                guard: lock_guard(req, &submitted, &[&parent.path], &[]),
            })
        }
        Resource::Unmapped { .. } => return Err(DavError::conflict("the parent collection does not exist")),
        _ => return Err(DavError::status(StatusCode::METHOD_NOT_ALLOWED)),
    };
    let created = lock_null.is_some();
    let timeout = timeout_secs(req);
    let lock = Lock {
        token: format!("urn:uuid:{}", uuid::Uuid::new_v4()),
        root,
        infinite,
        scope: info.scope,
        owner_xml: info.owner_xml,
        principal: req.user.id,
        timeout_secs: Some(timeout),
        expires_at: Some(now_millis() + timeout * 1000),
    };
    // The owner XML counts towards the quota of the user who locks
    // (RFC 4331), and the user's and the resource's locks are capped.
    let limits = LockLimits {
        quota_limit: Some(quota_limit(req, req.user.id).await?),
        per_principal: Some(req.state.config.max_locks_per_user),
        per_resource: Some(req.state.config.max_locks_per_resource),
    };
    req.state.store.create_lock(lock.clone(), lock_null, &limits).await.map_err(|e| DavError::from_store(req, e))?;
    let token = lock.token.clone();
    let mut resp = lock_response(req, lock, if created { StatusCode::CREATED } else { StatusCode::OK });
    set_header(&mut resp, header::HeaderName::from_static("lock-token"), &format!("<{token}>"));
    Ok(resp)
}

/// LOCK without a body refreshes the lock named in the `If` header (§9.10.2).
async fn refresh(req: &DavRequest<'_>, resource: &Resource) -> DavResult<Response> {
    if !resource.exists() {
        return Err(DavError::not_found());
    }
    req.require(resource, Privileges::READ)?;
    if req.header("if").is_none() {
        return Err(DavError::bad_request("a lock refresh needs an If header with the lock token"));
    }
    let submitted = check_if_header(req, resource).await?;
    let path = resource.store_path(&req.path);
    let covering = req.state.store.locks_covering(&path).await?;
    let lock = covering
        .into_iter()
        .find(|l| submitted.contains(&l.token) && l.principal == req.user.id)
        .ok_or_else(|| DavError::status(StatusCode::PRECONDITION_FAILED))?;
    let timeout = timeout_secs(req);
    let refreshed = req
        .state
        .store
        .refresh_lock(&lock.token, Some(timeout), Some(now_millis() + timeout * 1000))
        .await?;
    Ok(lock_response(req, refreshed, StatusCode::OK))
}

fn lock_response(req: &DavRequest<'_>, lock: Lock, status: StatusCode) -> Response {
    let mut w = XmlWriter::new();
    w.root(NS_DAV, "prop");
    w.start(NS_DAV, "lockdiscovery");
    write_active_lock(&mut w, &active_lock(req, lock));
    w.end();
    xml_response(status, w.finish())
}

pub async fn unlock(req: &DavRequest<'_>) -> DavResult<Response> {
    let token = req
        .header("lock-token")
        .map(str::trim)
        .and_then(|t| t.strip_prefix('<').and_then(|t| t.strip_suffix('>')))
        .ok_or_else(|| DavError::bad_request("UNLOCK needs a Lock-Token header"))?
        .to_string();
    let resource = resolve(req.state, req.user, &req.path).await?;
    if !resource.exists() {
        return Err(DavError::not_found());
    }
    let path = resource.store_path(&req.path);
    let covering = req.state.store.locks_covering(&path).await?;
    let lock = covering.into_iter().find(|l| l.token == token).ok_or_else(|| {
        DavError::condition(StatusCode::CONFLICT, conditions::LOCK_TOKEN_MATCHES_REQUEST_URI)
    })?;
    // RFC 4918 §9.11: the lock's creator, or a principal with DAV:unlock.
    if lock.principal != req.user.id {
        req.require(&resource, Privileges::UNLOCK)?;
    }
    req.state.store.remove_lock(&token).await?;
    Ok(empty(StatusCode::NO_CONTENT))
}
