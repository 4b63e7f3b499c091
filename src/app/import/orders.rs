//! Order lines: reserve free stock, backorder the shortfall. Applied set-based (see
//! [`crate::store::import::apply_order_lines`]), with the same outcome as placing the lines one
//! after another.

use super::{ImportReport, Lookups, Problems, Row};
use crate::app::{App, AppResult};
use crate::domain::date::{check_ordered_at, parse_timestamp};
use crate::domain::{parse_positive_quantity, CustomerId, Money, OrderNumber, ProductId, Sku};
use crate::store::{self, import::OrderLineIn, Conn};
use chrono::{DateTime, Utc};
use std::collections::HashMap;

/// Checks every row and stages the good ones on `conn`.
/// `now` bounds `ordered_at` (at most a day ahead).
pub(super) async fn stage(
    conn: &mut Conn,
    rows: &[Row],
    p: &mut Problems,
    look: &mut Lookups,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let mut out = Vec::with_capacity(rows.len());
    let mut orders: HashMap<String, CustomerId> = HashMap::new();
    let mut lines: HashMap<(String, ProductId), i64> = HashMap::new();
    for row in rows {
        let order = p.required(row, "order", |s| {
            OrderNumber::parse(s).map(|n| n.to_string())
        });
        let customer = look.customer(conn, p, row).await?;
        let sku = p.required(row, "sku", Sku::parse);
        let qty = p.required(row, "qty", parse_positive_quantity);
        let price = p.cell(row, "unit_price", Money::parse);
        let at = p.cell(row, "ordered_at", |raw| {
            parse_timestamp(raw).and_then(|at| check_ordered_at(at, now))
        });
        let product = look.product(conn, p, row.line, sku.as_ref()).await?;
        let (Some(order), Some(customer), Some(product), Some(qty)) =
            (order, customer, product, qty)
        else {
            continue;
        };
        let first_of_order = !orders.contains_key(&order);
        let file_customer = *orders.entry(order.clone()).or_insert(customer.id);
        let earlier_qty = lines.get(&(order.clone(), product.id)).copied();
        if earlier_qty.is_none() {
            lines.insert((order.clone(), product.id), qty);
        }
        out.push(OrderLineIn {
            line: row.line as i64,
            order_number: order,
            customer_id: customer.id,
            file_customer,
            first_of_order,
            ordered_at: at,
            product_id: product.id,
            sku: product.sku.clone(),
            qty,
            unit_price_minor: price.map_or(product.unit_price_minor, |m| m.0),
            earlier_qty,
        });
    }
    store::import::stage_order_lines(conn, &out).await?;
    Ok(())
}

/// Writes the staged lines; returns the products that got a backorder.
pub(super) async fn apply(
    app: &App,
    conn: &mut Conn,
    report: &mut ImportReport,
    p: &mut Problems,
) -> AppResult<Vec<ProductId>> {
    let applied = store::import::apply_order_lines(conn, app.clock.now()).await?;
    for (line, column, reason) in applied.problems {
        p.add(line as usize, column, reason);
    }
    report.changed = applied.created;
    report.unchanged = report.rows - applied.created;
    report.backorders_created = applied.backorders_created;
    Ok(applied.backordered_products)
}
