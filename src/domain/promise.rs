//! Available-to-promise: which backorders stock serves now, and when the rest will be served.
//!
//! One simulation serves both questions so that a promised ETA follows exactly the rules that
//! allocation on receipt applies: the backorders this plan serves from today's free stock are
//! the ones allocated now, and every other backorder's ETA is the date of the supply lot that the
//! same rules would serve it from.

use super::queue::{RankedQueue, Waiting};
use super::BackorderId;
use chrono::{Days, NaiveDate};

/// Why promises are being recomputed (stored in ETA history).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// A PO line's ETA moved.
    PoEtaChanged,
    /// A PO line was created or its quantity changed.
    PoChanged,
    /// Stock arrived.
    Received,
    /// A backorder was created.
    BackorderCreated,
    /// A backorder was cancelled or fulfilled.
    BackorderClosed,
    /// A backorder was re-prioritised.
    Reprioritized,
    /// Stock was adjusted.
    StockAdjusted,
    /// A customer's tier changed.
    TierChanged,
}

impl Cause {
    /// Every cause.
    pub const ALL: [Cause; 8] = [
        Cause::PoEtaChanged,
        Cause::PoChanged,
        Cause::Received,
        Cause::BackorderCreated,
        Cause::BackorderClosed,
        Cause::Reprioritized,
        Cause::StockAdjusted,
        Cause::TierChanged,
    ];

    /// Stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Cause::PoEtaChanged => "po_eta_changed",
            Cause::PoChanged => "po_changed",
            Cause::Received => "received",
            Cause::BackorderCreated => "backorder_created",
            Cause::BackorderClosed => "backorder_closed",
            Cause::Reprioritized => "reprioritized",
            Cause::StockAdjusted => "stock_adjusted",
            Cause::TierChanged => "tier_changed",
        }
    }
}

impl std::fmt::Display for Cause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How sure an ETA is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EtaKind {
    /// From stock on hand or a supplier's confirmed PO date.
    Confirmed,
    /// Today plus the supplier's lead time (no PO covers it yet), or an overdue PO.
    Estimated,
    /// No supplier, no PO: nobody can say.
    Unknown,
}

impl EtaKind {
    /// Stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            EtaKind::Confirmed => "confirmed",
            EtaKind::Estimated => "estimated",
            EtaKind::Unknown => "unknown",
        }
    }

    /// Every kind.
    pub const ALL: [EtaKind; 3] = [EtaKind::Confirmed, EtaKind::Estimated, EtaKind::Unknown];
}

/// A promised date and how sure it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Eta {
    /// `None` when unknown.
    pub date: Option<NaiveDate>,
    /// How sure.
    pub kind: EtaKind,
}

impl Eta {
    /// The unknown ETA.
    pub const UNKNOWN: Eta = Eta {
        date: None,
        kind: EtaKind::Unknown,
    };

    /// Orders ETAs, unknown last.
    pub fn sort_key(&self) -> NaiveDate {
        self.date.unwrap_or(NaiveDate::MAX)
    }

    /// `2026-12-10`, `~2026-12-10 (estimated)` or `unknown`.
    pub fn describe(&self) -> String {
        match (self.date, self.kind) {
            (Some(d), EtaKind::Confirmed) => d.to_string(),
            (Some(d), _) => format!("~{d} (estimated)"),
            (None, _) => "unknown".to_string(),
        }
    }
}

/// The `[fulfilment]` settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FulfilmentRules {
    /// Allocate part of a backorder when not all of it is there.
    pub allow_partial: bool,
    /// Let a smaller backorder further down be served while a larger one ahead waits, as long as
    /// that never pushes the waiting one's date later.
    pub skip_blocked: bool,
}

/// One backorder waiting, in priority order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Demand {
    /// Backorder id.
    pub id: BackorderId,
    /// Units still to allocate.
    pub remaining: i64,
}

/// Inbound units on a purchase-order line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Inbound {
    /// Supplier's date, if any.
    pub eta: Option<NaiveDate>,
    /// Units still to arrive.
    pub qty: i64,
}

/// Everything the plan for one SKU needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanInput {
    /// The day the plan is made.
    pub today: NaiveDate,
    /// On hand less allocated.
    pub free_stock: i64,
    /// Open PO lines.
    pub inbound: Vec<Inbound>,
    /// Supplier lead time; `None` when the SKU has no supplier.
    pub lead_time_days: Option<i64>,
    /// Open backorders, highest priority first.
    pub queue: Vec<Demand>,
    /// Allocation rules.
    pub rules: FulfilmentRules,
}

/// The plan for one backorder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Planned {
    /// Backorder id.
    pub id: BackorderId,
    /// Units to allocate now from free stock.
    pub allocate_now: i64,
    /// When the whole backorder will be served.
    pub eta: Eta,
}

#[derive(Debug, Clone, Copy)]
struct Lot {
    eta: Eta,
    qty: i64,
}

/// Stands for "whatever a reorder placed today brings": never runs out.
const UNLIMITED: i64 = i64::MAX / 4;

fn lots(input: &PlanInput) -> Vec<Lot> {
    let now = Eta {
        date: Some(input.today),
        kind: EtaKind::Confirmed,
    };
    let mut out = vec![Lot {
        eta: now,
        qty: input.free_stock.max(0),
    }];
    let mut dated: Vec<Inbound> = input
        .inbound
        .iter()
        .filter(|l| l.eta.is_some() && l.qty > 0)
        .copied()
        .collect();
    dated.sort_by_key(|l| l.eta);
    let mut last = input.today;
    for line in dated {
        let date = line.eta.unwrap_or(input.today);
        // An overdue PO line still counts, but nobody can promise it for a day already gone.
        let eta = if date < input.today {
            Eta {
                date: Some(input.today),
                kind: EtaKind::Estimated,
            }
        } else {
            Eta {
                date: Some(date),
                kind: EtaKind::Confirmed,
            }
        };
        last = last.max(eta.date.unwrap_or(last));
        out.push(Lot { eta, qty: line.qty });
    }
    // Undated PO lines and anything no PO covers arrive after a reorder's lead time, never before
    // a dated lot: a later backorder must not be promised an earlier date than an earlier one.
    let tail = match input.lead_time_days {
        Some(days) => {
            let by_lead = input
                .today
                .checked_add_days(Days::new(days.max(0) as u64))
                .unwrap_or(input.today);
            Eta {
                date: Some(by_lead.max(last)),
                kind: EtaKind::Estimated,
            }
        }
        None => Eta::UNKNOWN,
    };
    out.push(Lot {
        eta: tail,
        qty: UNLIMITED,
    });
    out
}

/// Plans allocation and ETAs for one SKU's queue.
pub fn plan(input: &PlanInput) -> Vec<Planned> {
    let lots = lots(input);
    let mut need: Vec<i64> = input.queue.iter().map(|d| d.remaining.max(0)).collect();
    let mut result: Vec<Planned> = input
        .queue
        .iter()
        .map(|d| Planned {
            id: d.id,
            allocate_now: 0,
            eta: Eta::UNKNOWN,
        })
        .collect();
    let mut served = vec![false; need.len()];
    let mut avail: i64 = 0;
    for (li, lot) in lots.iter().enumerate() {
        avail = avail.saturating_add(lot.qty);
        let is_now = li == 0;
        let mut blocked: Vec<usize> = Vec::new();
        for i in 0..need.len() {
            if served[i] {
                continue;
            }
            if need[i] <= avail {
                let may_serve = blocked.is_empty()
                    || (input.rules.skip_blocked
                        && !input.rules.allow_partial
                        && backfill_is_safe(&blocked, &need, avail, need[i], &lots[li + 1..]));
                if may_serve {
                    avail -= need[i];
                    if is_now {
                        result[i].allocate_now += need[i];
                    }
                    need[i] = 0;
                    served[i] = true;
                    result[i].eta = lot.eta;
                    continue;
                }
            } else if blocked.is_empty() && input.rules.allow_partial && is_now && avail > 0 {
                // The head of the queue takes what there is; the rest of it waits.
                result[i].allocate_now += avail;
                need[i] -= avail;
                avail = 0;
            }
            if !input.rules.skip_blocked || input.rules.allow_partial {
                break;
            }
            blocked.push(i);
        }
    }
    result
}

/// Whether backorders are served strictly in priority order, so that each one's promise
/// follows from the units owed ahead of it alone. Only `skip_blocked` without `allow_partial`
/// lets a later backorder pass a waiting one.
pub fn served_in_order(rules: FulfilmentRules) -> bool {
    !rules.skip_blocked || rules.allow_partial
}

/// What one backorder joining a queue does: its own allocation and promise, and the promises
/// behind it that it pushes to a later lot.
#[derive(Debug, Clone, PartialEq)]
pub struct Joined {
    /// Units to allocate to it now from free stock.
    pub allocate_now: i64,
    /// Its promise.
    pub eta: Eta,
    /// Backorders behind it whose promise moves: (id, old, new).
    pub moved: Vec<(BackorderId, Eta, Eta)>,
}

/// [`plan`] for a queue that was planned and settled before (every promise in `queue` is the
/// one `plan` gives, and nothing `plan` would allocate now is still waiting) when one more
/// backorder joins it: the same answer as planning the whole queue again, found without
/// walking it. `input` gives the supply (its `queue` is not read). `None` when the rules may
/// serve out of order; the caller plans the whole queue then.
///
/// In order, a backorder is served from the first lot whose running supply covers the units
/// owed through it. Joining with `q` units adds `q` to the running total of everyone behind,
/// so only those whose total ends within `q` past a lot boundary can move.
pub fn join(input: &PlanInput, queue: &mut RankedQueue, mut new: Waiting) -> Option<Joined> {
    if !served_in_order(input.rules) {
        return None;
    }
    let lots = lots(input);
    let mut bounds = Vec::with_capacity(lots.len());
    let mut supply = 0i64;
    for lot in &lots {
        supply = supply.saturating_add(lot.qty);
        bounds.push(supply);
    }
    let eta_at = |total: i64| -> Eta {
        let j = bounds.partition_point(|&b| b < total).min(lots.len() - 1);
        lots[j].eta
    };
    let q = new.remaining.max(0);
    new.remaining = q;
    let ahead = queue.insert(new);
    let through = ahead + q;
    let free = lots[0].qty;
    let allocate_now = if through <= free {
        q
    } else if input.rules.allow_partial && ahead < free {
        free - ahead
    } else {
        0
    };
    let eta = eta_at(through);
    let mut moved = Vec::new();
    if q > 0 {
        // Totals behind the newcomer now include its q units: a backorder whose total lies in
        // (bound, bound + q] was within the lot ending at `bound` before.
        let mut ranges: Vec<(i64, i64)> = Vec::new();
        for &b in &bounds[..bounds.len() - 1] {
            let (lo, hi) = (b.max(through), b.saturating_add(q));
            if lo >= hi {
                continue;
            }
            match ranges.last_mut() {
                Some(last) if lo <= last.1 => last.1 = last.1.max(hi),
                _ => ranges.push((lo, hi)),
            }
        }
        for (lo, hi) in ranges {
            queue.visit_totals(&new.key, lo, hi, |w, total| {
                let now = eta_at(total);
                if now != w.eta {
                    moved.push((w.key.id, w.eta, now));
                    w.eta = now;
                }
            });
        }
    }
    let left = q - allocate_now;
    if left == 0 {
        queue.remove(&new.key);
    } else {
        queue.set_remaining(&new.key, left);
        queue.set_eta(&new.key, eta);
    }
    Some(Joined {
        allocate_now,
        eta,
        moved,
    })
}

/// Serving `take` units now is safe when every blocked (higher-priority) backorder would still
/// be served from the same lot date as without it.
fn backfill_is_safe(
    blocked: &[usize],
    need: &[i64],
    avail: i64,
    take: i64,
    future: &[Lot],
) -> bool {
    let dates = |start: i64| -> Vec<NaiveDate> {
        let mut a = start;
        let mut out = Vec::with_capacity(blocked.len());
        let mut lot_iter = future.iter();
        let mut current = NaiveDate::MIN;
        for &i in blocked {
            while need[i] > a {
                match lot_iter.next() {
                    Some(lot) => {
                        a = a.saturating_add(lot.qty);
                        current = lot.eta.sort_key();
                    }
                    None => return out,
                }
            }
            a -= need[i];
            out.push(current);
        }
        out
    };
    dates(avail) == dates(avail - take)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn input(
        free: i64,
        inbound: &[(&str, i64)],
        queue: &[i64],
        rules: FulfilmentRules,
    ) -> PlanInput {
        PlanInput {
            today: d("2026-11-26"),
            free_stock: free,
            inbound: inbound
                .iter()
                .map(|(eta, qty)| Inbound {
                    eta: Some(d(eta)),
                    qty: *qty,
                })
                .collect(),
            lead_time_days: Some(30),
            queue: queue
                .iter()
                .enumerate()
                .map(|(i, q)| Demand {
                    id: BackorderId(i as i64 + 1),
                    remaining: *q,
                })
                .collect(),
            rules,
        }
    }

    fn etas(plan: &[Planned]) -> Vec<String> {
        plan.iter().map(|p| p.eta.describe()).collect()
    }

    #[test]
    fn a_backorder_gets_the_eta_of_the_po_line_that_completes_it() {
        let p = plan(&input(
            2,
            &[("2026-12-01", 3), ("2026-12-10", 5)],
            &[2, 2, 4, 3],
            FulfilmentRules::default(),
        ));
        assert_eq!(
            etas(&p),
            vec![
                "2026-11-26",
                "2026-12-01",
                "2026-12-10",
                "~2026-12-26 (estimated)"
            ]
        );
        assert_eq!(p[0].allocate_now, 2);
        assert_eq!(p[1].allocate_now, 0);
    }

    #[test]
    fn without_a_supplier_uncovered_quantity_is_unknown() {
        let mut i = input(0, &[], &[1], FulfilmentRules::default());
        i.lead_time_days = None;
        assert_eq!(plan(&i)[0].eta, Eta::UNKNOWN);
    }

    #[test]
    fn strict_rules_make_a_small_backorder_wait_behind_a_large_one() {
        let p = plan(&input(
            3,
            &[("2026-12-01", 10)],
            &[5, 1],
            FulfilmentRules::default(),
        ));
        assert_eq!(p[0].allocate_now, 0);
        assert_eq!(p[1].allocate_now, 0);
        assert_eq!(etas(&p), vec!["2026-12-01", "2026-12-01"]);
    }

    #[test]
    fn partial_rules_give_the_head_what_there_is() {
        let rules = FulfilmentRules {
            allow_partial: true,
            skip_blocked: false,
        };
        let p = plan(&input(3, &[("2026-12-01", 10)], &[5, 1], rules));
        assert_eq!(p[0].allocate_now, 3);
        assert_eq!(etas(&p), vec!["2026-12-01", "2026-12-01"]);
    }

    #[test]
    fn skipping_serves_a_small_one_only_when_it_delays_nobody() {
        let rules = FulfilmentRules {
            allow_partial: false,
            skip_blocked: true,
        };
        // 3 on hand, head needs 5, 10 arrive on 12-01: serving the 1 now leaves 2+10 ≥ 5.
        let p = plan(&input(3, &[("2026-12-01", 10)], &[5, 1], rules));
        assert_eq!(p[1].allocate_now, 1);
        assert_eq!(etas(&p), vec!["2026-12-01", "2026-11-26"]);
        // Only 2 arrive on 12-01: serving the 1 now would push the head to the estimate.
        let p = plan(&input(3, &[("2026-12-01", 2)], &[5, 1], rules));
        assert_eq!(p[1].allocate_now, 0);
        assert_eq!(p[0].eta.date, Some(d("2026-12-01")));
    }

    #[test]
    fn overdue_po_lines_are_promised_today_as_estimates() {
        let p = plan(&input(
            0,
            &[("2026-11-20", 5)],
            &[1],
            FulfilmentRules::default(),
        ));
        assert_eq!(
            p[0].eta,
            Eta {
                date: Some(d("2026-11-26")),
                kind: EtaKind::Estimated
            }
        );
    }

    fn arb_input() -> impl Strategy<Value = PlanInput> {
        (
            0i64..20,
            proptest::collection::vec((0u64..60, 1i64..15), 0..5),
            proptest::collection::vec(1i64..12, 0..12),
            any::<bool>(),
            any::<bool>(),
            proptest::option::of(0i64..40),
        )
            .prop_map(|(free, inbound, queue, partial, skip, lead)| {
                let today = d("2026-11-26");
                PlanInput {
                    today,
                    free_stock: free,
                    inbound: inbound
                        .into_iter()
                        .map(|(days, qty)| Inbound {
                            eta: today.checked_add_days(Days::new(days)),
                            qty,
                        })
                        .collect(),
                    lead_time_days: lead,
                    queue: queue
                        .into_iter()
                        .enumerate()
                        .map(|(i, q)| Demand {
                            id: BackorderId(i as i64),
                            remaining: q,
                        })
                        .collect(),
                    rules: FulfilmentRules {
                        allow_partial: partial,
                        skip_blocked: skip,
                    },
                }
            })
    }

    proptest! {
        #[test]
        fn never_allocates_more_than_free_stock_or_than_asked(input in arb_input()) {
            let p = plan(&input);
            let total: i64 = p.iter().map(|x| x.allocate_now).sum();
            prop_assert!(total <= input.free_stock);
            for (x, d) in p.iter().zip(&input.queue) {
                prop_assert!(x.allocate_now <= d.remaining);
            }
        }

        #[test]
        fn without_skipping_a_higher_priority_never_gets_a_later_eta(mut input in arb_input()) {
            input.rules.skip_blocked = false;
            let p = plan(&input);
            for w in p.windows(2) {
                prop_assert!(w[0].eta.sort_key() <= w[1].eta.sort_key(), "{:?}", p);
            }
        }

        #[test]
        fn skipping_never_delays_anyone(mut input in arb_input()) {
            input.rules.allow_partial = false;
            input.rules.skip_blocked = false;
            let strict = plan(&input);
            input.rules.skip_blocked = true;
            let skipping = plan(&input);
            for (a, b) in strict.iter().zip(&skipping) {
                prop_assert!(b.eta.sort_key() <= a.eta.sort_key(), "{:?} vs {:?}", strict, skipping);
            }
        }

        #[test]
        fn the_same_input_gives_the_same_plan(input in arb_input()) {
            prop_assert_eq!(plan(&input), plan(&input));
        }
    }

    fn ranked(i: usize) -> super::super::priority::RankKey {
        super::super::priority::RankKey {
            sort_key: -(i as f64),
            ordered_at: chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
            id: BackorderId(i as i64),
        }
    }

    proptest! {
        /// One backorder joining a settled queue anywhere gets what planning the whole queue
        /// again gives it, and exactly the promises that plan moves are reported moved.
        #[test]
        fn joining_a_settled_queue_agrees_with_planning_it_again(
            free in 0i64..30,
            inbound in proptest::collection::vec((0u64..40, 0i64..40), 0..4),
            queue in proptest::collection::vec(1i64..15, 0..60),
            place in 0usize..61,
            q in 1i64..25,
            allow_partial in any::<bool>(),
            skip_blocked in any::<bool>(),
            lead in proptest::option::of(0i64..60),
        ) {
            let rules = FulfilmentRules { allow_partial, skip_blocked };
            prop_assume!(served_in_order(rules));
            let today = d("2026-11-26");
            let inbound: Vec<Inbound> = inbound
                .iter()
                .map(|(days, qty)| Inbound { eta: today.checked_add_days(Days::new(*days)), qty: *qty })
                .collect();
            let base = |free_stock: i64, queue: Vec<Demand>| PlanInput {
                today, free_stock, inbound: inbound.clone(), lead_time_days: lead, queue, rules,
            };
            // Settle the queue as it stands: what plan allocates now leaves it.
            let demands: Vec<Demand> = queue
                .iter()
                .enumerate()
                .map(|(i, r)| Demand { id: BackorderId((i as i64 + 1) * 10), remaining: *r })
                .collect();
            let first = plan(&base(free, demands.clone()));
            let mut free_after = free;
            let mut settled: Vec<Waiting> = Vec::new();
            for (dm, p) in demands.iter().zip(&first) {
                free_after -= p.allocate_now;
                let left = dm.remaining - p.allocate_now;
                if left > 0 {
                    settled.push(Waiting { key: ranked(dm.id.0 as usize), remaining: left, eta: p.eta });
                }
            }
            // The newcomer ranks before the settled entry at `place` (or last).
            let place = place.min(settled.len());
            let new_rank = if place < settled.len() { settled[place].key.id.0 - 5 } else { 100_000 };
            let newcomer = Waiting { key: ranked(new_rank as usize), remaining: q, eta: Eta::UNKNOWN };
            let mut rq = RankedQueue::from_ranked(settled.clone());
            let joined = join(&base(free_after, vec![]), &mut rq, newcomer).expect("in order");
            let mut all = settled.clone();
            all.insert(place, newcomer);
            let again = plan(&base(
                free_after,
                all.iter().map(|w| Demand { id: w.key.id, remaining: w.remaining }).collect(),
            ));
            let mut want_moved = Vec::new();
            for (w, p) in all.iter().zip(&again) {
                if w.key.id.0 == new_rank {
                    prop_assert_eq!(joined.allocate_now, p.allocate_now);
                    prop_assert_eq!(joined.eta, p.eta);
                } else {
                    prop_assert_eq!(p.allocate_now, 0);
                    if p.eta != w.eta {
                        want_moved.push((w.key.id, w.eta, p.eta));
                    }
                }
            }
            prop_assert_eq!(&joined.moved, &want_moved);
            // The queue now holds every promise plan gives, and what is left to owe.
            let held: Vec<(BackorderId, i64, Eta)> = rq.iter().map(|w| (w.key.id, w.remaining, w.eta)).collect();
            let want: Vec<(BackorderId, i64, Eta)> = all
                .iter()
                .zip(&again)
                .filter(|(w, p)| w.remaining > p.allocate_now)
                .map(|(w, p)| (w.key.id, w.remaining - p.allocate_now, p.eta))
                .collect();
            prop_assert_eq!(held, want);
        }
    }
}
