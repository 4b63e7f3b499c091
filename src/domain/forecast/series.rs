//! The demand history of one SKU.

use super::ForecastError;
use chrono::{Days, NaiveDate};

/// Units demanded per whole UTC day, from the SKU's first day with demand up to and including
/// yesterday; days without sales are zeros. Never empty, and day 0 always has demand.
#[derive(Debug, Clone, PartialEq)]
pub struct DemandSeries {
    start: NaiveDate,
    values: Vec<f64>,
}

impl DemandSeries {
    /// Builds the history from `(day, units)` points in any order; several points on one day add
    /// up. Points on or after `today` are left out (today is not over), and so are zero points
    /// before the first demand.
    pub fn from_points(
        points: &[(NaiveDate, i64)],
        today: NaiveDate,
    ) -> Result<Self, ForecastError> {
        let mut s = DemandSeries {
            start: today,
            values: Vec::new(),
        };
        s.refill(points, today)?;
        Ok(s)
    }

    /// [`DemandSeries::from_points`] into this series' buffer, so a caller going through many
    /// SKUs allocates once. On error the series is left empty-valued and must be refilled.
    pub fn refill(
        &mut self,
        points: &[(NaiveDate, i64)],
        today: NaiveDate,
    ) -> Result<(), ForecastError> {
        self.values.clear();
        let mut first: Option<NaiveDate> = None;
        for &(date, qty) in points {
            if qty < 0 {
                return Err(ForecastError::NegativeDemand { date, qty });
            }
            if qty > 0 && date < today && first.map_or(true, |f| date < f) {
                first = Some(date);
            }
        }
        let start = first.ok_or(ForecastError::EmptySeries)?;
        let days = (today - start).num_days() as usize;
        self.values.resize(days, 0.0);
        for &(date, qty) in points {
            if date >= start && date < today {
                self.values[(date - start).num_days() as usize] += qty as f64;
            }
        }
        self.start = start;
        Ok(())
    }

    /// A history from daily values starting on `start`; leading zeros are dropped so the series
    /// starts on its first demand.
    pub fn from_daily(start: NaiveDate, values: &[f64]) -> Result<Self, ForecastError> {
        if let Some(&bad) = values.iter().find(|v| !(v.is_finite() && **v >= 0.0)) {
            return Err(ForecastError::BadDemand(bad));
        }
        let lead = values
            .iter()
            .position(|&v| v > 0.0)
            .ok_or(ForecastError::EmptySeries)?;
        Ok(DemandSeries {
            start: start + Days::new(lead as u64),
            values: values[lead..].to_vec(),
        })
    }

    /// The first day, which has demand.
    pub fn start(&self) -> NaiveDate {
        self.start
    }

    /// The last day (yesterday when built from points).
    pub fn end(&self) -> NaiveDate {
        self.start + Days::new((self.values.len() as u64).saturating_sub(1))
    }

    /// Units per day from [`DemandSeries::start`].
    pub fn values(&self) -> &[f64] {
        &self.values
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// False once built: a series has at least its first demand day (only a failed
    /// [`DemandSeries::refill`] leaves it empty).
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn runs_from_the_first_demand_to_yesterday_with_zeros_between() {
        let today = d("2026-12-10");
        let pts = [
            (d("2026-12-07"), 2),
            (d("2026-12-03"), 0), // a zero before the first demand does not start the series
            (d("2026-12-05"), 3),
            (d("2026-12-07"), 1), // same day adds up
            (d("2026-12-10"), 9), // today is not over
            (d("2026-12-11"), 9),
        ];
        let s = DemandSeries::from_points(&pts, today).unwrap();
        assert_eq!(s.start(), d("2026-12-05"));
        assert_eq!(s.end(), d("2026-12-09"));
        assert_eq!(s.values(), &[3.0, 0.0, 3.0, 0.0, 0.0]);
    }

    #[test]
    fn no_demand_before_today_is_an_empty_series() {
        let today = d("2026-12-10");
        assert_eq!(
            DemandSeries::from_points(&[], today),
            Err(ForecastError::EmptySeries)
        );
        assert_eq!(
            DemandSeries::from_points(&[(d("2026-12-01"), 0), (today, 4)], today),
            Err(ForecastError::EmptySeries)
        );
        assert_eq!(
            DemandSeries::from_daily(today, &[0.0, 0.0]),
            Err(ForecastError::EmptySeries)
        );
    }

    #[test]
    fn negative_or_non_finite_demand_is_refused() {
        let today = d("2026-12-10");
        assert_eq!(
            DemandSeries::from_points(&[(d("2026-12-01"), -1)], today),
            Err(ForecastError::NegativeDemand {
                date: d("2026-12-01"),
                qty: -1
            })
        );
        assert!(matches!(
            DemandSeries::from_daily(today, &[1.0, f64::NAN]),
            Err(ForecastError::BadDemand(_))
        ));
        assert_eq!(
            DemandSeries::from_daily(today, &[1.0, -2.0]),
            Err(ForecastError::BadDemand(-2.0))
        );
    }

    #[test]
    fn refill_reuses_the_buffer_for_the_next_sku() {
        let today = d("2026-12-10");
        let mut s = DemandSeries::from_points(&[(d("2026-11-01"), 1)], today).unwrap();
        assert_eq!(s.len(), 39);
        s.refill(&[(d("2026-12-08"), 4)], today).unwrap();
        assert_eq!(s.values(), &[4.0, 0.0]);
        assert_eq!(s.start(), d("2026-12-08"));
        // A failed refill leaves an empty series, which nothing forecasts.
        assert_eq!(s.refill(&[], today), Err(ForecastError::EmptySeries));
        assert!(s.is_empty());
        let opts = crate::domain::forecast::ForecastOptions::default();
        assert_eq!(
            crate::domain::forecast::forecast(&s, &opts),
            Err(ForecastError::EmptySeries)
        );
    }

    #[test]
    fn from_daily_drops_leading_zeros() {
        let s = DemandSeries::from_daily(d("2026-12-01"), &[0.0, 0.0, 5.0, 0.0]).unwrap();
        assert_eq!(s.start(), d("2026-12-03"));
        assert_eq!(s.values(), &[5.0, 0.0]);
    }
}
