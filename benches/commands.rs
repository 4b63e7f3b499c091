//! `cargo bench`: the `/stock` and `/eta` benchmarks on a synthetic shop in a temp directory.
//! Sizes come from BENCH_SKUS (default 100,000) and BENCH_BACKORDERS (default 100,000); the
//! full-size run is `backorder-bot --db data/bench.db demo-data --skus 1000000` followed by
//! `backorder-bot --db data/bench.db bench stock` and `… bench eta --n 100000`.

use backorder_bot::app::{demo, Clock};
use backorder_bot::config::Settings;
use backorder_bot::startup::Application;

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("bench.db").display().to_string();
    let vars = vec![
        ("BACKORDER_BOT__DATABASE__PATH".to_string(), db),
        (
            "BACKORDER_BOT__SHOP__DEMO_DATA_ON_FIRST_START".to_string(),
            "false".to_string(),
        ),
    ];
    let settings = Settings::load_from(None, &vars, &|_| None)?;
    let app = Application::build(settings, Clock::System).await?.app;
    let skus = env_num("BENCH_SKUS", 100_000);
    let started = std::time::Instant::now();
    let counts = demo::synthetic(&app, skus, 1)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    println!(
        "synthetic shop of {} SKUs ({} ledger rows) built in {:.1?}",
        counts.products,
        counts.movements,
        started.elapsed()
    );
    backorder_bot::bench::run(&app, "stock", 10_000).await?;
    backorder_bot::bench::run(&app, "eta", env_num("BENCH_BACKORDERS", 100_000)).await?;
    Ok(())
}
