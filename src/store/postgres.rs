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

use std::time::Duration;

use sqlx::postgres::PgPoolOptions;
use sqlx::{PgPool, Postgres, Transaction};

use super::StoreResult;

pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    pub async fn connect(url: &str) -> StoreResult<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(5))
            .connect(url)
            .await?;
        Ok(PgStore { pool })
    }

    fn reader(&self) -> &PgPool {
        &self.pool
    }

    fn writer(&self) -> &PgPool {
        &self.pool
    }

    async fn begin_write(&self) -> StoreResult<Transaction<'static, Postgres>> {
        Ok(self.pool.begin().await?)
    }

    async fn run_migrations(&self) -> StoreResult<()> {
        sqlx::migrate!("migrations/postgres").run(&self.pool).await?;
        Ok(())
    }
}

super::sql::sql_store!(PgStore, sqlx::Postgres);
