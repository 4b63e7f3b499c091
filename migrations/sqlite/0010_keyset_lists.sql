-- Lists that page by keyset (issue 11): every order `/backorders`, `/pos` and `/customer` offer
-- reads an index from the key of the last row shown, so a deep page costs what page 1 costs.
--
-- SQLite-only parts, marked below: triggers written in SQLite's dialect (PostgreSQL: trigger
-- functions). Expression and partial indexes exist in both.

-- The backordered value (units × unit price of the line), stored so `sort:value` is an index.
-- A line's price never changes; the quantity may (trigger below).
ALTER TABLE backorders ADD COLUMN value_minor INTEGER NOT NULL DEFAULT 0;
UPDATE backorders SET value_minor =
    qty * (SELECT ol.unit_price_minor FROM order_lines ol WHERE ol.id = backorders.order_line_id);

-- SQLite-only (trigger syntax).
CREATE TRIGGER backorders_value_insert AFTER INSERT ON backorders BEGIN
    UPDATE backorders SET value_minor =
        new.qty * (SELECT ol.unit_price_minor FROM order_lines ol WHERE ol.id = new.order_line_id)
    WHERE id = new.id;
END;
CREATE TRIGGER backorders_value_qty AFTER UPDATE OF qty ON backorders BEGIN
    UPDATE backorders SET value_minor =
        new.qty * (SELECT ol.unit_price_minor FROM order_lines ol WHERE ol.id = new.order_line_id)
    WHERE id = new.id;
END;

-- One index per (filter, order) the lists start from; the priority ones are migration 0009's.
-- Age: oldest order first (also `/customer`'s order).
CREATE INDEX backorders_age ON backorders (status, ordered_epoch, id);
CREATE INDEX backorders_customer_age ON backorders (customer_id, status, ordered_epoch, id);
-- ETA: earliest promise first, none last, ties in service order.
CREATE INDEX backorders_eta ON backorders
    (status, COALESCE(promised_eta, '9999-12-31'), sort_key DESC, ordered_epoch, id);
-- Value: largest first, ties in service order.
CREATE INDEX backorders_value ON backorders (status, value_minor DESC, sort_key DESC, ordered_epoch, id);
-- The same over every status (`status:all`; priority's is migration 0009's backorders_all_queue).
CREATE INDEX backorders_all_age ON backorders (ordered_epoch, id);
CREATE INDEX backorders_all_eta ON backorders
    (COALESCE(promised_eta, '9999-12-31'), sort_key DESC, ordered_epoch, id);
CREATE INDEX backorders_all_value ON backorders (value_minor DESC, sort_key DESC, ordered_epoch, id);
-- A product's or customer's list in another order reads that column's index and sorts its few
-- rows (`store::backorders::source`).

-- A purchase order's next ETA (earliest ETA of a line still expecting units), stored so `/pos`
-- (next ETA first, undated last, then PO number) is an index instead of a grouped scan.
ALTER TABLE purchase_orders ADD COLUMN next_eta TEXT;
UPDATE purchase_orders SET next_eta = (
    SELECT MIN(l.eta) FROM po_lines l
    WHERE l.po_id = purchase_orders.id AND l.status IN ('open', 'partially_received'));

-- SQLite-only (trigger syntax).
CREATE TRIGGER po_lines_next_eta_insert AFTER INSERT ON po_lines BEGIN
    UPDATE purchase_orders SET next_eta = (
        SELECT MIN(l.eta) FROM po_lines l
        WHERE l.po_id = new.po_id AND l.status IN ('open', 'partially_received'))
    WHERE id = new.po_id;
END;
CREATE TRIGGER po_lines_next_eta_update AFTER UPDATE OF eta, status, po_id ON po_lines BEGIN
    UPDATE purchase_orders SET next_eta = (
        SELECT MIN(l.eta) FROM po_lines l
        WHERE l.po_id = purchase_orders.id AND l.status IN ('open', 'partially_received'))
    WHERE id IN (old.po_id, new.po_id);
END;
CREATE TRIGGER po_lines_next_eta_delete AFTER DELETE ON po_lines BEGIN
    UPDATE purchase_orders SET next_eta = (
        SELECT MIN(l.eta) FROM po_lines l
        WHERE l.po_id = old.po_id AND l.status IN ('open', 'partially_received'))
    WHERE id = old.po_id;
END;

-- `/pos` orders. Partial indexes by the statuses a list asks for: still expecting units (the
-- default: open and partly received), received, cancelled; the query writes the status
-- condition out exactly as the index does, which is how a partial index is chosen. Then over
-- all POs, and by supplier.
CREATE INDEX purchase_orders_expecting_eta ON purchase_orders
    (COALESCE(next_eta, '9999-12-31'), po_number)
    WHERE status IN ('open', 'partially_received');
CREATE INDEX purchase_orders_received_eta ON purchase_orders
    (COALESCE(next_eta, '9999-12-31'), po_number)
    WHERE status = 'received';
CREATE INDEX purchase_orders_cancelled_eta ON purchase_orders
    (COALESCE(next_eta, '9999-12-31'), po_number)
    WHERE status = 'cancelled';
CREATE INDEX purchase_orders_all_eta ON purchase_orders (COALESCE(next_eta, '9999-12-31'), po_number);
CREATE INDEX purchase_orders_supplier_eta ON purchase_orders
    (supplier_id, COALESCE(next_eta, '9999-12-31'), po_number);

-- Rows per status, kept by triggers, so the title of a list over a whole status ("Backorders
-- (200000)") is one row read instead of counting an index range on every page. A status gets
-- its row with its first backorder (an empty database stays without rows).
CREATE TABLE backorder_counts (
    status TEXT PRIMARY KEY,
    n      INTEGER NOT NULL
);
INSERT INTO backorder_counts (status, n) SELECT status, COUNT(*) FROM backorders GROUP BY status;
CREATE TABLE po_counts (
    status TEXT PRIMARY KEY,
    n      INTEGER NOT NULL
);
INSERT INTO po_counts (status, n) SELECT status, COUNT(*) FROM purchase_orders GROUP BY status;

-- SQLite-only (trigger syntax).
CREATE TRIGGER backorder_counts_insert AFTER INSERT ON backorders BEGIN
    INSERT INTO backorder_counts (status, n) VALUES (new.status, 1)
        ON CONFLICT (status) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER backorder_counts_delete AFTER DELETE ON backorders BEGIN
    UPDATE backorder_counts SET n = n - 1 WHERE status = old.status;
END;
CREATE TRIGGER backorder_counts_status AFTER UPDATE OF status ON backorders
WHEN old.status IS NOT new.status BEGIN
    UPDATE backorder_counts SET n = n - 1 WHERE status = old.status;
    INSERT INTO backorder_counts (status, n) VALUES (new.status, 1)
        ON CONFLICT (status) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER po_counts_insert AFTER INSERT ON purchase_orders BEGIN
    INSERT INTO po_counts (status, n) VALUES (new.status, 1)
        ON CONFLICT (status) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER po_counts_delete AFTER DELETE ON purchase_orders BEGIN
    UPDATE po_counts SET n = n - 1 WHERE status = old.status;
END;
CREATE TRIGGER po_counts_status AFTER UPDATE OF status ON purchase_orders
WHEN old.status IS NOT new.status BEGIN
    UPDATE po_counts SET n = n - 1 WHERE status = old.status;
    INSERT INTO po_counts (status, n) VALUES (new.status, 1)
        ON CONFLICT (status) DO UPDATE SET n = n + 1;
END;
