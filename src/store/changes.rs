//! The per-collection change log (RFC 6578 sync tokens): the
//! [`ChangeStore`] concern of the store.

use async_trait::async_trait;

use super::{CollectionId, StoreResult};

/// One entry of a collection's change log (RFC 6578).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// Member name (object or child collection, without trailing slash).
    pub name: String,
    pub revision: i64,
    pub deleted: bool,
}

/// The change log of collections.
#[async_trait]
pub trait ChangeStore: Send + Sync {
    // -- change log (RFC 6578)
    /// Changes after `since` (exclusive), at most one entry per name (the latest),
    /// ordered by revision. `InvalidSyncToken` if `since` is beyond the
    /// collection's current revision.
    async fn changes_since(&self, collection: CollectionId, since: i64) -> StoreResult<Vec<Change>>;
}
