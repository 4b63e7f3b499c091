-- A token per product that changes with every write a SKU's promises are planned from: its
-- backorders, stock position, PO lines, lead time and supplier. A process that keeps a SKU's
-- settled queue in memory (`app::promise`, for orders joining a long queue) uses it only while
-- the token is the one it left: any other write, by any process, or a rolled-back transaction,
-- leaves another token, and the queue is read and planned again. (Upserts, not INSERT OR
-- REPLACE: a trigger's OR clause gives way to the outer statement's.) Random rather than counted,
-- so a rolled-back change and a later one cannot leave the same value.
--
-- SQLite-only: the triggers' dialect and `random()` (PostgreSQL: trigger functions setting
-- `random()`-based or txid tokens).
CREATE TABLE queue_tokens (
    product_id INTEGER PRIMARY KEY,
    token      INTEGER NOT NULL
);

CREATE TRIGGER queue_tokens_backorder_insert AFTER INSERT ON backorders BEGIN
    INSERT INTO queue_tokens (product_id, token) VALUES (new.product_id, random())
        ON CONFLICT (product_id) DO UPDATE SET token = excluded.token;
END;
CREATE TRIGGER queue_tokens_backorder_update
AFTER UPDATE OF product_id, qty, qty_allocated, status, promised_eta, eta_kind, sort_key,
    ordered_epoch, manual_priority ON backorders BEGIN
    INSERT INTO queue_tokens (product_id, token) VALUES (old.product_id, random())
        ON CONFLICT (product_id) DO UPDATE SET token = excluded.token;
    INSERT INTO queue_tokens (product_id, token) VALUES (new.product_id, random())
        ON CONFLICT (product_id) DO UPDATE SET token = excluded.token;
END;
CREATE TRIGGER queue_tokens_backorder_delete AFTER DELETE ON backorders BEGIN
    INSERT INTO queue_tokens (product_id, token) VALUES (old.product_id, random())
        ON CONFLICT (product_id) DO UPDATE SET token = excluded.token;
END;

CREATE TRIGGER queue_tokens_position_insert AFTER INSERT ON stock_positions BEGIN
    INSERT INTO queue_tokens (product_id, token) VALUES (new.product_id, random())
        ON CONFLICT (product_id) DO UPDATE SET token = excluded.token;
END;
CREATE TRIGGER queue_tokens_position_update AFTER UPDATE OF on_hand, allocated ON stock_positions BEGIN
    INSERT INTO queue_tokens (product_id, token) VALUES (new.product_id, random())
        ON CONFLICT (product_id) DO UPDATE SET token = excluded.token;
END;

CREATE TRIGGER queue_tokens_po_line_insert AFTER INSERT ON po_lines BEGIN
    INSERT INTO queue_tokens (product_id, token) VALUES (new.product_id, random())
        ON CONFLICT (product_id) DO UPDATE SET token = excluded.token;
END;
CREATE TRIGGER queue_tokens_po_line_update AFTER UPDATE ON po_lines BEGIN
    INSERT INTO queue_tokens (product_id, token) VALUES (old.product_id, random())
        ON CONFLICT (product_id) DO UPDATE SET token = excluded.token;
    INSERT INTO queue_tokens (product_id, token) VALUES (new.product_id, random())
        ON CONFLICT (product_id) DO UPDATE SET token = excluded.token;
END;
CREATE TRIGGER queue_tokens_po_line_delete AFTER DELETE ON po_lines BEGIN
    INSERT INTO queue_tokens (product_id, token) VALUES (old.product_id, random())
        ON CONFLICT (product_id) DO UPDATE SET token = excluded.token;
END;

CREATE TRIGGER queue_tokens_product_lead AFTER UPDATE OF lead_time_days, supplier_id ON products BEGIN
    INSERT INTO queue_tokens (product_id, token) VALUES (new.id, random())
        ON CONFLICT (product_id) DO UPDATE SET token = excluded.token;
END;
CREATE TRIGGER queue_tokens_supplier_lead AFTER UPDATE OF lead_time_days ON suppliers BEGIN
    INSERT INTO queue_tokens (product_id, token)
    SELECT id, random() FROM products WHERE supplier_id = new.id AND true
        ON CONFLICT (product_id) DO UPDATE SET token = excluded.token;
END;
