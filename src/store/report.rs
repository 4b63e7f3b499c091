//! `/report`'s counts: read-only aggregates over backorders, order lines, messages and PO
//! receipts. The rules that turn them into figures are in `domain::report`.

use super::backorders::owed_value_sql;
use super::types::sql_word;
use super::{dialect, ts, Conn, StoredDay};
use crate::domain::notify::MessageStatus;
use crate::domain::ProductId;
use crate::store::run;
use chrono::{DateTime, NaiveDate, Utc};

/// A time window, both ends included.
#[derive(Debug, Clone, Copy)]
pub struct Span {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

/// When a backorder stopped being open: when its allocation completed (the newest of its
/// reservations, for one allocated, fulfilled, or cancelled after being allocated in full), or
/// when it was cancelled while still short. NULL while open.
const LEFT_OPEN_AT: &str = concat!(
    "CASE
    WHEN b.status = ",
    sql_word!(backorder open),
    " THEN NULL
    WHEN b.status <> ",
    sql_word!(backorder cancelled),
    "
      OR (SELECT COALESCE(SUM(r.qty), 0) FROM reservations r WHERE r.backorder_id = b.id) >= b.qty
    THEN COALESCE((SELECT MAX(r.created_at) FROM reservations r WHERE r.backorder_id = b.id), b.closed_at)
    ELSE b.closed_at
END"
);

/// Whole seconds since 1970 of the time `at` (a column or a typed bind): SQLite stores RFC 3339
/// text, PostgreSQL `timestamptz`. The one place report's time arithmetic differs.
fn epoch(conn: &Conn, at: &str) -> String {
    dialect!(conn,
        sqlite: format!("CAST(strftime('%s', {at}) AS INTEGER)"),
        postgres: format!("CAST(floor(EXTRACT(EPOCH FROM {at})) AS BIGINT)"),
    )
}

/// The UTC day of the time `at`, as a date (text `YYYY-MM-DD` on SQLite).
fn utc_day(conn: &Conn, at: &str) -> String {
    dialect!(conn,
        sqlite: format!("substr({at}, 1, 10)"),
        postgres: format!("CAST({at} AT TIME ZONE 'UTC' AS date)"),
    )
}

/// Open backorders grouped by age at `now`: whole days since their order was placed.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AgeRow {
    pub age_days: i64,
    pub count: i64,
    /// Units still short.
    pub units: i64,
    /// Those units at the line's price, minor units.
    pub value_minor: i64,
}

pub async fn open_backorders_by_age(
    conn: &mut Conn,
    now: DateTime<Utc>,
) -> anyhow::Result<Vec<AgeRow>> {
    let sql = format!(
        "SELECT ({now} - {ordered}) / 86400 AS age_days,
                COUNT(*) AS count,
                CAST(SUM(b.qty - b.qty_allocated) AS BIGINT) AS units,
                CAST(SUM({owed}) AS BIGINT) AS value_minor
         FROM backorders b
         JOIN order_lines ol ON ol.id = b.order_line_id
         JOIN orders o ON o.id = ol.order_id
         WHERE b.status = {open}
         GROUP BY age_days",
        now = epoch(conn, "$1"),
        ordered = epoch(conn, "o.ordered_at"),
        owed = owed_value_sql!(),
        open = sql_word!(backorder open),
    );
    Ok(run!(conn, sqlx::query_as(&sql).bind(ts(now)), fetch_all)?)
}

/// Order lines of orders placed in `span`: (all, those with a backorder). A line a customer
/// switched a backorder to is not an order line of its own: it replaces the backordered one.
pub async fn order_lines_in(conn: &mut Conn, span: Span) -> anyhow::Result<(i64, i64)> {
    Ok(run!(
        conn,
        sqlx::query_as(
            "SELECT COUNT(*), COUNT(b.id)
         FROM orders o
         JOIN order_lines l ON l.order_id = o.id
         LEFT JOIN backorders b ON b.order_line_id = l.id
         WHERE o.ordered_at >= $1 AND o.ordered_at <= $2
           AND NOT EXISTS (SELECT 1 FROM backorders s WHERE s.switched_to_line_id = l.id)",
        )
        .bind(ts(span.from))
        .bind(ts(span.to)),
        fetch_one
    )?)
}

/// Backorders whose allocation completed in `span` (and not cancelled since), by whole hours
/// from their order to that moment: (hours, backorders).
pub async fn hours_to_allocation(conn: &mut Conn, span: Span) -> anyhow::Result<Vec<(i64, i64)>> {
    let sql = format!(
        "SELECT ({done} - {ordered}) / 3600 AS hours,
                COUNT(*)
         FROM (SELECT {LEFT_OPEN_AT} AS done_at, o.ordered_at
               FROM backorders b
               JOIN order_lines l ON l.id = b.order_line_id
               JOIN orders o ON o.id = l.order_id
               WHERE b.status IN {served}) x
         WHERE x.done_at >= $1 AND x.done_at <= $2
         GROUP BY hours",
        done = epoch(conn, "x.done_at"),
        ordered = epoch(conn, "x.ordered_at"),
        served = sql_word!(backorder served)
    );
    Ok(run!(
        conn,
        sqlx::query_as(&sql).bind(ts(span.from)).bind(ts(span.to)),
        fetch_all
    )?)
}

/// Backorders cancelled in `span`: (count, units, value in minor units at the line's price). One
/// the customer switched to an in-stock alternative is not a lost sale and is left out.
pub async fn cancelled_in(conn: &mut Conn, span: Span) -> anyhow::Result<(i64, i64, i64)> {
    Ok(run!(
        conn,
        sqlx::query_as(concat!(
            "SELECT COUNT(*), CAST(COALESCE(SUM(b.qty), 0) AS BIGINT),
                CAST(COALESCE(SUM(b.qty * ol.unit_price_minor), 0) AS BIGINT)
         FROM backorders b JOIN order_lines ol ON ol.id = b.order_line_id
         WHERE b.status = ",
            sql_word!(backorder cancelled),
            " AND b.switched_to_line_id IS NULL AND b.closed_at >= $1 AND b.closed_at <= $2"
        ))
        .bind(ts(span.from))
        .bind(ts(span.to)),
        fetch_one
    )?)
}

/// Customer texts taken as inquiries in `span`.
pub async fn inquiries_in(conn: &mut Conn, span: Span) -> anyhow::Result<i64> {
    Ok(run!(
        conn,
        sqlx::query_scalar(concat!(
            "SELECT COUNT(*) FROM inbound_messages WHERE kind = ",
            sql_word!(inbound inquiry),
            " AND created_at >= $1 AND created_at <= $2"
        ))
        .bind(ts(span.from))
        .bind(ts(span.to)),
        fetch_one
    )?)
}

/// Messages handed to a channel in `span`, by their last status.
pub async fn messages_by_status(
    conn: &mut Conn,
    span: Span,
) -> anyhow::Result<Vec<(MessageStatus, i64)>> {
    Ok(run!(
        conn,
        sqlx::query_as(
            "SELECT status, COUNT(*) FROM messages
         WHERE created_at >= $1 AND created_at <= $2 GROUP BY status",
        )
        .bind(ts(span.from))
        .bind(ts(span.to)),
        fetch_all
    )?)
}

/// A SKU's backorders created in the window.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SkuRow {
    pub product_id: ProductId,
    pub sku: String,
    pub name: String,
    pub backorders: i64,
    pub units: i64,
    pub value_minor: i64,
}

/// The `limit` SKUs with the most units backordered in `span` (ties: by SKU).
pub async fn top_backordered_skus(
    conn: &mut Conn,
    span: Span,
    limit: i64,
) -> anyhow::Result<Vec<SkuRow>> {
    Ok(run!(
        conn,
        sqlx::query_as(
            "SELECT b.product_id, p.sku, p.name, COUNT(*) AS backorders,
                CAST(SUM(b.qty) AS BIGINT) AS units,
                CAST(SUM(b.qty * ol.unit_price_minor) AS BIGINT) AS value_minor
         FROM backorders b
         JOIN products p ON p.id = b.product_id
         JOIN order_lines ol ON ol.id = b.order_line_id
         WHERE b.created_at >= $1 AND b.created_at <= $2
         GROUP BY b.product_id, p.id
         ORDER BY units DESC, p.sku_key
         LIMIT $3",
        )
        .bind(ts(span.from))
        .bind(ts(span.to))
        .bind(limit),
        fetch_all
    )?)
}

/// PO lines received in full in `span` that had an ETA, grouped by supplier, first promised
/// ETA and day of the last receipt.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ReceiptRow {
    /// The supplier's name; none for a PO without a supplier.
    pub supplier: Option<String>,
    #[sqlx(try_from = "super::StoredDay")]
    pub first_eta: NaiveDate,
    #[sqlx(try_from = "super::StoredDay")]
    pub received: NaiveDate,
    pub lines: i64,
}

/// The first promised ETA of a line is the one it had before its first ETA change (or the one
/// that change gave, when it had none), else its ETA now; the receipt is the ledger's newest
/// receipt of the line's product referring to its PO.
pub async fn receipts_in(conn: &mut Conn, span: Span) -> anyhow::Result<Vec<ReceiptRow>> {
    let sql = format!(
        "SELECT s.name AS supplier, x.first_eta, {received} AS received,
                COUNT(*) AS lines
         FROM (SELECT po.supplier_id,
                      COALESCE((SELECT COALESCE(h.old_eta, h.new_eta) FROM eta_history h
                                WHERE h.po_line_id = l.id ORDER BY h.id LIMIT 1), l.eta) AS first_eta,
                      (SELECT MAX(m.created_at) FROM stock_movements m
                       WHERE m.product_id = l.product_id AND m.kind = {receipt}
                         AND m.reference = po.po_number) AS received_at
               FROM po_lines l JOIN purchase_orders po ON po.id = l.po_id
               WHERE l.status = {po_received}) x
         LEFT JOIN suppliers s ON s.id = x.supplier_id
         WHERE x.first_eta IS NOT NULL AND x.received_at >= $1 AND x.received_at <= $2
         GROUP BY x.supplier_id, s.name, x.first_eta, received
         ORDER BY s.name IS NULL, s.name, x.supplier_id, x.first_eta, received",
        received = utc_day(conn, "x.received_at"),
        receipt = sql_word!(movement receipt),
        po_received = sql_word!(po received),
    );
    Ok(run!(
        conn,
        sqlx::query_as(&sql).bind(ts(span.from)).bind(ts(span.to)),
        fetch_all
    )?)
}

/// What the backorders-over-time series is built from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OpenEvents {
    /// Backorders open just before `span.from`.
    pub open_before: i64,
    /// Backorders created in the span, per UTC day.
    pub opened: Vec<(NaiveDate, i64)>,
    /// Backorders that stopped being open in the span, per UTC day.
    pub closed: Vec<(NaiveDate, i64)>,
}

pub async fn open_events(conn: &mut Conn, span: Span) -> anyhow::Result<OpenEvents> {
    let (from, to) = (ts(span.from), ts(span.to));
    let open_before = run!(
        conn,
        sqlx::query_scalar(&format!(
            "SELECT COUNT(*) FROM (SELECT b.created_at, {LEFT_OPEN_AT} AS left_at FROM backorders b
                               WHERE b.created_at < $1) x
         WHERE x.left_at IS NULL OR x.left_at >= $1"
        ))
        .bind(from),
        fetch_one
    )?;
    let sql = format!(
        "SELECT {day} AS day, COUNT(*) FROM backorders
         WHERE created_at >= $1 AND created_at <= $2 GROUP BY day",
        day = utc_day(conn, "created_at"),
    );
    let opened: Vec<(StoredDay, i64)> =
        run!(conn, sqlx::query_as(&sql).bind(from).bind(to), fetch_all)?;
    let sql = format!(
        "SELECT {day} AS day, COUNT(*)
         FROM (SELECT {LEFT_OPEN_AT} AS left_at FROM backorders b WHERE b.status <> {open}) x
         WHERE x.left_at >= $1 AND x.left_at <= $2 GROUP BY day",
        day = utc_day(conn, "x.left_at"),
        open = sql_word!(backorder open)
    );
    let closed: Vec<(StoredDay, i64)> =
        run!(conn, sqlx::query_as(&sql).bind(from).bind(to), fetch_all)?;
    let days = |rows: Vec<(StoredDay, i64)>| -> Vec<(NaiveDate, i64)> {
        rows.into_iter().map(|(d, n)| (d.into(), n)).collect()
    };
    Ok(OpenEvents {
        open_before,
        opened: days(opened),
        closed: days(closed),
    })
}
