//! Pure types and rules: no I/O, no Discord, no SQL.
//!
//! Values here are parsed once at the edge (`Sku::parse`, `PhoneNumber::parse`, …) and are known
//! good afterwards.

pub mod alerts;
pub mod backorder;
pub mod contact;
pub mod customer;
pub mod date;
pub mod ledger;
pub mod money;
pub mod notify;
pub mod outbox;
pub mod priority;
pub mod promise;
pub mod purchasing;
pub mod schedule;
pub mod sku;
pub mod stock;

pub use backorder::{BackorderStatus, ReservationStatus};
pub use contact::{EmailAddress, PhoneNumber};
pub use customer::{Channel, Tier};
pub use ledger::MovementKind;
pub use money::Money;
pub use notify::UpdateKind;
pub use outbox::OutboxStatus;
pub use promise::EtaKind;
pub use purchasing::PoStatus;
pub use sku::Sku;
pub use stock::{StockPosition, StockStatus};

/// Why a raw value was refused; the caller adds where the value came from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(pub String);

impl ParseError {
    /// Builds an error from anything printable.
    pub fn new(msg: impl Into<String>) -> Self {
        Self(msg.into())
    }
}

/// Parses a whole, non-negative quantity such as `12`.
pub fn parse_quantity(raw: &str) -> Result<i64, ParseError> {
    let raw = raw.trim();
    let n: i64 = raw
        .parse()
        .map_err(|_| ParseError::new(format!("\"{raw}\" is not a whole number")))?;
    if n < 0 {
        return Err(ParseError::new(format!("{n} is negative")));
    }
    if n > 1_000_000_000 {
        return Err(ParseError::new(format!("{n} is too large")));
    }
    Ok(n)
}

/// Parses a strictly positive quantity.
pub fn parse_positive_quantity(raw: &str) -> Result<i64, ParseError> {
    let n = parse_quantity(raw)?;
    if n == 0 {
        return Err(ParseError::new("must be at least 1"));
    }
    Ok(n)
}
