-- Version 6 (issue 15, parts 3 and 4): certificate expiry reminders, and
-- secret versions.

-- 1. Certificate expiry.
--
-- When a Certificate item's certificate (the earliest notAfter of the
-- certificates in its text) or a CertificateArchive item's certificate stops
-- being valid, in ms since the epoch; NULL for other items and for text that
-- holds no certificate. Written with the value, in the same transaction.
-- Archives stored before get it here from their NotAfter; Certificate items
-- get it from their text in the same step (`db::migrate`, which parses it).
ALTER TABLE vault_items ADD COLUMN not_after INTEGER;
UPDATE vault_items SET not_after = CAST(round((julianday(archive_not_after) - 2440587.5) * 86400000) AS INTEGER)
    WHERE item_type = 'CertificateArchive' AND julianday(archive_not_after) IS NOT NULL;
CREATE INDEX vault_items_by_not_after ON vault_items (not_after) WHERE not_after IS NOT NULL;

-- The outbox also holds certificate reminders, one per recipient: an
-- operator holding ChangeVaultSection on the item's section. A key's message
-- names its credential (api_key_guid, credential_kind) and stays unique on
-- (credential, kind, expiry instant, days before) as before; a certificate's
-- names the item and the recipient instead, unique on (item, kind, notAfter,
-- days before, recipient). SQLite cannot relax NOT NULL or a CHECK in place:
-- the table is rebuilt, every row and index kept.
CREATE TABLE outbox_v6 (
    id                      INTEGER PRIMARY KEY,
    guid                    TEXT NOT NULL UNIQUE,
    kind                    TEXT NOT NULL CHECK (kind IN
                            ('KeyExpired', 'ExpiryReminder', 'CertificateExpired', 'CertificateReminder')),
    api_key_guid            TEXT,
    expires_at              INTEGER NOT NULL,
    days_before             INTEGER NOT NULL DEFAULT 0,
    to_address              TEXT NOT NULL,
    subject                 TEXT NOT NULL,
    body                    TEXT NOT NULL,
    created_at              INTEGER NOT NULL,
    status                  TEXT NOT NULL DEFAULT 'Pending'
                            CHECK (status IN ('Pending', 'Sent', 'Failed')),
    attempts                INTEGER NOT NULL DEFAULT 0,
    last_error              TEXT,
    sent_at                 INTEGER,
    message_id              TEXT,
    next_attempt_at         INTEGER NOT NULL DEFAULT 0,
    -- NULL for a certificate's message (which says so); the default keeps
    -- writers of key messages as they were.
    credential_kind         TEXT DEFAULT 'ApiKey' CHECK (credential_kind IN ('ApiKey', 'OAuthClient')),
    vault_item_guid         TEXT,
    recipient_operator_guid TEXT,
    -- About a credential, or about an item and for one operator: never both.
    CHECK ((api_key_guid IS NULL) = (credential_kind IS NULL)),
    CHECK ((api_key_guid IS NULL) <> (vault_item_guid IS NULL)),
    CHECK ((vault_item_guid IS NULL) = (recipient_operator_guid IS NULL)),
    CHECK ((vault_item_guid IS NULL) = (kind IN ('KeyExpired', 'ExpiryReminder'))),
    UNIQUE (api_key_guid, kind, expires_at, days_before)
);
INSERT INTO outbox_v6 (id, guid, kind, api_key_guid, expires_at, days_before, to_address, subject,
                       body, created_at, status, attempts, last_error, sent_at, message_id,
                       next_attempt_at, credential_kind)
    SELECT id, guid, kind, api_key_guid, expires_at, days_before, to_address, subject, body,
           created_at, status, attempts, last_error, sent_at, message_id, next_attempt_at,
           credential_kind
    FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_v6 RENAME TO outbox;
CREATE INDEX outbox_by_created ON outbox (created_at);
CREATE INDEX outbox_due ON outbox (next_attempt_at, id) WHERE status = 'Pending';
CREATE UNIQUE INDEX outbox_certificate_once
    ON outbox (vault_item_guid, kind, expires_at, days_before, recipient_operator_guid)
    WHERE vault_item_guid IS NOT NULL;

-- 2. Secret versions.
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
