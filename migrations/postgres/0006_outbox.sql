-- The transactional outbox (src/store/outbox.rs): jobs written in the same
-- transaction as the object write that produced them (scheduling queues its
-- outgoing iTIP messages here, so a crash cannot lose an invitation), then
-- claimed, completed or retried by workers of any server process.
--   id            enqueue order; never reused (a sequence), so a late
--                 complete or retry of a finished job cannot hit a new one
--   topic         which worker takes the job (e.g. "itip")
--   payload       opaque to the store
--   not_before    earliest time (ms) the job may be claimed
--   leased_until  end of the current claim (ms); NULL when not claimed
--   attempts      failed attempts so far (retries)
--   last_error    the error of the last failed attempt
CREATE TABLE outbox (
    id            BIGSERIAL PRIMARY KEY,
    topic         TEXT    NOT NULL,
    payload       BYTEA   NOT NULL,
    not_before    BIGINT  NOT NULL,
    leased_until  BIGINT,
    attempts      BIGINT  NOT NULL DEFAULT 0,
    last_error    TEXT,
    created_at    BIGINT  NOT NULL
);
-- Claiming: the due jobs of a topic.
CREATE INDEX outbox_claim_idx ON outbox(topic, not_before);
