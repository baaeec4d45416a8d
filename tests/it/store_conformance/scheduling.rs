//! What CalDAV scheduling (RFC 6638) needs of the store: schedule tags,
//! the ids of the jobs a write enqueued and claiming them by id, batches
//! of writes applied together, and finding a user's objects by UID.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use super::outbox::job;
use super::*;

/// A fixed "now" for claims (the caller supplies the time).
const T: Millis = 1_700_000_000_000;
const LEASE: Duration = Duration::from_secs(60);

fn tagged(collection: &Collection, name: &str, body: &[u8], tag: Option<&str>) -> PutObject {
    PutObject { schedule_tag: tag.map(Into::into), ..put(collection, name, body, WriteCondition::None) }
}

fn with_uid(collection: &Collection, name: &str, body: &[u8], uid: &str) -> PutObject {
    let mut p = put(collection, name, body, WriteCondition::None);
    p.index.uid = Some(uid.into());
    p
}

async fn tag_of(store: &SharedStore, collection: &Collection, name: &str) -> Option<String> {
    store.object(collection.id, name).await.unwrap().expect("object exists").schedule_tag
}

/// The schedule tag is stored as given with each write (None: none), read
/// back by every read of an object's metadata, and carried by COPY and MOVE.
pub async fn schedule_tags(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let root = home(&store, &alice).await;
    let cal = mkcol(&store, &root, "cal").await;
    let other = mkcol(&store, &root, "other").await;
    // A listing cached before the writes, which they advance.
    assert!(store.objects(cal.id).await.unwrap().is_empty());

    let out = store.put_object(tagged(&cal, "ev.ics", b"v1", Some("st-1"))).await.unwrap();
    assert_eq!(out.meta.schedule_tag.as_deref(), Some("st-1"));
    put_ok(&store, &cal, "plain.ics", b"plain").await;
    assert_eq!(tag_of(&store, &cal, "ev.ics").await.as_deref(), Some("st-1"));
    assert_eq!(tag_of(&store, &cal, "plain.ics").await, None);
    let listed: Vec<(String, Option<String>)> =
        store.objects(cal.id).await.unwrap().into_iter().map(|m| (m.name, m.schedule_tag)).collect();
    assert_eq!(listed, [("ev.ics".to_string(), Some("st-1".to_string())), ("plain.ics".to_string(), None)]);
    let (_, meta) = store.object_at(&cal.path, "ev.ics").await.unwrap().unwrap();
    assert_eq!(meta.schedule_tag.as_deref(), Some("st-1"));
    let (_, meta, _) = store.object_at_with_content(&cal.path, "ev.ics").await.unwrap().unwrap();
    assert_eq!(meta.schedule_tag.as_deref(), Some("st-1"));
    let (meta, _) = store.object_with_content(out.meta.id).await.unwrap().unwrap();
    assert_eq!(meta.schedule_tag.as_deref(), Some("st-1"));
    let rev = reload(&store, &cal).await.sync_revision;
    for with_content in [false, true] {
        let found = store.objects_by_name(cal.id, Some(rev), &["ev.ics".to_string()], with_content).await.unwrap();
        assert_eq!(found[0].0.schedule_tag.as_deref(), Some("st-1"));
    }
    let found = store.query_objects(cal.id, &ObjectQuery::default()).await.unwrap();
    assert_eq!(found.iter().map(|o| o.meta.schedule_tag.as_deref()).collect::<Vec<_>>(), [Some("st-1"), None]);

    // Replaced: the new tag, or none.
    store.put_object(tagged(&cal, "ev.ics", b"v2", Some("st-2"))).await.unwrap();
    assert_eq!(tag_of(&store, &cal, "ev.ics").await.as_deref(), Some("st-2"));
    assert_eq!(store.objects(cal.id).await.unwrap()[0].schedule_tag.as_deref(), Some("st-2"));
    store.put_object(tagged(&cal, "plain.ics", b"plain2", None)).await.unwrap();
    store.put_object(tagged(&cal, "ev.ics", b"v3", None)).await.unwrap();
    assert_eq!(tag_of(&store, &cal, "ev.ics").await, None);
    store.put_object(tagged(&cal, "ev.ics", b"v4", Some("st-4"))).await.unwrap();

    // COPY and MOVE of objects keep it.
    let ev = store.object(cal.id, "ev.ics").await.unwrap().unwrap();
    store.copy_object(&obj_at(&store, ev.id).await, dest(&other, "copy.ics", false), &LockGuard::none()).await.unwrap();
    assert_eq!(tag_of(&store, &other, "copy.ics").await.as_deref(), Some("st-4"));
    store.move_object(&obj_at(&store, ev.id).await, dest(&other, "moved.ics", false), &LockGuard::none()).await.unwrap();
    assert_eq!(tag_of(&store, &other, "moved.ics").await.as_deref(), Some("st-4"));
    // And those of collections, for their members.
    let out = store.copy_collection(&coll_at(&store, other.id).await, dest(&root, "copied", false), true, &LockGuard::none()).await.unwrap();
    assert!(out.jobs.is_empty());
    let copied = store.collection_by_path("/files/alice/copied/").await.unwrap().unwrap();
    assert_eq!(tag_of(&store, &copied, "moved.ics").await.as_deref(), Some("st-4"));
    store.move_collection(&coll_at(&store, copied.id).await, dest(&cal, "sub", false), &LockGuard::none()).await.unwrap();
    let sub = store.collection_by_path("/files/alice/cal/sub/").await.unwrap().unwrap();
    assert_eq!(tag_of(&store, &sub, "copy.ics").await.as_deref(), Some("st-4"));
}

/// Every write that carries jobs reports their ids, in order; a write that
/// fails writes none. DELETE of a collection carries jobs too.
pub async fn writes_report_job_ids(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let root = home(&store, &alice).await;
    let cal = mkcol(&store, &root, "cal").await;
    let other = mkcol(&store, &root, "other").await;
    let mut p = put(&cal, "ev.ics", b"v1", WriteCondition::None);
    p.enqueue = vec![job("itip", "a", T), job("mail", "b", T), job("itip", "c", T + 1)];
    let out = store.put_object(p).await.unwrap();
    assert_eq!(out.jobs.len(), 3);
    assert!(out.jobs.windows(2).all(|w| w[0] < w[1]), "{:?}", out.jobs);
    // The ids are those of the jobs, in the order given.
    let claimed = store.claim_job_ids(&out.jobs, T, LEASE).await.unwrap();
    let payloads: Vec<(JobId, &[u8])> = claimed.iter().map(|j| (j.id, j.payload.as_slice())).collect();
    assert_eq!(payloads, [(out.jobs[0], &b"a"[..]), (out.jobs[1], &b"b"[..]), (out.jobs[2], &b"c"[..])]);
    assert!(store.put_object(put(&cal, "x.ics", b"x", WriteCondition::None)).await.unwrap().jobs.is_empty());

    let at = coll_at(&store, cal.id).await;
    let ids = store.delete_object(&at, "x.ics", None, &LockGuard::none(), vec![job("itip", "deleted", T)]).await.unwrap();
    assert_eq!(ids.len(), 1);
    assert!(ids[0] > out.jobs[2]);
    assert!(store.delete_object(&at, "x.ics", None, &LockGuard::none(), vec![job("itip", "gone", T)]).await.is_err());

    let ev = store.object(cal.id, "ev.ics").await.unwrap().unwrap();
    let to = Destination { enqueue: vec![job("itip", "copy", T)], ..dest(&other, "copy.ics", false) };
    let copied = store.copy_object(&obj_at(&store, ev.id).await, to, &LockGuard::none()).await.unwrap();
    let to = Destination { enqueue: vec![job("itip", "move", T), job("itip", "move 2", T)], ..dest(&other, "moved.ics", false) };
    let moved = store.move_object(&obj_at(&store, ev.id).await, to, &LockGuard::none()).await.unwrap();
    assert_eq!((copied.jobs.len(), moved.jobs.len()), (1, 2));

    // DELETE of a collection: its jobs only if it commits.
    let stale = Resolved { path: "/files/alice/elsewhere/".into(), ..coll_at(&store, other.id).await };
    let refused = store.delete_collection(&stale, &LockGuard::none(), vec![job("itip", "refused", T)]).await;
    assert!(matches!(refused, Err(StoreError::NotFound)), "{refused:?}");
    let ids = store.delete_collection(&coll_at(&store, other.id).await, &LockGuard::none(), vec![job("itip", "rmdir", T)]).await.unwrap();
    assert_eq!(ids.len(), 1);
    let due = store.claim_jobs("itip", T, 100, LEASE).await.unwrap();
    let payloads: Vec<&[u8]> = due.iter().map(|j| j.payload.as_slice()).collect();
    assert_eq!(payloads, [&b"deleted"[..], b"copy", b"move", b"move 2", b"rmdir"]);
    let mut all: Vec<JobId> = [ids.clone(), copied.jobs.clone(), moved.jobs.clone()].concat();
    all.sort_unstable();
    assert_eq!(all, due.iter().filter(|j| j.payload != b"deleted").map(|j| j.id).collect::<Vec<_>>());
}

/// `claim_job_ids` claims those of the ids that exist and are not leased,
/// whether due or not, in one transaction; `claim_jobs` then skips them
/// while their lease runs, and the other way round.
pub async fn claim_jobs_by_id(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let root = home(&store, &alice).await;
    let mut p = put(&root, "ev.ics", b"v1", WriteCondition::None);
    p.enqueue = vec![job("itip", "now", T), job("itip", "later", T + 1_000_000), job("mail", "other topic", T), job("itip", "rest", T)];
    let ids = store.put_object(p).await.unwrap().jobs;

    assert!(matches!(store.claim_job_ids(&ids, T, Duration::ZERO).await, Err(StoreError::Invalid(_))));
    assert!(store.claim_job_ids(&[], T, LEASE).await.unwrap().is_empty());
    // Not due, another topic, unknown ids, the same id twice: all fine.
    let claimed = store.claim_job_ids(&[ids[1], ids[0], 999_999, ids[2], ids[0]], T, LEASE).await.unwrap();
    assert_eq!(claimed.iter().map(|j| j.id).collect::<Vec<_>>(), [ids[0], ids[1], ids[2]]);
    assert!(claimed.iter().all(|j| j.leased_until == Some(T + 60_000) && j.attempts == 0));
    assert_eq!(claimed[1].not_before, T + 1_000_000, "not_before is left as it is");
    // Leased: neither way of claiming returns them again before the lease ends.
    assert!(store.claim_job_ids(&ids[..3], T + 59_999, LEASE).await.unwrap().is_empty());
    let due = store.claim_jobs("itip", T + 59_999, 10, LEASE).await.unwrap();
    assert_eq!(due.iter().map(|j| j.id).collect::<Vec<_>>(), [ids[3]]);
    assert!(store.claim_job_ids(&ids, T + 59_999, LEASE).await.unwrap().is_empty());
    // Expired leases: claimable again, by id.
    let again = store.claim_job_ids(&ids, T + 60_000, LEASE).await.unwrap();
    assert_eq!(again.iter().map(|j| j.id).collect::<Vec<_>>(), ids[..3]);
    assert!(again.iter().all(|j| j.leased_until == Some(T + 120_000)));
    // A retried job is released: claimable by id at once, its attempts kept.
    store.retry_job(ids[0], T + 500_000, "failed").await.unwrap();
    let retried = store.claim_job_ids(&[ids[0]], T + 60_001, LEASE).await.unwrap();
    assert_eq!((retried[0].attempts, retried[0].last_error.as_deref()), (1, Some("failed")));
    // Completed: gone.
    store.complete_job(ids[0]).await.unwrap();
    assert!(store.claim_job_ids(&[ids[0]], T + 10_000_000, LEASE).await.unwrap().is_empty());
    assert_eq!(store.jobs_pending("itip").await.unwrap(), 2);
}

/// Claims by id racing claims by topic, from two stores on one database
/// (two processes): no job is returned twice while its lease runs, and
/// together they claim every job.
pub async fn claim_job_ids_races_claim_jobs(backend: Backend) {
    let db = fresh_db(backend).await;
    let one = almanach::store::open(&db.url).await.expect("open first store");
    one.migrate().await.unwrap();
    let two = almanach::store::open(&db.url).await.expect("open second store");
    let alice = user(&one, "alice").await;
    let root = home(&one, &alice).await;
    let stores = [one.clone(), two.clone()];
    for round in 0..4 {
        // Each round at its own time, past the leases of the one before.
        let now = T + round * 1_000_000;
        let mut ids = Vec::new();
        for i in 0..6 {
            let mut p = put(&root, &format!("ev{i}.ics"), b"v", WriteCondition::None);
            p.enqueue = (0..20).map(|j| job("itip", &format!("{i}/{j}"), now)).collect();
            ids.extend(one.put_object(p).await.unwrap().jobs);
        }
        let tasks: Vec<_> = (0..8)
            .map(|i| {
                let store = stores[i % 2].clone();
                // Half claim by topic; half by id, each a different
                // overlapping slice of the ids (as requests running their
                // own jobs, and others' by mistake).
                let slice: Vec<JobId> = ids.iter().copied().skip(i * 10).take(40).collect();
                tokio::spawn(async move {
                    let mut mine = Vec::new();
                    if i % 4 < 2 {
                        loop {
                            let jobs = store.claim_jobs("itip", now, 3, LEASE).await.unwrap();
                            if jobs.is_empty() {
                                return mine;
                            }
                            mine.extend(jobs.into_iter().map(|j| j.id));
                        }
                    }
                    for chunk in slice.chunks(5) {
                        let jobs = store.claim_job_ids(chunk, now, LEASE).await.unwrap();
                        assert!(jobs.iter().all(|j| chunk.contains(&j.id)));
                        mine.extend(jobs.into_iter().map(|j| j.id));
                    }
                    mine
                })
            })
            .collect();
        let mut claimed = Vec::new();
        for t in tasks {
            claimed.extend(t.await.unwrap());
        }
        let distinct: HashSet<JobId> = claimed.iter().copied().collect();
        assert_eq!(distinct.len(), claimed.len(), "round {round}: a job was claimed twice");
        // The topic claimers ran until nothing was left: every job claimed.
        assert_eq!(distinct.len(), ids.len(), "round {round}");
        assert!(one.claim_job_ids(&ids, now + 59_999, LEASE).await.unwrap().is_empty());
        assert!(two.claim_jobs("itip", now + 59_999, 1_000, LEASE).await.unwrap().is_empty());
        for id in ids {
            stores[(id % 2) as usize].complete_job(id).await.unwrap();
        }
    }
    drop(db);
}

/// `apply_batch`: several writes, in several collections, with jobs
/// completed and written, all or nothing.
pub async fn batch_writes(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let root = home(&store, &alice).await;
    let cal = mkcol(&store, &root, "cal").await;
    let inbox = mkcol(&store, &root, "inbox").await;
    let old = put_ok(&store, &cal, "old.ics", b"old").await;
    let kept = put_ok(&store, &inbox, "kept.ics", b"kept").await;
    let mut p = put(&root, "seed.ics", b"seed", WriteCondition::None);
    p.enqueue = vec![job("itip", "j1", T), job("itip", "j2", T), job("itip", "j3", T)];
    let jobs = store.put_object(p).await.unwrap().jobs;
    // Listings cached at the current revisions: the batch advances them.
    assert_eq!(store.objects(cal.id).await.unwrap().len(), 1);
    assert_eq!(store.objects(inbox.id).await.unwrap().len(), 1);
    let (cal_rev, inbox_rev) = (reload(&store, &cal).await.sync_revision, reload(&store, &inbox).await.sync_revision);
    let del = |c: &Collection, name: &str, if_match: Option<&str>| BatchWrite::Delete {
        collection: Resolved::collection(c),
        name: name.into(),
        if_match: if_match.map(Into::into),
        guard: LockGuard::none(),
    };
    let state = |store: SharedStore| async move {
        let mut names = Vec::new();
        for c in ["/files/alice/cal/", "/files/alice/inbox/"] {
            let c = store.collection_by_path(c).await.unwrap().unwrap();
            names.extend(store.objects(c.id).await.unwrap().into_iter().map(|m| format!("{}{}", c.path, m.name)));
            names.push(format!("rev {}", c.sync_revision));
        }
        names.push(format!("jobs {}", store.jobs_pending("itip").await.unwrap()));
        names
    };
    let before = state(store.clone()).await;

    // Each failure leaves everything as it was: no write, no revision, no
    // job completed or written.
    let good_put = || BatchWrite::Put(tagged(&cal, "new.ics", b"new", Some("st")));
    let failing: Vec<(&str, WriteBatch)> = vec![
        ("precondition", WriteBatch { writes: vec![good_put(), del(&cal, "old.ics", Some("nope"))], ..Default::default() }),
        ("absent", WriteBatch { writes: vec![good_put(), del(&inbox, "none.ics", None)], ..Default::default() }),
        (
            "job gone",
            WriteBatch { writes: vec![good_put()], complete_jobs: vec![jobs[0], 999_999], enqueue: vec![job("itip", "x", T)] },
        ),
        ("twice", WriteBatch { writes: vec![good_put(), del(&cal, "new.ics", None)], ..Default::default() }),
        ("job twice", WriteBatch { writes: vec![good_put()], complete_jobs: vec![jobs[0], jobs[0]], ..Default::default() }),
        ("bad name", WriteBatch { writes: vec![good_put(), BatchWrite::Put(put(&cal, "a/b", b"x", WriteCondition::None))], ..Default::default() }),
        (
            "moved",
            WriteBatch {
                writes: vec![good_put(), BatchWrite::Put(put(&Collection { path: "/files/alice/gone/".into(), ..inbox.clone() }, "x.ics", b"x", WriteCondition::None))],
                ..Default::default()
            },
        ),
        ("no such collection", WriteBatch { writes: vec![good_put(), BatchWrite::Put(put(&Collection { id: 999_999, ..inbox.clone() }, "x", b"x", WriteCondition::None))], ..Default::default() }),
        ("empty topic", WriteBatch { writes: vec![good_put()], enqueue: vec![job("", "x", T)], ..Default::default() }),
    ];
    for (what, batch) in failing {
        let r = store.apply_batch(batch).await;
        let expected = match what {
            "precondition" => matches!(r, Err(StoreError::PreconditionFailed)),
            "absent" => matches!(r, Err(StoreError::NotFound)),
            "job gone" => matches!(r, Err(StoreError::JobGone)),
            "twice" | "job twice" | "bad name" | "empty topic" => matches!(r, Err(StoreError::Invalid(_))),
            "moved" | "no such collection" => matches!(r, Err(StoreError::MissingParent)),
            _ => unreachable!(),
        };
        assert!(expected, "{what}: {r:?}");
        assert_eq!(state(store.clone()).await, before, "{what}");
    }
    // A lock, a UID conflict and the quota refuse the whole batch too.
    let locked_path = "/files/alice/inbox/kept.ics";
    store.create_lock(test_lock("urn:uuid:kept", locked_path, false, alice.id, None), None, &LockLimits::none()).await.unwrap();
    let r = store
        .apply_batch(WriteBatch {
            writes: vec![good_put(), BatchWrite::Delete {
                collection: Resolved::collection(&inbox),
                name: "kept.ics".into(),
                if_match: None,
                guard: guard(&alice, &[], &[locked_path], &[]),
            }],
            ..Default::default()
        })
        .await;
    assert_eq!(locked_root(r), locked_path);
    store.remove_lock("urn:uuid:kept").await.unwrap();
    let mut a = with_uid(&cal, "a.ics", b"a", "u1");
    let mut b = with_uid(&cal, "b.ics", b"b", "u1");
    (a.unique_uid, b.unique_uid) = (true, true);
    let r = store.apply_batch(WriteBatch { writes: vec![BatchWrite::Put(a), BatchWrite::Put(b)], ..Default::default() }).await;
    assert!(matches!(&r, Err(StoreError::UidConflict { name }) if name == "a.ics"), "{r:?}");
    let used = store.quota_used(alice.id).await.unwrap();
    let big = |name: &str| BatchWrite::Put(PutObject { quota_limit: Some(used + 150), ..put(&cal, name, &[7u8; 100], WriteCondition::None) });
    let r = store.apply_batch(WriteBatch { writes: vec![big("big1"), big("big2")], ..Default::default() }).await;
    assert!(matches!(r, Err(StoreError::QuotaExceeded)), "each fits, not both: {r:?}");
    assert_eq!(state(store.clone()).await, before);

    // It commits: puts and deletes in two collections, jobs completed and
    // written; each collection gets one revision for all its changes.
    let mut put_new = tagged(&cal, "new.ics", b"new", Some("st-new"));
    put_new.enqueue = vec![job("itip", "from the put", T)];
    let replace = BatchWrite::Put(PutObject {
        condition: WriteCondition::ETagMatches(kept.etag.clone()),
        ..put(&inbox, "kept.ics", b"kept 2", WriteCondition::None)
    });
    let batch = WriteBatch {
        writes: vec![BatchWrite::Put(put_new), del(&cal, "old.ics", Some(&old.etag)), replace, BatchWrite::Put(put(&inbox, "in.ics", b"in", WriteCondition::MustNotExist))],
        complete_jobs: vec![jobs[2], jobs[0]],
        enqueue: vec![job("itip", "after 1", T), job("itip", "after 2", T)],
    };
    let done = store.apply_batch(batch).await.unwrap();
    assert_eq!(done.outcomes.len(), 4);
    let put_outcome = |i: usize| match &done.outcomes[i] {
        BatchOutcome::Put(o) => o.clone(),
        other => panic!("{other:?}"),
    };
    assert!(put_outcome(0).created && !put_outcome(2).created && put_outcome(3).created);
    assert_eq!(put_outcome(0).meta.schedule_tag.as_deref(), Some("st-new"));
    assert_eq!(put_outcome(0).jobs.len(), 1);
    assert!(matches!(done.outcomes[1], BatchOutcome::Deleted));
    assert_eq!(done.jobs.len(), 2);
    assert!(put_outcome(0).jobs[0] < done.jobs[0] && done.jobs[0] < done.jobs[1], "the writes' jobs, then the batch's");
    let cal_now = reload(&store, &cal).await;
    let inbox_now = reload(&store, &inbox).await;
    assert_eq!((cal_now.sync_revision, inbox_now.sync_revision), (cal_rev + 1, inbox_rev + 1));
    let changes: Vec<(String, i64, bool)> =
        store.changes_since(cal.id, cal_rev).await.unwrap().into_iter().map(|c| (c.name, c.revision, c.deleted)).collect();
    assert_eq!(changes, [("new.ics".to_string(), cal_rev + 1, false), ("old.ics".to_string(), cal_rev + 1, true)]);
    assert_eq!(store.changes_since(inbox.id, inbox_rev).await.unwrap().len(), 2);
    // Listings (derived from the cached ones) and bytes.
    let names = |c: &Collection| {
        let (store, id) = (store.clone(), c.id);
        async move { store.objects(id).await.unwrap().into_iter().map(|m| (m.name, m.etag)).collect::<Vec<_>>() }
    };
    assert_eq!(names(&cal).await, [("new.ics".to_string(), etag_for(b"new"))]);
    assert_eq!(names(&inbox).await, [("in.ics".to_string(), etag_for(b"in")), ("kept.ics".to_string(), etag_for(b"kept 2"))]);
    assert_eq!(content(&store, kept.id).await.as_ref(), b"kept 2");
    // Completed jobs are gone, the others pending.
    let pending: Vec<Vec<u8>> = store.claim_jobs("itip", T, 100, LEASE).await.unwrap().into_iter().map(|j| j.payload).collect();
    assert_eq!(pending, [b"j2".to_vec(), b"from the put".to_vec(), b"after 1".to_vec(), b"after 2".to_vec()]);
    assert!(matches!(store.complete_job(jobs[0]).await, Err(StoreError::NotFound)));

    // Applied in order: a delete frees a UID a later put takes.
    let holder = with_uid(&cal, "holder.ics", b"h", "u2");
    store.put_object(holder).await.unwrap();
    let mut taker = with_uid(&cal, "taker.ics", b"t", "u2");
    taker.unique_uid = true;
    let swap = WriteBatch { writes: vec![del(&cal, "holder.ics", None), BatchWrite::Put(taker)], complete_jobs: vec![jobs[1]], enqueue: vec![] };
    store.apply_batch(swap).await.unwrap();
    assert!(store.object(cal.id, "taker.ics").await.unwrap().is_some());
    // A job already completed (by another worker): the batch that carries
    // it out again is refused whole.
    let replay = WriteBatch { writes: vec![BatchWrite::Put(put(&cal, "again.ics", b"a", WriteCondition::None))], complete_jobs: vec![jobs[1]], enqueue: vec![] };
    assert!(matches!(store.apply_batch(replay).await, Err(StoreError::JobGone)));
    assert!(store.object(cal.id, "again.ics").await.unwrap().is_none());
    // Jobs alone: completed and written together.
    let ids = store.put_object(PutObject { enqueue: vec![job("itip", "solo", T)], ..put(&root, "seed.ics", b"s2", WriteCondition::None) }).await.unwrap().jobs;
    let rev = reload(&store, &root).await.sync_revision;
    let done = store.apply_batch(WriteBatch { writes: vec![], complete_jobs: ids, enqueue: vec![job("itip", "next", T)] }).await.unwrap();
    assert!(done.outcomes.is_empty());
    assert_eq!(done.jobs.len(), 1);
    assert_eq!(reload(&store, &root).await.sync_revision, rev, "no write, no revision");
}

/// Batches racing single writes and other batches on the same objects,
/// from two stores on one database: each batch applies all its writes or
/// none, conditional writes have one winner per version, and nothing
/// deadlocks (collections, then quota owners, are locked in id order
/// whatever the order of the writes).
pub async fn batches_race_single_writes(backend: Backend) {
    let db = fresh_db(backend).await;
    let one = almanach::store::open(&db.url).await.expect("open first store");
    one.migrate().await.unwrap();
    let two = almanach::store::open(&db.url).await.expect("open second store");
    let alice = user(&one, "alice").await;
    let bob = user(&one, "bob").await;
    let a_home = home(&one, &alice).await;
    let b_home = home(&one, &bob).await;
    let a_cal = mkcol(&one, &a_home, "cal").await;
    let b_cal = mkcol(&one, &b_home, "cal").await;
    let stores = [one.clone(), two.clone()];
    for round in 0..6 {
        let x = put_ok(&one, &a_cal, "x.ics", format!("x {round}").as_bytes()).await;
        let y = put_ok(&one, &b_cal, "y.ics", format!("y {round}").as_bytes()).await;
        let revs = (reload(&one, &a_cal).await.sync_revision, reload(&one, &b_cal).await.sync_revision);
        let conditional = |c: &Collection, name: &str, body: String, etag: &str| PutObject {
            quota_limit: Some(1 << 30),
            condition: WriteCondition::ETagMatches(etag.to_string()),
            ..put(c, name, body.as_bytes(), WriteCondition::None)
        };
        let mut tasks = Vec::new();
        for i in 0..4 {
            // Batches writing both, in either order.
            let writes = if i % 2 == 0 {
                vec![
                    BatchWrite::Put(conditional(&a_cal, "x.ics", format!("batch {i}"), &x.etag)),
                    BatchWrite::Put(conditional(&b_cal, "y.ics", format!("batch {i}"), &y.etag)),
                ]
            } else {
                vec![
                    BatchWrite::Put(conditional(&b_cal, "y.ics", format!("batch {i}"), &y.etag)),
                    BatchWrite::Put(conditional(&a_cal, "x.ics", format!("batch {i}"), &x.etag)),
                ]
            };
            let store = stores[i % 2].clone();
            tasks.push(tokio::spawn(async move {
                let batch = WriteBatch { writes, enqueue: vec![job("t", &format!("batch {i}"), T)], ..Default::default() };
                (format!("batch {i}"), store.apply_batch(batch).await.map(|r| r.outcomes.len()))
            }));
            // Single writers of one of them.
            let (c, name, etag) = if i % 2 == 0 { (&a_cal, "x.ics", &x.etag) } else { (&b_cal, "y.ics", &y.etag) };
            let p = conditional(c, name, format!("single {i}"), etag);
            let store = stores[(i + 1) % 2].clone();
            tasks.push(tokio::spawn(async move { (format!("single {i}"), store.put_object(p).await.map(|_| 1)) }));
            // Unconditional writers of other members.
            let p = put(if i % 2 == 0 { &b_cal } else { &a_cal }, &format!("n{round}-{i}.ics"), b"n", WriteCondition::None);
            let store = stores[i % 2].clone();
            tasks.push(tokio::spawn(async move { (format!("free {i}"), store.put_object(p).await.map(|_| 1)) }));
        }
        let mut won: HashMap<String, usize> = HashMap::new();
        for t in futures::future::join_all(tasks).await {
            let (who, r) = t.unwrap();
            match r {
                Ok(n) => {
                    won.insert(who, n);
                }
                Err(StoreError::PreconditionFailed) => assert!(!who.starts_with("free")),
                Err(e) => panic!("{who}: unexpected error (a deadlock?) {e:?}"),
            }
        }
        let x_now = String::from_utf8(content(&one, x.id).await.to_vec()).unwrap();
        let y_now = String::from_utf8(content(&one, y.id).await.to_vec()).unwrap();
        let batches: Vec<&String> = won.keys().filter(|w| w.starts_with("batch")).collect();
        match batches.as_slice() {
            // A batch won: both objects are its, no single writer won.
            [b] => {
                assert_eq!((&x_now, &y_now), (*b, *b), "round {round}");
                assert!(won.keys().all(|w| !w.starts_with("single")), "round {round}: {won:?}");
            }
            // No batch won: each object is a single writer's (or unchanged).
            [] => {
                assert!(!x_now.starts_with("batch") && !y_now.starts_with("batch"), "round {round}: {x_now} {y_now}");
            }
            more => panic!("round {round}: several batches won {more:?}"),
        }
        // One revision per committed write in each collection.
        let a_writes = won.keys().filter(|w| w.starts_with("batch") || *w == "single 0" || *w == "single 2" || *w == "free 1" || *w == "free 3").count();
        let b_writes = won.keys().filter(|w| w.starts_with("batch") || *w == "single 1" || *w == "single 3" || *w == "free 0" || *w == "free 2").count();
        assert_eq!(reload(&one, &a_cal).await.sync_revision, revs.0 + a_writes as i64, "round {round}: {won:?}");
        assert_eq!(reload(&one, &b_cal).await.sync_revision, revs.1 + b_writes as i64, "round {round}: {won:?}");
        // Only the winning batch's job was written.
        let jobs = one.claim_jobs("t", T, 100, LEASE).await.unwrap();
        let payloads: Vec<String> = jobs.iter().map(|j| String::from_utf8(j.payload.clone()).unwrap()).collect();
        assert_eq!(payloads.iter().collect::<Vec<_>>(), batches, "round {round}");
        for j in jobs {
            two.complete_job(j.id).await.unwrap();
        }
    }

    // Batches into disjoint collections whose owners overlap, each writing
    // its owners in the other order: the quota's owner locks are taken in
    // id order too, so none waits for another in a cycle.
    let a_other = mkcol(&one, &a_home, "other").await;
    let b_other = mkcol(&one, &b_home, "other").await;
    let quota = |c: &Collection, name: &str| {
        BatchWrite::Put(PutObject { quota_limit: Some(1 << 30), ..put(c, name, &[1u8; 512], WriteCondition::None) })
    };
    for round in 0..10 {
        let tasks: Vec<_> = (0..4)
            .map(|i| {
                let writes = if i % 2 == 0 {
                    vec![quota(&a_cal, &format!("q{round}-{i}")), quota(&b_cal, &format!("q{round}-{i}"))]
                } else {
                    vec![quota(&b_other, &format!("q{round}-{i}")), quota(&a_other, &format!("q{round}-{i}"))]
                };
                let store = stores[i % 2].clone();
                tokio::spawn(async move { store.apply_batch(WriteBatch { writes, ..Default::default() }).await })
            })
            .collect();
        for t in futures::future::join_all(tasks).await {
            t.unwrap().expect("no deadlock");
        }
    }
    drop(db);
}

/// `calendar_objects_by_uid`: the owner's calendar objects with that UID,
/// by calendar path then name; not other kinds of collection, not other
/// owners'.
pub async fn calendar_objects_by_uid(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let root = home(&store, &alice).await;
    let work = mkcol(&store, &root, "work").await;
    let home_cal = mkcol(&store, &root, "home").await;
    let nested = mkcol(&store, &work, "nested").await;
    let plain = store
        .create_collection(NewCollection {
            owner: alice.id,
            parent: Some(root.id),
            path: "/files/alice/plain/".into(),
            kind: CollectionKind::Plain,
            components: vec![],
            properties: vec![],
            guard: LockGuard::none(),
            quota_limit: None,
        })
        .await
        .unwrap();
    let bob_cal = mkcol(&store, &home(&store, &bob).await, "cal").await;
    for (c, name) in [(&work, "b.ics"), (&work, "a.ics"), (&home_cal, "z.ics"), (&nested, "n.ics"), (&plain, "p.ics"), (&bob_cal, "bob.ics")] {
        store.put_object(with_uid(c, name, name.as_bytes(), "meeting-1")).await.unwrap();
    }
    store.put_object(with_uid(&home_cal, "other.ics", b"o", "meeting-2")).await.unwrap();
    store.put_object(tagged(&home_cal, "no-uid.ics", b"n", Some("st"))).await.unwrap();

    let found = store.calendar_objects_by_uid(alice.id, "meeting-1").await.unwrap();
    let got: Vec<(&str, &str)> = found.iter().map(|(c, m)| (c.path.as_str(), m.name.as_str())).collect();
    assert_eq!(
        got,
        [("/files/alice/home/", "z.ics"), ("/files/alice/work/", "a.ics"), ("/files/alice/work/", "b.ics"), ("/files/alice/work/nested/", "n.ics")]
    );
    for (c, m) in &found {
        assert_eq!((c.kind, c.owner, m.collection), (CollectionKind::Calendar, alice.id, c.id));
        assert_eq!(m.etag, etag_for(m.name.as_bytes()));
    }
    assert_eq!(store.calendar_objects_by_uid(bob.id, "meeting-1").await.unwrap().len(), 1);
    assert!(store.calendar_objects_by_uid(alice.id, "MEETING-1").await.unwrap().is_empty(), "UIDs compare exactly");
    assert!(store.calendar_objects_by_uid(alice.id, "none").await.unwrap().is_empty());
    assert!(store.calendar_objects_by_uid(9_999, "meeting-1").await.unwrap().is_empty());
    // The schedule tag comes with it; a moved object is found where it is.
    let tagged_put = PutObject { schedule_tag: Some("st-9".into()), ..with_uid(&home_cal, "z.ics", b"z2", "meeting-1") };
    store.put_object(tagged_put).await.unwrap();
    let z = store.object(home_cal.id, "z.ics").await.unwrap().unwrap();
    let moved = mkcol(&store, &root, "moved").await;
    store.move_object(&obj_at(&store, z.id).await, dest(&moved, "z.ics", false), &LockGuard::none()).await.unwrap();
    let found = store.calendar_objects_by_uid(alice.id, "meeting-1").await.unwrap();
    let z = found.iter().find(|(_, m)| m.id == z.id).unwrap();
    assert_eq!((z.0.path.as_str(), z.1.schedule_tag.as_deref()), ("/files/alice/moved/", Some("st-9")));
}

/// A batch's checks read once for the whole batch still see what the
/// batch itself wrote before: RFC 4791 §5.3.2.1 `no-uid-conflict` between
/// two of its puts, a UID freed by a delete or a rewrite earlier in the
/// batch, a member that is a collection, and conditions on members the
/// batch did not create.
pub async fn batch_checks_follow_the_batch(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let cal = mkcol(&store, &home(&store, &alice).await, "cal").await;
    let sub = mkcol(&store, &cal, "sub").await;
    let unique = |name: &str, uid: &str| PutObject { unique_uid: true, ..with_uid(&cal, name, name.as_bytes(), uid) };
    store.put_object(unique("old.ics", "u-old")).await.unwrap();
    store.put_object(unique("keep.ics", "u-keep")).await.unwrap();

    // Two puts of one UID under two names: the second conflicts with the first.
    let r = store.apply_batch(WriteBatch { writes: vec![BatchWrite::Put(unique("a.ics", "u-new")), BatchWrite::Put(unique("b.ics", "u-new"))], ..Default::default() }).await;
    assert!(matches!(&r, Err(StoreError::UidConflict { name }) if name == "a.ics"), "{r:?}");
    assert!(store.object(cal.id, "a.ics").await.unwrap().is_none(), "nothing of a refused batch is written");
    // A UID held elsewhere in the collection conflicts …
    let r = store.apply_batch(WriteBatch { writes: vec![BatchWrite::Put(unique("c.ics", "u-old"))], ..Default::default() }).await;
    assert!(matches!(&r, Err(StoreError::UidConflict { name }) if name == "old.ics"), "{r:?}");
    // … unless the batch deleted its holder first, or gave it another UID.
    let delete_old = BatchWrite::Delete { collection: Resolved::collection(&cal), name: "old.ics".into(), if_match: None, guard: LockGuard::none() };
    store.apply_batch(WriteBatch { writes: vec![delete_old, BatchWrite::Put(unique("c.ics", "u-old"))], ..Default::default() }).await.unwrap();
    store
        .apply_batch(WriteBatch { writes: vec![BatchWrite::Put(unique("keep.ics", "u-other")), BatchWrite::Put(unique("d.ics", "u-keep"))], ..Default::default() })
        .await
        .unwrap();
    // A UID a rewrite earlier in the batch took is taken.
    let r = store
        .apply_batch(WriteBatch { writes: vec![BatchWrite::Put(unique("d.ics", "u-x")), BatchWrite::Put(unique("e.ics", "u-x"))], ..Default::default() })
        .await;
    assert!(matches!(&r, Err(StoreError::UidConflict { name }) if name == "d.ics"), "{r:?}");
    let mut uids: Vec<(String, String)> = Vec::new();
    for name in ["c.ics", "d.ics", "keep.ics"] {
        let found = store.calendar_objects_by_uid_of(&[alice.id], match name { "c.ics" => "u-old", "d.ics" => "u-keep", _ => "u-other" }).await.unwrap();
        uids.extend(found.into_iter().map(|(_, m)| (name.to_string(), m.name)));
    }
    assert_eq!(uids, [("c.ics".into(), "c.ics".into()), ("d.ics".into(), "d.ics".into()), ("keep.ics".into(), "keep.ics".into())]);
    assert!(store.object(cal.id, "old.ics").await.unwrap().is_none());
    // A member that is a collection is not overwritten by a put.
    let r = store.apply_batch(WriteBatch { writes: vec![BatchWrite::Put(put(&cal, "sub", b"x", WriteCondition::None))], ..Default::default() }).await;
    assert!(matches!(r, Err(StoreError::AlreadyExists)), "{r:?}");
    assert!(store.collection(sub.id).await.unwrap().is_some());
    // Conditions see the stored objects: If-Match on a changed ETag fails,
    // If-None-Match on an existing member fails, both leave everything.
    let keep = store.object(cal.id, "keep.ics").await.unwrap().unwrap();
    let stale = put(&cal, "keep.ics", b"new", WriteCondition::ETagMatches("stale".into()));
    let r = store.apply_batch(WriteBatch { writes: vec![BatchWrite::Put(put(&cal, "f.ics", b"f", WriteCondition::None)), BatchWrite::Put(stale)], ..Default::default() }).await;
    assert!(matches!(r, Err(StoreError::PreconditionFailed)), "{r:?}");
    let exists = put(&cal, "keep.ics", b"new", WriteCondition::MustNotExist);
    assert!(matches!(store.apply_batch(WriteBatch { writes: vec![BatchWrite::Put(exists)], ..Default::default() }).await, Err(StoreError::PreconditionFailed)));
    assert_eq!(store.object(cal.id, "keep.ics").await.unwrap().unwrap().etag, keep.etag);
    assert!(store.object(cal.id, "f.ics").await.unwrap().is_none());
    // Every write of a batch is in the change log, once.
    let rev = store.collection(cal.id).await.unwrap().unwrap().sync_revision;
    let a = put(&cal, "g.ics", b"g", WriteCondition::MustNotExist);
    let b = put(&cal, "h.ics", b"h", WriteCondition::MustNotExist);
    let del = BatchWrite::Delete { collection: Resolved::collection(&cal), name: "c.ics".into(), if_match: None, guard: LockGuard::none() };
    store.apply_batch(WriteBatch { writes: vec![BatchWrite::Put(a), del, BatchWrite::Put(b)], ..Default::default() }).await.unwrap();
    let changes = store.changes_since(cal.id, rev).await.unwrap();
    let mut got: Vec<(String, bool)> = changes.into_iter().map(|c| (c.name, c.deleted)).collect();
    got.sort();
    assert_eq!(got, [("c.ics".into(), true), ("g.ics".into(), false), ("h.ics".into(), false)]);
}

/// The reads a delivery makes for all its recipients at once: principals
/// by id and by address, the collections of several homes, one property
/// of several collections, calendar objects by UID for several owners,
/// objects at several members.
pub async fn reads_for_many(store: SharedStore) {
    let mut people = Vec::new();
    for (name, email) in [("alice", "Alice@Example.org"), ("bob", "bob@example.org"), ("carol", "carol@example.org")] {
        let p = store
            .create_principal(NewPrincipal { username: name.into(), emails: vec![email.into()], ..Default::default() })
            .await
            .unwrap();
        people.push(p);
    }
    let (alice, bob, carol) = (people[0].clone(), people[1].clone(), people[2].clone());
    store.set_disabled(carol.id, true).await.unwrap();

    let mut got: Vec<String> = store.principals(&[bob.id, alice.id, 9_999]).await.unwrap().into_iter().map(|p| p.username).collect();
    got.sort();
    assert_eq!(got, ["alice", "bob"]);
    assert!(store.principals(&[]).await.unwrap().is_empty());
    let many: Vec<PrincipalId> = (0..600).map(|i| if i % 2 == 0 { alice.id } else { 10_000 + i }).collect();
    assert_eq!(store.principals(&many).await.unwrap().iter().filter(|p| p.id == alice.id).count(), 1, "past one statement's list");

    let mut by_email: Vec<(String, String, bool)> = store
        .principals_by_emails(&["ALICE@example.org", " bob@example.org ", "carol@example.org", "nobody@example.org"])
        .await
        .unwrap()
        .into_iter()
        .map(|(a, p)| (a, p.username, p.disabled))
        .collect();
    by_email.sort();
    assert_eq!(
        by_email,
        [("alice@example.org".into(), "alice".into(), false), ("bob@example.org".into(), "bob".into(), false), ("carol@example.org".into(), "carol".into(), true)]
    );
    assert!(store.principals_by_emails(&[]).await.unwrap().is_empty());

    let alice_home = home(&store, &alice).await;
    let bob_home = home(&store, &bob).await;
    let a1 = mkcol(&store, &alice_home, "work").await;
    let inbox = store
        .create_collection(NewCollection {
            owner: alice.id,
            parent: Some(alice_home.id),
            path: format!("{}inbox/", alice_home.path),
            kind: CollectionKind::Plain,
            components: vec![],
            properties: vec![prop("urn:ietf:params:xml:ns:caldav", "schedule-default-calendar-URL", "<D:href xmlns:D=\"DAV:\">/x/</D:href>")],
            guard: LockGuard::none(),
            quota_limit: None,
        })
        .await
        .unwrap();
    let _nested = mkcol(&store, &a1, "nested").await;
    let b1 = mkcol(&store, &bob_home, "cal").await;
    let children: Vec<String> =
        store.child_collections_at(&[&bob_home.path, &alice_home.path, "/files/nobody/"]).await.unwrap().into_iter().map(|c| c.path).collect();
    assert_eq!(children, ["/files/alice/inbox/", "/files/alice/work/", "/files/bob/cal/"], "children only, by path");

    let props = store.collections_property(&[inbox.id, a1.id, b1.id], "urn:ietf:params:xml:ns:caldav", "schedule-default-calendar-URL").await.unwrap();
    assert_eq!(props, [(inbox.id, "<D:href xmlns:D=\"DAV:\">/x/</D:href>".to_string())]);
    assert!(store.collections_property(&[inbox.id], "DAV:", "schedule-default-calendar-URL").await.unwrap().is_empty(), "namespace compared");

    store.put_object(with_uid(&a1, "m.ics", b"a", "meeting")).await.unwrap();
    store.put_object(with_uid(&b1, "m.ics", b"b", "meeting")).await.unwrap();
    store.put_object(with_uid(&b1, "other.ics", b"o", "other")).await.unwrap();
    let found: Vec<(PrincipalId, String)> =
        store.calendar_objects_by_uid_of(&[bob.id, alice.id], "meeting").await.unwrap().into_iter().map(|(c, m)| (c.owner, c.path + &m.name)).collect();
    assert_eq!(found, [(alice.id, "/files/alice/work/m.ics".to_string()), (bob.id, "/files/bob/cal/m.ics".to_string())]);
    assert_eq!(store.calendar_objects_by_uid_of(&[bob.id], "meeting").await.unwrap().len(), 1);
    assert!(store.calendar_objects_by_uid_of(&[], "meeting").await.unwrap().is_empty());

    let mut at: Vec<String> = store
        .objects_at(&[(a1.id, "m.ics"), (b1.id, "m.ics"), (b1.id, "missing.ics"), (a1.id, "other.ics")])
        .await
        .unwrap()
        .into_iter()
        .map(|m| format!("{}:{}", m.collection, m.name))
        .collect();
    at.sort();
    let mut want = vec![format!("{}:m.ics", a1.id), format!("{}:m.ics", b1.id)];
    want.sort();
    assert_eq!(at, want);
    assert!(store.objects_at(&[]).await.unwrap().is_empty());
}

/// A batch's quota checks count what the batch wrote before them, as a
/// write after those writes would: a delete frees its bytes, an unchecked
/// put adds its own.
pub async fn batch_quota_follows_the_batch(store: SharedStore) {
    let alice = user(&store, "alice").await;
    let cal = mkcol(&store, &home(&store, &alice).await, "cal").await;
    store.put_object(put(&cal, "old.ics", &[1u8; 100], WriteCondition::None)).await.unwrap();
    let used = store.quota_used(alice.id).await.unwrap();
    let delete_old = || BatchWrite::Delete { collection: Resolved::collection(&cal), name: "old.ics".into(), if_match: None, guard: LockGuard::none() };
    let checked = |name: &str, limit: i64| BatchWrite::Put(PutObject { quota_limit: Some(limit), ..put(&cal, name, &[2u8; 100], WriteCondition::None) });
    // Without the delete, 100 more bytes exceed a limit of used + 50 …
    let r = store.apply_batch(WriteBatch { writes: vec![checked("new.ics", used + 50)], ..Default::default() }).await;
    assert!(matches!(r, Err(StoreError::QuotaExceeded)), "{r:?}");
    // … after it, they fit.
    let r = store.apply_batch(WriteBatch { writes: vec![delete_old(), checked("new.ics", used + 50)], ..Default::default() }).await;
    assert!(r.is_ok(), "{r:?}");
    assert_eq!(store.quota_used(alice.id).await.unwrap(), used);
    // An unchecked put earlier in the batch counts for a later check.
    let unchecked = BatchWrite::Put(put(&cal, "free.ics", &[3u8; 100], WriteCondition::None));
    let r = store.apply_batch(WriteBatch { writes: vec![unchecked, checked("late.ics", used + 150)], ..Default::default() }).await;
    assert!(matches!(r, Err(StoreError::QuotaExceeded)), "{r:?}");
    assert!(store.object(cal.id, "free.ics").await.unwrap().is_none(), "nothing of a refused batch is written");
}
