//! FOCUS exports as Parquet (the `parquet` feature), read one row group at
//! a time so memory stays bounded by the largest row group, not the file.
//!
//! Columns are found by name as in the CSV reader ([`super`]); their types
//! may be what exporters write: times as timestamps (any unit; a zone-less
//! timestamp is UTC) or as ISO 8601 text, amounts as floating-point or
//! integer numbers or as text, `Tags` as JSON text. A bad row is an
//! [`Error::InvalidCostRow`] whose `line` is the row's number counted as
//! in a CSV export of the file (the first row is line 2, after the header).

use std::fs::File;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use polars::prelude::*;
use polars_io::SerReader;
use polars_io::parquet::read::ParquetReader;

use super::{
    BILLING_CURRENCY, CHARGE_PERIOD_END, CHARGE_PERIOD_START, TAGS, bad, empty_row, parse_number, parse_time,
};
use crate::cost::{CostColumn, CostRow};
use crate::error::{Error, Result};
use crate::render::visible;

fn compute(path: &Option<PathBuf>, e: PolarsError) -> Error {
    let file = path.as_ref().map_or("<input>".into(), |p| p.display().to_string());
    Error::Compute(format!("{file}: reading Parquet: {e}"))
}

/// One column of a row group, typed as the reader needs it.
enum Cells {
    Times(Vec<Option<i64>>),
    Text(StringChunked),
    Numbers(Float64Chunked),
    Absent,
}

impl Cells {
    fn text(&self, i: usize) -> Option<&str> {
        match self {
            Cells::Text(c) => c.get(i).filter(|s| !s.is_empty() && *s != "NULL"),
            _ => None,
        }
    }
}

/// Microseconds per unit of `unit`.
fn to_micros_factor(unit: TimeUnit) -> (i64, i64) {
    match unit {
        TimeUnit::Nanoseconds => (1, 1000),
        TimeUnit::Microseconds => (1, 1),
        TimeUnit::Milliseconds => (1000, 1),
    }
}

fn column_cells(df: &DataFrame, name: &str, kind: Want, path: &Option<PathBuf>) -> Result<Cells> {
    let Ok(column) = df.column(name) else {
        return Ok(Cells::Absent);
    };
    let series = column.as_materialized_series();
    let unsupported = || {
        Err(bad(
            path,
            1,
            Some(name),
            format!("a Parquet column of type {} cannot be read here", series.dtype()),
        ))
    };
    match (kind, series.dtype()) {
        (_, DataType::String) => Ok(Cells::Text(series.str().map_err(|e| compute(path, e))?.clone())),
        (Want::Time, DataType::Datetime(unit, _)) => {
            let (mul, div) = to_micros_factor(*unit);
            let phys = series.datetime().map_err(|e| compute(path, e))?.physical().clone();
            Ok(Cells::Times(phys.iter().map(|v| v.map(|x| x.div_euclid(div) * mul)).collect()))
        }
        (Want::Time, DataType::Date) => {
            let days = series.cast(&DataType::Int32).map_err(|e| compute(path, e))?;
            let days = days.i32().map_err(|e| compute(path, e))?;
            Ok(Cells::Times(days.iter().map(|d| d.map(|d| i64::from(d) * 86_400_000_000)).collect()))
        }
        (Want::Number, dt) if dt.is_primitive_numeric() => {
            let cast = series.cast(&DataType::Float64).map_err(|e| compute(path, e))?;
            Ok(Cells::Numbers(cast.f64().map_err(|e| compute(path, e))?.clone()))
        }
        _ => unsupported(),
    }
}

#[derive(Clone, Copy)]
enum Want {
    Time,
    Number,
    Text,
}

/// Reads every row of the FOCUS Parquet `file` (from `path`, named in
/// errors), handing each to `f`; returns the number of rows. See
/// [`super::FocusReader::new`] for the columns.
pub fn for_each_row(
    file: File,
    path: Option<&Path>,
    column: CostColumn,
    mut f: impl FnMut(&CostRow) -> Result<()>,
) -> Result<u64> {
    let path = path.map(Path::to_path_buf);
    let mut reader =
        ParquetReader::new(file.try_clone().map_err(|e| Error::Io { path: path.clone(), error: e })?);
    let metadata = reader.get_metadata().map_err(|e| compute(&path, e))?.clone();
    let schema = reader.schema().map_err(|e| compute(&path, e))?;
    let amount_name = column.as_str();
    for required in [CHARGE_PERIOD_START, CHARGE_PERIOD_END, BILLING_CURRENCY, amount_name] {
        if schema.get(required).is_none() {
            return Err(bad(&path, 1, Some(required), "a required column is missing from the file's schema"));
        }
    }
    let wanted: Vec<String> = [
        CHARGE_PERIOD_START,
        CHARGE_PERIOD_END,
        BILLING_CURRENCY,
        amount_name,
        TAGS,
        "ResourceId",
        "ResourceName",
        "ServiceName",
        "SubAccountName",
    ]
    .iter()
    .filter(|c| schema.get(c).is_some())
    .map(|c| c.to_string())
    .collect();
    let mut row = empty_row();
    let mut offset = 0usize;
    let mut n = 0u64;
    for group in &metadata.row_groups {
        let rows = group.num_rows();
        if rows == 0 {
            continue;
        }
        let part = File::try_clone(&file).map_err(|e| Error::Io { path: path.clone(), error: e })?;
        let mut group_reader = ParquetReader::new(part)
            .with_columns(Some(wanted.clone()))
            .with_slice(Some((offset, rows)))
            .read_parallel(polars_io::prelude::ParallelStrategy::None);
        group_reader.set_metadata(metadata.clone());
        let df = group_reader.finish().map_err(|e| compute(&path, e))?;
        let start = column_cells(&df, CHARGE_PERIOD_START, Want::Time, &path)?;
        let end = column_cells(&df, CHARGE_PERIOD_END, Want::Time, &path)?;
        let amount = column_cells(&df, amount_name, Want::Number, &path)?;
        let currency = column_cells(&df, BILLING_CURRENCY, Want::Text, &path)?;
        let tags = column_cells(&df, TAGS, Want::Text, &path)?;
        let fields = [
            column_cells(&df, "ResourceId", Want::Text, &path)?,
            column_cells(&df, "ResourceName", Want::Text, &path)?,
            column_cells(&df, "ServiceName", Want::Text, &path)?,
            column_cells(&df, "SubAccountName", Want::Text, &path)?,
        ];
        for i in 0..df.height() {
            let line = (offset + i) as u64 + 2;
            let time = |cells: &Cells, name: &str| -> Result<DateTime<Utc>> {
                let t = match cells {
                    Cells::Times(v) => v[i].map(crate::event::time::from_micros),
                    Cells::Text(c) => match c.get(i).filter(|s| !s.is_empty() && *s != "NULL") {
                        None => None,
                        Some(s) => Some(parse_time(s.as_bytes()).ok_or_else(|| {
                            bad(
                                &path,
                                line,
                                Some(name),
                                format!("\"{}\" is not a time (ISO 8601)", visible(s)),
                            )
                        })?),
                    },
                    _ => None,
                };
                t.ok_or_else(|| bad(&path, line, Some(name), "a required cell is null"))
            };
            row.start = time(&start, CHARGE_PERIOD_START)?;
            row.end = time(&end, CHARGE_PERIOD_END)?;
            if row.end < row.start {
                return Err(bad(
                    &path,
                    line,
                    Some(CHARGE_PERIOD_END),
                    format!("the charge period ends ({}) before it starts ({})", row.end, row.start),
                ));
            }
            row.amount = match &amount {
                Cells::Numbers(c) => match c.get(i) {
                    Some(x) if x.is_finite() => x,
                    Some(x) => {
                        return Err(bad(&path, line, Some(amount_name), format!("{x} is not a number")));
                    }
                    None => return Err(bad(&path, line, Some(amount_name), "a required cell is null")),
                },
                Cells::Text(c) => match c.get(i).filter(|s| !s.is_empty() && *s != "NULL") {
                    Some(s) => parse_number(s.as_bytes()).ok_or_else(|| {
                        bad(&path, line, Some(amount_name), format!("\"{}\" is not a number", visible(s)))
                    })?,
                    None => return Err(bad(&path, line, Some(amount_name), "a required cell is null")),
                },
                _ => return Err(bad(&path, line, Some(amount_name), "a required cell is null")),
            };
            match currency.text(i) {
                Some(c) => {
                    row.currency.clear();
                    row.currency.push_str(c);
                }
                None => return Err(bad(&path, line, Some(BILLING_CURRENCY), "a required cell is null")),
            }
            row.tags = match tags.text(i) {
                None => None,
                Some(text) => match serde_json::from_str::<serde_json::Value>(text) {
                    Ok(serde_json::Value::Object(map)) => Some(map),
                    Ok(serde_json::Value::Null) => None,
                    _ => {
                        return Err(bad(
                            &path,
                            line,
                            Some(TAGS),
                            format!("\"{}\" is not a JSON object", visible(text)),
                        ));
                    }
                },
            };
            let slots = [
                &mut row.resource_id,
                &mut row.resource_name,
                &mut row.service_name,
                &mut row.sub_account_name,
            ];
            for (slot, cells) in slots.into_iter().zip(&fields) {
                super::set_text(slot, cells.text(i));
            }
            f(&row)?;
            n += 1;
        }
        offset += rows;
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use polars_io::parquet::write::ParquetWriter;

    use super::*;

    fn write(dir: &Path, df: &mut DataFrame) -> PathBuf {
        let path = dir.join("focus.parquet");
        let file = File::create(&path).unwrap();
        ParquetWriter::new(file).with_row_group_size(Some(2)).finish(df).unwrap();
        path
    }

    fn read(path: &Path, column: CostColumn) -> Result<Vec<CostRow>> {
        let mut rows = Vec::new();
        for_each_row(File::open(path).unwrap(), Some(path), column, |r| {
            rows.push(r.clone());
            Ok(())
        })?;
        Ok(rows)
    }

    #[test]
    fn typed_and_text_columns_are_read_row_group_by_row_group() {
        let dir = tempfile::tempdir().unwrap();
        let hour = 3_600_000_000i64;
        let base = 1_725_148_800_000_000i64; // 2024-09-01T00:00:00Z
        let starts: Vec<i64> = (0..5).map(|i| base + i * hour).collect();
        let ends: Vec<i64> = (1..6).map(|i| base + i * hour).collect();
        // The end as text, as some exporters write it.
        let end_text: Vec<String> = ends
            .iter()
            .map(|e| crate::event::time::from_micros(*e).format("%Y-%m-%d %H:%M:%S").to_string())
            .collect();
        let mut df = DataFrame::new(
            5,
            vec![
                Column::new("ChargePeriodStart".into(), starts)
                    .cast(&DataType::Datetime(TimeUnit::Microseconds, None))
                    .unwrap(),
                Column::new("ChargePeriodEnd".into(), end_text),
                Column::new("BillingCurrency".into(), vec!["USD"; 5]),
                Column::new("EffectiveCost".into(), vec![1.0, 2.0, 6.1e-7, -0.5, 0.0]),
                Column::new(
                    "Tags".into(),
                    vec![Some("{\"application\":\"api\"}"), None, Some("NULL"), None, None],
                ),
                Column::new("ServiceName".into(), vec![Some("Amazon RDS"), None, None, Some(""), Some("x")]),
            ],
        )
        .unwrap();
        let path = write(dir.path(), &mut df);
        let rows = read(&path, CostColumn::EffectiveCost).unwrap();
        assert_eq!(rows.len(), 5);
        assert_eq!(rows[0].start.to_rfc3339(), "2024-09-01T00:00:00+00:00");
        assert_eq!(rows[4].end.to_rfc3339(), "2024-09-01T05:00:00+00:00");
        assert_eq!(rows.iter().map(|r| r.amount).sum::<f64>(), 2.5 + 6.1e-7);
        assert_eq!(rows[0].tag("application"), Some("api"));
        assert_eq!(rows[2].tags, None);
        assert_eq!(rows[0].service_name.as_deref(), Some("Amazon RDS"));
        assert_eq!(rows[3].service_name, None);
        let e = read(&path, CostColumn::BilledCost).unwrap_err().to_string();
        assert!(e.contains("column `BilledCost`: a required column is missing"), "{e}");
    }

    #[test]
    fn a_bad_row_names_its_line_as_in_csv() {
        let dir = tempfile::tempdir().unwrap();
        let mut df = DataFrame::new(
            3,
            vec![
                Column::new("ChargePeriodStart".into(), vec!["2024-09-01 00:00:00"; 3]),
                Column::new("ChargePeriodEnd".into(), vec!["2024-09-01 01:00:00"; 3]),
                Column::new("BillingCurrency".into(), vec!["USD"; 3]),
                Column::new("EffectiveCost".into(), vec!["1", "2", "x"]),
            ],
        )
        .unwrap();
        let path = write(dir.path(), &mut df);
        let e = read(&path, CostColumn::EffectiveCost).unwrap_err().to_string();
        assert!(
            e.ends_with("line 4 (the header is line 1), column `EffectiveCost`: \"x\" is not a number"),
            "{e}"
        );
    }
}
