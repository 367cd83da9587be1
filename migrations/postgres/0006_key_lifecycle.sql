-- Version 6, as ../0006_key_lifecycle.sql (credential lifecycles: rotation
-- with a grace period, last use and use count, unused credentials).
-- PostgreSQL changes the outbox's constraints in place.

ALTER TABLE api_keys ADD COLUMN previous_lookup_id TEXT;
ALTER TABLE api_keys ADD COLUMN previous_secret_hash BYTEA
    CHECK (previous_secret_hash IS NULL OR length(previous_secret_hash) = 32);
ALTER TABLE api_keys ADD COLUMN previous_masked_key TEXT;
ALTER TABLE api_keys ADD COLUMN previous_expires_at BIGINT
    CHECK ((previous_expires_at IS NULL) = (previous_lookup_id IS NULL));
ALTER TABLE api_keys ADD COLUMN previous_last_used_at BIGINT;
CREATE UNIQUE INDEX api_keys_by_previous_lookup_id ON api_keys (previous_lookup_id)
    WHERE previous_lookup_id IS NOT NULL;
CREATE INDEX api_keys_by_previous_expiry ON api_keys (previous_expires_at)
    WHERE previous_expires_at IS NOT NULL;

ALTER TABLE api_keys ADD COLUMN last_used_from TEXT;
ALTER TABLE api_keys ADD COLUMN use_count BIGINT NOT NULL DEFAULT 0 CHECK (use_count >= 0);

ALTER TABLE api_keys ADD COLUMN active_since BIGINT NOT NULL DEFAULT 0;
UPDATE api_keys SET active_since = created_at;

ALTER TABLE history ADD COLUMN secret_used TEXT
    CHECK (secret_used IS NULL OR secret_used IN ('Current', 'Previous'));

ALTER TABLE oauth_tokens ADD COLUMN secret_used TEXT NOT NULL DEFAULT 'Current'
    CHECK (secret_used IN ('Current', 'Previous'));

ALTER TABLE outbox DROP CONSTRAINT outbox_kind_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_kind_check CHECK (kind IN
    ('KeyExpired', 'ExpiryReminder', 'CertificateExpired', 'CertificateReminder',
     'GracePeriodStarted', 'GracePeriodEnding', 'UnusedWarning', 'UnusedRevoked'));
ALTER TABLE outbox DROP CONSTRAINT outbox_item_kinds;
ALTER TABLE outbox ADD CONSTRAINT outbox_item_kinds
    CHECK ((vault_item_guid IS NULL) = (kind NOT IN ('CertificateExpired', 'CertificateReminder')));

-- The previous secret authenticates too (until its grace period ends): the
-- other nodes must hear when it is set, cut short or dropped. Its last use,
-- like LastUsedAt and UseCount, notifies nobody.
DROP TRIGGER api_keys_changed ON api_keys;
CREATE TRIGGER api_keys_changed
    AFTER INSERT OR DELETE OR UPDATE OF lookup_id, secret_hash, name, contact_first_name,
        contact_last_name, operator_id, expires_at, enable_permissions, permissions, status,
        previous_lookup_id, previous_secret_hash, previous_expires_at
    ON api_keys FOR EACH STATEMENT EXECUTE FUNCTION coffre_notify_change();
