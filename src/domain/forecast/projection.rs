//! What a chart of a forecast shows: on-hand history rebuilt from the ledger, and free stock
//! projected forward with a band for the forecast error.

use super::Forecast;
use chrono::{Days, NaiveDate};

/// On hand at the end of each day from `from` to `today` (inclusive), oldest first, rebuilt
/// backwards from `on_hand_now` by undoing each day's net movement (`net_by_day`: day and summed
/// signed units, days without movements left out). Today's value is `on_hand_now`.
pub fn on_hand_history(
    on_hand_now: i64,
    net_by_day: &[(NaiveDate, i64)],
    from: NaiveDate,
    today: NaiveDate,
) -> Vec<(NaiveDate, i64)> {
    let moved: i64 = net_by_day
        .iter()
        .filter(|(d, _)| (from..=today).contains(d))
        .map(|(_, q)| q)
        .sum();
    crate::domain::date::running_total(from, today, on_hand_now - moved, net_by_day)
}

/// Free stock projected at the start of one day.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Projected {
    pub date: NaiveDate,
    /// Free stock plus the arrivals so far less the forecast demand so far (negative: short).
    pub units: f64,
    /// `units` − z·σ·√n after n forecast days.
    pub low: f64,
    /// `units` + z·σ·√n after n forecast days.
    pub high: f64,
}

/// Free stock at the start of each of the `days + 1` days from the forecast's first day:
/// `free_stock`, plus `inbound` `(ETA, units)` arriving (a past ETA counts on the first day, as
/// in [`super::cover`]), less the forecast demand. The band is ± `z` × σ × √n after n days: the
/// one-step error σ of [`Forecast::sigma`] grown as independent daily errors add up, as the
/// safety stock assumes over a lead time.
pub fn project_free_stock(
    forecast: &Forecast,
    free_stock: i64,
    inbound: &[(NaiveDate, i64)],
    days: u32,
    z: f64,
) -> Vec<Projected> {
    let mut units = free_stock as f64;
    let mut out = Vec::with_capacity(days as usize + 1);
    for n in 0..=u64::from(days) {
        let date = forecast.start + Days::new(n);
        if n > 0 {
            units -= forecast.demand_on(n - 1);
        }
        units += inbound
            .iter()
            .filter(|(eta, _)| (*eta <= forecast.start && n == 0) || *eta == date && n > 0)
            .map(|(_, q)| *q as f64)
            .sum::<f64>();
        let spread = z * forecast.sigma * (n as f64).sqrt();
        out.push(Projected {
            date,
            units,
            low: units - spread,
            high: units + spread,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::forecast::{forecast, DemandSeries, ForecastOptions};

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn history_undoes_each_days_movements_backwards_from_today() {
        // 10 on hand now; today +5 received, yesterday −3 sold, three days ago −2.
        let net = [
            (d("2026-11-23"), -2),
            (d("2026-11-25"), -3),
            (d("2026-11-26"), 5),
        ];
        let h = on_hand_history(10, &net, d("2026-11-22"), d("2026-11-26"));
        assert_eq!(
            h,
            [
                (d("2026-11-22"), 10),
                (d("2026-11-23"), 8),
                (d("2026-11-24"), 8),
                (d("2026-11-25"), 5),
                (d("2026-11-26"), 10),
            ]
        );
    }

    #[test]
    fn projection_takes_demand_adds_arrivals_and_widens_with_the_square_root_of_days() {
        // Two units a day every day: SES on a flat series, level 2, σ 0.
        let series = DemandSeries::from_daily(d("2026-11-16"), &[2.0; 10]).unwrap();
        let mut f = forecast(&series, &ForecastOptions::default()).unwrap();
        assert_eq!(f.start, d("2026-11-26"));
        f.sigma = 1.0;
        let inbound = [(d("2026-11-28"), 10), (d("2026-11-20"), 1)];
        let p = project_free_stock(&f, 5, &inbound, 3, 2.0);
        let units: Vec<f64> = p.iter().map(|x| x.units).collect();
        // Day 0: 5 + 1 late; day 1: −2; day 2: −2 + 10; day 3: −2.
        assert_eq!(units, [6.0, 4.0, 12.0, 10.0]);
        assert_eq!(p[0].high, 6.0);
        assert!((p[3].high - (10.0 + 2.0 * 3f64.sqrt())).abs() < 1e-9);
        assert!((p[3].low - (10.0 - 2.0 * 3f64.sqrt())).abs() < 1e-9);
        assert_eq!(p[3].date, d("2026-11-29"));
    }
}
