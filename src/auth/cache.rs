//! Cache of verified credentials, so that argon2 does not run on every request
//! of a syncing client.
//!
//! An entry holds a keyed digest of the password (never the password) and the
//! stored hash it was verified against. It is used only while it was used
//! within the TTL (sliding, so a syncing device stays recognised), is younger
//! than a day, *and* the principal's stored hash is still the same one and
//! the account is enabled — so a password change or a disable takes effect
//! as soon as the principal is read again: on the next request of the
//! process that made it, within [`PRINCIPAL_MAX_AGE`] in the others (the
//! principals of successful authentications are kept that long, see
//! [`PrincipalCache`] and `docs/decisions.md`).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::store::Principal;

struct Entry {
    digest: [u8; 32],
    verified_hash: String,
    verified_at: Instant,
    last_used: Instant,
}

/// However often an entry is used, argon2 runs again after this long.
const MAX_LIFETIME: Duration = Duration::from_secs(24 * 3600);

pub struct CredentialCache {
    key: [u8; 32],
    ttl: Duration,
    max_entries: usize,
    entries: Mutex<HashMap<String, Entry>>,
}

impl CredentialCache {
    pub fn new(ttl: Duration, max_entries: usize) -> Self {
        CredentialCache { key: rand::random(), ttl, max_entries, entries: Mutex::new(HashMap::new()) }
    }

    fn digest(&self, username: &str, password: &str) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(self.key);
        h.update(username.as_bytes());
        h.update([0]);
        h.update(password.as_bytes());
        h.finalize().into()
    }

    /// Whether these credentials were verified recently against `stored_hash`.
    pub fn is_verified(&self, username: &str, password: &str, stored_hash: &str) -> bool {
        if self.ttl.is_zero() {
            return false;
        }
        let digest = self.digest(username, password);
        let mut entries = self.entries.lock().unwrap();
        match entries.get_mut(username) {
            Some(e)
                if e.last_used.elapsed() < self.ttl
                    && e.verified_at.elapsed() < MAX_LIFETIME
                    && e.verified_hash == stored_hash =>
            {
                let hit = e.digest == digest;
                if hit {
                    e.last_used = Instant::now();
                }
                hit
            }
            Some(_) => {
                entries.remove(username);
                false
            }
            None => false,
        }
    }

    pub fn remember(&self, username: &str, password: &str, stored_hash: &str) {
        if self.ttl.is_zero() {
            return;
        }
        let digest = self.digest(username, password);
        let mut entries = self.entries.lock().unwrap();
        if entries.len() >= self.max_entries {
            let ttl = self.ttl;
            entries.retain(|_, e| e.last_used.elapsed() < ttl);
            if entries.len() >= self.max_entries {
                entries.clear();
            }
        }
        entries.insert(
            username.to_string(),
            Entry { digest, verified_hash: stored_hash.to_string(), verified_at: Instant::now(), last_used: Instant::now() },
        );
    }

}

/// How long a principal read for authentication is used without reading it
/// again, when no change to the directory was made by this process since:
/// the bound on how late this process sees a password change, a disable or
/// a deletion made by *another* process (the `user` command, another
/// server). Changes made through this process's store are seen at once
/// (`Store::directory_generation`). See `docs/decisions.md`.
pub const PRINCIPAL_MAX_AGE: Duration = Duration::from_secs(1);

struct CachedPrincipal {
    principal: Principal,
    generation: u64,
    read_at: Instant,
}

/// Principals recently read for authentication, by username.
pub struct PrincipalCache {
    max_age: Duration,
    max_entries: usize,
    entries: Mutex<HashMap<String, CachedPrincipal>>,
}

impl PrincipalCache {
    pub fn new(max_age: Duration, max_entries: usize) -> Self {
        PrincipalCache { max_age, max_entries, entries: Mutex::new(HashMap::new()) }
    }

    /// The principal `username` read less than the maximum age ago, with no
    /// directory change through this process since (`generation` is the
    /// store's current directory generation).
    pub fn get(&self, username: &str, generation: u64) -> Option<Principal> {
        if self.max_age.is_zero() {
            return None;
        }
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .get(username)
            .filter(|e| e.generation == generation && e.read_at.elapsed() < self.max_age)
            .map(|e| e.principal.clone())
    }

    /// Remember `principal`, read at `read_at` after the store's directory
    /// generation was `generation` (read *before* the principal, so a change
    /// committed in between makes the entry stale at once).
    pub fn remember(&self, username: &str, principal: &Principal, generation: u64, read_at: Instant) {
        if self.max_age.is_zero() {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= self.max_entries && !entries.contains_key(username) {
            let max_age = self.max_age;
            entries.retain(|_, e| e.read_at.elapsed() < max_age);
            if entries.len() >= self.max_entries {
                entries.clear();
            }
        }
        entries.insert(username.to_string(), CachedPrincipal { principal: principal.clone(), generation, read_at });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalidated_by_hash_change_and_wrong_password() {
        let c = CredentialCache::new(Duration::from_secs(60), 10);
        c.remember("alice", "pw", "$h1");
        assert!(c.is_verified("alice", "pw", "$h1"));
        assert!(!c.is_verified("alice", "other", "$h1"));
        assert!(!c.is_verified("alice", "pw", "$h2"));
        assert!(!c.is_verified("alice", "pw", "$h1"), "entry dropped after hash change");
    }

    #[test]
    fn use_keeps_an_entry_alive() {
        // Generous margins: the assertions hold however slow the machine is,
        // as long as one sleep does not overrun the TTL by half.
        let c = CredentialCache::new(Duration::from_millis(1000), 10);
        c.remember("a", "pw", "$h");
        for _ in 0..3 {
            std::thread::sleep(Duration::from_millis(500));
            assert!(c.is_verified("a", "pw", "$h"), "used within the TTL: still valid");
        }
        std::thread::sleep(Duration::from_millis(1100));
        assert!(!c.is_verified("a", "pw", "$h"), "idle past the TTL");
    }

    fn principal(name: &str) -> Principal {
        Principal {
            id: 1,
            username: name.into(),
            kind: crate::store::PrincipalKind::User,
            display_name: None,
            academie: None,
            password_hash: Some("$h".into()),
            disabled: false,
            is_admin: false,
            quota_bytes: None,
            created_at: 0,
        }
    }

    #[test]
    fn principal_cache_bounded_by_age_and_generation() {
        let c = PrincipalCache::new(Duration::from_millis(200), 10);
        c.remember("a", &principal("a"), 7, Instant::now());
        assert!(c.get("a", 7).is_some());
        assert!(c.get("a", 8).is_none(), "a directory change through this process: read again");
        assert!(c.get("b", 7).is_none());
        std::thread::sleep(Duration::from_millis(250));
        assert!(c.get("a", 7).is_none(), "older than the maximum age");
        let off = PrincipalCache::new(Duration::ZERO, 10);
        off.remember("a", &principal("a"), 0, Instant::now());
        assert!(off.get("a", 0).is_none());
    }

    #[test]
    fn expires() {
        let c = CredentialCache::new(Duration::from_millis(1), 10);
        c.remember("a", "pw", "$h");
        std::thread::sleep(Duration::from_millis(5));
        assert!(!c.is_verified("a", "pw", "$h"));
    }
}
