//! Text from outside comes in as typed or not at all: CSV import and the ingest API refuse
//! control characters and bidi overrides with the row and column (or field) named, and keep
//! every other name as typed; the alert's CSV attachment and the e-mail's HTML part show it
//! without letting it act (a formula, a broken row, a script).

mod common;
#[path = "support/smtp_server.rs"]
mod smtp_server;

use backorder_bot::adapters::dispatcher::Dispatcher;
use backorder_bot::app::alerts::{self, RunOutcome};
use backorder_bot::app::Clock;
use backorder_bot::startup::Application;
use backorder_bot::store::alerts::Trigger;
use common::{spawn_app, spawn_app_with, test_now, TestApp, NIGHTLY_RULE};
use serde_json::{json, Value};
use smtp_server::SmtpServer;

const REAL: &str = "O'Brien & Sons — Café 東京 🙂";
const MARKDOWN: &str = "@here Wireless Mouse <@222> **FREE** [claim](https://evil.example)";
const PINGS: &str = "@everyone <@&900000000000000001> Grace [support](https://evil.example/login)";
const MARKS: &str = "```js *** ||spoiler|| `x` ***";
const SCRIPT: &str = "<script>alert(1)</script>";

const PRODUCTS: &str = "sku,name,category,unit_price,on_hand\n";

/// A CSV cell with its quotes doubled (the fixture's names hold commas, quotes and spaces).
fn q(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

async fn names(t: &TestApp, sql: &str) -> Vec<String> {
    t.rows::<(String,)>(sql)
        .await
        .into_iter()
        .map(|(name,)| name)
        .collect()
}

#[tokio::test]
async fn hostile_and_real_names_import_and_read_back_as_typed() {
    let t = spawn_app().await;
    t.import("suppliers", &format!("code,name\nOBS,{}\n", q(REAL)))
        .await
        .unwrap();
    let csv = format!(
        "{PRODUCTS}MS-200,{},{},10.00,0\nMARK-1,{},x,1.00,1\nREAL-1,{},{},2.50,3\n",
        q(MARKDOWN),
        q(MARKS),
        q(MARKS),
        q(REAL),
        q(REAL),
    );
    t.import("products", &csv).await.unwrap();
    t.import(
        "customers",
        &format!(
            "id,name,email\nC-1,{},grace@example.com\nC-2,{},obrien@example.com\n",
            q(PINGS),
            q(REAL)
        ),
    )
    .await
    .unwrap();
    assert_eq!(
        names(&t, "SELECT name FROM products ORDER BY sku").await,
        [MARKS, MARKDOWN, REAL]
    );
    assert_eq!(
        names(&t, "SELECT category FROM products ORDER BY sku").await,
        ["x", MARKS, REAL]
    );
    assert_eq!(
        names(&t, "SELECT name FROM customers ORDER BY external_id").await,
        [PINGS, REAL]
    );
    assert_eq!(names(&t, "SELECT name FROM suppliers").await, [REAL]);
    // And the product is found by its words.
    let found = t.ok("/search query:\"Café 東京\"").await;
    assert!(found.contains("REAL-1"), "{found}");
}

#[tokio::test]
async fn a_name_a_terminal_would_obey_is_refused_with_row_and_column_and_nothing_is_written() {
    let t = spawn_app().await;
    for (csv, expected) in [
        (
            format!("{PRODUCTS}OK-1,Fine,,1.00,1\nBAD-1,Mouse \u{1b}[31mRED,,1.00,1\n"),
            "line 3, column name: contains a control character (U+001B)",
        ),
        (
            format!("{PRODUCTS}OK-1,Fine,,1.00,1\nBAD-1,\u{1b}]0;pwned\u{7},,1.00,1\n"),
            "line 3, column name: contains a control character (U+001B)",
        ),
        (
            format!("{PRODUCTS}BAD-1,Mouse \u{202E}esuoM,,1.00,1\nOK-1,Fine,,1.00,1\n"),
            "line 2, column name: contains a bidi override (U+202E)",
        ),
        (
            format!("{PRODUCTS}BAD-1,Mouse,desk\u{2066}s,1.00,1\n"),
            "line 2, column category: contains a bidi override (U+2066)",
        ),
        (
            format!("{PRODUCTS}BAD-1,\"Two\nlines\",,1.00,1\n"),
            "line 2, column name: contains a control character (U+000A)",
        ),
        (
            format!("{PRODUCTS}BAD-1,\"Carriage\rreturn\",,1.00,1\n"),
            "line 2, column name: contains a control character (U+000D)",
        ),
    ] {
        let err = t.import("products", &csv).await.unwrap_err().to_string();
        assert!(err.contains("nothing was written"), "{csv:?}: {err}");
        assert!(err.contains(expected), "{csv:?}: {err}");
        assert!(
            !err.contains(['\u{1b}', '\u{7}', '\u{202E}', '\u{2066}', '\r']),
            "{err:?}"
        );
    }
    for (kind, csv, expected) in [
        (
            "customers",
            "id,name,email\nC-1,Ada \u{1b}[2J,ada@example.com\n",
            "line 2, column name: contains a control character (U+001B)",
        ),
        (
            "customers",
            "id,name,email\nC-\u{202E}1,Ada,ada@example.com\n",
            "line 2, column id: contains an invisible or control character (U+202E)",
        ),
        (
            "suppliers",
            "code,name\nACME,Acme\u{9b}31m\n",
            "line 2, column name: contains a control character (U+009B)",
        ),
        (
            "products",
            "sku,name,unit_price,supplier\nP-1,Pen,1.00,AC\u{1b}[8mME\n",
            "line 2, column supplier: contains an invisible or control character (U+001B)",
        ),
        (
            "purchase-orders",
            "po,supplier,sku,qty\nPO-1,\u{1b}]0;pwned\u{7},P-1,1\n",
            "line 2, column supplier: contains an invisible or control character (U+001B)",
        ),
        (
            "orders",
            "order,customer,sku,qty\nSO-1,C-\u{1b}[2J,P-1,1\n",
            "line 2, column customer: contains an invisible or control character (U+001B)",
        ),
        (
            "suppliers",
            "code,name\nAC\u{7f}ME,Acme\n",
            "line 2, column code: contains an invisible or control character (U+007F)",
        ),
    ] {
        let err = t.import(kind, csv).await.unwrap_err().to_string();
        assert!(err.contains(expected), "{kind} {csv:?}: {err}");
        assert!(
            !err.contains(['\u{1b}', '\u{7}', '\u{7f}', '\u{9b}']),
            "{err:?}"
        );
    }
    assert_eq!(
        t.scalar(
            "SELECT (SELECT COUNT(*) FROM products) + (SELECT COUNT(*) FROM customers)
                  + (SELECT COUNT(*) FROM suppliers)"
        )
        .await,
        0
    );
}

#[tokio::test]
async fn a_refused_row_deep_in_a_large_file_writes_none_of_the_rows_before_it() {
    // Products are staged in chunks while the file is read: the bad row comes after several.
    let t = spawn_app().await;
    let mut csv = String::from(PRODUCTS);
    for i in 0..7000 {
        let name = if i == 6500 {
            "Lamp \u{1b}]52;c;cGF5bG9hZA==\u{7}".to_string()
        } else {
            format!("Lamp {i}")
        };
        csv.push_str(&format!("L-{i:05},{name},lamps,1.00,1\n"));
    }
    let err = t.import("products", &csv).await.unwrap_err().to_string();
    assert!(
        err.contains("line 6502, column name: contains a control character (U+001B)"),
        "{err}"
    );
    assert_eq!(t.scalar("SELECT COUNT(*) FROM products").await, 0);
    assert_eq!(t.scalar("SELECT COUNT(*) FROM stock_movements").await, 0);
}

#[tokio::test]
async fn the_order_api_refuses_control_characters_naming_the_field() {
    backorder_bot::telemetry::init_for_tests();
    let dir = tempfile::tempdir().unwrap();
    let settings = common::settings(
        &dir,
        &[
            ("BACKORDER_BOT__HTTP__BIND", "127.0.0.1:0"),
            ("BACKORDER_BOT__SHOP__DEMO_DATA_ON_FIRST_START", "false"),
            ("INGEST_API_TOKEN", "s3cret"),
        ],
    );
    let mut application = Application::build(settings, Clock::fixed(test_now()))
        .await
        .unwrap();
    let addr = application.bind_http().await.unwrap();
    let t = TestApp {
        app: application.app.clone(),
        dir,
    };
    let (_stop, rx) = tokio::sync::watch::channel(false);
    tokio::spawn(application.run_until_stopped(false, rx));
    t.import(
        "products",
        &format!("{PRODUCTS}MS-200,{},,10.00,0\n", q(MARKDOWN)),
    )
    .await
    .unwrap();
    t.import(
        "customers",
        &format!("id,name,email\nC-1,{},c1@example.com\n", q(PINGS)),
    )
    .await
    .unwrap();
    let client = reqwest::Client::new();
    let post = |body: Value| {
        let req = client
            .post(format!("http://{addr}/api/v1/orders"))
            .bearer_auth("s3cret")
            .json(&body);
        async move {
            let resp = req.send().await.unwrap();
            let status = resp.status().as_u16();
            (status, resp.json::<Value>().await.unwrap())
        }
    };
    for (body, field) in [
        (
            json!({"order": "W-\u{1b}[31m1", "customer": "C-1", "lines": [{"sku": "MS-200", "qty": 1}]}),
            "order",
        ),
        (
            json!({"order": "W-1", "customer": "C-1\u{1b}]0;pwned\u{7}", "lines": [{"sku": "MS-200", "qty": 1}]}),
            "customer",
        ),
        (
            json!({"order": "W-1", "customer": "C-1", "lines": [{"sku": "MS-200", "qty": 1}, {"sku": "MS\u{202E}-200", "qty": 1}]}),
            "lines[1].sku",
        ),
    ] {
        let (status, got) = post(body.clone()).await;
        assert_eq!(
            (status, got["field"].as_str()),
            (422, Some(field)),
            "{body}: {got}"
        );
        let error = got["error"].as_str().unwrap();
        assert!(error.contains("U+"), "{error}");
        assert!(
            !error.contains(['\u{1b}', '\u{7}', '\u{202E}']),
            "{error:?}"
        );
    }
    assert_eq!(t.scalar("SELECT COUNT(*) FROM orders").await, 0);
    // The hostile but printable names are data like any other.
    let (status, got) =
        post(json!({"order": "W-1", "customer": "C-1", "lines": [{"sku": "MS-200", "qty": 1}]}))
            .await;
    assert_eq!(status, 201, "{got}");
    assert_eq!(got["lines"][0]["backordered"], 1, "{got}");
}

/// An application with one alert rule, on an empty database.
async fn alerts_app() -> TestApp {
    let config = format!("[discord]\nalert_channel_id = 1500000000000000001\n{NIGHTLY_RULE}");
    let (built, dir) = common::build(Some(&config), false, &[], Clock::fixed(test_now())).await;
    TestApp {
        app: built.app,
        dir,
    }
}

#[tokio::test]
async fn the_alert_csv_reads_back_one_row_per_line_with_names_as_written_and_formulas_guarded() {
    let t = alerts_app().await;
    t.import("suppliers", "code,name\n=ACME,Acme\n")
        .await
        .unwrap();
    // (sku, name as imported, name as the file must hold it)
    let special = [
        ("F-EQ", "=1+1", "'=1+1"),
        ("F-AT", "@SUM(A1)", "'@SUM(A1)"),
        ("F-MINUS", "-2", "'-2"),
        ("F-PLUS", "+x", "'+x"),
        ("F-REAL", REAL, REAL),
        (
            "F-MD",
            MARKDOWN,
            "'@here Wireless Mouse <@222> **FREE** [claim](https://evil.example)",
        ),
        ("F-QUOTE", "Say \"hi\", then go", "Say \"hi\", then go"),
        ("F-CR", "placeholder", "Before\rafter, \"quoted\"\nnext"),
    ];
    let mut csv = String::from(
        "sku,name,unit_price,on_hand,reorder_point,safety_stock,reorder_qty,supplier\n",
    );
    for (sku, name, _) in special {
        csv.push_str(&format!("{sku},{},1.00,1,5,0,10,=ACME\n", q(name)));
    }
    // Enough lines that the message cannot hold them all and the full list is attached.
    for i in 0..200 {
        csv.push_str(&format!("BULK-{i:03},Bulk item {i},1.00,1,5,0,10,=ACME\n"));
    }
    t.import("products", &csv).await.unwrap();
    // Stored before names were checked (import now refuses a CR): the writer must still quote it.
    t.exec_texts(
        "UPDATE products SET name = $1 WHERE sku = 'F-CR'",
        &["Before\rafter, \"quoted\"\nnext"],
    )
    .await;
    let rule = t.app.settings.alerts.rules[0].clone();
    let RunOutcome::Done(r) = alerts::run_rule(&t.app, &rule, Trigger::Manual, None)
        .await
        .unwrap()
    else {
        panic!("the rule did not run");
    };
    let (_, file) = r.message.unwrap().attachment.expect("a CSV attachment");
    let mut reader = csv::Reader::from_reader(file.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 208);
    assert_eq!(rows.len() as i64, r.counts.posted_lines);
    for (sku, _, written) in special {
        let row = rows
            .iter()
            .find(|row| &row[col("sku")] == sku)
            .unwrap_or_else(|| panic!("{sku} not in {file}"));
        assert_eq!(&row[col("name")], written, "{sku}");
        assert_eq!(&row[col("supplier")], "'=ACME");
        // Figures are numbers, never guarded.
        assert_eq!(&row[col("available")], "1");
        row[col("suggested_order")].parse::<i64>().unwrap();
    }
    let bulk = rows
        .iter()
        .filter(|r| r[col("sku")].starts_with("BULK-"))
        .count();
    assert_eq!(bulk, 200);
}

#[tokio::test]
async fn the_email_html_part_escapes_names_and_the_text_part_keeps_them_as_typed() {
    let smtp = SmtpServer::start().await;
    let port = smtp.port.to_string();
    let t = spawn_app_with(&[
        ("BACKORDER_BOT__EMAIL__HOST", "127.0.0.1"),
        ("BACKORDER_BOT__EMAIL__PORT", &port),
        ("BACKORDER_BOT__EMAIL__TLS", "none"),
        ("BACKORDER_BOT__EMAIL__FROM", "shop@example.com"),
        ("BACKORDER_BOT__NOTIFY__COALESCE", "0s"),
    ])
    .await;
    let product = format!("{REAL} {SCRIPT}");
    t.import("suppliers", "code,name,lead_time_days\nACME,Acme,14\n")
        .await
        .unwrap();
    t.import(
        "products",
        &format!(
            "sku,name,unit_price,on_hand,supplier\nOBS-1,{},10.00,0,ACME\n",
            q(&product)
        ),
    )
    .await
    .unwrap();
    t.import(
        "customers",
        &format!(
            "id,name,email,channel\nC-1,{},c1@example.com,email\n",
            q(&format!("{SCRIPT} Smith"))
        ),
    )
    .await
    .unwrap();
    t.import("orders", "order,customer,sku,qty\nSO-1,C-1,OBS-1,1\n")
        .await
        .unwrap();
    let round = Dispatcher::new(&t.app)
        .unwrap()
        .run_once(&t.app)
        .await
        .unwrap();
    assert_eq!(round.sent, 1, "{round:?}");
    let raw = smtp.messages();
    let msg = mail_parser::MessageParser::default()
        .parse(raw[0].as_bytes())
        .unwrap();
    let html = msg.body_html(0).unwrap();
    let text = msg.body_text(0).unwrap();
    assert!(!html.contains("<script>"), "{html}");
    assert!(
        html.contains("Hello &lt;script&gt;alert(1)&lt;&#x2f;script&gt;,"),
        "{html}"
    );
    assert!(
        html.contains(
            "O&#x27;Brien &amp; Sons — Café 東京 🙂 &lt;script&gt;alert(1)&lt;&#x2f;script&gt;"
        ),
        "{html}"
    );
    assert!(text.contains(&format!("Hello {SCRIPT},")), "{text}");
    assert!(text.contains(&product), "{text}");
    assert!(msg.subject().unwrap().contains(&product));
}
