//! The portable SQL implementation of the [`Store`](super::Store) contract,
//! written once and instantiated per database.
//!
//! # Design
//!
//! The store's SQL is portable between SQLite and PostgreSQL: numbered `$N`
//! parameters, `RETURNING`, `ON CONFLICT … DO UPDATE`, and byte-wise text
//! ordering (so `path >= $1 AND path < $2` selects a subtree on both; see
//! `rows::prefix_upper`). It is therefore written once, here, and each backend
//! instantiates it with one line:
//!
//! ```text
//! super::sql::sql_store!(SqliteStore, sqlx::Sqlite);   // sqlite.rs
//! super::sql::sql_store!(PgStore, sqlx::Postgres);     // postgres.rs
//! ```
//!
//! A macro rather than generic code because the functions run queries on one
//! database's concrete connection type (`Conn`); spelling the equivalent sqlx
//! trait bounds generically would bury the SQL. A backend only supplies its
//! connection handling as inherent methods of its store type: `reader()` (pool
//! for reads), `read_conn()` (a connection for one hot read, see [`kept`]), `writer()` (pool for single-statement writes), `begin_write()`
//! (a write transaction), `begin_guarded_write()` (a write transaction that
//! checks a [`LockGuard`](super::LockGuard)), `begin_exclusive_write()` (a
//! transaction excluding every guarded write: lock creation, subtree moves
//! and deletes), `listing_cache()` (its [`listing::ListingCache`]), `directory_counter()`
//! (its [`DirectoryGeneration`]), `coalesced_object_at()` and
//! `coalesced_collection_by_path()` (`Some` answer when the backend batches
//! these hot reads, see [`coalesce`]; `None` to run the portable statement),
//! `claim_locking()` (the row-locking clause of an outbox claim, see
//! [`outbox`]), `row_locking()` (the clause that row-locks several rows in
//! one `SELECT … ORDER BY id`, or None where the transaction is the only
//! writer) and `run_migrations()`.
//!
//! # Layout
//!
//! [`sql_store!`] generates, inside the backend's module, a module `sql_impl`
//! holding the implementation of the contract — `impl Store` (migrations,
//! ping) and one `impl` per concern's sub-trait (`impl ObjectStore`, …),
//! every method in one place, each delegating to a function of a concern
//! module — and one child module per concern, whose functions the concern
//! file's `body!` macro expands there:
//!
//! - [`rows`]: row types, column lists and pure helpers (an ordinary module);
//! - [`directory`]: académies, regions, principals and their emails;
//! - [`directory_index`]: the national directory's search index and searches;
//! - [`import`]: bulk import of accounts into the directory;
//! - [`collections`]: collections, subtree deletion, quota;
//! - [`objects`]: stored objects, conditional `PUT` and `DELETE`;
//! - [`transfer`]: `COPY` and `MOVE`;
//! - [`properties`]: dead properties;
//! - [`changes`]: the per-collection revision and change log;
//! - [`throttle`]: failed and successful logins, for login throttling;
//! - [`locks`]: WebDAV locks, lock guards and lock conflicts;
//! - [`outbox`]: jobs written with object writes, claimed with a lease;
//! - [`tokens`]: reply tokens of email invitations;
//! - [`visio`]: visio rooms and policies;
//! - [`account`]: the account page's sessions, app passwords, OpenID
//!   Connect logins under way and administrators' counts.
//!
//! Inside a concern module, `Backend` is the store type, `Conn` its database
//! connection and `Db` its sqlx database; helpers shared between concerns are
//! `pub(super)` and imported by name where used.
//!
//! # Concurrency
//!
//! Every write transaction that changes a collection's members first bumps
//! that collection's `sync_revision` (`changes::bump`, an `UPDATE … RETURNING`)
//! before reading or checking anything. In PostgreSQL this row-locks the
//! collection until commit; SQLite serializes all writers (one writer
//! connection, `BEGIN IMMEDIATE`). Either way, conditions (`If-Match`, quota,
//! existence) are checked and revisions assigned by one writer at a time, and
//! revisions commit in order, so a sync client never misses a change. Writes
//! touching two collections bump both in id order; MOVE and DELETE of a
//! collection, which touch the rows of a whole subtree, run exclusively
//! (`begin_exclusive_write()`), so writers cannot deadlock.
//!
//! A batch (`objects::apply_batch`) bumps every collection it writes into,
//! in ascending id order, before anything else (`changes::bump_many`: one
//! `SELECT … ORDER BY id` taking the row locks in that order, then one
//! `UPDATE`); then row-locks, in ascending id order, the owners whose
//! quota it checks (`collections::lock_owners`) (a single write
//! locks its one owner in `collections::check_quota`, after its
//! collections), then deletes the outbox jobs it completes, in ascending id
//! order (claims lock outbox rows only). Every transaction thus takes its
//! row locks in one global order — collections, then principals, then
//! outbox rows, each by id — so none waits for another in a cycle.
//!
//! Locks are enforced inside the same transactions: each write on behalf of a
//! WebDAV request starts with `begin_guarded_write()` and checks its
//! [`LockGuard`](super::LockGuard) right after the bump (`locks::check_guard`);
//! `create_lock` starts with `begin_exclusive_write()` and checks conflicts before
//! inserting. The two kinds of transaction exclude each other (PostgreSQL: a
//! transaction-scoped advisory lock, shared by guarded writes and exclusive
//! for lock creation; SQLite: the single writer), so a write that did not see
//! a lock can never commit after that lock was granted, and two conflicting
//! locks can never both be granted. Guarded writes stay parallel with each
//! other.

pub(crate) mod account;
pub(crate) mod changes;
pub(crate) mod coalesce;
pub(crate) mod collections;
pub(crate) mod directory;
pub(crate) mod directory_index;
pub(crate) mod import;
pub(crate) mod kept;
pub(crate) mod listing;
pub(crate) mod locks;
pub(crate) mod objects;
pub(crate) mod outbox;
pub(crate) mod properties;
pub(crate) mod rows;
pub(crate) mod throttle;
pub(crate) mod tokens;
pub(crate) mod transfer;
pub(crate) mod visio;

/// A per-process counter of changes to the directory (principals,
/// académies, emails) made through this store, bumped after each such write
/// commits. Caches of principals (`auth`) compare it with the value they
/// read before reading a principal, so a change made by this process is
/// seen by its next request. Changes made by other processes are not
/// counted: such caches bound their age instead (see `docs/decisions.md`).
#[derive(Default)]
pub struct DirectoryGeneration(std::sync::atomic::AtomicU64);

impl DirectoryGeneration {
    pub fn get(&self) -> u64 {
        self.0.load(std::sync::atomic::Ordering::Acquire)
    }

    pub fn bump(&self) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
    }
}

/// Tasks waiting for a database connection (for [`PoolStats::waiting`](super::PoolStats)).
#[derive(Default)]
pub struct Waiters(std::sync::atomic::AtomicU32);

impl Waiters {
    /// Run `f` (which waits for a connection), counted while it runs.
    pub async fn wait<T>(&self, f: impl std::future::Future<Output = T>) -> T {
        struct Counted<'a>(&'a std::sync::atomic::AtomicU32);
        impl Drop for Counted<'_> {
            fn drop(&mut self) {
                self.0.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
            }
        }
        self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let _counted = Counted(&self.0);
        f.await
    }

    pub fn get(&self) -> u32 {
        self.0.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// The [`Store`](super::Store) implementation, with each of its sub-traits',
/// for `$store`, whose sqlx database is `$db`. `$store` must provide `reader()`, `writer()`, `connection_stats()`, `migrator()`, `backup_into()`,
/// `begin_write()`, `begin_guarded_write()`, `begin_exclusive_write()` and
/// `run_migrations()`.
macro_rules! sql_store {
    ($store:ty, $db:ty) => {
        mod sql_impl {
            use super::*;
            use $crate::store::sql::rows::*;
            use $crate::store::*;

            /// The store type this module implements [`Store`] for.
            type Backend = $store;
            /// Its sqlx database.
            type Db = $db;
            /// A connection to that database (also what a transaction derefs to).
            type Conn = <$db as sqlx::Database>::Connection;

            mod account {
                $crate::store::sql::account::body!();
            }
            mod changes {
                $crate::store::sql::changes::body!();
            }
            mod collections {
                $crate::store::sql::collections::body!();
            }
            mod directory {
                $crate::store::sql::directory::body!();
            }
            mod directory_index {
                $crate::store::sql::directory_index::body!();
            }
            mod import {
                $crate::store::sql::import::body!();
            }
            mod locks {
                $crate::store::sql::locks::body!();
            }
            mod objects {
                $crate::store::sql::objects::body!();
            }
            mod outbox {
                $crate::store::sql::outbox::body!();
            }
            mod properties {
                $crate::store::sql::properties::body!();
            }
            mod tokens {
                $crate::store::sql::tokens::body!();
            }
            mod throttle {
                $crate::store::sql::throttle::body!();
            }
            mod transfer {
                $crate::store::sql::transfer::body!();
            }
            mod visio {
                $crate::store::sql::visio::body!();
            }

            #[async_trait::async_trait]
            impl Store for $store {
                async fn migrate(&self) -> StoreResult<()> {
                    self.run_migrations().await?;
                    directory_index::backfill(self).await
                }

                async fn migration_state(&self) -> StoreResult<MigrationState> {
                    let known = Self::migrator().iter().map(|m| (m.version, m.description.to_string())).collect();
                    let applied: Vec<(i64,)> =
                        match sqlx::query_as("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version").fetch_all(self.reader()).await {
                            Ok(rows) => rows,
                            // No migration table: a new database.
                            Err(sqlx::Error::Database(_)) => Vec::new(),
                            Err(e) => return Err(e.into()),
                        };
                    Ok(MigrationState { known, applied: applied.into_iter().map(|(v,)| v).collect() })
                }

                async fn backup_to(&self, path: &std::path::Path) -> StoreResult<()> {
                    self.backup_into(path).await
                }

                fn pool_stats(&self) -> PoolStats {
                    self.connection_stats()
                }

                async fn ping(&self) -> StoreResult<()> {
                    // On a kept read connection, as the hot reads: a health
                    // probe does not queue behind the pool.
                    let mut conn = self.read_conn().await?;
                    let done = sqlx::query("SELECT 1").execute(&mut *conn).await;
                    conn.done(done)?;
                    Ok(())
                }
            }

            #[async_trait::async_trait]
            impl PrincipalStore for $store {
                fn directory_generation(&self) -> u64 {
                    self.directory_counter().get()
                }

                // -- académies and regions
                async fn create_academie(&self, slug: &str, name: &str, region: Option<&str>) -> StoreResult<Academie> {
                    let done = directory::create_academie(self, slug, name, region).await;
                    self.directory_counter().bump();
                    done
                }
                async fn academie(&self, slug: &str) -> StoreResult<Option<Academie>> {
                    directory::academie(self, slug).await
                }
                async fn list_academies(&self) -> StoreResult<Vec<Academie>> {
                    directory::list_academies(self).await
                }
                async fn list_regions(&self) -> StoreResult<Vec<Region>> {
                    directory::list_regions(self).await
                }

                // -- principals
                async fn create_principal(&self, new: NewPrincipal) -> StoreResult<Principal> {
                    let done = directory::create_principal(self, new).await;
                    self.directory_counter().bump();
                    done
                }
                async fn principal_by_username(&self, username: &str) -> StoreResult<Option<Principal>> {
                    directory::principal_by_username(self, username).await
                }
                async fn principal_by_email(&self, address: &str) -> StoreResult<Option<Principal>> {
                    directory::principal_by_email(self, address).await
                }
                async fn principal(&self, id: PrincipalId) -> StoreResult<Option<Principal>> {
                    directory::principal(self, id).await
                }
                async fn principals(&self, ids: &[PrincipalId]) -> StoreResult<Vec<Principal>> {
                    directory::principals(self, ids).await
                }
                async fn principals_by_emails(&self, addresses: &[&str]) -> StoreResult<Vec<(String, Principal)>> {
                    directory::principals_by_emails(self, addresses).await
                }
                async fn search_principals(&self, search: &PrincipalSearch) -> StoreResult<PrincipalAnswer> {
                    directory::search_principals(self, search).await
                }
                async fn list_principals(&self) -> StoreResult<Vec<Principal>> {
                    directory::list_principals(self).await
                }
                async fn count_principals(&self) -> StoreResult<i64> {
                    directory::count_principals(self).await
                }
                async fn set_password_hash(&self, id: PrincipalId, hash: &str) -> StoreResult<()> {
                    let done = directory::set_password_hash(self, id, hash).await;
                    self.directory_counter().bump();
                    done
                }
                async fn set_disabled(&self, id: PrincipalId, disabled: bool) -> StoreResult<()> {
                    let done = directory::set_disabled(self, id, disabled).await;
                    self.directory_counter().bump();
                    done
                }
                async fn delete_principal(&self, id: PrincipalId) -> StoreResult<()> {
                    let done = directory::delete_principal(self, id).await;
                    self.directory_counter().bump();
                    done
                }
                async fn principal_emails(&self, id: PrincipalId) -> StoreResult<Vec<PrincipalEmail>> {
                    directory::principal_emails(self, id).await
                }
                async fn add_principal_email(&self, id: PrincipalId, address: &str, primary: bool) -> StoreResult<()> {
                    let done = directory::add_principal_email(self, id, address, primary).await;
                    self.directory_counter().bump();
                    done
                }
            }

            #[async_trait::async_trait]
            impl DirectoryStore for $store {
                // -- national directory
                async fn directory_search(
                    &self,
                    search: &DirectorySearch,
                    accept: &EntryCheck<'_>,
                ) -> StoreResult<DirectoryAnswer> {
                    directory_index::directory_search(self, search, accept).await
                }
                async fn directory_entry(&self, username: &str) -> StoreResult<Option<DirectoryEntry>> {
                    directory_index::directory_entry(self, username).await
                }
                async fn import_accounts(&self, batch: &[AccountRecord]) -> StoreResult<Vec<ImportOutcome>> {
                    let done = import::import_accounts(self, batch).await;
                    self.directory_counter().bump();
                    done
                }
            }

            #[async_trait::async_trait]
            impl CollectionStore for $store {
                // -- collections
                async fn collection_by_path(&self, path: &str) -> StoreResult<Option<Collection>> {
                    collections::collection_by_path(self, path).await
                }
                async fn collection(&self, id: CollectionId) -> StoreResult<Option<Collection>> {
                    collections::collection(self, id).await
                }
                async fn create_collection(&self, new: NewCollection) -> StoreResult<Collection> {
                    collections::create_collection(self, new).await
                }
                async fn child_collections(&self, parent: CollectionId) -> StoreResult<Vec<Collection>> {
                    collections::child_collections(self, parent).await
                }
                async fn child_collections_at(&self, paths: &[&str]) -> StoreResult<Vec<Collection>> {
                    collections::child_collections_at(self, paths).await
                }
                async fn delete_collection(&self, collection: &Resolved, guard: &LockGuard, enqueue: Vec<NewJob>) -> StoreResult<Vec<JobId>> {
                    collections::delete_collection(self, collection, guard, &enqueue).await
                }
                async fn quota_used(&self, owner: PrincipalId) -> StoreResult<i64> {
                    collections::quota_used(self, owner).await
                }
                async fn recount_quota_usage(&self) -> StoreResult<u64> {
                    collections::recount_quota_usage(self).await
                }

                // -- COPY / MOVE of collections
                async fn copy_collection(
                    &self,
                    collection: &Resolved,
                    to: Destination,
                    recursive: bool,
                    guard: &LockGuard,
                ) -> StoreResult<TransferOutcome> {
                    transfer::copy_collection(self, collection, to, recursive, guard).await
                }
                async fn move_collection(&self, collection: &Resolved, to: Destination, guard: &LockGuard) -> StoreResult<TransferOutcome> {
                    transfer::move_collection(self, collection, to, guard).await
                }
            }

            #[async_trait::async_trait]
            impl ObjectStore for $store {
                // -- objects
                async fn object(&self, collection: CollectionId, name: &str) -> StoreResult<Option<ObjectMeta>> {
                    objects::object(self, collection, name).await
                }
                async fn objects(&self, collection: CollectionId) -> StoreResult<Vec<ObjectMeta>> {
                    objects::objects(self, collection).await
                }
                async fn object_at(&self, parent_path: &str, name: &str) -> StoreResult<Option<(Collection, ObjectMeta)>> {
                    Ok(objects::object_at(self, parent_path, name, false).await?.map(|(c, m, _)| (c, m)))
                }
                async fn object_at_with_content(
                    &self,
                    parent_path: &str,
                    name: &str,
                ) -> StoreResult<Option<(Collection, ObjectMeta, bytes::Bytes)>> {
                    Ok(objects::object_at(self, parent_path, name, true)
                        .await?
                        .map(|(c, m, b)| (c, m, b.unwrap_or_default())))
                }
                async fn query_objects(&self, collection: CollectionId, query: &ObjectQuery) -> StoreResult<Vec<IndexedObject>> {
                    objects::query_objects(self, collection, query).await
                }
                async fn search_texts(&self, collection: CollectionId, revision: Option<i64>) -> StoreResult<std::sync::Arc<Vec<(String, String)>>> {
                    objects::search_texts(self, collection, revision).await
                }
                async fn objects_by_name(
                    &self,
                    collection: CollectionId,
                    revision: Option<i64>,
                    names: &[String],
                    with_content: bool,
                ) -> StoreResult<Vec<(ObjectMeta, Option<bytes::Bytes>)>> {
                    objects::objects_by_name(self, collection, revision, names, with_content).await
                }
                async fn object_with_content(&self, id: ObjectId) -> StoreResult<Option<(ObjectMeta, bytes::Bytes)>> {
                    objects::object_with_content(self, id).await
                }
                async fn put_object(&self, put: PutObject) -> StoreResult<PutOutcome> {
                    objects::put_object(self, put).await
                }
                async fn delete_object(
                    &self,
                    collection: &Resolved,
                    name: &str,
                    if_match: Option<&str>,
                    guard: &LockGuard,
                    enqueue: Vec<NewJob>,
                ) -> StoreResult<Vec<JobId>> {
                    objects::delete_object(self, collection, name, if_match, guard, &enqueue).await
                }
                async fn apply_batch(&self, batch: WriteBatch) -> StoreResult<BatchResult> {
                    objects::apply_batch(self, batch).await
                }
                async fn calendar_objects_by_uid(&self, owner: PrincipalId, uid: &str) -> StoreResult<Vec<(Collection, ObjectMeta)>> {
                    objects::calendar_objects_by_uid(self, &[owner], uid).await
                }
                async fn calendar_objects_by_uid_of(&self, owners: &[PrincipalId], uid: &str) -> StoreResult<Vec<(Collection, ObjectMeta)>> {
                    objects::calendar_objects_by_uid(self, owners, uid).await
                }
                async fn objects_at(&self, members: &[(CollectionId, &str)]) -> StoreResult<Vec<ObjectMeta>> {
                    objects::objects_at(self, members).await
                }

                // -- COPY / MOVE
                async fn copy_object(&self, object: &Resolved, to: Destination, guard: &LockGuard) -> StoreResult<TransferOutcome> {
                    transfer::copy_object(self, object, to, guard).await
                }
                async fn move_object(&self, object: &Resolved, to: Destination, guard: &LockGuard) -> StoreResult<TransferOutcome> {
                    transfer::move_object(self, object, to, guard).await
                }
            }

            #[async_trait::async_trait]
            impl PropertyStore for $store {
                // -- dead properties
                async fn dead_properties(&self, target: PropertyTarget) -> StoreResult<Vec<DeadProperty>> {
                    properties::dead_properties(self, target).await
                }
                async fn collections_property(&self, ids: &[CollectionId], namespace: &str, name: &str) -> StoreResult<Vec<(CollectionId, String)>> {
                    properties::collections_property(self, ids, namespace, name).await
                }
                async fn update_dead_properties(
                    &self,
                    target: PropertyTarget,
                    path: &str,
                    updates: &[PropertyUpdate],
                    guard: &LockGuard,
                    quota_limit: Option<i64>,
                ) -> StoreResult<()> {
                    properties::update_dead_properties(self, target, path, updates, guard, quota_limit).await
                }
            }

            #[async_trait::async_trait]
            impl ChangeStore for $store {
                // -- change log
                async fn changes_since(&self, collection: CollectionId, since: i64) -> StoreResult<Vec<Change>> {
                    changes::changes_since(self, collection, since).await
                }
            }

            #[async_trait::async_trait]
            impl LockStore for $store {
                // -- locks
                async fn create_lock(&self, lock: Lock, lock_null: Option<LockNull>, limits: &LockLimits) -> StoreResult<()> {
                    locks::create_lock(self, lock, lock_null, limits).await
                }
                async fn lock(&self, token: &str) -> StoreResult<Option<Lock>> {
                    locks::lock(self, token).await
                }
                async fn locks_covering(&self, path: &str) -> StoreResult<Vec<Lock>> {
                    locks::locks_covering(self, path).await
                }
                async fn locks_below(&self, prefix: &str) -> StoreResult<Vec<Lock>> {
                    locks::locks_below(self, prefix).await
                }
                async fn refresh_lock(&self, token: &str, timeout_secs: Option<i64>, expires_at: Option<Millis>) -> StoreResult<Lock> {
                    locks::refresh_lock(self, token, timeout_secs, expires_at).await
                }
                async fn remove_lock(&self, token: &str) -> StoreResult<()> {
                    locks::remove_lock(self, token).await
                }
            }

            #[async_trait::async_trait]
            impl ThrottleStore for $store {
                // -- login throttling
                async fn login_history(&self, account: &str, address: &str, since: Millis, limit: u32) -> StoreResult<LoginHistory> {
                    throttle::login_history(self, account, address, since, limit).await
                }
                async fn record_login_failure(&self, account: &str, address: &str, at: Millis) -> StoreResult<()> {
                    throttle::record_login_failure(self, account, address, at).await
                }
                async fn record_login_success(&self, account: &str, address: &str, at: Millis) -> StoreResult<()> {
                    throttle::record_login_success(self, account, address, at).await
                }
                async fn forget_logins(&self, failures_before: Millis, successes_before: Millis) -> StoreResult<u64> {
                    throttle::forget_logins(self, failures_before, successes_before).await
                }
            }

            #[async_trait::async_trait]
            impl ReplyTokenStore for $store {
                async fn reply_token_for(&self, owner: PrincipalId, uid: &str, attendee: &str, fresh: [u8; 16], expires_at: Millis) -> StoreResult<[u8; 16]> {
                    tokens::reply_token_for(self, owner, uid, attendee, fresh, expires_at).await
                }
                async fn reply_token(&self, token: [u8; 16], now: Millis) -> StoreResult<Option<ReplyTokenRecord>> {
                    tokens::reply_token(self, token, now).await
                }
                async fn drop_reply_tokens(&self, owner: PrincipalId, uid: &str, now: Millis) -> StoreResult<()> {
                    tokens::drop_reply_tokens(self, owner, uid, now).await
                }
            }

            #[async_trait::async_trait]
            impl VisioStore for $store {
                async fn room_for_event(&self, fresh: NewRoom, details: &RoomDetails) -> StoreResult<Room> {
                    visio::room_for_event(self, fresh, details).await
                }
                async fn room_of_event(&self, owner: PrincipalId, uid: &str) -> StoreResult<Option<Room>> {
                    visio::room_of_event(self, owner, uid).await
                }
                async fn room_by_token(&self, token: [u8; 16]) -> StoreResult<Option<(Room, RoomRole)>> {
                    visio::room_by_token(self, token).await
                }
                async fn close_room(&self, owner: PrincipalId, uid: &str) -> StoreResult<Option<Room>> {
                    visio::close_room(self, owner, uid).await
                }
                async fn assign_voice_bridge(&self, room: i64, candidates: &[u32], ended_before: Millis) -> StoreResult<Option<u32>> {
                    visio::assign_voice_bridge(self, room, candidates, ended_before).await
                }
                async fn set_visio_policy(&self, scope: &PolicyScope, policy: Option<VisioPolicy>) -> StoreResult<()> {
                    visio::set_visio_policy(self, scope, policy).await
                }
                async fn visio_policies(&self, account: PrincipalId) -> StoreResult<VisioPolicies> {
                    visio::visio_policies(self, account).await
                }
                async fn academie_visio_policies(&self) -> StoreResult<Vec<(String, VisioPolicy)>> {
                    visio::academie_visio_policies(self).await
                }
            }

            #[async_trait::async_trait]
            impl AccountStore for $store {
                async fn create_session(&self, session: NewSession) -> StoreResult<()> {
                    account::create_session(self, session).await
                }
                async fn session(&self, token_hash: [u8; 32], now: Millis, idle_since: Millis) -> StoreResult<Option<WebSession>> {
                    account::session(self, token_hash, now, idle_since).await
                }
                async fn touch_session(&self, token_hash: [u8; 32], now: Millis) -> StoreResult<()> {
                    account::touch_session(self, token_hash, now).await
                }
                async fn delete_session(&self, token_hash: [u8; 32]) -> StoreResult<()> {
                    account::delete_session(self, token_hash).await
                }
                async fn delete_sessions_of(&self, principal: PrincipalId, keep: Option<[u8; 32]>) -> StoreResult<u64> {
                    account::delete_sessions_of(self, principal, keep).await
                }
                async fn forget_sessions(&self, now: Millis, idle_since: Millis) -> StoreResult<u64> {
                    account::forget_sessions(self, now, idle_since).await
                }
                async fn create_app_password(&self, principal: PrincipalId, name: &str, hash: &str, at: Millis) -> StoreResult<AppPassword> {
                    account::create_app_password(self, principal, name, hash, at).await
                }
                async fn app_password(&self, id: i64) -> StoreResult<Option<AppPassword>> {
                    account::app_password(self, id).await
                }
                async fn app_passwords(&self, principal: PrincipalId) -> StoreResult<Vec<AppPassword>> {
                    account::app_passwords(self, principal).await
                }
                async fn delete_app_password(&self, principal: PrincipalId, id: i64) -> StoreResult<bool> {
                    account::delete_app_password(self, principal, id).await
                }
                async fn delete_app_passwords_of(&self, principal: PrincipalId) -> StoreResult<u64> {
                    account::delete_app_passwords_of(self, principal).await
                }
                async fn touch_app_password(&self, id: i64, at: Millis) -> StoreResult<()> {
                    account::touch_app_password(self, id, at).await
                }
                async fn put_oidc_login(&self, login: OidcLogin) -> StoreResult<()> {
                    account::put_oidc_login(self, login).await
                }
                async fn take_oidc_login(&self, state_hash: [u8; 32], now: Millis) -> StoreResult<Option<OidcLogin>> {
                    account::take_oidc_login(self, state_hash, now).await
                }
                async fn account_counts(&self) -> StoreResult<AccountCounts> {
                    account::account_counts(self).await
                }
            }

            #[async_trait::async_trait]
            impl OutboxStore for $store {
                async fn claim_jobs(&self, topic: &str, now: Millis, limit: u32, lease: std::time::Duration) -> StoreResult<Vec<Job>> {
                    outbox::claim_jobs(self, topic, now, limit, lease).await
                }
                async fn claim_job_ids(&self, ids: &[JobId], now: Millis, lease: std::time::Duration) -> StoreResult<Vec<Job>> {
                    outbox::claim_job_ids(self, ids, now, lease).await
                }
                async fn complete_job(&self, id: JobId) -> StoreResult<()> {
                    outbox::complete_job(self, id).await
                }
                async fn retry_job(&self, id: JobId, not_before: Millis, error: &str) -> StoreResult<()> {
                    outbox::retry_job(self, id, not_before, error).await
                }
                async fn jobs_pending(&self, topic: &str) -> StoreResult<i64> {
                    outbox::jobs_pending(self, topic).await
                }
            }
        }
    };
}
pub(crate) use sql_store;
