//! Benchmarks that print figures (`backorder-bot bench stock|eta|…`); never timed tests.

use crate::app::import::{self as csv_import, ImportKind};
use crate::app::search::CANDIDATES;
use crate::app::{Actor, App};
use crate::commands::{self, Invocation, Outcome};
use crate::store::{self, reference};
use crate::{out, outln};
use anyhow::Context;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The `p` quantile of sorted durations.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

/// Runs a named benchmark.
pub async fn run(app: &App, which: &str, n: u64) -> anyhow::Result<()> {
    match which {
        "stock" => stock(app, n).await,
        "eta" => eta(app, n).await,
        "import" => import(app, ImportKind::Products, n).await,
        "alerts" => alerts(app, n).await,
        "notify" => notify(app, n).await,
        "search" => {
            index_sizes(app)?;
            search(app, n).await
        }
        "autocomplete" => autocomplete(app, n).await,
        "lists" => lists(app, n).await,
        "spike" => spike(app, n).await,
        other => anyhow::bail!(
            "unknown benchmark \"{other}\" (stock, eta, import, alerts, notify, search, autocomplete or lists)"
        ),
    }
}

/// Cheap deterministic pseudo-random numbers (xorshift), so runs are repeatable.
pub struct Rng(pub u64);

impl Rng {
    /// The next number.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// `/stock` through the command layer over random synthetic SKUs, next to the sqlite3 CLI.
pub async fn stock(app: &App, iterations: u64) -> anyhow::Result<()> {
    let mut conn = app.store.conn().await?;
    let (count, ledger) = store::bulk::synthetic_sizes(&mut conn).await?;
    drop(conn);
    anyhow::ensure!(
        count > 0,
        "no synthetic SKUs: run `backorder-bot demo-data --skus N` on this database first"
    );
    let actor = Actor::operator("bench");
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let skus: Vec<String> = (0..iterations)
        .map(|_| format!("SYN-{:07}", 1 + rng.next() % count as u64))
        .collect();
    for sku in skus.iter().take(200) {
        commands::run(
            app,
            &actor,
            &Invocation::new("stock", None, &[("sku", sku)]),
        )
        .await;
    }
    let mut times = Vec::with_capacity(skus.len());
    let started = Instant::now();
    for sku in &skus {
        let t = Instant::now();
        let (_, outcome) = commands::run(
            app,
            &actor,
            &Invocation::new("stock", None, &[("sku", sku)]),
        )
        .await;
        times.push(t.elapsed());
        anyhow::ensure!(outcome == Outcome::Ok, "/stock {sku} failed");
    }
    let total = started.elapsed();
    times.sort();
    outln!(
        "/stock via command layer: {} products, {} ledger rows, {} lookups",
        count,
        ledger,
        skus.len()
    )?;
    outln!(
        "  p50 {:?}  p99 {:?}  max {:?}  mean {:?}",
        percentile(&times, 0.5),
        percentile(&times, 0.99),
        times.last().copied().unwrap_or_default(),
        total / skus.len().max(1) as u32
    )?;
    sqlite3_reference(app, &skus[..skus.len().min(2000)])?;
    Ok(())
}

/// The same lookups (product, position, inbound, backorder summary) by the sqlite3 CLI.
fn sqlite3_reference(app: &App, skus: &[String]) -> anyhow::Result<()> {
    let groups: Vec<String> = skus
        .iter()
        .map(|sku| reference::stock_lookups(&sku.to_ascii_uppercase()))
        .collect();
    match sqlite3_mean(app, &groups) {
        Some(per) => outln!("sqlite3 CLI, same lookups: mean {per:?} per /stock over {} lookups (process start-up subtracted)", skus.len())?,
        None => outln!("sqlite3 CLI not found: no reference figure")?,
    }
    Ok(())
}

/// One PO whose ETA change moves `n` backorders' ETAs: command to commit.
pub async fn eta(app: &App, n: u64) -> anyhow::Result<()> {
    let mut tx = app.store.begin_write().await?;
    let po = store::bulk::bench_backorders(&mut tx, n as i64, app.clock.now()).await?;
    tx.commit().await?;
    let actor = Actor::operator("bench");
    let today = app.clock.today();
    let day = |d: u64| (today + chrono::Days::new(d)).to_string();
    // First run gives every backorder its first promise; the measured runs move them all.
    let first = Invocation::new(
        "eta",
        None,
        &[("po", &po), ("date", &day(20)), ("reason", "bench setup")],
    );
    commands::run(app, &actor, &first).await;
    for (i, d) in [30u64, 40, 50].iter().enumerate() {
        let inv = Invocation::new(
            "eta",
            None,
            &[("po", &po), ("date", &day(*d)), ("reason", "bench")],
        );
        let t = Instant::now();
        let (reply, outcome) = commands::run(app, &actor, &inv).await;
        let took = t.elapsed();
        anyhow::ensure!(outcome == Outcome::Ok, "eta failed: {}", reply.to_text());
        outln!(
            "run {}: /eta on {po}: {} Command to commit: {took:?}",
            i + 1,
            reply.description.unwrap_or_default()
        )?;
    }
    Ok(())
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

/// Writes a CSV file row by row.
fn write_csv(
    path: &Path,
    header: &str,
    rows: u64,
    mut row: impl FnMut(u64, &mut dyn Write) -> std::io::Result<()>,
) -> anyhow::Result<()> {
    let mut out = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    writeln!(out, "{header}")?;
    for i in 1..=rows {
        row(i, &mut out)?;
    }
    out.flush()?;
    Ok(())
}

const PRODUCTS_HEADER: &str =
    "sku,name,category,unit_price,on_hand,reorder_point,safety_stock,reorder_qty,lead_time_days,supplier";

/// `n` product rows `IMP-0000001`…, every column filled, a supplier on each.
fn products_csv(path: &Path, n: u64) -> anyhow::Result<()> {
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    write_csv(path, PRODUCTS_HEADER, n, |i, out| {
        let r = rng.next();
        writeln!(
            out,
            "IMP-{i:07},Imported product {i} {},category-{},{}.{:02},{},{},{},{},{},BENCH-SUP-{}",
            ["blue", "red", "green", "black"][(r % 4) as usize],
            i % 200,
            1 + r % 500,
            (r >> 9) % 100,
            (r >> 17) % 300,
            5 + (r >> 25) % 20,
            2 + (r >> 30) % 5,
            50,
            5 + (r >> 33) % 25,
            1 + (r >> 40) % 20,
        )
    })
}

/// Checks, stages and applies one file the way `import` does, timing the read-and-check part
/// (no lock) and the write transaction separately.
async fn timed_import(
    app: &App,
    kind: ImportKind,
    path: &Path,
) -> anyhow::Result<(csv_import::ImportReport, Duration, Duration)> {
    let actor = Actor::operator("bench");
    let mut conn = app.store.conn().await?;
    let started = Instant::now();
    let file = std::io::BufReader::with_capacity(1 << 20, std::fs::File::open(path)?);
    let staged = csv_import::stage(&mut conn, kind, file, app.clock.now())
        .await
        .context("cannot stage the file")?;
    let staged_in = started.elapsed();
    let locked = Instant::now();
    let mut tx = store::begin_write_on(&mut conn).await?;
    let report = csv_import::apply(app, &mut tx, &actor, staged)
        .await
        .context("cannot apply the file")?;
    tx.commit().await?;
    let locked_for = locked.elapsed();
    store::import::clear(&mut conn).await?;
    Ok((report, staged_in, locked_for))
}

/// The `sqlite3` CLI's `.import` of the same file into a plain table of a fresh database.
fn sqlite3_import(dir: &Path, csv: &Path) -> Option<Duration> {
    let db = dir.join("plain.db");
    let _ = std::fs::remove_file(&db);
    let started = Instant::now();
    let status = std::process::Command::new("sqlite3")
        .arg(&db)
        .arg(format!(".import --csv {} plain", csv.display()))
        .stdout(std::process::Stdio::null())
        .status()
        .ok()?;
    let took = started.elapsed();
    status.success().then_some(took)
}

/// CPU time used so far by this process and by its waited-for children (Linux `/proc`; `None`
/// elsewhere). On a machine shared with other work, CPU time compares fairer than wall time.
fn cpu_times() -> Option<(Duration, Duration)> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let fields: Vec<u64> = stat
        .rsplit_once(')')?
        .1
        .split_whitespace()
        .skip(11)
        .take(4)
        .map(|f| f.parse().ok())
        .collect::<Option<_>>()?;
    // Clock ticks; 100 per second on Linux.
    let ticks = |t: u64| Duration::from_millis(t * 10);
    Some((ticks(fields[0] + fields[1]), ticks(fields[2] + fields[3])))
}

fn per_second(rows: usize, d: Duration) -> f64 {
    rows as f64 / d.as_secs_f64().max(1e-9)
}

/// `bench import --rows N [--kind products|orders|purchase-orders]`: a generated file of N rows imported into a
/// fresh database, beside the `sqlite3` CLI's `.import` of the same file into a plain table.
pub async fn import(app: &App, kind: ImportKind, rows: u64) -> anyhow::Result<()> {
    let scratch = Scratch::new(app)?;
    let bench_app = scratch.app(app).await?;
    let suppliers = scratch.dir.join("suppliers.csv");
    write_csv(&suppliers, "code,name,lead_time_days", 20, |i, out| {
        writeln!(out, "BENCH-SUP-{i},Bench supplier {i},{}", 5 + i)
    })?;
    timed_import(&bench_app, ImportKind::Suppliers, &suppliers).await?;
    let file = scratch.dir.join("data.csv");
    match kind {
        ImportKind::Products => products_csv(&file, rows)?,
        ImportKind::Orders => {
            // A shop to order from: a product per ten lines (at least 100), 1,000 customers.
            let products = scratch.dir.join("products.csv");
            let skus = (rows / 10).max(100);
            products_csv(&products, skus)?;
            timed_import(&bench_app, ImportKind::Products, &products).await?;
            let customers = scratch.dir.join("customers.csv");
            write_csv(&customers, "id,name,email,tier", 1000, |i, out| {
                let tier = ["standard", "silver", "gold", "vip"][(i % 4) as usize];
                writeln!(out, "BC-{i},Bench customer {i},bench{i}@example.com,{tier}")
            })?;
            timed_import(&bench_app, ImportKind::Customers, &customers).await?;
            let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
            write_csv(
                &file,
                "order,customer,sku,qty,unit_price,ordered_at",
                rows,
                |i, out| {
                    let r = rng.next();
                    writeln!(
                        out,
                        "SO-B{i},BC-{},IMP-{:07},{},{}.00,2026-{:02}-{:02}",
                        1 + r % 1000,
                        1 + (r >> 10) % skus,
                        1 + (r >> 30) % 3,
                        1 + (r >> 33) % 300,
                        1 + (r >> 40) % 10,
                        1 + (r >> 45) % 28,
                    )
                },
            )?;
        }
        ImportKind::PurchaseOrders => {
            // A product per ten lines (at least 100); ten lines per PO, each PO one supplier.
            let products = scratch.dir.join("products.csv");
            let skus = (rows / 10).max(100);
            products_csv(&products, skus)?;
            timed_import(&bench_app, ImportKind::Products, &products).await?;
            let today = app.clock.today();
            let mut rng = Rng(0xD1B5_4A32_D192_ED03);
            write_csv(&file, "po,supplier,sku,qty,eta,status", rows, |i, out| {
                let r = rng.next();
                let po = (i - 1) / 10;
                let eta = today + chrono::Days::new(7 + r % 120);
                writeln!(
                    out,
                    "PO-B{po},BENCH-SUP-{},IMP-{:07},{},{eta},open",
                    1 + po % 20,
                    1 + (i - 1) % skus,
                    1 + (r >> 8) % 200,
                )
            })?;
        }
        other => {
            anyhow::bail!("bench import covers products, orders and purchase-orders, not {other:?}")
        }
    }
    let size = std::fs::metadata(&file)?.len();
    let cpu_before = cpu_times();
    let (first, staged_in, locked_for) = timed_import(&bench_app, kind, &file).await?;
    let total = staged_in + locked_for;
    let cpu_import = cpu_times()
        .zip(cpu_before)
        .map(|((after, _), (before, _))| after.saturating_sub(before));
    outln!(
        "import {kind:?}: {} rows ({:.1} MB) in {total:.2?}: {:.0} rows/s (read and check {staged_in:.2?}, write lock held {locked_for:.2?}); {} changed, {} backorders created",
        first.rows,
        size as f64 / 1e6,
        per_second(first.rows, total),
        first.changed,
        first.backorders_created,
    )?;
    let (again, staged_again, locked_again) = timed_import(&bench_app, kind, &file).await?;
    outln!(
        "same file again: {:.2?} ({:.0} rows/s, write lock held {locked_again:.2?}); {} changed",
        staged_again + locked_again,
        per_second(again.rows, staged_again + locked_again),
        again.changed,
    )?;
    bench_app.store.close().await;
    let cpu_before = cpu_times();
    match sqlite3_import(&scratch.dir, &file) {
        Some(cli) => {
            outln!(
                "sqlite3 CLI .import of the same file into a plain table: {cli:.2?} ({:.0} rows/s); import takes {:.1}× as long",
                per_second(first.rows, cli),
                total.as_secs_f64() / cli.as_secs_f64().max(1e-9),
            )?;
            let cpu_cli = cpu_times()
                .zip(cpu_before)
                .map(|((_, after), (_, before))| after.saturating_sub(before));
            if let (Some(ours), Some(theirs)) = (cpu_import, cpu_cli) {
                outln!(
                    "CPU time: import {ours:.2?} ({:.0} rows/s), sqlite3 CLI {theirs:.2?}; {:.1}×",
                    per_second(first.rows, ours),
                    ours.as_secs_f64() / theirs.as_secs_f64().max(0.01),
                )?;
            }
        }
        None => {
            outln!("sqlite3 CLI not found: no side-by-side figure (install sqlite3 to get one)")?
        }
    }
    Ok(())
}

/// Evaluates alert rules over the whole shop (`n` timed runs each, at most 10): a `low` rule and
/// an `at_risk` rule, each run followed by the `sqlite3` CLI running the very statement the bot
/// runs for it (same text, parameters written in, same page cache size, rows written to /dev/null),
/// so both are measured side by side under the same load; then `check` and `check --json` of
/// each rule as a user runs them, output included, beside that sqlite3 figure. Then the issue's
/// own reference, the projected-stock count over the raw tables, once.
pub async fn alerts(app: &App, n: u64) -> anyhow::Result<()> {
    use crate::domain::alerts::{AlertRule, Scope, Severity, SALES_WINDOW_DAYS};
    use store::alerts::{Candidates, SalesWindow};
    let mut conn = app.store.conn().await?;
    let products = store::products::count(&mut conn).await?;
    drop(conn);
    anyhow::ensure!(
        products > 0,
        "no products: run `backorder-bot demo-data --skus N` on this database first"
    );
    let schedule =
        crate::domain::schedule::CronSchedule::parse("0 7 * * *").map_err(anyhow::Error::msg)?;
    let rule = |min_severity| AlertRule {
        name: "bench".into(),
        schedule: schedule.clone(),
        timezone: chrono_tz::UTC,
        channel_id: 1,
        scope: Scope::default(),
        min_severity,
        repeat_interval: chrono::Duration::hours(24),
        resolve_margin: 0.1,
    };
    let path = app.settings.database.path.clone();
    let sqlite3 = |script: &str| -> Option<(Duration, Duration, String)> {
        let t = Instant::now();
        let c = cpu_time().1;
        let mut child = std::process::Command::new("sqlite3")
            .arg(&path)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .ok()?;
        child.stdin.take()?.write_all(script.as_bytes()).ok()?;
        let out = child.wait_with_output().ok()?;
        Some((
            t.elapsed(),
            cpu_time().1.saturating_sub(c),
            String::from_utf8_lossy(&out.stdout).trim().to_string(),
        ))
    };
    let startup = sqlite3("SELECT 1;\n").map(|r| r.0).unwrap_or_default();
    if sqlite3("SELECT 1;\n").is_none() {
        outln!("sqlite3 CLI not found: no side-by-side figures (install sqlite3 to get them)")?;
    }
    let runs = n.clamp(1, 10);
    outln!("RSS before the first evaluation: {}", rss("VmRSS:"))?;
    let today = app.clock.today();
    let window = SalesWindow {
        last: today,
        days: SALES_WINDOW_DAYS,
    };
    let mut checks = Vec::new();
    for severity in [Severity::Low, Severity::AtRisk] {
        let r: AlertRule = rule(severity);
        let sql = store::alerts::reference_evaluation_sql(
            &r.name,
            today,
            window,
            Candidates {
                at_risk: severity == Severity::AtRisk,
            },
        );
        let counted = sqlite3(&store::alerts::reference_row_count_sql(&sql)).map(|r| r.2);
        let script = format!(
            "{}.output /dev/null\n{sql}",
            store::alerts::reference_cache_sql()
        );
        let (mut walls, mut cpus, mut ref_walls, mut ref_cpus) = (vec![], vec![], vec![], vec![]);
        let mut found = (0, 0);
        for _ in 0..runs {
            let t = Instant::now();
            let c = cpu_time().0;
            let e = crate::app::alerts::evaluate(app, &r)
                .await
                .context("evaluating the alert rule failed")?;
            walls.push(t.elapsed());
            cpus.push(cpu_time().0.saturating_sub(c));
            found = (e.evaluated, e.findings.len());
            let rss_with_findings = rss("VmRSS:");
            drop(e);
            let reference = sqlite3(&script);
            out!(
                "evaluate rule (min_severity {}): wall {:?}, CPU {:?}, {} rows read, {} firing, RSS holding them {rss_with_findings}",
                severity.as_str(),
                walls.last().unwrap(),
                cpus.last().unwrap(),
                found.0,
                found.1
            )?;
            if let Some((wall, cpu, _)) = reference {
                ref_walls.push(wall.saturating_sub(startup));
                ref_cpus.push(cpu);
                out!(
                    "; sqlite3 CLI, same statement: wall {:?} (start-up {startup:?} subtracted), CPU {cpu:?}",
                    ref_walls.last().unwrap()
                )?;
            }
            outln!()?;
        }
        for v in [&mut walls, &mut cpus, &mut ref_walls, &mut ref_cpus] {
            v.sort();
        }
        outln!(
            "alerts over {products} products, min_severity {}: best {:?}, median {:?} wall; CPU best {:?}, median {:?}; {} rows read, {} firing",
            severity.as_str(),
            walls[0],
            percentile(&walls, 0.5),
            cpus[0],
            percentile(&cpus, 0.5),
            found.0,
            found.1
        )?;
        if !ref_walls.is_empty() {
            let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64().max(1e-9);
            outln!(
                "  sqlite3 CLI, same statement ({} rows): best {:?}, median {:?} wall; CPU best {:?} (start-up included), median {:?}",
                counted.unwrap_or_default(),
                ref_walls[0],
                percentile(&ref_walls, 0.5),
                ref_cpus[0],
                percentile(&ref_cpus, 0.5)
            )?;
            outln!(
                "  ratio bot / sqlite3: wall best {:.2}, median {:.2}; CPU best {:.2}, median {:.2}",
                ratio(walls[0], ref_walls[0]),
                ratio(percentile(&walls, 0.5), percentile(&ref_walls, 0.5)),
                ratio(cpus[0], ref_cpus[0]),
                ratio(percentile(&cpus, 0.5), percentile(&ref_cpus, 0.5))
            )?;
        }
        let sqlite3_median = (!ref_walls.is_empty()).then(|| percentile(&ref_walls, 0.5));
        outln!("  peak RSS of this process so far: {}", rss("VmHWM:"))?;
        checks.push((r, sqlite3_median));
    }
    // `check` holds every firing SKU's figures and message at once, as its output needs: timed
    // after the evaluations, so their peak RSS stays what a scheduled run costs.
    for (r, sqlite3_median) in checks {
        outln!("check, min_severity {}:", r.min_severity.as_str())?;
        check_command(app, &r, runs, sqlite3_median).await?;
    }
    let raw = store::alerts::reference_projected_sql(today);
    if let Some((wall, cpu, count)) = sqlite3(&format!("PRAGMA cache_size = -65536;\n{raw}")) {
        outln!(
            "sqlite3 CLI, the issue's projected-stock count over the raw tables (no stored aggregates): {:?} wall (start-up subtracted), CPU {cpu:?}, {count} SKUs at or below reorder point",
            wall.saturating_sub(startup)
        )?;
    }
    outln!(
        "peak RSS of this process (check included): {}",
        rss("VmHWM:")
    )?;
    Ok(())
}

/// `backorder-bot check` and `check --json` for `rule` as a user runs them: the rule evaluated
/// against its alert state, the output built and written out (to /dev/null), `runs` times each.
/// A writer that counts the bytes through it.
struct Counted<W>(W, usize);

impl<W: Write> Write for Counted<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.0.write(buf)?;
        self.1 += n;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

/// Prints the medians, `--json` over text, and each over the sqlite3 CLI's median for the same
/// statement.
async fn check_command(
    app: &App,
    rule: &crate::domain::alerts::AlertRule,
    runs: u64,
    sqlite3_median: Option<Duration>,
) -> anyhow::Result<()> {
    let mut sink = std::fs::OpenOptions::new().write(true).open("/dev/null")?;
    let mut medians = Vec::new();
    for as_json in [false, true] {
        let mut walls = Vec::new();
        let mut bytes = 0;
        for _ in 0..runs {
            let t = Instant::now();
            let mut out = Counted(std::io::BufWriter::new(&mut sink), 0);
            crate::adapters::check::report(app, std::slice::from_ref(rule), as_json, &mut out)
                .await
                .context("check failed")?;
            walls.push(t.elapsed());
            bytes = out.1;
        }
        walls.sort();
        let median = percentile(&walls, 0.5);
        medians.push(median);
        out!(
            "  check{}: best {:?}, median {median:?} wall, {:.1} MB of output",
            if as_json { " --json" } else { "" },
            walls[0],
            bytes as f64 / 1e6
        )?;
        match sqlite3_median {
            Some(floor) => outln!(
                "; {:.2}× the sqlite3 CLI's median",
                median.as_secs_f64() / floor.as_secs_f64().max(1e-9)
            )?,
            None => outln!()?,
        }
    }
    outln!(
        "  check --json / check: {:.2}× (median over median)",
        medians[1].as_secs_f64() / medians[0].as_secs_f64().max(1e-9)
    )?;
    Ok(())
}

/// A line of `/proc/self/status` (Linux): `VmRSS:` resident now, `VmHWM:` the peak.
fn rss(field: &str) -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .map(|l| l.trim_start_matches(field).trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into())
}

/// Customer-update delivery through the real dispatcher and SMS client to a Twilio-compatible
/// stub on 127.0.0.1: `n` messages with no rate limit (messages per second end to end: claim,
/// render, send, record), then 100 with `sms.per_second = 20` (the rate the stub sees).
pub async fn notify(app: &App, n: u64) -> anyhow::Result<()> {
    let stub = SmsStub::start().await?;
    let scratch = Scratch::new(app)?;
    let unlimited = notify_app(&scratch, app, &stub.base_url, 0, "unlimited.db").await?;
    seed_updates(&unlimited, n).await?;
    let dispatcher = crate::adapters::dispatcher::Dispatcher::new(&unlimited)?;
    let started = Instant::now();
    let mut sent = 0;
    loop {
        let round = dispatcher.run_once(&unlimited).await?;
        if round.claimed == 0 {
            break;
        }
        sent += round.sent;
    }
    let elapsed = started.elapsed();
    outln!(
        "notify, no rate limit: {sent} messages in {elapsed:.2?} = {:.0} messages/s (stub received {})",
        sent as f64 / elapsed.as_secs_f64(),
        stub.arrivals().len()
    )?;

    let stub = SmsStub::start().await?;
    let limited = notify_app(&scratch, app, &stub.base_url, 20, "limited.db").await?;
    let m = 100;
    seed_updates(&limited, m).await?;
    let dispatcher = crate::adapters::dispatcher::Dispatcher::new(&limited)?;
    while dispatcher.run_once(&limited).await?.claimed > 0 {}
    let arrivals = stub.arrivals();
    anyhow::ensure!(
        arrivals.len() as u64 == m,
        "stub saw {} of {m}",
        arrivals.len()
    );
    let span = arrivals[arrivals.len() - 1] - arrivals[0];
    let rate = (arrivals.len() - 1) as f64 / span.as_secs_f64();
    outln!(
        "notify, sms.per_second = 20: {m} messages, measured {rate:.2} messages/s ({:+.1}% from 20)",
        (rate / 20.0 - 1.0) * 100.0
    )?;
    Ok(())
}

async fn notify_app(
    scratch: &Scratch,
    app: &App,
    base_url: &str,
    per_second: u32,
    file: &str,
) -> anyhow::Result<App> {
    let mut settings = (*app.settings).clone();
    settings.database.path = scratch.dir.join(file);
    settings.sms.base_url = base_url.to_string();
    settings.sms.from = Some("+15005550006".into());
    settings.sms.messaging_service_sid = None;
    settings.sms.per_second = per_second;
    settings.notify.quiet_hours = None;
    settings.notify.coalesce = Duration::ZERO;
    settings.notify.batch_size = 500;
    settings.secrets.twilio_account_sid = Some("AC00000000000000000000000000000000".into());
    settings.secrets.twilio_auth_token = Some(secrecy::SecretString::from("bench".to_string()));
    settings.secrets.twilio_api_key = None;
    settings.http.public_url = None;
    let store = store::Store::open(&settings.database).await?;
    Ok(App::new(
        store,
        std::sync::Arc::new(settings),
        crate::app::Clock::System,
    ))
}

/// `n` SMS customers, each with one backorder and one queued "on its way" update.
async fn seed_updates(app: &App, n: u64) -> anyhow::Result<()> {
    let mut tx = app.store.begin_write().await?;
    store::notify::seed_bench_updates(&mut tx, n as i64, chrono::Utc::now()).await?;
    tx.commit().await?;
    Ok(())
}

/// A Twilio-compatible Messages endpoint on 127.0.0.1 that accepts everything and notes when.
struct SmsStub {
    base_url: String,
    arrivals: std::sync::Arc<std::sync::Mutex<Vec<Instant>>>,
}

impl SmsStub {
    async fn start() -> anyhow::Result<Self> {
        use axum::routing::post;
        let arrivals = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = arrivals.clone();
        let router = axum::Router::new().route(
            "/2010-04-01/Accounts/{sid}/Messages.json",
            post(move || {
                let seen = seen.clone();
                async move {
                    let n = {
                        let mut a = seen.lock().expect("stub lock");
                        a.push(Instant::now());
                        a.len()
                    };
                    (
                        axum::http::StatusCode::CREATED,
                        [("content-type", "application/json")],
                        format!(r#"{{"sid": "SM{n:032x}", "status": "queued"}}"#),
                    )
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Ok(Self {
            base_url: format!("http://{addr}"),
            arrivals,
        })
    }

    fn arrivals(&self) -> Vec<Instant> {
        self.arrivals.lock().expect("stub lock").clone()
    }
}

/// CPU time (user + sys) of this process and of its waited-for children, from `/proc/self/stat`
/// (zero where that is unavailable). On a loaded machine it says more than wall time.
fn cpu_time() -> (Duration, Duration) {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return (Duration::ZERO, Duration::ZERO);
    };
    let fields: Vec<u64> = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .unwrap_or("")
        .split_whitespace()
        .map(|f| f.parse().unwrap_or(0))
        .collect();
    // After the name: state is fields[0]; utime, stime, cutime, cstime are fields[11..15].
    let tick = |n: u64| Duration::from_millis(n * 10);
    let get = |i: usize| fields.get(i).copied().unwrap_or(0);
    (tick(get(11) + get(12)), tick(get(13) + get(14)))
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
    let path = &app.settings.database.path;
    let run = |script: &str| -> Option<Duration> {
        let t = Instant::now();
        let mut child = std::process::Command::new("sqlite3")
            .arg(path)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .spawn()
            .ok()?;
        child.stdin.take()?.write_all(script.as_bytes()).ok()?;
        child.wait().ok()?;
        Some(t.elapsed())
    };
    let script = format!(".output /dev/null\n{}\n", groups.join("\n"));
    let empty = run(".output /dev/null\nSELECT 1;\n")?;
    let full = run(&script)?;
    Some(full.saturating_sub(empty) / groups.len().max(1) as u32)
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
        let inv = make(Rng(seed ^ (i + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15)).next());
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
    let trigrams = crate::app::search::read_trigram_counts(app).await?;
    outln!(
        "  trigram counts read from the index vocabularies (as the service does at start): {trigrams} trigrams in {:.0?}",
        t.elapsed()
    )?;
    Ok(())
}

/// `/search` through the command layer from 8 clients, by kind of query, beside the sqlite3 CLI
/// running the candidate statements of the store.
pub async fn search(app: &App, n: u64) -> anyhow::Result<()> {
    let count = synthetic_count(app).await?;
    outln!("/search through the command layer, {CLIENTS} concurrent clients, {count} products; each kind timed after {} untimed requests", n / WARM_UP_SHARE)?;
    read_trigram_counts(app).await?;
    let kinds: [(&str, Query); 5] = [
        ("hit: name words (product 4321)", |r, c| {
            format!("product {}", 1 + r % c)
        }),
        ("hit: SKU prefix (SYN-00123)", |r, c| {
            format!("SYN-{:05}", (r % c) / 100)
        }),
        ("hit: substring (thetic 98 blu)", |r, _| {
            format!("thetic {} blu", r % 1000)
        }),
        ("no match (zzzz)", |_, _| "zzzz".to_string()),
        ("typo, did you mean (prodcut 4321)", |r, c| {
            format!(
                "{} {}",
                ["prodcut", "synthetci", "prodcuct"][(r % 3) as usize],
                1 + r % c
            )
        }),
    ];
    for (i, (label, make)) in kinds.into_iter().enumerate() {
        let times = commands_timed(app, n, 0x5EA2 + i as u64, move |r| {
            Invocation::new("search", None, &[("query", &make(r, count))])
        })
        .await?;
        print_times(label, &times)?;
    }
    let mut conn = app.store.conn().await?;
    let counts = app.store.trigram_counts();
    let mut hit: Vec<String> = Vec::new();
    for i in 0..100u64 {
        let query = format!("product {}", 1 + i * 7919 % count);
        hit.extend(reference::word_search(&mut conn, counts, &query, CANDIDATES).await?);
    }
    sqlite3_line("hit: name words (product N)", app, &hit)?;
    let zzzz = reference::word_search(&mut conn, counts, "zzzz", CANDIDATES)
        .await?
        .unwrap_or_default();
    let none = vec![
        format!(
            "{}\n{zzzz}",
            reference::hits_by_sku_prefix("ZZZZ", CANDIDATES),
        );
        20
    ];
    sqlite3_line("no match (zzzz), words and SKU prefix", app, &none)?;
    let like = vec![reference::name_scan("zzzz"); 3];
    sqlite3_line(
        "no match by LIKE scan (what the index replaces)",
        app,
        &like,
    )?;
    Ok(())
}

/// Autocomplete as Discord asks for it (SKU, customer, backorder, PO), from 8 clients.
pub async fn autocomplete(app: &App, n: u64) -> anyhow::Result<()> {
    use commands::Suggest;
    let count = synthetic_count(app).await?;
    outln!(
        "autocomplete through commands::suggest, {CLIENTS} concurrent clients, {count} products; each kind timed after {} untimed requests",
        n / WARM_UP_SHARE
    )?;
    read_trigram_counts(app).await?;
    let kinds: [(&str, Suggest, Query); 8] = [
        ("SKU by SKU prefix (SYN-0012)", Suggest::Sku, |r, c| {
            format!("SYN-{:04}", (r % c) / 1000)
        }),
        ("SKU by name (product 77)", Suggest::Sku, |r, _| {
            format!("product {}", r % 1000)
        }),
        ("SKU by name word (blue)", Suggest::Sku, |_, _| {
            "blue".to_string()
        }),
        ("customer by id (SYN-C12)", Suggest::Customer, |r, _| {
            format!("SYN-C{}", r % 500)
        }),
        (
            "customer by name (customer 33)",
            Suggest::Customer,
            |r, _| format!("customer {}", r % 5000),
        ),
        ("backorder by id (123)", Suggest::Backorder, |r, _| {
            format!("{}", 1 + r % 20000)
        }),
        (
            "backorder by product (product 550)",
            Suggest::Backorder,
            |r, _| format!("product {}0", r % 10000),
        ),
        ("PO by number (PO-SYN-12)", Suggest::Po, |r, _| {
            format!("PO-SYN-{}", r % 1000)
        }),
    ];
    for (i, (label, kind, make)) in kinds.into_iter().enumerate() {
        let app2 = app.clone();
        let times = concurrent(n, move |r| {
            let app = app2.clone();
            let q = make(
                Rng((0xA076 + i as u64) ^ (r + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15)).next(),
                count,
            );
            async move {
                commands::suggest(&app, kind, &q).await;
                Ok(())
            }
        })
        .await?;
        print_times(label, &times)?;
    }
    let prefix: Vec<String> = (0..200u64)
        .map(|i| reference::hits_by_sku_prefix(&format!("SYN-{:04}", i * 7), CANDIDATES))
        .collect();
    sqlite3_line("SKU by SKU prefix", app, &prefix)?;
    let mut conn = app.store.conn().await?;
    let mut name: Vec<String> = Vec::new();
    for i in 0..200u64 {
        let query = format!("product {}", i * 7 % 1000);
        name.extend(
            reference::word_search(&mut conn, app.store.trigram_counts(), &query, CANDIDATES)
                .await?,
        );
    }
    sqlite3_line("SKU by name (product N)", app, &name)?;
    Ok(())
}

/// `/backorders` (every order, page 1 and a deep page ~19,000 by its key, and `page:` typed),
/// `/pos` and `/customer`, through the command layer from 8 clients, beside the sqlite3 CLI
/// running the same statements; and the query plan of each order.
pub async fn lists(app: &App, n: u64) -> anyhow::Result<()> {
    use crate::domain::page::Seek;
    use crate::domain::BackorderStatus;
    use crate::store::backorders::{Filter, ListOrder};
    synthetic_count(app).await?;
    let size = i64::from(app.settings.console.page_size);
    let mut conn = app.store.conn().await?;
    let open = Filter {
        status: Some(BackorderStatus::Open),
        ..Filter::default()
    };
    let total = store::keyset::count(
        &mut conn,
        &store::backorders::source(&open, ListOrder::Priority),
    )
    .await?;
    let last = ((total + size - 1) / size).max(1);
    let deep = last.clamp(1, 19_000);
    outln!(
        "lists through the command layer, {CLIENTS} concurrent clients, page size {size}; {total} open backorders ({last} pages), deep page {deep}; each kind timed after a quarter as many untimed requests"
    )?;
    // The key a Next button on page deep - 1 carries (its last row's).
    let key_before_page =
        |keyed: &store::keyset::Keyed| keyed.last_key().map(|k| k.encode()).unwrap_or_default();
    let rows_sql = reference::BACKORDER_ROWS;
    for (sort, order) in [
        ("priority", ListOrder::Priority),
        ("age", ListOrder::Age),
        ("eta", ListOrder::Eta),
        ("value", ListOrder::Value),
    ] {
        let src = store::backorders::source(&open, order);
        let plan = store::keyset::explain(&mut conn, &src, &Seek::First).await?;
        outln!("  sort:{sort} plan: {}", plan.join(" / "))?;
        let prior =
            store::keyset::page(&mut conn, &src, &Seek::Skip((deep - 2).max(0) * size), size)
                .await?;
        let key = key_before_page(&prior);
        let page1 = commands_timed(app, n, 1, move |_| {
            Invocation::new("backorders", None, &[("sort", sort)])
        })
        .await?;
        print_times(&format!("/backorders sort:{sort} page 1"), &page1)?;
        let k2 = key.clone();
        let keyed = commands_timed(app, n, 2, move |_| {
            Invocation::new(
                "backorders",
                None,
                &[("sort", sort), ("after", &k2), ("page", &deep.to_string())],
            )
        })
        .await?;
        print_times(
            &format!("/backorders sort:{sort} page {deep} (Next key)"),
            &keyed,
        )?;
        let first = reference::page_statements(
            reference::BACKORDER_COUNT,
            &src,
            &Seek::First,
            size,
            rows_sql,
        );
        sqlite3_line(
            &format!("/backorders sort:{sort} page 1"),
            app,
            &vec![first; 20],
        )?;
        let seek =
            Seek::After(crate::domain::page::PageKey::parse(&key).map_err(|e| anyhow::anyhow!(e))?);
        let deep_sql =
            reference::page_statements(reference::BACKORDER_COUNT, &src, &seek, size, rows_sql);
        sqlite3_line(
            &format!("/backorders sort:{sort} page {deep} (Next key)"),
            app,
            &vec![deep_sql; 20],
        )?;
    }
    // Typed pages: the first one deep into the list takes its landmarks on the way, the
    // others start from the landmark before their row.
    let started = Instant::now();
    let inv = Invocation::new("backorders", None, &[("page", &deep.to_string())]);
    let (reply, outcome) = commands::run(app, &Actor::operator("bench"), &inv).await;
    anyhow::ensure!(outcome == Outcome::Ok, "{}", reply.to_text());
    outln!(
        "  /backorders page:{deep} typed, first since start (takes {} landmarks): {:.1?}",
        (deep - 1) * size / app.store.landmarks().every(),
        started.elapsed()
    )?;
    let typed = commands_timed(app, n, 3, move |r| {
        Invocation::new(
            "backorders",
            None,
            &[("page", &(1 + r % deep as u64).to_string())],
        )
    })
    .await?;
    print_times(
        &format!("/backorders page:N typed, N in 1..={deep}"),
        &typed,
    )?;
    let src = store::backorders::source(&open, ListOrder::Priority);
    let skip = reference::page_statements(
        reference::BACKORDER_COUNT,
        &src,
        &Seek::Skip((deep - 1) * size),
        size,
        rows_sql,
    );
    sqlite3_line(
        &format!("/backorders page:{deep} by OFFSET"),
        app,
        &vec![skip; 10],
    )?;

    // A SKU's queue: the product with most open backorders.
    let (sku, queue) = store::bulk::busiest_sku(&mut conn).await?;
    let s2 = sku.clone();
    let times = commands_timed(app, n, 4, move |_| {
        Invocation::new("backorders", None, &[("sku", &s2)])
    })
    .await?;
    print_times(&format!("/backorders sku:{sku} ({queue} open)"), &times)?;

    // /pos: page 1 and a deep page by key.
    let pos_src = store::purchasing::pos_source(
        &store::purchasing::PoFilter {
            statuses: crate::domain::PoStatus::ALL
                .into_iter()
                .filter(|s| s.expects_more())
                .collect(),
            ..Default::default()
        },
        app.clock.today(),
    );
    let pos_total = store::keyset::count(&mut conn, &pos_src).await?;
    let pos_deep = ((pos_total + size - 1) / size).clamp(1, 9_000);
    outln!(
        "  /pos plan: {}",
        store::keyset::explain(&mut conn, &pos_src, &Seek::First)
            .await?
            .join(" / ")
    )?;
    let prior = store::keyset::page(
        &mut conn,
        &pos_src,
        &Seek::Skip((pos_deep - 2).max(0) * size),
        size,
    )
    .await?;
    let pos_key = key_before_page(&prior);
    let times = commands_timed(app, n, 5, |_| Invocation::new("pos", None, &[])).await?;
    print_times(&format!("/pos page 1 ({pos_total} POs)"), &times)?;
    let k2 = pos_key.clone();
    let times = commands_timed(app, n, 6, move |_| {
        Invocation::new(
            "pos",
            None,
            &[("after", &k2), ("page", &pos_deep.to_string())],
        )
    })
    .await?;
    print_times(&format!("/pos page {pos_deep} (Next key)"), &times)?;
    let po_rows = reference::PO_ROWS;
    sqlite3_line(
        "/pos page 1",
        app,
        &vec![
            reference::page_statements(reference::PO_COUNT, &pos_src, &Seek::First, size, po_rows);
            20
        ],
    )?;
    let seek =
        Seek::After(crate::domain::page::PageKey::parse(&pos_key).map_err(|e| anyhow::anyhow!(e))?);
    sqlite3_line(
        &format!("/pos page {pos_deep} (Next key)"),
        app,
        &vec![reference::page_statements(reference::PO_COUNT, &pos_src, &seek, size, po_rows); 20],
    )?;

    // /customer: the customer with most open backorders.
    let (customer, many) = store::bulk::busiest_customer(&mut conn).await?;
    drop(conn);
    let c2 = customer.clone();
    let times = commands_timed(app, n, 7, move |_| {
        Invocation::new("customer", None, &[("id", &c2)])
    })
    .await?;
    print_times(&format!("/customer id:{customer} ({many} open)"), &times)?;
    Ok(())
}

/// Sizes by the sqlite3 CLI's `dbstat`: the whole database, the trigram search indexes
/// (migration 0009) and the list indexes, so "before the index" is the total less them.
pub fn index_sizes(app: &App) -> anyhow::Result<()> {
    let path = &app.settings.database.path;
    let out = std::process::Command::new("sqlite3")
        .arg(path)
        .arg(reference::INDEX_SIZES)
        .output();
    match out {
        Ok(o) if o.status.success() => {
            let text = String::from_utf8_lossy(&o.stdout);
            let parts: Vec<u64> = text
                .trim()
                .split('|')
                .filter_map(|p| p.parse().ok())
                .collect();
            if let [fts, lists, total] = parts[..] {
                let mb = |b: u64| b as f64 / 1_048_576.0;
                outln!(
                    "database {:.1} MB: trigram search indexes {:.1} MB (without them {:.1} MB); backorder and PO list indexes {:.1} MB",
                    mb(total),
                    mb(fts),
                    mb(total - fts),
                    mb(lists)
                )?;
            }
        }
        _ => outln!("sqlite3 CLI without dbstat: no size figures")?,
    }
    Ok(())
}

/// `bench spike --n ORDERS`: a SKU goes viral. A fresh database holds one product with no stock,
/// two inbound POs and customers of every tier; `n` one-line orders for it (1–3 units, prices
/// varying, so gold and VIP orders jump ahead of waiting ones) go through the HTTP ingest API
/// from [`CLIENTS`] concurrent keep-alive clients, each with an `Idempotency-Key`. Prints
/// orders/s, p50/p99 per order at queue lengths 1k, 10k and `n`, checks every promise against a
/// plan of the whole queue, and times the `sqlite3` CLI writing the same rows in one
/// transaction as the floor.
pub async fn spike(app: &App, n: u64) -> anyhow::Result<()> {
    use crate::app::import::{import, ImportKind};
    use crate::app::Actor;
    let scratch = Scratch::new(app)?;
    let mut settings = (*app.settings).clone();
    settings.database.path = scratch.dir.join("spike.db");
    settings.secrets.ingest_api_token = Some(secrecy::SecretString::from("spike".to_string()));
    settings.notify.enabled = false;
    let store = store::Store::open(&settings.database).await?;
    store.sync_priority_weights(&settings.priority).await?;
    let spike_app = App::new(store, std::sync::Arc::new(settings), app.clock.clone());
    let ops = Actor::operator("bench");
    let today = spike_app.clock.now().date_naive();
    let customers = 2_000u64;
    let mut csv = String::from("id,name,email,tier,channel\n");
    for i in 0..customers {
        // 5% vip, 15% gold, 25% silver, the rest standard.
        let tier = match i % 20 {
            0 => "vip",
            1..=3 => "gold",
            4..=8 => "silver",
            _ => "standard",
        };
        csv.push_str(&format!(
            "SC-{i},Spike customer {i},spike{i}@example.com,{tier},email\n"
        ));
    }
    let load = |kind, text: String| {
        import(
            &spike_app,
            &ops,
            kind,
            std::io::Cursor::new(text.into_bytes()),
        )
    };
    load(
        ImportKind::Suppliers,
        "code,name,lead_time_days\nSPIKE,Spike supplier,21\n".into(),
    )
    .await?;
    load(
        ImportKind::Products,
        "sku,name,unit_price,on_hand,supplier\nVIRAL-1,Viral gadget,25.00,0,SPIKE\n".into(),
    )
    .await?;
    load(ImportKind::Customers, csv).await?;
    let third = (n / 3).max(1);
    load(
        ImportKind::PurchaseOrders,
        format!(
            "po,supplier,sku,qty,eta,status\nPO-S1,SPIKE,VIRAL-1,{third},{},open\nPO-S2,SPIKE,VIRAL-1,{third},{},open\n",
            today + chrono::Days::new(7),
            today + chrono::Days::new(14)
        ),
    )
    .await?;
    let floor_db = scratch.dir.join("floor.db");
    spike_app.store.backup(&floor_db).await?;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}/api/v1/orders", listener.local_addr()?);
    let router = crate::adapters::http::router(spike_app.clone());
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    let order = move |i: u64| {
        let (qty, price) = spike_line(i);
        serde_json::json!({
            "order": format!("S-{i}"),
            "customer": format!("SC-{}", spike_customer(i, customers)),
            "lines": [{"sku": "VIRAL-1", "qty": qty, "unit_price_minor": price}],
        })
        .to_string()
    };
    outln!(
        "spike: {n} orders for VIRAL-1 (no stock; POs of {third} and {third} units) from {CLIENTS} HTTP clients"
    )?;
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for c in 0..CLIENTS {
        let base = base.clone();
        tasks.spawn(async move {
            let client = reqwest::Client::new();
            let mut times = Vec::new();
            let mut i = c;
            while i < n {
                let t = Instant::now();
                let resp = client
                    .post(&base)
                    .bearer_auth("spike")
                    .header("idempotency-key", format!("spike-{i}"))
                    .header("content-type", "application/json")
                    .body(order(i))
                    .send()
                    .await?;
                let status = resp.status();
                let body = resp.text().await?;
                anyhow::ensure!(status.as_u16() == 201, "order {i}: {status} {body}");
                times.push((i, t.elapsed()));
                i += CLIENTS;
            }
            anyhow::Ok(times)
        });
    }
    let mut all: Vec<(u64, Duration)> = Vec::with_capacity(n as usize);
    while let Some(r) = tasks.join_next().await {
        all.extend(r??);
    }
    let elapsed = started.elapsed();
    server.abort();
    outln!(
        "  {n} orders in {elapsed:.2?} = {:.0} orders/s ({} joined the kept queue)",
        n as f64 / elapsed.as_secs_f64(),
        spike_app.queues.joins()
    )?;
    // Orders go out in number order, so order i meets a queue of about i backorders.
    let mut marks: Vec<u64> = [1_000, 10_000].into_iter().filter(|&m| m < n).collect();
    marks.push(n);
    let mut p99s = Vec::new();
    for m in marks {
        let mut window: Vec<Duration> = all
            .iter()
            .filter(|(i, _)| *i < m && *i + 1_000 >= m)
            .map(|(_, d)| *d)
            .collect();
        window.sort();
        print_times(&format!("queue {}..{m}", m.saturating_sub(1_000)), &window)?;
        p99s.push(percentile(&window, 0.99));
    }
    if let (Some(first), Some(last)) = (p99s.first(), p99s.last()) {
        outln!(
            "  p99 at {n} / p99 at the first mark: {:.2}",
            last.as_secs_f64() / first.as_secs_f64().max(1e-9)
        )?;
    }
    // Every promise as a plan of the whole queue gives it now.
    let mut tx = spike_app.store.begin_write().await?;
    let product = spike_app.product(&mut tx, "VIRAL-1").await?;
    let open = crate::app::promise::ranked_queue(&spike_app, &mut tx, product.id)
        .await?
        .len();
    let check = crate::app::promise::settle(
        &spike_app,
        &mut tx,
        &[product.id],
        crate::app::promise::Cause::BackorderCreated,
        "bench",
        "check",
        true,
    )
    .await?;
    tx.rollback().await?;
    outln!(
        "  promises checked against a plan of the whole queue: {open} open backorders, {} would move, {} units would be allocated",
        check.moved.len(),
        check.units_allocated
    )?;
    anyhow::ensure!(
        check.moved.is_empty() && check.units_allocated == 0,
        "promises differ from a plan of the whole queue"
    );
    spike_floor(&spike_app, &floor_db, n, customers).await
}

/// (qty, unit price) of order i of [`spike`].
fn spike_line(i: u64) -> (i64, i64) {
    (1 + (i % 3) as i64, 1500 + ((i * 31) % 2000) as i64)
}

/// The customer (number) of order i of [`spike`].
fn spike_customer(i: u64, customers: u64) -> u64 {
    (i * 7919) % customers
}

/// The `sqlite3` CLI writing the spike's rows in one transaction on a copy of the database as
/// it stood before the spike.
async fn spike_floor(app: &App, floor_db: &Path, n: u64, customers: u64) -> anyhow::Result<()> {
    let ids = async {
        let mut conn = app.store.conn().await?;
        let product = app.product(&mut conn, "VIRAL-1").await?.id.0;
        let first_customer = store::customers::by_external_id(&mut conn, "SC-0")
            .await?
            .map(|c| c.id.0)
            .unwrap_or(1);
        anyhow::Ok((product, first_customer))
    }
    .await;
    let Ok((product_id, first_customer)) = ids else {
        return outln!("  sqlite3 floor: cannot read ids");
    };
    let at = chrono::Utc::now().to_rfc3339();
    let eta = (chrono::Utc::now().date_naive() + chrono::Days::new(7)).to_string();
    let numbers: Vec<String> = (0..n).map(|i| format!("S-{i}")).collect();
    let orders: Vec<store::reference::SpikeOrder<'_>> = (0..n)
        .map(|i| {
            let (qty, price) = spike_line(i);
            store::reference::SpikeOrder {
                number: &numbers[i as usize],
                customer_id: first_customer + spike_customer(i, customers) as i64,
                product_id,
                qty,
                unit_price_minor: price,
                at: &at,
                eta: &eta,
            }
        })
        .collect();
    let script = floor_db.with_extension("sql");
    if std::fs::write(&script, store::reference::spike_orders(&orders)).is_err() {
        return outln!("  sqlite3 floor: cannot write the script");
    }
    let started = Instant::now();
    let status = std::process::Command::new("sqlite3")
        .arg(floor_db)
        .arg(format!(".read {}", script.display()))
        .stdout(std::process::Stdio::null())
        .status();
    let took = started.elapsed();
    match status {
        Ok(s) if s.success() => outln!(
            "  sqlite3 CLI, the same {n} orders' rows in one transaction: {took:.2?} = {:.0} orders/s",
            n as f64 / took.as_secs_f64()
        )?,
        _ => outln!("  sqlite3 CLI not found or failed: no floor figure")?,
    }
    Ok(())
}
