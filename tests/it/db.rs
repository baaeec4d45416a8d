//! Fresh databases for tests: a temporary SQLite file, or a new database on the
//! PostgreSQL server named by `ALMANACH_TEST_POSTGRES_URL` (scripts/test.sh
//! starts a private one). PostgreSQL tests fail, never skip, without it.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

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
static SWEPT: AtomicBool = AtomicBool::new(false);

/// Drops the databases left by earlier test processes that are gone (a test
/// database is named after the process that made it and is not dropped by
/// it: tests end at unknown times). Once per process.
async fn sweep_stale_databases(conn: &mut sqlx::PgConnection) {
    if SWEPT.swap(true, Ordering::SeqCst) {
        return;
    }
    let names: Vec<(String,)> =
        sqlx::query_as("SELECT datname FROM pg_database WHERE datname LIKE 'almanach\\_t%'")
            .fetch_all(&mut *conn)
            .await
            .expect("list test databases");
    for (name,) in names {
        let pid = name.strip_prefix("almanach_t").and_then(|rest| rest.split('_').next());
        let Some(pid) = pid.and_then(|p| p.parse::<u32>().ok()) else { continue };
        if pid == std::process::id() || std::path::Path::new(&format!("/proc/{pid}")).exists() {
            continue;
        }
        // Another sweeping process may drop it first: errors are ignored.
        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).execute(&mut *conn).await;
    }
}

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
            sweep_stale_databases(&mut conn).await;
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&mut conn)
                .await
                .expect("create test database");
            let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
            FreshDb { url: format!("{base}/{name}"), _dir: None }
        }
    }
}
