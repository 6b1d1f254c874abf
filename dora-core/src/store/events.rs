//! The event tables of a write ([`layout`](super::layout) over SQLite):
//! appending records to blocks, finding an event by its identity, and the
//! replacement rule.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension, params};

use super::PutOutcome;
use super::layout::{Block, REOPEN_BYTES, for_each_slot};
use crate::error::{Error, Result};
use crate::event::EventKind;
use crate::read::record;

/// How an identity becomes its key: [`super::layout::identity_key`], or in
/// tests a function with many collisions.
pub(crate) type KeyFn = fn(EventKind, &str) -> i64;

/// Blocks read back for comparisons kept in memory at most (about 4 MiB).
const CACHED_BLOCKS: usize = 32;

/// The event tables as one write sees them.
pub(crate) struct EventTables {
    path: PathBuf,
    key_of: KeyFn,
    /// The sequence number the next appended event gets.
    next_seq: i64,
    /// The store's last block when the write started: its first sequence
    /// number, slots and bytes.
    last_stored: Option<(i64, i64, i64)>,
    /// The block being appended to, once the write appends.
    tail: Option<Tail>,
    /// Stored blocks read by this write, newest last.
    cache: VecDeque<Block>,
    /// Live events added, per kind code.
    live: [i64; 3],
}

struct Tail {
    block: Block,
    /// Whether the block has a row already (a reopened last block).
    stored: bool,
    /// Whether it changed since it was read or last written.
    dirty: bool,
}

impl EventTables {
    /// Reads where the event tables end, inside the write's transaction.
    pub(crate) fn start(conn: &Connection, path: &Path, key_of: KeyFn) -> Result<EventTables> {
        let last_stored: Option<(i64, i64, i64)> = conn
            .query_row(
                "SELECT first_seq, count, length(records) FROM event_blocks ORDER BY first_seq DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()
            .map_err(|e| Error::store(path, e))?;
        Ok(EventTables {
            path: path.to_path_buf(),
            key_of,
            next_seq: last_stored.map_or(1, |(first, count, _)| first + count),
            last_stored,
            tail: None,
            cache: VecDeque::new(),
            live: [0; 3],
        })
    }

    fn err(&self, e: rusqlite::Error) -> Error {
        Error::store(&self.path, e)
    }

    fn corrupt(&self, message: String) -> Error {
        Error::Store { path: self.path.clone(), message }
    }

    /// Whether the store held no event when the write started and none was
    /// appended since.
    pub(crate) fn is_empty(&self) -> bool {
        self.last_stored.is_none() && self.tail.as_ref().is_none_or(|t| t.block.count() == 0)
    }

    /// The key of an identity.
    pub(crate) fn key(&self, kind: EventKind, id: &str) -> i64 {
        (self.key_of)(kind, id)
    }

    /// Writes one event given as its record under the replacement rule: a
    /// new identity is appended; a stored one equal byte for byte is left;
    /// a different version is appended and the stored one marked dead.
    pub(crate) fn put(
        &mut self,
        conn: &Connection,
        kind: EventKind,
        id: &str,
        rec: &[u8],
    ) -> Result<PutOutcome> {
        let mut key = self.key(kind, id);
        loop {
            let inserted = conn
                .prepare_cached(
                    "INSERT INTO event_keys (key, seq) VALUES (?1, ?2) ON CONFLICT (key) DO NOTHING",
                )
                .and_then(|mut s| s.execute(params![key, self.next_seq]))
                .map_err(|e| self.err(e))?
                == 1;
            if inserted {
                self.append(conn, kind, rec)?;
                return Ok(PutOutcome::Added);
            }
            let seq =
                self.seq_of(conn, key)?.ok_or_else(|| self.corrupt("an identity key vanished".into()))?;
            let (same_identity, same_record) = {
                let stored = self.record(conn, seq)?;
                (is_identity(stored, kind, id), stored == rec)
            };
            if !same_identity {
                key = key.wrapping_add(1);
                continue;
            }
            if same_record {
                return Ok(PutOutcome::Unchanged);
            }
            self.kill(conn, seq)?;
            conn.prepare_cached("UPDATE event_keys SET seq = ?2 WHERE key = ?1")
                .and_then(|mut s| s.execute(params![key, self.next_seq]))
                .map_err(|e| self.err(e))?;
            self.append(conn, kind, rec)?;
            self.live[kind as usize] -= 1;
            return Ok(PutOutcome::Replaced);
        }
    }

    /// The sequence number of the live event of `(kind, id)`, if stored.
    pub(crate) fn find(&mut self, conn: &Connection, kind: EventKind, id: &str) -> Result<Option<i64>> {
        let mut key = self.key(kind, id);
        loop {
            let Some(seq) = self.seq_of(conn, key)? else {
                return Ok(None);
            };
            if is_identity(self.record(conn, seq)?, kind, id) {
                return Ok(Some(seq));
            }
            key = key.wrapping_add(1);
        }
    }

    fn seq_of(&self, conn: &Connection, key: i64) -> Result<Option<i64>> {
        conn.prepare_cached("SELECT seq FROM event_keys WHERE key = ?1")
            .and_then(|mut s| s.query_row([key], |r| r.get(0)).optional())
            .map_err(|e| self.err(e))
    }

    /// Appends a record without looking for its identity (a bulk load into
    /// an empty store, where none can be stored): its key is for
    /// [`EventTables::insert_keys`]. Returns its sequence number.
    pub(crate) fn append(&mut self, conn: &Connection, kind: EventKind, rec: &[u8]) -> Result<i64> {
        if self.tail.is_none() {
            self.tail = Some(self.open_tail(conn)?);
        }
        let full = self.tail.as_ref().is_some_and(|t| t.block.is_full_for(rec.len()));
        if full {
            self.flush_tail(conn)?;
            let next = Block::new(self.next_seq);
            let done = std::mem::replace(&mut self.tail.as_mut().expect("a tail").block, next);
            self.keep(done);
            self.tail.as_mut().expect("a tail").stored = false;
        }
        let tail = self.tail.as_mut().expect("a tail");
        tail.block.push(rec).map_err(|message| Error::Store { path: self.path.clone(), message })?;
        tail.dirty = true;
        let seq = self.next_seq;
        self.next_seq += 1;
        self.live[kind as usize] += 1;
        Ok(seq)
    }

    /// The block appends go to first: the store's last block when it is
    /// small and not full, else a new one.
    fn open_tail(&mut self, conn: &Connection) -> Result<Tail> {
        if let Some((first, count, bytes)) = self.last_stored
            && (count as usize) < super::layout::BLOCK_RECORDS
            && bytes as usize <= REOPEN_BYTES
        {
            let block = match self.cache.iter().position(|b| b.first_seq == first) {
                Some(i) => self.cache.remove(i).expect("a cached block"),
                None => self.read_block(conn, first)?,
            };
            return Ok(Tail { block, stored: true, dirty: false });
        }
        Ok(Tail { block: Block::new(self.next_seq), stored: false, dirty: false })
    }

    /// Writes the tail block's row when it changed.
    fn flush_tail(&mut self, conn: &Connection) -> Result<()> {
        let Some(tail) = self.tail.as_mut().filter(|t| t.dirty && t.block.count() > 0) else {
            return Ok(());
        };
        let sql = if tail.stored {
            "UPDATE event_blocks SET count = ?2, records = ?3 WHERE first_seq = ?1"
        } else {
            "INSERT INTO event_blocks (first_seq, count, records) VALUES (?1, ?2, ?3)"
        };
        let b = &tail.block;
        conn.prepare_cached(sql)
            .and_then(|mut s| s.execute(params![b.first_seq, b.count() as i64, b.bytes]))
            .map_err(|e| Error::store(&self.path, e))?;
        tail.stored = true;
        tail.dirty = false;
        Ok(())
    }

    /// Keeps a block read or written in the cache, dropping the oldest.
    fn keep(&mut self, block: Block) {
        if self.cache.len() == CACHED_BLOCKS {
            self.cache.pop_front();
        }
        self.cache.push_back(block);
    }

    fn read_block(&self, conn: &Connection, first_seq: i64) -> Result<Block> {
        let bytes: Vec<u8> = conn
            .prepare_cached("SELECT records FROM event_blocks WHERE first_seq = ?1")
            .and_then(|mut s| s.query_row([first_seq], |r| r.get(0)))
            .map_err(|e| self.err(e))?;
        Block::parse(first_seq, bytes).map_err(|m| self.corrupt(m))
    }

    /// Brings the stored block holding `seq` into the cache; its index.
    fn cached(&mut self, conn: &Connection, seq: i64) -> Result<usize> {
        if let Some(i) = self.cache.iter().position(|b| b.contains(seq)) {
            return Ok(i);
        }
        let first: i64 = conn
            .prepare_cached(
                "SELECT first_seq FROM event_blocks WHERE first_seq <= ?1 ORDER BY first_seq DESC LIMIT 1",
            )
            .and_then(|mut s| s.query_row([seq], |r| r.get(0)))
            .optional()
            .map_err(|e| self.err(e))?
            .ok_or_else(|| self.corrupt(format!("no block holds event {seq}")))?;
        let block = self.read_block(conn, first)?;
        if !block.contains(seq) {
            return Err(self.corrupt(format!("no block holds event {seq}")));
        }
        self.keep(block);
        Ok(self.cache.len() - 1)
    }

    /// The live record of `seq`.
    pub(crate) fn record(&mut self, conn: &Connection, seq: i64) -> Result<&[u8]> {
        let gone = |path: &Path| Error::Store {
            path: path.to_path_buf(),
            message: format!("event {seq} is not stored"),
        };
        let in_tail = self.tail.as_ref().is_some_and(|t| t.block.contains(seq));
        let block = if in_tail {
            &self.tail.as_ref().expect("a tail").block
        } else {
            let i = self.cached(conn, seq)?;
            &self.cache[i]
        };
        block.record(seq).ok_or_else(|| gone(&self.path))
    }

    /// Marks the record of `seq` dead, in memory and in its stored block.
    fn kill(&mut self, conn: &Connection, seq: i64) -> Result<()> {
        if let Some(tail) = self.tail.as_mut().filter(|t| t.block.contains(seq)) {
            tail.block.kill(seq);
            tail.dirty = true;
            return Ok(());
        }
        let i = self.cached(conn, seq)?;
        let block = &mut self.cache[i];
        let Some((at, word)) = block.kill(seq) else {
            return Ok(());
        };
        let first = block.first_seq;
        // Four bytes of the stored block, written in place.
        let mut blob = conn
            .blob_open(rusqlite::MAIN_DB, "event_blocks", "records", first, false)
            .map_err(|e| self.err(e))?;
        blob.write_at(&word, at).map_err(|e| self.err(e))
    }

    /// Inserts the keys of a bulk load, `(key, seq)` per event appended with
    /// [`EventTables::append`] (every identity new and distinct): in sorted
    /// order, so each insert appends to the table; keys equal to one
    /// already taken go to the next free key after it.
    pub(crate) fn insert_keys(&mut self, conn: &Connection, mut keys: Vec<(i64, i64)>) -> Result<()> {
        keys.sort_unstable_by_key(|&(key, _)| key);
        let mut taken = Vec::new();
        {
            let mut insert = conn
                .prepare_cached("INSERT INTO event_keys (key, seq) VALUES (?1, ?2)")
                .map_err(|e| self.err(e))?;
            let mut last = None;
            for &(key, seq) in &keys {
                if last == Some(key) {
                    taken.push((key, seq));
                    continue;
                }
                insert.execute(params![key, seq]).map_err(|e| self.err(e))?;
                last = Some(key);
            }
        }
        let mut probe = conn
            .prepare_cached("INSERT INTO event_keys (key, seq) VALUES (?1, ?2) ON CONFLICT (key) DO NOTHING")
            .map_err(|e| self.err(e))?;
        for (mut key, seq) in taken {
            while probe.execute(params![key, seq]).map_err(|e| self.err(e))? == 0 {
                key = key.wrapping_add(1);
            }
        }
        Ok(())
    }

    /// Writes what is left in memory: the tail block and the counts.
    pub(crate) fn finish(&mut self, conn: &Connection) -> Result<()> {
        self.flush_tail(conn)?;
        let mut add = conn
            .prepare_cached(
                "INSERT INTO event_counts (kind, live) VALUES (?1, ?2)
                 ON CONFLICT (kind) DO UPDATE SET live = live + excluded.live",
            )
            .map_err(|e| self.err(e))?;
        for (kind, n) in self.live.iter().enumerate() {
            if *n != 0 {
                add.execute(params![kind as i64, n]).map_err(|e| self.err(e))?;
            }
        }
        self.live = [0; 3];
        Ok(())
    }
}

/// Whether a stored record is of the identity `(kind, id)`.
fn is_identity(stored: &[u8], kind: EventKind, id: &str) -> bool {
    record::identity(stored) == Some((kind as u8, id.as_bytes()))
}

/// Calls `f` with the live record of every slot of the blocks in `rows`
/// (`first_seq, records`, in the store's order).
pub(crate) fn for_each_live_record(
    rows: &mut rusqlite::Rows<'_>,
    path: &Path,
    mut f: impl FnMut(&[u8]) -> Result<()>,
) -> Result<()> {
    let e = |e| Error::store(path, e);
    while let Some(row) = rows.next().map_err(e)? {
        let first: i64 = row.get(0).map_err(e)?;
        let bytes = row.get_ref(1).map_err(e)?.as_blob().map_err(|x| e(x.into()))?;
        let mut result = Ok(());
        for_each_slot(bytes, |_, live, rec| {
            if live && result.is_ok() {
                result = f(rec);
            }
        })
        .map_err(|m| Error::Store {
            path: path.to_path_buf(),
            message: format!("the block of events from {first}: {m}"),
        })?;
        result?;
    }
    Ok(())
}

/// Moves the events of a store of schema version 4 or older (one row per
/// event in `events`, by `seq`) into blocks and keys, then drops the old
/// table; part of the migration to version 5, in its transaction.
pub(crate) fn convert_rows(conn: &Connection, path: &Path) -> Result<()> {
    let e = |e| Error::store(path, e);
    if !super::schema::has_table(conn, "events").map_err(e)? {
        return Ok(());
    }
    let mut tables = EventTables::start(conn, path, super::layout::identity_key)?;
    let mut keys = Vec::new();
    {
        let mut stmt = conn.prepare("SELECT kind, id, record FROM events ORDER BY seq").map_err(e)?;
        let mut rows = stmt.query([]).map_err(e)?;
        while let Some(row) = rows.next().map_err(e)? {
            let kind = match row.get::<_, i64>(0).map_err(e)? {
                0 => EventKind::Deployment,
                1 => EventKind::Change,
                _ => EventKind::Incident,
            };
            let id = row.get_ref(1).map_err(e)?.as_str().map_err(|x| e(x.into()))?;
            let key = tables.key(kind, id);
            let rec = row.get_ref(2).map_err(e)?.as_blob().map_err(|x| e(x.into()))?;
            let seq = tables.append(conn, kind, rec)?;
            keys.push((key, seq));
        }
    }
    tables.insert_keys(conn, keys)?;
    tables.finish(conn)?;
    conn.execute_batch("DROP TABLE events").map_err(e)
}
