//! `dora export events`: the stored events as JSON Lines, CSV or Parquet.
//! A file output is written whole beside its destination, then moved into
//! place: an interrupted export never leaves half a file.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use dora_core::export::EventCsvWriter;
use dora_core::store::Store;

use crate::args::{EventFormat, ExportArgs, ExportCsvArgs, ExportEventsArgs, ExportWhat};
use crate::commands::metrics::load_events;
use crate::config::LoadedConfig;
use crate::settings::MetricsSettings;
use crate::settings::usage;
use dora_core::finance::FinanceTable;
use dora_core::render::{FinanceCsvOptions, write_finance_csv};

/// Runs `dora export`.
pub fn run(args: &ExportArgs) -> Result<()> {
    match &args.what {
        ExportWhat::Events(a) => events(a),
        ExportWhat::Csv(a) => finance_csv(a),
    }
}

fn finance_csv(args: &ExportCsvArgs) -> Result<()> {
    let settings = MetricsSettings::resolve(&args.as_metrics_args(), chrono::Utc::now())?;
    let delimiter = match args.delimiter.as_bytes() {
        [b] if b.is_ascii() && !matches!(b, b'"' | b'\n' | b'\r') => *b,
        _ => return Err(usage(format!("--delimiter: {:?} is not one ASCII character", args.delimiter))),
    };
    let loaded = LoadedConfig::load(args.engine.config.as_deref())?;
    let set = load_events(&settings)?;
    let table = FinanceTable::compute(&set, &settings.options, &loaded.config.finance)?;
    let opts = FinanceCsvOptions { delimiter, bom: args.bom };
    match &args.output {
        Some(path) => atomically(path, |out| Ok(write_finance_csv(&table, out, opts)?))
            .with_context(|| format!("exporting to {}", path.display())),
        None => {
            let mut out = std::io::BufWriter::new(std::io::stdout().lock());
            write_finance_csv(&table, &mut out, opts)?;
            out.flush()?;
            Ok(())
        }
    }
}

/// Writes into `path` through a temporary file in the same directory.
pub fn atomically(path: &Path, write: impl FnOnce(&mut dyn Write) -> Result<()>) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let io = |e| dora_core::Error::Io { path: Some(path.to_path_buf()), error: e };
    std::fs::create_dir_all(dir).map_err(io)?;
    let tmp = tempfile::NamedTempFile::new_in(dir).map_err(io)?;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, tmp);
    write(&mut out)?;
    let tmp = out.into_inner().map_err(|e| io(e.into_error()))?;
    tmp.as_file().sync_all().map_err(io)?;
    // A temporary file is private (0600); the export is an ordinary file.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file().set_permissions(std::fs::Permissions::from_mode(0o644)).map_err(io)?;
    }
    tmp.persist(path).map_err(|e| io(e.error))?;
    Ok(())
}

fn write_events(store: &Store, format: EventFormat, out: &mut dyn Write) -> Result<()> {
    match format {
        EventFormat::Jsonl => store.for_each_event(|event| {
            serde_json::to_writer(&mut *out, &event)
                .map_err(std::io::Error::from)
                .and_then(|()| out.write_all(b"\n"))
                .map_err(|e| dora_core::Error::Io { path: None, error: e })
        })?,
        EventFormat::Csv => {
            let mut csv = EventCsvWriter::new(out)?;
            store.for_each_event(|event| csv.write_event(&event))?;
            csv.finish()?.flush()?;
        }
        EventFormat::Parquet => unreachable!("Parquet is written by write_parquet"),
    }
    Ok(())
}

fn events(args: &ExportEventsArgs) -> Result<()> {
    let loaded = LoadedConfig::load(args.store.config.as_deref())?;
    let store = Store::open_read_only(&loaded.store_path(args.store.store.as_deref()))?;
    match (args.format, &args.output) {
        (EventFormat::Parquet, None) => {
            Err(usage("--format parquet needs --output PATH (Parquet is not written to standard output)"))
        }
        (EventFormat::Parquet, Some(path)) => parquet(&store, path),
        (format, Some(path)) => atomically(path, |out| write_events(&store, format, out))
            .with_context(|| format!("exporting to {}", path.display())),
        (format, None) => {
            let stdout = std::io::stdout().lock();
            let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout);
            write_events(&store, format, &mut out)?;
            out.flush()?;
            Ok(())
        }
    }
}

#[cfg(feature = "parquet")]
fn parquet(store: &Store, path: &Path) -> Result<()> {
    atomically(path, |out| {
        let mut events = Vec::new();
        store.for_each_event(|e| {
            events.push(e);
            Ok(())
        })?;
        dora_core::export::write_parquet(events.into_iter(), out)?;
        Ok(())
    })
}

#[cfg(not(feature = "parquet"))]
fn parquet(_: &Store, _: &Path) -> Result<()> {
    Err(usage(
        "this dora was built without Parquet support: build it with `cargo build --release -p dora-cli --features parquet`",
    ))
}
