//! `GET /metrics`: what an operator's Prometheus scrapes, in the
//! OpenMetrics text format (which Prometheus reads), written by the
//! Prometheus project's client (`prometheus-client`), served on its own
//! listener (`metrics_listen`) and never on the public one.
//!
//! The counters are process-wide ([`metrics()`]): each request, failed
//! login, email or BigBlueButton call adds to an atomic counter found by a
//! label set of enums — no string is built on the hot path. What is a
//! state rather than an event — the database pool, the outbox's depth —
//! is read when scraped.
//!
//! | series | what |
//! |---|---|
//! | `almanach_http_requests_total{method,route,status}` | answered requests |
//! | `almanach_http_request_duration_seconds{route}` | their latency (histogram) |
//! | `almanach_http_requests_in_flight` | requests being answered |
//! | `almanach_db_connections{state}` | `in_use`, `idle`, `max` |
//! | `almanach_db_waiting` | tasks waiting for a connection |
//! | `almanach_login_failures_total` | wrong credentials (HTTP Basic) |
//! | `almanach_rate_limited_total` | requests refused by the login throttle (429) |
//! | `almanach_outbox_jobs{topic}` | jobs queued, per topic (deliveries, emails, visio) |
//! | `almanach_emails_total{outcome}` | iMIP emails `sent` or `failed` |
//! | `almanach_bbb_calls_total{call,outcome}` | BigBlueButton API calls, `ok` or `error` |

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use http::{header, Method, Request, StatusCode};
use hyper::body::Incoming;
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;

use crate::app::AppState;
use crate::dav::response::{text, with_body, Response};

/// The path the metrics are served at, on the metrics listener.
pub const PATH: &str = "/metrics";

/// A label value spelled by `as_str` (the derive would spell the variant).
macro_rules! label_value {
    ($t:ty) => {
        impl EncodeLabelValue for $t {
            fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
                std::fmt::Write::write_str(encoder, self.as_str())
            }
        }
    };
}

/// The methods a DAV client sends; anything else is `other`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MethodLabel {
    Get,
    Head,
    Put,
    Delete,
    Options,
    Propfind,
    Proppatch,
    Report,
    Mkcol,
    Mkcalendar,
    Copy,
    Move,
    Lock,
    Unlock,
    Post,
    Other,
}

impl MethodLabel {
    pub fn of(method: &Method) -> MethodLabel {
        match method.as_str() {
            "GET" => MethodLabel::Get,
            "HEAD" => MethodLabel::Head,
            "PUT" => MethodLabel::Put,
            "DELETE" => MethodLabel::Delete,
            "OPTIONS" => MethodLabel::Options,
            "PROPFIND" => MethodLabel::Propfind,
            "PROPPATCH" => MethodLabel::Proppatch,
            "REPORT" => MethodLabel::Report,
            "MKCOL" => MethodLabel::Mkcol,
            "MKCALENDAR" => MethodLabel::Mkcalendar,
            "COPY" => MethodLabel::Copy,
            "MOVE" => MethodLabel::Move,
            "LOCK" => MethodLabel::Lock,
            "UNLOCK" => MethodLabel::Unlock,
            "POST" => MethodLabel::Post,
            _ => MethodLabel::Other,
        }
    }

    fn as_str(&self) -> &'static str {
        match self {
            MethodLabel::Get => "GET",
            MethodLabel::Head => "HEAD",
            MethodLabel::Put => "PUT",
            MethodLabel::Delete => "DELETE",
            MethodLabel::Options => "OPTIONS",
            MethodLabel::Propfind => "PROPFIND",
            MethodLabel::Proppatch => "PROPPATCH",
            MethodLabel::Report => "REPORT",
            MethodLabel::Mkcol => "MKCOL",
            MethodLabel::Mkcalendar => "MKCALENDAR",
            MethodLabel::Copy => "COPY",
            MethodLabel::Move => "MOVE",
            MethodLabel::Lock => "LOCK",
            MethodLabel::Unlock => "UNLOCK",
            MethodLabel::Post => "POST",
            MethodLabel::Other => "other",
        }
    }
}
label_value!(MethodLabel);

/// What a request addressed, by the shape of its path (the WebDAV
/// resource is only known once resolved: a path ending with `/` or naming
/// a home or the root is a collection, `/principals/…` a principal).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RouteKind {
    DavCollection,
    DavObject,
    DavPrincipal,
    WellKnown,
    Health,
    Visio,
    Account,
    Metrics,
}

impl RouteKind {
    /// The kind of `path`, below the base path.
    pub fn of(local: &str) -> RouteKind {
        if local == "/health" {
            return RouteKind::Health;
        }
        if local.starts_with("/.well-known/") {
            return RouteKind::WellKnown;
        }
        if local.starts_with(crate::visio::PATH) {
            return RouteKind::Visio;
        }
        if local == "/account" || local.starts_with("/account/") {
            return RouteKind::Account;
        }
        if local == PATH {
            return RouteKind::Metrics;
        }
        if local.starts_with("/principals/") || local == "/principals" {
            return RouteKind::DavPrincipal;
        }
        // `/`, `/calendars/`, `/calendars/alice`: collections whatever
        // their spelling; below a home, the trailing slash says.
        let depth = local.split('/').filter(|s| !s.is_empty()).count();
        if local.ends_with('/') || depth <= 2 {
            RouteKind::DavCollection
        } else {
            RouteKind::DavObject
        }
    }

    fn as_str(&self) -> &'static str {
        match self {
            RouteKind::DavCollection => "dav_collection",
            RouteKind::DavObject => "dav_object",
            RouteKind::DavPrincipal => "dav_principal",
            RouteKind::WellKnown => "well_known",
            RouteKind::Health => "health",
            RouteKind::Visio => "visio",
            RouteKind::Account => "account",
            RouteKind::Metrics => "metrics",
        }
    }
}
label_value!(RouteKind);

/// How a call to another service ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    Ok,
    Error,
}

impl Outcome {
    fn as_str(&self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Error => "error",
        }
    }
}
label_value!(Outcome);

/// How an email ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EmailOutcome {
    Sent,
    Failed,
}

impl EmailOutcome {
    fn as_str(&self) -> &'static str {
        match self {
            EmailOutcome::Sent => "sent",
            EmailOutcome::Failed => "failed",
        }
    }
}
label_value!(EmailOutcome);

/// The BigBlueButton API calls Almanach makes (`visio::bbb`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BbbCall {
    Create,
    IsMeetingRunning,
    GetMeetingInfo,
    End,
    Other,
}

impl BbbCall {
    pub fn of(call: &str) -> BbbCall {
        match call {
            "create" => BbbCall::Create,
            "isMeetingRunning" => BbbCall::IsMeetingRunning,
            "getMeetingInfo" => BbbCall::GetMeetingInfo,
            "end" => BbbCall::End,
            _ => BbbCall::Other,
        }
    }

    fn as_str(&self) -> &'static str {
        match self {
            BbbCall::Create => "create",
            BbbCall::IsMeetingRunning => "isMeetingRunning",
            BbbCall::GetMeetingInfo => "getMeetingInfo",
            BbbCall::End => "end",
            BbbCall::Other => "other",
        }
    }
}
label_value!(BbbCall);

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RequestLabels {
    method: MethodLabel,
    route: RouteKind,
    status: u16,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct RouteLabels {
    route: RouteKind,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct StateLabels {
    state: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct TopicLabels {
    topic: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct EmailLabels {
    outcome: EmailOutcome,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
struct BbbLabels {
    call: BbbCall,
    outcome: Outcome,
}

fn latency_histogram() -> Histogram {
    // 1 ms to about 16 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

/// Every series of the process.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram, fn() -> Histogram>,
    in_flight: Gauge,
    db_connections: Family<StateLabels, Gauge>,
    db_waiting: Gauge,
    login_failures: Counter,
    rate_limited: Counter,
    outbox: Family<TopicLabels, Gauge>,
    emails: Family<EmailLabels, Counter>,
    bbb_calls: Family<BbbLabels, Counter>,
}

static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);

/// The process's metrics.
pub fn metrics() -> &'static Metrics {
    &METRICS
}

impl Metrics {
    fn new() -> Metrics {
        let mut registry = Registry::with_prefix("almanach");
        let m = Metrics {
            requests: Family::default(),
            latency: Family::new_with_constructor(latency_histogram),
            in_flight: Gauge::default(),
            db_connections: Family::default(),
            db_waiting: Gauge::default(),
            login_failures: Counter::default(),
            rate_limited: Counter::default(),
            outbox: Family::default(),
            emails: Family::default(),
            bbb_calls: Family::default(),
            registry: Registry::default(),
        };
        registry.register("http_requests", "HTTP requests answered, by method, route kind and status", m.requests.clone());
        registry.register("http_request_duration_seconds", "Time to answer a request, by route kind", m.latency.clone());
        registry.register("http_requests_in_flight", "Requests being answered", m.in_flight.clone());
        registry.register("db_connections", "Database connections: in_use, idle, max", m.db_connections.clone());
        registry.register("db_waiting", "Tasks waiting for a database connection to begin a transaction or a hot read", m.db_waiting.clone());
        registry.register("login_failures", "Logins refused for wrong credentials", m.login_failures.clone());
        registry.register("rate_limited", "Requests refused by the login throttle (429)", m.rate_limited.clone());
        registry.register("outbox_jobs", "Jobs queued in the outbox (scheduling deliveries, emails, visio), by topic", m.outbox.clone());
        registry.register("emails", "iMIP emails, sent or failed (each attempt)", m.emails.clone());
        registry.register("bbb_calls", "BigBlueButton API calls, by call and outcome", m.bbb_calls.clone());
        // Counters of events that may not have happened yet show as 0,
        // so that a dashboard finds them (and a rate is defined) at once.
        for outcome in [EmailOutcome::Sent, EmailOutcome::Failed] {
            let _ = m.emails.get_or_create(&EmailLabels { outcome });
        }
        for call in [BbbCall::Create, BbbCall::IsMeetingRunning, BbbCall::GetMeetingInfo, BbbCall::End] {
            for outcome in [Outcome::Ok, Outcome::Error] {
                let _ = m.bbb_calls.get_or_create(&BbbLabels { call, outcome });
            }
        }
        Metrics { registry, ..m }
    }

    /// A request starts: counted in flight until the guard is dropped,
    /// which records it (with `status`, set by [`InFlight::done`]).
    pub fn request(&'static self, method: &Method, route: RouteKind) -> InFlight {
        self.in_flight.inc();
        InFlight { metrics: self, method: MethodLabel::of(method), route, started: std::time::Instant::now(), status: 0 }
    }

    pub fn login_failure(&self) {
        self.login_failures.inc();
    }

    pub fn rate_limited(&self) {
        self.rate_limited.inc();
    }

    pub fn email(&self, outcome: EmailOutcome) {
        self.emails.get_or_create(&EmailLabels { outcome }).inc();
    }

    pub fn bbb_call(&self, call: BbbCall, outcome: Outcome) {
        self.bbb_calls.get_or_create(&BbbLabels { call, outcome }).inc();
    }

    /// The text a scrape answers: the states read now from `state`'s
    /// store, then every series.
    pub async fn render(&self, state: &AppState) -> Result<String, crate::store::StoreError> {
        let pool = state.store.pool_stats();
        for (name, value) in [("in_use", pool.in_use), ("idle", pool.idle), ("max", pool.max)] {
            self.db_connections.get_or_create(&StateLabels { state: name }).set(value as i64);
        }
        self.db_waiting.set(pool.waiting as i64);
        for topic in state.jobs.topics() {
            let depth = state.store.jobs_pending(topic).await?;
            self.outbox.get_or_create(&TopicLabels { topic }).set(depth);
        }
        let mut out = String::with_capacity(8192);
        prometheus_client::encoding::text::encode(&mut out, &self.registry).expect("writing to a String");
        Ok(out)
    }
}

/// A request being answered (see [`Metrics::request`]).
pub struct InFlight {
    metrics: &'static Metrics,
    method: MethodLabel,
    route: RouteKind,
    started: std::time::Instant,
    status: u16,
}

impl InFlight {
    /// The answer's status.
    pub fn done(&mut self, status: StatusCode) {
        self.status = status.as_u16();
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let m = self.metrics;
        m.in_flight.dec();
        // A request dropped before its answer (the client went away)
        // counts as status 0.
        m.requests.get_or_create(&RequestLabels { method: self.method, route: self.route, status: self.status }).inc();
        m.latency.get_or_create(&RouteLabels { route: self.route }).observe(self.started.elapsed().as_secs_f64());
    }
}

/// The OpenMetrics media type (RFC-less; Prometheus asks for it).
const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Answer one request of the metrics listener: `GET /metrics`, else 404.
async fn answer(state: &AppState, req: &Request<Incoming>) -> Response {
    if req.uri().path() != PATH {
        return text(StatusCode::NOT_FOUND, "not found\n");
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let mut r = text(StatusCode::METHOD_NOT_ALLOWED, "GET only\n");
        crate::dav::response::set_header(&mut r, header::ALLOW, "GET, HEAD");
        return r;
    }
    match metrics().render(state).await {
        Ok(body) => with_body(StatusCode::OK, CONTENT_TYPE, body),
        Err(e) => {
            tracing::error!(error = %e, "metrics: store failure");
            text(StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n")
        }
    }
}

/// Serve `GET /metrics` on `listener` (the `metrics_listen` address) until
/// `shutdown` completes. HTTP/1.1 only, no authentication: bind it where
/// only the scraper reaches it.
pub async fn serve(listener: TcpListener, state: Arc<AppState>, shutdown: impl std::future::Future<Output = ()>) {
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                };
                let state = state.clone();
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(move |req| {
                        let state = state.clone();
                        async move { Ok::<_, std::convert::Infallible>(answer(&state, &req).await) }
                    });
                    let io = hyper_util::rt::TokioIo::new(stream);
                    let conn = hyper::server::conn::http1::Builder::new()
                        .timer(hyper_util::rt::TokioTimer::new())
                        .header_read_timeout(Duration::from_secs(10))
                        .serve_connection(io, svc);
                    let _ = tokio::time::timeout(Duration::from_secs(60), conn).await;
                });
            }
            _ = &mut shutdown => break,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route_kinds() {
        for (path, kind) in [
            ("/", RouteKind::DavCollection),
            ("/calendars/alice", RouteKind::DavCollection),
            ("/calendars/alice/default/", RouteKind::DavCollection),
            ("/calendars/alice/default/x.ics", RouteKind::DavObject),
            ("/principals/alice/", RouteKind::DavPrincipal),
            ("/.well-known/caldav", RouteKind::WellKnown),
            ("/health", RouteKind::Health),
            ("/visio/abc", RouteKind::Visio),
            ("/account/", RouteKind::Account),
            ("/metrics", RouteKind::Metrics),
        ] {
            assert_eq!(RouteKind::of(path), kind, "{path}");
        }
    }
}
