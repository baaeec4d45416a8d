//! Stored objects (non-collection resources): metadata, exact bytes, and the
//! conditional, quota-checked `PUT` and `DELETE`.
//!
//! Every write bumps the collection's revision first, so the `If-Match` /
//! `If-None-Match` condition, the lock guard and the quota are checked under
//! that lock.
//!
//! Expanded by [`sql_store!`](super::sql_store) into the per-database module
//! of the same name (see the [module documentation](super)).

/// The functions of this concern, for the database of the enclosing module.
macro_rules! body {
    () => {
        use super::*;
        use super::changes::{bump, log_change};
        use super::collections::{check_quota, fetch_collection_by_path};
        use super::locks::{check_guard, remove_locks_under_in};
        use super::outbox::enqueue;

        // ------------------------------------------------------ Store methods

        pub(super) async fn object(store: &Backend, collection: CollectionId, name: &str) -> StoreResult<Option<ObjectMeta>> {
            fetch_object_named(&mut *store.reader().acquire().await?, collection, name).await
        }

        pub(super) async fn objects(store: &Backend, collection: CollectionId) -> StoreResult<Vec<ObjectMeta>> {
            // The revision first: a listing read after it is never older
            // than the revision it is cached under (see `listing`).
            let mut conn = store.read_conn().await?;
            let revision = current_revision(&mut conn, collection).await;
            let Some(revision) = conn.done(revision)? else { return Ok(Vec::new()) };
            if let Some(listing) = store.listing_cache().get(collection, revision) {
                return Ok(listing.as_ref().clone());
            }
            let mut conn = store.reader().acquire().await?;
            let rows: Vec<ObjectRow> = sqlx::query_as(concat!(
                "SELECT ", object_cols!(), " FROM objects WHERE collection_id = $1 ORDER BY name"
            ))
            .bind(collection)
            .fetch_all(&mut *conn)
            .await?;
            let listing: Vec<ObjectMeta> = rows.into_iter().map(Into::into).collect();
            store.listing_cache().put(collection, revision, std::sync::Arc::new(listing.clone()));
            Ok(listing)
        }

        pub(super) async fn object_at(
            store: &Backend,
            parent_path: &str,
            name: &str,
            with_content: bool,
        ) -> StoreResult<Option<(Collection, ObjectMeta, Option<bytes::Bytes>)>> {
            if let Some(found) = store.coalesced_object_at(parent_path, name, with_content).await {
                return found;
            }
            #[derive(sqlx::FromRow)]
            struct Row {
                #[sqlx(flatten)]
                collection: CollectionRow,
                #[sqlx(flatten)]
                object: PrefixedObjectRow,
                content: Option<Vec<u8>>,
            }
            let content = if with_content { ", o.content" } else { ", NULL AS content" };
            let sql = format!(
                "SELECT {COLLECTION_AND_OBJECT_COLUMNS}{content} FROM collections c JOIN objects o ON o.collection_id = c.id \
                 WHERE c.path = $1 AND o.name = $2"
            );
            let mut conn = store.read_conn().await?;
            let row: Result<Option<Row>, _> = sqlx::query_as(&sql).bind(parent_path).bind(name).fetch_optional(&mut *conn).await;
            let row = conn.done(row)?;
            match row {
                Some(r) => Ok(Some((r.collection.into_collection()?, r.object.into(), r.content.map(bytes::Bytes::from)))),
                None => Ok(None),
            }
        }

        pub(super) async fn query_objects(store: &Backend, collection: CollectionId, q: &ObjectQuery) -> StoreResult<Vec<IndexedObject>> {
            // Optional conditions are written so that one statement serves
            // every combination: `$2 IS NULL OR component = $2`, and the time
            // bounds compare against the full i64 range when absent. The
            // (collection_id, component, time_start) index serves it.
            let (start, end) = q.time_range.unwrap_or((i64::MIN, i64::MAX));
            let sql = if q.with_content {
                concat!("SELECT ", object_cols!(), ", ", index_cols!(), ", content FROM objects ")
            } else {
                concat!("SELECT ", object_cols!(), ", ", index_cols!(), ", NULL AS content FROM objects ")
            };
            let sql = format!(
                "{sql} WHERE collection_id = $1 AND ($2 IS NULL OR component = $2) \
                 AND (time_start IS NULL OR time_start <= $3) AND (time_end IS NULL OR time_end >= $4) ORDER BY name"
            );
            let rows: Vec<IndexedRow> = sqlx::query_as(&sql)
                .bind(collection)
                .bind(&q.component)
                .bind(end)
                .bind(start)
                .fetch_all(store.reader())
                .await?;
            Ok(rows
                .into_iter()
                .map(|r| IndexedObject { meta: r.meta.into(), index: r.index.into(), content: r.content.map(bytes::Bytes::from) })
                .collect())
        }

        /// The search text of every object of `collection`, by name, as of
        /// `revision` (read here when the caller has not), from the cache
        /// when it holds that revision.
        pub(super) async fn search_texts(
            store: &Backend,
            collection: CollectionId,
            revision: Option<i64>,
        ) -> StoreResult<std::sync::Arc<Vec<(String, String)>>> {
            let revision = match revision {
                Some(r) => r,
                None => {
                    let mut conn = store.read_conn().await?;
                    let revision = current_revision(&mut conn, collection).await;
                    match conn.done(revision)? {
                        Some(r) => r,
                        None => return Ok(Default::default()),
                    }
                }
            };
            if let Some(texts) = store.listing_cache().search_texts(collection, revision) {
                return Ok(texts);
            }
            // Read after the revision: never older than what it is filed under.
            let rows: Vec<(String, Option<String>)> =
                sqlx::query_as("SELECT name, search_text FROM objects WHERE collection_id = $1 ORDER BY name")
                    .bind(collection)
                    .fetch_all(store.reader())
                    .await?;
            let texts: std::sync::Arc<Vec<(String, String)>> =
                std::sync::Arc::new(rows.into_iter().map(|(n, t)| (n, t.unwrap_or_default())).collect());
            store.listing_cache().put_search_texts(collection, revision, texts.clone());
            Ok(texts)
        }

        pub(super) async fn objects_by_name(
            store: &Backend,
            collection: CollectionId,
            known_revision: Option<i64>,
            names: &[String],
            with_content: bool,
        ) -> StoreResult<Vec<(ObjectMeta, Option<bytes::Bytes>)>> {
            if !with_content {
                return read_objects_by_name(store, collection, names, false).await;
            }
            // Objects of a cached listing of the current revision whose bytes
            // are cached need no read; the others are read in one batch (and
            // their bytes cached). Without such a listing nothing is listed:
            // the cost stays proportional to the names asked for. The
            // revision the caller just read serves as the current one (the
            // answer is then that of the moment it was read).
            let known = known_revision.and_then(|r| store.listing_cache().get(collection, r));
            let listing = match known {
                Some(listing) => listing,
                None => {
                    let mut conn = store.read_conn().await?;
                    let revision = current_revision(&mut conn, collection).await;
                    let revision = conn.done(revision)?;
                    revision.and_then(|r| store.listing_cache().get(collection, r)).unwrap_or_default()
                }
            };
            let mut found = Vec::with_capacity(names.len());
            let mut missing = Vec::new();
            for name in names {
                let cached = listing
                    .binary_search_by(|m| m.name.as_str().cmp(name))
                    .ok()
                    .map(|i| &listing[i])
                    .and_then(|meta| store.listing_cache().content(meta.id, &meta.etag).map(|c| (meta.clone(), c)));
                match cached {
                    Some((meta, content)) => found.push((meta, Some(content))),
                    None => missing.push(name.clone()),
                }
            }
            if !missing.is_empty() {
                for (meta, content) in read_objects_by_name(store, collection, &missing, true).await? {
                    if let Some(c) = &content {
                        store.listing_cache().put_content(meta.id, &meta.etag, c.clone());
                    }
                    found.push((meta, content));
                }
            }
            Ok(found)
        }

        async fn read_objects_by_name(
            store: &Backend,
            collection: CollectionId,
            names: &[String],
            with_content: bool,
        ) -> StoreResult<Vec<(ObjectMeta, Option<bytes::Bytes>)>> {
            let select = if with_content {
                concat!("SELECT ", object_cols!(), ", content FROM objects")
            } else {
                concat!("SELECT ", object_cols!(), ", NULL AS content FROM objects")
            };
            let mut found = Vec::with_capacity(names.len());
            // Bounded IN lists: one statement per chunk.
            for chunk in names.chunks(200) {
                let placeholders: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 2)).collect();
                let sql = format!("{select} WHERE collection_id = $1 AND name IN ({})", placeholders.join(", "));
                let mut query = sqlx::query_as::<_, MaybeContentRow>(&sql).bind(collection);
                for name in chunk {
                    query = query.bind(name);
                }
                let mut conn = store.read_conn().await?;
                let rows = query.fetch_all(&mut *conn).await;
                let rows = conn.done(rows)?;
                found.extend(rows.into_iter().map(|r| (r.meta.into(), r.content.map(bytes::Bytes::from))));
            }
            Ok(found)
        }

        pub(super) async fn object_with_content(store: &Backend, id: ObjectId) -> StoreResult<Option<(ObjectMeta, bytes::Bytes)>> {
            // One statement: the metadata (ETag) describes exactly these bytes.
            let mut conn = store.read_conn().await?;
            let row: Result<Option<ObjectContentRow>, _> =
                sqlx::query_as(concat!("SELECT ", object_cols!(), ", content FROM objects WHERE id = $1"))
                    .bind(id)
                    .fetch_optional(&mut *conn)
                    .await;
            let row = conn.done(row)?;
            Ok(row.map(|r| (r.meta.into(), bytes::Bytes::from(r.content))))
        }

        pub(super) async fn put_object(store: &Backend, put: PutObject) -> StoreResult<PutOutcome> {
            validate_name(&put.name)?;
            let now = now_millis();
            let size = put.content.len() as i64;
            let etag = etag_for(&put.content);
            let mut tx = store.begin_guarded_write().await?;
            // Bump first: the collection row lock serializes writers.
            let (rev, owner, coll_path) =
                bump(&mut tx, put.collection, now).await?.ok_or(StoreError::MissingParent)?;
            // The collection the request named, not where a MOVE has since
            // put it (RFC 4918 §9.7.1: 409 without the parent).
            if coll_path != put.collection_path {
                return Err(StoreError::MissingParent);
            }
            let existing = fetch_object_named(&mut tx, put.collection, &put.name).await?;
            // The object itself and, when it is created, the collection's
            // membership (RFC 4918 §7.4).
            let target = format!("{coll_path}{}", put.name);
            let places: &[&str] = if existing.is_some() { &[&target] } else { &[&target, &coll_path] };
            check_guard(&mut tx, &put.guard.with(places, &[]), now).await?;
            check_condition(&put.condition, existing.as_ref().map(|o| o.etag.as_str()))?;
            if fetch_collection_by_path(&mut tx, &child_path(&coll_path, &put.name)).await?.is_some() {
                return Err(StoreError::AlreadyExists);
            }
            if put.unique_uid {
                check_uid_unique(&mut tx, put.collection, &put.name, put.index.uid.as_deref()).await?;
            }
            if let Some(limit) = put.quota_limit {
                let old = existing.as_ref().map_or(0, |o| o.size);
                check_quota(&mut tx, owner, limit, size - old).await?;
            }
            let meta = match &existing {
                Some(old) => {
                    let row: ObjectRow = sqlx::query_as(concat!(
                        "UPDATE objects SET content_type = $2, etag = $3, size = $4, content = $5, modified_at = $6, \
                         uid = $7, component = $8, time_start = $9, time_end = $10, time_simple = $11, instances = $12, \
                         search_text = $13 WHERE id = $1 RETURNING ", object_cols!()
                    ))
                    .bind(old.id)
                    .bind(&put.content_type)
                    .bind(&etag)
                    .bind(size)
                    .bind(put.content.as_ref())
                    .bind(now)
                    .bind(&put.index.uid)
                    .bind(&put.index.component)
                    .bind(put.index.time_start)
                    .bind(put.index.time_end)
                    .bind(put.index.time_simple)
                    .bind(put.index.encode_instances())
                    .bind(&put.index.search_text)
                    .fetch_one(&mut *tx)
                    .await?;
                    row.into()
                }
                None => {
                    let new = NewObjectRow { name: &put.name, content_type: &put.content_type, content: &put.content, etag: &etag };
                    insert_object(&mut tx, put.collection, &new, &put.index, now).await?
                }
            };
            log_change(&mut tx, put.collection, &put.name, rev, false).await?;
            enqueue(&mut tx, &put.enqueue, now).await?;
            tx.commit().await?;
            // One change, one bump: a cached listing follows, and the bytes
            // just written are those of this ETag.
            store.listing_cache().advance(put.collection, rev, &put.name, Some(&meta));
            store.listing_cache().put_content(meta.id, &meta.etag, put.content.clone());
            Ok(PutOutcome { created: existing.is_none(), meta })
        }

        pub(super) async fn delete_object(
            store: &Backend,
            at: &Resolved,
            name: &str,
            if_match: Option<&str>,
            guard: &LockGuard,
            jobs: &[NewJob],
        ) -> StoreResult<()> {
            let now = now_millis();
            let collection = at.id;
            let mut tx = store.begin_guarded_write().await?;
            let (rev, _, coll_path) = bump(&mut tx, collection, now).await?.ok_or(StoreError::NotFound)?;
            // RFC 4918 §9.6: the member the request named, not one a
            // concurrent MOVE of its collection has taken elsewhere.
            if coll_path != at.path {
                return Err(StoreError::NotFound);
            }
            check_guard(&mut tx, &guard.with(&[&format!("{coll_path}{name}"), &coll_path], &[]), now).await?;
            let object = fetch_object_named(&mut tx, collection, name).await?.ok_or(StoreError::NotFound)?;
            if let Some(want) = if_match {
                if object.etag != want {
                    return Err(StoreError::PreconditionFailed);
                }
            }
            delete_object_row(&mut tx, object.id, &object_path(&coll_path, name)).await?;
            log_change(&mut tx, collection, name, rev, true).await?;
            enqueue(&mut tx, jobs, now).await?;
            tx.commit().await?;
            store.listing_cache().advance(collection, rev, name, None);
            Ok(())
        }

        // ------------------------------------------------------------ helpers

        /// The collection's revision, which keys the listing cache.
        async fn current_revision(conn: &mut Conn, collection: CollectionId) -> StoreResult<Option<i64>> {
            let row: Option<(i64,)> = sqlx::query_as("SELECT sync_revision FROM collections WHERE id = $1")
                .bind(collection)
                .fetch_optional(&mut *conn)
                .await?;
            Ok(row.map(|(r,)| r))
        }

        pub(super) async fn fetch_object(conn: &mut Conn, id: i64) -> StoreResult<Option<ObjectMeta>> {
            let row: Option<ObjectRow> =
                sqlx::query_as(concat!("SELECT ", object_cols!(), " FROM objects WHERE id = $1"))
                    .bind(id)
                    .fetch_optional(&mut *conn)
                    .await?;
            Ok(row.map(Into::into))
        }

        pub(super) async fn fetch_object_named(conn: &mut Conn, collection: i64, name: &str) -> StoreResult<Option<ObjectMeta>> {
            let row: Option<ObjectRow> = sqlx::query_as(concat!(
                "SELECT ", object_cols!(), " FROM objects WHERE collection_id = $1 AND name = $2"
            ))
            .bind(collection)
            .bind(name)
            .fetch_optional(&mut *conn)
            .await?;
            Ok(row.map(Into::into))
        }

        /// Insert a new object (`new.etag` is the [`etag_for`] its content).
        pub(super) async fn insert_object(
            conn: &mut Conn,
            collection: i64,
            new: &NewObjectRow<'_>,
            index: &ObjectIndex,
            now: i64,
        ) -> StoreResult<ObjectMeta> {
            let NewObjectRow { name, content_type, content, etag } = *new;
            let row: ObjectRow = sqlx::query_as(concat!(
                "INSERT INTO objects (collection_id, name, content_type, etag, size, content, created_at, modified_at, \
                 uid, component, time_start, time_end, time_simple, instances, search_text) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8, $9, $10, $11, $12, $13, $14) RETURNING ", object_cols!()
            ))
            .bind(collection)
            .bind(name)
            .bind(content_type)
            .bind(etag)
            .bind(content.len() as i64)
            .bind(content)
            .bind(now)
            .bind(&index.uid)
            .bind(&index.component)
            .bind(index.time_start)
            .bind(index.time_end)
            .bind(index.time_simple)
            .bind(index.encode_instances())
            .bind(&index.search_text)
            .fetch_one(&mut *conn)
            .await
            .map_err(map_unique)?;
            Ok(row.into())
        }

        /// RFC 4791 §5.3.2.1 / RFC 6352 §6.3.2.1: no other member of
        /// `collection` than `name` may have `uid`.
        async fn check_uid_unique(conn: &mut Conn, collection: i64, name: &str, uid: Option<&str>) -> StoreResult<()> {
            let Some(uid) = uid else { return Ok(()) };
            let taken: Option<(String,)> =
                sqlx::query_as("SELECT name FROM objects WHERE collection_id = $1 AND uid = $2 AND name <> $3 LIMIT 1")
                    .bind(collection)
                    .bind(uid)
                    .bind(name)
                    .fetch_optional(&mut *conn)
                    .await?;
            match taken {
                Some((name,)) => Err(StoreError::UidConflict { name }),
                None => Ok(()),
            }
        }

        pub(super) async fn delete_object_row(conn: &mut Conn, id: i64, path: &str) -> StoreResult<()> {
            sqlx::query("DELETE FROM objects WHERE id = $1").bind(id).execute(&mut *conn).await?;
            remove_locks_under_in(conn, path).await
        }
    };
}
pub(crate) use body;
