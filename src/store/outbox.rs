//! The transactional outbox: the [`OutboxStore`] concern of the store.
//!
//! A write that changes objects (`put_object`, `delete_object`,
//! `copy_object`, `move_object` and the COPY and MOVE of collections) can
//! carry [`NewJob`]s, which it writes in its own transaction: if the write
//! fails (a precondition, the quota, a lock, a UID conflict, a concurrent
//! change), no job is written; once it commits, its jobs are there, whatever
//! happens to the process next. Scheduling queues its outgoing messages this
//! way, so a crash cannot lose an invitation.
//!
//! Workers of any server process then [claim](OutboxStore::claim_jobs) the
//! due jobs of their topic, each claim leasing them for a while, and
//! [complete](OutboxStore::complete_job) or [retry](OutboxStore::retry_job)
//! each. A write reports the ids of the jobs it wrote, so the request that
//! wrote them can [claim them by id](OutboxStore::claim_job_ids) and run
//! them at once; workers take what it could not finish. A job whose effect
//! is a write is completed in that write's transaction
//! ([`WriteBatch::complete_jobs`](super::WriteBatch::complete_jobs)), which
//! fails whole if the job is already gone: that effect is applied once. A lease keeps other claims away until it expires; a job whose
//! worker died is claimed again once its lease has expired. Delivery is
//! therefore at least once: a worker that outlives its lease may see its job
//! claimed again, so the lease must exceed the time a job takes, and
//! handling a job twice must be harmless.
//!
//! The store never interprets a topic or a payload.

use std::time::Duration;

use async_trait::async_trait;

use super::{JobId, Millis, StoreResult};

/// A job to write with an object write, in its transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewJob {
    /// Which worker takes the job (e.g. `"itip"`); not empty.
    pub topic: String,
    /// Opaque to the store.
    pub payload: Vec<u8>,
    /// The job is not claimed before this time (ms).
    pub not_before: Millis,
}

/// A queued job, as a claim returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    /// Increasing in the order jobs were written (not necessarily the order
    /// their transactions committed in).
    pub id: JobId,
    pub topic: String,
    pub payload: Vec<u8>,
    /// Not claimed before this time (ms): as enqueued, or as the last
    /// [`OutboxStore::retry_job`] set it.
    pub not_before: Millis,
    /// Failed attempts so far (each [`OutboxStore::retry_job`]).
    pub attempts: i64,
    /// The error of the last failed attempt.
    pub last_error: Option<String>,
    pub created_at: Millis,
    /// End of the current claim (ms); None when not claimed.
    pub leased_until: Option<Millis>,
}

/// Queued jobs: claimed, completed and retried by workers of any process.
#[async_trait]
pub trait OutboxStore: Send + Sync {
    /// Claim up to `limit` jobs of `topic` that are due (`not_before <= now`)
    /// and not leased (no claim, or one expired by `now`), ordered by id,
    /// leasing each until `now + lease`, in one transaction. Two claims never
    /// return the same job while its lease runs, even from two processes on
    /// one database (PostgreSQL: the rows are locked `FOR UPDATE SKIP LOCKED`
    /// while the lease is written; SQLite: one writer at a time).
    /// `Invalid` for a zero lease.
    async fn claim_jobs(&self, topic: &str, now: Millis, limit: u32, lease: Duration) -> StoreResult<Vec<Job>>;
    /// Claim those of `ids` that exist and are not leased (no claim, or one
    /// expired by `now`), whatever their `not_before`, leasing each until
    /// `now + lease`, in one transaction; ordered by id. The request that
    /// wrote jobs runs them at once with this (the ids of
    /// [`PutOutcome::jobs`](super::PutOutcome::jobs) and the like), and
    /// workers pick up, through [`OutboxStore::claim_jobs`], what it could
    /// not finish. Rows are locked as `claim_jobs` locks them, so the two
    /// never return the same job while its lease runs. `Invalid` for a zero
    /// lease.
    async fn claim_job_ids(&self, ids: &[JobId], now: Millis, lease: Duration) -> StoreResult<Vec<Job>>;
    /// The job is done: delete it. `NotFound` if it no longer exists.
    async fn complete_job(&self, id: JobId) -> StoreResult<()>;
    /// The job failed: count the attempt, remember `error`, release the lease
    /// and make the job due again at `not_before`. `NotFound` if it no longer
    /// exists.
    async fn retry_job(&self, id: JobId, not_before: Millis, error: &str) -> StoreResult<()>;
    /// Jobs of `topic` not completed yet (due or not, leased or not).
    async fn jobs_pending(&self, topic: &str) -> StoreResult<i64>;
}
