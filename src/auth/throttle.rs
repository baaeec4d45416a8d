//! Login throttling: guessing is slowed, then refused, per account *and*
//! client address, and per address — never per account alone, which would
//! hand anyone a button to lock anyone out (see `docs/decisions.md`,
//! "Login throttling", for the design and what it follows).
//!
//! Failures are recorded in the store, so that every server process counts
//! the same ones; the store is read only for attempts the credential cache
//! could not settle, and written only by failures and by successes that
//! clear failures or refresh the account's familiarity with the address.
//! In memory: the attempts in flight ([`inflight`]) and the last wrong
//! passwords of each account ([`repeats`]). No lock is held across a call
//! to the store: one waiting for the database holds back no other login.

mod inflight;
mod policy;
mod repeats;

use std::net::IpAddr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

pub use policy::Limits;
use policy::{account_key, address_key, judge, Seen, Verdict};

use super::AuthError;
use crate::store::{now_millis, Millis, SharedStore};
use inflight::{InFlight, Reservation, Taken};
use repeats::RecentFailures;

/// How long a successful login makes its account familiar with its
/// address: exempt, meanwhile, from the address's own throttling.
const FAMILIAR_FOR: Duration = Duration::from_secs(7 * 24 * 3600);
/// A success is written again when the one stored is older than this (or
/// when it clears failures), so that a user's logins cost a write a day.
const FAMILIAR_REFRESH: Duration = Duration::from_secs(24 * 3600);
/// How often a process deletes the records that no longer count.
const FORGET_EVERY: Duration = Duration::from_secs(60);
/// Accounts whose last wrong passwords are remembered.
const REPEATS_MAX_ACCOUNTS: usize = 100_000;

fn millis(d: Duration) -> Millis {
    d.as_millis().try_into().unwrap_or(Millis::MAX)
}

pub struct Throttle {
    store: SharedStore,
    limits: Limits,
    in_flight: InFlight,
    repeats: RecentFailures,
    /// When this process last deleted old records (Unix ms).
    last_forget: AtomicI64,
}

/// An attempt allowed to be verified; holds its place among the attempts
/// in flight until it is settled (or dropped: the request went away, or
/// the password could not be verified).
pub struct Admitted<'a> {
    account: String,
    address: String,
    seen: Seen,
    place: Reservation<'a>,
}

impl Throttle {
    pub fn new(store: SharedStore, limits: Limits) -> Self {
        let repeats = RecentFailures::new(limits.window, REPEATS_MAX_ACCOUNTS);
        Throttle { store, limits, in_flight: InFlight::new(), repeats, last_forget: AtomicI64::new(0) }
    }

    /// Judge an attempt on `username` from `client` on the failures stored:
    /// refused (`RateLimited`), or admitted after its delay (a timer, no
    /// thread held). When as many attempts on its pair or address are in
    /// flight as the limits leave room for, it waits for one of them to
    /// settle and is judged again (see [`inflight`]): it is never refused
    /// or slowed for attempts merely in flight.
    pub async fn admit(&self, username: &str, client: IpAddr) -> Result<Admitted<'_>, AuthError> {
        let (account, address) = (account_key(username), address_key(client));
        let limit = self.limits.per_pair.max(self.limits.per_address);
        loop {
            let reading = self.in_flight.reading(&account, &address);
            let now = now_millis();
            let since = now - millis(self.limits.window);
            let history = self.store.login_history(&account, &address, since, limit).await?;
            let familiar = history.last_success.is_some_and(|t| t >= now - millis(FAMILIAR_FOR));
            let seen = Seen { history, familiar };
            match judge(&seen, &self.limits, now) {
                Verdict::Refuse(retry_after) => {
                    if reading.is_current() {
                        return Err(AuthError::RateLimited(retry_after));
                    }
                }
                Verdict::Proceed(admission) => match reading.reserve(admission.pair_room, admission.address_room) {
                    Taken::Place(place) => {
                        if !admission.delay.is_zero() {
                            tokio::time::sleep(admission.delay).await;
                        }
                        return Ok(Admitted { account, address, seen, place });
                    }
                    Taken::Stale => {}
                    Taken::Full(settled) => settled.await,
                },
            }
        }
    }

    /// Whether `password` is one of the last wrong passwords of the
    /// account, against the same stored hash: it is then answered as wrong
    /// without being verified or counted again.
    pub fn is_repeat(&self, attempt: &Admitted<'_>, password: &str, stored_hash: Option<&str>) -> bool {
        self.repeats.is_repeat(&attempt.account, password, stored_hash)
    }

    /// Record a wrong password; the attempt leaves the attempts in flight
    /// once the failure is stored (see [`inflight`]). A store error leaves
    /// it uncounted, and is logged.
    pub async fn failed(&self, attempt: Admitted<'_>, password: &str, stored_hash: Option<&str>) {
        self.repeats.remember(&attempt.account, password, stored_hash);
        let now = now_millis();
        let Admitted { account, address, mut place, .. } = attempt;
        place.writing();
        if let Err(e) = self.store.record_login_failure(&account, &address, now).await {
            tracing::warn!(error = %e, "could not record a failed login");
        }
        drop(place);
        self.forget_old(now);
    }

    /// Record a correct password: it clears the account's failures from
    /// the address, in every process, and makes the account familiar with
    /// it. Written only when there is something to clear or the familiarity
    /// is due for a refresh; a store error is logged, the login stands.
    pub async fn succeeded(&self, attempt: Admitted<'_>) {
        let now = now_millis();
        let history = &attempt.seen.history;
        let stale = history.last_success.is_none_or(|t| now - t >= millis(FAMILIAR_REFRESH));
        if history.pair_failures == 0 && !stale {
            return;
        }
        let Admitted { account, address, mut place, .. } = attempt;
        place.writing();
        if let Err(e) = self.store.record_login_success(&account, &address, now).await {
            tracing::warn!(error = %e, "could not record a successful login");
        }
        drop(place);
        self.forget_old(now);
    }

    /// Delete, at most once a minute per process and off the request, the
    /// failures out of the window and the successes no longer familiar.
    fn forget_old(&self, now: Millis) {
        let last = self.last_forget.load(Ordering::Relaxed);
        if now - last < millis(FORGET_EVERY)
            || self.last_forget.compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed).is_err()
        {
            return;
        }
        let store = self.store.clone();
        let (failures_before, successes_before) = (now - millis(self.limits.window), now - millis(FAMILIAR_FOR));
        tokio::spawn(async move {
            if let Err(e) = store.forget_logins(failures_before, successes_before).await {
                tracing::warn!(error = %e, "could not delete old login records");
            }
        });
    }
}
