//! Discord interactions over HTTP (`POST /discord/interactions`): the real start-up path with
//! the HTTP server bound, the fake Discord signing and POSTing interactions and serving the
//! REST edits of deferred answers. Answers are checked against Discord's OpenAPI description.

mod common;
mod support;

use backorder_bot::app::{App, Clock};
use backorder_bot::domain::approval::ApprovalStatus;
use backorder_bot::store::audit;
use serde_json::{json, Value};
use std::time::Duration;
use support::fake_discord::*;
use tokio::sync::watch;

const OTHER_ROLE: u64 = 1_400_000_000_000_000_002;
const ALERT_CHANNEL: u64 = 1_500_000_000_000_000_001;

struct Bot {
    fake: FakeDiscord,
    app: App,
    /// `http://127.0.0.1:PORT/discord/interactions`
    url: String,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
    _dirs: Vec<tempfile::TempDir>,
}

/// Starts the fake, then the application as `main` does (HTTP bound on a free port, console
/// off) on the demo shop, with `config` as its settings file and `extra` variables. With the
/// gateway on, completes IDENTIFY/READY and the registration first.
async fn boot(config: Option<&str>, extra: &[(&str, &str)]) -> Bot {
    let dir = tempfile::tempdir().unwrap();
    let database = common::database_vars(&dir).await;
    let mut bot = boot_on(&database, true, config, extra).await;
    bot._dirs.push(dir);
    bot
}

/// [`boot`] on the database `database` names ([`common::database_vars`]), with or without the
/// demo shop on a first start: another replica, or a restart.
async fn boot_on(
    database: &[(String, String)],
    demo: bool,
    config: Option<&str>,
    extra: &[(&str, &str)],
) -> Bot {
    let fake = FakeDiscord::start().await;
    let mut vars = fake.settings_vars();
    vars.extend(common::vars(&[(
        "BACKORDER_BOT__HTTP__BIND",
        "127.0.0.1:0",
    )]));
    vars.extend(common::vars(extra));
    let dir = tempfile::tempdir().unwrap();
    let mut built = common::build_on(database, &dir, config, demo, &vars, Clock::System).await;
    let addr = built.bind_http().await.unwrap();
    let app = built.app.clone();
    let (stop, rx) = watch::channel(false);
    let task = tokio::spawn(built.run_until_stopped(false, rx));
    if app.settings.discord.gateway {
        fake.connect_bot().await;
    }
    Bot {
        fake,
        app,
        url: format!("http://{addr}/discord/interactions"),
        stop,
        task,
        _dirs: vec![dir],
    }
}

/// Without the gateway (the replica set-up).
async fn boot_http_only(extra: &[(&str, &str)]) -> Bot {
    let mut all = vec![("BACKORDER_BOT__DISCORD__GATEWAY", "false")];
    all.extend_from_slice(extra);
    boot(None, &all).await
}

fn member(roles: Vec<u64>) -> Invoker {
    Invoker::guild(GUILD, roles)
}

/// What Discord's schema for an interaction response refuses in `body` (empty when valid).
fn response_problems(body: &Value) -> Vec<String> {
    openapi::validate_request(
        "POST",
        "/api/v10/interactions/1/tok/callback",
        "application/json",
        body,
    )
}

fn field<'a>(embed: &'a Value, name: &str) -> &'a Value {
    &embed["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == name)
        .unwrap_or_else(|| panic!("{name} not in {embed:#}"))["value"]
}

impl Bot {
    /// The edit of `i`'s deferred response that Discord accepted, checked against the schema of that PATCH.
    async fn patched(&self, i: &SentInteraction) -> Value {
        let path = i.original_path();
        let req = self
            .fake
            .wait_request("the edit of @original that lands", DEFAULT_TIMEOUT, |r| {
                r.method == "PATCH" && r.path == path && r.query.is_none()
            })
            .await;
        let problems = if req.multipart {
            validate_multipart(&req)
        } else {
            openapi::validate_request("PATCH", &req.path, "application/json", &req.body)
        };
        assert_eq!(problems, Vec::<String>::new(), "{:#}", req.body);
        req.body
    }

    async fn audit(&self) -> Vec<audit::AuditRow> {
        let mut conn = self.app.store.conn().await.unwrap();
        audit::latest(&mut conn, 5).await.unwrap()
    }

    async fn stop(self) {
        self.stop.send(true).unwrap();
        let _ = tokio::time::timeout(Duration::from_secs(10), self.task).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ping_gets_a_pong_and_only_a_fresh_request_signed_by_the_key_gets_in() {
    let bot = boot_http_only(&[]).await;
    let ping = json!({"id": "1", "application_id": APP_ID.to_string(), "type": 1, "token": "t", "version": 1});
    let (status, answer) = bot.fake.post_interaction(&bot.url, &ping).await;
    assert_eq!(
        (status, answer["type"].as_u64()),
        (200, Some(1)),
        "PONG: {answer:#}"
    );
    assert_eq!(response_problems(&answer), Vec::<String>::new());

    let body = ping.to_string();
    let now = now_seconds().to_string();
    let signature = bot.fake.sign(&now, body.as_bytes());
    let post = |body: String, headers: Vec<(&'static str, String)>| {
        let url = bot.url.clone();
        async move {
            let headers: Vec<(&str, &str)> =
                headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
            post_raw(&url, body.into_bytes(), &headers).await.0
        }
    };
    let good = vec![
        ("X-Signature-Ed25519", signature.clone()),
        ("X-Signature-Timestamp", now.clone()),
    ];
    assert_eq!(post(body.clone(), good.clone()).await, 200, "signed right");
    assert_eq!(post(body.clone(), vec![]).await, 401, "no signature");
    assert_eq!(
        post(body.clone(), vec![("X-Signature-Timestamp", now.clone())]).await,
        401,
        "timestamp without a signature"
    );
    assert_eq!(
        post(
            body.clone(),
            vec![("X-Signature-Ed25519", signature.clone())]
        )
        .await,
        401,
        "signature without its timestamp"
    );
    let later = (now_seconds() + 1).to_string();
    assert_eq!(
        post(
            body.clone(),
            vec![
                ("X-Signature-Ed25519", signature.clone()),
                ("X-Signature-Timestamp", later)
            ]
        )
        .await,
        401,
        "signature of another timestamp"
    );
    let changed = body.replace("\"type\":1", "\"type\":2");
    assert_ne!(changed, body);
    assert_eq!(post(changed, good.clone()).await, 401, "body changed");
    let other = FakeDiscord::start().await;
    let forged = vec![
        ("X-Signature-Ed25519", other.sign(&now, body.as_bytes())),
        ("X-Signature-Timestamp", now.clone()),
    ];
    assert_eq!(post(body.clone(), forged).await, 401, "another key");
    let old = (now_seconds() - 3600).to_string();
    let replayed = vec![
        ("X-Signature-Ed25519", bot.fake.sign(&old, body.as_bytes())),
        ("X-Signature-Timestamp", old),
    ];
    assert_eq!(post(body.clone(), replayed).await, 401, "an hour old");
    assert_eq!(
        post(
            body,
            vec![
                ("X-Signature-Ed25519", "zz".to_string()),
                ("X-Signature-Timestamp", now)
            ]
        )
        .await,
        401,
        "not hex"
    );
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_public_key_the_endpoint_answers_503() {
    let fake = FakeDiscord::start().await;
    let vars = common::vars(&[("BACKORDER_BOT__HTTP__BIND", "127.0.0.1:0")]);
    let (built, _dir) = common::build(None, false, &vars, Clock::System).await;
    assert!(built.app.settings.discord.public_key.is_none());
    let router = backorder_bot::adapters::http::router(built.app.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    let ping = json!({"type": 1});
    let (status, _) = fake
        .post_interaction(&format!("http://{addr}/discord/interactions"), &ping)
        .await;
    assert_eq!(status, 503);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stock_over_http_answers_what_the_gateway_answers() {
    let bot = boot(None, &[]).await;
    let opts = json!([{"name": "sku", "type": 3, "value": "TENT-2P"}]);
    let over_gateway = bot
        .fake
        .send_command("stock", opts.clone(), &member(vec![]))
        .await;
    let gateway = bot.fake.wait_callback(&over_gateway).await;
    let (_, status, http) = bot
        .fake
        .post_command(&bot.url, "stock", opts, &member(vec![]))
        .await;
    assert_eq!(status, 200);
    assert_eq!(http["type"], 4, "answered at once: {http:#}");
    assert_eq!(response_problems(&http), Vec::<String>::new());
    assert_eq!(http, gateway, "the same answer both ways");
    let embed = &http["data"]["embeds"][0];
    assert_eq!(embed["title"], "TENT-2P — Trailhead 2-person tent");
    assert_eq!(field(embed, "Open backorders"), "3 (4 units)");
    assert_eq!(http["data"]["allowed_mentions"]["parse"], json!([]));
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_ops_only_command_is_refused_privately_for_a_member_without_the_role() {
    let bot = boot_http_only(&[]).await;
    let opts = json!([
        {"name": "sku", "type": 3, "value": "LAMP-HEAD"},
        {"name": "delta", "type": 4, "value": 2},
        {"name": "reason", "type": 3, "value": "found in the back"},
    ]);
    let (i, status, answer) = bot
        .fake
        .post_command(&bot.url, "adjust", opts.clone(), &member(vec![OTHER_ROLE]))
        .await;
    assert_eq!(status, 200);
    assert_eq!(answer["type"], 5, "deferred: {answer:#}");
    assert_eq!(answer["data"]["flags"], 64, "privately: {answer:#}");
    assert_eq!(response_problems(&answer), Vec::<String>::new());
    let edit = bot.patched(&i).await;
    let text = edit["embeds"][0]["description"].as_str().unwrap();
    assert!(text.contains("needs the ops role"), "{edit:#}");
    let row = &bot.audit().await[0];
    assert_eq!(
        (row.actor.as_str(), row.outcome.as_str()),
        (format!("discord:{USER_ID}").as_str(), "refused")
    );

    let (i, _, answer) = bot
        .fake
        .post_command(&bot.url, "adjust", opts, &member(vec![OPS_ROLE]))
        .await;
    assert_eq!(answer["type"], 5, "{answer:#}");
    assert_ne!(answer["data"]["flags"], 64, "public: {answer:#}");
    let edit = bot.patched(&i).await;
    assert_eq!(edit["embeds"][0]["title"], "Stock adjusted: LAMP-HEAD");
    assert_eq!(bot.audit().await[0].outcome, "ok");
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deferred_command_is_answered_by_patching_the_original_response() {
    let bot = boot_http_only(&[]).await;
    let (i, _, answer) = bot
        .fake
        .post_command(
            &bot.url,
            "report",
            json!([{"name": "days", "type": 4, "value": 90}]),
            &member(vec![]),
        )
        .await;
    assert_eq!(answer["type"], 5, "deferred: {answer:#}");
    assert_ne!(answer["data"]["flags"], 64, "publicly: {answer:#}");
    assert_eq!(response_problems(&answer), Vec::<String>::new());
    let edit = bot.patched(&i).await;
    let embed = &edit["embeds"][0];
    assert_eq!(embed["title"], "Backorder report — last 90 days");
    assert!(bot.fake.requests().iter().all(|r| r.query.is_none()));

    // An edit that reaches Discord before the deferral is retried until it lands.
    bot.fake.unknown_originals(2);
    let (i, _, answer) = bot
        .fake
        .post_command(&bot.url, "report", json!([]), &member(vec![]))
        .await;
    assert_eq!(answer["type"], 5, "{answer:#}");
    let edit = bot.patched(&i).await;
    assert!(edit["embeds"][0]["title"]
        .as_str()
        .unwrap()
        .starts_with("Backorder report"));
    let tries = bot
        .fake
        .requests()
        .iter()
        .filter(|r| r.path == i.original_path())
        .count();
    assert_eq!(tries, 3, "two refused, the third lands");
    assert_eq!(field(embed, "Open backorders"), "7 (14 units, 2388.50 EUR)");
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_slower_than_answer_within_is_deferred_then_patched_with_the_same_answer() {
    let opts = json!([{"name": "sku", "type": 3, "value": "TENT-2P"}]);
    let fast = boot_http_only(&[]).await;
    let (_, _, direct) = fast
        .fake
        .post_command(&fast.url, "stock", opts.clone(), &member(vec![]))
        .await;
    assert_eq!(direct["type"], 4, "{direct:#}");
    fast.stop().await;

    // No time at all to answer: even /stock defers.
    let slow = boot_http_only(&[("BACKORDER_BOT__DISCORD__ANSWER_WITHIN", "0s")]).await;
    let (i, _, deferred) = slow
        .fake
        .post_command(&slow.url, "stock", opts, &member(vec![]))
        .await;
    assert_eq!(deferred["type"], 5, "{deferred:#}");
    assert_ne!(deferred["data"]["flags"], 64, "{deferred:#}");
    let edit = slow.patched(&i).await;
    assert_eq!(edit["embeds"], direct["data"]["embeds"]);
    assert_eq!(edit["components"], direct["data"]["components"]);
    slow.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chart_follows_a_deferral_as_a_multipart_edit() {
    let bot = boot_http_only(&[]).await;
    let options = json!([
        {"name": "sku", "type": 3, "value": "TENT-3P"},
        {"name": "days", "type": 4, "value": 30}
    ]);
    let (i, _, answer) = bot
        .fake
        .post_command(&bot.url, "forecast", options, &member(vec![]))
        .await;
    assert_eq!(answer["type"], 5, "{answer:#}");
    let edit = bot.patched(&i).await;
    let files = edit["files"].as_array().unwrap();
    assert_eq!(files.len(), 1, "{edit:#}");
    assert_eq!(files[0]["name"], "forecast-TENT-3P.png");
    assert_eq!(files[0]["png"], true);
    assert_eq!(
        edit["embeds"][0]["image"]["url"],
        "attachment://forecast-TENT-3P.png"
    );
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paging_buttons_work_over_http_for_the_asker_only() {
    let bot = boot_http_only(&[("BACKORDER_BOT__CONSOLE__PAGE_SIZE", "2")]).await;
    let asker = member(vec![]);
    let (i, _, answer) = bot
        .fake
        .post_command(&bot.url, "backorders", json!([]), &asker)
        .await;
    assert_eq!(answer["type"], 5, "{answer:#}");
    let first = bot.patched(&i).await;
    assert_eq!(first["embeds"][0]["footer"]["text"], "Page 1/4");
    let next = first["components"][0]["components"][1]["custom_id"]
        .as_str()
        .unwrap()
        .to_string();
    let msg = message_json(
        42,
        "",
        json!({"embeds": first["embeds"], "components": first["components"]}),
    );

    let stranger = Invoker {
        user_id: USER_ID + 1,
        username: "someone-else".into(),
        ..member(vec![OPS_ROLE])
    };
    let (_, refused) = bot
        .fake
        .post_button_click(&bot.url, &next, msg.clone(), &stranger)
        .await;
    assert_eq!(refused["type"], 4, "{refused:#}");
    assert_eq!(refused["data"]["flags"], 64, "{refused:#}");

    let (status, page) = bot
        .fake
        .post_button_click(&bot.url, &next, msg, &asker)
        .await;
    assert_eq!(status, 200);
    assert_eq!(page["type"], 7, "UPDATE_MESSAGE: {page:#}");
    assert_eq!(response_problems(&page), Vec::<String>::new());
    assert_eq!(page["data"]["embeds"][0]["footer"]["text"], "Page 2/4");
    assert_ne!(
        page["data"]["embeds"][0]["description"],
        first["embeds"][0]["description"]
    );

    // A component nobody handles is acknowledged, not failed.
    let (status, ack) = bot
        .fake
        .post_button_click(&bot.url, "nobody:1", message_json(1, "", json!({})), &asker)
        .await;
    assert_eq!((status, ack["type"].as_u64()), (200, Some(6)));

    // So is a submitted modal nobody handles: it is read, routed and acknowledged.
    let modal = json!({"custom_id": "nobody:2", "components": [{"type": 1, "components": [
        {"type": 4, "custom_id": "note", "value": "typed text"}
    ]}]});
    let (_, d) = bot.fake.interaction_payload(5, modal, &asker, None);
    let (status, ack) = bot.fake.post_interaction(&bot.url, &d).await;
    assert_eq!((status, ack["type"].as_u64()), (200, Some(6)), "{ack:#}");
    bot.stop().await;
}

/// A paging button whose invocation is too long for its custom id (`pk|<asker>|<page>|<key>`)
/// made by one replica is answered by another on the same database, and after both restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_paging_button_is_answered_by_another_replica_and_after_a_restart() {
    let db_dir = tempfile::tempdir().unwrap();
    let database = common::database_vars(&db_dir).await;
    let http_only = [
        ("BACKORDER_BOT__DISCORD__GATEWAY", "false"),
        ("BACKORDER_BOT__CONSOLE__PAGE_SIZE", "1"),
    ];
    let a = boot_on(&database, true, None, &http_only).await;
    let b = boot_on(&database, false, None, &http_only).await;
    let asker = member(vec![]);
    // Every option given: with the key of the row to continue from, Next's line is too long.
    let options = json!([
        {"name": "sku", "type": 3, "value": "TENT-2P"},
        {"name": "status", "type": 3, "value": "open"},
        {"name": "sort", "type": 3, "value": "priority"},
    ]);
    let (i, _, answer) = a
        .fake
        .post_command(&a.url, "backorders", options, &asker)
        .await;
    assert_eq!(answer["type"], 5, "{answer:#}");
    let first = a.patched(&i).await;
    assert_eq!(
        first["embeds"][0]["footer"]["text"], "Page 1/3",
        "{first:#}"
    );
    let next = first["components"][0]["components"][1]["custom_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(next.starts_with("pk|"), "{next}");
    assert!(next.len() <= 100, "{next}");
    let msg = message_json(
        42,
        "",
        json!({"embeds": first["embeds"], "components": first["components"]}),
    );

    // Another replica answers the click with the next page.
    let (status, page) = b
        .fake
        .post_button_click(&b.url, &next, msg.clone(), &asker)
        .await;
    assert_eq!(status, 200);
    assert_eq!(page["type"], 7, "UPDATE_MESSAGE: {page:#}");
    assert_eq!(response_problems(&page), Vec::<String>::new());
    assert_eq!(page["data"]["embeds"][0]["footer"]["text"], "Page 2/3");
    let second = page["data"]["embeds"][0]["description"].clone();
    assert_ne!(second, first["embeds"][0]["description"]);
    a.stop().await;
    b.stop().await;

    // After a restart the same button still shows the same page.
    let c = boot_on(&database, false, None, &http_only).await;
    let (status, again) = c.fake.post_button_click(&c.url, &next, msg, &asker).await;
    assert_eq!(status, 200);
    assert_eq!(again["type"], 7, "UPDATE_MESSAGE: {again:#}");
    assert_eq!(again["data"]["embeds"][0]["footer"]["text"], "Page 2/3");
    assert_eq!(again["data"]["embeds"][0]["description"], second);
    // The same invocations shown again keep their keys.
    assert_eq!(again["data"]["components"], page["data"]["components"]);
    c.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn autocomplete_over_http_suggests_skus() {
    let bot = boot_http_only(&[]).await;
    let data = json!({"id": "1", "name": "stock", "type": 1, "options": [
        {"name": "sku", "type": 3, "value": "TEN", "focused": true}
    ]});
    let (_, d) = bot.fake.interaction_payload(4, data, &member(vec![]), None);
    let (status, answer) = bot.fake.post_interaction(&bot.url, &d).await;
    assert_eq!(
        (status, answer["type"].as_u64()),
        (200, Some(8)),
        "{answer:#}"
    );
    assert_eq!(response_problems(&answer), Vec::<String>::new());
    let choices = answer["data"]["choices"].as_array().unwrap();
    assert!(
        choices.iter().any(|c| c["value"] == "TENT-2P"),
        "{answer:#}"
    );
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_gateway_commands_come_over_http_and_alerts_still_post_over_rest() {
    let config = format!(
        "[discord]\nalert_channel_id = {ALERT_CHANNEL}\n{}",
        common::NIGHTLY_RULE
    );
    let bot = boot(
        Some(&config),
        &[("BACKORDER_BOT__DISCORD__GATEWAY", "false")],
    )
    .await;
    // The commands are registered over REST, without a gateway.
    let put = bot
        .fake
        .wait_for(
            "PUT",
            &format!("/api/v10/applications/{APP_ID}/guilds/{GUILD}/commands"),
        )
        .await;
    assert_eq!(validate_registration(&put.body), Vec::<String>::new());
    assert!(put.body.as_array().unwrap().len() > 10);

    // An alert run asked over HTTP is posted to the channel over REST, with its buttons.
    let (i, status, answer) = bot
        .fake
        .post_command(
            &bot.url,
            "alerts",
            json!([{"name": "run", "type": 1, "options": [
                {"name": "rule", "type": 3, "value": "nightly"}
            ]}]),
            &member(vec![OPS_ROLE]),
        )
        .await;
    assert_eq!(status, 200, "{answer:#}");
    assert_eq!(response_problems(&answer), Vec::<String>::new());
    assert_eq!(answer["type"], 5, "deferred by its spec: {answer:#}");
    let edit = bot.patched(&i).await;
    assert_eq!(edit["embeds"][0]["color"], 0x57F287, "{edit:#}");
    let post = bot
        .fake
        .wait_for(
            "POST",
            &format!("/api/v10/channels/{ALERT_CHANNEL}/messages"),
        )
        .await;
    let snooze = post.body["components"][0]["components"][0]["custom_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(snooze.starts_with("alerts:snooze:"), "{:#}", post.body);

    // Its snooze button works over HTTP too, for the ops role only.
    let msg = message_json(7, "alert", json!({"components": post.body["components"]}));
    let (_, refused) = bot
        .fake
        .post_button_click(&bot.url, &snooze, msg.clone(), &member(vec![]))
        .await;
    let text = refused["data"]["content"].as_str().unwrap_or_default();
    assert!(text.contains("only the ops role"), "{refused:#}");
    let (_, done) = bot
        .fake
        .post_button_click(&bot.url, &snooze, msg, &member(vec![OPS_ROLE]))
        .await;
    assert_eq!(done["data"]["flags"], 64, "{done:#}");
    assert!(
        done["data"]["content"]
            .as_str()
            .unwrap()
            .starts_with("Snoozed "),
        "{done:#}"
    );
    assert_eq!(response_problems(&done), Vec::<String>::new());

    assert_eq!(bot.fake.connections(), 0, "no gateway connection");
    assert!(
        !bot.fake
            .requests()
            .iter()
            .any(|r| r.path.starts_with("/api/v10/gateway")),
        "the gateway was not even looked up"
    );
    bot.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_real_binary_without_the_gateway_answers_interactions_over_http() {
    let fake = FakeDiscord::start().await;
    let dir = tempfile::tempdir().unwrap();
    let port = common::free_port();
    let mut command = common::bot_command(&dir.path().join("bot.db"));
    command
        .arg("run")
        .envs(fake.settings_vars())
        .env("BACKORDER_BOT__DISCORD__GATEWAY", "false")
        .env("BACKORDER_BOT__HTTP__BIND", format!("127.0.0.1:{port}"))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut child = command.spawn().expect("binary starts");
    let url = format!("http://127.0.0.1:{port}/discord/interactions");
    let ping = json!({"id": "1", "application_id": APP_ID.to_string(), "type": 1, "token": "t", "version": 1});
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let up = reqwest::get(format!("http://127.0.0.1:{port}/healthz")).await;
        if up.is_ok_and(|r| r.status().is_success()) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the bot did not come up"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (status, pong) = fake.post_interaction(&url, &ping).await;
    assert_eq!((status, pong["type"].as_u64()), (200, Some(1)));
    let (_, status, answer) = fake
        .post_command(
            &url,
            "stock",
            json!([{"name": "sku", "type": 3, "value": "TENT-2P"}]),
            &member(vec![]),
        )
        .await;
    assert_eq!((status, answer["type"].as_u64()), (200, Some(4)));
    assert_eq!(
        answer["data"]["embeds"][0]["title"],
        "TENT-2P — Trailhead 2-person tent"
    );
    fake.wait_for(
        "PUT",
        &format!("/api/v10/applications/{APP_ID}/guilds/{GUILD}/commands"),
    )
    .await;
    assert_eq!(fake.connections(), 0, "no gateway connection");
    let _ = child.kill();
    let _ = child.wait();
}

/// The approval buttons and the note form work over HTTP too (any replica answers them): a
/// non-ops click is refused privately, Add note… opens Discord's form, the typed sentence is
/// kept as typed, and Approve releases the batch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approval_buttons_and_the_note_form_work_over_http() {
    let alert_channel = ALERT_CHANNEL.to_string();
    let bot = boot_http_only(&[
        (
            "BACKORDER_BOT__DISCORD__ALERT_CHANNEL_ID",
            alert_channel.as_str(),
        ),
        ("BACKORDER_BOT__NOTIFY__APPROVAL_MIN_CUSTOMERS", "1"),
    ])
    .await;
    // Some demo PO with customers waiting moves by 60 days: held.
    let today = bot.app.clock.today();
    let ops = backorder_bot::app::Actor {
        name: "console".into(),
        may_change: true,
    };
    let mut held = None;
    for po in ["PO-1001", "PO-1002", "PO-1003"] {
        let r = backorder_bot::app::purchasing::set_eta(
            &bot.app,
            &ops,
            po,
            today + chrono::Days::new(60),
            None,
            "ship held in port",
            false,
        )
        .await
        .unwrap();
        if let backorder_bot::app::purchasing::Approval::Held(h) = r.approval {
            held = Some(h.id);
            break;
        }
    }
    let batch = held.expect("a demo PO with backorders is held").to_string();
    let msg = message_json(8, "held", json!({}));
    let click = |action: &str| format!("approval:{action}:{batch}");

    let (_, refused) = bot
        .fake
        .post_button_click(&bot.url, &click("approve"), msg.clone(), &member(vec![]))
        .await;
    assert_eq!(refused["type"], 4, "{refused:#}");
    assert_eq!(refused["data"]["flags"], 64, "private: {refused:#}");
    assert_eq!(response_problems(&refused), Vec::<String>::new());

    let (_, form) = bot
        .fake
        .post_button_click(
            &bot.url,
            &click("note"),
            msg.clone(),
            &member(vec![OPS_ROLE]),
        )
        .await;
    assert_eq!(form["type"], 9, "MODAL: {form:#}");
    assert_eq!(response_problems(&form), Vec::<String>::new());
    let input = &form["data"]["components"][0]["components"][0];
    let note = "Sorry @everyone, <@1> **storm**";
    let submit = json!({"custom_id": form["data"]["custom_id"], "components": [{"type": 1,
        "components": [{"type": 4, "custom_id": input["custom_id"], "value": note}]}]});
    let (_, d) = bot
        .fake
        .interaction_payload(5, submit, &member(vec![OPS_ROLE]), None);
    let (status, noted) = bot.fake.post_interaction(&bot.url, &d).await;
    assert_eq!(
        (status, noted["type"].as_u64()),
        (200, Some(4)),
        "{noted:#}"
    );
    assert_eq!(response_problems(&noted), Vec::<String>::new());

    let (_, approved) = bot
        .fake
        .post_button_click(&bot.url, &click("approve"), msg, &member(vec![OPS_ROLE]))
        .await;
    assert_eq!(approved["data"]["flags"], 64, "{approved:#}");
    let id = held.unwrap();
    let mut conn = bot.app.store.conn().await.unwrap();
    let kept = backorder_bot::store::approvals::get(&mut conn, id)
        .await
        .unwrap()
        .expect("the batch");
    drop(conn);
    assert_eq!(
        (kept.status, kept.note.as_deref()),
        (ApprovalStatus::Approved, Some(note))
    );
    let still_held = bot
        .app
        .store
        .scalar_i64("SELECT COUNT(*) FROM outbox WHERE status = 'held'")
        .await
        .unwrap();
    assert_eq!(still_held, 0, "approve released every held update");
    bot.stop().await;
}

/// Page keys: the same invocation keeps its key while it is shown (also twice in one call); one not shown for
/// `PAGE_KEYS_KEPT` is forgotten (the next key written prunes it) and its key never comes back.
#[tokio::test]
async fn page_keys_are_reused_while_shown_and_forgotten_after_the_retention() {
    use backorder_bot::app::page::{invocation_for_key, page_keys, PAGE_KEYS_KEPT};
    let page_key = |app: &App, text: &str| {
        let texts = vec![text.to_string()];
        let app = app.clone();
        async move { page_keys(&app, &texts).await.map(|k| k[0]) }
    };
    let t = common::spawn_app().await;
    let app = &t.app;
    let line = r#"{"command":"backorders","sub":null,"options":[["customer","O'Brien"]]}"#;
    let key = page_key(app, line).await.unwrap();
    assert_eq!(page_key(app, line).await.unwrap(), key);
    let other = page_key(app, "another").await.unwrap();
    assert_ne!(other, key);
    let both = vec![line.to_string(), "another".to_string(), line.to_string()];
    assert_eq!(page_keys(app, &both).await.unwrap(), [key, other, key]);
    assert_eq!(
        invocation_for_key(app, key).await.unwrap().as_deref(),
        Some(line)
    );

    // `another` is shown again a day before the retention ends; `line` is not.
    let start = common::test_now();
    app.clock
        .set(start + PAGE_KEYS_KEPT - chrono::TimeDelta::days(1));
    assert_eq!(page_key(app, "another").await.unwrap(), other);
    app.clock
        .set(start + PAGE_KEYS_KEPT + chrono::TimeDelta::seconds(1));
    assert_eq!(invocation_for_key(app, key).await.unwrap(), None);
    assert_eq!(
        invocation_for_key(app, other).await.unwrap().as_deref(),
        Some("another")
    );
    let third = page_key(app, "a third").await.unwrap();
    assert_eq!(
        t.scalar("SELECT COUNT(*) FROM page_invocations").await,
        2,
        "the forgotten row is pruned"
    );
    let again = page_key(app, line).await.unwrap();
    assert!(again > third && again != key, "{key} {third} {again}");
}
