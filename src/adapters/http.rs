//! The HTTP ingest API (axum): the shop's systems feed orders, purchase orders and stock
//! adjustments in real time. Bearer token from `INGEST_API_TOKEN`; bodies are one JSON object
//! (`Content-Type: application/json`); every error is JSON `{"error", "field"?}`, and every 4xx
//! about input names the field path. `Idempotency-Key` makes a change happen once
//! ([`crate::app::idempotency`]). `GET /metrics` (Prometheus text) and `/healthz` need no token.

use crate::app::idempotency::{self, Unit, Work};
use crate::app::orders::{place_order_in, NewOrder};
use crate::app::purchasing::{save_po_in, PoInput};
use crate::app::stock::{adjust_in, query_stock};
use crate::app::{Actor, App, AppError};
use crate::domain::date::{parse_date, parse_ordered_at};
use crate::domain::{IdempotencyKey, RequestedStatus};
use crate::shutdown::Shutdown;
use crate::telemetry::metrics;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts, Path, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use axum::{Json, Router};
use secrecy::ExposeSecret;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};
use std::net::{IpAddr, SocketAddr};
use tokio::net::TcpListener;

/// The address a request is counted as (the customer page's request limit): its TCP peer, or,
/// when the peer is one of `trusted` (`http.trusted_proxies`), the address its
/// `X-Forwarded-For` names last, the one that proxy saw. Further trusted proxies named there are
/// walked back past, so a chain of listed proxies ends at the first address none of them is;
/// what a client wrote further left is never read. A hop that does not read as an address stops
/// the walk at the last trusted one (those requests share its address).
pub fn client_address(peer: IpAddr, headers: &HeaderMap, trusted: &[ipnet::IpNet]) -> IpAddr {
    let is_trusted = |a: &IpAddr| trusted.iter().any(|n| n.contains(a));
    let mut client = peer.to_canonical();
    if !is_trusted(&client) {
        return client;
    }
    // Hops in the order proxies appended them, across repeated headers.
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    for hop in hops.iter().rev() {
        let Some(addr) = forwarded_hop(hop) else {
            break;
        };
        client = addr;
        if !is_trusted(&client) {
            break;
        }
    }
    client
}

/// One `X-Forwarded-For` entry: an address, also with a port or IPv6 brackets as some proxies
/// write it.
fn forwarded_hop(hop: &str) -> Option<IpAddr> {
    hop.parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| {
            hop.strip_prefix('[')
                .and_then(|h| h.strip_suffix(']'))
                .and_then(|h| h.parse().ok())
        })
        .map(|a: IpAddr| a.to_canonical())
}

/// Serves the API on `listener` until shutdown.
pub async fn serve(app: App, listener: TcpListener, mut shutdown: Shutdown) -> anyhow::Result<()> {
    if app.settings.secrets.ingest_api_token.is_none() {
        tracing::warn!(
            "INGEST_API_TOKEN not set: the ingest API is disabled (only /healthz answers)"
        );
    }
    let limit = app.settings.http.max_body_bytes;
    let router = router(app).layer(DefaultBodyLimit::max(limit));
    tracing::info!(addr = %listener.local_addr()?, "HTTP listening");
    // The peer address reaches handlers: the customer page limits requests per address.
    let service = router.into_make_service_with_connect_info::<SocketAddr>();
    axum::serve(listener, service)
        .with_graceful_shutdown(async move { shutdown.recv().await })
        .await?;
    Ok(())
}

/// The routes. The API's own routes answer every error as JSON; the Twilio webhooks keep the
/// plain and TwiML answers Twilio expects. `/metrics` is there unless `http.metrics = false`.
pub fn router(app: App) -> Router {
    let mut api = Router::new().route("/healthz", get(healthz));
    if app.settings.http.metrics {
        api = api.route("/metrics", get(metrics));
    }
    let api = api
        .route("/api/v1/orders", post(post_order))
        .route("/api/v1/purchase-orders", post(post_po))
        .route("/api/v1/purchase-orders/{po}", patch(patch_po))
        .route("/api/v1/stock/adjustments", post(post_adjustment))
        .route("/api/v1/skus/{sku}", get(get_sku))
        .route("/api/v1/approvals", get(get_approvals))
        .route("/api/v1/approvals/{batch}/approve", post(post_approve))
        .route("/api/v1/approvals/{batch}/withhold", post(post_withhold))
        .layer(axum::middleware::map_response(json_errors));
    api.merge(crate::adapters::webhooks::routes())
        .merge(crate::adapters::discord::interactions::routes(&app))
        .merge(crate::adapters::portal::routes(&app))
        .fallback(|| async { ApiError::framework(StatusCode::NOT_FOUND) })
        .with_state(app)
}

/// An API error: status and a JSON body naming the field.
struct ApiError(StatusCode, Value);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(self.1)).into_response()
    }
}

impl From<AppError> for ApiError {
    fn from(e: AppError) -> Self {
        match e {
            AppError::Invalid { field, reason } => ApiError(
                StatusCode::UNPROCESSABLE_ENTITY,
                json!({"error": format!("{field}: {reason}"), "field": field}),
            ),
            AppError::UnknownSku { .. } => ApiError(
                StatusCode::NOT_FOUND,
                json!({"error": e.to_string(), "field": "sku"}),
            ),
            AppError::NotFound { what, .. } => {
                let field = match what {
                    "purchase order" => Some("po"),
                    "customer" => Some("customer"),
                    "approval batch" => Some("batch"),
                    _ => None,
                };
                ApiError(
                    StatusCode::NOT_FOUND,
                    json!({"error": e.to_string(), "field": field}),
                )
            }
            AppError::Refused(_) | AppError::Forbidden(_) => {
                ApiError(StatusCode::CONFLICT, json!({"error": e.to_string()}))
            }
            AppError::Import(_) => ApiError(
                StatusCode::UNPROCESSABLE_ENTITY,
                json!({"error": e.to_string(), "field": "body"}),
            ),
            AppError::Unexpected(err) => {
                let reference = crate::app::report_unexpected(&err, "ingest API request");
                ApiError(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    json!({"error": "internal error", "reference": reference}),
                )
            }
        }
    }
}

impl ApiError {
    /// The answer to a request the framework refused before a handler saw it (404, 405, 413, a
    /// body that could not be read).
    fn framework(status: StatusCode) -> Self {
        let body = match status {
            StatusCode::PAYLOAD_TOO_LARGE => {
                json!({"error": "body: the request body is larger than http.max_body_bytes", "field": "body"})
            }
            StatusCode::METHOD_NOT_ALLOWED => json!({"error": "method not allowed on this path"}),
            StatusCode::NOT_FOUND => json!({"error": "no such endpoint"}),
            s if s.is_client_error() => {
                json!({"error": "body: the request could not be read", "field": "body"})
            }
            _ => json!({"error": "internal error"}),
        };
        ApiError(status, body)
    }
}

fn bad(field: &str, reason: impl std::fmt::Display) -> ApiError {
    ApiError(
        StatusCode::UNPROCESSABLE_ENTITY,
        json!({"error": format!("{field}: {reason}"), "field": field}),
    )
}

/// Turns the framework's own plain-text errors (404, 405, 413, a 400 from an extractor) into the
/// API's JSON shape; the `Allow` header of a 405 is kept.
async fn json_errors(resp: Response) -> Response {
    let status = resp.status();
    let is_json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if is_json || !(status.is_client_error() || status.is_server_error()) {
        return resp;
    }
    let mut out = ApiError::framework(status).into_response();
    if let Some(allow) = resp.headers().get(header::ALLOW) {
        out.headers_mut().insert(header::ALLOW, allow.clone());
    }
    out
}

/// Requires a JSON content type (`application/json`, any parameters).
fn require_json(headers: &HeaderMap) -> Result<(), ApiError> {
    let ct = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mime = ct.split(';').next().unwrap_or("").trim();
    if mime.eq_ignore_ascii_case("application/json") {
        Ok(())
    } else {
        Err(ApiError(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            json!({"error": "Content-Type: must be application/json", "field": "Content-Type"}),
        ))
    }
}

/// Reads a body as exactly one JSON object. Trailing input (`{…}{…}`, `{…} DROP TABLE`) is a
/// syntax error (400); a positional array where an object belongs is refused (422) with its path.
fn parse_json(body: &[u8]) -> Result<Value, ApiError> {
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        ApiError(
            StatusCode::BAD_REQUEST,
            json!({"error": format!("body: not one JSON object: {e}"), "field": "body"}),
        )
    })?;
    if !value.is_object() {
        return Err(bad("body", "must be a JSON object with named fields"));
    }
    if let Some(path) = positional(&value, "") {
        return Err(bad(
            &path,
            "must be an object with named fields, not an array",
        ));
    }
    Ok(value)
}

/// The path of the first array inside an array: in our bodies arrays hold objects (lines).
fn positional(v: &Value, path: &str) -> Option<String> {
    match v {
        Value::Object(m) => m.iter().find_map(|(k, v)| {
            let p = if path.is_empty() {
                k.clone()
            } else {
                format!("{path}.{k}")
            };
            positional(v, &p)
        }),
        Value::Array(items) => items.iter().enumerate().find_map(|(i, item)| {
            let p = format!("{path}[{i}]");
            if item.is_array() {
                Some(p)
            } else {
                positional(item, &p)
            }
        }),
        _ => None,
    }
}

/// Reads a parsed body into its typed form, naming the path of a bad field (`lines[0].qty`),
/// including a missing or unknown one.
fn typed<T: DeserializeOwned>(value: &Value) -> Result<T, ApiError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let parent = if path == "." { String::new() } else { path };
        let msg = plain_type_error(&e.inner().to_string());
        // serde reports a missing field at its parent: name the field itself.
        let named = msg
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split('`').next());
        let field = match (named, parent.is_empty()) {
            (Some(name), true) => name.to_string(),
            (Some(name), false) => format!("{parent}.{name}"),
            (None, true) => "body".to_string(),
            (None, false) => parent,
        };
        bad(&field, msg)
    })
}

/// serde's "invalid type: string \"2\", expected i64" in plain words: "must be a whole number,
/// not the text "2" (write 2 without quotes)". Other messages pass through.
fn plain_type_error(msg: &str) -> String {
    let Some((got, wanted)) = msg
        .strip_prefix("invalid type: ")
        .and_then(|rest| rest.rsplit_once(", expected "))
    else {
        return msg.to_string();
    };
    let wanted = match wanted {
        "i8" | "i16" | "i32" | "i64" | "u8" | "u16" | "u32" | "u64" | "usize" | "isize" => {
            "a whole number"
        }
        "f32" | "f64" => "a number",
        "a string" => "text in quotes",
        "a boolean" => "true or false",
        "a sequence" => "a list",
        w if w.starts_with("struct ") || w == "a map" => "an object",
        w => w,
    };
    let unquote = |s: &str| s.trim_matches('`').to_string();
    let (got, hint) = if let Some(text) = got.strip_prefix("string ") {
        let inner = text.trim_matches('"');
        let numeric = inner.parse::<f64>().is_ok();
        let hint = if numeric && wanted.contains("number") {
            format!(" (write {inner} without quotes)")
        } else {
            String::new()
        };
        (format!("the text {text}"), hint)
    } else if let Some(n) = got
        .strip_prefix("integer ")
        .or_else(|| got.strip_prefix("floating point "))
    {
        (format!("the number {}", unquote(n)), String::new())
    } else if let Some(b) = got.strip_prefix("boolean ") {
        (unquote(b), String::new())
    } else {
        let got = match got {
            "map" => "an object",
            "sequence" => "a list",
            "null" => "null",
            g => g,
        };
        (got.to_string(), String::new())
    };
    format!("must be {wanted}, not {got}{hint}")
}

fn authorize(app: &App, headers: &HeaderMap) -> Result<Actor, ApiError> {
    let Some(token) = &app.settings.secrets.ingest_api_token else {
        return Err(ApiError(
            StatusCode::SERVICE_UNAVAILABLE,
            json!({"error": "the ingest API is disabled: INGEST_API_TOKEN is not set"}),
        ));
    };
    let given = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    // Compare in constant time: the token is a secret.
    let ok = given.is_some_and(|g| {
        let a = g.as_bytes();
        let b = token.expose_secret().as_bytes();
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    });
    if ok {
        Ok(Actor::operator("api"))
    } else {
        Err(ApiError(
            StatusCode::UNAUTHORIZED,
            json!({"error": "missing or wrong bearer token"}),
        ))
    }
}

/// A reading request with the bearer token.
struct Authorized;

impl FromRequestParts<App> for Authorized {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, ApiError> {
        authorize(app, &parts.headers).map(|_| Authorized)
    }
}

/// A change request, read: its body typed as `T`, and what running it once needs.
///
/// Extracting one checks, in this order: the body can be read (its size), the bearer token, the
/// content type, one JSON object, the `Idempotency-Key`, and the body's fields; the first that
/// fails is the answer, naming its field.
struct Ingest<T> {
    body: T,
    change: Change,
}

/// An authorized change, as far as running it once cares.
struct Change {
    actor: Actor,
    method: Method,
    path: String,
    /// The parsed body re-serialized: the same request always hashes the same.
    canonical: String,
    key: Option<IdempotencyKey>,
}

impl<T: DeserializeOwned> FromRequest<App> for Ingest<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, app: &App) -> Result<Self, ApiError> {
        let (method, path) = (req.method().clone(), req.uri().path().to_string());
        let headers = req.headers().clone();
        let bytes = Bytes::from_request(req, app)
            .await
            .map_err(|e| ApiError::framework(e.status()))?;
        let actor = authorize(app, &headers)?;
        require_json(&headers)?;
        let value = parse_json(&bytes)?;
        let key = match headers.get("idempotency-key") {
            None => None,
            Some(v) => {
                let raw = v.to_str().map_err(|_| {
                    bad("Idempotency-Key", "may hold only visible ASCII characters")
                })?;
                Some(IdempotencyKey::parse(raw).map_err(|e| bad("Idempotency-Key", e))?)
            }
        };
        let body = typed(&value)?;
        let change = Change {
            actor,
            method,
            path,
            canonical: value.to_string(),
            key,
        };
        Ok(Ingest { body, change })
    }
}

impl Change {
    /// Runs `work` once per `Idempotency-Key`, as the operator, and answers with its (possibly
    /// replayed) status and JSON body.
    async fn respond<F>(self, app: &App, work: F) -> Response
    where
        F: for<'c> FnOnce(Unit<'c>, App, Actor) -> Work<'c>,
    {
        let req = idempotency::Request {
            key: self.key.as_ref(),
            method: self.method.as_str(),
            path: &self.path,
            body: self.canonical.as_bytes(),
        };
        let (a, actor) = (app.clone(), self.actor);
        match idempotency::once(app, req, move |tx| work(tx, a, actor)).await {
            Ok(r) => {
                let status = StatusCode::from_u16(r.status).unwrap_or(StatusCode::OK);
                let mut resp = (status, r.body).into_response();
                resp.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                );
                if r.replayed {
                    resp.headers_mut()
                        .insert("idempotent-replayed", HeaderValue::from_static("true"));
                }
                resp
            }
            Err(e) => ApiError::from(e).into_response(),
        }
    }
}

async fn healthz(State(app): State<App>) -> Response {
    match app.store.ping().await {
        Ok(_) => (StatusCode::OK, Json(json!({"status": "ok"}))).into_response(),
        Err(e) => {
            tracing::error!(error = ?e, "health check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({"status": "database unavailable"})),
            )
                .into_response()
        }
    }
}

/// The Prometheus text of the recorded counters and the shop's figures read now. No token: the
/// server binds to an internal address, and no figure names a customer.
async fn metrics(State(app): State<App>) -> Result<Response, ApiError> {
    let figures = crate::app::figures::read(&app).await?;
    let text = app.metrics.encode(&figures, &app.settings.shop.currency);
    Ok(([(header::CONTENT_TYPE, metrics::CONTENT_TYPE)], text).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OrderBody {
    order: String,
    customer: String,
    ordered_at: Option<String>,
    lines: Vec<OrderLineBody>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OrderLineBody {
    sku: String,
    qty: i64,
    unit_price_minor: Option<i64>,
}

async fn post_order(
    State(app): State<App>,
    Ingest { body: b, change }: Ingest<OrderBody>,
) -> Result<Response, ApiError> {
    let ordered_at = b
        .ordered_at
        .as_deref()
        .map(|raw| parse_ordered_at(raw, app.clock.now()))
        .transpose()
        .map_err(|e| bad("ordered_at", e))?;
    let order = NewOrder {
        order: b.order,
        customer: b.customer,
        ordered_at,
        lines: b
            .lines
            .into_iter()
            .map(|l| (l.sku, l.qty, l.unit_price_minor))
            .collect(),
    };
    Ok(change
        .respond(&app, move |tx, app, actor| {
            Box::pin(async move {
                let placed = place_order_in(&app, tx, &actor, &order).await?;
                let lines: Vec<Value> = placed
                    .lines
                    .iter()
                    .map(|(sku, o)| json!({"sku": sku, "reserved": o.reserved, "backordered": o.backordered, "backorder_id": o.backorder_id, "unchanged": o.unchanged}))
                    .collect();
                // The same order again (a retry without an idempotency key) creates nothing: it
                // is answered with what the first one did.
                let status = if placed.lines.iter().all(|(_, o)| o.unchanged) {
                    200
                } else {
                    201
                };
                Ok((status, json!({"order": placed.order, "lines": lines}).to_string()))
            })
        })
        .await)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PoBody {
    po: Option<String>,
    supplier: Option<String>,
    eta: Option<String>,
    status: Option<String>,
    #[serde(default)]
    lines: Vec<PoLineBody>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PoLineBody {
    sku: String,
    qty: Option<i64>,
    eta: Option<String>,
    status: Option<String>,
}

fn cancelled(raw: Option<&str>, field: &str) -> Result<bool, ApiError> {
    raw.map(RequestedStatus::parse)
        .transpose()
        .map(|s| s.is_some_and(RequestedStatus::is_cancelled))
        .map_err(|e| bad(field, e))
}

fn po_input(po: String, b: PoBody) -> Result<PoInput, ApiError> {
    let eta = b
        .eta
        .as_deref()
        .map(parse_date)
        .transpose()
        .map_err(|e| bad("eta", e))?;
    let cancel = cancelled(b.status.as_deref(), "status")?;
    let mut lines = Vec::new();
    for (i, l) in b.lines.into_iter().enumerate() {
        let eta = l
            .eta
            .as_deref()
            .map(parse_date)
            .transpose()
            .map_err(|e| bad(&format!("lines[{i}].eta"), e))?;
        let cancelled = cancelled(l.status.as_deref(), &format!("lines[{i}].status"))?;
        lines.push((l.sku, l.qty, eta, cancelled));
    }
    Ok(PoInput {
        po,
        supplier: b.supplier,
        eta,
        cancel,
        lines,
    })
}

/// Saves a PO (`update`: the PATCH of an existing one) and answers with `status`.
async fn save_po(app: &App, change: Change, input: PoInput, update: bool, status: u16) -> Response {
    change
        .respond(app, move |tx, app, actor| {
            Box::pin(async move {
                let saved = save_po_in(&app, tx, &actor, &input, update).await?;
                let body = json!({
                    "po": saved.po,
                    "lines_changed": saved.lines_changed,
                    "backorders_with_new_eta": saved.settled.moved.len(),
                    "customers_with_new_eta": saved.settled.customers(),
                    "backorders_allocated": saved.settled.allocated,
                });
                Ok((status, body.to_string()))
            })
        })
        .await
}

async fn post_po(
    State(app): State<App>,
    Ingest { body: b, change }: Ingest<PoBody>,
) -> Result<Response, ApiError> {
    let Some(po) = b.po.clone() else {
        return Err(bad("po", "is required"));
    };
    let input = po_input(po, b)?;
    Ok(save_po(&app, change, input, false, 201).await)
}

async fn patch_po(
    State(app): State<App>,
    Path(po): Path<String>,
    Ingest { body: b, change }: Ingest<PoBody>,
) -> Result<Response, ApiError> {
    if b.po
        .as_deref()
        .is_some_and(|p| !p.trim().eq_ignore_ascii_case(po.trim()))
    {
        return Err(bad("po", "differs from the PO in the path"));
    }
    let input = po_input(po, b)?;
    Ok(save_po(&app, change, input, true, 200).await)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AdjustmentBody {
    sku: String,
    delta: i64,
    reason: String,
}

async fn post_adjustment(
    State(app): State<App>,
    Ingest { body: b, change }: Ingest<AdjustmentBody>,
) -> Response {
    change
        .respond(&app, move |tx, app, actor| {
            Box::pin(async move {
                let done = adjust_in(&app, tx, &actor, &b.sku, b.delta, &b.reason).await?;
                Ok((
                    201,
                    json!({"sku": done.sku, "on_hand": done.position.on_hand, "allocated": done.position.allocated,
                           "available": done.position.available(), "backorders_allocated": done.settled.allocated})
                    .to_string(),
                ))
            })
        })
        .await
}

async fn get_sku(
    State(app): State<App>,
    Path(sku): Path<String>,
    _: Authorized,
) -> Result<Json<Value>, ApiError> {
    let r = query_stock(&app, &sku).await?;
    let p = &r.position;
    let inbound: Vec<Value> = p
        .inbound
        .iter()
        .map(|l| json!({"po": l.po_number, "qty": l.qty, "eta": l.eta}))
        .collect();
    Ok(Json(json!({
        "sku": r.product.sku, "name": r.product.name, "status": p.status().as_str(),
        "on_hand": p.on_hand, "allocated": p.allocated, "available": p.available(),
        "open_backorders": p.open_backorders, "backordered_units": p.backordered_units,
        "reorder_point": p.reorder_point, "safety_stock": p.safety_stock, "inbound": inbound,
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ApprovalsQuery {
    after: Option<String>,
}

/// The held approval batches, oldest first; `?after=<next>` reads on.
async fn get_approvals(
    State(app): State<App>,
    axum::extract::Query(q): axum::extract::Query<ApprovalsQuery>,
    _: Authorized,
) -> Result<Json<Value>, ApiError> {
    let page = crate::app::approvals::list(
        &app,
        &crate::app::page::PageRequest {
            after: q.after.as_deref(),
            ..Default::default()
        },
    )
    .await
    .map_err(|e| match e {
        AppError::Invalid { reason, .. } => bad("after", reason),
        other => other.into(),
    })?;
    let batches: Vec<Value> = page
        .rows
        .iter()
        .map(|b| {
            json!({"batch": b.id, "change": b.change, "by": b.actor, "customers": b.customers,
                   "largest_shift_days": b.largest_shift_days, "updates": b.updates,
                   "note": b.note, "since": b.created_at.to_rfc3339()})
        })
        .collect();
    Ok(Json(
        json!({"batches": batches, "total": page.nav.total, "next": page.nav.next}),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DecisionBody {
    note: Option<String>,
}

fn batch_number(raw: &str) -> Result<i64, ApiError> {
    raw.trim()
        .trim_start_matches('#')
        .parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| bad("batch", "must be a batch number (a whole number from 1)"))
}

async fn post_approve(
    State(app): State<App>,
    Path(batch): Path<String>,
    Ingest { body: b, change }: Ingest<DecisionBody>,
) -> Result<Response, ApiError> {
    decision(app, &batch, change, true, b.note).await
}

async fn post_withhold(
    State(app): State<App>,
    Path(batch): Path<String>,
    Ingest { body: b, change }: Ingest<DecisionBody>,
) -> Result<Response, ApiError> {
    if b.note.is_some() {
        return Err(bad("note", "only an approval carries a note"));
    }
    decision(app, &batch, change, false, None).await
}

async fn decision(
    app: App,
    batch: &str,
    change: Change,
    approve: bool,
    note: Option<String>,
) -> Result<Response, ApiError> {
    let batch = batch_number(batch)?;
    Ok(change
        .respond(&app, move |tx, app, actor| {
            Box::pin(async move {
                let d = crate::app::approvals::decide_in(
                    &app,
                    tx,
                    &actor,
                    batch,
                    approve,
                    note.as_deref(),
                )
                .await?;
                Ok((
                    200,
                    json!({"batch": d.id, "status": d.status.as_str(), "updates": d.updates,
                           "note": d.note})
                    .to_string(),
                ))
            })
        })
        .await)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forwarded(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("x-forwarded-for", HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn only_a_trusted_proxy_says_who_the_client_is() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let trusted: Vec<ipnet::IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let client = |peer: &str, h: &[&str]| client_address(ip(peer), &forwarded(h), &trusted);
        // An untrusted peer is the client, whatever it writes.
        assert_eq!(client("198.51.100.9", &["203.0.113.1"]), ip("198.51.100.9"));
        // A trusted proxy: the last hop, not what the client wrote before it.
        assert_eq!(
            client("10.0.0.2", &["1.1.1.1, 203.0.113.1"]),
            ip("203.0.113.1")
        );
        // Past further trusted proxies, across repeated headers.
        assert_eq!(
            client("10.0.0.2", &["1.1.1.1, 203.0.113.1", "10.9.9.9"]),
            ip("203.0.113.1")
        );
        // Ports, brackets and IPv4 in IPv6 as proxies write them.
        assert_eq!(client("10.0.0.2", &["203.0.113.1:4711"]), ip("203.0.113.1"));
        assert_eq!(client("10.0.0.2", &["[2001:db8::1]"]), ip("2001:db8::1"));
        assert_eq!(
            client("::ffff:10.0.0.2", &["203.0.113.1"]),
            ip("203.0.113.1")
        );
        // No header, or a hop that is not an address: the proxy itself.
        assert_eq!(client("10.0.0.2", &[]), ip("10.0.0.2"));
        assert_eq!(
            client("10.0.0.2", &["203.0.113.1, unknown"]),
            ip("10.0.0.2")
        );
        // Nothing trusted: always the peer.
        assert_eq!(
            client_address(ip("10.0.0.2"), &forwarded(&["203.0.113.1"]), &[]),
            ip("10.0.0.2")
        );
    }

    #[test]
    fn type_errors_read_as_plain_words() {
        assert_eq!(
            plain_type_error("invalid type: string \"2\", expected i64"),
            "must be a whole number, not the text \"2\" (write 2 without quotes)"
        );
        assert_eq!(
            plain_type_error("invalid type: integer `5`, expected a string"),
            "must be text in quotes, not the number 5"
        );
        assert_eq!(
            plain_type_error("invalid type: map, expected a sequence"),
            "must be a list, not an object"
        );
        assert_eq!(plain_type_error("unknown field `x`"), "unknown field `x`");
    }
}
