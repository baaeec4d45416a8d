//! The members of a collection-like resource (PROPFIND Depth 1, listings).

use super::error::DavResult;
use super::path::DavPath;
use super::resource::{ensure_home, HomeSpace, Resource};
use super::DavRequest;

fn path_of(store_path: &str) -> DavPath {
    DavPath::from_store_path(store_path)
}

/// Internal members of `resource` (RFC 4918 §5.2), with their paths. Virtual
/// nodes list only what the user may see: its own principal and homes.
pub async fn members(req: &DavRequest<'_>, resource: &Resource) -> DavResult<Vec<(DavPath, Resource)>> {
    let store = &req.state.store;
    let mut out = Vec::new();
    match resource {
        Resource::Root => {
            out.push((path_of("/principals/"), Resource::PrincipalCollection));
            for space in HomeSpace::ALL {
                out.push((path_of(&format!("/{}/", space.segment())), Resource::HomeSpaceRoot(space)));
            }
        }
        Resource::PrincipalCollection => {
            let me = req.user.clone();
            out.push((path_of(&format!("/principals/{}/", me.username)), Resource::Principal(me)));
        }
        Resource::HomeSpaceRoot(space) => {
            let home = ensure_home(store, req.user, *space).await?;
            out.push((path_of(&home.path), Resource::Collection { space: *space, collection: home }));
        }
        Resource::Collection { space, collection } => {
            for child in store.child_collections(collection.id).await? {
                out.push((path_of(&child.path), Resource::Collection { space: *space, collection: child }));
            }
            for meta in store.objects(collection.id).await? {
                let p = path_of(&format!("{}{}", collection.path, meta.name));
                out.push((p, Resource::Object { space: *space, parent: collection.clone(), meta }));
            }
        }
        // The directory is searched, never listed.
        Resource::Directory => return Err(crate::carddav::directory::refuse_listing()),
        Resource::Principal(_) | Resource::Object { .. } | Resource::Unmapped { .. } | Resource::DirectoryCard(_) => {}
    }
    Ok(out)
}
