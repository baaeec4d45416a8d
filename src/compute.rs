//! Bounded CPU work, off the async workers.
//!
//! Parsing and indexing a calendar object or vCard, evaluating report
//! filters, expanding recurrences, computing free-busy and converting
//! vCards can each take seconds on a hostile input. Run inline on the
//! async workers (two on a two-core host), two such requests would stall
//! every other request, `/health` included, and a request timeout could
//! not stop them (a timeout only fires when the task yields). So that work
//! goes through [`Compute::run`]:
//!
//! - it runs on the pool's own `threads` threads, which run at a lower
//!   scheduling priority than the async workers (`nice` 10 on Linux), so
//!   that a core busy with a heavy job still serves light requests at once;
//!   at most `per_user` jobs run at once for one principal, so one user's
//!   heavy requests wait for each other rather than take every thread;
//! - it is **cancelled** when the request that asked for it goes away (the
//!   request timeout fires, the client disconnects): the future returned by
//!   `run` raises the job's flag when dropped, and the loops that can run
//!   long check it through [`charge`] / [`interrupted`] and stop;
//! - it has a **budget** of work units (recurrence instances generated,
//!   objects evaluated): once spent, [`charge`] answers false, the loops
//!   stop, and the caller answers what the RFC prescribes for a result cut
//!   short (`DAV:number-of-matches-within-limits`, 507), never a silently
//!   truncated result.
//!
//! Code outside a job (the command line, unit tests) has no budget and is
//! never interrupted.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::Semaphore;

/// Why a job did not run to its end.
#[derive(Debug, thiserror::Error)]
pub enum ComputeError {
    /// The server is shutting down (the pool is closed).
    #[error("the server is shutting down")]
    Closed,
    /// The job panicked: a bug, reported as a server error.
    #[error("a background job failed")]
    Failed,
}

/// The state a running job shares with the request that waits for it.
struct Job {
    cancelled: AtomicBool,
    /// Work units left; the job is over budget below zero.
    remaining: AtomicI64,
}

thread_local! {
    /// The job running on this thread, if any.
    static CURRENT: RefCell<Option<Arc<Job>>> = const { RefCell::new(None) };
}

/// Spend `units` of the current job's budget: false when the job must stop
/// (budget spent, or its request gone). Always true outside a job.
pub fn charge(units: u64) -> bool {
    CURRENT.with_borrow(|job| match job {
        None => true,
        Some(job) => {
            let units = i64::try_from(units).unwrap_or(i64::MAX);
            let left = job.remaining.fetch_sub(units, Ordering::Relaxed).saturating_sub(units);
            left >= 0 && !job.cancelled.load(Ordering::Relaxed)
        }
    })
}

/// Whether the current job must stop: its budget is spent or its request
/// is gone. Always false outside a job.
pub fn interrupted() -> bool {
    CURRENT.with_borrow(|job| {
        job.as_ref().is_some_and(|j| j.remaining.load(Ordering::Relaxed) < 0 || j.cancelled.load(Ordering::Relaxed))
    })
}

/// Whether the current job has spent its budget (as opposed to running
/// out of time): the caller then answers a "result cut short" status.
pub fn over_budget() -> bool {
    CURRENT.with_borrow(|job| job.as_ref().is_some_and(|j| j.remaining.load(Ordering::Relaxed) < 0))
}

/// Raises the job's flag when the waiting request is dropped.
struct CancelOnDrop(Arc<Job>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.cancelled.store(true, Ordering::Relaxed);
    }
}

/// Sets [`CURRENT`] for the duration of a job on a blocking thread.
struct Current;

impl Current {
    fn enter(job: Arc<Job>) -> Current {
        CURRENT.with_borrow_mut(|c| *c = Some(job));
        Current
    }
}

impl Drop for Current {
    fn drop(&mut self) {
        CURRENT.with_borrow_mut(|c| *c = None);
    }
}

/// A job as the pool's threads run it.
type Task = Box<dyn FnOnce() + Send + 'static>;

/// The pool of CPU work of one server.
pub struct Compute {
    slots: Arc<Semaphore>,
    per_user: usize,
    users: Mutex<HashMap<i64, Arc<Semaphore>>>,
    budget: u64,
    /// Jobs for the threads; at most `threads` are queued or running, as
    /// a job is sent only with a slot.
    tasks: Mutex<std::sync::mpsc::Sender<Task>>,
}

/// The scheduling priority of the pool's threads: below the async workers.
const NICE: i32 = 10;

impl Compute {
    /// `threads` jobs at once in all, `per_user` for one principal, each
    /// with `budget` work units.
    pub fn new(threads: usize, per_user: usize, budget: u64) -> Compute {
        let threads = threads.max(1);
        let (tx, rx) = std::sync::mpsc::channel::<Task>();
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..threads {
            let rx = rx.clone();
            std::thread::Builder::new()
                .name(format!("compute-{i}"))
                .spawn(move || worker(rx))
                .expect("start a compute thread");
        }
        Compute {
            slots: Arc::new(Semaphore::new(threads)),
            per_user: per_user.max(1),
            users: Mutex::new(HashMap::new()),
            budget,
            tasks: Mutex::new(tx),
        }
    }

    /// Run `job` for `user` on a blocking thread, once a slot is free; the
    /// job is cancelled if the returned future is dropped.
    pub async fn run<T, F>(&self, user: i64, job: F) -> Result<T, ComputeError>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let user_slots = self.user_slots(user);
        let _user_permit = UserPermit::acquire(self, user, user_slots).await?;
        let permit = self.slots.clone().acquire_owned().await.map_err(|_| ComputeError::Closed)?;
        let state = Arc::new(Job {
            cancelled: AtomicBool::new(false),
            remaining: AtomicI64::new(i64::try_from(self.budget).unwrap_or(i64::MAX)),
        });
        let _cancel = CancelOnDrop(state.clone());
        let (done, result) = tokio::sync::oneshot::channel();
        let task: Task = Box::new(move || {
            let _current = Current::enter(state);
            let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
            // The slot is free once the work is, whether or not anyone waits.
            drop(permit);
            let _ = done.send(out);
        });
        self.tasks.lock().unwrap_or_else(|e| e.into_inner()).send(task).map_err(|_| ComputeError::Closed)?;
        match result.await {
            Ok(Ok(out)) => Ok(out),
            Ok(Err(_panic)) => {
                tracing::error!("compute job panicked");
                Err(ComputeError::Failed)
            }
            Err(_) => Err(ComputeError::Closed),
        }
    }

    fn user_slots(&self, user: i64) -> Arc<Semaphore> {
        let mut users = self.users.lock().unwrap_or_else(|e| e.into_inner());
        users.entry(user).or_insert_with(|| Arc::new(Semaphore::new(self.per_user))).clone()
    }

    /// Forget a user's semaphore once nobody holds or waits for it.
    fn release_user(&self, user: i64) {
        let mut users = self.users.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(s) = users.get(&user) {
            if Arc::strong_count(s) == 1 && s.available_permits() == self.per_user {
                users.remove(&user);
            }
        }
    }
}

/// A pool thread: lower its priority, then run jobs until the pool is gone.
fn worker(tasks: Arc<Mutex<std::sync::mpsc::Receiver<Task>>>) {
    lower_priority();
    loop {
        let task = match tasks.lock().unwrap_or_else(|e| e.into_inner()).recv() {
            Ok(task) => task,
            Err(_) => return,
        };
        task();
    }
}

/// `nice` the calling thread (on Linux, the priority is per thread).
fn lower_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: setpriority only reads its integer arguments; `who` 0 is the
    // calling thread.
    unsafe {
        if libc::setpriority(libc::PRIO_PROCESS, 0, NICE) != 0 {
            tracing::debug!("could not lower the priority of a compute thread");
        }
    }
}

/// A user's slot, given back (and the user's entry forgotten when idle)
/// on drop, whether the job ran or its request went away.
struct UserPermit<'a> {
    compute: &'a Compute,
    user: i64,
    permit: Option<tokio::sync::OwnedSemaphorePermit>,
}

impl<'a> UserPermit<'a> {
    async fn acquire(compute: &'a Compute, user: i64, slots: Arc<Semaphore>) -> Result<UserPermit<'a>, ComputeError> {
        let mut guard = UserPermit { compute, user, permit: None };
        // Dropped before the guard (declared later), so release_user sees
        // only the map's reference.
        let permit = slots.acquire_owned().await.map_err(|_| ComputeError::Closed)?;
        guard.permit = Some(permit);
        Ok(guard)
    }
}

impl Drop for UserPermit<'_> {
    fn drop(&mut self) {
        drop(self.permit.take());
        self.compute.release_user(self.user);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn outside_a_job_nothing_is_limited() {
        assert!(charge(u64::MAX));
        assert!(!interrupted());
        assert!(!over_budget());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn budget_is_spent_then_refused() {
        let compute = Compute::new(2, 1, 10);
        let (first, second, over) = compute.run(1, || (charge(6), charge(4), over_budget())).await.unwrap();
        assert!(first && second && !over);
        let (spent, over, stop) = compute.run(1, || (charge(11), over_budget(), interrupted())).await.unwrap();
        assert!(!spent && over && stop);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn dropping_the_request_cancels_the_job() {
        let compute = Arc::new(Compute::new(2, 1, u64::MAX));
        let (tx, rx) = std::sync::mpsc::channel();
        let c = compute.clone();
        let waiting = tokio::spawn(async move {
            c.run(7, move || {
                while charge(1) {
                    std::thread::sleep(Duration::from_millis(1));
                }
                tx.send(over_budget()).unwrap();
            })
            .await
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        waiting.abort();
        let over = tokio::task::spawn_blocking(move || rx.recv_timeout(Duration::from_secs(10))).await.unwrap();
        assert_eq!(over, Ok(false), "the job stopped because its request went away, not for budget");
        // The user's slot was given back: the same user can run again.
        assert_eq!(compute.run(7, || 5).await.unwrap(), 5);
        assert!(compute.users.lock().unwrap().is_empty());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn one_user_cannot_take_every_slot() {
        let compute = Arc::new(Compute::new(2, 1, u64::MAX));
        let (release, wait) = std::sync::mpsc::channel::<()>();
        let wait = Arc::new(Mutex::new(wait));
        let c = compute.clone();
        let w = wait.clone();
        let busy = tokio::spawn(async move { c.run(1, move || w.lock().unwrap().recv().ok()).await });
        tokio::time::sleep(Duration::from_millis(50)).await;
        // User 1's second job waits for its first; user 2 runs at once.
        let c = compute.clone();
        let w = wait.clone();
        let second = tokio::spawn(async move { c.run(1, move || w.lock().unwrap().recv().ok()).await });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(compute.run(2, || 2).await.unwrap(), 2);
        assert!(!second.is_finished());
        release.send(()).unwrap();
        release.send(()).unwrap();
        busy.await.unwrap().unwrap();
        second.await.unwrap().unwrap();
    }
}
