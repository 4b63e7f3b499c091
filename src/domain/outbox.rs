//! Customer updates waiting in the outbox: how far delivery got (what they are about is
//! [`super::notify::UpdateKind`]).

use std::fmt;

/// How far delivery of one customer update got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OutboxStatus {
    /// Waiting for its next attempt.
    Pending,
    /// Claimed by a sender.
    Sending,
    /// Delivered to the provider.
    Sent,
    /// Given up on: the dead letter (retries are `Pending` again with a later attempt time).
    Failed,
    /// Not sent on purpose (opted out, no usable contact, nothing worth saying).
    Skipped,
    /// Not sent because a newer update made it pointless: the customer was already told the
    /// promise as it stands.
    Superseded,
    /// Waiting in an approval batch for ops; the dispatcher never claims it.
    Held,
    /// Ops withheld its batch: closed without a message.
    Withheld,
}

impl OutboxStatus {
    /// Every status.
    pub const ALL: [OutboxStatus; 8] = [
        OutboxStatus::Pending,
        OutboxStatus::Sending,
        OutboxStatus::Sent,
        OutboxStatus::Failed,
        OutboxStatus::Skipped,
        OutboxStatus::Superseded,
        OutboxStatus::Held,
        OutboxStatus::Withheld,
    ];

    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxStatus::Pending => "pending",
            OutboxStatus::Sending => "sending",
            OutboxStatus::Sent => "sent",
            OutboxStatus::Failed => "failed",
            OutboxStatus::Skipped => "skipped",
            OutboxStatus::Superseded => "superseded",
            OutboxStatus::Held => "held",
            OutboxStatus::Withheld => "withheld",
        }
    }
}

/// How far delivery of one queued Discord channel post got.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PostStatus {
    /// Waiting for its next attempt.
    Pending,
    Sent,
    /// Given up on.
    Failed,
}

impl PostStatus {
    /// Every status.
    pub const ALL: [PostStatus; 3] = [PostStatus::Pending, PostStatus::Sent, PostStatus::Failed];

    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            PostStatus::Pending => "pending",
            PostStatus::Sent => "sent",
            PostStatus::Failed => "failed",
        }
    }
}

impl fmt::Display for OutboxStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
