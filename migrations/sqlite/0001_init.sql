-- Almanach schema (SQLite). Keep logically identical to migrations/postgres.
-- Timestamps are BIGINT Unix milliseconds. Text compares byte-wise (BINARY),
-- like the "C" collation of the PostgreSQL schema.

CREATE TABLE regions (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    slug        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL
);

CREATE TABLE academies (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    slug        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    region_id   BIGINT REFERENCES regions(id) ON DELETE SET NULL
);
CREATE INDEX academies_region_idx ON academies(region_id);

CREATE TABLE principals (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    username      TEXT NOT NULL UNIQUE,
    kind          TEXT NOT NULL DEFAULT 'user',
    display_name  TEXT,
    academie_id   BIGINT REFERENCES academies(id),
    password_hash TEXT,
    disabled      BOOLEAN NOT NULL DEFAULT FALSE,
    is_admin      BOOLEAN NOT NULL DEFAULT FALSE,
    quota_bytes   BIGINT,
    created_at    BIGINT NOT NULL
);
CREATE INDEX principals_academie_idx ON principals(academie_id);

CREATE TABLE principal_emails (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    principal_id  BIGINT NOT NULL REFERENCES principals(id) ON DELETE CASCADE,
    address       TEXT NOT NULL,
    -- lower-cased address: uniqueness and look-ups are case-insensitive
    address_lower TEXT NOT NULL UNIQUE,
    is_primary    BOOLEAN NOT NULL DEFAULT FALSE,
    position      BIGINT NOT NULL
);
CREATE INDEX principal_emails_principal_idx ON principal_emails(principal_id, position);

CREATE TABLE collections (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    owner_id      BIGINT NOT NULL REFERENCES principals(id) ON DELETE CASCADE,
    parent_id     BIGINT REFERENCES collections(id) ON DELETE CASCADE,
    path          TEXT NOT NULL UNIQUE,
    kind          TEXT NOT NULL,
    sync_revision BIGINT NOT NULL DEFAULT 0,
    created_at    BIGINT NOT NULL,
    modified_at   BIGINT NOT NULL
);
CREATE INDEX collections_parent_idx ON collections(parent_id);
CREATE INDEX collections_owner_idx ON collections(owner_id);

CREATE TABLE objects (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    collection_id BIGINT NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    content_type  TEXT NOT NULL,
    etag          TEXT NOT NULL,
    size          BIGINT NOT NULL,
    content       BLOB    NOT NULL,
    created_at    BIGINT NOT NULL,
    modified_at   BIGINT NOT NULL,
    UNIQUE (collection_id, name)
);

-- A dead property belongs to exactly one collection or one object; the two
-- foreign keys make the database remove properties with their target.
CREATE TABLE dead_properties (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    collection_id BIGINT REFERENCES collections(id) ON DELETE CASCADE,
    object_id     BIGINT REFERENCES objects(id) ON DELETE CASCADE,
    namespace     TEXT NOT NULL,
    name          TEXT NOT NULL,
    value         TEXT NOT NULL,
    CHECK ((collection_id IS NULL) <> (object_id IS NULL)),
    UNIQUE (collection_id, namespace, name),
    UNIQUE (object_id, namespace, name)
);

-- RFC 6578 change log: the latest change per member name.
CREATE TABLE changes (
    collection_id BIGINT NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    revision      BIGINT NOT NULL,
    deleted       BOOLEAN NOT NULL,
    PRIMARY KEY (collection_id, name)
);
CREATE INDEX changes_revision_idx ON changes(collection_id, revision);

CREATE TABLE locks (
    token         TEXT PRIMARY KEY,
    root          TEXT NOT NULL,
    infinite      BOOLEAN NOT NULL,
    scope         TEXT NOT NULL,
    owner_xml     TEXT,
    principal_id  BIGINT NOT NULL REFERENCES principals(id) ON DELETE CASCADE,
    timeout_secs  BIGINT,
    expires_at    BIGINT
);
CREATE INDEX locks_root_idx ON locks(root);
CREATE INDEX locks_principal_idx ON locks(principal_id);
CREATE INDEX locks_expires_idx ON locks(expires_at);
