//! The dispatcher of the real binary is killed (`SIGKILL`) mid-batch and restarted: every message
//! still arrives, and the only duplicates are rows of the batch that was in flight. On the
//! test's engine: a SQLite file, or (`TEST_ENGINE=postgres`) a PostgreSQL database.

mod common;
#[path = "support/mock_twilio.rs"]
mod mock_twilio;

use mock_twilio::MockTwilio;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

const CUSTOMERS: usize = 60;
const BATCH: usize = 10;

fn start_bot(t: &common::TestApp, mock: &MockTwilio) -> Child {
    common::BotDb::of(t)
        .command()
        .arg("run")
        .envs(mock.settings_vars())
        .env("BACKORDER_BOT__NOTIFY__BATCH_SIZE", BATCH.to_string())
        .env("BACKORDER_BOT__NOTIFY__LEASE", "1s")
        .env("BACKORDER_BOT__NOTIFY__POLL", "100ms")
        .env("BACKORDER_BOT__NOTIFY__QUIET_HOURS", "")
        .env("BACKORDER_BOT__HTTP__BIND", "127.0.0.1:0")
        .env("BACKORDER_BOT__SHOP__DEMO_DATA_ON_FIRST_START", "false")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("binary starts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dispatcher_killed_mid_batch_delivers_everything_after_restart_with_bounded_duplicates() {
    let t = common::spawn_app().await;
    let mut products = String::from("sku,name,unit_price,on_hand\nWIDGET,Widget,10.00,0\n");
    products.push('\n');
    t.import("products", &products).await.unwrap();
    let mut customers = String::from("id,name,phone,channel,timezone\n");
    let mut orders = String::from("order,customer,sku,qty\n");
    for i in 0..CUSTOMERS {
        customers.push_str(&format!("C{i},Customer {i},+4915100000{i:03},sms,UTC\n"));
        orders.push_str(&format!("SO{i},C{i},WIDGET,1\n"));
    }
    t.import("customers", &customers).await.unwrap();
    t.import("orders", &orders).await.unwrap();
    t.exec("DELETE FROM outbox").await;
    t.exec(
        "INSERT INTO outbox (backorder_id, customer_id, kind, payload, next_attempt_at, created_at)
         SELECT id, customer_id, 'allocated', '{\"product\": \"Widget\", \"qty\": 1}',
            '2000-01-01T00:00:00Z', '2000-01-01T00:00:00Z' FROM backorders",
    )
    .await;
    assert_eq!(
        t.scalar("SELECT COUNT(*) FROM outbox").await,
        CUSTOMERS as i64
    );
    t.app.store.close().await;

    let mock = MockTwilio::start().await;
    // Slow answers keep a batch in flight long enough to be killed in the middle of it.
    mock.set_delay(Duration::from_millis(150));
    let mut bot = start_bot(&t, &mock);
    let m = mock.clone();
    common::wait_until("the third batch", Duration::from_secs(10), || {
        m.count() > 2 * BATCH
    })
    .await;
    bot.kill().expect("SIGKILL");
    bot.wait().unwrap();
    let before_restart = mock.count();
    assert!(
        before_restart < CUSTOMERS,
        "killed too late: {before_restart}"
    );

    let mut bot = start_bot(&t, &mock);
    let m = mock.clone();
    let distinct = move || {
        let mut seen: Vec<String> = m
            .received()
            .iter()
            .filter_map(|r| r.field("To").map(str::to_string))
            .collect();
        seen.sort();
        seen.dedup();
        seen.len()
    };
    let d = distinct.clone();
    common::wait_until(
        "every customer's message",
        Duration::from_secs(15),
        move || d() == CUSTOMERS,
    )
    .await;
    // Let the last round record its outcome, then stop.
    let store = backorder_bot::store::Store::open(&t.app.settings.database)
        .await
        .unwrap();
    let start = Instant::now();
    loop {
        let open = store
            .scalar_i64("SELECT COUNT(*) FROM outbox WHERE status <> 'sent'")
            .await
            .unwrap();
        if open == 0 {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "{open} not sent");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bot.kill().unwrap();
    bot.wait().unwrap();

    let per_number = mock.per_number();
    assert_eq!(per_number.len(), CUSTOMERS);
    let duplicates: usize = per_number.values().map(|n| n - 1).sum();
    assert!(
        duplicates <= BATCH,
        "{duplicates} duplicates, more than one batch of {BATCH}"
    );
    assert!(
        duplicates > 0,
        "the kill should have caught a batch in flight"
    );
    assert_eq!(distinct(), CUSTOMERS);
    store.close().await;
}
