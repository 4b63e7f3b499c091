//! E-mail over SMTP (lettre, tokio, rustls): multipart text + HTML, with Message-ID and Date.

use crate::app::notify::Delivery;
use crate::app::templates::EmailBody;
use crate::config::{Settings, SmtpTls};
use crate::domain::notify::{MessageStatus, Transport};
use crate::domain::EmailAddress;
use lettre::message::{Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::ExposeSecret;

/// The SMTP client, built from `[email]` and `SMTP_PASSWORD`.
#[derive(Clone)]
pub struct EmailClient {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    reply_to: Option<Mailbox>,
}

impl std::fmt::Debug for EmailClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmailClient").finish_non_exhaustive()
    }
}

impl EmailClient {
    /// The client, or `None` without `[email] host` (e-mail then goes to the log).
    pub fn from_settings(s: &Settings) -> anyhow::Result<Option<Self>> {
        let Some(host) = s.email.host.clone() else {
            return Ok(None);
        };
        let e = &s.email;
        let mut builder = match e.tls {
            SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&host),
            SmtpTls::StartTls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&host)?,
            SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&host)?,
        }
        .port(e.port)
        .timeout(Some(e.timeout));
        if let (Some(user), Some(password)) = (&e.username, &s.secrets.smtp_password) {
            builder = builder.credentials(Credentials::new(
                user.clone(),
                password.expose_secret().to_string(),
            ));
        }
        Ok(Some(Self {
            transport: builder.build(),
            from: e
                .from
                .parse()
                .map_err(|_| anyhow::anyhow!("config: email.from: is not an e-mail address"))?,
            reply_to: match &e.reply_to {
                Some(r) => Some(r.parse().map_err(|_| {
                    anyhow::anyhow!("config: email.reply_to: is not an e-mail address")
                })?),
                None => None,
            },
        }))
    }

    /// Builds the MIME message (multipart/alternative, Message-ID, Date).
    pub fn message(&self, to: &EmailAddress, body: &EmailBody) -> anyhow::Result<Message> {
        let mut b = Message::builder()
            .from(self.from.clone())
            .to(to.expose().parse()?)
            .subject(body.subject.clone())
            .message_id(None)
            .date_now();
        if let Some(r) = &self.reply_to {
            b = b.reply_to(r.clone());
        }
        Ok(b.multipart(MultiPart::alternative_plain_html(
            body.text.clone(),
            body.html.clone(),
        ))?)
    }

    /// Sends one e-mail; never returns an error, the outcome says what to do next.
    #[tracing::instrument(skip_all, fields(to = %to.masked()))]
    pub async fn send(&self, to: &EmailAddress, body: &EmailBody) -> Delivery {
        let message = match self.message(to, body) {
            Ok(m) => m,
            Err(e) => {
                return Delivery::Dead {
                    code: None,
                    error: format!("cannot build the e-mail: {e}"),
                }
            }
        };
        match self.transport.send(message).await {
            Ok(_) => Delivery::Sent {
                transport: Transport::Smtp,
                sid: None,
                status: MessageStatus::Sent,
            },
            Err(e) if e.is_permanent() => Delivery::Dead {
                code: e.status().map(|c| c.to_string()),
                error: "SMTP server refused the message".into(),
            },
            Err(e) => Delivery::Retry {
                error: format!(
                    "SMTP delivery failed{}",
                    e.status().map(|c| format!(" ({c})")).unwrap_or_default()
                ),
                retry_after: None,
            },
        }
    }
}
