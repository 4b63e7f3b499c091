//! Customers.

use super::Conn;
use crate::domain::{Channel, Tier};

/// A customer as stored.
#[derive(Debug, Clone, sqlx::FromRow, PartialEq)]
pub struct CustomerRow {
    /// Row id.
    pub id: i64,
    /// The shop's customer id.
    pub external_id: String,
    pub name: String,
    pub email: Option<String>,
    /// E.164.
    pub phone: Option<String>,
    pub tier: Tier,
    /// Preferred channel.
    pub channel: Channel,
    /// IANA time zone.
    pub timezone: String,
    pub sms_opt_out: bool,
    pub email_opt_out: bool,
}

const SELECT: &str = "SELECT id, external_id, name, email, phone, tier, channel, timezone,
    sms_opt_out, email_opt_out FROM customers";

/// Looks a customer up by the shop's id (case-insensitive).
pub async fn by_external_id(
    conn: &mut Conn,
    external_id: &str,
) -> anyhow::Result<Option<CustomerRow>> {
    Ok(
        sqlx::query_as(&format!("{SELECT} WHERE UPPER(external_id) = UPPER($1)"))
            .bind(external_id)
            .fetch_optional(conn)
            .await?,
    )
}

/// Inserts or updates by external id; returns the id, whether anything changed and whether the
/// tier changed (which re-ranks that customer's backorders).
pub async fn upsert(conn: &mut Conn, c: &CustomerRow) -> anyhow::Result<(i64, bool, bool)> {
    let before = by_external_id(conn, &c.external_id).await?;
    let changed = sqlx::query(
        "INSERT INTO customers (external_id, name, email, phone, tier, channel, timezone)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (external_id) DO UPDATE SET name = excluded.name, email = excluded.email,
            phone = excluded.phone, tier = excluded.tier, channel = excluded.channel,
            timezone = excluded.timezone
         WHERE customers.name IS DISTINCT FROM excluded.name OR customers.email IS DISTINCT FROM excluded.email
            OR customers.phone IS DISTINCT FROM excluded.phone OR customers.tier IS DISTINCT FROM excluded.tier
            OR customers.channel IS DISTINCT FROM excluded.channel
            OR customers.timezone IS DISTINCT FROM excluded.timezone",
    )
    .bind(&c.external_id)
    .bind(&c.name)
    .bind(&c.email)
    .bind(&c.phone)
    .bind(c.tier)
    .bind(c.channel)
    .bind(&c.timezone)
    .execute(&mut *conn)
    .await?
    .rows_affected()
        > 0;
    let id = sqlx::query_scalar("SELECT id FROM customers WHERE external_id = $1")
        .bind(&c.external_id)
        .fetch_one(conn)
        .await?;
    let tier_changed = before.is_some_and(|b| b.tier != c.tier);
    Ok((id, changed, tier_changed))
}
