//! The account page's rows (`store::account`): `web_sessions` by the hash
//! of their token (primary key), `app_passwords` by id (primary key) and
//! by owner (index), `oidc_logins` by the hash of their state.
//!
//! Expanded by [`sql_store!`](super::sql_store) into the per-database module
//! of the same name (see the [module documentation](super)).

/// The functions of this concern, for the database of the enclosing module.
macro_rules! body {
    () => {
        use super::*;

        const APP_COLUMNS: &str = "id, principal_id, name, hash, created_at, last_used_at";
        type AppRow = (i64, i64, String, String, i64, Option<i64>);

        fn app(r: AppRow) -> AppPassword {
            AppPassword { id: r.0, principal: r.1, name: r.2, hash: r.3, created_at: r.4, last_used_at: r.5 }
        }

        pub(super) async fn create_session(store: &Backend, s: NewSession) -> StoreResult<()> {
            sqlx::query(
                "INSERT INTO web_sessions (token_hash, principal_id, csrf, created_at, last_seen, expires_at) \
                 VALUES ($1, $2, $3, $4, $4, $5)",
            )
            .bind(s.token_hash.as_slice())
            .bind(s.principal)
            .bind(&s.csrf)
            .bind(s.created_at)
            .bind(s.expires_at)
            .execute(store.writer())
            .await?;
            Ok(())
        }

        pub(super) async fn session(store: &Backend, token_hash: [u8; 32], now: Millis, idle_since: Millis) -> StoreResult<Option<WebSession>> {
            let row: Option<(i64, String, i64, i64, i64)> = sqlx::query_as(
                "SELECT principal_id, csrf, created_at, last_seen, expires_at FROM web_sessions \
                 WHERE token_hash = $1 AND expires_at > $2 AND last_seen >= $3",
            )
            .bind(token_hash.as_slice())
            .bind(now)
            .bind(idle_since)
            .fetch_optional(store.reader())
            .await?;
            Ok(row.map(|r| WebSession { principal: r.0, csrf: r.1, created_at: r.2, last_seen: r.3, expires_at: r.4 }))
        }

        pub(super) async fn touch_session(store: &Backend, token_hash: [u8; 32], now: Millis) -> StoreResult<()> {
            sqlx::query("UPDATE web_sessions SET last_seen = $2 WHERE token_hash = $1 AND last_seen < $2")
                .bind(token_hash.as_slice())
                .bind(now)
                .execute(store.writer())
                .await?;
            Ok(())
        }

        pub(super) async fn delete_session(store: &Backend, token_hash: [u8; 32]) -> StoreResult<()> {
            sqlx::query("DELETE FROM web_sessions WHERE token_hash = $1").bind(token_hash.as_slice()).execute(store.writer()).await?;
            Ok(())
        }

        pub(super) async fn delete_sessions_of(store: &Backend, principal: PrincipalId, keep: Option<[u8; 32]>) -> StoreResult<u64> {
            // An empty hash matches no session.
            let keep = keep.map(|k| k.to_vec()).unwrap_or_default();
            let done = sqlx::query("DELETE FROM web_sessions WHERE principal_id = $1 AND token_hash <> $2")
                .bind(principal)
                .bind(keep)
                .execute(store.writer())
                .await?;
            Ok(done.rows_affected())
        }

        pub(super) async fn forget_sessions(store: &Backend, now: Millis, idle_since: Millis) -> StoreResult<u64> {
            let done = sqlx::query("DELETE FROM web_sessions WHERE expires_at <= $1 OR last_seen < $2")
                .bind(now)
                .bind(idle_since)
                .execute(store.writer())
                .await?;
            Ok(done.rows_affected())
        }

        pub(super) async fn create_app_password(store: &Backend, principal: PrincipalId, name: &str, hash: &str, at: Millis) -> StoreResult<AppPassword> {
            let row: AppRow = sqlx::query_as(&format!(
                "INSERT INTO app_passwords (principal_id, name, hash, created_at) VALUES ($1, $2, $3, $4) RETURNING {APP_COLUMNS}"
            ))
            .bind(principal)
            .bind(name)
            .bind(hash)
            .bind(at)
            .fetch_one(store.writer())
            .await?;
            Ok(app(row))
        }

        pub(super) async fn app_password(store: &Backend, id: i64) -> StoreResult<Option<AppPassword>> {
            let row: Option<AppRow> = sqlx::query_as(&format!("SELECT {APP_COLUMNS} FROM app_passwords WHERE id = $1"))
                .bind(id)
                .fetch_optional(store.reader())
                .await?;
            Ok(row.map(app))
        }

        pub(super) async fn app_passwords(store: &Backend, principal: PrincipalId) -> StoreResult<Vec<AppPassword>> {
            let rows: Vec<AppRow> = sqlx::query_as(&format!("SELECT {APP_COLUMNS} FROM app_passwords WHERE principal_id = $1 ORDER BY id"))
                .bind(principal)
                .fetch_all(store.reader())
                .await?;
            Ok(rows.into_iter().map(app).collect())
        }

        pub(super) async fn delete_app_password(store: &Backend, principal: PrincipalId, id: i64) -> StoreResult<bool> {
            let done = sqlx::query("DELETE FROM app_passwords WHERE id = $1 AND principal_id = $2")
                .bind(id)
                .bind(principal)
                .execute(store.writer())
                .await?;
            Ok(done.rows_affected() > 0)
        }

        pub(super) async fn delete_app_passwords_of(store: &Backend, principal: PrincipalId) -> StoreResult<u64> {
            let done = sqlx::query("DELETE FROM app_passwords WHERE principal_id = $1").bind(principal).execute(store.writer()).await?;
            Ok(done.rows_affected())
        }

        pub(super) async fn touch_app_password(store: &Backend, id: i64, at: Millis) -> StoreResult<()> {
            sqlx::query("UPDATE app_passwords SET last_used_at = $2 WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $2)")
                .bind(id)
                .bind(at)
                .execute(store.writer())
                .await?;
            Ok(())
        }

        pub(super) async fn put_oidc_login(store: &Backend, l: OidcLogin) -> StoreResult<()> {
            sqlx::query("INSERT INTO oidc_logins (state_hash, nonce, pkce_verifier, expires_at) VALUES ($1, $2, $3, $4)")
                .bind(l.state_hash.as_slice())
                .bind(&l.nonce)
                .bind(&l.pkce_verifier)
                .bind(l.expires_at)
                .execute(store.writer())
                .await?;
            Ok(())
        }

        pub(super) async fn take_oidc_login(store: &Backend, state_hash: [u8; 32], now: Millis) -> StoreResult<Option<OidcLogin>> {
            sqlx::query("DELETE FROM oidc_logins WHERE expires_at < $1").bind(now).execute(store.writer()).await?;
            let row: Option<(String, String, i64)> =
                sqlx::query_as("DELETE FROM oidc_logins WHERE state_hash = $1 RETURNING nonce, pkce_verifier, expires_at")
                    .bind(state_hash.as_slice())
                    .fetch_optional(store.writer())
                    .await?;
            Ok(row.map(|(nonce, pkce_verifier, expires_at)| OidcLogin { state_hash, nonce, pkce_verifier, expires_at }))
        }

        pub(super) async fn account_counts(store: &Backend) -> StoreResult<AccountCounts> {
            let mut per_academie: Vec<(Option<String>, i64)> = sqlx::query_as(
                "SELECT a.slug, count(*) FROM principals p LEFT JOIN academies a ON a.id = p.academie_id \
                 WHERE p.kind = 'user' AND NOT p.disabled GROUP BY a.slug",
            )
            .fetch_all(store.reader())
            .await?;
            // The databases order NULL differently: sorted here.
            per_academie.sort();
            // What every collection holds (kept by the triggers of
            // migration 0015): a row per collection, not per object.
            let (storage_bytes,): (i64,) = sqlx::query_as("SELECT CAST(COALESCE(SUM(used_bytes), 0) AS BIGINT) FROM collections")
                .fetch_one(store.reader())
                .await?;
            Ok(AccountCounts { per_academie, storage_bytes })
        }
    };
}
pub(crate) use body;
