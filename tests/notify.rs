//! Customer updates end to end: the real dispatcher, SMS client and SMTP client against servers
//! on 127.0.0.1, with the injected clock.

mod common;
#[path = "support/mock_twilio.rs"]
mod mock_twilio;
#[path = "support/smtp_server.rs"]
mod smtp_server;

use backorder_bot::adapters::dispatcher::{Dispatcher, Round};
use backorder_bot::store;
use chrono::{Duration, TimeZone, Utc};
use common::{spawn_demo_app, spawn_demo_app_with, test_now, TestApp};
use mock_twilio::{Answer, MockTwilio, ACCOUNT_SID as SID, AUTH_TOKEN as TOKEN};
use smtp_server::SmtpServer;

/// SMS through `mock` (300 ms timeout), status callbacks to a public URL, updates sent at once
/// at any hour.
fn sms_env(mock: &MockTwilio) -> Vec<(String, String)> {
    let mut env = mock.settings_vars();
    env.extend(common::vars(&[
        ("BACKORDER_BOT__SMS__TIMEOUT", "300ms"),
        ("BACKORDER_BOT__HTTP__PUBLIC_URL", "https://bot.example.com"),
        ("BACKORDER_BOT__NOTIFY__QUIET_HOURS", ""),
        ("BACKORDER_BOT__NOTIFY__COALESCE", "0s"),
        // These tests are about delivery: no change waits for approval (tests/approvals.rs).
        ("BACKORDER_BOT__NOTIFY__APPROVAL_MIN_SHIFT_DAYS", "100000"),
    ]));
    env
}

async fn app_with(env: &[(String, String)], extra: &[(&str, &str)]) -> TestApp {
    let mut all = env.to_vec();
    all.extend(common::vars(extra));
    spawn_demo_app_with(&all).await
}

/// Demo customer C-1001 (Ada, SMS, Europe/London) waits for TENT-2P.
async fn ada_backorder(t: &TestApp) -> i64 {
    t.scalar(
        "SELECT b.id FROM backorders b JOIN customers c ON c.id = b.customer_id
         WHERE c.external_id = 'C-1001'",
    )
    .await
}

async fn clear_outbox(t: &TestApp) {
    t.exec("DELETE FROM outbox").await;
}

/// Moves a backorder's promise to `new` and queues the update, as a re-promise does in one
/// transaction (messages state the promise as it stands, not the update's dates).
async fn queue_eta(t: &TestApp, backorder: i64, old: &str, new: &str) {
    t.exec(&format!(
        "UPDATE backorders SET promised_eta = '{new}', eta_kind = 'confirmed' WHERE id = {backorder}"
    ))
    .await;
    let customer: i64 = t
        .scalar(&format!(
            "SELECT customer_id FROM backorders WHERE id = {backorder}"
        ))
        .await;
    let payload = serde_json::json!({
        "sku": "TENT-2P", "product": "Trailhead 2-person tent",
        "old_eta": old, "old_kind": "confirmed", "new_eta": new, "new_kind": "confirmed", "cause": "po_eta",
    });
    let mut conn = t.app.store.conn().await.unwrap();
    store::outbox::enqueue(
        &mut conn,
        backorder_bot::domain::BackorderId(backorder),
        backorder_bot::domain::CustomerId(customer),
        backorder_bot::domain::UpdateKind::EtaChanged,
        &payload.to_string(),
        t.app.clock.now(),
    )
    .await
    .unwrap();
}

async fn round(t: &TestApp) -> Round {
    Dispatcher::new(&t.app)
        .unwrap()
        .run_once(&t.app)
        .await
        .unwrap()
}

async fn outbox_status(t: &TestApp) -> Vec<(String, i64)> {
    t.rows("SELECT status, attempts FROM outbox ORDER BY id")
        .await
}

fn advance(t: &TestApp, d: Duration) {
    t.app.clock.set(t.app.clock.now() + d);
}

#[tokio::test]
async fn an_eta_change_is_texted_with_path_auth_and_form_fields() {
    let mock = MockTwilio::start().await;
    let t = app_with(&sms_env(&mock), &[]).await;
    clear_outbox(&t).await;
    t.ok("/eta po:PO-1001 sku:TENT-2P date:2027-02-17 reason:\"carrier delay\"")
        .await;
    let r = round(&t).await;
    assert!(r.sent >= 1, "{r:?}");
    let got = mock.received();
    let sms: Vec<_> = got
        .iter()
        .filter(|r| r.field("To") == Some("+447700900001"))
        .collect();
    assert_eq!(sms.len(), 1, "{got:?}");
    let req = sms[0];
    assert_eq!(req.method, "POST");
    assert_eq!(
        req.path,
        format!("/2010-04-01/Accounts/{SID}/Messages.json")
    );
    use base64::Engine;
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{SID}:{TOKEN}"));
    assert_eq!(
        req.authorization.as_deref(),
        Some(format!("Basic {basic}").as_str())
    );
    assert_eq!(req.field("From"), Some("+15005550006"));
    assert_eq!(
        req.field("StatusCallback"),
        Some("https://bot.example.com/webhooks/twilio/status")
    );
    let body = req.field("Body").unwrap();
    assert!(body.contains("Wed 17 Feb"), "{body}");
    assert!(body.contains("Trailhead 2-person tent"), "{body}");
    // Recorded with the provider's sid; the e-mail customers went to the log.
    let (sid,): (String,) = t
        .row("SELECT provider_sid FROM messages WHERE channel = 'sms' AND transport = 'twilio'")
        .await;
    assert!(sid.starts_with("SM"));
    assert!(
        t.scalar("SELECT COUNT(*) FROM messages WHERE transport = 'log'")
            .await
            >= 1
    );
    assert_eq!(
        t.scalar("SELECT COUNT(*) FROM outbox WHERE status IN ('pending', 'sending')")
            .await,
        0
    );
}

#[tokio::test]
async fn a_429_is_retried_after_retry_after_and_then_sent() {
    let mock = MockTwilio::start().await;
    let t = app_with(&sms_env(&mock), &[]).await;
    clear_outbox(&t).await;
    let bo = ada_backorder(&t).await;
    queue_eta(&t, bo, "2026-12-02", "2027-02-17").await;
    let mut limited = Answer::error(429, 20429);
    limited.retry_after = Some(30);
    mock.script([limited]);
    assert_eq!(round(&t).await.retried, 1);
    assert_eq!(outbox_status(&t).await, vec![("pending".to_string(), 1)]);
    // Not before Retry-After.
    advance(&t, Duration::seconds(20));
    assert_eq!(round(&t).await.claimed, 0);
    advance(&t, Duration::seconds(11));
    assert_eq!(round(&t).await.sent, 1);
    assert_eq!(mock.count(), 2);
    assert_eq!(outbox_status(&t).await, vec![("sent".to_string(), 2)]);
}

#[tokio::test]
async fn code_21610_opts_the_customer_out_without_retrying() {
    let mock = MockTwilio::start().await;
    let t = app_with(&sms_env(&mock), &[]).await;
    clear_outbox(&t).await;
    let bo = ada_backorder(&t).await;
    queue_eta(&t, bo, "2026-12-02", "2027-02-17").await;
    mock.script([Answer::error(400, 21610)]);
    let r = round(&t).await;
    assert_eq!((r.sent, r.retried, r.failed), (0, 0, 1));
    assert_eq!(
        t.scalar("SELECT COUNT(*) FROM customers WHERE external_id = 'C-1001' AND sms_opt_out")
            .await,
        1
    );
    // The next update is not even attempted.
    queue_eta(&t, bo, "2027-02-17", "2027-03-01").await;
    advance(&t, Duration::hours(1));
    let r = round(&t).await;
    assert_eq!(r.skipped, 1);
    assert_eq!(mock.count(), 1);
}

#[tokio::test]
async fn an_invalid_number_is_flagged_and_not_texted_again() {
    let mock = MockTwilio::start().await;
    let t = app_with(&sms_env(&mock), &[]).await;
    clear_outbox(&t).await;
    let bo = ada_backorder(&t).await;
    queue_eta(&t, bo, "2026-12-02", "2027-02-17").await;
    mock.script([Answer::error(400, 21211)]);
    assert_eq!(round(&t).await.failed, 1);
    assert_eq!(t.scalar("SELECT COUNT(*) FROM flagged_numbers").await, 1);
    assert_eq!(
        t.scalar("SELECT COUNT(*) FROM portal_links").await,
        0,
        "a refused text leaves no page link"
    );
    queue_eta(&t, bo, "2027-02-17", "2027-03-01").await;
    assert_eq!(round(&t).await.skipped, 1);
    assert_eq!(mock.count(), 1);
}

#[tokio::test]
async fn server_errors_back_off_and_are_dead_lettered_after_max_attempts() {
    let mock = MockTwilio::start().await;
    let t = app_with(
        &sms_env(&mock),
        &[
            ("BACKORDER_BOT__NOTIFY__MAX_ATTEMPTS", "3"),
            ("BACKORDER_BOT__DISCORD__ALERT_CHANNEL_ID", "4242"),
        ],
    )
    .await;
    clear_outbox(&t).await;
    let bo = ada_backorder(&t).await;
    queue_eta(&t, bo, "2026-12-02", "2027-02-17").await;
    mock.script((0..5).map(|_| Answer::error(500, 20500)));
    let mut waits = Vec::new();
    for _ in 0..2 {
        assert_eq!(round(&t).await.retried, 1);
        let mut conn = t.app.store.conn().await.unwrap();
        let next = store::notify::next_due(&mut conn).await.unwrap().unwrap();
        drop(conn);
        let wait = next - t.app.clock.now();
        assert!(wait > Duration::zero());
        waits.push(wait);
        // Too early: nothing to do.
        assert_eq!(round(&t).await.claimed, 0);
        advance(&t, wait);
    }
    assert!(waits[1] > waits[0], "backoff grows: {waits:?}");
    let r = round(&t).await;
    assert_eq!(r.failed, 1);
    assert_eq!(mock.count(), 3);
    let (status, error): (String, String) = t.row("SELECT status, last_error FROM outbox").await;
    assert_eq!(status, "failed");
    assert!(error.contains("3 attempts"), "{error}");
    let posts: Vec<String> = t
        .rows::<(String,)>("SELECT content FROM channel_posts")
        .await
        .into_iter()
        .map(|r| r.0)
        .collect();
    assert_eq!(posts.len(), 1, "{posts:?}");
    assert!(
        posts[0].contains("1 dead-lettered (after 3 attempts"),
        "{posts:?}"
    );
    advance(&t, Duration::hours(2));
    assert_eq!(round(&t).await.claimed, 0);
}

/// A shop's own template that fails on a message (here: adding a number to a name) cannot
/// succeed on a retry: its updates are dead-lettered at once with the template's error, the
/// team is told, nothing is sent, and the next round does not claim them again.
#[tokio::test]
async fn a_template_that_fails_dead_letters_its_updates_at_once() {
    let mock = MockTwilio::start().await;
    let dir = tempfile::tempdir().unwrap();
    // The first message about a backorder is `backordered`; both kinds fail.
    for kind in ["backordered", "eta_changed"] {
        std::fs::write(
            dir.path().join(format!("{kind}.sms.txt")),
            "Hi {{ name + 1 }}",
        )
        .unwrap();
    }
    let templates = dir.path().to_str().unwrap().to_string();
    let t = app_with(
        &sms_env(&mock),
        &[
            ("BACKORDER_BOT__NOTIFY__TEMPLATES_DIR", templates.as_str()),
            ("BACKORDER_BOT__DISCORD__ALERT_CHANNEL_ID", "4242"),
        ],
    )
    .await;
    clear_outbox(&t).await;
    let bo = ada_backorder(&t).await;
    queue_eta(&t, bo, "2026-12-02", "2027-02-17").await;
    let r = round(&t).await;
    assert_eq!((r.claimed, r.failed, r.sent), (1, 1, 0));
    assert_eq!(mock.count(), 0, "nothing was sent");
    assert_eq!(t.scalar("SELECT COUNT(*) FROM portal_links").await, 0);
    let (status, error): (String, String) = t.row("SELECT status, last_error FROM outbox").await;
    assert_eq!(status, "failed");
    assert!(error.contains("backordered.sms.txt"), "{error}");
    let posts: Vec<String> = t
        .rows::<(String,)>("SELECT content FROM channel_posts")
        .await
        .into_iter()
        .map(|r| r.0)
        .collect();
    assert_eq!(posts.len(), 1, "{posts:?}");
    assert!(posts[0].contains("1 dead-lettered"), "{posts:?}");
    advance(&t, Duration::hours(2));
    assert_eq!(round(&t).await.claimed, 0);
}

#[tokio::test]
async fn a_timeout_is_retried() {
    let mock = MockTwilio::start().await;
    let t = app_with(&sms_env(&mock), &[]).await;
    clear_outbox(&t).await;
    let bo = ada_backorder(&t).await;
    queue_eta(&t, bo, "2026-12-02", "2027-02-17").await;
    let mut slow = Answer::error(201, 0);
    slow.body = r#"{"sid": "SMslow", "status": "queued"}"#.into();
    slow.delay = std::time::Duration::from_millis(1500);
    mock.script([slow]);
    assert_eq!(round(&t).await.retried, 1);
    advance(&t, Duration::minutes(5));
    assert_eq!(round(&t).await.sent, 1);
    assert_eq!(mock.count(), 2);
}

#[tokio::test]
async fn quiet_hours_hold_texts_until_morning_in_the_customers_zone() {
    let mock = MockTwilio::start().await;
    let mut env = sms_env(&mock);
    env.retain(|(k, _)| k != "BACKORDER_BOT__NOTIFY__QUIET_HOURS");
    let t = app_with(&env, &[]).await;
    clear_outbox(&t).await;
    // 22:30 in London (UTC in November).
    t.app
        .clock
        .set(Utc.with_ymd_and_hms(2026, 11, 26, 22, 30, 0).unwrap());
    let bo = ada_backorder(&t).await;
    queue_eta(&t, bo, "2026-12-02", "2027-02-17").await;
    let r = round(&t).await;
    assert_eq!((r.held, r.sent), (1, 0));
    assert_eq!(outbox_status(&t).await, vec![("pending".to_string(), 0)]);
    t.app
        .clock
        .set(Utc.with_ymd_and_hms(2026, 11, 27, 7, 59, 0).unwrap());
    assert_eq!(round(&t).await.claimed, 0);
    t.app
        .clock
        .set(Utc.with_ymd_and_hms(2026, 11, 27, 8, 0, 0).unwrap());
    assert_eq!(round(&t).await.sent, 1);
    assert_eq!(mock.count(), 1);
}

#[tokio::test]
async fn updates_within_the_coalescing_window_become_one_message_with_the_latest_date() {
    let mock = MockTwilio::start().await;
    let t = app_with(
        &sms_env(&mock),
        &[("BACKORDER_BOT__NOTIFY__COALESCE", "10m")],
    )
    .await;
    clear_outbox(&t).await;
    let bo = ada_backorder(&t).await;
    queue_eta(&t, bo, "2026-12-02", "2027-02-10").await;
    advance(&t, Duration::minutes(3));
    queue_eta(&t, bo, "2027-02-10", "2027-02-17").await;
    advance(&t, Duration::minutes(5));
    assert_eq!(round(&t).await.claimed, 0, "window still open");
    advance(&t, Duration::minutes(3));
    let r = round(&t).await;
    assert_eq!((r.claimed, r.sent), (2, 1));
    let got = mock.received();
    assert_eq!(got.len(), 1);
    assert!(got[0].field("Body").unwrap().contains("Wed 17 Feb"));
    assert!(!got[0].field("Body").unwrap().contains("10 Feb"));

    // Back and forth within a window ends where the customer was told: nothing is sent, and
    // both updates are closed as superseded.
    queue_eta(&t, bo, "2027-02-17", "2027-02-24").await;
    advance(&t, Duration::minutes(2));
    queue_eta(&t, bo, "2027-02-24", "2027-02-17").await;
    advance(&t, Duration::minutes(11));
    let r = round(&t).await;
    assert_eq!((r.claimed, r.superseded, r.sent), (2, 2, 0));
    assert_eq!(mock.count(), 1);
    let text = t.ok(&format!("/notifications backorder:{bo}")).await;
    assert_eq!(
        text.matches("eta_changed update · not sent: superseded by a newer update")
            .count(),
        2,
        "{text}"
    );
}

#[tokio::test]
async fn several_backorders_of_one_customer_become_one_text() {
    let mock = MockTwilio::start().await;
    let t = app_with(&sms_env(&mock), &[]).await;
    clear_outbox(&t).await;
    t.import(
        "orders",
        "order,customer,sku,qty\nSO-9001,C-1001,STOVE-GAS,1\nSO-9002,C-1001,JACKET-RAIN-M,1\n",
    )
    .await
    .unwrap();
    clear_outbox(&t).await;
    let ids: Vec<i64> = t
        .rows::<(i64,)>(
            "SELECT b.id FROM backorders b JOIN customers c ON c.id = b.customer_id
         WHERE c.external_id = 'C-1001' ORDER BY b.id",
        )
        .await
        .into_iter()
        .map(|r| r.0)
        .collect();
    assert!(ids.len() >= 3, "{ids:?}");
    for id in &ids {
        queue_eta(&t, *id, "2026-12-02", "2027-02-17").await;
    }
    let r = round(&t).await;
    assert_eq!((r.claimed, r.sent), (ids.len(), 1));
    assert_eq!(mock.count(), 1);
    assert_eq!(
        t.scalar("SELECT COUNT(*) FROM message_backorders").await,
        ids.len() as i64
    );
}

#[tokio::test]
async fn cancelling_a_backorder_queues_and_sends_a_cancellation() {
    let mock = MockTwilio::start().await;
    let t = app_with(&sms_env(&mock), &[]).await;
    clear_outbox(&t).await;
    let bo = ada_backorder(&t).await;
    t.ok(&format!(
        "/backorder cancel id:{bo} reason:\"customer asked\""
    ))
    .await;
    assert_eq!(
        t.scalar(&format!(
            "SELECT COUNT(*) FROM outbox WHERE kind = 'cancelled' AND backorder_id = {bo}"
        ))
        .await,
        1
    );
    round(&t).await;
    let got = mock.received();
    let to_ada: Vec<_> = got
        .iter()
        .filter(|r| r.field("To") == Some("+447700900001"))
        .collect();
    assert_eq!(to_ada.len(), 1);
    assert!(to_ada[0].field("Body").unwrap().contains("cancelled"));
}

#[tokio::test]
async fn an_email_arrives_at_a_loopback_smtp_server_as_multipart_mime() {
    let smtp = SmtpServer::start().await;
    let port = smtp.port.to_string();
    let t = spawn_demo_app_with(&[
        ("BACKORDER_BOT__EMAIL__HOST", "127.0.0.1"),
        ("BACKORDER_BOT__EMAIL__PORT", &port),
        ("BACKORDER_BOT__EMAIL__TLS", "none"),
        ("BACKORDER_BOT__EMAIL__FROM", "shop@example.com"),
        ("BACKORDER_BOT__EMAIL__REPLY_TO", "help@example.com"),
        ("BACKORDER_BOT__NOTIFY__COALESCE", "0s"),
    ])
    .await;
    clear_outbox(&t).await;
    // Grace (C-1002) prefers e-mail.
    let bo = t
        .scalar(
            "SELECT b.id FROM backorders b JOIN customers c ON c.id = b.customer_id
             WHERE c.external_id = 'C-1002' ORDER BY b.id LIMIT 1",
        )
        .await;
    queue_eta(&t, bo, "2026-12-02", "2027-02-17").await;
    let r = round(&t).await;
    assert_eq!(r.sent, 1, "{r:?}");
    let raw = smtp.messages();
    assert_eq!(raw.len(), 1);
    let msg = mail_parser::MessageParser::default()
        .parse(raw[0].as_bytes())
        .expect("parses as MIME");
    assert!(msg.message_id().is_some());
    assert!(msg.date().is_some());
    assert_eq!(
        msg.to().and_then(|a| a.first()).and_then(|a| a.address()),
        Some("grace@example.com")
    );
    assert_eq!(
        msg.reply_to()
            .and_then(|a| a.first())
            .and_then(|a| a.address()),
        Some("help@example.com")
    );
    let text = msg.body_text(0).unwrap();
    let html = msg.body_html(0).unwrap();
    assert!(text.contains("Wed 17 Feb"), "{text}");
    assert!(html.contains("<strong>Wed 17 Feb</strong>"), "{html}");
    // The first message about the backorder.
    assert!(msg.subject().unwrap().contains("is on backorder"));
    let _ = test_now();
}

#[tokio::test]
async fn eta_preview_shows_the_rendered_messages_of_the_first_customers() {
    let t = spawn_demo_app().await;
    let text = t
        .ok("/eta po:PO-1001 sku:TENT-2P date:2027-02-17 reason:\"carrier delay\" preview:true")
        .await;
    assert!(text.contains("Messages (first 3 customers)"), "{text}");
    assert!(
        text.contains("Ada L. by SMS to +44••••••••01: Demo Shop: your Trailhead 2-person tent: now expected Wed 17 Feb"),
        "{text}"
    );
    assert!(text.contains("by e-mail to "), "{text}");
    assert!(!text.contains("ada@example.com") && !text.contains("+447700900001"));
    assert_eq!(t.scalar("SELECT COUNT(*) FROM messages").await, 0);
}

#[tokio::test]
async fn notifications_lists_what_was_sent_about_a_backorder_with_contacts_masked() {
    let mock = MockTwilio::start().await;
    let t = app_with(&sms_env(&mock), &[]).await;
    clear_outbox(&t).await;
    let bo = ada_backorder(&t).await;
    assert!(t
        .ok(&format!("/notifications backorder:{bo}"))
        .await
        .contains("No messages"));
    queue_eta(&t, bo, "2026-12-02", "2027-02-17").await;
    round(&t).await;
    let text = t.ok(&format!("/notifications backorder:{bo}")).await;
    assert!(
        text.contains("backordered · sms (twilio) to +44••••••••01 · queued"),
        "{text}"
    );
    assert!(!text.contains("+447700900001"), "{text}");
    t.user_error("/notifications backorder:99999").await;
}

#[tokio::test]
async fn an_api_key_and_a_messaging_service_are_used_when_configured() {
    let mock = MockTwilio::start().await;
    let mut env = sms_env(&mock);
    env.retain(|(k, _)| k != "BACKORDER_BOT__SMS__FROM");
    env.extend(common::vars(&[
        ("TWILIO_API_KEY", "SK0123"),
        ("TWILIO_API_SECRET", "api-secret"),
        ("BACKORDER_BOT__SMS__MESSAGING_SERVICE_SID", "MG0123"),
        ("BACKORDER_BOT__HTTP__PUBLIC_URL", ""),
    ]));
    let t = app_with(&env, &[]).await;
    clear_outbox(&t).await;
    let bo = ada_backorder(&t).await;
    queue_eta(&t, bo, "2026-12-02", "2027-02-17").await;
    assert_eq!(round(&t).await.sent, 1);
    let req = &mock.received()[0];
    use base64::Engine;
    let basic = base64::engine::general_purpose::STANDARD.encode("SK0123:api-secret");
    assert_eq!(
        req.authorization.as_deref(),
        Some(format!("Basic {basic}").as_str())
    );
    assert_eq!(
        req.path,
        format!("/2010-04-01/Accounts/{SID}/Messages.json")
    );
    assert_eq!(req.field("MessagingServiceSid"), Some("MG0123"));
    assert_eq!(req.field("From"), None);
    assert_eq!(req.field("StatusCallback"), None);
}

#[tokio::test]
async fn customer_shows_the_last_messages_with_contacts_masked() {
    let mock = MockTwilio::start().await;
    let t = app_with(&sms_env(&mock), &[]).await;
    clear_outbox(&t).await;
    let bo = ada_backorder(&t).await;
    queue_eta(&t, bo, "2026-12-02", "2027-02-17").await;
    round(&t).await;
    let text = t.ok("/customer id:C-1001").await;
    assert!(text.contains("Last messages"), "{text}");
    assert!(
        text.contains("backordered · sms (twilio) to +44••••••••01 · queued"),
        "{text}"
    );
    assert!(!text.contains("+447700900001"), "{text}");
}

#[tokio::test]
async fn the_dispatcher_task_wakes_at_once_for_updates_its_own_process_wrote() {
    let mock = MockTwilio::start().await;
    // A poll interval far longer than the test: only the wake-up can deliver in time.
    let t = app_with(&sms_env(&mock), &[("BACKORDER_BOT__NOTIFY__POLL", "10m")]).await;
    clear_outbox(&t).await;
    let (stop_tx, stop) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(backorder_bot::adapters::dispatcher::run(
        t.app.clone(),
        stop.into(),
    ));
    // Let the first (empty) round pass, so the task is waiting.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let bo = ada_backorder(&t).await;
    t.ok(&format!(
        "/backorder cancel id:{bo} reason:\"customer asked\""
    ))
    .await;
    let start = std::time::Instant::now();
    while mock.count() == 0 {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(3),
            "not woken"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    stop_tx.send(true).unwrap();
    task.await.unwrap().unwrap();
    assert!(mock.received()[0]
        .field("Body")
        .unwrap()
        .contains("cancelled"));
}

#[tokio::test]
async fn email_is_not_held_in_quiet_hours_and_other_4xx_are_dead_lettered() {
    let mock = MockTwilio::start().await;
    let smtp = SmtpServer::start().await;
    let port = smtp.port.to_string();
    let mut env = sms_env(&mock);
    env.retain(|(k, _)| k != "BACKORDER_BOT__NOTIFY__QUIET_HOURS");
    let t = app_with(
        &env,
        &[
            ("BACKORDER_BOT__EMAIL__HOST", "127.0.0.1"),
            ("BACKORDER_BOT__EMAIL__PORT", &port),
            ("BACKORDER_BOT__EMAIL__TLS", "none"),
        ],
    )
    .await;
    clear_outbox(&t).await;
    // 23:00 in London and New York's evening: quiet for SMS, not for e-mail.
    t.app
        .clock
        .set(Utc.with_ymd_and_hms(2026, 11, 26, 23, 0, 0).unwrap());
    let grace = t
        .scalar(
            "SELECT b.id FROM backorders b JOIN customers c ON c.id = b.customer_id
             WHERE c.external_id = 'C-1002' ORDER BY b.id LIMIT 1",
        )
        .await;
    queue_eta(&t, grace, "2026-12-02", "2027-02-17").await;
    let r = round(&t).await;
    assert_eq!((r.sent, r.held), (1, 0));
    assert_eq!(smtp.messages().len(), 1);

    // Daytime: a 400 that is neither an opt-out nor a bad number is a dead letter.
    t.app
        .clock
        .set(Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).unwrap());
    let bo = ada_backorder(&t).await;
    queue_eta(&t, bo, "2026-12-02", "2027-02-17").await;
    mock.script([Answer::error(400, 21602)]);
    assert_eq!(round(&t).await.failed, 1);
    let (status, error): (String, String) = t
        .row(&format!(
            "SELECT status, last_error FROM outbox WHERE backorder_id = {bo}"
        ))
        .await;
    assert_eq!(status, "failed");
    assert!(error.contains("21602"), "{error}");
    advance(&t, Duration::hours(1));
    assert_eq!(round(&t).await.claimed, 0);
    assert_eq!(mock.count(), 1);
}
