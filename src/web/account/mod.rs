//! The account page, `BASE_URL/account/`: where an agent starts.
//!
//! Logged out, a login form (the account password, through the same
//! verification and login throttle as HTTP Basic, `Authenticator::
//! verify_account_password`; or OpenID Connect when configured, [`oidc`]).
//! Logged in ([`session`]): the server address and user name, one block per
//! client with what to type, an Apple configuration profile ([`profile`])
//! and a QR code of the page's URL, app passwords (create — shown once —,
//! list, revoke), the visio policy, a password change, and for
//! administrators the platform's counts.
//!
//! Every form posts with the session's anti-forgery token (the login form:
//! a `SameSite=Strict` cookie's) and is refused from another site
//! (`web::security`). Nothing secret is ever in a URL: passwords and app
//! passwords travel in post bodies, which are never logged.
//!
//! | method, path            | what                                   |
//! |-------------------------|----------------------------------------|
//! | GET  /account/          | login form, or the account's page      |
//! | POST /account/login     | log in with the account password       |
//! | POST /account/logout    | end the session                        |
//! | POST /account/app-passwords        | create one (name)           |
//! | POST /account/app-passwords/revoke | revoke one (id)             |
//! | POST /account/password  | change the account password            |
//! | POST /account/visio     | set the account's visio policy         |
//! | GET  /account/almanach.mobileconfig | the Apple profile          |
//! | POST /account/oidc/start, GET /account/oidc/callback | OpenID Connect |

pub mod oidc;
pub mod profile;
pub mod session;
pub mod view;

use std::net::IpAddr;

use base64::Engine;
use http::{header, HeaderMap, Method, Request, StatusCode};
use hyper::body::Incoming;

use crate::app::AppState;
use crate::auth::{acl, app_password, AuthError};
use crate::dav::response::{set_header, with_body, Response};
use crate::store::{PolicyScope, Principal, StoreError, VisioPolicy};
use crate::web::form::{read_form, Form, FormError, MAX_FORM_BYTES};
use crate::web::html::Page;
use crate::web::security::{
    add_cookie, constant_time_eq, cookie_header, double_submit_ok, random_hex, same_site_post,
};
use session::Session;

/// The account page's path (under the base path).
pub const PATH: &str = "/account";
/// The cookie carrying the login form's anti-forgery token.
pub const LOGIN_COOKIE: &str = "almanach_login";
/// The longest app password name (characters).
pub const MAX_APP_NAME: usize = 100;
/// Most app passwords one account holds.
pub const MAX_APP_PASSWORDS: usize = 50;
/// The shortest new account password.
pub const MIN_PASSWORD_CHARS: usize = 12;

/// Why a request to the account page fails; one status and page each,
/// mapped in [`Failure::into_response`].
#[derive(Debug)]
pub enum Failure {
    NotFound,
    MethodNotAllowed,
    /// A post from another site, or without its form's token.
    Forbidden,
    BadRequest,
    TooLarge,
    /// No session (a post after the session ended).
    LoggedOut,
    Unavailable,
    Store(StoreError),
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        Failure::Store(e)
    }
}

impl From<FormError> for Failure {
    fn from(e: FormError) -> Self {
        match e {
            FormError::TooLarge => Failure::TooLarge,
            FormError::Unreadable => Failure::BadRequest,
        }
    }
}

impl Failure {
    fn into_response(self, state: &AppState) -> Response {
        let (status, title, text) = match self {
            Failure::NotFound => (StatusCode::NOT_FOUND, "Page inconnue", "Cette page n'existe pas."),
            Failure::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, "Méthode refusée", "Cette page s'ouvre dans un navigateur."),
            Failure::Forbidden => (
                StatusCode::FORBIDDEN,
                "Formulaire refusé",
                "Ce formulaire n'a pas été envoyé depuis la page du compte. Rouvrez la page et recommencez.",
            ),
            Failure::BadRequest => (StatusCode::BAD_REQUEST, "Demande illisible", "Le formulaire envoyé est illisible."),
            Failure::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "Formulaire trop long", "Le formulaire envoyé est trop long."),
            // 403, not 401: a 401 must carry an HTTP authentication challenge
            // (RFC 9110 §15.5.2), which a form login has not.
            Failure::LoggedOut => (StatusCode::FORBIDDEN, "Session terminée", "Votre session est terminée : reconnectez-vous."),
            Failure::Unavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "Service indisponible",
                "Le service est très sollicité. Réessayez dans quelques instants.",
            ),
            Failure::Store(e) => {
                tracing::error!(error = %e, "store failure on the account page");
                (StatusCode::SERVICE_UNAVAILABLE, "Service indisponible", "Le service est indisponible pour le moment. Réessayez dans quelques minutes.")
            }
        };
        let mut r = page(
            status,
            title,
            &view::notice_page(text, &page_path(state)),
            false,
        );
        if status == StatusCode::METHOD_NOT_ALLOWED {
            set_header(&mut r, header::ALLOW, "GET, HEAD, POST");
        }
        if status == StatusCode::SERVICE_UNAVAILABLE {
            set_header(&mut r, header::RETRY_AFTER, "5");
        }
        r
    }
}

/// A page of the account site.
fn page(status: StatusCode, title: &str, body: &str, data_images: bool) -> Response {
    page_posting_to(status, title, body, data_images, None)
}

/// A page whose forms may also end at `form_action` (an origin).
fn page_posting_to(status: StatusCode, title: &str, body: &str, data_images: bool, form_action: Option<&str>) -> Response {
    Page {
        status,
        title,
        title_suffix: " — Almanach",
        style: view::STYLE,
        body,
        script: None,
        form_action_extra: form_action,
        referrer_policy: "same-origin",
        data_images,
    }
    .render()
}

/// `BASE/account/`.
pub fn page_path(state: &AppState) -> String {
    format!("{}{PATH}/", state.config.base_path())
}

/// Answer a request below `/account` (`rest` is what follows it).
pub async fn handle(
    state: &AppState,
    req: Request<Incoming>,
    rest: &str,
    client: IpAddr,
) -> Response {
    match serve(state, req, rest, client).await {
        Ok(r) => r,
        Err(f) => f.into_response(state),
    }
}

async fn serve(
    state: &AppState,
    req: Request<Incoming>,
    rest: &str,
    client: IpAddr,
) -> Result<Response, Failure> {
    let method = req.method().clone();
    let get = matches!(method, Method::GET | Method::HEAD);
    match (rest, get, method == Method::POST) {
        ("", true, _) => {
            let mut r = with_body(
                StatusCode::MOVED_PERMANENTLY,
                "text/plain; charset=utf-8",
                "",
            );
            set_header(&mut r, header::LOCATION, &page_path(state));
            Ok(r)
        }
        ("/", true, _) => show(state, req.headers()).await,
        ("/almanach.mobileconfig", true, _) => mobileconfig(state, req.headers()).await,
        ("/oidc/callback", true, _) => oidc::callback(state, &req).await,
        ("/login", _, true) => login(state, req, client).await,
        ("/oidc/start", _, true) => {
            let (parts, body) = req.into_parts();
            let form = read_form(body, MAX_FORM_BYTES, state.config.header_timeout).await?;
            if !double_submit_ok(
                &state.config.base_url,
                &parts.headers,
                LOGIN_COOKIE,
                form.get("csrf"),
            ) {
                return Err(Failure::Forbidden);
            }
            oidc::start(state).await
        }
        (
            "/logout" | "/app-passwords" | "/app-passwords/revoke" | "/password" | "/visio",
            _,
            true,
        ) => {
            let action = rest.to_string();
            let (parts, body) = req.into_parts();
            let form = read_form(body, MAX_FORM_BYTES, state.config.header_timeout).await?;
            // Cross-site first: a forged post learns nothing about sessions.
            if !same_site_post(&state.config.base_url, &parts.headers) {
                return Err(Failure::Forbidden);
            }
            let session = session::current(state, &parts.headers)
                .await?
                .ok_or(Failure::LoggedOut)?;
            if !form
                .get("csrf")
                .is_some_and(|t| constant_time_eq(t.as_bytes(), session.csrf.as_bytes()))
            {
                return Err(Failure::Forbidden);
            }
            match action.as_str() {
                "/logout" => logout(state, &session).await,
                "/app-passwords" => create_app_password(state, &session, &form).await,
                "/app-passwords/revoke" => revoke_app_password(state, &session, &form).await,
                "/password" => change_password(state, &session, &form, client).await,
                _ => set_visio_policy(state, &session, &form).await,
            }
        }
        (
            "/"
            | "/login"
            | "/logout"
            | "/app-passwords"
            | "/app-passwords/revoke"
            | "/password"
            | "/visio"
            | "/almanach.mobileconfig"
            | "/oidc/start"
            | "/oidc/callback",
            _,
            _,
        ) => Err(Failure::MethodNotAllowed),
        _ => Err(Failure::NotFound),
    }
}

/// GET: the account's page, or the login form.
async fn show(state: &AppState, headers: &HeaderMap) -> Result<Response, Failure> {
    match session::current(state, headers).await? {
        Some(s) => dashboard(state, &s, StatusCode::OK, None, None, None).await,
        None => Ok(login_page(state, StatusCode::OK, "", None)),
    }
}

/// The login form with a fresh anti-forgery cookie.
fn login_page(
    state: &AppState,
    status: StatusCode,
    username: &str,
    error: Option<&str>,
) -> Response {
    let csrf = random_hex();
    let base = page_path(state);
    let oidc_action = format!("{base}oidc/start");
    let oidc = state
        .config
        .oidc
        .as_ref()
        .map(|o| (oidc_action.as_str(), o.label.as_str()));
    let body = view::login(&format!("{base}login"), oidc, &csrf, username, error);
    // The OpenID Connect button's post is answered with a redirect to the
    // provider, which CSP `form-action` must allow.
    let provider = oidc::form_action(state);
    let mut r = page_posting_to(status, "Votre compte Almanach", &body, false, provider.as_deref());
    add_cookie(
        &mut r,
        &cookie_header(
            &state.config.base_url,
            LOGIN_COOKIE,
            &csrf,
            &session::cookie_path(state),
            None,
        ),
    );
    r
}

/// POST /login: the account password, under the login throttle.
async fn login(
    state: &AppState,
    req: Request<Incoming>,
    client: IpAddr,
) -> Result<Response, Failure> {
    let (parts, body) = req.into_parts();
    let form = read_form(body, MAX_FORM_BYTES, state.config.header_timeout).await?;
    if !double_submit_ok(
        &state.config.base_url,
        &parts.headers,
        LOGIN_COOKIE,
        form.get("csrf"),
    ) {
        return Err(Failure::Forbidden);
    }
    let username = form.get("username").unwrap_or("").trim();
    let password = form.get("password").unwrap_or("");
    if username.is_empty() || password.is_empty() {
        return Ok(login_page(
            state,
            StatusCode::BAD_REQUEST,
            username,
            Some("Indiquez votre identifiant et votre mot de passe."),
        ));
    }
    match state
        .auth
        .verify_account_password(username, password, client)
        .await
    {
        Ok(p) => logged_in(state, &parts.headers, &p).await,
        // 403 (see `Failure::LoggedOut`).
        Err(AuthError::Missing | AuthError::Invalid) => {
            crate::metrics::metrics().login_failure();
            Ok(login_page(
            state,
            StatusCode::FORBIDDEN,
            username,
            Some("Identifiant ou mot de passe incorrect."),
        ))
        }
        Err(AuthError::RateLimited(wait)) => {
            let mut r = login_page(
                state,
                StatusCode::TOO_MANY_REQUESTS,
                username,
                Some("Trop d'essais infructueux : patientez quelques minutes avant de réessayer."),
            );
            set_header(
                &mut r,
                header::RETRY_AFTER,
                &wait.as_secs().max(1).to_string(),
            );
            Ok(r)
        }
        Err(AuthError::Busy) => Err(Failure::Unavailable),
        Err(AuthError::Store(e)) => Err(Failure::Store(e)),
    }
}

/// A successful login (password or OpenID Connect): a new session, and a
/// 303 to the page.
pub async fn logged_in(
    state: &AppState,
    headers: &HeaderMap,
    p: &Principal,
) -> Result<Response, Failure> {
    let set = session::start(state, p, session::presented(headers)).await?;
    tracing::info!(principal = %p.username, "account page login");
    let mut r = with_body(StatusCode::SEE_OTHER, "text/plain; charset=utf-8", "");
    set_header(&mut r, header::LOCATION, &page_path(state));
    set_header(&mut r, header::CACHE_CONTROL, "no-store");
    add_cookie(&mut r, &set);
    add_cookie(
        &mut r,
        &cookie_header(
            &state.config.base_url,
            LOGIN_COOKIE,
            "",
            &session::cookie_path(state),
            Some(0),
        ),
    );
    Ok(r)
}

async fn logout(state: &AppState, s: &Session) -> Result<Response, Failure> {
    let cleared = session::end(state, s.token_hash).await?;
    let mut r = with_body(StatusCode::SEE_OTHER, "text/plain; charset=utf-8", "");
    set_header(&mut r, header::LOCATION, &page_path(state));
    add_cookie(&mut r, &cleared);
    Ok(r)
}

/// The logged-in page, with an optional message or new app password.
async fn dashboard(
    state: &AppState,
    s: &Session,
    status: StatusCode,
    created: Option<(&str, &str)>,
    error: Option<&str>,
    notice: Option<&str>,
) -> Result<Response, Failure> {
    let user = &s.principal;
    let app_passwords = state.store.app_passwords(user.id).await?;
    let visio = if state.visio.is_some() {
        let p = state.store.visio_policies(user.id).await?;
        Some((p.account, p.academie.unwrap_or(state.config.visio_policy)))
    } else {
        None
    };
    let counts = if acl::may_see_platform_counts(user) {
        Some(state.store.account_counts().await?)
    } else {
        None
    };
    let server = format!("{}/", state.config.base_url.trim_end_matches('/'));
    let host = url::Url::parse(&server)
        .ok()
        .and_then(|u| {
            u.host_str().map(|h| match u.port() {
                Some(p) => format!("{h}:{p}"),
                None => h.to_string(),
            })
        })
        .unwrap_or_default();
    let page_url = format!("{}{PATH}/", state.config.base_url.trim_end_matches('/'));
    let qr = qr_data_url(&page_url);
    let body = view::dashboard(&view::Dashboard {
        page: &page_path(state),
        server: &server,
        host: &host,
        user,
        csrf: &s.csrf,
        app_passwords: &app_passwords,
        created,
        qr: qr.as_deref(),
        visio,
        counts: counts.as_ref(),
        error,
        notice,
    });
    Ok(page(status, "Votre compte Almanach", &body, true))
}

/// A QR code of `text` as an SVG `data:` URL (allowed by the page's CSP).
fn qr_data_url(text: &str) -> Option<String> {
    let code = qrcode::QrCode::new(text.as_bytes()).ok()?;
    let svg = code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .build();
    Some(format!(
        "data:image/svg+xml;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(svg)
    ))
}

/// A device name: trimmed, without control characters, not empty.
fn clean_name(name: &str) -> Option<String> {
    let n: String = name
        .chars()
        .filter(|c| !c.is_control())
        .collect::<String>()
        .trim()
        .to_string();
    (!n.is_empty() && n.chars().count() <= MAX_APP_NAME).then_some(n)
}

/// POST /app-passwords: a new app password, shown in this answer only.
async fn create_app_password(
    state: &AppState,
    s: &Session,
    form: &Form,
) -> Result<Response, Failure> {
    let Some(name) = form.get("name").and_then(clean_name) else {
        return dashboard(
            state,
            s,
            StatusCode::BAD_REQUEST,
            None,
            Some("Donnez un nom à l'appareil (100 caractères au plus)."),
            None,
        )
        .await;
    };
    if state.store.app_passwords(s.principal.id).await?.len() >= MAX_APP_PASSWORDS {
        let e = format!("Vous avez déjà {MAX_APP_PASSWORDS} mots de passe d'application : révoquez-en un d'abord.");
        return dashboard(state, s, StatusCode::CONFLICT, None, Some(&e), None).await;
    }
    let secret = app_password::new_secret();
    let hash = state
        .auth
        .hash_password(&secret)
        .await
        .map_err(|_| Failure::Unavailable)?;
    let created = state
        .store
        .create_app_password(s.principal.id, &name, &hash, crate::store::now_millis())
        .await?;
    let password = app_password::format(created.id, &secret);
    tracing::info!(principal = %s.principal.username, app_password = created.id, "app password created");
    dashboard(
        state,
        s,
        StatusCode::OK,
        Some((&name, &password)),
        None,
        None,
    )
    .await
}

/// POST /app-passwords/revoke: takes effect on the next request in every
/// server process (`crate::auth` reads the app password on each).
async fn revoke_app_password(
    state: &AppState,
    s: &Session,
    form: &Form,
) -> Result<Response, Failure> {
    let id = form
        .get("id")
        .and_then(|v| v.parse::<i64>().ok())
        .ok_or(Failure::BadRequest)?;
    if !state.store.delete_app_password(s.principal.id, id).await? {
        return dashboard(
            state,
            s,
            StatusCode::NOT_FOUND,
            None,
            Some("Ce mot de passe d'application n'existe plus."),
            None,
        )
        .await;
    }
    tracing::info!(principal = %s.principal.username, app_password = id, "app password revoked");
    dashboard(
        state,
        s,
        StatusCode::OK,
        None,
        None,
        Some("Mot de passe d'application révoqué."),
    )
    .await
}

/// POST /password: the current password is verified (under the login
/// throttle) before the new one is set; app passwords are revoked only
/// when asked; the account's other sessions end.
async fn change_password(
    state: &AppState,
    s: &Session,
    form: &Form,
    client: IpAddr,
) -> Result<Response, Failure> {
    let (current, new, confirm) = (
        form.get("current").unwrap_or(""),
        form.get("new").unwrap_or(""),
        form.get("confirm").unwrap_or(""),
    );
    let refuse = |msg: &'static str, status: StatusCode| async move {
        dashboard(state, s, status, None, Some(msg), None).await
    };
    if new.chars().count() < MIN_PASSWORD_CHARS {
        return refuse(
            "Le nouveau mot de passe est trop court (12 caractères au moins).",
            StatusCode::BAD_REQUEST,
        )
        .await;
    }
    if new != confirm {
        return refuse(
            "Les deux saisies du nouveau mot de passe diffèrent.",
            StatusCode::BAD_REQUEST,
        )
        .await;
    }
    if app_password::parse(new).is_some() {
        return refuse(
            "Ce mot de passe a la forme d'un mot de passe d'application : choisissez-en un autre.",
            StatusCode::BAD_REQUEST,
        )
        .await;
    }
    match state
        .auth
        .verify_account_password(&s.principal.username, current, client)
        .await
    {
        Ok(_) => {}
        Err(AuthError::Missing | AuthError::Invalid) => {
            crate::metrics::metrics().login_failure();
            return refuse(
                "Le mot de passe actuel est incorrect.",
                StatusCode::FORBIDDEN,
            )
            .await
        }
        Err(AuthError::RateLimited(_)) => {
            return refuse(
                "Trop d'essais infructueux : patientez quelques minutes.",
                StatusCode::TOO_MANY_REQUESTS,
            )
            .await
        }
        Err(AuthError::Busy) => return Err(Failure::Unavailable),
        Err(AuthError::Store(e)) => return Err(Failure::Store(e)),
    }
    let hash = state
        .auth
        .hash_password(new)
        .await
        .map_err(|_| Failure::Unavailable)?;
    state.store.set_password_hash(s.principal.id, &hash).await?;
    state
        .store
        .delete_sessions_of(s.principal.id, Some(s.token_hash))
        .await?;
    let revoke = form.get("revoke_app_passwords").is_some();
    if revoke {
        state.store.delete_app_passwords_of(s.principal.id).await?;
    }
    tracing::info!(principal = %s.principal.username, revoked_app_passwords = revoke, "account password changed");
    let notice = if revoke {
        "Mot de passe changé ; les mots de passe d'application sont révoqués."
    } else {
        "Mot de passe changé."
    };
    dashboard(state, s, StatusCode::OK, None, None, Some(notice)).await
}

/// POST /visio: the account's own policy, or none (its académie's or the
/// server's default then applies).
async fn set_visio_policy(state: &AppState, s: &Session, form: &Form) -> Result<Response, Failure> {
    if state.visio.is_none() {
        return Err(Failure::NotFound);
    }
    let policy = match form.get("policy") {
        Some("default") => None,
        Some(p) => Some(p.parse::<VisioPolicy>().map_err(|_| Failure::BadRequest)?),
        None => return Err(Failure::BadRequest),
    };
    state
        .store
        .set_visio_policy(&PolicyScope::Account(s.principal.id), policy)
        .await?;
    dashboard(
        state,
        s,
        StatusCode::OK,
        None,
        None,
        Some("Réglage de visio enregistré."),
    )
    .await
}

/// GET /almanach.mobileconfig: the Apple profile of the session's account.
async fn mobileconfig(state: &AppState, headers: &HeaderMap) -> Result<Response, Failure> {
    let s = session::current(state, headers)
        .await?
        .ok_or(Failure::LoggedOut)?;
    let user = &s.principal;
    let description = format!("Almanach ({})", user.username);
    let text = profile::mobileconfig(&profile::ProfileAccount {
        base_url: &state.config.base_url,
        username: &user.username,
        description: &description,
    })
    .ok_or(Failure::NotFound)?;
    let mut r = with_body(StatusCode::OK, "application/x-apple-aspen-config", text);
    set_header(
        &mut r,
        header::CONTENT_DISPOSITION,
        "attachment; filename=\"almanach.mobileconfig\"",
    );
    set_header(&mut r, header::CACHE_CONTROL, "no-store");
    set_header(&mut r, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    Ok(r)
}

/// Whether a request for `/` comes from a browser (sent to the account
/// page) rather than a DAV client: a GET without credentials that accepts
/// HTML.
pub fn is_browser_visit(method: &Method, headers: &HeaderMap) -> bool {
    *method == Method::GET
        && !headers.contains_key(header::AUTHORIZATION)
        && headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("text/html"))
}
