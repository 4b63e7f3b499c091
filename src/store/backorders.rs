//! Backorders: the shortfall of order lines, their priority inputs and promised ETAs.

use super::keyset::{self, asc, asc_day, desc, KeyColumn, Keyed, Source};
use super::types::sql_word;
use super::{id_json, ts, Conn};
use crate::domain::page::{KeyPart, Seek};
use crate::domain::priority::PriorityWeights;
use crate::domain::promise::Cause;
use crate::domain::{
    BackorderId, BackorderStatus, CustomerId, EtaKind, OrderLineId, ProductId, Tier, UpdateKind,
};
use crate::store::run;
use chrono::{DateTime, NaiveDate, Utc};

/// The value still owed to a backorder `b`: its units not yet allocated at its line's price
/// (`value_minor` is the line's backordered quantity × price, kept by migration 0010's triggers,
/// so no join to the order line is needed). `/report` and `GET /metrics` both read it.
macro_rules! owed_value_sql {
    () => {
        "((b.qty - b.qty_allocated) * b.value_minor / b.qty)"
    };
}
pub(crate) use owed_value_sql;

/// A backorder as listed.
#[derive(Debug, Clone, sqlx::FromRow, PartialEq)]
pub struct BackorderRow {
    pub id: BackorderId,
    pub product_id: ProductId,
    pub sku: String,
    /// Customer row id.
    pub customer_id: CustomerId,
    /// The shop's customer id.
    pub customer_external_id: String,
    /// Mask before showing.
    pub customer_name: String,
    pub tier: Tier,
    pub order_number: String,
    pub order_line_id: OrderLineId,
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
    pub product_id: Option<ProductId>,
    /// Customer row id.
    pub customer_id: Option<CustomerId>,
    pub status: Option<BackorderStatus>,
}

/// The order of a backorder list. Each is an index (migrations 0009 and 0010) when the list is
/// of one status, alone or with one product or customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListOrder {
    /// Highest priority score first (the service order: stored sort key, then earlier order,
    /// then id).
    Priority,
    /// Oldest order first.
    Age,
    /// Earliest promised date first, unknown last; ties by priority.
    Eta,
    /// Largest backordered value first; ties by priority.
    Value,
}

const PRIORITY: [KeyColumn; 3] = [
    desc("b.sort_key", 'r'),
    asc("b.ordered_epoch", 'i'),
    asc("b.id", 'i'),
];
const AGE: [KeyColumn; 2] = [asc("b.ordered_epoch", 'i'), asc("b.id", 'i')];
/// Unknown last: written as the ETA indexes write it (SQLite migration 0010, PostgreSQL 0001).
const ETA: [KeyColumn; 4] = [
    asc_day("COALESCE(b.promised_eta, '9999-12-31')"),
    desc("b.sort_key", 'r'),
    asc("b.ordered_epoch", 'i'),
    asc("b.id", 'i'),
];
const VALUE: [KeyColumn; 4] = [
    desc("b.value_minor", 'i'),
    desc("b.sort_key", 'r'),
    asc("b.ordered_epoch", 'i'),
    asc("b.id", 'i'),
];

impl ListOrder {
    /// The key columns.
    pub fn columns(self) -> &'static [KeyColumn] {
        match self {
            Self::Priority => &PRIORITY,
            Self::Age => &AGE,
            Self::Eta => &ETA,
            Self::Value => &VALUE,
        }
    }
}

/// The backorders `f` selects, in `order`, as a keyset source.
pub fn source(f: &Filter, order: ListOrder) -> Source<'static> {
    let mut filter = Vec::new();
    let mut binds = Vec::new();
    if let Some(p) = f.product_id {
        binds.push(KeyPart::Int(p.0));
        filter.push(format!("b.product_id = ${}", binds.len()));
    }
    if let Some(c) = f.customer_id {
        binds.push(KeyPart::Int(c.0));
        filter.push(format!("b.customer_id = ${}", binds.len()));
    }
    if let Some(s) = f.status {
        binds.push(KeyPart::Text(s.as_str().to_string()));
        // A product's or customer's list in an order without an index of its own for that
        // column (age, ETA, value by product; ETA, value by customer) is read from the
        // product's or customer's index and sorted: few rows. Written as an expression, the
        // status test cannot lead the database to the status-first index of the order
        // instead, which would walk every backorder of that status to find those few.
        let sorted_from_narrow = match (f.product_id, f.customer_id, order) {
            (Some(_), _, ListOrder::Priority) => false,
            (Some(_), _, _) => true,
            (None, Some(_), ListOrder::Priority | ListOrder::Age) => false,
            (None, Some(_), _) => true,
            (None, None, _) => false,
        };
        filter.push(if sorted_from_narrow {
            format!("b.status || '' = ${}", binds.len())
        } else {
            format!("b.status = ${}", binds.len())
        });
    }
    Source {
        from: "backorders b",
        id: "b.id",
        filter,
        binds,
        order: order.columns(),
    }
}

/// The change counter of every backorder list (migration 0014).
const CHANGES: &str = "SELECT CAST(COALESCE(SUM(changes), 0) AS BIGINT) FROM backorder_counts";

/// One page of backorders from `seek` in the given order (ids and keys read from an index, then
/// the page's rows joined), and the number of rows the filter selects.
pub async fn list(
    conn: &mut Conn,
    marks: &keyset::Landmarks,
    f: &Filter,
    order: ListOrder,
    seek: &Seek,
    limit: i64,
) -> anyhow::Result<(Vec<BackorderRow>, Keyed, i64)> {
    let src = source(f, order);
    let total = if f.product_id.is_none() && f.customer_id.is_none() {
        // A whole status: the count the triggers keep (migration 0010), not an index range.
        run!(
            conn,
            sqlx::query_scalar(
                "SELECT CAST(COALESCE(SUM(n), 0) AS BIGINT) FROM backorder_counts
             WHERE $1 IS NULL OR status = $1",
            )
            .bind(f.status.map(|s| s.as_str())),
            fetch_one
        )?
    } else {
        keyset::count(&mut *conn, &src).await?
    };
    let keyed = keyset::page_from_landmarks(&mut *conn, marks, &src, CHANGES, seek, limit).await?;
    let rows = by_ids(conn, &keyed.row_ids()).await?;
    Ok((rows, keyed, total))
}

/// Places in their SKU's queue of open backorders (1 = served next) and the queue's length,
/// by backorder id, counted in the queue index (`backorders_product_queue`). Rows that are not
/// open have none.
pub async fn queue_places(
    conn: &mut Conn,
    ids: &[BackorderId],
) -> anyhow::Result<std::collections::HashMap<BackorderId, (usize, usize)>> {
    // One bound JSON array. The leading `a.sort_key >= b.sort_key`
    // makes each count a range of the index.
    // The status is checked in Rust: `b.status = 'open'` here could lead the database to
    // walk every open backorder looking for these few ids.
    let rows: Vec<(BackorderId, String, i64, i64)> = run!(
        conn,
        sqlx::query_as(concat!(
            "SELECT b.id, b.status,
            1 + (SELECT COUNT(*) FROM backorders a
                 WHERE a.product_id = b.product_id AND a.status = ",
            sql_word!(backorder open),
            "
                   AND a.sort_key >= b.sort_key
                   AND (a.sort_key > b.sort_key OR (a.sort_key = b.sort_key
                        AND (a.ordered_epoch < b.ordered_epoch
                             OR (a.ordered_epoch = b.ordered_epoch AND a.id < b.id))))),
            (SELECT COUNT(*) FROM backorders a WHERE a.product_id = b.product_id AND a.status = ",
            sql_word!(backorder open),
            ")
         FROM backorders b
         WHERE b.id IN (SELECT value FROM json_each($1))"
        ))
        .bind(id_json(ids)),
        fetch_all
    )?;
    Ok(rows
        .into_iter()
        .filter(|(_, status, _, _)| status == BackorderStatus::Open.as_str())
        .map(|(id, _, place, len)| (id, (place as usize, len as usize)))
        .collect())
}

/// Backorders by id, in the order of `ids`.
pub async fn by_ids(conn: &mut Conn, ids: &[BackorderId]) -> anyhow::Result<Vec<BackorderRow>> {
    // One bound JSON array.
    let rows: Vec<BackorderRow> = run!(
        conn,
        sqlx::query_as(&format!(
            "{SELECT} WHERE b.id IN (SELECT value FROM json_each($1))"
        ))
        .bind(id_json(ids)),
        fetch_all
    )?;
    let mut by_id: std::collections::HashMap<BackorderId, BackorderRow> =
        rows.into_iter().map(|r| (r.id, r)).collect();
    Ok(ids.iter().filter_map(|id| by_id.remove(id)).collect())
}

/// One backorder.
pub async fn by_id(conn: &mut Conn, id: BackorderId) -> anyhow::Result<Option<BackorderRow>> {
    Ok(run!(
        conn,
        sqlx::query_as(&format!("{SELECT} WHERE b.id = $1")).bind(id),
        fetch_optional
    )?)
}

/// What ranking and promising an open backorder needs, and nothing more (a SKU can have 100,000).
#[derive(Debug, Clone, sqlx::FromRow, PartialEq)]
pub struct QueueRow {
    /// Backorder id.
    pub id: BackorderId,
    /// Customer row id.
    pub customer_id: CustomerId,
    pub order_line_id: OrderLineId,
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

const QUEUE_SELECT: &str =
    "SELECT b.id, b.customer_id, b.order_line_id, b.qty, b.qty_allocated, c.tier,
    ol.unit_price_minor, o.ordered_at, b.manual_priority, b.promised_eta, b.eta_kind
    FROM backorders b
    JOIN customers c ON c.id = b.customer_id
    JOIN order_lines ol ON ol.id = b.order_line_id
    JOIN orders o ON o.id = ol.order_id";

/// The open backorders of a product as queue rows (unsorted; the caller ranks them).
pub async fn open_queue(conn: &mut Conn, product_id: ProductId) -> anyhow::Result<Vec<QueueRow>> {
    Ok(run!(
        conn,
        sqlx::query_as(&format!(
            "{QUEUE_SELECT} WHERE b.product_id = $1 AND b.status = {open}",
            open = sql_word!(backorder open)
        ))
        .bind(product_id),
        fetch_all
    )?)
}

/// Some backorders as queue rows (unsorted).
pub async fn queue_rows(conn: &mut Conn, ids: &[BackorderId]) -> anyhow::Result<Vec<QueueRow>> {
    Ok(run!(
        conn,
        sqlx::query_as(&format!(
            "{QUEUE_SELECT} WHERE b.id IN (SELECT value FROM json_each($1))"
        ))
        .bind(id_json(ids)),
        fetch_all
    )?)
}

/// The token that changes with every write a product's promises are planned from (migration
/// 0017); `None` before the first such write.
pub async fn queue_token(conn: &mut Conn, product_id: ProductId) -> anyhow::Result<Option<i64>> {
    Ok(run!(
        conn,
        sqlx::query_scalar("SELECT token FROM queue_tokens WHERE product_id = $1").bind(product_id),
        fetch_optional
    )?)
}

/// Customer names by id (for showing the first few moved promises).
pub async fn customer_name(conn: &mut Conn, customer_id: CustomerId) -> anyhow::Result<String> {
    Ok(run!(
        conn,
        sqlx::query_scalar("SELECT name FROM customers WHERE id = $1").bind(customer_id),
        fetch_optional
    )?
    .unwrap_or_default())
}

/// Products with open backorders of a customer.
pub async fn open_products_of_customer(
    conn: &mut Conn,
    customer_id: CustomerId,
) -> anyhow::Result<Vec<ProductId>> {
    Ok(run!(
        conn,
        sqlx::query_scalar(concat!(
            "SELECT DISTINCT product_id FROM backorders WHERE customer_id = $1 AND status = ",
            sql_word!(backorder open)
        ))
        .bind(customer_id),
        fetch_all
    )?)
}

/// Creates an open backorder.
pub async fn insert(
    conn: &mut Conn,
    order_line_id: OrderLineId,
    product_id: ProductId,
    customer_id: CustomerId,
    qty: i64,
    at: DateTime<Utc>,
) -> anyhow::Result<BackorderId> {
    Ok(run!(
        conn,
        sqlx::query_scalar(
            "INSERT INTO backorders (order_line_id, product_id, customer_id, qty, created_at)
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(order_line_id)
        .bind(product_id)
        .bind(customer_id)
        .bind(qty)
        .bind(ts(at)),
        fetch_one
    )?)
}

/// Sets the manual priority points.
pub async fn set_manual_priority(
    conn: &mut Conn,
    id: BackorderId,
    points: f64,
) -> anyhow::Result<()> {
    run!(
        conn,
        sqlx::query("UPDATE backorders SET manual_priority = $1 WHERE id = $2")
            .bind(points)
            .bind(id),
        execute
    )?;
    Ok(())
}

/// Adds allocated units and sets the status the caller derived
/// ([`BackorderStatus::after_allocation`]).
pub async fn add_allocation(
    conn: &mut Conn,
    id: BackorderId,
    qty: i64,
    status: BackorderStatus,
) -> anyhow::Result<()> {
    run!(
        conn,
        sqlx::query(
            "UPDATE backorders SET qty_allocated = qty_allocated + $1, status = $2 WHERE id = $3",
        )
        .bind(qty)
        .bind(status)
        .bind(id),
        execute
    )?;
    Ok(())
}

/// Closes a backorder as fulfilled or cancelled.
pub async fn close(
    conn: &mut Conn,
    id: BackorderId,
    status: BackorderStatus,
    reason: &str,
    at: DateTime<Utc>,
) -> anyhow::Result<()> {
    run!(conn, sqlx::query(
        "UPDATE backorders SET status = $1, close_reason = $2, closed_at = $3, qty_allocated = 0 WHERE id = $4",
    )
    .bind(status)
    .bind(reason)
    .bind(ts(at))
    .bind(id), execute)?;
    Ok(())
}

/// One backorder's new promise, for [`apply_eta_changes`].
#[derive(Debug, Clone)]
pub struct EtaChange {
    pub backorder_id: BackorderId,
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
    cause: Cause,
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
    let mut groups: std::collections::BTreeMap<Key<'_>, Vec<BackorderId>> = Default::default();
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
        let old_eta = old_eta.map(super::day);
        let new_eta = new_eta.map(super::day);
        // The ids travel as one JSON array: one bound value per statement, however many rows.
        let ids_json = id_json(&ids);
        run!(
            conn,
            sqlx::query(
                "UPDATE backorders SET promised_eta = $1, eta_kind = $2
             WHERE id IN (SELECT value FROM json_each($3))",
            )
            .bind(new_eta)
            .bind(new_kind)
            .bind(&ids_json),
            execute
        )?;
        run!(conn, sqlx::query(
            "INSERT INTO eta_history (backorder_id, old_eta, new_eta, old_kind, new_kind, cause, actor, reason, created_at)
             SELECT value, $1, $2, $3, $4, $5, $6, $7, $8 FROM json_each($9)",
        )
        .bind(old_eta)
        .bind(new_eta)
        .bind(old_kind)
        .bind(new_kind)
        .bind(cause)
        .bind(actor)
        .bind(reason)
        .bind(now)
        .bind(&ids_json), execute)?;
        if let Some(payload) = payload {
            run!(conn, sqlx::query(
                "INSERT INTO outbox (backorder_id, customer_id, kind, payload, next_attempt_at, created_at)
                 SELECT b.id, b.customer_id, $1, $2, $3, $3
                 FROM json_each($4) j JOIN backorders b ON b.id = j.value",
            )
            .bind(UpdateKind::EtaChanged)
            .bind(payload)
            .bind(now)
            .bind(&ids_json), execute)?;
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
    /// What moved it.
    pub cause: Cause,
    pub actor: String,
    pub reason: String,
    #[sqlx(try_from = "super::StoredTs")]
    pub created_at: DateTime<Utc>,
}

/// A backorder's ETA history, oldest first.
pub async fn eta_history(conn: &mut Conn, id: BackorderId) -> anyhow::Result<Vec<EtaHistoryRow>> {
    Ok(run!(
        conn,
        sqlx::query_as(
            "SELECT old_eta, new_eta, cause, actor, reason, created_at FROM eta_history
         WHERE backorder_id = $1 ORDER BY id",
        )
        .bind(id),
        fetch_all
    )?)
}

/// Makes the stored sort keys use `w`: when the weights the keys were computed with differ,
/// stores `w` and every key is recomputed (a trigger of migration 0009). Returns whether they
/// differed.
pub async fn sync_priority_weights(conn: &mut Conn, w: &PriorityWeights) -> anyhow::Result<bool> {
    let changed = run!(
        conn,
        sqlx::query(
            "UPDATE priority_weights SET standard = $1, silver = $2, gold = $3, vip = $4,
            per_currency_unit = $5, per_day = $6
         WHERE id = 1 AND (standard IS DISTINCT FROM $1 OR silver IS DISTINCT FROM $2
            OR gold IS DISTINCT FROM $3 OR vip IS DISTINCT FROM $4
            OR per_currency_unit IS DISTINCT FROM $5 OR per_day IS DISTINCT FROM $6)",
        )
        .bind(w.tier_points[0])
        .bind(w.tier_points[1])
        .bind(w.tier_points[2])
        .bind(w.tier_points[3])
        .bind(w.per_currency_unit)
        .bind(w.per_day),
        execute
    )?;
    Ok(changed > 0)
}

/// A backorder's stored sort key and order time (seconds since 1970).
pub async fn sort_key(conn: &mut Conn, id: BackorderId) -> anyhow::Result<Option<(f64, i64)>> {
    Ok(run!(
        conn,
        sqlx::query_as("SELECT sort_key, ordered_epoch FROM backorders WHERE id = $1").bind(id),
        fetch_optional
    )?)
}
