//! Compact string interning: every distinct string stored once in one arena,
//! found again through a hash table of indexes.

use std::hash::BuildHasher;

use rustc_hash::FxBuildHasher;

/// Maps strings to dense `u32` indexes, in order of first sight: each
/// distinct string is stored once in a [`TextArena`], found again through an
/// open-addressing table of indexes.
///
/// The table is the reader's hottest memory: a new id's probe misses the
/// cache. [`Interner::touch`] loads the slot a string's probe starts at
/// (from its [`Interner::hash_of`]), so a reader can touch the ids of
/// several events first, one load after another (the processor overlaps
/// those misses), and intern them after.
#[derive(Clone, Default)]
pub(crate) struct Interner {
    strings: TextArena,
    /// Linear probing over a power-of-two number of slots, at most three
    /// quarters full: 0 for an empty slot, else the high 32 bits of the
    /// string's hash and its index plus one.
    slots: Vec<u64>,
}

impl std::fmt::Debug for Interner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Interner").field("len", &self.len()).finish()
    }
}

const HIGH: u64 = !0xffff_ffff;

#[inline]
fn slot_entry(h: u64, index: u32) -> u64 {
    (h & HIGH) | (u64::from(index) + 1)
}

/// Slots for `strings` strings: a power of two, at most three quarters full.
fn slots_for(strings: usize) -> usize {
    (strings + strings / 3 + 1).next_power_of_two().max(8)
}

impl Interner {
    /// Makes room for `strings` more strings of `bytes` bytes in all.
    pub fn reserve(&mut self, strings: usize, bytes: usize) {
        self.strings.reserve(strings, bytes);
        let slots = slots_for(self.len() + strings);
        if slots > self.slots.len() {
            self.rebuild(slots);
        }
    }

    /// Lays the table out again over `slots` slots.
    fn rebuild(&mut self, slots: usize) {
        // Written out, not `vec![0; n]`: zeroed memory from the system is
        // first read (the probes map the shared zero page) and then
        // written, a second fault that also flushes every core's TLB.
        #[expect(clippy::slow_vector_initialization, reason = "zeroed memory is what this avoids")]
        let mut table = Vec::with_capacity(slots);
        table.resize(slots, 0u64);
        let mask = slots - 1;
        for index in 0..self.strings.len() as u32 {
            let h = Self::hash_of(self.strings.get(index));
            let mut at = h as usize & mask;
            while table[at] != 0 {
                at = (at + 1) & mask;
            }
            table[at] = slot_entry(h, index);
        }
        self.slots = table;
    }

    /// The number of distinct strings.
    pub fn len(&self) -> usize {
        self.strings.len()
    }

    /// The number of slots of the table (what it was sized for).
    #[cfg(test)]
    pub fn slots(&self) -> usize {
        self.slots.len()
    }

    /// The string of an index returned by [`Interner::intern`].
    #[inline]
    pub fn resolve(&self, index: u32) -> &str {
        self.strings.get(index)
    }

    /// Where the probe for hash `h` starts.
    #[inline]
    fn home(&self, h: u64) -> usize {
        h as usize & (self.slots.len() - 1)
    }

    /// `s`'s index, or the empty slot where it would go.
    #[inline]
    fn find(&self, h: u64, s: &str) -> Result<u32, usize> {
        let mask = self.slots.len() - 1;
        let mut at = self.home(h);
        loop {
            let e = self.slots[at];
            if e == 0 {
                return Err(at);
            }
            if (e ^ h) & HIGH == 0 {
                let index = (e as u32).wrapping_sub(1);
                if self.strings.get_bytes(index) == s.as_bytes() {
                    return Ok(index);
                }
            }
            at = (at + 1) & mask;
        }
    }

    /// The index of `s`, if it was interned.
    pub fn get(&self, s: &str) -> Option<u32> {
        if self.slots.is_empty() {
            return None;
        }
        self.find(Self::hash_of(s), s).ok()
    }

    /// The hash of `s`, for [`Interner::touch`] and [`Interner::intern_hashed`].
    #[inline]
    pub fn hash_of(s: &str) -> u64 {
        FxBuildHasher.hash_one(s)
    }

    /// Loads the slot where the probe for hash `h` starts (a hint: the
    /// value is meaningless).
    #[inline]
    pub fn touch(&self, h: u64) -> u64 {
        if self.slots.is_empty() {
            return 0;
        }
        self.slots[self.home(h)]
    }

    /// The index of `s`, adding it when new.
    #[inline]
    pub fn intern(&mut self, s: &str) -> u32 {
        self.intern_hashed(s, Self::hash_of(s))
    }

    /// [`Interner::intern`] with `s`'s hash already at hand (`h` must be
    /// [`Interner::hash_of`] `s`).
    #[inline]
    pub fn intern_hashed(&mut self, s: &str, h: u64) -> u32 {
        debug_assert_eq!(h, Self::hash_of(s));
        if (self.len() + 1) * 4 > self.slots.len() * 3 {
            self.rebuild(slots_for(self.len() + 1).max(self.slots.len() * 2));
        }
        match self.find(h, s) {
            Ok(index) => index,
            Err(at) => {
                let index = self.strings.push(s);
                self.slots[at] = slot_entry(h, index);
                index
            }
        }
    }
}

/// Strings stored one after another, without looking for duplicates.
#[derive(Clone, Default)]
pub(crate) struct TextArena {
    arena: String,
    ends: Vec<usize>,
}

impl std::fmt::Debug for TextArena {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TextArena").field("len", &self.ends.len()).finish()
    }
}

impl TextArena {
    /// Stores `s`, returning its index.
    pub fn push(&mut self, s: &str) -> u32 {
        let index = u32::try_from(self.ends.len())
            .ok()
            .filter(|&i| i < u32::MAX)
            .expect("more than 4 billion strings");
        self.arena.push_str(s);
        self.ends.push(self.arena.len());
        index
    }

    /// The number of strings stored.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// The bytes of the string at `index` (equality tests need no check
    /// for a character boundary).
    #[inline]
    pub fn get_bytes(&self, index: u32) -> &[u8] {
        let i = index as usize;
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.arena.as_bytes()[start..self.ends[i]]
    }

    /// The string at `index`.
    #[inline]
    pub fn get(&self, index: u32) -> &str {
        let i = index as usize;
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.arena[start..self.ends[i]]
    }

    /// Makes room for `strings` more strings of `bytes` bytes in all.
    pub fn reserve(&mut self, strings: usize, bytes: usize) {
        self.arena.reserve(bytes);
        self.ends.reserve(strings);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interns_each_string_once() {
        let mut t = Interner::default();
        let a = t.intern("alpha");
        let b = t.intern("beta");
        assert_eq!(t.intern("alpha"), a);
        assert_ne!(a, b);
        assert_eq!(t.resolve(b), "beta");
        assert_eq!(t.get("beta"), Some(b));
        assert_eq!(t.get("gamma"), None);
        for i in 0..10_000 {
            t.intern(&format!("s{i}"));
        }
        assert_eq!(t.len(), 10_002);
        assert_eq!(t.resolve(t.get("s9999").unwrap()), "s9999");
        assert_eq!(t.intern(""), 10_002);
        assert_eq!(t.resolve(10_002), "");
        // Every string is found again after the table grew many times.
        for i in 0..10_000 {
            assert_eq!(t.get(&format!("s{i}")), Some(i + 2));
        }
    }

    #[test]
    fn touching_and_reserving_change_nothing() {
        let mut t = Interner::default();
        assert_eq!(t.touch(Interner::hash_of("alpha")), 0);
        assert_eq!(t.get("alpha"), None);
        t.intern("alpha");
        t.reserve(100_000, 1_000_000);
        assert_eq!(t.get("alpha"), Some(0));
        assert_ne!(t.touch(Interner::hash_of("alpha")), 0);
        assert_eq!(t.intern("beta"), 1);
        assert_eq!(t.intern("alpha"), 0);
        assert_eq!(t.len(), 2);
    }
}
