//! Text from outside is shown, never obeyed (Discord and console half): a hostile catalogue and
//! customer list go through an alert post, `/stock`, `/backorders`, `/customer`, autocomplete and
//! an SMS inquiry against the fake Discord, and through the console renderer.

mod common;
mod support;

use backorder_bot::app::alerts;
use backorder_bot::app::Clock;
use backorder_bot::domain::markup;
use backorder_bot::store::alerts::Trigger;
use common::{TestApp, NIGHTLY_RULE};
use serde_json::{json, Value};
use std::time::Duration;
use support::fake_discord::*;
use tokio::sync::watch;

const ALERT_CHANNEL: u64 = 1_500_000_000_000_000_001;
/// `[alerts] mention_role`: the one mention the config asks for.
const ALERT_ROLE: u64 = 1_400_000_000_000_000_099;

const EVIL_PRODUCT: &str = "@here Wireless Mouse <@222> **FREE** [claim](https://evil.example)";
const EVIL_CUSTOMER: &str =
    "@everyone <@&900000000000000001> Grace [support](https://evil.example/login)";
const MARKDOWN_NAME: &str = "```rust *** __x__ ~~gone~~ ||spoiler|| `code` # Heading";
const RTL_NAME: &str = "Invoice \u{202E}fdp.exe";
const REAL_NAME: &str = "O'Brien & Sons — Café 東京 🙂";
const PHONE: &str = "+15551234567";

/// Products, customers and orders with hostile names: CSV where import takes them, SQL for the
/// bidi override (import refuses it).
async fn hostile_shop(t: &TestApp) {
    t.import(
        "suppliers",
        "code,name,lead_time_days\nACME,Acme <@&900000000000000001> [x](https://evil.example),14\n",
    )
    .await
    .unwrap();
    t.import(
        "products",
        &format!(
            "sku,name,category,unit_price,on_hand,reorder_point,safety_stock,reorder_qty,lead_time_days,supplier,substitutes\n\
             MS-200,{EVIL_PRODUCT},mice,50.00,0,5,1,10,,ACME,\n\
             MD-1,{MARKDOWN_NAME},mice,10.00,0,5,1,10,,ACME,\n\
             RTL-1,Invoice,mice,10.00,0,5,1,10,,ACME,\n\
             CAFE-1,{REAL_NAME},mugs,12.00,0,5,1,10,,ACME,\n"
        ),
    )
    .await
    .unwrap();
    t.import(
        "customers",
        &format!(
            "id,name,phone,email,tier,channel\n\
             C-EVIL,{EVIL_CUSTOMER},{PHONE},,standard,sms\n\
             C-REAL,{REAL_NAME},,real@example.com,gold,email\n"
        ),
    )
    .await
    .unwrap();
    t.import(
        "orders",
        "order,customer,sku,qty,unit_price,ordered_at\n\
         O-1,C-EVIL,MS-200,1,50.00,2026-11-16T12:00:00Z\n\
         O-2,C-REAL,CAFE-1,1,12.00,2026-11-17T12:00:00Z\n\
         O-3,C-EVIL,MD-1,1,10.00,2026-11-18T12:00:00Z\n\
         O-4,C-REAL,RTL-1,1,10.00,2026-11-19T12:00:00Z\n",
    )
    .await
    .unwrap();
    t.exec_texts(
        "UPDATE products SET name = $1 WHERE sku = 'RTL-1'",
        &[RTL_NAME],
    )
    .await;
}

struct Bot {
    fake: FakeDiscord,
    t: TestApp,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

/// The application as `main` runs it, Discord on, with an alert channel and rule, on the
/// hostile shop.
async fn boot() -> Bot {
    let fake = FakeDiscord::start().await;
    let config = format!(
        "[discord]\nalert_channel_id = {ALERT_CHANNEL}\n[alerts]\ncatch_up = \"6h\"\nmention_role = {ALERT_ROLE}\n{NIGHTLY_RULE}"
    );
    let (built, dir) =
        common::build(Some(&config), false, &fake.settings_vars(), Clock::System).await;
    let t = TestApp {
        app: built.app.clone(),
        dir,
    };
    hostile_shop(&t).await;
    let (stop, rx) = watch::channel(false);
    let task = tokio::spawn(built.run_until_stopped(false, rx));
    fake.connect_bot().await;
    Bot {
        fake,
        t,
        stop,
        task,
    }
}

impl Bot {
    /// Runs a slash command and returns the message it answered with (`data` of the callback,
    /// or the edit of a deferred answer).
    async fn command(&self, name: &str, options: Value) -> Value {
        let i = self
            .fake
            .send_command(name, options, &Invoker::guild(GUILD, vec![]))
            .await;
        let cb = self.fake.wait_callback(&i).await;
        if cb["type"] == 5 {
            self.fake
                .wait_request("answer of a deferred command", DEFAULT_TIMEOUT, |r| {
                    (r.method == "PATCH" && r.path == i.original_path())
                        || (r.method == "POST" && r.path == i.followup_path())
                })
                .await
                .body
        } else {
            cb["data"].clone()
        }
    }

    /// The next post to the alert channel whose content contains `needle`.
    async fn post(&self, needle: &str) -> Value {
        let path = format!("/api/v10/channels/{ALERT_CHANNEL}/messages");
        self.fake
            .wait_request(
                &format!("post containing {needle}"),
                Duration::from_secs(10),
                |r| {
                    r.method == "POST"
                        && r.path == path
                        && r.body["content"]
                            .as_str()
                            .is_some_and(|c| c.contains(needle))
                },
            )
            .await
            .body
    }
}

/// Every string a message body shows (content, embed texts), attachments left out.
fn shown_texts(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|x| shown_texts(x, out)),
        Value::Object(o) => {
            for (k, x) in o {
                if k != "files" && k != "custom_id" && k != "allowed_mentions" {
                    shown_texts(x, out);
                }
            }
        }
        _ => {}
    }
}

/// What Discord would read as a mention or link.
fn active(text: &str) -> Option<&'static str> {
    [
        "@everyone",
        "@here",
        "<@",
        "<@&",
        "<#",
        "](",
        "http://",
        "https://",
    ]
    .into_iter()
    .find(|p| text.contains(p))
}

/// The message part of a request body: the body itself, or `data` of an interaction callback.
fn message_of(body: &Value) -> Option<&Value> {
    let m = if body.get("type").is_some() && body.get("data").is_some() {
        &body["data"]
    } else {
        body
    };
    (m.get("content").is_some() || m.get("embeds").is_some()).then_some(m)
}

fn embed_text(message: &Value) -> String {
    let mut texts = Vec::new();
    shown_texts(message, &mut texts);
    texts.join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_names_reach_discord_as_text_and_nothing_pings() {
    let bot = boot().await;

    // The alert post, with the hostile product names in its lines.
    let rule = bot.t.app.settings.alerts.rules[0].clone();
    alerts::run_rule(&bot.t.app, &rule, Trigger::Manual, None)
        .await
        .unwrap();
    let alert = bot.post("Low stock").await;
    let content = alert["content"].as_str().unwrap();
    let ping = format!("<@&{ALERT_ROLE}> ");
    assert!(
        content.starts_with(&ping),
        "the configured role, on purpose: {content}"
    );
    assert_eq!(
        alert["allowed_mentions"]["roles"],
        json!([ALERT_ROLE.to_string()])
    );
    assert!(content.contains(REAL_NAME), "{content}");
    assert!(
        markup::to_console(content, None).contains(EVIL_PRODUCT),
        "reads as typed: {content}"
    );
    assert!(
        markup::to_console(content, None).contains("Invoice \\u{202e}fdp.exe"),
        "the override is shown as an escape: {content}"
    );
    assert!(!content.contains('\u{202E}'), "{content}");

    // An SMS inquiry from the hostile customer's phone.
    let sms = "<@&900000000000000001> @everyone when?? [refund](https://evil.example) **now**";
    backorder_bot::app::notify::inbound(&bot.t.app, PHONE, sms, None)
        .await
        .unwrap();
    let inquiry = bot.post("SMS inquiry").await;
    let content = inquiry["content"].as_str().unwrap();
    assert!(
        markup::to_console(content, None).contains(sms),
        "the customer's words read as typed: {content}"
    );

    // Commands through Discord.
    let stock = bot
        .command(
            "stock",
            json!([{"name": "sku", "type": 3, "value": "MS-200"}]),
        )
        .await;
    let title = stock["embeds"][0]["title"].as_str().unwrap();
    assert_eq!(
        markup::to_console(title, None),
        format!("MS-200 — {EVIL_PRODUCT}")
    );
    let real = bot
        .command(
            "stock",
            json!([{"name": "sku", "type": 3, "value": "CAFE-1"}]),
        )
        .await;
    assert_eq!(
        real["embeds"][0]["title"],
        format!("CAFE-1 — {REAL_NAME}"),
        "a real name is sent as typed"
    );
    let md = bot
        .command(
            "stock",
            json!([{"name": "sku", "type": 3, "value": "MD-1"}]),
        )
        .await;
    let title = md["embeds"][0]["title"].as_str().unwrap();
    assert!(
        !title.contains("||") && !title.contains("```") && !title.contains("**"),
        "{title}"
    );
    assert_eq!(
        markup::to_console(title, None),
        format!("MD-1 — {MARKDOWN_NAME}")
    );
    let list = bot.command("backorders", json!([])).await;
    let text = embed_text(&list);
    // The first-name shortening happens before escaping: `@everyone [.`, whole.
    assert!(
        markup::to_console(&text, None).contains("@everyone [. (C-EVIL"),
        "{text}"
    );
    assert!(text.contains("O'Brien 🙂. (C-REAL"), "{text}");
    let customer = bot
        .command(
            "customer",
            json!([{"name": "id", "type": 3, "value": "C-EVIL"}]),
        )
        .await;
    let title = customer["embeds"][0]["title"].as_str().unwrap();
    assert_eq!(
        markup::to_console(title, None),
        "Customer C-EVIL — @everyone [."
    );
    let real = bot
        .command(
            "customer",
            json!([{"name": "id", "type": 3, "value": "C-REAL"}]),
        )
        .await;
    assert_eq!(real["embeds"][0]["title"], "Customer C-REAL — O'Brien 🙂.");

    // Autocomplete choices: plain text, no control characters.
    let i = bot
        .fake
        .send_autocomplete("stock", "sku", 3, "invoice", &Invoker::guild(GUILD, vec![]))
        .await;
    let cb = bot.fake.wait_callback(&i).await;
    for c in cb["data"]["choices"].as_array().unwrap() {
        let name = c["name"].as_str().unwrap();
        assert!(!name.chars().any(char::is_control), "{name:?}");
        assert!(!name.contains('\u{202E}'), "{name:?}");
    }

    // Every request that shows something: allowed_mentions parses nothing and allows at most the
    // configured role, and no text holds an active mention or link (but that role's ping).
    let mut checked = 0;
    for r in bot.fake.requests() {
        let Some(message) = message_of(&r.body) else {
            continue;
        };
        checked += 1;
        let allowed = &message["allowed_mentions"];
        assert_eq!(
            allowed["parse"],
            json!([]),
            "{} {}: {:#}",
            r.method,
            r.path,
            r.body
        );
        assert!(
            allowed
                .get("roles")
                .is_none_or(|v| v == &json!([]) || v == &json!([ALERT_ROLE.to_string()])),
            "{allowed}"
        );
        assert!(
            allowed.get("users").is_none_or(|v| v == &json!([])),
            "{allowed}"
        );
        let mut texts = Vec::new();
        shown_texts(message, &mut texts);
        for t in texts {
            let t = t.strip_prefix(&ping).unwrap_or(&t);
            assert_eq!(active(t), None, "{} {}: {t}", r.method, r.path);
            assert!(
                !t.chars().any(
                    |c| (c.is_control() && c != '\n') || ('\u{202A}'..='\u{202E}').contains(&c)
                ),
                "{t:?}"
            );
        }
    }
    assert!(checked >= 8, "{checked} messages checked");

    let _ = bot.stop.send(true);
    let _ = tokio::time::timeout(Duration::from_secs(10), bot.task).await;
}

/// The console: names stored before input was checked, holding terminal escapes.
#[tokio::test]
async fn console_replies_show_terminal_escapes_from_data_as_text() {
    let t = common::spawn_app().await;
    hostile_shop(&t).await;
    let red = "Red \u{1b}[31mMouse";
    let title = "Title \u{1b}]0;pwned\u{7} Lamp";
    for (sql, value) in [
        ("UPDATE products SET name = $1 WHERE sku = 'MS-200'", red),
        ("UPDATE products SET name = $1 WHERE sku = 'MD-1'", title),
        (
            "UPDATE customers SET name = $1 WHERE external_id = 'C-EVIL'",
            title,
        ),
    ] {
        t.exec_texts(sql, &[value]).await;
    }
    let mut seen = String::new();
    for line in [
        "/stock MS-200",
        "/stock MD-1",
        "/stock RTL-1",
        "/backorders",
        "/customer C-EVIL",
        "/search mouse",
    ] {
        let (reply, _) = t.ask(line).await;
        let plain = reply.to_text();
        assert!(!plain.contains('\u{1b}'), "{line}: {plain:?}");
        assert!(!plain.contains('\u{7}'), "{line}: {plain:?}");
        assert!(!plain.contains('\u{202E}'), "{line}: {plain:?}");
        // Styled: the only escapes are the renderer's own bold/dim/reset.
        let styled = reply.to_terminal(true);
        let own = styled
            .replace("\u{1b}[1m", "")
            .replace("\u{1b}[2m", "")
            .replace("\u{1b}[0m", "");
        assert!(!own.contains('\u{1b}'), "{line}: {styled:?}");
        seen.push_str(&plain);
        seen.push('\n');
    }
    assert!(seen.contains("Red \\u{1b}[31mMouse"), "{seen}");
    assert!(seen.contains("Title \\u{1b}]0;pwned\\u{7} Lamp"), "{seen}");
    assert!(seen.contains("Invoice \\u{202e}fdp.exe"), "{seen}");
    assert!(seen.contains(&format!("CAFE-1 — {REAL_NAME}")) || seen.contains("O'Brien"));

    // The real binary, as `ask` prints it.
    t.app.store.close().await;
    for line in ["/stock MS-200", "/backorders", "/customer C-EVIL"] {
        let (code, out, err) = common::run_bot_on(&t, &["ask", line]);
        assert_eq!(code, 0, "{line}: {err}");
        assert!(!out.contains('\u{1b}'), "{line}: {out:?}");
        assert!(!out.contains('\u{7}'), "{line}: {out:?}");
    }
    let (_, out, _) = common::run_bot_on(&t, &["ask", "/stock CAFE-1"]);
    assert!(out.contains(&format!("CAFE-1 — {REAL_NAME}")), "{out}");
}
