-- Bulk imports index their new products in one statement instead of one trigger call per row
-- (a million-row products file: about half the search-index cost).
--
-- `search_sync.deferred` is 1 only inside an import's write transaction, between the insert of
-- its products and the statement that indexes them; the import sets it back to 0 before it
-- commits, so no other connection ever reads 1 (and a crash rolls it back with the rest).
-- SQLite-only: the trigger's WHEN clause and FTS5 (PostgreSQL: pg_trgm GIN indexes need no
-- trigger at all).
CREATE TABLE search_sync (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    deferred INTEGER NOT NULL DEFAULT 0 CHECK (deferred IN (0, 1))
);
INSERT INTO search_sync (id, deferred) VALUES (1, 0);

DROP TRIGGER products_fts_insert;
CREATE TRIGGER products_fts_insert AFTER INSERT ON products
WHEN (SELECT deferred FROM search_sync WHERE id = 1) = 0 BEGIN
    INSERT INTO products_fts (rowid, sku, name) VALUES (new.id, new.sku, new.name);
END;

-- FTS5 keeps up to this many bytes of a transaction's new index entries in memory before it
-- writes a segment (default 1 MB): fewer, larger segments for a bulk insert, and nothing
-- changes for small transactions. (SQLite-only: an FTS5 option.)
INSERT INTO products_fts (products_fts, rank) VALUES ('hashsize', 16777216);
