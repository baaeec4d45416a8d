//! Work that must happen after a write commits, and must not be lost: the
//! jobs a write queues in its own transaction (the store's transactional
//! outbox, [`crate::store::OutboxStore`]), run by [`JobHandler`]s.
//!
//! A request that queued jobs runs them at once, once its write has
//! committed ([`Jobs::run_now`]), so that what they do (an invitation in
//! every attendee's calendar) is done when the answer leaves. What it could
//! not finish — a mail server that is down, a process that stopped — the
//! background worker ([`Jobs::spawn_worker`]) takes up: it claims the due
//! jobs of every topic, runs them, and retries failures with back-off, in
//! this process or any other sharing the database. A job is run at least
//! once; handlers make a second run harmless.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::Notify;
use tracing::Instrument;

use crate::app::AppState;
use crate::store::{now_millis, Job, JobId, Millis, NewJob};

/// How one run of a job ended.
#[derive(Debug)]
pub enum JobOutcome {
    /// Done: the job is removed (unless the handler already removed it in
    /// its own transaction, [`JobOutcome::Completed`]).
    Done,
    /// Done, and the handler removed the job in the transaction that did
    /// its work (so that it is done exactly once); that transaction also
    /// queued the jobs `follow_up` (a reply forwarded to the other
    /// attendees), which run next, as the job's own continuation.
    Completed { follow_up: Vec<JobId> },
    /// Failed for now (a server down, a concurrent change): run again at
    /// `at` (ms).
    RetryAt { at: Millis, error: String },
    /// Failed for good: the job is removed and the reason logged.
    Abandoned { error: String },
}

/// What runs the jobs of one topic.
#[async_trait]
pub trait JobHandler: Send + Sync + 'static {
    /// The topic of its jobs (`NewJob::topic`).
    fn topic(&self) -> &'static str;

    /// How long a claim lasts: longer than a run takes.
    fn lease(&self) -> Duration {
        Duration::from_secs(120)
    }

    /// How many due jobs the worker claims at once: all of them must run
    /// within one lease.
    fn claim_batch(&self) -> u32 {
        16
    }

    /// Whether this process runs jobs of this topic at all (a process
    /// without a mail relay leaves email to those that have one).
    fn enabled(&self, _state: &AppState) -> bool {
        true
    }

    /// Whether the request that queued a job runs it once its write has
    /// committed (an invitation delivered before the answer); false for
    /// work that may be slow (email), left to the worker.
    fn runs_in_request(&self) -> bool {
        true
    }

    /// Run `job` once.
    async fn run(&self, state: &AppState, job: &Job) -> JobOutcome;
}

/// The back-off before the `attempt`-th retry (1-based): `base` doubling,
/// at most 6 hours.
pub fn backoff(base: Duration, attempt: i64) -> Duration {
    let factor = 1u32 << attempt.clamp(1, 20).saturating_sub(1) as u32;
    base.saturating_mul(factor).min(Duration::from_secs(6 * 3600))
}

/// How long the request that queued a job it runs itself
/// ([`JobHandler::runs_in_request`]) has it to itself: the worker takes it
/// only after this (the request's process stopped before running it), so
/// that the answer to the request is sent once the job is done, not while
/// the worker is doing it.
pub const REQUEST_FIRST_CLAIM: Duration = Duration::from_secs(60);

/// The `not_before` of a job the queuing request runs itself.
pub fn not_before_in_request() -> Millis {
    now_millis() + REQUEST_FIRST_CLAIM.as_millis() as Millis
}

/// At most this many rounds of follow-up jobs run after a request's own
/// jobs; what is left then is the worker's.
const MAX_FOLLOW_UP_ROUNDS: usize = 4;

/// The job handlers of a server and its worker.
pub struct Jobs {
    handlers: Vec<Arc<dyn JobHandler>>,
    wake: Notify,
    /// How often the worker looks for due jobs when nothing woke it.
    poll: Duration,
    /// The first retry delay ([`backoff`]).
    retry_base: Duration,
}

impl Jobs {
    pub fn new(handlers: Vec<Arc<dyn JobHandler>>, poll: Duration, retry_base: Duration) -> Jobs {
        Jobs { handlers, wake: Notify::new(), poll, retry_base }
    }

    /// The time of the next attempt of `job` after a failure.
    pub fn retry_at(&self, job: &Job) -> Millis {
        now_millis() + backoff(self.retry_base, job.attempts + 1).as_millis() as Millis
    }

    /// The topics of the jobs this server runs (the queue's depth is
    /// reported per topic, `metrics`).
    pub fn topics(&self) -> Vec<&'static str> {
        self.handlers.iter().map(|h| h.topic()).collect()
    }

    fn handler(&self, topic: &str) -> Option<&Arc<dyn JobHandler>> {
        self.handlers.iter().find(|h| h.topic() == topic)
    }

    /// After a write committed the jobs `queued` (whose ids are `ids`, in
    /// order): run now those whose handler runs in requests, wake the
    /// worker for the others.
    pub async fn run_committed(&self, state: &AppState, queued: &[NewJob], ids: &[JobId]) {
        let mut now = Vec::new();
        for (job, id) in queued.iter().zip(ids) {
            match self.handler(&job.topic) {
                Some(h) if h.runs_in_request() && h.enabled(state) => now.push(*id),
                _ => self.wake.notify_one(),
            }
        }
        self.run_now(state, &now).await;
    }

    /// Run the jobs `ids` now (a request's own, just committed), those not
    /// claimed by someone else, and the jobs they queue in turn. Failures
    /// are left to the worker, which is woken.
    pub async fn run_now(&self, state: &AppState, ids: &[JobId]) {
        let mut ids = ids.to_vec();
        let mut left = false;
        for _ in 0..MAX_FOLLOW_UP_ROUNDS {
            if ids.is_empty() {
                break;
            }
            // The jobs run here are those of handlers that run in requests.
            let lease = self.handlers.iter().filter(|h| h.runs_in_request()).map(|h| h.lease()).max().unwrap_or(Duration::from_secs(120));
            let claimed = match state.store.claim_job_ids(&ids, now_millis(), lease).await {
                Ok(jobs) => jobs,
                Err(e) => {
                    tracing::warn!(error = %e, "claiming jobs to run now failed; the worker will run them");
                    left = true;
                    break;
                }
            };
            let mut next = Vec::new();
            for job in claimed {
                let (done, follow_up) = self.run_one(state, &job).await;
                left |= !done;
                next.extend(follow_up);
            }
            ids = next;
        }
        if left || !ids.is_empty() {
            self.wake.notify_one();
        }
    }

    /// Run one claimed job and record its outcome; whether it is done, and
    /// the jobs it queued.
    async fn run_one(&self, state: &AppState, job: &Job) -> (bool, Vec<JobId>) {
        let span = tracing::info_span!("job", id = job.id, topic = %job.topic, attempt = job.attempts + 1);
        self.run_in_span(state, job).instrument(span).await
    }

    async fn run_in_span(&self, state: &AppState, job: &Job) -> (bool, Vec<JobId>) {
        let Some(handler) = self.handler(&job.topic) else {
            tracing::error!("no handler for this topic: job left in the queue");
            return (false, Vec::new());
        };
        let outcome = handler.run(state, job).await;
        let recorded = match &outcome {
            JobOutcome::Done => state.store.complete_job(job.id).await,
            JobOutcome::Completed { .. } => Ok(()),
            JobOutcome::RetryAt { at, error } => {
                tracing::warn!(%error, retry_at = at, "job failed, will be retried");
                state.store.retry_job(job.id, *at, error).await
            }
            JobOutcome::Abandoned { error } => {
                tracing::error!(%error, "job abandoned");
                state.store.complete_job(job.id).await
            }
        };
        match recorded {
            Ok(()) | Err(crate::store::StoreError::NotFound) => {}
            Err(e) => tracing::warn!(error = %e, "recording a job's outcome failed; it will run again"),
        }
        match outcome {
            JobOutcome::Completed { follow_up } => (true, follow_up),
            JobOutcome::Done | JobOutcome::Abandoned { .. } => (true, Vec::new()),
            JobOutcome::RetryAt { .. } => (false, Vec::new()),
        }
    }

    /// Wake the worker (a job was queued that nothing runs now).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Run the due jobs of every topic until none is left, then wait for a
    /// wake-up or the poll interval; forever.
    pub fn spawn_worker(state: Arc<AppState>) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            loop {
                let mut worked = false;
                for handler in state.jobs.handlers.clone() {
                    if handler.enabled(&state) {
                        worked |= state.jobs.run_due(&state, &handler).await;
                    }
                }
                if !worked {
                    let _ = tokio::time::timeout(state.jobs.poll, state.jobs.wake.notified()).await;
                }
            }
        })
    }

    /// Claim and run one batch of due jobs of `handler`'s topic; whether
    /// there were any.
    async fn run_due(&self, state: &AppState, handler: &Arc<dyn JobHandler>) -> bool {
        let jobs = match state.store.claim_jobs(handler.topic(), now_millis(), handler.claim_batch(), handler.lease()).await {
            Ok(jobs) => jobs,
            Err(e) => {
                tracing::warn!(error = %e, topic = handler.topic(), "claiming due jobs failed");
                return false;
            }
        };
        for job in &jobs {
            let (_, follow_up) = self.run_one(state, job).await;
            self.run_now(state, &follow_up).await;
        }
        !jobs.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::backoff;
    use std::time::Duration;

    #[test]
    fn backoff_doubles_up_to_six_hours() {
        let base = Duration::from_secs(30);
        assert_eq!(backoff(base, 1), Duration::from_secs(30));
        assert_eq!(backoff(base, 2), Duration::from_secs(60));
        assert_eq!(backoff(base, 5), Duration::from_secs(480));
        assert_eq!(backoff(base, 40), Duration::from_secs(6 * 3600));
    }
}
