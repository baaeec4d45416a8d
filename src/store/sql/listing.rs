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

#[derive(Default)]
pub struct ListingCache {
    entries: Mutex<HashMap<CollectionId, Listing>>,
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
