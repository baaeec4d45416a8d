//! WebDAV locks (RFC 4918 §6, §9.10), stored so that every server process sees
//! them. Expired locks are never returned; they are purged when a lock is
//! created.
//!
//! Expanded by [`sql_store!`](super::sql_store) into the per-database module
//! of the same name (see the [module documentation](super)).

/// The functions of this concern, for the database of the enclosing module.
macro_rules! body {
    () => {
        use super::*;

        /// Opens "not expired"; the caller appends the current time's parameter and `)`.
        const NOT_EXPIRED: &str = "(expires_at IS NULL OR expires_at >= ";

        // ------------------------------------------------------ Store methods

        pub(super) async fn create_lock(store: &Backend, lock: Lock) -> StoreResult<()> {
            if !lock.root.starts_with('/') {
                return Err(StoreError::Invalid(format!("invalid lock root {:?}", lock.root)));
            }
            let mut tx = store.begin_write().await?;
            sqlx::query("DELETE FROM locks WHERE expires_at < $1").bind(now_millis()).execute(&mut *tx).await?;
            sqlx::query(concat!(
                "INSERT INTO locks (", lock_cols!(), ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
            ))
            .bind(&lock.token)
            .bind(&lock.root)
            .bind(lock.infinite)
            .bind(scope_str(lock.scope))
            .bind(&lock.owner_xml)
            .bind(lock.principal)
            .bind(lock.timeout_secs)
            .bind(lock.expires_at)
            .execute(&mut *tx)
            .await
            .map_err(map_unique)?;
            tx.commit().await?;
            Ok(())
        }

        pub(super) async fn lock(store: &Backend, token: &str) -> StoreResult<Option<Lock>> {
            let sql = format!("SELECT {} FROM locks WHERE token = $1 AND {NOT_EXPIRED}$2)", lock_cols!());
            let row: Option<LockRow> =
                sqlx::query_as(&sql).bind(token).bind(now_millis()).fetch_optional(store.reader()).await?;
            row.map(LockRow::into_lock).transpose()
        }

        pub(super) async fn locks_covering(store: &Backend, path: &str) -> StoreResult<Vec<Lock>> {
            let mut q = sqlx::QueryBuilder::<Db>::new(concat!("SELECT ", lock_cols!(), " FROM locks WHERE "));
            q.push(NOT_EXPIRED).push_bind(now_millis()).push(") AND (root IN (");
            let mut list = q.separated(", ");
            for p in same_resource_paths(path) {
                list.push_bind(p);
            }
            q.push(")");
            let ancestors = ancestor_paths(path);
            if !ancestors.is_empty() {
                q.push(" OR (infinite AND root IN (");
                let mut list = q.separated(", ");
                for p in ancestors {
                    list.push_bind(p);
                }
                q.push("))");
            }
            q.push(") ORDER BY root, token");
            let rows: Vec<LockRow> = q.build_query_as().fetch_all(store.reader()).await?;
            rows.into_iter().map(LockRow::into_lock).collect()
        }

        pub(super) async fn locks_below(store: &Backend, prefix: &str) -> StoreResult<Vec<Lock>> {
            let prefix = if prefix.ends_with('/') { prefix.to_string() } else { format!("{prefix}/") };
            let sql = format!(
                "SELECT {} FROM locks WHERE root >= $1 AND root < $2 AND root <> $1 AND {NOT_EXPIRED}$3) \
                 ORDER BY root, token",
                lock_cols!()
            );
            let rows: Vec<LockRow> = sqlx::query_as(&sql)
                .bind(&prefix)
                .bind(prefix_upper(&prefix))
                .bind(now_millis())
                .fetch_all(store.reader())
                .await?;
            rows.into_iter().map(LockRow::into_lock).collect()
        }

        pub(super) async fn refresh_lock(store: &Backend, token: &str, timeout_secs: Option<i64>, expires_at: Option<Millis>) -> StoreResult<Lock> {
            let sql = format!(
                "UPDATE locks SET timeout_secs = $2, expires_at = $3 WHERE token = $1 AND {NOT_EXPIRED}$4) \
                 RETURNING {}",
                lock_cols!()
            );
            let row: Option<LockRow> = sqlx::query_as(&sql)
                .bind(token)
                .bind(timeout_secs)
                .bind(expires_at)
                .bind(now_millis())
                .fetch_optional(store.writer())
                .await?;
            row.ok_or(StoreError::NotFound)?.into_lock()
        }

        pub(super) async fn remove_lock(store: &Backend, token: &str) -> StoreResult<()> {
            sqlx::query("DELETE FROM locks WHERE token = $1").bind(token).execute(store.writer()).await?;
            Ok(())
        }

        pub(super) async fn remove_locks_under(store: &Backend, path: &str) -> StoreResult<()> {
            remove_locks_under_in(&mut *store.writer().acquire().await?, path).await
        }

        // ------------------------------------------------------------ helpers

        /// Remove the locks rooted at `path` (either spelling) or below it.
        pub(super) async fn remove_locks_under_in(conn: &mut Conn, path: &str) -> StoreResult<()> {
            let [a, b] = same_resource_paths(path);
            let dir = if path.ends_with('/') { path.to_string() } else { format!("{path}/") };
            sqlx::query("DELETE FROM locks WHERE root = $1 OR root = $2 OR (root >= $3 AND root < $4)")
                .bind(&a)
                .bind(&b)
                .bind(&dir)
                .bind(prefix_upper(&dir))
                .execute(&mut *conn)
                .await?;
            Ok(())
        }
    };
}
pub(crate) use body;
