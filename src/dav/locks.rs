//! Lock enforcement (RFC 4918 §6-7, §10.4): the `If` header must evaluate to
//! true (else 412), and a request that modifies a locked resource must submit
//! a token of a lock covering it, held by the same principal (else 423). The
//! second rule is enforced by the store inside the write's transaction: a
//! handler passes it a [`LockGuard`] built by [`lock_guard`].

use std::collections::HashMap;

use http::StatusCode;

use super::error::{DavError, DavResult};
use super::if_header::{self, ResourceState};
use super::path::DavPath;
use super::property::ActiveLock;
use super::resource::{self, Resource};
use super::response::quoted_etag;
use super::DavRequest;
use crate::store::{now_millis, Lock, LockGuard};

/// Evaluate the `If` header (412 when false) and return the lock tokens it submits.
pub async fn check_if_header(req: &DavRequest<'_>, target: &Resource) -> DavResult<Vec<String>> {
    let Some(raw) = req.header("if") else { return Ok(Vec::new()) };
    let lists = if_header::parse(raw).map_err(|e| DavError::bad_request(e.to_string()))?;
    let mut states: HashMap<Option<String>, ResourceState> = HashMap::new();
    for list in &lists {
        if states.contains_key(&list.resource) {
            continue;
        }
        let state = match &list.resource {
            None => state_of(req, target, &target.store_path(&req.path)).await?,
            Some(uri) => tagged_state(req, uri).await?,
        };
        states.insert(list.resource.clone(), state);
    }
    let holds = if_header::evaluate(&lists, |tag| states.get(&tag.map(str::to_string)).cloned().unwrap_or_default());
    if !holds {
        return Err(DavError::status(StatusCode::PRECONDITION_FAILED));
    }
    Ok(if_header::submitted_tokens(&lists))
}

async fn state_of(req: &DavRequest<'_>, resource: &Resource, store_path: &str) -> DavResult<ResourceState> {
    let etag = match resource {
        Resource::Object { meta, .. } => Some(quoted_etag(&meta.etag)),
        _ => None,
    };
    let lock_tokens = req.state.store.locks_covering(store_path).await?.into_iter().map(|l| l.token).collect();
    Ok(ResourceState { etag, lock_tokens })
}

async fn tagged_state(req: &DavRequest<'_>, uri: &str) -> DavResult<ResourceState> {
    let Ok(path) = DavPath::parse(path_of_uri(uri), req.state.config.base_path()) else {
        return Ok(ResourceState::default());
    };
    match resource::resolve(req.state, req.user, &path).await {
        Ok(r) => state_of(req, &r, &r.store_path(&path)).await,
        Err(_) => Ok(ResourceState::default()),
    }
}

/// The path part of an absolute URI or absolute path.
pub fn path_of_uri(uri: &str) -> &str {
    match uri.split_once("://") {
        Some((_, rest)) => rest.find('/').map(|i| &rest[i..]).unwrap_or("/"),
        None => uri,
    }
}

/// The [`LockGuard`] of a modification by this request: the store refuses
/// it (423 `lock-token-submitted`, see `error.rs`) unless every place in `at`
/// (the target and, for changes of membership, the parent collection, RFC
/// 4918 §7.4) has no covering lock or one the request holds, and every lock
/// below the collections in `below` (DELETE/MOVE of a subtree) is held. A
/// lock is held when its token is in `submitted` (from the `If` header) and
/// it belongs to the current user. The check runs inside the store's
/// transaction, so a lock granted concurrently cannot be bypassed.
pub fn lock_guard(req: &DavRequest<'_>, submitted: &[String], at: &[&str], below: &[&str]) -> LockGuard {
    LockGuard {
        principal: req.user.id,
        tokens: submitted.to_vec(),
        at: at.iter().map(|p| p.to_string()).collect(),
        below: below.iter().map(|p| p.to_string()).collect(),
    }
}

pub fn active_lock(req: &DavRequest<'_>, lock: Lock) -> ActiveLock {
    let seconds_left = lock.expires_at.map(|e| (e - now_millis() + 999) / 1000);
    ActiveLock { root_href: req.href(&lock.root), seconds_left, lock }
}

/// The locks shown in `DAV:lockdiscovery` of the resource at `store_path`.
pub async fn active_locks(req: &DavRequest<'_>, store_path: &str) -> DavResult<Vec<ActiveLock>> {
    let locks = req.state.store.locks_covering(store_path).await?;
    Ok(locks.into_iter().map(|l| active_lock(req, l)).collect())
}
