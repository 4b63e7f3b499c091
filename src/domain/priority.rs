//! Backorder priority: loyalty, order value, age and a manual adjustment.

use super::{BackorderId, Tier};
use chrono::{DateTime, Utc};
use std::cmp::Ordering;

/// Points per factor (the `[priority]` settings).
#[derive(Debug, Clone, PartialEq)]
pub struct PriorityWeights {
    /// Points for standard, silver, gold and vip customers.
    pub tier_points: [f64; 4],
    /// Points per whole currency unit of the backordered line's value.
    pub per_currency_unit: f64,
    /// Points per day the backorder has waited.
    pub per_day: f64,
}

impl Default for PriorityWeights {
    fn default() -> Self {
        Self {
            tier_points: [0.0, 30.0, 60.0, 100.0],
            per_currency_unit: 0.1,
            per_day: 2.0,
        }
    }
}

/// What a backorder's priority is computed from.
#[derive(Debug, Clone, PartialEq)]
pub struct PriorityInput {
    /// Backorder id (last tie-break).
    pub id: BackorderId,
    /// Customer's tier.
    pub tier: Tier,
    /// Backordered units × unit price, minor units.
    pub value_minor: i64,
    /// When the order was placed (tie-break before id).
    pub ordered_at: DateTime<Utc>,
    /// Manual adjustment in points (`/backorder prioritize`).
    pub manual: f64,
}

/// A score broken into its parts, for `/backorder id:`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PriorityScore {
    /// From the loyalty tier.
    pub tier: f64,
    /// From the order value.
    pub value: f64,
    /// From the days waited.
    pub age: f64,
    /// From a manual re-prioritisation.
    pub manual: f64,
}

impl PriorityScore {
    /// Sum of the parts.
    pub fn total(&self) -> f64 {
        self.tier + self.value + self.age + self.manual
    }
}

impl PriorityWeights {
    /// Scores one backorder at `now`. Age counts in fractional days so that the gap between two
    /// backorders never changes with time: only tier and manual changes reorder a queue.
    pub fn score(&self, input: &PriorityInput, now: DateTime<Utc>) -> PriorityScore {
        let tier_index = Tier::ALL.iter().position(|t| *t == input.tier).unwrap_or(0);
        let age_days = (now - input.ordered_at).num_seconds().max(0) as f64 / 86_400.0;
        PriorityScore {
            tier: self.tier_points[tier_index],
            value: self.per_currency_unit * input.value_minor as f64 / 100.0,
            age: self.per_day * age_days,
            manual: input.manual,
        }
    }

    /// The score without its age term, minus `per_day` × the order time in days since 1970:
    /// `score(now) = sort_key + per_day × now` in days for any `now` not before the order, so
    /// the key orders backorders exactly as the score does at every moment, and a stored,
    /// indexed key gives the queue without scoring rows.
    ///
    /// The database mirrors this function: migration 0009's `backorder_sort_keys` view computes
    /// the same double with the same operations in the same order, and its triggers keep the
    /// stored key in step with every write, set-based imports included. The mirror exists
    /// because a trigger cannot call Rust; `tests/search.rs`
    /// (`stored_sort_keys_follow_manual_points_tier_and_weights`) holds the two equal to the bit,
    /// so a change here needs a migration that redefines the view.
    pub fn sort_key(&self, input: &PriorityInput) -> f64 {
        let tier_index = Tier::ALL.iter().position(|t| *t == input.tier).unwrap_or(0);
        let days = input.ordered_at.timestamp() as f64 / 86_400.0;
        ((self.tier_points[tier_index] + self.per_currency_unit * input.value_minor as f64 / 100.0)
            + input.manual)
            - self.per_day * days
    }

    /// Where a backorder stands in its queue: compare two keys to rank them ([`RankKey`]).
    pub fn rank_key(&self, input: &PriorityInput) -> RankKey {
        RankKey {
            sort_key: self.sort_key(input),
            ordered_at: input.ordered_at,
            id: input.id,
        }
    }

    /// Highest priority first, as [`RankKey`] orders. Deterministic; `now` is kept for callers
    /// (orders placed after `now` would score their age as 0).
    pub fn compare(&self, a: &PriorityInput, b: &PriorityInput, _now: DateTime<Utc>) -> Ordering {
        self.rank_key(a).cmp(&self.rank_key(b))
    }

    /// Sorts a queue into priority order.
    pub fn sort(&self, queue: &mut [PriorityInput], now: DateTime<Utc>) {
        queue.sort_by(|a, b| self.compare(a, b, now));
    }

    /// Ranks items by their priority inputs, in the same order as [`Self::compare`], scoring
    /// each item once (a SKU can have 100,000 backorders).
    pub fn rank<T>(&self, items: Vec<(PriorityInput, T)>, _now: DateTime<Utc>) -> Vec<T> {
        let mut keyed: Vec<(RankKey, T)> = items
            .into_iter()
            .map(|(input, item)| (self.rank_key(&input), item))
            .collect();
        keyed.sort_by_key(|k| k.0);
        keyed.into_iter().map(|(_, item)| item).collect()
    }
}

/// A backorder's place in its SKU's queue. Keys order highest priority first: score (by its
/// [`PriorityWeights::sort_key`], so that memory and the index agree to the last bit), then
/// earlier order, then lower id.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RankKey {
    /// [`PriorityWeights::sort_key`].
    pub sort_key: f64,
    /// When the order was placed.
    pub ordered_at: DateTime<Utc>,
    /// Backorder id.
    pub id: BackorderId,
}

impl Eq for RankKey {}

impl Ord for RankKey {
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .sort_key
            .total_cmp(&self.sort_key)
            .then(self.ordered_at.cmp(&other.ordered_at))
            .then(self.id.cmp(&other.id))
    }
}

impl PartialOrd for RankKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// A manual move in the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reprioritize {
    /// To the head of the SKU's queue.
    Top,
    /// One place up.
    Up,
    /// One place down.
    Down,
    /// Drop the manual adjustment.
    Reset,
}

impl Reprioritize {
    /// Parses `top|up|down|reset`.
    pub fn parse(raw: &str) -> Result<Self, super::ParseError> {
        match raw.trim().to_ascii_lowercase().as_str() {
            "top" => Ok(Self::Top),
            "up" => Ok(Self::Up),
            "down" => Ok(Self::Down),
            "reset" => Ok(Self::Reset),
            other => Err(super::ParseError::new(format!(
                "\"{other}\" is not a position (top, up, down or reset)"
            ))),
        }
    }
}

/// The manual points that move `target` as asked within `queue` (sorted, highest first).
/// Returns `None` when the move changes nothing (already at the top, say).
pub fn manual_points_for(
    weights: &PriorityWeights,
    queue: &[PriorityInput],
    target: BackorderId,
    moves: Reprioritize,
    now: DateTime<Utc>,
) -> Option<f64> {
    let idx = queue.iter().position(|b| b.id == target)?;
    let me = &queue[idx];
    let base = weights.score(me, now).total() - me.manual;
    let total = |i: usize| weights.score(&queue[i], now).total();
    // A step of one point keeps the new position well clear of float noise.
    let desired = match moves {
        Reprioritize::Reset => return (me.manual != 0.0).then_some(0.0),
        Reprioritize::Top => {
            if idx == 0 {
                return None;
            }
            total(0) + 1.0
        }
        Reprioritize::Up => {
            if idx == 0 {
                return None;
            }
            let above = total(idx - 1);
            match idx.checked_sub(2) {
                Some(i) => (above + total(i)) / 2.0,
                None => above + 1.0,
            }
        }
        Reprioritize::Down => {
            if idx + 1 >= queue.len() {
                return None;
            }
            let below = total(idx + 1);
            match queue.get(idx + 2) {
                Some(_) => (below + total(idx + 2)) / 2.0,
                None => below - 1.0,
            }
        }
    };
    Some(desired - base)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(day: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, day, 12, 0, 0).unwrap()
    }

    fn input(id: i64, tier: Tier, value: i64, day: u32) -> PriorityInput {
        PriorityInput {
            id: BackorderId(id),
            tier,
            value_minor: value,
            ordered_at: at(day),
            manual: 0.0,
        }
    }

    #[test]
    fn score_adds_tier_value_and_age() {
        let w = PriorityWeights::default();
        let s = w.score(&input(1, Tier::Gold, 10_000, 20), at(25));
        assert_eq!(s.tier, 60.0);
        assert_eq!(s.value, 10.0);
        assert_eq!(s.age, 10.0);
        assert_eq!(s.total(), 80.0);
    }

    #[test]
    fn ties_break_by_order_time_then_id() {
        let w = PriorityWeights::default();
        let mut q = vec![
            input(3, Tier::Standard, 0, 20),
            input(2, Tier::Standard, 0, 20),
            input(1, Tier::Vip, 0, 21),
        ];
        w.sort(&mut q, at(21));
        let ids: Vec<i64> = q.iter().map(|b| b.id.0).collect();
        assert_eq!(ids, vec![1, 2, 3]);
    }

    #[test]
    fn rank_agrees_with_compare() {
        let w = PriorityWeights::default();
        let now = at(25);
        let mut q = vec![
            input(1, Tier::Standard, 5_000, 20),
            input(2, Tier::Gold, 0, 22),
            input(3, Tier::Standard, 5_000, 20),
            input(4, Tier::Vip, 100, 24),
        ];
        let ranked = w.rank(q.iter().map(|i| (i.clone(), i.id)).collect(), now);
        w.sort(&mut q, now);
        assert_eq!(ranked, q.iter().map(|i| i.id).collect::<Vec<_>>());
    }

    proptest::proptest! {
        /// For any two backorders and any moment after both orders, the key orders them as
        /// the score does (beyond float noise), and `compare` is the key's order.
        #[test]
        fn key_order_is_score_order_at_any_time(
            a in (0usize..4, 0i64..10_000_000, 0i64..90 * 86_400, -500i64..500),
            b in (0usize..4, 0i64..10_000_000, 0i64..90 * 86_400, -500i64..500),
            later in 0i64..3_650 * 86_400,
            per_day in 0.0f64..50.0,
        ) {
            let w = PriorityWeights { per_day, ..PriorityWeights::default() };
            let start = at(1);
            let mk = |id: i64, (tier, value, secs, manual): (usize, i64, i64, i64)| PriorityInput {
                id: BackorderId(id),
                tier: Tier::ALL[tier],
                value_minor: value,
                ordered_at: start + chrono::Duration::seconds(secs),
                manual: manual as f64 / 4.0,
            };
            let (a, b) = (mk(1, a), mk(2, b));
            let now = a.ordered_at.max(b.ordered_at) + chrono::Duration::seconds(later);
            let score_gap = w.score(&a, now).total() - w.score(&b, now).total();
            let key_gap = w.sort_key(&a) - w.sort_key(&b);
            if score_gap.abs() > 1e-6 {
                proptest::prop_assert_eq!(score_gap > 0.0, key_gap > 0.0);
                let expected = if score_gap > 0.0 { Ordering::Less } else { Ordering::Greater };
                proptest::prop_assert_eq!(w.compare(&a, &b, now), expected);
            }
            proptest::prop_assert!((score_gap - key_gap).abs() < 1e-6);
        }
    }

    #[test]
    fn the_key_is_the_score_less_the_moment_of_asking() {
        let w = PriorityWeights::default();
        let b = input(1, Tier::Gold, 10_000, 20);
        for day in [20, 25, 30] {
            let now = at(day);
            let now_days = now.timestamp() as f64 / 86_400.0;
            let score = w.score(&b, now).total();
            assert!((score - (w.sort_key(&b) + w.per_day * now_days)).abs() < 1e-6);
        }
    }

    #[test]
    fn manual_moves_place_the_backorder_exactly() {
        let w = PriorityWeights::default();
        let now = at(25);
        let mut q = vec![
            input(1, Tier::Vip, 0, 20),
            input(2, Tier::Gold, 0, 20),
            input(3, Tier::Silver, 0, 20),
            input(4, Tier::Standard, 0, 20),
        ];
        w.sort(&mut q, now);
        for (target, mv, expected) in [
            (4, Reprioritize::Top, vec![4, 1, 2, 3]),
            (3, Reprioritize::Up, vec![1, 3, 2, 4]),
            (1, Reprioritize::Down, vec![2, 1, 3, 4]),
        ] {
            let mut q2 = q.clone();
            let points = manual_points_for(&w, &q2, BackorderId(target), mv, now).unwrap();
            q2.iter_mut()
                .find(|b| b.id == BackorderId(target))
                .unwrap()
                .manual = points;
            w.sort(&mut q2, now);
            let ids: Vec<i64> = q2.iter().map(|b| b.id.0).collect();
            assert_eq!(ids, expected, "{mv:?} {target}");
        }
        assert_eq!(
            manual_points_for(&w, &q, BackorderId(1), Reprioritize::Top, now),
            None
        );
        assert_eq!(
            manual_points_for(&w, &q, BackorderId(4), Reprioritize::Down, now),
            None
        );
    }
}
