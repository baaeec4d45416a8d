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
    /// which that account's attempts from that address are refused —
    /// unless it logged in from it recently: they are then verified one at
    /// a time.
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
    /// one attempt more is allowed), at least a second (RFC 9110 §10.2.3:
    /// delay-seconds). Only stored failures refuse, and their count and
    /// oldest time come from one statement, so `oldest` is known whenever
    /// one is refused; were it not, the attempt is judged again a second
    /// later rather than told to wait the whole window.
    fn retry_after(&self, oldest: Option<Millis>, now: Millis) -> Duration {
        let window = self.window.max(Duration::from_secs(1));
        let left = |t: Millis| Duration::from_millis((t + window.as_millis() as i64 - now).max(0) as u64);
        oldest.map_or(Duration::ZERO, left).clamp(Duration::from_secs(1), window)
    }
}

/// What an attempt is judged on: the failures stored within the window —
/// never the attempts still in flight, which are not failures (yet) and
/// may well be the same client's correct password on another connection.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Seen {
    pub history: LoginHistory,
    /// The account logged in from this address recently.
    pub familiar: bool,
}

/// An attempt allowed to be verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Admission {
    /// The wait before it is verified.
    pub delay: Duration,
    /// How many of the pair's attempts may be in flight at once, so that
    /// a burst sent at once cannot get past a limit on failures not stored
    /// yet (see `inflight`): the failures the limit still allows, at least
    /// one where the pair is never refused.
    pub pair_room: u32,
    /// The same for the address's attempts (None: the address's count does
    /// not limit this attempt).
    pub address_room: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Verify the password, as it says.
    Proceed(Admission),
    /// Answer 429 without verifying; the client may retry after this.
    Refuse(Duration),
}

/// Judge an attempt.
///
/// - Failures of this account *from this address* slow its next attempts
///   from there (OWASP Authentication Cheat Sheet: throttle rather than
///   lock), and refuse them from `per_pair` on (guessing one account) —
///   unless the account logged in from this address recently: there they
///   are slowed, up to `max_delay`, and verified one at a time, never
///   refused, so that someone sharing the owner's address (a school's NAT)
///   cannot lock the owner out from it. Nothing else refuses an account at
///   an address where it has no failures, so guesses from elsewhere cannot
///   lock its owner out either.
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
    let h = &seen.history;
    if seen.familiar {
        return Verdict::Proceed(Admission {
            delay: limits.delay(h.pair_failures),
            pair_room: limits.per_pair.saturating_sub(h.pair_failures).max(1),
            address_room: None,
        });
    }
    if h.pair_failures >= limits.per_pair {
        return Verdict::Refuse(limits.retry_after(h.pair_oldest, now));
    }
    if h.address_failures >= limits.per_address {
        return Verdict::Refuse(limits.retry_after(h.address_oldest, now));
    }
    let mut steps = h.pair_failures.max(limits.scaled(h.address_failures));
    if h.pair_failures > 0 {
        steps = steps.max(limits.scaled(h.account_failures));
    }
    Verdict::Proceed(Admission {
        delay: limits.delay(steps),
        pair_room: limits.per_pair - h.pair_failures,
        address_room: Some(limits.per_address - h.address_failures),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits { per_pair: 10, per_address: 50, window: Duration::from_secs(900), max_delay: Duration::from_secs(15) }
    }

    fn seen(pair: u32, address: u32, account: u32, familiar: bool) -> Seen {
        let history = LoginHistory {
            pair_failures: pair,
            address_failures: address,
            account_failures: account,
            ..LoginHistory::default()
        };
        Seen { history, familiar }
    }

    const NOW: Millis = 1_000_000_000;

    /// The wait of an admitted attempt.
    fn delay(v: Verdict) -> Duration {
        match v {
            Verdict::Proceed(a) => a.delay,
            Verdict::Refuse(_) => panic!("refused"),
        }
    }

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
        let clean = Admission { delay: Duration::ZERO, pair_room: 10, address_room: Some(50) };
        assert_eq!(judge(&seen(0, 0, 0, false), &l, NOW), Verdict::Proceed(clean));
        let slowed = Admission { delay: Duration::from_millis(800), pair_room: 7, address_room: Some(47) };
        assert_eq!(judge(&seen(3, 3, 3, false), &l, NOW), Verdict::Proceed(slowed), "room for the failures left");
        let mut s = seen(10, 10, 10, false);
        s.history.pair_oldest = Some(NOW - 300_000);
        assert_eq!(judge(&s, &l, NOW), Verdict::Refuse(Duration::from_secs(600)), "until the oldest failure expires");
        s.history.pair_oldest = Some(NOW - 899_999);
        assert_eq!(judge(&s, &l, NOW), Verdict::Refuse(Duration::from_secs(1)), "at least a second");
        s.history.pair_oldest = None;
        assert_eq!(judge(&s, &l, NOW), Verdict::Refuse(Duration::from_secs(1)), "unknown: judged again, not the window");
    }

    #[test]
    fn failures_elsewhere_never_hold_back_a_clean_address() {
        let l = limits();
        // Thousands of failures on the account from other addresses.
        assert_eq!(delay(judge(&seen(0, 0, 5000, false), &l, NOW)), Duration::ZERO);
        // The same, from an address that failed on it once: slowed, not refused.
        assert_eq!(delay(judge(&seen(1, 1, 5000, false), &l, NOW)), Duration::from_secs(15));
        // From where the account logged in recently: only its own failures count.
        assert_eq!(delay(judge(&seen(1, 1, 5000, true), &l, NOW)), Duration::from_millis(200));
    }

    #[test]
    fn an_address_is_slowed_then_refused_except_for_familiar_accounts() {
        let l = limits();
        assert_eq!(delay(judge(&seen(0, 4, 4, false), &l, NOW)), Duration::ZERO, "a few typos at a shared address");
        assert_eq!(delay(judge(&seen(0, 20, 0, false), &l, NOW)), Duration::from_millis(1600));
        let mut s = seen(0, 50, 0, false);
        s.history.address_oldest = Some(NOW - 899_500);
        assert_eq!(judge(&s, &l, NOW), Verdict::Refuse(Duration::from_secs(1)));
        let familiar = Admission { delay: Duration::ZERO, pair_room: 10, address_room: None };
        assert_eq!(judge(&seen(0, 50, 0, true), &l, NOW), Verdict::Proceed(familiar), "logged in from there recently");
    }

    #[test]
    fn a_familiar_pair_is_slowed_one_attempt_at_a_time_never_refused() {
        let l = limits();
        let at = |pair| judge(&seen(pair, 50, pair, true), &l, NOW);
        assert_eq!(at(3), Verdict::Proceed(Admission { delay: Duration::from_millis(800), pair_room: 7, address_room: None }));
        let capped = Admission { delay: Duration::from_secs(15), pair_room: 1, address_room: None };
        assert_eq!(at(10), Verdict::Proceed(capped), "at the limit");
        assert_eq!(at(5000), Verdict::Proceed(capped), "far beyond it");
    }
}
