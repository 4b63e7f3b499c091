//! The foundation: migrations, CSV import, the read commands and their errors.

mod common;

use backorder_bot::app::AppError;
use common::{spawn_app, spawn_app_with, spawn_demo_app, spawn_demo_app_with};

const SUPPLIERS: &str =
    "code,name,email,phone,lead_time_days\nACME,Acme,o@acme.example,+4930123456,10\n";
const PRODUCTS: &str = "sku,name,category,unit_price,on_hand,reorder_point,safety_stock,reorder_qty,lead_time_days,supplier,substitutes,colour\n\
ABC-1,Blue widget,widgets,12.50,5,2,1,10,,ACME,ABC-2,blue\n\
ABC-2,Red widget,widgets,13.00,8,2,1,10,,ACME,,red\n";
const CUSTOMERS: &str = "id,name,email,phone,tier,channel,timezone\nC1,Jane Doe,jane@example.com,+15551234567,gold,sms,America/New_York\nC2,John Roe,john@example.com,,standard,email,UTC\n";

#[tokio::test]
async fn migrations_run_on_an_empty_file() {
    let t = spawn_app().await;
    assert_eq!(t.scalar("SELECT COUNT(*) FROM products").await, 0);
    assert!(t.scalar("SELECT COUNT(*) FROM _sqlx_migrations").await >= 1);
    // Foreign keys are enforced (SQLite checks them only when its connection is told to).
    let orphan = t
        .app
        .store
        .execute_sql("INSERT INTO stock_positions (product_id, on_hand) VALUES (4242, 1)")
        .await;
    assert!(
        format!("{:#}", orphan.unwrap_err())
            .to_lowercase()
            .contains("foreign key"),
        "a position of no product"
    );
    if common::on_postgres() {
        // WAL and the pragmas below are SQLite's.
        return;
    }
    assert_eq!(t.scalar("PRAGMA foreign_keys").await, 1);
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(t.app.store.pool())
        .await
        .unwrap();
    assert_eq!(mode, "wal");
}

/// `.cargo/config.toml` builds the bundled SQLite with a page cache per connection and no
/// global allocation counters (both take a process-wide mutex on every page or allocation,
/// which concurrent reads queue on).
#[tokio::test]
async fn sqlite_is_built_without_process_wide_locks_on_reads() {
    if common::on_postgres() {
        eprintln!("sqlite_is_built_without_process_wide_locks_on_reads: SQLite only: the bundled SQLite's compile options");
        return;
    }
    let t = spawn_app().await;
    let option = |name: &str| {
        format!("SELECT COUNT(*) FROM pragma_compile_options WHERE compile_options = '{name}'")
    };
    assert_eq!(t.scalar(&option("ENABLE_MEMORY_MANAGEMENT")).await, 0);
    assert_eq!(t.scalar(&option("DEFAULT_MEMSTATUS=0")).await, 1);
    assert_eq!(t.scalar(&option("ENABLE_FTS5")).await, 1);
}

/// The reads people wait on map the database file; other connections (writes, imports, alert
/// evaluations) do not, so what they read once does not stay mapped in the process.
#[tokio::test]
async fn only_reader_connections_map_the_database_file() {
    use backorder_bot::store::Engine;
    let t = spawn_app().await;
    let mmap = "PRAGMA mmap_size";
    let mut reader = t.app.store.reader().await.unwrap();
    // SQLite only: a memory map is SQLite's (on PostgreSQL a reader is a connection of the
    // store's pool).
    if !common::on_postgres() {
        let mapped: i64 = sqlx::query_scalar(mmap)
            .fetch_one(reader.as_sqlite())
            .await
            .unwrap();
        assert_eq!(mapped, backorder_bot::store::READER_MAP_BYTES);
        let mut conn = t.app.store.conn().await.unwrap();
        let plain: i64 = sqlx::query_scalar(mmap)
            .fetch_one(conn.as_sqlite())
            .await
            .unwrap();
        assert_eq!(plain, 0);
    }
    // A reader opened before a write sees it once committed (its next read starts after it).
    t.import("suppliers", SUPPLIERS).await.unwrap();
    t.import("products", PRODUCTS).await.unwrap();
    let count = "SELECT COUNT(*) FROM products";
    let n: i64 = match reader.engine() {
        Engine::Sqlite(c) => sqlx::query_scalar(count).fetch_one(&mut *c).await,
        Engine::Postgres(c) => sqlx::query_scalar(count).fetch_one(&mut *c).await,
    }
    .unwrap();
    assert_eq!(n, 2);
}

/// Reader connections are reused, never more than `database.reader_connections` at once, the
/// longest waiting request served first; a request dropped inside a read transaction leaves
/// no old snapshot behind, and a connection still inside a transaction is not handed back.
#[tokio::test]
async fn readers_are_shared_in_turn_and_a_dropped_request_leaves_no_snapshot() {
    use std::time::Duration;
    if common::on_postgres() {
        eprintln!(
            "readers_are_shared_in_turn_and_a_dropped_request_leaves_no_snapshot: SQLite only: \
             the reader pool is SQLite's own (on PostgreSQL `reader()` is a connection of the \
             store's sqlx pool, which rolls back and hands back or closes on its own)"
        );
        return;
    }
    let t = spawn_app_with(&[("BACKORDER_BOT__DATABASE__READER_CONNECTIONS", "2")]).await;
    let store = t.app.store.clone();
    let mut a = store.reader().await.unwrap();
    sqlx::query("CREATE TEMP TABLE marker (x)")
        .execute(a.as_sqlite())
        .await
        .unwrap();
    let b = store.reader().await.unwrap();
    // A third waits for one of the two.
    let waiting = tokio::spawn({
        let store = store.clone();
        async move { store.reader().await.unwrap() }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!waiting.is_finished(), "a third connection was opened");
    drop(a);
    let mut c = tokio::time::timeout(Duration::from_secs(5), waiting)
        .await
        .expect("the waiting request gets the connection handed back")
        .unwrap();
    // The same connection (its temporary table is there), not a new one.
    sqlx::query("SELECT COUNT(*) FROM marker")
        .execute(c.as_sqlite())
        .await
        .unwrap();
    drop((b, c));
    // A request dropped half-way through a read transaction on it.
    let request = tokio::spawn({
        let store = store.clone();
        async move {
            let mut r = store.reader().await.unwrap();
            sqlx::query("DROP TABLE temp.marker")
                .execute(r.as_sqlite())
                .await
                .unwrap();
            let mut tx = sqlx::Connection::begin(r.as_sqlite()).await.unwrap();
            let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM products")
                .fetch_one(&mut *tx)
                .await
                .unwrap();
            assert_eq!(n, 0);
            std::future::pending::<()>().await;
        }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    request.abort();
    assert!(request.await.unwrap_err().is_cancelled());
    t.import("suppliers", SUPPLIERS).await.unwrap();
    t.import("products", PRODUCTS).await.unwrap();
    for _ in 0..2 {
        let mut r = store.reader().await.unwrap();
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM products")
            .fetch_one(r.as_sqlite())
            .await
            .unwrap();
        assert_eq!(n, 2, "a reader still in the dropped request's snapshot");
    }
    // A connection dropped while still inside a transaction is closed, not handed back.
    {
        let mut r = store.reader().await.unwrap();
        sqlx::query("CREATE TEMP TABLE marker (x)")
            .execute(r.as_sqlite())
            .await
            .unwrap();
        std::mem::forget(sqlx::Connection::begin(r.as_sqlite()).await.unwrap());
    }
    for _ in 0..2 {
        let mut r = store.reader().await.unwrap();
        let marker = sqlx::query("SELECT COUNT(*) FROM marker")
            .execute(r.as_sqlite())
            .await;
        assert!(
            marker.is_err(),
            "the connection left in a transaction came back"
        );
    }
    // Closed: no more readers.
    store.close().await;
    assert!(store.reader().await.is_err());
}

#[tokio::test]
async fn each_import_kind_loads_and_reimport_changes_nothing() {
    let t = spawn_app().await;
    let r = t.import("suppliers", SUPPLIERS).await.unwrap();
    assert_eq!((r.rows, r.changed), (1, 1));
    let r = t.import("products", PRODUCTS).await.unwrap();
    assert_eq!((r.rows, r.changed), (2, 2));
    assert_eq!(r.warnings.len(), 1, "one warning for the unknown column");
    assert!(r.warnings[0].contains("colour"));
    t.import("customers", CUSTOMERS).await.unwrap();
    t.import(
        "purchase-orders",
        "po,supplier,sku,qty,eta,status\nPO-1,ACME,ABC-1,20,2026-12-10,open\n",
    )
    .await
    .unwrap();
    let orders = "order,customer,sku,qty,unit_price,ordered_at\nSO-1,C1,ABC-1,7,12.50,2026-11-20\n";
    let r = t.import("orders", orders).await.unwrap();
    assert_eq!(r.backorders_created, 1);

    let ledger_rows = t.scalar("SELECT COUNT(*) FROM stock_movements").await;
    for (kind, csv) in [
        ("suppliers", SUPPLIERS),
        ("products", PRODUCTS),
        ("customers", CUSTOMERS),
        (
            "purchase-orders",
            "po,supplier,sku,qty,eta,status\nPO-1,ACME,ABC-1,20,2026-12-10,open\n",
        ),
        ("orders", orders),
    ] {
        let again = t.import(kind, csv).await.unwrap();
        assert_eq!(again.changed, 0, "{kind} re-import changed rows");
        assert_eq!(again.unchanged, again.rows, "{kind}");
    }
    assert_eq!(
        t.scalar("SELECT COUNT(*) FROM stock_movements").await,
        ledger_rows
    );
    assert_eq!(
        t.scalar("SELECT COUNT(*) FROM reservations").await,
        1,
        "orders are not reserved twice"
    );
    assert_eq!(t.scalar("SELECT COUNT(*) FROM backorders").await, 1);
}

#[tokio::test]
async fn order_import_reserves_stock_and_backorders_the_shortfall() {
    let t = spawn_app().await;
    t.import("suppliers", SUPPLIERS).await.unwrap();
    t.import("products", PRODUCTS).await.unwrap();
    t.import("customers", CUSTOMERS).await.unwrap();
    t.import(
        "orders",
        "order,customer,sku,qty,unit_price,ordered_at\nSO-1,C1,ABC-1,7,12.50,2026-11-20\n",
    )
    .await
    .unwrap();
    assert_eq!(t.scalar("SELECT allocated FROM stock_positions sp JOIN products p ON p.id = sp.product_id WHERE p.sku = 'ABC-1'").await, 5);
    assert_eq!(t.scalar("SELECT qty FROM backorders").await, 2);
    // No PO: the shortfall is promised after the supplier's lead time, as an estimate.
    let text = t.ok("/backorders sku:abc-1").await;
    assert!(text.contains("2 × ABC-1"), "{text}");
    assert!(text.contains("~2026-12-06 (estimated)"), "{text}");
    assert!(text.contains("Jane D."), "{text}");
    assert!(
        !text.contains("jane@example.com") && !text.contains("+1555"),
        "no PII: {text}"
    );
}

#[tokio::test]
async fn a_bad_file_writes_nothing_and_names_each_bad_row_and_column() {
    let t = spawn_app().await;
    t.import("suppliers", SUPPLIERS).await.unwrap();
    let bad = "sku,name,unit_price,on_hand,supplier\nGOOD-1,Fine,1.00,3,ACME\nBAD 2,Space,1.00,1,ACME\nBAD-3,Price,12.345,1,ACME\nBAD-4,Supplier,1.00,-1,NOPE\n";
    let err = t.import("products", bad).await.unwrap_err();
    let AppError::Import(errors) = &err else {
        panic!("{err}")
    };
    let text = err.to_string();
    assert!(text.contains("nothing was written"), "{text}");
    assert!(text.contains("line 3, column sku"), "{text}");
    assert!(text.contains("line 4, column unit_price"), "{text}");
    assert!(text.contains("line 5, column on_hand"), "{text}");
    assert!(
        text.contains("line 5, column supplier: unknown supplier \"NOPE\""),
        "{text}"
    );
    assert_eq!(errors.errors.len(), 4);
    assert_eq!(
        t.scalar("SELECT COUNT(*) FROM products").await,
        0,
        "the good row was not written either"
    );
    assert_eq!(t.scalar("SELECT COUNT(*) FROM stock_movements").await, 0);

    let err = t.import("customers", "id,name\n").await;
    assert!(err.is_ok(), "an empty file is fine");
    let err = t
        .import("customers", "name,email\nX,x@example.com\n")
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("lacks required column(s): id"),
        "{err}"
    );
    let err = t
        .import(
            "customers",
            "id,name,email,phone,tier,channel\nC9,Bad,not-mail,0151,platinum,sms\n",
        )
        .await
        .unwrap_err();
    let text = err.to_string();
    for col in ["email", "phone", "tier"] {
        assert!(text.contains(&format!("column {col}")), "{col}: {text}");
    }
}

#[tokio::test]
async fn stock_shows_the_position_and_alternatives_when_out() {
    let t = spawn_demo_app().await;
    let text = t.ok("/stock sku:tent-2p").await;
    for expected in [
        "TENT-2P — Trailhead 2-person tent",
        "BACKORDERED",
        "On hand: 0",
        "Open backorders: 3 (4 units)",
        "PO-1001: 12 due 2026-12-02",
        "TENT-3P",
        "substitute",
    ] {
        assert!(text.contains(expected), "missing {expected}: {text}");
    }
    let text = t.ok("/stock sku:LAMP-HEAD").await;
    assert!(text.contains("Status: OK"), "{text}");
    assert!(!text.contains("In stock instead"), "{text}");
}

#[tokio::test]
async fn stock_does_not_offer_an_alternative_whose_free_units_are_owed_to_backorders() {
    let t = spawn_app_with(&[("BACKORDER_BOT__FULFILMENT__ALLOW_PARTIAL", "false")]).await;
    t.import("suppliers", SUPPLIERS).await.unwrap();
    t.import(
        "products",
        "sku,name,category,unit_price,on_hand,reorder_point,safety_stock,reorder_qty,lead_time_days,supplier,substitutes\n\
         MS-200,Mouse,mice,10.00,0,2,1,10,,ACME,MS-201\n\
         MS-201,Mouse two,mice,10.00,0,2,1,10,,ACME,\n\
         MS-202,Mouse three,mice,10.00,3,2,1,10,,ACME,\n",
    )
    .await
    .unwrap();
    t.import("customers", CUSTOMERS).await.unwrap();
    t.import(
        "orders",
        "order,customer,sku,qty,unit_price,ordered_at\nSO-1,C1,MS-201,45,10.00,2026-11-20\n",
    )
    .await
    .unwrap();
    t.ok("/adjust sku:MS-201 delta:40 reason:restock").await;
    assert_eq!(
        t.scalar("SELECT COUNT(*) FROM backorders WHERE status = 'open' AND qty_allocated = 0")
            .await,
        1,
        "without partial allocation the 45 stay open and the 40 stay owed"
    );
    let text = t.ok("/stock sku:MS-200").await;
    assert!(!text.contains("MS-201"), "all of MS-201 is owed: {text}");
    assert!(text.contains("MS-202 — Mouse three (3 available"), "{text}");
}

#[tokio::test]
async fn unknown_sku_names_it_and_suggests_the_closest() {
    let t = spawn_demo_app().await;
    let text = t.user_error("/stock sku:TENT-2X").await;
    assert!(text.contains("unknown SKU \"TENT-2X\""), "{text}");
    assert!(text.contains("did you mean TENT-2P"), "{text}");
}

#[tokio::test]
async fn read_commands_answer() {
    let t = spawn_demo_app().await;
    let text = t.ok("/search query:tent").await;
    assert!(
        text.contains("TENT-2P") && text.contains("TENT-3P"),
        "{text}"
    );
    let text = t.ok("/search query:\"sleeping bag\"").await;
    assert!(
        text.contains("BAG-DOWN-M") && !text.contains("TENT"),
        "{text}"
    );
    let text = t.ok("/backorders status:open").await;
    assert!(text.contains("Backorders (7)"), "{text}");
    let text = t.ok("/backorders customer:C-1006").await;
    assert!(
        text.contains("JACKET-RAIN-M") && !text.contains("TENT"),
        "{text}"
    );
    let text = t.ok("/backorder id:2").await;
    assert!(
        text.contains("Priority:") && text.contains("tier 100.0"),
        "{text}"
    );
    let text = t.ok("/po id:po-1002").await;
    assert!(
        text.contains("BAG-DOWN-M: 24 ordered, 0 received"),
        "{text}"
    );
    let text = t.ok("/help").await;
    assert!(
        text.contains("/eta po: date: reason: [sku:] [preview:]"),
        "{text}"
    );
}

#[tokio::test]
async fn lists_page_within_discords_limits() {
    let t = spawn_demo_app_with(&[("BACKORDER_BOT__CONSOLE__PAGE_SIZE", "3")]).await;
    let (reply, _) = t.ask("/backorders").await;
    let paging = reply.paging.clone().expect("paged");
    assert_eq!((paging.page, paging.pages), (1, 3));
    assert_eq!(reply.lines.len(), 3);
    let text = t.ok("/backorders page:3").await;
    assert!(text.contains("page 3/3"), "{text}");
    assert!(reply.to_text().chars().count() <= 2000);
    let err = t.user_error("/backorders page:4").await;
    assert!(err.contains("page: there are only 3"), "{err}");
}

#[tokio::test]
async fn wrong_input_for_each_option_is_a_user_error_with_a_reason() {
    let t = spawn_demo_app().await;
    for (line, expected) in [
        ("/stock", "sku: is required"),
        ("/stock sku:\"A B\"", "sku: \"A B\" has a character"),
        (
            "/stock sku:TENT-2P colour:red",
            "colour: unknown option for /stock",
        ),
        ("/stock TENT-2P TENT-3P", "too many values"),
        ("/nope", "unknown command /nope"),
        ("/search query:\"\"", "query: cannot be empty"),
        ("/backorders status:lost", "status: \"lost\" is not one of"),
        (
            "/backorders page:zero",
            "page: \"zero\" is not a whole number",
        ),
        ("/backorders customer:C-404", "no customer \"C-404\""),
        ("/backorders sku:NOPE-1", "unknown SKU \"NOPE-1\""),
        ("/backorder id:abc", "id: \"abc\" is not a whole number"),
        ("/backorder id:999", "no backorder \"999\""),
        (
            "/backorder explode id:1",
            "/backorder has no subcommand \"explode\"",
        ),
        ("/po id:PO-9", "no purchase order \"PO-9\""),
        (
            "/adjust sku:TENT-3P delta:0 reason:x",
            "delta: must not be 0",
        ),
        (
            "/adjust sku:TENT-3P delta:-100 reason:count",
            "on hand cannot go below",
        ),
        (
            "/adjust sku:TENT-3P delta:1 reason:\" \"",
            "reason: cannot be empty",
        ),
        (
            "/eta po:PO-1001 date:2026-13-01 reason:x",
            "date: \"2026-13-01\" is not a date",
        ),
        ("/eta po:PO-1001 date:2026-11-01 reason:x", "is in the past"),
        (
            "/eta po:PO-1001 date:2029-01-01 reason:x",
            "more than two years out",
        ),
        ("/receive po:PO-1001 qty:3", "qty: needs sku:"),
        ("/stock sku:\"TENT", "a quote is not closed"),
    ] {
        let text = t.user_error(line).await;
        assert!(
            text.contains(expected),
            "{line}: expected {expected:?} in {text}"
        );
    }
}

#[tokio::test]
async fn adjust_writes_the_ledger_and_the_audit_log() {
    let t = spawn_demo_app().await;
    let text = t
        .ok("/adjust sku:LAMP-HEAD delta:-5 reason:\"damaged in store\"")
        .await;
    assert!(
        text.contains("On hand: 50") && text.contains("Available: 49"),
        "{text}"
    );
    assert_eq!(
        t.scalar("SELECT qty FROM stock_movements WHERE reason = 'damaged in store'")
            .await,
        -5
    );
    let on_hand = t.scalar("SELECT on_hand FROM stock_positions sp JOIN products p ON p.id = sp.product_id WHERE p.sku = 'LAMP-HEAD'").await;
    let ledger = t.scalar("SELECT CAST(SUM(qty) AS BIGINT) FROM stock_movements m JOIN products p ON p.id = m.product_id WHERE p.sku = 'LAMP-HEAD'").await;
    assert_eq!(on_hand, ledger);
    assert_eq!(
        t.scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'adjust' AND actor = 'tester'")
            .await,
        1
    );
}

#[tokio::test]
async fn a_member_without_the_ops_role_is_refused_and_audited() {
    let t = spawn_demo_app().await;
    let viewer = backorder_bot::app::Actor {
        name: "discord:42".into(),
        may_change: false,
    };
    let inv =
        backorder_bot::commands::Invocation::parse_line("/adjust sku:LAMP-HEAD delta:1 reason:x")
            .unwrap();
    let (reply, outcome) = backorder_bot::commands::run(&t.app, &viewer, &inv).await;
    assert_eq!(outcome, backorder_bot::commands::Outcome::UserError);
    assert!(
        reply.ephemeral && reply.to_text().contains("needs the ops role"),
        "{}",
        reply.to_text()
    );
    assert_eq!(
        t.scalar(
            "SELECT COUNT(*) FROM audit_log WHERE outcome = 'refused' AND actor = 'discord:42'"
        )
        .await,
        1
    );
    assert_eq!(
        t.scalar("SELECT COUNT(*) FROM stock_movements WHERE actor = 'discord:42'")
            .await,
        0
    );
    let inv = backorder_bot::commands::Invocation::parse_line("/stock sku:LAMP-HEAD").unwrap();
    assert_eq!(
        backorder_bot::commands::run(&t.app, &viewer, &inv).await.1,
        backorder_bot::commands::Outcome::Ok
    );
}
