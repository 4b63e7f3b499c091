//! An audit log entry: who did what, to what, why, and how it ended.

/// How an audited action ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditOutcome {
    /// Done.
    Ok,
    /// Refused (no permission).
    Refused,
}

impl AuditOutcome {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditOutcome::Ok => "ok",
            AuditOutcome::Refused => "refused",
        }
    }
}

/// One action for the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// Audit name of who acted (`console`, `discord:1234`, `api`).
    pub actor: String,
    /// `set_eta`, `alerts.snooze`, `/adjust`, …
    pub action: String,
    /// What it was done to.
    pub subject: String,
    /// Why, when given; empty otherwise.
    pub reason: String,
    pub outcome: AuditOutcome,
}

impl AuditEntry {
    /// An action that was done.
    pub fn ok(actor: &str, action: impl Into<String>, subject: impl Into<String>) -> Self {
        Self {
            actor: actor.to_string(),
            action: action.into(),
            subject: subject.into(),
            reason: String::new(),
            outcome: AuditOutcome::Ok,
        }
    }

    /// An action that was refused.
    pub fn refused(actor: &str, action: impl Into<String>, subject: impl Into<String>) -> Self {
        Self {
            outcome: AuditOutcome::Refused,
            ..Self::ok(actor, action, subject)
        }
    }

    /// With the reason given for it.
    pub fn because(mut self, reason: impl Into<String>) -> Self {
        self.reason = reason.into();
        self
    }
}
