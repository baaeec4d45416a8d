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

    /// `Some(wait)` when `key` is blocked, with the time left in its window.
    pub fn blocked(&self, key: &str) -> Option<Duration> {
        let keys = self.keys.lock().unwrap();
        let w = keys.get(key)?;
        let elapsed = w.started.elapsed();
        (w.failures >= self.limit && elapsed < self.window).then(|| self.window - elapsed)
    }

    pub fn record_failure(&self, key: &str) {
        let mut keys = self.keys.lock().unwrap();
        if keys.len() > 100_000 {
            let window = self.window;
            keys.retain(|_, w| w.started.elapsed() < window);
        }
        let w = keys.entry(key.to_string()).or_insert(Window { started: Instant::now(), failures: 0 });
        if w.started.elapsed() >= self.window {
            *w = Window { started: Instant::now(), failures: 0 };
        }
        w.failures += 1;
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
        for _ in 0..2 {
            l.record_failure("k");
        }
        assert!(l.blocked("k").is_none());
        l.record_failure("k");
        assert!(l.blocked("k").is_some());
        assert!(l.blocked("other").is_none());
        l.reset("k");
        assert!(l.blocked("k").is_none());
    }
}
