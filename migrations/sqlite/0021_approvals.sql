-- Approvals (issue 21): what a held batch is about, who decided it, its note, its ops post and
-- its one reminder. Decisions are also written to audit_log; the columns here are what the
-- post, the reminder and `/approvals` show.

-- What the change was (`/eta PO-1001 → 2027-02-17`), and who made it.
ALTER TABLE approvals ADD COLUMN change TEXT NOT NULL DEFAULT '';
ALTER TABLE approvals ADD COLUMN actor TEXT NOT NULL DEFAULT '';
-- Why it is held: customers whose promise moved, and the largest shift in days (NULL: no
-- shift between two known dates).
ALTER TABLE approvals ADD COLUMN customers INTEGER NOT NULL DEFAULT 0;
ALTER TABLE approvals ADD COLUMN largest_shift_days INTEGER;
-- The post body (what changed, customers by channel, a sample message), kept for edits.
ALTER TABLE approvals ADD COLUMN summary TEXT NOT NULL DEFAULT '';
-- One sentence ops add to every message of the batch.
ALTER TABLE approvals ADD COLUMN note TEXT;
ALTER TABLE approvals ADD COLUMN decided_by TEXT;
ALTER TABLE approvals ADD COLUMN decided_at TEXT;
-- The channel post that carries the buttons (edited when the batch is decided or superseded).
ALTER TABLE approvals ADD COLUMN post_id INTEGER REFERENCES channel_posts (id);
ALTER TABLE approvals ADD COLUMN reminded_at TEXT;

CREATE INDEX approvals_held ON approvals (created_at) WHERE status = 'held';

-- A post that edits an earlier post's Discord message (PATCH) instead of sending a new one.
ALTER TABLE channel_posts ADD COLUMN edits_post INTEGER REFERENCES channel_posts (id);
