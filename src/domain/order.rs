//! Rules about what an incoming order or purchase order may say.

use super::{ParseError, Sku};

/// Whether a purchase order (or one of its lines) should stay open or be cancelled: the only two
/// states a sender may ask for (`open` | `cancelled`, any case). Received quantities are ours.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RequestedStatus {
    /// Keep expecting the units.
    #[default]
    Open,
    /// Stop expecting them.
    Cancelled,
}

impl RequestedStatus {
    /// Parses `open` or `cancelled`.
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "open" => Ok(Self::Open),
            "cancelled" => Ok(Self::Cancelled),
            _ => Err(ParseError::new(format!(
                "\"{}\" is not open or cancelled",
                raw.trim()
            ))),
        }
    }

    /// Whether this asks for cancellation.
    pub fn is_cancelled(self) -> bool {
        self == Self::Cancelled
    }
}

/// The first line that repeats an earlier line's SKU (case-insensitive): `(earlier, repeat)`.
/// One order or PO names each product once; two lines for one SKU are refused rather than merged.
pub fn repeated_sku<'a>(skus: impl IntoIterator<Item = &'a Sku>) -> Option<(usize, usize)> {
    let mut seen = std::collections::HashMap::new();
    for (i, sku) in skus.into_iter().enumerate() {
        if let Some(first) = seen.insert(sku.key(), i) {
            return Some((first, i));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_is_open_or_cancelled_only() {
        assert_eq!(
            RequestedStatus::parse("OPEN").unwrap(),
            RequestedStatus::Open
        );
        assert!(RequestedStatus::parse("cancelled").unwrap().is_cancelled());
        assert!(RequestedStatus::parse("received").is_err());
    }

    #[test]
    fn repeated_skus_are_found_whatever_their_case() {
        let skus: Vec<Sku> = ["HAT-GRN", "TENT-2P", "hat-grn"]
            .iter()
            .map(|s| Sku::parse(s).unwrap())
            .collect();
        assert_eq!(repeated_sku(&skus), Some((0, 2)));
        assert_eq!(repeated_sku(&skus[..2]), None);
    }
}
