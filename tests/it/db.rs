//! Fresh databases for tests: a temporary SQLite file, or a new database on the
//! PostgreSQL server named by `ALMANACH_TEST_POSTGRES_URL` (scripts/test.sh
//! starts a private one). PostgreSQL tests fail, never skip, without it.

use std::sync::atomic::{AtomicU32, Ordering};

use sqlx::Connection;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A database that lives as long as this value (SQLite: its temp dir).
pub struct FreshDb {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

pub async fn fresh_db(backend: Backend) -> FreshDb {
    match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().expect("tempdir");
            let url = format!("sqlite://{}", dir.path().join("almanach.db").display());
            FreshDb { url, _dir: Some(dir) }
        }
        Backend::Postgres => {
            let admin = std::env::var("ALMANACH_TEST_POSTGRES_URL").expect(
                "ALMANACH_TEST_POSTGRES_URL is not set: run the tests with scripts/test.sh, \
                 which starts a private PostgreSQL (the PostgreSQL tests never skip)",
            );
            let name = format!(
                "almanach_t{}_{}_{}",
                std::process::id(),
                COUNTER.fetch_add(1, Ordering::Relaxed),
                uuid::Uuid::new_v4().simple().to_string().get(..8).unwrap()
            );
            let mut conn = sqlx::PgConnection::connect(&admin)
                .await
                .expect("connect to ALMANACH_TEST_POSTGRES_URL");
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&mut conn)
                .await
                .expect("create test database");
            let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
            FreshDb { url: format!("{base}/{name}"), _dir: None }
        }
    }
}
