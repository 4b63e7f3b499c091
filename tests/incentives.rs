//! Incentives end to end: importing the discount-code pool, the codes the real dispatcher puts in
//! messages (mock Twilio and a loopback SMTP server), each code issued once under concurrency
//! (several tasks on two applications sharing one database file), the one warning when the pool
//! runs dry, and `/customer` listing the codes.

mod common;
#[path = "support/mock_twilio.rs"]
mod mock_twilio;
#[path = "support/smtp_server.rs"]
mod smtp_server;

use backorder_bot::adapters::dispatcher::{Dispatcher, Round};
use backorder_bot::app::{App, Clock};
use backorder_bot::startup::Application;
use chrono::Duration;
use common::{spawn_app_with, spawn_demo_app_with, test_now, TestApp};
use mock_twilio::{Answer, MockTwilio};
use smtp_server::SmtpServer;
use std::collections::{BTreeSet, HashMap};

const ALERT_CHANNEL: &str = "1200000000000000001";

/// SMS through `mock`, sent at once at any hour, the ops channel set, and only the waiting rule
/// on (`after_days` as the test sets it).
fn env(mock: &MockTwilio, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut env = mock.settings_vars();
    env.extend(common::vars(&[
        ("BACKORDER_BOT__SMS__TIMEOUT", "300ms"),
        ("BACKORDER_BOT__NOTIFY__QUIET_HOURS", ""),
        ("BACKORDER_BOT__NOTIFY__COALESCE", "0s"),
        ("BACKORDER_BOT__DISCORD__ALERT_CHANNEL_ID", ALERT_CHANNEL),
        ("BACKORDER_BOT__INCENTIVES__SLIP_DAYS", "0"),
        // Dates here move by weeks: no approval holds them (tests/approvals.rs covers that).
        ("BACKORDER_BOT__NOTIFY__APPROVAL_MIN_SHIFT_DAYS", "100000"),
    ]));
    env.extend(common::vars(extra));
    env
}

/// The demo shop with SMS through `mock`, `after_days = 3` (Ada and Alan, who ordered 4 and 9
/// days ago, earn a code; Grace, 2 days, does not) and an empty outbox.
async fn demo_waiting_3_days(mock: &MockTwilio) -> TestApp {
    let t = spawn_demo_app_with(&env(
        mock,
        &[("BACKORDER_BOT__INCENTIVES__AFTER_DAYS", "3")],
    ))
    .await;
    clear_outbox(&t).await;
    t
}

async fn round(app: &App) -> Round {
    Dispatcher::new(app).unwrap().run_once(app).await.unwrap()
}

/// Rounds until nothing is due.
async fn drain(app: &App) {
    for _ in 0..50 {
        if round(app).await.claimed == 0 {
            return;
        }
    }
    panic!("the outbox did not drain");
}

async fn clear_outbox(t: &TestApp) {
    t.exec("DELETE FROM outbox").await;
}

async fn backorder_of(t: &TestApp, customer: &str) -> i64 {
    t.scalar(&format!(
        "SELECT b.id FROM backorders b JOIN customers c ON c.id = b.customer_id
         WHERE c.external_id = '{customer}' ORDER BY b.id LIMIT 1"
    ))
    .await
}

/// The codes named in message bodies ("code X gives").
fn codes_in(body: &str) -> Vec<String> {
    body.split("code ")
        .skip(1)
        .filter_map(|rest| rest.split_once(" gives").map(|(c, _)| c.to_string()))
        .collect()
}

fn bodies_to(mock: &MockTwilio, to: &str) -> Vec<String> {
    mock.received()
        .iter()
        .filter(|r| r.field("To") == Some(to))
        .map(|r| r.field("Body").unwrap().to_string())
        .collect()
}

async fn pool_warnings(t: &TestApp) -> i64 {
    t.scalar("SELECT COUNT(*) FROM channel_posts WHERE content LIKE 'Discount codes: the pool is empty%'")
        .await
}

const ADA: &str = "+447700900001";

#[tokio::test]
async fn import_adds_codes_names_a_bad_row_by_line_and_column_and_is_idempotent() {
    let t = spawn_app_with::<&str, &str>(&[]).await;
    let good = "code,kind,value\nSORRY-001,discount,10\nsorry-002,,15%\nSHIP-001,free_shipping,\n";
    let r = t.import("discount-codes", good).await.unwrap();
    assert_eq!((r.rows, r.changed, r.unchanged), (3, 3, 0));
    let stored: Vec<(String, String, Option<i64>)> = t
        .rows("SELECT CAST(code AS TEXT), kind, percent FROM discount_codes ORDER BY id")
        .await;
    assert_eq!(
        stored,
        vec![
            ("SORRY-001".into(), "discount".into(), Some(10)),
            ("sorry-002".into(), "discount".into(), Some(15)),
            ("SHIP-001".into(), "free_shipping".into(), None),
        ]
    );
    // The same file again changes nothing; a code in another case is the same code.
    let r = t.import("discount-codes", good).await.unwrap();
    assert_eq!((r.rows, r.changed, r.unchanged), (3, 0, 3));
    let r = t
        .import("discount-codes", "code,value\nSORRY-002,15\nSORRY-003,20\n")
        .await
        .unwrap();
    assert_eq!((r.changed, r.unchanged), (1, 1));
    assert_eq!(t.scalar("SELECT COUNT(*) FROM discount_codes").await, 4);

    // Any bad row refuses the file, each named by line and column; nothing is written.
    let bad = "code,kind,value\nNEW-1,discount,10\nNEW-2,discount,150\nNEW 3,discount,5\nNEW-4,gift,5\nNEW-5,free_shipping,10\nnew-1,discount,10\nNEW-6,discount,\n";
    let e = t
        .import("discount-codes", bad)
        .await
        .unwrap_err()
        .to_string();
    for want in [
        "nothing was written",
        "line 3, column value: must be a whole percentage from 1 to 100",
        "line 4, column code: contains a space",
        "line 5, column kind: must be discount or free_shipping",
        "line 6, column value: a free_shipping code takes no value",
        "line 7, column code: \"new-1\" is already on line 2",
        "line 8, column value: is needed for a discount code",
    ] {
        assert!(e.contains(want), "{want}: {e}");
    }
    assert!(!e.contains("\n  line 2"), "{e}");
    assert_eq!(t.scalar("SELECT COUNT(*) FROM discount_codes").await, 4);
    let e = t
        .import("discount-codes", "kind,value\ndiscount,10\n")
        .await
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("line 1: the header row lacks required column(s): code"),
        "{e}"
    );

    // The sample file imports cleanly.
    let sample = include_str!("../examples/discount-codes.csv");
    let r = t.import("discount-codes", sample).await.unwrap();
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    assert_eq!(r.changed, sample.lines().count() - 1);
}

#[test]
fn the_import_command_reports_the_pool_and_exits_2_naming_a_bad_row() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cli.db");
    let csv = dir.path().join("codes.csv");
    std::fs::write(&csv, "code,value\nWAIT-1,10\nWAIT-2,10\n").unwrap();
    assert_eq!(common::run_bot(&db, &["migrate"]).0, 0);
    let (code, out, err) =
        common::run_bot(&db, &["import", "discount-codes", csv.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("2 rows, 2 changed, 0 unchanged"), "{out}");
    assert!(
        out.contains("discount codes in the pool: 2 free, 0 issued"),
        "{out}"
    );
    let (code, out, _) = common::run_bot(&db, &["import", "discount-codes", csv.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert!(out.contains("2 rows, 0 changed, 2 unchanged"), "{out}");
    std::fs::write(&csv, "code,value\nWAIT-3,10\nWAIT-4,ten\n").unwrap();
    let (code, _, err) = common::run_bot(&db, &["import", "discount-codes", csv.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("line 3, column value"), "{err}");
    std::fs::write(&csv, "code,value\nWAIT-3,10\n").unwrap();
    let (code, _, err) = common::run_bot(&db, &["import", "coupons", csv.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("discount-codes"), "{err}");
}

#[tokio::test]
async fn a_message_that_earns_a_code_carries_it_once_and_records_which_message() {
    let mock = MockTwilio::start().await;
    // Ada ordered 4 days ago: with after_days = 3 her next message earns a code.
    let t = demo_waiting_3_days(&mock).await;
    t.import(
        "discount-codes",
        "code,kind,value\nSORRY-A1,discount,10\nSORRY-A2,free_shipping,\n",
    )
    .await
    .unwrap();
    t.ok("/eta po:PO-1001 sku:TENT-2P date:2027-02-17 reason:\"carrier delay\"")
        .await;
    drain(&t.app).await;
    let sms = bodies_to(&mock, ADA);
    assert_eq!(sms.len(), 1, "{sms:?}");
    assert!(
        // The customer page's offer and link follow the code (docs/customer-page.md).
        sms[0].contains("expected Wed 17 Feb. Thanks for waiting: code SORRY-A1 gives 10% off your next order. ")
            && sms[0].ends_with(" Reply STOP to opt out."),
        "{}",
        sms[0]
    );
    let ada = backorder_of(&t, "C-1001").await;
    let (backorder, message): (i64, i64) = t
        .row("SELECT backorder_id, message_id FROM discount_codes WHERE code = 'SORRY-A1'")
        .await;
    assert_eq!(backorder, ada);
    let (told,): (String,) = t
        .row(&format!("SELECT body FROM messages WHERE id = {message}"))
        .await;
    assert!(
        told.contains("SORRY-A1"),
        "the recorded message is the one that carried it"
    );
    // Alan (C-1003, ordered 9 days ago, e-mail) earned the other code; Grace (2 days) none.
    assert_eq!(
        t.scalar("SELECT COUNT(*) FROM discount_codes WHERE code = 'SORRY-A2' AND message_id IS NOT NULL")
            .await,
        1
    );
    assert_eq!(
        t.scalar(&format!(
            "SELECT COUNT(*) FROM discount_codes WHERE backorder_id = {}",
            backorder_of(&t, "C-1002").await
        ))
        .await,
        0
    );

    // The next message about Ada's backorder does not repeat it, nor issue another.
    t.import("discount-codes", "code,value\nSORRY-A3,10\n")
        .await
        .unwrap();
    t.ok("/eta po:PO-1001 sku:TENT-2P date:2027-03-10 reason:\"later still\"")
        .await;
    drain(&t.app).await;
    let sms = bodies_to(&mock, ADA);
    assert_eq!(sms.len(), 2, "{sms:?}");
    assert!(
        sms[1].contains("Wed 10 Mar") && codes_in(&sms[1]).is_empty(),
        "{}",
        sms[1]
    );
    assert_eq!(
        t.scalar(&format!(
            "SELECT COUNT(*) FROM discount_codes WHERE backorder_id = {ada}"
        ))
        .await,
        1
    );
}

#[tokio::test]
async fn a_slipped_date_earns_a_code_and_an_email_carries_it_escaped() {
    let smtp = SmtpServer::start().await;
    let port = smtp.port.to_string();
    let t = spawn_demo_app_with(&[
        ("BACKORDER_BOT__EMAIL__HOST", "127.0.0.1"),
        ("BACKORDER_BOT__EMAIL__PORT", port.as_str()),
        ("BACKORDER_BOT__EMAIL__TLS", "none"),
        ("BACKORDER_BOT__EMAIL__FROM", "shop@example.com"),
        ("BACKORDER_BOT__NOTIFY__COALESCE", "0s"),
        ("BACKORDER_BOT__NOTIFY__QUIET_HOURS", ""),
        ("BACKORDER_BOT__INCENTIVES__AFTER_DAYS", "0"),
        ("BACKORDER_BOT__INCENTIVES__SLIP_DAYS", "30"),
        ("BACKORDER_BOT__NOTIFY__APPROVAL_MIN_SHIFT_DAYS", "100000"),
    ])
    .await;
    clear_outbox(&t).await;
    // Ada hears nothing (SMS to the log otherwise): only the e-mail customers of TENT-2P,
    // Grace and Alan, are told.
    t.exec("UPDATE customers SET channel = 'none' WHERE external_id = 'C-1001'")
        .await;
    // A code as a shop's platform may write it: characters HTML and Markdown would read.
    t.import("discount-codes", "code,value\n<b>&WAIT_1*,15\n")
        .await
        .unwrap();
    // A small move first: not 30 days past the first promise, no code.
    let grace = backorder_of(&t, "C-1002").await;
    let (first,): (String,) = t
        .row(&format!(
            "SELECT CAST(promised_eta AS TEXT) FROM backorders WHERE id = {grace}"
        ))
        .await;
    let first = chrono::NaiveDate::parse_from_str(&first, "%Y-%m-%d").unwrap();
    let near = first + Duration::days(10);
    t.ok(&format!(
        "/eta po:PO-1001 sku:TENT-2P date:{near} reason:\"a little late\""
    ))
    .await;
    drain(&t.app).await;
    assert_eq!(
        t.scalar("SELECT COUNT(*) FROM discount_codes WHERE backorder_id IS NOT NULL")
            .await,
        0
    );
    let far = first + Duration::days(45);
    t.ok(&format!(
        "/eta po:PO-1001 sku:TENT-2P date:{far} reason:\"much later\""
    ))
    .await;
    drain(&t.app).await;
    let holder = t.scalar("SELECT backorder_id FROM discount_codes").await;
    assert!(
        [
            backorder_of(&t, "C-1002").await,
            backorder_of(&t, "C-1003").await
        ]
        .contains(&holder),
        "an e-mail customer of TENT-2P whose date slipped took the one code"
    );
    let with_code: Vec<String> = smtp
        .messages()
        .into_iter()
        .filter(|m| m.contains("WAIT_1"))
        .collect();
    assert_eq!(with_code.len(), 1, "one message carried the one code");
    let msg = mail_parser::MessageParser::default()
        .parse(with_code[0].as_bytes())
        .unwrap();
    let text = msg.body_text(0).unwrap();
    let html = msg.body_html(0).unwrap();
    assert!(
        text.contains("code <b>&WAIT_1* gives 15% off your next order"),
        "{text}"
    );
    assert!(
        html.contains("code <strong>&lt;b&gt;&amp;WAIT_1*</strong>"),
        "{html}"
    );
}

#[tokio::test]
async fn a_send_that_fails_keeps_the_code_for_the_retry_and_issues_no_second() {
    let mock = MockTwilio::start().await;
    let t = demo_waiting_3_days(&mock).await;
    t.import(
        "discount-codes",
        "code,value\nRETRY-1,10\nRETRY-2,10\nRETRY-3,10\n",
    )
    .await
    .unwrap();
    mock.script_for(ADA, [Answer::error(500, 20500)]);
    t.ok("/eta po:PO-1001 sku:TENT-2P date:2027-02-17 reason:\"carrier delay\"")
        .await;
    round(&t.app).await;
    let ada = backorder_of(&t, "C-1001").await;
    let issued: (String, Option<i64>) = t
        .row(&format!(
            "SELECT CAST(code AS TEXT), message_id FROM discount_codes WHERE backorder_id = {ada}"
        ))
        .await;
    assert_eq!(issued.1, None, "not told yet: the send failed");
    t.app.clock.set(t.app.clock.now() + Duration::minutes(10));
    drain(&t.app).await;
    let sms = bodies_to(&mock, ADA);
    assert_eq!(sms.len(), 2, "{sms:?}");
    assert_eq!(codes_in(&sms[0]), vec![issued.0.clone()]);
    assert_eq!(
        codes_in(&sms[1]),
        vec![issued.0.clone()],
        "the retry carries the same code"
    );
    assert_eq!(
        t.scalar(&format!("SELECT COUNT(*) FROM discount_codes WHERE backorder_id = {ada} AND message_id IS NOT NULL"))
            .await,
        1
    );

    // The provider later reports that message undelivered: it told nothing, so the next message
    // carries the same code again and is recorded as the one that told it.
    let (sid,): (String,) = t
        .row(&format!(
            "SELECT m.provider_sid FROM discount_codes d JOIN messages m ON m.id = d.message_id
             WHERE d.backorder_id = {ada}"
        ))
        .await;
    backorder_bot::app::notify::status_callback(&t.app, &sid, "undelivered", Some("30003"))
        .await
        .unwrap();
    t.ok("/eta po:PO-1001 sku:TENT-2P date:2027-03-10 reason:\"later still\"")
        .await;
    drain(&t.app).await;
    let sms = bodies_to(&mock, ADA);
    assert_eq!(sms.len(), 3, "{sms:?}");
    assert_eq!(codes_in(&sms[2]), vec![issued.0.clone()], "{}", sms[2]);
    let (told_by,): (String,) = t
        .row(&format!(
            "SELECT m.body FROM discount_codes d JOIN messages m ON m.id = d.message_id
             WHERE d.backorder_id = {ada}"
        ))
        .await;
    assert!(told_by.contains("Wed 10 Mar"), "{told_by}");
    assert_eq!(
        t.scalar("SELECT COUNT(*) FROM discount_codes WHERE backorder_id IS NOT NULL")
            .await,
        2,
        "Ada's one code and Alan's"
    );
}

#[tokio::test]
async fn an_empty_pool_warns_the_ops_channel_once_per_time_it_runs_dry_and_still_sends() {
    let mock = MockTwilio::start().await;
    let t = demo_waiting_3_days(&mock).await;
    // No pool yet: nothing offered, nothing warned about.
    t.ok("/eta po:PO-1001 sku:TENT-2P date:2027-02-17 reason:\"carrier delay\"")
        .await;
    drain(&t.app).await;
    assert_eq!(pool_warnings(&t).await, 0);
    assert!(codes_in(&bodies_to(&mock, ADA)[0]).is_empty());

    // One code for the three TENT-2P customers who earned one (Ada, Alan; Grace waited 2 days).
    t.import("discount-codes", "code,value\nONLY-1,10\n")
        .await
        .unwrap();
    t.ok("/eta po:PO-1001 sku:TENT-2P date:2027-03-01 reason:\"later\"")
        .await;
    drain(&t.app).await;
    assert_eq!(
        t.scalar("SELECT COUNT(*) FROM discount_codes WHERE message_id IS NOT NULL")
            .await,
        1
    );
    assert_eq!(pool_warnings(&t).await, 1, "the pool ran dry once");
    let sent_after: i64 = t
        .scalar("SELECT COUNT(*) FROM messages WHERE body LIKE '% 1 Mar%'")
        .await;
    assert_eq!(sent_after, 3, "every customer still got the new date");
    let (post,): (String,) = t.row("SELECT channel_id FROM channel_posts").await;
    assert_eq!(post, ALERT_CHANNEL);

    // Still dry: the next messages go out without a code and without another warning.
    t.ok("/eta po:PO-1001 sku:TENT-2P date:2027-03-20 reason:\"later still\"")
        .await;
    drain(&t.app).await;
    assert_eq!(pool_warnings(&t).await, 1);

    // Refilled, then dry again: one more warning. Two days on Grace has waited 4 days too, so
    // she and Alan want a code and there is one.
    t.import("discount-codes", "code,value\nMORE-1,10\n")
        .await
        .unwrap();
    t.app.clock.set(t.app.clock.now() + Duration::days(2));
    t.ok("/eta po:PO-1001 sku:TENT-2P date:2027-04-02 reason:\"and later\"")
        .await;
    drain(&t.app).await;
    assert_eq!(
        t.scalar("SELECT COUNT(*) FROM discount_codes WHERE message_id IS NOT NULL")
            .await,
        2
    );
    assert_eq!(pool_warnings(&t).await, 2);
}

#[tokio::test]
async fn customer_lists_the_codes_issued_to_their_backorders_escaped() {
    let mock = MockTwilio::start().await;
    let t = demo_waiting_3_days(&mock).await;
    t.import("discount-codes", "code,value\n**<@1>_X,10\n")
        .await
        .unwrap();
    let before = t.ok("/customer C-1001").await;
    assert!(!before.contains("Discount codes"), "{before}");
    // Only Ada's backorder moves: her message earns the code.
    let ada = backorder_of(&t, "C-1001").await;
    t.exec(&format!(
        "UPDATE backorders SET promised_eta = '2027-02-17' WHERE id = {ada}"
    ))
    .await;
    let customer = t
        .scalar("SELECT id FROM customers WHERE external_id = 'C-1001'")
        .await;
    let mut conn = t.app.store.conn().await.unwrap();
    backorder_bot::store::outbox::enqueue(
        &mut conn,
        backorder_bot::domain::BackorderId(ada),
        backorder_bot::domain::CustomerId(customer),
        backorder_bot::domain::UpdateKind::EtaChanged,
        "{}",
        t.app.clock.now(),
    )
    .await
    .unwrap();
    drop(conn);
    drain(&t.app).await;
    let (reply, _) = t.ask("/customer C-1001").await;
    let field = reply
        .fields
        .iter()
        .find(|f| f.name == "Discount codes")
        .expect("a Discount codes field");
    assert!(
        field.value.contains(&format!("#{ada} TENT-2P: ")),
        "{}",
        field.value
    );
    assert!(
        field
            .value
            .contains("(10% off your next order) — sent 2026-11-26 12:00 UTC"),
        "{}",
        field.value
    );
    // Escaped for Discord: no bold, no mention.
    assert!(!field.value.contains("**<@1>"), "{}", field.value);
    let text = reply.to_text();
    assert!(
        text.contains("**<@1>_X (10% off your next order)"),
        "shown as typed: {text}"
    );
    // The app function /customer reads.
    let ada_customer = t
        .scalar(&format!(
            "SELECT customer_id FROM backorders WHERE id = {ada}"
        ))
        .await;
    let codes = backorder_bot::app::incentives::for_customer(
        &t.app,
        backorder_bot::domain::CustomerId(ada_customer),
    )
    .await
    .unwrap();
    let code = codes
        .iter()
        .find(|c| c.backorder_id == backorder_bot::domain::BackorderId(ada))
        .expect("issued");
    assert_eq!(code.code, "**<@1>_X");
    assert!(code.told.is_some());
    // Another customer has none.
    let other = t.ok("/customer C-1002").await;
    assert!(!other.contains("Discount codes"), "{other}");
}

/// A second application on the database file of `t`, as another process opens it.
async fn second_app(t: &TestApp, env: &[(String, String)]) -> App {
    let mut vars = env.to_vec();
    vars.push((
        "BACKORDER_BOT__DATABASE__PATH".into(),
        t.dir.path().join("test.db").display().to_string(),
    ));
    vars.push((
        "BACKORDER_BOT__SHOP__DEMO_DATA_ON_FIRST_START".into(),
        "false".into(),
    ));
    let settings = common::load_settings(None, &vars);
    Application::build(settings, Clock::fixed(t.app.clock.now()))
        .await
        .unwrap()
        .app
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_pool_issues_each_code_once_under_concurrency() {
    const CUSTOMERS: usize = 40;
    const CODES: usize = 25;
    let mock = MockTwilio::start().await;
    let env = env(
        &mock,
        &[
            ("BACKORDER_BOT__INCENTIVES__AFTER_DAYS", "1"),
            ("BACKORDER_BOT__NOTIFY__BATCH_SIZE", "3"),
            ("BACKORDER_BOT__SMS__PER_SECOND", "0"),
        ],
    );
    let t = spawn_app_with(&env).await;
    t.import("suppliers", "code,name,lead_time_days\nSUP,Supplier,10\n")
        .await
        .unwrap();
    t.import(
        "products",
        "sku,name,unit_price,supplier\nKETTLE-1,Kettle,30.00,SUP\n",
    )
    .await
    .unwrap();
    let mut customers = String::from("id,name,phone,channel\n");
    let mut orders = String::from("order,customer,sku,qty\n");
    for i in 0..CUSTOMERS {
        customers.push_str(&format!("K-{i},Kim {i},+4915100000{i:03},sms\n"));
        orders.push_str(&format!("SO-{i},K-{i},KETTLE-1,1\n"));
    }
    t.import("customers", &customers).await.unwrap();
    t.import("orders", &orders).await.unwrap();
    let codes: String = (0..CODES).map(|i| format!("POOL-{i:02},10\n")).collect();
    t.import("discount-codes", &format!("code,value\n{codes}"))
        .await
        .unwrap();
    let other = second_app(&t, &env).await;
    // Two days later the first notices go out: every backorder has earned a code.
    let later = test_now() + Duration::days(2);
    t.app.clock.set(later);
    other.clock.set(later);

    let mut tasks = tokio::task::JoinSet::new();
    for app in [t.app.clone(), other.clone(), t.app.clone(), other.clone()] {
        tasks.spawn(async move {
            let dispatcher = Dispatcher::new(&app).unwrap();
            let mut idle = 0;
            while idle < 3 {
                let r = dispatcher.run_once(&app).await.unwrap();
                idle = if r.claimed == 0 { idle + 1 } else { 0 };
                tokio::task::yield_now().await;
            }
        });
    }
    while let Some(r) = tasks.join_next().await {
        r.unwrap();
    }
    drain(&t.app).await;

    let bodies: Vec<String> = mock
        .received()
        .iter()
        .map(|r| r.field("Body").unwrap().to_string())
        .collect();
    assert_eq!(bodies.len(), CUSTOMERS, "one message per customer");
    let mut per_code: HashMap<String, usize> = HashMap::new();
    for b in &bodies {
        let found = codes_in(b);
        assert!(found.len() <= 1, "{b}");
        for c in found {
            *per_code.entry(c).or_default() += 1;
        }
    }
    assert_eq!(per_code.len(), CODES, "every code went out: {per_code:?}");
    assert!(
        per_code.values().all(|n| *n == 1),
        "no code twice: {per_code:?}"
    );
    let expected: BTreeSet<String> = (0..CODES).map(|i| format!("POOL-{i:02}")).collect();
    assert_eq!(per_code.keys().cloned().collect::<BTreeSet<_>>(), expected);
    assert_eq!(
        t.scalar(
            "SELECT COUNT(DISTINCT backorder_id) FROM discount_codes WHERE message_id IS NOT NULL"
        )
        .await,
        CODES as i64
    );
    assert_eq!(pool_warnings(&t).await, 1, "dry once, warned once");

    // The issuing step itself, raced directly by many tasks of both applications.
    let backorders: Vec<i64> = t
        .rows::<(i64,)>(
            "SELECT id FROM backorders WHERE id NOT IN (SELECT backorder_id FROM discount_codes WHERE backorder_id IS NOT NULL) ORDER BY id",
        )
        .await
        .into_iter()
        .map(|(id,)| id)
        .collect();
    assert_eq!(backorders.len(), CUSTOMERS - CODES);
    t.import(
        "discount-codes",
        "code,value\nRACE-1,5\nRACE-2,5\nRACE-3,5\n",
    )
    .await
    .unwrap();
    let mut tasks = tokio::task::JoinSet::new();
    for (i, b) in backorders.iter().enumerate() {
        let app = if i % 2 == 0 {
            t.app.clone()
        } else {
            other.clone()
        };
        let id = backorder_bot::domain::BackorderId(*b);
        for _ in 0..2 {
            let app = app.clone();
            tasks.spawn(async move {
                let mut conn = app.store.conn().await.unwrap();
                let mut ledger = backorder_bot::app::incentives::Ledger::open(&app, &mut conn)
                    .await
                    .unwrap();
                ledger.read(&mut conn, &[id]).await.unwrap();
                drop(conn);
                ledger
                    .offers(&app, backorder_bot::domain::UpdateKind::EtaChanged, &[id])
                    .await
                    .unwrap()
            });
        }
    }
    let mut handed: Vec<(i64, String)> = Vec::new();
    while let Some(r) = tasks.join_next().await {
        handed.extend(r.unwrap().into_iter().map(|o| (o.backorder_id.0, o.code)));
    }
    let codes: BTreeSet<&str> = handed.iter().map(|(_, c)| c.as_str()).collect();
    assert_eq!(
        codes.len(),
        3,
        "three codes, each to one backorder: {handed:?}"
    );
    for c in &codes {
        let holders: BTreeSet<i64> = handed
            .iter()
            .filter(|(_, x)| x == c)
            .map(|(b, _)| *b)
            .collect();
        assert_eq!(holders.len(), 1, "{c} went to {holders:?}");
    }
    assert_eq!(
        t.scalar("SELECT COUNT(*) FROM discount_codes WHERE code LIKE 'RACE-%' AND backorder_id IS NOT NULL")
            .await,
        3
    );
    assert_eq!(
        pool_warnings(&t).await,
        2,
        "refilled, dry again: one more warning"
    );
}
