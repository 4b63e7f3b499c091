//! One pass of each method over a history: the final estimate and the in-sample one-step errors.
//! Each pass is a single loop over the days with no allocation; `optimize` runs it once per grid
//! value.

use super::{Alpha, Method, WeekdayIndex};

/// The end of one pass.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Fit {
    /// Units per day forecast for every later day, before the weekday index.
    pub level: f64,
    /// Sum of squared one-step errors.
    pub sse: f64,
    /// Days with a one-step forecast: not the first day (it starts the estimates), and not
    /// weekdays the index closes.
    pub errors: u32,
}

impl Fit {
    /// Mean squared one-step error, if any day had a forecast.
    pub fn mse(&self) -> Option<f64> {
        (self.errors > 0).then(|| self.sse / f64::from(self.errors))
    }

    /// Root mean squared one-step error, 0 without errors.
    pub fn rmse(&self) -> f64 {
        self.mse().map_or(0.0, f64::sqrt)
    }
}

/// Runs `method` with `alpha` over `values` (day 0 on weekday `first_weekday`), on the history
/// adjusted by `index`; errors are measured on the unadjusted scale.
pub(super) fn fit(
    values: &[f64],
    first_weekday: usize,
    index: &WeekdayIndex,
    method: Method,
    alpha: Alpha,
) -> Fit {
    match method {
        Method::Ses => ses(values, first_weekday, index, alpha.get()),
        Method::Croston => croston(values, first_weekday, index, alpha.get(), 1.0),
        Method::Sba => croston(
            values,
            first_weekday,
            index,
            alpha.get(),
            1.0 - alpha.get() / 2.0,
        ),
    }
}

/// The grid α ([`Alpha::grid`]) with the lowest in-sample one-step MSE; the smallest of equal
/// ones. A history too short for any error (one day) keeps [`Alpha::DEFAULT`].
pub(super) fn optimize(
    values: &[f64],
    first_weekday: usize,
    index: &WeekdayIndex,
    method: Method,
) -> (Alpha, Fit) {
    let mut best: Option<(Alpha, Fit, f64)> = None;
    for a in Alpha::grid() {
        let f = fit(values, first_weekday, index, method, a);
        let Some(mse) = f.mse() else {
            break;
        };
        if best.as_ref().map_or(true, |(_, _, m)| mse < *m) {
            best = Some((a, f, mse));
        }
    }
    match best {
        Some((a, f, _)) => (a, f),
        None => (
            Alpha::DEFAULT,
            fit(values, first_weekday, index, method, Alpha::DEFAULT),
        ),
    }
}

/// The days `index` leaves open (factor above 0), as (demand, factor).
fn open_days<'a>(
    values: &'a [f64],
    first_weekday: usize,
    index: &'a WeekdayIndex,
) -> impl Iterator<Item = (f64, f64)> + 'a {
    let factors = index.0.iter().cycle().skip(first_weekday % 7);
    values
        .iter()
        .zip(factors)
        .filter(|&(_, &s)| s != 0.0)
        .map(|(&y, &s)| (y, s))
}

fn ses(values: &[f64], first_weekday: usize, index: &WeekdayIndex, alpha: f64) -> Fit {
    let mut level: Option<f64> = None;
    let (mut sse, mut errors) = (0.0, 0u32);
    for (y, s) in open_days(values, first_weekday, index) {
        let adjusted = y / s;
        level = Some(match level {
            None => adjusted,
            Some(l) => {
                let e = y - s * l;
                sse += e * e;
                errors += 1;
                l + alpha * (adjusted - l)
            }
        });
    }
    Fit {
        level: level.unwrap_or(0.0),
        sse,
        errors,
    }
}

/// Croston's method, times `factor` (1 for Croston, 1 − α/2 for SBA).
fn croston(
    values: &[f64],
    first_weekday: usize,
    index: &WeekdayIndex,
    alpha: f64,
    factor: f64,
) -> Fit {
    // (size z, interval p) once the first demand is seen.
    let mut est: Option<(f64, f64)> = None;
    // Days since the last demand, or since the day before the history for the first one.
    let mut q = 0.0;
    let (mut sse, mut errors) = (0.0, 0u32);
    for (y, s) in open_days(values, first_weekday, index) {
        q += 1.0;
        if let Some((z, p)) = est {
            let e = y - s * factor * z / p;
            sse += e * e;
            errors += 1;
        }
        if y > 0.0 {
            let size = y / s;
            est = Some(match est {
                None => (size, q),
                Some((z, p)) => (z + alpha * (size - z), p + alpha * (q - p)),
            });
            q = 0.0;
        }
    }
    Fit {
        level: est.map_or(0.0, |(z, p)| factor * z / p),
        sse,
        errors,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(v: f64) -> Alpha {
        Alpha::new(v).unwrap()
    }

    fn run(values: &[f64], m: Method, alpha: f64) -> Fit {
        fit(values, 0, &WeekdayIndex::FLAT, m, a(alpha))
    }

    fn close(got: f64, want: f64) {
        crate::domain::forecast::assert_close(got, want, 1e-12);
    }

    /// Runs `m` and checks its final level, SSE and number of errors.
    #[track_caller]
    fn check(y: &[f64], m: Method, alpha: f64, level: f64, sse: f64, errors: u32) -> Fit {
        let f = run(y, m, alpha);
        close(f.level, level);
        close(f.sse, sse);
        assert_eq!(f.errors, errors);
        f
    }

    #[test]
    fn ses_by_hand() {
        // y = 3, 5, 4, 0 with α = 0.5:
        // ℓ0 = 3
        // day 1: forecast 3, error 2;   ℓ1 = 3 + 0.5·(5 − 3) = 4
        // day 2: forecast 4, error 0;   ℓ2 = 4
        // day 3: forecast 4, error −4;  ℓ3 = 4 + 0.5·(0 − 4) = 2
        // SSE = 4 + 0 + 16 = 20 over 3 errors, MSE 20/3, forecast 2.
        let f = check(&[3.0, 5.0, 4.0, 0.0], Method::Ses, 0.5, 2.0, 20.0, 3);
        close(f.rmse(), (20.0f64 / 3.0).sqrt());
    }

    #[test]
    fn croston_updates_only_on_demand_days() {
        // y = 4, 0, 0, 6, 0, 2 with α = 0.5.
        // day 0: first demand z = 4, first interval p = 1 (counted from the day before).
        // day 1: forecast 4/1 = 4, error −4; zero day, z and p unchanged.
        // day 2: forecast 4, error −4; unchanged.
        // day 3: forecast 4, error 2; demand 6 after an interval of 3:
        //        z = 4 + 0.5·(6 − 4) = 5, p = 1 + 0.5·(3 − 1) = 2.
        // day 4: forecast 5/2 = 2.5, error −2.5; unchanged.
        // day 5: forecast 2.5, error −0.5; demand 2 after an interval of 2:
        //        z = 5 + 0.5·(2 − 5) = 3.5, p = 2 + 0.5·(2 − 2) = 2.
        // Forecast 3.5/2 = 1.75; SSE = 16 + 16 + 4 + 6.25 + 0.25 = 42.5 over 5 errors.
        let y = [4.0, 0.0, 0.0, 6.0, 0.0, 2.0];
        check(&y, Method::Croston, 0.5, 1.75, 42.5, 5);
        // Zero days at the end change nothing: the estimate is only updated on demand days.
        let mut longer = y.to_vec();
        longer.extend([0.0; 5]);
        close(run(&longer, Method::Croston, 0.5).level, 1.75);
    }

    #[test]
    fn sba_is_croston_times_one_minus_half_alpha() {
        // Same series: Croston 1.75, SBA factor 1 − 0.5/2 = 0.75 → 1.3125.
        // In-sample forecasts are 3, 3, 3, 1.875, 1.875; errors −3, −3, 3, −1.875, 0.125;
        // SSE = 9 + 9 + 9 + 3.515625 + 0.015625 = 30.53125.
        let y = [4.0, 0.0, 0.0, 6.0, 0.0, 2.0];
        check(&y, Method::Sba, 0.5, 1.3125, 30.53125, 5);
        // α = 0.1: factor 0.95.
        let y = [2.0, 0.0, 3.0, 0.0, 0.0, 1.0, 4.0];
        let c = run(&y, Method::Croston, 0.1).level;
        close(run(&y, Method::Sba, 0.1).level, 0.95 * c);
    }

    #[test]
    fn croston_counts_the_first_interval_from_the_history_start() {
        // A training window that starts with zeros: y = 0, 0, 3, 3 with α = 0.5.
        // day 2: first demand z = 3, p = 3 (third day from the start).
        // day 3: forecast 3/3 = 1, error 2; demand after an interval of 1:
        //        z = 3, p = 3 + 0.5·(1 − 3) = 2. Forecast 1.5.
        check(&[0.0, 0.0, 3.0, 3.0], Method::Croston, 0.5, 1.5, 4.0, 1);
    }

    #[test]
    fn a_closed_weekday_is_skipped_and_the_rest_adjusted() {
        // Index Mon–Sat 7/6, Sunday 0 (closed). Demand 7/6 · 6 = 7 units on open days: adjusted
        // 6 every open day, so SES and Croston stay at exactly 6 with no error, and Croston's
        // interval stays 1 across Sundays.
        let mut ix = [7.0 / 6.0; 7];
        ix[6] = 0.0;
        let ix = WeekdayIndex(ix);
        let week = [7.0, 7.0, 7.0, 7.0, 7.0, 7.0, 0.0];
        let y: Vec<f64> = week.iter().copied().cycle().take(21).collect();
        for m in [Method::Ses, Method::Croston] {
            let f = fit(&y, 0, &ix, m, a(0.3));
            close(f.level, 6.0);
            assert!(f.sse < 1e-20, "{m}: {}", f.sse);
            assert_eq!(f.errors, 17, "18 open days, the first starts the estimates");
        }
    }

    #[test]
    fn optimize_picks_the_known_best_alpha() {
        // A level shift: 30 days of 10 then 30 days of 20. The sooner the level follows the shift
        // the smaller the errors after it, and before it there are none: MSE falls as α grows,
        // so the top of the grid, 0.5, wins.
        let mut y = vec![10.0; 30];
        y.extend([20.0; 30]);
        let (alpha, f) = optimize(&y, 0, &WeekdayIndex::FLAT, Method::Ses);
        assert_eq!(alpha, a(0.5));
        close(f.sse, run(&y, Method::Ses, 0.5).sse);
        // Noise around a constant mean: 10, then 8 and 12 alternating. The first level is
        // already the mean and reacting only hurts, so the smallest α, 0.05, wins.
        let y: Vec<f64> = (0..60)
            .map(|i| match i {
                0 => 10.0,
                _ if i % 2 == 1 => 8.0,
                _ => 12.0,
            })
            .collect();
        assert_eq!(optimize(&y, 0, &WeekdayIndex::FLAT, Method::Ses).0, a(0.05));
    }

    #[test]
    fn optimize_agrees_with_a_brute_force_search() {
        let y = [5.0, 0.0, 2.0, 9.0, 0.0, 0.0, 4.0, 1.0, 0.0, 7.0, 3.0, 0.0];
        for m in Method::ALL {
            let (alpha, f) = optimize(&y, 0, &WeekdayIndex::FLAT, m);
            let best = Alpha::grid()
                .map(|g| (g, run(&y, m, g.get()).mse().unwrap()))
                .fold(None::<(Alpha, f64)>, |b, (g, mse)| match b {
                    Some((_, bm)) if bm <= mse => b,
                    _ => Some((g, mse)),
                })
                .unwrap();
            assert_eq!(alpha, best.0, "{m}");
            close(f.mse().unwrap(), best.1);
        }
    }

    #[test]
    fn a_single_day_has_no_error_and_keeps_the_default_alpha() {
        let (alpha, f) = optimize(&[3.0], 0, &WeekdayIndex::FLAT, Method::Croston);
        assert_eq!(alpha, Alpha::DEFAULT);
        close(f.level, 3.0);
        assert_eq!(f.errors, 0);
        assert_eq!(f.rmse(), 0.0);
    }
}
