//! The members of a collection-like resource (PROPFIND Depth 1, listings).

use super::error::DavResult;
use super::path::DavPath;
use super::resource::{ensure_home, Resource};
use super::DavRequest;

fn path_of(store_path: &str) -> DavPath {
    DavPath::from_store_path(store_path)
}

/// Internal members of `resource` (RFC 4918 §5.2), addressed below `base`
/// (the path the request addressed `resource` at). Virtual nodes list only
/// what the user may see: its own principal and homes.
pub async fn members(req: &DavRequest<'_>, base: &DavPath, resource: &Resource) -> DavResult<Vec<(DavPath, Resource)>> {
    let store = &req.state.store;
    let below = |name: &str, collection: bool| {
        let mut segments = base.segments.clone();
        segments.push(name.to_string());
        DavPath::from_segments(segments, collection)
    };
    let mut out = Vec::new();
    match resource {
        Resource::Root => {
            out.push((path_of("/principals/"), Resource::PrincipalCollection));
            for home in req.state.registry.homes() {
                out.push((path_of(&format!("/{}/", home.space.segment())), Resource::HomeSpaceRoot(home.space)));
            }
        }
        Resource::PrincipalCollection => {
            let me = req.user.clone();
            out.push((path_of(&format!("/principals/{}/", me.username)), Resource::Principal(me)));
        }
        Resource::HomeSpaceRoot(space) => {
            let home = ensure_home(req.state, req.user, *space).await?;
            out.push((path_of(&home.path), Resource::Collection { space: *space, collection: home }));
        }
        Resource::Collection { space, collection } => {
            for child in store.child_collections(collection.id).await? {
                out.push((below(child.name(), true), Resource::Collection { space: *space, collection: child }));
            }
            for meta in store.objects(collection.id).await? {
                out.push((below(&meta.name, false), Resource::Object { space: *space, parent: collection.clone(), meta }));
            }
        }
        Resource::Mounted(node) => {
            if let Some(mount) = req.state.registry.mount(node.mount()) {
                return mount.members(req, node.as_ref()).await;
            }
        }
        Resource::Principal(_) | Resource::Object { .. } | Resource::Unmapped { .. } => {}
    }
    Ok(out)
}
