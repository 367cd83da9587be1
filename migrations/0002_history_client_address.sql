-- Version 2: the client address of the request behind each history line
-- (the forwarded client when the request came through a trusted proxy).
-- Lines written before this version, and coffre's own, have none.
ALTER TABLE history ADD COLUMN client_address TEXT;
