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

/// The work budget of one request, shared by all its jobs (a report over
/// several collections runs one job per collection).
#[derive(Debug, Clone)]
pub struct Budget(Arc<AtomicI64>);

impl Budget {
    pub fn new(units: u64) -> Budget {
        Budget(Arc::new(AtomicI64::new(i64::try_from(units).unwrap_or(i64::MAX))))
    }

    /// Whether it is spent.
    pub fn is_spent(&self) -> bool {
        self.0.load(Ordering::Relaxed) < 0
    }
}

/// The state a running job shares with the request that waits for it.
struct Job {
    cancelled: AtomicBool,
    /// Work units left in the request's budget; spent below zero.
    remaining: Arc<AtomicI64>,
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

/// Spend what parsing `bytes` bytes costs: one unit per kibibyte, and one
/// for the object. False when the job must stop.
pub fn charge_bytes(bytes: usize) -> bool {
    charge(1 + (bytes / 1024) as u64)
}

/// Whether the current job must stop: its budget is spent or its request
/// is gone. Always false outside a job.
pub fn interrupted() -> bool {
    CURRENT.with_borrow(|job| {
        job.as_ref().is_some_and(|j| j.remaining.load(Ordering::Relaxed) < 0 || j.cancelled.load(Ordering::Relaxed))
    })
}

/// Whether the current job has spent its budget (as opposed to being
/// cancelled).
#[cfg(test)]
fn over_budget() -> bool {
    CURRENT.with_borrow(|job| job.as_ref().is_some_and(|j| j.remaining.load(Ordering::Relaxed) < 0))
}

/// Runs `f` on this thread as a job with a budget of `units`, and tells
/// whether it spent the budget: for unit tests of what code charges.
#[cfg(test)]
pub(crate) fn within_budget<T>(units: u64, f: impl FnOnce() -> T) -> (T, bool) {
    let job = Arc::new(Job { cancelled: AtomicBool::new(false), remaining: Budget::new(units).0 });
    let _current = Current::enter(job);
    let out = f();
    (out, over_budget())
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

/// Each user's slots.
type UserSlots = Arc<Mutex<HashMap<i64, Arc<Semaphore>>>>;

/// The pool of CPU work of one server.
pub struct Compute {
    slots: Arc<Semaphore>,
    per_user: usize,
    users: UserSlots,
    /// Jobs for the threads; at most `threads` are queued or running, as
    /// a job is sent only with a slot.
    tasks: Mutex<std::sync::mpsc::Sender<Task>>,
}

/// The scheduling priority of the pool's threads: below the async workers.
const NICE: i32 = 10;

impl Compute {
    /// `threads` jobs at once in all, `per_user` for one principal.
    pub fn new(threads: usize, per_user: usize) -> Compute {
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
            users: Arc::new(Mutex::new(HashMap::new())),
            tasks: Mutex::new(tx),
        }
    }

    /// Run `job` for `user` on a pool thread, once a slot of the user and
    /// one of the pool are free, spending `budget`. The job is cancelled if
    /// the returned future is dropped; both slots stay taken until the job
    /// has stopped, so a user who disconnects and asks again cannot run
    /// more than their share at once.
    pub async fn run<T, F>(&self, user: i64, budget: &Budget, job: F) -> Result<T, ComputeError>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let user_permit = UserPermit::acquire(self, user).await?;
        let permit = self.slots.clone().acquire_owned().await.map_err(|_| ComputeError::Closed)?;
        let state = Arc::new(Job { cancelled: AtomicBool::new(false), remaining: budget.0.clone() });
        let _cancel = CancelOnDrop(state.clone());
        let (done, result) = tokio::sync::oneshot::channel();
        let task: Task = Box::new(move || {
            // A request gone before its job started: nothing to do.
            let out = (!state.cancelled.load(Ordering::Relaxed)).then(|| {
                let _current = Current::enter(state);
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(job))
            });
            // The slots are free once the work is (before the answer, so
            // that a request that got its answer finds its slot free).
            drop(permit);
            drop(user_permit);
            if let Some(out) = out {
                let _ = done.send(out);
            }
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
/// on drop: by the pool thread once the job has stopped, or by the waiting
/// request if it goes away before the job was sent.
struct UserPermit {
    users: UserSlots,
    per_user: usize,
    user: i64,
    permit: Option<tokio::sync::OwnedSemaphorePermit>,
}

impl UserPermit {
    async fn acquire(compute: &Compute, user: i64) -> Result<UserPermit, ComputeError> {
        let slots = {
            let mut users = compute.users.lock().unwrap_or_else(|e| e.into_inner());
            users.entry(user).or_insert_with(|| Arc::new(Semaphore::new(compute.per_user))).clone()
        };
        let mut guard = UserPermit { users: compute.users.clone(), per_user: compute.per_user, user, permit: None };
        guard.permit = Some(slots.acquire_owned().await.map_err(|_| ComputeError::Closed)?);
        Ok(guard)
    }
}

impl Drop for UserPermit {
    fn drop(&mut self) {
        drop(self.permit.take());
        let mut users = self.users.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(s) = users.get(&self.user) {
            if Arc::strong_count(s) == 1 && s.available_permits() == self.per_user {
                users.remove(&self.user);
            }
        }
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
        let compute = Compute::new(2, 1);
        let budget = Budget::new(10);
        let (first, second, over) = compute.run(1, &budget, || (charge(6), charge(4), over_budget())).await.unwrap();
        assert!(first && second && !over);
        // The budget is the request's: a second job spends what is left.
        let (spent, over, stop) = compute.run(1, &budget, || (charge(1), over_budget(), interrupted())).await.unwrap();
        assert!(!spent && over && stop && budget.is_spent());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn dropping_the_request_cancels_the_job() {
        let compute = Arc::new(Compute::new(2, 1));
        let (tx, rx) = std::sync::mpsc::channel();
        let c = compute.clone();
        let waiting = tokio::spawn(async move {
            c.run(7, &Budget::new(u64::MAX), move || {
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
        assert_eq!(compute.run(7, &Budget::new(10), || 5).await.unwrap(), 5);
        assert!(compute.users.lock().unwrap().is_empty());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_cancelled_job_keeps_its_slot_until_it_stops() {
        // Two pool threads, one slot per user; each job ignores its flag
        // until released.
        let compute = Arc::new(Compute::new(2, 1));
        let running = Arc::new(AtomicI64::new(0));
        let most = Arc::new(AtomicI64::new(0));
        let (release, wait) = std::sync::mpsc::channel::<()>();
        let wait = Arc::new(Mutex::new(wait));
        for _ in 0..2 {
            let (c, r, m, w) = (compute.clone(), running.clone(), most.clone(), wait.clone());
            let asking = tokio::spawn(async move {
                c.run(1, &Budget::new(u64::MAX), move || {
                    let now = r.fetch_add(1, Ordering::SeqCst) + 1;
                    m.fetch_max(now, Ordering::SeqCst);
                    let _ = w.lock().unwrap().recv();
                    r.fetch_sub(1, Ordering::SeqCst);
                })
                .await
            });
            tokio::time::sleep(Duration::from_millis(50)).await;
            // The client gives up: the request's future is dropped.
            asking.abort();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(most.load(Ordering::SeqCst), 1, "the second job waited for the first to stop");
        release.send(()).unwrap();
        release.send(()).unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn one_user_cannot_take_every_slot() {
        let compute = Arc::new(Compute::new(2, 1));
        let (release, wait) = std::sync::mpsc::channel::<()>();
        let wait = Arc::new(Mutex::new(wait));
        let c = compute.clone();
        let w = wait.clone();
        let busy = tokio::spawn(async move { c.run(1, &Budget::new(10), move || w.lock().unwrap().recv().ok()).await });
        tokio::time::sleep(Duration::from_millis(50)).await;
        // User 1's second job waits for its first; user 2 runs at once.
        let c = compute.clone();
        let w = wait.clone();
        let second = tokio::spawn(async move { c.run(1, &Budget::new(10), move || w.lock().unwrap().recv().ok()).await });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(compute.run(2, &Budget::new(10), || 2).await.unwrap(), 2);
        assert!(!second.is_finished());
        release.send(()).unwrap();
        release.send(()).unwrap();
        busy.await.unwrap().unwrap();
        second.await.unwrap().unwrap();
    }
}
