-- Version 4: OAuth 2.0 clients (issue 16).
--
-- A client is a credential like an API key: it lives in api_keys beside the
-- keys (kind 'OAuthClient'), acting as one operator with the same expiry,
-- status, history and e-mails. Its `permissions` are the scopes it may ask
-- for (always explicit: enable_permissions = 1); `client_id` is its public id.
ALTER TABLE api_keys ADD COLUMN kind TEXT NOT NULL DEFAULT 'ApiKey'
    CHECK (kind IN ('ApiKey', 'OAuthClient'));
ALTER TABLE api_keys ADD COLUMN client_id TEXT
    CHECK ((client_id IS NOT NULL) = (kind = 'OAuthClient'));
CREATE UNIQUE INDEX api_keys_by_client_id ON api_keys (client_id) WHERE client_id IS NOT NULL;

-- Access tokens: only a keyed hash of each is stored. A token dies with its
-- client (ON DELETE CASCADE) and is deleted when the client is revoked,
-- regenerated or its operator deactivated, or once it has expired.
CREATE TABLE oauth_tokens (
    id             INTEGER PRIMARY KEY,
    -- The public part of the token; the secret is never stored, only its keyed hash.
    lookup_id      TEXT NOT NULL UNIQUE,
    token_hash     BLOB NOT NULL CHECK (length(token_hash) = 32),
    credential_id  INTEGER NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    -- The permissions the token was issued with, by name.
    scopes         TEXT NOT NULL,
    issued_at      INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    -- The client's issuance number: the tokens older than its newest N go
    -- by one index range, whatever N is.
    seq            INTEGER NOT NULL
);
CREATE UNIQUE INDEX oauth_tokens_by_credential ON oauth_tokens (credential_id, seq);
CREATE INDEX oauth_tokens_by_expiry ON oauth_tokens (expires_at);

-- History names the OAuth client that acted, beside api_key_guid.
ALTER TABLE history ADD COLUMN oauth_client_guid TEXT;
CREATE INDEX history_by_oauth_client ON history (oauth_client_guid, id)
    WHERE oauth_client_guid IS NOT NULL;

-- An expiry e-mail is about a key or a client (api_key_guid holds either's GUID).
ALTER TABLE outbox ADD COLUMN credential_kind TEXT NOT NULL DEFAULT 'ApiKey'
    CHECK (credential_kind IN ('ApiKey', 'OAuthClient'));
