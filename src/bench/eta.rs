//! `bench eta`: one ETA change that moves many backorders' promises.

use backorder_bot::app::{Actor, App};
use backorder_bot::commands::{self, Invocation, Outcome};
use backorder_bot::outln;
use backorder_bot::store;
use std::time::Instant;

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
