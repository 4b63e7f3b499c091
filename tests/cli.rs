//! The binary: `ask` exit codes, `import` errors, two processes on one database, and output into
//! a pipe whose reader goes away. On the test's engine: a SQLite file, or (`TEST_ENGINE=postgres`)
//! a PostgreSQL database of its own ([`common::BotDb`]).

mod common;

use common::BotDb;
use std::io::Read;
use std::process::{Command, Stdio};

/// Runs the real binary on `db`; its exit code, stdout and stderr.
fn bot(db: &BotDb, args: &[&str]) -> (i32, String, String) {
    db.run(args)
}

#[test]
fn ask_exits_0_on_success_and_2_on_wrong_input() {
    let dir = tempfile::tempdir().unwrap();
    let db = BotDb::at(dir.path().join("cli.db"));
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
fn import_reports_counts_with_plurals_that_agree() {
    let dir = tempfile::tempdir().unwrap();
    let db = BotDb::at(dir.path().join("cli.db"));
    let csv = dir.path().join("products.csv");
    std::fs::write(&csv, "sku,name,unit_price\nONE-1,Only one,1.00\n").unwrap();
    let (code, out, err) = bot(&db, &["import", "products", csv.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(": 1 row, 1 changed"), "{out}");
    assert!(out.contains("0 backorders created"), "{out}");
    assert!(!out.contains("1 rows"), "{out}");
}

#[test]
fn import_of_a_bad_file_exits_2_and_names_the_row() {
    let dir = tempfile::tempdir().unwrap();
    let db = BotDb::at(dir.path().join("cli.db"));
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
    let db = BotDb::at(dir.path().join("shared.db"));
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
    let db = BotDb::at(dir.path().join("real.db"));
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
    let (code, out, err) = bot(&db, &["demo-data"]);
    assert_eq!(code, 2, "a refusal is a failure: {out}{err}");
    assert!(err.contains("not empty"), "{err}");
    let (code, out, _) = bot(&db, &["ask", "/stock sku:TENT-2P"]);
    assert_eq!(code, 2, "demo-data refuses a database with rows: {out}");
    // ACME is as imported: re-importing the same file changes nothing.
    let (code, out, _) = bot(&db, &["import", "suppliers", csv.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert!(out.contains("1 row, 0 changed, 1 unchanged"), "{out}");

    // An empty database still gets the demo shop on first start.
    let fresh = BotDb::at(dir.path().join("fresh.db"));
    let (code, out, _) = bot(&fresh, &["ask", "/stock sku:TENT-2P"]);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn demo_data_reports_what_it_added_and_refuses_zero_skus() {
    let dir = tempfile::tempdir().unwrap();
    let db = BotDb::at(dir.path().join("demo.db"));
    assert_eq!(bot(&db, &["migrate"]).0, 0);
    let (code, out, err) = bot(&db, &["demo-data"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains(
            "3 suppliers, 13 products, 7 customers, 3 purchase orders (5 lines), 9 orders"
        ),
        "{out}"
    );
    assert!(out.contains("no customer messages queued"), "{out}");

    let synth = BotDb::at(dir.path().join("synth.db"));
    let (code, out, err) = bot(&synth, &["demo-data", "--skus", "0"]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(err.contains("--skus"), "{err}");
    let (code, out, _) = bot(&synth, &["ask", "/stock SYN-0000001"]);
    assert_ne!(code, 0, "nothing was created: {out}");
}

#[tokio::test]
async fn loading_the_demo_shop_queues_no_customer_messages() {
    let t = common::spawn_demo_app().await;
    assert!(t.scalar("SELECT COUNT(*) FROM backorders").await > 0);
    assert_eq!(t.scalar("SELECT COUNT(*) FROM outbox").await, 0);
}

#[test]
fn init_empty_starts_a_shop_that_never_gets_the_demo_data() {
    let dir = tempfile::tempdir().unwrap();
    let db = BotDb::at(dir.path().join("own.db"));
    let (code, out, err) = bot(&db, &["init", "--empty"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("empty shop"), "{out}");
    // First start of a chat surface: still no demo shop.
    let (code, out, _) = bot(&db, &["ask", "/stock TENT-2P"]);
    assert_eq!(code, 2, "no demo shop: {out}");
    let (code, _, err) = bot(&db, &["demo-data"]);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = bot(&db, &["init"]);
    assert_eq!(code, 2, "init refuses a database that holds a shop: {err}");
    assert!(err.contains("--reset"), "{err}");
}

#[test]
fn init_reset_asks_first_and_without_a_terminal_needs_yes() {
    let dir = tempfile::tempdir().unwrap();
    let db = BotDb::at(dir.path().join("shop.db"));
    let (code, out, err) = bot(&db, &["init"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("the demo shop"), "{out}");
    if common::on_postgres() {
        // Resetting deletes a SQLite file: on PostgreSQL it refuses, whatever the flags, and
        // says how to start over; the shop is intact.
        let (code, _, err) = bot(&db, &["init", "--reset", "--yes", "--empty"]);
        assert_eq!(code, 2, "{err}");
        assert!(err.contains("dropdb"), "{err}");
        assert_eq!(
            bot(&db, &["ask", "/stock TENT-2P"]).0,
            0,
            "the shop is intact"
        );
        return;
    }
    // No terminal on stdin: refused, nothing deleted.
    let (code, _, err) = bot(&db, &["init", "--reset", "--empty"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--yes"), "{err}");
    assert_eq!(
        bot(&db, &["ask", "/stock TENT-2P"]).0,
        0,
        "the shop is intact"
    );
    let (code, out, err) = bot(&db, &["init", "--reset", "--yes", "--empty"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        bot(&db, &["ask", "/stock TENT-2P"]).0,
        2,
        "the shop is gone"
    );
}

/// The binary with its stdout on a pipe (stderr captured), for a reader that goes away early.
fn spawn_piped(db: &BotDb, args: &[&str]) -> std::process::Child {
    db.command()
        .args(args)
        .env("RUST_BACKTRACE", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Waits for the child; returns its exit code and stderr.
fn finish(mut child: std::process::Child) -> (Option<i32>, String) {
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    (child.wait().unwrap().code(), err)
}

/// `check --json | head -c 100`: megabytes of JSON into a pipe whose reader stops after the first
/// bytes. The command stops quietly, as a Unix tool does: no panic, no backtrace, no error text,
/// exit status 141 (128 + SIGPIPE) so a pipeline knows the output was cut short.
#[test]
fn check_json_into_a_pipe_closed_early_stops_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let db = BotDb::at(dir.path().join("cli.db"));
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        "[discord]\nalert_channel_id = 1500000000000000001\n\n[[alerts.rules]]\nname = \"nightly\"\nschedule = \"0 7 * * *\"\nmin_severity = \"low\"\n",
    )
    .unwrap();
    let config = config.to_str().unwrap();
    let csv = dir.path().join("products.csv");
    let mut rows =
        String::from("sku,name,unit_price,on_hand,reorder_point,safety_stock,reorder_qty\n");
    for i in 0..4000 {
        rows.push_str(&format!("LOW-{i:04},Low item {i},1.00,1,5,0,10\n"));
    }
    std::fs::write(&csv, rows).unwrap();
    let (code, out, err) = bot(&db, &["import", "products", csv.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    let (code, out, err) = bot(&db, &["--config", config, "check", "--json"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.len() > 1 << 20,
        "the output ({} bytes) is far more than a pipe holds",
        out.len()
    );

    let mut child = spawn_piped(&db, &["--config", config, "check", "--json"]);
    let mut head = [0u8; 100];
    child
        .stdout
        .as_mut()
        .unwrap()
        .read_exact(&mut head)
        .unwrap();
    assert!(head.starts_with(b"["), "{}", String::from_utf8_lossy(&head));
    drop(child.stdout.take());
    let (code, err) = finish(child);
    assert_eq!(code, Some(141), "stderr: {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(!err.contains("backtrace"), "{err}");
    assert!(err.trim().is_empty(), "nothing on stderr: {err}");
}

/// `ask` with a command that writes, its reader gone before the reply: the write is applied
/// once and in full (it committed before the reply was printed), and the command stops quietly.
#[test]
fn a_write_whose_reply_meets_a_closed_pipe_is_applied_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = BotDb::at(dir.path().join("cli.db"));
    assert_eq!(bot(&db, &["ask", "/help"]).0, 0);
    let mut child = spawn_piped(
        &db,
        &[
            "ask",
            "/adjust sku:LAMP-HEAD delta:1 reason:\"pipe closed\"",
        ],
    );
    drop(child.stdout.take());
    let (code, err) = finish(child);
    assert_eq!(code, Some(141), "stderr: {err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(err.trim().is_empty(), "nothing on stderr: {err}");
    let (_, out, _) = bot(&db, &["ask", "/stock sku:LAMP-HEAD"]);
    assert!(out.contains("On hand: 56"), "55 + 1, once: {out}");

    // The same for an import: its rows are in, once.
    let csv = dir.path().join("products.csv");
    std::fs::write(&csv, "sku,name,unit_price,on_hand\nPIPE-1,Piped,1.00,7\n").unwrap();
    let mut child = spawn_piped(&db, &["import", "products", csv.to_str().unwrap()]);
    drop(child.stdout.take());
    let (code, err) = finish(child);
    assert_eq!(code, Some(141), "stderr: {err}");
    assert!(err.trim().is_empty(), "nothing on stderr: {err}");
    let (_, out, _) = bot(&db, &["ask", "/stock sku:PIPE-1"]);
    assert!(out.contains("On hand: 7"), "{out}");
}

#[test]
fn ask_takes_input_as_people_type_it_and_import_names_a_semicolon_separator() {
    let dir = tempfile::tempdir().unwrap();
    let db = BotDb::at(dir.path().join("cli.db"));
    let (code, out, _) = bot(&db, &["ask", "/search rain jacket"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("JACKET-RAIN-M"), "{out}");
    let (code, out, _) = bot(&db, &["ask", "/backorder #2"]);
    assert_eq!(code, 0, "{out}");
    let (code, out, _) = bot(&db, &["ask", "/backorders page:99999999999999999999"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("is too large (at most 100000)"), "{out}");
    let csv = dir.path().join("suppliers.csv");
    std::fs::write(&csv, "code;name\nACME;Acme\n").unwrap();
    let (code, _, err) = bot(&db, &["import", "suppliers", csv.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("the separator must be a comma"), "{err}");
}
