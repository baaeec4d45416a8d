//! Stored objects (non-collection resources): metadata, exact bytes, the
//! conditional, quota-checked `PUT` and `DELETE`, batches of them in one
//! transaction, and the lookup of a user's calendar objects by UID.
//!
//! Every write bumps the collection's revision first, so the `If-Match` /
//! `If-None-Match` condition, the lock guard and the quota are checked under
//! that lock. A batch bumps all its collections first, in id order (see the
//! [module documentation](super), "Concurrency").
//!
//! Expanded by [`sql_store!`](super::sql_store) into the per-database module
//! of the same name (see the [module documentation](super)).

/// The functions of this concern, for the database of the enclosing module.
macro_rules! body {
    () => {
        use super::*;
        use super::changes::{bump, bump_many};
        use super::collections::{check_quota, lock_owners, quota_used_in, quota_used_many};
        use super::locks::{check_guard, remove_locks_under_in};
        use super::outbox::{complete_in, enqueue};

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
            let mut tx = store.begin_guarded_write().await?;
            // Bump first: the collection row lock serializes writers.
            let bumped = bump(&mut tx, put.collection, now).await?.ok_or(StoreError::MissingParent)?;
            let rev = bumped.0;
            let mut view = read_view(&mut tx, &[&put], &[]).await?;
            let outcome = match write_put(&mut tx, &put, &bumped, now, None, &mut view).await? {
                PutWritten::Row(outcome) => outcome,
                PutWritten::Pending { jobs } => {
                    let meta = insert_pending(&mut tx, &view.inserts).await?.remove(&(put.collection, put.name.clone()));
                    PutOutcome { created: true, meta: meta.ok_or_else(|| StoreError::Invalid("an insert returned no row".into()))?, jobs }
                }
            };
            write_changes(&mut tx, &view.changes).await?;
            tx.commit().await?;
            // One change, one bump: a cached listing follows, and the bytes
            // just written are those of this ETag.
            store.listing_cache().advance(put.collection, rev, &put.name, Some(&outcome.meta));
            store.listing_cache().put_content(outcome.meta.id, &outcome.meta.etag, put.content.clone());
            Ok(outcome)
        }

        pub(super) async fn delete_object(
            store: &Backend,
            at: &Resolved,
            name: &str,
            if_match: Option<&str>,
            guard: &LockGuard,
            jobs: &[NewJob],
        ) -> StoreResult<Vec<JobId>> {
            let now = now_millis();
            let mut tx = store.begin_guarded_write().await?;
            let bumped = bump(&mut tx, at.id, now).await?.ok_or(StoreError::NotFound)?;
            let mut view = read_view(&mut tx, &[], &[(at.id, name)]).await?;
            write_delete(&mut tx, at, name, if_match, guard, &bumped, now, &mut view).await?;
            write_changes(&mut tx, &view.changes).await?;
            let ids = enqueue(&mut tx, jobs, now).await?;
            tx.commit().await?;
            store.listing_cache().advance(at.id, bumped.0, name, None);
            Ok(ids)
        }

        pub(super) async fn apply_batch(store: &Backend, batch: WriteBatch) -> StoreResult<BatchResult> {
            // Refused before anything is locked: bad names, a member written
            // twice, a job completed twice.
            let mut members = std::collections::HashSet::new();
            for w in &batch.writes {
                let (collection, name) = match w {
                    BatchWrite::Put(p) => (p.collection, p.name.as_str()),
                    BatchWrite::Delete { collection, name, .. } => (collection.id, name.as_str()),
                };
                validate_name(name)?;
                if !members.insert((collection, name)) {
                    return Err(StoreError::Invalid(format!("a batch writes {name:?} of collection {collection} twice")));
                }
            }
            let mut completed = batch.complete_jobs.clone();
            completed.sort_unstable();
            if completed.windows(2).any(|w| w[0] == w[1]) {
                return Err(StoreError::Invalid("a batch completes a job twice".into()));
            }
            let now = now_millis();
            let mut tx = store.begin_guarded_write().await?;
            // Every collection written into, bumped in ascending id order
            // before anything is checked (as `bump_two`: two transactions
            // lock shared collections in one order), then the owners whose
            // quota is checked, in ascending id order too (a single write
            // locks one owner, after its collections), then the jobs
            // completed (ascending ids). Every transaction takes these row
            // locks in that order: none waits for another in a cycle.
            let mut ids: Vec<CollectionId> = batch
                .writes
                .iter()
                .map(|w| match w {
                    BatchWrite::Put(p) => p.collection,
                    BatchWrite::Delete { collection, .. } => collection.id,
                })
                .collect();
            ids.sort_unstable();
            ids.dedup();
            let bumped = bump_many(&mut tx, &ids, now).await?;
            let mut owners: Vec<PrincipalId> = batch
                .writes
                .iter()
                .filter_map(|w| match w {
                    BatchWrite::Put(p) if p.quota_limit.is_some() => bumped.get(&p.collection).map(|b| b.1),
                    _ => None,
                })
                .collect();
            owners.sort_unstable();
            owners.dedup();
            lock_owners(&mut tx, &owners).await?;
            complete_in(&mut tx, &completed).await?;
            // What the writes' checks need, read once for the whole batch.
            let put_refs: Vec<&PutObject> = batch.writes.iter().filter_map(|w| match w {
                BatchWrite::Put(p) => Some(p),
                BatchWrite::Delete { .. } => None,
            }).collect();
            let deletes: Vec<(CollectionId, &str)> = batch.writes.iter().filter_map(|w| match w {
                BatchWrite::Delete { collection, name, .. } => Some((collection.id, name.as_str())),
                BatchWrite::Put(_) => None,
            }).collect();
            let mut view = read_view(&mut tx, &put_refs, &deletes).await?;
            let mut written = Vec::with_capacity(batch.writes.len());
            // Owners whose quota is checked are locked above: their usage is
            // read once and followed through the batch's writes, as each
            // write would read it after the ones before (a delete frees its
            // object's bytes, a put adds its size less the old one's; the
            // dead properties a delete takes with it are not subtracted:
            // the tally errs on the side of the limit).
            let mut tally = quota_used_many(&mut tx, &owners).await?;
            for w in &batch.writes {
                written.push(match w {
                    BatchWrite::Put(put) => {
                        let b = bumped.get(&put.collection).ok_or(StoreError::MissingParent)?;
                        Some(write_put(&mut tx, put, b, now, Some(&mut tally), &mut view).await?)
                    }
                    BatchWrite::Delete { collection, name, if_match, guard } => {
                        let b = bumped.get(&collection.id).ok_or(StoreError::NotFound)?;
                        let freed = write_delete(&mut tx, collection, name, if_match.as_deref(), guard, b, now, &mut view).await?;
                        if let Some(used) = tally.get_mut(&b.1) {
                            *used -= freed;
                        }
                        None
                    }
                });
            }
            // The new objects, inserted together.
            let mut inserted = insert_pending(&mut tx, &view.inserts).await?;
            let mut outcomes = Vec::with_capacity(batch.writes.len());
            for (w, result) in batch.writes.iter().zip(written) {
                outcomes.push(match (w, result) {
                    (BatchWrite::Put(_), Some(PutWritten::Row(outcome))) => BatchOutcome::Put(outcome),
                    (BatchWrite::Put(put), Some(PutWritten::Pending { jobs })) => {
                        let meta = inserted.remove(&(put.collection, put.name.clone()));
                        let meta = meta.ok_or_else(|| StoreError::Invalid("an insert returned no row".into()))?;
                        BatchOutcome::Put(PutOutcome { created: true, meta, jobs })
                    }
                    _ => BatchOutcome::Deleted,
                });
            }
            write_changes(&mut tx, &view.changes).await?;
            let jobs = enqueue(&mut tx, &batch.enqueue, now).await?;
            tx.commit().await?;
            // Each collection moved by one revision, with all of the batch's
            // changes in it: a cached listing follows.
            let mut changes: std::collections::HashMap<CollectionId, Vec<(&str, Option<&ObjectMeta>)>> =
                std::collections::HashMap::new();
            for (w, outcome) in batch.writes.iter().zip(&outcomes) {
                match (w, outcome) {
                    (BatchWrite::Put(put), BatchOutcome::Put(o)) => {
                        changes.entry(put.collection).or_default().push((&put.name, Some(&o.meta)));
                        store.listing_cache().put_content(o.meta.id, &o.meta.etag, put.content.clone());
                    }
                    (BatchWrite::Delete { collection, name, .. }, _) => {
                        changes.entry(collection.id).or_default().push((name, None));
                    }
                    _ => {}
                }
            }
            for (collection, list) in changes {
                if let Some(b) = bumped.get(&collection) {
                    store.listing_cache().advance_many(collection, b.0, &list);
                }
            }
            Ok(BatchResult { outcomes, jobs })
        }

        pub(super) async fn calendar_objects_by_uid(
            store: &Backend,
            owners: &[PrincipalId],
            uid: &str,
        ) -> StoreResult<Vec<(Collection, ObjectMeta)>> {
            #[derive(sqlx::FromRow)]
            struct Row {
                #[sqlx(flatten)]
                collection: CollectionRow,
                #[sqlx(flatten)]
                object: PrefixedObjectRow,
            }
            // The owners' collections (collections_owner_idx), then the UID
            // in each calendar among them (objects_uid_idx).
            let mut owners = owners.to_vec();
            owners.sort_unstable();
            owners.dedup();
            let mut conn = store.reader().acquire().await?;
            let mut out = Vec::new();
            for chunk in list_chunks(&owners).iter() {
                let mut q = sqlx::QueryBuilder::<Db>::new(format!(
                    "SELECT {COLLECTION_AND_OBJECT_COLUMNS} FROM collections c \
                     JOIN objects o ON o.collection_id = c.id AND o.uid = "
                ));
                q.push_bind(uid).push(" WHERE c.kind = ").push_bind(CollectionKind::Calendar.as_str()).push(" AND c.owner_id IN (");
                let mut list = q.separated(", ");
                for owner in chunk {
                    list.push_bind(*owner);
                }
                q.push(")");
                let rows: Vec<Row> = q.build_query_as().fetch_all(&mut *conn).await?;
                for r in rows {
                    out.push((r.collection.into_collection()?, r.object.into()));
                }
            }
            out.sort_by(|a: &(Collection, ObjectMeta), b| (a.0.path.as_str(), a.1.name.as_str()).cmp(&(b.0.path.as_str(), b.1.name.as_str())));
            Ok(out)
        }

        pub(super) async fn objects_at(store: &Backend, members: &[(CollectionId, &str)]) -> StoreResult<Vec<ObjectMeta>> {
            let mut members = members.to_vec();
            members.sort_unstable();
            members.dedup();
            let mut conn = store.reader().acquire().await?;
            let mut out = Vec::with_capacity(members.len());
            for chunk in list_chunks(&members).iter() {
                out.extend(fetch_objects_at(&mut conn, chunk).await?);
            }
            Ok(out)
        }

        /// The objects at `members` (at most [`MEMBERS_PER_STATEMENT`]) that
        /// exist; one statement.
        async fn fetch_objects_at(conn: &mut Conn, members: &[(CollectionId, &str)]) -> StoreResult<Vec<ObjectMeta>> {
            if members.is_empty() {
                return Ok(Vec::new());
            }
            let mut q = sqlx::QueryBuilder::<Db>::new(concat!("SELECT ", object_cols!(), " FROM objects WHERE "));
            push_member_pairs(&mut q, "name", members);
            let rows: Vec<ObjectRow> = q.build_query_as().fetch_all(&mut *conn).await?;
            Ok(rows.into_iter().map(Into::into).collect())
        }

        // ------------------------------------------------- writes, in a transaction

        /// `put_object`'s checks and write, in the caller's guarded
        /// transaction, once `put.collection` was bumped (`bumped`: its new
        /// revision, owner and path); `put.enqueue` is written too.
        /// `tally`: in a batch, each owner's usage, read once (the batch
        /// locked the owners first) and kept up to date by its writes;
        /// None: read it for this write.
        async fn write_put(
            conn: &mut Conn,
            put: &PutObject,
            bumped: &(i64, i64, String),
            now: Millis,
            tally: Option<&mut std::collections::HashMap<PrincipalId, i64>>,
            view: &mut BatchView,
        ) -> StoreResult<PutWritten> {
            let (rev, owner, coll_path) = (bumped.0, bumped.1, bumped.2.as_str());
            let size = put.content.len() as i64;
            let etag = etag_for(&put.content);
            // The collection the request named, not where a MOVE has since
            // put it (RFC 4918 §9.7.1: 409 without the parent).
            if coll_path != put.collection_path {
                return Err(StoreError::MissingParent);
            }
            let existing = view.existing.remove(&(put.collection, put.name.clone()));
            // The object itself and, when it is created, the collection's
            // membership (RFC 4918 §7.4).
            let target = format!("{coll_path}{}", put.name);
            let places: &[&str] = if existing.is_some() { &[&target] } else { &[&target, coll_path] };
            check_guard(conn, &put.guard.with(places, &[]), now).await?;
            check_condition(&put.condition, existing.as_ref().map(|o| o.etag.as_str()))?;
            if view.collections.contains(&child_path(coll_path, &put.name)) {
                return Err(StoreError::AlreadyExists);
            }
            if put.unique_uid {
                view.check_uid_unique(put.collection, &put.name, put.index.uid.as_deref())?;
            }
            let old = existing.as_ref().map_or(0, |o| o.size);
            match (put.quota_limit, tally) {
                (Some(limit), Some(tally)) => {
                    let used = match tally.get(&owner) {
                        Some(u) => *u,
                        None => quota_used_in(conn, owner).await?,
                    };
                    if used + size - old > limit {
                        return Err(StoreError::QuotaExceeded);
                    }
                    tally.insert(owner, used + size - old);
                }
                (Some(limit), None) => check_quota(conn, owner, limit, size - old).await?,
                // Not checked, but counted for the batch's later checks.
                (None, Some(tally)) => {
                    if let Some(used) = tally.get_mut(&owner) {
                        *used += size - old;
                    }
                }
                (None, None) => {}
            }
            let meta = match &existing {
                Some(old) => {
                    let row: ObjectRow = sqlx::query_as(concat!(
                        "UPDATE objects SET content_type = $2, etag = $3, size = $4, content = $5, modified_at = $6, \
                         uid = $7, component = $8, time_start = $9, time_end = $10, time_simple = $11, instances = $12, \
                         search_text = $13, schedule_tag = $14 WHERE id = $1 RETURNING ", object_cols!()
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
                    .bind(&put.schedule_tag)
                    .fetch_one(&mut *conn)
                    .await?;
                    row.into()
                }
                None => {
                    // Inserted with the transaction's other new objects
                    // ([`insert_pending`]).
                    view.inserts.push(PendingInsert { put: put.clone(), etag, now });
                    view.written(put.collection, &put.name, put.index.uid.as_deref(), rev);
                    let jobs = enqueue(conn, &put.enqueue, now).await?;
                    return Ok(PutWritten::Pending { jobs });
                }
            };
            view.written(put.collection, &put.name, put.index.uid.as_deref(), rev);
            let jobs = enqueue(conn, &put.enqueue, now).await?;
            Ok(PutWritten::Row(PutOutcome { created: false, meta, jobs }))
        }

        /// `delete_object`'s checks and removal, in the caller's guarded
        /// transaction, once `at`'s collection was bumped (`bumped`: its new
        /// revision, owner and path).
        async fn write_delete(
            conn: &mut Conn,
            at: &Resolved,
            name: &str,
            if_match: Option<&str>,
            guard: &LockGuard,
            bumped: &(i64, i64, String),
            now: Millis,
            view: &mut BatchView,
        ) -> StoreResult<i64> {
            let (rev, coll_path) = (bumped.0, bumped.2.as_str());
            // RFC 4918 §9.6: the member the request named, not one a
            // concurrent MOVE of its collection has taken elsewhere.
            if coll_path != at.path {
                return Err(StoreError::NotFound);
            }
            check_guard(conn, &guard.with(&[&format!("{coll_path}{name}"), coll_path], &[]), now).await?;
            let object = view.existing.remove(&(at.id, name.to_string())).ok_or(StoreError::NotFound)?;
            if let Some(want) = if_match {
                if object.etag != want {
                    return Err(StoreError::PreconditionFailed);
                }
            }
            delete_object_row(conn, object.id, &object_path(coll_path, name)).await?;
            view.deleted(at.id, name, rev);
            Ok(object.size)
        }

        /// What the checks of a transaction's object writes read, read once
        /// for all of them once the transaction holds its row locks (so it
        /// changes only through the transaction's own writes, which keep it
        /// up to date), and the change-log rows they leave, written
        /// together at the end ([`write_changes`]). A batch of n writes thus
        /// costs three reads, not 3n.
        #[derive(Default)]
        pub(super) struct BatchView {
            /// The objects at the members written, by (collection, name).
            existing: std::collections::HashMap<(CollectionId, String), ObjectMeta>,
            /// Among the paths of the members put, those of collections.
            collections: std::collections::HashSet<String>,
            /// (collection, UID) → the members holding it, for the UIDs put.
            uids: std::collections::HashMap<(CollectionId, String), Vec<String>>,
            /// (collection, name, revision, deleted), in write order.
            pub(super) changes: Vec<(CollectionId, String, i64, bool)>,
            /// The new objects, to insert together.
            inserts: Vec<PendingInsert>,
        }

        /// A new object whose checks passed, to insert ([`insert_pending`]).
        struct PendingInsert {
            put: PutObject,
            etag: String,
            now: Millis,
        }

        /// What [`write_put`] did: the row as it now is (an object
        /// replaced), or a new object's insert left to [`insert_pending`].
        pub(super) enum PutWritten {
            Row(PutOutcome),
            Pending { jobs: Vec<JobId> },
        }

        /// Insert the new objects of a transaction ([`BatchView::inserts`]),
        /// a few rows per statement; their metadata by (collection, name).
        async fn insert_pending(
            conn: &mut Conn,
            inserts: &[PendingInsert],
        ) -> StoreResult<std::collections::HashMap<(CollectionId, String), ObjectMeta>> {
            let rows: Vec<(CollectionId, NewObjectRow<'_>, &ObjectIndex, Millis)> = inserts
                .iter()
                .map(|i| {
                    let p = &i.put;
                    let new = NewObjectRow {
                        name: p.name.as_str(),
                        content_type: p.content_type.as_str(),
                        content: p.content.as_ref(),
                        etag: i.etag.as_str(),
                        schedule_tag: p.schedule_tag.as_deref(),
                    };
                    (p.collection, new, &p.index, i.now)
                })
                .collect();
            let mut out = std::collections::HashMap::with_capacity(inserts.len());
            for meta in insert_objects(conn, &rows).await? {
                out.insert((meta.collection, meta.name.clone()), meta);
            }
            Ok(out)
        }

        /// Insert new objects (each `etag` the [`etag_for`] its content),
        /// a few rows per statement.
        async fn insert_objects(
            conn: &mut Conn,
            rows: &[(CollectionId, NewObjectRow<'_>, &ObjectIndex, Millis)],
        ) -> StoreResult<Vec<ObjectMeta>> {
            let mut out = Vec::with_capacity(rows.len());
            // 16 parameters a row.
            for chunk in row_chunks(rows, 32) {
                let mut q = sqlx::QueryBuilder::<Db>::new(
                    "INSERT INTO objects (collection_id, name, content_type, etag, size, content, created_at, modified_at, \
                     uid, component, time_start, time_end, time_simple, instances, search_text, schedule_tag) ",
                );
                q.push_values(chunk, |mut row, (collection, new, index, now)| {
                    row.push_bind(*collection)
                        .push_bind(new.name)
                        .push_bind(new.content_type)
                        .push_bind(new.etag)
                        .push_bind(new.content.len() as i64)
                        .push_bind(new.content)
                        .push_bind(*now)
                        .push_bind(*now)
                        .push_bind(index.uid.as_deref())
                        .push_bind(index.component.as_deref())
                        .push_bind(index.time_start)
                        .push_bind(index.time_end)
                        .push_bind(index.time_simple)
                        .push_bind(index.encode_instances())
                        .push_bind(index.search_text.as_deref())
                        .push_bind(new.schedule_tag);
                });
                q.push(concat!(" RETURNING ", object_cols!()));
                let rows: Vec<ObjectRow> = q.build_query_as().fetch_all(&mut *conn).await.map_err(map_unique)?;
                out.extend(rows.into_iter().map(ObjectMeta::from));
            }
            Ok(out)
        }

        impl BatchView {
            /// RFC 4791 §5.3.2.1 / RFC 6352 §6.3.2.1: no other member of
            /// `collection` than `name` may have `uid`.
            fn check_uid_unique(&self, collection: CollectionId, name: &str, uid: Option<&str>) -> StoreResult<()> {
                let Some(uid) = uid else { return Ok(()) };
                match self.uids.get(&(collection, uid.to_string())).and_then(|names| names.iter().find(|n| *n != name)) {
                    Some(other) => Err(StoreError::UidConflict { name: other.clone() }),
                    None => Ok(()),
                }
            }

            fn forget_member(&mut self, collection: CollectionId, name: &str) {
                for ((c, _), names) in self.uids.iter_mut() {
                    if *c == collection {
                        names.retain(|n| n != name);
                    }
                }
            }

            fn written(&mut self, collection: CollectionId, name: &str, uid: Option<&str>, revision: i64) {
                self.forget_member(collection, name);
                if let Some(uid) = uid {
                    self.uids.entry((collection, uid.to_string())).or_default().push(name.to_string());
                }
                self.changes.push((collection, name.to_string(), revision, false));
            }

            fn deleted(&mut self, collection: CollectionId, name: &str, revision: i64) {
                self.forget_member(collection, name);
                self.changes.push((collection, name.to_string(), revision, true));
            }
        }



        /// The [`BatchView`] of `puts` and `deletes`: the objects at their
        /// members, the collections at the members put, the members holding
        /// the UIDs put with `unique_uid`.
        pub(super) async fn read_view(
            conn: &mut Conn,
            puts: &[&PutObject],
            deletes: &[(CollectionId, &str)],
        ) -> StoreResult<BatchView> {
            let mut view = BatchView::default();
            let members: Vec<(CollectionId, &str)> =
                puts.iter().map(|p| (p.collection, p.name.as_str())).chain(deletes.iter().copied()).collect();
            for chunk in list_chunks(&members).iter() {
                for meta in fetch_objects_at(conn, chunk).await? {
                    view.existing.insert((meta.collection, meta.name.clone()), meta);
                }
            }
            let paths: Vec<String> = puts.iter().map(|p| child_path(&p.collection_path, &p.name)).collect();
            for chunk in list_chunks(&paths).iter() {
                let mut q = sqlx::QueryBuilder::<Db>::new("SELECT path FROM collections WHERE path IN (");
                let mut list = q.separated(", ");
                for path in chunk {
                    list.push_bind(path.as_str());
                }
                q.push(")");
                let rows: Vec<(String,)> = q.build_query_as().fetch_all(&mut *conn).await?;
                view.collections.extend(rows.into_iter().map(|(p,)| p));
            }
            let uids: Vec<(CollectionId, &str)> =
                puts.iter().filter(|p| p.unique_uid).filter_map(|p| p.index.uid.as_deref().map(|u| (p.collection, u))).collect();
            for chunk in list_chunks(&uids).iter() {
                let mut q = sqlx::QueryBuilder::<Db>::new("SELECT collection_id, uid, name FROM objects WHERE ");
                push_member_pairs(&mut q, "uid", chunk);
                let rows: Vec<(i64, String, String)> = q.build_query_as().fetch_all(&mut *conn).await?;
                for (collection, uid, name) in rows {
                    view.uids.entry((collection, uid)).or_default().push(name);
                }
            }
            Ok(view)
        }

        /// The change-log rows of a transaction's writes
        /// ([`BatchView::changes`]), a few statements for all of them.
        pub(super) async fn write_changes(conn: &mut Conn, changes: &[(CollectionId, String, i64, bool)]) -> StoreResult<()> {
            // One row per member (the last write of it), as ON CONFLICT
            // DO UPDATE may touch a row once per statement.
            let mut last: Vec<&(CollectionId, String, i64, bool)> = Vec::with_capacity(changes.len());
            for c in changes.iter().rev() {
                if !last.iter().any(|l| l.0 == c.0 && l.1 == c.1) {
                    last.push(c);
                }
            }
            last.reverse();
            for chunk in row_chunks(&last, 64) {
                let mut q = sqlx::QueryBuilder::<Db>::new("INSERT INTO changes (collection_id, name, revision, deleted) ");
                q.push_values(chunk, |mut row, (collection, name, revision, deleted)| {
                    row.push_bind(*collection).push_bind(name.as_str()).push_bind(*revision).push_bind(*deleted);
                });
                q.push(
                    " ON CONFLICT (collection_id, name) DO UPDATE \
                     SET revision = excluded.revision, deleted = excluded.deleted",
                );
                q.build().execute(&mut *conn).await?;
            }
            Ok(())
        }

        // ------------------------------------------------------------ helpers

        /// `(collection_id = $ AND column = $) OR …` for each pair (the
        /// indexes on (collection_id, name) and (collection_id, uid) serve
        /// each term).
        fn push_member_pairs<'a>(q: &mut sqlx::QueryBuilder<'a, Db>, column: &'static str, pairs: &[(CollectionId, &'a str)]) {
            for (i, (collection, value)) in pairs.iter().enumerate() {
                q.push(if i == 0 { "(collection_id = " } else { " OR (collection_id = " });
                q.push_bind(*collection).push(" AND ").push(column).push(" = ").push_bind(*value).push(")");
            }
        }

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
            let mut rows = insert_objects(conn, &[(collection, *new, index, now)]).await?;
            rows.pop().ok_or(StoreError::Database(sqlx::Error::RowNotFound))
        }

        pub(super) async fn delete_object_row(conn: &mut Conn, id: i64, path: &str) -> StoreResult<()> {
            sqlx::query("DELETE FROM objects WHERE id = $1").bind(id).execute(&mut *conn).await?;
            remove_locks_under_in(conn, path).await
        }
    };
}
pub(crate) use body;
