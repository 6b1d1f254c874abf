//! The `file` source: JSON Lines (also gzip-compressed) and CSV event files,
//! named by paths or glob patterns. A file whose size and modification time
//! have not changed since the last run is not read again.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::{Collected, Progress, Source};
use crate::error::{Error, Result};
use crate::event::EventSet;
use crate::read::{ReadOptions, read_events_path};
use crate::store::SyncState;

/// What the `file` source remembers of each file it read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Seen {
    len: u64,
    /// Nanoseconds since the Unix epoch (0 when the platform has none).
    modified: i128,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct FileState {
    files: BTreeMap<String, Seen>,
}

/// Reads JSON Lines and CSV event files.
#[derive(Debug, Clone)]
pub struct FileSource {
    name: String,
    patterns: Vec<String>,
    base: PathBuf,
    /// How lines are read (skip bad lines or fail).
    pub read_options: ReadOptions,
}

fn seen(path: &Path) -> Result<Seen> {
    let meta = std::fs::metadata(path).map_err(|e| Error::Io { path: Some(path.to_path_buf()), error: e })?;
    let modified = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos() as i128);
    Ok(Seen { len: meta.len(), modified })
}

impl FileSource {
    /// A source reading the files that `patterns` (paths or globs, relative
    /// to `base`) name.
    pub fn new(name: &str, patterns: Vec<String>, base: &Path) -> Self {
        Self {
            name: name.to_string(),
            patterns,
            base: base.to_path_buf(),
            read_options: ReadOptions::default(),
        }
    }

    /// The files the patterns name now, sorted and without duplicates. A
    /// pattern that names no file is an error: it is most likely a typo.
    pub fn files(&self) -> Result<Vec<PathBuf>> {
        let mut out = Vec::new();
        for pattern in &self.patterns {
            let full = if Path::new(pattern).is_absolute() {
                PathBuf::from(pattern)
            } else {
                self.base.join(pattern)
            };
            let text = full.to_string_lossy().to_string();
            let bad = |message: String| Error::InvalidOption { option: "paths", message };
            let mut found = 0;
            let paths = glob::glob(&text)
                .map_err(|e| bad(format!("source `{}`: pattern {pattern:?}: {e}", self.name)))?;
            for entry in paths {
                let path = entry.map_err(|e| {
                    let path = e.path().to_path_buf();
                    Error::Io { path: Some(path), error: e.into() }
                })?;
                if path.is_file() {
                    out.push(path);
                    found += 1;
                }
            }
            if found == 0 {
                return Err(bad(format!("{pattern:?} names no file")));
            }
        }
        out.sort();
        out.dedup();
        Ok(out)
    }
}

impl Source for FileSource {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> &'static str {
        "file"
    }

    fn collect(&mut self, state: Option<&SyncState>, progress: &dyn Progress) -> Result<Collected> {
        let before: FileState =
            state.and_then(|s| serde_json::from_value(s.0.clone()).ok()).unwrap_or_default();
        let files = self.files()?;
        progress.set_total(files.len() as u64);
        let mut after = FileState::default();
        let mut events = EventSet::new();
        let mut notes = Vec::new();
        for path in files {
            let key = path.to_string_lossy().to_string();
            let now = seen(&path)?;
            after.files.insert(key.clone(), now);
            if before.files.get(&key) == Some(&now) {
                progress.advance(1);
                continue;
            }
            progress.message(&format!("reading {}", path.display()));
            let summary = read_events_path(&path, &mut events, &self.read_options)?;
            notes.extend(summary.skipped.iter().map(|s| format!("skipped {s}")));
            progress.advance(1);
        }
        let state = serde_json::to_value(&after).map(SyncState).unwrap_or_default();
        Ok(Collected { events, state, requests: 0, notes, costs: None })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::NoProgress;

    #[test]
    fn reads_globs_of_jsonl_and_csv_and_skips_unchanged_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("in")).unwrap();
        std::fs::write(
            dir.path().join("in/a.jsonl"),
            "{\"kind\":\"change\",\"id\":\"c1\",\"service\":\"api\",\"committed_at\":\"2026-03-02T09:00:00Z\"}\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("in/incidents.csv"),
            "id,service,opened_at\nP1,api,2026-03-02T13:00:00Z\n",
        )
        .unwrap();
        let mut source = FileSource::new("files", vec!["in/*".into()], dir.path());
        let first = source.collect(None, &NoProgress).unwrap();
        assert_eq!(first.events.len(), 2);
        let again = source.collect(Some(&first.state), &NoProgress).unwrap();
        assert_eq!(again.events.len(), 0);
        std::fs::write(
            dir.path().join("in/incidents.csv"),
            "id,service,opened_at\nP1,api,2026-03-02T13:00:00Z\nP2,api,2026-03-03T13:00:00Z\n",
        )
        .unwrap();
        let third = source.collect(Some(&again.state), &NoProgress).unwrap();
        assert_eq!(third.events.len(), 2, "the changed file is read again, whole");

        let mut typo = FileSource::new("files", vec!["in/*.jsnl".into()], dir.path());
        let err = typo.collect(None, &NoProgress).unwrap_err().to_string();
        assert!(err.contains("names no file"), "{err}");
    }
}
