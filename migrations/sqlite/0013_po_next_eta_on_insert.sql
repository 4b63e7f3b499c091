-- A new PO line can only bring its order's next ETA forward: compare it with the stored one
-- instead of re-reading every line of the order and rewriting the order row on each insert (a
-- 200,000-line purchase-order import spent most of its write lock in that trigger). Same result
-- as migration 0010's: MIN over the lines still expecting units, NULL ETAs ignored.
-- SQLite-only (trigger syntax).
DROP TRIGGER po_lines_next_eta_insert;
CREATE TRIGGER po_lines_next_eta_insert AFTER INSERT ON po_lines
WHEN new.status IN ('open', 'partially_received') AND new.eta IS NOT NULL BEGIN
    UPDATE purchase_orders SET next_eta = new.eta
    WHERE id = new.po_id AND (next_eta IS NULL OR new.eta < next_eta);
END;
