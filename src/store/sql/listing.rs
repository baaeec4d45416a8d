//! A per-process cache of collection listings (the metadata of every
//! object of a collection), keyed by the collection's revision.
//!
//! Every change to a collection's members bumps its `sync_revision` in the
//! same transaction (see the [module documentation](super)), and collection
//! ids are never reused, so a listing read at revision N stays the listing
//! of revision N for ever: the cache never needs invalidating, and it is
//! correct with several server processes on one database, since each
//! lookup first reads the current revision from the database. Listing a
//! calendar of 5,000 events then costs one single-row query instead of
//! 5,000 rows.
//!
//! A write that changes one member and bumps the revision by one derives
//! the listing of its revision from the cached one of the revision before
//! (`advance`), so a PUT does not cost the next listing or multiget a read
//! of every row.
//!
//! The same cache keeps object bytes by object id and ETag (a digest of
//! the bytes, and ids are never reused), so a multiget of objects listed at
//! the current revision reads no rows at all.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::store::{CollectionId, ObjectMeta};

/// Most objects kept in all cached listings together (about 150 bytes each).
const MAX_CACHED_OBJECTS: usize = 200_000;

/// Most bytes of object content kept.
const MAX_CACHED_BYTES: usize = 64 * 1024 * 1024;

/// A listing and the revision it was read at.
type Listing = (i64, Arc<Vec<ObjectMeta>>);

/// The `(name, search_text)` of every object of a collection, by name.
pub type SearchTexts = Arc<Vec<(String, String)>>;

#[derive(Default)]
pub struct ListingCache {
    entries: Mutex<HashMap<CollectionId, Listing>>,
    search: Mutex<HashMap<CollectionId, (i64, SearchTexts)>>,
    contents: Mutex<Contents>,
}

#[derive(Default)]
struct Contents {
    by_id: HashMap<i64, (String, bytes::Bytes)>,
    bytes: usize,
}

impl ListingCache {
    /// The listing of `collection` at `revision`, if cached.
    pub fn get(&self, collection: CollectionId, revision: i64) -> Option<Arc<Vec<ObjectMeta>>> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.get(&collection).filter(|(r, _)| *r == revision).map(|(_, l)| l.clone())
    }

    /// The bytes of object `id` whose ETag is `etag`, if cached.
    pub fn content(&self, id: i64, etag: &str) -> Option<bytes::Bytes> {
        let contents = self.contents.lock().unwrap_or_else(|e| e.into_inner());
        contents.by_id.get(&id).filter(|(e, _)| e == etag).map(|(_, b)| b.clone())
    }

    /// Remember the bytes of object `id` at `etag`.
    pub fn put_content(&self, id: i64, etag: &str, content: bytes::Bytes) {
        let mut contents = self.contents.lock().unwrap_or_else(|e| e.into_inner());
        if contents.bytes + content.len() > MAX_CACHED_BYTES {
            contents.by_id.clear();
            contents.bytes = 0;
        }
        if content.len() <= MAX_CACHED_BYTES / 64 {
            contents.bytes += content.len();
            if let Some((_, old)) = contents.by_id.insert(id, (etag.to_string(), content)) {
                contents.bytes -= old.len();
            }
        }
    }

    /// A write that made exactly one change to the members of `collection`
    /// and bumped its revision from `revision - 1` to `revision` files the
    /// listing of `revision - 1`, if cached, under `revision` with that
    /// change applied: `Some(meta)` replaced or inserted (by name), `None`
    /// for `name` removed. Called after the write committed. Applying a
    /// change the cached listing already shows (read after the commit) is a
    /// no-op, so the listing is never older than its revision.
    pub fn advance(&self, collection: CollectionId, revision: i64, name: &str, meta: Option<&ObjectMeta>) {
        self.advance_many(collection, revision, &[(name, meta)]);
    }

    /// [`ListingCache::advance`] for a write that made several changes to
    /// the members of `collection` (distinct names) under one new revision
    /// (a batch).
    pub fn advance_many(&self, collection: CollectionId, revision: i64, changes: &[(&str, Option<&ObjectMeta>)]) {
        let Some(previous) = self.get(collection, revision - 1) else { return };
        let mut listing = previous.as_ref().clone();
        for (name, meta) in changes {
            match (listing.binary_search_by(|m| m.name.as_str().cmp(name)), meta) {
                (Ok(i), Some(meta)) => listing[i] = (*meta).clone(),
                (Err(i), Some(meta)) => listing.insert(i, (*meta).clone()),
                (Ok(i), None) => {
                    listing.remove(i);
                }
                (Err(_), None) => {}
            }
        }
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        // Only over the listing it was derived from (not over a newer one).
        if entries.get(&collection).is_some_and(|(r, _)| *r == revision - 1) {
            entries.insert(collection, (revision, Arc::new(listing)));
        }
    }

    /// The search texts of `collection` at `revision`, if cached.
    pub fn search_texts(&self, collection: CollectionId, revision: i64) -> Option<SearchTexts> {
        let search = self.search.lock().unwrap_or_else(|e| e.into_inner());
        search.get(&collection).filter(|(r, _)| *r == revision).map(|(_, t)| t.clone())
    }

    /// Remember the search texts read at (or after) `revision`; bounded like
    /// the listings.
    pub fn put_search_texts(&self, collection: CollectionId, revision: i64, texts: SearchTexts) {
        let mut search = self.search.lock().unwrap_or_else(|e| e.into_inner());
        let cached: usize = search.values().map(|(_, t)| t.len()).sum();
        if cached + texts.len() > MAX_CACHED_OBJECTS {
            search.clear();
        }
        if texts.len() <= MAX_CACHED_OBJECTS {
            search.insert(collection, (revision, texts));
        }
    }

    /// Remember the listing read at `revision` (read after the revision, so
    /// it is never older than the revision it is filed under).
    pub fn put(&self, collection: CollectionId, revision: i64, listing: Arc<Vec<ObjectMeta>>) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let cached: usize = entries.values().map(|(_, l)| l.len()).sum();
        if cached + listing.len() > MAX_CACHED_OBJECTS {
            // Simple and bounded: start over rather than track recency.
            entries.clear();
        }
        if listing.len() <= MAX_CACHED_OBJECTS {
            entries.insert(collection, (revision, listing));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(id: i64, name: &str, etag: &str) -> ObjectMeta {
        ObjectMeta {
            id,
            collection: 1,
            name: name.into(),
            content_type: "text/calendar".into(),
            etag: etag.into(),
            size: 1,
            created_at: 0,
            modified_at: 0,
            schedule_tag: None,
        }
    }

    fn names(cache: &ListingCache, revision: i64) -> Option<Vec<(String, String)>> {
        cache.get(1, revision).map(|l| l.iter().map(|m| (m.name.clone(), m.etag.clone())).collect())
    }

    #[test]
    fn a_single_change_advances_a_cached_listing() {
        let cache = ListingCache::default();
        cache.advance(1, 5, "x", Some(&meta(9, "x", "e"))); // nothing cached: nothing derived
        assert!(cache.get(1, 5).is_none());
        cache.put(1, 5, Arc::new(vec![meta(1, "a", "e1"), meta(3, "c", "e3")]));
        cache.advance(1, 6, "b", Some(&meta(2, "b", "e2")));
        assert_eq!(names(&cache, 6).unwrap(), [("a", "e1"), ("b", "e2"), ("c", "e3")].map(|(n, e)| (n.into(), e.into())));
        cache.advance(1, 7, "a", Some(&meta(1, "a", "e1b")));
        cache.advance(1, 8, "c", None);
        assert_eq!(names(&cache, 8).unwrap(), [("a", "e1b"), ("b", "e2")].map(|(n, e)| (n.into(), e.into())));
        assert!(cache.get(1, 7).is_none(), "one listing per collection");
        // Not from the revision just before: nothing derived.
        cache.advance(1, 10, "z", Some(&meta(4, "z", "e4")));
        assert!(cache.get(1, 10).is_none());
        assert!(cache.get(1, 8).is_some());
    }
}
