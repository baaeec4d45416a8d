//! The embedded SQLite store.
//!
//! The SQL of the store is portable between SQLite and PostgreSQL (numbered
//! `$N` parameters, `RETURNING`, `ON CONFLICT`, byte-wise text ordering), so
//! the [`Store`](super::Store) implementation is written once, in the
//! [`sql_store!`] macro below, and instantiated for [`SqliteStore`] here and
//! for [`PgStore`](super::postgres::PgStore) in `postgres.rs`. Each backend only
//! supplies its connection handling: `reader()`, `writer()`, `begin_write()`
//! and `run_migrations()`.
//!
//! SQLite specifics: WAL journal, 5 s busy timeout, foreign keys on. All
//! writes go through a single-connection pool and write transactions start with
//! `BEGIN IMMEDIATE`, so writers queue instead of failing with SQLITE_BUSY;
//! reads use a separate pool and see the last committed state (WAL).

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool, Transaction};

use super::{StoreError, StoreResult};

pub struct SqliteStore {
    read: SqlitePool,
    write: SqlitePool,
}

impl SqliteStore {
    /// Open (creating when missing) the database named by `sqlite://PATH`.
    pub async fn open(url: &str) -> StoreResult<Self> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(Duration::from_secs(5))
            .foreign_keys(true)
            .synchronous(SqliteSynchronous::Normal);
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        if !in_memory {
            if let Some(dir) = options.get_filename().parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|e| {
                    StoreError::Invalid(format!("cannot create directory {}: {e}", dir.display()))
                })?;
            }
        }
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(if in_memory { 1 } else { 0 })
            .idle_timeout(if in_memory { None } else { Some(Duration::from_secs(600)) })
            .max_lifetime(if in_memory { None } else { Some(Duration::from_secs(1800)) })
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options.clone())
            .await?;
        // An in-memory database exists once per connection: share the writer.
        let read = if in_memory {
            write.clone()
        } else {
            SqlitePoolOptions::new()
                .max_connections(4)
                .acquire_timeout(Duration::from_secs(30))
                .connect_with(options)
                .await?
        };
        Ok(SqliteStore { read, write })
    }

    fn reader(&self) -> &SqlitePool {
        &self.read
    }

    /// Pool for single-statement writes (serialized with the transactions).
    fn writer(&self) -> &SqlitePool {
        &self.write
    }

    async fn begin_write(&self) -> StoreResult<Transaction<'static, Sqlite>> {
        Ok(self.write.begin_with("BEGIN IMMEDIATE").await?)
    }

    async fn run_migrations(&self) -> StoreResult<()> {
        sqlx::migrate!("migrations/sqlite").run(&self.write).await?;
        Ok(())
    }
}

/// Pure helpers shared by both backends (no SQL).
pub(crate) mod common {
    use super::super::*;

    /// Map a unique-constraint violation to `AlreadyExists`.
    pub fn map_unique(e: sqlx::Error) -> StoreError {
        match &e {
            sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::AlreadyExists,
            _ => StoreError::Database(e),
        }
    }

    pub fn collection_kind(s: &str) -> StoreResult<CollectionKind> {
        CollectionKind::parse(s).ok_or_else(|| StoreError::Invalid(format!("unknown collection kind {s:?}")))
    }

    pub fn principal_kind(s: &str) -> StoreResult<PrincipalKind> {
        PrincipalKind::parse(s).ok_or_else(|| StoreError::Invalid(format!("unknown principal kind {s:?}")))
    }

    pub fn scope_str(scope: LockScope) -> &'static str {
        match scope {
            LockScope::Exclusive => "exclusive",
            LockScope::Shared => "shared",
        }
    }

    pub fn parse_scope(s: &str) -> StoreResult<LockScope> {
        match s {
            "exclusive" => Ok(LockScope::Exclusive),
            "shared" => Ok(LockScope::Shared),
            _ => Err(StoreError::Invalid(format!("unknown lock scope {s:?}"))),
        }
    }

    /// A member name: non-empty, no slash.
    pub fn validate_name(name: &str) -> StoreResult<()> {
        if name.is_empty() || name.contains('/') || name == "." || name == ".." {
            return Err(StoreError::Invalid(format!("invalid member name {name:?}")));
        }
        Ok(())
    }

    /// Path of the child collection `name` of the collection at `parent`.
    pub fn child_path(parent: &str, name: &str) -> String {
        format!("{parent}{name}/")
    }

    /// Path of the object `name` in the collection at `parent`.
    pub fn object_path(parent: &str, name: &str) -> String {
        format!("{parent}{name}")
    }

    /// Exclusive upper bound of the strings starting with `prefix` in byte
    /// order: `path >= prefix AND path < prefix_upper(prefix)` selects exactly
    /// the paths starting with `prefix` (byte-wise collation on both databases).
    pub fn prefix_upper(prefix: &str) -> String {
        let mut chars: Vec<char> = prefix.chars().collect();
        while let Some(last) = chars.pop() {
            let mut next = last as u32 + 1;
            if (0xD800..0xE000).contains(&next) {
                next = 0xE000;
            }
            if let Some(c) = char::from_u32(next) {
                chars.push(c);
                return chars.into_iter().collect();
            }
        }
        // Only reachable for a prefix made of char::MAX: nothing sorts above.
        char::MAX.to_string().repeat(prefix.chars().count() + 1)
    }

    /// The two spellings of the same resource: with and without trailing slash.
    pub fn same_resource_paths(path: &str) -> [String; 2] {
        if path == "/" || path.is_empty() {
            ["/".to_string(), "/".to_string()]
        } else if let Some(stripped) = path.strip_suffix('/') {
            [path.to_string(), stripped.to_string()]
        } else {
            [path.to_string(), format!("{path}/")]
        }
    }

    /// Proper ancestor collection paths of `path` (`/a/b/c` → `/`, `/a/`, `/a/b/`).
    pub fn ancestor_paths(path: &str) -> Vec<String> {
        let base = path.strip_suffix('/').unwrap_or(path);
        base.char_indices()
            .filter(|&(_, c)| c == '/')
            .map(|(i, _)| base[..=i].to_string())
            .filter(|p| p.len() < path.len() && p != path)
            .collect()
    }

    /// Compare a stored ETag with one supplied by a client (quotes tolerated).
    pub fn etag_matches(stored: &str, given: &str) -> bool {
        given == "*" || stored == given.trim().trim_matches('"')
    }

    pub fn check_condition(condition: &WriteCondition, existing_etag: Option<&str>) -> StoreResult<()> {
        let ok = match (condition, existing_etag) {
            (WriteCondition::None, _) => true,
            (WriteCondition::MustNotExist, e) => e.is_none(),
            (WriteCondition::MustExist, e) => e.is_some(),
            (WriteCondition::ETagMatches(want), Some(have)) => etag_matches(have, want),
            (WriteCondition::ETagMatches(_), None) => false,
        };
        if ok {
            Ok(())
        } else {
            Err(StoreError::PreconditionFailed)
        }
    }

    pub fn validate_property(namespace: &str, name: &str) -> StoreResult<()> {
        if name.is_empty() || name.contains(char::is_whitespace) || namespace.contains('\0') {
            return Err(StoreError::Invalid(format!("invalid property name {{{namespace}}}{name:?}")));
        }
        Ok(())
    }

    #[derive(sqlx::FromRow)]
    pub struct CollectionRow {
        pub id: i64,
        pub owner_id: i64,
        pub parent_id: Option<i64>,
        pub path: String,
        pub kind: String,
        pub sync_revision: i64,
        pub created_at: i64,
        pub modified_at: i64,
    }

    impl CollectionRow {
        pub fn into_collection(self) -> StoreResult<Collection> {
            Ok(Collection {
                id: self.id,
                owner: self.owner_id,
                parent: self.parent_id,
                path: self.path,
                kind: collection_kind(&self.kind)?,
                sync_revision: self.sync_revision,
                created_at: self.created_at,
                modified_at: self.modified_at,
            })
        }
    }

    #[derive(sqlx::FromRow)]
    pub struct ObjectRow {
        pub id: i64,
        pub collection_id: i64,
        pub name: String,
        pub content_type: String,
        pub etag: String,
        pub size: i64,
        pub created_at: i64,
        pub modified_at: i64,
    }

    impl From<ObjectRow> for ObjectMeta {
        fn from(r: ObjectRow) -> Self {
            ObjectMeta {
                id: r.id,
                collection: r.collection_id,
                name: r.name,
                content_type: r.content_type,
                etag: r.etag,
                size: r.size,
                created_at: r.created_at,
                modified_at: r.modified_at,
            }
        }
    }

    #[derive(sqlx::FromRow)]
    pub struct PrincipalRow {
        pub id: i64,
        pub username: String,
        pub kind: String,
        pub display_name: Option<String>,
        pub academie: Option<String>,
        pub password_hash: Option<String>,
        pub disabled: bool,
        pub is_admin: bool,
        pub quota_bytes: Option<i64>,
        pub created_at: i64,
    }

    impl PrincipalRow {
        pub fn into_principal(self) -> StoreResult<Principal> {
            Ok(Principal {
                id: self.id,
                username: self.username,
                kind: principal_kind(&self.kind)?,
                display_name: self.display_name,
                academie: self.academie,
                password_hash: self.password_hash,
                disabled: self.disabled,
                is_admin: self.is_admin,
                quota_bytes: self.quota_bytes,
                created_at: self.created_at,
            })
        }
    }

    #[derive(sqlx::FromRow)]
    pub struct LockRow {
        pub token: String,
        pub root: String,
        pub infinite: bool,
        pub scope: String,
        pub owner_xml: Option<String>,
        pub principal_id: i64,
        pub timeout_secs: Option<i64>,
        pub expires_at: Option<i64>,
    }

    impl LockRow {
        pub fn into_lock(self) -> StoreResult<Lock> {
            Ok(Lock {
                token: self.token,
                root: self.root,
                infinite: self.infinite,
                scope: parse_scope(&self.scope)?,
                owner_xml: self.owner_xml,
                principal: self.principal_id,
                timeout_secs: self.timeout_secs,
                expires_at: self.expires_at,
            })
        }
    }

    #[derive(sqlx::FromRow)]
    pub struct AcademieRow {
        pub id: i64,
        pub slug: String,
        pub name: String,
        pub region: Option<String>,
    }

    impl From<AcademieRow> for Academie {
        fn from(r: AcademieRow) -> Self {
            Academie { id: r.id, slug: r.slug, name: r.name, region: r.region }
        }
    }
}


/// The [`Store`](super::Store) implementation over portable SQL, written once
/// for both databases. `$store` must provide `reader()`, `writer()`,
/// `begin_write()` and `run_migrations()`; `$db` is its sqlx database.
///
/// Concurrency: every write transaction that changes a collection's members
/// first bumps that collection's `sync_revision` (`UPDATE … RETURNING`), which
/// row-locks it in PostgreSQL (and SQLite serializes all writers), so
/// conditions are checked and revisions assigned by one writer at a time.
macro_rules! sql_store {
    ($store:ty, $db:ty) => {
        mod sql_impl {
            use super::*;
            use $crate::store::sqlite::common::*;
            use $crate::store::*;

            type Conn = <$db as sqlx::Database>::Connection;

            macro_rules! collection_cols {
                () => {
                    "id, owner_id, parent_id, path, kind, sync_revision, created_at, modified_at"
                };
            }
            macro_rules! object_cols {
                () => {
                    "id, collection_id, name, content_type, etag, size, created_at, modified_at"
                };
            }
            macro_rules! lock_cols {
                () => {
                    "token, root, infinite, scope, owner_xml, principal_id, timeout_secs, expires_at"
                };
            }
            macro_rules! principal_select {
                () => {
                    "SELECT p.id, p.username, p.kind, p.display_name, a.slug AS academie, p.password_hash, \
                     p.disabled, p.is_admin, p.quota_bytes, p.created_at \
                     FROM principals p LEFT JOIN academies a ON a.id = p.academie_id "
                };
            }
            macro_rules! academie_select {
                () => {
                    "SELECT a.id, a.slug, a.name, r.slug AS region \
                     FROM academies a LEFT JOIN regions r ON r.id = a.region_id "
                };
            }
            const NOT_EXPIRED: &str = "(expires_at IS NULL OR expires_at >= ";

            // ------------------------------------------------------- helpers

            /// Bump a collection's revision (row-locking it); its new revision,
            /// owner and path, or None if it does not exist.
            async fn bump(conn: &mut Conn, id: i64, now: i64) -> StoreResult<Option<(i64, i64, String)>> {
                Ok(sqlx::query_as(
                    "UPDATE collections SET sync_revision = sync_revision + 1, modified_at = $2 \
                     WHERE id = $1 RETURNING sync_revision, owner_id, path",
                )
                .bind(id)
                .bind(now)
                .fetch_optional(&mut *conn)
                .await?)
            }

            /// Bump two collections in id order (no lock-order deadlocks);
            /// revisions in argument order.
            async fn bump_two(conn: &mut Conn, a: i64, b: i64, now: i64) -> StoreResult<(Option<i64>, Option<i64>)> {
                if a == b {
                    let r = bump(conn, a, now).await?.map(|r| r.0);
                    return Ok((r, r));
                }
                let (first, second) = if a < b { (a, b) } else { (b, a) };
                let r1 = bump(conn, first, now).await?.map(|r| r.0);
                let r2 = bump(conn, second, now).await?.map(|r| r.0);
                Ok(if a < b { (r1, r2) } else { (r2, r1) })
            }

            async fn log_change(conn: &mut Conn, collection: i64, name: &str, revision: i64, deleted: bool) -> StoreResult<()> {
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

            async fn fetch_collection(conn: &mut Conn, id: i64) -> StoreResult<Option<Collection>> {
                let row: Option<CollectionRow> =
                    sqlx::query_as(concat!("SELECT ", collection_cols!(), " FROM collections WHERE id = $1"))
                        .bind(id)
                        .fetch_optional(&mut *conn)
                        .await?;
                row.map(CollectionRow::into_collection).transpose()
            }

            async fn fetch_collection_by_path(conn: &mut Conn, path: &str) -> StoreResult<Option<Collection>> {
                let row: Option<CollectionRow> =
                    sqlx::query_as(concat!("SELECT ", collection_cols!(), " FROM collections WHERE path = $1"))
                        .bind(path)
                        .fetch_optional(&mut *conn)
                        .await?;
                row.map(CollectionRow::into_collection).transpose()
            }

            async fn fetch_object(conn: &mut Conn, id: i64) -> StoreResult<Option<ObjectMeta>> {
                let row: Option<ObjectRow> =
                    sqlx::query_as(concat!("SELECT ", object_cols!(), " FROM objects WHERE id = $1"))
                        .bind(id)
                        .fetch_optional(&mut *conn)
                        .await?;
                Ok(row.map(Into::into))
            }

            async fn fetch_object_named(conn: &mut Conn, collection: i64, name: &str) -> StoreResult<Option<ObjectMeta>> {
                let row: Option<ObjectRow> = sqlx::query_as(concat!(
                    "SELECT ", object_cols!(), " FROM objects WHERE collection_id = $1 AND name = $2"
                ))
                .bind(collection)
                .bind(name)
                .fetch_optional(&mut *conn)
                .await?;
                Ok(row.map(Into::into))
            }

            async fn fetch_principal(conn: &mut Conn, id: i64) -> StoreResult<Option<Principal>> {
                let row: Option<PrincipalRow> = sqlx::query_as(concat!(principal_select!(), "WHERE p.id = $1"))
                    .bind(id)
                    .fetch_optional(&mut *conn)
                    .await?;
                row.map(PrincipalRow::into_principal).transpose()
            }

            async fn principal_exists(conn: &mut Conn, id: i64) -> StoreResult<bool> {
                let row: Option<(i64,)> = sqlx::query_as("SELECT id FROM principals WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&mut *conn)
                    .await?;
                Ok(row.is_some())
            }

            async fn quota_used_in(conn: &mut Conn, owner: i64) -> StoreResult<i64> {
                let (used,): (i64,) = sqlx::query_as(
                    "SELECT CAST(COALESCE(SUM(o.size), 0) AS BIGINT) FROM objects o \
                     JOIN collections c ON c.id = o.collection_id WHERE c.owner_id = $1",
                )
                .bind(owner)
                .fetch_one(&mut *conn)
                .await?;
                Ok(used)
            }

            /// Remove the locks rooted at `path` (either spelling) or below it.
            async fn remove_locks_under_in(conn: &mut Conn, path: &str) -> StoreResult<()> {
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

            /// Delete the collection at `path` and its subtree (objects,
            /// properties and change logs cascade) with the locks under it.
            async fn delete_subtree(conn: &mut Conn, path: &str) -> StoreResult<()> {
                remove_locks_under_in(conn, path).await?;
                sqlx::query("DELETE FROM collections WHERE path >= $1 AND path < $2")
                    .bind(path)
                    .bind(prefix_upper(path))
                    .execute(&mut *conn)
                    .await?;
                Ok(())
            }

            async fn delete_object_row(conn: &mut Conn, id: i64, path: &str) -> StoreResult<()> {
                sqlx::query("DELETE FROM objects WHERE id = $1").bind(id).execute(&mut *conn).await?;
                remove_locks_under_in(conn, path).await
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

            async fn set_property(conn: &mut Conn, target: PropertyTarget, p: &DeadProperty) -> StoreResult<()> {
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

            async fn copy_properties(conn: &mut Conn, from: PropertyTarget, to: PropertyTarget) -> StoreResult<()> {
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

            async fn insert_collection(conn: &mut Conn, owner: i64, parent: Option<i64>, path: &str, kind: &str, now: i64) -> StoreResult<i64> {
                let (id,): (i64,) = sqlx::query_as(
                    "INSERT INTO collections (owner_id, parent_id, path, kind, sync_revision, created_at, modified_at) \
                     VALUES ($1, $2, $3, $4, 0, $5, $5) RETURNING id",
                )
                .bind(owner)
                .bind(parent)
                .bind(path)
                .bind(kind)
                .bind(now)
                .fetch_one(&mut *conn)
                .await
                .map_err(map_unique)?;
                Ok(id)
            }

            /// Copy every object of `from` (with its properties) into `to`.
            async fn copy_objects(conn: &mut Conn, from: i64, to: i64, now: i64) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO objects (collection_id, name, content_type, etag, size, content, created_at, modified_at) \
                     SELECT $2, name, content_type, etag, size, content, $3, $3 FROM objects WHERE collection_id = $1",
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

            async fn insert_email(conn: &mut Conn, principal: i64, address: &str, primary: bool, position: i64) -> StoreResult<()> {
                let address = address.trim();
                if address.is_empty() || address.chars().any(char::is_whitespace) {
                    return Err(StoreError::Invalid(format!("invalid email address {address:?}")));
                }
                sqlx::query(
                    "INSERT INTO principal_emails (principal_id, address, address_lower, is_primary, position) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(principal)
                .bind(address)
                .bind(address.to_lowercase())
                .bind(primary)
                .bind(position)
                .execute(&mut *conn)
                .await
                .map_err(map_unique)?;
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

            // ------------------------------------------------------- the trait

            #[async_trait::async_trait]
            impl Store for $store {
                async fn migrate(&self) -> StoreResult<()> {
                    self.run_migrations().await
                }

                async fn ping(&self) -> StoreResult<()> {
                    sqlx::query("SELECT 1").execute(self.reader()).await?;
                    Ok(())
                }

                // ------------------------------------------ académies, regions

                async fn create_academie(&self, slug: &str, name: &str, region: Option<&str>) -> StoreResult<Academie> {
                    if slug.is_empty() {
                        return Err(StoreError::Invalid("empty académie slug".into()));
                    }
                    let mut tx = self.begin_write().await?;
                    let region_id = match region {
                        Some(r) => {
                            sqlx::query("INSERT INTO regions (slug, name) VALUES ($1, $1) ON CONFLICT (slug) DO NOTHING")
                                .bind(r)
                                .execute(&mut *tx)
                                .await?;
                            let (id,): (i64,) = sqlx::query_as("SELECT id FROM regions WHERE slug = $1")
                                .bind(r)
                                .fetch_one(&mut *tx)
                                .await?;
                            Some(id)
                        }
                        None => None,
                    };
                    let (id,): (i64,) =
                        sqlx::query_as("INSERT INTO academies (slug, name, region_id) VALUES ($1, $2, $3) RETURNING id")
                            .bind(slug)
                            .bind(name)
                            .bind(region_id)
                            .fetch_one(&mut *tx)
                            .await
                            .map_err(map_unique)?;
                    tx.commit().await?;
                    Ok(Academie { id, slug: slug.into(), name: name.into(), region: region.map(Into::into) })
                }

                async fn academie(&self, slug: &str) -> StoreResult<Option<Academie>> {
                    let row: Option<AcademieRow> = sqlx::query_as(concat!(academie_select!(), "WHERE a.slug = $1"))
                        .bind(slug)
                        .fetch_optional(self.reader())
                        .await?;
                    Ok(row.map(Into::into))
                }

                async fn list_academies(&self) -> StoreResult<Vec<Academie>> {
                    let rows: Vec<AcademieRow> = sqlx::query_as(concat!(academie_select!(), "ORDER BY a.slug"))
                        .fetch_all(self.reader())
                        .await?;
                    Ok(rows.into_iter().map(Into::into).collect())
                }

                async fn list_regions(&self) -> StoreResult<Vec<Region>> {
                    let rows: Vec<(i64, String, String)> =
                        sqlx::query_as("SELECT id, slug, name FROM regions ORDER BY slug").fetch_all(self.reader()).await?;
                    Ok(rows.into_iter().map(|(id, slug, name)| Region { id, slug, name }).collect())
                }

                // ------------------------------------------------- principals

                async fn create_principal(&self, new: NewPrincipal) -> StoreResult<Principal> {
                    if new.username.is_empty() || new.username.contains('/') {
                        return Err(StoreError::Invalid(format!("invalid username {:?}", new.username)));
                    }
                    let mut tx = self.begin_write().await?;
                    let academie_id = match &new.academie {
                        Some(slug) => {
                            let row: Option<(i64,)> = sqlx::query_as("SELECT id FROM academies WHERE slug = $1")
                                .bind(slug)
                                .fetch_optional(&mut *tx)
                                .await?;
                            Some(row.ok_or_else(|| StoreError::Invalid(format!("unknown académie {slug:?}")))?.0)
                        }
                        None => None,
                    };
                    let kind = new.kind.unwrap_or(PrincipalKind::User);
                    let (id,): (i64,) = sqlx::query_as(
                        "INSERT INTO principals (username, kind, display_name, academie_id, password_hash, \
                         disabled, is_admin, quota_bytes, created_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, $8) RETURNING id",
                    )
                    .bind(&new.username)
                    .bind(kind.as_str())
                    .bind(&new.display_name)
                    .bind(academie_id)
                    .bind(&new.password_hash)
                    .bind(false)
                    .bind(new.is_admin)
                    .bind(now_millis())
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(map_unique)?;
                    for (i, address) in new.emails.iter().enumerate() {
                        insert_email(&mut tx, id, address, i == 0, i as i64).await?;
                    }
                    let principal = fetch_principal(&mut tx, id).await?.ok_or(StoreError::NotFound)?;
                    tx.commit().await?;
                    Ok(principal)
                }

                async fn principal_by_username(&self, username: &str) -> StoreResult<Option<Principal>> {
                    let row: Option<PrincipalRow> = sqlx::query_as(concat!(principal_select!(), "WHERE p.username = $1"))
                        .bind(username)
                        .fetch_optional(self.reader())
                        .await?;
                    row.map(PrincipalRow::into_principal).transpose()
                }

                async fn principal(&self, id: PrincipalId) -> StoreResult<Option<Principal>> {
                    fetch_principal(&mut *self.reader().acquire().await?, id).await
                }

                async fn list_principals(&self) -> StoreResult<Vec<Principal>> {
                    let rows: Vec<PrincipalRow> = sqlx::query_as(concat!(principal_select!(), "ORDER BY p.username"))
                        .fetch_all(self.reader())
                        .await?;
                    rows.into_iter().map(PrincipalRow::into_principal).collect()
                }

                async fn count_principals(&self) -> StoreResult<i64> {
                    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM principals").fetch_one(self.reader()).await?;
                    Ok(n)
                }

                async fn set_password_hash(&self, id: PrincipalId, hash: &str) -> StoreResult<()> {
                    let done = sqlx::query("UPDATE principals SET password_hash = $2 WHERE id = $1")
                        .bind(id)
                        .bind(hash)
                        .execute(self.writer())
                        .await?;
                    if done.rows_affected() == 0 { Err(StoreError::NotFound) } else { Ok(()) }
                }

                async fn set_disabled(&self, id: PrincipalId, disabled: bool) -> StoreResult<()> {
                    let done = sqlx::query("UPDATE principals SET disabled = $2 WHERE id = $1")
                        .bind(id)
                        .bind(disabled)
                        .execute(self.writer())
                        .await?;
                    if done.rows_affected() == 0 { Err(StoreError::NotFound) } else { Ok(()) }
                }

                async fn delete_principal(&self, id: PrincipalId) -> StoreResult<()> {
                    let mut tx = self.begin_write().await?;
                    if !principal_exists(&mut tx, id).await? {
                        return Err(StoreError::NotFound);
                    }
                    let owned: Vec<(i64, Option<i64>, String)> =
                        sqlx::query_as("SELECT id, parent_id, path FROM collections WHERE owner_id = $1 ORDER BY path")
                            .bind(id)
                            .fetch_all(&mut *tx)
                            .await?;
                    // Topmost owned collections; ordered by path, ancestors come first.
                    let mut tops: Vec<(Option<i64>, String)> = Vec::new();
                    for (_, parent, path) in owned {
                        if !tops.iter().any(|(_, top)| path.starts_with(top.as_str())) {
                            tops.push((parent, path));
                        }
                    }
                    let now = now_millis();
                    for (parent, path) in &tops {
                        let logged = match parent {
                            Some(p) => bump(&mut tx, *p, now).await?.map(|r| (*p, r.0)),
                            None => None,
                        };
                        delete_subtree(&mut tx, path).await?;
                        if let Some((p, rev)) = logged {
                            let name = path.trim_end_matches('/').rsplit('/').next().unwrap_or("");
                            log_change(&mut tx, p, name, rev, true).await?;
                        }
                    }
                    // Emails, locks and anything left cascade.
                    sqlx::query("DELETE FROM principals WHERE id = $1").bind(id).execute(&mut *tx).await?;
                    tx.commit().await?;
                    Ok(())
                }

                async fn principal_emails(&self, id: PrincipalId) -> StoreResult<Vec<PrincipalEmail>> {
                    let rows: Vec<(String, bool)> = sqlx::query_as(
                        "SELECT address, is_primary FROM principal_emails WHERE principal_id = $1 ORDER BY position, id",
                    )
                    .bind(id)
                    .fetch_all(self.reader())
                    .await?;
                    Ok(rows.into_iter().map(|(address, primary)| PrincipalEmail { address, primary }).collect())
                }

                async fn add_principal_email(&self, id: PrincipalId, address: &str, primary: bool) -> StoreResult<()> {
                    let mut tx = self.begin_write().await?;
                    if !principal_exists(&mut tx, id).await? {
                        return Err(StoreError::NotFound);
                    }
                    let (count, next): (i64, i64) = sqlx::query_as(
                        "SELECT COUNT(*), CAST(COALESCE(MAX(position), -1) + 1 AS BIGINT) \
                         FROM principal_emails WHERE principal_id = $1",
                    )
                    .bind(id)
                    .fetch_one(&mut *tx)
                    .await?;
                    let primary = primary || count == 0;
                    if primary {
                        sqlx::query("UPDATE principal_emails SET is_primary = $2 WHERE principal_id = $1")
                            .bind(id)
                            .bind(false)
                            .execute(&mut *tx)
                            .await?;
                    }
                    insert_email(&mut tx, id, address, primary, next).await?;
                    tx.commit().await?;
                    Ok(())
                }

                // ------------------------------------------------ collections

                async fn collection_by_path(&self, path: &str) -> StoreResult<Option<Collection>> {
                    fetch_collection_by_path(&mut *self.reader().acquire().await?, path).await
                }

                async fn collection(&self, id: CollectionId) -> StoreResult<Option<Collection>> {
                    fetch_collection(&mut *self.reader().acquire().await?, id).await
                }

                async fn create_collection(&self, new: NewCollection) -> StoreResult<Collection> {
                    if !new.path.starts_with('/') || !new.path.ends_with('/') || new.path.contains("//") {
                        return Err(StoreError::Invalid(format!("invalid collection path {:?}", new.path)));
                    }
                    for p in &new.properties {
                        validate_property(&p.namespace, &p.name)?;
                    }
                    let now = now_millis();
                    let mut tx = self.begin_write().await?;
                    let mut logged = None;
                    if let Some(parent) = new.parent {
                        let (rev, _, parent_path) = bump(&mut tx, parent, now).await?.ok_or(StoreError::MissingParent)?;
                        let name = new
                            .path
                            .strip_prefix(parent_path.as_str())
                            .and_then(|rest| rest.strip_suffix('/'))
                            .ok_or_else(|| StoreError::Invalid(format!("{} is not a child of {parent_path}", new.path)))?;
                        validate_name(name)?;
                        if fetch_object_named(&mut tx, parent, name).await?.is_some() {
                            return Err(StoreError::AlreadyExists);
                        }
                        logged = Some((parent, name.to_string(), rev));
                    }
                    if !principal_exists(&mut tx, new.owner).await? {
                        return Err(StoreError::Invalid(format!("unknown owner {}", new.owner)));
                    }
                    let id = insert_collection(&mut tx, new.owner, new.parent, &new.path, new.kind.as_str(), now).await?;
                    for p in &new.properties {
                        set_property(&mut tx, PropertyTarget::Collection(id), p).await?;
                    }
                    if let Some((parent, name, rev)) = logged {
                        log_change(&mut tx, parent, &name, rev, false).await?;
                    }
                    let created = fetch_collection(&mut tx, id).await?.ok_or(StoreError::NotFound)?;
                    tx.commit().await?;
                    Ok(created)
                }

                async fn child_collections(&self, parent: CollectionId) -> StoreResult<Vec<Collection>> {
                    let rows: Vec<CollectionRow> = sqlx::query_as(concat!(
                        "SELECT ", collection_cols!(), " FROM collections WHERE parent_id = $1 ORDER BY path"
                    ))
                    .bind(parent)
                    .fetch_all(self.reader())
                    .await?;
                    rows.into_iter().map(CollectionRow::into_collection).collect()
                }

                async fn delete_collection(&self, id: CollectionId) -> StoreResult<()> {
                    let now = now_millis();
                    let mut tx = self.begin_write().await?;
                    let found = fetch_collection(&mut tx, id).await?.ok_or(StoreError::NotFound)?;
                    let logged = match found.parent {
                        Some(p) => bump(&mut tx, p, now).await?.map(|r| (p, r.0)),
                        None => None,
                    };
                    // Re-read under the parent's lock: a concurrent MOVE may have won.
                    let coll = fetch_collection(&mut tx, id).await?.ok_or(StoreError::NotFound)?;
                    if coll.parent != found.parent {
                        return Err(StoreError::PreconditionFailed);
                    }
                    delete_subtree(&mut tx, &coll.path).await?;
                    if let Some((p, rev)) = logged {
                        log_change(&mut tx, p, coll.name(), rev, true).await?;
                    }
                    tx.commit().await?;
                    Ok(())
                }

                async fn quota_used(&self, owner: PrincipalId) -> StoreResult<i64> {
                    quota_used_in(&mut *self.reader().acquire().await?, owner).await
                }

                // ---------------------------------------------------- objects

                async fn object(&self, collection: CollectionId, name: &str) -> StoreResult<Option<ObjectMeta>> {
                    fetch_object_named(&mut *self.reader().acquire().await?, collection, name).await
                }

                async fn objects(&self, collection: CollectionId) -> StoreResult<Vec<ObjectMeta>> {
                    let rows: Vec<ObjectRow> = sqlx::query_as(concat!(
                        "SELECT ", object_cols!(), " FROM objects WHERE collection_id = $1 ORDER BY name"
                    ))
                    .bind(collection)
                    .fetch_all(self.reader())
                    .await?;
                    Ok(rows.into_iter().map(Into::into).collect())
                }

                async fn object_content(&self, id: ObjectId) -> StoreResult<bytes::Bytes> {
                    let row: Option<(Vec<u8>,)> = sqlx::query_as("SELECT content FROM objects WHERE id = $1")
                        .bind(id)
                        .fetch_optional(self.reader())
                        .await?;
                    row.map(|(c,)| bytes::Bytes::from(c)).ok_or(StoreError::NotFound)
                }

                async fn put_object(&self, put: PutObject) -> StoreResult<PutOutcome> {
                    validate_name(&put.name)?;
                    let now = now_millis();
                    let size = put.content.len() as i64;
                    let etag = etag_for(&put.content);
                    let mut tx = self.begin_write().await?;
                    // Bump first: the collection row lock serializes writers.
                    let (rev, owner, coll_path) =
                        bump(&mut tx, put.collection, now).await?.ok_or(StoreError::MissingParent)?;
                    let existing = fetch_object_named(&mut tx, put.collection, &put.name).await?;
                    check_condition(&put.condition, existing.as_ref().map(|o| o.etag.as_str()))?;
                    if fetch_collection_by_path(&mut tx, &child_path(&coll_path, &put.name)).await?.is_some() {
                        return Err(StoreError::AlreadyExists);
                    }
                    if let Some(limit) = put.quota_limit {
                        // Serialize writers of the same owner across collections.
                        sqlx::query("UPDATE principals SET quota_bytes = quota_bytes WHERE id = $1")
                            .bind(owner)
                            .execute(&mut *tx)
                            .await?;
                        let used = quota_used_in(&mut tx, owner).await?;
                        let old = existing.as_ref().map_or(0, |o| o.size);
                        if used - old + size > limit {
                            return Err(StoreError::QuotaExceeded);
                        }
                    }
                    let row: ObjectRow = match &existing {
                        Some(old) => sqlx::query_as(concat!(
                            "UPDATE objects SET content_type = $2, etag = $3, size = $4, content = $5, modified_at = $6 \
                             WHERE id = $1 RETURNING ", object_cols!()
                        ))
                        .bind(old.id),
                        None => sqlx::query_as(concat!(
                            "INSERT INTO objects (collection_id, name, content_type, etag, size, content, created_at, modified_at) \
                             VALUES ($1, $7, $2, $3, $4, $5, $6, $6) RETURNING ", object_cols!()
                        ))
                        .bind(put.collection),
                    }
                    .bind(&put.content_type)
                    .bind(&etag)
                    .bind(size)
                    .bind(put.content.as_ref())
                    .bind(now)
                    .bind(&put.name)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(map_unique)?;
                    log_change(&mut tx, put.collection, &put.name, rev, false).await?;
                    tx.commit().await?;
                    Ok(PutOutcome { created: existing.is_none(), meta: row.into() })
                }

                async fn delete_object(&self, collection: CollectionId, name: &str, if_match: Option<&str>) -> StoreResult<()> {
                    let now = now_millis();
                    let mut tx = self.begin_write().await?;
                    let (rev, _, coll_path) = bump(&mut tx, collection, now).await?.ok_or(StoreError::NotFound)?;
                    let object = fetch_object_named(&mut tx, collection, name).await?.ok_or(StoreError::NotFound)?;
                    if let Some(want) = if_match {
                        if !etag_matches(&object.etag, want) {
                            return Err(StoreError::PreconditionFailed);
                        }
                    }
                    delete_object_row(&mut tx, object.id, &object_path(&coll_path, name)).await?;
                    log_change(&mut tx, collection, name, rev, true).await?;
                    tx.commit().await?;
                    Ok(())
                }

                // ------------------------------------------------ COPY / MOVE

                async fn copy_object(&self, id: ObjectId, to: Destination) -> StoreResult<TransferOutcome> {
                    validate_name(&to.name)?;
                    let now = now_millis();
                    let mut tx = self.begin_write().await?;
                    let src = fetch_object(&mut tx, id).await?.ok_or(StoreError::NotFound)?;
                    if src.collection == to.parent && src.name == to.name {
                        return Err(StoreError::Invalid("source and destination are the same".into()));
                    }
                    let (rev, _, dest_path) = bump(&mut tx, to.parent, now).await?.ok_or(StoreError::MissingParent)?;
                    let src_coll = fetch_collection(&mut tx, src.collection).await?.ok_or(StoreError::NotFound)?;
                    if src_coll.path.starts_with(&child_path(&dest_path, &to.name)) && to.overwrite {
                        return Err(StoreError::Invalid("destination contains the source".into()));
                    }
                    let replaced = clear_destination(&mut tx, to.parent, &dest_path, &to.name, to.overwrite).await?;
                    let (new_id,): (i64,) = sqlx::query_as(
                        "INSERT INTO objects (collection_id, name, content_type, etag, size, content, created_at, modified_at) \
                         SELECT $1, $2, content_type, etag, size, content, $3, $3 FROM objects WHERE id = $4 RETURNING id",
                    )
                    .bind(to.parent)
                    .bind(&to.name)
                    .bind(now)
                    .bind(id)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(map_unique)?;
                    copy_properties(&mut tx, PropertyTarget::Object(id), PropertyTarget::Object(new_id)).await?;
                    log_change(&mut tx, to.parent, &to.name, rev, false).await?;
                    tx.commit().await?;
                    Ok(TransferOutcome { replaced })
                }

                async fn move_object(&self, id: ObjectId, to: Destination) -> StoreResult<TransferOutcome> {
                    validate_name(&to.name)?;
                    let now = now_millis();
                    let mut tx = self.begin_write().await?;
                    let found = fetch_object(&mut tx, id).await?.ok_or(StoreError::NotFound)?;
                    if found.collection == to.parent && found.name == to.name {
                        return Err(StoreError::Invalid("source and destination are the same".into()));
                    }
                    let (src_rev, dest_rev) = bump_two(&mut tx, found.collection, to.parent, now).await?;
                    let dest_rev = dest_rev.ok_or(StoreError::MissingParent)?;
                    // Re-read under the collection locks.
                    let src = fetch_object(&mut tx, id).await?.ok_or(StoreError::NotFound)?;
                    let src_rev = src_rev.filter(|_| src.collection == found.collection).ok_or(StoreError::NotFound)?;
                    let src_coll = fetch_collection(&mut tx, src.collection).await?.ok_or(StoreError::NotFound)?;
                    let dest_coll = fetch_collection(&mut tx, to.parent).await?.ok_or(StoreError::MissingParent)?;
                    if src_coll.path.starts_with(&child_path(&dest_coll.path, &to.name)) && to.overwrite {
                        return Err(StoreError::Invalid("destination contains the source".into()));
                    }
                    let replaced = clear_destination(&mut tx, to.parent, &dest_coll.path, &to.name, to.overwrite).await?;
                    sqlx::query("UPDATE objects SET collection_id = $2, name = $3 WHERE id = $1")
                        .bind(id)
                        .bind(to.parent)
                        .bind(&to.name)
                        .execute(&mut *tx)
                        .await
                        .map_err(map_unique)?;
                    remove_locks_under_in(&mut tx, &object_path(&src_coll.path, &src.name)).await?;
                    log_change(&mut tx, src.collection, &src.name, src_rev, true).await?;
                    log_change(&mut tx, to.parent, &to.name, dest_rev, false).await?;
                    tx.commit().await?;
                    Ok(TransferOutcome { replaced })
                }

                async fn copy_collection(&self, id: CollectionId, to: Destination, recursive: bool) -> StoreResult<TransferOutcome> {
                    validate_name(&to.name)?;
                    let now = now_millis();
                    let mut tx = self.begin_write().await?;
                    let src = fetch_collection(&mut tx, id).await?.ok_or(StoreError::NotFound)?;
                    let (rev, dest_owner, dest_parent_path) =
                        bump(&mut tx, to.parent, now).await?.ok_or(StoreError::MissingParent)?;
                    let dest = child_path(&dest_parent_path, &to.name);
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
                    let root = insert_collection(&mut tx, dest_owner, Some(to.parent), &dest, src.kind.as_str(), now).await?;
                    copy_properties(&mut tx, PropertyTarget::Collection(src.id), PropertyTarget::Collection(root)).await?;
                    let mut mapping = std::collections::HashMap::from([(src.id, root)]);
                    for row in subtree {
                        if row.id == src.id {
                            continue;
                        }
                        let parent = row.parent_id.and_then(|p| mapping.get(&p).copied());
                        let path = format!("{dest}{}", &row.path[src.path.len()..]);
                        let new_id = insert_collection(&mut tx, dest_owner, parent, &path, &row.kind, now).await?;
                        copy_properties(&mut tx, PropertyTarget::Collection(row.id), PropertyTarget::Collection(new_id)).await?;
                        mapping.insert(row.id, new_id);
                    }
                    if recursive {
                        for (from, to_id) in &mapping {
                            copy_objects(&mut tx, *from, *to_id, now).await?;
                        }
                    }
                    log_change(&mut tx, to.parent, &to.name, rev, false).await?;
                    tx.commit().await?;
                    Ok(TransferOutcome { replaced })
                }

                async fn move_collection(&self, id: CollectionId, to: Destination) -> StoreResult<TransferOutcome> {
                    validate_name(&to.name)?;
                    let now = now_millis();
                    let mut tx = self.begin_write().await?;
                    let found = fetch_collection(&mut tx, id).await?.ok_or(StoreError::NotFound)?;
                    let (src_rev, dest_rev) = match found.parent {
                        Some(p) => bump_two(&mut tx, p, to.parent, now).await?,
                        None => (None, bump(&mut tx, to.parent, now).await?.map(|r| r.0)),
                    };
                    let dest_rev = dest_rev.ok_or(StoreError::MissingParent)?;
                    let src = fetch_collection(&mut tx, id).await?.ok_or(StoreError::NotFound)?;
                    if src.parent != found.parent {
                        return Err(StoreError::PreconditionFailed);
                    }
                    let dest_parent = fetch_collection(&mut tx, to.parent).await?.ok_or(StoreError::MissingParent)?;
                    let dest = child_path(&dest_parent.path, &to.name);
                    check_collection_transfer(&src.path, &dest, to.overwrite)?;
                    let replaced = clear_destination(&mut tx, to.parent, &dest_parent.path, &to.name, to.overwrite).await?;
                    remove_locks_under_in(&mut tx, &src.path).await?;
                    let keep_from = src.path.chars().count() as i32 + 1;
                    sqlx::query("UPDATE collections SET path = $1 || substr(path, $2) WHERE path >= $3 AND path < $4")
                        .bind(&dest)
                        .bind(keep_from)
                        .bind(&src.path)
                        .bind(prefix_upper(&src.path))
                        .execute(&mut *tx)
                        .await
                        .map_err(map_unique)?;
                    sqlx::query("UPDATE collections SET parent_id = $2, modified_at = $3 WHERE id = $1")
                        .bind(id)
                        .bind(to.parent)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                    if let (Some(p), Some(rev)) = (src.parent, src_rev) {
                        log_change(&mut tx, p, src.name(), rev, true).await?;
                    }
                    log_change(&mut tx, to.parent, &to.name, dest_rev, false).await?;
                    tx.commit().await?;
                    Ok(TransferOutcome { replaced })
                }

                // --------------------------------------------- dead properties

                async fn dead_properties(&self, target: PropertyTarget) -> StoreResult<Vec<DeadProperty>> {
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
                    let rows: Vec<(String, String, String)> = sqlx::query_as(sql).bind(id).fetch_all(self.reader()).await?;
                    Ok(rows.into_iter().map(|(namespace, name, value)| DeadProperty { namespace, name, value }).collect())
                }

                async fn update_dead_properties(&self, target: PropertyTarget, updates: &[PropertyUpdate]) -> StoreResult<()> {
                    for u in updates {
                        match u {
                            PropertyUpdate::Set(p) => validate_property(&p.namespace, &p.name)?,
                            PropertyUpdate::Remove { namespace, name } => validate_property(namespace, name)?,
                        }
                    }
                    let now = now_millis();
                    let mut tx = self.begin_write().await?;
                    // Bump the revision (CTag) of the collection concerned; an
                    // object's change is logged in its collection (RFC 6578).
                    match target {
                        PropertyTarget::Collection(id) => {
                            bump(&mut tx, id, now).await?.ok_or(StoreError::NotFound)?;
                        }
                        PropertyTarget::Object(id) => {
                            let obj = fetch_object(&mut tx, id).await?.ok_or(StoreError::NotFound)?;
                            let (rev, _, _) = bump(&mut tx, obj.collection, now).await?.ok_or(StoreError::NotFound)?;
                            let obj = fetch_object(&mut tx, id).await?.ok_or(StoreError::NotFound)?;
                            log_change(&mut tx, obj.collection, &obj.name, rev, false).await?;
                        }
                    }
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
                    tx.commit().await?;
                    Ok(())
                }

                // -------------------------------------------------- change log

                async fn changes_since(&self, collection: CollectionId, since: i64) -> StoreResult<Vec<Change>> {
                    let mut conn = self.reader().acquire().await?;
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

                // ------------------------------------------------------- locks

                async fn create_lock(&self, lock: Lock) -> StoreResult<()> {
                    if !lock.root.starts_with('/') {
                        return Err(StoreError::Invalid(format!("invalid lock root {:?}", lock.root)));
                    }
                    let mut tx = self.begin_write().await?;
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

                async fn lock(&self, token: &str) -> StoreResult<Option<Lock>> {
                    let sql = format!("SELECT {} FROM locks WHERE token = $1 AND {NOT_EXPIRED}$2)", lock_cols!());
                    let row: Option<LockRow> =
                        sqlx::query_as(&sql).bind(token).bind(now_millis()).fetch_optional(self.reader()).await?;
                    row.map(LockRow::into_lock).transpose()
                }

                async fn locks_covering(&self, path: &str) -> StoreResult<Vec<Lock>> {
                    let mut q = sqlx::QueryBuilder::<$db>::new(concat!("SELECT ", lock_cols!(), " FROM locks WHERE "));
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
                    let rows: Vec<LockRow> = q.build_query_as().fetch_all(self.reader()).await?;
                    rows.into_iter().map(LockRow::into_lock).collect()
                }

                async fn locks_below(&self, prefix: &str) -> StoreResult<Vec<Lock>> {
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
                        .fetch_all(self.reader())
                        .await?;
                    rows.into_iter().map(LockRow::into_lock).collect()
                }

                async fn refresh_lock(&self, token: &str, timeout_secs: Option<i64>, expires_at: Option<Millis>) -> StoreResult<Lock> {
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
                        .fetch_optional(self.writer())
                        .await?;
                    row.ok_or(StoreError::NotFound)?.into_lock()
                }

                async fn remove_lock(&self, token: &str) -> StoreResult<()> {
                    sqlx::query("DELETE FROM locks WHERE token = $1").bind(token).execute(self.writer()).await?;
                    Ok(())
                }

                async fn remove_locks_under(&self, path: &str) -> StoreResult<()> {
                    remove_locks_under_in(&mut *self.writer().acquire().await?, path).await
                }
            }
        }
    };
}
pub(crate) use sql_store;

sql_store!(SqliteStore, sqlx::Sqlite);
