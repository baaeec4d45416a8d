//! Authentication (HTTP Basic against argon2id hashes) and authorisation.
//!
//! `authenticate` turns an `Authorization` header into a [`Principal`],
//! with the account password or one of the account's app passwords
//! ([`app_password`]); the [`acl`] module decides what that principal may
//! do with a resource. The account page logs in through the same
//! verification and the same login throttle
//! ([`Authenticator::verify_account_password`]).

pub mod acl;
pub mod app_password;
mod cache;
pub mod password;
mod single_flight;
mod throttle;

use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use base64::Engine;

use crate::config::Config;
use crate::store::{Principal, SharedStore, StoreError};
use cache::{CredentialCache, PrincipalCache, PRINCIPAL_MAX_AGE};
use single_flight::{Answer, Role, SingleFlight};
use throttle::{Limits, Throttle};

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("authentication required")]
    Missing,
    #[error("invalid credentials")]
    Invalid,
    #[error("too many failed attempts")]
    RateLimited(Duration),
    /// Too many password verifications are already running.
    #[error("authentication is busy")]
    Busy,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Verifies Basic credentials with a cache and login throttling.
pub struct Authenticator {
    store: SharedStore,
    cache: CredentialCache,
    /// Principals of recent successful authentications (see `cache`).
    principals: PrincipalCache,
    throttle: Throttle,
    /// Concurrent identical attempts, verified once (see `single_flight`).
    in_flight: SingleFlight,
    /// A real argon2id hash verified when the account is unknown, so that
    /// response time does not reveal which usernames exist.
    decoy_hash: String,
    /// Bounds concurrent argon2 verifications (each takes 19 MiB and a core),
    /// so a flood of guesses cannot exhaust memory or CPU.
    hashing: std::sync::Arc<tokio::sync::Semaphore>,
    /// How long the last verification took (µs): a repeated wrong password,
    /// answered without one, is answered after as long.
    last_verify_micros: AtomicU64,
}

/// How precisely an app password's last use is recorded: its
/// `last_used_at` is written at most this often.
pub const APP_PASSWORD_USE_RESOLUTION: Duration = Duration::from_secs(60);

/// How long a request waits for a free argon2 slot before 503.
const HASHING_WAIT: Duration = Duration::from_secs(5);

impl Authenticator {
    pub fn new(store: SharedStore, config: &Config) -> Self {
        let limits = Limits {
            per_pair: config.max_failed_logins.max(1),
            per_address: config.max_failed_logins_per_address.max(1),
            window: config.failed_login_window,
            max_delay: config.max_login_delay,
        };
        Authenticator {
            throttle: Throttle::new(store.clone(), limits),
            in_flight: SingleFlight::new(),
            store,
            cache: CredentialCache::new(config.credential_cache_ttl, 100_000),
            principals: PrincipalCache::new(PRINCIPAL_MAX_AGE.min(config.credential_cache_ttl), 100_000),
            decoy_hash: password::hash_password(&password::random_password()),
            hashing: std::sync::Arc::new(tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2).max(2),
            )),
            last_verify_micros: AtomicU64::new(0),
        }
    }

    /// Authenticate a request from its `Authorization` header value.
    ///
    /// Credentials verified recently against the stored hash pass without
    /// argon2 and without the login throttle, so an attacker guessing a
    /// user's password cannot lock out that user's already-syncing devices.
    /// The principal itself is read again when the one last read is older
    /// than [`PRINCIPAL_MAX_AGE`] or the directory changed through this
    /// process since: a password change, disable or deletion takes effect at
    /// once in the process that made it and within that bound in the others.
    /// Every other attempt goes through the login throttle ([`throttle`]),
    /// once for all the identical attempts in flight at the same time
    /// ([`single_flight`]).
    pub async fn authenticate(&self, authorization: Option<&str>, client: IpAddr) -> Result<Principal, AuthError> {
        let (username, password) = authorization.and_then(parse_basic).ok_or(AuthError::Missing)?;
        if let Some((id, secret)) = app_password::parse(&password) {
            if let Some(p) = self.app_password_login(&username, id, secret, client).await? {
                return Ok(p);
            }
        }
        self.verify_account_password(&username, &password, client).await
    }

    /// The account password of `username`, verified as for HTTP Basic
    /// (cache, throttle, single flight): the account page's login and its
    /// password change use it. App passwords are not accepted here.
    pub async fn verify_account_password(&self, username: &str, password: &str, client: IpAddr) -> Result<Principal, AuthError> {
        // A principal read less than `PRINCIPAL_MAX_AGE` ago, with no
        // directory change through this process since, is not read again.
        let generation = self.store.directory_generation();
        if let Some(p) = self.principals.get(username, generation) {
            if let Some(hash) = p.password_hash.as_deref().filter(|_| !p.disabled) {
                if self.cache.is_verified(username, password, hash) {
                    return Ok(p);
                }
            }
        }
        let read_at = std::time::Instant::now();
        let principal = self.store.principal_by_username(username).await?.filter(|p| !p.disabled);
        let stored_hash = principal.as_ref().and_then(|p| p.password_hash.clone());
        if let (Some(p), Some(hash)) = (&principal, &stored_hash) {
            if self.cache.is_verified(username, password, hash) {
                self.principals.remember(username, p, generation, read_at);
                return Ok(p.clone());
            }
        }
        if !self.verify_once(username, password, stored_hash.as_deref(), client).await? {
            return Err(AuthError::Invalid);
        }
        match (principal, stored_hash) {
            (Some(p), Some(hash)) => {
                self.cache.remember(username, password, &hash);
                self.principals.remember(username, &p, generation, read_at);
                Ok(p)
            }
            _ => Err(AuthError::Invalid),
        }
    }

    /// `password` = `ID-SECRET` of `username` (see [`app_password`]): one
    /// read of app password `id` by primary key on every request, so that a
    /// revoked one is refused by every process on its next request; argon2
    /// only when the credential cache has no success for this id with this
    /// stored hash; failures counted by the same login throttle as the
    /// account password's. None when `id` is no app password of
    /// `username` (the password is then tried as the account password).
    async fn app_password_login(&self, username: &str, id: i64, secret: &str, client: IpAddr) -> Result<Option<Principal>, AuthError> {
        let Some(app) = self.store.app_password(id).await? else { return Ok(None) };
        let generation = self.store.directory_generation();
        let read_at = std::time::Instant::now();
        let principal = match self.principals.get(username, generation) {
            Some(p) => Some(p),
            None => self.store.principal_by_username(username).await?,
        };
        let Some(p) = principal.filter(|p| p.id == app.principal && !p.disabled) else { return Ok(None) };
        let key = app_password::cache_key(id);
        if !self.cache.is_verified(&key, secret, &app.hash) {
            if !self.verify_once(username, secret, Some(&app.hash), client).await? {
                return Err(AuthError::Invalid);
            }
            self.cache.remember(&key, secret, &app.hash);
        }
        self.principals.remember(username, &p, generation, read_at);
        self.note_use(&app).await;
        Ok(Some(p))
    }

    /// Record the use of an app password, at most once per
    /// [`APP_PASSWORD_USE_RESOLUTION`]: not a write per request.
    async fn note_use(&self, app: &crate::store::AppPassword) {
        let now = crate::store::now_millis();
        let resolution = APP_PASSWORD_USE_RESOLUTION.as_millis() as i64;
        if app.last_used_at.is_some_and(|t| now - t < resolution) {
            return;
        }
        if let Err(e) = self.store.touch_app_password(app.id, now).await {
            tracing::warn!(error = %e, "could not record an app password's use");
        }
    }

    /// An argon2id hash of `secret`, computed under the same bound as
    /// verifications (each takes 19 MiB and a core).
    pub async fn hash_password(&self, secret: &str) -> Result<String, AuthError> {
        let permit = tokio::time::timeout(HASHING_WAIT, self.hashing.clone().acquire_owned())
            .await
            .map_err(|_| AuthError::Busy)?
            .map_err(|_| AuthError::Busy)?;
        let secret = secret.to_string();
        tokio::task::spawn_blocking(move || {
            let hash = password::hash_password(&secret);
            drop(permit);
            hash
        })
        .await
        .map_err(|_| AuthError::Busy)
    }

    /// [`Self::verify_throttled`], shared by the identical attempts in
    /// flight: the first verifies, the others wait for its answer (see
    /// `single_flight` for what is shared).
    async fn verify_once(
        &self,
        username: &str,
        password: &str,
        stored_hash: Option<&str>,
        client: IpAddr,
    ) -> Result<bool, AuthError> {
        let key = self.in_flight.key(username, password, stored_hash);
        loop {
            match self.in_flight.join(key) {
                Role::Lead(lead) => {
                    let result = self.verify_throttled(username, password, stored_hash, client).await;
                    match result {
                        Ok(verified) => lead.publish(Answer::Verified(verified)),
                        Err(AuthError::Busy) => lead.publish(Answer::Busy),
                        Err(_) => {}
                    }
                    return result;
                }
                Role::Follow(follow) => match follow.answer().await {
                    Some(Answer::Verified(verified)) => return Ok(verified),
                    Some(Answer::Busy) => return Err(AuthError::Busy),
                    None => {}
                },
            }
        }
    }

    /// Whether `password` matches `stored_hash` (None: no such account, the
    /// decoy is verified), under the login throttle: refused or delayed
    /// first as it says, then recorded as a failure or a success. A wrong
    /// password the account saw last is answered as wrong again without
    /// verifying or counting it; an attempt that could not be verified
    /// (`Busy`) is not counted.
    async fn verify_throttled(
        &self,
        username: &str,
        password: &str,
        stored_hash: Option<&str>,
        client: IpAddr,
    ) -> Result<bool, AuthError> {
        let attempt = self.throttle.admit(username, client).await?;
        if self.throttle.is_repeat(&attempt, password, stored_hash) {
            drop(attempt);
            // As long as a verification, so that timing does not tell
            // which wrong passwords were tried recently.
            tokio::time::sleep(Duration::from_micros(self.last_verify_micros.load(Ordering::Relaxed))).await;
            return Ok(false);
        }
        let verified = match stored_hash {
            Some(hash) => self.verify_slow(password, hash).await?,
            None => self.verify_slow(password, &self.decoy_hash).await.map(|_| false)?,
        };
        if verified {
            self.throttle.succeeded(attempt).await;
        } else {
            self.throttle.failed(attempt, password, stored_hash).await;
        }
        Ok(verified)
    }

    /// argon2 is CPU-bound: run it off the async workers, a bounded number
    /// at a time. The permit moves into the blocking task, so a cancelled
    /// request (client reset, timeout) cannot free it while argon2 still runs.
    async fn verify_slow(&self, password: &str, hash: &str) -> Result<bool, AuthError> {
        let permit = tokio::time::timeout(HASHING_WAIT, self.hashing.clone().acquire_owned())
            .await
            .map_err(|_| AuthError::Busy)?
            .map_err(|_| AuthError::Busy)?;
        let (password, hash) = (password.to_string(), hash.to_string());
        let started = std::time::Instant::now();
        let verified = tokio::task::spawn_blocking(move || {
            let verified = password::verify_password(&password, &hash);
            drop(permit);
            verified
        })
        .await
        .unwrap_or(false);
        self.last_verify_micros.store(started.elapsed().as_micros() as u64, Ordering::Relaxed);
        Ok(verified)
    }
}

/// Decode `Basic base64(user:password)` (RFC 7617).
fn parse_basic(header: &str) -> Option<(String, String)> {
    let (scheme, rest) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD.decode(rest.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, pass) = text.split_once(':')?;
    if user.is_empty() {
        return None;
    }
    Some((user.to_string(), pass.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_basic() {
        assert_eq!(parse_basic("Basic YWxpY2U6cDpx"), Some(("alice".into(), "p:q".into())));
        assert_eq!(parse_basic("basic YWxpY2U6cDpx"), Some(("alice".into(), "p:q".into())));
        assert_eq!(parse_basic("Bearer x"), None);
        assert_eq!(parse_basic("Basic !!!"), None);
        assert_eq!(parse_basic("Basic OnB3"), None); // ":pw"
    }
}
