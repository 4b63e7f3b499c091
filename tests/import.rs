//! CSV import: set-based products, and an import in another process next to the running service.

mod common;

use backorder_bot::app::AppError;
use common::{spawn_app, spawn_demo_app, TestApp};
use std::io::Write;
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const SUPPLIERS: &str = "code,name,lead_time_days\nACME,Acme,10\n";
const PRODUCTS: &str = "sku,name,unit_price,on_hand,supplier,substitutes\n\
ABC-1,Blue widget,12.50,5,ACME,abc-2\n\
ABC-2,Red widget,13.00,8,ACME,\n\
ABC-3,Green widget,14.00,,,ABC-1;ABC-2\n";

/// Products files are checked by a thread while earlier rows are already being staged: a bad
/// row far down a long file still refuses the whole file, every bad row is reported (also ones
/// after the first), and nothing is written.
#[tokio::test]
async fn a_bad_row_after_thousands_of_staged_ones_refuses_the_file_and_all_problems_are_listed() {
    let t = spawn_app().await;
    t.import("suppliers", SUPPLIERS).await.unwrap();
    let mut csv = String::from("sku,name,unit_price,on_hand,supplier\n");
    for i in 0..9000 {
        let line = i + 2;
        match line {
            5001 => csv.push_str("LONG-5001,Lamp,1.00,three,ACME\n"),
            7002 => csv.push_str("LONG-7002,Lamp,1.00,1,NOPE\n"),
            8003 => csv.push_str("LONG-0002,Lamp,1.00,1,ACME\n"),
            _ => csv.push_str(&format!("LONG-{line:04},Lamp,1.00,1,ACME\n")),
        }
    }
    let err = t.import("products", &csv).await.unwrap_err();
    let AppError::Import(e) = err else {
        panic!("expected an import error, got {err:?}")
    };
    let found: Vec<(usize, Option<&str>)> = e
        .errors
        .iter()
        .map(|e| (e.line, e.column.as_deref()))
        .collect();
    assert_eq!(
        found,
        [
            (5001, Some("on_hand")),
            (7002, Some("supplier")),
            (8003, Some("sku"))
        ]
    );
    assert!(e.errors[2].reason.contains("already on line 2"), "{e}");
    assert_eq!(t.scalar("SELECT COUNT(*) FROM products").await, 0);
    assert_eq!(t.scalar("SELECT COUNT(*) FROM stock_movements").await, 0);

    // The same file without its bad rows (the header is line 1) goes in whole.
    let good: String = csv
        .lines()
        .enumerate()
        .filter(|(i, _)| ![5001, 7002, 8003].contains(&(i + 1)))
        .map(|(_, l)| format!("{l}\n"))
        .collect();
    if common::on_postgres() {
        // PostgreSQL keeps its triggers and its pg_trgm indexes through the import (nothing to
        // suspend): every row is found by name, and the stock totals are kept.
        let r = t.import("products", &good).await.unwrap();
        assert_eq!(r.rows, 8997);
        assert_eq!(t.scalar("SELECT COUNT(*) FROM products").await, 8997);
        assert_eq!(t.scalar("SELECT COUNT(*) FROM stock_movements").await, 8997);
        assert_eq!(
            t.scalar("SELECT COUNT(*) FROM products WHERE name ILIKE '%lam%'")
                .await,
            8997
        );
    } else {
        let triggers = "SELECT COUNT(*) FROM sqlite_schema WHERE type = 'trigger'
        AND name IN ('stock_movements_sales_insert', 'products_fts_insert')";
        let before = t.scalar(triggers).await;
        let r = t.import("products", &good).await.unwrap();
        assert_eq!(r.rows, 8997);
        assert_eq!(t.scalar("SELECT COUNT(*) FROM products").await, 8997);
        assert_eq!(t.scalar("SELECT COUNT(*) FROM stock_movements").await, 8997);
        // The triggers suspended for this many rows are back.
        assert_eq!(before, 2);
        assert_eq!(t.scalar(triggers).await, before);
        // and working: a product inserted on its own is indexed for search, the bulk ones too.
        t.scalar(
            "INSERT INTO products (sku, sku_key, name) VALUES ('ZZ-1', 'ZZ-1', 'Zebra') RETURNING id",
        )
        .await;
        assert_eq!(
            t.scalar("SELECT COUNT(*) FROM products_fts WHERE products_fts MATCH '\"zeb\"'")
                .await,
            1
        );
        assert_eq!(
            t.scalar("SELECT COUNT(*) FROM products_fts WHERE products_fts MATCH '\"lam\"'")
                .await,
            8997
        );
    }
    assert_eq!(
        t.scalar("SELECT CAST(SUM(on_hand) AS BIGINT) FROM stock_positions")
            .await,
        8997
    );
}

#[tokio::test]
async fn products_write_one_ledger_row_per_changed_count_and_replace_substitutes() {
    let t = spawn_app().await;
    t.import("suppliers", SUPPLIERS).await.unwrap();
    let r = t.import("products", PRODUCTS).await.unwrap();
    assert_eq!((r.rows, r.changed, r.unchanged), (3, 3, 0));
    // A file that more than doubles the catalogue rebuilds the plain indexes of `products`
    // after its insert: they are all there again, and used. (SQLite only: PostgreSQL keeps
    // its indexes through an import.)
    if !common::on_postgres() {
        assert_eq!(
            t.scalar("SELECT COUNT(*) FROM sqlite_schema WHERE type = 'index' AND name = 'products_category'")
                .await,
            1
        );
        assert_eq!(
            t.scalar(
                "SELECT COUNT(*) FROM products INDEXED BY products_category WHERE category = ''"
            )
            .await,
            3
        );
    }
    assert_eq!(t.scalar("SELECT COUNT(*) FROM stock_movements").await, 2);
    assert_eq!(t.scalar("SELECT COUNT(*) FROM stock_positions").await, 3);
    assert_eq!(
        t.scalar("SELECT COUNT(*) FROM product_substitutes").await,
        3
    );
    let again = t.import("products", PRODUCTS).await.unwrap();
    assert_eq!((again.changed, again.unchanged), (0, 3));

    // ABC-1 counted 7 and loses its substitute, ABC-2 gains one, ABC-3 renamed only.
    let changed = "sku,name,unit_price,on_hand,supplier,substitutes\n\
ABC-1,Blue widget,12.50,7,ACME,\n\
ABC-2,Red widget,13.00,8,ACME,ABC-3\n\
ABC-3,Green widget XL,14.00,,,ABC-1;ABC-2\n";
    let r = t.import("products", changed).await.unwrap();
    assert_eq!((r.changed, r.unchanged), (3, 0));
    assert_eq!(t.scalar("SELECT COUNT(*) FROM stock_movements").await, 3);
    assert_eq!(
        t.scalar("SELECT qty FROM stock_movements ORDER BY id DESC LIMIT 1")
            .await,
        2,
        "the ledger row is the difference"
    );
    assert_eq!(
        t.scalar("SELECT on_hand FROM stock_positions sp JOIN products p ON p.id = sp.product_id WHERE p.sku = 'ABC-1'")
            .await,
        7
    );
    assert_eq!(
        t.scalar("SELECT COUNT(*) FROM product_substitutes ps JOIN products p ON p.id = ps.product_id WHERE p.sku = 'ABC-1'")
            .await,
        0
    );
    assert_eq!(
        t.scalar("SELECT COUNT(*) FROM product_substitutes ps JOIN products p ON p.id = ps.product_id WHERE p.sku = 'ABC-2'")
            .await,
        1
    );
    assert_eq!(
        t.scalar("SELECT COUNT(*) FROM product_substitutes").await,
        3
    );
    let text = t.ok("/stock sku:ABC-3").await;
    assert!(text.contains("Green widget XL"), "{text}");
}

#[tokio::test]
async fn a_count_below_what_is_allocated_or_an_unknown_substitute_refuses_the_file() {
    let t = spawn_app().await;
    t.import("suppliers", SUPPLIERS).await.unwrap();
    t.import("products", PRODUCTS).await.unwrap();
    order_four_of_abc1(&t).await;
    let ledger = t.scalar("SELECT COUNT(*) FROM stock_movements").await;
    let err = t
        .import(
            "products",
            "sku,name,unit_price,on_hand\nABC-2,Red widget,13.00,1\nABC-1,Blue widget,12.50,3\n",
        )
        .await
        .unwrap_err();
    assert!(matches!(err, AppError::Import(_)), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("line 3, column on_hand: 3 is below the 4 units already allocated"),
        "{text}"
    );
    assert_eq!(
        t.scalar("SELECT COUNT(*) FROM stock_movements").await,
        ledger,
        "ABC-2's count was not written either"
    );
    let err = t
        .import(
            "products",
            "sku,name,unit_price,substitutes\nABC-9,New,1.00,ABC-1;NOPE-1\n",
        )
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("line 2, column substitutes: unknown SKU \"NOPE-1\""),
        "{err}"
    );
    assert_eq!(
        t.scalar("SELECT COUNT(*) FROM products WHERE sku = 'ABC-9'")
            .await,
        0
    );
}

#[tokio::test]
async fn a_counted_restock_allocates_to_open_backorders() {
    let t = spawn_demo_app().await;
    let before = t
        .scalar("SELECT CAST(COALESCE(SUM(b.qty_allocated), 0) AS BIGINT) FROM backorders b JOIN products p ON p.id = b.product_id WHERE p.sku = 'TENT-2P'")
        .await;
    assert_eq!(before, 0);
    t.import(
        "products",
        "sku,name,category,unit_price,on_hand,supplier,substitutes\nTENT-2P,Trailhead 2-person tent,tents,249.00,10,ACME,TENT-2P-LITE;TENT-3P\n",
    )
    .await
    .unwrap();
    let after = t
        .scalar("SELECT CAST(COALESCE(SUM(b.qty_allocated), 0) AS BIGINT) FROM backorders b JOIN products p ON p.id = b.product_id WHERE p.sku = 'TENT-2P'")
        .await;
    assert_eq!(after, 4, "the three open backorders (4 units) are served");
}

/// Kills the service when the test ends, however it ends.
struct Service(std::process::Child);

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_import_in_another_process_never_fails_a_write_of_the_running_service() {
    const ROWS: usize = 150_000;
    let dir = tempfile::tempdir().unwrap();
    let db = common::BotDb::at(dir.path().join("shared.db"));
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let log = std::fs::File::create(dir.path().join("service.log")).unwrap();
    let _service = Service(
        db.command()
            .arg("run")
            .env("INGEST_API_TOKEN", "import-test-token")
            .env("BACKORDER_BOT__HTTP__BIND", format!("127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap(),
    );
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let started = Instant::now();
    while !client
        .get(format!("{base}/healthz"))
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
    {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "service did not start: {}",
            std::fs::read_to_string(dir.path().join("service.log")).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let csv = dir.path().join("products.csv");
    let mut out = std::io::BufWriter::new(std::fs::File::create(&csv).unwrap());
    writeln!(out, "sku,name,category,unit_price,on_hand,reorder_point").unwrap();
    for i in 1..=ROWS {
        writeln!(
            out,
            "IMP-{i:07},Imported product {i},cat-{},{}.{:02},{},{}",
            i % 100,
            1 + i % 300,
            i % 100,
            i % 40,
            i % 7
        )
        .unwrap();
    }
    out.flush().unwrap();
    drop(out);

    let import = db
        .command()
        .args(["import", "products"])
        .arg(&csv)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let done = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..3)
        .map(|w| {
            let (client, base, done) = (client.clone(), base.clone(), done.clone());
            tokio::spawn(async move {
                let (mut adjusted, mut ordered, mut failures) = (0i64, 0, Vec::new());
                let mut n = 0;
                while !done.load(Ordering::SeqCst) {
                    n += 1;
                    let (path, body) = if n % 2 == 0 {
                        (
                            "/api/v1/orders",
                            serde_json::json!({"order": format!("SO-W{w}-{n}"), "customer": "C-1001",
                                "lines": [{"sku": "COFFEE-DECAF", "qty": 1}]}),
                        )
                    } else {
                        (
                            "/api/v1/stock/adjustments",
                            serde_json::json!({"sku": "LAMP-HEAD", "delta": 1, "reason": "count during import"}),
                        )
                    };
                    let sent = client
                        .post(format!("{base}{path}"))
                        .bearer_auth("import-test-token")
                        .json(&body)
                        .timeout(Duration::from_secs(30))
                        .send()
                        .await;
                    match sent {
                        Ok(r) if r.status().is_success() => {
                            if n % 2 == 0 {
                                ordered += 1;
                            } else {
                                adjusted += 1;
                            }
                        }
                        Ok(r) => failures.push(format!(
                            "{path}: {} {}",
                            r.status(),
                            r.text().await.unwrap_or_default()
                        )),
                        Err(e) => failures.push(format!("{path}: {e}")),
                    }
                }
                (adjusted, ordered, failures)
            })
        })
        .collect();
    let status = tokio::task::spawn_blocking(move || import.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    // A few more writes after the commit (the checkpoint of a large transaction).
    tokio::time::sleep(Duration::from_millis(300)).await;
    done.store(true, Ordering::SeqCst);
    let (mut adjusted, mut ordered, mut failures) = (0, 0, Vec::new());
    for w in writers {
        let (a, o, f) = w.await.unwrap();
        adjusted += a;
        ordered += o;
        failures.extend(f);
    }
    assert!(
        status.status.success(),
        "import failed: {}",
        String::from_utf8_lossy(&status.stderr)
    );
    assert!(
        String::from_utf8_lossy(&status.stdout).contains(&format!("{ROWS} rows, {ROWS} changed")),
        "{}",
        String::from_utf8_lossy(&status.stdout)
    );
    assert!(
        failures.is_empty(),
        "{} failed writes: {:?}",
        failures.len(),
        &failures[..failures.len().min(5)]
    );
    assert!(adjusted > 0 && ordered > 0, "writes ran during the import");

    // The import landed whole, and every write the service acknowledged is there.
    let imported = db.scalar("SELECT COUNT(*) FROM products WHERE sku_key LIKE 'IMP-%'");
    assert_eq!(imported, ROWS as i64);
    let ledger = db.scalar(
        "SELECT COUNT(*) FROM stock_movements m JOIN products p ON p.id = m.product_id
         WHERE p.sku_key LIKE 'IMP-%' AND m.reason = 'import: on_hand'",
    );
    assert_eq!(
        ledger,
        (ROWS - ROWS / 40) as i64,
        "one row per non-zero count"
    );
    let lamp = db.scalar(
            "SELECT on_hand FROM stock_positions sp JOIN products p ON p.id = sp.product_id WHERE p.sku = 'LAMP-HEAD'",
        );
    assert_eq!(lamp, 55 + adjusted);
    let orders = db.scalar("SELECT COUNT(*) FROM orders WHERE order_number LIKE 'SO-W%'");
    assert_eq!(orders, ordered);
}

/// (order number, customer, lines of (SKU, qty)).
type Order = (String, String, Vec<(String, i64)>);

/// Per order line: (order, SKU, qty, units reserved at order time, units backordered), and
/// allocated per product.
async fn order_outcomes(
    t: &common::TestApp,
) -> (Vec<(String, String, i64, i64, i64)>, Vec<(String, i64)>) {
    let lines = t
        .rows(
            "SELECT o.order_number, p.sku, l.qty,
            COALESCE((SELECT CAST(SUM(r.qty) AS BIGINT) FROM reservations r WHERE r.order_line_id = l.id AND r.backorder_id IS NULL), 0),
            COALESCE((SELECT b.qty FROM backorders b WHERE b.order_line_id = l.id), 0)
         FROM order_lines l JOIN orders o ON o.id = l.order_id JOIN products p ON p.id = l.product_id
         WHERE o.order_number LIKE 'SO-F%' ORDER BY o.order_number, p.sku",
        )
        .await;
    let allocated = t
        .rows(
            "SELECT p.sku, sp.allocated FROM stock_positions sp JOIN products p ON p.id = sp.product_id ORDER BY p.sku",
        )
        .await;
    (lines, allocated)
}

#[tokio::test]
async fn an_orders_file_reserves_and_backorders_as_if_its_lines_were_placed_one_by_one() {
    use backorder_bot::app::orders::{place_order, NewOrder};
    let skus = [
        "TENT-2P",
        "TENT-2P-LITE",
        "TENT-3P",
        "BAG-DOWN-M",
        "STOVE-MULTI",
        "COFFEE-1KG",
    ];
    let customers = ["C-1001", "C-1002", "C-1003", "C-1004"];
    let mut rng: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = |n: u64| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng % n
    };
    // 30 orders of one to three distinct SKUs; one row repeated with its quantity.
    let mut orders: Vec<Order> = Vec::new();
    for i in 0..30 {
        let customer = customers[next(4) as usize].to_string();
        let mut lines: Vec<(String, i64)> = Vec::new();
        for _ in 0..1 + next(3) {
            let sku = skus[next(6) as usize].to_string();
            if !lines.iter().any(|(s, _)| *s == sku) {
                lines.push((sku, 1 + next(3) as i64));
            }
        }
        orders.push((format!("SO-F{i:02}"), customer, lines));
    }
    let mut csv = String::from("order,customer,sku,qty,ordered_at\n");
    for (order, customer, lines) in &orders {
        for (sku, qty) in lines {
            csv.push_str(&format!("{order},{customer},{sku},{qty},2026-11-25\n"));
        }
    }
    let (order, customer, lines) = &orders[3];
    csv.push_str(&format!(
        "{order},{customer},{},{},2026-11-25\n",
        lines[0].0, lines[0].1
    ));

    let file = spawn_demo_app().await;
    let r = file.import("orders", &csv).await.unwrap();
    let rows: usize = orders.iter().map(|o| o.2.len()).sum();
    assert_eq!((r.rows, r.changed, r.unchanged), (rows + 1, rows, 1));
    assert!(r.backorders_created > 0);

    let one_by_one = spawn_demo_app().await;
    for (order, customer, lines) in &orders {
        place_order(
            &one_by_one.app,
            &common::TestApp::ops(),
            &NewOrder {
                order: order.clone(),
                customer: customer.clone(),
                ordered_at: Some("2026-11-25T00:00:00Z".parse().unwrap()),
                lines: lines.iter().map(|(s, q)| (s.clone(), *q, None)).collect(),
            },
        )
        .await
        .unwrap();
    }
    let (a, b) = (
        order_outcomes(&file).await,
        order_outcomes(&one_by_one).await,
    );
    assert_eq!(a.0.len(), rows);
    assert!(a.0.iter().any(|l| l.3 > 0) && a.0.iter().any(|l| l.4 > 0));
    assert_eq!(a, b);

    // A file that changes a stored line's quantity, or names another customer's order, is refused.
    let (order, customer, lines) = &orders[0];
    let other = customers.iter().find(|c| *c != customer).unwrap();
    let bad = format!(
        "order,customer,sku,qty\n{order},{customer},{},{}\n{order},{other},{},{}\n",
        lines[0].0,
        lines[0].1 + 1,
        lines[0].0,
        lines[0].1
    );
    let text = file.import("orders", &bad).await.unwrap_err().to_string();
    assert!(
        text.contains("line 2, column qty: order SO-F00 already has"),
        "{text}"
    );
    assert!(
        text.contains("line 3, column customer: order SO-F00 belongs to another customer"),
        "{text}"
    );
}

/// Purchase-order lines are applied set-based: new POs and lines, a changed ETA recorded in the
/// ETA history, statuses from the domain's rules, received quantities respected, and rows that
/// would silently overwrite each other refused.
#[tokio::test]
async fn purchase_order_lines_apply_as_a_set_with_history_statuses_and_checks() {
    let t = spawn_app().await;
    t.import("suppliers", "code,name\nACME,Acme\nBOLT,Bolt\n")
        .await
        .unwrap();
    t.import("products", PRODUCTS).await.unwrap();
    let file = "po,supplier,sku,qty,eta,status\n\
PO-1,ACME,ABC-1,10,2026-12-10,open\n\
PO-1,ACME,ABC-2,5,2026-12-10,open\n\
PO-2,BOLT,ABC-1,4,,open\n\
PO-3,,ABC-3,2,2026-12-20,cancelled\n";
    let r = t.import("purchase-orders", file).await.unwrap();
    assert_eq!((r.rows, r.changed, r.unchanged), (4, 4, 0));
    assert_eq!(t.scalar("SELECT COUNT(*) FROM purchase_orders").await, 3);
    assert_eq!(t.scalar("SELECT COUNT(*) FROM po_lines").await, 4);
    let status = |po: &'static str| {
        let t = &t;
        async move {
            t.row::<(String,)>(&format!(
                "SELECT status FROM purchase_orders WHERE po_number = '{po}'"
            ))
            .await
            .0
        }
    };
    assert_eq!(status("PO-1").await, "open");
    assert_eq!(status("PO-3").await, "cancelled");
    // The stored next ETA (kept by triggers for `/pos`) is the earliest of the lines still
    // expecting units.
    let next_eta_wrong = "SELECT COUNT(*) FROM purchase_orders po WHERE po.next_eta IS DISTINCT FROM
        (SELECT MIN(l.eta) FROM po_lines l WHERE l.po_id = po.id AND l.status IN ('open', 'partially_received'))";
    assert_eq!(t.scalar(next_eta_wrong).await, 0);
    assert_eq!(
        t.scalar("SELECT COUNT(*) FROM purchase_orders WHERE po_number = 'PO-1' AND next_eta = '2026-12-10'")
            .await,
        1
    );
    let again = t.import("purchase-orders", file).await.unwrap();
    assert_eq!((again.changed, again.unchanged), (0, 4));

    // Half of PO-1's ABC-1 arrives; the file then moves its ETA and changes PO-2's supplier.
    backorder_bot::app::purchasing::receive(
        &t.app,
        &common::TestApp::ops(),
        "PO-1",
        Some("ABC-1"),
        Some(6),
    )
    .await
    .unwrap();
    let changed = "po,supplier,sku,qty,eta,status\n\
PO-1,ACME,ABC-1,10,2026-12-15,open\n\
PO-1,ACME,ABC-2,5,2026-12-10,open\n\
PO-2,ACME,ABC-1,4,,open\n";
    let r = t.import("purchase-orders", changed).await.unwrap();
    assert_eq!(
        (r.changed, r.unchanged),
        (2, 1),
        "ETA moved; PO-2's supplier changed"
    );
    assert_eq!(
        t.scalar("SELECT COUNT(*) FROM eta_history WHERE po_line_id IS NOT NULL AND new_eta = '2026-12-15' AND old_eta = '2026-12-10'")
            .await,
        1
    );
    assert_eq!(
        t.scalar("SELECT COUNT(*) FROM purchase_orders po, suppliers s WHERE po.po_number = 'PO-2' AND s.code = 'ACME' AND s.id = po.supplier_id")
            .await,
        1
    );
    assert_eq!(status("PO-1").await, "partially_received");
    assert_eq!(t.scalar(next_eta_wrong).await, 0);

    // A repeated PO and SKU, and a PO whose rows disagree on the supplier: found while reading.
    let bad = "po,supplier,sku,qty,eta,status\n\
PO-4,ACME,ABC-2,1,,open\n\
PO-4,ACME,abc-2,2,,open\n\
PO-5,ACME,ABC-1,1,,open\n\
PO-5,BOLT,ABC-2,1,,open\n";
    let before = t.scalar("SELECT COUNT(*) FROM po_lines").await;
    let refused = |csv: &'static str| {
        let t = &t;
        async move {
            match t.import("purchase-orders", csv).await.unwrap_err() {
                AppError::Import(e) => e,
                other => panic!("expected an import error, got {other:?}"),
            }
        }
    };
    let e = refused(bad).await;
    let found: Vec<(usize, Option<&str>)> = e
        .errors
        .iter()
        .map(|e| (e.line, e.column.as_deref()))
        .collect();
    assert_eq!(found, [(3, Some("sku")), (5, Some("supplier"))], "{e}");
    assert!(e.errors[0].reason.contains("on line 2"), "{e}");
    // Fewer than already received: found against the stored line, inside the write.
    let e = refused("po,supplier,sku,qty\nPO-1,ACME,ABC-2,5\nPO-1,ACME,ABC-1,5\n").await;
    assert_eq!(e.errors.len(), 1, "{e}");
    assert_eq!(
        (e.errors[0].line, e.errors[0].column.as_deref()),
        (3, Some("qty"))
    );
    assert!(e.errors[0].reason.contains("6 already received"), "{e}");
    assert_eq!(t.scalar("SELECT COUNT(*) FROM po_lines").await, before);
    assert_eq!(t.scalar("SELECT COUNT(*) FROM purchase_orders").await, 3);

    // Lines in any ETA order, one undated: the next ETA is the earliest date.
    t.import(
        "purchase-orders",
        "po,sku,qty,eta
PO-6,ABC-1,1,2026-12-20
PO-6,ABC-2,1,2026-12-05
PO-6,ABC-3,1,
",
    )
    .await
    .unwrap();
    assert_eq!(
        t.scalar("SELECT COUNT(*) FROM purchase_orders WHERE po_number = 'PO-6' AND next_eta = '2026-12-05'")
            .await,
        1
    );
    assert_eq!(t.scalar(next_eta_wrong).await, 0);
}

/// Row checks, references and rules of the stored state are one pass: a file lists every bad row
/// at once, whatever the kind of problem, and writes nothing.
#[tokio::test]
async fn every_bad_row_of_every_kind_is_listed_in_one_refusal() {
    let t = spawn_app().await;
    t.import("suppliers", SUPPLIERS).await.unwrap();
    t.import("products", PRODUCTS).await.unwrap();
    let err = t
        .import(
            "purchase-orders",
            "po,supplier,sku,qty,eta\n\
             PO-1,ACME,ABC-1,10,2030-01-10\n\
             PO-2,NOPE,ABC-2,5,\n\
             PO-3,ACME,ABC-1,-4,\n\
             PO-4,ACME,ABC-2,5,\n",
        )
        .await
        .unwrap_err();
    let AppError::Import(e) = err else {
        panic!("expected an import error, got {err:?}")
    };
    let found: Vec<(usize, Option<&str>)> = e
        .errors
        .iter()
        .map(|e| (e.line, e.column.as_deref()))
        .collect();
    assert_eq!(
        found,
        [(2, Some("eta")), (3, Some("supplier")), (4, Some("qty"))],
        "{e}"
    );
    assert_eq!(t.scalar("SELECT COUNT(*) FROM purchase_orders").await, 0);
    assert_eq!(t.scalar("SELECT COUNT(*) FROM po_lines").await, 0);

    // Products: a bad cell and a count below what is allocated, together.
    order_four_of_abc1(&t).await;
    let ledger = t.scalar("SELECT COUNT(*) FROM stock_movements").await;
    let err = t
        .import(
            "products",
            "sku,name,unit_price,on_hand\nABC-1,Blue widget,12.50,3\nABC-2,Red widget,abc,1\n",
        )
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("line 2, column on_hand: 3 is below the 4 units already allocated"),
        "{text}"
    );
    assert!(text.contains("line 3, column unit_price"), "{text}");
    assert_eq!(
        t.scalar("SELECT COUNT(*) FROM stock_movements").await,
        ledger
    );
}

/// The list is capped; the rest are counted.
#[tokio::test]
async fn a_refusal_shows_the_first_fifty_problems_and_counts_the_rest() {
    let t = spawn_app().await;
    let mut csv = String::from("code,name\n");
    for i in 0..60 {
        csv.push_str(&format!("S{i},\n"));
    }
    let text = t.import("suppliers", &csv).await.unwrap_err().to_string();
    assert!(text.contains("60 problem(s)"), "{text}");
    assert!(text.contains("line 51, column name"), "{text}");
    assert!(!text.contains("line 52, column name"), "{text}");
    assert!(text.contains("… and 10 more"), "{text}");
    assert_eq!(t.scalar("SELECT COUNT(*) FROM suppliers").await, 0);
}

/// The sample files in `examples/`, in import order.
const EXAMPLES: [&str; 5] = [
    "suppliers",
    "products",
    "customers",
    "purchase-orders",
    "orders",
];

#[tokio::test]
async fn the_example_csvs_import_cleanly_into_an_empty_shop_in_order() {
    let t = spawn_app().await;
    for kind in EXAMPLES {
        let path = format!("{}/examples/{kind}.csv", env!("CARGO_MANIFEST_DIR"));
        let csv = std::fs::read_to_string(&path).unwrap();
        assert!(!csv.contains("{today"), "{path} holds real dates");
        let report = t
            .import(kind, &csv)
            .await
            .unwrap_or_else(|e| panic!("{path}: {e}"));
        assert!(report.warnings.is_empty(), "{path}: {:?}", report.warnings);
        assert_eq!(report.rows, csv.lines().count() - 1, "{path}");
    }
    assert_eq!(t.scalar("SELECT COUNT(*) FROM orders").await, 9);
    assert_eq!(t.scalar("SELECT COUNT(*) FROM po_lines").await, 5);
    assert!(t.scalar("SELECT COUNT(*) FROM backorders").await > 0);
}

#[test]
fn the_example_csvs_are_the_demo_shop_with_fixed_dates() {
    // Orders placed before the tests' day, PO ETAs inside the next two years from it: each file
    // is importable as it stands, and stays the demo shop's.
    let orders_day = chrono::NaiveDate::from_ymd_opt(2026, 11, 20).unwrap();
    let eta_day = chrono::NaiveDate::from_ymd_opt(2028, 10, 1).unwrap();
    for kind in EXAMPLES {
        let root = env!("CARGO_MANIFEST_DIR");
        let demo = std::fs::read_to_string(format!("{root}/config/demo/{kind}.csv")).unwrap();
        let example = std::fs::read_to_string(format!("{root}/examples/{kind}.csv")).unwrap();
        let day = if kind == "purchase-orders" {
            eta_day
        } else {
            orders_day
        };
        assert_eq!(
            example,
            backorder_bot::app::demo::relative_dates(&demo, day),
            "examples/{kind}.csv is config/demo/{kind}.csv with {{today}} = {day}"
        );
    }
}

/// Customer C1 orders 4 × ABC-1 (allocated from its stock).
async fn order_four_of_abc1(t: &TestApp) {
    t.import("customers", "id,name,email\nC1,Jane Doe,jane@example.com\n")
        .await
        .unwrap();
    t.import("orders", "order,customer,sku,qty\nSO-1,C1,ABC-1,4\n")
        .await
        .unwrap();
}
