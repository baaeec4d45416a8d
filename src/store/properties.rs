//! Dead properties (RFC 4918 §4): the [`PropertyStore`] concern of the
//! store. A value is an opaque string that the WebDAV layer produced and will
//! read back.

use async_trait::async_trait;

use super::{CollectionId, LockGuard, ObjectId, StoreResult};

/// What a dead property belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PropertyTarget {
    Collection(CollectionId),
    Object(ObjectId),
}

/// A property stored as received: namespace, local name and an opaque value
/// (the WebDAV layer stores the serialized XML content of the element).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadProperty {
    pub namespace: String,
    pub name: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PropertyUpdate {
    Set(DeadProperty),
    Remove { namespace: String, name: String },
}

/// Dead properties of collections and objects.
#[async_trait]
pub trait PropertyStore: Send + Sync {
    // -- dead properties
    async fn dead_properties(&self, target: PropertyTarget) -> StoreResult<Vec<DeadProperty>>;
    /// The value of the dead property `namespace`/`name` of each of these
    /// collections that has it; one read (per few hundred collections).
    async fn collections_property(&self, ids: &[CollectionId], namespace: &str, name: &str) -> StoreResult<Vec<(CollectionId, String)>>;
    /// Apply all updates in one transaction (PROPPATCH is all-or-nothing).
    /// Property values count towards the owner's quota: with `quota_limit`,
    /// updates that set properties fail with [`StoreError::QuotaExceeded`](super::StoreError::QuotaExceeded)
    /// when the owner's total would exceed it. `path` is the store path the
    /// request found the target at: `NotFound` if it is no longer there.
    async fn update_dead_properties(
        &self,
        target: PropertyTarget,
        path: &str,
        updates: &[PropertyUpdate],
        guard: &LockGuard,
        quota_limit: Option<i64>,
    ) -> StoreResult<()>;
}
