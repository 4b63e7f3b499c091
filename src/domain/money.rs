//! Money in integer minor units (cents); never floats.

use super::ParseError;

/// An amount in minor units of the shop's currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Money(pub i64);

impl Money {
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
            .map(Money)
            .ok_or_else(|| ParseError::new(format!("\"{s}\" is too large")))
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
    fn formats_with_currency() {
        assert_eq!(Money(1205).format("EUR"), "12.05 EUR");
    }
}
