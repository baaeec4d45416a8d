//! Resources generated rather than stored, served below one first path
//! segment: a [`Mount`] resolves paths below it to [`Node`]s and answers
//! what may be asked of them. Mounts are read-only: the core refuses every
//! method that is not safe on their paths. The national directory
//! (`/directory/`, `carddav::directory`) is one.

use std::any::Any;
use std::sync::Arc;

use async_trait::async_trait;

use super::collection_type::QName;
use super::error::DavResult;
use super::path::DavPath;
use super::resource::Resource;
use super::response::Response;
use super::DavRequest;
use crate::app::AppState;
use crate::xml::Element;

/// A generated resource. The core reports its basic properties from these
/// methods; a protocol's own properties downcast it ([`Node::as_any`]).
pub trait Node: Any + Send + Sync + std::fmt::Debug {
    fn as_any(&self) -> &dyn Any;
    /// The first path segment of the mount that made it.
    fn mount(&self) -> &'static str;
    fn is_collection(&self) -> bool;
    /// `DAV:resourcetype` elements besides `DAV:collection`.
    fn resourcetype(&self) -> &'static [QName] {
        &[]
    }
    /// Strong entity tag, without quotes.
    fn etag(&self) -> Option<String> {
        None
    }
    fn content_type(&self) -> Option<String> {
        None
    }
    fn content_length(&self) -> Option<u64> {
        None
    }
    /// Milliseconds since the epoch.
    fn last_modified(&self) -> Option<i64> {
        None
    }
    fn display_name(&self) -> Option<String> {
        None
    }
}

/// A generated node as a resource.
pub type NodeRef = Arc<dyn Node>;

#[async_trait]
pub trait Mount: Send + Sync + 'static {
    /// The first path segment it serves.
    fn segment(&self) -> &'static str;

    /// The resource at `path` (whose first segment is [`Mount::segment`]).
    async fn resolve(&self, state: &AppState, path: &DavPath) -> DavResult<Resource>;

    /// GET of a node.
    async fn get(&self, req: &DavRequest<'_>, node: &dyn Node) -> DavResult<Response>;

    /// The members of a node (PROPFIND Depth 1, listings); an error when a
    /// node must not be listed.
    async fn members(&self, req: &DavRequest<'_>, node: &dyn Node) -> DavResult<Vec<(DavPath, Resource)>>;

    /// The reports supported on a node (RFC 3253 §3.1.5).
    fn reports(&self, node: &dyn Node) -> &'static [QName];

    /// Answer the report `name` on `node`.
    async fn report(&self, name: QName, req: &DavRequest<'_>, node: &dyn Node, root: &Element) -> DavResult<Response>;
}
