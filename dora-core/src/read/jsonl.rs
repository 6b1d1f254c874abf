//! The streaming, parallel JSON Lines reader.

use std::borrow::Cow;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};

/// Buffers a parsed block used, handed back to the parsers for reuse.
pub(super) type Spare = (Vec<(u32, RawEvent<Span>)>, String);
use std::path::Path;

use super::pipeline::{BlockSink, Pipeline};
use super::raw::{parse_line, parse_line_str};
use super::{ReadOptions, ReadSummary};
use crate::error::{Error, Result};
use crate::event::EventSet;
use crate::event::raw::RawEvent;

/// Target size of one block of records handed to a parser thread. Small
/// enough that a block is still in cache when the parser and then the
/// interning thread read it: 128 KiB read 8 % faster than 1 MiB
/// (docs/BENCHMARKS.md).
pub(super) const BLOCK_BYTES: usize = 1 << 17;
/// Target size of one block of JSON Lines: twice [`BLOCK_BYTES`], half the
/// blocks to hand round (channel sends, thread wake-ups), still in cache:
/// 9 % less read CPU time than 128 KiB on the foreign benchmark file, the
/// same on dora's own lines (docs/BENCHMARKS.md, twelfth session).
pub(super) const LINE_BLOCK_BYTES: usize = 2 * BLOCK_BYTES;
/// Upper bound of [`ReadOptions::max_line_bytes`].
pub(super) const MAX_LINE_LIMIT: usize = 1 << 30;
const SIDE_FLAG: u32 = 1 << 31;
/// The first bytes of a gzip stream.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// A string in a parsed block: a span of the block's bytes, or (with
/// [`SIDE_FLAG`] set in `start`) of its side arena of unescaped strings.
#[derive(Debug, Clone, Copy)]
pub(super) struct Span {
    start: u32,
    len: u32,
}

/// Bytes of whole lines, in input order.
pub(super) enum Block {
    Lines {
        index: u64,
        bytes: Vec<u8>,
    },
    /// Binary records ([`super::record`]), each after its `u32` length.
    #[cfg_attr(not(feature = "store"), allow(dead_code))]
    Records {
        index: u64,
        bytes: Vec<u8>,
    },
    /// One line longer than the limit (its bytes are not kept).
    Oversized {
        index: u64,
        bytes: u64,
    },
}

/// A parsed block.
pub(super) struct Parsed {
    pub(super) index: u64,
    /// The block's text when it is all valid UTF-8 (the usual case), else its bytes.
    pub(super) text: Result<String, Vec<u8>>,
    pub(super) side: String,
    /// (line within the block, event)
    pub(super) events: Vec<(u32, RawEvent<Span>)>,
    /// (line within the block, field, message)
    pub(super) errors: Vec<(u32, &'static str, String)>,
    pub(super) lines: u64,
}

impl Parsed {
    pub(super) fn resolve(&self, s: &Span) -> &str {
        let start = (s.start & !SIDE_FLAG) as usize;
        let range = start..start + s.len as usize;
        if s.start & SIDE_FLAG != 0 {
            return &self.side[range];
        }
        match &self.text {
            Ok(text) => &text[range],
            // The span was cut from a `&str` that serde_json validated as UTF-8.
            Err(bytes) => std::str::from_utf8(&bytes[range]).unwrap_or_default(),
        }
    }
}

pub(super) fn parse_block(block: Block, max_line: usize, spare: Option<Spare>) -> Parsed {
    let (index, bytes) = match block {
        Block::Oversized { index, bytes } => {
            return Parsed {
                index,
                text: Ok(String::new()),
                side: String::new(),
                events: Vec::new(),
                errors: vec![(
                    0,
                    "",
                    format!("line is {bytes} bytes or more, over the limit of {max_line} bytes"),
                )],
                lines: 1,
            };
        }
        Block::Lines { index, bytes } => (index, bytes),
        #[cfg(feature = "store")]
        Block::Records { index, bytes } => return parse_records(index, bytes, spare),
        #[cfg(not(feature = "store"))]
        Block::Records { index, .. } => {
            return Parsed {
                index,
                text: Ok(String::new()),
                side: String::new(),
                events: Vec::new(),
                errors: Vec::new(),
                lines: 0,
            };
        }
    };
    // Reuse the buffers of a block already interned: fresh memory costs page faults.
    let (mut events, mut side) = spare.unwrap_or_default();
    events.clear();
    side.clear();
    let mut errors = Vec::new();
    // Validate the block once (moving it into a String, no copy); its lines
    // then skip serde_json's per-string check.
    let text: Result<String, Vec<u8>> = String::from_utf8(bytes).map_err(|e| e.into_bytes());
    let raw: &[u8] = match &text {
        Ok(t) => t.as_bytes(),
        Err(b) => b,
    };
    let base = raw.as_ptr() as usize;
    let mut lines = 0u64;
    let mut start = 0usize;
    // A string inside the block, as its place there.
    let block_span = |b: &str| Span { start: (b.as_ptr() as usize - base) as u32, len: b.len() as u32 };
    let to_span = |s: Cow<'_, str>, side: &mut String| match s {
        Cow::Borrowed(b) => block_span(b),
        Cow::Owned(o) => {
            let span = Span { start: side.len() as u32 | SIDE_FLAG, len: o.len() as u32 };
            side.push_str(&o);
            span
        }
    };
    // Lines of one block mostly share their keys' order: each key is guessed
    // from the lines before it.
    let mut order = super::fast::KeyOrder::new();
    while start < raw.len() {
        let end = memchr::memchr(b'\n', &raw[start..]).map_or(raw.len(), |i| start + i);
        let (mut ls, mut le) = (start, end);
        let line_no = lines as u32;
        lines += 1;
        start = end + 1;
        if index == 0 && line_no == 0 && raw[ls..le].starts_with(b"\xEF\xBB\xBF") {
            ls += 3;
        }
        if raw[ls..le].iter().all(|b| matches!(b, b' ' | b'\t' | b'\r')) {
            continue;
        }
        if raw[le - 1] == b'\r' {
            le -= 1;
        }
        // The common shape goes straight to spans; the rest through serde.
        if let Ok(t) = &text
            && let Some(ev) = super::fast::parse_in_order(&t[ls..le], block_span, &mut order)
        {
            events.push((line_no, ev));
            continue;
        }
        let parsed = match &text {
            Ok(t) => parse_line_str(&t[ls..le]),
            Err(_) => parse_line(&raw[ls..le]),
        };
        match parsed {
            Ok(ev) => {
                let ev = ev.map_strs(|s| to_span(s, &mut side));
                events.push((line_no, ev));
            }
            Err((field, message)) => errors.push((line_no, field, message)),
        }
    }
    Parsed { index, text, side, events, errors, lines }
}

/// Decodes a block of binary records.
#[cfg(feature = "store")]
fn parse_records(index: u64, bytes: Vec<u8>, spare: Option<Spare>) -> Parsed {
    let (mut events, mut side) = spare.unwrap_or_default();
    events.clear();
    side.clear();
    let mut errors = Vec::new();
    let mut at = 0usize;
    let mut n = 0u32;
    while at < bytes.len() {
        let record = bytes
            .get(at..at + 4)
            .and_then(|l| <[u8; 4]>::try_from(l).ok())
            .map(|l| u32::from_le_bytes(l) as usize)
            .and_then(|len| bytes.get(at + 4..at + 4 + len));
        let Some(record) = record else {
            errors.push((n, "", "a stored block is damaged (a record runs past its end)".to_string()));
            n += 1;
            break;
        };
        at += 4 + record.len();
        // Strings are checked as UTF-8 here and copied to the side arena,
        // so the interning thread (the pipeline's slowest) slices them
        // without checking them again.
        let span = |b: &[u8]| {
            let text = std::str::from_utf8(b).ok()?;
            let span = Span { start: side.len() as u32 | SIDE_FLAG, len: text.len() as u32 };
            side.push_str(text);
            Some(span)
        };
        match super::record::decode_with(record, span) {
            Ok(ev) => events.push((n, ev)),
            Err(message) => errors.push((n, "", message)),
        }
        n += 1;
    }
    // The block's bytes go back to the pool through `text`.
    Parsed { index, text: Err(bytes), side, events, errors, lines: u64::from(n) }
}

/// Reads blocks of whole lines from `input` and sends them to the parsers.
/// Stops early (returning `Ok`) when the pipeline has shut down.
///
/// Each read goes straight into a block buffer, in one call per block. A
/// buffer keeps its length (its bytes stay initialized) while it goes
/// round the pool, so it is zeroed only when it is new or has to grow:
/// `read_to_end` would split each block into reads of 8 to 64 KiB.
fn read_blocks(mut input: impl Read, sink: &mut BlockSink, max_line: usize) -> std::io::Result<()> {
    let mut buf: Vec<u8> = sink.scratch_buffer();
    // `buf[..filled]` holds input; the rest is scratch space.
    let mut filled = 0usize;
    let mut eof = false;
    // Bytes of `buf` already searched for a newline without finding one.
    let mut searched = 0usize;
    loop {
        // Fill up to the block size (or more while the current line goes on).
        let target = LINE_BLOCK_BYTES.max(searched + 64 * 1024);
        while !eof && filled < target {
            if buf.len() < target {
                buf.resize(target, 0);
            }
            match input.read(&mut buf[filled..target]) {
                Ok(0) => eof = true,
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        if filled == 0 {
            return Ok(());
        }
        match memchr::memrchr(b'\n', &buf[searched..filled]).map(|i| i + searched) {
            Some(last) => {
                // The partial line after the last newline starts the next block.
                let mut next = sink.scratch_buffer();
                filled = put_front(&mut next, &buf[last + 1..filled]);
                let mut block = std::mem::replace(&mut buf, next);
                block.truncate(last + 1);
                searched = 0;
                if !sink.send(|index| Block::Lines { index, bytes: block }) {
                    return Ok(());
                }
            }
            None if eof => {
                let mut block = std::mem::take(&mut buf);
                block.truncate(filled);
                sink.send(|index| Block::Lines { index, bytes: block });
                return Ok(());
            }
            None if filled > max_line => {
                // One line over the limit: report it, then skip to its end.
                let mut skipped = filled as u64;
                let mut chunk = vec![0u8; 64 * 1024];
                let rest = loop {
                    let n = match input.read(&mut chunk) {
                        Ok(n) => n,
                        Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                        Err(e) => return Err(e),
                    };
                    if n == 0 {
                        eof = true;
                        break &chunk[..0];
                    }
                    if let Some(i) = memchr::memchr(b'\n', &chunk[..n]) {
                        skipped += i as u64;
                        break &chunk[i + 1..n];
                    }
                    skipped += n as u64;
                };
                filled = put_front(&mut buf, rest);
                if !sink.send(|index| Block::Oversized { index, bytes: skipped }) {
                    return Ok(());
                }
                searched = 0;
            }
            None => searched = filled,
        }
    }
}

/// Copies `bytes` to the start of `buf` (growing it if need be, never
/// shrinking it: its bytes stay initialized); returns their length.
fn put_front(buf: &mut Vec<u8>, bytes: &[u8]) -> usize {
    if buf.len() < bytes.len() {
        buf.resize(bytes.len(), 0);
    }
    buf[..bytes.len()].copy_from_slice(bytes);
    bytes.len()
}

/// Reads JSON Lines events from any buffered reader into `set`; gzip input
/// is recognised by its magic bytes and decompressed on the fly.
///
/// `path` only names the input in errors.
pub fn read_jsonl<R: BufRead>(
    mut input: R,
    path: Option<&Path>,
    set: &mut EventSet,
    opts: &ReadOptions,
) -> Result<ReadSummary> {
    let gz = input
        .fill_buf()
        .map_err(|error| Error::Io { path: path.map(Path::to_path_buf), error })?
        .starts_with(&GZIP_MAGIC);
    if gz {
        read_plain(flate2::bufread::MultiGzDecoder::new(input), path, set, opts, 0)
    } else {
        read_plain(input, path, set, opts, 0)
    }
}

/// Reads JSON Lines held in memory into `set`, as [`read_jsonl`] does
/// (gzip-compressed bytes too). A small input (up to 512 KiB, such as the
/// body of a request) is read on the calling thread without starting any;
/// a larger one with the reader's threads.
///
/// ```
/// use dora_core::{EventSet, ReadOptions, read_jsonl_bytes};
///
/// let line = br#"{"kind":"change","id":"c1","service":"api","committed_at":"2026-03-02T10:00:00Z"}"#;
/// let mut set = EventSet::new();
/// read_jsonl_bytes(line, None, &mut set, &ReadOptions::default())?;
/// assert_eq!(set.len(), 1);
/// # Ok::<(), dora_core::Error>(())
/// ```
pub fn read_jsonl_bytes(
    bytes: &[u8],
    path: Option<&Path>,
    set: &mut EventSet,
    opts: &ReadOptions,
) -> Result<ReadSummary> {
    if bytes.starts_with(&GZIP_MAGIC) || bytes.len() > HERE_MAX_BYTES {
        return read_jsonl(bytes, path, set, opts);
    }
    let max_line = opts.max_line_bytes.clamp(1, MAX_LINE_LIMIT);
    Pipeline { set, path, opts, input_bytes: 0 }.run_here(|sink| read_blocks(bytes, sink, max_line))
}

/// The largest input [`read_jsonl_bytes`] reads on the calling thread: it
/// makes at most 3 blocks, which [`Pipeline::run_here`] takes.
const HERE_MAX_BYTES: usize = 512 * 1024;
const _: () = assert!(HERE_MAX_BYTES / LINE_BLOCK_BYTES < Pipeline::HERE_MAX_BLOCKS);

/// Reads uncompressed JSON Lines; `input_bytes` (or 0) sizes the set's
/// tables ([`Pipeline::input_bytes`]).
fn read_plain<R: Read>(
    input: R,
    path: Option<&Path>,
    set: &mut EventSet,
    opts: &ReadOptions,
    input_bytes: u64,
) -> Result<ReadSummary> {
    let max_line = opts.max_line_bytes.clamp(1, MAX_LINE_LIMIT);
    Pipeline { set, path, opts, input_bytes }.run(|sink| read_blocks(input, sink, max_line))
}

/// Reads a JSON Lines file (plain, or gzip-compressed: detected by its
/// magic bytes) into `set`.
pub fn read_jsonl_path(path: &Path, set: &mut EventSet, opts: &ReadOptions) -> Result<ReadSummary> {
    let io = |error| Error::Io { path: Some(path.to_path_buf()), error };
    let file = File::open(path).map_err(io)?;
    // The tables are sized from the file's size (uncompressed: a gzip
    // file's sizes them too small, and they grow).
    let input_bytes = file.metadata().map_or(0, |meta| meta.len());
    // Plain files are read straight into the blocks (a buffered reader
    // would copy every byte once more); gzip goes through a buffer.
    let mut file = file;
    let mut magic = [0u8; 2];
    let n = read_up_to(&mut file, &mut magic).map_err(io)?;
    file.seek(SeekFrom::Start(0)).map_err(io)?;
    if magic[..n] == GZIP_MAGIC {
        let gz = flate2::bufread::MultiGzDecoder::new(BufReader::with_capacity(256 * 1024, file));
        read_plain(gz, Some(path), set, opts, input_bytes)
    } else {
        read_plain(file, Some(path), set, opts, input_bytes)
    }
}

/// Reads until `buf` is full or the input ends; returns the bytes read.
fn read_up_to(input: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match input.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::EventKind;

    fn read(text: &[u8], opts: &ReadOptions) -> Result<(EventSet, ReadSummary)> {
        let mut set = EventSet::new();
        let s = read_jsonl(text, Some(Path::new("ev.jsonl")), &mut set, opts)?;
        Ok((set, s))
    }

    const D: &str = r#"{"kind":"deployment","id":"d1","service":"api","environment":"prod","finished_at":"2026-03-02T14:05:00Z","status":"success","changes":["c1"]}"#;
    const C: &str = r#"{"kind":"change","id":"c1","service":"api","committed_at":"2026-03-02T10:00:00Z"}"#;

    /// `read_jsonl_bytes` (on this thread for small inputs) against the
    /// threaded reader, its oracle: the same events, summary and errors,
    /// on inputs below, around and above the threshold.
    #[test]
    fn bytes_on_this_thread_read_as_the_threaded_reader() {
        let line = |i: usize| {
            format!(
                r#"{{"kind":"change","id":"c{}","service":"s{}","committed_at":"2026-03-02T10:00:00Z","pad":"{}"}}"#,
                i % 3000,
                i % 7,
                "x".repeat(i % 53)
            )
        };
        for lines in [1usize, 2, 40, 3000, 4200, 4800, 9000] {
            let mut text: String = (0..lines).map(|i| line(i) + "\n").collect();
            for bad in [None, Some(lines / 2)] {
                if let Some(at) = bad {
                    let mut all: Vec<String> = text.lines().map(String::from).collect();
                    all[at] = r#"{"kind":"change","id":"","service":"s"}"#.into();
                    text = all.join("\n");
                }
                for skip in [false, true] {
                    let opts = ReadOptions { skip_bad_lines: skip, ..ReadOptions::default() };
                    let (mut a, mut b) = (EventSet::new(), EventSet::new());
                    let here = read_jsonl_bytes(text.as_bytes(), Some(Path::new("b")), &mut a, &opts);
                    let threaded = read_jsonl(text.as_bytes(), Some(Path::new("b")), &mut b, &opts);
                    match (here, threaded) {
                        (Ok(x), Ok(y)) => {
                            assert_eq!(
                                (x.lines, x.events, x.skipped.len()),
                                (y.lines, y.events, y.skipped.len())
                            );
                            let ids = |s: &EventSet| s.iter().map(|e| e.id().to_string()).collect::<Vec<_>>();
                            assert_eq!(ids(&a), ids(&b), "{lines} lines");
                        }
                        (Err(x), Err(y)) => assert_eq!(x.to_string(), y.to_string()),
                        (x, y) => panic!("{lines} lines, skip {skip}: {x:?} vs {y:?}"),
                    }
                }
            }
        }
    }

    #[test]
    fn reads_lines_blank_lines_crlf_and_bom() {
        let text = format!("\u{feff}{D}\r\n\n   \n{C}");
        let (set, s) = read(text.as_bytes(), &ReadOptions::default()).unwrap();
        assert_eq!(s.lines, 4);
        assert_eq!(s.events, 2);
        assert_eq!(set.count(EventKind::Deployment), 1);
        assert_eq!(set.change("c1").unwrap().service, "api");
    }

    #[test]
    fn many_blocks_keep_order_and_line_numbers() {
        let mut text = String::new();
        for i in 0..30_000 {
            text.push_str(&format!(
                r#"{{"kind":"change","id":"c{}","service":"api","committed_at":"2026-03-02T10:00:00Z","pad":"{}"}}"#,
                i % 20_000,
                "x".repeat(i % 97)
            ));
            text.push('\n');
        }
        text.push_str("{\"kind\":\"change\",\"id\":\"bad\"}\n");
        let opts = ReadOptions { threads: 3, ..ReadOptions::default() };
        let err = read(text.as_bytes(), &opts).unwrap_err().to_string();
        assert_eq!(err, "ev.jsonl:30001: field `service`: missing required field");
        let opts = ReadOptions { skip_bad_lines: true, threads: 3, ..ReadOptions::default() };
        let (set, s) = read(text.as_bytes(), &opts).unwrap();
        assert_eq!(set.len(), 20_000);
        assert_eq!(set.replaced(), 10_000);
        assert_eq!(s.skipped.len(), 1);
        assert_eq!(s.skipped[0].location.line, 30_001);
    }

    #[test]
    fn the_first_bad_line_is_reported() {
        let text = format!("{D}\n{{\"kind\":\"deploy\"}}\n{C}\n{{\n");
        let err = read(text.as_bytes(), &ReadOptions::default()).unwrap_err();
        assert!(err.to_string().starts_with("ev.jsonl:2: field `kind`: expected one of"), "{err}");
    }

    #[test]
    fn empty_input_is_an_error() {
        let err = read(b"", &ReadOptions::default()).unwrap_err();
        assert_eq!(err.to_string(), "ev.jsonl: no events (the input is empty)");
        let err = read(b"\n \n", &ReadOptions::default()).unwrap_err();
        assert!(matches!(err, Error::EmptyInput { .. }));
    }

    #[test]
    fn an_oversized_line_is_an_error_or_skipped() {
        let huge = format!("{D}\n{}\n{C}\n", "x".repeat(3 << 20));
        let opts = ReadOptions { max_line_bytes: 1 << 20, ..ReadOptions::default() };
        let err = read(huge.as_bytes(), &opts).unwrap_err().to_string();
        assert!(err.starts_with("ev.jsonl:2: line is"), "{err}");
        let opts = ReadOptions { max_line_bytes: 1 << 20, skip_bad_lines: true, ..ReadOptions::default() };
        let (set, s) = read(huge.as_bytes(), &opts).unwrap();
        assert_eq!(set.len(), 2);
        assert_eq!(s.lines, 3);
        assert_eq!(s.skipped[0].location.line, 2);
    }

    /// Lines of many lengths: one longer than a block, one over a 1 MiB
    /// limit, and a last line without its newline.
    fn lines_across_blocks() -> String {
        let mut text = String::new();
        for i in 0..3_000 {
            let pad = if i == 1_000 { 300 * 1024 } else { i % 301 };
            text.push_str(&format!(
                r#"{{"kind":"change","id":"c{i}","service":"api","committed_at":"2026-03-02T10:00:00Z","pad":"{}"}}"#,
                "x".repeat(pad)
            ));
            text.push('\n');
            if i == 2_000 {
                text.push_str(&"y".repeat(3 << 20));
                text.push('\n');
            }
        }
        text.push_str(C);
        text
    }

    #[test]
    fn files_are_read_straight_into_blocks_and_short_reads_are_filled() {
        /// Hands out at most 7 bytes a read.
        struct Trickle<'a>(&'a [u8]);
        impl Read for Trickle<'_> {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                let n = buf.len().min(self.0.len()).min(7);
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let text = lines_across_blocks();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ev.jsonl");
        std::fs::write(&path, &text).unwrap();
        let opts = ReadOptions { max_line_bytes: 1 << 20, skip_bad_lines: true, threads: 2 };
        let mut from_file = EventSet::new();
        let file_summary = read_jsonl_path(&path, &mut from_file, &opts).unwrap();
        let mut trickled = EventSet::new();
        let reader = BufReader::with_capacity(5, Trickle(text.as_bytes()));
        let trickle_summary = read_jsonl(reader, Some(&path), &mut trickled, &opts).unwrap();
        for (set, s) in [(&from_file, &file_summary), (&trickled, &trickle_summary)] {
            // The last line (`C`, id c1) replaces the second.
            assert_eq!((set.len(), set.replaced(), s.events, s.lines), (3_000, 1, 3_001, 3_002));
            assert_eq!(s.skipped.len(), 1);
            assert_eq!(s.skipped[0].location.line, 2_002);
            assert_eq!(set.change("c1000").unwrap().service, "api");
            assert!(set.change("c1").is_some());
        }
    }

    #[test]
    fn binary_garbage_is_an_error() {
        let mut bytes = b"\x00\x9f\x92\x96garbage\xff\xfe".to_vec();
        bytes.extend_from_slice(b"\n");
        let err = read(&bytes, &ReadOptions::default()).unwrap_err().to_string();
        assert!(err.starts_with("ev.jsonl:1: invalid JSON"), "{err}");
    }

    #[test]
    fn reads_gzip_files() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ev.jsonl.gz");
        let mut gz = flate2::write::GzEncoder::new(File::create(&path).unwrap(), flate2::Compression::fast());
        writeln!(gz, "{D}\n{C}").unwrap();
        gz.finish().unwrap();
        let mut set = EventSet::new();
        let s = read_jsonl_path(&path, &mut set, &ReadOptions::default()).unwrap();
        assert_eq!(s.events, 2);
    }

    #[test]
    fn reads_gzip_from_any_reader() {
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        writeln!(gz, "{D}\n{C}").unwrap();
        let bytes = gz.finish().unwrap();
        let (set, s) = read(&bytes, &ReadOptions::default()).unwrap();
        assert_eq!((set.len(), s.lines), (2, 2));
    }

    #[test]
    fn the_reader_builds_the_same_set_as_pushing_each_event() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/demo/events.jsonl");
        let text = std::fs::read_to_string(path).expect("the bundled demo data");
        // Replacements too: every tenth line again at the end.
        let mut input = text.clone();
        for line in text.lines().step_by(10) {
            input.push_str(line);
            input.push('\n');
        }
        let opts = ReadOptions { threads: 3, ..ReadOptions::default() };
        let (read_set, _) = read(input.as_bytes(), &opts).unwrap();
        let mut pushed = EventSet::new();
        for line in input.lines() {
            pushed.push(serde_json::from_str::<crate::Event>(line).unwrap());
        }
        assert_eq!(read_set.events(), pushed.events());
        assert_eq!(read_set.replaced(), pushed.replaced());
    }

    #[test]
    fn a_missing_file_is_named() {
        let mut set = EventSet::new();
        let err = read_jsonl_path(Path::new("/nonexistent/x.jsonl"), &mut set, &ReadOptions::default())
            .unwrap_err();
        assert!(err.to_string().starts_with("/nonexistent/x.jsonl: "), "{err}");
    }
}
