//! A SKU's stock position and the status word the team sees.

use chrono::NaiveDate;

/// One purchase-order line still to arrive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundLine {
    /// Purchase order number.
    pub po_number: String,
    /// Units still to arrive.
    pub qty: i64,
    /// Supplier's expected date, if known.
    pub eta: Option<NaiveDate>,
}

/// Everything the team asks about a SKU's stock.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StockPosition {
    /// Units physically on hand (the ledger's sum).
    pub on_hand: i64,
    /// Units promised to orders and allocated backorders.
    pub allocated: i64,
    /// Open purchase-order lines, earliest ETA first.
    pub inbound: Vec<InboundLine>,
    /// Number of open backorders.
    pub open_backorders: i64,
    /// Units still owed to open backorders (not yet allocated).
    pub backordered_units: i64,
    /// Reorder when available + inbound falls to this.
    pub reorder_point: i64,
    /// Stock kept back for surprises.
    pub safety_stock: i64,
}

/// The one-word summary of a position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StockStatus {
    /// Enough stock.
    Ok,
    /// At or under the reorder point.
    Low,
    /// Nothing available.
    Out,
    /// Customers are waiting.
    Backordered,
}

impl StockStatus {
    /// Upper-case word for chat.
    pub fn as_str(self) -> &'static str {
        match self {
            StockStatus::Ok => "OK",
            StockStatus::Low => "LOW",
            StockStatus::Out => "OUT",
            StockStatus::Backordered => "BACKORDERED",
        }
    }
}

/// Units on hand that nothing holds: on hand less allocated. The schema keeps allocated within
/// on hand, so the floor at 0 only matters for figures put together by hand. The store's
/// `stock::AVAILABLE` is this rule in SQL.
pub fn available(on_hand: i64, allocated: i64) -> i64 {
    (on_hand - allocated).max(0)
}

/// Units a new order can be promised: [`available`] less the units owed to open backorders,
/// which have first claim on free stock; never below 0. The store's `stock::FREE_TO_PROMISE` is
/// this rule in SQL.
pub fn free_to_promise(on_hand: i64, allocated: i64, owed_to_backorders: i64) -> i64 {
    (available(on_hand, allocated) - owed_to_backorders).max(0)
}

impl StockPosition {
    /// See [`available`].
    pub fn available(&self) -> i64 {
        available(self.on_hand, self.allocated)
    }

    /// Units that new orders can take: see [`free_to_promise`].
    pub fn available_to_sell(&self) -> i64 {
        free_to_promise(self.on_hand, self.allocated, self.backordered_units)
    }

    /// Units on open purchase orders.
    pub fn inbound_units(&self) -> i64 {
        self.inbound.iter().map(|l| l.qty).sum()
    }

    /// BACKORDERED beats OUT beats LOW beats OK.
    pub fn status(&self) -> StockStatus {
        if self.open_backorders > 0 {
            StockStatus::Backordered
        } else if self.available() == 0 {
            StockStatus::Out
        } else if self.available() <= self.reorder_point.max(self.safety_stock) {
            StockStatus::Low
        } else {
            StockStatus::Ok
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pos(on_hand: i64, allocated: i64, open: i64) -> StockPosition {
        StockPosition {
            on_hand,
            allocated,
            inbound: vec![],
            open_backorders: open,
            backordered_units: open * 2,
            reorder_point: 10,
            safety_stock: 5,
        }
    }

    #[test]
    fn status_words_follow_the_position() {
        assert_eq!(pos(50, 0, 0).status(), StockStatus::Ok);
        assert_eq!(pos(15, 5, 0).status(), StockStatus::Low);
        assert_eq!(pos(5, 5, 0).status(), StockStatus::Out);
        assert_eq!(pos(50, 0, 1).status(), StockStatus::Backordered);
    }

    #[test]
    fn backorders_have_first_claim_on_free_stock() {
        let p = pos(10, 2, 3);
        assert_eq!(p.available(), 8);
        assert_eq!(p.available_to_sell(), 2);
    }
}
