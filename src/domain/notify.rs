//! Customer updates: what to send, to whom, by which channel, when, and how long an SMS is.
//!
//! Pure rules; the dispatcher feeds them the queued updates and a customer's details and acts on
//! the answer.

use super::customer::Channel;
use super::{EmailAddress, ParseError, PhoneNumber};
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use std::collections::BTreeMap;

/// What happened to a backorder that the customer should hear about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum UpdateKind {
    /// Its promised date moved.
    EtaChanged,
    /// Stock was set aside: it is on its way.
    Allocated,
    /// It was cancelled.
    Cancelled,
}

impl UpdateKind {
    /// Every kind.
    pub const ALL: [UpdateKind; 3] = [
        UpdateKind::EtaChanged,
        UpdateKind::Allocated,
        UpdateKind::Cancelled,
    ];

    /// Stored spelling (the outbox `kind`, the template name).
    pub fn as_str(self) -> &'static str {
        match self {
            UpdateKind::EtaChanged => "eta_changed",
            UpdateKind::Allocated => "allocated",
            UpdateKind::Cancelled => "cancelled",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        match raw {
            "eta_changed" => Ok(UpdateKind::EtaChanged),
            "allocated" => Ok(UpdateKind::Allocated),
            "cancelled" => Ok(UpdateKind::Cancelled),
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

/// One queued update (an outbox row), as the rules need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Update {
    /// Outbox row.
    pub outbox_id: i64,
    /// The backorder it is about.
    pub backorder_id: i64,
    /// What happened.
    pub kind: UpdateKind,
    /// Product name.
    pub product: String,
    /// Units.
    pub qty: i64,
    /// Promise before this update (ETA changes).
    pub old_eta: Option<NaiveDate>,
    /// Promise after this update (ETA changes).
    pub new_eta: Option<NaiveDate>,
}

/// What one backorder's customer is told after coalescing its pending updates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct News {
    /// The backorder.
    pub backorder_id: i64,
    /// What the message says.
    pub kind: UpdateKind,
    /// Product name.
    pub product: String,
    /// Units.
    pub qty: i64,
    /// The date to tell (ETA changes): the latest promise.
    pub eta: Option<NaiveDate>,
    /// The outbox rows this news answers.
    pub outbox_ids: Vec<i64>,
}

/// The outcome of coalescing: news to send, and outbox rows that need no message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Coalesced {
    /// One per backorder with something worth saying.
    pub news: Vec<News>,
    /// Rows that merged into nothing (the date came back, or moved too little).
    pub silent: Vec<i64>,
}

/// Merges every pending update of each backorder into at most one piece of news.
///
/// A cancellation wins over everything, then "on its way", then the latest date. A date change is
/// news only when it differs from what the customer was last told (`last_told`; before any
/// message, the promise before the first pending update) by at least `min_shift_days`; a date
/// appearing or disappearing is always news.
pub fn coalesce(
    updates: &[Update],
    last_told: &dyn Fn(i64) -> Option<Option<NaiveDate>>,
    min_shift_days: i64,
) -> Coalesced {
    let mut by_backorder: BTreeMap<i64, Vec<&Update>> = BTreeMap::new();
    for u in updates {
        by_backorder.entry(u.backorder_id).or_default().push(u);
    }
    let mut out = Coalesced::default();
    for (backorder_id, mut ups) in by_backorder {
        ups.sort_by_key(|u| u.outbox_id);
        let ids: Vec<i64> = ups.iter().map(|u| u.outbox_id).collect();
        let last = ups[ups.len() - 1];
        let winner = [UpdateKind::Cancelled, UpdateKind::Allocated]
            .into_iter()
            .find_map(|k| ups.iter().rev().find(|u| u.kind == k).copied());
        if let Some(w) = winner {
            out.news.push(News {
                backorder_id,
                kind: w.kind,
                product: w.product.clone(),
                qty: w.qty,
                eta: None,
                outbox_ids: ids,
            });
            continue;
        }
        let told = last_told(backorder_id).unwrap_or(ups[0].old_eta);
        if eta_shift_is_news(told, last.new_eta, min_shift_days) {
            out.news.push(News {
                backorder_id,
                kind: UpdateKind::EtaChanged,
                product: last.product.clone(),
                qty: last.qty,
                eta: last.new_eta,
                outbox_ids: ids,
            });
        } else {
            out.silent.extend(ids);
        }
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

    fn eta(id: i64, bo: i64, old: &str, new: &str) -> Update {
        Update {
            outbox_id: id,
            backorder_id: bo,
            kind: UpdateKind::EtaChanged,
            product: "Wireless Mouse".into(),
            qty: 1,
            old_eta: (!old.is_empty()).then(|| d(old)),
            new_eta: (!new.is_empty()).then(|| d(new)),
        }
    }

    fn never_told(_: i64) -> Option<Option<NaiveDate>> {
        None
    }

    #[test]
    fn updates_of_one_backorder_merge_into_the_latest_date() {
        let c = coalesce(
            &[
                eta(1, 7, "2027-02-10", "2027-02-14"),
                eta(2, 7, "2027-02-14", "2027-02-17"),
            ],
            &never_told,
            1,
        );
        assert_eq!(c.news.len(), 1);
        assert_eq!(c.news[0].eta, Some(d("2027-02-17")));
        assert_eq!(c.news[0].outbox_ids, vec![1, 2]);
        assert!(c.silent.is_empty());
    }

    #[test]
    fn a_date_that_comes_back_to_what_was_told_sends_nothing() {
        let c = coalesce(
            &[
                eta(1, 7, "2027-02-10", "2027-02-14"),
                eta(2, 7, "2027-02-14", "2027-02-10"),
            ],
            &never_told,
            1,
        );
        assert!(c.news.is_empty());
        assert_eq!(c.silent, vec![1, 2]);
        // Measured against the last message, not the row's own old date.
        let told = |_| Some(Some(d("2027-02-14")));
        let c = coalesce(&[eta(3, 7, "2027-02-10", "2027-02-14")], &told, 1);
        assert!(c.news.is_empty());
    }

    #[test]
    fn shifts_below_the_minimum_are_not_news() {
        let c = coalesce(&[eta(1, 7, "2027-02-10", "2027-02-12")], &never_told, 3);
        assert!(c.news.is_empty());
        let c = coalesce(&[eta(1, 7, "2027-02-10", "2027-02-13")], &never_told, 3);
        assert_eq!(c.news.len(), 1);
        assert!(eta_shift_is_news(None, Some(d("2027-02-10")), 5));
        assert!(eta_shift_is_news(Some(d("2027-02-10")), None, 5));
    }

    #[test]
    fn cancellation_and_allocation_win_over_date_changes() {
        let mut cancel = eta(3, 7, "", "");
        cancel.kind = UpdateKind::Cancelled;
        let mut alloc = eta(2, 7, "", "");
        alloc.kind = UpdateKind::Allocated;
        let c = coalesce(
            &[eta(1, 7, "2027-02-10", "2027-02-14"), alloc.clone(), cancel],
            &never_told,
            1,
        );
        assert_eq!(c.news[0].kind, UpdateKind::Cancelled);
        assert_eq!(c.news[0].outbox_ids, vec![1, 2, 3]);
        let c = coalesce(
            &[eta(1, 7, "2027-02-10", "2027-02-14"), alloc],
            &never_told,
            1,
        );
        assert_eq!(c.news[0].kind, UpdateKind::Allocated);
    }

    #[test]
    fn several_backorders_of_one_customer_become_one_message_per_kind() {
        let c = coalesce(
            &[
                eta(1, 8, "2027-02-10", "2027-02-14"),
                eta(2, 7, "2027-02-10", "2027-02-15"),
            ],
            &never_told,
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
            vec![7, 8]
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
        fn coalescing_accounts_for_every_row_once(
            moves in proptest::collection::vec((0i64..4, 0i64..20), 1..20),
        ) {
            let base = d("2027-02-01");
            let ups: Vec<Update> = moves.iter().enumerate().map(|(i, (bo, days))| Update {
                outbox_id: i as i64,
                backorder_id: *bo,
                kind: UpdateKind::EtaChanged,
                product: "P".into(),
                qty: 1,
                old_eta: Some(base),
                new_eta: Some(base + Duration::days(*days)),
            }).collect();
            let c = coalesce(&ups, &never_told, 1);
            let mut seen: Vec<i64> = c.news.iter().flat_map(|n| n.outbox_ids.clone()).chain(c.silent.clone()).collect();
            seen.sort();
            prop_assert_eq!(seen, (0..ups.len() as i64).collect::<Vec<_>>());
        }
    }
}
