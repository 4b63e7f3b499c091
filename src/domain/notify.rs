//! Customer updates: what to send, to whom, by which channel, when, and how long an SMS is.
//!
//! Pure rules; the dispatcher feeds them the queued updates and a customer's details and acts on
//! the answer.

use super::customer::Channel;
use super::{BackorderId, EmailAddress, OutboxId, ParseError, PhoneNumber};
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use std::collections::BTreeMap;

/// What happened to a backorder that the customer should hear about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum UpdateKind {
    /// It is on backorder, expected then (the first message about a backorder).
    Backordered,
    /// Its promised date moved.
    EtaChanged,
    /// Stock was set aside: it is on its way.
    Allocated,
    /// It was cancelled.
    Cancelled,
    /// The customer took an in-stock alternative on their page: a confirmation.
    Switched,
    /// The customer chose to keep waiting on their page: a confirmation.
    KeptWaiting,
}

impl UpdateKind {
    /// Every kind.
    pub const ALL: [UpdateKind; 6] = [
        UpdateKind::Backordered,
        UpdateKind::EtaChanged,
        UpdateKind::Allocated,
        UpdateKind::Cancelled,
        UpdateKind::Switched,
        UpdateKind::KeptWaiting,
    ];

    /// A confirmation of what the customer chose: sent whatever they were told before.
    pub fn is_confirmation(self) -> bool {
        matches!(self, UpdateKind::Switched | UpdateKind::KeptWaiting)
    }

    /// Stored spelling (the outbox `kind`, the template name).
    pub fn as_str(self) -> &'static str {
        match self {
            UpdateKind::Backordered => "backordered",
            UpdateKind::EtaChanged => "eta_changed",
            UpdateKind::Allocated => "allocated",
            UpdateKind::Cancelled => "cancelled",
            UpdateKind::Switched => "switched",
            UpdateKind::KeptWaiting => "kept_waiting",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        match raw {
            "backordered" => Ok(UpdateKind::Backordered),
            "eta_changed" => Ok(UpdateKind::EtaChanged),
            "allocated" => Ok(UpdateKind::Allocated),
            "cancelled" => Ok(UpdateKind::Cancelled),
            "switched" => Ok(UpdateKind::Switched),
            "kept_waiting" => Ok(UpdateKind::KeptWaiting),
            other => Err(ParseError::new(format!(
                "\"{other}\" is not an update kind"
            ))),
        }
    }
}

impl std::fmt::Display for UpdateKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How a message left: the SMS provider, the mail server, or the log (no transport configured).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    Twilio,
    Smtp,
    Log,
}

impl Transport {
    /// Every transport.
    pub const ALL: [Transport; 3] = [Transport::Twilio, Transport::Smtp, Transport::Log];

    /// Stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Twilio => "twilio",
            Transport::Smtp => "smtp",
            Transport::Log => "log",
        }
    }
}

impl std::fmt::Display for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A sent message's last known state: the provider's word (Twilio's message statuses; the mail
/// server only ever says `sent`), or `logged` for the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageStatus {
    Accepted,
    Scheduled,
    Queued,
    Sending,
    Sent,
    Delivered,
    Undelivered,
    Failed,
    Receiving,
    Received,
    Read,
    PartiallyDelivered,
    Canceled,
    Logged,
}

impl MessageStatus {
    /// Every status.
    pub const ALL: [MessageStatus; 14] = [
        MessageStatus::Accepted,
        MessageStatus::Scheduled,
        MessageStatus::Queued,
        MessageStatus::Sending,
        MessageStatus::Sent,
        MessageStatus::Delivered,
        MessageStatus::Undelivered,
        MessageStatus::Failed,
        MessageStatus::Receiving,
        MessageStatus::Received,
        MessageStatus::Read,
        MessageStatus::PartiallyDelivered,
        MessageStatus::Canceled,
        MessageStatus::Logged,
    ];

    /// Stored spelling (the provider's).
    pub fn as_str(self) -> &'static str {
        match self {
            MessageStatus::Accepted => "accepted",
            MessageStatus::Scheduled => "scheduled",
            MessageStatus::Queued => "queued",
            MessageStatus::Sending => "sending",
            MessageStatus::Sent => "sent",
            MessageStatus::Delivered => "delivered",
            MessageStatus::Undelivered => "undelivered",
            MessageStatus::Failed => "failed",
            MessageStatus::Receiving => "receiving",
            MessageStatus::Received => "received",
            MessageStatus::Read => "read",
            MessageStatus::PartiallyDelivered => "partially_delivered",
            MessageStatus::Canceled => "canceled",
            MessageStatus::Logged => "logged",
        }
    }

    /// Reads a provider's status word.
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == raw)
            .ok_or_else(|| ParseError::new(format!("\"{raw}\" is not a message status")))
    }
}

impl std::fmt::Display for MessageStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a customer's text was taken as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InboundKind {
    /// STOP and friends.
    OptOut,
    /// START and friends.
    OptIn,
    /// HELP, INFO.
    Help,
    /// Anything else.
    Inquiry,
}

impl InboundKind {
    /// Every kind.
    pub const ALL: [InboundKind; 4] = [
        InboundKind::OptOut,
        InboundKind::OptIn,
        InboundKind::Help,
        InboundKind::Inquiry,
    ];

    /// Stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            InboundKind::OptOut => "opt_out",
            InboundKind::OptIn => "opt_in",
            InboundKind::Help => "help",
            InboundKind::Inquiry => "inquiry",
        }
    }
}

/// What a customer can be told about a backorder: where it stands now, or what a message told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// Waiting for stock, expected on this date (`None`: not yet known).
    Expected(Option<NaiveDate>),
    /// Stock is set aside (or it has shipped): on its way.
    OnItsWay,
    /// Cancelled.
    Cancelled,
}

impl Standing {
    /// What a message of `kind` telling `eta` said.
    pub fn told(kind: UpdateKind, eta: Option<NaiveDate>) -> Self {
        match kind {
            UpdateKind::Backordered | UpdateKind::EtaChanged | UpdateKind::KeptWaiting => {
                Standing::Expected(eta)
            }
            UpdateKind::Allocated => Standing::OnItsWay,
            UpdateKind::Cancelled | UpdateKind::Switched => Standing::Cancelled,
        }
    }

    /// The date a message states (only while waiting).
    pub fn eta(self) -> Option<NaiveDate> {
        match self {
            Standing::Expected(d) => d,
            _ => None,
        }
    }
}

/// One queued update (an outbox row), as the rules need it. It only says that something
/// happened to the backorder: what the customer is told is where the backorder stands when the
/// message is written, never a date the update carried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Update {
    /// Outbox row.
    pub outbox_id: OutboxId,
    /// The backorder it is about.
    pub backorder_id: BackorderId,
    /// What happened.
    pub kind: UpdateKind,
    /// Product name.
    pub product: String,
    /// Units.
    pub qty: i64,
}

/// What one backorder's customer is told after coalescing its pending updates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct News {
    /// The backorder.
    pub backorder_id: BackorderId,
    /// What the message says.
    pub kind: UpdateKind,
    /// Product name.
    pub product: String,
    /// Units.
    pub qty: i64,
    /// The date to tell (backordered, ETA changes): the promise as it stands.
    pub eta: Option<NaiveDate>,
    /// The outbox rows this news answers.
    pub outbox_ids: Vec<OutboxId>,
}

/// The outcome of coalescing: news to send, and outbox rows that need no message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Coalesced {
    /// One per backorder with something worth saying.
    pub news: Vec<News>,
    /// Rows whose change is too small to tell (a date moved less than the minimum).
    pub silent: Vec<OutboxId>,
    /// Rows made pointless by what the customer was already told: the backorder stands where the
    /// last message left it (a newer update was delivered first, or the date came back).
    pub superseded: Vec<OutboxId>,
}

/// Merges every pending update of each backorder into at most one piece of news about where it
/// stands now (`standing`; a backorder without one is passed over).
///
/// The news is measured against what the customer was last told (`last_told`): nothing new is
/// superseded; a date moving less than `min_shift_days` is silent; a date appearing or
/// disappearing is always news. A backorder its customer was never told about is `Backordered`
/// while it waits, whatever its updates say.
pub fn coalesce(
    updates: &[Update],
    standing: &dyn Fn(BackorderId) -> Option<Standing>,
    last_told: &dyn Fn(BackorderId) -> Option<Standing>,
    min_shift_days: i64,
) -> Coalesced {
    let mut by_backorder: BTreeMap<BackorderId, Vec<&Update>> = BTreeMap::new();
    for u in updates {
        by_backorder.entry(u.backorder_id).or_default().push(u);
    }
    let mut out = Coalesced::default();
    for (backorder_id, mut ups) in by_backorder {
        ups.sort_by_key(|u| u.outbox_id);
        let ids: Vec<OutboxId> = ups.iter().map(|u| u.outbox_id).collect();
        let last = ups[ups.len() - 1];
        let Some(now) = standing(backorder_id) else {
            out.silent.extend(ids);
            continue;
        };
        if last.kind.is_confirmation() {
            // What the customer just chose is confirmed even when the promise did not move.
            out.news.push(News {
                backorder_id,
                kind: last.kind,
                product: last.product.clone(),
                qty: last.qty,
                eta: now.eta(),
                outbox_ids: ids,
            });
            continue;
        }
        let told = last_told(backorder_id);
        if told == Some(now) {
            out.superseded.extend(ids);
            continue;
        }
        let kind = match (now, told) {
            (Standing::Cancelled, _) => UpdateKind::Cancelled,
            (Standing::OnItsWay, _) => UpdateKind::Allocated,
            (Standing::Expected(_), None) => UpdateKind::Backordered,
            (Standing::Expected(d), Some(Standing::Expected(t))) => {
                if !eta_shift_is_news(t, d, min_shift_days) {
                    out.silent.extend(ids);
                    continue;
                }
                UpdateKind::EtaChanged
            }
            (Standing::Expected(_), Some(_)) => UpdateKind::EtaChanged,
        };
        out.news.push(News {
            backorder_id,
            kind,
            product: last.product.clone(),
            qty: last.qty,
            eta: now.eta(),
            outbox_ids: ids,
        });
    }
    out
}

/// Whether moving a promise from `told` to `now` is worth a message.
pub fn eta_shift_is_news(told: Option<NaiveDate>, now: Option<NaiveDate>, min_days: i64) -> bool {
    match (told, now) {
        (Some(a), Some(b)) => (b - a).num_days().abs() >= min_days.max(1),
        (None, None) => false,
        _ => true,
    }
}

/// Groups one customer's news into messages: one per kind, backorders in id order.
pub fn group_by_kind(news: Vec<News>) -> Vec<(UpdateKind, Vec<News>)> {
    let mut groups: BTreeMap<UpdateKind, Vec<News>> = BTreeMap::new();
    for n in news {
        groups.entry(n.kind).or_default().push(n);
    }
    groups
        .into_iter()
        .map(|(k, mut v)| {
            v.sort_by_key(|n| n.backorder_id);
            (k, v)
        })
        .collect()
}

/// A customer's contact details and preferences, as stored.
#[derive(Debug, Clone, Default)]
pub struct Recipient {
    /// Preferred channel.
    pub channel: Channel,
    /// E.164 phone.
    pub phone: Option<String>,
    /// E-mail.
    pub email: Option<String>,
    /// Opted out of SMS.
    pub sms_opt_out: bool,
    /// Opted out of e-mail.
    pub email_opt_out: bool,
    /// The phone number was refused by the provider as invalid or not mobile.
    pub phone_flagged: bool,
}

/// Where a message goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// A text message.
    Sms(PhoneNumber),
    /// An e-mail.
    Email(EmailAddress),
    /// Not sent, and why.
    Skip(&'static str),
}

/// The customer's channel and opt-outs decide the route; there is no fallback to another channel
/// (a customer who chose SMS and opted out does not want e-mail instead).
pub fn route(r: &Recipient) -> Route {
    match r.channel {
        Channel::Sms if r.sms_opt_out => Route::Skip("opted out of SMS"),
        Channel::Sms if r.phone_flagged => Route::Skip("phone number flagged"),
        Channel::Sms => match r.phone.as_deref().map(PhoneNumber::parse) {
            Some(Ok(p)) => Route::Sms(p),
            _ => Route::Skip("no valid phone number"),
        },
        Channel::Email if r.email_opt_out => Route::Skip("opted out of e-mail"),
        Channel::Email => match r.email.as_deref().map(EmailAddress::parse) {
            Some(Ok(e)) => Route::Email(e),
            _ => Route::Skip("no valid e-mail address"),
        },
        Channel::None => Route::Skip("channel is none"),
    }
}

/// The customer's time zone; an unknown name falls back to UTC.
pub fn timezone(name: &str) -> Tz {
    name.trim().parse().unwrap_or(Tz::UTC)
}

/// A daily window in local time when no SMS goes out (`21:00-08:00`; may span midnight).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuietHours {
    /// Local time the window opens.
    pub start: NaiveTime,
    /// Local time it closes.
    pub end: NaiveTime,
}

impl QuietHours {
    /// Parses `HH:MM-HH:MM`; an empty string turns quiet hours off.
    pub fn parse(raw: &str) -> Result<Option<Self>, ParseError> {
        let s = raw.trim();
        if s.is_empty() {
            return Ok(None);
        }
        let bad = || {
            ParseError::new(format!(
                "\"{s}\" is not a window like 21:00-08:00 (or \"\")"
            ))
        };
        let (a, b) = s.split_once('-').ok_or_else(bad)?;
        let t = |x: &str| NaiveTime::parse_from_str(x.trim(), "%H:%M").map_err(|_| bad());
        let (start, end) = (t(a)?, t(b)?);
        if start == end {
            return Err(bad());
        }
        Ok(Some(Self { start, end }))
    }

    fn contains(&self, t: NaiveTime) -> bool {
        if self.start < self.end {
            self.start <= t && t < self.end
        } else {
            t >= self.start || t < self.end
        }
    }

    /// When a message due at `at` may go out in time zone `tz`: `None` if it may go now, else the
    /// end of the current quiet window.
    pub fn release(&self, at: DateTime<Utc>, tz: Tz) -> Option<DateTime<Utc>> {
        let local = at.with_timezone(&tz);
        let t = local.time();
        if !self.contains(t) {
            return None;
        }
        let day = if t < self.end {
            local.date_naive()
        } else {
            local.date_naive() + Duration::days(1)
        };
        let mut wall = day.and_time(self.end);
        // A window ending inside a DST gap ends at the first wall time that exists.
        for _ in 0..4 {
            if let Some(t) = tz.from_local_datetime(&wall).earliest() {
                return Some(t.with_timezone(&Utc));
            }
            wall += Duration::minutes(30);
        }
        Some(at + Duration::hours(1))
    }
}

/// A date as customers read it: `Wed 17 Feb`.
pub fn date_in_words(d: NaiveDate) -> String {
    d.format("%a %-d %b").to_string()
}

/// How an SMS body is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmsEncoding {
    /// The GSM 03.38 alphabet: 160 characters, 153 per part.
    Gsm7,
    /// Anything else: 70 UTF-16 units, 67 per part.
    Ucs2,
}

const GSM7_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
const GSM7_EXTENSION: &str = "^{}\\[~]|€\u{0c}";

/// Encoding and number of segments of an SMS body.
pub fn sms_segments(body: &str) -> (SmsEncoding, u32) {
    let mut septets = 0usize;
    for c in body.chars() {
        if GSM7_BASIC.contains(c) {
            septets += 1;
        } else if GSM7_EXTENSION.contains(c) {
            septets += 2;
        } else {
            let units = body.encode_utf16().count();
            return (SmsEncoding::Ucs2, parts(units, 70, 67));
        }
    }
    (SmsEncoding::Gsm7, parts(septets, 160, 153))
}

fn parts(units: usize, single: usize, per_part: usize) -> u32 {
    if units <= single {
        1
    } else {
        units.div_ceil(per_part) as u32
    }
}

/// Renders an SMS with the item names, shortening the longest names until the body fits in
/// `max_segments`. Only names are shortened (the template keeps every date); if even the
/// shortest names do not fit, that shortest body is returned.
pub fn fit_sms(
    names: &[String],
    max_segments: u32,
    render: &dyn Fn(&[String]) -> String,
) -> String {
    let full = render(names);
    if sms_segments(&full).1 <= max_segments {
        return full;
    }
    let longest = names.iter().map(|n| n.chars().count()).max().unwrap_or(0);
    let mut best = full;
    for limit in (4..longest).rev() {
        let short: Vec<String> = names.iter().map(|n| shorten(n, limit)).collect();
        best = render(&short);
        if sms_segments(&best).1 <= max_segments {
            break;
        }
    }
    best
}

/// Cuts a name to `limit` characters, ending in `..` when cut.
pub fn shorten(name: &str, limit: usize) -> String {
    if name.chars().count() <= limit {
        return name.to_string();
    }
    let kept: String = name.chars().take(limit.saturating_sub(2).max(1)).collect();
    format!("{}..", kept.trim_end())
}

/// A reply keyword of the SMS conventions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keyword {
    /// Stop sending texts.
    OptOut,
    /// Start again.
    OptIn,
    /// Asks for help; no change.
    Help,
}

/// Recognises a single-word keyword (any case, trimmed); other text is not a keyword.
pub fn keyword(body: &str) -> Option<Keyword> {
    match body.trim().to_ascii_uppercase().as_str() {
        "STOP" | "STOPALL" | "UNSUBSCRIBE" | "END" | "QUIT" | "CANCEL" | "REVOKE" | "OPTOUT" => {
            Some(Keyword::OptOut)
        }
        "START" | "YES" | "UNSTOP" => Some(Keyword::OptIn),
        "HELP" | "INFO" => Some(Keyword::Help),
        _ => None,
    }
}

/// How one attempt to send a message ended, as far as retrying goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    /// Handed over.
    Sent,
    /// Not handed over because a promise it states changed; written again without counting.
    Stale,
    /// A passing failure.
    Retryable,
    /// A failure no retry can mend (refused, opted out, flagged number).
    Final,
}

/// What becomes of a message's updates after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settle {
    /// Done: sent.
    Sent,
    /// Back to the queue at once, to be written again.
    Stale,
    /// Due again after [`backoff`].
    Retry,
    /// Given up: dead letter.
    DeadLetter,
}

/// The retry versus dead-letter rule: a passing failure is retried while fewer than
/// `max_attempts` attempts (this one included) were made.
pub fn settle(attempt: Attempt, attempts: u32, max_attempts: u32) -> Settle {
    match attempt {
        Attempt::Sent => Settle::Sent,
        Attempt::Stale => Settle::Stale,
        Attempt::Retryable if attempts < max_attempts => Settle::Retry,
        Attempt::Retryable | Attempt::Final => Settle::DeadLetter,
    }
}

/// How long to wait before attempt `attempt + 1` after `attempt` failed (1-based): exponential
/// from 2 s, capped at 10 minutes, scaled by `jitter` in [0.5, 1.0]; a server's `Retry-After` is
/// a floor.
pub fn backoff(
    attempt: u32,
    retry_after: Option<std::time::Duration>,
    jitter: f64,
) -> std::time::Duration {
    let exp = 2u64.saturating_pow(attempt.clamp(1, 20)).min(600);
    let base = std::time::Duration::from_secs(exp).mul_f64(jitter.clamp(0.5, 1.0));
    match retry_after {
        Some(r) if r > base => r,
        _ => base,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn outbox_ids(raw: &[i64]) -> Vec<OutboxId> {
        raw.iter().copied().map(OutboxId).collect()
    }

    fn up(id: i64, bo: i64) -> Update {
        Update {
            outbox_id: OutboxId(id),
            backorder_id: BackorderId(bo),
            kind: UpdateKind::EtaChanged,
            product: "Wireless Mouse".into(),
            qty: 1,
        }
    }

    fn never_told(_: BackorderId) -> Option<Standing> {
        None
    }

    fn expected(s: &str) -> Standing {
        Standing::Expected(Some(d(s)))
    }

    #[test]
    fn updates_of_one_backorder_merge_into_the_promise_as_it_stands() {
        let now = |_| Some(expected("2027-02-17"));
        let told = |_| Some(expected("2027-02-10"));
        let c = coalesce(&[up(1, 7), up(2, 7)], &now, &told, 1);
        assert_eq!(c.news.len(), 1);
        assert_eq!(c.news[0].kind, UpdateKind::EtaChanged);
        assert_eq!(c.news[0].eta, Some(d("2027-02-17")));
        assert_eq!(c.news[0].outbox_ids, outbox_ids(&[1, 2]));
        assert!(c.silent.is_empty() && c.superseded.is_empty());
    }

    #[test]
    fn a_customers_choice_is_confirmed_even_when_the_promise_did_not_move() {
        let now = |_| Some(expected("2027-02-17"));
        let told = |_| Some(expected("2027-02-17"));
        let wait = Update {
            kind: UpdateKind::KeptWaiting,
            ..up(2, 7)
        };
        let c = coalesce(&[up(1, 7), wait], &now, &told, 1);
        assert_eq!(c.news.len(), 1, "{c:?}");
        assert_eq!(c.news[0].kind, UpdateKind::KeptWaiting);
        assert_eq!(c.news[0].eta, Some(d("2027-02-17")));
        assert_eq!(c.news[0].outbox_ids, outbox_ids(&[1, 2]));
        // Without the choice the same update is superseded.
        let c = coalesce(&[up(1, 7)], &now, &told, 1);
        assert!(c.news.is_empty() && c.superseded == outbox_ids(&[1]));
        let closed = |_| Some(Standing::Cancelled);
        let switched = Update {
            kind: UpdateKind::Switched,
            ..up(3, 7)
        };
        let c = coalesce(&[switched], &closed, &never_told, 1);
        assert_eq!(c.news[0].kind, UpdateKind::Switched);
        assert_eq!(
            Standing::told(UpdateKind::Switched, None),
            Standing::Cancelled
        );
    }

    #[test]
    fn the_first_news_about_a_backorder_says_it_is_backordered() {
        let now = |_| Some(expected("2027-02-10"));
        let c = coalesce(&[up(1, 7)], &now, &never_told, 1);
        assert_eq!(c.news[0].kind, UpdateKind::Backordered);
        assert_eq!(c.news[0].eta, Some(d("2027-02-10")));
        // Still the first news when its date moves before anything was sent.
        let unknown = |_| Some(Standing::Expected(None));
        let c = coalesce(&[up(1, 7), up(2, 7)], &unknown, &never_told, 1);
        assert_eq!(c.news[0].kind, UpdateKind::Backordered);
        assert_eq!(c.news[0].eta, None);
    }

    #[test]
    fn an_update_whose_promise_was_already_told_is_superseded() {
        // The retry of an old update after the newer date went out: nothing new to say.
        let now = |_| Some(expected("2027-02-17"));
        let c = coalesce(&[up(1, 7)], &now, &now, 1);
        assert!(c.news.is_empty());
        assert_eq!(c.superseded, outbox_ids(&[1]));
        // A date that comes back to what was told.
        let c = coalesce(&[up(2, 7), up(3, 7)], &now, &now, 1);
        assert_eq!(c.superseded, outbox_ids(&[2, 3]));
        let gone = |_| Some(Standing::Cancelled);
        let c = coalesce(&[up(4, 7)], &gone, &gone, 1);
        assert_eq!(c.superseded, outbox_ids(&[4]));
    }

    #[test]
    fn shifts_below_the_minimum_are_not_news() {
        let told = |_| Some(expected("2027-02-10"));
        let c = coalesce(&[up(1, 7)], &|_| Some(expected("2027-02-12")), &told, 3);
        assert!(c.news.is_empty());
        assert_eq!(c.silent, outbox_ids(&[1]));
        let c = coalesce(&[up(1, 7)], &|_| Some(expected("2027-02-13")), &told, 3);
        assert_eq!(c.news.len(), 1);
        assert!(eta_shift_is_news(None, Some(d("2027-02-10")), 5));
        assert!(eta_shift_is_news(Some(d("2027-02-10")), None, 5));
    }

    #[test]
    fn where_the_backorder_stands_decides_the_kind_not_the_updates() {
        let told = |_| Some(expected("2027-02-10"));
        let mut cancel = up(3, 7);
        cancel.kind = UpdateKind::Cancelled;
        let c = coalesce(
            &[up(1, 7), up(2, 7), cancel],
            &|_| Some(Standing::Cancelled),
            &told,
            1,
        );
        assert_eq!(c.news[0].kind, UpdateKind::Cancelled);
        assert_eq!(c.news[0].eta, None);
        assert_eq!(c.news[0].outbox_ids, outbox_ids(&[1, 2, 3]));
        // Allocated after its date updates were queued: on its way, no date.
        let c = coalesce(&[up(1, 7)], &|_| Some(Standing::OnItsWay), &told, 1);
        assert_eq!(c.news[0].kind, UpdateKind::Allocated);
        assert_eq!(c.news[0].eta, None);
        // A backorder that is gone is passed over.
        let c = coalesce(&[up(1, 7)], &|_| None, &told, 1);
        assert_eq!(c.silent, outbox_ids(&[1]));
    }

    #[test]
    fn several_backorders_of_one_customer_become_one_message_per_kind() {
        let told = |_| Some(expected("2027-02-10"));
        let c = coalesce(
            &[up(1, 8), up(2, 7)],
            &|b| {
                Some(expected(if b == BackorderId(7) {
                    "2027-02-15"
                } else {
                    "2027-02-14"
                }))
            },
            &told,
            1,
        );
        let groups = group_by_kind(c.news);
        assert_eq!(groups.len(), 1);
        assert_eq!(
            groups[0]
                .1
                .iter()
                .map(|n| n.backorder_id)
                .collect::<Vec<_>>(),
            vec![BackorderId(7), BackorderId(8)]
        );
    }

    #[test]
    fn route_follows_channel_and_opt_outs() {
        let mut r = Recipient {
            channel: Channel::Sms,
            phone: Some("+4915112345678".into()),
            email: Some("jane@example.com".into()),
            ..Default::default()
        };
        assert!(matches!(route(&r), Route::Sms(_)));
        r.sms_opt_out = true;
        assert_eq!(route(&r), Route::Skip("opted out of SMS"));
        r.channel = Channel::Email;
        assert!(matches!(route(&r), Route::Email(_)));
        r.email_opt_out = true;
        assert!(matches!(route(&r), Route::Skip(_)));
        r.channel = Channel::None;
        assert_eq!(route(&r), Route::Skip("channel is none"));
        let flagged = Recipient {
            channel: Channel::Sms,
            phone: Some("+4915112345678".into()),
            phone_flagged: true,
            ..Default::default()
        };
        assert!(matches!(route(&flagged), Route::Skip(_)));
    }

    #[test]
    fn quiet_hours_hold_until_morning_in_the_customers_zone() {
        let q = QuietHours::parse("21:00-08:00").unwrap().unwrap();
        let berlin = timezone("Europe/Berlin");
        // 22:30 UTC on 26 Nov is 23:30 in Berlin: held until 08:00 Berlin = 07:00 UTC.
        let at = Utc.with_ymd_and_hms(2026, 11, 26, 22, 30, 0).unwrap();
        assert_eq!(
            q.release(at, berlin),
            Some(Utc.with_ymd_and_hms(2026, 11, 27, 7, 0, 0).unwrap())
        );
        // 06:00 UTC is 07:00 Berlin: held until 08:00 the same day.
        let at = Utc.with_ymd_and_hms(2026, 11, 27, 6, 0, 0).unwrap();
        assert_eq!(
            q.release(at, berlin),
            Some(Utc.with_ymd_and_hms(2026, 11, 27, 7, 0, 0).unwrap())
        );
        // Noon is fine.
        let at = Utc.with_ymd_and_hms(2026, 11, 27, 12, 0, 0).unwrap();
        assert_eq!(q.release(at, berlin), None);
        // The same instant is daytime in Sydney's evening? 12:00 UTC = 23:00 Sydney: quiet.
        assert!(q.release(at, timezone("Australia/Sydney")).is_some());
        assert_eq!(QuietHours::parse("").unwrap(), None);
        assert!(QuietHours::parse("9pm-8am").is_err());
        let day = QuietHours::parse("12:00-13:00").unwrap().unwrap();
        assert!(day.release(at, Tz::UTC).is_some());
    }

    #[test]
    fn dates_read_in_words() {
        assert_eq!(date_in_words(d("2027-02-17")), "Wed 17 Feb");
        assert_eq!(date_in_words(d("2026-12-01")), "Tue 1 Dec");
    }

    #[test]
    fn segments_count_gsm7_and_ucs2() {
        assert_eq!(sms_segments(&"a".repeat(160)), (SmsEncoding::Gsm7, 1));
        assert_eq!(sms_segments(&"a".repeat(161)), (SmsEncoding::Gsm7, 2));
        assert_eq!(sms_segments(&"a".repeat(306)), (SmsEncoding::Gsm7, 2));
        assert_eq!(sms_segments(&"a".repeat(307)), (SmsEncoding::Gsm7, 3));
        // Extension characters take two septets.
        assert_eq!(sms_segments(&"€".repeat(80)), (SmsEncoding::Gsm7, 1));
        assert_eq!(sms_segments(&"€".repeat(81)), (SmsEncoding::Gsm7, 2));
        // One character outside the alphabet switches the whole body.
        let body = format!("{}ł", "a".repeat(69));
        assert_eq!(sms_segments(&body), (SmsEncoding::Ucs2, 1));
        let body = format!("{}ł", "a".repeat(70));
        assert_eq!(sms_segments(&body), (SmsEncoding::Ucs2, 2));
        assert_eq!(sms_segments(&"ł".repeat(134)), (SmsEncoding::Ucs2, 2));
        assert_eq!(sms_segments(&"ł".repeat(135)), (SmsEncoding::Ucs2, 3));
    }

    fn render(names: &[String]) -> String {
        let items: Vec<String> = names
            .iter()
            .map(|n| format!("{n}: now expected Wed 17 Feb"))
            .collect();
        format!("Demo Shop: {}. Reply STOP to opt out.", items.join("; "))
    }

    #[test]
    fn long_names_are_shortened_to_fit_but_dates_stay() {
        let names =
            vec!["Extremely Long Ergonomic Wireless Mouse With Many Buttons".to_string(); 5];
        assert!(sms_segments(&render(&names)).1 > 2);
        let body = fit_sms(&names, 2, &render);
        assert!(sms_segments(&body).1 <= 2, "{body}");
        assert_eq!(body.matches("Wed 17 Feb").count(), 5);
        assert!(body.contains("Extremely"));
    }

    #[test]
    fn keywords_are_single_words_in_any_case() {
        assert_eq!(keyword(" stop "), Some(Keyword::OptOut));
        assert_eq!(keyword("Unstop"), Some(Keyword::OptIn));
        assert_eq!(keyword("info"), Some(Keyword::Help));
        assert_eq!(keyword("stop it"), None);
        assert_eq!(keyword("when will it come?"), None);
    }

    #[test]
    fn a_passing_failure_is_retried_until_the_last_attempt_then_dead_lettered() {
        assert_eq!(settle(Attempt::Retryable, 1, 3), Settle::Retry);
        assert_eq!(settle(Attempt::Retryable, 2, 3), Settle::Retry);
        assert_eq!(settle(Attempt::Retryable, 3, 3), Settle::DeadLetter);
        assert_eq!(settle(Attempt::Final, 1, 3), Settle::DeadLetter);
        assert_eq!(settle(Attempt::Sent, 9, 3), Settle::Sent);
        assert_eq!(settle(Attempt::Stale, 9, 3), Settle::Stale);
    }

    #[test]
    fn backoff_grows_is_capped_and_honours_retry_after() {
        use std::time::Duration as D;
        assert_eq!(backoff(1, None, 1.0), D::from_secs(2));
        assert_eq!(backoff(3, None, 1.0), D::from_secs(8));
        assert_eq!(backoff(30, None, 1.0), D::from_secs(600));
        assert_eq!(backoff(3, None, 0.5), D::from_secs(4));
        assert_eq!(backoff(1, Some(D::from_secs(30)), 1.0), D::from_secs(30));
    }

    proptest! {
        #[test]
        fn fitting_never_drops_a_date_and_fits_when_it_can(
            names in proptest::collection::vec("[A-Za-z ]{1,80}", 1..4),
            max in 1u32..4,
        ) {
            let body = fit_sms(&names, max, &render);
            prop_assert_eq!(body.matches("Wed 17 Feb").count(), names.len());
            let shortest: Vec<String> = names.iter().map(|n| shorten(n, 4)).collect();
            if sms_segments(&render(&shortest)).1 <= max {
                prop_assert!(sms_segments(&body).1 <= max);
            }
        }

        #[test]
        fn coalescing_accounts_for_every_row_once_and_tells_only_where_things_stand(
            rows in proptest::collection::vec(0i64..4, 1..20),
            now in proptest::collection::vec(0i64..20, 4),
            told in proptest::collection::vec(proptest::option::of(0i64..20), 4),
        ) {
            let base = d("2027-02-01");
            let ups: Vec<Update> = rows.iter().enumerate().map(|(i, bo)| up(i as i64, *bo)).collect();
            let standing = |b: BackorderId| Some(Standing::Expected(Some(base + Duration::days(now[b.0 as usize]))));
            let last_told = |b: BackorderId| told[b.0 as usize].map(|t| Standing::Expected(Some(base + Duration::days(t))));
            let c = coalesce(&ups, &standing, &last_told, 1);
            let mut seen: Vec<i64> = c.news.iter().flat_map(|n| n.outbox_ids.clone())
                .chain(c.silent.clone()).chain(c.superseded.clone()).map(|id| id.0).collect();
            seen.sort();
            prop_assert_eq!(seen, (0..ups.len() as i64).collect::<Vec<_>>());
            for n in &c.news {
                prop_assert_eq!(Some(Standing::Expected(n.eta)), standing(n.backorder_id));
            }
        }
    }
}
