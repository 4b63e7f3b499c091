//! CSV import: set-based products, and an import in another process next to the running service.

mod common;

use backorder_bot::app::AppError;
use common::spawn_app;
use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const SUPPLIERS: &str = "code,name,lead_time_days\nACME,Acme,10\n";
const PRODUCTS: &str = "sku,name,unit_price,on_hand,supplier,substitutes\n\
ABC-1,Blue widget,12.50,5,ACME,abc-2\n\
ABC-2,Red widget,13.00,8,ACME,\n\
ABC-3,Green widget,14.00,,,ABC-1;ABC-2\n";

#[tokio::test]
async fn products_write_one_ledger_row_per_changed_count_and_replace_substitutes() {
    let t = spawn_app(false, &[]).await;
    t.import("suppliers", SUPPLIERS).await.unwrap();
    let r = t.import("products", PRODUCTS).await.unwrap();
    assert_eq!((r.rows, r.changed, r.unchanged), (3, 3, 0));
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
    let t = spawn_app(false, &[]).await;
    t.import("suppliers", SUPPLIERS).await.unwrap();
    t.import("products", PRODUCTS).await.unwrap();
    t.import("customers", "id,name,email\nC1,Jane Doe,jane@example.com\n")
        .await
        .unwrap();
    t.import("orders", "order,customer,sku,qty\nSO-1,C1,ABC-1,4\n")
        .await
        .unwrap();
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
    let t = spawn_app(true, &[]).await;
    let before = t
        .scalar("SELECT COALESCE(SUM(b.qty_allocated), 0) FROM backorders b JOIN products p ON p.id = b.product_id WHERE p.sku = 'TENT-2P'")
        .await;
    assert_eq!(before, 0);
    t.import(
        "products",
        "sku,name,category,unit_price,on_hand,supplier,substitutes\nTENT-2P,Trailhead 2-person tent,tents,249.00,10,ACME,TENT-2P-LITE;TENT-3P\n",
    )
    .await
    .unwrap();
    let after = t
        .scalar("SELECT COALESCE(SUM(b.qty_allocated), 0) FROM backorders b JOIN products p ON p.id = b.product_id WHERE p.sku = 'TENT-2P'")
        .await;
    assert_eq!(after, 4, "the three open backorders (4 units) are served");
}

fn bot() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_backorder-bot"));
    c.env("RUST_LOG", "warn").env_remove("DISCORD_TOKEN");
    c
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
    let db = dir.path().join("shared.db");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let log = std::fs::File::create(dir.path().join("service.log")).unwrap();
    let _service = Service(
        bot()
            .arg("--db")
            .arg(&db)
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

    let import = bot()
        .arg("--db")
        .arg(&db)
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
    let pool = sqlx::SqlitePool::connect(&format!("sqlite:{}", db.display()))
        .await
        .unwrap();
    let imported: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM products WHERE sku_key LIKE 'IMP-%'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(imported, ROWS as i64);
    let ledger: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM stock_movements m JOIN products p ON p.id = m.product_id
         WHERE p.sku_key LIKE 'IMP-%' AND m.reason = 'import: on_hand'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        ledger,
        (ROWS - ROWS / 40) as i64,
        "one row per non-zero count"
    );
    let lamp: i64 = sqlx::query_scalar(
        "SELECT on_hand FROM stock_positions sp JOIN products p ON p.id = sp.product_id WHERE p.sku = 'LAMP-HEAD'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(lamp, 55 + adjusted);
    let orders: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM orders WHERE order_number LIKE 'SO-W%'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(orders, ordered);
}
