//! Low-stock alerts: the set-based evaluation query, per-(rule, SKU) state, runs, snoozes and
//! the scheduler lease.

use super::types::sql_word;
use super::{day, id_json, table_rows, ts, Conn, StoredIds, StoredOptTs, StoredTs};
use crate::domain::alerts::{AlertState, RateSource, RunStatus, Scope, Severity, SkuFigures};
use crate::domain::forecast::Method;
use crate::domain::{AlertRunId, PostId, ProductId};
use crate::store::run;
use chrono::{DateTime, NaiveDate, Utc};
use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

/// What the evaluation query must return besides SKUs that are LOW or worse.
#[derive(Debug, Clone, Copy)]
pub struct Candidates {
    /// Also SKUs that may be AT_RISK (which can fire above the reorder point).
    pub at_risk: bool,
}

/// The trailing sales behind the daily rate: the units sold on the `days` UTC days up to and
/// including `last` (see [`crate::domain::alerts::daily_sales_rate`]).
#[derive(Debug, Clone, Copy)]
pub struct SalesWindow {
    /// The latest day counted (today).
    pub last: NaiveDate,
    /// How many days are counted.
    pub days: i64,
}

/// The figures of every SKU in `scope` that may fire or resolve for `rule`: LOW or worse, OUT,
/// with alert state for the rule, or (with `candidates.at_risk`) possibly AT_RISK. Everything
/// else is filtered out inside SQLite, so only those rows cross into Rust.
///
/// How it stays cheap on a million SKUs (`EXPLAIN QUERY PLAN`-checked; `bench alerts`):
/// - `cand` is one pass over `products` joined to its `stock_positions` row, whose stored open
///   backorder totals (migration 0011) replace aggregating the backorders. Inbound only adds to
///   projected stock, so a SKU whose free stock is above both thresholds cannot be LOW or
///   CRITICAL whatever is inbound: only SKUs at or below them go on.
/// - AT_RISK needs the sales rate: the stored forecast's (`stock_positions.forecast_rate`,
///   migration 0019) where there is one, else `daily_sales_rate` = sold / days. The SQL bounds
///   mirror both (change them together): cover < horizon ⇔ free < rate × horizon, or
///   free × days < sold × horizon. The first pass uses the forecast rate or, without one, the
///   stored all-time `units_sold`, and the longest horizon any SKU can have, so no per-SKU
///   sales read happens for SKUs that could not run out whatever the window held; the final
///   filter uses the forecast or the window's sales (`sales_daily`) and the SKU's own horizon.
///   Both are inclusive, and the forecast's side a millionth wider, so float rounding in Rust
///   cannot lose a SKU: Rust decides the severity.
/// - Inbound figures come from the covering `po_lines_inbound` index, for candidates only, in
///   one grouped pass (and sales from `sales_daily` only where they matter).
///
/// `keep` sees each row's figures (it may fill in derived ones) and the units sold in the window,
/// and says whether to keep it; only kept rows are held. Sales are
/// summed only where they change the outcome (`sold` is 0 for a SKU whose free stock is gone
/// because backorders hold it).
///
/// The engines spell a few things differently (scope lists, date arithmetic, `max`/`GREATEST`,
/// the packing of batches): [`Spelling`].
pub async fn evaluation_figures(
    conn: &mut Conn,
    rule: &str,
    scope: &Scope,
    candidates: Candidates,
    today: NaiveDate,
    sales: SalesWindow,
    keep: &(dyn Fn(&mut SkuFigures, i64) -> bool + Send + Sync),
) -> anyhow::Result<Vec<SkuFigures>> {
    // The statement reads every product once: in the connection's usual page cache (64 MB) those
    // pages would only push out what other queries reuse and stay resident after the run, on
    // each pooled connection that ever ran it. With a small cache it runs as fast (the OS caches
    // the file); afterwards the connection gives back what the run left (`shrink_memory`: cached
    // and temporary pages) and gets its usual size back, whatever the outcome.
    let usual = super::scan_cache(conn, EVALUATION_CACHE_KIB).await?;
    let rows = evaluation_rows(&mut *conn, rule, scope, candidates, today, sales, keep).await;
    super::restore_cache(conn, usual).await?;
    rows
}

/// Page cache (KiB) of the connection while it runs [`evaluation_sql`]; `bench alerts` gives the
/// `sqlite3` CLI the same.
const EVALUATION_CACHE_KIB: i64 = 8192;

async fn evaluation_rows(
    conn: &mut Conn,
    rule: &str,
    scope: &Scope,
    candidates: Candidates,
    today: NaiveDate,
    sales: SalesWindow,
    keep: &(dyn Fn(&mut SkuFigures, i64) -> bool + Send + Sync),
) -> anyhow::Result<Vec<SkuFigures>> {
    let categories = serde_json::to_string(&scope.categories)?;
    let suppliers = serde_json::to_string(
        &scope
            .suppliers
            .iter()
            .map(|s| s.to_uppercase())
            .collect::<Vec<_>>(),
    )?;
    let prefix = scope
        .sku_prefix
        .as_deref()
        .map(|p| {
            format!(
                "{}%",
                p.to_uppercase()
                    .replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_")
            )
        })
        .unwrap_or_default();
    let since = sales.last - chrono::Duration::days(sales.days.max(1) - 1);
    let sql = evaluation_sql(conn);
    let batches: Vec<String> = run!(
        conn,
        sqlx::query_scalar(sql)
            .bind(day(today))
            .bind(categories)
            .bind(suppliers)
            .bind(prefix)
            .bind(day(since))
            .bind(candidates.at_risk)
            .bind(rule)
            .bind(sales.days),
        fetch_all
    )?;
    // Rows are turned into figures batch by batch and only the kept ones are held, so memory
    // follows the findings, not the shop.
    let mut kept = Vec::new();
    for batch in batches {
        let rows: Vec<Packed> = serde_json::from_str(&batch)
            .map_err(|e| anyhow::anyhow!("alert evaluation: unreadable batch: {e}"))?;
        for r in rows {
            let next_eta = r
                .next_eta
                .as_deref()
                .map(super::parse_day)
                .transpose()
                .map_err(|e| anyhow::anyhow!("alert evaluation: next_eta: {e}"))?;
            let mut f = SkuFigures {
                product_id: ProductId(r.id),
                sku: r.sku,
                name: r.name,
                supplier: r.supplier,
                on_hand: r.on_hand,
                allocated: r.allocated,
                open_backorders: r.bo_n,
                backorder_units: r.bo_units,
                inbound_within_lead: r.within,
                inbound_total: r.inbound,
                next_eta,
                reorder_point: r.reorder_point,
                safety_stock: r.safety_stock,
                reorder_qty: r.reorder_qty,
                lead_time_days: r.lead,
                daily_sales: r.rate.unwrap_or(0.0),
                rate_source: match (r.rate, r.method.as_deref()) {
                    (Some(_), Some(m)) => RateSource::Forecast(
                        stored_method(m)
                            .ok_or_else(|| anyhow::anyhow!("alert evaluation: method {m:?}"))?,
                    ),
                    _ => RateSource::SalesMean,
                },
            };
            if keep(&mut f, r.sold) {
                kept.push(f);
            }
        }
    }
    Ok(kept)
}

/// The evaluation statement of [`evaluation_figures`] on the engine of `conn`: $1 today, $2
/// categories (JSON), $3 supplier codes (JSON, upper case), $4 SKU prefix pattern, $5 first
/// day of the sales window, $6 AT_RISK wanted, $7 rule, $8 days in the sales window. One
/// statement, written once ([`evaluation_sql_with`]); only the [`Spelling`] differs.
pub fn evaluation_sql(conn: &Conn) -> &'static str {
    static SQLITE: OnceLock<String> = OnceLock::new();
    static POSTGRES: OnceLock<String> = OnceLock::new();
    if conn.is_postgres() {
        POSTGRES.get_or_init(|| evaluation_sql_with(&Spelling::POSTGRES))
    } else {
        SQLITE.get_or_init(|| evaluation_sql_with(&Spelling::SQLITE))
    }
}

/// What the evaluation statement spells differently on the two engines, in one place.
struct Spelling {
    /// The largest of its (non-NULL) arguments: SQLite's scalar `max`, PostgreSQL's `GREATEST`.
    greatest: &'static str,
    /// Whole days from today ($1, a date) to the date `x`.
    days_from_today: fn(x: &str) -> String,
    /// Its dialect, for what every statement spells alike (today plus N days).
    dialect: super::Dialect,
    /// The text values of the JSON array bound as `$n`, as a subquery.
    json_texts: fn(n: usize) -> String,
    /// One JSON array (as text) of a group's rows, each the JSON array of `columns`.
    pack: fn(columns: &str) -> String,
}

impl Spelling {
    const SQLITE: Spelling = Spelling {
        greatest: "max",
        days_from_today: |x| format!("CAST(julianday({x}) - julianday($1) AS INTEGER)"),
        dialect: super::Dialect::Sqlite,
        json_texts: |n| format!("(SELECT value FROM json_each(${n}))"),
        pack: |columns| format!("'[' || group_concat(json_array({columns}), ',') || ']'"),
    };

    const POSTGRES: Spelling = Spelling {
        greatest: "GREATEST",
        days_from_today: |x| format!("({x} - $1)"),
        dialect: super::Dialect::Postgres,
        json_texts: |n| format!("(SELECT jsonb_array_elements_text(${n}::jsonb))"),
        pack: |columns| format!("json_agg(json_build_array({columns}))::text"),
    };
}

/// The evaluation statement in one engine's [`Spelling`].
fn evaluation_sql_with(sp: &Spelling) -> String {
    let Spelling {
        greatest,
        days_from_today,
        dialect,
        json_texts,
        pack,
    } = sp;
    let expecting = super::purchasing::expecting_units_sql!();
    let available = super::stock::AVAILABLE;
    let latest_eta = days_from_today("MAX(eta)");
    let next_eta_in = days_from_today("next_eta");
    let lead_end = dialect.date_plus_days("$1", "COALESCE(c.lead_time_days, s.lead_time_days, 14)");
    let categories = json_texts(2);
    let suppliers = json_texts(3);
    let packed = pack(
        "id, on_hand, allocated, bo_n, bo_units, within, inbound,
            next_eta, reorder_point, safety_stock, reorder_qty, lead, sold, sku, name, supplier,
            rate, method",
    );
    format!(
        "
    WITH horizon AS (
        -- The longest wait for the next inbound any SKU can have (its lead time, or the latest
        -- open ETA): a bound for the AT_RISK skip in `cand`.
        SELECT {greatest}(14,
            COALESCE((SELECT MAX(lead_time_days) FROM suppliers), 0),
            COALESCE((SELECT {latest_eta} FROM po_lines
                      WHERE status IN {expecting}), 0)) AS days
    ), cand AS (
        SELECT p.id, p.sku, p.name, p.supplier_id, p.reorder_point, p.safety_stock, p.reorder_qty,
            p.lead_time_days,
            COALESCE(sp.on_hand, 0) AS on_hand, COALESCE(sp.allocated, 0) AS allocated,
            {available} AS available,
            COALESCE(sp.open_backorders, 0) AS bo_n, COALESCE(sp.backorder_units, 0) AS bo_units,
            sp.forecast_rate AS rate, sp.forecast_method AS method
        FROM products p
        LEFT JOIN stock_positions sp ON sp.product_id = p.id
        WHERE ($2 = '[]' OR p.category IN {categories})
          AND ($3 = '[]' OR p.supplier_id IN (SELECT id FROM suppliers
                WHERE upper(code) IN {suppliers}))
          AND ($4 = '' OR p.sku_key LIKE $4 ESCAPE '\\')
          AND (COALESCE(sp.on_hand, 0) - COALESCE(sp.allocated, 0) - COALESCE(sp.backorder_units, 0)
                  <= {greatest}(p.reorder_point, p.safety_stock - 1)
            OR COALESCE(sp.on_hand, 0) - COALESCE(sp.allocated, 0) <= 0
            OR p.id IN (SELECT product_id FROM alert_states WHERE rule = $7)
            OR ($6 AND (COALESCE(sp.on_hand, 0) - COALESCE(sp.allocated, 0)
                    - COALESCE(sp.backorder_units, 0)) * $8
                <= CASE WHEN sp.forecast_rate IS NULL THEN COALESCE(sp.units_sold, 0)
                        ELSE sp.forecast_rate * $8 * 1.000001 END
                    * {greatest}(COALESCE(p.lead_time_days, 0), (SELECT days FROM horizon))))
    ), fig AS MATERIALIZED (
        -- One pass over each candidate's open PO lines (covering index `po_lines_inbound`).
        SELECT c.id, c.sku, c.name, s.code AS supplier, c.on_hand, c.allocated, c.available,
            c.bo_n, c.bo_units, c.reorder_point, c.safety_stock, c.reorder_qty, c.rate, c.method,
            COALESCE(c.lead_time_days, s.lead_time_days, 14) AS lead,
            COALESCE(SUM(l.qty_ordered - l.qty_received), 0) AS inbound,
            MIN(l.eta) AS next_eta,
            COALESCE(SUM(CASE WHEN l.eta <= {lead_end}
                THEN l.qty_ordered - l.qty_received END), 0) AS within,
            -- Sales matter only with free stock left (days of cover, AT_RISK) or nothing
            -- available and no backorders (OUT by demand); elsewhere cover is 0 whatever the rate.
            -- A SKU with a stored forecast uses its rate instead.
            CASE WHEN c.rate IS NULL
                AND (c.available - c.bo_units > 0 OR (c.available <= 0 AND c.bo_n = 0))
            THEN COALESCE((SELECT SUM(d.units) FROM sales_daily d
                           WHERE d.product_id = c.id AND d.day >= $5), 0)
            ELSE 0 END AS sold
        FROM cand c
        LEFT JOIN suppliers s ON s.id = c.supplier_id
        LEFT JOIN po_lines l ON l.product_id = c.id AND l.status IN {expecting}
        GROUP BY c.id, c.sku, c.name, s.code, c.on_hand, c.allocated, c.available, c.bo_n,
            c.bo_units, c.reorder_point, c.safety_stock, c.reorder_qty, c.rate, c.method,
            c.lead_time_days, s.lead_time_days
    )
    -- Rows leave in batches (one JSON array per block of 4,096 product ids): a hundred
    -- thousand firing SKUs are a few hundred rows for the driver to hand over, not a hundred
    -- thousand.
    SELECT {packed} AS batch
    FROM fig
    WHERE available - bo_units + within <= reorder_point
       OR available - bo_units + within < safety_stock
       OR (available <= 0 AND (bo_n > 0 OR sold > 0 OR rate > 0))
       OR id IN (SELECT product_id FROM alert_states WHERE rule = $7)
       OR ($6 AND (available - bo_units) * $8
            <= CASE WHEN rate IS NULL THEN sold ELSE rate * $8 * 1.000001 END
            * CASE WHEN next_eta IS NULL THEN lead
            ELSE {greatest}({next_eta_in}, 0) END)
    GROUP BY id / 4096"
    )
}

/// One evaluated SKU as [`evaluation_sql`] packs it: a JSON array whose elements are these
/// fields in this order (serde reads a struct from an array by position).
#[derive(serde::Deserialize)]
struct Packed {
    id: i64,
    on_hand: i64,
    allocated: i64,
    bo_n: i64,
    bo_units: i64,
    within: i64,
    inbound: i64,
    next_eta: Option<String>,
    reorder_point: i64,
    safety_stock: i64,
    reorder_qty: i64,
    lead: i64,
    sold: i64,
    sku: String,
    name: String,
    supplier: Option<String>,
    rate: Option<f64>,
    method: Option<String>,
}

/// A method as `forecasts` and `stock_positions` store it.
fn stored_method(raw: &str) -> Option<Method> {
    Method::ALL.into_iter().find(|m| m.as_str() == raw)
}

/// A rule's alert state for one SKU, as stored.
#[derive(sqlx::FromRow)]
struct StateRow {
    product_id: ProductId,
    severity: Severity,
    #[sqlx(try_from = "StoredTs")]
    since: DateTime<Utc>,
    #[sqlx(try_from = "StoredOptTs")]
    last_notified: Option<DateTime<Utc>>,
    notified_severity: Option<Severity>,
}

/// The alert state of every SKU for a rule.
pub async fn states(conn: &mut Conn, rule: &str) -> anyhow::Result<HashMap<ProductId, AlertState>> {
    let rows: Vec<StateRow> = run!(
        conn,
        sqlx::query_as(
            "SELECT product_id, severity, since, last_notified, notified_severity
         FROM alert_states WHERE rule = $1",
        )
        .bind(rule),
        fetch_all
    )?;
    Ok(rows
        .into_iter()
        .map(|r| {
            (
                r.product_id,
                AlertState {
                    severity: r.severity,
                    since: r.since,
                    last_notified: r.last_notified,
                    notified_severity: r.notified_severity,
                },
            )
        })
        .collect())
}

/// Writes changed states and deletes cleared ones, one statement each (rows and ids each bound
/// as one JSON value: [`table_rows`], `json_each`).
pub async fn save_states(
    conn: &mut Conn,
    rule: &str,
    upserts: &[(ProductId, AlertState)],
    deletes: &[ProductId],
) -> anyhow::Result<()> {
    if !upserts.is_empty() {
        let rows: Vec<serde_json::Value> = upserts
            .iter()
            .map(|(id, s)| {
                serde_json::json!({
                    "product_id": id.0,
                    "severity": s.severity.as_str(),
                    "since": ts(s.since),
                    "last_notified": s.last_notified.map(ts),
                    "notified_severity": s.notified_severity.map(|s| s.as_str()),
                })
            })
            .collect();
        let rows_sql = table_rows(
            conn,
            2,
            "alert_states",
            &[
                "product_id",
                "severity",
                "since",
                "last_notified",
                "notified_severity",
            ],
        );
        run!(conn, sqlx::query(&format!(
            "INSERT INTO alert_states (rule, product_id, severity, since, last_notified, notified_severity)
             SELECT $1, r.product_id, r.severity, r.since, r.last_notified, r.notified_severity
             FROM {rows_sql} AS r WHERE true
             ON CONFLICT (rule, product_id) DO UPDATE SET severity = excluded.severity,
                since = excluded.since, last_notified = excluded.last_notified,
                notified_severity = excluded.notified_severity",
        ))
        .bind(rule)
        .bind(serde_json::Value::Array(rows).to_string()), execute)?;
    }
    if !deletes.is_empty() {
        run!(
            conn,
            sqlx::query(
                "DELETE FROM alert_states WHERE rule = $1
             AND product_id IN (SELECT value FROM json_each($2))"
            )
            .bind(rule)
            .bind(id_json(deletes)),
            execute
        )?;
    }
    Ok(())
}

/// Products snoozed for `rule` (or for every rule) at `now`.
pub async fn snoozed(
    conn: &mut Conn,
    rule: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<HashSet<ProductId>> {
    let ids: Vec<ProductId> =
        run!(conn, sqlx::query_scalar(
        "SELECT product_id FROM alert_snoozes WHERE (rule = $1 OR rule = '*') AND until > $2",
    )
    .bind(rule)
    .bind(ts(now)), fetch_all)?;
    Ok(ids.into_iter().collect())
}

/// Snoozes products for a rule (`*`: all rules) until `until`.
pub async fn snooze(
    conn: &mut Conn,
    rule: &str,
    product_ids: &[ProductId],
    until: DateTime<Utc>,
    actor: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<u64> {
    Ok(run!(
        conn,
        sqlx::query(
            "INSERT INTO alert_snoozes (rule, product_id, until, actor, created_at)
         SELECT $1, value, $2, $3, $4 FROM json_each($5) WHERE true
         ON CONFLICT (rule, product_id) DO UPDATE SET until = excluded.until,
            actor = excluded.actor, created_at = excluded.created_at",
        )
        .bind(rule)
        .bind(ts(until))
        .bind(actor)
        .bind(ts(now))
        .bind(id_json(product_ids)),
        execute
    )?)
}

/// Ends every snooze of a product; returns how many there were.
pub async fn unsnooze(conn: &mut Conn, product_id: ProductId) -> anyhow::Result<u64> {
    Ok(run!(
        conn,
        sqlx::query("DELETE FROM alert_snoozes WHERE product_id = $1").bind(product_id),
        execute
    )?)
}

pub use crate::domain::schedule::{NotStarted, Trigger};

/// Whose runs: an alert rule's (`alert_runs`) or the forecast refresh's (`forecast_runs`, one
/// job). The two tables keep runs alike; only the rule column differs.
#[derive(Debug, Clone, Copy)]
pub enum RunsOf<'a> {
    Rule(&'a str),
    ForecastRefresh,
}

impl RunsOf<'_> {
    fn table(self) -> &'static str {
        match self {
            RunsOf::Rule(_) => "alert_runs",
            RunsOf::ForecastRefresh => "forecast_runs",
        }
    }

    /// The condition picking these runs, with the rule as the last parameter `$n`.
    fn only(self, n: usize) -> String {
        match self {
            RunsOf::Rule(_) => format!("rule = ${n}"),
            RunsOf::ForecastRefresh => "true".into(),
        }
    }

    fn bind<'q, DB: sqlx::Database>(
        self,
        q: sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments<'q>>,
    ) -> sqlx::query::Query<'q, DB, <DB as sqlx::Database>::Arguments<'q>>
    where
        Self: 'q,
        &'q str: sqlx::Encode<'q, DB> + sqlx::Type<DB>,
    {
        match self {
            RunsOf::Rule(rule) => q.bind(rule),
            RunsOf::ForecastRefresh => q,
        }
    }
}

/// Records the start of a run unless the rule is running (a run older than `stale_before` is
/// taken for dead and marked abandoned) or this cron time was run already. Call in a
/// `BEGIN IMMEDIATE` transaction.
pub async fn start_run(
    conn: &mut Conn,
    rule: &str,
    scheduled_for: Option<DateTime<Utc>>,
    trigger: Trigger,
    now: DateTime<Utc>,
    stale_before: DateTime<Utc>,
) -> anyhow::Result<Result<AlertRunId, NotStarted>> {
    let started = start_run_of(
        conn,
        RunsOf::Rule(rule),
        scheduled_for,
        trigger,
        now,
        stale_before,
    )
    .await?;
    Ok(started.map(AlertRunId))
}

/// [`start_run`] for any [`RunsOf`].
pub async fn start_run_of(
    conn: &mut Conn,
    of: RunsOf<'_>,
    scheduled_for: Option<DateTime<Utc>>,
    trigger: Trigger,
    now: DateTime<Utc>,
    stale_before: DateTime<Utc>,
) -> anyhow::Result<Result<i64, NotStarted>> {
    let table = of.table();
    run!(
        conn,
        of.bind(
            sqlx::query(&format!(
                "UPDATE {table} SET status = $3, finished_at = $2
             WHERE {} AND status = $4 AND started_at < $1",
                of.only(5)
            ))
            .bind(ts(stale_before))
            .bind(ts(now))
            .bind(RunStatus::Abandoned)
            .bind(RunStatus::Running),
        ),
        execute
    )?;
    let running: bool = run!(
        conn,
        of.bind(
            sqlx::query(&format!(
                "SELECT EXISTS (SELECT 1 FROM {table} WHERE {} AND status = $1)",
                of.only(2)
            ))
            .bind(RunStatus::Running),
        ),
        fetch_one,
        |row| sqlx::Row::try_get(&row, 0)
    )?;
    if running {
        return Ok(Err(NotStarted::Running));
    }
    if let Some(t) = scheduled_for {
        let done: bool = run!(
            conn,
            of.bind(
                sqlx::query(&format!(
                    "SELECT EXISTS (SELECT 1 FROM {table} WHERE {} AND scheduled_for = $1)",
                    of.only(2)
                ))
                .bind(ts(t)),
            ),
            fetch_one,
            |row| sqlx::Row::try_get(&row, 0)
        )?;
        if done {
            return Ok(Err(NotStarted::AlreadyRun));
        }
    }
    let (rule_column, rule_value) = match of {
        RunsOf::Rule(_) => (", rule", ", $4"),
        RunsOf::ForecastRefresh => ("", ""),
    };
    let id: i64 = run!(
        conn,
        of.bind(
            sqlx::query(&format!(
                "INSERT INTO {table} (scheduled_for, trigger, started_at{rule_column})
                 VALUES ($1, $2, $3{rule_value}) RETURNING id"
            ))
            .bind(scheduled_for.map(ts))
            .bind(trigger)
            .bind(ts(now)),
        ),
        fetch_one,
        |row| sqlx::Row::try_get(&row, 0)
    )?;
    Ok(Ok(id))
}

/// What a finished run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct RunCounts {
    /// SKUs evaluated.
    pub evaluated: i64,
    /// SKUs firing at or above the rule's minimum.
    pub firing: i64,
    /// Lines posted (new, worse, repeated).
    pub posted_lines: i64,
    /// Resolved lines posted.
    pub resolved: i64,
}

/// Records the end of the run started (or taken over) at `started`; false when another process
/// has taken it over since (see [`take_over_run`]): then nothing is written.
#[allow(clippy::too_many_arguments)]
pub async fn finish_run(
    conn: &mut Conn,
    id: AlertRunId,
    started: DateTime<Utc>,
    ok: bool,
    counts: &RunCounts,
    summary: &str,
    post_id: Option<PostId>,
    posted_products: &[ProductId],
    now: DateTime<Utc>,
) -> anyhow::Result<bool> {
    let n = run!(
        conn,
        sqlx::query(
            "UPDATE alert_runs SET status = $2, finished_at = $3, evaluated = $4, firing = $5,
            posted_lines = $6, resolved = $7, summary = $8, post_id = $9, posted_products = $10
         WHERE id = $1 AND status = $11 AND started_at = $12",
        )
        .bind(id)
        .bind(if ok {
            RunStatus::Done
        } else {
            RunStatus::Failed
        })
        .bind(ts(now))
        .bind(counts.evaluated)
        .bind(counts.firing)
        .bind(counts.posted_lines)
        .bind(counts.resolved)
        .bind(summary)
        .bind(post_id)
        .bind(id_json(posted_products))
        .bind(RunStatus::Running)
        .bind(ts(started)),
        execute
    )?;
    Ok(n == 1)
}

/// A scheduled run still marked running: its process died mid-run, or is running it now.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct UnfinishedRun {
    pub id: AlertRunId,
    pub rule: String,
    #[sqlx(try_from = "StoredTs")]
    pub scheduled_for: DateTime<Utc>,
}

/// The scheduled (and caught-up) runs marked running. Only the scheduler's lease holder starts
/// those, so when a process takes the lease over, these are the dead holder's.
pub async fn unfinished_scheduled_runs(conn: &mut Conn) -> anyhow::Result<Vec<UnfinishedRun>> {
    Ok(run!(
        conn,
        sqlx::query_as(
            "SELECT id, rule, scheduled_for FROM alert_runs
             WHERE status = $1 AND scheduled_for IS NOT NULL ORDER BY id",
        )
        .bind(RunStatus::Running),
        fetch_all
    )?)
}

/// Makes a running run this process's, as if it started at `now`: the process that started it
/// can no longer finish it ([`finish_run`] matches the start). False if it finished meanwhile.
pub async fn take_over_run(
    conn: &mut Conn,
    id: AlertRunId,
    now: DateTime<Utc>,
) -> anyhow::Result<bool> {
    let n = run!(
        conn,
        sqlx::query(
            "UPDATE alert_runs SET started_at = $2 WHERE id = $1 AND status = $3 AND started_at < $2",
        )
        .bind(id)
        .bind(ts(now))
        .bind(RunStatus::Running),
        execute
    )?;
    Ok(n == 1)
}

/// The latest cron time a rule was run for (by schedule or catch-up).
pub async fn last_scheduled(conn: &mut Conn, rule: &str) -> anyhow::Result<Option<DateTime<Utc>>> {
    last_scheduled_of(conn, RunsOf::Rule(rule)).await
}

/// [`last_scheduled`] for any [`RunsOf`].
pub async fn last_scheduled_of(
    conn: &mut Conn,
    of: RunsOf<'_>,
) -> anyhow::Result<Option<DateTime<Utc>>> {
    let t: Option<StoredTs> = run!(
        conn,
        of.bind(sqlx::query(&format!(
            "SELECT MAX(scheduled_for) FROM {} WHERE {} AND scheduled_for IS NOT NULL",
            of.table(),
            of.only(1)
        ))),
        fetch_one,
        |row| sqlx::Row::try_get(&row, 0)
    )?;
    Ok(t.map(Into::into))
}

/// A recorded run.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RunRow {
    /// Id.
    pub id: AlertRunId,
    /// Rule name.
    pub rule: String,
    /// Cron time, if scheduled.
    #[sqlx(try_from = "StoredOptTs")]
    pub scheduled_for: Option<DateTime<Utc>>,
    /// Started.
    #[sqlx(try_from = "StoredTs")]
    pub started_at: DateTime<Utc>,
    /// Finished.
    #[sqlx(try_from = "StoredOptTs")]
    pub finished_at: Option<DateTime<Utc>>,
    pub status: RunStatus,
    /// Counts.
    #[sqlx(flatten)]
    pub counts: RunCounts,
    /// The posted text, or why nothing was posted.
    pub summary: String,
    /// Products listed in its post.
    #[sqlx(try_from = "StoredIds<ProductId>")]
    pub posted_products: Vec<ProductId>,
}

const RUN_COLUMNS: &str = "id, rule, scheduled_for, started_at, finished_at, status, evaluated,
    firing, posted_lines, resolved, summary, posted_products";

/// The latest run of a rule.
pub async fn last_run(conn: &mut Conn, rule: &str) -> anyhow::Result<Option<RunRow>> {
    Ok(run!(
        conn,
        sqlx::query_as(&format!(
            "SELECT {RUN_COLUMNS} FROM alert_runs WHERE rule = $1 ORDER BY id DESC LIMIT 1"
        ))
        .bind(rule),
        fetch_optional
    )?)
}

/// A run by id.
pub async fn run_by_id(conn: &mut Conn, id: AlertRunId) -> anyhow::Result<Option<RunRow>> {
    Ok(run!(
        conn,
        sqlx::query_as(&format!(
            "SELECT {RUN_COLUMNS} FROM alert_runs WHERE id = $1"
        ))
        .bind(id),
        fetch_optional
    )?)
}

/// Takes or renews the named lease for `holder` until `until`; false while another holder's
/// lease has not expired.
pub async fn try_lease(
    conn: &mut Conn,
    name: &str,
    holder: &str,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
) -> anyhow::Result<bool> {
    let n = run!(
        conn,
        sqlx::query(
            "INSERT INTO leases (name, holder, expires_at) VALUES ($1, $2, $3)
         ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at
         WHERE leases.holder = excluded.holder OR leases.expires_at <= $4",
        )
        .bind(name)
        .bind(holder)
        .bind(ts(until))
        .bind(ts(now)),
        execute
    )?;
    Ok(n == 1)
}

/// Gives a lease up (only if `holder` has it).
pub async fn release_lease(conn: &mut Conn, name: &str, holder: &str) -> anyhow::Result<()> {
    run!(
        conn,
        sqlx::query("DELETE FROM leases WHERE name = $1 AND holder = $2")
            .bind(name)
            .bind(holder),
        execute
    )?;
    Ok(())
}

/// The number of SKUs a [`reference_evaluation_sql`] statement yields (its rows are batches).
pub fn reference_row_count_sql(evaluation: &str) -> String {
    format!(
        "SELECT SUM(json_array_length(batch)) FROM ({});\n",
        evaluation.trim_end().trim_end_matches(';')
    )
}

/// The page cache the evaluation runs with, for the `sqlite3` CLI.
pub fn reference_cache_sql() -> String {
    format!("PRAGMA cache_size = -{EVALUATION_CACHE_KIB};\n")
}

/// The SQLite [`evaluation_sql`] with its parameters written in, for the `sqlite3` CLI (the benchmark's
/// side-by-side reference runs exactly what the bot runs, for an unscoped rule).
pub fn reference_evaluation_sql(
    rule: &str,
    today: NaiveDate,
    sales: SalesWindow,
    candidates: Candidates,
) -> String {
    let quote = |s: &str| format!("'{}'", s.replace('\'', "''"));
    let since = sales.last - chrono::Duration::days(sales.days.max(1) - 1);
    // Highest number first, so `$1` does not match inside `$10`-style names (there are 8).
    let values = [
        ("$8", sales.days.to_string()),
        ("$7", quote(rule)),
        ("$6", i64::from(candidates.at_risk).to_string()),
        ("$5", quote(&since.to_string())),
        ("$4", "''".to_string()),
        ("$3", "'[]'".to_string()),
        ("$2", "'[]'".to_string()),
        ("$1", quote(&today.to_string())),
    ];
    let mut sql = evaluation_sql_with(&Spelling::SQLITE);
    for (name, value) in values {
        sql = sql.replace(name, &value);
    }
    sql + ";\n"
}

/// The projected-stock query as the issue states it, over the raw tables (no stored
/// aggregates): counts SKUs at or below their reorder point. Kept beside
/// [`reference_evaluation_sql`] in `bench alerts` as the issue's own yardstick.
pub fn reference_projected_sql(today: NaiveDate) -> String {
    let expecting = super::purchasing::EXPECTING_UNITS;
    format!(
        "WITH bo AS (
            SELECT product_id, SUM(qty - qty_allocated) AS units
            FROM backorders WHERE status = {open} GROUP BY product_id
        ), inb AS (
            SELECT l.product_id,
                SUM(CASE WHEN l.eta IS NOT NULL AND l.eta <= date('{today}', '+' ||
                        COALESCE(p.lead_time_days, s.lead_time_days, 14) || ' days')
                    THEN l.qty_ordered - l.qty_received ELSE 0 END) AS within
            FROM po_lines l
            JOIN products p ON p.id = l.product_id
            LEFT JOIN suppliers s ON s.id = p.supplier_id
            WHERE l.status IN {expecting}
            GROUP BY l.product_id
        )
        SELECT COUNT(*) FROM products p
        LEFT JOIN stock_positions sp ON sp.product_id = p.id
        LEFT JOIN bo ON bo.product_id = p.id
        LEFT JOIN inb ON inb.product_id = p.id
        WHERE COALESCE(sp.on_hand, 0) - COALESCE(sp.allocated, 0) - COALESCE(bo.units, 0)
            + COALESCE(inb.within, 0) <= p.reorder_point;\n",
        open = sql_word!(backorder open)
    )
}

/// Whether someone holds the named lease at `now` (an expired row counts as no one).
pub async fn lease_held(conn: &mut Conn, name: &str, now: DateTime<Utc>) -> anyhow::Result<bool> {
    Ok(run!(
        conn,
        sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM leases WHERE name = $1 AND expires_at > $2)",
        )
        .bind(name)
        .bind(ts(now)),
        fetch_one
    )?)
}

/// Who holds the named lease at `now` (`None`: no one, or it expired).
pub async fn lease_holder(
    conn: &mut Conn,
    name: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<String>> {
    Ok(run!(
        conn,
        sqlx::query_scalar("SELECT holder FROM leases WHERE name = $1 AND expires_at > $2")
            .bind(name)
            .bind(ts(now)),
        fetch_optional
    )?)
}
