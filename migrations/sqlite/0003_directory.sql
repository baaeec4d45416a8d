-- The national directory (CardDAV directory-gateway, RFC 6352 §7.1.1): the
-- fields of a principal's vCard, and a search index over its names and
-- email addresses. Keep logically identical to migrations/postgres.
--   given_name, family_name, title, phone   vCard N, TITLE, TEL
--   modified_at                             ms; last change of the principal
ALTER TABLE principals ADD COLUMN given_name TEXT;
ALTER TABLE principals ADD COLUMN family_name TEXT;
ALTER TABLE principals ADD COLUMN title TEXT;
ALTER TABLE principals ADD COLUMN phone TEXT;
ALTER TABLE principals ADD COLUMN modified_at BIGINT NOT NULL DEFAULT 0;
UPDATE principals SET modified_at = created_at;

-- One row per distinct searchable value of an active user principal, folded
-- in Rust with i;unicode-casemap (collation::fold) at write time:
--   field 'n'  display name, given name, family name, "given family", username
--   field 'e'  each email address
-- Rows exist only for active (not disabled) user principals; every write
-- path rewrites a principal's rows (store/sql/directory_index.rs).
CREATE TABLE directory_terms (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    principal_id  BIGINT NOT NULL REFERENCES principals(id) ON DELETE CASCADE,
    field         TEXT NOT NULL,
    term          TEXT NOT NULL
);
-- equals and starts-with: a byte-wise range scan (covering: no table read)
CREATE INDEX directory_terms_prefix_idx ON directory_terms(field, term, principal_id);
-- allof filters and rewrites by principal
CREATE INDEX directory_terms_principal_idx ON directory_terms(principal_id, field, term);
-- contains and ends-with (3 characters or more): every suffix of every word
-- of the values (words split at " .@-_'", suffixes cut to 12 characters),
-- once per principal, with the fields it comes from (bit 1: 'n', bit 2: 'e');
-- a suffix that is a prefix of another of the same principal with the same
-- fields is left out (it finds nothing more). A needle is then a byte-wise
-- range scan that stops at the limit (store/sql/directory_index.rs).
CREATE TABLE directory_suffixes (
    suffix        TEXT NOT NULL,
    principal_id  BIGINT NOT NULL REFERENCES principals(id) ON DELETE CASCADE,
    fields        INTEGER NOT NULL,
    PRIMARY KEY (suffix, principal_id)
) WITHOUT ROWID;
CREATE INDEX directory_suffixes_principal_idx ON directory_suffixes(principal_id);

-- Principals that existed before this migration are indexed once, by the
-- store right after migrating (the folding is Rust's collation::fold, which
-- SQL cannot reproduce): see directory_index::backfill.
CREATE TABLE directory_backfill (pending BOOLEAN NOT NULL);
INSERT INTO directory_backfill (pending) SELECT TRUE WHERE EXISTS (SELECT 1 FROM principals);
