//! The HTTP ingest API (axum): the shop's systems feed orders, purchase orders and stock
//! adjustments in real time. Bearer token from `INGEST_API_TOKEN`; `Idempotency-Key` replays.

use crate::app::orders::{place_order, NewOrder};
use crate::app::purchasing::{save_po, PoInput};
use crate::app::stock::{adjust, query_stock};
use crate::app::{Actor, App, AppError};
use crate::domain::date::parse_date;
use crate::store;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use secrecy::ExposeSecret;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::watch;

/// Serves the API on `listener` until shutdown.
pub async fn serve(
    app: App,
    listener: TcpListener,
    mut shutdown: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    if app.settings.secrets.ingest_api_token.is_none() {
        tracing::warn!(
            "INGEST_API_TOKEN not set: the ingest API is disabled (only /healthz answers)"
        );
    }
    let limit = app.settings.http.max_body_bytes;
    let router = router(app).layer(DefaultBodyLimit::max(limit));
    tracing::info!(addr = %listener.local_addr()?, "HTTP listening");
    axum::serve(listener, router)
        .with_graceful_shutdown(async move {
            let _ = shutdown.changed().await;
        })
        .await?;
    Ok(())
}

/// The routes.
pub fn router(app: App) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/api/v1/orders", post(post_order))
        .route("/api/v1/purchase-orders", post(post_po))
        .route("/api/v1/purchase-orders/{po}", patch(patch_po))
        .route("/api/v1/stock/adjustments", post(post_adjustment))
        .route("/api/v1/skus/{sku}", get(get_sku))
        .merge(crate::adapters::webhooks::routes())
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
            AppError::NotFound { .. } => {
                ApiError(StatusCode::NOT_FOUND, json!({"error": e.to_string()}))
            }
            AppError::Refused(_) | AppError::Forbidden(_) => {
                ApiError(StatusCode::CONFLICT, json!({"error": e.to_string()}))
            }
            AppError::Import(_) => ApiError(
                StatusCode::UNPROCESSABLE_ENTITY,
                json!({"error": e.to_string()}),
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

fn bad(field: &str, reason: impl std::fmt::Display) -> ApiError {
    ApiError(
        StatusCode::UNPROCESSABLE_ENTITY,
        json!({"error": format!("{field}: {reason}"), "field": field}),
    )
}

/// Parses a JSON body, naming the path of a bad field (`lines[0].qty`).
fn parse_body<T: DeserializeOwned>(body: &Bytes) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let field = if path == "." {
            "body".to_string()
        } else {
            path
        };
        bad(&field, e.inner())
    })
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

/// Runs a mutating handler for an authorized caller, once per `Idempotency-Key`: a repeat gets
/// the first response.
async fn mutate<F, Fut>(
    app: &App,
    headers: &HeaderMap,
    method: &Method,
    uri: &Uri,
    work: F,
) -> Response
where
    F: FnOnce(Actor) -> Fut,
    Fut: std::future::Future<Output = Result<(StatusCode, Value), ApiError>>,
{
    let actor = match authorize(app, headers) {
        Ok(a) => a,
        Err(e) => return e.into_response(),
    };
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|k| !k.is_empty());
    if let Some(key) = key {
        if key.len() > 200 {
            return bad("Idempotency-Key", "is longer than 200 characters").into_response();
        }
        match stored(app, key).await {
            Ok(Some((m, p, status, body))) => {
                if m != method.as_str() || p != uri.path() {
                    return ApiError(
                        StatusCode::UNPROCESSABLE_ENTITY,
                        json!({"error": format!("Idempotency-Key was already used for {m} {p}")}),
                    )
                    .into_response();
                }
                let status = StatusCode::from_u16(status as u16).unwrap_or(StatusCode::OK);
                let body: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
                return (status, [("idempotent-replayed", "true")], Json(body)).into_response();
            }
            Ok(None) => {}
            Err(e) => return ApiError::from(AppError::Unexpected(e)).into_response(),
        }
    }
    match work(actor).await {
        Ok((status, body)) => {
            if let Some(key) = key {
                let mut conn = match app.store.conn().await {
                    Ok(c) => c,
                    Err(e) => return ApiError::from(AppError::Unexpected(e)).into_response(),
                };
                if let Err(e) = store::idempotency::put(
                    &mut conn,
                    key,
                    method.as_str(),
                    uri.path(),
                    status.as_u16(),
                    &body.to_string(),
                    app.clock.now(),
                )
                .await
                {
                    tracing::error!(error = ?e, "could not store idempotency key");
                }
            }
            (status, Json(body)).into_response()
        }
        Err(e) => e.into_response(),
    }
}

async fn stored(app: &App, key: &str) -> anyhow::Result<Option<(String, String, i64, String)>> {
    let mut conn = app.store.conn().await?;
    store::idempotency::get(&mut conn, key).await
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OrderBody {
    order: String,
    customer: String,
    ordered_at: Option<DateTime<Utc>>,
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
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    mutate(&app.clone(), &headers, &method, &uri, |actor| async move {
        let b: OrderBody = parse_body(&body)?;
        let order = NewOrder {
            order: b.order,
            customer: b.customer,
            ordered_at: b.ordered_at,
            lines: b.lines.into_iter().map(|l| (l.sku, l.qty, l.unit_price_minor)).collect(),
        };
        let placed = place_order(&app, &actor, &order).await?;
        let lines: Vec<Value> = placed
            .lines
            .iter()
            .map(|(sku, o)| json!({"sku": sku, "reserved": o.reserved, "backordered": o.backordered, "backorder_id": o.backorder_id, "unchanged": o.unchanged}))
            .collect();
        Ok((StatusCode::CREATED, json!({"order": placed.order, "lines": lines})))
    })
    .await
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

fn po_input(po: String, b: PoBody) -> Result<PoInput, ApiError> {
    let eta = b
        .eta
        .as_deref()
        .map(parse_date)
        .transpose()
        .map_err(|e| bad("eta", e))?;
    let cancel = match b.status.as_deref() {
        None | Some("open") => false,
        Some("cancelled") => true,
        Some(other) => {
            return Err(bad(
                "status",
                format!("\"{other}\" is not open or cancelled"),
            ))
        }
    };
    let mut lines = Vec::new();
    for (i, l) in b.lines.into_iter().enumerate() {
        let eta = l
            .eta
            .as_deref()
            .map(parse_date)
            .transpose()
            .map_err(|e| bad(&format!("lines[{i}].eta"), e))?;
        let cancelled = match l.status.as_deref() {
            None | Some("open") => false,
            Some("cancelled") => true,
            Some(other) => {
                return Err(bad(
                    &format!("lines[{i}].status"),
                    format!("\"{other}\" is not open or cancelled"),
                ))
            }
        };
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

fn po_response(saved: crate::app::purchasing::PoSaved) -> Value {
    json!({
        "po": saved.po,
        "lines_changed": saved.lines_changed,
        "backorders_with_new_eta": saved.settled.moved.len(),
        "customers_with_new_eta": saved.settled.customers(),
        "backorders_allocated": saved.settled.allocated,
    })
}

async fn post_po(
    State(app): State<App>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    mutate(&app.clone(), &headers, &method, &uri, |actor| async move {
        let b: PoBody = parse_body(&body)?;
        let Some(po) = b.po.clone() else {
            return Err(bad("po", "is required"));
        };
        let input = po_input(po, b)?;
        Ok((
            StatusCode::CREATED,
            po_response(save_po(&app, &actor, &input, false).await?),
        ))
    })
    .await
}

async fn patch_po(
    State(app): State<App>,
    Path(po): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    mutate(&app.clone(), &headers, &method, &uri, |actor| async move {
        let b: PoBody = parse_body(&body)?;
        if b.po
            .as_deref()
            .is_some_and(|p| !p.eq_ignore_ascii_case(&po))
        {
            return Err(bad("po", "differs from the PO in the path"));
        }
        let input = po_input(po, b)?;
        Ok((
            StatusCode::OK,
            po_response(save_po(&app, &actor, &input, true).await?),
        ))
    })
    .await
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
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    mutate(&app.clone(), &headers, &method, &uri, |actor| async move {
        let b: AdjustmentBody = parse_body(&body)?;
        let done = adjust(&app, &actor, &b.sku, b.delta, &b.reason).await?;
        Ok((
            StatusCode::CREATED,
            json!({"sku": done.sku, "on_hand": done.position.on_hand, "allocated": done.position.allocated,
                   "available": done.position.available(), "backorders_allocated": done.settled.allocated}),
        ))
    })
    .await
}

async fn get_sku(State(app): State<App>, Path(sku): Path<String>, headers: HeaderMap) -> Response {
    if let Err(e) = authorize(&app, &headers) {
        return e.into_response();
    }
    match query_stock(&app, &sku).await {
        Ok(r) => {
            let p = &r.position;
            let inbound: Vec<Value> = p
                .inbound
                .iter()
                .map(|l| json!({"po": l.po_number, "qty": l.qty, "eta": l.eta}))
                .collect();
            Json(json!({
                "sku": r.product.sku, "name": r.product.name, "status": p.status().as_str(),
                "on_hand": p.on_hand, "allocated": p.allocated, "available": p.available(),
                "open_backorders": p.open_backorders, "backordered_units": p.backordered_units,
                "reorder_point": p.reorder_point, "safety_stock": p.safety_stock, "inbound": inbound,
            }))
            .into_response()
        }
        Err(e) => ApiError::from(e).into_response(),
    }
}
