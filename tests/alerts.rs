//! Scheduled low-stock alerts: evaluation, alert state over simulated days, the scheduler, the
//! `check` command and delivery through the durable post queue to a fake Discord.

mod common;
mod support;

use backorder_bot::adapters::discord::poster::{self, Sender};
use backorder_bot::adapters::scheduler::Scheduler;
use backorder_bot::app::alerts::{self, RunOutcome};
use backorder_bot::app::posts;
use backorder_bot::app::{Actor, Clock};
use backorder_bot::startup::Application;
use backorder_bot::store::alerts::{NotStarted, Trigger};
use backorder_bot::store::stock::{record_movement, Movement};
use chrono::{DateTime, Duration, Utc};
use common::{test_now, TestApp, NIGHTLY_RULE};
use serde_json::{json, Value};
use support::fake_discord::*;
use tokio::sync::watch;

const ALERT_CHANNEL: u64 = 1_500_000_000_000_000_001;

/// An application with alert rules from a config file, on a fresh database with a small shop.
async fn alerts_app(rules: &str, extra: &[(String, String)]) -> TestApp {
    let (built, dir) = common::build(
        Some(&format!(
            "[discord]\nalert_channel_id = {ALERT_CHANNEL}\n{rules}"
        )),
        false,
        extra,
        Clock::fixed(test_now()),
    )
    .await;
    let t = TestApp {
        app: built.app,
        dir,
    };
    t.import(
        "suppliers",
        "code,name,email,phone,lead_time_days\nACME,Acme,,,14\n",
    )
    .await
    .unwrap();
    t.import(
        "products",
        "sku,name,category,unit_price,on_hand,reorder_point,safety_stock,reorder_qty,lead_time_days,supplier,substitutes\n\
         NEAR,Inbound soon,tents,10.00,2,5,1,10,,ACME,\n\
         FAR,Inbound late,tents,10.00,2,5,1,10,,ACME,\n\
         PLENTY,Plenty,tents,10.00,100,5,1,10,,ACME,\n\
         MUG,Enamel mug,kitchen,5.00,8,5,2,10,,ACME,\n",
    )
    .await
    .unwrap();
    t.import(
        "purchase-orders",
        "po,supplier,sku,qty,eta,status\n\
         PO-1,ACME,NEAR,10,2026-12-02,open\n\
         PO-2,ACME,FAR,10,2027-01-20,open\n",
    )
    .await
    .unwrap();
    t
}

fn rule(t: &TestApp) -> backorder_bot::domain::alerts::AlertRule {
    t.app.settings.alerts.rules[0].clone()
}

async fn set_on_hand(t: &TestApp, sku: &str, qty: i64) {
    let mut tx = t.app.store.begin_write().await.unwrap();
    let p = t.app.product(&mut tx, sku).await.unwrap();
    let now_qty = backorder_bot::store::stock::position(&mut tx, p.id)
        .await
        .unwrap()
        .on_hand;
    if qty != now_qty {
        record_movement(
            &mut tx,
            &Movement {
                product_id: p.id,
                kind: backorder_bot::domain::MovementKind::Adjustment,
                qty: qty - now_qty,
                actor: "test",
                reason: "test",
                reference: None,
                at: t.app.clock.now(),
            },
        )
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
}

async fn run_now(t: &TestApp) -> Option<String> {
    match alerts::run_rule(&t.app, &rule(t), Trigger::Manual, None)
        .await
        .unwrap()
    {
        RunOutcome::Done(r) => r.message.map(|m| m.content),
        RunOutcome::Skipped(why) => panic!("skipped: {why:?}"),
    }
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

#[tokio::test]
async fn projected_stock_counts_inbound_only_within_the_supplier_lead_time() {
    let t = alerts_app(NIGHTLY_RULE, &[]).await;
    let e = alerts::evaluate(&t.app, &rule(&t)).await.unwrap();
    let skus: Vec<&str> = e.findings.iter().map(|f| f.figures.sku.as_str()).collect();
    // NEAR: 2 on hand + 10 arriving in 6 days (lead time 14) = 12 > 5. FAR's PO is 55 days out.
    assert_eq!(skus, vec!["FAR"]);
    let far = &e.findings[0].figures;
    assert_eq!(far.projected(), 2);
    assert_eq!(far.inbound_total, 10);
    assert_eq!(far.inbound_within_lead, 0);
    assert_eq!(far.suggested_order(), 13);
}

#[tokio::test]
async fn first_fire_repeat_escalation_and_resolve_over_simulated_days() {
    let t = alerts_app(NIGHTLY_RULE, &[]).await;
    let day0 = run_now(&t).await.expect("first run posts");
    assert!(day0.contains("1 LOW"), "{day0}");
    assert!(day0.contains("FAR") && day0.contains("[new]"), "{day0}");
    assert!(!day0.contains("NEAR"), "{day0}");

    // An hour later nothing changed: nothing posted.
    t.app.clock.set(test_now() + Duration::hours(1));
    assert_eq!(run_now(&t).await, None);

    // MUG falls to its reorder point: only MUG is new.
    set_on_hand(&t, "MUG", 5).await;
    let text = run_now(&t).await.expect("MUG posts");
    assert!(text.contains("MUG") && !text.contains("FAR"), "{text}");

    // A day later both repeat.
    t.app.clock.set(test_now() + Duration::hours(25));
    let text = run_now(&t).await.expect("repeat");
    assert!(
        text.contains("FAR") && text.contains("MUG") && text.contains("[still]"),
        "{text}"
    );

    // MUG drops under safety stock: escalates at once.
    t.app.clock.set(test_now() + Duration::hours(26));
    set_on_hand(&t, "MUG", 1).await;
    let text = run_now(&t).await.expect("escalation");
    assert!(
        text.contains("CRITICAL MUG") && text.contains("[worse]"),
        "{text}"
    );
    assert!(!text.contains("FAR"), "{text}");

    // Back to 5 (LOW again): no de-escalation post.
    set_on_hand(&t, "MUG", 5).await;
    assert_eq!(run_now(&t).await, None);
    assert_eq!(
        t.scalar("SELECT COUNT(*) FROM alert_states WHERE rule = 'nightly'")
            .await,
        2
    );
    // 6 > 5 × 1.1: resolved, once.
    set_on_hand(&t, "MUG", 6).await;
    let text = run_now(&t).await.expect("resolve");
    assert!(text.contains("resolved MUG"), "{text}");
    assert_eq!(run_now(&t).await, None);
    // Every run is recorded.
    assert_eq!(
        t.scalar("SELECT COUNT(*) FROM alert_runs WHERE status = 'done'")
            .await,
        8
    );
}

#[tokio::test]
async fn hysteresis_keeps_a_sku_bouncing_around_its_reorder_point_quiet() {
    let rules = NIGHTLY_RULE.replace("resolve_margin = \"10%\"", "resolve_margin = \"50%\"");
    let t = alerts_app(&rules, &[]).await;
    set_on_hand(&t, "MUG", 5).await;
    assert!(run_now(&t).await.unwrap().contains("MUG"));
    for (i, qty) in [6, 5, 7, 4, 7].into_iter().enumerate() {
        t.app.clock.set(test_now() + Duration::hours(i as i64 + 1));
        set_on_hand(&t, "MUG", qty).await;
        // FAR stays quiet too (repeat after 24h).
        assert_eq!(run_now(&t).await, None, "stock {qty}");
    }
    set_on_hand(&t, "MUG", 8).await; // 8 > 5 × 1.5
    assert!(run_now(&t).await.unwrap().contains("resolved MUG"));
}

#[tokio::test]
async fn a_snoozed_sku_stays_quiet_until_unsnoozed() {
    let t = alerts_app(NIGHTLY_RULE, &[]).await;
    let ops = Actor::operator("tester");
    alerts::snooze_sku(&t.app, &ops, "far", 7).await.unwrap();
    assert_eq!(run_now(&t).await, None);
    let viewer = Actor {
        name: "viewer".into(),
        may_change: false,
    };
    assert!(alerts::unsnooze_sku(&t.app, &viewer, "FAR").await.is_err());
    let (sku, n) = alerts::unsnooze_sku(&t.app, &ops, "FAR").await.unwrap();
    assert_eq!((sku.as_str(), n), ("FAR", 1));
    assert!(run_now(&t).await.unwrap().contains("FAR"));
}

#[tokio::test]
async fn the_snooze_button_snoozes_every_sku_of_its_message() {
    let t = alerts_app(NIGHTLY_RULE, &[]).await;
    set_on_hand(&t, "MUG", 3).await;
    let RunOutcome::Done(report) = alerts::run_rule(&t.app, &rule(&t), Trigger::Manual, None)
        .await
        .unwrap()
    else {
        panic!("skipped")
    };
    let n = alerts::snooze_run(&t.app, &Actor::operator("x"), report.run_id, 7)
        .await
        .unwrap();
    assert_eq!(n, 2);
    t.app.clock.set(test_now() + Duration::days(6));
    assert_eq!(run_now(&t).await, None, "snoozed for 7 days");
    t.app.clock.set(test_now() + Duration::days(8));
    let text = run_now(&t).await.unwrap();
    assert!(text.contains("FAR") && text.contains("MUG"), "{text}");
}

#[tokio::test]
async fn a_rule_never_runs_twice_at_once_and_a_cron_time_runs_once() {
    let t = alerts_app(NIGHTLY_RULE, &[]).await;
    let r = rule(&t);
    let mut tx = t.app.store.begin_write().await.unwrap();
    let started = backorder_bot::store::alerts::start_run(
        &mut tx,
        "nightly",
        None,
        Trigger::Manual,
        test_now(),
        test_now() - Duration::minutes(30),
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    assert!(started.is_ok());
    let second = alerts::run_rule(&t.app, &r, Trigger::Manual, None)
        .await
        .unwrap();
    assert_eq!(second, RunOutcome::Skipped(NotStarted::Running));
    // A run left behind by a dead process stops blocking after 30 minutes.
    t.app.clock.set(test_now() + Duration::minutes(31));
    let cron_time = Some(test_now());
    assert!(matches!(
        alerts::run_rule(&t.app, &r, Trigger::Schedule, cron_time)
            .await
            .unwrap(),
        RunOutcome::Done(_)
    ));
    assert_eq!(
        alerts::run_rule(&t.app, &r, Trigger::Schedule, cron_time)
            .await
            .unwrap(),
        RunOutcome::Skipped(NotStarted::AlreadyRun)
    );
    assert_eq!(
        t.scalar("SELECT COUNT(*) FROM alert_runs WHERE status = 'abandoned'")
            .await,
        1
    );
}

#[tokio::test]
async fn racing_runs_of_one_cron_time_run_it_once_and_one_racer_takes_the_lease() {
    let t = alerts_app(NIGHTLY_RULE, &[]).await;
    let r = rule(&t);
    let cron_time = Some(test_now());
    let outcomes = futures::future::join_all(
        (0..6).map(|_| alerts::run_rule(&t.app, &r, Trigger::Schedule, cron_time)),
    )
    .await;
    let outcomes: Vec<RunOutcome> = outcomes.into_iter().map(|o| o.unwrap()).collect();
    let done = outcomes
        .iter()
        .filter(|o| matches!(o, RunOutcome::Done(_)))
        .count();
    assert_eq!(done, 1, "{outcomes:?}");
    assert_eq!(t.scalar("SELECT COUNT(*) FROM alert_runs").await, 1);
    let now = test_now();
    let taken = futures::future::join_all((0..6).map(|i| {
        let store = t.app.store.clone();
        async move {
            let mut conn = store.conn().await.unwrap();
            backorder_bot::store::alerts::try_lease(
                &mut conn,
                "race",
                &format!("holder-{i}"),
                now,
                now + Duration::minutes(1),
            )
            .await
            .unwrap()
        }
    }))
    .await;
    assert_eq!(taken.iter().filter(|held| **held).count(), 1, "{taken:?}");
}

#[tokio::test]
async fn the_scheduler_runs_each_cron_time_once_in_the_rules_timezone() {
    let t = alerts_app(NIGHTLY_RULE, &[]).await;
    let mut s = Scheduler::new(&t.app);
    // 2026-11-26 12:00 UTC: today's 07:00 Berlin (06:00 UTC) passed before we started.
    let pass = s.tick(&t.app).await.unwrap();
    assert!(pass.leader);
    assert!(pass.ran.is_empty(), "{pass:?}");
    assert!(pass.wait <= std::time::Duration::from_secs(30));
    // 07:00:05 Berlin the next day.
    t.app.clock.set(at("2026-11-27T06:00:05Z"));
    let pass = s.tick(&t.app).await.unwrap();
    assert_eq!(
        pass.ran,
        vec![(
            "nightly".to_string(),
            at("2026-11-27T06:00:00Z"),
            Trigger::Schedule
        )]
    );
    t.app.clock.set(at("2026-11-27T06:00:40Z"));
    assert!(s.tick(&t.app).await.unwrap().ran.is_empty());
    assert_eq!(t.scalar("SELECT COUNT(*) FROM alert_runs").await, 1);
}

#[tokio::test]
async fn a_run_missed_while_down_is_caught_up_once_within_the_window() {
    let t = alerts_app(NIGHTLY_RULE, &[]).await;
    let mut s = Scheduler::new(&t.app);
    t.app.clock.set(at("2026-11-27T06:00:01Z"));
    assert_eq!(s.tick(&t.app).await.unwrap().ran.len(), 1);
    s.release(&t.app).await.unwrap();
    // Down over the next morning's run; back at 09:00 UTC (3h late, within 6h).
    t.app.clock.set(at("2026-11-28T09:00:00Z"));
    let mut s = Scheduler::new(&t.app);
    let pass = s.tick(&t.app).await.unwrap();
    assert_eq!(
        pass.ran,
        vec![(
            "nightly".to_string(),
            at("2026-11-28T06:00:00Z"),
            Trigger::CatchUp
        )]
    );
    assert!(s.tick(&t.app).await.unwrap().ran.is_empty());
    s.release(&t.app).await.unwrap();
    // Down again, back 10h after the cron time: too old to make up.
    t.app.clock.set(at("2026-11-29T16:00:00Z"));
    let mut s = Scheduler::new(&t.app);
    assert!(s.tick(&t.app).await.unwrap().ran.is_empty());
    assert_eq!(
        t.scalar("SELECT COUNT(*) FROM alert_runs WHERE trigger = 'catch_up'")
            .await,
        1
    );
}

#[tokio::test]
async fn shutdown_starts_no_further_rule_and_the_next_start_catches_them_up() {
    let two = format!("{NIGHTLY_RULE}\n[[alerts.rules]]\nname = \"kitchen\"\nschedule = \"0 7 * * *\"\ntimezone = \"Europe/Berlin\"\ncategories = [\"kitchen\"]\n");
    let t = alerts_app(&two, &[]).await;
    let mut s = Scheduler::new(&t.app);
    t.app.clock.set(at("2026-11-27T06:00:01Z"));
    assert_eq!(s.tick(&t.app).await.unwrap().ran.len(), 2);
    s.release(&t.app).await.unwrap();
    // The next morning both are due, but shutdown has been asked for: neither starts.
    t.app.clock.set(at("2026-11-28T06:00:01Z"));
    let (stop, shutdown) = watch::channel(false);
    stop.send(true).unwrap();
    let mut s = Scheduler::new(&t.app);
    let pass = s.tick_until(&t.app, Some(&shutdown.into())).await.unwrap();
    assert!(pass.interrupted && pass.ran.is_empty(), "{pass:?}");
    s.release(&t.app).await.unwrap();
    // Started again an hour later: both are caught up, once.
    t.app.clock.set(at("2026-11-28T07:00:00Z"));
    let mut s = Scheduler::new(&t.app);
    let pass = s.tick(&t.app).await.unwrap();
    assert!(!pass.interrupted);
    let ran: Vec<(&str, Trigger)> = pass.ran.iter().map(|(r, _, k)| (r.as_str(), *k)).collect();
    assert_eq!(
        ran,
        vec![("nightly", Trigger::CatchUp), ("kitchen", Trigger::CatchUp)]
    );
}

#[tokio::test]
async fn only_the_lease_holder_schedules() {
    let t = alerts_app(NIGHTLY_RULE, &[]).await;
    let mut a = Scheduler::new(&t.app);
    let mut b = Scheduler::new(&t.app);
    t.app.clock.set(at("2026-11-27T06:00:01Z"));
    let pa = a.tick(&t.app).await.unwrap();
    let pb = b.tick(&t.app).await.unwrap();
    assert!(pa.leader && !pb.leader);
    assert_eq!(pa.ran.len() + pb.ran.len(), 1);
    // The holder stops renewing (dies): the other takes over after the lease expires.
    t.app.clock.set(at("2026-11-27T06:05:00Z"));
    assert!(b.tick(&t.app).await.unwrap().leader);
    assert!(!a.tick(&t.app).await.unwrap().leader);
}

#[tokio::test]
async fn check_prints_each_rules_alerts_as_json_and_changes_nothing() {
    let t = alerts_app(NIGHTLY_RULE, &[]).await;
    set_on_hand(&t, "MUG", 0).await;
    let out = check_output(&t.app, None, true).await.unwrap();
    let v: Value = serde_json::from_str(&out).unwrap();
    let rules = v.as_array().unwrap();
    assert_eq!(rules.len(), 1);
    assert_eq!(rules[0]["rule"], "nightly");
    let alerts = rules[0]["alerts"].as_array().unwrap();
    let sev: Vec<(String, String)> = alerts
        .iter()
        .map(|a| {
            (
                a["sku"].as_str().unwrap().to_string(),
                a["severity"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        sev,
        vec![
            ("MUG".to_string(), "critical".to_string()),
            ("FAR".to_string(), "low".to_string())
        ]
    );
    assert_eq!(alerts[1]["projected"], 2);
    assert_eq!(alerts[1]["inbound"], 10);
    assert_eq!(alerts[1]["suggested_order"], 13);
    assert_eq!(
        t.scalar("SELECT (SELECT COUNT(*) FROM alert_runs) + (SELECT COUNT(*) FROM alert_states) + (SELECT COUNT(*) FROM channel_posts)")
            .await,
        0
    );
    let text = check_output(&t.app, Some("NIGHTLY"), false).await.unwrap();
    assert!(text.contains("CRITICAL MUG"), "{text}");
    assert!(check_output(&t.app, Some("nope"), false).await.is_err());
}

#[tokio::test]
async fn check_through_the_real_binary_prints_json_per_rule_and_changes_nothing() {
    let t = alerts_app(NIGHTLY_RULE, &[]).await;
    set_on_hand(&t, "MUG", 0).await;
    let config = t.dir.path().join("config.toml");
    let config = config.to_str().unwrap();
    let (code, out, err) = common::run_bot_on(&t, &["--config", config, "check", "--json"]);
    assert_eq!(code, 0, "stdout: {out}\nstderr: {err}");
    let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    let rules = v.as_array().unwrap();
    assert_eq!(rules.len(), 1);
    assert_eq!(rules[0]["rule"], "nightly");
    let alerts = rules[0]["alerts"].as_array().unwrap();
    // The binary reads the real clock, so only what holds on any day is asserted: a SKU with
    // nothing on hand and no inbound is below its safety stock.
    let mug = alerts
        .iter()
        .find(|a| a["sku"] == "MUG")
        .unwrap_or_else(|| panic!("MUG missing: {out}"));
    assert_eq!(mug["severity"], "critical");
    assert_eq!(mug["projected"], 0);
    assert_eq!(mug["suggested_order"], 15);
    assert_eq!(mug["would_post"], "new");
    for a in alerts {
        assert!(
            ["out", "critical", "low", "at_risk"].contains(&a["severity"].as_str().unwrap()),
            "{a}"
        );
        assert!(a["sku"].is_string(), "{a}");
        assert!(
            a["days_of_cover"].is_number() || a["days_of_cover"].is_null(),
            "{a}"
        );
    }
    assert!(alerts.iter().all(|a| a["sku"] != "PLENTY"), "{out}");

    let (code, out, _) =
        common::run_bot_on(&t, &["--config", config, "check", "--rule", "NIGHTLY"]);
    assert_eq!(code, 0);
    assert!(out.contains("CRITICAL MUG"), "{out}");
    let (code, _, err) = common::run_bot_on(&t, &["--config", config, "check", "--rule", "nope"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("nightly"), "the error lists the rules: {err}");
    assert_eq!(
        t.scalar("SELECT (SELECT COUNT(*) FROM alert_runs) + (SELECT COUNT(*) FROM alert_states) + (SELECT COUNT(*) FROM channel_posts)")
            .await,
        0,
        "check changes no state"
    );
}

#[tokio::test]
async fn thousands_of_firing_skus_make_one_message_within_limits_with_a_csv() {
    let t = alerts_app(NIGHTLY_RULE, &[]).await;
    let mut csv = String::from("sku,name,category,unit_price,on_hand,reorder_point,safety_stock,reorder_qty,lead_time_days,supplier,substitutes\n");
    for i in 0..3000 {
        csv.push_str(&format!(
            "BULK-{i:04},Bulk item {i},bulk,1.00,1,5,0,10,,ACME,\n"
        ));
    }
    t.import("products", &csv).await.unwrap();
    let RunOutcome::Done(r) = alerts::run_rule(&t.app, &rule(&t), Trigger::Manual, None)
        .await
        .unwrap()
    else {
        panic!()
    };
    let m = r.message.unwrap();
    assert!(m.content.chars().count() <= 2000);
    assert!(m.content.contains("3001 LOW"), "{}", &m.content[..200]);
    assert!(m.content.contains("more (full list attached)"));
    let (name, body) = m.attachment.unwrap();
    assert_eq!(name, "lowstock-nightly.csv");
    assert_eq!(body.lines().count(), 3002);
    assert_eq!(r.counts.posted_lines, 3001);
}

/// `check --json` lists every firing SKU once, with its own figures and what a run would post
/// about it: posted already (null), got worse (escalated) or new. Thousands of SKUs, so a
/// figure or a change taken from another SKU's line would show.
#[tokio::test]
async fn check_json_has_each_firing_sku_once_with_its_own_figures_and_change() {
    let t = alerts_app(NIGHTLY_RULE, &[]).await;
    let mut csv = String::from("sku,name,category,unit_price,on_hand,reorder_point,safety_stock,reorder_qty,lead_time_days,supplier,substitutes\n");
    // On hand 0–4 of reorder point 5, safety stock 2: critical below 2, low from 2.
    for i in 0..2000 {
        csv.push_str(&format!(
            "BULK-{i:04},Bulk item {i},bulk,1.00,{},5,2,10,,ACME,\n",
            i % 5
        ));
    }
    t.import("products", &csv).await.unwrap();
    let RunOutcome::Done(_) = alerts::run_rule(&t.app, &rule(&t), Trigger::Manual, None)
        .await
        .unwrap()
    else {
        panic!("the first run ran")
    };
    // After the run: every tenth low SKU drops to nothing (critical: escalated), and new SKUs
    // start firing; the rest were posted already (within the repeat interval).
    let escalated: Vec<usize> = (0..2000)
        .filter(|i| i % 5 >= 2 && i % 10 < 5)
        .step_by(10)
        .collect();
    for i in &escalated {
        set_on_hand(&t, &format!("BULK-{i:04}"), 0).await;
    }
    let mut csv = String::from("sku,name,category,unit_price,on_hand,reorder_point,safety_stock,reorder_qty,lead_time_days,supplier,substitutes\n");
    for i in 0..500 {
        csv.push_str(&format!(
            "FRESH-{i:04},Fresh item {i},bulk,1.00,3,5,2,10,,ACME,\n"
        ));
    }
    t.import("products", &csv).await.unwrap();

    let out = check_output(&t.app, None, true).await.unwrap();
    let v: Value = serde_json::from_str(&out).unwrap();
    let alerts = v[0]["alerts"].as_array().unwrap();
    let mut seen = std::collections::HashSet::new();
    let mut checked = 0;
    for a in alerts {
        let sku = a["sku"].as_str().unwrap();
        assert!(seen.insert(sku.to_string()), "{sku} is listed twice");
        let (name, on_hand, want_post) = if let Some(n) = sku.strip_prefix("BULK-") {
            let i: usize = n.parse().unwrap();
            let name = format!("Bulk item {i}");
            if escalated.contains(&i) {
                (name, 0, Value::from("escalated"))
            } else {
                (name, (i % 5) as i64, Value::Null)
            }
        } else if let Some(n) = sku.strip_prefix("FRESH-") {
            let i: usize = n.parse().unwrap();
            (format!("Fresh item {i}"), 3, Value::from("new"))
        } else {
            continue;
        };
        let severity = if on_hand < 2 { "critical" } else { "low" };
        assert_eq!(a["on_hand"], on_hand, "{a}");
        assert_eq!(a["available"], on_hand, "{a}");
        assert_eq!(a["projected"], on_hand, "{a}");
        assert_eq!(a["suggested_order"], 15 - on_hand, "{a}");
        assert_eq!(a["severity"], severity, "{a}");
        assert_eq!(a["would_post"], want_post, "{a}");
        assert_eq!(a["name"], name, "{a}");
        checked += 1;
    }
    assert_eq!(checked, 2500, "every BULK and FRESH SKU fires, once each");
    assert_eq!(v[0]["firing"].as_i64().unwrap() as usize, alerts.len());
    // Most severe first, then by SKU.
    let keys: Vec<(u8, &str)> = alerts
        .iter()
        .map(|a| {
            let rank = match a["severity"].as_str().unwrap() {
                "out" => 0,
                "critical" => 1,
                "low" => 2,
                _ => 3,
            };
            (rank, a["sku"].as_str().unwrap())
        })
        .collect();
    assert!(
        keys.windows(2).all(|w| w[0] <= w[1]),
        "sorted most severe first, then by SKU"
    );
    // The message and its CSV hold exactly what would be posted: the escalated and the new.
    let attached = v[0]["attachment"].as_str().unwrap();
    assert_eq!(attached.lines().count(), 1 + escalated.len() + 500);
}

async fn alerts_app_with_discord(fake: &FakeDiscord) -> TestApp {
    alerts_app(NIGHTLY_RULE, &fake.settings_vars()).await
}

#[tokio::test]
async fn the_alert_post_reaches_the_discord_channel_with_buttons_once() {
    let fake = FakeDiscord::start().await;
    let t = alerts_app_with_discord(&fake).await;
    run_now(&t).await.unwrap();
    let sender = Sender::from_app(&t.app);
    assert!(matches!(sender, Sender::Discord(_)));
    assert_eq!(poster::deliver_due(&t.app, &sender).await.unwrap(), 1);
    assert_eq!(poster::deliver_due(&t.app, &sender).await.unwrap(), 0);
    let posts = fake.channel_messages();
    assert_eq!(posts.len(), 1);
    assert_eq!(
        posts[0].path,
        format!("/api/v10/channels/{ALERT_CHANNEL}/messages")
    );
    let body = &posts[0].body;
    assert!(body["content"].as_str().unwrap().contains("FAR"), "{body}");
    let rows = body["components"].as_array().unwrap();
    assert_eq!(rows[0]["components"][0]["label"], "Snooze 7 days");
    assert_eq!(rows[1]["components"][0]["options"][0]["value"], "FAR");
    assert_eq!(
        t.scalar(
            "SELECT COUNT(*) FROM channel_posts WHERE status = 'sent' AND message_id IS NOT NULL"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn a_poster_that_died_after_discord_answered_does_not_post_twice() {
    let fake = FakeDiscord::start().await;
    let t = alerts_app_with_discord(&fake).await;
    run_now(&t).await.unwrap();
    let sender = Sender::from_app(&t.app);
    // A replica claims the post, Discord makes the message, and the replica dies before it
    // records that: the post stays claimed, not sent.
    let claimed = posts::claim_due(&t.app).await.unwrap();
    assert_eq!(claimed.len(), 1);
    let first = sender.send(&claimed[0], None, &[]).await.unwrap();
    assert_eq!(poster::deliver_due(&t.app, &sender).await.unwrap(), 0);
    // After the lease another replica sends it again, with the same nonce: Discord answers with
    // the message it made, and no second one appears in the channel.
    t.app.clock.set(test_now() + Duration::minutes(10));
    assert_eq!(poster::deliver_due(&t.app, &sender).await.unwrap(), 1);
    let requests: Vec<_> = fake
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/messages"))
        .collect();
    assert_eq!(requests.len(), 2, "sent twice");
    assert_eq!(requests[0].body["nonce"], requests[1].body["nonce"]);
    assert_eq!(requests[1].body["enforce_nonce"], true);
    assert_eq!(
        fake.channel_messages().len(),
        1,
        "one message in the channel"
    );
    assert_eq!(
        t.scalar(&format!(
            "SELECT COUNT(*) FROM channel_posts WHERE status = 'sent' AND message_id = '{}'",
            first.unwrap()
        ))
        .await,
        1,
        "the post records the message Discord made first"
    );
}

#[tokio::test]
async fn a_restart_does_not_repost() {
    let fake = FakeDiscord::start().await;
    let t = alerts_app_with_discord(&fake).await;
    run_now(&t).await.unwrap();
    poster::deliver_due(&t.app, &Sender::from_app(&t.app))
        .await
        .unwrap();
    // A new process on the same database: same state, a fresh scheduler and poster.
    let path = t.app.settings.database.path.clone();
    t.app.store.close().await;
    let mut settings = (*t.app.settings).clone();
    settings.database.path = path;
    let again = Application::build(settings, Clock::fixed(test_now() + Duration::hours(2)))
        .await
        .unwrap()
        .app;
    let r = again.settings.alerts.rules[0].clone();
    match alerts::run_rule(&again, &r, Trigger::Manual, None)
        .await
        .unwrap()
    {
        RunOutcome::Done(rep) => assert_eq!(rep.post_id, None),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        poster::deliver_due(&again, &Sender::from_app(&again))
            .await
            .unwrap(),
        0
    );
    assert_eq!(fake.channel_messages().len(), 1);
}

#[tokio::test]
async fn a_discord_outage_delays_the_post_and_it_is_sent_once_after_recovery() {
    let fake = FakeDiscord::start().await;
    let t = alerts_app_with_discord(&fake).await;
    set_on_hand(&t, "MUG", 0).await;
    run_now(&t).await.unwrap();
    let sender = Sender::from_app(&t.app);
    fake.fail_channel_posts(true);
    assert_eq!(poster::deliver_due(&t.app, &sender).await.unwrap(), 0);
    // Not due again until the backoff has passed.
    assert_eq!(poster::deliver_due(&t.app, &sender).await.unwrap(), 0);
    let failed = fake
        .requests()
        .iter()
        .filter(|r| r.query.as_deref() == Some("failed"))
        .count();
    assert_eq!(failed, 1);
    for minutes in 1..4 {
        t.app.clock.set(test_now() + Duration::minutes(minutes));
        poster::deliver_due(&t.app, &sender).await.unwrap();
    }
    assert!(fake.channel_messages().is_empty());
    fake.fail_channel_posts(false);
    t.app.clock.set(test_now() + Duration::minutes(10));
    assert_eq!(poster::deliver_due(&t.app, &sender).await.unwrap(), 1);
    t.app.clock.set(test_now() + Duration::minutes(20));
    assert_eq!(poster::deliver_due(&t.app, &sender).await.unwrap(), 0);
    let sent = fake.channel_messages();
    assert_eq!(sent.len(), 1);
    assert!(sent[0].body["content"].as_str().unwrap().contains("MUG"));
}

#[tokio::test]
async fn ops_channel_messages_queue_through_the_same_poster() {
    let fake = FakeDiscord::start().await;
    let t = alerts_app_with_discord(&fake).await;
    let mut conn = t.app.store.conn().await.unwrap();
    backorder_bot::app::posts::enqueue(&mut conn, 42, &"x".repeat(2500))
        .await
        .unwrap();
    drop(conn);
    poster::deliver_due(&t.app, &Sender::from_app(&t.app))
        .await
        .unwrap();
    let sent = fake.channel_messages();
    assert_eq!(sent[0].path, "/api/v10/channels/42/messages");
    assert_eq!(sent[0].body["content"].as_str().unwrap().len(), 2000);
}

#[tokio::test]
async fn the_snooze_button_is_refused_for_a_member_without_the_ops_role() {
    let fake = FakeDiscord::start().await;
    let t = alerts_app_with_discord(&fake).await;
    let RunOutcome::Done(report) = alerts::run_rule(&t.app, &rule(&t), Trigger::Manual, None)
        .await
        .unwrap()
    else {
        panic!()
    };
    // Serve Discord with the real start-up path.
    let settings = (*t.app.settings).clone();
    let built = Application::build(settings, Clock::fixed(test_now()))
        .await
        .unwrap();
    let (stop, rx) = watch::channel(false);
    let task = tokio::spawn(built.run_until_stopped(false, rx));
    fake.connect_bot().await;
    let message = message_json(1, "alert", json!({"components": []}));
    let custom_id = format!("alerts:snooze:{}", report.run_id);
    let click = fake
        .send_button_click(&custom_id, message.clone(), &Invoker::guild(GUILD, vec![]))
        .await;
    let answer = fake.wait_callback(&click).await;
    let text = answer["data"]["content"].as_str().unwrap_or_default();
    assert!(text.contains("only the ops role"), "{answer}");
    assert_eq!(t.scalar("SELECT COUNT(*) FROM alert_snoozes").await, 0);
    let click = fake
        .send_button_click(&custom_id, message, &Invoker::guild(GUILD, vec![OPS_ROLE]))
        .await;
    let answer = fake.wait_callback(&click).await;
    assert!(
        answer["data"]["content"]
            .as_str()
            .unwrap_or_default()
            .contains("Snoozed 1 SKUs"),
        "{answer}"
    );
    assert_eq!(t.scalar("SELECT COUNT(*) FROM alert_snoozes").await, 1);
    stop.send(true).unwrap();
    let _ = task.await;
}

#[tokio::test]
async fn alert_commands_list_run_snooze_and_show_low_stock_in_the_console() {
    let t = alerts_app(NIGHTLY_RULE, &[]).await;
    let low = t.ok("/lowstock").await;
    assert!(low.contains("FAR") && !low.contains("NEAR"), "{low}");
    let low = t.ok("/lowstock rule:nightly").await;
    assert!(low.contains("LOW FAR"), "{low}");
    assert!(t
        .user_error("/lowstock rule:weekly")
        .await
        .contains("nightly"));
    // /lowstock changes nothing.
    assert_eq!(t.scalar("SELECT COUNT(*) FROM alert_runs").await, 0);

    let list = t.ok("/alerts list").await;
    assert!(
        list.contains("nightly") && list.contains("never ran"),
        "{list}"
    );
    assert!(list.contains("2026-11-27 07:00 CET"), "{list}");

    let ran = t.ok("/alerts run rule:nightly").await;
    assert!(ran.contains("Queued one message"), "{ran}");
    let ran = t.ok("/alerts run rule:nightly").await;
    assert!(ran.contains("Nothing new to post"), "{ran}");
    let list = t.ok("/alerts list").await;
    assert!(list.contains("1 firing, 0 posted"), "{list}");

    let snoozed = t.ok("/alerts snooze sku:far days:3").await;
    assert!(snoozed.contains("until 2026-11-29 12:00"), "{snoozed}");
    t.user_error("/alerts snooze sku:FAR days:0").await;
    t.user_error("/alerts snooze sku:NOPE days:2").await;
    assert!(t
        .ok("/alerts unsnooze sku:FAR")
        .await
        .contains("in alerts again"));
    assert!(t
        .ok("/alerts unsnooze sku:FAR")
        .await
        .contains("was not snoozed"));
}

#[tokio::test]
async fn a_long_alert_reaches_discord_with_the_full_list_attached_as_csv() {
    let fake = FakeDiscord::start().await;
    let t = alerts_app_with_discord(&fake).await;
    let mut csv = String::from("sku,name,category,unit_price,on_hand,reorder_point,safety_stock,reorder_qty,lead_time_days,supplier,substitutes\n");
    for i in 0..500 {
        csv.push_str(&format!(
            "BULK-{i:04},Bulk item {i},bulk,1.00,1,5,0,10,,ACME,\n"
        ));
    }
    t.import("products", &csv).await.unwrap();
    run_now(&t).await.unwrap();
    assert_eq!(
        poster::deliver_due(&t.app, &Sender::from_app(&t.app))
            .await
            .unwrap(),
        1
    );
    let sent = fake.channel_messages();
    let body = &sent[0].body;
    assert!(body["content"]
        .as_str()
        .unwrap()
        .contains("more (full list attached)"));
    assert_eq!(body["files"][0]["name"], "lowstock-nightly.csv");
    let text = body["files"][0]["text"].as_str().unwrap();
    assert_eq!(text.lines().count(), 502, "{}", &text[..200]);
    assert_eq!(
        body["components"][1]["components"][0]["options"]
            .as_array()
            .unwrap()
            .len(),
        25
    );
}

/// What `check` prints, as a string.
async fn check_output(
    app: &backorder_bot::app::App,
    rule: Option<&str>,
    json: bool,
) -> Result<String, backorder_bot::app::AppError> {
    let mut out = Vec::new();
    backorder_bot::adapters::check::run(app, rule, json, &mut out).await?;
    Ok(String::from_utf8(out).expect("UTF-8 output"))
}

#[tokio::test]
async fn alerts_list_and_check_at_the_console_show_no_chat_markup() {
    let t = alerts_app(NIGHTLY_RULE, &[]).await;
    set_on_hand(&t, "MUG", 0).await;
    let text = t.ok("/alerts list").await;
    assert!(text.contains("nightly"), "{text}");
    assert!(
        text.contains(&format!("channel {ALERT_CHANNEL}")),
        "the channel is named in words: {text}"
    );
    for markup in ["**", "<#", "`"] {
        assert!(!text.contains(markup), "{markup} in {text}");
    }
    let text = check_output(&t.app, Some("nightly"), false).await.unwrap();
    assert!(text.contains("Low stock: nightly"), "{text}");
    for markup in ["**", "<#", "`"] {
        assert!(!text.contains(markup), "{markup} in {text}");
    }
}
