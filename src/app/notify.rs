//! Customer updates: turning claimed outbox rows into messages, recording what happened to them,
//! and answering texts customers send back.

use super::templates::{CodeLine, EmailBody, Item, MessageContext, Templates};
use super::{App, AppError, AppResult};
use crate::domain::contact::{mask_email, mask_phone};
use crate::domain::markup::data;
pub use crate::domain::notify::InboundKind;
use crate::domain::notify::{
    coalesce, date_in_words, group_by_kind, keyword, route, settle, shorten, timezone, Attempt,
    Keyword, MessageStatus, News, Recipient, Route, Settle, Standing, Transport, Update,
    UpdateKind,
};
use crate::domain::{
    BackorderId, BackorderStatus, Channel, CustomerId, EmailAddress, EtaKind, MessageId, OutboxId,
    OutboxStatus, PhoneNumber,
};
use crate::store::{self, Conn};
use chrono::{DateTime, NaiveDate, Utc};
use std::collections::{BTreeMap, HashMap};

/// What a message carries, ready for a channel.
#[derive(Debug, Clone)]
pub enum Content {
    /// A text message.
    Sms {
        /// Recipient.
        to: PhoneNumber,
        /// Body (within `[sms] max_segments`).
        body: String,
    },
    /// An e-mail.
    Email {
        /// Recipient.
        to: EmailAddress,
        /// Subject, text and HTML.
        body: EmailBody,
    },
}

impl Content {
    /// `sms` or `email`.
    pub fn channel(&self) -> Channel {
        match self {
            Content::Sms { .. } => Channel::Sms,
            Content::Email { .. } => Channel::Email,
        }
    }

    /// The recipient, masked for logs and chat.
    pub fn masked_recipient(&self) -> String {
        match self {
            Content::Sms { to, .. } => to.masked(),
            Content::Email { to, .. } => to.masked(),
        }
    }
}

/// One message to send: the outbox rows it answers and what it says.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// Customer row id.
    pub customer_id: CustomerId,
    /// What it is about.
    pub kind: UpdateKind,
    /// The outbox rows it answers.
    pub outbox_ids: Vec<OutboxId>,
    /// The backorders and the date told for each.
    pub told: Vec<(BackorderId, Option<NaiveDate>)>,
    /// The promises it was written from: if one has changed when its turn comes, it is not sent.
    pub promises: Vec<(BackorderId, Promise)>,
    /// Highest attempt count of its rows (this attempt included).
    pub attempts: u32,
    /// The customer's page link it carries (`portal_links` row).
    pub link_id: Option<i64>,
    /// Rendered message.
    pub content: Content,
    /// The discount codes it offers: recorded as told by it once it reaches the provider.
    pub codes: Vec<crate::domain::ids::DiscountCodeId>,
}

/// What to do with a claimed batch.
#[derive(Debug, Default)]
pub struct Plan {
    /// Messages to send.
    pub outgoing: Vec<Outgoing>,
    /// Rows that need no message, and why.
    pub skipped: Vec<(Vec<OutboxId>, String)>,
    /// Rows made pointless by a newer update: the customer was already told where the backorder
    /// stands.
    pub superseded: Vec<OutboxId>,
    /// Rows held (SMS quiet hours) until a time.
    pub held: Vec<(Vec<OutboxId>, DateTime<Utc>)>,
    /// Rows whose message cannot be written (a template fails on them), and why: dead-lettered
    /// now, since a retry would fail the same way.
    pub failed: Vec<(Vec<OutboxId>, String)>,
}

/// What a channel did with a message.
#[derive(Debug, Clone, PartialEq)]
pub enum Delivery {
    /// Accepted (or written to the log).
    Sent {
        transport: Transport,
        /// Provider's id.
        sid: Option<String>,
        /// Provider's status (`queued`, `sent`, `logged`).
        status: MessageStatus,
    },
    /// A passing failure: try again later (not before `retry_after`).
    Retry {
        /// What went wrong (no PII).
        error: String,
        /// The server's `Retry-After`.
        retry_after: Option<std::time::Duration>,
    },
    /// The recipient has opted out at the provider (Twilio 21610).
    OptedOut {
        /// Provider error code.
        code: String,
    },
    /// The number is invalid or cannot receive texts (21211, 21614).
    Flagged {
        /// Provider error code.
        code: String,
    },
    /// A permanent failure: dead letter.
    Dead {
        /// Provider error code, if any.
        code: Option<String>,
        /// What went wrong (no PII).
        error: String,
    },
    /// Not handed over: a promise it states changed after it was written. Its updates go back to
    /// the queue, due at once and without counting an attempt, to be written again.
    Stale,
}

impl Delivery {
    /// What becomes of the message's updates after this attempt, its `attempts`-th
    /// (`domain::notify::settle`).
    pub fn settle(&self, attempts: u32, max_attempts: u32) -> Settle {
        let attempt = match self {
            Delivery::Sent { .. } => Attempt::Sent,
            Delivery::Stale => Attempt::Stale,
            Delivery::Retry { .. } => Attempt::Retryable,
            Delivery::OptedOut { .. } | Delivery::Flagged { .. } | Delivery::Dead { .. } => {
                Attempt::Final
            }
        };
        settle(attempt, attempts, max_attempts)
    }
}

/// A backorder's promise as a message states it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Promise {
    /// Where it stands.
    pub standing: Standing,
    /// The date is an estimate.
    pub estimated: bool,
}

fn promise_of(f: &store::notify::BackorderFacts) -> Promise {
    let standing = match f.status {
        BackorderStatus::Open => Standing::Expected(f.promised_eta),
        BackorderStatus::Allocated | BackorderStatus::Fulfilled => Standing::OnItsWay,
        BackorderStatus::Cancelled => Standing::Cancelled,
    };
    Promise {
        standing,
        estimated: f.eta_kind == EtaKind::Estimated,
    }
}

/// Whether every promise a message states still stands, read just before it is handed over.
pub async fn still_current(app: &App, out: &Outgoing) -> anyhow::Result<bool> {
    let ids: Vec<BackorderId> = out.promises.iter().map(|(id, _)| *id).collect();
    let mut conn = app.store.conn().await?;
    let now: HashMap<BackorderId, Promise> = store::notify::backorder_facts(&mut conn, &ids)
        .await?
        .iter()
        .map(|f| (f.id, promise_of(f)))
        .collect();
    Ok(out.promises.iter().all(|(id, p)| now.get(id) == Some(p)))
}

/// Decides and renders the messages for a claimed batch: coalesces each backorder's updates,
/// groups a customer's news into one message per kind, routes by channel and opt-outs, and holds
/// SMS in quiet hours.
pub async fn plan(
    app: &App,
    conn: &mut Conn,
    templates: &Templates,
    claimed: &[store::notify::Claimed],
) -> anyhow::Result<Plan> {
    let now = app.clock.now();
    let n = &app.settings.notify;
    let mut plan = Plan::default();
    let mut incentives = super::incentives::Ledger::open(app, conn).await?;
    let notes = approval_notes(conn, claimed).await?;
    let mut by_customer: BTreeMap<CustomerId, Vec<&store::notify::Claimed>> = BTreeMap::new();
    for c in claimed {
        by_customer.entry(c.customer_id).or_default().push(c);
    }
    for (customer_id, rows) in by_customer {
        let Some(who) = store::notify::recipient(conn, customer_id).await? else {
            plan.skipped.push((
                rows.iter().map(|r| r.id).collect(),
                "no such customer".into(),
            ));
            continue;
        };
        let bo_ids: Vec<BackorderId> = rows.iter().map(|r| r.backorder_id).collect();
        let facts: HashMap<BackorderId, store::notify::BackorderFacts> =
            store::notify::backorder_facts(conn, &bo_ids)
                .await?
                .into_iter()
                .map(|f| (f.id, f))
                .collect();
        incentives.read(conn, &bo_ids).await?;
        let mut updates = Vec::new();
        for r in &rows {
            let Some(f) = facts.get(&r.backorder_id) else {
                plan.skipped.push((vec![r.id], "no such backorder".into()));
                continue;
            };
            updates.push(Update {
                outbox_id: r.id,
                backorder_id: r.backorder_id,
                kind: r.kind,
                product: f.product.clone(),
                qty: f.qty,
            });
        }
        let mut told: HashMap<BackorderId, Option<Standing>> = HashMap::new();
        for u in &updates {
            if let std::collections::hash_map::Entry::Vacant(slot) = told.entry(u.backorder_id) {
                let t = store::notify::last_told(conn, u.backorder_id).await?;
                slot.insert(t.map(|(kind, eta)| Standing::told(kind, eta)));
            }
        }
        let merged = coalesce(
            &updates,
            &|b| facts.get(&b).map(|f| promise_of(f).standing),
            &|b| told.get(&b).copied().flatten(),
            n.min_eta_shift_days,
        );
        if !merged.silent.is_empty() {
            plan.skipped
                .push((merged.silent.clone(), "no change worth a message".into()));
        }
        plan.superseded.extend(merged.superseded.iter().copied());
        let recipient = recipient_of(&who);
        let attempts_of = |ids: &[OutboxId]| {
            rows.iter()
                .filter(|r| ids.contains(&r.id))
                .map(|r| r.attempts.max(0) as u32)
                .max()
                .unwrap_or(1)
        };
        for (kind, news) in group_by_kind(merged.news) {
            let ids: Vec<OutboxId> = news.iter().flat_map(|x| x.outbox_ids.clone()).collect();
            let route = route(&recipient);
            if let Route::Skip(why) = route {
                plan.skipped.push((ids, why.to_string()));
                continue;
            }
            if let (Route::Sms(_), Some(q)) = (&route, n.quiet_hours) {
                if let Some(until) = q.release(now, timezone(&who.timezone)) {
                    plan.held.push((ids, until));
                    continue;
                }
            }
            let backorders: Vec<BackorderId> = news.iter().map(|x| x.backorder_id).collect();
            let offers = incentives.offers(app, kind, &backorders).await?;
            let mut cx = context(app, &who.name, &news, &facts, &offers);
            cx.note = rows
                .iter()
                .filter(|r| ids.contains(&r.id))
                .find_map(|r| r.approval_id.and_then(|a| notes.get(&a)).cloned());
            let link_id = match &route {
                Route::Sms(_) | Route::Email(_) => {
                    let channel = if matches!(route, Route::Sms(_)) {
                        Channel::Sms
                    } else {
                        Channel::Email
                    };
                    // Only an SMS about one waiting backorder can offer "reply 1".
                    let offer = match news.as_slice() {
                        [one]
                            if channel == Channel::Sms
                                && matches!(
                                    kind,
                                    UpdateKind::Backordered | UpdateKind::EtaChanged
                                ) =>
                        {
                            crate::app::portal::offer_for(conn, one.backorder_id)
                                .await?
                                .map(|(product, name)| (one.backorder_id, product, name))
                        }
                        _ => None,
                    };
                    let link = crate::app::portal::new_link(
                        app,
                        conn,
                        customer_id,
                        channel,
                        offer.as_ref().map(|(b, p, _)| (*b, *p)),
                    )
                    .await?;
                    cx.link = link.url;
                    cx.offer = offer.map(|(_, _, name)| shorten(&name, OFFER_CHARS));
                    Some(link.link_id)
                }
                Route::Skip(_) => None,
            };
            let content = match route {
                Route::Sms(to) => templates
                    .sms(kind, &cx, app.settings.sms.max_segments)
                    .map(|body| Content::Sms { to, body }),
                Route::Email(to) => templates
                    .email(kind, &cx)
                    .map(|body| Content::Email { to, body }),
                Route::Skip(_) => unreachable!("skipped above"),
            };
            let content = match content {
                Ok(content) => content,
                Err(e) => {
                    if let Some(link_id) = link_id {
                        store::portal::drop_unsent_link(conn, link_id).await?;
                    }
                    // The template's own error (names the template and the line), no values.
                    plan.failed
                        .push((ids, format!("cannot write the message: {e:#}")));
                    continue;
                }
            };
            plan.outgoing.push(Outgoing {
                customer_id,
                kind,
                promises: news
                    .iter()
                    .filter_map(|x| facts.get(&x.backorder_id))
                    .map(|f| (f.id, promise_of(f)))
                    .collect(),
                attempts: attempts_of(&ids),
                link_id,
                outbox_ids: ids,
                told: news.iter().map(|x| (x.backorder_id, x.eta)).collect(),
                codes: shown_codes(&content, &offers),
                content,
            });
        }
    }
    Ok(plan)
}

/// The offered codes a rendered message shows. A shop's own template that leaves `codes` out
/// shows none: those stay untold (offered again by the next message), and the log says so.
fn shown_codes(
    content: &Content,
    offers: &[super::incentives::Offer],
) -> Vec<crate::domain::ids::DiscountCodeId> {
    let text = match content {
        Content::Sms { body, .. } => body.as_str(),
        Content::Email { body, .. } => body.text.as_str(),
    };
    let (shown, missing): (Vec<_>, Vec<_>) =
        offers.iter().partition(|o| text.contains(o.code.as_str()));
    if !missing.is_empty() {
        tracing::warn!(
            codes = missing.len(),
            "a customer message template does not show the discount codes offered (`codes`)"
        );
    }
    shown.into_iter().map(|o| o.code_id).collect()
}

/// The notes ops added to the approval batches some claimed updates came from.
async fn approval_notes(
    conn: &mut Conn,
    claimed: &[store::notify::Claimed],
) -> anyhow::Result<HashMap<crate::domain::ApprovalId, String>> {
    let mut ids: Vec<crate::domain::ApprovalId> =
        claimed.iter().filter_map(|c| c.approval_id).collect();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    Ok(store::approvals::notes(conn, &ids)
        .await?
        .into_iter()
        .collect())
}

/// The message one customer will get about some of their backorders as they stand now, with
/// `note`, rendered by the real templates: "by SMS to …: body" or "by e-mail to …: subject —
/// text". `None` when the customer does not exist.
pub async fn sample(
    app: &App,
    conn: &mut Conn,
    customer_id: CustomerId,
    backorders: &[BackorderId],
    kind: UpdateKind,
    note: Option<&str>,
) -> anyhow::Result<Option<String>> {
    let Some(who) = store::notify::recipient(conn, customer_id).await? else {
        return Ok(None);
    };
    let templates = Templates::load(app.settings.notify.templates_dir.as_deref())?;
    let facts: HashMap<BackorderId, store::notify::BackorderFacts> =
        store::notify::backorder_facts(conn, backorders)
            .await?
            .into_iter()
            .map(|f| (f.id, f))
            .collect();
    let news: Vec<News> = backorders
        .iter()
        .filter_map(|b| facts.get(b))
        .map(|f| News {
            backorder_id: f.id,
            kind,
            product: f.product.clone(),
            qty: f.qty,
            eta: f.promised_eta,
            outbox_ids: vec![],
        })
        .collect();
    let mut cx = context(app, &who.name, &news, &facts, &[]);
    cx.note = note.map(str::to_string);
    cx.link = placeholder_link(app);
    Ok(Some(match route(&recipient_of(&who)) {
        Route::Skip(why) => format!("no message ({why})"),
        Route::Sms(to) => format!(
            "by SMS to {}: {}",
            to.masked(),
            templates.sms(kind, &cx, app.settings.sms.max_segments)?
        ),
        Route::Email(to) => {
            let mail = templates.email(kind, &cx)?;
            format!(
                "by e-mail to {}: {} — {}",
                to.masked(),
                mail.subject,
                mail.text
            )
        }
    }))
}

fn context(
    app: &App,
    name: &str,
    news: &[News],
    facts: &HashMap<BackorderId, store::notify::BackorderFacts>,
    offers: &[super::incentives::Offer],
) -> MessageContext {
    MessageContext {
        codes: offers
            .iter()
            .map(|o| CodeLine {
                code: o.code.clone(),
                offer: o.value.in_words(),
            })
            .collect(),
        shop: app.settings.shop.name.clone(),
        name: crate::domain::contact::first_name(name),
        items: news
            .iter()
            .map(|x| {
                let estimated = facts
                    .get(&x.backorder_id)
                    .is_some_and(|f| f.eta_kind == EtaKind::Estimated && f.promised_eta == x.eta);
                Item {
                    product: x.product.clone(),
                    qty: x.qty,
                    eta: x.eta.map(date_in_words),
                    estimated,
                    instead: facts.get(&x.backorder_id).and_then(|f| f.instead.clone()),
                }
            })
            .collect(),
        link: String::new(),
        offer: None,
        note: None,
    }
}

/// Longest product name a "reply 1" offer shows in an SMS.
const OFFER_CHARS: usize = 24;

/// Why a superseded update was not sent.
pub const SUPERSEDED: &str = "superseded by a newer update: the customer was already told this";

/// Leases a batch of due updates (claim → commit) for one dispatch round: at most
/// `[notify] batch_size`, each held for `[notify] lease`.
pub async fn claim(app: &App) -> anyhow::Result<Vec<store::notify::Claimed>> {
    let n = &app.settings.notify;
    let now = app.clock.now();
    let lease_until = now + chrono::Duration::from_std(n.lease)?;
    let cutoff = now - chrono::Duration::from_std(n.coalesce)?;
    let mut tx = app.store.begin_write().await?;
    let claimed =
        store::notify::claim(&mut tx, now, lease_until, cutoff, i64::from(n.batch_size)).await?;
    tx.commit().await?;
    Ok(claimed)
}

/// Writes what happened to a batch, in one transaction: rows sent, skipped, held, retried or
/// dead-lettered; messages recorded; opt-outs and flagged numbers applied; one line to the alert
/// channel when rows were dead-lettered.
pub async fn record(
    app: &App,
    plan: &Plan,
    results: &[(Outgoing, Delivery)],
) -> anyhow::Result<()> {
    let now = app.clock.now();
    let max_attempts = app.settings.notify.max_attempts;
    let mut tx = app.store.begin_write().await?;
    for (ids, why) in &plan.skipped {
        store::notify::finish(&mut tx, ids, OutboxStatus::Skipped, Some(why), now).await?;
    }
    if !plan.superseded.is_empty() {
        store::notify::finish(
            &mut tx,
            &plan.superseded,
            OutboxStatus::Superseded,
            Some(SUPERSEDED),
            now,
        )
        .await?;
    }
    for (ids, until) in &plan.held {
        store::notify::retry_at(&mut tx, ids, *until, Some("quiet hours"), false).await?;
    }
    let mut dead = 0usize;
    let mut last_dead_error = String::new();
    for (ids, why) in &plan.failed {
        store::notify::finish(&mut tx, ids, OutboxStatus::Failed, Some(why), now).await?;
        dead += ids.len();
        last_dead_error = why.clone();
    }
    for (out, delivery) in results {
        let (recipient, body) = match &out.content {
            Content::Sms { to, body } => (to.expose().to_string(), body.clone()),
            Content::Email { to, body } => (
                to.expose().to_string(),
                format!("{}\n\n{}", body.subject, body.text),
            ),
        };
        let mut message = store::notify::NewMessage {
            customer_id: out.customer_id,
            kind: out.kind,
            channel: out.content.channel(),
            transport: if out.content.channel() == Channel::Sms {
                Transport::Twilio
            } else {
                Transport::Smtp
            },
            recipient: &recipient,
            body: &body,
            provider_sid: None,
            status: MessageStatus::Failed,
            error_code: None,
            backorders: &out.told,
        };
        // The link of a message that surely did not leave goes (never handed over, or refused
        // by the provider). A passing failure keeps it: a timed-out send may have arrived.
        let unsent = matches!(
            delivery,
            Delivery::Stale
                | Delivery::OptedOut { .. }
                | Delivery::Flagged { .. }
                | Delivery::Dead { .. }
        );
        if let (true, Some(link_id)) = (unsent, out.link_id) {
            store::portal::drop_unsent_link(&mut tx, link_id).await?;
        }
        match delivery {
            Delivery::Stale => {
                store::notify::retry_at(
                    &mut tx,
                    &out.outbox_ids,
                    now,
                    Some("the promise changed before sending; written again"),
                    false,
                )
                .await?;
            }
            Delivery::Sent {
                transport,
                sid,
                status,
            } => {
                message.transport = *transport;
                message.provider_sid = sid.as_deref();
                message.status = *status;
                let id = store::notify::record_message(&mut tx, &message, now).await?;
                if !out.codes.is_empty() {
                    store::incentives::mark_told(&mut tx, &out.codes, id, now).await?;
                }
                if let Some(link_id) = out.link_id {
                    store::portal::link_sent(&mut tx, link_id, id).await?;
                }
                store::notify::finish(&mut tx, &out.outbox_ids, OutboxStatus::Sent, None, now)
                    .await?;
            }
            Delivery::Retry { error, retry_after }
                if delivery.settle(out.attempts, max_attempts) == Settle::Retry =>
            {
                let wait = crate::domain::notify::backoff(
                    out.attempts,
                    *retry_after,
                    0.5 + fastrand::f64() / 2.0,
                );
                let at = now + chrono::Duration::from_std(wait).unwrap_or_default();
                store::notify::retry_at(&mut tx, &out.outbox_ids, at, Some(error), true).await?;
            }
            Delivery::Retry { error, .. } => {
                dead += out.outbox_ids.len();
                last_dead_error = error.clone();
                let e = format!("gave up after {} attempts: {error}", out.attempts);
                store::notify::record_message(&mut tx, &message, now).await?;
                store::notify::finish(
                    &mut tx,
                    &out.outbox_ids,
                    OutboxStatus::Failed,
                    Some(&e),
                    now,
                )
                .await?;
            }
            Delivery::OptedOut { code } => {
                message.error_code = Some(code);
                store::notify::record_message(&mut tx, &message, now).await?;
                store::notify::set_sms_opt_out(&mut tx, &recipient, true).await?;
                store::notify::finish(
                    &mut tx,
                    &out.outbox_ids,
                    OutboxStatus::Skipped,
                    Some("recipient opted out at the provider"),
                    now,
                )
                .await?;
            }
            Delivery::Flagged { code } => {
                message.error_code = Some(code);
                store::notify::record_message(&mut tx, &message, now).await?;
                store::notify::flag_number(&mut tx, &recipient, code, now).await?;
                store::notify::finish(
                    &mut tx,
                    &out.outbox_ids,
                    OutboxStatus::Failed,
                    Some(&format!("number refused ({code})")),
                    now,
                )
                .await?;
            }
            Delivery::Dead { code, error } => {
                message.error_code = code.as_deref();
                store::notify::record_message(&mut tx, &message, now).await?;
                store::notify::finish(
                    &mut tx,
                    &out.outbox_ids,
                    OutboxStatus::Failed,
                    Some(error),
                    now,
                )
                .await?;
            }
        }
    }
    if dead > 0 {
        tracing::error!(updates = dead, error = %last_dead_error, "customer updates dead-lettered");
        if let Some(channel) = app.settings.discord.alert_channel_id {
            let line = format!(
                "Customer updates: {dead} dead-lettered (after {max_attempts} attempts, or a message that cannot be written; last error: {})",
                data(&last_dead_error)
            );
            crate::app::posts::enqueue(&mut tx, channel, &line).await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

/// Queues an update of `kind` for a backorder, inside the caller's transaction.
pub async fn queue_update(
    conn: &mut Conn,
    row: &store::backorders::BackorderRow,
    kind: UpdateKind,
    product: &str,
    at: DateTime<Utc>,
) -> anyhow::Result<()> {
    let payload = serde_json::json!({
        "backorder_id": row.id, "sku": row.sku, "product": product, "qty": row.qty,
    });
    store::outbox::enqueue(
        conn,
        row.id,
        row.customer_id,
        kind,
        &payload.to_string(),
        at,
    )
    .await
}

/// Handles a text a customer sent; returns the reply to send back (empty: none).
pub async fn inbound(
    app: &App,
    from: &str,
    body: &str,
    sid: Option<&str>,
) -> AppResult<(InboundKind, String)> {
    let shop = app.settings.shop.name.clone();
    let phone = PhoneNumber::parse(from).map_err(|e| AppError::invalid("From", e))?;
    let now = app.clock.now();
    let mut tx = app.store.begin_write().await?;
    let customers = store::notify::customer_ids_by_phone(&mut tx, phone.expose()).await?;
    let customer_id = customers.first().copied();
    if let (Some(customer_id), "1") = (customer_id, body.trim()) {
        // A reply 1 takes the switch the last SMS offered; it is recorded as the customer's
        // choice (and posted to the ops channel), not as an inquiry.
        if let Some(outcome) =
            crate::app::portal::sms_reply_switch(app, &mut tx, customer_id).await?
        {
            tx.commit().await?;
            app.wake_dispatcher();
            return Ok((InboundKind::Inquiry, format!("{shop}: {}", outcome.text())));
        }
    }
    let (kind, reply, backorders) = match keyword(body) {
        Some(Keyword::OptOut) => {
            store::notify::set_sms_opt_out(&mut tx, phone.expose(), true).await?;
            (InboundKind::OptOut, String::new(), vec![])
        }
        Some(Keyword::OptIn) => {
            store::notify::set_sms_opt_out(&mut tx, phone.expose(), false).await?;
            (InboundKind::OptIn, String::new(), vec![])
        }
        Some(Keyword::Help) => (
            InboundKind::Help,
            format!("{shop}: reply with your question about a backorder, or STOP to opt out."),
            vec![],
        ),
        None if customers.is_empty() => (
            InboundKind::Inquiry,
            format!("{shop}: thank you for your message. We could not match this number to an order; please contact us by e-mail."),
            vec![],
        ),
        None => {
            let open = store::notify::open_backorders_by_phone(&mut tx, phone.expose()).await?;
            let lines: Vec<String> = open.iter().map(promise_line).collect();
            let reply = if lines.is_empty() {
                format!("{shop}: you have no open backorders with us. A colleague will read your message.")
            } else {
                format!("{shop}: {}. A colleague will read your message.", lines.join("; "))
            };
            (
                InboundKind::Inquiry,
                reply,
                open.iter().map(|o| o.backorder_id).collect(),
            )
        }
    };
    store::notify::record_inbound(
        &mut tx,
        phone.expose(),
        customer_id,
        body,
        kind,
        sid,
        &reply,
        &backorders,
        now,
    )
    .await?;
    if kind == InboundKind::Inquiry {
        if let Some(channel) = app.settings.discord.alert_channel_id {
            let who = match customer_id {
                Some(_) => {
                    let ids: Vec<String> = backorders.iter().map(|b| format!("#{b}")).collect();
                    format!(
                        "customer {} ({}), open backorders: {}",
                        data(&customer_label(&mut tx, customer_id).await?),
                        phone.masked(),
                        if ids.is_empty() {
                            "none".to_string()
                        } else {
                            ids.join(", ")
                        }
                    )
                }
                None => format!("unknown number {}", phone.masked()),
            };
            // Shortened raw, then escaped: the customer's words read as typed and never ping.
            let text: String = body.chars().take(500).collect();
            let line = format!(
                "SMS inquiry from {who}: \"{}\" — replied: \"{}\"",
                data(&text),
                data(&reply)
            );
            crate::app::posts::enqueue(&mut tx, channel, &line).await?;
        }
    }
    tx.commit().await?;
    Ok((kind, reply))
}

async fn customer_label(conn: &mut Conn, id: Option<CustomerId>) -> anyhow::Result<String> {
    let Some(id) = id else {
        return Ok(String::new());
    };
    let ext: Option<String> = store::notify::customer_external_id(conn, id).await?;
    Ok(ext.unwrap_or_else(|| id.to_string()))
}

/// "Your Wireless Mouse: now expected Wed 17 Feb".
fn promise_line(o: &store::notify::OpenByPhone) -> String {
    let when = if o.status == BackorderStatus::Allocated {
        "on its way".to_string()
    } else {
        match o.promised_eta {
            Some(d) if o.eta_kind == EtaKind::Estimated => {
                format!("expected around {}", date_in_words(d))
            }
            Some(d) => format!("now expected {}", date_in_words(d)),
            None => "date not yet known".to_string(),
        }
    };
    format!("Your {}: {when}", o.product)
}

/// Applies a provider's delivery report; returns whether the message was known. A status word
/// that is not one of the provider's is refused.
pub async fn status_callback(
    app: &App,
    sid: &str,
    status: &str,
    error_code: Option<&str>,
) -> AppResult<bool> {
    let status = super::field("MessageStatus", MessageStatus::parse(status))?;
    let mut tx = app.store.begin_write().await?;
    let known =
        store::notify::update_message_status(&mut tx, sid, status, error_code, app.clock.now())
            .await?;
    tx.commit().await?;
    Ok(known)
}

/// A message as shown in chat, contact masked.
#[derive(Debug, Clone)]
pub struct SentLine {
    /// Message id.
    pub id: MessageId,
    /// When it was handed over.
    pub at: DateTime<Utc>,
    pub kind: UpdateKind,
    pub channel: Channel,
    pub transport: Transport,
    /// Masked recipient.
    pub to: String,
    /// Provider status (and error code).
    pub status: String,
}

fn sent_line(m: store::notify::MessageRow) -> SentLine {
    SentLine {
        id: m.id,
        at: m.created_at,
        to: if m.channel == Channel::Sms {
            mask_phone(&m.recipient)
        } else {
            mask_email(&m.recipient)
        },
        status: match m.error_code {
            Some(c) => format!("{} ({c})", m.status),
            None => m.status.to_string(),
        },
        kind: m.kind,
        channel: m.channel,
        transport: m.transport,
    }
}

/// The messages sent about a backorder, newest first.
pub async fn for_backorder(app: &App, backorder_id: BackorderId) -> AppResult<Vec<SentLine>> {
    let mut conn = app.store.conn().await?;
    let rows = store::notify::messages_for_backorder(&mut conn, backorder_id, 20).await?;
    Ok(rows.into_iter().map(sent_line).collect())
}

/// An update closed without a message because a newer one made it pointless.
#[derive(Debug, Clone)]
pub struct SupersededLine {
    /// When it was queued.
    pub at: DateTime<Utc>,
    pub kind: UpdateKind,
}

/// The updates about a backorder closed as superseded, newest first.
pub async fn superseded_for(
    app: &App,
    backorder_id: BackorderId,
) -> AppResult<Vec<SupersededLine>> {
    let mut conn = app.store.conn().await?;
    let rows = store::notify::superseded_for_backorder(&mut conn, backorder_id, 20).await?;
    Ok(rows
        .into_iter()
        .map(|r| SupersededLine {
            at: r.created_at,
            kind: r.kind,
        })
        .collect())
}

/// An update about a backorder not sent yet: queued, being sent, or waiting to retry.
#[derive(Debug, Clone)]
pub struct QueuedLine {
    pub kind: UpdateKind,
    pub status: OutboxStatus,
    /// Attempts made so far (more than 0: it is retrying).
    pub attempts: i64,
    /// When the next attempt is due.
    pub due: DateTime<Utc>,
    /// Why the last attempt failed (outside text: a provider's words).
    pub last_error: Option<String>,
}

/// The updates about a backorder still on their way, soonest due first.
pub async fn queued_for(app: &App, backorder_id: BackorderId) -> AppResult<Vec<QueuedLine>> {
    let mut conn = app.store.conn().await?;
    let rows = store::notify::queued_for_backorder(&mut conn, backorder_id, 20).await?;
    Ok(rows
        .into_iter()
        .map(|r| QueuedLine {
            kind: r.kind,
            status: r.status,
            attempts: r.attempts,
            due: r.next_attempt_at,
            last_error: r.last_error,
        })
        .collect())
}

/// The messages sent to a customer, newest first.
pub async fn for_customer(app: &App, customer_id: CustomerId) -> AppResult<Vec<SentLine>> {
    let mut conn = app.store.conn().await?;
    let rows = store::notify::messages_for_customer(&mut conn, customer_id, 20).await?;
    Ok(rows.into_iter().map(sent_line).collect())
}

/// How many customers `/eta … preview:true` shows messages for.
pub const PREVIEW_CUSTOMERS: usize = 3;

/// The messages the first customers of a (previewed) ETA change would get, rendered as they
/// would be sent, contacts masked: one line per customer.
pub async fn preview(app: &App, moved: &[crate::app::promise::MovedEta]) -> AppResult<Vec<String>> {
    let templates = Templates::load(app.settings.notify.templates_dir.as_deref())?;
    let min_shift = app.settings.notify.min_eta_shift_days;
    // The first few distinct customers: stop once there are enough (a PO's ETA change may move
    // thousands of promises, and each is compared only with the few kept).
    let mut customers: Vec<CustomerId> = Vec::with_capacity(PREVIEW_CUSTOMERS);
    for m in moved {
        if customers.len() == PREVIEW_CUSTOMERS {
            break;
        }
        if !customers.contains(&m.customer_id) {
            customers.push(m.customer_id);
        }
    }
    let mut conn = app.store.conn().await?;
    let mut lines = Vec::new();
    for customer_id in customers {
        let Some(who) = store::notify::recipient(&mut conn, customer_id).await? else {
            continue;
        };
        let label = data(&crate::domain::contact::mask_name(&who.name));
        let mine: Vec<&crate::app::promise::MovedEta> = moved
            .iter()
            .filter(|m| m.customer_id == customer_id)
            .filter(|m| crate::domain::notify::eta_shift_is_news(m.old.date, m.new.date, min_shift))
            .collect();
        if mine.is_empty() {
            lines.push(format!(
                "{label}: no message (shift below notify.min_eta_shift_days)"
            ));
            continue;
        }
        let ids: Vec<BackorderId> = mine.iter().map(|m| m.backorder_id).collect();
        let facts: HashMap<BackorderId, store::notify::BackorderFacts> =
            store::notify::backorder_facts(&mut conn, &ids)
                .await?
                .into_iter()
                .map(|f| (f.id, f))
                .collect();
        let news: Vec<News> = mine
            .iter()
            .map(|m| News {
                backorder_id: m.backorder_id,
                kind: UpdateKind::EtaChanged,
                product: facts
                    .get(&m.backorder_id)
                    .map(|f| f.product.clone())
                    .unwrap_or_else(|| m.sku.clone()),
                qty: facts.get(&m.backorder_id).map(|f| f.qty).unwrap_or(0),
                eta: m.new.date,
                outbox_ids: vec![],
            })
            .collect();
        let recipient = recipient_of(&who);
        let mut cx = context(app, &who.name, &news, &HashMap::new(), &[]);
        cx.link = placeholder_link(app);
        lines.push(match route(&recipient) {
            Route::Skip(why) => format!("{label}: no message ({why})"),
            Route::Sms(to) => format!(
                "{label} by SMS to {}: {}",
                data(&to.masked()),
                data(&templates.sms(UpdateKind::EtaChanged, &cx, app.settings.sms.max_segments)?)
            ),
            Route::Email(to) => {
                let mail = templates.email(UpdateKind::EtaChanged, &cx)?;
                format!(
                    "{label} by e-mail to {}: {}",
                    data(&to.masked()),
                    data(&mail.subject)
                )
            }
        });
    }
    Ok(lines)
}

/// A link to a customer's page as long as a real one, for messages rendered without sending
/// (previews, the approval post's sample), so an SMS is counted and shortened as it will be sent.
fn placeholder_link(app: &App) -> String {
    format!(
        "{}/b/{}",
        app.settings.http.link_base(),
        "x".repeat(crate::domain::portal::TOKEN_CHARS)
    )
}

/// What routing needs of a customer's stored contact details.
fn recipient_of(who: &store::notify::RecipientRow) -> Recipient {
    Recipient {
        channel: who.channel,
        phone: who.phone.clone(),
        email: who.email.clone(),
        sms_opt_out: who.sms_opt_out,
        email_opt_out: who.email_opt_out,
        phone_flagged: who.phone_flagged,
    }
}
