//! Set-based generation of synthetic shops, for benchmarks. Rows are made by recursive CTEs
//! (set-based, not row by row) so a million SKUs take seconds, not minutes.

use super::{ts, Conn};
use crate::store::run;
use chrono::{DateTime, Utc};

/// Rows of a synthetic shop already in the database: (synthetic products, ledger rows).
pub async fn synthetic_sizes(conn: &mut Conn) -> anyhow::Result<(i64, i64)> {
    Ok(run!(
        conn,
        sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM products WHERE sku_key LIKE 'SYN-%'),
            (SELECT COUNT(*) FROM stock_movements)",
        ),
        fetch_one
    )?)
}

/// Rows in a synthetic shop.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SynthCounts {
    pub products: i64,
    pub customers: i64,
    /// Ledger rows.
    pub movements: i64,
    pub po_lines: i64,
    pub backorders: i64,
}

async fn exec(
    conn: &mut Conn,
    sql: &str,
    n: i64,
    seed: i64,
    now: &super::types::Ts,
) -> anyhow::Result<u64> {
    Ok(run!(
        conn,
        sqlx::query(sql).bind(n).bind(seed).bind(now),
        execute
    )?)
}

/// Creates `n` synthetic SKUs (`SYN-0000001`…) with suppliers, customers, a five-row sales
/// history each, purchase orders, orders and backorders. Deterministic for a seed; SKUs that
/// exist already are left alone, so running it twice adds nothing.
pub async fn synthesize(
    conn: &mut Conn,
    n: i64,
    seed: i64,
    now: DateTime<Utc>,
) -> anyhow::Result<SynthCounts> {
    let now_s = ts(now);
    let seq = "WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < $1)";
    let m = |sql: &str| format!("{seq} {sql}");
    exec(conn, &m("INSERT INTO suppliers (code, name, lead_time_days)
        SELECT 'SYN-SUP-' || i, 'Synthetic supplier ' || i, 5 + ((i * 7 + $2) % 25) FROM seq WHERE i <= 50
        ON CONFLICT (code) DO NOTHING"), n.max(50), seed, &now_s).await?;
    let first_new: i64 = run!(
        conn,
        sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM products"),
        fetch_one
    )?;
    let products = exec(conn, &m("INSERT INTO products (sku, sku_key, name, category, unit_price_minor,
            reorder_point, safety_stock, reorder_qty, supplier_id)
        SELECT 'SYN-' || substr('0000000' || i, -7), 'SYN-' || substr('0000000' || i, -7),
            'Synthetic product ' || i || ' ' || (CASE i % 4 WHEN 0 THEN 'blue' WHEN 1 THEN 'red' WHEN 2 THEN 'green' ELSE 'black' END),
            'category-' || (i % 200), 100 + ((i * 37 + $2) % 50000), 5 + (i % 20), 2 + (i % 5), 50,
            (SELECT id FROM suppliers WHERE code = 'SYN-SUP-' || (1 + (i % 50)))
        FROM seq WHERE $3 IS NOT NULL
        ON CONFLICT (sku_key) DO NOTHING"), n, seed, &now_s).await? as i64;
    // Five ledger rows per new product: an opening count and four sales. Every tenth product
    // sells out exactly, so it has open backorders below.
    let movements = exec(conn, &format!("WITH RECURSIVE k(j) AS (SELECT 0 UNION ALL SELECT j + 1 FROM k WHERE j < 4)
        INSERT INTO stock_movements (product_id, kind, qty, actor, reason, created_at)
        SELECT p.id, CASE k.j WHEN 0 THEN 'adjustment' ELSE 'sale' END,
            CASE k.j WHEN 0 THEN (CASE WHEN p.id % 10 = 0 THEN 0 ELSE 20 + ((p.id * 13 + $2) % 200) END)
                + 7 + ((p.id + 1) % 3) ELSE -(1 + ((p.id + k.j) % 3)) END,
            'demo-data', 'synthetic history', $3
        FROM products p, k WHERE p.id > {first_new} AND $1 IS NOT NULL"), n, seed, &now_s).await? as i64;
    run!(
        conn,
        sqlx::query(&format!(
            "INSERT INTO stock_positions (product_id, on_hand)
        SELECT p.id, COALESCE((SELECT SUM(qty) FROM stock_movements m WHERE m.product_id = p.id), 0)
        FROM products p WHERE p.id > {first_new}
        ON CONFLICT (product_id) DO UPDATE SET on_hand = excluded.on_hand"
        )),
        execute
    )?;
    // What was added, not the target: a top-up adds only the customers missing.
    let customers = exec(conn, &m("INSERT INTO customers (external_id, name, email, phone, tier, channel)
        SELECT 'SYN-C' || i, 'Customer ' || i || ' Synthetic', 'customer' || i || '@example.com',
            '+1555' || substr('0000000' || i, -7),
            CASE i % 10 WHEN 9 THEN 'vip' WHEN 8 THEN 'gold' WHEN 7 THEN 'silver' WHEN 6 THEN 'silver' ELSE 'standard' END,
            CASE i % 2 WHEN 0 THEN 'sms' ELSE 'email' END
        FROM seq WHERE $2 IS NOT NULL AND $3 IS NOT NULL
        ON CONFLICT (external_id) DO NOTHING"), (n / 20).max(10), seed, &now_s).await? as i64;
    // One PO per ten new products; lines for the products that sell out and their neighbours.
    run!(
        conn,
        sqlx::query(&format!(
            "INSERT INTO purchase_orders (po_number, supplier_id, created_at)
        SELECT 'PO-SYN-' || (p.id / 10), MIN(p.supplier_id), $1 FROM products p
        WHERE p.id > {first_new} GROUP BY p.id / 10
        ON CONFLICT (po_number) DO NOTHING"
        ))
        .bind(now_s),
        execute
    )?;
    let po_lines = run!(
        conn,
        sqlx::query(&format!(
            "INSERT INTO po_lines (po_id, product_id, qty_ordered, eta)
        SELECT po.id, p.id, 50, date($1, '+' || (3 + (p.id % 40)) || ' days')
        FROM products p JOIN purchase_orders po ON po.po_number = 'PO-SYN-' || (p.id / 10)
        WHERE p.id > {first_new} AND p.id % 10 IN (0, 1)"
        ))
        .bind(now_s),
        execute
    )? as i64;
    // Two orders for each product that sold out: each line is wholly backordered.
    run!(conn, sqlx::query(&format!("WITH RECURSIVE k(j) AS (SELECT 0 UNION ALL SELECT j + 1 FROM k WHERE j < 1)
        INSERT INTO orders (order_number, customer_id, ordered_at)
        SELECT 'SO-SYN-' || p.id || '-' || k.j,
            (SELECT id FROM customers WHERE external_id = 'SYN-C' || (1 + ((p.id * 7 + k.j * 3) % $1))),
            datetime($2, '-' || ((p.id + k.j) % 30) || ' days')
        FROM products p, k WHERE p.id > {first_new} AND p.id % 10 = 0"))
        .bind(customers)
        .bind(now.format("%Y-%m-%d %H:%M:%S").to_string()), execute)?;
    run!(
        conn,
        sqlx::query(&format!(
            "WITH RECURSIVE k(j) AS (SELECT 0 UNION ALL SELECT j + 1 FROM k WHERE j < 1)
        INSERT INTO order_lines (order_id, product_id, qty, unit_price_minor)
        SELECT o.id, p.id, 1 + ((p.id + k.j) % 4), p.unit_price_minor
        FROM products p, k JOIN orders o ON o.order_number = 'SO-SYN-' || p.id || '-' || k.j
        WHERE p.id > {first_new} AND p.id % 10 = 0"
        )),
        execute
    )?;
    let backorders = run!(
        conn,
        sqlx::query(&format!(
            "INSERT INTO backorders (order_line_id, product_id, customer_id, qty, created_at)
        SELECT ol.id, ol.product_id, o.customer_id, ol.qty, $1
        FROM order_lines ol JOIN orders o ON o.id = ol.order_id
        WHERE ol.product_id > {first_new} AND o.order_number LIKE 'SO-SYN-%'"
        ))
        .bind(now_s),
        execute
    )? as i64;
    run!(conn, sqlx::query("UPDATE orders SET ordered_at = replace(ordered_at, ' ', 'T') || 'Z' WHERE ordered_at LIKE '% %'"), execute)?;
    Ok(SynthCounts {
        products,
        customers,
        movements,
        po_lines,
        backorders,
    })
}

/// A SKU with `n` open backorders and one PO line covering them all, for the ETA benchmark.
/// Returns the PO number.
pub async fn bench_backorders(
    conn: &mut Conn,
    n: i64,
    now: DateTime<Utc>,
) -> anyhow::Result<String> {
    let now_s = ts(now);
    let sku = format!("BENCH-ETA-{n}");
    let po = format!("PO-BENCH-{n}");
    run!(conn, sqlx::query("INSERT INTO suppliers (code, name, lead_time_days) VALUES ('BENCH-SUP', 'Bench supplier', 30) ON CONFLICT (code) DO NOTHING"), execute)?;
    run!(
        conn,
        sqlx::query(
            "INSERT INTO products (sku, sku_key, name, unit_price_minor, supplier_id)
        SELECT $1, $1, 'Benchmark product', 1000, id FROM suppliers WHERE code = 'BENCH-SUP'",
        )
        .bind(&sku),
        execute
    )?;
    let pid: i64 = run!(
        conn,
        sqlx::query_scalar("SELECT id FROM products WHERE sku_key = $1").bind(&sku),
        fetch_one
    )?;
    run!(
        conn,
        sqlx::query("INSERT INTO stock_positions (product_id) VALUES ($1)").bind(pid),
        execute
    )?;
    run!(conn, sqlx::query("WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < 1000)
        INSERT INTO customers (external_id, name, email, tier, channel)
        SELECT 'BENCH-C' || i, 'Bench Customer ' || i, 'bench' || i || '@example.com',
            CASE i % 4 WHEN 0 THEN 'vip' WHEN 1 THEN 'gold' WHEN 2 THEN 'silver' ELSE 'standard' END, 'email'
        FROM seq WHERE 1 = 1 ON CONFLICT (external_id) DO NOTHING"), execute)?;
    let (po_id,): (i64,) = run!(
        conn,
        sqlx::query_as(
            "INSERT INTO purchase_orders (po_number, supplier_id, created_at)
        SELECT $1, id, $2 FROM suppliers WHERE code = 'BENCH-SUP' RETURNING id",
        )
        .bind(&po)
        .bind(now_s),
        fetch_one
    )?;
    let eta = super::Dialect::of(conn).date_plus_days("$4", "10");
    run!(
        conn,
        sqlx::query(&format!(
            "INSERT INTO po_lines (po_id, product_id, qty_ordered, eta) VALUES ($1, $2, $3, {eta})"
        ))
        .bind(po_id)
        .bind(pid)
        .bind(n * 3)
        .bind(now_s),
        execute
    )?;
    let seq = "WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < $1)";
    let ordered_at = super::Dialect::of(conn).time_minus_days("$3", "i % 60");
    run!(conn, sqlx::query(&format!("{seq} INSERT INTO orders (order_number, customer_id, ordered_at)
        SELECT $2 || '-' || i, (SELECT id FROM customers WHERE external_id = 'BENCH-C' || (1 + i % 1000)),
            {ordered_at} FROM seq"))
        .bind(n)
        .bind(format!("SO-{sku}"))
        .bind(now_s), execute)?;
    run!(
        conn,
        sqlx::query(
            "INSERT INTO order_lines (order_id, product_id, qty, unit_price_minor)
        SELECT id, $1, 1 + (id % 3), 1000 FROM orders WHERE order_number LIKE $2 || '-%'",
        )
        .bind(pid)
        .bind(format!("SO-{sku}")),
        execute
    )?;
    run!(conn, sqlx::query("INSERT INTO backorders (order_line_id, product_id, customer_id, qty, created_at)
        SELECT ol.id, ol.product_id, o.customer_id, ol.qty, $2 FROM order_lines ol JOIN orders o ON o.id = ol.order_id
        WHERE ol.product_id = $1")
        .bind(pid)
        .bind(now_s), execute)?;
    Ok(po)
}

/// The SKU with the most open backorders, and how many (`bench lists`).
pub async fn busiest_sku(conn: &mut Conn) -> anyhow::Result<(String, i64)> {
    Ok(run!(
        conn,
        sqlx::query_as(
            "SELECT p.sku, COUNT(*) AS n FROM backorders b JOIN products p ON p.id = b.product_id
         WHERE b.status = 'open' GROUP BY b.product_id ORDER BY n DESC, p.id LIMIT 1",
        ),
        fetch_one
    )?)
}

/// The customer with the most open backorders, and how many (`bench lists`).
pub async fn busiest_customer(conn: &mut Conn) -> anyhow::Result<(String, i64)> {
    Ok(run!(conn, sqlx::query_as(
        "SELECT c.external_id, COUNT(*) AS n FROM backorders b JOIN customers c ON c.id = b.customer_id
         WHERE b.status = 'open' GROUP BY b.customer_id ORDER BY n DESC, c.id LIMIT 1",
    ), fetch_one)?)
}

/// Adds `days` days of sales history (`sales_history`, one row per product and day with demand,
/// up to yesterday) to the synthetic products in `(after, upto]` that have none, set-based.
/// Deterministic for a seed. The SKUs mix the four demand patterns by id: 15 % smooth (sales
/// most days, steady sizes, busier Saturdays), 15 % erratic (four days in five, sizes varying), 40 %
/// intermittent (one day in eight, steady sizes) and 30 % lumpy (one day in twelve, sizes
/// varying). Returns the rows added; `migration 0018`'s trigger adds them to `demand_daily`.
pub async fn synthesize_sales(
    conn: &mut Conn,
    after: i64,
    upto: i64,
    days: i64,
    seed: i64,
    today: chrono::NaiveDate,
    now: DateTime<Utc>,
) -> anyhow::Result<u64> {
    use chrono::Datelike;
    let first = today - chrono::Days::new(days as u64);
    // `h` is a hash of (product, day, seed) below 2³¹ (a square modulo a prime); its low digits decide whether
    // the day has demand, `h2`'s the size. Products drive the outer loop (CROSS JOIN) so rows
    // arrive in key order and every index and `demand_daily` take them as appends.
    let sql = "WITH RECURSIVE k(j) AS (SELECT 0 UNION ALL SELECT j + 1 FROM k WHERE j < $3 - 1),
        d AS MATERIALIZED (SELECT j, date($4, '+' || j || ' days') AS day, (j + $5) % 7 AS wd FROM k),
        g AS (SELECT p.id AS pid, d.day, d.wd, p.id % 20 AS cls, 2 + p.id % 8 AS base,
                (p.id * 48271 + d.j * 16807 + $6 * 69621) % 2147483647 AS x
              FROM products p CROSS JOIN d
              WHERE p.id > $1 AND p.id <= $2 AND p.sku_key LIKE 'SYN-%'
                AND NOT EXISTS (SELECT 1 FROM sales_history s WHERE s.product_id = p.id)),
        r AS (SELECT pid, day, wd, cls, base, (x * x) % 2147483647 AS h FROM g),
        s AS (SELECT pid, day, wd, cls, base, h, (h * 16807) % 2147483647 AS h2 FROM r
              WHERE h % 1000 < CASE WHEN cls < 3 THEN 900 WHEN cls < 6 THEN 800
                                    WHEN cls < 14 THEN 125 ELSE 85 END)
        INSERT INTO sales_history (product_id, order_number, customer, qty, sold_at, day, nth, imported_at)
        SELECT pid, NULL, NULL,
            CASE WHEN cls < 3 THEN base + h2 % 3 + CASE WHEN wd = 5 THEN base / 2 ELSE 0 END
                 WHEN cls < 6 THEN 1 + (h2 % 7) * (h2 % 7) * base / 4
                 WHEN cls < 14 THEN 2 + h2 % 3
                 ELSE 1 + (h2 % 7) * (h2 % 7) END,
            day, day, 1, $7
        FROM s WHERE true";
    Ok(run!(
        conn,
        sqlx::query(sql)
            .bind(after)
            .bind(upto)
            .bind(days)
            .bind(first.to_string())
            .bind(i64::from(first.weekday().num_days_from_monday()))
            .bind(seed)
            .bind(ts(now)),
        execute
    )?)
}
