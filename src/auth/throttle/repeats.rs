//! The last wrong passwords tried on each account, so that trying one again
//! is not counted as a new guess: a phone still using the old password
//! after a change, or a user typing the same wrong password twice, repeats
//! one guess and learns nothing new from the answer. Microsoft Entra's
//! smart lockout does the same with the last three wrong passwords.
//!
//! Only keyed digests are kept (SHA-256 under a key drawn at start, as in
//! the credential cache), in memory: a wrong password is often close to the
//! right one, and is never written anywhere. An entry holds the stored hash
//! it failed against, so it stops counting as wrong once the password
//! changes (to that very value, say). Each process keeps its own: a device
//! repeating a password costs one failure per process.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

/// Wrong passwords remembered per account.
const KEPT: usize = 3;

struct Wrong {
    digest: [u8; 32],
    /// The stored hash it failed against (None: no such account).
    against: Option<String>,
    at: Instant,
}

pub struct RecentFailures {
    key: [u8; 32],
    /// How long an entry counts: the failure window.
    ttl: Duration,
    max_accounts: usize,
    accounts: Mutex<HashMap<String, VecDeque<Wrong>>>,
}

impl RecentFailures {
    pub fn new(ttl: Duration, max_accounts: usize) -> Self {
        RecentFailures { key: rand::random(), ttl, max_accounts, accounts: Mutex::default() }
    }

    fn digest(&self, account: &str, password: &str) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(self.key);
        h.update(account.as_bytes());
        h.update([0]);
        h.update(password.as_bytes());
        h.finalize().into()
    }

    /// Whether `password` failed on `account`, against the same stored
    /// hash, within the window.
    pub fn is_repeat(&self, account: &str, password: &str, against: Option<&str>) -> bool {
        let digest = self.digest(account, password);
        let accounts = self.accounts.lock().unwrap_or_else(|e| e.into_inner());
        accounts.get(account).is_some_and(|wrong| {
            wrong.iter().any(|w| w.digest == digest && w.against.as_deref() == against && w.at.elapsed() < self.ttl)
        })
    }

    pub fn remember(&self, account: &str, password: &str, against: Option<&str>) {
        let wrong = Wrong { digest: self.digest(account, password), against: against.map(str::to_string), at: Instant::now() };
        let mut accounts = self.accounts.lock().unwrap_or_else(|e| e.into_inner());
        if accounts.len() >= self.max_accounts && !accounts.contains_key(account) {
            let ttl = self.ttl;
            accounts.retain(|_, w| w.back().is_some_and(|w| w.at.elapsed() < ttl));
            if accounts.len() >= self.max_accounts {
                accounts.clear();
            }
        }
        let list = accounts.entry(account.to_string()).or_default();
        list.retain(|w| w.digest != wrong.digest);
        if list.len() >= KEPT {
            list.pop_front();
        }
        list.push_back(wrong);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_the_last_few_per_account_and_hash() {
        let r = RecentFailures::new(Duration::from_secs(60), 10);
        r.remember("bob", "old", Some("$h1"));
        assert!(r.is_repeat("bob", "old", Some("$h1")));
        assert!(!r.is_repeat("bob", "old", Some("$h2")), "the password changed since");
        assert!(!r.is_repeat("alice", "old", Some("$h1")));
        assert!(!r.is_repeat("bob", "other", Some("$h1")));
        for pw in ["a", "b", "c"] {
            r.remember("bob", pw, Some("$h1"));
        }
        assert!(!r.is_repeat("bob", "old", Some("$h1")), "only the last three");
        assert!(r.is_repeat("bob", "a", Some("$h1")) && r.is_repeat("bob", "c", Some("$h1")));
        r.remember("ghost", "x", None);
        assert!(r.is_repeat("ghost", "x", None));
    }

    #[test]
    fn bounded_and_expiring() {
        let r = RecentFailures::new(Duration::from_millis(1), 2);
        r.remember("a", "x", None);
        std::thread::sleep(Duration::from_millis(5));
        assert!(!r.is_repeat("a", "x", None), "older than the window");
        r.remember("b", "x", None);
        r.remember("c", "x", None);
        assert!(r.accounts.lock().unwrap().len() <= 2);
    }
}
