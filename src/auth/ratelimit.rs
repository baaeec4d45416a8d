//! Limits failed login attempts per account and per client address.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

struct Window {
    started: Instant,
    failures: u32,
}

/// Counts failures per key in fixed windows; a key that reached its limit is
/// refused until its window ends.
pub struct FailureLimiter {
    limit: u32,
    window: Duration,
    keys: Mutex<HashMap<String, Window>>,
}

impl FailureLimiter {
    pub fn new(limit: u32, window: Duration) -> Self {
        FailureLimiter { limit, window, keys: Mutex::new(HashMap::new()) }
    }

    #[cfg(test)]
    /// `Some(wait)` when `key` is blocked, with the time left in its window.
    pub fn blocked(&self, key: &str) -> Option<Duration> {
        let keys = self.keys.lock().unwrap();
        let w = keys.get(key)?;
        let elapsed = w.started.elapsed();
        (w.failures >= self.limit && elapsed < self.window).then(|| self.window - elapsed)
    }

    /// Count an attempt before it is verified, so that concurrent guesses
    /// are all counted; `Err(wait)` when the key is already blocked. A
    /// successful attempt is given back with [`FailureLimiter::refund`].
    pub fn begin_attempt(&self, key: &str) -> Result<(), Duration> {
        let mut keys = self.keys.lock().unwrap();
        if keys.len() > 100_000 {
            let window = self.window;
            keys.retain(|_, w| w.started.elapsed() < window);
        }
        let w = keys.entry(key.to_string()).or_insert(Window { started: Instant::now(), failures: 0 });
        let elapsed = w.started.elapsed();
        if elapsed >= self.window {
            *w = Window { started: Instant::now(), failures: 0 };
        } else if w.failures >= self.limit {
            return Err(self.window - elapsed);
        }
        w.failures += 1;
        Ok(())
    }

    /// Give back an attempt that turned out to be a success.
    pub fn refund(&self, key: &str) {
        if let Some(w) = self.keys.lock().unwrap().get_mut(key) {
            w.failures = w.failures.saturating_sub(1);
        }
    }

    pub fn reset(&self, key: &str) {
        self.keys.lock().unwrap().remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_after_limit_within_window() {
        let l = FailureLimiter::new(3, Duration::from_secs(60));
        for _ in 0..3 {
            assert!(l.begin_attempt("k").is_ok());
        }
        assert!(l.blocked("k").is_some());
        assert!(l.begin_attempt("k").is_err(), "a fourth concurrent attempt is refused");
        l.refund("k");
        assert!(l.blocked("k").is_none());
        assert!(l.blocked("other").is_none());
        l.reset("k");
        assert!(l.blocked("k").is_none());
    }
}
