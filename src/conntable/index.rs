//! The index from a connection's key hash to its slot: open addressing with
//! linear probing over a power-of-two array of (hash tag, slot) pairs, kept
//! at most half full, with backward-shift deletion (no tombstones).
//!
//! hashbrown would do, except for one thing: the lookahead pipeline in
//! [`super::ConnTable`] must prefetch the index entry of a segment from its
//! hash alone, before probing, and that needs to know where the entry lives.
//! Entries are 8 bytes, so one cache line holds eight of them.

/// An entry: the high half of the key's hash, and the slot it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    tag: u32,
    slot: u32,
}

const EMPTY: Entry = Entry {
    tag: 0,
    slot: u32::MAX,
};

/// The smallest table: 64 entries.
const MIN_CAPACITY: usize = 64;

#[derive(Debug)]
pub struct Index {
    entries: Vec<Entry>,
    len: usize,
}

/// A position in the index, as returned by [`Index::find`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Found {
    pub slot: u32,
    pos: usize,
}

fn tag(hash: u64) -> u32 {
    (hash >> 32) as u32
}

impl Index {
    pub fn new() -> Index {
        Index {
            entries: vec![EMPTY; MIN_CAPACITY],
            len: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    fn mask(&self) -> usize {
        self.entries.len() - 1
    }

    /// Where an entry with this tag starts probing.
    fn home(&self, tag: u32) -> usize {
        tag as usize & self.mask()
    }

    /// The first entry the lookup of `hash` will read (for prefetching).
    pub fn probe_start(&self, hash: u64) -> *const u8 {
        let at = &self.entries[self.home(tag(hash))];
        (at as *const Entry).cast()
    }

    /// The entries whose tag matches `hash`, in probe order, until `eq`
    /// accepts a slot.
    pub fn find(&self, hash: u64, mut eq: impl FnMut(u32) -> bool) -> Option<Found> {
        let t = tag(hash);
        let mask = self.mask();
        let mut pos = self.home(t);
        // At most half full, so an empty entry ends every probe.
        loop {
            let e = self.entries[pos];
            if e == EMPTY {
                return None;
            }
            if e.tag == t && eq(e.slot) {
                return Some(Found { slot: e.slot, pos });
            }
            pos = (pos + 1) & mask;
        }
    }

    /// Adds `slot` under `hash`; the caller knows it is not there yet.
    pub fn insert(&mut self, hash: u64, slot: u32) {
        debug_assert_ne!(slot, u32::MAX);
        if (self.len + 1) * 2 > self.entries.len() {
            self.grow();
        }
        self.place(Entry {
            tag: tag(hash),
            slot,
        });
        self.len += 1;
    }

    fn place(&mut self, e: Entry) {
        let mask = self.mask();
        let mut pos = self.home(e.tag);
        while self.entries[pos] != EMPTY {
            pos = (pos + 1) & mask;
        }
        self.entries[pos] = e;
    }

    fn grow(&mut self) {
        let doubled = vec![EMPTY; self.entries.len() * 2];
        let old = std::mem::replace(&mut self.entries, doubled);
        for e in old.into_iter().filter(|e| *e != EMPTY) {
            self.place(e);
        }
    }

    /// Removes the entry found by [`Index::find`], shifting later entries of
    /// the same run back so that no probe meets a hole.
    pub fn remove(&mut self, found: Found) {
        let mask = self.mask();
        let mut hole = found.pos;
        let mut next = (hole + 1) & mask;
        while self.entries[next] != EMPTY {
            let home = self.home(self.entries[next].tag);
            // The entry at `next` may move back to the hole unless its home
            // lies cyclically in (hole, next].
            let stays = if hole <= next {
                hole < home && home <= next
            } else {
                hole < home || home <= next
            };
            if !stays {
                self.entries[hole] = self.entries[next];
                hole = next;
            }
            next = (next + 1) & mask;
        }
        self.entries[hole] = EMPTY;
        self.len -= 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    #[test]
    fn finds_what_was_inserted_and_forgets_what_was_removed() {
        let mut index = Index::new();
        for slot in 0..1000u32 {
            index.insert(u64::from(slot).wrapping_mul(0x9e37_79b9_7f4a_7c15), slot);
        }
        assert_eq!(index.len(), 1000);
        for slot in (0..1000u32).step_by(2) {
            let hash = u64::from(slot).wrapping_mul(0x9e37_79b9_7f4a_7c15);
            let found = index.find(hash, |s| s == slot).unwrap();
            index.remove(found);
        }
        for slot in 0..1000u32 {
            let hash = u64::from(slot).wrapping_mul(0x9e37_79b9_7f4a_7c15);
            assert_eq!(
                index.find(hash, |s| s == slot).is_some(),
                slot % 2 == 1,
                "{slot}"
            );
        }
    }

    #[test]
    fn colliding_hashes_are_told_apart_by_the_caller() {
        let mut index = Index::new();
        for slot in 0..10 {
            index.insert(42 << 32, slot);
        }
        for slot in 0..10 {
            assert_eq!(
                index.find(42 << 32, |s| s == slot).map(|f| f.slot),
                Some(slot)
            );
        }
        let f = index.find(42 << 32, |s| s == 3).unwrap();
        index.remove(f);
        assert!(index.find(42 << 32, |s| s == 3).is_none());
        assert_eq!(index.find(42 << 32, |s| s == 9).map(|f| f.slot), Some(9));
    }

    proptest! {
        /// Any sequence of inserts and removes, with hashes from a small set
        /// (so runs collide and wrap around the end), agrees with a HashMap.
        #[test]
        fn agrees_with_a_map(ops in proptest::collection::vec((any::<bool>(), 0u64..200), 0..600)) {
            let mut index = Index::new();
            let mut model: HashMap<u32, u64> = HashMap::new();
            let mut next_slot = 0u32;
            for (insert, key) in ops {
                // Few distinct tags, so long runs; homes spread over the table.
                let hash = (key % 23) << 32 | (key * 7919) << 40;
                let present = model.iter().find(|(_, k)| **k == key).map(|(s, _)| *s);
                match (insert, present) {
                    (true, None) => {
                        index.insert(hash, next_slot);
                        model.insert(next_slot, key);
                        next_slot += 1;
                    }
                    (false, Some(slot)) => {
                        let f = index.find(hash, |s| s == slot);
                        prop_assert!(f.is_some());
                        index.remove(f.unwrap());
                        model.remove(&slot);
                    }
                    _ => {}
                }
                prop_assert_eq!(index.len(), model.len());
                for (&slot, &k) in &model {
                    let h = (k % 23) << 32 | (k * 7919) << 40;
                    prop_assert_eq!(index.find(h, |s| s == slot).map(|f| f.slot), Some(slot));
                }
            }
        }
    }
}
