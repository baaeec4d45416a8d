-- Visio rooms (src/store/visio.rs): dial-in and recording.
--   voice_bridge  the room's 5-digit conference number (BBB voiceBridge),
--                 when the server has a dial-in number (bbb_dial_number);
--                 unique among rooms (NULLs allowed); a closed room, or one
--                 whose event ended, gives it back to the next room that
--                 needs one
--   ends_at       end of the event's last instance (ms); NULL: unbounded
--                 or not known
--   record        the organizer asked for recording (BBB record=true)
ALTER TABLE visio_rooms ADD COLUMN voice_bridge INTEGER;
ALTER TABLE visio_rooms ADD COLUMN ends_at BIGINT;
ALTER TABLE visio_rooms ADD COLUMN record BOOLEAN NOT NULL DEFAULT FALSE;
CREATE UNIQUE INDEX visio_rooms_voice_bridge ON visio_rooms(voice_bridge);
