//! Stored objects (non-collection resources): the [`ObjectStore`] concern of
//! the store — exact bytes, conditional writes, index queries, COPY and MOVE.

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use sha2::{Digest, Sha256};

use super::{Collection, CollectionId, JobId, LockGuard, Millis, NewJob, ObjectId, PrincipalId, Resolved, StoreResult};

/// Metadata of a stored (non-collection) resource; its bytes are fetched with
/// [`Store::object_with_content`](ObjectStore::object_with_content).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectMeta {
    pub id: ObjectId,
    pub collection: CollectionId,
    pub name: String,
    pub content_type: String,
    /// Strong entity tag, without quotes.
    pub etag: String,
    pub size: i64,
    pub created_at: Millis,
    pub modified_at: Millis,
    /// The Schedule-Tag of a scheduling object resource (RFC 6638
    /// §3.2.10), without quotes, as the last write set it
    /// ([`PutObject::schedule_tag`]); None for any other object. The store
    /// never derives it: the scheduling layer decides when it changes (a
    /// change by the organizer or by the attendee itself, not a mere
    /// PARTSTAT update delivered by the server). COPY and MOVE carry it.
    pub schedule_tag: Option<String>,
}

/// The strong entity tag of a body: a digest of its exact bytes.
pub fn etag_for(content: &[u8]) -> String {
    let digest = Sha256::digest(content);
    hex::encode(&digest[..16])
}

/// Conditions a write is subject to, checked inside the store's transaction so
/// that two concurrent writers with the same `If-Match` cannot both win.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum WriteCondition {
    #[default]
    None,
    /// `If-None-Match: *` — only create.
    MustNotExist,
    /// `If-Match: *` — only replace.
    MustExist,
    /// `If-Match: "etag"` — replace only that exact version.
    ETagMatches(String),
}

#[derive(Debug, Clone)]
pub struct PutObject {
    pub collection: CollectionId,
    /// The path the request found `collection` at: checked in the
    /// transaction, [`StoreError::MissingParent`](super::StoreError::MissingParent) when it has moved since.
    pub collection_path: String,
    pub name: String,
    pub content_type: String,
    pub content: Bytes,
    pub condition: WriteCondition,
    /// Reject the write with [`StoreError::QuotaExceeded`](super::StoreError::QuotaExceeded) when the owner's total
    /// would exceed this many bytes.
    pub quota_limit: Option<i64>,
    pub guard: LockGuard,
    /// What the protocol layer extracted from the content for queries.
    pub index: ObjectIndex,
    /// Refuse with [`StoreError::UidConflict`](super::StoreError::UidConflict) when another object of the
    /// collection has the same `index.uid` (checked in the transaction).
    pub unique_uid: bool,
    /// Jobs to write in the same transaction (the outbox, see
    /// [`OutboxStore`](super::OutboxStore)): written if and only if the
    /// write commits; their ids are [`PutOutcome::jobs`].
    pub enqueue: Vec<NewJob>,
    /// The object's Schedule-Tag (RFC 6638 §3.2.10), stored as given: None
    /// stores none (NULL), also over an object that had one. Writes outside
    /// scheduling pass None.
    pub schedule_tag: Option<String>,
}

/// The queryable summary of an object, extracted by the protocol layer at
/// write time (RFC 4791 §9.9 time ranges, UIDs). All fields empty for plain
/// WebDAV resources.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObjectIndex {
    pub uid: Option<String>,
    /// `VEVENT`, `VTODO`, ... or `VCARD`.
    pub component: Option<String>,
    /// Earliest instant (ms) any instance can overlap; None: unbounded.
    pub time_start: Option<Millis>,
    /// Latest instant (ms) any instance can overlap; None: unbounded.
    pub time_end: Option<Millis>,
    /// One non-recurring event in fixed time: `[time_start, time_end)` is
    /// exactly its only instance.
    pub time_simple: bool,
    /// A bounded recurring event in fixed time: the `[start, end)` of every
    /// instance (ms), so that a time range is decided without parsing.
    pub instances: Option<Vec<(Millis, Millis)>>,
    /// For vCards: the folded text of their properties (see
    /// `vcard::object::search_text`), read back by [`Store::search_texts`](ObjectStore::search_texts).
    pub search_text: Option<String>,
}

impl ObjectIndex {
    /// `instances` as stored: little-endian i64 pairs.
    pub fn encode_instances(&self) -> Option<Vec<u8>> {
        self.instances.as_ref().map(|list| {
            let mut out = Vec::with_capacity(list.len() * 16);
            for (s, e) in list {
                out.extend_from_slice(&s.to_le_bytes());
                out.extend_from_slice(&e.to_le_bytes());
            }
            out
        })
    }

    /// The inverse of [`ObjectIndex::encode_instances`]; None for a
    /// malformed value.
    pub fn decode_instances(bytes: &[u8]) -> Option<Vec<(Millis, Millis)>> {
        if bytes.len() % 16 != 0 {
            return None;
        }
        let int = |b: &[u8]| i64::from_le_bytes(b.try_into().unwrap_or([0; 8]));
        Some(bytes.chunks_exact(16).map(|c| (int(&c[..8]), int(&c[8..]))).collect())
    }
}

/// Candidates for a query, selected on the index only; the protocol layer
/// then applies the exact filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObjectQuery {
    /// Only objects of this component type.
    pub component: Option<String>,
    /// Only objects whose index bounds meet `[start, end]` (ms, inclusive:
    /// a superset of the objects overlapping `[start, end)`).
    pub time_range: Option<(Millis, Millis)>,
    /// Read the objects' bytes too.
    pub with_content: bool,
}

/// An object with its index entry and, when asked for, its bytes.
#[derive(Debug, Clone)]
pub struct IndexedObject {
    pub meta: ObjectMeta,
    pub index: ObjectIndex,
    pub content: Option<Bytes>,
}

#[derive(Debug, Clone)]
pub struct PutOutcome {
    pub created: bool,
    pub meta: ObjectMeta,
    /// Ids of the jobs of [`PutObject::enqueue`], in its order (the request
    /// that wrote them can run them at once, see
    /// [`OutboxStore::claim_job_ids`](super::OutboxStore::claim_job_ids)).
    pub jobs: Vec<JobId>,
}

/// Where a COPY or MOVE puts its result.
#[derive(Debug, Clone)]
pub struct Destination {
    /// The collection that will contain the result.
    pub parent: CollectionId,
    /// The path the request found `parent` at: checked in the transaction,
    /// [`StoreError::MissingParent`](super::StoreError::MissingParent) when it has moved since.
    pub parent_path: String,
    /// Decoded member name.
    pub name: String,
    /// Replace whatever is at the destination (Overwrite: T). With false, an
    /// existing destination yields [`StoreError::AlreadyExists`](super::StoreError::AlreadyExists).
    pub overwrite: bool,
    /// For COPY: reject with [`StoreError::QuotaExceeded`](super::StoreError::QuotaExceeded) when the
    /// destination owner's total would exceed this many bytes.
    pub quota_limit: Option<i64>,
    /// Jobs to write in the COPY's or MOVE's transaction (the outbox, see
    /// [`OutboxStore`](super::OutboxStore)): written if and only if it
    /// commits.
    pub enqueue: Vec<NewJob>,
}

/// Outcome of COPY/MOVE: whether something was replaced at the destination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferOutcome {
    pub replaced: bool,
    /// Ids of the jobs of [`Destination::enqueue`], in its order.
    pub jobs: Vec<JobId>,
}

/// Several object writes in one transaction ([`ObjectStore::apply_batch`]):
/// all of them or none.
#[derive(Debug, Clone, Default)]
pub struct WriteBatch {
    /// Applied in this order, each seeing those before it (a delete and a
    /// put of another name with the same UID, in that order, do not
    /// conflict). At most one write per (collection, name).
    pub writes: Vec<BatchWrite>,
    /// Outbox jobs the batch carries out: deleted in the transaction. If one
    /// of them no longer exists (another worker completed it), the whole
    /// batch fails with [`StoreError::JobGone`](super::StoreError::JobGone)
    /// and nothing is written, so that a job's effect is applied once.
    pub complete_jobs: Vec<JobId>,
    /// Jobs written in the transaction, after the writes' own
    /// ([`PutObject::enqueue`]); their ids are [`BatchResult::jobs`].
    pub enqueue: Vec<NewJob>,
}

/// One write of a [`WriteBatch`].
// A batch holds a few writes, most of them puts: boxing the put would cost
// an allocation each and gain nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum BatchWrite {
    /// As [`ObjectStore::put_object`] (its `enqueue` included).
    Put(PutObject),
    /// As [`ObjectStore::delete_object`]: the object `name` of
    /// `collection`, only if its ETag is `if_match` when given.
    Delete { collection: Resolved, name: String, if_match: Option<String>, guard: LockGuard },
}

/// What one [`BatchWrite`] did.
#[derive(Debug, Clone)]
pub enum BatchOutcome {
    Put(PutOutcome),
    Deleted,
}

/// What [`ObjectStore::apply_batch`] did.
#[derive(Debug, Clone)]
pub struct BatchResult {
    /// One per write, in order.
    pub outcomes: Vec<BatchOutcome>,
    /// Ids of the jobs of [`WriteBatch::enqueue`], in its order.
    pub jobs: Vec<JobId>,
}

/// Stored objects: reads, conditional writes, index queries, COPY and MOVE.
#[async_trait]
pub trait ObjectStore: Send + Sync {
    // -- objects
    async fn object(&self, collection: CollectionId, name: &str) -> StoreResult<Option<ObjectMeta>>;
    /// The object `name` of the collection at `parent_path`, with that
    /// collection, in one read (path resolution of most requests).
    async fn object_at(&self, parent_path: &str, name: &str) -> StoreResult<Option<(Collection, ObjectMeta)>>;
    /// [`Store::object_at`](ObjectStore::object_at) with the object's bytes, read together (GET).
    async fn object_at_with_content(
        &self,
        parent_path: &str,
        name: &str,
    ) -> StoreResult<Option<(Collection, ObjectMeta, Bytes)>>;
    /// Objects of a collection, ordered by name.
    async fn objects(&self, collection: CollectionId) -> StoreResult<Vec<ObjectMeta>>;
    /// The object's current metadata and exact bytes, read together (so an
    /// ETag always describes the bytes it is sent with); None if it is gone.
    async fn object_with_content(&self, id: ObjectId) -> StoreResult<Option<(ObjectMeta, Bytes)>>;
    /// Create or replace an object, checking `condition` and quota in the same
    /// transaction; bumps the collection's revision and logs the change.
    /// `AlreadyExists` if a child collection has that name; `MissingParent`
    /// if the collection is gone or no longer at `put.collection_path`.
    /// `put.enqueue` is written in the same transaction.
    async fn put_object(&self, put: PutObject) -> StoreResult<PutOutcome>;
    /// Apply several puts and deletes, possibly in several collections, in
    /// one transaction: all or nothing. Each write is checked as
    /// [`put_object`](ObjectStore::put_object) or
    /// [`delete_object`](ObjectStore::delete_object) checks it (condition,
    /// collection path, lock guard, UID, quota) and fails the batch with
    /// the error that call would return. Every collection written into gets
    /// one new revision, with every member the batch changed in it logged
    /// under it. `batch.complete_jobs` are deleted and `batch.enqueue`
    /// written in the same transaction (see [`WriteBatch`]). `Invalid` when
    /// two writes name the same (collection, name), or a job twice.
    ///
    /// Collections are locked in ascending id order before any check, as
    /// every write of the store does, so batches and single writes never
    /// deadlock.
    async fn apply_batch(&self, batch: WriteBatch) -> StoreResult<BatchResult>;
    /// Delete the object `name` of `collection` (optionally only if its ETag
    /// matches). `NotFound` if absent or if the collection is no longer at
    /// `collection.path`, `PreconditionFailed` if the ETag differs.
    /// `enqueue`: jobs written in the same transaction (see
    /// [`OutboxStore`](super::OutboxStore)), if and only if it commits;
    /// their ids are returned, in order.
    async fn delete_object(
        &self,
        collection: &Resolved,
        name: &str,
        if_match: Option<&str>,
        guard: &LockGuard,
        enqueue: Vec<NewJob>,
    ) -> StoreResult<Vec<JobId>>;

    /// The objects whose UID is `uid` in the calendars
    /// ([`CollectionKind::Calendar`](super::CollectionKind::Calendar)) owned
    /// by `owner`, with their calendar, ordered by calendar path then name
    /// (RFC 6638: where a scheduling message for that UID goes, or which
    /// resource it updates). One indexed read (the owner's collections,
    /// then the (collection, UID) index in each).
    async fn calendar_objects_by_uid(&self, owner: PrincipalId, uid: &str) -> StoreResult<Vec<(Collection, ObjectMeta)>>;
    /// [`Self::calendar_objects_by_uid`] for several owners in one read
    /// (per few hundred owners), ordered by calendar path then name.
    async fn calendar_objects_by_uid_of(&self, owners: &[PrincipalId], uid: &str) -> StoreResult<Vec<(Collection, ObjectMeta)>>;
    /// The objects at these members (collection, name) that exist, in no
    /// particular order; one read (per few hundred members).
    async fn objects_at(&self, members: &[(CollectionId, &str)]) -> StoreResult<Vec<ObjectMeta>>;

    /// Objects of a collection chosen on their index (see [`ObjectQuery`]),
    /// ordered by name.
    async fn query_objects(&self, collection: CollectionId, query: &ObjectQuery) -> StoreResult<Vec<IndexedObject>>;
    /// `(name, search_text)` of every object of a collection, ordered by
    /// name (an empty text for objects without one), as of `revision` when
    /// the caller just read it. Cached per revision, so an unchanged address
    /// book's texts are read once (CardDAV queries filter them in memory).
    async fn search_texts(&self, collection: CollectionId, revision: Option<i64>) -> StoreResult<Arc<Vec<(String, String)>>>;
    /// The named objects of a collection, with their bytes when
    /// `with_content`, in one read; missing names are absent from the result.
    /// `revision`: the collection's revision as the caller just read it, if
    /// it did; the objects are then answered as of that revision when it is
    /// the revision of a cached listing, without reading the revision again.
    async fn objects_by_name(
        &self,
        collection: CollectionId,
        revision: Option<i64>,
        names: &[String],
        with_content: bool,
    ) -> StoreResult<Vec<(ObjectMeta, Option<Bytes>)>>;

    // -- COPY / MOVE (RFC 4918 §9.8, §9.9), each one transaction; `guard`
    // covers both the source (for MOVE) and the destination. The source must
    // still be at the path it was resolved at (`NotFound` otherwise, see
    // [`Resolved`]), the destination parent at `to.parent_path`
    // (`MissingParent`). An object keeps its index; into a calendar or an
    // address book, a UID already used by another member — for a COPY within
    // one collection, by the source itself — is a [`StoreError::UidConflict`].
    async fn copy_object(&self, object: &Resolved, to: Destination, guard: &LockGuard) -> StoreResult<TransferOutcome>;
    async fn move_object(&self, object: &Resolved, to: Destination, guard: &LockGuard) -> StoreResult<TransferOutcome>;
}
