//! WebDAV locks (RFC 4918 §6, §7, §9.10): the [`LockStore`] concern of the
//! store, and the lock guards every write checks in its transaction.

use async_trait::async_trait;

use super::{CollectionId, Millis, PrincipalId, StoreResult};

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
    /// (covering as in [`Store::locks_covering`](LockStore::locks_covering)).
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
    /// [`PutObject::collection_path`](super::PutObject::collection_path)).
    pub collection_path: String,
    pub name: String,
    pub content_type: String,
    /// Guards the binding into `collection` (its own locks).
    pub guard: LockGuard,
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

/// Bounds on the locks a principal creates, checked by
/// [`Store::create_lock`](LockStore::create_lock) in the lock's transaction. RFC 4918 §6 leaves lock
/// resources to the server; without bounds a client could store unbounded
/// `DAV:owner` values and make every `DAV:lockdiscovery` of a resource
/// arbitrarily large.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LockLimits {
    /// The principal's quota (RFC 4331): the lock's `owner_xml` bytes count
    /// towards it ([`Store::quota_used`](super::CollectionStore::quota_used)); [`StoreError::QuotaExceeded`](super::StoreError::QuotaExceeded)
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

/// WebDAV locks.
#[async_trait]
pub trait LockStore: Send + Sync {
    // -- locks (RFC 4918 §6, §9.10); expired locks are never returned
    /// Create a lock, atomically with its conflict check: an exclusive lock
    /// conflicts with any lock covering its root (and, when infinite, any lock
    /// below it); a shared lock conflicts with exclusive ones. Conflicts are
    /// [`StoreError::LockConflict`](super::StoreError::LockConflict). With `lock_null`, the empty object is
    /// created in the same transaction; without it, the root must still be an
    /// existing resource (`NotFound` when a concurrent MOVE or DELETE took it
    /// away). Then `limits` (caps first, [`StoreError::TooManyLocks`](super::StoreError::TooManyLocks), then
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
}
