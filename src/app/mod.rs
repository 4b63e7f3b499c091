//! Use cases: one function per thing a user does, each one transaction, returning domain values.

pub mod alerts;
pub mod approvals;
pub mod backorders;
pub mod customers;
pub mod demo;
pub mod figures;
pub mod forecast;
pub mod forecast_job;
pub mod idempotency;
pub mod import;
pub mod incentives;
pub mod lease;
pub mod notify;
pub mod orders;
pub mod page;
pub mod portal;
pub mod posts;
pub mod promise;
pub mod purchasing;
pub mod report;
pub mod schedule;
pub mod search;
pub mod service;
pub mod stock;
pub mod templates;

use crate::config::Settings;
use crate::domain::audit::AuditEntry;
use crate::domain::{ParseError, Sku};
use crate::store::Store;
use chrono::{DateTime, NaiveDate, Utc};
use std::sync::{Arc, Mutex};

/// Where "now" comes from: the system clock, or a fixed clock tests move by hand.
#[derive(Clone, Debug, Default)]
pub enum Clock {
    /// Real time.
    #[default]
    System,
    /// A settable time.
    Fixed(Arc<Mutex<DateTime<Utc>>>),
}

impl Clock {
    /// A fixed clock at `t`.
    pub fn fixed(t: DateTime<Utc>) -> Self {
        Clock::Fixed(Arc::new(Mutex::new(t)))
    }

    /// The current time.
    pub fn now(&self) -> DateTime<Utc> {
        match self {
            Clock::System => Utc::now(),
            Clock::Fixed(t) => *t.lock().expect("clock lock poisoned"),
        }
    }

    /// Today's date (UTC).
    pub fn today(&self) -> NaiveDate {
        self.now().date_naive()
    }

    /// Moves a fixed clock (no-op on the system clock).
    pub fn set(&self, to: DateTime<Utc>) {
        if let Clock::Fixed(t) = self {
            *t.lock().expect("clock lock poisoned") = to;
        }
    }
}

/// Lets `actor` do `action` to `subject` when they may (`changes_data` needs the ops role); a
/// refusal is written to the audit log.
pub async fn authorize(
    app: &App,
    actor: &Actor,
    changes_data: bool,
    action: &str,
    subject: &str,
) -> AppResult<()> {
    if actor.may(changes_data) {
        return Ok(());
    }
    let mut conn = app.store.conn().await?;
    let entry = AuditEntry::refused(&actor.name, action, subject).because("no ops role");
    crate::store::audit::record(&mut conn, &entry, app.clock.now()).await?;
    Err(AppError::Forbidden(format!(
        "{action} changes data and needs the ops role; ask someone with it"
    )))
}

/// Who is acting, for the audit log and permission checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// Audit name (`console`, `discord:1234`, `api`).
    pub name: String,
    /// May run commands that change data.
    pub may_change: bool,
}

impl Actor {
    /// An actor allowed to change data.
    pub fn operator(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            may_change: true,
        }
    }

    /// The one permission rule: anyone may read, only the ops role may change data.
    pub fn may(&self, changes_data: bool) -> bool {
        !changes_data || self.may_change
    }

    /// Refuses a change by an actor without the ops role, saying `refusal`.
    pub fn require_ops(&self, refusal: impl FnOnce() -> String) -> AppResult<()> {
        if self.may(true) {
            Ok(())
        } else {
            Err(AppError::Forbidden(refusal()))
        }
    }
}

/// What a use case can fail with: user-facing variants, then the unexpected.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// No product has this SKU.
    #[error("unknown SKU \"{sku}\"{}", did_you_mean(.suggestions))]
    UnknownSku {
        /// As typed.
        sku: String,
        /// Closest SKUs.
        suggestions: Vec<String>,
    },
    /// Something else looked up by id does not exist.
    #[error("no {what} \"{id}\"")]
    NotFound {
        /// Kind of thing.
        what: &'static str,
        /// As typed.
        id: String,
    },
    /// An input value is wrong.
    #[error("{field}: {reason}")]
    Invalid {
        /// The option, column or field.
        field: String,
        /// What is wrong.
        reason: String,
    },
    /// The request is understood but not allowed by the rules.
    #[error("{0}")]
    Refused(String),
    /// The caller may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// A file import failed; nothing was written.
    #[error("{0}")]
    Import(#[from] import::ImportErrors),
    /// A bug or an outage; details go to the log only.
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

fn did_you_mean(s: &[String]) -> String {
    if s.is_empty() {
        String::new()
    } else {
        format!(" — did you mean {}?", s.join(", "))
    }
}

impl AppError {
    /// An invalid-value error for a field.
    pub fn invalid(field: impl Into<String>, reason: impl std::fmt::Display) -> Self {
        AppError::Invalid {
            field: field.into(),
            reason: reason.to_string(),
        }
    }

    /// Names a field inside a larger body: `qty` of line 0 becomes `lines[0].qty`; an unknown
    /// SKU becomes an invalid `lines[0].sku`.
    pub fn within(self, parent: &str) -> Self {
        match self {
            AppError::Invalid { field, reason } => {
                AppError::invalid(format!("{parent}.{field}"), reason)
            }
            e @ AppError::UnknownSku { .. } => {
                AppError::invalid(format!("{parent}.sku"), e.to_string())
            }
            other => other,
        }
    }

    /// Whether the text is safe and useful to show the user.
    pub fn is_user_facing(&self) -> bool {
        !matches!(self, AppError::Unexpected(_))
    }
}

/// Logs an unexpected error with its whole cause chain under a new short reference id, and
/// returns the id: the only part of it a user sees. `what` says what failed ("command /stock").
pub fn report_unexpected(error: &anyhow::Error, what: &str) -> String {
    let reference = uuid::Uuid::new_v4().simple().to_string()[..8].to_string();
    tracing::error!(reference, error = ?error, "{what} failed");
    reference
}

/// Parses a field with a domain parser, naming the field on error.
pub fn field<T>(name: &str, r: Result<T, ParseError>) -> Result<T, AppError> {
    r.map_err(|e| AppError::invalid(name, e))
}

/// Result of a use case.
pub type AppResult<T> = Result<T, AppError>;

/// The application: store, settings and clock. Cheap to clone.
#[derive(Clone, Debug)]
pub struct App {
    /// Database.
    pub store: Store,
    pub settings: Arc<Settings>,
    /// Time source.
    pub clock: Clock,
    /// Wakes this process's dispatcher when a use case queued customer updates.
    pub outbox_written: Arc<tokio::sync::Notify>,
    /// Settled queues of hot SKUs kept between orders.
    pub queues: Arc<promise::Queues>,
    /// What adapters record for `GET /metrics`.
    pub metrics: Arc<crate::telemetry::metrics::Metrics>,
}

impl App {
    /// Builds the application.
    pub fn new(store: Store, settings: Arc<Settings>, clock: Clock) -> Self {
        Self {
            metrics: Arc::new(crate::telemetry::metrics::Metrics::new(
                settings.alerts.rules.iter().map(|r| r.name.as_str()),
            )),
            store,
            settings,
            clock,
            outbox_written: Arc::new(tokio::sync::Notify::new()),
            queues: Arc::default(),
        }
    }

    /// Tells this process's dispatcher that customer updates were queued. Called before the
    /// writing transaction commits is fine: the dispatcher's claim waits for the write lock.
    pub fn wake_dispatcher(&self) {
        self.outbox_written.notify_one();
    }

    /// Resolves a SKU to its product, or an `UnknownSku` error with suggestions.
    pub async fn product(
        &self,
        conn: &mut crate::store::Conn,
        raw: &str,
    ) -> AppResult<crate::store::products::ProductRow> {
        let sku = field("sku", Sku::parse(raw))?;
        match crate::store::products::by_key(conn, &sku.key()).await? {
            Some(p) => Ok(p),
            None => {
                let mut near = crate::store::products::near_keys(conn, &sku.key(), 50).await?;
                near.sort_by_cached_key(|s| sku.distance_to(s));
                near.truncate(3);
                Err(AppError::UnknownSku {
                    sku: sku.to_string(),
                    suggestions: near,
                })
            }
        }
    }
}
