//! Concurrent identical attempts are verified once. A syncing client opens
//! several connections at once, an HTTP/2 client multiplexes its requests
//! on one (RFC 9113 §5), and Basic credentials are sent again with each
//! request (RFC 7617 §2.2): when the credential cache cannot answer them
//! (cold after a restart, or its entry lapsed) they all carry the same
//! ones, and verifying each would cost an argon2 apiece and, through the
//! login throttle, make them wait for one another. The first of them (the leader) goes through
//! the throttle and argon2; the others wait for its answer and share it.
//!
//! Attempts are identical when the username, the password and the stored
//! hash they are checked against are: the answer of one is then the answer
//! of all. They are keyed by a keyed digest of the three (SHA-256 under a
//! key drawn at start, as in the credential cache), held in memory only
//! while the leader is in flight; the password itself is never kept.
//!
//! Only a verified answer (right or wrong) is shared, or that the argon2
//! pool was too busy to give one. A leader refused by the throttle (perhaps
//! at another address), failed by the store or gone (its request
//! cancelled) shares nothing: its followers then go on as they would have
//! alone, one of them leading.

use std::collections::HashMap;
use std::sync::Mutex;

use sha2::{Digest, Sha256};
use tokio::sync::watch;

type Key = [u8; 32];

/// What a leader shares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// Whether the password is right.
    Verified(bool),
    /// The argon2 pool stayed saturated (`AuthError::Busy`).
    Busy,
}

pub struct SingleFlight {
    key: [u8; 32],
    leaders: Mutex<HashMap<Key, watch::Receiver<Option<Answer>>>>,
}

/// The part an attempt plays.
pub enum Role<'a> {
    /// Verify, then [`Lead::publish`] the answer.
    Lead(Lead<'a>),
    /// Wait for the leader's answer ([`Follow::answer`]).
    Follow(Follow),
}

pub struct Lead<'a> {
    owner: &'a SingleFlight,
    key: Key,
    answer: watch::Sender<Option<Answer>>,
}

pub struct Follow(watch::Receiver<Option<Answer>>);

impl SingleFlight {
    pub fn new() -> Self {
        SingleFlight { key: rand::random(), leaders: Mutex::default() }
    }

    fn leaders(&self) -> std::sync::MutexGuard<'_, HashMap<Key, watch::Receiver<Option<Answer>>>> {
        self.leaders.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The key of an attempt: each part length-prefixed, so that no two
    /// different attempts write the same bytes.
    pub fn key(&self, username: &str, password: &str, stored_hash: Option<&str>) -> Key {
        let mut h = Sha256::new();
        h.update(self.key);
        for part in [Some(username), Some(password), stored_hash] {
            match part {
                Some(p) => {
                    h.update([1]);
                    h.update((p.len() as u64).to_le_bytes());
                    h.update(p.as_bytes());
                }
                None => h.update([0]),
            }
        }
        h.finalize().into()
    }

    /// Lead the attempts keyed `key`, or follow the one leading them.
    pub fn join(&self, key: Key) -> Role<'_> {
        let mut leaders = self.leaders();
        if let Some(answer) = leaders.get(&key) {
            return Role::Follow(Follow(answer.clone()));
        }
        let (tx, rx) = watch::channel(None);
        leaders.insert(key, rx);
        Role::Lead(Lead { owner: self, key, answer: tx })
    }
}

impl Lead<'_> {
    /// The leader's answer, for its followers.
    pub fn publish(self, answer: Answer) {
        self.answer.send_replace(Some(answer));
    }
}

impl Drop for Lead<'_> {
    fn drop(&mut self) {
        // Only this leader's entry can be under its key: another is made
        // only once this one is gone.
        self.owner.leaders().remove(&self.key);
    }
}

impl Follow {
    /// The leader's answer; None when it had none to give (the follower
    /// then tries on its own).
    pub async fn answer(mut self) -> Option<Answer> {
        self.0.wait_for(Option::is_some).await.ok().and_then(|v| *v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lead(r: Role<'_>) -> Lead<'_> {
        match r {
            Role::Lead(l) => l,
            Role::Follow(_) => panic!("follows"),
        }
    }

    fn follow(r: Role<'_>) -> Follow {
        match r {
            Role::Follow(f) => f,
            Role::Lead(_) => panic!("leads"),
        }
    }

    #[test]
    fn keys_tell_attempts_apart() {
        let s = SingleFlight::new();
        let k = s.key("bob", "pw", Some("$h"));
        assert_eq!(k, s.key("bob", "pw", Some("$h")));
        assert_ne!(k, s.key("bob", "pw", Some("$h2")), "checked against another hash");
        assert_ne!(k, s.key("bob", "pw", None));
        assert_ne!(k, s.key("bob", "pw2", Some("$h")));
        assert_ne!(s.key("a", "bc", None), s.key("ab", "c", None));
        assert_ne!(k, SingleFlight::new().key("bob", "pw", Some("$h")), "keyed per process");
    }

    #[tokio::test]
    async fn followers_share_the_leaders_answer() {
        let s = SingleFlight::new();
        let k = s.key("bob", "pw", Some("$h"));
        let leader = lead(s.join(k));
        let (one, two) = (follow(s.join(k)), follow(s.join(k)));
        let other = lead(s.join(s.key("bob", "other", Some("$h"))));
        leader.publish(Answer::Verified(true));
        let right = Some(Answer::Verified(true));
        assert_eq!((one.answer().await, two.answer().await), (right, right));
        drop(other);
        assert!(s.leaders().is_empty(), "nothing left behind");
        let again = lead(s.join(k));
        let late = follow(s.join(k));
        drop(again);
        assert_eq!(late.answer().await, None, "a leader gone without an answer");
        assert!(matches!(s.join(k), Role::Lead(_)));
    }
}
