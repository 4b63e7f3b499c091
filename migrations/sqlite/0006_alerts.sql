-- Scheduled low-stock alerts: per-(rule, SKU) state, runs, snoozes, the scheduler lease and a
-- durable queue of Discord channel posts. Portable SQL; rules are named by their config name.

CREATE TABLE alert_states (
    rule              TEXT    NOT NULL,
    product_id        INTEGER NOT NULL REFERENCES products (id),
    severity          TEXT    NOT NULL CHECK (severity IN ('out', 'critical', 'low', 'at_risk')),
    since             TEXT    NOT NULL,
    last_notified     TEXT,
    notified_severity TEXT CHECK (notified_severity IN ('out', 'critical', 'low', 'at_risk')),
    PRIMARY KEY (rule, product_id)
);

CREATE TABLE alert_runs (
    id            INTEGER PRIMARY KEY,
    rule          TEXT    NOT NULL,
    -- The cron time this run is for; NULL for a run asked for by hand.
    scheduled_for TEXT,
    trigger       TEXT    NOT NULL CHECK (trigger IN ('schedule', 'catch_up', 'manual')),
    started_at    TEXT    NOT NULL,
    finished_at   TEXT,
    status        TEXT    NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'done', 'failed', 'abandoned')),
    evaluated     INTEGER NOT NULL DEFAULT 0,
    firing        INTEGER NOT NULL DEFAULT 0,
    posted_lines  INTEGER NOT NULL DEFAULT 0,
    resolved      INTEGER NOT NULL DEFAULT 0,
    -- The message text (or why nothing was posted).
    summary       TEXT    NOT NULL DEFAULT '',
    post_id       INTEGER,
    -- JSON array of the product ids the post listed (what its snooze button snoozes).
    posted_products TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX alert_runs_rule ON alert_runs (rule, started_at);
-- A cron time is run at most once per rule, whichever process gets there first.
CREATE UNIQUE INDEX alert_runs_scheduled ON alert_runs (rule, scheduled_for) WHERE scheduled_for IS NOT NULL;

-- `rule` '*' snoozes the SKU for every rule.
CREATE TABLE alert_snoozes (
    rule       TEXT    NOT NULL,
    product_id INTEGER NOT NULL REFERENCES products (id),
    until      TEXT    NOT NULL,
    actor      TEXT    NOT NULL,
    created_at TEXT    NOT NULL,
    PRIMARY KEY (rule, product_id)
);

-- One row per named lease ('alert-scheduler'): the process holding it runs the schedule.
CREATE TABLE leases (
    name       TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    expires_at TEXT NOT NULL
);

-- Discord channel messages waiting to be sent (alerts, ops notices). Claimed with a lease so a
-- crash mid-send resends at most once.
CREATE TABLE channel_posts (
    id              INTEGER PRIMARY KEY,
    channel_id      TEXT    NOT NULL,
    content         TEXT    NOT NULL,
    attachment_name TEXT,
    attachment      BLOB,
    -- JSON of message components (buttons, select menus), if any.
    components      TEXT,
    status          TEXT    NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT    NOT NULL,
    leased_until    TEXT,
    last_error      TEXT,
    message_id      TEXT,
    created_at      TEXT    NOT NULL,
    sent_at         TEXT
);
CREATE INDEX channel_posts_due ON channel_posts (status, next_attempt_at);
