//! `GET /metrics`: Prometheus text from the real HTTP server on a loopback port, with the
//! figures of a small shop worked out by hand and the commands run through the command layer.

mod common;

use backorder_bot::app::Clock;
use backorder_bot::shutdown::{Shutdown, Signal};
use common::{test_now, TestApp, NIGHTLY_RULE};
use std::collections::HashMap;

/// The shop, the HTTP server alone (no dispatcher, poster or scheduler: the queues stay as
/// the commands leave them) and its base URL.
struct Served {
    t: TestApp,
    base: String,
    _stop: Signal,
}

async fn serve(extra: &[(&str, &str)]) -> Served {
    let config = format!("[discord]\nalert_channel_id = 1500000000000000001\n{NIGHTLY_RULE}");
    let mut vars = vec![("BACKORDER_BOT__HTTP__BIND", "127.0.0.1:0")];
    vars.extend_from_slice(extra);
    let (built, dir) = common::build(
        Some(&config),
        false,
        &common::vars(&vars),
        Clock::fixed(test_now()),
    )
    .await;
    let app = built.app;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, shutdown): (Signal, Shutdown) = Shutdown::new();
    tokio::spawn(backorder_bot::adapters::http::serve(
        app.clone(),
        listener,
        shutdown,
    ));
    Served {
        t: TestApp { app, dir },
        base,
        _stop: stop,
    }
}

/// Three open backorders: 3 TENT at 100.00 (O-1 gets the 2 on hand), 4 MUG at 5.00, 1 TENT at
/// 100.00; LAMP is in stock. 8 units, 420.00.
async fn load_shop(t: &TestApp) {
    t.import("suppliers", "code,name\nACME,Acme\n")
        .await
        .unwrap();
    t.import(
        "products",
        "sku,name,category,unit_price,on_hand,reorder_point,safety_stock,reorder_qty,lead_time_days,supplier,substitutes\n\
         TENT,Tent,tents,100.00,2,5,1,10,,ACME,\n\
         MUG,Mug,kitchen,5.00,0,5,2,10,,ACME,\n\
         LAMP,Lamp,lights,20.00,10,2,1,10,,ACME,\n",
    )
    .await
    .unwrap();
    t.import(
        "customers",
        "id,name,email,phone,tier,channel,timezone\n\
         C-1,Ann Example,ann@example.com,,standard,email,\n\
         C-2,Bob Example,bob@example.com,,standard,email,\n",
    )
    .await
    .unwrap();
    t.import(
        "orders",
        "order,customer,sku,qty,unit_price,ordered_at\n\
         O-1,C-1,TENT,5,100.00,2026-11-20\n\
         O-2,C-2,MUG,4,5.00,2026-11-21\n\
         O-3,C-2,TENT,1,100.00,2026-11-22\n\
         O-4,C-1,LAMP,3,20.00,2026-11-22\n",
    )
    .await
    .unwrap();
}

async fn get(base: &str, path: &str) -> (u16, Option<String>, String) {
    let resp = reqwest::get(format!("{base}{path}")).await.unwrap();
    let status = resp.status().as_u16();
    let content_type = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string());
    (status, content_type, resp.text().await.unwrap())
}

/// One sample: metric name, labels and value.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: HashMap<String, String>,
    value: f64,
}

/// Parses the Prometheus text format (0.0.4) strictly enough to catch a malformed exposition:
/// every family has one HELP then one TYPE line before its samples, names are legal, each
/// sample is `name{label="value",…} value` and belongs to the family typed just before it
/// (a histogram's `_bucket`, `_sum` and `_count`), values are numbers, and no series repeats.
fn parse(text: &str) -> Vec<Sample> {
    fn legal_name(n: &str) -> bool {
        let mut chars = n.chars();
        chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
    }
    assert!(text.ends_with('\n'), "the text ends with a newline");
    let mut samples = Vec::new();
    let mut seen_series = std::collections::HashSet::new();
    let mut families = std::collections::HashSet::new();
    let mut help: Option<String> = None;
    let mut family: Option<(String, String)> = None;
    for line in text.lines() {
        assert!(!line.is_empty(), "no blank lines");
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, text) = rest.split_once(' ').expect("HELP name text");
            assert!(legal_name(name) && !text.is_empty(), "{line}");
            assert!(families.insert(name.to_string()), "{name} described twice");
            help = Some(name.to_string());
            family = None;
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("TYPE name kind");
            assert_eq!(help.as_deref(), Some(name), "TYPE follows its HELP: {line}");
            assert!(
                ["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind),
                "{line}"
            );
            family = Some((name.to_string(), kind.to_string()));
            continue;
        }
        assert!(
            !line.starts_with('#'),
            "only HELP and TYPE comments: {line}"
        );
        let (series, value) = line.rsplit_once(' ').expect("series value");
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v.parse().unwrap_or_else(|_| panic!("not a number: {line}")),
        };
        let (name, labels) = match series.split_once('{') {
            None => (series, HashMap::new()),
            Some((name, rest)) => (name, parse_labels(rest.strip_suffix('}').expect(line))),
        };
        assert!(legal_name(name), "{line}");
        let (family_name, kind) = family.as_ref().expect("a sample after its TYPE");
        let belongs = match kind.as_str() {
            "histogram" => ["_bucket", "_sum", "_count"]
                .iter()
                .any(|s| name.strip_suffix(s) == Some(family_name)),
            _ => name == family_name,
        };
        assert!(belongs, "{name} is not of the family {family_name}");
        if name.ends_with("_bucket") {
            assert!(labels.contains_key("le"), "{line}");
        }
        let mut key: Vec<_> = labels.iter().collect();
        key.sort();
        assert!(
            seen_series.insert(format!("{name}{key:?}")),
            "series twice: {line}"
        );
        samples.push(Sample {
            name: name.to_string(),
            labels,
            value,
        });
    }
    samples
}

/// `a="x",b="y \"q\""` → {a: x, b: y "q"}.
fn parse_labels(raw: &str) -> HashMap<String, String> {
    let mut labels = HashMap::new();
    let mut rest = raw;
    while !rest.is_empty() {
        let (name, after) = rest.split_once("=\"").expect("label=\"value\"");
        assert!(
            name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
            "label name {name}"
        );
        let mut value = String::new();
        let mut chars = after.char_indices();
        let end = loop {
            match chars.next().expect("a closing quote") {
                (_, '\\') => match chars.next().expect("an escape").1 {
                    'n' => value.push('\n'),
                    c @ ('\\' | '"') => value.push(c),
                    c => panic!("bad escape \\{c}"),
                },
                (i, '"') => break i,
                (_, c) => value.push(c),
            }
        };
        assert!(labels.insert(name.to_string(), value).is_none(), "{raw}");
        rest = &after[end + 1..];
        rest = rest.strip_prefix(',').unwrap_or(rest);
    }
    labels
}

/// The value of the one sample named `name` whose labels include `labels`.
fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    let found: Vec<&Sample> = samples
        .iter()
        .filter(|s| {
            s.name == name
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .collect();
    assert_eq!(found.len(), 1, "{name} {labels:?}: {found:?}");
    found[0].value
}

async fn scrape(s: &Served) -> (String, Vec<Sample>) {
    let (status, content_type, body) = get(&s.base, "/metrics").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        content_type.as_deref(),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    let samples = parse(&body);
    (body, samples)
}

#[tokio::test]
async fn metrics_are_prometheus_text_with_the_shops_figures() {
    let s = serve(&[]).await;
    load_shop(&s.t).await;
    let (_, m) = scrape(&s).await;
    assert_eq!(
        value(&m, "backorderbot_alerts_firing", &[("severity", "out")]),
        0.0
    );
    s.t.ok("/alerts run nightly").await;
    let (body, m) = scrape(&s).await;

    assert_eq!(value(&m, "backorderbot_backorders_open", &[]), 3.0);
    assert_eq!(value(&m, "backorderbot_backorders_open_units", &[]), 8.0);
    assert_eq!(
        value(
            &m,
            "backorderbot_backorders_open_value",
            &[("currency", "EUR")]
        ),
        420.0
    );

    // Alerts: every severity of the configured rule, as the run stored them.
    for severity in ["out", "critical", "low", "at_risk"] {
        let stored = s
            .t
            .scalar(&format!(
                "SELECT COUNT(*) FROM alert_states WHERE rule = 'nightly' AND severity = '{severity}'"
            ))
            .await;
        let labels = [("rule", "nightly"), ("severity", severity)];
        assert_eq!(
            value(&m, "backorderbot_alerts_firing", &labels),
            stored as f64
        );
    }
    // MUG has none on hand and backorders waiting.
    assert!(value(&m, "backorderbot_alerts_firing", &[("severity", "out")]) >= 1.0);

    // Queues: the backordered customers' updates and the alert post wait, none failed.
    let pending =
        s.t.scalar("SELECT COUNT(*) FROM outbox WHERE status = 'pending'")
            .await;
    assert!(pending >= 2, "one update per customer at least: {pending}");
    let depth = |queue, status| {
        value(
            &m,
            "backorderbot_outbox_depth",
            &[("queue", queue), ("status", status)],
        )
    };
    assert_eq!(depth("customer_updates", "pending"), pending as f64);
    assert_eq!(depth("customer_updates", "sending"), 0.0);
    assert_eq!(depth("channel_posts", "pending"), 1.0);
    for queue in ["customer_updates", "channel_posts"] {
        assert_eq!(
            value(&m, "backorderbot_outbox_failed", &[("queue", queue)]),
            0.0
        );
    }

    // The alert run went through the command layer.
    let run = [("command", "alerts run"), ("outcome", "ok")];
    assert_eq!(value(&m, "backorderbot_commands_total", &run), 1.0);
    assert_eq!(
        value(&m, "backorderbot_command_duration_seconds_count", &run),
        1.0
    );

    // Every family is there with its HELP, even those nothing has recorded yet.
    for family in [
        "backorderbot_delivery_failures_total",
        "backorderbot_scheduler_runs_total",
        "backorderbot_forecast_runs_total",
    ] {
        assert!(
            body.contains(&format!("# TYPE {family} counter\n")),
            "{family}"
        );
    }
    // No customer appears in any form.
    for pii in ["C-1", "C-2", "Ann", "Bob", "example.com"] {
        assert!(!body.contains(pii), "{pii} in\n{body}");
    }
}

#[tokio::test]
async fn each_command_is_counted_and_timed_by_name_and_outcome_without_what_was_typed() {
    let s = serve(&[]).await;
    load_shop(&s.t).await;
    s.t.ok("/stock TENT").await;
    s.t.ok("stock MUG").await;
    s.t.user_error("/stock NO-SUCH-SKU-42").await;
    s.t.user_error("/frobnicate secret-words").await;
    s.t.ok("/backorder 1").await;
    let (body, m) = scrape(&s).await;

    let count = |command, outcome| {
        let labels = [("command", command), ("outcome", outcome)];
        (
            value(&m, "backorderbot_commands_total", &labels),
            value(&m, "backorderbot_command_duration_seconds_count", &labels),
        )
    };
    assert_eq!(count("stock", "ok"), (2.0, 2.0));
    assert_eq!(count("stock", "user_error"), (1.0, 1.0));
    assert_eq!(count("unknown", "user_error"), (1.0, 1.0));
    assert_eq!(count("backorder show", "ok"), (1.0, 1.0));
    // The latency buckets add up: every command took less than the last bound.
    let inf = [("command", "stock"), ("outcome", "ok"), ("le", "+Inf")];
    assert_eq!(
        value(&m, "backorderbot_command_duration_seconds_bucket", &inf),
        2.0
    );
    for typed in ["NO-SUCH-SKU-42", "frobnicate", "secret-words", "TENT"] {
        assert!(!body.contains(typed), "{typed} in\n{body}");
    }
}

#[tokio::test]
async fn metrics_need_no_ingest_token_while_the_api_does() {
    let s = serve(&[("INGEST_API_TOKEN", "s3cret")]).await;
    load_shop(&s.t).await;
    let (status, _, _) = get(&s.base, "/api/v1/skus/TENT").await;
    assert_eq!(status, 401);
    let (_, m) = scrape(&s).await;
    assert_eq!(value(&m, "backorderbot_backorders_open", &[]), 3.0);
}

#[tokio::test]
async fn metrics_set_to_false_answers_404() {
    let s = serve(&[("BACKORDER_BOT__HTTP__METRICS", "false")]).await;
    let (status, _, body) = get(&s.base, "/metrics").await;
    assert_eq!(status, 404, "{body}");
    let (status, _, _) = get(&s.base, "/healthz").await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn the_schedulers_runs_are_counted_per_rule() {
    use backorder_bot::adapters::scheduler::{self, Scheduler};
    let s = serve(&[]).await;
    load_shop(&s.t).await;
    let app = &s.t.app;
    let mut sched = Scheduler::new(app);
    let pass = sched.tick(app).await.unwrap();
    scheduler::record(app, &pass);
    let (_, m) = scrape(&s).await;
    let runs = |m: &[Sample], outcome| {
        value(
            m,
            "backorderbot_scheduler_runs_total",
            &[("rule", "nightly"), ("outcome", outcome)],
        )
    };
    assert_eq!(
        runs(&m, "done"),
        0.0,
        "today's 07:00 passed before the start"
    );
    // 07:00:05 Berlin the next day.
    app.clock.set(
        chrono::DateTime::parse_from_rfc3339("2026-11-27T06:00:05Z")
            .unwrap()
            .to_utc(),
    );
    let pass = sched.tick(app).await.unwrap();
    scheduler::record(app, &pass);
    let (_, m) = scrape(&s).await;
    assert_eq!(runs(&m, "done"), 1.0);
    assert_eq!(runs(&m, "failed"), 0.0);
    assert_eq!(
        value(&m, "backorderbot_alerts_firing", &[("severity", "out")]),
        s.t.scalar("SELECT COUNT(*) FROM alert_states WHERE severity = 'out'")
            .await as f64
    );
}
