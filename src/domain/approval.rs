//! Approvals: when one change's customer updates wait for ops before any customer hears them,
//! and what ops may say about a held batch.

use super::text;
use super::{CustomerId, ParseError};
use chrono::NaiveDate;
use std::fmt;

/// When a change is held (`[notify] approval_min_customers`, `approval_min_shift_days`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApprovalRule {
    /// Hold when at least this many customers' promises moved.
    pub min_customers: u32,
    /// Hold when any promise moved by at least this many days (either way).
    pub min_shift_days: i64,
}

/// One promise a change moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Move {
    pub customer: CustomerId,
    /// The date promised before (`None`: unknown).
    pub old: Option<NaiveDate>,
    /// The date promised now (`None`: unknown).
    pub new: Option<NaiveDate>,
}

impl Move {
    /// Days between the two dates, either way; `None` when either is unknown.
    pub fn shift_days(&self) -> Option<i64> {
        match (self.old, self.new) {
            (Some(a), Some(b)) => Some((b - a).num_days().abs()),
            _ => None,
        }
    }
}

/// What a change moved, as the rule weighs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Weight {
    /// Distinct customers with a moved promise.
    pub customers: u32,
    /// The largest shift between two known dates, in days.
    pub largest_shift_days: Option<i64>,
}

/// Why a change needs approval (both may hold).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Why {
    /// At least `min_customers` customers.
    pub customers: bool,
    /// A shift of at least `min_shift_days`.
    pub shift: bool,
}

impl Why {
    /// Whether either reason holds.
    pub fn any(self) -> bool {
        self.customers || self.shift
    }
}

/// The rule's answer for one change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    pub weight: Weight,
    /// Empty: the updates go out as usual.
    pub why: Why,
}

impl Verdict {
    /// The updates wait for ops.
    pub fn holds(&self) -> bool {
        self.why.any()
    }

    /// "needs approval: 30 customers (≥ 25), a shift of 20 days (≥ 14)" or "no approval needed".
    pub fn explain(&self, rule: &ApprovalRule) -> String {
        let mut parts = Vec::new();
        if self.why.customers {
            parts.push(format!(
                "{} (at least {})",
                text::plural(i64::from(self.weight.customers), "customer", "customers"),
                rule.min_customers
            ));
        }
        if self.why.shift {
            parts.push(format!(
                "a shift of {} (at least {})",
                text::plural(self.weight.largest_shift_days.unwrap_or(0), "day", "days"),
                text::plural(rule.min_shift_days, "day", "days")
            ));
        }
        if parts.is_empty() {
            format!(
                "no approval needed ({}, largest shift {})",
                text::plural(i64::from(self.weight.customers), "customer", "customers"),
                match self.weight.largest_shift_days {
                    Some(d) => text::plural(d, "day", "days"),
                    None => "none".to_string(),
                }
            )
        } else {
            format!("needs approval: {}", parts.join(" and "))
        }
    }
}

/// Judges one change by every promise it moved.
pub fn judge(rule: &ApprovalRule, moves: &[Move]) -> Verdict {
    let mut customers: Vec<CustomerId> = moves.iter().map(|m| m.customer).collect();
    customers.sort_unstable();
    customers.dedup();
    let weight = Weight {
        customers: u32::try_from(customers.len()).unwrap_or(u32::MAX),
        largest_shift_days: moves.iter().filter_map(Move::shift_days).max(),
    };
    let why = Why {
        customers: !moves.is_empty() && weight.customers >= rule.min_customers,
        shift: weight
            .largest_shift_days
            .is_some_and(|d| d > 0 && d >= rule.min_shift_days),
    };
    Verdict { weight, why }
}

/// Where a batch stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ApprovalStatus {
    /// Waiting for ops.
    Held,
    /// Released to the dispatcher.
    Approved,
    /// Closed without a message.
    Withheld,
    /// A newer change to the same backorders replaced it.
    Superseded,
}

impl ApprovalStatus {
    /// Every status.
    pub const ALL: [ApprovalStatus; 4] = [
        ApprovalStatus::Held,
        ApprovalStatus::Approved,
        ApprovalStatus::Withheld,
        ApprovalStatus::Superseded,
    ];

    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ApprovalStatus::Held => "held",
            ApprovalStatus::Approved => "approved",
            ApprovalStatus::Withheld => "withheld",
            ApprovalStatus::Superseded => "superseded",
        }
    }
}

impl fmt::Display for ApprovalStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Longest note, in characters: one sentence, which must still leave room in an SMS.
pub const MAX_NOTE_CHARS: usize = 200;

/// A note ops add to every message of a batch: cleaned like a reason (hidden characters gone,
/// line breaks as spaces), 1–200 characters.
pub fn note(raw: &str) -> Result<String, ParseError> {
    text::line(raw, MAX_NOTE_CHARS)
}

/// What a button or the note form on a batch's post asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Release the batch.
    Approve,
    /// Open the note form.
    AskNote,
    /// The note form was sent.
    SubmitNote,
    /// Close the batch without a message.
    Withhold,
}

/// Custom id prefix of every approval component.
pub const CUSTOM_ID_PREFIX: &str = "approval:";

impl Action {
    const ALL: [Action; 4] = [
        Action::Approve,
        Action::AskNote,
        Action::SubmitNote,
        Action::Withhold,
    ];

    fn word(self) -> &'static str {
        match self {
            Action::Approve => "approve",
            Action::AskNote => "note",
            Action::SubmitNote => "notetext",
            Action::Withhold => "withhold",
        }
    }

    /// The custom id of this action on batch `id` (`approval:approve:12`).
    pub fn custom_id(self, id: i64) -> String {
        format!("{CUSTOM_ID_PREFIX}{}:{id}", self.word())
    }

    /// Reads a custom id back; `None` for any other component's id.
    pub fn parse(custom_id: &str) -> Option<(Action, i64)> {
        let rest = custom_id.strip_prefix(CUSTOM_ID_PREFIX)?;
        let (word, id) = rest.split_once(':')?;
        let action = Self::ALL.into_iter().find(|a| a.word() == word)?;
        let id: i64 = id.parse().ok().filter(|n| *n > 0)?;
        Some((action, id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Option<NaiveDate> {
        Some(NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap())
    }

    const RULE: ApprovalRule = ApprovalRule {
        min_customers: 25,
        min_shift_days: 14,
    };

    fn moves(customers: i64, old: &str, new: &str) -> Vec<Move> {
        (1..=customers)
            .map(|c| Move {
                customer: CustomerId(c),
                old: d(old),
                new: d(new),
            })
            .collect()
    }

    #[test]
    fn many_customers_hold_even_a_small_shift() {
        let v = judge(&RULE, &moves(25, "2027-01-10", "2027-01-12"));
        assert!(v.holds());
        assert_eq!(
            v.why,
            Why {
                customers: true,
                shift: false
            }
        );
        assert_eq!(v.weight.customers, 25);
        assert_eq!(v.weight.largest_shift_days, Some(2));
        assert!(!judge(&RULE, &moves(24, "2027-01-10", "2027-01-12")).holds());
    }

    #[test]
    fn customers_are_counted_once_however_many_backorders_moved() {
        let mut m = moves(1, "2027-01-10", "2027-01-11");
        m.extend(m.clone().into_iter().cycle().take(40).collect::<Vec<_>>());
        let v = judge(&RULE, &m);
        assert_eq!(v.weight.customers, 1);
        assert!(!v.holds());
    }

    #[test]
    fn a_large_shift_either_way_holds_for_one_customer() {
        assert!(
            judge(&RULE, &moves(1, "2027-01-10", "2027-01-24"))
                .why
                .shift
        );
        assert!(
            judge(&RULE, &moves(1, "2027-01-24", "2027-01-10"))
                .why
                .shift
        );
        assert!(!judge(&RULE, &moves(1, "2027-01-10", "2027-01-23")).holds());
    }

    #[test]
    fn unknown_dates_have_no_shift() {
        let m = [Move {
            customer: CustomerId(1),
            old: d("2027-01-10"),
            new: None,
        }];
        let v = judge(&RULE, &m);
        assert_eq!(v.weight.largest_shift_days, None);
        assert!(!v.holds());
    }

    #[test]
    fn nothing_moved_holds_nothing_even_with_a_zero_threshold() {
        let zero = ApprovalRule {
            min_customers: 0,
            min_shift_days: 0,
        };
        assert!(!judge(&zero, &[]).holds());
        assert!(judge(&zero, &moves(1, "2027-01-10", "2027-01-11")).holds());
    }

    #[test]
    fn the_explanation_names_each_reason() {
        let v = judge(&RULE, &moves(30, "2027-01-10", "2027-02-10"));
        assert_eq!(
            v.explain(&RULE),
            "needs approval: 30 customers (at least 25) and a shift of 31 days (at least 14 days)"
        );
        let v = judge(&RULE, &moves(2, "2027-01-10", "2027-01-11"));
        assert_eq!(
            v.explain(&RULE),
            "no approval needed (2 customers, largest shift 1 day)"
        );
    }

    #[test]
    fn custom_ids_read_back_and_refuse_others() {
        for a in Action::ALL {
            assert_eq!(Action::parse(&a.custom_id(12)), Some((a, 12)));
        }
        for bad in [
            "approval:approve:",
            "approval:approve:-1",
            "approval:nope:3",
            "alerts:snooze:3",
            "approval:approve:3x",
        ] {
            assert_eq!(Action::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn notes_are_one_clean_line_of_limited_length() {
        assert_eq!(
            note(" Our supplier's\nship was delayed.\u{202E} ").unwrap(),
            "Our supplier's ship was delayed."
        );
        assert!(note("  ").is_err());
        assert!(note(&"x".repeat(201)).is_err());
        assert!(note(&"x".repeat(200)).is_ok());
    }
}
