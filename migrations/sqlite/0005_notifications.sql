-- Customer notifications: outbox leases, what was sent, opt-outs, flagged numbers, replies.

-- A dispatcher claims rows by setting status 'sending' and a lease; a row whose lease has
-- expired (its dispatcher died) is claimed again: at-least-once delivery.
ALTER TABLE outbox ADD COLUMN lease_until TEXT;
CREATE INDEX outbox_customer_status ON outbox (customer_id, status);

-- One row per message handed to a channel (or to the log when the channel has no credentials).
CREATE TABLE messages (
    id           INTEGER PRIMARY KEY,
    customer_id  INTEGER NOT NULL REFERENCES customers (id),
    kind         TEXT    NOT NULL CHECK (kind IN ('eta_changed', 'allocated', 'cancelled')),
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
CREATE INDEX messages_customer ON messages (customer_id, id);
CREATE INDEX messages_provider_sid ON messages (provider_sid);

-- Which backorders a message was about, and the date it told (ETA changes).
CREATE TABLE message_backorders (
    message_id   INTEGER NOT NULL REFERENCES messages (id),
    backorder_id INTEGER NOT NULL REFERENCES backorders (id),
    eta          TEXT,
    PRIMARY KEY (message_id, backorder_id)
);
CREATE INDEX message_backorders_backorder ON message_backorders (backorder_id, message_id);

-- Numbers the SMS provider refused as invalid or not mobile: no more texts to them.
CREATE TABLE flagged_numbers (
    phone      TEXT PRIMARY KEY,
    error_code TEXT NOT NULL,
    flagged_at TEXT NOT NULL
);

-- Texts customers sent us: keywords and inquiries.
CREATE TABLE inbound_messages (
    id           INTEGER PRIMARY KEY,
    from_phone   TEXT    NOT NULL,
    customer_id  INTEGER REFERENCES customers (id),
    body         TEXT    NOT NULL,
    kind         TEXT    NOT NULL CHECK (kind IN ('opt_out', 'opt_in', 'help', 'inquiry')),
    provider_sid TEXT,
    reply        TEXT    NOT NULL DEFAULT '',
    created_at   TEXT    NOT NULL
);
CREATE INDEX inbound_messages_customer ON inbound_messages (customer_id, id);

-- The backorders an inquiry was answered about.
CREATE TABLE inbound_backorders (
    inbound_id   INTEGER NOT NULL REFERENCES inbound_messages (id),
    backorder_id INTEGER NOT NULL REFERENCES backorders (id),
    PRIMARY KEY (inbound_id, backorder_id)
);
