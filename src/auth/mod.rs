//! Authentication (HTTP Basic against argon2id hashes) and authorisation.
//!
//! `authenticate` turns an `Authorization` header into a [`Principal`]; the
//! [`acl`] module decides what that principal may do with a resource.

pub mod acl;
mod cache;
pub mod password;
mod ratelimit;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;

use crate::config::Config;
use crate::store::{Principal, SharedStore, StoreError};
use cache::CredentialCache;
use ratelimit::FailureLimiter;

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("authentication required")]
    Missing,
    #[error("invalid credentials")]
    Invalid,
    #[error("too many failed attempts")]
    RateLimited(Duration),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Verifies Basic credentials with a cache and failure rate limits.
pub struct Authenticator {
    store: SharedStore,
    cache: CredentialCache,
    per_account: FailureLimiter,
    per_address: FailureLimiter,
    /// A real argon2id hash verified when the account is unknown, so that
    /// response time does not reveal which usernames exist.
    decoy_hash: String,
}

impl Authenticator {
    pub fn new(store: SharedStore, config: &Config) -> Self {
        Authenticator {
            store,
            cache: CredentialCache::new(config.credential_cache_ttl, 100_000),
            per_account: FailureLimiter::new(config.max_failed_logins, config.failed_login_window),
            per_address: FailureLimiter::new(config.max_failed_logins.saturating_mul(4), config.failed_login_window),
            decoy_hash: password::hash_password(&password::random_password()),
        }
    }

    /// Authenticate a request from its `Authorization` header value.
    pub async fn authenticate(&self, authorization: Option<&str>, client: IpAddr) -> Result<Principal, AuthError> {
        let (username, password) = authorization.and_then(parse_basic).ok_or(AuthError::Missing)?;
        let address_key = client.to_string();
        let account_key = username.to_lowercase();
        if let Some(wait) = self.per_address.blocked(&address_key).or_else(|| self.per_account.blocked(&account_key)) {
            return Err(AuthError::RateLimited(wait));
        }
        let principal = self.store.principal_by_username(&username).await?;
        let stored_hash = principal.as_ref().and_then(|p| p.password_hash.clone());
        let usable = principal.as_ref().map(|p| !p.disabled).unwrap_or(false);
        let verified = match (&stored_hash, usable) {
            (Some(hash), true) if self.cache.is_verified(&username, &password, hash) => true,
            (Some(hash), true) => self.verify_slow(&password, hash).await,
            _ => {
                self.verify_slow(&password, &self.decoy_hash.clone()).await;
                false
            }
        };
        if !verified {
            self.cache.forget(&username);
            self.per_account.record_failure(&account_key);
            self.per_address.record_failure(&address_key);
            return Err(AuthError::Invalid);
        }
        if let Some(hash) = &stored_hash {
            self.cache.remember(&username, &password, hash);
        }
        self.per_account.reset(&account_key);
        Ok(principal.expect("verified principal exists"))
    }

    /// argon2 is CPU-bound: run it off the async workers.
    async fn verify_slow(&self, password: &str, hash: &str) -> bool {
        let (password, hash) = (password.to_string(), hash.to_string());
        tokio::task::spawn_blocking(move || password::verify_password(&password, &hash))
            .await
            .unwrap_or(false)
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

pub type SharedAuthenticator = Arc<Authenticator>;

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
