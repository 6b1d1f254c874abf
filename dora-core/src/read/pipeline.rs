//! The reader's pipeline: the producer (the calling thread) cuts the input
//! into blocks and hands them to a [`BlockSink`], parser threads parse them
//! (on every core), and one thread interns the results into the
//! [`EventSet`] in input order. The blocks' buffers go round in pools, so
//! the pipeline's memory is bounded and reused: [`BLOCKS_IN_FLIGHT`]
//! blocks at most between the producer and the interner.

use std::collections::BTreeMap;
use std::path::Path;

use crossbeam_channel::{Receiver, Sender, bounded, unbounded};

use super::jsonl::{BLOCK_BYTES, Block, LINE_BLOCK_BYTES, MAX_LINE_LIMIT, Parsed, Spare, parse_block};
use super::{ReadOptions, ReadSummary, SkippedLine};
use crate::error::{Error, Location, Result};
use crate::event::EventSet;

/// Blocks in flight between the reader and the interner (bounds memory).
const BLOCKS_IN_FLIGHT: usize = 8;

/// One read of events into a set: where they go, what names them in
/// errors, and how to read them.
pub(crate) struct Pipeline<'a> {
    /// The set the events go into.
    pub set: &'a mut EventSet,
    /// Names the input in errors.
    pub path: Option<&'a Path>,
    /// How to read.
    pub opts: &'a ReadOptions,
    /// The input's size in bytes, if known (else 0): the interning thread
    /// sizes the set's tables from it and the first block's bytes per event,
    /// so that they are laid out once, at about the size they end at.
    pub input_bytes: u64,
}

impl Pipeline<'_> {
    /// Runs the pipeline over the blocks that `produce` (on this thread)
    /// hands to its [`BlockSink`].
    pub(crate) fn run(
        self,
        produce: impl FnOnce(&mut BlockSink) -> std::io::Result<()>,
    ) -> Result<ReadSummary> {
        let max_line = self.opts.max_line_bytes.clamp(1, MAX_LINE_LIMIT);
        let threads = match self.opts.threads {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()).min(8),
            n => n,
        };
        let (job_tx, job_rx) = bounded::<Block>(BLOCKS_IN_FLIGHT);
        let (text_pool_tx, text_pool_rx) = bounded::<Vec<u8>>(BLOCKS_IN_FLIGHT * 2);
        let (spare_tx, spare_rx) = bounded::<Spare>(BLOCKS_IN_FLIGHT * 2);
        let (result_tx, result_rx) = unbounded::<Parsed>();
        let (permit_tx, permit_rx) = bounded::<()>(BLOCKS_IN_FLIGHT);
        let path = self.path;
        let (interned, read) = std::thread::scope(|scope| {
            for _ in 0..threads {
                let jobs = job_rx.clone();
                let results = result_tx.clone();
                let spares = spare_rx.clone();
                scope.spawn(move || {
                    for block in jobs.iter() {
                        if results.send(parse_block(block, max_line, spares.try_recv().ok())).is_err() {
                            break;
                        }
                    }
                });
            }
            drop((job_rx, result_tx));
            drop(spare_rx);
            let interner = scope.spawn(move || self.intern(result_rx, permit_rx, text_pool_tx, spare_tx));
            let read =
                produce(&mut BlockSink { jobs: job_tx, permits: permit_tx, pool: text_pool_rx, index: 0 });
            let interned = interner.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
            (interned, read)
        });
        outcome(interned, read, path)
    }
}

impl Pipeline<'_> {
    /// The blocks [`Pipeline::run_here`] takes: more would not fit the
    /// bounded channels without a consumer running at the same time.
    pub(crate) const HERE_MAX_BLOCKS: usize = BLOCKS_IN_FLIGHT - 1;

    /// Runs the pipeline on this thread, without starting any: produces
    /// every block, parses each in turn, then interns them. For inputs of
    /// at most [`Pipeline::HERE_MAX_BLOCKS`] blocks (a request's body,
    /// say), where starting threads would cost more than the parsing.
    pub(crate) fn run_here(
        self,
        produce: impl FnOnce(&mut BlockSink) -> std::io::Result<()>,
    ) -> Result<ReadSummary> {
        let max_line = self.opts.max_line_bytes.clamp(1, MAX_LINE_LIMIT);
        let (job_tx, job_rx) = bounded::<Block>(BLOCKS_IN_FLIGHT);
        let (text_pool_tx, text_pool_rx) = bounded::<Vec<u8>>(BLOCKS_IN_FLIGHT * 2);
        let (spare_tx, _spare_rx) = bounded::<Spare>(BLOCKS_IN_FLIGHT * 2);
        let (result_tx, result_rx) = unbounded::<Parsed>();
        let (permit_tx, permit_rx) = bounded::<()>(BLOCKS_IN_FLIGHT);
        let read = produce(&mut BlockSink { jobs: job_tx, permits: permit_tx, pool: text_pool_rx, index: 0 });
        for block in job_rx.try_iter() {
            let _ = result_tx.send(parse_block(block, max_line, None));
        }
        drop(result_tx);
        let path = self.path;
        let interned = self.intern(result_rx, permit_rx, text_pool_tx, spare_tx);
        outcome(interned, read, path)
    }
}

/// A read's result from the interning's and the producer's: a data error
/// found first wins over a read error that came after it, and an input
/// with no event (empty, or every line skipped) is an error.
fn outcome(
    interned: Result<ReadSummary>,
    read: std::io::Result<()>,
    path: Option<&Path>,
) -> Result<ReadSummary> {
    let io_path = || path.map(Path::to_path_buf);
    let summary = match (interned, read) {
        (Err(e), _) => Err(e),
        (Ok(_), Err(e)) => Err(Error::Io { path: io_path(), error: e }),
        (Ok(s), Ok(())) => Ok(s),
    }?;
    if summary.events == 0 && summary.skipped.is_empty() {
        return Err(Error::EmptyInput { path: io_path() });
    }
    if summary.events == 0 {
        return Err(Error::InvalidEvent {
            location: Location { path: io_path(), line: summary.lines, field: None },
            message: format!("no valid events: all {} non-blank lines were skipped", summary.skipped.len()),
        });
    }
    Ok(summary)
}

/// Where the producer hands its blocks: it gives out reused buffers
/// ([`BlockSink::buffer`]) and numbers the blocks in order.
pub(crate) struct BlockSink {
    jobs: Sender<Block>,
    permits: Sender<()>,
    pool: Receiver<Vec<u8>>,
    index: u64,
}

impl BlockSink {
    /// The size a block should reach before it is sent.
    pub const BLOCK_BYTES: usize = BLOCK_BYTES;

    /// An empty buffer for the next block (reused when one is free).
    pub fn buffer(&self) -> Vec<u8> {
        self.pool
            .try_recv()
            .map(|mut v| {
                v.clear();
                v
            })
            .unwrap_or_else(|_| Vec::with_capacity(BLOCK_BYTES + 64 * 1024))
    }

    /// A buffer for the next block, as [`BlockSink::buffer`], but a reused
    /// one keeps its length and old bytes: a reader that overwrites them
    /// need not zero the buffer again (fresh ones are empty).
    pub(super) fn scratch_buffer(&self) -> Vec<u8> {
        self.pool.try_recv().unwrap_or_else(|_| Vec::with_capacity(LINE_BLOCK_BYTES + 64 * 1024))
    }

    /// Sends the next block, made from its index. Returns `false` when
    /// reading stopped (an error was found): the producer should stop too.
    pub(super) fn send(&mut self, block: impl FnOnce(u64) -> Block) -> bool {
        let ok = self.permits.send(()).is_ok() && self.jobs.send(block(self.index)).is_ok();
        self.index += 1;
        ok
    }

    /// Sends a block of binary records, each after its `u32` little-endian
    /// length. Returns `false` when reading stopped (an error was found):
    /// the producer should stop too.
    #[cfg(feature = "store")]
    pub fn send_records(&mut self, bytes: Vec<u8>) -> bool {
        self.send(|index| Block::Records { index, bytes })
    }
}

/// The most events [`expected_events`] expects (the tables then grow as needed).
const MAX_EXPECTED_EVENTS: u64 = 50_000_000;

/// The fewest bytes an event line takes, nearly (the shortest valid line,
/// a change with one-letter strings, takes 78): no estimate expects more
/// events than the input holds lines of this size.
const MIN_EVENT_BYTES: u64 = 64;

/// The events to expect in an input of `input_bytes` whose first block
/// held `events` events in `block_bytes` bytes (0 when either is unknown).
/// Only the block's events count, not its blank or skipped lines: a file
/// that opens with many of those is not taken for millions of events.
fn expected_events(input_bytes: u64, block_bytes: usize, events: usize) -> usize {
    if block_bytes == 0 {
        return 0;
    }
    let estimate = u128::from(input_bytes) * events as u128 / block_bytes as u128;
    let most = (input_bytes / MIN_EVENT_BYTES).min(MAX_EXPECTED_EVENTS);
    estimate.min(u128::from(most)) as usize
}

impl Pipeline<'_> {
    /// Receives parsed blocks, puts them back in order and interns them
    /// into the set, sizing its tables on the first ([`expected_events`]).
    fn intern(
        self,
        results: Receiver<Parsed>,
        permits: Receiver<()>,
        text_pool: Sender<Vec<u8>>,
        spare_pool: Sender<Spare>,
    ) -> Result<ReadSummary> {
        let Pipeline { set, path, opts, input_bytes } = self;
        let mut summary = ReadSummary { path: path.map(Path::to_path_buf), ..ReadSummary::default() };
        let mut pending: BTreeMap<u64, Parsed> = BTreeMap::new();
        let mut next = 0u64;
        let location = |line: u64, field: &str| Location {
            path: path.map(Path::to_path_buf),
            line,
            field: (!field.is_empty()).then(|| field.to_string()),
        };
        for parsed in results.iter() {
            pending.insert(parsed.index, parsed);
            while let Some(block) = pending.remove(&next) {
                if next == 0 && input_bytes > 0 {
                    let bytes = block.text.as_ref().map_or_else(Vec::len, String::len);
                    set.reserve(expected_events(input_bytes, bytes, block.events.len()));
                }
                next += 1;
                let _ = permits.try_recv();
                let base = summary.lines + 1;
                if let Some((line, field, message)) = block.errors.first()
                    && !opts.skip_bad_lines
                {
                    return Err(Error::InvalidEvent {
                        location: location(base + *line as u64, field),
                        message: message.clone(),
                    });
                }
                for (line, field, message) in &block.errors {
                    summary.skipped.push(SkippedLine {
                        location: location(base + *line as u64, field),
                        message: message.clone(),
                    });
                }
                set.insert_batch(&block.events, |(_, ev)| ev, |s| block.resolve(s));
                summary.events += block.events.len() as u64;
                summary.lines += block.lines;
                let Parsed { text, events, side, .. } = block;
                let _ = text_pool.try_send(text.map_or_else(|b| b, String::into_bytes));
                let _ = spare_pool.try_send((events, side));
            }
        }
        Ok(summary)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tables_are_sized_from_the_first_blocks_events() {
        // 1,000 events of 500 bytes in the first block of a 1 GB file.
        assert_eq!(expected_events(1_000_000_000, 500_000, 1_000), 2_000_000);
        // Nothing known, nothing reserved; a block of blank or skipped
        // lines expects no event.
        assert_eq!(expected_events(1_000_000_000, 0, 0), 0);
        assert_eq!(expected_events(0, 500_000, 1_000), 0);
        assert_eq!(expected_events(1_000_000_000, 262_144, 0), 0);
        // Never more than lines of the shortest event would hold, nor the cap.
        assert_eq!(expected_events(6_400, 10, 10), 100);
        assert_eq!(expected_events(u64::MAX, 1, 1), MAX_EXPECTED_EVENTS as usize);
    }

    /// A file that opens with a block of blank lines, then events: the
    /// tables are not sized for the blank lines (a set that reserved 50
    /// million events would hold over 700 MB of empty tables).
    #[test]
    fn blank_lines_do_not_size_the_tables() {
        use crate::read::{ReadOptions, read_jsonl_path};

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("blank-first.jsonl");
        let line = r#"{"kind":"change","id":"c","service":"a","committed_at":"2026-03-02T14:05:00Z"}"#;
        let text = "\n".repeat(600_000) + line + "\n";
        std::fs::write(&path, text).unwrap();
        let mut set = EventSet::new();
        read_jsonl_path(&path, &mut set, &ReadOptions::default()).unwrap();
        assert_eq!(set.len(), 1);
        assert!(set.change_ids.slots() < 1_000, "{} slots", set.change_ids.slots());
    }
}
