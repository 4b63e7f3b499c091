-- Search and constant-time lists (issue 11).
--
-- SQLite-only parts, marked below: FTS5 (PostgreSQL: pg_trgm GIN indexes on the same columns),
-- triggers written in SQLite's dialect (PostgreSQL: trigger functions), `unixepoch()`
-- (PostgreSQL: `EXTRACT(EPOCH FROM …)`).

-- Product search: a trigram index over SKU and name, so any substring of three or more
-- characters is an index lookup. External content: the text lives only in `products`; the
-- triggers keep the index in step with every write (upsert, set-based import, demo data).
-- SQLite-only (FTS5).
CREATE VIRTUAL TABLE products_fts USING fts5(
    sku, name, content = 'products', content_rowid = 'id', tokenize = 'trigram', detail = 'none', columnsize = 0
);
-- Trigram document counts, to start "did you mean" from the rarest trigrams.
CREATE VIRTUAL TABLE products_fts_vocab USING fts5vocab(products_fts, row);
INSERT INTO products_fts (products_fts) VALUES ('rebuild');

CREATE TRIGGER products_fts_insert AFTER INSERT ON products BEGIN
    INSERT INTO products_fts (rowid, sku, name) VALUES (new.id, new.sku, new.name);
END;
CREATE TRIGGER products_fts_delete AFTER DELETE ON products BEGIN
    INSERT INTO products_fts (products_fts, rowid, sku, name) VALUES ('delete', old.id, old.sku, old.name);
END;
CREATE TRIGGER products_fts_update AFTER UPDATE OF sku, name ON products BEGIN
    INSERT INTO products_fts (products_fts, rowid, sku, name) VALUES ('delete', old.id, old.sku, old.name);
    INSERT INTO products_fts (rowid, sku, name) VALUES (new.id, new.sku, new.name);
END;

-- Customers by id or name, the same way (autocomplete). SQLite-only (FTS5).
CREATE VIRTUAL TABLE customers_fts USING fts5(
    external_id, name, content = 'customers', content_rowid = 'id', tokenize = 'trigram', detail = 'none', columnsize = 0
);
INSERT INTO customers_fts (customers_fts) VALUES ('rebuild');

CREATE TRIGGER customers_fts_insert AFTER INSERT ON customers BEGIN
    INSERT INTO customers_fts (rowid, external_id, name) VALUES (new.id, new.external_id, new.name);
END;
CREATE TRIGGER customers_fts_delete AFTER DELETE ON customers BEGIN
    INSERT INTO customers_fts (customers_fts, rowid, external_id, name)
        VALUES ('delete', old.id, old.external_id, old.name);
END;
CREATE TRIGGER customers_fts_update AFTER UPDATE OF external_id, name ON customers BEGIN
    INSERT INTO customers_fts (customers_fts, rowid, external_id, name)
        VALUES ('delete', old.id, old.external_id, old.name);
    INSERT INTO customers_fts (rowid, external_id, name) VALUES (new.id, new.external_id, new.name);
END;

-- Case-insensitive prefix lookups of ids as index range scans.
CREATE INDEX purchase_orders_po_key ON purchase_orders (UPPER(po_number));
CREATE INDEX customers_external_key ON customers (UPPER(external_id));

-- The service order as an index. A backorder's score is tier + value + manual + per_day × age;
-- the age term grows at the same rate for all, so `sort_key` = tier + value + manual −
-- per_day × (order time in days since 1970) orders exactly as the score does at any moment
-- (`domain::priority::PriorityWeights::sort_key`, computed here with the same operations in the
-- same order, so both give the same double). Ties: earlier order (`ordered_epoch`), then id.
-- The weights the keys were computed with; start-up writes the configured ones here when they
-- differ, and the trigger below recomputes every key.
CREATE TABLE priority_weights (
    id                INTEGER PRIMARY KEY CHECK (id = 1),
    standard          REAL NOT NULL,
    silver            REAL NOT NULL,
    gold              REAL NOT NULL,
    vip               REAL NOT NULL,
    per_currency_unit REAL NOT NULL,
    per_day           REAL NOT NULL
);
INSERT INTO priority_weights VALUES (1, 0.0, 30.0, 60.0, 100.0, 0.1, 2.0);

ALTER TABLE backorders ADD COLUMN ordered_epoch INTEGER NOT NULL DEFAULT 0;
ALTER TABLE backorders ADD COLUMN sort_key REAL NOT NULL DEFAULT 0;

-- SQLite-only: unixepoch().
CREATE VIEW backorder_sort_keys AS
SELECT b.id, unixepoch(o.ordered_at) AS ordered_epoch,
    (((CASE c.tier WHEN 'silver' THEN w.silver WHEN 'gold' THEN w.gold WHEN 'vip' THEN w.vip
        ELSE w.standard END)
      + w.per_currency_unit * (b.qty * ol.unit_price_minor) / 100.0)
      + b.manual_priority)
      - w.per_day * (unixepoch(o.ordered_at) / 86400.0) AS sort_key
FROM backorders b
JOIN customers c ON c.id = b.customer_id
JOIN order_lines ol ON ol.id = b.order_line_id
JOIN orders o ON o.id = ol.order_id
CROSS JOIN priority_weights w;

UPDATE backorders SET (ordered_epoch, sort_key) =
    (SELECT k.ordered_epoch, k.sort_key FROM backorder_sort_keys k WHERE k.id = backorders.id);

CREATE TRIGGER backorders_key_insert AFTER INSERT ON backorders BEGIN
    UPDATE backorders SET (ordered_epoch, sort_key) =
        (SELECT k.ordered_epoch, k.sort_key FROM backorder_sort_keys k WHERE k.id = new.id)
    WHERE id = new.id;
END;
CREATE TRIGGER backorders_key_update AFTER UPDATE OF manual_priority, qty ON backorders BEGIN
    UPDATE backorders SET sort_key =
        (SELECT k.sort_key FROM backorder_sort_keys k WHERE k.id = new.id)
    WHERE id = new.id;
END;
CREATE TRIGGER customers_key_tier AFTER UPDATE OF tier ON customers
WHEN old.tier IS NOT new.tier BEGIN
    UPDATE backorders SET sort_key =
        (SELECT k.sort_key FROM backorder_sort_keys k WHERE k.id = backorders.id)
    WHERE customer_id = new.id;
END;
CREATE TRIGGER priority_weights_keys AFTER UPDATE ON priority_weights BEGIN
    UPDATE backorders SET sort_key =
        (SELECT k.sort_key FROM backorder_sort_keys k WHERE k.id = backorders.id);
END;

-- Lists in service order by status, by product (a SKU's queue), by customer, and over all
-- statuses; each replaces the narrower index it starts with.
DROP INDEX backorders_status;
DROP INDEX backorders_product_status;
DROP INDEX backorders_customer_status;
CREATE INDEX backorders_queue ON backorders (status, sort_key DESC, ordered_epoch, id);
CREATE INDEX backorders_product_queue ON backorders (product_id, status, sort_key DESC, ordered_epoch, id);
CREATE INDEX backorders_customer_queue ON backorders (customer_id, status, sort_key DESC, ordered_epoch, id);
CREATE INDEX backorders_all_queue ON backorders (sort_key DESC, ordered_epoch, id);
