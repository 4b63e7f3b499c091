//! Customer notifications: claiming outbox rows with a lease, what was sent, opt-outs, flagged
//! numbers and replies.
//!
//! Id lists travel as one JSON array bound to `json_each`: one bound value however many ids.

use super::types::sql_word;
use super::types::NextAttempt;
use super::{day, id_json, ts, Conn};
use crate::domain::notify::{InboundKind, MessageStatus, Transport};
use crate::domain::{
    BackorderId, BackorderStatus, Channel, CustomerId, EtaKind, InboundId, MessageId, OutboxId,
    OutboxStatus, UpdateKind,
};
use crate::store::{dialect, run};
use chrono::{DateTime, NaiveDate, Utc};

/// An outbox row claimed for sending.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Claimed {
    /// Outbox row.
    pub id: OutboxId,
    pub backorder_id: BackorderId,
    pub customer_id: CustomerId,
    pub kind: UpdateKind,
    /// JSON written with the change.
    pub payload: String,
    /// Attempts including this one.
    pub attempts: i64,
    /// The approval batch it was held in, if it was.
    pub approval_id: Option<crate::domain::ApprovalId>,
}

/// Claims up to `limit` due rows (all due rows of up to `limit` customers, so one customer's
/// updates travel together): status `sending` with a lease until `lease_until`. A row is due when
/// it is pending and its time has come — an ETA change only once `coalesce_cutoff` has passed its
/// creation, so later changes of the same backorder can merge into it — or when its lease expired.
///
/// One customer is in one dispatcher's hands at a time: a customer with a row whose lease is still
/// running is not claimed. With a customer's due rows come the pending rows of the same
/// backorders that are not yet due (an update waiting for a retry): the message about a backorder
/// answers every update of it, so an older one is never sent on its own after a newer one.
/// Run it in a write transaction and commit before sending.
pub async fn claim(
    conn: &mut Conn,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    coalesce_cutoff: DateTime<Utc>,
    limit: i64,
) -> anyhow::Result<Vec<Claimed>> {
    let mut rows: Vec<Claimed> = run!(
        conn,
        sqlx::query_as(concat!(
            "WITH busy AS (
            SELECT DISTINCT customer_id FROM outbox WHERE status = ",
            sql_word!(outbox sending),
            " AND lease_until > $2
         ),
         chosen AS (
            SELECT customer_id FROM outbox
            WHERE ((status = ",
            sql_word!(outbox pending),
            " AND next_attempt_at <= $2
                    AND (kind <> ",
            sql_word!(update eta_changed),
            " OR created_at <= $3))
                OR (status = ",
            sql_word!(outbox sending),
            " AND lease_until <= $2))
              AND customer_id NOT IN (SELECT customer_id FROM busy)
            GROUP BY customer_id ORDER BY MIN(id) LIMIT $4
         ),
         due AS (
            SELECT o.id, o.backorder_id FROM outbox o
            WHERE o.customer_id IN (SELECT customer_id FROM chosen)
              AND ((o.status = ",
            sql_word!(outbox pending),
            " AND o.next_attempt_at <= $2)
                   OR (o.status = ",
            sql_word!(outbox sending),
            " AND o.lease_until <= $2))
         )
         UPDATE outbox SET status = ",
            sql_word!(outbox sending),
            ", lease_until = $1, attempts = attempts + 1
         WHERE id IN (
            SELECT id FROM due
            UNION
            SELECT o.id FROM outbox o
            WHERE o.status = ",
            sql_word!(outbox pending),
            " AND o.backorder_id IN (SELECT backorder_id FROM due)
            ORDER BY 1 LIMIT $4 * 4)
         RETURNING id, backorder_id, customer_id, kind, payload, attempts, approval_id"
        ))
        .bind(ts(lease_until))
        .bind(ts(now))
        .bind(ts(coalesce_cutoff))
        .bind(limit),
        fetch_all
    )?;
    rows.sort_by_key(|r| r.id);
    Ok(rows)
}

/// When the next pending row falls due (for a dispatcher deciding how long to sleep).
pub async fn next_due(conn: &mut Conn) -> anyhow::Result<Option<DateTime<Utc>>> {
    let due: NextAttempt = run!(
        conn,
        sqlx::query_as(concat!(
            "SELECT MIN(next_attempt_at) AS next_attempt_at FROM outbox WHERE status = ",
            sql_word!(outbox pending)
        )),
        fetch_one
    )?;
    Ok(due.next_attempt_at)
}

/// Closes rows: `Sent`, `Skipped`, `Superseded` or `Failed` (dead letter).
pub async fn finish(
    conn: &mut Conn,
    ids: &[OutboxId],
    status: OutboxStatus,
    error: Option<&str>,
    at: DateTime<Utc>,
) -> anyhow::Result<()> {
    run!(
        conn,
        sqlx::query(concat!(
            "UPDATE outbox SET status = $1, last_error = $2, lease_until = NULL,
            sent_at = CASE WHEN $1 = ",
            sql_word!(outbox sent),
            " THEN $3 ELSE sent_at END
         WHERE id IN (SELECT value FROM json_each($4))"
        ))
        .bind(status)
        .bind(error)
        .bind(ts(at))
        .bind(id_json(ids)),
        execute
    )?;
    Ok(())
}

/// Puts rows back to wait until `at`. `attempted` false (quiet hours) does not count the claim
/// as an attempt.
pub async fn retry_at(
    conn: &mut Conn,
    ids: &[OutboxId],
    at: DateTime<Utc>,
    error: Option<&str>,
    attempted: bool,
) -> anyhow::Result<()> {
    run!(
        conn,
        sqlx::query(concat!(
            "UPDATE outbox SET status = ",
            sql_word!(outbox pending),
            ", next_attempt_at = $1, lease_until = NULL,
            last_error = COALESCE($2, last_error),
            attempts = CASE WHEN $3 OR attempts < 1 THEN attempts ELSE attempts - 1 END
         WHERE id IN (SELECT value FROM json_each($4))"
        ))
        .bind(ts(at))
        .bind(error)
        .bind(attempted)
        .bind(id_json(ids)),
        execute
    )?;
    Ok(())
}

/// A customer's contact details and preferences for routing.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RecipientRow {
    /// Customer row id.
    pub id: CustomerId,
    pub name: String,
    pub channel: Channel,
    /// E.164.
    pub phone: Option<String>,
    pub email: Option<String>,
    /// IANA zone.
    pub timezone: String,
    pub sms_opt_out: bool,
    pub email_opt_out: bool,
    /// The phone number is flagged.
    pub phone_flagged: bool,
}

/// The customer as routing needs it.
pub async fn recipient(
    conn: &mut Conn,
    customer_id: CustomerId,
) -> anyhow::Result<Option<RecipientRow>> {
    Ok(run!(conn, sqlx::query_as(
        "SELECT c.id, c.name, c.channel, c.phone, c.email, c.timezone, c.sms_opt_out, c.email_opt_out,
            EXISTS (SELECT 1 FROM flagged_numbers f WHERE f.phone = c.phone) AS phone_flagged
         FROM customers c WHERE c.id = $1",
    )
    .bind(customer_id), fetch_optional)?)
}

/// A backorder as a message needs it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct BackorderFacts {
    /// Backorder id.
    pub id: BackorderId,
    pub qty: i64,
    /// Product name.
    pub product: String,
    /// Current promise.
    #[sqlx(try_from = "super::StoredOptDay")]
    pub promised_eta: Option<NaiveDate>,
    pub eta_kind: EtaKind,
    pub status: BackorderStatus,
    /// The product the customer switched to, if they did.
    pub instead: Option<String>,
}

/// Facts about several backorders, as they stand.
pub async fn backorder_facts(
    conn: &mut Conn,
    ids: &[BackorderId],
) -> anyhow::Result<Vec<BackorderFacts>> {
    Ok(run!(conn, sqlx::query_as(
        "SELECT b.id, b.qty, p.name AS product, b.promised_eta, b.eta_kind, b.status,
            sp.name AS instead
         FROM json_each($1) j JOIN backorders b ON b.id = j.value JOIN products p ON p.id = b.product_id
         LEFT JOIN order_lines sl ON sl.id = b.switched_to_line_id
         LEFT JOIN products sp ON sp.id = sl.product_id",
    )
    .bind(id_json(ids)), fetch_all)?)
}

/// What the last message about a backorder that reached the provider said: its kind and the
/// date it told; `None` if no message did. A message the provider refused or could not deliver
/// (`failed`, `undelivered`) told nothing.
pub async fn last_told(
    conn: &mut Conn,
    backorder_id: BackorderId,
) -> anyhow::Result<Option<(UpdateKind, Option<NaiveDate>)>> {
    #[derive(sqlx::FromRow)]
    struct Told {
        kind: UpdateKind,
        #[sqlx(try_from = "super::StoredOptDay")]
        eta: Option<NaiveDate>,
    }
    let row: Option<Told> = run!(
        conn,
        sqlx::query_as(concat!(
        "SELECT m.kind, mb.eta FROM message_backorders mb JOIN messages m ON m.id = mb.message_id
         WHERE mb.backorder_id = $1 AND m.status NOT IN ",
        sql_word!(message failed),
        "
         ORDER BY mb.message_id DESC LIMIT 1"
    ))
        .bind(backorder_id),
        fetch_optional
    )?;
    Ok(row.map(|t| (t.kind, t.eta)))
}

/// An update closed without a message because a newer one made it pointless.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SupersededRow {
    /// Outbox row.
    pub id: OutboxId,
    pub kind: UpdateKind,
    /// When it was queued.
    #[sqlx(try_from = "super::StoredTs")]
    pub created_at: DateTime<Utc>,
}

/// The latest superseded updates of a backorder, newest first.
pub async fn superseded_for_backorder(
    conn: &mut Conn,
    backorder_id: BackorderId,
    limit: i64,
) -> anyhow::Result<Vec<SupersededRow>> {
    Ok(run!(
        conn,
        sqlx::query_as(concat!(
            "SELECT id, kind, created_at FROM outbox
         WHERE backorder_id = $1 AND status = ",
            sql_word!(outbox superseded),
            " ORDER BY id DESC LIMIT $2"
        ))
        .bind(backorder_id)
        .bind(limit),
        fetch_all
    )?)
}

/// An update still on its way: queued, being sent, or waiting to retry.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct QueuedRow {
    /// Outbox row.
    pub id: OutboxId,
    pub kind: UpdateKind,
    pub status: OutboxStatus,
    /// Attempts made so far.
    pub attempts: i64,
    /// When the next attempt is due.
    #[sqlx(try_from = "super::StoredTs")]
    pub next_attempt_at: DateTime<Utc>,
    /// Why the last attempt failed, if one did.
    pub last_error: Option<String>,
}

/// The updates of a backorder not yet sent (pending, sending, or held for approval), soonest due
/// first.
pub async fn queued_for_backorder(
    conn: &mut Conn,
    backorder_id: BackorderId,
    limit: i64,
) -> anyhow::Result<Vec<QueuedRow>> {
    Ok(run!(
        conn,
        sqlx::query_as(concat!(
            "SELECT id, kind, status, attempts, next_attempt_at, last_error FROM outbox
         WHERE backorder_id = $1 AND (status IN ",
            sql_word!(outbox unsent),
            " OR status = ",
            sql_word!(outbox held),
            ")
         ORDER BY next_attempt_at, id LIMIT $2"
        ))
        .bind(backorder_id)
        .bind(limit),
        fetch_all
    )?)
}

/// A message to record.
#[derive(Debug, Clone)]
pub struct NewMessage<'a> {
    /// Customer row id.
    pub customer_id: CustomerId,
    pub kind: UpdateKind,
    pub channel: Channel,
    pub transport: Transport,
    /// Phone or address.
    pub recipient: &'a str,
    /// What was sent (the SMS body, or the e-mail's subject and text).
    pub body: &'a str,
    /// Provider's id.
    pub provider_sid: Option<&'a str>,
    /// Provider's status.
    pub status: MessageStatus,
    /// Provider's error code.
    pub error_code: Option<&'a str>,
    /// The backorders and the date told for each.
    pub backorders: &'a [(BackorderId, Option<NaiveDate>)],
}

/// Records a message and the backorders it was about; returns its id.
pub async fn record_message(
    conn: &mut Conn,
    m: &NewMessage<'_>,
    at: DateTime<Utc>,
) -> anyhow::Result<MessageId> {
    let id: MessageId = run!(conn, sqlx::query_scalar(
        "INSERT INTO messages (customer_id, kind, channel, transport, recipient, body, provider_sid,
            status, error_code, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING id",
    )
    .bind(m.customer_id)
    .bind(m.kind)
    .bind(m.channel)
    .bind(m.transport)
    .bind(m.recipient)
    .bind(m.body)
    .bind(m.provider_sid)
    .bind(m.status)
    .bind(m.error_code)
    .bind(ts(at)), fetch_one)?;
    for (backorder_id, eta) in m.backorders {
        run!(conn, sqlx::query(
            "INSERT INTO message_backorders (message_id, backorder_id, eta) VALUES ($1, $2, $3)",
        )
        .bind(id)
        .bind(backorder_id)
        .bind(eta.map(day)), execute)?;
    }
    Ok(id)
}

/// Applies a provider status callback; returns whether a message had that sid.
pub async fn update_message_status(
    conn: &mut Conn,
    provider_sid: &str,
    status: MessageStatus,
    error_code: Option<&str>,
    at: DateTime<Utc>,
) -> anyhow::Result<bool> {
    Ok(run!(conn, sqlx::query(
        "UPDATE messages SET status = $1, error_code = COALESCE($2, error_code), updated_at = $3
         WHERE provider_sid = $4",
    )
    .bind(status)
    .bind(error_code)
    .bind(ts(at))
    .bind(provider_sid), execute)?
        > 0)
}

/// Sets or clears the SMS opt-out of every customer with this phone number; returns how many.
pub async fn set_sms_opt_out(conn: &mut Conn, phone: &str, out: bool) -> anyhow::Result<u64> {
    Ok(run!(
        conn,
        sqlx::query("UPDATE customers SET sms_opt_out = $1 WHERE phone = $2")
            .bind(out)
            .bind(phone),
        execute
    )?)
}

/// Marks a number as refused by the provider.
pub async fn flag_number(
    conn: &mut Conn,
    phone: &str,
    code: &str,
    at: DateTime<Utc>,
) -> anyhow::Result<()> {
    run!(
        conn,
        sqlx::query(
            "INSERT INTO flagged_numbers (phone, error_code, flagged_at) VALUES ($1, $2, $3)
         ON CONFLICT (phone) DO UPDATE SET error_code = excluded.error_code",
        )
        .bind(phone)
        .bind(code)
        .bind(ts(at)),
        execute
    )?;
    Ok(())
}

/// A message as listed by `/notifications` and `/customer`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MessageRow {
    /// Message id.
    pub id: MessageId,
    /// Customer row id.
    pub customer_id: CustomerId,
    pub kind: UpdateKind,
    /// SMS or e-mail.
    pub channel: Channel,
    pub transport: Transport,
    /// Phone or address (mask before showing).
    pub recipient: String,
    /// The provider's status.
    pub status: MessageStatus,
    /// The provider's error code.
    pub error_code: Option<String>,
    /// When it was handed over.
    #[sqlx(try_from = "super::StoredTs")]
    pub created_at: DateTime<Utc>,
    /// Last status change.
    #[sqlx(try_from = "super::StoredTs")]
    pub updated_at: DateTime<Utc>,
}

const MESSAGE_COLUMNS: &str = "m.id, m.customer_id, m.kind, m.channel, m.transport, m.recipient,
    m.status, m.error_code, m.created_at, m.updated_at";

/// The latest messages about a backorder, newest first.
pub async fn messages_for_backorder(
    conn: &mut Conn,
    backorder_id: BackorderId,
    limit: i64,
) -> anyhow::Result<Vec<MessageRow>> {
    Ok(run!(
        conn,
        sqlx::query_as(&format!(
        "SELECT {MESSAGE_COLUMNS} FROM message_backorders mb JOIN messages m ON m.id = mb.message_id
         WHERE mb.backorder_id = $1 ORDER BY m.id DESC LIMIT $2"
    ))
        .bind(backorder_id)
        .bind(limit),
        fetch_all
    )?)
}

/// The latest messages to a customer, newest first.
pub async fn messages_for_customer(
    conn: &mut Conn,
    customer_id: CustomerId,
    limit: i64,
) -> anyhow::Result<Vec<MessageRow>> {
    Ok(run!(conn, sqlx::query_as(&format!(
        "SELECT {MESSAGE_COLUMNS} FROM messages m WHERE m.customer_id = $1 ORDER BY m.id DESC LIMIT $2"
    ))
    .bind(customer_id)
    .bind(limit), fetch_all)?)
}

/// An open backorder of a phone number's customers, for answering an inquiry.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OpenByPhone {
    pub customer_id: CustomerId,
    /// Shop's customer id.
    pub customer_external_id: String,
    pub backorder_id: BackorderId,
    /// Product name.
    pub product: String,
    pub qty: i64,
    /// Open or allocated.
    pub status: BackorderStatus,
    /// Current promise.
    #[sqlx(try_from = "super::StoredOptDay")]
    pub promised_eta: Option<NaiveDate>,
    pub eta_kind: EtaKind,
}

/// The open backorders of the customers with this phone number.
pub async fn open_backorders_by_phone(
    conn: &mut Conn,
    phone: &str,
) -> anyhow::Result<Vec<OpenByPhone>> {
    Ok(run!(conn, sqlx::query_as(
        concat!("SELECT c.id AS customer_id, c.external_id AS customer_external_id, b.id AS backorder_id,
            p.name AS product, b.qty, b.status, b.promised_eta, b.eta_kind
         FROM customers c JOIN backorders b ON b.customer_id = c.id JOIN products p ON p.id = b.product_id
         WHERE c.phone = $1 AND b.status IN ", sql_word!(backorder active), " ORDER BY b.id"),
    )
    .bind(phone), fetch_all)?)
}

/// Customers with this phone number.
pub async fn customer_ids_by_phone(
    conn: &mut Conn,
    phone: &str,
) -> anyhow::Result<Vec<CustomerId>> {
    Ok(run!(
        conn,
        sqlx::query_scalar("SELECT id FROM customers WHERE phone = $1 ORDER BY id").bind(phone),
        fetch_all
    )?)
}

/// Records a text a customer sent, and the backorders it was answered about.
#[allow(clippy::too_many_arguments)]
pub async fn record_inbound(
    conn: &mut Conn,
    from_phone: &str,
    customer_id: Option<CustomerId>,
    body: &str,
    kind: InboundKind,
    provider_sid: Option<&str>,
    reply: &str,
    backorder_ids: &[BackorderId],
    at: DateTime<Utc>,
) -> anyhow::Result<InboundId> {
    let id: InboundId = run!(conn, sqlx::query_scalar(
        "INSERT INTO inbound_messages (from_phone, customer_id, body, kind, provider_sid, reply, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(from_phone)
    .bind(customer_id)
    .bind(body)
    .bind(kind)
    .bind(provider_sid)
    .bind(reply)
    .bind(ts(at)), fetch_one)?;
    for b in backorder_ids {
        run!(
            conn,
            sqlx::query(
                "INSERT INTO inbound_backorders (inbound_id, backorder_id) VALUES ($1, $2)"
            )
            .bind(id)
            .bind(b),
            execute
        )?;
    }
    Ok(id)
}

/// The shop's id of a customer.
pub async fn customer_external_id(
    conn: &mut Conn,
    id: CustomerId,
) -> anyhow::Result<Option<String>> {
    Ok(run!(
        conn,
        sqlx::query_scalar("SELECT external_id FROM customers WHERE id = $1").bind(id),
        fetch_optional
    )?)
}

/// Benchmarks only: `n` SMS customers, each with one backorder and one queued "on its way" update,
/// in an empty database.
pub async fn seed_bench_updates(conn: &mut Conn, n: i64, at: DateTime<Utc>) -> anyhow::Result<()> {
    let now = ts(at);
    let seven_digits =
        dialect!(conn, sqlite: "printf('%07d', i)", postgres: "lpad(i::text, 7, '0')");
    run!(
        conn,
        sqlx::query(
            "INSERT INTO products (sku, sku_key, name) VALUES ('BENCH-1', 'BENCH-1', 'Bench lamp')"
        ),
        execute
    )?;
    run!(
        conn,
        sqlx::query(&format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $1)
         INSERT INTO customers (external_id, name, phone, channel, timezone)
         SELECT 'BN-' || i, 'Bench ' || i, '+491510' || {seven_digits}, 'sms', 'UTC' FROM n"
        ))
        .bind(n),
        execute
    )?;
    run!(
        conn,
        sqlx::query(
            "INSERT INTO orders (order_number, customer_id, ordered_at)
         SELECT 'BO-' || id, id, $1 FROM customers"
        )
        .bind(now),
        execute
    )?;
    run!(
        conn,
        sqlx::query(
            "INSERT INTO order_lines (order_id, product_id, qty, unit_price_minor)
         SELECT o.id, p.id, 1, 100 FROM orders o, products p"
        ),
        execute
    )?;
    for sql in [
        "INSERT INTO backorders (order_line_id, product_id, customer_id, qty, created_at)
         SELECT l.id, l.product_id, o.customer_id, 1, $1 FROM order_lines l JOIN orders o ON o.id = l.order_id",
        "INSERT INTO outbox (backorder_id, customer_id, kind, payload, next_attempt_at, created_at)
         SELECT id, customer_id, 'allocated', '{\"product\": \"Bench lamp\", \"qty\": 1}', $1, $1 FROM backorders",
    ] {
        run!(conn, sqlx::query(sql).bind(now), execute)?;
    }
    Ok(())
}

/// Customer updates not yet sent: pending or being sent.
pub async fn unsent_count(conn: &mut Conn) -> anyhow::Result<i64> {
    Ok(run!(
        conn,
        sqlx::query_scalar(concat!(
            "SELECT COUNT(*) FROM outbox WHERE status IN ",
            sql_word!(outbox unsent)
        )),
        fetch_one
    )?)
}
