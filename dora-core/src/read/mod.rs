//! Readers of `dora.events/v1` JSON Lines (also gzip-compressed) and of
//! CSV event files ([`read_csv`]).
//!
//! [`read_jsonl_path`] and [`read_jsonl`] stream the input in blocks: one
//! thread reads, worker threads parse and validate lines on every core, and
//! one thread interns the results into the [`EventSet`](crate::EventSet) in
//! input order. The whole text is never held in memory; a line longer than
//! [`ReadOptions::max_line_bytes`] is an error.

mod csv_file;
pub(crate) mod fast;
mod jsonl;
mod pipeline;
pub(crate) mod raw;
#[cfg(feature = "store")]
pub(crate) mod record;

use std::cell::Cell;
use std::path::PathBuf;

pub use csv_file::{kind_from_file_name, read_csv};
pub use jsonl::{read_jsonl, read_jsonl_bytes, read_jsonl_path};
#[cfg(feature = "store")]
pub(crate) use pipeline::{BlockSink, Pipeline};

use crate::error::Location;
use crate::event::{Event, raw_to_owned};

/// How to read an event file.
#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// Skip lines that are not valid events (each one is reported in
    /// [`ReadSummary::skipped`]) instead of failing on the first.
    pub skip_bad_lines: bool,
    /// The longest line accepted, in bytes (default 64 MiB, at most 1 GiB).
    pub max_line_bytes: usize,
    /// Parser threads; 0 means one per available core.
    pub threads: usize,
}

impl Default for ReadOptions {
    fn default() -> Self {
        Self { skip_bad_lines: false, max_line_bytes: 64 << 20, threads: 0 }
    }
}

/// A line that was not a valid event and was skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedLine {
    /// The file, line and field.
    pub location: Location,
    /// What was wrong.
    pub message: String,
}

impl std::fmt::Display for SkippedLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.location, self.message)
    }
}

/// What a read did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadSummary {
    /// The file read, if any.
    pub path: Option<PathBuf>,
    /// Lines read (blank ones included).
    pub lines: u64,
    /// Events inserted (replacements included).
    pub events: u64,
    /// Lines skipped as invalid (only with [`ReadOptions::skip_bad_lines`]).
    pub skipped: Vec<SkippedLine>,
}

/// Reads an event file by its name: CSV (`.csv`, `.csv.gz`) with
/// [`read_csv`], anything else as JSON Lines with [`read_jsonl_path`] (which
/// recognises gzip by its magic bytes).
pub fn read_events_path(
    path: &std::path::Path,
    set: &mut crate::EventSet,
    opts: &ReadOptions,
) -> crate::Result<ReadSummary> {
    let name = path.to_string_lossy().to_ascii_lowercase();
    if !(name.ends_with(".csv") || name.ends_with(".csv.gz")) {
        return read_jsonl_path(path, set, opts);
    }
    let io = |error| crate::Error::Io { path: Some(path.to_path_buf()), error };
    let file = std::io::BufReader::new(std::fs::File::open(path).map_err(io)?);
    if name.ends_with(".gz") {
        read_csv(flate2::read::MultiGzDecoder::new(file), path, set, opts)
    } else {
        read_csv(file, path, set, opts)
    }
}

/// Removes `serde_json`'s " at line L column C" suffix from a message.
pub(crate) fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) if msg[i..].contains(" column ") => msg[..i].to_string(),
        _ => msg.to_string(),
    }
}

impl<'de> serde::Deserialize<'de> for Event {
    /// Reads one event object with the same validation as the JSON Lines reader.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let cell = Cell::new("");
        match d.deserialize_map(raw::EventVisitor { field: &cell }) {
            Ok(raw) => Ok(raw_to_owned(raw)),
            Err(e) if cell.get().is_empty() => Err(e),
            Err(e) => Err(serde::de::Error::custom(format!(
                "field `{}`: {}",
                cell.get(),
                strip_position(&e.to_string())
            ))),
        }
    }
}
