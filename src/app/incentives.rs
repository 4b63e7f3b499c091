//! Incentives: the discount codes customer messages offer (`domain::incentive` decides when), and
//! the codes issued to a backorder or a customer.
//!
//! A code is issued — bound to its backorder — in a write transaction of its own just before the
//! message offering it is written, because the code is part of the text sent: a code chosen only
//! when the message is recorded would be one the customer may already have read in another
//! message. The transaction that records the sent message then records which message told it
//! ([`crate::app::notify::record`]). A crash or retry in between finds the backorder holding its
//! code and sends the same one again; the pool's rows are taken one at a time under the write
//! lock, so two dispatchers (or processes) never issue one code twice.

use super::{App, AppResult};
use crate::domain::ids::DiscountCodeId;
use crate::domain::incentive::{
    code_step, first_promise, CodeStep, CodeValue, Earned, Holding, Waiting,
};
use crate::domain::notify::UpdateKind;
use crate::domain::{BackorderId, CustomerId, MessageId};
use crate::store::{self, incentives::Facts, Conn};
use chrono::{DateTime, Utc};
use std::collections::HashMap;

/// A code a message offers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offer {
    pub backorder_id: BackorderId,
    pub code_id: DiscountCodeId,
    /// As imported (outside text).
    pub code: String,
    pub value: CodeValue,
}

/// What a batch of messages needs to decide on codes: whether there is a pool at all, and the
/// facts of the backorders it is about.
#[derive(Debug, Default)]
pub struct Ledger {
    /// Codes were ever imported (no pool: nothing is offered, nothing warned about).
    pool: bool,
    facts: HashMap<BackorderId, Facts>,
}

impl Ledger {
    /// Reads whether there is a pool (and the rules are on); facts are read per customer with
    /// [`Ledger::read`].
    pub async fn open(app: &App, conn: &mut Conn) -> anyhow::Result<Self> {
        let pool = app.settings.incentives.enabled() && {
            let (free, issued) = store::incentives::pool_counts(conn).await?;
            free + issued > 0
        };
        Ok(Self {
            pool,
            facts: HashMap::new(),
        })
    }

    /// Reads the facts of some backorders (nothing without a pool).
    pub async fn read(&mut self, conn: &mut Conn, ids: &[BackorderId]) -> anyhow::Result<()> {
        if !self.pool {
            return Ok(());
        }
        for f in store::incentives::facts(conn, ids).await? {
            self.facts.insert(f.backorder_id, f);
        }
        Ok(())
    }

    fn holding(f: &Facts) -> Holding {
        match (f.code_id, f.told) {
            (None, _) => Holding::None,
            (Some(_), false) => Holding::Untold,
            (Some(_), true) => Holding::Told,
        }
    }

    fn earned(app: &App, f: &Facts) -> Option<Earned> {
        let first = first_promise(
            f.dated_change.then_some((f.first_old, f.first_new)),
            f.promised_eta,
        );
        app.settings.incentives.earned(
            &Waiting {
                since: f.ordered_at.date_naive(),
                first_promise: first,
                promise: f.promised_eta,
            },
            app.clock.today(),
        )
    }

    /// The codes a message of `kind` about `backorders` offers: codes issued before and not yet
    /// told, and new ones for backorders that earned one. New ones are issued here, in one write
    /// transaction; when the pool has run dry the ops channel hears it once and the message goes
    /// without.
    pub async fn offers(
        &mut self,
        app: &App,
        kind: UpdateKind,
        backorders: &[BackorderId],
    ) -> anyhow::Result<Vec<Offer>> {
        if !self.pool {
            return Ok(Vec::new());
        }
        let mut offers = Vec::new();
        let mut to_issue = Vec::new();
        for id in backorders {
            let Some(f) = self.facts.get(id) else {
                continue;
            };
            let earned = Self::earned(app, f);
            match code_step(kind, Self::holding(f), earned.is_some()) {
                CodeStep::None => {}
                CodeStep::Carry => offers.extend(carried(f)),
                CodeStep::Issue => to_issue.push((*id, earned)),
            }
        }
        if to_issue.is_empty() {
            return Ok(offers);
        }
        let now = app.clock.now();
        let mut tx = app.store.begin_write().await?;
        let mut dry = false;
        for (id, earned) in to_issue {
            // Another dispatcher may have issued one meanwhile (a lease that ran out).
            let code = match store::incentives::code_of_backorder(&mut tx, id).await? {
                Some(c) => Some(c),
                None => store::incentives::take_free(&mut tx, id, now).await?,
            };
            let Some(code) = code else {
                dry = true;
                continue;
            };
            tracing::info!(backorder = id.0, code_id = code.id.0, reason = ?earned, "discount code issued");
            let Some(value) = CodeValue::from_stored(code.kind, code.percent) else {
                continue;
            };
            if let Some(f) = self.facts.get_mut(&id) {
                f.code_id = Some(code.id);
                f.code = Some(code.code.clone());
                f.kind = Some(code.kind);
                f.percent = code.percent;
            }
            offers.push(Offer {
                backorder_id: id,
                code_id: code.id,
                code: code.code,
                value,
            });
        }
        if dry && store::incentives::mark_dry(&mut tx, now).await? {
            let (_, issued) = store::incentives::pool_counts(&mut tx).await?;
            tracing::warn!(issued, "the discount-code pool is empty");
            if let Some(channel) = app.settings.discord.alert_channel_id {
                let line = format!(
                    "Discount codes: the pool is empty ({issued} issued). Customer messages that earn a code go out without one until `backorder-bot import discount-codes FILE.csv` adds more."
                );
                crate::app::posts::enqueue(&mut tx, channel, &line).await?;
            }
        }
        tx.commit().await?;
        Ok(offers)
    }
}

fn carried(f: &Facts) -> Option<Offer> {
    let value = CodeValue::from_stored(f.kind?, f.percent)?;
    Some(Offer {
        backorder_id: f.backorder_id,
        code_id: f.code_id?,
        code: f.code.clone()?,
        value,
    })
}

/// A code issued to a backorder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedCode {
    pub backorder_id: BackorderId,
    pub sku: String,
    /// As imported (outside text: escape it where it is shown).
    pub code: String,
    pub value: CodeValue,
    pub issued_at: DateTime<Utc>,
    /// The first message carrying it that reached the provider, and when; `None` while no
    /// message carrying it has.
    pub told: Option<(MessageId, DateTime<Utc>)>,
}

pub(super) fn issued(r: store::incentives::IssuedRow) -> Option<IssuedCode> {
    Some(IssuedCode {
        value: CodeValue::from_stored(r.kind, r.percent)?,
        backorder_id: r.backorder_id,
        sku: r.sku,
        code: r.code,
        issued_at: r.issued_at,
        told: r.message_id.zip(r.told_at),
    })
}

/// The codes issued to a customer's backorders, newest first (`/customer`).
pub async fn for_customer(app: &App, customer_id: CustomerId) -> AppResult<Vec<IssuedCode>> {
    let mut conn = app.store.reader().await?;
    let rows = store::incentives::issued_to_customer(&mut conn, customer_id).await?;
    Ok(rows.into_iter().filter_map(issued).collect())
}

/// Codes in the pool: (free, issued).
pub async fn pool(app: &App) -> AppResult<(i64, i64)> {
    let mut conn = app.store.reader().await?;
    Ok(store::incentives::pool_counts(&mut conn).await?)
}
