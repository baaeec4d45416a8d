//! Cache of verified credentials, so that argon2 does not run on every request
//! of a syncing client.
//!
//! An entry holds a keyed digest of the password (never the password) and the
//! stored hash it was verified against. It is used only while it is younger
//! than the TTL *and* the principal's stored hash is still the same one and the
//! account is enabled — so a password change or a disable made by any server
//! process takes effect on the next request.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

struct Entry {
    digest: [u8; 32],
    verified_hash: String,
    at: Instant,
}

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
        match entries.get(username) {
            Some(e) if e.at.elapsed() < self.ttl && e.verified_hash == stored_hash => e.digest == digest,
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
            entries.retain(|_, e| e.at.elapsed() < ttl);
            if entries.len() >= self.max_entries {
                entries.clear();
            }
        }
        entries.insert(
            username.to_string(),
            Entry { digest, verified_hash: stored_hash.to_string(), at: Instant::now() },
        );
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
    fn expires() {
        let c = CredentialCache::new(Duration::from_millis(1), 10);
        c.remember("a", "pw", "$h");
        std::thread::sleep(Duration::from_millis(5));
        assert!(!c.is_verified("a", "pw", "$h"));
    }
}
