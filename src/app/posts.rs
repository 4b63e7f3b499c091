//! Discord channel posts, queued in the caller's transaction and sent by the poster task.

use crate::app::App;
use crate::domain::notify::backoff;
use crate::domain::{AlertRunId, ApprovalId, PostId};
use crate::store::posts::{self, NewPost};
use crate::store::Conn;
use chrono::Duration;
use serde::{Deserialize, Serialize};

/// Queues a plain text post to a channel (ops notices, alerts without buttons). The text is cut
/// to Discord's 2000-character limit.
pub async fn enqueue(conn: &mut Conn, channel_id: u64, text: &str) -> anyhow::Result<()> {
    enqueue_with(conn, channel_id, text, None, None).await?;
    Ok(())
}

/// The buttons of an alert message, stored with the post and drawn by the Discord adapter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Components {
    /// The run whose SKUs "Snooze 7 days" snoozes.
    pub snooze_run: AlertRunId,
    /// SKUs offered in the snooze select menu (at most 25, Discord's limit).
    pub skus: Vec<String>,
}

/// Queues a post with an optional attachment and components; returns its id.
pub async fn enqueue_with(
    conn: &mut Conn,
    channel_id: u64,
    text: &str,
    attachment: Option<(&str, &[u8])>,
    components: Option<&Components>,
) -> anyhow::Result<PostId> {
    let components = components.map(serde_json::to_string).transpose()?;
    queue(conn, channel_id, text, attachment, components, None).await
}

/// Queues a post, its text cut to Discord's 2000-character limit.
async fn queue(
    conn: &mut Conn,
    channel_id: u64,
    text: &str,
    attachment: Option<(&str, &[u8])>,
    components: Option<String>,
    edits_post: Option<PostId>,
) -> anyhow::Result<PostId> {
    let content: String = text
        .chars()
        .take(crate::domain::alerts::CONTENT_LIMIT)
        .collect();
    posts::enqueue(
        conn,
        &NewPost {
            channel_id,
            content: &content,
            attachment,
            components,
            edits_post,
        },
        chrono::Utc::now(),
    )
    .await
}

/// The buttons of an approval batch's post (Approve, Add note…, Withhold), stored with the post
/// and drawn by the Discord adapter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalButtons {
    /// The batch the buttons decide.
    pub approval: ApprovalId,
}

/// Queues an approval post (with its buttons, or without once decided). With `edits`, the post
/// replaces the text and buttons of that earlier post's message instead of posting anew.
pub async fn enqueue_approval(
    conn: &mut Conn,
    channel_id: u64,
    text: &str,
    buttons: Option<ApprovalButtons>,
    edits: Option<PostId>,
) -> anyhow::Result<PostId> {
    let components = buttons.as_ref().map(serde_json::to_string).transpose()?;
    queue(conn, channel_id, text, None, components, edits).await
}

/// The Discord message an edit post changes: `Ok(None)` while that post is not sent yet, `Err`
/// when it never will be.
pub async fn edited_message(app: &App, post: &Post) -> anyhow::Result<Result<Option<u64>, String>> {
    let Some(target) = post.edits_post else {
        return Ok(Ok(None));
    };
    let mut conn = app.store.conn().await?;
    posts::message_of(&mut conn, target).await
}

/// Posts claimed per round.
const BATCH: i64 = 10;
/// How long a claimed post is reserved for one send.
const LEASE_SECS: i64 = 120;

/// A post claimed for sending, as the poster receives it.
pub use crate::store::posts::PostRow as Post;

/// Why a send failed, as the transport reports it.
#[derive(Debug)]
pub enum SendError {
    /// Worth another try later (network, 5xx, 429).
    Retry(String),
    /// Will never work (unknown channel, missing access): give up.
    Permanent(String),
}

/// Leases the due posts for one send each (claim → commit); empty without a write when none is
/// due, so an idle poster never takes the write lock.
pub async fn claim_due(app: &App) -> anyhow::Result<Vec<Post>> {
    let now = app.clock.now();
    let mut conn = app.store.conn().await?;
    if !posts::any_due(&mut conn, now).await? {
        return Ok(Vec::new());
    }
    drop(conn);
    let mut tx = app.store.begin_write().await?;
    let batch = posts::claim_due(&mut tx, now, now + Duration::seconds(LEASE_SECS), BATCH).await?;
    tx.commit().await?;
    Ok(batch)
}

/// Records how one send went: sent, due again after the domain's backoff, or given up.
/// Returns whether the post was sent.
pub async fn record(
    app: &App,
    post: &Post,
    result: Result<Option<u64>, SendError>,
) -> anyhow::Result<bool> {
    let mut conn = app.store.conn().await?;
    let now = app.clock.now();
    match result {
        Ok(message_id) => {
            posts::mark_sent(&mut conn, post.id, message_id, now).await?;
            Ok(true)
        }
        Err(SendError::Retry(e)) => {
            let attempt = u32::try_from(post.attempts).unwrap_or(u32::MAX);
            let wait = backoff(attempt, None, 0.5 + fastrand::f64() / 2.0);
            tracing::warn!(post = post.id.0, attempts = post.attempts, error = %e, retry_in_secs = wait.as_secs(), "channel post failed; will retry");
            let next = now + Duration::from_std(wait).unwrap_or_default();
            posts::mark_retry(&mut conn, post.id, next, &e, false).await?;
            Ok(false)
        }
        Err(SendError::Permanent(e)) => {
            tracing::error!(post = post.id.0, channel = post.channel_id, error = %e, "channel post refused; giving up");
            posts::mark_retry(&mut conn, post.id, now, &e, true).await?;
            Ok(false)
        }
    }
}

/// How long the poster may sleep before a post is due: until the earliest one, between 200 ms
/// and 2 s.
pub async fn next_wait(app: &App) -> anyhow::Result<std::time::Duration> {
    let mut conn = app.store.conn().await?;
    let due = posts::next_due(&mut conn).await?;
    let now = app.clock.now();
    Ok(due
        .map(|d| (d - now).to_std().unwrap_or_default())
        .unwrap_or(std::time::Duration::from_secs(2))
        .clamp(
            std::time::Duration::from_millis(200),
            std::time::Duration::from_secs(2),
        ))
}
