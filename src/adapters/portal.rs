//! `/b/<token>`: the customer's own page on the bot's HTTP server. `GET` shows it, `POST` applies
//! one choice (a form with its one-time value and form token). Requests are limited per client
//! address (`[portal] per_minute`, 429 with `Retry-After`; the address a listed proxy forwards,
//! `http.trusted_proxies`). Every answer is HTML, is never cached
//! or framed, sends no referrer (the token is in the URL) and allows no script.

use super::portal_html::{self, Notice};
use crate::app::portal::{self, Outcome, PortalError, Posted};
use crate::app::{App, AppError};
use crate::domain::portal::RateLimit;
use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Form, Router};
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// The page's routes, merged into the HTTP router; each router has its own request limit.
pub fn routes(app: &App) -> Router<App> {
    let limit = Arc::new(Mutex::new(RateLimit::new(app.settings.portal.per_minute)));
    let trusted: Arc<[ipnet::IpNet]> = app.settings.http.trusted_proxies.clone().into();
    Router::new()
        .route("/b/{token}", get(show).post(act))
        .route("/b", get(unknown))
        .route("/b/", get(unknown))
        .layer(axum::middleware::from_fn(
            move |req: Request, next: Next| {
                let limit = limit.clone();
                let client = client(&req, &trusted);
                async move { limited(limit, client, req, next).await }
            },
        ))
}

/// The client's address: the TCP peer, or what a trusted proxy forwards
/// ([`super::http::client_address`]).
fn client(req: &Request, trusted: &[ipnet::IpNet]) -> IpAddr {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.0.ip());
    super::http::client_address(peer, req.headers(), trusted)
}

async fn limited(
    limit: Arc<Mutex<RateLimit>>,
    client: IpAddr,
    req: Request,
    next: Next,
) -> Response {
    let admitted = limit
        .lock()
        .expect("rate limit lock poisoned")
        .admit(client, Instant::now());
    let mut resp = match admitted {
        Ok(()) => next.run(req).await,
        Err(wait) => {
            let mut r = html(
                StatusCode::TOO_MANY_REQUESTS,
                portal_html::message("Too many requests", "Please wait a minute and try again."),
            );
            let secs = wait.as_secs().max(1);
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
            r
        }
    };
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    resp
}

fn html(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
        .into_response()
}

async fn unknown() -> Response {
    failed(PortalError::Unknown)
}

/// The answer to a refused request: it says what kind of refusal and nothing about anyone.
fn failed(e: PortalError) -> Response {
    match e {
        PortalError::Unknown => html(
            StatusCode::NOT_FOUND,
            portal_html::message(
                "Page not found",
                "This link does not lead to a page. Please use the link in our latest message.",
            ),
        ),
        PortalError::Expired => html(
            StatusCode::GONE,
            portal_html::message(
                "This link has expired",
                "Our next message will bring a new link; or contact us and we will help.",
            ),
        ),
        PortalError::BadForm => html(
            StatusCode::FORBIDDEN,
            portal_html::message(
                "This form has expired",
                "Please open the link from our message again and choose once more.",
            ),
        ),
        PortalError::App(AppError::Unexpected(err)) => {
            let reference = crate::app::report_unexpected(&err, "customer page");
            html(
                StatusCode::INTERNAL_SERVER_ERROR,
                portal_html::message(
                    "Something went wrong",
                    &format!("Please try again later (reference {reference})."),
                ),
            )
        }
        PortalError::App(e @ AppError::Refused(_)) => html(
            StatusCode::CONFLICT,
            portal_html::message("This cannot be done", &e.to_string()),
        ),
        PortalError::App(e) => html(
            StatusCode::UNPROCESSABLE_ENTITY,
            portal_html::message("Please check your choice", &e.to_string()),
        ),
    }
}

async fn show(State(app): State<App>, Path(token): Path<String>) -> Response {
    match portal::page(&app, &token).await {
        Ok(page) => html(StatusCode::OK, portal_html::page(&page, None)),
        Err(e) => failed(e),
    }
}

async fn act(
    State(app): State<App>,
    Path(token): Path<String>,
    form: Result<Form<HashMap<String, String>>, axum::extract::rejection::FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return failed(PortalError::BadForm);
    };
    let get = |k: &str| form.get(k).map(String::as_str);
    let posted = Posted {
        nonce: get("nonce").unwrap_or(""),
        csrf: get("csrf").unwrap_or(""),
        backorder: get("backorder").unwrap_or(""),
        action: get("action").unwrap_or(""),
        sku: get("sku"),
        reason: get("reason"),
    };
    let outcome = match portal::act(&app, &token, &posted).await {
        Ok(o) => o,
        Err(e) => return failed(e),
    };
    let text = outcome.text();
    let status = match outcome {
        Outcome::NotDone(_) => StatusCode::CONFLICT,
        _ => StatusCode::OK,
    };
    match portal::page(&app, &token).await {
        Ok(page) => html(
            status,
            portal_html::page(&page, Some(Notice { text: &text })),
        ),
        Err(e) => failed(e),
    }
}
