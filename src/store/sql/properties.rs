//! Dead properties (RFC 4918 §4): stored as received, for a collection or an
//! object; `PROPPATCH` applies all updates in one transaction.
//!
//! Expanded by [`sql_store!`](super::sql_store) into the per-database module
//! of the same name (see the [module documentation](super)).

/// The functions of this concern, for the database of the enclosing module.
macro_rules! body {
    () => {
        use super::*;
        use super::collections::quota_used_in;
        use super::changes::{bump, log_change};
        use super::locks::check_guard;
        use super::objects::fetch_object;

        // ------------------------------------------------------ Store methods

        pub(super) async fn dead_properties(store: &Backend, target: PropertyTarget) -> StoreResult<Vec<DeadProperty>> {
            let (sql, id) = match target {
                PropertyTarget::Collection(id) => (
                    "SELECT namespace, name, value FROM dead_properties WHERE collection_id = $1 ORDER BY namespace, name",
                    id,
                ),
                PropertyTarget::Object(id) => (
                    "SELECT namespace, name, value FROM dead_properties WHERE object_id = $1 ORDER BY namespace, name",
                    id,
                ),
            };
            let mut conn = store.read_conn().await?;
            let rows: Result<Vec<(String, String, String)>, _> = sqlx::query_as(sql).bind(id).fetch_all(&mut *conn).await;
            let rows = conn.done(rows)?;
            Ok(rows.into_iter().map(|(namespace, name, value)| DeadProperty { namespace, name, value }).collect())
        }

        pub(super) async fn collections_property(
            store: &Backend,
            ids: &[CollectionId],
            namespace: &str,
            name: &str,
        ) -> StoreResult<Vec<(CollectionId, String)>> {
            let mut conn = store.reader().acquire().await?;
            let mut out = Vec::new();
            for chunk in list_chunks(&ids).iter() {
                let mut q = sqlx::QueryBuilder::<Db>::new("SELECT collection_id, value FROM dead_properties WHERE namespace = ");
                q.push_bind(namespace).push(" AND name = ").push_bind(name).push(" AND collection_id IN (");
                let mut list = q.separated(", ");
                for id in chunk {
                    list.push_bind(*id);
                }
                q.push(")");
                let rows: Vec<(i64, String)> = q.build_query_as().fetch_all(&mut *conn).await?;
                out.extend(rows);
            }
            Ok(out)
        }

        pub(super) async fn update_dead_properties(
            store: &Backend,
            target: PropertyTarget,
            at: &str,
            updates: &[PropertyUpdate],
            guard: &LockGuard,
            quota_limit: Option<i64>,
        ) -> StoreResult<()> {
            for u in updates {
                match u {
                    PropertyUpdate::Set(p) => validate_property(&p.namespace, &p.name)?,
                    PropertyUpdate::Remove { namespace, name } => validate_property(namespace, name)?,
                }
            }
            let now = now_millis();
            let mut tx = store.begin_guarded_write().await?;
            // Bump the revision (CTag) of the collection concerned; an
            // object's change is logged in its collection (RFC 6578).
            let (owner, path) = match target {
                PropertyTarget::Collection(id) => {
                    let (_, owner, path) = bump(&mut tx, id, now).await?.ok_or(StoreError::NotFound)?;
                    (owner, path)
                }
                PropertyTarget::Object(id) => {
                    let seen = fetch_object(&mut tx, id).await?.ok_or(StoreError::NotFound)?;
                    let (rev, owner, coll_path) = bump(&mut tx, seen.collection, now).await?.ok_or(StoreError::NotFound)?;
                    // Re-read under the collection's lock: a concurrent MOVE may have won.
                    let obj = fetch_object(&mut tx, id).await?.ok_or(StoreError::NotFound)?;
                    if obj.collection != seen.collection {
                        return Err(StoreError::NotFound);
                    }
                    log_change(&mut tx, obj.collection, &obj.name, rev, false).await?;
                    (owner, object_path(&coll_path, &obj.name))
                }
            };
            // RFC 4918 §9.2: the resource the request named, not where a
            // concurrent MOVE has since put it.
            if path != at {
                return Err(StoreError::NotFound);
            }
            check_guard(&mut tx, &guard.with(&[&path], &[]), now).await?;
            let used_before = match quota_limit {
                Some(_) => Some(quota_used_in(&mut tx, owner).await?),
                None => None,
            };
            for u in updates {
                match u {
                    PropertyUpdate::Set(p) => set_property(&mut tx, target, p).await?,
                    PropertyUpdate::Remove { namespace, name } => {
                        let sql = match target {
                            PropertyTarget::Collection(_) => {
                                "DELETE FROM dead_properties WHERE collection_id = $1 AND namespace = $2 AND name = $3"
                            }
                            PropertyTarget::Object(_) => {
                                "DELETE FROM dead_properties WHERE object_id = $1 AND namespace = $2 AND name = $3"
                            }
                        };
                        let (PropertyTarget::Collection(id) | PropertyTarget::Object(id)) = target;
                        sqlx::query(sql).bind(id).bind(namespace).bind(name).execute(&mut *tx).await?;
                    }
                }
            }
            // Property values count towards the owner's quota (RFC 4331): an
            // update fails on it only if it makes the usage grow past it.
            if let (Some(limit), Some(before)) = (quota_limit, used_before) {
                let after = quota_used_in(&mut tx, owner).await?;
                if after > before && after > limit {
                    return Err(StoreError::QuotaExceeded);
                }
            }
            tx.commit().await?;
            Ok(())
        }

        // ------------------------------------------------------------ helpers

        pub(super) async fn set_property(conn: &mut Conn, target: PropertyTarget, p: &DeadProperty) -> StoreResult<()> {
            let (sql, id) = match target {
                PropertyTarget::Collection(id) => (
                    "INSERT INTO dead_properties (collection_id, namespace, name, value) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (collection_id, namespace, name) DO UPDATE SET value = excluded.value",
                    id,
                ),
                PropertyTarget::Object(id) => (
                    "INSERT INTO dead_properties (object_id, namespace, name, value) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (object_id, namespace, name) DO UPDATE SET value = excluded.value",
                    id,
                ),
            };
            sqlx::query(sql).bind(id).bind(&p.namespace).bind(&p.name).bind(&p.value).execute(&mut *conn).await?;
            Ok(())
        }

        pub(super) async fn copy_properties(conn: &mut Conn, from: PropertyTarget, to: PropertyTarget) -> StoreResult<()> {
            let sql = match (from, to) {
                (PropertyTarget::Collection(_), PropertyTarget::Collection(_)) =>
                    "INSERT INTO dead_properties (collection_id, namespace, name, value) \
                     SELECT $2, namespace, name, value FROM dead_properties WHERE collection_id = $1",
                (PropertyTarget::Object(_), PropertyTarget::Object(_)) =>
                    "INSERT INTO dead_properties (object_id, namespace, name, value) \
                     SELECT $2, namespace, name, value FROM dead_properties WHERE object_id = $1",
                _ => return Err(StoreError::Invalid("property copy between kinds".into())),
            };
            let id = |t: PropertyTarget| match t {
                PropertyTarget::Collection(i) | PropertyTarget::Object(i) => i,
            };
            sqlx::query(sql).bind(id(from)).bind(id(to)).execute(&mut *conn).await?;
            Ok(())
        }
    };
}
pub(crate) use body;
