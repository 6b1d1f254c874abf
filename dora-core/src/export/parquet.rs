//! Parquet export through polars: one row per event, typed columns (times
//! as UTC microsecond timestamps, id lists as lists of strings).

use std::io::Write;

use polars::prelude::*;
use polars_io::parquet::write::{ParquetCompression, ParquetWriter};
use serde_json::Value;

#[cfg(test)]
use super::EVENT_CSV_COLUMNS;
use super::bad_event;
use crate::error::{Error, Result};
use crate::event::Event;
use crate::event::fields::{FIELDS, FieldType};
use crate::event::time::parse_rfc3339;

enum ColumnData {
    Text(Vec<Option<String>>),
    Time(Vec<Option<i64>>),
    Number(Vec<Option<u64>>),
    List(Vec<Option<Vec<String>>>),
}

/// Writes events as one Parquet file.
pub fn write_parquet(events: impl Iterator<Item = Event>, out: &mut dyn Write) -> Result<()> {
    let mut columns: Vec<(&str, ColumnData)> = FIELDS
        .iter()
        .map(|field| {
            let data = match field.ty {
                FieldType::Number => ColumnData::Number(Vec::new()),
                FieldType::IdList => ColumnData::List(Vec::new()),
                FieldType::Time => ColumnData::Time(Vec::new()),
                FieldType::Kind | FieldType::Text | FieldType::Status | FieldType::DeploymentType => {
                    ColumnData::Text(Vec::new())
                }
            };
            (field.column, data)
        })
        .collect();
    for event in events {
        let v: Value = serde_json::to_value(&event).map_err(bad_event)?;
        let pr = v.get("pull_request");
        for (name, data) in &mut columns {
            let value = match name.strip_prefix("pull_request.") {
                Some(field) => pr.and_then(|p| p.get(field)),
                None => v.get(*name),
            };
            match data {
                ColumnData::Text(c) => c.push(value.and_then(Value::as_str).map(str::to_string)),
                ColumnData::Number(c) => c.push(value.and_then(Value::as_u64)),
                ColumnData::Time(c) => {
                    c.push(value.and_then(Value::as_str).and_then(|s| parse_rfc3339(s).ok()))
                }
                ColumnData::List(c) => c.push(
                    value
                        .and_then(Value::as_array)
                        .map(|items| items.iter().filter_map(Value::as_str).map(str::to_string).collect()),
                ),
            }
        }
    }
    let height = match &columns[0].1 {
        ColumnData::Text(c) => c.len(),
        _ => 0,
    };
    let mut built = Vec::with_capacity(columns.len());
    for (name, data) in columns {
        let column = match data {
            ColumnData::Text(c) => Column::new(name.into(), c),
            ColumnData::Number(c) => Column::new(name.into(), c),
            ColumnData::Time(c) => Column::new(name.into(), c)
                .cast(&DataType::Datetime(TimeUnit::Microseconds, Some(TimeZone::UTC)))?,
            ColumnData::List(c) => {
                let series: Vec<Option<Series>> =
                    c.into_iter().map(|l| l.map(|ids| Series::new(PlSmallStr::EMPTY, ids))).collect();
                let mut s: Series = series.into_iter().collect::<ListChunked>().into_series();
                s.rename(name.into());
                s.into()
            }
        };
        built.push(column);
    }
    let mut df = DataFrame::new(height, built)?;
    ParquetWriter::new(out)
        .with_compression(ParquetCompression::Zstd(None))
        .finish(&mut df)
        .map_err(|e| Error::Compute(format!("writing Parquet: {e}")))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use polars_io::SerReader;
    use polars_io::parquet::read::ParquetReader;

    use super::*;
    use crate::event::EventSet;
    use crate::read::{ReadOptions, read_jsonl_path};

    #[test]
    fn the_demo_data_writes_a_typed_parquet_file() {
        let demo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/demo/events.jsonl");
        let mut set = EventSet::new();
        read_jsonl_path(&demo, &mut set, &ReadOptions::default()).unwrap();
        let mut bytes = Vec::new();
        write_parquet(set.iter(), &mut bytes).unwrap();
        let df = ParquetReader::new(std::io::Cursor::new(bytes)).finish().unwrap();
        assert_eq!(df.height(), set.len());
        assert_eq!(df.width(), EVENT_CSV_COLUMNS.len());
        // Microseconds since the epoch, UTC (whether the zone is marked
        // depends on polars' `timezones` feature, not enabled here).
        assert!(matches!(
            df.column("finished_at").unwrap().dtype(),
            DataType::Datetime(TimeUnit::Microseconds, _)
        ));
        assert!(matches!(df.column("changes").unwrap().dtype(), DataType::List(_)));
        let kinds = df.column("kind").unwrap().str().unwrap().clone();
        let deployments = kinds.iter().filter(|k| *k == Some("deployment")).count();
        assert_eq!(deployments, set.count(crate::event::EventKind::Deployment));
    }
}
