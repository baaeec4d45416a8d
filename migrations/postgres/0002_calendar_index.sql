-- CalDAV (RFC 4791): an index of each calendar object, extracted at write
-- time, so that queries pick candidates without parsing every object.
--   uid          the object's UID (unique per calendar, RFC 4791 §5.3.2.1)
--   component    VEVENT, VTODO, VJOURNAL, VFREEBUSY, ... (or VCARD)
--   time_start   ms, earliest instant any instance can overlap (NULL: -inf)
--   time_end     ms, latest instant any instance can overlap (NULL: +inf,
--                e.g. an infinite recurrence)
--   time_simple  one non-recurring VEVENT in fixed time: [time_start,
--                time_end) is exactly its instance
--   instances    for a bounded recurring VEVENT in fixed time: every
--                instance's [start, end) in ms, as little-endian i64 pairs,
--                so that time-range queries decide it without parsing
-- A collection's supported-calendar-component-set (RFC 4791 §5.2.3) is a
-- comma-separated list in collections.components (NULL: not a calendar).
ALTER TABLE objects ADD COLUMN uid TEXT COLLATE "C";
ALTER TABLE objects ADD COLUMN component TEXT COLLATE "C";
ALTER TABLE objects ADD COLUMN time_start BIGINT;
ALTER TABLE objects ADD COLUMN time_end BIGINT;
ALTER TABLE objects ADD COLUMN time_simple BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE objects ADD COLUMN instances BYTEA;
CREATE INDEX objects_uid_idx ON objects(collection_id, uid);
CREATE INDEX objects_time_idx ON objects(collection_id, component, time_start);

ALTER TABLE collections ADD COLUMN components TEXT COLLATE "C";
