//! The durable queue of Discord channel posts: claim → commit → send → mark.

use super::types::{sql_word, NextAttempt};
use super::{ts, Conn, StoredDiscordId, StoredTs};
use crate::domain::outbox::PostStatus;
use crate::domain::PostId;
use crate::store::run;
use chrono::{DateTime, Utc};

/// Due at once: earlier than any clock, real or a test's (stored as `0000-01-01T00:00:00Z`).
fn due_now() -> DateTime<Utc> {
    chrono::NaiveDate::from_ymd_opt(0, 1, 1)
        .unwrap_or(chrono::NaiveDate::MIN)
        .and_time(chrono::NaiveTime::MIN)
        .and_utc()
}

/// A post to queue.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewPost<'a> {
    /// Discord channel.
    pub channel_id: u64,
    /// Message text.
    pub content: &'a str,
    /// `(file name, bytes)` to attach.
    pub attachment: Option<(&'a str, &'a [u8])>,
    /// Components as JSON (see `app::posts::Components`).
    pub components: Option<String>,
    /// The earlier post whose Discord message this one edits instead of posting anew.
    pub edits_post: Option<PostId>,
}

/// Queues a post, due at once; returns its id.
pub async fn enqueue(
    conn: &mut Conn,
    post: &NewPost<'_>,
    now: DateTime<Utc>,
) -> anyhow::Result<PostId> {
    Ok(run!(conn, sqlx::query_scalar(
        "INSERT INTO channel_posts (channel_id, content, attachment_name, attachment, components,
            next_attempt_at, created_at, edits_post)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(post.channel_id.to_string())
    .bind(post.content)
    .bind(post.attachment.map(|a| a.0))
    .bind(post.attachment.map(|a| a.1))
    .bind(post.components.as_deref())
    .bind(ts(due_now()))
    .bind(ts(now))
    .bind(post.edits_post), fetch_one)?)
}

/// The Discord message id of a post once sent; `Err` text when it never will be (given up).
pub async fn message_of(
    conn: &mut Conn,
    id: PostId,
) -> anyhow::Result<Result<Option<u64>, String>> {
    #[derive(sqlx::FromRow)]
    struct Sent {
        status: PostStatus,
        message_id: Option<String>,
    }
    let row: Option<Sent> = run!(
        conn,
        sqlx::query_as("SELECT status, message_id FROM channel_posts WHERE id = $1").bind(id),
        fetch_optional
    )?;
    Ok(match row {
        None => Err(format!("post {id} does not exist")),
        Some(Sent {
            status: PostStatus::Failed,
            ..
        }) => Err(format!("post {id} was never sent")),
        Some(s) => Ok(s.message_id.and_then(|m| m.parse().ok())),
    })
}

/// Whether any post is due: a plain read, so an idle poster never takes the write lock.
pub async fn any_due(conn: &mut Conn, now: DateTime<Utc>) -> anyhow::Result<bool> {
    let n: i64 = run!(
        conn,
        sqlx::query_scalar(concat!(
            "SELECT COUNT(*) FROM (SELECT 1 FROM channel_posts
         WHERE status = ",
            sql_word!(post pending),
            " AND next_attempt_at <= $1
           AND (leased_until IS NULL OR leased_until <= $1) LIMIT 1) AS due"
        ))
        .bind(ts(now)),
        fetch_one
    )?;
    Ok(n > 0)
}

/// A claimed post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostRow {
    /// Id.
    pub id: PostId,
    /// Discord channel.
    pub channel_id: u64,
    /// Message text.
    pub content: String,
    /// File name and bytes.
    pub attachment: Option<(String, Vec<u8>)>,
    /// Components JSON.
    pub components: Option<String>,
    /// Attempts so far, this one included.
    pub attempts: i64,
    /// The post whose message this one edits.
    pub edits_post: Option<PostId>,
    /// When it was queued: with the id, it names the post beyond this database (Discord's nonce).
    pub created_at: DateTime<Utc>,
}

/// A claimed post as stored.
#[derive(sqlx::FromRow)]
struct StoredPost {
    id: PostId,
    #[sqlx(try_from = "StoredDiscordId")]
    channel_id: u64,
    content: String,
    attachment_name: Option<String>,
    attachment: Option<Vec<u8>>,
    components: Option<String>,
    attempts: i64,
    edits_post: Option<PostId>,
    #[sqlx(try_from = "StoredTs")]
    created_at: DateTime<Utc>,
}

/// Leases up to `limit` due posts until `lease_until` (oldest first). A post whose lease ran
/// out (the process died mid-send) is due again: that is the at-most-one duplicate.
pub async fn claim_due(
    conn: &mut Conn,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: i64,
) -> anyhow::Result<Vec<PostRow>> {
    let rows: Vec<StoredPost> = run!(
        conn,
        sqlx::query_as(concat!(
            "UPDATE channel_posts SET leased_until = $1, attempts = attempts + 1
         WHERE id IN (SELECT id FROM channel_posts
                      WHERE status = ",
            sql_word!(post pending),
            " AND next_attempt_at <= $2
                        AND (leased_until IS NULL OR leased_until <= $2)
                      ORDER BY id LIMIT $3)
         RETURNING id, channel_id, content, attachment_name, attachment, components, attempts,
            edits_post, created_at"
        ))
        .bind(ts(lease_until))
        .bind(ts(now))
        .bind(limit),
        fetch_all
    )?;
    let mut out: Vec<PostRow> = rows
        .into_iter()
        .map(|p| PostRow {
            id: p.id,
            channel_id: p.channel_id,
            content: p.content,
            attachment: match (p.attachment_name, p.attachment) {
                (Some(n), Some(b)) => Some((n, b)),
                _ => None,
            },
            components: p.components,
            attempts: p.attempts,
            edits_post: p.edits_post,
            created_at: p.created_at,
        })
        .collect();
    out.sort_by_key(|p| p.id);
    Ok(out)
}

/// Marks a post sent.
pub async fn mark_sent(
    conn: &mut Conn,
    id: PostId,
    message_id: Option<u64>,
    now: DateTime<Utc>,
) -> anyhow::Result<()> {
    run!(conn, sqlx::query(
        "UPDATE channel_posts SET status = $4, sent_at = $2, message_id = $3, leased_until = NULL
         WHERE id = $1",
    )
    .bind(id)
    .bind(ts(now))
    .bind(message_id.map(|m| m.to_string()))
    .bind(PostStatus::Sent), execute)?;
    Ok(())
}

/// Puts a post back for another attempt at `next`, or gives up (`failed`) when `give_up`.
pub async fn mark_retry(
    conn: &mut Conn,
    id: PostId,
    next: DateTime<Utc>,
    error: &str,
    give_up: bool,
) -> anyhow::Result<()> {
    run!(
        conn,
        sqlx::query(
            "UPDATE channel_posts SET status = $2, next_attempt_at = $3, last_error = $4,
            leased_until = NULL WHERE id = $1",
        )
        .bind(id)
        .bind(if give_up {
            PostStatus::Failed
        } else {
            PostStatus::Pending
        })
        .bind(ts(next))
        .bind(error),
        execute
    )?;
    Ok(())
}

/// The earliest time a pending post is due, if any.
pub async fn next_due(conn: &mut Conn) -> anyhow::Result<Option<DateTime<Utc>>> {
    let due: NextAttempt = run!(
        conn,
        sqlx::query_as(concat!(
            "SELECT MIN(CASE WHEN leased_until > next_attempt_at THEN leased_until
                        ELSE next_attempt_at END) AS next_attempt_at
         FROM channel_posts WHERE status = ",
            sql_word!(post pending)
        )),
        fetch_one
    )?;
    Ok(due.next_attempt_at)
}
