-- The directory index, by field (docs/decisions.md, "The directory index").
-- Keep logically identical to migrations/sqlite. The rows are rebuilt by the
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
-- directory_suffixes: the text from every position of the names (FN, display
-- name, each component of N; kind 1), and of the username and of the local
-- part of each address up to and with its '@' (kind 2), cut to 12 characters
-- (so an address's rows run on into its domain), once per principal and kind;
-- a row that is a prefix of another of the same principal and kind is left
-- out. A contains or ends-with needle (or a window of a longer one) is then a
-- byte-wise range scan within one kind (store/sql/directory_index.rs): the
-- kind leads the key, so a name needle never reads address rows.
DROP TABLE directory_suffixes;
CREATE TABLE directory_suffixes (
    kind          SMALLINT NOT NULL,
    suffix        TEXT COLLATE "C" NOT NULL,
    principal_id  BIGINT NOT NULL REFERENCES principals(id) ON DELETE CASCADE
);
CREATE INDEX directory_suffixes_suffix_idx ON directory_suffixes(kind, suffix, principal_id);
CREATE INDEX directory_suffixes_principal_idx ON directory_suffixes(principal_id);
TRUNCATE directory_terms;
INSERT INTO directory_backfill (pending)
    SELECT TRUE WHERE EXISTS (SELECT 1 FROM principals) AND NOT EXISTS (SELECT 1 FROM directory_backfill);

-- Every mail domain the directory has held: a needle without '@' that lies
-- inside a domain finds its principals through their 'h' rows.
CREATE TABLE directory_domains (
    domain        TEXT COLLATE "C" PRIMARY KEY
);

-- Principal searches (RFC 3744 §9.4) are scoped to an académie: its members
-- by username, and its rooms and resources (not in the directory index).
DROP INDEX principals_academie_idx;
CREATE INDEX principals_academie_idx ON principals(academie_id, username);
CREATE INDEX principals_nonuser_idx ON principals(academie_id) WHERE kind <> 'user';
