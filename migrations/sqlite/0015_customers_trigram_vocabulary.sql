-- How many customers hold each trigram, read in one pass when a long-running process starts
-- (`store::search::read_trigram_counts`), as `products_fts_vocab` (migration 0009) gives it for
-- products. SQLite-only (FTS5); PostgreSQL's planner keeps pg_trgm statistics itself.
CREATE VIRTUAL TABLE customers_fts_vocab USING fts5vocab(customers_fts, row);
