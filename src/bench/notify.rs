//! `bench notify`: customer updates through the real dispatcher and SMS client.

use super::Scratch;
#[path = "../../tests/support/mock_twilio.rs"]
mod mock_twilio;
use backorder_bot::app::App;
use backorder_bot::outln;
use backorder_bot::store;
use mock_twilio::MockTwilio;
use std::time::{Duration, Instant};

/// Customer-update delivery through the real dispatcher and SMS client to a Twilio-compatible
/// stub on 127.0.0.1: `n` messages with no rate limit (messages per second end to end: claim,
/// render, send, record), then 100 with `sms.per_second = 20` (the rate the stub sees).
pub async fn notify(app: &App, n: u64) -> anyhow::Result<()> {
    let stub = MockTwilio::start().await;
    let scratch = Scratch::new(app)?;
    let unlimited = notify_app(&scratch, app, &stub.base_url, 0, "unlimited.db").await?;
    seed_updates(&unlimited, n).await?;
    let dispatcher = backorder_bot::adapters::dispatcher::Dispatcher::new(&unlimited)?;
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
        stub.count()
    )?;

    let stub = MockTwilio::start().await;
    let limited = notify_app(&scratch, app, &stub.base_url, 20, "limited.db").await?;
    let m = 100;
    seed_updates(&limited, m).await?;
    let dispatcher = backorder_bot::adapters::dispatcher::Dispatcher::new(&limited)?;
    while dispatcher.run_once(&limited).await?.claimed > 0 {}
    let arrivals: Vec<Instant> = stub.received().iter().map(|r| r.at).collect();
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
        backorder_bot::app::Clock::System,
    ))
}

/// `n` SMS customers, each with one backorder and one queued "on its way" update.
async fn seed_updates(app: &App, n: u64) -> anyhow::Result<()> {
    let mut tx = app.store.begin_write().await?;
    store::notify::seed_bench_updates(&mut tx, n as i64, chrono::Utc::now()).await?;
    tx.commit().await?;
    Ok(())
}
