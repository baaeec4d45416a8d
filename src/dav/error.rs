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
use crate::xml::{XmlError, XmlWriter, NS_CALDAV, NS_CARDDAV, NS_DAV};

/// Preconditions and postconditions with a defined element (RFC 4918 §16,
/// RFC 3253 §3.6, RFC 4331 §6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    /// RFC 4918 §9.1: Depth: infinity PROPFIND is refused.
    PropfindFiniteDepth,
    /// RFC 4918 §9.2: a protected property cannot be changed.
    CannotModifyProtectedProperty,
    /// RFC 4918 §9.11: UNLOCK token does not cover the Request-URI.
    LockTokenMatchesRequestUri,
    /// RFC 4918 §9.10: a lock conflicts; the hrefs are lock roots when known.
    NoConflictingLock(Vec<String>),
    /// RFC 4918 §16: the request should have carried a lock token for these hrefs.
    LockTokenSubmitted(Vec<String>),
    /// RFC 4331 §6: the write would exceed the quota.
    QuotaNotExceeded,
    /// RFC 3253 §3.6: the REPORT is not supported on this resource.
    SupportedReport,
    /// RFC 6578 §3.2: the sync token is not one this collection issued.
    ValidSyncToken,
    /// RFC 5323 §5.17 / RFC 6578 §3.6: more results than `DAV:limit` allows.
    NumberOfMatchesWithinLimits,
    /// A CalDAV precondition (RFC 4791 §5.3.2.1, §7.8, §9) without content,
    /// e.g. `valid-calendar-data`.
    Caldav(&'static str),
    /// A CardDAV precondition (RFC 6352 §6.3.2.1, §8.6), e.g. `valid-address-data`.
    Carddav(&'static str),
    /// RFC 4791 §5.3.2.1 / RFC 6352 §6.3.2.1: `no-uid-conflict`, with the
    /// href of the resource already holding the UID; `namespace` is the
    /// CalDAV or CardDAV namespace.
    NoUidConflict { namespace: &'static str, href: String },
    /// RFC 6352 §8.6 `supported-filter`, naming the prop-filters the
    /// server cannot answer.
    SupportedFilter(Vec<String>),
}

impl Condition {
    fn namespace(&self) -> &'static str {
        match self {
            Condition::Caldav(_) => NS_CALDAV,
            Condition::Carddav(_) | Condition::SupportedFilter(_) => NS_CARDDAV,
            Condition::NoUidConflict { namespace, .. } => namespace,
            _ => NS_DAV,
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Condition::ValidSyncToken => "valid-sync-token",
            Condition::NumberOfMatchesWithinLimits => "number-of-matches-within-limits",
            Condition::Caldav(name) | Condition::Carddav(name) => name,
            Condition::NoUidConflict { .. } => "no-uid-conflict",
            Condition::PropfindFiniteDepth => "propfind-finite-depth",
            Condition::CannotModifyProtectedProperty => "cannot-modify-protected-property",
            Condition::LockTokenMatchesRequestUri => "lock-token-matches-request-uri",
            Condition::NoConflictingLock(_) => "no-conflicting-lock",
            Condition::LockTokenSubmitted(_) => "lock-token-submitted",
            Condition::QuotaNotExceeded => "quota-not-exceeded",
            Condition::SupportedReport => "supported-report",
            Condition::SupportedFilter(_) => "supported-filter",
        }
    }

    fn hrefs(&self) -> &[String] {
        match self {
            Condition::NoConflictingLock(h) | Condition::LockTokenSubmitted(h) => h,
            Condition::NoUidConflict { href, .. } => std::slice::from_ref(href),
            _ => &[],
        }
    }

    /// A `supported-filter` that names prop-filters (None otherwise).
    fn as_nonempty_filter(&self) -> Option<&Vec<String>> {
        match self {
            Condition::SupportedFilter(names) if !names.is_empty() => Some(names),
            _ => None,
        }
    }

    /// `<D:error><D:name>…</D:name></D:error>`
    pub fn to_xml(&self) -> String {
        let mut w = XmlWriter::new();
        w.root(NS_DAV, "error");
        if let Some(names) = self.as_nonempty_filter() {
            w.start(self.namespace(), self.name());
            for name in names {
                w.raw(&format!("<CR:prop-filter name=\"{}\"/>", crate::xml::escape_text(name).replace('"', "&quot;")));
            }
            w.end();
        } else if self.hrefs().is_empty() {
            w.empty(self.namespace(), self.name());
        } else {
            w.start(self.namespace(), self.name());
            for h in self.hrefs() {
                w.text_element(NS_DAV, "href", h);
            }
            w.end();
        }
        w.finish()
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
    pub fn condition(code: StatusCode, c: Condition) -> Self {
        DavError::Condition(code, c)
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
            DavError::Store(StoreError::QuotaExceeded) => xml_response(status, Condition::QuotaNotExceeded.to_xml()),
            DavError::Store(StoreError::InvalidSyncToken) => xml_response(status, Condition::ValidSyncToken.to_xml()),
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
        StoreError::LockConflict { .. } => Condition::NoConflictingLock(vec![href]),
        _ => Condition::LockTokenSubmitted(vec![href]),
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
        StoreError::Database(_) | StoreError::Migration(_) => StatusCode::SERVICE_UNAVAILABLE,
    }
}
