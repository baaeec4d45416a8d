//! The `DAV:multistatus` response body (RFC 4918 §13, §14.16).

use http::StatusCode;

use super::property::{write_property, PropName, PropValue};
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
    /// A precondition element (namespace, name) for `DAV:error` inside the
    /// propstat (RFC 4918 §14.22).
    pub error: Option<(&'static str, &'static str)>,
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
    pub fn status_error_response(&mut self, href: &str, status: StatusCode, error: (&str, &str)) {
        self.w.start(NS_DAV, "response");
        self.w.text_element(NS_DAV, "href", href);
        self.w.text_element(NS_DAV, "status", &status_line(status));
        self.w.start(NS_DAV, "error");
        self.w.empty(error.0, error.1);
        self.w.end();
        self.w.end();
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
        if let Some((ns, condition)) = group.error {
            w.start(NS_DAV, "error");
            w.empty(ns, condition);
            w.end();
        }
        w.end();
    }
}

/// The body of a failed extended MKCOL (RFC 5689 §5.2): the propstats.
pub fn mkcol_response(groups: &[PropStat]) -> String {
    let mut w = XmlWriter::new();
    w.root(NS_DAV, "mkcol-response");
    write_propstats(&mut w, groups);
    w.finish()
}
