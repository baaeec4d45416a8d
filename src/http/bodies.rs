//! The request body bytes held in memory (a body is read whole before its
//! request is handled): bounded in all (`max_inflight_body_bytes`) and per
//! user, so that neither many large bodies at once nor one user sending
//! slowly on many connections can exhaust memory or keep others waiting.
//!
//! - Bodies of at most [`SMALL_BODY`] bytes (nearly every request) are not
//!   counted: no one can make them wait.
//! - Beyond, bytes are counted as they arrive (never what `Content-Length`
//!   merely announces), and a request whose next bytes do not fit — in the
//!   server's budget or in its user's share — is answered 503 at once,
//!   rather than waiting while holding what it already has.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Bodies up to this size are not counted.
pub const SMALL_BODY: usize = 64 * 1024;

pub struct BodyBudget {
    total: Arc<Semaphore>,
    per_user: usize,
    users: Arc<Mutex<HashMap<i64, usize>>>,
}

impl BodyBudget {
    /// `total` bytes in all; `per_user` for one user.
    pub fn new(total: usize, per_user: usize) -> BodyBudget {
        BodyBudget { total: Arc::new(Semaphore::new(total)), per_user, users: Arc::new(Mutex::new(HashMap::new())) }
    }

    /// What one request holds; given back when dropped.
    pub fn hold(&self, user: i64) -> Held {
        Held { permit: None, user, bytes: 0, users: self.users.clone() }
    }

    /// Count `n` more bytes of a body of `user` already holding `held`;
    /// false when they do not fit now.
    pub fn take(&self, held: &mut Held, n: usize) -> bool {
        let Ok(n32) = u32::try_from(n) else { return false };
        {
            let mut users = self.users.lock().unwrap_or_else(|e| e.into_inner());
            let used = users.entry(held.user).or_insert(0);
            if *used + n > self.per_user {
                return false;
            }
            *used += n;
        }
        held.bytes += n;
        match self.total.clone().try_acquire_many_owned(n32) {
            Ok(permit) => {
                match &mut held.permit {
                    Some(p) => p.merge(permit),
                    None => held.permit = Some(permit),
                }
                true
            }
            // `held` gives the user's bytes back when dropped.
            Err(_) => false,
        }
    }
}

/// The body bytes one request holds.
pub struct Held {
    permit: Option<OwnedSemaphorePermit>,
    user: i64,
    bytes: usize,
    users: Arc<Mutex<HashMap<i64, usize>>>,
}

impl Drop for Held {
    fn drop(&mut self) {
        if self.bytes == 0 {
            return;
        }
        let mut users = self.users.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(used) = users.get_mut(&self.user) {
            *used = used.saturating_sub(self.bytes);
            if *used == 0 {
                users.remove(&self.user);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_are_per_user_and_given_back() {
        let budget = BodyBudget::new(100, 60);
        let mut a = budget.hold(1);
        assert!(budget.take(&mut a, 50));
        assert!(!budget.take(&mut a, 20), "user 1 would pass its share");
        let mut b = budget.hold(2);
        assert!(budget.take(&mut b, 50));
        let mut c = budget.hold(3);
        assert!(!budget.take(&mut c, 10), "the server's budget is full");
        drop(a);
        assert!(budget.take(&mut c, 10));
        assert!(budget.users.lock().unwrap().get(&1).is_none());
    }
}
