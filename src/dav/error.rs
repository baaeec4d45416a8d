//! Typed DAV errors and their one mapping to HTTP responses.
//!
//! Handlers return `Result<Response, DavError>`; store errors, XML errors and
//! path errors convert into `DavError`, and [`DavError::into_response`] is the
//! only place that turns them into status codes and `DAV:error` bodies
//! (RFC 4918 §16 preconditions).
//!
//! Lock errors of the store ([`StoreError::Locked`], [`StoreError::LockConflict`])
//! name a lock root, which the body shows as an href of the request (under
//! the configured base path); a handler converts them with
//! [`DavError::from_store`], which keeps them as [`DavError::Locked`] with
//! that href for `into_response` to render.

use http::StatusCode;

use super::path::PathError;
use super::response::{xml_response, Response};
use super::DavRequest;
use crate::store::StoreError;
use crate::xml::{OutElement, XmlError, XmlWriter, NS_DAV};

/// A precondition or postcondition element (RFC 4918 §16, RFC 3253 §1.6):
/// its namespace and local name. The WebDAV core declares its own in
/// [`conditions`]; each protocol declares its own next to its code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Precondition {
    pub ns: &'static str,
    pub name: &'static str,
}

impl Precondition {
    pub const fn new(ns: &'static str, name: &'static str) -> Precondition {
        Precondition { ns, name }
    }
}

/// The preconditions and postconditions of the WebDAV core.
pub mod conditions {
    use super::Precondition;
    use crate::xml::NS_DAV;

    /// RFC 4918 §9.1: Depth: infinity PROPFIND is refused.
    pub const PROPFIND_FINITE_DEPTH: Precondition = Precondition::new(NS_DAV, "propfind-finite-depth");
    /// RFC 4918 §9.2: a protected property cannot be changed.
    pub const CANNOT_MODIFY_PROTECTED_PROPERTY: Precondition = Precondition::new(NS_DAV, "cannot-modify-protected-property");
    /// RFC 4918 §9.11: the UNLOCK token does not cover the Request-URI.
    pub const LOCK_TOKEN_MATCHES_REQUEST_URI: Precondition = Precondition::new(NS_DAV, "lock-token-matches-request-uri");
    /// RFC 4918 §9.10: a lock conflicts (with the roots of the conflicting locks).
    pub const NO_CONFLICTING_LOCK: Precondition = Precondition::new(NS_DAV, "no-conflicting-lock");
    /// RFC 4918 §16: the request should have carried a lock token (for these hrefs).
    pub const LOCK_TOKEN_SUBMITTED: Precondition = Precondition::new(NS_DAV, "lock-token-submitted");
    /// RFC 4331 §6: the write would exceed the quota.
    pub const QUOTA_NOT_EXCEEDED: Precondition = Precondition::new(NS_DAV, "quota-not-exceeded");
    /// RFC 3253 §3.6: the REPORT is not supported on this resource.
    pub const SUPPORTED_REPORT: Precondition = Precondition::new(NS_DAV, "supported-report");
    /// RFC 6578 §3.2: the sync token is not one this collection issued.
    pub const VALID_SYNC_TOKEN: Precondition = Precondition::new(NS_DAV, "valid-sync-token");
    /// RFC 5323 §5.17, RFC 6578 §3.6, RFC 4791 §7.8: more results than the
    /// server (or `DAV:limit`) allows.
    pub const NUMBER_OF_MATCHES_WITHIN_LIMITS: Precondition = Precondition::new(NS_DAV, "number-of-matches-within-limits");
    /// RFC 5689 §3: extended MKCOL with a resourcetype the server cannot create.
    pub const VALID_RESOURCETYPE: Precondition = Precondition::new(NS_DAV, "valid-resourcetype");
}

/// A failed precondition as a `DAV:error` body says it: the element, with
/// the hrefs or the elements it carries (RFC 4918 §16: `lock-token-submitted`
/// names locked resources, CalDAV's `no-uid-conflict` the holder of a UID,
/// CardDAV's `supported-filter` the unsupported prop-filters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    pub element: Precondition,
    pub content: ConditionContent,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConditionContent {
    Empty,
    Hrefs(Vec<String>),
    Elements(Vec<OutElement>),
}

impl From<Precondition> for Condition {
    fn from(element: Precondition) -> Condition {
        Condition { element, content: ConditionContent::Empty }
    }
}

impl Condition {
    pub fn with_hrefs(element: Precondition, hrefs: Vec<String>) -> Condition {
        Condition { element, content: ConditionContent::Hrefs(hrefs) }
    }

    pub fn with_elements(element: Precondition, elements: Vec<OutElement>) -> Condition {
        Condition { element, content: ConditionContent::Elements(elements) }
    }

    /// `<D:error><element>…</element></D:error>`
    pub fn to_xml(&self) -> String {
        let mut w = XmlWriter::new();
        w.root(NS_DAV, "error");
        let children = match &self.content {
            ConditionContent::Empty => Vec::new(),
            ConditionContent::Hrefs(hrefs) => hrefs.iter().map(|h| OutElement::text(NS_DAV, "href", h)).collect(),
            ConditionContent::Elements(elements) => elements.clone(),
        };
        w.element(&OutElement::parent(self.element.ns, self.element.name, children));
        w.finish()
    }
}

/// A member refused by its collection type's validation (RFC 4791
/// §5.3.2.1, RFC 6352 §6.3.2.1): the precondition PUT answers with, and
/// what exactly is wrong when the validator says (PUT logs it; `almanach
/// import` shows it next to the item's line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub precondition: Precondition,
    pub detail: Option<String>,
}

impl Refusal {
    pub fn new(precondition: Precondition) -> Refusal {
        Refusal { precondition, detail: None }
    }

    pub fn because(precondition: Precondition, detail: impl Into<String>) -> Refusal {
        Refusal { precondition, detail: Some(detail.into()) }
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.precondition.name)?;
        match &self.detail {
            Some(d) => write!(f, ": {d}"),
            None => Ok(()),
        }
    }
}

/// PUT answers a refusal 403 with its precondition element.
impl From<Refusal> for DavError {
    fn from(r: Refusal) -> DavError {
        if let Some(detail) = &r.detail {
            tracing::debug!(precondition = r.precondition.name, %detail, "member refused");
        }
        DavError::forbidden_by(r.precondition)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DavError {
    #[error("{0}")]
    Status(StatusCode),
    #[error("{1}")]
    StatusWithMessage(StatusCode, String),
    #[error("{0}: {1:?}")]
    Condition(StatusCode, Condition),
    /// A store lock error, with the href of the offending lock's root.
    #[error("{error} ({href})")]
    Locked { error: StoreError, href: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Xml(#[from] XmlError),
    #[error(transparent)]
    Path(#[from] PathError),
    #[error(transparent)]
    Compute(#[from] crate::compute::ComputeError),
}

pub type DavResult<T> = Result<T, DavError>;

impl DavError {
    pub fn status(code: StatusCode) -> Self {
        DavError::Status(code)
    }
    pub fn bad_request(msg: impl Into<String>) -> Self {
        DavError::StatusWithMessage(StatusCode::BAD_REQUEST, msg.into())
    }
    pub fn forbidden(msg: impl Into<String>) -> Self {
        DavError::StatusWithMessage(StatusCode::FORBIDDEN, msg.into())
    }
    pub fn conflict(msg: impl Into<String>) -> Self {
        DavError::StatusWithMessage(StatusCode::CONFLICT, msg.into())
    }
    pub fn not_found() -> Self {
        DavError::Status(StatusCode::NOT_FOUND)
    }
    pub fn condition(code: StatusCode, c: impl Into<Condition>) -> Self {
        DavError::Condition(code, c.into())
    }

    /// 403 with a precondition element (RFC 4918 §16).
    pub fn forbidden_by(p: Precondition) -> Self {
        DavError::Condition(StatusCode::FORBIDDEN, p.into())
    }

    /// Convert a store error, naming a lock root (of `Locked` and
    /// `LockConflict`) by its href for this request.
    pub fn from_store(req: &DavRequest<'_>, e: StoreError) -> Self {
        match e {
            StoreError::Locked { ref root } | StoreError::LockConflict { ref root } => {
                let href = req.href(root);
                DavError::Locked { error: e, href }
            }
            other => DavError::Store(other),
        }
    }

    pub fn status_code(&self) -> StatusCode {
        match self {
            DavError::Status(s) | DavError::StatusWithMessage(s, _) | DavError::Condition(s, _) => *s,
            DavError::Store(e) | DavError::Locked { error: e, .. } => store_status(e),
            DavError::Xml(_) | DavError::Path(_) => StatusCode::BAD_REQUEST,
            DavError::Compute(crate::compute::ComputeError::Closed) => StatusCode::SERVICE_UNAVAILABLE,
            DavError::Compute(crate::compute::ComputeError::Failed) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The single mapping from errors to responses.
    pub fn into_response(self) -> Response {
        let status = self.status_code();
        match self {
            DavError::Condition(_, c) => xml_response(status, c.to_xml()),
            DavError::Store(StoreError::QuotaExceeded) => {
                xml_response(status, Condition::from(conditions::QUOTA_NOT_EXCEEDED).to_xml())
            }
            DavError::Store(StoreError::InvalidSyncToken) => {
                xml_response(status, Condition::from(conditions::VALID_SYNC_TOKEN).to_xml())
            }
            DavError::Store(ref e @ StoreError::TooManyLocks { .. }) => {
                super::response::text(status, &format!("{e}; remove some (UNLOCK) or let them expire\n"))
            }
            DavError::Locked { error, href } => xml_response(status, lock_condition(&error, href).to_xml()),
            // Not converted with `from_store`: without the request's base
            // path, the root's encoded path stands for its href.
            DavError::Store(ref e @ (StoreError::Locked { ref root } | StoreError::LockConflict { ref root })) => {
                xml_response(status, lock_condition(e, super::path::href("", root)).to_xml())
            }
            DavError::Store(ref e) if status.is_server_error() => {
                tracing::error!(error = %e, "store failure");
                super::response::text(status, "internal storage error\n")
            }
            DavError::Status(s) => {
                super::response::text(s, &format!("{}\n", s.canonical_reason().unwrap_or("error")))
            }
            other => super::response::text(status, &format!("{other}\n")),
        }
    }
}

/// RFC 4918 §16: a write must submit the token of a lock covering what it
/// changes (`lock-token-submitted`); a new lock must not conflict with an
/// existing one (`no-conflicting-lock`). `href` names the existing lock's root.
fn lock_condition(e: &StoreError, href: String) -> Condition {
    match e {
        StoreError::LockConflict { .. } => Condition::with_hrefs(conditions::NO_CONFLICTING_LOCK, vec![href]),
        _ => Condition::with_hrefs(conditions::LOCK_TOKEN_SUBMITTED, vec![href]),
    }
}

fn store_status(e: &StoreError) -> StatusCode {
    match e {
        StoreError::NotFound => StatusCode::NOT_FOUND,
        StoreError::AlreadyExists => StatusCode::METHOD_NOT_ALLOWED,
        StoreError::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
        StoreError::MissingParent => StatusCode::CONFLICT,
        StoreError::QuotaExceeded => StatusCode::INSUFFICIENT_STORAGE,
        StoreError::InvalidSyncToken => StatusCode::FORBIDDEN,
        // Handlers name the conflicting href (`Condition::NoUidConflict`).
        StoreError::UidConflict { .. } => StatusCode::FORBIDDEN,
        StoreError::Locked { .. } | StoreError::LockConflict { .. } => StatusCode::LOCKED,
        // RFC 4918 §11.5: the server cannot store what the request needs
        // (here, one more lock) — a temporary condition, gone once locks are
        // removed or expire, which 403 would not say.
        StoreError::TooManyLocks { .. } => StatusCode::INSUFFICIENT_STORAGE,
        StoreError::Invalid(_) => StatusCode::BAD_REQUEST,
        StoreError::JobGone => StatusCode::CONFLICT,
        StoreError::Database(_) | StoreError::Migration(_) => StatusCode::SERVICE_UNAVAILABLE,
    }
}
