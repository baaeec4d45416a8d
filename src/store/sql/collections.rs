//! Collections: lookup by id or path, creation, listing, deletion of a whole
//! subtree, and the quota used by an owner.
//!
//! A collection is identified by its absolute path with a trailing slash;
//! creating or deleting one bumps its parent's revision and logs the member
//! in the parent's change log (RFC 6578).
//!
//! Expanded by [`sql_store!`](super::sql_store) into the per-database module
//! of the same name (see the [module documentation](super)).

/// The functions of this concern, for the database of the enclosing module.
macro_rules! body {
    () => {
        use super::*;
        use super::changes::{bump, log_change};
        use super::directory::principal_exists;
        use super::locks::{check_guard, remove_locks_under_in};
        use super::objects::fetch_object_named;
        use super::outbox::enqueue;
        use super::properties::set_property;

        // ------------------------------------------------------ Store methods

        pub(super) async fn collection_by_path(store: &Backend, path: &str) -> StoreResult<Option<Collection>> {
            if let Some(found) = store.coalesced_collection_by_path(path).await {
                return found;
            }
            let mut conn = store.read_conn().await?;
            let found = fetch_collection_by_path(&mut conn, path).await;
            conn.done(found)
        }

        pub(super) async fn collection(store: &Backend, id: CollectionId) -> StoreResult<Option<Collection>> {
            let mut conn = store.read_conn().await?;
            let found = fetch_collection(&mut conn, id).await;
            conn.done(found)
        }

        pub(super) async fn create_collection(store: &Backend, new: NewCollection) -> StoreResult<Collection> {
            if !new.path.starts_with('/') || !new.path.ends_with('/') || new.path.contains("//") {
                return Err(StoreError::Invalid(format!("invalid collection path {:?}", new.path)));
            }
            for p in &new.properties {
                validate_property(&p.namespace, &p.name)?;
            }
            let now = now_millis();
            let mut tx = store.begin_guarded_write().await?;
            let mut logged = None;
            if let Some(parent) = new.parent {
                let (rev, _, parent_path) = bump(&mut tx, parent, now).await?.ok_or(StoreError::MissingParent)?;
                check_guard(&mut tx, &new.guard.with(&[&parent_path, &new.path], &[]), now).await?;
                // A parent that no longer has this path was moved since the
                // request found it (RFC 4918 §9.3.1: 409 without it).
                let name = new
                    .path
                    .strip_prefix(parent_path.as_str())
                    .and_then(|rest| rest.strip_suffix('/'))
                    .ok_or(StoreError::MissingParent)?;
                validate_name(name)?;
                if fetch_object_named(&mut tx, parent, name).await?.is_some() {
                    return Err(StoreError::AlreadyExists);
                }
                logged = Some((parent, name.to_string(), rev));
            } else {
                check_guard(&mut tx, &new.guard, now).await?;
            }
            if !principal_exists(&mut tx, new.owner).await? {
                return Err(StoreError::Invalid(format!("unknown owner {}", new.owner)));
            }
            let components = join_components(&new.components);
            let id = insert_collection(&mut tx, new.owner, new.parent, &new.path, new.kind.as_str(), components.as_deref(), now).await?;
            for p in &new.properties {
                set_property(&mut tx, PropertyTarget::Collection(id), p).await?;
            }
            if let (Some(limit), false) = (new.quota_limit, new.properties.is_empty()) {
                check_quota(&mut tx, new.owner, limit, 0).await?;
            }
            if let Some((parent, name, rev)) = logged {
                log_change(&mut tx, parent, &name, rev, false).await?;
            }
            let created = fetch_collection(&mut tx, id).await?.ok_or(StoreError::NotFound)?;
            tx.commit().await?;
            Ok(created)
        }

        pub(super) async fn child_collections(store: &Backend, parent: CollectionId) -> StoreResult<Vec<Collection>> {
            let rows: Vec<CollectionRow> = sqlx::query_as(concat!(
                "SELECT ", collection_cols!(), " FROM collections WHERE parent_id = $1 ORDER BY path"
            ))
            .bind(parent)
            .fetch_all(store.reader())
            .await?;
            rows.into_iter().map(CollectionRow::into_collection).collect()
        }

        pub(super) async fn child_collections_at(store: &Backend, paths: &[&str]) -> StoreResult<Vec<Collection>> {
            let mut conn = store.reader().acquire().await?;
            let mut out = Vec::new();
            for chunk in list_chunks(&paths).iter() {
                let mut q = sqlx::QueryBuilder::<Db>::new(
                    "SELECT c.id, c.owner_id, c.parent_id, c.path, c.kind, c.sync_revision, c.components, c.created_at, c.modified_at \
                     FROM collections h JOIN collections c ON c.parent_id = h.id WHERE h.path IN (",
                );
                let mut list = q.separated(", ");
                for path in chunk {
                    list.push_bind(*path);
                }
                q.push(")");
                let rows: Vec<CollectionRow> = q.build_query_as().fetch_all(&mut *conn).await?;
                for row in rows {
                    out.push(row.into_collection()?);
                }
            }
            out.sort_by(|a, b| a.path.cmp(&b.path));
            Ok(out)
        }

        pub(super) async fn delete_collection(store: &Backend, at: &Resolved, guard: &LockGuard, jobs: &[NewJob]) -> StoreResult<Vec<JobId>> {
            let now = now_millis();
            let id = at.id;
            let mut tx = store.begin_exclusive_write().await?;
            let found = fetch_collection(&mut tx, id).await?.ok_or(StoreError::NotFound)?;
            let logged = match found.parent {
                Some(p) => bump(&mut tx, p, now).await?.map(|r| (p, r.0)),
                None => None,
            };
            // Re-read under the parent's lock: RFC 4918 §9.6, the collection
            // the request named, not where a concurrent MOVE has put it.
            let coll = fetch_collection(&mut tx, id).await?.ok_or(StoreError::NotFound)?;
            if coll.parent != found.parent || coll.path != at.path {
                return Err(StoreError::NotFound);
            }
            let parent = parent_path(&coll.path);
            check_guard(&mut tx, &guard.with(&[&coll.path, &parent], &[&coll.path]), now).await?;
            delete_subtree(&mut tx, &coll.path).await?;
            if let Some((p, rev)) = logged {
                log_change(&mut tx, p, coll.name(), rev, true).await?;
            }
            let ids = enqueue(&mut tx, jobs, now).await?;
            tx.commit().await?;
            Ok(ids)
        }

        pub(super) async fn quota_used(store: &Backend, owner: PrincipalId) -> StoreResult<i64> {
            quota_used_in(&mut *store.reader().acquire().await?, owner).await
        }

        pub(super) async fn recount_quota_usage(store: &Backend) -> StoreResult<u64> {
            // One statement: each collection's bytes from its rows, written
            // where the kept count differs; alone (no write runs meanwhile,
            // whose bytes the statement's snapshot would miss).
            let mut tx = store.begin_exclusive_write().await?;
            let done = sqlx::query(
                "UPDATE collections SET used_bytes = counted.n FROM ( \
                   SELECT c.id AS id, \
                     COALESCE((SELECT SUM(o.size) FROM objects o WHERE o.collection_id = c.id), 0) \
                   + COALESCE((SELECT SUM(octet_length(p.value)) FROM dead_properties p WHERE p.collection_id = c.id), 0) \
                   + COALESCE((SELECT SUM(octet_length(p.value)) FROM dead_properties p \
                               JOIN objects o ON o.id = p.object_id WHERE o.collection_id = c.id), 0) AS n \
                   FROM collections c) counted \
                 WHERE collections.id = counted.id AND collections.used_bytes <> counted.n",
            )
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(done.rows_affected())
        }

        // ------------------------------------------------------------ helpers

        pub(super) async fn fetch_collection(conn: &mut Conn, id: i64) -> StoreResult<Option<Collection>> {
            let row: Option<CollectionRow> =
                sqlx::query_as(concat!("SELECT ", collection_cols!(), " FROM collections WHERE id = $1"))
                    .bind(id)
                    .fetch_optional(&mut *conn)
                    .await?;
            row.map(CollectionRow::into_collection).transpose()
        }

        pub(super) async fn fetch_collection_by_path(conn: &mut Conn, path: &str) -> StoreResult<Option<Collection>> {
            let row: Option<CollectionRow> =
                sqlx::query_as(concat!("SELECT ", collection_cols!(), " FROM collections WHERE path = $1"))
                    .bind(path)
                    .fetch_optional(&mut *conn)
                    .await?;
            row.map(CollectionRow::into_collection).transpose()
        }

        pub(super) async fn insert_collection(
            conn: &mut Conn,
            owner: i64,
            parent: Option<i64>,
            path: &str,
            kind: &str,
            components: Option<&str>,
            now: i64,
        ) -> StoreResult<i64> {
            let (id,): (i64,) = sqlx::query_as(
                "INSERT INTO collections (owner_id, parent_id, path, kind, components, sync_revision, created_at, modified_at) \
                 VALUES ($1, $2, $3, $4, $5, 0, $6, $6) RETURNING id",
            )
            .bind(owner)
            .bind(parent)
            .bind(path)
            .bind(kind)
            .bind(components)
            .bind(now)
            .fetch_one(&mut *conn)
            .await
            .map_err(map_unique)?;
            Ok(id)
        }

        /// Delete the collection at `path` and its subtree (objects,
        /// properties and change logs cascade) with the locks under it.
        pub(super) async fn delete_subtree(conn: &mut Conn, path: &str) -> StoreResult<()> {
            remove_locks_under_in(conn, path).await?;
            sqlx::query("DELETE FROM collections WHERE path >= $1 AND path < $2")
                .bind(path)
                .bind(prefix_upper(path))
                .execute(&mut *conn)
                .await?;
            Ok(())
        }

        /// Refuse with `QuotaExceeded` when `owner`'s total plus `adding`
        /// bytes (not yet written; 0 when the write is already done) exceeds
        /// `limit`. Row-locks the owner first, which serializes quota-checked
        /// writers of one owner across collections until commit.
        pub(super) async fn check_quota(conn: &mut Conn, owner: i64, limit: i64, adding: i64) -> StoreResult<()> {
            lock_owner(conn, owner).await?;
            if quota_used_in(conn, owner).await? + adding > limit {
                return Err(StoreError::QuotaExceeded);
            }
            Ok(())
        }

        /// Row-lock the principal `owner` until commit (a no-op `UPDATE`),
        /// as [`check_quota`] does; a transaction checking the quota of
        /// several owners locks them first, in ascending id order.
        pub(super) async fn lock_owner(conn: &mut Conn, owner: i64) -> StoreResult<()> {
            sqlx::query("UPDATE principals SET quota_bytes = quota_bytes WHERE id = $1")
                .bind(owner)
                .execute(&mut *conn)
                .await?;
            Ok(())
        }

        /// [`lock_owner`] for several owners, in ascending id order; one
        /// statement (none where the transaction is the one writer).
        pub(super) async fn lock_owners(conn: &mut Conn, owners: &[i64]) -> StoreResult<()> {
            match (owners, Backend::row_locking()) {
                ([], _) | (_, None) => Ok(()),
                ([owner], Some(_)) => lock_owner(conn, *owner).await,
                (_, Some(locking)) => {
                    let mut owners = owners.to_vec();
                    owners.sort_unstable();
                    owners.dedup();
                    for chunk in list_chunks(&owners).iter() {
                        let mut q = sqlx::QueryBuilder::<Db>::new("SELECT id FROM principals WHERE id IN (");
                        let mut list = q.separated(", ");
                        for id in chunk {
                            list.push_bind(*id);
                        }
                        q.push(") ORDER BY id").push(locking);
                        q.build().execute(&mut *conn).await?;
                    }
                    Ok(())
                }
            }
        }

        /// [`quota_used_in`] for several owners, in one statement (per
        /// [`MEMBERS_PER_STATEMENT`]): each owner's bytes.
        pub(super) async fn quota_used_many(conn: &mut Conn, owners: &[i64]) -> StoreResult<std::collections::HashMap<i64, i64>> {
            let mut out: std::collections::HashMap<i64, i64> = owners.iter().map(|o| (*o, 0)).collect();
            if let [owner] = owners {
                out.insert(*owner, quota_used_in(conn, *owner).await?);
                return Ok(out);
            }
            let now = now_millis();
            let ids: Vec<i64> = out.keys().copied().collect();
            for chunk in list_chunks(&ids).iter() {
                let list = |q: &mut sqlx::QueryBuilder<'_, Db>| {
                    let mut l = q.separated(", ");
                    for id in chunk {
                        l.push_bind(*id);
                    }
                };
                // Each owner's collections' `used_bytes` (kept by the
                // triggers of migration 0015), then their active locks.
                let mut q = sqlx::QueryBuilder::<Db>::new(
                    "SELECT owner, CAST(SUM(n) AS BIGINT) FROM ( \
                     SELECT owner_id AS owner, used_bytes AS n FROM collections WHERE owner_id IN (",
                );
                list(&mut q);
                q.push(") UNION ALL SELECT l.principal_id, octet_length(l.owner_xml) FROM locks l \
                        WHERE (l.expires_at IS NULL OR l.expires_at >= ");
                q.push_bind(now).push(") AND l.principal_id IN (");
                list(&mut q);
                q.push(")) used GROUP BY owner");
                let rows: Vec<(i64, Option<i64>)> = q.build_query_as().fetch_all(&mut *conn).await?;
                for (owner, used) in rows {
                    out.insert(owner, used.unwrap_or(0));
                }
            }
            Ok(out)
        }

        /// Bytes an owner uses (RFC 4331): object contents, the values of the
        /// dead properties on its collections and objects, and the owner XML
        /// of the unexpired locks it created.
        pub(super) async fn quota_used_in(conn: &mut Conn, owner: i64) -> StoreResult<i64> {
            // The owner's collections' `used_bytes` (kept by the triggers
            // of migration 0015; collections_owner_idx), and its active locks.
            let (used,): (i64,) = sqlx::query_as(
                "SELECT CAST( \
                   COALESCE((SELECT SUM(used_bytes) FROM collections WHERE owner_id = $1), 0) \
                 + COALESCE((SELECT SUM(octet_length(l.owner_xml)) FROM locks l \
                             WHERE l.principal_id = $1 AND (l.expires_at IS NULL OR l.expires_at >= $2)), 0) \
                 AS BIGINT)",
            )
            .bind(owner)
            .bind(now_millis())
            .fetch_one(&mut *conn)
            .await?;
            Ok(used)
        }
    };
}
pub(crate) use body;
