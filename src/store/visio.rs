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

/// What the latest save of the event says of its room (updated at each
/// save): what the join page shows, and how its meetings are created.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RoomDetails {
    pub title: String,
    /// The first start of the event (ms), if known.
    pub starts_at: Option<Millis>,
    /// The IANA zone of its DTSTART, if any.
    pub time_zone: Option<String>,
    /// The organizer's name as shown.
    pub organizer: String,
    /// The end of the event's last instance (ms); None: unbounded or not
    /// known. A room whose event is over gives its voice bridge back.
    pub ends_at: Option<Millis>,
    /// The organizer asked for recording (`crate::visio::event::asks_recording`):
    /// BBB `create` gets `record=true`.
    pub record: bool,
}

/// What a room is created with and keeps for its whole life: its event
/// (organizer and UID), the two join tokens, the fixed BBB meeting ID and
/// passwords of its meetings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRoom {
    pub owner: PrincipalId,
    pub uid: String,
    pub meeting_id: String,
    pub attendee_token: [u8; 16],
    pub moderator_token: [u8; 16],
    pub attendee_pw: String,
    pub moderator_pw: String,
}

/// A stored room: what it was created with, what the latest save said,
/// its voice bridge, and whether its event was cancelled or deleted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Room {
    pub id: i64,
    pub fixed: NewRoom,
    pub details: RoomDetails,
    /// The 5-digit conference number phone participants enter (BBB
    /// `voiceBridge`), when the server has a dial-in number.
    pub voice_bridge: Option<u32>,
    pub closed: bool,
}

/// The voice bridges of rooms: 5 digits, as BBB's default FreeSWITCH
/// dial plan expects (no leading zero, which some phones' keypads and
/// spreadsheets drop).
pub const VOICE_BRIDGES: std::ops::RangeInclusive<u32> = 10_000..=99_999;

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
    /// The voice bridge of room `room`: the one it has, else the first of
    /// `candidates` no other room holds. A code held by a closed room, or
    /// by one whose event ended before `ended_before`, is taken from it.
    /// Unique among rooms whatever concurrent callers do; None when every
    /// candidate is held (or there is no such room).
    async fn assign_voice_bridge(&self, room: i64, candidates: &[u32], ended_before: Millis) -> StoreResult<Option<u32>>;
    /// Set (Some) or remove (None) the policy of `scope`. An unknown
    /// académie is `NotFound`.
    async fn set_visio_policy(&self, scope: &PolicyScope, policy: Option<VisioPolicy>) -> StoreResult<()>;
    /// The policies of `account` and of its académie.
    async fn visio_policies(&self, account: PrincipalId) -> StoreResult<VisioPolicies>;
    /// Every académie policy, by slug.
    async fn academie_visio_policies(&self) -> StoreResult<Vec<(String, VisioPolicy)>>;
}
