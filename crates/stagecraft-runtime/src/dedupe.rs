//! The message ids seen within the dedupe window (`docs/semantics.md` 1.10).
//!
//! A table of open addressing with linear probing over `(hash, time)`
//! entries. An entry whose time fell behind the horizon is forgotten: a
//! lookup treats it as absent and an insertion reuses its place, and when
//! the table fills up it is rebuilt with the remembered entries only, at a
//! size that fits them. So its memory follows the number of ids in the
//! window, and an entry's address follows from its hash alone, which lets a
//! batch of lines load it ahead of its input ([`SeenIds::prefetch`]).

use crate::prefetch;

/// Hash of an empty slot; a message hash of 0 is stored as 1.
const EMPTY: u64 = 0;

#[derive(Debug, Clone, Default)]
pub struct SeenIds {
    /// `(hash, time last seen)`; a power of two long, or empty.
    slots: Vec<(u64, i64)>,
    /// The table before the last rebuild, which the next rebuild fills. A
    /// fresh table each time had the system hand out (and fault in) every
    /// page again: most of a W1 run's page faults. Peak memory is the same,
    /// since a rebuild holds both tables anyway.
    spare: Vec<(u64, i64)>,
    /// Slots not empty (remembered or forgotten).
    used: usize,
}

impl SeenIds {
    /// Records `hash` as seen at `at`. Returns whether it had been seen at a
    /// time within `window` of `at` and not before `horizon` (a duplicate);
    /// a duplicate's time is left as it was.
    pub fn check(&mut self, hash: u64, at: i64, horizon: i64, window: u64) -> bool {
        let hash = stored(hash);
        if 4 * (self.used + 1) > 3 * self.slots.len() {
            self.rebuild(horizon);
        }
        let mask = self.slots.len() - 1;
        let mut at_slot = hash as usize & mask;
        let mut reusable = None;
        loop {
            let (h, t) = self.slots[at_slot];
            if h == EMPTY {
                break;
            }
            if h == hash {
                if t >= horizon && at.abs_diff(t) <= window {
                    return true;
                }
                self.slots[at_slot].1 = at;
                return false;
            }
            if t < horizon && reusable.is_none() {
                reusable = Some(at_slot);
            }
            at_slot = (at_slot + 1) & mask;
        }
        match reusable {
            Some(slot) => self.slots[slot] = (hash, at),
            None => {
                self.slots[at_slot] = (hash, at);
                self.used += 1;
            }
        }
        false
    }

    /// Records `hash` as last seen at `at` (a restore).
    pub fn remember(&mut self, hash: u64, at: i64) {
        self.check(hash, at, i64::MIN, 0);
    }

    /// Starts loading the slot where a lookup of `hash` begins.
    pub fn prefetch(&self, hash: u64) {
        if !self.slots.is_empty() {
            let home = stored(hash) as usize & (self.slots.len() - 1);
            prefetch::lines_of(&self.slots[home..(home + 8).min(self.slots.len())], 2);
        }
    }

    /// The remembered ids at or after `horizon`, as `(time, hash)`, sorted.
    pub fn remembered(&self, horizon: i64) -> Vec<(i64, u64)> {
        let mut seen: Vec<(i64, u64)> = self
            .slots
            .iter()
            .filter(|(h, t)| *h != EMPTY && *t >= horizon)
            .map(|&(h, t)| (t, h))
            .collect();
        seen.sort_unstable();
        seen
    }

    /// Keeps the entries at or after `horizon`, in a table at most half
    /// full, so the next rebuild is a quarter of the table away.
    fn rebuild(&mut self, horizon: i64) {
        // The kept entries move to the front of the old table, without a
        // branch: which ids were forgotten is random, and a filter would
        // mispredict half the time. Every entry is written where the next
        // kept one goes, and only a kept one advances that place.
        let mut kept = 0;
        for at in 0..self.slots.len() {
            let (h, t) = self.slots[at];
            self.slots[kept] = (h, t);
            kept += usize::from(h != EMPTY && t >= horizon);
        }
        let len = (2 * kept + 2).next_power_of_two().max(16);
        let mut table = std::mem::take(&mut self.spare);
        if table.capacity() > 2 * len {
            // Memory follows the ids in the window when it shrinks, too.
            table = Vec::new();
        }
        table.clear();
        table.resize(len, (EMPTY, 0));
        let mask = len - 1;
        for &(h, t) in &self.slots[..kept] {
            let mut at_slot = h as usize & mask;
            while table[at_slot].0 != EMPTY {
                at_slot = (at_slot + 1) & mask;
            }
            table[at_slot] = (h, t);
        }
        self.spare = std::mem::replace(&mut self.slots, table);
        self.used = kept;
    }
}

fn stored(hash: u64) -> u64 {
    hash.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    /// The same rules over a map that forgets nothing.
    fn model(seen: &mut HashMap<u64, i64>, hash: u64, at: i64, horizon: i64, window: u64) -> bool {
        match seen.get_mut(&stored(hash)) {
            Some(t) if *t >= horizon && at.abs_diff(*t) <= window => true,
            Some(t) => {
                *t = at;
                false
            }
            None => {
                seen.insert(stored(hash), at);
                false
            }
        }
    }

    proptest! {
        /// Few distinct hashes, so ids repeat inside and outside the window;
        /// times mostly rise, as a stream's do, with some late ones.
        #[test]
        fn agrees_with_a_map_that_forgets_nothing(
            calls in proptest::collection::vec((0u64..300, 0i64..40, any::<bool>()), 1..3000)
        ) {
            let window = 100u64;
            let (mut table, mut map) = (SeenIds::default(), HashMap::new());
            let mut newest = 0i64;
            for (i, (hash, step, late)) in calls.into_iter().enumerate() {
                let at = if late { newest - step } else { newest + step };
                newest = newest.max(at);
                let horizon = newest - window as i64;
                // Multiplying spreads the small ids over the whole word.
                let hash = hash.wrapping_mul(0x9e37_79b9_7f4a_7c15);
                let expected = model(&mut map, hash, at, horizon, window);
                prop_assert_eq!(table.check(hash, at, horizon, window), expected, "call {}", i);
            }
            let mut remembered: Vec<(i64, u64)> = map
                .into_iter()
                .filter(|&(_, t)| t >= newest - window as i64)
                .map(|(h, t)| (t, h))
                .collect();
            remembered.sort_unstable();
            prop_assert_eq!(table.remembered(newest - window as i64), remembered);
        }
    }

    #[test]
    fn memory_follows_the_ids_in_the_window() {
        let mut table = SeenIds::default();
        for i in 0..100_000i64 {
            let hash = (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
            // 1,000 ids in any window.
            assert!(!table.check(hash, i, i - 1_000, 1_000));
        }
        assert!(table.slots.len() <= 4_096, "{} slots", table.slots.len());
        assert!(
            table.spare.capacity() <= 4_096,
            "{} spare",
            table.spare.capacity()
        );
    }

    #[test]
    fn a_hash_of_zero_is_remembered() {
        let mut table = SeenIds::default();
        assert!(!table.check(0, 10, 0, 100));
        assert!(table.check(0, 20, 0, 100));
        assert_eq!(table.remembered(0), vec![(10, 1)]);
    }
}
