//! The binary: `ask` exit codes, `import` errors, and two processes on one database file.

mod common;

use common::run_bot as bot;
use std::process::Command;

#[test]
fn ask_exits_0_on_success_and_2_on_wrong_input() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cli.db");
    let (code, out, _) = bot(&db, &["ask", "/stock sku:TENT-2P"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("Open backorders: 3 (4 units)"), "{out}");
    let (code, out, _) = bot(&db, &["ask", "/stock sku:TENT-9Z"]);
    assert_eq!(code, 2);
    assert!(out.contains("unknown SKU \"TENT-9Z\""), "{out}");
    let (code, out, _) = bot(&db, &["ask", "/backorders page:x"]);
    assert_eq!(code, 2, "{out}");
}

#[test]
fn import_of_a_bad_file_exits_2_and_names_the_row() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cli.db");
    let csv = dir.path().join("products.csv");
    std::fs::write(
        &csv,
        "sku,name,unit_price\nOK-1,Fine,1.00\nBAD-2,Broken,abc\n",
    )
    .unwrap();
    let (code, _, err) = bot(&db, &["import", "products", csv.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("line 3, column unit_price"), "{err}");
    let (code, _, err) = bot(&db, &["import", "widgets", csv.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("unknown import kind"), "{err}");
    let (code, out, _) = bot(&db, &["ask", "/search query:OK"]);
    assert_eq!(code, 0);
    assert!(!out.contains("OK-1"), "nothing was imported: {out}");
}

#[test]
fn bad_config_fails_at_once_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_backorder-bot"))
        .arg("--db")
        .arg(dir.path().join("x.db"))
        .args(["ask", "/help"])
        .env("BACKORDER_BOT__HTTP__BIND", "not-an-address")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("http.bind"));
}

#[test]
fn several_processes_share_one_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shared.db");
    assert_eq!(bot(&db, &["ask", "/help"]).0, 0);
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let db = db.clone();
            std::thread::spawn(move || {
                bot(
                    &db,
                    &[
                        "ask",
                        "/adjust sku:LAMP-HEAD delta:1 reason:\"parallel count\"",
                    ],
                )
            })
        })
        .collect();
    for h in handles {
        let (code, out, err) = h.join().unwrap();
        assert_eq!(code, 0, "{out}{err}");
    }
    let (_, out, _) = bot(&db, &["ask", "/stock sku:LAMP-HEAD"]);
    assert!(
        out.contains("On hand: 59"),
        "55 + 4 parallel adjustments: {out}"
    );
}

#[test]
fn demo_data_goes_only_into_a_database_without_rows_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("real.db");
    let csv = dir.path().join("suppliers.csv");
    std::fs::write(
        &csv,
        "code,name,phone\nACME,Acme Real Supplies Ltd,+4930999999\n",
    )
    .unwrap();
    assert_eq!(bot(&db, &["migrate"]).0, 0);
    let (code, out, err) = bot(&db, &["import", "suppliers", csv.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, _) = bot(&db, &["ask", "/help"]);
    assert_eq!(code, 0, "{out}");
    let (code, out, _) = bot(&db, &["ask", "/stock sku:TENT-2P"]);
    assert_eq!(code, 2, "the demo shop was not loaded: {out}");
    let (code, out, _) = bot(&db, &["demo-data"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("not empty"), "{out}");
    let (code, out, _) = bot(&db, &["ask", "/stock sku:TENT-2P"]);
    assert_eq!(code, 2, "demo-data refuses a database with rows: {out}");
    // ACME is as imported: re-importing the same file changes nothing.
    let (code, out, _) = bot(&db, &["import", "suppliers", csv.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert!(out.contains("1 rows, 0 changed, 1 unchanged"), "{out}");

    // An empty database still gets the demo shop on first start.
    let fresh = dir.path().join("fresh.db");
    let (code, out, _) = bot(&fresh, &["ask", "/stock sku:TENT-2P"]);
    assert_eq!(code, 0, "{out}");
}
