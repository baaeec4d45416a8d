//! Account page sessions: a cookie holding 256 random bits, of which the
//! store keeps only the SHA-256 (`store::account`), so that a copy of the
//! database logs no one in. A session ends after `session_idle_timeout`
//! without a request or `session_max_age` after its login, whichever comes
//! first, and at logout (deleted in the store: every process refuses it on
//! the next request). A login always starts a new session with a new
//! token (no session fixation), ending the one the browser presented.
//!
//! The cookie is `HttpOnly; SameSite=Strict; Path=BASE/account`, `Secure`
//! when the base URL is https; it ends with the browser (no `Max-Age`),
//! the store says how long it lasts.

use http::HeaderMap;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::app::AppState;
use crate::store::{now_millis, NewSession, Principal, StoreResult};
use crate::web::security::{cookie, cookie_header, random_hex};

/// The session cookie's name.
pub const COOKIE: &str = "almanach_session";

/// How often a session's `last_seen` is written at most.
const TOUCH_EVERY_MS: i64 = 60_000;

/// A logged-in browser.
#[derive(Debug, Clone)]
pub struct Session {
    pub token_hash: [u8; 32],
    pub principal: Principal,
    /// The token every form of this session carries.
    pub csrf: String,
}

fn hash(token: &[u8]) -> [u8; 32] {
    Sha256::digest(token).into()
}

/// The token hash of the session cookie a request carries, if it has the
/// shape of one (64 hex digits).
pub fn presented(headers: &HeaderMap) -> Option<[u8; 32]> {
    let value = cookie(headers, COOKIE)?;
    let token: [u8; 32] = hex::decode(value.as_bytes()).ok()?.try_into().ok()?;
    Some(hash(&token))
}

/// The session of a request, if it presents one that has not ended and
/// whose account is still enabled.
pub async fn current(state: &AppState, headers: &HeaderMap) -> StoreResult<Option<Session>> {
    let Some(token_hash) = presented(headers) else {
        return Ok(None);
    };
    let now = now_millis();
    let idle = state.config.session_idle_timeout.as_millis() as i64;
    let Some(s) = state.store.session(token_hash, now, now - idle).await? else {
        return Ok(None);
    };
    let Some(principal) = state
        .store
        .principal(s.principal)
        .await?
        .filter(|p| !p.disabled)
    else {
        state.store.delete_session(token_hash).await?;
        return Ok(None);
    };
    if now - s.last_seen >= TOUCH_EVERY_MS {
        state.store.touch_session(token_hash, now).await?;
    }
    Ok(Some(Session {
        token_hash,
        principal,
        csrf: s.csrf,
    }))
}

/// The cookie path: the account page's.
pub fn cookie_path(state: &AppState) -> String {
    format!("{}{}", state.config.base_path(), super::PATH)
}

/// Start a session for `principal`, ending the one `previous` names; the
/// `Set-Cookie` value that hands it to the browser.
pub async fn start(
    state: &AppState,
    principal: &Principal,
    previous: Option<[u8; 32]>,
) -> StoreResult<String> {
    if let Some(old) = previous {
        state.store.delete_session(old).await?;
    }
    let mut token = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut token);
    let now = now_millis();
    state
        .store
        .create_session(NewSession {
            token_hash: hash(&token),
            principal: principal.id,
            csrf: random_hex(),
            created_at: now,
            expires_at: now + state.config.session_max_age.as_millis() as i64,
        })
        .await?;
    // Now and then, sessions that ended are deleted.
    if rand::random::<u8>() < 8 {
        let idle = state.config.session_idle_timeout.as_millis() as i64;
        if let Err(e) = state.store.forget_sessions(now, now - idle).await {
            tracing::warn!(error = %e, "could not delete ended sessions");
        }
    }
    Ok(cookie_header(
        &state.config.base_url,
        COOKIE,
        &hex::encode(token),
        &cookie_path(state),
        None,
    ))
}

/// End the session (logout); the `Set-Cookie` value that deletes the cookie.
pub async fn end(state: &AppState, token_hash: [u8; 32]) -> StoreResult<String> {
    state.store.delete_session(token_hash).await?;
    Ok(cleared(state))
}

/// A `Set-Cookie` value deleting the session cookie.
pub fn cleared(state: &AppState) -> String {
    cookie_header(
        &state.config.base_url,
        COOKIE,
        "",
        &cookie_path(state),
        Some(0),
    )
}
