//! Money in integer minor units (cents); never floats.

use super::ParseError;

/// An amount in minor units of the shop's currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Money(pub i64);

impl Money {
    /// The largest amount accepted anywhere: 10^12 minor units (ten billion in a two-decimal
    /// currency). Bounded so that a line value (`qty` up to a million) cannot overflow an `i64`.
    pub const MAX_MINOR: i64 = 1_000_000_000_000;

    /// Checks an amount already in minor units (JSON `unit_price_minor`).
    pub fn from_minor(minor: i64) -> Result<Self, ParseError> {
        if minor < 0 {
            return Err(ParseError::new(format!("{minor} is negative")));
        }
        if minor > Self::MAX_MINOR {
            return Err(ParseError::new(format!(
                "{minor} is more than {} minor units",
                Self::MAX_MINOR
            )));
        }
        Ok(Money(minor))
    }

    /// The value of `qty` units at this price; saturates instead of wrapping for values stored
    /// before the bound existed.
    pub fn times(self, qty: i64) -> Money {
        Money(self.0.saturating_mul(qty))
    }

    /// Parses `12`, `12.5` or `12.34` (a dot, at most two decimals, not negative).
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let s = raw.trim();
        let bad = || ParseError::new(format!("\"{s}\" is not an amount like 12.34"));
        let (whole, frac) = match s.split_once('.') {
            Some((w, f)) => (w, f),
            None => (s, ""),
        };
        if whole.is_empty()
            || !whole.chars().all(|c| c.is_ascii_digit())
            || frac.len() > 2
            || !frac.chars().all(|c| c.is_ascii_digit())
        {
            return Err(bad());
        }
        let whole: i64 = whole.parse().map_err(|_| bad())?;
        let frac_minor: i64 = match frac.len() {
            0 => 0,
            1 => frac.parse::<i64>().map_err(|_| bad())? * 10,
            _ => frac.parse().map_err(|_| bad())?,
        };
        whole
            .checked_mul(100)
            .and_then(|w| w.checked_add(frac_minor))
            .filter(|m| *m <= Self::MAX_MINOR)
            .map(Money)
            .ok_or_else(|| ParseError::new(format!("\"{s}\" is too large")))
    }

    /// Whole currency units as a number (`12.34`), for figures a machine reads, such as metrics.
    pub fn in_units(self) -> f64 {
        self.0 as f64 / 100.0
    }

    /// Formats as `12.34`.
    pub fn format(self, currency: &str) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        let v = self.0.abs();
        format!("{sign}{}.{:02} {currency}", v / 100, v % 100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_amounts_to_minor_units() {
        assert_eq!(Money::parse("12.34").unwrap(), Money(1234));
        assert_eq!(Money::parse("12.5").unwrap(), Money(1250));
        assert_eq!(Money::parse("7").unwrap(), Money(700));
    }

    #[test]
    fn rejects_negative_and_three_decimals_and_commas() {
        for bad in ["-1", "1.234", "1,50", "", "abc", ".5"] {
            assert!(Money::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn amounts_are_bounded_and_line_values_do_not_wrap() {
        assert!(Money::parse("10000000000.00").is_ok());
        assert!(Money::parse("10000000000.01").is_err());
        assert!(Money::parse("99999999999999999999").is_err());
        assert!(Money::from_minor(i64::MAX).is_err());
        assert!(Money::from_minor(-1).is_err());
        assert_eq!(Money(i64::MAX).times(2), Money(i64::MAX));
        assert_eq!(
            Money(Money::MAX_MINOR).times(1_000_000).0,
            1_000_000_000_000_000_000
        );
    }

    #[test]
    fn formats_with_currency() {
        assert_eq!(Money(1205).format("EUR"), "12.05 EUR");
    }
}
