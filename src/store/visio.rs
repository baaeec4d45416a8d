//! Visio rooms and visio policies: the [`VisioStore`] concern of the store.
//!
//! A meeting an organizer schedules may get a BigBlueButton room
//! (`crate::visio`): one per event, keyed by the organizer and the event's
//! UID, kept across every change of the event, with two join tokens
//! (attendee, moderator) that the links in the invitation carry, the
//! fixed BBB meeting ID and passwords of its meetings, and a closed flag
//! (the event was cancelled or deleted). Policies say which events get a
//! room: per account, with a default per académie.

use async_trait::async_trait;

use super::{Millis, PrincipalId, StoreResult};

/// Which events of an organizer get a room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VisioPolicy {
    /// Every event with at least one other attendee.
    Auto,
    /// Only events whose LOCATION or SUMMARY holds the keyword.
    Keyword,
    Off,
}

impl VisioPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            VisioPolicy::Auto => "auto",
            VisioPolicy::Keyword => "keyword",
            VisioPolicy::Off => "off",
        }
    }
}

impl std::str::FromStr for VisioPolicy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(VisioPolicy::Auto),
            "keyword" => Ok(VisioPolicy::Keyword),
            "off" => Ok(VisioPolicy::Off),
            _ => Err(format!("unknown visio policy {s:?} (auto, keyword or off)")),
        }
    }
}

/// Who a policy is set for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyScope {
    Account(PrincipalId),
    /// An académie, by slug: the default of its accounts.
    Academie(String),
}

/// The policies that apply to one account, most specific first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct VisioPolicies {
    pub account: Option<VisioPolicy>,
    pub academie: Option<VisioPolicy>,
}

/// What the join page shows of the event (updated at each save).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RoomDetails {
    pub title: String,
    /// The first start of the event (ms), if known.
    pub starts_at: Option<Millis>,
    /// The IANA zone of its DTSTART, if any.
    pub time_zone: Option<String>,
    /// The organizer's name as shown.
    pub organizer: String,
}

/// A room to create, unless the event has one.
#[derive(Debug, Clone)]
pub struct NewRoom {
    pub owner: PrincipalId,
    pub uid: String,
    pub meeting_id: String,
    pub attendee_token: [u8; 16],
    pub moderator_token: [u8; 16],
    pub attendee_pw: String,
    pub moderator_pw: String,
}

/// A stored room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Room {
    pub id: i64,
    pub owner: PrincipalId,
    pub uid: String,
    pub meeting_id: String,
    pub attendee_token: [u8; 16],
    pub moderator_token: [u8; 16],
    pub attendee_pw: String,
    pub moderator_pw: String,
    pub details: RoomDetails,
    pub closed: bool,
}

/// Which of a room's tokens a link carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoomRole {
    Attendee,
    Moderator,
}

#[async_trait]
pub trait VisioStore: Send + Sync {
    /// The room of `fresh.owner`'s event `fresh.uid`: the one stored before
    /// (its tokens, meeting ID and passwords kept), or `fresh` stored now;
    /// either way its details become `details` and it is open. One room
    /// per (owner, uid), whatever concurrent callers do.
    async fn room_for_event(&self, fresh: NewRoom, details: &RoomDetails) -> StoreResult<Room>;
    /// The room of `owner`'s event `uid`, if it has one.
    async fn room_of_event(&self, owner: PrincipalId, uid: &str) -> StoreResult<Option<Room>>;
    /// The room a token opens, and as whom.
    async fn room_by_token(&self, token: [u8; 16]) -> StoreResult<Option<(Room, RoomRole)>>;
    /// Close the room of `owner`'s event `uid` (its event was cancelled or
    /// deleted); the room, if there is one.
    async fn close_room(&self, owner: PrincipalId, uid: &str) -> StoreResult<Option<Room>>;
    /// Set (Some) or remove (None) the policy of `scope`. An unknown
    /// académie is `NotFound`.
    async fn set_visio_policy(&self, scope: &PolicyScope, policy: Option<VisioPolicy>) -> StoreResult<()>;
    /// The policies of `account` and of its académie.
    async fn visio_policies(&self, account: PrincipalId) -> StoreResult<VisioPolicies>;
    /// Every académie policy, by slug.
    async fn academie_visio_policies(&self) -> StoreResult<Vec<(String, VisioPolicy)>>;
}
