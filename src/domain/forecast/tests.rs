//! The public entry points together: options, `forecast`, and properties across them.

use super::*;
use proptest::prelude::*;

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn opts(method: MethodChoice, alpha: AlphaChoice) -> ForecastOptions {
    ForecastOptions {
        method,
        alpha,
        horizon: 7,
        seasonality: true,
    }
}

#[test]
fn alpha_must_be_above_zero_and_at_most_one() {
    for bad in [0.0, -0.1, 1.0001, f64::NAN, f64::INFINITY] {
        assert!(matches!(
            Alpha::new(bad),
            Err(ForecastError::AlphaOutOfRange(_))
        ));
    }
    assert_eq!(Alpha::new(1.0).map(Alpha::get), Ok(1.0));
    assert_eq!(AlphaChoice::parse(" Optimize "), Ok(AlphaChoice::Optimize));
    assert_eq!(
        AlphaChoice::parse("0.2"),
        Ok(AlphaChoice::Fixed(Alpha::new(0.2).unwrap()))
    );
    assert!(matches!(
        AlphaChoice::parse("0"),
        Err(ForecastError::AlphaOutOfRange(_))
    ));
    assert!(matches!(
        AlphaChoice::parse("fast"),
        Err(ForecastError::BadAlpha(_))
    ));
}

#[test]
fn the_grid_is_five_hundredths_to_a_half() {
    let g: Vec<f64> = Alpha::grid().map(Alpha::get).collect();
    assert_eq!(
        g,
        vec![0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5]
    );
}

#[test]
fn methods_parse_by_name() {
    assert_eq!(MethodChoice::parse("auto"), Ok(MethodChoice::Auto));
    assert_eq!(
        MethodChoice::parse("SBA"),
        Ok(MethodChoice::Fixed(Method::Sba))
    );
    for m in Method::ALL {
        assert_eq!(MethodChoice::parse(m.as_str()), Ok(MethodChoice::Fixed(m)));
    }
    assert!(matches!(
        MethodChoice::parse("arima"),
        Err(ForecastError::BadMethod(_))
    ));
}

#[test]
fn an_intermittent_sku_gets_croston_from_today() {
    // Sales 3 units every third day from Tuesday 2026-12-01 to Sunday 2026-12-13 (yesterday):
    // 13 days, demand on 5 → ADI 2.6, CV² 0: intermittent, so Croston. Every interval is 3 but
    // the first (1): p = 1 → 1 + 0.1·(3 − 1) = 1.2 → 1.38 → 1.542 → 1.6878, z stays 3.
    // Forecast 3/1.6878 ≈ 1.7775 a day, flat (13 days, too short for weekday indices).
    let today = d("2026-12-14");
    let pts: Vec<(NaiveDate, i64)> = (0..5)
        .map(|i| (d("2026-12-01") + Days::new(3 * i), 3))
        .collect();
    let s = DemandSeries::from_points(&pts, today).unwrap();
    assert_eq!(s.len(), 13);
    let f = forecast(&s, &ForecastOptions::default()).unwrap();
    assert_eq!(f.classification.class, Class::Intermittent);
    assert_close(f.classification.adi, 2.6, 1e-12);
    assert_eq!(f.method, Method::Croston);
    assert_eq!(f.alpha, Alpha::DEFAULT);
    assert_eq!(f.start, today);
    assert_eq!(f.horizon(), 14);
    assert_eq!(f.weekday_index, None);
    let p: f64 = 1.0 + 0.1 * (3.0 - 1.0);
    let p = p + 0.1 * (3.0 - p);
    let p = p + 0.1 * (3.0 - p);
    let p = p + 0.1 * (3.0 - p);
    assert_close(p, 1.6878, 1e-12);
    for v in &f.per_day {
        assert_close(*v, 3.0 / p, 1e-12);
    }
}

#[test]
fn a_fixed_method_overrides_the_classification() {
    let s = DemandSeries::from_daily(d("2026-12-01"), &[4.0, 0.0, 0.0, 6.0, 0.0, 2.0]).unwrap();
    let a = AlphaChoice::Fixed(Alpha::new(0.5).unwrap());
    // As worked out in `methods`: SES ℓ = 4 → 2 → 1 → 3.5 → 1.75 → 1.875.
    let ses = forecast(&s, &opts(MethodChoice::Fixed(Method::Ses), a)).unwrap();
    assert_eq!(ses.method, Method::Ses);
    assert_close(ses.level, 1.875, 1e-12);
    let sba = forecast(&s, &opts(MethodChoice::Fixed(Method::Sba), a)).unwrap();
    assert_close(sba.per_day[0], 1.3125, 1e-12);
    // Croston's one-step errors −4, −4, 2, −2.5, −0.5: σ = √(42.5/5).
    let cro = forecast(&s, &opts(MethodChoice::Fixed(Method::Croston), a)).unwrap();
    assert_close(cro.sigma, 8.5f64.sqrt(), 1e-12);
}

#[test]
fn optimize_reports_the_alpha_it_picked() {
    // The level shift of `methods::optimize_picks_the_known_best_alpha`: α = 0.5.
    let mut y = vec![10.0; 30];
    y.extend([20.0; 30]);
    let s = DemandSeries::from_daily(d("2026-10-01"), &y).unwrap();
    let f = forecast(
        &s,
        &opts(MethodChoice::Fixed(Method::Ses), AlphaChoice::Optimize),
    )
    .unwrap();
    assert_eq!(f.alpha, Alpha::new(0.5).unwrap());
}

#[test]
fn eight_weeks_bring_weekday_indices_into_the_forecast() {
    // 8 weeks from Monday 2026-10-05: 10 on weekdays, 20 on Saturdays, 0 on Sundays.
    // Indices 1 ×5, 2, 0 (see `season`); the adjusted history is a flat 10, so each forecast
    // day is 10 × its index: 10 on weekdays, 20 on Saturday, 0 on Sunday.
    // The forecast starts on Monday 2026-11-30, the day after the history.
    let week = [10.0, 10.0, 10.0, 10.0, 10.0, 20.0, 0.0];
    let y: Vec<f64> = week.iter().copied().cycle().take(56).collect();
    let s = DemandSeries::from_daily(d("2026-10-05"), &y).unwrap();
    let f = forecast(&s, &ForecastOptions::default()).unwrap();
    assert_eq!(f.start, d("2026-11-30"));
    assert!(f.weekday_index.is_some());
    for (i, v) in f.per_day.iter().enumerate() {
        let want = week[i % 7];
        assert_close(*v, want, 1e-9);
    }
    assert!(f.sigma < 1e-9);
    // One day less: no indices, a flat forecast.
    let s = DemandSeries::from_daily(d("2026-10-05"), &y[..55]).unwrap();
    let f = forecast(&s, &ForecastOptions::default()).unwrap();
    assert_eq!(f.weekday_index, None);
    assert!(f.per_day.iter().all(|v| *v == f.per_day[0]));
    // Seasonality off: flat as well.
    let s = DemandSeries::from_daily(d("2026-10-05"), &y).unwrap();
    let off = ForecastOptions {
        seasonality: false,
        ..ForecastOptions::default()
    };
    assert_eq!(forecast(&s, &off).unwrap().weekday_index, None);
}

#[test]
fn a_horizon_outside_one_to_the_maximum_is_refused() {
    let s = DemandSeries::from_daily(d("2026-12-01"), &[1.0]).unwrap();
    for h in [0, MAX_HORIZON + 1] {
        let o = ForecastOptions {
            horizon: h,
            ..ForecastOptions::default()
        };
        assert_eq!(forecast(&s, &o), Err(ForecastError::BadHorizon(h)));
    }
}

fn any_alpha() -> impl Strategy<Value = AlphaChoice> {
    prop_oneof![
        Just(AlphaChoice::Optimize),
        (1u32..=100).prop_map(|k| AlphaChoice::Fixed(Alpha::new(f64::from(k) / 100.0).unwrap())),
    ]
}

fn any_method() -> impl Strategy<Value = MethodChoice> {
    prop_oneof![
        Just(MethodChoice::Auto),
        Just(MethodChoice::Fixed(Method::Ses)),
        Just(MethodChoice::Fixed(Method::Croston)),
        Just(MethodChoice::Fixed(Method::Sba)),
    ]
}

proptest! {
    /// Whatever the history, a forecast is finite and non-negative, never above the largest
    /// deseasonalised day times the largest weekday index, and more stock never runs out sooner.
    #[test]
    fn forecasts_are_sane(
        pts in proptest::collection::vec((0u64..120, 0i64..50), 1..60),
        method in any_method(),
        alpha in any_alpha(),
        seasonality in any::<bool>(),
        stock in 0i64..500,
        extra in 1i64..500,
    ) {
        let today = d("2026-12-14");
        let pts: Vec<(NaiveDate, i64)> = pts
            .into_iter()
            .map(|(back, q)| (today - Days::new(back + 1), q))
            .collect();
        let Ok(s) = DemandSeries::from_points(&pts, today) else {
            prop_assert!(pts.iter().all(|p| p.1 == 0));
            return Ok(());
        };
        let o = ForecastOptions { method, alpha, horizon: 30, seasonality };
        let f = forecast(&s, &o).unwrap();
        // The methods average the deseasonalised days (demand ÷ its weekday's factor, days a
        // factor of 0 closes left out), and the forecast puts a factor back on.
        let weekday = s.start().weekday().num_days_from_monday() as usize;
        let factor = |i: usize| f.weekday_index.map_or(1.0, |ix| ix.factor(weekday + i));
        let max_adjusted = s
            .values()
            .iter()
            .enumerate()
            .filter(|&(i, _)| factor(i) > 0.0)
            .map(|(i, v)| v / factor(i))
            .fold(0.0, f64::max);
        let max_ix = f.weekday_index.map_or(1.0, |ix| ix.factors().into_iter().fold(0.0, f64::max));
        for v in &f.per_day {
            prop_assert!(v.is_finite() && *v >= 0.0);
            prop_assert!(*v <= max_adjusted * max_ix * (1.0 + 1e-9) + 1e-9);
        }
        prop_assert!(f.sigma.is_finite() && f.sigma >= 0.0);
        let less = cover(&f, stock, &[]).unwrap();
        let more = cover(&f, stock + extra, &[]).unwrap();
        match (less.stockout_date, more.stockout_date) {
            (Some(a), Some(b)) => prop_assert!(a <= b),
            (None, Some(_)) => prop_assert!(false, "more stock ran out, less did not"),
            _ => {}
        }
        let sl = ServiceLevel::DEFAULT;
        prop_assert!(reorder_point(&f, sl, 10) >= safety_stock(&f, sl, 10));
    }
}
