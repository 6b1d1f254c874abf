//! `dora metrics`: read events, compute, render.

use std::io::{IsTerminal, Write};

use anyhow::Result;
use chrono::Utc;
use dora_core::render::{TableOptions, write_csv, write_json, write_table};
use dora_core::store::Store;
use dora_core::{EventSet, ReadOptions, ReadSummary, compute, read_events_path, read_jsonl};

use crate::args::{Format, MetricsArgs};
use crate::settings::{EventInput, MetricsSettings};

/// Whether to color standard output: only on a terminal, and never with `NO_COLOR` set.
pub fn use_color() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Reads event files into `set`: JSON Lines (also gzip-compressed), CSV
/// (by the `.csv` extension) or `-` for JSON Lines on standard input.
pub fn read_event_files(
    paths: &[std::path::PathBuf],
    set: &mut EventSet,
    opts: &ReadOptions,
) -> Result<Vec<ReadSummary>> {
    let mut summaries = Vec::new();
    for path in paths {
        summaries.push(if path.as_os_str() == "-" {
            read_jsonl(std::io::stdin().lock(), Some(std::path::Path::new("<stdin>")), set, opts)?
        } else {
            read_events_path(path, set, opts)?
        });
    }
    Ok(summaries)
}

/// Reads the events (every file into one set, or the store), reporting
/// skipped lines on stderr, and applies the `[teams]` overrides.
pub fn load_events(settings: &MetricsSettings) -> Result<EventSet> {
    let mut set = EventSet::new();
    let opts = ReadOptions { skip_bad_lines: settings.skip_bad_lines, ..ReadOptions::default() };
    let summaries = match &settings.input {
        EventInput::Files(paths) => read_event_files(paths, &mut set, &opts)?,
        EventInput::Store(path) => vec![Store::open_read_only(path)?.load(&mut set, &opts)?],
    };
    let mut err = std::io::stderr().lock();
    for summary in &summaries {
        for skipped in &summary.skipped {
            writeln!(err, "warning: skipped {skipped}")?;
        }
    }
    set.assign_teams(settings.teams.iter().map(|(s, t)| (s.as_str(), t.as_str())));
    Ok(set)
}

/// Writes the report in `format` (colour only for a table, when asked):
/// what `dora metrics` prints, and what `GET /api/v1/metrics` answers.
pub fn write_metrics(
    report: &dora_core::MetricsReport,
    format: Format,
    color: bool,
    out: &mut dyn Write,
) -> Result<()> {
    match format {
        Format::Json => write_json(report, out)?,
        Format::Csv => write_csv(report, out)?,
        Format::Table => write_table(report, out, TableOptions { color })?,
    }
    Ok(())
}

/// Reads the events of `settings`, computes and writes them in its format
/// without colour: `dora metrics` off a terminal, into any writer (what
/// `dora serve`'s `GET /api/v1/metrics` runs). `run` does the same steps,
/// with its timings between them.
#[cfg_attr(not(feature = "serve"), allow(dead_code))]
pub fn render(settings: &MetricsSettings, out: &mut dyn Write) -> Result<()> {
    let set = load_events(settings)?;
    let computation = compute(&set, &settings.options)?;
    write_metrics(&computation.report, settings.format, false, out)
}

/// Runs `dora metrics`.
pub fn run(args: &MetricsArgs) -> Result<()> {
    let settings = MetricsSettings::resolve(args, Utc::now())?;
    let timings = std::env::var_os("DORA_TIMINGS").is_some_and(|v| !v.is_empty());
    let t0 = std::time::Instant::now();
    let probe = || timings.then(Probe::now).flatten();
    let before_read = probe();
    let set = load_events(&settings)?;
    let loaded = t0.elapsed();
    let after_read = probe();
    let computation = compute(&set, &settings.options)?;
    let computed = t0.elapsed();
    let after_compute = probe();
    let report = &computation.report;
    let stdout = std::io::stdout().lock();
    let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout);
    write_metrics(report, settings.format, use_color(), &mut out)?;
    out.flush()?;
    if timings {
        let total = t0.elapsed();
        eprintln!(
            "timings: read {:.3} s, compute {:.3} s, render {:.3} s, total {:.3} s ({} events)",
            loaded.as_secs_f64(),
            (computed - loaded).as_secs_f64(),
            (total - computed).as_secs_f64(),
            total.as_secs_f64(),
            set.len()
        );
        if let (Some(a), Some(b), Some(c)) = (before_read, after_read, after_compute) {
            // Each fault maps a fresh page the kernel zeroes: memory churn.
            eprintln!("page faults: read {}, compute {}", b.faults - a.faults, c.faults - b.faults);
            eprintln!(
                "cpu time (user + system): read {:.3} s, compute {:.3} s",
                b.cpu - a.cpu,
                c.cpu - b.cpu
            );
            eprintln!("memory: {} MB resident after read, peak {} MB", b.resident_mb, c.peak_mb);
        }
    }
    // The process ends right after this: freeing hundreds of megabytes of
    // events piece by piece would only delay the exit.
    std::mem::forget(computation);
    std::mem::forget(set);
    Ok(())
}

/// Figures of this process from `/proc` (Linux only), for `DORA_TIMINGS`.
#[derive(Debug, Clone, Copy)]
struct Probe {
    /// Minor page faults so far.
    faults: u64,
    /// CPU time so far, user plus system, in seconds.
    cpu: f64,
    /// Resident memory now, in MB.
    resident_mb: u64,
    /// Peak resident memory so far, in MB.
    peak_mb: u64,
}

impl Probe {
    fn now() -> Option<Self> {
        let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
        // Fields after the command name (which may hold spaces) in
        // parentheses: minflt is the 8th, utime and stime the 12th and 13th.
        let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
        let number = |i: usize| fields.get(i)?.parse::<u64>().ok();
        // Clock ticks: 100 per second on every Linux this runs on.
        let cpu = (number(11)? + number(12)?) as f64 / 100.0;
        let status = std::fs::read_to_string("/proc/self/status").ok()?;
        let mb = |field: &str| -> Option<u64> {
            let line = status.lines().find(|l| l.starts_with(field))?;
            let kb: u64 = line[field.len()..].trim().trim_end_matches("kB").trim().parse().ok()?;
            Some(kb / 1024)
        };
        Some(Self { faults: number(7)?, cpu, resident_mb: mb("VmRSS:")?, peak_mb: mb("VmHWM:")? })
    }
}
