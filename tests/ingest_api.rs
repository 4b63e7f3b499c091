//! The HTTP ingest API, through the real server on a loopback port.

mod common;

use backorder_bot::app::Clock;
use backorder_bot::startup::Application;
use serde_json::{json, Value};

struct Api {
    base: String,
    client: reqwest::Client,
    db: sqlx::SqlitePool,
    _stop: tokio::sync::watch::Sender<bool>,
    _dir: tempfile::TempDir,
}

async fn spawn_api(token: Option<&str>) -> Api {
    backorder_bot::telemetry::init_for_tests();
    let dir = tempfile::tempdir().unwrap();
    let mut extra = vec![
        ("BACKORDER_BOT__HTTP__BIND", "127.0.0.1:0"),
        ("BACKORDER_BOT__HTTP__MAX_BODY_BYTES", "4096"),
    ];
    if let Some(t) = token {
        extra.push(("INGEST_API_TOKEN", t));
    }
    let settings = common::settings(&dir, &extra);
    let mut application = Application::build(settings, Clock::fixed(common::test_now()))
        .await
        .unwrap();
    let addr = application.bind_http().await.unwrap();
    let db = application.app.store.pool().clone();
    let (tx, rx) = tokio::sync::watch::channel(false);
    tokio::spawn(application.run_until_stopped(false, rx));
    Api {
        base: format!("http://{addr}"),
        client: reqwest::Client::new(),
        db,
        _stop: tx,
        _dir: dir,
    }
}

impl Api {
    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
        key: Option<&str>,
    ) -> (u16, Value) {
        let mut req = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth("s3cret");
        if let Some(b) = body {
            req = req.json(&b);
        }
        if let Some(k) = key {
            req = req.header("Idempotency-Key", k);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    async fn count(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sql).fetch_one(&self.db).await.unwrap()
    }
}

#[tokio::test]
async fn an_order_reserves_and_backorders_and_a_repeated_key_changes_nothing() {
    let api = spawn_api(Some("s3cret")).await;
    let order =
        json!({"order": "WEB-1", "customer": "C-1005", "lines": [{"sku": "tent-3p", "qty": 10}]});
    let (status, body) = api
        .send(
            reqwest::Method::POST,
            "/api/v1/orders",
            Some(order.clone()),
            Some("k-1"),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["lines"][0]["reserved"], 6);
    assert_eq!(body["lines"][0]["backordered"], 4);
    let backorders = api.count("SELECT COUNT(*) FROM backorders").await;
    let (status, again) = api
        .send(
            reqwest::Method::POST,
            "/api/v1/orders",
            Some(order),
            Some("k-1"),
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(again, body);
    assert_eq!(
        api.count("SELECT COUNT(*) FROM backorders").await,
        backorders
    );
    let (status, body) = api
        .send(reqwest::Method::GET, "/api/v1/skus/TENT-3P", None, None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["open_backorders"], 1);
    assert_eq!(body["status"], "BACKORDERED");
}

#[tokio::test]
async fn bad_bodies_name_the_field_path() {
    let api = spawn_api(Some("s3cret")).await;
    let (status, body) = api
        .send(reqwest::Method::POST, "/api/v1/orders", Some(json!({"order": "W", "customer": "C-1005", "lines": [{"sku": "TENT-3P", "qty": "ten"}]})), None)
        .await;
    assert_eq!(status, 422);
    assert_eq!(body["field"], "lines[0].qty", "{body}");
    let (status, body) = api
        .send(
            reqwest::Method::POST,
            "/api/v1/orders",
            Some(
                json!({"order": "W", "customer": "C-1005", "lines": [{"sku": "NOPE-1", "qty": 1}]}),
            ),
            None,
        )
        .await;
    assert_eq!(status, 422);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("unknown SKU \"NOPE-1\""),
        "{body}"
    );
    assert_eq!(body["field"], "lines[0].sku", "{body}");
    let (status, body) = api
        .send(
            reqwest::Method::PATCH,
            "/api/v1/purchase-orders/PO-1002",
            Some(json!({"eta": "2026-02-30"})),
            None,
        )
        .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (422, Some("eta")),
        "{body}"
    );
    assert_eq!(
        api.count("SELECT COUNT(*) FROM orders WHERE order_number = 'W'")
            .await,
        0,
        "nothing half-written"
    );
}

#[tokio::test]
async fn patching_a_po_eta_repromises_its_backorders() {
    let api = spawn_api(Some("s3cret")).await;
    let (status, body) = api
        .send(
            reqwest::Method::PATCH,
            "/api/v1/purchase-orders/PO-1002",
            Some(json!({"eta": "2026-12-24"})),
            Some("p-1"),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["lines_changed"], 2);
    assert_eq!(body["backorders_with_new_eta"], 3);
    assert_eq!(api.count("SELECT COUNT(*) FROM backorders WHERE promised_eta = '2026-12-24' AND eta_kind = 'confirmed'").await, 2);
    let (status, body) = api
        .send(reqwest::Method::POST, "/api/v1/purchase-orders", Some(json!({"po": "PO-2001", "supplier": "ACME", "lines": [{"sku": "STOVE-GAS", "qty": 5, "eta": "2026-11-28"}]})), None)
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        body["backorders_with_new_eta"], 1,
        "the stove backorder is now due earlier"
    );
    let (status, _) = api
        .send(
            reqwest::Method::PATCH,
            "/api/v1/purchase-orders/PO-404",
            Some(json!({"eta": "2026-12-24"})),
            None,
        )
        .await;
    assert_eq!(status, 404);
    let (status, body) = api
        .send(
            reqwest::Method::POST,
            "/api/v1/stock/adjustments",
            Some(json!({"sku": "STOVE-GAS", "delta": 2, "reason": "found"})),
            None,
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["backorders_allocated"], json!([5]));
}

#[tokio::test]
async fn the_api_wants_its_token_and_refuses_huge_bodies() {
    let api = spawn_api(Some("s3cret")).await;
    let resp = api
        .client
        .get(format!("{}/api/v1/skus/TENT-2P", api.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    let resp = api
        .client
        .get(format!("{}/api/v1/skus/TENT-2P", api.base))
        .bearer_auth("wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    let big = json!({"order": "X".repeat(10_000), "customer": "C-1", "lines": []});
    let (status, _) = api
        .send(reqwest::Method::POST, "/api/v1/orders", Some(big), None)
        .await;
    assert_eq!(status, 413);
    let resp = api
        .client
        .get(format!("{}/healthz", api.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
}

#[tokio::test]
async fn without_a_token_the_api_is_disabled_but_health_answers() {
    let api = spawn_api(None).await;
    let (status, body) = api
        .send(reqwest::Method::GET, "/api/v1/skus/TENT-2P", None, None)
        .await;
    assert_eq!(status, 503);
    assert!(body["error"].as_str().unwrap().contains("disabled"));
    let resp = api
        .client
        .get(format!("{}/healthz", api.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
}
