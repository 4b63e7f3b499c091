//! Discord channel posts, queued in the caller's transaction and sent by the poster task.

use crate::store::posts::{self, NewPost};
use crate::store::Conn;
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
    pub snooze_run: i64,
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
) -> anyhow::Result<i64> {
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
            components: components.map(serde_json::to_string).transpose()?,
        },
        chrono::Utc::now(),
    )
    .await
}
