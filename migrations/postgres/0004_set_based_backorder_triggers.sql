-- The per-row triggers of 0001 that keep `backorder_counts` and `queue_tokens` for `backorders`
-- become per-statement triggers reading the statement's transition tables: a change to a
-- thousand backorders (an ETA fan-out) updates each count and each product's token once, not a
-- thousand times. Same meaning: counts per status; a new token for each product whose promises
-- the statement can change (a row inserted or deleted, or one of the columns promises depend on
-- changed); `changes` still only tells whether a list moved.
DROP TRIGGER backorder_counts_keep ON backorders;
DROP TRIGGER queue_tokens_backorder ON backorders;

CREATE FUNCTION backorders_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO backorder_counts (status, n, changes)
        SELECT status, COUNT(*), COUNT(*) FROM new_rows GROUP BY status
        ON CONFLICT (status) DO UPDATE SET n = backorder_counts.n + excluded.n,
            changes = backorder_counts.changes + excluded.changes;
    INSERT INTO queue_tokens (product_id, token)
        SELECT product_id, floor((random() - 0.5) * 1.8e19)::bigint
        FROM (SELECT DISTINCT product_id FROM new_rows) p
        ON CONFLICT (product_id) DO UPDATE SET token = excluded.token;
    RETURN NULL;
END $$;

CREATE FUNCTION backorders_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE backorder_counts c SET n = c.n - d.k, changes = c.changes + d.k
        FROM (SELECT status, COUNT(*) AS k FROM old_rows GROUP BY status) d
        WHERE c.status = d.status;
    INSERT INTO queue_tokens (product_id, token)
        SELECT product_id, floor((random() - 0.5) * 1.8e19)::bigint
        FROM (SELECT DISTINCT product_id FROM old_rows) p
        ON CONFLICT (product_id) DO UPDATE SET token = excluded.token;
    RETURN NULL;
END $$;

CREATE FUNCTION backorders_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Rows that left a status, rows that entered one.
    UPDATE backorder_counts c SET n = c.n - d.k, changes = c.changes + d.k
        FROM (SELECT o.status, COUNT(*) AS k FROM old_rows o JOIN new_rows w ON w.id = o.id
              WHERE o.status IS DISTINCT FROM w.status GROUP BY o.status) d
        WHERE c.status = d.status;
    INSERT INTO backorder_counts (status, n, changes)
        SELECT w.status, COUNT(*), COUNT(*) FROM old_rows o JOIN new_rows w ON w.id = o.id
        WHERE o.status IS DISTINCT FROM w.status GROUP BY w.status
        ON CONFLICT (status) DO UPDATE SET n = backorder_counts.n + excluded.n,
            changes = backorder_counts.changes + excluded.changes;
    -- Rows that stayed in their status but moved in a list's order.
    UPDATE backorder_counts c SET changes = c.changes + d.k
        FROM (SELECT w.status, COUNT(*) AS k FROM old_rows o JOIN new_rows w ON w.id = o.id
              WHERE o.status IS NOT DISTINCT FROM w.status
                AND (o.sort_key, o.ordered_epoch, o.promised_eta, o.value_minor, o.product_id,
                     o.customer_id) IS DISTINCT FROM (w.sort_key, w.ordered_epoch,
                     w.promised_eta, w.value_minor, w.product_id, w.customer_id)
              GROUP BY w.status) d
        WHERE c.status = d.status;
    -- The products whose promises the change can move (old and new product of a moved row).
    INSERT INTO queue_tokens (product_id, token)
        SELECT product_id, floor((random() - 0.5) * 1.8e19)::bigint FROM (
            SELECT o.product_id FROM old_rows o JOIN new_rows w ON w.id = o.id
            WHERE (o.product_id, o.qty, o.qty_allocated, o.status, o.promised_eta, o.eta_kind,
                   o.sort_key, o.ordered_epoch, o.manual_priority)
                IS DISTINCT FROM (w.product_id, w.qty, w.qty_allocated, w.status,
                   w.promised_eta, w.eta_kind, w.sort_key, w.ordered_epoch, w.manual_priority)
            UNION
            SELECT w.product_id FROM old_rows o JOIN new_rows w ON w.id = o.id
            WHERE (o.product_id, o.qty, o.qty_allocated, o.status, o.promised_eta, o.eta_kind,
                   o.sort_key, o.ordered_epoch, o.manual_priority)
                IS DISTINCT FROM (w.product_id, w.qty, w.qty_allocated, w.status,
                   w.promised_eta, w.eta_kind, w.sort_key, w.ordered_epoch, w.manual_priority)
        ) p
        ON CONFLICT (product_id) DO UPDATE SET token = excluded.token;
    RETURN NULL;
END $$;

CREATE TRIGGER backorders_inserted AFTER INSERT ON backorders
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION backorders_inserted();
CREATE TRIGGER backorders_deleted AFTER DELETE ON backorders
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION backorders_deleted();
CREATE TRIGGER backorders_updated AFTER UPDATE ON backorders
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION backorders_updated();
