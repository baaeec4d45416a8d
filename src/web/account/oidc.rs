//! OpenID Connect login on the account page (ProConnect, an académie's
//! identity provider), with the `openidconnect` crate: the authorization
//! code flow (OpenID Connect Core 1.0 §3.1) with PKCE (RFC 7636, S256), a
//! state and a nonce.
//!
//! 1. `POST /account/oidc/start` (the login form's button, with its
//!    anti-forgery token): the provider's metadata (discovery, kept
//!    [`METADATA_TTL`]), a fresh state, nonce and PKCE verifier; the
//!    verifier and nonce are stored under the state's hash
//!    (`store::account`, so that any server process can take the callback),
//!    the state also in a cookie of this browser (`SameSite=Lax`: the
//!    callback is a top-level navigation from the provider's site), and a
//!    303 to the provider.
//! 2. `GET /account/oidc/callback?code&state`: the state must be this
//!    browser's and is taken once from the store; the code is exchanged
//!    with the verifier (client secret over HTTP Basic); the ID token's
//!    signature (the provider's published keys), issuer, audience (our
//!    client id), nonce and expiry are checked (§3.1.3.7, by the crate);
//!    the configured claim names the account ([`OidcClaim`]): `email`
//!    (not one the provider says is unverified) matched to the accounts'
//!    addresses, or `sub` / `preferred_username` matched to usernames. An
//!    identity with no enabled account gets a page that says so (403);
//!    one with an account gets a new session, as a password login.
//!
//! Nothing of the exchange is logged but the outcome; the code and state
//! travel in the callback's query, which the request log leaves out (it
//! logs paths only).

use std::sync::Mutex;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{header, Request, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, Nonce, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope,
    TokenResponse,
};
use sha2::{Digest, Sha256};

use super::{page, page_path, Failure};
use crate::app::AppState;
use crate::config::{OidcClaim, OidcConfig};
use crate::dav::response::{set_header, with_body, Response};
use crate::store::{now_millis, OidcLogin, Principal, PrincipalKind};
use crate::web::security::{add_cookie, constant_time_eq, cookie, cookie_header};

/// The cookie binding a login under way to the browser that started it.
const STATE_COOKIE: &str = "almanach_oidc";
/// How long a login may take at the provider.
const LOGIN_TTL: Duration = Duration::from_secs(600);
/// How long the provider's metadata (endpoints, keys) is used before it is
/// fetched again.
pub const METADATA_TTL: Duration = Duration::from_secs(600);
/// How long one call to the provider may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest answer read from the provider.
const MAX_ANSWER_BYTES: usize = 1024 * 1024;

/// The provider's metadata, once discovered.
#[derive(Default)]
pub struct MetadataCache(Mutex<Option<(Instant, CoreProviderMetadata)>>);

/// Why the provider could not be used (logged; the page says only that).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct CallError(String);

/// One HTTP/1.1 call to the provider on its own connection (`http`, or
/// `https` with the system's roots), no redirect followed (they would
/// open the server to request forgery), bounded in time and size.
async fn call(request: openidconnect::HttpRequest) -> Result<openidconnect::HttpResponse, CallError> {
    tokio::time::timeout(CALL_TIMEOUT, call_once(request)).await.map_err(|_| CallError("timed out".into()))?
}

async fn call_once(request: openidconnect::HttpRequest) -> Result<openidconnect::HttpResponse, CallError> {
    let err = |e: &dyn std::fmt::Display| CallError(e.to_string());
    let url = url::Url::parse(&request.uri().to_string()).map_err(|e| err(&e))?;
    let host = url.host_str().ok_or_else(|| CallError("no host".into()))?.to_string();
    let port = url.port_or_known_default().unwrap_or(80);
    let tcp = tokio::net::TcpStream::connect((host.trim_matches(['[', ']']), port)).await.map_err(|e| err(&e))?;
    let target = match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_string(),
    };
    let authority = match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.clone(),
    };
    let (parts, body) = request.into_parts();
    let mut builder = http::Request::builder().method(parts.method).uri(target).header(header::HOST, authority).header(header::USER_AGENT, "Almanach");
    for (name, value) in &parts.headers {
        builder = builder.header(name, value);
    }
    let request = builder.body(Full::new(Bytes::from(body))).map_err(|e| err(&e))?;
    if url.scheme() == "https" {
        let name = rustls::pki_types::ServerName::try_from(host.clone()).map_err(|e| err(&e))?;
        let tls = tokio_rustls::TlsConnector::from(crate::imip::transport::tls_config()).connect(name, tcp).await.map_err(|e| err(&e))?;
        send(hyper_util::rt::TokioIo::new(tls), request).await
    } else {
        send(hyper_util::rt::TokioIo::new(tcp), request).await
    }
}

async fn send<IO>(io: IO, request: http::Request<Full<Bytes>>) -> Result<openidconnect::HttpResponse, CallError>
where
    IO: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(io).await.map_err(|e| CallError(e.to_string()))?;
    let driver = tokio::spawn(conn);
    let result = async {
        let response = sender.send_request(request).await.map_err(|e| CallError(e.to_string()))?;
        let (parts, body) = response.into_parts();
        let body = Limited::new(body, MAX_ANSWER_BYTES).collect().await.map_err(|e| CallError(e.to_string()))?.to_bytes();
        Ok(http::Response::from_parts(parts, body.to_vec()))
    }
    .await;
    driver.abort();
    result
}

/// The provider's metadata: the cached one, or discovered now.
async fn metadata(state: &AppState, config: &OidcConfig) -> Result<CoreProviderMetadata, Failure> {
    if let Some((at, m)) = state.oidc_metadata.0.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
        if at.elapsed() < METADATA_TTL {
            return Ok(m.clone());
        }
    }
    let issuer = IssuerUrl::new(config.issuer.clone()).map_err(|e| unreachable_provider("issuer", &e))?;
    let m = CoreProviderMetadata::discover_async(issuer, &call).await.map_err(|e| unreachable_provider("discovery", &e))?;
    *state.oidc_metadata.0.lock().unwrap_or_else(|e| e.into_inner()) = Some((Instant::now(), m.clone()));
    Ok(m)
}

fn unreachable_provider(step: &str, e: &dyn std::fmt::Display) -> Failure {
    tracing::warn!(step, error = %e, "OpenID Connect provider unavailable");
    Failure::Unavailable
}

/// The origins the login form's OpenID Connect post may be redirected to
/// (CSP `form-action`): the issuer's, and the authorization endpoint's
/// once the metadata is known, when it differs.
pub fn form_action(state: &AppState) -> Option<String> {
    let config = state.config.oidc.as_ref()?;
    let mut origins = vec![crate::web::security::origin_of(&config.issuer)?];
    if let Some((_, m)) = state.oidc_metadata.0.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
        if let Some(o) = crate::web::security::origin_of(m.authorization_endpoint().as_str()).filter(|o| !origins.contains(o)) {
            origins.push(o);
        }
    }
    Some(origins.join(" "))
}

/// `BASE_URL/account/oidc/callback`, registered with the provider.
pub fn redirect_uri(state: &AppState) -> String {
    format!("{}{}/oidc/callback", state.config.base_url.trim_end_matches('/'), super::PATH)
}

fn state_hash(state: &str) -> [u8; 32] {
    Sha256::digest(state.as_bytes()).into()
}

/// POST /oidc/start (anti-forgery token checked by the caller): a 303 to
/// the provider's authorization endpoint.
pub async fn start(state: &AppState) -> Result<Response, Failure> {
    let config = state.config.oidc.as_ref().ok_or(Failure::NotFound)?;
    let client = CoreClient::from_provider_metadata(
        metadata(state, config).await?,
        ClientId::new(config.client_id.clone()),
        Some(ClientSecret::new(config.client_secret.expose().to_string())),
    )
    .set_redirect_uri(RedirectUrl::new(redirect_uri(state)).map_err(|e| unreachable_provider("redirect URI", &e))?);
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = client
        .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
        .set_pkce_challenge(challenge);
    request = match config.claim {
        OidcClaim::Email => request.add_scope(Scope::new("email".into())),
        OidcClaim::PreferredUsername => request.add_scope(Scope::new("profile".into())),
        OidcClaim::Subject => request,
    };
    let (url, csrf, nonce) = request.url();
    state
        .store
        .put_oidc_login(OidcLogin {
            state_hash: state_hash(csrf.secret()),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
            expires_at: now_millis() + LOGIN_TTL.as_millis() as i64,
        })
        .await?;
    let mut r = with_body(StatusCode::SEE_OTHER, "text/plain; charset=utf-8", "");
    set_header(&mut r, header::LOCATION, url.as_str());
    set_header(&mut r, header::CACHE_CONTROL, "no-store");
    add_cookie(&mut r, &lax_cookie(state, csrf.secret(), Some(LOGIN_TTL.as_secs())));
    Ok(r)
}

/// The state cookie: `SameSite=Lax`, so that the provider's redirect back
/// (a top-level GET from its site) carries it; only below the callback.
fn lax_cookie(state: &AppState, value: &str, max_age: Option<u64>) -> String {
    let path = format!("{}{}/oidc/", state.config.base_path(), super::PATH);
    cookie_header(&state.config.base_url, STATE_COOKIE, value, &path, max_age).replace("SameSite=Strict", "SameSite=Lax")
}

/// A refusal page (403) with the state cookie cleared.
fn refused(state: &AppState, text: &str) -> Response {
    let body = super::view::notice_page(text, &page_path(state));
    let mut r = page(StatusCode::FORBIDDEN, "Connexion refusée", &body, false);
    add_cookie(&mut r, &lax_cookie(state, "", Some(0)));
    r
}

/// The account that holds `email` as a current address. A former one
/// still identifies its old holder for scheduling (replies to old
/// invitations), but the provider may have given it to someone else since:
/// it never logs in.
async fn current_holder(state: &AppState, email: &str) -> Result<Option<crate::store::Principal>, Failure> {
    let Some(p) = state.store.principal_by_email(email).await? else { return Ok(None) };
    let current = state.store.principal_emails(p.id).await?;
    Ok(current.iter().any(|e| !e.former && e.address.eq_ignore_ascii_case(email)).then_some(p))
}

/// GET /oidc/callback.
pub async fn callback(state: &AppState, req: &Request<Incoming>) -> Result<Response, Failure> {
    let config = state.config.oidc.as_ref().ok_or(Failure::NotFound)?;
    let query: Vec<(String, String)> = url::form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes()).into_owned().collect();
    let param = |n: &str| query.iter().find(|(k, _)| k == n).map(|(_, v)| v.as_str());
    if let Some(error) = param("error") {
        // An OAuth error code (RFC 6749 §4.1.2.1: %x20-21 / %x23-5B /
        // %x5D-7E); anyone can send this URL, so only that, and short.
        let error: String = error.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_').take(64).collect();
        tracing::info!(error, "OpenID Connect login refused by the provider");
        return Ok(refused(state, "Le fournisseur d'identité n'a pas autorisé la connexion."));
    }
    let (Some(code), Some(returned_state)) = (param("code"), param("state")) else { return Err(Failure::BadRequest) };
    // The state must be the one this browser was given (login CSRF), and
    // a login is taken once.
    // Checked before the store is touched: a request without this
    // browser's cookie costs nothing but this comparison.
    let ours = cookie(req.headers(), STATE_COOKIE).is_some_and(|c| constant_time_eq(c.as_bytes(), returned_state.as_bytes()));
    let login = if ours { state.store.take_oidc_login(state_hash(returned_state), now_millis()).await? } else { None };
    let Some(login) = login else {
        return Ok(refused(state, "Cette connexion a expiré ou n'a pas été commencée dans ce navigateur. Recommencez depuis la page du compte."));
    };
    let client = CoreClient::from_provider_metadata(
        metadata(state, config).await?,
        ClientId::new(config.client_id.clone()),
        Some(ClientSecret::new(config.client_secret.expose().to_string())),
    )
    .set_redirect_uri(RedirectUrl::new(redirect_uri(state)).map_err(|e| unreachable_provider("redirect URI", &e))?);
    let exchange = client.exchange_code(AuthorizationCode::new(code.to_string())).map_err(|e| unreachable_provider("token endpoint", &e))?;
    let tokens = match exchange.set_pkce_verifier(PkceCodeVerifier::new(login.pkce_verifier)).request_async(&call).await {
        Ok(t) => t,
        Err(e) => {
            tracing::warn!(error = %e, "OpenID Connect code exchange failed");
            return Ok(refused(state, "La connexion n'a pas pu être vérifiée auprès du fournisseur d'identité."));
        }
    };
    let Some(id_token) = tokens.id_token() else {
        tracing::warn!("OpenID Connect token response without an ID token");
        return Ok(refused(state, "La connexion n'a pas pu être vérifiée auprès du fournisseur d'identité."));
    };
    // Signature, issuer, audience, expiry and nonce (OpenID Connect Core
    // §3.1.3.7).
    let claims = match id_token.claims(&client.id_token_verifier(), &Nonce::new(login.nonce)) {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(error = %e, "OpenID Connect ID token refused");
            return Ok(refused(state, "La connexion n'a pas pu être vérifiée : le jeton d'identité est invalide."));
        }
    };
    let (principal, named) = match config.claim {
        OidcClaim::Email => {
            // Only an address the provider says it verified: one a user
            // may set freely would log into whoever holds it here.
            let email = claims.email().map(|e| e.as_str().to_string()).filter(|_| claims.email_verified() == Some(true));
            match email {
                Some(e) => (current_holder(state, &e).await?, e),
                None => (None, String::new()),
            }
        }
        OidcClaim::Subject => {
            let sub = claims.subject().as_str().to_string();
            (state.store.principal_by_username(&sub).await?, sub)
        }
        OidcClaim::PreferredUsername => match claims.preferred_username() {
            Some(u) => (state.store.principal_by_username(u.as_str()).await?, u.as_str().to_string()),
            None => (None, String::new()),
        },
    };
    let Some(p) = principal.filter(usable) else {
        tracing::info!("OpenID Connect identity with no enabled account");
        let text = if named.is_empty() {
            "Le fournisseur d'identité n'a pas indiqué l'identifiant qui désigne votre compte.".to_string()
        } else {
            format!("Aucun compte actif d'Almanach ne correspond à cette identité ({named}). Adressez-vous au support de votre académie.")
        };
        return Ok(refused(state, &text));
    };
    // A 200 page that moves on by itself: the session cookie is
    // `SameSite=Strict`, which a redirect chain that began on the
    // provider's site would not carry to the account page.
    let r = super::logged_in(state, req.headers(), &p).await?;
    let target = page_path(state);
    let body = format!(
        "<p>Connexion réussie. <a href=\"{0}\" id=\"continue\">Continuer vers la page du compte</a>.</p>",
        crate::web::html::escape(&target)
    );
    let mut done = page(StatusCode::OK, "Connexion réussie", &body, false);
    let refresh = format!("0;url={target}");
    set_header(&mut done, header::REFRESH, &refresh);
    for c in r.headers().get_all(header::SET_COOKIE) {
        done.headers_mut().append(header::SET_COOKIE, c.clone());
    }
    add_cookie(&mut done, &lax_cookie(state, "", Some(0)));
    Ok(done)
}

/// An account an identity may log into: an enabled user.
fn usable(p: &Principal) -> bool {
    !p.disabled && p.kind == PrincipalKind::User
}
