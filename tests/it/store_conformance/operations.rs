//! What concerns the store as a whole, for the operator: the migrations a
//! database has (`config check`), the pool's connections (`/metrics`), and
//! a backup while it runs (SQLite; PostgreSQL refuses: `pg_dump`'s job).

use almanach::store::{SharedStore, StoreError};

use super::{home, put_ok, user};

pub async fn migrations_pool_and_backup(store: SharedStore) {
    // Migrated: every migration of this build applied, none unknown.
    let m = store.migration_state().await.unwrap();
    assert!(m.pending().is_empty() && m.unknown().is_empty(), "{m:?}");
    assert_eq!(m.applied.len(), m.known.len());
    assert_eq!(m.known.first().map(|(v, d)| (*v, d.as_str())), Some((1, "init")));

    // At rest: connections within the maximum, nobody waiting.
    let pool = store.pool_stats();
    assert!(pool.max >= 1 && pool.in_use + pool.idle <= pool.max && pool.waiting == 0, "{pool:?}");

    let alice = user(&store, "alice").await;
    let root = home(&store, &alice).await;
    let meta = put_ok(&store, &root, "a.txt", b"kept").await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("backup.db");
    match store.backup_to(&path).await {
        // SQLite: a database file with the same rows, ETags included; a
        // backup never overwrites a file.
        Ok(()) => {
            let copy = almanach::store::open(&format!("sqlite://{}", path.display())).await.unwrap();
            let collection = copy.collection_by_path(&root.path).await.unwrap().expect("collection in the backup");
            let object = copy.object(collection.id, "a.txt").await.unwrap().expect("object in the backup");
            assert_eq!((object.etag, collection.sync_revision), (meta.etag, store.collection_by_path(&root.path).await.unwrap().unwrap().sync_revision));
            assert!(matches!(store.backup_to(&path).await, Err(StoreError::Invalid(_))));
        }
        // PostgreSQL: pg_dump's job, and nothing written.
        Err(StoreError::Invalid(why)) => {
            assert!(why.contains("pg_dump"), "{why}");
            assert!(!path.exists());
        }
        Err(e) => panic!("backup: {e}"),
    }
}
