//! Set-based import of products: rows are staged in temporary tables outside the write lock,
//! then applied with a handful of `INSERT … SELECT` / `UPDATE … FROM` statements.
//!
//! Temporary tables belong to one connection, so [`stage_products`] and [`apply_products`] must
//! run on the same connection (the apply inside a write transaction begun on it).

use super::types::sql_word;
use super::{ts, Conn};
use crate::domain::{CustomerId, PoLineId, PoStatus, ProductId, PurchaseOrderId, SupplierId};
use crate::store::run;
use chrono::{DateTime, NaiveDate, Utc};

/// A checked product row of a file.
#[derive(Debug, Clone, PartialEq)]
pub struct ProductIn {
    /// Line in the file, for error messages.
    pub line: i64,
    /// Shop's spelling.
    pub sku: String,
    /// Upper-case key.
    pub sku_key: String,
    pub name: String,
    pub category: String,
    pub unit_price_minor: i64,
    /// Counted stock; `None` leaves on-hand alone.
    pub on_hand: Option<i64>,
    pub reorder_point: i64,
    pub safety_stock: i64,
    pub reorder_qty: i64,
    pub lead_time_days: Option<i64>,
    pub supplier_id: Option<SupplierId>,
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
    pub restocked_with_backorders: Vec<ProductId>,
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
        "import_sales",
        "import_discount_codes",
    ] {
        run!(
            conn,
            sqlx::query(&format!("DROP TABLE IF EXISTS {t}")),
            execute
        )?;
    }
    Ok(())
}

/// Creates this connection's empty staging tables for products (dropping earlier ones); writes
/// nothing to the database itself, so it needs no write lock.
pub async fn begin_products(conn: &mut Conn) -> anyhow::Result<()> {
    clear(conn).await?;
    // `pid` etc. are filled inside the write transaction; a rowid table in file order.
    create_staging(
        conn,
        "import_products",
        "line INTEGER NOT NULL, sku TEXT NOT NULL, sku_key TEXT NOT NULL, name TEXT NOT NULL,
            category TEXT NOT NULL, unit_price_minor INTEGER NOT NULL, on_hand INTEGER,
            reorder_point INTEGER NOT NULL, safety_stock INTEGER NOT NULL,
            reorder_qty INTEGER NOT NULL, lead_time_days INTEGER, supplier_id INTEGER,
            pid INTEGER, cur_on_hand INTEGER, allocated INTEGER, has_position BOOLEAN,
            changed BOOLEAN NOT NULL DEFAULT FALSE",
    )
    .await?;
    create_staging(
        conn,
        "import_substitutes",
        "prod_key TEXT NOT NULL, sub_key TEXT NOT NULL",
    )
    .await?;
    create_staging(
        conn,
        "import_pairs",
        "product_id INTEGER NOT NULL, substitute_id INTEGER NOT NULL,
            UNIQUE (product_id, substitute_id)",
    )
    .await?;
    create_staging(conn, "import_subs_changed", "product_id INTEGER UNIQUE").await?;
    Ok(())
}

/// Appends checked rows, in file order, to the staging tables made by [`begin_products`]. On
/// SQLite the rows are moved into the statement (the driver would otherwise copy every text
/// value); PostgreSQL loads them with `COPY` ([`load_staging`]).
pub async fn stage_products(conn: &mut Conn, rows: Vec<ProductIn>) -> anyhow::Result<()> {
    if conn.is_postgres() {
        return copy_products(conn, &rows).await;
    }
    let pairs: Vec<(String, String)> = rows
        .iter()
        .flat_map(|r| {
            r.substitutes
                .iter()
                .map(move |s| (r.sku_key.clone(), s.clone()))
        })
        .collect();
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<ProductIn> = rows.by_ref().take(CHUNK).collect();
        let mut sql = String::from(
            "INSERT INTO import_products (line, sku, sku_key, name, category, unit_price_minor,
                on_hand, reorder_point, safety_stock, reorder_qty, lead_time_days, supplier_id) VALUES ",
        );
        values_list(&mut sql, chunk.len(), 12);
        run!(
            conn,
            {
                let mut q = sqlx::query(&sql);
                for r in chunk {
                    q = q
                        .bind(r.line)
                        .bind(r.sku)
                        .bind(r.sku_key)
                        .bind(r.name)
                        .bind(r.category)
                        .bind(r.unit_price_minor)
                        .bind(r.on_hand)
                        .bind(r.reorder_point)
                        .bind(r.safety_stock)
                        .bind(r.reorder_qty)
                        .bind(r.lead_time_days)
                        .bind(r.supplier_id);
                }
                q
            },
            execute
        )?;
    }
    for chunk in pairs.chunks(CHUNK) {
        let mut sql = String::from("INSERT INTO import_substitutes (prod_key, sub_key) VALUES ");
        values_list(&mut sql, chunk.len(), 2);
        run!(
            conn,
            {
                let mut q = sqlx::query(&sql);
                for (p, s) in chunk {
                    q = q.bind(p.as_str()).bind(s.as_str());
                }
                q
            },
            execute
        )?;
    }
    Ok(())
}

/// [`stage_products`] on PostgreSQL: the rows go through [`load_staging`] (`COPY`).
async fn copy_products(conn: &mut Conn, rows: &[ProductIn]) -> anyhow::Result<()> {
    load_staging(
        conn,
        "import_products",
        &[
            "line",
            "sku",
            "sku_key",
            "name",
            "category",
            "unit_price_minor",
            "on_hand",
            "reorder_point",
            "safety_stock",
            "reorder_qty",
            "lead_time_days",
            "supplier_id",
        ],
        rows.iter().map(|r| {
            vec![
                Value::Int(Some(r.line)),
                Value::Text(Some(&r.sku)),
                Value::Text(Some(&r.sku_key)),
                Value::Text(Some(&r.name)),
                Value::Text(Some(&r.category)),
                Value::Int(Some(r.unit_price_minor)),
                Value::Int(r.on_hand),
                Value::Int(Some(r.reorder_point)),
                Value::Int(Some(r.safety_stock)),
                Value::Int(Some(r.reorder_qty)),
                Value::Int(r.lead_time_days),
                Value::Int(r.supplier_id.map(|s| s.0)),
            ]
        }),
    )
    .await?;
    load_staging(
        conn,
        "import_substitutes",
        &["prod_key", "sub_key"],
        rows.iter().flat_map(|r| {
            r.substitutes
                .iter()
                .map(|sub| vec![Value::Text(Some(&r.sku_key)), Value::Text(Some(sub))])
        }),
    )
    .await
}

/// Appends rows to the staging table `table` (made by [`create_staging`]), in order: the one
/// place the engines load staging tables differently. SQLite: multi-row `INSERT`s of bound
/// values. PostgreSQL: one `COPY … FROM STDIN` in text format (no statement to parse and plan
/// per chunk, no parameter limit), sent in chunks of about a megabyte.
async fn load_staging<'a>(
    conn: &mut Conn,
    table: &str,
    columns: &[&str],
    rows: impl Iterator<Item = Vec<Value<'a>>>,
) -> anyhow::Result<()> {
    let super::Engine::Postgres(pg) = conn.engine() else {
        return insert_staging(conn, table, columns, rows.collect()).await;
    };
    const SEND_BYTES: usize = 1 << 20;
    let mut copy = pg
        .copy_in_raw(&format!("COPY {table} ({}) FROM STDIN", columns.join(", ")))
        .await?;
    let mut buffer = String::with_capacity(SEND_BYTES + 4096);
    let mut loaded = Ok(());
    for row in rows {
        if let Err(e) = copy_line(&row, &mut buffer) {
            loaded = Err(e);
            break;
        }
        if buffer.len() >= SEND_BYTES {
            if let Err(e) = copy.send(buffer.as_bytes()).await {
                loaded = Err(e.into());
                break;
            }
            buffer.clear();
        }
    }
    if let Err(e) = loaded {
        let _ = copy.abort("staging rows failed").await;
        return Err(e.context(format!("cannot load staging table {table}")));
    }
    if !buffer.is_empty() {
        copy.send(buffer.as_bytes()).await?;
    }
    copy.finish().await?;
    Ok(())
}

/// [`load_staging`] on SQLite: multi-row `INSERT`s, under SQLite's 32,766-parameter limit.
async fn insert_staging(
    conn: &mut Conn,
    table: &str,
    columns: &[&str],
    rows: Vec<Vec<Value<'_>>>,
) -> anyhow::Result<()> {
    let per_chunk = 30_000 / columns.len().max(1);
    for chunk in rows.chunks(per_chunk) {
        let mut sql = format!("INSERT INTO {table} ({}) VALUES ", columns.join(", "));
        values_list(&mut sql, chunk.len(), columns.len());
        run!(
            conn,
            {
                let mut q = sqlx::query(&sql);
                for row in chunk {
                    for v in row {
                        q = match v {
                            Value::Text(s) => q.bind(*s),
                            Value::Int(i) => q.bind(*i),
                            Value::Bool(b) => q.bind(*b),
                            Value::Day(d) => q.bind(d.map(super::day)),
                            Value::Ts(t) => q.bind(t.map(ts)),
                        };
                    }
                }
                q
            },
            execute
        )?;
    }
    Ok(())
}

/// One row of `COPY`'s text format: cells separated by tabs, `\N` for NULL.
fn copy_line(row: &[Value<'_>], out: &mut String) -> anyhow::Result<()> {
    use std::fmt::Write;
    for (i, v) in row.iter().enumerate() {
        if i > 0 {
            out.push('\t');
        }
        match v {
            Value::Text(Some(s)) => super::copy_to::escape(s, out)?,
            Value::Int(Some(n)) => write!(out, "{n}")?,
            Value::Bool(Some(b)) => out.push(if *b { 't' } else { 'f' }),
            Value::Day(Some(d)) => write!(out, "{}", super::day(*d))?,
            Value::Ts(Some(t)) => write!(out, "{}", ts(*t))?,
            Value::Text(None)
            | Value::Int(None)
            | Value::Bool(None)
            | Value::Day(None)
            | Value::Ts(None) => out.push_str("\\N"),
        }
    }
    out.push('\n');
    Ok(())
}

/// Appends `(?, ?, …), (…)` for `rows` rows of `cols` parameters.
fn values_list(sql: &mut String, rows: usize, cols: usize) {
    let mut n = 0;
    let all: Vec<String> = (0..rows)
        .map(|_| {
            let one: Vec<String> = (0..cols)
                .map(|_| {
                    n += 1;
                    format!("${n}")
                })
                .collect();
            format!("({})", one.join(", "))
        })
        .collect();
    sql.push_str(&all.join(", "));
}

/// `$1, $2, …, $n`: a list of `n` parameters.
fn params(n: usize) -> String {
    (1..=n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Creates this connection's staging table `name` (dropping an earlier one) with `columns`,
/// spelled as SQLite spells them, plus `rid`, the row's place in the file (SQLite: the rowid;
/// PostgreSQL: an identity, counting from 1 in insert order as the rowid does). On PostgreSQL
/// `INTEGER` is `bigint` (the store binds and reads 64-bit integers) and `TIMESTAMP`
/// `timestamptz`; on SQLite `TIMESTAMP` and `DATE` hold the store's text forms. The one place
/// the two engines' staging tables differ.
async fn create_staging(conn: &mut Conn, name: &str, columns: &str) -> anyhow::Result<()> {
    run!(
        conn,
        sqlx::query(&format!("DROP TABLE IF EXISTS {name}")),
        execute
    )?;
    let sql = if conn.is_postgres() {
        let columns = columns
            .replace("INTEGER", "BIGINT")
            .replace("TIMESTAMP", "TIMESTAMPTZ");
        format!(
            "CREATE TEMP TABLE {name} (rid BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, \
             {columns})"
        )
    } else {
        let columns = columns.replace("TIMESTAMP", "TEXT").replace("DATE", "TEXT");
        format!("CREATE TEMP TABLE {name} (rid INTEGER PRIMARY KEY, {columns})")
    };
    run!(conn, sqlx::query(&sql), execute)?;
    Ok(())
}

/// Reads what the staged rows would change, inside the write transaction: existing products and
/// their stock. Returns the rows whose counted stock is below what is allocated; when there are
/// none, [`apply_products`] may follow.
pub async fn check_products(conn: &mut Conn) -> anyhow::Result<Vec<BelowAllocated>> {
    run!(
        conn,
        sqlx::query(
            "UPDATE import_products SET pid = p.id, cur_on_hand = COALESCE(sp.on_hand, 0),
            allocated = COALESCE(sp.allocated, 0), has_position = sp.product_id IS NOT NULL,
            changed = p.sku IS DISTINCT FROM import_products.sku OR p.name IS DISTINCT FROM import_products.name
                OR p.category IS DISTINCT FROM import_products.category
                OR p.unit_price_minor IS DISTINCT FROM import_products.unit_price_minor
                OR p.reorder_point IS DISTINCT FROM import_products.reorder_point
                OR p.safety_stock IS DISTINCT FROM import_products.safety_stock
                OR p.reorder_qty IS DISTINCT FROM import_products.reorder_qty
                OR p.lead_time_days IS DISTINCT FROM import_products.lead_time_days
                OR p.supplier_id IS DISTINCT FROM import_products.supplier_id
         FROM products p LEFT JOIN stock_positions sp ON sp.product_id = p.id
         WHERE p.sku_key = import_products.sku_key",
        ),
        execute
    )?;
    Ok(run!(conn, sqlx::query_as(
        "SELECT line, on_hand, allocated FROM import_products
         WHERE pid IS NOT NULL AND on_hand IS NOT NULL AND on_hand <> cur_on_hand AND on_hand < allocated
         ORDER BY line",
    ), fetch_all)?)
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
    // statements know them without looking each one up again.
    let base: i64 = run!(
        conn,
        sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM products"),
        fetch_one
    )?;
    let id = "COALESCE(s.pid, $1 + s.rid)";
    run!(
        conn,
        sqlx::query(
            "UPDATE products SET sku = s.sku, name = s.name, category = s.category,
            unit_price_minor = s.unit_price_minor, reorder_point = s.reorder_point,
            safety_stock = s.safety_stock, reorder_qty = s.reorder_qty,
            lead_time_days = s.lead_time_days, supplier_id = s.supplier_id
         FROM import_products s WHERE s.pid = products.id AND s.changed",
        ),
        execute
    )?;
    // New products are indexed for search by one statement after they are all in, not row by
    // row by the insert trigger (see migrations/sqlite/0012_bulk_search_index.sql); the flag is back
    // to 0 before this transaction can commit.
    defer_search_index(conn, true).await?;
    // When a large file (`BULK_ROWS` new products or more) at least doubles the catalogue, the
    // secondary indexes of `products` are dropped and built again after the insert (a sort
    // instead of a million scattered index inserts), inside this transaction: other
    // connections never see them missing. Not for small files, where it saves nothing: after a
    // commit that dropped and built them again, another connection's next `DELETE FROM
    // products` sometimes failed with "no such table: products" (the search property test
    // deletes products; the app never does).
    let new_rows: i64 = run!(
        conn,
        sqlx::query_scalar("SELECT COUNT(*) FROM import_products WHERE pid IS NULL"),
        fetch_one
    )?;
    let bulk_sqlite = !conn.is_postgres();
    let rebuilt = if bulk_sqlite && new_rows > base && new_rows >= BULK_ROWS {
        drop_secondary_indexes(conn, "products").await?
    } else {
        Vec::new()
    };
    // Many rows: the per-row triggers whose work this function does (search index; held off
    // by the flag above, it would still run once per row to read it) or that act on none of
    // its rows (the ledger's sales totals: it writes adjustments) are dropped until the end.
    let suspended = if bulk_sqlite && new_rows >= BULK_ROWS {
        suspend_triggers(
            conn,
            &["products_fts_insert", "stock_movements_sales_insert"],
        )
        .await?
    } else {
        Vec::new()
    };
    run!(conn, sqlx::query(
        "INSERT INTO products (id, sku, sku_key, name, category, unit_price_minor, reorder_point,
            safety_stock, reorder_qty, lead_time_days, supplier_id)
         SELECT $1 + s.rid, s.sku, s.sku_key, s.name, s.category, s.unit_price_minor,
            s.reorder_point, s.safety_stock, s.reorder_qty, s.lead_time_days, s.supplier_id
         FROM import_products s WHERE s.pid IS NULL ORDER BY s.rid",
    )
    .bind(base), execute)?;
    super::continue_ids(conn, "products").await?;
    for sql in rebuilt {
        run!(conn, sqlx::query(&sql), execute)?;
    }
    index_new_products(conn, base).await?;
    defer_search_index(conn, false).await?;
    // A new product starts at its counted stock (the ledger row below says why).
    run!(
        conn,
        sqlx::query(
            "INSERT INTO stock_positions (product_id, on_hand)
         SELECT $1 + s.rid, COALESCE(s.on_hand, 0) FROM import_products s WHERE s.pid IS NULL
         UNION ALL
         SELECT s.pid, 0 FROM import_products s WHERE s.pid IS NOT NULL AND NOT s.has_position",
        )
        .bind(base),
        execute
    )?;
    run!(conn, sqlx::query(&format!(
        "INSERT INTO stock_movements (product_id, kind, qty, actor, reason, reference, created_at)
         SELECT {id}, 'adjustment', s.on_hand - COALESCE(s.cur_on_hand, 0), $2, 'import: on_hand', NULL, $3
         FROM import_products s
         WHERE s.on_hand IS NOT NULL AND s.on_hand <> COALESCE(s.cur_on_hand, 0) ORDER BY s.rid"
    ))
    .bind(base)
    .bind(actor)
    .bind(ts(at)), execute)?;
    for sql in suspended {
        run!(conn, sqlx::query(&sql), execute)?;
    }
    run!(conn, sqlx::query(
        "UPDATE stock_positions SET on_hand = s.on_hand FROM import_products s
         WHERE s.pid = stock_positions.product_id AND s.on_hand IS NOT NULL AND s.on_hand <> s.cur_on_hand",
    ), execute)?;
    // The file's substitutes replace the stored ones (an empty cell clears them).
    run!(
        conn,
        sqlx::query(
            "INSERT INTO import_pairs (product_id, substitute_id)
         SELECT p.id, q.id FROM import_substitutes x
         JOIN products p ON p.sku_key = x.prod_key JOIN products q ON q.sku_key = x.sub_key
         WHERE q.id <> p.id
         ON CONFLICT DO NOTHING",
        ),
        execute
    )?;
    run!(
        conn,
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
        ),
        execute
    )?;
    run!(
        conn,
        sqlx::query(
            "DELETE FROM product_substitutes
         WHERE product_id IN (SELECT product_id FROM import_subs_changed)
           AND NOT EXISTS (SELECT 1 FROM import_pairs ip
            WHERE ip.product_id = product_substitutes.product_id
              AND ip.substitute_id = product_substitutes.substitute_id)",
        ),
        execute
    )?;
    run!(
        conn,
        sqlx::query(
            "INSERT INTO product_substitutes (product_id, substitute_id)
         SELECT product_id, substitute_id FROM import_pairs WHERE true
         ON CONFLICT DO NOTHING",
        ),
        execute
    )?;
    let changed: i64 = run!(
        conn,
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM import_products s
         WHERE s.pid IS NULL OR s.changed OR (s.on_hand IS NOT NULL AND s.on_hand <> s.cur_on_hand)
            OR s.pid IN (SELECT product_id FROM import_subs_changed)",
        ),
        fetch_one
    )?;
    let restocked_with_backorders = run!(
        conn,
        sqlx::query_scalar(concat!(
            "SELECT DISTINCT b.product_id FROM backorders b
         WHERE b.status = ",
            sql_word!(backorder open),
            " AND b.product_id IN (
            SELECT s.pid FROM import_products s
            WHERE s.pid IS NOT NULL AND s.on_hand IS NOT NULL AND s.on_hand <> s.cur_on_hand)
         ORDER BY b.product_id"
        )),
        fetch_all
    )?;
    Ok(ProductsApplied {
        changed: changed as usize,
        restocked_with_backorders,
    })
}

/// SQLite: holds the per-row search-index trigger off (`on`) while new products go in, and lets
/// it run again (see migrations/sqlite/0012_bulk_search_index.sql). PostgreSQL's `pg_trgm`
/// indexes are kept by the table's own indexes: nothing to do.
async fn defer_search_index(conn: &mut Conn, on: bool) -> anyhow::Result<()> {
    if let super::Engine::Sqlite(c) = conn.engine() {
        sqlx::query("UPDATE search_sync SET deferred = $1 WHERE id = 1")
            .bind(on)
            .execute(c)
            .await?;
    }
    Ok(())
}

/// SQLite: indexes the new products (ids `base + rid`) for search in one statement, from the
/// staging table (in memory) rather than the rows just written: the same ids. PostgreSQL:
/// nothing to do (see [`defer_search_index`]).
async fn index_new_products(conn: &mut Conn, base: i64) -> anyhow::Result<()> {
    if let super::Engine::Sqlite(c) = conn.engine() {
        sqlx::query(
            "INSERT INTO products_fts (rowid, sku, name)
             SELECT $1 + s.rid, s.sku, s.name FROM import_products s WHERE s.pid IS NULL
             ORDER BY s.rid",
        )
        .bind(base)
        .execute(c)
        .await?;
    }
    Ok(())
}

/// Drops the plain (non-unique, named) indexes of `table`; returns the statements that build
/// them again. Unique indexes stay: they check the insert.
async fn drop_secondary_indexes(conn: &mut Conn, table: &str) -> anyhow::Result<Vec<String>> {
    let indexes: Vec<(String, String)> = run!(
        conn,
        sqlx::query_as(
            "SELECT s.name, s.sql FROM sqlite_schema s
         JOIN pragma_index_list($1) il ON il.name = s.name
         WHERE s.type = 'index' AND s.sql IS NOT NULL AND il.\"unique\" = 0 AND il.partial = 0",
        )
        .bind(table),
        fetch_all
    )?;
    let mut rebuild = Vec::with_capacity(indexes.len());
    for (name, sql) in indexes {
        run!(
            conn,
            sqlx::query(&format!("DROP INDEX \"{}\"", name.replace('"', "\"\""))),
            execute
        )?;
        rebuild.push(sql);
    }
    Ok(rebuild)
}

/// New products from which an import suspends the per-row triggers it does the work of
/// (below this, running them costs less than dropping and creating them again).
const BULK_ROWS: i64 = 5_000;

/// Drops the named triggers inside the caller's write transaction (other connections never see
/// them missing) and returns the statements that create them again, to run before the
/// transaction ends. The caller does, set-based, what they would have done row by row, or
/// writes no row they act on. A trigger not found (renamed by a later migration) is simply
/// left to run: that costs time, never correctness. (SQLite-only: `sqlite_schema`.)
async fn suspend_triggers(conn: &mut Conn, names: &[&str]) -> anyhow::Result<Vec<String>> {
    let mut create = Vec::with_capacity(names.len());
    for name in names {
        let sql: Option<String> = run!(
            conn,
            sqlx::query_scalar(
                "SELECT sql FROM sqlite_schema WHERE type = 'trigger' AND name = $1",
            )
            .bind(name),
            fetch_optional
        )?;
        if let Some(sql) = sql {
            run!(
                conn,
                sqlx::query(&format!("DROP TRIGGER \"{}\"", name.replace('"', "\"\""))),
                execute
            )?;
            create.push(sql);
        }
    }
    Ok(create)
}

/// How many of each thing a shop holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ShopCounts {
    pub suppliers: i64,
    pub products: i64,
    pub customers: i64,
    pub purchase_orders: i64,
    pub po_lines: i64,
    pub orders: i64,
    pub backorders: i64,
    /// Customer updates waiting to be sent.
    pub queued_updates: i64,
}

/// Counts what the shop holds.
pub async fn shop_counts(conn: &mut Conn) -> anyhow::Result<ShopCounts> {
    let row: (i64, i64, i64, i64, i64, i64, i64, i64) = run!(
        conn,
        sqlx::query_as(concat!(
            "SELECT (SELECT COUNT(*) FROM suppliers), (SELECT COUNT(*) FROM products),
                (SELECT COUNT(*) FROM customers), (SELECT COUNT(*) FROM purchase_orders),
                (SELECT COUNT(*) FROM po_lines), (SELECT COUNT(*) FROM orders),
                (SELECT COUNT(*) FROM backorders),
                (SELECT COUNT(*) FROM outbox WHERE status IN ",
            sql_word!(outbox unsent),
            ")"
        )),
        fetch_one
    )?;
    Ok(ShopCounts {
        suppliers: row.0,
        products: row.1,
        customers: row.2,
        purchase_orders: row.3,
        po_lines: row.4,
        orders: row.5,
        backorders: row.6,
        queued_updates: row.7,
    })
}

/// Whether the database holds no rows at all (demo data may only go into such a one). Every
/// table counts, including ones later migrations add; only the migration bookkeeping does not.
pub async fn database_is_empty(conn: &mut Conn) -> anyhow::Result<bool> {
    // Ordinary tables only: the search indexes' virtual and shadow tables hold bookkeeping
    // rows even when empty, and `priority_weights` and `search_sync` are bookkeeping, not
    // data. (SQLite-only.)
    let sql = super::dialect!(conn,
        sqlite: "SELECT name FROM pragma_table_list WHERE schema = 'main' AND type = 'table'
         AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_sqlx_%' AND name NOT IN ('priority_weights', 'search_sync')
         ORDER BY name",
        postgres: "SELECT table_name::text FROM information_schema.tables
         WHERE table_schema = 'public' AND table_type = 'BASE TABLE'
           AND table_name NOT LIKE '\\_sqlx\\_%' AND table_name <> 'priority_weights'
         ORDER BY 1",
    );
    let tables: Vec<String> = run!(conn, sqlx::query_scalar(sql), fetch_all)?;
    for t in tables {
        let any: bool = run!(
            conn,
            sqlx::query_scalar(&format!("SELECT EXISTS (SELECT 1 FROM \"{t}\")")),
            fetch_one
        )?;
        if any {
            return Ok(false);
        }
    }
    Ok(true)
}

/// A checked order line of a file. Which rows repeat an order or a line is worked out while the
/// file is read; what is stored is looked at inside the write transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderLineIn {
    pub line: i64,
    pub order_number: String,
    pub customer_id: CustomerId,
    /// The customer of the order's first row in the file.
    pub file_customer: CustomerId,
    /// The first row of its order in the file (it creates the order if need be).
    pub first_of_order: bool,
    /// `None`: the time of the import.
    pub ordered_at: Option<DateTime<Utc>>,
    pub product_id: ProductId,
    /// For messages.
    pub sku: String,
    pub qty: i64,
    pub unit_price_minor: i64,
    /// The quantity of an earlier row of the file for the same order and product.
    pub earlier_qty: Option<i64>,
}

/// A row refused by what is stored: (line, column, reason).
pub type RowProblem = (i64, &'static str, String);

/// What applying staged order lines did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OrdersApplied {
    /// Problems; when there are any nothing else is filled and the caller rolls back.
    pub problems: Vec<RowProblem>,
    /// Lines created.
    pub created: usize,
    pub backorders_created: usize,
    /// Products that got a backorder (to be settled).
    pub backordered_products: Vec<ProductId>,
}

/// Loads checked order lines into a temporary table (no write lock needed).
pub async fn stage_order_lines(conn: &mut Conn, rows: &[OrderLineIn]) -> anyhow::Result<()> {
    run!(
        conn,
        sqlx::query("DROP TABLE IF EXISTS import_order_lines"),
        execute
    )?;
    create_staging(
        conn,
        "import_order_lines",
        "line INTEGER NOT NULL, order_number TEXT NOT NULL, customer_id INTEGER NOT NULL,
            file_customer INTEGER NOT NULL, first_of_order BOOLEAN NOT NULL, ordered_at TIMESTAMP,
            product_id INTEGER NOT NULL, sku TEXT NOT NULL, qty INTEGER NOT NULL,
            unit_price_minor INTEGER NOT NULL, earlier_qty INTEGER,
            order_id INTEGER, db_customer INTEGER, stored_qty INTEGER, reserved INTEGER",
    )
    .await?;
    load_staging(
        conn,
        "import_order_lines",
        &[
            "line",
            "order_number",
            "customer_id",
            "file_customer",
            "first_of_order",
            "ordered_at",
            "product_id",
            "sku",
            "qty",
            "unit_price_minor",
            "earlier_qty",
        ],
        rows.iter().map(|r| {
            vec![
                Value::Int(Some(r.line)),
                Value::Text(Some(&r.order_number)),
                Value::Int(Some(r.customer_id.0)),
                Value::Int(Some(r.file_customer.0)),
                Value::Bool(Some(r.first_of_order)),
                Value::Ts(r.ordered_at),
                Value::Int(Some(r.product_id.0)),
                Value::Text(Some(&r.sku)),
                Value::Int(Some(r.qty)),
                Value::Int(Some(r.unit_price_minor)),
                Value::Int(r.earlier_qty),
            ]
        }),
    )
    .await
}

/// Writes staged order lines inside the write transaction, the way
/// [`crate::app::orders::place_line`] places one line after another: each new line reserves
/// what is free of its product once open backorders and the file's earlier lines are served,
/// and the rest is backordered. A line already stored with the same quantity is left alone.
pub async fn apply_order_lines(
    conn: &mut Conn,
    at: DateTime<Utc>,
) -> anyhow::Result<OrdersApplied> {
    let now = ts(at);
    run!(
        conn,
        sqlx::query(
            "UPDATE import_order_lines SET order_id = o.id, db_customer = o.customer_id
         FROM orders o WHERE o.order_number = import_order_lines.order_number",
        ),
        execute
    )?;
    run!(conn, sqlx::query(
        "UPDATE import_order_lines SET stored_qty = l.qty FROM order_lines l
         WHERE l.order_id = import_order_lines.order_id AND l.product_id = import_order_lines.product_id",
    ), execute)?;
    let mut problems: Vec<RowProblem> = Vec::new();
    let wrong_customer: Vec<(i64, String)> = run!(
        conn,
        sqlx::query_as(
            "SELECT line, order_number FROM import_order_lines
         WHERE customer_id <> COALESCE(db_customer, file_customer) ORDER BY line",
        ),
        fetch_all
    )?;
    problems.extend(wrong_customer.into_iter().map(|(line, order)| {
        (
            line,
            "customer",
            format!("order {order} belongs to another customer"),
        )
    }));
    let changed_qty: Vec<(i64, String, String, i64)> = run!(conn, sqlx::query_as(
        "SELECT line, order_number, sku, COALESCE(stored_qty, earlier_qty) FROM import_order_lines
         WHERE customer_id = COALESCE(db_customer, file_customer)
           AND COALESCE(stored_qty, earlier_qty) <> qty ORDER BY line",
    ), fetch_all)?;
    problems.extend(changed_qty.into_iter().map(|(line, order, sku, qty)| {
        (
            line,
            "qty",
            format!(
                "order {order} already has {qty} × {sku}; changing an order line is not supported"
            ),
        )
    }));
    if !problems.is_empty() {
        return Ok(OrdersApplied {
            problems,
            ..OrdersApplied::default()
        });
    }
    run!(
        conn,
        sqlx::query(
            "INSERT INTO orders (order_number, customer_id, ordered_at)
         SELECT order_number, customer_id, COALESCE(ordered_at, $1) FROM import_order_lines
         WHERE order_id IS NULL AND first_of_order ORDER BY rid",
        )
        .bind(now),
        execute
    )?;
    run!(conn, sqlx::query(
        "UPDATE import_order_lines SET order_id = o.id FROM orders o
         WHERE import_order_lines.order_id IS NULL AND o.order_number = import_order_lines.order_number",
    ), execute)?;
    // New lines (neither stored nor repeated in the file) in file order; per product, what is
    // free before the file minus the file's earlier new lines is what a line can reserve.
    let new = "stored_qty IS NULL AND earlier_qty IS NULL";
    let free = super::stock::FREE_TO_PROMISE;
    run!(
        conn,
        sqlx::query(&format!(
            "UPDATE import_order_lines SET reserved = x.reserved FROM (
            SELECT s.rid AS rid,
                CASE WHEN f.free - (SUM(s.qty) OVER w - s.qty) <= 0 THEN 0
                     WHEN f.free - (SUM(s.qty) OVER w - s.qty) >= s.qty THEN s.qty
                     ELSE f.free - (SUM(s.qty) OVER w - s.qty) END AS reserved
            FROM import_order_lines s
            JOIN (SELECT p.product_id, {free} AS free
                  FROM (SELECT DISTINCT product_id FROM import_order_lines WHERE {new}) p
                  LEFT JOIN stock_positions sp ON sp.product_id = p.product_id) f
              ON f.product_id = s.product_id
            WHERE s.{new}
            WINDOW w AS (PARTITION BY s.product_id ORDER BY s.rid ROWS UNBOUNDED PRECEDING)
         ) x WHERE x.rid = import_order_lines.rid"
        )),
        execute
    )?;
    // New lines get ids after the current largest, offset by their staging row (SQLite:
    // explicit INTEGER PRIMARY KEY values), so reservations and backorders can name them.
    let base: i64 = run!(
        conn,
        sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM order_lines"),
        fetch_one
    )?;
    let created = run!(
        conn,
        sqlx::query(&format!(
            "INSERT INTO order_lines (id, order_id, product_id, qty, unit_price_minor)
         SELECT $1 + rid, order_id, product_id, qty, unit_price_minor FROM import_order_lines
         WHERE {new} ORDER BY rid"
        ))
        .bind(base),
        execute
    )? as usize;
    super::continue_ids(conn, "order_lines").await?;
    run!(
        conn,
        sqlx::query(&format!(
            "INSERT INTO reservations (order_line_id, backorder_id, product_id, qty, created_at)
         SELECT $1 + rid, NULL, product_id, reserved, $2 FROM import_order_lines
         WHERE {new} AND reserved > 0 ORDER BY rid"
        ))
        .bind(base)
        .bind(now),
        execute
    )?;
    run!(
        conn,
        sqlx::query(&format!(
            "UPDATE stock_positions SET allocated = allocated + r.units
         FROM (SELECT product_id, SUM(reserved) AS units FROM import_order_lines
               WHERE {new} AND reserved > 0 GROUP BY product_id) r
         WHERE r.product_id = stock_positions.product_id"
        )),
        execute
    )?;
    let backorders_created = run!(
        conn,
        sqlx::query(&format!(
            "INSERT INTO backorders (order_line_id, product_id, customer_id, qty, created_at)
         SELECT $1 + rid, product_id, customer_id, qty - reserved, $2 FROM import_order_lines
         WHERE {new} AND qty > reserved ORDER BY rid"
        ))
        .bind(base)
        .bind(now),
        execute
    )? as usize;
    let backordered_products = run!(
        conn,
        sqlx::query_scalar(&format!(
            "SELECT DISTINCT product_id FROM import_order_lines WHERE {new} AND qty > reserved
         ORDER BY product_id"
        )),
        fetch_all
    )?;
    Ok(OrdersApplied {
        problems,
        created,
        backorders_created,
        backordered_products,
    })
}

/// Loads checked rows of a simple upsert (suppliers, customers) into the staging table `table`,
/// in file order: `columns` are `name TYPE` as [`create_staging`] reads them (`TEXT`, `INTEGER`,
/// `DATE`), one per value of a row. The types are declared, not read off the first row: a file
/// whose every row was refused stages none, and the checks that follow still compare typed
/// columns on PostgreSQL.
pub(super) async fn stage_rows<'a>(
    conn: &mut Conn,
    table: &str,
    columns: &[&str],
    rows: impl ExactSizeIterator<Item = Vec<Value<'a>>>,
) -> anyhow::Result<()> {
    run!(
        conn,
        sqlx::query(&format!("DROP TABLE IF EXISTS {table}")),
        execute
    )?;
    create_staging(conn, table, &columns.join(", ")).await?;
    let names: Vec<&str> = columns
        .iter()
        .map(|c| c.split_whitespace().next().unwrap_or(c))
        .collect();
    load_staging(conn, table, &names, rows).await
}

/// A staged cell.
#[derive(Debug, Clone, Copy)]
pub enum Value<'a> {
    Text(Option<&'a str>),
    Int(Option<i64>),
    Bool(Option<bool>),
    /// A date (text on SQLite, `date` on PostgreSQL).
    Day(Option<NaiveDate>),
    /// A time (text on SQLite, `timestamptz` on PostgreSQL).
    Ts(Option<DateTime<Utc>>),
}

/// Stages checked supplier rows (no write lock needed).
pub async fn stage_suppliers(
    conn: &mut Conn,
    rows: &[super::suppliers::SupplierRow],
) -> anyhow::Result<()> {
    stage_rows(
        conn,
        "import_suppliers",
        &[
            "code TEXT",
            "name TEXT",
            "email TEXT",
            "phone TEXT",
            "lead_time_days INTEGER",
        ],
        rows.iter().map(|s| {
            vec![
                Value::Text(Some(&s.code)),
                Value::Text(Some(&s.name)),
                Value::Text(s.email.as_deref()),
                Value::Text(s.phone.as_deref()),
                Value::Int(Some(s.lead_time_days)),
            ]
        }),
    )
    .await
}

/// Upserts the staged suppliers by code; returns how many rows created or changed one.
pub async fn apply_suppliers(conn: &mut Conn) -> anyhow::Result<usize> {
    let changed: i64 = run!(
        conn,
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM import_suppliers s LEFT JOIN suppliers x ON x.code = s.code
         WHERE x.id IS NULL OR x.name IS DISTINCT FROM s.name OR x.email IS DISTINCT FROM s.email
            OR x.phone IS DISTINCT FROM s.phone OR x.lead_time_days IS DISTINCT FROM s.lead_time_days",
        ),
        fetch_one
    )?;
    run!(conn, sqlx::query(
        "INSERT INTO suppliers (code, name, email, phone, lead_time_days)
         SELECT code, name, email, phone, lead_time_days FROM import_suppliers WHERE true ORDER BY rid
         ON CONFLICT (code) DO UPDATE SET name = excluded.name, email = excluded.email,
           phone = excluded.phone, lead_time_days = excluded.lead_time_days
         WHERE suppliers.name IS DISTINCT FROM excluded.name OR suppliers.email IS DISTINCT FROM excluded.email
           OR suppliers.phone IS DISTINCT FROM excluded.phone OR suppliers.lead_time_days IS DISTINCT FROM excluded.lead_time_days",
    ), execute)?;
    Ok(changed as usize)
}

/// Stages checked customer rows (no write lock needed).
pub async fn stage_customers(
    conn: &mut Conn,
    rows: &[super::customers::CustomerRow],
) -> anyhow::Result<()> {
    stage_rows(
        conn,
        "import_customers",
        &[
            "external_id TEXT",
            "name TEXT",
            "email TEXT",
            "phone TEXT",
            "tier TEXT",
            "channel TEXT",
            "timezone TEXT",
        ],
        rows.iter().map(|c| {
            vec![
                Value::Text(Some(&c.external_id)),
                Value::Text(Some(&c.name)),
                Value::Text(c.email.as_deref()),
                Value::Text(c.phone.as_deref()),
                Value::Text(Some(c.tier.as_str())),
                Value::Text(Some(c.channel.as_str())),
                Value::Text(Some(&c.timezone)),
            ]
        }),
    )
    .await
}

/// Upserts the staged customers by their id; returns how many rows created or changed one, and
/// the products of open backorders whose customer changed tier (their queues re-rank).
pub async fn apply_customers(conn: &mut Conn) -> anyhow::Result<(usize, Vec<ProductId>)> {
    let changed: i64 = run!(conn, sqlx::query_scalar(&format!(
        "SELECT COUNT(*) FROM import_customers s LEFT JOIN customers x ON x.external_id = s.external_id
         WHERE x.id IS NULL OR {}",
        super::customers::differs("x", "s")
    )), fetch_one)?;
    let retiered: Vec<ProductId> = run!(
        conn,
        sqlx::query_scalar(concat!(
            "SELECT DISTINCT b.product_id FROM import_customers s
         JOIN customers x ON x.external_id = s.external_id AND x.tier <> s.tier
         JOIN backorders b ON b.customer_id = x.id AND b.status = ",
            sql_word!(backorder open),
            "
         ORDER BY b.product_id"
        )),
        fetch_all
    )?;
    // `WHERE true`: SQLite reads an ON CONFLICT after a bare SELECT's FROM as a join constraint.
    run!(
        conn,
        sqlx::query(&super::customers::upsert_sql(
            "SELECT external_id, name, email, phone, tier, channel, timezone FROM import_customers
         WHERE true ORDER BY rid",
        )),
        execute
    )?;
    Ok((changed as usize, retiered))
}

// ---- Purchase-order lines: read what the file touches in a few statements, decide in the app
// (the status rules live in `domain`), write with multi-row statements. ----

/// Rows per multi-row statement of the purchase-order writes (at most 5 parameters a row).
const PO_CHUNK: usize = 1000;

/// A stored purchase order named by a file.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StoredPo {
    pub po_number: String,
    pub id: PurchaseOrderId,
    pub supplier_id: Option<SupplierId>,
}

/// The stored purchase orders among `numbers` (exact spelling, as the file's rows are matched).
pub async fn pos_by_number(conn: &mut Conn, numbers: &[&str]) -> anyhow::Result<Vec<StoredPo>> {
    let mut out = Vec::with_capacity(numbers.len());
    for chunk in numbers.chunks(PO_CHUNK) {
        let sql = format!(
            "SELECT po_number, id, supplier_id FROM purchase_orders WHERE po_number IN ({})",
            params(chunk.len())
        );
        out.extend(run!(
            conn,
            {
                let mut q = sqlx::query_as(&sql);
                for n in chunk {
                    q = q.bind(*n);
                }
                q
            },
            fetch_all
        )?);
    }
    Ok(out)
}

/// Creates purchase orders `(number, supplier)`; returns their ids by number.
pub async fn insert_pos(
    conn: &mut Conn,
    pos: &[(&str, Option<SupplierId>)],
    at: DateTime<Utc>,
) -> anyhow::Result<Vec<(String, PurchaseOrderId)>> {
    let mut out = Vec::with_capacity(pos.len());
    let at = ts(at);
    for chunk in pos.chunks(PO_CHUNK) {
        let mut sql = String::from(
            "INSERT INTO purchase_orders (po_number, supplier_id, created_at) VALUES ",
        );
        values_list(&mut sql, chunk.len(), 3);
        sql.push_str(" RETURNING po_number, id");
        out.extend(run!(
            conn,
            {
                let mut q = sqlx::query_as(&sql);
                for (number, supplier) in chunk {
                    q = q.bind(*number).bind(*supplier).bind(at);
                }
                q
            },
            fetch_all
        )?);
    }
    Ok(out)
}

/// Sets the supplier of purchase orders `(id, supplier)`.
pub async fn set_po_suppliers(
    conn: &mut Conn,
    rows: &[(PurchaseOrderId, Option<SupplierId>)],
) -> anyhow::Result<()> {
    for chunk in rows.chunks(PO_CHUNK) {
        let mut sql =
            String::from("UPDATE purchase_orders SET supplier_id = v.column2 FROM (VALUES ");
        values_list(&mut sql, chunk.len(), 2);
        sql.push_str(") AS v WHERE purchase_orders.id = v.column1");
        run!(
            conn,
            {
                let mut q = sqlx::query(&sql);
                for (id, supplier) in chunk {
                    q = q.bind(*id).bind(*supplier);
                }
                q
            },
            execute
        )?;
    }
    Ok(())
}

/// A stored purchase-order line, as an import compares it with a file's row.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct StoredPoLine {
    pub id: PoLineId,
    pub po_id: PurchaseOrderId,
    pub product_id: ProductId,
    pub qty_ordered: i64,
    pub qty_received: i64,
    #[sqlx(try_from = "super::StoredOptDay")]
    pub eta: Option<NaiveDate>,
    pub status: PoStatus,
}

/// The stored lines among `(po_id, product_id)` pairs.
pub async fn po_lines_of(
    conn: &mut Conn,
    pairs: &[(PurchaseOrderId, ProductId)],
) -> anyhow::Result<Vec<StoredPoLine>> {
    let mut out = Vec::new();
    for chunk in pairs.chunks(PO_CHUNK) {
        let mut sql = String::from(
            "SELECT l.id, l.po_id, l.product_id, l.qty_ordered, l.qty_received, l.eta, l.status
             FROM (VALUES ",
        );
        values_list(&mut sql, chunk.len(), 2);
        sql.push_str(") AS v JOIN po_lines l ON l.po_id = v.column1 AND l.product_id = v.column2");
        out.extend(run!(
            conn,
            {
                let mut q = sqlx::query_as(&sql);
                for (po, product) in chunk {
                    q = q.bind(*po).bind(*product);
                }
                q
            },
            fetch_all
        )?);
    }
    Ok(out)
}

/// A line to create.
#[derive(Debug, Clone, PartialEq)]
pub struct NewPoLine {
    pub po_id: PurchaseOrderId,
    pub product_id: ProductId,
    pub qty: i64,
    pub eta: Option<NaiveDate>,
    pub status: PoStatus,
}

/// Creates lines.
pub async fn insert_po_lines(conn: &mut Conn, rows: &[NewPoLine]) -> anyhow::Result<()> {
    for chunk in rows.chunks(PO_CHUNK) {
        let mut sql = String::from(
            "INSERT INTO po_lines (po_id, product_id, qty_ordered, eta, status) VALUES ",
        );
        values_list(&mut sql, chunk.len(), 5);
        run!(
            conn,
            {
                let mut q = sqlx::query(&sql);
                for r in chunk {
                    q = q
                        .bind(r.po_id)
                        .bind(r.product_id)
                        .bind(r.qty)
                        .bind(r.eta.map(super::day))
                        .bind(r.status);
                }
                q
            },
            execute
        )?;
    }
    Ok(())
}

/// A stored line's new quantity, ETA and status.
#[derive(Debug, Clone, PartialEq)]
pub struct PoLineChange {
    pub id: PoLineId,
    pub qty: i64,
    pub eta: Option<NaiveDate>,
    pub status: PoStatus,
}

/// Updates lines.
pub async fn update_po_lines(conn: &mut Conn, rows: &[PoLineChange]) -> anyhow::Result<()> {
    for chunk in rows.chunks(PO_CHUNK) {
        let mut sql = String::from(
            "UPDATE po_lines SET qty_ordered = v.column2, eta = v.column3, status = v.column4
             FROM (VALUES ",
        );
        values_list(&mut sql, chunk.len(), 4);
        sql.push_str(") AS v WHERE po_lines.id = v.column1");
        run!(
            conn,
            {
                let mut q = sqlx::query(&sql);
                for r in chunk {
                    q = q
                        .bind(r.id)
                        .bind(r.qty)
                        .bind(r.eta.map(super::day))
                        .bind(r.status);
                }
                q
            },
            execute
        )?;
    }
    Ok(())
}

/// Records ETA changes of lines `(line_id, old, new)` in the ETA history.
pub async fn record_po_eta_changes(
    conn: &mut Conn,
    rows: &[(PoLineId, Option<NaiveDate>, Option<NaiveDate>)],
    actor: &str,
    reason: &str,
    at: DateTime<Utc>,
) -> anyhow::Result<()> {
    let at = ts(at);
    for chunk in rows.chunks(PO_CHUNK) {
        let mut sql = String::from(
            "INSERT INTO eta_history (po_line_id, old_eta, new_eta, cause, actor, reason, created_at)
             VALUES ",
        );
        let rows: Vec<String> = (0..chunk.len())
            .map(|i| {
                let n = i * 6;
                format!(
                    concat!(
                        "(${}, ${}, ${}, ",
                        sql_word!(cause po_eta_changed),
                        ", ${}, ${}, ${})"
                    ),
                    n + 1,
                    n + 2,
                    n + 3,
                    n + 4,
                    n + 5,
                    n + 6
                )
            })
            .collect();
        sql.push_str(&rows.join(", "));
        run!(
            conn,
            {
                let mut q = sqlx::query(&sql);
                for (line, old, new) in chunk {
                    q = q
                        .bind(*line)
                        .bind(old.map(super::day))
                        .bind(new.map(super::day))
                        .bind(actor)
                        .bind(reason)
                        .bind(at);
                }
                q
            },
            execute
        )?;
    }
    Ok(())
}

/// Every line's `(po_id, status, received)` of the given purchase orders, and each order's
/// stored status.
pub async fn po_states(
    conn: &mut Conn,
    po_ids: &[PurchaseOrderId],
) -> anyhow::Result<(
    Vec<(PurchaseOrderId, PoStatus, i64)>,
    Vec<(PurchaseOrderId, PoStatus)>,
)> {
    let mut lines = Vec::new();
    let mut pos = Vec::new();
    for chunk in po_ids.chunks(PO_CHUNK) {
        let list = params(chunk.len());
        let sql =
            format!("SELECT po_id, status, qty_received FROM po_lines WHERE po_id IN ({list})");
        lines.extend(run!(
            conn,
            {
                let mut q = sqlx::query_as::<_, (PurchaseOrderId, PoStatus, i64)>(&sql);
                for id in chunk {
                    q = q.bind(*id);
                }
                q
            },
            fetch_all
        )?);
        let sql = format!("SELECT id, status FROM purchase_orders WHERE id IN ({list})");
        pos.extend(run!(
            conn,
            {
                let mut q = sqlx::query_as::<_, (PurchaseOrderId, PoStatus)>(&sql);
                for id in chunk {
                    q = q.bind(*id);
                }
                q
            },
            fetch_all
        )?);
    }
    Ok((lines, pos))
}

/// Sets purchase orders' statuses `(id, status)`.
pub async fn set_po_statuses(
    conn: &mut Conn,
    rows: &[(PurchaseOrderId, PoStatus)],
) -> anyhow::Result<()> {
    for chunk in rows.chunks(PO_CHUNK) {
        let mut sql = String::from("UPDATE purchase_orders SET status = v.column2 FROM (VALUES ");
        values_list(&mut sql, chunk.len(), 2);
        sql.push_str(") AS v WHERE purchase_orders.id = v.column1");
        run!(
            conn,
            {
                let mut q = sqlx::query(&sql);
                for (id, status) in chunk {
                    q = q.bind(*id).bind(*status);
                }
                q
            },
            execute
        )?;
    }
    Ok(())
}
