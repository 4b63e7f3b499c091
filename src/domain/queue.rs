//! One SKU's open backorders in priority order, with the units owed through each of them, held
//! so that one more backorder can join without walking the queue.
//!
//! The entries sit in blocks of at most [`BLOCK`] that each know their units. Finding where a
//! key ranks is a binary search over the blocks' last keys and then within one block; the
//! units ranked ahead of a place add up the whole blocks before it (one addition per block:
//! about 200 at 50,000 backorders) and part of one block. Nothing else is visited, so the
//! cost of a join does not grow with the rows of the queue the way reading them would.

use super::priority::RankKey;
use super::promise::Eta;

/// Most entries in one block before it splits in two.
pub const BLOCK: usize = 512;

/// One open backorder as the queue needs it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Waiting {
    /// Its place.
    pub key: RankKey,
    /// Units still owed (ordered less allocated).
    pub remaining: i64,
    /// Its promise as stored.
    pub eta: Eta,
}

#[derive(Debug, Clone, Default)]
struct Block {
    items: Vec<Waiting>,
    units: i64,
}

/// A queue of [`Waiting`] backorders, highest priority first.
#[derive(Debug, Clone, Default)]
pub struct RankedQueue {
    blocks: Vec<Block>,
    len: usize,
    units: i64,
}

impl RankedQueue {
    /// Builds a queue from entries already in rank order.
    pub fn from_ranked(items: Vec<Waiting>) -> Self {
        debug_assert!(items.windows(2).all(|w| w[0].key < w[1].key));
        let len = items.len();
        let units = items.iter().map(|w| w.remaining).sum();
        let blocks = items
            .chunks(BLOCK / 2)
            .map(|c| Block {
                items: c.to_vec(),
                units: c.iter().map(|w| w.remaining).sum(),
            })
            .collect();
        Self { blocks, len, units }
    }

    /// Backorders waiting.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether none is waiting.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Units owed to all of them.
    pub fn units(&self) -> i64 {
        self.units
    }

    /// Every entry in rank order.
    pub fn iter(&self) -> impl Iterator<Item = &Waiting> {
        self.blocks.iter().flat_map(|b| b.items.iter())
    }

    /// The block that holds `key` or would hold it, and its place in that block.
    fn locate(&self, key: &RankKey) -> (usize, Result<usize, usize>) {
        if self.blocks.is_empty() {
            return (0, Err(0));
        }
        let b = self
            .blocks
            .partition_point(|blk| blk.items.last().is_some_and(|w| w.key < *key))
            .min(self.blocks.len() - 1);
        (b, self.blocks[b].items.binary_search_by(|w| w.key.cmp(key)))
    }

    /// Units owed to the entries of the blocks before block `b`.
    fn units_before_block(&self, b: usize) -> i64 {
        self.blocks[..b].iter().map(|blk| blk.units).sum()
    }

    /// Adds an entry at its rank (replacing one with the same key) and returns the units owed
    /// to every entry ranked ahead of it.
    pub fn insert(&mut self, w: Waiting) -> i64 {
        if self.blocks.is_empty() {
            self.blocks.push(Block::default());
        }
        let (b, at) = self.locate(&w.key);
        let i = match at {
            Ok(i) => {
                let old = std::mem::replace(&mut self.blocks[b].items[i], w);
                self.blocks[b].units -= old.remaining;
                self.units -= old.remaining;
                self.len -= 1;
                i
            }
            Err(i) => {
                self.blocks[b].items.insert(i, w);
                i
            }
        };
        self.blocks[b].units += w.remaining;
        self.units += w.remaining;
        self.len += 1;
        let ahead = self.units_before_block(b)
            + self.blocks[b].items[..i]
                .iter()
                .map(|x| x.remaining)
                .sum::<i64>();
        if self.blocks[b].items.len() > BLOCK {
            let tail = self.blocks[b].items.split_off(BLOCK / 2);
            let tail_units = tail.iter().map(|x| x.remaining).sum();
            self.blocks[b].units -= tail_units;
            self.blocks.insert(
                b + 1,
                Block {
                    items: tail,
                    units: tail_units,
                },
            );
        }
        ahead
    }

    /// Takes an entry out; `None` when it is not there.
    pub fn remove(&mut self, key: &RankKey) -> Option<Waiting> {
        let (b, Ok(i)) = self.locate(key) else {
            return None;
        };
        let w = self.blocks[b].items.remove(i);
        self.blocks[b].units -= w.remaining;
        self.units -= w.remaining;
        self.len -= 1;
        if self.blocks[b].items.is_empty() {
            self.blocks.remove(b);
        }
        Some(w)
    }

    /// Changes the units still owed to an entry; `false` when it is not there.
    pub fn set_remaining(&mut self, key: &RankKey, remaining: i64) -> bool {
        let (b, Ok(i)) = self.locate(key) else {
            return false;
        };
        let delta = remaining - self.blocks[b].items[i].remaining;
        self.blocks[b].items[i].remaining = remaining;
        self.blocks[b].units += delta;
        self.units += delta;
        true
    }

    /// Changes an entry's promise; `false` when it is not there.
    pub fn set_eta(&mut self, key: &RankKey, eta: Eta) -> bool {
        let (b, Ok(i)) = self.locate(key) else {
            return false;
        };
        self.blocks[b].items[i].eta = eta;
        true
    }

    /// Calls `f` on each entry ranked after `after` whose running total (the units owed to it
    /// and to everyone ahead of it) lies in `lo < total <= hi`, in rank order, with that total.
    /// Only the blocks that hold such totals are entered.
    pub fn visit_totals(
        &mut self,
        after: &RankKey,
        lo: i64,
        hi: i64,
        mut f: impl FnMut(&mut Waiting, i64),
    ) {
        let mut total = 0i64;
        for blk in &mut self.blocks {
            if total + blk.units <= lo {
                total += blk.units;
                continue;
            }
            if total >= hi {
                return;
            }
            for w in &mut blk.items {
                total += w.remaining;
                if total > hi {
                    return;
                }
                if total > lo && w.key > *after {
                    f(w, total);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::promise::EtaKind;
    use crate::domain::BackorderId;
    use chrono::{TimeZone, Utc};
    use proptest::prelude::*;

    fn key(score: i64, id: i64) -> RankKey {
        RankKey {
            sort_key: score as f64,
            ordered_at: Utc.timestamp_opt(1_700_000_000, 0).unwrap(),
            id: BackorderId(id),
        }
    }

    fn waiting(score: i64, id: i64, remaining: i64) -> Waiting {
        Waiting {
            key: key(score, id),
            remaining,
            eta: Eta {
                date: None,
                kind: EtaKind::Unknown,
            },
        }
    }

    proptest! {
        /// Inserting, removing and visiting by running total agree with a plain sorted vector.
        #[test]
        fn blocks_agree_with_a_sorted_vector(
            start in proptest::collection::vec((0i64..50, 1i64..20), 0..1500),
            ops in proptest::collection::vec((0u8..3, 0i64..50, 1i64..20, 0i64..4000), 1..60),
        ) {
            let mut plain: Vec<Waiting> = start
                .iter()
                .enumerate()
                .map(|(i, (s, r))| waiting(*s, i as i64, *r))
                .collect();
            plain.sort_by_key(|w| w.key);
            let mut q = RankedQueue::from_ranked(plain.clone());
            let mut next_id = 10_000;
            for (op, score, rem, x) in ops {
                match op {
                    0 => {
                        next_id += 1;
                        let w = waiting(score, next_id, rem);
                        let ahead = q.insert(w);
                        let pos = plain.partition_point(|p| p.key < w.key);
                        prop_assert_eq!(ahead, plain[..pos].iter().map(|p| p.remaining).sum::<i64>());
                        plain.insert(pos, w);
                    }
                    1 if !plain.is_empty() => {
                        let i = (x as usize) % plain.len();
                        let k = plain.remove(i).key;
                        prop_assert!(q.remove(&k).is_some());
                        prop_assert!(q.remove(&k).is_none());
                    }
                    _ => {
                        let after = key(score, x);
                        let (lo, hi) = (x, x + rem * 10);
                        let mut seen = Vec::new();
                        q.visit_totals(&after, lo, hi, |w, t| seen.push((w.key.id, t)));
                        let mut want = Vec::new();
                        let mut t = 0;
                        for p in &plain {
                            t += p.remaining;
                            if t > lo && t <= hi && p.key > after {
                                want.push((p.key.id, t));
                            }
                        }
                        prop_assert_eq!(seen, want);
                    }
                }
                prop_assert_eq!(q.len(), plain.len());
                prop_assert_eq!(q.units(), plain.iter().map(|p| p.remaining).sum::<i64>());
                let ids: Vec<i64> = q.iter().map(|w| w.key.id.0).collect();
                let want: Vec<i64> = plain.iter().map(|w| w.key.id.0).collect();
                prop_assert_eq!(ids, want);
            }
        }
    }
}
