//! Closing a room when its event is cancelled or deleted, as jobs queued in
//! the change's own transaction ([`crate::jobs`]): `visio-close` marks the
//! room closed (run by the request, so its links say "cancelled" when the
//! answer leaves), `visio-end` ends a meeting still running on the BBB
//! server (run by the worker, retried while BBB is down: a BBB outage never
//! fails or holds up the request).

use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::app::AppState;
use crate::jobs::{JobHandler, JobOutcome};
use crate::store::{now_millis, Job, NewJob, PrincipalId};

pub const CLOSE: &str = "visio-close";
pub const END: &str = "visio-end";

/// The room of an organizer's event.
#[derive(Debug, Serialize, Deserialize)]
struct RoomJob {
    owner: PrincipalId,
    uid: String,
}

/// The jobs that close the room of `owner`'s event `uid`.
pub fn close_jobs(owner: PrincipalId, uid: &str) -> Vec<NewJob> {
    let payload = serde_json::to_vec(&RoomJob { owner, uid: uid.to_string() }).expect("a room job serializes");
    vec![
        NewJob { topic: CLOSE.into(), payload: payload.clone(), not_before: crate::jobs::not_before_in_request() },
        NewJob { topic: END.into(), payload, not_before: now_millis() },
    ]
}

pub fn handlers() -> Vec<Arc<dyn JobHandler>> {
    vec![Arc::new(CloseHandler), Arc::new(EndHandler)]
}

fn read(job: &Job) -> Result<RoomJob, JobOutcome> {
    serde_json::from_slice(&job.payload).map_err(|e| JobOutcome::Abandoned { error: format!("unreadable visio job: {e}") })
}

struct CloseHandler;

#[async_trait]
impl JobHandler for CloseHandler {
    fn topic(&self) -> &'static str {
        CLOSE
    }

    async fn run(&self, state: &AppState, job: &Job) -> JobOutcome {
        let room = match read(job) {
            Ok(r) => r,
            Err(outcome) => return outcome,
        };
        match state.store.close_room(room.owner, &room.uid).await {
            Ok(_) => JobOutcome::Done,
            Err(e) => JobOutcome::RetryAt { at: state.jobs.retry_at(job), error: e.to_string() },
        }
    }
}

struct EndHandler;

#[async_trait]
impl JobHandler for EndHandler {
    fn topic(&self) -> &'static str {
        END
    }

    /// Only where a BBB server is configured.
    fn enabled(&self, state: &AppState) -> bool {
        state.visio.is_some()
    }

    /// BBB may be slow or down: never within a request.
    fn runs_in_request(&self) -> bool {
        false
    }

    async fn run(&self, state: &AppState, job: &Job) -> JobOutcome {
        let room = match read(job) {
            Ok(r) => r,
            Err(outcome) => return outcome,
        };
        let Some(bbb) = &state.visio else { return JobOutcome::RetryAt { at: state.jobs.retry_at(job), error: "no BBB server".into() } };
        let room = match state.store.room_of_event(room.owner, &room.uid).await {
            Ok(Some(r)) => r,
            Ok(None) => return JobOutcome::Done,
            Err(e) => return JobOutcome::RetryAt { at: state.jobs.retry_at(job), error: e.to_string() },
        };
        // Whatever happened to the event since (`visio-close` may even run
        // after this job), the meeting of the event cancelled then is over.
        match bbb.end(&room.fixed.meeting_id, &room.fixed.moderator_pw).await {
            Ok(ended) => {
                tracing::info!(ended, "visio meeting of a cancelled event ended");
                JobOutcome::Done
            }
            Err(e) if job.attempts >= 24 => JobOutcome::Abandoned { error: e.to_string() },
            Err(e) => JobOutcome::RetryAt { at: state.jobs.retry_at(job), error: e.to_string() },
        }
    }
}
