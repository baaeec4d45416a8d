//! COPY and MOVE (RFC 4918 §9.8, §9.9).

use http::StatusCode;

use super::collection_type::{UnbindOp, WriteOp};
use super::error::{DavError, DavResult};
use super::live_props::quota_limit;
use super::locks::{check_if_header, lock_guard, path_of_uri};
use super::path::DavPath;
use super::resource::{resolve, Resource};
use super::response::{empty, Response};
use super::{DavRequest, Depth};
use crate::auth::acl::Privileges;
use crate::store::{Collection, CollectionKind, Destination, Resolved, StoreError};

pub async fn copy_or_move(req: &DavRequest<'_>) -> DavResult<Response> {
    let is_move = req.method.as_str() == "MOVE";
    let source = resolve(req.state, req.user, &req.path).await?;
    let src_collection_path = match &source {
        Resource::Object { .. } => None,
        Resource::Collection { collection, .. } if collection.parent.is_some() => Some(collection.path.clone()),
        Resource::Unmapped { .. } => return Err(DavError::not_found()),
        _ => return Err(DavError::forbidden("this resource cannot be copied or moved")),
    };
    req.require(&source, if is_move { Privileges::UNBIND } else { Privileges::READ })?;
    if is_move && source.is_permanent(&req.state.registry) {
        return Err(DavError::forbidden("this collection is part of its home and cannot be moved"));
    }

    let depth = req.depth(Depth::Infinity)?;
    let recursive = match (is_move, depth, src_collection_path.is_some()) {
        // RFC 4918 §9.9.2: MOVE of a collection acts as Depth: infinity.
        (true, Depth::Infinity, _) | (true, _, false) => true,
        (true, _, true) => return Err(DavError::bad_request("MOVE of a collection requires Depth: infinity")),
        (false, Depth::One, true) => return Err(DavError::bad_request("COPY accepts Depth 0 or infinity")),
        (false, d, _) => d == Depth::Infinity,
    };
    let overwrite = match req.header("overwrite").map(str::trim) {
        None | Some("T") | Some("t") => true,
        Some("F") | Some("f") => false,
        Some(v) => return Err(DavError::bad_request(format!("invalid Overwrite header {v:?}"))),
    };

    let dest_path = destination(req)?;
    let src_as_dir = DavPath::from_segments(req.path.segments.clone(), true);
    if dest_path.segments == req.path.segments {
        return Err(DavError::forbidden("source and destination are the same resource"));
    }
    if src_collection_path.is_some() && dest_path.starts_with(&src_as_dir) {
        return Err(DavError::conflict("a collection cannot be copied or moved into itself"));
    }
    let dest = resolve(req.state, req.user, &dest_path).await?;
    let dest_parent = match &dest {
        Resource::Unmapped { parent: Some(p), .. } => p.clone(),
        Resource::Object { parent, .. } => parent.clone(),
        Resource::Collection { collection, .. } if collection.parent.is_some() => {
            let parent_path = dest_path.parent().expect("non-home collection has a parent").collection_path();
            req.state.store.collection_by_path(&parent_path).await?.ok_or(DavError::not_found())?
        }
        Resource::Unmapped { parent: None, .. } => {
            return Err(DavError::conflict("the destination's parent collection does not exist"))
        }
        _ => return Err(DavError::forbidden("the destination cannot be replaced")),
    };
    if dest.space() != source.space() {
        return Err(DavError::forbidden("resources cannot be copied or moved between namespaces"));
    }
    req.require(&dest, if dest.exists() { Privileges::WRITE } else { Privileges::BIND })?;
    if dest.is_permanent(&req.state.registry) {
        return Err(DavError::forbidden("the destination is part of its home and cannot be replaced"));
    }
    check_destination_kind(req, &source, &dest, &dest_parent)?;
    if dest.exists() && !overwrite {
        return Err(DavError::status(StatusCode::PRECONDITION_FAILED));
    }

    // Lock checks: the If header, then every place this request modifies.
    let submitted = check_if_header(req, &source).await?;
    // A member brought into a collection of a registered type meets the
    // rules that depend on that collection (RFC 4791 §5.3.2.1: a VTODO is
    // not copied into a calendar of events); the store carries its bytes
    // and index as they are. A member leaving one says so to its type.
    // Hooks on members (RFC 6638 §3.2.3.3, §3.2.3.4) check the source's
    // condition and the member, and queue their jobs with the transfer.
    let mut enqueue = Vec::new();
    if let Resource::Object { parent, meta, .. } = &source {
        let registry = &req.state.registry;
        for hook in registry.member_hooks(parent.kind) {
            hook.check_condition(req, Some(meta))?;
        }
        let op = if is_move { WriteOp::MoveIn { source: meta.clone() } } else { WriteOp::CopyIn { source: meta.clone() } };
        if let Some(t) = registry.collection_type(dest_parent.kind) {
            t.check_member(&dest_parent, meta, &op)?;
        }
        for hook in registry.member_hooks(dest_parent.kind) {
            hook.check_member(&dest_parent, meta, &op)?;
        }
        if is_move {
            for hook in registry.member_hooks(parent.kind) {
                enqueue.extend(hook.before_unbind(req, parent, meta, UnbindOp::MoveOut).await?);
            }
        }
    }
    let src_store_path = source.store_path(&req.path);
    let src_parent = req.path.parent().map(|p| p.collection_path()).unwrap_or_default();
    let dest_store_path = dest.store_path(&dest_path);
    let mut at = vec![dest_store_path.as_str(), dest_parent.path.as_str()];
    let mut below = Vec::new();
    if dest.is_collection() && dest.exists() {
        below.push(dest_store_path.as_str());
    }
    if is_move {
        at.push(&src_store_path);
        at.push(&src_parent);
        if src_collection_path.is_some() {
            below.push(&src_store_path);
        }
    }
    let guard = lock_guard(req, &submitted, &at, &below);

    let to = Destination {
        parent: dest_parent.id,
        parent_path: dest_parent.path.clone(),
        name: dest_path.last().unwrap_or_default().to_string(),
        overwrite,
        // COPY adds bytes to the destination owner; the store checks a MOVE
        // only when it changes the owner.
        quota_limit: Some(quota_limit(req, dest_parent.owner).await?),
        enqueue: enqueue.clone(),
    };
    let store = &req.state.store;
    let outcome = match (&source, is_move) {
        (Resource::Object { parent, meta, .. }, false) => store.copy_object(&Resolved::object(parent, meta), to, &guard).await,
        (Resource::Object { parent, meta, .. }, true) => store.move_object(&Resolved::object(parent, meta), to, &guard).await,
        (Resource::Collection { collection, .. }, false) => {
            store.copy_collection(&Resolved::collection(collection), to, recursive, &guard).await
        }
        (Resource::Collection { collection, .. }, true) => {
            store.move_collection(&Resolved::collection(collection), to, &guard).await
        }
        _ => unreachable!("source kinds were checked above"),
    }
    .map_err(|e| match e {
        StoreError::AlreadyExists => DavError::status(StatusCode::PRECONDITION_FAILED),
        StoreError::MissingParent => DavError::conflict("the destination's parent collection does not exist"),
        StoreError::UidConflict { name } => super::put::uid_conflict(req, &dest_parent, &name),
        other => DavError::from_store(req, other),
    })?;
    req.state.jobs.run_committed(req.state, &enqueue, &outcome.jobs).await;
    let mut resp = empty(if outcome.replaced { StatusCode::NO_CONTENT } else { StatusCode::CREATED });
    // The destination keeps what the source carried (RFC 6638 §3.2.10: its
    // schedule tag).
    if let Resource::Object { meta, .. } = &source {
        super::put::member_headers(req, dest_parent.kind, meta, &mut resp);
    }
    Ok(resp)
}

/// Collections of a registered type keep their shape through COPY and
/// MOVE: one lands where its type allows (a calendar or an address book
/// directly in a home: RFC 4791 §5.3.1 `calendar-collection-location-ok`,
/// RFC 6352 §6.3.2.1 `addressbook-collection-location-ok`), and a member
/// lands only in a collection of the same type (where it is validated),
/// never loose in a home.
fn check_destination_kind(req: &DavRequest<'_>, source: &Resource, dest: &Resource, dest_parent: &Collection) -> DavResult<()> {
    let registry = &req.state.registry;
    match source {
        Resource::Collection { collection, .. } => match registry.collection_type(collection.kind) {
            Some(t) => t.check_location(dest, dest_parent),
            None => Ok(()),
        },
        Resource::Object { parent, .. } if parent.kind != CollectionKind::Plain && parent.kind != dest_parent.kind => {
            Err(DavError::forbidden("a member can only go into a collection of the same kind"))
        }
        _ => Ok(()),
    }
}

/// Whether two authorities name the same server, ignoring case and the
/// scheme's default port.
fn same_authority(scheme: &str, a: &str, b: &str) -> bool {
    let default_port = if scheme.eq_ignore_ascii_case("https") { ":443" } else { ":80" };
    let normal = |x: &str| {
        let x = x.to_ascii_lowercase();
        x.strip_suffix(default_port).map(str::to_string).unwrap_or(x)
    };
    normal(a) == normal(b)
}

/// The `Destination` header (RFC 4918 §10.3): an absolute URI on this server
/// or an absolute path. Another authority is 502 (§9.8.5).
fn destination(req: &DavRequest<'_>) -> DavResult<DavPath> {
    let raw = req.header("destination").ok_or_else(|| DavError::bad_request("missing Destination header"))?;
    if let Some((scheme, rest)) = raw.split_once("://") {
        let authority = rest.split('/').next().unwrap_or("");
        let base = req.state.config.base_url.split_once("://").map(|(_, r)| r.split('/').next().unwrap_or(""));
        let same = [req.authority, base].into_iter().flatten().any(|ours| same_authority(scheme, authority, ours));
        if !same {
            return Err(DavError::StatusWithMessage(StatusCode::BAD_GATEWAY, "the destination is on another server".into()));
        }
    } else if !raw.starts_with('/') {
        return Err(DavError::bad_request("Destination must be an absolute URI or path"));
    }
    Ok(DavPath::parse(path_of_uri(raw), req.state.config.base_path())?)
}

#[cfg(test)]
mod tests {
    use super::same_authority;

    #[test]
    fn authorities_compare_without_default_ports() {
        assert!(same_authority("https", "Agenda.example.fr:443", "agenda.example.fr"));
        assert!(same_authority("http", "h:80", "h"));
        assert!(!same_authority("http", "h:8080", "h"));
        assert!(!same_authority("https", "other.example.fr", "agenda.example.fr"));
    }
}
