//! Approvals (issue 21): a change that moves many customers' promises, or one promise far, waits
//! for ops before any customer hears of it. Through the console, the fake Discord (REST and
//! gateway, buttons and the note form as Discord sends them), the HTTP API, and a restart.

mod common;
mod support;

use backorder_bot::adapters::discord::poster::{self, Sender};
use backorder_bot::adapters::dispatcher::Dispatcher;
use backorder_bot::app::{App, Clock};
use backorder_bot::startup::Application;
use chrono::Duration;
use common::{spawn_app_with, test_now, TestApp};
use serde_json::{json, Value};
use support::fake_discord::openapi;
use support::fake_discord::*;
use tokio::sync::watch;

const CHANNEL: u64 = 1_500_000_000_000_000_001;
/// Customers waiting on PO-1001: 20 by SMS, 10 by e-mail.
const N: i64 = 30;
const NOTE: &str = "Our supplier's ship was held in port @everyone <@1> **sorry**";

fn vars(extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let channel = CHANNEL.to_string();
    let mut v = common::vars(&[
        ("BACKORDER_BOT__NOTIFY__QUIET_HOURS", ""),
        ("BACKORDER_BOT__NOTIFY__COALESCE", "0s"),
        ("BACKORDER_BOT__NOTIFY__POLL", "50ms"),
        ("BACKORDER_BOT__DISCORD__ALERT_CHANNEL_ID", channel.as_str()),
    ]);
    v.extend(common::vars(extra));
    v
}

/// The shop: MS-200 (Wireless Mouse) out of stock, 30 customers each waiting for one, all
/// promised PO-1001's 2027-02-10. Their first notices are sent.
async fn shop(app: &App) {
    shop_with_pos(
        app,
        "po,supplier,sku,qty,eta\nPO-1001,ACME,MS-200,100,2027-02-10\n",
    )
    .await
}

/// The same 30 customers waiting for MS-200, promised by the purchase orders of `pos` (CSV).
async fn shop_with_pos(app: &App, pos: &str) {
    let t = TestApp {
        app: app.clone(),
        dir: tempfile::tempdir().unwrap(),
    };
    t.import("suppliers", "code,name,lead_time_days\nACME,Acme,30\n")
        .await
        .unwrap();
    t.import(
        "products",
        "sku,name,unit_price,on_hand,supplier\nMS-200,Wireless Mouse,50.00,0,ACME\n",
    )
    .await
    .unwrap();
    let mut customers = String::from("id,name,phone,email,tier,channel,timezone\n");
    let mut orders = String::from("order,customer,sku,qty\n");
    for i in 1..=N {
        let channel = if i <= 20 { "sms" } else { "email" };
        customers.push_str(&format!(
            "C{i:02},Customer {i:02},+49151000001{i:02},c{i:02}@example.com,standard,{channel},UTC\n"
        ));
        orders.push_str(&format!("SO-{i},C{i:02},MS-200,1\n"));
    }
    t.import("customers", &customers).await.unwrap();
    t.import("purchase-orders", pos).await.unwrap();
    t.import("orders", &orders).await.unwrap();
    let sent = deliver(app).await;
    assert_eq!(
        sent, N as usize,
        "first notices: an order import is not held"
    );
    assert_eq!(messages(app).await, N);
}

/// Runs dispatcher rounds until nothing is claimed; returns the messages handed over.
async fn deliver(app: &App) -> usize {
    let d = Dispatcher::new(app).unwrap();
    let mut sent = 0;
    loop {
        let r = d.run_once(app).await.unwrap();
        if r.claimed == 0 {
            return sent;
        }
        sent += r.sent;
    }
}

async fn scalar(app: &App, sql: &str) -> i64 {
    app.store.scalar_i64(sql).await.unwrap()
}

async fn messages(app: &App) -> i64 {
    scalar(app, "SELECT COUNT(*) FROM messages").await
}

async fn outbox(app: &App, status: &str) -> i64 {
    scalar(
        app,
        &format!("SELECT COUNT(*) FROM outbox WHERE status = '{status}'"),
    )
    .await
}

async fn console_shop(extra: &[(&str, &str)]) -> TestApp {
    let t = spawn_app_with(&vars(extra)).await;
    shop(&t.app).await;
    t
}

/// `/eta` that moves all 30 promises by 19 days.
const BIG_ETA: &str = "/eta PO-1001 2027-03-01 carrier delay";

#[tokio::test]
async fn a_30_customer_eta_is_held_and_approve_in_the_console_sends_30_messages_with_the_note() {
    let t = console_shop(&[]).await;
    let preview = t.ok(&format!("{BIG_ETA} preview:true")).await;
    assert!(
        preview.contains(
            "needs approval: 30 customers (at least 25) and a shift of 19 days (at least 14 days)"
        ),
        "{preview}"
    );
    assert_eq!(scalar(&t.app, "SELECT COUNT(*) FROM approvals").await, 0);

    let eta = t.ok(BIG_ETA).await;
    assert!(eta.contains("Held for approval as batch #1"), "{eta}");
    assert_eq!(outbox(&t.app, "held").await, N);
    assert_eq!(deliver(&t.app).await, 0, "nothing is sent while held");
    let bo = scalar(&t.app, "SELECT MIN(id) FROM backorders").await;
    let shown = t.ok(&format!("/notifications backorder:{bo}")).await;
    assert!(shown.contains("held for approval"), "{shown}");
    assert_eq!(messages(&t.app).await, N);

    let list = t.ok("/approvals").await;
    assert!(list.contains("Held for approval (1)"), "{list}");
    assert!(
        list.contains("#1 — /eta PO-1001 2027-03-01: carrier delay by tester — 30 customers, 30 updates held, largest shift 19 days"),
        "{list}"
    );

    let approved = t.ok(&format!("/approve batch:1 note:\"{NOTE}\"")).await;
    assert!(approved.contains("30 updates released"), "{approved}");
    assert_eq!(outbox(&t.app, "held").await, 0);
    assert_eq!(deliver(&t.app).await, N as usize);
    let bodies: Vec<(String,)> = t
        .rows("SELECT body FROM messages ORDER BY id DESC LIMIT 30")
        .await;
    for (b,) in &bodies {
        assert!(b.contains("Mon 1 Mar"), "{b}");
        // A message is text for a phone or a mailbox: the note as typed.
        assert!(b.contains(NOTE), "{b}");
    }
    let sms: Vec<(String,)> = t
        .rows("SELECT body FROM messages WHERE channel = 'sms' ORDER BY id DESC LIMIT 20")
        .await;
    for (b,) in sms {
        let (_, segments) = backorder_bot::domain::notify::sms_segments(&b);
        assert!(segments <= t.app.settings.sms.max_segments, "{b}");
    }

    let again = t.user_error("/approve batch:1").await;
    assert!(again.contains("batch #1 is approved already"), "{again}");
    assert!(t
        .user_error("/withhold batch:99")
        .await
        .contains("no approval batch \"99\""));
    let audit: (String, String, String) = t
        .row("SELECT actor, subject, reason FROM audit_log WHERE action = 'approvals.approve'")
        .await;
    assert_eq!(audit.0, "tester");
    assert_eq!(audit.1, "batch #1: 30 updates");
    assert_eq!(audit.2, NOTE);
    assert!(t.ok("/approvals").await.contains("Held for approval (0)"));
}

#[tokio::test]
async fn withhold_in_the_console_closes_the_batch_and_sends_nothing() {
    let t = console_shop(&[]).await;
    t.ok(BIG_ETA).await;
    let out = t.ok("/withhold batch:1").await;
    assert!(out.contains("30 updates closed"), "{out}");
    assert_eq!(outbox(&t.app, "withheld").await, N);
    assert_eq!(deliver(&t.app).await, 0);
    assert_eq!(messages(&t.app).await, N);
    assert_eq!(
        scalar(&t.app, "SELECT COUNT(*) FROM audit_log WHERE action = 'approvals.withhold' AND actor = 'tester'").await,
        1
    );
    // Someone without the ops role may list but not decide.
    let viewer = backorder_bot::app::Actor {
        name: "discord:9".into(),
        may_change: false,
    };
    let inv = backorder_bot::commands::Invocation::parse_line("/approve batch:1").unwrap();
    let (reply, outcome) = backorder_bot::commands::run(&t.app, &viewer, &inv).await;
    assert_eq!(outcome, backorder_bot::commands::Outcome::UserError);
    assert!(reply.to_text().contains("ops role"), "{}", reply.to_text());
}

#[tokio::test]
async fn a_restart_keeps_the_held_batch_and_it_can_still_be_approved() {
    let t = console_shop(&[]).await;
    t.ok(BIG_ETA).await;
    let path = t.app.settings.database.path.clone();
    t.app.store.close().await;
    let mut settings = (*t.app.settings).clone();
    settings.database.path = path;
    let again = Application::build(settings, Clock::fixed(test_now() + Duration::hours(1)))
        .await
        .unwrap()
        .app;
    assert_eq!(outbox(&again, "held").await, N);
    assert_eq!(deliver(&again).await, 0);
    let page = backorder_bot::app::approvals::list(&again, &Default::default())
        .await
        .unwrap();
    assert_eq!(page.rows.len(), 1);
    assert_eq!(page.rows[0].updates, N);
    backorder_bot::app::approvals::approve(&again, &TestApp::ops(), 1, None)
        .await
        .unwrap();
    assert_eq!(deliver(&again).await, N as usize);
}

#[tokio::test]
async fn a_small_change_is_not_held_and_the_rule_holds_a_large_shift_for_few_customers() {
    let t = console_shop(&[("BACKORDER_BOT__NOTIFY__APPROVAL_MIN_CUSTOMERS", "31")]).await;
    let small = t.ok("/eta PO-1001 2027-02-15 carrier delay").await;
    assert!(!small.contains("Held for approval"), "{small}");
    assert_eq!(deliver(&t.app).await, N as usize);
    let big = t.ok("/eta PO-1001 2027-03-01 carrier delay").await;
    assert!(
        big.contains("needs approval: a shift of 14 days (at least 14 days)"),
        "{big}"
    );
}

/// A fake Discord, the app on it (not serving the gateway), and the shop.
async fn discord_shop(extra: &[(&str, &str)]) -> (FakeDiscord, TestApp) {
    let fake = FakeDiscord::start().await;
    let mut v = fake.settings_vars();
    v.extend(vars(extra));
    let t = spawn_app_with(&v).await;
    shop(&t.app).await;
    (fake, t)
}

fn check(method: &str, r: &RestRequest) {
    let problems = openapi::validate_request(method, &r.path, "application/json", &r.body);
    assert_eq!(problems, Vec::<String>::new(), "{:#}", r.body);
}

#[tokio::test]
async fn a_newer_change_supersedes_the_held_batch_edits_its_post_and_is_judged_on_its_own() {
    let (fake, t) = discord_shop(&[("BACKORDER_BOT__NOTIFY__APPROVAL_MIN_CUSTOMERS", "31")]).await;
    let sender = Sender::from_app(&t.app);
    t.ok(BIG_ETA).await;
    assert_eq!(poster::deliver_due(&t.app, &sender).await.unwrap(), 1);
    let posts = fake.channel_messages();
    assert_eq!(posts.len(), 1);
    let post = &posts[0];
    assert_eq!(post.path, format!("/api/v10/channels/{CHANNEL}/messages"));
    check("POST", post);
    let content = post.body["content"].as_str().unwrap();
    for part in [
        "Approval needed: batch #1",
        "MS-200: 2027-02-10 → 2027-03-01 (30 backorders)",
        "Customers: 30 (e-mail 10, SMS 20)",
        "Largest shift: 19 days",
        "One customer will get, by SMS to",
        "your Wireless Mouse: now expected Mon 1 Mar",
        // With a link as long as the real one, so the sample fits as the sent SMS does.
        "/b/xxxxxxxxxxxxxxxxxxxxxx",
    ] {
        assert!(content.contains(part), "{part} in {content}");
    }
    let buttons = &post.body["components"][0]["components"];
    let labels: Vec<&str> = buttons
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["label"].as_str().unwrap())
        .collect();
    assert_eq!(labels, ["Approve", "Add note…", "Withhold"]);

    // Four more days: 30 customers, a shift of 4 days — judged on its own, not held.
    let newer = t.ok("/eta PO-1001 2027-03-05 another delay").await;
    assert!(!newer.contains("Held for approval"), "{newer}");
    assert_eq!(outbox(&t.app, "held").await, 0);
    assert_eq!(
        scalar(&t.app, "SELECT COUNT(*) FROM outbox WHERE status = 'superseded' AND last_error LIKE 'batch #1 superseded%'").await,
        N
    );
    assert_eq!(
        scalar(
            &t.app,
            "SELECT COUNT(*) FROM approvals WHERE id = 1 AND status = 'superseded'"
        )
        .await,
        1
    );
    assert_eq!(poster::deliver_due(&t.app, &sender).await.unwrap(), 1);
    let edits = fake.channel_edits();
    assert_eq!(edits.len(), 1);
    let message_id = fake_message_id(&t.app).await;
    assert_eq!(
        edits[0].path,
        format!("/api/v10/channels/{CHANNEL}/messages/{message_id}")
    );
    check("PATCH", &edits[0]);
    let edited = edits[0].body["content"].as_str().unwrap();
    assert!(edited.contains("Batch #1 superseded"), "{edited}");
    assert_eq!(
        edits[0].body["components"],
        json!([]),
        "no buttons once decided"
    );
    // The customers hear the newer date only.
    assert_eq!(deliver(&t.app).await, N as usize);
    let told: i64 = scalar(
        &t.app,
        "SELECT COUNT(*) FROM messages WHERE body LIKE '%Fri 5 Mar%'",
    )
    .await;
    assert_eq!(told, N);
    assert_eq!(
        scalar(
            &t.app,
            "SELECT COUNT(*) FROM messages WHERE body LIKE '%Mon 1 Mar%'"
        )
        .await,
        0
    );
}

async fn fake_message_id(app: &App) -> String {
    let (id,): (String,) = common::rows_of(
        app,
        "SELECT p.message_id FROM approvals a JOIN channel_posts p ON p.id = a.post_id WHERE a.id = 1",
    )
    .await
    .remove(0);
    id
}

#[tokio::test]
async fn the_reminder_is_posted_once_after_approval_remind_after_even_across_a_restart() {
    let (fake, t) = discord_shop(&[]).await;
    let sender = Sender::from_app(&t.app);
    t.ok(BIG_ETA).await;
    assert_eq!(poster::deliver_due(&t.app, &sender).await.unwrap(), 1);
    t.app.clock.set(test_now() + Duration::minutes(119));
    assert_eq!(poster::deliver_due(&t.app, &sender).await.unwrap(), 0);
    t.app.clock.set(test_now() + Duration::minutes(121));
    assert_eq!(poster::deliver_due(&t.app, &sender).await.unwrap(), 1);
    t.app.clock.set(test_now() + Duration::hours(5));
    assert_eq!(poster::deliver_due(&t.app, &sender).await.unwrap(), 0);
    let posts = fake.channel_messages();
    assert_eq!(posts.len(), 2);
    check("POST", &posts[1]);
    let reminder = posts[1].body["content"].as_str().unwrap();
    assert!(
        reminder.starts_with("Reminder: batch #1 is still waiting for a decision"),
        "{reminder}"
    );
    assert_eq!(
        deliver(&t.app).await,
        0,
        "a reminder sends nothing to customers"
    );

    let path = t.app.settings.database.path.clone();
    t.app.store.close().await;
    let mut settings = (*t.app.settings).clone();
    settings.database.path = path;
    let again = Application::build(settings, Clock::fixed(test_now() + Duration::hours(9)))
        .await
        .unwrap()
        .app;
    assert_eq!(
        poster::deliver_due(&again, &Sender::from_app(&again))
            .await
            .unwrap(),
        0
    );
    assert_eq!(fake.channel_messages().len(), 2);
}

/// The application served as `main` serves it (gateway, poster, dispatcher) on the fake.
struct Served {
    fake: FakeDiscord,
    app: App,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
    _dir: tempfile::TempDir,
}

async fn serve() -> Served {
    let fake = FakeDiscord::start().await;
    let mut v = fake.settings_vars();
    v.extend(vars(&[]));
    let (built, dir) = common::build(None, false, &v, Clock::fixed(test_now())).await;
    let app = built.app.clone();
    // The first notices are delivered before the served dispatcher starts.
    shop(&app).await;
    let (stop, rx) = watch::channel(false);
    let task = tokio::spawn(built.run_until_stopped(false, rx));
    fake.connect_bot().await;
    Served {
        fake,
        app,
        stop,
        task,
        _dir: dir,
    }
}

async fn eventually(what: &str, mut ok: impl AsyncFnMut() -> bool) {
    for _ in 0..200 {
        if ok().await {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("timed out waiting for {what}");
}

fn private_text(cb: &Value) -> String {
    assert_eq!(cb["type"], 4, "{cb:#}");
    assert_eq!(cb["data"]["flags"], 64, "ephemeral: {cb:#}");
    cb["data"]["content"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn through_discord_a_held_eta_is_refused_to_non_ops_noted_in_a_form_and_approved() {
    let s = serve().await;
    let ops = Invoker::guild(GUILD, vec![OPS_ROLE]);
    let i = s
        .fake
        .send_command(
            "eta",
            json!([
                {"name": "po", "type": 3, "value": "PO-1001"},
                {"name": "date", "type": 3, "value": "2027-03-01"},
                {"name": "reason", "type": 3, "value": "carrier delay"},
            ]),
            &ops,
        )
        .await;
    s.fake.wait_callback(&i).await;
    let answer = s
        .fake
        .wait_request("the /eta answer", DEFAULT_TIMEOUT, |r| {
            (r.method == "PATCH" && r.path == i.original_path())
                || (r.method == "POST" && r.path == i.followup_path())
        })
        .await;
    assert!(
        answer
            .body
            .to_string()
            .contains("Held for approval as batch #1"),
        "{:#}",
        answer.body
    );
    let post = s
        .fake
        .wait_request("the approval post", DEFAULT_TIMEOUT, |r| {
            r.method == "POST" && r.path == format!("/api/v10/channels/{CHANNEL}/messages")
        })
        .await;
    check("POST", &post);
    let message = message_json(7, post.body["content"].as_str().unwrap(), json!({}));
    let approve = post.body["components"][0]["components"][0]["custom_id"]
        .as_str()
        .unwrap()
        .to_string();
    let note = post.body["components"][0]["components"][1]["custom_id"]
        .as_str()
        .unwrap()
        .to_string();

    // Someone without the ops role is refused privately; nothing moves.
    let click = s
        .fake
        .send_button_click(&approve, message.clone(), &Invoker::guild(GUILD, vec![]))
        .await;
    let cb = s.fake.wait_callback(&click).await;
    assert!(private_text(&cb).contains("Only the ops role"), "{cb:#}");
    check(
        "POST",
        &RestRequest {
            body: cb,
            ..rest(&click.callback_path())
        },
    );
    assert_eq!(outbox(&s.app, "held").await, N);
    assert_eq!(
        scalar(&s.app, "SELECT COUNT(*) FROM audit_log WHERE action = 'approvals.click' AND outcome = 'refused'").await,
        1
    );

    // "Add note…" opens the form; its submission sets the note.
    let click = s.fake.send_button_click(&note, message.clone(), &ops).await;
    let form = s.fake.wait_callback(&click).await;
    assert_eq!(form["type"], 9, "a modal: {form:#}");
    check(
        "POST",
        &RestRequest {
            body: form.clone(),
            ..rest(&click.callback_path())
        },
    );
    let form_id = form["data"]["custom_id"].as_str().unwrap().to_string();
    let field = form["data"]["components"][0]["components"][0]["custom_id"]
        .as_str()
        .unwrap()
        .to_string();
    let sent = s
        .fake
        .send_modal_submit(&form_id, &[(field.as_str(), NOTE)], &ops)
        .await;
    let cb = s.fake.wait_callback(&sent).await;
    let text = private_text(&cb);
    assert!(text.contains("Note added to batch #1"), "{text}");
    assert!(
        !text.contains("@everyone") && !text.contains("<@1>"),
        "escaped: {text}"
    );
    let edit = s
        .fake
        .wait_request("the post edited with the note", DEFAULT_TIMEOUT, |r| {
            r.method == "PATCH"
                && r.path
                    .starts_with(&format!("/api/v10/channels/{CHANNEL}/messages/"))
        })
        .await;
    check("PATCH", &edit);
    let edited = edit.body["content"].as_str().unwrap();
    assert!(edited.contains("Note for every message"), "{edited}");
    assert!(
        edited.contains("@\u{200B}everyone"),
        "the note cannot ping: {edited}"
    );
    assert!(
        !edited.contains("**sorry**"),
        "the note cannot format: {edited}"
    );
    assert!(
        edit.body["allowed_mentions"]["parse"]
            .as_array()
            .is_none_or(|p| p.is_empty()),
        "{:#}",
        edit.body
    );
    assert_eq!(
        edit.body["components"][0]["components"]
            .as_array()
            .unwrap()
            .len(),
        3
    );

    // Approve: the dispatcher of the running bot sends the 30 messages, each with the note.
    let click = s.fake.send_button_click(&approve, message, &ops).await;
    let cb = s.fake.wait_callback(&click).await;
    assert!(private_text(&cb).contains("Batch #1 approved"), "{cb:#}");
    eventually("30 more messages", async || messages(&s.app).await == 2 * N).await;
    assert_eq!(
        scalar(
            &s.app,
            &format!("SELECT COUNT(*) FROM messages WHERE id > {N} AND body LIKE '%held in port%'")
        )
        .await,
        N
    );
    let decided = s
        .fake
        .wait_request("the post edited as approved", DEFAULT_TIMEOUT, |r| {
            r.method == "PATCH" && r.body.to_string().contains("approved** by discord:")
        })
        .await;
    assert_eq!(decided.body["components"], json!([]));
    s.stop.send(true).unwrap();
    let _ = s.task.await;
}

fn rest(path: &str) -> RestRequest {
    RestRequest {
        method: "POST".into(),
        path: path.to_string(),
        query: None,
        body: Value::Null,
        multipart: false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_lists_approves_and_withholds_with_the_ingest_conventions() {
    backorder_bot::telemetry::init_for_tests();
    let dir = tempfile::tempdir().unwrap();
    let mut extra = vars(&[]);
    extra.extend(common::vars(&[
        ("BACKORDER_BOT__HTTP__BIND", "127.0.0.1:0"),
        ("INGEST_API_TOKEN", "s3cret"),
        ("BACKORDER_BOT__SHOP__DEMO_DATA_ON_FIRST_START", "false"),
        (
            "BACKORDER_BOT__DATABASE__PATH",
            dir.path().join("api.db").to_str().unwrap(),
        ),
    ]));
    let settings = common::load_settings(None, &extra);
    let mut application = Application::build(settings, Clock::fixed(test_now()))
        .await
        .unwrap();
    let addr = application.bind_http().await.unwrap();
    let app = application.app.clone();
    shop(&app).await;
    let t = TestApp {
        app: app.clone(),
        dir: tempfile::tempdir().unwrap(),
    };
    t.ok(BIG_ETA).await;
    t.ok("/eta PO-1001 2027-06-01 sku:MS-200 second thoughts")
        .await;
    // The second change superseded the first and is held itself.
    let (stop, rx) = watch::channel(false);
    let task = tokio::spawn(application.run_until_stopped(false, rx));
    let client = reqwest::Client::new();
    let base = format!("http://{addr}");
    let send = async |path: &str, body: Option<Value>, key: Option<&str>| {
        let mut req = match &body {
            Some(b) => client.post(format!("{base}{path}")).json(b),
            None => client.get(format!("{base}{path}")),
        }
        .bearer_auth("s3cret");
        if let Some(k) = key {
            req = req.header("Idempotency-Key", k);
        }
        let resp = req.send().await.unwrap();
        (
            resp.status().as_u16(),
            resp.json::<Value>().await.unwrap_or(Value::Null),
        )
    };
    let (status, list) = send("/api/v1/approvals", None, None).await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["total"], 1);
    assert_eq!(list["batches"][0]["batch"], 2);
    assert_eq!(list["batches"][0]["customers"], N);

    let (status, e) = send("/api/v1/approvals/x/approve", Some(json!({})), None).await;
    assert_eq!((status, e["field"].as_str()), (422, Some("batch")), "{e}");
    let (status, e) = send("/api/v1/approvals/9/approve", Some(json!({})), None).await;
    assert_eq!((status, e["field"].as_str()), (404, Some("batch")), "{e}");
    let (status, e) = send(
        "/api/v1/approvals/2/approve",
        Some(json!({"nota": "x"})),
        None,
    )
    .await;
    assert_eq!((status, e["field"].as_str()), (422, Some("nota")), "{e}");
    let long = json!({"note": "x".repeat(201)});
    let (status, e) = send("/api/v1/approvals/2/approve", Some(long), None).await;
    assert_eq!((status, e["field"].as_str()), (422, Some("note")), "{e}");
    let body = json!({"note": "Sorry for the wait."});
    let (status, first) = send(
        "/api/v1/approvals/2/approve",
        Some(body.clone()),
        Some("k-a"),
    )
    .await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["status"], "approved");
    assert_eq!(first["updates"], N);
    // The same key again: the first answer, not a second decision.
    let (status, replay) = send("/api/v1/approvals/2/approve", Some(body), Some("k-a")).await;
    assert_eq!((status, &replay), (200, &first));
    assert_eq!(
        scalar(&app, "SELECT COUNT(*) FROM audit_log WHERE action = 'approvals.approve' AND actor = 'api' AND reason = 'Sorry for the wait.'").await,
        1
    );
    let (status, e) = send("/api/v1/approvals/1/withhold", Some(json!({})), Some("k-1")).await;
    assert_eq!(status, 409, "batch 1 was superseded: {e}");
    assert!(e["error"].as_str().unwrap().contains("superseded"), "{e}");
    let (status, e) = send("/api/v1/approvals/2/withhold", Some(json!({})), Some("k-2")).await;
    assert_eq!(status, 409, "decided already: {e}");
    stop.send(true).unwrap();
    let _ = task.await;
    drop(t);
}

#[tokio::test]
async fn an_older_unsent_update_of_a_held_backorder_waits_with_the_batch() {
    let t = console_shop(&[("BACKORDER_BOT__NOTIFY__APPROVAL_MIN_CUSTOMERS", "31")]).await;
    // Not held (2 days), and not sent yet when the big change comes.
    t.ok("/eta PO-1001 2027-02-12 carrier delay").await;
    assert_eq!(outbox(&t.app, "pending").await, N);
    t.ok(BIG_ETA).await;
    assert_eq!(outbox(&t.app, "held").await, 2 * N);
    assert_eq!(
        deliver(&t.app).await,
        0,
        "the older update would tell the held date"
    );
    t.ok("/approve batch:1").await;
    // One message per customer, stating the date that stands.
    assert_eq!(deliver(&t.app).await, N as usize);
    assert_eq!(
        scalar(
            &t.app,
            "SELECT COUNT(*) FROM messages WHERE body LIKE '%Mon 1 Mar%'"
        )
        .await,
        N
    );
}

/// A receipt is one change too: here a part of the later PO arrives early, is allocated to the
/// head of the queue, and the earlier PO now covers the 10 customers who were promised the later
/// date, a shift of 50 days. Their updates are held, and `/receive` says so.
#[tokio::test]
async fn a_receipt_that_moves_promises_far_is_held_and_its_reply_says_so() {
    let t = spawn_app_with(&vars(&[])).await;
    shop_with_pos(
        &t.app,
        "po,supplier,sku,qty,eta\nPO-A,ACME,MS-200,20,2027-02-10\nPO-B,ACME,MS-200,100,2027-04-01\n",
    )
    .await;
    let late = "SELECT COUNT(*) FROM backorders WHERE promised_eta = '2027-04-01'";
    assert_eq!(scalar(&t.app, late).await, 10);

    let reply = t.ok("/receive po:PO-B sku:MS-200 qty:10").await;
    assert!(reply.contains("Held for approval as batch #1"), "{reply}");
    assert_eq!(scalar(&t.app, late).await, 0, "PO-A now covers them");
    assert_eq!(outbox(&t.app, "held").await, 10);
    let list = t.ok("/approvals").await;
    assert!(list.contains("10 customers"), "{list}");
    assert!(list.contains("largest shift 50 days"), "{list}");
}

/// A customer's own cancel on their page is a change too. Here PO-B slips a month and its 10
/// customers' updates are held; then one of PO-A's customers cancels on their page, and a PO-B
/// customer moves up to PO-A's date. That move is judged like any other: it is held (a shift
/// of 80 days) and supersedes the batch it touches, instead of going out unjudged.
#[tokio::test]
async fn a_cancel_on_the_customers_page_is_judged_and_supersedes_the_held_batch() {
    use backorder_bot::app::portal::{self, Outcome, Posted};
    use backorder_bot::domain::{Channel, CustomerId};
    let t = spawn_app_with(&vars(&[])).await;
    shop_with_pos(
        &t.app,
        "po,supplier,sku,qty,eta\nPO-A,ACME,MS-200,20,2027-02-10\nPO-B,ACME,MS-200,100,2027-04-01\n",
    )
    .await;
    let eta = t.ok("/eta PO-B 2027-05-01 supplier delay").await;
    assert!(eta.contains("Held for approval as batch #1"), "{eta}");

    let early = scalar(
        &t.app,
        "SELECT MIN(id) FROM backorders WHERE promised_eta = '2027-02-10'",
    )
    .await;
    let customer = scalar(
        &t.app,
        &format!("SELECT customer_id FROM backorders WHERE id = {early}"),
    )
    .await;
    let mut conn = t.app.store.conn().await.unwrap();
    let link = portal::new_link(
        &t.app,
        &mut conn,
        CustomerId(customer),
        Channel::Email,
        None,
    )
    .await
    .unwrap();
    drop(conn);
    let token = link.url.rsplit('/').next().unwrap().to_string();
    let page = portal::page(&t.app, &token).await.unwrap();
    let form = &page.backorders[0].cancel_form;
    let backorder = early.to_string();
    let outcome = portal::act(
        &t.app,
        &token,
        &Posted {
            nonce: &form.nonce,
            csrf: &form.csrf,
            backorder: &backorder,
            action: "cancel",
            sku: None,
            reason: Some("too_long"),
        },
    )
    .await
    .unwrap();
    assert!(matches!(outcome, Outcome::Done(_)), "{outcome:?}");

    let superseded = "SELECT COUNT(*) FROM approvals WHERE id = 1 AND status = 'superseded'";
    assert_eq!(scalar(&t.app, superseded).await, 1);
    let unjudged = "SELECT COUNT(*) FROM outbox WHERE kind = 'eta_changed' AND status = 'pending'";
    assert_eq!(
        scalar(&t.app, unjudged).await,
        0,
        "no move goes out unjudged"
    );
    let moved_up = "SELECT COUNT(*) FROM outbox o JOIN backorders b ON b.id = o.backorder_id
                    WHERE o.status = 'held' AND b.promised_eta = '2027-02-10'";
    assert_eq!(
        scalar(&t.app, moved_up).await,
        1,
        "the move up is held in a new batch"
    );
}
