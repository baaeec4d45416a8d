//! Lock enforcement (RFC 4918 §6-7, §10.4): the `If` header must evaluate to
//! true (else 412), and a request that modifies a locked resource must submit
//! a token of a lock covering it, held by the same principal (else 423).

use std::collections::HashMap;

use http::StatusCode;

use super::error::{Condition, DavError, DavResult};
use super::if_header::{self, ResourceState};
use super::path::DavPath;
use super::property::ActiveLock;
use super::resource::{self, Resource};
use super::DavRequest;
use crate::store::{now_millis, Lock};

/// A place whose locks a modification must satisfy.
pub enum Guard<'a> {
    /// The resource at this store path (its own locks and inherited
    /// Depth-infinity locks). Used for the target and, for changes of
    /// membership, for the parent collection (RFC 4918 §7.4).
    At(&'a str),
    /// Every lock rooted below this collection path (DELETE/MOVE of a subtree).
    Below(&'a str),
}

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
        Resource::Object { meta, .. } => Some(format!("\"{}\"", meta.etag)),
        _ => None,
    };
    let lock_tokens = req.state.store.locks_covering(store_path).await?.into_iter().map(|l| l.token).collect();
    Ok(ResourceState { etag, lock_tokens })
}

async fn tagged_state(req: &DavRequest<'_>, uri: &str) -> DavResult<ResourceState> {
    let Ok(path) = DavPath::parse(path_of_uri(uri), req.state.config.base_path()) else {
        return Ok(ResourceState::default());
    };
    match resource::resolve(&req.state.store, req.user, &path).await {
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

/// Refuse with 423 when a guarded place is locked and the request did not
/// submit a matching token of the current principal.
pub async fn require_unlocked(req: &DavRequest<'_>, submitted: &[String], guards: &[Guard<'_>]) -> DavResult<()> {
    let holds = |l: &Lock| l.principal == req.user.id && submitted.contains(&l.token);
    for guard in guards {
        match guard {
            Guard::At(path) => {
                let locks = req.state.store.locks_covering(path).await?;
                if !locks.is_empty() && !locks.iter().any(holds) {
                    return Err(locked(req, &locks[0]));
                }
            }
            Guard::Below(path) => {
                let locks = req.state.store.locks_below(path).await?;
                if let Some(l) = locks.iter().find(|l| !holds(l)) {
                    return Err(locked(req, l));
                }
            }
        }
    }
    Ok(())
}

fn locked(req: &DavRequest<'_>, lock: &Lock) -> DavError {
    DavError::condition(StatusCode::LOCKED, Condition::LockTokenSubmitted(vec![req.href(&lock.root)]))
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
