//! The figures `GET /metrics` reads at scrape time. Each is one read of an index or of the
//! per-product aggregates, cheap enough to run on every scrape of a million-SKU shop
//! (docs/http-api.md has the timings).

use super::backorders::owed_value_sql;
use super::Conn;
use crate::domain::alerts::Severity;
use crate::domain::outbox::{OutboxStatus, PostStatus};
use crate::domain::{BackorderStatus, Money};
use crate::store::run;

/// Open backorders: how many, the units still owed to them, and the value of those units (the
/// same figures `/report` shows). The units are the `stock_positions` aggregates the triggers of
/// migration 0011 keep; the value reads the open backorders' rows.
pub async fn open_backorders(conn: &mut Conn) -> anyhow::Result<(i64, i64, Money)> {
    let (count, units, value): (i64, i64, i64) = run!(
        conn,
        sqlx::query_as(concat!(
            "SELECT COUNT(*),
                (SELECT CAST(COALESCE(SUM(backorder_units), 0) AS BIGINT) FROM stock_positions),
                CAST(COALESCE(SUM(",
            owed_value_sql!(),
            "), 0) AS BIGINT)
         FROM backorders b WHERE b.status = $1"
        ))
        .bind(BackorderStatus::Open),
        fetch_one
    )?;
    Ok((count, units, Money(value)))
}

/// SKUs in alert by rule and severity, as the alert runs left them.
pub async fn alerts_firing(conn: &mut Conn) -> anyhow::Result<Vec<(String, Severity, i64)>> {
    Ok(run!(
        conn,
        sqlx::query_as("SELECT rule, severity, COUNT(*) FROM alert_states GROUP BY rule, severity"),
        fetch_all
    )?)
}

/// Messages to deliver: customer updates pending, sending and failed, then Discord channel
/// posts pending and failed. Each count reads its queue's status index.
pub async fn queues(conn: &mut Conn) -> anyhow::Result<([i64; 3], [i64; 2])> {
    let (p, s, f, posts_p, posts_f): (i64, i64, i64, i64, i64) = run!(
        conn,
        sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM outbox WHERE status = $1),
                (SELECT COUNT(*) FROM outbox WHERE status = $2),
                (SELECT COUNT(*) FROM outbox WHERE status = $3),
                (SELECT COUNT(*) FROM channel_posts WHERE status = $4),
                (SELECT COUNT(*) FROM channel_posts WHERE status = $5)",
        )
        .bind(OutboxStatus::Pending)
        .bind(OutboxStatus::Sending)
        .bind(OutboxStatus::Failed)
        .bind(PostStatus::Pending)
        .bind(PostStatus::Failed),
        fetch_one
    )?;
    Ok(([p, s, f], [posts_p, posts_f]))
}
