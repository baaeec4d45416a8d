-- CalDAV scheduling (RFC 6638). Keep logically identical to migrations/postgres.
--   objects.schedule_tag      the Schedule-Tag of a scheduling object
--                             resource (RFC 6638 §3.2.10), as the protocol
--                             layer set it with the write; NULL for any
--                             other object. COPY and MOVE carry it.
--   principal_emails.former   an address the principal held before an
--                             address change (RFC 6638 §2.4.1: replies to
--                             old invitations still identify the user by
--                             it). Never primary, listed after the current
--                             ones, shown and searched nowhere; an account
--                             that claims it takes it over as current.
ALTER TABLE objects ADD COLUMN schedule_tag TEXT;
ALTER TABLE principal_emails ADD COLUMN former BOOLEAN NOT NULL DEFAULT FALSE;
