//! The transactional outbox (`OutboxStore`): jobs written by object writes
//! in their own transaction, claimed with a lease, completed or retried; two
//! stores (processes) never claim one job at once; jobs outlive the store.

use std::collections::HashSet;
use std::time::Duration;

use super::*;

/// A fixed "now" for claims (the caller supplies the time).
const T: Millis = 1_700_000_000_000;
const LEASE: Duration = Duration::from_secs(60);

pub fn job(topic: &str, payload: &str, not_before: Millis) -> NewJob {
    NewJob { topic: topic.into(), payload: payload.as_bytes().to_vec(), not_before }
}

/// `put` carrying one job of topic "t" whose payload is `payload`.
fn put_with(collection: &Collection, name: &str, body: &[u8], condition: WriteCondition, payload: &str) -> PutObject {
    PutObject { enqueue: vec![job("t", payload, T)], ..put(collection, name, body, condition) }
}

fn with_job(to: Destination, payload: &str) -> Destination {
    Destination { enqueue: vec![job("t", payload, T)], ..to }
}

fn one(payload: &str) -> Vec<NewJob> {
    vec![job("t", payload, T)]
}

/// Claim every due job of `topic` (at `now`) and return their payloads in
/// claim order.
async fn claim_all(store: &SharedStore, topic: &str, now: Millis) -> Vec<String> {
    let jobs = store.claim_jobs(topic, now, 1_000, LEASE).await.unwrap();
    jobs.into_iter().map(|j| String::from_utf8(j.payload).unwrap()).collect()
}

/// Every write that changes objects writes its jobs if and only if it
/// commits: refused by a precondition, the quota, a lock, a UID conflict,
/// a moved parent or a lost race, it writes none.
pub async fn writes_carry_jobs(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let root = home(&store, &alice).await;
    let cal = mkcol(&store, &root, "cal").await;
    let other = mkcol(&store, &root, "other").await;
    assert_eq!(store.jobs_pending("t").await.unwrap(), 0);

    // A put with jobs commits them with the object, of each topic.
    let mut p = put_with(&cal, "ev.ics", b"v1", WriteCondition::MustNotExist, "put ev");
    p.enqueue.push(job("t", "put ev again", T));
    p.enqueue.push(job("mail", "notify", T));
    let ev = store.put_object(p).await.unwrap().meta;
    assert_eq!(store.jobs_pending("t").await.unwrap(), 2);
    assert_eq!(store.jobs_pending("mail").await.unwrap(), 1);
    assert_eq!(store.jobs_pending("none").await.unwrap(), 0);

    // Refused puts write nothing.
    let refused = |r: StoreResult<PutOutcome>| assert!(r.is_err(), "{r:?}");
    refused(store.put_object(put_with(&cal, "ev.ics", b"x", WriteCondition::ETagMatches("nope".into()), "if-match")).await);
    refused(store.put_object(put_with(&cal, "ev.ics", b"x", WriteCondition::MustNotExist, "if-none-match")).await);
    refused(store.put_object(put_with(&cal, "new.ics", b"x", WriteCondition::MustExist, "if-match *")).await);
    let mut p = put_with(&cal, "big.ics", &[0u8; 100], WriteCondition::None, "quota");
    p.quota_limit = Some(50);
    assert!(matches!(store.put_object(p).await, Err(StoreError::QuotaExceeded)));
    let mut p = put_with(&cal, "ev.ics", b"u1", WriteCondition::None, "uid");
    p.index.uid = Some("u1".into());
    store.put_object(p).await.unwrap();
    let mut p = put_with(&cal, "dup.ics", b"dup", WriteCondition::None, "uid conflict");
    p.index.uid = Some("u1".into());
    p.unique_uid = true;
    assert!(matches!(store.put_object(p).await, Err(StoreError::UidConflict { .. })));
    let stale = Collection { path: "/files/alice/moved/".into(), ..cal.clone() };
    assert!(matches!(store.put_object(put_with(&stale, "x.ics", b"x", WriteCondition::None, "moved parent")).await, Err(StoreError::MissingParent)));
    assert!(matches!(store.put_object(put_with(&root, "cal", b"x", WriteCondition::None, "collection")).await, Err(StoreError::AlreadyExists)));
    let ev_path = "/files/alice/cal/ev.ics";
    store.create_lock(test_lock("urn:uuid:ev", ev_path, false, bob.id, None), None, &LockLimits::none()).await.unwrap();
    let mut p = put_with(&cal, "ev.ics", b"x", WriteCondition::None, "locked");
    p.guard = guard(&alice, &[], &[ev_path], &[]);
    assert_eq!(locked_root(store.put_object(p).await), ev_path);
    let mut p = put_with(&cal, "x.ics", b"x", WriteCondition::None, "empty topic");
    p.enqueue.push(job("", "no topic", T));
    assert!(matches!(store.put_object(p).await, Err(StoreError::Invalid(_))));
    assert_eq!(store.object(cal.id, "x.ics").await.unwrap(), None, "a job refused rolls its write back");
    store.remove_lock("urn:uuid:ev").await.unwrap();
    assert_eq!(store.jobs_pending("t").await.unwrap(), 3);

    // DELETE.
    let g = LockGuard::none();
    let at = coll_at(&store, cal.id).await;
    assert!(matches!(store.delete_object(&at, "ev.ics", Some("nope"), &g, one("delete if-match")).await, Err(StoreError::PreconditionFailed)));
    assert!(matches!(store.delete_object(&at, "none.ics", None, &g, one("delete none")).await, Err(StoreError::NotFound)));
    let stale_at = Resolved { path: "/files/alice/moved/".into(), ..at.clone() };
    assert!(matches!(store.delete_object(&stale_at, "ev.ics", None, &g, one("delete moved")).await, Err(StoreError::NotFound)));
    put_ok(&store, &cal, "gone.ics", b"gone").await;
    store.delete_object(&at, "gone.ics", None, &g, one("delete")).await.unwrap();

    // COPY and MOVE of objects.
    let ev_at = obj_at(&store, ev.id).await;
    assert!(matches!(store.copy_object(&ev_at, with_job(dest(&cal, "ev.ics", false), "copy onto itself"), &g).await, Err(StoreError::Invalid(_))));
    assert!(matches!(store.copy_object(&ev_at, with_job(dest(&cal, "copy.ics", false), "copy uid"), &g).await, Err(StoreError::UidConflict { .. })));
    let limited = Destination { quota_limit: Some(1), ..dest(&other, "copy.ics", false) };
    assert!(matches!(store.copy_object(&ev_at, with_job(limited, "copy quota"), &g).await, Err(StoreError::QuotaExceeded)));
    store.copy_object(&ev_at, with_job(dest(&other, "copy.ics", false), "copy"), &g).await.unwrap();
    assert!(matches!(store.copy_object(&ev_at, with_job(dest(&other, "copy.ics", false), "copy exists"), &g).await, Err(StoreError::AlreadyExists)));
    store.move_object(&ev_at, with_job(dest(&root, "moved.ics", false), "move"), &g).await.unwrap();
    assert!(matches!(store.move_object(&ev_at, with_job(dest(&other, "again.ics", false), "move stale"), &g).await, Err(StoreError::NotFound)));

    // COPY and MOVE of collections.
    let other_at = coll_at(&store, other.id).await;
    store.copy_collection(&other_at, with_job(dest(&root, "other2", false), "copy collection"), true, &g).await.unwrap();
    assert!(matches!(store.copy_collection(&other_at, with_job(dest(&root, "other2", false), "copy collection exists"), true, &g).await, Err(StoreError::AlreadyExists)));
    store.move_collection(&other_at, with_job(dest(&root, "other3", false), "move collection"), &g).await.unwrap();
    assert!(matches!(store.move_collection(&other_at, with_job(dest(&root, "other4", false), "move collection stale"), &g).await, Err(StoreError::NotFound)));

    // Exactly the jobs of the writes that committed, in the order written.
    assert_eq!(
        claim_all(&store, "t", T).await,
        ["put ev", "put ev again", "uid", "delete", "copy", "move", "copy collection", "move collection"]
    );
    assert_eq!(claim_all(&store, "mail", T).await, ["notify"]);
}

/// Of concurrent conditional writes with the same `If-Match`, one wins: only
/// its job is written.
pub async fn racing_writes_carry_only_the_winners_job(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let root = home(&store, &alice).await;
    let first = put_ok(&store, &root, "ev.ics", b"v1").await;
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let store = store.clone();
            let p = put_with(&root, "ev.ics", format!("writer {i}").as_bytes(), WriteCondition::ETagMatches(first.etag.clone()), &format!("job {i}"));
            tokio::spawn(async move { (i, store.put_object(p).await) })
        })
        .collect();
    let mut winners = Vec::new();
    for t in tasks {
        let (i, r) = t.await.unwrap();
        match r {
            Ok(_) => winners.push(i),
            Err(StoreError::PreconditionFailed) => {}
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!(winners.len(), 1, "{winners:?}");
    assert_eq!(content(&store, first.id).await, format!("writer {}", winners[0]).into_bytes());
    assert_eq!(claim_all(&store, "t", T).await, [format!("job {}", winners[0])]);
}

/// Claims take the due, unleased jobs of their topic in id order and lease
/// them; an expired lease makes a job claimable again; a retry counts the
/// attempt, keeps the error, releases the lease and postpones the job; a
/// completed job is gone.
pub async fn claim_lease_complete_retry(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let root = home(&store, &alice).await;
    let mut p = put(&root, "ev.ics", b"v1", WriteCondition::None);
    p.enqueue = vec![job("itip", "a", T), job("itip", "b", T - 5), job("itip", "later", T + 100_000), job("mail", "m", T)];
    store.put_object(p).await.unwrap();
    assert_eq!(store.jobs_pending("itip").await.unwrap(), 3);

    // Not due yet ("b" is due at T - 5).
    assert_eq!(claim_all(&store, "itip", T - 6).await, Vec::<String>::new());
    let claimed = store.claim_jobs("itip", T, 1, LEASE).await.unwrap();
    assert_eq!(claimed.len(), 1);
    let a = claimed[0].clone();
    assert_eq!((a.topic.as_str(), a.payload.as_slice()), ("itip", &b"a"[..]));
    assert_eq!((a.not_before, a.attempts, a.last_error.as_deref()), (T, 0, None));
    assert_eq!(a.leased_until, Some(T + 60_000));
    assert!(a.created_at > 0);
    let claimed = store.claim_jobs("itip", T, 10, LEASE).await.unwrap();
    assert_eq!(claimed.len(), 1);
    let b = claimed[0].clone();
    assert_eq!((b.payload.as_slice(), b.not_before), (&b"b"[..], T - 5));
    assert!(a.id < b.id, "ids follow the order jobs were written");
    // Both leased, "later" not due: nothing until the leases expire.
    assert!(store.claim_jobs("itip", T + 59_999, 10, LEASE).await.unwrap().is_empty());
    assert_eq!(store.jobs_pending("itip").await.unwrap(), 3, "leased jobs are pending");
    // A worker that died: its jobs are claimed again once the lease expired.
    let again = store.claim_jobs("itip", T + 60_000, 10, LEASE).await.unwrap();
    assert_eq!(again.iter().map(|j| j.id).collect::<Vec<_>>(), [a.id, b.id]);
    assert!(again.iter().all(|j| j.leased_until == Some(T + 120_000) && j.attempts == 0));

    // Retry: attempt counted, error kept, lease released, due again later.
    store.retry_job(a.id, T + 70_000, "remote server said 503").await.unwrap();
    assert!(store.claim_jobs("itip", T + 69_999, 10, LEASE).await.unwrap().is_empty());
    let retried = store.claim_jobs("itip", T + 70_000, 10, LEASE).await.unwrap();
    assert_eq!(retried.len(), 1);
    let r = &retried[0];
    assert_eq!((r.id, r.attempts, r.not_before), (a.id, 1, T + 70_000));
    assert_eq!((r.last_error.as_deref(), r.leased_until), (Some("remote server said 503"), Some(T + 130_000)));
    assert_eq!((r.payload.as_slice(), r.created_at), (&b"a"[..], a.created_at));
    store.retry_job(a.id, T + 80_000, "again").await.unwrap();
    let retried = store.claim_jobs("itip", T + 80_000, 10, LEASE).await.unwrap();
    assert_eq!((retried[0].attempts, retried[0].last_error.as_deref()), (2, Some("again")));

    // Complete: the job is gone, for every later call.
    store.complete_job(b.id).await.unwrap();
    assert!(matches!(store.complete_job(b.id).await, Err(StoreError::NotFound)));
    assert!(matches!(store.retry_job(b.id, T, "late").await, Err(StoreError::NotFound)));
    assert_eq!(store.jobs_pending("itip").await.unwrap(), 2);
    // Later: "a" (lease expired at T + 140_000) and "later", in id order.
    let rest = store.claim_jobs("itip", T + 200_000, 10, LEASE).await.unwrap();
    assert_eq!(rest.iter().map(|j| j.payload.as_slice()).collect::<Vec<_>>(), [&b"a"[..], &b"later"[..]]);
    // The limit bounds a claim; no limit claims nothing; a lease is required.
    assert!(store.claim_jobs("mail", T, 0, LEASE).await.unwrap().is_empty());
    assert!(matches!(store.claim_jobs("mail", T, 10, Duration::ZERO).await, Err(StoreError::Invalid(_))));
    let m = store.claim_jobs("mail", T, 10, LEASE).await.unwrap();
    assert_eq!(m.len(), 1);
    for j in rest.iter().chain(&m) {
        store.complete_job(j.id).await.unwrap();
    }
    assert_eq!(store.jobs_pending("itip").await.unwrap(), 0);
    assert_eq!(store.jobs_pending("mail").await.unwrap(), 0);
    assert!(store.claim_jobs("itip", T + 1_000_000, 10, LEASE).await.unwrap().is_empty());
}

/// Two stores on one database, as two server processes: claimers racing on
/// both never get one job twice while its lease runs, and together claim
/// every job; a job claimed through one is completed through the other.
pub async fn two_stores_never_claim_one_job(backend: Backend) {
    let db = fresh_db(backend).await;
    let one = almanach::store::open(&db.url).await.expect("open first store");
    one.migrate().await.unwrap();
    let two = almanach::store::open(&db.url).await.expect("open second store");
    two.migrate().await.unwrap();
    let alice = user(&one, "alice").await;
    let root = home(&one, &alice).await;
    const JOBS: usize = 120;
    for batch in 0..4 {
        let mut p = put(&root, &format!("ev{batch}.ics"), b"v", WriteCondition::None);
        p.enqueue = (0..JOBS / 4).map(|i| job("itip", &format!("{batch}/{i}"), T)).collect();
        let store = if batch % 2 == 0 { &one } else { &two };
        store.put_object(p).await.unwrap();
    }
    assert_eq!(two.jobs_pending("itip").await.unwrap(), JOBS as i64);

    let claimers: Vec<_> = (0..8)
        .map(|i| {
            let store = if i % 2 == 0 { one.clone() } else { two.clone() };
            tokio::spawn(async move {
                let mut mine = Vec::new();
                loop {
                    let jobs = store.claim_jobs("itip", T, 3, LEASE).await.unwrap();
                    if jobs.is_empty() {
                        return mine;
                    }
                    assert!(jobs.windows(2).all(|w| w[0].id < w[1].id), "ordered by id");
                    mine.extend(jobs.into_iter().map(|j| (i, j.id)));
                }
            })
        })
        .collect();
    let mut claimed = Vec::new();
    for c in claimers {
        claimed.extend(c.await.unwrap());
    }
    let ids: HashSet<JobId> = claimed.iter().map(|(_, id)| *id).collect();
    assert_eq!(ids.len(), claimed.len(), "a job was claimed twice");
    assert_eq!(ids.len(), JOBS, "every job claimed");
    // While the leases run, neither store claims them again.
    assert!(one.claim_jobs("itip", T + 59_999, 1_000, LEASE).await.unwrap().is_empty());
    assert!(two.claim_jobs("itip", T + 59_999, 1_000, LEASE).await.unwrap().is_empty());
    // Completed through the other store than the one that claimed.
    for (i, id) in &claimed {
        let other = if i % 2 == 0 { &two } else { &one };
        other.complete_job(*id).await.unwrap();
    }
    assert_eq!(one.jobs_pending("itip").await.unwrap(), 0);
    drop(db);
}

/// Jobs are in the database: a store opened again on it (a restarted
/// server) finds them as they were left — pending, leased, retried.
pub async fn jobs_survive_reopening(backend: Backend) {
    let db = fresh_db(backend).await;
    let store = almanach::store::open(&db.url).await.expect("open store");
    store.migrate().await.unwrap();
    let alice = user(&store, "alice").await;
    let root = home(&store, &alice).await;
    let mut p = put(&root, "ev.ics", b"v1", WriteCondition::None);
    p.enqueue = vec![job("itip", "leased", T), job("itip", "retried", T), job("itip", "waiting", T + 1)];
    store.put_object(p).await.unwrap();
    let leased = store.claim_jobs("itip", T, 2, LEASE).await.unwrap();
    assert_eq!(leased.len(), 2);
    store.retry_job(leased[1].id, T + 10, "failed once").await.unwrap();
    drop(store);

    let store = almanach::store::open(&db.url).await.expect("reopen store");
    store.migrate().await.unwrap();
    assert_eq!(store.jobs_pending("itip").await.unwrap(), 3);
    // The lease taken before the restart still holds.
    let due = store.claim_jobs("itip", T + 10, 10, LEASE).await.unwrap();
    let got: Vec<(&[u8], i64, Option<&str>)> = due.iter().map(|j| (j.payload.as_slice(), j.attempts, j.last_error.as_deref())).collect();
    assert_eq!(got, [(&b"retried"[..], 1, Some("failed once")), (&b"waiting"[..], 0, None)]);
    let expired = store.claim_jobs("itip", T + 60_000, 10, LEASE).await.unwrap();
    assert_eq!(expired.len(), 1);
    assert_eq!((expired[0].id, expired[0].payload.as_slice()), (leased[0].id, &b"leased"[..]));
    drop(store);
    drop(db);
}
