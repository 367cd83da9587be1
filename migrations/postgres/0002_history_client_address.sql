-- Version 2, as ../0002_history_client_address.sql.
ALTER TABLE history ADD COLUMN client_address TEXT;
