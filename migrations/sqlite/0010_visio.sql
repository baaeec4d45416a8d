-- Visio rooms and policies (src/store/visio.rs, src/visio/).
--   rooms: one BigBlueButton room per organizer's event (owner_id, uid),
--   kept across every change of the event.
--     meeting_id                 the fixed BBB meetingID of its meetings
--     attendee_token, moderator_token
--                                16 random bytes each, the join links'
--     attendee_pw, moderator_pw  fixed BBB passwords (idempotent create)
--     title, starts_at, time_zone, organizer
--                                what the join page shows (ms for starts_at)
--     closed                     the event was cancelled or deleted
CREATE TABLE visio_rooms (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    owner_id        BIGINT NOT NULL REFERENCES principals(id) ON DELETE CASCADE,
    uid             TEXT   NOT NULL,
    meeting_id      TEXT   NOT NULL UNIQUE,
    attendee_token  BLOB  NOT NULL UNIQUE,
    moderator_token BLOB  NOT NULL UNIQUE,
    attendee_pw     TEXT   NOT NULL,
    moderator_pw    TEXT   NOT NULL,
    title           TEXT   NOT NULL DEFAULT '',
    starts_at       BIGINT,
    time_zone       TEXT,
    organizer       TEXT   NOT NULL DEFAULT '',
    closed          BOOLEAN NOT NULL DEFAULT FALSE,
    UNIQUE (owner_id, uid)
);
-- Which events get a room: per account, and per académie as the default
-- of its accounts ('auto', 'keyword', 'off').
CREATE TABLE visio_account_policies (
    principal_id BIGINT PRIMARY KEY REFERENCES principals(id) ON DELETE CASCADE,
    policy       TEXT NOT NULL
);
CREATE TABLE visio_academie_policies (
    academie_id  BIGINT PRIMARY KEY REFERENCES academies(id) ON DELETE CASCADE,
    policy       TEXT NOT NULL
);
