//! Orders coming in: reserve what is free, backorder the shortfall.

use super::{App, AppError, AppResult};
use crate::store::{self, Conn};
use chrono::{DateTime, Utc};

/// One order line as it arrives.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderLineInput {
    /// Product id.
    pub product_id: i64,
    /// SKU (for messages).
    pub sku: String,
    /// Units.
    pub qty: i64,
    /// Unit price, minor units.
    pub unit_price_minor: i64,
}

/// What placing a line did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LineOutcome {
    /// Units reserved from stock.
    pub reserved: i64,
    /// Units backordered.
    pub backordered: i64,
    /// The backorder created, if any.
    pub backorder_id: Option<i64>,
    /// The line existed already with the same quantity: nothing done.
    pub unchanged: bool,
}

/// Places one order line inside the caller's transaction. Open backorders have first claim on
/// free stock, so a new order only reserves what is left after them. The caller settles the
/// product afterwards (new backorders need a promise).
pub async fn place_line(
    app: &App,
    conn: &mut Conn,
    order_number: &str,
    customer_id: i64,
    ordered_at: DateTime<Utc>,
    line: &OrderLineInput,
) -> AppResult<LineOutcome> {
    let (order_id, order_customer) = store::orders::upsert_order(conn, order_number, customer_id, ordered_at).await?;
    if order_customer != customer_id {
        return Err(AppError::invalid("customer", format!("order {order_number} belongs to another customer")));
    }
    if let Some((_, qty)) = store::orders::line(conn, order_id, line.product_id).await? {
        if qty == line.qty {
            return Ok(LineOutcome { unchanged: true, ..LineOutcome::default() });
        }
        return Err(AppError::invalid(
            "qty",
            format!("order {order_number} already has {qty} × {}; changing an order line is not supported", line.sku),
        ));
    }
    let line_id = store::orders::insert_line(conn, order_id, line.product_id, line.qty, line.unit_price_minor).await?;
    let pos = store::stock::position(conn, line.product_id).await?;
    let (_, waiting) = store::backorders::open_summary(conn, line.product_id).await?;
    let free = (pos.on_hand - pos.allocated - waiting).max(0);
    let reserved = free.min(line.qty);
    let now = app.clock.now();
    if reserved > 0 {
        store::orders::insert_reservation(conn, line_id, None, line.product_id, reserved, now).await?;
        store::stock::change_allocated(conn, line.product_id, reserved).await?;
    }
    let backordered = line.qty - reserved;
    let backorder_id = if backordered > 0 {
        Some(store::backorders::insert(conn, line_id, line.product_id, customer_id, backordered, now).await?)
    } else {
        None
    };
    Ok(LineOutcome { reserved, backordered, backorder_id, unchanged: false })
}
