//! Login records for login throttling (`auth::throttle`): the
//! [`ThrottleStore`] concern of the store.

use async_trait::async_trait;

use super::{Millis, StoreResult};

/// What the store holds about recent logins of one account from one client
/// address, for login throttling (`auth::throttle`): failures at or after a
/// given time, each count stopped at a given limit (so that reading them
/// costs at most that many index entries), and the last success.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoginHistory {
    /// Failures of this account from this address.
    pub pair_failures: u32,
    /// When the oldest of them happened.
    pub pair_oldest: Option<Millis>,
    /// Failures from this address, whatever the account.
    pub address_failures: u32,
    /// When the oldest of them happened.
    pub address_oldest: Option<Millis>,
    /// Failures of this account, whatever the address.
    pub account_failures: u32,
    /// The last successful login of this account from this address.
    pub last_success: Option<Millis>,
}

/// Failed and successful logins.
#[async_trait]
pub trait ThrottleStore: Send + Sync {
    // -- login throttling: failed and successful logins by account (as the
    // caller normalised it) and client address (as the caller keyed it),
    // stored so that every process counts the same failures
    /// The failures of `account` from `address`, from `address` and of
    /// `account` at or after `since`, each count stopped at `limit`, and the
    /// last success of `account` from `address`; one read.
    async fn login_history(&self, account: &str, address: &str, since: Millis, limit: u32) -> StoreResult<LoginHistory>;
    async fn record_login_failure(&self, account: &str, address: &str, at: Millis) -> StoreResult<()>;
    /// Forget the failures of `account` from `address` and remember a
    /// success at `at`, in one transaction.
    async fn record_login_success(&self, account: &str, address: &str, at: Millis) -> StoreResult<()>;
    /// Delete the failures before `failures_before` and the successes before
    /// `successes_before`; the number of rows deleted.
    async fn forget_logins(&self, failures_before: Millis, successes_before: Millis) -> StoreResult<u64>;
}
