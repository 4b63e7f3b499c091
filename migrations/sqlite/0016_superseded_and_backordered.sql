-- Customer updates: an update made pointless by a newer one is closed as 'superseded' (the
-- customer was already told the current promise), and a backorder's first message has its own
-- kind, 'backordered'. SQLite cannot change a CHECK constraint, so outbox and messages are
-- rebuilt with the same columns and indexes.

CREATE TABLE outbox_new (
    id              INTEGER PRIMARY KEY,
    backorder_id    INTEGER NOT NULL REFERENCES backorders (id),
    customer_id     INTEGER NOT NULL REFERENCES customers (id),
    kind            TEXT    NOT NULL CHECK (kind IN ('backordered', 'eta_changed', 'allocated', 'cancelled')),
    payload         TEXT    NOT NULL,
    status          TEXT    NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'skipped', 'superseded')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT    NOT NULL,
    last_error      TEXT,
    created_at      TEXT    NOT NULL,
    sent_at         TEXT,
    lease_until     TEXT
);
INSERT INTO outbox_new (id, backorder_id, customer_id, kind, payload, status, attempts,
    next_attempt_at, last_error, created_at, sent_at, lease_until)
SELECT id, backorder_id, customer_id, kind, payload, status, attempts,
    next_attempt_at, last_error, created_at, sent_at, lease_until FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_new RENAME TO outbox;
CREATE INDEX outbox_status ON outbox (status, next_attempt_at);
CREATE INDEX outbox_backorder ON outbox (backorder_id);
CREATE INDEX outbox_customer_status ON outbox (customer_id, status);

-- message_backorders refers to messages: its rows wait in a plain copy while messages is
-- replaced, so no foreign key ever points at a dropped table.
CREATE TABLE messages_new (
    id           INTEGER PRIMARY KEY,
    customer_id  INTEGER NOT NULL REFERENCES customers (id),
    kind         TEXT    NOT NULL CHECK (kind IN ('backordered', 'eta_changed', 'allocated', 'cancelled')),
    channel      TEXT    NOT NULL CHECK (channel IN ('sms', 'email')),
    -- 'twilio', 'smtp' or 'log'.
    transport    TEXT    NOT NULL,
    recipient    TEXT    NOT NULL,
    body         TEXT    NOT NULL,
    provider_sid TEXT,
    -- The provider's last word: queued, sent, delivered, undelivered, failed; 'logged' for the log.
    status       TEXT    NOT NULL,
    error_code   TEXT,
    created_at   TEXT    NOT NULL,
    updated_at   TEXT    NOT NULL
);
INSERT INTO messages_new (id, customer_id, kind, channel, transport, recipient, body,
    provider_sid, status, error_code, created_at, updated_at)
SELECT id, customer_id, kind, channel, transport, recipient, body,
    provider_sid, status, error_code, created_at, updated_at FROM messages;
CREATE TABLE message_backorders_copy AS SELECT message_id, backorder_id, eta FROM message_backorders;
DROP TABLE message_backorders;
DROP TABLE messages;
ALTER TABLE messages_new RENAME TO messages;
CREATE INDEX messages_customer ON messages (customer_id, id);
CREATE INDEX messages_provider_sid ON messages (provider_sid);

CREATE TABLE message_backorders (
    message_id   INTEGER NOT NULL REFERENCES messages (id),
    backorder_id INTEGER NOT NULL REFERENCES backorders (id),
    eta          TEXT,
    PRIMARY KEY (message_id, backorder_id)
);
INSERT INTO message_backorders (message_id, backorder_id, eta)
SELECT message_id, backorder_id, eta FROM message_backorders_copy;
DROP TABLE message_backorders_copy;
CREATE INDEX message_backorders_backorder ON message_backorders (backorder_id, message_id);
