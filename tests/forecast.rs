//! Sales history and forecasts through the binary: `import sales`, `forecast --sku`,
//! `forecast --backtest`, against a temp database.

mod common;

use chrono::{Days, NaiveDate, Utc};
use common::run_bot as bot;
use std::path::{Path, PathBuf};

/// An empty shop with the given products (`sku,name,unit_price,on_hand,lead_time_days` rows).
fn shop(dir: &Path, products: &str) -> PathBuf {
    let db = dir.join("forecast.db");
    let (code, _, err) = bot(&db, &["init", "--empty"]);
    assert_eq!(code, 0, "{err}");
    let csv = dir.join("products.csv");
    std::fs::write(
        &csv,
        format!("sku,name,unit_price,on_hand,lead_time_days\n{products}"),
    )
    .unwrap();
    let (code, _, err) = bot(&db, &["import", "products", csv.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    db
}

/// Imports `body` (rows after the sales header) as a sales file: (exit code, stdout, stderr).
fn import_sales(db: &Path, body: &str) -> (i32, String, String) {
    let csv = db.with_file_name("sales.csv");
    std::fs::write(&csv, format!("sku,qty,sold_at,order,customer\n{body}")).unwrap();
    bot(db, &["import", "sales", csv.to_str().unwrap()])
}

fn today() -> NaiveDate {
    Utc::now().date_naive()
}

/// `days` days before today.
fn ago(days: u64) -> NaiveDate {
    today() - Days::new(days)
}

/// One integer from the database, read as another process would.
fn query(db: &Path, sql: &str) -> i64 {
    use sqlx::Connection;
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    rt.block_on(async {
        let url = format!("sqlite://{}", db.display());
        let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
        sqlx::query_scalar(sql).fetch_one(&mut conn).await.unwrap()
    })
}

#[test]
fn importing_the_same_sales_file_twice_changes_nothing_the_second_time() {
    let dir = tempfile::tempdir().unwrap();
    let db = shop(dir.path(), "ABC-1,Widget,1.00,10,\nXYZ-2,Gadget,2.00,5,\n");
    let body = format!(
        "ABC-1,2,{d1},W-1,C1\nABC-1,3,{d1},W-1,C1\nABC-1,1,{d2}T10:00:00Z,,\nABC-1,1,{d2}T10:00:00Z,,\nXYZ-2,4,{d2},W-2,\n",
        d1 = ago(3),
        d2 = ago(2)
    );
    let (code, out, err) = import_sales(&db, &body);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("5 rows, 5 changed, 0 unchanged"), "{out}");
    let demand = "SELECT COALESCE(SUM(units), 0) FROM demand_daily";
    let history = "SELECT COUNT(*) FROM sales_history";
    // W-1's two rows of ABC-1 add up; the two identical rows without an order are two sales.
    assert_eq!(query(&db, demand), 2 + 3 + 1 + 1 + 4);
    assert_eq!(query(&db, history), 4);
    let (code, out, err) = import_sales(&db, &body);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("5 rows, 0 changed, 5 unchanged"), "{out}");
    assert_eq!(query(&db, demand), 11);
    assert_eq!(query(&db, history), 4);
    // On-hand never moves: the stock count already reflects past sales.
    assert_eq!(
        query(&db, "SELECT SUM(on_hand) FROM stock_positions"),
        15,
        "on-hand unchanged"
    );
    // A later file with another quantity for a stored (order, SKU) updates it.
    let (code, out, err) = import_sales(&db, &format!("XYZ-2,1,{},W-2,\n", ago(2)));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("1 row, 1 changed"), "{out}");
    assert_eq!(query(&db, demand), 8);
}

#[test]
fn a_bad_sales_row_is_named_by_line_and_column_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let db = shop(dir.path(), "ABC-1,Widget,1.00,10,\n");
    let body = format!(
        "ABC-1,2,{},W-1,\nABC-1,0,{},W-2,\nNOPE-9,1,{},,\nABC-1,1,yesterday,,\n",
        ago(3),
        ago(2),
        ago(2)
    );
    let (code, _, err) = import_sales(&db, &body);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("nothing was written"), "{err}");
    assert!(err.contains("line 3, column qty"), "{err}");
    assert!(
        err.contains("line 4, column sku: unknown SKU \"NOPE-9\""),
        "{err}"
    );
    assert!(err.contains("line 5, column sold_at"), "{err}");
    assert!(!err.contains("line 2"), "{err}");
    assert_eq!(query(&db, "SELECT COUNT(*) FROM sales_history"), 0);
    assert_eq!(query(&db, "SELECT COUNT(*) FROM demand_daily"), 0);
    // A header without a required column is refused at line 1.
    let csv = db.with_file_name("short.csv");
    std::fs::write(&csv, "sku,qty\nABC-1,1\n").unwrap();
    let (code, _, err) = bot(&db, &["import", "sales", csv.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(
        err.contains("line 1: the header row lacks required column(s): sold_at"),
        "{err}"
    );
}

#[test]
fn an_imported_sale_of_an_order_the_bot_holds_is_not_counted_twice() {
    let dir = tempfile::tempdir().unwrap();
    let db = shop(dir.path(), "ABC-1,Widget,1.00,2,\n");
    let customers = db.with_file_name("customers.csv");
    std::fs::write(&customers, "id,name,email\nC1,Jane Doe,jane@example.com\n").unwrap();
    assert_eq!(
        bot(&db, &["import", "customers", customers.to_str().unwrap()]).0,
        0
    );
    let orders = db.with_file_name("orders.csv");
    // 5 ordered with 2 on hand: 2 reserved, 3 backordered; all 5 are that day's demand.
    std::fs::write(
        &orders,
        format!(
            "order,customer,sku,qty,ordered_at\nSO-1,C1,ABC-1,5,{}\n",
            ago(4)
        ),
    )
    .unwrap();
    let (code, _, err) = bot(&db, &["import", "orders", orders.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let demand = "SELECT COALESCE(SUM(units), 0) FROM demand_daily";
    assert_eq!(query(&db, demand), 5);
    // Shipping the backorder writes a ledger sale for SO-1: the units were counted when ordered.
    for line in [
        "/adjust sku:ABC-1 delta:3 reason:count",
        "/backorder fulfil id:1",
    ] {
        let (code, out, err) = bot(&db, &["ask", line]);
        assert_eq!(code, 0, "{line}: {out} {err}");
    }
    assert_eq!(
        query(
            &db,
            "SELECT COUNT(*) FROM stock_movements WHERE kind = 'sale' AND reference = 'SO-1'"
        ),
        1
    );
    assert_eq!(query(&db, demand), 5);
    // The shop's export holds the same order: kept, not counted again.
    let (code, _, err) = import_sales(&db, &format!("ABC-1,5,{},SO-1,C1\n", ago(4)));
    assert_eq!(code, 0, "{err}");
    assert_eq!(query(&db, demand), 5);
    // An imported order the bot learns of later stops counting once the bot's line arrives.
    let (code, _, err) = import_sales(&db, &format!("ABC-1,3,{},SO-2,C1\n", ago(6)));
    assert_eq!(code, 0, "{err}");
    assert_eq!(query(&db, demand), 8);
    std::fs::write(
        &orders,
        format!(
            "order,customer,sku,qty,ordered_at\nSO-2,C1,ABC-1,3,{}\n",
            ago(5)
        ),
    )
    .unwrap();
    let (code, _, err) = bot(&db, &["import", "orders", orders.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(query(&db, demand), 8);
    assert_eq!(
        query(
            &db,
            &format!("SELECT units FROM demand_daily WHERE day = '{}'", ago(5))
        ),
        3,
        "counted on the bot's order day"
    );
}

#[test]
fn the_example_sales_file_imports_after_the_other_examples() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("examples.db");
    assert_eq!(bot(&db, &["init", "--empty"]).0, 0);
    let root = env!("CARGO_MANIFEST_DIR");
    for kind in [
        "suppliers",
        "products",
        "customers",
        "purchase-orders",
        "orders",
        "sales",
    ] {
        let path = format!("{root}/examples/{kind}.csv");
        let (code, out, err) = bot(&db, &["import", kind, &path]);
        assert_eq!(code, 0, "{path}: {err}");
        assert!(err.is_empty(), "{path}: {err}");
        if kind == "sales" {
            assert!(out.contains("12 rows, 12 changed"), "{out}");
        }
    }
}

/// A shop whose ABC-1 (20 on hand, lead time 9 days) sold 2 a day for the 30 days before today.
fn steady_seller(dir: &Path) -> PathBuf {
    let db = shop(dir, "ABC-1,Widget,1.00,20,9\nIDLE-1,Never sold,1.00,5,\n");
    let body: String = (1..=30)
        .map(|d| format!("ABC-1,2,{},,\n", ago(d)))
        .collect();
    let (code, _, err) = import_sales(&db, &body);
    assert_eq!(code, 0, "{err}");
    db
}

fn forecast_json(db: &Path, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["forecast", "--sku", "ABC-1", "--json"];
    args.extend_from_slice(extra);
    let (code, out, err) = bot(db, &args);
    assert_eq!(code, 0, "{err}");
    serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}"))
}

#[test]
fn a_steady_seller_is_forecast_at_its_rate_with_cover_worked_out_by_hand() {
    let dir = tempfile::tempdir().unwrap();
    let db = steady_seller(dir.path());
    let v = forecast_json(&db, &[]);
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    let mut want = vec![
        "sku",
        "method",
        "alpha",
        "classification",
        "per_day",
        "horizon",
        "days_of_cover",
        "stockout_date",
        "safety_stock",
        "reorder_point",
    ];
    want.sort_unstable();
    let mut got = keys.clone();
    got.sort_unstable();
    assert_eq!(got, want);
    // Every day the same: SES stays at 2 (any α), the one-step errors are 0, and the class is
    // smooth (ADI 1, CV² 0), so auto picks SES.
    assert_eq!(v["sku"], "ABC-1");
    assert_eq!(v["method"], "ses");
    assert_eq!(v["alpha"], 0.1);
    assert_eq!(v["classification"], "smooth");
    assert_eq!(v["horizon"], 14);
    let per_day = v["per_day"].as_array().unwrap();
    assert_eq!(per_day.len(), 14);
    assert!(per_day.iter().all(|d| d.as_f64() == Some(2.0)), "{v}");
    // 20 free at 2 a day: 10 days of cover, out on the 11th forecast day (today + 10).
    assert_eq!(v["days_of_cover"], 10.0);
    assert_eq!(v["stockout_date"], (today() + Days::new(10)).to_string());
    // σ 0: no safety stock; the reorder point is the 9 days of lead time × 2.
    assert_eq!(v["safety_stock"], 0.0);
    assert_eq!(v["reorder_point"], 18.0);

    // 10 units arriving in 5 days push the stock-out 5 days on; days of cover leave inbound out.
    let po = db.with_file_name("po.csv");
    std::fs::write(
        &po,
        format!("po,sku,qty,eta\nPO-1,ABC-1,10,{}\n", today() + Days::new(5)),
    )
    .unwrap();
    assert_eq!(
        bot(&db, &["import", "purchase-orders", po.to_str().unwrap()]).0,
        0
    );
    let v = forecast_json(&db, &["--method", "sba", "--horizon", "3"]);
    // SBA on a series with a sale every day: Croston's size 2 and interval 1, × (1 − 0.1/2).
    assert_eq!(v["method"], "sba");
    let sba = 2.0 * (1.0 - 0.1 / 2.0);
    assert_eq!(v["per_day"].as_array().unwrap().len(), 3);
    assert!(
        (v["per_day"][0].as_f64().unwrap() - sba).abs() < 1e-12,
        "{v}"
    );
    // 20 + 10 units at 1.9 a day run out on day ⌊30 / 1.9⌋ = 15.
    assert_eq!(v["stockout_date"], (today() + Days::new(15)).to_string());
    let (code, out, err) = bot(&db, &["forecast", "--sku", "ABC-1"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("method ses (auto), alpha 0.10, classification smooth"),
        "{out}"
    );
    assert!(
        out.contains("free to promise 20: covers 10.0 days"),
        "{out}"
    );
    assert!(out.contains("inbound 10 units on"), "{out}");
    assert!(
        out.contains("lead time 9 days: safety stock 0.0, reorder point 18.0"),
        "{out}"
    );
}

#[test]
fn bad_forecast_options_are_refused_naming_the_option() {
    let dir = tempfile::tempdir().unwrap();
    let db = steady_seller(dir.path());
    for (args, want) in [
        (&["--sku", "NOPE-1"][..], "unknown SKU \"NOPE-1\""),
        (
            &["--sku", "ABC-1", "--method", "holt"],
            "--method: \"holt\" is not a method",
        ),
        (
            &["--sku", "ABC-1", "--horizon", "0"],
            "--horizon: a horizon of 0 days",
        ),
        (
            &["--sku", "ABC-1", "--horizon", "5000"],
            "--horizon: a horizon of 5000 days",
        ),
        (&["--backtest", "--horizon", "0"], "--horizon"),
        (
            &["--sku", "IDLE-1"],
            "IDLE-1 has no demand recorded before today",
        ),
        (&["--sku", "ABC-1", "--horizon", "x"], "--horizon"),
        (&[], "--sku"),
    ] {
        let mut all = vec!["forecast"];
        all.extend_from_slice(args);
        let (code, out, err) = bot(&db, &all);
        assert_eq!(code, 2, "{args:?}: {out} {err}");
        assert!(err.contains(want), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}

#[test]
fn forecast_settings_come_from_the_forecast_section() {
    let dir = tempfile::tempdir().unwrap();
    let db = steady_seller(dir.path());
    let config = dir.path().join("forecast.toml");
    std::fs::write(
        &config,
        "[forecast]\nalpha = \"optimize\"\nservice_level = 0.9\n",
    )
    .unwrap();
    let (code, out, err) = bot(
        &db,
        &[
            "--config",
            config.to_str().unwrap(),
            "forecast",
            "--sku",
            "ABC-1",
            "--json",
        ],
    );
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    // Constant demand: every α of the grid fits it exactly; the first, 0.05, is kept.
    assert_eq!(v["alpha"], 0.05);
    // A bad value stops start-up naming its key.
    for (toml, key) in [
        ("alpha = 1.5", "forecast.alpha"),
        ("alpha = \"sometimes\"", "forecast.alpha"),
        ("service_level = 1.0", "forecast.service_level"),
    ] {
        std::fs::write(&config, format!("[forecast]\n{toml}\n")).unwrap();
        let args = [
            "--config",
            config.to_str().unwrap(),
            "forecast",
            "--sku",
            "ABC-1",
        ];
        let (code, _, err) = bot(&db, &args);
        assert_eq!(code, 1, "{toml}");
        assert!(err.contains(key), "{toml}: {err}");
    }
}

/// The overall row of `method` in a backtest's output: its WAPE and MASE cells.
fn overall(out: &str, method: &str) -> (String, String) {
    let line = out
        .lines()
        .skip_while(|l| !l.starts_with("overall"))
        .find(|l| l.split_whitespace().next() == Some(method))
        .unwrap_or_else(|| panic!("no overall row for {method}: {out}"));
    let cells: Vec<&str> = line.split_whitespace().collect();
    (cells[1].to_string(), cells[2].to_string())
}

#[test]
fn the_backtest_scores_a_generated_history_as_worked_out_by_hand() {
    let dir = tempfile::tempdir().unwrap();
    let db = shop(
        dir.path(),
        "FLAT-1,Flat,1.00,0,\nFLAT-2,Flat,1.00,0,\nALT-1,Alternating,1.00,0,\nSHORT-1,Short,1.00,0,\n",
    );
    // 60 days of 3 a day for the FLAT SKUs; 10 days for SHORT-1, too few for one origin
    // (28 days of training + 14 ahead). Origins fall on days 28, 35 and 42.
    let mut body = String::new();
    for d in 1..=60 {
        body += &format!("FLAT-1,3,{},,\nFLAT-2,3,{},,\n", ago(d), ago(d));
    }
    for d in 1..=10 {
        body += &format!("SHORT-1,1,{},,\n", ago(d));
    }
    assert_eq!(import_sales(&db, &body).0, 0);
    let (code, out, err) = bot(&db, &["forecast", "--backtest"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("2 SKUs scored, 1 too short"), "{out}");
    // A flat history is forecast exactly by naive, SES and Croston (auto picks SES for a smooth
    // one); SBA's factor 1 − α/2 leaves 5 % of every day's demand out. No SKU has a MASE: the
    // naive in-sample error it divides by is 0.
    for (m, wape) in [
        ("naive", "0.00"),
        ("ses", "0.00"),
        ("croston", "0.00"),
        ("sba", "0.05"),
        ("auto", "0.00"),
    ] {
        assert_eq!(
            overall(&out, m),
            (wape.to_string(), "-".to_string()),
            "{out}"
        );
    }

    // 2, 4, 2, 4 … for 60 days: the naive forecast repeats the last day, so it is off by 2 on
    // every other day of the horizon: WAPE 7 × 2 / (14 × 3) = 0.33; its in-sample naive error
    // is 2 a day, so MASE = mean(error / 2) = 0.50.
    let alt: String = (1..=60)
        .map(|d| format!("ALT-1,{},{},,\n", if d % 2 == 0 { 2 } else { 4 }, ago(d)))
        .collect();
    assert_eq!(import_sales(&db, &alt).0, 0);
    let (code, out, err) = bot(&db, &["forecast", "--backtest", "--horizon", "14"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("3 SKUs scored, 1 too short"), "{out}");
    assert_eq!(
        overall(&out, "naive").1,
        "0.50",
        "only ALT-1 has a MASE: {out}"
    );
    let worst: Vec<&str> = out
        .lines()
        .skip_while(|l| !l.contains("worst SKUs"))
        .skip(2)
        .collect();
    assert_eq!(worst.len(), 1, "only ALT-1 has a MASE to rank by: {out}");
    let cells: Vec<&str> = worst[0].split_whitespace().collect();
    assert_eq!(cells[0], "ALT-1");
    assert_eq!(cells[1], "0.33/0.50", "naive: {out}");
    // SES, Croston and SBA settle near the mean 3, off by about 1 every day: MASE near 0.5.
    for cell in &cells[2..] {
        let mase: f64 = cell.split('/').nth(1).unwrap().parse().unwrap();
        assert!((0.4..0.6).contains(&mase), "{out}");
    }
}

#[test]
fn a_synthetic_shop_with_sales_history_is_refreshed_by_hand_into_every_demand_pattern() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("synthetic.db");
    let (code, _, err) = bot(&db, &["init", "--empty"]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = bot(&db, &["demo-data", "--skus", "10500", "--sales-days", "30"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("daily sales over 30 days"), "{out}");
    // Up to yesterday, from 30 days back.
    assert_eq!(
        query(&db, "SELECT COUNT(*) FROM sales_history WHERE day >= date('now') OR day < date('now', '-30 days')"),
        0
    );
    // Again: SKUs with history are left alone.
    let rows = query(&db, "SELECT COUNT(*) FROM sales_history");
    let (code, _, err) = bot(&db, &["demo-data", "--skus", "10500", "--sales-days", "30"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(query(&db, "SELECT COUNT(*) FROM sales_history"), rows);
    let (code, out, err) = bot(&db, &["forecast", "--refresh"]);
    assert_eq!(code, 0, "{err}");
    // Every SKU with demand before today (imported history, and the synthetic backordered
    // orders), written in pages of 5,000 (read by two tasks, in any order).
    let with_history = query(
        &db,
        "SELECT COUNT(DISTINCT product_id) FROM demand_daily WHERE day < date('now') AND units > 0",
    );
    assert!(with_history > 10_000, "{with_history}");
    assert!(
        out.starts_with(&format!("forecasts refreshed: {with_history} SKUs in ")),
        "{out}"
    );
    assert!(out.contains("(3 writes, the longest "), "{out}");
    assert_eq!(query(&db, "SELECT COUNT(*) FROM forecasts"), with_history);
    assert_eq!(
        query(
            &db,
            "SELECT COUNT(*) FROM stock_positions WHERE forecast_rate IS NOT NULL"
        ),
        with_history
    );
    assert_eq!(
        query(&db, "SELECT COUNT(DISTINCT classification) FROM forecasts"),
        4,
        "smooth, erratic, intermittent and lumpy SKUs"
    );
    assert_eq!(
        query(
            &db,
            "SELECT COUNT(*) FROM forecast_runs WHERE trigger = 'manual' AND status = 'done'"
        ),
        1
    );
}
