//! Rolling-origin backtest: from each origin, fit on the days before it and forecast the next
//! `horizon` days, then score the forecasts against what was sold.
//!
//! - WAPE = Σ|actual − forecast| / Σ actual, over every forecast day of every origin; `None` when
//!   nothing was sold in the forecast days.
//! - MASE (Hyndman & Koehler 2006) = mean of |actual − forecast| / scale, with scale the
//!   in-sample MAE of the one-step naive forecast (mean |yₜ − yₜ₋₁|) on that origin's training
//!   days. An origin whose training days are all equal has scale 0 and no MASE term; a series
//!   with none has no MASE.
//! - Across series, WAPE pools the sums (big sellers weigh more) and MASE is the mean of the
//!   series' MASE (each SKU counts once), the usual aggregation of each.
//!
//! The naive forecast (the last day's demand, for every day of the horizon) is scored alongside,
//! so a method's figures read against the simplest possible forecast.

use super::{AlphaChoice, DemandSeries, ForecastError, Method, MethodChoice, Model, MAX_HORIZON};

/// What a backtest scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Contender {
    /// Last day's demand.
    Naive,
    Ses,
    Croston,
    Sba,
    /// The method the classification picks at each origin.
    Auto,
}

impl Contender {
    pub const ALL: [Contender; 5] = [
        Contender::Naive,
        Contender::Ses,
        Contender::Croston,
        Contender::Sba,
        Contender::Auto,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Contender::Naive => "naive",
            Contender::Ses => "ses",
            Contender::Croston => "croston",
            Contender::Sba => "sba",
            Contender::Auto => "auto",
        }
    }

    fn slot(self) -> usize {
        self as usize
    }

    fn method(self) -> Option<MethodChoice> {
        match self {
            Contender::Naive => None,
            Contender::Ses => Some(MethodChoice::Fixed(Method::Ses)),
            Contender::Croston => Some(MethodChoice::Fixed(Method::Croston)),
            Contender::Sba => Some(MethodChoice::Fixed(Method::Sba)),
            Contender::Auto => Some(MethodChoice::Auto),
        }
    }
}

/// The two figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    Wape,
    Mase,
}

/// How the backtest runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BacktestOptions {
    /// Days forecast from each origin.
    pub horizon: u32,
    /// Days of history before the first origin (at least 1 is used).
    pub min_train: usize,
    /// Days between origins.
    pub step: usize,
    pub alpha: AlphaChoice,
    pub seasonality: bool,
}

impl Default for BacktestOptions {
    /// Origins every day from day 28 on, 14 days ahead, as the forecasts run.
    fn default() -> Self {
        BacktestOptions {
            horizon: 14,
            min_train: 28,
            step: 1,
            alpha: AlphaChoice::default(),
            seasonality: true,
        }
    }
}

/// Error sums of one contender.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Scores {
    /// Σ |actual − forecast|.
    pub abs_error: f64,
    /// Σ actual.
    pub actual: f64,
    /// Σ |actual − forecast| / scale, over the points with a non-zero scale.
    pub scaled_error: f64,
    /// Points in `scaled_error`.
    pub scaled_points: u32,
}

impl Scores {
    pub fn wape(&self) -> Option<f64> {
        (self.actual > 0.0).then(|| self.abs_error / self.actual)
    }

    pub fn mase(&self) -> Option<f64> {
        (self.scaled_points > 0).then(|| self.scaled_error / f64::from(self.scaled_points))
    }

    pub fn get(&self, metric: Metric) -> Option<f64> {
        match metric {
            Metric::Wape => self.wape(),
            Metric::Mase => self.mase(),
        }
    }

    fn add(&mut self, actual: f64, forecast: f64, scale: f64) {
        let e = (actual - forecast).abs();
        self.abs_error += e;
        self.actual += actual;
        if scale > 0.0 {
            self.scaled_error += e / scale;
            self.scaled_points += 1;
        }
    }

    fn merge(&mut self, other: &Scores) {
        self.abs_error += other.abs_error;
        self.actual += other.actual;
        self.scaled_error += other.scaled_error;
        self.scaled_points += other.scaled_points;
    }
}

/// One series' scores, per contender.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct SeriesScores {
    /// Origins scored; 0 when the series is shorter than `min_train + horizon`.
    pub origins: u32,
    by: [Scores; 5],
}

impl SeriesScores {
    pub fn get(&self, c: Contender) -> &Scores {
        &self.by[c.slot()]
    }
}

/// Backtests one series: origins at `min_train`, `min_train + step`, … while a whole horizon
/// of actuals follows. No allocation: each origin refits on a prefix of the series.
pub fn backtest_series(
    series: &DemandSeries,
    opts: &BacktestOptions,
) -> Result<SeriesScores, ForecastError> {
    if opts.horizon == 0 || opts.horizon > MAX_HORIZON {
        return Err(ForecastError::BadHorizon(opts.horizon));
    }
    if opts.step == 0 {
        return Err(ForecastError::ZeroStep);
    }
    if series.is_empty() {
        return Err(ForecastError::EmptySeries);
    }
    let y = series.values();
    let h = opts.horizon as usize;
    let first_weekday = super::weekday_number(series.start());
    let mut out = SeriesScores::default();
    // Σ|yₜ − yₜ₋₁| for t < `scaled_to`, grown as the origins move on.
    let (mut naive_abs, mut scaled_to) = (0.0, 1usize);
    let mut origin = opts.min_train.max(1);
    while origin + h <= y.len() {
        let train = &y[..origin];
        while scaled_to < origin {
            naive_abs += (y[scaled_to] - y[scaled_to - 1]).abs();
            scaled_to += 1;
        }
        let scale = if origin > 1 {
            naive_abs / (origin - 1) as f64
        } else {
            0.0
        };
        let actuals = &y[origin..origin + h];
        for c in Contender::ALL {
            let scores = &mut out.by[c.slot()];
            match c.method() {
                None => {
                    let last = train[origin - 1];
                    for &a in actuals {
                        scores.add(a, last, scale);
                    }
                }
                Some(method) => {
                    let m = Model::fit(train, first_weekday, method, opts.alpha, opts.seasonality);
                    for (k, &a) in actuals.iter().enumerate() {
                        scores.add(a, m.demand_on(k as u64), scale);
                    }
                }
            }
        }
        out.origins += 1;
        origin += opts.step;
    }
    Ok(out)
}

/// Backtest results over many series: pooled figures per contender, and the worst series by one
/// contender's metric. Memory stays bounded by the number of worst series kept, whatever the
/// number of SKUs.
#[derive(Debug, Clone)]
pub struct Backtest<K> {
    total: [Scores; 5],
    mase_sum: [f64; 5],
    mase_series: [u32; 5],
    scored: u32,
    skipped: u32,
    worst_n: usize,
    rank_by: (Contender, Metric),
    /// Unordered; at most `worst_n`.
    worst: Vec<(K, SeriesScores, f64)>,
}

impl<K> Backtest<K> {
    /// Keeps the `worst_n` series with the highest `metric` of `contender`.
    pub fn new(worst_n: usize, contender: Contender, metric: Metric) -> Self {
        Backtest {
            total: [Scores::default(); 5],
            mase_sum: [0.0; 5],
            mase_series: [0; 5],
            scored: 0,
            skipped: 0,
            worst_n,
            rank_by: (contender, metric),
            worst: Vec::with_capacity(worst_n),
        }
    }

    /// Adds one series' scores under `key` (a SKU). A series without origins counts as skipped.
    pub fn add(&mut self, key: K, scores: SeriesScores) {
        if scores.origins == 0 {
            self.skipped += 1;
            return;
        }
        self.scored += 1;
        for c in Contender::ALL {
            let s = scores.get(c);
            self.total[c.slot()].merge(s);
            if let Some(m) = s.mase() {
                self.mase_sum[c.slot()] += m;
                self.mase_series[c.slot()] += 1;
            }
        }
        let (c, metric) = self.rank_by;
        let Some(v) = scores.get(c).get(metric) else {
            return;
        };
        if self.worst.len() < self.worst_n {
            self.worst.push((key, scores, v));
        } else if let Some(least) = self
            .worst
            .iter_mut()
            .min_by(|a, b| a.2.total_cmp(&b.2))
            .filter(|least| v > least.2)
        {
            *least = (key, scores, v);
        }
    }

    /// Series scored.
    pub fn scored(&self) -> u32 {
        self.scored
    }

    /// Series too short for one origin.
    pub fn skipped(&self) -> u32 {
        self.skipped
    }

    /// Pooled WAPE of `c` over all series.
    pub fn wape(&self, c: Contender) -> Option<f64> {
        self.total[c.slot()].wape()
    }

    /// Mean of the series' MASE of `c`.
    pub fn mase(&self, c: Contender) -> Option<f64> {
        let n = self.mase_series[c.slot()];
        (n > 0).then(|| self.mase_sum[c.slot()] / f64::from(n))
    }

    /// The same figures with each kept series' key mapped by `f` (a product id to its SKU).
    pub fn map_keys<L>(self, mut f: impl FnMut(K) -> L) -> Backtest<L> {
        Backtest {
            total: self.total,
            mase_sum: self.mase_sum,
            mase_series: self.mase_series,
            scored: self.scored,
            skipped: self.skipped,
            worst_n: self.worst_n,
            rank_by: self.rank_by,
            worst: self
                .worst
                .into_iter()
                .map(|(k, s, v)| (f(k), s, v))
                .collect(),
        }
    }

    /// The worst series kept, worst first (ties in the order they were added).
    pub fn worst(&self) -> Vec<(&K, &SeriesScores)> {
        let mut w: Vec<_> = self.worst.iter().collect();
        w.sort_by(|a, b| b.2.total_cmp(&a.2));
        w.into_iter().map(|(k, s, _)| (k, s)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::forecast::Alpha;
    use chrono::NaiveDate;

    /// 2026-01-05, a Monday.
    fn monday() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 1, 5).unwrap()
    }

    fn series(values: &[f64]) -> DemandSeries {
        DemandSeries::from_daily(monday(), values).unwrap()
    }

    #[track_caller]
    fn close(got: Option<f64>, want: f64, tol: f64) {
        crate::domain::forecast::assert_close(got.expect("a figure"), want, tol);
    }

    fn fixed(alpha: f64) -> AlphaChoice {
        AlphaChoice::Fixed(Alpha::new(alpha).unwrap())
    }

    #[test]
    fn scores_by_hand() {
        // y = 4, 2, 6, 4; horizon 1, origins from day 2, SES with α = 0.5.
        // origin 2: train 4, 2 → ℓ = 4 + 0.5·(2 − 4) = 3; actual 6, |e| 3; naive 2, |e| 4;
        //           scale |2 − 4| = 2.
        // origin 3: train 4, 2, 6 → ℓ = 3 + 0.5·(6 − 3) = 4.5; actual 4, |e| 0.5; naive 6,
        //           |e| 2; scale (2 + 4)/2 = 3.
        // SES:   WAPE 3.5/10 = 0.35, MASE (3/2 + 0.5/3)/2 = 5/6.
        // naive: WAPE 6/10 = 0.6,    MASE (4/2 + 2/3)/2 = 4/3.
        let opts = BacktestOptions {
            horizon: 1,
            min_train: 2,
            step: 1,
            alpha: fixed(0.5),
            seasonality: false,
        };
        let s = backtest_series(&series(&[4.0, 2.0, 6.0, 4.0]), &opts).unwrap();
        assert_eq!(s.origins, 2);
        close(s.get(Contender::Ses).wape(), 0.35, 1e-12);
        close(s.get(Contender::Ses).mase(), 5.0 / 6.0, 1e-12);
        close(s.get(Contender::Naive).wape(), 0.6, 1e-12);
        close(s.get(Contender::Naive).mase(), 4.0 / 3.0, 1e-12);
    }

    #[test]
    fn constant_demand_is_forecast_exactly_except_by_sba() {
        // 5 a day for 60 days. SES stays at 5; Croston's size is 5 and every interval 1, so 5;
        // naive repeats 5. SBA forecasts 5 × (1 − 0.1/2) = 4.75: WAPE 0.25/5 = 0.05. Training
        // days are all equal, so the naive scale is 0 and no MASE exists.
        let s = backtest_series(&series(&[5.0; 60]), &BacktestOptions::default()).unwrap();
        assert_eq!(s.origins, 60 - 28 - 14 + 1);
        for c in [
            Contender::Naive,
            Contender::Ses,
            Contender::Croston,
            Contender::Auto,
        ] {
            close(s.get(c).wape(), 0.0, 1e-12);
            assert_eq!(s.get(c).mase(), None);
        }
        close(s.get(Contender::Sba).wape(), 0.05, 1e-12);
    }

    /// 18 weeks from a Monday: 10 on weekdays, 30 on Saturdays, 2 on Sundays.
    fn weekday_pattern() -> DemandSeries {
        let week = [10.0, 10.0, 10.0, 10.0, 10.0, 30.0, 2.0];
        let y: Vec<f64> = week.iter().copied().cycle().take(18 * 7).collect();
        series(&y)
    }

    #[test]
    fn seasonality_wins_on_a_pure_weekday_pattern() {
        // From 8 weeks of training on, every weekday's mean is its constant value, so the
        // adjusted history is flat (mean 82/7 a day), every method holds that level exactly and
        // the indices give back each day's sales: WAPE 0. Without the indices a flat forecast
        // does at best what the median does: a horizon of 14 days is two weeks, and a week's
        // error at a flat 10 is 0·5 + 20 + 8 = 28 of 82 sold, so WAPE ≥ 28/82 ≈ 0.341. Naive
        // repeats one day's figure for the whole horizon: ≈ 0.59 averaged over the weekdays.
        let with = BacktestOptions {
            min_train: 56,
            alpha: AlphaChoice::Optimize,
            ..BacktestOptions::default()
        };
        let without = BacktestOptions {
            seasonality: false,
            ..with
        };
        let s = backtest_series(&weekday_pattern(), &with).unwrap();
        let flat = backtest_series(&weekday_pattern(), &without).unwrap();
        assert_eq!(s.origins, 18 * 7 - 56 - 14 + 1);
        for c in [Contender::Ses, Contender::Croston, Contender::Auto] {
            close(s.get(c).wape(), 0.0, 1e-9);
            close(s.get(c).mase(), 0.0, 1e-9);
            assert!(
                flat.get(c).wape().unwrap() >= 28.0 / 82.0 - 1e-12,
                "{c:?} {flat:?}"
            );
        }
        let naive = s.get(Contender::Naive).wape().unwrap();
        assert!(naive > 0.5, "naive WAPE {naive}");
    }

    #[test]
    fn short_series_have_no_origins_and_bad_options_are_refused() {
        let s = backtest_series(&series(&[1.0; 41]), &BacktestOptions::default()).unwrap();
        assert_eq!(s.origins, 0);
        assert_eq!(s.get(Contender::Ses).wape(), None);
        let zero_h = BacktestOptions {
            horizon: 0,
            ..BacktestOptions::default()
        };
        assert_eq!(
            backtest_series(&series(&[1.0]), &zero_h),
            Err(ForecastError::BadHorizon(0))
        );
        let zero_step = BacktestOptions {
            step: 0,
            ..BacktestOptions::default()
        };
        assert_eq!(
            backtest_series(&series(&[1.0]), &zero_step),
            Err(ForecastError::ZeroStep)
        );
    }

    #[test]
    fn pools_wape_averages_mase_and_keeps_the_worst() {
        // 20 SKUs: steady ones at 5 a day with a small wobble, and SKUs 7 and 13 alternating
        // between 0 and a spike (13's spike larger relative to its mean). SES misses those by
        // far the most.
        let opts = BacktestOptions {
            seasonality: false,
            ..BacktestOptions::default()
        };
        let mut bt = Backtest::new(2, Contender::Ses, Metric::Wape);
        let mut pooled = Scores::default();
        let mut mases = Vec::new();
        for sku in 0..20u32 {
            let y: Vec<f64> = (0..60)
                .map(|i| match sku {
                    7 => [6.0, 0.0, 0.0][i % 3],
                    13 => [9.0, 0.0, 0.0, 0.0][i % 4],
                    _ => 5.0 + f64::from(i as u32 % 2),
                })
                .collect();
            let s = backtest_series(&series(&y), &opts).unwrap();
            pooled.merge(s.get(Contender::Ses));
            mases.push(s.get(Contender::Ses).mase().unwrap());
            bt.add(sku, s);
        }
        bt.add(99, backtest_series(&series(&[1.0; 10]), &opts).unwrap());
        assert_eq!((bt.scored(), bt.skipped()), (20, 1));
        assert_eq!(bt.wape(Contender::Ses), pooled.wape());
        close(
            bt.mase(Contender::Ses),
            mases.iter().sum::<f64>() / 20.0,
            1e-12,
        );
        let worst: Vec<u32> = bt.worst().into_iter().map(|(k, _)| *k).collect();
        assert_eq!(worst, vec![13, 7]);
    }

    use proptest::prelude::*;

    proptest! {
        /// Scaling a history by a power of two scales every forecast and error exactly, so
        /// WAPE and MASE do not move: the figures are unit-free, as they should be.
        #[test]
        fn figures_do_not_depend_on_the_unit(
            y in proptest::collection::vec(0u8..20, 30..80),
            k in prop_oneof![Just(0.25), Just(2.0), Just(8.0)],
            optimize in any::<bool>(),
        ) {
            let mut y: Vec<f64> = y.into_iter().map(f64::from).collect();
            y[0] = 1.0;
            let scaled: Vec<f64> = y.iter().map(|v| v * k).collect();
            let opts = BacktestOptions {
                horizon: 7,
                min_train: 14,
                step: 3,
                alpha: if optimize { AlphaChoice::Optimize } else { AlphaChoice::default() },
                seasonality: true,
            };
            let a = backtest_series(&series(&y), &opts).unwrap();
            let b = backtest_series(&series(&scaled), &opts).unwrap();
            for c in Contender::ALL {
                prop_assert_eq!(a.get(c).wape(), b.get(c).wape());
                prop_assert_eq!(a.get(c).mase(), b.get(c).mase());
                prop_assert!(a.get(c).wape().map_or(true, |w| w >= 0.0));
            }
        }
    }
}
