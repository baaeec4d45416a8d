//! Authentication (HTTP Basic against argon2id hashes) and authorisation.
//!
//! `authenticate` turns an `Authorization` header into a [`Principal`]; the
//! [`acl`] module decides what that principal may do with a resource.

pub mod acl;
mod cache;
pub mod password;
mod ratelimit;

use std::net::IpAddr;
use std::time::Duration;

use base64::Engine;

use crate::config::Config;
use crate::store::{Principal, SharedStore, StoreError};
use cache::{CredentialCache, PrincipalCache, PRINCIPAL_MAX_AGE};
use ratelimit::FailureLimiter;

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

/// Verifies Basic credentials with a cache and failure rate limits.
pub struct Authenticator {
    store: SharedStore,
    cache: CredentialCache,
    /// Principals of recent successful authentications (see `cache`).
    principals: PrincipalCache,
    per_account: FailureLimiter,
    per_address: FailureLimiter,
    /// A real argon2id hash verified when the account is unknown, so that
    /// response time does not reveal which usernames exist.
    decoy_hash: String,
    /// Bounds concurrent argon2 verifications (each takes 19 MiB and a core),
    /// so a flood of guesses cannot exhaust memory or CPU.
    hashing: std::sync::Arc<tokio::sync::Semaphore>,
}

/// How long a request waits for a free argon2 slot before 503.
const HASHING_WAIT: Duration = Duration::from_secs(5);

impl Authenticator {
    pub fn new(store: SharedStore, config: &Config) -> Self {
        Authenticator {
            store,
            cache: CredentialCache::new(config.credential_cache_ttl, 100_000),
            principals: PrincipalCache::new(PRINCIPAL_MAX_AGE.min(config.credential_cache_ttl), 100_000),
            per_account: FailureLimiter::new(config.max_failed_logins, config.failed_login_window),
            per_address: FailureLimiter::new(config.max_failed_logins.saturating_mul(4), config.failed_login_window),
            decoy_hash: password::hash_password(&password::random_password()),
            hashing: std::sync::Arc::new(tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2).max(2),
            )),
        }
    }

    /// Authenticate a request from its `Authorization` header value.
    ///
    /// Credentials verified recently against the stored hash pass without
    /// argon2 and without the failure limits, so an attacker guessing a
    /// user's password cannot lock out that user's already-syncing devices.
    /// The principal itself is read again when the one last read is older
    /// than [`PRINCIPAL_MAX_AGE`] or the directory changed through this
    /// process since: a password change, disable or deletion takes effect at
    /// once in the process that made it and within that bound in the others.
    /// Every other attempt is counted against the account and the client
    /// address *before* it is verified (so concurrent guesses all count) and
    /// given back when it succeeds.
    pub async fn authenticate(&self, authorization: Option<&str>, client: IpAddr) -> Result<Principal, AuthError> {
        let (username, password) = authorization.and_then(parse_basic).ok_or(AuthError::Missing)?;
        // A principal read less than `PRINCIPAL_MAX_AGE` ago, with no
        // directory change through this process since, is not read again.
        let generation = self.store.directory_generation();
        if let Some(p) = self.principals.get(&username, generation) {
            if let Some(hash) = p.password_hash.as_deref().filter(|_| !p.disabled) {
                if self.cache.is_verified(&username, &password, hash) {
                    return Ok(p);
                }
            }
        }
        let read_at = std::time::Instant::now();
        let principal = self.store.principal_by_username(&username).await?.filter(|p| !p.disabled);
        let stored_hash = principal.as_ref().and_then(|p| p.password_hash.clone());
        if let (Some(p), Some(hash)) = (&principal, &stored_hash) {
            if self.cache.is_verified(&username, &password, hash) {
                self.principals.remember(&username, p, generation, read_at);
                return Ok(p.clone());
            }
        }
        let address_key = client.to_string();
        let account_key = username.to_lowercase();
        self.per_address.begin_attempt(&address_key).map_err(AuthError::RateLimited)?;
        if let Err(wait) = self.per_account.begin_attempt(&account_key) {
            self.per_address.refund(&address_key);
            return Err(AuthError::RateLimited(wait));
        }
        let verified = match &stored_hash {
            Some(hash) => self.verify_slow(&password, hash).await,
            None => self.verify_slow(&password, &self.decoy_hash).await.map(|_| false),
        };
        let verified = match verified {
            Ok(v) => v,
            Err(busy) => {
                // Not an attempt that was judged: give it back.
                self.per_address.refund(&address_key);
                self.per_account.refund(&account_key);
                return Err(busy);
            }
        };
        match (verified, principal, stored_hash) {
            (true, Some(p), Some(hash)) => {
                self.per_address.refund(&address_key);
                self.per_account.reset(&account_key);
                self.cache.remember(&username, &password, &hash);
                self.principals.remember(&username, &p, generation, read_at);
                Ok(p)
            }
            _ => Err(AuthError::Invalid),
        }
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
        let verified = tokio::task::spawn_blocking(move || {
            let verified = password::verify_password(&password, &hash);
            drop(permit);
            verified
        })
        .await
        .unwrap_or(false);
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
