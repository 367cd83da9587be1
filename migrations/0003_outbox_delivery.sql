-- Delivery of the outbox over SMTP (`smtp_url`): each message's state.
-- Messages written before this version are Pending, due at once: they go out
-- when a server is configured, like every message written from now on.
ALTER TABLE outbox ADD COLUMN status TEXT NOT NULL DEFAULT 'Pending'
    CHECK (status IN ('Pending', 'Sent', 'Failed'));
-- Attempts made so far, whatever their outcome.
ALTER TABLE outbox ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
-- Why the last attempt failed, in words (never a credential); NULL once sent.
ALTER TABLE outbox ADD COLUMN last_error TEXT;
-- When the server accepted it (ms since the epoch).
ALTER TABLE outbox ADD COLUMN sent_at INTEGER;
-- The Message-ID it was (last) sent with: <guid@domain of mail_from>.
ALTER TABLE outbox ADD COLUMN message_id TEXT;
-- When a Pending message is next tried (ms since the epoch).
ALTER TABLE outbox ADD COLUMN next_attempt_at INTEGER NOT NULL DEFAULT 0;
UPDATE outbox SET next_attempt_at = created_at;
-- The sender's two questions: what is due now, and when is the next one due.
CREATE INDEX outbox_due ON outbox (next_attempt_at, id) WHERE status = 'Pending';
