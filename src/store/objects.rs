//! Stored objects (non-collection resources): the [`ObjectStore`] concern of
//! the store — exact bytes, conditional writes, index queries, COPY and MOVE.

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use sha2::{Digest, Sha256};

use super::{Collection, CollectionId, LockGuard, Millis, NewJob, ObjectId, Resolved, StoreResult};

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
    /// write commits.
    pub enqueue: Vec<NewJob>,
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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransferOutcome {
    pub replaced: bool,
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
    /// Delete the object `name` of `collection` (optionally only if its ETag
    /// matches). `NotFound` if absent or if the collection is no longer at
    /// `collection.path`, `PreconditionFailed` if the ETag differs.
    /// `enqueue`: jobs written in the same transaction (see
    /// [`OutboxStore`](super::OutboxStore)), if and only if it commits.
    async fn delete_object(
        &self,
        collection: &Resolved,
        name: &str,
        if_match: Option<&str>,
        guard: &LockGuard,
        enqueue: Vec<NewJob>,
    ) -> StoreResult<()>;

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
