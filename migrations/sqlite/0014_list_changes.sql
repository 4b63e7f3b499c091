-- A typed `page:N` deep into a list starts from a remembered key near row N instead of skipping
-- N rows (`store::keyset::Landmarks`). The keys stay right while the list's rows keep their
-- places, so each list's count table (migration 0010) also counts the changes that can move a
-- row of `/backorders` or `/pos`: a row added, removed, changing status, or changing a column
-- of a list's order or filter. The remembered keys are read only at the `changes` they were
-- taken at.

ALTER TABLE backorder_counts ADD COLUMN changes INTEGER NOT NULL DEFAULT 0;
ALTER TABLE po_counts ADD COLUMN changes INTEGER NOT NULL DEFAULT 0;

-- SQLite-only (trigger syntax). The count triggers of migration 0010, now also counting changes.
DROP TRIGGER backorder_counts_insert;
DROP TRIGGER backorder_counts_delete;
DROP TRIGGER backorder_counts_status;
DROP TRIGGER po_counts_insert;
DROP TRIGGER po_counts_delete;
DROP TRIGGER po_counts_status;

CREATE TRIGGER backorder_counts_insert AFTER INSERT ON backorders BEGIN
    INSERT INTO backorder_counts (status, n, changes) VALUES (new.status, 1, 1)
        ON CONFLICT (status) DO UPDATE SET n = n + 1, changes = changes + 1;
END;
CREATE TRIGGER backorder_counts_delete AFTER DELETE ON backorders BEGIN
    UPDATE backorder_counts SET n = n - 1, changes = changes + 1 WHERE status = old.status;
END;
CREATE TRIGGER backorder_counts_status AFTER UPDATE OF status ON backorders
WHEN old.status IS NOT new.status BEGIN
    UPDATE backorder_counts SET n = n - 1, changes = changes + 1 WHERE status = old.status;
    INSERT INTO backorder_counts (status, n, changes) VALUES (new.status, 1, 1)
        ON CONFLICT (status) DO UPDATE SET n = n + 1, changes = changes + 1;
END;
-- Every column a backorder list orders or filters by (`store::backorders::ListOrder`, `Filter`).
CREATE TRIGGER backorder_counts_reorder
AFTER UPDATE OF sort_key, ordered_epoch, promised_eta, value_minor, product_id, customer_id
ON backorders
WHEN old.sort_key IS NOT new.sort_key OR old.ordered_epoch IS NOT new.ordered_epoch
    OR old.promised_eta IS NOT new.promised_eta OR old.value_minor IS NOT new.value_minor
    OR old.product_id IS NOT new.product_id OR old.customer_id IS NOT new.customer_id BEGIN
    UPDATE backorder_counts SET changes = changes + 1 WHERE status = new.status;
END;

CREATE TRIGGER po_counts_insert AFTER INSERT ON purchase_orders BEGIN
    INSERT INTO po_counts (status, n, changes) VALUES (new.status, 1, 1)
        ON CONFLICT (status) DO UPDATE SET n = n + 1, changes = changes + 1;
END;
CREATE TRIGGER po_counts_delete AFTER DELETE ON purchase_orders BEGIN
    UPDATE po_counts SET n = n - 1, changes = changes + 1 WHERE status = old.status;
END;
CREATE TRIGGER po_counts_status AFTER UPDATE OF status ON purchase_orders
WHEN old.status IS NOT new.status BEGIN
    UPDATE po_counts SET n = n - 1, changes = changes + 1 WHERE status = old.status;
    INSERT INTO po_counts (status, n, changes) VALUES (new.status, 1, 1)
        ON CONFLICT (status) DO UPDATE SET n = n + 1, changes = changes + 1;
END;
-- Every column `/pos` orders or filters by (`store::purchasing::pos_source`).
CREATE TRIGGER po_counts_reorder
AFTER UPDATE OF next_eta, po_number, supplier_id ON purchase_orders
WHEN old.next_eta IS NOT new.next_eta OR old.po_number IS NOT new.po_number
    OR old.supplier_id IS NOT new.supplier_id BEGIN
    UPDATE po_counts SET changes = changes + 1 WHERE status = new.status;
END;
