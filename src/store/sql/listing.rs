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

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::store::{CollectionId, ObjectMeta};

/// Most objects kept in all cached listings together (about 150 bytes each).
const MAX_CACHED_OBJECTS: usize = 200_000;

/// A listing and the revision it was read at.
type Listing = (i64, Arc<Vec<ObjectMeta>>);

#[derive(Default)]
pub struct ListingCache {
    entries: Mutex<HashMap<CollectionId, Listing>>,
}

impl ListingCache {
    /// The listing of `collection` at `revision`, if cached.
    pub fn get(&self, collection: CollectionId, revision: i64) -> Option<Arc<Vec<ObjectMeta>>> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.get(&collection).filter(|(r, _)| *r == revision).map(|(_, l)| l.clone())
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
