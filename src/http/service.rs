//! One request: span, routing of the non-DAV endpoints, authentication,
//! body collection under the size limit, then the WebDAV dispatch.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http::{header, Request, StatusCode};
use http_body_util::{BodyExt, Limited};
use tokio::sync::OwnedSemaphorePermit;
use hyper::body::Incoming;
use tracing::{field, Instrument};

use crate::app::AppState;
use crate::auth::AuthError;
use crate::dav::path::DavPath;
use crate::dav::response::{empty, set_header, text, Response};
use crate::dav::{self, DavRequest};

pub async fn handle(state: Arc<AppState>, req: Request<Incoming>, peer: SocketAddr) -> Response {
    let started = Instant::now();
    let span = tracing::info_span!(
        "request",
        method = %req.method(),
        path = %req.uri().path(),
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
        let span = tracing::Span::current();
        span.record("status", resp.status().as_u16());
        span.record("duration_ms", started.elapsed().as_secs_f64() * 1000.0);
        tracing::info!("request");
        resp
    }
    .instrument(span)
    .await
}

async fn route(state: &AppState, req: Request<Incoming>, peer: SocketAddr) -> Response {
    let path = req.uri().path().to_string();
    let base = state.config.base_path();
    let local = path.strip_prefix(base).unwrap_or(&path);
    match local {
        "/health" => return health(state).await,
        // RFC 6764 §5: the context path of the CalDAV/CardDAV service.
        "/.well-known/caldav" | "/.well-known/carddav" | "/.well-known/caldav/" | "/.well-known/carddav/" => {
            let mut r = empty(StatusCode::MOVED_PERMANENTLY);
            set_header(&mut r, header::LOCATION, &format!("{base}/"));
            return r;
        }
        _ => {}
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
    let (body, _held) = match read_body(state, &parts.headers, body).await {
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
            let mut r = text(StatusCode::UNAUTHORIZED, "authentication required\n");
            let challenge = format!("Basic realm=\"{}\", charset=\"UTF-8\"", state.config.realm.replace('"', ""));
            set_header(&mut r, header::WWW_AUTHENTICATE, &challenge);
            r
        }
        AuthError::RateLimited(wait) => {
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
/// `Content-Length` first, then while reading chunked bodies). Its bytes
/// are counted against `max_inflight_body_bytes` as they arrive, so that
/// many large bodies at once cannot exhaust memory: a request that does
/// not fit waits for others to finish, and gets 503 after `header_timeout`.
async fn read_body(
    state: &AppState,
    headers: &http::HeaderMap,
    body: Incoming,
) -> Result<(Bytes, Option<OwnedSemaphorePermit>), Response> {
    let max = state.config.max_body_bytes;
    let declared = declared_length(headers);
    // The rest of the body stays unread: the connection is closed after
    // the answer (RFC 9112 §9.6).
    let too_large = || {
        let mut r = text(StatusCode::PAYLOAD_TOO_LARGE, &format!("request body larger than {max} bytes\n"));
        set_header(&mut r, header::CONNECTION, "close");
        r
    };
    if declared.is_some_and(|n| n > max as u64) {
        return Err(too_large());
    }
    let mut held: Option<OwnedSemaphorePermit> = None;
    let busy = || {
        let mut r = text(StatusCode::SERVICE_UNAVAILABLE, "too many large requests at once, retry shortly\n");
        set_header(&mut r, header::RETRY_AFTER, "5");
        set_header(&mut r, header::CONNECTION, "close");
        r
    };
    if let Some(n) = declared {
        reserve(state, n as usize, &mut held).await.map_err(|_| busy())?;
    }
    let mut collected = bytes::BytesMut::with_capacity(declared.unwrap_or(0) as usize);
    let mut body = Limited::new(body, max);
    while let Some(frame) = body.frame().await {
        let frame = match frame {
            Ok(f) => f,
            Err(e) if e.downcast_ref::<http_body_util::LengthLimitError>().is_some() => return Err(too_large()),
            Err(e) => {
                tracing::debug!(error = %e, "failed to read request body");
                return Err(text(StatusCode::BAD_REQUEST, "could not read the request body\n"));
            }
        };
        if let Ok(data) = frame.into_data() {
            let beyond_declared = (collected.len() + data.len()).saturating_sub(declared.unwrap_or(0) as usize);
            let already_beyond = collected.len().saturating_sub(declared.unwrap_or(0) as usize);
            reserve(state, beyond_declared - already_beyond, &mut held).await.map_err(|_| busy())?;
            collected.extend_from_slice(&data);
        }
    }
    Ok((collected.freeze(), held))
}

/// Count `n` more body bytes against the in-flight budget, waiting up to
/// `header_timeout` for them; Err when they do not fit in time.
async fn reserve(state: &AppState, n: usize, held: &mut Option<OwnedSemaphorePermit>) -> Result<(), ()> {
    if n == 0 {
        return Ok(());
    }
    let n = u32::try_from(n).map_err(|_| ())?;
    let acquire = state.bodies.clone().acquire_many_owned(n);
    let permit = tokio::time::timeout(state.config.header_timeout, acquire).await.map_err(|_| ())?.map_err(|_| ())?;
    match held {
        Some(h) => h.merge(permit),
        None => *held = Some(permit),
    }
    Ok(())
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
