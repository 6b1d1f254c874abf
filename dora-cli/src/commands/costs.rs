//! `dora costs import` and `dora costs check`: cloud cost beside delivery
//! (METRICS.md section 7; docs/costs.md).
//!
//! An import streams each FOCUS export into the store, one transaction per
//! file: a bad row stops that file, naming its line and column, and leaves
//! whatever the store held for it before; importing a file again (the same
//! canonical path) replaces its rows. A check applies `[finance.allocation]`
//! to the stored rows and shows what it leaves unallocated.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;

use anyhow::{Context, Result};
use chrono::{DateTime, SecondsFormat, Utc};
use dora_core::cost::focus::CostBatch;
use dora_core::cost::{Allocation, CostColumn, CostRow, UNALLOCATED, focus};
use dora_core::render::visible;
use dora_core::store::{CostOrigin, CostRowWriter, Store};
use serde::Serialize;

use crate::args::{CheckFormat, CostsCheckArgs, CostsImportArgs};
use crate::config::LoadedConfig;
use crate::settings::allocation::AllocationSettings;
use crate::settings::usage;

/// The first bytes of a gzip stream.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Opens `path` for reading: decompressed when it is gzip (by its first
/// bytes, whatever its name).
fn open_csv(path: &Path) -> Result<Box<dyn Read + Send>> {
    let file = File::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
    let mut buffered = BufReader::with_capacity(1 << 20, file);
    let head = buffered.fill_buf().with_context(|| format!("{}: cannot read", path.display()))?;
    if head.starts_with(&GZIP_MAGIC) {
        Ok(Box::new(BufReader::with_capacity(1 << 20, flate2::bufread::MultiGzDecoder::new(buffered))))
    } else {
        Ok(Box::new(buffered))
    }
}

/// Whether `path` names a Parquet file.
fn is_parquet(path: &Path) -> bool {
    path.extension().is_some_and(|e| e.eq_ignore_ascii_case("parquet"))
}

/// Rows per batch handed from the reading thread to the writing one.
const BATCH_ROWS: usize = 4096;

/// Streams the FOCUS CSV at `path` into `rows`: one thread reads and
/// checks rows (in batches, buffers reused), this one writes them; a
/// bounded channel keeps memory flat whatever the file's size.
fn import_csv(path: &Path, column: CostColumn, rows: &mut CostRowWriter<'_, '_>) -> Result<()> {
    let input = open_csv(path)?;
    let (full_tx, full_rx) = crossbeam_channel::bounded::<CostBatch>(4);
    let (spare_tx, spare_rx) = crossbeam_channel::bounded::<CostBatch>(8);
    std::thread::scope(|scope| {
        let reader = scope.spawn(move || -> dora_core::Result<()> {
            let mut reader = focus::FocusReader::new(input, Some(path), column)?;
            loop {
                let mut batch = spare_rx.try_recv().unwrap_or_default();
                batch.clear();
                let more = reader.read_batch(&mut batch, BATCH_ROWS)?;
                if !batch.is_empty() && full_tx.send(batch).is_err() {
                    // The writer stopped (its error is the one reported).
                    return Ok(());
                }
                if !more {
                    return Ok(());
                }
            }
        });
        let written = (|| -> dora_core::Result<()> {
            for batch in &full_rx {
                for row in batch.iter() {
                    rows.push_raw(&row)?;
                }
                let _ = spare_tx.try_send(batch);
            }
            Ok(())
        })();
        // Unblock the reader if the writer stopped early.
        drop(full_rx);
        let read = reader.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        read?;
        written?;
        Ok(())
    })
}

/// Reads the rows of the export at `path` into `rows`.
fn read_export(path: &Path, column: CostColumn, rows: &mut CostRowWriter<'_, '_>) -> Result<()> {
    if is_parquet(path) {
        #[cfg(feature = "parquet")]
        {
            let file = File::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
            focus::parquet::for_each_row(file, Some(path), column, |row| rows.push(row))?;
            return Ok(());
        }
        #[cfg(not(feature = "parquet"))]
        {
            let _ = (column, rows);
            return Err(usage(format!(
                "{}: reading Parquet needs dora built with the parquet feature \
                 (cargo build --release -p dora-cli --features parquet); export CSV instead",
                path.display()
            )));
        }
    }
    import_csv(path, column, rows)
}

/// Runs `dora costs import`.
pub fn import(args: &CostsImportArgs) -> Result<()> {
    let loaded = LoadedConfig::load(args.store.config.as_deref())?;
    let column = loaded.allocation.as_ref().map(|a| a.cost_column).unwrap_or_default();
    // Every file must be there before the store is touched.
    let mut files = Vec::new();
    for file in &args.files {
        let canonical = std::fs::canonicalize(file).map_err(|e| usage(format!("{}: {e}", file.display())))?;
        files.push((file, canonical));
    }
    let store_path = loaded.store_path(args.store.store.as_deref());
    let mut store = Store::open(&store_path)?;
    let mut out = std::io::stdout().lock();
    for (file, canonical) in files {
        let now = rfc3339(Utc::now());
        let origin = canonical.to_string_lossy();
        let mut writer = store.writer()?;
        let mut rows = writer.replace_cost_rows(CostOrigin::File(&origin), None, &now)?;
        // On an error the writer is dropped: the file's earlier rows stay.
        read_export(file, column, &mut rows)?;
        let summary = rows.finish();
        writer.commit()?;
        writeln!(
            out,
            "{}: {} rows stored ({column}), {} rows replaced",
            file.display(),
            summary.stored,
            summary.replaced
        )?;
    }
    writeln!(out, "store: {}", store_path.display())?;
    Ok(())
}

/// An amount as `costs check` prints it: 2 decimals, more for the tiny
/// amounts of usage-based rows.
fn money(x: f64) -> String {
    if x == 0.0 || x.abs() >= 0.01 {
        format!("{x:.2}")
    } else if x.abs() >= 1e-8 {
        let s = format!("{x:.8}");
        s.trim_end_matches('0').to_string()
    } else {
        format!("{x:.1e}")
    }
}

/// A share of a total, as a percentage.
fn share(x: f64, total: f64) -> String {
    if total == 0.0 { "-".into() } else { format!("{:.1}%", 100.0 * x / total) }
}

/// A cell of a row, shown safely (null as `-`).
fn cell(value: Option<&str>) -> String {
    match value {
        Some(v) => visible(v).into_owned(),
        None => "-".into(),
    }
}

/// The cost of each service, and the largest unallocated rows, in one
/// currency.
#[derive(Default)]
struct CurrencyCheck {
    services: BTreeMap<String, (f64, u64)>,
    total: f64,
    rows: u64,
    largest: Vec<CostRow>,
}

impl CurrencyCheck {
    fn add(&mut self, allocation: &Allocation, row: CostRow, top: usize) {
        let service = allocation.service_of(&row).to_string();
        let entry = self.services.entry(service.clone()).or_default();
        entry.0 += row.amount;
        entry.1 += 1;
        self.total += row.amount;
        self.rows += 1;
        if service == UNALLOCATED && top > 0 {
            self.largest.push(row);
            // Keep the list short: sort and cut once it doubles.
            if self.largest.len() >= 2 * top.max(16) {
                self.cut(top);
            }
        }
    }

    /// The allocated services with their amount and row count, largest
    /// amount first (then by name).
    fn allocated(&self) -> Vec<(&String, (f64, u64))> {
        let mut services: Vec<_> =
            self.services.iter().filter(|(s, _)| s.as_str() != UNALLOCATED).map(|(s, &v)| (s, v)).collect();
        services.sort_by(|a, b| b.1.0.total_cmp(&a.1.0).then(a.0.cmp(b.0)));
        services
    }

    /// The amount and row count left unallocated.
    fn unallocated(&self) -> (f64, u64) {
        self.services.get(UNALLOCATED).copied().unwrap_or_default()
    }

    fn cut(&mut self, top: usize) {
        self.largest.sort_by(|a, b| b.amount.abs().total_cmp(&a.amount.abs()));
        self.largest.truncate(top);
    }
}

/// The schema name of `dora costs check --format json`.
const CHECK_SCHEMA: &str = "dora.costs-check/v1";

/// A time as `costs` writes it (RFC 3339, UTC, seconds).
fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// `share` of the JSON output: a ratio, `None` (null) when the total is 0.
fn ratio(x: f64, total: f64) -> Option<f64> {
    (total != 0.0).then(|| x / total)
}

/// The `dora.costs-check/v1` object (docs/costs.md): what the text shows,
/// with amounts unrounded and shares as ratios.
#[derive(Serialize)]
struct CheckJson<'a> {
    schema: &'static str,
    window: JsonWindow,
    rows: u64,
    charged: Option<JsonCharged>,
    cost_column: &'static str,
    allocation: JsonAllocation<'a>,
    currencies: Vec<JsonCurrency<'a>>,
}

#[derive(Serialize)]
struct JsonWindow {
    since: Option<String>,
    until: Option<String>,
}

#[derive(Serialize)]
struct JsonCharged {
    first: String,
    last: String,
}

#[derive(Serialize)]
struct JsonAllocation<'a> {
    service_tag: Option<&'a str>,
    rules: usize,
}

#[derive(Serialize)]
struct JsonCurrency<'a> {
    currency: &'a str,
    total: f64,
    rows: u64,
    services: Vec<JsonService<'a>>,
    unallocated: JsonShare,
    largest_unallocated: Vec<JsonRow<'a>>,
}

#[derive(Serialize)]
struct JsonService<'a> {
    service: &'a str,
    #[serde(flatten)]
    share: JsonShare,
}

#[derive(Serialize)]
struct JsonShare {
    amount: f64,
    share: Option<f64>,
    rows: u64,
}

#[derive(Serialize)]
struct JsonRow<'a> {
    amount: f64,
    charge_period_start: String,
    charge_period_end: String,
    resource_name: Option<&'a str>,
    resource_id: Option<&'a str>,
    service_name: Option<&'a str>,
    sub_account_name: Option<&'a str>,
}

/// The JSON check of `by_currency` (each one's `largest` already cut).
fn check_json<'a>(
    settings: &'a AllocationSettings,
    window: (Option<DateTime<Utc>>, Option<DateTime<Utc>>),
    charged: Option<(DateTime<Utc>, DateTime<Utc>)>,
    by_currency: &'a BTreeMap<String, CurrencyCheck>,
) -> CheckJson<'a> {
    let currencies = by_currency
        .iter()
        .map(|(currency, check)| {
            let share =
                |(amount, rows): (f64, u64)| JsonShare { amount, share: ratio(amount, check.total), rows };
            JsonCurrency {
                currency,
                total: check.total,
                rows: check.rows,
                services: check
                    .allocated()
                    .into_iter()
                    .map(|(service, amounts)| JsonService { service, share: share(amounts) })
                    .collect(),
                unallocated: share(check.unallocated()),
                largest_unallocated: check
                    .largest
                    .iter()
                    .map(|row| JsonRow {
                        amount: row.amount,
                        charge_period_start: rfc3339(row.start),
                        charge_period_end: rfc3339(row.end),
                        resource_name: row.resource_name.as_deref(),
                        resource_id: row.resource_id.as_deref(),
                        service_name: row.service_name.as_deref(),
                        sub_account_name: row.sub_account_name.as_deref(),
                    })
                    .collect(),
            }
        })
        .collect();
    CheckJson {
        schema: CHECK_SCHEMA,
        window: JsonWindow { since: window.0.map(rfc3339), until: window.1.map(rfc3339) },
        rows: by_currency.values().map(|c| c.rows).sum(),
        charged: charged.map(|(first, last)| JsonCharged { first: rfc3339(first), last: rfc3339(last) }),
        cost_column: settings.cost_column.as_str(),
        allocation: JsonAllocation {
            service_tag: settings.service_tag.as_deref(),
            rules: settings.rules.len(),
        },
        currencies,
    }
}

/// Runs `dora costs check`.
pub fn check(args: &CostsCheckArgs) -> Result<()> {
    let loaded = LoadedConfig::load(args.store.config.as_deref())?;
    let settings = loaded.allocation.clone().unwrap_or_default();
    let allocation = settings.allocation();
    let date = |flag: &str, s: &str| {
        dora_core::parse_date(s, chrono_tz::Tz::UTC).map_err(|e| usage(format!("--{flag}: {e}")))
    };
    let since = match &args.since {
        Some(s) => date("since", s)?,
        None => "0001-01-01T00:00:00Z".parse::<DateTime<Utc>>()?,
    };
    let until = match &args.until {
        Some(s) => date("until", s)?,
        None => "9999-12-31T00:00:00Z".parse::<DateTime<Utc>>()?,
    };
    if since >= until {
        return Err(usage(format!("--since ({since}) must be before --until ({until})")));
    }
    let store_path = loaded.store_path(args.store.store.as_deref());
    let store = Store::open_read_only(&store_path)?;
    let mut by_currency: BTreeMap<String, CurrencyCheck> = BTreeMap::new();
    let mut first: Option<DateTime<Utc>> = None;
    let mut last: Option<DateTime<Utc>> = None;
    store.for_each_cost_row(since, until, |row| {
        first = Some(first.map_or(row.start, |f| f.min(row.start)));
        last = Some(last.map_or(row.end, |l| l.max(row.end)));
        by_currency.entry(row.currency.clone()).or_default().add(&allocation, row, args.top);
        Ok(())
    })?;
    let mut out = std::io::stdout().lock();
    if args.format == CheckFormat::Json {
        for check in by_currency.values_mut() {
            check.cut(args.top);
        }
        let report = check_json(
            &settings,
            (args.since.is_some().then_some(since), args.until.is_some().then_some(until)),
            first.zip(last),
            &by_currency,
        );
        serde_json::to_writer_pretty(&mut out, &report)?;
        writeln!(out)?;
        return Ok(());
    }
    let how = match (&settings.service_tag, settings.rules.len()) {
        (Some(tag), n) => {
            format!("the tag `{}`, then {n} rule{}", visible(tag), if n == 1 { "" } else { "s" })
        }
        (None, n) => format!("{n} rule{} (no service_tag)", if n == 1 { "" } else { "s" }),
    };
    let (Some(first), Some(last)) = (first, last) else {
        writeln!(
            out,
            "no cost rows in the store {} for this window: run `dora costs import FILE` first",
            store_path.display()
        )?;
        return Ok(());
    };
    let rows: u64 = by_currency.values().map(|c| c.rows).sum();
    writeln!(out, "{rows} cost rows charged {} .. {}, allocated by {how}", rfc3339(first), rfc3339(last),)?;
    writeln!(
        out,
        "amounts: the cost column read at import (cost_column is {} now; import again after changing it)",
        settings.cost_column
    )?;
    if by_currency.len() > 1 {
        let names: Vec<&str> = by_currency.keys().map(String::as_str).collect();
        writeln!(
            out,
            "warning: {} currencies ({}): dora metrics needs one currency per window; narrow it with --since/--until",
            names.len(),
            names.iter().map(|n| visible(n).into_owned()).collect::<Vec<_>>().join(", ")
        )?;
    }
    for (currency, mut check) in by_currency {
        check.cut(args.top);
        let currency = visible(&currency).into_owned();
        let width = check.services.keys().map(|s| visible(s).chars().count()).max().unwrap_or(0).max(11);
        writeln!(out)?;
        writeln!(
            out,
            "{:<width$}  {:>14}  {:>7}  {:>8}",
            format!("service ({currency})"),
            "amount",
            "share",
            "rows"
        )?;
        for (service, (amount, n)) in check.allocated() {
            writeln!(
                out,
                "{:<width$}  {:>14}  {:>7}  {:>8}",
                visible(service),
                money(amount),
                share(amount, check.total),
                n
            )?;
        }
        let (amount, n) = check.unallocated();
        writeln!(
            out,
            "{:<width$}  {:>14}  {:>7}  {:>8}",
            UNALLOCATED,
            money(amount),
            share(amount, check.total),
            n
        )?;
        writeln!(
            out,
            "{:<width$}  {:>14}  {:>7}  {:>8}",
            "total",
            money(check.total),
            share(check.total, check.total),
            check.rows
        )?;
        if !check.largest.is_empty() {
            writeln!(out)?;
            writeln!(
                out,
                "largest unallocated rows ({currency}): write a tag or a [[finance.allocation.rule]] for them"
            )?;
            writeln!(
                out,
                "  {:>14}  {:<20}  ResourceName | ResourceId | ServiceName | SubAccountName",
                "amount", "ChargePeriodStart"
            )?;
            for row in &check.largest {
                writeln!(
                    out,
                    "  {:>14}  {:<20}  {} | {} | {} | {}",
                    money(row.amount),
                    rfc3339(row.start),
                    cell(row.resource_name.as_deref()),
                    cell(row.resource_id.as_deref()),
                    cell(row.service_name.as_deref()),
                    cell(row.sub_account_name.as_deref()),
                )?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_show_tiny_values() {
        assert_eq!(money(3.0349), "3.03");
        assert_eq!(money(0.0), "0.00");
        assert_eq!(money(0.0000008), "0.0000008");
        assert_eq!(money(-1.5), "-1.50");
        assert_eq!(money(2.5e-9), "2.5e-9");
        assert_eq!(share(1.0, 4.0), "25.0%");
        assert_eq!(share(1.0, 0.0), "-");
    }
}
