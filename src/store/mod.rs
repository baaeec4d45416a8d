//! The store: one contract split by concern, one implementation per database.
//!
//! The store speaks domain types — principals, académies, collections, stored
//! objects with their exact bytes, dead properties, a per-collection change log
//! and WebDAV locks. It never sees HTTP or XML: a dead property's value is an
//! opaque string that the WebDAV layer produced and will read back.
//!
//! The contract is [`Store`], a supertrait of one sub-trait per concern, each
//! in its own module with its domain types (all re-exported here):
//!
//! - [`principals`]: [`PrincipalStore`] — académies, regions, principals and
//!   their email addresses;
//! - [`directory`]: [`DirectoryStore`] — the national directory's searches
//!   and bulk imports;
//! - [`collections`]: [`CollectionStore`] — collections, their COPY and MOVE,
//!   quota;
//! - [`objects`]: [`ObjectStore`] — stored objects, conditional writes, index
//!   queries, COPY and MOVE;
//! - [`properties`]: [`PropertyStore`] — dead properties;
//! - [`changes`]: [`ChangeStore`] — the per-collection change log (RFC 6578);
//! - [`locks`]: [`LockStore`] — WebDAV locks (RFC 4918 §6);
//! - [`throttle`]: [`ThrottleStore`] — login records for login throttling;
//! - [`outbox`]: [`OutboxStore`] — jobs written with object writes, in their
//!   transaction, then claimed by workers (the transactional outbox);
//! - [`tokens`]: [`ReplyTokenStore`] — reply tokens of email invitations;
//! - [`visio`]: [`VisioStore`] — visio rooms of meetings and visio policies;
//! - [`account`]: [`AccountStore`] — the account page's sessions, app
//!   passwords, OpenID Connect logins under way, administrators' counts.
//!
//! A new concern is a new sub-trait (and module), added to [`Store`]'s
//! supertraits and to [`prelude`], with its own conformance tests. Calling a
//! sub-trait's methods on a [`SharedStore`] needs that sub-trait in scope:
//! `use crate::store::prelude::*;`.
//!
//! Two implementations share this contract: [`postgres::PgStore`] (production,
//! several server processes may share one database) and [`sqlite::SqliteStore`]
//! (embedded, zero set-up). The conformance suite in `tests/it/store_conformance/`
//! runs unchanged against both.
//!
//! Paths: a collection is identified by its absolute, percent-decoded path with a
//! trailing slash (`/files/alice/notes/`); an object by its collection and its
//! decoded member name (`report.txt`).

pub mod account;
pub mod changes;
pub mod collections;
pub mod directory;
pub mod locks;
pub mod objects;
pub mod outbox;
pub mod postgres;
pub mod principals;
pub mod properties;
mod sql;
pub mod sqlite;
pub mod throttle;
pub mod tokens;
pub mod visio;

use std::sync::Arc;

use async_trait::async_trait;

pub use account::{AccountCounts, AccountStore, AppPassword, NewSession, OidcLogin, WebSession};
pub use changes::{Change, ChangeStore};
pub use collections::{Collection, CollectionKind, CollectionStore, NewCollection};
pub use directory::{
    AccountRecord, DirectoryAnswer, DirectoryEntry, DirectoryField, DirectoryMatch, DirectorySearch, DirectoryStore,
    DirectoryTerm, EntryCheck, ImportCounts, ImportOutcome,
};
pub use locks::{Lock, LockCap, LockGuard, LockLimits, LockNull, LockScope, LockStore};
pub use objects::{
    etag_for, BatchOutcome, BatchResult, BatchWrite, Destination, IndexedObject, ObjectIndex, ObjectMeta, ObjectQuery,
    ObjectStore, PutObject, PutOutcome, TransferOutcome, WriteBatch, WriteCondition,
};
pub use outbox::{Job, NewJob, OutboxStore};
pub use principals::{
    Academie, NewPrincipal, Principal, PrincipalAnswer, PrincipalEmail, PrincipalKind, PrincipalSearch, PrincipalStore,
    Region,
};
pub use properties::{DeadProperty, PropertyStore, PropertyTarget, PropertyUpdate};
pub use throttle::{LoginHistory, ThrottleStore};
pub use tokens::{ReplyTokenRecord, ReplyTokenStore};
pub use visio::{NewRoom, PolicyScope, Room, RoomDetails, RoomRole, VisioPolicies, VisioPolicy, VisioStore, VOICE_BRIDGES};

/// The sub-traits of [`Store`], whose methods a [`SharedStore`] can be
/// called with once they are in scope: `use crate::store::prelude::*;`.
pub mod prelude {
    pub use super::{
        AccountStore, ChangeStore, CollectionStore, DirectoryStore, LockStore, ObjectStore, OutboxStore, PrincipalStore, PropertyStore,
        ReplyTokenStore, Store, ThrottleStore, VisioStore,
    };
}

pub type PrincipalId = i64;
pub type CollectionId = i64;
pub type ObjectId = i64;
pub type JobId = i64;

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
    /// A job a batch completes is no longer queued: another worker already
    /// did its work ([`WriteBatch::complete_jobs`]); nothing was written.
    #[error("the job is already done")]
    JobGone,
    #[error("invalid input: {0}")]
    Invalid(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration error: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
}

pub type StoreResult<T> = Result<T, StoreError>;

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

/// The store contract: every concern's sub-trait, and what concerns the
/// store as a whole. Every multi-row change is one transaction.
#[async_trait]
pub trait Store:
    PrincipalStore
    + DirectoryStore
    + CollectionStore
    + ObjectStore
    + PropertyStore
    + ChangeStore
    + LockStore
    + ThrottleStore
    + OutboxStore
    + ReplyTokenStore
    + VisioStore
    + AccountStore
    + Send
    + Sync
    + 'static
{
    /// Apply pending migrations.
    async fn migrate(&self) -> StoreResult<()>;
    /// A cheap round trip to the database (used by `/health`).
    async fn ping(&self) -> StoreResult<()>;
    /// Which of this build's migrations the database has (`almanach
    /// config check`); reads only.
    async fn migration_state(&self) -> StoreResult<MigrationState>;
    /// Write a consistent copy of the whole database to the new file
    /// `path`, while the server runs and writes (`almanach backup`):
    /// SQLite's `VACUUM INTO`, one read transaction, so the copy is the
    /// database as of one commit. `Invalid` for PostgreSQL, whose backups
    /// are `pg_dump`'s (docs/operations.md), and when `path` exists.
    async fn backup_to(&self, path: &std::path::Path) -> StoreResult<()>;
    /// The connections of this process's pools, now (`GET /metrics`); no
    /// database call.
    fn pool_stats(&self) -> PoolStats;
}

/// The migrations of this build against those a database has applied.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MigrationState {
    /// This build's migrations: (version, description).
    pub known: Vec<(i64, String)>,
    /// Versions the database has applied.
    pub applied: Vec<i64>,
}

impl MigrationState {
    /// Known migrations not applied yet (applied at the next start).
    pub fn pending(&self) -> Vec<&(i64, String)> {
        self.known.iter().filter(|(v, _)| !self.applied.contains(v)).collect()
    }

    /// Applied migrations this build does not know (a newer build ran on
    /// this database: this one refuses to start).
    pub fn unknown(&self) -> Vec<i64> {
        self.applied.iter().copied().filter(|v| !self.known.iter().any(|(k, _)| k == v)).collect()
    }
}

/// A store's connections to its database, as `GET /metrics` reports them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// Most connections the pools open.
    pub max: u32,
    /// Connections in use by a statement or a transaction.
    pub in_use: u32,
    /// Open connections waiting for work (in the pools, or kept for the
    /// hot reads).
    pub idle: u32,
    /// Tasks waiting for a connection to begin a transaction or a hot
    /// read (the one-statement reads that go through the pool directly
    /// are not counted).
    pub waiting: u32,
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
