//! The Discord adapter end to end: the real start-up path (`Application::build` +
//! `run_until_stopped`) with serenity/poise talking to an in-process fake Discord.

mod common;
mod support;

use backorder_bot::app::{App, Clock};
use backorder_bot::store::audit;
use serde_json::{json, Value};
use std::time::Duration;
use support::fake_discord::*;
use tokio::sync::watch;

const OTHER_ROLE: u64 = 1_400_000_000_000_000_002;
const OTHER_USER: u64 = USER_ID + 1;

struct Bot {
    fake: FakeDiscord,
    app: App,
    /// Body of the command registration PUT.
    commands: Value,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
    _dir: tempfile::TempDir,
}

/// Starts the fake, then the application exactly as `main` does (Discord on, console off),
/// completes IDENTIFY/READY and waits for the guild command registration.
async fn boot(extra: &[(&str, &str)]) -> Bot {
    let fake = FakeDiscord::start().await;
    let mut vars = fake.settings_vars();
    vars.extend(common::vars(extra));
    let (built, dir) = common::build(None, true, &vars, Clock::System).await;
    let app = built.app.clone();
    let (stop, rx) = watch::channel(false);
    let task = tokio::spawn(built.run_until_stopped(false, rx));
    let (identify, put) = fake.connect_bot().await;
    assert_eq!(identify["token"], "Bot fake-token");
    Bot {
        fake,
        app,
        commands: put.body,
        stop,
        task,
        _dir: dir,
    }
}

fn member(roles: Vec<u64>) -> Invoker {
    Invoker::guild(GUILD, roles)
}

fn other_member() -> Invoker {
    Invoker {
        user_id: OTHER_USER,
        username: "someone-else".into(),
        ..Invoker::guild(GUILD, vec![OPS_ROLE])
    }
}

fn find<'a>(list: &'a Value, name: &str) -> &'a Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("{name} not in {list:#}"))
}

fn field<'a>(embed: &'a Value, name: &str) -> &'a Value {
    &find(&embed["fields"], name)["value"]
}

impl Bot {
    /// After a deferral: the PATCH of @original, or the followup, whichever comes first.
    async fn wait_answer(&self, i: &SentInteraction) -> RestRequest {
        self.fake
            .wait_request("edit of @original or followup", DEFAULT_TIMEOUT, |r| {
                (r.method == "PATCH" && r.path == i.original_path())
                    || (r.method == "POST" && r.path == i.followup_path())
            })
            .await
    }

    /// Runs a command whose spec defers: checks Discord is told to wait (callback type 5), then
    /// returns the answer that follows.
    async fn deferred(&self, name: &str, options: Value, who: &Invoker) -> RestRequest {
        let i = self.fake.send_command(name, options, who).await;
        let cb = self.fake.wait_callback(&i).await;
        assert_eq!(cb["type"], 5, "DEFERRED_CHANNEL_MESSAGE: {cb:#}");
        self.wait_answer(&i).await
    }

    async fn audit(&self) -> Vec<audit::AuditRow> {
        let mut conn = self.app.store.conn().await.unwrap();
        audit::latest(&mut conn, 5).await.unwrap()
    }
}

#[test]
fn the_fake_refuses_limits_on_the_wrong_option_type() {
    let bad = json!([{"name": "x", "description": "X", "options": [
        {"name": "a", "description": "A", "type": 3, "min_value": 1},
        {"name": "b", "description": "B", "type": 4, "max_length": 5},
        {"name": "c", "description": "C", "type": 3, "max_length": 0}
    ]}]);
    assert_eq!(validate_registration(&bad).len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_registers_every_command_from_the_spec() {
    let bot = boot(&[]).await;
    let cmds = &bot.commands;
    let mut names: Vec<&str> = cmds
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "adjust",
            "alerts",
            "approvals",
            "approve",
            "backorder",
            "backorders",
            "customer",
            "eta",
            "forecast",
            "help",
            "lowstock",
            "notifications",
            "po",
            "pos",
            "receive",
            "report",
            "search",
            "stock",
            "withhold"
        ]
    );
    for c in cmds.as_array().unwrap() {
        let d = c["description"].as_str().unwrap();
        assert!(!d.is_empty() && d.len() <= 100, "{c:#}");
    }
    assert_eq!(validate_registration(cmds), Vec::<String>::new());
    // Discord itself refuses nonsense: limits travel with the options.
    let page = find(cmds, "backorders")["options"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["name"] == "page")
        .unwrap()
        .clone();
    assert_eq!(page["min_value"], 1, "{page:#}");
    let sku = &find(cmds, "stock")["options"][0];
    assert_eq!(
        sku["max_length"],
        backorder_bot::domain::Sku::MAX_LEN,
        "{sku:#}"
    );
    let qty = find(cmds, "receive")["options"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["name"] == "qty")
        .unwrap()
        .clone();
    assert_eq!(qty["min_value"], 1, "{qty:#}");
    let stock = find(cmds, "stock");
    assert!(stock["description"]
        .as_str()
        .unwrap()
        .starts_with("Stock position of a SKU"));
    let sku = &stock["options"][0];
    assert_eq!(
        (
            &sku["name"],
            &sku["type"],
            &sku["required"],
            &sku["autocomplete"]
        ),
        (&json!("sku"), &json!(3), &json!(true), &json!(true))
    );

    let adjust = find(cmds, "adjust");
    assert_eq!(find(&adjust["options"], "delta")["type"], 4);

    let eta = find(cmds, "eta");
    assert_eq!(
        find(&eta["options"], "date")["type"],
        3,
        "dates are strings"
    );
    assert_eq!(find(&eta["options"], "preview")["type"], 5);
    let required: Vec<bool> = eta["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["required"] == true)
        .collect();
    assert!(
        required.windows(2).all(|w| w[0] >= w[1]),
        "required options first: {eta:#}"
    );

    let status = find(&find(cmds, "backorders")["options"], "status");
    let choices: Vec<&str> = status["choices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["value"].as_str().unwrap())
        .collect();
    assert_eq!(
        choices,
        ["open", "allocated", "fulfilled", "cancelled", "all"]
    );

    let backorder = find(cmds, "backorder");
    let subs: Vec<&str> = backorder["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(subs, ["show", "prioritize", "cancel", "fulfil"]);
    let cancel = find(&backorder["options"], "cancel");
    assert_eq!(cancel["type"], 1);
    assert_eq!(find(&cancel["options"], "id")["autocomplete"], true);
    assert_eq!(find(&cancel["options"], "reason")["required"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stock_answers_with_an_embed_from_the_database() {
    let bot = boot(&[]).await;
    let i = bot
        .fake
        .send_command(
            "stock",
            json!([{"name": "sku", "type": 3, "value": "TENT-2P"}]),
            &member(vec![]),
        )
        .await;
    let cb = bot.fake.wait_callback(&i).await;
    assert_eq!(cb["type"], 4, "{cb:#}");
    assert_ne!(cb["data"]["flags"], 64, "public: {cb:#}");
    // Valid against the schema Discord publishes for the callback (which refuses a bad type).
    let path = i.callback_path();
    let check = |body: &Value| openapi::validate_request("POST", &path, "application/json", body);
    assert_eq!(check(&cb), Vec::<String>::new());
    let mut bad = cb.clone();
    bad["type"] = json!(42);
    assert!(!check(&bad).is_empty());
    let embed = &cb["data"]["embeds"][0];
    assert_eq!(embed["title"], "TENT-2P — Trailhead 2-person tent");
    assert_eq!(field(embed, "Open backorders"), "3 (4 units)");
    assert_eq!(field(embed, "On hand"), "0");
    assert!(
        embed["description"]
            .as_str()
            .unwrap()
            .contains("BACKORDERED"),
        "{embed:#}"
    );
    assert_eq!(embed["color"], 0xFEE75C, "warning colour");
    assert_eq!(
        cb["data"]["components"],
        json!([]),
        "no buttons on a single page"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_is_deferred_then_answers_with_its_figures_and_window() {
    let bot = boot(&[]).await;
    let days = find(&find(&bot.commands, "report")["options"], "days");
    assert_eq!(
        (days["min_value"].as_i64(), days["max_value"].as_i64()),
        (Some(1), Some(365))
    );
    let i = bot
        .fake
        .send_command(
            "report",
            json!([{"name": "days", "type": 4, "value": 90}]),
            &member(vec![]),
        )
        .await;
    assert_eq!(bot.fake.wait_callback(&i).await["type"], 5, "deferred");
    let answer = bot.wait_answer(&i).await;
    let embed = &answer.body["embeds"][0];
    assert_eq!(embed["title"], "Backorder report — last 90 days");
    assert!(
        embed["description"]
            .as_str()
            .unwrap()
            .ends_with("UTC; open backorders as of now"),
        "{embed:#}"
    );
    // The demo shop: 7 open backorders of 14 units; 3 of its 10 order lines filled from stock.
    assert_eq!(field(embed, "Open backorders"), "7 (14 units, 2388.50 EUR)");
    assert_eq!(field(embed, "Fill rate"), "30.0% (3 of 10 lines)");
    assert!(
        field(embed, "Top backordered SKUs")
            .as_str()
            .unwrap()
            .starts_with("1. JACKET-RAIN-M — Rain jacket M: 7 units"),
        "{embed:#}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_sku_is_a_private_error_naming_it() {
    let bot = boot(&[]).await;
    let i = bot
        .fake
        .send_command(
            "stock",
            json!([{"name": "sku", "type": 3, "value": "TENT-2X"}]),
            &Invoker::dm(),
        )
        .await;
    let cb = bot.fake.wait_callback(&i).await;
    assert_eq!(cb["type"], 4, "{cb:#}");
    assert_eq!(cb["data"]["flags"], 64, "ephemeral: {cb:#}");
    let embed = &cb["data"]["embeds"][0];
    assert_eq!(embed["title"], "Error");
    let text = embed["description"].as_str().unwrap();
    assert!(
        text.contains("unknown SKU \"TENT-2X\"") && text.contains("TENT-2P"),
        "{text}"
    );
    assert_eq!(embed["color"], 0xED4245);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn autocomplete_suggests_skus_and_backorder_ids() {
    let bot = boot(&[]).await;
    let i = bot
        .fake
        .send_autocomplete("stock", "sku", 3, "TEN", &member(vec![]))
        .await;
    let cb = bot.fake.wait_callback(&i).await;
    assert_eq!(cb["type"], 8, "{cb:#}");
    let choices = cb["data"]["choices"].as_array().unwrap();
    assert!(!choices.is_empty() && choices.len() <= 25, "{cb:#}");
    assert!(choices.iter().any(|c| c["value"] == "TENT-2P"), "{cb:#}");
    assert!(
        choices
            .iter()
            .all(|c| c["value"].as_str().unwrap().starts_with("TENT")),
        "{cb:#}"
    );

    // A subcommand's integer option: values must be integers.
    let data = json!({"id": "1", "name": "backorder", "type": 1, "options": [
        {"name": "show", "type": 1, "options": [{"name": "id", "type": 4, "value": "", "focused": true}]}
    ]});
    let (sent, d) = bot.fake.interaction_payload(4, data, &member(vec![]), None);
    bot.fake.dispatch("INTERACTION_CREATE", d).await;
    let cb = bot.fake.wait_callback(&sent).await;
    assert_eq!(cb["type"], 8, "{cb:#}");
    let choices = cb["data"]["choices"].as_array().unwrap();
    assert!(!choices.is_empty(), "{cb:#}");
    assert!(choices.iter().all(|c| c["value"].is_i64()), "{cb:#}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_page_with_buttons_only_the_asker_may_press() {
    let bot = boot(&[("BACKORDER_BOT__CONSOLE__PAGE_SIZE", "2")]).await;
    let asker = member(vec![]);
    let i = bot.fake.send_command("backorders", json!([]), &asker).await;
    let cb = bot.fake.wait_callback(&i).await;
    assert_eq!(cb["type"], 5, "deferred: {cb:#}");
    let answer = bot.wait_answer(&i).await.body;
    let embed = &answer["embeds"][0];
    assert!(
        embed["title"]
            .as_str()
            .unwrap()
            .starts_with("Backorders (7)"),
        "{answer:#}"
    );
    // The order it is in, then one page of rows.
    let description = embed["description"].as_str().unwrap();
    assert!(description.starts_with("Order: priority"), "{answer:#}");
    assert_eq!(
        description.lines().filter(|l| l.starts_with('#')).count(),
        2,
        "{answer:#}"
    );
    assert_eq!(embed["footer"]["text"], "Page 1/4");
    let buttons = &answer["components"][0]["components"];
    assert_eq!(
        buttons[0]["disabled"], true,
        "no Prev on page 1: {answer:#}"
    );
    assert_eq!(buttons[1]["label"], "Next ▶");
    let next = buttons[1]["custom_id"].as_str().unwrap().to_string();
    assert!(
        next.len() <= 100 && next.contains(&USER_ID.to_string()),
        "{next}"
    );

    let msg = message_json(
        42,
        "",
        json!({"embeds": answer["embeds"], "components": answer["components"]}),
    );

    // Someone else presses Next: refused privately, the message stays.
    let click = bot
        .fake
        .send_button_click(&next, msg.clone(), &other_member())
        .await;
    let cb = bot.fake.wait_callback(&click).await;
    assert_eq!(cb["type"], 4, "{cb:#}");
    assert_eq!(cb["data"]["flags"], 64, "{cb:#}");
    assert!(
        cb["data"]["embeds"][0]["description"]
            .as_str()
            .unwrap()
            .contains("Only the person"),
        "{cb:#}"
    );

    // A button nobody handles (stale, or another bot's) is acknowledged over the gateway too, as
    // over HTTP: Discord does not show it as failed.
    let stale = bot
        .fake
        .send_button_click("nobody:1", msg.clone(), &asker)
        .await;
    let cb = bot.fake.wait_callback(&stale).await;
    assert_eq!(cb["type"], 6, "DEFERRED_UPDATE_MESSAGE: {cb:#}");

    // The asker presses Next: the message is updated in place with page 2.
    let click = bot.fake.send_button_click(&next, msg, &asker).await;
    let cb = bot.fake.wait_callback(&click).await;
    assert_eq!(cb["type"], 7, "UPDATE_MESSAGE: {cb:#}");
    let embed = &cb["data"]["embeds"][0];
    assert_eq!(embed["footer"]["text"], "Page 2/4");
    assert_ne!(
        embed["description"], answer["embeds"][0]["description"],
        "other rows"
    );
    // The buttons carry the keys of the rows shown: Prev before the first, Next after the last.
    let buttons = &cb["data"]["components"][0]["components"];
    assert_eq!(buttons[0]["disabled"], false, "{cb:#}");
    let prev = buttons[0]["custom_id"].as_str().unwrap();
    let next = buttons[1]["custom_id"].as_str().unwrap();
    assert!(
        prev.starts_with(&format!("pg|{USER_ID}|1|/backorders before:")),
        "{cb:#}"
    );
    assert!(
        next.starts_with(&format!("pg|{USER_ID}|3|/backorders after:")),
        "{cb:#}"
    );
    assert!(prev.len() <= 100 && next.len() <= 100, "{prev} {next}");
}

/// The `#id` of each row of an embed's description.
fn row_ids(embed: &Value) -> Vec<String> {
    embed["description"]
        .as_str()
        .unwrap_or_default()
        .lines()
        .filter(|l| l.starts_with('#'))
        .map(|l| l.split_whitespace().next().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn next_buttons_walk_a_list_by_keys_to_the_end_and_prev_walks_back() {
    let bot = boot(&[("BACKORDER_BOT__CONSOLE__PAGE_SIZE", "2")]).await;
    let asker = member(vec![]);
    let i = bot
        .fake
        .send_command(
            "backorders",
            json!([{"name": "sort", "type": 3, "value": "age"}]),
            &asker,
        )
        .await;
    bot.fake.wait_callback(&i).await;
    let answer = bot.wait_answer(&i).await.body;
    let mut embed = answer["embeds"][0].clone();
    let mut components = answer["components"].clone();
    let mut forward = vec![row_ids(&embed)];
    let mut footers = vec![embed["footer"]["text"].as_str().unwrap().to_string()];
    // Next until it is disabled: every click is one more page, by the key in the button.
    loop {
        let next = &components[0]["components"][1];
        if next["disabled"] == true {
            break;
        }
        let id = next["custom_id"].as_str().unwrap().to_string();
        assert!(id.contains(" after:") && id.len() <= 100, "{id}");
        let msg = message_json(43, "", json!({"embeds": [embed], "components": components}));
        let click = bot.fake.send_button_click(&id, msg, &asker).await;
        let cb = bot.fake.wait_callback(&click).await;
        assert_eq!(cb["type"], 7, "UPDATE_MESSAGE: {cb:#}");
        embed = cb["data"]["embeds"][0].clone();
        components = cb["data"]["components"].clone();
        forward.push(row_ids(&embed));
        footers.push(embed["footer"]["text"].as_str().unwrap().to_string());
        assert!(forward.len() <= 4, "more pages than rows: {footers:?}");
    }
    assert_eq!(footers, ["Page 1/4", "Page 2/4", "Page 3/4", "Page 4/4"]);
    let all: Vec<String> = forward.concat();
    assert_eq!(all.len(), 7, "{forward:?}");
    let mut unique = all.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 7, "each row once: {forward:?}");
    // The same order as the whole list in one console reply.
    let text = {
        let inv = backorder_bot::commands::Invocation::new("backorders", None, &[("sort", "age")]);
        let mut app = bot.app.clone();
        let mut settings = (*app.settings).clone();
        settings.console.page_size = 25;
        app.settings = std::sync::Arc::new(settings);
        let actor = backorder_bot::app::Actor::operator("t");
        backorder_bot::commands::run(&app, &actor, &inv)
            .await
            .0
            .to_text()
    };
    let console: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with('#'))
        .map(|l| l.split_whitespace().next().unwrap().to_string())
        .collect();
    assert_eq!(all, console);
    // Prev from the last page walks back through the same pages.
    let mut backward = vec![row_ids(&embed)];
    loop {
        let prev = &components[0]["components"][0];
        if prev["disabled"] == true {
            break;
        }
        let id = prev["custom_id"].as_str().unwrap().to_string();
        assert!(id.contains(" before:"), "{id}");
        let msg = message_json(43, "", json!({"embeds": [embed], "components": components}));
        let click = bot.fake.send_button_click(&id, msg, &asker).await;
        let cb = bot.fake.wait_callback(&click).await;
        embed = cb["data"]["embeds"][0].clone();
        components = cb["data"]["components"].clone();
        backward.push(row_ids(&embed));
        assert!(backward.len() <= 4, "{backward:?}");
    }
    backward.reverse();
    assert_eq!(backward, forward);
    assert_eq!(embed["footer"]["text"], "Page 1/4");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adjust_needs_the_ops_role() {
    let bot = boot(&[]).await;
    let opts = json!([
        {"name": "sku", "type": 3, "value": "LAMP-HEAD"},
        {"name": "delta", "type": 4, "value": 2},
        {"name": "reason", "type": 3, "value": "found in the back"},
    ]);

    // Without the role: a private refusal and an audit row.
    let i = bot
        .fake
        .send_command("adjust", opts.clone(), &member(vec![OTHER_ROLE]))
        .await;
    let cb = bot.fake.wait_callback(&i).await;
    assert_eq!(cb["type"], 5, "{cb:#}");
    assert_eq!(cb["data"]["flags"], 64, "deferred privately: {cb:#}");
    let answer = bot.wait_answer(&i).await.body;
    let text = answer["embeds"][0]["description"].as_str().unwrap();
    assert!(text.contains("needs the ops role"), "{answer:#}");
    let row = &bot.audit().await[0];
    assert_eq!(row.actor, format!("discord:{USER_ID}"));
    assert_eq!(row.outcome, "refused");
    assert!(row.subject.contains("LAMP-HEAD"), "{row:?}");

    // In a DM there is no member, so no role either.
    let i = bot
        .fake
        .send_command("adjust", opts.clone(), &Invoker::dm())
        .await;
    assert_eq!(bot.fake.wait_callback(&i).await["data"]["flags"], 64);
    bot.wait_answer(&i).await;
    assert_eq!(bot.audit().await[0].outcome, "refused");

    // With the role: done, publicly.
    let i = bot
        .fake
        .send_command("adjust", opts, &member(vec![OTHER_ROLE, OPS_ROLE]))
        .await;
    let cb = bot.fake.wait_callback(&i).await;
    assert_eq!(cb["type"], 5, "{cb:#}");
    assert_ne!(cb["data"]["flags"], 64, "{cb:#}");
    let answer = bot.wait_answer(&i).await;
    assert_eq!(answer.method, "PATCH", "edits the deferred message");
    let embed = &answer.body["embeds"][0];
    assert_eq!(embed["title"], "Stock adjusted: LAMP-HEAD", "{embed:#}");
    assert_eq!(embed["color"], 0x57F287);
    let row = &bot.audit().await[0];
    assert_eq!(
        (row.actor.as_str(), row.outcome.as_str()),
        (format!("discord:{USER_ID}").as_str(), "ok")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_commands_are_deferred_then_edited() {
    let bot = boot(&[]).await;
    let query = json!([{"name": "query", "type": 3, "value": "tent"}]);
    let answer = bot.deferred("search", query, &member(vec![])).await;
    assert_eq!(answer.method, "PATCH");
    let text = answer.body["embeds"][0].to_string();
    assert!(
        text.contains("TENT-2P") && text.contains("TENT-3P"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_command_is_deferred_exactly_when_its_spec_says_so() {
    let bot = boot(&[]).await;
    let mut seen = (0, 0);
    for c in backorder_bot::commands::COMMANDS {
        let spec = c.spec;
        // No options: the answer is an error, but whether Discord is told to wait comes first.
        let data = match spec.sub {
            None => json!({"id": "1", "name": spec.name, "type": 1, "options": []}),
            Some(sub) => json!({"id": "1", "name": spec.name, "type": 1, "options": [
                {"name": sub, "type": 1, "options": []}
            ]}),
        };
        let (i, d) = bot
            .fake
            .interaction_payload(2, data, &member(vec![OPS_ROLE]), None);
        bot.fake.dispatch("INTERACTION_CREATE", d).await;
        let cb = bot.fake.wait_callback(&i).await;
        let expected = if spec.defer { 5 } else { 4 };
        assert_eq!(
            cb["type"], expected,
            "/{} {:?}: {cb:#}",
            spec.name, spec.sub
        );
        if spec.defer {
            bot.wait_answer(&i).await;
            seen.0 += 1;
        } else {
            seen.1 += 1;
        }
    }
    assert!(seen.0 > 0 && seen.1 > 0, "both kinds covered: {seen:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_after_a_public_deferral_stay_private() {
    let bot = boot(&[]).await;
    let i = bot
        .fake
        .send_command(
            "backorders",
            json!([{"name": "status", "type": 3, "value": "lost"}]),
            &member(vec![]),
        )
        .await;
    assert_eq!(bot.fake.wait_callback(&i).await["type"], 5);
    bot.fake.wait_for("DELETE", &i.original_path()).await;
    let follow = bot.fake.wait_for("POST", &i.followup_path()).await.body;
    assert_eq!(follow["flags"], 64, "{follow:#}");
    assert!(
        follow["embeds"][0]["description"]
            .as_str()
            .unwrap()
            .contains("not one of"),
        "{follow:#}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subcommands_and_help_answer() {
    let bot = boot(&[]).await;
    let data = json!({"id": "1", "name": "backorder", "type": 1, "options": [
        {"name": "show", "type": 1, "options": [{"name": "id", "type": 4, "value": 1}]}
    ]});
    let (i, d) = bot.fake.interaction_payload(2, data, &member(vec![]), None);
    bot.fake.dispatch("INTERACTION_CREATE", d).await;
    assert_eq!(bot.fake.wait_callback(&i).await["type"], 5);
    let answer = bot.wait_answer(&i).await.body;
    assert!(
        answer["embeds"][0]["title"]
            .as_str()
            .unwrap()
            .starts_with("Backorder #1"),
        "{answer:#}"
    );

    let i = bot
        .fake
        .send_command("help", json!([]), &Invoker::dm())
        .await;
    let cb = bot.fake.wait_callback(&i).await;
    assert_eq!(cb["type"], 4, "{cb:#}");
    assert!(
        cb["data"]["embeds"][0].to_string().contains("/eta"),
        "{cb:#}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resumes_after_the_gateway_closes() {
    let bot = boot(&[]).await;
    bot.fake.close_gateway(4000).await;
    match bot.fake.wait_reconnect(DEFAULT_TIMEOUT).await {
        Reconnect::Resumed(d) => {
            assert_eq!(d["session_id"], "fake-session");
            assert_eq!(d["token"], "Bot fake-token");
        }
        other => panic!("expected RESUME, got {other:?}"),
    }
    assert_eq!(bot.fake.connections(), 2);
    let i = bot
        .fake
        .send_command(
            "stock",
            json!([{"name": "sku", "type": 3, "value": "TENT-2P"}]),
            &member(vec![]),
        )
        .await;
    let cb = bot.fake.wait_callback(&i).await;
    assert_eq!(
        field(&cb["data"]["embeds"][0], "Open backorders"),
        "3 (4 units)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_stops_the_bot() {
    let bot = boot(&[]).await;
    bot.stop.send(true).unwrap();
    let done = tokio::time::timeout(Duration::from_secs(5), bot.task).await;
    done.expect("stops within 5s")
        .expect("no panic")
        .expect("clean stop");
    // The shards were shut down too: serenity closed the websocket.
    bot.fake.wait_disconnected(DEFAULT_TIMEOUT).await;
}

/// `/forecast` answers its deferral with the chart as a multipart upload: `payload_json` valid
/// against the `multipart/form-data` schema Discord publishes for the edit of `@original`, one
/// `files[0]` part holding a PNG, the embed showing it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forecast_sends_its_chart_as_a_multipart_attachment_valid_against_the_openapi_description()
{
    let bot = boot(&[]).await;
    let options = json!([
        {"name": "sku", "type": 3, "value": "TENT-3P"},
        {"name": "days", "type": 4, "value": 30}
    ]);
    let answer = bot.deferred("forecast", options, &member(vec![])).await;
    assert_eq!(answer.method, "PATCH");
    assert!(answer.multipart, "sent as multipart/form-data");
    assert_eq!(validate_multipart(&answer), Vec::<String>::new());
    let files = answer.body["files"].as_array().unwrap();
    assert_eq!(files.len(), 1);
    assert_eq!(files[0]["field"], "files[0]");
    assert_eq!(files[0]["name"], "forecast-TENT-3P.png");
    assert_eq!(files[0]["png"], true, "PNG signature");
    assert!(files[0]["len"].as_u64().unwrap() > 1_000);
    assert_eq!(
        answer.body["attachments"][0]["filename"],
        "forecast-TENT-3P.png"
    );
    let embed = &answer.body["embeds"][0];
    assert_eq!(embed["image"]["url"], "attachment://forecast-TENT-3P.png");
    let title = embed["title"].as_str().unwrap();
    assert!(title.starts_with("Forecast — TENT-3P — "), "{title}");
    assert!(field(embed, "Reorder point").is_string(), "{embed:#}");
    // What the fake checks is what Discord refuses: a title over 256 characters, a file part
    // the payload does not list.
    let mut long = answer.clone();
    long.body["embeds"][0]["title"] = json!("x".repeat(257));
    assert!(!validate_multipart(&long).is_empty());
    let mut unlisted = answer.clone();
    unlisted.body["attachments"] = json!([]);
    assert_eq!(
        validate_multipart(&unlisted),
        ["part files[0] is not among the payload's attachments"]
    );
}
