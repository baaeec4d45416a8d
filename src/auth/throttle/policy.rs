//! What an attempt is keyed on, and the rule that judges it from the
//! failures seen: wait, and how long, or be refused. Pure functions; the
//! reasons are in `docs/decisions.md`, "Login throttling".

use std::net::IpAddr;
use std::time::Duration;

use crate::store::{LoginHistory, Millis};

/// Longest username kept in a key: longer ones cannot exist (usernames
/// are at most 64 characters), and a key should not grow with the header.
const ACCOUNT_KEY_CHARS: usize = 128;

/// The account an attempt names, as counted: lower case, so that `Bob` and
/// `bob` are one target.
pub fn account_key(username: &str) -> String {
    username.chars().take(ACCOUNT_KEY_CHARS).collect::<String>().to_lowercase()
}

/// The client address as counted: an IPv4 address (an IPv4-mapped IPv6
/// address is the IPv4 one), or the /64 network of an IPv6 address — the
/// size of one customer's subnet (RFC 4291 §2.5.1: interface identifiers
/// are 64 bits), so that a host cannot get fresh counts by changing its
/// interface identifier. Nextcloud's throttler keys on the /64 likewise.
pub fn address_key(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    }
}

/// The configured limits.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Failures of one account from one address, within the window, from
    /// which that account's attempts from that address are refused.
    pub per_pair: u32,
    /// Failures from one address, whatever the accounts, from which the
    /// address's attempts are refused — except for accounts that logged in
    /// from it recently.
    pub per_address: u32,
    /// How long a failure counts.
    pub window: Duration,
    /// The longest wait before an attempt is verified.
    pub max_delay: Duration,
}

/// The first wait, doubled at each further step (Nextcloud's throttler
/// starts at 0.2 s after one failure and doubles up to its maximum).
const FIRST_DELAY: Duration = Duration::from_millis(200);

impl Limits {
    /// The wait for `steps` failures: none for none, then 0.2 s, doubling,
    /// up to `max_delay`.
    pub fn delay(&self, steps: u32) -> Duration {
        if steps == 0 {
            return Duration::ZERO;
        }
        FIRST_DELAY.saturating_mul(1 << (steps - 1).min(20)).min(self.max_delay)
    }

    /// Failures of an address or an account, brought to the scale of one
    /// account at one address: `per_address` of them count as `per_pair`.
    fn scaled(&self, failures: u32) -> u32 {
        (u64::from(failures) * u64::from(self.per_pair) / u64::from(self.per_address.max(1))) as u32
    }

    /// The wait until the oldest failure counted leaves the window (then
    /// one attempt more is allowed); the whole window when none is stored
    /// yet (the failures counted are attempts still in flight).
    fn retry_after(&self, oldest: Option<Millis>, now: Millis) -> Duration {
        let window = self.window.max(Duration::from_secs(1));
        let left = |t: Millis| Duration::from_millis((t + window.as_millis() as i64 - now).max(0) as u64);
        oldest.map_or(window, left).clamp(Duration::from_secs(1), window)
    }
}

/// What an attempt is judged on: the failures stored within the window
/// plus the attempts of this process still in flight on the same keys.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Seen {
    pub history: LoginHistory,
    /// This account from this address.
    pub pair: u32,
    /// This address, every account.
    pub address: u32,
    /// This account, every address.
    pub account: u32,
    /// The account logged in from this address recently.
    pub familiar: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Verify the password after this wait.
    Proceed(Duration),
    /// Answer 429 without verifying; the client may retry after this.
    Refuse(Duration),
}

/// Judge an attempt.
///
/// - Failures of this account *from this address* slow its next attempts
///   from there, and refuse them from `per_pair` on (guessing one
///   account). Nothing else refuses an account at an address where it has
///   no failures, so guesses from elsewhere cannot lock its owner out.
/// - Failures *from this address* on any accounts slow, then refuse, the
///   address's attempts (spraying), except for accounts that logged in
///   from it recently (a shared address's own users). OWASP asks for
///   address failures to be counted apart from account failures.
/// - Failures *of this account* from every address (distributed guessing)
///   slow the attempts that come from unfamiliar addresses already failing
///   on it, never refuse: a correct password from an address with no
///   failures for the account, or where it logged in recently, is neither
///   refused nor slowed by what others did.
pub fn judge(seen: &Seen, limits: &Limits, now: Millis) -> Verdict {
    if seen.pair >= limits.per_pair {
        return Verdict::Refuse(limits.retry_after(seen.history.pair_oldest, now));
    }
    let mut steps = seen.pair;
    if !seen.familiar {
        if seen.address >= limits.per_address {
            return Verdict::Refuse(limits.retry_after(seen.history.address_oldest, now));
        }
        steps = steps.max(limits.scaled(seen.address));
        if seen.pair > 0 {
            steps = steps.max(limits.scaled(seen.account));
        }
    }
    Verdict::Proceed(limits.delay(steps))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits { per_pair: 10, per_address: 50, window: Duration::from_secs(900), max_delay: Duration::from_secs(15) }
    }

    fn seen(pair: u32, address: u32, account: u32, familiar: bool) -> Seen {
        Seen { history: LoginHistory::default(), pair, address, account, familiar }
    }

    const NOW: Millis = 1_000_000_000;

    #[test]
    fn keys() {
        assert_eq!(account_key("Bob"), "bob");
        assert_eq!(account_key(&"x".repeat(1000)).len(), ACCOUNT_KEY_CHARS);
        assert_eq!(address_key("198.51.100.7".parse().unwrap()), "198.51.100.7");
        assert_eq!(address_key("::ffff:198.51.100.7".parse().unwrap()), "198.51.100.7");
        let a = address_key("2001:db8:5:6::1".parse().unwrap());
        assert_eq!(a, "2001:db8:5:6::/64");
        assert_eq!(address_key("2001:db8:5:6:abcd:1:2:3".parse().unwrap()), a, "one /64, one key");
        assert_ne!(address_key("2001:db8:5:7::1".parse().unwrap()), a);
    }

    #[test]
    fn delays_double_up_to_the_cap() {
        let l = limits();
        let d: Vec<u64> = (0..10).map(|n| l.delay(n).as_millis() as u64).collect();
        assert_eq!(d, [0, 200, 400, 800, 1600, 3200, 6400, 12800, 15000, 15000]);
        assert_eq!(l.delay(u32::MAX), Duration::from_secs(15));
        assert_eq!(Limits { max_delay: Duration::ZERO, ..l }.delay(5), Duration::ZERO);
    }

    #[test]
    fn a_pair_is_slowed_then_refused() {
        let l = limits();
        assert_eq!(judge(&seen(0, 0, 0, false), &l, NOW), Verdict::Proceed(Duration::ZERO));
        assert_eq!(judge(&seen(3, 3, 3, false), &l, NOW), Verdict::Proceed(Duration::from_millis(800)));
        let mut s = seen(10, 10, 10, true);
        s.history.pair_oldest = Some(NOW - 300_000);
        assert_eq!(judge(&s, &l, NOW), Verdict::Refuse(Duration::from_secs(600)), "until the oldest failure expires");
        s.history.pair_oldest = None;
        assert_eq!(judge(&s, &l, NOW), Verdict::Refuse(Duration::from_secs(900)), "failures still in flight");
    }

    #[test]
    fn failures_elsewhere_never_hold_back_a_clean_address() {
        let l = limits();
        // Thousands of failures on the account from other addresses.
        assert_eq!(judge(&seen(0, 0, 5000, false), &l, NOW), Verdict::Proceed(Duration::ZERO));
        // The same, from an address that failed on it once: slowed, not refused.
        assert_eq!(judge(&seen(1, 1, 5000, false), &l, NOW), Verdict::Proceed(Duration::from_secs(15)));
        // From where the account logged in recently: only its own failures count.
        assert_eq!(judge(&seen(1, 1, 5000, true), &l, NOW), Verdict::Proceed(Duration::from_millis(200)));
    }

    #[test]
    fn an_address_is_slowed_then_refused_except_for_familiar_accounts() {
        let l = limits();
        assert_eq!(judge(&seen(0, 4, 4, false), &l, NOW), Verdict::Proceed(Duration::ZERO), "a few typos at a shared address");
        assert_eq!(judge(&seen(0, 20, 0, false), &l, NOW), Verdict::Proceed(Duration::from_millis(1600)));
        let mut s = seen(0, 50, 0, false);
        s.history.address_oldest = Some(NOW - 899_500);
        assert_eq!(judge(&s, &l, NOW), Verdict::Refuse(Duration::from_secs(1)));
        assert_eq!(judge(&seen(0, 50, 0, true), &l, NOW), Verdict::Proceed(Duration::ZERO), "logged in from there recently");
        assert!(matches!(judge(&seen(10, 50, 10, true), &l, NOW), Verdict::Refuse(_)), "but not for its own guesses");
    }
}
