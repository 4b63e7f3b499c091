-- Open backorders and their units per product (`stock_positions.open_backorders`,
-- `backorder_units`, kept by `backorders_totals` of 0001): rows inserted or deleted in bulk (a
-- bulk load of orders, the ETA benchmark's 100,000 backorders) are counted per statement, from
-- the transition tables the insert and delete triggers of 0004 already read, instead of one
-- PL/pgSQL call per row. Same values: per product, the open rows' count and units are added on
-- insert and taken off on delete. Triggers of their own beside 0004's: PostgreSQL hands every
-- AFTER trigger of a statement the same transition tables.
--
-- What stays per row, and why:
-- - `backorders_totals_update`: it names the columns it depends on (`UPDATE OF product_id, qty,
--   qty_allocated, status`) and a WHEN, so an ETA fan-out (which writes promised_eta and
--   eta_kind) never calls it, and the writes that do (allocation, close) change one row per
--   statement. Folded into the per-statement update trigger it would cost every update
--   statement one more join of the old and new rows; folding counts, tokens and totals into
--   one join (a materialized CTE) measured slower than 0004's four joins.
-- - `backorders_keys` (sort keys): a BEFORE trigger that sets columns of the row being written;
--   the fan-out does not call it either (it names manual_priority and qty).
-- - `po_lines_next_eta`: an ETA change writes one PO line per SKU, not one per backorder.
DROP TRIGGER backorders_totals_insert ON backorders;
DROP TRIGGER backorders_totals_delete ON backorders;

CREATE FUNCTION backorders_totals_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO stock_positions (product_id, open_backorders, backorder_units)
        SELECT product_id, COUNT(*), CAST(SUM(qty - qty_allocated) AS bigint)
        FROM new_rows WHERE status = 'open' GROUP BY product_id
        ON CONFLICT (product_id) DO UPDATE SET
            open_backorders = stock_positions.open_backorders + excluded.open_backorders,
            backorder_units = stock_positions.backorder_units + excluded.backorder_units;
    RETURN NULL;
END $$;

CREATE FUNCTION backorders_totals_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE stock_positions sp SET open_backorders = sp.open_backorders - d.k,
            backorder_units = sp.backorder_units - d.u
        FROM (SELECT product_id, COUNT(*) AS k, CAST(SUM(qty - qty_allocated) AS bigint) AS u
              FROM old_rows WHERE status = 'open' GROUP BY product_id) d
        WHERE sp.product_id = d.product_id;
    RETURN NULL;
END $$;

CREATE TRIGGER backorders_totals_inserted AFTER INSERT ON backorders
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION backorders_totals_inserted();
CREATE TRIGGER backorders_totals_deleted AFTER DELETE ON backorders
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION backorders_totals_deleted();
