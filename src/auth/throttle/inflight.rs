//! Attempts of this process admitted and not yet settled, so that a burst
//! of guesses sent at once cannot pass a limit on a count read before any
//! of them failed — without holding a lock across a database call (only a
//! `std` mutex over these maps, for a few map operations).
//!
//! An attempt
//! 1. registers as a reader of its pair (account, address) and address
//!    ([`InFlight::reading`]), noting their versions;
//! 2. reads the stored failures, no lock held;
//! 3. under the mutex ([`Reading::reserve`]): if an attempt on the same pair
//!    or address was settled since step 1 (a version changed), reads again,
//!    since the read may or may not include it; otherwise takes a place if
//!    the rule leaves room for one beside the attempts in flight, or waits
//!    for one of those to settle and reads again;
//! 4. is verified, its result written, no lock held, then settled: its place
//!    released and, if it wrote to the store, the versions bumped, in one
//!    step under the mutex ([`Reservation`]'s drop).
//!
//! Whoever judges thus sees each attempt of this process in flight or
//! stored, never in neither (for a moment in both: that only makes it wait
//! for the settlement). Refusals and delays are decided on stored failures
//! alone (`policy::judge`); the attempts in flight only decide whether one
//! more may be verified now or must wait for a result. Pair and address
//! counts are exact within a process; the account count, which only slows
//! and spans addresses, has no places.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use tokio::sync::futures::OwnedNotified;
use tokio::sync::Notify;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Pair(String, String),
    Address(String),
}

/// One pair's or address's attempts. Kept while an attempt is in flight on
/// it or reading its failures, so that versions mean something to readers.
#[derive(Default)]
struct Entry {
    in_flight: u32,
    readers: u32,
    /// Bumped by each settlement that wrote to the store.
    version: u64,
    /// Woken by each settlement.
    settled: Arc<Notify>,
}

#[derive(Default)]
pub struct InFlight {
    entries: Mutex<HashMap<Key, Entry>>,
}

/// An attempt reading its stored failures (step 1 to 3).
pub struct Reading<'a> {
    owner: &'a InFlight,
    keys: [Key; 2],
    versions: [u64; 2],
}

/// What [`Reading::reserve`] gives.
pub enum Taken<'a> {
    /// A place: verify.
    Place(Reservation<'a>),
    /// An attempt on the same keys was settled during the read: read again.
    Stale,
    /// No room beside the attempts in flight: read again once this
    /// completes (one of them settled).
    Full(Pin<Box<OwnedNotified>>),
}

/// One attempt's place, given back when dropped (settled, or the request
/// went away).
pub struct Reservation<'a> {
    owner: &'a InFlight,
    keys: [Key; 2],
    wrote: bool,
}

impl InFlight {
    pub fn new() -> Self {
        InFlight::default()
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Entry>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Step 1: before reading the stored failures of `account` from
    /// `address`.
    pub fn reading(&self, account: &str, address: &str) -> Reading<'_> {
        let keys = [Key::Pair(account.to_string(), address.to_string()), Key::Address(address.to_string())];
        let mut entries = self.entries();
        let mut versions = [0; 2];
        for (key, version) in keys.iter().zip(&mut versions) {
            let e = entries.entry(key.clone()).or_default();
            e.readers += 1;
            *version = e.version;
        }
        Reading { owner: self, keys, versions }
    }
}

fn tidy(entries: &mut HashMap<Key, Entry>, key: &Key) {
    if entries.get(key).is_some_and(|e| e.in_flight == 0 && e.readers == 0) {
        entries.remove(key);
    }
}

impl<'a> Reading<'a> {
    fn current(&self, entries: &HashMap<Key, Entry>) -> bool {
        self.keys.iter().zip(self.versions).all(|(k, v)| entries.get(k).is_some_and(|e| e.version == v))
    }

    /// Whether no attempt on these keys was settled since the read began:
    /// the read is then as fresh as any.
    pub fn is_current(&self) -> bool {
        self.current(&self.owner.entries())
    }

    /// Step 3: a place if the read is current and fewer than `pair_room`
    /// attempts are in flight on the pair and, unless None, fewer than
    /// `address_room` on the address.
    pub fn reserve(self, pair_room: u32, address_room: Option<u32>) -> Taken<'a> {
        let owner = self.owner;
        let mut entries = owner.entries();
        if !self.current(&entries) {
            return Taken::Stale;
        }
        // At least one: an attempt alone is never kept waiting (nobody
        // would wake it).
        let rooms = [Some(pair_room.max(1)), address_room.map(|r| r.max(1))];
        for (key, room) in self.keys.iter().zip(rooms) {
            let e = &entries[key];
            if room.is_some_and(|room| e.in_flight >= room) {
                // Registered now, under the mutex: a settlement after this
                // point wakes it.
                let mut settled = Box::pin(e.settled.clone().notified_owned());
                settled.as_mut().enable();
                return Taken::Full(settled);
            }
        }
        for key in &self.keys {
            entries.get_mut(key).expect("kept by the reading").in_flight += 1;
        }
        Taken::Place(Reservation { owner, keys: self.keys.clone(), wrote: false })
    }
}

impl Drop for Reading<'_> {
    fn drop(&mut self) {
        let mut entries = self.owner.entries();
        for key in &self.keys {
            if let Some(e) = entries.get_mut(key) {
                e.readers -= 1;
            }
            tidy(&mut entries, key);
        }
    }
}

impl Reservation<'_> {
    /// Called before writing the attempt's result to the store: its
    /// settlement then tells readers to read again, even if the request goes
    /// away while the write may still land.
    pub fn writing(&mut self) {
        self.wrote = true;
    }
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        let mut entries = self.owner.entries();
        for key in &self.keys {
            if let Some(e) = entries.get_mut(key) {
                e.in_flight -= 1;
                if self.wrote {
                    e.version = e.version.wrapping_add(1);
                }
                e.settled.notify_waiters();
            }
            tidy(&mut entries, key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn place(t: Taken<'_>) -> Reservation<'_> {
        match t {
            Taken::Place(p) => p,
            Taken::Stale => panic!("stale"),
            Taken::Full(_) => panic!("full"),
        }
    }

    #[tokio::test]
    async fn places_are_bounded_by_the_room_left() {
        let f = InFlight::new();
        let one = place(f.reading("bob", "a").reserve(2, Some(3)));
        let _two = place(f.reading("bob", "a").reserve(2, Some(3)));
        let Taken::Full(settled) = f.reading("bob", "a").reserve(2, Some(3)) else { panic!("pair full") };
        let carol = place(f.reading("carol", "a").reserve(2, Some(3)));
        assert!(matches!(f.reading("dave", "a").reserve(2, Some(3)), Taken::Full(_)), "address full");
        assert!(matches!(f.reading("dave", "a").reserve(2, None), Taken::Place(_)), "no address room asked");
        drop(one);
        tokio::time::timeout(Duration::from_secs(1), settled).await.expect("a settlement wakes the waiter");
        drop(carol);
    }

    #[test]
    fn a_read_overtaken_by_a_write_is_stale() {
        let f = InFlight::new();
        let mut writer = place(f.reading("bob", "a").reserve(5, Some(5)));
        let quiet = place(f.reading("carol", "b").reserve(5, Some(5)));
        let reading = f.reading("bob", "a");
        let elsewhere = f.reading("bob", "b");
        drop(quiet);
        assert!(reading.is_current(), "a settlement that wrote nothing");
        writer.writing();
        drop(writer);
        assert!(!reading.is_current());
        assert!(matches!(reading.reserve(5, Some(5)), Taken::Stale));
        assert!(matches!(elsewhere.reserve(5, Some(5)), Taken::Place(_)), "another pair and address");
        assert!(f.reading("bob", "a").is_current(), "a read begun after it");
    }

    #[test]
    fn nothing_left_behind() {
        let f = InFlight::new();
        let p = place(f.reading("bob", "a").reserve(1, None));
        let waiting = f.reading("bob", "a").reserve(1, None);
        assert!(matches!(waiting, Taken::Full(_)));
        drop((p, waiting));
        assert!(f.entries().is_empty());
    }
}
