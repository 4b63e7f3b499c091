//! Stored forecasts: the refresh (`forecast --refresh`, the nightly job) stores each SKU's
//! forecast, the alerts use its rate and say so, and the job runs once per cron time with one
//! leader.

mod common;

use backorder_bot::app::forecast::refresh_all;
use backorder_bot::app::forecast_job::{run_job, ForecastScheduler, JobOutcome};
use backorder_bot::domain::alerts::{AlertLine, AlertRule, Change, Scope, Severity};
use backorder_bot::domain::schedule::Trigger;
use backorder_bot::domain::MovementKind;
use backorder_bot::store::stock::{record_movement, Movement};
use backorder_bot::store::Engine;
use chrono::{DateTime, Days, NaiveDate, Utc};
use common::{spawn_app, spawn_app_with, TestApp};

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

/// STEADY sells 2 a day for the 30 days before today (2026-11-26); SPARSE 4 every fourth day
/// from 2026-10-30 to 2026-11-23; MEAN only on the ledger, today. All from imported history
/// (which moves no stock) except MEAN.
async fn shop(t: &TestApp) {
    t.import(
        "products",
        "sku,name,category,unit_price,on_hand,reorder_point,safety_stock,reorder_qty,lead_time_days,supplier,substitutes\n\
         STEADY,Steady seller,c,1.00,100,2,1,10,14,,\n\
         SPARSE,Sparse seller,c,1.00,20,2,1,10,14,,\n\
         MEAN,Till seller,c,1.00,38,2,1,10,14,,\n",
    )
    .await
    .unwrap();
    let mut csv = String::from("sku,qty,sold_at,order,customer\n");
    for d in 0..30 {
        csv.push_str(&format!(
            "STEADY,2,{},,\n",
            day("2026-10-27") + Days::new(d)
        ));
    }
    for d in (0..=24).step_by(4) {
        csv.push_str(&format!(
            "SPARSE,4,{},,\n",
            day("2026-10-30") + Days::new(d)
        ));
    }
    t.import("sales", &csv).await.unwrap();
    // 28 sold at the till today: 1 a day over the 28-day window, 10 left.
    let mut tx = t.app.store.begin_write().await.unwrap();
    let p = t.app.product(&mut tx, "MEAN").await.unwrap();
    record_movement(
        &mut tx,
        &Movement {
            product_id: p.id,
            kind: MovementKind::Sale,
            qty: -28,
            actor: "test",
            reason: "till",
            reference: None,
            at: t.app.clock.now(),
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

/// `(method, classification, rate, level, sigma, start)` of a SKU's stored forecast.
async fn stored(t: &TestApp, sku: &str) -> Option<(String, String, f64, f64, f64, String)> {
    let sql = "SELECT f.method, f.classification, f.rate, f.level, f.sigma, CAST(f.start AS TEXT)
         FROM forecasts f JOIN products p ON p.id = f.product_id WHERE p.sku = $1";
    let mut conn = t.app.store.conn().await.unwrap();
    match conn.engine() {
        Engine::Sqlite(c) => sqlx::query_as(sql).bind(sku).fetch_optional(c).await,
        Engine::Postgres(c) => sqlx::query_as(sql).bind(sku).fetch_optional(c).await,
    }
    .unwrap()
}

#[tokio::test]
async fn a_refresh_stores_each_skus_forecast_as_worked_out_by_hand() {
    let t = spawn_app().await;
    shop(&t).await;
    let report = refresh_all(&t.app, None).await.unwrap();
    assert_eq!(report.forecasts, 2, "{report:?}");
    assert!(report.writes >= 1 && report.longest_write < std::time::Duration::from_secs(1));
    // STEADY: SES on a constant 2 stays at 2, without error.
    let (method, class, rate, level, sigma, start) = stored(&t, "STEADY").await.unwrap();
    assert_eq!((method.as_str(), class.as_str()), ("ses", "smooth"));
    assert_eq!((rate, level, sigma), (2.0, 2.0, 0.0));
    assert_eq!(start, "2026-11-26");
    // SPARSE: 7 demands of 4 over 27 days (ADI 3.9, CV² 0): intermittent, Croston. The size
    // stays 4; the interval starts at 1 and moves a tenth of the way to 4 on each of the 6 later
    // demand days: p = 4 − 3 × 0.9⁶ = 2.405677; forecast 4 / p.
    let (method, class, rate, level, _, _) = stored(&t, "SPARSE").await.unwrap();
    assert_eq!(
        (method.as_str(), class.as_str()),
        ("croston", "intermittent")
    );
    let want = 4.0 / (4.0 - 3.0 * 0.9f64.powi(6));
    assert!(
        (rate - want).abs() < 1e-9 && (level - want).abs() < 1e-9,
        "{rate} vs {want}"
    );
    // MEAN sold only today, which is not over: nothing to forecast from.
    assert_eq!(stored(&t, "MEAN").await, None);
    // The alerts' copy of rate and method.
    let copies = t
        .scalar(
            "SELECT COUNT(*) FROM stock_positions sp JOIN forecasts f ON f.product_id = sp.product_id
             WHERE sp.forecast_rate = f.rate AND sp.forecast_method = f.method",
        )
        .await;
    assert_eq!(copies, 2);
    // A second refresh replaces, it does not add.
    refresh_all(&t.app, None).await.unwrap();
    assert_eq!(t.scalar("SELECT COUNT(*) FROM forecasts").await, 2);
}

fn at_risk_rule() -> AlertRule {
    AlertRule {
        name: "risk".into(),
        schedule: backorder_bot::domain::schedule::CronSchedule::parse("0 7 * * *").unwrap(),
        timezone: chrono_tz::UTC,
        channel_id: 1,
        scope: Scope::default(),
        min_severity: Severity::AtRisk,
        repeat_interval: chrono::Duration::hours(24),
        resolve_margin: 0.1,
    }
}

/// The line a run would post for each firing SKU, by SKU.
async fn lines(t: &TestApp) -> Vec<(String, String)> {
    let e = backorder_bot::app::alerts::evaluate(&t.app, &at_risk_rule())
        .await
        .unwrap();
    e.findings
        .into_iter()
        .map(|f| {
            let line = AlertLine {
                change: Change::New,
                severity: f.severity.unwrap(),
                figures: f.figures,
            };
            (line.figures.sku.clone(), line.text())
        })
        .collect()
}

#[tokio::test]
async fn the_alerts_use_the_stored_forecast_and_say_which_rate_they_used() {
    let t = spawn_app().await;
    shop(&t).await;
    // Before any forecast: SPARSE has no till sales (its history is imported), so no rate and
    // no risk; MEAN's 10 left at 1 a day last 10 days, under its 14-day lead time.
    let before = lines(&t).await;
    assert_eq!(before.len(), 1, "{before:?}");
    assert_eq!(before[0].0, "MEAN");
    assert!(
        before[0]
            .1
            .contains("cover 10.0d · 28-day mean · suggested order 2 [new]"),
        "{}",
        before[0].1
    );
    refresh_all(&t.app, None).await.unwrap();
    let after = lines(&t).await;
    let skus: Vec<&str> = after.iter().map(|l| l.0.as_str()).collect();
    assert_eq!(skus, ["MEAN", "SPARSE"], "{after:?}");
    // SPARSE at 1.663 a day: 20 last 12.0 days, under 14: AT RISK. The suggested order counts
    // the lead time's forecast demand, ⌈1.663 × 14⌉ = 24, as the reorder point: 24 + 10 − 20.
    let sparse = &after[1].1;
    assert!(sparse.starts_with("🟡 AT RISK SPARSE"), "{sparse}");
    assert!(
        sparse.contains("cover 12.0d · forecast: croston · suggested order 14 [new]"),
        "{sparse}"
    );
    // MEAN has no forecast (nothing before today) and keeps the mean.
    assert!(after[0].1.contains("· 28-day mean ·"), "{}", after[0].1);
    // STEADY's 100 last 50 days at 2 a day: not at risk under its forecast either.
    assert!(!skus.contains(&"STEADY"));
}

#[tokio::test]
async fn the_nightly_refresh_runs_once_per_cron_time_with_one_leader() {
    let t = spawn_app_with(&[("BACKORDER_BOT__FORECAST__SCHEDULE", "0 3 * * *")]).await;
    shop(&t).await;
    let mut a = ForecastScheduler::new(&t.app);
    let mut b = ForecastScheduler::new(&t.app);
    // 2026-11-26 12:00 UTC: today's 03:00 passed before the process started.
    let pass = a.tick(&t.app, None).await.unwrap();
    assert!(pass.leader && pass.ran.is_none(), "{pass:?}");
    assert!(pass.wait <= std::time::Duration::from_secs(30));
    t.app.clock.set(at("2026-11-27T03:00:05Z"));
    let pa = a.tick(&t.app, None).await.unwrap();
    let pb = b.tick(&t.app, None).await.unwrap();
    assert!(pa.leader && !pb.leader);
    assert_eq!(
        pa.ran,
        Some((at("2026-11-27T03:00:00Z"), Trigger::Schedule))
    );
    assert_eq!(pb.ran, None);
    t.app.clock.set(at("2026-11-27T03:00:40Z"));
    assert_eq!(a.tick(&t.app, None).await.unwrap().ran, None);
    assert_eq!(t.scalar("SELECT COUNT(*) FROM forecast_runs").await, 1);
    // A day on, MEAN's sales of the 26th are history too: three SKUs.
    assert_eq!(
        t.scalar("SELECT skus FROM forecast_runs WHERE status = 'done'")
            .await,
        3
    );
    // Forecast from the run's day: the 27th.
    assert_eq!(stored(&t, "STEADY").await.unwrap().5, "2026-11-27");
    // The leader dies without renewing; once its lease runs out the other takes over and runs
    // the next night, once.
    t.app.clock.set(at("2026-11-28T03:00:02Z"));
    let pb = b.tick(&t.app, None).await.unwrap();
    assert!(pb.leader);
    assert_eq!(
        pb.ran,
        Some((at("2026-11-28T03:00:00Z"), Trigger::Schedule))
    );
    assert_eq!(t.scalar("SELECT COUNT(*) FROM forecast_runs").await, 2);
    // Both runs are counted for `GET /metrics`.
    let text = t.app.metrics.encode(&Default::default(), "EUR");
    assert!(
        text.contains("backorderbot_forecast_runs_total{outcome=\"done\"} 2"),
        "{text}"
    );
}

#[tokio::test]
async fn racing_refreshes_of_one_cron_time_run_it_once() {
    let t = spawn_app().await;
    shop(&t).await;
    let cron_time = Some(at("2026-11-26T03:00:00Z"));
    let outcomes = futures::future::join_all(
        (0..4).map(|_| run_job(&t.app, Trigger::Schedule, cron_time, None)),
    )
    .await;
    let done = outcomes
        .iter()
        .filter(|o| matches!(o, Ok(JobOutcome::Done { .. })))
        .count();
    assert_eq!(done, 1, "{outcomes:?}");
    assert!(
        outcomes
            .iter()
            .all(|o| matches!(o, Ok(JobOutcome::Done { .. } | JobOutcome::Skipped(_)))),
        "{outcomes:?}"
    );
    assert_eq!(t.scalar("SELECT COUNT(*) FROM forecast_runs").await, 1);
}

#[tokio::test]
async fn an_empty_schedule_turns_the_job_off() {
    let t = spawn_app_with(&[("BACKORDER_BOT__FORECAST__SCHEDULE", "")]).await;
    assert!(t.app.settings.forecast.schedule.is_none());
    let mut s = ForecastScheduler::new(&t.app);
    t.app.clock.set(at("2026-11-27T03:00:05Z"));
    let pass = s.tick(&t.app, None).await.unwrap();
    assert!(!pass.leader && pass.ran.is_none());
    assert_eq!(t.scalar("SELECT COUNT(*) FROM forecast_runs").await, 0);
}
