-- What each collection holds, in bytes, kept by triggers: its objects'
-- sizes and the values of the dead properties of the collection and of its
-- objects. A principal's quota usage is the sum over its collections (a
-- handful of rows by collections_owner_idx) plus its active locks' owner
-- XML, read live; before, every quota-checked write summed every object of
-- the owner, under the collection locks of the write.
--
-- Deletes: an object's BEFORE DELETE trigger takes its dead properties with
-- it (they still exist then); the cascades that follow find the object (or
-- the collection) gone and change nothing, in PostgreSQL as in SQLite (both
-- run ON DELETE CASCADE after the parent row is deleted).
ALTER TABLE collections ADD COLUMN used_bytes BIGINT NOT NULL DEFAULT 0;

UPDATE collections c SET used_bytes =
    COALESCE((SELECT SUM(o.size) FROM objects o WHERE o.collection_id = c.id), 0)
  + COALESCE((SELECT SUM(octet_length(p.value)) FROM dead_properties p WHERE p.collection_id = c.id), 0)
  + COALESCE((SELECT SUM(octet_length(p.value)) FROM dead_properties p
              JOIN objects o ON o.id = p.object_id WHERE o.collection_id = c.id), 0);

CREATE FUNCTION object_dead_bytes(object BIGINT) RETURNS BIGINT LANGUAGE sql STABLE AS $$
    SELECT COALESCE(SUM(octet_length(value)), 0) FROM dead_properties WHERE object_id = object
$$;

CREATE FUNCTION objects_used_bytes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE collections SET used_bytes = used_bytes + NEW.size WHERE id = NEW.collection_id;
        RETURN NULL;
    ELSIF TG_OP = 'DELETE' THEN
        UPDATE collections SET used_bytes = used_bytes - OLD.size - object_dead_bytes(OLD.id)
            WHERE id = OLD.collection_id;
        RETURN OLD;
    ELSIF NEW.collection_id = OLD.collection_id THEN
        IF NEW.size <> OLD.size THEN
            UPDATE collections SET used_bytes = used_bytes + NEW.size - OLD.size WHERE id = NEW.collection_id;
        END IF;
        RETURN NULL;
    ELSE
        UPDATE collections SET used_bytes = used_bytes - OLD.size - object_dead_bytes(OLD.id)
            WHERE id = OLD.collection_id;
        UPDATE collections SET used_bytes = used_bytes + NEW.size + object_dead_bytes(NEW.id)
            WHERE id = NEW.collection_id;
        RETURN NULL;
    END IF;
END $$;

CREATE TRIGGER objects_used_bytes_insert AFTER INSERT ON objects
    FOR EACH ROW EXECUTE FUNCTION objects_used_bytes();
CREATE TRIGGER objects_used_bytes_update AFTER UPDATE OF size, collection_id ON objects
    FOR EACH ROW EXECUTE FUNCTION objects_used_bytes();
CREATE TRIGGER objects_used_bytes_delete BEFORE DELETE ON objects
    FOR EACH ROW EXECUTE FUNCTION objects_used_bytes();

CREATE FUNCTION dead_properties_used_bytes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE collections SET used_bytes = used_bytes - octet_length(OLD.value)
            WHERE id = COALESCE(OLD.collection_id, (SELECT collection_id FROM objects WHERE id = OLD.object_id));
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        UPDATE collections SET used_bytes = used_bytes + octet_length(NEW.value)
            WHERE id = COALESCE(NEW.collection_id, (SELECT collection_id FROM objects WHERE id = NEW.object_id));
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER dead_properties_used_bytes AFTER INSERT OR UPDATE OR DELETE ON dead_properties
    FOR EACH ROW EXECUTE FUNCTION dead_properties_used_bytes();
