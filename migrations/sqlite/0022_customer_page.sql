-- The customer's own page (issue 21): links carried by customer messages, and what customers did
-- on the page (or by replying 1 to an SMS).

-- One link per message. The token itself is never stored: only its SHA-256 (hex), so a copy of
-- the database opens no customer's page.
CREATE TABLE portal_links (
    id                 INTEGER PRIMARY KEY,
    customer_id        INTEGER NOT NULL REFERENCES customers (id),
    token_hash         TEXT    NOT NULL UNIQUE,
    channel            TEXT    NOT NULL CHECK (channel IN ('sms', 'email')),
    created_at         TEXT    NOT NULL,
    expires_at         TEXT    NOT NULL,
    -- The message that carried it, once handed over.
    message_id         INTEGER REFERENCES messages (id),
    -- An SMS's "reply 1" offer: switch this backorder to this product.
    offer_backorder_id INTEGER REFERENCES backorders (id),
    offer_product_id   INTEGER REFERENCES products (id)
);
CREATE INDEX portal_links_customer ON portal_links (customer_id, channel, id);

-- A customer's choice, applied once: a replayed form (same link and nonce) finds its row.
CREATE TABLE portal_actions (
    id           INTEGER PRIMARY KEY,
    link_id      INTEGER NOT NULL REFERENCES portal_links (id),
    -- The form's one-time value ('sms-reply' for a reply 1).
    nonce        TEXT    NOT NULL,
    customer_id  INTEGER NOT NULL REFERENCES customers (id),
    backorder_id INTEGER NOT NULL REFERENCES backorders (id),
    action       TEXT    NOT NULL CHECK (action IN ('switch', 'cancel', 'keep_waiting')),
    -- What the customer was told it did.
    outcome      TEXT    NOT NULL,
    created_at   TEXT    NOT NULL,
    UNIQUE (link_id, nonce)
);
CREATE INDEX portal_actions_backorder ON portal_actions (backorder_id);

-- A backorder the customer switched to an in-stock alternative is closed as cancelled, with the
-- order line of the alternative here: /report does not count it as a lost sale.
ALTER TABLE backorders ADD COLUMN switched_to_line_id INTEGER REFERENCES order_lines (id);
