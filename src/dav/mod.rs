//! The WebDAV core (RFC 4918, with RFC 3744 privileges, RFC 4331 quotas and
//! RFC 5397 current-user-principal).
//!
//! [`handle`] is the one dispatch: a `match` on the method, each arm a
//! handler in its own file. Handlers resolve the path to a [`Resource`],
//! check privileges through `auth::acl`, check `If` and locks through
//! [`locks`], call the store, and build the response. Errors are typed
//! ([`error::DavError`]) and mapped to status codes in one place.

pub mod collection_type;
pub mod conditional;
pub mod error;
pub mod if_header;
pub mod live_props;
pub mod locks;
pub mod members;
pub mod mount;
pub mod multistatus;
pub mod path;
pub mod property;
pub mod registry;
pub mod resource;
pub mod response;

mod copymove;
mod delete;
mod get;
mod lock;
pub mod mkcol;
pub mod multiget;
mod options;
pub mod propfind;
mod proppatch;
pub mod put;
pub mod report;
pub mod sync;
mod principal_search;

use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode};

use crate::app::AppState;
use crate::auth::acl::Privileges;
use crate::store::Principal;
use error::{DavError, DavResult};
use path::DavPath;
use resource::Resource;
use response::Response;

/// Everything a handler needs about one authenticated request.
pub struct DavRequest<'a> {
    pub state: &'a AppState,
    pub user: &'a Principal,
    pub method: &'a Method,
    pub headers: &'a HeaderMap,
    /// The authority of the request: the `Host` header, or the HTTP/2
    /// `:authority` carried in the request URI.
    pub authority: Option<&'a str>,
    pub path: DavPath,
    pub body: Bytes,
    /// The work budget of this request's CPU-heavy jobs
    /// (`max_instances_per_request`).
    pub budget: crate::compute::Budget,
}

impl DavRequest<'_> {
    /// Run CPU-heavy `job` on the compute pool for this request's user,
    /// spending its budget; cancelled if the request goes away.
    pub async fn compute<T, F>(&self, job: F) -> Result<T, crate::compute::ComputeError>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        self.state.compute.run(self.user.id, &self.budget, job).await
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Encoded href for a decoded store path, under the configured base path.
    pub fn href(&self, store_path: &str) -> String {
        path::href(self.state.config.base_path(), store_path)
    }

    /// 404 when the user may not even read the resource (its existence stays
    /// hidden), 403 when it lacks `needed`.
    pub fn require(&self, resource: &Resource, needed: Privileges) -> DavResult<()> {
        let held = resource.privileges(self.user);
        if held.contains(needed) {
            Ok(())
        } else if held.contains(Privileges::READ) {
            Err(DavError::forbidden("insufficient privileges"))
        } else {
            Err(DavError::not_found())
        }
    }
}

/// The `Depth` header (RFC 4918 §10.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Depth {
    Zero,
    One,
    Infinity,
}

impl DavRequest<'_> {
    pub fn depth(&self, default: Depth) -> DavResult<Depth> {
        match self.header("depth").map(str::trim) {
            None => Ok(default),
            Some("0") => Ok(Depth::Zero),
            Some("1") => Ok(Depth::One),
            Some(v) if v.eq_ignore_ascii_case("infinity") => Ok(Depth::Infinity),
            Some(v) => Err(DavError::bad_request(format!("invalid Depth header {v:?}"))),
        }
    }
}

/// Headers whose value decides whether a request may change anything: an
/// unreadable value must not be mistaken for an absent one.
const CONDITIONAL_HEADERS: [&str; 7] =
    ["if", "if-match", "if-none-match", "depth", "destination", "overwrite", "lock-token"];

/// Dispatch one authenticated WebDAV request: the core's methods, then
/// those protocols registered (`registry`).
pub async fn handle(req: DavRequest<'_>) -> Response {
    if let Some(name) = CONDITIONAL_HEADERS.iter().find(|h| req.headers.get(**h).is_some_and(|v| v.to_str().is_err())) {
        return DavError::bad_request(format!("the {name} header is not valid ASCII")).into_response();
    }
    // Generated resources (mounts) change only when what they are made of
    // does.
    let mounted = req.path.segments.first().is_some_and(|s| req.state.registry.mount(s).is_some());
    if mounted && !req.state.registry.is_safe(req.method.as_str()) {
        return DavError::forbidden("this resource is read-only").into_response();
    }
    let result = match req.method.as_str() {
        "OPTIONS" => options::options(&req).await,
        "GET" | "HEAD" => get::get(&req).await,
        "PUT" => put::put(&req).await,
        "DELETE" => delete::delete(&req).await,
        "MKCOL" => mkcol::mkcol(&req).await,
        "COPY" | "MOVE" => copymove::copy_or_move(&req).await,
        "PROPFIND" => propfind::propfind(&req).await,
        "PROPPATCH" => proppatch::proppatch(&req).await,
        "LOCK" => lock::lock(&req).await,
        "UNLOCK" => lock::unlock(&req).await,
        "REPORT" => report::report(&req).await,
        "POST" => post(&req).await,
        other => match req.state.registry.method(other) {
            Some(method) => (method.handler)(&req).await,
            None => Err(DavError::status(StatusCode::NOT_IMPLEMENTED)),
        },
    };
    result.unwrap_or_else(DavError::into_response)
}

/// POST (RFC 9110 §9.3.3): answered by the type of the collection posted to
/// (a scheduling outbox, RFC 6638 §5; sharing), with the privilege it
/// names; not implemented elsewhere (nor anywhere, when no registered type
/// answers POST).
async fn post(req: &DavRequest<'_>) -> DavResult<Response> {
    if !req.state.registry.collection_types().any(|t| t.handles_post()) {
        return Err(DavError::status(StatusCode::NOT_IMPLEMENTED));
    }
    let resource = resource::resolve(req.state, req.user, &req.path).await?;
    if let Resource::Collection { collection, .. } = &resource {
        if let Some(t) = req.state.registry.collection_type(collection.kind).filter(|t| t.handles_post()) {
            req.require(&resource, t.post_privilege())?;
            return t.post(req, collection).await;
        }
    }
    Err(DavError::status(StatusCode::METHOD_NOT_ALLOWED))
}
