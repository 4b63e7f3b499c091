//! Stored forecasts (migration 0019): the latest forecast per product, the copy of its rate and
//! method in `stock_positions` that the alert evaluation reads, the job's runs, and the paged
//! read of `demand_daily` the job fits from.

use super::alerts::RunsOf;
use super::{day, parse_day, table_rows, ts, Conn, Engine};
use crate::domain::alerts::RunStatus;
use crate::domain::forecast::Forecast;
use crate::domain::ids::ProductId;
use crate::domain::schedule::{NotStarted, Trigger};
use crate::store::{dialect, run};
use chrono::{DateTime, NaiveDate, Utc};
use std::fmt::Write as _;

/// Lease row of the forecast job's scheduler.
pub const LEASE: &str = "forecast-scheduler";

/// One product's demand history as read: `(day, units)` with units above 0, in day order.
#[derive(Debug, Clone, PartialEq)]
pub struct ProductDemand {
    pub product_id: ProductId,
    pub points: Vec<(NaiveDate, i64)>,
}

/// Page cache (KiB) of the connection reading the pages: each page is read once, in key order.
const READ_CACHE_KIB: i64 = 4096;

/// Readies `conn` for a run of [`demand_page`] calls: a small page cache
/// ([`super::scan_cache`]); [`super::restore_cache`] gives the usual one back.
pub async fn begin_demand_read(conn: &mut Conn) -> anyhow::Result<i64> {
    super::scan_cache(conn, READ_CACHE_KIB).await
}

/// The demand before `to` of the products in `(after, upto]` that have any, read as one packed
/// text row, so a page of thousands of SKUs costs the driver one row, not ninety per SKU.
pub async fn demand_page(
    conn: &mut Conn,
    after: i64,
    upto: i64,
    to: NaiveDate,
) -> anyhow::Result<Vec<ProductDemand>> {
    let sql = dialect!(conn, sqlite: DEMAND_PAGE_SQL, postgres: DEMAND_PAGE_PG);
    let packed: Option<String> = run!(
        conn,
        sqlx::query_scalar(sql).bind(after).bind(upto).bind(day(to)),
        fetch_one
    )?;
    unpack(packed.as_deref().unwrap_or(""))
}

/// The demand rows of a page, packed `product_id day units` per row, rows joined by `,`, in
/// primary-key order: $1 after this product id, $2 up to this one, $3 before this day.
/// `bench forecast` gives the `sqlite3` CLI the same statement over the whole table.
pub const DEMAND_PAGE_SQL: &str =
    "SELECT group_concat(product_id || ' ' || day || ' ' || units, ',')
    FROM (SELECT product_id, day, units FROM demand_daily
          WHERE product_id > $1 AND product_id <= $2 AND day < $3 AND units > 0
          ORDER BY product_id, day)";

/// [`DEMAND_PAGE_SQL`] on PostgreSQL, whose aggregates keep a subquery's order only when told
/// (`string_agg(… ORDER BY …)`; a date reads as `YYYY-MM-DD`).
const DEMAND_PAGE_PG: &str =
    "SELECT string_agg(product_id || ' ' || day || ' ' || units, ',' ORDER BY product_id, day)
    FROM demand_daily
    WHERE product_id > $1 AND product_id <= $2 AND day < $3 AND units > 0";

fn unpack(packed: &str) -> anyhow::Result<Vec<ProductDemand>> {
    let mut out: Vec<ProductDemand> = Vec::new();
    for row in packed.split(',').filter(|r| !r.is_empty()) {
        let mut parts = row.split(' ');
        let (Some(pid), Some(d), Some(units)) = (parts.next(), parts.next(), parts.next()) else {
            anyhow::bail!("demand page: unreadable row {row:?}");
        };
        let pid: i64 = pid.parse()?;
        let point = (parse_day(d)?, units.parse::<i64>()?);
        match out.last_mut() {
            Some(last) if last.product_id.0 == pid => last.points.push(point),
            _ => out.push(ProductDemand {
                product_id: ProductId(pid),
                points: vec![point],
            }),
        }
    }
    Ok(out)
}

/// A forecast to store.
#[derive(Debug, Clone)]
pub struct ForecastRow<'a> {
    pub product_id: ProductId,
    pub forecast: &'a Forecast,
    /// Units per day for the alerts.
    pub rate: f64,
    pub history_start: NaiveDate,
}

/// Writes the forecasts of the products in `(after, upto]` inside the caller's write
/// transaction: upserts `rows`, drops the stored forecasts of that range not in `rows` (no
/// demand any more), and keeps `stock_positions`' copy of rate and method in step. Returns the
/// rows written.
pub async fn save_page(
    conn: &mut Conn,
    after: i64,
    upto: i64,
    rows: &[ForecastRow<'_>],
    now: DateTime<Utc>,
) -> anyhow::Result<u64> {
    let mut json = String::with_capacity(rows.len() * 260 + 2);
    json.push('[');
    for (i, r) in rows.iter().enumerate() {
        let f = r.forecast;
        if i > 0 {
            json.push(',');
        }
        let index = match &f.weekday_index {
            Some(ix) => {
                let parts: Vec<String> = ix.factors().iter().map(|v| finite(*v)).collect();
                format!("\"[{}]\"", parts.join(","))
            }
            None => "null".into(),
        };
        write!(
            json,
            "{{\"product_id\":{},\"method\":\"{}\",\"alpha\":{},\"classification\":\"{}\",\
             \"level\":{},\"weekday_index\":{},\"rate\":{},\"sigma\":{},\"start\":\"{}\",\
             \"history_start\":\"{}\"}}",
            r.product_id.0,
            f.method.as_str(),
            finite(f.alpha.get()),
            f.classification.class.as_str(),
            finite(f.level),
            index,
            finite(r.rate),
            finite(f.sigma),
            day(f.start),
            day(r.history_start),
        )?;
    }
    json.push(']');
    let now = ts(now);
    // The refresh walks the whole table once: pages written by the last page's transaction are
    // not needed again, and kept they would grow this pooled connection's cache to its full size
    // (64 MB) over a big shop and stay there. Clean pages only: nothing is lost. (PostgreSQL's
    // buffers are the server's.)
    if let Engine::Sqlite(c) = conn.engine() {
        sqlx::query("PRAGMA shrink_memory").execute(&mut *c).await?;
    }
    let forecasts = table_rows(
        conn,
        1,
        "forecasts",
        &[
            "product_id",
            "method",
            "alpha",
            "classification",
            "level",
            "weekday_index",
            "rate",
            "sigma",
            "start",
            "history_start",
        ],
    );
    // `WHERE true`: SQLite reads an ON CONFLICT after a bare SELECT's FROM as a join constraint.
    run!(
        conn,
        sqlx::query(&format!(
        "INSERT INTO forecasts (product_id, method, alpha, classification, level, weekday_index,
            rate, sigma, start, history_start, computed_at)
         SELECT f.product_id, f.method, f.alpha, f.classification, f.level, f.weekday_index,
            f.rate, f.sigma, f.start, f.history_start, $2
         FROM {forecasts} AS f WHERE true
         ON CONFLICT (product_id) DO UPDATE SET method = excluded.method, alpha = excluded.alpha,
            classification = excluded.classification, level = excluded.level,
            weekday_index = excluded.weekday_index, rate = excluded.rate, sigma = excluded.sigma,
            start = excluded.start, history_start = excluded.history_start,
            computed_at = excluded.computed_at",
    ))
        .bind(&json)
        .bind(now),
        execute
    )?;
    run!(conn, sqlx::query(
        "DELETE FROM forecasts WHERE product_id > $1 AND product_id <= $2 AND computed_at <> $3",
    )
    .bind(after)
    .bind(upto)
    .bind(now), execute)?;
    run!(
        conn,
        sqlx::query(&format!(
            "INSERT INTO stock_positions (product_id, forecast_rate, forecast_method)
         SELECT f.product_id, f.rate, f.method FROM {forecasts} AS f WHERE true
         ON CONFLICT (product_id) DO UPDATE SET forecast_rate = excluded.forecast_rate,
            forecast_method = excluded.forecast_method",
        ))
        .bind(&json),
        execute
    )?;
    run!(
        conn,
        sqlx::query(
            "UPDATE stock_positions SET forecast_rate = NULL, forecast_method = NULL
         WHERE product_id > $1 AND product_id <= $2 AND forecast_rate IS NOT NULL
           AND product_id NOT IN (SELECT product_id FROM forecasts
                                  WHERE product_id > $1 AND product_id <= $2)",
        )
        .bind(after)
        .bind(upto),
        execute
    )?;
    Ok(rows.len() as u64)
}

/// A JSON number (a non-finite figure, which no fit of finite demand yields, as 0).
fn finite(v: f64) -> String {
    if v.is_finite() {
        v.to_string()
    } else {
        "0".into()
    }
}

/// Records the start of a refresh unless one is running (one older than `stale_before` is taken
/// for dead) or this cron time was run already. Call in a write transaction.
pub async fn start_run(
    conn: &mut Conn,
    scheduled_for: Option<DateTime<Utc>>,
    trigger: Trigger,
    now: DateTime<Utc>,
    stale_before: DateTime<Utc>,
) -> anyhow::Result<Result<i64, NotStarted>> {
    super::alerts::start_run_of(
        conn,
        RunsOf::ForecastRefresh,
        scheduled_for,
        trigger,
        now,
        stale_before,
    )
    .await
}

/// Records the end of a refresh.
pub async fn finish_run(
    conn: &mut Conn,
    id: i64,
    status: RunStatus,
    skus: u64,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    run!(
        conn,
        sqlx::query(
            "UPDATE forecast_runs SET status = $2, finished_at = $3, skus = $4 WHERE id = $1"
        )
        .bind(id)
        .bind(status)
        .bind(ts(now))
        .bind(skus as i64),
        execute
    )?;
    Ok(())
}

/// The latest cron time a refresh was run for.
pub async fn last_scheduled(conn: &mut Conn) -> anyhow::Result<Option<DateTime<Utc>>> {
    super::alerts::last_scheduled_of(conn, RunsOf::ForecastRefresh).await
}
