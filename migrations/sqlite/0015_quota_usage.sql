-- What each collection holds, in bytes, kept by triggers: its objects'
-- sizes and the values of the dead properties of the collection and of its
-- objects. A principal's quota usage is the sum over its collections (a
-- handful of rows by collections_owner_idx) plus its active locks' owner
-- XML, read live; before, every quota-checked write summed every object of
-- the owner.
--
-- Deletes: an object's BEFORE DELETE trigger takes its dead properties with
-- it (they still exist then); the cascades that follow find the object (or
-- the collection) gone and change nothing (SQLite runs ON DELETE CASCADE
-- after the parent row is deleted, as PostgreSQL does).
ALTER TABLE collections ADD COLUMN used_bytes BIGINT NOT NULL DEFAULT 0;

UPDATE collections SET used_bytes =
    COALESCE((SELECT SUM(o.size) FROM objects o WHERE o.collection_id = collections.id), 0)
  + COALESCE((SELECT SUM(octet_length(p.value)) FROM dead_properties p WHERE p.collection_id = collections.id), 0)
  + COALESCE((SELECT SUM(octet_length(p.value)) FROM dead_properties p
              JOIN objects o ON o.id = p.object_id WHERE o.collection_id = collections.id), 0);

CREATE TRIGGER objects_used_bytes_insert AFTER INSERT ON objects
BEGIN
    UPDATE collections SET used_bytes = used_bytes + NEW.size WHERE id = NEW.collection_id;
END;

CREATE TRIGGER objects_used_bytes_resize AFTER UPDATE OF size ON objects
    WHEN NEW.collection_id = OLD.collection_id AND NEW.size <> OLD.size
BEGIN
    UPDATE collections SET used_bytes = used_bytes + NEW.size - OLD.size WHERE id = NEW.collection_id;
END;

CREATE TRIGGER objects_used_bytes_move AFTER UPDATE OF collection_id ON objects
    WHEN NEW.collection_id <> OLD.collection_id
BEGIN
    UPDATE collections SET used_bytes = used_bytes - OLD.size
        - COALESCE((SELECT SUM(octet_length(value)) FROM dead_properties WHERE object_id = OLD.id), 0)
        WHERE id = OLD.collection_id;
    UPDATE collections SET used_bytes = used_bytes + NEW.size
        + COALESCE((SELECT SUM(octet_length(value)) FROM dead_properties WHERE object_id = NEW.id), 0)
        WHERE id = NEW.collection_id;
END;

CREATE TRIGGER objects_used_bytes_delete BEFORE DELETE ON objects
BEGIN
    UPDATE collections SET used_bytes = used_bytes - OLD.size
        - COALESCE((SELECT SUM(octet_length(value)) FROM dead_properties WHERE object_id = OLD.id), 0)
        WHERE id = OLD.collection_id;
END;

CREATE TRIGGER dead_properties_used_bytes_insert AFTER INSERT ON dead_properties
BEGIN
    UPDATE collections SET used_bytes = used_bytes + octet_length(NEW.value)
        WHERE id = COALESCE(NEW.collection_id, (SELECT collection_id FROM objects WHERE id = NEW.object_id));
END;

CREATE TRIGGER dead_properties_used_bytes_update AFTER UPDATE ON dead_properties
BEGIN
    UPDATE collections SET used_bytes = used_bytes - octet_length(OLD.value)
        WHERE id = COALESCE(OLD.collection_id, (SELECT collection_id FROM objects WHERE id = OLD.object_id));
    UPDATE collections SET used_bytes = used_bytes + octet_length(NEW.value)
        WHERE id = COALESCE(NEW.collection_id, (SELECT collection_id FROM objects WHERE id = NEW.object_id));
END;

CREATE TRIGGER dead_properties_used_bytes_delete AFTER DELETE ON dead_properties
BEGIN
    UPDATE collections SET used_bytes = used_bytes - octet_length(OLD.value)
        WHERE id = COALESCE(OLD.collection_id, (SELECT collection_id FROM objects WHERE id = OLD.object_id));
END;
