//! Demand history: imported past sales (`sales_history`) and the units demanded per product and
//! day (`demand_daily`), both from migration 0018, whose triggers keep `demand_daily` in step
//! with order lines, ledger sales and imported sales.

use super::import::{stage_rows, Value};
use super::{day, ts, Conn, StoredDay};
use crate::domain::ProductId;
use crate::store::run;
use chrono::{DateTime, NaiveDate, Utc};

/// A checked row of a sales file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaleIn {
    pub product_id: ProductId,
    pub order_number: Option<String>,
    pub customer: Option<String>,
    pub qty: i64,
    /// Stored form: `YYYY-MM-DD` or an RFC 3339 UTC time.
    pub sold_at: String,
    /// The UTC day of `sold_at`.
    pub day: NaiveDate,
    /// 1, 2, … among identical rows without an order in one file.
    pub nth: i64,
    /// File rows it holds (rows of one order and SKU add up).
    pub rows: i64,
}

/// Loads checked sales into `temp.import_sales` (no write lock needed).
pub async fn stage_sales(conn: &mut Conn, rows: &[SaleIn]) -> anyhow::Result<()> {
    stage_rows(
        conn,
        "import_sales",
        &[
            "product_id INTEGER",
            "order_number TEXT",
            "customer TEXT",
            "qty INTEGER",
            "sold_at TEXT",
            "day DATE",
            "nth INTEGER",
            "rows INTEGER",
        ],
        rows.iter().map(|r| {
            vec![
                Value::Int(Some(r.product_id.0)),
                Value::Text(r.order_number.as_deref()),
                Value::Text(r.customer.as_deref()),
                Value::Int(Some(r.qty)),
                Value::Text(Some(&r.sold_at)),
                Value::Day(Some(r.day)),
                Value::Int(Some(r.nth)),
                Value::Int(Some(r.rows)),
            ]
        }),
    )
    .await
}

/// Whether the staged row `s` is stored as it is in `sales_history` read as `h`.
const SAME_SALE: &str = "h.product_id = s.product_id AND h.qty = s.qty AND h.sold_at = s.sold_at
    AND h.customer IS NOT DISTINCT FROM s.customer AND (h.order_number = s.order_number
        OR (h.order_number IS NULL AND s.order_number IS NULL AND h.nth = s.nth))";

/// Writes the staged sales inside the write transaction: new keys inserted, stored orders whose
/// quantity, time or customer differ updated. Returns how many file rows created or changed one.
pub async fn apply_sales(conn: &mut Conn, now: DateTime<Utc>) -> anyhow::Result<usize> {
    let changed: i64 = run!(
        conn,
        sqlx::query_scalar(&format!(
            "SELECT CAST(COALESCE(SUM(s.rows), 0) AS BIGINT) FROM import_sales s
         WHERE NOT EXISTS (SELECT 1 FROM sales_history h WHERE {SAME_SALE})"
        )),
        fetch_one
    )?;
    // `WHERE true`: SQLite reads an ON CONFLICT after a bare SELECT's FROM as a join constraint.
    run!(conn, sqlx::query(
        "INSERT INTO sales_history (product_id, order_number, customer, qty, sold_at, day, nth, imported_at)
         SELECT product_id, order_number, customer, qty, sold_at, day, nth, $1 FROM import_sales
         WHERE order_number IS NOT NULL ORDER BY rid
         ON CONFLICT (order_number, product_id) WHERE order_number IS NOT NULL DO UPDATE SET
           customer = excluded.customer, qty = excluded.qty, sold_at = excluded.sold_at,
           day = excluded.day, imported_at = excluded.imported_at
         WHERE sales_history.customer IS DISTINCT FROM excluded.customer OR sales_history.qty <> excluded.qty
           OR sales_history.sold_at <> excluded.sold_at",
    )
    .bind(ts(now)), execute)?;
    run!(conn, sqlx::query(
        "INSERT INTO sales_history (product_id, order_number, customer, qty, sold_at, day, nth, imported_at)
         SELECT s.product_id, NULL, s.customer, s.qty, s.sold_at, s.day, s.nth, $1 FROM import_sales s
         WHERE s.order_number IS NULL AND NOT EXISTS (
             SELECT 1 FROM sales_history h WHERE h.order_number IS NULL
               AND h.product_id = s.product_id AND h.sold_at = s.sold_at AND h.qty = s.qty
               AND COALESCE(h.customer, '') = COALESCE(s.customer, '') AND h.nth = s.nth)
         ORDER BY s.rid",
    )
    .bind(ts(now)), execute)?;
    Ok(changed as usize)
}

/// One product's demand per day from `from` (inclusive) to `to` (exclusive), days with demand only.
pub async fn demand_of_product(
    conn: &mut Conn,
    product_id: ProductId,
    from: NaiveDate,
    to: NaiveDate,
) -> anyhow::Result<Vec<(NaiveDate, i64)>> {
    let rows: Vec<(StoredDay, i64)> = run!(
        conn,
        sqlx::query_as(
            "SELECT day, units FROM demand_daily
         WHERE product_id = $1 AND day >= $2 AND day < $3 AND units > 0 ORDER BY day",
        )
        .bind(product_id)
        .bind(day(from))
        .bind(day(to)),
        fetch_all
    )?;
    Ok(rows.into_iter().map(|(d, u)| (d.into(), u)).collect())
}

/// The last product id of the next `limit` products after id `after` (keyset on the id), or
/// `None` past the last product.
pub async fn page_end(conn: &mut Conn, after: i64, limit: i64) -> anyhow::Result<Option<i64>> {
    Ok(run!(
        conn,
        sqlx::query_scalar(
            "SELECT MAX(id) FROM (SELECT id FROM products WHERE id > $1 ORDER BY id LIMIT $2) AS page",
        )
        .bind(after)
        .bind(limit),
        fetch_one
    )?)
}

/// How much history a shop holds: its products, the (product, day) rows with demand before
/// `before`, and the highest product id.
pub async fn history_size(conn: &mut Conn, before: NaiveDate) -> anyhow::Result<(i64, i64, i64)> {
    Ok(run!(
        conn,
        sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM products),
                (SELECT COUNT(*) FROM demand_daily WHERE day < $1 AND units > 0),
                (SELECT COALESCE(MAX(id), 0) FROM products)",
        )
        .bind(day(before)),
        fetch_one
    )?)
}
