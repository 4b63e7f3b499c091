//! The rules behind `/report`: what the backorder process costs and how healthy it is. The store
//! counts; this module turns counts into buckets, rates, percentiles and slips. What each figure
//! means is written down in `docs/report.md`.

use super::notify::MessageStatus;
use super::{Money, ParseError};
use chrono::NaiveDate;

/// How many days back a report looks: 1 to 365.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportDays(u32);

impl ReportDays {
    /// The window when none is asked for.
    pub const DEFAULT: ReportDays = ReportDays(30);
    /// The shortest window.
    pub const MIN: i64 = 1;
    /// The longest window.
    pub const MAX: i64 = 365;

    /// Checks a number of days.
    pub fn new(days: i64) -> Result<Self, ParseError> {
        if (Self::MIN..=Self::MAX).contains(&days) {
            Ok(Self(days as u32))
        } else {
            Err(ParseError::new(format!(
                "{days} is not a number of days from {} to {}",
                Self::MIN,
                Self::MAX
            )))
        }
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

/// Count, units and value of some backorders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Tally {
    pub count: i64,
    pub units: i64,
    pub value: Money,
}

impl Tally {
    fn add(&mut self, other: Tally) {
        self.count += other.count;
        self.units += other.units;
        self.value = Money(self.value.0.saturating_add(other.value.0));
    }
}

/// How long an open backorder has waited, in whole days since its order was placed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AgeBucket {
    /// 0 to 3 days.
    UpTo3,
    /// 4 to 7 days.
    UpTo7,
    /// 8 to 14 days.
    UpTo14,
    /// 15 days or more.
    Older,
}

impl AgeBucket {
    /// Every bucket, youngest first.
    pub const ALL: [AgeBucket; 4] = [
        AgeBucket::UpTo3,
        AgeBucket::UpTo7,
        AgeBucket::UpTo14,
        AgeBucket::Older,
    ];

    /// The bucket of an age in whole days (a negative age, from a clock set back, is 0).
    pub fn of(age_days: i64) -> Self {
        match age_days {
            i64::MIN..=3 => AgeBucket::UpTo3,
            4..=7 => AgeBucket::UpTo7,
            8..=14 => AgeBucket::UpTo14,
            _ => AgeBucket::Older,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            AgeBucket::UpTo3 => "0–3 d",
            AgeBucket::UpTo7 => "4–7 d",
            AgeBucket::UpTo14 => "8–14 d",
            AgeBucket::Older => "15+ d",
        }
    }
}

/// Open backorders now: all of them, and by age.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OpenBackorders {
    pub total: Tally,
    /// In the order of [`AgeBucket::ALL`].
    pub by_age: [Tally; 4],
}

impl OpenBackorders {
    /// Sums tallies grouped by age in whole days into the buckets.
    pub fn from_ages(ages: impl IntoIterator<Item = (i64, Tally)>) -> Self {
        let mut out = Self::default();
        for (age, tally) in ages {
            out.total.add(tally);
            out.by_age[AgeBucket::of(age) as usize].add(tally);
        }
        out
    }
}

/// A share: `part` of `whole`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Rate {
    pub part: i64,
    pub whole: i64,
}

impl Rate {
    /// In percent; none when there is nothing to share.
    pub fn percent(self) -> Option<f64> {
        (self.whole > 0).then(|| 100.0 * self.part as f64 / self.whole as f64)
    }
}

/// Order lines of the window: filled from stock at order time, or backordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LineRates {
    /// Lines with no backorder: every unit reserved from stock when ordered.
    pub fill: Rate,
    /// Lines with a backorder (a part or all of their units).
    pub backorder: Rate,
}

impl LineRates {
    /// From the lines ordered and those of them that were backordered.
    pub fn new(lines: i64, backordered: i64) -> Self {
        Self {
            fill: Rate {
                part: lines - backordered,
                whole: lines,
            },
            backorder: Rate {
                part: backordered,
                whole: lines,
            },
        }
    }
}

/// The `p`-th percentile (0 < p ≤ 100) of sorted values by the nearest-rank method: the
/// smallest value with at least p % of the values at or below it. None for no values.
pub fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p / 100.0 * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// Days from order to allocation complete, over the backorders completed in the window.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct FulfilTimes {
    pub count: i64,
    pub mean_days: Option<f64>,
    pub p95_days: Option<f64>,
}

impl FulfilTimes {
    /// From a histogram of whole hours taken: (hours, backorders).
    pub fn from_hours(histogram: &[(i64, i64)]) -> Self {
        let mut days: Vec<f64> = Vec::new();
        for &(hours, n) in histogram {
            let d = hours.max(0) as f64 / 24.0;
            days.extend(std::iter::repeat(d).take(n.max(0) as usize));
        }
        days.sort_by(f64::total_cmp);
        let count = days.len() as i64;
        Self {
            count,
            mean_days: (count > 0).then(|| days.iter().sum::<f64>() / count as f64),
            p95_days: percentile(&days, 95.0),
        }
    }
}

/// Whether a message's last status says it did not reach the customer.
pub fn message_failed(status: MessageStatus) -> bool {
    matches!(
        status,
        MessageStatus::Failed | MessageStatus::Undelivered | MessageStatus::Canceled
    )
}

/// Customer messages of the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MessageCounts {
    /// SMS replies taken as inquiries.
    pub inquiries: i64,
    pub sent: i64,
    pub failed: i64,
}

impl MessageCounts {
    /// From inquiries and the messages handed to a channel, counted by last status.
    pub fn new(inquiries: i64, by_status: &[(MessageStatus, i64)]) -> Self {
        let (failed, sent) = by_status
            .iter()
            .partition::<Vec<_>, _>(|(s, _)| message_failed(*s));
        Self {
            inquiries,
            sent: sent.iter().map(|(_, n)| n).sum(),
            failed: failed.iter().map(|(_, n)| n).sum(),
        }
    }
}

/// Days a receipt came after the first promised ETA (negative: early).
pub fn slip_days(first_eta: NaiveDate, received: NaiveDate) -> i64 {
    (received - first_eta).num_days()
}

/// On time: received on or before the first promised ETA.
pub fn on_time(first_eta: NaiveDate, received: NaiveDate) -> bool {
    received <= first_eta
}

/// PO lines received in full on one day against one first ETA, for one supplier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipts {
    /// Supplier's name as the shop gave it; none for POs without a supplier.
    pub supplier: Option<String>,
    pub first_eta: NaiveDate,
    pub received: NaiveDate,
    pub lines: i64,
}

/// A supplier's deliveries in the window.
#[derive(Debug, Clone, PartialEq)]
pub struct SupplierDelivery {
    pub supplier: Option<String>,
    /// PO lines received in full.
    pub lines: i64,
    pub on_time: Rate,
    /// Mean of [`slip_days`] over the lines.
    pub mean_slip_days: f64,
}

/// Per supplier, in the order suppliers first appear in `receipts`.
pub fn supplier_delivery(receipts: &[Receipts]) -> Vec<SupplierDelivery> {
    let mut out: Vec<(SupplierDelivery, i64)> = Vec::new();
    for r in receipts {
        let i = match out.iter().position(|(s, _)| s.supplier == r.supplier) {
            Some(i) => i,
            None => {
                out.push((
                    SupplierDelivery {
                        supplier: r.supplier.clone(),
                        lines: 0,
                        on_time: Rate::default(),
                        mean_slip_days: 0.0,
                    },
                    0,
                ));
                out.len() - 1
            }
        };
        let (s, slip_sum) = &mut out[i];
        s.lines += r.lines;
        s.on_time.whole += r.lines;
        if on_time(r.first_eta, r.received) {
            s.on_time.part += r.lines;
        }
        *slip_sum += slip_days(r.first_eta, r.received) * r.lines;
    }
    out.into_iter()
        .map(|(mut s, slip_sum)| {
            s.mean_slip_days = slip_sum as f64 / s.lines as f64;
            s
        })
        .collect()
}

/// Open backorders at the end of each day `first..=last` (the last day as of now): the count
/// open before `first`, plus those opened, minus those that stopped being open, day by day.
/// `opened` and `closed` are counts per day; days outside the range are ignored.
pub fn open_per_day(
    first: NaiveDate,
    last: NaiveDate,
    open_before: i64,
    opened: &[(NaiveDate, i64)],
    closed: &[(NaiveDate, i64)],
) -> Vec<(NaiveDate, i64)> {
    let changes: Vec<(NaiveDate, i64)> = opened
        .iter()
        .copied()
        .chain(closed.iter().map(|&(d, n)| (d, -n)))
        .collect();
    super::date::running_total(first, last, open_before, &changes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn tally(count: i64, units: i64, value: i64) -> Tally {
        Tally {
            count,
            units,
            value: Money(value),
        }
    }

    #[test]
    fn days_run_from_1_to_365() {
        assert_eq!(ReportDays::new(1).unwrap().get(), 1);
        assert_eq!(ReportDays::new(365).unwrap().get(), 365);
        assert!(ReportDays::new(0).is_err());
        assert!(ReportDays::new(366).is_err());
        assert!(ReportDays::new(-3).is_err());
        assert_eq!(ReportDays::DEFAULT.get(), 30);
    }

    #[test]
    fn ages_fall_in_buckets_at_their_edges() {
        let buckets: Vec<AgeBucket> = [0, 3, 4, 7, 8, 14, 15, 400, -1]
            .into_iter()
            .map(AgeBucket::of)
            .collect();
        use AgeBucket::*;
        assert_eq!(
            buckets,
            [UpTo3, UpTo3, UpTo7, UpTo7, UpTo14, UpTo14, Older, Older, UpTo3]
        );
    }

    #[test]
    fn open_backorders_sum_into_total_and_buckets() {
        let open = OpenBackorders::from_ages([
            (0, tally(1, 2, 200)),
            (2, tally(2, 3, 300)),
            (10, tally(1, 1, 50)),
            (30, tally(1, 4, 1000)),
        ]);
        assert_eq!(open.total, tally(5, 10, 1550));
        assert_eq!(
            open.by_age,
            [
                tally(3, 5, 500),
                Tally::default(),
                tally(1, 1, 50),
                tally(1, 4, 1000)
            ]
        );
    }

    #[test]
    fn fill_and_backorder_rates_share_the_lines() {
        let r = LineRates::new(4, 1);
        assert_eq!(r.fill.percent(), Some(75.0));
        assert_eq!(r.backorder.percent(), Some(25.0));
        assert_eq!(LineRates::new(0, 0).fill.percent(), None);
    }

    #[test]
    fn the_95th_percentile_is_the_nearest_rank() {
        let v: Vec<f64> = (1..=20).map(f64::from).collect();
        // 95 % of 20 values is rank 19.
        assert_eq!(percentile(&v, 95.0), Some(19.0));
        assert_eq!(percentile(&v[..10], 95.0), Some(10.0));
        assert_eq!(percentile(&[4.0], 95.0), Some(4.0));
        assert_eq!(percentile(&[], 95.0), None);
        assert_eq!(percentile(&v, 50.0), Some(10.0));
    }

    #[test]
    fn fulfil_times_come_from_an_hour_histogram() {
        let t = FulfilTimes::from_hours(&[(48, 2), (24, 1), (240, 1)]);
        assert_eq!(t.count, 4);
        assert_eq!(t.mean_days, Some((2.0 + 2.0 + 1.0 + 10.0) / 4.0));
        assert_eq!(t.p95_days, Some(10.0));
        assert_eq!(FulfilTimes::from_hours(&[]).mean_days, None);
    }

    #[test]
    fn failed_undelivered_and_cancelled_messages_count_as_failed() {
        let c = MessageCounts::new(
            2,
            &[
                (MessageStatus::Delivered, 3),
                (MessageStatus::Logged, 1),
                (MessageStatus::Failed, 1),
                (MessageStatus::Undelivered, 2),
            ],
        );
        assert_eq!(
            c,
            MessageCounts {
                inquiries: 2,
                sent: 4,
                failed: 3
            }
        );
    }

    #[test]
    fn slip_is_receipt_minus_first_eta_and_on_time_includes_the_day() {
        assert_eq!(slip_days(d("2026-11-10"), d("2026-11-13")), 3);
        assert_eq!(slip_days(d("2026-11-10"), d("2026-11-08")), -2);
        assert!(on_time(d("2026-11-10"), d("2026-11-10")));
        assert!(!on_time(d("2026-11-10"), d("2026-11-11")));
    }

    #[test]
    fn suppliers_average_their_lines() {
        let r = |s: Option<&str>, eta: &str, got: &str, lines: i64| Receipts {
            supplier: s.map(str::to_string),
            first_eta: d(eta),
            received: d(got),
            lines,
        };
        let out = supplier_delivery(&[
            r(Some("Acme"), "2026-11-10", "2026-11-13", 1),
            r(Some("Acme"), "2026-11-10", "2026-11-09", 2),
            r(None, "2026-11-01", "2026-11-01", 1),
        ]);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].supplier.as_deref(), Some("Acme"));
        assert_eq!(out[0].lines, 3);
        assert_eq!(out[0].on_time, Rate { part: 2, whole: 3 });
        assert!((out[0].mean_slip_days - (3.0 - 2.0) / 3.0).abs() < 1e-9);
        assert_eq!(out[1].supplier, None);
        assert_eq!(out[1].mean_slip_days, 0.0);
    }

    #[test]
    fn open_per_day_adds_openings_and_removes_closings() {
        let s = open_per_day(
            d("2026-11-01"),
            d("2026-11-04"),
            2,
            &[
                (d("2026-11-01"), 1),
                (d("2026-11-03"), 2),
                (d("2026-10-01"), 9),
            ],
            &[(d("2026-11-02"), 1), (d("2026-11-03"), 1)],
        );
        assert_eq!(
            s,
            [
                (d("2026-11-01"), 3),
                (d("2026-11-02"), 2),
                (d("2026-11-03"), 3),
                (d("2026-11-04"), 3)
            ]
        );
    }
}
