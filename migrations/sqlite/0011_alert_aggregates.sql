-- Stored per-product aggregates for the low-stock alert evaluation (issue 10), so a rule over a
-- million SKUs reads one narrow row per product instead of aggregating every open backorder and
-- ledger sale. The triggers keep them in step in the transaction of every write (single rows,
-- set-based imports, demo data); `tests/alert_aggregates.rs` compares them with a recomputation.
--
-- SQLite-only parts: the triggers' dialect (PostgreSQL: trigger functions doing the same
-- upserts), `WITHOUT ROWID` (PostgreSQL: a plain table with that primary key) and two-argument
-- `max` (PostgreSQL: `GREATEST`).

-- Open backorders of the product (status 'open'): how many, and the units still owed to them
-- (qty − qty_allocated). `units_sold`: every unit ever sold (the sum of −qty over the product's
-- 'sale' movements, a sale that adds stock counting 0); an upper bound on the sales of any
-- window, which lets the AT_RISK check skip SKUs that cannot run out whatever the window held.
ALTER TABLE stock_positions ADD COLUMN open_backorders INTEGER NOT NULL DEFAULT 0;
ALTER TABLE stock_positions ADD COLUMN backorder_units INTEGER NOT NULL DEFAULT 0;
ALTER TABLE stock_positions ADD COLUMN units_sold INTEGER NOT NULL DEFAULT 0;

-- Units sold per product and UTC day (`day` is the date part of the movement's `created_at`):
-- the trailing sales window is a short range of this table instead of the product's ledger.
CREATE TABLE sales_daily (
    product_id INTEGER NOT NULL REFERENCES products (id),
    day        TEXT    NOT NULL,
    units      INTEGER NOT NULL,
    PRIMARY KEY (product_id, day)
) WITHOUT ROWID;

-- Inbound units by product, status and ETA without reading the PO lines themselves. It has the
-- leading columns of `po_lines_product`, which it replaces.
CREATE INDEX po_lines_inbound ON po_lines (product_id, status, eta, qty_ordered, qty_received);
DROP INDEX po_lines_product;

-- Fill them for the rows already there. A product with open backorders or sales gets a position
-- row if it had none (zero on hand, as a missing row already meant).
INSERT INTO stock_positions (product_id)
SELECT product_id FROM backorders WHERE status = 'open'
UNION
SELECT product_id FROM stock_movements WHERE kind = 'sale'
ON CONFLICT (product_id) DO NOTHING;

UPDATE stock_positions SET
    open_backorders = COALESCE((SELECT COUNT(*) FROM backorders b
        WHERE b.product_id = stock_positions.product_id AND b.status = 'open'), 0),
    backorder_units = COALESCE((SELECT SUM(b.qty - b.qty_allocated) FROM backorders b
        WHERE b.product_id = stock_positions.product_id AND b.status = 'open'), 0),
    units_sold = COALESCE((SELECT SUM(max(-m.qty, 0)) FROM stock_movements m
        WHERE m.product_id = stock_positions.product_id AND m.kind = 'sale'), 0);

INSERT INTO sales_daily (product_id, day, units)
SELECT product_id, substr(created_at, 1, 10), -SUM(qty) FROM stock_movements
WHERE kind = 'sale' GROUP BY product_id, substr(created_at, 1, 10);

-- Backorders: a row counts while its status is 'open'. The upserts create the position row of a
-- product that has none.
CREATE TRIGGER backorders_totals_insert AFTER INSERT ON backorders WHEN new.status = 'open' BEGIN
    INSERT INTO stock_positions (product_id, open_backorders, backorder_units)
    VALUES (new.product_id, 1, new.qty - new.qty_allocated)
    ON CONFLICT (product_id) DO UPDATE SET open_backorders = open_backorders + 1,
        backorder_units = backorder_units + excluded.backorder_units;
END;
CREATE TRIGGER backorders_totals_update AFTER UPDATE OF product_id, qty, qty_allocated, status ON backorders
WHEN old.status = 'open' OR new.status = 'open' BEGIN
    UPDATE stock_positions SET open_backorders = open_backorders - 1,
        backorder_units = backorder_units - (old.qty - old.qty_allocated)
    WHERE product_id = old.product_id AND old.status = 'open';
    INSERT INTO stock_positions (product_id, open_backorders, backorder_units)
    SELECT new.product_id, 1, new.qty - new.qty_allocated WHERE new.status = 'open'
    ON CONFLICT (product_id) DO UPDATE SET open_backorders = open_backorders + 1,
        backorder_units = backorder_units + excluded.backorder_units;
END;
CREATE TRIGGER backorders_totals_delete AFTER DELETE ON backorders WHEN old.status = 'open' BEGIN
    UPDATE stock_positions SET open_backorders = open_backorders - 1,
        backorder_units = backorder_units - (old.qty - old.qty_allocated)
    WHERE product_id = old.product_id;
END;

-- Sales: the ledger is append-only, so inserts are all there is to follow.
CREATE TRIGGER stock_movements_sales_insert AFTER INSERT ON stock_movements WHEN new.kind = 'sale' BEGIN
    INSERT INTO sales_daily (product_id, day, units)
    VALUES (new.product_id, substr(new.created_at, 1, 10), -new.qty)
    ON CONFLICT (product_id, day) DO UPDATE SET units = units + excluded.units;
    INSERT INTO stock_positions (product_id, units_sold) VALUES (new.product_id, max(-new.qty, 0))
    ON CONFLICT (product_id) DO UPDATE SET units_sold = units_sold + excluded.units_sold;
END;
