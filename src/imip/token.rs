//! Per-invitation reply addresses: `reply+TOKEN@domain`.
//!
//! An attendee outside the platform answers an invitation by email. RFC
//! 6047 §2.2 warns that an unsigned iMIP message proves nothing about who
//! sent it, and §2.3 that neither `Sender` nor `Reply-To` identifies the
//! organizer or attendee. So the invitation the platform sends names, as
//! the place to reply to (the `ORGANIZER` the attendee's client answers
//! and the `Reply-To`), an address that carries a token the server drew
//! for **one invitation and one attendee** and stored with them. A reply
//! is considered only when it arrives at such an address:
//!
//! - a forged reply (someone declining on behalf of an attendee, §2.2.1)
//!   needs the token, which only went to that attendee's mailbox;
//! - a replayed or misdirected reply (an old reply for another event, a
//!   reply forwarded to another invitation's address) carries a token that
//!   is tied to another invitation: the caller checks that the calendar's
//!   `UID` and `ATTENDEE` match what the token was issued for, and drops
//!   the token when the invitation is cancelled or over.
//!
//! The token is 128 bits from the operating system's CSPRNG, so it cannot
//! be guessed or enumerated, written in base32 (RFC 4648 §6) in lower case
//! without padding: 26 characters of `a-z2-7`. Mail systems may change the
//! case of the local part (RFC 5321 §2.4 lets only the receiving host
//! interpret it; some relays fold it), so parsing is case-insensitive, and
//! a token has one canonical spelling (the unused low bits of the last
//! character must be zero), so the string the caller stores and the one it
//! looks up are the same.

use std::fmt;
use std::str::FromStr;

use rand::RngCore;

/// The local part's prefix before the token.
pub const REPLY_PREFIX: &str = "reply+";

const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
/// Characters of a 128-bit token in base32: ceil(128 / 5).
pub const TOKEN_LEN: usize = 26;

/// 128 random bits naming one invitation sent to one attendee.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ReplyToken([u8; 16]);

impl ReplyToken {
    /// A new token from the operating system's CSPRNG.
    pub fn generate() -> ReplyToken {
        let mut bytes = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        ReplyToken(bytes)
    }

    pub fn from_bytes(bytes: [u8; 16]) -> ReplyToken {
        ReplyToken(bytes)
    }

    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// Parse the base32 form, in either case; `None` for anything that is
    /// not exactly a canonical 26-character token.
    pub fn parse(text: &str) -> Option<ReplyToken> {
        let text = text.as_bytes();
        if text.len() != TOKEN_LEN {
            return None;
        }
        let mut acc: u32 = 0;
        let mut bits = 0;
        let mut out = [0u8; 16];
        let mut n = 0;
        for &c in text {
            let v = match c.to_ascii_lowercase() {
                c @ b'a'..=b'z' => c - b'a',
                c @ b'2'..=b'7' => c - b'2' + 26,
                _ => return None,
            };
            acc = (acc << 5) | v as u32;
            bits += 5;
            if bits >= 8 {
                bits -= 8;
                out[n] = (acc >> bits) as u8;
                n += 1;
                acc &= (1 << bits) - 1;
            }
        }
        // 26 × 5 = 130 bits: the last 2 must be zero (one spelling only).
        if n != 16 || acc != 0 {
            return None;
        }
        Some(ReplyToken(out))
    }
}

impl fmt::Display for ReplyToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = String::with_capacity(TOKEN_LEN);
        let mut acc: u32 = 0;
        let mut bits = 0;
        for &b in &self.0 {
            acc = (acc << 8) | b as u32;
            bits += 8;
            while bits >= 5 {
                bits -= 5;
                out.push(ALPHABET[((acc >> bits) & 31) as usize] as char);
            }
            acc &= (1 << bits) - 1;
        }
        if bits > 0 {
            out.push(ALPHABET[((acc << (5 - bits)) & 31) as usize] as char);
        }
        f.write_str(&out)
    }
}

/// Only a prefix: a token is a credential for one reply, and logs should
/// not carry it whole.
impl fmt::Debug for ReplyToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.to_string();
        write!(f, "ReplyToken({}…)", &s[..6])
    }
}

impl FromStr for ReplyToken {
    type Err = InvalidToken;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ReplyToken::parse(s).ok_or(InvalidToken)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a reply token")]
pub struct InvalidToken;

/// `reply+TOKEN@domain`: where the attendee's answer to one invitation goes.
pub fn reply_address(token: &ReplyToken, domain: &str) -> String {
    format!("{REPLY_PREFIX}{token}@{}", domain.to_ascii_lowercase())
}

/// The token of a recipient address `reply+TOKEN@domain` (angle brackets
/// allowed, prefix, token and domain in any case), or `None` when the
/// address is not a reply address of `domain`.
pub fn parse_reply_address(rcpt: &str, domain: &str) -> Option<ReplyToken> {
    let rcpt = rcpt.trim();
    let rcpt = rcpt.strip_prefix('<').and_then(|r| r.strip_suffix('>')).unwrap_or(rcpt);
    let (local, host) = rcpt.rsplit_once('@')?;
    // A fully qualified domain may end with a dot in some relays' hands.
    if !host.trim_end_matches('.').eq_ignore_ascii_case(domain.trim_end_matches('.')) {
        return None;
    }
    if local.len() != REPLY_PREFIX.len() + TOKEN_LEN || !local.is_char_boundary(REPLY_PREFIX.len()) {
        return None;
    }
    let (prefix, token) = local.split_at(REPLY_PREFIX.len());
    if !prefix.eq_ignore_ascii_case(REPLY_PREFIX) {
        return None;
    }
    ReplyToken::parse(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base32_round_trip_and_known_vector() {
        // RFC 4648 §10 test vector "foobar" → MZXW6YTBOI (16 bytes here:
        // "foobar" followed by zeros, checked on its prefix).
        let mut b = [0u8; 16];
        b[..6].copy_from_slice(b"foobar");
        let t = ReplyToken::from_bytes(b);
        assert!(t.to_string().starts_with("mzxw6ytboi"));
        assert_eq!(t.to_string().len(), TOKEN_LEN);
        assert_eq!(ReplyToken::parse(&t.to_string()), Some(t));
        assert_eq!(ReplyToken::parse(&t.to_string().to_uppercase()), Some(t));
        let all = ReplyToken::from_bytes([0xff; 16]);
        // 125 bits of 11111, then 111 + two zero bits = 28 = '4'.
        assert_eq!(all.to_string(), "77777777777777777777777774");
        assert_eq!(ReplyToken::parse("77777777777777777777777774"), Some(all));
    }

    #[test]
    fn generated_tokens_differ_and_parse() {
        let a = ReplyToken::generate();
        let b = ReplyToken::generate();
        assert_ne!(a, b);
        for t in [a, b] {
            let s = t.to_string();
            assert!(s.bytes().all(|c| c.is_ascii_lowercase() || (b'2'..=b'7').contains(&c)), "{s}");
            assert_eq!(s.parse::<ReplyToken>(), Ok(t));
        }
        assert!(!format!("{a:?}").contains(&a.to_string()));
    }

    #[test]
    fn non_canonical_or_malformed_tokens_are_refused() {
        // The last character carries 3 bits and 2 zero bits: "5" = 29 =
        // 0b11101 has a low bit set, so it is another spelling of "4".
        assert_eq!(ReplyToken::parse("77777777777777777777777775"), None);
        assert_eq!(ReplyToken::parse("7777777777777777777777777"), None); // 25 chars
        assert_eq!(ReplyToken::parse("777777777777777777777777747"), None);
        assert_eq!(ReplyToken::parse("777777777777777777777777_4"), None);
        assert_eq!(ReplyToken::parse("77777777777777777777777710"), None); // 0, 1 not in the alphabet
        assert_eq!(ReplyToken::parse("ééééééééééééé"), None);
    }

    #[test]
    fn reply_addresses() {
        let t = ReplyToken::generate();
        let addr = reply_address(&t, "Agenda.Example.FR");
        assert_eq!(addr, format!("reply+{t}@agenda.example.fr"));
        assert_eq!(parse_reply_address(&addr, "agenda.example.fr"), Some(t));
        assert_eq!(parse_reply_address(&addr.to_uppercase(), "agenda.example.fr"), Some(t));
        assert_eq!(parse_reply_address(&format!("<{addr}>"), "AGENDA.example.fr"), Some(t));
        assert_eq!(parse_reply_address(&format!("{addr}."), "agenda.example.fr"), Some(t));
        assert_eq!(parse_reply_address(&addr, "other.example.fr"), None);
        assert_eq!(parse_reply_address(&format!("reply-{t}@agenda.example.fr"), "agenda.example.fr"), None);
        assert_eq!(parse_reply_address(&format!("x{addr}"), "agenda.example.fr"), None);
        assert_eq!(parse_reply_address("reply+abc@agenda.example.fr", "agenda.example.fr"), None);
        assert_eq!(parse_reply_address("postmaster", "agenda.example.fr"), None);
        assert_eq!(parse_reply_address("rép+aaaaaaaaaaaaaaaaaaaaaaaaaa@agenda.example.fr", "agenda.example.fr"), None);
    }
}
