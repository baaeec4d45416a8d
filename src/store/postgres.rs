//! The PostgreSQL store (production; several server processes may share one
//! database).
//!
//! This module only holds PostgreSQL's connection handling; the
//! [`Store`](super::Store) implementation is the portable one of
//! `store::sql` (src/store/sql/), shared with SQLite. Writers are
//! serialized per collection by the row lock taken when a transaction bumps the
//! collection's `sync_revision` (`UPDATE … RETURNING`) before checking
//! anything, so revisions commit in order and a sync client never misses a
//! change; conditional writes (`If-Match`) are checked under that lock.
//!
//! Lock creation is serialised against lock-guarded writes with one
//! transaction-scoped advisory lock, [`LOCKS_ADVISORY_KEY`]: every guarded
//! write holds it shared (so writes stay parallel with each other) and
//! `create_lock` holds it exclusively. A lock is therefore granted only once
//! the writes in flight have committed, and a write that starts afterwards
//! waits for the grant to commit, then sees the new lock when it checks its
//! guard (READ COMMITTED: each statement sees what committed before it).

use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::PgPoolOptions;
use sqlx::{PgPool, Postgres, Transaction};

use super::sql::coalesce::Coalescer;
use super::sql::kept::KeptConnections;
use super::sql::rows::{CollectionRow, PrefixedObjectRow, COLLECTION_AND_OBJECT_COLUMNS};
use super::{Collection, ObjectMeta, StoreResult};

/// Key of the advisory lock serialising lock creation against guarded writes
/// (any constant unique to this use; "ALMLOCKS" in ASCII).
const LOCKS_ADVISORY_KEY: i64 = 0x414C_4D4C_4F43_4B53;

/// Connections per server process.
const POOL_SIZE: u32 = 24;

/// Of which at most this many are kept out of the pool for the hot reads
/// (see `sql::kept`); the others serve every other read and the writes.
/// Kept connections are not available to the pool: with 12 of 16 kept, 32
/// clients starting an initial sync at once waited more than 5 s for the
/// 4 left and got 503s (benchmark run 9); 16 stay in the pool now.
const READ_KEPT: usize = 8;

/// How long a request waits for a connection before 503: long enough to
/// ride out a burst (every phone syncing at 8:00), short of the request
/// timeout.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);

/// Keys per batch of the coalesced hot reads (see `sql::coalesce`).
const COALESCE_BATCH: usize = 64;

/// Batches of a coalesced read running at once: half the host's cores (at
/// least one), the other half serving HTTP and PostgreSQL. On the 2-core
/// benchmark machine one lane more than doubled GET and polling at 32
/// connections (14,100 -> 30,500 and 14,300 -> 31,100 req/s) where four
/// lanes left batches too small to gain anything (docs/decisions.md). Each
/// lane holds one kept connection while it runs.
fn coalesce_lanes() -> usize {
    std::thread::available_parallelism().map_or(1, |n| (n.get() / 2).max(1))
}

/// A GET's read: the object `name` of the collection at `path`, with its
/// bytes when `with_content`.
type ObjectKey = (String, String, bool);
type ObjectAt = Option<(Collection, ObjectMeta, Option<bytes::Bytes>)>;

pub struct PgStore {
    pool: PgPool,
    listings: super::sql::listing::ListingCache,
    directory: super::sql::DirectoryGeneration,
    kept: Arc<KeptConnections<Postgres>>,
    objects_at: Arc<Coalescer<ObjectKey, ObjectAt>>,
    collections_at: Arc<Coalescer<String, Option<Collection>>>,
    waiters: super::sql::Waiters,
}

impl PgStore {
    fn directory_counter(&self) -> &super::sql::DirectoryGeneration {
        &self.directory
    }

    fn listing_cache(&self) -> &super::sql::listing::ListingCache {
        &self.listings
    }

    pub async fn connect(url: &str) -> StoreResult<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(POOL_SIZE)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            // sqlx pings a connection when it goes back to the pool (it is
            // dropped if that fails); pinging it again when taken out would
            // add a round trip to every query. A connection that dies while
            // idle (database restarted) fails the one statement that gets it,
            // then is discarded.
            .test_before_acquire(false)
            .connect(url)
            .await?;
        Ok(PgStore {
            pool,
            listings: Default::default(),
            directory: Default::default(),
            kept: Arc::new(KeptConnections::new(READ_KEPT)),
            objects_at: Arc::new(Coalescer::new(coalesce_lanes(), COALESCE_BATCH)),
            collections_at: Arc::new(Coalescer::new(coalesce_lanes(), COALESCE_BATCH)),
            waiters: Default::default(),
        })
    }

    /// [`Store::object_at`](super::ObjectStore::object_at) and its GET variant,
    /// batched with the concurrent ones: one statement answers every key
    /// of a batch, each key looked up on the indexes by its own lateral
    /// subquery (`LIMIT 1` keeps the planner from flattening it into a join
    /// over the whole batch).
    async fn coalesced_object_at(&self, parent_path: &str, name: &str, with_content: bool) -> Option<StoreResult<ObjectAt>> {
        let (pool, kept) = (self.pool.clone(), self.kept.clone());
        let key = (parent_path.to_string(), name.to_string(), with_content);
        let read = self.objects_at.read(key, move |keys: Vec<ObjectKey>| {
            let (pool, kept) = (pool.clone(), kept.clone());
            async move {
                #[derive(sqlx::FromRow)]
                struct Row {
                    i: i64,
                    #[sqlx(flatten)]
                    collection: CollectionRow,
                    #[sqlx(flatten)]
                    object: PrefixedObjectRow,
                    content: Option<Vec<u8>>,
                }
                let mut conn = kept.get(&pool).await?;
                let rows: Result<Vec<Row>, _> = if let [(path, name, with_content)] = keys.as_slice() {
                    // One key: the plain statement (PostgreSQL plans it once;
                    // the batch statement is planned at each execution).
                    let content = if *with_content { "o.content" } else { "NULL" };
                    let sql = format!(
                        "SELECT 1::int8 AS i, {COLLECTION_AND_OBJECT_COLUMNS}, {content} AS content \
                         FROM collections c JOIN objects o ON o.collection_id = c.id WHERE c.path = $1 AND o.name = $2"
                    );
                    sqlx::query_as(&sql).bind(path).bind(name).fetch_all(&mut *conn).await
                } else {
                    let sql = format!(
                        "SELECT k.i, x.* FROM unnest($1::text[], $2::text[], $3::bool[]) WITH ORDINALITY AS k(path, name, wc, i) \
                         CROSS JOIN LATERAL (SELECT {COLLECTION_AND_OBJECT_COLUMNS}, \
                         CASE WHEN k.wc THEN o.content END AS content \
                         FROM collections c JOIN objects o ON o.collection_id = c.id \
                         WHERE c.path = k.path AND o.name = k.name LIMIT 1) x"
                    );
                    let paths: Vec<&str> = keys.iter().map(|k| k.0.as_str()).collect();
                    let names: Vec<&str> = keys.iter().map(|k| k.1.as_str()).collect();
                    let contents: Vec<bool> = keys.iter().map(|k| k.2).collect();
                    sqlx::query_as(&sql).bind(&paths).bind(&names).bind(&contents).fetch_all(&mut *conn).await
                };
                let rows = conn.done(rows)?;
                let mut found: Vec<ObjectAt> = (0..keys.len()).map(|_| None).collect();
                for r in rows {
                    let slot = usize::try_from(r.i - 1).ok().and_then(|i| found.get_mut(i));
                    if let Some(slot) = slot {
                        *slot = Some((r.collection.into_collection()?, r.object.into(), r.content.map(bytes::Bytes::from)));
                    }
                }
                Ok(found)
            }
        });
        Some(read.await)
    }

    /// [`Store::collection_by_path`](super::CollectionStore::collection_by_path)
    /// (every request on a collection: a poll), batched like
    /// [`Self::coalesced_object_at`].
    async fn coalesced_collection_by_path(&self, path: &str) -> Option<StoreResult<Option<Collection>>> {
        let (pool, kept) = (self.pool.clone(), self.kept.clone());
        let read = self.collections_at.read(path.to_string(), move |paths: Vec<String>| {
            let (pool, kept) = (pool.clone(), kept.clone());
            async move {
                #[derive(sqlx::FromRow)]
                struct Row {
                    i: i64,
                    #[sqlx(flatten)]
                    collection: CollectionRow,
                }
                let mut conn = kept.get(&pool).await?;
                let rows: Result<Vec<Row>, _> = if let [path] = paths.as_slice() {
                    // One key: the plain statement (see above).
                    let sql = concat!("SELECT 1::int8 AS i, ", super::sql::rows::collection_cols!(), " FROM collections WHERE path = $1");
                    sqlx::query_as(sql).bind(path).fetch_all(&mut *conn).await
                } else {
                    let sql = concat!(
                        "SELECT k.i, x.* FROM unnest($1::text[]) WITH ORDINALITY AS k(path, i) ",
                        "CROSS JOIN LATERAL (SELECT ",
                        super::sql::rows::collection_cols!(),
                        " FROM collections WHERE path = k.path LIMIT 1) x"
                    );
                    sqlx::query_as(sql).bind(&paths).fetch_all(&mut *conn).await
                };
                let rows = conn.done(rows)?;
                let mut found: Vec<Option<Collection>> = (0..paths.len()).map(|_| None).collect();
                for r in rows {
                    let slot = usize::try_from(r.i - 1).ok().and_then(|i| found.get_mut(i));
                    if let Some(slot) = slot {
                        *slot = Some(r.collection.into_collection()?);
                    }
                }
                Ok(found)
            }
        });
        Some(read.await)
    }

    /// A connection for one hot read (see `sql::kept`).
    async fn read_conn(&self) -> StoreResult<super::sql::kept::Kept<'_, Postgres>> {
        Ok(self.waiters.wait(self.kept.get(&self.pool)).await?)
    }

    /// The pool's connections; those kept for the hot reads and not in
    /// use count as idle.
    fn connection_stats(&self) -> super::PoolStats {
        let (size, idle, kept) = (self.pool.size(), self.pool.num_idle() as u32, self.kept.idle() as u32);
        super::PoolStats { max: POOL_SIZE, in_use: size.saturating_sub(idle + kept), idle: idle + kept, waiting: self.waiters.get() }
    }

    fn reader(&self) -> &PgPool {
        &self.pool
    }

    fn writer(&self) -> &PgPool {
        &self.pool
    }

    /// PostgreSQL's backups are `pg_dump`'s, from any host that reaches the
    /// server (docs/operations.md).
    async fn backup_into(&self, _path: &std::path::Path) -> StoreResult<()> {
        Err(super::StoreError::Invalid(
            "a PostgreSQL database is backed up with pg_dump -Fc (see docs/operations.md, \"Backup and restore\")".into(),
        ))
    }

    /// This build's migrations.
    fn migrator() -> &'static sqlx::migrate::Migrator {
        static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");
        &MIGRATOR
    }

    async fn begin_write(&self) -> StoreResult<Transaction<'static, Postgres>> {
        Ok(self.waiters.wait(self.pool.begin()).await?)
    }

    /// A write transaction whose lock guard is checked inside it: holds the
    /// locks advisory lock shared until commit, so no lock is granted
    /// meanwhile.
    async fn begin_guarded_write(&self) -> StoreResult<Transaction<'static, Postgres>> {
        let mut tx = self.waiters.wait(self.pool.begin()).await?;
        sqlx::query("SELECT pg_advisory_xact_lock_shared($1)").bind(LOCKS_ADVISORY_KEY).execute(&mut *tx).await?;
        Ok(tx)
    }

    /// A write that must not overlap any guarded write: lock creation (so no
    /// write commits unchecked after a grant), and subtree moves and deletes
    /// (they touch the rows of many collections; running alone they cannot
    /// deadlock with writers locking those rows in another order). Holds the
    /// advisory lock exclusively until commit.
    async fn begin_exclusive_write(&self) -> StoreResult<Transaction<'static, Postgres>> {
        let mut tx = self.waiters.wait(self.pool.begin()).await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(LOCKS_ADVISORY_KEY).execute(&mut *tx).await?;
        Ok(tx)
    }

    /// Directory search (`sql/directory_index.rs`): the `LIKE` pattern of a
    /// contains (or, with `suffix`, ends-with) needle.
    fn term_pattern(suffix: bool, needle: &str) -> String {
        let mut p = String::from("%");
        for c in needle.chars() {
            if matches!(c, '%' | '_' | '\\') {
                p.push('\\');
            }
            p.push(c);
        }
        if !suffix {
            p.push('%');
        }
        p
    }

    /// Rows of `alias` whose term matches the pattern `$n` (exact).
    fn term_pattern_exact(alias: &str, n: usize) -> String {
        format!("{alias}.term LIKE ${n} ESCAPE '\\'")
    }

    /// Outbox claims (`sql/outbox.rs`): the `SELECT` of the jobs to claim
    /// locks them, skipping those another claim holds, so concurrent claims
    /// (other processes) take other jobs instead of waiting for these.
    fn claim_locking() -> &'static str {
        " FOR UPDATE SKIP LOCKED"
    }

    /// Row locks taken before a batch changes several rows
    /// (`changes::bump_many`, `collections::lock_owners`): a `SELECT … ORDER
    /// BY id` with this clause locks them in ascending id order (the
    /// locking is applied to the sorted rows), the lock an `UPDATE` of
    /// non-key columns takes, so it conflicts exactly as single bumps do.
    fn row_locking() -> Option<&'static str> {
        Some(" FOR NO KEY UPDATE")
    }

    async fn run_migrations(&self) -> StoreResult<()> {
        Self::migrator().run(&self.pool).await?;
        Ok(())
    }
}

super::sql::sql_store!(PgStore, sqlx::Postgres);
