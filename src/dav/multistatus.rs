//! The `DAV:multistatus` response body (RFC 4918 §13, §14.16).

use http::StatusCode;

use super::property::{write_property, PropName, PropValue};
use super::error::{conditions, Precondition};
use super::DavRequest;
use crate::xml::{XmlWriter, NS_DAV};

pub struct MultiStatus {
    w: XmlWriter,
}

impl Default for MultiStatus {
    fn default() -> Self {
        Self::new()
    }
}

/// The properties of one `propstat` and its status.
pub struct PropStat {
    pub status: StatusCode,
    pub props: Vec<(PropName, PropValue)>,
    /// A precondition element for `DAV:error` inside the propstat (RFC
    /// 4918 §14.22).
    pub error: Option<Precondition>,
}

pub fn status_line(status: StatusCode) -> std::borrow::Cow<'static, str> {
    match status {
        StatusCode::OK => "HTTP/1.1 200 OK".into(),
        StatusCode::NOT_FOUND => "HTTP/1.1 404 Not Found".into(),
        _ => format!("HTTP/1.1 {} {}", status.as_u16(), status.canonical_reason().unwrap_or("")).into(),
    }
}

impl MultiStatus {
    pub fn new() -> Self {
        Self::with_capacity(0)
    }

    /// A multistatus whose body is expected to take about `bytes` (a
    /// multiget: the objects' sizes), allocated once.
    pub fn with_capacity(bytes: usize) -> Self {
        let mut w = XmlWriter::with_capacity(bytes);
        w.root(NS_DAV, "multistatus");
        MultiStatus { w }
    }

    /// A `response` with one propstat per status (empty groups are skipped;
    /// with none left, one empty 200 propstat, since a response needs a
    /// propstat or a status — RFC 4918 §14.24).
    pub fn propstat_response(&mut self, href: &str, groups: &[PropStat]) {
        self.w.start(NS_DAV, "response");
        self.w.text_element(NS_DAV, "href", href);
        if groups.iter().all(|g| g.props.is_empty()) {
            self.w.start(NS_DAV, "propstat");
            self.w.empty(NS_DAV, "prop");
            self.w.text_element(NS_DAV, "status", &status_line(StatusCode::OK));
            self.w.end();
        }
        write_propstats(&mut self.w, groups);
        self.w.end();
    }

    /// A `response` with a status instead of properties (RFC 4918 §14.24),
    /// e.g. 404 for a missing multiget href or a deleted sync member.
    pub fn status_response(&mut self, href: &str, status: StatusCode) {
        self.w.start(NS_DAV, "response");
        self.w.text_element(NS_DAV, "href", href);
        self.w.text_element(NS_DAV, "status", &status_line(status));
        self.w.end();
    }

    /// A `response` with a status and a `DAV:error` precondition element
    /// (RFC 4918 §14.5), e.g. 507 with `number-of-matches-within-limits`.
    pub fn status_error_response(&mut self, href: &str, status: StatusCode, error: Precondition) {
        self.w.start(NS_DAV, "response");
        self.w.text_element(NS_DAV, "href", href);
        self.w.text_element(NS_DAV, "status", &status_line(status));
        self.w.start(NS_DAV, "error");
        self.w.empty(error.ns, error.name);
        self.w.end();
        self.w.end();
    }

    /// A 507 `response` for `href` saying that the result was cut at a
    /// server limit (RFC 4791 §7.8, RFC 6352 §8.6.2 postcondition
    /// `DAV:number-of-matches-within-limits`), with why in
    /// `responsedescription` (RFC 4918 §14.25).
    pub fn cut_response(&mut self, href: &str, why: &str) {
        self.w.start(NS_DAV, "response");
        self.w.text_element(NS_DAV, "href", href);
        self.w.text_element(NS_DAV, "status", &status_line(StatusCode::INSUFFICIENT_STORAGE));
        self.w.start(NS_DAV, "error");
        self.w.empty(conditions::NUMBER_OF_MATCHES_WITHIN_LIMITS.ns, conditions::NUMBER_OF_MATCHES_WITHIN_LIMITS.name);
        self.w.end();
        self.w.text_element(NS_DAV, "responsedescription", why);
        self.w.end();
    }

    /// Bytes of the body so far.
    pub fn len(&self) -> usize {
        self.w.len()
    }

    /// Drop what was written after `len` (a whole `response` that turned
    /// out too large): the body is then as it was.
    pub fn truncate(&mut self, len: usize) {
        self.w.truncate(len);
    }

    pub fn is_empty(&self) -> bool {
        self.w.is_empty()
    }

    /// An element after the responses, e.g. RFC 6578's `sync-token`.
    pub fn text_element(&mut self, ns: &str, name: &str, text: &str) {
        self.w.text_element(ns, name, text);
    }

    /// Write a whole `response` element directly (reports that render
    /// their own properties, e.g. `calendar-data`).
    pub fn writer(&mut self) -> &mut XmlWriter {
        &mut self.w
    }

    pub fn finish(self) -> String {
        self.w.finish()
    }
}

/// One `propstat` per non-empty group, with its optional `DAV:error`.
fn write_propstats(w: &mut XmlWriter, groups: &[PropStat]) {
    for group in groups.iter().filter(|g| !g.props.is_empty()) {
        w.start(NS_DAV, "propstat");
        w.start(NS_DAV, "prop");
        for (name, value) in &group.props {
            write_property(w, name, value);
        }
        w.end();
        w.text_element(NS_DAV, "status", &status_line(group.status));
        if let Some(condition) = group.error {
            w.start(NS_DAV, "error");
            w.empty(condition.ns, condition.name);
            w.end();
        }
        w.end();
    }
}

/// Why a report's answer stops short: a 507 for the request URI says so
/// (RFC 4791 §7.8, §7.9 and RFC 6352 §8.6.2 postcondition
/// `DAV:number-of-matches-within-limits`; RFC 5323 §5.17 for `DAV:limit`),
/// never a silently shorter answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// The client's `DAV:limit` was reached.
    Limit,
    /// An object has more recurrence instances in the range than the
    /// server evaluates for one object (the calendar's `max-instances`,
    /// RFC 4791 §5.2.8, or the iteration cap of its rules).
    Instances,
    /// The answer would grow beyond the server's `max_report_bytes`.
    Bytes,
    /// The request's work budget (`max_instances_per_request`) is spent.
    Budget,
}

impl Cut {
    /// Why, for `DAV:responsedescription`.
    pub fn describe(self) -> &'static str {
        match self {
            Cut::Limit => "the result was cut at the requested limit",
            Cut::Instances => "an object has more recurrence instances in the range than the server evaluates (max-instances)",
            Cut::Bytes => "the result exceeds the largest answer this server builds",
            Cut::Budget => "the result needs more recurrence instances than this server computes for one request",
        }
    }
}

/// Close a cut answer with the 507 response for the request URI.
pub fn write_cut(req: &DavRequest<'_>, ms: &mut MultiStatus, cut: Cut) {
    // The Request-URI as the client wrote it (a collection or a member).
    let path = if req.path.trailing_slash { req.path.collection_path() } else { req.path.object_path() };
    let href = req.href(&path);
    match cut {
        // RFC 6352 §8.6.2 names the postcondition for a limit too.
        Cut::Limit => ms.status_error_response(&href, StatusCode::INSUFFICIENT_STORAGE, conditions::NUMBER_OF_MATCHES_WITHIN_LIMITS),
        other => ms.cut_response(&href, other.describe()),
    }
}

/// The generated property of one object in a report (`calendar-data`,
/// `address-data`).
pub enum ObjectData {
    NotAsked,
    /// Asked for, but the stored bytes no longer parse (they did when
    /// stored): a 404 propstat.
    Missing,
    Value(PropValue),
}

impl ObjectData {
    /// About the bytes it adds to the answer (text is escaped).
    pub fn size(&self) -> usize {
        match self {
            ObjectData::Value(PropValue::Stored(b)) => b.len() + b.len() / 16,
            ObjectData::Value(PropValue::Text(t)) => t.len() + t.len() / 16,
            _ => 0,
        }
    }
}

/// Lets other tasks of the worker run while a large answer is written:
/// after each megabyte, the writing task yields once.
#[derive(Default)]
pub struct Pace {
    written: usize,
}

impl Pace {
    const STEP: usize = 1024 * 1024;

    pub async fn step(&mut self, ms: &MultiStatus) {
        if ms.len() >= self.written + Self::STEP {
            self.written = ms.len();
            tokio::task::yield_now().await;
        }
    }
}

/// Bytes a report `response` takes besides its generated data (href,
/// status, the usual properties), for the size budget.
pub const RESPONSE_OVERHEAD: usize = 512;

/// The body of a failed extended MKCOL (RFC 5689 §5.2): the propstats.
pub fn mkcol_response(groups: &[PropStat]) -> String {
    let mut w = XmlWriter::new();
    w.root(NS_DAV, "mkcol-response");
    write_propstats(&mut w, groups);
    w.finish()
}
