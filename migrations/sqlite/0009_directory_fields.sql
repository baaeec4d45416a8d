-- The directory index, by field (docs/decisions.md, "The directory index").
-- Keep logically identical to migrations/postgres. The rows are rebuilt by the
-- store right after migrating (directory_backfill, as in 0003): their folding
-- is Rust's.
--
-- directory_terms: one row per distinct searchable value of an active user
-- principal, folded with i;unicode-casemap, each the text a filter compares:
--   field 'f'  the card's FN (display name, else "given family", else username)
--   field 'n'  the card's N as text: "family;given;;;"
--   field 'u'  the username
--   field 'd'  the display name, when the principal has one
--   field 'e'  each email address
--   field 'h'  the mail domain of each address (the principals of a domain)
--
-- directory_suffixes: the text from every position of a principal's texts,
-- cut to 12 characters, once per principal and kind:
--   kind 1  the FN (and the display name, which is the FN when there is one)
--   kind 2  the local part of each address up to and with its '@' (the rows
--           run on into the domain)
--   kind 3  the components of N, and a display name other than the FN
--   kind 4  the username
-- A row that is a prefix of another of the same principal and kind is left
-- out, and so is a kind 3 row that a kind 1 row starts with, a kind 4 row
-- that a kind 2 row starts with. A contains or ends-with needle (or a window
-- of a longer one) is then a byte-wise range scan within one kind
-- (store/sql/directory_index.rs): the kind leads the key, so a name needle
-- never reads address rows, and a contains on FN or EMAIL of up to 12
-- characters matches every row of its range.
--
-- Both tables carry the principal's académie (academie_id, in the index), so
-- that a principal search scoped to an académie (RFC 3744 §9.4) filters
-- inside the index instead of reading each candidate's principal.
DROP TABLE directory_suffixes;
CREATE TABLE directory_suffixes (
    kind          INTEGER NOT NULL,
    suffix        TEXT NOT NULL,
    principal_id  BIGINT NOT NULL REFERENCES principals(id) ON DELETE CASCADE,
    academie_id   BIGINT,
    PRIMARY KEY (kind, suffix, principal_id)
) WITHOUT ROWID;
CREATE INDEX directory_suffixes_principal_idx ON directory_suffixes(principal_id);
DELETE FROM directory_terms;
ALTER TABLE directory_terms ADD COLUMN academie_id BIGINT;
DROP INDEX directory_terms_prefix_idx;
CREATE INDEX directory_terms_prefix_idx ON directory_terms(field, term, principal_id, academie_id);
INSERT INTO directory_backfill (pending)
    SELECT TRUE WHERE EXISTS (SELECT 1 FROM principals) AND NOT EXISTS (SELECT 1 FROM directory_backfill);

-- Every mail domain the directory has held: a needle without '@' that lies
-- inside a domain finds its principals through their 'h' rows.
CREATE TABLE directory_domains (
    domain        TEXT PRIMARY KEY
);

-- Principal searches (RFC 3744 §9.4) are scoped to an académie: its members
-- by username, and its rooms and resources (not in the directory index).
DROP INDEX principals_academie_idx;
CREATE INDEX principals_academie_idx ON principals(academie_id, username);
CREATE INDEX principals_nonuser_idx ON principals(academie_id) WHERE kind <> 'user';
