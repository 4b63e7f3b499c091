//! A backorder's life: open until every unit is allocated, then shipped (fulfilled) or cancelled.

use super::ParseError;
use std::fmt;

/// Where a backorder stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BackorderStatus {
    /// Waiting for stock; has a queue place and a promised ETA.
    Open,
    /// Every unit is set aside; ready to ship.
    Allocated,
    /// Shipped.
    Fulfilled,
    /// Closed without shipping (a lost sale).
    Cancelled,
}

impl BackorderStatus {
    /// Every status, in life order.
    pub const ALL: [BackorderStatus; 4] = [
        BackorderStatus::Open,
        BackorderStatus::Allocated,
        BackorderStatus::Fulfilled,
        BackorderStatus::Cancelled,
    ];

    /// What `/backorders status:` offers: every status, then `all`.
    pub const FILTER_CHOICES: [&'static str; 5] = [
        BackorderStatus::Open.as_str(),
        BackorderStatus::Allocated.as_str(),
        BackorderStatus::Fulfilled.as_str(),
        BackorderStatus::Cancelled.as_str(),
        "all",
    ];

    /// The stored spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            BackorderStatus::Open => "open",
            BackorderStatus::Allocated => "allocated",
            BackorderStatus::Fulfilled => "fulfilled",
            BackorderStatus::Cancelled => "cancelled",
        }
    }

    /// Parses a status name (any case).
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let s = raw.trim().to_ascii_lowercase();
        Self::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| {
                ParseError::new(format!(
                    "\"{s}\" is not a status (open, allocated, fulfilled or cancelled)"
                ))
            })
    }

    /// The status of an open backorder of `qty` units once `allocated` of them are set aside:
    /// the one rule for when a backorder becomes ready to ship.
    pub fn after_allocation(qty: i64, allocated: i64) -> Self {
        if allocated >= qty {
            BackorderStatus::Allocated
        } else {
            BackorderStatus::Open
        }
    }

    /// Whether ops can still cancel it.
    pub fn is_active(self) -> bool {
        matches!(self, BackorderStatus::Open | BackorderStatus::Allocated)
    }
}

impl fmt::Display for BackorderStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What became of stock set aside for an order line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReservationStatus {
    /// Still set aside.
    Held,
    /// Left the warehouse with the order.
    Shipped,
    /// Given back to free stock (the backorder was cancelled).
    Released,
}

impl ReservationStatus {
    /// Every status.
    pub const ALL: [ReservationStatus; 3] = [
        ReservationStatus::Held,
        ReservationStatus::Shipped,
        ReservationStatus::Released,
    ];

    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ReservationStatus::Held => "held",
            ReservationStatus::Shipped => "shipped",
            ReservationStatus::Released => "released",
        }
    }
}

impl fmt::Display for ReservationStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_backorder_is_allocated_once_every_unit_is_set_aside() {
        assert_eq!(
            BackorderStatus::after_allocation(3, 2),
            BackorderStatus::Open
        );
        assert_eq!(
            BackorderStatus::after_allocation(3, 3),
            BackorderStatus::Allocated
        );
        assert_eq!(
            BackorderStatus::after_allocation(3, 4),
            BackorderStatus::Allocated
        );
    }

    #[test]
    fn statuses_parse_their_stored_spelling_in_any_case() {
        for s in BackorderStatus::ALL {
            assert_eq!(BackorderStatus::parse(&s.as_str().to_uppercase()), Ok(s));
        }
        assert!(BackorderStatus::parse("shipped").is_err());
    }
}
