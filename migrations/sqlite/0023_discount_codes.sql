-- Incentives (issue 21): a pool of discount codes the shop generated in its own platform and
-- imported; each is issued once, to one backorder, and recorded with the message that carried it.

CREATE TABLE discount_codes (
    id           INTEGER PRIMARY KEY,
    -- As the shop's platform wrote it; codes are told apart without regard to ASCII case, as
    -- checkouts read them.
    code         TEXT    NOT NULL UNIQUE COLLATE NOCASE,
    -- 'discount' (percent off) or 'free_shipping'.
    kind         TEXT    NOT NULL CHECK (kind IN ('discount', 'free_shipping')),
    -- Whole percent off, 1 to 100, for 'discount'; NULL for 'free_shipping'.
    percent      INTEGER CHECK (percent BETWEEN 1 AND 100),
    imported_at  TEXT    NOT NULL,
    -- Issued: bound to one backorder (at most one code per backorder) before the message that
    -- offers it is sent.
    backorder_id INTEGER UNIQUE REFERENCES backorders (id),
    issued_at    TEXT,
    -- The first message carrying it that reached the provider, and when.
    message_id   INTEGER REFERENCES messages (id),
    told_at      TEXT,
    CHECK ((kind = 'discount') = (percent IS NOT NULL)),
    CHECK ((backorder_id IS NULL) = (issued_at IS NULL)),
    CHECK (message_id IS NULL OR backorder_id IS NOT NULL)
);
-- The free codes, in import order: the next one to issue is the first row of this index.
CREATE INDEX discount_codes_free ON discount_codes (id) WHERE backorder_id IS NULL;

-- At most one row, written the first time the pool runs dry: when the ops channel was told
-- (NULL again once an import refills the pool). No row until then, so a new database stays empty.
CREATE TABLE discount_pool (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    dry_warned_at TEXT
);
