//! Approvals: one change's customer updates held as a batch until ops approve or withhold it.
//!
//! A use case that changes promises calls [`begin`] in its write transaction before it writes
//! and [`judge`] just before it commits: a newer change supersedes the held batches of the same
//! backorders, and the change's own updates are held when the rule says so
//! (`domain::approval::judge`). The batch is posted to `discord.alert_channel_id` with buttons;
//! [`interact`] answers those buttons and the note form for any transport (the gateway today).

use super::page::{paged, PageRequest, Paged};
use super::{posts, App, AppError, AppResult};
use crate::app::Actor;
use crate::domain::approval::{self, Action, ApprovalStatus, Move, Verdict};
use crate::domain::audit::AuditEntry;
use crate::domain::markup::data;
use crate::domain::{text, ApprovalId, Channel, OutboxStatus, UpdateKind};
use crate::store::approvals::{self as stored, ApprovalRow, NewApproval};
use crate::store::{self, Conn};
use chrono::{DateTime, NaiveDate, Utc};

/// Where a change started in the outbox ([`begin`]); hand it to [`judge`] or [`verdict`].
#[derive(Debug, Clone, Copy)]
pub struct Change {
    /// The highest outbox id before the change.
    mark: i64,
    /// The highest backorder id before the change.
    backorders: i64,
}

/// Call in a change's write transaction before it writes anything.
pub async fn begin(conn: &mut Conn) -> AppResult<Change> {
    let (mark, backorders) = stored::marks(conn).await?;
    Ok(Change { mark, backorders })
}

/// What the rule says of the change so far (`/eta … preview:true`), without holding anything.
pub async fn verdict(app: &App, conn: &mut Conn, change: Change) -> AppResult<Verdict> {
    let moved = stored::moved_since(conn, change.mark, change.backorders).await?;
    Ok(weigh(app, &moved))
}

fn weigh(app: &App, moved: &[stored::MovedRow]) -> Verdict {
    let moves: Vec<Move> = moved
        .iter()
        .map(|m| Move {
            customer: m.customer_id,
            old: m.old_eta,
            new: m.new_eta,
        })
        .collect();
    approval::judge(&app.settings.notify.approval, &moves)
}

/// A change whose updates are held.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Held {
    pub id: ApprovalId,
    pub verdict: Verdict,
}

impl Held {
    /// "Held for approval as batch #3 (needs approval: …): nothing is sent until ops decide."
    pub fn explain(&self, app: &App) -> String {
        format!(
            "Held for approval as batch #{} ({}): no customer hears of it until ops approve it (/approve batch:{}).",
            self.id,
            self.verdict.explain(&app.settings.notify.approval),
            self.id
        )
    }
}

/// Judges a change just before its transaction commits: closes the held batches about the same
/// backorders as superseded (their posts say so), then holds the change's own updates as a new
/// batch, posted to the ops channel, when the rule says so. `what` says what the change was
/// (`/eta PO-1001 2027-02-17`), `actor` who made it.
pub async fn judge(
    app: &App,
    conn: &mut Conn,
    change: Change,
    actor: &str,
    what: &str,
) -> AppResult<Option<Held>> {
    let now = app.clock.now();
    stored::count_change_for_the_planner(conn, change.mark).await?;
    for old in stored::held_batches_touched_since(conn, change.mark, change.backorders).await? {
        stored::settle_rows(
            conn,
            old,
            OutboxStatus::Superseded,
            Some(&format!("batch #{old} superseded by a newer change")),
            now,
        )
        .await?;
        if stored::decide(conn, old, ApprovalStatus::Superseded, actor, now).await? {
            store::audit::record(
                conn,
                &AuditEntry::ok(actor, "approvals.supersede", format!("batch #{old}"))
                    .because(what),
                now,
            )
            .await?;
            repost(app, conn, old, Some(what)).await?;
        }
    }
    let moved = stored::moved_since(conn, change.mark, change.backorders).await?;
    let verdict = weigh(app, &moved);
    if !verdict.holds() {
        return Ok(None);
    }
    let id = stored::create(
        conn,
        &NewApproval {
            change: what,
            actor,
            customers: i64::from(verdict.weight.customers),
            largest_shift_days: verdict.weight.largest_shift_days,
        },
        now,
    )
    .await?;
    let held = stored::hold_since(conn, id, change.mark, change.backorders).await?;
    let body = summary(conn, id, &moved, &verdict, app).await?;
    stored::set_post(conn, id, None, &body).await?;
    store::audit::record(
        conn,
        &AuditEntry::ok(
            actor,
            "approvals.hold",
            format!("batch #{id}: {held} updates"),
        )
        .because(what),
        now,
    )
    .await?;
    if let Some(channel) = app.settings.discord.alert_channel_id {
        let row = get(conn, id).await?;
        let text = post_text(app, conn, &row, None).await?;
        let post = posts::enqueue_approval(
            conn,
            channel,
            &text,
            Some(posts::ApprovalButtons { approval: id }),
            None,
        )
        .await?;
        stored::set_post(conn, id, Some(post), &body).await?;
    }
    tracing::info!(
        approval = id.0,
        updates = held,
        "customer updates held for approval"
    );
    Ok(Some(Held { id, verdict }))
}

/// The lasting part of a batch's post: what changed, customers by channel, the largest shift.
async fn summary(
    conn: &mut Conn,
    id: ApprovalId,
    moved: &[stored::MovedRow],
    verdict: &Verdict,
    app: &App,
) -> AppResult<String> {
    // (SKU, old, new) → backorders, in first-seen order.
    type SkuMove = (String, Option<NaiveDate>, Option<NaiveDate>);
    let mut groups: Vec<(SkuMove, usize)> = Vec::new();
    for m in moved {
        let key = (m.sku.clone(), m.old_eta, m.new_eta);
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, n)) => *n += 1,
            None => groups.push((key, 1)),
        }
    }
    const SHOWN: usize = 8;
    let day = |d: Option<NaiveDate>| d.map_or("unknown".to_string(), |d| d.to_string());
    let mut lines = vec![format!(
        "Why: {}",
        verdict.explain(&app.settings.notify.approval)
    )];
    lines.push("What changed:".to_string());
    for ((sku, old, new), n) in groups.iter().take(SHOWN) {
        lines.push(format!(
            "  {}: {} → {} ({})",
            data(sku),
            day(*old),
            day(*new),
            text::plural(*n as i64, "backorder", "backorders")
        ));
    }
    if groups.len() > SHOWN {
        lines.push(format!("  … and {} more", groups.len() - SHOWN));
    }
    let by_channel = stored::customers_by_channel(conn, id).await?;
    let channels: Vec<String> = by_channel
        .iter()
        .map(|(c, n)| format!("{} {n}", channel_word(*c)))
        .collect();
    lines.push(format!(
        "Customers: {} ({})",
        verdict.weight.customers,
        channels.join(", ")
    ));
    lines.push(format!(
        "Largest shift: {}",
        verdict
            .weight
            .largest_shift_days
            .map_or("none between known dates".to_string(), |d| text::plural(
                d, "day", "days"
            ))
    ));
    Ok(lines.join("\n"))
}

fn channel_word(c: Channel) -> &'static str {
    match c {
        Channel::Sms => "SMS",
        Channel::Email => "e-mail",
        Channel::None => "no channel",
    }
}

async fn get(conn: &mut Conn, id: ApprovalId) -> AppResult<ApprovalRow> {
    stored::get(conn, id)
        .await?
        .ok_or_else(|| AppError::NotFound {
            what: "approval batch",
            id: id.to_string(),
        })
}

/// The whole post of a batch as it stands: a status line, the change, the summary, the note
/// and (while held) the message one customer will get.
async fn post_text(
    app: &App,
    conn: &mut Conn,
    row: &ApprovalRow,
    superseded_by: Option<&str>,
) -> AppResult<String> {
    let head = match row.status {
        ApprovalStatus::Held => format!("**Approval needed: batch #{}**", row.id),
        ApprovalStatus::Approved => format!(
            "**Batch #{} approved** by {}: its updates are on their way to customers.",
            row.id,
            data(row.decided_by.as_deref().unwrap_or(""))
        ),
        ApprovalStatus::Withheld => format!(
            "**Batch #{} withheld** by {}: no customer was told.",
            row.id,
            data(row.decided_by.as_deref().unwrap_or(""))
        ),
        ApprovalStatus::Superseded => format!(
            "**Batch #{} superseded** by a newer change{}: its updates were closed unsent; the newer change is judged on its own.",
            row.id,
            superseded_by.map_or(String::new(), |w| format!(" ({})", data(w)))
        ),
    };
    let mut lines = vec![
        head,
        format!("Change: {} (by {})", data(&row.change), data(&row.actor)),
        row.summary.clone(),
    ];
    if let Some(note) = &row.note {
        lines.push(format!("Note for every message: \"{}\"", data(note)));
    }
    if row.status == ApprovalStatus::Held {
        if let Some((customer, backorders)) = stored::sample_customer(conn, row.id).await? {
            if let Some(sample) = super::notify::sample(
                app,
                conn,
                customer,
                &backorders,
                UpdateKind::EtaChanged,
                row.note.as_deref(),
            )
            .await?
            {
                lines.push(format!("One customer will get, {}", data(&sample)));
            }
        }
    }
    Ok(lines.join("\n"))
}

/// Queues an edit of the batch's post to show where it stands now (buttons only while held).
async fn repost(
    app: &App,
    conn: &mut Conn,
    id: ApprovalId,
    superseded_by: Option<&str>,
) -> AppResult<()> {
    let row = get(conn, id).await?;
    let (Some(post), Some(channel)) = (row.post_id, app.settings.discord.alert_channel_id) else {
        return Ok(());
    };
    let text = post_text(app, conn, &row, superseded_by).await?;
    let buttons =
        (row.status == ApprovalStatus::Held).then_some(posts::ApprovalButtons { approval: id });
    posts::enqueue_approval(conn, channel, &text, buttons, Some(post)).await?;
    Ok(())
}

/// What a decision did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decided {
    pub id: ApprovalId,
    pub status: ApprovalStatus,
    /// Updates released or closed.
    pub updates: u64,
    pub note: Option<String>,
}

impl Decided {
    /// One line for any surface (markup).
    pub fn describe(&self) -> String {
        let note = self
            .note
            .as_deref()
            .map_or(String::new(), |n| format!(" with the note \"{}\"", data(n)));
        match self.status {
            ApprovalStatus::Approved => format!(
                "Batch #{} approved{note}: {} released to customers.",
                self.id,
                text::plural(self.updates as i64, "update", "updates")
            ),
            _ => format!(
                "Batch #{} withheld: {} closed, no customer was told.",
                self.id,
                text::plural(self.updates as i64, "update", "updates")
            ),
        }
    }
}

fn parse_id(raw: i64) -> AppResult<ApprovalId> {
    if raw < 1 {
        return Err(AppError::invalid(
            "batch",
            "must be a batch number from /approvals",
        ));
    }
    Ok(ApprovalId(raw))
}

fn not_held(row: &ApprovalRow) -> AppError {
    AppError::Refused(format!(
        "batch #{} is {} already{}",
        row.id,
        row.status,
        row.decided_by
            .as_deref()
            .map_or(String::new(), |b| format!(" (by {})", data(b)))
    ))
}

/// `/approve batch: [note:]`: releases a held batch to the dispatcher, with the note (if any)
/// in every message of the batch.
pub async fn approve(
    app: &App,
    actor: &Actor,
    batch: i64,
    note: Option<&str>,
) -> AppResult<Decided> {
    let mut tx = app.store.begin_write().await?;
    let d = decide(app, &mut tx, actor, batch, ApprovalStatus::Approved, note).await?;
    tx.commit().await?;
    app.wake_dispatcher();
    Ok(d)
}

/// `/withhold batch:`: closes a held batch's updates as withheld; no customer is told.
pub async fn withhold(app: &App, actor: &Actor, batch: i64) -> AppResult<Decided> {
    let mut tx = app.store.begin_write().await?;
    let d = decide(app, &mut tx, actor, batch, ApprovalStatus::Withheld, None).await?;
    tx.commit().await?;
    Ok(d)
}

/// [`approve`] or [`withhold`] inside the caller's write transaction (the API commits it
/// together with the idempotency record).
pub async fn decide_in(
    app: &App,
    tx: super::idempotency::Unit<'_>,
    actor: &Actor,
    batch: i64,
    approve: bool,
    note: Option<&str>,
) -> AppResult<Decided> {
    let status = if approve {
        ApprovalStatus::Approved
    } else {
        ApprovalStatus::Withheld
    };
    let d = decide(app, tx.0, actor, batch, status, note).await?;
    if approve {
        // Before the commit is fine: the dispatcher's claim waits for the write lock.
        app.wake_dispatcher();
    }
    Ok(d)
}

async fn decide(
    app: &App,
    tx: &mut Conn,
    actor: &Actor,
    batch: i64,
    status: ApprovalStatus,
    note: Option<&str>,
) -> AppResult<Decided> {
    actor.require_ops(|| "deciding an approval batch needs the ops role".to_string())?;
    let id = parse_id(batch)?;
    let note = note
        .filter(|n| !n.trim().is_empty())
        .map(|n| super::field("note", approval::note(n)))
        .transpose()?;
    let now = app.clock.now();
    let row = get(tx, id).await?;
    if row.status != ApprovalStatus::Held {
        return Err(not_held(&row));
    }
    if let Some(n) = &note {
        stored::set_note(tx, id, n).await?;
    }
    stored::decide(tx, id, status, &actor.name, now).await?;
    let updates = match status {
        ApprovalStatus::Approved => {
            stored::settle_rows(tx, id, OutboxStatus::Pending, None, now).await?
        }
        _ => {
            stored::settle_rows(
                tx,
                id,
                OutboxStatus::Withheld,
                Some(&format!("batch #{id} withheld by ops")),
                now,
            )
            .await?
        }
    };
    let note = note.or(row.note.clone());
    let action = match status {
        ApprovalStatus::Approved => "approvals.approve",
        _ => "approvals.withhold",
    };
    store::audit::record(
        tx,
        &AuditEntry::ok(
            &actor.name,
            action,
            format!("batch #{id}: {updates} updates"),
        )
        .because(note.clone().unwrap_or_default()),
        now,
    )
    .await?;
    repost(app, tx, id, None).await?;
    Ok(Decided {
        id,
        status,
        updates,
        note,
    })
}

/// Sets the sentence added to every message of a held batch (the "Add note…" form).
pub async fn add_note(app: &App, actor: &Actor, batch: i64, note: &str) -> AppResult<String> {
    actor.require_ops(|| "a note on an approval batch needs the ops role".to_string())?;
    let id = parse_id(batch)?;
    let note = super::field("note", approval::note(note))?;
    let now = app.clock.now();
    let mut tx = app.store.begin_write().await?;
    let row = get(&mut tx, id).await?;
    if !stored::set_note(&mut tx, id, &note).await? {
        return Err(not_held(&row));
    }
    store::audit::record(
        &mut tx,
        &AuditEntry::ok(&actor.name, "approvals.note", format!("batch #{id}")).because(&note),
        now,
    )
    .await?;
    repost(app, &mut tx, id, None).await?;
    tx.commit().await?;
    Ok(note)
}

/// A held batch as `/approvals` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldBatch {
    pub id: ApprovalId,
    pub created_at: DateTime<Utc>,
    /// What the change was (outside text: escape it).
    pub change: String,
    pub actor: String,
    pub customers: i64,
    pub largest_shift_days: Option<i64>,
    /// Updates held.
    pub updates: i64,
    pub note: Option<String>,
}

/// `/approvals`: the held batches, oldest first, paged like the other lists.
pub async fn list(app: &App, page: &PageRequest<'_>) -> AppResult<Paged<HeldBatch>> {
    let mut conn = app.store.reader().await?;
    let page = paged(app, page, &stored::HELD_ORDER, async |seek, size| {
        stored::held_page(&mut conn, seek, size).await
    })
    .await?;
    Ok(page.map(|r| HeldBatch {
        id: r.id,
        created_at: r.created_at,
        change: r.change,
        actor: r.actor,
        customers: r.customers,
        largest_shift_days: r.largest_shift_days,
        updates: r.held,
        note: r.note,
    }))
}

/// Queues the one reminder of each batch held longer than `[notify] approval_remind_after`.
/// Marked in the same transaction as the post, so a restart never reminds twice. Returns how
/// many were queued.
pub async fn remind_due(app: &App) -> anyhow::Result<usize> {
    let Some(channel) = app.settings.discord.alert_channel_id else {
        return Ok(0);
    };
    let now = app.clock.now();
    let before = now - chrono::Duration::from_std(app.settings.notify.approval_remind_after)?;
    let mut conn = app.store.conn().await?;
    // A plain read first: an idle poster never takes the write lock.
    if stored::due_reminders(&mut conn, before).await?.is_empty() {
        return Ok(0);
    }
    drop(conn);
    let mut tx = app.store.begin_write().await?;
    let mut queued = 0;
    for row in stored::due_reminders(&mut tx, before).await? {
        if !stored::mark_reminded(&mut tx, row.id, now).await? {
            continue;
        }
        let line = format!(
            "Reminder: batch #{} is still waiting for a decision since {} UTC ({} held, {}): {}. Nothing is sent until someone approves it; /approve batch:{} or /withhold batch:{}.",
            row.id,
            row.created_at.format("%Y-%m-%d %H:%M"),
            text::plural(row.held, "update", "updates"),
            text::plural(row.customers, "customer", "customers"),
            data(&row.change),
            row.id,
            row.id
        );
        posts::enqueue(&mut tx, channel, &line).await?;
        queued += 1;
    }
    tx.commit().await?;
    Ok(queued)
}

/// A button click or form on a batch's post, as any transport receives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interaction<'a> {
    /// The component's custom id.
    pub custom_id: &'a str,
    /// The form's fields `(custom id, value)` when a form was sent.
    pub form: &'a [(String, String)],
}

/// What to answer an interaction with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InteractionReply {
    /// A message only the clicker sees (markup).
    Private(String),
    /// Open a form with one line of text.
    Form(NoteForm),
}

/// The note form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteForm {
    /// The form's custom id (what its submission carries).
    pub custom_id: String,
    pub title: String,
    /// The text field's custom id.
    pub field_id: &'static str,
    pub label: &'static str,
    pub max_len: u16,
}

/// The note form's text field.
pub const NOTE_FIELD: &str = "note";

/// Whether a custom id is one of an approval post's.
pub fn is_approval_component(custom_id: &str) -> bool {
    Action::parse(custom_id).is_some()
}

/// Answers a click on an approval post (Approve, Add note…, Withhold) or the note form. `actor`
/// says who clicked and whether they hold an ops role; anyone else gets a private refusal.
/// `None` when the custom id is not an approval one.
pub async fn interact(
    app: &App,
    actor: &Actor,
    interaction: &Interaction<'_>,
) -> Option<InteractionReply> {
    let (action, batch) = Action::parse(interaction.custom_id)?;
    if !actor.may(true) {
        let entry = AuditEntry::refused(&actor.name, "approvals.click", format!("batch #{batch}"))
            .because("no ops role");
        if let Ok(mut conn) = app.store.conn().await {
            if let Err(e) = store::audit::record(&mut conn, &entry, app.clock.now()).await {
                tracing::warn!(error = %e, "refused click not audited");
            }
        }
        return Some(InteractionReply::Private(
            "Only the ops role may decide approval batches; nothing was changed.".to_string(),
        ));
    }
    let result = match action {
        Action::AskNote => {
            return Some(InteractionReply::Form(NoteForm {
                custom_id: Action::SubmitNote.custom_id(batch),
                title: format!("Note for batch #{batch}"),
                field_id: NOTE_FIELD,
                label: "One sentence added to every message",
                max_len: approval::MAX_NOTE_CHARS as u16,
            }))
        }
        Action::SubmitNote => {
            let note = interaction
                .form
                .iter()
                .find(|(k, _)| k == NOTE_FIELD)
                .map(|(_, v)| v.as_str())
                .unwrap_or("");
            add_note(app, actor, batch, note).await.map(|n| {
                format!(
                    "Note added to batch #{batch}: \"{}\". Approve to send it with every message.",
                    data(&n)
                )
            })
        }
        Action::Approve => approve(app, actor, batch, None).await.map(|d| d.describe()),
        Action::Withhold => withhold(app, actor, batch).await.map(|d| d.describe()),
    };
    Some(InteractionReply::Private(match result {
        Ok(text) => text,
        Err(AppError::Unexpected(e)) => {
            let reference = super::report_unexpected(&e, "approval click");
            format!(
                "Something went wrong on our side (reference {reference}). Nothing was changed."
            )
        }
        Err(e) => e.to_string(),
    }))
}
