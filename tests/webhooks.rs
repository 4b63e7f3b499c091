//! Twilio webhooks through the real HTTP router on 127.0.0.1: signatures, keywords, inquiries,
//! delivery reports.

mod common;

use backorder_bot::adapters::webhooks::{signature, INBOUND_PATH, STATUS_PATH};
use backorder_bot::domain::notify::date_in_words;
use common::{spawn_demo_app_with, TestApp};

const TOKEN: &str = "webhook-test-token";
const PUBLIC: &str = "https://bot.example.com";

struct Hook {
    t: TestApp,
    base: String,
    http: reqwest::Client,
}

async fn start() -> Hook {
    start_with(&[
        ("TWILIO_AUTH_TOKEN", TOKEN),
        ("BACKORDER_BOT__HTTP__PUBLIC_URL", PUBLIC),
        ("BACKORDER_BOT__DISCORD__ALERT_CHANNEL_ID", "4242"),
    ])
    .await
}

async fn start_with(settings: &[(&str, &str)]) -> Hook {
    let t = spawn_demo_app_with(settings).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = backorder_bot::adapters::http::router(t.app.clone());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    Hook {
        t,
        base: format!("http://{addr}"),
        http: reqwest::Client::new(),
    }
}

impl Hook {
    async fn post(
        &self,
        path: &str,
        params: &[(&str, &str)],
        sig: Option<String>,
    ) -> (u16, String) {
        let owned: Vec<(String, String)> = params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let mut req = self.http.post(format!("{}{path}", self.base)).form(&owned);
        if let Some(s) = sig {
            req = req.header("X-Twilio-Signature", s);
        }
        let r = req.send().await.unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }

    async fn signed(&self, path: &str, params: &[(&str, &str)]) -> (u16, String) {
        let owned: Vec<(String, String)> = params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let sig = signature(TOKEN, &format!("{PUBLIC}{path}"), &owned);
        self.post(path, params, Some(sig)).await
    }
}

const ADA: &str = "+447700900001";

#[tokio::test]
async fn a_forged_or_missing_signature_is_refused_and_nothing_is_recorded() {
    let h = start().await;
    let params = [("From", ADA), ("Body", "STOP"), ("MessageSid", "SM1")];
    let (status, _) = h.post(INBOUND_PATH, &params, None).await;
    assert_eq!(status, 403);
    let owned: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let wrong_key = signature("not-the-token", &format!("{PUBLIC}{INBOUND_PATH}"), &owned);
    assert_eq!(h.post(INBOUND_PATH, &params, Some(wrong_key)).await.0, 403);
    // Signed for other parameters than the ones sent.
    let other = signature(TOKEN, &format!("{PUBLIC}{INBOUND_PATH}"), &owned[..1]);
    assert_eq!(h.post(INBOUND_PATH, &params, Some(other)).await.0, 403);
    assert_eq!(
        h.post(
            STATUS_PATH,
            &[("MessageSid", "SM1"), ("MessageStatus", "failed")],
            None
        )
        .await
        .0,
        403
    );
    assert_eq!(h.t.scalar("SELECT COUNT(*) FROM inbound_messages").await, 0);
    assert_eq!(
        h.t.scalar("SELECT COUNT(*) FROM customers WHERE sms_opt_out = TRUE")
            .await,
        0
    );
}

#[tokio::test]
async fn without_a_public_url_the_webhooks_answer_503_naming_the_setting() {
    // Signed as Twilio would sign it: the request may well be genuine, so it is not "forged".
    let h = start_with(&[("TWILIO_AUTH_TOKEN", TOKEN)]).await;
    let params = [("From", ADA), ("Body", "STOP"), ("MessageSid", "SM1")];
    let owned: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let sig = signature(TOKEN, &format!("{PUBLIC}{INBOUND_PATH}"), &owned);
    let (status, body) = h.post(INBOUND_PATH, &params, Some(sig)).await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("http.public_url"), "{body}");
    let (status, body) = h
        .post(
            STATUS_PATH,
            &[("MessageSid", "SM1"), ("MessageStatus", "failed")],
            None,
        )
        .await;
    assert_eq!(
        (status, body.contains("http.public_url")),
        (503, true),
        "{body}"
    );
    assert_eq!(h.t.scalar("SELECT COUNT(*) FROM inbound_messages").await, 0);

    // Without the auth token, that is the key named.
    let h = start_with(&[("BACKORDER_BOT__HTTP__PUBLIC_URL", PUBLIC)]).await;
    let (status, body) = h.post(INBOUND_PATH, &params, None).await;
    assert_eq!(
        (status, body.contains("TWILIO_AUTH_TOKEN")),
        (503, true),
        "{body}"
    );
}

#[tokio::test]
async fn stop_opts_out_and_start_opts_back_in() {
    let h = start().await;
    let (status, body) = h
        .signed(INBOUND_PATH, &[("From", ADA), ("Body", " stop ")])
        .await;
    assert_eq!(status, 200);
    assert!(body.contains("<Response"), "{body}");
    let opted =
        "SELECT COUNT(*) FROM customers WHERE external_id = 'C-1001' AND sms_opt_out = TRUE";
    assert_eq!(h.t.scalar(opted).await, 1);
    h.signed(INBOUND_PATH, &[("From", ADA), ("Body", "Unstop")])
        .await;
    assert_eq!(h.t.scalar(opted).await, 0);
    let (_, help) = h
        .signed(INBOUND_PATH, &[("From", ADA), ("Body", "HELP")])
        .await;
    assert!(help.contains("STOP"), "{help}");
    assert_eq!(h.t.scalar(opted).await, 0);
}

#[tokio::test]
async fn an_inquiry_is_answered_with_the_current_promise_and_recorded() {
    let h = start().await;
    let (bo, eta): (i64, String) =
        h.t.row(
            "SELECT b.id, CAST(b.promised_eta AS TEXT) FROM backorders b
             JOIN customers c ON c.id = b.customer_id WHERE c.external_id = 'C-1001'",
        )
        .await;
    let words = date_in_words(eta.parse().unwrap());
    let (status, body) = h
        .signed(
            INBOUND_PATH,
            &[
                ("From", ADA),
                ("Body", "when will it come?"),
                ("MessageSid", "SMin1"),
            ],
        )
        .await;
    assert_eq!(status, 200);
    assert!(
        body.contains(&format!(
            "<Message>Demo Shop: Your Trailhead 2-person tent: now expected {words}"
        )),
        "{body}"
    );
    assert_eq!(
        h.t.scalar(&format!(
            "SELECT COUNT(*) FROM inbound_backorders ib JOIN inbound_messages i ON i.id = ib.inbound_id
             WHERE i.kind = 'inquiry' AND ib.backorder_id = {bo}"
        ))
        .await,
        1
    );
    // Posted with its context to the ops channel, the number masked.
    let (channel, post): (String, String) =
        h.t.row("SELECT channel_id, content FROM channel_posts")
            .await;
    assert_eq!(channel, "4242");
    assert!(post.contains("SMS inquiry from customer C-1001"), "{post}");
    assert!(post.contains("when will it come?"), "{post}");
    assert!(post.contains(&format!("#{bo}")), "{post}");
    assert!(!post.contains(ADA), "{post}");
}

#[tokio::test]
async fn unknown_numbers_get_a_neutral_reply_without_data() {
    let h = start().await;
    let (status, body) = h
        .signed(
            INBOUND_PATH,
            &[("From", "+15557654321"), ("Body", "where is my tent?")],
        )
        .await;
    assert_eq!(status, 200);
    assert!(body.contains("could not match"), "{body}");
    assert!(!body.contains("expected"), "{body}");
}

/// A text to Ada the provider has queued under `sid`.
async fn queued_message_to_ada(h: &Hook, sid: &str) {
    let customer =
        h.t.scalar("SELECT id FROM customers WHERE external_id = 'C-1001'")
            .await;
    // A time both engines read as one: RFC 3339 text, as the store writes it on SQLite.
    h.t.exec(&format!(
        "INSERT INTO messages (customer_id, kind, channel, transport, recipient, body, provider_sid,
            status, created_at, updated_at)
         VALUES ({customer}, 'eta_changed', 'sms', 'twilio', '{ADA}', 'hi', '{sid}', 'queued',
            '2026-11-26T12:00:00Z', '2026-11-26T12:00:00Z')"
    ))
    .await;
}

#[tokio::test]
async fn status_callbacks_update_the_message_record() {
    let h = start().await;
    queued_message_to_ada(&h, "SMabc").await;
    let (status, _) = h
        .signed(
            STATUS_PATH,
            &[
                ("MessageSid", "SMabc"),
                ("MessageStatus", "undelivered"),
                ("ErrorCode", "30003"),
            ],
        )
        .await;
    assert_eq!(status, 204);
    let (st, code): (String, Option<String>) =
        h.t.row("SELECT status, error_code FROM messages WHERE provider_sid = 'SMabc'")
            .await;
    assert_eq!(st, "undelivered");
    assert_eq!(code.as_deref(), Some("30003"));
}

#[tokio::test]
async fn a_status_report_with_an_unknown_status_is_refused_and_changes_nothing() {
    let h = start().await;
    queued_message_to_ada(&h, "SMabc").await;
    let (status, body) = h
        .signed(
            STATUS_PATH,
            &[("MessageSid", "SMabc"), ("MessageStatus", "vanished")],
        )
        .await;
    assert_eq!(status, 400);
    assert!(body.contains("MessageStatus"), "{body}");
    let queued = "SELECT COUNT(*) FROM messages WHERE provider_sid = 'SMabc' AND status = 'queued'";
    assert_eq!(h.t.scalar(queued).await, 1);
}
