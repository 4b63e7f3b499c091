//! What comes out of the store is typed: statuses are enums, times are chrono values, and a
//! stored value that does not read back fails the read instead of turning into a default.

mod common;

use backorder_bot::app::{self, AppError};
use backorder_bot::commands::Outcome;
use backorder_bot::domain::{BackorderId, BackorderStatus, EtaKind, PoStatus, Tier};
use common::{spawn_demo_app, test_now, TestApp};

async fn exec(t: &TestApp, sql: &str) {
    t.exec(sql).await;
}

/// Runs one sqlx query (`$q`, built once per engine) on a connection of `$t`'s store, whichever
/// engine it is on, with `$fetch` (`execute`, `fetch_one`, …).
macro_rules! on_store {
    ($t:expr, $q:expr, execute) => {{
        use backorder_bot::store::Engine;
        let mut conn = $t.app.store.conn().await.unwrap();
        match conn.engine() {
            Engine::Sqlite(c) => $q.execute(&mut *c).await.map(|r| r.rows_affected()),
            Engine::Postgres(c) => $q.execute(&mut *c).await.map(|r| r.rows_affected()),
        }
    }};
    ($t:expr, $q:expr, $fetch:ident) => {{
        use backorder_bot::store::Engine;
        let mut conn = $t.app.store.conn().await.unwrap();
        match conn.engine() {
            Engine::Sqlite(c) => $q.$fetch(&mut *c).await,
            Engine::Postgres(c) => $q.$fetch(&mut *c).await,
        }
    }};
}

/// Writes a value its column cannot hold on PostgreSQL (a timestamp or date that is not one):
/// SQLite stores the text, and the test goes on to read it back (`true`); PostgreSQL's native
/// type refuses the write, naming the value, and there is nothing bad to read (`false`).
async fn write_bad(t: &TestApp, sql: &str, value: &str) -> bool {
    let written = t.app.store.execute_sql(sql).await;
    if common::on_postgres() {
        let err = format!("{:#}", written.expect_err("the column's type refuses it"));
        assert!(err.contains(value), "{err}");
        false
    } else {
        written.unwrap();
        true
    }
}

fn chain(e: AppError) -> String {
    match e {
        AppError::Unexpected(e) => format!("{e:#}"),
        other => panic!("expected an unexpected error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_bad_stored_timestamp_fails_the_read_instead_of_becoming_1970() {
    let t = spawn_demo_app().await;
    if !write_bad(
        &t,
        "UPDATE orders SET ordered_at = 'last tuesday' WHERE id = (SELECT ol.order_id
            FROM order_lines ol JOIN backorders b ON b.order_line_id = ol.id WHERE b.id = 2)",
        "last tuesday",
    )
    .await
    {
        return;
    }
    let err = chain(
        app::backorders::show(&t.app, BackorderId(2))
            .await
            .unwrap_err(),
    );
    assert!(
        err.contains("ordered_at") && err.contains("last tuesday"),
        "{err}"
    );
    let (reply, outcome) = t.ask("/backorder id:2").await;
    assert_eq!(outcome, Outcome::Internal);
    let text = reply.to_text();
    assert!(
        text.contains("reference") && !text.contains("1970"),
        "{text}"
    );
}

#[tokio::test]
async fn a_bad_stored_date_fails_the_read_naming_the_column() {
    let t = spawn_demo_app().await;
    if !write_bad(
        &t,
        "UPDATE po_lines SET eta = '2026-13-45' WHERE po_id =
            (SELECT id FROM purchase_orders WHERE po_number = 'PO-1002')",
        "2026-13-45",
    )
    .await
    {
        return;
    }
    let err = chain(
        app::purchasing::show_po(&t.app, "PO-1002")
            .await
            .unwrap_err(),
    );
    assert!(err.contains("eta") && err.contains("2026-13-45"), "{err}");
}

#[tokio::test]
async fn backorder_rows_come_out_typed() {
    let t = spawn_demo_app().await;
    let detail = app::backorders::show(&t.app, BackorderId(2)).await.unwrap();
    let row = &detail.row;
    assert_eq!(row.status, BackorderStatus::Open);
    assert_eq!(row.tier, Tier::Vip);
    assert!(row.ordered_at < test_now() && row.ordered_at > test_now() - chrono::Days::new(30));
    assert_ne!(row.eta_kind, EtaKind::Unknown);
    assert!(row
        .promised_eta
        .is_some_and(|d| d >= test_now().date_naive()));
}

#[tokio::test]
async fn a_purchase_order_status_follows_its_lines_as_they_arrive() {
    let t = spawn_demo_app().await;
    let status = |t: &TestApp| {
        let app = t.app.clone();
        async move {
            app::purchasing::show_po(&app, "PO-1002")
                .await
                .unwrap()
                .po
                .status
        }
    };
    assert_eq!(status(&t).await, PoStatus::Open);
    t.ok("/receive po:PO-1002 sku:BAG-DOWN-M qty:4").await;
    assert_eq!(status(&t).await, PoStatus::PartiallyReceived);
    let view = app::purchasing::show_po(&t.app, "PO-1002").await.unwrap();
    let bag = view.lines.iter().find(|l| l.sku == "BAG-DOWN-M").unwrap();
    assert_eq!(bag.status, PoStatus::PartiallyReceived);
    assert_eq!(bag.remaining(), 20);
    t.ok("/receive po:PO-1002").await;
    assert_eq!(status(&t).await, PoStatus::Received);
    let text = t.user_error("/receive po:PO-1002").await;
    assert!(text.contains("PO-1002 is received"), "{text}");
}

#[tokio::test]
async fn a_fully_allocated_backorder_is_allocated_and_its_customer_hears_once() {
    let t = spawn_demo_app().await;
    let id = t
        .scalar(
            "SELECT b.id FROM backorders b JOIN products p ON p.id = b.product_id
             WHERE p.sku = 'BAG-DOWN-M' AND b.status = 'open'",
        )
        .await;
    let allocated_updates =
        format!("SELECT COUNT(*) FROM outbox WHERE kind = 'allocated' AND backorder_id = {id}");
    let before = t.scalar(&allocated_updates).await;
    t.ok("/receive po:PO-1002 sku:BAG-DOWN-M qty:24").await;
    let row = app::backorders::show(&t.app, BackorderId(id))
        .await
        .unwrap()
        .row;
    assert_eq!(row.status, BackorderStatus::Allocated);
    assert_eq!(row.qty_allocated, row.qty);
    assert_eq!(t.scalar(&allocated_updates).await, before + 1);
}

/// Writes every value of an enum into a column through its `Encode` and reads it back through
/// its `Decode`: each spelling is one the schema's CHECK constraint accepts. The row is the one
/// with the smallest `$key` (`id`, unless the table has none).
macro_rules! round_trip {
    ($t:expr, $table:literal, $col:literal, $ty:ty) => {
        round_trip!($t, $table, $col, $ty, "id")
    };
    ($t:expr, $table:literal, $col:literal, $ty:ty, $key:literal) => {
        for v in <$ty>::ALL {
            let first = concat!(
                " WHERE ",
                $key,
                " = (SELECT MIN(",
                $key,
                ") FROM ",
                $table,
                ")"
            );
            let written: Result<u64, sqlx::Error> = on_store!(
                $t,
                sqlx::query(&format!(
                    concat!("UPDATE ", $table, " SET ", $col, " = $1{}"),
                    first
                ))
                .bind(v),
                execute
            );
            written.unwrap_or_else(|e| panic!("{}.{} = {v:?}: {e}", $table, $col));
            let back: Result<$ty, sqlx::Error> = on_store!(
                $t,
                sqlx::query_scalar::<_, $ty>(&format!(
                    concat!("SELECT ", $col, " FROM ", $table, "{}"),
                    first
                )),
                fetch_one
            );
            assert_eq!(back.unwrap(), v, "{}.{}", $table, $col);
        }
    };
}

#[tokio::test]
async fn every_enum_spelling_is_one_the_schema_accepts_and_reads_back() {
    use backorder_bot::domain::{
        Channel, MovementKind, OutboxStatus, ReservationStatus, UpdateKind,
    };
    let t = spawn_demo_app().await;
    // The demo shop queues nothing for its customers: a later ETA does.
    t.ok("/eta PO-1001 2027-02-17 \"carrier delay\"").await;
    assert!(t.scalar("SELECT COUNT(*) FROM outbox").await > 0);
    assert!(t.scalar("SELECT COUNT(*) FROM reservations").await > 0);
    round_trip!(t, "backorders", "status", BackorderStatus);
    round_trip!(t, "backorders", "eta_kind", EtaKind);
    round_trip!(t, "customers", "tier", Tier);
    round_trip!(t, "customers", "channel", Channel);
    round_trip!(t, "po_lines", "status", PoStatus);
    round_trip!(t, "purchase_orders", "status", PoStatus);
    round_trip!(t, "outbox", "status", OutboxStatus);
    round_trip!(t, "outbox", "kind", UpdateKind);
    round_trip!(t, "reservations", "status", ReservationStatus);
    round_trip!(t, "stock_movements", "kind", MovementKind);
}

#[tokio::test]
async fn alert_message_and_history_enums_read_back_what_they_wrote() {
    use backorder_bot::domain::alerts::{RunStatus, Severity};
    use backorder_bot::domain::notify::{MessageStatus, Transport};
    use backorder_bot::domain::promise::Cause;
    let t = spawn_demo_app().await;
    exec(
        &t,
        "INSERT INTO alert_states (rule, product_id, severity, since)
         SELECT 'r', MIN(id), 'low', '2026-11-26T12:00:00Z' FROM products",
    )
    .await;
    exec(
        &t,
        "INSERT INTO alert_runs (rule, trigger, started_at) VALUES ('r', 'manual', '2026-11-26T12:00:00Z')",
    )
    .await;
    exec(
        &t,
        "INSERT INTO messages (customer_id, kind, channel, transport, recipient, body, status,
            created_at, updated_at)
         SELECT MIN(id), 'allocated', 'sms', 'twilio', '+15550001111', 'x', 'queued',
            '2026-11-26T12:00:00Z', '2026-11-26T12:00:00Z' FROM customers",
    )
    .await;
    exec(
        &t,
        "INSERT INTO eta_history (backorder_id, old_eta, new_eta, cause, actor, reason, created_at)
         SELECT MIN(id), NULL, NULL, 'received', 'test', '', '2026-11-26T12:00:00Z' FROM backorders",
    )
    .await;
    round_trip!(t, "alert_states", "severity", Severity, "product_id");
    round_trip!(
        t,
        "alert_states",
        "notified_severity",
        Severity,
        "product_id"
    );
    round_trip!(t, "alert_runs", "status", RunStatus);
    round_trip!(
        t,
        "alert_runs",
        "trigger",
        backorder_bot::domain::schedule::Trigger
    );
    round_trip!(t, "messages", "transport", Transport);
    round_trip!(t, "messages", "status", MessageStatus);
    round_trip!(t, "messages", "kind", backorder_bot::domain::UpdateKind);
    round_trip!(t, "eta_history", "cause", Cause);
    exec(
        &t,
        "INSERT INTO inbound_messages (from_phone, body, kind, reply, created_at)
         VALUES ('+15550001111', 'hi', 'help', '', '2026-11-26T12:00:00Z')",
    )
    .await;
    exec(
        &t,
        "INSERT INTO channel_posts (channel_id, content, next_attempt_at, created_at)
         VALUES ('1', 'hello', '2026-11-26T12:00:00Z', '2026-11-26T12:00:00Z')",
    )
    .await;
    round_trip!(
        t,
        "inbound_messages",
        "kind",
        backorder_bot::domain::notify::InboundKind
    );
    round_trip!(
        t,
        "channel_posts",
        "status",
        backorder_bot::domain::outbox::PostStatus
    );
}

/// Asserts that a store read failed, naming the column and the bad value.
#[track_caller]
fn fails_naming<T: std::fmt::Debug>(r: anyhow::Result<T>, column: &str, value: &str) {
    let err = format!(
        "{:#}",
        r.expect_err("a bad stored value must fail the read")
    );
    assert!(err.contains(column) && err.contains(value), "{err}");
}

/// The demo shop after one raw statement.
async fn demo_app_with(sql: &str) -> TestApp {
    let t = spawn_demo_app().await;
    exec(&t, sql).await;
    t
}

#[tokio::test]
async fn a_bad_stored_channel_id_fails_the_claim_naming_the_column_instead_of_becoming_0() {
    let t = demo_app_with(
        "INSERT INTO channel_posts (channel_id, content, next_attempt_at, created_at)
         VALUES ('#general', 'hello', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')",
    )
    .await;
    let mut conn = t.app.store.conn().await.unwrap();
    let now = test_now();
    let claimed = backorder_bot::store::posts::claim_due(
        &mut conn,
        now,
        now + chrono::Duration::minutes(1),
        10,
    )
    .await;
    fails_naming(claimed, "channel_id", "#general");
}

#[tokio::test]
async fn an_unknown_stored_severity_fails_the_read_naming_the_column_instead_of_dropping_the_row() {
    let t = spawn_demo_app().await;
    let bad = [
        "INSERT INTO alert_states (rule, product_id, severity, since)
         SELECT 'r', MIN(id), 'extreme', '2026-11-26T12:00:00Z' FROM products",
        "INSERT INTO alert_states (rule, product_id, severity, since, notified_severity)
         SELECT 's', MIN(id), 'low', '2026-11-26T12:00:00Z', 'dire' FROM products",
    ];
    // The CHECK constraints refuse these words; a database whose constraints were lifted (by
    // hand, or an old file) may still hold them.
    for sql in bad {
        let err = format!("{:#}", t.app.store.execute_sql(sql).await.unwrap_err());
        assert!(err.to_lowercase().contains("check constraint"), "{err}");
    }
    let (lift, restore) = if common::on_postgres() {
        (
            "ALTER TABLE alert_states DROP CONSTRAINT alert_states_severity_check,
                DROP CONSTRAINT alert_states_notified_severity_check",
            None,
        )
    } else {
        (
            "PRAGMA ignore_check_constraints = ON",
            Some("PRAGMA ignore_check_constraints = OFF"),
        )
    };
    // One connection: SQLite's pragma holds for it only.
    let mut conn = t.app.store.conn().await.unwrap();
    for sql in std::iter::once(lift).chain(bad).chain(restore) {
        use backorder_bot::store::Engine;
        match conn.engine() {
            Engine::Sqlite(c) => sqlx::query(sql).execute(&mut *c).await.map(drop),
            Engine::Postgres(c) => sqlx::query(sql).execute(&mut *c).await.map(drop),
        }
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }
    let states = backorder_bot::store::alerts::states(&mut conn, "r").await;
    fails_naming(states, "severity", "extreme");
    let states = backorder_bot::store::alerts::states(&mut conn, "s").await;
    fails_naming(states, "notified_severity", "dire");
}

#[tokio::test]
async fn bad_stored_posted_products_fail_the_read_naming_the_column_instead_of_becoming_empty() {
    let t = demo_app_with(
        "INSERT INTO alert_runs (rule, trigger, started_at, posted_products)
         VALUES ('r', 'manual', '2026-11-26T12:00:00Z', '[1, 2')",
    )
    .await;
    let mut conn = t.app.store.conn().await.unwrap();
    let run = backorder_bot::store::alerts::last_run(&mut conn, "r").await;
    fails_naming(run, "posted_products", "[1, 2");
}

#[tokio::test]
async fn row_ids_read_and_bind_as_their_own_types() {
    use backorder_bot::domain::{CustomerId, ProductId};
    let t = spawn_demo_app().await;
    let product: Result<ProductId, sqlx::Error> = on_store!(
        t,
        sqlx::query_scalar("SELECT MIN(id) FROM products"),
        fetch_one
    );
    let product = product.unwrap();
    let sku: Result<String, sqlx::Error> = on_store!(
        t,
        sqlx::query_scalar("SELECT sku FROM products WHERE id = $1").bind(product),
        fetch_one
    );
    assert!(!sku.unwrap().is_empty());
    let ids: Result<(BackorderId, CustomerId), sqlx::Error> = on_store!(
        t,
        sqlx::query_as("SELECT id, customer_id FROM backorders ORDER BY id LIMIT 1"),
        fetch_one
    );
    let (backorder, customer) = ids.unwrap();
    let n = t
        .scalar(&format!(
            "SELECT COUNT(*) FROM backorders WHERE id = {backorder} AND customer_id = {customer}"
        ))
        .await;
    assert_eq!(n, 1);
}

#[tokio::test]
async fn the_next_due_update_reads_back_as_a_time_and_a_bad_one_fails_naming_the_column() {
    use chrono::TimeZone;
    let t = spawn_demo_app().await;
    t.ok("/eta PO-1001 2027-02-17 \"carrier delay\"").await;
    let mut conn = t.app.store.conn().await.unwrap();
    exec(
        &t,
        "UPDATE outbox SET status = 'pending', next_attempt_at = '2026-11-26T09:30:00Z'",
    )
    .await;
    let due = backorder_bot::store::notify::next_due(&mut conn)
        .await
        .unwrap();
    assert_eq!(
        due,
        Some(
            chrono::Utc
                .with_ymd_and_hms(2026, 11, 26, 9, 30, 0)
                .unwrap()
        )
    );
    if !write_bad(&t, "UPDATE outbox SET next_attempt_at = 'soon'", "soon").await {
        return;
    }
    fails_naming(
        backorder_bot::store::notify::next_due(&mut conn).await,
        "next_attempt_at",
        "soon",
    );
}
