-- The per-row trigger of 0001 that keeps `queue_tokens` for `stock_positions` becomes
-- per-statement triggers reading the statement's transition tables, as 0004 did for
-- `backorders`: an import that creates or recounts a hundred thousand positions gives each
-- product a new token once per statement, not through a PL/pgSQL call per row (the import holds
-- the writers' lock meanwhile). Same meaning: a new token for each product whose position was
-- inserted, or whose on-hand or allocated units an update changed.
DROP TRIGGER queue_tokens_position ON stock_positions;

CREATE FUNCTION stock_positions_tokens_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO queue_tokens (product_id, token)
        SELECT product_id, floor((random() - 0.5) * 1.8e19)::bigint
        FROM (SELECT DISTINCT product_id FROM new_rows) p
        ON CONFLICT (product_id) DO UPDATE SET token = excluded.token;
    RETURN NULL;
END $$;

CREATE FUNCTION stock_positions_tokens_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO queue_tokens (product_id, token)
        SELECT product_id, floor((random() - 0.5) * 1.8e19)::bigint FROM (
            SELECT o.product_id FROM old_rows o JOIN new_rows w ON w.product_id = o.product_id
            WHERE (o.on_hand, o.allocated) IS DISTINCT FROM (w.on_hand, w.allocated)
        ) p
        ON CONFLICT (product_id) DO UPDATE SET token = excluded.token;
    RETURN NULL;
END $$;

CREATE TRIGGER stock_positions_tokens_inserted AFTER INSERT ON stock_positions
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION stock_positions_tokens_inserted();
CREATE TRIGGER stock_positions_tokens_updated AFTER UPDATE ON stock_positions
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION stock_positions_tokens_updated();
