-- Version 3, as ../0003_outbox_delivery.sql.
ALTER TABLE outbox ADD COLUMN status TEXT NOT NULL DEFAULT 'Pending'
    CHECK (status IN ('Pending', 'Sent', 'Failed'));
ALTER TABLE outbox ADD COLUMN attempts BIGINT NOT NULL DEFAULT 0;
ALTER TABLE outbox ADD COLUMN last_error TEXT;
ALTER TABLE outbox ADD COLUMN sent_at BIGINT;
ALTER TABLE outbox ADD COLUMN message_id TEXT;
ALTER TABLE outbox ADD COLUMN next_attempt_at BIGINT NOT NULL DEFAULT 0;
UPDATE outbox SET next_attempt_at = created_at;
CREATE INDEX outbox_due ON outbox (next_attempt_at, id) WHERE status = 'Pending';
