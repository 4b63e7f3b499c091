//! Customers.

use super::Conn;
use crate::domain::{Channel, CustomerId, Tier};
use crate::store::run;

/// A customer as stored.
#[derive(Debug, Clone, sqlx::FromRow, PartialEq)]
pub struct CustomerRow {
    /// Row id.
    pub id: CustomerId,
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
    Ok(run!(
        conn,
        sqlx::query_as(&format!("{SELECT} WHERE UPPER(external_id) = UPPER($1)")).bind(external_id),
        fetch_optional
    )?)
}

/// What an upsert may change of a stored customer (the external id is its key).
const UPDATABLE: [&str; 6] = ["name", "email", "phone", "tier", "channel", "timezone"];

/// SQL true when customer `a` differs from `b` in any [`UPDATABLE`] column (`a`, `b`: table
/// aliases).
pub(crate) fn differs(a: &str, b: &str) -> String {
    UPDATABLE
        .iter()
        .map(|c| format!("{a}.{c} IS DISTINCT FROM {b}.{c}"))
        .collect::<Vec<_>>()
        .join(" OR ")
}

/// A customer by row id.
pub async fn by_id(conn: &mut Conn, id: CustomerId) -> anyhow::Result<Option<CustomerRow>> {
    Ok(run!(
        conn,
        sqlx::query_as(&format!("{SELECT} WHERE id = $1")).bind(id),
        fetch_optional
    )?)
}

/// The upsert by external id of the customers `source` gives (`VALUES (…)` or a `SELECT`, with
/// the external id then the [`UPDATABLE`] columns): a stored customer is written only when a
/// value differs. The one statement for a single customer and for an import.
pub(crate) fn upsert_sql(source: &str) -> String {
    let set = UPDATABLE
        .iter()
        .map(|c| format!("{c} = excluded.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "INSERT INTO customers (external_id, {}) {source}
         ON CONFLICT (external_id) DO UPDATE SET {set} WHERE {}",
        UPDATABLE.join(", "),
        differs("customers", "excluded")
    )
}

/// Inserts or updates by external id; returns the id, whether anything changed and whether the
/// tier changed (which re-ranks that customer's backorders).
pub async fn upsert(conn: &mut Conn, c: &CustomerRow) -> anyhow::Result<(CustomerId, bool, bool)> {
    let before = by_external_id(conn, &c.external_id).await?;
    let changed = run!(
        conn,
        sqlx::query(&upsert_sql("VALUES ($1, $2, $3, $4, $5, $6, $7)"))
            .bind(&c.external_id)
            .bind(&c.name)
            .bind(&c.email)
            .bind(&c.phone)
            .bind(c.tier)
            .bind(c.channel)
            .bind(&c.timezone),
        execute
    )? > 0;
    let id = run!(
        conn,
        sqlx::query_scalar("SELECT id FROM customers WHERE external_id = $1").bind(&c.external_id),
        fetch_one
    )?;
    let tier_changed = before.is_some_and(|b| b.tier != c.tier);
    Ok((id, changed, tier_changed))
}
