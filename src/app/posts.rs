//! TEMP shim until the alerts branch lands its durable queue of Discord channel posts.

use crate::store::Conn;

/// Queues a post to a Discord channel (shim: writes a log line).
pub async fn enqueue(_conn: &mut Conn, channel_id: u64, text: &str) -> anyhow::Result<()> {
    tracing::info!(channel_id, text, "post to Discord channel");
    Ok(())
}
