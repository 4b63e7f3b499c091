//! `FakeDiscord`: an in-process stand-in for Discord's REST API and gateway, good enough to
//! drive a real serenity 0.12 client (+ poise 0.7) inside a tokio test, fully offline.
//!
//! * REST: an axum server on `127.0.0.1:0`. Give [`FakeDiscord::base_url`] to
//!   `HttpBuilder::proxy(..)` **and** `.ratelimiter_disabled(true)` (the proxy is ignored while
//!   serenity's ratelimiter is on). Every request is recorded ([`RestRequest`]) and can be awaited
//!   with [`FakeDiscord::wait_request`]. Known routes get plausible answers, anything else a 404.
//! * Gateway: a tokio-tungstenite 0.21 server on `127.0.0.1:0`, advertised by `GET /gateway`.
//!   Each connection gets HELLO; heartbeats (op 1) are acked (op 11) automatically; RESUME (op 6)
//!   is answered with a RESUMED dispatch automatically; IDENTIFY (op 2) is left to the test
//!   ([`FakeDiscord::identify_and_ready`], [`FakeDiscord::wait_reconnect`]).
//!   serenity connects to `{url}?v=10` (no `encoding`, no `compress` query) and accepts plain
//!   text frames (binary frames would be zlib-inflated), so we only ever send text.
//!
//! Payload builders are public so tests can check them against serenity's models: a dispatch
//! whose `d` misses a required field silently becomes `Event::Unknown` and never reaches
//! handlers.
#![allow(dead_code)]

/// Bodies checked against Discord's OpenAPI description (its own file, so the benchmarks that
/// include this one by path get it too).
#[path = "openapi.rs"]
pub mod openapi;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::{
    body::Bytes,
    extract::State,
    http::{Method, StatusCode, Uri},
    response::{IntoResponse, Response},
    Json, Router,
};
use futures::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::tungstenite::protocol::{frame::coding::CloseCode, CloseFrame};
use tokio_tungstenite::tungstenite::Message;

/// Application id (also used as the bot user id, like real bots).
pub const APP_ID: u64 = 1_100_000_000_000_000_001;
pub const BOT_ID: u64 = APP_ID;
pub const CHANNEL_ID: u64 = 1_100_000_000_000_000_002;
pub const USER_ID: u64 = 1_100_000_000_000_000_003;
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
/// The guild the bot serves in [`FakeDiscord::settings_vars`], and its ops role there.
pub const GUILD: u64 = 1_300_000_000_000_000_001;
pub const OPS_ROLE: u64 = 1_400_000_000_000_000_001;
const TIMESTAMP: &str = "2024-01-01T00:00:00.000000+00:00";

/// One recorded REST call. `body` is the parsed JSON, a multipart upload as [`multipart_json`]
/// reads it, a JSON string for other bodies, `Null` when empty. A multipart body to an
/// interaction or webhook route is checked with [`validate_multipart`] and refused with 400 as
/// Discord would.
#[derive(Clone, Debug)]
pub struct RestRequest {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub body: Value,
    /// The body was `multipart/form-data` (files attached).
    pub multipart: bool,
}

/// Who triggers an interaction. `guild_id: Some(..)` → guild interaction with `member`,
/// otherwise a DM interaction with `user`.
#[derive(Clone, Debug)]
pub struct Invoker {
    pub user_id: u64,
    pub username: String,
    pub guild_id: Option<u64>,
    pub roles: Vec<u64>,
}

impl Invoker {
    pub fn dm() -> Self {
        Self {
            user_id: USER_ID,
            username: "tester".into(),
            guild_id: None,
            roles: vec![],
        }
    }
    pub fn guild(guild_id: u64, roles: Vec<u64>) -> Self {
        Self {
            guild_id: Some(guild_id),
            roles,
            ..Self::dm()
        }
    }
}

/// Handle to a dispatched interaction: its id/token and the REST paths the bot will answer on.
#[derive(Clone, Debug)]
pub struct SentInteraction {
    pub id: u64,
    pub token: String,
}

impl SentInteraction {
    /// `POST` initial response (callback types 4, 5, 6, 7, 8, 9...).
    pub fn callback_path(&self) -> String {
        format!("/api/v10/interactions/{}/{}/callback", self.id, self.token)
    }
    /// `POST` followup message.
    pub fn followup_path(&self) -> String {
        format!("/api/v10/webhooks/{APP_ID}/{}", self.token)
    }
    /// `PATCH`/`GET`/`DELETE` of the original response.
    pub fn original_path(&self) -> String {
        format!(
            "/api/v10/webhooks/{APP_ID}/{}/messages/@original",
            self.token
        )
    }
}

/// How the client came back after [`FakeDiscord::close_gateway`].
#[derive(Clone, Debug, PartialEq)]
pub enum Reconnect {
    /// op 6 RESUME (payload `d`); RESUMED has already been sent.
    Resumed(Value),
    /// op 2 IDENTIFY (payload `d`); READY has already been sent.
    Identified(Value),
}

/// Append-only log whose entries can be claimed once each by awaiting tests.
struct Journal<T> {
    items: Mutex<Vec<(T, bool)>>,
    tick: watch::Sender<u64>,
}

impl<T: Clone> Journal<T> {
    fn new() -> Self {
        Self {
            items: Mutex::new(Vec::new()),
            tick: watch::channel(0).0,
        }
    }
    fn push(&self, item: T) {
        self.items.lock().unwrap().push((item, false));
        self.tick.send_modify(|n| *n += 1);
    }
    fn all(&self) -> Vec<T> {
        self.items
            .lock()
            .unwrap()
            .iter()
            .map(|(t, _)| t.clone())
            .collect()
    }
    /// Claim the oldest unclaimed entry matching `pred`, waiting up to `timeout`.
    async fn take(&self, timeout: Duration, mut pred: impl FnMut(&T) -> bool) -> Option<T> {
        let mut rx = self.tick.subscribe(); // subscribe before checking: no lost wakeups
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            {
                let mut items = self.items.lock().unwrap();
                if let Some((t, taken)) = items.iter_mut().find(|(t, taken)| !*taken && pred(t)) {
                    *taken = true;
                    return Some(t.clone());
                }
            }
            match tokio::time::timeout_at(deadline, rx.changed()).await {
                Ok(Ok(())) => continue,
                _ => return None,
            }
        }
    }
}

struct Shared {
    gateway_url: String,
    heartbeat_ms: u64,
    requests: Journal<RestRequest>,
    /// Non-heartbeat client→gateway payloads (IDENTIFY, RESUME, presence...).
    gateway_in: Journal<Value>,
    /// Writer of the live gateway connection: (connection number, sender).
    current: Mutex<Option<(u64, mpsc::UnboundedSender<Message>)>>,
    live: watch::Sender<u64>,
    connections: AtomicU64,
    heartbeats: AtomicU64,
    seq: AtomicU64,
    next_id: AtomicU64,
    /// Command name → id, filled from command registration PUTs.
    command_ids: Mutex<Vec<(String, u64)>>,
    /// While set, channel message POSTs answer 500 (a Discord outage).
    fail_channel_posts: std::sync::atomic::AtomicBool,
    /// How many edits of `@original` still answer 404 Unknown Webhook (a deferral Discord has
    /// not seen yet).
    unknown_originals: AtomicU64,
    /// Channel messages made with `enforce_nonce`, by nonce: Discord answers a repeated nonce
    /// with the message it already made and makes none.
    by_nonce: Mutex<std::collections::HashMap<String, Value>>,
}

impl Shared {
    fn snowflake(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }
}

/// The fake. Dropping it does not stop the servers (they die with the test runtime).
pub struct FakeDiscord {
    rest_addr: std::net::SocketAddr,
    shared: Arc<Shared>,
    /// The application's Ed25519 key pair, made for this fake: it signs the interactions it
    /// POSTs to the bot ([`FakeDiscord::post_interaction`]).
    signing_key: ed25519_dalek::SigningKey,
}

impl FakeDiscord {
    /// Start REST + gateway listeners with a 45s heartbeat interval (no heartbeats in short tests).
    pub async fn start() -> Self {
        Self::start_with_heartbeat(Duration::from_millis(45_000)).await
    }

    /// Start with a custom HELLO `heartbeat_interval` (e.g. 100ms to exercise op 1 / op 11).
    pub async fn start_with_heartbeat(interval: Duration) -> Self {
        let rest = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let gw = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let rest_addr = rest.local_addr().unwrap();
        let shared = Arc::new(Shared {
            gateway_url: format!("ws://{}", gw.local_addr().unwrap()),
            heartbeat_ms: interval.as_millis() as u64,
            requests: Journal::new(),
            gateway_in: Journal::new(),
            current: Mutex::new(None),
            live: watch::channel(0).0,
            connections: AtomicU64::new(0),
            heartbeats: AtomicU64::new(0),
            seq: AtomicU64::new(0),
            next_id: AtomicU64::new(1_200_000_000_000_000_000),
            command_ids: Mutex::new(Vec::new()),
            fail_channel_posts: std::sync::atomic::AtomicBool::new(false),
            unknown_originals: AtomicU64::new(0),
            by_nonce: Mutex::new(std::collections::HashMap::new()),
        });
        let app = Router::new()
            .fallback(rest_handler)
            .with_state(shared.clone());
        tokio::spawn(async move { axum::serve(rest, app).await.unwrap() });
        let s = shared.clone();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = gw.accept().await {
                tokio::spawn(gateway_conn(s.clone(), tcp));
            }
        });
        let seed: [u8; 32] = std::array::from_fn(|_| fastrand::u8(..));
        Self {
            rest_addr,
            shared,
            signing_key: ed25519_dalek::SigningKey::from_bytes(&seed),
        }
    }

    /// `http://127.0.0.1:PORT`, for `HttpBuilder::proxy`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.rest_addr)
    }
    /// The settings, as `BACKORDER_BOT__…` variables and the token, that point the bot at this
    /// fake and have it serve [`GUILD`] with [`OPS_ROLE`] as the ops role.
    pub fn settings_vars(&self) -> Vec<(String, String)> {
        [
            ("BACKORDER_BOT__DISCORD__API_BASE_URL", self.base_url()),
            ("BACKORDER_BOT__DISCORD__GUILD_IDS", GUILD.to_string()),
            ("BACKORDER_BOT__DISCORD__OPS_ROLE_IDS", OPS_ROLE.to_string()),
            ("DISCORD_TOKEN", "fake-token".to_string()),
            ("DISCORD_PUBLIC_KEY", self.public_key_hex()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }
    /// The public key of the interactions this fake signs, in hex (the portal's "Public Key").
    pub fn public_key_hex(&self) -> String {
        hex(&self.signing_key.verifying_key().to_bytes())
    }

    /// `X-Signature-Ed25519` for `timestamp` + `body`, as Discord computes it.
    pub fn sign(&self, timestamp: &str, body: &[u8]) -> String {
        use ed25519_dalek::Signer;
        let mut message = timestamp.as_bytes().to_vec();
        message.extend_from_slice(body);
        hex(&self.signing_key.sign(&message).to_bytes())
    }

    /// POSTs an interaction `d` (see [`Self::interaction_payload`]) to the bot's Interactions
    /// Endpoint `url`, signed now, as Discord does; returns the status and the JSON answer
    /// (`Null` when the body is not JSON).
    pub async fn post_interaction(&self, url: &str, d: &Value) -> (u16, Value) {
        let body = d.to_string();
        let timestamp = now_seconds().to_string();
        let signature = self.sign(&timestamp, body.as_bytes());
        post_raw(
            url,
            body.into_bytes(),
            &[
                ("X-Signature-Ed25519", signature.as_str()),
                ("X-Signature-Timestamp", timestamp.as_str()),
            ],
        )
        .await
    }

    /// An application command (type 2) POSTed to `url`: the interaction and the bot's answer.
    pub async fn post_command(
        &self,
        url: &str,
        name: &str,
        options: Value,
        who: &Invoker,
    ) -> (SentInteraction, u16, Value) {
        let data = json!({"id": self.command_id(name).to_string(), "name": name, "type": 1, "options": options});
        let (sent, d) = self.interaction_payload(2, data, who, None);
        let (status, answer) = self.post_interaction(url, &d).await;
        (sent, status, answer)
    }

    /// A button click (type 3) on `message` POSTed to `url`: the bot's status and answer.
    pub async fn post_button_click(
        &self,
        url: &str,
        custom_id: &str,
        message: Value,
        who: &Invoker,
    ) -> (u16, Value) {
        let data = json!({"custom_id": custom_id, "component_type": 2});
        let (_, d) = self.interaction_payload(3, data, who, Some(message));
        self.post_interaction(url, &d).await
    }

    pub fn gateway_url(&self) -> &str {
        &self.shared.gateway_url
    }
    /// Number of gateway websocket connections accepted so far.
    pub fn connections(&self) -> u64 {
        self.shared.connections.load(Ordering::SeqCst)
    }
    /// Number of op 1 heartbeats received (and acked) so far.
    pub fn heartbeats(&self) -> u64 {
        self.shared.heartbeats.load(Ordering::SeqCst)
    }
    /// Every REST request seen so far, claimed or not.
    pub fn requests(&self) -> Vec<RestRequest> {
        self.shared.requests.all()
    }
    /// Makes channel message POSTs fail with 500 (`true`) or succeed again (`false`).
    pub fn fail_channel_posts(&self, failing: bool) {
        self.shared
            .fail_channel_posts
            .store(failing, Ordering::SeqCst);
    }
    /// Makes the next `n` edits of an `@original` response answer 404 Unknown Webhook.
    pub fn unknown_originals(&self, n: u64) {
        self.shared.unknown_originals.store(n, Ordering::SeqCst);
    }
    /// Channel message POSTs answered 200 so far (`path` names the channel), oldest first.
    pub fn channel_messages(&self) -> Vec<RestRequest> {
        self.requests()
            .into_iter()
            .filter(|r| {
                r.method == "POST"
                    && r.path.starts_with("/api/v10/channels/")
                    && r.path.ends_with("/messages")
                    && r.query.as_deref() != Some("failed")
                    && r.query.as_deref() != Some("repeated-nonce")
            })
            .collect()
    }
    /// Channel message edits (PATCH of a message the bot posted), oldest first.
    pub fn channel_edits(&self) -> Vec<RestRequest> {
        self.requests()
            .into_iter()
            .filter(|r| r.method == "PATCH" && r.path.starts_with("/api/v10/channels/"))
            .collect()
    }
    /// Every non-heartbeat payload the client sent over the gateway.
    pub fn gateway_messages(&self) -> Vec<Value> {
        self.shared.gateway_in.all()
    }

    /// Await (and claim) the oldest unclaimed REST request matching `pred`. Panics on timeout.
    pub async fn wait_request(
        &self,
        what: &str,
        timeout: Duration,
        pred: impl FnMut(&RestRequest) -> bool,
    ) -> RestRequest {
        match self.shared.requests.take(timeout, pred).await {
            Some(r) => r,
            None => panic!(
                "timed out waiting for REST request: {what}; seen: {:#?}",
                self.requests()
            ),
        }
    }

    /// Shorthand: await `method path` exactly (path without query string).
    pub async fn wait_for(&self, method: &str, path: &str) -> RestRequest {
        let what = format!("{method} {path}");
        self.wait_request(&what, DEFAULT_TIMEOUT, |r| {
            r.method == method && r.path == path
        })
        .await
    }

    /// Await the interaction's initial response; returns its JSON body.
    pub async fn wait_callback(&self, i: &SentInteraction) -> Value {
        self.wait_for("POST", &i.callback_path()).await.body
    }

    /// Await (and claim) the next gateway payload with opcode in `ops`.
    pub async fn wait_gateway_op(&self, ops: &[u64], timeout: Duration) -> Value {
        self.shared
            .gateway_in
            .take(timeout, |v| {
                v["op"].as_u64().is_some_and(|op| ops.contains(&op))
            })
            .await
            .unwrap_or_else(|| panic!("timed out waiting for gateway op {ops:?}"))
    }

    /// Wait for IDENTIFY (op 2) and answer READY. Returns the IDENTIFY `d`.
    pub async fn identify_and_ready(&self) -> Value {
        let identify = self.wait_gateway_op(&[2], DEFAULT_TIMEOUT).await;
        self.shared.seq.store(0, Ordering::SeqCst);
        self.dispatch("READY", ready_payload(&self.shared.gateway_url))
            .await;
        identify["d"].clone()
    }

    /// [`Self::identify_and_ready`], then wait for the bot's command registration in [`GUILD`].
    /// Returns the IDENTIFY `d` and the registration PUT.
    pub async fn connect_bot(&self) -> (Value, RestRequest) {
        let identify = self.identify_and_ready().await;
        let put = self
            .wait_for(
                "PUT",
                &format!("/api/v10/applications/{APP_ID}/guilds/{GUILD}/commands"),
            )
            .await;
        (identify, put)
    }

    /// Close the live gateway socket with `code` (4000 "unknown error" → serenity RESUMEs
    /// immediately; a TCP drop without close frame is only noticed at the next heartbeat, and
    /// a re-IDENTIFY goes through serenity's shard queuer, which waits 5s between identifies).
    pub async fn close_gateway(&self, code: u16) {
        let frame = CloseFrame {
            code: CloseCode::from(code),
            reason: "fake close".into(),
        };
        let (conn, tx) = self.live_conn().await;
        let _ = tx.send(Message::Close(Some(frame)));
        // Forget it right away so later dispatches wait for the new connection.
        let mut cur = self.shared.current.lock().unwrap();
        if cur.as_ref().is_some_and(|(c, _)| *c == conn) {
            *cur = None;
        }
    }

    /// After a close: wait for the client to come back with RESUME or IDENTIFY and finish the
    /// handshake (RESUMED is sent by the connection task; READY is sent here).
    pub async fn wait_reconnect(&self, timeout: Duration) -> Reconnect {
        let msg = self.wait_gateway_op(&[2, 6], timeout).await;
        if msg["op"] == 6 {
            Reconnect::Resumed(msg["d"].clone())
        } else {
            self.shared.seq.store(0, Ordering::SeqCst);
            self.dispatch("READY", ready_payload(&self.shared.gateway_url))
                .await;
            Reconnect::Identified(msg["d"].clone())
        }
    }

    /// Wait until the client has closed its gateway connection (e.g. after a shutdown).
    pub async fn wait_disconnected(&self, timeout: Duration) {
        let deadline = tokio::time::Instant::now() + timeout;
        while self.shared.current.lock().unwrap().is_some() {
            assert!(
                tokio::time::Instant::now() < deadline,
                "gateway connection still open"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Send a dispatch (op 0) on the live connection, waiting up to 5s for one to exist.
    pub async fn dispatch(&self, t: &str, d: Value) {
        let (_, tx) = self.live_conn().await;
        let s = self.shared.seq.fetch_add(1, Ordering::SeqCst) + 1;
        let frame = json!({"op": 0, "t": t, "s": s, "d": d});
        tx.send(Message::Text(frame.to_string()))
            .expect("gateway connection gone");
    }

    async fn live_conn(&self) -> (u64, mpsc::UnboundedSender<Message>) {
        let mut rx = self.shared.live.subscribe();
        let deadline = tokio::time::Instant::now() + DEFAULT_TIMEOUT;
        loop {
            if let Some(c) = self.shared.current.lock().unwrap().clone() {
                return c;
            }
            if tokio::time::timeout_at(deadline, rx.changed())
                .await
                .is_err()
            {
                panic!("no live gateway connection");
            }
        }
    }

    fn command_id(&self, name: &str) -> u64 {
        let known = self
            .shared
            .command_ids
            .lock()
            .unwrap()
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, id)| *id);
        known.unwrap_or_else(|| self.shared.snowflake())
    }

    /// Build an INTERACTION_CREATE `d` (without sending it).
    pub fn interaction_payload(
        &self,
        kind: u8,
        data: Value,
        who: &Invoker,
        message: Option<Value>,
    ) -> (SentInteraction, Value) {
        let id = self.shared.snowflake();
        let token = format!("tok-{id}");
        let mut d = json!({
            "id": id.to_string(), "application_id": APP_ID.to_string(), "type": kind,
            "token": token, "version": 1, "channel_id": CHANNEL_ID.to_string(),
            "locale": "en-US", "entitlements": [], "attachment_size_limit": 8_388_608,
            "app_permissions": "0", "authorizing_integration_owners": {}, "data": data,
        });
        let user = user_json(who.user_id, &who.username, false);
        match who.guild_id {
            Some(g) => {
                d["guild_id"] = json!(g.to_string());
                d["guild_locale"] = json!("en-US");
                d["context"] = json!(0);
                d["member"] = json!({
                    "user": user, "roles": who.roles.iter().map(|r| r.to_string()).collect::<Vec<_>>(),
                    "joined_at": TIMESTAMP, "deaf": false, "mute": false, "flags": 0,
                    "pending": false, "permissions": "0",
                });
            }
            None => {
                d["context"] = json!(1);
                d["user"] = user;
            }
        }
        if let Some(m) = message {
            d["message"] = m;
        }
        (SentInteraction { id, token }, d)
    }

    /// Application command (type 2). `options`: JSON array like `[{"name":"item","type":3,"value":"x"}]`.
    pub async fn send_command(&self, name: &str, options: Value, who: &Invoker) -> SentInteraction {
        let data = json!({"id": self.command_id(name).to_string(), "name": name, "type": 1, "options": options});
        let (sent, d) = self.interaction_payload(2, data, who, None);
        self.dispatch("INTERACTION_CREATE", d).await;
        sent
    }

    /// Autocomplete (type 4): option `option` (of option type `kind`, 3 = string) is focused
    /// with the partial input `partial`.
    pub async fn send_autocomplete(
        &self,
        name: &str,
        option: &str,
        kind: u8,
        partial: &str,
        who: &Invoker,
    ) -> SentInteraction {
        let opts = json!([{"name": option, "type": kind, "value": partial, "focused": true}]);
        let data = json!({"id": self.command_id(name).to_string(), "name": name, "type": 1, "options": opts});
        let (sent, d) = self.interaction_payload(4, data, who, None);
        self.dispatch("INTERACTION_CREATE", d).await;
        sent
    }

    /// Button click (type 3, component_type 2) on `message` (see [`message_json`]).
    pub async fn send_button_click(
        &self,
        custom_id: &str,
        message: Value,
        who: &Invoker,
    ) -> SentInteraction {
        let data = json!({"custom_id": custom_id, "component_type": 2});
        let (sent, d) = self.interaction_payload(3, data, who, Some(message));
        self.dispatch("INTERACTION_CREATE", d).await;
        sent
    }
}

impl FakeDiscord {
    /// Modal submit (type 5), as Discord sends it when a form the bot opened is sent: the form's
    /// `custom_id` and each text input as `(custom_id, value)`, one action row each.
    pub async fn send_modal_submit(
        &self,
        custom_id: &str,
        fields: &[(&str, &str)],
        who: &Invoker,
    ) -> SentInteraction {
        let rows: Vec<Value> = fields
            .iter()
            .map(|(id, value)| {
                json!({"type": 1, "components": [{"type": 4, "custom_id": id, "value": value}]})
            })
            .collect();
        let data = json!({"custom_id": custom_id, "components": rows});
        let (sent, d) = self.interaction_payload(5, data, who, None);
        self.dispatch("INTERACTION_CREATE", d).await;
        sent
    }
}

/// A plausible user object.
pub fn user_json(id: u64, name: &str, bot: bool) -> Value {
    json!({"id": id.to_string(), "username": name, "discriminator": "0", "global_name": name,
           "avatar": null, "bot": bot, "flags": 0, "public_flags": 0})
}

/// A message object with every field serenity's `Message` requires (id, channel_id, author,
/// content, timestamp, tts, mention_everyone, mentions, mention_roles, attachments, embeds,
/// pinned, type), authored by the bot. `extra` (an object) is merged in (embeds, components...).
pub fn message_json(id: u64, content: &str, extra: Value) -> Value {
    let mut m = json!({
        "id": id.to_string(), "channel_id": CHANNEL_ID.to_string(), "type": 0,
        "author": user_json(BOT_ID, "fakebot", true), "content": content,
        "timestamp": TIMESTAMP, "edited_timestamp": null, "tts": false,
        "mention_everyone": false, "mentions": [], "mention_roles": [], "attachments": [],
        "embeds": [], "components": [], "pinned": false, "flags": 0,
        "application_id": APP_ID.to_string(), "webhook_id": APP_ID.to_string(),
    });
    if let (Some(m), Some(x)) = (m.as_object_mut(), extra.as_object()) {
        for (k, v) in x {
            if !v.is_null() {
                m.insert(k.clone(), v.clone());
            }
        }
    }
    m
}

/// READY `d`: v, user, guilds, session_id, resume_gateway_url, application{id, flags}.
pub fn ready_payload(gateway_url: &str) -> Value {
    json!({
        "v": 10, "user": user_json(BOT_ID, "fakebot", true), "guilds": [],
        "session_id": "fake-session", "resume_gateway_url": gateway_url,
        "application": {"id": APP_ID.to_string(), "flags": 0},
    })
}

fn application_json() -> Value {
    json!({"id": APP_ID.to_string(), "name": "fakebot", "icon": null, "description": "",
           "bot_public": true, "bot_require_code_grant": false, "verify_key": "00",
           "owner": user_json(USER_ID, "owner", false), "team": null, "flags": 0})
}

/// One gateway connection: HELLO, auto heartbeat-ACK and RESUMED, log everything else.
async fn gateway_conn(shared: Arc<Shared>, tcp: tokio::net::TcpStream) {
    let Ok(ws) = tokio_tungstenite::accept_async(tcp).await else {
        return;
    };
    let (mut sink, mut stream) = ws.split();
    let (tx, mut rx) = mpsc::unbounded_channel::<Message>();
    let conn = shared.connections.fetch_add(1, Ordering::SeqCst) + 1;
    let hello = json!({"op": 10, "d": {"heartbeat_interval": shared.heartbeat_ms}});
    let _ = tx.send(Message::Text(hello.to_string()));
    *shared.current.lock().unwrap() = Some((conn, tx.clone()));
    shared.live.send_modify(|n| *n += 1);
    let writer = tokio::spawn(async move {
        while let Some(m) = rx.recv().await {
            let closing = matches!(m, Message::Close(_));
            if sink.send(m).await.is_err() || closing {
                break;
            }
        }
    });
    while let Some(Ok(msg)) = stream.next().await {
        let text = match msg {
            Message::Text(t) => t,
            Message::Close(_) => break,
            _ => continue,
        };
        let Ok(v) = serde_json::from_str::<Value>(&text) else {
            continue;
        };
        match v["op"].as_u64() {
            Some(1) => {
                shared.heartbeats.fetch_add(1, Ordering::SeqCst);
                let _ = tx.send(Message::Text(json!({"op": 11}).to_string()));
            }
            Some(6) => {
                let s = shared.seq.fetch_add(1, Ordering::SeqCst) + 1;
                let resumed = json!({"op": 0, "t": "RESUMED", "s": s, "d": {}});
                let _ = tx.send(Message::Text(resumed.to_string()));
                shared.gateway_in.push(v);
            }
            _ => shared.gateway_in.push(v),
        }
    }
    {
        let mut cur = shared.current.lock().unwrap();
        if cur.as_ref().is_some_and(|(c, _)| *c == conn) {
            *cur = None;
        }
    }
    // Let a pending Close frame flush, then stop.
    tokio::time::sleep(Duration::from_millis(10)).await;
    writer.abort();
}

/// A multipart upload (`multipart/form-data`, as serenity sends files) as
/// `{…payload_json…, "files": [{"field", "name", "len", "png", "text"}]}`: `field` the part's
/// name (`files[0]`), `name` its file name, `png` whether it starts with the PNG signature,
/// `text` its bytes read as UTF-8 (lossy). `None` when the body is not multipart.
fn multipart_json(body: &[u8]) -> Option<Value> {
    let first_line = body.split(|b| *b == b'\n').next()?;
    let boundary = first_line.strip_suffix(b"\r").unwrap_or(first_line);
    if !boundary.starts_with(b"--") || boundary.len() < 3 {
        return None;
    }
    let mut payload = Value::Null;
    let mut files = Vec::new();
    for part in split_bytes(body, boundary).into_iter().skip(1) {
        let Some(head_end) = find_bytes(part, b"\r\n\r\n") else {
            continue; // the closing `--` after the last boundary
        };
        let head = String::from_utf8_lossy(&part[..head_end]);
        let content = &part[head_end + 4..];
        let content = content.strip_suffix(b"\r\n").unwrap_or(content);
        let field = header_param(&head, "name").unwrap_or_default();
        if field == "payload_json" {
            payload = serde_json::from_slice(content).unwrap_or(Value::Null);
        } else if let Some(name) = header_param(&head, "filename") {
            files.push(json!({
                "field": field,
                "name": name,
                "len": content.len(),
                "png": content.starts_with(b"\x89PNG\r\n\x1a\n"),
                "text": String::from_utf8_lossy(content),
            }));
        }
    }
    let mut out = if payload.is_object() {
        payload
    } else {
        json!({})
    };
    out["files"] = Value::Array(files);
    Some(out)
}

/// `name="x"` of a part's `Content-Disposition`.
fn header_param(head: &str, key: &str) -> Option<String> {
    let needle = format!(" {key}=\"");
    let i = head
        .find(&needle)
        .or_else(|| head.find(&needle[1..]).filter(|i| *i == 0))?;
    let rest = &head[i + needle.len()..];
    rest.split('"').next().map(str::to_string)
}

fn find_bytes(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn split_bytes<'a>(mut hay: &'a [u8], sep: &[u8]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    while let Some(i) = find_bytes(hay, sep) {
        out.push(&hay[..i]);
        hay = &hay[i + sep.len()..];
    }
    out.push(hay);
    out
}

/// What Discord would refuse in a multipart message body: `payload_json` against the
/// operation's `multipart/form-data` schema in `openapi.json`, and each attachment of the payload
/// matched by a `files[id]` part (and no part without one).
pub fn validate_multipart(req: &RestRequest) -> Vec<String> {
    let mut payload = req.body.clone();
    let files = payload
        .as_object_mut()
        .and_then(|m| m.remove("files"))
        .unwrap_or(Value::Null);
    let mut problems =
        openapi::validate_request(&req.method, &req.path, "multipart/form-data", &payload);
    let fields: Vec<String> = files
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["field"].as_str().map(str::to_string))
        .collect();
    // A callback carries its message under `data`.
    let message = if payload.get("data").is_some() {
        &payload["data"]
    } else {
        &payload
    };
    let ids: Vec<String> = message["attachments"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| match &a["id"] {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .collect();
    for id in &ids {
        if !fields.contains(&format!("files[{id}]")) {
            problems.push(format!("attachment {id} has no files[{id}] part"));
        }
    }
    for f in &fields {
        if !ids.iter().any(|id| *f == format!("files[{id}]")) {
            problems.push(format!("part {f} is not among the payload's attachments"));
        }
    }
    problems
}

/// Catch-all REST handler: record, then route on (method, path segments after /api/v10).
async fn rest_handler(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    body: Bytes,
) -> Response {
    let (body, multipart): (Value, bool) = if body.is_empty() {
        (Value::Null, false)
    } else {
        match serde_json::from_slice(&body) {
            Ok(v) => (v, false),
            Err(_) => match multipart_json(&body) {
                Some(v) => (v, true),
                None => (
                    Value::String(String::from_utf8_lossy(&body).to_string()),
                    false,
                ),
            },
        }
    };
    let req = RestRequest {
        method: method.to_string(),
        path: uri.path().to_string(),
        query: uri.query().map(String::from),
        body,
        multipart,
    };
    let mut req = req;
    let is_post = req.method == "POST" && req.path.starts_with("/api/v10/channels/");
    if is_post && shared.fail_channel_posts.load(Ordering::SeqCst) {
        // Recorded as a failed attempt (query "failed") so tests can count attempts apart.
        req.query = Some("failed".into());
        shared.requests.push(req);
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            Json(json!({"message": "Internal Server Error", "code": 0})),
        )
            .into_response();
    }
    let original_edit = req.method == "PATCH" && req.path.ends_with("/messages/@original");
    if original_edit
        && shared
            .unknown_originals
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
    {
        req.query = Some("unknown".into());
        shared.requests.push(req);
        return (
            StatusCode::NOT_FOUND,
            Json(json!({"message": "Unknown Webhook", "code": 10015})),
        )
            .into_response();
    }
    let to_interaction = req.path.starts_with("/api/v10/interactions/")
        || req.path.starts_with("/api/v10/webhooks/");
    if req.multipart && to_interaction {
        let problems = validate_multipart(&req);
        if !problems.is_empty() {
            shared.requests.push(req);
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({"message": "Invalid Form Body", "code": 50035, "errors": problems})),
            )
                .into_response();
        }
    }
    if let Some(nonce) = enforced_nonce(&req) {
        let known = shared.by_nonce.lock().unwrap().get(&nonce).cloned();
        if let Some(message) = known {
            // Recorded apart (query "repeated-nonce"): Discord made no new message.
            req.query = Some("repeated-nonce".into());
            shared.requests.push(req);
            return Json(message).into_response();
        }
        let content = req.body["content"].as_str().unwrap_or("").to_string();
        let extra = json!({"embeds": req.body["embeds"], "components": req.body["components"],
            "nonce": nonce});
        let message = message_json(shared.snowflake(), &content, extra);
        shared
            .by_nonce
            .lock()
            .unwrap()
            .insert(nonce, message.clone());
        shared.requests.push(req);
        return Json(message).into_response();
    }
    let resp = route(&shared, &req);
    shared.requests.push(req);
    resp
}

/// The nonce of a channel message POST that asks Discord to enforce it (`enforce_nonce`).
fn enforced_nonce(req: &RestRequest) -> Option<String> {
    let is_message = req.method == "POST"
        && req.path.starts_with("/api/v10/channels/")
        && req.path.ends_with("/messages");
    if !is_message || req.body["enforce_nonce"] != json!(true) {
        return None;
    }
    match &req.body["nonce"] {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn route(shared: &Shared, req: &RestRequest) -> Response {
    let segs: Vec<&str> = req
        .path
        .trim_start_matches("/api/v10/")
        .split('/')
        .collect();
    let ok = |v: Value| Json(v).into_response();
    let body_msg = |content_default: &str| {
        let content = req.body["content"]
            .as_str()
            .unwrap_or(content_default)
            .to_string();
        let extra = json!({"embeds": req.body["embeds"], "components": req.body["components"]});
        ok(message_json(shared.snowflake(), &content, extra))
    };
    match (req.method.as_str(), segs.as_slice()) {
        ("GET", ["gateway"]) => ok(json!({"url": shared.gateway_url})),
        ("GET", ["gateway", "bot"]) => ok(json!({"url": shared.gateway_url, "shards": 1,
            "session_start_limit": {"total": 1000, "remaining": 1000, "reset_after": 0, "max_concurrency": 1}})),
        ("GET", ["oauth2", "applications", "@me"]) | ("GET", ["applications", "@me"]) => {
            ok(application_json())
        }
        ("GET", ["users", "@me"]) => ok(user_json(BOT_ID, "fakebot", true)),
        ("PUT", ["applications", _, "commands"])
        | ("PUT", ["applications", _, "guilds", _, "commands"]) => {
            let problems = validate_registration(&req.body);
            if !problems.is_empty() {
                return (
                    StatusCode::BAD_REQUEST,
                    Json(
                        json!({"message": "Invalid Form Body", "code": 50035, "errors": problems}),
                    ),
                )
                    .into_response();
            }
            let guild_id = segs.get(3).copied();
            let cmds = req.body.as_array().cloned().unwrap_or_default();
            let out: Vec<Value> = cmds
                .into_iter()
                .map(|mut c| {
                    let name = c["name"].as_str().unwrap_or("").to_string();
                    let id = shared.snowflake();
                    shared.command_ids.lock().unwrap().push((name, id));
                    c["id"] = json!(id.to_string());
                    c["application_id"] = json!(APP_ID.to_string());
                    c["version"] = json!(id.to_string());
                    if c.get("type").is_none() {
                        c["type"] = json!(1);
                    }
                    if c.get("description").is_none() {
                        c["description"] = json!("");
                    }
                    if let Some(g) = guild_id {
                        c["guild_id"] = json!(g);
                    }
                    c
                })
                .collect();
            ok(Value::Array(out))
        }
        ("POST", ["interactions", _, _, "callback"]) => StatusCode::NO_CONTENT.into_response(),
        ("POST", ["webhooks", _, _]) => body_msg(""),
        ("PATCH", ["webhooks", _, _, "messages", _]) => body_msg(""),
        ("GET", ["webhooks", _, _, "messages", _]) => body_msg("original"),
        ("DELETE", ["webhooks", _, _, "messages", _]) => StatusCode::NO_CONTENT.into_response(),
        ("POST", ["channels", _, "messages"]) => body_msg(""),
        ("PATCH", ["channels", _, "messages", _]) => body_msg(""),
        _ => (
            StatusCode::NOT_FOUND,
            Json(json!({"message": "unknown", "code": 0})),
        )
            .into_response(),
    }
}

/// What Discord would refuse in a command registration (the fields of
/// `/work/shared/discord/openapi.json` the bot uses): names, descriptions, option order, choices,
/// and limits that only exist on their own option type (`min_value`/`max_value` on integers,
/// `min_length`/`max_length` on strings).
pub fn validate_registration(body: &Value) -> Vec<String> {
    fn name_ok(n: &str) -> bool {
        (1..=32).contains(&n.chars().count())
            && n.chars()
                .all(|c| c == '-' || c == '_' || c.is_lowercase() || c.is_numeric())
    }
    fn description_ok(d: Option<&str>) -> bool {
        d.is_some_and(|d| (1..=100).contains(&d.chars().count()))
    }
    fn options(path: &str, opts: Option<&Value>, out: &mut Vec<String>) {
        let Some(opts) = opts.and_then(|o| o.as_array()) else {
            return;
        };
        if opts.len() > 25 {
            out.push(format!("{path}: more than 25 options"));
        }
        let mut seen_optional = false;
        for o in opts {
            let name = o["name"].as_str().unwrap_or("");
            let p = format!("{path}.{name}");
            if !name_ok(name) {
                out.push(format!("{p}: bad name"));
            }
            if !description_ok(o["description"].as_str()) {
                out.push(format!("{p}: description must be 1-100 characters"));
            }
            let kind = o["type"].as_u64().unwrap_or(0);
            if !(1..=11).contains(&kind) {
                out.push(format!("{p}: bad type {kind}"));
            }
            if kind == 1 || kind == 2 {
                options(&p, o.get("options"), out);
                continue;
            }
            let required = o["required"].as_bool().unwrap_or(false);
            if required && seen_optional {
                out.push(format!("{p}: required options must come first"));
            }
            seen_optional |= !required;
            if o["choices"].as_array().is_some_and(|c| c.len() > 25) {
                out.push(format!("{p}: more than 25 choices"));
            }
            for key in ["min_value", "max_value"] {
                if let Some(v) = o.get(key).filter(|v| !v.is_null()) {
                    if kind != 4 && kind != 10 {
                        out.push(format!("{p}: {key} only exists on number options"));
                    } else if kind == 4 && !v.is_i64() {
                        out.push(format!("{p}: {key} must be an integer"));
                    }
                }
            }
            if let (Some(min), Some(max)) = (o["min_value"].as_f64(), o["max_value"].as_f64()) {
                if min > max {
                    out.push(format!("{p}: min_value above max_value"));
                }
            }
            for (key, lowest) in [("min_length", 0), ("max_length", 1)] {
                if let Some(v) = o.get(key).filter(|v| !v.is_null()) {
                    if kind != 3 {
                        out.push(format!("{p}: {key} only exists on string options"));
                    } else if !v.as_u64().is_some_and(|n| (lowest..=6000).contains(&n)) {
                        out.push(format!("{p}: {key} must be {lowest}-6000"));
                    }
                }
            }
        }
    }
    let mut out = Vec::new();
    let Some(cmds) = body.as_array() else {
        return vec!["body: not an array".to_string()];
    };
    for c in cmds {
        let name = c["name"].as_str().unwrap_or("");
        if !name_ok(name) {
            out.push(format!("{name}: bad name"));
        }
        if !description_ok(c["description"].as_str()) {
            out.push(format!("{name}: description must be 1-100 characters"));
        }
        options(name, c.get("options"), &mut out);
    }
    out
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Seconds since the Unix epoch, by this machine's clock (Discord's signature timestamp).
pub fn now_seconds() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs() as i64
}

/// POSTs `body` as JSON to `url` with extra `headers`; returns the status and the JSON answer
/// (`Null` when it is not JSON). For requests signed wrongly on purpose.
pub async fn post_raw(url: &str, body: Vec<u8>, headers: &[(&str, &str)]) -> (u16, Value) {
    let mut req = reqwest::Client::new()
        .post(url)
        .header("Content-Type", "application/json")
        .body(body);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let resp = req.send().await.expect("the bot answers HTTP");
    let status = resp.status().as_u16();
    let bytes = resp.bytes().await.unwrap_or_default();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}
