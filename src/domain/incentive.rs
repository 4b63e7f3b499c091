//! Incentives: discount codes the shop generated in its own platform, offered to customers whose
//! backorder has waited long or whose date has slipped. What a code is, what it is worth, and
//! when a message offers one.

use super::notify::UpdateKind;
use super::ParseError;
use chrono::NaiveDate;

/// What a code gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CodeKind {
    /// A percentage off the next order.
    Discount,
    /// Free shipping on the next order.
    FreeShipping,
}

impl CodeKind {
    /// Every kind.
    pub const ALL: [CodeKind; 2] = [CodeKind::Discount, CodeKind::FreeShipping];

    /// Stored and file spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            CodeKind::Discount => "discount",
            CodeKind::FreeShipping => "free_shipping",
        }
    }

    /// Parses the file spelling (any case; `free-shipping` too).
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        match raw.trim().to_ascii_lowercase().replace('-', "_").as_str() {
            "discount" => Ok(CodeKind::Discount),
            "free_shipping" => Ok(CodeKind::FreeShipping),
            _ => Err(ParseError::new(
                "must be discount or free_shipping".to_string(),
            )),
        }
    }
}

impl std::fmt::Display for CodeKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Longest code accepted, in characters.
pub const MAX_CODE_CHARS: usize = 64;

/// A discount code as the shop's platform wrote it: 1–64 characters, no spaces and nothing
/// invisible (a customer types it at checkout). Outside text all the same: shown escaped.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DiscountCode(String);

impl DiscountCode {
    /// Parses a code from a file cell.
    pub fn parse(raw: &str) -> Result<Self, ParseError> {
        let s = super::ident::identifier(raw)?;
        if s.chars().count() > MAX_CODE_CHARS {
            return Err(ParseError::new(format!(
                "is longer than {MAX_CODE_CHARS} characters"
            )));
        }
        if s.chars().any(char::is_whitespace) {
            return Err(ParseError::new(
                "contains a space; a code is typed at checkout as one word",
            ));
        }
        Ok(Self(s))
    }

    /// As given (trimmed).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for DiscountCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a code is worth.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CodeValue {
    /// Whole percent off the next order, 1 to 100.
    PercentOff(u8),
    /// Free shipping on the next order.
    FreeShipping,
}

impl CodeValue {
    /// The value of a file row: a `discount` needs a whole percentage from 1 to 100 (`10` or
    /// `10%`); a `free_shipping` code takes none (empty, or `0`).
    pub fn parse(kind: CodeKind, raw: Option<&str>) -> Result<Self, ParseError> {
        let raw = raw.map(str::trim).filter(|s| !s.is_empty());
        match kind {
            CodeKind::FreeShipping => match raw {
                None | Some("0") => Ok(CodeValue::FreeShipping),
                Some(_) => Err(ParseError::new(
                    "a free_shipping code takes no value; leave it empty",
                )),
            },
            CodeKind::Discount => {
                let Some(raw) = raw else {
                    return Err(ParseError::new(
                        "is needed for a discount code: the percentage off, 1 to 100",
                    ));
                };
                let digits = raw.strip_suffix('%').unwrap_or(raw).trim();
                match digits.parse::<u8>() {
                    Ok(p @ 1..=100) => Ok(CodeValue::PercentOff(p)),
                    _ => Err(ParseError::new(
                        "must be a whole percentage from 1 to 100 (such as 10 or 10%)",
                    )),
                }
            }
        }
    }

    /// The value as stored: its kind and percentage.
    pub fn kind(self) -> CodeKind {
        match self {
            CodeValue::PercentOff(_) => CodeKind::Discount,
            CodeValue::FreeShipping => CodeKind::FreeShipping,
        }
    }

    /// The percentage off (`None` for free shipping).
    pub fn percent(self) -> Option<i64> {
        match self {
            CodeValue::PercentOff(p) => Some(i64::from(p)),
            CodeValue::FreeShipping => None,
        }
    }

    /// Back from storage; `None` for a combination the table's checks do not allow.
    pub fn from_stored(kind: CodeKind, percent: Option<i64>) -> Option<Self> {
        match (kind, percent) {
            (CodeKind::FreeShipping, None) => Some(CodeValue::FreeShipping),
            (CodeKind::Discount, Some(p)) => u8::try_from(p)
                .ok()
                .filter(|p| (1..=100).contains(p))
                .map(CodeValue::PercentOff),
            _ => None,
        }
    }

    /// As a customer reads it: `10% off your next order`, `free shipping on your next order`.
    pub fn in_words(self) -> String {
        match self {
            CodeValue::PercentOff(p) => format!("{p}% off your next order"),
            CodeValue::FreeShipping => "free shipping on your next order".to_string(),
        }
    }
}

/// `[incentives]`: when a backorder earns a code. 0 turns a rule off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IncentiveRules {
    /// Days a backorder has waited since the customer ordered.
    pub after_days: u32,
    /// Days its promised date has moved past the first promise.
    pub slip_days: u32,
}

/// A backorder's wait, as the rule reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Waiting {
    /// The day the customer ordered.
    pub since: NaiveDate,
    /// The first date promised ([`first_promise`]).
    pub first_promise: Option<NaiveDate>,
    /// The date promised now.
    pub promise: Option<NaiveDate>,
}

/// Why a backorder earned a code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Earned {
    /// It has waited this many days.
    Waited(i64),
    /// Its date is this many days past the first promise.
    Slipped(i64),
}

/// The first date promised: from the earliest ETA change that names a date, the date before it
/// (or the one it gave, when there was none before); without such a change, the promise now.
pub fn first_promise(
    earliest_dated_change: Option<(Option<NaiveDate>, Option<NaiveDate>)>,
    promise_now: Option<NaiveDate>,
) -> Option<NaiveDate> {
    match earliest_dated_change {
        Some((old, new)) => old.or(new),
        None => promise_now,
    }
}

impl IncentiveRules {
    /// Whether either rule is on.
    pub fn enabled(&self) -> bool {
        self.after_days > 0 || self.slip_days > 0
    }

    /// Whether a backorder has earned a code by `today`: it has waited `after_days`, or its
    /// promise is `slip_days` past the first one. A date that became unknown has no measurable
    /// slip (the waiting rule still counts).
    pub fn earned(&self, w: &Waiting, today: NaiveDate) -> Option<Earned> {
        let waited = (today - w.since).num_days();
        if self.after_days > 0 && waited >= i64::from(self.after_days) {
            return Some(Earned::Waited(waited));
        }
        if self.slip_days > 0 {
            if let (Some(first), Some(now)) = (w.first_promise, w.promise) {
                let slip = (now - first).num_days();
                if slip >= i64::from(self.slip_days) {
                    return Some(Earned::Slipped(slip));
                }
            }
        }
        None
    }
}

/// Whether a message of this kind may offer a code: news about a backorder the customer is still
/// owed (first notice, new date, on its way); not a cancellation. Kinds added later offer none
/// until they are named here.
pub fn kind_offers_codes(kind: UpdateKind) -> bool {
    matches!(
        kind,
        UpdateKind::Backordered | UpdateKind::EtaChanged | UpdateKind::Allocated
    )
}

/// Where a backorder stands with codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Holding {
    /// No code issued to it.
    None,
    /// Issued, but no message carrying it has reached the provider yet.
    Untold,
    /// Issued and carried by a message that reached the provider (and was not reported
    /// undelivered afterwards).
    Told,
}

/// What a message about one backorder does with codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeStep {
    /// Nothing.
    None,
    /// Carries the code already issued to it (a message that did not reach the customer).
    Carry,
    /// Takes a new code from the pool.
    Issue,
}

/// The rule: a backorder keeps the one code it was issued; a message carries it until one
/// carrying it reached the provider, and never repeats it after; a backorder without one that
/// has earned one takes the next from the pool. Cancellations offer nothing.
pub fn code_step(kind: UpdateKind, holding: Holding, earned: bool) -> CodeStep {
    if !kind_offers_codes(kind) {
        return CodeStep::None;
    }
    match holding {
        Holding::Told => CodeStep::None,
        Holding::Untold => CodeStep::Carry,
        Holding::None if earned => CodeStep::Issue,
        Holding::None => CodeStep::None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn waiting(since: &str, first: Option<&str>, now: Option<&str>) -> Waiting {
        Waiting {
            since: d(since),
            first_promise: first.map(d),
            promise: now.map(d),
        }
    }

    #[test]
    fn a_backorder_earns_a_code_once_it_has_waited_after_days() {
        let rules = IncentiveRules {
            after_days: 28,
            slip_days: 0,
        };
        let w = waiting("2026-11-01", Some("2026-12-01"), Some("2026-12-01"));
        assert_eq!(rules.earned(&w, d("2026-11-28")), None);
        assert_eq!(rules.earned(&w, d("2026-11-29")), Some(Earned::Waited(28)));
        assert_eq!(rules.earned(&w, d("2027-01-10")), Some(Earned::Waited(70)));
    }

    #[test]
    fn a_backorder_earns_a_code_when_its_date_slipped_slip_days_past_the_first_promise() {
        let rules = IncentiveRules {
            after_days: 0,
            slip_days: 14,
        };
        let today = d("2026-11-26");
        let slipped = |now: &str| waiting("2026-11-20", Some("2026-12-01"), Some(now));
        assert_eq!(rules.earned(&slipped("2026-12-14"), today), None);
        assert_eq!(
            rules.earned(&slipped("2026-12-15"), today),
            Some(Earned::Slipped(14))
        );
        // Earlier than first promised is no slip; an unknown date has none to measure.
        assert_eq!(rules.earned(&slipped("2026-11-28"), today), None);
        assert_eq!(
            rules.earned(&waiting("2026-11-20", Some("2026-12-01"), None), today),
            None
        );
        assert_eq!(
            rules.earned(&waiting("2026-11-20", None, Some("2027-03-01")), today),
            None
        );
    }

    #[test]
    fn zero_turns_a_rule_off() {
        let off = IncentiveRules::default();
        assert!(!off.enabled());
        let w = waiting("2020-01-01", Some("2020-02-01"), Some("2030-01-01"));
        assert_eq!(off.earned(&w, d("2026-11-26")), None);
        let waiting_only = IncentiveRules {
            after_days: 1,
            slip_days: 0,
        };
        assert!(waiting_only.enabled());
        assert_eq!(
            waiting_only.earned(&waiting("2026-11-26", None, None), d("2026-11-26")),
            None,
            "created today has waited 0 days"
        );
    }

    #[test]
    fn the_first_promise_is_the_date_before_the_first_dated_change() {
        assert_eq!(
            first_promise(Some((Some(d("2026-12-01")), Some(d("2027-01-05")))), None),
            Some(d("2026-12-01"))
        );
        assert_eq!(
            first_promise(Some((None, Some(d("2026-12-03")))), Some(d("2027-02-01"))),
            Some(d("2026-12-03"))
        );
        assert_eq!(
            first_promise(None, Some(d("2027-02-01"))),
            Some(d("2027-02-01"))
        );
    }

    #[test]
    fn a_backorder_keeps_its_one_code_and_is_told_it_once() {
        use CodeStep as S;
        use Holding as H;
        for kind in [
            UpdateKind::Backordered,
            UpdateKind::EtaChanged,
            UpdateKind::Allocated,
        ] {
            assert_eq!(code_step(kind, H::None, true), S::Issue);
            assert_eq!(code_step(kind, H::None, false), S::None);
            // Already issued: carried until told, whether or not it would be earned now.
            assert_eq!(code_step(kind, H::Untold, false), S::Carry);
            assert_eq!(code_step(kind, H::Untold, true), S::Carry);
            assert_eq!(code_step(kind, H::Told, true), S::None);
        }
        for h in [H::None, H::Untold, H::Told] {
            assert_eq!(code_step(UpdateKind::Cancelled, h, true), S::None);
        }
    }

    #[test]
    fn values_are_percentages_or_free_shipping() {
        let k = CodeKind::Discount;
        assert_eq!(
            CodeValue::parse(k, Some("10")),
            Ok(CodeValue::PercentOff(10))
        );
        assert_eq!(
            CodeValue::parse(k, Some(" 15% ")),
            Ok(CodeValue::PercentOff(15))
        );
        assert_eq!(
            CodeValue::parse(k, Some("100")),
            Ok(CodeValue::PercentOff(100))
        );
        for bad in [
            None,
            Some(""),
            Some("0"),
            Some("101"),
            Some("7.5"),
            Some("-5"),
            Some("ten"),
        ] {
            assert!(CodeValue::parse(k, bad).is_err(), "{bad:?}");
        }
        let f = CodeKind::FreeShipping;
        assert_eq!(CodeValue::parse(f, None), Ok(CodeValue::FreeShipping));
        assert_eq!(CodeValue::parse(f, Some("0")), Ok(CodeValue::FreeShipping));
        assert!(CodeValue::parse(f, Some("10")).is_err());
        for v in [CodeValue::PercentOff(10), CodeValue::FreeShipping] {
            assert_eq!(CodeValue::from_stored(v.kind(), v.percent()), Some(v));
        }
        assert_eq!(CodeValue::from_stored(CodeKind::Discount, None), None);
        assert_eq!(
            CodeValue::PercentOff(10).in_words(),
            "10% off your next order"
        );
    }

    #[test]
    fn codes_are_one_visible_word() {
        assert_eq!(
            DiscountCode::parse(" SORRY-7F3K ").unwrap().as_str(),
            "SORRY-7F3K"
        );
        assert!(DiscountCode::parse("").is_err());
        assert!(DiscountCode::parse("TWO WORDS").is_err());
        assert!(DiscountCode::parse("BAD\u{202E}X").is_err());
        assert!(DiscountCode::parse(&"X".repeat(65)).is_err());
        // Punctuation a renderer would read is kept: codes are shown escaped, not refused.
        assert!(DiscountCode::parse("**<@1>**").is_ok());
        assert_eq!(CodeKind::parse("Free-Shipping"), Ok(CodeKind::FreeShipping));
        assert!(CodeKind::parse("gift").is_err());
    }
}
