//! SMS through a Twilio-compatible API (`POST /2010-04-01/Accounts/{sid}/Messages.json`).

use crate::app::notify::Delivery;
use crate::config::Settings;
use crate::domain::notify::{MessageStatus, Transport};
use crate::domain::PhoneNumber;
use secrecy::{ExposeSecret, SecretString};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// Spaces sends evenly: at most `per_second`, shared by every clone.
#[derive(Debug)]
pub struct RateLimiter {
    interval: Option<Duration>,
    next: tokio::sync::Mutex<Instant>,
}

impl RateLimiter {
    /// `0` = no limit.
    pub fn new(per_second: u32) -> Self {
        Self {
            interval: (per_second > 0).then(|| Duration::from_secs(1) / per_second),
            next: tokio::sync::Mutex::new(Instant::now()),
        }
    }

    /// Waits for the next free slot.
    pub async fn acquire(&self) {
        let Some(interval) = self.interval else {
            return;
        };
        let slot = {
            let mut next = self.next.lock().await;
            let slot = (*next).max(Instant::now());
            *next = slot + interval;
            slot
        };
        tokio::time::sleep_until(slot).await;
    }
}

/// The SMS API client, built from `[sms]`, `[http] public_url` and the Twilio variables.
#[derive(Debug, Clone)]
pub struct SmsClient {
    http: reqwest::Client,
    url: String,
    user: String,
    password: SecretString,
    from: Option<String>,
    messaging_service_sid: Option<String>,
    status_callback: Option<String>,
    limiter: Arc<RateLimiter>,
}

#[derive(serde::Deserialize)]
struct Accepted {
    sid: String,
    status: Option<String>,
}

#[derive(serde::Deserialize, Default)]
struct ApiError {
    code: Option<i64>,
    #[allow(dead_code)]
    message: Option<String>,
    #[allow(dead_code)]
    more_info: Option<String>,
    #[allow(dead_code)]
    status: Option<i64>,
}

impl SmsClient {
    /// The client, or `None` when credentials or a sender are missing (SMS then goes to the log).
    /// API key + secret take precedence over the auth token.
    pub fn from_settings(s: &Settings) -> anyhow::Result<Option<Self>> {
        let Some(account) = s.secrets.twilio_account_sid.clone() else {
            return Ok(None);
        };
        let (user, password) = match (&s.secrets.twilio_api_key, &s.secrets.twilio_api_secret) {
            (Some(key), Some(secret)) => (key.clone(), secret.clone()),
            _ => match &s.secrets.twilio_auth_token {
                Some(token) => (account.clone(), token.clone()),
                None => return Ok(None),
            },
        };
        if s.sms.from.is_none() && s.sms.messaging_service_sid.is_none() {
            tracing::warn!("TWILIO_ACCOUNT_SID is set but neither sms.from nor sms.messaging_service_sid: SMS goes to the log");
            return Ok(None);
        }
        let http = reqwest::Client::builder()
            .timeout(s.sms.timeout)
            .pool_max_idle_per_host(32)
            .build()?;
        Ok(Some(Self {
            http,
            url: format!(
                "{}/2010-04-01/Accounts/{account}/Messages.json",
                s.sms.base_url
            ),
            user,
            password,
            from: s.sms.from.clone(),
            messaging_service_sid: s.sms.messaging_service_sid.clone(),
            status_callback: s
                .http
                .public_url
                .as_ref()
                .map(|u| format!("{u}{}", super::webhooks::STATUS_PATH)),
            limiter: Arc::new(RateLimiter::new(s.sms.per_second)),
        }))
    }

    /// Sends one text; never returns an error, the outcome says what to do next.
    #[tracing::instrument(skip_all, fields(to = %to.masked()))]
    pub async fn send(&self, to: &PhoneNumber, body: &str) -> Delivery {
        self.wait_turn().await;
        self.send_now(to, body).await
    }

    /// Waits for the rate limit's next slot.
    pub async fn wait_turn(&self) {
        self.limiter.acquire().await;
    }

    /// Sends one text at once (the caller has waited its turn).
    #[tracing::instrument(skip_all, fields(to = %to.masked()))]
    pub async fn send_now(&self, to: &PhoneNumber, body: &str) -> Delivery {
        let mut form: Vec<(&str, &str)> = vec![("To", to.expose()), ("Body", body)];
        match (&self.messaging_service_sid, &self.from) {
            (Some(mss), _) => form.push(("MessagingServiceSid", mss)),
            (None, Some(from)) => form.push(("From", from)),
            (None, None) => {}
        }
        if let Some(cb) = &self.status_callback {
            form.push(("StatusCallback", cb));
        }
        let response = self
            .http
            .post(&self.url)
            .basic_auth(&self.user, Some(self.password.expose_secret()))
            .form(&form)
            .send()
            .await;
        let response = match response {
            Ok(r) => r,
            Err(e) if e.is_timeout() => {
                return Delivery::Retry {
                    error: "SMS API timed out".into(),
                    retry_after: None,
                }
            }
            Err(e) => {
                return Delivery::Retry {
                    error: format!("SMS API unreachable: {}", e.without_url()),
                    retry_after: None,
                }
            }
        };
        let status = response.status();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let text = match response.text().await {
            Ok(t) => t,
            Err(e) => {
                return Delivery::Retry {
                    error: format!("SMS API response cut off: {}", e.without_url()),
                    retry_after: None,
                }
            }
        };
        if status.is_success() {
            return match serde_json::from_str::<Accepted>(&text) {
                Ok(a) => Delivery::Sent {
                    transport: Transport::Twilio,
                    sid: Some(a.sid),
                    status: a
                        .status
                        .and_then(|s| MessageStatus::parse(&s).ok())
                        .unwrap_or(MessageStatus::Queued),
                },
                // Accepted but unreadable: it was sent, so do not send it again.
                Err(_) => Delivery::Sent {
                    transport: Transport::Twilio,
                    sid: None,
                    status: MessageStatus::Queued,
                },
            };
        }
        let err: ApiError = serde_json::from_str(&text).unwrap_or_default();
        let code = err.code.map(|c| c.to_string());
        // The provider's message can quote the phone number: keep only status and code.
        let what = format!(
            "HTTP {}{}",
            status.as_u16(),
            code.as_ref()
                .map(|c| format!(" code {c}"))
                .unwrap_or_default(),
        );
        match (status.as_u16(), err.code) {
            (429, _) | (_, Some(20429)) => Delivery::Retry {
                error: what,
                retry_after,
            },
            (s, _) if s >= 500 => Delivery::Retry {
                error: what,
                retry_after,
            },
            (_, Some(21610)) => Delivery::OptedOut {
                code: "21610".into(),
            },
            (_, Some(c @ (21211 | 21614))) => Delivery::Flagged {
                code: c.to_string(),
            },
            _ => Delivery::Dead { code, error: what },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_rate_limiter_spaces_sends_evenly() {
        // 11 sends at 200 per second: the last one 50 ms after the first.
        let limiter = RateLimiter::new(200);
        let start = Instant::now();
        for _ in 0..11 {
            limiter.acquire().await;
        }
        let took = start.elapsed();
        assert!(took >= Duration::from_millis(50), "{took:?}");
        assert!(took < Duration::from_millis(500), "{took:?}");
        let free = RateLimiter::new(0);
        let start = Instant::now();
        for _ in 0..1000 {
            free.acquire().await;
        }
        assert!(start.elapsed() < Duration::from_millis(50));
    }
}
