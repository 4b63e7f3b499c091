-- Initial schema. Timestamps are RFC 3339 UTC text, dates are YYYY-MM-DD text, money is integer
-- minor units. Types and syntax are kept to what PostgreSQL also accepts.

CREATE TABLE suppliers (
    id              INTEGER PRIMARY KEY,
    code            TEXT    NOT NULL UNIQUE,
    name            TEXT    NOT NULL,
    email           TEXT,
    phone           TEXT,
    lead_time_days  INTEGER NOT NULL DEFAULT 14 CHECK (lead_time_days >= 0)
);

CREATE TABLE products (
    id               INTEGER PRIMARY KEY,
    sku              TEXT    NOT NULL,
    -- Upper-cased SKU: lookups are case-insensitive while `sku` keeps the shop's spelling.
    sku_key          TEXT    NOT NULL UNIQUE,
    name             TEXT    NOT NULL,
    category         TEXT    NOT NULL DEFAULT '',
    unit_price_minor INTEGER NOT NULL DEFAULT 0 CHECK (unit_price_minor >= 0),
    reorder_point    INTEGER NOT NULL DEFAULT 0 CHECK (reorder_point >= 0),
    safety_stock     INTEGER NOT NULL DEFAULT 0 CHECK (safety_stock >= 0),
    reorder_qty      INTEGER NOT NULL DEFAULT 0 CHECK (reorder_qty >= 0),
    lead_time_days   INTEGER CHECK (lead_time_days >= 0),
    supplier_id      INTEGER REFERENCES suppliers (id)
);
CREATE INDEX products_category ON products (category);

CREATE TABLE product_substitutes (
    product_id    INTEGER NOT NULL REFERENCES products (id),
    substitute_id INTEGER NOT NULL REFERENCES products (id),
    PRIMARY KEY (product_id, substitute_id),
    CHECK (product_id <> substitute_id)
);

-- On-hand is the sum of the ledger; this row is kept in the same transaction as each movement.
CREATE TABLE stock_positions (
    product_id INTEGER PRIMARY KEY REFERENCES products (id),
    on_hand    INTEGER NOT NULL DEFAULT 0,
    allocated  INTEGER NOT NULL DEFAULT 0,
    CHECK (allocated >= 0),
    CHECK (allocated <= on_hand)
);

CREATE TABLE stock_movements (
    id         INTEGER PRIMARY KEY,
    product_id INTEGER NOT NULL REFERENCES products (id),
    kind       TEXT    NOT NULL CHECK (kind IN ('receipt', 'sale', 'adjustment', 'return')),
    qty        INTEGER NOT NULL CHECK (qty <> 0),
    actor      TEXT    NOT NULL,
    reason     TEXT    NOT NULL DEFAULT '',
    reference  TEXT,
    created_at TEXT    NOT NULL
);
CREATE INDEX stock_movements_product ON stock_movements (product_id, kind, created_at);

CREATE TABLE customers (
    id             INTEGER PRIMARY KEY,
    external_id    TEXT    NOT NULL UNIQUE,
    name           TEXT    NOT NULL,
    email          TEXT,
    phone          TEXT,
    tier           TEXT    NOT NULL DEFAULT 'standard' CHECK (tier IN ('standard', 'silver', 'gold', 'vip')),
    channel        TEXT    NOT NULL DEFAULT 'email' CHECK (channel IN ('sms', 'email', 'none')),
    timezone       TEXT    NOT NULL DEFAULT 'UTC',
    sms_opt_out    INTEGER NOT NULL DEFAULT 0,
    email_opt_out  INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX customers_name ON customers (name);

CREATE TABLE purchase_orders (
    id          INTEGER PRIMARY KEY,
    po_number   TEXT    NOT NULL UNIQUE,
    supplier_id INTEGER REFERENCES suppliers (id),
    status      TEXT    NOT NULL DEFAULT 'open'
        CHECK (status IN ('open', 'partially_received', 'received', 'cancelled')),
    created_at  TEXT    NOT NULL
);

CREATE TABLE po_lines (
    id           INTEGER PRIMARY KEY,
    po_id        INTEGER NOT NULL REFERENCES purchase_orders (id),
    product_id   INTEGER NOT NULL REFERENCES products (id),
    qty_ordered  INTEGER NOT NULL CHECK (qty_ordered > 0),
    qty_received INTEGER NOT NULL DEFAULT 0 CHECK (qty_received >= 0),
    eta          TEXT,
    status       TEXT    NOT NULL DEFAULT 'open'
        CHECK (status IN ('open', 'partially_received', 'received', 'cancelled')),
    UNIQUE (po_id, product_id)
);
CREATE INDEX po_lines_product ON po_lines (product_id, status);

CREATE TABLE orders (
    id           INTEGER PRIMARY KEY,
    order_number TEXT    NOT NULL UNIQUE,
    customer_id  INTEGER NOT NULL REFERENCES customers (id),
    ordered_at   TEXT    NOT NULL
);
CREATE INDEX orders_customer ON orders (customer_id);

CREATE TABLE order_lines (
    id               INTEGER PRIMARY KEY,
    order_id         INTEGER NOT NULL REFERENCES orders (id),
    product_id       INTEGER NOT NULL REFERENCES products (id),
    qty              INTEGER NOT NULL CHECK (qty > 0),
    unit_price_minor INTEGER NOT NULL CHECK (unit_price_minor >= 0),
    UNIQUE (order_id, product_id)
);

-- The shortfall of an order line.
CREATE TABLE backorders (
    id              INTEGER PRIMARY KEY,
    order_line_id   INTEGER NOT NULL UNIQUE REFERENCES order_lines (id),
    product_id      INTEGER NOT NULL REFERENCES products (id),
    customer_id     INTEGER NOT NULL REFERENCES customers (id),
    qty             INTEGER NOT NULL CHECK (qty > 0),
    qty_allocated   INTEGER NOT NULL DEFAULT 0 CHECK (qty_allocated >= 0 AND qty_allocated <= qty),
    status          TEXT    NOT NULL DEFAULT 'open'
        CHECK (status IN ('open', 'allocated', 'fulfilled', 'cancelled')),
    promised_eta    TEXT,
    eta_kind        TEXT    NOT NULL DEFAULT 'unknown' CHECK (eta_kind IN ('confirmed', 'estimated', 'unknown')),
    manual_priority REAL    NOT NULL DEFAULT 0,
    created_at      TEXT    NOT NULL,
    closed_at       TEXT,
    close_reason    TEXT
);
CREATE INDEX backorders_product_status ON backorders (product_id, status);
CREATE INDEX backorders_customer_status ON backorders (customer_id, status);
CREATE INDEX backorders_status ON backorders (status);

-- Stock set aside for an order line (at order time, or when a backorder is allocated).
CREATE TABLE reservations (
    id            INTEGER PRIMARY KEY,
    order_line_id INTEGER NOT NULL REFERENCES order_lines (id),
    -- Set when the units were allocated to the line's backorder rather than at order time.
    backorder_id  INTEGER REFERENCES backorders (id),
    product_id    INTEGER NOT NULL REFERENCES products (id),
    qty           INTEGER NOT NULL CHECK (qty > 0),
    status        TEXT    NOT NULL DEFAULT 'held' CHECK (status IN ('held', 'shipped', 'released')),
    created_at    TEXT    NOT NULL
);
CREATE INDEX reservations_line ON reservations (order_line_id);
CREATE INDEX reservations_backorder ON reservations (backorder_id);

-- ETA changes of PO lines (who moved a supplier date) and of backorders (what a customer was told).
CREATE TABLE eta_history (
    id           INTEGER PRIMARY KEY,
    po_line_id   INTEGER REFERENCES po_lines (id),
    backorder_id INTEGER REFERENCES backorders (id),
    old_eta      TEXT,
    new_eta      TEXT,
    old_kind     TEXT,
    new_kind     TEXT,
    cause        TEXT    NOT NULL,
    actor        TEXT    NOT NULL,
    reason       TEXT    NOT NULL DEFAULT '',
    created_at   TEXT    NOT NULL,
    CHECK ((po_line_id IS NULL) <> (backorder_id IS NULL))
);
CREATE INDEX eta_history_backorder ON eta_history (backorder_id);
CREATE INDEX eta_history_po_line ON eta_history (po_line_id);

CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL,
    subject    TEXT NOT NULL,
    reason     TEXT NOT NULL DEFAULT '',
    outcome    TEXT NOT NULL DEFAULT 'ok',
    created_at TEXT NOT NULL
);

-- Customer updates waiting to be delivered; written in the transaction that caused them.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    backorder_id    INTEGER NOT NULL REFERENCES backorders (id),
    customer_id     INTEGER NOT NULL REFERENCES customers (id),
    kind            TEXT    NOT NULL CHECK (kind IN ('eta_changed', 'allocated', 'cancelled')),
    payload         TEXT    NOT NULL,
    status          TEXT    NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'skipped')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT    NOT NULL,
    last_error      TEXT,
    created_at      TEXT    NOT NULL,
    sent_at         TEXT
);
CREATE INDEX outbox_status ON outbox (status, next_attempt_at);
CREATE INDEX outbox_backorder ON outbox (backorder_id);

-- Responses of the ingest API by Idempotency-Key.
CREATE TABLE idempotency_keys (
    key         TEXT    PRIMARY KEY,
    method      TEXT    NOT NULL,
    path        TEXT    NOT NULL,
    status_code INTEGER NOT NULL,
    body        TEXT    NOT NULL,
    created_at  TEXT    NOT NULL
);
