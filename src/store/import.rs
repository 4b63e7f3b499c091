//! Set-based import of products: rows are staged in temporary tables outside the write lock,
//! then applied with a handful of `INSERT … SELECT` / `UPDATE … FROM` statements.
//!
//! Temporary tables belong to one connection, so [`stage_products`] and [`apply_products`] must
//! run on the same connection (the apply inside a write transaction begun on it).

use super::{ts, Conn};
use chrono::{DateTime, Utc};

/// A checked product row of a file.
#[derive(Debug, Clone, PartialEq)]
pub struct ProductIn {
    /// Line in the file, for error messages.
    pub line: i64,
    /// Shop's spelling.
    pub sku: String,
    pub name: String,
    pub category: String,
    pub unit_price_minor: i64,
    /// Counted stock; `None` leaves on-hand alone.
    pub on_hand: Option<i64>,
    pub reorder_point: i64,
    pub safety_stock: i64,
    pub reorder_qty: i64,
    pub lead_time_days: Option<i64>,
    pub supplier_id: Option<i64>,
    /// Upper-case keys of the substitutes (every one known: checked before staging).
    pub substitutes: Vec<String>,
}

/// A product whose counted stock is below what is already allocated.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct BelowAllocated {
    pub line: i64,
    pub on_hand: i64,
    pub allocated: i64,
}

/// What applying staged products did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProductsApplied {
    /// Rows that created or changed a product, its stock or its substitutes.
    pub changed: usize,
    /// Products whose on-hand moved and that have open backorders (to be settled).
    pub restocked_with_backorders: Vec<i64>,
}

/// Rows per multi-row `INSERT` (13 parameters each, under SQLite's 32,766-parameter limit).
const CHUNK: usize = 2000;

/// Drops the staging tables of this connection, if any.
pub async fn clear(conn: &mut Conn) -> anyhow::Result<()> {
    for t in [
        "import_products",
        "import_substitutes",
        "import_pairs",
        "import_subs_changed",
    ] {
        sqlx::query(&format!("DROP TABLE IF EXISTS temp.{t}"))
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Loads checked rows into temporary tables; writes nothing to the database itself, so it
/// needs no write lock.
pub async fn stage_products(conn: &mut Conn, rows: &[ProductIn]) -> anyhow::Result<()> {
    clear(conn).await?;
    // `pid` etc. are filled inside the write transaction; a rowid table in file order.
    sqlx::query(
        "CREATE TEMP TABLE import_products (
            line INTEGER NOT NULL, sku TEXT NOT NULL, sku_key TEXT NOT NULL, name TEXT NOT NULL,
            category TEXT NOT NULL, unit_price_minor INTEGER NOT NULL, on_hand INTEGER,
            reorder_point INTEGER NOT NULL, safety_stock INTEGER NOT NULL,
            reorder_qty INTEGER NOT NULL, lead_time_days INTEGER, supplier_id INTEGER,
            pid INTEGER, cur_on_hand INTEGER, allocated INTEGER, has_position INTEGER,
            changed INTEGER NOT NULL DEFAULT 0)",
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "CREATE TEMP TABLE import_substitutes (prod_key TEXT NOT NULL, sub_key TEXT NOT NULL)",
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "CREATE TEMP TABLE import_pairs (product_id INTEGER NOT NULL, substitute_id INTEGER NOT NULL,
            PRIMARY KEY (product_id, substitute_id))",
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query("CREATE TEMP TABLE import_subs_changed (product_id INTEGER PRIMARY KEY)")
        .execute(&mut *conn)
        .await?;
    let keys: Vec<String> = rows.iter().map(|r| r.sku.to_ascii_uppercase()).collect();
    for (chunk, keys) in rows.chunks(CHUNK).zip(keys.chunks(CHUNK)) {
        let mut sql = String::from(
            "INSERT INTO import_products (line, sku, sku_key, name, category, unit_price_minor,
                on_hand, reorder_point, safety_stock, reorder_qty, lead_time_days, supplier_id) VALUES ",
        );
        values_list(&mut sql, chunk.len(), 12);
        let mut q = sqlx::query(&sql);
        for (r, key) in chunk.iter().zip(keys) {
            q = q
                .bind(r.line)
                .bind(r.sku.as_str())
                .bind(key.as_str())
                .bind(r.name.as_str())
                .bind(r.category.as_str())
                .bind(r.unit_price_minor)
                .bind(r.on_hand)
                .bind(r.reorder_point)
                .bind(r.safety_stock)
                .bind(r.reorder_qty)
                .bind(r.lead_time_days)
                .bind(r.supplier_id);
        }
        q.execute(&mut *conn).await?;
    }
    let pairs: Vec<(&str, &str)> = rows
        .iter()
        .zip(&keys)
        .flat_map(|(r, k)| r.substitutes.iter().map(move |s| (k.as_str(), s.as_str())))
        .collect();
    for chunk in pairs.chunks(CHUNK) {
        let mut sql = String::from("INSERT INTO import_substitutes (prod_key, sub_key) VALUES ");
        values_list(&mut sql, chunk.len(), 2);
        let mut q = sqlx::query(&sql);
        for (p, s) in chunk {
            q = q.bind(*p).bind(*s);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Appends `(?, ?, …), (…)` for `rows` rows of `cols` parameters.
fn values_list(sql: &mut String, rows: usize, cols: usize) {
    let one = format!("({})", vec!["?"; cols].join(", "));
    sql.push_str(&vec![one; rows].join(", "));
}

/// Reads what the staged rows would change, inside the write transaction: existing products and
/// their stock. Returns the rows whose counted stock is below what is allocated; when there are
/// none, [`apply_products`] may follow.
pub async fn check_products(conn: &mut Conn) -> anyhow::Result<Vec<BelowAllocated>> {
    sqlx::query(
        "UPDATE import_products SET (pid, cur_on_hand, allocated, has_position, changed) = (
            SELECT p.id, COALESCE(sp.on_hand, 0), COALESCE(sp.allocated, 0), sp.product_id IS NOT NULL,
                p.sku IS NOT import_products.sku OR p.name IS NOT import_products.name
                OR p.category IS NOT import_products.category
                OR p.unit_price_minor IS NOT import_products.unit_price_minor
                OR p.reorder_point IS NOT import_products.reorder_point
                OR p.safety_stock IS NOT import_products.safety_stock
                OR p.reorder_qty IS NOT import_products.reorder_qty
                OR p.lead_time_days IS NOT import_products.lead_time_days
                OR p.supplier_id IS NOT import_products.supplier_id
            FROM products p LEFT JOIN stock_positions sp ON sp.product_id = p.id
            WHERE p.sku_key = import_products.sku_key)
         WHERE EXISTS (SELECT 1 FROM products p WHERE p.sku_key = import_products.sku_key)",
    )
    .execute(&mut *conn)
    .await?;
    Ok(sqlx::query_as(
        "SELECT line, on_hand, allocated FROM import_products
         WHERE pid IS NOT NULL AND on_hand IS NOT NULL AND on_hand <> cur_on_hand AND on_hand < allocated
         ORDER BY line",
    )
    .fetch_all(&mut *conn)
    .await?)
}

/// Writes the staged products after [`check_products`]: changed products updated, new ones
/// inserted with an empty position, one ledger adjustment per changed on-hand, substitutes
/// replaced where they differ.
pub async fn apply_products(
    conn: &mut Conn,
    actor: &str,
    at: DateTime<Utc>,
) -> anyhow::Result<ProductsApplied> {
    // New products get ids after the current largest, offset by their staging row, so later
    // statements know them without looking each one up again. (SQLite: explicit INTEGER PRIMARY
    // KEY values; PostgreSQL would draw them from the sequence.)
    let base: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM products")
        .fetch_one(&mut *conn)
        .await?;
    let id = "COALESCE(s.pid, $1 + s.rowid)";
    sqlx::query(
        "UPDATE products SET sku = s.sku, name = s.name, category = s.category,
            unit_price_minor = s.unit_price_minor, reorder_point = s.reorder_point,
            safety_stock = s.safety_stock, reorder_qty = s.reorder_qty,
            lead_time_days = s.lead_time_days, supplier_id = s.supplier_id
         FROM import_products s WHERE s.pid = products.id AND s.changed",
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO products (id, sku, sku_key, name, category, unit_price_minor, reorder_point,
            safety_stock, reorder_qty, lead_time_days, supplier_id)
         SELECT $1 + s.rowid, s.sku, s.sku_key, s.name, s.category, s.unit_price_minor,
            s.reorder_point, s.safety_stock, s.reorder_qty, s.lead_time_days, s.supplier_id
         FROM import_products s WHERE s.pid IS NULL ORDER BY s.rowid",
    )
    .bind(base)
    .execute(&mut *conn)
    .await?;
    // A new product starts at its counted stock (the ledger row below says why).
    sqlx::query(
        "INSERT INTO stock_positions (product_id, on_hand)
         SELECT $1 + s.rowid, COALESCE(s.on_hand, 0) FROM import_products s WHERE s.pid IS NULL
         UNION ALL
         SELECT s.pid, 0 FROM import_products s WHERE s.pid IS NOT NULL AND NOT s.has_position",
    )
    .bind(base)
    .execute(&mut *conn)
    .await?;
    sqlx::query(&format!(
        "INSERT INTO stock_movements (product_id, kind, qty, actor, reason, reference, created_at)
         SELECT {id}, 'adjustment', s.on_hand - COALESCE(s.cur_on_hand, 0), $2, 'import: on_hand', NULL, $3
         FROM import_products s
         WHERE s.on_hand IS NOT NULL AND s.on_hand <> COALESCE(s.cur_on_hand, 0) ORDER BY s.rowid"
    ))
    .bind(base)
    .bind(actor)
    .bind(ts(at))
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE stock_positions SET on_hand = s.on_hand FROM import_products s
         WHERE s.pid = stock_positions.product_id AND s.on_hand IS NOT NULL AND s.on_hand <> s.cur_on_hand",
    )
    .execute(&mut *conn)
    .await?;
    // The file's substitutes replace the stored ones (an empty cell clears them).
    sqlx::query(
        "INSERT INTO import_pairs (product_id, substitute_id)
         SELECT p.id, q.id FROM import_substitutes x
         JOIN products p ON p.sku_key = x.prod_key JOIN products q ON q.sku_key = x.sub_key
         WHERE q.id <> p.id
         ON CONFLICT DO NOTHING",
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO import_subs_changed (product_id)
         SELECT ps.product_id FROM import_products s
         JOIN product_substitutes ps ON ps.product_id = s.pid
         WHERE NOT EXISTS (SELECT 1 FROM import_pairs ip
            WHERE ip.product_id = ps.product_id AND ip.substitute_id = ps.substitute_id)
         UNION
         SELECT ip.product_id FROM import_pairs ip
         WHERE NOT EXISTS (SELECT 1 FROM product_substitutes ps
            WHERE ps.product_id = ip.product_id AND ps.substitute_id = ip.substitute_id)",
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "DELETE FROM product_substitutes
         WHERE product_id IN (SELECT product_id FROM import_subs_changed)
           AND NOT EXISTS (SELECT 1 FROM import_pairs ip
            WHERE ip.product_id = product_substitutes.product_id
              AND ip.substitute_id = product_substitutes.substitute_id)",
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "INSERT INTO product_substitutes (product_id, substitute_id)
         SELECT product_id, substitute_id FROM import_pairs WHERE true
         ON CONFLICT DO NOTHING",
    )
    .execute(&mut *conn)
    .await?;
    let changed: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM import_products s
         WHERE s.pid IS NULL OR s.changed OR (s.on_hand IS NOT NULL AND s.on_hand <> s.cur_on_hand)
            OR s.pid IN (SELECT product_id FROM import_subs_changed)",
    )
    .fetch_one(&mut *conn)
    .await?;
    let restocked_with_backorders = sqlx::query_scalar(
        "SELECT DISTINCT b.product_id FROM backorders b
         WHERE b.status = 'open' AND b.product_id IN (
            SELECT s.pid FROM import_products s
            WHERE s.pid IS NOT NULL AND s.on_hand IS NOT NULL AND s.on_hand <> s.cur_on_hand)
         ORDER BY b.product_id",
    )
    .fetch_all(&mut *conn)
    .await?;
    Ok(ProductsApplied {
        changed: changed as usize,
        restocked_with_backorders,
    })
}

/// Whether the database holds no rows at all (demo data may only go into such a one).
pub async fn database_is_empty(conn: &mut Conn) -> anyhow::Result<bool> {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_schema WHERE type = 'table'
         AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_sqlx_%' ORDER BY name",
    )
    .fetch_all(&mut *conn)
    .await?;
    for t in tables {
        let any: bool = sqlx::query_scalar(&format!("SELECT EXISTS (SELECT 1 FROM \"{t}\")"))
            .fetch_one(&mut *conn)
            .await?;
        if any {
            return Ok(false);
        }
    }
    Ok(true)
}
