//! The store: one trait, one implementation per database.
//!
//! The store speaks domain types — principals, académies, collections, stored
//! objects with their exact bytes, dead properties, a per-collection change log
//! and WebDAV locks. It never sees HTTP or XML: a dead property's value is an
//! opaque string that the WebDAV layer produced and will read back.
//!
//! Two implementations share this contract: [`postgres::PgStore`] (production,
//! several server processes may share one database) and [`sqlite::SqliteStore`]
//! (embedded, zero set-up). The conformance suite in `tests/it/store_conformance.rs`
//! runs unchanged against both.
//!
//! Paths: a collection is identified by its absolute, percent-decoded path with a
//! trailing slash (`/files/alice/notes/`); an object by its collection and its
//! decoded member name (`report.txt`).

pub mod postgres;
mod sql;
pub mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use sha2::{Digest, Sha256};

pub type PrincipalId = i64;
pub type CollectionId = i64;
pub type ObjectId = i64;

/// Milliseconds since the Unix epoch; every timestamp in the store uses it.
pub type Millis = i64;

pub fn now_millis() -> Millis {
    chrono::Utc::now().timestamp_millis()
}

/// Errors a store reports. The WebDAV layer maps each to a status code in one
/// place (`dav::error`).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("already exists")]
    AlreadyExists,
    /// A conditional write (If-Match / If-None-Match) found another state.
    #[error("precondition failed")]
    PreconditionFailed,
    /// The parent collection of a new resource does not exist.
    #[error("conflict: parent collection missing")]
    MissingParent,
    #[error("quota exceeded")]
    QuotaExceeded,
    /// A sync token names a revision this collection never had.
    #[error("invalid sync token")]
    InvalidSyncToken,
    /// Another object of the collection already has this UID (RFC 4791
    /// §5.3.2.1, RFC 6352 §6.3.2.1); `name` is that object's member name.
    #[error("UID already used by {name}")]
    UidConflict { name: String },
    /// A write touches a place covered by a lock whose token the request did
    /// not submit (RFC 4918 §7); `root` is that lock's root.
    #[error("locked: {root}")]
    Locked { root: String },
    /// A new lock conflicts with an existing one (RFC 4918 §6.1, §9.10.3);
    /// `root` is the existing lock's root.
    #[error("conflicting lock: {root}")]
    LockConflict { root: String },
    /// A new lock would pass a cap of [`LockLimits`]: `limit` active locks
    /// per principal or per resource.
    #[error("too many active locks {per}: at most {limit}")]
    TooManyLocks { per: LockCap, limit: usize },
    #[error("invalid input: {0}")]
    Invalid(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration error: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
}

pub type StoreResult<T> = Result<T, StoreError>;

// ---------------------------------------------------------------- directory

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region {
    pub id: i64,
    pub slug: String,
    pub name: String,
}

/// A regional académie: the tenant boundary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Academie {
    pub id: i64,
    pub slug: String,
    pub name: String,
    /// Slug of the region the académie belongs to, if any.
    pub region: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrincipalKind {
    User,
    Group,
    Room,
    Resource,
}

impl PrincipalKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PrincipalKind::User => "user",
            PrincipalKind::Group => "group",
            PrincipalKind::Room => "room",
            PrincipalKind::Resource => "resource",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "user" => PrincipalKind::User,
            "group" => PrincipalKind::Group,
            "room" => PrincipalKind::Room,
            "resource" => PrincipalKind::Resource,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub id: PrincipalId,
    pub username: String,
    pub kind: PrincipalKind,
    pub display_name: Option<String>,
    /// Slug of the académie the principal belongs to (None: national, e.g. the
    /// first administrator).
    pub academie: Option<String>,
    /// PHC string of an argon2id hash; None for principals that cannot log in.
    pub password_hash: Option<String>,
    pub disabled: bool,
    pub is_admin: bool,
    /// Per-principal quota in bytes; None means the server default.
    pub quota_bytes: Option<i64>,
    pub created_at: Millis,
}

/// A principal search: case-insensitive substrings of names (display name
/// or username) and of email addresses.
#[derive(Debug, Clone, Default)]
pub struct PrincipalSearch {
    /// Principals of this académie are searched...
    pub academie: Option<String>,
    /// ...and this one (the searching user) in any case.
    pub always: Option<PrincipalId>,
    pub name_terms: Vec<String>,
    pub email_terms: Vec<String>,
    /// All terms must match (RFC 3744 `test="allof"`), or any (`anyof`).
    pub match_all: bool,
    pub limit: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrincipalEmail {
    pub address: String,
    pub primary: bool,
}

#[derive(Debug, Clone, Default)]
pub struct NewPrincipal {
    pub username: String,
    pub kind: Option<PrincipalKind>,
    pub display_name: Option<String>,
    /// Académie slug; must exist.
    pub academie: Option<String>,
    pub password_hash: Option<String>,
    /// Email addresses; the first is the primary one.
    pub emails: Vec<String>,
    pub is_admin: bool,
    /// vCard `N` (given and family names), `TITLE` and `TEL` for the
    /// national directory.
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub title: Option<String>,
    pub phone: Option<String>,
}

// ---------------------------------------------------------------- national directory

/// One account as the national directory (the CardDAV directory gateway,
/// RFC 6352 §7.1.1) shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryEntry {
    pub principal: PrincipalId,
    pub username: String,
    pub display_name: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub title: Option<String>,
    pub phone: Option<String>,
    /// Primary first, then in insertion order.
    pub emails: Vec<String>,
    /// (slug, name) of the académie.
    pub academie: Option<(String, String)>,
    /// Last change of the principal (ms).
    pub modified_at: Millis,
}

/// What a directory search term looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DirectoryField {
    /// The display name, the given name, the family name, "given family"
    /// and the username: a term matches when it matches any of them.
    Name,
    /// Every email address: a term matches when it matches any of them.
    Email,
}

/// How a term compares with a whole folded value (RFC 4790 §4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DirectoryMatch {
    Equals,
    Prefix,
    /// Needles of 3 characters or more are looked up in the word-suffix index;
    /// shorter ones are answered as [`DirectoryMatch::Prefix`] (see
    /// docs/decisions.md, "The directory index").
    Substring,
    /// As [`DirectoryMatch::Substring`]: shorter than 3 characters, only
    /// values that also start with the needle are found.
    Suffix,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryTerm {
    pub field: DirectoryField,
    pub kind: DirectoryMatch,
    /// Already folded with `i;unicode-casemap` (`collation::fold`).
    pub needle: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectorySearch {
    /// No term: every active account (up to `limit`).
    pub terms: Vec<DirectoryTerm>,
    /// All terms must match (`allof`), or any (`anyof`).
    pub match_all: bool,
    pub limit: i64,
}

/// One account of a bulk import, upserted by username.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountRecord {
    pub username: String,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub display_name: Option<String>,
    /// The first is the primary one.
    pub emails: Vec<String>,
    /// Académie slug; must exist.
    pub academie: Option<String>,
    pub title: Option<String>,
    pub phone: Option<String>,
}

/// What an import did with one [`AccountRecord`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportOutcome {
    Created,
    Updated,
    Unchanged,
    /// Nothing written for this record; the reason, for the operator.
    Rejected(String),
}

/// Totals of an import.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportCounts {
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub rejected: u64,
}

impl ImportCounts {
    pub fn add(&mut self, outcome: &ImportOutcome) {
        match outcome {
            ImportOutcome::Created => self.created += 1,
            ImportOutcome::Updated => self.updated += 1,
            ImportOutcome::Unchanged => self.unchanged += 1,
            ImportOutcome::Rejected(_) => self.rejected += 1,
        }
    }

    pub fn total(&self) -> u64 {
        self.created + self.updated + self.unchanged + self.rejected
    }
}

// ---------------------------------------------------------------- resources

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

/// Metadata of a stored (non-collection) resource; its bytes are fetched with
/// [`Store::object_with_content`].
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

/// A stored resource as a request found it before writing: its id and the
/// store path it was at (collections end with `/`). A write acts on it only
/// if, inside the write's transaction, it is still there — a method acts on
/// the resource its Request-URI names (RFC 4918 §9.6, §9.8, §9.9), not on
/// wherever a concurrent MOVE has since put it — and otherwise fails with
/// [`StoreError::NotFound`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Resolved {
    pub id: i64,
    pub path: String,
}

impl Resolved {
    pub fn collection(c: &Collection) -> Resolved {
        Resolved { id: c.id, path: c.path.clone() }
    }

    /// The object `meta` of the collection `parent`.
    pub fn object(parent: &Collection, meta: &ObjectMeta) -> Resolved {
        Resolved { id: meta.id, path: format!("{}{}", parent.path, meta.name) }
    }
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
    /// transaction, [`StoreError::MissingParent`] when it has moved since.
    pub collection_path: String,
    pub name: String,
    pub content_type: String,
    pub content: Bytes,
    pub condition: WriteCondition,
    /// Reject the write with [`StoreError::QuotaExceeded`] when the owner's total
    /// would exceed this many bytes.
    pub quota_limit: Option<i64>,
    pub guard: LockGuard,
    /// What the protocol layer extracted from the content for queries.
    pub index: ObjectIndex,
    /// Refuse with [`StoreError::UidConflict`] when another object of the
    /// collection has the same `index.uid` (checked in the transaction).
    pub unique_uid: bool,
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
    /// `vcard::object::search_text`), read back by [`Store::search_texts`].
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

/// What a write must respect of WebDAV locks (RFC 4918 §7), checked inside
/// the write's own transaction so that a lock granted concurrently can never
/// be bypassed. A lock is *held* by the request when its token is in
/// `tokens` and it belongs to `principal`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LockGuard {
    pub principal: PrincipalId,
    /// The lock tokens the request submitted (in its `If` header).
    pub tokens: Vec<String>,
    /// Places the write modifies (store paths: collections end with `/`):
    /// each must have no covering lock, or at least one held covering lock
    /// (covering as in [`Store::locks_covering`]).
    pub at: Vec<String>,
    /// Collection paths whose subtree the write modifies (DELETE/MOVE of a
    /// collection): every lock rooted strictly below must be held.
    pub below: Vec<String>,
}

impl LockGuard {
    /// No lock constraint (writes that are not on behalf of a WebDAV request).
    pub fn none() -> LockGuard {
        LockGuard::default()
    }

    pub fn is_none(&self) -> bool {
        *self == LockGuard::default()
    }

    /// This guard with more places to check. The store adds the places it
    /// derives from the rows it has locked, so a guard built from paths a
    /// concurrent MOVE has since changed still protects the right resources.
    /// [`LockGuard::none`] stays unconstrained.
    pub fn with(&self, at: &[&str], below: &[&str]) -> LockGuard {
        let mut g = self.clone();
        if !self.is_none() {
            g.at.extend(at.iter().map(|p| p.to_string()));
            g.below.extend(below.iter().map(|p| p.to_string()));
        }
        g
    }
}

/// LOCK on an unmapped URL (RFC 4918 §9.10.4): create an empty object in the
/// same transaction as the lock.
#[derive(Debug, Clone)]
pub struct LockNull {
    pub collection: CollectionId,
    /// The path the request found `collection` at (as for
    /// [`PutObject::collection_path`]).
    pub collection_path: String,
    pub name: String,
    pub content_type: String,
    /// Guards the binding into `collection` (its own locks).
    pub guard: LockGuard,
}

#[derive(Debug, Clone)]
pub struct PutOutcome {
    pub created: bool,
    pub meta: ObjectMeta,
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
    /// With properties: reject with [`StoreError::QuotaExceeded`] when the
    /// owner's total (property values included) would exceed this.
    pub quota_limit: Option<i64>,
}

/// What a dead property belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PropertyTarget {
    Collection(CollectionId),
    Object(ObjectId),
}

/// A property stored as received: namespace, local name and an opaque value
/// (the WebDAV layer stores the serialized XML content of the element).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadProperty {
    pub namespace: String,
    pub name: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PropertyUpdate {
    Set(DeadProperty),
    Remove { namespace: String, name: String },
}

/// One entry of a collection's change log (RFC 6578).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// Member name (object or child collection, without trailing slash).
    pub name: String,
    pub revision: i64,
    pub deleted: bool,
}

/// Where a COPY or MOVE puts its result.
#[derive(Debug, Clone)]
pub struct Destination {
    /// The collection that will contain the result.
    pub parent: CollectionId,
    /// The path the request found `parent` at: checked in the transaction,
    /// [`StoreError::MissingParent`] when it has moved since.
    pub parent_path: String,
    /// Decoded member name.
    pub name: String,
    /// Replace whatever is at the destination (Overwrite: T). With false, an
    /// existing destination yields [`StoreError::AlreadyExists`].
    pub overwrite: bool,
    /// For COPY: reject with [`StoreError::QuotaExceeded`] when the
    /// destination owner's total would exceed this many bytes.
    pub quota_limit: Option<i64>,
}

/// Outcome of COPY/MOVE: whether something was replaced at the destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransferOutcome {
    pub replaced: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockScope {
    Exclusive,
    Shared,
}

/// A WebDAV write lock (RFC 4918 §6). Stored so that every server process sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lock {
    /// Full lock token URI, e.g. `urn:uuid:…`.
    pub token: String,
    /// Lock root: decoded absolute path; collections end with `/`.
    pub root: String,
    /// true for Depth: infinity.
    pub infinite: bool,
    pub scope: LockScope,
    /// The `DAV:owner` XML supplied by the client, serialized.
    pub owner_xml: Option<String>,
    pub principal: PrincipalId,
    /// Requested timeout in seconds (None: infinite).
    pub timeout_secs: Option<i64>,
    pub expires_at: Option<Millis>,
}

/// What the store holds about recent logins of one account from one client
/// address, for login throttling (`auth::throttle`): failures at or after a
/// given time, each count stopped at a given limit (so that reading them
/// costs at most that many index entries), and the last success.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoginHistory {
    /// Failures of this account from this address.
    pub pair_failures: u32,
    /// When the oldest of them happened.
    pub pair_oldest: Option<Millis>,
    /// Failures from this address, whatever the account.
    pub address_failures: u32,
    /// When the oldest of them happened.
    pub address_oldest: Option<Millis>,
    /// Failures of this account, whatever the address.
    pub account_failures: u32,
    /// The last successful login of this account from this address.
    pub last_success: Option<Millis>,
}

/// Bounds on the locks a principal creates, checked by
/// [`Store::create_lock`] in the lock's transaction. RFC 4918 §6 leaves lock
/// resources to the server; without bounds a client could store unbounded
/// `DAV:owner` values and make every `DAV:lockdiscovery` of a resource
/// arbitrarily large.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LockLimits {
    /// The principal's quota (RFC 4331): the lock's `owner_xml` bytes count
    /// towards it ([`Store::quota_used`]); [`StoreError::QuotaExceeded`]
    /// when they would pass it.
    pub quota_limit: Option<i64>,
    /// Most unexpired locks one principal may hold (lock-null resources
    /// included, each being created with its lock).
    pub per_principal: Option<usize>,
    /// Most unexpired locks covering one resource (what its
    /// `DAV:lockdiscovery` shows): shared locks beyond are refused.
    pub per_resource: Option<usize>,
}

impl LockLimits {
    /// No bound (locks not created on behalf of a request).
    pub fn none() -> LockLimits {
        LockLimits::default()
    }
}

/// Which cap of [`LockLimits`] a lock would pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockCap {
    Principal,
    Resource,
}

impl std::fmt::Display for LockCap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            LockCap::Principal => "for this principal",
            LockCap::Resource => "on this resource",
        })
    }
}

/// The store contract. Every multi-row change is one transaction.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Apply pending migrations.
    async fn migrate(&self) -> StoreResult<()>;
    /// A cheap round trip to the database (used by `/health`).
    async fn ping(&self) -> StoreResult<()>;
    /// Changes to the directory (principals, académies, emails) committed
    /// through this store object so far: a value read before reading a
    /// principal differs from the current one once such a change committed
    /// since. Per process; no database read.
    fn directory_generation(&self) -> u64;

    // -- académies and regions
    /// Create an académie, creating its region (slug used as name) when missing.
    async fn create_academie(&self, slug: &str, name: &str, region: Option<&str>) -> StoreResult<Academie>;
    async fn academie(&self, slug: &str) -> StoreResult<Option<Academie>>;
    async fn list_academies(&self) -> StoreResult<Vec<Academie>>;
    async fn list_regions(&self) -> StoreResult<Vec<Region>>;

    // -- principals
    async fn create_principal(&self, new: NewPrincipal) -> StoreResult<Principal>;
    async fn principal_by_username(&self, username: &str) -> StoreResult<Option<Principal>>;
    async fn principal(&self, id: PrincipalId) -> StoreResult<Option<Principal>>;
    async fn list_principals(&self) -> StoreResult<Vec<Principal>>;
    /// Active principals matching a search (RFC 3744 §9.4), among those of
    /// `search.academie` and `search.always`, ordered by username.
    async fn search_principals(&self, search: &PrincipalSearch) -> StoreResult<Vec<Principal>>;
    async fn count_principals(&self) -> StoreResult<i64>;
    async fn set_password_hash(&self, id: PrincipalId, hash: &str) -> StoreResult<()>;
    async fn set_disabled(&self, id: PrincipalId, disabled: bool) -> StoreResult<()>;
    /// Delete a principal with everything it owns (collections, objects,
    /// properties, change logs, locks), in one transaction.
    async fn delete_principal(&self, id: PrincipalId) -> StoreResult<()>;
    /// Addresses in insertion order; exactly one is primary when any exist.
    async fn principal_emails(&self, id: PrincipalId) -> StoreResult<Vec<PrincipalEmail>>;
    async fn add_principal_email(&self, id: PrincipalId, address: &str, primary: bool) -> StoreResult<()>;

    // -- national directory
    /// Active (not disabled) user principals matching the search, ordered
    /// by username, at most `limit`. Every term is answered from an index
    /// and matched exactly (no false candidates). When more than `limit`
    /// match, which ones are returned is unspecified (the first found in
    /// index order), so the cost stays bounded by the limit.
    async fn directory_search(&self, search: &DirectorySearch) -> StoreResult<Vec<DirectoryEntry>>;
    /// The directory entry of an active user principal; None for unknown,
    /// disabled or non-user principals.
    async fn directory_entry(&self, username: &str) -> StoreResult<Option<DirectoryEntry>>;
    /// Upsert accounts by username in one transaction; one outcome per
    /// record, in order. New accounts get no password; an existing
    /// account keeps its password, kind, admin and disabled flags. A record
    /// is rejected (and nothing of it written) when its académie is
    /// unknown, the username belongs to a non-user principal, it repeats an
    /// earlier username of the batch, or one of its addresses belongs to
    /// another principal or to an earlier record of the batch.
    async fn import_accounts(&self, batch: &[AccountRecord]) -> StoreResult<Vec<ImportOutcome>>;

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
    /// Delete a collection and its whole subtree (objects, properties, change
    /// logs, locks below it). Records the deletion in the parent's change log.
    /// `NotFound` if it is no longer at `collection.path` (see [`Resolved`]).
    async fn delete_collection(&self, collection: &Resolved, guard: &LockGuard) -> StoreResult<()>;
    /// Bytes used by `owner`: its objects' contents, the values of the dead
    /// properties on its collections and objects, and the `DAV:owner` XML of
    /// its unexpired locks (RFC 4331).
    async fn quota_used(&self, owner: PrincipalId) -> StoreResult<i64>;

    // -- objects
    async fn object(&self, collection: CollectionId, name: &str) -> StoreResult<Option<ObjectMeta>>;
    /// The object `name` of the collection at `parent_path`, with that
    /// collection, in one read (path resolution of most requests).
    async fn object_at(&self, parent_path: &str, name: &str) -> StoreResult<Option<(Collection, ObjectMeta)>>;
    /// [`Store::object_at`] with the object's bytes, read together (GET).
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
    async fn put_object(&self, put: PutObject) -> StoreResult<PutOutcome>;
    /// Delete the object `name` of `collection` (optionally only if its ETag
    /// matches). `NotFound` if absent or if the collection is no longer at
    /// `collection.path`, `PreconditionFailed` if the ETag differs.
    async fn delete_object(
        &self,
        collection: &Resolved,
        name: &str,
        if_match: Option<&str>,
        guard: &LockGuard,
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

    // -- dead properties
    async fn dead_properties(&self, target: PropertyTarget) -> StoreResult<Vec<DeadProperty>>;
    /// Apply all updates in one transaction (PROPPATCH is all-or-nothing).
    /// Property values count towards the owner's quota: with `quota_limit`,
    /// updates that set properties fail with [`StoreError::QuotaExceeded`]
    /// when the owner's total would exceed it. `path` is the store path the
    /// request found the target at: `NotFound` if it is no longer there.
    async fn update_dead_properties(
        &self,
        target: PropertyTarget,
        path: &str,
        updates: &[PropertyUpdate],
        guard: &LockGuard,
        quota_limit: Option<i64>,
    ) -> StoreResult<()>;

    // -- change log (RFC 6578)
    /// Changes after `since` (exclusive), at most one entry per name (the latest),
    /// ordered by revision. `InvalidSyncToken` if `since` is beyond the
    /// collection's current revision.
    async fn changes_since(&self, collection: CollectionId, since: i64) -> StoreResult<Vec<Change>>;

    // -- locks (RFC 4918 §6, §9.10); expired locks are never returned
    /// Create a lock, atomically with its conflict check: an exclusive lock
    /// conflicts with any lock covering its root (and, when infinite, any lock
    /// below it); a shared lock conflicts with exclusive ones. Conflicts are
    /// [`StoreError::LockConflict`]. With `lock_null`, the empty object is
    /// created in the same transaction; without it, the root must still be an
    /// existing resource (`NotFound` when a concurrent MOVE or DELETE took it
    /// away). Then `limits` (caps first, [`StoreError::TooManyLocks`], then
    /// the quota). Lock creation and guarded writes are serialised, so a
    /// write never commits unchecked after a lock is granted.
    async fn create_lock(&self, lock: Lock, lock_null: Option<LockNull>, limits: &LockLimits) -> StoreResult<()>;
    async fn lock(&self, token: &str) -> StoreResult<Option<Lock>>;
    /// Locks whose scope covers `path`: locks rooted at `path`, and
    /// Depth-infinity locks rooted at an ancestor collection of `path`.
    async fn locks_covering(&self, path: &str) -> StoreResult<Vec<Lock>>;
    /// Locks rooted strictly below the collection path `prefix` (ends with `/`).
    async fn locks_below(&self, prefix: &str) -> StoreResult<Vec<Lock>>;
    async fn refresh_lock(&self, token: &str, timeout_secs: Option<i64>, expires_at: Option<Millis>) -> StoreResult<Lock>;
    async fn remove_lock(&self, token: &str) -> StoreResult<()>;

    // -- login throttling: failed and successful logins by account (as the
    // caller normalised it) and client address (as the caller keyed it),
    // stored so that every process counts the same failures
    /// The failures of `account` from `address`, from `address` and of
    /// `account` at or after `since`, each count stopped at `limit`, and the
    /// last success of `account` from `address`; one read.
    async fn login_history(&self, account: &str, address: &str, since: Millis, limit: u32) -> StoreResult<LoginHistory>;
    async fn record_login_failure(&self, account: &str, address: &str, at: Millis) -> StoreResult<()>;
    /// Forget the failures of `account` from `address` and remember a
    /// success at `at`, in one transaction.
    async fn record_login_success(&self, account: &str, address: &str, at: Millis) -> StoreResult<()>;
    /// Delete the failures before `failures_before` and the successes before
    /// `successes_before`; the number of rows deleted.
    async fn forget_logins(&self, failures_before: Millis, successes_before: Millis) -> StoreResult<u64>;
}

pub type SharedStore = Arc<dyn Store>;

/// Open the store named by a database URL: `sqlite://PATH` or `postgres://…`.
/// Creates the SQLite file (and its directory) when missing.
pub async fn open(url: &str) -> StoreResult<SharedStore> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(postgres::PgStore::connect(url).await?))
    } else if url.starts_with("sqlite:") {
        Ok(Arc::new(sqlite::SqliteStore::open(url).await?))
    } else {
        Err(StoreError::Invalid(format!(
            "unsupported database URL {url:?}: expected sqlite://PATH or postgres://..."
        )))
    }
}
