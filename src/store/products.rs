//! Products, substitutes and product search.

use super::Conn;
use crate::domain::{ProductId, SupplierId};
use crate::store::{dialect, run};
use anyhow::Context;

/// A product with its supplier's code and lead time.
#[derive(Debug, Clone, sqlx::FromRow, PartialEq)]
pub struct ProductRow {
    /// Row id.
    pub id: ProductId,
    /// The shop's spelling.
    pub sku: String,
    pub name: String,
    pub category: String,
    /// Unit price, minor units.
    pub unit_price_minor: i64,
    pub reorder_point: i64,
    pub safety_stock: i64,
    pub reorder_qty: i64,
    /// Product's own lead time, if set.
    pub lead_time_days: Option<i64>,
    /// Preferred supplier.
    pub supplier_id: Option<SupplierId>,
    pub supplier_code: Option<String>,
    /// Supplier's default lead time.
    pub supplier_lead_time_days: Option<i64>,
}

impl ProductRow {
    /// The product's lead time, else its supplier's; `None` without either.
    pub fn effective_lead_time(&self) -> Option<i64> {
        self.lead_time_days.or(self.supplier_lead_time_days)
    }
}

const SELECT: &str = "SELECT p.id, p.sku, p.name, p.category, p.unit_price_minor, p.reorder_point,
    p.safety_stock, p.reorder_qty, p.lead_time_days, p.supplier_id,
    s.code AS supplier_code, s.lead_time_days AS supplier_lead_time_days
    FROM products p LEFT JOIN suppliers s ON s.id = p.supplier_id";

/// Looks a product up by its upper-case key.
pub async fn by_key(conn: &mut Conn, sku_key: &str) -> anyhow::Result<Option<ProductRow>> {
    Ok(run!(
        conn,
        sqlx::query_as(&format!("{SELECT} WHERE p.sku_key = $1")).bind(sku_key),
        fetch_optional
    )?)
}

/// A product with its stock position, open-backorder totals and inbound lines, read in one
/// statement
/// (`/stock` is the most frequent question).
#[derive(Debug, Clone, sqlx::FromRow, PartialEq)]
pub struct StockSnapshot {
    #[sqlx(flatten)]
    pub product: ProductRow,
    pub on_hand: i64,
    pub allocated: i64,
    pub open_backorders: i64,
    /// Units still owed to them.
    pub backordered_units: i64,
    /// Open PO lines as a JSON array of `[po_number, units still to come, eta]`.
    pub inbound_json: String,
}

impl StockSnapshot {
    /// The open PO lines, earliest ETA first (undated last).
    pub fn inbound(&self) -> anyhow::Result<Vec<crate::domain::stock::InboundLine>> {
        let raw: Vec<(String, i64, Option<String>)> = serde_json::from_str(&self.inbound_json)?;
        let mut lines = raw
            .into_iter()
            .map(|(po_number, qty, eta)| {
                Ok(crate::domain::stock::InboundLine {
                    eta: eta
                        .as_deref()
                        .map(super::parse_day)
                        .transpose()
                        .with_context(|| format!("po_lines.eta of {po_number}"))?,
                    po_number,
                    qty,
                })
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        lines.sort_by(|a, b| {
            (a.eta.is_none(), a.eta, &a.po_number).cmp(&(b.eta.is_none(), b.eta, &b.po_number))
        });
        Ok(lines)
    }
}

/// Reads a [`StockSnapshot`] by SKU key.
pub async fn stock_snapshot(
    conn: &mut Conn,
    sku_key: &str,
) -> anyhow::Result<Option<StockSnapshot>> {
    let expecting = super::purchasing::EXPECTING_UNITS;
    // The inbound lines as one JSON array (`[]` without any) in the engine's JSON functions.
    let inbound_array = dialect!(conn,
        sqlite: "json_group_array(json_array(po.po_number, l.qty_ordered - l.qty_received, l.eta))",
        postgres: "COALESCE(CAST(json_agg(json_build_array(po.po_number, \
            l.qty_ordered - l.qty_received, l.eta)) AS TEXT), '[]')");
    Ok(run!(
        conn,
        sqlx::query_as(&format!(
            "SELECT p.id, p.sku, p.name, p.category, p.unit_price_minor, p.reorder_point,
            p.safety_stock, p.reorder_qty, p.lead_time_days, p.supplier_id,
            s.code AS supplier_code, s.lead_time_days AS supplier_lead_time_days,
            COALESCE(sp.on_hand, 0) AS on_hand, COALESCE(sp.allocated, 0) AS allocated,
            COALESCE(sp.open_backorders, 0) AS open_backorders,
            COALESCE(sp.backorder_units, 0) AS backordered_units,
            (SELECT {inbound_array} FROM po_lines l JOIN purchase_orders po ON po.id = l.po_id
              WHERE l.product_id = p.id AND l.status IN {expecting}
                AND l.qty_ordered > l.qty_received) AS inbound_json
         FROM products p
         LEFT JOIN suppliers s ON s.id = p.supplier_id
         LEFT JOIN stock_positions sp ON sp.product_id = p.id
         WHERE p.sku_key = $1",
        ))
        .bind(sku_key),
        fetch_optional
    )?)
}

/// Looks a product up by id.
pub async fn by_id(conn: &mut Conn, id: ProductId) -> anyhow::Result<Option<ProductRow>> {
    Ok(run!(
        conn,
        sqlx::query_as(&format!("{SELECT} WHERE p.id = $1")).bind(id),
        fetch_optional
    )?)
}

/// The exclusive upper bound of keys starting with `prefix`, for index range scans.
fn prefix_end(prefix: &str) -> String {
    format!("{prefix}\u{10FFFF}")
}

/// SKUs whose key starts with `prefix`, in key order.
pub async fn skus_with_prefix(
    conn: &mut Conn,
    prefix: &str,
    limit: i64,
) -> anyhow::Result<Vec<(String, String)>> {
    Ok(run!(conn, sqlx::query_as(
        "SELECT sku, name FROM products WHERE sku_key >= $1 AND sku_key < $2 ORDER BY sku_key LIMIT $3",
    )
    .bind(prefix)
    .bind(prefix_end(prefix))
    .bind(limit), fetch_all)?)
}

/// Candidates for "did you mean": SKUs sharing the longest prefix that has any.
pub async fn near_keys(conn: &mut Conn, sku_key: &str, limit: i64) -> anyhow::Result<Vec<String>> {
    let chars: Vec<char> = sku_key.chars().collect();
    for len in (1..chars.len()).rev() {
        let prefix: String = chars[..len].iter().collect();
        let found: Vec<(String, String)> = skus_with_prefix(conn, &prefix, limit).await?;
        if found.len() >= 3 || len == 1 {
            return Ok(found.into_iter().map(|(sku, _)| sku).collect());
        }
    }
    Ok(Vec::new())
}

/// A product that can stand in, with what a new order could get of it.
#[derive(Debug, Clone, sqlx::FromRow, PartialEq)]
pub struct Alternative {
    pub id: ProductId,
    pub sku: String,
    pub name: String,
    /// Free to promise ([`super::stock::FREE_TO_PROMISE`]).
    pub available: i64,
    /// Unit price, minor units.
    pub unit_price_minor: i64,
}

/// In-stock alternatives of a product in one read: its substitutes (`true`) first, then other
/// products of its category (`false`), each list at most `limit` long.
pub async fn alternatives_in_stock(
    conn: &mut Conn,
    product_id: ProductId,
    category: &str,
    limit: i64,
) -> anyhow::Result<Vec<(Alternative, bool)>> {
    let free = super::stock::FREE_TO_PROMISE;
    let rows: Vec<(ProductId, String, String, i64, i64, bool)> = run!(conn, sqlx::query_as(&format!(
        // The category side looks at a bounded number of products: a category sold out
        // everywhere must not turn /stock into a scan of thousands of rows.
        "SELECT * FROM (
            SELECT p.id, p.sku, p.name, {free} AS available, p.unit_price_minor, TRUE AS substitute
            FROM product_substitutes ps
            JOIN products p ON p.id = ps.substitute_id
            JOIN stock_positions sp ON sp.product_id = p.id
            WHERE ps.product_id = $1 AND {free} > 0
            ORDER BY available DESC, p.sku_key LIMIT $3) AS substitutes
         UNION ALL
         SELECT * FROM (
            SELECT p.id, p.sku, p.name, {free} AS available, p.unit_price_minor, FALSE AS substitute
            FROM (SELECT id FROM products WHERE category = $2 AND category <> '' AND id <> $1 LIMIT 200) c
            JOIN products p ON p.id = c.id
            JOIN stock_positions sp ON sp.product_id = p.id
            WHERE {free} > 0
              AND p.id NOT IN (SELECT substitute_id FROM product_substitutes WHERE product_id = $1)
            LIMIT $3) AS same_category",
    ))
    .bind(product_id)
    .bind(category)
    .bind(limit), fetch_all)?;
    Ok(rows
        .into_iter()
        .map(|(id, sku, name, available, unit_price_minor, sub)| {
            (
                Alternative {
                    id,
                    sku,
                    name,
                    available,
                    unit_price_minor,
                },
                sub,
            )
        })
        .collect())
}

/// A product as imported.
#[derive(Debug, Clone, PartialEq)]
pub struct NewProduct {
    /// The shop's spelling.
    pub sku: String,
    pub name: String,
    pub category: String,
    /// Unit price, minor units.
    pub unit_price_minor: i64,
    pub reorder_point: i64,
    pub safety_stock: i64,
    pub reorder_qty: i64,
    /// Own lead time (else the supplier's).
    pub lead_time_days: Option<i64>,
    /// Preferred supplier id.
    pub supplier_id: Option<SupplierId>,
}

/// Inserts or updates by SKU key; returns the id and whether anything changed. A new product
/// gets an empty stock position.
pub async fn upsert(conn: &mut Conn, p: &NewProduct) -> anyhow::Result<(ProductId, bool)> {
    let key = p.sku.to_ascii_uppercase();
    let changed = run!(conn, sqlx::query(
        "INSERT INTO products (sku, sku_key, name, category, unit_price_minor, reorder_point,
            safety_stock, reorder_qty, lead_time_days, supplier_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         ON CONFLICT (sku_key) DO UPDATE SET sku = excluded.sku, name = excluded.name,
            category = excluded.category, unit_price_minor = excluded.unit_price_minor,
            reorder_point = excluded.reorder_point, safety_stock = excluded.safety_stock,
            reorder_qty = excluded.reorder_qty, lead_time_days = excluded.lead_time_days,
            supplier_id = excluded.supplier_id
         WHERE products.sku IS DISTINCT FROM excluded.sku OR products.name IS DISTINCT FROM excluded.name
            OR products.category IS DISTINCT FROM excluded.category
            OR products.unit_price_minor IS DISTINCT FROM excluded.unit_price_minor
            OR products.reorder_point IS DISTINCT FROM excluded.reorder_point
            OR products.safety_stock IS DISTINCT FROM excluded.safety_stock
            OR products.reorder_qty IS DISTINCT FROM excluded.reorder_qty
            OR products.lead_time_days IS DISTINCT FROM excluded.lead_time_days
            OR products.supplier_id IS DISTINCT FROM excluded.supplier_id",
    )
    .bind(&p.sku)
    .bind(&key)
    .bind(&p.name)
    .bind(&p.category)
    .bind(p.unit_price_minor)
    .bind(p.reorder_point)
    .bind(p.safety_stock)
    .bind(p.reorder_qty)
    .bind(p.lead_time_days)
    .bind(p.supplier_id), execute)?
        > 0;
    let (id,): (ProductId,) = run!(
        conn,
        sqlx::query_as("SELECT id FROM products WHERE sku_key = $1").bind(&key),
        fetch_one
    )?;
    run!(conn, sqlx::query(
        "INSERT INTO stock_positions (product_id) VALUES ($1) ON CONFLICT (product_id) DO NOTHING",
    )
    .bind(id), execute)?;
    Ok((id, changed))
}

/// Replaces a product's substitutes; returns whether they changed.
pub async fn set_substitutes(
    conn: &mut Conn,
    product_id: ProductId,
    substitutes: &[ProductId],
) -> anyhow::Result<bool> {
    let mut current: Vec<ProductId> = run!(conn, sqlx::query_scalar(
        "SELECT substitute_id FROM product_substitutes WHERE product_id = $1 ORDER BY substitute_id",
    )
    .bind(product_id), fetch_all)?;
    let mut wanted: Vec<ProductId> = substitutes
        .iter()
        .copied()
        .filter(|s| *s != product_id)
        .collect();
    wanted.sort_unstable();
    wanted.dedup();
    current.sort_unstable();
    if current == wanted {
        return Ok(false);
    }
    run!(
        conn,
        sqlx::query("DELETE FROM product_substitutes WHERE product_id = $1").bind(product_id),
        execute
    )?;
    for s in wanted {
        run!(
            conn,
            sqlx::query(
                "INSERT INTO product_substitutes (product_id, substitute_id) VALUES ($1, $2)"
            )
            .bind(product_id)
            .bind(s),
            execute
        )?;
    }
    Ok(true)
}

/// Ids of products by key, for the keys that exist.
pub async fn ids_by_keys(
    conn: &mut Conn,
    keys: &[String],
) -> anyhow::Result<Vec<(String, ProductId)>> {
    let mut out = Vec::with_capacity(keys.len());
    for key in keys {
        if let Some((id,)) = run!(
            conn,
            sqlx::query_as::<_, (ProductId,)>("SELECT id FROM products WHERE sku_key = $1")
                .bind(key),
            fetch_optional
        )? {
            out.push((key.clone(), id));
        }
    }
    Ok(out)
}

/// Number of products.
pub async fn count(conn: &mut Conn) -> anyhow::Result<i64> {
    Ok(run!(
        conn,
        sqlx::query_scalar("SELECT COUNT(*) FROM products"),
        fetch_one
    )?)
}
