//! Discord's Interactions Endpoint: `POST /discord/interactions` on the HTTP server, so that any
//! process (any replica) answers commands and clicks without a gateway connection.
//!
//! Every request is verified first: `X-Signature-Ed25519` must be the Ed25519 signature of
//! `X-Signature-Timestamp` followed by the raw body, by the key in `DISCORD_PUBLIC_KEY`, and the
//! timestamp within [`MAX_SKEW`] of this machine's clock (a captured request cannot be replayed
//! later to repeat a change). Anything else gets 401. Without the key the route answers 503.
//!
//! Then the same code as the gateway's: commands run through [`commands::run`] with the same
//! options ([`slash::invocation_of`]), the same ops-role check and rendering; clicks and modals
//! go through [`components::answer`]. A command answers in the HTTP response when it is done
//! within `discord.answer_within` (Discord allows 3 s); otherwise, or when its spec defers or its reply
//! carries a file, the response defers and the answer follows over REST (edit of `@original`).

use super::components::{self, Click};
use super::{slash, Data};
use crate::app::App;
use crate::commands::{self, Reply};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use ed25519_dalek::{Signature, VerifyingKey};
use poise::serenity_prelude as serenity;
use serde_json::Value;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Where Discord posts interactions (the "Interactions Endpoint URL" is the public URL + this).
pub const PATH: &str = "/discord/interactions";
/// How far (seconds) a request's timestamp may be from this machine's clock.
pub const MAX_SKEW: i64 = 300;
/// Waits before retrying an edit of a deferred response that Discord does not know yet (the
/// deferral, sent as the HTTP answer, may still be on its way).
const EDIT_RETRIES: [Duration; 3] = [
    Duration::from_millis(250),
    Duration::from_millis(500),
    Duration::from_millis(1000),
];

/// Interaction types (Discord's numbering).
const PING: u64 = 1;
const APPLICATION_COMMAND: u64 = 2;
const MESSAGE_COMPONENT: u64 = 3;
const AUTOCOMPLETE: u64 = 4;
const MODAL_SUBMIT: u64 = 5;

/// The endpoint's state: the handlers' data, the key, and the REST client for deferred answers.
struct Endpoint {
    data: Data,
    key: Option<VerifyingKey>,
    rest: serenity::Http,
    /// The missing key has been reported (once per process, at the first request).
    said_unconfigured: AtomicBool,
}

/// The interaction route, merged into the HTTP router. Without `DISCORD_PUBLIC_KEY` it answers
/// 503, and says why in the log at the first request: requests may be genuine, but none can be
/// verified (a shop that does not use the endpoint never sees the line).
pub fn routes(app: &App) -> Router<App> {
    let key = app.settings.discord.public_key;
    let token = app.settings.secrets.discord_token.as_ref();
    let endpoint = Endpoint {
        data: Data { app: app.clone() },
        key,
        rest: super::http_builder(&app.settings.discord, token).build(),
        said_unconfigured: AtomicBool::new(false),
    };
    Router::new()
        .route(PATH, post(interaction))
        .with_state(Arc::new(endpoint))
}

/// Why a request's signature does not hold.
#[derive(Debug, PartialEq, Eq)]
pub enum Unverified {
    MissingHeader(&'static str),
    Malformed(&'static str),
    Stale,
    BadSignature,
}

/// Checks a request's signature headers against `key` at `now` (Unix seconds).
pub fn verify(
    key: &VerifyingKey,
    headers: &HeaderMap,
    body: &[u8],
    now: i64,
) -> Result<(), Unverified> {
    let header = |name: &'static str| {
        headers
            .get(name)
            .ok_or(Unverified::MissingHeader(name))?
            .to_str()
            .map_err(|_| Unverified::Malformed(name))
    };
    let signature = header("x-signature-ed25519")?;
    let timestamp = header("x-signature-timestamp")?;
    let signature = crate::config::decode_hex::<64>(signature)
        .map(|b| Signature::from_bytes(&b))
        .ok_or(Unverified::Malformed("x-signature-ed25519"))?;
    let seconds: i64 = timestamp
        .parse()
        .map_err(|_| Unverified::Malformed("x-signature-timestamp"))?;
    let mut message = Vec::with_capacity(timestamp.len() + body.len());
    message.extend_from_slice(timestamp.as_bytes());
    message.extend_from_slice(body);
    key.verify_strict(&message, &signature)
        .map_err(|_| Unverified::BadSignature)?;
    // Checked after the signature, so that only a genuine but old request is called stale.
    if (now - seconds).abs() > MAX_SKEW {
        return Err(Unverified::Stale);
    }
    Ok(())
}

async fn interaction(
    State(endpoint): State<Arc<Endpoint>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(key) = endpoint.key else {
        if !endpoint.said_unconfigured.swap(true, Ordering::Relaxed) {
            tracing::error!(
                "Discord interaction refused with 503: DISCORD_PUBLIC_KEY is not set, so its signature cannot be verified (said once)"
            );
        }
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "cannot verify the signature: DISCORD_PUBLIC_KEY is not set",
        )
            .into_response();
    };
    if let Err(why) = verify(&key, &headers, &body, chrono::Utc::now().timestamp()) {
        tracing::warn!(reason = ?why, "Discord interaction refused: signature not verified");
        return (StatusCode::UNAUTHORIZED, "invalid request signature").into_response();
    }
    let value: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return bad_request(format!("body is not JSON: {e}")),
    };
    let kind = value["type"].as_u64();
    if kind == Some(PING) {
        return respond(&serenity::CreateInteractionResponse::Pong);
    }
    let interaction: serenity::Interaction = match serde_json::from_value(value) {
        Ok(i) => i,
        Err(e) => return bad_request(format!("not an interaction of type {kind:?}: {e}")),
    };
    let ops = &endpoint.data.app.settings.discord.ops_role_ids;
    match interaction {
        serenity::Interaction::Command(ci) if kind == Some(APPLICATION_COMMAND) => {
            command(endpoint.clone(), ci).await
        }
        serenity::Interaction::Autocomplete(ci) if kind == Some(AUTOCOMPLETE) => {
            let inv = slash::invocation_of(&ci.data);
            let options = ci.data.options();
            let (name, partial) = focused(&options).unzip();
            let choices = slash::suggestions(
                &endpoint.data.app,
                slash::spec_of(&inv),
                name,
                partial.unwrap_or_default(),
            )
            .await;
            respond(&serenity::CreateInteractionResponse::Autocomplete(choices))
        }
        serenity::Interaction::Component(mci) if kind == Some(MESSAGE_COMPONENT) => {
            click(&endpoint.data, Click::component(&mci, ops)).await
        }
        serenity::Interaction::Modal(m) if kind == Some(MODAL_SUBMIT) => {
            click(&endpoint.data, Click::modal(&m, ops)).await
        }
        _ => bad_request(format!("interaction type {kind:?} is not served")),
    }
}

fn respond(response: &serenity::CreateInteractionResponse) -> Response {
    Json(response).into_response()
}

fn bad_request(why: String) -> Response {
    tracing::warn!(reason = %why, "Discord interaction not understood");
    (StatusCode::BAD_REQUEST, why).into_response()
}

/// The focused option of an autocomplete (inside a subcommand, if any) and what was typed.
fn focused<'a>(options: &'a [serenity::ResolvedOption<'a>]) -> Option<(&'a str, &'a str)> {
    options.iter().find_map(|o| match &o.value {
        serenity::ResolvedValue::Autocomplete { value, .. } => Some((o.name, *value)),
        serenity::ResolvedValue::SubCommand(inner) => focused(inner),
        _ => None,
    })
}

/// A click or modal, answered as over the gateway ([`components::answer`]).
async fn click(data: &Data, click: Click) -> Response {
    respond(&components::answer(data, &click).await)
}

/// Runs a command: answers in the response when it is done in time, else defers and edits the
/// original response when it is.
async fn command(endpoint: Arc<Endpoint>, ci: serenity::CommandInteraction) -> Response {
    let data = &endpoint.data;
    let inv = slash::invocation_of(&ci.data);
    let actor = slash::actor(
        &ci.user,
        ci.member.as_deref(),
        &data.app.settings.discord.ops_role_ids,
    );
    tracing::info!(actor = %actor.name, command = %inv.to_line(), "discord command (HTTP)");
    let plan = slash::Plan::of(slash::spec_of(&inv), &actor);
    let asker = ci.user.id.get();
    let mut running = {
        let endpoint = endpoint.clone();
        tokio::spawn(async move {
            let (reply, outcome) = commands::run(&endpoint.data.app, &actor, &inv).await;
            tracing::debug!(?outcome, "discord command answered");
            reply
        })
    };
    let budget = data.app.settings.discord.answer_within;
    if !plan.deferred && !budget.is_zero() {
        match tokio::time::timeout(budget, &mut running).await {
            Ok(Ok(reply)) if reply.attachment.is_none() => {
                let msg = slash::message(data, asker, &reply).await;
                return respond(&serenity::CreateInteractionResponse::Message(msg));
            }
            Ok(Ok(reply)) => {
                // A file needs a multipart body: sent with the edit, over REST.
                running = tokio::spawn(async move { reply });
            }
            Err(_) => tracing::info!(command = %ci.data.name, "slow command: deferring"),
            Ok(Err(e)) => {
                let reference = crate::app::report_unexpected(
                    &anyhow::Error::new(e),
                    "Discord command over HTTP",
                );
                let reply = Reply::error(format!("Something went wrong (reference {reference})."));
                let msg = slash::message(data, asker, &reply).await;
                return respond(&serenity::CreateInteractionResponse::Message(msg));
            }
        }
    }
    endpoint.rest.set_application_id(ci.application_id);
    let token = ci.token.clone();
    tokio::spawn(async move {
        let reply = match running.await {
            Ok(reply) => reply,
            Err(e) => {
                let reference = crate::app::report_unexpected(
                    &anyhow::Error::new(e),
                    "Discord command over HTTP",
                );
                Reply::error(format!("Something went wrong (reference {reference})."))
            }
        };
        finish(&endpoint, &token, asker, &reply, plan.refused).await;
    });
    let defer = serenity::CreateInteractionResponseMessage::new().ephemeral(plan.refused);
    respond(&serenity::CreateInteractionResponse::Defer(defer))
}

/// Edits the deferred response, retrying while Discord does not know it yet (404).
async fn finish(endpoint: &Endpoint, token: &str, asker: u64, reply: &Reply, refused: bool) {
    let mut waits = EDIT_RETRIES.iter();
    loop {
        let sent =
            slash::finish_deferred(&endpoint.rest, token, &endpoint.data, asker, reply, refused)
                .await;
        let unknown = matches!(&sent, Err(serenity::Error::Http(serenity::HttpError::UnsuccessfulRequest(r))) if r.status_code.as_u16() == 404);
        match (sent, waits.next()) {
            (Ok(()), _) => return,
            (Err(_), Some(wait)) if unknown => tokio::time::sleep(*wait).await,
            (Err(e), _) => {
                tracing::warn!(error = %e, "Discord: answering a deferred interaction failed");
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::{Signer, SigningKey};

    fn signed(key: &SigningKey, timestamp: &str, body: &[u8]) -> HeaderMap {
        let mut message = timestamp.as_bytes().to_vec();
        message.extend_from_slice(body);
        let hex: String = key
            .sign(&message)
            .to_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let mut h = HeaderMap::new();
        h.insert("x-signature-ed25519", hex.parse().unwrap());
        h.insert("x-signature-timestamp", timestamp.parse().unwrap());
        h
    }

    #[test]
    fn only_a_fresh_signature_of_timestamp_and_body_by_the_key_passes() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let public = key.verifying_key();
        let body = br#"{"type":1}"#;
        let now = 1_700_000_000;
        let ts = now.to_string();
        let h = signed(&key, &ts, body);
        assert_eq!(verify(&public, &h, body, now), Ok(()));
        assert_eq!(verify(&public, &h, body, now + MAX_SKEW), Ok(()));
        assert_eq!(
            verify(&public, &h, br#"{"type":2}"#, now),
            Err(Unverified::BadSignature)
        );
        let mut other_ts = h.clone();
        other_ts.insert(
            "x-signature-timestamp",
            (now + 1).to_string().parse().unwrap(),
        );
        assert_eq!(
            verify(&public, &other_ts, body, now),
            Err(Unverified::BadSignature)
        );
        let stranger = SigningKey::from_bytes(&[8; 32]).verifying_key();
        assert_eq!(
            verify(&stranger, &h, body, now),
            Err(Unverified::BadSignature)
        );
        assert_eq!(
            verify(&public, &h, body, now + MAX_SKEW + 1),
            Err(Unverified::Stale)
        );
        let mut missing = h.clone();
        missing.remove("x-signature-ed25519");
        assert_eq!(
            verify(&public, &missing, body, now),
            Err(Unverified::MissingHeader("x-signature-ed25519"))
        );
        let mut garbled = h.clone();
        garbled.insert("x-signature-ed25519", "zz".parse().unwrap());
        assert_eq!(
            verify(&public, &garbled, body, now),
            Err(Unverified::Malformed("x-signature-ed25519"))
        );
    }
}
