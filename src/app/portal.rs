//! The customer's own page (`/b/<token>`): the links messages carry, what the page shows, and
//! the choices a customer makes there (switch to an in-stock alternative, cancel, keep waiting)
//! or by replying `1` to an SMS that offered a switch.

use super::backorders::{cancel_in, close_in, Closing};
use super::incentives::IssuedCode;
use super::notify::queue_update;
use super::orders::{place_line, OrderLineInput};
use super::{Actor, App, AppError, AppResult};
use crate::domain::audit::AuditEntry;
use crate::domain::contact::{mask_email, mask_phone};
use crate::domain::markup::data;
use crate::domain::notify::UpdateKind;
use crate::domain::portal::{nonce_from_bytes, CancelReason, Choice, LinkToken, TOKEN_BYTES};
use crate::domain::{BackorderId, BackorderStatus, Channel, CustomerId, EtaKind, Money, ProductId};
use crate::store::portal::{LinkRow, NewAction, NewLink};
use crate::store::{self, audit, Conn};
use chrono::{DateTime, NaiveDate, Utc};
use std::collections::HashMap;

/// Why a page or an action was not served.
#[derive(Debug, thiserror::Error)]
pub enum PortalError {
    /// Not a token, or no link has it: the answer says nothing more.
    #[error("no such page")]
    Unknown,
    /// The link is past its `[portal] link_days`.
    #[error("this link has expired")]
    Expired,
    /// The form token does not belong to this link and form.
    #[error("this form is not valid here")]
    BadForm,
    #[error(transparent)]
    App(#[from] AppError),
}

impl From<anyhow::Error> for PortalError {
    fn from(e: anyhow::Error) -> Self {
        PortalError::App(e.into())
    }
}

/// 16 bytes from the operating system's CSPRNG.
fn random_bytes() -> anyhow::Result<[u8; TOKEN_BYTES]> {
    let mut b = [0u8; TOKEN_BYTES];
    getrandom::fill(&mut b).map_err(|e| anyhow::anyhow!("no random bytes: {e}"))?;
    Ok(b)
}

/// A link made for a message: what goes in the text, and the stored row to tie to the message
/// once it is handed over.
#[derive(Debug, Clone)]
pub struct NewPageLink {
    /// `{base}/b/<token>`.
    pub url: String,
    /// The stored link.
    pub link_id: i64,
}

/// Makes a new link for a message to a customer (a new message brings a new one); with `offer`,
/// an SMS reply `1` switches that backorder to that product.
pub async fn new_link(
    app: &App,
    conn: &mut Conn,
    customer_id: CustomerId,
    channel: Channel,
    offer: Option<(BackorderId, ProductId)>,
) -> anyhow::Result<NewPageLink> {
    let token = LinkToken::from_bytes(random_bytes()?);
    let now = app.clock.now();
    let link_id = store::portal::insert_link(
        conn,
        &NewLink {
            customer_id,
            token_hash: &token.hash(),
            channel,
            created_at: now,
            expires_at: now + chrono::Duration::days(i64::from(app.settings.portal.link_days)),
            offer,
        },
    )
    .await?;
    Ok(NewPageLink {
        url: format!("{}/b/{}", app.settings.http.link_base(), token.as_str()),
        link_id,
    })
}

/// The in-stock product a message to a customer can offer for a reply `1`: the first in-stock
/// alternative of a backorder still open (substitutes first), with enough free to take it whole.
pub async fn offer_for(
    conn: &mut Conn,
    backorder_id: BackorderId,
) -> anyhow::Result<Option<(ProductId, String)>> {
    let Some(b) = store::backorders::by_id(conn, backorder_id).await? else {
        return Ok(None);
    };
    if b.status != BackorderStatus::Open {
        return Ok(None);
    }
    let category = category_of(conn, b.product_id).await?;
    Ok(takers(conn, b.product_id, &category, b.qty)
        .await?
        .into_iter()
        .next()
        .map(|(a, _)| (a.id, a.name)))
}

/// The alternatives that can take a backorder of `qty` of a product whole: in stock with at
/// least `qty` free, its substitutes first (`true`), then products of its category. The page's
/// offers, the SMS offer and the switch all read this one list.
async fn takers(
    conn: &mut Conn,
    product_id: ProductId,
    category: &str,
    qty: i64,
) -> anyhow::Result<Vec<(store::products::Alternative, bool)>> {
    Ok(
        store::products::alternatives_in_stock(conn, product_id, category, ALTERNATIVES)
            .await?
            .into_iter()
            .filter(|(a, _)| a.available >= qty)
            .collect(),
    )
}

async fn category_of(conn: &mut Conn, product_id: ProductId) -> anyhow::Result<String> {
    Ok(store::products::by_id(conn, product_id)
        .await?
        .map(|p| p.category)
        .unwrap_or_default())
}

/// Alternatives the page offers per backorder (substitutes, then as many of the category).
const ALTERNATIVES: i64 = 5;

/// One form on the page: its one-time value and its form token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Form {
    pub nonce: String,
    pub csrf: String,
}

fn form(token: &LinkToken) -> anyhow::Result<Form> {
    let nonce = nonce_from_bytes(random_bytes()?);
    Ok(Form {
        csrf: token.csrf(&nonce),
        nonce,
    })
}

/// An in-stock product a backorder can switch to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offer {
    pub sku: String,
    pub name: String,
    /// Unit price, formatted in the shop's currency.
    pub price: String,
    /// A substitute the shop named (else same category).
    pub substitute: bool,
}

/// How a promise moved once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Moved {
    pub at: DateTime<Utc>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
}

/// One open backorder on the page.
#[derive(Debug, Clone, PartialEq)]
pub struct PageBackorder {
    pub id: BackorderId,
    pub product: String,
    pub qty: i64,
    pub eta: Option<NaiveDate>,
    pub eta_kind: EtaKind,
    /// Oldest first.
    pub history: Vec<Moved>,
    /// The discount code the incentives issued to it, if any.
    pub code: Option<IssuedCode>,
    /// Alternatives with enough free stock to take the whole backorder.
    pub offers: Vec<Offer>,
    pub switch_form: Form,
    pub cancel_form: Form,
    pub wait_form: Form,
}

/// What the customer's page shows.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub shop: String,
    /// The customer's first name.
    pub first_name: String,
    /// Phone and e-mail, masked.
    pub contacts: Vec<String>,
    pub backorders: Vec<PageBackorder>,
    /// The token, for the forms' actions.
    pub token: String,
}

/// Finds the link of a token as typed in a URL: unknown (or not a token at all) and expired are
/// told apart, and nothing else is said.
async fn open_link(
    app: &App,
    conn: &mut Conn,
    raw: &str,
) -> Result<(LinkToken, LinkRow), PortalError> {
    let token = LinkToken::parse(raw).map_err(|_| PortalError::Unknown)?;
    let link = store::portal::link_by_hash(conn, &token.hash())
        .await?
        .ok_or(PortalError::Unknown)?;
    if link.expires_at <= app.clock.now() {
        return Err(PortalError::Expired);
    }
    Ok((token, link))
}

/// `GET /b/<token>`: the customer's open backorders, their promises and how they moved, and
/// the alternatives in stock.
pub async fn page(app: &App, raw_token: &str) -> Result<Page, PortalError> {
    let mut conn = app.store.conn().await?;
    let (token, link) = open_link(app, &mut conn, raw_token).await?;
    let who = store::customers::by_id(&mut conn, link.customer_id)
        .await?
        .ok_or(PortalError::Unknown)?;
    let mut contacts = Vec::new();
    if let Some(p) = &who.phone {
        contacts.push(mask_phone(p));
    }
    if let Some(e) = &who.email {
        contacts.push(mask_email(e));
    }
    let currency = &app.settings.shop.currency;
    let mut backorders = Vec::new();
    // The codes the incentives issued to this customer's backorders (messages carry them too).
    let mut codes: HashMap<BackorderId, IssuedCode> =
        store::incentives::issued_to_customer(&mut conn, link.customer_id)
            .await?
            .into_iter()
            .filter_map(super::incentives::issued)
            .map(|c| (c.backorder_id, c))
            .collect();
    for b in store::portal::open_backorders(&mut conn, link.customer_id).await? {
        let history = store::backorders::eta_history(&mut conn, b.id)
            .await?
            .into_iter()
            .filter(|h| h.old_eta != h.new_eta)
            .map(|h| Moved {
                at: h.created_at,
                from: h.old_eta,
                to: h.new_eta,
            })
            .collect();
        let offers = takers(&mut conn, b.product_id, &b.category, b.qty)
            .await?
            .into_iter()
            .map(|(a, substitute)| Offer {
                price: Money(a.unit_price_minor).format(currency),
                sku: a.sku,
                name: a.name,
                substitute,
            })
            .collect();
        backorders.push(PageBackorder {
            id: b.id,
            product: b.product,
            qty: b.qty,
            eta: b.promised_eta,
            eta_kind: b.eta_kind,
            history,
            code: codes.remove(&b.id),
            offers,
            switch_form: form(&token)?,
            cancel_form: form(&token)?,
            wait_form: form(&token)?,
        });
    }
    Ok(Page {
        shop: app.settings.shop.name.clone(),
        first_name: crate::domain::contact::first_name(&who.name),
        contacts,
        backorders,
        token: token.as_str().to_string(),
    })
}

/// A form posted from the page, as sent: nothing in it is trusted before the link is found.
#[derive(Debug, Clone, Default)]
pub struct Posted<'a> {
    pub nonce: &'a str,
    pub csrf: &'a str,
    pub backorder: &'a str,
    /// `switch`, `cancel` or `wait`.
    pub action: &'a str,
    pub sku: Option<&'a str>,
    pub reason: Option<&'a str>,
}

/// What a choice did, as the customer reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Done now.
    Done(String),
    /// The same form was sent before: what it did then. Nothing was applied again.
    AlreadyDone(String),
    /// Not done: why (sold out, not open any more, not theirs).
    NotDone(String),
}

impl Outcome {
    /// The sentence the customer is told, on the page or in the answer to an SMS reply: a
    /// repeated choice says it was made already.
    pub fn text(&self) -> String {
        match self {
            Outcome::AlreadyDone(t) => format!("You made this choice already: {t}"),
            Outcome::Done(t) | Outcome::NotDone(t) => t.clone(),
        }
    }
}

/// `POST /b/<token>/…`: applies a choice once per form, in one transaction.
pub async fn act(app: &App, raw_token: &str, posted: &Posted<'_>) -> Result<Outcome, PortalError> {
    // The link is looked up before the form token is checked: an unknown or expired link gets
    // the same answer as on a GET, whatever was posted.
    let mut tx = app.store.begin_write().await?;
    let (token, link) = open_link(app, &mut tx, raw_token).await?;
    if crate::domain::portal::parse_nonce(posted.nonce).is_err()
        || !token.csrf_matches(posted.nonce, posted.csrf)
    {
        return Err(PortalError::BadForm);
    }
    let choice = choice(posted.action, posted.sku, posted.reason)?;
    let backorder_id = super::field(
        "backorder",
        posted
            .backorder
            .trim()
            .parse::<BackorderId>()
            .map_err(|_| crate::domain::ParseError::new("is not a backorder number")),
    )?;
    let outcome = act_in(app, &mut tx, &link, posted.nonce, backorder_id, &choice).await?;
    tx.commit().await?;
    if matches!(outcome, Outcome::Done(_)) {
        app.wake_dispatcher();
    }
    Ok(outcome)
}

/// The actor of customers' own choices in the audit log.
pub const ACTOR: &str = "customer page";

/// Applies a choice inside the caller's write transaction; every check comes before the first
/// write, so an outcome other than `Done` has written nothing.
///
/// It is one change for approvals (docs/approvals.md): a switch or cancel that re-promises
/// other customers' backorders is judged like any other, and supersedes held batches it touches.
pub async fn act_in(
    app: &App,
    tx: &mut Conn,
    link: &LinkRow,
    nonce: &str,
    backorder_id: BackorderId,
    choice: &Choice,
) -> AppResult<Outcome> {
    let change = super::approvals::begin(tx).await?;
    let outcome = apply(app, tx, link, nonce, backorder_id, choice).await?;
    if matches!(outcome, Outcome::Done(_)) {
        let what = format!("the customer's choice on backorder {backorder_id}");
        super::approvals::judge(app, tx, change, ACTOR, &what).await?;
    }
    Ok(outcome)
}

async fn apply(
    app: &App,
    tx: &mut Conn,
    link: &LinkRow,
    nonce: &str,
    backorder_id: BackorderId,
    choice: &Choice,
) -> AppResult<Outcome> {
    if let Some(before) = store::portal::action_outcome(tx, link.id, nonce).await? {
        return Ok(Outcome::AlreadyDone(before));
    }
    let target = store::backorders::by_id(tx, backorder_id).await?;
    // Another customer's backorder reads exactly like one that does not exist.
    let Some(target) = target.filter(|b| b.customer_id == link.customer_id) else {
        return Ok(Outcome::NotDone(
            "This backorder is not one of yours.".to_string(),
        ));
    };
    if target.status != BackorderStatus::Open {
        return Ok(Outcome::NotDone(format!(
            "This backorder is no longer open (it is {}).",
            target.status
        )));
    }
    let now = app.clock.now();
    let product = store::products::by_id(tx, target.product_id)
        .await?
        .map(|p| p.name)
        .unwrap_or_else(|| target.sku.clone());
    let actor = Actor {
        name: ACTOR.to_string(),
        may_change: true,
    };
    let who = format!(
        "customer {} ({})",
        data(&target.customer_external_id),
        data(&crate::domain::contact::mask_name(&target.customer_name))
    );
    let (text, post) = match choice {
        Choice::Switch(sku) => {
            let category = category_of(tx, target.product_id).await?;
            let alt = takers(tx, target.product_id, &category, target.qty)
                .await?
                .into_iter()
                .map(|(a, _)| a)
                .find(|a| a.sku.eq_ignore_ascii_case(sku.trim()));
            let Some(alt) = alt else {
                return Ok(Outcome::NotDone(format!(
                    "Sorry, {} just sold out. Your backorder is unchanged.",
                    if sku.trim().is_empty() {
                        "that alternative"
                    } else {
                        sku.trim()
                    }
                )));
            };
            let placed = place_line(
                app,
                tx,
                &target.order_number,
                target.customer_id,
                target.ordered_at,
                &OrderLineInput {
                    product_id: alt.id,
                    sku: alt.sku.clone(),
                    qty: target.qty,
                    unit_price_minor: alt.unit_price_minor,
                },
            )
            .await?;
            if placed.unchanged || placed.backordered > 0 {
                // Free stock was read in this transaction, so only an existing line of the
                // same product on the order gets here.
                return Err(AppError::Refused(format!(
                    "order {} already has {}",
                    target.order_number, alt.sku
                )));
            }
            store::portal::mark_switched(tx, target.id, placed.line_id).await?;
            let reason = format!("switched to {} by the customer", alt.sku);
            close_in(
                app,
                tx,
                &target,
                &Closing {
                    actor: ACTOR,
                    reason: &reason,
                    update: UpdateKind::Switched,
                    product: &product,
                    entry: AuditEntry::ok(
                        ACTOR,
                        "switch_backorder",
                        format!(
                            "backorder {} ({} × {}) to {} × {} reserved",
                            target.id, target.qty, target.sku, target.qty, alt.sku
                        ),
                    ),
                },
            )
            .await?;
            (
                format!(
                    "Done: {} × {} set aside for you instead of {}.",
                    target.qty, alt.name, product
                ),
                format!(
                    "Customer page: {who} switched backorder #{} ({} × {}) to {} ({} reserved).",
                    target.id,
                    target.qty,
                    data(&target.sku),
                    data(&alt.sku),
                    target.qty
                ),
            )
        }
        Choice::Cancel(reason) => {
            cancel_in(app, tx, &actor, target.id, reason.label()).await?;
            (
                format!("Done: your backorder of {product} is cancelled."),
                format!(
                    "Customer page: {who} cancelled backorder #{} ({} × {}): \"{}\".",
                    target.id,
                    target.qty,
                    data(&target.sku),
                    reason.label()
                ),
            )
        }
        Choice::KeepWaiting => {
            queue_update(tx, &target, UpdateKind::KeptWaiting, &product, now).await?;
            audit::record(
                tx,
                &AuditEntry::ok(ACTOR, "keep_waiting", format!("backorder {}", target.id)),
                now,
            )
            .await?;
            (
                format!("Thank you: we keep your backorder of {product}."),
                format!(
                    "Customer page: {who} keeps waiting for backorder #{} ({} × {}).",
                    target.id,
                    target.qty,
                    data(&target.sku)
                ),
            )
        }
    };
    store::portal::record_action(
        tx,
        &NewAction {
            link_id: link.id,
            nonce,
            customer_id: link.customer_id,
            backorder_id: target.id,
            action: choice.action(),
            outcome: &text,
            at: now,
        },
    )
    .await?;
    if let Some(channel) = app.settings.discord.alert_channel_id {
        crate::app::posts::enqueue(tx, channel, &post).await?;
    }
    Ok(Outcome::Done(text))
}

/// The nonce of a reply `1`: once per SMS offer.
pub const SMS_REPLY_NONCE: &str = "sms-reply";

/// A reply `1` from a customer: the switch the last SMS to them offered, if it offered one and
/// its link has not expired. `None`: the last SMS offered nothing.
pub async fn sms_reply_switch(
    app: &App,
    tx: &mut Conn,
    customer_id: CustomerId,
) -> AppResult<Option<Outcome>> {
    let Some(link) = store::portal::last_sms_link(tx, customer_id).await? else {
        return Ok(None);
    };
    let (Some(backorder_id), Some(product_id)) = (link.offer_backorder_id, link.offer_product_id)
    else {
        return Ok(None);
    };
    if link.expires_at <= app.clock.now() {
        return Ok(Some(Outcome::NotDone(
            "That offer has expired.".to_string(),
        )));
    }
    let sku = store::products::by_id(tx, product_id)
        .await?
        .map(|p| p.sku)
        .unwrap_or_default();
    let outcome = act_in(
        app,
        tx,
        &link,
        SMS_REPLY_NONCE,
        backorder_id,
        &Choice::Switch(sku),
    )
    .await?;
    Ok(Some(outcome))
}

/// Reads a choice from a posted form: `choice` is `switch` (with `sku`), `cancel` (with
/// `reason`) or `wait`.
pub fn choice(kind: &str, sku: Option<&str>, reason: Option<&str>) -> AppResult<Choice> {
    match kind {
        "switch" => Ok(Choice::Switch(
            sku.filter(|s| !s.trim().is_empty())
                .ok_or_else(|| AppError::invalid("sku", "choose an alternative"))?
                .to_string(),
        )),
        "cancel" => Ok(Choice::Cancel(super::field(
            "reason",
            CancelReason::parse(reason.unwrap_or("")),
        )?)),
        "wait" => Ok(Choice::KeepWaiting),
        _ => Err(AppError::invalid(
            "action",
            "must be switch, cancel or wait",
        )),
    }
}
