//! Row types and pure helpers shared by every concern and both databases (no
//! SQL is executed here).
//!
//! The `*_cols!` / `*_select!` macros expand to string literals so that the
//! queries can splice them with `concat!` and stay `&'static str`.

use crate::store::*;

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


/// The parent collection path of a store path (`/a/b/` or `/a/b` → `/a/`).
pub fn parent_path(path: &str) -> String {
    match path.trim_end_matches('/').rsplit_once('/') {
        Some((parent, _)) => format!("{parent}/"),
        None => "/".to_string(),
    }
}

pub fn check_condition(condition: &WriteCondition, existing_etag: Option<&str>) -> StoreResult<()> {
    let ok = match (condition, existing_etag) {
        (WriteCondition::None, _) => true,
        (WriteCondition::MustNotExist, e) => e.is_none(),
        (WriteCondition::MustExist, e) => e.is_some(),
        (WriteCondition::ETagMatches(want), Some(have)) => have == want,
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

/// The columns a [`CollectionRow`] is read from.
macro_rules! collection_cols {
    () => {
        "id, owner_id, parent_id, path, kind, sync_revision, components, created_at, modified_at"
    };
}
pub(crate) use collection_cols;

#[derive(sqlx::FromRow)]
pub struct CollectionRow {
    pub id: i64,
    pub owner_id: i64,
    pub parent_id: Option<i64>,
    pub path: String,
    pub kind: String,
    pub sync_revision: i64,
    pub components: Option<String>,
    pub created_at: i64,
    pub modified_at: i64,
}

/// A component list as stored in `collections.components`.
pub fn join_components(components: &[String]) -> Option<String> {
    (!components.is_empty()).then(|| components.join(","))
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
            components: self
                .components
                .map(|c| c.split(',').filter(|s| !s.is_empty()).map(str::to_string).collect())
                .unwrap_or_default(),
            created_at: self.created_at,
            modified_at: self.modified_at,
        })
    }
}

/// The columns an [`ObjectRow`] is read from (the content is fetched apart,
/// or appended for an [`ObjectContentRow`]).
macro_rules! object_cols {
    () => {
        "id, collection_id, name, content_type, etag, size, created_at, modified_at, schedule_tag"
    };
}
pub(crate) use object_cols;

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
    pub schedule_tag: Option<String>,
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
            schedule_tag: r.schedule_tag,
        }
    }
}

/// The index columns of an object, read as an [`IndexRow`].
macro_rules! index_cols {
    () => {
        "uid, component, time_start, time_end, time_simple, instances, search_text"
    };
}
pub(crate) use index_cols;

#[derive(sqlx::FromRow)]
pub struct IndexRow {
    pub uid: Option<String>,
    pub component: Option<String>,
    pub time_start: Option<i64>,
    pub time_end: Option<i64>,
    pub time_simple: bool,
    pub instances: Option<Vec<u8>>,
    pub search_text: Option<String>,
}

impl From<IndexRow> for ObjectIndex {
    fn from(r: IndexRow) -> Self {
        ObjectIndex {
            uid: r.uid,
            component: r.component,
            time_start: r.time_start,
            time_end: r.time_end,
            time_simple: r.time_simple,
            instances: r.instances.as_deref().and_then(ObjectIndex::decode_instances),
            search_text: r.search_text,
        }
    }
}

/// The columns of a collection `c` joined with one of its objects `o`, read
/// as a [`CollectionRow`] and a [`PrefixedObjectRow`].
pub const COLLECTION_AND_OBJECT_COLUMNS: &str = "c.id, c.owner_id, c.parent_id, c.path, c.kind, c.sync_revision, \
     c.components, c.created_at, c.modified_at, o.id AS o_id, o.collection_id AS o_collection_id, o.name AS o_name, \
     o.content_type AS o_content_type, o.etag AS o_etag, o.size AS o_size, o.created_at AS o_created_at, \
     o.modified_at AS o_modified_at, o.schedule_tag AS o_schedule_tag";

/// An object's metadata under `o_`-prefixed column names (for joins with
/// a collection row).
#[derive(sqlx::FromRow)]
pub struct PrefixedObjectRow {
    pub o_id: i64,
    pub o_collection_id: i64,
    pub o_name: String,
    pub o_content_type: String,
    pub o_etag: String,
    pub o_size: i64,
    pub o_created_at: i64,
    pub o_modified_at: i64,
    pub o_schedule_tag: Option<String>,
}

impl From<PrefixedObjectRow> for ObjectMeta {
    fn from(r: PrefixedObjectRow) -> Self {
        ObjectMeta {
            id: r.o_id,
            collection: r.o_collection_id,
            name: r.o_name,
            content_type: r.o_content_type,
            etag: r.o_etag,
            size: r.o_size,
            created_at: r.o_created_at,
            modified_at: r.o_modified_at,
            schedule_tag: r.o_schedule_tag,
        }
    }
}

/// An object with its index and, optionally, its bytes.
#[derive(sqlx::FromRow)]
pub struct IndexedRow {
    #[sqlx(flatten)]
    pub meta: ObjectRow,
    #[sqlx(flatten)]
    pub index: IndexRow,
    pub content: Option<Vec<u8>>,
}

/// What a new object row holds besides its index and timestamps.
#[derive(Clone, Copy)]
pub struct NewObjectRow<'a> {
    pub name: &'a str,
    pub content_type: &'a str,
    pub content: &'a [u8],
    /// [`etag_for`] the content.
    pub etag: &'a str,
    /// RFC 6638 §3.2.10 (see [`ObjectMeta::schedule_tag`]).
    pub schedule_tag: Option<&'a str>,
}

/// An object's metadata with its bytes when they were asked for.
#[derive(sqlx::FromRow)]
pub struct MaybeContentRow {
    #[sqlx(flatten)]
    pub meta: ObjectRow,
    pub content: Option<Vec<u8>>,
}

/// An object's metadata with its bytes (`object_cols!()` then `content`).
#[derive(sqlx::FromRow)]
pub struct ObjectContentRow {
    #[sqlx(flatten)]
    pub meta: ObjectRow,
    pub content: Vec<u8>,
}

/// The query prefix reading [`PrincipalRow`]s (followed by `WHERE` or `ORDER BY`).
macro_rules! principal_select {
    () => {
        "SELECT p.id, p.username, p.kind, p.display_name, a.slug AS academie, p.password_hash, \
         p.disabled, p.is_admin, p.quota_bytes, p.created_at \
         FROM principals p LEFT JOIN academies a ON a.id = p.academie_id "
    };
}
pub(crate) use principal_select;

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

/// A [`DirectoryEntry`] row with one of its email addresses.
#[derive(sqlx::FromRow)]
pub struct DirectoryEntryRow {
    pub id: i64,
    pub username: String,
    pub display_name: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub title: Option<String>,
    pub phone: Option<String>,
    pub slug: Option<String>,
    pub name: Option<String>,
    pub modified_at: i64,
    /// One of its addresses (a row per address; `None` when it has none).
    pub address: Option<String>,
}

impl DirectoryEntryRow {
    pub fn into_entry(self, emails: Vec<String>) -> DirectoryEntry {
        DirectoryEntry {
            principal: self.id,
            username: self.username,
            display_name: self.display_name,
            given_name: self.given_name,
            family_name: self.family_name,
            title: self.title,
            phone: self.phone,
            emails,
            academie: self.slug.zip(self.name),
            modified_at: self.modified_at,
        }
    }
}

/// The columns a [`LockRow`] is read from.
macro_rules! lock_cols {
    () => {
        "token, root, infinite, scope, owner_xml, principal_id, timeout_secs, expires_at"
    };
}
pub(crate) use lock_cols;

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

/// The query prefix reading [`AcademieRow`]s (followed by `WHERE` or `ORDER BY`).
macro_rules! academie_select {
    () => {
        "SELECT a.id, a.slug, a.name, r.slug AS region \
         FROM academies a LEFT JOIN regions r ON r.id = a.region_id "
    };
}
pub(crate) use academie_select;

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

/// List items per statement of the batched reads that name many members,
/// owners or addresses at once (`IN (…)`, `OR`ed pairs): well below
/// SQLite's 32,766 bound parameters, short enough for a plan per shape.
pub const MEMBERS_PER_STATEMENT: usize = 256;

/// `items` cut for statements naming a list of them (`IN (…)`, `OR`ed
/// pairs, where an item named twice changes nothing): at most
/// [`MEMBERS_PER_STATEMENT`] a statement, each chunk padded with its last
/// item to a power of two. Such a statement thus takes at most nine shapes
/// (1, 2, 4 … 256 items), which stay in each connection's prepared-statement
/// cache (sqlx keeps 100) instead of one shape per list length pushing the
/// hot statements out.
pub fn list_chunks<T: Clone>(items: &[T]) -> Vec<Vec<T>> {
    items
        .chunks(MEMBERS_PER_STATEMENT)
        .map(|chunk| {
            let mut padded = chunk.to_vec();
            if let Some(last) = chunk.last() {
                padded.resize(chunk.len().next_power_of_two(), last.clone());
            }
            padded
        })
        .collect()
}

/// `items` cut for multi-row writes (`VALUES (…), (…)`, which cannot name a
/// row twice): chunks of `max` (a power of two), then of decreasing powers
/// of two for the rest (21 rows: 16, 4, 1), so that such a statement too
/// takes a few shapes only.
pub fn row_chunks<T>(items: &[T], max: usize) -> Vec<&[T]> {
    debug_assert!(max.is_power_of_two());
    let mut out = Vec::new();
    let mut rest = items;
    while !rest.is_empty() {
        let n = if rest.len() >= max { max } else { 1 << (usize::BITS - 1 - rest.len().leading_zeros()) };
        let (head, tail) = rest.split_at(n);
        out.push(head);
        rest = tail;
    }
    out
}

#[cfg(test)]
mod chunk_tests {
    use super::*;

    #[test]
    fn list_chunks_pad_to_powers_of_two() {
        let items: Vec<i64> = (0..300).collect();
        let chunks = list_chunks(&items);
        assert_eq!(chunks.iter().map(Vec::len).collect::<Vec<_>>(), [256, 64]);
        assert_eq!(chunks[1][..44], items[256..]);
        assert!(chunks[1][44..].iter().all(|i| *i == 299));
        assert_eq!(list_chunks(&[7i64, 8, 9]), [vec![7, 8, 9, 9]]);
        assert!(list_chunks::<i64>(&[]).is_empty());
    }

    #[test]
    fn row_chunks_are_powers_of_two() {
        let items: Vec<i64> = (0..21).collect();
        let chunks = row_chunks(&items, 64);
        assert_eq!(chunks.iter().map(|c| c.len()).collect::<Vec<_>>(), [16, 4, 1]);
        assert_eq!(chunks.concat(), items);
        let items: Vec<i64> = (0..70).collect();
        assert_eq!(row_chunks(&items, 32).iter().map(|c| c.len()).collect::<Vec<_>>(), [32, 32, 4, 2]);
        assert!(row_chunks::<i64>(&[], 32).is_empty());
    }
}
