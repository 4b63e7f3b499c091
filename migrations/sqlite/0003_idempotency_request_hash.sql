-- The ingest API claims an Idempotency-Key in the same transaction as the work it guards, and
-- remembers a hash of the request (method, path, body) so that a key reused for a different
-- request is refused instead of replayed. Keys stored before this migration have an empty hash
-- and are matched by method and path only.
ALTER TABLE idempotency_keys ADD COLUMN request_hash TEXT NOT NULL DEFAULT '';
