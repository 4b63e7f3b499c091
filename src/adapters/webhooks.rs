//! Twilio webhooks: texts customers send (`/webhooks/twilio/inbound`) and delivery reports
//! (`/webhooks/twilio/status`). Every request must carry a valid `X-Twilio-Signature`.

use crate::app::notify::{self, InboundKind};
use crate::app::{App, AppError};
use axum::extract::{Form, FromRequest, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use base64::Engine;
use hmac::{Hmac, Mac};
use secrecy::ExposeSecret;

/// Where Twilio posts incoming texts.
pub const INBOUND_PATH: &str = "/webhooks/twilio/inbound";
/// Where Twilio posts delivery reports.
pub const STATUS_PATH: &str = "/webhooks/twilio/status";

/// The webhook routes, merged into the HTTP router.
pub fn routes() -> Router<App> {
    Router::new()
        .route(INBOUND_PATH, post(inbound))
        .route(STATUS_PATH, post(status))
}

type Params = Vec<(String, String)>;

/// `X-Twilio-Signature`: base64(HMAC-SHA1(auth token, url + each parameter's name and value,
/// sorted by name)).
pub fn signature(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(auth_token.as_bytes())
        .expect("HMAC takes any key length");
    mac.update(signed_text(url, params).as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

fn signed_text(url: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    let mut text = url.to_string();
    for (k, v) in sorted {
        text.push_str(k);
        text.push_str(v);
    }
    text
}

/// Why a webhook request was not accepted.
enum Refused {
    /// Nothing can be verified without this setting: the request may be genuine.
    Unconfigured(&'static str),
    /// The signature is missing or does not match.
    Forged,
}

impl Refused {
    /// Logs the refusal, naming `hook`, and answers it: 503 while a setting is missing (Twilio
    /// retries, and the operator has something to fix), 403 for a bad signature.
    fn respond(self, hook: &str) -> Response {
        match self {
            Refused::Unconfigured(key) => {
                tracing::error!(
                    missing = key,
                    "{hook} webhook refused: {key} is not set, so its signature cannot be verified"
                );
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!("cannot verify the signature: {key} is not set"),
                )
                    .into_response()
            }
            Refused::Forged => {
                tracing::warn!("{hook} webhook with a missing or forged signature");
                (StatusCode::FORBIDDEN, "invalid signature").into_response()
            }
        }
    }
}

/// Whether the request is signed with our auth token for `[http] public_url` + `path`.
/// Without a public URL or auth token nothing can be verified, so nothing is accepted.
fn verified(
    app: &App,
    path: &str,
    headers: &HeaderMap,
    params: &[(String, String)],
) -> Result<(), Refused> {
    let Some(base) = app.settings.http.public_url.as_deref() else {
        return Err(Refused::Unconfigured("http.public_url"));
    };
    let Some(token) = app.settings.secrets.twilio_auth_token.as_ref() else {
        return Err(Refused::Unconfigured("TWILIO_AUTH_TOKEN"));
    };
    let Some(given) = headers
        .get("x-twilio-signature")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            base64::engine::general_purpose::STANDARD
                .decode(v.trim())
                .ok()
        })
    else {
        return Err(Refused::Forged);
    };
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(token.expose_secret().as_bytes())
        .expect("HMAC takes any key length");
    mac.update(signed_text(&format!("{base}{path}"), params).as_bytes());
    // Constant-time comparison.
    mac.verify_slice(&given).map_err(|_| Refused::Forged)
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn twiml(reply: &str) -> Response {
    let body = if reply.is_empty() {
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response/>".to_string()
    } else {
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Message>{}</Message></Response>",
            xml_escape(reply)
        )
    };
    ([(header::CONTENT_TYPE, "text/xml; charset=utf-8")], body).into_response()
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

/// A webhook's form parameters, signed by Twilio for `[http] public_url` + the request's path.
/// A refusal is answered as [`Refused::respond`] says.
struct Signed(Params);

impl FromRequest<App> for Signed {
    type Rejection = Response;

    async fn from_request(req: Request, app: &App) -> Result<Self, Response> {
        let path = req.uri().path().to_string();
        let headers = req.headers().clone();
        let Form(params) = Form::<Params>::from_request(req, app)
            .await
            .map_err(IntoResponse::into_response)?;
        let hook = if path == INBOUND_PATH {
            "inbound SMS"
        } else {
            "SMS status"
        };
        verified(app, &path, &headers, &params).map_err(|refused| refused.respond(hook))?;
        Ok(Signed(params))
    }
}

/// A use case's error: 400 with its text when the request is at fault, else a logged 500.
fn failed(e: AppError, hook: &str) -> Response {
    if e.is_user_facing() {
        (StatusCode::BAD_REQUEST, e.to_string()).into_response()
    } else {
        tracing::error!(error = ?e, "{hook} failed");
        StatusCode::INTERNAL_SERVER_ERROR.into_response()
    }
}

async fn inbound(State(app): State<App>, Signed(params): Signed) -> Response {
    let from = param(&params, "From").unwrap_or_default();
    let body = param(&params, "Body").unwrap_or_default();
    match notify::inbound(&app, from, body, param(&params, "MessageSid")).await {
        Ok((kind, reply)) => {
            if kind == InboundKind::Inquiry {
                tracing::info!("customer inquiry by SMS answered");
            }
            twiml(&reply)
        }
        Err(e) => failed(e, "inbound SMS"),
    }
}

async fn status(State(app): State<App>, Signed(params): Signed) -> Response {
    let (Some(sid), Some(state)) = (
        param(&params, "MessageSid"),
        param(&params, "MessageStatus"),
    ) else {
        return (
            StatusCode::BAD_REQUEST,
            "MessageSid and MessageStatus are required",
        )
            .into_response();
    };
    let code = param(&params, "ErrorCode").filter(|c| !c.is_empty());
    match notify::status_callback(&app, sid, state, code).await {
        Ok(known) => {
            if !known {
                tracing::warn!("status report for an unknown message");
            }
            StatusCode::NO_CONTENT.into_response()
        }
        Err(e) => failed(e, "SMS status report"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_an_independently_computed_vector() {
        // Computed with Python's hmac/hashlib/base64 (recipe below).
        let params = vec![
            ("To".to_string(), "+15550001111".to_string()),
            ("From".to_string(), "+4915112345678".to_string()),
            ("Body".to_string(), "when will it come?".to_string()),
            (
                "MessageSid".to_string(),
                "SM0123456789abcdef0123456789abcdef".to_string(),
            ),
        ];
        let sig = signature(
            "12345678901234567890123456789012",
            "https://bot.example.com/webhooks/twilio/inbound",
            &params,
        );
        assert_eq!(sig, VECTOR);
    }

    // python3: base64.b64encode(hmac.new(token, (url + "".join(k + p[k] for k in sorted(p))).encode(), hashlib.sha1).digest())
    const VECTOR: &str = "TmiWS9MhPKWcxnMOXpp06BsbRq4=";

    #[test]
    fn twiml_escapes_the_reply() {
        let r = xml_escape("A & B <c>");
        assert_eq!(r, "A &amp; B &lt;c&gt;");
    }
}
