//! `cargo bench`: the `/stock` and `/eta` benchmarks on a synthetic shop in a temp directory,
//! run by the `backorder-bot` binary as a user runs them. Sizes come from BENCH_SKUS (default
//! 100,000) and BENCH_BACKORDERS (default 100,000); the full-size run is
//! `backorder-bot --db data/bench.db demo-data --skus 1000000` followed by
//! `backorder-bot --db data/bench.db bench stock` and `… bench eta --n 100000`.

use std::process::Command;

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// `backorder-bot --db DB ARGS…`, its output passed through; fails unless it exits 0.
fn bot(db: &std::path::Path, args: &[&str]) -> anyhow::Result<()> {
    let status = Command::new(env!("CARGO_BIN_EXE_backorder-bot"))
        .arg("--db")
        .arg(db)
        .args(args)
        .status()?;
    anyhow::ensure!(status.success(), "backorder-bot {args:?}: {status}");
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("bench.db");
    let skus = env_num("BENCH_SKUS", 100_000).to_string();
    let backorders = env_num("BENCH_BACKORDERS", 100_000).to_string();
    bot(&db, &["demo-data", "--skus", &skus])?;
    bot(&db, &["bench", "stock", "--n", "10000"])?;
    bot(&db, &["bench", "eta", "--n", &backorders])?;
    Ok(())
}
