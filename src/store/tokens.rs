//! Reply tokens of email invitations: the [`ReplyTokenStore`] concern of
//! the store.
//!
//! An invitation sent by email to someone outside the platform names, as
//! the address to answer, one that carries a token drawn for that
//! invitation and that attendee (`imip::token`); the reply is applied only
//! if it arrives at such an address and is about what its token was drawn
//! for. The store keeps each token with its organizer, event UID and
//! attendee, until it expires or its event's tokens are dropped.

use async_trait::async_trait;

use super::{Millis, PrincipalId, StoreResult};

/// What a reply token was drawn for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplyTokenRecord {
    /// The organizer (the account whose event it is).
    pub owner: PrincipalId,
    pub uid: String,
    /// The attendee's email address, lower-cased.
    pub attendee: String,
    pub expires_at: Millis,
}

#[async_trait]
pub trait ReplyTokenStore: Send + Sync {
    /// The token of `owner`'s event `uid` for `attendee` (lower-cased
    /// email address): the one drawn before, its expiry moved to
    /// `expires_at` if later, or `fresh` stored now. One token per
    /// (owner, uid, attendee), whatever concurrent callers do.
    async fn reply_token_for(
        &self,
        owner: PrincipalId,
        uid: &str,
        attendee: &str,
        fresh: [u8; 16],
        expires_at: Millis,
    ) -> StoreResult<[u8; 16]>;
    /// What `token` was drawn for, unless it expired before `now`.
    async fn reply_token(&self, token: [u8; 16], now: Millis) -> StoreResult<Option<ReplyTokenRecord>>;
    /// Drop the tokens of `owner`'s event `uid` (its replies are no longer
    /// wanted), and those expired before `now`.
    async fn drop_reply_tokens(&self, owner: PrincipalId, uid: &str, now: Millis) -> StoreResult<()>;
}
