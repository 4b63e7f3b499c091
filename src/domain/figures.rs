//! The figures operators watch (`GET /metrics`), as they stand when asked for.

use super::alerts::Severity;
use super::Money;

/// The shop's state in numbers: open backorders, alerts firing and the queues waiting to go out.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ShopFigures {
    /// Backorders with status open.
    pub open_backorders: i64,
    /// The units still owed to them (allocated units not counted).
    pub open_units: i64,
    /// Their order-line value: backordered quantity × the line's unit price, the value
    /// `/backorders sort:value` ranks by.
    pub open_value: Money,
    /// SKUs in alert per configured rule and severity, zeros included.
    pub alerts_firing: Vec<(String, Severity, i64)>,
    /// Customer updates (the outbox).
    pub customer_updates: QueueFigures,
    /// Discord channel posts.
    pub channel_posts: QueueFigures,
}

/// A queue of messages to deliver.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueFigures {
    /// Messages still to deliver, per status as stored (`pending`, and `sending` where a sender
    /// claims them), zeros included.
    pub waiting: Vec<(&'static str, i64)>,
    /// Messages given up on (dead letters).
    pub failed: i64,
}
