//! The customer's own page, `/b/<token>`, end to end: the real HTTP server on a loopback port,
//! the real dispatcher sending to the mock Twilio, the poster sending to the fake Discord, and
//! (in the first test) a real headless Chromium driven over WebDriver.

mod common;
#[path = "support/fake_discord.rs"]
mod fake_discord;
#[path = "support/mock_twilio.rs"]
mod mock_twilio;

use backorder_bot::adapters::discord::poster::{self, Sender};
use backorder_bot::adapters::dispatcher::Dispatcher;
use backorder_bot::app::portal::{self, Outcome, Posted};
use backorder_bot::app::Clock;
use backorder_bot::domain::{BackorderId, Channel, CustomerId};
use backorder_bot::shutdown::{Shutdown, Signal};
use common::{test_now, TestApp};
use fake_discord::FakeDiscord;
use mock_twilio::MockTwilio;
use std::collections::HashMap;

const OPS_CHANNEL: u64 = 1_500_000_000_000_000_001;

/// The demo shop served on a loopback port whose address is `http.public_url`, texting through
/// `mock`, posting to `fake` (when given).
struct Served {
    t: TestApp,
    base: String,
    _stop: Signal,
}

async fn serve(
    mock: Option<&MockTwilio>,
    fake: Option<&FakeDiscord>,
    extra: &[(&str, &str)],
) -> Served {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let mut vars = common::vars(&[
        ("BACKORDER_BOT__HTTP__PUBLIC_URL", base.as_str()),
        ("BACKORDER_BOT__NOTIFY__QUIET_HOURS", ""),
        ("BACKORDER_BOT__NOTIFY__COALESCE", "0s"),
        ("BACKORDER_BOT__SMS__TIMEOUT", "2s"),
        // The tests' ETA moves go straight to customers (approvals: docs/approvals.md).
        ("BACKORDER_BOT__NOTIFY__APPROVAL_MIN_SHIFT_DAYS", "3650"),
        ("BACKORDER_BOT__NOTIFY__APPROVAL_MIN_CUSTOMERS", "100000"),
    ]);
    if let Some(m) = mock {
        vars.extend(m.settings_vars());
    }
    if let Some(f) = fake {
        vars.extend(f.settings_vars());
    }
    vars.extend(common::vars(extra));
    let (built, dir) = common::build(
        Some(&format!("[discord]\nalert_channel_id = {OPS_CHANNEL}\n")),
        true,
        &vars,
        Clock::fixed(test_now()),
    )
    .await;
    let app = built.app;
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

async fn customer(t: &TestApp, external: &str) -> i64 {
    t.scalar(&format!(
        "SELECT id FROM customers WHERE external_id = '{external}'"
    ))
    .await
}

/// Ada's (C-1001) open backorder: 2 × TENT-2P; its substitutes TENT-3P (6 free) and
/// TENT-2P-LITE (4 free) are in stock.
async fn ada_backorder(t: &TestApp) -> i64 {
    t.scalar(
        "SELECT b.id FROM backorders b JOIN customers c ON c.id = b.customer_id
         WHERE c.external_id = 'C-1001' AND b.status = 'open'",
    )
    .await
}

/// A fresh link to a customer's page, as a message would carry.
async fn link_for(t: &TestApp, external: &str) -> String {
    let id = CustomerId(customer(t, external).await);
    let mut conn = t.app.store.conn().await.unwrap();
    portal::new_link(&t.app, &mut conn, id, Channel::Email, None)
        .await
        .unwrap()
        .url
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn get(url: &str) -> (u16, String) {
    let r = client().get(url).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

async fn post(url: &str, form: &HashMap<String, String>) -> (u16, String) {
    let r = client().post(url).form(form).send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// The page's forms: each form's fields (hidden inputs, the first radio's value, and the action
/// URL under `_url`), by their `action` field.
fn forms(html: &str) -> HashMap<String, HashMap<String, String>> {
    let input =
        regex::Regex::new(r#"<input type="(hidden|radio)" name="([a-z]+)" value="([^"]*)""#)
            .unwrap();
    let action = regex::Regex::new(r#"<form method="post" action="([^"]+)""#).unwrap();
    let mut out = HashMap::new();
    for part in html.split("<form").skip(1) {
        let part = format!("<form{part}");
        let mut fields = HashMap::new();
        fields.insert(
            "_url".to_string(),
            action.captures(&part).unwrap()[1].to_string(),
        );
        for c in input.captures_iter(&part) {
            fields.entry(c[2].to_string()).or_insert(c[3].to_string());
        }
        out.insert(fields["action"].clone(), fields);
    }
    out
}

fn body(fields: &HashMap<String, String>) -> HashMap<String, String> {
    fields
        .iter()
        .filter(|(k, _)| !k.starts_with('_'))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Free to promise of a product: on hand − allocated − owed to open backorders.
async fn free(t: &TestApp, sku: &str) -> i64 {
    t.scalar(&format!(
        "SELECT sp.on_hand - sp.allocated - sp.backorder_units FROM stock_positions sp
         JOIN products p ON p.id = sp.product_id WHERE p.sku = '{sku}'"
    ))
    .await
}

/// Moves TENT-2P's promise (Ada's backorder among them) and sends the updates.
async fn text_ada(t: &TestApp) {
    t.exec("DELETE FROM outbox").await;
    t.ok("/eta po:PO-1001 sku:TENT-2P date:2027-02-17 reason:\"carrier delay\"")
        .await;
    dispatch(t).await;
}

async fn dispatch(t: &TestApp) {
    Dispatcher::new(&t.app)
        .unwrap()
        .run_once(&t.app)
        .await
        .unwrap();
}

/// The link in the last SMS the mock Twilio received for `to`.
fn link_in_last_sms(mock: &MockTwilio, to: &str) -> (String, String) {
    let sms = mock
        .received()
        .into_iter()
        .rfind(|r| r.field("To") == Some(to))
        .expect("an SMS was sent");
    let text = sms.field("Body").unwrap().to_string();
    let link = regex::Regex::new(r"http://127\.0\.0\.1:\d+/b/[A-Za-z0-9_-]{22}")
        .unwrap()
        .find(&text)
        .unwrap_or_else(|| panic!("no link in {text}"))
        .as_str()
        .to_string();
    (link, text)
}

/// The checks after Ada switched her 2 × TENT-2P to TENT-3P: stock, the closed backorder, the
/// new order line, the ops post on the fake Discord and the confirmation on the mock Twilio.
async fn assert_switched(s: &Served, mock: &MockTwilio, fake: &FakeDiscord, bo: i64) {
    let t = &s.t;
    assert_eq!(free(t, "TENT-3P").await, 4, "2 of 6 reserved");
    let (status, reason, line): (String, String, Option<i64>) = t
        .row(&format!(
            "SELECT status, close_reason, switched_to_line_id FROM backorders WHERE id = {bo}"
        ))
        .await;
    assert_eq!(status, "cancelled");
    assert!(reason.contains("switched to TENT-3P"), "{reason}");
    let line = line.expect("the switch names the new line");
    let (sku, qty, reserved, order): (String, i64, i64, String) = t
        .row(&format!(
            "SELECT p.sku, ol.qty,
                (SELECT CAST(SUM(qty) AS BIGINT) FROM reservations r
                 WHERE r.order_line_id = ol.id AND r.status = 'held'),
                o.order_number
             FROM order_lines ol JOIN products p ON p.id = ol.product_id JOIN orders o ON o.id = ol.order_id
             WHERE ol.id = {line}"
        ))
        .await;
    assert_eq!((sku.as_str(), qty, reserved), ("TENT-3P", 2, 2));
    assert_eq!(order, "SO-5002", "the line joins Ada's order");
    // The ops line, through the real poster to the fake Discord.
    poster::deliver_due(&t.app, &Sender::from_app(&t.app))
        .await
        .unwrap();
    let posts: Vec<String> = fake
        .channel_messages()
        .iter()
        .map(|r| r.body.to_string())
        .collect();
    let switch_posts: Vec<&String> = posts.iter().filter(|p| p.contains("switched")).collect();
    assert_eq!(switch_posts.len(), 1, "{posts:?}");
    assert!(switch_posts[0].contains(&format!("#{bo}")), "{posts:?}");
    assert!(switch_posts[0].contains("TENT-3P"), "{posts:?}");
    assert!(!switch_posts[0].contains("+447700900001"), "{posts:?}");
    // The confirmation, through the real dispatcher to the mock Twilio.
    dispatch(t).await;
    let (_, text) = link_in_last_sms(mock, "+447700900001");
    assert!(
        text.contains("replaced by Basecamp 3-person tent"),
        "{text}"
    );
    let kinds: Vec<String> = t
        .rows::<(String,)>(
            "SELECT kind FROM messages m JOIN customers c ON c.id = m.customer_id
             WHERE c.external_id = 'C-1001' ORDER BY m.id",
        )
        .await
        .into_iter()
        .map(|(k,)| k)
        .collect();
    assert_eq!(
        kinds.last().map(String::as_str),
        Some("switched"),
        "{kinds:?}"
    );
}

/// A WebDriver session on Debian's Chromium, or `None` (printed why) when the browser is not
/// installed and this is not CI; under `CI=true` a missing browser fails the test.
struct Browser {
    client: fantoccini::Client,
    driver: std::process::Child,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

async fn browser() -> Option<Browser> {
    if !std::path::Path::new(CHROMEDRIVER).exists() || !std::path::Path::new(CHROMIUM).exists() {
        let why = format!("{CHROMEDRIVER} or {CHROMIUM} is missing (apt-get install chromium chromium-driver; .ci/run does)");
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("the browser test cannot run: {why}");
        }
        eprintln!("skipped: the browser test needs Chromium: {why}");
        return None;
    }
    let port = common::free_port();
    let driver = std::process::Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let profile = tempfile::tempdir().unwrap();
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".to_string(),
        serde_json::json!({
            "binary": CHROMIUM,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage",
                format!("--user-data-dir={}", profile.path().display()),
                "--window-size=412,915",
            ],
        }),
    );
    let url = format!("http://127.0.0.1:{port}");
    let mut last = None;
    for _ in 0..100 {
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        match fantoccini::ClientBuilder::new(connector)
            .capabilities(caps.clone())
            .connect(&url)
            .await
        {
            Ok(client) => {
                return Some(Browser {
                    client,
                    driver,
                    _profile: profile,
                })
            }
            Err(e) => {
                last = Some(e);
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        }
    }
    panic!("chromedriver did not start a session: {last:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_opens_the_link_from_an_sms_and_switches_in_a_real_browser() {
    let Some(b) = browser().await else {
        return;
    };
    let mock = MockTwilio::start().await;
    let fake = FakeDiscord::start().await;
    let s = serve(Some(&mock), Some(&fake), &[]).await;
    let bo = ada_backorder(&s.t).await;
    text_ada(&s.t).await;
    let (link, sms) = link_in_last_sms(&mock, "+447700900001");
    assert!(link.starts_with(&s.base), "{link} on {}", s.base);
    assert!(sms.contains("Reply 1 to take"), "{sms}");
    let c = &b.client;
    c.goto(&link).await.unwrap();
    let text = c
        .find(fantoccini::Locator::Css("main"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.contains("Hello Ada"), "{text}");
    assert!(text.contains("2 × Trailhead 2-person tent"), "{text}");
    assert!(!text.contains("Grace"), "another customer shows: {text}");
    // PORTAL_SCREENSHOT=file.png keeps a picture of the page as a phone shows it.
    if let Ok(path) = std::env::var("PORTAL_SCREENSHOT") {
        std::fs::write(path, c.screenshot().await.unwrap()).unwrap();
    }
    // Keyboard-reachable radio for the alternative, then the switch button of its form.
    c.find(fantoccini::Locator::Css(
        "input[type=radio][name=sku][value='TENT-3P']",
    ))
    .await
    .unwrap()
    .click()
    .await
    .unwrap();
    let form = c
        .find(fantoccini::Locator::XPath(
            "//form[.//input[@name='action' and @value='switch']]",
        ))
        .await
        .unwrap();
    form.find(fantoccini::Locator::Css("button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let notice = c
        .wait()
        .for_element(fantoccini::Locator::Css("[role=status]"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        notice.contains("2 × Basecamp 3-person tent set aside for you"),
        "{notice}"
    );
    let after = c.source().await.unwrap();
    assert!(after.contains("You have no open backorders"), "{after}");
    b.client.clone().close().await.unwrap();
    assert_switched(&s, &mock, &fake, bo).await;
}

#[tokio::test]
async fn the_page_shows_only_the_customers_open_backorders_first_name_and_masked_contacts() {
    let s = serve(None, None, &[]).await;
    s.t.ok("/eta po:PO-1001 sku:TENT-2P date:2027-02-17 reason:\"carrier delay\"")
        .await;
    let link = link_for(&s.t, "C-1001").await;
    let (status, html) = get(&link).await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("Hello Ada,"), "{html}");
    assert!(!html.contains("Lovelace"), "only the first name: {html}");
    assert!(!html.contains("+447700900001") && !html.contains("ada@example.com"));
    assert!(html.contains("•"), "masked contacts: {html}");
    assert!(html.contains("2 × Trailhead 2-person tent"), "{html}");
    assert!(!html.contains("Grace") && !html.contains("Alan"), "{html}");
    assert!(
        html.contains("Wed 17 Feb 2027"),
        "the current promise: {html}"
    );
    assert!(html.contains("How the date moved"), "{html}");
    assert!(html.contains("→ Wed 17 Feb 2027"), "{html}");
    assert!(html.contains("Basecamp 3-person tent — 299.00"), "{html}");
    let f = forms(&html);
    assert_eq!(
        f.keys()
            .map(String::as_str)
            .collect::<std::collections::BTreeSet<_>>(),
        ["cancel", "switch", "wait"].into()
    );
    assert_ne!(
        f["cancel"]["nonce"], f["wait"]["nonce"],
        "one nonce per form"
    );
}

#[tokio::test]
async fn unknown_tampered_and_expired_links_reveal_nothing() {
    let s = serve(None, None, &[("BACKORDER_BOT__PORTAL__LINK_DAYS", "60")]).await;
    let link = link_for(&s.t, "C-1001").await;
    let token = link.rsplit('/').next().unwrap().to_string();
    // One character changed: a well-formed token no link has.
    let mut tampered = token.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'Q' } else { 'A' });
    for path in [
        format!("/b/{tampered}"),
        "/b/not-a-token".to_string(),
        "/b/".to_string(),
        format!("/b/{token}x"),
    ] {
        let (status, html) = get(&format!("{}{path}", s.base)).await;
        assert_eq!(status, 404, "{path}: {html}");
        assert!(
            !html.contains("Ada") && !html.contains("Trailhead"),
            "{html}"
        );
    }
    let (status, _) = get(&link).await;
    assert_eq!(status, 200);
    s.t.app
        .clock
        .set(test_now() + chrono::Duration::days(60) + chrono::Duration::seconds(1));
    let (status, html) = get(&link).await;
    assert_eq!(status, 410, "{html}");
    assert!(html.contains("expired"), "{html}");
    assert!(
        !html.contains("Ada") && !html.contains("Trailhead"),
        "{html}"
    );
    // A form posted on an expired link is 410 too, and changes nothing.
    let (status, _) = post(&link, &HashMap::from([("action".into(), "wait".into())])).await;
    assert_eq!(status, 410);
}

#[tokio::test]
async fn a_form_without_or_with_a_wrong_form_token_is_refused_with_403() {
    let s = serve(None, None, &[]).await;
    let link = link_for(&s.t, "C-1001").await;
    let (_, html) = get(&link).await;
    let wait = forms(&html)["wait"].clone();
    let mut missing = body(&wait);
    missing.remove("csrf");
    let mut wrong = body(&wait);
    wrong.insert(
        "csrf".into(),
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".into(),
    );
    // Another link's form token for the same nonce.
    let other = link_for(&s.t, "C-1001").await;
    let (_, other_html) = get(&other).await;
    let mut foreign = body(&wait);
    foreign.insert("nonce".into(), forms(&other_html)["wait"]["nonce"].clone());
    for form in [missing, wrong, foreign] {
        let (status, html) = post(&link, &form).await;
        assert_eq!(status, 403, "{form:?}: {html}");
    }
    assert_eq!(
        s.t.scalar("SELECT COUNT(*) FROM outbox WHERE kind = 'kept_waiting'")
            .await,
        0
    );
    assert_eq!(s.t.scalar("SELECT COUNT(*) FROM portal_actions").await, 0);
}

#[tokio::test]
async fn a_replayed_form_applies_once() {
    let s = serve(None, None, &[]).await;
    let bo = ada_backorder(&s.t).await;
    let link = link_for(&s.t, "C-1001").await;
    let (_, html) = get(&link).await;
    let switch = body(&forms(&html)["switch"]);
    let (status, first) = post(&link, &switch).await;
    assert_eq!(status, 200, "{first}");
    assert!(first.contains("set aside for you"), "{first}");
    let free_after = free(&s.t, "TENT-3P").await;
    let (status, again) = post(&link, &switch).await;
    assert_eq!(status, 200, "{again}");
    assert!(again.contains("You made this choice already"), "{again}");
    assert_eq!(free(&s.t, "TENT-3P").await, free_after, "reserved once");
    assert_eq!(
        s.t.scalar(&format!(
            "SELECT COUNT(*) FROM outbox WHERE backorder_id = {bo} AND kind = 'switched'"
        ))
        .await,
        1
    );
    assert_eq!(
        s.t.scalar("SELECT COUNT(*) FROM channel_posts WHERE content LIKE '%switched%'")
            .await,
        1
    );
    // The page's other form, well made but never used, now names a backorder no longer open:
    // refused, and nothing changes.
    let stale = body(&forms(&html)["wait"]);
    let actions = s.t.scalar("SELECT COUNT(*) FROM portal_actions").await;
    let (status, page) = post(&link, &stale).await;
    assert_eq!(status, 409, "{page}");
    assert!(page.contains("no longer open"), "{page}");
    assert_eq!(
        s.t.scalar("SELECT COUNT(*) FROM portal_actions").await,
        actions
    );
}

#[tokio::test]
async fn another_customers_backorder_is_refused() {
    let s = serve(None, None, &[]).await;
    let ada = ada_backorder(&s.t).await;
    // Grace's page, with a well-made form naming Ada's backorder.
    let link = link_for(&s.t, "C-1002").await;
    let (_, html) = get(&link).await;
    let mut wait = body(&forms(&html)["wait"]);
    wait.insert("backorder".into(), ada.to_string());
    let (status, html) = post(&link, &wait).await;
    assert_eq!(status, 409, "{html}");
    assert!(html.contains("not one of yours"), "{html}");
    assert!(!html.contains("Ada"), "{html}");
    let mut cancel = body(&forms(&html)["cancel"]);
    cancel.insert("backorder".into(), ada.to_string());
    cancel.insert("reason".into(), "too_long".into());
    let (status, _) = post(&link, &cancel).await;
    assert_eq!(status, 409);
    assert_eq!(
        s.t.scalar(&format!(
            "SELECT COUNT(*) FROM backorders WHERE id = {ada} AND status = 'open'"
        ))
        .await,
        1
    );
    assert_eq!(s.t.scalar("SELECT COUNT(*) FROM portal_actions").await, 0);
}

#[tokio::test]
async fn requests_beyond_per_minute_get_429_with_retry_after() {
    let s = serve(None, None, &[("BACKORDER_BOT__PORTAL__PER_MINUTE", "5")]).await;
    let link = link_for(&s.t, "C-1001").await;
    for i in 0..5 {
        let (status, _) = get(&link).await;
        assert_eq!(status, 200, "request {i}");
    }
    let r = client().get(&link).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 429);
    let wait: u64 = r.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    // Unknown tokens count too: guessing is limited the same way.
    let (status, _) = get(&format!("{}/b/AAAAAAAAAAAAAAAAAAAAAA", s.base)).await;
    assert_eq!(status, 429);
    // Other routes are not limited.
    let (status, _) = get(&format!("{}/healthz", s.base)).await;
    assert_eq!(status, 200);
}

/// Behind a proxy listed in `http.trusted_proxies` each customer has a limit of their own: the
/// address the proxy forwards last counts; without the setting the header is not read, so every
/// request through the proxy shares its address (and a client cannot pick one).
#[tokio::test]
async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_limit() {
    let via = |link: &str, forwarded: &str| {
        client()
            .get(link)
            .header("X-Forwarded-For", forwarded)
            .send()
    };
    let status = |r: reqwest::Response| r.status().as_u16();

    let s = serve(
        None,
        None,
        &[
            ("BACKORDER_BOT__PORTAL__PER_MINUTE", "2"),
            ("BACKORDER_BOT__HTTP__TRUSTED_PROXIES", "127.0.0.0/8"),
        ],
    )
    .await;
    let link = link_for(&s.t, "C-1001").await;
    for i in 0..2 {
        // What the client wrote before the proxy's hop is not read.
        let r = via(&link, &format!("198.51.100.{i}, 203.0.113.1"))
            .await
            .unwrap();
        assert_eq!(status(r), 200, "request {i}");
    }
    assert_eq!(status(via(&link, "203.0.113.1").await.unwrap()), 429);
    assert_eq!(status(via(&link, "203.0.113.2").await.unwrap()), 200);
    assert_eq!(status(via(&link, "203.0.113.2").await.unwrap()), 200);
    assert_eq!(status(via(&link, "203.0.113.2").await.unwrap()), 429);

    let s = serve(None, None, &[("BACKORDER_BOT__PORTAL__PER_MINUTE", "2")]).await;
    let link = link_for(&s.t, "C-1001").await;
    assert_eq!(status(via(&link, "203.0.113.1").await.unwrap()), 200);
    assert_eq!(status(via(&link, "203.0.113.2").await.unwrap()), 200);
    assert_eq!(status(via(&link, "203.0.113.3").await.unwrap()), 429);
}

#[tokio::test]
async fn cancelling_on_the_page_is_a_lost_sale_and_a_switch_is_not() {
    let s = serve(None, None, &[]).await;
    let ada = ada_backorder(&s.t).await;
    let link = link_for(&s.t, "C-1001").await;
    let (_, html) = get(&link).await;
    let switch = body(&forms(&html)["switch"]);
    let line = |r: &str, label: &str| {
        r.lines()
            .find(|l| l.contains(label))
            .unwrap_or_else(|| panic!("{label} in {r}"))
            .to_string()
    };
    let lost = |r: &str| line(r, "Lost sales");
    let report = s.t.ok("/report days:7").await;
    let before = lost(&report);
    let fill = line(&report, "Fill rate");
    assert_eq!(post(&link, &switch).await.0, 200);
    let report = s.t.ok("/report days:7").await;
    assert_eq!(lost(&report), before, "a switch is no lost sale");
    assert_eq!(
        line(&report, "Fill rate"),
        fill,
        "the line switched to replaces the backordered one: no new filled line"
    );
    // Grace cancels: a lost sale, a cancelled confirmation and an ops line.
    let link = link_for(&s.t, "C-1002").await;
    let (_, html) = get(&link).await;
    let mut cancel = body(&forms(&html)["cancel"]);
    let (status, html) = post(&link, &cancel).await;
    assert_eq!(status, 422, "a reason is needed: {html}");
    cancel.insert("reason".into(), "found_elsewhere".into());
    let (status, html) = post(&link, &cancel).await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("is cancelled"), "{html}");
    let after = lost(&s.t.ok("/report days:7").await);
    assert_ne!(after, before, "a cancel is a lost sale");
    assert!(after.contains("(1 backorder cancelled, 1 unit)"), "{after}");
    assert_eq!(
        s.t.scalar("SELECT COUNT(*) FROM outbox WHERE kind = 'cancelled'")
            .await,
        1
    );
    let (reason,): (String,) =
        s.t.row(
            "SELECT close_reason FROM backorders b JOIN customers c ON c.id = b.customer_id
             WHERE c.external_id = 'C-1002'",
        )
        .await;
    assert_eq!(reason, "I found it elsewhere");
    let posts: Vec<String> =
        s.t.rows::<(String,)>("SELECT content FROM channel_posts ORDER BY id")
            .await
            .into_iter()
            .map(|(c,)| c)
            .collect();
    assert!(posts
        .iter()
        .any(|p| p.contains(&format!("#{ada}")) && p.contains("switched")));
    assert!(posts
        .iter()
        .any(|p| p.contains("cancelled") && p.contains("I found it elsewhere")));
}

#[tokio::test]
async fn keep_waiting_is_recorded_and_confirmed() {
    let mock = MockTwilio::start().await;
    let s = serve(Some(&mock), None, &[]).await;
    text_ada(&s.t).await;
    let (link, _) = link_in_last_sms(&mock, "+447700900001");
    let (_, html) = get(&link).await;
    let (status, html) = post(&link, &body(&forms(&html)["wait"])).await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("we keep your backorder"), "{html}");
    assert!(
        html.contains("2 × Trailhead 2-person tent"),
        "still open: {html}"
    );
    dispatch(&s.t).await;
    let (new_link, text) = link_in_last_sms(&mock, "+447700900001");
    assert!(text.contains("thank you for waiting"), "{text}");
    assert_ne!(new_link, link, "a new message brings a new link");
    assert_eq!(
        s.t.scalar("SELECT COUNT(*) FROM portal_actions WHERE action = 'keep_waiting'")
            .await,
        1
    );
}

#[tokio::test]
async fn a_reply_1_switches_when_the_last_sms_offered_it() {
    let mock = MockTwilio::start().await;
    let s = serve(Some(&mock), None, &[]).await;
    let bo = ada_backorder(&s.t).await;
    text_ada(&s.t).await;
    let (_, text) = link_in_last_sms(&mock, "+447700900001");
    assert!(
        text.contains("Reply 1 to take Basecamp 3-person tent instead"),
        "{text}"
    );
    assert!(
        backorder_bot::domain::notify::sms_segments(&text).1 <= s.t.app.settings.sms.max_segments,
        "{text}"
    );
    let (_, reply) =
        backorder_bot::app::notify::inbound(&s.t.app, "+447700900001", " 1 ", Some("SM1"))
            .await
            .unwrap();
    assert!(
        reply.contains("2 × Basecamp 3-person tent set aside"),
        "{reply}"
    );
    assert_eq!(
        s.t.scalar(&format!(
            "SELECT COUNT(*) FROM backorders WHERE id = {bo} AND switched_to_line_id IS NOT NULL"
        ))
        .await,
        1
    );
    // Twilio retrying the webhook, or the customer sending 1 again: nothing more happens.
    let (_, again) =
        backorder_bot::app::notify::inbound(&s.t.app, "+447700900001", "1", Some("SM1"))
            .await
            .unwrap();
    assert!(again.contains("You made this choice already"), "{again}");
    assert_eq!(free(&s.t, "TENT-3P").await, 4);
    // A customer whose last SMS offered nothing gets the usual answer.
    let (_, other) = backorder_bot::app::notify::inbound(&s.t.app, "+12025550104", "1", None)
        .await
        .unwrap();
    assert!(!other.contains("set aside"), "{other}");
}

#[tokio::test]
async fn with_no_public_url_links_point_at_the_bind_address() {
    let t = common::spawn_demo_app_with(&[("BACKORDER_BOT__HTTP__BIND", "127.0.0.1:8099")]).await;
    let id = CustomerId(customer(&t, "C-1001").await);
    let mut conn = t.app.store.conn().await.unwrap();
    let link = portal::new_link(&t.app, &mut conn, id, Channel::Sms, None)
        .await
        .unwrap();
    assert!(
        link.url.starts_with("http://127.0.0.1:8099/b/"),
        "{}",
        link.url
    );
    let token = link.url.rsplit('/').next().unwrap();
    assert_eq!(token.len(), 22);
    // Only the hash is kept.
    let stored: i64 = t
        .scalar(&format!(
            "SELECT COUNT(*) FROM portal_links WHERE token_hash LIKE '%{token}%'"
        ))
        .await;
    assert_eq!(stored, 0);
}

/// Customers `n` each wait for 1 × A; A's substitute B has `stock` units; all switch at once.
async fn race(n: usize, stock: i64) -> (i64, i64, i64) {
    let t = common::spawn_app().await;
    t.import("suppliers", "code,name\nACME,Acme\n")
        .await
        .unwrap();
    t.import(
        "products",
        &format!(
            "sku,name,category,unit_price,on_hand,reorder_point,safety_stock,reorder_qty,lead_time_days,supplier,substitutes\n\
             A,Tent A,tents,100.00,0,1,0,10,,ACME,B\n\
             B,Tent B,tents,90.00,{stock},1,0,10,,ACME,\n"
        ),
    )
    .await
    .unwrap();
    let mut customers = String::from("id,name,email,phone,tier,channel,timezone\n");
    let mut orders = String::from("order,customer,sku,qty,unit_price,ordered_at\n");
    for i in 0..n {
        customers.push_str(&format!(
            "C-{i},Cust {i},c{i}@example.com,,standard,email,\n"
        ));
        orders.push_str(&format!("O-{i},C-{i},A,1,100.00,2026-11-20\n"));
    }
    t.import("customers", &customers).await.unwrap();
    t.import("orders", &orders).await.unwrap();
    let mut tasks = Vec::new();
    for i in 0..n {
        let app = t.app.clone();
        let cid = CustomerId(
            t.scalar(&format!(
                "SELECT id FROM customers WHERE external_id = 'C-{i}'"
            ))
            .await,
        );
        let bo = BackorderId(
            t.scalar(&format!(
                "SELECT id FROM backorders WHERE customer_id = {}",
                cid.0
            ))
            .await,
        );
        let mut conn = t.app.store.conn().await.unwrap();
        let url = portal::new_link(&app, &mut conn, cid, Channel::Email, None)
            .await
            .unwrap()
            .url;
        drop(conn);
        let token = url.rsplit('/').next().unwrap().to_string();
        let page = portal::page(&app, &token).await.unwrap();
        let form = page.backorders[0].switch_form.clone();
        tasks.push(tokio::spawn(async move {
            portal::act(
                &app,
                &token,
                &Posted {
                    nonce: &form.nonce,
                    csrf: &form.csrf,
                    backorder: &bo.to_string(),
                    action: "switch",
                    sku: Some("B"),
                    reason: None,
                },
            )
            .await
            .unwrap()
        }));
    }
    let mut done = 0;
    for task in tasks {
        if matches!(task.await.unwrap(), Outcome::Done(_)) {
            done += 1;
        }
    }
    let allocated = t
        .scalar("SELECT sp.allocated FROM stock_positions sp JOIN products p ON p.id = sp.product_id WHERE p.sku = 'B'")
        .await;
    let held = t
        .scalar("SELECT CAST(COALESCE(SUM(r.qty), 0) AS BIGINT) FROM reservations r JOIN products p ON p.id = r.product_id WHERE p.sku = 'B' AND r.status = 'held'")
        .await;
    (done, allocated, held)
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 8, ..Default::default() })]
    #[test]
    fn concurrent_switches_on_the_last_units_never_oversell(n in 2usize..6, stock in 0i64..3) {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let (done, allocated, held) = rt.block_on(race(n, stock));
        // Each switch takes one unit: exactly as many as there were units, never more.
        proptest::prop_assert_eq!(done, (n as i64).min(stock));
        proptest::prop_assert_eq!(allocated, done);
        proptest::prop_assert_eq!(held, done);
        proptest::prop_assert!(allocated <= stock);
    }
}

/// A code the incentives issued with a message is on the page too, under its backorder, shown
/// as typed (escaped).
#[tokio::test]
async fn the_page_shows_the_discount_code_issued_to_a_backorder() {
    let mock = MockTwilio::start().await;
    let s = serve(
        Some(&mock),
        None,
        &[
            ("BACKORDER_BOT__INCENTIVES__AFTER_DAYS", "0"),
            ("BACKORDER_BOT__INCENTIVES__SLIP_DAYS", "1"),
        ],
    )
    .await;
    s.t.import("discount-codes", "code,kind,value\nSORRY<b>7,discount,10\n")
        .await
        .unwrap();
    text_ada(&s.t).await;
    let (link, text) = link_in_last_sms(&mock, "+447700900001");
    assert!(text.contains("code SORRY<b>7 gives 10% off"), "{text}");
    let (status, html) = get(&link).await;
    assert_eq!(status, 200, "{html}");
    assert!(
        html.contains("code <strong>SORRY&lt;b&gt;7</strong> gives 10% off your next order"),
        "{html}"
    );
    assert!(!html.contains("SORRY<b>"), "escaped: {html}");
}

/// The page's text as a browser shows it: the entities the one HTML escaper writes, read back.
fn shown(html: &str) -> String {
    // `&amp;` last, so an escaped entity reads back as typed.
    let entities = [
        ("&lt;", "<"),
        ("&gt;", ">"),
        ("&quot;", "\""),
        ("&#x27;", "'"),
        ("&#x2f;", "/"),
        ("&amp;", "&"),
    ];
    entities
        .iter()
        .fold(html.to_string(), |s, (entity, c)| s.replace(entity, c))
}

#[tokio::test]
async fn names_from_outside_are_shown_as_typed_and_inert_on_the_page() {
    let s = serve(None, None, &[]).await;
    // The first word of a name is what the page greets.
    let customer =
        "<script>alert('x')</script>&\"Ada\"@here[claim](https://evil.example/c) Lovelace";
    let item = "@here <script>alert(1)</script> O'Brien & \"Sons\" [claim](https://evil.example/i)";
    let substitute = "<img src=x onerror=alert(2)> Tent & 'Co' https://evil.example/s";
    let sql = |table: &str, name: &str, key: &str| {
        format!(
            "UPDATE {table} SET name = '{}' WHERE {key}",
            name.replace('\'', "''")
        )
    };
    s.t.exec(&sql("customers", customer, "external_id = 'C-1001'"))
        .await;
    s.t.exec(&sql("products", item, "sku = 'TENT-2P'")).await;
    s.t.exec(&sql("products", substitute, "sku = 'TENT-3P'"))
        .await;
    let link = link_for(&s.t, "C-1001").await;
    let (status, html) = get(&link).await;
    assert_eq!(status, 200, "{html}");
    let first = customer.split_whitespace().next().unwrap();
    let text = shown(&html);
    assert!(text.contains(&format!("Hello {first},")), "{html}");
    assert!(text.contains(&format!("2 × {item}")), "{html}");
    assert!(text.contains(substitute), "{html}");
    for inert in ["<script", "<img", "<a ", "href=\"https://evil"] {
        assert!(!html.contains(inert), "{inert}: {html}");
    }
    assert!(
        !html.contains("O'Brien") && !html.contains("\"Sons\""),
        "{html}"
    );
}
