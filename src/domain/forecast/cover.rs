//! What a forecast means for stock: how long it lasts, when it runs out, how much to keep back.

use super::{Forecast, ForecastError, ServiceLevel};
use chrono::{Days, NaiveDate};

/// How far ahead a stock-out is looked for: ten years. Stock that lasts longer has no cover
/// figure and no stock-out date.
pub const COVER_LIMIT_DAYS: u64 = 3660;

/// How long stock lasts against a forecast.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cover {
    /// Days the free stock lasts on its own, inbound left out (as the alerts compare it with
    /// the next ETA): whole days it covers plus the covered fraction of the day it runs out.
    /// `None` when it outlasts [`COVER_LIMIT_DAYS`] or nothing is forecast.
    pub days_of_cover: Option<f64>,
    /// The first day whose forecast demand is more than the free stock plus the inbound arrived
    /// by then. `None` as for `days_of_cover`.
    pub stockout_date: Option<NaiveDate>,
}

/// Days of cover and the stock-out date of `free_stock` (on hand less allocated and owed) with
/// `inbound` arrivals `(ETA, units)` against `forecast`. An arrival counts from the start of its
/// ETA day; one whose ETA has passed is taken as arriving on the first forecast day (it is late,
/// not cancelled).
pub fn cover(
    forecast: &Forecast,
    free_stock: i64,
    inbound: &[(NaiveDate, i64)],
) -> Result<Cover, ForecastError> {
    if let Some(&(date, qty)) = inbound.iter().find(|(_, q)| *q < 0) {
        return Err(ForecastError::NegativeInbound { date, qty });
    }
    let offset = |date: NaiveDate| (date - forecast.start).num_days().max(0) as u64;
    let last_arrival = inbound.iter().map(|&(date, _)| offset(date)).max();
    let arriving = |day: u64| -> f64 {
        inbound
            .iter()
            .filter(|&&(date, _)| offset(date) == day)
            .map(|&(_, q)| q as f64)
            .sum()
    };
    let days_of_cover = run_out(forecast, free_stock as f64, None, |_| 0.0).map(|(_, c)| c);
    let stockout_date = run_out(forecast, free_stock as f64, last_arrival, arriving)
        .map(|(day, _)| forecast.start + Days::new(day));
    Ok(Cover {
        days_of_cover,
        stockout_date,
    })
}

/// Walks the days from the forecast start until demand exceeds stock: the day and the cover in
/// days. After the last arrival it jumps whole weeks (a week's demand is the same for any seven
/// days in a row), so ten years of cover cost a few steps, not 3,660.
fn run_out(
    forecast: &Forecast,
    mut stock: f64,
    last_arrival: Option<u64>,
    arriving: impl Fn(u64) -> f64,
) -> Option<(u64, f64)> {
    let week: f64 = (0..7).map(|d| forecast.demand_on(d)).sum();
    if week <= 0.0 {
        return None;
    }
    let mut day = 0u64;
    while day <= COVER_LIMIT_DAYS {
        if last_arrival.is_some_and(|l| day <= l) {
            stock += arriving(day);
        }
        let demand = forecast.demand_on(day);
        if demand > 0.0 && demand > stock {
            return Some((day, day as f64 + stock.max(0.0) / demand));
        }
        stock -= demand;
        day += 1;
        if last_arrival.map_or(true, |l| day > l) && stock > 2.0 * week {
            // Leave at least one week to walk so the stock-out day is found day by day.
            let weeks = (stock / week).floor() - 1.0;
            if day as f64 + 7.0 * weeks > COVER_LIMIT_DAYS as f64 {
                return None;
            }
            stock -= weeks * week;
            day += 7 * weeks as u64;
        }
    }
    None
}

/// Units kept back for forecast error over the lead time: z(service level) × σ × √(lead time
/// days), with σ the forecast's one-step error ([`Forecast::sigma`]). The √ assumes the days'
/// errors are independent.
pub fn safety_stock(forecast: &Forecast, service_level: ServiceLevel, lead_time_days: u32) -> f64 {
    service_level.z() * forecast.sigma * f64::from(lead_time_days).sqrt()
}

/// Reorder when free stock plus inbound falls to this: the forecast demand over the lead time
/// (from the first forecast day, weekday indices included) plus [`safety_stock`].
pub fn reorder_point(forecast: &Forecast, service_level: ServiceLevel, lead_time_days: u32) -> f64 {
    let lead_demand: f64 = (0..u64::from(lead_time_days))
        .map(|d| forecast.demand_on(d))
        .sum();
    lead_demand + safety_stock(forecast, service_level, lead_time_days)
}

/// The standard normal quantile Φ⁻¹(p), for 0 < p < 1 (`None` otherwise), by Acklam's rational
/// approximation: relative error below 1.15 × 10⁻⁹ over the whole range, far finer than any
/// service level is known.
pub fn inverse_normal_cdf(p: f64) -> Option<f64> {
    (p > 0.0 && p < 1.0).then(|| acklam(p))
}

pub(super) fn acklam(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    const P_LOW: f64 = 0.02425;
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < P_LOW {
        tail((-2.0 * p.ln()).sqrt())
    } else if p <= 1.0 - P_LOW {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    } else {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::forecast::{Alpha, Class, Classification, Method, WeekdayIndex};

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    /// A flat forecast of `level` a day from 2026-12-07 (a Monday), σ 2.
    fn flat(level: f64) -> Forecast {
        Forecast {
            method: Method::Ses,
            alpha: Alpha::DEFAULT,
            classification: Classification {
                class: Class::Smooth,
                adi: 1.0,
                cv2: 0.0,
            },
            level,
            weekday_index: None,
            start: d("2026-12-07"),
            per_day: vec![level; 14],
            sigma: 2.0,
        }
    }

    use crate::domain::forecast::assert_close as close;

    #[test]
    fn inverse_normal_cdf_known_values() {
        let z = |p| inverse_normal_cdf(p).unwrap();
        close(z(0.5), 0.0, 1e-12);
        close(z(0.95), 1.644_853_626_951_472, 1e-8);
        close(z(0.99), 2.326_347_874_040_841, 1e-8);
        close(z(0.975), 1.959_963_984_540_054, 1e-8);
        close(z(0.841_344_746_068_542_9), 1.0, 1e-8);
        // Both tails and the symmetry around 0.5.
        close(z(0.01), -2.326_347_874_040_841, 1e-8);
        close(z(0.001), -3.090_232_306_167_813, 1e-8);
        close(z(1e-9), -5.997_807_015_007_686, 1e-6);
        close(z(0.02), -z(0.98), 1e-9);
        assert_eq!(inverse_normal_cdf(0.0), None);
        assert_eq!(inverse_normal_cdf(1.0), None);
        assert_eq!(inverse_normal_cdf(f64::NAN), None);
    }

    #[test]
    fn the_service_level_must_be_inside_zero_and_one() {
        for bad in [0.0, 1.0, -0.5, 1.5, f64::NAN] {
            assert!(matches!(
                ServiceLevel::new(bad),
                Err(ForecastError::ServiceLevelOutOfRange(_))
            ));
        }
        close(ServiceLevel::DEFAULT.z(), 1.644_853_6, 1e-6);
    }

    #[test]
    fn safety_stock_and_reorder_point_by_hand() {
        // z(0.95) = 1.6449 × σ 2 × √9 = 1.6449 × 6 = 9.8691; lead demand 9 days × 4 = 36.
        let f = flat(4.0);
        let sl = ServiceLevel::new(0.95).unwrap();
        close(safety_stock(&f, sl, 9), 1.644_853_626_951_472 * 6.0, 1e-7);
        close(
            reorder_point(&f, sl, 9),
            36.0 + 1.644_853_626_951_472 * 6.0,
            1e-7,
        );
        assert_eq!(safety_stock(&f, sl, 0), 0.0);
        assert_eq!(reorder_point(&f, sl, 0), 0.0);
    }

    #[test]
    fn reorder_point_follows_the_weekday_indices() {
        // Level 7 from a Monday, Saturday index 7 and other days 0: three days of lead time
        // (Mon–Wed) need nothing, six (to Sat) need 49.
        let mut f = flat(7.0);
        f.weekday_index = Some(WeekdayIndex([0.0, 0.0, 0.0, 0.0, 0.0, 7.0, 0.0]));
        f.sigma = 0.0;
        let sl = ServiceLevel::DEFAULT;
        assert_eq!(reorder_point(&f, sl, 3), 0.0);
        close(reorder_point(&f, sl, 6), 49.0, 1e-12);
    }

    #[test]
    fn cover_without_inbound() {
        // 10 units at 4 a day: days 0 and 1 use 8, day 2 needs 4 with 2 left → cover 2.5 days,
        // out on day 2 (2026-12-09).
        let c = cover(&flat(4.0), 10, &[]).unwrap();
        assert_eq!(c.days_of_cover, Some(2.5));
        assert_eq!(c.stockout_date, Some(d("2026-12-09")));
        // Nothing free: out today, cover 0.
        let c = cover(&flat(4.0), 0, &[]).unwrap();
        assert_eq!(c.days_of_cover, Some(0.0));
        assert_eq!(c.stockout_date, Some(d("2026-12-07")));
    }

    #[test]
    fn inbound_moves_the_stock_out_but_not_the_cover() {
        // 10 units at 4 a day, 20 arriving on day 2 (2026-12-09): 2 + 20 = 22 on day 2, then
        // 18, 14, 10, 6, 2 left after days 2–6; day 7 (2026-12-14) needs 4 with 2 left.
        let f = flat(4.0);
        let c = cover(&f, 10, &[(d("2026-12-09"), 20)]).unwrap();
        assert_eq!(c.days_of_cover, Some(2.5));
        assert_eq!(c.stockout_date, Some(d("2026-12-14")));
        // An arrival after the stock-out does not move it.
        let c = cover(&f, 10, &[(d("2026-12-20"), 100)]).unwrap();
        assert_eq!(c.stockout_date, Some(d("2026-12-09")));
        // A late arrival (ETA passed) counts from the first day: 10 + 10 = 20 lasts 5 days.
        let c = cover(&f, 10, &[(d("2026-12-01"), 10)]).unwrap();
        assert_eq!(c.stockout_date, Some(d("2026-12-12")));
    }

    #[test]
    fn long_cover_jumps_weeks_and_stops_at_the_limit() {
        // 1000 units at 1.5 a day: 666 whole days, out on day 666 with 1 unit left → 666.667.
        let c = cover(&flat(1.5), 1000, &[]).unwrap();
        close(c.days_of_cover.unwrap(), 666.0 + 1.0 / 1.5, 1e-9);
        assert_eq!(c.stockout_date, Some(d("2026-12-07") + Days::new(666)));
        // Far beyond ten years, and no demand at all: no stock-out.
        let c = cover(&flat(0.001), 1_000_000, &[]).unwrap();
        assert_eq!(c.days_of_cover, None);
        assert_eq!(c.stockout_date, None);
        assert_eq!(cover(&flat(0.0), 0, &[]).unwrap().stockout_date, None);
    }

    #[test]
    fn cover_with_weekday_indices_skips_closed_days() {
        // Level 7 from a Monday, only Saturdays sell (index 7 → 49 a Saturday). 100 units:
        // Saturdays 5 and 12 take 98, Saturday 19 (day 19, 2026-12-26) needs 49 with 2 left.
        let mut f = flat(7.0);
        f.weekday_index = Some(WeekdayIndex([0.0, 0.0, 0.0, 0.0, 0.0, 7.0, 0.0]));
        let c = cover(&f, 100, &[]).unwrap();
        close(c.days_of_cover.unwrap(), 19.0 + 2.0 / 49.0, 1e-9);
        assert_eq!(c.stockout_date, Some(d("2026-12-26")));
    }

    #[test]
    fn negative_inbound_is_refused() {
        assert_eq!(
            cover(&flat(1.0), 5, &[(d("2026-12-08"), -3)]),
            Err(ForecastError::NegativeInbound {
                date: d("2026-12-08"),
                qty: -3
            })
        );
    }
}
