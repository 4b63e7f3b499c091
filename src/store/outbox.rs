//! Customer updates waiting to be delivered.

use super::{ts, Conn};
use crate::domain::{BackorderId, CustomerId, UpdateKind};
use crate::store::run;
use chrono::{DateTime, Utc};

/// Drops every queued customer update: the demo shop's customers are made up and must never be
/// written to. Only for a database that held nothing before this transaction.
pub async fn discard_all(conn: &mut Conn) -> anyhow::Result<u64> {
    Ok(run!(conn, sqlx::query("DELETE FROM outbox"), execute)?)
}

/// Queues one customer update.
pub async fn enqueue(
    conn: &mut Conn,
    backorder_id: BackorderId,
    customer_id: CustomerId,
    kind: UpdateKind,
    payload: &str,
    at: DateTime<Utc>,
) -> anyhow::Result<()> {
    run!(conn, sqlx::query(
        "INSERT INTO outbox (backorder_id, customer_id, kind, payload, next_attempt_at, created_at)
         VALUES ($1, $2, $3, $4, $5, $5)",
    )
    .bind(backorder_id)
    .bind(customer_id)
    .bind(kind)
    .bind(payload)
    .bind(ts(at)), execute)?;
    Ok(())
}
