//! A Twilio-compatible Messages API on 127.0.0.1 that records every request and answers from a
//! script (default: 201 with a fresh `sid`). The tests' stub, and `bench notify`'s (the binary
//! includes this file as a `#[path]` module).
#![allow(dead_code)]

use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use axum::Router;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The account the tests' SMS settings name, and its auth token.
pub const ACCOUNT_SID: &str = "AC0123456789abcdef0123456789abcdef";
pub const AUTH_TOKEN: &str = "test-auth-token";

/// One request as received.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    pub path: String,
    pub authorization: Option<String>,
    pub form: Vec<(String, String)>,
    /// The status it was answered with.
    pub status: u16,
    /// The answer waited (a client with a shorter timeout never saw it).
    pub delayed: bool,
    /// When it arrived.
    pub at: Instant,
}

impl Received {
    pub fn field(&self, name: &str) -> Option<&str> {
        self.form
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A scripted answer.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: String,
    pub retry_after: Option<u64>,
    pub delay: Duration,
}

impl Answer {
    pub fn error(status: u16, code: i64) -> Self {
        Self {
            status,
            body: format!(
                r#"{{"code": {code}, "message": "error {code}", "more_info": "https://www.twilio.com/docs/errors/{code}", "status": {status}}}"#
            ),
            retry_after: None,
            delay: Duration::ZERO,
        }
    }
}

#[derive(Default)]
struct Inner {
    received: Vec<Received>,
    script: VecDeque<Answer>,
    /// Answers for one recipient (`To`), used before the shared script.
    by_number: std::collections::HashMap<String, VecDeque<Answer>>,
    /// Delay of every default answer.
    delay: Duration,
}

#[derive(Clone)]
pub struct MockTwilio {
    inner: Arc<Mutex<Inner>>,
    pub base_url: String,
}

impl MockTwilio {
    pub async fn start() -> Self {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let app = Router::new()
            .route("/{*path}", any(handle))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self {
            inner,
            base_url: format!("http://{addr}"),
        }
    }

    /// The settings, as variables, that send SMS through this mock from a fixed number, with
    /// no rate limit.
    pub fn settings_vars(&self) -> Vec<(String, String)> {
        [
            ("TWILIO_ACCOUNT_SID", ACCOUNT_SID),
            ("TWILIO_AUTH_TOKEN", AUTH_TOKEN),
            ("BACKORDER_BOT__SMS__BASE_URL", &self.base_url),
            ("BACKORDER_BOT__SMS__FROM", "+15005550006"),
            ("BACKORDER_BOT__SMS__PER_SECOND", "0"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    /// Answers the next request(s) with these, in order.
    pub fn script(&self, answers: impl IntoIterator<Item = Answer>) {
        self.inner.lock().unwrap().script.extend(answers);
    }

    /// Answers the next request(s) to this number with these, in order.
    pub fn script_for(&self, to: &str, answers: impl IntoIterator<Item = Answer>) {
        self.inner
            .lock()
            .unwrap()
            .by_number
            .entry(to.to_string())
            .or_default()
            .extend(answers);
    }

    /// Answers the first request to this number with 429 and `Retry-After: seconds`.
    pub fn rate_limit_first(&self, to: &str, seconds: u64) {
        let mut limited = Answer::error(429, 20429);
        limited.retry_after = Some(seconds);
        self.script_for(to, [limited]);
    }

    /// Every default answer waits this long.
    pub fn set_delay(&self, d: Duration) {
        self.inner.lock().unwrap().delay = d;
    }

    pub fn received(&self) -> Vec<Received> {
        self.inner.lock().unwrap().received.clone()
    }

    /// Messages received per `To` number.
    pub fn per_number(&self) -> std::collections::HashMap<String, usize> {
        let mut out = std::collections::HashMap::new();
        for r in self.received() {
            *out.entry(r.field("To").unwrap_or_default().to_string())
                .or_default() += 1;
        }
        out
    }

    pub fn count(&self) -> usize {
        self.inner.lock().unwrap().received.len()
    }
}

async fn handle(
    State(inner): State<Arc<Mutex<Inner>>>,
    method: Method,
    Path(path): Path<String>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let form: Vec<(String, String)> = url_decode_form(&body);
    let answer = {
        let mut i = inner.lock().unwrap();
        let to = form
            .iter()
            .find(|(k, _)| k == "To")
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        let n = i.received.len() + 1;
        let delay = i.delay;
        let scripted = match i.by_number.get_mut(&to).and_then(VecDeque::pop_front) {
            Some(a) => Some(a),
            None => i.script.pop_front(),
        };
        let answer = scripted.unwrap_or_else(|| Answer {
            status: 201,
            body: format!(r#"{{"sid": "SM{n:032x}", "status": "queued", "body": "..."}}"#),
            retry_after: None,
            delay,
        });
        i.received.push(Received {
            method: method.to_string(),
            path: format!("/{path}"),
            authorization: headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
            form,
            status: answer.status,
            delayed: !answer.delay.is_zero(),
            at: Instant::now(),
        });
        answer
    };
    if !answer.delay.is_zero() {
        tokio::time::sleep(answer.delay).await;
    }
    let mut r = (
        StatusCode::from_u16(answer.status).unwrap(),
        [("content-type", "application/json")],
        answer.body,
    )
        .into_response();
    if let Some(s) = answer.retry_after {
        r.headers_mut()
            .insert("retry-after", s.to_string().parse().unwrap());
    }
    r
}

/// `application/x-www-form-urlencoded` → pairs.
pub fn url_decode_form(body: &str) -> Vec<(String, String)> {
    body.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let h = u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap_or(b'?');
                out.push(h);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}
