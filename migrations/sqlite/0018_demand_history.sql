-- Demand history for the forecasts (issue 20): imported past sales, and one table of units
-- demanded per product and UTC day that the forecasts read.
--
-- Why a table kept by triggers rather than a view: a forecast of every SKU reads the whole
-- history (1M SKUs × 90 days), and `demand_daily` gives it one narrow WITHOUT ROWID row per
-- product and day in primary-key order, a single range read per SKU or one ordered scan for all.
-- A view would group three sources (order lines joined to their orders, the ledger, the imported
-- sales) on every read. The triggers add one upsert to the writes they follow, as migration
-- 0011's `sales_daily` does; `sales_daily` itself stays as it is (the alerts' ledger sales).
--
-- What counts as demand on a day (`day` = the UTC date):
-- 1. Each order line the bot holds, its whole quantity on its order's day: what was reserved from
--    stock and what was backordered alike, so a stock-out does not look like zero demand.
--    Cancelled backorders stay counted: the customer asked for the units that day.
-- 2. Each ledger sale (`stock_movements` kind 'sale') that does not ship an order line the bot
--    holds: a sale whose `reference` is the number of an order with a line for that product is
--    the shipment of units already counted in 1 (a fulfilled backorder), and does not count again.
-- 3. Each imported sale (`sales_history`) whose order number does not name an order the bot holds
--    with a line for that product. When both exist, the bot's line counts and the imported row is
--    kept but not counted, whichever arrived first (the bot's own record wins, as in 2). Ledger
--    sales that count on their own (2) carry no order line, so they never meet an imported row.
--
-- SQLite-only parts: the triggers' dialect and `WITHOUT ROWID` (as in 0011).

CREATE TABLE sales_history (
    id           INTEGER PRIMARY KEY,
    product_id   INTEGER NOT NULL REFERENCES products (id),
    -- The shop's order number, or NULL for a row without one.
    order_number TEXT,
    -- The shop's customer id as given (not checked against `customers`: past customers need not
    -- be loaded), or NULL.
    customer     TEXT,
    qty          INTEGER NOT NULL CHECK (qty > 0),
    -- As given, normalised: `YYYY-MM-DD` or an RFC 3339 UTC time.
    sold_at      TEXT    NOT NULL,
    day          TEXT    NOT NULL,
    -- Rows without an order are told apart by their whole content; `nth` numbers identical rows
    -- within one file (1, 2, …) so two equal sales in one file stay two, and importing the file
    -- again matches them one to one.
    nth          INTEGER NOT NULL DEFAULT 1 CHECK (nth >= 1),
    imported_at  TEXT    NOT NULL
);
-- The import's keys: (order, SKU), or the whole row when there is no order.
CREATE UNIQUE INDEX sales_history_order ON sales_history (order_number, product_id)
    WHERE order_number IS NOT NULL;
CREATE UNIQUE INDEX sales_history_row ON sales_history (product_id, sold_at, qty, COALESCE(customer, ''), nth)
    WHERE order_number IS NULL;
-- A product's imported sales, whichever key they have (the synthetic history looks a product up
-- here once per product; without it each lookup would read the whole table).
CREATE INDEX sales_history_product ON sales_history (product_id);

CREATE TABLE demand_daily (
    product_id INTEGER NOT NULL REFERENCES products (id),
    day        TEXT    NOT NULL,
    units      INTEGER NOT NULL,
    PRIMARY KEY (product_id, day)
) WITHOUT ROWID;

-- Fill it from what is already there (no imported sales yet).
INSERT INTO demand_daily (product_id, day, units)
SELECT product_id, day, SUM(units) FROM (
    SELECT l.product_id, substr(o.ordered_at, 1, 10) AS day, l.qty AS units
    FROM order_lines l JOIN orders o ON o.id = l.order_id
    UNION ALL
    SELECT m.product_id, substr(m.created_at, 1, 10), -m.qty FROM stock_movements m
    WHERE m.kind = 'sale' AND NOT EXISTS (
        SELECT 1 FROM orders o JOIN order_lines l ON l.order_id = o.id
        WHERE o.order_number = m.reference AND l.product_id = m.product_id)
) GROUP BY product_id, day;

-- 1. Order lines: inserted once, never updated or deleted. A line that matches an imported sale
-- takes over from it.
CREATE TRIGGER order_lines_demand_insert AFTER INSERT ON order_lines BEGIN
    INSERT INTO demand_daily (product_id, day, units)
    SELECT new.product_id, substr(o.ordered_at, 1, 10), new.qty FROM orders o WHERE o.id = new.order_id
    ON CONFLICT (product_id, day) DO UPDATE SET units = units + excluded.units;
    UPDATE demand_daily SET units = units - h.qty
    FROM sales_history h JOIN orders o ON o.id = new.order_id
    WHERE h.order_number = o.order_number AND h.product_id = new.product_id
      AND demand_daily.product_id = h.product_id AND demand_daily.day = h.day;
END;

-- 2. Ledger sales: the ledger is append-only.
CREATE TRIGGER stock_movements_demand_insert AFTER INSERT ON stock_movements
WHEN new.kind = 'sale' AND NOT EXISTS (
    SELECT 1 FROM orders o JOIN order_lines l ON l.order_id = o.id
    WHERE o.order_number = new.reference AND l.product_id = new.product_id)
BEGIN
    INSERT INTO demand_daily (product_id, day, units)
    VALUES (new.product_id, substr(new.created_at, 1, 10), -new.qty)
    ON CONFLICT (product_id, day) DO UPDATE SET units = units + excluded.units;
END;

-- 3. Imported sales: inserted, or changed by a later file with the same key (qty, day, customer).
CREATE TRIGGER sales_history_demand_insert AFTER INSERT ON sales_history
WHEN new.order_number IS NULL OR NOT EXISTS (
    SELECT 1 FROM orders o JOIN order_lines l ON l.order_id = o.id
    WHERE o.order_number = new.order_number AND l.product_id = new.product_id)
BEGIN
    INSERT INTO demand_daily (product_id, day, units) VALUES (new.product_id, new.day, new.qty)
    ON CONFLICT (product_id, day) DO UPDATE SET units = units + excluded.units;
END;
CREATE TRIGGER sales_history_demand_update AFTER UPDATE OF qty, day ON sales_history
WHEN new.order_number IS NULL OR NOT EXISTS (
    SELECT 1 FROM orders o JOIN order_lines l ON l.order_id = o.id
    WHERE o.order_number = new.order_number AND l.product_id = new.product_id)
BEGIN
    UPDATE demand_daily SET units = units - old.qty
    WHERE product_id = old.product_id AND day = old.day;
    INSERT INTO demand_daily (product_id, day, units) VALUES (new.product_id, new.day, new.qty)
    ON CONFLICT (product_id, day) DO UPDATE SET units = units + excluded.units;
END;
