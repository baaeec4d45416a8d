//! Visio: a BigBlueButton room in every invitation, from any client.
//!
//! When an organizer's change schedules a meeting with at least one other
//! attendee and the policy says so (`auto`, `keyword`, `off`: per account,
//! per académie, then `visio_policy`), the meeting gets one room for its
//! whole life ([`crate::store::VisioStore`]) and the server writes its
//! links into the event ([`invitation`], with [`event`]'s pure logic): an
//! RFC 7986 CONFERENCE, LOCATION when empty, a DESCRIPTION paragraph. The
//! organizer's copy carries the moderator link, every copy and email sent
//! to attendees the attendee link (a CHAIR attendee the moderator's).
//!
//! Links point to Almanach (`BASE_URL/visio/TOKEN`, 128 random bits), not
//! to BBB, because a BBB meeting exists only while it runs: the join page
//! ([`page`]) creates the meeting on the BBB server at join time
//! (idempotent `create`, [`bbb`]) and redirects to a signed `join` URL.
//! Cancelling or deleting the event closes the room and ends a running
//! meeting ([`jobs`]); a BBB server that is down never fails a save.

pub mod bbb;
pub mod event;
pub mod invitation;
pub mod jobs;
pub mod page;

use rand::RngCore;

use crate::app::AppState;
use crate::store::{NewRoom, PrincipalId, StoreResult, VisioPolicy};

/// The path segment of join links (`BASE_URL/visio/TOKEN`).
pub const PATH: &str = "/visio/";

/// A token as it appears in a link: 32 lower-case hex digits.
pub fn token_text(token: &[u8; 16]) -> String {
    hex::encode(token)
}

/// A link's token, if it is one (32 hex digits, either case).
pub fn parse_token(text: &str) -> Option<[u8; 16]> {
    if text.len() != 32 {
        return None;
    }
    hex::decode(text.to_ascii_lowercase()).ok()?.try_into().ok()
}

/// The prefix of every join link of this server.
pub fn link_prefix(state: &AppState) -> String {
    format!("{}{PATH}", state.config.base_url.trim_end_matches('/'))
}

/// The join link of `token`.
pub fn link(state: &AppState, token: &[u8; 16]) -> String {
    format!("{}{}", link_prefix(state), token_text(token))
}

fn random_bytes() -> [u8; 16] {
    let mut b = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut b);
    b
}

/// A new room for `owner`'s event `uid`: two distinct 128-bit tokens from
/// the operating system's CSPRNG, a meeting ID and two passwords.
pub fn fresh_room(owner: PrincipalId, uid: &str) -> NewRoom {
    let attendee_token = random_bytes();
    let mut moderator_token = random_bytes();
    while moderator_token == attendee_token {
        moderator_token = random_bytes();
    }
    NewRoom {
        owner,
        uid: uid.to_string(),
        meeting_id: format!("almanach-{}", hex::encode(random_bytes())),
        attendee_token,
        moderator_token,
        attendee_pw: hex::encode(random_bytes()),
        moderator_pw: hex::encode(random_bytes()),
    }
}

/// The policy that applies to `owner`'s events: the account's, else its
/// académie's, else the server's `visio_policy`.
pub async fn policy_of(state: &AppState, owner: PrincipalId) -> StoreResult<VisioPolicy> {
    let p = state.store.visio_policies(owner).await?;
    Ok(p.account.or(p.academie).unwrap_or(state.config.visio_policy))
}

/// The BBB client of a configuration, when `bbb_url` and `bbb_secret`
/// are set.
pub fn client(config: &crate::config::Config) -> Option<bbb::BbbClient> {
    let url = config.bbb_url.as_deref()?;
    let secret = config.bbb_secret.clone()?;
    Some(bbb::BbbClient::new(url, secret, config.bbb_checksum, config.bbb_timeout))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_distinct_and_round_trip() {
        let a = fresh_room(1, "u");
        let b = fresh_room(1, "u");
        assert_ne!(a.attendee_token, a.moderator_token);
        assert_ne!(a.attendee_token, b.attendee_token);
        assert_ne!(a.meeting_id, b.meeting_id);
        assert_ne!(a.attendee_pw, a.moderator_pw);
        let text = token_text(&a.attendee_token);
        assert_eq!(text.len(), 32);
        assert_eq!(parse_token(&text), Some(a.attendee_token));
        assert_eq!(parse_token(&text.to_ascii_uppercase()), Some(a.attendee_token));
        assert_eq!(parse_token("zz"), None);
        assert_eq!(parse_token(&"g".repeat(32)), None);
    }
}
