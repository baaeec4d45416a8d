//! The transactional outbox (`store::outbox`): jobs written by object writes
//! in their own transaction ([`enqueue`]), claimed with a lease, completed
//! or retried.
//!
//! A claim is one `UPDATE … WHERE id IN (SELECT … ORDER BY id LIMIT n)
//! RETURNING …` that writes the lease end into `leased_until`. In PostgreSQL
//! the inner `SELECT` ends with `FOR UPDATE SKIP LOCKED` (the backend's
//! `claim_locking()`): a claim skips the rows another claim has locked, and
//! a row whose claim committed meanwhile is re-checked on its new version
//! (READ COMMITTED), whose lease excludes it — so two processes never claim
//! one job while its lease runs. SQLite has one writer at a time
//! (`BEGIN IMMEDIATE`, also across processes), so a claim sees every
//! committed lease.
//!
//! Expanded by [`sql_store!`](super::sql_store) into the per-database module
//! of the same name (see the [module documentation](super)).

/// The functions of this concern, for the database of the enclosing module.
macro_rules! body {
    () => {
        use super::*;

        /// Most ids in one statement's `IN` list.
        const ID_LIST: usize = 500;

        #[derive(sqlx::FromRow)]
        struct JobRow {
            id: i64,
            topic: String,
            payload: Vec<u8>,
            not_before: i64,
            attempts: i64,
            last_error: Option<String>,
            created_at: i64,
            leased_until: Option<i64>,
        }

        impl From<JobRow> for Job {
            fn from(r: JobRow) -> Job {
                Job {
                    id: r.id,
                    topic: r.topic,
                    payload: r.payload,
                    not_before: r.not_before,
                    attempts: r.attempts,
                    last_error: r.last_error,
                    created_at: r.created_at,
                    leased_until: r.leased_until,
                }
            }
        }

        // ------------------------------------------------------ Store methods

        pub(super) async fn claim_jobs(
            store: &Backend,
            topic: &str,
            now: Millis,
            limit: u32,
            lease: std::time::Duration,
        ) -> StoreResult<Vec<Job>> {
            if lease.is_zero() {
                return Err(StoreError::Invalid("a job lease must not be zero".into()));
            }
            if limit == 0 {
                return Ok(Vec::new());
            }
            let until = now.saturating_add(i64::try_from(lease.as_millis()).unwrap_or(i64::MAX));
            let sql = format!(
                "UPDATE outbox SET leased_until = $3 WHERE id IN (\
                 SELECT id FROM outbox WHERE topic = $1 AND not_before <= $2 \
                 AND (leased_until IS NULL OR leased_until <= $2) ORDER BY id LIMIT $4{}) \
                 RETURNING id, topic, payload, not_before, attempts, last_error, created_at, leased_until",
                Backend::claim_locking()
            );
            let mut tx = store.begin_write().await?;
            let rows: Vec<JobRow> = sqlx::query_as(&sql)
                .bind(topic)
                .bind(now)
                .bind(until)
                .bind(i64::from(limit))
                .fetch_all(&mut *tx)
                .await?;
            tx.commit().await?;
            let mut jobs: Vec<Job> = rows.into_iter().map(Into::into).collect();
            // RETURNING has no order.
            jobs.sort_by_key(|j| j.id);
            Ok(jobs)
        }

        pub(super) async fn claim_job_ids(
            store: &Backend,
            ids: &[JobId],
            now: Millis,
            lease: std::time::Duration,
        ) -> StoreResult<Vec<Job>> {
            if lease.is_zero() {
                return Err(StoreError::Invalid("a job lease must not be zero".into()));
            }
            let mut ids = ids.to_vec();
            ids.sort_unstable();
            ids.dedup();
            if ids.is_empty() {
                return Ok(Vec::new());
            }
            let until = now.saturating_add(i64::try_from(lease.as_millis()).unwrap_or(i64::MAX));
            let mut tx = store.begin_write().await?;
            let mut jobs: Vec<Job> = Vec::with_capacity(ids.len());
            // Bounded IN lists, in one transaction.
            for chunk in ids.chunks(ID_LIST) {
                // As `claim_jobs`: the inner SELECT locks the rows it
                // returns (PostgreSQL: skipping those a claim holds) and the
                // lease condition is re-checked on a row whose claim
                // committed meanwhile.
                let sql = format!(
                    "UPDATE outbox SET leased_until = $2 WHERE id IN (\
                     SELECT id FROM outbox WHERE id IN ({}) \
                     AND (leased_until IS NULL OR leased_until <= $1) ORDER BY id{}) \
                     RETURNING id, topic, payload, not_before, attempts, last_error, created_at, leased_until",
                    (0..chunk.len()).map(|i| format!("${}", i + 3)).collect::<Vec<_>>().join(", "),
                    Backend::claim_locking()
                );
                let mut query = sqlx::query_as::<_, JobRow>(&sql).bind(now).bind(until);
                for id in chunk {
                    query = query.bind(id);
                }
                jobs.extend(query.fetch_all(&mut *tx).await?.into_iter().map(Job::from));
            }
            tx.commit().await?;
            // RETURNING has no order.
            jobs.sort_by_key(|j| j.id);
            Ok(jobs)
        }

        pub(super) async fn complete_job(store: &Backend, id: JobId) -> StoreResult<()> {
            let done = sqlx::query("DELETE FROM outbox WHERE id = $1").bind(id).execute(store.writer()).await?;
            if done.rows_affected() == 0 {
                return Err(StoreError::NotFound);
            }
            Ok(())
        }

        pub(super) async fn retry_job(store: &Backend, id: JobId, not_before: Millis, error: &str) -> StoreResult<()> {
            let done = sqlx::query(
                "UPDATE outbox SET attempts = attempts + 1, not_before = $2, last_error = $3, leased_until = NULL \
                 WHERE id = $1",
            )
            .bind(id)
            .bind(not_before)
            .bind(error)
            .execute(store.writer())
            .await?;
            if done.rows_affected() == 0 {
                return Err(StoreError::NotFound);
            }
            Ok(())
        }

        pub(super) async fn jobs_pending(store: &Backend, topic: &str) -> StoreResult<i64> {
            let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM outbox WHERE topic = $1")
                .bind(topic)
                .fetch_one(store.reader())
                .await?;
            Ok(n)
        }

        // ------------------------------------------------------------ helpers

        /// Write `jobs` in the transaction of the write that carries them
        /// (called last, once every check of that write has passed, right
        /// before its commit); their ids, in order. `Invalid` for an empty
        /// topic, which rolls the write back.
        pub(super) async fn enqueue(conn: &mut Conn, jobs: &[NewJob], now: Millis) -> StoreResult<Vec<JobId>> {
            let mut ids = Vec::with_capacity(jobs.len());
            for job in jobs {
                if job.topic.is_empty() {
                    return Err(StoreError::Invalid("a job needs a topic".into()));
                }
                let (id,): (i64,) = sqlx::query_as(
                    "INSERT INTO outbox (topic, payload, not_before, attempts, created_at) VALUES ($1, $2, $3, 0, $4) \
                     RETURNING id",
                )
                .bind(&job.topic)
                .bind(&job.payload)
                .bind(job.not_before)
                .bind(now)
                .fetch_one(&mut *conn)
                .await?;
                ids.push(id);
            }
            Ok(ids)
        }

        /// Delete the jobs `ids` (distinct) in the caller's transaction, in
        /// ascending id order (row locks in one order: no deadlock between
        /// two such transactions); `JobGone` if one no longer exists.
        pub(super) async fn complete_in(conn: &mut Conn, ids: &[JobId]) -> StoreResult<()> {
            let mut ids = ids.to_vec();
            ids.sort_unstable();
            for id in ids {
                let done = sqlx::query("DELETE FROM outbox WHERE id = $1").bind(id).execute(&mut *conn).await?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::JobGone);
                }
            }
            Ok(())
        }
    };
}
pub(crate) use body;
