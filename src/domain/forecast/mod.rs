//! Demand forecasts from daily sales history: simple exponential smoothing, Croston and the
//! Syntetos–Boylan approximation, the ADI / CV² classification that picks between them, weekday
//! seasonality, and what follows from a forecast (days of cover, stock-out date, safety stock,
//! reorder point), plus a rolling-origin backtest to check the methods on the shop's own history.
//!
//! The methods follow their textbook definitions so a figure can be checked against another
//! implementation (statsforecast, R's `forecast` / `tsintermittent`): see [`Method`].
//!
//! Layout:
//! - `series`: the demand history, whole UTC days with zeros filled in.
//! - `methods`: the one-step fits of each method and the α search.
//! - `classify`: ADI / CV² classes and the automatic method choice.
//! - `season`: weekday indices.
//! - `cover`: days of cover, stock-out date, safety stock, reorder point, inverse normal CDF.
//! - `backtest`: rolling-origin evaluation with WAPE and MASE.
//! - `projection`: what a forecast chart draws: on-hand history rebuilt from the ledger, free stock
//!   projected with its error band.
//!
//! Nothing allocates per day: a forecast allocates its `per_day` vector and nothing else (α
//! search included), a [`DemandSeries`] can be refilled for the next SKU, and the backtest
//! allocates nothing per series, so a million SKUs cost a million small vectors, not ninety
//! million.

mod backtest;
mod classify;
mod cover;
mod methods;
mod projection;
mod season;
mod series;

pub use backtest::{
    backtest_series, Backtest, BacktestOptions, Contender, Metric, Scores, SeriesScores,
};
pub use classify::{classify, Class, Classification, ADI_CUTOFF, CV2_CUTOFF};
pub use cover::{cover, inverse_normal_cdf, reorder_point, safety_stock, Cover, COVER_LIMIT_DAYS};
pub use projection::{on_hand_history, project_free_stock, Projected};
pub use season::{WeekdayIndex, SEASONAL_MIN_DAYS};
pub use series::DemandSeries;

use chrono::{Datelike, Days, NaiveDate};

/// The longest forecast horizon accepted, in days.
pub const MAX_HORIZON: u32 = 3660;

/// Why a forecast could not be made from what was given.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ForecastError {
    #[error("alpha must be above 0 and at most 1, not {0}")]
    AlphaOutOfRange(f64),
    #[error("\"{0}\" is not an alpha (a number above 0 and at most 1, or \"optimize\")")]
    BadAlpha(String),
    #[error("\"{0}\" is not a method (ses, croston, sba or auto)")]
    BadMethod(String),
    #[error("service level must be above 0 and below 1, not {0}")]
    ServiceLevelOutOfRange(f64),
    #[error("no demand recorded before today")]
    EmptySeries,
    #[error("demand of {qty} on {date} is negative")]
    NegativeDemand { date: NaiveDate, qty: i64 },
    #[error("demand of {0} is negative or not a number")]
    BadDemand(f64),
    #[error("inbound of {qty} on {date} is negative")]
    NegativeInbound { date: NaiveDate, qty: i64 },
    #[error("a horizon of {0} days is not between 1 and {MAX_HORIZON}")]
    BadHorizon(u32),
    #[error("backtest origins must be at least a day apart")]
    ZeroStep,
}

/// Smoothing constant of every method: above 0, at most 1.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Alpha(f64);

impl Alpha {
    /// `[forecast] alpha` when not configured.
    pub const DEFAULT: Alpha = Alpha(0.1);

    /// Checks `0 < value ≤ 1` (NaN refused).
    pub fn new(value: f64) -> Result<Self, ForecastError> {
        if value > 0.0 && value <= 1.0 {
            Ok(Alpha(value))
        } else {
            Err(ForecastError::AlphaOutOfRange(value))
        }
    }

    pub fn get(self) -> f64 {
        self.0
    }

    /// The values `optimize` tries: 0.05, 0.10, …, 0.50. Dividing by 20 gives the same doubles
    /// as the literals, where stepping by 0.05 would drift (3 × 0.05 ≠ 0.15).
    pub fn grid() -> impl Iterator<Item = Alpha> {
        (1..=10).map(|k| Alpha(f64::from(k) / 20.0))
    }
}

/// How α is set: fixed, or the grid value with the lowest in-sample one-step MSE.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AlphaChoice {
    Fixed(Alpha),
    Optimize,
}

impl Default for AlphaChoice {
    fn default() -> Self {
        AlphaChoice::Fixed(Alpha::DEFAULT)
    }
}

impl AlphaChoice {
    /// Reads `optimize` or a number such as `0.2`.
    pub fn parse(raw: &str) -> Result<Self, ForecastError> {
        let s = raw.trim();
        if s.eq_ignore_ascii_case("optimize") {
            return Ok(AlphaChoice::Optimize);
        }
        let v: f64 = s
            .parse()
            .map_err(|_| ForecastError::BadAlpha(raw.to_string()))?;
        Alpha::new(v).map(AlphaChoice::Fixed)
    }
}

/// A forecasting method, as defined in the literature.
///
/// With α the smoothing constant and y₀, y₁, … the daily demand:
/// - **SES**: level ℓ₀ = y₀, ℓₜ = ℓₜ₋₁ + α(yₜ − ℓₜ₋₁); the forecast for every later day is the
///   last level.
/// - **Croston (1972)**: demand size z and inter-demand interval p are smoothed with α on demand
///   days only and stay as they are on zero days. The first demand size and the first interval
///   start them; the first interval counts from the day before the series starts, so it is 1 for
///   a history that begins on its first sale (as in statsforecast's `CrostonClassic` and
///   `tsintermittent::crost(init = "naive")`). Forecast = z / p.
/// - **SBA** (Syntetos & Boylan 2005): Croston × (1 − α/2), which removes most of Croston's
///   upward bias (E[z/p] > E[z]/E[p]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    Ses,
    Croston,
    Sba,
}

impl Method {
    pub const ALL: [Method; 3] = [Method::Ses, Method::Croston, Method::Sba];

    /// Stored and JSON form: `ses|croston|sba`.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Ses => "ses",
            Method::Croston => "croston",
            Method::Sba => "sba",
        }
    }
}

impl std::fmt::Display for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A fixed method, or the one the classification picks ([`Class::method`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MethodChoice {
    #[default]
    Auto,
    Fixed(Method),
}

impl MethodChoice {
    /// Reads `ses|croston|sba|auto` (any case).
    pub fn parse(raw: &str) -> Result<Self, ForecastError> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(MethodChoice::Auto),
            "ses" => Ok(MethodChoice::Fixed(Method::Ses)),
            "croston" => Ok(MethodChoice::Fixed(Method::Croston)),
            "sba" => Ok(MethodChoice::Fixed(Method::Sba)),
            _ => Err(ForecastError::BadMethod(raw.to_string())),
        }
    }
}

/// The probability of not running out during a lead time: above 0, below 1.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct ServiceLevel(f64);

impl ServiceLevel {
    /// `service_level` when not configured.
    pub const DEFAULT: ServiceLevel = ServiceLevel(0.95);

    /// Checks `0 < value < 1` (NaN refused).
    pub fn new(value: f64) -> Result<Self, ForecastError> {
        if value > 0.0 && value < 1.0 {
            Ok(ServiceLevel(value))
        } else {
            Err(ForecastError::ServiceLevelOutOfRange(value))
        }
    }

    pub fn get(self) -> f64 {
        self.0
    }

    /// The standard normal quantile of the level: 1.6449 for 0.95.
    pub fn z(self) -> f64 {
        cover::acklam(self.0)
    }
}

/// What to forecast and how.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ForecastOptions {
    pub method: MethodChoice,
    pub alpha: AlphaChoice,
    /// Days forecast, today first.
    pub horizon: u32,
    /// Apply weekday indices once the history is [`SEASONAL_MIN_DAYS`] long.
    pub seasonality: bool,
}

impl Default for ForecastOptions {
    fn default() -> Self {
        ForecastOptions {
            method: MethodChoice::Auto,
            alpha: AlphaChoice::default(),
            horizon: 14,
            seasonality: true,
        }
    }
}

/// One SKU's forecast.
#[derive(Debug, Clone, PartialEq)]
pub struct Forecast {
    pub method: Method,
    pub alpha: Alpha,
    pub classification: Classification,
    /// Units per day before the weekday index: the method's final estimate on the seasonally
    /// adjusted history.
    pub level: f64,
    /// The weekday indices applied, when the history was long enough and seasonality is on.
    pub weekday_index: Option<WeekdayIndex>,
    /// The first forecast day: today, the day after the history ends.
    pub start: NaiveDate,
    /// Units per day from `start`, one value per day of the horizon.
    pub per_day: Vec<f64>,
    /// Root mean square of the in-sample one-step forecast errors (0 without any). Taken about
    /// zero rather than about the mean error, so a biased method gets a wider band, not a
    /// narrower one.
    pub sigma: f64,
}

impl Forecast {
    /// Units forecast `offset` days after `start`, inside or beyond the horizon (the level does
    /// not change; the weekday index repeats).
    pub fn demand_on(&self, offset: u64) -> f64 {
        match &self.weekday_index {
            Some(ix) => self.level * ix.factor_at(weekday_number(self.start), offset),
            None => self.level,
        }
    }

    /// Days in `per_day`.
    pub fn horizon(&self) -> u32 {
        self.per_day.len() as u32
    }
}

/// Forecasts one SKU over `opts.horizon` days from the day after its history ends.
pub fn forecast(series: &DemandSeries, opts: &ForecastOptions) -> Result<Forecast, ForecastError> {
    if opts.horizon == 0 || opts.horizon > MAX_HORIZON {
        return Err(ForecastError::BadHorizon(opts.horizon));
    }
    if series.is_empty() {
        return Err(ForecastError::EmptySeries);
    }
    let model = Model::fit(
        series.values(),
        weekday_number(series.start()),
        opts.method,
        opts.alpha,
        opts.seasonality,
    );
    let start = series.start() + Days::new(series.values().len() as u64);
    let mut f = Forecast {
        method: model.method,
        alpha: model.alpha,
        classification: model.classification,
        level: model.level,
        weekday_index: model.weekday_index,
        start,
        per_day: Vec::with_capacity(opts.horizon as usize),
        sigma: model.sigma,
    };
    for d in 0..u64::from(opts.horizon) {
        let v = f.demand_on(d);
        f.per_day.push(v);
    }
    Ok(f)
}

/// Monday = 0 … Sunday = 6.
fn weekday_number(date: NaiveDate) -> usize {
    date.weekday().num_days_from_monday() as usize
}

/// A fitted method on a history slice, without the per-day vector (the backtest fits one per
/// origin and must not allocate).
#[derive(Debug, Clone, Copy)]
struct Model {
    method: Method,
    alpha: Alpha,
    classification: Classification,
    level: f64,
    weekday_index: Option<WeekdayIndex>,
    /// Weekday number of the day after the history.
    next_weekday: usize,
    sigma: f64,
}

impl Model {
    /// Fits `values` (day 0 on weekday `first_weekday`).
    fn fit(
        values: &[f64],
        first_weekday: usize,
        method: MethodChoice,
        alpha: AlphaChoice,
        seasonality: bool,
    ) -> Model {
        let classification = classify(values);
        let method = match method {
            MethodChoice::Fixed(m) => m,
            MethodChoice::Auto => classification.class.method(),
        };
        let weekday_index = if seasonality {
            WeekdayIndex::estimate(values, first_weekday)
        } else {
            None
        };
        let flat = WeekdayIndex::FLAT;
        let index = weekday_index.as_ref().unwrap_or(&flat);
        let (alpha, fit) = match alpha {
            AlphaChoice::Fixed(a) => (a, methods::fit(values, first_weekday, index, method, a)),
            AlphaChoice::Optimize => methods::optimize(values, first_weekday, index, method),
        };
        Model {
            method,
            alpha,
            classification,
            level: fit.level,
            weekday_index,
            next_weekday: (first_weekday + values.len()) % 7,
            sigma: fit.rmse(),
        }
    }

    /// Units forecast `offset` days after the history.
    fn demand_on(&self, offset: u64) -> f64 {
        match &self.weekday_index {
            Some(ix) => self.level * ix.factor_at(self.next_weekday, offset),
            None => self.level,
        }
    }
}

/// Asserts `got` is within `tol` of `want`, for the tests of every part.
#[cfg(test)]
#[track_caller]
fn assert_close(got: f64, want: f64, tol: f64) {
    assert!((got - want).abs() <= tol, "got {got}, want {want}");
}

#[cfg(test)]
mod tests;
