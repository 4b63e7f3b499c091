//! The stock ledger and the position row kept beside it.

use super::{ts, Conn};
use crate::domain::MovementKind;
use chrono::{DateTime, Utc};

/// On hand and allocated for one product.
#[derive(Debug, Clone, Copy, sqlx::FromRow, PartialEq, Eq)]
pub struct PositionRow {
    pub on_hand: i64,
    pub allocated: i64,
}

/// Reads a product's position (zero when it has none yet).
pub async fn position(conn: &mut Conn, product_id: i64) -> anyhow::Result<PositionRow> {
    Ok(
        sqlx::query_as("SELECT on_hand, allocated FROM stock_positions WHERE product_id = $1")
            .bind(product_id)
            .fetch_optional(conn)
            .await?
            .unwrap_or(PositionRow {
                on_hand: 0,
                allocated: 0,
            }),
    )
}

/// A stock movement to record.
#[derive(Debug, Clone)]
pub struct Movement<'a> {
    pub product_id: i64,
    pub kind: MovementKind,
    /// Signed units.
    pub qty: i64,
    pub actor: &'a str,
    pub reason: &'a str,
    /// PO number, order number…
    pub reference: Option<&'a str>,
    pub at: DateTime<Utc>,
}

/// Writes a movement and moves on-hand by the same amount, in the caller's transaction.
pub async fn record_movement(conn: &mut Conn, m: &Movement<'_>) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO stock_movements (product_id, kind, qty, actor, reason, reference, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(m.product_id)
    .bind(m.kind)
    .bind(m.qty)
    .bind(m.actor)
    .bind(m.reason)
    .bind(m.reference)
    .bind(ts(m.at))
    .execute(&mut *conn)
    .await?;
    // An UPDATE, not an upsert: SQLite checks CHECK constraints on the would-be inserted row.
    let updated =
        sqlx::query("UPDATE stock_positions SET on_hand = on_hand + $1 WHERE product_id = $2")
            .bind(m.qty)
            .bind(m.product_id)
            .execute(&mut *conn)
            .await?
            .rows_affected();
    if updated == 0 {
        sqlx::query("INSERT INTO stock_positions (product_id, on_hand) VALUES ($1, $2)")
            .bind(m.product_id)
            .bind(m.qty)
            .execute(conn)
            .await?;
    }
    Ok(())
}

/// Moves the allocated count (positive to allocate, negative to release or ship).
pub async fn change_allocated(conn: &mut Conn, product_id: i64, delta: i64) -> anyhow::Result<()> {
    sqlx::query("UPDATE stock_positions SET allocated = allocated + $1 WHERE product_id = $2")
        .bind(delta)
        .bind(product_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// On hand, allocated, and the count and units still owed of open backorders (the totals
/// migration 0011's triggers keep), in one read of one row.
pub async fn position_with_backorders(
    conn: &mut Conn,
    product_id: i64,
) -> anyhow::Result<(PositionRow, i64, i64)> {
    let row: Option<(i64, i64, i64, i64)> = sqlx::query_as(
        "SELECT on_hand, allocated, open_backorders, backorder_units
         FROM stock_positions WHERE product_id = $1",
    )
    .bind(product_id)
    .fetch_optional(conn)
    .await?;
    let (on_hand, allocated, open, units) = row.unwrap_or_default();
    Ok((PositionRow { on_hand, allocated }, open, units))
}
