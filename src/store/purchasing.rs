//! Purchase orders, their lines and the ETA history of those lines.

use super::keyset::{self, asc, asc_day, KeyColumn, Keyed, Source};
use super::types::sql_word;
use super::{id_json, ts, Conn};
use crate::domain::page::{KeyPart, Seek};
use crate::domain::{PoLineId, PoStatus, ProductId, PurchaseOrderId, SupplierId};
use crate::store::run;
use chrono::{DateTime, NaiveDate, Utc};

/// A purchase order header.
#[derive(Debug, Clone, sqlx::FromRow, PartialEq)]
pub struct PoRow {
    pub id: PurchaseOrderId,
    pub po_number: String,
    pub supplier_code: Option<String>,
    pub supplier_name: Option<String>,
    /// Derived from the lines by [`PoStatus::of_po`] whenever they change.
    pub status: PoStatus,
}

/// A PO line with its SKU.
#[derive(Debug, Clone, sqlx::FromRow, PartialEq)]
pub struct PoLineRow {
    pub id: PoLineId,
    pub po_id: PurchaseOrderId,
    pub po_number: String,
    pub product_id: ProductId,
    pub sku: String,
    pub qty_ordered: i64,
    /// Received so far.
    pub qty_received: i64,
    /// The supplier's date.
    #[sqlx(try_from = "super::StoredOptDay")]
    pub eta: Option<NaiveDate>,
    pub status: PoStatus,
}

impl PoLineRow {
    /// Units still to arrive.
    pub fn remaining(&self) -> i64 {
        self.status.remaining(self.qty_ordered, self.qty_received)
    }
}

const LINE_SELECT: &str = "SELECT l.id, l.po_id, po.po_number, l.product_id, p.sku, l.qty_ordered,
    l.qty_received, l.eta, l.status
    FROM po_lines l JOIN purchase_orders po ON po.id = l.po_id JOIN products p ON p.id = l.product_id";

/// Looks a PO up by number (case-insensitive).
pub async fn po_by_number(conn: &mut Conn, po_number: &str) -> anyhow::Result<Option<PoRow>> {
    Ok(run!(conn, sqlx::query_as(
        "SELECT po.id, po.po_number, s.code AS supplier_code, s.name AS supplier_name, po.status
         FROM purchase_orders po LEFT JOIN suppliers s ON s.id = po.supplier_id
         WHERE UPPER(po.po_number) = UPPER($1)",
    )
    .bind(po_number), fetch_optional)?)
}

/// The lines of a PO, in SKU order.
pub async fn lines_of_po(
    conn: &mut Conn,
    po_id: PurchaseOrderId,
) -> anyhow::Result<Vec<PoLineRow>> {
    Ok(run!(
        conn,
        sqlx::query_as(&format!(
            "{LINE_SELECT} WHERE l.po_id = $1 ORDER BY p.sku_key"
        ))
        .bind(po_id),
        fetch_all
    )?)
}

/// [`EXPECTING_UNITS`]'s text, as a macro so that `concat!` can build constant statements from it.
macro_rules! expecting_units_sql {
    () => {
        "('open', 'partially_received')"
    };
}
pub(crate) use expecting_units_sql;

/// The statuses of a purchase order or PO line still expecting units
/// ([`PoStatus::expects_more`]) as a SQL list: `l.status IN {EXPECTING_UNITS}`.
pub const EXPECTING_UNITS: &str = expecting_units_sql!();

/// Open and partially received lines of a product, earliest ETA first (undated last).
pub async fn inbound_for_product(
    conn: &mut Conn,
    product_id: ProductId,
) -> anyhow::Result<Vec<PoLineRow>> {
    Ok(run!(
        conn,
        sqlx::query_as(&format!(
            "{LINE_SELECT} WHERE l.product_id = $1 AND l.status IN {EXPECTING_UNITS}
         ORDER BY l.eta IS NULL, l.eta, l.id"
        ))
        .bind(product_id),
        fetch_all
    )?)
}

/// Creates a PO header or updates its supplier; returns the id and whether it changed.
pub async fn upsert_po(
    conn: &mut Conn,
    po_number: &str,
    supplier_id: Option<SupplierId>,
    at: DateTime<Utc>,
) -> anyhow::Result<(PurchaseOrderId, bool)> {
    let changed =
        run!(conn, sqlx::query(
        "INSERT INTO purchase_orders (po_number, supplier_id, created_at) VALUES ($1, $2, $3)
         ON CONFLICT (po_number) DO UPDATE SET supplier_id = excluded.supplier_id
         WHERE purchase_orders.supplier_id IS DISTINCT FROM excluded.supplier_id",
    )
    .bind(po_number)
    .bind(supplier_id)
    .bind(ts(at)), execute)?
            > 0;
    let id = run!(
        conn,
        sqlx::query_scalar("SELECT id FROM purchase_orders WHERE po_number = $1").bind(po_number),
        fetch_one
    )?;
    Ok((id, changed))
}

/// A line's state by PO and product, if it exists.
pub async fn line(
    conn: &mut Conn,
    po_id: PurchaseOrderId,
    product_id: ProductId,
) -> anyhow::Result<Option<PoLineRow>> {
    Ok(run!(
        conn,
        sqlx::query_as(&format!(
            "{LINE_SELECT} WHERE l.po_id = $1 AND l.product_id = $2"
        ))
        .bind(po_id)
        .bind(product_id),
        fetch_optional
    )?)
}

/// Inserts a new line.
pub async fn insert_line(
    conn: &mut Conn,
    po_id: PurchaseOrderId,
    product_id: ProductId,
    qty: i64,
    eta: Option<NaiveDate>,
    status: PoStatus,
) -> anyhow::Result<PoLineId> {
    Ok(run!(conn, sqlx::query_scalar(
        "INSERT INTO po_lines (po_id, product_id, qty_ordered, eta, status) VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(po_id)
    .bind(product_id)
    .bind(qty)
    .bind(eta.map(super::day))
    .bind(status), fetch_one)?)
}

/// Updates a line's ordered quantity, ETA and status.
pub async fn update_line(
    conn: &mut Conn,
    line_id: PoLineId,
    qty_ordered: i64,
    eta: Option<NaiveDate>,
    status: PoStatus,
) -> anyhow::Result<()> {
    run!(
        conn,
        sqlx::query("UPDATE po_lines SET qty_ordered = $1, eta = $2, status = $3 WHERE id = $4")
            .bind(qty_ordered)
            .bind(eta.map(super::day))
            .bind(status)
            .bind(line_id),
        execute
    )?;
    Ok(())
}

/// Adds received units to a line and sets its status.
pub async fn add_received(
    conn: &mut Conn,
    line_id: PoLineId,
    qty: i64,
    status: PoStatus,
) -> anyhow::Result<()> {
    run!(
        conn,
        sqlx::query(
            "UPDATE po_lines SET qty_received = qty_received + $1, status = $2 WHERE id = $3"
        )
        .bind(qty)
        .bind(status)
        .bind(line_id),
        execute
    )?;
    Ok(())
}

/// Sets a PO header's status from its lines ([`PoStatus::of_po`]); returns it.
pub async fn refresh_po_status(
    conn: &mut Conn,
    po_id: PurchaseOrderId,
) -> anyhow::Result<PoStatus> {
    let lines: Vec<(PoStatus, i64)> = run!(
        conn,
        sqlx::query_as("SELECT status, qty_received FROM po_lines WHERE po_id = $1").bind(po_id),
        fetch_all
    )?;
    let status = PoStatus::of_po(lines);
    run!(
        conn,
        sqlx::query("UPDATE purchase_orders SET status = $1 WHERE id = $2 AND status <> $1")
            .bind(status)
            .bind(po_id),
        execute
    )?;
    Ok(status)
}

/// Records a PO line's ETA change.
pub async fn record_line_eta_change(
    conn: &mut Conn,
    line_id: PoLineId,
    old: Option<NaiveDate>,
    new: Option<NaiveDate>,
    actor: &str,
    reason: &str,
    at: DateTime<Utc>,
) -> anyhow::Result<()> {
    run!(
        conn,
        sqlx::query(concat!(
        "INSERT INTO eta_history (po_line_id, old_eta, new_eta, cause, actor, reason, created_at)
         VALUES ($1, $2, $3, ",
        sql_word!(cause po_eta_changed),
        ", $4, $5, $6)"
    ))
        .bind(line_id)
        .bind(old.map(super::day))
        .bind(new.map(super::day))
        .bind(actor)
        .bind(reason)
        .bind(ts(at)),
        execute
    )?;
    Ok(())
}

/// A purchase order as `/pos` lists it.
#[derive(Debug, Clone, sqlx::FromRow, PartialEq)]
pub struct PoSummaryRow {
    pub id: PurchaseOrderId,
    pub po_number: String,
    pub supplier_code: Option<String>,
    pub supplier_name: Option<String>,
    pub status: PoStatus,
    /// Lines on the PO.
    pub lines: i64,
    /// Units still to arrive on open lines.
    pub units_open: i64,
    /// Earliest ETA of a line still expecting units.
    #[sqlx(try_from = "super::StoredOptDay")]
    pub next_eta: Option<NaiveDate>,
    /// That ETA has passed and the line is not received.
    pub late: bool,
}

/// What `/pos` filters by.
#[derive(Debug, Clone, Default)]
pub struct PoFilter {
    /// Supplier row id.
    pub supplier_id: Option<SupplierId>,
    /// PO statuses (empty: any).
    pub statuses: Vec<PoStatus>,
    /// Only POs with a line whose ETA has passed.
    pub late_only: bool,
}

/// `/pos`'s order: next ETA first (stored on the header, migration 0010), undated last, then PO
/// number.
pub const PO_ORDER: [KeyColumn; 2] = [asc_day(NEXT_ETA_KEY), asc("po.po_number", 't')];

/// A PO's next ETA, undated last, written as the index `purchase_orders_all_eta` writes it.
const NEXT_ETA_KEY: &str = "COALESCE(po.next_eta, '9999-12-31')";

/// The purchase orders `f` selects, next ETA first, as a keyset source. A PO is late when its
/// next ETA is before `today`.
pub fn pos_source(f: &PoFilter, today: NaiveDate) -> Source<'static> {
    let mut filter = Vec::new();
    let mut binds = Vec::new();
    // Statuses are written out (they are the enum's fixed spellings, never user text) as the
    // partial indexes of migration 0010 write them, so the database picks those indexes.
    let mut wanted: Vec<PoStatus> = f.statuses.clone();
    wanted.sort_by_key(|s| s.as_str());
    wanted.dedup();
    let quoted = |s: &PoStatus| format!("'{}'", s.as_str());
    if !wanted.is_empty() && wanted.len() < PoStatus::ALL.len() {
        let expecting = wanted.iter().all(|s| s.expects_more());
        let all_expecting = expecting
            && PoStatus::ALL
                .into_iter()
                .filter(|s| s.expects_more())
                .all(|s| wanted.contains(&s));
        if expecting {
            filter.push(format!("po.status IN {EXPECTING_UNITS}"));
            if !all_expecting {
                // One of the two: the expecting index, filtered.
                filter.push(format!("po.status = {}", quoted(&wanted[0])));
            }
        } else if wanted.len() == 1 {
            filter.push(format!("po.status = {}", quoted(&wanted[0])));
        } else {
            let list: Vec<String> = wanted.iter().map(quoted).collect();
            filter.push(format!("po.status IN ({})", list.join(", ")));
        }
    }
    if let Some(s) = f.supplier_id {
        binds.push(KeyPart::Int(s.0));
        filter.push(format!("po.supplier_id = ${}", binds.len()));
    }
    if f.late_only {
        binds.push(KeyPart::Text(today.to_string()));
        filter.push(format!("{NEXT_ETA_KEY} < date(${})", binds.len()));
    }
    Source {
        from: "purchase_orders po",
        id: "po.id",
        filter,
        binds,
        order: &PO_ORDER,
    }
}

/// The change counter of every purchase-order list (migration 0014).
const CHANGES: &str = "SELECT CAST(COALESCE(SUM(changes), 0) AS BIGINT) FROM po_counts";

/// One page of purchase orders from `seek` (next ETA first, undated last), its keys and the
/// number the filter selects. A PO is late when a line still expecting units has an ETA before
/// `today`.
pub async fn list_pos(
    conn: &mut Conn,
    marks: &keyset::Landmarks,
    f: &PoFilter,
    today: NaiveDate,
    seek: &Seek,
    limit: i64,
) -> anyhow::Result<(Vec<PoSummaryRow>, Keyed, i64)> {
    let src = pos_source(f, today);
    let total = if f.supplier_id.is_none() && !f.late_only {
        // Whole statuses: the counts the triggers keep (migration 0010), not an index range.
        let counts: Vec<(PoStatus, i64)> = run!(
            conn,
            sqlx::query_as("SELECT status, CAST(SUM(n) AS BIGINT) FROM po_counts GROUP BY status"),
            fetch_all
        )?;
        counts
            .into_iter()
            .filter(|(s, _)| f.statuses.is_empty() || f.statuses.contains(s))
            .map(|(_, n)| n)
            .sum()
    } else {
        keyset::count(&mut *conn, &src).await?
    };
    let keyed = keyset::page_from_landmarks(&mut *conn, marks, &src, CHANGES, seek, limit).await?;
    // The page's POs summed over their lines.
    let rows: Vec<PoSummaryRow> = run!(
        conn,
        sqlx::query_as(&format!(
        "SELECT po.id, po.po_number, s.code AS supplier_code, s.name AS supplier_name, po.status,
            COUNT(l.id) AS lines,
            CAST(COALESCE(SUM(CASE WHEN l.status IN {EXPECTING_UNITS}
                THEN l.qty_ordered - l.qty_received ELSE 0 END), 0) AS BIGINT) AS units_open,
            po.next_eta,
            COALESCE(po.next_eta < $1, FALSE) AS late
         FROM purchase_orders po
         LEFT JOIN suppliers s ON s.id = po.supplier_id
         LEFT JOIN po_lines l ON l.po_id = po.id
         WHERE po.id IN (SELECT value FROM json_each($2))
         GROUP BY po.id, po.po_number, s.code, s.name, po.status, po.next_eta"
    ))
        .bind(super::day(today))
        .bind(id_json(&keyed.row_ids::<PurchaseOrderId>())),
        fetch_all
    )?;
    let mut by_id: std::collections::HashMap<PurchaseOrderId, PoSummaryRow> =
        rows.into_iter().map(|r| (r.id, r)).collect();
    let rows = keyed
        .row_ids::<PurchaseOrderId>()
        .iter()
        .filter_map(|id| by_id.remove(id))
        .collect();
    Ok((rows, keyed, total))
}

#[cfg(test)]
mod expecting_units_tests {
    use super::{PoStatus, EXPECTING_UNITS};

    #[test]
    fn the_sql_list_holds_the_statuses_that_expect_more() {
        let statuses: Vec<String> = PoStatus::ALL
            .into_iter()
            .filter(|s| s.expects_more())
            .map(|s| format!("'{}'", s.as_str()))
            .collect();
        assert_eq!(EXPECTING_UNITS, format!("({})", statuses.join(", ")));
    }
}
