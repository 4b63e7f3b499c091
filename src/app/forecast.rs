//! Demand forecasts (issue 20): one SKU's forecast with what it means for its stock, and a
//! rolling-origin backtest of the methods over the whole shop's history. Reads only.
//!
//! The history is `demand_daily` (migration 0018: order lines, ledger sales and imported sales),
//! whole UTC days from the SKU's first demand up to and including yesterday.

use super::{App, AppError, AppResult};
use crate::domain::date::earliest;
use crate::domain::forecast::{
    self, backtest_series, cover, reorder_point, safety_stock, Backtest, BacktestOptions,
    Contender, Cover, DemandSeries, Forecast, ForecastError, ForecastOptions, Method, MethodChoice,
    Metric, MAX_HORIZON,
};
use crate::domain::stock::free_to_promise;
use crate::store;
use chrono::NaiveDate;

/// Lead time of a product whose product and supplier have none, as the alerts assume.
pub const DEFAULT_LEAD_TIME_DAYS: u32 = 14;

/// SKUs the backtest lists as its worst.
pub const WORST_SKUS: usize = 10;

/// Days between backtest origins: a week, so each origin meets every weekday once in between
/// and a shop's history costs a handful of fits per SKU rather than one per day.
pub const BACKTEST_STEP_DAYS: usize = 7;

/// Checks `--horizon`.
pub fn horizon(days: u32) -> AppResult<u32> {
    if days == 0 || days > MAX_HORIZON {
        return Err(AppError::invalid(
            "--horizon",
            ForecastError::BadHorizon(days),
        ));
    }
    Ok(days)
}

/// Reads `--method` (`ses|croston|sba|auto`).
pub fn method(raw: &str) -> AppResult<MethodChoice> {
    MethodChoice::parse(raw).map_err(|e| AppError::invalid("--method", e))
}

/// A PO line still to arrive.
#[derive(Debug, Clone, PartialEq)]
pub struct Inbound {
    pub po_number: String,
    pub units: i64,
    /// `None`: no ETA, so it cannot be placed in time and the stock-out date leaves it out.
    pub eta: Option<NaiveDate>,
}

/// One SKU's forecast and what follows for its stock.
#[derive(Debug, Clone, PartialEq)]
pub struct SkuForecast {
    pub sku: String,
    /// The first and last day of the history.
    pub history: (NaiveDate, NaiveDate),
    /// Whether the method was picked by the classification.
    pub auto: bool,
    pub forecast: Forecast,
    /// On hand less allocated and owed to open backorders.
    pub free_stock: i64,
    pub inbound: Vec<Inbound>,
    pub lead_time_days: u32,
    /// The lead time is [`DEFAULT_LEAD_TIME_DAYS`], neither product nor supplier having one.
    pub lead_time_assumed: bool,
    pub cover: Cover,
    pub safety_stock: f64,
    pub reorder_point: f64,
}

impl SkuForecast {
    pub fn method(&self) -> Method {
        self.forecast.method
    }
}

/// `backorder-bot forecast --sku`: forecasts `sku` over `horizon` days from today.
pub async fn forecast_sku(
    app: &App,
    sku: &str,
    method: MethodChoice,
    horizon_days: u32,
) -> AppResult<SkuForecast> {
    let horizon_days = horizon(horizon_days)?;
    let mut conn = app.store.reader().await?;
    let product = app.product(&mut conn, sku).await?;
    let today = app.clock.now().date_naive();
    let points = store::demand::demand_of_product(&mut conn, product.id, earliest(), today).await?;
    let series = match DemandSeries::from_points(&points, today) {
        Ok(s) => s,
        Err(ForecastError::EmptySeries) => {
            return Err(AppError::Refused(format!(
                "{} has no demand recorded before today: nothing to forecast from (`backorder-bot import sales` loads past sales)",
                product.sku
            )))
        }
        Err(e) => return Err(anyhow::Error::new(e).into()),
    };
    let opts = ForecastOptions {
        method,
        alpha: app.settings.forecast.alpha,
        horizon: horizon_days,
        seasonality: true,
    };
    let f = forecast::forecast(&series, &opts).map_err(anyhow::Error::new)?;
    let (pos, _, owed) = store::stock::position_with_backorders(&mut conn, product.id).await?;
    let free_stock = free_to_promise(pos.on_hand, pos.allocated, owed);
    let inbound: Vec<Inbound> = store::purchasing::inbound_for_product(&mut conn, product.id)
        .await?
        .into_iter()
        .map(|l| Inbound {
            units: l.remaining(),
            po_number: l.po_number,
            eta: l.eta,
        })
        .filter(|i| i.units > 0)
        .collect();
    let dated: Vec<(NaiveDate, i64)> = inbound
        .iter()
        .filter_map(|i| i.eta.map(|d| (d, i.units)))
        .collect();
    let c = cover(&f, free_stock, &dated).map_err(anyhow::Error::new)?;
    let lead = product
        .effective_lead_time()
        .and_then(|d| u32::try_from(d).ok());
    let lead_time_days = lead.unwrap_or(DEFAULT_LEAD_TIME_DAYS);
    let level = app.settings.forecast.service_level;
    Ok(SkuForecast {
        sku: product.sku,
        history: (series.start(), series.end()),
        auto: method == MethodChoice::Auto,
        safety_stock: safety_stock(&f, level, lead_time_days),
        reorder_point: reorder_point(&f, level, lead_time_days),
        forecast: f,
        free_stock,
        inbound,
        lead_time_days,
        lead_time_assumed: lead.is_none(),
        cover: c,
    })
}

/// What the backtest found.
#[derive(Debug, Clone)]
pub struct BacktestReport {
    pub options: BacktestOptions,
    /// Pooled figures per contender and the worst SKUs by [`WORST_BY`].
    pub results: Backtest<String>,
}

/// The contender and metric the worst SKUs are ranked by: the MASE of the method each SKU would
/// get, which compares SKUs of any volume.
pub const WORST_BY: (Contender, Metric) = (Contender::Auto, Metric::Mase);

/// `backorder-bot forecast --backtest`: a rolling-origin backtest of every SKU with demand,
/// origins [`BACKTEST_STEP_DAYS`] apart from day 28 of its history, `horizon_days` ahead.
pub async fn backtest(app: &App, horizon_days: u32) -> AppResult<BacktestReport> {
    let options = BacktestOptions {
        horizon: horizon(horizon_days)?,
        step: BACKTEST_STEP_DAYS,
        alpha: app.settings.forecast.alpha,
        ..BacktestOptions::default()
    };
    let today = app.clock.now().date_naive();
    let mut results = Backtest::new(WORST_SKUS, WORST_BY.0, WORST_BY.1);
    let mut series = DemandSeries::from_daily(today, &[1.0]).map_err(anyhow::Error::new)?;
    let mut conn = app.store.reader().await?;
    let mut after = 0;
    while let Some(upto) = store::demand::page_end(&mut conn, after, REFRESH_PAGE).await? {
        for d in store::forecasts::demand_page(&mut conn, after, upto, today).await? {
            series
                .refill(&d.points, today)
                .map_err(anyhow::Error::new)?;
            let scores = backtest_series(&series, &options).map_err(anyhow::Error::new)?;
            results.add(d.product_id, scores);
        }
        after = upto;
    }
    // Only the worst SKUs are shown: their SKUs are looked up, not every one's.
    let mut skus = std::collections::HashMap::new();
    for (id, _) in results.worst() {
        if let Some(p) = store::products::by_id(&mut conn, *id).await? {
            skus.insert(*id, p.sku);
        }
    }
    let results = results.map_keys(|id| skus.remove(&id).unwrap_or_else(|| id.0.to_string()));
    Ok(BacktestReport { options, results })
}

/// The most days of history a chart draws.
pub const MAX_CHART_DAYS: u32 = 365;

/// Days a chart projects free stock ahead when no inbound arrives later.
pub const CHART_AHEAD_DAYS: u32 = 28;

/// The furthest a chart projects, to show a late ETA.
pub const MAX_CHART_AHEAD_DAYS: u32 = 90;

/// Everything `/forecast` shows: the figures, and what its chart draws.
#[derive(Debug, Clone, PartialEq)]
pub struct ForecastChart {
    pub figures: SkuForecast,
    pub product_name: String,
    /// On hand at the end of each day of the window, oldest first; the last is today's.
    pub on_hand: Vec<(NaiveDate, i64)>,
    /// Free stock projected from today with its band ([`forecast::project_free_stock`]).
    pub projection: Vec<forecast::Projected>,
    /// The z of the band: the service level's, as the safety stock uses.
    pub band_z: f64,
    pub service_level: f64,
}

/// Checks `days:` of `/forecast` (the history drawn).
pub fn chart_days(days: i64) -> AppResult<u32> {
    match u32::try_from(days) {
        Ok(d) if (1..=MAX_CHART_DAYS).contains(&d) => Ok(d),
        _ => Err(AppError::invalid(
            "days",
            format!("{days} is not a number of days between 1 and {MAX_CHART_DAYS}"),
        )),
    }
}

/// `/forecast sku: days:`: the forecast of `sku` (automatic method, `horizon_days` ahead), its
/// on-hand over the last `history_days` days and its free stock projected ahead, far enough to
/// show every dated inbound up to [`MAX_CHART_AHEAD_DAYS`].
pub async fn forecast_chart(
    app: &App,
    sku: &str,
    history_days: i64,
    horizon_days: u32,
) -> AppResult<ForecastChart> {
    let history_days = chart_days(history_days)?;
    let figures = forecast_sku(app, sku, MethodChoice::Auto, horizon_days).await?;
    let today = app.clock.now().date_naive();
    let from = today - chrono::Days::new(u64::from(history_days));
    let mut conn = app.store.reader().await?;
    let product = app.product(&mut conn, &figures.sku).await?;
    let net = store::stock::net_movements_by_day(&mut conn, product.id, from).await?;
    let on_hand_now = store::stock::position(&mut conn, product.id).await?.on_hand;
    drop(conn);
    let dated: Vec<(NaiveDate, i64)> = figures
        .inbound
        .iter()
        .filter_map(|i| i.eta.map(|d| (d, i.units)))
        .collect();
    let last_eta = dated
        .iter()
        .map(|(d, _)| (*d - figures.forecast.start).num_days() + 1)
        .max()
        .unwrap_or(0);
    let ahead = u32::try_from(last_eta)
        .unwrap_or(0)
        .clamp(CHART_AHEAD_DAYS, MAX_CHART_AHEAD_DAYS);
    let level = app.settings.forecast.service_level;
    let projection = forecast::project_free_stock(
        &figures.forecast,
        figures.free_stock,
        &dated,
        ahead,
        level.z(),
    );
    Ok(ForecastChart {
        on_hand: forecast::on_hand_history(on_hand_now, &net, from, today),
        projection,
        band_z: level.z(),
        service_level: level.get(),
        product_name: product.name,
        figures,
    })
}

/// Products per page of [`refresh_all`]: one read and one write transaction each. A page's write
/// (a few thousand upserts) holds the writer's turn for tens of milliseconds, far under the
/// second the service's writes may wait.
pub const REFRESH_PAGE: i64 = 5000;

/// Tasks reading pages for [`refresh_all`]: one per core of the machine it was sized for.
const READERS: usize = 2;

/// Days behind a stored forecast's rate: two whole weeks, so the weekday index averages out.
pub const RATE_DAYS: u32 = 14;

/// What a refresh did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RefreshReport {
    /// SKUs forecast and stored.
    pub forecasts: u64,
    /// Write transactions.
    pub writes: u64,
    /// The longest time one write held the writer's turn.
    pub longest_write: std::time::Duration,
    /// Shutdown came before the last page: the pages not written keep their previous forecasts.
    pub interrupted: bool,
}

/// `backorder-bot forecast --refresh` and the nightly job: forecasts every SKU with demand
/// (method by classification, `[forecast] alpha`, weekday seasonality) from today and stores
/// each one's forecast, a page of products at a time: [`READERS`] tasks read pages ahead of the
/// fitting, and each page is written in its own short transaction, so the service's writes wait
/// at most one page. Stops between pages once `shutdown` is set.
#[tracing::instrument(skip_all, err)]
pub async fn refresh_all(
    app: &App,
    shutdown: Option<&crate::shutdown::Shutdown>,
) -> AppResult<RefreshReport> {
    let now = app.clock.now();
    let today = now.date_naive();
    let opts = ForecastOptions {
        method: MethodChoice::Auto,
        alpha: app.settings.forecast.alpha,
        horizon: RATE_DAYS,
        seasonality: true,
    };
    // Pages are read by tasks of their own, each on its own connection and taking every
    // READERS-th page, ahead of the fitting and writing here: reading is most of the work, and
    // this way it uses both cores. Pages are written in the order they come; each write covers
    // its own range of ids.
    let (tx, mut rx) = tokio::sync::mpsc::channel(READERS);
    let mut readers = tokio::task::JoinSet::new();
    for r in 0..READERS {
        let (store, tx) = (app.store.clone(), tx.clone());
        readers.spawn(async move {
            let mut conn = store.conn().await?;
            let usual = store::forecasts::begin_demand_read(&mut conn).await?;
            let read = async {
                let (mut after, mut n) = (0, 0);
                while let Some(upto) =
                    store::demand::page_end(&mut conn, after, REFRESH_PAGE).await?
                {
                    if n % READERS == r {
                        let page =
                            store::forecasts::demand_page(&mut conn, after, upto, today).await?;
                        if tx.send((after, upto, page)).await.is_err() {
                            break;
                        }
                    }
                    (after, n) = (upto, n + 1);
                }
                anyhow::Ok(())
            };
            let read = read.await;
            store::restore_cache(&mut conn, usual).await?;
            read
        });
    }
    drop(tx);
    let mut report = RefreshReport::default();
    let mut series = DemandSeries::from_daily(today, &[1.0]).map_err(anyhow::Error::new)?;
    let mut fitted: Vec<(crate::domain::ids::ProductId, Forecast, NaiveDate)> = Vec::new();
    while let Some((after, upto, page)) = rx.recv().await {
        fitted.clear();
        for p in &page {
            // A history with nothing before today has nothing to fit (its stored forecast goes).
            if series.refill(&p.points, today).is_err() {
                continue;
            }
            let f = forecast::forecast(&series, &opts).map_err(anyhow::Error::new)?;
            fitted.push((p.product_id, f, series.start()));
        }
        let rows: Vec<store::forecasts::ForecastRow<'_>> = fitted
            .iter()
            .map(|(id, f, start)| store::forecasts::ForecastRow {
                product_id: *id,
                rate: f.per_day.iter().sum::<f64>() / f64::from(RATE_DAYS),
                forecast: f,
                history_start: *start,
            })
            .collect();
        let mut w = app.store.begin_write().await?;
        let held = std::time::Instant::now();
        report.forecasts += store::forecasts::save_page(&mut w, after, upto, &rows, now).await?;
        w.commit().await?;
        report.longest_write = report.longest_write.max(held.elapsed());
        report.writes += 1;
        if shutdown.is_some_and(crate::shutdown::Shutdown::is_shutdown) {
            report.interrupted = true;
            break;
        }
    }
    drop(rx);
    while let Some(read) = readers.join_next().await {
        read.map_err(|e| anyhow::anyhow!("forecast page reader: {e}"))??;
    }
    Ok(report)
}
