//! The dispatcher: delivers queued customer updates.
//!
//! Each round claims a batch with a lease (`UPDATE … RETURNING`, status `sending`) and commits,
//! then renders and sends with no transaction open, then records every outcome in one
//! transaction. A message states each backorder's promise as it stands when it is written, and
//! is handed over only if that promise still stands just before the send: otherwise its updates
//! go back to the queue to be written again. A process that dies mid-batch leaves its rows claimed; another dispatcher takes
//! them again once the lease has expired, so delivery is at-least-once and a crash can repeat at
//! most the batch that was in flight.

use crate::app::notify::{self, Content, Delivery, Outgoing};
use crate::app::templates::Templates;
use crate::app::App;
use crate::domain::notify::{MessageStatus, Settle, Transport};
use crate::shutdown::Shutdown;
use std::sync::Arc;

use super::email::EmailClient;
use super::sms::SmsClient;

/// How many messages are in flight at once.
const CONCURRENCY: usize = 32;

/// What one round did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Round {
    /// Outbox rows claimed.
    pub claimed: usize,
    /// Messages handed to a channel (or the log).
    pub sent: usize,
    /// Messages to try again later.
    pub retried: usize,
    /// Messages that failed for good (dead letter, opt-out, flagged number).
    pub failed: usize,
    /// Rows that needed no message.
    pub skipped: usize,
    /// Rows held for quiet hours.
    pub held: usize,
    /// Rows closed unsent because a newer update made them pointless.
    pub superseded: usize,
    /// Messages not sent because a promise they state changed after they were written.
    pub stale: usize,
}

/// A claimed batch and what to do with it, before anything is sent.
#[derive(Debug)]
pub struct Batch {
    claimed: usize,
    plan: notify::Plan,
}

impl Batch {
    /// Outbox rows claimed.
    pub fn claimed(&self) -> usize {
        self.claimed
    }
}

/// The channels and templates; SMS or e-mail without credentials go to the log.
#[derive(Debug, Clone)]
pub struct Dispatcher {
    templates: Arc<Templates>,
    sms: Option<SmsClient>,
    email: Option<EmailClient>,
}

impl Dispatcher {
    /// Builds the channels from the settings.
    pub fn new(app: &App) -> anyhow::Result<Self> {
        let s = &app.settings;
        let sms = SmsClient::from_settings(s)?;
        let email = EmailClient::from_settings(s)?;
        tracing::info!(
            sms = if sms.is_some() { "api" } else { "log" },
            email = if email.is_some() { "smtp" } else { "log" },
            "customer update channels"
        );
        Ok(Self {
            templates: Arc::new(Templates::load(s.notify.templates_dir.as_deref())?),
            sms,
            email,
        })
    }

    /// Claims, sends and records one batch.
    pub async fn run_once(&self, app: &App) -> anyhow::Result<Round> {
        match self.prepare(app).await? {
            Some(batch) => self.finish(app, batch).await,
            None => Ok(Round::default()),
        }
    }

    /// Claims a batch (committed) and writes its messages; `None` when nothing is due.
    pub async fn prepare(&self, app: &App) -> anyhow::Result<Option<Batch>> {
        let claimed = notify::claim(app).await?;
        if claimed.is_empty() {
            return Ok(None);
        }
        let plan = {
            let mut conn = app.store.conn().await?;
            notify::plan(app, &mut conn, &self.templates, &claimed).await?
        };
        Ok(Some(Batch {
            claimed: claimed.len(),
            plan,
        }))
    }

    /// Sends a prepared batch and records every outcome.
    pub async fn finish(&self, app: &App, mut batch: Batch) -> anyhow::Result<Round> {
        let n = &app.settings.notify;
        let plan = &mut batch.plan;
        let outgoing = std::mem::take(&mut plan.outgoing);
        let results = self.deliver(app, outgoing).await;
        let mut round = Round {
            claimed: batch.claimed,
            skipped: plan.skipped.iter().map(|(ids, _)| ids.len()).sum(),
            held: plan.held.iter().map(|(ids, _)| ids.len()).sum(),
            failed: plan.failed.len(),
            superseded: plan.superseded.len(),
            ..Round::default()
        };
        for (out, d) in &results {
            let settle = d.settle(out.attempts, n.max_attempts);
            match settle {
                Settle::Sent => round.sent += 1,
                Settle::Stale => round.stale += 1,
                Settle::Retry => round.retried += 1,
                Settle::DeadLetter => round.failed += 1,
            }
            if matches!(settle, Settle::Retry | Settle::DeadLetter) {
                app.metrics.delivery_failed(out.content.channel().as_str());
            }
        }
        notify::record(app, plan, &results).await?;
        Ok(round)
    }

    async fn deliver(&self, app: &App, outgoing: Vec<Outgoing>) -> Vec<(Outgoing, Delivery)> {
        let gate = Arc::new(tokio::sync::Semaphore::new(CONCURRENCY));
        let mut tasks = tokio::task::JoinSet::new();
        for (i, out) in outgoing.into_iter().enumerate() {
            let this = self.clone();
            let app = app.clone();
            let gate = gate.clone();
            tasks.spawn(async move {
                let _permit = gate.acquire_owned().await;
                let d = this.send_if_current(&app, &out).await;
                (i, out, d)
            });
        }
        let mut results = Vec::new();
        while let Some(r) = tasks.join_next().await {
            match r {
                Ok(r) => results.push(r),
                Err(e) => tracing::error!(error = %e, "a send task failed"),
            }
        }
        results.sort_by_key(|(i, _, _)| *i);
        results.into_iter().map(|(_, o, d)| (o, d)).collect()
    }

    /// Waits for the channel's turn, then sends only if the promises the message states still
    /// stand: the last look at them comes right before the hand-over.
    async fn send_if_current(&self, app: &App, out: &Outgoing) -> Delivery {
        if let (Content::Sms { .. }, Some(sms)) = (&out.content, &self.sms) {
            sms.wait_turn().await;
        }
        match notify::still_current(app, out).await {
            Ok(true) => {}
            Ok(false) => return Delivery::Stale,
            Err(e) => {
                tracing::error!(error = ?e, "cannot read the promises before sending");
                return Delivery::Retry {
                    error: "cannot read the promises before sending".into(),
                    retry_after: None,
                };
            }
        }
        match (&out.content, &self.sms) {
            (Content::Sms { to, body }, Some(sms)) => sms.send_now(to, body).await,
            _ => self.send(out).await,
        }
    }

    /// Sends one message by its channel, or writes it to the log.
    pub async fn send(&self, out: &Outgoing) -> Delivery {
        match (&out.content, &self.sms, &self.email) {
            (Content::Sms { to, body }, Some(sms), _) => sms.send(to, body).await,
            (Content::Email { to, body }, _, Some(email)) => email.send(to, body).await,
            (Content::Sms { body, .. }, None, _) => {
                tracing::info!(channel = "sms", to = %out.content.masked_recipient(), kind = out.kind.as_str(), %body, "customer update (log only)");
                logged()
            }
            (Content::Email { body, .. }, _, None) => {
                tracing::info!(channel = "email", to = %out.content.masked_recipient(), kind = out.kind.as_str(), subject = %body.subject, text = %body.text, "customer update (log only)");
                logged()
            }
        }
    }
}

fn logged() -> Delivery {
    Delivery::Sent {
        transport: Transport::Log,
        sid: None,
        status: MessageStatus::Logged,
    }
}

/// The dispatcher task: a round whenever this process queued updates, every `[notify] poll`
/// for rows other processes wrote, and at once again while rounds come back full. Finishes the
/// round in hand at shutdown. Not started with `notify.enabled = false`.
pub async fn run(app: App, mut shutdown: Shutdown) -> anyhow::Result<()> {
    if !app.settings.notify.enabled {
        return Ok(());
    }
    let dispatcher = Dispatcher::new(&app)?;
    let batch = app.settings.notify.batch_size as usize;
    loop {
        if shutdown.is_shutdown() {
            return Ok(());
        }
        let full = match dispatcher.run_once(&app).await {
            Ok(round) => {
                if round.claimed > 0 {
                    tracing::debug!(?round, "dispatch round");
                }
                // Messages held back for a changed promise are written again at once.
                round.claimed >= batch || round.stale > 0
            }
            Err(e) => {
                tracing::error!(error = ?e, "dispatch round failed");
                false
            }
        };
        if full {
            continue;
        }
        tokio::select! {
            _ = tokio::time::sleep(app.settings.notify.poll) => {}
            _ = app.outbox_written.notified() => {}
            _ = shutdown.recv() => {}
        }
    }
}
