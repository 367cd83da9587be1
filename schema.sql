-- coffre schema, version 1 (PRAGMA user_version). Add-only: a later version
-- appends a migration in src/db/migrate.rs instead of editing what shipped.
--
-- Conventions: times are Unix milliseconds UTC; GUIDs are upper-case text;
-- every secret value is a sealed blob (src/crypto/seal.rs) whose associated
-- data names its table, row GUID and field.

CREATE TABLE operators (
    id          INTEGER PRIMARY KEY,
    guid        TEXT NOT NULL UNIQUE,
    full_name   TEXT NOT NULL,
    email       TEXT NOT NULL UNIQUE COLLATE NOCASE,
    login       TEXT NOT NULL UNIQUE COLLATE NOCASE,
    is_active   INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1)),
    created_at  INTEGER NOT NULL
);

CREATE TABLE operator_groups (
    id                INTEGER PRIMARY KEY,
    guid              TEXT NOT NULL UNIQUE,
    description       TEXT NOT NULL UNIQUE COLLATE NOCASE,
    is_administrators INTEGER NOT NULL DEFAULT 0 CHECK (is_administrators IN (0, 1)),
    created_at        INTEGER NOT NULL
);
-- There is exactly one Administrators group.
CREATE UNIQUE INDEX operator_groups_one_administrators
    ON operator_groups (is_administrators) WHERE is_administrators = 1;

CREATE TABLE group_members (
    group_id    INTEGER NOT NULL REFERENCES operator_groups (id) ON DELETE CASCADE,
    operator_id INTEGER NOT NULL REFERENCES operators (id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, operator_id)
) WITHOUT ROWID;
CREATE INDEX group_members_by_operator ON group_members (operator_id, group_id);

CREATE TABLE api_keys (
    id                  INTEGER PRIMARY KEY,
    guid                TEXT NOT NULL UNIQUE,
    -- The public part of the key; the secret is never stored, only its keyed hash.
    lookup_id           TEXT NOT NULL UNIQUE,
    secret_hash         BLOB NOT NULL CHECK (length(secret_hash) = 32),
    masked_key          TEXT NOT NULL,
    name                TEXT NOT NULL,
    description         TEXT NOT NULL DEFAULT '',
    contact_first_name  TEXT NOT NULL DEFAULT '',
    contact_last_name   TEXT NOT NULL DEFAULT '',
    -- The key acts as this operator; its login and e-mail are the key's contact login and e-mail.
    operator_id         INTEGER NOT NULL REFERENCES operators (id),
    expiration_date     TEXT,
    expires_at          INTEGER,
    enable_permissions  INTEGER NOT NULL DEFAULT 0 CHECK (enable_permissions IN (0, 1)),
    permissions         TEXT NOT NULL DEFAULT '',
    status              TEXT NOT NULL DEFAULT 'Active'
                        CHECK (status IN ('Active', 'Expired', 'Revoked')),
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL,
    last_used_at        INTEGER,
    CHECK ((expiration_date IS NULL) = (expires_at IS NULL))
);
CREATE INDEX api_keys_by_operator ON api_keys (operator_id);
CREATE INDEX api_keys_by_expiry ON api_keys (expires_at) WHERE expires_at IS NOT NULL;

CREATE TABLE vault_sections (
    id          INTEGER PRIMARY KEY,
    guid        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE TABLE section_authorizations (
    id          INTEGER PRIMARY KEY,
    guid        TEXT NOT NULL UNIQUE,
    section_id  INTEGER NOT NULL REFERENCES vault_sections (id) ON DELETE CASCADE,
    kind        TEXT NOT NULL CHECK (kind IN ('ViewVaultSection', 'ChangeVaultSection')),
    operator_id INTEGER REFERENCES operators (id) ON DELETE CASCADE,
    group_id    INTEGER REFERENCES operator_groups (id) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL,
    CHECK ((operator_id IS NULL) <> (group_id IS NULL))
);
-- An identical authorization is never stored twice.
CREATE UNIQUE INDEX section_authorizations_unique_operator
    ON section_authorizations (section_id, kind, operator_id) WHERE operator_id IS NOT NULL;
CREATE UNIQUE INDEX section_authorizations_unique_group
    ON section_authorizations (section_id, kind, group_id) WHERE group_id IS NOT NULL;
CREATE INDEX section_authorizations_by_operator
    ON section_authorizations (operator_id, kind, section_id);
CREATE INDEX section_authorizations_by_group
    ON section_authorizations (group_id, kind, section_id);

CREATE TABLE vault_items (
    id                  INTEGER PRIMARY KEY,
    guid                TEXT NOT NULL UNIQUE,
    -- No cascade: a section that holds items cannot be deleted.
    section_id          INTEGER NOT NULL REFERENCES vault_sections (id),
    item_type           TEXT NOT NULL CHECK (item_type IN
                        ('CredentialSet', 'Certificate', 'CertificateArchive', 'File', 'OneTimePassword')),
    name                TEXT NOT NULL,
    notes               TEXT NOT NULL DEFAULT '',
    -- Certificate text (public, kept as given).
    value               TEXT NOT NULL DEFAULT '',
    user_name           TEXT NOT NULL DEFAULT '',
    archive_issuer      TEXT NOT NULL DEFAULT '',
    archive_not_before  TEXT NOT NULL DEFAULT '',
    archive_not_after   TEXT NOT NULL DEFAULT '',
    file_name           TEXT NOT NULL DEFAULT '',
    file_size           INTEGER NOT NULL DEFAULT 0,
    otp_digits          INTEGER,
    otp_period          INTEGER,
    otp_hash_algorithm  TEXT,
    otp_encoding        TEXT,
    -- "-" or "2 monitors, 1 integration", kept in step with vault_item_usages.
    used_by             TEXT NOT NULL DEFAULT '-',
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL
);
CREATE INDEX vault_items_by_section ON vault_items (section_id, id);

-- Sealed secret values live apart from the item rows, so listing items never
-- reads (or pages through) a 2 MiB file.
CREATE TABLE vault_item_secrets (
    item_id INTEGER NOT NULL REFERENCES vault_items (id) ON DELETE CASCADE,
    field   TEXT NOT NULL CHECK (field IN
            ('password', 'archive_data', 'archive_password', 'file_data', 'otp_secret')),
    sealed  BLOB NOT NULL,
    PRIMARY KEY (item_id, field)
);

CREATE TABLE vault_item_usages (
    id            INTEGER PRIMARY KEY,
    guid          TEXT NOT NULL UNIQUE,
    -- No cascade: an item in use cannot be deleted.
    item_id       INTEGER NOT NULL REFERENCES vault_items (id),
    consumer_type TEXT NOT NULL,
    consumer_name TEXT NOT NULL,
    created_at    INTEGER NOT NULL
);
CREATE INDEX vault_item_usages_by_item ON vault_item_usages (item_id, consumer_type);

-- Who changed what and when. Contact names are copied so they outlive the key.
-- Never holds a secret value: details name fields, not their contents.
CREATE TABLE history (
    id                  INTEGER PRIMARY KEY,
    at                  INTEGER NOT NULL,
    object_type         TEXT NOT NULL,
    object_guid         TEXT NOT NULL,
    -- The section of an item or authorization, so a section's history shows them.
    related_guid        TEXT,
    action              TEXT NOT NULL,
    api_key_guid        TEXT,
    contact_first_name  TEXT NOT NULL DEFAULT '',
    contact_last_name   TEXT NOT NULL DEFAULT '',
    details             TEXT NOT NULL DEFAULT ''
);
CREATE INDEX history_by_object ON history (object_guid, id);
CREATE INDEX history_by_related ON history (related_guid, id) WHERE related_guid IS NOT NULL;
CREATE INDEX history_by_api_key ON history (api_key_guid, id);
CREATE INDEX history_by_type ON history (object_type, id);
CREATE INDEX history_by_time ON history (at);

-- E-mails waiting to be sent. The UNIQUE constraint makes every notice exactly
-- once, whoever runs the sweep and however often.
CREATE TABLE outbox (
    id            INTEGER PRIMARY KEY,
    guid          TEXT NOT NULL UNIQUE,
    kind          TEXT NOT NULL CHECK (kind IN ('KeyExpired', 'ExpiryReminder')),
    api_key_guid  TEXT NOT NULL,
    expires_at    INTEGER NOT NULL,
    days_before   INTEGER NOT NULL DEFAULT 0,
    to_address    TEXT NOT NULL,
    subject       TEXT NOT NULL,
    body          TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    UNIQUE (api_key_guid, kind, expires_at, days_before)
);
CREATE INDEX outbox_by_created ON outbox (created_at);
