//! Customer updates waiting to be delivered.

use super::{ts, Conn};
use chrono::{DateTime, Utc};

/// Queues one customer update.
pub async fn enqueue(
    conn: &mut Conn,
    backorder_id: i64,
    customer_id: i64,
    kind: &str,
    payload: &str,
    at: DateTime<Utc>,
) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO outbox (backorder_id, customer_id, kind, payload, next_attempt_at, created_at)
         VALUES ($1, $2, $3, $4, $5, $5)",
    )
    .bind(backorder_id)
    .bind(customer_id)
    .bind(kind)
    .bind(payload)
    .bind(ts(at))
    .execute(conn)
    .await?;
    Ok(())
}

/// An outbox row.
#[derive(Debug, Clone, sqlx::FromRow, PartialEq)]
pub struct OutboxRow {
    /// Row id.
    pub id: i64,
    /// Backorder.
    pub backorder_id: i64,
    /// Customer.
    pub customer_id: i64,
    /// eta_changed | allocated | cancelled
    pub kind: String,
    /// JSON payload.
    pub payload: String,
    /// pending | sending | sent | failed | skipped
    pub status: String,
}

/// Rows for a backorder, oldest first.
pub async fn for_backorder(conn: &mut Conn, backorder_id: i64) -> anyhow::Result<Vec<OutboxRow>> {
    Ok(sqlx::query_as(
        "SELECT id, backorder_id, customer_id, kind, payload, status FROM outbox WHERE backorder_id = $1 ORDER BY id",
    )
    .bind(backorder_id)
    .fetch_all(conn)
    .await?)
}

/// Number of rows with a status.
pub async fn count_with_status(conn: &mut Conn, status: &str) -> anyhow::Result<i64> {
    Ok(
        sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE status = $1")
            .bind(status)
            .fetch_one(conn)
            .await?,
    )
}
