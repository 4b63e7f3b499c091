//! The ADI / CV² demand classes of Syntetos, Boylan & Croston (2005) and the method each gets.
//!
//! ADI (average inter-demand interval) is days in the history over days with demand, so a SKU
//! that has stopped selling drifts towards intermittent. CV² is the squared coefficient of
//! variation of the non-zero demand sizes, with the population variance (divide by the count).
//! These are the definitions of sktime's `ADICVTransformer` and the usual pandas one-liner, so
//! classes can be checked against them. A history with one demand has CV² 0.

/// ADI above this is intermittent or lumpy.
pub const ADI_CUTOFF: f64 = 1.32;
/// CV² above this is erratic or lumpy.
pub const CV2_CUTOFF: f64 = 0.49;

/// The four demand patterns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Class {
    /// Demand most days, sizes steady.
    Smooth,
    /// Demand most days, sizes varying.
    Erratic,
    /// Demand on few days, sizes steady.
    Intermittent,
    /// Demand on few days, sizes varying.
    Lumpy,
}

impl Class {
    /// Stored and JSON form.
    pub fn as_str(self) -> &'static str {
        match self {
            Class::Smooth => "smooth",
            Class::Erratic => "erratic",
            Class::Intermittent => "intermittent",
            Class::Lumpy => "lumpy",
        }
    }

    /// The method `auto` uses for the class: SES for smooth and erratic, Croston for
    /// intermittent, SBA for lumpy.
    ///
    /// This is the rule most tools ship under Syntetos–Boylan's name. With demand on most days
    /// Croston's interval stays near 1 and it reduces to SES on the sizes, so SES, the simpler
    /// and unbiased-on-such-data method, takes smooth and erratic. Croston's bias (it forecasts
    /// E[z/p] > E[z]/E[p]) grows with the variability of sizes and intervals together, so SBA's
    /// correction goes where both are high: lumpy. Syntetos, Boylan & Croston's own study also
    /// found SBA ahead on intermittent series; the issue keeps Croston there, and the backtest
    /// (`forecast --backtest`) shows on the shop's history whether SBA would do better.
    pub fn method(self) -> super::Method {
        match self {
            Class::Smooth | Class::Erratic => super::Method::Ses,
            Class::Intermittent => super::Method::Croston,
            Class::Lumpy => super::Method::Sba,
        }
    }
}

impl std::fmt::Display for Class {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A history's class and the figures behind it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Classification {
    pub class: Class,
    /// Average inter-demand interval in days (infinite without demand).
    pub adi: f64,
    /// Squared coefficient of variation of the non-zero sizes.
    pub cv2: f64,
}

/// Classifies daily demand values. Values exactly on a cut-off count as the steadier side.
pub fn classify(values: &[f64]) -> Classification {
    let (mut count, mut sum) = (0u32, 0.0);
    for &v in values {
        if v > 0.0 {
            count += 1;
            sum += v;
        }
    }
    let (adi, cv2) = if count == 0 {
        (f64::INFINITY, 0.0)
    } else {
        let n = f64::from(count);
        let mean = sum / n;
        // Two passes: sum-of-squares minus square-of-sum loses the variance of large, steady
        // sizes to rounding.
        let var = values
            .iter()
            .filter(|&&v| v > 0.0)
            .map(|&v| (v - mean) * (v - mean))
            .sum::<f64>()
            / n;
        (values.len() as f64 / n, var / (mean * mean))
    };
    let class = match (adi > ADI_CUTOFF, cv2 > CV2_CUTOFF) {
        (false, false) => Class::Smooth,
        (false, true) => Class::Erratic,
        (true, false) => Class::Intermittent,
        (true, true) => Class::Lumpy,
    };
    Classification { class, adi, cv2 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::forecast::Method;

    fn close(got: f64, want: f64) {
        crate::domain::forecast::assert_close(got, want, 1e-12);
    }

    #[test]
    fn four_hand_made_series() {
        let cases: [(&[f64], Class, f64, f64); 4] = [
            // 10 days, demand on all: ADI 10/10 = 1. Sizes 4,6 ×5: mean 5, variance 1,
            // CV² 1/25 = 0.04.
            (
                &[4.0, 6.0, 4.0, 6.0, 4.0, 6.0, 4.0, 6.0, 4.0, 6.0],
                Class::Smooth,
                1.0,
                0.04,
            ),
            // 8 days, 7 with demand: ADI 8/7 ≈ 1.14. Sizes 1 ×6 and 8: mean 2,
            // variance (6·1 + 36)/7 = 6, CV² 6/4 = 1.5.
            (
                &[1.0, 1.0, 1.0, 0.0, 1.0, 1.0, 1.0, 8.0],
                Class::Erratic,
                8.0 / 7.0,
                1.5,
            ),
            // 12 days, 4 with demand: ADI 3. Sizes all 3: CV² 0.
            (
                &[3.0, 0.0, 0.0, 3.0, 0.0, 0.0, 3.0, 0.0, 0.0, 3.0, 0.0, 0.0],
                Class::Intermittent,
                3.0,
                0.0,
            ),
            // 10 days, 2 with demand: ADI 5. Sizes 1 and 9: mean 5, variance 16,
            // CV² 16/25 = 0.64.
            (
                &[1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 9.0, 0.0, 0.0, 0.0],
                Class::Lumpy,
                5.0,
                0.64,
            ),
        ];
        for (y, class, adi, cv2) in cases {
            let c = classify(y);
            assert_eq!(c.class, class, "{y:?}");
            close(c.adi, adi);
            close(c.cv2, cv2);
        }
    }

    #[test]
    fn cut_offs_belong_to_the_steadier_side() {
        // ADI exactly 1.32 would need 33 days of 25 with demand: 33/25 = 1.32.
        let mut y = vec![2.0; 25];
        y.extend([0.0; 8]);
        let c = classify(&y);
        close(c.adi, 1.32);
        assert_eq!(c.class, Class::Smooth);
    }

    #[test]
    fn auto_picks_ses_croston_and_sba() {
        assert_eq!(Class::Smooth.method(), Method::Ses);
        assert_eq!(Class::Erratic.method(), Method::Ses);
        assert_eq!(Class::Intermittent.method(), Method::Croston);
        assert_eq!(Class::Lumpy.method(), Method::Sba);
    }
}
