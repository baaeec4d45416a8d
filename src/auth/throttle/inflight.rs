//! Attempts of this process not yet judged: counted with the stored
//! failures, so that concurrent guesses cannot all pass on the count read
//! before any of them failed.
//!
//! An attempt reads the stored failures and reserves its place here under
//! its address's lock, and a failure is recorded in the store and its
//! reservation released under the same lock: whoever reads next sees the
//! attempt either in flight or stored, never in both nor in neither. (Pair
//! and address counts are therefore exact within a process; the account
//! count, which only slows, spans addresses and is not locked.)

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::sync::Mutex;

/// Address locks: a fixed set, an address hashed to one of them.
const STRIPES: usize = 64;

/// Attempts in flight ahead of a new one, on each key.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Ahead {
    pub pair: u32,
    pub address: u32,
    pub account: u32,
}

#[derive(Default)]
struct Counts {
    pair: HashMap<(String, String), u32>,
    address: HashMap<String, u32>,
    account: HashMap<String, u32>,
}

pub struct InFlight {
    counts: Mutex<Counts>,
    stripes: Vec<tokio::sync::Mutex<()>>,
}

/// One attempt's place, given back when dropped (judged, failed, or the
/// request went away).
pub struct Reservation<'a> {
    owner: &'a InFlight,
    account: String,
    address: String,
    pub ahead: Ahead,
}

fn take<K: Hash + Eq>(map: &mut HashMap<K, u32>, key: K) -> u32 {
    let n = map.entry(key).or_insert(0);
    *n += 1;
    *n - 1
}

fn give_back<K: Hash + Eq>(map: &mut HashMap<K, u32>, key: &K) {
    if let Some(n) = map.get_mut(key) {
        *n -= 1;
        if *n == 0 {
            map.remove(key);
        }
    }
}

impl InFlight {
    pub fn new() -> Self {
        InFlight { counts: Mutex::default(), stripes: (0..STRIPES).map(|_| tokio::sync::Mutex::new(())).collect() }
    }

    /// The lock of `address` (held while reading the stored failures and
    /// reserving, and while recording a failure and releasing).
    pub async fn lock(&self, address: &str) -> tokio::sync::MutexGuard<'_, ()> {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        address.hash(&mut h);
        self.stripes[h.finish() as usize % STRIPES].lock().await
    }

    /// Reserve a place for an attempt on `account` from `address`. Entries
    /// live only while attempts are in flight, so the maps stay as small as
    /// the number of concurrent requests.
    pub fn reserve(&self, account: &str, address: &str) -> Reservation<'_> {
        let mut c = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        let ahead = Ahead {
            pair: take(&mut c.pair, (account.to_string(), address.to_string())),
            address: take(&mut c.address, address.to_string()),
            account: take(&mut c.account, account.to_string()),
        };
        Reservation { owner: self, account: account.to_string(), address: address.to_string(), ahead }
    }
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        let mut c = self.owner.counts.lock().unwrap_or_else(|e| e.into_inner());
        let (account, address) = (std::mem::take(&mut self.account), std::mem::take(&mut self.address));
        give_back(&mut c.address, &address);
        give_back(&mut c.account, &account);
        give_back(&mut c.pair, &(account, address));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_attempts_ahead_and_forgets_them() {
        let f = InFlight::new();
        let one = f.reserve("bob", "a");
        assert_eq!(one.ahead, Ahead::default());
        let two = f.reserve("bob", "a");
        assert_eq!(two.ahead, Ahead { pair: 1, address: 1, account: 1 });
        let other = f.reserve("carol", "a");
        assert_eq!(other.ahead, Ahead { pair: 0, address: 2, account: 0 });
        drop((one, two, other));
        assert_eq!(f.reserve("bob", "a").ahead, Ahead::default());
        let c = f.counts.lock().unwrap();
        assert!(c.pair.is_empty() && c.address.is_empty() && c.account.is_empty(), "nothing left behind");
    }
}
