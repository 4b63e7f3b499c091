//! Orders, order lines and stock reservations.

use super::types::sql_word;
use super::{ts, Conn};
use crate::domain::{BackorderId, CustomerId, OrderId, OrderLineId, ProductId, ReservationStatus};
use crate::store::run;
use chrono::{DateTime, Utc};

/// Finds or creates an order header; returns its id and customer id.
pub async fn upsert_order(
    conn: &mut Conn,
    order_number: &str,
    customer_id: CustomerId,
    ordered_at: DateTime<Utc>,
) -> anyhow::Result<(OrderId, CustomerId)> {
    run!(
        conn,
        sqlx::query(
            "INSERT INTO orders (order_number, customer_id, ordered_at) VALUES ($1, $2, $3)
         ON CONFLICT (order_number) DO NOTHING",
        )
        .bind(order_number)
        .bind(customer_id)
        .bind(ts(ordered_at)),
        execute
    )?;
    Ok(run!(
        conn,
        sqlx::query_as("SELECT id, customer_id FROM orders WHERE order_number = $1")
            .bind(order_number),
        fetch_one
    )?)
}

/// An existing order line: (id, qty).
pub async fn line(
    conn: &mut Conn,
    order_id: OrderId,
    product_id: ProductId,
) -> anyhow::Result<Option<(OrderLineId, i64)>> {
    Ok(run!(
        conn,
        sqlx::query_as("SELECT id, qty FROM order_lines WHERE order_id = $1 AND product_id = $2")
            .bind(order_id)
            .bind(product_id),
        fetch_optional
    )?)
}

/// What an order line got when it was placed: the units reserved from stock then, and its
/// backorder (id, units) if it has one.
pub async fn line_placement(
    conn: &mut Conn,
    line_id: OrderLineId,
) -> anyhow::Result<(i64, Option<(BackorderId, i64)>)> {
    let reserved: i64 = run!(
        conn,
        sqlx::query_scalar(
            "SELECT CAST(COALESCE(SUM(qty), 0) AS BIGINT) FROM reservations
         WHERE order_line_id = $1 AND backorder_id IS NULL",
        )
        .bind(line_id),
        fetch_one
    )?;
    let backorder = run!(
        conn,
        sqlx::query_as("SELECT id, qty FROM backorders WHERE order_line_id = $1").bind(line_id),
        fetch_optional
    )?;
    Ok((reserved, backorder))
}

/// Inserts an order line.
pub async fn insert_line(
    conn: &mut Conn,
    order_id: OrderId,
    product_id: ProductId,
    qty: i64,
    unit_price_minor: i64,
) -> anyhow::Result<OrderLineId> {
    Ok(run!(conn, sqlx::query_scalar(
        "INSERT INTO order_lines (order_id, product_id, qty, unit_price_minor) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(order_id)
    .bind(product_id)
    .bind(qty)
    .bind(unit_price_minor), fetch_one)?)
}

/// Sets stock aside for an order line, or for its backorder.
pub async fn insert_reservation(
    conn: &mut Conn,
    order_line_id: OrderLineId,
    backorder_id: Option<BackorderId>,
    product_id: ProductId,
    qty: i64,
    at: DateTime<Utc>,
) -> anyhow::Result<()> {
    run!(
        conn,
        sqlx::query(
            "INSERT INTO reservations (order_line_id, backorder_id, product_id, qty, created_at)
         VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(order_line_id)
        .bind(backorder_id)
        .bind(product_id)
        .bind(qty)
        .bind(ts(at)),
        execute
    )?;
    Ok(())
}

/// Marks a backorder's held reservations shipped or released; returns the units.
pub async fn close_backorder_reservations(
    conn: &mut Conn,
    backorder_id: BackorderId,
    status: ReservationStatus,
) -> anyhow::Result<i64> {
    let units: i64 = run!(
        conn,
        sqlx::query_scalar(concat!(
            "SELECT CAST(COALESCE(SUM(qty), 0) AS BIGINT) FROM reservations\n             WHERE backorder_id = $1 AND status = ",
            sql_word!(reservation held)
        ))
        .bind(backorder_id),
        fetch_one
    )?;
    run!(
        conn,
        sqlx::query(concat!(
            "UPDATE reservations SET status = $1 WHERE backorder_id = $2 AND status = ",
            sql_word!(reservation held)
        ))
        .bind(status)
        .bind(backorder_id),
        execute
    )?;
    Ok(units)
}
