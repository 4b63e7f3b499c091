//! Pure types and rules: no I/O, no Discord, no SQL.
//!
//! Values here are parsed once at the edge (`Sku::parse`, `PhoneNumber::parse`, …) and are known
//! good afterwards.

pub mod alerts;
pub mod approval;
pub mod audit;
pub mod backorder;
pub mod contact;
pub mod csv_file;
pub mod customer;
pub mod date;
pub mod figures;
pub mod forecast;
pub mod ident;
pub mod ids;
pub mod incentive;
pub mod ledger;
pub mod markup;
pub mod money;
pub mod notify;
pub mod order;
pub mod outbox;
pub mod page;
pub mod portal;
pub mod priority;
pub mod promise;
pub mod purchasing;
pub mod quantity;
pub mod queue;
pub mod report;
pub mod schedule;
pub mod search;
pub mod sku;
pub mod stock;
pub mod text;

pub use backorder::{BackorderStatus, ReservationStatus};
pub use contact::{EmailAddress, PhoneNumber};
pub use customer::{Channel, Tier};
pub use ident::{CustomerRef, IdempotencyKey, OrderNumber, PoNumber};
pub use ids::{
    AlertRunId, ApprovalId, BackorderId, CustomerId, InboundId, MessageId, OrderId, OrderLineId,
    OutboxId, PoLineId, PostId, ProductId, PurchaseOrderId, SupplierId,
};
pub use ledger::MovementKind;
pub use money::Money;
pub use notify::UpdateKind;
pub use order::RequestedStatus;
pub use outbox::OutboxStatus;
pub use promise::EtaKind;
pub use purchasing::PoStatus;
pub use quantity::{Quantity, StockDelta};
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

/// Parses a stock count (on hand, reorder point…): a whole number from 0 to 1,000,000,000.
pub fn parse_quantity(raw: &str) -> Result<i64, ParseError> {
    quantity::parse_count(raw)
}

/// Parses the units of one order or PO line: 1 to 1,000,000 ([`Quantity`]).
pub fn parse_positive_quantity(raw: &str) -> Result<i64, ParseError> {
    Quantity::parse(raw).map(Quantity::get)
}
