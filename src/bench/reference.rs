//! SQL text the benchmarks hand to the `sqlite3` CLI, so each figure has a side-by-side
//! reference. The bot never runs it: where a figure must compare the very statement the bot
//! runs, the text comes from the store (`store::keyset::page_sql`, `store::search::
//! word_statement`, its SQL fragments) and only its values are written in here, as literals (the
//! CLI takes no parameters).

use backorder_bot::domain::page::{KeyPart, Seek};
use backorder_bot::store::keyset::{page_sql, Source};
use backorder_bot::store::purchasing::EXPECTING_UNITS;
use backorder_bot::store::search::TrigramCounts;
use backorder_bot::store::stock::AVAILABLE;
use backorder_bot::store::Conn;

/// A SQL string literal.
fn quoted(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// The lookups `/stock` makes for one SKU key: product, position, inbound lines, backorders.
pub fn stock_lookups(sku_key: &str) -> String {
    let k = quoted(sku_key);
    let expecting = EXPECTING_UNITS;
    format!(
        "SELECT p.id, p.sku, p.name, s.code FROM products p LEFT JOIN suppliers s ON s.id = p.supplier_id WHERE p.sku_key = {k};
SELECT on_hand, allocated FROM stock_positions WHERE product_id = (SELECT id FROM products WHERE sku_key = {k});
SELECT l.id, po.po_number, l.qty_ordered, l.eta FROM po_lines l JOIN purchase_orders po ON po.id = l.po_id WHERE l.product_id = (SELECT id FROM products WHERE sku_key = {k}) AND l.status IN {expecting};
SELECT COUNT(*), COALESCE(SUM(qty - qty_allocated), 0) FROM backorders WHERE product_id = (SELECT id FROM products WHERE sku_key = {k}) AND status = 'open';
"
    )
}

/// The product columns a search hit reads.
fn hit() -> String {
    format!(
        "SELECT p.id, p.sku, p.name, {AVAILABLE} FROM products p LEFT JOIN stock_positions sp ON sp.product_id = p.id"
    )
}

/// The search by words `/search` runs for `query` (the trigrams chosen as the store's remembered
/// counts choose them), at most `cap` candidates, with its values written in; `None` when the
/// query has no word the index can look up.
pub async fn word_search(
    conn: &mut Conn,
    counts: &TrigramCounts,
    query: &str,
    cap: i64,
) -> anyhow::Result<Option<String>> {
    let q = backorder_bot::domain::search::SearchQuery::parse(query)
        .map_err(|e| anyhow::anyhow!("query {e}"))?;
    Ok(
        backorder_bot::store::search::word_statement(conn, counts, &q, cap)
            .await?
            .map(|(sql, values)| format!("{};", inline(&sql, &values))),
    )
}

/// Products whose SKU key starts with `prefix`, in key order, at most `limit`.
pub fn hits_by_sku_prefix(prefix: &str, limit: i64) -> String {
    format!(
        "{} WHERE p.sku_key >= {} AND p.sku_key < {} ORDER BY p.sku_key LIMIT {limit};",
        hit(),
        quoted(prefix),
        quoted(&format!("{prefix}~"))
    )
}

/// A scan of every name for `text` (what the trigram index replaces).
pub fn name_scan(text: &str) -> String {
    format!(
        "SELECT id FROM products WHERE name LIKE {};",
        quoted(&format!("%{text}%"))
    )
}

/// The title count of `/backorders` (open).
pub const BACKORDER_COUNT: &str =
    "SELECT COALESCE(SUM(n), 0) FROM backorder_counts WHERE status = 'open'";
/// The title count of `/pos` (still expecting units).
pub fn po_count() -> String {
    format!("SELECT COALESCE(SUM(n), 0) FROM po_counts WHERE status IN {EXPECTING_UNITS}")
}
/// The rows of a `/backorders` page once its ids are known (ten fixed ids).
pub const BACKORDER_ROWS: &str = "SELECT b.id, p.sku, c.external_id, o.order_number FROM backorders b JOIN products p ON p.id = b.product_id JOIN customers c ON c.id = b.customer_id JOIN order_lines ol ON ol.id = b.order_line_id JOIN orders o ON o.id = ol.order_id WHERE b.id IN (SELECT value FROM json_each('[1,2,3,4,5,6,7,8,9,10]'))";
/// The rows of a `/pos` page once its ids are known (ten fixed ids).
pub fn po_rows() -> String {
    format!("SELECT po.id, po.po_number, s.code, s.name, po.status, COUNT(l.id), COALESCE(SUM(CASE WHEN l.status IN {EXPECTING_UNITS} THEN l.qty_ordered - l.qty_received ELSE 0 END), 0), po.next_eta FROM purchase_orders po LEFT JOIN suppliers s ON s.id = po.supplier_id LEFT JOIN po_lines l ON l.po_id = po.id WHERE po.id IN (SELECT value FROM json_each('[1,2,3,4,5,6,7,8,9,10]')) GROUP BY po.id")
}

/// The statements one page of a list runs: its count, the keyset page, the page's rows.
pub fn page_statements(
    count_sql: &str,
    src: &Source<'_>,
    seek: &Seek,
    size: i64,
    rows_sql: &str,
) -> String {
    let (sql, binds) = page_sql(src, seek, size);
    format!("{count_sql};\n{};\n{rows_sql};", inline(&sql, &binds))
}

/// `sql` with its `$n` placeholders replaced by literals (highest first, so `$1` never eats `$10`).
fn inline(sql: &str, binds: &[KeyPart]) -> String {
    let mut out = sql.to_string();
    for (i, v) in binds.iter().enumerate().rev() {
        let literal = match v {
            KeyPart::Int(n) => n.to_string(),
            KeyPart::Real(x) => format!("{x:?}"),
            KeyPart::Text(t) => quoted(t),
        };
        out = out.replace(&format!("${}", i + 1), &literal);
    }
    out
}

/// Bytes by `dbstat`: the trigram search indexes, the list indexes, the whole database.
pub const INDEX_SIZES: &str = "SELECT SUM(CASE WHEN name LIKE 'products_fts%' OR name LIKE 'customers_fts%' THEN pgsize ELSE 0 END),
    SUM(CASE WHEN name LIKE 'backorders_%' OR name LIKE 'purchase_orders_%' THEN pgsize ELSE 0 END),
    SUM(pgsize) FROM dbstat;";

/// One order of one line that all becomes a backorder, as the ingest API writes its rows:
/// the order, its line, and the backorder with its promise. (Numbers and dates as literals.)
pub struct SpikeOrder<'a> {
    /// Order number.
    pub number: &'a str,
    /// Customer row id.
    pub customer_id: i64,
    /// Product row id.
    pub product_id: i64,
    /// Units.
    pub qty: i64,
    /// Unit price, minor units.
    pub unit_price_minor: i64,
    /// RFC 3339 time.
    pub at: &'a str,
    /// Promised date.
    pub eta: &'a str,
}

/// The rows of many [`SpikeOrder`]s in one transaction: what `bench spike` compares the ingest
/// API with.
pub fn spike_orders(orders: &[SpikeOrder<'_>]) -> String {
    let mut sql = String::from("BEGIN IMMEDIATE;\n");
    for o in orders {
        let (n, at, eta) = (quoted(o.number), quoted(o.at), quoted(o.eta));
        sql.push_str(&format!(
            "INSERT INTO orders (order_number, customer_id, ordered_at) VALUES ({n}, {c}, {at});
INSERT INTO order_lines (order_id, product_id, qty, unit_price_minor) VALUES (last_insert_rowid(), {p}, {q}, {price});
INSERT INTO backorders (order_line_id, product_id, customer_id, qty, created_at, promised_eta, eta_kind) VALUES (last_insert_rowid(), {p}, {c}, {q}, {at}, {eta}, 'confirmed');
",
            c = o.customer_id,
            p = o.product_id,
            q = o.qty,
            price = o.unit_price_minor,
        ));
    }
    sql.push_str("COMMIT;\n");
    sql
}
