//! `COPY` and `MOVE` of objects and collections (RFC 4918 §9.8, §9.9), each one
//! transaction.
//!
//! The destination parent's revision is bumped (both parents', in id order,
//! for a move) before anything is checked, the lock guard first; an existing
//! destination is replaced only with `Overwrite: T`. A COPY, or a MOVE to
//! another owner, is checked against the destination owner's quota once
//! written, before commit (so replaced bytes are already subtracted).
//!
//! Expanded by [`sql_store!`](super::sql_store) into the per-database module
//! of the same name (see the [module documentation](super)).

/// The functions of this concern, for the database of the enclosing module.
macro_rules! body {
    () => {
        use super::*;
        use super::changes::{bump, bump_and_hold, bump_two, log_change};
        use super::collections::{check_quota, delete_subtree, fetch_collection, fetch_collection_by_path, insert_collection};
        use super::locks::{check_guard, remove_locks_under_in};
        use super::objects::{delete_object_row, fetch_object, fetch_object_named};
        use super::outbox::enqueue;
        use super::properties::copy_properties;

        // ------------------------------------------------------ Store methods

        pub(super) async fn copy_object(store: &Backend, at: &Resolved, to: Destination, guard: &LockGuard) -> StoreResult<TransferOutcome> {
            validate_name(&to.name)?;
            let now = now_millis();
            let id = at.id;
            let mut tx = store.begin_guarded_write().await?;
            let seen = fetch_object(&mut tx, id).await?.ok_or(StoreError::NotFound)?;
            // The destination's revision, and the source's collection held
            // still (no revision: nothing changes there) while it is copied.
            let (bumped, src_coll_path) = bump_and_hold(&mut tx, to.parent, seen.collection, now).await?;
            let (rev, dest_owner, dest_path) = bumped.ok_or(StoreError::MissingParent)?;
            let src = fetch_object(&mut tx, id).await?.ok_or(StoreError::NotFound)?;
            let src_coll_path = src_coll_path.filter(|_| src.collection == seen.collection).ok_or(StoreError::NotFound)?;
            check_named(&object_path(&src_coll_path, &src.name), at, &dest_path, &to)?;
            if src.collection == to.parent && src.name == to.name {
                return Err(StoreError::Invalid("source and destination are the same".into()));
            }
            let dest_object = object_path(&dest_path, &to.name);
            let dest_collection = child_path(&dest_path, &to.name);
            check_guard(&mut tx, &guard.with(&[&dest_object, &dest_path], &[&dest_collection]), now).await?;
            if src_coll_path.starts_with(&child_path(&dest_path, &to.name)) && to.overwrite {
                return Err(StoreError::Invalid("destination contains the source".into()));
            }
            let replaced = clear_destination(&mut tx, to.parent, &dest_path, &to.name, to.overwrite).await?;
            let dest_coll = fetch_collection(&mut tx, to.parent).await?.ok_or(StoreError::MissingParent)?;
            check_uid_free(&mut tx, &dest_coll, id, Source::Stays).await?;
            let (new_id,): (i64,) = sqlx::query_as(
                "INSERT INTO objects (collection_id, name, content_type, etag, size, content, created_at, modified_at, \
                 uid, component, time_start, time_end, time_simple, instances, search_text, schedule_tag) \
                 SELECT $1, $2, content_type, etag, size, content, $3, $3, uid, component, time_start, time_end, time_simple, instances, search_text, \
                 schedule_tag \
                 FROM objects WHERE id = $4 RETURNING id",
            )
            .bind(to.parent)
            .bind(&to.name)
            .bind(now)
            .bind(id)
            .fetch_one(&mut *tx)
            .await
            .map_err(map_unique)?;
            copy_properties(&mut tx, PropertyTarget::Object(id), PropertyTarget::Object(new_id)).await?;
            if let Some(limit) = to.quota_limit {
                check_quota(&mut tx, dest_owner, limit, 0).await?;
            }
            log_change(&mut tx, to.parent, &to.name, rev, false).await?;
            let jobs = enqueue(&mut tx, &to.enqueue, now).await?;
            tx.commit().await?;
            Ok(TransferOutcome { replaced, jobs })
        }

        pub(super) async fn move_object(store: &Backend, at: &Resolved, to: Destination, guard: &LockGuard) -> StoreResult<TransferOutcome> {
            validate_name(&to.name)?;
            let now = now_millis();
            let id = at.id;
            let mut tx = store.begin_guarded_write().await?;
            let found = fetch_object(&mut tx, id).await?.ok_or(StoreError::NotFound)?;
            let (src_rev, dest_rev) = bump_two(&mut tx, found.collection, to.parent, now).await?;
            let dest_rev = dest_rev.ok_or(StoreError::MissingParent)?;
            // Re-read under the collection locks: a MOVE that waited behind
            // another finds the object gone from the name it was asked for.
            let src = fetch_object(&mut tx, id).await?.ok_or(StoreError::NotFound)?;
            let src_rev = src_rev.filter(|_| src.collection == found.collection).ok_or(StoreError::NotFound)?;
            let src_coll = fetch_collection(&mut tx, src.collection).await?.ok_or(StoreError::NotFound)?;
            let dest_coll = fetch_collection(&mut tx, to.parent).await?.ok_or(StoreError::MissingParent)?;
            let src_path = object_path(&src_coll.path, &src.name);
            check_named(&src_path, at, &dest_coll.path, &to)?;
            if src.collection == to.parent && src.name == to.name {
                return Err(StoreError::Invalid("source and destination are the same".into()));
            }
            let dest_object = object_path(&dest_coll.path, &to.name);
            let dest_collection = child_path(&dest_coll.path, &to.name);
            let places = [src_path.as_str(), &src_coll.path, &dest_object, &dest_coll.path];
            check_guard(&mut tx, &guard.with(&places, &[&dest_collection]), now).await?;
            if src_coll.path.starts_with(&child_path(&dest_coll.path, &to.name)) && to.overwrite {
                return Err(StoreError::Invalid("destination contains the source".into()));
            }
            let replaced = clear_destination(&mut tx, to.parent, &dest_coll.path, &to.name, to.overwrite).await?;
            check_uid_free(&mut tx, &dest_coll, id, Source::Leaves).await?;
            sqlx::query("UPDATE objects SET collection_id = $2, name = $3 WHERE id = $1")
                .bind(id)
                .bind(to.parent)
                .bind(&to.name)
                .execute(&mut *tx)
                .await
                .map_err(map_unique)?;
            remove_locks_under_in(&mut tx, &object_path(&src_coll.path, &src.name)).await?;
            if let (Some(limit), true) = (to.quota_limit, dest_coll.owner != src_coll.owner) {
                check_quota(&mut tx, dest_coll.owner, limit, 0).await?;
            }
            log_change(&mut tx, src.collection, &src.name, src_rev, true).await?;
            log_change(&mut tx, to.parent, &to.name, dest_rev, false).await?;
            let jobs = enqueue(&mut tx, &to.enqueue, now).await?;
            tx.commit().await?;
            Ok(TransferOutcome { replaced, jobs })
        }

        pub(super) async fn copy_collection(
            store: &Backend,
            at: &Resolved,
            to: Destination,
            recursive: bool,
            guard: &LockGuard,
        ) -> StoreResult<TransferOutcome> {
            validate_name(&to.name)?;
            let now = now_millis();
            let id = at.id;
            let mut tx = store.begin_guarded_write().await?;
            let (rev, dest_owner, dest_parent_path) =
                bump(&mut tx, to.parent, now).await?.ok_or(StoreError::MissingParent)?;
            // Collections move and vanish only in exclusive writes, which
            // this guarded one excludes: the source's path holds until commit.
            let src = fetch_collection(&mut tx, id).await?.ok_or(StoreError::NotFound)?;
            check_named(&src.path, at, &dest_parent_path, &to)?;
            let dest = child_path(&dest_parent_path, &to.name);
            let dest_object = object_path(&dest_parent_path, &to.name);
            check_guard(&mut tx, &guard.with(&[&dest_parent_path, &dest, &dest_object], &[&dest]), now).await?;
            check_collection_transfer(&src.path, &dest, to.overwrite)?;
            let replaced = clear_destination(&mut tx, to.parent, &dest_parent_path, &to.name, to.overwrite).await?;
            // Source subtree, parents before children (path order).
            let subtree: Vec<CollectionRow> = if recursive {
                sqlx::query_as(concat!(
                    "SELECT ", collection_cols!(), " FROM collections WHERE path >= $1 AND path < $2 ORDER BY path"
                ))
                .bind(&src.path)
                .bind(prefix_upper(&src.path))
                .fetch_all(&mut *tx)
                .await?
            } else {
                Vec::new()
            };
            let components = join_components(&src.components);
            let root = insert_collection(&mut tx, dest_owner, Some(to.parent), &dest, src.kind.as_str(), components.as_deref(), now).await?;
            copy_properties(&mut tx, PropertyTarget::Collection(src.id), PropertyTarget::Collection(root)).await?;
            let mut mapping = std::collections::HashMap::from([(src.id, root)]);
            for row in subtree {
                if row.id == src.id {
                    continue;
                }
                let parent = row.parent_id.and_then(|p| mapping.get(&p).copied());
                let path = format!("{dest}{}", &row.path[src.path.len()..]);
                let new_id = insert_collection(&mut tx, dest_owner, parent, &path, &row.kind, row.components.as_deref(), now).await?;
                copy_properties(&mut tx, PropertyTarget::Collection(row.id), PropertyTarget::Collection(new_id)).await?;
                mapping.insert(row.id, new_id);
            }
            if recursive {
                for (from, to_id) in &mapping {
                    copy_objects(&mut tx, *from, *to_id, now).await?;
                }
            }
            if let Some(limit) = to.quota_limit {
                check_quota(&mut tx, dest_owner, limit, 0).await?;
            }
            log_change(&mut tx, to.parent, &to.name, rev, false).await?;
            let jobs = enqueue(&mut tx, &to.enqueue, now).await?;
            tx.commit().await?;
            Ok(TransferOutcome { replaced, jobs })
        }

        pub(super) async fn move_collection(store: &Backend, at: &Resolved, to: Destination, guard: &LockGuard) -> StoreResult<TransferOutcome> {
            validate_name(&to.name)?;
            let now = now_millis();
            let id = at.id;
            let mut tx = store.begin_exclusive_write().await?;
            let found = fetch_collection(&mut tx, id).await?.ok_or(StoreError::NotFound)?;
            let (src_rev, dest_rev) = match found.parent {
                Some(p) => bump_two(&mut tx, p, to.parent, now).await?,
                None => (None, bump(&mut tx, to.parent, now).await?.map(|r| r.0)),
            };
            let dest_rev = dest_rev.ok_or(StoreError::MissingParent)?;
            // Re-read under the parents' locks: a MOVE that waited behind
            // another finds the collection gone from the path it was asked for.
            let src = fetch_collection(&mut tx, id).await?.ok_or(StoreError::NotFound)?;
            if src.parent != found.parent {
                return Err(StoreError::NotFound);
            }
            let dest_parent = fetch_collection(&mut tx, to.parent).await?.ok_or(StoreError::MissingParent)?;
            check_named(&src.path, at, &dest_parent.path, &to)?;
            let dest = child_path(&dest_parent.path, &to.name);
            let dest_object = object_path(&dest_parent.path, &to.name);
            let src_parent = parent_path(&src.path);
            let places = [src.path.as_str(), &src_parent, &dest_parent.path, &dest, &dest_object];
            check_guard(&mut tx, &guard.with(&places, &[&src.path, &dest]), now).await?;
            check_collection_transfer(&src.path, &dest, to.overwrite)?;
            let replaced = clear_destination(&mut tx, to.parent, &dest_parent.path, &to.name, to.overwrite).await?;
            remove_locks_under_in(&mut tx, &src.path).await?;
            // Rebase the subtree's paths; it now belongs to the destination
            // parent's owner (as a copy would).
            let keep_from = src.path.chars().count() as i32 + 1;
            sqlx::query(
                "UPDATE collections SET path = $1 || substr(path, $2), owner_id = $5 WHERE path >= $3 AND path < $4",
            )
            .bind(&dest)
            .bind(keep_from)
            .bind(&src.path)
            .bind(prefix_upper(&src.path))
            .bind(dest_parent.owner)
            .execute(&mut *tx)
            .await
            .map_err(map_unique)?;
            sqlx::query("UPDATE collections SET parent_id = $2, modified_at = $3 WHERE id = $1")
                .bind(id)
                .bind(to.parent)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            if let (Some(limit), true) = (to.quota_limit, dest_parent.owner != src.owner) {
                check_quota(&mut tx, dest_parent.owner, limit, 0).await?;
            }
            if let (Some(p), Some(rev)) = (src.parent, src_rev) {
                log_change(&mut tx, p, src.name(), rev, true).await?;
            }
            log_change(&mut tx, to.parent, &to.name, dest_rev, false).await?;
            let jobs = enqueue(&mut tx, &to.enqueue, now).await?;
            tx.commit().await?;
            Ok(TransferOutcome { replaced, jobs })
        }

        // ------------------------------------------------------------ helpers

        /// RFC 4918 §9.8, §9.9: a COPY or MOVE acts on the resource its
        /// Request-URI names and puts the result where its Destination
        /// names. `src_path` and `dest_parent_path` are where the source and
        /// the destination parent are now (read under their row locks):
        /// `NotFound` when the source has moved since the request resolved
        /// it (a concurrent MOVE won), `MissingParent` when the destination
        /// parent has.
        fn check_named(src_path: &str, at: &Resolved, dest_parent_path: &str, to: &Destination) -> StoreResult<()> {
            if src_path != at.path {
                return Err(StoreError::NotFound);
            }
            if dest_parent_path != to.parent_path {
                return Err(StoreError::MissingParent);
            }
            Ok(())
        }

        /// Make room at `parent.path + name`: `Ok(false)` if nothing is
        /// there, `AlreadyExists` without `overwrite`, otherwise delete it.
        async fn clear_destination(conn: &mut Conn, parent: i64, parent_path: &str, name: &str, overwrite: bool) -> StoreResult<bool> {
            let object = fetch_object_named(conn, parent, name).await?;
            let dir = child_path(parent_path, name);
            let collection = fetch_collection_by_path(conn, &dir).await?;
            if object.is_none() && collection.is_none() {
                return Ok(false);
            }
            if !overwrite {
                return Err(StoreError::AlreadyExists);
            }
            if let Some(o) = object {
                delete_object_row(conn, o.id, &object_path(parent_path, name)).await?;
            }
            if collection.is_some() {
                delete_subtree(conn, &dir).await?;
            }
            Ok(true)
        }

        /// Whether the transferred object itself still counts as a member of
        /// the destination once the transfer is done.
        #[derive(Clone, Copy, PartialEq, Eq)]
        enum Source {
            /// COPY: the source stays where it is, holding its UID.
            Stays,
            /// MOVE: the source leaves its place (a rename within one
            /// collection gives up the old name).
            Leaves,
        }

        /// RFC 4791 §5.3.2.1 / RFC 6352 §6.3.2.1: into a calendar or an address
        /// book, the UID of object `id` must not be used by another member
        /// (run once the destination is cleared, so that replacing the holder
        /// of the UID is allowed). A COPY within one collection conflicts
        /// with its own source.
        async fn check_uid_free(conn: &mut Conn, dest: &Collection, id: i64, source: Source) -> StoreResult<()> {
            if !matches!(dest.kind, CollectionKind::Calendar | CollectionKind::AddressBook) {
                return Ok(());
            }
            let taken: Option<(String,)> = sqlx::query_as(
                "SELECT d.name FROM objects s JOIN objects d ON d.collection_id = $2 AND d.uid = s.uid \
                 WHERE s.id = $1 AND ($3 OR d.id <> s.id) ORDER BY d.name LIMIT 1",
            )
            .bind(id)
            .bind(dest.id)
            .bind(source == Source::Stays)
            .fetch_optional(&mut *conn)
            .await?;
            match taken {
                Some((name,)) => Err(StoreError::UidConflict { name }),
                None => Ok(()),
            }
        }

        /// Copy every object of `from` (with its properties) into `to`.
        async fn copy_objects(conn: &mut Conn, from: i64, to: i64, now: i64) -> StoreResult<()> {
            sqlx::query(
                "INSERT INTO objects (collection_id, name, content_type, etag, size, content, created_at, modified_at, \
                 uid, component, time_start, time_end, time_simple, instances, search_text, schedule_tag) \
                 SELECT $2, name, content_type, etag, size, content, $3, $3, uid, component, time_start, time_end, time_simple, instances, search_text, \
                 schedule_tag \
                 FROM objects WHERE collection_id = $1",
            )
            .bind(from)
            .bind(to)
            .bind(now)
            .execute(&mut *conn)
            .await?;
            sqlx::query(
                "INSERT INTO dead_properties (object_id, namespace, name, value) \
                 SELECT n.id, p.namespace, p.name, p.value FROM dead_properties p \
                 JOIN objects o ON o.id = p.object_id \
                 JOIN objects n ON n.collection_id = $2 AND n.name = o.name \
                 WHERE o.collection_id = $1",
            )
            .bind(from)
            .bind(to)
            .execute(&mut *conn)
            .await?;
            Ok(())
        }

        /// Destination checks shared by COPY/MOVE of a collection at `src`
        /// to `dest`: refuse its own subtree, and replacing an ancestor.
        fn check_collection_transfer(src: &str, dest: &str, overwrite: bool) -> StoreResult<()> {
            if dest.starts_with(src) {
                return Err(StoreError::Invalid(format!("cannot copy or move {src} into itself ({dest})")));
            }
            if src.starts_with(dest) && overwrite {
                return Err(StoreError::Invalid(format!("cannot replace {dest}, an ancestor of {src}")));
            }
            Ok(())
        }
    };
}
pub(crate) use body;
