//! One request: span, routing of the non-DAV endpoints (`/health`, the
//! well-known redirects, the visio join pages, the account page and a
//! browser's visit to `/`), authentication, body collection under the
//! size limit, then the WebDAV dispatch.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http::{header, Request, StatusCode};
use http_body_util::{BodyExt, Limited};
use super::bodies::{Held, SMALL_BODY};
use hyper::body::Incoming;
use tracing::{field, Instrument};

use crate::app::AppState;
use crate::auth::AuthError;
use crate::dav::path::DavPath;
use crate::dav::response::{empty, set_header, text, Response};
use crate::dav::{self, DavRequest};

pub async fn handle(state: Arc<AppState>, req: Request<Incoming>, peer: SocketAddr) -> Response {
    let started = Instant::now();
    let local = req.uri().path().strip_prefix(state.config.base_path()).unwrap_or(req.uri().path());
    let mut flight = crate::metrics::metrics().request(req.method(), crate::metrics::RouteKind::of(local));
    let span = tracing::info_span!(
        "request",
        method = %req.method(),
        path = %logged_path(&state, req.uri().path()),
        principal = field::Empty,
        status = field::Empty,
        duration_ms = field::Empty,
    );
    async move {
        let timeout = state.config.request_timeout;
        let resp = match tokio::time::timeout(timeout, route(&state, req, peer)).await {
            Ok(resp) => resp,
            Err(_) => text(StatusCode::SERVICE_UNAVAILABLE, "request timed out\n"),
        };
        flight.done(resp.status());
        let span = tracing::Span::current();
        span.record("status", resp.status().as_u16());
        span.record("duration_ms", started.elapsed().as_secs_f64() * 1000.0);
        tracing::info!("request");
        resp
    }
    .instrument(span)
    .await
}

/// The path as logged: a visio join page's token is a capability and is
/// never logged (`/visio/…`).
fn logged_path<'a>(state: &AppState, path: &'a str) -> std::borrow::Cow<'a, str> {
    let local = path.strip_prefix(state.config.base_path()).unwrap_or(path);
    match local.strip_prefix(crate::visio::PATH) {
        Some(rest) if !rest.is_empty() => {
            let tail = if rest.ends_with("/status") { "/status" } else { "" };
            format!("{}{}…{tail}", state.config.base_path(), crate::visio::PATH).into()
        }
        _ => path.into(),
    }
}

async fn route(state: &AppState, req: Request<Incoming>, peer: SocketAddr) -> Response {
    let path = req.uri().path().to_string();
    let base = state.config.base_path();
    let local = path.strip_prefix(base).unwrap_or(&path);
    match local {
        "/health" => return health(state).await,
        // Served on the metrics listener only (`metrics_listen`).
        crate::metrics::PATH => return text(StatusCode::NOT_FOUND, "not found\n"),
        // RFC 6764 §5: the context path of the CalDAV/CardDAV service.
        "/.well-known/caldav" | "/.well-known/carddav" | "/.well-known/caldav/" | "/.well-known/carddav/" => {
            let mut r = empty(StatusCode::MOVED_PERMANENTLY);
            set_header(&mut r, header::LOCATION, &format!("{base}/"));
            return r;
        }
        _ => {}
    }
    // The visio join pages: anonymous, the token in the URL is the
    // capability (crate::visio::page). No directory name yet: the account
    // page's session will give it.
    if let Some(rest) = local.strip_prefix(crate::visio::PATH) {
        let rest = rest.to_string();
        return crate::visio::page::handle(state, req, &rest, None).await;
    }
    // The account page: its own sessions (crate::web::account).
    if local == crate::web::account::PATH || local.starts_with("/account/") {
        let rest = local[crate::web::account::PATH.len()..].to_string();
        let client = client_address(state, &req, peer);
        return crate::web::account::handle(state, req, &rest, client).await;
    }
    // A person opening the server's address in a browser gets the account
    // page, not a bare 401; DAV clients (PROPFIND, or any request with
    // credentials) are answered as before.
    if local == "/" && crate::web::account::is_browser_visit(req.method(), req.headers()) {
        let mut r = empty(StatusCode::SEE_OTHER);
        set_header(&mut r, header::LOCATION, &crate::web::account::page_path(state));
        return r;
    }

    let client = client_address(state, &req, peer);
    let authorization = req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    let user = match state.auth.authenticate(authorization, client).await {
        Ok(user) => user,
        Err(e) => return discard_body(req, auth_failure(state, e)).await,
    };
    tracing::Span::current().record("principal", user.username.as_str());

    let dav_path = match DavPath::parse(&path, base) {
        Ok(p) => p,
        Err(e) => return discard_body(req, dav::error::DavError::from(e).into_response()).await,
    };
    let (parts, body) = req.into_parts();
    // The permit holds the body's bytes against the in-flight budget until
    // the request is answered.
    let (body, _held) = match read_body(state, user.id, &parts.headers, body).await {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    dav::handle(DavRequest {
        state,
        user: &user,
        method: &parts.method,
        headers: &parts.headers,
        authority: parts
            .headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .or_else(|| parts.uri.authority().map(|a| a.as_str())),
        path: dav_path,
        body,
        budget: crate::compute::Budget::new(state.config.max_instances_per_request),
    })
    .await
}

fn client_address(state: &AppState, req: &Request<Incoming>, peer: SocketAddr) -> IpAddr {
    if state.config.trust_forwarded_for {
        // The entry the trusted proxy appended: the last one of the last
        // header line (proxies may add a line rather than extend one).
        let forwarded = req
            .headers()
            .get_all("x-forwarded-for")
            .iter()
            .next_back()
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .and_then(|v| v.trim().parse().ok());
        if let Some(ip) = forwarded {
            return ip;
        }
    }
    peer.ip()
}

fn auth_failure(state: &AppState, e: AuthError) -> Response {
    match e {
        AuthError::Missing | AuthError::Invalid => {
            if matches!(e, AuthError::Invalid) {
                crate::metrics::metrics().login_failure();
            }
            let mut r = text(StatusCode::UNAUTHORIZED, "authentication required\n");
            let challenge = format!("Basic realm=\"{}\", charset=\"UTF-8\"", state.config.realm.replace('"', ""));
            set_header(&mut r, header::WWW_AUTHENTICATE, &challenge);
            r
        }
        AuthError::RateLimited(wait) => {
            crate::metrics::metrics().rate_limited();
            let mut r = text(StatusCode::TOO_MANY_REQUESTS, "too many failed login attempts\n");
            set_header(&mut r, header::RETRY_AFTER, &wait.as_secs().max(1).to_string());
            r
        }
        AuthError::Busy => {
            let mut r = text(StatusCode::SERVICE_UNAVAILABLE, "authentication is busy, retry shortly\n");
            set_header(&mut r, header::RETRY_AFTER, "1");
            r
        }
        AuthError::Store(e) => {
            tracing::error!(error = %e, "store failure during authentication");
            text(StatusCode::SERVICE_UNAVAILABLE, "service unavailable\n")
        }
    }
}

/// Most request-body bytes read and dropped to keep a connection usable.
const DRAIN_LIMIT: usize = 64 * 1024;

/// Finish a response sent without reading the request body (RFC 9112 §9.6):
/// a small declared body is read and dropped, so that the connection can
/// carry the client's next request (typically the same request with
/// credentials, after a 401); otherwise the connection is closed, and the
/// response says so (`Connection: close`), so that no client sends another
/// request on a connection that is going away.
async fn discard_body(req: Request<Incoming>, mut resp: Response) -> Response {
    if req.version() >= http::Version::HTTP_2 {
        // Streams end on their own; HTTP/2 forbids `Connection`.
        return resp;
    }
    let chunked = req.headers().contains_key(header::TRANSFER_ENCODING);
    let drained = match (declared_length(req.headers()), chunked) {
        (None | Some(0), false) => true,
        (Some(n), false) if n <= DRAIN_LIMIT as u64 => Limited::new(req.into_body(), DRAIN_LIMIT).collect().await.is_ok(),
        _ => false,
    };
    if !drained {
        set_header(&mut resp, header::CONNECTION, "close");
    }
    resp
}

fn declared_length(headers: &http::HeaderMap) -> Option<u64> {
    headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok())
}

/// Collect the body, answering 413 beyond the configured limit (checked on
/// `Content-Length` first, then while reading chunked bodies), 408 when the
/// client stops sending for `header_timeout`, and 503 when a large body
/// does not fit in the in-flight budget (see [`super::bodies`]). What it
/// holds of that budget is returned with it, to keep until the answer.
async fn read_body(
    state: &AppState,
    user: i64,
    headers: &http::HeaderMap,
    body: Incoming,
) -> Result<(Bytes, Held), Response> {
    let max = state.config.max_body_bytes;
    let declared = declared_length(headers);
    // The rest of the body stays unread: the connection is closed after
    // the answer (RFC 9112 §9.6).
    let closing = |status: StatusCode, msg: &str| {
        let mut r = text(status, msg);
        set_header(&mut r, header::CONNECTION, "close");
        r
    };
    let too_large = || closing(StatusCode::PAYLOAD_TOO_LARGE, &format!("request body larger than {max} bytes\n"));
    if declared.is_some_and(|n| n > max as u64) {
        return Err(too_large());
    }
    let mut held = state.bodies.hold(user);
    let mut collected = bytes::BytesMut::with_capacity(declared.unwrap_or(0).min(SMALL_BODY as u64) as usize);
    let mut body = Limited::new(body, max);
    loop {
        let frame = match tokio::time::timeout(state.config.header_timeout, body.frame()).await {
            Err(_) => return Err(closing(StatusCode::REQUEST_TIMEOUT, "the request body stopped arriving\n")),
            Ok(None) => break,
            Ok(Some(Ok(frame))) => frame,
            Ok(Some(Err(e))) if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() => return Err(too_large()),
            Ok(Some(Err(e))) => {
                tracing::debug!(error = %e, "failed to read request body");
                return Err(text(StatusCode::BAD_REQUEST, "could not read the request body\n"));
            }
        };
        let Ok(data) = frame.into_data() else { continue };
        // Bytes beyond the first SMALL_BODY are counted as they arrive.
        let counted_before = collected.len().saturating_sub(SMALL_BODY);
        let counted_after = (collected.len() + data.len()).saturating_sub(SMALL_BODY);
        if counted_after > counted_before && !state.bodies.take(&mut held, counted_after - counted_before) {
            let mut r = closing(StatusCode::SERVICE_UNAVAILABLE, "too many large requests at once, retry shortly\n");
            set_header(&mut r, header::RETRY_AFTER, "5");
            return Err(r);
        }
        collected.extend_from_slice(&data);
    }
    Ok((collected.freeze(), held))
}

async fn health(state: &AppState) -> Response {
    match state.store.ping().await {
        Ok(()) => text(StatusCode::OK, "ok\n"),
        Err(e) => {
            tracing::error!(error = %e, "health check failed");
            text(StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n")
        }
    }
}
