//! Orders coming in: reserve what is free, backorder the shortfall.

use super::{field, App, AppError, AppResult};
use crate::domain::audit::AuditEntry;
use crate::domain::date::check_ordered_at;
use crate::domain::order::repeated_sku;
use crate::domain::{
    BackorderId, CustomerId, CustomerRef, Money, OrderLineId, OrderNumber, ProductId, Quantity,
    Sku, StockPosition,
};
use crate::store::{self, Conn};
use chrono::{DateTime, Utc};

/// One order line as it arrives.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderLineInput {
    /// Product id.
    pub product_id: ProductId,
    /// SKU (for messages).
    pub sku: String,
    /// Units.
    pub qty: i64,
    /// Unit price, minor units.
    pub unit_price_minor: i64,
}

/// What placing a line did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineOutcome {
    /// Units reserved from stock.
    pub reserved: i64,
    /// Units backordered.
    pub backordered: i64,
    /// The backorder created, if any.
    pub backorder_id: Option<BackorderId>,
    /// The order line.
    pub line_id: OrderLineId,
    /// The line existed already with the same quantity: nothing done, and the figures above are
    /// what placing it did then.
    pub unchanged: bool,
}

/// Places one order line inside the caller's transaction. Open backorders have first claim on
/// free stock, so a new order only reserves what is left after them. The caller settles the
/// product afterwards (new backorders need a promise).
pub async fn place_line(
    app: &App,
    conn: &mut Conn,
    order_number: &str,
    customer_id: CustomerId,
    ordered_at: DateTime<Utc>,
    line: &OrderLineInput,
) -> AppResult<LineOutcome> {
    let (order_id, order_customer) =
        store::orders::upsert_order(conn, order_number, customer_id, ordered_at).await?;
    if order_customer != customer_id {
        return Err(AppError::invalid(
            "customer",
            format!("order {order_number} belongs to another customer"),
        ));
    }
    if let Some((line_id, qty)) = store::orders::line(conn, order_id, line.product_id).await? {
        if qty == line.qty {
            let (reserved, backorder) = store::orders::line_placement(conn, line_id).await?;
            return Ok(LineOutcome {
                reserved,
                backordered: backorder.map_or(0, |(_, qty)| qty),
                backorder_id: backorder.map(|(id, _)| id),
                line_id,
                unchanged: true,
            });
        }
        return Err(AppError::invalid(
            "qty",
            format!("order {order_number} already has {qty} × {}; changing an order line is not supported", line.sku),
        ));
    }
    let line_id = store::orders::insert_line(
        conn,
        order_id,
        line.product_id,
        line.qty,
        line.unit_price_minor,
    )
    .await?;
    let (pos, _, waiting) = store::stock::position_with_backorders(conn, line.product_id).await?;
    let free = StockPosition {
        on_hand: pos.on_hand,
        allocated: pos.allocated,
        backordered_units: waiting,
        ..StockPosition::default()
    }
    .available_to_sell();
    let reserved = free.min(line.qty);
    let now = app.clock.now();
    if reserved > 0 {
        store::orders::insert_reservation(conn, line_id, None, line.product_id, reserved, now)
            .await?;
        store::stock::change_allocated(conn, line.product_id, reserved).await?;
    }
    let backordered = line.qty - reserved;
    let backorder_id = if backordered > 0 {
        Some(
            store::backorders::insert(
                conn,
                line_id,
                line.product_id,
                customer_id,
                backordered,
                now,
            )
            .await?,
        )
    } else {
        None
    };
    Ok(LineOutcome {
        reserved,
        backordered,
        backorder_id,
        line_id,
        unchanged: false,
    })
}

/// An order as the shop's systems send it.
#[derive(Debug, Clone, PartialEq)]
pub struct NewOrder {
    /// Order number.
    pub order: String,
    /// Shop's customer id.
    pub customer: String,
    /// When it was placed (default: now).
    pub ordered_at: Option<DateTime<Utc>>,
    /// (SKU, qty, unit price minor units or the list price).
    pub lines: Vec<(String, i64, Option<i64>)>,
}

/// What an order did, line by line.
#[derive(Debug, Clone, PartialEq)]
pub struct PlacedOrder {
    /// Order number.
    pub order: String,
    /// (SKU, outcome) per line.
    pub lines: Vec<(String, LineOutcome)>,
}

/// Places a whole order in one transaction (the ingest API): reservations, backorders, promises.
pub async fn place_order(
    app: &App,
    actor: &super::Actor,
    order: &NewOrder,
) -> AppResult<PlacedOrder> {
    let mut tx = app.store.begin_write().await?;
    let placed = place_order_in(app, super::idempotency::Unit(&mut tx), actor, order).await?;
    tx.commit().await?;
    Ok(placed)
}

/// An order whose every field passed its parser.
struct CheckedOrder {
    number: OrderNumber,
    customer: CustomerRef,
    at: DateTime<Utc>,
    lines: Vec<(Sku, Quantity, Option<Money>)>,
}

/// Checks every field of an order before anything is read, naming the field path on error.
fn check_order(app: &App, order: &NewOrder) -> AppResult<CheckedOrder> {
    let number = field("order", OrderNumber::parse(&order.order))?;
    let customer = field("customer", CustomerRef::parse(&order.customer))?;
    let now = app.clock.now();
    let at = match order.ordered_at {
        Some(at) => field("ordered_at", check_ordered_at(at, now))?,
        None => now,
    };
    if order.lines.is_empty() {
        return Err(AppError::invalid(
            "lines",
            "an order needs at least one line",
        ));
    }
    let mut lines = Vec::with_capacity(order.lines.len());
    for (i, (sku, qty, price)) in order.lines.iter().enumerate() {
        let sku = field(&format!("lines[{i}].sku"), Sku::parse(sku))?;
        let qty = field(&format!("lines[{i}].qty"), Quantity::new(*qty))?;
        let price = price
            .map(Money::from_minor)
            .transpose()
            .map_err(|e| AppError::invalid(format!("lines[{i}].unit_price_minor"), e))?;
        lines.push((sku, qty, price));
    }
    if let Some((first, again)) = repeated_sku(lines.iter().map(|(s, _, _)| s)) {
        return Err(AppError::invalid(
            format!("lines[{again}].sku"),
            format!(
                "{} is already on lines[{first}]; put its whole quantity on one line",
                lines[again].0
            ),
        ));
    }
    Ok(CheckedOrder {
        number,
        customer,
        at,
        lines,
    })
}

/// [`place_order`] inside the caller's write transaction (the ingest API commits it together
/// with the idempotency record).
pub async fn place_order_in(
    app: &App,
    tx: super::idempotency::Unit<'_>,
    actor: &super::Actor,
    order: &NewOrder,
) -> AppResult<PlacedOrder> {
    let tx = tx.0;
    let change = super::approvals::begin(tx).await?;
    let CheckedOrder {
        number,
        customer: customer_ref,
        at,
        lines,
    } = check_order(app, order)?;
    let number = number.as_str();
    let customer = store::customers::by_external_id(tx, customer_ref.as_str())
        .await?
        .ok_or_else(|| {
            AppError::invalid("customer", format!("unknown customer \"{customer_ref}\""))
        })?;
    let mut out = Vec::new();
    let mut touched = Vec::new();
    for (i, (sku, qty, price)) in lines.iter().enumerate() {
        let product = app
            .product(tx, sku.as_str())
            .await
            .map_err(|e| e.within(&format!("lines[{i}]")))?;
        let line = OrderLineInput {
            product_id: product.id,
            sku: product.sku.clone(),
            qty: qty.get(),
            unit_price_minor: price.map_or(product.unit_price_minor, |p| p.0),
        };
        let token = super::promise::token_before(app, tx, product.id).await?;
        let outcome = place_line(app, tx, number, customer.id, at, &line)
            .await
            .map_err(|e| e.within(&format!("lines[{i}]")))?;
        if let Some(backorder_id) = outcome.backorder_id.filter(|_| !outcome.unchanged) {
            if token.is_some() {
                super::promise::join_new_backorder(
                    app,
                    tx,
                    &product,
                    backorder_id,
                    token,
                    &actor.name,
                    "order",
                )
                .await?;
            } else {
                touched.push(product.id);
            }
        }
        out.push((product.sku, outcome));
    }
    super::promise::settle(
        app,
        tx,
        &touched,
        super::promise::Cause::BackorderCreated,
        &actor.name,
        "order",
        false,
    )
    .await?;
    store::audit::record(
        tx,
        &AuditEntry::ok(&actor.name, "place_order", number),
        app.clock.now(),
    )
    .await?;
    super::approvals::judge(app, tx, change, &actor.name, &format!("order {number}")).await?;
    Ok(PlacedOrder {
        order: number.to_string(),
        lines: out,
    })
}
