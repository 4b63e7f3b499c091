//! `bench replicas`: the stock position and ingest writes through the HTTP API of 1, 2 and 4
//! replicas of this binary on one PostgreSQL database, beside one process on SQLite, from the
//! same run; then the same statement from `psql` and the `sqlite3` CLI as the floors; then the
//! failover: the replica holding the scheduler's lease killed, and the time a survivor takes.

use super::stats::percentile;
use super::{cli_wall, random, sqlite3_wall, Scratch, CLIENTS};
use anyhow::Context;
use backorder_bot::app::import::{import, ImportKind};
use backorder_bot::app::{Actor, App};
use backorder_bot::config::{Engine, PostgresUrl};
use backorder_bot::outln;
use backorder_bot::store;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// SKUs and customers of the shop every configuration starts from.
const SKUS: u64 = 2_000;
const CUSTOMERS: u64 = 500;

/// `bench replicas --n REQUESTS`: needs `BENCH_DATABASE_URL`, a PostgreSQL server where it may
/// create databases (one per configuration, dropped at the end).
pub async fn replicas(app: &App, n: u64) -> anyhow::Result<()> {
    let admin = std::env::var("BENCH_DATABASE_URL").context(
        "bench replicas needs BENCH_DATABASE_URL=postgres://USER@HOST:PORT/DB, a server where it \
         may create databases (.ci/with-postgres starts a throwaway one)",
    )?;
    outln!(
        "replicas: {n} stock reads (GET /api/v1/skus/…) and {} one-line orders (POST /api/v1/orders) \
         from {CLIENTS} clients, spread over the replicas; {SKUS} SKUs, {CUSTOMERS} customers",
        n / 4
    )?;
    let scratch = Scratch::new(app)?;
    let mut figures = Vec::new();

    // SQLite: one process, its own file.
    let lite_path = scratch.dir.join("replicas.db");
    let lite_vars = vec![(
        "BACKORDER_BOT__DATABASE__PATH".to_string(),
        lite_path.display().to_string(),
    )];
    let mut lite_settings = (*app.settings).clone();
    lite_settings.database.engine = Engine::Sqlite;
    lite_settings.database.path = lite_path.clone();
    let lite = seed(app, lite_settings).await?;
    let f = measure("SQLite, 1 process", &lite_vars, 1, n).await?;
    figures.push(f);

    // PostgreSQL: 1, 2 and 4 replicas, each on a fresh database.
    let mut made = Vec::new();
    let mut pg_last = None;
    for k in [1usize, 2, 4] {
        let (name, url) = store::postgres::create_scratch(
            &admin,
            &format!("bb_bench_k{k}_{}", std::process::id()),
        )
        .await?;
        made.push(name);
        let mut settings = (*app.settings).clone();
        settings.database.engine =
            Engine::Postgres(PostgresUrl::parse("BENCH_DATABASE_URL", &url)?);
        settings.database.postgres_unfinished = true;
        let pg_app = seed(app, settings).await?;
        let vars = vec![
            ("BACKORDER_BOT__DATABASE__URL".to_string(), url.clone()),
            (
                "BACKORDER_BOT__DATABASE__POSTGRES_UNFINISHED".to_string(),
                "true".to_string(),
            ),
        ];
        let f = measure(&format!("PostgreSQL, {k} replica(s)"), &vars, k, n).await?;
        figures.push(f);
        pg_app.store.close().await;
        pg_last = Some(url);
    }
    let (lite_read, pg_read) = (&figures[0], &figures[1]);
    outln!(
        "  PostgreSQL (1 replica) / SQLite, stock read p50: {:.2} (target: within 3)",
        pg_read.read_p50.as_secs_f64() / lite_read.read_p50.as_secs_f64().max(1e-9)
    )?;
    outln!(
        "  reads/s with 4 replicas / 1 replica on PostgreSQL: {:.2} (the machine has {} cores)",
        figures[3].reads_per_s / figures[1].reads_per_s.max(1e-9),
        std::thread::available_parallelism().map_or(1, |n| n.get())
    )?;
    floors(&lite, pg_last.as_deref(), n.min(20_000)).await?;
    lite.store.close().await;
    let (name, url) = store::postgres::create_scratch(
        &admin,
        &format!("bb_bench_failover_{}", std::process::id()),
    )
    .await?;
    made.push(name);
    failover(app, &url, &scratch.dir).await?;
    for name in made {
        store::postgres::drop_scratch(&admin, &name).await?;
    }
    Ok(())
}

/// What one configuration measured.
struct Figures {
    read_p50: Duration,
    reads_per_s: f64,
}

/// A fresh shop on `settings`' database: suppliers, `SKUS` products with stock, `CUSTOMERS`
/// customers.
async fn seed(app: &App, settings: backorder_bot::config::Settings) -> anyhow::Result<App> {
    let store = store::Store::open(&settings.database).await?;
    store.sync_priority_weights(&settings.priority).await?;
    let shop = App::new(store, Arc::new(settings), app.clock.clone());
    let ops = Actor::operator("bench");
    let mut products = String::from("sku,name,unit_price,on_hand\n");
    for i in 0..SKUS {
        products.push_str(&format!("R-{i},Replica item {i},12.50,{}\n", 1_000_000));
    }
    let mut customers = String::from("id,name,email,channel\n");
    for i in 0..CUSTOMERS {
        customers.push_str(&format!("RC-{i},Customer {i},rc{i}@example.com,email\n"));
    }
    for (kind, csv) in [
        (ImportKind::Products, products),
        (ImportKind::Customers, customers),
    ] {
        import(&shop, &ops, kind, std::io::Cursor::new(csv.into_bytes()))
            .await
            .map_err(|e| anyhow::anyhow!("seeding the bench shop: {e}"))?;
    }
    Ok(shop)
}

/// Starts `k` replicas with `vars`, reads and writes through them, prints and stops them.
async fn measure(
    label: &str,
    vars: &[(String, String)],
    k: usize,
    n: u64,
) -> anyhow::Result<Figures> {
    let mut ports = Vec::new();
    let mut children = Vec::new();
    for _ in 0..k {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        children.push(Replica(start(vars, port)?));
        ports.push(port);
    }
    let client = reqwest::Client::new();
    for p in &ports {
        wait_ready(&client, *p).await?;
    }
    let reads = drive(&ports, n, |i, base, client| {
        let sku = random(41, i) % SKUS;
        client.get(format!("{base}/api/v1/skus/R-{sku}"))
    })
    .await?;
    let writes = drive(&ports, n / 4, |i, base, client| {
        let sku = random(42, i) % SKUS;
        let customer = random(43, i) % CUSTOMERS;
        client
            .post(format!("{base}/api/v1/orders"))
            .header("idempotency-key", format!("rep-{i}"))
            .json(&serde_json::json!({
                "order": format!("RO-{i}"),
                "customer": format!("RC-{customer}"),
                "lines": [{"sku": format!("R-{sku}"), "qty": 1, "unit_price_minor": 1250}],
            }))
    })
    .await?;
    drop(children);
    outln!(
        "  {label:<26} reads {:>7.0}/s p50 {:>8.3?} p99 {:>8.3?} | orders {:>6.0}/s p50 {:>8.3?} p99 {:>8.3?}",
        reads.0,
        percentile(&reads.1, 0.5),
        percentile(&reads.1, 0.99),
        writes.0,
        percentile(&writes.1, 0.5),
        percentile(&writes.1, 0.99),
    )?;
    Ok(Figures {
        read_p50: percentile(&reads.1, 0.5),
        reads_per_s: reads.0,
    })
}

/// A replica process, killed when dropped.
struct Replica(Child);

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Scheduler lease of the failover run (`alerts.lease`): short, so the run is short.
const FAILOVER_LEASE: Duration = Duration::from_secs(5);

/// Three replicas with an alert rule on a fresh database; the one holding the scheduler's lease
/// is killed with SIGKILL, and a survivor's taking the lease over is timed (target: within the
/// lease + 5 s).
async fn failover(app: &App, url: &str, dir: &std::path::Path) -> anyhow::Result<()> {
    let mut settings = (*app.settings).clone();
    settings.database.engine = Engine::Postgres(PostgresUrl::parse("BENCH_DATABASE_URL", url)?);
    settings.database.postgres_unfinished = true;
    settings.alerts.rules.clear();
    let shop = App::new(
        store::Store::open(&settings.database).await?,
        Arc::new(settings),
        app.clock.clone(),
    );
    // A rule that never comes due: the replicas only hold and renew the lease.
    let config = dir.join("failover.toml");
    std::fs::write(
        &config,
        "[[alerts.rules]]\nname = \"failover\"\nschedule = \"0 0 1 1 *\"\nchannel_id = 1\n",
    )?;
    let vars = vec![
        ("BACKORDER_BOT__DATABASE__URL".to_string(), url.to_string()),
        (
            "BACKORDER_BOT__DATABASE__POSTGRES_UNFINISHED".to_string(),
            "true".to_string(),
        ),
        (
            "BACKORDER_BOT__ALERTS__LEASE".to_string(),
            format!("{}s", FAILOVER_LEASE.as_secs()),
        ),
    ];
    let config = config.display().to_string();
    let mut replicas = Vec::new();
    for _ in 0..3 {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        replicas.push((
            Replica(start_with(&vars, port, &["--config", &config])?),
            port,
        ));
    }
    let client = reqwest::Client::new();
    for (_, port) in &replicas {
        wait_ready(&client, *port).await?;
    }
    let leader = wait_leader(&shop, |_| true).await?;
    let Some(at) = replicas.iter().position(|(r, _)| r.0.id() == leader) else {
        anyhow::bail!("the lease holder {leader} is not one of the replicas");
    };
    // Child::kill is SIGKILL: the leader gets no chance to give the lease up.
    let (mut killed, _) = replicas.swap_remove(at);
    killed.0.kill()?;
    let t = Instant::now();
    killed.0.wait()?;
    let survivor = wait_leader(&shop, |pid| pid != leader).await?;
    let took = t.elapsed();
    let target = FAILOVER_LEASE + Duration::from_secs(5);
    outln!(
        "  failover: leader (pid {leader}) killed with SIGKILL; a survivor (pid {survivor}) took the scheduler lease after {took:.2?} (alerts.lease {FAILOVER_LEASE:?}; target within lease + 5 s = {target:?}: {})",
        if took <= target { "met" } else { "MISSED" }
    )?;
    drop(replicas);
    shop.store.close().await;
    Ok(())
}

/// The pid holding the scheduler's lease once `pick` accepts it (within a minute).
async fn wait_leader(app: &App, pick: impl Fn(u32) -> bool) -> anyhow::Result<u32> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(pid) = backorder_bot::app::schedule::Scheduler::leader_pid(app).await? {
            if pick(pid) {
                return Ok(pid);
            }
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "no replica took the scheduler lease"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn start(vars: &[(String, String)], port: u16) -> anyhow::Result<Child> {
    start_with(vars, port, &[])
}

fn start_with(vars: &[(String, String)], port: u16, args: &[&str]) -> anyhow::Result<Child> {
    Command::new(std::env::current_exe()?)
        .arg("run")
        .args(args)
        .envs(vars.iter().cloned())
        .env("BACKORDER_BOT__HTTP__BIND", format!("127.0.0.1:{port}"))
        .env("BACKORDER_BOT__SHOP__DEMO_DATA_ON_FIRST_START", "false")
        .env("BACKORDER_BOT__NOTIFY__ENABLED", "false")
        .env("INGEST_API_TOKEN", "bench")
        .env("RUST_LOG", "error")
        .env_remove("DISCORD_TOKEN")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("cannot start a replica")
}

async fn wait_ready(client: &reqwest::Client, port: u16) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let up = client
            .get(format!("http://127.0.0.1:{port}/healthz"))
            .send()
            .await;
        if up.is_ok_and(|r| r.status().is_success()) {
            return Ok(());
        }
        anyhow::ensure!(Instant::now() < deadline, "replica on {port} did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `n` requests from [`CLIENTS`] keep-alive clients, request `i` to replica `i % k`; the rate
/// and the sorted times (a request that fails stops the benchmark).
async fn drive(
    ports: &[u16],
    n: u64,
    make: impl Fn(u64, &str, &reqwest::Client) -> reqwest::RequestBuilder + Send + Sync + 'static,
) -> anyhow::Result<(f64, Vec<Duration>)> {
    let make = Arc::new(make);
    let bases: Arc<Vec<String>> = Arc::new(
        ports
            .iter()
            .map(|p| format!("http://127.0.0.1:{p}"))
            .collect(),
    );
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for c in 0..CLIENTS {
        let (make, bases) = (make.clone(), bases.clone());
        tasks.spawn(async move {
            let client = reqwest::Client::new();
            let mut times = Vec::new();
            let mut i = c;
            while i < n {
                let base = &bases[i as usize % bases.len()];
                let t = Instant::now();
                let resp = make(i, base, &client).bearer_auth("bench").send().await?;
                let status = resp.status();
                let body = resp.bytes().await?;
                anyhow::ensure!(
                    status.is_success(),
                    "request {i}: {status} {}",
                    String::from_utf8_lossy(&body)
                );
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
    let rate = n as f64 / started.elapsed().as_secs_f64();
    all.sort();
    Ok((rate, all))
}

/// The lookups behind a stock read, for `m` SKUs, by the `sqlite3` CLI and by `psql`.
async fn floors(lite: &App, pg_url: Option<&str>, m: u64) -> anyhow::Result<()> {
    // The lookups `/stock` makes for a SKU (`reference::stock_lookups`), for random SKUs.
    let script: String = (0..m)
        .map(|i| super::reference::stock_lookups(&format!("R-{}", random(41, i) % SKUS)))
        .collect();
    match sqlite3_wall(lite, &format!(".output /dev/null\n{script}")) {
        Some(d) => outln!(
            "  floor: sqlite3 CLI, the lookups of /stock for {m} SKUs: {:.3?} each",
            d / m as u32
        )?,
        None => outln!("  sqlite3 CLI not found: no SQLite floor")?,
    }
    let Some(url) = pg_url else { return Ok(()) };
    let words = ["-X", "-q", "-o", "/dev/null", url];
    let args: Vec<&std::ffi::OsStr> = words.iter().map(std::ffi::OsStr::new).collect();
    let psql = |script: &str| cli_wall("psql", &args, script);
    match (psql("SELECT 1;\n"), psql(&script)) {
        (Some(empty), Some(all)) => outln!(
            "  floor: psql, the lookups of /stock for {m} SKUs over its socket: {:.3?} each",
            all.saturating_sub(empty) / m as u32
        )?,
        _ => outln!("  psql not found: no PostgreSQL floor")?,
    }
    Ok(())
}
