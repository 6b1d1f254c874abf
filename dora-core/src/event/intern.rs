//! Compact string interning: every distinct string stored once in one arena,
//! found again through a hash table of indexes.

use std::hash::BuildHasher;

use hashbrown::HashTable;
use rustc_hash::FxBuildHasher;

/// Maps strings to dense `u32` indexes, in order of first sight: each
/// distinct string is stored once in a [`TextArena`], found again through a
/// hash table of indexes.
#[derive(Clone, Default)]
pub(crate) struct Interner {
    strings: TextArena,
    table: HashTable<u32>,
}

impl std::fmt::Debug for Interner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Interner").field("len", &self.len()).finish()
    }
}

#[inline]
fn hash(s: &str) -> u64 {
    FxBuildHasher.hash_one(s)
}

impl Interner {
    /// Makes room for `strings` more strings of `bytes` bytes in all.
    pub fn reserve(&mut self, strings: usize, bytes: usize) {
        self.strings.reserve(strings, bytes);
        let Self { strings: arena, table } = self;
        table.reserve(strings, |&i| hash(arena.get(i)));
    }

    /// The number of distinct strings.
    pub fn len(&self) -> usize {
        self.strings.len()
    }

    /// The string of an index returned by [`Interner::intern`].
    #[inline]
    pub fn resolve(&self, index: u32) -> &str {
        self.strings.get(index)
    }

    /// The index of `s`, if it was interned.
    pub fn get(&self, s: &str) -> Option<u32> {
        self.table.find(hash(s), |&i| self.strings.get(i) == s).copied()
    }

    /// The index of `s`, adding it when new.
    #[inline]
    pub fn intern(&mut self, s: &str) -> u32 {
        let h = hash(s);
        let Self { strings, table } = self;
        if let Some(&i) = table.find(h, |&i| strings.get(i) == s) {
            return i;
        }
        let index = strings.push(s);
        table.insert_unique(h, index, |&i| hash(strings.get(i)));
        index
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
        self.arena.push_str(s);
        self.ends.push(self.arena.len());
        u32::try_from(self.ends.len() - 1).expect("more than 4 billion strings")
    }

    /// The number of strings stored.
    pub fn len(&self) -> usize {
        self.ends.len()
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
    }
}
