//! The customer's own page: link tokens (as hashes), the SMS "reply 1" offers they record, and
//! the choices customers made (once per form).

use super::{ts, Conn};
use crate::domain::{
    BackorderId, BackorderStatus, Channel, CustomerId, EtaKind, MessageId, OrderLineId, ProductId,
};
use crate::store::run;
use chrono::{DateTime, NaiveDate, Utc};

/// A link to store.
#[derive(Debug, Clone)]
pub struct NewLink<'a> {
    pub customer_id: CustomerId,
    /// SHA-256 of the token, hex.
    pub token_hash: &'a str,
    pub channel: Channel,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// An SMS's "reply 1" offer: (backorder, product to switch to).
    pub offer: Option<(BackorderId, ProductId)>,
}

/// Stores a link; returns its id.
pub async fn insert_link(conn: &mut Conn, l: &NewLink<'_>) -> anyhow::Result<i64> {
    Ok(run!(
        conn,
        sqlx::query_scalar(
            "INSERT INTO portal_links (customer_id, token_hash, channel, created_at, expires_at,
            offer_backorder_id, offer_product_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(l.customer_id)
        .bind(l.token_hash)
        .bind(l.channel)
        .bind(ts(l.created_at))
        .bind(ts(l.expires_at))
        .bind(l.offer.map(|o| o.0))
        .bind(l.offer.map(|o| o.1)),
        fetch_one
    )?)
}

/// Notes the message that carried a link.
pub async fn link_sent(conn: &mut Conn, link_id: i64, message_id: MessageId) -> anyhow::Result<()> {
    run!(
        conn,
        sqlx::query("UPDATE portal_links SET message_id = $1 WHERE id = $2")
            .bind(message_id)
            .bind(link_id),
        execute
    )?;
    Ok(())
}

/// Deletes the link of a message that did not leave (nobody holds its token, and no choice was
/// made through it).
pub async fn drop_unsent_link(conn: &mut Conn, link_id: i64) -> anyhow::Result<()> {
    run!(
        conn,
        sqlx::query(
            "DELETE FROM portal_links WHERE id = $1 AND message_id IS NULL
             AND NOT EXISTS (SELECT 1 FROM portal_actions a WHERE a.link_id = portal_links.id)"
        )
        .bind(link_id),
        execute
    )?;
    Ok(())
}

/// A stored link.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LinkRow {
    pub id: i64,
    pub customer_id: CustomerId,
    #[sqlx(try_from = "super::StoredTs")]
    pub expires_at: DateTime<Utc>,
    pub offer_backorder_id: Option<BackorderId>,
    pub offer_product_id: Option<ProductId>,
}

const LINK: &str =
    "SELECT id, customer_id, expires_at, offer_backorder_id, offer_product_id FROM portal_links";

/// The link whose token hashes to `token_hash`.
pub async fn link_by_hash(conn: &mut Conn, token_hash: &str) -> anyhow::Result<Option<LinkRow>> {
    Ok(run!(
        conn,
        sqlx::query_as(&format!("{LINK} WHERE token_hash = $1")).bind(token_hash),
        fetch_optional
    )?)
}

/// The link of the last SMS handed over to a customer.
pub async fn last_sms_link(
    conn: &mut Conn,
    customer_id: CustomerId,
) -> anyhow::Result<Option<LinkRow>> {
    Ok(run!(
        conn,
        sqlx::query_as(&format!(
            "{LINK} WHERE customer_id = $1 AND channel = 'sms' AND message_id IS NOT NULL
         ORDER BY id DESC LIMIT 1"
        ))
        .bind(customer_id),
        fetch_optional
    )?)
}

/// An open backorder as its customer's page shows it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OpenBackorderRow {
    pub id: BackorderId,
    pub product_id: ProductId,
    pub sku: String,
    pub product: String,
    pub category: String,
    pub qty: i64,
    #[sqlx(try_from = "super::StoredOptDay")]
    pub promised_eta: Option<NaiveDate>,
    pub eta_kind: EtaKind,
    pub status: BackorderStatus,
    pub order_number: String,
}

/// A customer's open backorders, oldest first (at most 50: a page, not a report).
pub async fn open_backorders(
    conn: &mut Conn,
    customer_id: CustomerId,
) -> anyhow::Result<Vec<OpenBackorderRow>> {
    Ok(run!(
        conn,
        sqlx::query_as(concat!(
        "SELECT b.id, b.product_id, p.sku, p.name AS product, p.category, b.qty, b.promised_eta,
            b.eta_kind, b.status, o.order_number
         FROM backorders b JOIN products p ON p.id = b.product_id
         JOIN order_lines ol ON ol.id = b.order_line_id JOIN orders o ON o.id = ol.order_id
         WHERE b.customer_id = $1 AND b.status = ",
        super::types::sql_word!(backorder open),
        " ORDER BY b.id LIMIT 50"
    ))
        .bind(customer_id),
        fetch_all
    )?)
}

/// Marks a backorder closed by a switch to `line_id` (the alternative's order line).
pub async fn mark_switched(
    conn: &mut Conn,
    backorder_id: BackorderId,
    line_id: OrderLineId,
) -> anyhow::Result<()> {
    run!(
        conn,
        sqlx::query("UPDATE backorders SET switched_to_line_id = $1 WHERE id = $2")
            .bind(line_id)
            .bind(backorder_id),
        execute
    )?;
    Ok(())
}

/// A choice to record.
#[derive(Debug, Clone)]
pub struct NewAction<'a> {
    pub link_id: i64,
    pub nonce: &'a str,
    pub customer_id: CustomerId,
    pub backorder_id: BackorderId,
    /// `switch`, `cancel` or `keep_waiting`.
    pub action: &'a str,
    pub outcome: &'a str,
    pub at: DateTime<Utc>,
}

/// Records a choice unless one was recorded for the same link and nonce; returns whether it was.
pub async fn record_action(conn: &mut Conn, a: &NewAction<'_>) -> anyhow::Result<bool> {
    let done = run!(conn, sqlx::query(
        "INSERT INTO portal_actions (link_id, nonce, customer_id, backorder_id, action, outcome,
            created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (link_id, nonce) DO NOTHING",
    )
    .bind(a.link_id)
    .bind(a.nonce)
    .bind(a.customer_id)
    .bind(a.backorder_id)
    .bind(a.action)
    .bind(a.outcome)
    .bind(ts(a.at)), execute)?;
    Ok(done == 1)
}

/// What a form (link, nonce) already did: its outcome.
pub async fn action_outcome(
    conn: &mut Conn,
    link_id: i64,
    nonce: &str,
) -> anyhow::Result<Option<String>> {
    Ok(run!(
        conn,
        sqlx::query_scalar("SELECT outcome FROM portal_actions WHERE link_id = $1 AND nonce = $2")
            .bind(link_id)
            .bind(nonce),
        fetch_optional
    )?)
}
