//! Store conformance: every scenario runs unchanged against SQLite and PostgreSQL
//! (`sqlite::<name>` and `postgres::<name>`).

use std::future::Future;
use std::time::Duration;

use almanach::store::*;
use bytes::Bytes;

use crate::db::{fresh_db, Backend};

mod account;
mod changes;
mod collections;
mod concurrency;
mod locks;
mod national_directory;
mod objects;
mod operations;
mod outbox;
mod principals;
mod properties;
mod scheduling;
mod throttle;
mod tokens;
mod transfer;
mod visio;

async fn run<F, Fut>(backend: Backend, scenario: F)
where
    F: FnOnce(SharedStore) -> Fut,
    Fut: Future<Output = ()>,
{
    let db = fresh_db(backend).await;
    let store = almanach::store::open(&db.url).await.expect("open store");
    store.migrate().await.expect("migrate");
    store.migrate().await.expect("migrate twice");
    store.ping().await.expect("ping");
    scenario(store).await;
    drop(db);
}

macro_rules! conformance {
    ($($module:ident :: $name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::run(crate::db::Backend::Sqlite, super::$module::$name).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::run(crate::db::Backend::Postgres, super::$module::$name).await;
                }
            )*
        }
    };
}

conformance!(
    // PrincipalStore
    principals::academies_and_principals,
    principals::principal_emails,
    principals::delete_principal_cascades,
    principals::principal_search,
    principals::principal_by_email,
    principals::directory_generation,
    // DirectoryStore
    national_directory::directory_search,
    national_directory::directory_import,
    national_directory::former_addresses_across_imports,
    // CollectionStore
    collections::collections_tree,
    // ObjectStore
    objects::put_object_conditions_and_bytes,
    objects::quota_exceeded_leaves_data_intact,
    objects::delete_object_conditions,
    objects::object_reads,
    // COPY and MOVE (ObjectStore, CollectionStore)
    transfer::copy_and_move_objects,
    transfer::copy_and_move_collections,
    transfer::move_into_own_subtree_refused,
    transfer::copy_checks_the_quota,
    transfer::move_to_another_owner,
    transfer::kept_usage_matches_a_recount,
    transfer::copy_keeps_uids_unique,
    transfer::concurrent_transfers,
    transfer::collection_and_object_moves_race,
    // PropertyStore
    properties::dead_properties,
    properties::dead_properties_count_towards_quota,
    // ChangeStore
    changes::change_log,
    // LockStore
    locks::locks,
    locks::stale_guards_still_protect,
    locks::lock_guards,
    locks::lock_conflicts,
    locks::lock_null_resources,
    locks::lock_limits,
    // ThrottleStore
    throttle::login_records,
    // OutboxStore
    outbox::writes_carry_jobs,
    outbox::racing_writes_carry_only_the_winners_job,
    outbox::claim_lease_complete_retry,
    // Scheduling (RFC 6638): schedule tags, job ids, batches, UID lookups
    scheduling::schedule_tags,
    scheduling::writes_report_job_ids,
    scheduling::claim_jobs_by_id,
    scheduling::batch_writes,
    scheduling::calendar_objects_by_uid,
    scheduling::batch_checks_follow_the_batch,
    scheduling::reads_for_many,
    scheduling::batch_quota_follows_the_batch,
    // ReplyTokenStore (iMIP reply addresses)
    tokens::reply_tokens,
    tokens::reply_tokens_race,
    // AccountStore (the account page)
    account::account_sessions,
    account::account_app_passwords,
    account::account_oidc_logins,
    account::account_counts,
    // VisioStore (visio rooms and policies)
    visio::visio_rooms,
    visio::visio_rooms_race,
    visio::visio_voice_bridges,
    visio::visio_policies,
    // Concurrent writers (across concerns)
    concurrency::concurrent_etag_match,
    concurrency::concurrent_exclusive_locks,
    concurrency::locks_and_guarded_writes_race,
    // The store as a whole (config check, /metrics, backup)
    operations::migrations_pool_and_backup,
);

/// Principals created before the directory migration are indexed.
mod directory_upgrade {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::national_directory::upgrade_indexes_existing_principals(crate::db::Backend::Sqlite).await;
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        super::national_directory::upgrade_indexes_existing_principals(crate::db::Backend::Postgres).await;
    }
}

/// Concurrent MOVEs (and DELETE) of one resource, from two stores.
mod concurrent_moves_of_one_resource {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::concurrency::concurrent_moves_of_one_resource(crate::db::Backend::Sqlite).await;
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        super::concurrency::concurrent_moves_of_one_resource(crate::db::Backend::Postgres).await;
    }
}

/// Writes with what a request resolved before another store moved it.
mod writes_recheck_what_the_request_named {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::concurrency::writes_recheck_what_the_request_named(crate::db::Backend::Sqlite).await;
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        super::concurrency::writes_recheck_what_the_request_named(crate::db::Backend::Postgres).await;
    }
}

/// Two stores on one database, as two server processes would share it.
mod shared_database {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::concurrency::two_stores_share_a_database(crate::db::Backend::Sqlite).await;
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        super::concurrency::two_stores_share_a_database(crate::db::Backend::Postgres).await;
    }
}

/// Login records through two stores on one database.
mod shared_login_records {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::throttle::two_stores_share_login_records(crate::db::Backend::Sqlite).await;
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        super::throttle::two_stores_share_login_records(crate::db::Backend::Postgres).await;
    }
}

/// Outbox claims from two stores on one database (two processes).
mod outbox_two_stores {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::outbox::two_stores_never_claim_one_job(crate::db::Backend::Sqlite).await;
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        super::outbox::two_stores_never_claim_one_job(crate::db::Backend::Postgres).await;
    }
}

/// Claims by id racing claims by topic, from two stores.
mod claim_job_ids_races_claim_jobs {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::scheduling::claim_job_ids_races_claim_jobs(crate::db::Backend::Sqlite).await;
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        super::scheduling::claim_job_ids_races_claim_jobs(crate::db::Backend::Postgres).await;
    }
}

/// Batches racing single writes and each other, from two stores.
mod batches_race_single_writes {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::scheduling::batches_race_single_writes(crate::db::Backend::Sqlite).await;
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        super::scheduling::batches_race_single_writes(crate::db::Backend::Postgres).await;
    }
}

/// Outbox jobs across a restart (the store opened again).
mod outbox_durability {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        super::outbox::jobs_survive_reopening(crate::db::Backend::Sqlite).await;
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        super::outbox::jobs_survive_reopening(crate::db::Backend::Postgres).await;
    }
}

// ------------------------------------------------------------------ helpers

pub async fn user(store: &SharedStore, name: &str) -> Principal {
    store
        .create_principal(NewPrincipal { username: name.into(), ..Default::default() })
        .await
        .expect("create principal")
}

pub async fn home(store: &SharedStore, owner: &Principal) -> Collection {
    store
        .create_collection(NewCollection {
            owner: owner.id,
            parent: None,
            path: format!("/files/{}/", owner.username),
            kind: CollectionKind::Plain,
            components: vec![],
            properties: vec![],
            guard: LockGuard::none(),
            quota_limit: None,
        })
        .await
        .expect("create home")
}

pub async fn mkcol(store: &SharedStore, parent: &Collection, name: &str) -> Collection {
    store
        .create_collection(NewCollection {
            owner: parent.owner,
            parent: Some(parent.id),
            path: format!("{}{name}/", parent.path),
            kind: CollectionKind::Calendar,
            components: vec![],
            properties: vec![],
            guard: LockGuard::none(),
            quota_limit: None,
        })
        .await
        .expect("create collection")
}

pub fn put(collection: &Collection, name: &str, body: &[u8], condition: WriteCondition) -> PutObject {
    PutObject {
        collection: collection.id,
        collection_path: collection.path.clone(),
        name: name.into(),
        content_type: "text/calendar".into(),
        content: Bytes::copy_from_slice(body),
        condition,
        quota_limit: None,
        guard: LockGuard::none(),
        index: Default::default(),
        unique_uid: false,
        enqueue: Vec::new(),
        schedule_tag: None,
    }
}

pub async fn put_ok(store: &SharedStore, collection: &Collection, name: &str, body: &[u8]) -> ObjectMeta {
    store.put_object(put(collection, name, body, WriteCondition::None)).await.expect("put").meta
}

pub fn prop(ns: &str, name: &str, value: &str) -> DeadProperty {
    DeadProperty { namespace: ns.into(), name: name.into(), value: value.into() }
}

pub fn dest(parent: &Collection, name: &str, overwrite: bool) -> Destination {
    Destination { parent: parent.id, parent_path: parent.path.clone(), name: name.into(), overwrite, quota_limit: None, enqueue: Vec::new() }
}

/// An object as a request would find it now: its id and path (for an
/// unknown id, no path).
pub async fn obj_at(store: &SharedStore, id: ObjectId) -> Resolved {
    let Some((meta, _)) = store.object_with_content(id).await.unwrap() else {
        return Resolved { id, path: String::new() };
    };
    let parent = store.collection(meta.collection).await.unwrap().expect("its collection");
    Resolved::object(&parent, &meta)
}

/// A collection as a request would find it now (as [`obj_at`]).
pub async fn coll_at(store: &SharedStore, id: CollectionId) -> Resolved {
    match store.collection(id).await.unwrap() {
        Some(c) => Resolved::collection(&c),
        None => Resolved { id, path: String::new() },
    }
}

/// The path a request would find a property target at now.
pub async fn target_path(store: &SharedStore, target: PropertyTarget) -> String {
    match target {
        PropertyTarget::Collection(id) => coll_at(store, id).await.path,
        PropertyTarget::Object(id) => obj_at(store, id).await.path,
    }
}

/// An object's bytes, read with its metadata, which must describe them.
pub async fn content(store: &SharedStore, id: ObjectId) -> Bytes {
    let (meta, bytes) = store.object_with_content(id).await.unwrap().expect("object exists");
    assert_eq!((meta.id, meta.size, meta.etag.as_str()), (id, bytes.len() as i64, etag_for(&bytes).as_str()));
    bytes
}

pub async fn reload(store: &SharedStore, c: &Collection) -> Collection {
    store.collection(c.id).await.unwrap().expect("collection still exists")
}

pub fn test_lock(token: &str, root: &str, infinite: bool, principal: PrincipalId, expires_at: Option<Millis>) -> Lock {
    Lock {
        token: token.into(),
        root: root.into(),
        infinite,
        scope: LockScope::Exclusive,
        owner_xml: Some("<D:href>mailto:a@example.org</D:href>".into()),
        principal,
        timeout_secs: expires_at.map(|_| 600),
        expires_at,
    }
}

/// `lock` with a shared scope (shared locks never conflict with each other).
pub fn shared(lock: Lock) -> Lock {
    Lock { scope: LockScope::Shared, ..lock }
}

/// A lock guard of `principal` submitting `tokens`.
pub fn guard(principal: &Principal, tokens: &[&str], at: &[&str], below: &[&str]) -> LockGuard {
    let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect();
    LockGuard { principal: principal.id, tokens: strings(tokens), at: strings(at), below: strings(below) }
}

/// The root of the lock that refused a write.
#[track_caller]
pub fn locked_root<T: std::fmt::Debug>(r: StoreResult<T>) -> String {
    match r {
        Err(StoreError::Locked { root }) => root,
        other => panic!("expected Locked, got {other:?}"),
    }
}

/// The root of the lock a new lock conflicts with.
#[track_caller]
pub fn conflict_root<T: std::fmt::Debug>(r: StoreResult<T>) -> String {
    match r {
        Err(StoreError::LockConflict { root }) => root,
        other => panic!("expected LockConflict, got {other:?}"),
    }
}

pub fn tokens(locks: &[Lock]) -> Vec<&str> {
    let mut t: Vec<&str> = locks.iter().map(|l| l.token.as_str()).collect();
    t.sort();
    t
}

// ---------------------------------------------------------------- scenarios

