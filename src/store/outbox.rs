//! Customer updates waiting to be delivered.

use super::{ts, Conn};
use crate::domain::UpdateKind;
use chrono::{DateTime, Utc};

/// Queues one customer update.
pub async fn enqueue(
    conn: &mut Conn,
    backorder_id: i64,
    customer_id: i64,
    kind: UpdateKind,
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
