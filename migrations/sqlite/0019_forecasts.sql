-- Stored demand forecasts (issue 20): the latest forecast of each product with demand, written
-- by the nightly job (`[forecast] schedule`) or `backorder-bot forecast --refresh`, and the runs
-- of that job.
--
-- The alert evaluation reads every product once (migration 0011's one pass over `products`
-- joined to `stock_positions`). So the two figures it needs, the forecast's units per day and
-- its method, are copied into `stock_positions` in the same write as the forecast row: the pass
-- gets them from the row it already reads, with no second lookup per product. `forecasts` keeps
-- the whole forecast (level, weekday indices, σ) for everything else.

CREATE TABLE forecasts (
    product_id     INTEGER PRIMARY KEY REFERENCES products (id),
    method         TEXT    NOT NULL CHECK (method IN ('ses', 'croston', 'sba')),
    alpha          REAL    NOT NULL,
    classification TEXT    NOT NULL,
    -- Units per day before the weekday index.
    level          REAL    NOT NULL,
    -- JSON array of the seven weekday factors, Monday first; NULL without seasonality.
    weekday_index  TEXT,
    -- Mean units per day over the 14 days from `start` (two whole weeks: the level, seasonality
    -- or not). What the alerts use.
    rate           REAL    NOT NULL,
    -- Root mean square of the in-sample one-step errors.
    sigma          REAL    NOT NULL,
    -- The first forecast day (the run's UTC day) and the first day of the history.
    start          TEXT    NOT NULL,
    history_start  TEXT    NOT NULL,
    computed_at    TEXT    NOT NULL
);

-- NULL: no stored forecast (the alerts use the 28-day mean).
ALTER TABLE stock_positions ADD COLUMN forecast_rate REAL;
ALTER TABLE stock_positions ADD COLUMN forecast_method TEXT;

CREATE TABLE forecast_runs (
    id            INTEGER PRIMARY KEY,
    -- The cron time, NULL for a run by hand.
    scheduled_for TEXT UNIQUE,
    trigger       TEXT    NOT NULL,
    started_at    TEXT    NOT NULL,
    finished_at   TEXT,
    status        TEXT    NOT NULL DEFAULT 'running',
    skus          INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX forecast_runs_running ON forecast_runs (status) WHERE status = 'running';
