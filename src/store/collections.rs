//! Collections: the [`CollectionStore`] concern of the store — the tree of
//! collections, its COPY and MOVE, and the quota of an owner.

use async_trait::async_trait;

use super::{
    CollectionId, DeadProperty, Destination, JobId, LockGuard, Millis, NewJob, PrincipalId, Resolved, StoreResult,
    TransferOutcome,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CollectionKind {
    /// An ordinary WebDAV collection (also used for homes).
    Plain,
    Calendar,
    AddressBook,
    ScheduleInbox,
    ScheduleOutbox,
}

impl CollectionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CollectionKind::Plain => "plain",
            CollectionKind::Calendar => "calendar",
            CollectionKind::AddressBook => "addressbook",
            CollectionKind::ScheduleInbox => "schedule-inbox",
            CollectionKind::ScheduleOutbox => "schedule-outbox",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "plain" => CollectionKind::Plain,
            "calendar" => CollectionKind::Calendar,
            "addressbook" => CollectionKind::AddressBook,
            "schedule-inbox" => CollectionKind::ScheduleInbox,
            "schedule-outbox" => CollectionKind::ScheduleOutbox,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collection {
    pub id: CollectionId,
    pub owner: PrincipalId,
    pub parent: Option<CollectionId>,
    /// Absolute decoded path with trailing slash, e.g. `/files/alice/notes/`.
    pub path: String,
    pub kind: CollectionKind,
    /// Revision of the last change to the collection's membership or members;
    /// the RFC 6578 sync token and the CTag derive from it.
    pub sync_revision: i64,
    /// For calendars, the supported component types (RFC 4791 §5.2.3),
    /// e.g. `["VEVENT", "VTODO"]`; empty for other collections.
    pub components: Vec<String>,
    pub created_at: Millis,
    pub modified_at: Millis,
}

impl Collection {
    /// Last path segment (decoded, without slash); empty for `/`.
    pub fn name(&self) -> &str {
        let trimmed = self.path.trim_end_matches('/');
        trimmed.rsplit('/').next().unwrap_or("")
    }
}

#[derive(Debug, Clone)]
pub struct NewCollection {
    pub owner: PrincipalId,
    /// Parent collection; None only for top-level homes.
    pub parent: Option<CollectionId>,
    pub path: String,
    pub kind: CollectionKind,
    /// For calendars: the supported component types (RFC 4791 §5.2.3).
    pub components: Vec<String>,
    /// Properties to set atomically with the creation (MKCALENDAR / extended MKCOL).
    pub properties: Vec<DeadProperty>,
    pub guard: LockGuard,
    /// With properties: reject with [`StoreError::QuotaExceeded`](super::StoreError::QuotaExceeded) when the
    /// owner's total (property values included) would exceed this.
    pub quota_limit: Option<i64>,
}

/// Collections, their COPY and MOVE, and quota.
#[async_trait]
pub trait CollectionStore: Send + Sync {
    // -- collections
    async fn collection_by_path(&self, path: &str) -> StoreResult<Option<Collection>>;
    async fn collection(&self, id: CollectionId) -> StoreResult<Option<Collection>>;
    /// Create a collection. `AlreadyExists` if a collection or object already
    /// occupies the path; `MissingParent` if `parent` is gone or no longer the
    /// parent of `path` (moved since). Records the new member in the parent's
    /// change log.
    async fn create_collection(&self, new: NewCollection) -> StoreResult<Collection>;
    /// Child collections (ordered by path).
    async fn child_collections(&self, parent: CollectionId) -> StoreResult<Vec<Collection>>;
    /// The collections whose parent is the collection at one of `paths`,
    /// ordered by path; one read (per few hundred paths).
    async fn child_collections_at(&self, paths: &[&str]) -> StoreResult<Vec<Collection>>;
    /// Delete a collection and its whole subtree (objects, properties, change
    /// logs, locks below it). Records the deletion in the parent's change log.
    /// `NotFound` if it is no longer at `collection.path` (see [`Resolved`]).
    /// `enqueue`: jobs written in the same transaction (see
    /// [`OutboxStore`](super::OutboxStore)), if and only if it commits;
    /// their ids are returned, in order.
    async fn delete_collection(&self, collection: &Resolved, guard: &LockGuard, enqueue: Vec<NewJob>) -> StoreResult<Vec<JobId>>;
    /// Bytes used by `owner`: its objects' contents, the values of the dead
    /// properties on its collections and objects, and the `DAV:owner` XML of
    /// its unexpired locks (RFC 4331).
    async fn quota_used(&self, owner: PrincipalId) -> StoreResult<i64>;
    /// Recompute every collection's bytes (what [`quota_used`](Self::quota_used)
    /// sums, kept current by the database on each write) from what it
    /// holds, and correct those that differ: the number corrected (0 unless
    /// the count drifted, e.g. after a manual edit of the database).
    async fn recount_quota_usage(&self) -> StoreResult<u64>;

    // -- COPY / MOVE (RFC 4918 §9.8, §9.9), each one transaction; `guard`
    // covers both the source (for MOVE) and the destination. The source must
    // still be at the path it was resolved at (`NotFound` otherwise, see
    // [`Resolved`]), the destination parent at `to.parent_path`
    // (`MissingParent`).
    /// Copy a collection with its dead properties; with `recursive`, its whole
    /// subtree too (Depth: infinity), otherwise only the collection (Depth: 0).
    /// The copy belongs to the destination parent's owner.
    async fn copy_collection(
        &self,
        collection: &Resolved,
        to: Destination,
        recursive: bool,
        guard: &LockGuard,
    ) -> StoreResult<TransferOutcome>;
    /// Move a collection with its whole subtree; locks below the source are
    /// removed. The subtree then belongs to the destination parent's owner.
    async fn move_collection(&self, collection: &Resolved, to: Destination, guard: &LockGuard) -> StoreResult<TransferOutcome>;
}
