//! Failed and successful logins, for login throttling (`auth::throttle`):
//! stored rather than counted in memory, so that every server process on
//! the database counts the same failures. The store only records and
//! counts; what the counts mean is the authenticator's business.
//!
//! A failure is one row of `login_failures` (account, address, time). Rows
//! are read over the failure window through the indexes `(account, address,
//! at)` and `(address, at)`, each count stopped at the caller's limit, so a
//! read costs a bounded number of index entries however many failures an
//! attack leaves; rows older than the window are deleted by
//! [`forget_logins`], which the authenticator calls now and then. A success
//! deletes the failures of its account from its address and upserts one row
//! of `login_successes`.
//!
//! Expanded by [`sql_store!`](super::sql_store) into the per-database module
//! of the same name (see the [module documentation](super)).

/// The functions of this concern, for the database of the enclosing module.
macro_rules! body {
    () => {
        use super::*;

        /// One statement: three counts, each over at most `$4` index
        /// entries, the two oldest failures and the last success.
        const HISTORY: &str = "SELECT \
             (SELECT count(*) FROM (SELECT 1 FROM login_failures \
                 WHERE account = $1 AND address = $2 AND at >= $3 LIMIT $4) AS p), \
             (SELECT min(at) FROM login_failures WHERE account = $1 AND address = $2 AND at >= $3), \
             (SELECT count(*) FROM (SELECT 1 FROM login_failures WHERE address = $2 AND at >= $3 LIMIT $4) AS a), \
             (SELECT min(at) FROM login_failures WHERE address = $2 AND at >= $3), \
             (SELECT count(*) FROM (SELECT 1 FROM login_failures WHERE account = $1 AND at >= $3 LIMIT $4) AS g), \
             (SELECT at FROM login_successes WHERE account = $1 AND address = $2)";

        type HistoryRow = (i64, Option<i64>, i64, Option<i64>, i64, Option<i64>);

        // ------------------------------------------------------ Store methods

        pub(super) async fn login_history(
            store: &Backend,
            account: &str,
            address: &str,
            since: Millis,
            limit: u32,
        ) -> StoreResult<LoginHistory> {
            let row: HistoryRow = sqlx::query_as(HISTORY)
                .bind(account)
                .bind(address)
                .bind(since)
                .bind(i64::from(limit))
                .fetch_one(store.reader())
                .await?;
            let count = |n: i64| u32::try_from(n).unwrap_or(u32::MAX);
            Ok(LoginHistory {
                pair_failures: count(row.0),
                pair_oldest: row.1,
                address_failures: count(row.2),
                address_oldest: row.3,
                account_failures: count(row.4),
                last_success: row.5,
            })
        }

        pub(super) async fn record_login_failure(store: &Backend, account: &str, address: &str, at: Millis) -> StoreResult<()> {
            sqlx::query("INSERT INTO login_failures (account, address, at) VALUES ($1, $2, $3)")
                .bind(account)
                .bind(address)
                .bind(at)
                .execute(store.writer())
                .await?;
            Ok(())
        }

        pub(super) async fn record_login_success(store: &Backend, account: &str, address: &str, at: Millis) -> StoreResult<()> {
            let mut tx = store.begin_write().await?;
            sqlx::query("DELETE FROM login_failures WHERE account = $1 AND address = $2")
                .bind(account)
                .bind(address)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO login_successes (account, address, at) VALUES ($1, $2, $3) \
                 ON CONFLICT (account, address) DO UPDATE SET at = excluded.at",
            )
            .bind(account)
            .bind(address)
            .bind(at)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(())
        }

        pub(super) async fn forget_logins(store: &Backend, failures_before: Millis, successes_before: Millis) -> StoreResult<u64> {
            let mut tx = store.begin_write().await?;
            let failures = sqlx::query("DELETE FROM login_failures WHERE at < $1").bind(failures_before).execute(&mut *tx).await?;
            let successes =
                sqlx::query("DELETE FROM login_successes WHERE at < $1").bind(successes_before).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(failures.rows_affected() + successes.rows_affected())
        }
    };
}
pub(crate) use body;
