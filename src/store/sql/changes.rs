//! The per-collection revision and change log (RFC 6578 sync, CTag).
//!
//! `bump` is the serialization point of the whole store: every write
//! transaction that changes a collection's members first increments the
//! collection's `sync_revision` with `UPDATE … RETURNING`. In PostgreSQL that
//! row-locks the collection until commit (SQLite serializes all writers), so
//! conditions are checked and revisions assigned by one writer at a time, and
//! revisions commit in order. `log_change` then records the member under
//! that revision, one entry per name.
//!
//! Expanded by [`sql_store!`](super::sql_store) into the per-database module
//! of the same name (see the [module documentation](super)).

/// The functions of this concern, for the database of the enclosing module.
macro_rules! body {
    () => {
        use super::*;
        use super::collections::fetch_collection;

        // ------------------------------------------------------ Store methods

        pub(super) async fn changes_since(store: &Backend, collection: CollectionId, since: i64) -> StoreResult<Vec<Change>> {
            let mut conn = store.reader().acquire().await?;
            let coll = fetch_collection(&mut conn, collection).await?.ok_or(StoreError::NotFound)?;
            if since < 0 || since > coll.sync_revision {
                return Err(StoreError::InvalidSyncToken);
            }
            let rows: Vec<(String, i64, bool)> = sqlx::query_as(
                "SELECT name, revision, deleted FROM changes WHERE collection_id = $1 AND revision > $2 \
                 ORDER BY revision, name",
            )
            .bind(collection)
            .bind(since)
            .fetch_all(&mut *conn)
            .await?;
            Ok(rows.into_iter().map(|(name, revision, deleted)| Change { name, revision, deleted }).collect())
        }

        // ------------------------------------------------------------ helpers

        /// Bump a collection's revision (row-locking it); its new revision,
        /// owner and path, or None if it does not exist.
        pub(super) async fn bump(conn: &mut Conn, id: i64, now: i64) -> StoreResult<Option<(i64, i64, String)>> {
            Ok(sqlx::query_as(
                "UPDATE collections SET sync_revision = sync_revision + 1, modified_at = $2 \
                 WHERE id = $1 RETURNING sync_revision, owner_id, path",
            )
            .bind(id)
            .bind(now)
            .fetch_optional(&mut *conn)
            .await?)
        }

        /// Bump several collections (row-locking them in ascending id
        /// order first, as one bump after another would); the new revision,
        /// owner and path of each that exists. Two statements whatever their
        /// number (per [`MEMBERS_PER_STATEMENT`]; one where the transaction
        /// is the one writer).
        pub(super) async fn bump_many(
            conn: &mut Conn,
            ids: &[i64],
            now: i64,
        ) -> StoreResult<std::collections::HashMap<i64, (i64, i64, String)>> {
            let mut ids = ids.to_vec();
            ids.sort_unstable();
            ids.dedup();
            let mut out = std::collections::HashMap::with_capacity(ids.len());
            if let [id] = ids.as_slice() {
                if let Some(b) = bump(conn, *id, now).await? {
                    out.insert(*id, b);
                }
                return Ok(out);
            }
            if let Some(locking) = Backend::row_locking() {
                for chunk in list_chunks(&ids).iter() {
                    let mut q = sqlx::QueryBuilder::<Db>::new("SELECT id FROM collections WHERE id IN (");
                    let mut list = q.separated(", ");
                    for id in chunk {
                        list.push_bind(*id);
                    }
                    q.push(") ORDER BY id").push(locking);
                    q.build().execute(&mut *conn).await?;
                }
            }
            for chunk in list_chunks(&ids).iter() {
                let mut q = sqlx::QueryBuilder::<Db>::new("UPDATE collections SET sync_revision = sync_revision + 1, modified_at = ");
                q.push_bind(now).push(" WHERE id IN (");
                let mut list = q.separated(", ");
                for id in chunk {
                    list.push_bind(*id);
                }
                q.push(") RETURNING id, sync_revision, owner_id, path");
                let rows: Vec<(i64, i64, i64, String)> = q.build_query_as().fetch_all(&mut *conn).await?;
                out.extend(rows.into_iter().map(|(id, rev, owner, path)| (id, (rev, owner, path))));
            }
            Ok(out)
        }

        /// Bump two collections in id order (no lock-order deadlocks);
        /// revisions in argument order.
        pub(super) async fn bump_two(conn: &mut Conn, a: i64, b: i64, now: i64) -> StoreResult<(Option<i64>, Option<i64>)> {
            if a == b {
                let r = bump(conn, a, now).await?.map(|r| r.0);
                return Ok((r, r));
            }
            let (first, second) = if a < b { (a, b) } else { (b, a) };
            let r1 = bump(conn, first, now).await?.map(|r| r.0);
            let r2 = bump(conn, second, now).await?.map(|r| r.0);
            Ok(if a < b { (r1, r2) } else { (r2, r1) })
        }

        /// Row-lock a collection without changing its revision (a no-op
        /// `UPDATE`: PostgreSQL locks the row until commit, SQLite has one
        /// writer), so that its membership holds still until commit; its
        /// path, or None if it does not exist.
        pub(super) async fn hold(conn: &mut Conn, id: i64) -> StoreResult<Option<String>> {
            let row: Option<(String,)> =
                sqlx::query_as("UPDATE collections SET sync_revision = sync_revision WHERE id = $1 RETURNING path")
                    .bind(id)
                    .fetch_optional(&mut *conn)
                    .await?;
            Ok(row.map(|(path,)| path))
        }

        /// Bump `bumped` (as [`bump`]) and hold `held` (as [`hold`]), in id
        /// order (no lock-order deadlocks with [`bump_two`]); with one
        /// collection for both, it is bumped.
        pub(super) async fn bump_and_hold(
            conn: &mut Conn,
            bumped: i64,
            held: i64,
            now: i64,
        ) -> StoreResult<(Option<(i64, i64, String)>, Option<String>)> {
            if bumped == held {
                let b = bump(conn, bumped, now).await?;
                let path = b.as_ref().map(|b| b.2.clone());
                return Ok((b, path));
            }
            if bumped < held {
                let b = bump(conn, bumped, now).await?;
                Ok((b, hold(conn, held).await?))
            } else {
                let h = hold(conn, held).await?;
                Ok((bump(conn, bumped, now).await?, h))
            }
        }

        pub(super) async fn log_change(conn: &mut Conn, collection: i64, name: &str, revision: i64, deleted: bool) -> StoreResult<()> {
            sqlx::query(
                "INSERT INTO changes (collection_id, name, revision, deleted) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (collection_id, name) DO UPDATE \
                 SET revision = excluded.revision, deleted = excluded.deleted",
            )
            .bind(collection)
            .bind(name)
            .bind(revision)
            .bind(deleted)
            .execute(&mut *conn)
            .await?;
            Ok(())
        }
    };
}
pub(crate) use body;
