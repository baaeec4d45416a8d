//! The embedded SQLite store.
//!
//! This module only holds SQLite's connection handling: `reader()`,
//! `writer()`, `begin_write()`, `begin_guarded_write()`, `begin_exclusive_write()`
//! and `run_migrations()`. The
//! [`Store`](super::Store) implementation is the portable one of `store::sql`
//! (src/store/sql/), written once and instantiated by the last line here for
//! [`SqliteStore`], and in `postgres.rs` for [`PgStore`](super::postgres::PgStore).
//!
//! SQLite specifics: WAL journal, 5 s busy timeout, foreign keys on. All
//! writes go through a single-connection pool and write transactions start with
//! `BEGIN IMMEDIATE`, so writers queue instead of failing with SQLITE_BUSY;
//! reads use a separate pool and see the last committed state (WAL).
//! Because writers are serialised, lock creation and lock-guarded writes need
//! nothing more to exclude each other.

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool, Transaction};

use super::{StoreError, StoreResult};

/// Read connections kept out of the pool for the hot reads (each has its
/// worker thread; the pool has two more).
const READ_KEPT: usize = 4;

pub struct SqliteStore {
    read: SqlitePool,
    write: SqlitePool,
    listings: super::sql::listing::ListingCache,
    directory: super::sql::DirectoryGeneration,
    kept: super::sql::kept::KeptConnections<Sqlite>,
    waiters: super::sql::Waiters,
}

impl SqliteStore {
    /// Open (creating when missing) the database named by `sqlite://PATH`.
    pub async fn open(url: &str) -> StoreResult<Self> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(Duration::from_secs(5))
            .foreign_keys(true)
            .synchronous(SqliteSynchronous::Normal)
            // Reads of object bytes (reports, multiget) should come from
            // memory: a 64 MiB page cache per connection and a memory map
            // of up to 1 GiB instead of a pread() per page.
            .pragma("cache_size", "-65536")
            .pragma("mmap_size", "1073741824");
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        if !in_memory {
            if let Some(dir) = options.get_filename().parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|e| {
                    StoreError::Invalid(format!("cannot create directory {}: {e}", dir.display()))
                })?;
            }
        }
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .test_before_acquire(false)
            .min_connections(if in_memory { 1 } else { 0 })
            .idle_timeout(if in_memory { None } else { Some(Duration::from_secs(600)) })
            .max_lifetime(if in_memory { None } else { Some(Duration::from_secs(1800)) })
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options.clone())
            .await?;
        // An in-memory database exists once per connection: share the writer.
        let read = if in_memory {
            write.clone()
        } else {
            SqlitePoolOptions::new()
                // Up to READ_KEPT of them kept out of the pool (see `sql::kept`).
                .max_connections(READ_KEPT as u32 + 2)
                // An in-process connection does not die while idle; a ping
                // when taken out of the pool would cost a round trip through
                // the connection's worker thread on every read.
                .test_before_acquire(false)
                .acquire_timeout(Duration::from_secs(30))
                .connect_with(options)
                .await?
        };
        // An in-memory database shares its one connection with the writer:
        // none may be kept.
        let kept = super::sql::kept::KeptConnections::new(if in_memory { 0 } else { READ_KEPT });
        Ok(SqliteStore { read, write, listings: Default::default(), directory: Default::default(), kept, waiters: Default::default() })
    }

    fn directory_counter(&self) -> &super::sql::DirectoryGeneration {
        &self.directory
    }

    fn listing_cache(&self) -> &super::sql::listing::ListingCache {
        &self.listings
    }

    /// SQLite runs in this process: a statement costs no round trip, so the
    /// hot reads are not batched (see `sql::coalesce`).
    async fn coalesced_object_at(
        &self,
        _parent_path: &str,
        _name: &str,
        _with_content: bool,
    ) -> Option<StoreResult<Option<(crate::store::Collection, crate::store::ObjectMeta, Option<bytes::Bytes>)>>> {
        None
    }

    async fn coalesced_collection_by_path(&self, _path: &str) -> Option<StoreResult<Option<crate::store::Collection>>> {
        None
    }

    /// A connection for one hot read (see `sql::kept`).
    async fn read_conn(&self) -> StoreResult<super::sql::kept::Kept<'_, Sqlite>> {
        Ok(self.waiters.wait(self.kept.get(&self.read)).await?)
    }

    /// The read and write pools' connections (one pool for an in-memory
    /// database).
    fn connection_stats(&self) -> super::PoolStats {
        let pools: &[&SqlitePool] = if self.read.options().get_max_connections() == 1 { &[&self.write] } else { &[&self.read, &self.write] };
        let (size, idle, max) = pools.iter().fold((0u32, 0u32, 0u32), |(s, i, m), p| {
            (s + p.size(), i + p.num_idle() as u32, m + p.options().get_max_connections())
        });
        let kept = self.kept.idle() as u32;
        super::PoolStats { max, in_use: size.saturating_sub(idle + kept), idle: idle + kept, waiting: self.waiters.get() }
    }

    fn reader(&self) -> &SqlitePool {
        &self.read
    }

    /// Pool for single-statement writes (serialized with the transactions).
    fn writer(&self) -> &SqlitePool {
        &self.write
    }

    /// `VACUUM INTO` the new file `path`: a read transaction on a reader
    /// connection (writers go on; WAL), which copies the database as of
    /// its start, compacted.
    async fn backup_into(&self, path: &std::path::Path) -> StoreResult<()> {
        if path.exists() {
            return Err(StoreError::Invalid(format!("{} exists: a backup is written to a new file", path.display())));
        }
        let target = path.to_str().ok_or_else(|| StoreError::Invalid(format!("{} is not UTF-8", path.display())))?;
        sqlx::query("VACUUM INTO $1").bind(target).execute(&self.read).await?;
        Ok(())
    }

    /// This build's migrations.
    fn migrator() -> &'static sqlx::migrate::Migrator {
        static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
        &MIGRATOR
    }

    async fn begin_write(&self) -> StoreResult<Transaction<'static, Sqlite>> {
        Ok(self.waiters.wait(self.write.begin_with("BEGIN IMMEDIATE")).await?)
    }

    /// A write transaction whose lock guard is checked inside it. SQLite has
    /// one writer at a time, so no lock can be granted while it runs.
    async fn begin_guarded_write(&self) -> StoreResult<Transaction<'static, Sqlite>> {
        self.begin_write().await
    }

    /// A write that must not overlap any guarded write (lock creation,
    /// subtree moves and deletes); SQLite serialises every writer anyway.
    async fn begin_exclusive_write(&self) -> StoreResult<Transaction<'static, Sqlite>> {
        self.begin_write().await
    }

    /// Directory search (`sql/directory_index.rs`): the `GLOB` pattern of a
    /// contains (or, with `suffix`, ends-with) needle; `GLOB` is
    /// case-sensitive, so it compares the folded values byte for byte.
    fn term_pattern(suffix: bool, needle: &str) -> String {
        let mut p = String::from("*");
        for c in needle.chars() {
            match c {
                '*' => p.push_str("[*]"),
                '?' => p.push_str("[?]"),
                '[' => p.push_str("[[]"),
                c => p.push(c),
            }
        }
        if !suffix {
            p.push('*');
        }
        p
    }

    /// Rows of `alias` whose term matches the pattern `$n` (exact).
    fn term_pattern_exact(alias: &str, n: usize) -> String {
        format!("{alias}.term GLOB ${n}")
    }

    /// Outbox claims (`sql/outbox.rs`): nothing to add to their `SELECT`;
    /// a claim runs in a `BEGIN IMMEDIATE` transaction, and SQLite has one
    /// writer at a time, also across processes.
    fn claim_locking() -> &'static str {
        ""
    }

    /// Row locks taken before a batch changes several rows
    /// (`changes::bump_many`, `collections::lock_owners`): none needed,
    /// the transaction is the one writer.
    fn row_locking() -> Option<&'static str> {
        None
    }

    async fn run_migrations(&self) -> StoreResult<()> {
        Self::migrator().run(&self.write).await?;
        Ok(())
    }
}

super::sql::sql_store!(SqliteStore, sqlx::Sqlite);
