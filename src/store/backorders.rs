//! Backorders: the shortfall of order lines, their priority inputs and promised ETAs.

use super::{ts, Conn};
use crate::domain::priority::PriorityWeights;
use crate::domain::{BackorderStatus, EtaKind, Tier, UpdateKind};
use chrono::{DateTime, NaiveDate, Utc};

/// A backorder as listed.
#[derive(Debug, Clone, sqlx::FromRow, PartialEq)]
pub struct BackorderRow {
    pub id: i64,
    pub product_id: i64,
    pub sku: String,
    /// Customer row id.
    pub customer_id: i64,
    /// The shop's customer id.
    pub customer_external_id: String,
    /// Mask before showing.
    pub customer_name: String,
    pub tier: Tier,
    pub order_number: String,
    pub order_line_id: i64,
    /// When the order was placed.
    #[sqlx(try_from = "super::StoredTs")]
    pub ordered_at: DateTime<Utc>,
    /// Units backordered.
    pub qty: i64,
    /// Units allocated so far.
    pub qty_allocated: i64,
    /// Unit price of the line, minor units.
    pub unit_price_minor: i64,
    pub status: BackorderStatus,
    #[sqlx(try_from = "super::StoredOptDay")]
    pub promised_eta: Option<NaiveDate>,
    pub eta_kind: EtaKind,
    /// Manual priority points.
    pub manual_priority: f64,
    pub close_reason: Option<String>,
}

const SELECT: &str = "SELECT b.id, b.product_id, p.sku, b.customer_id, c.external_id AS customer_external_id,
    c.name AS customer_name, c.tier, o.order_number, b.order_line_id, o.ordered_at, b.qty, b.qty_allocated,
    ol.unit_price_minor, b.status, b.promised_eta, b.eta_kind, b.manual_priority, b.close_reason
    FROM backorders b
    JOIN products p ON p.id = b.product_id
    JOIN customers c ON c.id = b.customer_id
    JOIN order_lines ol ON ol.id = b.order_line_id
    JOIN orders o ON o.id = ol.order_id";

/// What `/backorders` filters by.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub product_id: Option<i64>,
    /// Customer row id.
    pub customer_id: Option<i64>,
    pub status: Option<BackorderStatus>,
}

fn where_clause(f: &Filter) -> (String, Vec<String>) {
    let mut parts = Vec::new();
    let mut binds = Vec::new();
    if let Some(p) = f.product_id {
        binds.push(p.to_string());
        parts.push(format!("b.product_id = CAST(${} AS INTEGER)", binds.len()));
    }
    if let Some(c) = f.customer_id {
        binds.push(c.to_string());
        parts.push(format!("b.customer_id = CAST(${} AS INTEGER)", binds.len()));
    }
    if let Some(s) = f.status {
        binds.push(s.as_str().to_string());
        parts.push(format!("b.status = ${}", binds.len()));
    }
    if parts.is_empty() {
        (String::new(), binds)
    } else {
        (format!(" WHERE {}", parts.join(" AND ")), binds)
    }
}

/// The order of a backorder list.
#[derive(Debug, Clone, PartialEq)]
pub enum ListOrder {
    /// Highest priority score first (the service order), with these weights.
    Priority(PriorityWeights),
    /// Oldest order first.
    Age,
    /// Earliest promised date first, unknown last; ties by priority.
    Eta(PriorityWeights),
    /// Largest backordered value first; ties by priority.
    Value(PriorityWeights),
}

/// `ORDER BY` for priority, matching `PriorityWeights::rank`: score, then earlier order, then id.
/// The age part is `per_day × (now − ordered_at)`; `now` is the same for every row, so it is left
/// out and `− per_day × julianday(ordered_at)` orders the same (julianday is SQLite's; on
/// PostgreSQL `EXTRACT(EPOCH FROM ordered_at) / 86400`).
fn priority_order(w: &PriorityWeights) -> String {
    let n = |x: f64| {
        if x.is_finite() {
            format!("{x:?}")
        } else {
            "0.0".to_string()
        }
    };
    format!(
        "(CASE c.tier WHEN 'silver' THEN {} WHEN 'gold' THEN {} WHEN 'vip' THEN {} ELSE {} END
          + {} * b.qty * ol.unit_price_minor / 100.0 + b.manual_priority
          - {} * julianday(o.ordered_at)) DESC, o.ordered_at, b.id",
        n(w.tier_points[1]),
        n(w.tier_points[2]),
        n(w.tier_points[3]),
        n(w.tier_points[0]),
        n(w.per_currency_unit),
        n(w.per_day),
    )
}

impl ListOrder {
    fn sql(&self) -> String {
        match self {
            Self::Priority(w) => priority_order(w),
            Self::Age => "o.ordered_at, b.id".to_string(),
            Self::Eta(w) => format!(
                "b.promised_eta IS NULL, b.promised_eta, {}",
                priority_order(w)
            ),
            Self::Value(w) => format!("b.qty * ol.unit_price_minor DESC, {}", priority_order(w)),
        }
    }
}

/// One page of backorders in the given order, and the total count.
pub async fn list(
    conn: &mut Conn,
    f: &Filter,
    order: &ListOrder,
    offset: i64,
    limit: i64,
) -> anyhow::Result<(Vec<BackorderRow>, i64)> {
    let (clause, binds) = where_clause(f);
    let count_sql = format!("SELECT COUNT(*) FROM backorders b{clause}");
    let mut count_q = sqlx::query_scalar(&count_sql);
    for b in &binds {
        count_q = count_q.bind(b);
    }
    let total: i64 = count_q.fetch_one(&mut *conn).await?;
    let n = binds.len();
    let sql = format!(
        "{SELECT}{clause} ORDER BY {} LIMIT ${} OFFSET ${}",
        order.sql(),
        n + 1,
        n + 2
    );
    let mut q = sqlx::query_as(&sql);
    for b in &binds {
        q = q.bind(b);
    }
    let rows = q.bind(limit).bind(offset).fetch_all(conn).await?;
    Ok((rows, total))
}

/// Backorders by id, in the order of `ids`.
pub async fn by_ids(conn: &mut Conn, ids: &[i64]) -> anyhow::Result<Vec<BackorderRow>> {
    // One bound JSON array (on PostgreSQL `= ANY($1)`).
    let rows: Vec<BackorderRow> = sqlx::query_as(&format!(
        "{SELECT} WHERE b.id IN (SELECT value FROM json_each($1))"
    ))
    .bind(serde_json::to_string(ids)?)
    .fetch_all(conn)
    .await?;
    let mut by_id: std::collections::HashMap<i64, BackorderRow> =
        rows.into_iter().map(|r| (r.id, r)).collect();
    Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
}

/// A customer's backorders with the given status, oldest order first.
pub async fn of_customer(
    conn: &mut Conn,
    customer_id: i64,
    status: BackorderStatus,
    limit: i64,
) -> anyhow::Result<Vec<BackorderRow>> {
    Ok(sqlx::query_as(&format!(
        "{SELECT} WHERE b.customer_id = $1 AND b.status = $2 ORDER BY o.ordered_at, b.id LIMIT $3"
    ))
    .bind(customer_id)
    .bind(status)
    .bind(limit)
    .fetch_all(conn)
    .await?)
}

/// One backorder.
pub async fn by_id(conn: &mut Conn, id: i64) -> anyhow::Result<Option<BackorderRow>> {
    Ok(sqlx::query_as(&format!("{SELECT} WHERE b.id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await?)
}

/// What ranking and promising an open backorder needs, and nothing more (a SKU can have 100,000).
#[derive(Debug, Clone, sqlx::FromRow, PartialEq)]
pub struct QueueRow {
    /// Backorder id.
    pub id: i64,
    /// Customer row id.
    pub customer_id: i64,
    pub order_line_id: i64,
    /// Units backordered.
    pub qty: i64,
    /// Units allocated so far.
    pub qty_allocated: i64,
    pub tier: Tier,
    /// Unit price of the line, minor units.
    pub unit_price_minor: i64,
    /// When the order was placed.
    #[sqlx(try_from = "super::StoredTs")]
    pub ordered_at: DateTime<Utc>,
    /// Manual priority points.
    pub manual_priority: f64,
    #[sqlx(try_from = "super::StoredOptDay")]
    pub promised_eta: Option<NaiveDate>,
    pub eta_kind: EtaKind,
}

impl From<&BackorderRow> for QueueRow {
    fn from(b: &BackorderRow) -> Self {
        Self {
            id: b.id,
            customer_id: b.customer_id,
            order_line_id: b.order_line_id,
            qty: b.qty,
            qty_allocated: b.qty_allocated,
            tier: b.tier,
            unit_price_minor: b.unit_price_minor,
            ordered_at: b.ordered_at,
            manual_priority: b.manual_priority,
            promised_eta: b.promised_eta,
            eta_kind: b.eta_kind,
        }
    }
}

/// The open backorders of a product as queue rows (unsorted; the caller ranks them).
pub async fn open_queue(conn: &mut Conn, product_id: i64) -> anyhow::Result<Vec<QueueRow>> {
    Ok(sqlx::query_as(
        "SELECT b.id, b.customer_id, b.order_line_id, b.qty, b.qty_allocated, c.tier,
            ol.unit_price_minor, o.ordered_at, b.manual_priority, b.promised_eta, b.eta_kind
         FROM backorders b
         JOIN customers c ON c.id = b.customer_id
         JOIN order_lines ol ON ol.id = b.order_line_id
         JOIN orders o ON o.id = ol.order_id
         WHERE b.product_id = $1 AND b.status = 'open'",
    )
    .bind(product_id)
    .fetch_all(conn)
    .await?)
}

/// Customer names by id (for showing the first few moved promises).
pub async fn customer_name(conn: &mut Conn, customer_id: i64) -> anyhow::Result<String> {
    Ok(
        sqlx::query_scalar("SELECT name FROM customers WHERE id = $1")
            .bind(customer_id)
            .fetch_optional(conn)
            .await?
            .unwrap_or_default(),
    )
}

/// Products with open backorders of a customer.
pub async fn open_products_of_customer(
    conn: &mut Conn,
    customer_id: i64,
) -> anyhow::Result<Vec<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT DISTINCT product_id FROM backorders WHERE customer_id = $1 AND status = 'open'",
    )
    .bind(customer_id)
    .fetch_all(conn)
    .await?)
}

/// Count and units still owed of a product's open backorders.
pub async fn open_summary(conn: &mut Conn, product_id: i64) -> anyhow::Result<(i64, i64)> {
    Ok(sqlx::query_as(
        "SELECT COUNT(*), COALESCE(SUM(qty - qty_allocated), 0) FROM backorders
         WHERE product_id = $1 AND status = 'open'",
    )
    .bind(product_id)
    .fetch_one(conn)
    .await?)
}

/// Creates an open backorder.
pub async fn insert(
    conn: &mut Conn,
    order_line_id: i64,
    product_id: i64,
    customer_id: i64,
    qty: i64,
    at: DateTime<Utc>,
) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar(
        "INSERT INTO backorders (order_line_id, product_id, customer_id, qty, created_at)
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(order_line_id)
    .bind(product_id)
    .bind(customer_id)
    .bind(qty)
    .bind(ts(at))
    .fetch_one(conn)
    .await?)
}

/// Sets the manual priority points.
pub async fn set_manual_priority(conn: &mut Conn, id: i64, points: f64) -> anyhow::Result<()> {
    sqlx::query("UPDATE backorders SET manual_priority = $1 WHERE id = $2")
        .bind(points)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Adds allocated units and sets the status the caller derived
/// ([`BackorderStatus::after_allocation`]).
pub async fn add_allocation(
    conn: &mut Conn,
    id: i64,
    qty: i64,
    status: BackorderStatus,
) -> anyhow::Result<()> {
    sqlx::query(
        "UPDATE backorders SET qty_allocated = qty_allocated + $1, status = $2 WHERE id = $3",
    )
    .bind(qty)
    .bind(status)
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

/// Closes a backorder as fulfilled or cancelled.
pub async fn close(
    conn: &mut Conn,
    id: i64,
    status: BackorderStatus,
    reason: &str,
    at: DateTime<Utc>,
) -> anyhow::Result<()> {
    sqlx::query(
        "UPDATE backorders SET status = $1, close_reason = $2, closed_at = $3, qty_allocated = 0 WHERE id = $4",
    )
    .bind(status)
    .bind(reason)
    .bind(ts(at))
    .bind(id)
    .execute(conn)
    .await?;
    Ok(())
}

/// One backorder's new promise, for [`apply_eta_changes`].
#[derive(Debug, Clone)]
pub struct EtaChange {
    pub backorder_id: i64,
    pub old_eta: Option<NaiveDate>,
    pub old_kind: EtaKind,
    pub new_eta: Option<NaiveDate>,
    pub new_kind: EtaKind,
    /// The customer update to queue (JSON), if any; the sender reads the backorder for the rest.
    pub payload: Option<String>,
}

/// Writes new promises, their ETA-history rows and outbox rows. Changes are grouped by
/// (old, new, payload) — a SKU's promises fall on few dates — so each group is three set-based
/// statements whatever its size (100,000 promises in well under a second).
pub async fn apply_eta_changes(
    conn: &mut Conn,
    changes: &[EtaChange],
    cause: &str,
    actor: &str,
    reason: &str,
    at: DateTime<Utc>,
) -> anyhow::Result<()> {
    type Key<'a> = (
        Option<NaiveDate>,
        EtaKind,
        Option<NaiveDate>,
        EtaKind,
        Option<&'a str>,
    );
    let mut groups: std::collections::BTreeMap<Key<'_>, Vec<i64>> = Default::default();
    for c in changes {
        groups
            .entry((
                c.old_eta,
                c.old_kind,
                c.new_eta,
                c.new_kind,
                c.payload.as_deref(),
            ))
            .or_default()
            .push(c.backorder_id);
    }
    let now = ts(at);
    for ((old_eta, old_kind, new_eta, new_kind, payload), ids) in groups {
        let old_eta = old_eta.map(|d| d.to_string());
        let new_eta = new_eta.map(|d| d.to_string());
        // The ids travel as one JSON array: one bound value per statement, however many rows.
        // (On PostgreSQL this is `= ANY($1)` with an array.)
        let ids_json = serde_json::to_string(&ids)?;
        sqlx::query(
            "UPDATE backorders SET promised_eta = $1, eta_kind = $2
             WHERE id IN (SELECT value FROM json_each($3))",
        )
        .bind(&new_eta)
        .bind(new_kind)
        .bind(&ids_json)
        .execute(&mut *conn)
        .await?;
        sqlx::query(
            "INSERT INTO eta_history (backorder_id, old_eta, new_eta, old_kind, new_kind, cause, actor, reason, created_at)
             SELECT value, $1, $2, $3, $4, $5, $6, $7, $8 FROM json_each($9)",
        )
        .bind(&old_eta)
        .bind(&new_eta)
        .bind(old_kind)
        .bind(new_kind)
        .bind(cause)
        .bind(actor)
        .bind(reason)
        .bind(&now)
        .bind(&ids_json)
        .execute(&mut *conn)
        .await?;
        if let Some(payload) = payload {
            sqlx::query(
                "INSERT INTO outbox (backorder_id, customer_id, kind, payload, next_attempt_at, created_at)
                 SELECT b.id, b.customer_id, $1, $2, $3, $3
                 FROM json_each($4) j JOIN backorders b ON b.id = j.value",
            )
            .bind(UpdateKind::EtaChanged)
            .bind(payload)
            .bind(&now)
            .bind(&ids_json)
            .execute(&mut *conn)
            .await?;
        }
    }
    Ok(())
}

/// One change of a backorder's promise.
#[derive(Debug, Clone, sqlx::FromRow, PartialEq)]
pub struct EtaHistoryRow {
    #[sqlx(try_from = "super::StoredOptDay")]
    pub old_eta: Option<NaiveDate>,
    #[sqlx(try_from = "super::StoredOptDay")]
    pub new_eta: Option<NaiveDate>,
    /// What moved it (`po_eta_changed`, `received`, …).
    pub cause: String,
    pub actor: String,
    pub reason: String,
    #[sqlx(try_from = "super::StoredTs")]
    pub created_at: DateTime<Utc>,
}

/// A backorder's ETA history, oldest first.
pub async fn eta_history(conn: &mut Conn, id: i64) -> anyhow::Result<Vec<EtaHistoryRow>> {
    Ok(sqlx::query_as(
        "SELECT old_eta, new_eta, cause, actor, reason, created_at FROM eta_history
         WHERE backorder_id = $1 ORDER BY id",
    )
    .bind(id)
    .fetch_all(conn)
    .await?)
}

/// Makes the stored sort keys use `w`: when the weights the keys were computed with differ,
/// stores `w` and every key is recomputed (a trigger of migration 0009). Returns whether they
/// differed.
pub async fn sync_priority_weights(conn: &mut Conn, w: &PriorityWeights) -> anyhow::Result<bool> {
    let changed = sqlx::query(
        "UPDATE priority_weights SET standard = $1, silver = $2, gold = $3, vip = $4,
            per_currency_unit = $5, per_day = $6
         WHERE id = 1 AND (standard IS NOT $1 OR silver IS NOT $2 OR gold IS NOT $3
            OR vip IS NOT $4 OR per_currency_unit IS NOT $5 OR per_day IS NOT $6)",
    )
    .bind(w.tier_points[0])
    .bind(w.tier_points[1])
    .bind(w.tier_points[2])
    .bind(w.tier_points[3])
    .bind(w.per_currency_unit)
    .bind(w.per_day)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(changed > 0)
}

/// A backorder's stored sort key and order time (seconds since 1970).
pub async fn sort_key(conn: &mut Conn, id: i64) -> anyhow::Result<Option<(f64, i64)>> {
    Ok(
        sqlx::query_as("SELECT sort_key, ordered_epoch FROM backorders WHERE id = $1")
            .bind(id)
            .fetch_optional(conn)
            .await?,
    )
}
