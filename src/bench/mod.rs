//! Benchmarks that print figures (`backorder-bot bench stock|eta|…`); never timed tests.
//!
//! They belong to the binary, not the library: one file per benchmark, the helpers they share
//! here. The side-by-side figures come from the `sqlite3` CLI running [`reference`] statements.

mod alerts;
mod eta;
mod forecast;
mod import;
mod lists;
mod notify;
mod proc_self;
mod reference;
mod replicas;
mod search;
mod spike;
pub mod stats;
mod stock;

pub use self::import::import;
use backorder_bot::app::{Actor, App};
use backorder_bot::commands::{self, Invocation, Outcome};
use backorder_bot::outln;
use backorder_bot::store;
use stats::percentile;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Runs a named benchmark.
pub async fn run(app: &App, which: &str, n: u64) -> anyhow::Result<()> {
    match which {
        "stock" => stock::stock(app, n).await,
        "eta" => eta::eta(app, n).await,
        "import" => import(app, backorder_bot::app::import::ImportKind::Products, n).await,
        "alerts" => alerts::alerts(app, n).await,
        "forecast" => forecast::forecast(app).await,
        "notify" => notify::notify(app, n).await,
        "search" => {
            search::index_sizes(app)?;
            search::search(app, n).await
        }
        "autocomplete" => search::autocomplete(app, n).await,
        "lists" => lists::lists(app, n).await,
        "spike" => spike::spike(app, n).await,
        "replicas" => replicas::replicas(app, n).await,
        other => anyhow::bail!(
            "unknown benchmark \"{other}\" (stock, eta, import, alerts, forecast, notify, search, autocomplete, lists, spike or replicas)"
        ),
    }
}

/// The `i`th of a repeatable series of random numbers named by `seed`: requests made from
/// several clients at once get the same numbers whatever order they run in.
fn random(seed: u64, i: u64) -> u64 {
    fastrand::Rng::with_seed(seed ^ (i + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15)).u64(..)
}

/// A fresh database beside the configured one, removed when dropped.
struct Scratch {
    dir: PathBuf,
}

impl Scratch {
    fn new(app: &App) -> anyhow::Result<Self> {
        let db = &app.settings.database.path;
        let parent = db
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let dir = parent.join(format!("bench-import-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        Ok(Self { dir })
    }

    async fn app(&self, app: &App) -> anyhow::Result<App> {
        let mut settings = (*app.settings).clone();
        settings.database.path = self.dir.join("bench.db");
        let store = store::Store::open(&settings.database).await?;
        store.sync_priority_weights(&settings.priority).await?;
        Ok(App::new(
            store,
            std::sync::Arc::new(settings),
            app.clock.clone(),
        ))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A benchmark query made from a random number and the number of synthetic products.
type Query = fn(u64, u64) -> String;

/// Concurrent clients of the read benchmarks (a team asking at once).
const CLIENTS: u64 = 8;

/// Untimed requests before each timed kind, as a share of the timed ones: a service that has
/// been running has its page caches and remembered trigram counts warm.
const WARM_UP_SHARE: u64 = 4;

/// Runs `op(i)` for i in 0..n from [`CLIENTS`] concurrent tasks, after an untimed warm-up of
/// `n / WARM_UP_SHARE` requests (`op(i)` for i from `n` on: other random numbers); returns every
/// timed duration, sorted.
async fn concurrent<F, Fut>(n: u64, op: F) -> anyhow::Result<Vec<Duration>>
where
    F: Fn(u64) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = anyhow::Result<()>> + Send,
{
    let warm = op.clone();
    run_concurrent(n / WARM_UP_SHARE, move |i| warm(n + i)).await?;
    run_concurrent(n, op).await
}

async fn run_concurrent<F, Fut>(n: u64, op: F) -> anyhow::Result<Vec<Duration>>
where
    F: Fn(u64) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = anyhow::Result<()>> + Send,
{
    let mut tasks = tokio::task::JoinSet::new();
    for c in 0..CLIENTS {
        let op = op.clone();
        tasks.spawn(async move {
            let mut times = Vec::new();
            let mut i = c;
            while i < n {
                let t = Instant::now();
                op(i).await?;
                times.push(t.elapsed());
                i += CLIENTS;
            }
            anyhow::Ok(times)
        });
    }
    let mut all = Vec::with_capacity(n as usize);
    while let Some(r) = tasks.join_next().await {
        all.extend(r??);
    }
    all.sort();
    Ok(all)
}

fn print_times(label: &str, times: &[Duration]) -> anyhow::Result<()> {
    outln!(
        "  {label:<46} n {:>5}  p50 {:>9.3?}  p99 {:>9.3?}  max {:>9.3?}",
        times.len(),
        percentile(times, 0.5),
        percentile(times, 0.99),
        times.last().copied().unwrap_or_default()
    )?;
    Ok(())
}

/// Mean time per statement group of `groups` run by the sqlite3 CLI on the same database,
/// process start-up subtracted.
fn sqlite3_mean(app: &App, groups: &[String]) -> Option<Duration> {
    let script = format!(".output /dev/null\n{}\n", groups.join("\n"));
    Some(sqlite3_wall(app, &script)? / groups.len().max(1) as u32)
}

/// Wall time of the sqlite3 CLI running `script` on the shop's database (its output discarded),
/// process start-up subtracted; `None` without the CLI.
fn sqlite3_wall(app: &App, script: &str) -> Option<Duration> {
    let db = app.settings.database.path.as_os_str();
    let empty = cli_wall("sqlite3", &[db], ".output /dev/null\nSELECT 1;\n")?;
    Some(cli_wall("sqlite3", &[db], script)?.saturating_sub(empty))
}

/// Wall time of `program args` reading `script` on its standard input (`None`: it would not run).
fn cli_wall(program: &str, args: &[&std::ffi::OsStr], script: &str) -> Option<Duration> {
    let t = Instant::now();
    let mut child = std::process::Command::new(program)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .ok()?;
    child.stdin.take()?.write_all(script.as_bytes()).ok()?;
    child.wait().ok()?;
    Some(t.elapsed())
}

fn sqlite3_line(label: &str, app: &App, groups: &[String]) -> anyhow::Result<()> {
    match sqlite3_mean(app, groups) {
        Some(d) => outln!(
            "  {:<46} sqlite3 CLI, same statements: mean {d:.3?} over {}",
            label,
            groups.len()
        )?,
        None => outln!("  sqlite3 CLI not found: no reference figure")?,
    }
    Ok(())
}

async fn synthetic_count(app: &App) -> anyhow::Result<u64> {
    let mut conn = app.store.conn().await?;
    let (count, _) = store::bulk::synthetic_sizes(&mut conn).await?;
    anyhow::ensure!(
        count > 0,
        "no synthetic SKUs: run `backorder-bot demo-data --skus N` on this database first"
    );
    Ok(count as u64)
}

/// Runs `inv` (made from a random number) through the command layer from 8 clients; every
/// reply must be an answer.
async fn commands_timed(
    app: &App,
    n: u64,
    seed: u64,
    make: impl Fn(u64) -> Invocation + Send + Sync + 'static,
) -> anyhow::Result<Vec<Duration>> {
    let make = std::sync::Arc::new(make);
    let app = app.clone();
    concurrent(n, move |i| {
        let app = app.clone();
        let inv = make(random(seed, i));
        async move {
            let actor = Actor::operator("bench");
            let (reply, outcome) = commands::run(&app, &actor, &inv).await;
            anyhow::ensure!(
                outcome == Outcome::Ok,
                "{} failed: {}",
                inv.to_line(),
                reply.to_text()
            );
            Ok(())
        }
    })
    .await
}

/// Reads the search indexes' trigram counts, as a long-running process does once started.
async fn read_trigram_counts(app: &App) -> anyhow::Result<()> {
    let t = Instant::now();
    let trigrams = backorder_bot::app::search::read_trigram_counts(app).await?;
    outln!(
        "  trigram counts read from the index vocabularies (as the service does at start): {trigrams} trigrams in {:.0?}",
        t.elapsed()
    )?;
    Ok(())
}
