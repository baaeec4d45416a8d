-- Reply tokens of email invitations (src/store/tokens.rs): the token an
-- invitation sent to someone outside the platform names in its reply
-- address, with what it was drawn for.
--   token       16 random bytes (imip::token)
--   owner_id    the organizer
--   uid         the event's UID
--   attendee    the attendee's email address, lower-cased
--   expires_at  after this time (ms) the token is refused
CREATE TABLE reply_tokens (
    token       BYTEA PRIMARY KEY,
    owner_id    BIGINT NOT NULL REFERENCES principals(id) ON DELETE CASCADE,
    uid         TEXT   NOT NULL,
    attendee    TEXT   NOT NULL,
    expires_at  BIGINT NOT NULL,
    UNIQUE (owner_id, uid, attendee)
);
-- Expired tokens are dropped by time.
CREATE INDEX reply_tokens_expiry_idx ON reply_tokens(expires_at);
