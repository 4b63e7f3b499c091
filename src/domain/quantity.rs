//! Quantities: units on an order or PO line, stock adjustments, and stock counts.

use super::ParseError;

/// Units on one order or purchase-order line: 1 to [`Quantity::MAX`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Quantity(i64);

impl Quantity {
    /// The most units one line (or one adjustment) may move.
    pub const MAX: i64 = 1_000_000;

    /// Checks a number already read (JSON).
    pub fn new(n: i64) -> Result<Self, ParseError> {
        if (1..=Self::MAX).contains(&n) {
            Ok(Self(n))
        } else {
            Err(ParseError::new(format!(
                "{n} is not between 1 and 1,000,000"
            )))
        }
    }

    /// Parses text (CSV, chat).
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        Self::new(whole_number(raw)?)
    }

    /// The units.
    pub fn get(self) -> i64 {
        self.0
    }
}

/// A stock adjustment: not zero, at most [`Quantity::MAX`] units either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StockDelta(i64);

impl StockDelta {
    /// Checks a signed number; `i64::MIN` is refused too (its absolute value does not exist).
    pub fn new(n: i64) -> Result<Self, ParseError> {
        if n == 0 {
            return Err(ParseError::new("must not be 0"));
        }
        // `unsigned_abs` cannot wrap the way `abs` does for i64::MIN.
        if n.unsigned_abs() > Quantity::MAX as u64 {
            return Err(ParseError::new(format!(
                "{n} is more than 1,000,000 units either way"
            )));
        }
        Ok(Self(n))
    }

    /// The signed units.
    pub fn get(self) -> i64 {
        self.0
    }
}

/// The largest stock count (on hand, reorder point, safety stock) a file may set.
pub const MAX_COUNT: i64 = 1_000_000_000;

/// Parses a stock count: a whole number from 0 to 1,000,000,000.
pub fn parse_count(raw: &str) -> Result<i64, ParseError> {
    let n = whole_number(raw)?;
    if n < 0 {
        return Err(ParseError::new(format!("{n} is negative")));
    }
    if n > MAX_COUNT {
        return Err(ParseError::new(format!("{n} is too large")));
    }
    Ok(n)
}

fn whole_number(raw: &str) -> Result<i64, ParseError> {
    let raw = raw.trim();
    raw.parse()
        .map_err(|_| ParseError::new(format!("\"{raw}\" is not a whole number")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_quantities_are_1_to_a_million() {
        assert_eq!(Quantity::parse(" 12 ").unwrap().get(), 12);
        assert!(Quantity::new(0).is_err());
        assert!(Quantity::new(1_000_001).is_err());
        assert!(Quantity::new(-1).is_err());
        assert!(Quantity::parse("1.5").is_err());
    }

    #[test]
    fn the_smallest_i64_is_not_a_small_delta() {
        assert!(StockDelta::new(i64::MIN).is_err());
        assert!(StockDelta::new(i64::MAX).is_err());
        assert!(StockDelta::new(0).is_err());
        assert_eq!(StockDelta::new(-1_000_000).unwrap().get(), -1_000_000);
    }

    #[test]
    fn counts_are_not_negative() {
        assert_eq!(parse_count("0").unwrap(), 0);
        assert!(parse_count("-1").is_err());
        assert!(parse_count("1000000001").is_err());
    }
}
