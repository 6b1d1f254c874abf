//! CSV event files: one row per event, columns named as the spec's fields.
//!
//! - The kind comes from a `kind` column, else from the file name
//!   (`deployments.csv`, `changes.csv`, `incidents.csv`, or any name that
//!   contains `deployment`, `change` or `incident`).
//! - Pull request fields are columns named `pull_request.number`,
//!   `pull_request.opened_at`, `pull_request.merged_at`,
//!   `pull_request.first_commit_at`.
//! - The lists `changes` and `remediates` are ids separated by spaces,
//!   commas or semicolons, or a JSON array (`["a","b"]`).
//! - An empty cell is an absent field, and cells are trimmed: a `note`
//!   keeps no leading or trailing spaces, and an empty one is no note.
//!   Unknown columns are ignored, as unknown fields of a JSON line are.
//!
//! Each row is checked exactly as a JSON line is (the same messages); errors
//! name the file, the line and the column.

use std::io::Read;
use std::path::Path;

use serde_json::{Map, Value};

use super::{ReadOptions, ReadSummary, SkippedLine, strip_position};
use crate::error::{Error, Location, Result};
use crate::event::fields::{self, FieldType};
use crate::event::{Event, EventKind, EventSet};

/// Passes bytes through and remembers where lines end, so a row's line is
/// found from its byte offset. The `csv` crate's own line numbers run one
/// behind after a `\r\n` line end (it counts the `\n` when it starts the
/// next row); here `\n`, `\r\n` and a lone `\r` each end one line.
struct LineBreaks<R> {
    inner: R,
    /// Bytes read so far.
    offset: u64,
    /// Offsets of the line ends not yet passed by a query.
    breaks: std::collections::VecDeque<u64>,
    /// Line ends before the front of `breaks`.
    passed: u64,
    /// The offset of a `\r` whose next byte is not read yet.
    pending_cr: Option<u64>,
}

impl<R> LineBreaks<R> {
    fn new(inner: R) -> Self {
        Self { inner, offset: 0, breaks: Default::default(), passed: 0, pending_cr: None }
    }

    /// The line (from 1) of the byte at `byte`; queries come in order. A
    /// row that starts on the `\n` of a `\r\n` is on the line after it.
    fn line_at(&mut self, byte: u64) -> u64 {
        if let Some(cr) = self.pending_cr.filter(|&cr| cr < byte) {
            self.pending_cr = None;
            self.breaks.push_back(cr);
        }
        while self.breaks.front().is_some_and(|&b| b <= byte) {
            self.breaks.pop_front();
            self.passed += 1;
        }
        self.passed + 1
    }
}

impl<R: Read> Read for LineBreaks<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        for (i, &b) in buf[..n].iter().enumerate() {
            let at = self.offset + i as u64;
            match b {
                b'\n' => {
                    // `\r\n` is one line end, at its `\n`.
                    self.pending_cr = None;
                    self.breaks.push_back(at);
                }
                b'\r' => {
                    if let Some(cr) = self.pending_cr.replace(at) {
                        self.breaks.push_back(cr);
                    }
                }
                _ => {
                    if let Some(cr) = self.pending_cr.take() {
                        self.breaks.push_back(cr);
                    }
                }
            }
        }
        self.offset += n as u64;
        Ok(n)
    }
}

/// The kind a file name suggests, if any.
pub fn kind_from_file_name(path: &Path) -> Option<EventKind> {
    let name = path.file_name()?.to_str()?.to_ascii_lowercase();
    let hits: Vec<EventKind> = [
        ("deployment", EventKind::Deployment),
        ("change", EventKind::Change),
        ("incident", EventKind::Incident),
    ]
    .into_iter()
    .filter(|(word, _)| name.contains(word))
    .map(|(_, k)| k)
    .collect();
    (hits.len() == 1).then(|| hits[0])
}

fn list(cell: &str) -> std::result::Result<Value, String> {
    if cell.starts_with('[') {
        let v: Value = serde_json::from_str(cell).map_err(|e| format!("not a JSON array: {e}"))?;
        return Ok(v);
    }
    Ok(Value::Array(
        cell.split(|c: char| c == ',' || c == ';' || c.is_whitespace())
            .filter(|s| !s.is_empty())
            .map(|s| Value::String(s.to_string()))
            .collect(),
    ))
}

/// Turns one row into the JSON object a line would hold.
fn row_object(
    headers: &[String],
    record: &csv::StringRecord,
    kind: Option<EventKind>,
) -> std::result::Result<Map<String, Value>, (String, String)> {
    let mut obj = Map::new();
    if let Some(k) = kind {
        obj.insert("kind".into(), Value::String(k.as_str().into()));
    }
    let mut pr = Map::new();
    for (header, cell) in headers.iter().zip(record.iter()) {
        let cell = cell.trim();
        if header.is_empty() || cell.is_empty() {
            continue;
        }
        // Unknown columns are kept as text (and then ignored, as unknown
        // fields of a line are).
        let field = fields::by_column(header);
        let value = match field.map(|f| f.ty) {
            Some(FieldType::Number) => match cell.parse::<u64>() {
                Ok(n) => Value::from(n),
                Err(_) => return Err((header.clone(), format!("{cell:?} is not a pull request number"))),
            },
            Some(FieldType::IdList) => list(cell).map_err(|m| (header.clone(), m))?,
            _ => Value::String(cell.into()),
        };
        match field {
            Some(f) if f.in_pull_request => {
                pr.insert(f.key.name().into(), value);
            }
            _ => {
                obj.insert(header.clone(), value);
            }
        }
    }
    if !pr.is_empty() {
        obj.insert("pull_request".into(), Value::Object(pr));
    }
    Ok(obj)
}

/// Reads a CSV event file into `set`. `path` names the file in errors and,
/// when there is no `kind` column, gives the kind.
pub fn read_csv<R: Read>(
    input: R,
    path: &Path,
    set: &mut EventSet,
    opts: &ReadOptions,
) -> Result<ReadSummary> {
    let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(LineBreaks::new(input));
    let file = Some(path.to_path_buf());
    let location = |line: u64, field: Option<String>| Location { path: file.clone(), line, field };
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| Error::InvalidEvent {
            location: location(1, None),
            message: format!("bad CSV header: {e}"),
        })?
        .iter()
        .map(|h| h.trim().trim_start_matches('\u{feff}').to_string())
        .collect();
    let has_kind = headers.iter().any(|h| h == "kind");
    let kind = if has_kind { None } else { kind_from_file_name(path) };
    if !has_kind && kind.is_none() {
        return Err(Error::InvalidEvent {
            location: location(1, None),
            message: "no `kind` column, and the file name does not say the kind \
                      (name it deployments.csv, changes.csv or incidents.csv, or add a `kind` column)"
                .into(),
        });
    }
    let mut summary = ReadSummary { path: file.clone(), lines: 1, ..ReadSummary::default() };
    let mut record = csv::StringRecord::new();
    loop {
        let byte = reader.position().byte();
        let more = match reader.read_record(&mut record) {
            Ok(more) => more,
            Err(e) => {
                let byte = e.position().map_or(byte, |p| p.byte());
                let line = reader.get_mut().line_at(byte);
                let message = match e.kind() {
                    csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
                        format!("row has {len} cells, the header has {expected_len}")
                    }
                    csv::ErrorKind::Utf8 { .. } => "not valid UTF-8".to_string(),
                    _ => e.to_string(),
                };
                let bad = SkippedLine { location: location(line, None), message };
                if !opts.skip_bad_lines {
                    return Err(Error::InvalidEvent { location: bad.location, message: bad.message });
                }
                summary.skipped.push(bad);
                if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                    break;
                }
                continue;
            }
        };
        if !more {
            break;
        }
        let line = reader.get_mut().line_at(record.position().map_or(byte, |p| p.byte()));
        summary.lines = line;
        let parsed = row_object(&headers, &record, kind).and_then(|obj| {
            // Through JSON text: the event parser is the JSON Lines one.
            let text = Value::Object(obj).to_string();
            serde_json::from_str::<Event>(&text).map_err(|e| {
                let msg = strip_position(&e.to_string());
                match msg.strip_prefix("field `").and_then(|m| m.split_once("`: ")) {
                    Some((field, rest)) => (field.to_string(), rest.to_string()),
                    None => (String::new(), msg),
                }
            })
        });
        match parsed {
            Ok(event) => {
                set.push(event);
                summary.events += 1;
            }
            Err((field, message)) => {
                let field = (!field.is_empty()).then_some(field);
                let bad = SkippedLine { location: location(line, field), message };
                if !opts.skip_bad_lines {
                    return Err(Error::InvalidEvent { location: bad.location, message: bad.message });
                }
                summary.skipped.push(bad);
            }
        }
    }
    if summary.events == 0 && summary.skipped.is_empty() {
        return Err(Error::EmptyInput { path: file });
    }
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(name: &str, text: &str, skip: bool) -> Result<(EventSet, ReadSummary)> {
        let mut set = EventSet::new();
        let opts = ReadOptions { skip_bad_lines: skip, ..ReadOptions::default() };
        let s = read_csv(text.as_bytes(), Path::new(name), &mut set, &opts)?;
        Ok((set, s))
    }

    #[test]
    fn errors_name_the_line_whatever_the_line_ends() {
        let rows = [
            "id,service,committed_at,note",
            "c1,api,2026-03-02T09:00:00Z,\"two\nlines\"",
            "c2,api,2026-03-02T09:00:00Z,x",
            "c3,api,bad,x",
            "",
        ];
        for end in ["\n", "\r\n", "\r"] {
            // The quoted cell keeps its own line end; line 3 is c2.
            let text = rows.join(end).replace("two\nlines", &format!("two{end}lines"));
            let e = read("changes.csv", &text, false).unwrap_err().to_string();
            assert!(e.starts_with("changes.csv:5: field `committed_at`"), "{end:?}: {e}");
            let short = text.replacen(",x", "", 1);
            let e = read("changes.csv", &short, false).unwrap_err().to_string();
            assert!(e.starts_with("changes.csv:4: row has 3 cells"), "{end:?}: {e}");
        }
    }

    #[test]
    fn a_note_column_is_read() {
        let text = "id,service,environment,finished_at,status,note\n\
            d1,api,production,2026-03-02T12:00:00Z,success,\"undo, \"\"v2\"\"\"\n\
            d2,api,production,2026-03-02T13:00:00Z,success,\n";
        let (set, _) = read("deployments.csv", text, false).unwrap();
        assert_eq!(set.deployment("d1").unwrap().note.as_deref(), Some("undo, \"v2\""));
        assert_eq!(set.deployment("d2").unwrap().note, None, "an empty cell is no note");
    }

    #[test]
    fn reads_each_kind_with_lists_and_pull_requests() {
        let text = "kind,id,service,environment,finished_at,status,changes,committed_at,pull_request.number,pull_request.merged_at,opened_at\n\
            change,c1,api,,,,,2026-03-02T09:00:00Z,42,2026-03-02T10:00:00Z,\n\
            change,c2,api,,,,,2026-03-02T09:30:00Z,,,\n\
            deployment,d1,api,production,2026-03-02T12:00:00Z,success,c1 c2,,,,\n\
            incident,i1,api,,,,,,,,2026-03-02T13:00:00+01:00\n";
        let (set, s) = read("events.csv", text, false).unwrap();
        assert_eq!(s.events, 4);
        assert_eq!(set.deployment("d1").unwrap().changes, ["c1", "c2"]);
        let pr = set.change("c1").unwrap().pull_request.unwrap();
        assert_eq!(pr.number, Some(42));
        assert_eq!(set.change("c2").unwrap().pull_request, None);
        assert_eq!(
            set.incident("i1").unwrap().opened_at,
            "2026-03-02T12:00:00Z".parse::<chrono::DateTime<chrono::Utc>>().unwrap()
        );
    }

    #[test]
    fn the_file_name_gives_the_kind() {
        let text = "id,service,opened_at,resolved_at,severity\nP1,api,2026-03-02T13:00:00Z,2026-03-02T14:00:00Z,sev1\n";
        let (set, _) = read("pagerduty-incidents.csv", text, false).unwrap();
        assert_eq!(set.incident("P1").unwrap().severity.as_deref(), Some("sev1"));
        let err = read("export.csv", text, false).unwrap_err().to_string();
        assert!(err.starts_with("export.csv:1: no `kind` column"), "{err}");
        let (set, _) = read("deployments.csv", "id,service,environment,finished_at,status,changes\nd1,api,prod,2026-03-02T12:00:00Z,failure,[\"a\"]\n", false).unwrap();
        assert_eq!(set.deployment("d1").unwrap().changes, ["a"]);
    }

    #[test]
    fn errors_name_line_and_column() {
        let text = "id,service,opened_at\nP1,api,2026-03-02T13:00:00Z\nP2,api,yesterday\nP3,api\n";
        let err = read("incidents.csv", text, false).unwrap_err().to_string();
        assert!(err.starts_with("incidents.csv:3: field `opened_at`: "), "{err}");
        let (set, s) = read("incidents.csv", text, true).unwrap();
        assert_eq!(set.len(), 1);
        assert_eq!(s.skipped.len(), 2);
        assert_eq!(s.skipped[1].to_string(), "incidents.csv:4: row has 2 cells, the header has 3");
        let err = read(
            "changes.csv",
            "id,service,committed_at,pull_request.number\nc1,api,2026-03-02T09:00:00Z,x\n",
            false,
        )
        .unwrap_err()
        .to_string();
        assert_eq!(err, "changes.csv:2: field `pull_request.number`: \"x\" is not a pull request number");
        let err = read("changes.csv", "id,service\n", false).unwrap_err().to_string();
        assert_eq!(err, "changes.csv: no events (the input is empty)");
    }
}

#[cfg(test)]
mod path_tests {
    use std::io::Write;

    use crate::event::EventSet;
    use crate::read::{ReadOptions, read_events_path};

    #[test]
    fn files_are_read_by_their_names_gzipped_csv_too() {
        let dir = tempfile::tempdir().unwrap();
        let csv = "id,service,opened_at\nP1,api,2026-03-02T13:00:00Z\n";
        let path = dir.path().join("incidents.csv.gz");
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(csv.as_bytes()).unwrap();
        std::fs::write(&path, gz.finish().unwrap()).unwrap();
        let mut set = EventSet::new();
        read_events_path(&path, &mut set, &ReadOptions::default()).unwrap();
        assert!(set.incident("P1").is_some());
        let jsonl = dir.path().join("e.jsonl");
        std::fs::write(&jsonl, "{\"kind\":\"change\",\"id\":\"c1\",\"service\":\"api\",\"committed_at\":\"2026-03-02T09:00:00Z\"}\n").unwrap();
        read_events_path(&jsonl, &mut set, &ReadOptions::default()).unwrap();
        assert!(set.change("c1").is_some());
        let err =
            read_events_path(&dir.path().join("missing.csv"), &mut set, &ReadOptions::default()).unwrap_err();
        assert!(err.to_string().starts_with(&dir.path().join("missing.csv").display().to_string()));
    }
}
