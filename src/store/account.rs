//! What the account page keeps (`crate::web::account`): browser sessions,
//! app passwords, OpenID Connect logins under way, and the counts an
//! administrator sees. The [`AccountStore`] concern of the store.
//!
//! Secrets are never stored as given: a session by the SHA-256 of its
//! cookie's token, an app password as an argon2id hash (computed by the
//! caller, `crate::auth`), an OpenID Connect login by the SHA-256 of its
//! state.

use async_trait::async_trait;

use super::{Millis, PrincipalId, StoreResult};

/// A session to store.
#[derive(Debug, Clone)]
pub struct NewSession {
    /// SHA-256 of the cookie's token.
    pub token_hash: [u8; 32],
    pub principal: PrincipalId,
    /// The anti-forgery token of the session's forms.
    pub csrf: String,
    pub created_at: Millis,
    /// The absolute end of the session.
    pub expires_at: Millis,
}

/// A stored session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebSession {
    pub principal: PrincipalId,
    pub csrf: String,
    pub created_at: Millis,
    pub last_seen: Millis,
    pub expires_at: Millis,
}

/// A stored app password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppPassword {
    pub id: i64,
    pub principal: PrincipalId,
    /// The device name its owner gave.
    pub name: String,
    /// The argon2id hash (PHC string) of the password's secret.
    pub hash: String,
    pub created_at: Millis,
    pub last_used_at: Option<Millis>,
}

/// An OpenID Connect login under way, by its state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcLogin {
    /// SHA-256 of the state sent to the provider.
    pub state_hash: [u8; 32],
    pub nonce: String,
    pub pkce_verifier: String,
    pub expires_at: Millis,
}

/// Counts for administrators: nothing about any one other account.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountCounts {
    /// Enabled user accounts per académie slug (None: national accounts,
    /// first), by slug.
    pub per_academie: Vec<(Option<String>, i64)>,
    /// Bytes stored (objects and dead properties, as quotas count them),
    /// all accounts together.
    pub storage_bytes: i64,
}

#[async_trait]
pub trait AccountStore: Send + Sync {
    // -- sessions
    async fn create_session(&self, session: NewSession) -> StoreResult<()>;
    /// The session of this token hash, if it has not ended at `now`: before
    /// its `expires_at` and seen at or after `idle_since`. One read by
    /// primary key.
    async fn session(
        &self,
        token_hash: [u8; 32],
        now: Millis,
        idle_since: Millis,
    ) -> StoreResult<Option<WebSession>>;
    /// Record that the session was used at `now`.
    async fn touch_session(&self, token_hash: [u8; 32], now: Millis) -> StoreResult<()>;
    async fn delete_session(&self, token_hash: [u8; 32]) -> StoreResult<()>;
    /// End every session of `principal` but `keep` (a password change
    /// logs the other browsers out); the number ended.
    async fn delete_sessions_of(
        &self,
        principal: PrincipalId,
        keep: Option<[u8; 32]>,
    ) -> StoreResult<u64>;
    /// Delete the sessions ended before `now` (absolute) or idle since
    /// before `idle_since`; the number deleted.
    async fn forget_sessions(&self, now: Millis, idle_since: Millis) -> StoreResult<u64>;

    // -- app passwords
    /// Store a new app password of `principal` named `name`, with the
    /// argon2id hash `hash` of its secret; its id comes back (the password
    /// handed out names it, `crate::auth::app_password`).
    async fn create_app_password(
        &self,
        principal: PrincipalId,
        name: &str,
        hash: &str,
        at: Millis,
    ) -> StoreResult<AppPassword>;
    /// One app password by id: one read by primary key (every request
    /// authenticated with an app password makes it, so that a revoked one
    /// is refused at once by every process).
    async fn app_password(&self, id: i64) -> StoreResult<Option<AppPassword>>;
    /// The app passwords of `principal`, oldest first.
    async fn app_passwords(&self, principal: PrincipalId) -> StoreResult<Vec<AppPassword>>;
    /// Revoke app password `id` of `principal`; false when it has no such one.
    async fn delete_app_password(&self, principal: PrincipalId, id: i64) -> StoreResult<bool>;
    /// Revoke every app password of `principal`; the number revoked.
    async fn delete_app_passwords_of(&self, principal: PrincipalId) -> StoreResult<u64>;
    /// Record a use of app password `id` at `at`.
    async fn touch_app_password(&self, id: i64, at: Millis) -> StoreResult<()>;

    // -- OpenID Connect logins under way
    async fn put_oidc_login(&self, login: OidcLogin) -> StoreResult<()>;
    /// Take (delete and return) the login of this state hash, unless it
    /// expired before `now`; expired ones are deleted on the way.
    async fn take_oidc_login(
        &self,
        state_hash: [u8; 32],
        now: Millis,
    ) -> StoreResult<Option<OidcLogin>>;

    // -- counts for administrators
    async fn account_counts(&self) -> StoreResult<AccountCounts>;
}
