-- Invocations of paged replies too long for a Discord button's custom id (issue 22): the button
-- carries `pk|<asker>|<page>|<id>`, and whichever process answers the click, after any restart,
-- reads the invocation here. One row per distinct invocation (found again by the hash of its
-- text); rows not shown for a while are pruned (app::page::PAGE_KEYS_KEPT).

CREATE TABLE page_invocations (
    -- The key a button carries. AUTOINCREMENT: a pruned key is never handed out again, so an
    -- old button can only find its own invocation or none.
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    -- SHA-256 (hex) of `invocation`: the same invocation gets the same key.
    hash       TEXT NOT NULL UNIQUE,
    -- The invocation as JSON (command, subcommand, options), exactly as it was.
    invocation TEXT NOT NULL,
    -- When a reply last showed a button with this key.
    shown_at   TEXT NOT NULL
);
CREATE INDEX page_invocations_shown_at ON page_invocations (shown_at);
