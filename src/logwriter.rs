//! The server's log output: standard error, written in batches by a
//! background thread.
//!
//! Each request logs one line; written directly, that is one `write` system
//! call per request on the request's worker thread — about a sixth of the
//! system calls of a GET. Here a line is appended to a buffer in memory, and
//! a thread writes whatever accumulated, at most [`BATCH_DELAY`] after the
//! first line of a batch. A line reaches standard error that much later at
//! worst; the buffer is bounded ([`MAX_BUFFERED`]: beyond it the logging
//! thread writes the buffer itself), and [`LogGuard`] writes what is left
//! when the server stops. See `docs/decisions.md`.

use std::io::Write;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// How long the first line of a batch waits for others.
pub const BATCH_DELAY: Duration = Duration::from_millis(10);

/// Most bytes buffered before a logging thread writes them itself.
const MAX_BUFFERED: usize = 1 << 20;

#[derive(Default)]
struct State {
    buffer: Vec<u8>,
    closing: bool,
}

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    wake: Condvar,
}

/// The `MakeWriter` for tracing-subscriber.
#[derive(Clone)]
pub struct BatchedStderr(Arc<Shared>);

/// Writes what is buffered and stops the writing thread when dropped.
pub struct LogGuard {
    shared: Arc<Shared>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// The writer, and the guard to hold for as long as the server runs.
pub fn batched_stderr() -> (BatchedStderr, LogGuard) {
    let shared = Arc::new(Shared::default());
    let worker = shared.clone();
    let thread = std::thread::Builder::new()
        .name("log-writer".into())
        .spawn(move || write_batches(&worker))
        .expect("spawn the log writer thread");
    (BatchedStderr(shared.clone()), LogGuard { shared, thread: Some(thread) })
}

fn write_batches(shared: &Shared) {
    loop {
        {
            let mut state = shared.state.lock().unwrap_or_else(|e| e.into_inner());
            while state.buffer.is_empty() && !state.closing {
                state = shared.wake.wait(state).unwrap_or_else(|e| e.into_inner());
            }
            if state.closing {
                let _ = std::io::stderr().write_all(&state.buffer);
                state.buffer.clear();
                return;
            }
        }
        // Let a batch gather; lines keep being appended meanwhile.
        std::thread::sleep(BATCH_DELAY);
        let batch = {
            let mut state = shared.state.lock().unwrap_or_else(|e| e.into_inner());
            std::mem::take(&mut state.buffer)
        };
        let _ = std::io::stderr().write_all(&batch);
    }
}

impl Drop for LogGuard {
    fn drop(&mut self) {
        self.shared.state.lock().unwrap_or_else(|e| e.into_inner()).closing = true;
        self.shared.wake.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Write for BatchedStderr {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let mut state = self.0.state.lock().unwrap_or_else(|e| e.into_inner());
        if state.closing {
            drop(state);
            return std::io::stderr().write(bytes);
        }
        let was_empty = state.buffer.is_empty();
        state.buffer.extend_from_slice(bytes);
        if state.buffer.len() >= MAX_BUFFERED {
            // Bounded memory: this thread writes the buffer (in order, under the lock).
            let result = std::io::stderr().write_all(&state.buffer);
            state.buffer.clear();
            result?;
        } else if was_empty {
            drop(state);
            self.0.wake.notify_one();
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for BatchedStderr {
    type Writer = BatchedStderr;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}
