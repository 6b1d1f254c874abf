//! Event exports: CSV (what [`read_csv`](crate::read_csv) reads back) and,
//! with the `parquet` feature, Apache Parquet through polars.
//!
//! Both stream: one event at a time, as the store hands them out.

use std::io::Write;

use serde_json::Value;

use crate::error::{Error, Result};

/// The columns of an event CSV, in order: every field of the spec's three
/// kinds, the pull request's as `pull_request.*`, then dora's `note`
/// (last, so the columns before it keep their places). They are the
/// columns of [`FIELDS`](crate::event::fields::FIELDS).
pub const EVENT_CSV_COLUMNS: [&str; 25] = crate::event::fields::COLUMNS;

fn bad_event(message: impl std::fmt::Display) -> Error {
    Error::Compute(format!("an event cannot be encoded: {message}"))
}

/// A list of ids as one cell: separated by spaces, or a JSON array when an
/// id holds a separator.
fn list_cell(items: &[Value]) -> String {
    let ids: Vec<&str> = items.iter().filter_map(Value::as_str).collect();
    let plain = ids
        .iter()
        .all(|id| !id.is_empty() && !id.starts_with('[') && !id.contains([' ', ',', ';', '\t', '\n', '\r']));
    if plain { ids.join(" ") } else { Value::from(ids).to_string() }
}

fn cell(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(items)) => list_cell(items),
        Some(other) => other.to_string(),
    }
}

/// Writes events as CSV, one row per event.
pub struct EventCsvWriter<W: Write> {
    out: csv::Writer<W>,
    row: Vec<String>,
}

impl<W: Write> EventCsvWriter<W> {
    /// Starts the CSV (writes the header row).
    pub fn new(out: W) -> Result<Self> {
        let mut out = csv::Writer::from_writer(out);
        out.write_record(EVENT_CSV_COLUMNS).map_err(csv_error)?;
        Ok(Self { out, row: Vec::with_capacity(EVENT_CSV_COLUMNS.len()) })
    }

    /// Writes one event.
    pub fn write_event(&mut self, event: &crate::event::Event) -> Result<()> {
        let v: Value = serde_json::to_value(event).map_err(bad_event)?;
        let pr = v.get("pull_request");
        self.row.clear();
        for column in EVENT_CSV_COLUMNS {
            let value = match column.strip_prefix("pull_request.") {
                Some(field) => pr.and_then(|p| p.get(field)),
                None => v.get(column),
            };
            self.row.push(cell(value));
        }
        self.out.write_record(&self.row).map_err(csv_error)
    }

    /// Flushes and returns the writer.
    pub fn finish(self) -> Result<W> {
        self.out.into_inner().map_err(|e| Error::Io { path: None, error: e.into_error() })
    }
}

fn csv_error(e: csv::Error) -> Error {
    match e.into_kind() {
        csv::ErrorKind::Io(error) => Error::Io { path: None, error },
        other => Error::Compute(format!("writing CSV: {other:?}")),
    }
}

#[cfg(feature = "parquet")]
mod parquet;
#[cfg(feature = "parquet")]
pub use parquet::write_parquet;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::EventSet;
    use crate::read::{ReadOptions, read_csv, read_jsonl_path};

    #[test]
    fn the_demo_data_round_trips_through_csv() {
        let demo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/demo/events.jsonl");
        let mut original = EventSet::new();
        read_jsonl_path(&demo, &mut original, &ReadOptions::default()).unwrap();
        // And a note with a comma and a quote.
        let first = original.iter().find_map(|e| match e {
            crate::event::Event::Deployment(d) => Some(d),
            _ => None,
        });
        original.push(crate::event::Deployment { note: Some("undo, \"v2\"".into()), ..first.unwrap() });
        let mut w = EventCsvWriter::new(Vec::new()).unwrap();
        for e in original.iter() {
            w.write_event(&e).unwrap();
        }
        let bytes = w.finish().unwrap();
        let mut back = EventSet::new();
        read_csv(&bytes[..], std::path::Path::new("events.csv"), &mut back, &ReadOptions::default()).unwrap();
        assert_eq!(back.events(), original.events());
    }

    #[test]
    fn lists_with_separators_become_json_arrays() {
        assert_eq!(list_cell(&[Value::from("a"), Value::from("b")]), "a b");
        assert_eq!(list_cell(&[Value::from("a b"), Value::from("c")]), r#"["a b","c"]"#);
    }
}
