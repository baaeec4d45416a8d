//! App passwords: one per device, usable wherever the account password is
//! (HTTP Basic), revocable one by one.
//!
//! The password handed out is `ID-SECRET`: the store id of the app password,
//! a dash, then [`SECRET_LEN`] characters from a 32-letter alphabet without
//! look-alikes (130 random bits), easy to type on a phone. Only an argon2id
//! hash of SECRET is stored. Because the id is in the password, verifying
//! one costs one read by primary key and at most one argon2 run — never
//! one per app password of the account. The read is made on every request
//! (it is what makes a revocation refuse the next request in every server
//! process); the argon2 run is skipped while the credential cache holds a
//! recent success for that id and that same stored hash.

use rand::Rng;

/// Characters of a secret: lower-case letters and digits, without
/// `0 o 1 l` (32 of them, 5 bits each).
const ALPHABET: &[u8; 32] = b"abcdefghijkmnpqrstuvwxyz23456789";
/// Length of a secret (26 × 5 = 130 bits).
pub const SECRET_LEN: usize = 26;

/// A fresh secret from the operating system's CSPRNG.
pub fn new_secret() -> String {
    let mut rng = rand::rngs::OsRng;
    (0..SECRET_LEN)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char)
        .collect()
}

/// The password handed out for app password `id` with `secret`.
pub fn format(id: i64, secret: &str) -> String {
    format!("{id}-{secret}")
}

/// `(id, secret)` when `password` has the shape of an app password. An
/// account password of that shape is tried as an app password first, then
/// as the account password (`Authenticator::authenticate`).
pub fn parse(password: &str) -> Option<(i64, &str)> {
    let (id, secret) = password.split_once('-')?;
    if id.is_empty() || id.len() > 18 || !id.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if secret.len() != SECRET_LEN || !secret.bytes().all(|b| ALPHABET.contains(&b)) {
        return None;
    }
    Some((id.parse().ok()?, secret))
}

/// The credential cache's key for app password `id`: not a valid username
/// (it starts with a NUL), so it never meets an account's entry.
pub fn cache_key(id: i64) -> String {
    format!("\0app:{id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_shape() {
        let s = new_secret();
        assert_eq!(s.len(), SECRET_LEN);
        assert_ne!(s, new_secret());
        let p = format(42, &s);
        assert_eq!(parse(&p), Some((42, s.as_str())));
        assert_eq!(parse("42-short"), None);
        assert_eq!(parse(&format!("x-{s}")), None);
        assert_eq!(parse(&format!("-{s}")), None);
        assert_eq!(
            parse(&format!("4-{}", "0".repeat(SECRET_LEN))),
            None,
            "0 is not in the alphabet"
        );
        assert_eq!(parse("correct horse battery staple"), None);
    }
}
