//! Row ids as their own types, so a customer id cannot be passed where a backorder id belongs.
//! The store gives them out and takes them back; otherwise one is only read from text a user or
//! a button gave (`/backorder show 42`, a button's custom id). They serialize as their number,
//! so a JSON payload, a stored post's components or an API response reads as before.

macro_rules! row_id {
    ($($(#[$doc:meta])* $name:ident;)*) => {$(
        $(#[$doc])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize,
            serde::Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(pub i64);

        /// Reads the id back from its decimal text (a button's custom id).
        impl std::str::FromStr for $name {
            type Err = std::num::ParseIntError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.parse().map(Self)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    )*};
}

row_id! {
    /// A product's row id.
    ProductId;
    /// A customer's row id (the shop's own id is [`super::CustomerRef`]).
    CustomerId;
    /// A backorder's row id.
    BackorderId;
    /// A queued customer update's row id (the outbox).
    OutboxId;
    /// A purchase order's row id (the supplier's number is [`super::PoNumber`]).
    PurchaseOrderId;
    /// A purchase-order line's row id.
    PoLineId;
    /// An alert run's row id.
    AlertRunId;
    /// A queued channel post's row id.
    PostId;
    /// A customer order's row id (the shop's number is [`super::OrderNumber`]).
    OrderId;
    /// An order line's row id.
    OrderLineId;
    /// A message handed to a provider (SMS or e-mail).
    MessageId;
    /// A text a customer sent us.
    InboundId;
    /// A supplier's row id (the shop's code is its key in files).
    SupplierId;
    /// A discount code of the incentives pool.
    DiscountCodeId;
    /// A batch of customer updates held for ops approval.
    ApprovalId;
}
