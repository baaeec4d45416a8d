//! Coalesced reads: concurrent one-row reads of the same kind share one
//! statement.
//!
//! With PostgreSQL every statement is a round trip that wakes a backend
//! process; for the hottest reads (the object of a GET, the collection of a
//! poll) that wake-up and the protocol around it cost more than the lookup.
//! A [`Coalescer`] queues the keys asked for and runs them in batches on at
//! most `lanes` spawned tasks: a read arriving while every lane is busy
//! waits for the next batch of a lane, which answers all the keys queued
//! meanwhile with one statement. A read arriving at an idle coalescer is
//! sent at once (a batch of one), so a lone client waits for nothing.
//!
//! Every read is still answered by a statement started after it arrived, so
//! it sees every write committed before it was asked (no staleness, unlike
//! a cache). A lane is a spawned task, so a request that goes away does not
//! cancel the batch of the others.

use std::collections::VecDeque;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::oneshot;

use crate::store::{StoreError, StoreResult};

type Waiter<K, V> = (K, oneshot::Sender<StoreResult<V>>);

pub struct Coalescer<K, V> {
    state: Mutex<State<K, V>>,
    lanes: usize,
    max_batch: usize,
}

struct State<K, V> {
    /// Lanes (spawned tasks) currently running batches.
    running: usize,
    queue: VecDeque<Waiter<K, V>>,
}

impl<K: Send + 'static, V: Send + 'static> Coalescer<K, V> {
    /// At most `lanes` batches at once, of at most `max_batch` keys each.
    pub fn new(lanes: usize, max_batch: usize) -> Self {
        Coalescer { state: Mutex::new(State { running: 0, queue: VecDeque::new() }), lanes: lanes.max(1), max_batch: max_batch.max(1) }
    }

    fn state(&self) -> MutexGuard<'_, State<K, V>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The answer for `key`. `run` answers a batch of keys with one value
    /// per key, in the keys' order; it runs on a lane, for this key and the
    /// others queued with it (a lane keeps the `run` of the read that
    /// started it for every later batch: all the reads of one coalescer
    /// must pass equivalent ones).
    pub async fn read<R, Fut>(self: &Arc<Self>, key: K, run: R) -> StoreResult<V>
    where
        R: Fn(Vec<K>) -> Fut + Clone + Send + 'static,
        Fut: Future<Output = StoreResult<Vec<V>>> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let mut key = Some(key);
        let start = {
            let mut state = self.state();
            if state.running < self.lanes && state.queue.is_empty() {
                state.running += 1;
                Start::Inline
            } else {
                state.queue.push_back((key.take().expect("key not queued yet"), reply));
                if state.running < self.lanes {
                    state.running += 1;
                    Start::Lane
                } else {
                    Start::Wait
                }
            }
        };
        match (start, key) {
            // Nobody to batch with: this request's task runs the statement
            // itself (no hop to a lane task), holding a lane until it ends.
            (Start::Inline, Some(key)) => {
                let handoff = {
                    let (coalescer, run) = (self.clone(), run.clone());
                    move || {
                        tokio::spawn(coalescer.lane(run));
                    }
                };
                let _lane = InlineLane { coalescer: self, handoff: Some(Box::new(handoff)) };
                let mut values = run(vec![key]).await?;
                match values.pop() {
                    Some(value) if values.is_empty() => Ok(value),
                    _ => Err(internal("a batched read answered a wrong number of keys".into())),
                }
            }
            (start, _) => {
                if matches!(start, Start::Lane) {
                    tokio::spawn(self.clone().lane(run));
                }
                answer.await.unwrap_or_else(|_| Err(internal("a batched read was abandoned".into())))
            }
        }
    }

    /// Run batches until the queue is empty.
    async fn lane<R, Fut>(self: Arc<Self>, run: R)
    where
        R: Fn(Vec<K>) -> Fut,
        Fut: Future<Output = StoreResult<Vec<V>>>,
    {
        let mut lane = LaneGuard { coalescer: &self, finished: false };
        loop {
            let batch: Vec<Waiter<K, V>> = {
                let mut state = self.state();
                if state.queue.is_empty() {
                    state.running -= 1;
                    lane.finished = true;
                    return;
                }
                let n = state.queue.len().min(self.max_batch);
                state.queue.drain(..n).collect()
            };
            let (keys, replies): (Vec<K>, Vec<_>) = batch.into_iter().unzip();
            let expected = keys.len();
            match run(keys).await {
                Ok(values) if values.len() == expected => {
                    for (reply, value) in replies.into_iter().zip(values) {
                        let _ = reply.send(Ok(value));
                    }
                }
                Ok(values) => {
                    let e = format!("a batched read answered {} of {expected} keys", values.len());
                    for reply in replies {
                        let _ = reply.send(Err(internal(e.clone())));
                    }
                }
                Err(e) => {
                    for reply in replies {
                        let _ = reply.send(Err(shared(&e)));
                    }
                }
            }
        }
    }
}

/// How a read is answered.
enum Start {
    /// By a statement of its own, on its request's task.
    Inline,
    /// In a batch of a lane task it starts.
    Lane,
    /// In a batch of a lane task already running.
    Wait,
}

/// The lane held by a read running its own statement: when it ends
/// (answered, failed or cancelled with its request), the reads queued
/// meanwhile get a lane task (`handoff`), or the lane is released.
struct InlineLane<'a, K, V> {
    coalescer: &'a Coalescer<K, V>,
    handoff: Option<Box<dyn FnOnce() + Send + 'a>>,
}

impl<K, V> Drop for InlineLane<'_, K, V> {
    fn drop(&mut self) {
        let queued = {
            let mut state = self.coalescer.state.lock().unwrap_or_else(|e| e.into_inner());
            let queued = !state.queue.is_empty();
            if !queued {
                state.running -= 1;
            }
            queued
        };
        if queued {
            if let Some(handoff) = self.handoff.take() {
                handoff();
            }
        }
    }
}

/// Releases the lane of a lane task that ended without finishing (a panic
/// in `run`): the queued reads are answered with an error (their senders
/// dropped) rather than left waiting for a lane that is gone.
struct LaneGuard<'a, K, V> {
    coalescer: &'a Coalescer<K, V>,
    finished: bool,
}

impl<K, V> Drop for LaneGuard<'_, K, V> {
    fn drop(&mut self) {
        if !self.finished {
            let mut state = self.coalescer.state.lock().unwrap_or_else(|e| e.into_inner());
            state.running -= 1;
            state.queue.clear();
        }
    }
}

/// The error of a batch, for each of its reads: a pool timeout stays one,
/// anything else becomes a database error with the same message (the
/// server's failure, never the client's: 503, not 400).
fn shared(e: &StoreError) -> StoreError {
    match e {
        StoreError::Database(sqlx::Error::PoolTimedOut) => StoreError::Database(sqlx::Error::PoolTimedOut),
        other => internal(other.to_string()),
    }
}

/// A failure of the batching itself (a lane gone, a wrong answer count).
fn internal(message: String) -> StoreError {
    StoreError::Database(sqlx::Error::Protocol(message))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_reads_share_batches_and_get_their_own_answer() {
        let coalescer: Arc<Coalescer<u32, u32>> = Arc::new(Coalescer::new(1, 64));
        let batches = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for key in 0..200u32 {
            let coalescer = coalescer.clone();
            let batches = batches.clone();
            tasks.push(tokio::spawn(async move {
                coalescer
                    .read(key, move |keys: Vec<u32>| {
                        let batches = batches.clone();
                        async move {
                            batches.fetch_add(1, Ordering::SeqCst);
                            tokio::time::sleep(Duration::from_millis(2)).await;
                            Ok(keys.into_iter().map(|k| k * 10).collect())
                        }
                    })
                    .await
            }));
        }
        for (key, task) in tasks.into_iter().enumerate() {
            assert_eq!(task.await.unwrap().unwrap(), key as u32 * 10);
        }
        // One lane, 2 ms per batch: far fewer statements than reads.
        assert!(batches.load(Ordering::SeqCst) < 200);
        assert_eq!(coalescer.state().running, 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_cancelled_inline_read_hands_its_lane_to_the_queued_reads() {
        let coalescer: Arc<Coalescer<u32, u32>> = Arc::new(Coalescer::new(1, 8));
        let slow = |keys: Vec<u32>| async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            Ok(keys)
        };
        // The first read runs inline and is cancelled while the second waits.
        let first = {
            let coalescer = coalescer.clone();
            tokio::spawn(async move { coalescer.read(1, slow).await })
        };
        tokio::time::sleep(Duration::from_millis(10)).await;
        let second = {
            let coalescer = coalescer.clone();
            tokio::spawn(async move { coalescer.read(2, slow).await })
        };
        tokio::time::sleep(Duration::from_millis(10)).await;
        first.abort();
        assert_eq!(second.await.unwrap().unwrap(), 2);
        assert_eq!(coalescer.state().running, 0);
    }

    #[tokio::test]
    async fn a_failed_batch_fails_each_of_its_reads_and_the_next_read_runs() {
        let coalescer: Arc<Coalescer<u32, u32>> = Arc::new(Coalescer::new(2, 8));
        let failed = coalescer
            .read(1, |_keys: Vec<u32>| async { Err::<Vec<u32>, _>(StoreError::Database(sqlx::Error::PoolTimedOut)) })
            .await;
        assert!(matches!(failed, Err(StoreError::Database(sqlx::Error::PoolTimedOut))));
        let short = coalescer.read(2, |_keys: Vec<u32>| async { Ok(Vec::new()) }).await;
        assert!(matches!(short, Err(StoreError::Database(_))));
        let ok = coalescer.read(3, |keys: Vec<u32>| async move { Ok(keys) }).await;
        assert_eq!(ok.unwrap(), 3);
    }
}
