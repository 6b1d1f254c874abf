//! How events lie in the store (schema version 5), without SQLite: blocks
//! of records, and the identity key.
//!
//! A block holds the records (`read::record`) of consecutive events of the
//! store's order, `first_seq .. first_seq + count`, each as a little-endian
//! `u32` length then the record. A record replaced by a newer version keeps
//! its slot with the high bit of its length set ([`DEAD`]): slots never
//! move, so an event's sequence number locates it for as long as it lives,
//! and marking one dead rewrites four bytes, not the block.
//!
//! An event's identity, its kind and id, is found through a 64-bit hash of
//! it ([`identity_key`]), the integer key of one B-tree, instead of an index
//! of the ids' text: an integer key is smaller and cheaper to compare, and a
//! bulk load inserts the keys in sorted order (appends). Two identities with
//! the same hash take consecutive keys (linear probing); events are never
//! deleted, so a probe ends at the first free key.

use crate::event::EventKind;

/// The high bit of a slot's length: the record in it was replaced.
pub(crate) const DEAD: u32 = 1 << 31;

/// A block holds at most this many records...
pub(crate) const BLOCK_RECORDS: usize = 256;

/// ... and grows past this many bytes only to hold its first record.
pub(crate) const BLOCK_BYTES: usize = 128 * 1024;

/// The store's last block, when at most this large and not full, is
/// reopened by the next write that appends, instead of starting a new one:
/// rewriting it costs about the pages a new row would, and a stream of
/// small writes (`dora serve`'s single events) then fills blocks instead of
/// leaving one per write.
pub(crate) const REOPEN_BYTES: usize = 12 * 1024;

/// The key of an identity in the store's identity table: the XXH3 64-bit
/// hash of the id's UTF-8 bytes, seeded with the kind's code (0
/// deployment, 1 change, 2 incident), as a signed integer. Stored in every
/// store file: it must never change.
pub(crate) fn identity_key(kind: EventKind, id: &str) -> i64 {
    xxhash_rust::xxh3::xxh3_64_with_seed(id.as_bytes(), kind as u64) as i64
}

/// One block of records, in memory.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Block {
    /// The sequence number of its first slot.
    pub(crate) first_seq: i64,
    /// Its stored form: each slot's length, then its record.
    pub(crate) bytes: Vec<u8>,
    /// Where each slot's length starts in `bytes`.
    offsets: Vec<u32>,
}

impl Block {
    /// An empty block whose first slot will be `first_seq`.
    pub(crate) fn new(first_seq: i64) -> Block {
        Block { first_seq, bytes: Vec::new(), offsets: Vec::new() }
    }

    /// A block read from the store, its slots checked to lie within it.
    pub(crate) fn parse(first_seq: i64, bytes: Vec<u8>) -> Result<Block, String> {
        let mut offsets = Vec::new();
        for_each_slot(&bytes, |at, _, _| offsets.push(at as u32))
            .map_err(|e| format!("the block of events from {first_seq}: {e}"))?;
        Ok(Block { first_seq, bytes, offsets })
    }

    /// The number of slots, live or dead.
    pub(crate) fn count(&self) -> usize {
        self.offsets.len()
    }

    /// The sequence number after its last slot.
    pub(crate) fn end_seq(&self) -> i64 {
        self.first_seq + self.count() as i64
    }

    /// Whether the slot of `seq` is in this block.
    pub(crate) fn contains(&self, seq: i64) -> bool {
        (self.first_seq..self.end_seq()).contains(&seq)
    }

    /// Whether a record of `len` bytes belongs in the next block instead.
    pub(crate) fn is_full_for(&self, len: usize) -> bool {
        self.count() >= BLOCK_RECORDS || (self.count() > 0 && self.bytes.len() + 4 + len > BLOCK_BYTES)
    }

    /// Appends a record in the next slot.
    pub(crate) fn push(&mut self, record: &[u8]) -> Result<(), String> {
        let len = u32::try_from(record.len()).ok().filter(|&n| n < DEAD).ok_or_else(|| {
            format!("an event's record of {} bytes is over the 2 GiB a slot holds", record.len())
        })?;
        self.offsets.push(self.bytes.len() as u32);
        self.bytes.extend_from_slice(&len.to_le_bytes());
        self.bytes.extend_from_slice(record);
        Ok(())
    }

    /// The slot of `seq`: the offset of its length and the length word.
    fn slot(&self, seq: i64) -> Option<(usize, u32)> {
        let at = *self.offsets.get(usize::try_from(seq - self.first_seq).ok()?)? as usize;
        let word = u32::from_le_bytes(self.bytes[at..at + 4].try_into().ok()?);
        Some((at, word))
    }

    /// The live record of `seq`, if `seq` is in this block and not dead.
    pub(crate) fn record(&self, seq: i64) -> Option<&[u8]> {
        let (at, word) = self.slot(seq)?;
        (word & DEAD == 0).then(|| &self.bytes[at + 4..at + 4 + word as usize])
    }

    /// Marks the record of `seq` dead. Returns where its length starts and
    /// the new length word, for writing them into the stored block; `None`
    /// when `seq` is not a live slot of this block.
    pub(crate) fn kill(&mut self, seq: i64) -> Option<(usize, [u8; 4])> {
        let (at, word) = self.slot(seq)?;
        if word & DEAD != 0 {
            return None;
        }
        let dead = (word | DEAD).to_le_bytes();
        self.bytes[at..at + 4].copy_from_slice(&dead);
        Some((at, dead))
    }
}

/// Calls `f` with each slot of a stored block's bytes: where its length
/// starts, whether it is live, and its record.
pub(crate) fn for_each_slot(bytes: &[u8], mut f: impl FnMut(usize, bool, &[u8])) -> Result<(), String> {
    let mut at = 0;
    while at < bytes.len() {
        let word = bytes
            .get(at..at + 4)
            .map(|w| u32::from_le_bytes(w.try_into().expect("four bytes")))
            .ok_or("a slot's length is cut off")?;
        let len = (word & !DEAD) as usize;
        let record = bytes.get(at + 4..at + 4 + len).ok_or("a record runs past the end of its block")?;
        f(at, word & DEAD == 0, record);
        at += 4 + len;
    }
    Ok(())
}

/// Calls `f` with each run of consecutive live slots of a stored block's
/// bytes (lengths and records, as stored), skipping the dead ones: a block
/// without dead slots is one run.
pub(crate) fn for_each_live_run(bytes: &[u8], mut f: impl FnMut(&[u8])) -> Result<(), String> {
    let mut run_start = None;
    for_each_slot(bytes, |at, live, _| match (live, run_start) {
        (true, None) => run_start = Some(at),
        (false, Some(start)) => {
            f(&bytes[start..at]);
            run_start = None;
        }
        _ => {}
    })?;
    if let Some(start) = run_start {
        f(&bytes[start..]);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(records: &[&[u8]]) -> Block {
        let mut b = Block::new(10);
        for r in records {
            b.push(r).unwrap();
        }
        b
    }

    fn runs(bytes: &[u8]) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        for_each_live_run(bytes, |run| out.push(run.to_vec())).unwrap();
        out
    }

    #[test]
    fn slots_are_found_by_sequence_number_and_survive_a_round_trip() {
        let b = block(&[b"one", b"", b"three"]);
        assert_eq!((b.count(), b.end_seq()), (3, 13));
        assert_eq!(b.record(10), Some(&b"one"[..]));
        assert_eq!(b.record(11), Some(&b""[..]));
        assert_eq!(b.record(12), Some(&b"three"[..]));
        assert_eq!((b.record(9), b.record(13)), (None, None));
        assert_eq!(Block::parse(10, b.bytes.clone()).unwrap(), b);
    }

    #[test]
    fn a_dead_slot_keeps_its_place_and_is_skipped_by_readers() {
        let mut b = block(&[b"one", b"two", b"three", b"four"]);
        let (at, word) = b.kill(11).unwrap();
        assert_eq!(at, 7);
        assert_eq!(word, (3 | DEAD).to_le_bytes());
        assert_eq!(b.kill(11), None, "already dead");
        assert_eq!(b.record(11), None);
        assert_eq!(b.record(12), Some(&b"three"[..]), "later slots do not move");
        let parsed = Block::parse(10, b.bytes.clone()).unwrap();
        assert_eq!(parsed.record(11), None);
        assert_eq!(parsed.record(13), Some(&b"four"[..]));
        let mut whole = block(&[b"one"]).bytes;
        assert_eq!(runs(&b.bytes), vec![whole.clone(), block(&[b"three", b"four"]).bytes]);
        b.kill(10).unwrap();
        b.kill(13).unwrap();
        assert_eq!(runs(&b.bytes), vec![block(&[b"three"]).bytes]);
        whole.clear();
        assert!(runs(&whole).is_empty());
    }

    #[test]
    fn a_block_is_full_at_its_record_or_byte_limit_but_always_takes_one() {
        let mut b = Block::new(1);
        assert!(!b.is_full_for(BLOCK_BYTES * 2), "an empty block takes any record");
        b.push(&[0; 100]).unwrap();
        assert!(b.is_full_for(BLOCK_BYTES));
        assert!(!b.is_full_for(1000));
        for _ in 1..BLOCK_RECORDS {
            b.push(b"x").unwrap();
        }
        assert!(b.is_full_for(1));
    }

    #[test]
    fn corrupt_blocks_are_errors_not_panics() {
        let good = block(&[b"abc"]).bytes;
        assert!(Block::parse(1, good[..2].to_vec()).unwrap_err().contains("cut off"));
        assert!(Block::parse(1, good[..5].to_vec()).unwrap_err().contains("past the end"));
        let mut huge = good.clone();
        huge[..4].copy_from_slice(&(DEAD - 1).to_le_bytes());
        assert!(Block::parse(1, huge).is_err());
    }

    #[test]
    fn identity_keys_are_fixed_forever() {
        // Stored in every store: a change here would lose every identity.
        assert_eq!(identity_key(EventKind::Change, "c1"), identity_key(EventKind::Change, "c1"));
        assert_ne!(identity_key(EventKind::Change, "c1"), identity_key(EventKind::Deployment, "c1"));
        assert_eq!(identity_key(EventKind::Deployment, ""), xxhash_rust::xxh3::xxh3_64(b"") as i64);
        assert_eq!(identity_key(EventKind::Incident, "INC-1"), FIXED_INC_1);
    }

    /// `identity_key(Incident, "INC-1")`, as the reference XXH3 gives it too
    /// (Python's `xxhash.xxh3_64_intdigest(b"INC-1", seed=2)`, as signed).
    const FIXED_INC_1: i64 = 7_035_475_526_351_767_878;
}
