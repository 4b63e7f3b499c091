//! `cargo bench --bench discord`: interaction in → callback out through the fake Discord on
//! loopback (issue 3). The real start-up path (`Application::build` + `run_until_stopped`)
//! talks to the in-process fake; each `/stock sku:<random SYN sku>` is timed from just before
//! its INTERACTION_CREATE frame is handed to the gateway connection until the fake has recorded
//! the interaction's callback POST (`/stock` is not deferred: the callback carries the embed).
//!
//! * `BENCH_DB`: an existing database with a synthetic shop (e.g. 1M SKUs from
//!   `backorder-bot --db /tmp/bench.db demo-data --skus 1000000`), used as is. Otherwise a
//!   synthetic shop of `BENCH_SKUS` SKUs (default 100,000) is built in a temp directory.
//! * `BENCH_INTERACTIONS`: measured interactions (default 1,000), after 50 warm-up ones.
//! * Logs: `RUST_LOG` (default `warn`).
//!
//! This prints figures; it asserts nothing about time.

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "../tests/support/fake_discord.rs"]
mod fake_discord;
#[path = "../src/bench/stats.rs"]
mod stats;

use backorder_bot::app::{demo, Clock};
use backorder_bot::startup::Application;
use fake_discord::{FakeDiscord, Invoker, GUILD};
use serde_json::json;
use stats::percentile;
use std::time::{Duration, Instant};
use tokio::sync::watch;

const STOCK_COMMAND_ID: &str = "1300000000000000100";
const WARM_UP: u64 = 50;
const CALLBACK_TIMEOUT: Duration = Duration::from_secs(30);

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Sends one `/stock sku:<sku>` and waits for its callback; returns the latency and the body.
/// The payload is built before the clock starts (poise routes on the command name, so the
/// command id is a fixed placeholder rather than the one the fake handed out at registration).
async fn stock(fake: &FakeDiscord, who: &Invoker, sku: &str) -> (Duration, serde_json::Value) {
    let data = json!({"id": STOCK_COMMAND_ID, "name": "stock", "type": 1,
                      "options": [{"name": "sku", "type": 3, "value": sku}]});
    let (sent, d) = fake.interaction_payload(2, data, who, None);
    let path = sent.callback_path();
    let what = format!("POST {path}");
    let started = Instant::now();
    fake.dispatch("INTERACTION_CREATE", d).await;
    let cb = fake
        .wait_request(&what, CALLBACK_TIMEOUT, |r| {
            r.method == "POST" && r.path == path
        })
        .await;
    (started.elapsed(), cb.body)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    backorder_bot::telemetry::init("warn");
    let dir = tempfile::tempdir()?;
    let existing = std::env::var("BENCH_DB")
        .ok()
        .filter(|p| std::path::Path::new(p).is_file());
    let db = match &existing {
        Some(p) => p.clone(),
        None => dir.path().join("bench.db").display().to_string(),
    };

    let fake = FakeDiscord::start().await;
    let mut vars = common::vars(&[
        ("BACKORDER_BOT__DATABASE__PATH", db.as_str()),
        ("BACKORDER_BOT__SHOP__DEMO_DATA_ON_FIRST_START", "false"),
    ]);
    vars.extend(fake.settings_vars());
    let settings = common::load_settings(None, &vars);
    let built = Application::build(settings, Clock::System).await?;
    let app = built.app.clone();

    if existing.is_none() {
        let skus = env_num("BENCH_SKUS", 100_000);
        let t = Instant::now();
        let counts = demo::synthetic(&app, skus, 1)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        println!(
            "synthetic shop of {} SKUs ({} ledger rows) built in {:.1?} at {db}",
            counts.products,
            counts.movements,
            t.elapsed()
        );
    } else {
        println!("using existing database {db}");
    }
    let mut conn = app.store.conn().await?;
    let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM products WHERE sku_key LIKE 'SYN-%'")
        .fetch_one(conn.as_sqlite())
        .await?;
    drop(conn);
    anyhow::ensure!(
        count > 0,
        "no synthetic SKUs in {db}: run `backorder-bot --db {db} demo-data --skus N` first"
    );

    let (stop, rx) = watch::channel(false);
    let task = tokio::spawn(built.run_until_stopped(false, rx));
    let (_, put) = fake.connect_bot().await;
    anyhow::ensure!(
        put.body
            .as_array()
            .is_some_and(|c| c.iter().any(|c| c["name"] == "stock")),
        "/stock was not registered"
    );

    let who = Invoker::guild(GUILD, vec![]);
    let n = env_num("BENCH_INTERACTIONS", 1_000);
    let mut rng = fastrand::Rng::with_seed(0x9E37_79B9_7F4A_7C15);
    let skus: Vec<String> = (0..WARM_UP + n)
        .map(|_| format!("SYN-{:07}", rng.u64(1..=count as u64)))
        .collect();
    let (warm, measured) = skus.split_at(WARM_UP as usize);

    for (i, sku) in warm.iter().enumerate() {
        let (_, body) = stock(&fake, &who, sku).await;
        if i == 0 {
            let text = body.to_string();
            anyhow::ensure!(
                body["type"] == 4 && text.contains("On hand") && text.contains(sku.as_str()),
                "/stock {sku} did not answer with a stock embed: {body:#}"
            );
            println!(
                "sample answer: {}",
                body["data"]["embeds"][0]["title"].as_str().unwrap_or("?")
            );
        }
    }

    let mut times = Vec::with_capacity(measured.len());
    let mut not_stock = 0usize;
    let started = Instant::now();
    for sku in measured {
        let (took, body) = stock(&fake, &who, sku).await;
        times.push(took);
        if body["type"] != 4 || !body.to_string().contains("On hand") {
            not_stock += 1;
        }
    }
    let wall = started.elapsed();
    anyhow::ensure!(
        not_stock == 0,
        "{not_stock} of {} callbacks were not stock embeds",
        measured.len()
    );

    let total: Duration = times.iter().sum();
    times.sort();
    println!(
        "/stock via Discord (fake on loopback): {count} SYN SKUs, {} interactions \
         (+{WARM_UP} warm-up), one at a time; frame sent → callback POST received",
        measured.len()
    );
    println!(
        "  p50 {:?}  p99 {:?}  max {:?}  mean {:?}  (wall {:.2?})",
        percentile(&times, 0.5),
        percentile(&times, 0.99),
        times.last().copied().unwrap_or_default(),
        total / times.len().max(1) as u32,
        wall
    );

    let _ = stop.send(true);
    match tokio::time::timeout(Duration::from_secs(10), task).await {
        Ok(joined) => joined??,
        Err(_) => println!("(application did not stop within 10s)"),
    }
    Ok(())
}
