//! WebDAV locks (RFC 4918 §6, §9.10), stored so that every server process sees
//! them. Expired locks are never returned; they are purged when a lock is
//! created.
//!
//! Locks are enforced by the store itself: every lock-guarded write checks
//! its [`LockGuard`](crate::store::LockGuard) with [`check_guard`] inside its
//! own transaction, right after its first statement (the revision bump), and
//! `create_lock` checks conflicts inside the transaction that inserts the
//! lock. Guarded writes start with the backend's `begin_guarded_write()` and
//! lock creation with `begin_exclusive_write()`, which exclude each other (an
//! advisory lock in PostgreSQL, the single writer in SQLite): a lock is never
//! granted while a write that did not see it can still commit.
//!
//! Expanded by [`sql_store!`](super::sql_store) into the per-database module
//! of the same name (see the [module documentation](super)).

/// The functions of this concern, for the database of the enclosing module.
macro_rules! body {
    () => {
        use super::*;
        use super::changes::{bump, log_change};
        use super::collections::{check_quota, fetch_collection_by_path};
        use super::objects::{fetch_object_named, insert_object};

        /// Opens "not expired"; the caller appends the current time's parameter and `)`.
        const NOT_EXPIRED: &str = "(expires_at IS NULL OR expires_at >= ";

        // ------------------------------------------------------ Store methods

        pub(super) async fn create_lock(store: &Backend, lock: Lock, lock_null: Option<LockNull>, limits: &LockLimits) -> StoreResult<()> {
            if !lock.root.starts_with('/') {
                return Err(StoreError::Invalid(format!("invalid lock root {:?}", lock.root)));
            }
            if let Some(ln) = &lock_null {
                validate_name(&ln.name)?;
            }
            let now = now_millis();
            // Exclusive with guarded writes: none is in flight from here on.
            let mut tx = store.begin_exclusive_write().await?;
            sqlx::query("DELETE FROM locks WHERE expires_at < $1").bind(now).execute(&mut *tx).await?;
            // RFC 4918 §6.1, §9.10.3: an exclusive lock conflicts with every
            // lock on the resources it covers, a shared one with exclusive ones.
            let mut existing = locks_covering_in(&mut tx, &lock.root, now).await?;
            // What the root's `DAV:lockdiscovery` shows before this lock.
            let covering = existing.len();
            if lock.infinite {
                existing.extend(locks_below_in(&mut tx, &lock.root, now).await?);
            }
            if let Some(l) = existing.iter().find(|l| lock.scope == LockScope::Exclusive || l.scope == LockScope::Exclusive) {
                return Err(StoreError::LockConflict { root: l.root.clone() });
            }
            check_lock_limits(&mut tx, &lock, covering, limits).await?;
            if lock_null.is_none() && !resource_exists(&mut tx, &lock.root).await? {
                // The resource the request found was moved or deleted since.
                return Err(StoreError::NotFound);
            }
            if let Some(ln) = lock_null {
                // RFC 4918 §9.10.4: the empty resource, bound like a PUT with
                // `If-None-Match: *`.
                let (rev, _, coll_path) = bump(&mut tx, ln.collection, now).await?.ok_or(StoreError::MissingParent)?;
                if coll_path != ln.collection_path {
                    return Err(StoreError::MissingParent);
                }
                check_guard(&mut tx, &ln.guard.with(&[&coll_path], &[]), now).await?;
                if fetch_object_named(&mut tx, ln.collection, &ln.name).await?.is_some()
                    || fetch_collection_by_path(&mut tx, &child_path(&coll_path, &ln.name)).await?.is_some()
                {
                    return Err(StoreError::AlreadyExists);
                }
                let etag = etag_for(&[]);
                let new = NewObjectRow { name: &ln.name, content_type: &ln.content_type, content: &[], etag: &etag, schedule_tag: None };
                insert_object(&mut tx, ln.collection, &new, &ObjectIndex::default(), now).await?;
                log_change(&mut tx, ln.collection, &ln.name, rev, false).await?;
            }
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
            locks_covering_in(&mut *store.reader().acquire().await?, path, now_millis()).await
        }

        pub(super) async fn locks_below(store: &Backend, prefix: &str) -> StoreResult<Vec<Lock>> {
            locks_below_in(&mut *store.reader().acquire().await?, prefix, now_millis()).await
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

        // ------------------------------------------------------------ helpers

        /// The caps and quota of `limits` for a new `lock` whose root is
        /// already covered by `covering` locks.
        async fn check_lock_limits(conn: &mut Conn, lock: &Lock, covering: usize, limits: &LockLimits) -> StoreResult<()> {
            if let Some(limit) = limits.per_resource.filter(|l| covering >= *l) {
                return Err(StoreError::TooManyLocks { per: LockCap::Resource, limit });
            }
            if let Some(limit) = limits.per_principal {
                let (held,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM locks WHERE principal_id = $1")
                    .bind(lock.principal)
                    .fetch_one(&mut *conn)
                    .await?;
                if held >= limit as i64 {
                    return Err(StoreError::TooManyLocks { per: LockCap::Principal, limit });
                }
            }
            // RFC 4331: the owner XML is stored for the principal.
            let bytes = lock.owner_xml.as_ref().map_or(0, |o| o.len() as i64);
            match limits.quota_limit {
                Some(limit) if bytes > 0 => check_quota(conn, lock.principal, limit, bytes).await,
                _ => Ok(()),
            }
        }

        /// Whether a resource exists at the store path `root` (a collection
        /// when it ends with `/`, an object otherwise).
        async fn resource_exists(conn: &mut Conn, root: &str) -> StoreResult<bool> {
            if root.ends_with('/') {
                return Ok(fetch_collection_by_path(conn, root).await?.is_some());
            }
            let Some((parent, name)) = root.rsplit_once('/') else { return Ok(false) };
            let found: Option<(i64,)> = sqlx::query_as(
                "SELECT o.id FROM objects o JOIN collections c ON c.id = o.collection_id WHERE c.path = $1 AND o.name = $2",
            )
            .bind(format!("{parent}/"))
            .bind(name)
            .fetch_optional(&mut *conn)
            .await?;
            Ok(found.is_some())
        }

        /// Enforce `guard` (see [`LockGuard`]) at time `now`: every place in
        /// `guard.at` has no covering lock or a held one, every lock below a
        /// path of `guard.below` is held. Otherwise `Locked` with the root of
        /// the first offending lock. Call it inside the write's transaction,
        /// opened with `begin_guarded_write()`.
        pub(super) async fn check_guard(conn: &mut Conn, guard: &LockGuard, now: i64) -> StoreResult<()> {
            let held = |l: &Lock| l.principal == guard.principal && guard.tokens.contains(&l.token);
            for path in &guard.at {
                let locks = locks_covering_in(conn, path, now).await?;
                if let Some(first) = locks.first() {
                    if !locks.iter().any(held) {
                        return Err(StoreError::Locked { root: first.root.clone() });
                    }
                }
            }
            for path in &guard.below {
                if let Some(l) = locks_below_in(conn, path, now).await?.into_iter().find(|l| !held(l)) {
                    return Err(StoreError::Locked { root: l.root });
                }
            }
            Ok(())
        }

        /// Unexpired locks rooted at `path` (either spelling) or rooted with
        /// Depth infinity at an ancestor collection of it.
        async fn locks_covering_in(conn: &mut Conn, path: &str, now: i64) -> StoreResult<Vec<Lock>> {
            let mut q = sqlx::QueryBuilder::<Db>::new(concat!("SELECT ", lock_cols!(), " FROM locks WHERE "));
            q.push(NOT_EXPIRED).push_bind(now).push(") AND (root IN (");
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
            let rows: Vec<LockRow> = q.build_query_as().fetch_all(&mut *conn).await?;
            rows.into_iter().map(LockRow::into_lock).collect()
        }

        /// Unexpired locks rooted strictly below the collection `prefix`.
        async fn locks_below_in(conn: &mut Conn, prefix: &str, now: i64) -> StoreResult<Vec<Lock>> {
            let prefix = if prefix.ends_with('/') { prefix.to_string() } else { format!("{prefix}/") };
            let sql = format!(
                "SELECT {} FROM locks WHERE root >= $1 AND root < $2 AND root <> $1 AND {NOT_EXPIRED}$3) \
                 ORDER BY root, token",
                lock_cols!()
            );
            let rows: Vec<LockRow> = sqlx::query_as(&sql)
                .bind(&prefix)
                .bind(prefix_upper(&prefix))
                .bind(now)
                .fetch_all(&mut *conn)
                .await?;
            rows.into_iter().map(LockRow::into_lock).collect()
        }

        /// Remove the locks rooted at `path` (either spelling) or below it
        /// (after the resource was deleted or moved away).
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
