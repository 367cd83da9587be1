-- Version 6 (issue 15, part 4): secret versions.
--
-- One row per set of values an item's sealed fields have held, numbered from
-- 1 in the order they were written, with when and by whom they were written
-- (as HashiCorp Vault's KV v2 dates a version). The current values' row has
-- `sealed` NULL (they live in vault_item_secrets); each earlier one holds all
-- of the item's sensitive values as they were, sealed under associated data
-- naming the item's GUID and the version number, so a version cannot be
-- swapped for another item's or another number's. Deleted with the item.
CREATE TABLE vault_item_versions (
    id                  INTEGER PRIMARY KEY,
    item_id             INTEGER NOT NULL REFERENCES vault_items (id) ON DELETE CASCADE,
    version             INTEGER NOT NULL CHECK (version >= 1),
    created_at          INTEGER NOT NULL,
    api_key_guid        TEXT,
    oauth_client_guid   TEXT,
    contact_first_name  TEXT NOT NULL DEFAULT '',
    contact_last_name   TEXT NOT NULL DEFAULT '',
    sealed              BLOB,
    UNIQUE (item_id, version)
);
-- At most one current row per item.
CREATE UNIQUE INDEX vault_item_versions_current ON vault_item_versions (item_id)
    WHERE sealed IS NULL;

-- Items stored before: their values are version 1, written at their last
-- update by someone no longer known.
INSERT INTO vault_item_versions (item_id, version, created_at)
    SELECT id, 1, updated_at FROM vault_items;
