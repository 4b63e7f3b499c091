//! `bench alerts`: alert rules evaluated over the whole shop, and `check` as a user runs it,
//! beside the `sqlite3` CLI running the same statement.

use super::proc_self::{cpu_time, memory};
use super::stats::percentile;
use anyhow::Context;
use backorder_bot::app::App;
use backorder_bot::store;
use backorder_bot::{out, outln};
use std::io::Write;
use std::time::{Duration, Instant};

/// Evaluates alert rules over the whole shop (`n` timed runs each, at most 10): a `low` rule and
/// an `at_risk` rule, each run followed by the `sqlite3` CLI running the very statement the bot
/// runs for it (same text, parameters written in, same page cache size, rows written to /dev/null),
/// so both are measured side by side under the same load; then `check` and `check --json` of
/// each rule as a user runs them, output included, beside that sqlite3 figure. Then the issue's
/// own reference, the projected-stock count over the raw tables, once.
pub async fn alerts(app: &App, n: u64) -> anyhow::Result<()> {
    use backorder_bot::domain::alerts::{AlertRule, Scope, Severity, SALES_WINDOW_DAYS};
    use store::alerts::{Candidates, SalesWindow};
    let mut conn = app.store.conn().await?;
    let products = store::products::count(&mut conn).await?;
    drop(conn);
    anyhow::ensure!(
        products > 0,
        "no products: run `backorder-bot demo-data --skus N` on this database first"
    );
    let schedule = backorder_bot::domain::schedule::CronSchedule::parse("0 7 * * *")
        .map_err(anyhow::Error::msg)?;
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
        let c = cpu_time().unwrap_or_default().children;
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
            cpu_time().unwrap_or_default().children.saturating_sub(c),
            String::from_utf8_lossy(&out.stdout).trim().to_string(),
        ))
    };
    let startup = sqlite3("SELECT 1;\n").map(|r| r.0).unwrap_or_default();
    if sqlite3("SELECT 1;\n").is_none() {
        outln!("sqlite3 CLI not found: no side-by-side figures (install sqlite3 to get them)")?;
    }
    let runs = n.clamp(1, 10);
    outln!("RSS before the first evaluation: {}", memory("VmRSS:"))?;
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
            let c = cpu_time().unwrap_or_default().own;
            backorder_bot::memory::release_freed();
            let e = backorder_bot::app::alerts::evaluate(app, &r)
                .await
                .context("evaluating the alert rule failed")?;
            walls.push(t.elapsed());
            cpus.push(cpu_time().unwrap_or_default().own.saturating_sub(c));
            found = (e.evaluated, e.findings.len());
            let rss_with_findings = memory("VmRSS:");
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
        outln!("  peak RSS of this process so far: {}", memory("VmHWM:"))?;
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
        memory("VmHWM:")
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
    rule: &backorder_bot::domain::alerts::AlertRule,
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
            backorder_bot::adapters::check::report(
                app,
                std::slice::from_ref(rule),
                as_json,
                &mut out,
            )
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
