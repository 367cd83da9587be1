-- Version 6: credential lifecycles (issue 15, parts 1 and 2): rotation with a
-- grace period, last use and use count, unused credentials.

-- The secret replaced by the last Regenerate with a grace period: its lookup
-- id and keyed hash (never the secret), its masked form, the instant it stops
-- working and when it was last used as the previous secret. All NULL when
-- there is none. One previous secret at most: the next Regenerate replaces it.
ALTER TABLE api_keys ADD COLUMN previous_lookup_id TEXT;
ALTER TABLE api_keys ADD COLUMN previous_secret_hash BLOB
    CHECK (previous_secret_hash IS NULL OR length(previous_secret_hash) = 32);
ALTER TABLE api_keys ADD COLUMN previous_masked_key TEXT;
ALTER TABLE api_keys ADD COLUMN previous_expires_at INTEGER
    CHECK ((previous_expires_at IS NULL) = (previous_lookup_id IS NULL));
ALTER TABLE api_keys ADD COLUMN previous_last_used_at INTEGER;
CREATE UNIQUE INDEX api_keys_by_previous_lookup_id ON api_keys (previous_lookup_id)
    WHERE previous_lookup_id IS NOT NULL;
-- The grace reminders' question: whose grace period ends next.
CREATE INDEX api_keys_by_previous_expiry ON api_keys (previous_expires_at)
    WHERE previous_expires_at IS NOT NULL;

-- The client address of the last authenticated request (behind trusted
-- proxies, the forwarded client) and how many authenticated requests it has
-- made, flushed from memory with last_used_at.
ALTER TABLE api_keys ADD COLUMN last_used_from TEXT;
ALTER TABLE api_keys ADD COLUMN use_count INTEGER NOT NULL DEFAULT 0 CHECK (use_count >= 0);

-- When the credential last became usable (created, regenerated, brought back
-- from Expired): the unused-credential sweep counts idleness from the later of
-- this and last_used_at.
ALTER TABLE api_keys ADD COLUMN active_since INTEGER NOT NULL DEFAULT 0;
UPDATE api_keys SET active_since = created_at;

-- Which secret of the credential a history line was written with: Current
-- or Previous (during a grace period); NULL for lines coffre writes itself.
ALTER TABLE history ADD COLUMN secret_used TEXT
    CHECK (secret_used IS NULL OR secret_used IN ('Current', 'Previous'));

-- Which client secret obtained an access token. Tokens die when their client
-- is regenerated, so every token older than this version came from the
-- current one.
ALTER TABLE oauth_tokens ADD COLUMN secret_used TEXT NOT NULL DEFAULT 'Current'
    CHECK (secret_used IN ('Current', 'Previous'));

-- New kinds of e-mail about a credential: a grace period started, a grace
-- period ends within the hour while the previous secret is still in use, an
-- unused credential will be revoked, an unused credential was revoked. SQLite
-- cannot change a CHECK constraint in place, so the table (as version 5 left
-- it) is rebuilt with every column, constraint and index it had (nothing
-- references it).
CREATE TABLE outbox_v6 (
    id                      INTEGER PRIMARY KEY,
    guid                    TEXT NOT NULL UNIQUE,
    kind                    TEXT NOT NULL CHECK (kind IN
                            ('KeyExpired', 'ExpiryReminder', 'CertificateExpired', 'CertificateReminder',
                             'GracePeriodStarted', 'GracePeriodEnding', 'UnusedWarning', 'UnusedRevoked')),
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
    credential_kind         TEXT DEFAULT 'ApiKey' CHECK (credential_kind IN ('ApiKey', 'OAuthClient')),
    vault_item_guid         TEXT,
    recipient_operator_guid TEXT,
    CHECK ((api_key_guid IS NULL) = (credential_kind IS NULL)),
    CHECK ((api_key_guid IS NULL) <> (vault_item_guid IS NULL)),
    CHECK ((vault_item_guid IS NULL) = (recipient_operator_guid IS NULL)),
    CHECK ((vault_item_guid IS NULL) = (kind NOT IN ('CertificateExpired', 'CertificateReminder'))),
    UNIQUE (api_key_guid, kind, expires_at, days_before)
);
INSERT INTO outbox_v6 (id, guid, kind, api_key_guid, expires_at, days_before, to_address, subject,
                       body, created_at, status, attempts, last_error, sent_at, message_id,
                       next_attempt_at, credential_kind, vault_item_guid, recipient_operator_guid)
    SELECT id, guid, kind, api_key_guid, expires_at, days_before, to_address, subject, body,
           created_at, status, attempts, last_error, sent_at, message_id, next_attempt_at,
           credential_kind, vault_item_guid, recipient_operator_guid
    FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_v6 RENAME TO outbox;
CREATE INDEX outbox_by_created ON outbox (created_at);
CREATE INDEX outbox_due ON outbox (next_attempt_at, id) WHERE status = 'Pending';
CREATE UNIQUE INDEX outbox_certificate_once
    ON outbox (vault_item_guid, kind, expires_at, days_before, recipient_operator_guid)
    WHERE vault_item_guid IS NOT NULL;
