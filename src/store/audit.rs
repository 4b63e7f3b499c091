//! The audit log: who did what, to what, when and why.

use super::{ts, Conn};
use crate::domain::audit::AuditEntry;
use crate::store::run;
use chrono::{DateTime, Utc};

/// Records one action.
pub async fn record(conn: &mut Conn, entry: &AuditEntry, at: DateTime<Utc>) -> anyhow::Result<()> {
    run!(conn, sqlx::query(
        "INSERT INTO audit_log (actor, action, subject, reason, outcome, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&entry.actor)
    .bind(&entry.action)
    .bind(&entry.subject)
    .bind(&entry.reason)
    .bind(entry.outcome.as_str())
    .bind(ts(at)), execute)?;
    Ok(())
}

/// One audit entry.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AuditRow {
    /// Who.
    pub actor: String,
    /// What.
    pub action: String,
    /// To what.
    pub subject: String,
    /// Why.
    pub reason: String,
    /// ok / refused.
    pub outcome: String,
}

/// The latest entries, newest first.
pub async fn latest(conn: &mut Conn, limit: i64) -> anyhow::Result<Vec<AuditRow>> {
    Ok(run!(conn, sqlx::query_as(
        "SELECT actor, action, subject, reason, outcome FROM audit_log ORDER BY id DESC LIMIT $1",
    )
    .bind(limit), fetch_all)?)
}
