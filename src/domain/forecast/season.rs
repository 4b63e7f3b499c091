//! Weekday seasonality.
//!
//! Multiplicative indices: the mean demand on each weekday over the whole history, divided by
//! the mean of those seven means, so they average exactly 1 and a week's forecast keeps the
//! week's total. Multiplicative rather than additive because demand scales with the weekday
//! (a shop that sells twice as much on Saturdays does so at 2 units a day as at 200), and an
//! additive index would push slow SKUs below zero.
//!
//! The methods fit the seasonally adjusted history (each day divided by its weekday's index) and
//! the index multiplies the forecast back, as in classical multiplicative decomposition. Fitting
//! the raw history and only scaling the forecast would count the pattern twice: the level chases
//! the weekday swing (with α = 0.5 it is half-way to Saturday's sales on Sunday morning) and the
//! index then adds it again. A weekday with no demand in the whole history has index 0: it is
//! forecast 0 and the methods skip it, so a shop closed on Sundays neither drags the level down
//! nor lengthens Croston's intervals.
//!
//! Indices start at [`SEASONAL_MIN_DAYS`] (eight of each weekday): fewer samples make the noise
//! of a single busy day look like a pattern.

/// History needed before weekday indices apply: 8 weeks.
pub const SEASONAL_MIN_DAYS: usize = 56;

/// Factors by weekday, Monday first, averaging 1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WeekdayIndex(pub(super) [f64; 7]);

impl WeekdayIndex {
    /// All ones: no seasonality.
    pub(super) const FLAT: WeekdayIndex = WeekdayIndex([1.0; 7]);

    /// Indices of `values` (day 0 on weekday `first_weekday`, Monday = 0), or `None` when the
    /// history is shorter than [`SEASONAL_MIN_DAYS`] or has no demand.
    pub fn estimate(values: &[f64], first_weekday: usize) -> Option<WeekdayIndex> {
        if values.len() < SEASONAL_MIN_DAYS {
            return None;
        }
        let mut sum = [0.0; 7];
        let mut count = [0u32; 7];
        let mut wd = first_weekday % 7;
        for &v in values {
            sum[wd] += v;
            count[wd] += 1;
            wd = if wd == 6 { 0 } else { wd + 1 };
        }
        let mut means = [0.0; 7];
        for i in 0..7 {
            means[i] = sum[i] / f64::from(count[i]);
        }
        let overall = means.iter().sum::<f64>() / 7.0;
        if overall <= 0.0 {
            return None;
        }
        Some(WeekdayIndex(means.map(|m| m / overall)))
    }

    /// Factors Monday first.
    pub fn factors(&self) -> [f64; 7] {
        self.0
    }

    /// The factor of weekday number `weekday` (Monday = 0).
    pub fn factor(&self, weekday: usize) -> f64 {
        self.0[weekday % 7]
    }

    /// The factor `offset` days after a day on weekday `weekday`.
    pub(super) fn factor_at(&self, weekday: usize, offset: u64) -> f64 {
        self.0[((weekday as u64 + offset % 7) % 7) as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::forecast::assert_close;

    #[test]
    fn indices_are_weekday_means_over_their_average() {
        // 8 weeks from a Monday: Mon–Fri 10, Sat 20, Sun 0.
        // Means 10,10,10,10,10,20,0 → average 70/7 = 10; indices 10/10 = 1, 20/10 = 2, 0.
        let week = [10.0, 10.0, 10.0, 10.0, 10.0, 20.0, 0.0];
        let values: Vec<f64> = week.iter().copied().cycle().take(56).collect();
        let ix = WeekdayIndex::estimate(&values, 0).unwrap();
        let want = [1.0, 1.0, 1.0, 1.0, 1.0, 2.0, 0.0];
        for (got, want) in ix.factors().iter().zip(want) {
            assert_close(*got, want, 1e-12);
        }
        assert_close(ix.factors().iter().sum::<f64>(), 7.0, 1e-12);
    }

    #[test]
    fn the_first_weekday_places_day_zero() {
        // Same pattern but day 0 is a Saturday (weekday 5): values start 20, 0, 10, …
        let week = [20.0, 0.0, 10.0, 10.0, 10.0, 10.0, 10.0];
        let values: Vec<f64> = week.iter().copied().cycle().take(56).collect();
        let ix = WeekdayIndex::estimate(&values, 5).unwrap();
        assert_close(ix.factor(5), 2.0, 1e-12);
        assert_eq!(ix.factor(6), 0.0);
        assert_close(ix.factor(0), 1.0, 1e-12);
        // Saturday + 1 day = Sunday, + 9 days = Monday.
        assert_eq!(ix.factor_at(5, 1), 0.0);
        assert_close(ix.factor_at(5, 9), 1.0, 1e-12);
    }

    #[test]
    fn fewer_than_eight_weeks_has_no_indices() {
        let values = vec![1.0; SEASONAL_MIN_DAYS - 1];
        assert_eq!(WeekdayIndex::estimate(&values, 0), None);
        assert!(WeekdayIndex::estimate(&[1.0; SEASONAL_MIN_DAYS], 3).is_some());
    }
}
