//! The HTTP ingest API, through the real server on a loopback port.

mod common;

use backorder_bot::app::Clock;
use serde_json::{json, Value};

struct Api {
    app: backorder_bot::app::App,
    base: String,
    client: reqwest::Client,
    _stop: tokio::sync::watch::Sender<bool>,
    _dir: tempfile::TempDir,
}

async fn spawn_api(token: Option<&str>) -> Api {
    let mut extra = vec![
        ("BACKORDER_BOT__HTTP__BIND", "127.0.0.1:0"),
        ("BACKORDER_BOT__HTTP__MAX_BODY_BYTES", "4096"),
    ];
    if let Some(t) = token {
        extra.push(("INGEST_API_TOKEN", t));
    }
    // The demo shop (the default settings load it), on either engine.
    let (mut application, dir) = common::build(
        None,
        true,
        &common::vars(&extra),
        Clock::fixed(common::test_now()),
    )
    .await;
    let addr = application.bind_http().await.unwrap();
    let app = application.app.clone();
    let (tx, rx) = tokio::sync::watch::channel(false);
    tokio::spawn(application.run_until_stopped(false, rx));
    Api {
        app,
        base: format!("http://{addr}"),
        client: reqwest::Client::new(),
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

    /// Sends a body as given, with the content type given (none if `None`).
    async fn send_raw(
        &self,
        method: reqwest::Method,
        path: &str,
        body: &str,
        content_type: Option<&str>,
    ) -> (u16, Value) {
        let mut req = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth("s3cret")
            .body(body.to_string());
        if let Some(ct) = content_type {
            req = req.header("Content-Type", ct);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        let json = serde_json::from_str(&text)
            .unwrap_or_else(|_| panic!("{status}: the body is not JSON: {text:?}"));
        (status, json)
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.send(reqwest::Method::POST, path, Some(body), None)
            .await
    }

    async fn count(&self, sql: &str) -> i64 {
        self.app.store.scalar_i64(sql).await.unwrap()
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
async fn the_same_order_again_without_a_key_answers_200_with_what_it_did() {
    let api = spawn_api(Some("s3cret")).await;
    let order =
        json!({"order": "WEB-2", "customer": "C-1005", "lines": [{"sku": "TENT-3P", "qty": 10}]});
    let (status, first) = api.post("/api/v1/orders", order.clone()).await;
    assert_eq!(status, 201, "{first}");
    let backorder_id = first["lines"][0]["backorder_id"]
        .as_i64()
        .expect("a backorder");
    let backorders = api.count("SELECT COUNT(*) FROM backorders").await;
    let (status, again) = api.post("/api/v1/orders", order).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["order"], "WEB-2");
    assert_eq!(again["lines"][0]["backorder_id"], backorder_id, "{again}");
    assert_eq!(again["lines"][0]["reserved"], 6, "{again}");
    assert_eq!(again["lines"][0]["backordered"], 4, "{again}");
    assert_eq!(again["lines"][0]["unchanged"], true, "{again}");
    assert_eq!(
        api.count("SELECT COUNT(*) FROM backorders").await,
        backorders
    );
}

#[tokio::test]
async fn a_number_sent_as_text_is_refused_in_plain_words() {
    let api = spawn_api(Some("s3cret")).await;
    let (status, body) = api
        .post(
            "/api/v1/orders",
            json!({"order": "W", "customer": "C-1005", "lines": [{"sku": "TENT-3P", "qty": "2"}]}),
        )
        .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (422, Some("lines[0].qty"))
    );
    let error = body["error"].as_str().unwrap();
    assert!(!error.contains("i64"), "{error}");
    assert!(
        error.contains("whole number") && error.contains("\"2\""),
        "{error}"
    );
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

#[tokio::test]
async fn twenty_concurrent_requests_with_one_key_adjust_stock_once() {
    let api = std::sync::Arc::new(spawn_api(Some("s3cret")).await);
    let before = api
        .count("SELECT CAST(COALESCE(SUM(qty), 0) AS BIGINT) FROM stock_movements m JOIN products p ON p.id = m.product_id WHERE p.sku_key = 'LAMP-HEAD'")
        .await;
    let body = json!({"sku": "LAMP-HEAD", "delta": 5, "reason": "recount"});
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let (api, body) = (api.clone(), body.clone());
            tokio::spawn(async move {
                api.send(
                    reqwest::Method::POST,
                    "/api/v1/stock/adjustments",
                    Some(body),
                    Some("adj-20"),
                )
                .await
            })
        })
        .collect();
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.unwrap());
    }
    let first = answers
        .iter()
        .find(|(s, _)| *s == 201)
        .expect("one succeeded")
        .1
        .clone();
    for (status, body) in &answers {
        assert!(
            (*status == 201 && *body == first) || *status == 409,
            "{status} {body}"
        );
    }
    let after = api
        .count("SELECT CAST(COALESCE(SUM(qty), 0) AS BIGINT) FROM stock_movements m JOIN products p ON p.id = m.product_id WHERE p.sku_key = 'LAMP-HEAD'")
        .await;
    assert_eq!(
        after,
        before + 5,
        "applied once, not {} times",
        (after - before) / 5
    );
    assert_eq!(
        api.count("SELECT COUNT(*) FROM idempotency_keys WHERE key = 'adj-20'")
            .await,
        1
    );
}

#[tokio::test]
async fn a_key_reused_with_a_different_body_is_refused_naming_the_header() {
    let api = spawn_api(Some("s3cret")).await;
    let first = json!({"sku": "LAMP-HEAD", "delta": 1, "reason": "found one"});
    let (status, _) = api
        .send(
            reqwest::Method::POST,
            "/api/v1/stock/adjustments",
            Some(first.clone()),
            Some("k-9"),
        )
        .await;
    assert_eq!(status, 201);
    let (status, body) = api
        .send(
            reqwest::Method::POST,
            "/api/v1/stock/adjustments",
            Some(json!({"sku": "LAMP-HEAD", "delta": 7, "reason": "found seven"})),
            Some("k-9"),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["field"], "Idempotency-Key", "{body}");
    assert_eq!(
        api.count("SELECT COUNT(*) FROM stock_movements WHERE reason = 'found seven'")
            .await,
        0,
        "the second request was not applied"
    );
    let (status, body) = api
        .send(reqwest::Method::POST, "/api/v1/orders", Some(json!({"order": "W-9", "customer": "C-1005", "lines": [{"sku": "TENT-3P", "qty": 1}]})), Some("k-9"))
        .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (422, Some("Idempotency-Key")),
        "{body}"
    );
    let (status, _) = api
        .send(
            reqwest::Method::POST,
            "/api/v1/stock/adjustments",
            Some(first),
            Some("k-9"),
        )
        .await;
    assert_eq!(status, 201, "the same request is still replayed");
    assert_eq!(
        api.count("SELECT COUNT(*) FROM stock_movements WHERE reason = 'found one'")
            .await,
        1
    );
}

#[tokio::test]
async fn malformed_bodies_are_refused_and_every_error_is_json() {
    let api = spawn_api(Some("s3cret")).await;
    let order =
        r#"{"order": "W-2", "customer": "C-1005", "lines": [{"sku": "TENT-3P", "qty": 1}]}"#;
    let json_ct = Some("application/json");
    for (body, status, field) in [
        (format!("{order}{order}"), 400, "body"),
        (format!("{order} DROP TABLE orders"), 400, "body"),
        ("{\"order\": ".to_string(), 400, "body"),
        (
            r#"["W-2", "C-1005", [["TENT-3P", 1]]]"#.to_string(),
            422,
            "body",
        ),
        (
            r#"{"order": "W-2", "customer": "C-1005", "lines": [["TENT-3P", 1]]}"#.to_string(),
            422,
            "lines[0]",
        ),
    ] {
        let (got, json) = api
            .send_raw(reqwest::Method::POST, "/api/v1/orders", &body, json_ct)
            .await;
        assert_eq!(
            (got, json["field"].as_str()),
            (status, Some(field)),
            "{body}: {json}"
        );
        assert!(json["error"].is_string(), "{json}");
    }
    for ct in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
    ] {
        let (got, json) = api
            .send_raw(reqwest::Method::POST, "/api/v1/orders", order, ct)
            .await;
        assert_eq!(got, 415, "{ct:?}: {json}");
        assert_eq!(json["field"], "Content-Type");
    }
    let (got, json) = api
        .send_raw(
            reqwest::Method::POST,
            "/api/v1/orders",
            order,
            Some("application/json; charset=utf-8"),
        )
        .await;
    assert_eq!(got, 201, "{json}");
    assert_eq!(
        api.count("SELECT COUNT(*) FROM orders WHERE order_number = 'W-2'")
            .await,
        1,
        "only the well-formed request was stored"
    );
    let (got, json) = api
        .send_raw(reqwest::Method::DELETE, "/api/v1/orders", "", None)
        .await;
    assert_eq!(got, 405);
    assert!(json["error"].is_string());
    let (got, json) = api
        .send_raw(reqwest::Method::GET, "/api/v1/nothing-here", "", None)
        .await;
    assert_eq!(got, 404);
    assert!(json["error"].is_string());
    let big = format!(
        r#"{{"order": "{}", "customer": "C-1", "lines": []}}"#,
        "X".repeat(10_000)
    );
    let (got, json) = api
        .send_raw(reqwest::Method::POST, "/api/v1/orders", &big, json_ct)
        .await;
    assert_eq!((got, json["field"].as_str()), (413, Some("body")), "{json}");
}

#[tokio::test]
async fn every_input_error_names_its_field_path() {
    let api = spawn_api(Some("s3cret")).await;
    let cases = [
        (
            json!({"order": "W-3", "customer": "C-404", "lines": [{"sku": "TENT-3P", "qty": 1}]}),
            422,
            "customer",
        ),
        (
            json!({"customer": "C-1005", "lines": [{"sku": "TENT-3P", "qty": 1}]}),
            422,
            "order",
        ),
        (
            json!({"order": "W-3", "customer": "C-1005", "lines": [{"sku": "TENT-3P"}]}),
            422,
            "lines[0].qty",
        ),
        (
            json!({"order": "W-3", "customer": "C-1005", "lines": [{"sku": "TENT-3P", "qty": 1, "colour": "red"}]}),
            422,
            "lines[0].colour",
        ),
        (
            json!({"order": "W-3", "customer": "C-1005", "lines": []}),
            422,
            "lines",
        ),
        (
            json!({"order": "W-3", "customer": "C-1005", "lines": [{"sku": "TENT-3P", "qty": 0}]}),
            422,
            "lines[0].qty",
        ),
    ];
    for (body, status, field) in cases {
        let (got, json) = api.post("/api/v1/orders", body.clone()).await;
        assert_eq!(
            (got, json["field"].as_str()),
            (status, Some(field)),
            "{body}: {json}"
        );
    }
    let actor = backorder_bot::app::Actor::operator("tester");
    backorder_bot::app::purchasing::receive(&api.app, &actor, "PO-1001", Some("TENT-2P"), Some(5))
        .await
        .unwrap();
    let (got, json) = api
        .send(
            reqwest::Method::PATCH,
            "/api/v1/purchase-orders/PO-1001",
            Some(json!({"lines": [{"sku": "TENT-2P", "qty": 2}]})),
            None,
        )
        .await;
    assert_eq!(
        (got, json["field"].as_str()),
        (422, Some("lines[0].qty")),
        "{json}"
    );
    let (got, json) = api
        .send(
            reqwest::Method::PATCH,
            "/api/v1/purchase-orders/PO-404",
            Some(json!({"eta": "2026-12-24"})),
            None,
        )
        .await;
    assert_eq!((got, json["field"].as_str()), (404, Some("po")), "{json}");
    let (got, json) = api
        .send(
            reqwest::Method::PATCH,
            "/api/v1/purchase-orders/PO-1001",
            Some(json!({"status": "received"})),
            None,
        )
        .await;
    assert_eq!(
        (got, json["field"].as_str()),
        (422, Some("status")),
        "{json}"
    );
}

#[tokio::test]
async fn values_that_would_break_the_queue_are_refused() {
    let api = spawn_api(Some("s3cret")).await;
    let line = |extra: Value| {
        let mut l = json!({"sku": "TENT-3P", "qty": 1});
        l.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        l
    };
    let cases = [
        (
            json!({"order": "W-4", "customer": "C-1005", "ordered_at": "0001-01-01T00:00:00Z", "lines": [line(json!({}))]}),
            "ordered_at",
        ),
        (
            json!({"order": "W-4", "customer": "C-1005", "ordered_at": "+10000-01-01T00:00:00Z", "lines": [line(json!({}))]}),
            "ordered_at",
        ),
        (
            json!({"order": "W-4", "customer": "C-1005", "ordered_at": "2026-11-28T12:00:00Z", "lines": [line(json!({}))]}),
            "ordered_at",
        ),
        (
            json!({"order": "W-4", "customer": "C-1005", "lines": [line(json!({"unit_price_minor": i64::MAX}))]}),
            "lines[0].unit_price_minor",
        ),
        (
            json!({"order": "W-4", "customer": "C-1005", "lines": [line(json!({"unit_price_minor": -1}))]}),
            "lines[0].unit_price_minor",
        ),
        (
            json!({"order": "W-4", "customer": "C-1005", "lines": [line(json!({"qty": 1_000_001}))]}),
            "lines[0].qty",
        ),
    ];
    for (body, field) in cases {
        let (got, json) = api.post("/api/v1/orders", body.clone()).await;
        assert_eq!(
            (got, json["field"].as_str()),
            (422, Some(field)),
            "{body}: {json}"
        );
    }
    assert_eq!(
        api.count("SELECT COUNT(*) FROM orders WHERE order_number = 'W-4'")
            .await,
        0
    );
    let (got, json) = api
        .post(
            "/api/v1/stock/adjustments",
            json!({"sku": "LAMP-HEAD", "delta": i64::MIN, "reason": "wrap"}),
        )
        .await;
    assert_eq!(
        (got, json["field"].as_str()),
        (422, Some("delta")),
        "{json}"
    );
    let (got, json) = api
        .send(
            reqwest::Method::PATCH,
            "/api/v1/purchase-orders/PO-1002",
            Some(json!({"eta": "+10000-01-01"})),
            None,
        )
        .await;
    assert_eq!((got, json["field"].as_str()), (422, Some("eta")), "{json}");
    let (got, json) = api
        .post("/api/v1/orders", json!({"order": "W-5", "customer": "C-1005", "ordered_at": "2026-11-20", "lines": [line(json!({"qty": 2, "unit_price_minor": 1_000_000_000_000i64}))]}))
        .await;
    assert_eq!(
        got, 201,
        "the largest price times a quantity still fits: {json}"
    );
}

#[tokio::test]
async fn two_lines_for_one_sku_are_refused_not_merged() {
    let api = spawn_api(Some("s3cret")).await;
    let (got, json) = api
        .post("/api/v1/orders", json!({"order": "W-6", "customer": "C-1005", "lines": [{"sku": "TENT-3P", "qty": 1}, {"sku": "tent-3p", "qty": 2}]}))
        .await;
    assert_eq!(
        (got, json["field"].as_str()),
        (422, Some("lines[1].sku")),
        "{json}"
    );
    assert_eq!(
        api.count("SELECT COUNT(*) FROM orders WHERE order_number = 'W-6'")
            .await,
        0
    );
    let (got, json) = api
        .post("/api/v1/purchase-orders", json!({"po": "PO-7", "supplier": "ACME", "lines": [{"sku": "STOVE-GAS", "qty": 1}, {"sku": "Stove-Gas", "qty": 2}]}))
        .await;
    assert_eq!(
        (got, json["field"].as_str()),
        (422, Some("lines[1].sku")),
        "{json}"
    );
}

#[tokio::test]
async fn invisible_characters_are_refused_in_identifiers_and_stripped_from_reasons() {
    let api = spawn_api(Some("s3cret")).await;
    for (body, field) in [
        (
            json!({"order": "W-\u{202E}7", "customer": "C-1005", "lines": [{"sku": "TENT-3P", "qty": 1}]}),
            "order",
        ),
        (
            json!({"order": "W-7\u{0}", "customer": "C-1005", "lines": [{"sku": "TENT-3P", "qty": 1}]}),
            "order",
        ),
        (
            json!({"order": "W-7", "customer": "C-1005", "lines": [{"sku": "\u{FEFF}TENT-3P", "qty": 1}]}),
            "lines[0].sku",
        ),
    ] {
        let (got, json) = api.post("/api/v1/orders", body.clone()).await;
        assert_eq!(
            (got, json["field"].as_str()),
            (422, Some(field)),
            "{body}: {json}"
        );
    }
    let (got, json) = api
        .post("/api/v1/purchase-orders", json!({"po": "PO-\u{2066}8", "supplier": "ACME", "lines": [{"sku": "STOVE-GAS", "qty": 1}]}))
        .await;
    assert_eq!((got, json["field"].as_str()), (422, Some("po")), "{json}");
    let (got, json) = api
        .post(
            "/api/v1/stock/adjustments",
            json!({"sku": "LAMP-HEAD", "delta": 1, "reason": "found\u{202E} one\u{0}"}),
        )
        .await;
    assert_eq!(got, 201, "{json}");
    assert_eq!(
        api.count("SELECT COUNT(*) FROM stock_movements WHERE reason = 'found one'")
            .await,
        1
    );
}

/// Runs a console line as an operator; returns its text and whether it was a user error.
async fn console(app: &backorder_bot::app::App, line: &str) -> (String, bool) {
    use backorder_bot::commands::{self, Invocation, Outcome};
    let inv = Invocation::parse_line(line).unwrap();
    let actor = backorder_bot::app::Actor::operator("tester");
    let (reply, outcome) = commands::run(app, &actor, &inv).await;
    (reply.to_text(), outcome == Outcome::UserError)
}

/// The `max_length` Discord is told for `option` of command `name`.
fn discord_max_length(name: &str, option: &str) -> Value {
    use backorder_bot::adapters::discord::slash;
    let reg = slash::registration(&slash::framework_commands());
    let cmd = reg
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap();
    let opt = cmd["options"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["name"] == option)
        .unwrap();
    opt["max_length"].clone()
}

#[tokio::test]
async fn reason_and_sku_limits_agree_between_discord_console_and_api() {
    use backorder_bot::domain::{text::MAX_REASON_CHARS, Sku};
    let api = spawn_api(Some("s3cret")).await;
    assert_eq!(
        discord_max_length("adjust", "reason"),
        json!(MAX_REASON_CHARS)
    );
    assert_eq!(discord_max_length("adjust", "sku"), json!(Sku::MAX_LEN));
    assert_eq!(discord_max_length("stock", "sku"), json!(Sku::MAX_LEN));

    // A reason as long as the domain allows goes through everywhere.
    let longest = "r".repeat(MAX_REASON_CHARS);
    let (text, refused) = console(
        &api.app,
        &format!("/adjust sku:LAMP-HEAD delta:1 reason:{longest}"),
    )
    .await;
    assert!(!refused, "{text}");
    let (got, json) = api
        .post(
            "/api/v1/stock/adjustments",
            json!({"sku": "LAMP-HEAD", "delta": 1, "reason": longest}),
        )
        .await;
    assert_eq!(got, 201, "{json}");

    // One more character, or a SKU one longer than a SKU may be, is refused the same way.
    for (sku, reason, field) in [
        ("LAMP-HEAD".to_string(), format!("{longest}r"), "reason"),
        ("S".repeat(Sku::MAX_LEN + 1), "why".to_string(), "sku"),
    ] {
        let (got, json) = api
            .post(
                "/api/v1/stock/adjustments",
                json!({"sku": sku, "delta": 1, "reason": reason}),
            )
            .await;
        assert_eq!((got, json["field"].as_str()), (422, Some(field)), "{json}");
        let error = json["error"].as_str().unwrap();
        let (text, refused) = console(
            &api.app,
            &format!("/adjust sku:{sku} delta:1 reason:{reason}"),
        )
        .await;
        assert!(
            refused && text.contains(error),
            "API: {error}; console: {text}"
        );
    }
}
